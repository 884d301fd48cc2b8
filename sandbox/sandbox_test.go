package sandbox_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	path := v + "/" + sandbox.PhoneNumberID
	proof := func(tok string) string {
		m := hmac.New(sha256.New, []byte(sandbox.DefaultAppSecret))
		m.Write([]byte(tok))
		return hex.EncodeToString(m.Sum(nil))
	}
	cases := []struct {
		name   string
		path   string
		mod    func(*http.Request)
		status int
		code   int
	}{
		{"bearer", path, nil, 200, 0},
		{"no token", path, func(r *http.Request) { r.Header.Del("Authorization") }, 401, 190},
		{"wrong token", path, func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, 401, 190},
		{"basic scheme", path, func(r *http.Request) { r.Header.Set("Authorization", "Basic abc") }, 401, 190},
		{"query token", path + "?access_token=" + sandbox.DefaultToken, func(r *http.Request) { r.Header.Del("Authorization") }, 200, 0},
		{"wrong query token", path + "?access_token=x", func(r *http.Request) { r.Header.Del("Authorization") }, 401, 190},
		{"good appsecret_proof", path + "?appsecret_proof=" + proof(sandbox.DefaultToken), nil, 200, 0},
		{"bad appsecret_proof", path + "?appsecret_proof=" + proof("other"), nil, 400, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*http.Request)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			r := e.do(t, http.MethodGet, tc.path, nil, mods...)
			if tc.code == 0 {
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.raw)
				}
				return
			}
			wantError(t, r, tc.status, tc.code, 0)
			if tc.code == 190 {
				if m := r.errField("message"); m != "Invalid OAuth access token - Cannot parse access token" {
					t.Errorf("message %q", m)
				}
				if _, _, typ := r.errCode(); typ != "OAuthException" {
					t.Errorf("type %q", typ)
				}
				if !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
					t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}

func TestCustomToken(t *testing.T) {
	e := newEnv(t, sandbox.Config{Token: "my-token"}, false)
	wantError(t, e.get(t, v+"/"+sandbox.PhoneNumberID), 401, 190, 0)
	r := e.do(t, http.MethodGet, v+"/"+sandbox.PhoneNumberID, nil, func(r *http.Request) { r.Header.Set("Authorization", "Bearer my-token") })
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	cases := []struct {
		name, method, path   string
		status, code, subcod int
		typ, msgContains     string
	}{
		{"unknown version", "GET", "/v99.0/" + sandbox.PhoneNumberID, 400, 2500, 0, "OAuthException", "Unknown path components"},
		{"malformed version", "GET", "/v2.80/" + sandbox.PhoneNumberID, 400, 2500, 0, "OAuthException", ""},
		{"no version", "GET", "/" + sandbox.PhoneNumberID, 400, 2500, 0, "", ""},
		{"version only", "GET", v, 400, 2500, 0, "", ""},
		{"unknown object", "GET", v + "/999", 400, 100, 33, "GraphMethodException",
			"Unsupported get request. Object with ID '999' does not exist, cannot be loaded due to missing permissions, or does not support this operation."},
		{"unknown object post", "POST", v + "/999/messages", 400, 100, 33, "GraphMethodException", "Unsupported post request"},
		{"unknown edge", "GET", v + "/" + sandbox.PhoneNumberID + "/bogus", 400, 100, 0, "OAuthException", "nonexisting field (bogus)"},
		{"edge of other node", "POST", v + "/" + sandbox.WABAID + "/messages", 400, 100, 33, "GraphMethodException", ""},
		{"wrong method on node", "DELETE", v + "/" + sandbox.PhoneNumberID, 400, 100, 33, "GraphMethodException", "Unsupported delete request"},
		{"wrong method on edge", "GET", v + "/" + sandbox.PhoneNumberID + "/messages", 400, 100, 33, "", ""},
		{"too deep", "GET", v + "/" + sandbox.WABAID + "/message_templates/x", 400, 2500, 0, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, nil)
			wantError(t, r, tc.status, tc.code, tc.subcod)
			if _, _, typ := r.errCode(); tc.typ != "" && typ != tc.typ {
				t.Errorf("type %q, want %q", typ, tc.typ)
			}
			if m, _ := r.errField("message").(string); !strings.Contains(m, tc.msgContains) {
				t.Errorf("message %q does not contain %q", m, tc.msgContains)
			}
		})
	}
	t.Run("old version served", func(t *testing.T) {
		r := e.get(t, "/v20.0/"+sandbox.PhoneNumberID)
		if r.status != 200 || r.header.Get("facebook-api-version") != "v20.0" {
			t.Fatalf("status %d, version header %q", r.status, r.header.Get("facebook-api-version"))
		}
	})
}

func TestGetPhoneNumber(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	cases := []struct {
		name, query string
		want        []string
		code        int
	}{
		{"default fields", "", []string{"verified_name", "code_verification_status", "display_phone_number", "quality_rating", "platform_type", "throughput", "id"}, 0},
		{"selected", "?fields=display_phone_number,quality_rating", []string{"display_phone_number", "quality_rating", "id"}, 0},
		{"sub-selection", "?fields=throughput{level},status", []string{"throughput", "status", "id"}, 0},
		{"unknown field", "?fields=display_phone_number,nope", nil, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.wantFields(t, v+"/"+sandbox.PhoneNumberID+tc.query, tc.want, tc.code)
		})
	}
	r := e.get(t, v+"/"+sandbox.PhoneNumberID)
	if r.body["display_phone_number"] != "+1 555-078-3881" || r.body["verified_name"] != "Sandbox Shop" || r.body["quality_rating"] != "GREEN" || r.body["id"] != sandbox.PhoneNumberID {
		t.Errorf("unexpected phone number: %s", r.raw)
	}
	// Field order follows the request, then id.
	r = e.get(t, v+"/"+sandbox.PhoneNumberID+"?fields=quality_rating,verified_name")
	if want := `{"quality_rating":"GREEN","verified_name":"Sandbox Shop","id":"` + sandbox.PhoneNumberID + `"}`; string(r.raw) != want {
		t.Errorf("got %s, want %s", r.raw, want)
	}
}

func TestListPhoneNumbers(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	path := v + "/" + sandbox.WABAID + "/phone_numbers"
	r := e.get(t, path)
	data, _ := r.body["data"].([]any)
	if r.status != 200 || len(data) != 2 {
		t.Fatalf("status %d, %d numbers: %s", r.status, len(data), r.raw)
	}
	paging, _ := r.body["paging"].(map[string]any)
	if _, ok := paging["next"]; ok {
		t.Errorf("next on the last page: %s", r.raw)
	}
	if c, _ := paging["cursors"].(map[string]any); c["before"] == "" || c["after"] == "" {
		t.Errorf("cursors missing: %s", r.raw)
	}

	r = e.get(t, path+"?limit=1&fields=id,verified_name")
	data, _ = r.body["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["id"] != sandbox.PhoneNumberID || len(data[0].(map[string]any)) != 2 {
		t.Fatalf("page 1: %s", r.raw)
	}
	paging, _ = r.body["paging"].(map[string]any)
	next, _ := paging["next"].(string)
	if !strings.HasPrefix(next, e.srv.URL+path+"?") {
		t.Fatalf("next %q is not an absolute sandbox URL", next)
	}
	r = e.get(t, strings.TrimPrefix(next, e.srv.URL))
	data, _ = r.body["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["id"] != sandbox.PhoneNumberID2 || len(data[0].(map[string]any)) != 2 {
		t.Fatalf("page 2: %s", r.raw)
	}
	paging, _ = r.body["paging"].(map[string]any)
	if _, ok := paging["next"]; ok {
		t.Errorf("next on the last page: %s", r.raw)
	}
	prev, _ := paging["previous"].(string)
	r = e.get(t, strings.TrimPrefix(prev, e.srv.URL))
	if data, _ = r.body["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != sandbox.PhoneNumberID {
		t.Fatalf("previous page: %s", r.raw)
	}

	wantError(t, e.get(t, path+"?after=garbage"), 400, 100, 0)
	wantError(t, e.get(t, path+"?limit=abc"), 400, 100, 0)
	wantError(t, e.get(t, path+"?fields=bogus"), 400, 100, 0)
}

func TestBusinessProfile(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	path := v + "/" + sandbox.PhoneNumberID2 + "/whatsapp_business_profile"
	r := e.get(t, path)
	data, _ := r.body["data"].([]any)
	if r.status != 200 || len(data) != 1 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	p := data[0].(map[string]any)
	for _, k := range []string{"about", "address", "description", "email", "profile_picture_url", "websites", "vertical", "messaging_product"} {
		if _, ok := p[k]; !ok {
			t.Errorf("profile lacks %s: %s", k, r.raw)
		}
	}
	r = e.get(t, path+"?fields=about,vertical")
	p = r.body["data"].([]any)[0].(map[string]any)
	if len(p) != 2 || p["vertical"] != "PROF_SERVICES" {
		t.Errorf("selected fields: %s", r.raw)
	}
	wantError(t, e.get(t, path+"?fields=about,nope"), 400, 100, 0)
	wantError(t, e.get(t, v+"/123/whatsapp_business_profile"), 400, 100, 33)
}

func TestGetWABA(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	r := e.get(t, v+"/"+sandbox.WABAID)
	if r.status != 200 || r.body["id"] != sandbox.WABAID || r.body["name"] == nil {
		t.Fatalf("%d: %s", r.status, r.raw)
	}
}

func TestInfoAndInboundRoutes(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	r := e.do(t, http.MethodGet, "/sandbox", nil, func(r *http.Request) { r.Header.Del("Authorization") })
	if r.status != 200 || r.body["waba_id"] != sandbox.WABAID || r.body["access_token"] != sandbox.DefaultToken {
		t.Fatalf("info %d: %s", r.status, r.raw)
	}
	if routes, _ := r.body["routes"].([]any); len(routes) < 10 {
		t.Errorf("routes: %s", r.raw)
	}
	if e.sb.RequestCount() != 0 {
		t.Errorf("RequestCount counts sandbox routes: %d", e.sb.RequestCount())
	}

	r = e.do(t, http.MethodPost, "/sandbox/inbound", map[string]any{"from": customer, "text": "hi", "name": "Ana", "phone_number_id": sandbox.PhoneNumberID2})
	id, _ := r.body["message_id"].(string)
	if r.status != 200 || !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("inbound %d: %s", r.status, r.raw)
	}
	waitFor(t, "inbound webhook", func() bool { return len(e.rcv.bodies()) == 1 })
	val := e.rcv.parsed()[0].Entry[0].Changes[0].Value
	if val.Metadata.PhoneNumberID != sandbox.PhoneNumberID2 || val.Messages[0].ID != id || val.Messages[0].From != waID ||
		val.Contacts[0].WaID != waID || val.Contacts[0].Profile.Name != "Ana" || val.Messages[0].Text.Body != "hi" {
		t.Errorf("inbound webhook: %s", e.rcv.bodies()[0])
	}

	for _, bad := range []map[string]any{
		{"from": "abc", "text": "hi"},
		{"from": customer},
		{"from": customer, "text": "hi", "phone_number_id": "42"},
	} {
		if r := e.do(t, http.MethodPost, "/sandbox/inbound", bad); r.status != 400 {
			t.Errorf("inbound %v: status %d", bad, r.status)
		}
	}
	if r := e.do(t, http.MethodPost, "/sandbox/inbound", "not json"); r.status != 400 {
		t.Errorf("non-JSON inbound: %d", r.status)
	}
}

func TestInboundAPI(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	ctx := context.Background()
	if _, err := e.sb.Inbound(ctx, "", customer, "", "hello"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.sb.Inbound(cctx, "", customer, "", "hello"); err == nil {
		t.Error("Inbound with a cancelled context succeeded")
	}
	_ = e.sb.Close()
	if _, err := e.sb.Inbound(ctx, "", customer, "", "hello"); err == nil {
		t.Error("Inbound after Close succeeded")
	}
}

func TestRequestCount(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	e.get(t, v+"/"+sandbox.PhoneNumberID)
	e.get(t, v+"/nope")
	e.do(t, http.MethodGet, v+"/"+sandbox.PhoneNumberID, nil, func(r *http.Request) { r.Header.Del("Authorization") })
	if n := e.sb.RequestCount(); n != 3 {
		t.Errorf("RequestCount = %d, want 3", n)
	}
}
