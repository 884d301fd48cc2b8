package conversations_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

const (
	phone  = "106540352242922"
	phone2 = "106540352242933"
	waba   = "102290129340398"

	toolList   = "WHATSAPP_LIST_CONVERSATIONS"
	toolGet    = "WHATSAPP_GET_CONVERSATION"
	toolSearch = "WHATSAPP_SEARCH_MESSAGES"
)

// clockNow is the fixed time every test reads the window by.
var clockNow = time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return clockNow }

// ago is a unix timestamp d before clockNow.
func ago(d time.Duration) int64 { return clockNow.Add(-d).Unix() }

// engines runs fn on a fresh SQLite store in t.TempDir() and, when
// WHATSAPP_TEST_POSTGRES_DSN is set, on a fresh PostgreSQL schema.
func engines(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openStore(t, filepath.Join(t.TempDir(), "events.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openStore(t, storetest.PostgresDSN(t)))
	})
}

func openStore(t *testing.T, location string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), location, store.WithClock(fixedClock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func save(t *testing.T, st store.Store, b store.Batch) {
	t.Helper()
	if _, _, err := st.Save(context.Background(), b); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// inText is a customer's text message as Meta's messages[] element carries it.
func inText(phoneID, id, from, name string, ts int64, body string) store.InboundMessage {
	raw := fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":%s}}`, from, id, ts, jsonString(body))
	return store.InboundMessage{PhoneNumberID: phoneID, MessageID: id, From: from, ProfileName: name,
		Type: "text", Timestamp: ts, Text: body, Raw: json.RawMessage(raw)}
}

// inReaction is a customer's reaction, which opens no window.
func inReaction(phoneID, id, from string, ts int64, to, emoji string) store.InboundMessage {
	raw := fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"reaction","reaction":{"message_id":"%s","emoji":%s}}`, from, id, ts, to, jsonString(emoji))
	return store.InboundMessage{PhoneNumberID: phoneID, MessageID: id, From: from, Type: "reaction", Timestamp: ts,
		Text: emoji, ContextID: to, Raw: json.RawMessage(raw)}
}

// inImage is a customer's image with a caption.
func inImage(phoneID, id, from string, ts int64, caption string) store.InboundMessage {
	raw := fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"image","image":{"caption":%s,"mime_type":"image/jpeg","sha256":"Wf9FZ0xsO9Q2Yd0HJ4YVKL8lqT1y0d1Lr6mHk3W8Ylk=","id":"1013859600285441"}}`, from, id, ts, jsonString(caption))
	return store.InboundMessage{PhoneNumberID: phoneID, MessageID: id, From: from, Type: "image", Timestamp: ts,
		Text: caption, Raw: json.RawMessage(raw)}
}

// outText is a text this server sent: Raw is the request body.
func outText(phoneID, id, to string, ts int64, body string) store.OutboundMessage {
	raw := fmt.Sprintf(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+%s","type":"text","text":{"body":%s}}`, to, jsonString(body))
	return store.OutboundMessage{PhoneNumberID: phoneID, MessageID: id, To: to, Type: "text", Timestamp: ts,
		Text: body, Source: store.SourceAPI, Raw: json.RawMessage(raw)}
}

// status is a statuses[] element for a message we sent; extra goes inside it.
func status(phoneID, id, st, to string, ts int64, extra string) store.StatusEvent {
	raw := fmt.Sprintf(`{"id":"%s","status":"%s","timestamp":"%d","recipient_id":"%s"%s}`, id, st, ts, to, extra)
	return store.StatusEvent{WABAID: waba, PhoneNumberID: phoneID, DisplayPhoneNumber: "15550783881",
		MessageID: id, Status: st, Timestamp: ts, RecipientID: to, Raw: json.RawMessage(raw)}
}

const err131047 = `,"errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"href":"https:\/\/developers.facebook.com\/docs\/whatsapp\/cloud-api\/support\/error-codes\/"}]`

func toolOf(t testing.TB, st store.Store, name string, phones tools.PhonePolicy) tools.Tool {
	t.Helper()
	for _, tl := range conversations.Tools(st, phones, fixedClock) {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("conversations.Tools has no %s", name)
	return tools.Tool{}
}

// envelope is a tool result as a client reads it.
type envelope struct {
	Successful bool            `json:"successful"`
	Data       json.RawMessage `json:"data"`
	Error      string          `json:"error"`
	Warnings   []string        `json:"warnings"`
	Kind       tools.ErrorKind `json:"-"`
}

// call calls the tool with args (JSON text, or a value to marshal) and
// decodes the envelope from its JSON, as a client would.
func call(t testing.TB, tl tools.Tool, args any) envelope {
	t.Helper()
	raw, ok := args.(string)
	if !ok {
		b, err := json.Marshal(args)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	res := tl.Call(context.Background(), json.RawMessage(raw))
	var env envelope
	if err := json.Unmarshal(res.JSON(), &env); err != nil {
		t.Fatalf("%s: envelope: %v", tl.Name, err)
	}
	env.Kind = res.Kind
	return env
}

// ok calls the tool, fails the test unless it succeeded, and decodes data
// into a value of type T.
func ok[T any](t testing.TB, tl tools.Tool, args any) (T, envelope) {
	t.Helper()
	env := call(t, tl, args)
	var data T
	if !env.Successful {
		t.Fatalf("%s %v: %s", tl.Name, args, env.Error)
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatalf("%s: data: %v\n%s", tl.Name, err, env.Data)
	}
	return data, env
}
