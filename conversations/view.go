// Package conversations serves the two-way conversations the webhook store
// keeps: the inbox, one customer's history, full-text search, and each
// conversation as an MCP resource. view.go reads Meta's message elements
// (docs/cloud-api.md#inbound-messages) into what a model reads.
package conversations

import (
	"encoding/json"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// MessageView is one message as the conversation tools return it, either
// direction: the normalised fields of its type, and Meta's raw element for
// types this server does not know.
type MessageView struct {
	MessageID string `json:"message_id"`
	Direction string `json:"direction" jsonschema:"enum=in,enum=out"`
	Type      string `json:"type"`
	Text      string `json:"text,omitempty"`

	// Outbound only: the latest status (store.StatusRank) and a failure's errors.
	Status       string          `json:"status,omitempty"`
	StatusErrors json.RawMessage `json:"status_errors,omitempty"`
}

// View normalises a stored message.
func View(m store.Message) MessageView {
	return MessageView{MessageID: m.MessageID, Direction: m.Direction, Type: m.Type, Text: m.Text}
}

// Extract reads what the store indexes from a messages[] element of type
// msgType: the searchable text and the id of the message it replies or
// reacts to.
func Extract(msgType string, raw json.RawMessage) (text, contextID string) {
	return "", ""
}
