package sandbox_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

// TestCurrentVersions: v26.0 (the server's default since Meta made it
// current) and v25.0 (still selectable) both serve reads and sends, and
// the info page points at the latest.
func TestCurrentVersions(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	for _, ver := range []string{"v25.0", "v26.0", sandbox.LatestVersion} {
		r := e.get(t, "/"+ver+"/"+sandbox.PhoneNumberID)
		if r.status != 200 || r.header.Get("facebook-api-version") != ver {
			t.Errorf("GET %s: %d, version header %q: %s", ver, r.status, r.header.Get("facebook-api-version"), r.raw)
		}
		r = e.do(t, http.MethodPost, "/"+ver+"/"+sandbox.PhoneNumberID+"/messages", text(customer, "hi"))
		if r.status != 200 || r.header.Get("facebook-api-version") != ver {
			t.Errorf("send %s: %d: %s", ver, r.status, r.raw)
		}
	}
	if sandbox.LatestVersion != "v26.0" {
		t.Errorf("LatestVersion = %s", sandbox.LatestVersion)
	}
	if r := e.get(t, "/v27.0/"+sandbox.PhoneNumberID); r.status == 200 {
		t.Errorf("an unreleased version is served")
	}
	if r := e.get(t, "/sandbox"); !strings.Contains(string(r.raw), "/"+sandbox.LatestVersion+`"`) {
		t.Errorf("the info page does not point at %s: %s", sandbox.LatestVersion, r.raw)
	}
}
