package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

type restEnvOptions struct {
	faults sandbox.Faults
	noWABA bool
}

// restEnv is the product catalog against a fresh sandbox, with a real
// (empty) status store.
type restEnv struct {
	catalog []tools.Tool
	sb      *sandbox.Sandbox
}

func restEnvironment(t *testing.T, o restEnvOptions) *restEnv {
	t.Helper()
	sb := sandbox.New(sandbox.Config{Faults: o.faults})
	ts := httptest.NewServer(sb)
	t.Cleanup(func() { ts.Close(); _ = sb.Close() })
	gc, err := graph.NewClient(sandbox.DefaultToken, graph.WithBaseURL(ts.URL), graph.WithRetry(graph.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	deps := &actions.Deps{Graph: gc, WABAID: sandbox.WABAID}
	if o.noWABA {
		deps.WABAID = ""
	}
	return &restEnv{catalog: catalog.Tools(deps, st), sb: sb}
}

// serveREST serves the REST face of a server built on catalog, mounted on
// the server's own HTTP handler the way cmd mounts it.
func serveREST(t *testing.T, catalog []tools.Tool, opts server.Options, ropts server.RESTOptions) (*server.Server, string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := server.New(catalog, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.HTTPHandler(s.RESTRoute(ropts)))
	t.Cleanup(ts.Close)
	return s, ts.URL
}

type restAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a restAnswer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, a.body)
	}
	return m
}

func restDo(t *testing.T, method, url, token string, body []byte) restAnswer {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); method != http.MethodHead && ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return restAnswer{status: resp.StatusCode, header: resp.Header, body: b}
}

func findTool(t *testing.T, catalog []tools.Tool, name string) tools.Tool {
	t.Helper()
	for _, tool := range catalog {
		if tool.Name == name {
			return tool
		}
	}
	t.Fatalf("no tool %s", name)
	return tools.Tool{}
}

func TestRESTListAndGet(t *testing.T) {
	env := restEnvironment(t, restEnvOptions{})
	_, base := serveREST(t, env.catalog, server.Options{}, server.RESTOptions{})

	a := restDo(t, "GET", base+"/v1/actions", "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	var list struct {
		Actions []struct {
			Name, Title, Description, Toolset string
			Annotations                       tools.Annotations
			InputSchema                       json.RawMessage `json:"inputSchema"`
			OutputSchema                      json.RawMessage `json:"outputSchema"`
			Example                           json.RawMessage
			ExecutePath                       string `json:"execute_path"`
		}
	}
	if err := json.Unmarshal(a.body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Actions) != len(env.catalog) {
		t.Fatalf("list has %d actions, catalog %d", len(list.Actions), len(env.catalog))
	}
	for i, got := range list.Actions {
		want := env.catalog[i]
		if got.Name != want.Name || got.Title != want.Title || got.Description != want.Description ||
			got.Toolset != want.Toolset || got.Annotations != want.Annotations || got.ExecutePath != "/v1/actions/"+want.Name+"/execute" {
			t.Errorf("actions[%d] = %s %q, want %s", i, got.Name, got.Title, want.Name)
		}
		if !bytes.Equal(got.InputSchema, want.InputSchema) || !bytes.Equal(got.OutputSchema, want.OutputSchema) || !bytes.Equal(got.Example, want.Example) {
			t.Errorf("%s: schemas or example differ from the declaration", got.Name)
		}
	}

	a = restDo(t, "GET", base+"/v1/actions/WHATSAPP_SEND_MESSAGE", "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("get: %d %s", a.status, a.body)
	}
	one := a.json(t)
	if one["name"] != "WHATSAPP_SEND_MESSAGE" || one["inputSchema"] == nil || one["outputSchema"] == nil {
		t.Errorf("get: %s", a.body)
	}
	if a := restDo(t, "HEAD", base+"/v1/actions", "", nil); a.status != http.StatusOK {
		t.Errorf("HEAD list: %d", a.status)
	}
}

func TestRESTUnknownAction(t *testing.T) {
	env := restEnvironment(t, restEnvOptions{})
	_, base := serveREST(t, env.catalog, server.Options{}, server.RESTOptions{})
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/v1/actions/WHATSAPP_SEND_MESAGE", `no action is named "WHATSAPP_SEND_MESAGE"`},
		{"POST", "/v1/actions/WHATSAPP_NOPE/execute", `no action is named "WHATSAPP_NOPE"`},
		{"GET", "/v1/actions/whatsapp_send_message", "did you mean WHATSAPP_SEND_MESSAGE"},
		{"GET", "/v1/nothing", "no REST route GET /v1/nothing"},
	} {
		a := restDo(t, tc.method, base+tc.path, "", []byte(`{}`))
		if a.status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", tc.method, tc.path, a.status)
			continue
		}
		m := a.json(t)
		if m["successful"] != false || !strings.Contains(m["error"].(string), tc.want) {
			t.Errorf("%s %s: %s, want error containing %q", tc.method, tc.path, a.body, tc.want)
		}
		if strings.HasPrefix(tc.path, "/v1/actions/") {
			valid, _ := m["data"].(map[string]any)["valid_actions"].([]any)
			if len(valid) != len(env.catalog) {
				t.Errorf("%s: valid_actions has %d names, want %d", tc.path, len(valid), len(env.catalog))
			}
		}
	}
	if a := restDo(t, "GET", base+"/v1/actions/WHATSAPP_SEND_MESSAGE/execute", "", nil); a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "POST" {
		t.Errorf("GET execute: %d Allow=%q", a.status, a.header.Get("Allow"))
	}
	if a := restDo(t, "POST", base+"/v1/actions", "", []byte(`{}`)); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST list: %d", a.status)
	}
}

// TestRESTExecuteRead: a read answers exactly the envelope of tool.Call and
// the structuredContent of tools/call over MCP.
func TestRESTExecuteRead(t *testing.T) {
	ctx := withTimeout(t, 30*time.Second)
	env := restEnvironment(t, restEnvOptions{})
	s, base := serveREST(t, env.catalog, server.Options{}, server.RESTOptions{})
	input := []byte(`{"limit":1}`)

	a := restDo(t, "POST", base+"/v1/actions/WHATSAPP_GET_PHONE_NUMBERS/execute", "", input)
	if a.status != http.StatusOK {
		t.Fatalf("execute: %d %s", a.status, a.body)
	}
	direct := findTool(t, env.catalog, "WHATSAPP_GET_PHONE_NUMBERS").Call(ctx, input).JSON()
	if !bytes.Equal(a.body, direct) {
		t.Errorf("REST and tool.Call differ:\n REST %s\n call %s", a.body, direct)
	}
	m := a.json(t)
	if m["successful"] != true || m["paging"] == nil {
		t.Errorf("envelope: %s", a.body)
	}

	c, err := client.NewInProcessClient(s.MCP())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	initialize(t, ctx, c, "2025-06-18")
	res, err := callTool(ctx, c, "WHATSAPP_GET_PHONE_NUMBERS", map[string]any{"limit": 1})
	if err != nil {
		t.Fatal(err)
	}
	viaMCP, _ := json.Marshal(envelope(t, res))
	var viaREST any
	_ = json.Unmarshal(a.body, &viaREST)
	restNorm, _ := json.Marshal(viaREST)
	if !bytes.Equal(viaMCP, restNorm) {
		t.Errorf("REST and MCP differ:\n REST %s\n  MCP %s", restNorm, viaMCP)
	}
}

// TestRESTExecuteSend: a send through REST reaches the Graph API once and
// answers the same envelope as tool.Call (but for the new message id).
func TestRESTExecuteSend(t *testing.T) {
	ctx := withTimeout(t, 30*time.Second)
	env := restEnvironment(t, restEnvOptions{})
	_, base := serveREST(t, env.catalog, server.Options{}, server.RESTOptions{})
	tool := findTool(t, env.catalog, "WHATSAPP_SEND_MESSAGE")

	a := restDo(t, "POST", base+"/v1/actions/WHATSAPP_SEND_MESSAGE/execute", "", tool.Example)
	if a.status != http.StatusOK {
		t.Fatalf("execute: %d %s", a.status, a.body)
	}
	sent := env.sb.SentMessages()
	if len(sent) != 1 || sent[0].Type != "text" || !bytes.Contains(sent[0].Body, []byte("Your order has shipped!")) {
		t.Fatalf("sandbox got %+v", sent)
	}
	viaREST := a.json(t)
	if data, _ := viaREST["data"].(map[string]any); data["message_id"] != sent[0].ID {
		t.Errorf("message_id = %v, sandbox sent %s", data["message_id"], sent[0].ID)
	}
	var direct map[string]any
	_ = json.Unmarshal(tool.Call(ctx, tool.Example).JSON(), &direct)
	if got, want := withoutIDs(viaREST), withoutIDs(direct); got != want {
		t.Errorf("REST and tool.Call differ:\n REST %s\n call %s", got, want)
	}
}

// withoutIDs renders an envelope with message ids blanked.
func withoutIDs(env map[string]any) string {
	b, _ := json.Marshal(env)
	s := string(b)
	for _, id := range wamids(env) {
		s = strings.ReplaceAll(s, id, "<wamid>")
	}
	return s
}

func wamids(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			out = append(out, wamids(c)...)
		}
	case []any:
		for _, c := range x {
			out = append(out, wamids(c)...)
		}
	case string:
		if strings.HasPrefix(x, "wamid.") {
			out = append(out, x)
		}
	}
	return out
}

// TestRESTInvalidInput: bad input is 422 with the field named, the same
// envelope as tool.Call, and no Graph request.
func TestRESTInvalidInput(t *testing.T) {
	ctx := withTimeout(t, 30*time.Second)
	env := restEnvironment(t, restEnvOptions{})
	_, base := serveREST(t, env.catalog, server.Options{}, server.RESTOptions{})
	for _, tc := range []struct{ tool, body, field string }{
		{"WHATSAPP_SEND_MESSAGE", `{}`, "to_number"},
		{"WHATSAPP_SEND_MESSAGE", ``, "phone_number_id"},
		{"WHATSAPP_SEND_MESSAGE", `{"to_number":"12","phone_number_id":"106540352242922","text":"hi"}`, "to_number"},
		{"WHATSAPP_SEND_MESSAGE", `{"to_number":"+16505551234","phone_number_id":"106540352242922","text":"hi","colour":"red"}`, "colour"},
		{"WHATSAPP_SEND_MESSAGE", `{"to_number":16505551234,"phone_number_id":"106540352242922","text":"hi"}`, "to_number"},
		{"WHATSAPP_SEND_MESSAGE", `not json`, "(arguments)"},
		{"WHATSAPP_GET_PHONE_NUMBERS", `{"limit":1000}`, "limit"},
		{"WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER", `{}`, "phone_number_id"},
	} {
		before := env.sb.RequestCount()
		a := restDo(t, "POST", base+"/v1/actions/"+tc.tool+"/execute", "", []byte(tc.body))
		if a.status != http.StatusUnprocessableEntity {
			t.Errorf("%s %s: %d, want 422: %s", tc.tool, tc.body, a.status, a.body)
			continue
		}
		m := a.json(t)
		// Contains, not "`field`": a wrong type in an input embedded from a
		// shared struct is named "Recipient.to_number" by tools.Decode.
		if msg, _ := m["error"].(string); m["successful"] != false || !strings.Contains(msg, tc.field+"`") {
			t.Errorf("%s %s: error does not name `%s`: %s", tc.tool, tc.body, tc.field, a.body)
		}
		if n := env.sb.RequestCount(); n != before {
			t.Errorf("%s %s: %d Graph requests for invalid input", tc.tool, tc.body, n-before)
		}
		direct := findTool(t, env.catalog, tc.tool).Call(ctx, json.RawMessage(tc.body)).JSON()
		if !bytes.Equal(a.body, direct) {
			t.Errorf("%s %s: REST and tool.Call differ:\n REST %s\n call %s", tc.tool, tc.body, a.body, direct)
		}
	}
}

// TestRESTFailures: Graph API errors are 502 (list tools too, whose data
// stays []), other failures 500; the body is the envelope.
func TestRESTFailures(t *testing.T) {
	env := restEnvironment(t, restEnvOptions{faults: sandbox.Faults{ThrottleRate: 1}})
	_, base := serveREST(t, env.catalog, server.Options{}, server.RESTOptions{})
	for _, name := range []string{"WHATSAPP_GET_PHONE_NUMBERS", "WHATSAPP_GET_PHONE_NUMBER", "WHATSAPP_SEND_MESSAGE"} {
		tool := findTool(t, env.catalog, name)
		a := restDo(t, "POST", base+"/v1/actions/"+name+"/execute", "", tool.Example)
		if a.status != http.StatusBadGateway {
			t.Errorf("%s: %d, want 502: %s", name, a.status, a.body)
			continue
		}
		if m := a.json(t); m["successful"] != false || !strings.Contains(m["error"].(string), "130429") {
			t.Errorf("%s: %s", name, a.body)
		}
	}

	noWABA := restEnvironment(t, restEnvOptions{noWABA: true})
	_, base = serveREST(t, noWABA.catalog, server.Options{}, server.RESTOptions{})
	a := restDo(t, "POST", base+"/v1/actions/WHATSAPP_GET_PHONE_NUMBERS/execute", "", []byte(`{}`))
	if a.status != http.StatusInternalServerError || !strings.Contains(string(a.body), "WHATSAPP_WABA_ID") {
		t.Errorf("no WABA: %d %s, want 500 naming WHATSAPP_WABA_ID", a.status, a.body)
	}
}

func TestRESTAuth(t *testing.T) {
	env := restEnvironment(t, restEnvOptions{})
	const token = "s3cret-token"
	for _, tc := range []struct {
		name  string
		opts  server.Options
		ropts server.RESTOptions
	}{
		{"server token", server.Options{HTTPToken: token}, server.RESTOptions{}},
		{"server token, REST options set", server.Options{HTTPToken: token}, server.RESTOptions{MaxBodyBytes: 1 << 20, ServerURL: "https://x.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, base := serveREST(t, env.catalog, tc.opts, tc.ropts)
			for _, path := range []string{"/v1/actions", "/v1/actions/WHATSAPP_SEND_MESSAGE", "/v1/openapi.json", "/v1/nothing"} {
				for _, bad := range []string{"", "wrong", token + "x"} {
					a := restDo(t, "GET", base+path, bad, nil)
					if a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") == "" {
						t.Errorf("GET %s with %q: %d, want 401", path, bad, a.status)
						continue
					}
					if m := a.json(t); m["successful"] != false || !strings.Contains(m["error"].(string), "bearer token") {
						t.Errorf("401 body: %s", a.body)
					}
				}
			}
			before := env.sb.RequestCount()
			if a := restDo(t, "POST", base+"/v1/actions/WHATSAPP_SEND_MESSAGE/execute", "", findTool(t, env.catalog, "WHATSAPP_SEND_MESSAGE").Example); a.status != http.StatusUnauthorized {
				t.Errorf("execute without token: %d", a.status)
			}
			if env.sb.RequestCount() != before {
				t.Errorf("an unauthenticated execute reached the Graph API")
			}
			if a := restDo(t, "GET", base+"/v1/actions", token, nil); a.status != http.StatusOK {
				t.Errorf("with token: %d %s", a.status, a.body)
			}
			req, _ := http.NewRequest("GET", base+"/v1/actions", nil)
			req.Header.Set("Authorization", "bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("lower-case scheme: %d", resp.StatusCode)
			}
		})
	}
}

// TestRESTFiltered: tools the server's filters disabled are absent from
// the list and the OpenAPI document and refused with 404 "disabled".
func TestRESTFiltered(t *testing.T) {
	env := restEnvironment(t, restEnvOptions{})
	s, base := serveREST(t, env.catalog, server.Options{ReadOnly: true}, server.RESTOptions{})

	var list struct {
		Actions []struct {
			Name        string
			Annotations tools.Annotations
		}
	}
	if err := json.Unmarshal(restDo(t, "GET", base+"/v1/actions", "", nil).body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Actions) != len(s.Tools()) || len(list.Actions) == 0 || len(list.Actions) == len(env.catalog) {
		t.Fatalf("read-only list has %d actions (server enables %d of %d)", len(list.Actions), len(s.Tools()), len(env.catalog))
	}
	for _, a := range list.Actions {
		if !a.Annotations.ReadOnly {
			t.Errorf("read-only server lists %s", a.Name)
		}
	}

	before := env.sb.RequestCount()
	tool := findTool(t, env.catalog, "WHATSAPP_SEND_MESSAGE")
	for _, tc := range []struct {
		method, path string
		body         []byte
	}{
		{"GET", "/v1/actions/WHATSAPP_SEND_MESSAGE", nil},
		{"POST", "/v1/actions/WHATSAPP_SEND_MESSAGE/execute", tool.Example},
	} {
		a := restDo(t, tc.method, base+tc.path, "", tc.body)
		if a.status != http.StatusNotFound || !strings.Contains(string(a.body), "disabled by this server's configuration") || !strings.Contains(string(a.body), "read-only") {
			t.Errorf("%s %s: %d %s, want 404 disabled (read-only)", tc.method, tc.path, a.status, a.body)
		}
	}
	if env.sb.RequestCount() != before || len(env.sb.SentMessages()) != 0 {
		t.Errorf("a disabled tool reached the Graph API")
	}
	if a := restDo(t, "POST", base+"/v1/actions/WHATSAPP_GET_PHONE_NUMBERS/execute", "", []byte(`{}`)); a.status != http.StatusOK {
		t.Errorf("enabled read tool: %d %s", a.status, a.body)
	}

	doc := restDo(t, "GET", base+"/v1/openapi.json", "", nil)
	if doc.status != http.StatusOK {
		t.Fatalf("openapi: %d", doc.status)
	}
	checkOpenAPI(t, doc.body, s.Tools())
	if bytes.Contains(doc.body, []byte("WHATSAPP_SEND_MESSAGE")) {
		t.Errorf("the served OpenAPI document mentions a disabled tool")
	}
}

func TestRESTBodyLimit(t *testing.T) {
	env := restEnvironment(t, restEnvOptions{})
	_, base := serveREST(t, env.catalog, server.Options{}, server.RESTOptions{MaxBodyBytes: 256})
	before := env.sb.RequestCount()
	big := []byte(`{"to_number":"+16505551234","phone_number_id":"106540352242922","text":"` + strings.Repeat("a", 300) + `"}`)
	a := restDo(t, "POST", base+"/v1/actions/WHATSAPP_SEND_MESSAGE/execute", "", big)
	if a.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(a.body), "256 bytes") {
		t.Errorf("%d %s, want 413", a.status, a.body)
	}
	if env.sb.RequestCount() != before {
		t.Errorf("an oversized body reached the Graph API")
	}
	if a := restDo(t, "POST", base+"/v1/actions/WHATSAPP_GET_PHONE_NUMBERS/execute", "", []byte(`{}`)); a.status != http.StatusOK {
		t.Errorf("small body: %d %s", a.status, a.body)
	}
}

// TestRESTPanic: a panicking tool is a 500 envelope through the same call
// wrapper as MCP (no other recovery exists), and the server keeps serving.
func TestRESTPanic(t *testing.T) {
	cat := testCatalog()
	_, base := serveREST(t, cat, server.Options{}, server.RESTOptions{})
	for range 2 {
		a := restDo(t, "POST", base+"/v1/actions/TEST_PANIC/execute", "", nil)
		if a.status != http.StatusInternalServerError || !strings.Contains(string(a.body), "internal error") {
			t.Errorf("panic: %d %s", a.status, a.body)
		}
	}
	if a := restDo(t, "POST", base+"/v1/actions/TEST_ECHO/execute", "", []byte(`{"text":"hi"}`)); a.status != http.StatusOK {
		t.Errorf("after a panic: %d %s", a.status, a.body)
	}
	doc := restDo(t, "GET", base+"/v1/openapi.json", "", nil)
	if doc.status != http.StatusOK {
		t.Fatalf("openapi: %d", doc.status)
	}
	checkOpenAPI(t, doc.body, cat)
}

// TestRESTStatus pins the classification by failure kind.
func TestRESTStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  tools.Result
		want int
	}{
		{"ok", tools.Result{Successful: true, Data: map[string]any{}}, 200},
		{"input error", tools.Result{Data: map[string]any{}, Error: "x", Kind: tools.KindInvalidInput}, 422},
		{"input error, list tool", tools.Result{Data: []any{}, Error: "x", Kind: tools.KindInvalidInput}, 422},
		{"graph error", tools.Result{Data: map[string]any{"code": 131047}, Error: "x", Kind: tools.KindAPI}, 502},
		{"outcome unknown", tools.Result{Data: map[string]any{}, Error: "x", Kind: tools.KindOutcomeUnknown}, 502},
		{"unreachable", tools.Result{Data: []any{}, Error: "x", Kind: tools.KindUnavailable}, 502},
		{"other", tools.Result{Data: map[string]any{}, Error: "this tool needs the WhatsApp Business Account id", Kind: tools.KindFailed}, 500},
		{"unclassified", tools.Result{Data: map[string]any{}, Error: "invalid input lookalike"}, 500},
	} {
		if got := server.RESTStatus(tc.res); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
