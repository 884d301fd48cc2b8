package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// testChanges: every change is kept once (by its key, or by its content
// when it has none), read back by field and subject from a cursor, and
// the latest of a field and subject found.
func testChanges(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	change := func(field, subject, key, raw string) store.Change {
		return store.Change{WABAID: waba, Field: field, Subject: subject, Key: key, Raw: json.RawMessage(raw)}
	}
	tmpl := "message_template_status_update"
	b := store.Batch{Changes: []store.Change{
		change(tmpl, "111", "k1", `{"event":"PENDING","message_template_id":111}`),
		change(tmpl, "222", "k2", `{"event":"APPROVED","message_template_id":222}`),
		change("account_update", "", "k3", `{"event":"VERIFIED_ACCOUNT"}`),
		change(tmpl, "111", "k4", `{"event":"APPROVED","message_template_id":111}`),
		change("a_field_meta_adds_later", "", "", `{"x":1}`),
		change("a_field_meta_adds_later", "", "", `{"x":1}`), // no key: its content dedups it
		change("a_field_meta_adds_later", "", "", `{"x":2}`),
	}}
	save(t, s, b)
	save(t, s, store.Batch{Changes: b.Changes[:2]}) // redelivered
	read := func(q store.ChangeQuery) []string {
		t.Helper()
		var out []string
		for range 20 {
			page, err := s.Changes(ctx, q)
			if err != nil {
				t.Fatalf("Changes(%+v): %v", q, err)
			}
			if len(page) == 0 {
				return out
			}
			for _, c := range page {
				out = append(out, c.Field+"/"+c.Subject+"/"+string(c.Raw))
			}
			q.After = page[len(page)-1].Seq
		}
		t.Fatalf("Changes(%+v): paging does not end", q)
		return nil
	}
	all := read(store.ChangeQuery{Limit: 2})
	if len(all) != 6 {
		t.Fatalf("stored %d changes, want 6: %q", len(all), all)
	}
	for _, tc := range []struct {
		q    store.ChangeQuery
		want []string
	}{
		{store.ChangeQuery{Field: tmpl, Subject: "111", Limit: 1}, []string{
			tmpl + `/111/{"event":"PENDING","message_template_id":111}`, tmpl + `/111/{"event":"APPROVED","message_template_id":111}`}},
		{store.ChangeQuery{Field: "account_update"}, []string{`account_update//{"event":"VERIFIED_ACCOUNT"}`}},
		{store.ChangeQuery{Subject: "222"}, []string{tmpl + `/222/{"event":"APPROVED","message_template_id":222}`}},
		{store.ChangeQuery{Field: tmpl, Limit: 2}, []string{all[0], all[1], all[3]}},
		{store.ChangeQuery{Field: "none"}, nil},
	} {
		if got := read(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("Changes(%+v):\n got  %q\n want %q", tc.q, got, tc.want)
		}
	}
	c, ok, err := s.LatestChange(ctx, tmpl, "111")
	if err != nil || !ok || string(c.Raw) != `{"event":"APPROVED","message_template_id":111}` || c.Key != "k4" || c.WABAID != waba ||
		c.Seq == 0 || c.ReceivedAt.IsZero() {
		t.Errorf("LatestChange = %+v, %v, %v", c, ok, err)
	}
	if _, ok, err := s.LatestChange(ctx, tmpl, "333"); err != nil || ok {
		t.Errorf("LatestChange of an unknown subject: %v, %v", ok, err)
	}
}

// testPrune: what arrived before the cutoff goes, in batches, from every
// table; a conversation with no message left goes, one with some left
// shows its latest remaining message and counts only remaining unread
// ones; search finds only what remains.
func testPrune(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	old, cutoff, recent := time.Unix(1_700_000_000, 0), time.Unix(1_750_000_000, 0), time.Unix(1_760_000_000, 0)
	at := func(m store.InboundMessage, t time.Time) store.InboundMessage { m.ReceivedAt = t; return m }
	var b store.Batch
	for i := range 2500 { // more than a batch
		e := status(phoneA, fmt.Sprintf("wamid.old.%d", i), "sent", 1)
		e.ReceivedAt = old
		b.Statuses = append(b.Statuses, e)
	}
	keep := status(phoneA, "wamid.keep", "sent", 1)
	keep.ReceivedAt = recent
	b.Statuses = append(b.Statuses, keep)
	b.Changes = []store.Change{
		{WABAID: waba, Field: "account_update", Key: "old", Raw: json.RawMessage(`{}`), ReceivedAt: old},
		{WABAID: waba, Field: "account_update", Key: "new", Raw: json.RawMessage(`{}`), ReceivedAt: recent},
	}
	gone := msgOut(phoneA, "wamid.bob.out", bob, 10, "bye bob")
	gone.ReceivedAt = old
	b.Outbound = []store.OutboundMessage{gone}
	b.Inbound = []store.InboundMessage{
		at(msgIn(phoneA, "wamid.bob", bob, 5, "text", "vanishing words"), old),
		// Alice: the old message has the newest timestamp, so it is her
		// conversation's last until pruned; it and one more are unread.
		at(msgIn(phoneA, "wamid.a1", alice, 100, "text", "kept first"), recent),
		at(msgIn(phoneA, "wamid.a2", alice, 300, "text", "vanishing too"), old),
		at(msgIn(phoneA, "wamid.a3", alice, 200, "text", "kept second"), recent),
	}
	save(t, s, b)
	if _, _, err := s.MarkRead(ctx, phoneA, "wamid.a1"); err != nil {
		t.Fatal(err)
	}
	if c := conversation(t, s, phoneA, alice); c.Unread != 2 || c.Last.MessageID != "wamid.a2" {
		t.Fatalf("before Prune: %+v", c)
	}

	p, err := s.Prune(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Pruned{Statuses: 2500, Messages: 3, Changes: 1, Conversations: 1}); p != want {
		t.Errorf("Prune = %+v, want %+v", p, want)
	}
	if _, ok, err := s.Conversation(ctx, phoneA, bob); err != nil || ok {
		t.Errorf("bob's conversation, all of it pruned: ok %v, %v", ok, err)
	}
	c := conversation(t, s, phoneA, alice)
	if c.Last.MessageID != "wamid.a3" || c.Unread != 1 || c.LastSeq != c.Last.Seq {
		t.Errorf("alice after Prune: last %s, unread %d, LastSeq %d (last's %d); want wamid.a3, 1, its Seq", c.Last.MessageID, c.Unread, c.LastSeq, c.Last.Seq)
	}
	if c := customers(inbox(t, s, store.ConversationQuery{PhoneNumberID: phoneA})); !slices.Equal(c, []string{alice}) {
		t.Errorf("inbox after Prune: %q", c)
	}
	for q, want := range map[string][]string{"vanishing": nil, "kept": {"wamid.a3", "wamid.a1"}} {
		hits, err := s.Search(ctx, store.SearchQuery{PhoneNumberID: phoneA, Query: q})
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "Search("+q+") after Prune", hits, want...)
	}
	wantKeys(t, "statuses after Prune", all(t, s, store.Query{Limit: 1000}), []string{"wamid.keep/sent"})
	if ch, err := s.Changes(ctx, store.ChangeQuery{}); err != nil || len(ch) != 1 || ch[0].Key != "new" {
		t.Errorf("changes after Prune: %+v, %v", ch, err)
	}
	in, _, err := s.Inbound(ctx, store.InboundQuery{PhoneNumberID: phoneA})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "Inbound after Prune", in, "wamid.a1", "wamid.a3")
	// A redelivery of a pruned message is new again: only an old one
	// would be (Meta retries for days, a cutoff is older).
	if p, err = s.Prune(ctx, cutoff); err != nil || p != (store.Pruned{}) {
		t.Errorf("Prune again = %+v, %v; want nothing", p, err)
	}
	// The conversation goes on.
	save(t, s, store.Batch{Inbound: []store.InboundMessage{msgIn(phoneA, "wamid.bob2", bob, 400, "text", "back again")}})
	if c := conversation(t, s, phoneA, bob); c.Unread != 1 || c.Last.MessageID != "wamid.bob2" {
		t.Errorf("a pruned conversation starting again: %+v", c)
	}
}

// testListen: a listener hears each new message of this store once, in
// commit order, with its conversation's key (a BSUID-only message the
// conversation it joined); duplicates and statuses are not messages; stop
// ends it.
func testListen(t *testing.T, open openFunc) {
	s := open()
	var (
		mu    sync.Mutex
		heard []store.Notice
	)
	stop := s.Listen(func(n store.Notice) {
		mu.Lock()
		heard = append(heard, n)
		mu.Unlock()
	})
	withBoth := msgIn(phoneA, "wamid.1", alice, 1, "text", "a")
	withBoth.UserID = aliceBSUI
	onlyBSUID := msgIn(phoneA, "wamid.2", "", 2, "text", "b")
	onlyBSUID.UserID = aliceBSUI
	save(t, s, store.Batch{Inbound: []store.InboundMessage{withBoth}, Outbound: []store.OutboundMessage{msgOut(phoneB, "wamid.3", bob, 3, "c")}})
	save(t, s, store.Batch{Inbound: []store.InboundMessage{withBoth, onlyBSUID}, Statuses: []store.StatusEvent{status(phoneA, "wamid.3", "sent", 1)}})
	save(t, s, store.Batch{Statuses: []store.StatusEvent{status(phoneA, "wamid.3", "read", 1)}})
	// Save returns after the listeners of its group have been called.
	want := []store.Notice{
		{PhoneNumberID: phoneA, Customer: alice, Direction: store.DirectionIn},
		{PhoneNumberID: phoneB, Customer: bob, Direction: store.DirectionOut},
		{PhoneNumberID: phoneA, Customer: alice, Direction: store.DirectionIn},
	}
	mu.Lock()
	got := slices.Clone(heard)
	mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("heard\n %+v\nwant\n %+v", got, want)
	}
	stop()
	stop() // again: a no-op
	save(t, s, store.Batch{Inbound: []store.InboundMessage{msgIn(phoneA, "wamid.4", alice, 4, "text", "d")}})
	mu.Lock()
	defer mu.Unlock()
	if len(heard) != len(want) {
		t.Fatalf("heard %d notices after stop, want none", len(heard)-len(want))
	}
}

// testConcurrentWritersPagingInbound: the inbound trigger's cursor, like
// the status trigger's, neither repeats nor skips a message while two
// store instances save concurrently.
func testConcurrentWritersPagingInbound(t *testing.T, open openFunc) {
	seen, final := PageInboundWhileWriting(t, []store.Store{open(), open()}, 4, 30, 3)
	CheckInboundExactlyOnce(t, seen, final)
}

// PageInboundWhileWriting is PageWhileWriting for the inbound trigger:
// writers save inbound messages (and outbound ones, and their previous
// batch again) while one reader pages through stores[0] with Limit 7.
func PageInboundWhileWriting(t *testing.T, stores []store.Store, writers, batches, perBatch int) (seen, final []store.Message) {
	t.Helper()
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		errs  []error
		done  = make(chan struct{})
	)
	for si, s := range stores {
		for w := range writers {
			wg.Go(func() {
				var prev []store.InboundMessage
				for b := range batches {
					var batch store.Batch
					for i := range perBatch {
						from := fmt.Sprintf("1650555%02d%02d", si, w)
						batch.Inbound = append(batch.Inbound, msgIn(phoneA, fmt.Sprintf("wamid.s%d.w%d.b%d.%d", si, w, b, i), from, int64(b), "text", "x"))
					}
					batch.Outbound = []store.OutboundMessage{msgOut(phoneA, fmt.Sprintf("wamid.out.s%d.w%d.b%d", si, w, b), alice, int64(b), "y")}
					_, n, err := s.Save(ctx, store.Batch{Inbound: append(batch.Inbound, prev...), Outbound: batch.Outbound})
					if err == nil && n != perBatch {
						err = fmt.Errorf("writer %d/%d batch %d: %d new, want %d", si, w, b, n, perBatch)
					}
					if err != nil {
						errMu.Lock()
						errs = append(errs, err)
						errMu.Unlock()
						return
					}
					prev = batch.Inbound
				}
			})
		}
	}
	go func() { wg.Wait(); close(done) }()
	defer func() { <-done }()
	var (
		cursor   int64
		finished bool
	)
	for pages := 0; ; {
		if pages > maxPages {
			t.Fatalf("the paging reader has not finished after %d pages", pages)
		}
		if !finished {
			select {
			case <-done:
				finished = true
			default:
			}
		}
		page, next, err := stores[0].Inbound(ctx, store.InboundQuery{PhoneNumberID: phoneA, After: cursor, Limit: 7})
		if err != nil {
			t.Fatalf("Inbound: %v", err)
		}
		if len(page) > 0 && (page[0].Seq <= cursor || next != page[len(page)-1].Seq) {
			t.Fatalf("Inbound after %d: page from %d, next %d", cursor, page[0].Seq, next)
		}
		seen = append(seen, page...)
		cursor = next
		if len(page) > 0 {
			pages++
		} else if finished {
			break
		}
	}
	if len(errs) > 0 {
		t.Fatalf("writers failed: %v", errs)
	}
	for q := (store.InboundQuery{PhoneNumberID: phoneA, Limit: 1000}); ; {
		page, next, err := stores[len(stores)-1].Inbound(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		final = append(final, page...)
		q.After = next
	}
	if want := len(stores) * writers * batches * perBatch; len(final) != want {
		t.Fatalf("store holds %d inbound messages, want %d", len(final), want)
	}
	return seen, final
}

// CheckInboundExactlyOnce fails t unless seen holds exactly final's
// messages in the same order.
func CheckInboundExactlyOnce(t *testing.T, seen, final []store.Message) {
	t.Helper()
	if missed := SkippedMessages(seen, final); len(missed) > 0 {
		t.Fatalf("the paging reader saw %d of %d messages; skipped Seq %v", len(seen), len(final), missed)
	}
	if !slices.Equal(ids(seen), ids(final)) {
		t.Fatalf("the paging reader saw %d messages, a final read %d, or in another order", len(seen), len(final))
	}
}

// SkippedMessages lists the Seqs of final absent from seen.
func SkippedMessages(seen, final []store.Message) []int64 {
	return skippedSeqs(seen, final, func(m store.Message) int64 { return m.Seq })
}
