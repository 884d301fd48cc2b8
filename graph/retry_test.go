package graph_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

func textMessage() *graph.Message {
	return &graph.Message{To: "+16505551234", Type: "text", Text: &graph.Text{Body: "hello"}}
}

// TestReadRetries: a GET is safe to repeat, so network errors, 5xx,
// throttling codes and is_transient are retried up to MaxAttempts, after
// which the last error is returned.
func TestReadRetries(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantCount int
		check     func(t *testing.T, err error)
	}{
		{"500", graphtest.Reply(500, graphtest.MetaError(131000, 0, "")), 3, wantCode(131000, 500)},
		{"HTML 502", graphtest.Reply(502, "<html>bad gateway</html>"), 3, wantCode(0, 502)},
		{"throughput 130429", graphtest.Reply(400, graphtest.MetaError(130429, 0, "")), 3, wantCode(130429, 400)},
		{"app rate limit 4", graphtest.Reply(400, graphtest.MetaError(4, 0, "")), 3, wantCode(4, 400)},
		{"WABA rate limit 80007", graphtest.Reply(400, graphtest.MetaError(80007, 0, "")), 3, wantCode(80007, 400)},
		{"pair rate limit 131056", graphtest.Reply(400, graphtest.MetaError(131056, 0, "")), 3, wantCode(131056, 400)},
		{"maintenance 131057", graphtest.Reply(500, graphtest.MetaError(131057, 0, "")), 3, wantCode(131057, 500)},
		{"is_transient", graphtest.Reply(400, graphtest.MetaError(1, 0, `"is_transient":true`)), 3, wantCode(1, 400)},
		{"dropped connection", graphtest.DropConnection, 3, func(t *testing.T, err error) {
			var ne *graph.NetworkError
			if !errors.As(err, &ne) {
				t.Fatalf("err = %T %v, want *graph.NetworkError", err, err)
			}
			var ou *graph.OutcomeUnknownError
			if errors.As(err, &ou) {
				t.Errorf("a GET is never 'outcome unknown': %v", err)
			}
		}},
		{"not retried: 400 code 100", graphtest.Reply(400, graphtest.MetaError(100, 0, "")), 1, wantCode(100, 400)},
		{"not retried: 400 code 131009", graphtest.Reply(400, graphtest.MetaError(131009, 0, "")), 1, wantCode(131009, 400)},
		{"not retried: 401 code 190", graphtest.Reply(401, graphtest.MetaError(190, 0, "")), 1, wantCode(190, 401)},
		{"not retried: 404", graphtest.Reply(404, graphtest.MetaError(100, 33, "")), 1, wantCode(100, 404)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := graphtest.New(t, tt.handler)
			c := f.NewClient(t)
			_, resp, err := c.GetObject(context.Background(), "1", nil)
			if err == nil {
				t.Fatal("no error")
			}
			if n := f.Count(); n != tt.wantCount {
				t.Errorf("requests = %d, want %d", n, tt.wantCount)
			}
			if resp == nil || resp.Attempts != tt.wantCount {
				t.Errorf("Response.Attempts = %+v, want %d", resp, tt.wantCount)
			}
			tt.check(t, err)
		})
	}
}

func wantCode(code, status int) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var ge *graph.Error
		if !errors.As(err, &ge) {
			t.Fatalf("err = %T %v, want *graph.Error", err, err)
		}
		if ge.Code != code || ge.HTTPStatus != status {
			t.Errorf("got code %d HTTP %d, want %d HTTP %d", ge.Code, ge.HTTPStatus, code, status)
		}
	}
}

func TestReadRetryThenSuccess(t *testing.T) {
	// The drop comes first, on a fresh connection: on a reused one Go's
	// transport itself replays a GET, which would hide an attempt.
	f := graphtest.New(t, graphtest.Sequence(graphtest.DropConnection, graphtest.Reply(500, "oops"), graphtest.Reply(200, `{"id":"1"}`)))
	obj, resp, err := f.NewClient(t).GetObject(context.Background(), "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if obj["id"] != "1" || resp.Attempts != 3 || f.Count() != 3 {
		t.Errorf("obj %v, attempts %d, requests %d", obj, resp.Attempts, f.Count())
	}
}

func TestReadRetriesPerAttemptTimeout(t *testing.T) {
	f := graphtest.New(t, graphtest.Sequence(slow, graphtest.Reply(200, `{"id":"1"}`)))
	c := f.NewClient(t, graph.WithTimeout(50*time.Millisecond))
	if _, _, err := c.GetObject(context.Background(), "1", nil); err != nil {
		t.Fatal(err)
	}
	if f.Count() != 2 {
		t.Errorf("requests = %d, want 2", f.Count())
	}
}

// TestWriteRetries: a send is retried only when Meta says it did not
// process it (throttling) or nothing reached Meta; never when the outcome is
// unknown, so a message is never sent twice.
func TestWriteRetries(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		opts      []graph.Option
		wantCount int
		wantOK    bool
		check     func(t *testing.T, err error)
	}{
		{name: "130429 then OK", handler: graphtest.Sequence(graphtest.Reply(400, graphtest.MetaError(130429, 0, "")), graphtest.Reply(200, sendOK)), wantCount: 2, wantOK: true},
		{name: "131056 then OK", handler: graphtest.Sequence(graphtest.Reply(400, graphtest.MetaError(131056, 0, "")), graphtest.Reply(200, sendOK)), wantCount: 2, wantOK: true},
		{name: "80007 every time gives up after MaxAttempts", handler: graphtest.Reply(400, graphtest.MetaError(80007, 0, "")), wantCount: 3, check: wantCode(80007, 400)},
		{name: "500 is not retried", handler: graphtest.Reply(500, graphtest.MetaError(131000, 0, "")), wantCount: 1, check: wantCode(131000, 500)},
		{name: "is_transient is not retried for a write", handler: graphtest.Reply(400, graphtest.MetaError(1, 0, `"is_transient":true`)), wantCount: 1, check: wantCode(1, 400)},
		{name: "400 code 100 is not retried", handler: graphtest.Reply(400, graphtest.MetaError(100, 0, "")), wantCount: 1, check: wantCode(100, 400)},
		{name: "connection dropped after the request was read", handler: graphtest.DropConnection, wantCount: 1, check: wantOutcomeUnknown},
		{name: "per-attempt timeout", handler: slow, opts: []graph.Option{graph.WithTimeout(50 * time.Millisecond)}, wantCount: 1, check: wantOutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := graphtest.New(t, tt.handler)
			c := f.NewClient(t, tt.opts...)
			res, resp, err := c.SendMessage(context.Background(), pnID, textMessage())
			if n := f.Count(); n != tt.wantCount {
				t.Errorf("requests = %d, want %d", n, tt.wantCount)
			}
			if tt.wantOK {
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Messages) != 1 || resp.Attempts != tt.wantCount {
					t.Errorf("res %+v attempts %d", res, resp.Attempts)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			tt.check(t, err)
		})
	}
}

func wantOutcomeUnknown(t *testing.T, err error) {
	t.Helper()
	var ou *graph.OutcomeUnknownError
	if !errors.As(err, &ou) {
		t.Fatalf("err = %T %v, want *graph.OutcomeUnknownError", err, err)
	}
	if d := strings.ToLower(ou.Describe()); !strings.Contains(d, "may have been sent") {
		t.Errorf("Describe() = %q, want it to say the message may have been sent", d)
	}
}

// TestWriteDroppedOnReusedConnection: Go's transport replays idempotent
// requests on a reused keep-alive connection that dies; a send must not be
// replayed that way either.
func TestWriteDroppedOnReusedConnection(t *testing.T) {
	f := graphtest.New(t, graphtest.Sequence(graphtest.Reply(200, sendOK), graphtest.DropConnection, graphtest.Reply(200, sendOK)))
	c := f.NewClient(t)
	if _, _, err := c.SendMessage(context.Background(), pnID, textMessage()); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.SendMessage(context.Background(), pnID, textMessage())
	if f.Count() != 2 {
		t.Errorf("server saw %d requests for 2 sends, want 2", f.Count())
	}
	wantOutcomeUnknown(t, err)
}

// TestWriteRetriedWhenNothingWasSent: a dial that fails never reached Meta,
// so the send is retried and reaches the server exactly once.
func TestWriteRetriedWhenNothingWasSent(t *testing.T) {
	f := graphtest.New(t, graphtest.Reply(200, sendOK))
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := f.NewClient(t, graph.WithHTTPClient(&http.Client{Transport: tr}))
	res, resp, err := c.SendMessage(context.Background(), pnID, textMessage())
	if err != nil {
		t.Fatal(err)
	}
	if f.Count() != 1 {
		t.Errorf("server saw %d requests, want exactly 1", f.Count())
	}
	if resp.Attempts != 2 || dials.Load() != 2 || res.Messages[0].ID == "" {
		t.Errorf("attempts %d, dials %d, res %+v", resp.Attempts, dials.Load(), res)
	}
}

// TestWriteConnectionRefused points at a closed listener: every attempt is
// refused, the error says nothing was sent, and it is not "outcome unknown".
func TestWriteConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c, err := graph.NewClient(graphtest.Token, graph.WithBaseURL("http://"+addr+graphtest.Prefix+"/"), graph.WithRetry(graphtest.TinyRetry))
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err := c.SendMessage(context.Background(), pnID, textMessage())
	var ne *graph.NetworkError
	if !errors.As(err, &ne) || !ne.NotSent {
		t.Fatalf("err = %T %v, want *graph.NetworkError with NotSent", err, err)
	}
	var ou *graph.OutcomeUnknownError
	if errors.As(err, &ou) {
		t.Errorf("refused connection reported as outcome unknown")
	}
	if resp == nil || resp.Attempts != graphtest.TinyRetry.MaxAttempts {
		t.Errorf("Response = %+v, want %d attempts", resp, graphtest.TinyRetry.MaxAttempts)
	}
	if d := ne.Describe(); !strings.Contains(d, "nothing was processed") {
		t.Errorf("Describe() = %q", d)
	}
}

// TestBackoffWithinDeadline: when the next delay would pass the caller's
// deadline the client gives up at once with the last error instead of
// sleeping. Bounds are generous on purpose.
func TestBackoffWithinDeadline(t *testing.T) {
	long := graph.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}
	t.Run("deadline", func(t *testing.T) {
		f := graphtest.New(t, graphtest.Reply(500, "oops"))
		c := f.NewClient(t, graph.WithRetry(long))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, _, err := c.GetObject(ctx, "1", nil)
		if el := time.Since(start); el > 1500*time.Millisecond {
			t.Errorf("took %v: slept toward a delay past the deadline", el)
		}
		wantCode(0, 500)(t, err)
		if f.Count() != 1 {
			t.Errorf("requests = %d", f.Count())
		}
	})
	t.Run("throttled send with deadline", func(t *testing.T) {
		f := graphtest.New(t, graphtest.Reply(400, graphtest.MetaError(130429, 0, "")))
		c := f.NewClient(t, graph.WithRetry(long))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, _, err := c.SendMessage(ctx, pnID, textMessage())
		if el := time.Since(start); el > 1500*time.Millisecond {
			t.Errorf("took %v", el)
		}
		wantCode(130429, 400)(t, err)
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		f := graphtest.New(t, graphtest.Reply(500, "oops"))
		c := f.NewClient(t, graph.WithRetry(long))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, _, err := c.GetObject(ctx, "1", nil)
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("took %v after cancel", el)
		}
		if err == nil {
			t.Fatal("no error")
		}
		if f.Count() != 1 {
			t.Errorf("requests = %d", f.Count())
		}
	})
}

func TestRetryDisabled(t *testing.T) {
	f := graphtest.New(t, graphtest.Reply(500, "oops"))
	c := f.NewClient(t, graph.WithRetry(graph.RetryPolicy{MaxAttempts: 0}))
	if _, _, err := c.GetObject(context.Background(), "1", nil); err == nil {
		t.Fatal("no error")
	}
	if f.Count() != 1 {
		t.Errorf("MaxAttempts 0 means one attempt; requests = %d", f.Count())
	}
}
