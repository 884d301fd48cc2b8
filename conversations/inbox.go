package conversations

import (
	"context"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// ListConversationsInput is the input of WHATSAPP_LIST_CONVERSATIONS.
type ListConversationsInput struct {
	PhoneNumberID  string `json:"phone_number_id" validate:"required,graphid"`
	UnreadOnly     bool   `json:"unread_only,omitempty"`
	WindowOpenOnly bool   `json:"window_open_only,omitempty"`
	MaxResults     *int   `json:"max_results,omitempty" validate:"omitempty,min=1,max=100" jsonschema:"default=20"`
	Cursor         string `json:"cursor,omitempty" validate:"max=512"`

	before cursor // the cursor read, set by Check
}

// Normalize trims the cursor, which models sometimes pad.
func (in *ListConversationsInput) Normalize() { in.Cursor = strings.TrimSpace(in.Cursor) }

// Check reads the cursor.
func (in *ListConversationsInput) Check() []tools.FieldError {
	var errs []tools.FieldError
	in.before, errs = checkCursor("cursor", in.Cursor, cursorInbox, in.PhoneNumberID)
	return errs
}

// defaultConversations is max_results when omitted.
const defaultConversations = 20

// ConversationsData is data of WHATSAPP_LIST_CONVERSATIONS.
type ConversationsData struct {
	Conversations []InboxEntry `json:"conversations"`
	NextCursor    string       `json:"next_cursor,omitempty" jsonschema_description:"With has_more: pass as cursor for the next, older page"`
	HasMore       bool         `json:"has_more"`
}

// InboxEntry is one conversation of the inbox.
type InboxEntry struct {
	Customer
	LastMessage LastMessage `json:"last_message"`
}

// LastMessage is the latest message of a conversation, either direction.
type LastMessage struct {
	MessageID string `json:"message_id" jsonschema:"-"`
	Direction string `json:"direction" jsonschema:"enum=in,enum=out"`
	Type      string `json:"type"`
	Preview   string `json:"preview,omitempty" jsonschema_description:"The start of its text or caption"`
	Time      string `json:"time,omitempty" jsonschema_description:"When it was sent (RFC 3339)"`
}

func lastMessage(m store.Message) LastMessage {
	return LastMessage{MessageID: m.MessageID, Direction: m.Direction, Type: m.Type, Preview: preview(m.Text), Time: unixTime(m.Timestamp)}
}

func listConversations(d *deps) tools.Tool {
	return tools.New(tools.Def[ListConversationsInput, *ConversationsData]{
		Name:    "WHATSAPP_LIST_CONVERSATIONS",
		Title:   "List conversations (the inbox)",
		Toolset: Toolset,
		Hints:   []string{hint},
		Description: "The inbox of one business number: a conversation per customer, most recent activity first, " +
			"each with its last message, unread count and whether the 24-hour window is open. " +
			"Start here, then read one with WHATSAPP_GET_CONVERSATION. has_more: pass data.next_cursor as cursor for older ones.",
		Annotations: storeRead,
		Example:     `{"phone_number_id":"106540352242922","unread_only":true,"max_results":20}`,
		Handler: func(ctx context.Context, in *ListConversationsInput) (*ConversationsData, error) {
			if d.st == nil {
				return nil, ErrNoStore
			}
			now := d.now()
			limit := limitOf(in.MaxResults, defaultConversations)
			q := store.ConversationQuery{PhoneNumberID: in.PhoneNumberID, Before: in.before.seq, Limit: limit + 1, UnreadOnly: in.UnreadOnly}
			if in.WindowOpenOnly {
				q.OpenSince = now.Add(-window)
			}
			// One more than asked tells has_more without a second query.
			convs, err := d.st.Conversations(ctx, q)
			if err != nil {
				return nil, &StoreError{err}
			}
			out := &ConversationsData{Conversations: make([]InboxEntry, 0, min(len(convs), limit))}
			if len(convs) > limit {
				convs, out.HasMore = convs[:limit], true
				out.NextCursor = cursor{tool: cursorInbox, phone: in.PhoneNumberID, seq: convs[limit-1].LastSeq}.String()
			}
			for _, c := range convs {
				out.Conversations = append(out.Conversations, InboxEntry{Customer: customerOf(c, now), LastMessage: lastMessage(c.Last)})
			}
			return out, nil
		},
	})
}
