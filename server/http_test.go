package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
)

func TestStreamableHTTPRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		protocol string
		opts     server.Options
	}{
		{"2025-11-25 stateful", "2025-11-25", server.Options{}},
		{"latest stateful", mcp.LATEST_PROTOCOL_VERSION, server.Options{}},
		{"2025-11-25 stateless", "2025-11-25", server.Options{Stateless: true}},
		{"disabled tool over HTTP", "2025-11-25", server.Options{ReadOnly: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := withTimeout(t, 10*time.Second)
			s := newServer(t, tc.opts)
			ts := httptest.NewServer(s.HTTPHandler())
			defer ts.Close()

			c, err := client.NewStreamableHttpClient(ts.URL + "/mcp")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			initialize(t, ctx, c, tc.protocol)
			list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Tools) != len(s.Tools()) {
				t.Fatalf("listed %d tools, enabled %d", len(list.Tools), len(s.Tools()))
			}
			res, err := callTool(ctx, c, "TEST_ECHO", map[string]any{"text": "over http"})
			if err != nil {
				t.Fatal(err)
			}
			if env := envelope(t, res); res.IsError || env["data"].(map[string]any)["text"] != "over http" {
				t.Fatalf("result = %+v", env)
			}
			res, err = callTool(ctx, c, "TEST_DELETE", nil)
			if tc.opts.ReadOnly {
				if err == nil || !strings.Contains(err.Error(), "disabled by this server's configuration") {
					t.Fatalf("disabled tool over HTTP: res %+v err %v", res, err)
				}
				return
			}
			if err != nil || !res.IsError {
				t.Fatalf("failing tool: res %+v err %v", res, err)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	s := newServer(t, server.Options{HTTPToken: "secret-token"})
	ts := httptest.NewServer(s.HTTPHandler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body["status"] != "ok" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("healthz = %d %v %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
}

func TestHTTPAuth(t *testing.T) {
	const token = "test-mcp-token"
	s := newServer(t, server.Options{HTTPToken: token})
	hit := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	}
	ts := httptest.NewServer(s.HTTPHandler(
		server.Route{Pattern: "/webhook", Handler: hit("webhook")},
		server.Route{Pattern: "/v1/", Handler: hit("rest"), Auth: true},
	))
	defer ts.Close()

	status := func(method, path, auth string) int {
		t.Helper()
		body := strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
		req, _ := http.NewRequest(method, ts.URL+path, body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusUnauthorized {
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", method, path)
			}
			if strings.Contains(string(b), token) {
				t.Errorf("the 401 body echoes the token")
			}
		}
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path, auth string
		want               int
	}{
		{"POST", "/mcp", "", 401},
		{"POST", "/mcp", "Bearer wrong", 401},
		{"POST", "/mcp", "Bearer " + token + "x", 401},
		{"POST", "/mcp", "Basic " + token, 401},
		{"POST", "/mcp", "Bearer", 401},
		{"POST", "/mcp", "Bearer " + token, 200},
		{"POST", "/mcp", "bearer " + token, 200},
		{"GET", "/healthz", "", 200},
		{"POST", "/webhook", "", 200},
		{"GET", "/v1/actions", "", 401},
		{"GET", "/v1/actions", "Bearer " + token, 200},
	} {
		if got := status(tc.method, tc.path, tc.auth); got != tc.want {
			t.Errorf("%s %s (auth %q): %d, want %d", tc.method, tc.path, tc.auth, got, tc.want)
		}
	}

	// mcp-go's own client with the header works end to end.
	ctx := withTimeout(t, 10*time.Second)
	c, err := client.NewStreamableHttpClient(ts.URL+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	initialize(t, ctx, c, "2025-11-25")
	if res, err := callTool(ctx, c, "TEST_ECHO", map[string]any{"text": "authorised"}); err != nil || res.IsError {
		t.Fatalf("authorised call: %v %+v", err, res)
	}
}

// TestTerminatedSessionRejected: the stateful transport answers 404 for a
// session that was deleted or never issued (mcp-go's default does not).
func TestTerminatedSessionRejected(t *testing.T) {
	s := newServer(t, server.Options{})
	ts := httptest.NewServer(s.HTTPHandler())
	defer ts.Close()
	post := func(session, body string) *http.Response {
		req, _ := http.NewRequest("POST", ts.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || sid == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, sid)
	}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	if r := post(sid, list); r.StatusCode != 200 {
		t.Fatalf("tools/list in session: %d", r.StatusCode)
	}
	req, _ := http.NewRequest("DELETE", ts.URL+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", sid)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("DELETE: %v %v", r, err)
	}
	if r := post(sid, list); r.StatusCode != 404 {
		t.Errorf("tools/list after DELETE: %d, want 404", r.StatusCode)
	}
	if r := post("mcp-session-00000000-0000-4000-8000-000000000000", list); r.StatusCode != 404 && r.StatusCode != 400 {
		t.Errorf("tools/list with a made-up session: %d, want 404 or 400", r.StatusCode)
	}
}

// TestServeGracefulShutdown: cancelling the context stops Serve promptly,
// even with a client holding an SSE stream open.
func TestServeGracefulShutdown(t *testing.T) {
	s := newServer(t, server.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	cctx := withTimeout(t, 10*time.Second)
	c, err := client.NewStreamableHttpClient("http://"+ln.Addr().String()+"/mcp", transport.WithContinuousListening(), transport.WithHTTPLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(cctx); err != nil {
		t.Fatal(err)
	}
	initialize(t, cctx, c, "2025-11-25")
	if _, err := callTool(cctx, c, "TEST_ECHO", map[string]any{"text": "x"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the GET stream open

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}

// TestDNSRebindingProtection: the Host rule of guard (mcp-go's, which guard
// replaces) protects /mcp; browser_test.go has the rest.
func TestDNSRebindingProtection(t *testing.T) {
	s := newServer(t, server.Options{})
	ts := httptest.NewServer(s.HTTPHandler())
	defer ts.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Host = "evil.example.com"
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Host on loopback: %d, want 403", resp.StatusCode)
	}
}
