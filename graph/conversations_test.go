package graph_test

import (
	"context"
	"errors"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

const inboundWamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="

// TestConversationRequests pins, byte for byte, the bodies of the read
// receipt, the typing indicator and reactions: the examples of Meta's pages
// (docs/cloud-api.md#mark-as-read, #typing-indicator, #reactions) in the
// order Meta writes their keys.
func TestConversationRequests(t *testing.T) {
	tests := []struct {
		name string
		resp string
		call func(ctx context.Context, c *graph.Client) (any, error)
		body string
		// meta is Meta's own example where it differs from body only in
		// how it escapes (Meta writes the emoji as \u escapes).
		meta string
		want string
	}{
		{
			name: "mark read",
			resp: `{"success":true}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				ok, _, err := c.MarkRead(ctx, pnID, inboundWamid, false)
				return ok, err
			},
			body: `{"messaging_product":"whatsapp","status":"read","message_id":"` + inboundWamid + `"}`,
			want: `true`,
		},
		{
			name: "mark read with the typing indicator",
			resp: `{"success":true}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				ok, _, err := c.MarkRead(ctx, pnID, inboundWamid, true)
				return ok, err
			},
			body: `{"messaging_product":"whatsapp","status":"read","message_id":"` + inboundWamid + `","typing_indicator":{"type":"text"}}`,
			want: `true`,
		},
		{
			name: "mark read answered success false",
			resp: `{"success":false}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				ok, _, err := c.MarkRead(ctx, pnID, inboundWamid, false)
				return ok, err
			},
			body: `{"messaging_product":"whatsapp","status":"read","message_id":"` + inboundWamid + `"}`,
			want: `false`,
		},
		{
			name: "reaction",
			resp: sendOK,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				r, _, err := c.SendMessage(ctx, pnID, &graph.Message{To: "+16505551234", Type: "reaction",
					Reaction: &graph.Reaction{MessageID: inboundWamid, Emoji: "👍"}})
				return r, err
			},
			body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"reaction","reaction":{"message_id":"` + inboundWamid + `","emoji":"👍"}}`,
			meta: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"reaction","reaction":{"message_id":"` + inboundWamid + `","emoji":"\ud83d\udc4d"}}`,
			want: sendOK,
		},
		{
			name: "reaction removed: the empty emoji is sent",
			resp: sendOK,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				r, _, err := c.SendMessage(ctx, pnID, &graph.Message{To: "+16505551234", Type: "reaction",
					Reaction: &graph.Reaction{MessageID: inboundWamid}})
				return r, err
			},
			body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"reaction","reaction":{"message_id":"` + inboundWamid + `","emoji":""}}`,
			want: sendOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := graphtest.New(t, graphtest.Reply(200, tt.resp))
			got, err := tt.call(context.Background(), f.NewClient(t))
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			req := f.Only(t)
			graphtest.CheckRequest(t, req, graphtest.Want{Method: "POST", Path: "/v25.0/" + pnID + "/messages", Body: tt.body})
			if string(req.Body) != tt.body {
				t.Errorf("body, byte for byte:\n got  %s\n want %s", req.Body, tt.body)
			}
			if tt.meta != "" {
				graphtest.JSONEqual(t, "body against Meta's example", req.Body, []byte(tt.meta))
			}
			graphtest.JSONEqual(t, "result", graphtest.MustJSON(t, got), []byte(tt.want))
		})
	}
}

// TestConversationRequestsRefused: what Meta would refuse is refused before
// anything is sent.
func TestConversationRequestsRefused(t *testing.T) {
	for name, call := range map[string]func(ctx context.Context, c *graph.Client) error{
		"mark read without a message id": func(ctx context.Context, c *graph.Client) error {
			_, _, err := c.MarkRead(ctx, pnID, "", true)
			return err
		},
		"reaction quoting a message": func(ctx context.Context, c *graph.Client) error {
			_, _, err := c.SendMessage(ctx, pnID, &graph.Message{To: "+16505551234", Type: "reaction",
				Context: &graph.MessageContext{MessageID: inboundWamid}, Reaction: &graph.Reaction{MessageID: inboundWamid, Emoji: "👍"}})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := graphtest.New(t, graphtest.Reply(200, `{"success":true}`))
			if err := call(context.Background(), f.NewClient(t)); err == nil {
				t.Error("no error")
			}
			if n := f.Count(); n != 0 {
				t.Errorf("%d requests, want 0", n)
			}
		})
	}
}

// TestMarkReadErrors: Meta's error answer is a typed *graph.Error; a read
// receipt whose answer was lost is a write of unknown outcome, not retried.
func TestMarkReadErrors(t *testing.T) {
	f := graphtest.New(t, graphtest.Reply(400, graphtest.MetaError(100, 0, "")))
	_, _, err := f.NewClient(t).MarkRead(context.Background(), pnID, inboundWamid, false)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Code != 100 || ge.FBTraceID != "FBTRACE100" {
		t.Errorf("err = %v, want *graph.Error code 100", err)
	}

	f = graphtest.New(t, graphtest.DropConnection)
	_, _, err = f.NewClient(t).MarkRead(context.Background(), pnID, inboundWamid, true)
	var ou *graph.OutcomeUnknownError
	if !errors.As(err, &ou) {
		t.Errorf("err = %v, want *graph.OutcomeUnknownError", err)
	}
	if n := f.Count(); n != 1 {
		t.Errorf("%d requests, want 1 (a write that may have reached Meta is not retried)", n)
	}
}
