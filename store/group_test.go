package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// engines runs fn once per engine, each on a fresh location: SQLite, and
// PostgreSQL when storetest.PostgresEnv is set.
func engines(t *testing.T, fn func(t *testing.T, location string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "events.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.PostgresDSN(t)) })
}

func sent(id string) store.Batch {
	return store.Batch{Statuses: []store.StatusEvent{{PhoneNumberID: "106540352242922", MessageID: id, Status: "sent"}}}
}

// gate is a group hook that holds the first group until released, so a test
// can queue Saves behind it and know they form the next group.
type gate struct {
	entered, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	groups           []int // the size of every group, in order
	fail             func(group int) error
}

func newGate(fail func(group int) error) *gate {
	return &gate{entered: make(chan struct{}), release: make(chan struct{}), fail: fail}
}

func (g *gate) hook(saves int) error {
	g.mu.Lock()
	n := len(g.groups)
	g.groups = append(g.groups, saves)
	g.mu.Unlock()
	if n == 0 {
		g.once.Do(func() { close(g.entered) })
		<-g.release
	}
	if g.fail != nil {
		return g.fail(n)
	}
	return nil
}

// waitPending waits until n Saves are queued behind the held group.
func waitPending(t *testing.T, s store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for store.PendingSaves(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d Saves queued after 30s, want %d", store.PendingSaves(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// One transaction for the Saves queued together; when it fails, every one
// of them fails (and none is stored), while the group before it, and the
// Saves after it, succeed. A Save whose caller gave up while queued is
// answered with its context's error and not written.
func TestGroupFailureFailsEveryCaller(t *testing.T) {
	engines(t, func(t *testing.T, loc string) {
		injected := errors.New("injected: disk I/O error")
		g := newGate(func(group int) error {
			if group == 1 {
				return injected
			}
			return nil
		})
		s := openAt(t, loc, store.WithGroupHook(g.hook))()
		defer s.Close()
		ctx := context.Background()

		first := make(chan error, 1)
		go func() { _, _, err := s.Save(ctx, sent("wamid.first")); first <- err }()
		<-g.entered

		const n = 12
		errs := make(chan error, n)
		for i := range n {
			go func() { _, _, err := s.Save(ctx, sent(fmt.Sprintf("wamid.g1.%d", i))); errs <- err }()
		}
		gone, cancel := context.WithCancel(ctx)
		goneErr := make(chan error, 1)
		waitPending(t, s, n)
		go func() { _, _, err := s.Save(gone, sent("wamid.gone")); goneErr <- err }()
		waitPending(t, s, n+1)
		cancel()
		if err := <-goneErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("Save whose context ended while queued: %v, want context.Canceled", err)
		}
		close(g.release)

		if err := <-first; err != nil {
			t.Fatalf("the first group: %v", err)
		}
		for range n {
			if err := <-errs; !errors.Is(err, injected) {
				t.Errorf("a Save of the failed group returned %v, want the injected error", err)
			}
		}
		if want := []int{1, n}; fmt.Sprint(g.groups) != fmt.Sprint(want) {
			t.Fatalf("groups of %v Saves, want %v (the cancelled Save is not written)", g.groups, want)
		}
		ids := []string{"wamid.first", "wamid.gone"}
		for i := range n {
			ids = append(ids, fmt.Sprintf("wamid.g1.%d", i))
		}
		h, err := s.History(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 || len(h["wamid.first"]) != 1 {
			t.Fatalf("stored %d of the ids, want only wamid.first", len(h))
		}
		// Meta's redelivery of one of them, in a group of its own.
		if n, _, err := s.Save(ctx, sent("wamid.g1.0")); err != nil || n != 1 {
			t.Fatalf("redelivery after the failed group: %d new, %v; want 1, nil", n, err)
		}
	})
}

// A group holds at most store.MaxGroupSaves Saves, and takes no further
// Save once it holds store.MaxGroupEvents events; the rest wait for the
// next group, in order.
func TestGroupBounds(t *testing.T) {
	engines(t, func(t *testing.T, loc string) {
		small := make([]store.Batch, store.MaxGroupSaves+10)
		for i := range small {
			small[i] = sent(fmt.Sprintf("wamid.small.%d", i))
		}
		big := make([]store.Batch, 3)
		for i := range big {
			for j := range store.MaxGroupEvents / 2 {
				big[i].Statuses = append(big[i].Statuses, sent(fmt.Sprintf("wamid.big.%d.%d", i, j)).Statuses...)
			}
		}
		for _, c := range []struct {
			name    string
			batches []store.Batch
			want    []int // group sizes, after the held one
		}{
			{"saves", small, []int{store.MaxGroupSaves, 10}},
			{"events", big, []int{2, 1}},
		} {
			g := newGate(nil)
			s := openAt(t, loc, store.WithGroupHook(g.hook))()
			ctx := context.Background()
			first := make(chan error, 1)
			go func() { _, _, err := s.Save(ctx, sent("wamid.first."+c.name)); first <- err }()
			<-g.entered
			errs := make(chan error, len(c.batches))
			for i, b := range c.batches {
				go func() { _, _, err := s.Save(ctx, b); errs <- err }()
				waitPending(t, s, i+1) // queued in this order
			}
			close(g.release)
			for range len(c.batches) + 1 {
				select {
				case err := <-errs:
					if err != nil {
						t.Fatal(err)
					}
				case err := <-first:
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			s.Close()
			if want := append([]int{1}, c.want...); fmt.Sprint(g.groups) != fmt.Sprint(want) {
				t.Errorf("%s: groups of %v Saves, want %v", c.name, g.groups, want)
			}
		}
	})
}

// A Save returns only after the commit that holds its events: right after
// it returns, another store instance (other connections, or another
// replica) reads them. The hook makes every commit late, so a writer that
// answered before committing would be caught every time.
func TestSaveReturnsAfterCommit(t *testing.T) {
	engines(t, func(t *testing.T, loc string) {
		slow := func(int) error { time.Sleep(3 * time.Millisecond); return nil }
		s := openAt(t, loc, store.WithGroupHook(slow))()
		defer s.Close()
		other := openAt(t, loc)()
		defer other.Close()
		ctx := context.Background()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 10 {
					id := fmt.Sprintf("wamid.w%d.%d", w, i)
					if _, _, err := s.Save(ctx, sent(id)); err != nil {
						t.Errorf("Save: %v", err)
						return
					}
					if h, err := other.History(ctx, []string{id}); err != nil || len(h[id]) != 1 {
						t.Errorf("%s: not readable when Save returned (%v): acknowledged before the commit", id, err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

// LastInbound caches: what another instance stored is not seen before
// LastInboundTTL has passed on the store's clock (the instance saving it
// sees it at once).
func TestLastInboundCached(t *testing.T) {
	engines(t, func(t *testing.T, loc string) {
		var (
			mu  sync.Mutex
			now = time.Unix(1_750_000_000, 0)
		)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		a := openAt(t, loc, store.WithClock(clock))()
		defer a.Close()
		b := openAt(t, loc)()
		defer b.Close()
		ctx := context.Background()
		if _, ok, err := a.LastInbound(ctx, "106540352242922", "16505551234"); err != nil || ok {
			t.Fatalf("LastInbound on an empty store: %v, %v", ok, err)
		}
		if _, _, err := b.Save(ctx, store.Batch{Inbound: []store.InboundMessage{{PhoneNumberID: "106540352242922",
			MessageID: "wamid.in", From: "16505551234", Type: "text", Timestamp: 1_749_999_000}}}); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := b.LastInbound(ctx, "106540352242922", "16505551234"); !ok {
			t.Fatal("the instance that saved the message does not see it")
		}
		if _, ok, _ := a.LastInbound(ctx, "106540352242922", "16505551234"); ok {
			t.Fatal("another instance's message seen at once: LastInbound did not answer from its cache")
		}
		mu.Lock()
		now = now.Add(store.LastInboundTTL)
		mu.Unlock()
		if _, ok, _ := a.LastInbound(ctx, "106540352242922", "16505551234"); !ok {
			t.Fatalf("after %s, LastInbound still answers from its cache", store.LastInboundTTL)
		}
	})
}

// One delivery whose values PostgreSQL refuses (bytes that are not UTF-8)
// fails alone; the others of its group are stored.
func TestPostgresRefusedDeliveryFailsAlone(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip("needs " + storetest.PostgresEnv)
	}
	g := newGate(nil)
	s := openAt(t, storetest.PostgresDSN(t), store.WithGroupHook(g.hook))()
	defer s.Close()
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { _, _, err := s.Save(ctx, sent("wamid.first")); first <- err }()
	<-g.entered
	const n = 6
	type res struct {
		i, new int
		err    error
	}
	results := make(chan res, n)
	for i := range n {
		b := sent(fmt.Sprintf("wamid.%d", i))
		if i == 3 {
			b.Statuses[0].Raw = []byte("{\"id\":\"\xff\xfe\"}") // valid JSON to Go, not UTF-8 to PostgreSQL
		}
		go func() { ns, _, err := s.Save(ctx, b); results <- res{i, ns, err} }()
	}
	waitPending(t, s, n)
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	defer func() {
		// The group of n failed at the refused insert (so before the hook)
		// and ran again without it.
		if want := []int{1, n - 1}; fmt.Sprint(g.groups) != fmt.Sprint(want) {
			t.Errorf("groups of %v Saves, want %v", g.groups, want)
		}
	}()
	for range n {
		r := <-results
		switch {
		case r.i == 3 && r.err == nil:
			t.Errorf("the delivery PostgreSQL refuses was stored")
		case r.i != 3 && (r.err != nil || r.new != 1):
			t.Errorf("delivery %d, grouped with a refused one: %d new, %v; want 1, nil", r.i, r.new, r.err)
		}
	}
}
