package cloudapi_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

func TestLanguageCodes(t *testing.T) {
	if n := len(strings.Fields(cloudapi.LanguageCodeList)); n != 111 {
		t.Errorf("%d codes in the list, want Meta's 111", n)
	}
	if n := len(cloudapi.LanguageCodes); n != 111 {
		t.Errorf("%d codes in the set, want 111 (a duplicate in the list?)", n)
	}
	for _, c := range []string{"en_US", "en", "pt_BR", "prs_AF", "zu"} {
		if !cloudapi.IsLanguageCode(c) {
			t.Errorf("%s missing", c)
		}
	}
	for _, c := range []string{"en-US", "EN_US", "en_us", "", "xx"} {
		if cloudapi.IsLanguageCode(c) {
			t.Errorf("%q accepted", c)
		}
	}
	shape := regexp.MustCompile(cloudapi.LanguageCodePattern)
	for c := range cloudapi.LanguageCodes {
		if !shape.MatchString(c) {
			t.Errorf("%s does not match LanguageCodePattern %s", c, cloudapi.LanguageCodePattern)
		}
	}
	for _, c := range []string{"en-US", "EN_US", "en_us", "", "english"} {
		if shape.MatchString(c) {
			t.Errorf("LanguageCodePattern matches %q", c)
		}
	}
}

// The expected values were computed with openssl dgst -sha256 -hmac.
func TestSigning(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	if got, want := cloudapi.SignWebhook("test-app-secret-0d1e2f", body), "sha256=0baf5aded8667a716f12a07100116cba99206ff634f7a8934f85e3fa85c83217"; got != want {
		t.Errorf("SignWebhook = %s, want %s", got, want)
	}
	if got, want := cloudapi.AppSecretProof("appsecret", "EAAGtoken"), "b9f8a6efedec843a1b5e132fd1135ded9be78d0fe0f2779bbf07601db585071e"; got != want {
		t.Errorf("AppSecretProof = %s, want %s", got, want)
	}
}
