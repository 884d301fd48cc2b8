// Package storetest is the behaviour every store.Store engine must show. An
// engine's test calls Run with a factory for fresh, empty locations.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// Factory prepares a fresh, empty location for one test and returns open,
// which opens a Store there with the options given. Calling open again (also
// while another instance is open, also from several goroutines at once)
// opens the same location: that is how persistence across Close, several
// writers on one database and concurrent migrations are tested. Run closes
// what open returns.
type Factory func(t *testing.T) (open func(opts ...store.Option) (store.Store, error))

// OpenAt is the open of a Factory for a location store.Open understands.
func OpenAt(location string) func(opts ...store.Option) (store.Store, error) {
	return func(opts ...store.Option) (store.Store, error) {
		return store.Open(context.Background(), location, opts...)
	}
}

// openFunc opens the test's location with the options given; it fails the
// test on error and closes the store at cleanup.
type openFunc func(opts ...store.Option) store.Store

// Run runs the shared suite as subtests of t.
func Run(t *testing.T, factory Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open openFunc)
	}{
		{"EmptyBatch", testEmptyBatch},
		{"SaveCountsAndDedup", testSaveCountsAndDedup},
		{"DuplicateInSameBatch", testDuplicateInSameBatch},
		{"FirstCopyWins", testFirstCopyWins},
		{"RoundTrip", testRoundTrip},
		{"Clock", testClock},
		{"ArrivalOrder", testArrivalOrder},
		{"CursorPaging", testCursorPaging},
		{"LimitDefaultAndCap", testLimitDefaultAndCap},
		{"PersistenceAcrossReopen", testPersistence},
		{"History", testHistory},
		{"LastInbound", testLastInbound},
		{"ConcurrentWritersWhilePaging", testConcurrentWritersWhilePaging},
		{"Ping", testPing},
		{"ConcurrentSavesExactCounts", testConcurrentSavesExactCounts},
		{"ManyWritersWhilePaging", testManyWritersWhilePaging},
		{"SaveDuringClose", testSaveDuringClose},
		{"LastInboundSeesOwnSaves", testLastInboundSeesOwnSaves},
		{"StatusPlanAfterAnalyze", testStatusPlanAfterAnalyze},
		{"SaveMessages", testSaveMessages},
		{"NULInText", testNULInText},
		{"MessageRoundTrip", testMessageRoundTrip},
		{"InboundPaging", testInboundPaging},
		{"Inbox", testInbox},
		{"ConversationSummary", testConversationSummary},
		{"BSUIDJoin", testBSUIDJoin},
		{"MessagesHistory", testMessagesHistory},
		{"MarkRead", testMarkRead},
		{"Search", testSearch},
		{"Changes", testChanges},
		{"Prune", testPrune},
		{"Listen", testListen},
		{"ConcurrentWritersPagingInbound", testConcurrentWritersPagingInbound},
		{"ConversationPlansAfterAnalyze", testConversationPlansAfterAnalyze},
	}
	tests = append(tests, jobTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := factory(t)
			tc.fn(t, func(opts ...store.Option) store.Store {
				t.Helper()
				s, err := open(opts...)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			})
		})
	}
	t.Run("ConcurrentOpen", func(t *testing.T) {
		open := factory(t)
		OpenConcurrently(t, 8, open)
		s, err := open()
		if err != nil {
			t.Fatalf("open after the concurrent ones: %v", err)
		}
		defer s.Close()
		if n := saveStatuses(t, s, status(phoneA, "wamid.1", "sent", 1)); n != 1 {
			t.Fatalf("Save after concurrent opens: %d new, want 1", n)
		}
	})
}

// OpenConcurrently opens (and closes) n stores at once through open, as
// replicas or processes starting together on a new database do: none may
// fail, e.g. by racing on the migrations.
func OpenConcurrently(t *testing.T, n int, open func(opts ...store.Option) (store.Store, error)) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			s, err := open()
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
}

const (
	phoneA = "106540352242922"
	phoneB = "106540352242999"
	waba   = "102290129340398"
)

// status builds an event whose Raw looks like Meta's bytes: compact, with
// "\/" and a lowercase "\u00eb" that a re-encoding would not preserve.
func status(phone, msgID, st string, ts int64) store.StatusEvent {
	raw := fmt.Sprintf(`{"id":"%s","status":"%s","timestamp":"%d","recipient_id":"16505551234",`+
		`"biz_opaque_callback_data":"Zo\u00eb\/order-7"}`, msgID, st, ts)
	return store.StatusEvent{
		WABAID: waba, PhoneNumberID: phone, DisplayPhoneNumber: "15550783881",
		MessageID: msgID, Status: st, Timestamp: ts, RecipientID: "16505551234",
		Raw: json.RawMessage(raw),
	}
}

func inbound(phone, msgID, from string, ts int64) store.InboundMessage {
	return store.InboundMessage{
		PhoneNumberID: phone, MessageID: msgID, From: from, Type: "text", Timestamp: ts,
		Raw: json.RawMessage(fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":"hi"}}`,
			from, msgID, ts)),
	}
}

func save(t *testing.T, s store.Store, b store.Batch) (int, int) {
	t.Helper()
	ns, ni, err := s.Save(context.Background(), b)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	return ns, ni
}

func saveStatuses(t *testing.T, s store.Store, evs ...store.StatusEvent) int {
	t.Helper()
	n, _ := save(t, s, store.Batch{Statuses: evs})
	return n
}

func wantCounts(t *testing.T, what string, gotS, gotI, wantS, wantI int) {
	t.Helper()
	if gotS != wantS || gotI != wantI {
		t.Fatalf("%s: Save returned (%d new statuses, %d new inbound), want (%d, %d)", what, gotS, gotI, wantS, wantI)
	}
}

// maxPages bounds every paging loop of the suite: no test stores more than
// maxPages events, so a loop that needs more pages than that (even at one
// event a page) is not advancing and must fail rather than spin.
const maxPages = 10_000

// all pages through q with a small limit and returns everything. A store
// whose cursor does not move past what it returned (an off-by-one handing the
// last event back again, a next that stands still or goes back) fails t at
// once instead of looping forever.
func all(t *testing.T, s store.Store, q store.Query) []store.StatusEvent {
	t.Helper()
	var out []store.StatusEvent
	for pages := 0; ; pages++ {
		if pages > maxPages {
			t.Fatalf("Statuses(%+v): paging has not ended after %d pages (%d events)", q, pages, len(out))
		}
		page, next, err := s.Statuses(context.Background(), q)
		if err != nil {
			t.Fatalf("Statuses(%+v): %v", q, err)
		}
		checkPage(t, q, page, next)
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		q.After = next
	}
}

// checkPage fails t unless page and next, returned for q, move the cursor:
// every Seq after q.After and next the last of them (q.After on an empty
// page). A store that hands the cursor's own event back would otherwise make
// a paging loop spin forever.
func checkPage(t *testing.T, q store.Query, page []store.StatusEvent, next int64) {
	t.Helper()
	if len(page) == 0 {
		if next != q.After {
			t.Fatalf("Statuses(%+v) on an empty page: next = %d, want the cursor %d", q, next, q.After)
		}
		return
	}
	if page[0].Seq <= q.After {
		t.Fatalf("Statuses(%+v) returned Seq %d (%s), not after the cursor %d: paging would repeat it forever",
			q, page[0].Seq, key(page[0]), q.After)
	}
	if last := page[len(page)-1].Seq; next != last {
		t.Fatalf("Statuses(%+v): next = %d, want the last Seq %d", q, next, last)
	}
}

func key(e store.StatusEvent) string { return e.MessageID + "/" + e.Status }

func keys(evs []store.StatusEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = key(e)
	}
	return out
}

func wantKeys(t *testing.T, what string, got []store.StatusEvent, want []string) {
	t.Helper()
	if g := keys(got); !slices.Equal(g, want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, g, want)
	}
}

func wantIncreasingSeq(t *testing.T, evs []store.StatusEvent) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("Seq not strictly increasing at %d: %d after %d", i, evs[i].Seq, evs[i-1].Seq)
		}
	}
}

func testEmptyBatch(t *testing.T, open openFunc) {
	s := open()
	ns, ni := save(t, s, store.Batch{})
	wantCounts(t, "empty batch", ns, ni, 0, 0)
	if got := all(t, s, store.Query{}); len(got) != 0 {
		t.Fatalf("empty store returned %d events", len(got))
	}
}

func testSaveCountsAndDedup(t *testing.T, open openFunc) {
	s := open()
	b := store.Batch{
		Statuses: []store.StatusEvent{
			status(phoneA, "wamid.1", "sent", 100),
			status(phoneA, "wamid.1", "delivered", 101),
			status(phoneA, "wamid.2", "sent", 102),
		},
		Inbound: []store.InboundMessage{
			inbound(phoneA, "wamid.in1", "16505551234", 90),
			inbound(phoneA, "wamid.in2", "16505551234", 91),
		},
	}
	ns, ni := save(t, s, b)
	wantCounts(t, "first save", ns, ni, 3, 2)
	ns, ni = save(t, s, b)
	wantCounts(t, "same batch again (Meta retry)", ns, ni, 0, 0)

	ns, ni = save(t, s, store.Batch{
		Statuses: []store.StatusEvent{status(phoneA, "wamid.1", "sent", 100), status(phoneA, "wamid.1", "read", 103)},
		Inbound:  []store.InboundMessage{inbound(phoneA, "wamid.in2", "16505551234", 91), inbound(phoneA, "wamid.in3", "16505551234", 92)},
	})
	wantCounts(t, "overlapping batch", ns, ni, 1, 1)
	wantKeys(t, "stored", all(t, s, store.Query{PhoneNumberID: phoneA, Limit: 2}),
		[]string{"wamid.1/sent", "wamid.1/delivered", "wamid.2/sent", "wamid.1/read"})
}

func testDuplicateInSameBatch(t *testing.T, open openFunc) {
	s := open()
	first := status(phoneA, "wamid.1", "sent", 100)
	second := status(phoneA, "wamid.1", "sent", 100)
	second.Raw = json.RawMessage(`{"id":"wamid.1","status":"sent","timestamp":"100","second":true}`)
	in := inbound(phoneA, "wamid.in1", "16505551234", 90)
	ns, ni := save(t, s, store.Batch{
		Statuses: []store.StatusEvent{first, second, status(phoneA, "wamid.1", "delivered", 101)},
		Inbound:  []store.InboundMessage{in, in},
	})
	wantCounts(t, "batch with duplicates", ns, ni, 2, 1)
	got := all(t, s, store.Query{PhoneNumberID: phoneA})
	wantKeys(t, "stored", got, []string{"wamid.1/sent", "wamid.1/delivered"})
	if !bytes.Equal(got[0].Raw, first.Raw) {
		t.Fatalf("kept Raw %s, want the first copy %s", got[0].Raw, first.Raw)
	}
}

func testFirstCopyWins(t *testing.T, open openFunc) {
	s := open()
	first := status(phoneA, "wamid.1", "read", 100)
	if n := saveStatuses(t, s, first); n != 1 {
		t.Fatalf("first save: %d new, want 1", n)
	}
	retry := status(phoneA, "wamid.1", "read", 100)
	retry.Raw = json.RawMessage(`{"id":"wamid.1","status":"read","timestamp":"100","pricing":{"billable":false}}`)
	retry.Timestamp = 999
	if n := saveStatuses(t, s, retry); n != 0 {
		t.Fatalf("retry with another payload: %d new, want 0", n)
	}
	got := all(t, s, store.Query{})
	if len(got) != 1 || !bytes.Equal(got[0].Raw, first.Raw) || got[0].Timestamp != 100 {
		t.Fatalf("after retry got %+v, want only the first copy", got)
	}
}

func testRoundTrip(t *testing.T, open openFunc) {
	s := open()
	given := time.Date(2025, 6, 15, 23, 27, 53, 123456789, time.FixedZone("X", 3600))
	withTime := status(phoneA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", "failed", 1750030073)
	withTime.Raw = json.RawMessage(`{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=","status":"failed",` +
		`"timestamp":"1750030073","recipient_id":"16505551234","errors":[{"code":131047,"title":"Re-engagement message",` +
		`"href":"https:\/\/developers.facebook.com\/docs\/whatsapp\/cloud-api\/support\/error-codes\/","note":"Zo\u00eb"}]}`)
	withTime.ReceivedAt = given
	noRaw := status(phoneB, "wamid.noraw", "sent", 5)
	noRaw.Raw = nil

	before := time.Now().Truncate(time.Microsecond)
	saveStatuses(t, s, withTime, noRaw)
	after := time.Now()

	got := all(t, s, store.Query{})
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2", len(got))
	}
	g := got[0]
	if g.Seq <= 0 {
		t.Errorf("Seq = %d, want > 0", g.Seq)
	}
	want := withTime
	want.Seq = g.Seq
	want.ReceivedAt = given.Truncate(time.Microsecond).UTC()
	if !bytes.Equal(g.Raw, want.Raw) {
		t.Errorf("Raw changed:\n got  %s\n want %s", g.Raw, want.Raw)
	}
	g.Raw, want.Raw = nil, nil
	if !g.ReceivedAt.Equal(want.ReceivedAt) {
		t.Errorf("ReceivedAt = %v, want %v (microsecond precision)", g.ReceivedAt, want.ReceivedAt)
	}
	g.ReceivedAt, want.ReceivedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("round trip:\n got  %+v\n want %+v", g, want)
	}

	n := got[1]
	if n.Raw != nil {
		t.Errorf("nil Raw came back as %q", n.Raw)
	}
	if n.ReceivedAt.Before(before) || n.ReceivedAt.After(after) {
		t.Errorf("zero ReceivedAt should become the save time: got %v, want within [%v, %v]", n.ReceivedAt, before, after)
	}
	if n.ReceivedAt.Location() != time.UTC {
		t.Errorf("ReceivedAt location = %v, want UTC", n.ReceivedAt.Location())
	}
}

// testClock: what the store stamps itself (the arrival time of events Save
// gets without one) comes from the clock given at open, not time.Now.
func testClock(t *testing.T, open openFunc) {
	fixed := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", -3*3600))
	s := open(store.WithClock(func() time.Time { return fixed }))
	want := fixed.UTC().Truncate(time.Microsecond) // the precision both engines keep
	given := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	stamped := status(phoneA, "wamid.clock", "sent", 100)
	kept := status(phoneA, "wamid.clock", "delivered", 101)
	kept.ReceivedAt = given
	noTS := inbound(phoneA, "wamid.in.clock", "16505551234", 0) // no timestamp: LastInbound is the arrival time
	save(t, s, store.Batch{Statuses: []store.StatusEvent{stamped, kept}, Inbound: []store.InboundMessage{noTS}})

	got := all(t, s, store.Query{})
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2", len(got))
	}
	if !got[0].ReceivedAt.Equal(want) {
		t.Errorf("zero ReceivedAt became %v, want the clock's %v", got[0].ReceivedAt, want)
	}
	if !got[1].ReceivedAt.Equal(given) {
		t.Errorf("given ReceivedAt became %v, want it kept: %v", got[1].ReceivedAt, given)
	}
	last, ok, err := s.LastInbound(context.Background(), phoneA, "16505551234")
	if err != nil || !ok || !last.Equal(want) {
		t.Errorf("LastInbound = %v, %v, %v; want the clock's %v", last, ok, err, want)
	}
}

func testArrivalOrder(t *testing.T, open openFunc) {
	s := open()
	// Meta does not order deliveries: read before delivered before sent.
	saveStatuses(t, s, status(phoneA, "wamid.A", "read", 300))
	saveStatuses(t, s, status(phoneA, "wamid.B", "failed", 250))
	saveStatuses(t, s, status(phoneA, "wamid.A", "delivered", 200))
	saveStatuses(t, s, status(phoneA, "wamid.A", "sent", 100), status(phoneA, "wamid.B", "sent", 90))
	want := []string{"wamid.A/read", "wamid.B/failed", "wamid.A/delivered", "wamid.A/sent", "wamid.B/sent"}
	got := all(t, s, store.Query{PhoneNumberID: phoneA})
	wantKeys(t, "Statuses keeps arrival order, not timestamp order", got, want)
	wantIncreasingSeq(t, got)
	h, err := s.History(context.Background(), []string{"wamid.A"})
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "History(A)", h["wamid.A"], []string{"wamid.A/read", "wamid.A/delivered", "wamid.A/sent"})
}

// pagingFixture saves 26 events over two numbers in batches of varied size
// and returns them in arrival order.
func pagingFixture(t *testing.T, s store.Store) []store.StatusEvent {
	t.Helper()
	sts := []string{"sent", "delivered", "read", "failed", "played"}
	var evs []store.StatusEvent
	for i := range 26 {
		phone := phoneA
		if i%3 == 2 {
			phone = phoneB
		}
		evs = append(evs, status(phone, fmt.Sprintf("wamid.%02d", i/2), sts[i%len(sts)], int64(1000-i)))
	}
	for i, size := 0, 1; i < len(evs); i, size = i+size, size%4+1 {
		saveStatuses(t, s, evs[i:min(i+size, len(evs))]...)
	}
	return evs
}

func testCursorPaging(t *testing.T, open openFunc) {
	s := open()
	evs := pagingFixture(t, s)
	ctx := context.Background()
	filters := []store.Query{
		{},
		{PhoneNumberID: phoneA},
		{PhoneNumberID: phoneB},
		{PhoneNumberID: phoneA, Status: "read"},
		{Status: "failed"},
		{PhoneNumberID: phoneB, Status: "played"},
		{PhoneNumberID: "no-such-number"},
		{PhoneNumberID: phoneA, Status: "no-such-status"},
	}
	for _, f := range filters {
		var want []string
		for _, e := range evs {
			if (f.PhoneNumberID == "" || e.PhoneNumberID == f.PhoneNumberID) && (f.Status == "" || e.Status == f.Status) {
				want = append(want, key(e))
			}
		}
		for limit := 1; limit <= len(want)+1; limit++ {
			var got []store.StatusEvent
			q := f
			q.Limit = limit
			for pages := 0; ; pages++ {
				if pages > len(evs)+1 {
					t.Fatalf("%+v: paging does not end", q)
				}
				page, next, err := s.Statuses(ctx, q)
				if err != nil {
					t.Fatalf("Statuses(%+v): %v", q, err)
				}
				if len(page) > limit {
					t.Fatalf("Statuses(%+v) returned %d events, over the limit", q, len(page))
				}
				checkPage(t, q, page, next)
				if len(page) == 0 {
					break
				}
				for _, e := range page {
					if (f.PhoneNumberID != "" && e.PhoneNumberID != f.PhoneNumberID) || (f.Status != "" && e.Status != f.Status) {
						t.Fatalf("Statuses(%+v) returned %s on %s, outside the filter", q, key(e), e.PhoneNumberID)
					}
				}
				got = append(got, page...)
				q.After = next
			}
			wantKeys(t, fmt.Sprintf("filter %+v, limit %d", f, limit), got, want)
			wantIncreasingSeq(t, got)
		}
	}

	// A cursor past the end stays where it is.
	last := all(t, s, store.Query{})
	end := last[len(last)-1].Seq
	page, next, err := s.Statuses(ctx, store.Query{After: end + 1000})
	if err != nil || len(page) != 0 || next != end+1000 {
		t.Fatalf("cursor past the end: %d events, next %d, err %v; want none, %d", len(page), next, err, end+1000)
	}
}

func testLimitDefaultAndCap(t *testing.T, open openFunc) {
	s := open()
	var evs []store.StatusEvent
	for i := range 1100 {
		evs = append(evs, status(phoneA, fmt.Sprintf("wamid.%04d", i), "sent", int64(i)))
	}
	saveStatuses(t, s, evs...)
	for _, tc := range []struct{ limit, want int }{{0, 100}, {-5, 100}, {7, 7}, {5000, 1000}} {
		page, _, err := s.Statuses(context.Background(), store.Query{PhoneNumberID: phoneA, Limit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != tc.want {
			t.Errorf("Limit %d returned %d events, want %d", tc.limit, len(page), tc.want)
		}
	}
}

func testPersistence(t *testing.T, open openFunc) {
	s := open()
	saveStatuses(t, s, status(phoneA, "wamid.1", "sent", 1), status(phoneA, "wamid.1", "delivered", 2))
	save(t, s, store.Batch{Inbound: []store.InboundMessage{inbound(phoneA, "wamid.in", "16505551234", 50)}})
	before := all(t, s, store.Query{})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s = open() // migrations must be a no-op the second time
	after := all(t, s, store.Query{})
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after reopen:\n got  %+v\n want %+v", after, before)
	}
	if n := saveStatuses(t, s, status(phoneA, "wamid.1", "sent", 1)); n != 0 {
		t.Fatalf("dedup forgot across reopen: %d new", n)
	}
	if _, ok, err := s.LastInbound(context.Background(), phoneA, "16505551234"); err != nil || !ok {
		t.Fatalf("LastInbound after reopen: ok=%v err=%v", ok, err)
	}
	saveStatuses(t, s, status(phoneA, "wamid.1", "read", 3))
	got, _, err := s.Statuses(context.Background(), store.Query{After: before[len(before)-1].Seq})
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "new event after reopen, paged from the old cursor", got, []string{"wamid.1/read"})
}

func testHistory(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	h, err := s.History(ctx, nil)
	if err != nil || h == nil || len(h) != 0 {
		t.Fatalf("History(nil) = %v, %v; want an empty map", h, err)
	}
	saveStatuses(t, s, status(phoneA, "wamid.A", "sent", 1), status(phoneB, "wamid.B", "sent", 1))
	saveStatuses(t, s, status(phoneA, "wamid.C", "sent", 2), status(phoneA, "wamid.A", "read", 3))
	saveStatuses(t, s, status(phoneA, "wamid.A", "delivered", 2), status(phoneB, "wamid.B", "failed", 4))

	h, err = s.History(ctx, []string{"wamid.A", "wamid.B", "wamid.missing", "wamid.A", ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 {
		t.Fatalf("History returned ids %v, want only wamid.A and wamid.B", slices.Sorted(func(yield func(string) bool) {
			for k := range h {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if _, ok := h["wamid.missing"]; ok {
		t.Fatal("an absent id is present in the map")
	}
	wantKeys(t, "History(A)", h["wamid.A"], []string{"wamid.A/sent", "wamid.A/read", "wamid.A/delivered"})
	wantIncreasingSeq(t, h["wamid.A"])
	wantKeys(t, "History(B)", h["wamid.B"], []string{"wamid.B/sent", "wamid.B/failed"})
	if h["wamid.B"][0].PhoneNumberID != phoneB || h["wamid.B"][0].Raw == nil {
		t.Fatalf("History lost fields: %+v", h["wamid.B"][0])
	}
}

func testLastInbound(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	last := func(phone, wa string) (time.Time, bool) {
		t.Helper()
		ts, ok, err := s.LastInbound(ctx, phone, wa)
		if err != nil {
			t.Fatalf("LastInbound(%s, %s): %v", phone, wa, err)
		}
		return ts, ok
	}
	if _, ok := last(phoneA, "16505551234"); ok {
		t.Fatal("LastInbound on an empty store: ok = true")
	}
	save(t, s, store.Batch{Inbound: []store.InboundMessage{
		inbound(phoneA, "wamid.in1", "16505551234", 1749416383),
		inbound(phoneA, "wamid.in2", "+1 (650) 555-1234", 1749416500), // saved as digits
	}})
	// An older message delivered late does not move the time back.
	save(t, s, store.Batch{Inbound: []store.InboundMessage{inbound(phoneA, "wamid.in0", "16505551234", 1749416000)}})

	for _, wa := range []string{"16505551234", "+16505551234", "+1 650-555-1234"} {
		got, ok := last(phoneA, wa)
		if !ok || !got.Equal(time.Unix(1749416500, 0)) {
			t.Errorf("LastInbound(%q) = %v, %v; want %v", wa, got, ok, time.Unix(1749416500, 0).UTC())
		}
	}
	if _, ok := last(phoneB, "16505551234"); ok {
		t.Error("customer seen on another business number")
	}
	if _, ok := last(phoneA, "447700900123"); ok {
		t.Error("unknown customer reported as seen")
	}
	if _, ok := last(phoneA, "+"); ok {
		t.Error("an id with no digits matched")
	}

	// Without a timestamp from Meta, the arrival time stands in.
	recv := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	m := inbound(phoneB, "wamid.nots", "447700900123", 0)
	m.ReceivedAt = recv
	save(t, s, store.Batch{Inbound: []store.InboundMessage{m}})
	if got, ok := last(phoneB, "447700900123"); !ok || !got.Equal(recv) {
		t.Errorf("LastInbound without timestamp = %v, %v; want %v", got, ok, recv)
	}
}

// testConcurrentWritersWhilePaging saves from several goroutines through two
// Store instances on one location (two replicas, or two processes on one
// SQLite file) while a reader pages with the cursor.
func testConcurrentWritersWhilePaging(t *testing.T, open openFunc) {
	seen, final := PageWhileWriting(t, []store.Store{open(), open()}, 4, 40, 3)
	CheckExactlyOnce(t, seen, final)
}

// PageWhileWriting starts writers goroutines per store, each saving batches
// batches of perBatch new statuses (plus its previous batch again, as a Meta
// retry would, which must count as nothing new), while one reader pages
// through stores[0] with Limit 7 until the writers are done and a last pass
// finds nothing. It returns what the reader saw and a final full read.
func PageWhileWriting(t *testing.T, stores []store.Store, writers, batches, perBatch int) (seen, final []store.StatusEvent) {
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
			wg.Add(1)
			go func() {
				defer wg.Done()
				var prev []store.StatusEvent
				for b := range batches {
					var evs []store.StatusEvent
					for i := range perBatch {
						evs = append(evs, status(phoneA, fmt.Sprintf("wamid.s%d.w%d.b%d.%d", si, w, b, i), "sent", int64(b)))
					}
					n, _, err := s.Save(ctx, store.Batch{Statuses: append(evs, prev...)})
					if err == nil && n != perBatch {
						err = fmt.Errorf("writer %d/%d batch %d: %d new, want %d", si, w, b, n, perBatch)
					}
					if err != nil {
						errMu.Lock()
						errs = append(errs, err)
						errMu.Unlock()
						return
					}
					prev = evs
				}
			}()
		}
	}
	go func() { wg.Wait(); close(done) }()
	// A failing reader (t.Fatalf) still waits for the writers, so none of
	// them outlives the test and its stores.
	defer func() { <-done }()

	var (
		cursor   int64
		finished bool
	)
	for pages := 0; ; { // pages counts the non-empty ones: empty polls while writers run are expected
		if pages > maxPages {
			t.Fatalf("the paging reader has not finished after %d pages (%d events, cursor %d)", pages, len(seen), cursor)
		}
		if !finished {
			select {
			case <-done:
				finished = true // from now on, one empty page means the end
			default:
			}
		}
		q := store.Query{PhoneNumberID: phoneA, After: cursor, Limit: 7}
		page, next, err := stores[0].Statuses(ctx, q)
		if err != nil {
			t.Fatalf("Statuses: %v", err)
		}
		checkPage(t, q, page, next)
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
	final = all(t, stores[len(stores)-1], store.Query{PhoneNumberID: phoneA, Limit: 1000})
	if want := len(stores) * writers * batches * perBatch; len(final) != want {
		t.Fatalf("store holds %d events, want %d", len(final), want)
	}
	return seen, final
}

// CheckExactlyOnce fails t unless seen holds exactly the events of final, in
// the same (increasing Seq) order: nothing repeated, nothing skipped.
func CheckExactlyOnce(t *testing.T, seen, final []store.StatusEvent) {
	t.Helper()
	wantIncreasingSeq(t, seen)
	if missed := Skipped(seen, final); len(missed) > 0 {
		t.Fatalf("the paging reader saw %d of %d events; skipped Seq %v", len(seen), len(final), missed)
	}
	if !slices.Equal(keys(seen), keys(final)) {
		t.Fatalf("the paging reader saw %d events, a final read %d, or in another order", len(seen), len(final))
	}
}

// Skipped lists the Seqs of final that are absent from seen.
func Skipped(seen, final []store.StatusEvent) []int64 {
	return skippedSeqs(seen, final, func(e store.StatusEvent) int64 { return e.Seq })
}

// skippedSeqs lists the Seqs (seq of each) of final absent from seen.
func skippedSeqs[T any](seen, final []T, seq func(T) int64) []int64 {
	got := make(map[int64]bool, len(seen))
	for _, e := range seen {
		got[seq(e)] = true
	}
	var missed []int64
	for _, e := range final {
		if !got[seq(e)] {
			missed = append(missed, seq(e))
		}
	}
	return missed
}
