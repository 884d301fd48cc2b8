package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// TestReadyz: 200 when every check passes, 503 naming the failing ones,
// and back to 200 when they pass again; never behind the token; /healthz
// stays 200 throughout.
func TestReadyz(t *testing.T) {
	var down atomic.Bool
	var sawDeadline atomic.Bool
	s := newServer(t, server.Options{HTTPToken: "secret-token", Ready: []server.ReadyCheck{
		{Name: "db", Check: func(ctx context.Context) error {
			_, ok := ctx.Deadline()
			sawDeadline.Store(ok)
			if down.Load() {
				return errors.New("the database does not answer")
			}
			return nil
		}},
		{Name: "client", Check: func(context.Context) error { return nil }},
	}})
	ts := httptest.NewServer(s.HTTPHandler())
	defer ts.Close()
	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode, m
	}
	check := func(wantStatus int, wantBody string) {
		t.Helper()
		status, body := get("/readyz")
		b, _ := json.Marshal(body)
		if status != wantStatus || string(b) != wantBody {
			t.Errorf("/readyz = %d %s, want %d %s", status, b, wantStatus, wantBody)
		}
		if status, body := get("/healthz"); status != 200 || body["status"] != "ok" {
			t.Errorf("/healthz = %d %v", status, body)
		}
	}
	check(200, `{"checks":{"client":"ok","db":"ok"},"status":"ready"}`)
	down.Store(true)
	check(503, `{"checks":{"client":"ok","db":"the database does not answer"},"status":"unavailable"}`)
	down.Store(false)
	check(200, `{"checks":{"client":"ok","db":"ok"},"status":"ready"}`)
	if !sawDeadline.Load() {
		t.Error("the check ran without a deadline")
	}
	resp, err := http.Post(ts.URL+"/readyz", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz: %d", resp.StatusCode)
	}

	// No checks: ready.
	ts2 := httptest.NewServer(newServer(t, server.Options{}).HTTPHandler())
	defer ts2.Close()
	resp, err = http.Get(ts2.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/readyz without checks: %d", resp.StatusCode)
	}
}

// blockingCatalog is the test catalog plus TEST_BLOCK, which reports that
// it started and runs until release is closed or its context ends.
func blockingCatalog(started chan<- struct{}, release <-chan struct{}, cancelled *atomic.Bool) []tools.Tool {
	return append(testCatalog(), tools.New(tools.Def[noIn, any]{
		Name: "TEST_BLOCK", Title: "Block", Description: "Blocks until released.", Toolset: "media",
		Annotations: tools.Annotations{ReadOnly: true},
		Handler: func(ctx context.Context, _ *noIn) (any, error) {
			close(started)
			select {
			case <-release:
				return map[string]any{"released": true}, nil
			case <-ctx.Done():
				cancelled.Store(true)
				return nil, ctx.Err()
			}
		},
	}))
}

// stdioSession serves s over pipes with ctx and returns a writer for
// requests, the answers by id, and ServeStdio's result.
func stdioSession(t *testing.T, ctx context.Context, s *server.Server) (send func(string), answers <-chan map[string]any, done <-chan error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	t.Cleanup(func() { inW.Close() })
	d := make(chan error, 1)
	go func() { d <- s.ServeStdio(ctx, inR, outW); outW.Close() }()
	a := make(chan map[string]any, 16)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["id"] != nil {
				a <- m
			}
		}
		close(a)
	}()
	send = func(msg string) {
		t.Helper()
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return send, a, d
}

// TestStdioShutdownFinishesCalls: cancelling ServeStdio's context (SIGTERM)
// lets the call in flight finish and answer, then ServeStdio returns nil.
func TestStdioShutdownFinishesCalls(t *testing.T) {
	deadline := withTimeout(t, 20*time.Second)
	started, release := make(chan struct{}), make(chan struct{})
	var cancelled atomic.Bool
	s, err := server.New(blockingCatalog(started, release, &cancelled), server.Options{Logger: testLogger(t), ShutdownTimeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	send, answers, done := stdioSession(t, ctx, s)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"TEST_BLOCK","arguments":{}}}`)
	<-started
	stop()
	close(release)
	var got map[string]any
	for m := range answers {
		if m["id"] == float64(2) {
			got = m
		}
	}
	if b, _ := json.Marshal(got["result"]); !strings.Contains(string(b), `"released":true`) || cancelled.Load() {
		t.Fatalf("answer to the call in flight: %v (cancelled %v)", got, cancelled.Load())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeStdio: %v", err)
		}
	case <-deadline.Done():
		t.Fatal("ServeStdio did not return")
	}
}

// TestStdioShutdownTimeout: a call still running at the shutdown timeout
// is cancelled and ServeStdio returns.
func TestStdioShutdownTimeout(t *testing.T) {
	deadline := withTimeout(t, 20*time.Second)
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var cancelled atomic.Bool
	s, err := server.New(blockingCatalog(started, release, &cancelled), server.Options{Logger: testLogger(t), ShutdownTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	send, _, done := stdioSession(t, ctx, s)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"TEST_BLOCK","arguments":{}}}`)
	<-started
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeStdio: %v", err)
		}
	case <-deadline.Done():
		t.Fatal("ServeStdio did not return after the shutdown timeout")
	}
	for !cancelled.Load() && deadline.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if !cancelled.Load() {
		t.Error("the call was not cancelled")
	}
}
