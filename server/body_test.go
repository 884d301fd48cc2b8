package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// The body tests add two tools that take large inputs (4 MiB) to the test
// catalog: TEST_UPLOAD reads a base64 file, reporting its progress, and
// TEST_HOLD holds its call (and its body) until the test lets it go.

const largeCap = 4 << 20

type fileIn struct {
	Name    string       `json:"name" validate:"required"`
	Content tools.Base64 `json:"content" validate:"required"`
}

type holdIn struct {
	Pad string `json:"pad"`
}

type holder struct {
	entered chan struct{}
	release chan struct{}
}

func newHolder() *holder {
	return &holder{entered: make(chan struct{}, 8), release: make(chan struct{})}
}

func bodyCatalog(h *holder) []tools.Tool {
	return append(testCatalog(),
		tools.New(tools.Def[fileIn, map[string]any]{
			Name: "TEST_UPLOAD", Title: "Upload", Description: "Reads a file.", Toolset: "media",
			Annotations: tools.Annotations{OpenWorld: true}, MaxInputBytes: largeCap,
			Handler: func(ctx context.Context, in *fileIn) (map[string]any, error) {
				sum := sha256.New()
				n, err := io.Copy(sum, tools.ProgressReader(ctx, in.Content.Open(), in.Content.DecodedLen()))
				return map[string]any{"size": n, "sha256": hex.EncodeToString(sum.Sum(nil))}, err
			},
		}),
		tools.New(tools.Def[holdIn, map[string]any]{
			Name: "TEST_HOLD", Title: "Hold", Description: "Holds until released.", Toolset: "media",
			Annotations: tools.Annotations{OpenWorld: true}, MaxInputBytes: largeCap,
			Handler: func(ctx context.Context, in *holdIn) (map[string]any, error) {
				h.entered <- struct{}{}
				select { // not ctx: the test decides how long the body is held
				case <-h.release:
				case <-time.After(10 * time.Second):
				}
				return map[string]any{"pad": len(in.Pad)}, nil
			},
		}),
	)
}

func bodyServer(t *testing.T, h *holder, opts server.Options) (*server.Server, http.Handler) {
	t.Helper()
	opts.Logger = testLogger(t)
	s, err := server.New(bodyCatalog(h), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, s.HTTPHandler(s.RESTRoute(server.RESTOptions{}))
}

func randomFile(t *testing.T, n int) ([]byte, string) {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

// TestMCPLargeCall: a tools/call of a tool with large inputs passes the
// default cap over streamable HTTP with mcp-go's client (its arguments
// set aside before mcp-go reads the message), and a call with a progress
// token gets notifications/progress with progress and total bytes.
func TestMCPLargeCall(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateless=%v", stateless), func(t *testing.T) {
			ctx := withTimeout(t, 30*time.Second)
			_, h := bodyServer(t, newHolder(), server.Options{Stateless: stateless})
			ts := httptest.NewServer(h)
			defer ts.Close()
			c, err := client.NewStreamableHttpClient(ts.URL + "/mcp")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var mu sync.Mutex
			var progress []map[string]any
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == string(mcp.MethodNotificationProgress) {
					mu.Lock()
					progress = append(progress, n.Params.AdditionalFields)
					mu.Unlock()
				}
			})
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			initialize(t, ctx, c, "2025-11-25")

			file, sum := randomFile(t, 2_900_000) // 3.9 MB of JSON: over the default cap
			req := mcp.CallToolRequest{}
			req.Params.Name = "TEST_UPLOAD"
			req.Params.Arguments = map[string]any{"name": "a.bin", "content": base64.StdEncoding.EncodeToString(file)}
			req.Params.Meta = &mcp.Meta{ProgressToken: "upload-1"}
			res, err := c.CallTool(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			env := envelope(t, res)
			data, _ := env["data"].(map[string]any)
			if env["successful"] != true || data["size"] != float64(len(file)) || data["sha256"] != sum {
				t.Fatalf("envelope %v", env)
			}
			// The client may hand notifications over after the result. The
			// last one can be lost: mcp-go drops a notification its
			// forwarder took off the session's channel just as the request
			// ended (it then writes nothing more on the stream).
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				mu.Lock()
				n := len(progress)
				mu.Unlock()
				if n == 3 {
					break
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(progress) < 2 || len(progress) > 3 { // every MiB
				t.Fatalf("progress notifications: %v", progress)
			}
			last := -1.0
			for _, p := range progress {
				done, _ := p["progress"].(float64)
				if p["progressToken"] != "upload-1" || p["total"] != float64(len(file)) || done <= last || done > float64(len(file)) {
					t.Fatalf("progress %v", progress)
				}
				last = done
			}

			// A small file takes mcp-go's own path, and is not reported.
			small, smallSum := randomFile(t, 100<<10)
			res, err = callTool(ctx, c, "TEST_UPLOAD", map[string]any{"name": "b.bin", "content": base64.StdEncoding.EncodeToString(small)})
			if err != nil {
				t.Fatal(err)
			}
			if env := envelope(t, res); env["data"].(map[string]any)["sha256"] != smallSum {
				t.Errorf("small upload: %v", env)
			}
		})
	}
}

// countingBody counts the bytes a handler read of a request body.
type countingBody struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return nil }

// post serves one request to h; length -1 sends it without a
// Content-Length. It returns the answer and how much of the body was read.
func post(h http.Handler, path string, body []byte, length int64) (*httptest.ResponseRecorder, int64) {
	cb := &countingBody{r: bytes.NewReader(body)}
	r := httptest.NewRequest(http.MethodPost, path, nil)
	r.Body, r.ContentLength = cb, length
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	r.Header.Set("MCP-Protocol-Version", "2025-11-25")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, cb.n.Load()
}

func rpcCall(name, args string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `}}`)
}

// TestMCPBodyLimits: only a tools/call of a tool with large inputs may pass
// the default cap on /mcp, up to that tool's cap; anything else is refused
// with 413 after reading no more than the start of the body, and a body
// over every cap before reading anything.
func TestMCPBodyLimits(t *testing.T) {
	_, h := bodyServer(t, newHolder(), server.Options{Stateless: true})
	pad := strings.Repeat("x", 3<<20)
	initialize := []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"x","version":"0"},"capabilities":{"experimental":{"pad":"` + pad + `"}}}}`)
	file := base64.StdEncoding.EncodeToString(make([]byte, 2<<20))
	for _, tc := range []struct {
		name    string
		body    []byte
		length  int64 // 0: len(body)
		status  int
		maxRead int64
	}{
		{"3 MB initialize", initialize, 0, 413, 64 << 10},
		{"3 MB initialize, no Content-Length", initialize, -1, 413, server.DefaultMaxInputBytes + 64<<10 + 1},
		{"3 MB call of a small tool", rpcCall("TEST_ECHO", `{"text":"`+pad+`"}`), 0, 413, 64 << 10},
		{"3 MB call of an unknown tool", rpcCall("NOPE", `{"text":"`+pad+`"}`), 0, 413, 64 << 10},
		{"over the tool's cap", rpcCall("TEST_UPLOAD", `{"name":"a","content":"`+strings.Repeat("QUJD", 1<<20+32<<10)+`"}`), 0, 413, 0},
		{"arguments over the tool's cap", rpcCall("TEST_UPLOAD", `{"name":"a","content":"`+strings.Repeat("QUJD", 1<<20+1)+`"}`), 0, 413, 1 << 30},
		{"over every cap", []byte(`{}`), 100 << 20, 413, 0},
		{"3 MB call of the large tool", rpcCall("TEST_UPLOAD", `{"name":"a","content":"`+file+`"}`), 0, 200, 1 << 30},
		{"no Content-Length", rpcCall("TEST_UPLOAD", `{"name":"a","content":"`+file+`"}`), -1, 200, 1 << 30},
		{"name after the arguments", []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{"name":"a","content":"` + file + `"},"name":"TEST_UPLOAD"}}`), 0, 200, 1 << 30},
		{"small message", []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`), 0, 200, 1 << 30},
		{"small message, no Content-Length", []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`), -1, 200, 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			length := tc.length
			if length == 0 {
				length = int64(len(tc.body))
			}
			w, read := post(h, "/mcp", tc.body, length)
			if w.Code != tc.status || read > tc.maxRead {
				t.Fatalf("%d after reading %d bytes, want %d after at most %d: %.300s", w.Code, read, tc.status, tc.maxRead, w.Body)
			}
			if tc.status == 200 && !bytes.Contains(w.Body.Bytes(), []byte(`"result"`)) {
				t.Errorf("no result: %.300s", w.Body)
			}
			if tc.status == 200 && bytes.Contains(tc.body, []byte("TEST_UPLOAD")) && !bytes.Contains(w.Body.Bytes(), []byte(`\"size\":2097152`)) {
				t.Errorf("the tool did not get the whole file: %.300s", w.Body)
			}
			if tc.status == 413 && !strings.Contains(w.Body.String(), "larger than this server accepts") {
				t.Errorf("413 body: %s", w.Body)
			}
		})
	}
}

// TestRESTBodyLimits: REST execute caps a body at its tool's input cap,
// refusing a larger one with 413 before reading it.
func TestRESTBodyLimits(t *testing.T) {
	_, h := bodyServer(t, newHolder(), server.Options{})
	body := []byte(`{"text":"` + strings.Repeat("x", 2<<20) + `"}`)
	w, read := post(h, server.ExecutePath("TEST_ECHO"), body, int64(len(body)))
	if w.Code != 413 || read != 0 || !strings.Contains(w.Body.String(), fmt.Sprint(server.DefaultMaxInputBytes)) {
		t.Errorf("2 MB to TEST_ECHO: %d after reading %d bytes: %.300s", w.Code, read, w.Body)
	}
	w, read = post(h, server.ExecutePath("TEST_ECHO"), body, -1)
	if w.Code != 413 || read > server.DefaultMaxInputBytes+1 {
		t.Errorf("2 MB to TEST_ECHO without Content-Length: %d after reading %d bytes", w.Code, read)
	}
	file, sum := randomFile(t, 2<<20)
	body = []byte(`{"name":"a","content":"` + base64.StdEncoding.EncodeToString(file) + `"}`)
	w, _ = post(h, server.ExecutePath("TEST_UPLOAD"), body, int64(len(body)))
	if w.Code != 200 || !strings.Contains(w.Body.String(), sum) {
		t.Errorf("2 MB file to TEST_UPLOAD: %d %.300s", w.Code, w.Body)
	}
}

// TestLargeBodyBudget: large bodies share the budget of Options.MaxBodyMemory.
// One that does not fit waits, unread, up to the call timeout and then gets
// 503 with Retry-After; small requests never wait; once the budget is free
// the large request goes through.
func TestLargeBodyBudget(t *testing.T) {
	hold := newHolder()
	_, h := bodyServer(t, hold, server.Options{MaxBodyMemory: 5 << 20, CallTimeout: 300 * time.Millisecond, Stateless: true})
	big := []byte(`{"pad":"` + strings.Repeat("x", 3<<20) + `"}`)

	first := make(chan *httptest.ResponseRecorder, 1)
	go func() { w, _ := post(h, server.ExecutePath("TEST_HOLD"), big, int64(len(big))); first <- w }()
	<-hold.entered // the first body is held

	start := time.Now()
	w, read := post(h, server.ExecutePath("TEST_HOLD"), big, int64(len(big)))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || read != 0 || time.Since(start) < 300*time.Millisecond {
		t.Errorf("REST while the budget is taken: %d (Retry-After %q) after reading %d bytes in %v: %s", w.Code, w.Header().Get("Retry-After"), read, time.Since(start), w.Body)
	}
	w, read = post(h, "/mcp", rpcCall("TEST_HOLD", string(big)), int64(len(big)+100))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || read > 64<<10 {
		t.Errorf("/mcp while the budget is taken: %d after reading %d bytes: %s", w.Code, read, w.Body)
	}
	start = time.Now()
	if w, _ := post(h, server.ExecutePath("TEST_ECHO"), []byte(`{"text":"hi"}`), -1); w.Code != 200 || time.Since(start) > 200*time.Millisecond {
		t.Errorf("a small request waited %v: %d %s", time.Since(start), w.Code, w.Body)
	}

	close(hold.release)
	if w := <-first; w.Code != 200 {
		t.Fatalf("the held call: %d %s", w.Code, w.Body)
	}
	w, _ = post(h, server.ExecutePath("TEST_HOLD"), big, int64(len(big)))
	var env map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &env)
	if w.Code != 200 || env["successful"] != true {
		t.Errorf("once the budget is free: %d %s", w.Code, w.Body)
	}
}
