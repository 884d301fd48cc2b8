package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDynamicToolsetsStdioBinary: `stdio --dynamic-toolsets` starts with
// the two discovery tools, and enabling a toolset notifies the client on
// stdout before the answer, then lists its tools.
func TestDynamicToolsetsStdioBinary(t *testing.T) {
	g := newFakeGraph(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startStdio(t, ctx, binEnv(t, "WHATSAPP_ACCESS_TOKEN="+testToken, "WHATSAPP_GRAPH_URL="+g.URL, "WHATSAPP_WABA_ID="+testWABA), "stdio", "--dynamic-toolsets", "--read-only")
	cmd, stdin, stderr, lines := p.cmd, p.stdin, p.stderr, p.lines
	send := func(msg string) { p.send(t, msg) }
	// next returns the answer to id and the notifications before it.
	next := func(id int) (map[string]any, []string) {
		t.Helper()
		var notes []string
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("stdout closed; stderr:\n%s", stderr.String())
				}
				var m map[string]any
				if json.Unmarshal([]byte(line), &m) != nil {
					continue
				}
				if method, _ := m["method"].(string); method != "" && m["id"] == nil {
					notes = append(notes, method)
				}
				if m["id"] == float64(id) {
					return m, notes
				}
			case <-ctx.Done():
				t.Fatalf("no answer to %d; stderr:\n%s", id, stderr.String())
			}
		}
	}
	names := func(r map[string]any) []string {
		var out []string
		for _, tl := range r["result"].(map[string]any)["tools"].([]any) {
			out = append(out, tl.(map[string]any)["name"].(string))
		}
		slices.Sort(out)
		return out
	}

	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`)
	r, _ := next(1)
	if tc, _ := r["result"].(map[string]any)["capabilities"].(map[string]any)["tools"].(map[string]any); tc["listChanged"] != true {
		t.Errorf("tools capability %v, want listChanged", tc)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	r, _ = next(2)
	if got, want := names(r), []string{"WHATSAPP_ENABLE_TOOLSET", "WHATSAPP_LIST_TOOLSETS"}; !slices.Equal(got, want) {
		t.Fatalf("first tools/list %v, want %v", got, want)
	}
	send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"WHATSAPP_GET_PHONE_NUMBERS","arguments":{}}}`)
	if r, _ = next(3); !strings.Contains(r["error"].(map[string]any)["message"].(string), `WHATSAPP_ENABLE_TOOLSET with {"toolset":"account"}`) {
		t.Errorf("call before enabling: %v", r)
	}
	send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"WHATSAPP_ENABLE_TOOLSET","arguments":{"toolset":"account"}}}`)
	r, notes := next(4)
	if r["result"].(map[string]any)["isError"] == true {
		t.Fatalf("enable: %v", r)
	}
	// mcp-go writes notifications from a goroutine of their own: the
	// notification may follow the answer.
	send(`{"jsonrpc":"2.0","id":5,"method":"ping"}`)
	_, more := next(5)
	if notes = append(notes, more...); !slices.Contains(notes, "notifications/tools/list_changed") {
		t.Fatalf("no notifications/tools/list_changed after enabling (got %v); stderr:\n%s", notes, stderr.String())
	}
	send(`{"jsonrpc":"2.0","id":6,"method":"tools/list"}`)
	r, _ = next(6)
	if got := names(r); !slices.Contains(got, "WHATSAPP_GET_PHONE_NUMBERS") || len(got) != 5 {
		t.Errorf("tools/list after enabling account: %v", got)
	}
	send(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"WHATSAPP_GET_PHONE_NUMBERS","arguments":{}}}`)
	if r, _ = next(7); r["result"].(map[string]any)["isError"] == true {
		t.Errorf("call after enabling: %v", r)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit %v; stderr:\n%s", err, stderr.String())
	}
}
