package conversations

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// GetConversationInput is the input of WHATSAPP_GET_CONVERSATION.
type GetConversationInput struct {
	PhoneNumberID string `json:"phone_number_id" validate:"required,graphid"`
	ToNumber      string `json:"to_number" validate:"required,max=160" jsonschema_description:"The customer: wa_id, phone number or user_id."`
	MaxResults    *int   `json:"max_results,omitempty" validate:"omitempty,min=1,max=100" jsonschema:"default=20"`
	Before        string `json:"before,omitempty" validate:"max=512"`

	customer customer // to_number as read, set by Prepare
	before   cursor   // the cursor read, set by Check
}

// Normalize trims what models sometimes pad.
func (in *GetConversationInput) Normalize() {
	in.ToNumber, in.Before = strings.TrimSpace(in.ToNumber), strings.TrimSpace(in.Before)
}

// Check reads the cursor; whether it is this conversation's is known once
// to_number is resolved.
func (in *GetConversationInput) Check() []tools.FieldError {
	var errs []tools.FieldError
	in.before, errs = checkCursor("before", in.Before, cursorHistory, in.PhoneNumberID)
	return errs
}

// defaultMessages is max_results when omitted, and the page a resource
// read returns.
const defaultMessages = 20

// ConversationData is data of WHATSAPP_GET_CONVERSATION, and what a
// conversation resource reads.
type ConversationData struct {
	Customer
	Messages   []MessageView `json:"messages" jsonschema_description:"Oldest first within the page"`
	NextCursor string        `json:"next_cursor,omitempty" jsonschema_description:"With has_more: pass as before for older messages"`
	HasMore    bool          `json:"has_more"`
	Note       string        `json:"note,omitempty" jsonschema:"-"`
}

const noMessagesNote = "this server has stored no message with this customer on this business number: they have not written to it (or not since the store was pruned), so the 24-hour window is closed; to reach them, send an approved template"

// conversation reads the page of the conversation of key that ends before
// the cursor's place (from the newest when zero), limit messages at most.
// conv is the conversation's summary (found: the store holds it).
func (d *deps) conversation(ctx context.Context, phoneNumberID, key string, conv store.Conversation, found bool, limit int, before cursor) (*ConversationData, error) {
	now := d.now()
	if !found {
		conv = store.Conversation{PhoneNumberID: phoneNumberID, Customer: key}
		return &ConversationData{Customer: customerOf(conv, now), Messages: []MessageView{}, Note: noMessagesNote}, nil
	}
	msgs, err := d.st.Messages(ctx, store.HistoryQuery{PhoneNumberID: phoneNumberID, Customer: key,
		Before: store.Position{Timestamp: before.ts, Seq: before.seq}, Limit: limit + 1})
	if err != nil {
		return nil, &StoreError{err}
	}
	out := &ConversationData{Customer: customerOf(conv, now)}
	if len(msgs) > limit {
		msgs, out.HasMore = msgs[:limit], true
		last := msgs[limit-1].Pos() // the oldest of the page: msgs is newest first
		out.NextCursor = cursor{tool: cursorHistory, phone: phoneNumberID, customer: key, ts: last.Timestamp, seq: last.Seq}.String()
	}
	slices.Reverse(msgs)
	out.Messages, err = d.views(ctx, msgs)
	return out, err
}

// views normalises msgs, with each outbound message's latest status.
func (d *deps) views(ctx context.Context, msgs []store.Message) ([]MessageView, error) {
	var ids []string
	for _, m := range msgs {
		if m.Direction == store.DirectionOut {
			ids = append(ids, m.MessageID)
		}
	}
	var hist map[string][]store.StatusEvent
	if len(ids) > 0 {
		var err error
		if hist, err = d.st.History(ctx, ids); err != nil {
			return nil, &StoreError{err}
		}
	}
	out := make([]MessageView, 0, len(msgs))
	for _, m := range msgs {
		v := View(m)
		if e, ok := store.LatestStatus(hist[m.MessageID]); ok && m.Direction == store.DirectionOut {
			v.Status = e.Status
			if e.Status == "failed" {
				v.StatusErrors = statusErrors(e.Raw)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// statusErrors is the errors[] of a statuses[] element, as Meta sent it.
func statusErrors(raw json.RawMessage) json.RawMessage {
	var s struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(raw, &s) != nil || len(s.Errors) == 0 || string(s.Errors) == "null" {
		return nil
	}
	return s.Errors
}

func getConversation(d *deps) tools.Tool {
	return tools.New(tools.Def[GetConversationInput, *ConversationData]{
		Name:    "WHATSAPP_GET_CONVERSATION",
		Title:   "Read a conversation",
		Toolset: Toolset,
		Hints:   []string{hint},
		Description: "One customer's messages with a business number, both directions: the newest max_results, returned oldest first; " +
			"has_more: pass data.next_cursor as before for older ones. Outbound messages carry their latest status (failed: status_errors).",
		Annotations: storeRead,
		Example:     `{"phone_number_id":"106540352242922","to_number":"16505551234","max_results":20}`,
		Prepare: func(ctx context.Context, in *GetConversationInput) []tools.FieldError {
			if in.ToNumber == "" {
				return nil // required says so
			}
			var errs []tools.FieldError
			in.customer, errs = readCustomer(d.phones, in.ToNumber)
			return errs
		},
		Handler: func(ctx context.Context, in *GetConversationInput) (*ConversationData, error) {
			if d.st == nil {
				return nil, ErrNoStore
			}
			conv, key, found, err := d.resolve(ctx, in.PhoneNumberID, in.customer)
			if err != nil {
				return nil, err
			}
			if in.Before != "" && in.before.customer != key {
				return nil, tools.Invalid("before", "was returned for another conversation (%s), not this to_number's (%s); pass the next_cursor of the same conversation, or omit before to start from the newest", tools.Echo(in.before.customer), key)
			}
			return d.conversation(ctx, in.PhoneNumberID, key, conv, found, limitOf(in.MaxResults, defaultMessages), in.before)
		},
	})
}
