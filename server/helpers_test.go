package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// The test catalog: one tool per toolset, covering read-only, write,
// destructive, failing, slow and panicking handlers.

type echoIn struct {
	Text string `json:"text" jsonschema:"description=text to echo" validate:"required"`
}

type echoOut struct {
	Text string `json:"text"`
}

type sleepIn struct {
	Millis int `json:"millis" validate:"min=0"`
}

type noIn struct{}

func testCatalog() []tools.Tool {
	return []tools.Tool{
		tools.New(tools.Def[echoIn, echoOut]{
			Name: "TEST_ECHO", Title: "Echo", Description: "Echoes text back.", Toolset: "account",
			Hints:       []string{"Echo first, then TEST_SEND."},
			Annotations: tools.Annotations{ReadOnly: true, Idempotent: true},
			Example:     `{"text":"hi"}`,
			Handler: func(_ context.Context, in *echoIn) (echoOut, error) {
				return echoOut(*in), nil
			},
		}),
		tools.New(tools.Def[echoIn, echoOut]{
			Name: "TEST_SEND", Title: "Send", Description: "Pretends to send.", Toolset: "messages",
			Hints:       []string{"Sending is pretend."},
			Annotations: tools.Annotations{OpenWorld: true},
			Handler: func(ctx context.Context, in *echoIn) (echoOut, error) {
				tools.Warn(ctx, "pretend warning")
				return echoOut{Text: "sent " + in.Text}, nil
			},
		}),
		tools.New(tools.Def[noIn, any]{
			Name: "TEST_DELETE", Title: "Delete", Description: "Always fails.", Toolset: "templates",
			Hints:       []string{"Sending is pretend."},
			Annotations: tools.Annotations{Destructive: true, Idempotent: true, OpenWorld: true},
			Handler: func(context.Context, *noIn) (any, error) {
				return nil, errors.New("template not found: check template_id")
			},
		}),
		tools.New(tools.Def[sleepIn, any]{
			Name: "TEST_SLEEP", Title: "Sleep", Description: "Sleeps, honouring the deadline.", Toolset: "media",
			Annotations: tools.Annotations{ReadOnly: true, Idempotent: true},
			Handler: func(ctx context.Context, in *sleepIn) (any, error) {
				select {
				case <-time.After(time.Duration(in.Millis) * time.Millisecond):
					return map[string]any{"slept": in.Millis}, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			},
		}),
		tools.New(tools.Def[noIn, any]{
			Name: "TEST_PANIC", Title: "Panic", Description: "Panics.", Toolset: "status",
			Annotations: tools.Annotations{ReadOnly: true},
			Handler: func(context.Context, *noIn) (any, error) {
				panic("boom")
			},
		}),
	}
}

func newServer(t *testing.T, opts server.Options) *server.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := server.New(testCatalog(), opts)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	return s
}

// testLogger sends server logs to the test log, shown only on failure.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func initialize(t *testing.T, ctx context.Context, c *client.Client, protocol string) *mcp.InitializeResult {
	t.Helper()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = protocol
	req.Params.ClientInfo = mcp.Implementation{Name: "server-test", Version: "0"}
	res, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return res
}

func callTool(ctx context.Context, c *client.Client, name string, args any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}

// envelope checks that text and structured content carry the same envelope
// and returns it.
func envelope(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("content has %d items, want 1", len(res.Content))
	}
	tc, ok := mcp.AsTextContent(res.Content[0])
	if !ok {
		t.Fatalf("content is %T, want text", res.Content[0])
	}
	var fromText map[string]any
	if err := json.Unmarshal([]byte(tc.Text), &fromText); err != nil {
		t.Fatalf("text is not JSON: %v: %s", err, tc.Text)
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var structured map[string]any
	if err := json.Unmarshal(b, &structured); err != nil {
		t.Fatalf("structuredContent is not an object: %s", b)
	}
	tb, _ := json.Marshal(fromText)
	sb, _ := json.Marshal(structured)
	if string(tb) != string(sb) {
		t.Fatalf("text and structuredContent differ:\n text %s\n structured %s", tb, sb)
	}
	if ok, _ := structured["successful"].(bool); ok == res.IsError {
		t.Fatalf("isError=%v but successful=%v", res.IsError, structured["successful"])
	}
	return structured
}

func toolNames(ts []mcp.Tool) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
