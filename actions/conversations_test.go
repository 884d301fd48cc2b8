package actions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

const (
	markRead  = "WHATSAPP_MARK_AS_READ"
	reaction  = "WHATSAPP_SEND_REACTION"
	tplStatus = "WHATSAPP_GET_TEMPLATE_STATUS"

	markBody       = `{"messaging_product":"whatsapp","status":"read","message_id":"` + wamid + `"}`
	markTypingBody = `{"messaging_product":"whatsapp","status":"read","message_id":"` + wamid + `","typing_indicator":{"type":"text"}}`
)

// checkBody asserts the only request is a POST of exactly body (byte for
// byte) to the messages edge.
func checkBody(t *testing.T, f *fakeGraph, body string) {
	t.Helper()
	got := f.Only(t)
	graphtest.CheckRequest(t, got, graphtest.Want{Method: "POST", Path: sendPath, Body: body})
	if string(got.Body) != body {
		t.Errorf("body, byte for byte:\n got  %s\n want %s", got.Body, body)
	}
}

// TestMarkAsRead: the receipt Meta documents, then the store's unread
// count, or a warning saying why there is none; the send stands either way.
func TestMarkAsRead(t *testing.T) {
	tests := []struct {
		name  string
		args  string
		store *fakeStore // nil: no store
		body  string
		data  string
		warn  string // a phrase of the one warning; "": none
	}{
		{"no store", bases[markRead], nil, markBody, `{"success":true}`, "no webhook store"},
		{"typing, known to the store", merge(bases[markRead], "typing_indicator", true),
			&fakeStore{known: true, conv: store.Conversation{Unread: 2}}, markTypingBody, `{"success":true,"unread":2}`, ""},
		{"all read", bases[markRead], &fakeStore{known: true}, markBody, `{"success":true,"unread":0}`, ""},
		{"typing false is no indicator", merge(bases[markRead], "typing_indicator", false), &fakeStore{known: true}, markBody, `{"success":true,"unread":0}`, ""},
		{"unknown to the store", bases[markRead], &fakeStore{}, markBody, `{"success":true}`, "holds no message"},
		{"store fails", bases[markRead], &fakeStore{markErr: errors.New(storeFailure)}, markBody, `{"success":true}`, "could not record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			if tt.store != nil {
				d.Store = tt.store
			}
			res := call(t, d, markRead, tt.args)
			if !res.Successful {
				t.Fatalf("failed: %s", res.JSON())
			}
			checkBody(t, f, tt.body)
			graphtest.JSONEqual(t, "data", graphtest.MustJSON(t, res.Data), []byte(tt.data))
			checkWarning(t, res.Warnings, tt.warn)
			if strings.Contains(string(res.JSON()), "secret-path") {
				t.Errorf("the store's error reached the result: %s", res.JSON())
			}
			if tt.store != nil && (len(tt.store.marked) != 1 || tt.store.marked[0] != pnID+"/"+wamid) {
				t.Errorf("store marked %v, want [%s/%s]", tt.store.marked, pnID, wamid)
			}
		})
	}
}

// TestMarkAsReadMetaRefuses: when Meta does not mark it, the store is left
// as it was.
func TestMarkAsReadMetaRefuses(t *testing.T) {
	for name, answer := range map[string]string{
		"error answer":     metaError(100, 0),
		"success is false": `{"success":false}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			status := 400
			if !strings.Contains(answer, "error") {
				status = 200
			}
			f.Route("POST "+sendPath, graphtest.Reply(status, answer))
			d := newDeps(t, f)
			st := &fakeStore{known: true}
			d.Store = st
			res := call(t, d, markRead, bases[markRead])
			if res.Successful {
				t.Fatalf("succeeded: %s", res.JSON())
			}
			if want := map[int]string{400: "FBTRACE100", 200: "not marked read"}[status]; !strings.Contains(res.Error, want) {
				t.Errorf("error lacks %q: %s", want, res.Error)
			}
			if len(st.marked) != 0 {
				t.Errorf("the store was marked %v although Meta did not mark it", st.marked)
			}
		})
	}
}

// TestMarkAsReadUpdatesUnread: on a real store, the inbox's unread count
// follows what was marked read at Meta.
func TestMarkAsReadUpdatesUnread(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		ts := storeNow.Add(-time.Hour).Unix()
		saveBatch(t, st, store.Batch{Inbound: []store.InboundMessage{
			inboundText("wamid.IN1", ts, "Hi"), inboundText("wamid.IN2", ts+1, "Do you ship to Lisbon?"), inboundText("wamid.IN3", ts+2, "And Porto?"),
		}})
		f := newFake(t)
		d := newDeps(t, f)
		d.Store = st
		res := call(t, d, markRead, `{"phone_number_id":"`+pnID+`","message_id":"wamid.IN2"}`)
		if !res.Successful || len(res.Warnings) > 0 {
			t.Fatalf("res = %s", res.JSON())
		}
		checkSubset(t, dataOf(t, res), `{"success":true,"unread":1}`)
		c, ok, err := st.Conversation(context.Background(), pnID, "16505551234")
		if err != nil || !ok || c.Unread != 1 {
			t.Errorf("conversation = %+v, %v, %v; want Unread 1", c, ok, err)
		}

		res = call(t, d, markRead, `{"phone_number_id":"`+pnID+`","message_id":"wamid.NOT-STORED"}`)
		if !res.Successful || !hasWarning(res.Warnings, "holds no message") {
			t.Errorf("unknown id: %s", res.JSON())
		}
		if _, ok := dataOf(t, res)["unread"]; ok {
			t.Errorf("unread given for a message the store does not know: %s", res.JSON())
		}
	})
}

// TestSendReaction: Meta's reaction body, no context, an empty emoji sent as
// such; the window warning applies.
func TestSendReaction(t *testing.T) {
	for _, emoji := range []string{"👍", "👍🏽", "👨‍👩‍👧", "🇵🇹", "❤️", ""} {
		t.Run(emoji, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			d.Window = &fakeWindow{}
			res := call(t, d, reaction, merge(bases[reaction], "emoji", emoji))
			if !res.Successful {
				t.Fatalf("failed: %s", res.JSON())
			}
			e, _ := json.Marshal(emoji)
			checkBody(t, f, envelopeBody(`"type":"reaction","reaction":{"message_id":"`+wamid+`","emoji":`+string(e)+`}`))
			checkSubset(t, dataOf(t, res), `{"message_id":"`+wamid+`","to":"`+toNorm+`","wa_id":"16505551234"}`)
			if !hasWarning(res.Warnings, "131047") {
				t.Errorf("no window warning for a customer who never wrote: %v", res.Warnings)
			}
		})
	}
}

// TestConversationActionsInvalid: every offence is named with its rule,
// and nothing reaches Meta.
func TestConversationActionsInvalid(t *testing.T) {
	tests := []struct {
		name, tool, args, field, ruleHas string
	}{
		{"mark: no message_id", markRead, merge(bases[markRead], "message_id", nil), "message_id", "required"},
		{"mark: blank message_id", markRead, merge(bases[markRead], "message_id", "  "), "message_id", ""},
		{"mark: message_id of 513", markRead, merge(bases[markRead], "message_id", strings.Repeat("w", 513)), "message_id", "512"},
		{"mark: no phone_number_id", markRead, merge(bases[markRead], "phone_number_id", nil), "phone_number_id", "required"},
		{"mark: a phone number for its id", markRead, merge(bases[markRead], "phone_number_id", "+16505551234"), "phone_number_id", "WHATSAPP_GET_PHONE_NUMBERS"},
		{"mark: typing_indicator a string", markRead, merge(bases[markRead], "typing_indicator", "yes"), "typing_indicator", "boolean"},
		{"mark: misspelt input", markRead, merge(bases[markRead], "typing", true), "typing", "known inputs"},
		{"react: no emoji", reaction, merge(bases[reaction], "emoji", nil), "emoji", `"" to remove`},
		{"react: null emoji", reaction, merge(bases[reaction], "emoji", raw(`null`)), "emoji", "required"},
		{"react: text", reaction, merge(bases[reaction], "emoji", "ok"), "emoji", "exactly one emoji"},
		{"react: two emoji", reaction, merge(bases[reaction], "emoji", "👍👍"), "emoji", "exactly one emoji"},
		{"react: emoji and a space", reaction, merge(bases[reaction], "emoji", "👍 "), "emoji", "exactly one emoji"},
		{"react: a lone skin tone", reaction, merge(bases[reaction], "emoji", "🏽"), "emoji", "exactly one emoji"},
		{"react: 17 characters", reaction, merge(bases[reaction], "emoji", strings.Repeat("👍", 17)), "emoji", "16"},
		{"react: emoji a number", reaction, merge(bases[reaction], "emoji", 1), "emoji", "string"},
		{"react: no message_id", reaction, merge(bases[reaction], "message_id", nil), "message_id", "required"},
		{"react: blank message_id", reaction, merge(bases[reaction], "message_id", ""), "message_id", "required"},
		{"react: to_number without country code", reaction, merge(bases[reaction], "to_number", "12345"), "to_number", "country code"},
		{"react: no to_number", reaction, merge(bases[reaction], "to_number", nil), "to_number", "required"},
		{"react: a reaction cannot quote", reaction, merge(bases[reaction], "reply_to_message_id", wamid), "reply_to_message_id", "known inputs"},
		{"status: fields with from_store", tplStatus, merge(bases[tplStatus], "from_store", true, "fields", "status"), "fields", "from_store"},
		{"status: from_store a string", tplStatus, merge(bases[tplStatus], "from_store", "yes"), "from_store", "boolean"},
	}
	f := newFake(t)
	d := newDeps(t, f)
	d.Store = &fakeStore{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Reset()
			checkInvalid(t, call(t, d, tt.tool, tt.args), f, tt.field, tt.ruleHas)
		})
	}
	t.Run("every offence at once", func(t *testing.T) {
		f.Reset()
		res := call(t, d, reaction, `{"to_number":"12","phone_number_id":"x","message_id":"","emoji":"ok"}`)
		for _, field := range []string{"to_number", "phone_number_id", "message_id", "emoji"} {
			checkInvalid(t, res, f, field, "")
		}
	})
	t.Run("from_store without a store", func(t *testing.T) {
		f.Reset()
		d := newDeps(t, f)
		checkInvalid(t, call(t, d, tplStatus, merge(bases[tplStatus], "from_store", true)), f, "from_store", "no")
	})
}

// sendCase is a send and what the store must keep of it.
type sendCase struct {
	tool, args       string
	msgType, context string
	text             []string // phrases of the stored text
}

var recordedSends = []sendCase{
	{"WHATSAPP_SEND_MESSAGE", textArgs, "text", "", []string{"Hello there"}},
	{"WHATSAPP_SEND_MESSAGE", merge(textArgs, "message_id", wamid), "text", wamid, []string{"Hello there"}},
	{"WHATSAPP_SEND_REPLY", bases["WHATSAPP_SEND_REPLY"], "text", wamid, []string{"hi"}},
	{"WHATSAPP_SEND_MEDIA", merge(bases["WHATSAPP_SEND_MEDIA"], "caption", "The best succulent?"), "image", "", []string{"The best succulent?"}},
	{"WHATSAPP_SEND_MEDIA_BY_ID", merge(bases["WHATSAPP_SEND_MEDIA_BY_ID"], "media_type", "document", "caption", "Your invoice", "filename", "invoice.pdf", "reply_to_message_id", wamid),
		"document", wamid, []string{"Your invoice"}},
	{"WHATSAPP_SEND_LOCATION", bases["WHATSAPP_SEND_LOCATION"], "location", "", []string{"Philz", "101 Forest Ave"}},
	{"WHATSAPP_SEND_CONTACTS", bases["WHATSAPP_SEND_CONTACTS"], "contacts", "", []string{"Ana"}},
	{"WHATSAPP_SEND_INTERACTIVE_BUTTONS", bases["WHATSAPP_SEND_INTERACTIVE_BUTTONS"], "interactive", "", []string{"Coming?", "Yes", "No"}},
	{"WHATSAPP_SEND_INTERACTIVE_LIST", bases["WHATSAPP_SEND_INTERACTIVE_LIST"], "interactive", "", []string{"Pick", "One", "Two"}},
	{"WHATSAPP_SEND_TEMPLATE_MESSAGE", merge(bases["WHATSAPP_SEND_TEMPLATE_MESSAGE"], "template_name", "order_update",
		"components", raw(`[{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"#1234"}]}]`)),
		"template", "", []string{"order_update", "Ana", "#1234"}},
	{"WHATSAPP_SEND_REACTION", bases["WHATSAPP_SEND_REACTION"], "reaction", wamid, []string{"👍"}},
	{"WHATSAPP_SEND_REACTION", merge(bases["WHATSAPP_SEND_REACTION"], "emoji", ""), "reaction", wamid, nil},
}

// checkRecorded asserts o is the send of c that Meta accepted as id, with
// body its request body.
func checkRecorded(t *testing.T, c sendCase, o store.OutboundMessage, id string, body []byte) {
	t.Helper()
	if o.PhoneNumberID != pnID || o.MessageID != id || o.To != "16505551234" || o.Type != c.msgType ||
		o.ContextID != c.context || o.Timestamp != storeNow.Unix() || o.Source != store.SourceAPI {
		t.Errorf("recorded %+v; want phone %s, id %s, to 16505551234, type %s, context %q, time %d, source api",
			o, pnID, id, c.msgType, c.context, storeNow.Unix())
	}
	for _, p := range c.text {
		if !strings.Contains(o.Text, p) {
			t.Errorf("recorded text %q lacks %q", o.Text, p)
		}
	}
	if c.text == nil && o.Text != "" {
		t.Errorf("recorded text %q, want none", o.Text)
	}
	if !bytes.Equal(o.Raw, body) {
		t.Errorf("recorded raw, byte for byte:\n got  %s\n want %s (the request body)", o.Raw, body)
	}
}

// TestSendsAreRecorded: every send Meta accepts is kept, with the request
// body as sent.
func TestSendsAreRecorded(t *testing.T) {
	for _, c := range recordedSends {
		t.Run(c.tool+" "+c.msgType, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			st := &fakeStore{}
			d.Store = st
			res := call(t, d, c.tool, c.args)
			if !res.Successful || len(res.Warnings) > 0 {
				t.Fatalf("res = %s", res.JSON())
			}
			out := st.outbound()
			if len(out) != 1 {
				t.Fatalf("%d messages recorded, want 1", len(out))
			}
			checkRecorded(t, c, out[0], wamid, f.Only(t).Body)
		})
	}
}

// TestEverySendRecords: every tool that takes to_number records what it
// sent; no other tool writes to the store but WHATSAPP_MARK_AS_READ's mark.
func TestEverySendRecords(t *testing.T) {
	f := newFake(t)
	d := newDeps(t, f)
	for _, tl := range allTools(d) {
		st := &fakeStore{known: true}
		d.Store = st
		res := tl.Call(t.Context(), tl.Example)
		if !res.Successful {
			t.Errorf("%s: %s", tl.Name, res.Error)
			continue
		}
		want := 0
		if strings.Contains(string(tl.InputSchema), `"to_number"`) {
			want = 1
		}
		if n := len(st.outbound()); n != want {
			t.Errorf("%s recorded %d messages, want %d", tl.Name, n, want)
		}
	}
}

// TestRecordingFailureKeepsTheSend: Meta sent it, so a store that cannot
// record it only warns, without its error.
func TestRecordingFailureKeepsTheSend(t *testing.T) {
	f := newFake(t)
	d := newDeps(t, f)
	d.Store = &fakeStore{saveErr: errors.New(storeFailure)}
	for _, c := range recordedSends {
		f.Reset()
		res := call(t, d, c.tool, c.args)
		if !res.Successful || dataOf(t, res)["message_id"] != wamid {
			t.Errorf("%s: %s", c.tool, res.JSON())
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "history may miss it") || !strings.Contains(res.Warnings[0], wamid) {
			t.Errorf("%s: warnings %v, want one saying the history may miss %s", c.tool, res.Warnings, wamid)
		}
		if strings.Contains(string(res.JSON()), "secret-path") {
			t.Errorf("%s: the store's error reached the result: %s", c.tool, res.JSON())
		}
		if n := f.Count(); n != 1 {
			t.Errorf("%s: %d requests, want 1", c.tool, n)
		}
	}
}

// TestFailedSendNotRecorded: what Meta refused was not sent.
func TestFailedSendNotRecorded(t *testing.T) {
	f := newFake(t)
	f.Route("POST "+sendPath, graphtest.Reply(400, metaError(131026, 0)))
	d := newDeps(t, f)
	st := &fakeStore{}
	d.Store = st
	if res := call(t, d, "WHATSAPP_SEND_MESSAGE", textArgs); res.Successful {
		t.Fatalf("succeeded: %s", res.JSON())
	}
	if n := len(st.outbound()); n != 0 {
		t.Errorf("%d messages recorded of a refused send", n)
	}
}

// TestSendsRecordedInStore: every send type lands in a real store's
// history, in order, as sent.
func TestSendsRecordedInStore(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		f := newFake(t)
		uniqueSends(f)
		d := newDeps(t, f)
		d.Store = st
		for _, c := range recordedSends {
			if res := call(t, d, c.tool, c.args); !res.Successful || len(res.Warnings) > 0 {
				t.Fatalf("%s: %s", c.tool, res.JSON())
			}
		}
		msgs, err := st.Messages(context.Background(), store.HistoryQuery{PhoneNumberID: pnID, Customer: "16505551234"})
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(msgs) // newest first: in the order sent
		reqs := f.Requests()
		if len(msgs) != len(recordedSends) || len(reqs) != len(recordedSends) {
			t.Fatalf("%d messages stored and %d sent, want %d", len(msgs), len(reqs), len(recordedSends))
		}
		for i, c := range recordedSends {
			m := msgs[i]
			if m.Direction != store.DirectionOut || m.WaID != "16505551234" {
				t.Errorf("message %d: direction %s, wa_id %s", i, m.Direction, m.WaID)
			}
			checkRecorded(t, c, store.OutboundMessage{PhoneNumberID: m.PhoneNumberID, MessageID: m.MessageID, To: m.WaID, Type: m.Type,
				Timestamp: m.Timestamp, Text: m.Text, ContextID: m.ContextID, Source: m.Source, Raw: m.Raw},
				"wamid.SENT"+itoa(i+1), reqs[i].Body)
		}
	})
}

// templateChange is a message_template_status_update webhook as stored.
func templateChange(key, event, reason string) store.Change {
	return store.Change{WABAID: wabaID, Field: "message_template_status_update", Subject: templateID, Key: key, ReceivedAt: storeNow,
		Raw: []byte(`{"event":"` + event + `","message_template_id":` + templateID + `,"message_template_name":"order_update","message_template_language":"en_US","reason":"` + reason + `"}`)}
}

// TestTemplateStatusWebhookUpdate: Meta's answer comes with the store's
// latest status webhook, and a warning when their statuses disagree.
func TestTemplateStatusWebhookUpdate(t *testing.T) {
	update := func(event, reason string) *fakeStore {
		return &fakeStore{change: templateChange("k", event, reason), hasChange: true}
	}
	tests := []struct {
		name  string
		store *fakeStore
		data  string // data.webhook_update; "" none
		warn  string
	}{
		{"no store", nil, "", ""},
		{"no webhook stored", &fakeStore{}, "", ""},
		{"agrees", update("APPROVED", "NONE"), `{"event":"APPROVED","reason":"NONE","received_at":"2026-03-01T12:00:00Z"}`, ""},
		{"disagrees", update("PAUSED", "LOW_QUALITY"), `{"event":"PAUSED","reason":"LOW_QUALITY","received_at":"2026-03-01T12:00:00Z"}`, "says PAUSED"},
		{"a webhook-only event is no status", update("FLAGGED", ""), `{"event":"FLAGGED","received_at":"2026-03-01T12:00:00Z"}`, ""},
		{"store fails", &fakeStore{changeErr: errors.New(storeFailure)}, "", "could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			if tt.store != nil {
				d.Store = tt.store
			}
			res := call(t, d, tplStatus, bases[tplStatus])
			if !res.Successful {
				t.Fatalf("failed: %s", res.JSON())
			}
			if f.Count() != 1 {
				t.Errorf("%d requests, want Meta asked once", f.Count())
			}
			data := dataOf(t, res)
			checkSubset(t, data, templateJSON)
			if tt.data == "" {
				if u, ok := data["webhook_update"]; ok {
					t.Errorf("webhook_update = %v, want none", u)
				}
			} else {
				graphtest.JSONEqual(t, "webhook_update", graphtest.MustJSON(t, data["webhook_update"]), []byte(tt.data))
			}
			checkWarning(t, res.Warnings, tt.warn)
			if strings.Contains(string(res.JSON()), "secret-path") {
				t.Errorf("the store's error reached the result: %s", res.JSON())
			}
			if tt.store != nil && (len(tt.store.asked) != 1 || tt.store.asked[0] != "message_template_status_update/"+templateID) {
				t.Errorf("store asked %v", tt.store.asked)
			}
		})
	}
}

// TestTemplateStatusFromStore: from_store serves the real store's latest
// status webhook and sends Meta nothing.
func TestTemplateStatusFromStore(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		f := newFake(t)
		d := newDeps(t, f)
		d.Store = st
		fromStore := merge(bases[tplStatus], "from_store", true)

		res := call(t, d, tplStatus, fromStore)
		if !res.Successful || !hasWarning(res.Warnings, "no status webhook") {
			t.Errorf("nothing stored: %s", res.JSON())
		}
		checkSubset(t, dataOf(t, res), `{"id":"`+templateID+`"}`)

		saveBatch(t, st, store.Batch{Changes: []store.Change{templateChange("k1", "APPROVED", "NONE")}})
		saveBatch(t, st, store.Batch{Changes: []store.Change{templateChange("k2", "PAUSED", "LOW_QUALITY")}})
		res = call(t, d, tplStatus, fromStore)
		if !res.Successful || len(res.Warnings) > 0 {
			t.Fatalf("res = %s", res.JSON())
		}
		graphtest.JSONEqual(t, "data", graphtest.MustJSON(t, res.Data), []byte(`{"id":"`+templateID+`","name":"order_update","language":"en_US",`+
			`"webhook_update":{"event":"PAUSED","reason":"LOW_QUALITY","received_at":"2026-03-01T12:00:00Z"}}`))
		if n := f.Count(); n != 0 {
			t.Errorf("%d requests reached Meta with from_store, want 0", n)
		}

		// Asking Meta, which still says APPROVED: both, and the warning.
		res = call(t, d, tplStatus, bases[tplStatus])
		if !res.Successful || !hasWarning(res.Warnings, "says PAUSED") {
			t.Errorf("res = %s", res.JSON())
		}
		checkSubset(t, dataOf(t, res), `{"status":"APPROVED","webhook_update":{"event":"PAUSED","reason":"LOW_QUALITY","received_at":"2026-03-01T12:00:00Z"}}`)
		if n := f.Count(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// TestConversationActionsBudget: each new tool costs at most 1,400 bytes of
// tools/list (description, inputSchema and outputSchema, as mcp-go writes
// them).
func TestConversationActionsBudget(t *testing.T) {
	s, err := server.New(actions.ConversationActions(&actions.Deps{}), server.Options{About: catalog.About})
	if err != nil {
		t.Fatal(err)
	}
	resp := s.MCP().HandleMessage(context.Background(), json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, _ := json.Marshal(resp)
	var r struct {
		Result struct {
			Tools []struct {
				Name         string          `json:"name"`
				Description  json.RawMessage `json:"description"`
				InputSchema  json.RawMessage `json:"inputSchema"`
				OutputSchema json.RawMessage `json:"outputSchema"`
			} `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Result.Tools) != 2 {
		t.Fatalf("tools/list: %s (%v)", b, err)
	}
	for _, tl := range r.Result.Tools {
		n := len(tl.Description) + len(tl.InputSchema) + len(tl.OutputSchema)
		t.Logf("%s: %d bytes of tools/list", tl.Name, n)
		if n > 1400 {
			t.Errorf("%s costs %d bytes of tools/list, over 1,400", tl.Name, n)
		}
	}
}
