package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// jobTests are the bulk job store's cases (store.Jobs), run by Run.
var jobTests = []struct {
	name string
	fn   func(t *testing.T, open openFunc)
}{
	{"BulkJobCreateGet", testBulkJobCreateGet},
	{"BulkPendingOrder", testBulkPendingOrder},
	{"BulkBeginEnd", testBulkBeginEnd},
	{"BulkLease", testBulkLease},
	{"BulkLeaseExpiryStopsSends", testBulkLeaseExpiryStopsSends},
	{"BulkCancel", testBulkCancel},
	{"BulkRecover", testBulkRecover},
	{"BulkAcquireRace", testBulkAcquireRace},
	{"BulkSendRace", testBulkSendRace},
	{"BulkDeliveries", testBulkDeliveries},
	{"BulkPrune", testBulkPrune},
}

// fakeClock is a store clock the test moves (safe for concurrent use).
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time            { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) add(d time.Duration)       { c.ns.Add(int64(d)) }
func (c *fakeClock) opt() store.Option         { return store.WithClock(c.now) }
func (c *fakeClock) at(t time.Time) *fakeClock { c.ns.Store(t.UnixNano()); return c }

// bulkRecipients builds n recipients, each with its request body.
func bulkRecipients(n int) []store.BulkRecipient {
	rs := make([]store.BulkRecipient, n)
	for i := range rs {
		to := fmt.Sprintf("+1650555%04d", i)
		rs[i] = store.BulkRecipient{To: to, Body: json.RawMessage(fmt.Sprintf(
			`{"messaging_product":"whatsapp","to":"%s","type":"template","template":{"name":"order_update","language":{"code":"en_US"}}}`, to))}
	}
	return rs
}

func createJob(t *testing.T, s store.Store, id string, n int) {
	t.Helper()
	j := store.BulkJob{ID: id, PhoneNumberID: phoneA, TemplateName: "order_update", LanguageCode: "en_US", RatePerSecond: 80}
	if err := s.CreateBulkJob(context.Background(), j, bulkRecipients(n)); err != nil {
		t.Fatalf("CreateBulkJob(%s): %v", id, err)
	}
}

func getJob(t *testing.T, s store.Store, id string) store.BulkJob {
	t.Helper()
	j, ok, err := s.GetBulkJob(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("GetBulkJob(%s) = %v, %v", id, ok, err)
	}
	return j
}

func acquire(t *testing.T, s store.Store, owner string, ttl time.Duration) (store.BulkJob, bool) {
	t.Helper()
	j, ok, err := s.AcquireBulkJob(context.Background(), owner, ttl)
	if err != nil {
		t.Fatalf("AcquireBulkJob(%s): %v", owner, err)
	}
	return j, ok
}

func begin(t *testing.T, s store.Store, id, owner string, seq int) bool {
	t.Helper()
	ok, err := s.BeginBulkSend(context.Background(), id, owner, seq)
	if err != nil {
		t.Fatalf("BeginBulkSend(%s, %s, %d): %v", id, owner, seq, err)
	}
	return ok
}

func end(t *testing.T, s store.Store, id string, seq int, state, msgID, errText string, code int) {
	t.Helper()
	if err := s.EndBulkSend(context.Background(), id, seq, state, msgID, errText, code); err != nil {
		t.Fatalf("EndBulkSend(%s, %d, %s): %v", id, seq, state, err)
	}
}

func recipientsOf(t *testing.T, s store.Store, id string) []store.BulkRecipient {
	t.Helper()
	rs, err := s.BulkRecipients(context.Background(), id, -1, 1000)
	if err != nil {
		t.Fatalf("BulkRecipients(%s): %v", id, err)
	}
	return rs
}

func seqs(rs []store.BulkRecipient) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.Seq
	}
	return out
}

func wantJobCounts(t *testing.T, s store.Store, id string, want map[string]int) {
	t.Helper()
	if got := getJob(t, s, id).Counts; !maps.Equal(got, want) {
		t.Fatalf("job %s counts %v, want %v", id, got, want)
	}
}

func testBulkJobCreateGet(t *testing.T, open openFunc) {
	clock := newFakeClock()
	s := open(clock.opt())
	ctx := context.Background()
	created := clock.now()
	createJob(t, s, "job-1", 3)
	j := getJob(t, s, "job-1")
	want := store.BulkJob{ID: "job-1", PhoneNumberID: phoneA, TemplateName: "order_update", LanguageCode: "en_US",
		RatePerSecond: 80, State: store.JobRunning, CreatedAt: created, UpdatedAt: created, Total: 3,
		Counts: map[string]int{store.RecipientPending: 3}}
	if !jobEqual(j, want) {
		t.Fatalf("GetBulkJob:\n got  %+v\n want %+v", j, want)
	}
	rs := recipientsOf(t, s, "job-1")
	in := bulkRecipients(3)
	if len(rs) != 3 {
		t.Fatalf("BulkRecipients: %d, want 3", len(rs))
	}
	for i, r := range rs {
		if r.Seq != i || r.To != in[i].To || string(r.Body) != string(in[i].Body) || r.State != store.RecipientPending ||
			r.MessageID != "" || r.Error != "" || r.ErrorCode != 0 || r.Attempts != 0 || !r.UpdatedAt.Equal(created) {
			t.Errorf("recipient %d: %+v", i, r)
		}
	}
	if page, err := s.BulkRecipients(ctx, "job-1", 0, 1); err != nil || !slices.Equal(seqs(page), []int{1}) {
		t.Errorf("BulkRecipients(after 0, limit 1) = %v, %v; want [1]", seqs(page), err)
	}
	if err := s.CreateBulkJob(ctx, store.BulkJob{ID: "job-1"}, bulkRecipients(1)); !errors.Is(err, store.ErrJobExists) {
		t.Errorf("CreateBulkJob of a stored id: %v, want ErrJobExists", err)
	}
	if j := getJob(t, s, "job-1"); j.Total != 3 || j.Counts[store.RecipientPending] != 3 {
		t.Errorf("the duplicate changed the job: %+v", j)
	}
	if _, ok, err := s.GetBulkJob(ctx, "nope"); ok || err != nil {
		t.Errorf("GetBulkJob(unknown) = %v, %v", ok, err)
	}
	// An empty job is a job.
	createJob(t, s, "job-empty", 0)
	if j := getJob(t, s, "job-empty"); j.Total != 0 || len(j.Counts) != 0 {
		t.Errorf("empty job: %+v", j)
	}
	// And it survives a reopen.
	s.Close()
	if j := getJob(t, open(), "job-1"); j.Total != 3 || j.State != store.JobRunning {
		t.Errorf("after reopen: %+v", j)
	}
}

func jobEqual(a, b store.BulkJob) bool {
	return a.ID == b.ID && a.PhoneNumberID == b.PhoneNumberID && a.TemplateName == b.TemplateName &&
		a.LanguageCode == b.LanguageCode && a.RatePerSecond == b.RatePerSecond && a.State == b.State &&
		a.Owner == b.Owner && a.LeaseUntil.Equal(b.LeaseUntil) && a.CreatedAt.Equal(b.CreatedAt) &&
		a.UpdatedAt.Equal(b.UpdatedAt) && a.FinishedAt.Equal(b.FinishedAt) && a.Total == b.Total && maps.Equal(a.Counts, b.Counts)
}

func testBulkPendingOrder(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	createJob(t, s, "job", 5)
	createJob(t, s, "other", 2)
	acquire(t, s, "w", time.Hour)
	for _, q := range []int{3, 1} {
		if !begin(t, s, "job", "w", q) {
			t.Fatalf("BeginBulkSend(%d) refused", q)
		}
	}
	for _, c := range []struct {
		limit int
		want  []int
	}{{0, []int{0, 2, 4}}, {2, []int{0, 2}}, {1, []int{0}}} {
		got, err := s.PendingBulkRecipients(ctx, "job", c.limit)
		if err != nil || !slices.Equal(seqs(got), c.want) {
			t.Errorf("PendingBulkRecipients(limit %d) = %v, %v; want %v", c.limit, seqs(got), err, c.want)
		}
	}
	if got, _ := s.PendingBulkRecipients(ctx, "other", 10); !slices.Equal(seqs(got), []int{0, 1}) {
		t.Errorf("the other job's pending: %v", seqs(got))
	}
}

func testBulkBeginEnd(t *testing.T, open openFunc) {
	clock := newFakeClock()
	s := open(clock.opt())
	ctx := context.Background()
	createJob(t, s, "job", 4)
	if _, ok := acquire(t, s, "w", time.Minute); !ok {
		t.Fatal("no job to acquire")
	}
	if !begin(t, s, "job", "w", 0) {
		t.Fatal("BeginBulkSend(0) refused")
	}
	if begin(t, s, "job", "w", 0) {
		t.Fatal("BeginBulkSend(0) again: begun twice")
	}
	if begin(t, s, "job", "w", 9) {
		t.Fatal("BeginBulkSend of a recipient the job has not")
	}
	wantJobCounts(t, s, "job", map[string]int{"sending": 1, "pending": 3})
	clock.add(time.Second)
	end(t, s, "job", 0, store.RecipientSent, "wamid.0", "", 0)
	if err := s.EndBulkSend(ctx, "job", 0, store.RecipientSent, "wamid.0", "", 0); err == nil {
		t.Error("EndBulkSend of a recipient already sent: no error")
	}
	if err := s.EndBulkSend(ctx, "job", 1, store.RecipientSent, "wamid.1", "", 0); err == nil {
		t.Error("EndBulkSend of a recipient never begun: no error")
	}
	if err := s.EndBulkSend(ctx, "job", 1, store.RecipientSending, "", "", 0); err == nil {
		t.Error("EndBulkSend with state sending: no error")
	}
	// Not processed: pending again, and begun a second time.
	begin(t, s, "job", "w", 1)
	end(t, s, "job", 1, store.RecipientPending, "", "(#131000) Something went wrong", 131000)
	if !begin(t, s, "job", "w", 1) {
		t.Fatal("a recipient Meta did not process cannot be begun again")
	}
	end(t, s, "job", 1, store.RecipientFailed, "", "(#131026) Message undeliverable", 131026)
	begin(t, s, "job", "w", 2)
	end(t, s, "job", 2, store.RecipientUnknown, "", "timeout", 0)
	if begin(t, s, "job", "w", 2) {
		t.Fatal("an unknown recipient was begun again")
	}
	if err := s.FinishBulkJob(ctx, "job", "w", store.JobDone); err == nil {
		t.Fatal("FinishBulkJob(done) with a recipient pending: no error")
	}
	begin(t, s, "job", "w", 3)
	end(t, s, "job", 3, store.RecipientSent, "wamid.3", "", 0)

	rs := recipientsOf(t, s, "job")
	want := []store.BulkRecipient{
		{Seq: 0, State: "sent", MessageID: "wamid.0", Attempts: 1},
		{Seq: 1, State: "failed", Error: "(#131026) Message undeliverable", ErrorCode: 131026, Attempts: 2},
		{Seq: 2, State: "unknown", Error: "timeout", Attempts: 1},
		{Seq: 3, State: "sent", MessageID: "wamid.3", Attempts: 1},
	}
	for i, r := range rs {
		w := want[i]
		if r.Seq != w.Seq || r.State != w.State || r.MessageID != w.MessageID || r.Error != w.Error ||
			r.ErrorCode != w.ErrorCode || r.Attempts != w.Attempts {
			t.Errorf("recipient %d: %+v, want %+v", i, r, w)
		}
	}
	if !rs[0].UpdatedAt.Equal(clock.now()) {
		t.Errorf("recipient 0 updated at %v, want the clock's %v", rs[0].UpdatedAt, clock.now())
	}
	if err := s.FinishBulkJob(ctx, "job", "other", store.JobDone); !errors.Is(err, store.ErrJobNotHeld) {
		t.Errorf("FinishBulkJob by a non-owner: %v, want ErrJobNotHeld", err)
	}
	clock.add(time.Second)
	if err := s.FinishBulkJob(ctx, "job", "w", store.JobDone); err != nil {
		t.Fatalf("FinishBulkJob: %v", err)
	}
	j := getJob(t, s, "job")
	if j.State != store.JobDone || j.Owner != "" || !j.LeaseUntil.IsZero() || !j.FinishedAt.Equal(clock.now()) {
		t.Errorf("finished job: %+v", j)
	}
	if !maps.Equal(j.Counts, map[string]int{"sent": 2, "failed": 1, "unknown": 1}) {
		t.Errorf("finished job counts %v", j.Counts)
	}
	if _, ok := acquire(t, s, "w", time.Minute); ok {
		t.Error("a finished job was acquired")
	}
	if err := s.FinishBulkJob(ctx, "job", "w", store.JobDone); !errors.Is(err, store.ErrJobNotHeld) {
		t.Errorf("FinishBulkJob twice: %v, want ErrJobNotHeld", err)
	}
}

func testBulkLease(t *testing.T, open openFunc) {
	clock := newFakeClock()
	s := open(clock.opt())
	ctx := context.Background()
	createJob(t, s, "old", 1)
	clock.add(time.Second)
	createJob(t, s, "new", 1)

	t0 := clock.now()
	j, ok := acquire(t, s, "a", time.Minute)
	if !ok || j.ID != "old" || j.Owner != "a" || !j.LeaseUntil.Equal(t0.Add(time.Minute)) || j.Counts["pending"] != 1 {
		t.Fatalf("first acquire: %v %+v; want the oldest job, leased to a for a minute", ok, j)
	}
	// Unexpired: another owner gets the next job, not this one.
	if j, ok := acquire(t, s, "b", time.Minute); !ok || j.ID != "new" {
		t.Fatalf("b's acquire: %v %+v; want the job nobody holds", ok, j)
	}
	if j, ok := acquire(t, s, "c", time.Minute); ok {
		t.Fatalf("c acquired %s while both leases run", j.ID)
	}
	// Already the owner's: acquired again, the lease extended.
	clock.add(30 * time.Second)
	if j, ok := acquire(t, s, "a", time.Minute); !ok || j.ID != "old" || !j.LeaseUntil.Equal(clock.now().Add(time.Minute)) {
		t.Fatalf("a's own job again: %v %+v", ok, j)
	}
	// Renewing keeps it: at t0+80s the first lease would have ended.
	clock.add(20 * time.Second)
	for _, l := range [][2]string{{"old", "a"}, {"new", "b"}} {
		if ok, err := s.RenewBulkLease(ctx, l[0], l[1], time.Minute); !ok || err != nil {
			t.Fatalf("RenewBulkLease(%s, %s) = %v, %v", l[0], l[1], ok, err)
		}
	}
	clock.add(30 * time.Second)
	if j, ok := acquire(t, s, "c", time.Minute); ok {
		t.Fatalf("c acquired %s: a renewed lease did not hold", j.ID)
	}
	// Expired: taken by another owner, whose acquire wins.
	clock.add(31 * time.Second) // t0+111s; both leases ran to t0+110s
	if j, ok := acquire(t, s, "c", time.Minute); !ok || j.ID != "old" || j.Owner != "c" {
		t.Fatalf("c after a's lease expired: %v %+v", ok, j)
	}
	if ok, err := s.RenewBulkLease(ctx, "old", "a", time.Minute); ok || err != nil {
		t.Fatalf("a renewed a lease c took: %v, %v", ok, err)
	}
	if j, ok := acquire(t, s, "d", time.Minute); !ok || j.ID != "new" {
		t.Fatalf("d after b's lease expired: %v %+v", ok, j)
	}
	// Released: free at once; releasing what one does not hold changes nothing.
	if err := s.ReleaseBulkLease(ctx, "old", "a"); err != nil {
		t.Fatal(err)
	}
	if j := getJob(t, s, "old"); j.Owner != "c" {
		t.Fatalf("a's release of c's lease: owner %q", j.Owner)
	}
	if err := s.ReleaseBulkLease(ctx, "old", "c"); err != nil {
		t.Fatal(err)
	}
	if j := getJob(t, s, "old"); j.Owner != "" || !j.LeaseUntil.IsZero() {
		t.Fatalf("released job: %+v", j)
	}
	if j, ok := acquire(t, s, "e", time.Minute); !ok || j.ID != "old" {
		t.Fatalf("e after the release: %v %+v", ok, j)
	}
	if _, _, err := s.AcquireBulkJob(ctx, "g", 0); err == nil {
		t.Error("AcquireBulkJob with no ttl: no error")
	}
	if _, _, err := s.AcquireBulkJob(ctx, "", time.Minute); err == nil {
		t.Error("AcquireBulkJob with no owner: no error")
	}
	// The lease is not the store's: another store on the database sees it.
	if j, ok := acquire(t, open(clock.opt()), "f", time.Minute); ok {
		t.Fatalf("another store acquired %s while both leases run", j.ID)
	}
}

// A worker whose lease expired can begin no send, even before anyone
// takes the job; one that renews in time can.
func testBulkLeaseExpiryStopsSends(t *testing.T, open openFunc) {
	clock := newFakeClock()
	s := open(clock.opt())
	createJob(t, s, "job", 3)
	acquire(t, s, "a", time.Minute)
	if !begin(t, s, "job", "a", 0) {
		t.Fatal("BeginBulkSend under the lease refused")
	}
	if begin(t, s, "job", "b", 1) {
		t.Fatal("BeginBulkSend by an owner without the lease")
	}
	clock.add(time.Minute) // lease_until: valid only while now is before it
	if begin(t, s, "job", "a", 1) {
		t.Fatal("BeginBulkSend after the lease expired")
	}
	if ok, _ := s.RenewBulkLease(context.Background(), "job", "a", time.Minute); !ok {
		t.Fatal("renewing an expired lease nobody took")
	}
	if !begin(t, s, "job", "a", 1) {
		t.Fatal("BeginBulkSend after renewing refused")
	}
	clock.add(2 * time.Minute)
	acquire(t, s, "b", time.Minute)
	if begin(t, s, "job", "a", 2) {
		t.Fatal("BeginBulkSend by the owner whose lease was taken")
	}
	if !begin(t, s, "job", "b", 2) {
		t.Fatal("BeginBulkSend by the new owner refused")
	}
}

func testBulkCancel(t *testing.T, open openFunc) {
	clock := newFakeClock()
	s := open(clock.opt())
	ctx := context.Background()
	createJob(t, s, "job", 4)
	acquire(t, s, "w", time.Minute)
	begin(t, s, "job", "w", 0)
	end(t, s, "job", 0, store.RecipientSent, "wamid.0", "", 0)
	begin(t, s, "job", "w", 1) // in flight while it is cancelled
	clock.add(time.Second)
	if ok, err := s.CancelBulkJob(ctx, "job"); !ok || err != nil {
		t.Fatalf("CancelBulkJob = %v, %v", ok, err)
	}
	j := getJob(t, s, "job")
	if j.State != store.JobCancelled || !j.FinishedAt.Equal(clock.now()) {
		t.Errorf("cancelled job: %+v", j)
	}
	// The send in flight is its live worker's to record.
	if !maps.Equal(j.Counts, map[string]int{"sent": 1, "sending": 1, "cancelled": 2}) {
		t.Errorf("cancelled job counts %v", j.Counts)
	}
	if begin(t, s, "job", "w", 2) {
		t.Fatal("BeginBulkSend after the cancel")
	}
	if p, _ := s.PendingBulkRecipients(ctx, "job", 10); len(p) != 0 {
		t.Errorf("pending after the cancel: %v", seqs(p))
	}
	end(t, s, "job", 1, store.RecipientSent, "wamid.1", "", 0)
	if r := recipientsOf(t, s, "job")[1]; r.State != store.RecipientSent || r.MessageID != "wamid.1" {
		t.Errorf("recipient 1 after its outcome: %+v", r)
	}
	// A worker stopping leaves nothing sending: what it could not record is unknown.
	createJob(t, s, "job5", 2)
	acquire(t, s, "w", time.Minute)
	begin(t, s, "job5", "w", 0)
	s.CancelBulkJob(ctx, "job5")
	if err := s.ReleaseBulkLease(ctx, "job5", "w"); err != nil {
		t.Fatal(err)
	}
	if j := getJob(t, s, "job5"); j.Owner != "" || !maps.Equal(j.Counts, map[string]int{"unknown": 1, "cancelled": 1}) {
		t.Errorf("cancelled job after its worker released it: %+v", j)
	}
	if ok, err := s.CancelBulkJob(ctx, "job"); ok || err != nil {
		t.Errorf("CancelBulkJob again = %v, %v; want false", ok, err)
	}
	if ok, err := s.CancelBulkJob(ctx, "nope"); ok || err != nil {
		t.Errorf("CancelBulkJob(unknown) = %v, %v; want false", ok, err)
	}
	if err := s.FinishBulkJob(ctx, "job", "w", store.JobDone); !errors.Is(err, store.ErrJobNotHeld) {
		t.Errorf("FinishBulkJob of a cancelled job: %v, want ErrJobNotHeld", err)
	}
	if ok, _ := s.RenewBulkLease(ctx, "job", "w", time.Minute); ok {
		t.Error("RenewBulkLease of a cancelled job")
	}
	if _, ok := acquire(t, s, "w", time.Minute); ok {
		t.Error("a cancelled job was acquired")
	}
	// "Not processed" in a cancelled job sends nothing more.
	createJob(t, s, "job2", 2)
	acquire(t, s, "w", time.Minute)
	begin(t, s, "job2", "w", 0)
	s.CancelBulkJob(ctx, "job2")
	end(t, s, "job2", 0, store.RecipientPending, "", "(#131000) Something went wrong", 131000)
	if r := recipientsOf(t, s, "job2")[0]; r.State != store.RecipientCancelled {
		t.Errorf("not processed after the cancel: %+v, want cancelled", r)
	}
	// A send in flight with no live lease: nobody will record it.
	createJob(t, s, "job4", 2)
	acquire(t, s, "w", time.Minute)
	begin(t, s, "job4", "w", 0)
	clock.add(2 * time.Minute)
	s.CancelBulkJob(ctx, "job4")
	if j := getJob(t, s, "job4"); !maps.Equal(j.Counts, map[string]int{"unknown": 1, "cancelled": 1}) {
		t.Errorf("cancelled job with an orphaned send: %v", j.Counts)
	}
	// Its outcome, if it comes after all, replaces the guess.
	end(t, s, "job4", 0, store.RecipientSent, "wamid.40", "", 0)
	if r := recipientsOf(t, s, "job4")[0]; r.State != store.RecipientSent || r.MessageID != "wamid.40" {
		t.Errorf("the orphan's late outcome: %+v", r)
	}
	// A worker's own cancel.
	createJob(t, s, "job3", 2)
	acquire(t, s, "w", time.Minute)
	if err := s.FinishBulkJob(ctx, "job3", "w", store.JobCancelled); err != nil {
		t.Fatal(err)
	}
	if j := getJob(t, s, "job3"); j.State != store.JobCancelled || !maps.Equal(j.Counts, map[string]int{"cancelled": 2}) {
		t.Errorf("job cancelled by its worker: %+v", j)
	}
}

func testBulkRecover(t *testing.T, open openFunc) {
	clock := newFakeClock()
	s := open(clock.opt())
	ctx := context.Background()
	createJob(t, s, "job", 3)
	acquire(t, s, "a", time.Minute)
	begin(t, s, "job", "a", 0)
	end(t, s, "job", 0, store.RecipientSent, "wamid.0", "", 0)
	begin(t, s, "job", "a", 1) // a dies here
	clock.add(2 * time.Minute)
	acquire(t, s, "b", time.Minute)
	if _, err := s.RecoverBulkJob(ctx, "job", "a"); !errors.Is(err, store.ErrJobNotHeld) {
		t.Errorf("RecoverBulkJob by the old owner: %v, want ErrJobNotHeld", err)
	}
	if n, err := s.RecoverBulkJob(ctx, "job", "b"); n != 1 || err != nil {
		t.Fatalf("RecoverBulkJob = %d, %v; want 1", n, err)
	}
	rs := recipientsOf(t, s, "job")
	if r := rs[1]; r.State != store.RecipientUnknown || r.Error == "" || r.Attempts != 1 {
		t.Errorf("recovered recipient: %+v", r)
	}
	if rs[0].State != store.RecipientSent {
		t.Errorf("a sent recipient changed: %+v", rs[0])
	}
	if p, _ := s.PendingBulkRecipients(ctx, "job", 10); !slices.Equal(seqs(p), []int{2}) {
		t.Errorf("pending after recovery: %v, want [2]", seqs(p))
	}
	if begin(t, s, "job", "b", 1) {
		t.Fatal("an unknown recipient was begun again")
	}
	if n, _ := s.RecoverBulkJob(ctx, "job", "b"); n != 0 {
		t.Errorf("RecoverBulkJob again = %d", n)
	}
	// Across a restart: a new store (process) takes over the same way.
	begin(t, s, "job", "b", 2)
	s.Close()
	clock.add(2 * time.Minute)
	s2 := open(clock.opt())
	if j, ok := acquire(t, s2, "c", time.Minute); !ok || j.Counts["sending"] != 1 {
		t.Fatalf("after the restart: %v %+v", ok, j)
	}
	if n, err := s2.RecoverBulkJob(ctx, "job", "c"); n != 1 || err != nil {
		t.Fatalf("RecoverBulkJob after restart = %d, %v", n, err)
	}
	if err := s2.FinishBulkJob(ctx, "job", "c", store.JobDone); err != nil {
		t.Fatal(err)
	}
	wantJobCounts(t, s2, "job", map[string]int{"sent": 1, "unknown": 2})
}

// Many owners on two stores race to acquire each new job: exactly one
// wins it.
func testBulkAcquireRace(t *testing.T, open openFunc) {
	stores := []store.Store{open(), open()}
	ctx := context.Background()
	const rounds, racers = 15, 12
	for round := range rounds {
		id := fmt.Sprintf("job-%02d", round)
		createJob(t, stores[0], id, 1)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
		)
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				owner := fmt.Sprintf("owner-%d-%d", round, i)
				j, ok, err := stores[i%2].AcquireBulkJob(ctx, owner, time.Hour)
				if err != nil {
					t.Errorf("AcquireBulkJob: %v", err)
					return
				}
				if ok {
					mu.Lock()
					winners = append(winners, owner+" got "+j.ID)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d owners hold the job: %v", round, len(winners), winners)
		}
		if _, err := stores[0].CancelBulkJob(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

// Workers on two stores take the job from each other as their short leases
// expire (the clock moves with every step), some dying mid-send, two
// goroutines under each owner (a worker sending in parallel) racing on the
// same pending recipients: every recipient is begun exactly once, and ends
// sent or unknown.
func testBulkSendRace(t *testing.T, open openFunc) {
	clock := newFakeClock()
	stores := []store.Store{open(clock.opt()), open(clock.opt())}
	ctx := context.Background()
	const n, workers, ttl = 120, 8, 20 * time.Millisecond
	createJob(t, stores[0], "job", n)
	var (
		begun   [n]atomic.Int32
		sent    [n]atomic.Value // the message id its beginner recorded
		done    atomic.Bool
		wg      sync.WaitGroup
		senders sync.Map // the owners that began a send
	)
	for w := range workers {
		wg.Go(func() {
			s := stores[w%2]
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			owner := fmt.Sprintf("worker-%d", w/2)
			for steps := 0; !done.Load() && steps < 100_000; steps++ {
				clock.add(time.Duration(rnd.IntN(3)) * time.Millisecond)
				j, ok, err := s.AcquireBulkJob(ctx, owner, ttl)
				if err != nil {
					t.Errorf("%s: acquire: %v", owner, err)
					return
				}
				if !ok {
					continue
				}
				if _, err := s.RecoverBulkJob(ctx, j.ID, owner); err != nil && !errors.Is(err, store.ErrJobNotHeld) {
					t.Errorf("%s: recover: %v", owner, err)
					return
				}
				pending, err := s.PendingBulkRecipients(ctx, j.ID, 4)
				if err != nil {
					t.Errorf("%s: pending: %v", owner, err)
					return
				}
				if len(pending) == 0 {
					err := s.FinishBulkJob(ctx, j.ID, owner, store.JobDone)
					if err == nil {
						done.Store(true)
					} else if !errors.Is(err, store.ErrJobNotHeld) {
						t.Logf("%s: finish: %v", owner, err) // a recipient came back pending: not here
					}
					continue
				}
				for _, r := range pending {
					clock.add(time.Duration(rnd.IntN(3)) * time.Millisecond)
					ok, err := s.BeginBulkSend(ctx, j.ID, owner, r.Seq)
					if err != nil {
						t.Errorf("%s: begin: %v", owner, err)
						return
					}
					if !ok {
						continue
					}
					begun[r.Seq].Add(1)
					senders.Store(owner, true)
					if rnd.IntN(20) == 0 {
						break // dies mid-send: its lease runs out
					}
					id := fmt.Sprintf("wamid.%d.%s", r.Seq, owner)
					sent[r.Seq].Store(id)
					if err := s.EndBulkSend(ctx, j.ID, r.Seq, store.RecipientSent, id, "", 0); err != nil {
						t.Errorf("%s: end: %v", owner, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if !done.Load() {
		t.Fatal("the job never finished")
	}
	j := getJob(t, stores[1], "job")
	if j.State != store.JobDone || j.Counts["sent"]+j.Counts["unknown"] != n {
		t.Fatalf("job %+v; want done, every recipient sent or unknown", j)
	}
	for i, r := range recipientsOf(t, stores[1], "job") {
		if c := begun[i].Load(); c != 1 {
			t.Errorf("recipient %d begun %d times", i, c)
		}
		want, _ := sent[i].Load().(string)
		if r.Attempts != 1 || (r.State == store.RecipientSent) != (want != "") || r.MessageID != want {
			t.Errorf("recipient %d: %+v, its sender recorded %q", i, r, want)
		}
	}
	owners := 0
	senders.Range(func(any, any) bool { owners++; return true })
	if owners < 2 {
		t.Errorf("only %d owner sent: the lease never changed hands, so the race was not run", owners)
	}
	t.Logf("%d sent, %d unknown, by %d owners", j.Counts["sent"], j.Counts["unknown"], owners)
}

func testBulkDeliveries(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	createJob(t, s, "job", 6)
	acquire(t, s, "w", time.Hour)
	for i, outcome := range []string{"sent", "sent", "sent", "sent", "failed", "unknown"} {
		begin(t, s, "job", "w", i)
		id := ""
		if outcome == "sent" {
			id = fmt.Sprintf("wamid.b%d", i)
		}
		end(t, s, "job", i, outcome, id, "", 0)
	}
	// Out of order, as Meta delivers them: the most advanced counts.
	saveStatuses(t, s,
		status(phoneA, "wamid.b0", "read", 3), status(phoneA, "wamid.b0", "delivered", 2), status(phoneA, "wamid.b0", "sent", 1),
		status(phoneA, "wamid.b1", "delivered", 2), status(phoneA, "wamid.b1", "sent", 1),
		status(phoneA, "wamid.b2", "sent", 1), status(phoneA, "wamid.b2", "failed", 2),
		status(phoneA, "wamid.other", "delivered", 2))
	got, err := s.BulkDeliveries(ctx, "job")
	want := map[string]int{"read": 1, "delivered": 1, "failed": 1, "accepted": 1}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("BulkDeliveries = %v, %v; want %v", got, err, want)
	}
	if got, err := s.BulkDeliveries(ctx, "nope"); err != nil || len(got) != 0 {
		t.Errorf("BulkDeliveries(unknown) = %v, %v", got, err)
	}
}

func testBulkPrune(t *testing.T, open openFunc) {
	old, cutoff, recent := time.Unix(1_700_000_000, 0), time.Unix(1_750_000_000, 0), time.Unix(1_760_000_000, 0)
	clock := newFakeClock().at(old)
	s := open(clock.opt())
	ctx := context.Background()
	for _, id := range []string{"old-done", "old-cancelled", "old-running", "recent-done"} {
		createJob(t, s, id, 3)
		clock.add(time.Second) // AcquireBulkJob takes them in this order
	}
	acquire(t, s, "w", time.Hour) // old-done, the oldest
	for i := range 3 {
		begin(t, s, "old-done", "w", i)
		end(t, s, "old-done", i, store.RecipientSent, fmt.Sprintf("wamid.p%d", i), "", 0)
	}
	if err := s.FinishBulkJob(ctx, "old-done", "w", store.JobDone); err != nil {
		t.Fatal(err)
	}
	s.CancelBulkJob(ctx, "old-cancelled")
	clock.at(recent)
	s.CancelBulkJob(ctx, "recent-done") // old-running stays as it was created, long before the cutoff
	if _, err := s.Prune(ctx, cutoff); err != nil {
		t.Fatal(err)
	}
	for id, kept := range map[string]bool{"old-done": false, "old-cancelled": false, "old-running": true, "recent-done": true} {
		_, ok, err := s.GetBulkJob(ctx, id)
		if err != nil || ok != kept {
			t.Errorf("after Prune, job %s kept %v (%v); want %v", id, ok, err, kept)
		}
		if rs := recipientsOf(t, s, id); (len(rs) == 3) != kept {
			t.Errorf("after Prune, job %s has %d recipients", id, len(rs))
		}
	}
	if j := getJob(t, s, "old-running"); j.State != store.JobRunning || j.Counts["pending"] != 3 {
		t.Errorf("the running job after Prune: %+v", j)
	}
	// Many ended jobs: more than one batch.
	clock.at(old)
	for i := range 25 {
		id := fmt.Sprintf("batch-%02d", i)
		createJob(t, s, id, 1)
		s.CancelBulkJob(ctx, id)
	}
	if _, err := s.Prune(ctx, cutoff); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if _, ok, _ := s.GetBulkJob(ctx, fmt.Sprintf("batch-%02d", i)); ok {
			t.Fatalf("job batch-%02d survived Prune", i)
		}
	}
}
