package server_test

// Fuzz target of the REST request decoder: POST /v1/actions/{name}/execute
// through the real handler (the product catalog on the Cloud API emulator,
// with a real SQLite store), with any name, body, content type and framing.
// Without -fuzz, `go test` runs the seeds as an ordinary test; to fuzz,
// outside CI:
//
//	go test -run '^$' -fuzz '^FuzzRESTExecute$' -fuzztime 60s -fuzzminimizetime 2s -parallel 2 ./server/
//
// (-fuzzminimizetime 2s: by default the engine spends up to 60 s minimising
// each new input, counting no executions meanwhile.)
//
// A crasher is written to testdata/fuzz/FuzzRESTExecute/; keep it there,
// minimal, once the bug is fixed.

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// fuzzContentTypes are the Content-Type headers the fuzzer picks from
// ("" sends none).
var fuzzContentTypes = []string{"application/json", "application/json; charset=utf-8", "", "text/plain", "application/json; x=\"", "multipart/form-data; boundary=x"}

// FuzzRESTExecute: whatever is POSTed, the handler never panics and
// answers an envelope ({"successful", "data", "error"}) whose status says
// what it holds: 200 exactly when successful; 422 for invalid input, with
// nothing sent to the Graph API; 4xx for what the request itself gets
// wrong (an unknown action, a body that is not JSON, a refused content
// type). 502 only after the API was asked, and never 500: the product has
// no fault for arbitrary input to reveal (a panic in a tool is a 500 too,
// and fails the target).
func FuzzRESTExecute(f *testing.F) {
	sb := sandbox.New(sandbox.Config{})
	api := httptest.NewServer(sb)
	f.Cleanup(func() { api.Close(); _ = sb.Close() })
	gc, err := graph.NewClient(sandbox.DefaultToken, graph.WithBaseURL(api.URL), graph.WithRetry(graph.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		f.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "events.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	deps := &actions.Deps{Graph: gc, WABAID: sandbox.WABAID, MediaDir: f.TempDir(), Window: st, Store: st}
	cat := catalog.Tools(deps, st)
	// A call timeout shorter than the inbound trigger's margin: a valid
	// wait_seconds answers at once.
	srv, err := server.New(cat, server.Options{About: catalog.About, CallTimeout: 400 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.HTTPHandler(srv.RESTRoute(server.RESTOptions{}))

	for i, tl := range cat {
		for _, body := range []string{string(tl.Example), `{}`, `[]`, `{"phone_number_id":12}`, `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`} {
			f.Add(uint8(i), "", []byte(body), uint8(0), false)
		}
	}
	for _, s := range []struct {
		name, body string
		ct         uint8
		chunked    bool
	}{
		{"WHATSAPP_GET_PHONE_NUMBERS", `{}`, 1, true},
		{"WHATSAPP_GET_PHONE_NUMBERS", `{}`, 2, false},
		{"WHATSAPP_GET_PHONE_NUMBERS", `{}`, 3, false},
		{"WHATSAPP_GET_PHONE_NUMBERS", `{}`, 4, false},
		{"whatsapp_get_phone_numbers", `{}`, 0, false},
		{"../openapi.json", `{}`, 0, false},
		{"WHATSAPP_SEND_MESSAGE", "{\"text\":\"\xff\"}", 0, true},
		{"WHATSAPP_SEND_MESSAGE", `{"text":"a"} {}`, 0, false},
		{"", ``, 0, false},
		{"%00", `null`, 0, false},
	} {
		f.Add(uint8(255), s.name, []byte(s.body), s.ct, s.chunked)
	}

	f.Fuzz(func(t *testing.T, index uint8, name string, body []byte, ct uint8, chunked bool) {
		if int(index) < len(cat) {
			name = cat[index].Name
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/actions/"+url.PathEscape(name)+"/execute", bytes.NewReader(body))
		if t := fuzzContentTypes[int(ct)%len(fuzzContentTypes)]; t != "" {
			req.Header.Set("Content-Type", t)
		}
		if chunked {
			req.ContentLength = -1
		}
		before := sb.RequestCount()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		asked := sb.RequestCount() - before

		if p := req.URL.Path; path.Clean(p) != p && (w.Code == http.StatusTemporaryRedirect || w.Code == http.StatusMovedPermanently) {
			return // net/http's mux sends a path with "//", "." or ".." to its clean form
		}
		var env struct {
			Successful *bool           `json:"successful"`
			Data       json.RawMessage `json:"data"`
			Error      string          `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Successful == nil || len(env.Data) == 0 {
			t.Fatalf("%s: status %d, body %q is not an envelope (%v)", name, w.Code, w.Body.Bytes(), err)
		}
		switch {
		case (w.Code == http.StatusOK) != *env.Successful:
			t.Fatalf("%s: status %d with successful=%v: %s", name, w.Code, *env.Successful, w.Body.Bytes())
		case !*env.Successful && env.Error == "":
			t.Fatalf("%s: status %d, a failure without an error: %s", name, w.Code, w.Body.Bytes())
		case w.Code == http.StatusUnprocessableEntity && asked != 0:
			t.Fatalf("%s: invalid input %q answered 422 after %d request(s) to the Graph API: %s", name, body, asked, env.Error)
		case w.Code == http.StatusBadGateway && asked == 0:
			t.Fatalf("%s: 502 without a request to the Graph API: %s", name, env.Error)
		case w.Code >= 500 && w.Code != http.StatusBadGateway:
			t.Fatalf("%s: body %q answered %d: %s", name, body, w.Code, env.Error)
		case w.Code != http.StatusOK && (w.Code < 400 || w.Code > 599):
			t.Fatalf("%s: status %d: %s", name, w.Code, w.Body.Bytes())
		}
	})
}
