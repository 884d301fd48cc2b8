package conversations

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Toolset is the toolset of the conversation tools and of the conversation
// resources.
const Toolset = "conversations"

// Tools returns the conversation tools, served from the webhook store st, in
// catalog order: WHATSAPP_LIST_CONVERSATIONS, WHATSAPP_GET_CONVERSATION,
// WHATSAPP_SEARCH_MESSAGES. phones reads to_number as the send tools do;
// now is the clock the 24-hour window is judged by (nil: time.Now).
//
// st may be nil (no webhook store configured): the tools are still listed,
// so the catalog does not change shape, but every call fails with a message
// telling the operator how to configure the webhook.
func Tools(st store.Store, phones tools.PhonePolicy, now func() time.Time) []tools.Tool {
	d := newDeps(st, phones, now)
	return []tools.Tool{listConversations(d), getConversation(d), searchMessages(d)}
}

// deps is what the tools and the resource read: the store, the phone policy
// and the clock.
type deps struct {
	st     store.Store
	phones tools.PhonePolicy
	now    func() time.Time
}

func newDeps(st store.Store, phones tools.PhonePolicy, now func() time.Time) *deps {
	if now == nil {
		now = time.Now
	}
	return &deps{st: st, phones: phones, now: now}
}

// hint is the instruction the conversation tools share; it names no tool,
// so it holds whichever of them are enabled.
const hint = "Conversations: a customer is named by wa_id (phone digits) or, without one, user_id (a BSUID such as US.13491208655302741918); pass either unchanged as to_number. " +
	"A free-form reply reaches a customer only while window_open (24 hours after their last message, until window_closes_at); otherwise send an approved template."

// The tools read this server's own store: nothing goes to Meta, nothing is
// changed, and the world outside the server is not consulted.
var storeRead = tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}

// ErrNoStore is what every call of a tool that reads the webhook store
// answers when the server has none (one message for every such tool).
var ErrNoStore = errors.New("no webhook store is configured on this server, so it has no message statuses or received messages: Meta never answers queries for them, it only pushes them to a webhook. " +
	"The operator must run the HTTP server (or stdio mode with --webhook-addr) with WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN set, " +
	"and point Meta's webhook (App Dashboard > WhatsApp > Configuration, field `messages`) at <this server>/webhook; " +
	"or start the server with --sandbox to try it against the built-in emulator. Retrying will not help until then")

// StoreError wraps a failure of the webhook store for a model: it is on our
// side and usually passes. It is a server failure, never the caller's.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// ErrorKind: the store is down or busy, which passes; a resource read then
// answers an internal error, not "not found".
func (e *StoreError) ErrorKind() tools.ErrorKind { return tools.KindUnavailable }

// Describe tells a model the failure is the server's, and to retry.
func (e *StoreError) Describe() string {
	return "reading this server's webhook store failed (" + e.Err.Error() + "); this is a problem on the server's side, not in your input: retry in a little while"
}

// window is how long a customer's message keeps the customer service
// window open (docs/cloud-api.md#the-customer-service-window).
const window = 24 * time.Hour

// Customer is what the tools say about one conversation's customer and its
// state. Fields marked jsonschema:"-" are left out of the output schema,
// not of data.
type Customer struct {
	WaID        string `json:"wa_id,omitempty" jsonschema_description:"The customer's WhatsApp id (phone digits); pass it as to_number"`
	UserID      string `json:"user_id,omitempty" jsonschema_description:"The customer's business-scoped user id (BSUID), when Meta sent one; to_number when there is no wa_id"`
	ProfileName string `json:"profile_name,omitempty" jsonschema:"-" jsonschema_description:"The name on the customer's WhatsApp profile"`
	Unread      int    `json:"unread" jsonschema_description:"Customer messages after the last one marked read"`
	// LastCustomerMessageAt is when the customer last sent a message that
	// opens the window (store.WindowOpener: not a reaction or a notice).
	LastCustomerMessageAt string `json:"last_customer_message_at,omitempty" jsonschema:"-"`
	WindowOpen            bool   `json:"window_open" jsonschema_description:"Whether a free-form message can reach the customer now"`
	WindowClosesAt        string `json:"window_closes_at,omitempty" jsonschema:"-" jsonschema_description:"While open: when the window closes, 24 hours after the customer's last message (RFC 3339)"`
}

// customerOf summarises a conversation at now.
func customerOf(c store.Conversation, now time.Time) Customer {
	out := Customer{WaID: c.WaID, UserID: c.UserID, ProfileName: c.ProfileName, Unread: c.Unread}
	if out.WaID == "" && out.UserID == "" {
		// The key is one of the two: say which.
		if cloudapi.IsBSUID(c.Customer) {
			out.UserID = c.Customer
		} else {
			out.WaID = c.Customer
		}
	}
	if !c.LastInboundAt.IsZero() {
		out.LastCustomerMessageAt = rfc3339(c.LastInboundAt)
		// Open up to and at the 24th hour, as the send tools' window
		// warning judges it.
		if closes := c.LastInboundAt.Add(window); !now.After(closes) {
			out.WindowOpen, out.WindowClosesAt = true, rfc3339(closes)
		}
	}
	return out
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func unixTime(ts int64) string {
	if ts <= 0 {
		return ""
	}
	return rfc3339(time.Unix(ts, 0))
}

// previewRunes is about how much of a message the inbox shows.
const previewRunes = 80

// preview shortens a message's text to one line of about previewRunes
// runes, cut between two characters as a reader sees them (an emoji made
// of several code points stays whole), with an ellipsis when cut.
func preview(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= previewRunes {
		return s
	}
	var b strings.Builder
	runes := 0
	for g := uniseg.NewGraphemes(s); g.Next(); {
		if runes += len(g.Runes()); runes >= previewRunes { // one rune left for the ellipsis
			break
		}
		b.WriteString(g.Str())
	}
	return strings.TrimRight(b.String(), " ") + "…"
}

// --- to_number ---------------------------------------------------------------

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// customer is to_number as read: the store keys it may name, most likely
// first, and the phone policy's objection, which stands only when no
// conversation has the number's digits as its wa_id (a wa_id Meta gave, such
// as a Mexican 521…, is not always a number the metadata calls valid).
type customer struct {
	keys      []string
	rule      string
	converted string // the phone policy's reading, when its digits differ
}

// readCustomer reads to_number: a BSUID as given; a wa_id or a phone number
// in any spelling the send tools accept, by its digits and by the phone
// policy's reading of it. A value that is neither is refused at once.
func readCustomer(p tools.PhonePolicy, s string) (customer, []tools.FieldError) {
	if cloudapi.IsBSUID(s) {
		return customer{keys: []string{s}}, nil
	}
	n := tools.NormalizePhone(s)
	if len(n) < 2 || n[0] != '+' || digitsOf(n) != n[1:] {
		return customer{}, []tools.FieldError{{Field: "to_number", Rule: fmt.Sprintf(
			"must be the customer's wa_id (digits, as the inbox gives it), their phone number with its country code (e.g. +16505551234) or their BSUID (e.g. US.13491208655302741918) (got %s)", tools.Echo(s))}}
	}
	c := customer{keys: []string{n[1:]}}
	v := p.Check(s)
	switch {
	case v.Rule != "":
		c.rule = v.Rule
	case v.Number != n:
		c.keys = append(c.keys, strings.TrimPrefix(v.Number, "+"))
		c.converted = v.Number
	}
	return c, nil
}

// resolve finds the conversation to_number names. found is false when the
// store holds none, and key is then the one to report it under; a refused
// number with no conversation under its digits is an input error.
func (d *deps) resolve(ctx context.Context, phoneNumberID string, c customer) (conv store.Conversation, key string, found bool, err error) {
	for _, key = range c.keys {
		conv, found, err = d.st.Conversation(ctx, phoneNumberID, key)
		if err != nil {
			return store.Conversation{}, "", false, &StoreError{err}
		}
		if found {
			break
		}
	}
	if found && conv.Customer != "" {
		key = conv.Customer // a BSUID may name a conversation keyed by wa_id
	}
	if !found && c.rule != "" {
		return store.Conversation{}, "", false, tools.Invalid("to_number", "%s; and no conversation of this business number has those digits as its wa_id", c.rule)
	}
	if c.converted != "" && key == strings.TrimPrefix(c.converted, "+") {
		tools.Warn(ctx, "no conversation has the digits of to_number as its wa_id, so it was read as %s; give numbers with their country code to be sure", c.converted)
	}
	return conv, key, found, nil
}

// --- cursors -----------------------------------------------------------------

// A cursor is opaque to callers: base64url("v1:<tool>:<phone_number_id>:
// <customer>:<timestamp>:<seq>"), the place of the last item returned. The
// tool and the business number are in it so that one tool's or number's
// cursor is refused by another rather than read as a wrong place; the
// version leaves room to change the encoding.
type cursor struct {
	tool     string // one of the cursor* names below
	phone    string
	customer string // the conversation's key (history only)
	ts, seq  int64
}

const cursorVersion = "v1"

// The tools a cursor may come from, as named inside it.
const (
	cursorInbox   = "inbox"
	cursorHistory = "history"
	cursorSearch  = "search"
)

var cursorTools = map[string]string{
	cursorInbox:   "WHATSAPP_LIST_CONVERSATIONS",
	cursorHistory: "WHATSAPP_GET_CONVERSATION",
	cursorSearch:  "WHATSAPP_SEARCH_MESSAGES",
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join([]string{
		cursorVersion, c.tool, c.phone, c.customer, strconv.FormatInt(c.ts, 10), strconv.FormatInt(c.seq, 10)}, ":")))
}

func parseCursor(s string) (cursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return cursor{}, false
	}
	p := strings.Split(string(raw), ":")
	// The number is a Graph id (digits) in every cursor the tools write; a
	// forged one holding anything else is refused, not quoted back.
	if len(p) != 6 || p[0] != cursorVersion || cursorTools[p[1]] == "" || p[2] == "" || digitsOf(p[2]) != p[2] {
		return cursor{}, false
	}
	ts, err1 := strconv.ParseInt(p[4], 10, 64)
	seq, err2 := strconv.ParseInt(p[5], 10, 64)
	if err1 != nil || err2 != nil || seq <= 0 {
		return cursor{}, false
	}
	return cursor{tool: p[1], phone: p[2], customer: p[3], ts: ts, seq: seq}, true
}

// checkCursor reads the cursor field of tool for phone_number_id phone;
// a zero cursor and no error when s is empty.
func checkCursor(field, s, tool, phone string) (cursor, []tools.FieldError) {
	if s == "" {
		return cursor{}, nil
	}
	again := fmt.Sprintf("pass data.next_cursor of the previous %s call unchanged, or omit %s to start from the newest", cursorTools[tool], field)
	c, ok := parseCursor(s)
	switch {
	case !ok:
		return cursor{}, []tools.FieldError{{Field: field, Rule: "is not a cursor returned by " + cursorTools[tool] + "; " + again}}
	case c.tool != tool:
		return cursor{}, []tools.FieldError{{Field: field, Rule: "was returned by " + cursorTools[c.tool] + ", not " + cursorTools[tool] + "; " + again}}
	case phone != "" && c.phone != phone:
		return cursor{}, []tools.FieldError{{Field: field, Rule: fmt.Sprintf("was returned for phone_number_id %s, not %s; %s", c.phone, phone, again)}}
	}
	return c, nil
}

// limitOf is max_results, or its default when omitted.
func limitOf(n *int, def int) int {
	if n == nil {
		return def
	}
	return *n
}
