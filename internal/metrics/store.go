package metrics

import (
	"context"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// Store wraps st so that each operation's latency and failures are
// counted; everything else passes through.
func (m *Metrics) Store(st store.Store) store.Store { return &measuredStore{st: st, m: m} }

type measuredStore struct {
	st store.Store
	m  *Metrics
}

// done records one operation begun at start.
func (s *measuredStore) done(op string, start time.Time, err error) {
	s.m.storeDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.storeErrors.WithLabelValues(op).Inc()
	}
}

func (s *measuredStore) Save(ctx context.Context, b store.Batch) (int, int, error) {
	start := time.Now()
	ns, ni, err := s.st.Save(ctx, b)
	s.done("save", start, err)
	return ns, ni, err
}

func (s *measuredStore) Statuses(ctx context.Context, q store.Query) ([]store.StatusEvent, int64, error) {
	start := time.Now()
	evs, next, err := s.st.Statuses(ctx, q)
	s.done("statuses", start, err)
	return evs, next, err
}

func (s *measuredStore) History(ctx context.Context, ids []string) (map[string][]store.StatusEvent, error) {
	start := time.Now()
	h, err := s.st.History(ctx, ids)
	s.done("history", start, err)
	return h, err
}

func (s *measuredStore) LastInbound(ctx context.Context, phoneNumberID, waID string) (time.Time, bool, error) {
	start := time.Now()
	t, ok, err := s.st.LastInbound(ctx, phoneNumberID, waID)
	s.done("last_inbound", start, err)
	return t, ok, err
}

func (s *measuredStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.st.Ping(ctx)
	s.done("ping", start, err)
	return err
}

func (s *measuredStore) Close() error { return s.st.Close() }

func (s *measuredStore) Inbound(ctx context.Context, q store.InboundQuery) ([]store.Message, int64, error) {
	start := time.Now()
	msgs, next, err := s.st.Inbound(ctx, q)
	s.done("inbound", start, err)
	return msgs, next, err
}

func (s *measuredStore) Conversations(ctx context.Context, q store.ConversationQuery) ([]store.Conversation, error) {
	start := time.Now()
	cs, err := s.st.Conversations(ctx, q)
	s.done("conversations", start, err)
	return cs, err
}

func (s *measuredStore) Conversation(ctx context.Context, phoneNumberID, customer string) (store.Conversation, bool, error) {
	start := time.Now()
	c, ok, err := s.st.Conversation(ctx, phoneNumberID, customer)
	s.done("conversation", start, err)
	return c, ok, err
}

func (s *measuredStore) Messages(ctx context.Context, q store.HistoryQuery) ([]store.Message, error) {
	start := time.Now()
	msgs, err := s.st.Messages(ctx, q)
	s.done("messages", start, err)
	return msgs, err
}

func (s *measuredStore) Search(ctx context.Context, q store.SearchQuery) ([]store.Message, error) {
	start := time.Now()
	msgs, err := s.st.Search(ctx, q)
	s.done("search", start, err)
	return msgs, err
}

func (s *measuredStore) MarkRead(ctx context.Context, phoneNumberID, messageID string) (store.Conversation, bool, error) {
	start := time.Now()
	c, ok, err := s.st.MarkRead(ctx, phoneNumberID, messageID)
	s.done("mark_read", start, err)
	return c, ok, err
}

func (s *measuredStore) Changes(ctx context.Context, q store.ChangeQuery) ([]store.Change, error) {
	start := time.Now()
	cs, err := s.st.Changes(ctx, q)
	s.done("changes", start, err)
	return cs, err
}

func (s *measuredStore) LatestChange(ctx context.Context, field, subject string) (store.Change, bool, error) {
	start := time.Now()
	c, ok, err := s.st.LatestChange(ctx, field, subject)
	s.done("latest_change", start, err)
	return c, ok, err
}

func (s *measuredStore) Listen(fn func(store.Notice)) func() { return s.st.Listen(fn) }

func (s *measuredStore) Prune(ctx context.Context, cutoff time.Time) (store.Pruned, error) {
	start := time.Now()
	p, err := s.st.Prune(ctx, cutoff)
	s.done("prune", start, err)
	return p, err
}

func (s *measuredStore) CreateBulkJob(ctx context.Context, j store.BulkJob, rs []store.BulkRecipient) error {
	start := time.Now()
	err := s.st.CreateBulkJob(ctx, j, rs)
	s.done("create_bulk_job", start, err)
	return err
}

func (s *measuredStore) AcquireBulkJob(ctx context.Context, owner string, ttl time.Duration) (store.BulkJob, bool, error) {
	start := time.Now()
	j, ok, err := s.st.AcquireBulkJob(ctx, owner, ttl)
	s.done("acquire_bulk_job", start, err)
	return j, ok, err
}

func (s *measuredStore) RenewBulkLease(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	start := time.Now()
	ok, err := s.st.RenewBulkLease(ctx, id, owner, ttl)
	s.done("renew_bulk_lease", start, err)
	return ok, err
}

func (s *measuredStore) ReleaseBulkLease(ctx context.Context, id, owner string) error {
	start := time.Now()
	err := s.st.ReleaseBulkLease(ctx, id, owner)
	s.done("release_bulk_lease", start, err)
	return err
}

func (s *measuredStore) RecoverBulkJob(ctx context.Context, id, owner string) (int, error) {
	start := time.Now()
	n, err := s.st.RecoverBulkJob(ctx, id, owner)
	s.done("recover_bulk_job", start, err)
	return n, err
}

func (s *measuredStore) PendingBulkRecipients(ctx context.Context, id string, limit int) ([]store.BulkRecipient, error) {
	start := time.Now()
	rs, err := s.st.PendingBulkRecipients(ctx, id, limit)
	s.done("pending_bulk_recipients", start, err)
	return rs, err
}

func (s *measuredStore) BeginBulkSend(ctx context.Context, id, owner string, seq int) (bool, error) {
	start := time.Now()
	ok, err := s.st.BeginBulkSend(ctx, id, owner, seq)
	s.done("begin_bulk_send", start, err)
	return ok, err
}

func (s *measuredStore) EndBulkSend(ctx context.Context, id string, seq int, state, messageID, errText string, code int) error {
	start := time.Now()
	err := s.st.EndBulkSend(ctx, id, seq, state, messageID, errText, code)
	s.done("end_bulk_send", start, err)
	return err
}

func (s *measuredStore) FinishBulkJob(ctx context.Context, id, owner, state string) error {
	start := time.Now()
	err := s.st.FinishBulkJob(ctx, id, owner, state)
	s.done("finish_bulk_job", start, err)
	return err
}

func (s *measuredStore) CancelBulkJob(ctx context.Context, id string) (bool, error) {
	start := time.Now()
	ok, err := s.st.CancelBulkJob(ctx, id)
	s.done("cancel_bulk_job", start, err)
	return ok, err
}

func (s *measuredStore) GetBulkJob(ctx context.Context, id string) (store.BulkJob, bool, error) {
	start := time.Now()
	j, ok, err := s.st.GetBulkJob(ctx, id)
	s.done("get_bulk_job", start, err)
	return j, ok, err
}

func (s *measuredStore) BulkRecipients(ctx context.Context, id string, after, limit int) ([]store.BulkRecipient, error) {
	start := time.Now()
	rs, err := s.st.BulkRecipients(ctx, id, after, limit)
	s.done("bulk_recipients", start, err)
	return rs, err
}

func (s *measuredStore) BulkDeliveries(ctx context.Context, id string) (map[string]int, error) {
	start := time.Now()
	d, err := s.st.BulkDeliveries(ctx, id)
	s.done("bulk_deliveries", start, err)
	return d, err
}
