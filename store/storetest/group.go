package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// testConcurrentSavesExactCounts: many goroutines save at once (so the
// store's writer puts several Saves in one transaction), their batches
// overlapping: events of their own, events every goroutine of the round
// also carries, and (as Meta's retries) their previous batch again. Each
// Save's counts must be its own, exactly: an event is new for the one Save
// whose copy was stored (first copy wins, so the stored copy names it) and
// a duplicate for every other, also within one transaction. Every event is
// stored once, and a Save's events are readable through another store
// instance as soon as it returns (it returns after the commit).
func testConcurrentSavesExactCounts(t *testing.T, open openFunc) {
	s, other := open(), open()
	ctx := context.Background()
	const (
		goroutines = 16
		rounds     = 12
		own        = 2 // statuses only one goroutine sends
		shared     = 3 // statuses every goroutine of a round sends
	)
	type result struct{ newStatuses, newInbound int }
	var (
		mu      sync.Mutex
		results = map[[2]int]result{} // by goroutine, round
		errs    []error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for g := range goroutines {
		wg.Go(func() {
			var prev []store.StatusEvent
			for r := range rounds {
				var b store.Batch
				var mine []string
				for i := range own {
					id := fmt.Sprintf("wamid.own.g%d.r%d.%d", g, r, i)
					b.Statuses = append(b.Statuses, status(phoneA, id, "sent", int64(r)))
					mine = append(mine, id)
				}
				for k := range shared {
					e := status(phoneA, fmt.Sprintf("wamid.shared.r%d.%d", r, k), "sent", int64(r))
					e.Raw = sharedRaw(e.MessageID, g)
					b.Statuses = append(b.Statuses, e)
				}
				retry := prev
				prev = b.Statuses[:own]
				b.Statuses = append(b.Statuses, retry...)
				b.Inbound = []store.InboundMessage{
					inbound(phoneA, fmt.Sprintf("wamid.in.own.g%d.r%d", g, r), customer(g, r), int64(1000+r)),
					// One id, a sender of its own per goroutine: the
					// customer LastInbound knows names the stored copy.
					inbound(phoneB, fmt.Sprintf("wamid.in.shared.r%d", r), customer(g, r), int64(1000+r)),
				}
				ns, ni, err := s.Save(ctx, b)
				if err != nil {
					fail(fmt.Errorf("goroutine %d round %d: %w", g, r, err))
					return
				}
				mu.Lock()
				results[[2]int{g, r}] = result{ns, ni}
				mu.Unlock()
				h, err := other.History(ctx, mine)
				if err != nil || len(h) != len(mine) {
					fail(fmt.Errorf("goroutine %d round %d: right after Save returned, another instance reads %d of its %d events (%v): Save returned before its commit",
						g, r, len(h), len(mine), err))
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent Saves failed: %v", errs)
	}

	got := all(t, s, store.Query{Limit: 1000})
	if want := goroutines*rounds*own + rounds*shared; len(got) != want {
		t.Fatalf("store holds %d status events, want %d", len(got), want)
	}
	winner := map[string]int{} // shared status id -> goroutine whose copy was stored
	seen := map[string]bool{}
	for _, e := range got {
		if seen[key(e)] {
			t.Fatalf("%s stored twice", key(e))
		}
		seen[key(e)] = true
		if strings.HasPrefix(e.MessageID, "wamid.shared.") {
			var by struct{ By int }
			if err := json.Unmarshal(e.Raw, &by); err != nil {
				t.Fatalf("%s: stored Raw %s: %v", key(e), e.Raw, err)
			}
			winner[e.MessageID] = by.By
		}
	}
	for g := range goroutines {
		for r := range rounds {
			want := result{newStatuses: own, newInbound: 1}
			for k := range shared {
				if winner[fmt.Sprintf("wamid.shared.r%d.%d", r, k)] == g {
					want.newStatuses++
				}
			}
			if _, ok, err := s.LastInbound(ctx, phoneB, customer(g, r)); err != nil {
				t.Fatal(err)
			} else if ok {
				want.newInbound++
			}
			if res := results[[2]int{g, r}]; res != want {
				t.Errorf("goroutine %d round %d: Save counted (%d new statuses, %d new inbound), want (%d, %d) from what was stored",
					g, r, res.newStatuses, res.newInbound, want.newStatuses, want.newInbound)
			}
		}
	}
	// Each shared inbound message was stored once, under one sender.
	for r := range rounds {
		n := 0
		for g := range goroutines {
			if _, ok, _ := s.LastInbound(ctx, phoneB, customer(g, r)); ok {
				n++
			}
		}
		if n != 1 {
			t.Errorf("round %d: the shared inbound message was stored under %d senders, want 1", r, n)
		}
	}
}

// sharedRaw is a status payload naming the goroutine that sent this copy.
func sharedRaw(id string, g int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id":"%s","status":"sent","by":%d}`, id, g))
}

// customer is a wa_id of its own for goroutine g in round r.
func customer(g, r int) string { return fmt.Sprintf("1650555%02d%02d", g, r) }

// testManyWritersWhilePaging is ConcurrentWritersWhilePaging with enough
// writers per store that its Saves share transactions.
func testManyWritersWhilePaging(t *testing.T, open openFunc) {
	seen, final := PageWhileWriting(t, []store.Store{open(), open()}, 16, 10, 3)
	CheckExactlyOnce(t, seen, final)
}

// testSaveDuringClose: Saves from many goroutines while the store closes.
// Each either fails or is durable: reopened, the store holds the events of
// every Save that returned nil. Once Close has returned, every Save fails.
func testSaveDuringClose(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	const goroutines = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stored  []string // ids whose Save returned nil
		started = make(chan struct{}, goroutines)
	)
	for g := range goroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("wamid.close.g%d.%d", g, i)
				_, _, err := s.Save(ctx, store.Batch{Statuses: []store.StatusEvent{status(phoneA, id, "sent", 1)}})
				if i == 0 {
					started <- struct{}{}
				}
				if err != nil {
					return
				}
				mu.Lock()
				stored = append(stored, id)
				mu.Unlock()
			}
		})
	}
	for range goroutines {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if _, _, err := s.Save(ctx, store.Batch{Statuses: []store.StatusEvent{status(phoneA, "wamid.late", "sent", 1)}}); err == nil {
		t.Fatal("Save on a closed store succeeded")
	}

	s = open()
	h, err := s.History(ctx, stored)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range stored {
		if len(h[id]) != 1 {
			t.Errorf("%s: Save returned nil but the reopened store holds %d copies", id, len(h[id]))
		}
	}
	if got := all(t, s, store.Query{Limit: 1000}); len(got) < len(stored) {
		t.Errorf("reopened store holds %d events, fewer than the %d Saves acknowledged", len(got), len(stored))
	}
	if len(stored) == 0 {
		t.Log("no Save completed before Close")
	}
}

// testLastInboundSeesOwnSaves: LastInbound may answer from a cache, but a
// message this store saved is seen at once (the cache forgets the pair),
// a late older one does not move the time back, and what another instance
// saved is seen once store.LastInboundTTL has passed on the store's clock.
func testLastInboundSeesOwnSaves(t *testing.T, open openFunc) {
	var (
		mu  sync.Mutex
		now = time.Unix(1_750_000_000, 0)
	)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	a, b := open(store.WithClock(clock)), open()
	ctx := context.Background()
	const wa = "447700900123"
	last := func(s store.Store) (int64, bool) {
		t.Helper()
		ts, ok, err := s.LastInbound(ctx, phoneA, "+"+wa)
		if err != nil {
			t.Fatalf("LastInbound: %v", err)
		}
		return ts.Unix(), ok
	}
	if _, ok := last(a); ok {
		t.Fatal("LastInbound on an empty store: ok")
	}
	save(t, a, store.Batch{Inbound: []store.InboundMessage{inbound(phoneA, "wamid.c1", wa, 1_749_000_100)}})
	if ts, ok := last(a); !ok || ts != 1_749_000_100 {
		t.Fatalf("after this store saved a message: LastInbound = %d, %v; want it at once", ts, ok)
	}
	save(t, a, store.Batch{Inbound: []store.InboundMessage{inbound(phoneA, "wamid.c2", wa, 1_749_000_200)}})
	if ts, _ := last(a); ts != 1_749_000_200 {
		t.Fatalf("after a newer message: LastInbound = %d, want 1749000200", ts)
	}
	save(t, a, store.Batch{Inbound: []store.InboundMessage{inbound(phoneA, "wamid.c0", wa, 1_749_000_000)}})
	if ts, _ := last(a); ts != 1_749_000_200 {
		t.Fatalf("after a late, older message: LastInbound = %d, want still 1749000200", ts)
	}
	// Another instance (a replica) saves a newer one: seen after the TTL.
	save(t, b, store.Batch{Inbound: []store.InboundMessage{inbound(phoneA, "wamid.c3", wa, 1_749_000_300)}})
	if ts, _ := last(b); ts != 1_749_000_300 {
		t.Fatalf("the saving instance: LastInbound = %d, want 1749000300", ts)
	}
	advance(store.LastInboundTTL + time.Second)
	if ts, _ := last(a); ts != 1_749_000_300 {
		t.Fatalf("%s after another instance saved: LastInbound = %d, want 1749000300", store.LastInboundTTL+time.Second, ts)
	}
}
