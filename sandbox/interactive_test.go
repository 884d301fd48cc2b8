package sandbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

const indian = "+919876543210"

func ctaMsg(params m, extra m) m {
	in := m{"type": "cta_url", "body": m{"text": "See the dates"}, "action": m{"name": "cta_url", "parameters": params}}
	for k, val := range extra {
		in[k] = val
	}
	return msg("interactive", in)
}

func ctaParams() m { return m{"display_text": "See Dates", "url": "https://x.example/dates"} }

func flowMsg(params m) m {
	return msg("interactive", m{"type": "flow", "body": m{"text": "Book a table"}, "action": m{"name": "flow", "parameters": params}})
}

func flowParams(extra m) m {
	p := m{"flow_message_version": "3", "flow_id": "123456", "flow_cta": "Book!"}
	for k, val := range extra {
		if val == nil {
			delete(p, k)
			continue
		}
		p[k] = val
	}
	return p
}

func locReqMsg(extra m) m {
	in := m{"type": "location_request_message", "body": m{"text": "Where are you?"}, "action": m{"name": "send_location"}}
	for k, val := range extra {
		in[k] = val
	}
	return msg("interactive", in)
}

func addressMsg(to string, params m) m {
	b := msg("interactive", m{"type": "address_message", "body": m{"text": "Where to?"}, "action": m{"name": "address_message", "parameters": params}})
	b["to"] = to
	return b
}

// TestInteractiveNamedActions: the cta_url, flow, location request and address messages are
// checked like Meta (docs/cloud-api.md#cta-url-messages, #flow-messages,
// #location-request-messages, #address-messages): 100 for a missing parameter or a value
// outside an enum, 131009 for other value rules, 131053 for an unknown upload.
func TestInteractiveNamedActions(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name    string
		body    m
		code    int    // 0: accepted
		details string // substring of error_data.details
	}{
		{"cta_url", ctaMsg(ctaParams(), m{"header": m{"type": "image", "image": m{"link": "https://x.example/a.png"}}, "footer": m{"text": "Soon"}}), 0, ""},
		{"cta_url text header", ctaMsg(ctaParams(), m{"header": m{"type": "text", "text": "New dates"}}), 0, ""},
		{"cta_url document header", ctaMsg(ctaParams(), m{"header": m{"type": "document", "document": m{"link": "https://x.example/a.pdf"}}}), 0, ""},
		{"cta_url without body", msg("interactive", m{"type": "cta_url", "action": m{"name": "cta_url", "parameters": ctaParams()}}), 100, "interactive['body']"},
		{"cta_url body too long", msg("interactive", m{"type": "cta_url", "body": m{"text": long(1025)}, "action": m{"name": "cta_url", "parameters": ctaParams()}}), 131009, "1024"},
		{"cta_url footer too long", ctaMsg(ctaParams(), m{"footer": m{"text": long(61)}}), 131009, "60"},
		{"cta_url wrong action name", msg("interactive", m{"type": "cta_url", "body": m{"text": "x"}, "action": m{"name": "flow", "parameters": ctaParams()}}), 100, "interactive['action']['name']"},
		{"cta_url without parameters", msg("interactive", m{"type": "cta_url", "body": m{"text": "x"}, "action": m{"name": "cta_url"}}), 100, "['parameters']"},
		{"cta_url display text too long", ctaMsg(m{"display_text": long(21), "url": "https://x.example"}, nil), 131009, "20"},
		{"cta_url without url", ctaMsg(m{"display_text": "Go"}, nil), 100, "['url']"},
		{"cta_url ftp url", ctaMsg(m{"display_text": "Go", "url": "ftp://x.example/a"}, nil), 131009, "http(s)"},
		{"cta_url unknown upload", ctaMsg(ctaParams(), m{"header": m{"type": "video", "video": m{"id": "987654"}}}), 131053, "987654"},
		{"cta_url audio header", ctaMsg(ctaParams(), m{"header": m{"type": "audio", "audio": m{"link": "https://x.example/a.ogg"}}}), 100, "header"},
		{"location request", locReqMsg(nil), 0, ""},
		{"location request with a header", locReqMsg(m{"header": m{"type": "text", "text": "Hi"}}), 131009, "header"},
		{"location request wrong action", locReqMsg(m{"action": m{"name": "send_address"}}), 100, "SEND_LOCATION"},
		{"location request with parameters", locReqMsg(m{"action": m{"name": "send_location", "parameters": m{}}}), 131009, "parameters"},
		{"location request without body", locReqMsg(m{"body": nil}), 100, "body"},
		{"flow", flowMsg(flowParams(nil)), 0, ""},
		{"flow by name, draft", flowMsg(flowParams(m{"flow_id": nil, "flow_name": "booking", "mode": "draft", "flow_token": "t-1"})), 0, ""},
		{"flow navigate with data as a string", flowMsg(flowParams(m{"flow_action": "navigate", "flow_action_payload": m{"screen": "START", "data": `{"a":1}`}})), 0, ""},
		{"flow navigate with data as an object", flowMsg(flowParams(m{"flow_action_payload": m{"screen": "START", "data": m{"a": 1}}})), 0, ""},
		{"flow data exchange", flowMsg(flowParams(m{"flow_action": "data_exchange"})), 0, ""},
		{"flow text header", msg("interactive", m{"type": "flow", "header": m{"type": "text", "text": "Hi"}, "body": m{"text": "x"}, "action": m{"name": "flow", "parameters": flowParams(nil)}}), 0, ""},
		{"flow image header", msg("interactive", m{"type": "flow", "header": m{"type": "image", "image": m{"link": "https://x.example/a.png"}}, "body": m{"text": "x"},
			"action": m{"name": "flow", "parameters": flowParams(nil)}}), 100, "header"},
		{"flow without version", flowMsg(flowParams(m{"flow_message_version": nil})), 100, "flow_message_version"},
		{"flow version 2", flowMsg(flowParams(m{"flow_message_version": "2"})), 100, "flow_message_version"},
		{"flow without cta", flowMsg(flowParams(m{"flow_cta": nil})), 100, "flow_cta"},
		{"flow cta too long", flowMsg(flowParams(m{"flow_cta": long(31)})), 131009, "30"},
		{"flow with id and name", flowMsg(flowParams(m{"flow_name": "booking"})), 131009, "Exactly one"},
		{"flow without id or name", flowMsg(flowParams(m{"flow_id": nil})), 131009, "Exactly one"},
		{"flow bad mode", flowMsg(flowParams(m{"mode": "live"})), 100, "mode"},
		{"flow bad action", flowMsg(flowParams(m{"flow_action": "open"})), 100, "flow_action"},
		{"flow payload with data exchange", flowMsg(flowParams(m{"flow_action": "data_exchange", "flow_action_payload": m{"screen": "A"}})), 131009, "data_exchange"},
		{"flow payload without screen", flowMsg(flowParams(m{"flow_action_payload": m{"data": `{"a":1}`}})), 100, "screen"},
		{"flow empty data", flowMsg(flowParams(m{"flow_action_payload": m{"screen": "A", "data": "{}"}})), 131009, "non-empty"},
		{"flow data not JSON", flowMsg(flowParams(m{"flow_action_payload": m{"screen": "A", "data": "{nope"}})), 131009, "non-empty"},
		{"flow token not a string", flowMsg(flowParams(m{"flow_token": true})), 131009, "flow_token"},
		{"address", addressMsg(indian, m{"country": "IN", "values": m{"name": "Anjali", "in_pin_code": "400063"}}), 0, ""},
		{"address saved and errors", addressMsg(indian, m{"country": "IN", "saved_addresses": []any{m{"id": "a1", "value": m{"city": "Mumbai", "building_name": ""}}},
			"validation_errors": m{"in_pin_code": "We could not locate this pin code."}}), 0, ""},
		{"address without country", addressMsg(indian, m{"values": m{"name": "A"}}), 100, "country"},
		{"address in Singapore", addressMsg("+6591234567", m{"country": "SG"}), 131009, "only available in IN"},
		{"address to a US number", addressMsg(customer, m{"country": "IN"}), 131009, "not from IN"},
		{"address without plus reads as +1", addressMsg("919876543210", m{"country": "IN"}), 131009, "not from IN"},
		{"address unknown field", addressMsg(indian, m{"country": "IN", "values": m{"zip": "1"}}), 131009, "zip"},
		{"address value not a string", addressMsg(indian, m{"country": "IN", "values": m{"city": 1}}), 131009, "city"},
		{"address pin code too long", addressMsg(indian, m{"country": "IN", "values": m{"in_pin_code": "4000631"}}), 131009, "6"},
		{"address duplicate saved id", addressMsg(indian, m{"country": "IN", "saved_addresses": []any{m{"id": "a", "value": m{}}, m{"id": "a", "value": m{}}}}), 131009, "unique"},
		{"address saved without value", addressMsg(indian, m{"country": "IN", "saved_addresses": []any{m{"id": "a"}}}), 100, "value"},
		{"address with a text header and a footer", func() m {
			b := addressMsg(indian, m{"country": "IN"})
			b["interactive"].(m)["header"] = m{"type": "text", "text": "Delivery"}
			b["interactive"].(m)["footer"] = m{"text": "Thanks!"}
			return b
		}(), 0, ""},
		{"address with an image header", func() m {
			b := addressMsg(indian, m{"country": "IN"})
			b["interactive"].(m)["header"] = m{"type": "image", "image": m{"link": "https://x.example/a.png"}}
			return b
		}(), 100, "header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sandbox.Config{}, false)
			for _, from := range []string{customer, indian} {
				if _, err := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID, from, "Ann", "hi"); err != nil {
					t.Fatal(err)
				}
			}
			r := e.send(t, tc.body)
			if tc.code == 0 {
				if r.status != 200 {
					t.Fatalf("HTTP %d: %s", r.status, r.raw)
				}
				if sent := e.sb.SentMessages(); len(sent) != 1 || sent[0].ID != r.messageID(t) || sent[0].Type != "interactive" {
					t.Errorf("sent %+v", sent)
				}
				return
			}
			wantError(t, r, 400, tc.code, 0)
			if d := errDetails(r); !strings.Contains(d, tc.details) {
				t.Errorf("details %q lack %q", d, tc.details)
			}
			if n := len(e.sb.SentMessages()); n != 0 {
				t.Errorf("%d messages sent, want none", n)
			}
		})
	}
}

// errDetails is error.error_data.details, or error.message when there is none.
func errDetails(r resp) string {
	if d, _ := r.errField("error_data").(map[string]any); d != nil {
		if s, _ := d["details"].(string); s != "" {
			return s
		}
	}
	s, _ := r.errField("message").(string)
	return s
}

// TestInteractiveNamedStatuses: an accepted link button, Flow, location request or address
// message gets the status webhooks of any free-form message.
func TestInteractiveNamedStatuses(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	for _, from := range []string{customer, indian} {
		if _, err := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID, from, "Ann", "hi"); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []m{ctaMsg(ctaParams(), nil), flowMsg(flowParams(nil)), locReqMsg(nil), addressMsg(indian, m{"country": "IN"})} {
		id := e.send(t, b).messageID(t)
		waitFor(t, "3 statuses of "+id, func() bool { return len(e.rcv.statusesOf(id)) == 3 })
		for i, want := range []string{"sent", "delivered", "read"} {
			if s := e.rcv.statusesOf(id)[i]; s.Status != want {
				t.Errorf("%s status %d = %s, want %s", id, i, s.Status, want)
			}
		}
	}
}
