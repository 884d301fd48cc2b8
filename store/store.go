// Package store keeps the events Meta delivers to the webhook (message status
// updates, inbound messages, every other change) and the messages the
// business sends, durably and without duplicates, so that the triggers serve
// them later with a cursor and the conversation tools read the inbox, the
// history and the search (docs/cloud-api.md#conversations-store).
//
// Meta has no API to fetch past webhooks and retries a delivery until it gets a
// 200, so the receiver answers 200 only after Save has committed. Two engines
// sit behind the one Store interface: SQLite (a file, the default, one
// process) and PostgreSQL (several replicas sharing one database).
package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// StatusEvent is one element of a webhook's value.statuses[]: a change in the
// delivery state of a message the business sent.
type StatusEvent struct {
	Seq                int64  // arrival order; assigned by the store
	WABAID             string // entry.id
	PhoneNumberID      string // value.metadata.phone_number_id
	DisplayPhoneNumber string // value.metadata.display_phone_number
	MessageID          string // statuses[].id (wamid)
	Status             string // sent|delivered|read|played|failed|…
	Timestamp          int64  // statuses[].timestamp, unix seconds (Meta sends a string)
	RecipientID        string // statuses[].recipient_id
	// Raw is the statuses[] element exactly as Meta sent it; errors, pricing,
	// conversation and biz_opaque_callback_data are read from here.
	Raw        json.RawMessage
	ReceivedAt time.Time // when the webhook arrived; Save sets it from the store's clock (WithClock) when zero
}

// InboundMessage is one element of a webhook's value.messages[]: a message a
// customer sent to the business number (docs/cloud-api.md#inbound-messages).
// The parser fills the indexed fields from the element; Raw keeps all of it.
type InboundMessage struct {
	PhoneNumberID string // value.metadata.phone_number_id
	MessageID     string // messages[].id (wamid)
	From          string // messages[].from, the customer's wa_id; stored as digits only; "" when Meta sent only a BSUID
	UserID        string // messages[].from_user_id (or contacts[].user_id): the business-scoped user id (BSUID)
	ProfileName   string // value.contacts[].profile.name of the sender
	Type          string // text|image|interactive|…
	Timestamp     int64  // messages[].timestamp, unix seconds
	Text          string // what search and previews read: the text body, a caption, a chosen option's title, …
	ContextID     string // context.id (the message quoted) or reaction.message_id (the message reacted to)
	Raw           json.RawMessage
	ReceivedAt    time.Time // when the webhook arrived; Save sets it from the store's clock when zero
}

// Sources of an OutboundMessage.
const (
	SourceAPI = "api" // sent by this server's send tools
	SourceApp = "app" // sent from the WhatsApp Business app (a smb_message_echoes webhook)
)

// OutboundMessage is a message the business sent: recorded by the send tools
// when Meta accepted it, or received as a smb_message_echoes webhook.
type OutboundMessage struct {
	PhoneNumberID string // the business number that sent it
	MessageID     string // the wamid Meta returned (or the echo's id)
	To            string // the customer's wa_id; stored as digits only; "" when only a BSUID is known
	UserID        string // the customer's BSUID, when known
	Type          string // text|image|template|interactive|reaction|…
	Timestamp     int64  // when it was sent, unix seconds
	Text          string // what search and previews read: the text, caption, template name and parameters, interactive body and options
	ContextID     string // the message it replies or reacts to
	Source        string // SourceAPI or SourceApp
	// Raw is the message object as sent (the request body for SourceAPI,
	// Meta's echo element for SourceApp).
	Raw        json.RawMessage
	ReceivedAt time.Time // when it was recorded; Save sets it from the store's clock when zero
}

// Change is one element of a webhook's entry[].changes[] that is neither a
// status nor a message: template status, quality and category updates,
// account updates, value-level errors[], and any field Meta adds later
// (docs/cloud-api.md#webhook-payloads). Nothing signed is dropped.
type Change struct {
	Seq    int64  // arrival order; assigned by the store
	WABAID string // entry.id
	Field  string // changes[].field
	// Subject is the id the change is about, when the parser knows the
	// field: message_template_id for the template fields, the
	// phone_number_id for a messages change with errors[]; "" otherwise.
	Subject string
	// Key deduplicates: the same key is stored once. The parser sets it
	// from the entry id, the field and the value's bytes.
	Key        string
	Raw        json.RawMessage // changes[].value exactly as sent
	ReceivedAt time.Time       // when the webhook arrived; Save sets it when zero
}

// Batch is everything one webhook delivery carried (or one send recorded).
type Batch struct {
	Statuses []StatusEvent
	Inbound  []InboundMessage
	Outbound []OutboundMessage
	Changes  []Change
}

// Query selects status events for Statuses.
type Query struct {
	PhoneNumberID string // "" = every business number
	Status        string // "" = all statuses
	After         int64  // cursor: only events with Seq > After
	Limit         int    // <= 0 means 100; capped at 1000
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Store is a durable, deduplicating event log.
type Store interface {
	// Save stores the batch durably (committed, fsync'd per the engine) in one
	// transaction, which it may share with concurrent Saves (group commit),
	// and returns only once that transaction has committed; if it fails,
	// every Save in it fails. Duplicates are ignored: statuses on
	// (MessageID, Status), messages (inbound and outbound alike) on
	// MessageID, changes on Key. The first copy wins: Meta may resend the
	// same status with a different payload, and the later one is dropped.
	// Returns how many statuses and inbound messages were new to this
	// Save: an event two concurrent Saves carry is new for one of them
	// only. After Close, Save fails.
	Save(ctx context.Context, b Batch) (newStatuses, newInbound int, err error)

	// Statuses returns events with Seq > q.After for that phone number (and
	// status if set), in Seq order, at most q.Limit, plus the Seq to use as
	// the next cursor (the last returned Seq, or q.After when none). Paging
	// with it never repeats or skips an event, even with several writers
	// (replicas) on one PostgreSQL.
	Statuses(ctx context.Context, q Query) (events []StatusEvent, next int64, err error)

	// History returns, for each message id asked, all its status events in
	// Seq order (absent ids are absent from the map).
	History(ctx context.Context, messageIDs []string) (map[string][]StatusEvent, error)

	// LastInbound returns when the customer (waID; only its digits count, so
	// "+1 650-555-1234" works; or a BSUID) last wrote to that business
	// number a message that opens the customer service window
	// (WindowOpener): the message's own timestamp, or its arrival time if
	// Meta sent none. ok is false if the customer never did.
	LastInbound(ctx context.Context, phoneNumberID, waID string) (t time.Time, ok bool, err error)

	// Inbound returns inbound messages with Seq > q.After, in Seq order, at
	// most q.Limit, plus the next cursor (the last returned Seq, or q.After
	// when none): the inbound trigger, with the same never-repeat,
	// never-skip guarantee as Statuses.
	Inbound(ctx context.Context, q InboundQuery) (msgs []Message, next int64, err error)

	// Conversations returns the inbox of a business number, the most recent
	// activity (LastSeq) first, at most q.Limit.
	Conversations(ctx context.Context, q ConversationQuery) ([]Conversation, error)

	// Conversation returns one conversation's summary; ok is false when the
	// store holds no message of it. customer is a wa_id (only its digits
	// count) or a BSUID.
	Conversation(ctx context.Context, phoneNumberID, customer string) (c Conversation, ok bool, err error)

	// Messages returns one conversation's messages in the order q asks
	// (newest first from q.Before, or oldest first from q.After), both
	// directions, at most q.Limit.
	Messages(ctx context.Context, q HistoryQuery) ([]Message, error)

	// Search returns the messages of a business number (both directions)
	// whose text matches q.Query, newest (highest Seq) first, at most
	// q.Limit, using the engine's full-text index.
	Search(ctx context.Context, q SearchQuery) ([]Message, error)

	// MarkRead marks the inbound message messageID of that business
	// number, and every earlier message of its conversation, read: the
	// conversation's Unread counts only later ones. ok is false when the
	// store holds no inbound message with that id for that number.
	MarkRead(ctx context.Context, phoneNumberID, messageID string) (c Conversation, ok bool, err error)

	// Changes returns stored webhook changes with Seq > q.After, in Seq
	// order, at most q.Limit.
	Changes(ctx context.Context, q ChangeQuery) ([]Change, error)

	// LatestChange returns the newest stored change (highest Seq) of that
	// field and subject; ok is false when there is none.
	LatestChange(ctx context.Context, field, subject string) (c Change, ok bool, err error)

	// Listen calls fn after each commit that stored new messages, once per
	// message, in commit order: for Saves of this store (before Save
	// returns) and, on PostgreSQL, of every store on the same database
	// (LISTEN/NOTIFY, on a connection of the store's own, opened by the
	// first Listen, which returns once it listens, or after a few seconds
	// if the database cannot be reached; a notice sent while it is not
	// connected is lost, so a waiter still reads again at its deadline).
	// fn is called from one goroutine at a time and must not block. stop
	// ends the calls.
	Listen(fn func(Notice)) (stop func())

	// Prune deletes the statuses, messages and changes received before
	// cutoff, the conversations with no message left, and the bulk jobs
	// that ended before cutoff (never a running one).
	Prune(ctx context.Context, cutoff time.Time) (Pruned, error)

	// Ping proves the store can take a write now: it commits a tiny one (a
	// row of its own, not an event), so an unreachable database, a
	// read-only one, a full disk or a write lock held too long all fail it.
	// For readiness probes; bound it with ctx.
	Ping(ctx context.Context) error

	// Close releases the database; calling it again is a no-op.
	Close() error

	Jobs // the bulk send jobs (jobs.go)
}

// Option changes how Open opens a store.
type Option func(*options)

type options struct {
	now      func() time.Time // never nil once Open has applied the options
	maxConns int              // > 0 once Open has applied the options

	// Test hooks, set only through export_test.go: beforeCommit runs in
	// each group's transaction after the inserts, widening the window in
	// which a concurrent reader could overtake an uncommitted Seq;
	// noSaveLock leaves out PostgreSQL's save lock to show the concurrency
	// test catches the skip it prevents; groupHook runs there too, told how
	// many Saves the group holds, and a non-nil error fails the group;
	// inboundTTL < 0 switches the LastInbound cache off (benchmarks).
	beforeCommit func()
	noSaveLock   bool
	groupHook    func(saves int) error
	inboundTTL   time.Duration
	// schemaVersion > 0 migrates only up to that version and opens a
	// store that can only be closed (the migration tests' older stores).
	schemaVersion int
}

// DefaultMaxConns is how many database connections a store opens at most
// unless WithMaxConns says otherwise.
const DefaultMaxConns = 8

// WithClock makes the store read the time from now instead of time.Now: the
// arrival time Save gives an event whose ReceivedAt is zero, the time a
// migration is recorded as applied, and the age of LastInbound's cached
// answers. For tests; nil keeps time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithMaxConns bounds the database connections the store opens: on
// PostgreSQL the whole pool (Save's writer holds one at a time, the reads
// share the rest), on SQLite the readers (the writer is one connection of
// its own). n <= 0 keeps DefaultMaxConns.
func WithMaxConns(n int) Option {
	return func(o *options) { o.maxConns = n }
}

// Open opens (creating and migrating if needed) the store at location:
//
//   - "" : SQLite at DefaultPath()
//   - "postgres://…" or "postgresql://…" : PostgreSQL (pgx connection string;
//     add search_path=<schema> to keep the tables in their own schema)
//   - "file:…" (an SQLite URI) or a file path : SQLite
func Open(ctx context.Context, location string, opts ...Option) (Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.maxConns <= 0 {
		o.maxConns = DefaultMaxConns
	}
	switch {
	case location == "":
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		return openSQLite(ctx, p, o)
	case strings.HasPrefix(location, "postgres://"), strings.HasPrefix(location, "postgresql://"):
		return openPostgres(ctx, location, o)
	default:
		return openSQLite(ctx, location, o)
	}
}

// DefaultPath is where the SQLite event store lives when no location is
// given: $XDG_DATA_HOME/whatsapp-mcp/events.db (~/.local/share when unset);
// on macOS and Windows, under os.UserConfigDir(). The directory is created
// with mode 0700 because the events hold customers' phone numbers.
func DefaultPath() (string, error) {
	var base string
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		base = d // the XDG spec says to ignore relative values
	} else if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("store: locating the data directory: %w", err)
		}
		base = d
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("store: locating the data directory: %w", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	dir := filepath.Join(base, "whatsapp-mcp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("store: creating %s: %w", dir, err)
	}
	return filepath.Join(dir, "events.db"), nil
}

// digits keeps only ASCII digits: wa_ids are digits, but users type "+1 (650) 555-1234".
func digits(s string) string {
	if isDigits(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	}
	return n
}

// receivedAt fills a zero arrival time and drops what PostgreSQL cannot keep
// (below a microsecond), so both engines return the same value.
func receivedAt(t, now time.Time) time.Time {
	if t.IsZero() {
		t = now
	}
	return t.UTC().Truncate(time.Microsecond)
}

// uniqueIDs drops empty and repeated ids so a query asks for each once.
func uniqueIDs(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
	}
	return out
}

// rawOrNil maps an absent payload to SQL NULL and keeps any other bytes as
// text, exactly (no re-encoding).
func rawOrNil(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}
