package conversations_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// Outbound messages: the request bodies the send tools post, and Meta's
// smb_message_echoes elements, viewed and extracted alike.
func TestViewOutbound(t *testing.T) {
	for _, tc := range []struct {
		name, raw     string
		want          conversations.MessageView
		text, context string
	}{
		{
			name: "text reply",
			raw:  `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","context":{"message_id":"wamid.Q"},"type":"text","text":{"body":"Yes, it comes in blue.","preview_url":false}}`,
			want: conversations.MessageView{Type: "text", Text: "Yes, it comes in blue.", ReplyTo: "wamid.Q"},
			text: "Yes, it comes in blue.", context: "wamid.Q",
		},
		{
			name: "type absent reads as text",
			raw:  `{"messaging_product":"whatsapp","to":"+16505551234","text":{"body":"hi"}}`,
			want: conversations.MessageView{Type: "text", Text: "hi"},
			text: "hi",
		},
		{
			name: "image by link",
			raw:  `{"messaging_product":"whatsapp","to":"+16505551234","type":"image","image":{"link":"https:\/\/example.com\/aloe.png","caption":"The best succulent ever?"}}`,
			want: conversations.MessageView{Type: "image", Text: "The best succulent ever?", Media: &conversations.Media{Link: "https://example.com/aloe.png"}},
			text: "The best succulent ever?",
		},
		{
			name: "document by id",
			raw:  `{"messaging_product":"whatsapp","to":"+16505551234","type":"document","document":{"id":"1376223850470843","filename":"invoice.pdf","caption":"Your invoice"}}`,
			want: conversations.MessageView{Type: "document", Text: "Your invoice", Media: &conversations.Media{ID: "1376223850470843", Filename: "invoice.pdf"}},
			text: "Your invoice invoice.pdf",
		},
		{
			name: "location with string coordinates",
			raw:  `{"messaging_product":"whatsapp","to":"+16505551234","type":"location","location":{"latitude":"37.44216251868683","longitude":"-122.16153582049394","name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301"}}`,
			want: conversations.MessageView{Type: "location", Location: &conversations.Location{Latitude: 37.44216251868683, Longitude: -122.16153582049394, Name: "Philz Coffee", Address: "101 Forest Ave, Palo Alto, CA 94301"}},
			text: "Philz Coffee 101 Forest Ave, Palo Alto, CA 94301",
		},
		{
			name: "contacts",
			raw:  `{"messaging_product":"whatsapp","to":"+16505551234","type":"contacts","contacts":[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara"},"phones":[{"phone":"+19175559999","wa_id":"19175559999","type":"CELL"}]}]}`,
			want: conversations.MessageView{Type: "contacts", Contacts: json.RawMessage(`[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara"},"phones":[{"phone":"+19175559999","wa_id":"19175559999","type":"CELL"}]}]`)},
			text: "Barbara J. Johnson",
		},
		{
			name: "interactive buttons",
			raw:  `{"messaging_product":"whatsapp","to":"+16505551234","type":"interactive","interactive":{"type":"button","header":{"type":"text","text":"Workshop"},"body":{"text":"Your workshop is at 9am tomorrow. Still coming?"},"footer":{"text":"Reply by 6pm"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},{"type":"reply","reply":{"id":"reschedule","title":"Reschedule"}}]}}}`,
			want: conversations.MessageView{Type: "interactive", Text: "Your workshop is at 9am tomorrow. Still coming?", Interactive: &conversations.Interactive{
				Kind: "button", Header: "Workshop", Footer: "Reply by 6pm",
				Options: []conversations.Option{{ID: "yes", Title: "Yes"}, {ID: "reschedule", Title: "Reschedule"}}}},
			text: "Workshop Your workshop is at 9am tomorrow. Still coming? Reply by 6pm Yes Reschedule",
		},
		{
			name: "interactive list",
			raw:  `{"messaging_product":"whatsapp","to":"+16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"Which shipping option?"},"action":{"button":"Shipping options","sections":[{"title":"Fast","rows":[{"id":"express","title":"Express","description":"Next day"}]},{"title":"Cheap","rows":[{"id":"ground","title":"Ground","description":"2-5 days"}]}]}}}`,
			want: conversations.MessageView{Type: "interactive", Text: "Which shipping option?", Interactive: &conversations.Interactive{
				Kind: "list", Button: "Shipping options",
				Options: []conversations.Option{{ID: "express", Title: "Express", Description: "Next day"}, {ID: "ground", Title: "Ground", Description: "2-5 days"}}}},
			text: "Which shipping option? Express Next day Ground 2-5 days",
		},
		{
			name: "link button with an image header",
			raw: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"interactive","interactive":{"type":"cta_url",` +
				`"header":{"type":"image","image":{"link":"https://www.luckyshrub.com/banner.png"}},"body":{"text":"Tap the button below to see available dates."},` +
				`"footer":{"text":"Dates subject to change."},"action":{"name":"cta_url","parameters":{"display_text":"See Dates","url":"https://www.luckyshrub.com/dates"}}}}`,
			want: conversations.MessageView{Type: "interactive", Text: "Tap the button below to see available dates.", Interactive: &conversations.Interactive{
				Kind: "cta_url", Footer: "Dates subject to change.", Button: "See Dates", URL: "https://www.luckyshrub.com/dates"}},
			text: "Tap the button below to see available dates. Dates subject to change. See Dates https://www.luckyshrub.com/dates",
		},
		{
			name: "Flow",
			raw: `{"messaging_product":"whatsapp","to":"+16505551234","context":{"message_id":"wamid.Q"},"type":"interactive","interactive":{"type":"flow","header":{"type":"text","text":"Booking"},` +
				`"body":{"text":"Book your table"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_id":"123456","flow_cta":"Book!","flow_action":"navigate",` +
				`"flow_action_payload":{"screen":"START","data":"{\"guests\":2}"}}}}}`,
			want:    conversations.MessageView{Type: "interactive", Text: "Book your table", ReplyTo: "wamid.Q", Interactive: &conversations.Interactive{Kind: "flow", Header: "Booking", Button: "Book!"}},
			text:    "Booking Book your table Book!",
			context: "wamid.Q",
		},
		{
			name: "location request",
			raw:  `{"messaging_product":"whatsapp","to":"+16505551234","type":"interactive","interactive":{"type":"location_request_message","body":{"text":"Where should we pick you up?"},"action":{"name":"send_location"}}}`,
			want: conversations.MessageView{Type: "interactive", Text: "Where should we pick you up?", Interactive: &conversations.Interactive{Kind: "location_request_message"}},
			text: "Where should we pick you up?",
		},
		{
			name: "address request",
			raw: `{"messaging_product":"whatsapp","to":"+919876543210","type":"interactive","interactive":{"type":"address_message","body":{"text":"Where should we deliver?"},` +
				`"action":{"name":"address_message","parameters":{"country":"IN","values":{"name":"Anjali Sharma"}}}}}`,
			want: conversations.MessageView{Type: "interactive", Text: "Where should we deliver?", Interactive: &conversations.Interactive{Kind: "address_message"}},
			text: "Where should we deliver?",
		},
		{
			name: "template with parameters and a media header",
			raw: `{"messaging_product":"whatsapp","to":"+16505551234","type":"template","template":{"name":"order_update","language":{"code":"en_US"},"components":[` +
				`{"type":"header","parameters":[{"type":"image","image":{"id":"55512345"}}]},` +
				`{"type":"body","parameters":[{"type":"text","text":"Zo\u00eb"},{"type":"currency","currency":{"fallback_value":"$12.50","code":"USD","amount_1000":12500}},{"type":"date_time","date_time":{"fallback_value":"July 1"}}]},` +
				`{"type":"button","sub_type":"quick_reply","index":0,"parameters":[{"type":"payload","payload":"TRACK-42"}]}]}}`,
			want: conversations.MessageView{Type: "template", Template: &conversations.Template{Name: "order_update", Language: "en_US", Params: []string{"Zoë", "$12.50", "July 1", "TRACK-42"}},
				Media: &conversations.Media{ID: "55512345"}},
			text: "order_update Zoë $12.50 July 1 TRACK-42",
		},
		{
			name: "reaction",
			raw:  `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"reaction","reaction":{"message_id":"wamid.THEIRS","emoji":"\ud83d\udc4d"}}`,
			want: conversations.MessageView{Type: "reaction", Reaction: &conversations.Reaction{MessageID: "wamid.THEIRS", Emoji: "👍"}},
			text: "👍", context: "wamid.THEIRS",
		},
		{
			name:    "reaction removed",
			raw:     `{"messaging_product":"whatsapp","to":"+16505551234","type":"reaction","reaction":{"message_id":"wamid.THEIRS","emoji":""}}`,
			want:    conversations.MessageView{Type: "reaction", Reaction: &conversations.Reaction{MessageID: "wamid.THEIRS", Removed: true}},
			context: "wamid.THEIRS",
		},
		{
			name: "Business app echo of an image",
			raw:  `{"from":"15550783881","to":"16505551234","to_user_id":"US.1349","id":"wamid.E","timestamp":"1750030201","type":"image","image":{"caption":"The blue one","mime_type":"image\/jpeg","sha256":"Pq2w\/9c=","id":"1188776655443322"}}`,
			want: conversations.MessageView{Type: "image", Text: "The blue one", Media: &conversations.Media{ID: "1188776655443322", MimeType: "image/jpeg", SHA256: "Pq2w/9c="}},
			text: "The blue one",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, text, ctx := conversations.ExtractOutbound(json.RawMessage(tc.raw))
			if typ != tc.want.Type || text != tc.text || ctx != tc.context {
				t.Errorf("ExtractOutbound = %q, %q, %q; want %q, %q, %q", typ, text, ctx, tc.want.Type, tc.text, tc.context)
			}
			// Extract reads a stored element of a known type the same way.
			if text2, ctx2 := conversations.Extract(typ, json.RawMessage(tc.raw)); text2 != text || ctx2 != ctx {
				t.Errorf("Extract = %q, %q; ExtractOutbound said %q, %q", text2, ctx2, text, ctx)
			}
			got := conversations.View(store.Message{MessageID: "wamid.OUT", Direction: store.DirectionOut, Type: typ, Timestamp: 1750030201, Raw: json.RawMessage(tc.raw)})
			want := tc.want
			want.MessageID, want.Direction, want.Time = "wamid.OUT", store.DirectionOut, "2025-06-15T23:30:01Z"
			wantView(t, got, want)
		})
	}
}

// Inbound elements the webhook fixtures do not cover: odd shapes and
// missing objects never panic nor lose what is there.
func TestViewInboundEdges(t *testing.T) {
	for _, tc := range []struct {
		name, typ, raw string
		want           conversations.MessageView
		text, context  string
	}{
		{
			name: "text without its object", typ: "text", raw: `{"id":"wamid.X","type":"text"}`,
			want: conversations.MessageView{Type: "text"},
		},
		{
			name: "media object null", typ: "image", raw: `{"id":"wamid.X","type":"image","image":null}`,
			want: conversations.MessageView{Type: "image"},
		},
		{
			name: "reaction without emoji (removed)", typ: "reaction", raw: `{"type":"reaction","reaction":{"message_id":"wamid.T"}}`,
			want:    conversations.MessageView{Type: "reaction", Reaction: &conversations.Reaction{MessageID: "wamid.T", Removed: true}},
			context: "wamid.T",
		},
		{
			name: "coordinates that are no numbers", typ: "location", raw: `{"type":"location","location":{"latitude":"north","longitude":true,"name":"Home"}}`,
			want: conversations.MessageView{Type: "location", Location: &conversations.Location{Name: "Home"}},
			text: "Home",
		},
		{
			name: "nfm_reply with a response that is no JSON", typ: "interactive",
			raw:  `{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{not json"}}}`,
			want: conversations.MessageView{Type: "interactive", Reply: &conversations.Reply{Kind: "nfm_reply", Title: "flow", Description: "Sent"}},
			text: "Sent",
		},
		{
			name: "completed Flow", typ: "interactive",
			raw: `{"context":{"from":"15550783881","id":"wamid.FLOW"},"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent",` +
				`"response_json":"{\"flow_token\":\"booking-42\",\"date\":\"2026-07-01\"}"}}}`,
			want: conversations.MessageView{Type: "interactive", ReplyTo: "wamid.FLOW", Reply: &conversations.Reply{Kind: "nfm_reply", Title: "flow", Description: "Sent",
				Response: json.RawMessage(`{"flow_token":"booking-42","date":"2026-07-01"}`)}},
			text: "Sent", context: "wamid.FLOW",
		},
		{
			// One of Meta's address samples puts "action":"address_message" in the interactive object.
			name: "address reply with an action string", typ: "interactive",
			raw: `{"type":"interactive","interactive":{"type":"interactive","action":"address_message","nfm_reply":{"name":"address_message",` +
				`"response_json":"{\"values\":{\"city\":\"Mumbai\"}}","body":"Mumbai"}}}`,
			want: conversations.MessageView{Type: "interactive", Reply: &conversations.Reply{Kind: "nfm_reply", Title: "address_message", Description: "Mumbai",
				Response: json.RawMessage(`{"values":{"city":"Mumbai"}}`)}},
			text: "Mumbai",
		},
		{
			name: "system notice of a new BSUID", typ: "system",
			raw:  `{"type":"system","system":{"body":"User A changed from X to Y","wa_id":"16505559999","user_id":"US.777","type":"user_changed_user_id"}}`,
			want: conversations.MessageView{Type: "system", Text: "User A changed from X to Y", System: &conversations.System{Kind: "user_changed_user_id", NewWaID: "16505559999", NewUserID: "US.777"}},
			text: "User A changed from X to Y",
		},
		{
			name: "edit of a caption, inner type absent", typ: "edit",
			raw:  `{"type":"edit","edit":{"original_message_id":"wamid.O","message":{"image":{"id":"77","caption":"new caption"}}}}`,
			want: conversations.MessageView{Type: "edit", OriginalMessageID: "wamid.O", Text: "new caption", Media: &conversations.Media{ID: "77"}},
			text: "new caption", context: "wamid.O",
		},
		{
			name: "the type is given by the caller, not the element", typ: "button", raw: `{"button":{"payload":"P","text":"Yes"},"context":{"id":"wamid.Q"}}`,
			want: conversations.MessageView{Type: "button", Reply: &conversations.Reply{Kind: "button", ID: "P", Title: "Yes"}, ReplyTo: "wamid.Q"},
			text: "Yes", context: "wamid.Q",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, ctx := conversations.Extract(tc.typ, json.RawMessage(tc.raw))
			if text != tc.text || ctx != tc.context {
				t.Errorf("Extract = %q, %q; want %q, %q", text, ctx, tc.text, tc.context)
			}
			got := conversations.View(store.Message{Direction: store.DirectionIn, Type: tc.typ, Raw: json.RawMessage(tc.raw)})
			want := tc.want
			want.Direction = store.DirectionIn
			wantView(t, got, want)
		})
	}
}

// Without a raw element (or with one that is not JSON), View falls back to
// the indexed columns, and Extract finds nothing.
func TestViewWithoutRaw(t *testing.T) {
	for _, raw := range []string{"", "not json", `"a string"`} {
		m := store.Message{MessageID: "wamid.N", Direction: store.DirectionIn, Type: "text", Text: "indexed text", Raw: json.RawMessage(raw)}
		got := conversations.View(m)
		wantView(t, got, conversations.MessageView{MessageID: "wamid.N", Direction: "in", Type: "text", Text: "indexed text"})
		if text, ctx := conversations.Extract("text", json.RawMessage(raw)); text != "" || ctx != "" {
			t.Errorf("Extract(%q) = %q, %q", raw, text, ctx)
		}
		if typ, text, ctx := conversations.ExtractOutbound(json.RawMessage(raw)); typ+text+ctx != "" {
			t.Errorf("ExtractOutbound(%q) = %q, %q, %q", raw, typ, text, ctx)
		}
	}
}

// The output is compact: no empty fields, no nulls.
func TestViewIsCompact(t *testing.T) {
	v := conversations.View(store.Message{MessageID: "wamid.C", Direction: "in", Type: "request_welcome", Raw: json.RawMessage(`{"id":"wamid.C","type":"request_welcome","errors":null,"referral":null}`)})
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"message_id":"wamid.C","direction":"in","type":"request_welcome"}`; string(b) != want {
		t.Errorf("marshalled %s, want %s", b, want)
	}
}

// InboundTypes lists what fill normalises; the webhook fixtures test each.
func TestInboundTypes(t *testing.T) {
	if got := strings.Join(conversations.InboundTypes, " "); !strings.Contains(got, "request_welcome") || len(conversations.InboundTypes) != 17 {
		t.Errorf("InboundTypes = %s", got)
	}
}

func wantView(t *testing.T, got, want conversations.MessageView) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("View:\n got %s\nwant %s", g, w)
	}
}
