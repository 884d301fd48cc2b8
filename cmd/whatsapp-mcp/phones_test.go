package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

// TestCallPhonePolicy: WHATSAPP_DEFAULT_REGION and WHATSAPP_NATIONAL_NUMBERS
// reach the sends (docs/cloud-api.md#recipient-phone-numbers).
func TestCallPhonePolicy(t *testing.T) {
	send := func(to string) []string {
		return []string{"call", "--sandbox", "WHATSAPP_SEND_MESSAGE",
			`{"to_number":"` + to + `","phone_number_id":"` + sandbox.PhoneNumberID + `","text":"hi"}`}
	}
	for _, tc := range []struct {
		name, to string
		env      map[string]string
		code     int
		sentTo   string // data.to when sent
		has      string // phrase of the error or of the warning
	}{
		{name: "national number refused by default", to: "(650) 555-1234", code: 1, has: "send +16505551234"},
		{name: "national number converted", to: "(650) 555-1234", env: map[string]string{"WHATSAPP_NATIONAL_NUMBERS": "true"},
			code: 0, sentTo: "+16505551234", has: "read as a US national number"},
		{name: "another region's national number", to: "07911 123456", env: map[string]string{"WHATSAPP_DEFAULT_REGION": "gb", "WHATSAPP_NATIONAL_NUMBERS": "1"},
			code: 0, sentTo: "+447911123456", has: "GB national number"},
		{name: "another region, refused", to: "07911 123456", env: map[string]string{"WHATSAPP_DEFAULT_REGION": "GB"}, code: 1, has: "send +447911123456"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{"HOME": t.TempDir(), "XDG_DATA_HOME": t.TempDir()}
			for k, v := range tc.env {
				e[k] = v
			}
			code, out, errOut := runCmd(t, e, "", send(tc.to)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			var res struct {
				Data     map[string]any `json:"data"`
				Error    string         `json:"error"`
				Warnings []string       `json:"warnings"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("stdout is not the envelope: %v\n%s", err, out)
			}
			said := res.Error + strings.Join(res.Warnings, " ")
			if !strings.Contains(said, tc.has) {
				t.Errorf("result lacks %q: %s", tc.has, out)
			}
			if tc.sentTo != "" && res.Data["to"] != tc.sentTo {
				t.Errorf("sent to %v, want %s", res.Data["to"], tc.sentTo)
			}
		})
	}
}
