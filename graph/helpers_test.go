package graph_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
)

// Distinctive secrets: tests assert they never show up in error text.
const (
	testToken  = "EAAGtestTOKEN-9f3kQz-never-print-me"
	testSecret = "appSECRET-7Hq2Lw-never-print-me"

	// prefix is where the fake Graph API is mounted, so a client that builds
	// absolute paths ("/v25.0/…") instead of resolving against the base URL
	// misses it and the test fails.
	prefix = "/api-prefix"

	pnID   = "106540352242922"
	wabaID = "102290129340398"
)

// tinyRetry keeps retry tests fast.
var tinyRetry = graph.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// recorded is one request the fake received, with the prefix removed.
type recorded struct {
	Method      string
	Path        string // without prefix, e.g. /v25.0/123/messages
	Query       url.Values
	Header      http.Header
	Body        []byte
	ContentType string
}

// fakeGraph is an httptest server that mounts a handler under prefix,
// records and counts every request, and fails the test on any request that
// lands outside the prefix (except the media CDN path, which is absolute).
type fakeGraph struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
	hits atomic.Int32
	// handle answers requests under the prefix.
	handle http.HandlerFunc
}

// cdnPath is where the fake serves media bytes, like lookaside.fbsbx.com.
const cdnPath = "/whatsapp_business/attachments/"

func newFake(t *testing.T, h http.HandlerFunc) *fakeGraph {
	t.Helper()
	f := &fakeGraph{t: t, handle: h}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	path := r.URL.Path
	inPrefix := strings.HasPrefix(path, prefix+"/")
	if inPrefix {
		path = strings.TrimPrefix(path, prefix)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: path, Query: r.URL.Query(), Header: r.Header.Clone(),
		Body: body, ContentType: r.Header.Get("Content-Type")})
	f.mu.Unlock()
	f.hits.Add(1)
	if !inPrefix && !strings.HasPrefix(r.URL.Path, cdnPath) {
		f.t.Errorf("request outside the base URL prefix: %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	f.handle(w, r)
}

func (f *fakeGraph) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeGraph) count() int { return int(f.hits.Load()) }

// only returns the single request made, failing otherwise.
func (f *fakeGraph) only(t *testing.T) recorded {
	t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want exactly 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

func (f *fakeGraph) baseURL() string { return f.srv.URL + prefix + "/" }

// newClient builds a client on the fake with tiny retry delays.
func newClient(t *testing.T, f *fakeGraph, opts ...graph.Option) *graph.Client {
	t.Helper()
	all := append([]graph.Option{graph.WithBaseURL(f.baseURL()), graph.WithHTTPClient(f.srv.Client()), graph.WithRetry(tinyRetry)}, opts...)
	c, err := graph.NewClient(testToken, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// reply answers every request with status and body (JSON).
func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// sequence answers the n-th request with handlers[n], repeating the last.
func sequence(handlers ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(handlers) {
			i = len(handlers) - 1
		}
		handlers[i](w, r)
	}
}

// dropConnection reads the whole request, then closes the connection
// without answering: the request reached "Meta", the answer was lost.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

// metaError renders Meta's error envelope.
func metaError(code, subcode int, extra string) string {
	s := `{"error":{"message":"(#` + itoa(code) + `) test error","type":"OAuthException","code":` + itoa(code)
	if subcode != 0 {
		s += `,"error_subcode":` + itoa(subcode)
	}
	if extra != "" {
		s += "," + extra
	}
	return s + `,"fbtrace_id":"AbCdEfTrace123"}}`
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// checkRequest asserts method, path (without prefix), query and JSON body
// (compared as decoded JSON; "" means no body).
func checkRequest(t *testing.T, got recorded, method, path string, query url.Values, body string) {
	t.Helper()
	if got.Method != method {
		t.Errorf("method = %s, want %s", got.Method, method)
	}
	if got.Path != path {
		t.Errorf("path = %s, want %s", got.Path, path)
	}
	if len(query) == 0 {
		query = url.Values{}
	}
	if !reflect.DeepEqual(got.Query, query) {
		t.Errorf("query = %v, want %v", got.Query, query)
	}
	if body == "" {
		if len(got.Body) != 0 {
			t.Errorf("body = %s, want none", got.Body)
		}
	} else {
		if ct := got.ContentType; ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		jsonEqual(t, "body", got.Body, []byte(body))
	}
	if a := got.Header.Get("Authorization"); a != "Bearer "+testToken {
		t.Errorf("Authorization = %q, want Bearer <token>", a)
	}
	if ua := got.Header.Get("User-Agent"); ua == "" || strings.HasPrefix(ua, "Go-http-client") {
		t.Errorf("User-Agent = %q, want an explicit agent", ua)
	}
}

// jsonEqual compares two JSON documents structurally.
func jsonEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s is not JSON: %v: %s", what, err, got)
		return
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("bad expected JSON for %s: %v: %s", what, err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, got, want)
	}
}

// asJSON marshals v for comparison with jsonEqual.
func asJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}
