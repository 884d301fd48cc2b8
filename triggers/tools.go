package triggers

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Tools returns the two status tools, served from the webhook store st:
// WHATSAPP_GET_MESSAGE_STATUS (the twentieth action) and
// WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER (the trigger), in catalog order.
//
// st may be nil (no webhook store configured): the tools are still listed,
// so the catalog does not change shape, but every call fails with a message
// telling the operator how to configure the webhook.
func Tools(st store.Store) []tools.Tool {
	return []tools.Tool{getMessageStatus(st), statusTrigger(st)}
}

// ToolsetStatus is the toolset of the status tools.
const ToolsetStatus = "status"

// hintStatus is the instruction hint both status tools carry.
const hintStatus = "Delivery statuses (sent, delivered, read, failed) arrive later from Meta's webhook: check message ids with WHATSAPP_GET_MESSAGE_STATUS, or poll WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER with the phone_number_id and pass back the cursor it returns."

// Both tools read this server's own store: nothing goes to Meta, nothing is
// changed, and the world outside the server is not consulted.
var storeRead = tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}

// EventTypeStatusUpdated is the event_type of every trigger event.
const EventTypeStatusUpdated = "message_status_updated"

// errNoStore is what every call answers when the server has no webhook
// store; storeError wraps the store's failures (both are shared with the
// conversation tools).
var errNoStore = conversations.ErrNoStore

func storeError(err error) error { return &conversations.StoreError{Err: err} }

// --- WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER ---------------------------------

// Status values Meta sends in statuses[].status (docs/cloud-api.md#status-updates).
const statusValues = "sent delivered read failed played"

// StatusTriggerInput is the input of WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER:
// the catalog's configuration inputs plus our cursor.
type StatusTriggerInput struct {
	PhoneNumberID string   `json:"phone_number_id" validate:"required,graphid" jsonschema_description:"From WHATSAPP_GET_PHONE_NUMBERS."`
	StatusFilter  string   `json:"status_filter,omitempty" validate:"omitempty,oneof=sent delivered read failed played" jsonschema:"enum=,enum=sent,enum=delivered,enum=read,enum=failed,enum=played"`
	MaxResults    *int     `json:"max_results,omitempty" validate:"omitempty,min=1,max=100" jsonschema:"default=20"`
	Interval      *float64 `json:"interval,omitempty" validate:"omitempty,min=0" jsonschema_description:"Minutes between scheduled polls; only echoed back."`
	Cursor        string   `json:"cursor,omitempty" validate:"max=512"`

	after int64 // the cursor's position, set by Check
}

// defaultMaxResults is max_results when omitted.
const defaultMaxResults = 20

// Normalize accepts status_filter in any case and with stray spaces, which
// models and form-based platforms produce.
func (in *StatusTriggerInput) Normalize() {
	in.StatusFilter = strings.ToLower(strings.TrimSpace(in.StatusFilter))
	in.Cursor = strings.TrimSpace(in.Cursor)
}

// Check decodes the cursor; a cursor of another business number is refused,
// since its position would skip that number's earlier events.
func (in *StatusTriggerInput) Check() []tools.FieldError {
	after, errs := checkCursor(in.Cursor, cursorStatus, in.PhoneNumberID)
	in.after = after
	return errs
}

// The cursor is opaque to callers: base64url("<kind>:<phone_number_id>:<seq>"),
// where seq is the store's arrival sequence of the last event returned.
// The kind is also a version: it leaves room to change the encoding
// without breaking cursors that pollers keep across upgrades, and tells a
// status cursor from a message cursor (their seqs count different things).
const (
	cursorStatus  = "v1" // WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER
	cursorInbound = "m1" // WHATSAPP_MESSAGE_RECEIVED_TRIGGER
)

// cursorTools names the tool that returns each kind of cursor, for errors.
var cursorTools = map[string]string{
	cursorStatus:  "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER",
	cursorInbound: "WHATSAPP_MESSAGE_RECEIVED_TRIGGER",
}

func encodeCursor(kind, phoneNumberID string, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + phoneNumberID + ":" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (kind, phoneNumberID string, seq int64, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c, "="))
	if err != nil {
		return "", "", 0, false
	}
	parts := strings.Split(string(raw), ":")
	// The number is a Graph id (digits) in every cursor this server writes;
	// a forged one holding anything else is refused, not quoted back.
	if len(parts) != 3 || cursorTools[parts[0]] == "" || parts[1] == "" || digitsOnly(parts[1]) != parts[1] {
		return "", "", 0, false
	}
	seq, err = strconv.ParseInt(parts[2], 10, 64)
	if err != nil || seq < 0 {
		return "", "", 0, false
	}
	return parts[0], parts[1], seq, true
}

// checkCursor reads the cursor input of a trigger whose cursors are of
// kind, for business number phone: the position after which to read (0
// for none), or why the cursor is refused.
func checkCursor(cursor, kind, phone string) (after int64, errs []tools.FieldError) {
	if cursor == "" {
		return 0, nil
	}
	const restart = "or omit cursor to start from the oldest stored event"
	got, cphone, after, ok := decodeCursor(cursor)
	switch {
	case !ok:
		return 0, []tools.FieldError{{Field: "cursor", Rule: "is not a cursor returned by this tool; pass data.next_cursor of the previous call unchanged, " + restart}}
	case got != kind:
		return 0, []tools.FieldError{{Field: "cursor", Rule: fmt.Sprintf("was returned by %s, not this tool; keep one cursor per tool, %s", cursorTools[got], restart)}}
	case phone != "" && cphone != phone:
		return 0, []tools.FieldError{{Field: "cursor", Rule: fmt.Sprintf("was returned for phone_number_id %s, not %s; keep one cursor per business number, %s", cphone, phone, restart)}}
	}
	return after, nil
}

// StatusTriggerData is data of WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER.
type StatusTriggerData struct {
	Events     []StatusEvent `json:"events" jsonschema_description:"The status updates after the cursor, oldest arrival first; empty when nothing new arrived"`
	NextCursor string        `json:"next_cursor" jsonschema_description:"Pass this as cursor on the next call (always set; unchanged when events is empty)"`
	HasMore    bool          `json:"has_more" jsonschema_description:"true when more events are already waiting after next_cursor: call again right away"`
	Interval   *float64      `json:"interval,omitempty" jsonschema_description:"The polling interval given as input, in minutes, echoed back as a hint for the next poll"`
}

// StatusEvent is one trigger event: one element of a status webhook's
// statuses[] as Meta sent it. Fields marked jsonschema:"-" are left out of
// the output schema, not of data (see StatusUpdate).
type StatusEvent struct {
	EventType          string       `json:"event_type" jsonschema:"enum=message_status_updated" jsonschema_description:"Always message_status_updated"`
	PhoneNumberID      string       `json:"phone_number_id" jsonschema_description:"The business phone number id that sent the message"`
	DisplayPhoneNumber string       `json:"display_phone_number,omitempty" jsonschema:"-" jsonschema_description:"That business number as displayed, from the webhook's metadata"`
	WABAID             string       `json:"waba_id,omitempty" jsonschema:"-" jsonschema_description:"The WhatsApp Business Account id (the webhook entry id)"`
	StatusUpdate       StatusUpdate `json:"status_update" jsonschema_description:"The status update, with Meta's fields as Meta sent them"`
	ReceivedAt         string       `json:"received_at,omitempty" jsonschema_description:"When this server received the webhook (RFC 3339, UTC)"`
}

// StatusUpdate holds the fields of a statuses[] element; absent fields are
// absent here too. errors, pricing and conversation are passed through
// byte for byte. The output schema names the fields a model acts on; the
// others (jsonschema:"-") are data all the same.
type StatusUpdate struct {
	MessageID              string `json:"message_id" jsonschema_description:"The WhatsApp message id (wamid.…) returned when the message was sent"`
	Status                 string `json:"status" jsonschema_description:"sent, delivered, read, played (voice message first played) or failed; other values Meta may add are passed through"`
	Timestamp              string `json:"timestamp,omitempty" jsonschema_description:"When the status changed, in unix seconds as a string (as Meta sends it); order by it, since webhooks arrive out of order"`
	RecipientID            string `json:"recipient_id,omitempty" jsonschema_description:"The recipient's WhatsApp id (phone number digits), or a group id"`
	RecipientType          string `json:"recipient_type,omitempty" jsonschema:"-" jsonschema_description:"group for a group message; absent for one person"`
	RecipientParticipantID string `json:"recipient_participant_id,omitempty" jsonschema:"-" jsonschema_description:"Group messages: the group member this status is about"`
	// The business-scoped user ids (BSUID; docs/cloud-api.md#bsuid) of
	// the recipient and, for a group, of the member.
	RecipientUserID                  string          `json:"recipient_user_id,omitempty" jsonschema:"-"`
	ParentRecipientUserID            string          `json:"parent_recipient_user_id,omitempty" jsonschema:"-"`
	RecipientParticipantUserID       string          `json:"recipient_participant_user_id,omitempty" jsonschema:"-"`
	RecipientParticipantParentUserID string          `json:"recipient_participant_parent_user_id,omitempty" jsonschema:"-"`
	Errors                           json.RawMessage `json:"errors,omitempty" jsonschema:"type=array" jsonschema_description:"failed only: Meta's errors [{code, title, message, error_data:{details}, href}]. 131047 = free-form message outside the 24-hour customer-service window: send an approved template instead; 131026 = the number cannot receive it (not on WhatsApp, old app, or blocked the business); 131049 = Meta held back a marketing message; do not resend within 24 hours"`
	Pricing                          json.RawMessage `json:"pricing,omitempty" jsonschema:"-" jsonschema_description:"Meta's pricing object {billable, pricing_model, type, category}, sent with sent and one of delivered/read"`
	Conversation                     json.RawMessage `json:"conversation,omitempty" jsonschema:"-" jsonschema_description:"Meta's conversation object {id, expiration_timestamp, origin:{type}}; omitted by Graph API v24+ except in free entry-point windows"`
	BizOpaqueCallbackData            string          `json:"biz_opaque_callback_data,omitempty" jsonschema_description:"The tracking string given when the message was sent, if any"`
}

// rawStatus reads the fields of a statuses[] element that StatusUpdate
// passes through. Timestamp is raw because Meta sends a string but the
// receiver also accepts a number.
type rawStatus struct {
	Timestamp              json.RawMessage `json:"timestamp"`
	RecipientID            *string         `json:"recipient_id"`
	RecipientType          string          `json:"recipient_type"`
	RecipientParticipantID string          `json:"recipient_participant_id"`
	RecipientUserID        string          `json:"recipient_user_id"`
	// Meta's pages spell the parent BSUID of a status both ways.
	ParentRecipientUserID            string          `json:"parent_recipient_user_id"`
	ParentUserID                     string          `json:"parent_user_id"`
	RecipientParticipantUserID       string          `json:"recipient_participant_user_id"`
	RecipientParticipantParentUserID string          `json:"recipient_participant_parent_user_id"`
	Errors                           json.RawMessage `json:"errors"`
	Pricing                          json.RawMessage `json:"pricing"`
	Conversation                     json.RawMessage `json:"conversation"`
	BizOpaqueCallbackData            string          `json:"biz_opaque_callback_data"`
}

// statusUpdate rebuilds the update from the stored event: Meta's raw element
// when the store kept it, else the indexed columns.
func statusUpdate(e store.StatusEvent) StatusUpdate {
	u := StatusUpdate{MessageID: e.MessageID, Status: e.Status, RecipientID: e.RecipientID}
	if e.Timestamp > 0 {
		u.Timestamp = strconv.FormatInt(e.Timestamp, 10)
	}
	var r rawStatus
	if len(e.Raw) == 0 || json.Unmarshal(e.Raw, &r) != nil {
		return u
	}
	if ts := metaString(r.Timestamp); ts != "" {
		u.Timestamp = ts
	}
	if r.RecipientID != nil {
		u.RecipientID = *r.RecipientID
	}
	u.RecipientType = r.RecipientType
	u.RecipientParticipantID = r.RecipientParticipantID
	u.RecipientUserID = r.RecipientUserID
	u.ParentRecipientUserID = cmp.Or(r.ParentRecipientUserID, r.ParentUserID)
	u.RecipientParticipantUserID = r.RecipientParticipantUserID
	u.RecipientParticipantParentUserID = r.RecipientParticipantParentUserID
	u.Errors = present(r.Errors)
	u.Pricing = present(r.Pricing)
	u.Conversation = present(r.Conversation)
	u.BizOpaqueCallbackData = r.BizOpaqueCallbackData
	return u
}

// metaString renders a JSON string or number as Meta's string form.
func metaString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// present drops an explicit JSON null, which omitempty would keep.
func present(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

func triggerEvent(e store.StatusEvent) StatusEvent {
	ev := StatusEvent{
		EventType:          EventTypeStatusUpdated,
		PhoneNumberID:      e.PhoneNumberID,
		DisplayPhoneNumber: e.DisplayPhoneNumber,
		WABAID:             e.WABAID,
		StatusUpdate:       statusUpdate(e),
	}
	if !e.ReceivedAt.IsZero() {
		ev.ReceivedAt = e.ReceivedAt.UTC().Format(time.RFC3339Nano)
	}
	return ev
}

const triggerDescription = "Poll the delivery statuses of one business number's messages, oldest first, as Meta's webhook brought them. " +
	"Call without cursor, then pass data.next_cursor back each time: nothing is repeated or skipped; empty events: nothing new; has_more: call again now. " +
	"Statuses arrive out of order (order by status_update.timestamp; read implies delivered); failures carry Meta's code in status_update.errors (131047: outside the 24-hour window)."

func statusTrigger(st store.Store) tools.Tool {
	return tools.New(tools.Def[StatusTriggerInput, *StatusTriggerData]{
		Name:        "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER",
		Title:       "Poll message status updates",
		Toolset:     ToolsetStatus,
		Hints:       []string{hintStatus},
		Description: triggerDescription,
		Annotations: storeRead,
		Example:     `{"phone_number_id":"106540352242922","status_filter":"failed","max_results":20}`,
		Handler: func(ctx context.Context, in *StatusTriggerInput) (*StatusTriggerData, error) {
			if st == nil {
				return nil, errNoStore
			}
			limit := defaultMaxResults
			if in.MaxResults != nil {
				limit = *in.MaxResults
			}
			// One more than asked tells has_more without a second query.
			evs, next, err := st.Statuses(ctx, store.Query{
				PhoneNumberID: in.PhoneNumberID, Status: in.StatusFilter, After: in.after, Limit: limit + 1})
			if err != nil {
				return nil, storeError(err)
			}
			out := &StatusTriggerData{Interval: in.Interval}
			evs, next, out.HasMore = trimPage(evs, limit, next, func(e store.StatusEvent) int64 { return e.Seq })
			out.Events = make([]StatusEvent, 0, len(evs))
			for _, e := range evs {
				out.Events = append(out.Events, triggerEvent(e))
			}
			out.NextCursor = encodeCursor(cursorStatus, in.PhoneNumberID, max(next, in.after))
			return out, nil
		},
	})
}

// trimPage cuts a page read with one row more than limit (the extra row
// tells has_more without a second query) to limit rows, moving next, the
// cursor's position, to the last row kept.
func trimPage[T any](rows []T, limit int, next int64, seq func(T) int64) (page []T, newNext int64, hasMore bool) {
	if len(rows) <= limit {
		return rows, next, false
	}
	return rows[:limit], seq(rows[limit-1]), true
}

// --- WHATSAPP_GET_MESSAGE_STATUS ---------------------------------------------

// GetMessageStatusInput is the input of WHATSAPP_GET_MESSAGE_STATUS.
type GetMessageStatusInput struct {
	MessageIDs []string `json:"message_ids" validate:"required,min=1,max=100,unique,dive,required,notblank,max=512" jsonschema_description:"data.message_id of the sends (wamid.)."`
}

// Normalize trims the ids, which models sometimes pad.
func (in *GetMessageStatusInput) Normalize() {
	for i, id := range in.MessageIDs {
		in.MessageIDs[i] = strings.TrimSpace(id)
	}
}

// MessageStatusData is data of WHATSAPP_GET_MESSAGE_STATUS.
type MessageStatusData struct {
	Messages []MessageStatus `json:"messages" jsonschema_description:"One entry per id asked, in the order asked"`
}

// MessageStatus is what the store knows about one message. Fields marked
// jsonschema:"-" are left out of the output schema, not of data.
type MessageStatus struct {
	MessageID   string `json:"message_id" jsonschema_description:"The id asked for"`
	Known       bool   `json:"known" jsonschema_description:"Whether any status webhook was received for this message"`
	Status      string `json:"status,omitempty" jsonschema_description:"The most advanced status received: failed, then played, read, delivered, sent (not simply the last to arrive, since webhooks arrive out of order)"`
	Delivered   bool   `json:"delivered" jsonschema_description:"Whether the message reached the phone: true after delivered, read or played (read implies delivered; Meta skips delivered when both happen at once)"`
	Timestamp   string `json:"timestamp,omitempty" jsonschema_description:"When that status happened, unix seconds as a string, as Meta sent it"`
	UpdatedAt   string `json:"updated_at,omitempty" jsonschema:"-" jsonschema_description:"The same instant in RFC 3339, UTC"`
	RecipientID string `json:"recipient_id,omitempty" jsonschema_description:"The recipient's WhatsApp id (phone number digits), or a group id"`
	// The recipient's BSUIDs (docs/cloud-api.md#bsuid), when Meta sent them.
	RecipientUserID       string          `json:"recipient_user_id,omitempty" jsonschema:"-"`
	ParentRecipientUserID string          `json:"parent_recipient_user_id,omitempty" jsonschema:"-"`
	PhoneNumberID         string          `json:"phone_number_id,omitempty" jsonschema:"-" jsonschema_description:"The business phone number id that sent it"`
	Errors                json.RawMessage `json:"errors,omitempty" jsonschema:"type=array" jsonschema_description:"When failed: Meta's errors [{code, title, message, error_data:{details}, href}] as sent"`
	History               []StatusChange  `json:"history,omitempty" jsonschema_description:"Every status received for this message, in arrival order"`
	Note                  string          `json:"note,omitempty" jsonschema_description:"What the answer means and what to do, for unknown or failed messages"`
}

// StatusChange is one entry of a message's history.
type StatusChange struct {
	Status     string `json:"status"`
	Timestamp  string `json:"timestamp,omitempty" jsonschema_description:"When it happened, unix seconds as a string, as Meta sent it"`
	ReceivedAt string `json:"received_at,omitempty" jsonschema_description:"When this server received the webhook (RFC 3339, UTC)"`
}

// failureNote explains each error of a failed status with graph's one
// table of codes (docs/cloud-api.md#error-codes), the same words a model
// reads when Meta answers a call with that code.
func failureNote(errs json.RawMessage) string {
	var list []struct {
		Code  *int   `json:"code"`
		Title string `json:"title"`
	}
	_ = json.Unmarshal(errs, &list)
	if len(list) == 0 {
		return "the message failed; Meta gave no error details"
	}
	var parts []string
	for _, e := range list {
		if e.Code == nil {
			// Without a code, 0 would read as Meta's token error.
			parts = append(parts, "an error without a code (see errors)")
			continue
		}
		p := fmt.Sprintf("error %d", *e.Code)
		if e.Title != "" {
			p += " (" + e.Title + ")"
		}
		if meaning, action, ok := graph.Explain(*e.Code, 0); ok {
			p += ": " + meaning + ". What to do: " + action
		}
		parts = append(parts, p)
	}
	return "the message failed with " + strings.Join(parts, ". Also ")
}

const unknownNote = "no status received yet for this id: the message may still be in flight (statuses usually arrive within seconds, a failure sometimes later), the id may not be one this business sent, or Meta's webhook is not configured to reach this server"

func messageStatus(id string, history []store.StatusEvent) MessageStatus {
	m := MessageStatus{MessageID: id}
	if len(history) == 0 {
		m.Note = unknownNote
		return m
	}
	m.Known = true
	for _, e := range history {
		u := statusUpdate(e)
		m.History = append(m.History, StatusChange{Status: e.Status, Timestamp: u.Timestamp, ReceivedAt: formatTime(e.ReceivedAt)})
		if r := store.StatusRank(e.Status); r >= 2 && r <= 4 {
			m.Delivered = true
		}
	}
	e, _ := store.LatestStatus(history)
	u := statusUpdate(e)
	m.Status, m.Timestamp, m.RecipientID, m.PhoneNumberID = e.Status, u.Timestamp, u.RecipientID, e.PhoneNumberID
	m.RecipientUserID, m.ParentRecipientUserID = u.RecipientUserID, u.ParentRecipientUserID
	if e.Timestamp > 0 {
		m.UpdatedAt = time.Unix(e.Timestamp, 0).UTC().Format(time.RFC3339)
	}
	if e.Status == "failed" {
		m.Errors = u.Errors
		m.Note = failureNote(u.Errors)
	}
	return m
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func getMessageStatus(st store.Store) tools.Tool {
	return tools.New(tools.Def[GetMessageStatusInput, *MessageStatusData]{
		Name:    "WHATSAPP_GET_MESSAGE_STATUS",
		Title:   "Get the status of sent messages",
		Toolset: ToolsetStatus,
		Hints:   []string{hintStatus},
		Description: "Did my messages arrive? For up to 100 sent message ids: the most advanced status received, the history, and for a failure Meta's errors with a note on what to do. " +
			"known=false: no status yet, ask again in a few seconds.",
		Annotations: storeRead,
		Example:     `{"message_ids":["wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="]}`,
		Handler: func(ctx context.Context, in *GetMessageStatusInput) (*MessageStatusData, error) {
			if st == nil {
				return nil, errNoStore
			}
			hist, err := st.History(ctx, in.MessageIDs)
			if err != nil {
				return nil, storeError(err)
			}
			out := &MessageStatusData{Messages: make([]MessageStatus, 0, len(in.MessageIDs))}
			for _, id := range in.MessageIDs {
				out.Messages = append(out.Messages, messageStatus(id, hist[id]))
			}
			return out, nil
		},
	})
}
