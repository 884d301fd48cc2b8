package conversations_test

import (
	"cmp"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// The customers of the fixture.
const (
	alice  = "16505551234"             // both directions, statuses, a reaction
	bob    = "447700900123"            // wrote 24h01 ago: window closed
	carol  = "5511987654321"           // wrote 23h59 ago: window open
	bsuid  = "US.13491208655302741918" // only a BSUID, no wa_id
	mexico = "5215512345678"           // a wa_id the phone policy calls too long

	aliceBSUID = "US.10000000000000000001" // Alice's BSUID, sent with her second message
)

// seed stores the fixture, in arrival order: Bob, Carol, the Mexican
// customer, Alice, the BSUID-only customer; and Alice on another number.
func seed(t *testing.T, st store.Store) {
	t.Helper()
	save(t, st, store.Batch{Inbound: []store.InboundMessage{inText(phone, "wamid.b1", bob, "Bob", ago(24*time.Hour+time.Minute), "Hello? Anyone there?")}})
	save(t, st, store.Batch{Inbound: []store.InboundMessage{inText(phone, "wamid.c1", carol, "Carol", ago(23*time.Hour+59*time.Minute), "Olá, quero um reembolso")}})
	save(t, st, store.Batch{Inbound: []store.InboundMessage{inText(phone, "wamid.m1", mexico, "Memo", ago(20*time.Hour), "Hola")}})
	save(t, st, store.Batch{Inbound: []store.InboundMessage{inText(phone, "wamid.a1", alice, "Alice", ago(30*time.Hour), "Hi, is my order 1234 shipped?")}})
	save(t, st, store.Batch{Outbound: []store.OutboundMessage{outText(phone, "wamid.o1", alice, ago(29*time.Hour), "Yes, it shipped yesterday.")}})
	// Out of order, as Meta delivers them: read before delivered.
	save(t, st, store.Batch{Statuses: []store.StatusEvent{
		status(phone, "wamid.o1", "sent", alice, ago(29*time.Hour), ""),
		status(phone, "wamid.o1", "read", alice, ago(28*time.Hour), ""),
		status(phone, "wamid.o1", "delivered", alice, ago(29*time.Hour-time.Minute), ""),
	}})
	a2 := inText(phone, "wamid.a2", alice, "Alice", ago(2*time.Hour), "Great, thanks! Can I get a refund for the blue mug?")
	a2.UserID = aliceBSUID
	a2.Raw = json.RawMessage(strings.Replace(string(a2.Raw), `{"from":`, `{"from_user_id":"`+aliceBSUID+`","from":`, 1))
	save(t, st, store.Batch{Inbound: []store.InboundMessage{a2}})
	save(t, st, store.Batch{Outbound: []store.OutboundMessage{outText(phone, "wamid.o2", alice, ago(time.Hour), "Sure, your refund is issued.")},
		Statuses: []store.StatusEvent{status(phone, "wamid.o2", "sent", alice, ago(time.Hour), "")}})
	save(t, st, store.Batch{Statuses: []store.StatusEvent{status(phone, "wamid.o2", "failed", alice, ago(time.Hour-time.Second), err131047)}})
	// A reaction opens no window: Alice's stays at her text of 2h ago.
	save(t, st, store.Batch{Inbound: []store.InboundMessage{inReaction(phone, "wamid.a3", alice, ago(30*time.Minute), "wamid.o2", "👍")}})
	u1 := inText(phone, "wamid.u1", "", "Sam", ago(10*time.Minute), "Do you ship to Canada?")
	u1.UserID = bsuid
	u1.Raw = json.RawMessage(`{"from_user_id":"` + bsuid + `","id":"wamid.u1","timestamp":"` + jsonNum(u1.Timestamp) + `","type":"text","text":{"body":"Do you ship to Canada?"}}`)
	save(t, st, store.Batch{Inbound: []store.InboundMessage{u1}})
	save(t, st, store.Batch{Inbound: []store.InboundMessage{inText(phone2, "wamid.x1", alice, "Alice", ago(5*time.Minute), "Wrong number, sorry: refund")}})
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Shapes of data, as a client decodes them.
type (
	lastMsg struct {
		MessageID string `json:"message_id"`
		Direction string `json:"direction"`
		Type      string `json:"type"`
		Preview   string `json:"preview"`
		Time      string `json:"time"`
	}
	entry struct {
		WaID                  string  `json:"wa_id"`
		UserID                string  `json:"user_id"`
		ProfileName           string  `json:"profile_name"`
		Unread                int     `json:"unread"`
		LastCustomerMessageAt string  `json:"last_customer_message_at"`
		WindowOpen            bool    `json:"window_open"`
		WindowClosesAt        string  `json:"window_closes_at"`
		LastMessage           lastMsg `json:"last_message"`
	}
	inbox struct {
		Conversations []entry `json:"conversations"`
		NextCursor    string  `json:"next_cursor"`
		HasMore       bool    `json:"has_more"`
	}
	message struct {
		MessageID    string          `json:"message_id"`
		Direction    string          `json:"direction"`
		Type         string          `json:"type"`
		Time         string          `json:"time"`
		Text         string          `json:"text"`
		Status       string          `json:"status"`
		StatusErrors json.RawMessage `json:"status_errors"`
	}
	conversation struct {
		entry
		Messages   []message `json:"messages"`
		NextCursor string    `json:"next_cursor"`
		HasMore    bool      `json:"has_more"`
		Note       string    `json:"note"`
	}
	hit struct {
		message
		WaID    string `json:"wa_id"`
		UserID  string `json:"user_id"`
		Context struct {
			Before []message `json:"before"`
			After  []message `json:"after"`
		} `json:"context"`
	}
	hits struct {
		Messages   []hit  `json:"messages"`
		NextCursor string `json:"next_cursor"`
		HasMore    bool   `json:"has_more"`
	}
)

func customers(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, cmp.Or(e.WaID, e.UserID))
	}
	return out
}

func ids[T any](ms []T, id func(T) string) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, id(m))
	}
	return out
}

func msgID(m message) string { return m.MessageID }
func hitID(h hit) string     { return h.MessageID }

func rfc(d time.Duration) string { return clockNow.Add(d).UTC().Format(time.RFC3339) }

func TestInbox(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		list := toolOf(t, st, toolList, tools.PhonePolicy{})

		all, _ := ok[inbox](t, list, `{"phone_number_id":"`+phone+`"}`)
		want := []string{bsuid, alice, mexico, carol, bob} // latest activity first
		if got := customers(all.Conversations); !slices.Equal(got, want) || all.HasMore || all.NextCursor != "" {
			t.Fatalf("inbox %v has_more %v next %q, want %v and no more", got, all.HasMore, all.NextCursor, want)
		}
		byID := map[string]entry{}
		for _, e := range all.Conversations {
			byID[cmp.Or(e.WaID, e.UserID)] = e
		}
		wantAlice := entry{WaID: alice, UserID: aliceBSUID, ProfileName: "Alice", Unread: 3, LastCustomerMessageAt: rfc(-2 * time.Hour),
			WindowOpen: true, WindowClosesAt: rfc(22 * time.Hour),
			LastMessage: lastMsg{MessageID: "wamid.a3", Direction: "in", Type: "reaction", Preview: "👍", Time: rfc(-30 * time.Minute)}}
		if got := byID[alice]; got != wantAlice {
			t.Errorf("Alice:\n got %+v\nwant %+v", got, wantAlice)
		}
		// The window's edges: 23h59 ago is open for a minute more, 24h01 ago closed.
		if c := byID[carol]; !c.WindowOpen || c.WindowClosesAt != rfc(time.Minute) {
			t.Errorf("Carol wrote 23h59 ago: window_open %v closes %q, want open until %s", c.WindowOpen, c.WindowClosesAt, rfc(time.Minute))
		}
		if b := byID[bob]; b.WindowOpen || b.WindowClosesAt != "" || b.LastCustomerMessageAt != rfc(-24*time.Hour-time.Minute) {
			t.Errorf("Bob wrote 24h01 ago: %+v, want the window closed", b)
		}
		if u := byID[bsuid]; u.UserID != bsuid || u.WaID != "" || u.ProfileName != "Sam" || !u.WindowOpen {
			t.Errorf("BSUID-only customer: %+v", u)
		}

		open, _ := ok[inbox](t, list, `{"phone_number_id":"`+phone+`","window_open_only":true}`)
		if got := customers(open.Conversations); !slices.Equal(got, []string{bsuid, alice, mexico, carol}) {
			t.Errorf("window_open_only: %v", got)
		}

		// Paging two at a time neither repeats nor skips.
		var paged []string
		args := map[string]any{"phone_number_id": phone, "max_results": 2}
		for page := 0; ; page++ {
			p, _ := ok[inbox](t, list, args)
			paged = append(paged, customers(p.Conversations)...)
			if !p.HasMore {
				if p.NextCursor != "" {
					t.Errorf("last page has next_cursor %q", p.NextCursor)
				}
				break
			}
			if page > len(want) {
				t.Fatal("paging does not end")
			}
			args["cursor"] = p.NextCursor
		}
		if !slices.Equal(paged, want) {
			t.Errorf("paged %v, want %v", paged, want)
		}

		// Marking Alice's reaction read leaves her nothing unread.
		if _, found, err := st.MarkRead(context.Background(), phone, "wamid.a3"); err != nil || !found {
			t.Fatalf("MarkRead: %v %v", found, err)
		}
		unread, _ := ok[inbox](t, list, `{"phone_number_id":"`+phone+`","unread_only":true}`)
		if got := customers(unread.Conversations); !slices.Equal(got, []string{bsuid, mexico, carol, bob}) {
			t.Errorf("unread_only after MarkRead: %v", got)
		}
		for _, e := range unread.Conversations {
			if e.Unread != 1 {
				t.Errorf("%s: unread %d, want 1", cmp.Or(e.WaID, e.UserID), e.Unread)
			}
		}

		other, _ := ok[inbox](t, list, `{"phone_number_id":"`+phone2+`"}`)
		if got := customers(other.Conversations); !slices.Equal(got, []string{alice}) || other.Conversations[0].LastMessage.Preview != "Wrong number, sorry: refund" {
			t.Errorf("the other business number's inbox: %+v", other.Conversations)
		}
	})
}

func TestConversation(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		get := toolOf(t, st, toolGet, tools.PhonePolicy{})

		c, _ := ok[conversation](t, get, map[string]any{"phone_number_id": phone, "to_number": alice})
		if got, want := ids(c.Messages, msgID), []string{"wamid.a1", "wamid.o1", "wamid.a2", "wamid.o2", "wamid.a3"}; !slices.Equal(got, want) {
			t.Fatalf("messages %v, want %v (oldest first, both directions)", got, want)
		}
		if c.WaID != alice || c.Unread != 3 || !c.WindowOpen || c.WindowClosesAt != rfc(22*time.Hour) || c.HasMore || c.NextCursor != "" || c.Note != "" {
			t.Errorf("summary: %+v", c.entry)
		}
		m := c.Messages
		if m[0].Direction != "in" || m[0].Text != "Hi, is my order 1234 shipped?" || m[0].Time != rfc(-30*time.Hour) || m[0].Status != "" {
			t.Errorf("inbound: %+v", m[0])
		}
		// read arrived before delivered, and outranks it.
		if m[1].Direction != "out" || m[1].Text != "Yes, it shipped yesterday." || m[1].Status != "read" || m[1].StatusErrors != nil {
			t.Errorf("outbound read: %+v", m[1])
		}
		if m[3].Status != "failed" || !strings.Contains(string(m[3].StatusErrors), `"code":131047`) {
			t.Errorf("outbound failed: %+v", m[3])
		}

		// Any spelling of her number reads the same conversation.
		for _, n := range []string{"+16505551234", "+1 (650) 555-1234", "001 650 555 1234"} {
			other, _ := ok[conversation](t, get, map[string]any{"phone_number_id": phone, "to_number": n})
			if !reflect.DeepEqual(other, c) {
				t.Errorf("to_number %q reads another conversation: %+v", n, other)
			}
		}

		// Paging backwards, two at a time, each page oldest first.
		var pages [][]string
		args := map[string]any{"phone_number_id": phone, "to_number": alice, "max_results": 2}
		for {
			p, _ := ok[conversation](t, get, args)
			pages = append(pages, ids(p.Messages, msgID))
			if !p.HasMore {
				break
			}
			if len(pages) > 5 {
				t.Fatal("paging does not end")
			}
			args["before"] = p.NextCursor
		}
		if want := [][]string{{"wamid.o2", "wamid.a3"}, {"wamid.o1", "wamid.a2"}, {"wamid.a1"}}; !reflect.DeepEqual(pages, want) {
			t.Errorf("pages %v, want %v", pages, want)
		}
		// Alice's cursor is not Carol's.
		first, _ := ok[conversation](t, get, map[string]any{"phone_number_id": phone, "to_number": alice, "max_results": 1})
		env := call(t, get, map[string]any{"phone_number_id": phone, "to_number": carol, "before": first.NextCursor})
		if env.Successful || env.Kind != tools.KindInvalidInput || !strings.Contains(env.Error, "`before` was returned for another conversation") {
			t.Errorf("another conversation's cursor: %+v", env)
		}

		// Her BSUID names her conversation too, and its cursors are hers.
		byBSUID, _ := ok[conversation](t, get, map[string]any{"phone_number_id": phone, "to_number": aliceBSUID})
		if !reflect.DeepEqual(byBSUID, c) {
			t.Errorf("to_number %s reads another conversation: %+v", aliceBSUID, byBSUID)
		}
		if _, env := ok[conversation](t, get, map[string]any{"phone_number_id": phone, "to_number": aliceBSUID, "before": first.NextCursor}); env.Successful != true {
			t.Errorf("her wa_id's cursor with her BSUID: %+v", env)
		}

		// The BSUID-only customer, by BSUID.
		u, _ := ok[conversation](t, get, map[string]any{"phone_number_id": phone, "to_number": bsuid})
		if u.UserID != bsuid || u.WaID != "" || !slices.Equal(ids(u.Messages, msgID), []string{"wamid.u1"}) || u.Messages[0].Text != "Do you ship to Canada?" {
			t.Errorf("BSUID customer: %+v", u)
		}

		// A wa_id Meta gave is read as such even where the phone policy
		// would refuse the number; an unknown one is refused.
		mx, _ := ok[conversation](t, get, map[string]any{"phone_number_id": phone, "to_number": mexico})
		if !slices.Equal(ids(mx.Messages, msgID), []string{"wamid.m1"}) {
			t.Errorf("Mexican wa_id: %+v", mx)
		}
		env = call(t, get, map[string]any{"phone_number_id": phone, "to_number": "5215599999999"})
		if env.Successful || env.Kind != tools.KindInvalidInput || !strings.Contains(env.Error, "`to_number` is too long for country code +52") {
			t.Errorf("unknown impossible number: %+v", env)
		}

		// A customer who never wrote: no messages, the window closed, a note.
		n, _ := ok[conversation](t, get, map[string]any{"phone_number_id": phone, "to_number": "+14155552671"})
		if len(n.Messages) != 0 || n.WindowOpen || n.WaID != "14155552671" || !strings.Contains(n.Note, "template") {
			t.Errorf("unknown customer: %+v", n)
		}
		if !strings.Contains(string(call(t, get, map[string]any{"phone_number_id": phone, "to_number": "+14155552671"}).Data), `"messages":[]`) {
			t.Error("an unknown customer's messages are not an empty array")
		}

		// A national number: refused by default, read with a warning when
		// the operator converts them.
		env = call(t, get, map[string]any{"phone_number_id": phone, "to_number": "(650) 555-1234"})
		if env.Successful || !strings.Contains(env.Error, "+16505551234") {
			t.Errorf("national number, default policy: %+v", env)
		}
		conv := toolOf(t, st, toolGet, tools.PhonePolicy{ConvertNational: true})
		nat, envNat := ok[conversation](t, conv, map[string]any{"phone_number_id": phone, "to_number": "(650) 555-1234"})
		if nat.WaID != alice || len(envNat.Warnings) != 1 || !strings.Contains(envNat.Warnings[0], "+16505551234") {
			t.Errorf("national number converted: %+v, warnings %q", nat.entry, envNat.Warnings)
		}

		// The other business number keeps its own conversation with Alice.
		o, _ := ok[conversation](t, get, map[string]any{"phone_number_id": phone2, "to_number": alice})
		if !slices.Equal(ids(o.Messages, msgID), []string{"wamid.x1"}) {
			t.Errorf("phone2: %v", ids(o.Messages, msgID))
		}
	})
}

func TestSearch(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		search := toolOf(t, st, toolSearch, tools.PhonePolicy{})

		r, _ := ok[hits](t, search, map[string]any{"phone_number_id": phone, "query": "refund"})
		if got := ids(r.Messages, hitID); !slices.Equal(got, []string{"wamid.o2", "wamid.a2"}) || r.HasMore {
			t.Fatalf("refund: %v has_more %v, want o2 then a2 (newest first, both directions, this number only)", got, r.HasMore)
		}
		a2 := r.Messages[1]
		if a2.WaID != alice || a2.Direction != "in" || !strings.Contains(a2.Text, "refund for the blue mug") {
			t.Errorf("hit: %+v", a2)
		}
		if b, a := ids(a2.Context.Before, msgID), ids(a2.Context.After, msgID); !slices.Equal(b, []string{"wamid.a1", "wamid.o1"}) || !slices.Equal(a, []string{"wamid.o2", "wamid.a3"}) {
			t.Errorf("context of a2: before %v after %v", b, a)
		}
		if b, a := ids(r.Messages[0].Context.Before, msgID), ids(r.Messages[0].Context.After, msgID); !slices.Equal(b, []string{"wamid.o1", "wamid.a2"}) || !slices.Equal(a, []string{"wamid.a3"}) {
			t.Errorf("context of o2: before %v after %v", b, a)
		}

		// Word starts match, across conversations.
		s, _ := ok[hits](t, search, map[string]any{"phone_number_id": phone, "query": "ship"})
		if got := ids(s.Messages, hitID); !slices.Equal(got, []string{"wamid.u1", "wamid.o1", "wamid.a1"}) {
			t.Errorf("ship: %v", got)
		}
		if s.Messages[0].UserID != bsuid {
			t.Errorf("BSUID hit: %+v", s.Messages[0])
		}

		// One conversation only.
		for n, want := range map[string][]string{alice: {"wamid.o1", "wamid.a1"}, "+1 650 555 1234": {"wamid.o1", "wamid.a1"}, bob: {}, bsuid: {"wamid.u1"}} {
			c, _ := ok[hits](t, search, map[string]any{"phone_number_id": phone, "query": "ship", "to_number": n})
			if got := ids(c.Messages, hitID); !slices.Equal(got, want) {
				t.Errorf("ship to_number %s: %v, want %v", n, got, want)
			}
		}

		// Paging two at a time.
		var paged []string
		args := map[string]any{"phone_number_id": phone, "query": "ship", "max_results": 2}
		for {
			p, _ := ok[hits](t, search, args)
			paged = append(paged, ids(p.Messages, hitID)...)
			if !p.HasMore {
				break
			}
			if len(paged) > 3 {
				t.Fatal("paging does not end")
			}
			args["cursor"] = p.NextCursor
		}
		if !slices.Equal(paged, []string{"wamid.u1", "wamid.o1", "wamid.a1"}) {
			t.Errorf("paged: %v", paged)
		}
	})
}

// TestResource: reading a conversation's resource gives what
// WHATSAPP_GET_CONVERSATION gives, for a wa_id and for a BSUID.
func TestResource(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		get := toolOf(t, st, toolGet, tools.PhonePolicy{})
		res := conversations.Resources(st, fixedClock)
		if len(res) != 1 || res[0].URITemplate != "whatsapp://{phone_number_id}/conversations/{wa_id}" || res[0].Toolset != conversations.Toolset || res[0].MIMEType != "application/json" || res[0].List != nil {
			t.Fatalf("resource templates: %+v", res)
		}
		for _, c := range []string{alice, bsuid, "14155552671"} {
			got, err := res[0].Read(context.Background(), conversations.URI(phone, c), nil)
			if err != nil {
				t.Fatalf("Read %s: %v", c, err)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			env := call(t, get, map[string]any{"phone_number_id": phone, "to_number": c})
			if !env.Successful || string(b) != string(env.Data) {
				t.Errorf("Read %s:\n%s\nWHATSAPP_GET_CONVERSATION:\n%s", c, b, env.Data)
			}
		}
	})
}
