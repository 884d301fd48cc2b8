package conversations

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// URITemplate names every conversation resource: one per customer (wa_id,
// or BSUID when there is none) of one business number.
const URITemplate = "whatsapp://{phone_number_id}/conversations/{wa_id}"

// URI is the resource of the conversation of customer (a store key: wa_id
// digits or a BSUID) with business number phoneNumberID, its variables
// escaped as a URI path segment (a BSUID's dots stay).
func URI(phoneNumberID, customer string) string {
	return "whatsapp://" + url.PathEscape(phoneNumberID) + "/conversations/" + url.PathEscape(customer)
}

// ParseURI reads a conversation resource's URI back into its business
// number and customer. The error says what is wrong, for the client that
// sent it.
func ParseURI(uri string) (phoneNumberID, customer string, err error) {
	const want = "; conversation resources look like whatsapp://106540352242922/conversations/16505551234 (" + URITemplate + ")"
	u, perr := url.Parse(uri)
	if perr != nil || u.Scheme != "whatsapp" || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", tools.Invalid("uri", "is not a conversation resource (got %s)%s", tools.Echo(uri), want)
	}
	phoneNumberID = u.Host
	rest, ok := strings.CutPrefix(u.EscapedPath(), "/conversations/")
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", "", tools.Invalid("uri", "has no /conversations/{wa_id} path (got %s)%s", tools.Echo(uri), want)
	}
	customer, perr = url.PathUnescape(rest)
	var fields []tools.FieldError
	if !isGraphID(phoneNumberID) {
		fields = append(fields, tools.FieldError{Field: "phone_number_id", Rule: "must be the numeric id of a business number, e.g. 106540352242922 (got " + tools.Echo(phoneNumberID) + ")"})
	}
	if perr != nil || !(isWaID(customer) || cloudapi.IsBSUID(customer)) {
		fields = append(fields, tools.FieldError{Field: "wa_id", Rule: "must be the customer's wa_id (digits) or BSUID, e.g. US.13491208655302741918 (got " + tools.Echo(rest) + ")"})
	}
	if len(fields) > 0 {
		return "", "", &tools.InputError{Fields: fields}
	}
	return phoneNumberID, customer, nil
}

// isGraphID is the graphid rule (^[0-9]{1,32}$); isWaID a wa_id's digits.
func isGraphID(s string) bool { return len(s) <= 32 && isWaID(s) }

func isWaID(s string) bool { return s != "" && len(s) <= 20 && digitsOf(s) == s }

// Resources returns the conversation resource template, served from the
// webhook store st with the clock now (nil: time.Now). A read returns what
// WHATSAPP_GET_CONVERSATION's data is for that customer, first page.
//
// It has no List: the store can list the conversations of a business
// number, but not which business numbers it holds, and no configuration
// names them; clients read the URIs from the inbox (or are told them in
// notifications) instead.
func Resources(st store.Store, now func() time.Time) []tools.ResourceTemplate {
	d := newDeps(st, tools.PhonePolicy{}, now)
	return []tools.ResourceTemplate{{
		URITemplate: URITemplate,
		Name:        "conversation",
		Title:       "WhatsApp conversation",
		Description: "One customer's conversation with a business number: the newest messages (oldest first) with outbound statuses, unread and the 24-hour window; the same as WHATSAPP_GET_CONVERSATION.",
		MIMEType:    "application/json",
		Toolset:     Toolset,
		Read: func(ctx context.Context, uri string, _ map[string]string) (any, error) {
			phone, customer, err := ParseURI(uri)
			if err != nil {
				return nil, err
			}
			return d.read(ctx, phone, customer)
		},
	}}
}

// read is the resource's answer: the first page of the conversation of
// customer, a store key.
func (d *deps) read(ctx context.Context, phoneNumberID, customer string) (*ConversationData, error) {
	if d.st == nil {
		return nil, ErrNoStore
	}
	conv, found, err := d.st.Conversation(ctx, phoneNumberID, customer)
	if err != nil {
		return nil, &StoreError{err}
	}
	if found && conv.Customer != "" {
		customer = conv.Customer
	}
	return d.conversation(ctx, phoneNumberID, customer, conv, found, defaultMessages, cursor{})
}
