package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/flood"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// Store outages (issue 12): the event store stops taking writes under a
// running server, SQLite because its filesystem is full and PostgreSQL
// because the database is stopped, while signed webhooks keep arriving and
// every one answered otherwise than 200 is delivered again until it gets a
// 200, as Meta does. During the outage /webhook answers 5xx and /readyz
// 503; once the store is back the same process (no restart) answers 200
// again, and afterwards the store holds every event of every body ever
// answered 200, exactly once, stored no later than that answer (a 200 for
// an event stored only by a later redelivery would show as a later
// ReceivedAt). The answers of each phase are counted and logged.
//
// Run them alone with
//
//	go test -race -run 'TestOutage' -v ./cmd/whatsapp-mcp/
//
// The SQLite test mounts a tmpfs (root, Linux); without the privilege it is
// skipped, and fails under CI=true. The PostgreSQL one starts its own
// cluster (storetest.StartPostgres), never the machine's.

const (
	outageSecret  = "outage-app-secret-5c1f0e"
	outagePhone   = testPhone
	outageWorkers = 8
	// outagePendingCap bounds the bodies waiting for a redelivery: past it
	// the flood only retries, as Meta's queue for one app is bounded too.
	outagePendingCap = 200
)

// TestOutageSQLiteDiskFull: the store on a 16 MB tmpfs, all of it but
// 1 MB taken by a file of the test's, that 1 MB filled by the flood itself
// until SQLite reports the disk full; then the file is deleted.
//
// Not smaller: SQLite checkpoints its WAL into the database file once the
// WAL holds 1000 pages (about 4 MB), and needs room for the database to
// grow then. On a 4 MB filesystem the WAL alone fills it again after the
// space is freed, no checkpoint can ever succeed, and the store stays full.
func TestOutageSQLiteDiskFull(t *testing.T) {
	dir := outageTmpfs(t, "16m")
	path := filepath.Join(dir, "events.db")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := startHTTP(t, ctx, outageEnv(t), "--store", path)
	f := newOutageFlood(t, p, "outage-sqlite")
	f.dir = dir

	// Everything the server created is on the tmpfs now: fill the rest,
	// then give back a little room for the flood to use up.
	filler := filepath.Join(dir, "filler")
	outageFill(t, filler, 1<<20)

	healthy := f.phase("healthy")
	f.start()
	f.until("the first 5xx or /readyz 503", func(ph *outagePhaseCounts) bool {
		return ph.fail.Load() > 0 || ph.readyDown.Load() > 0
	})

	f.phase("filling")
	// Full: no write fits any more, /readyz says so.
	f.waitReady(http.StatusServiceUnavailable)
	full := f.phase("full")
	f.hold(time.Second, 50)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	f.phase("recovering")
	f.waitReady(http.StatusOK)
	f.phase("recovered")
	f.drain()
	f.redeliver()
	f.stopFlood()
	p.stop(t)

	if healthy.ok.Load() == 0 {
		t.Errorf("nothing was acknowledged before the disk was full")
	}
	if full.fail.Load() == 0 {
		t.Errorf("no 5xx while the disk was full")
	}
	if n := full.readyOK.Load(); n > 0 {
		t.Errorf("/readyz answered 200 %d times while the disk was full", n)
	}
	st := outageOpen(t, path)
	f.verify(st)
}

// TestOutagePostgresStopped: the store on a private cluster, stopped
// (pg_ctl stop -m fast) in the middle of the flood and started again.
//
// Fast, not immediate: the cluster runs with fsync and synchronous_commit
// off (it lives for one test), so an immediate stop may lose transactions
// PostgreSQL itself reported committed, which would be the cluster's
// settings, not the server, losing acknowledged events.
func TestOutagePostgresStopped(t *testing.T) {
	dsn, stop, start := storetest.StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := startHTTP(t, ctx, outageEnv(t), "--store", dsn)
	f := newOutageFlood(t, p, "outage-pg")

	healthy := f.phase("healthy")
	f.start()
	f.until("200 acknowledged bodies", func(ph *outagePhaseCounts) bool { return ph.ok.Load() >= 200 })

	f.phase("stopping")
	stop()
	down := f.phase("down")
	f.waitReady(http.StatusServiceUnavailable)
	f.hold(time.Second, 50)

	f.phase("starting")
	start()
	f.phase("recovering")
	f.waitReady(http.StatusOK)
	f.phase("recovered")
	f.drain()
	f.redeliver()
	f.stopFlood()
	p.stop(t)

	if healthy.readyDown.Load() > 0 {
		t.Errorf("/readyz answered 503 before the database was stopped")
	}
	if down.fail.Load() == 0 {
		t.Errorf("no 5xx while the database was down")
	}
	if down.readyOK.Load() > 0 {
		t.Errorf("/readyz answered 200 %d times while the database was down", down.readyOK.Load())
	}
	st := outageOpen(t, dsn)
	f.verify(st)
}

// outageEnv runs the server against a fake Graph API (never called) with
// the app secret the flood signs with.
func outageEnv(t *testing.T) []string {
	g := newFakeGraph(t)
	return binEnv(t, "WHATSAPP_ACCESS_TOKEN="+testToken, "WHATSAPP_GRAPH_URL="+g.URL,
		"WHATSAPP_WABA_ID="+testWABA, "WHATSAPP_APP_SECRET="+outageSecret)
}

// outageTmpfs mounts a tmpfs of that size on a new directory until the
// test ends (after the server it holds is stopped: cleanups run last
// registered first).
func outageTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("mounting a %s tmpfs (needs root on Linux): %v %s", size, err, bytes.TrimSpace(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// outageFill writes path until the filesystem is full, then gives back
// room bytes.
func outageFill(t *testing.T, path string, room int64) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	chunk := make([]byte, 64<<10)
	var n int64
	for {
		w, err := fh.Write(chunk)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < room {
		t.Fatalf("only %d bytes free on the tmpfs", n)
	}
	if err := fh.Truncate(n - room); err != nil {
		t.Fatal(err)
	}
	t.Logf("filler: %d KB, %d KB left for the flood", (n-room)>>10, room>>10)
}

func outageOpen(t *testing.T, location string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, location)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// outageBody is one webhook delivery of the flood's plan.
type outageBody struct {
	flood.Body
	// ackedAt is when the first 200 for it arrived (zero until then);
	// guarded by outageFlood.mu, as failures, the answers other than 200
	// before it.
	ackedAt  time.Time
	failures int
}

// outagePhaseCounts are the answers of one phase: /webhook's 200s, 5xx,
// other statuses and transport errors; /readyz's 200s, 503s and others.
type outagePhaseCounts struct {
	name                          string
	began                         time.Time
	ended                         atomic.Int64 // unix nanoseconds, once the next phase began
	ok, fail, other, neterr       atomic.Int64
	readyOK, readyDown, readyElse atomic.Int64
}

func (ph *outagePhaseCounts) String() string {
	end := time.Now()
	if n := ph.ended.Load(); n != 0 {
		end = time.Unix(0, n)
	}
	return fmt.Sprintf("phase %-11s %6s  webhook: %5d × 200, %5d × 5xx, %d other, %d transport errors; /readyz: %d × 200, %d × 503, %d other",
		ph.name, end.Sub(ph.began).Round(time.Millisecond), ph.ok.Load(), ph.fail.Load(), ph.other.Load(), ph.neterr.Load(), ph.readyOK.Load(), ph.readyDown.Load(), ph.readyElse.Load())
}

// outageFlood is Meta delivering webhooks to one server: outageWorkers
// senders, each redelivering what was not answered 200 (half of the time,
// a new body otherwise, until outagePendingCap are waiting), and a /readyz
// prober.
type outageFlood struct {
	t       *testing.T
	p       *httpProcess
	dir     string // the store's directory, listed when the test fails (SQLite)
	client  *http.Client
	stopped chan struct{}
	wg      sync.WaitGroup

	cur      atomic.Pointer[outagePhaseCounts]
	phases   []*outagePhaseCounts // the test goroutine's only
	lastCode atomic.Int64         // /readyz's last answer
	fresh    atomic.Bool          // whether workers make new bodies
	inflight atomic.Int64

	plan []flood.Body // the deliveries to make, in order

	mu      sync.Mutex
	bodies  []*outageBody // those of plan made so far
	pending []*outageBody
	turn    int
	odd     []string // the first unexpected answers, for the failure message
}

// newOutageFlood prepares a flood of the plan named prefix: far more
// events than a test sends, so it never runs dry before its drain.
func newOutageFlood(t *testing.T, p *httpProcess, prefix string) *outageFlood {
	tr := &http.Transport{MaxIdleConnsPerHost: outageWorkers + 2}
	plan := flood.Plan{Events: 5000, WABAIDs: []string{testWABA}, Phones: []string{outagePhone}, Prefix: prefix, Seed: 12}
	f := &outageFlood{t: t, p: p, client: &http.Client{Transport: tr, Timeout: 20 * time.Second}, stopped: make(chan struct{}),
		plan: plan.Bodies()}
	f.fresh.Store(true)
	t.Cleanup(func() {
		f.stopFlood()
		tr.CloseIdleConnections()
	})
	return f
}

// phase starts counting answers under name; the previous phase's figures
// are logged.
func (f *outageFlood) phase(name string) *outagePhaseCounts {
	ph := &outagePhaseCounts{name: name, began: time.Now()}
	if prev := f.cur.Swap(ph); prev != nil {
		prev.ended.Store(ph.began.UnixNano())
		f.t.Log(prev)
	}
	f.phases = append(f.phases, ph)
	return ph
}

// start starts the prober, waits until /readyz answers 200, then starts
// the senders.
func (f *outageFlood) start() {
	f.t.Helper()
	f.wg.Add(1)
	go f.prober()
	f.waitReady(http.StatusOK)
	for range outageWorkers {
		f.wg.Add(1)
		go f.worker()
	}
}

// stopFlood stops the workers and the prober and logs the last phase.
func (f *outageFlood) stopFlood() {
	select {
	case <-f.stopped:
		return
	default:
	}
	close(f.stopped)
	f.wg.Wait()
	if ph := f.cur.Load(); ph != nil {
		f.t.Log(ph)
	}
}

func (f *outageFlood) isStopped() bool {
	select {
	case <-f.stopped:
		return true
	default:
		return false
	}
}

func (f *outageFlood) worker() {
	defer f.wg.Done()
	for !f.isStopped() {
		b := f.take()
		if b == nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		code, detail := f.post(b)
		ph := f.cur.Load()
		switch {
		case code == http.StatusOK:
			ph.ok.Add(1)
			f.mu.Lock()
			if b.ackedAt.IsZero() {
				b.ackedAt = time.Now()
			}
			f.mu.Unlock()
		case code >= 500:
			ph.fail.Add(1)
		case code == 0:
			ph.neterr.Add(1)
		default:
			ph.other.Add(1)
		}
		if code != http.StatusOK {
			f.mu.Lock()
			f.pending = append(f.pending, b)
			b.failures++
			if code < 500 && len(f.odd) < 5 { // a transport error (code 0) or a 4xx
				f.odd = append(f.odd, fmt.Sprintf("%d %s", code, detail))
			}
			f.mu.Unlock()
			f.inflight.Add(-1)
			time.Sleep(10 * time.Millisecond) // Meta backs off too; and the server logs each failure
			continue
		}
		f.inflight.Add(-1)
	}
}

// take returns the next body to send (a redelivery or a new one), counted
// in flight, or nil when there is none to send now.
func (f *outageFlood) take() *outageBody {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.turn++
	retry := len(f.pending) > 0 && (f.turn%2 == 0 || len(f.pending) >= outagePendingCap || !f.fresh.Load())
	var b *outageBody
	switch {
	case retry:
		b = f.pending[0]
		f.pending = f.pending[1:]
	case f.fresh.Load():
		if len(f.bodies) == len(f.plan) {
			return nil // the plan is spent: only redeliveries now
		}
		b = &outageBody{Body: f.plan[len(f.bodies)]}
		f.bodies = append(f.bodies, b)
	default:
		return nil
	}
	f.inflight.Add(1)
	return b
}

func (f *outageFlood) post(b *outageBody) (int, string) {
	req, err := http.NewRequest(http.MethodPost, f.p.base+"/webhook", bytes.NewReader(b.Payload))
	if err != nil {
		f.t.Error(err)
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(cloudapi.SignatureHeader, cloudapi.SignWebhook(outageSecret, b.Payload))
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return resp.StatusCode, strings.TrimSpace(string(msg))
}

func (f *outageFlood) prober() {
	defer f.wg.Done()
	for !f.isStopped() {
		code := 0
		if resp, err := f.client.Get(f.p.base + "/readyz"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
		ph := f.cur.Load()
		switch code {
		case http.StatusOK:
			ph.readyOK.Add(1)
		case http.StatusServiceUnavailable:
			ph.readyDown.Add(1)
		default:
			ph.readyElse.Add(1)
		}
		f.lastCode.Store(int64(code))
		time.Sleep(25 * time.Millisecond)
	}
}

// until waits (at most 20 s) for cond on the current phase's counts.
func (f *outageFlood) until(what string, cond func(*outagePhaseCounts) bool) {
	f.t.Helper()
	ph := f.cur.Load()
	for deadline := time.Now().Add(20 * time.Second); !cond(ph); {
		if time.Now().After(deadline) {
			f.fail("never saw %s in phase %s", what, ph)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitReady waits (at most 20 s) until the prober gets code from /readyz
// in the current phase.
func (f *outageFlood) waitReady(code int) {
	f.t.Helper()
	ph := f.cur.Load()
	got := &ph.readyOK
	if code != http.StatusOK {
		got = &ph.readyDown
	}
	f.until(fmt.Sprintf("/readyz %d", code), func(*outagePhaseCounts) bool { return got.Load() > 0 && f.lastCode.Load() == int64(code) })
}

// hold lets the flood run for d and until the current phase has at least
// n answers from /webhook.
func (f *outageFlood) hold(d time.Duration, n int64) {
	f.t.Helper()
	time.Sleep(d)
	f.until(fmt.Sprintf("%d answers", n), func(ph *outagePhaseCounts) bool {
		return ph.ok.Load()+ph.fail.Load()+ph.other.Load()+ph.neterr.Load() >= n
	})
}

// drain stops making new bodies and waits (at most 30 s) until every body
// made has been answered 200.
func (f *outageFlood) drain() {
	f.t.Helper()
	f.fresh.Store(false)
	for deadline := time.Now().Add(30 * time.Second); ; {
		f.mu.Lock()
		left := len(f.pending)
		f.mu.Unlock()
		if left == 0 && f.inflight.Load() == 0 {
			return
		}
		if time.Now().After(deadline) {
			f.fail("%d bodies still not answered 200 after the store came back", left+int(f.inflight.Load()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// redeliver sends every body once more, as Meta does when it missed an
// answer: each must be answered 200 and stored no second time.
func (f *outageFlood) redeliver() {
	f.t.Helper()
	ph := f.phase("redelivered")
	f.mu.Lock()
	all := append([]*outageBody(nil), f.bodies...)
	f.mu.Unlock()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range outageWorkers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(all)); i = next.Add(1) - 1 {
				switch code, detail := f.post(all[i]); {
				case code == http.StatusOK:
					ph.ok.Add(1)
				case code >= 500:
					ph.fail.Add(1)
				default:
					ph.other.Add(1)
					f.mu.Lock()
					if len(f.odd) < 5 {
						f.odd = append(f.odd, fmt.Sprintf("%d %s", code, detail))
					}
					f.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if ph.ok.Load() != int64(len(all)) {
		f.fail("redelivered %d bodies: %s", len(all), ph)
	}
}

// fail stops the test with the figures so far and the tail of the
// server's output.
func (f *outageFlood) fail(format string, args ...any) {
	f.t.Helper()
	f.stopFlood() // before the server goes: what it answered until now counts
	out := f.p.output.String()
	if len(out) > 4000 {
		out = "…" + out[len(out)-4000:]
	}
	f.mu.Lock()
	odd := f.odd
	f.mu.Unlock()
	f.t.Fatalf("%s\nunexpected answers: %q\n%sserver output:\n%s", fmt.Sprintf(format, args...), odd, f.files(), out)
}

// files lists the files of the store's directory, if it is on disk.
func (f *outageFlood) files() string {
	if f.dir == "" {
		return ""
	}
	var b strings.Builder
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			fmt.Fprintf(&b, "  %s: %d bytes\n", e.Name(), fi.Size())
		}
	}
	return "files in " + f.dir + ":\n" + b.String()
}

// verify reads the whole store (the server stopped) and checks it holds
// every event of every body, each once, stored no later than its body's
// first 200. It logs the figures.
func (f *outageFlood) verify(st store.Store) {
	t := f.t
	t.Helper()
	for _, ph := range f.phases {
		if ph.other.Load()+ph.neterr.Load() > 0 {
			t.Errorf("answers neither 200 nor 5xx: %s; first ones: %q", ph, f.odd)
		}
	}
	ctx := context.Background()
	statuses := map[string][]time.Time{}
	for after := int64(0); ; {
		evs, next, err := st.Statuses(ctx, store.Query{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			k := e.MessageID + "/" + e.Status
			statuses[k] = append(statuses[k], e.ReceivedAt)
		}
		if len(evs) == 0 {
			break
		}
		after = next
	}
	inbound := map[string][]time.Time{}
	for after := int64(0); ; {
		msgs, next, err := st.Inbound(ctx, store.InboundQuery{PhoneNumberID: outagePhone, After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			inbound[m.MessageID] = append(inbound[m.MessageID], m.ReceivedAt)
		}
		if len(msgs) == 0 {
			break
		}
		after = next
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	var sentS, sentI, acked, retried, missing, doubled, late int
	check := func(key string, got []time.Time, ackedAt time.Time) {
		switch {
		case len(got) == 0:
			missing++
			if missing <= 5 {
				t.Errorf("%s, of a body answered 200 at %s, is not in the store", key, ackedAt.Format(time.RFC3339Nano))
			}
		case len(got) > 1:
			doubled++
			if doubled <= 5 {
				t.Errorf("%s is stored %d times", key, len(got))
			}
		case got[0].After(ackedAt):
			late++
			if late <= 5 {
				t.Errorf("%s was stored at %s, after its body was answered 200 at %s: the 200 came before it was stored",
					key, got[0].Format(time.RFC3339Nano), ackedAt.Format(time.RFC3339Nano))
			}
		}
	}
	for _, b := range f.bodies {
		if b.ackedAt.IsZero() {
			t.Errorf("a body was never answered 200")
			continue
		}
		acked++
		if b.failures > 0 {
			retried++
		}
		for _, e := range b.Events {
			switch e.Kind {
			case flood.Status:
				sentS++
				check(e.Key(), statuses[e.MessageID+"/"+e.Status], b.ackedAt)
			case flood.Inbound:
				sentI++
				check(e.Key(), inbound[e.MessageID], b.ackedAt)
			default:
				t.Fatalf("an event of kind %q", e.Kind)
			}
		}
	}
	if len(statuses) != sentS || len(inbound) != sentI {
		t.Errorf("the store holds %d statuses and %d inbound messages, the flood sent %d and %d", len(statuses), len(inbound), sentS, sentI)
	}
	if retried == 0 {
		t.Errorf("no body was answered 200 after a failure: the outage was not seen")
	}
	t.Logf("figures: %d bodies sent and answered 200 (%d statuses, %d inbound messages), %d of them after 5xx answers, all redelivered once more; "+
		"stored %d statuses, %d inbound messages; missing %d, doubled %d, stored after their 200 %d",
		acked, sentS, sentI, retried, len(statuses), len(inbound), missing, doubled, late)
}
