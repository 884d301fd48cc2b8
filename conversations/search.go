package conversations

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// SearchMessagesInput is the input of WHATSAPP_SEARCH_MESSAGES.
type SearchMessagesInput struct {
	PhoneNumberID string `json:"phone_number_id" validate:"required,graphid"`
	Query         string `json:"query" validate:"required,notblank,max=200" jsonschema_description:"Words that must all occur (or start a word)."`
	ToNumber      string `json:"to_number,omitempty" validate:"max=160"`
	MaxResults    *int   `json:"max_results,omitempty" validate:"omitempty,min=1,max=50" jsonschema:"default=10"`
	Cursor        string `json:"cursor,omitempty" validate:"max=512"`

	customer customer // to_number as read, set by Prepare
	before   cursor   // the cursor read, set by Check
}

// Normalize trims what models sometimes pad.
func (in *SearchMessagesInput) Normalize() {
	in.Query, in.ToNumber, in.Cursor = strings.TrimSpace(in.Query), strings.TrimSpace(in.ToNumber), strings.TrimSpace(in.Cursor)
}

// Check reads the cursor, and refuses a query with no word to look for:
// the search matches words, and punctuation alone is none.
func (in *SearchMessagesInput) Check() []tools.FieldError {
	var errs []tools.FieldError
	in.before, errs = checkCursor("cursor", in.Cursor, cursorSearch, in.PhoneNumberID)
	if strings.TrimSpace(in.Query) != "" && !strings.ContainsFunc(in.Query, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
		errs = append(errs, tools.FieldError{Field: "query", Rule: "must contain a word (letters or digits) to search for; punctuation alone matches nothing (got " + tools.Echo(in.Query) + ")"})
	}
	return errs
}

// defaultHits is max_results when omitted; contextMessages is how many
// messages a hit comes with on each side.
const (
	defaultHits     = 10
	contextMessages = 2
)

// SearchData is data of WHATSAPP_SEARCH_MESSAGES.
type SearchData struct {
	Messages   []Hit  `json:"messages" jsonschema_description:"The messages found, newest first"`
	NextCursor string `json:"next_cursor,omitempty" jsonschema_description:"With has_more: pass as cursor for older hits"`
	HasMore    bool   `json:"has_more"`
}

// Hit is one message found, with its customer and the messages around it.
type Hit struct {
	MessageView
	WaID        string     `json:"wa_id,omitempty" jsonschema:"-"`
	UserID      string     `json:"user_id,omitempty" jsonschema:"-"`
	ProfileName string     `json:"profile_name,omitempty" jsonschema:"-"`
	Context     HitContext `json:"context"`
}

// HitContext is the conversation around a hit, oldest first on each side.
type HitContext struct {
	Before []MessageView `json:"before" jsonschema:"-"`
	After  []MessageView `json:"after" jsonschema:"-"`
}

// around reads the messages of m's conversation just before and just after it.
func (d *deps) around(ctx context.Context, m store.Message) (HitContext, error) {
	q := store.HistoryQuery{PhoneNumberID: m.PhoneNumberID, Customer: m.Customer, Before: m.Pos(), Limit: contextMessages}
	before, err := d.st.Messages(ctx, q)
	if err != nil {
		return HitContext{}, &StoreError{err}
	}
	slices.Reverse(before) // newest first from Before
	q.Before, q.After = store.Position{}, m.Pos()
	after, err := d.st.Messages(ctx, q)
	if err != nil {
		return HitContext{}, &StoreError{err}
	}
	return HitContext{Before: viewsOf(before), After: viewsOf(after)}, nil
}

func viewsOf(msgs []store.Message) []MessageView {
	out := make([]MessageView, len(msgs))
	for i, m := range msgs {
		out[i] = View(m)
	}
	return out
}

func searchMessages(d *deps) tools.Tool {
	return tools.New(tools.Def[SearchMessagesInput, *SearchData]{
		Name:    "WHATSAPP_SEARCH_MESSAGES",
		Title:   "Search messages",
		Toolset: Toolset,
		Hints:   []string{hint},
		Description: "Full-text search of one business number's stored messages, both directions, newest first. " +
			"Each hit comes with its customer (wa_id, user_id) and context: the 2 messages before and after it. " +
			"to_number limits it to one conversation; has_more: pass data.next_cursor as cursor.",
		Annotations: storeRead,
		Example:     `{"phone_number_id":"106540352242922","query":"refund order","max_results":10}`,
		Prepare: func(ctx context.Context, in *SearchMessagesInput) []tools.FieldError {
			if in.ToNumber == "" {
				return nil
			}
			var errs []tools.FieldError
			in.customer, errs = readCustomer(d.phones, in.ToNumber)
			return errs
		},
		Handler: func(ctx context.Context, in *SearchMessagesInput) (*SearchData, error) {
			if d.st == nil {
				return nil, ErrNoStore
			}
			q := store.SearchQuery{PhoneNumberID: in.PhoneNumberID, Query: in.Query, Before: in.before.seq}
			if in.ToNumber != "" {
				_, key, _, err := d.resolve(ctx, in.PhoneNumberID, in.customer)
				if err != nil {
					return nil, err
				}
				q.Customer = key
			}
			limit := limitOf(in.MaxResults, defaultHits)
			q.Limit = limit + 1 // one more tells has_more
			hits, err := d.st.Search(ctx, q)
			if err != nil {
				return nil, &StoreError{err}
			}
			out := &SearchData{Messages: make([]Hit, 0, min(len(hits), limit))}
			if len(hits) > limit {
				hits, out.HasMore = hits[:limit], true
				out.NextCursor = cursor{tool: cursorSearch, phone: in.PhoneNumberID, seq: hits[limit-1].Seq}.String()
			}
			for _, m := range hits {
				around, err := d.around(ctx, m)
				if err != nil {
					return nil, err
				}
				out.Messages = append(out.Messages, Hit{MessageView: View(m), WaID: m.WaID, UserID: m.UserID, ProfileName: m.ProfileName, Context: around})
			}
			return out, nil
		},
	})
}
