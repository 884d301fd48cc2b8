package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// TestInstructions: the instructions are the opening text and the distinct
// hints of the enabled tools; a hint is given once however many tools
// carry it, and never when it names a tool that is not enabled.
func TestInstructions(t *testing.T) {
	const opening = "Opening."
	for _, tc := range []struct {
		name    string
		opts    server.Options
		want    []string
		notWant []string
	}{
		{"all", server.Options{}, []string{"Echo first, then TEST_SEND.", "Sending is pretend."}, nil},
		{"the shared hint stays while one of its tools does", server.Options{ExcludeTools: []string{"TEST_DELETE"}},
			[]string{"Sending is pretend.", "Echo first, then TEST_SEND."}, nil},
		{"a hint naming a disabled tool goes", server.Options{ExcludeTools: []string{"TEST_SEND"}},
			[]string{"Sending is pretend."}, []string{"TEST_SEND"}},
		{"no carrier, no hint", server.Options{ReadOnly: true}, nil, []string{"Sending is pretend.", "TEST_SEND", "TEST_DELETE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := withTimeout(t, 10*time.Second)
			tc.opts.About = tools.About{Instructions: opening}
			c, err := client.NewInProcessClient(newServer(t, tc.opts).MCP())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			s := newServer(t, tc.opts)
			got := initialize(t, ctx, c, mcp.LATEST_PROTOCOL_VERSION).Instructions
			if got != s.Instructions() {
				t.Errorf("initialize gave %q, Instructions() %q", got, s.Instructions())
			}
			if !strings.HasPrefix(got, opening) {
				t.Errorf("instructions %q do not open with %q", got, opening)
			}
			for _, w := range tc.want {
				if strings.Count(got, w) != 1 {
					t.Errorf("instructions %q have %q %d times, want once", got, w, strings.Count(got, w))
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("instructions %q name %q", got, w)
				}
			}
		})
	}
}

func TestInProcessRoundTrip(t *testing.T) {
	ctx := withTimeout(t, 10*time.Second)
	s := newServer(t, server.Options{About: tools.About{Name: "test-server", Instructions: "Every tool returns {successful, data, error}."}, Version: "v9.9.9"})
	c, err := client.NewInProcessClient(s.MCP())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := initialize(t, ctx, c, mcp.LATEST_PROTOCOL_VERSION)
	if init.ServerInfo.Name != "test-server" || init.ServerInfo.Version != "v9.9.9" {
		t.Errorf("server info = %+v", init.ServerInfo)
	}
	if !strings.HasPrefix(init.Instructions, "Every tool returns {successful, data, error}.") {
		t.Errorf("instructions do not open with About.Instructions: %q", init.Instructions)
	}
	if init.Capabilities.Tools == nil || init.Capabilities.Logging == nil {
		t.Errorf("capabilities = %+v, want tools and logging", init.Capabilities)
	}

	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := toolNames(list.Tools)
	slices.Sort(got)
	want := []string{"TEST_DELETE", "TEST_ECHO", "TEST_PANIC", "TEST_SEND", "TEST_SLEEP"}
	if !slices.Equal(got, want) {
		t.Fatalf("tools = %v, want %v", got, want)
	}

	t.Run("success", func(t *testing.T) {
		res, err := callTool(ctx, c, "TEST_SEND", map[string]any{"text": "hi"})
		if err != nil {
			t.Fatal(err)
		}
		env := envelope(t, res)
		if res.IsError || env["data"].(map[string]any)["text"] != "sent hi" {
			t.Fatalf("result = %+v", env)
		}
		if w, _ := env["warnings"].([]any); len(w) != 1 {
			t.Errorf("warnings = %v, want the tool's one warning", env["warnings"])
		}
	})
	t.Run("tool failure is isError, not a protocol error", func(t *testing.T) {
		res, err := callTool(ctx, c, "TEST_DELETE", map[string]any{})
		if err != nil {
			t.Fatalf("a tool failure became a protocol error: %v", err)
		}
		env := envelope(t, res)
		if !res.IsError || env["successful"] != false || !strings.Contains(env["error"].(string), "template not found") {
			t.Fatalf("result = %+v", env)
		}
	})
	t.Run("invalid input is isError naming the field", func(t *testing.T) {
		res, err := callTool(ctx, c, "TEST_ECHO", map[string]any{"txt": "typo"})
		if err != nil {
			t.Fatal(err)
		}
		env := envelope(t, res)
		if !res.IsError || !strings.Contains(env["error"].(string), "txt") {
			t.Fatalf("result = %+v", env)
		}
	})
	t.Run("panic is isError", func(t *testing.T) {
		res, err := callTool(ctx, c, "TEST_PANIC", nil)
		if err != nil {
			t.Fatalf("a panic became a protocol error: %v", err)
		}
		env := envelope(t, res)
		if !res.IsError || !strings.Contains(env["error"].(string), "internal error") {
			t.Fatalf("result = %+v", env)
		}
	})
	t.Run("unknown tool is a protocol error", func(t *testing.T) {
		_, err := callTool(ctx, c, "NO_SUCH_TOOL", nil)
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("err = %v, want not found", err)
		}
	})
}

// TestStdioRoundTrip drives ServeStdio with mcp-go's client over pipes, as a
// subprocess client would.
func TestStdioRoundTrip(t *testing.T) {
	ctx := withTimeout(t, 10*time.Second)
	s := newServer(t, server.Options{})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.ServeStdio(ctx, inR, outW); outW.Close() }()

	c := client.NewClient(transport.NewIO(outR, inW, io.NopCloser(strings.NewReader(""))))
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	initialize(t, ctx, c, mcp.LATEST_PROTOCOL_VERSION)
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil || len(list.Tools) != 5 {
		t.Fatalf("list: %v, %d tools", err, len(list.Tools))
	}
	res, err := callTool(ctx, c, "TEST_ECHO", map[string]any{"text": "over stdio"})
	if err != nil {
		t.Fatal(err)
	}
	if env := envelope(t, res); env["data"].(map[string]any)["text"] != "over stdio" {
		t.Fatalf("result = %+v", env)
	}
	inW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeStdio: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("ServeStdio did not return at end of input")
	}
	c.Close()
}

// TestStdioAnswersBeforeEOF: input that ends right after a tools/call (a
// shell pipe) still gets the call's answer, not a cancellation.
func TestStdioAnswersBeforeEOF(t *testing.T) {
	ctx := withTimeout(t, 10*time.Second)
	s := newServer(t, server.Options{})
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"pipe","version":"0"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"TEST_SLEEP","arguments":{"millis":300}}}`,
	}, "\n") + "\n"
	var out strings.Builder
	if err := s.ServeStdio(ctx, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	byID := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stdout carries a non-JSON line: %q", sc.Text())
		}
		if id, ok := m["id"]; ok {
			b, _ := json.Marshal(id)
			byID[string(b)] = m
		}
	}
	call, ok := byID["2"]
	if !ok {
		t.Fatalf("no answer to the tools/call; stdout:\n%s", out.String())
	}
	b, _ := json.Marshal(call["result"])
	if !strings.Contains(string(b), `"successful":true`) {
		t.Fatalf("call answer = %s", b)
	}
}

func TestCallTimeout(t *testing.T) {
	ctx := withTimeout(t, 10*time.Second)
	s := newServer(t, server.Options{CallTimeout: 50 * time.Millisecond})
	start := time.Now()
	// context.Background has no deadline, so the server's applies.
	res, err := s.Call(context.Background(), "TEST_SLEEP", json.RawMessage(`{"millis":5000}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Successful || time.Since(start) > 3*time.Second {
		t.Fatalf("result %+v after %v, want a failure at the deadline", res, time.Since(start))
	}
	// A caller's own deadline wins over the default.
	long, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if res, _ := s.Call(long, "TEST_SLEEP", json.RawMessage(`{"millis":100}`)); !res.Successful {
		t.Fatalf("with the caller's deadline: %+v", res)
	}
}

func TestAnnotationsOnTheWire(t *testing.T) {
	s := newServer(t, server.Options{})
	resp := s.MCP().HandleMessage(context.Background(), json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	raw, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Result struct {
			Tools []map[string]json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	decl := map[string]tools.Tool{}
	for _, d := range testCatalog() {
		decl[d.Name] = d
	}
	if len(msg.Result.Tools) != len(decl) {
		t.Fatalf("%d tools on the wire: %s", len(msg.Result.Tools), raw)
	}
	for _, wire := range msg.Result.Tools {
		var name, title string
		json.Unmarshal(wire["name"], &name)
		json.Unmarshal(wire["title"], &title)
		d := decl[name]
		if title != d.Title {
			t.Errorf("%s: title %q, want %q", name, title, d.Title)
		}
		var ann map[string]any
		if err := json.Unmarshal(wire["annotations"], &ann); err != nil {
			t.Fatalf("%s: annotations: %v", name, err)
		}
		if _, dup := ann["title"]; dup {
			t.Errorf("%s: annotations.title repeats the tool's title", name)
		}
		want := map[string]any{
			"readOnlyHint":    d.Annotations.ReadOnly,
			"destructiveHint": d.Annotations.Destructive,
			"idempotentHint":  d.Annotations.Idempotent,
			"openWorldHint":   d.Annotations.OpenWorld,
		}
		for k, v := range want {
			if ann[k] != v {
				t.Errorf("%s: annotations.%s = %v, want %v (all hints must be explicit)", name, k, ann[k], v)
			}
		}
		if !jsonEqual(wire["inputSchema"], d.InputSchema) {
			t.Errorf("%s: inputSchema on the wire differs from the declaration", name)
		}
		if !jsonEqual(wire["outputSchema"], d.OutputSchema) {
			t.Errorf("%s: outputSchema on the wire differs from the declaration", name)
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestNewRejectsBadCatalog(t *testing.T) {
	cat := testCatalog()
	if _, err := server.New(append(cat, cat[0]), server.Options{}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate name: err = %v", err)
	}
	if _, err := server.New([]tools.Tool{{}}, server.Options{}); err == nil {
		t.Error("nameless tool accepted")
	}
}

func TestLookup(t *testing.T) {
	s := newServer(t, server.Options{ReadOnly: true})
	if _, err := s.Lookup("TEST_ECHO"); err != nil {
		t.Errorf("enabled tool: %v", err)
	}
	if _, err := s.Lookup("TEST_SEND"); !errors.Is(err, server.ErrToolDisabled) || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("disabled tool: %v", err)
	}
	if _, err := s.Lookup("NOPE"); !errors.Is(err, server.ErrUnknownTool) {
		t.Errorf("unknown tool: %v", err)
	}
	if _, err := s.Call(context.Background(), "TEST_SEND", nil); !errors.Is(err, server.ErrToolDisabled) {
		t.Errorf("Call of a disabled tool: %v", err)
	}
}
