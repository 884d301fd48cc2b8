// Package graphtest is an httptest fake of Meta's Graph API for the tests of
// the packages that talk to it (graph, actions, bulk). It is a normal
// package so their test suites can share it, but only tests import it.
//
// The fake is mounted under [Prefix], so a client that builds absolute paths
// ("/v25.0/…") instead of resolving them against its base URL misses it and
// the test fails; the media CDN path [CDNPath] is outside the prefix, as
// lookaside.fbsbx.com is. Every request is recorded (prefix removed) and
// answered by the handler routed for "METHOD /path", else by the fallback
// handler given to [New].
package graphtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
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

const (
	// Token is the access token of the clients built by [Server.NewClient].
	// It is distinctive so tests can assert it never shows up in text.
	Token = "EAAGtestTOKEN-9f3kQz-never-print-me"
	// Prefix is the path under which the fake Graph API is mounted.
	Prefix = "/graph-prefix"
	// CDNPath is where the fake serves media bytes, like lookaside.fbsbx.com:
	// outside Prefix, reached by absolute URL.
	CDNPath = "/cdn/whatsapp_business/attachments/"
)

// TinyRetry keeps retry tests fast.
var TinyRetry = graph.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// Request is one request the fake received, with Prefix removed from Path
// (e.g. /v25.0/123/messages).
type Request struct {
	Method      string
	Path        string
	Query       url.Values
	Header      http.Header
	Body        []byte
	ContentType string
}

// Server is the fake Graph API. Its embedded httptest.Server gives URL and
// Client.
type Server struct {
	*httptest.Server
	t        testing.TB
	fallback http.HandlerFunc

	mu     sync.Mutex
	reqs   []Request
	routes map[string]http.HandlerFunc
}

// New starts a fake that answers every request with fallback unless a route
// set by [Server.Route] matches. With a nil fallback, an unrouted request
// fails the test and gets Meta's "unknown object" error. It is closed when
// the test ends.
func New(t testing.TB, fallback http.HandlerFunc) *Server {
	t.Helper()
	s := &Server{t: t, fallback: fallback, routes: map[string]http.HandlerFunc{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	path := r.URL.Path
	inPrefix := strings.HasPrefix(path, Prefix+"/")
	if inPrefix {
		path = strings.TrimPrefix(path, Prefix)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: path, Query: r.URL.Query(), Header: r.Header.Clone(),
		Body: body, ContentType: r.Header.Get("Content-Type")})
	h := s.routes[r.Method+" "+path]
	s.mu.Unlock()
	if !inPrefix && !strings.HasPrefix(path, CDNPath) {
		s.t.Errorf("request outside the base URL prefix: %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if h == nil {
		h = s.fallback
	}
	if h == nil {
		s.t.Errorf("unexpected request %s %s", r.Method, path)
		WriteJSON(w, http.StatusBadRequest, MetaError(100, 33, ""))
		return
	}
	h(w, r)
}

// Route sets (or replaces) the answer for key, "METHOD /path" with the path
// as in [Request] (e.g. "GET /v25.0/123", or "GET "+CDNPath).
func (s *Server) Route(key string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[key] = h
}

// FailAll makes every route set so far answer status and body.
func (s *Server) FailAll(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.routes {
		s.routes[k] = Reply(status, body)
	}
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count is the number of requests received so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// Reset forgets the requests received so far.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

// Only returns the single request received, failing the test otherwise.
func (s *Server) Only(t testing.TB) Request {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want exactly 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// BaseURL is the Graph base URL of the fake (with Prefix and a trailing
// slash).
func (s *Server) BaseURL() string { return s.URL + Prefix + "/" }

// NewClient builds a graph client with [Token] on the fake, with [TinyRetry]
// delays; opts come last, so they override.
func (s *Server) NewClient(t testing.TB, opts ...graph.Option) *graph.Client {
	t.Helper()
	all := append([]graph.Option{graph.WithBaseURL(s.BaseURL()), graph.WithHTTPClient(s.Client()), graph.WithRetry(TinyRetry)}, opts...)
	c, err := graph.NewClient(Token, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// WriteJSON answers status with body, a JSON document.
func WriteJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Reply answers every request with status and body (JSON).
func Reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, status, body) }
}

// Sequence answers the n-th request with handlers[n], repeating the last.
func Sequence(handlers ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(handlers) {
			i = len(handlers) - 1
		}
		handlers[i](w, r)
	}
}

// DropConnection reads the whole request, then closes the connection
// without answering: the request reached "Meta", the answer was lost.
func DropConnection(w http.ResponseWriter, r *http.Request) {
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

// MetaError renders Meta's error envelope for code and subcode (0: none);
// extra is more members of the error object (`"is_transient":true`), or "".
// Its fbtrace_id is FBTRACE<code>.
func MetaError(code, subcode int, extra string) string {
	s := fmt.Sprintf(`{"error":{"message":"(#%d) meta says no","type":"OAuthException","code":%d`, code, code)
	if subcode != 0 {
		s += fmt.Sprintf(`,"error_subcode":%d`, subcode)
	}
	if extra != "" {
		s += "," + extra
	}
	return s + fmt.Sprintf(`,"fbtrace_id":"FBTRACE%d"}}`, code)
}

// Want is an expected request. Body is JSON, compared structurally; ""
// means no body. A nil Query means none.
type Want struct {
	Method, Path string
	Query        url.Values
	Body         string
}

// CheckRequest asserts got is want, carries [Token] as a bearer token and an
// explicit User-Agent.
func CheckRequest(t testing.TB, got Request, want Want) {
	t.Helper()
	check(t, "", got, want)
}

// CheckRequests asserts the requests are exactly want, in order (see
// [CheckRequest]).
func CheckRequests(t testing.TB, got []Request, want []Want) {
	t.Helper()
	if len(got) != len(want) {
		var lines []string
		for _, r := range got {
			lines = append(lines, r.Method+" "+r.Path+"?"+r.Query.Encode()+" "+string(r.Body))
		}
		t.Fatalf("got %d requests, want %d:\n%s", len(got), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		check(t, fmt.Sprintf("request %d ", i), got[i], w)
	}
}

func check(t testing.TB, label string, got Request, want Want) {
	t.Helper()
	if got.Method != want.Method || got.Path != want.Path {
		t.Errorf("%srequest = %s %s, want %s %s", label, got.Method, got.Path, want.Method, want.Path)
	}
	query := want.Query
	if query == nil {
		query = url.Values{}
	}
	if !reflect.DeepEqual(got.Query, query) {
		t.Errorf("%squery = %v, want %v", label, got.Query, query)
	}
	if want.Body == "" {
		if len(got.Body) != 0 {
			t.Errorf("%sbody = %s, want none", label, got.Body)
		}
	} else {
		if got.ContentType != "application/json" {
			t.Errorf("%sContent-Type = %q, want application/json", label, got.ContentType)
		}
		JSONEqual(t, label+"body", got.Body, []byte(want.Body))
	}
	if a := got.Header.Get("Authorization"); a != "Bearer "+Token {
		t.Errorf("%sAuthorization = %q, want Bearer <token>", label, a)
	}
	if ua := got.Header.Get("User-Agent"); ua == "" || strings.HasPrefix(ua, "Go-http-client") {
		t.Errorf("%sUser-Agent = %q, want an explicit agent", label, ua)
	}
}

// JSONEqual compares two JSON documents structurally.
func JSONEqual(t testing.TB, what string, got, want []byte) {
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

// MustJSON marshals v, failing the test on error.
func MustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// Upload is a multipart/form-data request body as a media upload sends it:
// plain fields and one file part.
type Upload struct {
	Fields   map[string]string
	HasFile  bool
	FileName string
	FileType string // the file part's Content-Type
	File     []byte
}

// ParseUpload parses r's multipart body. It fails the test if r is not
// multipart/form-data with a boundary, and reports a plain field that
// carries a filename.
func ParseUpload(t testing.TB, r Request) Upload {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.ContentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("Content-Type = %q, want multipart/form-data with a boundary", r.ContentType)
	}
	u := Upload{Fields: map[string]string{}}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return u
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		b, _ := io.ReadAll(p)
		if p.FormName() == "file" {
			u.HasFile, u.FileName, u.FileType, u.File = true, p.FileName(), p.Header.Get("Content-Type"), b
			continue
		}
		if p.FileName() != "" {
			t.Errorf("field %s has a filename", p.FormName())
		}
		u.Fields[p.FormName()] = string(b)
	}
}

// Canonical is the JSON document b with its object keys sorted and its
// numbers as written: the form in which a recorded request body is
// compared with Meta's documented example, whose pages order keys
// inconsistently. It fails the test when b is not JSON.
func Canonical(t testing.TB, b []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
