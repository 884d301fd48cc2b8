package graphtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// recorder collects the failures a helper reports instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }

// failures runs f with a recorder and returns what it reported.
func failures(t *testing.T, f func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
	return r.errs
}

func get(t testing.TB, u string) *http.Response {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestServerRoutesAndRecords(t *testing.T) {
	s := graphtest.New(t, graphtest.Reply(200, `{"fallback":true}`))
	s.Route("GET /v25.0/1", graphtest.Reply(201, `{}`))
	if r := get(t, s.BaseURL()+"v25.0/1?fields=id"); r.StatusCode != 201 {
		t.Errorf("routed: HTTP %d", r.StatusCode)
	}
	if r := get(t, s.BaseURL()+"v25.0/2"); r.StatusCode != 200 {
		t.Errorf("fallback: HTTP %d", r.StatusCode)
	}
	reqs := s.Requests()
	if s.Count() != 2 || reqs[0].Path != "/v25.0/1" || reqs[0].Query.Get("fields") != "id" || reqs[1].Path != "/v25.0/2" {
		t.Errorf("recorded %+v", reqs)
	}
	s.FailAll(500, graphtest.MetaError(1, 0, ""))
	if r := get(t, s.BaseURL()+"v25.0/1"); r.StatusCode != 500 {
		t.Errorf("FailAll: HTTP %d", r.StatusCode)
	}
	s.Reset()
	if s.Count() != 0 {
		t.Errorf("Reset left %d", s.Count())
	}
}

func TestServerFailsStrayRequests(t *testing.T) {
	errs := failures(t, func(tb testing.TB) {
		s := graphtest.New(tb, nil)
		get(tb, s.URL+"/v25.0/1")               // outside the prefix
		get(tb, s.BaseURL()+"v25.0/unrouted")   // no route, no fallback
		get(tb, s.URL+graphtest.CDNPath+"?x=1") // the CDN is outside the prefix, but unrouted
		if s.Count() != 3 {
			tb.Errorf("count %d", s.Count())
		}
	})
	if len(errs) != 3 || !strings.Contains(errs[0], "outside the base URL prefix") || !strings.Contains(errs[1], "unexpected request GET /v25.0/unrouted") {
		t.Errorf("reported %q", errs)
	}
}

func TestCheckRequest(t *testing.T) {
	s := graphtest.New(t, graphtest.Reply(200, `{"id":"1"}`))
	c := s.NewClient(t)
	if _, _, err := c.GetObject(context.Background(), "1", []string{"id"}); err != nil {
		t.Fatal(err)
	}
	got := s.Only(t)
	if errs := failures(t, func(tb testing.TB) {
		graphtest.CheckRequest(tb, got, graphtest.Want{Method: "GET", Path: "/v25.0/1", Query: url.Values{"fields": {"id"}}})
	}); len(errs) != 0 {
		t.Errorf("the right request was refused: %q", errs)
	}
	for name, w := range map[string]graphtest.Want{
		"method": {Method: "POST", Path: "/v25.0/1", Query: url.Values{"fields": {"id"}}},
		"path":   {Method: "GET", Path: "/v25.0/2", Query: url.Values{"fields": {"id"}}},
		"query":  {Method: "GET", Path: "/v25.0/1"},
		"body":   {Method: "GET", Path: "/v25.0/1", Query: url.Values{"fields": {"id"}}, Body: `{}`},
	} {
		if errs := failures(t, func(tb testing.TB) { graphtest.CheckRequest(tb, got, w) }); len(errs) == 0 {
			t.Errorf("a wrong %s passed", name)
		}
	}
	other := got
	other.Header = got.Header.Clone()
	other.Header.Set("Authorization", "Bearer other")
	if errs := failures(t, func(tb testing.TB) {
		graphtest.CheckRequests(tb, []graphtest.Request{other}, []graphtest.Want{{Method: "GET", Path: "/v25.0/1", Query: url.Values{"fields": {"id"}}}})
	}); len(errs) != 1 || !strings.Contains(errs[0], "request 0 Authorization") {
		t.Errorf("another token: %q", errs)
	}
	if errs := failures(t, func(tb testing.TB) { graphtest.CheckRequests(tb, nil, []graphtest.Want{{}}) }); len(errs) != 1 {
		t.Errorf("a missing request: %q", errs)
	}
}

func TestMetaErrorIsAGraphError(t *testing.T) {
	body := graphtest.MetaError(131047, 2, `"is_transient":true`)
	var e struct {
		Error struct {
			Code      int    `json:"code"`
			Sub       int    `json:"error_subcode"`
			Transient bool   `json:"is_transient"`
			Trace     string `json:"fbtrace_id"`
		}
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != 131047 || e.Error.Sub != 2 || !e.Error.Transient || e.Error.Trace != "FBTRACE131047" {
		t.Errorf("%v: %s", err, body)
	}
	s := graphtest.New(t, graphtest.Sequence(graphtest.Reply(400, body), graphtest.Reply(200, `{"id":"1"}`)))
	_, _, err := s.NewClient(t, graph.WithRetry(graph.RetryPolicy{MaxAttempts: 1})).GetObject(context.Background(), "1", nil)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Code != 131047 {
		t.Errorf("err = %v", err)
	}
}
