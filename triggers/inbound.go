package triggers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// ToolsetConversations is the toolset of the tools that read and answer
// what customers write, the inbound trigger among them.
const ToolsetConversations = conversations.Toolset

// EventTypeMessageReceived is the event_type of every inbound trigger event.
const EventTypeMessageReceived = "message_received"

// InboundTools returns WHATSAPP_MESSAGE_RECEIVED_TRIGGER, served from the
// webhook store st (nil: listed, but every call says how to configure the
// webhook). phones reads from_number as the send tools read to_number.
func InboundTools(st store.Store, phones tools.PhonePolicy) []tools.Tool {
	return []tools.Tool{inboundTrigger(st, phones)}
}

// hintInbound is the instruction hint of the inbound trigger.
const hintInbound = "Customers' messages arrive from Meta's webhook: poll WHATSAPP_MESSAGE_RECEIVED_TRIGGER with the phone_number_id and pass back the cursor it returns; with wait_seconds (up to 60) a call waits for the next message and returns as soon as one arrives, so calling it again in a loop is a cheap way to listen."

// maxWait bounds wait_seconds; waitMargin is how much earlier than the
// call's deadline a wait gives up, so it answers an empty page rather than
// running into the deadline.
const (
	maxWait    = 60 * time.Second
	waitMargin = 500 * time.Millisecond
)

// InboundTriggerInput is the input of WHATSAPP_MESSAGE_RECEIVED_TRIGGER.
type InboundTriggerInput struct {
	PhoneNumberID string   `json:"phone_number_id" validate:"required,graphid" jsonschema_description:"From WHATSAPP_GET_PHONE_NUMBERS."`
	Cursor        string   `json:"cursor,omitempty" validate:"max=512"`
	MaxResults    *int     `json:"max_results,omitempty" validate:"omitempty,min=1,max=100" jsonschema:"default=20"`
	MessageTypes  []string `json:"message_types,omitempty" validate:"max=20,unique" jsonschema_description:"Only these: text, image…"`
	FromNumber    string   `json:"from_number,omitempty" validate:"max=160" jsonschema_description:"Only this customer: number, wa_id or user_id."`
	WaitSeconds   *int     `json:"wait_seconds,omitempty" validate:"omitempty,min=0,max=60" jsonschema_description:"If none: wait this long for one."`

	after    int64  // the cursor's position, set by Check
	customer string // from_number as the store keys customers, set by Prepare
}

// Normalize accepts the types in any case and trims what models pad.
func (in *InboundTriggerInput) Normalize() {
	in.Cursor = strings.TrimSpace(in.Cursor)
	in.FromNumber = strings.TrimSpace(in.FromNumber)
	for i, t := range in.MessageTypes {
		in.MessageTypes[i] = strings.ToLower(strings.TrimSpace(t))
	}
}

// Check decodes the cursor (one of this tool for the same business number)
// and checks the types against Meta's (conversations.InboundTypes): a
// misspelt type would filter out everything. They are not an enum of the
// schema, which would cost every turn some 200 bytes.
func (in *InboundTriggerInput) Check() []tools.FieldError {
	after, errs := checkCursor(in.Cursor, cursorInbound, in.PhoneNumberID)
	in.after = after
	for i, t := range in.MessageTypes {
		if !slices.Contains(conversations.InboundTypes, t) {
			errs = append(errs, tools.FieldError{Field: fmt.Sprintf("message_types[%d]", i),
				Rule: fmt.Sprintf("must be one of Meta's message types: %s (got %s)", strings.Join(conversations.InboundTypes, ", "), tools.Echo(t))})
		}
	}
	return errs
}

// customerRule reads a customer input: a BSUID as it is, else a phone
// number or wa_id with the operator's phone policy, as the send tools read
// to_number. It returns the store's key of the customer (a BSUID, or the
// wa_id's digits).
func customerRule(phones tools.PhonePolicy, field, s string) (customer string, errs []tools.FieldError) {
	if s == "" || cloudapi.IsBSUID(s) {
		return s, nil
	}
	c := phones.Check(s)
	if c.Rule != "" {
		return "", []tools.FieldError{{Field: field, Rule: c.Rule + `; or give the customer's user_id (BSUID, e.g. US.13491208655302741918)`}}
	}
	return strings.TrimPrefix(c.Number, "+"), nil
}

// InboundTriggerData is data of WHATSAPP_MESSAGE_RECEIVED_TRIGGER.
type InboundTriggerData struct {
	Events     []InboundEvent `json:"events"`
	NextCursor string         `json:"next_cursor"`
	HasMore    bool           `json:"has_more"` // more are waiting: call again now
}

// inboundDataSchema is what the output schema names of InboundTriggerData:
// the fields a model acts on; the others are data all the same (every
// byte of a schema is paid on every turn).
type inboundDataSchema struct {
	Events []struct {
		WaID        string `json:"wa_id,omitempty"`
		UserID      string `json:"user_id,omitempty"`
		ProfileName string `json:"profile_name,omitempty"`
		Message     struct {
			MessageID string `json:"message_id"`
			Type      string `json:"type"`
			Text      string `json:"text,omitempty"`
		} `json:"message"`
	} `json:"events"`
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
}

// InboundEvent is one message a customer sent.
type InboundEvent struct {
	EventType     string `json:"event_type" jsonschema:"-"`
	PhoneNumberID string `json:"phone_number_id" jsonschema:"-"`
	// Who wrote: wa_id is what to_number takes to reply; user_id is the
	// BSUID (docs/cloud-api.md#bsuid), the only id of some customers.
	WaID        string                    `json:"wa_id,omitempty"`
	UserID      string                    `json:"user_id,omitempty"`
	ProfileName string                    `json:"profile_name,omitempty"`
	Message     conversations.MessageView `json:"message"`
	ReceivedAt  string                    `json:"received_at,omitempty" jsonschema:"-"`
}

func inboundEvent(m store.Message) InboundEvent {
	return InboundEvent{
		EventType:     EventTypeMessageReceived,
		PhoneNumberID: m.PhoneNumberID,
		WaID:          m.WaID,
		UserID:        m.UserID,
		ProfileName:   m.ProfileName,
		Message:       conversations.View(m),
		ReceivedAt:    formatTime(m.ReceivedAt),
	}
}

const inboundDescription = "Messages customers sent to one business number, oldest first, normalised (media.id works with WHATSAPP_GET_MEDIA). " +
	"Pass data.next_cursor back as cursor: nothing is repeated or skipped; has_more: call again now. " +
	"Reply with to_number = wa_id."

func inboundTrigger(st store.Store, phones tools.PhonePolicy) tools.Tool {
	return tools.New(tools.Def[InboundTriggerInput, *InboundTriggerData]{
		Name:        "WHATSAPP_MESSAGE_RECEIVED_TRIGGER",
		Title:       "Poll messages received",
		Toolset:     ToolsetConversations,
		Hints:       []string{hintInbound},
		Description: inboundDescription,
		Annotations: storeRead,
		Data:        inboundDataSchema{},
		Example:     `{"phone_number_id":"106540352242922","message_types":["text","interactive"],"max_results":20}`,
		Prepare: func(ctx context.Context, in *InboundTriggerInput) []tools.FieldError {
			var errs []tools.FieldError
			in.customer, errs = customerRule(phones, "from_number", in.FromNumber)
			return errs
		},
		Handler: func(ctx context.Context, in *InboundTriggerInput) (*InboundTriggerData, error) {
			if st == nil {
				return nil, errNoStore
			}
			limit := defaultMaxResults
			if in.MaxResults != nil {
				limit = *in.MaxResults
			}
			var wait time.Duration
			if in.WaitSeconds != nil {
				wait = min(time.Duration(*in.WaitSeconds)*time.Second, maxWait)
			}
			q := store.InboundQuery{PhoneNumberID: in.PhoneNumberID, After: in.after, Limit: limit + 1, // one more tells has_more
				Types: in.MessageTypes, Customer: in.customer}
			msgs, next, err := waitInbound(ctx, st, q, wait)
			if err != nil {
				return nil, err
			}
			out := &InboundTriggerData{}
			msgs, next, out.HasMore = trimPage(msgs, limit, next, func(m store.Message) int64 { return m.Seq })
			out.Events = make([]InboundEvent, 0, len(msgs))
			for _, m := range msgs {
				out.Events = append(out.Events, inboundEvent(m))
			}
			out.NextCursor = encodeCursor(cursorInbound, in.PhoneNumberID, max(next, in.after))
			return out, nil
		},
	})
}

// waitInbound answers q, and when nothing matches, waits up to wait for a
// message of q's business number to be stored (by this process or, on
// PostgreSQL, any replica) and asks again: each wake-up is one query, with
// no polling in between. It subscribes before the first query, so a
// message committed between the query and the wait still wakes it. The
// wait ends early, answering what it has, shortly before ctx's deadline;
// a cancelled ctx fails the call.
func waitInbound(ctx context.Context, st store.Store, q store.InboundQuery, wait time.Duration) ([]store.Message, int64, error) {
	var wake chan struct{}
	if wait > 0 {
		wake = make(chan struct{}, 1)
		stop := st.Listen(func(n store.Notice) {
			if n.PhoneNumberID == q.PhoneNumberID && n.Direction == store.DirectionIn {
				select {
				case wake <- struct{}{}:
				default: // a wake-up is pending already: the query after it sees this message too
				}
			}
		})
		defer stop()
		if d, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(d)-waitMargin)
		}
	}
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		msgs, next, err := st.Inbound(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, fmt.Errorf("the call was cancelled while waiting for messages: %w", context.Cause(ctx))
			}
			return nil, 0, storeError(err)
		}
		if len(msgs) > 0 || timeout == nil {
			return msgs, next, nil
		}
		select {
		case <-wake:
		case <-timeout:
			return msgs, next, nil
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("the call was cancelled while waiting for messages: %w", context.Cause(ctx))
		}
	}
}
