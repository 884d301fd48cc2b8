package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
)

// browserRequest is one request a web page could make a browser send to a
// local server: a foreign Host (DNS rebinding), a foreign Origin, or a
// content type that needs no CORS preflight.
type browserRequest struct {
	name        string
	host        string // "" = the server's own
	origin      string // "" = none
	contentType string
	want        int
}

var hostileRequests = []browserRequest{
	{"rebound Host", "evil.example", "", "application/json", http.StatusForbidden},
	{"rebound Host with port", "evil.example:8080", "http://evil.example:8080", "application/json", http.StatusForbidden},
	{"foreign Origin", "", "https://evil.example", "application/json", http.StatusForbidden},
	{"opaque Origin", "", "null", "application/json", http.StatusForbidden},
	{"text/plain", "", "", "text/plain", http.StatusUnsupportedMediaType},
	{"text/plain from a foreign page", "", "https://evil.example", "text/plain;charset=UTF-8", http.StatusForbidden},
	{"form", "", "", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
	{"no content type", "", "", "", http.StatusUnsupportedMediaType},
}

// TestBrowserRequestsRefused: neither face (REST execute, MCP tools/call)
// lets a web page send a message through a server on loopback, and what
// legitimate clients send still works. The sandbox counts what reached it.
func TestBrowserRequestsRefused(t *testing.T) {
	env := restEnvironment(t, restEnvOptions{})
	send := findTool(t, env.catalog, "WHATSAPP_SEND_MESSAGE").Example
	// Stateless, so that one POST is a whole tools/call: the most a page
	// could hope for.
	_, base := serveREST(t, env.catalog, server.Options{Stateless: true}, server.RESTOptions{})
	mcpCall, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": "WHATSAPP_SEND_MESSAGE", "arguments": json.RawMessage(send)}})
	faces := []struct {
		name, path string
		body       []byte
	}{
		{"REST", "/v1/actions/WHATSAPP_SEND_MESSAGE/execute", send},
		{"MCP", "/mcp", mcpCall},
	}
	do := func(t *testing.T, path string, body []byte, r browserRequest) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest("POST", base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if r.host != "" {
			req.Host = r.host
		}
		if r.origin != "" {
			req.Header.Set("Origin", r.origin)
		}
		if r.contentType != "" {
			req.Header.Set("Content-Type", r.contentType)
		}
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	for _, face := range faces {
		t.Run(face.name, func(t *testing.T) {
			for _, r := range hostileRequests {
				before := env.sb.RequestCount()
				sent := len(env.sb.SentMessages())
				status, body := do(t, face.path, face.body, r)
				if got := env.sb.RequestCount() - before; got != 0 || len(env.sb.SentMessages()) != sent {
					t.Errorf("%s: %d requests reached the Graph API (status %d)", r.name, got, status)
				}
				if status != r.want {
					t.Errorf("%s: status %d, want %d: %s", r.name, status, r.want, body)
					continue
				}
				var env map[string]any
				if err := json.Unmarshal(body, &env); err != nil || env["successful"] != false || env["error"] == "" {
					t.Errorf("%s: the refusal is not an envelope: %s", r.name, body)
				}
			}
			// What MCP clients, platforms and local tools send still works.
			for _, ok := range []browserRequest{
				{name: "no Origin", contentType: "application/json"},
				{name: "charset", contentType: "application/json; charset=utf-8"},
				{name: "same origin", origin: base, contentType: "application/json"},
				{name: "localhost Host", host: "localhost" + base[strings.LastIndex(base, ":"):], contentType: "application/json"},
				{name: "a page served from loopback", origin: "http://localhost:6274", contentType: "application/json"},
			} {
				sent := len(env.sb.SentMessages())
				status, body := do(t, face.path, face.body, ok)
				if status != http.StatusOK || len(env.sb.SentMessages()) != sent+1 {
					t.Errorf("%s: %d, %d sends: %s", ok.name, status, len(env.sb.SentMessages())-sent, body)
				}
			}
		})
	}
}

// TestAllowedOrigins: an operator can let named web origins in.
func TestAllowedOrigins(t *testing.T) {
	s := newServer(t, server.Options{AllowedOrigins: []string{"https://app.example"}})
	h := s.HTTPHandler(s.RESTRoute(server.RESTOptions{}))
	for origin, want := range map[string]int{
		"https://app.example":     http.StatusOK,
		"https://APP.example":     http.StatusOK,
		"https://app.example:444": http.StatusForbidden,
		"http://app.example":      http.StatusForbidden,
		"https://evil.example":    http.StatusForbidden,
	} {
		rec := httptest.NewRecorder()
		req, _ := http.NewRequest("POST", "http://127.0.0.1:1/v1/actions/TEST_ECHO/execute", strings.NewReader(`{"text":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Origin %s: %d, want %d: %s", origin, rec.Code, want, rec.Body)
		}
	}
}
