package sandbox_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

func TestWebhookEscaping(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	if _, err := e.sb.Inbound(context.Background(), "", customer, "Zoë 🎉", "a/b <b>&amp; ü"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "inbound webhook", func() bool { return len(e.rcv.bodies()) == 1 })
	raw := string(e.rcv.bodies()[0])
	for _, want := range []string{`"name":"Zo\u00eb \ud83c\udf89"`, `"body":"a\/b <b>&amp; \u00fc"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("body lacks %s: %s", want, raw)
		}
	}
	val := e.rcv.parsed()[0].Entry[0].Changes[0].Value
	if val.Contacts[0].Profile.Name != "Zoë 🎉" || val.Messages[0].Text.Body != "a/b <b>&amp; ü" || val.Messages[0].Type != "text" {
		t.Errorf("decoded inbound: %+v", val)
	}
}

func TestWebhookRetryUntil200(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	e.rcv.mu.Lock()
	e.rcv.failFirst = 2
	e.rcv.mu.Unlock()
	if _, err := e.sb.Inbound(context.Background(), "", customer, "Ana", "hi"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery after two 500s", func() bool { return len(e.rcv.bodies()) == 1 })
	e.rcv.mu.Lock()
	defer e.rcv.mu.Unlock()
	if e.rcv.attempts != 3 {
		t.Errorf("attempts = %d, want 3", e.rcv.attempts)
	}
}

func TestWebhookDuplicates(t *testing.T) {
	e := newEnv(t, sandbox.Config{Duplicates: 2}, true)
	id := e.send(t, tmpl(customer, "hello_world", "en_US")).messageID(t)
	waitFor(t, "9 status deliveries", func() bool { return len(e.rcv.statusesOf(id)) == 9 })
	count := map[string]int{}
	for _, s := range e.rcv.statusesOf(id) {
		count[s.Status]++
	}
	if count["sent"] != 3 || count["delivered"] != 3 || count["read"] != 3 {
		t.Errorf("counts %v", count)
	}
	b := e.rcv.bodies()
	if !bytes.Equal(b[0], b[1]) || !bytes.Equal(b[0], b[2]) {
		t.Errorf("duplicates differ")
	}
}

func TestWebhookOutOfOrderWithDelay(t *testing.T) {
	e := newEnv(t, sandbox.Config{OutOfOrder: true, StatusDelay: 20 * time.Millisecond}, true)
	id := e.send(t, tmpl(customer, "hello_world", "en_US")).messageID(t)
	waitFor(t, "3 statuses", func() bool { return len(e.rcv.statusesOf(id)) == 3 })
	var order []string
	for _, s := range e.rcv.statusesOf(id) {
		order = append(order, s.Status)
	}
	if strings.Join(order, ",") != "read,delivered,sent" {
		t.Errorf("order %v, want reversed", order)
	}
}

func TestWebhookInOrderWithDelay(t *testing.T) {
	e := newEnv(t, sandbox.Config{StatusDelay: 20 * time.Millisecond}, true)
	id := e.send(t, tmpl(customer, "hello_world", "en_US")).messageID(t)
	waitFor(t, "3 statuses", func() bool { return len(e.rcv.statusesOf(id)) == 3 })
	var order []string
	for _, s := range e.rcv.statusesOf(id) {
		order = append(order, s.Status)
	}
	if strings.Join(order, ",") != "sent,delivered,read" {
		t.Errorf("order %v", order)
	}
}

func TestWebhookBatching(t *testing.T) {
	e := newEnv(t, sandbox.Config{BatchSize: 6}, true)
	a := e.send(t, tmpl(customer, "hello_world", "en_US")).messageID(t)
	b := e.do(t, http.MethodPost, v+"/"+sandbox.PhoneNumberID2+"/messages", tmpl(customer, "hello_world", "en_US")).messageID(t)
	c := e.send(t, tmpl("+16505559999", "hello_world", "en_US")).messageID(t)
	waitFor(t, "9 statuses", func() bool { return len(e.rcv.statuses()) == 9 })
	for _, id := range []string{a, b, c} {
		if n := len(e.rcv.statusesOf(id)); n != 3 {
			t.Errorf("%d statuses for a message", n)
		}
	}
	bodies := e.rcv.parsed()
	if len(bodies) != 2 {
		t.Fatalf("%d POSTs, want 2 (a batch of 6, then the remaining 3 after the batch window)", len(bodies))
	}
	first := bodies[0]
	phones := map[string]bool{}
	multi := false
	changes := 0
	for _, en := range first.Entry {
		for _, ch := range en.Changes {
			changes++
			phones[ch.Value.Metadata.PhoneNumberID] = true
			multi = multi || len(ch.Value.Statuses) > 1
			for _, s := range ch.Value.Statuses {
				want := a
				if ch.Value.Metadata.PhoneNumberID == sandbox.PhoneNumberID2 {
					want = b
				}
				if s.ID != want {
					t.Errorf("status of %s filed under %s", s.ID, ch.Value.Metadata.PhoneNumberID)
				}
			}
		}
	}
	if len(first.Entry) < 2 || changes < 3 || !multi || len(phones) != 2 {
		t.Errorf("batch not spread over entries/changes: %s", e.rcv.bodies()[0])
	}
}

func TestSetWebhookURL(t *testing.T) {
	rcv := newReceiver(t, sandbox.DefaultAppSecret)
	e := newEnv(t, sandbox.Config{}, false)
	if _, err := e.sb.Inbound(context.Background(), "", customer, "Ana", "first"); err != nil {
		t.Fatal(err)
	}
	e.send(t, text(customer, "nobody listens"))
	if wc := e.get(t, v+"/"+sandbox.PhoneNumberID+"?fields=webhook_configuration").body["webhook_configuration"]; wc != nil {
		t.Errorf("webhook_configuration without URL: %v", wc)
	}

	e.sb.SetWebhookURL(rcv.srv.URL)
	if _, err := e.sb.Inbound(context.Background(), "", customer, "Ana", "second"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "inbound", func() bool { return len(rcv.bodies()) == 1 })
	if body := rcv.parsed()[0].Entry[0].Changes[0].Value.Messages[0].Text.Body; body != "second" {
		t.Errorf("got %q: earlier events must not be delivered", body)
	}
	wc, _ := e.get(t, v+"/"+sandbox.PhoneNumberID+"?fields=webhook_configuration").body["webhook_configuration"].(map[string]any)
	if wc["application"] != rcv.srv.URL {
		t.Errorf("webhook_configuration %v", wc)
	}
}

func TestVerifyWebhook(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	if err := e.sb.VerifyWebhook(context.Background()); err != nil {
		t.Errorf("verify: %v", err)
	}
	rcv := newReceiver(t, sandbox.DefaultAppSecret)
	other := sandbox.New(sandbox.Config{VerifyToken: "wrong", WebhookURL: rcv.srv.URL})
	defer other.Close()
	if err := other.VerifyWebhook(context.Background()); err == nil {
		t.Error("verify with a wrong token succeeded")
	}
	none := sandbox.New(sandbox.Config{})
	defer none.Close()
	if err := none.VerifyWebhook(context.Background()); err == nil {
		t.Error("verify without URL succeeded")
	}
}

func TestCloseStopsRetries(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	e.rcv.mu.Lock()
	e.rcv.failFirst = 1 << 30
	e.rcv.mu.Unlock()
	if _, err := e.sb.Inbound(context.Background(), "", customer, "Ana", "hi"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failing attempt", func() bool {
		e.rcv.mu.Lock()
		defer e.rcv.mu.Unlock()
		return e.rcv.attempts >= 2
	})
	done := make(chan struct{})
	go func() { _ = e.sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	e.rcv.mu.Lock()
	n := e.rcv.attempts
	e.rcv.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	e.rcv.mu.Lock()
	defer e.rcv.mu.Unlock()
	if e.rcv.attempts != n {
		t.Errorf("deliveries continued after Close")
	}
}

// TestInboundReturnsAfterDelivery: Inbound returns only once the receiver
// accepted the inbound webhook (here after two refusals), so a send made
// right after it finds the customer's message already stored.
func TestInboundReturnsAfterDelivery(t *testing.T) {
	rcv := newReceiver(t, sandbox.DefaultAppSecret)
	rcv.failFirst = 2
	sb := sandbox.New(sandbox.Config{WebhookURL: rcv.srv.URL})
	t.Cleanup(func() { _ = sb.Close() })
	id, err := sb.Inbound(context.Background(), "", "+16505551234", "Zoë", "Hi")
	if err != nil {
		t.Fatal(err)
	}
	bodies := rcv.bodies()
	if len(bodies) != 1 || !strings.Contains(string(bodies[0]), id) {
		t.Fatalf("when Inbound returned the receiver had %d accepted bodies, want the inbound message %s", len(bodies), id)
	}
}
