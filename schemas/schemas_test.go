package schemas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/schemas"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

const regenerate = "run `go generate ./...`"

// TestFilesCurrent regenerates schemas/ in memory and compares it with the
// files on disk: a changed declaration without regenerated files, a missing
// file and a stale file of a removed tool all fail.
func TestFilesCurrent(t *testing.T) {
	want, err := schemas.Files(schemas.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range schemas.Names(want) {
		got, err := os.ReadFile(name)
		if os.IsNotExist(err) {
			// Missing fails always (under CI=true as everywhere else): a
			// tool without its checked-in schema is not done.
			t.Errorf("schemas/%s is missing (CI=%q): %s and commit it", name, os.Getenv("CI"), regenerate)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[name]) {
			t.Errorf("schemas/ is stale: run `go generate ./...` (schemas/%s differs from the declarations: %s)", name, firstDiff(got, want[name]))
		}
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") {
			if _, ok := want[e.Name()]; !ok {
				t.Errorf("schemas/ is stale: run `go generate ./...` (schemas/%s belongs to no tool of the catalog)", e.Name())
			}
		}
	}
}

// TestReadmeCurrent fails when the README's generated tool reference does
// not match the declarations.
func TestReadmeCurrent(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := schemas.README(readme, schemas.Catalog())
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if !bytes.Equal(readme, want) {
		t.Errorf("README.md's tool reference is stale: %s (%s)", regenerate, firstDiff(readme, want))
	}
}

func firstDiff(got, want []byte) string {
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return fmt.Sprintf("line %d: on disk %q, generated %q", i+1, trunc(g), trunc(w))
		}
	}
	return "same lines"
}

func trunc(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// toolFile is what a schemas/<TOOL>.json holds.
type toolFile = tools.Descriptor

// compiled are the checked-in schemas, compiled as JSON Schema 2020-12.
type compiled struct {
	in, out *jsonschema.Schema
}

func compile(t *testing.T, url string, raw json.RawMessage) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("%s does not compile as JSON Schema 2020-12: %v", url, err)
	}
	return s
}

func validate(s *jsonschema.Schema, instance []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(instance))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// loadSchemas reads and compiles every checked-in tool file.
func loadSchemas(t *testing.T) map[string]compiled {
	t.Helper()
	out := map[string]compiled{}
	for _, tool := range schemas.Catalog() {
		b, err := os.ReadFile(schemas.FileName(tool.Name))
		if err != nil {
			t.Fatalf("%v: %s", err, regenerate)
		}
		var f toolFile
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("schemas/%s: %v", schemas.FileName(tool.Name), err)
		}
		for key, raw := range map[string]json.RawMessage{"inputSchema": f.InputSchema, "outputSchema": f.OutputSchema} {
			var probe struct {
				Schema string `json:"$schema"`
			}
			if err := json.Unmarshal(raw, &probe); err != nil || probe.Schema != schemas.Dialect {
				t.Errorf("schemas/%s %s: $schema = %q, want %q", f.Name, key, probe.Schema, schemas.Dialect)
			}
		}
		out[tool.Name] = compiled{
			in:  compile(t, "mem:///"+tool.Name+"/input.json", f.InputSchema),
			out: compile(t, "mem:///"+tool.Name+"/output.json", f.OutputSchema),
		}
	}
	return out
}

// TestSchemasCompileAndExamplesValidate: every schema is valid JSON Schema
// 2020-12 and every documented example input validates against its tool's
// input schema.
func TestSchemasCompileAndExamplesValidate(t *testing.T) {
	compiledSchemas := loadSchemas(t)
	for _, tool := range schemas.Catalog() {
		t.Run(tool.Name, func(t *testing.T) {
			if len(tool.Example) == 0 {
				t.Fatalf("%s has no Example: the docs show one for every tool", tool.Name)
			}
			if err := validate(compiledSchemas[tool.Name].in, tool.Example); err != nil {
				t.Errorf("the example input does not validate against the input schema: %v", err)
			}
			// The input schema rejects what the decoder rejects.
			if err := validate(compiledSchemas[tool.Name].in, []byte(`{"no_such_input_xyz":1}`)); err == nil {
				t.Errorf("the input schema accepts an unknown input; inputs are strict")
			}
		})
	}
}

// TestIndex checks catalog.json lists every tool once, in catalog order,
// with its file.
func TestIndex(t *testing.T) {
	b, err := os.ReadFile(schemas.IndexFile)
	if err != nil {
		t.Fatalf("%v: %s", err, regenerate)
	}
	var index []struct {
		Name, Title, Toolset, File string
		Annotations                tools.Annotations
	}
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	catalog := schemas.Catalog()
	if len(index) != len(catalog) {
		t.Fatalf("index has %d entries, catalog %d tools", len(index), len(catalog))
	}
	for i, e := range index {
		tool := catalog[i]
		if e.Name != tool.Name || e.Title != tool.Title || e.Toolset != tool.Toolset || e.Annotations != tool.Annotations || e.File != tool.Name+".json" {
			t.Errorf("index[%d] = %+v, want tool %s", i, e, tool.Name)
		}
		if _, err := os.Stat(e.File); err != nil {
			t.Errorf("index[%d].file: %v", i, err)
		}
	}
}

// sandboxEnv is the catalog wired to a fresh sandbox, whose status
// webhooks reach a real webhook receiver and store.
type sandboxEnv struct {
	catalog []tools.Tool
	sb      *sandbox.Sandbox
	store   store.Store
	// inboundID is the message the customer wrote (samples).
	inboundID string
}

// unreachable is the examples' recipient: the sandbox accepts sends to it
// and then reports them failed (131026), so the status tools have events.
const unreachable = "+16505551234"

func newSandboxEnv(t *testing.T, cfg sandbox.Config) *sandboxEnv {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hook := httptest.NewServer(triggers.NewWebhook(st, triggers.WebhookConfig{
		AppSecret: sandbox.DefaultAppSecret, VerifyToken: sandbox.DefaultVerifyToken,
	}))
	t.Cleanup(hook.Close)
	cfg.WebhookURL = hook.URL
	cfg.UnreachableNumbers = append(cfg.UnreachableNumbers, unreachable)
	sb := sandbox.New(cfg)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = sb.Close() })
	gc, err := graph.NewClient(sandbox.DefaultToken, graph.WithBaseURL(srv.URL),
		graph.WithHTTPClient(srv.Client()), graph.WithRetry(graph.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	deps := &actions.Deps{Graph: gc, WABAID: sandbox.WABAID, MediaDir: t.TempDir()}
	return &sandboxEnv{catalog: catalog.Tools(deps, st), sb: sb, store: st}
}

// withoutStore is the catalog with the tools that read the store (closed
// world) built without one.
func (e *sandboxEnv) withoutStore() []tools.Tool {
	out := append([]tools.Tool(nil), e.catalog...)
	for _, nostore := range catalog.Tools(&actions.Deps{}, nil) {
		// A task tool that calls Meta only stores its job (the bulk send):
		// its failure here is the missing store.
		if nostore.Annotations.OpenWorld && !nostore.Task {
			continue
		}
		for i := range out {
			if out[i].Name == nostore.Name {
				out[i] = nostore
			}
		}
	}
	return out
}

// waitStatus waits until the store holds a status of that message.
func (e *sandboxEnv) waitStatus(t *testing.T, messageID, status string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h, err := e.store.History(context.Background(), []string{messageID})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range h[messageID] {
			if ev.Status == status {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s status webhook stored for %s", status, messageID)
}

// sample says how to turn a tool's example into a call that succeeds on the
// sandbox: after runs the tool only once those tools ran, and patch edits
// the example's fields using what they returned.
type sample struct {
	after []string
	patch func(t *testing.T, e *sandboxEnv, in map[string]any, got map[string]tools.Result)
}

func dataMap(r tools.Result) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(r.Data)
	_ = json.Unmarshal(b, &m)
	return m
}

func firstID(r tools.Result) string {
	var list []map[string]any
	b, _ := json.Marshal(r.Data)
	_ = json.Unmarshal(b, &list)
	if len(list) == 0 {
		return ""
	}
	id, _ := list[0]["id"].(string)
	return id
}

func setFrom(key, tool, field string) func(*testing.T, *sandboxEnv, map[string]any, map[string]tools.Result) {
	return func(_ *testing.T, _ *sandboxEnv, in map[string]any, got map[string]tools.Result) {
		in[key] = dataMap(got[tool])[field]
	}
}

var samples = map[string]sample{
	"WHATSAPP_GET_TEMPLATE_STATUS": {after: []string{"WHATSAPP_GET_MESSAGE_TEMPLATES"}, patch: func(_ *testing.T, _ *sandboxEnv, in map[string]any, got map[string]tools.Result) {
		in["template_id"] = firstID(got["WHATSAPP_GET_MESSAGE_TEMPLATES"])
	}},
	"WHATSAPP_DELETE_MESSAGE_TEMPLATE": {after: []string{"WHATSAPP_CREATE_MESSAGE_TEMPLATE", "WHATSAPP_GET_TEMPLATE_STATUS"},
		patch: setFrom("template_id", "WHATSAPP_CREATE_MESSAGE_TEMPLATE", "id")},
	"WHATSAPP_GET_MEDIA_INFO":   {after: []string{"WHATSAPP_UPLOAD_MEDIA"}, patch: setFrom("media_id", "WHATSAPP_UPLOAD_MEDIA", "id")},
	"WHATSAPP_GET_MEDIA":        {after: []string{"WHATSAPP_UPLOAD_MEDIA"}, patch: setFrom("media_id", "WHATSAPP_UPLOAD_MEDIA", "id")},
	"WHATSAPP_SEND_MEDIA_BY_ID": {after: []string{"WHATSAPP_UPLOAD_MEDIA"}, patch: setFrom("media_id", "WHATSAPP_UPLOAD_MEDIA", "id")},
	"WHATSAPP_SEND_REPLY":       {after: []string{"WHATSAPP_SEND_MESSAGE"}, patch: setFrom("reply_to_message_id", "WHATSAPP_SEND_MESSAGE", "message_id")},
	"WHATSAPP_GET_BULK_SEND":    {after: []string{"WHATSAPP_SEND_TEMPLATE_BULK"}, patch: setFrom("job_id", "WHATSAPP_SEND_TEMPLATE_BULK", "job_id")},
	"WHATSAPP_GET_MESSAGE_STATUS": {after: []string{"WHATSAPP_SEND_MESSAGE"}, patch: func(t *testing.T, e *sandboxEnv, in map[string]any, got map[string]tools.Result) {
		id, _ := dataMap(got["WHATSAPP_SEND_MESSAGE"])["message_id"].(string)
		e.waitStatus(t, id, "failed")
		in["message_ids"] = []string{id}
	}},
	// Its example asks for failed statuses: wait for the one of the
	// message sent to the unreachable number.
	"WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER": {after: []string{"WHATSAPP_SEND_MESSAGE"}, patch: func(t *testing.T, e *sandboxEnv, _ map[string]any, got map[string]tools.Result) {
		id, _ := dataMap(got["WHATSAPP_SEND_MESSAGE"])["message_id"].(string)
		e.waitStatus(t, id, "failed")
	}},
	// The conversation tools read what a customer wrote: the trigger's
	// patch has the sandbox's customer write first, and the others follow.
	"WHATSAPP_MESSAGE_RECEIVED_TRIGGER": {patch: func(t *testing.T, e *sandboxEnv, _ map[string]any, _ map[string]tools.Result) {
		e.inbound(t, "Where is my refund? Order 1234")
	}},
	"WHATSAPP_LIST_CONVERSATIONS": {after: []string{"WHATSAPP_MESSAGE_RECEIVED_TRIGGER"}},
	"WHATSAPP_GET_CONVERSATION":   {after: []string{"WHATSAPP_MESSAGE_RECEIVED_TRIGGER", "WHATSAPP_SEND_REPLY"}},
	"WHATSAPP_SEARCH_MESSAGES":    {after: []string{"WHATSAPP_MESSAGE_RECEIVED_TRIGGER"}},
	"WHATSAPP_MARK_AS_READ": {after: []string{"WHATSAPP_LIST_CONVERSATIONS", "WHATSAPP_GET_CONVERSATION", "WHATSAPP_SEARCH_MESSAGES"},
		patch: func(_ *testing.T, e *sandboxEnv, in map[string]any, _ map[string]tools.Result) {
			in["message_id"] = e.inboundID
		}},
	"WHATSAPP_SEND_REACTION": {after: []string{"WHATSAPP_MARK_AS_READ"},
		patch: func(_ *testing.T, e *sandboxEnv, in map[string]any, _ map[string]tools.Result) {
			in["message_id"] = e.inboundID
		}},
}

// inbound has the examples' customer write text to the examples' business
// number and waits until the webhook has stored it.
func (e *sandboxEnv) inbound(t *testing.T, text string) {
	t.Helper()
	ctx := context.Background()
	id, err := e.sb.Inbound(ctx, sandbox.PhoneNumberID, "+16505551234", "Ana", text)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		msgs, _, err := e.store.Inbound(ctx, store.InboundQuery{PhoneNumberID: sandbox.PhoneNumberID})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.MessageID == id {
				e.inboundID = id
				return
			}
		}
	}
	t.Fatalf("the inbound message %s never reached the store", id)
}

// TestSampleOutputsValidate runs every tool against the sandbox (its
// documented example, patched with ids the sandbox knows) and checks the
// successful envelope validates against the tool's output schema; then a
// failed envelope of every tool (invalid input) and a Graph API failure
// validate too.
func TestSampleOutputsValidate(t *testing.T) {
	compiledSchemas := loadSchemas(t)
	env := newSandboxEnv(t, sandbox.Config{})
	catalog := env.catalog
	byName := map[string]tools.Tool{}
	for _, tool := range catalog {
		byName[tool.Name] = tool
	}
	for name, s := range samples {
		if _, ok := byName[name]; !ok {
			t.Errorf("samples has %s, which is not in the catalog", name)
		}
		for _, dep := range s.after {
			if _, ok := byName[dep]; !ok {
				t.Errorf("samples: %s runs after %s, which is not in the catalog", name, dep)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	got := map[string]tools.Result{}
	var run func(name string, stack []string)
	run = func(name string, stack []string) {
		if _, done := got[name]; done {
			return
		}
		if slices.Contains(stack, name) {
			t.Fatalf("samples: cycle %v", append(stack, name))
		}
		s := samples[name]
		for _, dep := range s.after {
			run(dep, append(stack, name))
		}
		tool := byName[name]
		in := map[string]any{}
		if err := json.Unmarshal(tool.Example, &in); err != nil {
			t.Fatalf("%s example: %v", name, err)
		}
		if s.patch != nil {
			s.patch(t, env, in, got)
		}
		args, _ := json.Marshal(in)
		got[name] = tool.Call(ctx, args)
	}
	for _, tool := range catalog {
		run(tool.Name, nil)
	}

	if ev, _ := dataMap(got["WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER"])["events"].([]any); len(ev) == 0 {
		t.Errorf("the trigger's sample has no events, so its event schema is not exercised: %s", got["WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER"].JSON())
	}
	for name, key := range map[string]string{"WHATSAPP_MESSAGE_RECEIVED_TRIGGER": "events", "WHATSAPP_LIST_CONVERSATIONS": "conversations",
		"WHATSAPP_GET_CONVERSATION": "messages", "WHATSAPP_SEARCH_MESSAGES": "messages"} {
		if items, _ := dataMap(got[name])[key].([]any); len(items) == 0 {
			t.Errorf("the sample of %s has no %s, so their schema is not exercised: %s", name, key, got[name].JSON())
		}
	}
	for _, tool := range catalog {
		t.Run(tool.Name, func(t *testing.T) {
			res := got[tool.Name]
			if !res.Successful {
				t.Fatalf("the sample call failed on the sandbox (fix the example or add a samples entry): %s", res.Error)
			}
			if err := validate(compiledSchemas[tool.Name].out, res.JSON()); err != nil {
				t.Errorf("the successful output does not validate against the output schema: %v\noutput: %s", err, trunc(string(res.JSON())))
			}
			bad := tool.Call(ctx, json.RawMessage(`{"no_such_input_xyz":1}`))
			if bad.Successful {
				t.Fatalf("an unknown input was accepted")
			}
			if err := validate(compiledSchemas[tool.Name].out, bad.JSON()); err != nil {
				t.Errorf("the failure envelope (invalid input) does not validate against the output schema: %v\noutput: %s", err, bad.JSON())
			}
		})
	}

}

// TestFailureEnvelopesValidate: the envelope of a Graph API failure (or,
// for the status tools, of a missing store) validates against every tool's output schema too. MCP clients (the
// TypeScript SDK among them) validate structuredContent whenever a tool
// declares an outputSchema, isError or not.
func TestFailureEnvelopesValidate(t *testing.T) {
	compiledSchemas := loadSchemas(t)
	// Every Graph call is answered 400 130429 (throughput) without effect.
	// The status tools, which read the server's own store, fail without one.
	catalog := newSandboxEnv(t, sandbox.Config{Faults: sandbox.Faults{ThrottleRate: 1}}).withoutStore()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, tool := range catalog {
		t.Run(tool.Name, func(t *testing.T) {
			res := tool.Call(ctx, tool.Example)
			if res.Successful {
				t.Fatalf("succeeded against a sandbox refusing every call: %s", trunc(string(res.JSON())))
			}
			if err := validate(compiledSchemas[tool.Name].out, res.JSON()); err != nil {
				t.Errorf("the failure envelope (Graph API error) does not validate against the output schema: %v\noutput: %s", err, trunc(string(res.JSON())))
			}
		})
	}
}
