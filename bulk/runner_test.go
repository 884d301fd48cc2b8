package bulk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/bulk"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

const testPhoneID = "106540352242922"

// meta is a Graph API whose answer to a send depends on its recipient:
// answer(to, attempt) gives the HTTP status and body, or "" to drop the
// connection after reading the request (the answer lost).
type meta struct {
	mu     sync.Mutex
	sends  map[string]int    // requests per recipient
	bodies map[string][]byte // the last request body per recipient
	at     []time.Time       // when each request came
	answer func(to string, attempt int) (int, string)
}

func (m *meta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		To string `json:"to"`
	}
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	m.mu.Lock()
	m.sends[body.To]++
	if m.bodies == nil {
		m.bodies = map[string][]byte{}
	}
	m.bodies[body.To] = b
	n := m.sends[body.To]
	m.at = append(m.at, time.Now())
	m.mu.Unlock()
	status, answer := http.StatusOK, ""
	if m.answer != nil {
		status, answer = m.answer(body.To, n)
	}
	if status == 0 {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	if answer == "" {
		answer = fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.%s.%d"}]}`,
			body.To, strings.TrimPrefix(body.To, "+"), strings.TrimPrefix(body.To, "+"), n)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

// client is a Graph client of m, without retries.
func (m *meta) client(t testing.TB) *graph.Client {
	m.sends = map[string]int{}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	gc, err := graph.NewClient("test-token", graph.WithBaseURL(srv.URL), graph.WithRetry(graph.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

func (m *meta) count(to string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sends[to]
}

func metaError(code int, msg string) string {
	return fmt.Sprintf(`{"error":{"message":%q,"type":"OAuthException","code":%d,"fbtrace_id":"A1"}}`, msg, code)
}

// recorder is the actions.Store of the tests: what the sends recorded.
type recorder struct {
	mu  sync.Mutex
	out []store.OutboundMessage
}

func (r *recorder) Save(ctx context.Context, b store.Batch) (int, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out = append(r.out, b.Outbound...)
	return 0, 0, nil
}
func (r *recorder) MarkRead(context.Context, string, string) (store.Conversation, bool, error) {
	return store.Conversation{}, false, nil
}
func (r *recorder) LatestChange(context.Context, string, string) (store.Change, bool, error) {
	return store.Change{}, false, nil
}

// env is a Runner on a fake store, sending to m.
type env struct {
	t    *testing.T
	jobs *fakeJobs
	rec  *recorder
	deps *actions.Deps
	m    *meta
	run  *bulk.Runner
	tl   map[string]tools.Tool
}

func newEnv(t *testing.T, m *meta, ttl time.Duration) *env {
	t.Helper()
	e := &env{t: t, jobs: newFakeJobs(), rec: &recorder{}, m: m, tl: map[string]tools.Tool{}}
	e.deps = &actions.Deps{Graph: m.client(t), Store: e.rec}
	e.run = bulk.NewRunner(bulk.Config{Jobs: e.jobs, Deps: e.deps, LeaseTTL: ttl, Poll: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	e.deps.BulkWake = e.run.Kick
	for _, tl := range bulk.Tools(e.deps, e.jobs) {
		e.tl[tl.Name] = tl
	}
	return e
}

// start runs the Runner until the test ends.
func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.run.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

func (e *env) call(ctx context.Context, name string, args any) tools.Result {
	e.t.Helper()
	b, _ := json.Marshal(args)
	return e.tl[name].Call(ctx, b)
}

// send starts a bulk send to the numbers and returns its job id.
func (e *env) send(to []string, extra map[string]any) string {
	e.t.Helper()
	var rs []map[string]any
	for _, n := range to {
		rs = append(rs, map[string]any{"to_number": n})
	}
	args := map[string]any{"phone_number_id": testPhoneID, "template_name": "hello_world", "recipients": rs}
	for k, v := range extra {
		args[k] = v
	}
	res := e.call(context.Background(), "WHATSAPP_SEND_TEMPLATE_BULK", args)
	if !res.Successful {
		e.t.Fatalf("send: %s", res.Error)
	}
	return res.Data.(*bulk.Report).JobID
}

// wait returns job id's report once it ended.
func (e *env) wait(id string) *bulk.Report {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := e.call(context.Background(), "WHATSAPP_GET_BULK_SEND", map[string]any{"job_id": id, "limit": 1000})
		if !res.Successful {
			e.t.Fatalf("get: %s", res.Error)
		}
		if r := res.Data.(*bulk.Report); r.Status != "running" {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s still running: %+v", id, res.Data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func numbers(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("+1650555%04d", i))
	}
	return out
}

// TestRunnerSendsEachOnce: every recipient gets exactly one request, in
// Seq order, and each accepted message is recorded like a single send.
func TestRunnerSendsEachOnce(t *testing.T) {
	e := newEnv(t, &meta{}, time.Second)
	e.start()
	to := numbers(60)
	id := e.send(to, map[string]any{"rate_per_second": 1000})
	r := e.wait(id)
	if r.Status != "sent" || r.Counts["sent"] != 60 || r.Total != 60 || len(r.Recipients) != 60 {
		t.Fatalf("report: %+v", r)
	}
	for i, n := range to {
		if c := e.m.count(n); c != 1 {
			t.Errorf("%s got %d requests", n, c)
		}
		if rr := r.Recipients[i]; rr.To != n || rr.MessageID == "" || rr.State != "sent" {
			t.Errorf("recipient %d: %+v", i, rr)
		}
	}
	if len(e.rec.out) != 60 || e.rec.out[0].Type != "template" || e.rec.out[0].PhoneNumberID != testPhoneID {
		t.Errorf("recorded %d messages: %+v", len(e.rec.out), e.rec.out[:min(1, len(e.rec.out))])
	}
	for i, s := range e.jobs.begun {
		if s != i {
			t.Fatalf("begun out of Seq order: %v", e.jobs.begun)
		}
	}
}

// TestRunnerOutcomes: each answer of Meta gives its recipient's state;
// only what Meta said it did not process is tried again.
func TestRunnerOutcomes(t *testing.T) {
	const (
		ok        = "+16505550000"
		refused   = "+16505550001" // 132000: failed
		throttled = "+16505550002" // 130429 once, then accepted
		lost      = "+16505550003" // answer lost: unknown
		server    = "+16505550004" // HTTP 500: unknown
		pair      = "+16505550005" // 131056 once, then accepted after the wait
	)
	m := &meta{answer: func(to string, n int) (int, string) {
		switch {
		case to == refused:
			return 400, metaError(132000, "Number of parameters does not match the expected number of params")
		case to == throttled && n == 1:
			return 400, metaError(130429, "Rate limit hit")
		case to == pair && n == 1:
			return 400, metaError(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit")
		case to == lost:
			return 0, ""
		case to == server:
			return 500, metaError(131000, "Something went wrong")
		}
		return 200, ""
	}}
	e := newEnv(t, m, time.Second)
	e.start()
	began := time.Now()
	id := e.send([]string{ok, refused, throttled, lost, server, pair}, nil)
	r := e.wait(id)
	took := time.Since(began)
	want := map[string]string{ok: "sent", refused: "failed", throttled: "sent", lost: "unknown", server: "unknown", pair: "sent"}
	for _, rr := range r.Recipients {
		if rr.State != want[rr.To] {
			t.Errorf("%s: %s (%s), want %s", rr.To, rr.State, rr.Error, want[rr.To])
		}
		if rr.To == refused && (rr.ErrorCode != 132000 || !strings.Contains(rr.Error, "Number of parameters")) {
			t.Errorf("refused: %+v", rr)
		}
	}
	wantSends := map[string]int{ok: 1, refused: 1, throttled: 2, lost: 1, server: 1, pair: 2}
	for n, c := range wantSends {
		if got := m.count(n); got != c {
			t.Errorf("%s: %d requests, want %d", n, got, c)
		}
	}
	if r.Status != "partially_sent" || r.Counts["sent"] != 3 || r.Counts["failed"] != 1 || r.Counts["unknown"] != 2 {
		t.Errorf("report: %+v", r)
	}
	if took < 5*time.Second {
		t.Errorf("the pair-rate hit was retried after %v, before Meta's wait", took)
	}
}

// TestRunnerStopsWhenLeaseLost: a worker whose lease renewal fails stops
// sending at once, without waiting for the lease to expire (another
// worker may take the job then).
func TestRunnerStopsWhenLeaseLost(t *testing.T) {
	e := newEnv(t, &meta{}, 3*time.Second) // renewed every second
	var mu sync.Mutex
	lost := false
	e.jobs.renew = func() bool { mu.Lock(); defer mu.Unlock(); return !lost }
	e.send(numbers(500), map[string]any{"rate_per_second": 50})
	e.start()
	time.Sleep(400 * time.Millisecond)
	mu.Lock()
	lost = true
	mu.Unlock()
	begun := func() int { e.jobs.mu.Lock(); defer e.jobs.mu.Unlock(); return len(e.jobs.begun) }
	time.Sleep(1100 * time.Millisecond) // the renewal at 1 s fails
	n := begun()
	time.Sleep(time.Second) // the lease has not expired yet: BeginBulkSend would still succeed
	if after := begun(); n == 0 || after != n || n > 100 {
		t.Errorf("%d sends begun by the renewal's failure, %d a second later; want the worker stopped at once", n, after)
	}
}

// TestRunnerResumesWithoutResending: a job whose worker died mid-send is
// taken over; the recipient in flight becomes unknown and is never sent
// again, the ones sent are not resent, the rest are sent.
func TestRunnerResumesWithoutResending(t *testing.T) {
	e := newEnv(t, &meta{}, time.Second)
	to := numbers(10)
	id := e.send(to, nil)
	// A dead worker's doing: 0–2 sent, 3 in flight.
	ctx := context.Background()
	if _, ok, _ := e.jobs.AcquireBulkJob(ctx, "dead", time.Millisecond); !ok {
		t.Fatal("no job")
	}
	for seq := range 4 {
		e.jobs.rs[id][seq].State = store.RecipientSending
		if seq < 3 {
			e.jobs.EndBulkSend(ctx, id, seq, store.RecipientSent, fmt.Sprint("wamid.before", seq), "", 0)
		}
	}
	time.Sleep(5 * time.Millisecond) // the dead worker's lease expires
	e.start()
	r := e.wait(id)
	for i, n := range to {
		want := 1
		if i < 4 {
			want = 0
		}
		if c := e.m.count(n); c != want {
			t.Errorf("%s: %d requests, want %d", n, c, want)
		}
	}
	if r.Recipients[3].State != "unknown" || r.Counts["sent"] != 9 || r.Status != "partially_sent" {
		t.Errorf("report: %+v", r)
	}
}

// TestRunnerPaces: sends keep to the job's rate.
func TestRunnerPaces(t *testing.T) {
	m := &meta{}
	e := newEnv(t, m, time.Second)
	e.start()
	id := e.send(numbers(60), map[string]any{"rate_per_second": 40})
	e.wait(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	// In any second: at most the rate plus the limiter's burst (4).
	for i := range m.at {
		n := 0
		for _, t2 := range m.at[i:] {
			if t2.Sub(m.at[i]) < time.Second {
				n++
			}
		}
		if n > 44 {
			t.Fatalf("%d sends within a second from send %d, over 40/s", n, i)
		}
	}
}
