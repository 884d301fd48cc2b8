package triggers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// abuseFlood is how many bad-signature POSTs each run sends.
const abuseFlood = 5000

// BenchmarkWebhookUnderBadSignatureFlood measures what a flood of forged
// deliveries costs Meta's real ones. The handler runs over loopback HTTP on
// a real SQLite store (synchronous=FULL) with JSON logs (discarded). One
// sender posts valid signed single-status deliveries one after another,
// first alone (unloaded), then while abuseFlood POSTs with a bad
// X-Hub-Signature-256 come from concurrent flooders (loaded). It reports
// the valid POSTs' median latency in both phases and their ratio (the
// target: under 2), and the flood's rate. The bad bodies are small, or 64
// KiB (each read whole and hashed before it is refused); the flooders send
// as fast as they are answered (a closed loop: the CPUs are saturated, and
// on a small machine the flooders' own HTTP clients, in this process, take
// their share too), or at a set rate. After each run
// the store must hold exactly the acknowledged valid events.
//
//	go test -run '^$' -bench WebhookUnderBadSignatureFlood -benchtime 3x ./triggers/
func BenchmarkWebhookUnderBadSignatureFlood(b *testing.B) {
	for _, c := range []struct {
		flooders int
		badSize  int
		rate     int // bad POSTs per second in all; 0: as fast as they are answered
	}{{8, 0, 0}, {32, 0, 0}, {8, 64 << 10, 0}, {8, 0, 2000}} {
		size, pace := "small", "max"
		if c.badSize > 0 {
			size = fmt.Sprintf("%dKiB", c.badSize>>10)
		}
		if c.rate > 0 {
			pace = fmt.Sprintf("%d/s", c.rate)
		}
		b.Run(fmt.Sprintf("bad=%s/flooders=%d/rate=%s", size, c.flooders, pace), func(b *testing.B) {
			var unloaded, loaded []time.Duration
			var floodTime time.Duration
			for range b.N {
				u, l, ft := abuseFloodRun(b, c.flooders, c.badSize, c.rate)
				unloaded, loaded, floodTime = append(unloaded, u...), append(loaded, l...), floodTime+ft
			}
			u50, l50 := abuseP50(unloaded), abuseP50(loaded)
			b.ReportMetric(u50, "unloaded-p50-ms")
			b.ReportMetric(l50, "loaded-p50-ms")
			b.ReportMetric(l50/u50, "loaded/unloaded")
			b.ReportMetric(float64(b.N*abuseFlood)/floodTime.Seconds(), "bad-posts/s")
			b.ReportMetric(float64(len(loaded))/float64(b.N), "valid-posts-during-flood")
		})
	}
}

func abuseP50(lats []time.Duration) float64 {
	if len(lats) == 0 {
		return 0
	}
	s := slices.Clone(lats)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}

// abuseFloodRun is one run on a fresh store: the valid sender's latencies
// alone and during the flood, and how long the flood took.
func abuseFloodRun(b *testing.B, flooders, badSize, rate int) (unloaded, loaded []time.Duration, flood time.Duration) {
	b.StopTimer()
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(triggers.NewWebhook(st, triggers.WebhookConfig{
		AppSecret: whSecret, VerifyToken: whToken, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}))
	defer srv.Close()
	newClient := func(conns int) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = conns
		return &http.Client{Transport: tr}
	}
	valid, bad := newClient(1), newClient(flooders)
	defer valid.CloseIdleConnections()
	defer bad.CloseIdleConnections()

	var seq, acked atomic.Int64
	post := func(c *http.Client, body []byte, sig string, want int) (time.Duration, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(cloudapi.SignatureHeader, sig)
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != want {
			return d, fmt.Errorf("answered %d, want %d", resp.StatusCode, want)
		}
		return d, nil
	}
	postValid := func() time.Duration {
		body := whBenchBody(seq.Add(1))
		d, err := post(valid, body, cloudapi.SignWebhook(whSecret, body), http.StatusOK)
		if err != nil {
			b.Fatal("valid POST:", err)
		}
		acked.Add(1)
		return d
	}
	for range 20 { // warm the connection, the store and the caches
		postValid()
	}

	b.StartTimer()
	for range 200 {
		unloaded = append(unloaded, postValid())
	}

	var (
		sent atomic.Int64
		wg   sync.WaitGroup
		done = make(chan struct{})
		errs = make(chan error, flooders)
	)
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	for range flooders {
		wg.Go(func() {
			for {
				if tick != nil {
					<-tick
				}
				n := sent.Add(1)
				if n > abuseFlood {
					return
				}
				body := whBenchBody(1_000_000_000 + n)
				if badSize > 0 {
					body = append(body[:len(body)-1], append(bytes.Repeat([]byte(" "), badSize), '}')...)
				}
				if _, err := post(bad, body, cloudapi.SignWebhook("not-"+whSecret, body), http.StatusUnauthorized); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() { wg.Wait(); flood = time.Since(start); close(done) }()
	for {
		select {
		case <-done:
		default:
			loaded = append(loaded, postValid())
			continue
		}
		break
	}
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal("bad-signature POST:", err)
	}

	// Exactly the acknowledged valid events are stored, none of the flood.
	var stored int
	for after := int64(0); ; {
		evs, next, err := st.Statuses(context.Background(), store.Query{After: after, Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		stored += len(evs)
		if len(evs) == 0 {
			break
		}
		after = next
	}
	if stored != int(acked.Load()) {
		b.Fatalf("%d events stored, %d acknowledged", stored, acked.Load())
	}
	b.StartTimer()
	return unloaded, loaded, flood
}
