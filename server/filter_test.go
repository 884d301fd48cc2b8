package server_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Test catalog toolsets: TEST_ECHO account (read-only), TEST_SEND messages,
// TEST_DELETE templates, TEST_SLEEP media (read-only), TEST_PANIC status
// (read-only).
func TestFilters(t *testing.T) {
	all := []string{"TEST_DELETE", "TEST_ECHO", "TEST_PANIC", "TEST_SEND", "TEST_SLEEP"}
	cases := []struct {
		name    string
		opts    server.Options
		want    []string
		wantErr string
	}{
		{name: "default is everything", want: all},
		{name: "all keyword", opts: server.Options{Toolsets: []string{"all"}}, want: all},
		{name: "toolsets", opts: server.Options{Toolsets: []string{"messages", "templates"}}, want: []string{"TEST_DELETE", "TEST_SEND"}},
		{name: "toolsets case and blanks", opts: server.Options{Toolsets: []string{" Messages ", ""}}, want: []string{"TEST_SEND"}},
		{name: "tools add to toolsets", opts: server.Options{Toolsets: []string{"messages"}, Tools: []string{"TEST_ECHO"}}, want: []string{"TEST_ECHO", "TEST_SEND"}},
		{name: "tools alone", opts: server.Options{Tools: []string{"test_echo", "TEST_DELETE"}}, want: []string{"TEST_DELETE", "TEST_ECHO"}},
		{name: "exclude", opts: server.Options{ExcludeTools: []string{"TEST_PANIC", "TEST_SLEEP"}}, want: []string{"TEST_DELETE", "TEST_ECHO", "TEST_SEND"}},
		{name: "exclude beats tools", opts: server.Options{Tools: []string{"TEST_ECHO", "TEST_SEND"}, ExcludeTools: []string{"TEST_SEND"}}, want: []string{"TEST_ECHO"}},
		{name: "read-only", opts: server.Options{ReadOnly: true}, want: []string{"TEST_ECHO", "TEST_PANIC", "TEST_SLEEP"}},
		{name: "read-only wins over tools and toolsets", opts: server.Options{ReadOnly: true, Toolsets: []string{"messages", "account"}, Tools: []string{"TEST_DELETE"}}, want: []string{"TEST_ECHO"}},
		{name: "empty toolset gives nothing", opts: server.Options{ReadOnly: true, Tools: []string{"TEST_SEND"}}, want: []string{}},
		{name: "unknown toolset", opts: server.Options{Toolsets: []string{"mesages"}}, wantErr: `unknown toolset "mesages" (valid: all, account, media, messages, status, templates)`},
		{name: "unknown toolset, documented order first", opts: server.Options{Toolsets: []string{"mesages"},
			About: tools.About{Toolsets: []tools.Toolset{{Name: "messages"}, {Name: "status"}}}},
			wantErr: `unknown toolset "mesages" (valid: all, messages, status, account, media, templates)`},
		{name: "unknown tool", opts: server.Options{Tools: []string{"TEST_ECHOO"}}, wantErr: `unknown tool "TEST_ECHOO" in --tools (valid: TEST_DELETE, TEST_ECHO, TEST_PANIC, TEST_SEND, TEST_SLEEP)`},
		{name: "unknown excluded tool", opts: server.Options{ExcludeTools: []string{"X"}}, wantErr: `unknown tool "X" in --exclude-tools`},
		{name: "all errors at once", opts: server.Options{Toolsets: []string{"a"}, Tools: []string{"b"}}, wantErr: `unknown toolset "a"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = testLogger(t)
			s, err := server.New(testCatalog(), tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tl := range s.Tools() {
				got = append(got, tl.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("enabled = %v, want %v", got, tc.want)
			}
			// What is enabled is exactly what tools/list shows.
			listed := s.MCP().ListTools()
			if len(listed) != len(got) {
				t.Fatalf("tools/list has %d tools, enabled %d", len(listed), len(got))
			}
		})
	}
}

// TestDisabledToolRefused: a filtered tool is absent from tools/list and a
// tools/call for it is refused with a message naming the configuration.
func TestDisabledToolRefused(t *testing.T) {
	cases := []struct {
		opts server.Options
		tool string
		why  string
	}{
		{server.Options{ReadOnly: true}, "TEST_SEND", "read-only"},
		{server.Options{ExcludeTools: []string{"TEST_ECHO"}}, "TEST_ECHO", "--exclude-tools"},
		{server.Options{Toolsets: []string{"account"}}, "TEST_SEND", `toolset "messages" is not enabled`},
		{server.Options{Tools: []string{"TEST_ECHO"}}, "TEST_DELETE", "only the tools named by --tools"},
	}
	for _, tc := range cases {
		t.Run(tc.tool+" "+tc.why, func(t *testing.T) {
			ctx := withTimeout(t, 10*time.Second)
			s := newServer(t, tc.opts)
			c, err := client.NewInProcessClient(s.MCP())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			initialize(t, ctx, c, mcp.LATEST_PROTOCOL_VERSION)
			list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(toolNames(list.Tools), tc.tool) {
				t.Fatalf("%s is listed although disabled", tc.tool)
			}
			res, err := callTool(ctx, c, tc.tool, map[string]any{"text": "x"})
			if err == nil {
				t.Fatalf("call of a disabled tool answered %+v", res)
			}
			msg := err.Error()
			if !strings.Contains(msg, "disabled by this server's configuration") || !strings.Contains(msg, tc.why) {
				t.Fatalf("refusal = %q, want it to say disabled and %q", msg, tc.why)
			}
		})
	}
}
