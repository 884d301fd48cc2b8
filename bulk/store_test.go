package bulk_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/bulk"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// openReal opens the real store at loc, with deps sending to m and the
// bulk tools (GET, SEND) on them.
func openReal(tb testing.TB, loc string, m *meta) (store.Store, *actions.Deps, []tools.Tool) {
	st, err := store.Open(context.Background(), loc)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	deps := &actions.Deps{Graph: m.client(tb), Store: st}
	return st, deps, bulk.Tools(deps, st)
}

// startRunner runs a Runner as owner until the returned stop (or the
// test's end).
func startRunner(tb testing.TB, st store.Store, deps *actions.Deps, owner string) (r *bulk.Runner, stop func()) {
	r = bulk.NewRunner(bulk.Config{Jobs: st, Deps: deps, Owner: owner, LeaseTTL: 600 * time.Millisecond, Poll: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	tb.Cleanup(stop)
	return r, stop
}

// jobArgs is WHATSAPP_SEND_TEMPLATE_BULK's input to numbers(n) at rate.
func jobArgs(n, rate int) json.RawMessage {
	var rs []map[string]any
	for _, to := range numbers(n) {
		rs = append(rs, map[string]any{"to_number": to})
	}
	b, _ := json.Marshal(map[string]any{"phone_number_id": testPhoneID, "template_name": "hello_world", "rate_per_second": rate, "recipients": rs})
	return b
}

func TestRunnersShareOneStoreSQLite(t *testing.T) {
	runnersShare(t, "file:"+filepath.Join(t.TempDir(), "events.db"))
}

func TestRunnersShareOneStorePostgres(t *testing.T) {
	runnersShare(t, storetest.PostgresDSN(t))
}

// runnersShare: two Runners on the real store (two replicas' worth) share
// one job; one stops mid-job and the other finishes it. Each recipient is
// sent exactly once, and each message is recorded in the conversation
// store like a single send, so its statuses count.
func runnersShare(t *testing.T, loc string) {
	ctx := context.Background()
	m := &meta{}
	st, deps, tl := openReal(t, loc, m)
	_, stopA := startRunner(t, st, deps, "replica-a")
	startRunner(t, st, deps, "replica-b")
	res := tl[1].Call(ctx, jobArgs(300, 300))
	if !res.Successful {
		t.Fatal(res.Error)
	}
	id := res.Data.(*bulk.Report).JobID
	for {
		j, _, err := st.GetBulkJob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Counts[store.RecipientSent] >= 100 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Whichever holds it, one replica stops; the other resumes at once
	// (a clean stop releases the lease) or already holds it.
	stopA()
	var r *bulk.Report
	for deadline := time.Now().Add(30 * time.Second); ; {
		out := tl[0].Call(ctx, json.RawMessage(`{"job_id":"`+id+`","limit":1000}`))
		if r = out.Data.(*bulk.Report); r.Status != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.Status != "sent" || r.Counts["sent"] != 300 {
		t.Fatalf("report: %+v", r)
	}
	for i, n := range numbers(300) {
		if c := m.count(n); c != 1 {
			t.Errorf("%s: %d sends", n, c)
		}
		if rr := r.Recipients[i]; rr.MessageID == "" {
			t.Errorf("recipient %d has no message id: %+v", i, rr)
		}
	}
	if d := r.Deliveries; d["accepted"] != 300 {
		t.Errorf("deliveries %v, want every message recorded and accepted (no status yet)", d)
	}
}

// BenchmarkRunner: how fast one Runner works a job of 1,000 recipients at
// the highest rate (1,000/s) against a Graph API on loopback, each send
// committed before and after (sends/s is the figure; the pace caps it).
func BenchmarkRunnerSQLite(b *testing.B) {
	benchRunner(b, "file:"+filepath.Join(b.TempDir(), "events.db"))
}

func BenchmarkRunnerPostgres(b *testing.B) { benchRunner(b, storetest.PostgresDSN(b)) }

func benchRunner(b *testing.B, loc string) {
	ctx := context.Background()
	st, deps, tl := openReal(b, loc, &meta{})
	r, _ := startRunner(b, st, deps, "bench")
	args := jobArgs(bulk.MaxRecipients, bulk.MaxRate)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		id := tl[1].Call(ctx, args).Data.(*bulk.Report).JobID
		r.Kick()
		for {
			j, _, _ := st.GetBulkJob(ctx, id)
			if j.State != store.JobRunning {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	b.ReportMetric(float64(bulk.MaxRecipients*b.N)/time.Since(start).Seconds(), "sends/s")
}
