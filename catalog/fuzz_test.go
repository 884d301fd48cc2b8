package catalog_test

// One fuzz target drives the input decoding and validation of every tool
// of the catalog, built as cmd builds it: a real SQLite store, and a Graph
// client pointed at a local fake that counts every request (and refuses
// each, so no input the validator lets through gets further than its first
// request). Without -fuzz, `go test` runs the seeds (each tool's example,
// and each of its fields broken) as an ordinary test; to fuzz, outside CI:
//
//	go test -run '^$' -fuzz '^FuzzCatalogInput$' -fuzztime 60s -fuzzminimizetime 2s -parallel 2 ./catalog/
//
// (-fuzzminimizetime 2s: by default the engine spends up to 60 s minimising
// each new input, counting no executions meanwhile.)
//
// A crasher is written to testdata/fuzz/FuzzCatalogInput/; keep it there,
// minimal, once the bug is fixed.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// fuzzRefusal is what tools.InputError says before the fields it names.
const fuzzRefusal = "invalid input (nothing was sent to WhatsApp): `"

// fuzzCallTimeout bounds each call. It is shorter than the margin
// WHATSAPP_MESSAGE_RECEIVED_TRIGGER keeps before a deadline, so a valid
// wait_seconds answers at once instead of waiting.
const fuzzCallTimeout = 400 * time.Millisecond

// fuzzSeeds are each tool's example and variants of it with one field
// broken: removed, of the wrong type, far too long, or a stranger.
func fuzzSeeds(example json.RawMessage) []string {
	out := []string{string(example), `{}`, `null`, `[]`, `{"no_such_field":1}`, `{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`}
	var fields map[string]json.RawMessage
	if json.Unmarshal(example, &fields) != nil {
		return out
	}
	with := func(key string, v json.RawMessage) string {
		m := map[string]json.RawMessage{}
		for k, x := range fields {
			m[k] = x
		}
		if v == nil {
			delete(m, key)
		} else {
			m[key] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for key, v := range fields {
		wrong := json.RawMessage(`12345`)
		if bytes.HasPrefix(v, []byte(`1`)) || bytes.HasPrefix(v, []byte(`t`)) || bytes.HasPrefix(v, []byte(`f`)) {
			wrong = json.RawMessage(`"12345"`)
		}
		out = append(out, with(key, nil), with(key, wrong), with(key, json.RawMessage(`{"x":[null]}`)),
			with(key, json.RawMessage(`"`+strings.Repeat("9", 600)+`"`)), with(key, json.RawMessage(`"\ud800 \u0000"`)))
	}
	return out
}

// FuzzCatalogInput: for any tool of the catalog and any arguments, the
// call never panics and answers an envelope that encodes; an input the
// decoder or the validator refuses answers successful=false with
// kind invalid_input and an error naming its fields, and NOTHING reaches
// the Graph API; arguments that are not JSON, not UTF-8 or not one object
// are always refused so.
func FuzzCatalogInput(f *testing.F) {
	var graphRequests atomic.Int64
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		graphRequests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"(#100) refused by the fuzz fake","type":"OAuthException","code":100,"fbtrace_id":"FUZZ"}}`)
	}))
	f.Cleanup(fake.Close)
	gc, err := graph.NewClient("fuzz-access-token", graph.WithBaseURL(fake.URL), graph.WithHTTPClient(fake.Client()),
		graph.WithRetry(graph.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		f.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "events.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	deps := &actions.Deps{Graph: gc, WABAID: "102290129340398", MediaDir: f.TempDir(), Window: st, Store: st,
		Now: func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }}
	cat := catalog.Tools(deps, st)
	if len(cat) > 255 {
		f.Fatalf("%d tools: the tool index is one byte", len(cat))
	}
	// Cursors forged to hold bytes that are no text (and a terminal
	// escape) where the business number goes.
	forged := map[string]string{
		"WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER": `{"phone_number_id":"106540352242922","cursor":"djE6_xtbMko6NQ"}`,
		"WHATSAPP_LIST_CONVERSATIONS":             `{"phone_number_id":"106540352242922","cursor":"djE6aW5ib3g6_xtbMko6OjE6NQ"}`,
	}
	for i, tl := range cat {
		for _, s := range append(fuzzSeeds(tl.Example), forged[tl.Name]) {
			f.Add(uint8(i), []byte(s))
		}
	}
	for _, s := range []string{"", " ", "{", `{"a":1}{}`, `{} x`, "{\"phone_number_id\":\"\xff\"}", `{"phone_number_id":"1","phone_number_id":2}`} {
		f.Add(uint8(0), []byte(s))
	}

	f.Fuzz(func(t *testing.T, index uint8, args []byte) {
		tl := cat[int(index)%len(cat)]
		ctx, cancel := context.WithTimeout(context.Background(), fuzzCallTimeout)
		defer cancel()
		before := graphRequests.Load()
		res := tl.Call(ctx, args)
		sent := graphRequests.Load() - before

		var env struct {
			Successful *bool           `json:"successful"`
			Data       json.RawMessage `json:"data"`
			Error      string          `json:"error"`
		}
		if err := json.Unmarshal(res.JSON(), &env); err != nil || env.Successful == nil || len(env.Data) == 0 {
			t.Fatalf("%s: the envelope %s does not decode as one (%v)", tl.Name, res.JSON(), err)
		}
		if *env.Successful != res.Successful || (!res.Successful && env.Error == "") || (res.Successful && (res.Kind != "" || res.Error != "")) {
			t.Fatalf("%s: inconsistent result %+v, envelope %s", tl.Name, res, res.JSON())
		}

		raw := bytes.TrimSpace(args)
		notJSON := len(raw) > 0 && !json.Valid(raw)
		notObject := json.Valid(raw) && !bytes.HasPrefix(raw, []byte("{")) && !bytes.Equal(raw, []byte("null"))
		if (notJSON || notObject || !utf8.Valid(args)) && res.Kind != tools.KindInvalidInput {
			t.Fatalf("%s: arguments %q (JSON: %v, UTF-8: %v) were not refused as invalid input: %s",
				tl.Name, args, !notJSON, utf8.Valid(args), res.JSON())
		}
		if res.Kind != tools.KindInvalidInput {
			return
		}
		if sent != 0 {
			t.Fatalf("%s: input %q was refused as invalid, yet %d request(s) reached the Graph API first: %s", tl.Name, args, sent, res.Error)
		}
		if !strings.HasPrefix(res.Error, fuzzRefusal) || !strings.Contains(res.Error[len(fuzzRefusal):], "` ") {
			t.Fatalf("%s: the refusal names no field: %q", tl.Name, res.Error)
		}
		if !utf8.ValidString(res.Error) {
			t.Fatalf("%s: the refusal of %q is not valid UTF-8: %q", tl.Name, args, res.Error)
		}
	})
}
