package actions

import (
	"context"
	"errors"
	"fmt"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// The conversation actions: what an agent does at Meta about a message a
// customer sent (package conversations reads them from the store).

// MarkReadInput is the input of WHATSAPP_MARK_AS_READ.
type MarkReadInput struct {
	PhoneNumberID   string `json:"phone_number_id" validate:"required,graphid"`
	MessageID       string `json:"message_id" validate:"required,notblank,max=512"`
	TypingIndicator bool   `json:"typing_indicator,omitempty"`
}

// MarkReadResult is data of WHATSAPP_MARK_AS_READ.
type MarkReadResult struct {
	Success bool `json:"success"`
	// Unread is nil when the store does not know the message (or there is
	// no store): a count it cannot give is left out, not 0.
	Unread *int `json:"unread,omitempty" jsonschema_description:"Customer messages of the conversation still unread"`
}

// errNotMarked: Meta answered 200 without success, which its docs never
// show; the message is not known to be read.
var errNotMarked = errors.New("the WhatsApp Cloud API answered without success: the message was not marked read. Check message_id is the id of a message the customer sent to this phone_number_id, then retry")

func markAsRead(d *Deps) tools.Tool {
	return tools.New(tools.Def[MarkReadInput, *MarkReadResult]{
		Name:    "WHATSAPP_MARK_AS_READ",
		Title:   "Mark a customer's message read",
		Toolset: ToolsetConversations,
		Hints:   phoneHints,
		Description: "Mark a customer's message, and every earlier one of the conversation, read: they see blue ticks, and the inbox's unread count follows. " +
			"typing_indicator also shows them you are typing until you reply or 25 s pass: use it only when a reply follows.",
		// Marking read again changes nothing (the typing indicator shows anew).
		Annotations: tools.Annotations{ReadOnly: false, Destructive: false, Idempotent: true, OpenWorld: true},
		Example:     `{"phone_number_id":"106540352242922","message_id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=","typing_indicator":true}`,
		Handler: func(ctx context.Context, in *MarkReadInput) (*MarkReadResult, error) {
			ok, _, err := d.Graph.MarkRead(ctx, in.PhoneNumberID, in.MessageID, in.TypingIndicator)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, errNotMarked
			}
			out := &MarkReadResult{Success: true}
			if d.Store == nil {
				tools.Warn(ctx, "Marked read at Meta. This server has no webhook store, so it keeps no unread counts.")
				return out, nil
			}
			c, known, err := d.Store.MarkRead(ctx, in.PhoneNumberID, in.MessageID)
			switch {
			case err != nil:
				// The cause stays out of the result: a database error may
				// name the database.
				tools.Warn(ctx, "Marked read at Meta, but this server's store could not record it: the inbox may still count it unread.")
			case !known:
				tools.Warn(ctx, "Marked read at Meta, but this server's store holds no message %s from a customer of business number %s, so no unread count changed (it may have arrived before the webhook was set up).",
					tools.Echo(in.MessageID), in.PhoneNumberID)
			default:
				out.Unread = &c.Unread
			}
			return out, nil
		},
	})
}

// SendReactionInput is the input of WHATSAPP_SEND_REACTION.
type SendReactionInput struct {
	Recipient
	MessageID string `json:"message_id" validate:"required,notblank,max=512"`
	// Emoji is a pointer so that a missing emoji is told apart from "",
	// which removes the reaction: forgetting it must not remove one.
	Emoji *string `json:"emoji" validate:"omitempty,max=16"`
}

// Check applies the one-emoji rule.
func (in *SendReactionInput) Check() []tools.FieldError {
	const remove = `, or "" to remove your reaction`
	switch {
	case in.Emoji == nil:
		return []tools.FieldError{{Field: "emoji", Rule: "is required: one emoji" + remove}}
	case *in.Emoji != "" && !cloudapi.IsEmoji(*in.Emoji):
		return []tools.FieldError{{Field: "emoji", Rule: fmt.Sprintf("must be exactly one emoji (e.g. 👍, 👍🏽, 🇵🇹)%s; got %s", remove, tools.Echo(*in.Emoji))}}
	}
	return nil
}

func sendReaction(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendReactionInput, *SendResult]{
		Name:    "WHATSAPP_SEND_REACTION",
		Title:   "React to a message",
		Toolset: ToolsetConversations,
		Hints:   freeFormHints,
		Description: "React with one emoji to a message the customer sent, shown on it; a new reaction replaces yours and " +
			`emoji "" removes it. A message over 30 days old or deleted fails later.` + onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendReactionInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","message_id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=","emoji":"👍"}`,
		Handler: func(ctx context.Context, in *SendReactionInput) (*SendResult, error) {
			return d.dispatch(ctx, in.Recipient, &graph.Message{Type: "reaction",
				Reaction: &graph.Reaction{MessageID: in.MessageID, Emoji: *in.Emoji}}, true)
		},
	})
}
