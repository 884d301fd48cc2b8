package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// The conversation store's part of the suite: messages of both directions,
// the inbound trigger's cursor, the inbox, the history, the search and the
// read point.

const (
	alice     = "16505551234"
	aliceBSUI = "US.13491208655302741918"
	bob       = "447700900123"
	carolBSUI = "PE.967744529547245" // a customer known only by a BSUID
)

// msgIn is an inbound message of type typ saying text, with Meta-like Raw.
func msgIn(phone, id, from string, ts int64, typ, text string) store.InboundMessage {
	raw, _ := json.Marshal(map[string]any{"from": from, "id": id, "timestamp": fmt.Sprint(ts), "type": typ,
		typ: map[string]string{"body": text}})
	return store.InboundMessage{PhoneNumberID: phone, MessageID: id, From: from, Type: typ, Timestamp: ts,
		Text: text, Raw: raw}
}

// msgOut is an outbound text message this server sent.
func msgOut(phone, id, to string, ts int64, text string) store.OutboundMessage {
	raw, _ := json.Marshal(map[string]any{"messaging_product": "whatsapp", "to": to, "type": "text",
		"text": map[string]string{"body": text}})
	return store.OutboundMessage{PhoneNumberID: phone, MessageID: id, To: to, Type: "text", Timestamp: ts,
		Text: text, Source: store.SourceAPI, Raw: raw}
}

func ids(msgs []store.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.MessageID
	}
	return out
}

func wantIDs(t *testing.T, what string, got []store.Message, want ...string) {
	t.Helper()
	if g := ids(got); !slices.Equal(g, want) && !(len(g) == 0 && len(want) == 0) {
		t.Fatalf("%s:\n got  %q\n want %q", what, g, want)
	}
}

func conversation(t *testing.T, s store.Store, phone, customer string) store.Conversation {
	t.Helper()
	c, ok, err := s.Conversation(context.Background(), phone, customer)
	if err != nil || !ok {
		t.Fatalf("Conversation(%s, %s) = ok %v, err %v; want it", phone, customer, ok, err)
	}
	return c
}

func inbox(t *testing.T, s store.Store, q store.ConversationQuery) []store.Conversation {
	t.Helper()
	convs, err := s.Conversations(context.Background(), q)
	if err != nil {
		t.Fatalf("Conversations(%+v): %v", q, err)
	}
	return convs
}

func customers(convs []store.Conversation) []string {
	out := make([]string, len(convs))
	for i, c := range convs {
		out[i] = c.Customer
	}
	return out
}

// testSaveMessages: Save stores inbound and outbound messages and changes,
// counts only new inbound ones as newInbound, and ignores duplicates: a
// message on its id (whichever direction came first), a change on its key.
func testSaveMessages(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	b := store.Batch{
		Statuses: []store.StatusEvent{status(phoneA, "wamid.o1", "sent", 101)},
		Inbound:  []store.InboundMessage{msgIn(phoneA, "wamid.i1", alice, 100, "text", "hello")},
		Outbound: []store.OutboundMessage{msgOut(phoneA, "wamid.o1", "+1 650 555 1234", 101, "hi there")},
		Changes: []store.Change{{WABAID: waba, Field: "message_template_status_update", Subject: "123", Key: "k1",
			Raw: json.RawMessage(`{"event":"APPROVED","message_template_id":123}`)}},
	}
	ns, ni := save(t, s, b)
	wantCounts(t, "first save", ns, ni, 1, 1)
	ns, ni = save(t, s, b)
	wantCounts(t, "the same batch again", ns, ni, 0, 0)
	// Only outbound and changes: a Save of its own (a send recorded).
	ns, ni = save(t, s, store.Batch{Outbound: []store.OutboundMessage{msgOut(phoneA, "wamid.o2", alice, 102, "second")}})
	wantCounts(t, "outbound only", ns, ni, 0, 0)
	// An id already stored in the other direction is a duplicate.
	ns, ni = save(t, s, store.Batch{Inbound: []store.InboundMessage{msgIn(phoneA, "wamid.o2", alice, 103, "text", "clash")}})
	wantCounts(t, "inbound with an outbound's id", ns, ni, 0, 0)

	msgs, err := s.Messages(ctx, store.HistoryQuery{PhoneNumberID: phoneA, Customer: alice, After: store.Position{Seq: -1, Timestamp: -1}})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "history", msgs, "wamid.i1", "wamid.o1", "wamid.o2")
	if msgs[1].Direction != store.DirectionOut || msgs[1].Customer != alice || msgs[1].WaID != alice || msgs[1].Source != store.SourceAPI {
		t.Errorf("outbound stored as %+v", msgs[1])
	}
	changes, err := s.Changes(ctx, store.ChangeQuery{})
	if err != nil || len(changes) != 1 {
		t.Fatalf("Changes = %d, %v; want the one change once", len(changes), err)
	}
}

// testNULInText: a U+0000 in a customer's text or name (Meta's JSON may
// escape one) does not make the delivery unstorable (PostgreSQL's text
// refuses the character): it is stored without it, on both engines alike.
func testNULInText(t *testing.T, open openFunc) {
	s := open()
	m := msgIn(phoneA, "wamid.nul", alice, 100, "text", "a\x00b")
	m.ProfileName = "Zo\x00ë"
	ns, ni := save(t, s, store.Batch{Inbound: []store.InboundMessage{m},
		Statuses: []store.StatusEvent{status(phoneA, "wamid.nul\x00", "sent", 1)}})
	wantCounts(t, "a delivery with NULs", ns, ni, 1, 1)
	msgs, err := s.Messages(context.Background(), store.HistoryQuery{PhoneNumberID: phoneA, Customer: alice})
	if err != nil || len(msgs) != 1 || msgs[0].Text != "ab" || msgs[0].ProfileName != "Zoë" {
		t.Fatalf("stored %+v, %v; want the text and name without U+0000", msgs, err)
	}
}

// testMessageRoundTrip: every field of both directions comes back as
// saved, Raw byte for byte; the store fills what the caller left out.
func testMessageRoundTrip(t *testing.T, open openFunc) {
	now := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)
	s := open(store.WithClock(func() time.Time { return now }))
	recv := time.Date(2025, 6, 15, 23, 27, 53, 123456000, time.UTC)
	in := store.InboundMessage{PhoneNumberID: phoneA, MessageID: "wamid.in", From: "+1 (650) 555-1234", UserID: aliceBSUI,
		ProfileName: "Zoë", Type: "image", Timestamp: 1750030073, Text: "a caption", ContextID: "wamid.quoted",
		Raw: json.RawMessage(`{"id":"wamid.in","type":"image","image":{"caption":"a caption","note":"Zo\u00eb\/x"}}`), ReceivedAt: recv}
	out := store.OutboundMessage{PhoneNumberID: phoneA, MessageID: "wamid.out", To: alice, Type: "template",
		Text: "order_update 42", ContextID: "wamid.in"} // no time, source, raw nor arrival: the store's
	save(t, s, store.Batch{Inbound: []store.InboundMessage{in}, Outbound: []store.OutboundMessage{out}})
	msgs, err := s.Messages(context.Background(), store.HistoryQuery{PhoneNumberID: phoneA, Customer: alice})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Messages: %d, %v", len(msgs), err)
	}
	gotOut, gotIn := msgs[0], msgs[1] // newest first; the outbound one was sent "now", 2031
	wantIn := store.Message{Seq: gotIn.Seq, PhoneNumberID: phoneA, Direction: store.DirectionIn, MessageID: "wamid.in",
		Customer: alice, WaID: alice, UserID: aliceBSUI, ProfileName: "Zoë", Type: "image", Timestamp: 1750030073,
		Text: "a caption", ContextID: "wamid.quoted", Raw: in.Raw, ReceivedAt: recv}
	wantOut := store.Message{Seq: gotOut.Seq, PhoneNumberID: phoneA, Direction: store.DirectionOut, MessageID: "wamid.out",
		Customer: alice, WaID: alice, Type: "template", Timestamp: now.Unix(), Text: "order_update 42", ContextID: "wamid.in",
		Source: store.SourceAPI, ReceivedAt: now.Truncate(time.Microsecond)}
	for _, c := range []struct{ got, want store.Message }{{gotIn, wantIn}, {gotOut, wantOut}} {
		if !bytes.Equal(c.got.Raw, c.want.Raw) {
			t.Errorf("%s: Raw %s, want %s", c.want.MessageID, c.got.Raw, c.want.Raw)
		}
		if !c.got.ReceivedAt.Equal(c.want.ReceivedAt) {
			t.Errorf("%s: ReceivedAt %v, want %v", c.want.MessageID, c.got.ReceivedAt, c.want.ReceivedAt)
		}
		c.got.Raw, c.want.Raw, c.got.ReceivedAt, c.want.ReceivedAt = nil, nil, time.Time{}, time.Time{}
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("round trip:\n got  %+v\n want %+v", c.got, c.want)
		}
	}
	if gotIn.Seq <= 0 || gotOut.Seq <= gotIn.Seq {
		t.Errorf("Seqs %d, %d: want increasing from 1", gotIn.Seq, gotOut.Seq)
	}
}

// inboundFixture saves inbound messages of three types from three
// customers on two numbers (and outbound ones, which Inbound never
// returns) in batches of varied size, and returns the inbound ones in
// arrival order.
func inboundFixture(t *testing.T, s store.Store) []store.InboundMessage {
	t.Helper()
	types := []string{"text", "image", "reaction"}
	froms := []string{alice, bob, ""}
	var all []store.InboundMessage
	var b store.Batch
	for i := range 40 {
		phone := phoneA
		if i%4 == 3 {
			phone = phoneB
		}
		m := msgIn(phone, fmt.Sprintf("wamid.in.%02d", i), froms[i%3], int64(1000-i), types[i%len(types)], fmt.Sprint("msg ", i))
		if m.From == "" {
			m.UserID = carolBSUI
		}
		all = append(all, m)
		b.Inbound = append(b.Inbound, m)
		if i%5 == 0 {
			b.Outbound = append(b.Outbound, msgOut(phone, fmt.Sprintf("wamid.out.%02d", i), alice, int64(1000-i), "reply"))
		}
		if len(b.Inbound) == i%4+1 {
			save(t, s, b)
			b = store.Batch{}
		}
	}
	save(t, s, b)
	return all
}

// testInboundPaging: the inbound trigger's read returns, for each filter,
// exactly the inbound messages it selects, in arrival order, whatever the
// page size, and its cursor never repeats or skips one.
func testInboundPaging(t *testing.T, open openFunc) {
	s := open()
	fixture := inboundFixture(t, s)
	ctx := context.Background()
	filters := []store.InboundQuery{
		{PhoneNumberID: phoneA},
		{PhoneNumberID: phoneB},
		{PhoneNumberID: phoneA, Types: []string{"image"}},
		{PhoneNumberID: phoneA, Types: []string{"reaction", "text", "text"}},
		{PhoneNumberID: phoneA, Types: []string{"text", "image", "reaction"}},
		{PhoneNumberID: phoneA, Customer: "+44 7700 900123"},
		{PhoneNumberID: phoneA, Customer: carolBSUI},
		{PhoneNumberID: phoneA, Customer: alice, Types: []string{"text", "reaction"}},
		{PhoneNumberID: phoneA, Types: []string{"order"}},
		{PhoneNumberID: phoneA, Customer: "15550000000"},
		{PhoneNumberID: "no-such-number"},
	}
	for _, f := range filters {
		var want []string
		for _, m := range fixture {
			cust := m.From
			if cust == "" {
				cust = m.UserID
			}
			if m.PhoneNumberID == f.PhoneNumberID && (len(f.Types) == 0 || slices.Contains(f.Types, m.Type)) &&
				(f.Customer == "" || cust == strings.NewReplacer("+", "", " ", "").Replace(f.Customer)) {
				want = append(want, m.MessageID)
			}
		}
		for _, limit := range []int{1, 3, 7, 100} {
			q := f
			q.Limit = limit
			var got []store.Message
			for pages := 0; ; pages++ {
				if pages > len(fixture)+1 {
					t.Fatalf("Inbound(%+v): paging does not end", q)
				}
				page, next, err := s.Inbound(ctx, q)
				if err != nil {
					t.Fatalf("Inbound(%+v): %v", q, err)
				}
				if len(page) > limit {
					t.Fatalf("Inbound(%+v) returned %d, over the limit", q, len(page))
				}
				if len(page) == 0 {
					if next != q.After {
						t.Fatalf("Inbound(%+v) on an empty page: next %d, want the cursor", q, next)
					}
					break
				}
				if page[0].Seq <= q.After || next != page[len(page)-1].Seq {
					t.Fatalf("Inbound(%+v): page from Seq %d, next %d: not after the cursor, or next not the last", q, page[0].Seq, next)
				}
				for _, m := range page {
					if m.Direction != store.DirectionIn {
						t.Fatalf("Inbound returned an outbound message %s", m.MessageID)
					}
				}
				got = append(got, page...)
				q.After = next
			}
			wantIDs(t, fmt.Sprintf("Inbound(%+v)", q), got, want...)
			for i := 1; i < len(got); i++ {
				if got[i].Seq <= got[i-1].Seq {
					t.Fatalf("Inbound(%+v): Seq not increasing", f)
				}
			}
		}
	}
}

// testInbox: the inbox orders conversations by latest arrival, shows each
// one's latest message by (timestamp, arrival), however late an older
// message arrives, counts unread messages, and filters and pages.
func testInbox(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	save(t, s, store.Batch{Inbound: []store.InboundMessage{
		msgIn(phoneA, "wamid.a1", alice, 1000, "text", "first from alice"),
		msgIn(phoneA, "wamid.b1", bob, 1001, "text", "bob here"),
	}})
	save(t, s, store.Batch{Outbound: []store.OutboundMessage{msgOut(phoneA, "wamid.a2", alice, 1002, "reply to alice")}})
	// Late, older: arrives last (inbox first) but is not alice's last message.
	save(t, s, store.Batch{Inbound: []store.InboundMessage{msgIn(phoneA, "wamid.a0", alice, 900, "text", "an old one")}})
	save(t, s, store.Batch{Inbound: []store.InboundMessage{msgIn(phoneB, "wamid.x1", alice, 1003, "text", "other number")}})

	got := inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneA})
	if c := customers(got); !slices.Equal(c, []string{alice, bob}) {
		t.Fatalf("inbox order %q, want alice (latest arrival) then bob", c)
	}
	a := got[0]
	if a.Last.MessageID != "wamid.a2" || a.Last.Direction != store.DirectionOut || a.Last.Text != "reply to alice" || a.Last.Raw == nil {
		t.Errorf("alice's last message = %+v, want the reply wamid.a2 (latest timestamp), Raw included", a.Last)
	}
	if a.Unread != 2 || got[1].Unread != 1 {
		t.Errorf("unread = %d, %d; want 2 (alice's inbound), 1", a.Unread, got[1].Unread)
	}
	if !a.LastInboundAt.Equal(time.Unix(1000, 0)) {
		t.Errorf("alice's LastInboundAt = %v, want 1000 (the newest inbound, not the latest to arrive)", a.LastInboundAt)
	}
	if a.LastSeq <= got[1].LastSeq {
		t.Errorf("LastSeq %d, %d: want alice's higher", a.LastSeq, got[1].LastSeq)
	}

	// Paging: Before a conversation's LastSeq, Limit.
	page := inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneA, Limit: 1})
	if c := customers(page); !slices.Equal(c, []string{alice}) {
		t.Fatalf("first page of 1: %q", c)
	}
	page = inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneA, Limit: 1, Before: page[0].LastSeq})
	if c := customers(page); !slices.Equal(c, []string{bob}) {
		t.Fatalf("second page of 1: %q", c)
	}
	if page = inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneA, Before: page[0].LastSeq}); len(page) != 0 {
		t.Fatalf("past the end: %q", customers(page))
	}

	// Filters.
	if _, _, err := s.MarkRead(ctx, phoneA, "wamid.b1"); err != nil {
		t.Fatal(err)
	}
	if c := customers(inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneA, UnreadOnly: true})); !slices.Equal(c, []string{alice}) {
		t.Errorf("unread only: %q, want alice", c)
	}
	for _, tc := range []struct {
		since time.Time
		want  []string
	}{
		{time.Unix(1001, 0), []string{bob}},
		{time.Unix(1000, 0), []string{alice, bob}},
		{time.Unix(1002, 0), nil},
	} {
		got := customers(inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneA, OpenSince: tc.since}))
		if !slices.Equal(got, tc.want) && len(got)+len(tc.want) > 0 {
			t.Errorf("open since %d: %q, want %q", tc.since.Unix(), got, tc.want)
		}
	}
	if got := inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneA, UnreadOnly: true, OpenSince: time.Unix(1001, 0)}); len(got) != 0 {
		t.Errorf("unread and open since 1001: %q, want none", customers(got))
	}
	if c := customers(inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneB})); !slices.Equal(c, []string{alice}) {
		t.Errorf("the other number's inbox: %q", c)
	}
}

// testConversationSummary: one conversation by any spelling of its
// customer, the latest profile name, and the window opened only by the
// types that open it.
func testConversationSummary(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	first := msgIn(phoneA, "wamid.1", alice, 1000, "text", "hi")
	first.ProfileName = "Alice"
	react := msgIn(phoneA, "wamid.2", alice, 2000, "reaction", "👍")
	renamed := msgIn(phoneA, "wamid.3", alice, 1500, "system", "")
	renamed.ProfileName = "Alice B."
	save(t, s, store.Batch{Inbound: []store.InboundMessage{first, react, renamed}})
	for _, name := range []string{alice, "+1 650-555-1234", "+1 (650) 555 1234"} {
		c := conversation(t, s, phoneA, name)
		if c.Customer != alice || c.WaID != alice || c.PhoneNumberID != phoneA {
			t.Errorf("Conversation(%q) = %+v", name, c)
		}
	}
	c := conversation(t, s, phoneA, alice)
	if c.ProfileName != "Alice B." {
		t.Errorf("ProfileName %q, want the latest, Alice B.", c.ProfileName)
	}
	if !c.LastInboundAt.Equal(time.Unix(1000, 0)) {
		t.Errorf("LastInboundAt %v, want 1000: a reaction and a system message do not open the window", c.LastInboundAt)
	}
	if c.Last.MessageID != "wamid.2" || c.Unread != 3 {
		t.Errorf("Last %s, Unread %d; want wamid.2, 3", c.Last.MessageID, c.Unread)
	}
	if last, ok, err := s.LastInbound(ctx, phoneA, alice); err != nil || !ok || !last.Equal(time.Unix(1000, 0)) {
		t.Errorf("LastInbound = %v, %v, %v; want 1000", last, ok, err)
	}
	// A customer who only reacted has no window.
	save(t, s, store.Batch{Inbound: []store.InboundMessage{msgIn(phoneA, "wamid.4", bob, 3000, "request_welcome", "")}})
	if c := conversation(t, s, phoneA, bob); !c.LastInboundAt.IsZero() || c.Unread != 1 {
		t.Errorf("request_welcome only: LastInboundAt %v, Unread %d; want zero, 1", c.LastInboundAt, c.Unread)
	}
	if _, ok, err := s.LastInbound(ctx, phoneA, bob); err != nil || ok {
		t.Errorf("LastInbound after only a request_welcome: ok %v, %v; want false", ok, err)
	}
	for _, q := range [][2]string{{phoneB, alice}, {phoneA, "15550000000"}, {phoneA, "+"}, {phoneA, "XX.123"}} {
		if _, ok, err := s.Conversation(ctx, q[0], q[1]); err != nil || ok {
			t.Errorf("Conversation(%s, %s): ok %v, %v; want none", q[0], q[1], ok, err)
		}
	}
}

// testBSUIDJoin: a message that carries only a BSUID joins the
// conversation of the wa_id that BSUID came with before (either direction);
// a BSUID never seen with a wa_id keys a conversation of its own; the
// BSUID names the conversation too.
func testBSUIDJoin(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	withBoth := msgIn(phoneA, "wamid.1", alice, 1000, "text", "with both")
	withBoth.UserID = aliceBSUI
	onlyBSUID := msgIn(phoneA, "wamid.2", "", 1001, "text", "bsuid only")
	onlyBSUID.UserID = aliceBSUI
	reply := msgOut(phoneA, "wamid.3", "", 1002, "reply by bsuid")
	reply.UserID = aliceBSUI
	stranger := msgIn(phoneA, "wamid.4", "", 1003, "text", "stranger")
	stranger.UserID = carolBSUI
	// One Save: the trigger's work on the first row is seen by the next.
	save(t, s, store.Batch{Inbound: []store.InboundMessage{withBoth, onlyBSUID, stranger}, Outbound: []store.OutboundMessage{reply}})

	got := inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneA})
	if c := customers(got); !slices.Equal(c, []string{alice, carolBSUI}) {
		t.Fatalf("inbox %q, want alice (the reply arrived last) and carol (by BSUID)", c)
	}
	if got[0].UserID != aliceBSUI || got[0].WaID != alice || got[0].Unread != 2 || got[0].Last.MessageID != "wamid.3" {
		t.Errorf("alice's conversation %+v", got[0])
	}
	if got[1].WaID != "" || got[1].UserID != carolBSUI {
		t.Errorf("carol's conversation %+v", got[1])
	}
	for _, name := range []string{aliceBSUI, alice} {
		msgs, err := s.Messages(ctx, store.HistoryQuery{PhoneNumberID: phoneA, Customer: name})
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "history by "+name, msgs, "wamid.3", "wamid.2", "wamid.1")
		if c := conversation(t, s, phoneA, name); c.Customer != alice {
			t.Errorf("Conversation(%s).Customer = %s", name, c.Customer)
		}
	}
	if last, ok, err := s.LastInbound(ctx, phoneA, aliceBSUI); err != nil || !ok || last.Unix() != 1001 {
		t.Errorf("LastInbound by BSUID = %v, %v, %v; want 1001", last, ok, err)
	}
	if last, ok, err := s.LastInbound(ctx, phoneA, carolBSUI); err != nil || !ok || last.Unix() != 1003 {
		t.Errorf("LastInbound of a BSUID-only customer = %v, %v, %v; want 1003", last, ok, err)
	}
	page, _, err := s.Inbound(ctx, store.InboundQuery{PhoneNumberID: phoneA, Customer: aliceBSUI})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "Inbound by BSUID", page, "wamid.1", "wamid.2")
}

// testHistory: one conversation's messages, both directions, in
// (timestamp, arrival) order, paged backwards from the newest and forwards
// from a position, at any page size.
func testMessagesHistory(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 9))
	type entry struct {
		id  string
		pos store.Position
	}
	var want []entry
	for i := range 30 {
		ts := int64(1000 + rng.IntN(10)) // ties on purpose: arrival breaks them
		id := fmt.Sprintf("wamid.%02d", i)
		var b store.Batch
		if i%3 == 0 {
			b.Outbound = []store.OutboundMessage{msgOut(phoneA, id, alice, ts, "out")}
		} else {
			b.Inbound = []store.InboundMessage{msgIn(phoneA, id, alice, ts, "text", "in")}
		}
		b.Inbound = append(b.Inbound, msgIn(phoneA, fmt.Sprintf("wamid.bob.%02d", i), bob, ts, "text", "noise"))
		save(t, s, b)
		want = append(want, entry{id, store.Position{Timestamp: ts}})
	}
	all, err := s.Messages(ctx, store.HistoryQuery{PhoneNumberID: phoneA, Customer: alice, Limit: 1000})
	if err != nil || len(all) != len(want) {
		t.Fatalf("Messages: %d, %v", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if p, q := all[i-1].Pos(), all[i].Pos(); p.Timestamp < q.Timestamp || (p.Timestamp == q.Timestamp && p.Seq <= q.Seq) {
			t.Fatalf("newest first: %+v before %+v", p, q)
		}
	}
	newestFirst := ids(all)
	oldestFirst := slices.Clone(newestFirst)
	slices.Reverse(oldestFirst)
	for _, limit := range []int{1, 4, 29, 30, 31} {
		var back []store.Message
		q := store.HistoryQuery{PhoneNumberID: phoneA, Customer: "+" + alice, Limit: limit}
		for range len(want) + 1 {
			page, err := s.Messages(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			back = append(back, page...)
			q.Before = page[len(page)-1].Pos()
		}
		wantIDs(t, fmt.Sprintf("backwards by %d", limit), back, newestFirst...)
		var fwd []store.Message
		q = store.HistoryQuery{PhoneNumberID: phoneA, Customer: alice, Limit: limit, After: store.Position{Timestamp: -1}}
		for range len(want) + 1 {
			page, err := s.Messages(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			fwd = append(fwd, page...)
			q.After = page[len(page)-1].Pos()
		}
		wantIDs(t, fmt.Sprintf("forwards by %d", limit), fwd, oldestFirst...)
	}
	// From a message's position, both ways: the context around a hit.
	mid := all[10]
	before, _ := s.Messages(ctx, store.HistoryQuery{PhoneNumberID: phoneA, Customer: alice, Before: mid.Pos(), Limit: 2})
	after, _ := s.Messages(ctx, store.HistoryQuery{PhoneNumberID: phoneA, Customer: alice, After: mid.Pos(), Limit: 2})
	wantIDs(t, "two before the 11th newest", before, newestFirst[11], newestFirst[12])
	wantIDs(t, "two after the 11th newest", after, newestFirst[9], newestFirst[8])
	if msgs, err := s.Messages(ctx, store.HistoryQuery{PhoneNumberID: phoneB, Customer: alice}); err != nil || len(msgs) != 0 {
		t.Errorf("another number's history: %d, %v", len(msgs), err)
	}
}

// testMarkRead: the read point moves forward only; unread counts the
// inbound messages after it, also those that arrive later (and not the
// outbound ones), whatever order they arrive in.
func testMarkRead(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	save(t, s, store.Batch{Inbound: []store.InboundMessage{
		msgIn(phoneA, "wamid.1", alice, 1000, "text", "one"),
		msgIn(phoneA, "wamid.2", alice, 1001, "text", "two"),
		msgIn(phoneA, "wamid.3", alice, 1002, "text", "three"),
		msgIn(phoneA, "wamid.bob", bob, 1002, "text", "bob"),
	}})
	mark := func(phone, id string, wantOK bool, wantUnread int) {
		t.Helper()
		c, ok, err := s.MarkRead(ctx, phone, id)
		if err != nil {
			t.Fatalf("MarkRead(%s): %v", id, err)
		}
		if ok != wantOK || (ok && c.Unread != wantUnread) {
			t.Fatalf("MarkRead(%s) = ok %v, unread %d; want ok %v, unread %d", id, ok, c.Unread, wantOK, wantUnread)
		}
		if ok {
			if got := conversation(t, s, phone, c.Customer).Unread; got != wantUnread {
				t.Fatalf("after MarkRead(%s), Conversation says unread %d, want %d", id, got, wantUnread)
			}
		}
	}
	mark(phoneA, "wamid.2", true, 1)
	mark(phoneA, "wamid.1", true, 1) // an older one: the read point stays
	save(t, s, store.Batch{
		Inbound:  []store.InboundMessage{msgIn(phoneA, "wamid.4", alice, 1003, "text", "four"), msgIn(phoneA, "wamid.late", alice, 999, "text", "late")},
		Outbound: []store.OutboundMessage{msgOut(phoneA, "wamid.out", alice, 1004, "reply")},
	})
	if c := conversation(t, s, phoneA, alice); c.Unread != 2 {
		t.Fatalf("after a new and a late (already read) inbound message and a reply: unread %d, want 2", c.Unread)
	}
	mark(phoneA, "wamid.4", true, 0)
	if c := conversation(t, s, phoneA, bob); c.Unread != 1 {
		t.Fatalf("another conversation's unread changed to %d", c.Unread)
	}
	mark(phoneA, "wamid.out", false, 0)  // outbound
	mark(phoneA, "wamid.none", false, 0) // unknown
	mark(phoneB, "wamid.bob", false, 0)  // another number's
	mark(phoneA, "wamid.bob", true, 0)   // bob's
	save(t, s, store.Batch{Inbound: []store.InboundMessage{msgIn(phoneA, "wamid.5", alice, 1005, "text", "five")}})
	if c := conversation(t, s, phoneA, alice); c.Unread != 1 {
		t.Fatalf("after one more: unread %d, want 1", c.Unread)
	}
}

// testSearch: the words of a query each match a word or a word's start,
// in any case and without accents; punctuation and query syntax are only
// separators; results are the number's (and customer's), newest first,
// paged with Before.
func testSearch(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	save(t, s, store.Batch{
		Inbound: []store.InboundMessage{
			msgIn(phoneA, "wamid.1", alice, 1000, "text", "Hola, ¿tienen el CAFÉ en grano?"),
			msgIn(phoneA, "wamid.2", bob, 1001, "text", "I'd like to order 2 coffees, please!"),
			msgIn(phoneA, "wamid.3", alice, 1002, "image", "crème brûlée recipe"),
			msgIn(phoneB, "wamid.4", alice, 1003, "text", "coffee on another number"),
			msgIn(phoneA, "wamid.5", alice, 1004, "reaction", ""),
		},
		Outbound: []store.OutboundMessage{msgOut(phoneA, "wamid.6", alice, 1005, "Sí, tenemos café molido y en grano")},
	})
	search := func(q store.SearchQuery) []store.Message {
		t.Helper()
		msgs, err := s.Search(ctx, q)
		if err != nil {
			t.Fatalf("Search(%+v): %v", q, err)
		}
		return msgs
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"cafe", []string{"wamid.6", "wamid.1"}},
		{"CAFÉ", []string{"wamid.6", "wamid.1"}},
		{"grano café", []string{"wamid.6", "wamid.1"}},
		{"caf", []string{"wamid.6", "wamid.1"}},
		{"coffee", []string{"wamid.2"}},
		{"creme brulee", []string{"wamid.3"}},
		{"Crème, brû...", []string{"wamid.3"}},
		{"order 2", []string{"wamid.2"}},
		{"I'd", []string{"wamid.2"}},
		{"molido tea", nil},
		{"", nil},
		{"   ¿?!… ", nil},
		{`"grano" OR "coffees"`, nil}, // OR is a word, not an operator
		{`grano AND NEAR(x`, nil},
		{`café* -molido ^grano :en`, []string{"wamid.6"}},
		{`"'\`, nil},
		{"ee", nil}, // a word's start, not its middle
	} {
		wantIDs(t, fmt.Sprintf("Search(%q)", tc.query), search(store.SearchQuery{PhoneNumberID: phoneA, Query: tc.query}), tc.want...)
	}
	wantIDs(t, "the other number", search(store.SearchQuery{PhoneNumberID: phoneB, Query: "coffee"}), "wamid.4")
	wantIDs(t, "one customer", search(store.SearchQuery{PhoneNumberID: phoneA, Query: "c", Customer: "+" + bob}), "wamid.2")
	all := search(store.SearchQuery{PhoneNumberID: phoneA, Query: "c"})
	wantIDs(t, "every c word", all, "wamid.6", "wamid.3", "wamid.2", "wamid.1")
	var paged []store.Message
	q := store.SearchQuery{PhoneNumberID: phoneA, Query: "c", Limit: 1}
	for range 10 {
		page := search(q)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		q.Before = page[len(page)-1].Seq
	}
	wantIDs(t, "paged by 1", paged, ids(all)...)
	if got := all[0]; got.Direction != store.DirectionOut || got.Raw == nil || got.Customer != alice {
		t.Errorf("a hit comes back whole: %+v", got)
	}
}

// SearchManyMessages: a search over more messages than an engine may read
// in one step (PostgreSQL asks its index for the newest Seqs first, then
// for the rest) returns the same as one over all of them: every match
// newest first, a rare word's older matches too, and paging with Before
// crosses the steps without repeating or skipping one. s must be empty.
// Not in Run: it saves 9,000 messages, which only the engines that search
// in steps need.
func SearchManyMessages(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 9_000
	var (
		b            store.Batch
		rare, common []string // ids, oldest first
	)
	for i := range n {
		text, id := "filler words", fmt.Sprintf("wamid.many.%05d", i)
		if i%3 == 0 {
			text += " common"
			common = append(common, id)
		}
		if i%1500 == 7 {
			text += " rarest"
			rare = append(rare, id)
		}
		cust := alice
		if i%2 == 1 {
			cust = bob
		}
		b.Inbound = append(b.Inbound, msgIn(phoneA, id, cust, int64(i), "text", text))
		if len(b.Inbound) == 4000 {
			save(t, s, b)
			b = store.Batch{}
		}
	}
	save(t, s, b)
	slices.Reverse(rare)
	slices.Reverse(common)
	search := func(q store.SearchQuery) []store.Message {
		t.Helper()
		msgs, err := s.Search(ctx, q)
		if err != nil {
			t.Fatalf("Search(%+v): %v", q, err)
		}
		return msgs
	}
	wantIDs(t, "rarest", search(store.SearchQuery{PhoneNumberID: phoneA, Query: "rarest"}), rare...)
	wantIDs(t, "common, first page", search(store.SearchQuery{PhoneNumberID: phoneA, Query: "common", Limit: 20}), common[:20]...)
	var aliceRare []string
	for _, id := range rare {
		var i int
		fmt.Sscanf(id, "wamid.many.%d", &i)
		if i%2 == 0 {
			aliceRare = append(aliceRare, id)
		}
	}
	wantIDs(t, "rarest, one customer", search(store.SearchQuery{PhoneNumberID: phoneA, Query: "rarest", Customer: alice}), aliceRare...)
	var paged []store.Message
	q := store.SearchQuery{PhoneNumberID: phoneA, Query: "rar", Limit: 3}
	for range len(rare) + 1 {
		page := search(q)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		q.Before = page[len(page)-1].Seq
	}
	wantIDs(t, "rarest, paged by 3", paged, rare...)
	// From a cursor deep in the past, the page is the matches below it.
	first := search(store.SearchQuery{PhoneNumberID: phoneA, Query: "common", Limit: 1000})
	wantIDs(t, "common, a page of 1000", first, common[:1000]...)
	wantIDs(t, "common, below a cursor", search(store.SearchQuery{PhoneNumberID: phoneA, Query: "common", Before: first[999].Seq, Limit: 5}),
		common[1000:1005]...)
}
