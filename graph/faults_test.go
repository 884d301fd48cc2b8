package graph_test

// Graph faults (issue 12), counted by the emulator (sandbox: its request
// counter, FaultCounts and SentMessages), not inferred from the client:
// reads through 20 % 5xx and 10 % 130429 answers, throttled sends retried
// to exactly one message each, a send whose answer is lost sent once and
// reported as possibly sent, and a Graph API that never answers failing the
// call at the caller's deadline without leaking goroutines.
//
// The faults are seeded, so each run draws the same ones. The delays of the
// retry policy are shrunk (the product's attempts, its growth and jitter are
// kept) so the file runs in a few seconds. The long version runs 100,000
// reads and 10,000 sends:
//
//	WHATSAPP_LONG=1 go test ./graph -run TestFaults -v

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

// faultsPolicy is graph.DefaultRetryPolicy with delays in milliseconds
// instead of hundreds of them: the same attempts, the same growth.
var faultsPolicy = graph.RetryPolicy{
	MaxAttempts:  graph.DefaultRetryPolicy.MaxAttempts,
	ReadAttempts: graph.DefaultRetryPolicy.ReadAttempts,
	BaseDelay:    graph.DefaultRetryPolicy.BaseDelay / 300,
	MaxDelay:     graph.DefaultRetryPolicy.MaxDelay / 300,
}

// faultsMix is the mix: 20 % of all answers 5xx and 10 % 130429. The
// sandbox draws the throttle after the 5xx, so 0.125 of the other 80 %.
var faultsMix = sandbox.Faults{ServerErrorRate: 0.2, ThrottleRate: 0.125}

func faultsLong() bool { return os.Getenv("WHATSAPP_LONG") != "" }

type faultsEnv struct {
	sb  *sandbox.Sandbox
	srv *httptest.Server
	c   *graph.Client
}

// faultsStart starts the emulator with f and a client on it; opts come after
// the base URL and HTTP client (no WithRetry: the product's default policy).
func faultsStart(t *testing.T, f sandbox.Faults, opts ...graph.Option) *faultsEnv {
	t.Helper()
	sb := sandbox.New(sandbox.Config{Faults: f})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = sb.Close() })
	c, err := graph.NewClient(sandbox.DefaultToken, append([]graph.Option{
		graph.WithBaseURL(srv.URL), graph.WithHTTPClient(srv.Client())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &faultsEnv{sb: sb, srv: srv, c: c}
}

// faultsTemplate is a template send (delivered whatever the customer
// window) tagged so the emulator's record of it can be found.
func faultsTemplate(tag string) *graph.Message {
	return &graph.Message{To: "+16505551234", Type: "template", BizOpaqueCallbackData: tag,
		Template: &graph.Template{Name: "hello_world", Language: graph.TemplateLanguage{Code: "en_US"}}}
}

// sentTags counts the emulator's accepted messages per tag, and maps each
// tag to its wamid.
func sentTags(t *testing.T, sb *sandbox.Sandbox) (map[string]int, map[string]string) {
	t.Helper()
	n, ids := map[string]int{}, map[string]string{}
	for _, m := range sb.SentMessages() {
		var body struct {
			Tag string `json:"biz_opaque_callback_data"`
		}
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatalf("emulator recorded a bad body: %v", err)
		}
		n[body.Tag]++
		ids[body.Tag] = m.ID
	}
	return n, ids
}

// faultsMaxFailures is how many of n calls may fail when each attempt is
// faulted with probability p and a call makes at most attempts of them: the
// binomial mean plus 4 standard deviations, or 0 when even one failure is
// unlikely (mean under 0.05), so that a policy with enough attempts must
// make every call succeed.
func faultsMaxFailures(n int, p float64, attempts int) int {
	q := math.Pow(p, float64(attempts))
	mean := float64(n) * q
	if mean < 0.05 {
		return 0
	}
	return int(math.Ceil(mean + 4*math.Sqrt(mean*(1-q))))
}

// faultsShare checks that n of requests is about share p of them (4
// standard deviations of a binomial).
func faultsShare(t *testing.T, what string, n, requests int64, p float64) {
	t.Helper()
	sd := math.Sqrt(float64(requests) * p * (1 - p))
	if d := math.Abs(float64(n) - p*float64(requests)); d > 4*sd {
		t.Errorf("%s answers: %d of %d requests, want about %.0f %%", what, n, requests, 100*p)
	}
}

// TestFaultsReads: with 20 % 5xx and 10 % 130429 answers, reads through the
// product's retry policy succeed within their deadline. The emulator's
// request count is the client's attempts; a read fails only after all its
// attempts were faulted.
//
// A read fails only when all its ReadAttempts (10) answers are faults:
// 0.3^10, about 6 in a million, so the test asserts that all 1,000 succeed
// (with 4 attempts, as sends have, about 8 of 1,000 would fail).
func TestFaultsReads(t *testing.T) {
	reads := 1000
	if faultsLong() {
		reads = 100_000
	}
	f := faultsMix
	f.Seed = 12
	e := faultsStart(t, sandbox.Faults{}, graph.WithRetry(faultsPolicy))
	ctx := context.Background()
	// A media object to read; the faults start after the upload.
	mediaID, _, err := e.c.UploadMedia(ctx, sandbox.PhoneNumberID, "a.txt", "text/plain", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	e.sb.SetFaults(f)
	before := e.sb.RequestCount()

	readers := []struct {
		name string
		read func(ctx context.Context) (*graph.Response, error)
	}{
		{"GetPhoneNumber", func(ctx context.Context) (*graph.Response, error) {
			_, r, err := e.c.GetPhoneNumber(ctx, sandbox.PhoneNumberID, nil)
			return r, err
		}},
		{"ListPhoneNumbers", func(ctx context.Context) (*graph.Response, error) {
			_, r, err := e.c.ListPhoneNumbers(ctx, sandbox.WABAID, nil)
			return r, err
		}},
		{"ListTemplates", func(ctx context.Context) (*graph.Response, error) {
			_, r, err := e.c.ListTemplates(ctx, sandbox.WABAID, nil)
			return r, err
		}},
		{"GetMedia", func(ctx context.Context) (*graph.Response, error) {
			_, r, err := e.c.GetMedia(ctx, mediaID, sandbox.PhoneNumberID)
			return r, err
		}},
	}
	var (
		attempts, maxAttempts int
		hist                  = map[int]int{}
		failed                []string
	)
	for i := range reads {
		rd := readers[i%len(readers)]
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := rd.read(rctx)
		cancel()
		if resp == nil {
			t.Fatalf("read %d (%s): no Response: %v", i, rd.name, err)
		}
		attempts += resp.Attempts
		maxAttempts = max(maxAttempts, resp.Attempts)
		hist[resp.Attempts]++
		if err == nil {
			continue
		}
		failed = append(failed, fmt.Sprintf("read %d (%s) after %d attempts: %v", i, rd.name, resp.Attempts, err))
		var ge *graph.Error
		if !errors.As(err, &ge) || !(ge.HTTPStatus >= 500 || ge.Code == graph.CodeThroughput) {
			t.Errorf("read %d failed with another error than the injected faults: %v", i, err)
		}
		if resp.Attempts != faultsPolicy.ReadAttempts {
			t.Errorf("read %d gave up after %d attempts, want %d", i, resp.Attempts, faultsPolicy.ReadAttempts)
		}
	}
	requests := e.sb.RequestCount() - before
	fc := e.sb.FaultCounts()
	t.Logf("%d reads: %d requests counted by the emulator (%.3f per read), max %d attempts, reads per attempts %v; "+
		"the emulator answered %d 5xx (%.1f %%) and %d 130429 (%.1f %%); %d reads failed after %d faulted attempts",
		reads, requests, float64(requests)/float64(reads), maxAttempts, hist,
		fc.ServerErrors, 100*float64(fc.ServerErrors)/float64(requests), fc.Throttled, 100*float64(fc.Throttled)/float64(requests),
		len(failed), faultsPolicy.ReadAttempts)
	for _, f := range failed[:min(len(failed), 20)] {
		t.Log(f)
	}
	if requests != int64(attempts) {
		t.Errorf("the emulator counted %d requests, the client reports %d attempts", requests, attempts)
	}
	if ok := int64(reads - len(failed)); requests-fc.ServerErrors-fc.Throttled != ok {
		t.Errorf("the emulator answered %d requests without a fault, but %d reads succeeded", requests-fc.ServerErrors-fc.Throttled, ok)
	}
	if maxAttempts > faultsPolicy.ReadAttempts {
		t.Errorf("a read made %d attempts, over the policy's %d", maxAttempts, faultsPolicy.ReadAttempts)
	}
	faultsShare(t, "5xx", fc.ServerErrors, requests, 0.2)
	faultsShare(t, "130429", fc.Throttled, requests, 0.1)
	if limit := faultsMaxFailures(reads, 0.3, faultsPolicy.ReadAttempts); len(failed) > limit {
		t.Errorf("%d of %d reads failed, want at most %d with %d attempts each", len(failed), reads, limit, faultsPolicy.ReadAttempts)
	}
}

// TestFaultsThrottledSends: a send answered 130429 was not processed by
// Meta; it is retried and succeeds, and the emulator holds each successful
// send's message exactly once, with the wamid the client got. A send
// answered 5xx is not retried (Meta may have processed it): the emulator
// counts one 5xx per such failed send.
func TestFaultsThrottledSends(t *testing.T) {
	sends := 200
	if faultsLong() {
		sends = 10_000
	}
	for _, tc := range []struct {
		name   string
		faults sandbox.Faults
	}{
		{"10 % 130429", sandbox.Faults{ThrottleRate: 0.1, Seed: 7}},
		{"20 % 5xx and 10 % 130429", sandbox.Faults{ServerErrorRate: faultsMix.ServerErrorRate, ThrottleRate: faultsMix.ThrottleRate, Seed: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := faultsStart(t, tc.faults, graph.WithRetry(faultsPolicy))
			var (
				attempts, retried, serverErr, exhausted int
				got                                     = map[string]string{} // tag → wamid of the successful sends
			)
			for i := range sends {
				tag := fmt.Sprintf("faults-send-%d", i)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				res, resp, err := e.c.SendMessage(ctx, sandbox.PhoneNumberID, faultsTemplate(tag))
				cancel()
				if resp == nil {
					t.Fatalf("send %d: no Response: %v", i, err)
				}
				attempts += resp.Attempts
				if resp.Attempts > 1 {
					retried++
				}
				var ge *graph.Error
				switch {
				case err == nil:
					if len(res.Messages) != 1 {
						t.Fatalf("send %d: answer %+v", i, res)
					}
					got[tag] = res.Messages[0].ID
				case errors.As(err, &ge) && ge.HTTPStatus >= 500:
					serverErr++
				case errors.As(err, &ge) && ge.Code == graph.CodeThroughput && resp.Attempts == faultsPolicy.MaxAttempts:
					exhausted++
				default:
					t.Errorf("send %d failed after %d attempts: %v", i, resp.Attempts, err)
				}
			}
			fc := e.sb.FaultCounts()
			requests := e.sb.RequestCount()
			n, ids := sentTags(t, e.sb)
			t.Logf("%d sends: %d requests counted by the emulator (%.3f per send), %d retried; the emulator answered %d 130429 and %d 5xx "+
				"and accepted %d messages; %d sends succeeded, %d failed on a 5xx (not retried), %d on %d 130429 in a row",
				sends, requests, float64(requests)/float64(sends), retried, fc.Throttled, fc.ServerErrors,
				len(e.sb.SentMessages()), len(got), serverErr, exhausted, faultsPolicy.ReadAttempts)
			if requests != int64(attempts) {
				t.Errorf("the emulator counted %d requests, the client reports %d attempts", requests, attempts)
			}
			if fc.Throttled == 0 || retried == 0 {
				t.Errorf("no send was throttled and retried (%d 130429, %d retried)", fc.Throttled, retried)
			}
			// Each 5xx ends its send: it is never retried.
			if int64(serverErr) != fc.ServerErrors {
				t.Errorf("the emulator answered %d 5xx, but %d sends failed on one", fc.ServerErrors, serverErr)
			}
			if len(e.sb.SentMessages()) != len(got) {
				t.Errorf("the emulator accepted %d messages, %d sends succeeded", len(e.sb.SentMessages()), len(got))
			}
			for i := range sends {
				tag := fmt.Sprintf("faults-send-%d", i)
				want := 0
				if _, ok := got[tag]; ok {
					want = 1
				}
				if n[tag] != want {
					t.Errorf("send %d: the emulator holds %d messages, want %d", i, n[tag], want)
				}
				if want == 1 && ids[tag] != got[tag] {
					t.Errorf("send %d: the client got %s, the emulator sent %s", i, got[tag], ids[tag])
				}
			}
			p := tc.faults.ThrottleRate * (1 - tc.faults.ServerErrorRate) // a throttle after a throttle
			if limit := faultsMaxFailures(sends, p, faultsPolicy.ReadAttempts); exhausted > limit {
				t.Errorf("%d sends throttled %d times in a row, want at most %d", exhausted, faultsPolicy.ReadAttempts, limit)
			}
			if tc.faults.ServerErrorRate == 0 && len(got) != sends-exhausted {
				t.Errorf("%d of %d sends succeeded", len(got), sends)
			}
		})
	}
}

// TestFaultsLostAnswer: a send whose connection closes after the request
// was written is made once, never again, and the error says it may have
// been sent. The emulator shows both cases a client cannot tell apart: the
// send executed and its answer lost (LostAnswerRate), and the request read
// but not executed (DropRate).
func TestFaultsLostAnswer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		faults   sandbox.Faults
		executed int
	}{
		{"executed, answer lost", sandbox.Faults{LostAnswerRate: 1}, 1},
		{"read, not executed", sandbox.Faults{DropRate: 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := faultsStart(t, sandbox.Faults{}, graph.WithRetry(faultsPolicy))
			// A first call leaves a kept-alive connection: the send reuses
			// it, where Go's transport would replay a request it may.
			if _, _, err := e.c.GetPhoneNumber(context.Background(), sandbox.PhoneNumberID, nil); err != nil {
				t.Fatal(err)
			}
			e.sb.SetFaults(tc.faults)
			before := e.sb.RequestCount()
			_, resp, err := e.c.SendMessage(context.Background(), sandbox.PhoneNumberID, faultsTemplate("lost"))
			var ou *graph.OutcomeUnknownError
			if !errors.As(err, &ou) {
				t.Fatalf("err = %T %v, want *graph.OutcomeUnknownError", err, err)
			}
			if d := ou.Describe(); !strings.Contains(d, "MAY HAVE BEEN PROCESSED") || !strings.Contains(d, "not retried") {
				t.Errorf("Describe() = %q", d)
			}
			if ou.FailureData()["may_have_been_sent"] != true {
				t.Errorf("FailureData() = %v", ou.FailureData())
			}
			// The call has returned: nothing can come later.
			if n := e.sb.RequestCount() - before; n != 1 || resp == nil || resp.Attempts != 1 {
				t.Errorf("the emulator counted %d requests (client: %+v), want exactly 1", n, resp)
			}
			fc := e.sb.FaultCounts()
			if fc.LostAnswers+fc.Dropped != 1 {
				t.Errorf("FaultCounts = %+v", fc)
			}
			if n, _ := sentTags(t, e.sb); n["lost"] != tc.executed {
				t.Errorf("the emulator holds %d messages, want %d", n["lost"], tc.executed)
			}
		})
	}

	// Mixed with throttling, many sends: every lost answer is one executed
	// message and one OutcomeUnknownError, every throttle a retry.
	t.Run("30 % lost, 10 % 130429", func(t *testing.T) {
		sends := 100
		e := faultsStart(t, sandbox.Faults{LostAnswerRate: 1.0 / 3, ThrottleRate: 0.1, Seed: 3}, graph.WithRetry(faultsPolicy))
		var attempts, unknown, ok int
		for i := range sends {
			_, resp, err := e.c.SendMessage(context.Background(), sandbox.PhoneNumberID, faultsTemplate(fmt.Sprintf("mixed-%d", i)))
			attempts += resp.Attempts
			var ou *graph.OutcomeUnknownError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &ou):
				unknown++
			default:
				t.Errorf("send %d: %v", i, err)
			}
		}
		fc := e.sb.FaultCounts()
		n, _ := sentTags(t, e.sb)
		t.Logf("%d sends: %d requests counted by the emulator, %d 130429, %d answers lost; %d succeeded, %d outcome unknown; the emulator accepted %d messages",
			sends, e.sb.RequestCount(), fc.Throttled, fc.LostAnswers, ok, unknown, len(e.sb.SentMessages()))
		if e.sb.RequestCount() != int64(attempts) || fc.LostAnswers != int64(unknown) || len(e.sb.SentMessages()) != ok+unknown {
			t.Errorf("emulator: %d requests, %d lost answers, %d messages; client: %d attempts, %d unknown, %d succeeded",
				e.sb.RequestCount(), fc.LostAnswers, len(e.sb.SentMessages()), attempts, unknown, ok)
		}
		for i := range sends {
			if c := n[fmt.Sprintf("mixed-%d", i)]; c != 1 {
				t.Errorf("send %d: the emulator holds %d messages, want exactly 1", i, c)
			}
		}
	})
}

// TestFaultsHang: a Graph API that never answers fails the call at the
// caller's deadline, with the product's default policy and per-attempt
// timeout (30 s, longer than the caller's deadline), and leaks no
// goroutine once the server is gone.
func TestFaultsHang(t *testing.T) {
	baseline := runtime.NumGoroutine()
	sb := sandbox.New(sandbox.Config{Faults: sandbox.Faults{HangRate: 1}})
	srv := httptest.NewServer(sb)
	c, err := graph.NewClient(sandbox.DefaultToken, graph.WithBaseURL(srv.URL), graph.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	const deadline = 300 * time.Millisecond
	// call runs one call with the deadline and checks its error.
	call := func(t *testing.T, send bool) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		dl, _ := ctx.Deadline()
		var (
			resp *graph.Response
			err  error
		)
		if send {
			_, resp, err = c.SendMessage(ctx, sandbox.PhoneNumberID, faultsTemplate("hang"))
		} else {
			_, resp, err = c.GetPhoneNumber(ctx, sandbox.PhoneNumberID, nil)
		}
		took, early := time.Since(start), time.Now().Before(dl)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Errorf("err = %v, want the caller's deadline", err)
		}
		var ou *graph.OutcomeUnknownError
		if send != errors.As(err, &ou) {
			t.Errorf("send %v: err = %T %v: a send that timed out may have been sent, a read is just unanswered", send, err, err)
		}
		// Not a speed assertion: a bound far above the deadline that a call
		// left to the 30 s per-attempt timeout would break.
		if early || took > deadline+10*time.Second {
			t.Errorf("returned after %v, deadline %v", took, deadline)
		}
		if resp == nil || resp.Attempts != 1 {
			t.Errorf("Response = %+v, want 1 attempt (no time left for another)", resp)
		}
	}
	t.Run("read", func(t *testing.T) { call(t, false) })
	t.Run("send", func(t *testing.T) { call(t, true) })
	t.Run("20 at once", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() { call(t, i%2 == 0) })
		}
		wg.Wait()
	})
	if fc := sb.FaultCounts(); fc.Hung != 22 || sb.RequestCount() != 22 {
		t.Errorf("the emulator counted %d requests, %d hung; want 22", sb.RequestCount(), fc.Hung)
	}
	if len(sb.SentMessages()) != 0 {
		t.Errorf("a hung send was executed")
	}
	srv.Close() // returns once every handler has: the hung ones ended with their callers
	_ = sb.Close()
	// Goroutines end asynchronously: wait generously for them to go.
	stop := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(stop) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines, %d before the test:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}
