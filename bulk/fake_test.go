package bulk_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// fakeJobs is store.Jobs in memory, to the interface's semantics, for the
// runner's unit tests (the store suite tests the real ones).
type fakeJobs struct {
	mu    sync.Mutex
	jobs  []*store.BulkJob
	rs    map[string][]store.BulkRecipient
	renew func() bool // when set, RenewBulkLease asks it
	begun []int       // Seqs begun, in order
}

func newFakeJobs() *fakeJobs { return &fakeJobs{rs: map[string][]store.BulkRecipient{}} }

func (f *fakeJobs) job(id string) *store.BulkJob {
	for _, j := range f.jobs {
		if j.ID == id {
			return j
		}
	}
	return nil
}

func (f *fakeJobs) held(j *store.BulkJob, owner string) bool {
	return j != nil && j.State == store.JobRunning && j.Owner == owner && time.Now().Before(j.LeaseUntil)
}

func (f *fakeJobs) counted(j *store.BulkJob) store.BulkJob {
	c := *j
	c.Counts = map[string]int{}
	for _, r := range f.rs[j.ID] {
		c.Counts[r.State]++
	}
	return c
}

func (f *fakeJobs) CreateBulkJob(ctx context.Context, j store.BulkJob, rs []store.BulkRecipient) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.job(j.ID) != nil {
		return store.ErrJobExists
	}
	j.State, j.Owner, j.LeaseUntil, j.CreatedAt = store.JobRunning, "", time.Time{}, time.Now()
	f.jobs = append(f.jobs, &j)
	rs = slices.Clone(rs)
	for i := range rs {
		rs[i].State = store.RecipientPending
	}
	f.rs[j.ID] = rs
	return nil
}

func (f *fakeJobs) AcquireBulkJob(ctx context.Context, owner string, ttl time.Duration) (store.BulkJob, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.renew != nil && !f.renew() {
		return store.BulkJob{}, false, nil // another worker holds every job
	}
	for _, j := range f.jobs {
		if j.State == store.JobRunning && (j.Owner == "" || j.Owner == owner || time.Now().After(j.LeaseUntil)) {
			j.Owner, j.LeaseUntil = owner, time.Now().Add(ttl)
			return f.counted(j), true, nil
		}
	}
	return store.BulkJob{}, false, nil
}

func (f *fakeJobs) RenewBulkLease(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.job(id)
	if !f.held(j, owner) || (f.renew != nil && !f.renew()) {
		return false, nil
	}
	j.LeaseUntil = time.Now().Add(ttl)
	return true, nil
}

func (f *fakeJobs) ReleaseBulkLease(ctx context.Context, id, owner string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j := f.job(id); j != nil && j.Owner == owner {
		j.Owner, j.LeaseUntil = "", time.Time{}
	}
	return nil
}

func (f *fakeJobs) RecoverBulkJob(ctx context.Context, id, owner string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.held(f.job(id), owner) {
		return 0, store.ErrJobNotHeld
	}
	n := 0
	for i, r := range f.rs[id] {
		if r.State == store.RecipientSending {
			f.rs[id][i].State, f.rs[id][i].Error = store.RecipientUnknown, "the server stopped while this send was in flight"
			n++
		}
	}
	return n, nil
}

func (f *fakeJobs) PendingBulkRecipients(ctx context.Context, id string, limit int) ([]store.BulkRecipient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.BulkRecipient
	for _, r := range f.rs[id] {
		if r.State == store.RecipientPending && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeJobs) BeginBulkSend(ctx context.Context, id, owner string, seq int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.held(f.job(id), owner) || f.rs[id][seq].State != store.RecipientPending {
		return false, nil
	}
	f.rs[id][seq].State = store.RecipientSending
	f.rs[id][seq].Attempts++
	f.begun = append(f.begun, seq)
	return true, nil
}

func (f *fakeJobs) EndBulkSend(ctx context.Context, id string, seq int, state, messageID, errText string, code int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &f.rs[id][seq]
	r.State, r.MessageID, r.Error, r.ErrorCode = state, messageID, errText, code
	return nil
}

func (f *fakeJobs) FinishBulkJob(ctx context.Context, id, owner, state string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.job(id)
	if !f.held(j, owner) {
		return store.ErrJobNotHeld
	}
	j.State, j.Owner, j.FinishedAt = state, "", time.Now()
	return nil
}

func (f *fakeJobs) CancelBulkJob(ctx context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.job(id)
	if j == nil || j.State != store.JobRunning {
		return false, nil
	}
	j.State = store.JobCancelled
	for i, r := range f.rs[id] {
		if r.State == store.RecipientPending {
			f.rs[id][i].State = store.RecipientCancelled
		}
	}
	return true, nil
}

func (f *fakeJobs) GetBulkJob(ctx context.Context, id string) (store.BulkJob, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.job(id)
	if j == nil {
		return store.BulkJob{}, false, nil
	}
	return f.counted(j), true, nil
}

func (f *fakeJobs) BulkRecipients(ctx context.Context, id string, after, limit int) ([]store.BulkRecipient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.BulkRecipient
	for _, r := range f.rs[id] {
		if r.Seq > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeJobs) BulkDeliveries(ctx context.Context, id string) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, r := range f.rs[id] {
		if r.State == store.RecipientSent {
			out["accepted"]++
		}
	}
	return out, nil
}

// recipients is a copy of job id's recipients.
func (f *fakeJobs) recipients(id string) []store.BulkRecipient {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rs[id])
}

var errFake = errors.New("fake")
