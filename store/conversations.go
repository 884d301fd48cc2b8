package store

import (
	"encoding/json"
	"time"
)

// The read side of conversations: what the inbox, the history, the search
// and the inbound trigger read. Both directions of a conversation live in
// one table, in one Seq order shared with nothing else.

// Directions of a Message.
const (
	DirectionIn  = "in"  // the customer wrote
	DirectionOut = "out" // the business sent (this server, or the Business app)
)

// Message is one stored message of a conversation, either direction.
type Message struct {
	Seq           int64  // arrival order, assigned by the store
	PhoneNumberID string // the business number
	Direction     string // DirectionIn or DirectionOut
	MessageID     string // wamid
	// Customer keys the conversation: the customer's wa_id (digits), or
	// their BSUID when no wa_id was ever seen for them.
	Customer    string
	WaID        string // the customer's wa_id (digits), when known
	UserID      string // the customer's BSUID, when known
	ProfileName string // inbound: the sender's profile name
	Type        string
	Timestamp   int64  // unix seconds: Meta's for inbound, the send time for outbound
	Text        string // the searchable text (see InboundMessage.Text)
	ContextID   string // the message it replies or reacts to
	Source      string // outbound: SourceAPI or SourceApp; inbound: ""
	Raw         json.RawMessage
	ReceivedAt  time.Time
}

// Conversation is the inbox entry of one customer of one business number.
type Conversation struct {
	PhoneNumberID string
	Customer      string // see Message.Customer
	WaID          string
	UserID        string
	ProfileName   string // the latest profile name the customer's messages carried
	// Last is the latest message of the conversation, either direction
	// (by Timestamp, then Seq), Raw included.
	Last Message
	// LastSeq is the Seq of the latest message stored for the
	// conversation: the inbox is ordered by it, newest first.
	LastSeq int64
	// Unread counts inbound messages after the last one marked read.
	Unread int
	// LastInboundAt is when the customer last sent a message that opens
	// the 24-hour window (WindowOpener); zero when they never did.
	LastInboundAt time.Time
}

// WindowOpener says whether an inbound message of this type opens (or
// refreshes) the customer service window: every customer message does but
// a reaction, a system notice and request_welcome
// (docs/cloud-api.md#the-customer-service-window).
func WindowOpener(msgType string) bool {
	switch msgType {
	case "reaction", "system", "request_welcome":
		return false
	}
	return true
}

// InboundQuery selects inbound messages for the inbound trigger.
type InboundQuery struct {
	PhoneNumberID string   // required
	After         int64    // cursor: only messages with Seq > After
	Limit         int      // <= 0 means 100; capped at 1000
	Types         []string // only these types; empty: every type
	Customer      string   // only this customer (wa_id digits or BSUID); "": all
}

// ConversationQuery selects a business number's inbox.
type ConversationQuery struct {
	PhoneNumberID string // required
	// Before is the cursor: only conversations whose LastSeq < Before;
	// 0 starts at the most recent.
	Before     int64
	Limit      int  // <= 0 means 100; capped at 1000
	UnreadOnly bool // only conversations with Unread > 0
	// OpenSince, when not zero, keeps only conversations whose
	// LastInboundAt is at or after it (now - 24h: the window is open).
	OpenSince time.Time
}

// HistoryQuery selects one conversation's messages, ordered by (Timestamp,
// Seq): newest first from Before, or oldest first from After.
type HistoryQuery struct {
	PhoneNumberID string // required
	Customer      string // wa_id (any format: only its digits count) or BSUID
	// Before pages backwards: only messages ordered before it; the zero
	// value starts at the newest. Ignored when After is set.
	Before Position
	// After pages forwards: only messages ordered after it, oldest first.
	After Position
	Limit int // <= 0 means 100; capped at 1000
}

// Position is a message's place in its conversation's order.
type Position struct {
	Timestamp int64
	Seq       int64
}

// IsZero reports whether p is unset.
func (p Position) IsZero() bool { return p.Seq == 0 && p.Timestamp == 0 }

// Pos returns m's place in its conversation's order.
func (m Message) Pos() Position { return Position{m.Timestamp, m.Seq} }

// SearchQuery is a full-text search over one business number's messages.
type SearchQuery struct {
	PhoneNumberID string // required
	// Query is what to find: words (each must occur, as a word or a
	// word's start), as a user types them; no query syntax.
	Query    string
	Customer string // only this conversation; "": all
	Before   int64  // cursor: only messages with Seq < Before; 0 from the newest
	Limit    int    // <= 0 means 100; capped at 1000
}

// ChangeQuery selects stored webhook changes.
type ChangeQuery struct {
	Field   string // "" every field
	Subject string // "" every subject
	After   int64  // cursor: Seq > After
	Limit   int    // <= 0 means 100; capped at 1000
}

// Notice tells a listener that a commit stored a new message.
type Notice struct {
	PhoneNumberID string
	Customer      string
	Direction     string
}

// Pruned counts what Prune deleted.
type Pruned struct {
	Statuses, Messages, Changes, Conversations int
}

// StatusRank orders statuses by how far the message got. Meta's webhooks
// arrive out of order (read before delivered, sent after delivered, failed
// after sent; docs/cloud-api.md#delivery-semantics), so the status to report is the most advanced
// one, never simply the last to arrive:
//
//   - failed is final and outranks everything: a message that failed after
//     being reported sent did not arrive.
//   - played (a voice message was first played) implies it was read.
//   - read implies delivered (no delivered webhook comes when both happen at
//     once).
//
// Statuses Meta may add later rank 0: they show in history but are reported
// only when nothing else is known.
func StatusRank(s string) int {
	switch s {
	case "sent":
		return 1
	case "delivered":
		return 2
	case "read":
		return 3
	case "played":
		return 4
	case "failed":
		return 5
	}
	return 0
}

// LatestStatus is the status to report of a message's history (Seq
// order): the most advanced (StatusRank), not the last to arrive;
// among equal ranks (statuses Meta may add) the later arrival. ok is false
// for an empty history.
func LatestStatus(history []StatusEvent) (StatusEvent, bool) {
	best := -1
	for i, e := range history {
		if best < 0 || StatusRank(e.Status) >= StatusRank(history[best].Status) {
			best = i
		}
	}
	if best < 0 {
		return StatusEvent{}, false
	}
	return history[best], true
}
