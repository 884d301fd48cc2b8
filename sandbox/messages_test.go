package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

type m = map[string]any

func msg(typ string, obj any) m {
	b := m{"messaging_product": "whatsapp", "to": customer, "type": typ}
	if obj != nil {
		b[typ] = obj
	}
	return b
}

func buttons(n int, mod func(i int, b m)) []any {
	out := []any{}
	for i := range n {
		b := m{"type": "reply", "reply": m{"id": fmt.Sprintf("id-%d", i), "title": fmt.Sprintf("Title %d", i)}}
		if mod != nil {
			mod(i, b)
		}
		out = append(out, b)
	}
	return out
}

func buttonMsg(btns []any, extra m) m {
	in := m{"type": "button", "body": m{"text": "Pick one"}, "action": m{"buttons": btns}}
	for k, val := range extra {
		in[k] = val
	}
	return msg("interactive", in)
}

func listMsg(sections []any, extra m) m {
	in := m{"type": "list", "body": m{"text": "Choose"}, "action": m{"button": "Options", "sections": sections}}
	for k, val := range extra {
		in[k] = val
	}
	return msg("interactive", in)
}

func rows(n int, prefix string) []any {
	var out []any
	for i := range n {
		out = append(out, m{"id": fmt.Sprintf("%s-%d", prefix, i), "title": fmt.Sprintf("Row %d", i)})
	}
	return out
}

func TestSendValidation(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	long := func(n int) string { return strings.Repeat("a", n) }
	without := func(b m, k string) m { delete(b, k); return b }
	with := func(b m, k string, val any) m { b[k] = val; return b }
	contacts := func(n int) []any {
		var out []any
		for range n {
			out = append(out, m{"name": m{"formatted_name": "A B", "first_name": "A"}})
		}
		return out
	}
	cases := []struct {
		name         string
		body         any
		status, code int
		details      string // substring of error_data.details, if set
	}{
		{"no messaging_product", without(text(customer, "hi"), "messaging_product"), 400, 100, ""},
		{"wrong messaging_product", with(text(customer, "hi"), "messaging_product", "sms"), 400, 100, ""},
		{"not JSON", "{nope", 400, 100, ""},
		{"no to", without(text(customer, "hi"), "to"), 400, 131008, "to"},
		{"empty to", with(text(customer, "hi"), "to", " "), 400, 131008, ""},
		{"letters in to", with(text(customer, "hi"), "to", "+1650CALLME"), 400, 131009, ""},
		{"to is sender", with(text(customer, "hi"), "to", "+15550783881"), 400, 131021, ""},
		{"unknown type", with(text(customer, "hi"), "type", "fax"), 400, 100, ""},
		{"group recipient", with(text(customer, "hi"), "recipient_type", "group"), 400, 131009, ""},
		{"context without id", with(text(customer, "hi"), "context", m{}), 400, 100, ""},
		{"biz opaque too long", with(text(customer, "hi"), "biz_opaque_callback_data", long(513)), 400, 131009, ""},
		{"text object missing", msg("text", nil), 400, 100, "text"},
		{"text body missing", msg("text", m{}), 400, 100, "text['body']"},
		{"text body too long", msg("text", m{"body": long(4097)}), 400, 131009, "4096"},
		{"preview_url not bool", msg("text", m{"body": "x", "preview_url": "yes"}), 400, 131009, ""},
		{"media without id or link", msg("image", m{"caption": "c"}), 400, 131009, ""},
		{"media with id and link", msg("image", m{"id": "1", "link": "https://x.example/a.png"}), 400, 131009, ""},
		{"media relative link", msg("image", m{"link": "/a.png"}), 400, 131009, ""},
		{"unknown media id", msg("image", m{"id": "123456"}), 400, 131053, "123456"},
		{"caption on audio", msg("audio", m{"link": "https://x.example/a.ogg", "caption": "c"}), 400, 131009, "caption"},
		{"caption on sticker", msg("sticker", m{"link": "https://x.example/a.webp", "caption": "c"}), 400, 131009, "caption"},
		{"caption too long", msg("video", m{"link": "https://x.example/a.mp4", "caption": long(1025)}), 400, 131009, "1024"},
		{"filename on image", msg("image", m{"link": "https://x.example/a.png", "filename": "a.png"}), 400, 131009, ""},
		{"latitude out of range", msg("location", m{"latitude": "91", "longitude": "0"}), 400, 131009, "latitude"},
		{"longitude out of range", msg("location", m{"latitude": 1, "longitude": -180.5}), 400, 131009, "longitude"},
		{"latitude not a number", msg("location", m{"latitude": "north", "longitude": "0"}), 400, 131009, ""},
		{"longitude missing", msg("location", m{"latitude": "1"}), 400, 100, ""},
		{"contacts missing", msg("contacts", nil), 400, 100, ""},
		{"contacts empty", msg("contacts", []any{}), 400, 131009, ""},
		{"contacts 258", msg("contacts", contacts(258)), 400, 131009, "257"},
		{"contact without formatted_name", msg("contacts", []any{m{"name": m{"first_name": "A"}}}), 400, 100, "formatted_name"},
		{"contact bad birthday", msg("contacts", []any{m{"name": m{"formatted_name": "A"}, "birthday": "23/01/1999"}}), 400, 131009, ""},
		{"interactive unknown type", msg("interactive", m{"type": "poll"}), 400, 100, ""},
		{"buttons 0", buttonMsg(buttons(0, nil), nil), 400, 131009, ""},
		{"buttons 4", buttonMsg(buttons(4, nil), nil), 400, 131009, "1 to 3"},
		{"button title too long", buttonMsg(buttons(1, func(_ int, b m) { b["reply"].(m)["title"] = long(21) }), nil), 400, 131009, "20"},
		{"button id too long", buttonMsg(buttons(1, func(_ int, b m) { b["reply"].(m)["id"] = long(257) }), nil), 400, 131009, "256"},
		{"button id spaces", buttonMsg(buttons(1, func(_ int, b m) { b["reply"].(m)["id"] = " x" }), nil), 400, 131009, ""},
		{"duplicate button ids", buttonMsg(buttons(2, func(_ int, b m) { b["reply"].(m)["id"] = "same" }), nil), 400, 131009, "unique"},
		{"duplicate button titles", buttonMsg(buttons(2, func(_ int, b m) { b["reply"].(m)["title"] = "Same" }), nil), 400, 131009, "unique"},
		{"button body too long", buttonMsg(buttons(1, nil), m{"body": m{"text": long(1025)}}), 400, 131009, "1024"},
		{"button body missing", buttonMsg(buttons(1, nil), m{"body": m{}}), 400, 100, ""},
		{"header too long", buttonMsg(buttons(1, nil), m{"header": m{"type": "text", "text": long(61)}}), 400, 131009, "60"},
		{"footer too long", buttonMsg(buttons(1, nil), m{"footer": m{"text": long(61)}}), 400, 131009, "60"},
		{"button media header unknown id", buttonMsg(buttons(1, nil), m{"header": m{"type": "image", "image": m{"id": "42"}}}), 400, 131053, ""},
		{"list 11 rows", listMsg([]any{m{"title": "A", "rows": rows(6, "a")}, m{"title": "B", "rows": rows(5, "b")}}, nil), 400, 131009, "10 rows"},
		{"list section title missing", listMsg([]any{m{"rows": rows(1, "a")}, m{"title": "B", "rows": rows(1, "b")}}, nil), 400, 100, "title"},
		{"list 11 sections", listMsg(func() []any {
			var s []any
			for i := range 11 {
				s = append(s, m{"title": fmt.Sprint(i), "rows": rows(1, fmt.Sprint(i))})
			}
			return s
		}(), nil), 400, 131009, "1 to 10"},
		{"list button text too long", msg("interactive", m{"type": "list", "body": m{"text": "x"}, "action": m{"button": long(21), "sections": []any{m{"rows": rows(1, "a")}}}}), 400, 131009, "20"},
		{"list body too long", listMsg([]any{m{"rows": rows(1, "a")}}, m{"body": m{"text": long(4097)}}), 400, 131009, "4096"},
		{"list media header", listMsg([]any{m{"rows": rows(1, "a")}}, m{"header": m{"type": "image", "image": m{"link": "https://x.example/a.png"}}}), 400, 100, ""},
		{"list row title too long", listMsg([]any{m{"rows": []any{m{"id": "a", "title": long(25)}}}}, nil), 400, 131009, "24"},
		{"list row description too long", listMsg([]any{m{"rows": []any{m{"id": "a", "title": "A", "description": long(73)}}}}, nil), 400, 131009, "72"},
		{"list duplicate row ids", listMsg([]any{m{"title": "A", "rows": rows(1, "x")}, m{"title": "B", "rows": rows(1, "x")}}, nil), 400, 131009, "unique"},
		{"list empty section", listMsg([]any{m{"title": "A", "rows": []any{}}}, nil), 400, 131009, ""},
		{"reaction without message_id", msg("reaction", m{"emoji": "👍"}), 400, 100, ""},
		{"template name missing", msg("template", m{"language": m{"code": "en_US"}}), 400, 100, ""},
		{"template language code missing", msg("template", m{"name": "hello_world", "language": m{}}), 400, 100, "template['language']['code']"},
		{"template unknown", tmpl(customer, "nope", "en_US"), 404, 132001, "nope"},
		{"template wrong language", tmpl(customer, "hello_world", "en"), 404, 132001, "en"},
		{"template pending", tmpl(customer, "spring_sale", "en_US"), 404, 132001, ""},
		{"template params missing", tmpl(customer, "order_update", "en_US"), 400, 132000, "body"},
		{"template params too few", tmpl(customer, "order_update", "en_US", m{"type": "body", "parameters": []any{m{"type": "text", "text": "A"}}}), 400, 132000, "(1)"},
		{"template params on variable-free", tmpl(customer, "hello_world", "en_US", m{"type": "body", "parameters": []any{m{"type": "text", "text": "A"}}}), 400, 132000, ""},
		{"template header params unexpected", tmpl(customer, "hello_world", "en_US", m{"type": "header", "parameters": []any{m{"type": "text", "text": "A"}}}), 400, 132000, "header"},
		{"template button params unexpected", tmpl(customer, "hello_world", "en_US", m{"type": "button", "sub_type": "url", "index": "0", "parameters": []any{m{"type": "text", "text": "A"}}}), 400, 132000, "button"},
		{"named template without names", tmpl(customer, "welcome_named", "en_US", m{"type": "body", "parameters": []any{m{"type": "text", "text": "Zoë"}}}), 400, 132012, ""},
		{"named template wrong name", tmpl(customer, "welcome_named", "en_US", m{"type": "body", "parameters": []any{m{"type": "text", "text": "Zoë", "parameter_name": "last_name"}}}), 400, 132012, ""},
		{"positional template with names", tmpl(customer, "order_update", "en_US", m{"type": "body", "parameters": []any{
			m{"type": "text", "text": "A", "parameter_name": "a"}, m{"type": "text", "text": "B", "parameter_name": "b"}}}), 400, 132012, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, v+"/"+sandbox.PhoneNumberID+"/messages", tc.body)
			wantError(t, r, tc.status, tc.code, 0)
			// Messaging errors carry error_data {messaging_product, details}.
			ed, _ := r.errField("error_data").(map[string]any)
			if ed["messaging_product"] != "whatsapp" {
				t.Errorf("error_data: %s", r.raw)
			}
			if d, _ := ed["details"].(string); !strings.Contains(d, tc.details) {
				t.Errorf("details %q lack %q", d, tc.details)
			}
		})
	}
	if n := len(e.sb.SentMessages()); n != 0 {
		t.Errorf("%d messages recorded by failed sends", n)
	}
	wantError(t, e.do(t, http.MethodPost, v+"/106540352242999/messages", text(customer, "hi")), 400, 100, 33)
}

var wamidRE = regexp.MustCompile(`^wamid\.[A-Za-z0-9+/]+=*$`)

func TestSendSuccess(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	if _, err := e.sb.Inbound(context.Background(), "", customer, "Ana", "hi"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		body     m
		to, wa   string
		template bool
	}{
		{"text", text(customer, "Hello 👋 <b>&"), customer, waID, false},
		{"text with default type", func() m { b := text(customer, "x"); delete(b, "type"); return b }(), customer, waID, false},
		{"formatted number", text("+1 (650) 555-1234", "x"), "+1 (650) 555-1234", waID, false},
		// Without "+" Meta prepends the sender's country code (1 for the sandbox numbers).
		{"no plus gets country code", text("6505551234", "x"), "6505551234", waID, false},
		{"reply", func() m { b := text(customer, "x"); b["context"] = m{"message_id": "wamid.X"}; return b }(), customer, waID, false},
		{"image link", msg("image", m{"link": "https://x.example/a.png", "caption": "An image"}), customer, waID, false},
		{"audio voice", msg("audio", m{"link": "https://x.example/a.ogg", "voice": true}), customer, waID, false},
		{"document", msg("document", m{"link": "https://x.example/a.pdf", "filename": "a.pdf", "caption": "c"}), customer, waID, false},
		{"sticker", msg("sticker", m{"link": "https://x.example/a.webp"}), customer, waID, false},
		{"video", msg("video", m{"link": "https://x.example/a.mp4"}), customer, waID, false},
		{"location strings", msg("location", m{"latitude": "37.44216251868683", "longitude": "-122.16153582049394", "name": "Philz", "address": "101 Forest Ave"}), customer, waID, false},
		{"location numbers", msg("location", m{"latitude": -90, "longitude": 180}), customer, waID, false},
		{"contacts", msg("contacts", []any{m{"name": m{"formatted_name": "Barbara J. Johnson", "first_name": "Barbara"}, "birthday": "1999-01-23",
			"phones": []any{m{"phone": "+19175559999", "wa_id": "19175559999", "type": "Mobile"}}}}), customer, waID, false},
		{"buttons", buttonMsg(buttons(3, nil), m{"header": m{"type": "text", "text": "Header"}, "footer": m{"text": "Footer"}}), customer, waID, false},
		{"buttons image header", buttonMsg(buttons(1, nil), m{"header": m{"type": "image", "image": m{"link": "https://x.example/a.png"}}}), customer, waID, false},
		{"list", listMsg([]any{m{"title": "A", "rows": rows(5, "a")}, m{"title": "B", "rows": rows(5, "b")}}, m{"header": m{"type": "text", "text": "H"}}), customer, waID, false},
		{"list single untitled section", listMsg([]any{m{"rows": rows(1, "a")}}, nil), customer, waID, false},
		{"cta_url accepted", msg("interactive", m{"type": "cta_url", "body": m{"text": "x"},
			"action": m{"name": "cta_url", "parameters": m{"display_text": "See dates", "url": "https://x.example/dates"}}}), customer, waID, false},
		{"reaction", msg("reaction", m{"message_id": "wamid.X", "emoji": "👍"}), customer, waID, false},
		{"reaction removal", msg("reaction", m{"message_id": "wamid.X", "emoji": ""}), customer, waID, false},
		{"template", tmpl(customer, "hello_world", "en_US"), customer, waID, true},
		{"template with params", tmpl(customer, "order_update", "en_US", m{"type": "body", "parameters": []any{m{"type": "text", "text": "Ana"}, m{"type": "text", "text": "#1"}}}), customer, waID, true},
		{"named template", tmpl(customer, "welcome_named", "en_US", m{"type": "BODY", "parameters": []any{m{"type": "text", "text": "Zoë", "parameter_name": "first_name"}}}), customer, waID, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send(t, tc.body)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if r.body["messaging_product"] != "whatsapp" {
				t.Errorf("messaging_product: %s", r.raw)
			}
			cs, _ := r.body["contacts"].([]any)
			if len(cs) != 1 || cs[0].(map[string]any)["input"] != tc.to || cs[0].(map[string]any)["wa_id"] != tc.wa {
				t.Errorf("contacts: %s", r.raw)
			}
			if id := r.messageID(t); !wamidRE.MatchString(id) {
				t.Errorf("wamid %q", id)
			}
			st, has := r.body["messages"].([]any)[0].(map[string]any)["message_status"]
			if tc.template != has || (has && st != "accepted") {
				t.Errorf("message_status (template=%v): %s", tc.template, r.raw)
			}
		})
	}
	if n := len(e.sb.SentMessages()); n != len(cases) {
		t.Errorf("SentMessages = %d, want %d", n, len(cases))
	}
	// Sent without "+", 16505551234 becomes 116505551234: the country code is prepended.
	r := e.send(t, text("16505551234", "x"))
	if wa := r.body["contacts"].([]any)[0].(map[string]any)["wa_id"]; wa != "116505551234" {
		t.Errorf("wa_id %v", wa)
	}
}

func TestSendFormEncoded(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	body := "messaging_product=whatsapp&to=%2B16505551234&type=template&template=" +
		`%7B%22name%22%3A%22hello_world%22%2C%22language%22%3A%7B%22code%22%3A%22en_US%22%7D%7D`
	r := e.do(t, http.MethodPost, v+"/"+sandbox.PhoneNumberID+"/messages", []byte(body), func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
}

func TestStatusWebhooksInsideWindow(t *testing.T) {
	e := newEnv(t, sandbox.Config{AppSecret: "another-secret"}, true)
	if _, err := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID, customer, "Zoë", "Where is my order? https://x.example/o/1"); err != nil {
		t.Fatal(err)
	}
	b := text(customer, "On its way: https://x.example/track/1")
	b["biz_opaque_callback_data"] = "order/1"
	id := e.send(t, b).messageID(t)
	waitFor(t, "3 statuses", func() bool { return len(e.rcv.statusesOf(id)) == 3 })

	raw := string(e.rcv.bodies()[0])
	for _, want := range []string{`"name":"Zo\u00eb"`, `https:\/\/x.example\/o\/1`, `"object":"whatsapp_business_account"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("inbound webhook lacks %s: %s", want, raw)
		}
	}

	sts := e.rcv.statusesOf(id)
	for i, want := range []string{"sent", "delivered", "read"} {
		s := sts[i]
		if s.Status != want || s.RecipientID != waID || s.PhoneNumberID != sandbox.PhoneNumberID || s.BizOpaque != "order/1" {
			t.Errorf("status %d: %+v", i, s)
		}
		if !regexp.MustCompile(`^"\d{10}"$`).Match(s.Timestamp) {
			t.Errorf("timestamp must be a string of unix seconds: %s", s.Timestamp)
		}
		if s.Conversation != nil {
			t.Errorf("v25 status has conversation: %s", s.Conversation)
		}
		if hasPricing := s.Pricing != nil; hasPricing != (want != "read") {
			t.Errorf("%s pricing = %v", want, hasPricing)
		}
		if s.Pricing != nil && (s.Pricing.Billable || s.Pricing.PricingModel != "PMP" || s.Pricing.Type != "free_customer_service" || s.Pricing.Category != "service") {
			t.Errorf("pricing %+v", *s.Pricing)
		}
	}
	for _, hb := range e.rcv.parsed() {
		for _, en := range hb.Entry {
			if en.ID != sandbox.WABAID {
				t.Errorf("entry id %s", en.ID)
			}
			for _, c := range en.Changes {
				if c.Field != "messages" || c.Value.MessagingProduct != "whatsapp" || c.Value.Metadata.DisplayPhoneNumber != "15550783881" {
					t.Errorf("change %+v", c)
				}
			}
		}
	}
}

func TestConversationBeforeV24(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	r := e.do(t, http.MethodPost, "/v23.0/"+sandbox.PhoneNumberID+"/messages", tmpl(customer, "welcome_named", "en_US",
		m{"type": "body", "parameters": []any{m{"type": "text", "text": "Zoë", "parameter_name": "first_name"}}}))
	id := r.messageID(t)
	waitFor(t, "statuses", func() bool { return len(e.rcv.statusesOf(id)) == 3 })
	sts := e.rcv.statusesOf(id)
	if sts[0].Conversation == nil || !strings.Contains(string(sts[0].Conversation), `"origin":{"type":"marketing"}`) {
		t.Errorf("v23 sent status lacks conversation: %s", sts[0].Conversation)
	}
	if p := sts[0].Pricing; p == nil || !p.Billable || p.Type != "regular" || p.Category != "marketing" {
		t.Errorf("marketing pricing %+v", p)
	}
	if sts[2].Conversation != nil {
		t.Errorf("read status has conversation")
	}
}

func TestOutsideWindow(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	// The customer wrote 25 hours ago: the window is closed again.
	if _, err := e.sb.Inbound(context.Background(), "", customer, "Ana", "hi"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(25 * time.Hour)

	free := e.send(t, text(customer, "hello")).messageID(t)
	tpl := e.send(t, tmpl(customer, "hello_world", "en_US")).messageID(t)
	waitFor(t, "statuses", func() bool { return len(e.rcv.statusesOf(free)) == 1 && len(e.rcv.statusesOf(tpl)) == 3 })

	f := e.rcv.statusesOf(free)[0]
	if f.Status != "failed" || len(f.Errors) != 1 || f.Pricing != nil {
		t.Fatalf("free-form outside window: %+v", f)
	}
	er := f.Errors[0]
	if er.Code != 131047 || er.Title != "Re-engagement message" || er.Message != "Re-engagement message" ||
		!strings.Contains(er.ErrorData.Details, "more than 24 hours") || er.Href != "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/" {
		t.Errorf("131047 error: %+v", er)
	}
	if all := bytes.Join(e.rcv.bodies(), nil); !bytes.Contains(all, []byte(`"href":"https:\/\/developers.facebook.com\/docs\/whatsapp\/cloud-api\/support\/error-codes\/"`)) {
		t.Errorf("href not escaped Meta-style: %s", all)
	}
	sts := e.rcv.statusesOf(tpl)
	if sts[0].Status != "sent" || sts[1].Status != "delivered" || sts[2].Status != "read" {
		t.Errorf("template statuses: %+v", sts)
	}
	if p := sts[0].Pricing; p == nil || !p.Billable || p.Type != "regular" || p.Category != "utility" {
		t.Errorf("utility template outside window must be billable: %+v", p)
	}

	// Writing again reopens the window, but only with the number written to.
	if _, err := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID2, customer, "Ana", "again"); err != nil {
		t.Fatal(err)
	}
	other := e.send(t, text(customer, "from number 1")).messageID(t)
	r := e.do(t, http.MethodPost, v+"/"+sandbox.PhoneNumberID2+"/messages", text(customer, "from number 2"))
	ok := r.messageID(t)
	waitFor(t, "statuses", func() bool { return len(e.rcv.statusesOf(other)) == 1 && len(e.rcv.statusesOf(ok)) == 3 })
	if e.rcv.statusesOf(ok)[0].PhoneNumberID != sandbox.PhoneNumberID2 {
		t.Errorf("status metadata names the wrong number")
	}
}

func TestUnreachableNumbers(t *testing.T) {
	e := newEnv(t, sandbox.Config{UnreachableNumbers: []string{"+1 650 555 0000"}}, true)
	id := e.send(t, tmpl("+16505550000", "hello_world", "en_US")).messageID(t)
	waitFor(t, "failed status", func() bool { return len(e.rcv.statusesOf(id)) == 1 })
	s := e.rcv.statusesOf(id)[0]
	if s.Status != "failed" || len(s.Errors) != 1 || s.Errors[0].Code != 131026 || s.Errors[0].Title != "Message undeliverable" {
		t.Errorf("unreachable: %+v", s)
	}
}
