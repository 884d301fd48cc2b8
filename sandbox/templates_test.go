package sandbox_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

const tplPath = v + "/" + sandbox.WABAID + "/message_templates"

func newTemplate(name, lang string, comps ...any) m {
	if comps == nil {
		comps = []any{m{"type": "BODY", "text": "Thanks for your order, it ships soon."}}
	}
	return m{"name": name, "category": "UTILITY", "language": lang, "components": comps}
}

func TestTemplateCreateValidation(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	long := func(n int) string { return strings.Repeat("a", n) }
	body := func(text string) m { return m{"type": "BODY", "text": text} }
	set := func(b m, k string, val any) m {
		if val == nil {
			delete(b, k)
		} else {
			b[k] = val
		}
		return b
	}
	qr := func(text string) m { return m{"type": "QUICK_REPLY", "text": text} }
	urlBtn := m{"type": "URL", "text": "Open", "url": "https://x.example/{{1}}"}
	cases := []struct {
		name             string
		body             m
		code, subcode    int
		dataIsString     bool
		userMsgSubstring string
	}{
		{"name missing", set(newTemplate("x", "en_US"), "name", nil), 100, 0, false, ""},
		{"name uppercase", newTemplate("Order_Update", "en_US"), 100, 0, true, "lowercase"},
		{"name with dash", newTemplate("order-update", "en_US"), 100, 0, true, ""},
		{"name too long", newTemplate(long(513), "en_US"), 100, 2388040, true, ""},
		{"category missing", set(newTemplate("x", "en_US"), "category", nil), 100, 0, false, ""},
		{"category invalid", set(newTemplate("x", "en_US"), "category", "PROMO"), 100, 0, false, ""},
		{"language missing", set(newTemplate("x", "en_US"), "language", nil), 100, 0, false, ""},
		{"language with dash", newTemplate("x", "en-US"), 100, 0, true, "en_US"},
		{"parameter_format invalid", set(newTemplate("x", "en_US"), "parameter_format", "FANCY"), 100, 0, false, ""},
		{"components missing", set(newTemplate("x", "en_US"), "components", nil), 100, 0, false, ""},
		{"no body", newTemplate("x", "en_US", m{"type": "FOOTER", "text": "f"}), 100, 2388072, true, "BODY"},
		{"two bodies", newTemplate("x", "en_US", body("a b"), body("c d")), 100, 0, true, ""},
		{"unknown component", newTemplate("x", "en_US", body("a"), m{"type": "SIDEBAR"}), 100, 0, false, ""},
		{"body too long", newTemplate("x", "en_US", body(long(1025))), 100, 2388040, true, "1024"},
		{"header too long", newTemplate("x", "en_US", m{"type": "HEADER", "format": "TEXT", "text": long(61)}, body("a")), 100, 2388040, true, "60"},
		{"header two variables", newTemplate("x", "en_US", m{"type": "HEADER", "format": "TEXT", "text": "{{1}} and {{2}}"}, body("a")), 100, 2388047, true, ""},
		{"header bad format", newTemplate("x", "en_US", m{"type": "HEADER", "format": "AUDIO"}, body("a")), 100, 2388047, true, ""},
		{"media header without handle", newTemplate("x", "en_US", m{"type": "HEADER", "format": "IMAGE"}, body("a")), 100, 2388047, true, "header_handle"},
		{"footer too long", newTemplate("x", "en_US", body("a"), m{"type": "FOOTER", "text": long(61)}), 100, 2388040, true, ""},
		{"footer variable", newTemplate("x", "en_US", body("a"), m{"type": "FOOTER", "text": "Bye {{1}}."}), 100, 2388073, true, ""},
		{"leading variable", newTemplate("x", "en_US", body("{{1}}, your order shipped.")), 100, 2388299, true, "start"},
		{"trailing variable", newTemplate("x", "en_US", body("Your order number is {{1}}")), 100, 2388299, true, "end"},
		{"variable gap", newTemplate("x", "en_US", body("Hi {{1}}, order {{3}} shipped.")), 100, 2388072, true, "sequentially"},
		{"named variable in positional", newTemplate("x", "en_US", body("Hi {{name}}, welcome.")), 100, 2388072, true, "NAMED"},
		{"positional variable in named", set(newTemplate("x", "en_US", body("Hi {{1}}, welcome.")), "parameter_format", "NAMED"), 100, 2388072, true, ""},
		{"11 buttons", newTemplate("x", "en_US", body("a"), m{"type": "BUTTONS", "buttons": func() []any {
			var b []any
			for range 11 {
				b = append(b, qr("Yes"))
			}
			return b
		}()}), 100, 0, true, "10"},
		{"button text too long", newTemplate("x", "en_US", body("a"), m{"type": "BUTTONS", "buttons": []any{qr(long(26))}}), 100, 2388040, true, "25"},
		{"quick replies not grouped", newTemplate("x", "en_US", body("a"), m{"type": "BUTTONS", "buttons": []any{qr("a"), urlBtn, qr("b")}}), 100, 0, true, "grouped"},
		{"three URL buttons", newTemplate("x", "en_US", body("a"), m{"type": "BUTTONS", "buttons": []any{urlBtn, urlBtn, urlBtn}}), 100, 0, true, "URL"},
		{"duplicate name and language", newTemplate("hello_world", "en_US"), 100, 2388024, true, "already exists"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, tplPath, tc.body)
			wantError(t, r, 400, tc.code, tc.subcode)
			_, isString := r.errField("error_data").(string)
			if isString != tc.dataIsString {
				t.Errorf("error_data string = %v, want %v: %s", isString, tc.dataIsString, r.raw)
			}
			if um, _ := r.errField("error_user_msg").(string); !strings.Contains(um, tc.userMsgSubstring) {
				t.Errorf("error_user_msg %q lacks %q", um, tc.userMsgSubstring)
			}
		})
	}
}

func TestTemplateCreateAccepted(t *testing.T) {
	e := newEnv(t, sandbox.Config{ApprovalDelay: time.Hour}, false)
	cases := []struct {
		name string
		body m
	}{
		{"full marketing", m{"name": "seasonal_promotion", "category": "marketing", "language": "en_US", "components": []any{
			m{"type": "HEADER", "format": "TEXT", "text": "Our {{1}} is on!", "example": m{"header_text": []any{"Summer Sale"}}},
			m{"type": "BODY", "text": "Shop now through {{1}} and use code {{2}} to get {{3}} off.", "example": m{"body_text": []any{[]any{"the end of August", "25OFF", "25%"}}}},
			m{"type": "FOOTER", "text": "Use the buttons below to manage your marketing subscriptions"},
			m{"type": "BUTTONS", "buttons": []any{
				m{"type": "QUICK_REPLY", "text": "Unsubscribe from Promos"},
				m{"type": "URL", "text": "Shop Now", "url": "https://www.luckyshrub.com/shop?promo={{1}}", "example": []any{"summer2023"}}}},
		}}},
		{"named", m{"name": "reservation", "category": "UTILITY", "language": "pt_BR", "parameter_format": "named", "components": []any{
			m{"type": "BODY", "text": "Mesa para {{number_of_guests}} confirmada, {{name}}."}}}},
		{"authentication", m{"name": "otp_code", "category": "AUTHENTICATION", "language": "en_US", "components": []any{
			m{"type": "BODY", "add_security_recommendation": true},
			m{"type": "BUTTONS", "buttons": []any{m{"type": "OTP", "otp_type": "COPY_CODE"}}}}}},
		{"location header", m{"name": "store_here", "category": "UTILITY", "language": "en_US", "components": []any{
			m{"type": "HEADER", "format": "LOCATION"}, m{"type": "BODY", "text": "Find us here."}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, tplPath, tc.body)
			id, _ := r.body["id"].(string)
			if r.status != 200 || id == "" || r.body["status"] != "PENDING" || r.body["category"] != strings.ToUpper(tc.body["category"].(string)) || len(r.body) != 3 {
				t.Fatalf("create %d: %s", r.status, r.raw)
			}
		})
	}
}

func TestTemplateLifecycle(t *testing.T) {
	e := newEnv(t, sandbox.Config{ApprovalDelay: time.Hour}, true)
	comps := []any{m{"type": "BODY", "text": "Your code is {{1}}. Thanks!", "example": m{"body_text": []any{[]any{"1234"}}}}}
	r := e.do(t, http.MethodPost, tplPath, newTemplate("pickup_code", "en_US", comps...))
	enID, _ := r.body["id"].(string)
	if r.status != 200 || r.body["status"] != "PENDING" {
		t.Fatalf("create: %s", r.raw)
	}
	r = e.do(t, http.MethodPost, tplPath, newTemplate("pickup_code", "es", m{"type": "BODY", "text": "Tu código es {{1}}. ¡Gracias!"}))
	esID, _ := r.body["id"].(string)
	if r.status != 200 {
		t.Fatalf("create es: %s", r.raw)
	}

	if st := e.get(t, v+"/"+enID+"?fields=status").body; st["status"] != "PENDING" || len(st) != 2 {
		t.Fatalf("status before approval: %v", st)
	}
	send := tmpl(customer, "pickup_code", "en_US", m{"type": "body", "parameters": []any{m{"type": "text", "text": "9876"}}})
	wantError(t, e.send(t, send), 404, 132001, 0)

	e.clock.Advance(time.Hour)
	st := e.get(t, v+"/"+enID).body
	if st["status"] != "APPROVED" || st["name"] != "pickup_code" || st["language"] != "en_US" || st["category"] != "UTILITY" || st["components"] == nil {
		t.Fatalf("template after approval: %v", st)
	}
	id := e.send(t, send).messageID(t)
	waitFor(t, "template statuses", func() bool { return len(e.rcv.statusesOf(id)) == 3 })

	// Listing with filters sees both languages.
	r = e.get(t, tplPath+"?name_or_content=pickup&fields=name,language,status")
	data, _ := r.body["data"].([]any)
	if len(data) != 2 {
		t.Fatalf("list by name: %s", r.raw)
	}
	if got := data[0].(map[string]any); got["language"] != "es" || len(got) != 4 { // newest first; name, language, status, id
		t.Errorf("first item: %v", got)
	}

	// Delete by id + name removes one language only.
	bad := e.do(t, http.MethodDelete, tplPath+"?hsm_id="+enID+"&name=other_name", nil)
	wantError(t, bad, 400, 100, 0)
	wantError(t, e.do(t, http.MethodDelete, tplPath+"?hsm_id="+enID, nil), 400, 100, 0)
	r = e.do(t, http.MethodDelete, tplPath+"?hsm_id="+enID+"&name=pickup_code", nil)
	if r.status != 200 || r.body["success"] != true {
		t.Fatalf("delete by id: %s", r.raw)
	}
	wantError(t, e.get(t, v+"/"+enID), 400, 100, 33)
	if r := e.get(t, v+"/"+esID+"?fields=name"); r.status != 200 {
		t.Fatalf("other language gone: %s", r.raw)
	}
	// The approved en_US content is locked for 30 days.
	wantError(t, e.do(t, http.MethodPost, tplPath, newTemplate("pickup_code", "en_US")), 400, 100, 2388023)

	// Name only removes every language.
	if r := e.do(t, http.MethodDelete, tplPath+"?name=pickup_code", nil); r.status != 200 {
		t.Fatalf("delete by name: %s", r.raw)
	}
	wantError(t, e.get(t, v+"/"+esID), 400, 100, 33)
	wantError(t, e.do(t, http.MethodDelete, tplPath+"?name=pickup_code", nil), 400, 100, 0)
	if r := e.get(t, tplPath+"?name_or_content=pickup"); len(r.body["data"].([]any)) != 0 {
		t.Errorf("deleted templates still listed: %s", r.raw)
	}
	// Content deleted while still PENDING leaves its name free.
	if r := e.do(t, http.MethodPost, tplPath, newTemplate("pickup_note", "en_GB")); r.status != 200 {
		t.Fatalf("create: %s", r.raw)
	}
	if r := e.do(t, http.MethodDelete, tplPath+"?name=pickup_note", nil); r.status != 200 {
		t.Fatalf("delete pending: %s", r.raw)
	}
	if r := e.do(t, http.MethodPost, tplPath, newTemplate("pickup_note", "en_GB")); r.status != 200 {
		t.Errorf("recreate content deleted while pending: %s", r.raw)
	}
	e.clock.Advance(31 * 24 * time.Hour)
	for _, lang := range []string{"en_US", "es"} {
		if r := e.do(t, http.MethodPost, tplPath, newTemplate("pickup_code", lang)); r.status != 200 {
			t.Errorf("recreate %s after 30 days: %s", lang, r.raw)
		}
	}
}

func TestTemplateApprovalImmediate(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	r := e.do(t, http.MethodPost, tplPath, newTemplate("instant", "en_US"))
	if r.body["status"] != "PENDING" {
		t.Fatalf("create must answer PENDING: %s", r.raw)
	}
	if st := e.get(t, v+"/"+r.body["id"].(string)+"?fields=status").body["status"]; st != "APPROVED" {
		t.Errorf("status %v", st)
	}
	// Seeded PENDING templates stay pending.
	r = e.get(t, tplPath+"?status=PENDING")
	if d := r.body["data"].([]any); len(d) != 1 || d[0].(map[string]any)["name"] != "spring_sale" {
		t.Errorf("pending list: %s", r.raw)
	}
}

func TestTemplateList(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	names := func(r resp) []string {
		var out []string
		for _, d := range r.body["data"].([]any) {
			out = append(out, d.(map[string]any)["name"].(string))
		}
		return out
	}
	cases := []struct {
		name, query string
		want        []string
	}{
		{"all, newest first", "", []string{"spring_sale", "welcome_named", "order_update", "hello_world"}},
		{"status", "?status=APPROVED", []string{"welcome_named", "order_update", "hello_world"}},
		{"status lowercase", "?status=pending", []string{"spring_sale"}},
		{"status JSON array", "?status=" + url.QueryEscape(`["PENDING","APPROVED"]`), []string{"spring_sale", "welcome_named", "order_update", "hello_world"}},
		{"category", "?category=MARKETING", []string{"spring_sale", "welcome_named"}},
		{"category and status", "?category=MARKETING&status=APPROVED", []string{"welcome_named"}},
		{"language", "?language=en_US", []string{"spring_sale", "welcome_named", "order_update", "hello_world"}},
		{"language none", "?language=fr", nil},
		{"name_or_content by name", "?name_or_content=order", []string{"order_update"}},
		{"name_or_content by body", "?name_or_content=sandbox", []string{"hello_world"}},
		{"name_or_content case-insensitive", "?name_or_content=WELCOME", []string{"welcome_named", "hello_world"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(t, tplPath+tc.query)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if got := names(r); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// Default fields, then selected fields.
	item := e.get(t, tplPath+"?limit=1").body["data"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "parameter_format", "components", "language", "status", "category", "id"} {
		if _, ok := item[k]; !ok {
			t.Errorf("default fields lack %s: %v", k, item)
		}
	}
	item = e.get(t, tplPath+"?limit=1&fields=name,status").body["data"].([]any)[0].(map[string]any)
	if got := keys(item); len(got) != 3 || item["id"] == nil {
		t.Errorf("selected fields: %v", item)
	}
	wantError(t, e.get(t, tplPath+"?fields=nope"), 400, 100, 0)
	wantError(t, e.get(t, tplPath+"?status=LIVE"), 400, 100, 0)
	wantError(t, e.get(t, tplPath+"?category=PROMO"), 400, 100, 0)

	// Paging: 4 templates, 3 pages of 2, 2, none.
	r := e.get(t, tplPath+"?limit=2&status=APPROVED,PENDING")
	if got := names(r); !slices.Equal(got, []string{"spring_sale", "welcome_named"}) {
		t.Fatalf("page 1: %v", got)
	}
	paging := r.body["paging"].(map[string]any)
	if _, ok := paging["previous"]; ok {
		t.Errorf("previous on page 1")
	}
	next, _ := paging["next"].(string)
	nu, err := url.Parse(next)
	if err != nil || !strings.HasPrefix(next, e.srv.URL+tplPath) || nu.Query().Get("limit") != "2" || nu.Query().Get("status") != "APPROVED,PENDING" {
		t.Fatalf("next %q must keep the request's parameters", next)
	}
	r = e.get(t, strings.TrimPrefix(next, e.srv.URL))
	if got := names(r); !slices.Equal(got, []string{"order_update", "hello_world"}) {
		t.Fatalf("page 2: %v", got)
	}
	paging = r.body["paging"].(map[string]any)
	if _, ok := paging["next"]; ok {
		t.Errorf("next on the last page: %v", paging)
	}
	prev, _ := paging["previous"].(string)
	if got := names(e.get(t, strings.TrimPrefix(prev, e.srv.URL))); !slices.Equal(got, []string{"spring_sale", "welcome_named"}) {
		t.Errorf("previous page: %v", got)
	}
	after := paging["cursors"].(map[string]any)["after"].(string)
	if r := e.get(t, tplPath+"?after="+after); len(r.body["data"].([]any)) != 0 || r.body["paging"] != nil {
		t.Errorf("past the end: %s", r.raw)
	}

	// A bad cursor is 131059 from v24; earlier versions get an empty page.
	wantError(t, e.get(t, tplPath+"?after=bogus"), 400, 131059, 0)
	wantError(t, e.get(t, "/v24.0/"+sandbox.WABAID+"/message_templates?before=bogus"), 400, 131059, 0)
	if r := e.get(t, "/v23.0/"+sandbox.WABAID+"/message_templates?after=bogus"); r.status != 200 || len(r.body["data"].([]any)) != 0 {
		t.Errorf("v23 bad cursor: %s", r.raw)
	}
}

func TestGetTemplate(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	list := e.get(t, tplPath+"?name_or_content=order_update&fields=id").body["data"].([]any)
	id := list[0].(map[string]any)["id"].(string)
	cases := []struct {
		query string
		want  []string
		code  int
	}{
		{"", []string{"name", "parameter_format", "components", "language", "status", "category", "id"}, 0},
		{"?fields=status", []string{"status", "id"}, 0},
		{"?fields=name,rejected_reason,quality_score{score}", []string{"name", "rejected_reason", "quality_score", "id"}, 0},
		{"?fields=previous_category", []string{"id"}, 0}, // known but unset: omitted
		{"?fields=bogus", nil, 100},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			e.wantFields(t, v+"/"+id+tc.query, tc.want, tc.code)
		})
	}
}
