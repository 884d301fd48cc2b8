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
