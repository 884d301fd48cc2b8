package server

import (
	"encoding/json"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

type benchSent struct {
	MessageID string `json:"message_id"`
	To        string `json:"to"`
	WaID      string `json:"wa_id"`
	Contacts  []struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	} `json:"contacts,omitempty"`
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages,omitempty"`
}

// benchResult is shaped like a send's envelope: data, and a warning.
var benchResult = func() tools.Result {
	d := &benchSent{MessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", To: "+16505551234", WaID: "16505551234"}
	d.Contacts = append(d.Contacts, struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	}{"+16505551234", "16505551234"})
	d.Messages = append(d.Messages, struct {
		ID string `json:"id"`
	}{d.MessageID})
	return tools.Result{Successful: true, Data: d,
		Warnings: []string{"to_number +16505551234 has written no message to this business number in the last 24 hours"}}
}()

// BenchmarkEnvelope: a tool result rendered as an MCP answer, from the
// envelope to the bytes of the JSON-RPC response (as a transport writes
// it).
func BenchmarkEnvelope(b *testing.B) {
	id := mcp.NewRequestId(int64(7))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(mcp.NewJSONRPCResultResponse(id, envelope(benchResult))); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAppendToolAnswer: stdio's direct encoding of a tool answer is the
// bytes json.Marshal writes for it, and anything that is not one of our
// envelopes is left to json.Marshal.
func TestAppendToolAnswer(t *testing.T) {
	texts := []string{"plain", `quotes " and \ backslash`, "<b>&amp;</b>", "line\nbreak\ttab\r\x01\x1f",
		"emoji 😀, é, 中文", "separators \u2028 \u2029", "invalid \xff utf-8", ""}
	ids := []mcp.RequestId{mcp.NewRequestId(int64(7)), mcp.NewRequestId("abc-\"1\""), mcp.NewRequestId(float64(2.5))}
	for _, text := range texts {
		for _, ok := range []bool{true, false} {
			res := tools.Result{Successful: ok, Data: map[string]any{"text": text}, Warnings: []string{text}}
			if !ok {
				res.Error = "failed: " + text
			}
			for _, id := range ids {
				msg := mcp.NewJSONRPCResultResponse(id, envelope(res))
				want, err := json.Marshal(msg)
				if err != nil {
					t.Fatal(err)
				}
				got, fast := appendToolAnswer(nil, msg)
				if !fast || string(got) != string(want) {
					t.Errorf("%q (successful %v): fast %v\n got %s\nwant %s", text, ok, fast, got, want)
				}
			}
		}
	}
	for name, msg := range map[string]any{
		"another result":   mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), mcp.EmptyResult{}),
		"mcp-go's result":  mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), mcp.NewToolResultText(`{"successful":true}`)),
		"an error":         mcp.JSONRPCError{JSONRPC: "2.0", ID: mcp.NewRequestId(int64(1))},
		"a notification":   mcp.JSONRPCNotification{JSONRPC: "2.0"},
		"with _meta":       mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), withMeta(envelope(benchResult))),
		"two contents":     mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), twoContents(envelope(benchResult))),
		"text differs":     mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), otherText(envelope(benchResult))),
		"nil tool result":  mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), (*mcp.CallToolResult)(nil)),
		"a modern answer":  mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), withResultType(envelope(benchResult))),
		"a request state":  mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), withState(envelope(benchResult))),
		"raw structured":   mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), withRaw(envelope(benchResult))),
		"annotated text":   mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), annotated(envelope(benchResult))),
		"not our envelope": mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), notOurs()),
	} {
		if b, fast := appendToolAnswer([]byte("x"), msg); fast || string(b) != "x" {
			t.Errorf("%s: encoded directly: %s", name, b)
		}
	}
}

func withMeta(r *mcp.CallToolResult) *mcp.CallToolResult {
	r.Meta = &mcp.Meta{AdditionalFields: map[string]any{"k": 1}}
	return r
}

func twoContents(r *mcp.CallToolResult) *mcp.CallToolResult {
	r.Content = append(r.Content, mcp.NewTextContent("more"))
	return r
}

func otherText(r *mcp.CallToolResult) *mcp.CallToolResult {
	r.Content = []mcp.Content{mcp.NewTextContent(`{"successful":false}`)}
	return r
}

func withResultType(r *mcp.CallToolResult) *mcp.CallToolResult {
	r.ResultType = "complete"
	return r
}

func withState(r *mcp.CallToolResult) *mcp.CallToolResult {
	r.RequestState = "s"
	return r
}

func withRaw(r *mcp.CallToolResult) *mcp.CallToolResult {
	r.RawStructuredContent = r.StructuredContent.(json.RawMessage)
	return r
}

func annotated(r *mcp.CallToolResult) *mcp.CallToolResult {
	tc := r.Content[0].(mcp.TextContent)
	tc.Annotations = &mcp.Annotations{Priority: new(1.0)}
	r.Content[0] = tc
	return r
}

func notOurs() *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(`[1]`)}, StructuredContent: json.RawMessage(`[1]`)}
}

// BenchmarkEnvelopeStdio: the same answer encoded as stdio writes it.
func BenchmarkEnvelopeStdio(b *testing.B) {
	id := mcp.NewRequestId(int64(7))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var ok bool
		if buf, ok = appendToolAnswer(buf[:0], mcp.NewJSONRPCResultResponse(id, envelope(benchResult))); !ok {
			b.Fatal("not encoded directly")
		}
	}
}
