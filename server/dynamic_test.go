package server_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

var dynamicAbout = tools.About{Name: "test", ToolPrefix: "TEST_", Instructions: "Test tools.",
	Toolsets: []tools.Toolset{{Name: "messages", Description: "Send."}, {Name: "account", Description: "Read the account."}}}

// dynamicSession is one client of a dynamic server over streamable HTTP,
// with the notifications it received.
type dynamicSession struct {
	c        *client.Client
	init     *mcp.InitializeResult
	notified chan string
}

func newDynamicSession(t *testing.T, ctx context.Context, url string) *dynamicSession {
	t.Helper()
	c, err := client.NewStreamableHttpClient(url + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &dynamicSession{c: c, notified: make(chan string, 16)}
	c.OnNotification(func(n mcp.JSONRPCNotification) { d.notified <- n.Method })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	d.init = initialize(t, ctx, c, "2025-11-25")
	return d
}

func (d *dynamicSession) listed(t *testing.T, ctx context.Context) []string {
	t.Helper()
	list, err := d.c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	names := toolNames(list.Tools)
	slices.Sort(names)
	return names
}

// TestDynamicToolsets: a session starts with the discovery tools only; a
// tool of a toolset it has not enabled is refused with what to do;
// enabling the toolset sends notifications/tools/list_changed and lists
// and serves its tools, in that session only.
func TestDynamicToolsets(t *testing.T) {
	ctx := withTimeout(t, 10*time.Second)
	s := newServer(t, server.Options{Dynamic: true, About: dynamicAbout})
	ts := httptest.NewServer(s.HTTPHandler())
	t.Cleanup(ts.Close) // after the sessions' Close

	a := newDynamicSession(t, ctx, ts.URL)
	if tc := a.init.Capabilities.Tools; tc == nil || !tc.ListChanged {
		t.Errorf("tools capability %+v, want listChanged: true", tc)
	}
	if !strings.Contains(a.init.Instructions, "TEST_ENABLE_TOOLSET") {
		t.Errorf("instructions do not say how to enable a toolset: %q", a.init.Instructions)
	}
	discovery := []string{"TEST_ENABLE_TOOLSET", "TEST_LIST_TOOLSETS"}
	if got := a.listed(t, ctx); !slices.Equal(got, discovery) {
		t.Fatalf("first tools/list %v, want only %v", got, discovery)
	}

	_, err := callTool(ctx, a.c, "TEST_SEND", map[string]any{"text": "hi"})
	if err == nil || !strings.Contains(err.Error(), `toolset "messages", which is not enabled`) || !strings.Contains(err.Error(), `TEST_ENABLE_TOOLSET with {"toolset":"messages"}`) {
		t.Fatalf("call of a tool not enabled yet: %v, want the toolset to enable", err)
	}

	res, err := callTool(ctx, a.c, "TEST_LIST_TOOLSETS", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	sets := envelope(t, res)["data"].(map[string]any)["toolsets"].([]any)
	if len(sets) != 5 {
		t.Fatalf("toolsets %v, want the five of the catalog", sets)
	}
	first := sets[0].(map[string]any)
	if first["name"] != "messages" || first["enabled"] != false || first["description"] != "Send." || len(first["tools"].([]any)) != 1 {
		t.Errorf("first toolset %v, want messages, described, not enabled, with its tool", first)
	}

	res, err = callTool(ctx, a.c, "TEST_ENABLE_TOOLSET", map[string]any{"toolset": "Messages"})
	if err != nil {
		t.Fatal(err)
	}
	if env := envelope(t, res); env["successful"] != true || env["data"].(map[string]any)["toolset"] != "messages" {
		t.Fatalf("enable: %v", env)
	}
	select {
	case m := <-a.notified:
		if m != string(mcp.MethodNotificationToolsListChanged) {
			t.Errorf("notification %s, want %s", m, mcp.MethodNotificationToolsListChanged)
		}
	case <-ctx.Done():
		t.Fatal("no notifications/tools/list_changed after enabling a toolset")
	}
	if got, want := a.listed(t, ctx), []string{"TEST_ENABLE_TOOLSET", "TEST_LIST_TOOLSETS", "TEST_SEND"}; !slices.Equal(got, want) {
		t.Errorf("tools/list after enabling messages %v, want %v", got, want)
	}
	res, err = callTool(ctx, a.c, "TEST_SEND", map[string]any{"text": "hi"})
	if err != nil || res.IsError {
		t.Fatalf("call of an enabled tool: %+v %v", res, err)
	}

	// Enabling it again changes nothing and says so.
	res, _ = callTool(ctx, a.c, "TEST_ENABLE_TOOLSET", map[string]any{"toolset": "messages"})
	if env := envelope(t, res); env["data"].(map[string]any)["already"] != true {
		t.Errorf("second enable: %v", env)
	}
	res, _ = callTool(ctx, a.c, "TEST_ENABLE_TOOLSET", map[string]any{"toolset": "nope"})
	if env := envelope(t, res); !res.IsError || !strings.Contains(env["error"].(string), "messages, account, media, status, templates") {
		t.Errorf("unknown toolset: %v", env)
	}

	// Another session starts afresh.
	b := newDynamicSession(t, ctx, ts.URL)
	if got := b.listed(t, ctx); !slices.Equal(got, discovery) {
		t.Errorf("second session lists %v, want only %v", got, discovery)
	}

	// The REST face and Call serve every tool the filters allow.
	if r, err := s.Call(ctx, "TEST_ECHO", []byte(`{"text":"x"}`)); err != nil || !r.Successful {
		t.Errorf("Call in dynamic mode: %+v %v", r, err)
	}
}

// TestDynamicToolsetsFilters: read-only and exclusions still apply within
// an enabled toolset, --toolsets and --tools name what sessions start
// with, and a stateless server has no session to keep them in.
func TestDynamicToolsetsFilters(t *testing.T) {
	ctx := withTimeout(t, 10*time.Second)
	s := newServer(t, server.Options{Dynamic: true, About: dynamicAbout, ReadOnly: true, Toolsets: []string{"account"}, ExcludeTools: []string{"TEST_PANIC"}})
	ts := httptest.NewServer(s.HTTPHandler())
	t.Cleanup(ts.Close) // after the sessions' Close
	a := newDynamicSession(t, ctx, ts.URL)
	if got, want := a.listed(t, ctx), []string{"TEST_ECHO", "TEST_ENABLE_TOOLSET", "TEST_LIST_TOOLSETS"}; !slices.Equal(got, want) {
		t.Errorf("start %v, want %v (--toolsets account)", got, want)
	}
	res, _ := callTool(ctx, a.c, "TEST_LIST_TOOLSETS", map[string]any{})
	var names []string
	for _, ts := range envelope(t, res)["data"].(map[string]any)["toolsets"].([]any) {
		names = append(names, ts.(map[string]any)["name"].(string))
	}
	if want := []string{"account", "media"}; !slices.Equal(names, want) {
		t.Errorf("toolsets %v, want only those with a read-only, not excluded tool: %v", names, want)
	}
	res, _ = callTool(ctx, a.c, "TEST_ENABLE_TOOLSET", map[string]any{"toolset": "messages"})
	if !res.IsError {
		t.Errorf("enabling a toolset read-only mode empties: %v", envelope(t, res))
	}
	_, err := callTool(ctx, a.c, "TEST_SEND", map[string]any{"text": "hi"})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("call of a tool read-only mode disables: %v", err)
	}
	_, err = callTool(ctx, a.c, "TEST_PANIC", map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "exclude") {
		t.Errorf("call of an excluded tool: %v", err)
	}

	if _, err := server.New(testCatalog(), server.Options{Dynamic: true, Stateless: true}); err == nil || !strings.Contains(err.Error(), "stateless") {
		t.Errorf("dynamic and stateless: %v", err)
	}
}
