package sandbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

const business = "15550783881" // the first number's display digits, as context.from shows it

var (
	bsuidRE     = regexp.MustCompile(`^US\.\d{20}$`)
	timestampRE = regexp.MustCompile(`^\d{10}$`)
	pdfBytes    = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	oggBytes    = append([]byte("OggS\x00\x02"), bytes.Repeat([]byte{3}, 40)...)
	mp3Bytes    = append([]byte("ID3\x03\x00"), bytes.Repeat([]byte{4}, 40)...)
	mp4Bytes    = append([]byte("\x00\x00\x00\x18ftypmp42"), bytes.Repeat([]byte{5}, 40)...)
)

// hooked is one messages[] element as the receiver got it, with its value's contacts and number.
type hooked struct {
	phoneID string
	contact map[string]any
	msg     map[string]any
}

// inboundOf waits for the webhook carrying message id and decodes it generically, so every
// member Meta sends is asserted, not only those a struct names.
func (e *env) inboundOf(t *testing.T, id string) hooked {
	t.Helper()
	var out hooked
	waitFor(t, "inbound webhook "+id, func() bool {
		for _, raw := range e.rcv.bodies() {
			var p struct {
				Entry []struct {
					Changes []struct {
						Value struct {
							Metadata struct {
								PhoneNumberID string `json:"phone_number_id"`
							} `json:"metadata"`
							Contacts []map[string]any `json:"contacts"`
							Messages []map[string]any `json:"messages"`
						} `json:"value"`
					} `json:"changes"`
				} `json:"entry"`
			}
			_ = json.Unmarshal(raw, &p)
			for _, en := range p.Entry {
				for _, c := range en.Changes {
					for _, mg := range c.Value.Messages {
						if mg["id"] == id && len(c.Value.Contacts) == 1 {
							out = hooked{c.Value.Metadata.PhoneNumberID, c.Value.Contacts[0], mg}
							return true
						}
					}
				}
			}
		}
		return false
	})
	return out
}

// receive posts an inbound message to /sandbox/inbound and returns its result.
func (e *env) receive(t *testing.T, in sandbox.InboundMessage) sandbox.InboundResult {
	t.Helper()
	r := e.do(t, http.MethodPost, "/sandbox/inbound", in)
	var res sandbox.InboundResult
	if err := json.Unmarshal(r.raw, &res); r.status != 200 || err != nil || res.MessageID == "" {
		t.Fatalf("inbound %+v: %d %s", in.Type, r.status, r.raw)
	}
	return res
}

// jsonOf round-trips v through JSON, so expectations compare like decoded webhooks.
func jsonOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func ptr(f float64) *float64 { return &f }

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// conversation opens a window for customer with the first number and sends what a customer
// can answer: reply buttons, a list and a template with quick replies (the first given a
// payload).
func (e *env) conversation(t *testing.T) (first, buttonsID, listID, templateID, textID string) {
	t.Helper()
	first = e.receive(t, sandbox.InboundMessage{From: customer, Name: "Zoë", PhoneNumberID: sandbox.PhoneNumberID, Text: "Hi"}).MessageID
	buttonsID = e.send(t, buttonMsg(buttons(3, nil), nil)).messageID(t)
	rs := rows(2, "b")
	rs[1].(m)["description"] = "The second row"
	listID = e.send(t, listMsg([]any{m{"rows": rs}}, nil)).messageID(t)
	if r := e.do(t, http.MethodPost, tplPath, m{"name": "feedback", "category": "MARKETING", "language": "en_US", "components": []any{
		m{"type": "BODY", "text": "Did you like it?"},
		m{"type": "BUTTONS", "buttons": []any{m{"type": "QUICK_REPLY", "text": "Yes"}, m{"type": "QUICK_REPLY", "text": "No"}}},
	}}); r.status != 200 {
		t.Fatalf("create template: %s", r.raw)
	}
	templateID = e.send(t, tmpl(customer, "feedback", "en_US",
		m{"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": []any{m{"type": "payload", "payload": "LIKED"}}})).messageID(t)
	textID = e.send(t, text(customer, "How can we help?")).messageID(t)
	return
}

// TestReceiveTypes: every inbound type arrives signed (the receiver checks it) in Meta's
// shape, with the sender's wa_id and BSUID, and a context naming the message answered.
func TestReceiveTypes(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	first, buttonsID, listID, templateID, textID := e.conversation(t)
	mediaObj := func(mt string, data []byte, extra m) func(res sandbox.InboundResult) m {
		return func(res sandbox.InboundResult) m {
			o := m{"mime_type": mt, "sha256": sum(data), "id": res.MediaID}
			for k, val := range extra {
				o[k] = val
			}
			return o
		}
	}
	fixed := func(o any) func(sandbox.InboundResult) any { return func(sandbox.InboundResult) any { return o } }
	asAny := func(f func(sandbox.InboundResult) m) func(sandbox.InboundResult) any {
		return func(r sandbox.InboundResult) any { return f(r) }
	}
	cases := []struct {
		name    string
		in      sandbox.InboundMessage
		typ     string
		object  func(sandbox.InboundResult) any
		context string // the quoted message, with from = the business
		data    []byte // a media message's file
	}{
		{"text", sandbox.InboundMessage{Text: "Where is my order?"}, "text", fixed(m{"body": "Where is my order?"}), "", nil},
		{"text quoting our message", sandbox.InboundMessage{Text: "This one", ReplyTo: textID}, "text", fixed(m{"body": "This one"}), textID, nil},
		{"image", sandbox.InboundMessage{Type: "image", File: pngBytes, Filename: "shoe.png", Text: "Like this"}, "image",
			asAny(mediaObj("image/png", pngBytes, m{"caption": "Like this"})), "", pngBytes},
		{"video", sandbox.InboundMessage{Type: "video", File: mp4Bytes, Filename: "clip.mp4"}, "video", asAny(mediaObj("video/mp4", mp4Bytes, nil)), "", mp4Bytes},
		{"document", sandbox.InboundMessage{Type: "document", File: pdfBytes, Filename: "invoice.pdf", Text: "My invoice"}, "document",
			asAny(mediaObj("application/pdf", pdfBytes, m{"caption": "My invoice", "filename": "invoice.pdf"})), "", pdfBytes},
		{"document of any type", sandbox.InboundMessage{Type: "document", File: []byte("PK\x03\x04zip"), Filename: "photos.zip", MIMEType: "application/zip"}, "document",
			asAny(mediaObj("application/zip", []byte("PK\x03\x04zip"), m{"filename": "photos.zip"})), "", []byte("PK\x03\x04zip")},
		{"audio", sandbox.InboundMessage{Type: "audio", File: mp3Bytes, Filename: "song.mp3"}, "audio", asAny(mediaObj("audio/mpeg", mp3Bytes, m{"voice": false})), "", mp3Bytes},
		{"voice", sandbox.InboundMessage{Type: "voice", File: oggBytes, Filename: "note.ogg"}, "audio",
			asAny(mediaObj("audio/ogg; codecs=opus", oggBytes, m{"voice": true})), "", oggBytes},
		{"sticker", sandbox.InboundMessage{Type: "sticker", File: webpBytes}, "sticker", asAny(mediaObj("image/webp", webpBytes, m{"animated": false})), "", webpBytes},
		{"location", sandbox.InboundMessage{Type: "location", Latitude: ptr(37.4847), Longitude: ptr(-122.1477), LocationName: "Philz Coffee", Address: "101 Forest Ave"}, "location",
			fixed(m{"latitude": 37.4847, "longitude": -122.1477, "name": "Philz Coffee", "address": "101 Forest Ave"}), "", nil},
		{"location without a name", sandbox.InboundMessage{Type: "location", Latitude: ptr(0), Longitude: ptr(0)}, "location", fixed(m{"latitude": 0, "longitude": 0}), "", nil},
		{"contacts", sandbox.InboundMessage{Type: "contacts", ContactName: "Ana María Lopez", ContactPhone: "+1 650-555-9999"}, "contacts",
			fixed([]any{m{"name": m{"formatted_name": "Ana María Lopez", "first_name": "Ana", "last_name": "María Lopez"},
				"phones": []any{m{"phone": "+1 650-555-9999", "wa_id": "16505559999", "type": "CELL"}}}}), "", nil},
		{"button_reply", sandbox.InboundMessage{Type: "button_reply", ReplyTo: buttonsID, Button: "id-1"}, "interactive",
			fixed(m{"type": "button_reply", "button_reply": m{"id": "id-1", "title": "Title 1"}}), buttonsID, nil},
		{"list_reply", sandbox.InboundMessage{Type: "list_reply", ReplyTo: listID, Row: "b-1"}, "interactive",
			fixed(m{"type": "list_reply", "list_reply": m{"id": "b-1", "title": "Row 1", "description": "The second row"}}), listID, nil},
		{"list_reply without description", sandbox.InboundMessage{Type: "list_reply", ReplyTo: listID, Row: "b-0"}, "interactive",
			fixed(m{"type": "list_reply", "list_reply": m{"id": "b-0", "title": "Row 0"}}), listID, nil},
		{"button with the send's payload", sandbox.InboundMessage{Type: "button", ReplyTo: templateID, Button: "LIKED"}, "button",
			fixed(m{"payload": "LIKED", "text": "Yes"}), templateID, nil},
		{"button by its text", sandbox.InboundMessage{Type: "button", ReplyTo: templateID, Button: "No"}, "button",
			fixed(m{"payload": "No", "text": "No"}), templateID, nil},
		{"reaction", sandbox.InboundMessage{Type: "reaction", ReactTo: textID, Emoji: "👍🏽"}, "reaction", fixed(m{"message_id": textID, "emoji": "👍🏽"}), "", nil},
		{"reaction to their own message", sandbox.InboundMessage{Type: "reaction", ReactTo: first, Emoji: "🇺🇸"}, "reaction", fixed(m{"message_id": first, "emoji": "🇺🇸"}), "", nil},
		{"reaction removed", sandbox.InboundMessage{Type: "reaction", ReactTo: textID}, "reaction", fixed(m{"message_id": textID}), "", nil},
		{"order", sandbox.InboundMessage{Type: "order", Text: "For Friday", Products: []sandbox.OrderProduct{
			{ProductRetailerID: "sku-1", Quantity: 2, ItemPrice: 9.5, Currency: "EUR"}, {ProductRetailerID: "sku-2"}}}, "order",
			fixed(m{"catalog_id": "194836987003835", "text": "For Friday", "product_items": []any{
				m{"product_retailer_id": "sku-1", "quantity": 2, "item_price": 9.5, "currency": "EUR"},
				m{"product_retailer_id": "sku-2", "quantity": 1, "item_price": 0, "currency": "USD"}}}), "", nil},
	}
	var userID string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.From, in.Name = customer, "Zoë"
			res := e.receive(t, in)
			h := e.inboundOf(t, res.MessageID)
			if userID == "" {
				userID = res.UserID
			}
			if !bsuidRE.MatchString(res.UserID) || res.UserID != userID || res.WaID != waID || res.PhoneNumberID != sandbox.PhoneNumberID || res.Type != tc.typ {
				t.Errorf("result %+v: want the same BSUID %s for a customer every time", res, userID)
			}
			if want := jsonOf(t, m{"profile": m{"name": "Zoë"}, "wa_id": waID, "user_id": userID}); !reflect.DeepEqual(any(h.contact), want) {
				t.Errorf("contacts[0] = %v, want %v", h.contact, want)
			}
			if h.phoneID != sandbox.PhoneNumberID {
				t.Errorf("metadata names %s", h.phoneID)
			}
			want := m{"from": waID, "from_user_id": userID, "id": res.MessageID, "timestamp": h.msg["timestamp"], "type": tc.typ, tc.typ: tc.object(res)}
			if tc.context != "" {
				want["context"] = m{"from": business, "id": tc.context}
			}
			if got, w := any(h.msg), jsonOf(t, want); !reflect.DeepEqual(got, w) {
				t.Errorf("messages[0]\n got %v\nwant %v", got, w)
			}
			if ts, _ := h.msg["timestamp"].(string); !timestampRE.MatchString(ts) {
				t.Errorf("timestamp %v must be a string of unix seconds", h.msg["timestamp"])
			}
			if tc.data != nil {
				e.wantMedia(t, res.MediaID, h.msg[tc.typ].(map[string]any)["mime_type"].(string), tc.data)
			} else if res.MediaID != "" {
				t.Errorf("media id %s for a %s", res.MediaID, tc.name)
			}
		})
	}
	// Another customer has another BSUID; one of another country, its region.
	if other := e.receive(t, sandbox.InboundMessage{From: "+16505550001", Text: "hi"}).UserID; other == userID || !bsuidRE.MatchString(other) {
		t.Errorf("BSUID of another customer: %s (first %s)", other, userID)
	}
	if gb := e.receive(t, sandbox.InboundMessage{From: "+447700900123", Text: "hi"}).UserID; !strings.HasPrefix(gb, "GB.") {
		t.Errorf("BSUID of a UK number: %s", gb)
	}
	got := e.sb.ReceivedMessages()
	if n := len(got); n != len(cases)+3 || got[1].Type != "text" || got[3].Type != "image" || got[3].PhoneNumberID != sandbox.PhoneNumberID {
		t.Errorf("ReceivedMessages: %d, %+v", n, got[:4])
	}
}

// wantMedia: the media id of an inbound message is a media object of the business number
// whose download is the customer's file.
func (e *env) wantMedia(t *testing.T, id, mimeType string, data []byte) {
	t.Helper()
	info := e.get(t, v+"/"+id+"?phone_number_id="+sandbox.PhoneNumberID)
	if info.status != 200 || info.body["mime_type"] != mimeType || info.body["sha256"] != sum(data) || info.body["file_size"] != float64(len(data)) {
		t.Fatalf("GET /%s: %d %s", id, info.status, info.raw)
	}
	u, _ := info.body["url"].(string)
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+sandbox.DefaultToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Errorf("download of %s: %d, %d bytes, want the customer's %d", id, res.StatusCode, len(got), len(data))
	}
}

func TestReceiveInvalid(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	first, buttonsID, listID, templateID, textID := e.conversation(t)
	// Another customer's message, and an interactive message that failed (outside the window).
	otherID := e.send(t, text("+16505550001", "hello")).messageID(t)
	failed := e.send(t, func() m { b := buttonMsg(buttons(2, nil), nil); b["to"] = "+16505550002"; return b }()).messageID(t)
	secondID, err := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID2, customer, "Zoë", "to the second number")
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.sb.ReceivedMessages())

	cases := []struct {
		name string
		in   sandbox.InboundMessage
		want string
	}{
		{"bad from", sandbox.InboundMessage{From: "abc", Text: "hi"}, "from must be"},
		{"no text", sandbox.InboundMessage{From: customer}, "text is required"},
		{"unknown type", sandbox.InboundMessage{From: customer, Type: "poll"}, `type must be one of text, image`},
		{"field of another type", sandbox.InboundMessage{From: customer, Text: "hi", Button: "id-1"}, "button does not apply to type text"},
		{"reply_to on a reaction", sandbox.InboundMessage{From: customer, Type: "reaction", ReactTo: textID, ReplyTo: textID}, "reply_to does not apply to type reaction"},
		{"unknown number", sandbox.InboundMessage{From: customer, Text: "hi", PhoneNumberID: "42"}, "unknown phone_number_id 42"},
		{"button_reply without reply_to", sandbox.InboundMessage{From: customer, Type: "button_reply", Button: "id-1"}, "reply_to is required"},
		{"button_reply without button", sandbox.InboundMessage{From: customer, Type: "button_reply", ReplyTo: buttonsID}, "button is required"},
		{"unknown reply id", sandbox.InboundMessage{From: customer, Type: "button_reply", ReplyTo: "wamid.nope", Button: "id-1"}, "reply_to wamid.nope is not a message the sandbox sent or received"},
		{"button not offered", sandbox.InboundMessage{From: customer, Type: "button_reply", ReplyTo: buttonsID, Button: "id-9"}, `button "id-9" was not offered`},
		{"button of a list", sandbox.InboundMessage{From: customer, Type: "button_reply", ReplyTo: listID, Button: "b-0"}, "is a list message; it must be a reply-button message"},
		{"row not offered", sandbox.InboundMessage{From: customer, Type: "list_reply", ReplyTo: listID, Row: "a-0"}, `row "a-0" was not offered`},
		{"row of a text", sandbox.InboundMessage{From: customer, Type: "list_reply", ReplyTo: textID, Row: "b-0"}, "it must be a list message"},
		{"quick reply not offered", sandbox.InboundMessage{From: customer, Type: "button", ReplyTo: templateID, Button: "Maybe"}, `button "Maybe" was not offered`},
		{"the customer's own message", sandbox.InboundMessage{From: customer, Type: "button_reply", ReplyTo: first, Button: "id-1"}, "the customer's own message"},
		{"another customer's message", sandbox.InboundMessage{From: customer, Text: "hi", ReplyTo: otherID}, "belongs to another customer's conversation"},
		{"another number's conversation", sandbox.InboundMessage{From: customer, Text: "hi", ReplyTo: secondID, PhoneNumberID: sandbox.PhoneNumberID}, "belongs to the conversation with business number " + sandbox.PhoneNumberID2},
		{"never delivered", sandbox.InboundMessage{From: "+16505550002", Type: "button_reply", ReplyTo: failed, Button: "id-0"}, "was never delivered"},
		{"reaction without react_to", sandbox.InboundMessage{From: customer, Type: "reaction", Emoji: "👍"}, "react_to is required"},
		{"two emoji", sandbox.InboundMessage{From: customer, Type: "reaction", ReactTo: textID, Emoji: "👍👍"}, "emoji must be one emoji"},
		{"a letter", sandbox.InboundMessage{From: customer, Type: "reaction", ReactTo: textID, Emoji: "a"}, "emoji must be one emoji"},
		{"image without file", sandbox.InboundMessage{From: customer, Type: "image"}, "file is required for type image"},
		{"image that is a PDF", sandbox.InboundMessage{From: customer, Type: "image", File: pdfBytes, Filename: "x.pdf"}, "must be image/jpeg or image/png; this one is application/pdf"},
		{"PNG that is not", sandbox.InboundMessage{From: customer, Type: "image", File: pdfBytes, MIMEType: "image/png"}, "not valid image/png"},
		{"caption on a sticker", sandbox.InboundMessage{From: customer, Type: "sticker", File: webpBytes, Text: "x"}, "text does not apply to type sticker"},
		{"location without latitude", sandbox.InboundMessage{From: customer, Type: "location", Longitude: ptr(1)}, "latitude is required"},
		{"latitude out of range", sandbox.InboundMessage{From: customer, Type: "location", Latitude: ptr(91), Longitude: ptr(1)}, "latitude must be between -90 and 90"},
		{"contact without name", sandbox.InboundMessage{From: customer, Type: "contacts", ContactPhone: "+16505559999"}, "contact_name is required"},
		{"order without products", sandbox.InboundMessage{From: customer, Type: "order"}, "products needs at least one item"},
		{"order with a bad currency", sandbox.InboundMessage{From: customer, Type: "order", Products: []sandbox.OrderProduct{{ProductRetailerID: "a", Currency: "dollars"}}}, "currency must be an ISO 4217 code"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/sandbox/inbound", tc.in)
			msg, _ := r.errField("message").(string)
			if r.status != 400 || !strings.Contains(msg, tc.want) {
				t.Errorf("HTTP %d %q, want 400 saying %q", r.status, msg, tc.want)
			}
			if _, err := e.sb.Receive(context.Background(), tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Receive: %v", err)
			}
		})
	}
	for _, raw := range []string{`{"from":"+16505551234","txt":"hi"}`, `not json`, `{"from":"+16505551234","latitude":"north"}`} {
		if r := e.do(t, http.MethodPost, "/sandbox/inbound", raw); r.status != 400 {
			t.Errorf("%s: HTTP %d", raw, r.status)
		}
	}
	if n := len(e.sb.ReceivedMessages()); n != before {
		t.Errorf("refused messages were recorded: %d, want %d", n, before)
	}
	// Every problem is named at once.
	err = sandbox.InboundMessage{From: "x", Type: "location", Button: "b"}.Check()
	for _, want := range []string{"from must be", "button does not apply", "latitude is required", "longitude is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check: %v, want %q", err, want)
		}
	}
}

// TestReceiveWindow: a customer's message opens the window with the number it names (the
// earlier form without a number: with every one), a reaction opens none.
func TestReceiveWindow(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	statusOf := func(phoneID string) string {
		t.Helper()
		id := e.do(t, http.MethodPost, v+"/"+phoneID+"/messages", text(customer, "hello")).messageID(t)
		waitFor(t, "a status", func() bool { return len(e.rcv.statusesOf(id)) > 0 })
		return e.rcv.statusesOf(id)[0].Status
	}
	ours := e.send(t, tmpl(customer, "hello_world", "en_US")).messageID(t)
	e.receive(t, sandbox.InboundMessage{From: customer, Type: "reaction", ReactTo: ours, Emoji: "❤️"})
	if st := statusOf(sandbox.PhoneNumberID); st != "failed" {
		t.Errorf("after a reaction a free-form send is %s, want failed (131047)", st)
	}
	e.receive(t, sandbox.InboundMessage{From: customer, Type: "location", Latitude: ptr(1), Longitude: ptr(2), PhoneNumberID: sandbox.PhoneNumberID2})
	if a, b := statusOf(sandbox.PhoneNumberID), statusOf(sandbox.PhoneNumberID2); a != "failed" || b != "sent" {
		t.Errorf("after a location to the second number: %s, %s", a, b)
	}
	e.receive(t, sandbox.InboundMessage{From: customer, Text: "hi"})
	if st := statusOf(sandbox.PhoneNumberID); st != "sent" {
		t.Errorf("after a text naming no number: %s", st)
	}
}

func markRead(id string, typing any) m {
	b := m{"messaging_product": "whatsapp", "status": "read", "message_id": id}
	if typing != nil {
		b["typing_indicator"] = typing
	}
	return b
}

func TestMarkRead(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	ctx := context.Background()
	var ids []string
	for _, txt := range []string{"one", "two", "three"} {
		id, err := e.sb.Inbound(ctx, sandbox.PhoneNumberID, customer, "Zoë", txt)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	other, _ := e.sb.Inbound(ctx, sandbox.PhoneNumberID, "+16505550001", "Ana", "mine")
	ours := e.send(t, text(customer, "hi")).messageID(t)
	waitFor(t, "statuses of our message", func() bool { return len(e.rcv.statusesOf(ours)) == 3 })
	hooks := len(e.rcv.bodies())

	r := e.send(t, markRead(ids[1], m{"type": "text"}))
	if r.status != 200 || string(r.raw) != `{"success":true}` {
		t.Fatalf("mark read: %d %s", r.status, r.raw)
	}
	read := map[string]bool{}
	for _, rm := range e.sb.ReceivedMessages() {
		read[rm.ID] = rm.Read
		if rm.TypingIndicator != (rm.ID == ids[1]) {
			t.Errorf("typing indicator on %s: %v", rm.ID, rm.TypingIndicator)
		}
	}
	if !read[ids[0]] || !read[ids[1]] || read[ids[2]] || read[other] {
		t.Errorf("read marks %v: want the message and the earlier one of that customer only", read)
	}
	if r := e.send(t, markRead(ids[2], nil)); r.status != 200 {
		t.Errorf("mark read without typing indicator: %d %s", r.status, r.raw)
	}
	// No webhook: the next one delivered is the next inbound message (deliveries keep order).
	next, _ := e.sb.Inbound(ctx, sandbox.PhoneNumberID, customer, "Zoë", "four")
	if b := e.rcv.bodies(); len(b) != hooks+1 || !bytes.Contains(b[hooks], []byte(next)) {
		t.Errorf("%d webhooks after marking read, want only the next message's", len(b)-hooks)
	}

	for _, tc := range []struct {
		name string
		path string
		body m
		code int
	}{
		{"message_id missing", sandbox.PhoneNumberID, m{"messaging_product": "whatsapp", "status": "read"}, 100},
		{"messaging_product missing", sandbox.PhoneNumberID, m{"status": "read", "message_id": ids[0]}, 100},
		{"status not read", sandbox.PhoneNumberID, m{"messaging_product": "whatsapp", "status": "delivered", "message_id": ids[0]}, 100},
		{"unknown message id", sandbox.PhoneNumberID, markRead("wamid.nope", nil), 131009},
		{"our own message", sandbox.PhoneNumberID, markRead(ours, nil), 131009},
		{"received by the other number", sandbox.PhoneNumberID2, markRead(ids[0], nil), 131009},
		{"typing indicator type", sandbox.PhoneNumberID, markRead(ids[0], m{"type": "audio"}), 100},
		{"typing indicator without type", sandbox.PhoneNumberID, markRead(ids[0], m{}), 100},
		{"typing indicator not an object", sandbox.PhoneNumberID, markRead(ids[0], true), 131009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(t, http.MethodPost, v+"/"+tc.path+"/messages", tc.body), 400, tc.code, 0)
		})
	}
	if r := e.do(t, http.MethodPost, v+"/106540352242999/messages", markRead(ids[0], nil)); r.status != 400 {
		t.Errorf("unknown number: %d", r.status)
	}
}

// TestSendReaction: a reaction to a message of the conversation gets one "sent" status; one
// to anything else is accepted and then fails with 131009, one outside the window with
// 131047, and a bad emoji or a context is refused at once.
func TestSendReaction(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	theirs, _ := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID, customer, "Zoë", "hi")
	ours := e.send(t, text(customer, "hello")).messageID(t)
	otherCustomer, _ := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID, "+16505550001", "Ana", "hi")
	react := func(to, id, emoji string) m {
		b := msg("reaction", m{"message_id": id, "emoji": emoji})
		b["to"] = to
		return b
	}
	statuses := func(id string) []hookStatus {
		t.Helper()
		// Statuses are delivered in order: once a later template's three are in, the reaction's are.
		after := e.send(t, tmpl(customer, "hello_world", "en_US")).messageID(t)
		waitFor(t, "statuses", func() bool { return len(e.rcv.statusesOf(after)) == 3 })
		return e.rcv.statusesOf(id)
	}
	reaction := e.send(t, react(customer, theirs, "👍")).messageID(t)
	for _, tc := range []struct {
		name string
		id   string
		code int // of the failed status; 0: sent
	}{
		{"to their message", reaction, 0},
		{"removed", e.send(t, react(customer, theirs, "")).messageID(t), 0},
		{"to our message", e.send(t, react(customer, ours, "🎉")).messageID(t), 0},
		{"family emoji", e.send(t, react(customer, theirs, "👨‍👩‍👧")).messageID(t), 0},
		{"keycap", e.send(t, react(customer, theirs, "1️⃣")).messageID(t), 0},
		{"unknown message", e.send(t, react(customer, "wamid.nope", "👍")).messageID(t), 131009},
		{"another customer's message", e.send(t, react(customer, otherCustomer, "👍")).messageID(t), 131009},
		{"a reaction", e.send(t, react(customer, reaction, "👍")).messageID(t), 131009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts := statuses(tc.id)
			if len(sts) != 1 {
				t.Fatalf("%d statuses, want 1: %+v", len(sts), sts)
			}
			switch s := sts[0]; {
			case tc.code == 0 && (s.Status != "sent" || s.RecipientID != waID):
				t.Errorf("status %+v, want sent only", s)
			case tc.code != 0 && (s.Status != "failed" || len(s.Errors) != 1 || s.Errors[0].Code != tc.code):
				t.Errorf("status %+v, want failed %d", s, tc.code)
			}
		})
	}

	// Older than 30 days: the customer writes again, the old message is out of reach.
	e.clock.Advance(31 * 24 * time.Hour)
	outside := e.send(t, react(customer, theirs, "👍")).messageID(t)
	if sts := statuses(outside); len(sts) != 1 || sts[0].Errors[0].Code != 131047 {
		t.Errorf("reaction outside the window: %+v", sts)
	}
	if _, err := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID, customer, "Zoë", "back"); err != nil {
		t.Fatal(err)
	}
	old := e.send(t, react(customer, theirs, "👍")).messageID(t)
	if sts := statuses(old); len(sts) != 1 || sts[0].Errors[0].Code != 131009 {
		t.Errorf("reaction to a message over 30 days old: %+v", sts)
	}

	withContext := react(customer, theirs, "👍")
	withContext["context"] = m{"message_id": theirs}
	noEmoji := react(customer, theirs, "")
	delete(noEmoji["reaction"].(m), "emoji")
	for _, tc := range []struct {
		name string
		body m
		code int
	}{
		{"two emoji", react(customer, theirs, "👍👎"), 131009},
		{"a letter", react(customer, theirs, "a"), 131009},
		{"a word", react(customer, theirs, "ok"), 131009},
		{"context", withContext, 131009},
		{"emoji missing", noEmoji, 100},
		{"message_id missing", msg("reaction", m{"emoji": "👍"}), 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.send(t, tc.body), 400, tc.code, 0)
		})
	}
}

// TestReplyReachesRead: what the business answers in a conversation goes sent → delivered →
// read, each status naming the customer's wa_id and BSUID.
func TestReplyReachesRead(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	res := e.receive(t, sandbox.InboundMessage{From: customer, Text: "Is it in stock?"})
	reply := text(customer, "Yes!")
	reply["context"] = m{"message_id": res.MessageID}
	for _, body := range []m{reply, buttonMsg(buttons(2, nil), nil)} {
		id := e.send(t, body).messageID(t)
		waitFor(t, "read", func() bool { return len(e.rcv.statusesOf(id)) == 3 })
		var got []string
		for _, s := range e.rcv.statusesOf(id) {
			got = append(got, s.Status)
		}
		if !slices.Equal(got, []string{"sent", "delivered", "read"}) {
			t.Errorf("statuses %v", got)
		}
	}
	for _, raw := range e.rcv.bodies()[1:] {
		if !bytes.Contains(raw, []byte(`"recipient_id":"`+waID+`","recipient_user_id":"`+res.UserID+`"`)) {
			t.Errorf("status without the BSUID %s: %s", res.UserID, raw)
		}
	}
}

// TestReceiveInteractiveAnswers: a customer answers a location request with a location, a
// Flow and an address message with an nfm_reply in Meta's shape (docs/cloud-api.md#flow-messages,
// #address-messages), and the choices of WHATSAPP_SEND_CHOICES in either form; an answer
// that does not fit the message it names is refused.
func TestReceiveInteractiveAnswers(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	for _, from := range []string{customer, indian} {
		if _, err := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID, from, "Ann", "hi"); err != nil {
			t.Fatal(err)
		}
	}
	askID := e.send(t, locReqMsg(nil)).messageID(t)
	flowID := e.send(t, flowMsg(flowParams(m{"flow_token": "booking-42"}))).messageID(t)
	untokened := e.send(t, flowMsg(flowParams(nil))).messageID(t)
	ctaID := e.send(t, ctaMsg(ctaParams(), nil)).messageID(t)
	addrID := e.send(t, addressMsg(indian, m{"country": "IN", "saved_addresses": []any{m{"id": "address1", "value": m{"city": "Mumbai"}}}})).messageID(t)
	// WHATSAPP_SEND_CHOICES: up to three short options as reply buttons, else a one-section list.
	choiceButtons := e.send(t, msg("interactive", m{"type": "button", "body": m{"text": "Coming?"}, "action": m{"buttons": []any{
		m{"type": "reply", "reply": m{"id": "yes", "title": "Yes"}}, m{"type": "reply", "reply": m{"id": "no", "title": "No"}}}}})).messageID(t)
	choiceList := e.send(t, listMsg([]any{m{"title": "Options", "rows": []any{m{"id": "mon", "title": "Monday", "description": "9am"}}}}, m{"action": m{"button": "Choose",
		"sections": []any{m{"title": "Options", "rows": []any{m{"id": "mon", "title": "Monday", "description": "9am"}}}}}})).messageID(t)

	nfm := func(name, body, response string) m {
		return m{"type": "nfm_reply", "nfm_reply": m{"name": name, "body": body, "response_json": response}}
	}
	ok := []struct {
		name    string
		in      sandbox.InboundMessage
		typ     string
		object  any
		context string
	}{
		{"location for a location request", sandbox.InboundMessage{From: customer, Type: "location", ReplyTo: askID, Latitude: ptr(40.782910059774), Longitude: ptr(-73.959075808525),
			LocationName: "Solomon R. Guggenheim Museum", Address: "1071 5th Ave, New York, NY 10128"}, "location",
			m{"latitude": 40.782910059774, "longitude": -73.959075808525, "name": "Solomon R. Guggenheim Museum", "address": "1071 5th Ave, New York, NY 10128"}, askID},
		{"completed Flow", sandbox.InboundMessage{From: customer, Type: "nfm_reply", ReplyTo: flowID, Response: json.RawMessage(`{"date":"2026-07-01","guests":2}`)}, "interactive",
			nfm("flow", "Sent", `{"date":"2026-07-01","flow_token":"booking-42","guests":2}`), flowID},
		{"Flow sent without a token", sandbox.InboundMessage{From: customer, Type: "nfm_reply", ReplyTo: untokened, Response: json.RawMessage(`{"ok":true}`)}, "interactive",
			nfm("flow", "Sent", `{"flow_token":"unused","ok":true}`), untokened},
		{"address", sandbox.InboundMessage{From: indian, Type: "nfm_reply", ReplyTo: addrID, Response: json.RawMessage(`{"values":{"name":"Anjali","city":"Mumbai","in_pin_code":"400063"}}`)}, "interactive",
			nfm("address_message", "Anjali, 400063, Mumbai", `{"values":{"city":"Mumbai","in_pin_code":"400063","name":"Anjali"}}`), addrID},
		{"saved address", sandbox.InboundMessage{From: indian, Type: "nfm_reply", ReplyTo: addrID, Response: json.RawMessage(`{"saved_address_id":"address1","values":{"city":"Mumbai"}}`)}, "interactive",
			nfm("address_message", "Mumbai", `{"saved_address_id":"address1","values":{"city":"Mumbai"}}`), addrID},
		{"choice as a button", sandbox.InboundMessage{From: customer, Type: "button_reply", ReplyTo: choiceButtons, Button: "no"}, "interactive",
			m{"type": "button_reply", "button_reply": m{"id": "no", "title": "No"}}, choiceButtons},
		{"choice from a list", sandbox.InboundMessage{From: customer, Type: "list_reply", ReplyTo: choiceList, Row: "mon"}, "interactive",
			m{"type": "list_reply", "list_reply": m{"id": "mon", "title": "Monday", "description": "9am"}}, choiceList},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			res := e.receive(t, tc.in)
			h := e.inboundOf(t, res.MessageID)
			if res.Type != tc.typ {
				t.Errorf("type %s, want %s", res.Type, tc.typ)
			}
			if got, w := any(h.msg[tc.typ]), jsonOf(t, tc.object); !reflect.DeepEqual(got, w) {
				t.Errorf("%s\n got %v\nwant %v", tc.typ, got, w)
			}
			if got, w := h.msg["context"], jsonOf(t, m{"from": business, "id": tc.context}); !reflect.DeepEqual(got, w) {
				t.Errorf("context %v, want %v", got, w)
			}
		})
	}

	before := len(e.sb.ReceivedMessages())
	bad := []struct {
		name string
		in   sandbox.InboundMessage
		want string
	}{
		{"nfm_reply without reply_to", sandbox.InboundMessage{From: customer, Type: "nfm_reply", Response: json.RawMessage(`{"a":1}`)}, "reply_to is required for type nfm_reply"},
		{"nfm_reply without response", sandbox.InboundMessage{From: customer, Type: "nfm_reply", ReplyTo: flowID}, "response_json is required"},
		{"nfm_reply with an array", sandbox.InboundMessage{From: customer, Type: "nfm_reply", ReplyTo: flowID, Response: json.RawMessage(`[1]`)}, "response_json must be a JSON object"},
		{"response_json on a text", sandbox.InboundMessage{From: customer, Text: "hi", Response: json.RawMessage(`{}`)}, "response_json does not apply to type text"},
		{"nfm_reply to a link button", sandbox.InboundMessage{From: customer, Type: "nfm_reply", ReplyTo: ctaID, Response: json.RawMessage(`{"a":1}`)}, "it must be a Flow or address message we sent"},
		{"nfm_reply to a location request", sandbox.InboundMessage{From: customer, Type: "nfm_reply", ReplyTo: askID, Response: json.RawMessage(`{"a":1}`)}, "it must be a Flow or address message"},
		{"nfm_reply to the customer's own message", sandbox.InboundMessage{From: customer, Type: "nfm_reply", ReplyTo: e.sb.ReceivedMessages()[0].ID,
			Response: json.RawMessage(`{"a":1}`)}, "the customer's own message"},
		{"Flow answer setting the token", sandbox.InboundMessage{From: customer, Type: "nfm_reply", ReplyTo: flowID, Response: json.RawMessage(`{"flow_token":"x"}`)}, "must not set flow_token"},
		{"address without values", sandbox.InboundMessage{From: indian, Type: "nfm_reply", ReplyTo: addrID, Response: json.RawMessage(`{"city":"Mumbai"}`)}, "not \"city\""},
		{"address with an unknown field", sandbox.InboundMessage{From: indian, Type: "nfm_reply", ReplyTo: addrID, Response: json.RawMessage(`{"values":{"zip":"1"}}`)}, "address fields only"},
		{"address not offered", sandbox.InboundMessage{From: indian, Type: "nfm_reply", ReplyTo: addrID, Response: json.RawMessage(`{"saved_address_id":"home","values":{"city":"Pune"}}`)}, "is not a saved address"},
		{"button of a Flow", sandbox.InboundMessage{From: customer, Type: "button_reply", ReplyTo: flowID, Button: "x"}, "it must be a reply-button message"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/sandbox/inbound", tc.in)
			if msg, _ := r.errField("message").(string); r.status != 400 || !strings.Contains(msg, tc.want) {
				t.Errorf("HTTP %d %q, want 400 saying %q", r.status, msg, tc.want)
			}
		})
	}
	if n := len(e.sb.ReceivedMessages()); n != before {
		t.Errorf("refused answers were recorded: %d, want %d", n, before)
	}
	if help := e.get(t, "/sandbox"); !strings.Contains(string(help.raw), `"nfm_reply":"response_json"`) {
		t.Errorf("GET /sandbox does not list nfm_reply: %s", help.raw)
	}
}
