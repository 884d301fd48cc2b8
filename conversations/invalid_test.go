package conversations_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// nextCursor calls tl with args and returns its data.next_cursor, which the
// fixture makes non-empty.
func nextCursor(t *testing.T, tl tools.Tool, args string) string {
	t.Helper()
	d, _ := ok[struct {
		NextCursor string `json:"next_cursor"`
	}](t, tl, args)
	if d.NextCursor == "" {
		t.Fatalf("%s %s: no next_cursor", tl.Name, args)
	}
	return d.NextCursor
}

// TestInvalidInput: every bad input is refused before the store is read,
// naming the field and the rule it breaks.
func TestInvalidInput(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	seed(t, st)
	list, get, search := toolOf(t, st, toolList, tools.PhonePolicy{}), toolOf(t, st, toolGet, tools.PhonePolicy{}), toolOf(t, st, toolSearch, tools.PhonePolicy{})
	inboxCursor := nextCursor(t, list, `{"phone_number_id":"`+phone+`","max_results":1}`)
	inboxCursor2 := nextCursor(t, list, `{"phone_number_id":"`+phone+`","max_results":1,"cursor":"`+inboxCursor+`"}`)
	historyCursor := nextCursor(t, get, `{"phone_number_id":"`+phone+`","to_number":"`+alice+`","max_results":1}`)
	searchCursor := nextCursor(t, search, `{"phone_number_id":"`+phone+`","query":"ship","max_results":1}`)
	// A cursor of the other number: Alice wrote to it too.
	save(t, st, store.Batch{Inbound: []store.InboundMessage{inText(phone2, "wamid.x2", bob, "Bob", ago(0), "hi")}})
	otherNumber := nextCursor(t, list, `{"phone_number_id":"`+phone2+`","max_results":1}`)

	long := strings.Repeat("a", 513)
	cases := []struct {
		name  string
		tool  tools.Tool
		args  string
		field string // every offending field, with a part of its rule
		rule  string
	}{
		{"list: no phone_number_id", list, `{}`, "phone_number_id", "is required"},
		{"list: a phone number as phone_number_id", list, `{"phone_number_id":"+16505551234"}`, "phone_number_id", "numeric Meta id"},
		{"list: max_results 0", list, `{"phone_number_id":"` + phone + `","max_results":0}`, "max_results", "at least 1"},
		{"list: max_results 101", list, `{"phone_number_id":"` + phone + `","max_results":101}`, "max_results", "at most 100"},
		{"list: max_results a string", list, `{"phone_number_id":"` + phone + `","max_results":"5"}`, "max_results", "integer"},
		{"list: unread_only a string", list, `{"phone_number_id":"` + phone + `","unread_only":"yes"}`, "unread_only", "boolean"},
		{"list: unknown field", list, `{"phone_number_id":"` + phone + `","unread":true}`, "unread", ""},
		{"list: not a cursor", list, `{"phone_number_id":"` + phone + `","cursor":"abc"}`, "cursor", "is not a cursor returned by WHATSAPP_LIST_CONVERSATIONS"},
		{"list: cursor too long", list, `{"phone_number_id":"` + phone + `","cursor":"` + long + `"}`, "cursor", "at most 512"},
		{"list: search's cursor", list, `{"phone_number_id":"` + phone + `","cursor":"` + searchCursor + `"}`, "cursor", "was returned by WHATSAPP_SEARCH_MESSAGES, not WHATSAPP_LIST_CONVERSATIONS"},
		{"list: another number's cursor", list, `{"phone_number_id":"` + phone + `","cursor":"` + otherNumber + `"}`, "cursor", "was returned for phone_number_id " + phone2},

		{"get: nothing", get, `{}`, "phone_number_id", "is required"},
		{"get: no to_number", get, `{"phone_number_id":"` + phone + `"}`, "to_number", "is required"},
		{"get: to_number a name", get, `{"phone_number_id":"` + phone + `","to_number":"Alice"}`, "to_number", "wa_id (digits"},
		{"get: to_number a malformed BSUID", get, `{"phone_number_id":"` + phone + `","to_number":"US-1349120865530"}`, "to_number", "BSUID"},
		{"get: to_number too long", get, `{"phone_number_id":"` + phone + `","to_number":"US.` + strings.Repeat("1", 160) + `"}`, "to_number", "at most 160"},
		{"get: to_number a national number", get, `{"phone_number_id":"` + phone + `","to_number":"(650) 555-1234"}`, "to_number", "send +16505551234"},
		{"get: to_number too short", get, `{"phone_number_id":"` + phone + `","to_number":"+1 650"}`, "to_number", "too short"},
		{"get: max_results 0", get, `{"phone_number_id":"` + phone + `","to_number":"` + alice + `","max_results":0}`, "max_results", "at least 1"},
		{"get: max_results 101", get, `{"phone_number_id":"` + phone + `","to_number":"` + alice + `","max_results":101}`, "max_results", "at most 100"},
		{"get: not a cursor", get, `{"phone_number_id":"` + phone + `","to_number":"` + alice + `","before":"wamid.a1"}`, "before", "is not a cursor returned by WHATSAPP_GET_CONVERSATION"},
		{"get: the inbox's cursor", get, `{"phone_number_id":"` + phone + `","to_number":"` + alice + `","before":"` + inboxCursor2 + `"}`, "before", "was returned by WHATSAPP_LIST_CONVERSATIONS"},
		{"get: another number's cursor", get, `{"phone_number_id":"` + phone2 + `","to_number":"` + alice + `","before":"` + historyCursor + `"}`, "before", "was returned for phone_number_id " + phone},
		{"get: another conversation's cursor", get, `{"phone_number_id":"` + phone + `","to_number":"` + bob + `","before":"` + historyCursor + `"}`, "before", "was returned for another conversation"},

		{"search: nothing", search, `{}`, "phone_number_id", "is required"},
		{"search: no query", search, `{"phone_number_id":"` + phone + `"}`, "query", "is required"},
		{"search: blank query", search, `{"phone_number_id":"` + phone + `","query":"   "}`, "query", "is required"},
		{"search: punctuation only", search, `{"phone_number_id":"` + phone + `","query":"?!*"}`, "query", "must contain a word"},
		{"search: query too long", search, `{"phone_number_id":"` + phone + `","query":"` + strings.Repeat("word ", 40) + `x"}`, "query", "at most 200"},
		{"search: max_results 51", search, `{"phone_number_id":"` + phone + `","query":"ship","max_results":51}`, "max_results", "at most 50"},
		{"search: max_results 0", search, `{"phone_number_id":"` + phone + `","query":"ship","max_results":0}`, "max_results", "at least 1"},
		{"search: to_number a name", search, `{"phone_number_id":"` + phone + `","query":"ship","to_number":"Alice"}`, "to_number", "wa_id (digits"},
		{"search: the history's cursor", search, `{"phone_number_id":"` + phone + `","query":"ship","cursor":"` + historyCursor + `"}`, "cursor", "was returned by WHATSAPP_GET_CONVERSATION"},
		{"search: another number's cursor", search, `{"phone_number_id":"` + phone2 + `","query":"ship","cursor":"` + searchCursor + `"}`, "cursor", "was returned for phone_number_id " + phone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := call(t, c.tool, c.args)
			if env.Successful || env.Kind != tools.KindInvalidInput {
				t.Fatalf("%s: successful %v kind %q: %s", c.args, env.Successful, env.Kind, env.Error)
			}
			if !strings.Contains(env.Error, "`"+c.field+"`") || !strings.Contains(env.Error, c.rule) {
				t.Errorf("error %q does not name `%s` and %q", env.Error, c.field, c.rule)
			}
		})
	}

	// Several offences at once are named together.
	env := call(t, get, `{"phone_number_id":"x","to_number":"Alice","max_results":0}`)
	for _, f := range []string{"`phone_number_id`", "`to_number`", "`max_results`"} {
		if !strings.Contains(env.Error, f) {
			t.Errorf("error %q does not name %s", env.Error, f)
		}
	}
}

// TestMalformedURIs: a resource read of a URI that is no conversation's
// says what is wrong, as a client's error.
func TestMalformedURIs(t *testing.T) {
	read := conversations.Resources(openStore(t, filepath.Join(t.TempDir(), "events.db")), fixedClock)[0].Read
	for _, c := range []struct{ uri, want string }{
		{"https://106540352242922/conversations/16505551234", "is not a conversation resource"},
		{"whatsapp:106540352242922/conversations/16505551234", "is not a conversation resource"},
		{"whatsapp://106540352242922/conversations/16505551234?x=1", "is not a conversation resource"},
		{"whatsapp://106540352242922/messages/16505551234", "no /conversations/{wa_id} path"},
		{"whatsapp://106540352242922/conversations/", "no /conversations/{wa_id} path"},
		{"whatsapp://106540352242922/conversations/1650/5551234", "no /conversations/{wa_id} path"},
		{"whatsapp://+16505551234/conversations/16505551234", "`phone_number_id` must be the numeric id"},
		{"whatsapp://106540352242922/conversations/Alice", "`wa_id` must be the customer's wa_id"},
		{"whatsapp://106540352242922/conversations/%2B16505551234", "`wa_id` must be the customer's wa_id"},
		{"whatsapp://106540352242922/conversations/%zz", "is not a conversation resource"},
	} {
		_, err := read(context.Background(), c.uri, nil)
		var in *tools.InputError
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.uri, err, c.want)
		} else if !errors.As(err, &in) {
			t.Errorf("%s: %T is not an input error", c.uri, err)
		}
	}
}

// TestURIRoundTrip: URI and ParseURI agree, escaping what a path segment
// cannot hold and leaving a BSUID's dots.
func TestURIRoundTrip(t *testing.T) {
	for _, c := range []struct{ customer, uri string }{
		{"16505551234", "whatsapp://106540352242922/conversations/16505551234"},
		{"US.13491208655302741918", "whatsapp://106540352242922/conversations/US.13491208655302741918"},
	} {
		uri := conversations.URI(phone, c.customer)
		if uri != c.uri {
			t.Errorf("URI(%s) = %s, want %s", c.customer, uri, c.uri)
		}
		p, cust, err := conversations.ParseURI(uri)
		if err != nil || p != phone || cust != c.customer {
			t.Errorf("ParseURI(%s) = %s, %s, %v", uri, p, cust, err)
		}
	}
	if got := conversations.URI(phone, "a b/c"); got != "whatsapp://106540352242922/conversations/a%20b%2Fc" {
		t.Errorf("URI escapes %q as %s", "a b/c", got)
	}
}
