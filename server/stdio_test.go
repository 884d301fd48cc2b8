package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// stdioLines serves s over stdio with in as the whole input and returns
// every line written, parsed.
func stdioLines(t *testing.T, s *server.Server, in ...string) []map[string]any {
	t.Helper()
	ctx := withTimeout(t, 10*time.Second)
	var out strings.Builder
	if err := s.ServeStdio(ctx, strings.NewReader(strings.Join(in, "\n")+"\n"), &out); err != nil {
		t.Fatalf("ServeStdio: %v", err)
	}
	var msgs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stdout carries a line that is not JSON: %q", sc.Text())
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func byID(msgs []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, m := range msgs {
		b, _ := json.Marshal(m["id"])
		out[string(b)] = m
	}
	return out
}

const initLines = `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}` + "\n" +
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`

// TestStdioMessages: what the stdio loop does with each kind of line: the
// arguments of a call reach the tool byte for byte (they are kept from
// mcp-go, see setAside), a line that is not JSON is answered with a parse
// error, a blank line and a notification get no answer, a request whose
// fields have the wrong types still gets mcp-go's answer, and ids of any
// JSON type come back as sent.
func TestStdioMessages(t *testing.T) {
	s := newServer(t, server.Options{})
	text := `quotes " and \ backslash, <b>&</b>, é, 😀, \u2028`
	args, _ := json.Marshal(map[string]string{"text": text})
	msgs := stdioLines(t, s,
		initLines,
		``,
		`   `,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"TEST_ECHO","arguments":`+string(args)+`}}`,
		`{"jsonrpc":"2.0","id":"two","method":"tools/call","params":{"arguments":{"text":"after"},"name":"TEST_ECHO"}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"TEST_ECHO"}}`,
		`{"jsonrpc":"2.0","id":4.5,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":["TEST_ECHO"]}`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}`,
		`not json`,
	)
	got := byID(msgs)
	echo := func(id string) map[string]any {
		t.Helper()
		m, ok := got[id]
		if !ok {
			t.Fatalf("no answer to id %s; got %v", id, msgs)
		}
		res, _ := m["result"].(map[string]any)
		env, _ := res["structuredContent"].(map[string]any)
		content, _ := res["content"].([]any)
		if len(content) != 1 {
			t.Fatalf("id %s: content %v", id, res["content"])
		}
		var fromText map[string]any
		if err := json.Unmarshal([]byte(content[0].(map[string]any)["text"].(string)), &fromText); err != nil {
			t.Fatalf("id %s: the text is not the envelope: %v", id, err)
		}
		a, _ := json.Marshal(fromText)
		b, _ := json.Marshal(env)
		if string(a) != string(b) {
			t.Errorf("id %s: text %s, structuredContent %s", id, a, b)
		}
		return env
	}
	if env := echo("1"); env["successful"] != true || env["data"].(map[string]any)["text"] != text {
		t.Errorf("id 1: %v, want the text echoed as sent", env)
	}
	if env := echo(`"two"`); env["data"].(map[string]any)["text"] != "after" {
		t.Errorf("id two: %v", env)
	}
	if env := echo("3"); env["successful"] != false || !strings.Contains(env["error"].(string), "`text` is required") {
		t.Errorf("id 3 (no arguments): %v", env)
	}
	if m := got["4.5"]; m == nil || m["result"] == nil {
		t.Errorf("ping: %v", m)
	}
	if m := got["6"]; m == nil || m["error"] == nil {
		t.Errorf("a call whose params are no object: %v, want an error answer", m)
	}
	if m := got["null"]; m == nil || m["error"].(map[string]any)["code"] != float64(-32700) {
		t.Errorf("a line that is not JSON: %v, want a parse error", m)
	}
	// init, 1, two, 3, 4.5, 6 and the parse error: nothing for the blank
	// lines and the notifications.
	if len(msgs) != 7 {
		t.Errorf("%d lines written, want 7: %v", len(msgs), msgs)
	}
}

// TestStdioProgress: a call with a progress token gets its
// notifications/progress before its answer, on the same output.
func TestStdioProgress(t *testing.T) {
	const total = 8 << 20
	s, err := server.New(append(testCatalog(), tools.New(tools.Def[noIn, any]{
		Name: "TEST_PROGRESS", Title: "Progress", Description: "Reports progress.", Toolset: "media",
		Annotations: tools.Annotations{ReadOnly: true},
		Handler: func(ctx context.Context, _ *noIn) (any, error) {
			for done := int64(0); done <= total; done += 1 << 20 {
				tools.Progress(ctx, done, total)
			}
			return map[string]any{"done": true}, nil
		},
	})), server.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	msgs := stdioLines(t, s, initLines,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"TEST_PROGRESS","_meta":{"progressToken":"p1"},"arguments":{}}}`)
	progress, answered := 0, false
	for _, m := range msgs {
		switch {
		case m["method"] == "notifications/progress":
			if answered {
				t.Error("a progress notification after the answer")
			}
			if p := m["params"].(map[string]any); p["progressToken"] != "p1" || p["total"] != float64(total) {
				t.Errorf("progress %v", p)
			}
			progress++
		case m["id"] == float64(1):
			answered = true
		}
	}
	if !answered || progress == 0 {
		t.Fatalf("answered %v after %d progress notifications: %v", answered, progress, msgs)
	}
}

// TestStdioConcurrentCalls: calls read while others run are served at
// once: each of these waits for all of them to have started, which calls
// served one after the other never would (they would end at the call
// timeout instead, unsuccessful).
func TestStdioConcurrentCalls(t *testing.T) {
	const n = 4
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	s, err := server.New(append(testCatalog(), tools.New(tools.Def[noIn, any]{
		Name: "TEST_MEET", Title: "Meet", Description: "Waits for the others.", Toolset: "media",
		Annotations: tools.Annotations{ReadOnly: true},
		Handler: func(ctx context.Context, _ *noIn) (any, error) {
			started.Done()
			select {
			case <-all:
				return map[string]any{"met": true}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	})), server.Options{Logger: testLogger(t), CallTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{initLines}
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"TEST_MEET","arguments":{}}}`, i+1))
	}
	met := 0
	for _, m := range stdioLines(t, s, lines...) {
		if b, _ := json.Marshal(m["result"]); strings.Contains(string(b), `"met":true`) {
			met++
		}
	}
	if met != n {
		t.Fatalf("%d of %d calls met the others", met, n)
	}
}
