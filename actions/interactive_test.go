package actions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

const (
	ctaTool      = "WHATSAPP_SEND_CTA_URL"
	locReqTool   = "WHATSAPP_SEND_LOCATION_REQUEST"
	flowTool     = "WHATSAPP_SEND_FLOW"
	addressTool  = "WHATSAPP_SEND_ADDRESS_REQUEST"
	choicesTool  = "WHATSAPP_SEND_CHOICES"
	indianNumber = "+919876543210"
	recipientUS  = `"to_number":"+16505551234","phone_number_id":"` + pnID + `"`
	recipientIN  = `"to_number":"` + indianNumber + `","phone_number_id":"` + pnID + `"`
)

// callInteractive calls one of actions.InteractiveActions.
func callInteractive(t *testing.T, d *actions.Deps, name, args string) tools.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tl := range actions.InteractiveActions(d) {
		if tl.Name == name {
			return tl.Call(ctx, json.RawMessage(args))
		}
	}
	t.Fatalf("no tool %s", name)
	return tools.Result{}
}

// TestInteractiveMatchesMeta: each new interactive tool posts exactly the
// request body of Meta's documented example (actions/testdata/meta, whose
// README names the pages), key order aside.
func TestInteractiveMatchesMeta(t *testing.T) {
	const (
		shrubURL   = `"https://www.luckyshrub.com?clickID=kqDGWd24Q5TRwoEQTICY7W1JKoXvaZOXWAS7h1P76s0R7Paec4"`
		dates      = `"body_text":"Tap the button below to see available dates.","button_text":"See Dates","url":` + shrubURL
		flowTexts  = `"body_text":"Flow message body","header_text":"Flow message header","footer_text":"Flow message footer","flow_cta":"Book!"`
		addressMsg = `"body_text":"Thanks for your order! Tell us what address you'd like this order delivered to.","country":"IN"`
	)
	tests := []struct {
		fixture, tool, args string
		form                string // WHATSAPP_SEND_CHOICES: data.form
	}{
		{"cta_url", ctaTool, `{` + recipientUS + `,` + dates +
			`,"header_media":{"type":"image","link":"https://www.luckyshrub.com/assets/lucky-shrub-banner-logo-v1.png"},"footer_text":"Dates subject to change."}`, ""},
		{"cta_url_text_header", ctaTool, `{` + recipientUS + `,` + dates + `,"header_text":"New workshop dates announced!"}`, ""},
		{"location_request_message", locReqTool, `{` + recipientUS +
			`,"body_text":"Let's start with your pickup. You can either manually *enter an address* or *share your current location*."}`, ""},
		{"flow", flowTool, `{` + recipientUS + `,` + flowTexts + `,"flow_id":"123456","flow_token":"AQAAAAACS5FpgQ_cAAAAAD0QI3s.","flow_action":"navigate","screen":"APPOINTMENT",` +
			`"data":{"product_name":"name", "product_description":"description", "product_price":100}}`, ""},
		{"flow_minimal", flowTool, `{` + recipientUS + `,` + flowTexts + `,"flow_name":"appointment_booking_v1"}`, ""},
		{"address_message", addressTool, `{` + recipientIN + `,` + addressMsg + `,"values":{"name":"Anjali Sharma","phone_number":"+919876543210"}}`, ""},
		{"address_message_saved", addressTool, `{` + recipientIN + `,` + addressMsg + `,"saved_addresses":[{"id":"address1","value":{"name":"Anjali Sharma","phone_number":"+919876543210",` +
			`"in_pin_code":"400063","floor_number":"8","building_name":"","address":"Wing A, Cello Triumph,IB Patel Rd","landmark_area":"Goregaon","city":"Mumbai"}}]}`, ""},
		{"address_message_validation", addressTool, `{` + recipientIN + `,` + addressMsg + `,"values":{"name":"Anjali Sharma","phone_number":"+919876543210",` +
			`"in_pin_code":"666666","address":"Some other location","city":"Delhi"},"validation_errors":{"in_pin_code":"We could not locate this pin code."}}`, ""},
		{"button", choicesTool, `{` + recipientUS + `,"question":"Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow. Use the buttons if you need to reschedule. Thank you!",` +
			`"options":[{"id":"change-button","title":"Change"},{"id":"cancel-button","title":"Cancel"}]}`, "buttons"},
		{"list", choicesTool, `{` + recipientUS + `,"question":"Which shipping option do you prefer?","button_label":"Shipping Options","section_title":"I want it ASAP!",` +
			`"options":[{"id":"priority_express","title":"Priority Mail Express","description":"Next Day to 2 Days"},{"id":"priority_mail","title":"Priority Mail","description":"1–3 Days"}]}`, "list"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "meta", tt.fixture+".json"))
			if err != nil {
				t.Fatal(err)
			}
			f := newFake(t)
			res := callInteractive(t, newDeps(t, f), tt.tool, tt.args)
			if !res.Successful {
				t.Fatalf("%s failed: %s", tt.tool, res.Error)
			}
			req := f.Only(t)
			if req.Method != "POST" || req.Path != sendPath {
				t.Fatalf("request %s %s, want POST %s", req.Method, req.Path, sendPath)
			}
			// canonical (templates13_test.go) sorts the keys, keeping the values.
			got, w := graphtest.Canonical(t, req.Body), graphtest.Canonical(t, want)
			if !bytes.Equal(got, w) {
				t.Errorf("the request differs from Meta's example:\n got  %s\n want %s", got, w)
			}
			checkSubset(t, dataOf(t, res), `{"message_id":"`+wamid+`","to":"`+
				strings.TrimSpace(jsonField(t, want, "to"))+`"}`)
			if tt.form != "" {
				checkSubset(t, dataOf(t, res), `{"form":"`+tt.form+`"}`)
			}
		})
	}
}

func jsonField(t *testing.T, doc []byte, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[key].(string)
	return s
}

// TestChoicesForm: the form follows Meta's reply-button limits (3 options,
// titles ≤20 characters, no description); the defaults label the list.
func TestChoicesForm(t *testing.T) {
	opt := func(id, title, desc string) string {
		o := `{"id":"` + id + `","title":"` + title + `"`
		if desc != "" {
			o += `,"description":"` + desc + `"`
		}
		return o + `}`
	}
	four := opt("a", "A", "") + "," + opt("b", "B", "") + "," + opt("c", "C", "") + "," + opt("d", "D", "")
	tests := []struct {
		name, options, form string
	}{
		{"one", opt("a", "A", ""), "buttons"},
		{"three short", opt("a", "A", "") + "," + opt("b", "B", "") + "," + opt("c", "C", ""), "buttons"},
		{"title of 20", opt("a", strings.Repeat("t", 20), ""), "buttons"},
		{"four", four, "list"},
		{"title of 21", opt("a", strings.Repeat("t", 21), ""), "list"},
		{"a description", opt("a", "A", "the first"), "list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			res := callInteractive(t, newDeps(t, f), choicesTool, `{`+recipientUS+`,"question":"Pick one","options":[`+tt.options+`]}`)
			if !res.Successful {
				t.Fatalf("failed: %s", res.Error)
			}
			var m graph.Message
			if err := json.Unmarshal(f.Only(t).Body, &m); err != nil || m.Interactive == nil {
				t.Fatalf("body: %v", err)
			}
			checkSubset(t, dataOf(t, res), `{"form":"`+tt.form+`"}`)
			iv := m.Interactive
			switch tt.form {
			case "buttons":
				if iv.Type != "button" || len(iv.Action.Buttons) != strings.Count(tt.options, `"id"`) || iv.Action.Sections != nil {
					t.Errorf("sent %+v, want reply buttons", iv)
				}
			case "list":
				if iv.Type != "list" || iv.Action.Button != "Choose" || len(iv.Action.Sections) != 1 || iv.Action.Sections[0].Title != "Options" ||
					len(iv.Action.Sections[0].Rows) != strings.Count(tt.options, `"id"`) {
					t.Errorf("sent %+v, want a one-section list labelled Choose / Options", iv)
				}
			}
		})
	}
}

// TestInteractiveInvalid: bad input names every offending field with its
// rule, and nothing reaches Meta.
func TestInteractiveInvalid(t *testing.T) {
	const (
		cta    = `"body_text":"See the dates","button_text":"See Dates","url":"https://example.com/d"`
		flow   = `"flow_id":"123456","flow_cta":"Book!","body_text":"Book now"`
		addr   = `"body_text":"Where to?","country":"IN"`
		choice = `"question":"Pick one"`
	)
	type field struct{ name, rule string }
	tests := []struct {
		name, tool, args string
		want             []field
	}{
		{"cta: everything missing", ctaTool, `{` + recipientUS + `}`,
			[]field{{"body_text", "required"}, {"button_text", "required"}, {"url", "required"}}},
		{"cta: long button, bad url, long footer", ctaTool, `{` + recipientUS + `,"body_text":"x","button_text":"` + strings.Repeat("b", 21) + `","url":"ftp://example.com/x","footer_text":"` + strings.Repeat("f", 61) + `"}`,
			[]field{{"button_text", "at most 20"}, {"url", "http(s) URL"}, {"footer_text", "at most 60"}}},
		{"cta: long body", ctaTool, `{` + recipientUS + `,"body_text":"` + strings.Repeat("b", 1025) + `","button_text":"Go","url":"https://example.com"}`,
			[]field{{"body_text", "at most 1024"}}},
		{"cta: two headers", ctaTool, `{` + recipientUS + `,` + cta + `,"header_text":"Hi","header_media":{"type":"image","link":"https://example.com/a.png"}}`,
			[]field{{"header_media", "header_text"}}},
		{"cta: media header without a source, bad type", ctaTool, `{` + recipientUS + `,` + cta + `,"header_media":{"type":"audio"}}`,
			[]field{{"header_media.type", "image, video, document"}, {"header_media", "exactly one of link and id"}}},
		{"cta: long header", ctaTool, `{` + recipientUS + `,` + cta + `,"header_text":"` + strings.Repeat("h", 61) + `"}`,
			[]field{{"header_text", "at most 60"}}},
		{"location request: no body", locReqTool, `{` + recipientUS + `,"body_text":" "}`, []field{{"body_text", "required"}}},
		{"location request: bad number", locReqTool, `{"to_number":"hello","phone_number_id":"` + pnID + `","body_text":"Where?"}`, []field{{"to_number", ""}}},
		{"flow: neither id nor name", flowTool, `{` + recipientUS + `,"flow_cta":"Book!","body_text":"Book"}`, []field{{"flow_id", "exactly one of flow_id and flow_name"}}},
		{"flow: both id and name", flowTool, `{` + recipientUS + `,` + flow + `,"flow_name":"booking"}`, []field{{"flow_id", "exactly one"}}},
		{"flow: bad enums, long cta", flowTool, `{` + recipientUS + `,"flow_id":"123456","flow_cta":"` + strings.Repeat("c", 31) + `","body_text":"Book","mode":"live","flow_action":"open"}`,
			[]field{{"flow_cta", "at most 30"}, {"mode", "draft, published"}, {"flow_action", "navigate, data_exchange"}}},
		{"flow: data without screen", flowTool, `{` + recipientUS + `,` + flow + `,"data":{"a":1}}`, []field{{"screen", "required with data"}}},
		{"flow: data not an object", flowTool, `{` + recipientUS + `,` + flow + `,"screen":"START","data":{}}`, []field{{"data", "non-empty JSON object"}}},
		{"flow: data a string", flowTool, `{` + recipientUS + `,` + flow + `,"screen":"START","data":"{\"a\":1}"}`, []field{{"data", "non-empty JSON object"}}},
		{"flow: data_exchange with a screen", flowTool, `{` + recipientUS + `,` + flow + `,"flow_action":"data_exchange","screen":"START","data":{"a":1}}`,
			[]field{{"screen", "data_exchange"}, {"data", "data_exchange"}}},
		{"flow: id not numeric, no body", flowTool, `{` + recipientUS + `,"flow_id":"abc","flow_cta":"Book!"}`, []field{{"flow_id", "numeric"}, {"body_text", "required"}}},
		{"address: no country", addressTool, `{` + recipientIN + `,"body_text":"Where to?"}`, []field{{"country", "required"}}},
		{"address: country not a code", addressTool, `{` + recipientIN + `,"body_text":"Where to?","country":"india"}`, []field{{"country", ""}}},
		{"address: unknown fields", addressTool, `{` + recipientIN + `,` + addr + `,"values":{"zip":"400063"},"validation_errors":{"street":"bad"}}`,
			[]field{{"values.zip", "not an address field"}, {"validation_errors.street", "not an address field"}}},
		{"address: saved addresses", addressTool, `{` + recipientIN + `,` + addr + `,"saved_addresses":[{"id":"a","value":{"city":"Mumbai"}},{"id":"a","value":{"town":"Pune"}},{"id":"","value":{}}]}`,
			[]field{{"saved_addresses[1].id", "unique"}, {"saved_addresses[1].value.town", "not an address field"}, {"saved_addresses[2].id", "required"}, {"saved_addresses[2].value", ""}}},
		{"choices: none", choicesTool, `{` + recipientUS + `,` + choice + `,"options":[]}`, []field{{"options", "at least 1"}}},
		{"choices: eleven", choicesTool, `{` + recipientUS + `,` + choice + `,"options":` + strings.ReplaceAll(buttons(11), `"b`, `"o`) + `}`, []field{{"options", "at most 10"}}},
		{"choices: duplicates", choicesTool, `{` + recipientUS + `,` + choice + `,"options":[{"id":"a","title":"A"},{"id":"a","title":"A"}]}`,
			[]field{{"options[1].id", "unique"}, {"options[1].title", "unique"}}},
		{"choices: long texts", choicesTool, `{` + recipientUS + `,"question":"` + strings.Repeat("q", 1025) + `","button_label":"` + strings.Repeat("l", 21) + `","section_title":"` + strings.Repeat("s", 25) +
			`","options":[{"id":" a","title":"` + strings.Repeat("t", 25) + `","description":"` + strings.Repeat("d", 73) + `"}]}`,
			[]field{{"question", "at most 1024"}, {"button_label", "at most 20"}, {"section_title", "at most 24"}, {"options[0].id", "spaces"}, {"options[0].title", "at most 24"}, {"options[0].description", "at most 72"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			res := callInteractive(t, newDeps(t, f), tt.tool, tt.args)
			if res.Kind != tools.KindInvalidInput {
				t.Fatalf("kind %q, want invalid_input: %s", res.Kind, res.JSON())
			}
			for _, w := range tt.want {
				checkInvalid(t, res, f, w.name, w.rule)
			}
		})
	}
}

// interactiveSandbox wires the tools to the emulator; both customers
// (toNorm and indianNumber) have written, so free-form sends are delivered.
func interactiveSandbox(t *testing.T) (*actions.Deps, *sandbox.Sandbox) {
	t.Helper()
	sb := sandbox.New(sandbox.Config{StatusDelay: time.Millisecond})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = sb.Close() })
	for _, from := range []string{toNorm, indianNumber} {
		if _, err := sb.Inbound(context.Background(), sandbox.PhoneNumberID, from, "Ann", "hi"); err != nil {
			t.Fatal(err)
		}
	}
	c, err := graph.NewClient(sandbox.DefaultToken, graph.WithBaseURL(srv.URL), graph.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return &actions.Deps{Graph: c, WABAID: sandbox.WABAID, MediaDir: t.TempDir()}, sb
}

// TestInteractiveAgainstSandbox: every new tool's request is accepted by
// the emulator, which applies Meta's checks; what only Meta can judge (an
// upload that does not exist, the countries of address messages) comes
// back as Meta's error.
func TestInteractiveAgainstSandbox(t *testing.T) {
	us := `"to_number":"` + toNorm + `","phone_number_id":"` + sandbox.PhoneNumberID + `"`
	in := `"to_number":"` + indianNumber + `","phone_number_id":"` + sandbox.PhoneNumberID + `"`
	tests := []struct {
		name, tool, args string
		code             int // Meta's error code; 0: accepted
	}{
		{"cta url", ctaTool, `{` + us + `,"body_text":"See the dates","button_text":"See Dates","url":"https://example.com/dates",` +
			`"header_media":{"type":"document","link":"https://example.com/dates.pdf"},"footer_text":"Subject to change"}`, 0},
		{"cta url: media id never uploaded", ctaTool, `{` + us + `,"body_text":"See","button_text":"See Dates","url":"https://example.com",` +
			`"header_media":{"type":"image","id":"1234567890"}}`, 131053},
		{"location request", locReqTool, `{` + us + `,"body_text":"Where should we pick you up?"}`, 0},
		{"flow by id, navigate with data", flowTool, `{` + us + `,"flow_id":"123456","flow_cta":"Book!","body_text":"Book a table","flow_token":"tok-1","screen":"START","data":{"guests":2}}`, 0},
		{"flow by name, draft, data exchange", flowTool, `{` + us + `,"flow_name":"booking","flow_cta":"Book!","body_text":"Book","mode":"draft","flow_action":"data_exchange"}`, 0},
		{"address in India", addressTool, `{` + in + `,"body_text":"Where to?","country":"IN","values":{"city":"Mumbai","in_pin_code":"400063"}}`, 0},
		{"address for a US number", addressTool, `{` + us + `,"body_text":"Where to?","country":"IN"}`, 131009},
		{"address outside India", addressTool, `{` + in + `,"body_text":"Where to?","country":"US"}`, 131009},
		{"address: pin code too long", addressTool, `{` + in + `,"body_text":"Where to?","country":"IN","values":{"in_pin_code":"4000631"}}`, 131009},
		{"choices as buttons", choicesTool, `{` + us + `,"question":"Coming?","options":[{"id":"yes","title":"Yes"},{"id":"no","title":"No"}]}`, 0},
		{"choices as a list", choicesTool, `{` + us + `,"question":"Which day?","options":[{"id":"mon","title":"Monday","description":"9am"},{"id":"tue","title":"Tuesday"}]}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, sb := interactiveSandbox(t)
			res := callInteractive(t, d, tt.tool, tt.args)
			sent := sb.SentMessages()
			if tt.code != 0 {
				if res.Successful || res.Kind != tools.KindAPI || !strings.Contains(res.Error, "131") {
					t.Fatalf("want Meta's error %d, got %s", tt.code, res.JSON())
				}
				if code, _ := dataOf(t, res)["code"].(float64); int(code) != tt.code {
					t.Errorf("data.code = %v, want %d: %s", dataOf(t, res)["code"], tt.code, res.JSON())
				}
				if len(sent) != 0 {
					t.Errorf("the emulator sent %d messages, want none", len(sent))
				}
				return
			}
			if !res.Successful {
				t.Fatalf("refused: %s", res.JSON())
			}
			id, _ := dataOf(t, res)["message_id"].(string)
			if len(sent) != 1 || sent[0].ID != id || sent[0].Type != "interactive" {
				t.Fatalf("sent %+v, want one interactive message %s", sent, id)
			}
		})
	}
}

// TestInteractiveAnswers: the customer answers each new message type in
// the emulator, and the conversation tools read the answer (what the
// descriptions promise).
func TestInteractiveAnswers(t *testing.T) {
	d, sb := interactiveSandbox(t)
	us := `"to_number":"` + toNorm + `","phone_number_id":"` + sandbox.PhoneNumberID + `"`
	send := func(tool, args string) string {
		t.Helper()
		res := callInteractive(t, d, tool, args)
		if !res.Successful {
			t.Fatalf("%s: %s", tool, res.JSON())
		}
		id, _ := dataOf(t, res)["message_id"].(string)
		return id
	}
	lat, lng := 40.782910059774, -73.959075808525
	ask := send(locReqTool, `{`+us+`,"body_text":"Where are you?"}`)
	flow := send(flowTool, `{`+us+`,"flow_id":"123456","flow_cta":"Book!","body_text":"Book","flow_token":"booking-42"}`)
	list := send(choicesTool, `{`+us+`,"question":"Which day?","options":[{"id":"mon","title":"Monday","description":"9am"}]}`)
	for _, m := range []sandbox.InboundMessage{
		{Type: "location", ReplyTo: ask, Latitude: &lat, Longitude: &lng},
		{Type: "nfm_reply", ReplyTo: flow, Response: json.RawMessage(`{"date":"2026-07-01"}`)},
		{Type: "list_reply", ReplyTo: list, Row: "mon"},
	} {
		m.From = toNorm
		if _, err := sb.Receive(context.Background(), m); err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
	}
	got := sb.ReceivedMessages()
	if n := len(got); n != 5 { // the two greetings and the three answers
		t.Fatalf("received %d messages, want 5", n)
	}
	if _, err := sb.Receive(context.Background(), sandbox.InboundMessage{From: toNorm, Type: "nfm_reply", ReplyTo: list,
		Response: json.RawMessage(`{"a":"b"}`)}); err == nil || !strings.Contains(err.Error(), "Flow or address message") {
		t.Errorf("an nfm_reply to a list was accepted (err %v)", err)
	}
}

// noWindow is a store that has never seen the customer write.
type noWindow struct{}

func (noWindow) LastInbound(context.Context, string, string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

// TestInteractiveRecordedAndWarned: the new sends are free-form, so they
// warn when the window is probably closed, and they are recorded in the
// store with the text the conversation tools show and search.
func TestInteractiveRecordedAndWarned(t *testing.T) {
	tests := []struct{ tool, args, text string }{
		{ctaTool, `{` + recipientUS + `,"body_text":"Our dates","button_text":"See Dates","url":"https://example.com/d","reply_to_message_id":"` + wamid + `"}`,
			"Our dates See Dates https://example.com/d"},
		{locReqTool, `{` + recipientUS + `,"body_text":"Where are you?"}`, "Where are you?"},
		{flowTool, `{` + recipientUS + `,"flow_name":"booking","flow_cta":"Book!","body_text":"Book a table"}`, "Book a table Book!"},
		{addressTool, `{` + recipientIN + `,"body_text":"Where to deliver?","country":"IN"}`, "Where to deliver?"},
		{choicesTool, `{` + recipientUS + `,"question":"Coming?","options":[{"id":"y","title":"Yes"}]}`, "Coming? Yes"},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			st := &fakeStore{}
			d.Store, d.Window = st, noWindow{}
			res := callInteractive(t, d, tt.tool, tt.args)
			if !res.Successful {
				t.Fatalf("failed: %s", res.Error)
			}
			checkWarning(t, res.Warnings, "never written")
			out := st.outbound()
			if len(out) != 1 || out[0].MessageID != wamid || out[0].Type != "interactive" || out[0].Text != tt.text {
				t.Fatalf("recorded %+v, want one interactive message with text %q", out, tt.text)
			}
			if tt.tool == ctaTool && out[0].ContextID != wamid {
				t.Errorf("context %q, want the message answered", out[0].ContextID)
			}
		})
	}
}
