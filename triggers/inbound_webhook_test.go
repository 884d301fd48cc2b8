package triggers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// Helpers of this file are prefixed fx (fixtures): the payloads of
// testdata/inbound, one per message type and webhook field Meta documents,
// written as Meta writes them (see testdata/README.md).

const (
	fxCustomer = "16505551234"
	fxBSUID    = "US.13491208655302741918"
	fxProfile  = "Zoë Brontë"
	fxOurs     = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA" // the message of ours replies quote
)

// fxWamid is the id of the n-th fixture's message; its timestamp is fxTS(n).
func fxWamid(n int) string {
	return fmt.Sprintf("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUIx%dMDAwMDAwMDAwMDAwMDAA", n)
}

func fxTS(n int) int64 { return 1750030100 + int64(n) }

// fxRead returns a fixture of testdata/inbound and its openssl signature.
func fxRead(t testing.TB, name string) (body []byte, sig string) {
	t.Helper()
	return whFixture(t, filepath.Join("inbound", name))
}

type fxInbound struct {
	n                                  int // fxWamid(n), fxTS(n)
	typ                                string
	waID, userID, profile, text, ctxID string
	// view is the normalised message without its id, direction, type and
	// time (the test adds them); rawWhole: view.Raw is Meta's element.
	view     conversations.MessageView
	rawWhole bool
}

type fxOutbound struct {
	id, to, waID, userID, typ, text string
	ts                              int64
	view                            conversations.MessageView
}

type fxChange struct{ field, subject string }

type fxCase struct {
	name    string
	in      *fxInbound
	out     []fxOutbound
	changes []fxChange
}

// fxCases expects of each fixture what it must be stored as, and every
// normalised field of its message.
var fxCases = []fxCase{
	{name: "text", in: &fxInbound{n: 1, typ: "text", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Is the café open on 12/24? Menu: https://example.com/menu",
		view: conversations.MessageView{Text: "Is the café open on 12/24? Menu: https://example.com/menu"}}},
	{name: "reply", in: &fxInbound{n: 2, typ: "text", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Yes, the blue one please", ctxID: fxOurs,
		view: conversations.MessageView{Text: "Yes, the blue one please", ReplyTo: fxOurs}}},
	{name: "forwarded", in: &fxInbound{n: 3, typ: "text", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Look at this deal",
		view: conversations.MessageView{Text: "Look at this deal", Forwarded: true, FrequentlyForwarded: true}}},
	{name: "referred_product", in: &fxInbound{n: 4, typ: "text", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Is this still in stock?", ctxID: fxOurs,
		view: conversations.MessageView{Text: "Is this still in stock?", ReplyTo: fxOurs,
			ReferredProduct: &conversations.ReferredProduct{CatalogID: "2940873072870543", ProductRetailerID: "SKU-aloe-12"}}}},
	{name: "referral", in: &fxInbound{n: 5, typ: "text", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Hi, I saw your ad",
		view: conversations.MessageView{Text: "Hi, I saw your ad", Referral: json.RawMessage(`{"source_url":"https://fb.me/3cr4Wqqkk","source_id":"6341234567890","source_type":"ad",` +
			`"headline":"Succulents 20% off","body":"Only this week","media_type":"image","image_url":"https://scontent.xx.fbcdn.net/v/t45.1600-4/aloe.png",` +
			`"ctwa_clid":"ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a"}`)}}},
	{name: "bsuid_only", in: &fxInbound{n: 6, typ: "text", userID: fxBSUID, profile: "Sheena Nelson",
		text: "Does it come in another color?", view: conversations.MessageView{Text: "Does it come in another color?"}}},
	{name: "group", in: &fxInbound{n: 7, typ: "text", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Who is bringing the cake?", view: conversations.MessageView{Text: "Who is bringing the cake?", GroupID: "120363025246123456@g.us"}}},
	{name: "image", in: &fxInbound{n: 8, typ: "image", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "My order arrived broken",
		view: conversations.MessageView{Text: "My order arrived broken", Media: &conversations.Media{ID: "1003383421387256", MimeType: "image/jpeg", SHA256: "0vPNSR5Hq/cBmvy+5KaFJGq/yS9yqsW3qfQHjqUWH1A="}}}},
	{name: "video", in: &fxInbound{n: 9, typ: "video", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Unboxing",
		view: conversations.MessageView{Text: "Unboxing", Media: &conversations.Media{ID: "1254387569874123", MimeType: "video/mp4", SHA256: "4Kb3kD+Zq7mQ0hF0p1zYtRkqv/2wH4b3m2J9Yw9xL1c="}}}},
	{name: "document", in: &fxInbound{n: 10, typ: "document", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Receipt for the refund receipt-0042.pdf",
		view: conversations.MessageView{Text: "Receipt for the refund", Media: &conversations.Media{ID: "2217658712345678", MimeType: "application/pdf",
			SHA256: "Ox3x8kJ1tP0QnW+v0/9nYjVh3bQz3mYy0nJz0q7dQ2E=", Filename: "receipt-0042.pdf"}}}},
	{name: "audio", in: &fxInbound{n: 11, typ: "audio", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		view: conversations.MessageView{Media: &conversations.Media{ID: "1508891234567890", MimeType: "audio/mpeg", SHA256: "a1Zb8n0qK4x9mF/Jc8Q3e7pD2w5sR1tU6vY0zXh9oBk="}}}},
	{name: "voice", in: &fxInbound{n: 12, typ: "audio", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		view: conversations.MessageView{Media: &conversations.Media{ID: "1873456789012345", MimeType: "audio/ogg; codecs=opus", SHA256: "y7Hq2w9cXo8p0s/3bN6vJ5rT1mK4dF0gE2aZlQ8iU9c=", Voice: true}}}},
	{name: "sticker", in: &fxInbound{n: 13, typ: "sticker", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		view: conversations.MessageView{Media: &conversations.Media{ID: "1392384738291047", MimeType: "image/webp", SHA256: "Kq8v2Xo9w3bN6c/0p1s5rT7mJ4dF2gE8aZlQ0iU9yHc="}}}},
	{name: "sticker_animated", in: &fxInbound{n: 14, typ: "sticker", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		view: conversations.MessageView{Media: &conversations.Media{ID: "1392384738291048", MimeType: "image/webp", SHA256: "Zb1n8q0K4x9mFJc8/Q3e7pD2w5sR1tU6vY0zXh9oBka=", Animated: true}}}},
	{name: "location", in: &fxInbound{n: 15, typ: "location", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Meta Headquarters 1 Hacker Way, Menlo Park, CA 94025",
		view: conversations.MessageView{Location: &conversations.Location{Latitude: 37.483307, Longitude: -122.148981, Name: "Meta Headquarters",
			Address: "1 Hacker Way, Menlo Park, CA 94025", URL: "https://www.facebook.com/meta"}}}},
	{name: "contacts", in: &fxInbound{n: 16, typ: "contacts", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Barbara J. Johnson José Martínez",
		view: conversations.MessageView{Contacts: json.RawMessage(`[{"addresses":[{"city":"Menlo Park","country":"United States","country_code":"us","state":"CA","street":"1 Hacker Way","type":"WORK","zip":"94025"}],` +
			`"birthday":"2012-08-18","emails":[{"email":"bjohnson@example.com","type":"WORK"}],"name":{"first_name":"Barbara","formatted_name":"Barbara J. Johnson","last_name":"Johnson"},` +
			`"org":{"company":"Example Inc","department":"Sales","title":"Manager"},"phones":[{"phone":"+1 (940) 555-1234","type":"HOME"},{"phone":"+1 (650) 555-1234","type":"WORK","wa_id":"16505551234"}],` +
			`"urls":[{"url":"https://www.example.com","type":"WORK"}]},{"name":{"first_name":"José","formatted_name":"José Martínez"},"phones":[{"phone":"+34 612 34 56 78","wa_id":"34612345678","type":"CELL"}]}]`)}}},
	{name: "button_reply", in: &fxInbound{n: 17, typ: "interactive", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Reschedule", ctxID: fxOurs,
		view: conversations.MessageView{ReplyTo: fxOurs, Reply: &conversations.Reply{Kind: "button_reply", ID: "reschedule", Title: "Reschedule"}}}},
	{name: "list_reply", in: &fxInbound{n: 18, typ: "interactive", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Express Next day", ctxID: fxOurs,
		view: conversations.MessageView{ReplyTo: fxOurs, Reply: &conversations.Reply{Kind: "list_reply", ID: "express", Title: "Express", Description: "Next day"}}}},
	{name: "nfm_reply", in: &fxInbound{n: 19, typ: "interactive", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Sent", ctxID: fxOurs,
		view: conversations.MessageView{ReplyTo: fxOurs, Reply: &conversations.Reply{Kind: "nfm_reply", Title: "flow", Description: "Sent",
			Response: json.RawMessage(`{"flow_token":"booking-42","date":"2025-07-01","guests":"2"}`)}}}},
	{name: "interactive_unknown", in: &fxInbound{n: 20, typ: "interactive", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		ctxID: fxOurs, view: conversations.MessageView{ReplyTo: fxOurs}, rawWhole: true}},
	{name: "button", in: &fxInbound{n: 21, typ: "button", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Stop promotions", ctxID: fxOurs,
		view: conversations.MessageView{ReplyTo: fxOurs, Reply: &conversations.Reply{Kind: "button", ID: "STOP_PROMOTIONS", Title: "Stop promotions"}}}},
	{name: "reaction", in: &fxInbound{n: 22, typ: "reaction", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "👍", ctxID: fxOurs, view: conversations.MessageView{Reaction: &conversations.Reaction{MessageID: fxOurs, Emoji: "👍"}}}},
	{name: "reaction_removed", in: &fxInbound{n: 23, typ: "reaction", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		ctxID: fxOurs, view: conversations.MessageView{Reaction: &conversations.Reaction{MessageID: fxOurs, Removed: true}}}},
	{name: "order", in: &fxInbound{n: 24, typ: "order", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Please deliver before noon",
		view: conversations.MessageView{Order: json.RawMessage(`{"catalog_id":"2940873072870543","text":"Please deliver before noon","product_items":[` +
			`{"product_retailer_id":"SKU-aloe-12","quantity":2,"item_price":12.5,"currency":"USD"},{"product_retailer_id":"SKU-pot-3","quantity":1,"item_price":7,"currency":"USD"}]}`)}}},
	{name: "system", in: &fxInbound{n: 25, typ: "system", waID: fxCustomer,
		text: "Zoë changed their phone number to a new number 16505559999",
		view: conversations.MessageView{Text: "Zoë changed their phone number to a new number 16505559999",
			System: &conversations.System{Kind: "customer_changed_number", NewWaID: "16505559999"}}}},
	{name: "revoke", in: &fxInbound{n: 26, typ: "revoke", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		ctxID: fxWamid(1), view: conversations.MessageView{OriginalMessageID: fxWamid(1)}}},
	{name: "edit", in: &fxInbound{n: 27, typ: "edit", waID: fxCustomer, userID: fxBSUID, profile: fxProfile,
		text: "Is the café open on 12/25?", ctxID: fxWamid(1),
		view: conversations.MessageView{OriginalMessageID: fxWamid(1), Text: "Is the café open on 12/25?"}}},
	{name: "request_welcome", in: &fxInbound{n: 28, typ: "request_welcome", waID: fxCustomer, userID: fxBSUID, profile: fxProfile}},
	{name: "unsupported", in: &fxInbound{n: 29, typ: "unsupported", waID: fxCustomer, userID: fxBSUID, profile: fxProfile, rawWhole: true}},
	{name: "unknown", in: &fxInbound{n: 30, typ: "hologram", waID: fxCustomer, userID: fxBSUID, profile: fxProfile, rawWhole: true}},

	{name: "smb_message_echoes", out: []fxOutbound{
		{id: "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIyNDlBOEI5QUQ4NDc0N0FCNjMA", to: fxCustomer, waID: fxCustomer, userID: fxBSUID, typ: "text", ts: 1750030200,
			text: "Here's the info you requested! https://www.meta.com/quest/quest-3/",
			view: conversations.MessageView{Text: "Here's the info you requested! https://www.meta.com/quest/quest-3/"}},
		{id: "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIyNDlBOEI5QUQ4NDc0N0FCNjQA", to: "+1 650-555-1234", waID: fxCustomer, userID: fxBSUID, typ: "image", ts: 1750030201,
			text: "The blue one",
			view: conversations.MessageView{Text: "The blue one", Media: &conversations.Media{ID: "1188776655443322", MimeType: "image/jpeg", SHA256: "Pq2w9cXo8p0s/3bN6vJ5rT1mK4dF0gE2aZlQ8iU9cy7="}}},
	}},
	{name: "message_template_status_update", changes: []fxChange{{"message_template_status_update", "1234567890123456"}}},
	{name: "account_update", changes: []fxChange{{"account_update", ""}}},
	{name: "messages_errors", changes: []fxChange{{"messages", whPhone}}},
	{name: "unknown_field", changes: []fxChange{{"some_future_field", ""}}},
	{name: "value_not_object", changes: []fxChange{{"partner_solutions", ""}, {"messages", ""}}},
}

// fxParts returns the changes[] values of a fixture, in order, and
// the elements of its messages[] and message_echoes[].
func fxParts(t testing.TB, body []byte) (values []json.RawMessage, elements []json.RawMessage) {
	t.Helper()
	var env struct {
		Entry []struct {
			Changes []struct {
				Value json.RawMessage `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	for _, e := range env.Entry {
		for _, c := range e.Changes {
			values = append(values, c.Value)
			var v struct {
				Messages []json.RawMessage `json:"messages"`
				Echoes   []json.RawMessage `json:"message_echoes"`
			}
			_ = json.Unmarshal(c.Value, &v)
			elements = append(elements, v.Messages...)
			elements = append(elements, v.Echoes...)
		}
	}
	return values, elements
}

// fxKey is a change's key computed apart from the parser: the digest of
// the entry id, the field and the value's bytes, each closed by a 0 byte.
func fxKey(field string, value []byte) string {
	h := sha256.New()
	h.Write([]byte(whWABA + "\x00" + field + "\x00"))
	h.Write(value)
	h.Write([]byte{0})
	return hex.EncodeToString(h.Sum(nil))
}

// fxWantView builds the expected view of a fixture's message.
func (in *fxInbound) wantView(t testing.TB, element json.RawMessage) conversations.MessageView {
	v := in.view
	v.MessageID, v.Direction, v.Type = fxWamid(in.n), store.DirectionIn, in.typ
	v.Time = time.Unix(fxTS(in.n), 0).UTC().Format(time.RFC3339)
	if in.rawWhole {
		v.Raw = element
	}
	return v
}

func (o *fxOutbound) wantView() conversations.MessageView {
	v := o.view
	v.MessageID, v.Direction, v.Type = o.id, store.DirectionOut, o.typ
	v.Time = time.Unix(o.ts, 0).UTC().Format(time.RFC3339)
	return v
}

// fxSameView compares views as a client reads them: raw fields by their
// JSON value (Meta escapes "/" and non-ASCII; the bytes differ).
func fxSameView(t testing.TB, what string, got, want conversations.MessageView) {
	t.Helper()
	canon := func(v conversations.MessageView) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var x any
		if err := json.Unmarshal(b, &x); err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(x)
		return string(b)
	}
	if g, w := canon(got), canon(want); g != w {
		t.Errorf("%s: view\n got %s\nwant %s", what, g, w)
	}
}

// The parser reads every fixture into what the store keeps: inbound
// messages with their customer and searchable text, echoes as outbound,
// every other change whole; and the normaliser views each message.
func TestParseInboundFixtures(t *testing.T) {
	for _, tc := range fxCases {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := fxRead(t, tc.name)
			b, err := triggers.ParsePayload(body)
			if err != nil {
				t.Fatal(err)
			}
			values, elements := fxParts(t, body)
			if len(b.Statuses) != 0 {
				t.Errorf("%d statuses", len(b.Statuses))
			}

			var wantIn []string
			if tc.in != nil {
				wantIn = []string{fxWamid(tc.in.n)}
			}
			if got := inboundIDs(b.Inbound); !slices.Equal(got, wantIn) {
				t.Fatalf("inbound %v, want %v", got, wantIn)
			}
			if in := tc.in; in != nil {
				m := b.Inbound[0]
				got := [...]string{m.PhoneNumberID, m.From, m.UserID, m.ProfileName, m.Type, m.Text, m.ContextID}
				want := [...]string{whPhone, in.waID, in.userID, in.profile, in.typ, in.text, in.ctxID}
				if got != want {
					t.Errorf("inbound (phone, from, user_id, profile, type, text, context):\n got %q\nwant %q", got, want)
				}
				if m.Timestamp != fxTS(in.n) || !bytes.Equal(m.Raw, elements[0]) || m.ReceivedAt.IsZero() {
					t.Errorf("inbound timestamp %d, received %v, raw %s", m.Timestamp, m.ReceivedAt, m.Raw)
				}
				v := conversations.View(store.Message{MessageID: m.MessageID, Direction: store.DirectionIn, Type: m.Type, Timestamp: m.Timestamp, Raw: m.Raw})
				fxSameView(t, tc.name, v, in.wantView(t, elements[0]))
			}

			if len(b.Outbound) != len(tc.out) {
				t.Fatalf("%d outbound, want %d", len(b.Outbound), len(tc.out))
			}
			for i, o := range tc.out {
				m := b.Outbound[i]
				got := [...]string{m.PhoneNumberID, m.MessageID, m.To, m.UserID, m.Type, m.Text, m.ContextID, m.Source}
				want := [...]string{whPhone, o.id, o.to, o.userID, o.typ, o.text, "", store.SourceApp}
				if got != want || m.Timestamp != o.ts || !bytes.Equal(m.Raw, elements[i]) {
					t.Errorf("outbound %d:\n got %q %d\nwant %q %d", i, got, m.Timestamp, want, o.ts)
				}
				v := conversations.View(store.Message{MessageID: m.MessageID, Direction: store.DirectionOut, Type: m.Type, Timestamp: m.Timestamp, Raw: m.Raw})
				fxSameView(t, fmt.Sprintf("echo %d", i), v, o.wantView())
			}

			if len(b.Changes) != len(tc.changes) {
				t.Fatalf("%d changes, want %d: %+v", len(b.Changes), len(tc.changes), b.Changes)
			}
			for i, c := range tc.changes {
				g := b.Changes[i]
				if g.WABAID != whWABA || g.Field != c.field || g.Subject != c.subject || !bytes.Equal(g.Raw, values[i]) || g.Key != fxKey(c.field, values[i]) {
					t.Errorf("change %d: %+v\nwant field %s subject %q, raw %s, key %s", i, g, c.field, c.subject, values[i], fxKey(c.field, values[i]))
				}
			}
		})
	}
}

// Every fixture of testdata/inbound has its case, and every message type
// Meta documents has a fixture.
func TestInboundFixturesCoverEveryType(t *testing.T) {
	names := map[string]bool{}
	types := map[string]bool{}
	for _, tc := range fxCases {
		names[tc.name] = true
		if tc.in != nil {
			types[tc.in.typ] = true
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "inbound", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !names[name] {
			t.Errorf("fixture %s has no case", name)
		}
	}
	if len(files) != len(fxCases) {
		t.Errorf("%d fixtures, %d cases", len(files), len(fxCases))
	}
	for _, typ := range conversations.InboundTypes {
		if !types[typ] {
			t.Errorf("no fixture of type %s", typ)
		}
	}
}

func inboundIDs(ms []store.InboundMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.MessageID)
	}
	return out
}

// fxEngines opens a fresh store of each engine: SQLite always, PostgreSQL
// when WHATSAPP_TEST_POSTGRES_DSN is set.
func fxEngines(t *testing.T, run func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("sqlite", func(t *testing.T) { run(t, func(t *testing.T) store.Store { return whOpenStore(t) }) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(storetest.PostgresEnv) == "" {
			t.Skip("set " + storetest.PostgresEnv)
		}
		run(t, func(t *testing.T) store.Store { return ttOpenAt(t, storetest.PostgresDSN(t)) })
	})
}

// headerHook runs a check at the moment the handler commits to a status.
type headerHook struct {
	http.ResponseWriter
	once     sync.Once
	onHeader func(code int)
}

func (h *headerHook) WriteHeader(code int) {
	h.once.Do(func() { h.onHeader(code) })
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerHook) Write(b []byte) (int, error) {
	h.once.Do(func() { h.onHeader(http.StatusOK) })
	return h.ResponseWriter.Write(b)
}

// fxStored reads back what a store holds of one fixture case.
type fxStored struct {
	inbound  []store.Message
	outbound []store.Message
	changes  []store.Change
}

func fxReadBack(t testing.TB, st store.Store) (fxStored, error) {
	ctx := context.Background()
	var s fxStored
	var err error
	if s.inbound, _, err = st.Inbound(ctx, store.InboundQuery{PhoneNumberID: whPhone, Limit: 1000}); err != nil {
		return s, err
	}
	for _, c := range []string{fxCustomer, fxBSUID} {
		ms, err := st.Messages(ctx, store.HistoryQuery{PhoneNumberID: whPhone, Customer: c, Limit: 1000})
		if err != nil {
			return s, err
		}
		for _, m := range ms {
			if m.Direction == store.DirectionOut && !slices.ContainsFunc(s.outbound, func(o store.Message) bool { return o.MessageID == m.MessageID }) {
				s.outbound = append(s.outbound, m)
			}
		}
	}
	sort.Slice(s.outbound, func(i, j int) bool { return s.outbound[i].Seq < s.outbound[j].Seq })
	s.changes, err = st.Changes(ctx, store.ChangeQuery{Limit: 1000})
	return s, err
}

// Each signed fixture, posted to the webhook over HTTP, is answered 200
// only once it is stored, and reads back with every field: inbound
// messages through the inbound query, echoes as outbound history, other
// changes through Changes and LatestChange.
func TestWebhookStoresEveryInboundFixture(t *testing.T) {
	fxEngines(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		for _, tc := range fxCases {
			t.Run(tc.name, func(t *testing.T) {
				env := whNew(t, open(t), nil)
				body, sig := fxRead(t, tc.name)
				values, elements := fxParts(t, body)

				var atHeader fxStored
				var readErr error
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					env.h.ServeHTTP(&headerHook{ResponseWriter: w, onHeader: func(int) { atHeader, readErr = fxReadBack(t, env.st) }}, r)
				}))
				defer srv.Close()
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(body))
				req.Header.Set("X-Hub-Signature-256", sig)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("POST: %d", resp.StatusCode)
				}
				if readErr != nil {
					t.Fatal(readErr)
				}
				got := atHeader // what was readable when the 200 was written

				var wantIn []string
				if tc.in != nil {
					wantIn = []string{fxWamid(tc.in.n)}
				}
				var gotIn []string
				for _, m := range got.inbound {
					gotIn = append(gotIn, m.MessageID)
				}
				if !slices.Equal(gotIn, wantIn) {
					t.Fatalf("stored inbound %v when 200 was written, want %v", gotIn, wantIn)
				}
				if in := tc.in; in != nil {
					m := got.inbound[0]
					customer := in.waID
					if customer == "" {
						customer = in.userID
					}
					g := [...]string{m.PhoneNumberID, m.Direction, m.Customer, m.WaID, m.UserID, m.ProfileName, m.Type, m.Text, m.ContextID, m.Source}
					w := [...]string{whPhone, store.DirectionIn, customer, in.waID, in.userID, in.profile, in.typ, in.text, in.ctxID, ""}
					if g != w || m.Timestamp != fxTS(in.n) || !bytes.Equal(m.Raw, elements[0]) {
						t.Errorf("stored (phone, direction, customer, wa_id, user_id, profile, type, text, context, source):\n got %q %d\nwant %q %d", g, m.Timestamp, w, fxTS(in.n))
					}
					fxSameView(t, tc.name, conversations.View(m), in.wantView(t, elements[0]))
				}

				if len(got.outbound) != len(tc.out) {
					t.Fatalf("stored %d outbound, want %d", len(got.outbound), len(tc.out))
				}
				for i, o := range tc.out {
					m := got.outbound[i]
					g := [...]string{m.MessageID, m.WaID, m.UserID, m.Type, m.Text, m.Source}
					w := [...]string{o.id, o.waID, o.userID, o.typ, o.text, store.SourceApp}
					if g != w || !bytes.Equal(m.Raw, elements[i]) {
						t.Errorf("stored outbound %d:\n got %q\nwant %q", i, g, w)
					}
					fxSameView(t, fmt.Sprintf("echo %d", i), conversations.View(m), o.wantView())
				}

				if len(got.changes) != len(tc.changes) {
					t.Fatalf("stored %d changes, want %d", len(got.changes), len(tc.changes))
				}
				for i, c := range tc.changes {
					g := got.changes[i]
					if g.Field != c.field || g.Subject != c.subject || g.WABAID != whWABA || !bytes.Equal(g.Raw, values[i]) || g.Key != fxKey(c.field, values[i]) || g.Seq == 0 {
						t.Errorf("stored change %d: %+v, want %s/%q", i, g, c.field, c.subject)
					}
					latest, ok, err := env.st.LatestChange(context.Background(), c.field, c.subject)
					if err != nil || !ok || latest.Key != g.Key {
						t.Errorf("LatestChange(%s, %q) = %+v, %v, %v", c.field, c.subject, latest, ok, err)
					}
				}
			})
		}
	})
}

// Meta's redelivery of a whole body stores nothing twice, whatever it
// carries.
func TestWebhookRedeliveryStoredOnce(t *testing.T) {
	fxEngines(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		for _, name := range []string{"text", "smb_message_echoes", "message_template_status_update", "value_not_object"} {
			t.Run(name, func(t *testing.T) {
				var deliveries []triggers.Delivery
				var mu sync.Mutex
				env := whNew(t, open(t), func(c *triggers.WebhookConfig) {
					c.OnDelivery = func(d triggers.Delivery) { mu.Lock(); deliveries = append(deliveries, d); mu.Unlock() }
				})
				env.postFixture(t, filepath.Join("inbound", name), 200)
				first, err := fxReadBack(t, env.st)
				if err != nil {
					t.Fatal(err)
				}
				env.postFixture(t, filepath.Join("inbound", name), 200)
				again, err := fxReadBack(t, env.st)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(first.inbound) + len(first.outbound) + len(first.changes); n == 0 {
					t.Fatal("nothing stored")
				}
				if !reflect.DeepEqual(first, again) {
					t.Errorf("the redelivery changed the store:\nfirst %+v\nagain %+v", first, again)
				}
				if name == "text" && (len(deliveries) != 2 || deliveries[0].Outcome != triggers.DeliveryAccepted || deliveries[1].Outcome != triggers.DeliveryDuplicate) {
					t.Errorf("deliveries %+v; want accepted, then duplicate", deliveries)
				}
			})
		}
	})
}
