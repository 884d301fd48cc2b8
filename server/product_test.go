package server_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// realCatalog is the product's catalog against an in-memory sandbox (no
// webhook store: the status tools answer with their configuration error).
func realCatalog(t *testing.T) []tools.Tool {
	t.Helper()
	sb := sandbox.New(sandbox.Config{})
	ts := httptest.NewServer(sb)
	t.Cleanup(func() { ts.Close(); sb.Close() })
	gc, err := graph.NewClient(sandbox.DefaultToken, graph.WithBaseURL(ts.URL), graph.WithRetry(graph.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return catalog.Tools(&actions.Deps{Graph: gc, WABAID: sandbox.WABAID}, nil)
}

// TestRealCatalogOverMCP serves the real catalog over streamable HTTP and
// checks what a client sees: every tool with complete metadata, no
// top-level combinators, and results that are envelopes, never protocol
// errors, for every documented example input.
func TestRealCatalogOverMCP(t *testing.T) {
	ctx := withTimeout(t, 60*time.Second)
	cat := realCatalog(t)
	s, err := server.New(cat, server.Options{About: catalog.About, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.HTTPHandler())
	defer ts.Close()
	c, err := client.NewStreamableHttpClient(ts.URL + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := initialize(t, ctx, c, "2025-11-25")
	for _, want := range []string{"WHATSAPP_GET_PHONE_NUMBERS", "24-hour", "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER"} {
		if !strings.Contains(init.Instructions, want) {
			t.Errorf("instructions do not mention %s", want)
		}
	}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tools) != len(cat) || len(cat) < 19 {
		t.Fatalf("listed %d tools of %d", len(list.Tools), len(cat))
	}
	for _, tl := range list.Tools {
		a := tl.Annotations
		if tl.Title == "" || tl.Description == "" || a.Title != "" ||
			a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: incomplete metadata on the wire: %+v", tl.Name, a)
		}
		var in map[string]any
		if err := json.Unmarshal(tl.RawInputSchema, &in); err != nil {
			b, _ := json.Marshal(tl.InputSchema)
			json.Unmarshal(b, &in)
		}
		for _, k := range []string{"oneOf", "anyOf", "allOf"} {
			if _, bad := in[k]; bad {
				t.Errorf("%s: top-level %s in the input schema", tl.Name, k)
			}
		}
	}

	for _, tl := range cat {
		if len(tl.Example) == 0 {
			continue
		}
		var args map[string]any
		if err := json.Unmarshal(tl.Example, &args); err != nil {
			t.Errorf("%s: example is not an object: %v", tl.Name, err)
			continue
		}
		res, err := callTool(ctx, c, tl.Name, args)
		if err != nil {
			t.Errorf("%s: protocol error for its example: %v", tl.Name, err)
			continue
		}
		envelope(t, res)
	}

	res, err := callTool(ctx, c, "WHATSAPP_GET_PHONE_NUMBERS", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if env := envelope(t, res); res.IsError || !strings.Contains(mustJSON(env["data"]), sandbox.PhoneNumberID) {
		t.Fatalf("WHATSAPP_GET_PHONE_NUMBERS: %v", env)
	}
}

// TestRealCatalogReadOnly: --read-only leaves exactly the read tools.
func TestRealCatalogReadOnly(t *testing.T) {
	s, err := server.New(realCatalog(t), server.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, tl := range s.Tools() {
		got[tl.Name] = true
		if !tl.Annotations.ReadOnly {
			t.Errorf("%s enabled in read-only mode", tl.Name)
		}
	}
	for _, name := range []string{"WHATSAPP_GET_PHONE_NUMBERS", "WHATSAPP_GET_MESSAGE_TEMPLATES", "WHATSAPP_GET_MEDIA_INFO", "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER"} {
		if !got[name] {
			t.Errorf("%s missing in read-only mode", name)
		}
	}
	for _, name := range []string{"WHATSAPP_SEND_MESSAGE", "WHATSAPP_DELETE_MESSAGE_TEMPLATE", "WHATSAPP_UPLOAD_MEDIA"} {
		if got[name] {
			t.Errorf("%s enabled in read-only mode", name)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
