package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// The conversation of the "done when", end to end: a customer's
// messages arrive signed at /webhook (posted by the emulator, as Meta
// would), and an agent using only MCP tools on the same or another replica
// sees them in the inbox, reads them in the conversation, finds them by
// search, marks them read, reacts, replies in the thread and watches the
// reply reach read; a waiting trigger call returns when the message is
// stored, and a subscribed session gets the resource update.

const (
	e2ePhone    = sandbox.PhoneNumberID
	e2eCustomer = "+16505559876"
	e2eWaID     = "16505559876"
)

// TestConversationSQLite: one server, its own SQLite store.
func TestConversationSQLite(t *testing.T) {
	loc := "file:" + filepath.Join(t.TempDir(), "events.db")
	agent, hooks := e2eReplicas(t, loc, loc, true)
	runConversation(t, agent, hooks)
}

// TestConversationPostgresReplicas: the emulator's webhooks reach replica
// B while the agent talks to replica A; both share one PostgreSQL, so A's
// waiting trigger and A's subscribed session learn of what B stored
// (LISTEN/NOTIFY).
func TestConversationPostgresReplicas(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	agent, hooks := e2eReplicas(t, dsn, dsn, false)
	runConversation(t, agent, hooks)
}

// e2eEnv is the emulator and the replica the agent talks to.
type e2eEnv struct {
	sb    *sandbox.Sandbox
	agent string // the agent's replica
	hooks string // the replica the emulator's webhooks go to (agent when same)
}

// e2eReplicas starts the emulator and the servers: with same, one server
// is both the webhook's and the agent's; otherwise two, on locA and locB.
func e2eReplicas(t *testing.T, locA, locB string, same bool) (agent string, env *e2eEnv) {
	t.Helper()
	sb := sandbox.New(sandbox.Config{})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { sb.Close() })
	envm := map[string]string{
		"WHATSAPP_ACCESS_TOKEN": sandbox.DefaultToken, "WHATSAPP_APP_SECRET": sandbox.DefaultAppSecret,
		"WHATSAPP_VERIFY_TOKEN": sandbox.DefaultVerifyToken, "WHATSAPP_WABA_ID": sandbox.WABAID,
	}
	a, _ := inProcessHTTP(t, envm, "--graph-url", srv.URL, "--store", locA)
	b := a
	if !same {
		b, _ = inProcessHTTP(t, envm, "--graph-url", srv.URL, "--store", locB)
	}
	sb.SetWebhookURL(b + "/webhook")
	return a, &e2eEnv{sb: sb, agent: a, hooks: b}
}

// e2eSession is an MCP session with the agent's replica that records the
// resource updates it is sent.
type e2eSession struct {
	t *testing.T
	c *client.Client

	mu      sync.Mutex
	updates map[string]int
	notify  chan struct{}
}

func newE2ESession(t *testing.T, ctx context.Context, base string) *e2eSession {
	s := &e2eSession{t: t, updates: map[string]int{}, notify: make(chan struct{}, 64)}
	s.c = connectHTTP(t, ctx, base+"/mcp", "e2e-agent", transport.WithContinuousListening())
	s.c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != string(mcp.MethodNotificationResourceUpdated) {
			return
		}
		uri, _ := n.Params.AdditionalFields["uri"].(string)
		s.mu.Lock()
		s.updates[uri]++
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
	})
	return s
}

// call runs a tool and returns its envelope's data; a failed call fails the test.
func (s *e2eSession) call(ctx context.Context, name string, args map[string]any) map[string]any {
	s.t.Helper()
	env := s.envelope(ctx, name, args)
	if ok, _ := env["successful"].(bool); !ok {
		s.t.Fatalf("%s(%v) failed: %v", name, args, env["error"])
	}
	data, _ := env["data"].(map[string]any)
	return data
}

func (s *e2eSession) envelope(ctx context.Context, name string, args map[string]any) map[string]any {
	s.t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		s.t.Fatalf("%s: %v", name, err)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		s.t.Fatalf("%s: %s", name, b)
	}
	return env
}

func (s *e2eSession) updatesOf(uri string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updates[uri]
}

// items returns data[key] as a list of objects.
func items(data map[string]any, key string) []map[string]any {
	raw, _ := data[key].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		m, _ := r.(map[string]any)
		out = append(out, m)
	}
	return out
}

func runConversation(t *testing.T, agent string, env *e2eEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := newE2ESession(t, ctx, agent)
	waiter := newE2ESession(t, ctx, agent)
	uri := "whatsapp://" + e2ePhone + "/conversations/" + e2eWaID
	if err := s.c.Subscribe(ctx, mcp.SubscribeRequest{Params: mcp.SubscribeParams{URI: uri}}); err != nil {
		t.Fatalf("resources/subscribe: %v", err)
	}

	// A trigger call waits for the customer's first message.
	type waited struct {
		data map[string]any
		at   time.Time
	}
	got := make(chan waited, 1)
	go func() {
		d := waiter.call(ctx, "WHATSAPP_MESSAGE_RECEIVED_TRIGGER", map[string]any{"phone_number_id": e2ePhone, "wait_seconds": 60})
		got <- waited{d, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond) // let the call begin waiting; if it has not, it finds the message by querying
	hi, err := env.sb.Receive(ctx, sandbox.InboundMessage{From: e2eCustomer, Name: "Ana", PhoneNumberID: e2ePhone,
		Text: "Hi! Where is my refund for order 1234?"})
	if err != nil {
		t.Fatal(err)
	}
	sentAt := time.Now()
	var w waited
	select {
	case w = <-got:
	case <-ctx.Done():
		t.Fatal("the waiting trigger call never returned")
	}
	evs := items(w.data, "events")
	if len(evs) != 1 || evs[0]["message"].(map[string]any)["message_id"] != hi.MessageID {
		t.Fatalf("the waiting trigger returned %v, want the customer's message %s", w.data, hi.MessageID)
	}
	t.Logf("the waiting trigger returned %v after the message was received", w.at.Sub(sentAt).Round(time.Millisecond))
	cursor, _ := w.data["next_cursor"].(string)

	// The subscribed session is told the conversation changed.
	waitUntil(t, ctx, "a notifications/resources/updated for "+uri, func() bool { return s.updatesOf(uri) > 0 }, s.notify)

	// The inbox shows it unread, with the window open.
	inbox := s.call(ctx, "WHATSAPP_LIST_CONVERSATIONS", map[string]any{"phone_number_id": e2ePhone, "unread_only": true})
	convs := items(inbox, "conversations")
	if len(convs) != 1 || convs[0]["wa_id"] != e2eWaID || convs[0]["unread"] != float64(1) || convs[0]["window_open"] != true {
		t.Fatalf("inbox: %v", inbox)
	}

	// The conversation, with the customer in any format.
	conv := s.call(ctx, "WHATSAPP_GET_CONVERSATION", map[string]any{"phone_number_id": e2ePhone, "to_number": "+1 (650) 555-9876"})
	msgs := items(conv, "messages")
	if len(msgs) != 1 || msgs[0]["text"] != "Hi! Where is my refund for order 1234?" || msgs[0]["direction"] != "in" {
		t.Fatalf("conversation: %v", conv)
	}

	// Search finds it by a word's start.
	found := s.call(ctx, "WHATSAPP_SEARCH_MESSAGES", map[string]any{"phone_number_id": e2ePhone, "query": "refu"})
	if hits := items(found, "messages"); len(hits) != 1 || hits[0]["message_id"] != hi.MessageID {
		t.Fatalf("search: %v", found)
	}

	// Mark read (typing), and the unread count follows.
	s.call(ctx, "WHATSAPP_MARK_AS_READ", map[string]any{"phone_number_id": e2ePhone, "message_id": hi.MessageID, "typing_indicator": true})
	inbox = s.call(ctx, "WHATSAPP_LIST_CONVERSATIONS", map[string]any{"phone_number_id": e2ePhone})
	if convs := items(inbox, "conversations"); len(convs) != 1 || convs[0]["unread"] != float64(0) {
		t.Fatalf("inbox after mark as read: %v", inbox)
	}
	if received := env.sb.ReceivedMessages(); len(received) == 0 {
		t.Fatal("the emulator recorded no inbound message")
	}

	// React, then reply in the thread, and watch the reply reach read.
	s.call(ctx, "WHATSAPP_SEND_REACTION", map[string]any{"phone_number_id": e2ePhone, "to_number": e2eCustomer, "message_id": hi.MessageID, "emoji": "👍"})
	reply := s.call(ctx, "WHATSAPP_SEND_REPLY", map[string]any{"phone_number_id": e2ePhone, "to_number": e2eCustomer,
		"reply_to_message_id": hi.MessageID, "text": "Your refund for order 1234 left today."})
	replyID, _ := reply["message_id"].(string)
	if replyID == "" {
		t.Fatalf("reply: %v", reply)
	}
	var last map[string]any
	waitUntil(t, ctx, "the reply to reach read in the conversation", func() bool {
		conv := s.call(ctx, "WHATSAPP_GET_CONVERSATION", map[string]any{"phone_number_id": e2ePhone, "to_number": e2eWaID})
		for _, m := range items(conv, "messages") {
			if m["message_id"] == replyID {
				last = m
				return m["status"] == "read"
			}
		}
		return false
	}, nil)
	if last["direction"] != "out" || !strings.Contains(last["text"].(string), "left today") {
		t.Fatalf("the reply in the conversation: %v", last)
	}

	// Every other kind of customer message arrives in the same
	// conversation, normalised, after the trigger's cursor.
	buttons := s.call(ctx, "WHATSAPP_SEND_INTERACTIVE_BUTTONS", map[string]any{"phone_number_id": e2ePhone, "to_number": e2eCustomer,
		"body_text": "Anything else?", "buttons": []map[string]any{{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}}})
	list := s.call(ctx, "WHATSAPP_SEND_INTERACTIVE_LIST", map[string]any{"phone_number_id": e2ePhone, "to_number": e2eCustomer,
		"body_text": "Pick a topic", "button_text": "Topics", "sections": []map[string]any{{"title": "Help", "rows": []map[string]any{{"id": "refunds", "title": "Refunds"}}}}})
	lat, long := 38.7223, -9.1393
	photo := []byte("\xff\xd8\xff\xe0 not really a jpeg, but bytes all the same")
	kinds := []struct {
		in   sandbox.InboundMessage
		want func(m map[string]any) bool
	}{
		{sandbox.InboundMessage{Type: "image", File: photo, Filename: "receipt.jpg", MIMEType: "image/jpeg", Text: "the receipt"},
			func(m map[string]any) bool {
				return m["type"] == "image" && m["text"] == "the receipt" && m["media"] != nil
			}},
		{sandbox.InboundMessage{Type: "location", Latitude: &lat, Longitude: &long, LocationName: "Shop", Address: "Rua Augusta 1"},
			func(m map[string]any) bool {
				return m["type"] == "location" && m["location"].(map[string]any)["name"] == "Shop"
			}},
		{sandbox.InboundMessage{Type: "contacts", ContactName: "Rui", ContactPhone: "+351912345678"},
			func(m map[string]any) bool { return m["type"] == "contacts" && m["contacts"] != nil }},
		{sandbox.InboundMessage{Type: "button_reply", ReplyTo: buttons["message_id"].(string), Button: "yes"},
			func(m map[string]any) bool {
				r, _ := m["reply"].(map[string]any)
				return m["type"] == "interactive" && r["id"] == "yes" && r["title"] == "Yes"
			}},
		{sandbox.InboundMessage{Type: "list_reply", ReplyTo: list["message_id"].(string), Row: "refunds"},
			func(m map[string]any) bool { r, _ := m["reply"].(map[string]any); return r["id"] == "refunds" }},
		{sandbox.InboundMessage{Type: "reaction", ReactTo: replyID, Emoji: "❤️"},
			func(m map[string]any) bool {
				r, _ := m["reaction"].(map[string]any)
				return m["type"] == "reaction" && r["message_id"] == replyID && r["emoji"] == "❤️"
			}},
		{sandbox.InboundMessage{Type: "order", Text: "two please", Products: []sandbox.OrderProduct{{ProductRetailerID: "sku-1", Quantity: 2, ItemPrice: 9.5, Currency: "EUR"}}},
			func(m map[string]any) bool { return m["type"] == "order" && m["order"] != nil }},
	}
	var mediaID string
	for _, k := range kinds {
		k.in.From, k.in.PhoneNumberID = e2eCustomer, e2ePhone
		res, err := env.sb.Receive(ctx, k.in)
		if err != nil {
			t.Fatalf("inbound %s: %v", k.in.Type, err)
		}
		if res.MediaID != "" {
			mediaID = res.MediaID
		}
		var m map[string]any
		waitUntil(t, ctx, "the "+k.in.Type+" message in the conversation", func() bool {
			conv := s.call(ctx, "WHATSAPP_GET_CONVERSATION", map[string]any{"phone_number_id": e2ePhone, "to_number": e2eWaID, "max_results": 3})
			for _, x := range items(conv, "messages") {
				if x["message_id"] == res.MessageID {
					m = x
					return true
				}
			}
			return false
		}, nil)
		if !k.want(m) {
			t.Errorf("%s normalised as %v", k.in.Type, m)
		}
	}

	// The trigger, from its cursor, returns each of them once, in order.
	page := s.call(ctx, "WHATSAPP_MESSAGE_RECEIVED_TRIGGER", map[string]any{"phone_number_id": e2ePhone, "cursor": cursor, "max_results": 100})
	if evs := items(page, "events"); len(evs) != len(kinds) {
		t.Errorf("the trigger after its cursor returned %d events, want %d: %v", len(evs), len(kinds), page)
	}

	// The inbound image's media id downloads the customer's bytes.
	media := s.call(ctx, "WHATSAPP_GET_MEDIA", map[string]any{"media_id": mediaID, "download": true})
	b64, _ := media["content_base64"].(string)
	if b, err := base64.StdEncoding.DecodeString(b64); err != nil || string(b) != string(photo) {
		t.Errorf("WHATSAPP_GET_MEDIA download of the inbound image: %v (%v)", media, err)
	}

	// The resource reads as the tool does.
	rr, err := s.c.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
	if err != nil || len(rr.Contents) != 1 {
		t.Fatalf("resources/read %s: %v %v", uri, rr, err)
	}
	text, _ := rr.Contents[0].(mcp.TextResourceContents)
	if !strings.Contains(text.Text, replyID) || !strings.Contains(text.Text, `"window_open":true`) {
		t.Errorf("resources/read lacks the reply or the window: %.400s", text.Text)
	}
}

// waitUntil polls cond (and wakes on wake, if given) until it holds or ctx ends.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool, wake <-chan struct{}) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waited in vain for %s", what)
		case <-wake:
		case <-time.After(50 * time.Millisecond):
		}
	}
}
