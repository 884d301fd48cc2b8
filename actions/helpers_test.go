package actions_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

const (
	token  = "EAAGactionsTOKEN-do-not-leak"
	prefix = "/graph-prefix"

	pnID       = "106540352242922"
	wabaID     = "102290129340398"
	templateID = "1252715608684590"
	mediaID    = "1013859600285441"
	toIn       = "+1 (650) 555-1234"
	toNorm     = "+16505551234"
	wamid      = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="

	sendPath = "/v25.0/" + pnID + "/messages"
	cdnPath  = "/cdn/whatsapp_business/attachments/"
)

// request is one request the fake Graph API received (prefix removed).
type request struct {
	Method      string
	Path        string
	Query       url.Values
	Body        []byte
	ContentType string
	Header      http.Header
}

// fakeGraph answers like the Graph API, per route ("METHOD /v25.0/path"),
// and records every request. It is mounted under prefix so the client must
// resolve paths against its base URL; the media CDN path is outside it,
// as lookaside.fbsbx.com is.
type fakeGraph struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	reqs   []request
	routes map[string]http.HandlerFunc
	// media is what the CDN serves; its sha256 is what GET /{media} reports.
	media []byte
}

func newFake(t *testing.T) *fakeGraph {
	t.Helper()
	f := &fakeGraph{t: t, routes: map[string]http.HandlerFunc{}, media: []byte("\xff\xd8\xff\xe0 a small jpeg")}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.defaults()
	return f
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, prefix+"/"):
		path = strings.TrimPrefix(path, prefix)
	case strings.HasPrefix(path, cdnPath):
	default:
		f.t.Errorf("request outside the base URL prefix: %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, request{Method: r.Method, Path: path, Query: r.URL.Query(), Body: body,
		ContentType: r.Header.Get("Content-Type"), Header: r.Header.Clone()})
	h := f.routes[r.Method+" "+path]
	f.mu.Unlock()
	if h == nil {
		f.t.Errorf("unexpected request %s %s", r.Method, path)
		writeJSON(w, 400, metaError(100, 33))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h(w, r)
}

// route sets (or replaces) the answer for "METHOD /path".
func (f *fakeGraph) route(key string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[key] = h
}

// failAll makes every Graph route answer with err.
func (f *fakeGraph) failAll(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.routes {
		f.routes[k] = answer(status, body)
	}
}

// reset forgets the requests recorded so far.
func (f *fakeGraph) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = nil
}

func (f *fakeGraph) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func (f *fakeGraph) mediaSHA() string {
	s := sha256.Sum256(f.media)
	return hex.EncodeToString(s[:])
}

func (f *fakeGraph) mediaURL() string {
	return f.srv.URL + cdnPath + "?mid=" + mediaID + "&ext=1&hash=ATsig"
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, status, body) }
}

// sequenced answers the n-th call with hs[n], repeating the last.
func sequenced(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i >= len(hs) {
			i = len(hs) - 1
		}
		hs[i](w, r)
	}
}

// dropConnection reads the request and hangs up without an answer.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

func metaError(code, subcode int) string {
	sub := ""
	if subcode != 0 {
		sub = fmt.Sprintf(`,"error_subcode":%d`, subcode)
	}
	return fmt.Sprintf(`{"error":{"message":"(#%d) meta says no","type":"OAuthException","code":%d%s,"error_data":{"messaging_product":"whatsapp","details":"details of %d"},"fbtrace_id":"FBTRACE%d"}}`,
		code, code, sub, code, code)
}

// sendAnswer is Meta's answer to a send: it echoes the recipient; template
// sends get a pacing status.
func sendAnswer(w http.ResponseWriter, r *http.Request) {
	var m struct {
		To   string `json:"to"`
		Type string `json:"type"`
	}
	_ = json.NewDecoder(r.Body).Decode(&m)
	status := ""
	if m.Type == "template" {
		status = `,"message_status":"accepted"`
	}
	writeJSON(w, 200, fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":%q%s}]}`,
		m.To, strings.TrimPrefix(m.To, "+"), wamid, status))
}

const (
	profileJSON  = `{"about":"Succulent specialists!","address":"1 Hacker Way","description":"Lucky Shrub","email":"lucky@luckyshrub.com","profile_picture_url":"https://pps.whatsapp.net/p.jpg","websites":["https://www.luckyshrub.com/"],"vertical":"RETAIL","messaging_product":"whatsapp"}`
	phoneJSON    = `{"verified_name":"Lucky Shrub","code_verification_status":"VERIFIED","display_phone_number":"+1 555-096-7852","quality_rating":"GREEN","platform_type":"CLOUD_API","throughput":{"level":"STANDARD"},"id":"` + pnID + `"}`
	templateJSON = `{"id":"` + templateID + `","name":"order_update","language":"en_US","category":"UTILITY","status":"APPROVED"}`
	pagingJSON   = `{"cursors":{"before":"QVFIb4","after":"QVFIa4"},"next":"https://graph.facebook.com/v25.0/next-page"}`
)

func (f *fakeGraph) mediaInfoJSON(id string) string {
	return fmt.Sprintf(`{"messaging_product":"whatsapp","url":%q,"mime_type":"image/jpeg","sha256":%q,"file_size":"%d","id":%q}`,
		f.mediaURL(), f.mediaSHA(), len(f.media), id)
}

// defaults installs the happy answers for every call the nineteen tools make.
func (f *fakeGraph) defaults() {
	f.route("POST "+sendPath, sendAnswer)
	f.route("POST /v25.0/"+pnID+"/media", answer(200, `{"id":"1037543291543636"}`))
	f.route("GET /v25.0/"+pnID+"/whatsapp_business_profile", answer(200, `{"data":[`+profileJSON+`]}`))
	f.route("GET /v25.0/"+pnID, answer(200, phoneJSON))
	f.route("GET /v25.0/"+wabaID+"/phone_numbers", answer(200, `{"data":[`+phoneJSON+`],"paging":`+pagingJSON+`}`))
	f.route("GET /v25.0/"+wabaID+"/message_templates", answer(200, `{"data":[`+templateJSON+`],"paging":`+pagingJSON+`}`))
	f.route("POST /v25.0/"+wabaID+"/message_templates", answer(200, `{"id":"1627019861106475","status":"PENDING","category":"UTILITY"}`))
	f.route("DELETE /v25.0/"+wabaID+"/message_templates", answer(200, `{"success":true}`))
	f.route("GET /v25.0/"+templateID, answer(200, templateJSON))
	for _, id := range []string{mediaID, "2621233374848975"} {
		id := id
		f.route("GET /v25.0/"+id, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, f.mediaInfoJSON(id)) })
	}
	f.route("GET "+cdnPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(f.media)
	})
}

// newDeps wires the actions to the fake with tiny retry delays.
func newDeps(t *testing.T, f *fakeGraph) *actions.Deps {
	t.Helper()
	c, err := graph.NewClient(token, graph.WithBaseURL(f.srv.URL+prefix+"/"), graph.WithHTTPClient(f.srv.Client()),
		graph.WithRetry(graph.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return &actions.Deps{Graph: c, WABAID: wabaID, MediaDir: t.TempDir(),
		Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }}
}

// built caches actions.All per Deps: reflecting nineteen schemas for every
// call is what makes the race detector slow. Tools read *Deps at call time,
// so later changes to the Deps still apply.
var built sync.Map // *actions.Deps → []tools.Tool

func findTool(t *testing.T, d *actions.Deps, name string) tools.Tool {
	t.Helper()
	all, ok := built.Load(d)
	if !ok {
		all, _ = built.LoadOrStore(d, actions.All(d))
	}
	for _, tl := range all.([]tools.Tool) {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %s", name)
	return tools.Tool{}
}

func call(t *testing.T, d *actions.Deps, name, args string) tools.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return findTool(t, d, name).Call(ctx, json.RawMessage(args))
}

// envelope renders a result as the client sees it.
func envelope(t *testing.T, res tools.Result) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(res.JSON(), &m); err != nil {
		t.Fatalf("envelope: %v", err)
	}
	return m
}

func dataOf(t *testing.T, res tools.Result) map[string]any {
	t.Helper()
	m, ok := envelope(t, res)["data"].(map[string]any)
	if !ok {
		t.Fatalf("data is not an object: %s", res.JSON())
	}
	return m
}

// wantReq is an expected request; body is JSON compared structurally ("" =
// no body).
type wantReq struct {
	method, path string
	query        url.Values
	body         string
}

func checkRequests(t *testing.T, got []request, want []wantReq) {
	t.Helper()
	if len(got) != len(want) {
		var lines []string
		for _, r := range got {
			lines = append(lines, r.Method+" "+r.Path+"?"+r.Query.Encode()+" "+string(r.Body))
		}
		t.Fatalf("got %d requests, want %d:\n%s", len(got), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.method || g.Path != w.path {
			t.Errorf("request %d = %s %s, want %s %s", i, g.Method, g.Path, w.method, w.path)
		}
		q := w.query
		if q == nil {
			q = url.Values{}
		}
		if !reflect.DeepEqual(g.Query, q) {
			t.Errorf("request %d query = %v, want %v", i, g.Query, q)
		}
		if w.body == "" {
			if len(g.Body) != 0 {
				t.Errorf("request %d body = %s, want none", i, g.Body)
			}
		} else {
			if g.ContentType != "application/json" {
				t.Errorf("request %d Content-Type = %q", i, g.ContentType)
			}
			jsonEq(t, fmt.Sprintf("request %d body", i), g.Body, []byte(w.body))
		}
		if a := g.Header.Get("Authorization"); a != "Bearer "+token {
			t.Errorf("request %d Authorization = %q", i, a)
		}
	}
}

func jsonEq(t *testing.T, what string, got, want []byte) {
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

// checkSubset asserts every key of want (JSON object) equals the same key in got.
func checkSubset(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	for k, v := range w {
		if !reflect.DeepEqual(got[k], v) {
			gb, _ := json.Marshal(got[k])
			vb, _ := json.Marshal(v)
			t.Errorf("data.%s = %s, want %s", k, gb, vb)
		}
	}
}

// merge returns base (a JSON object) with keys set from kv pairs; a nil
// value deletes the key.
func merge(base string, kv ...any) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		panic(err)
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(m, k)
			continue
		}
		if raw, ok := kv[i+1].(json.RawMessage); ok {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				panic(err)
			}
			m[k] = v
			continue
		}
		m[k] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// raw marks a JSON literal for merge.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
