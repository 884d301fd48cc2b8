package sandbox_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

func hello(to string) map[string]any { return tmpl(to, "hello_world", "en_US") }

func (e *env) sendFrom(t *testing.T, phoneID string, body map[string]any) resp {
	t.Helper()
	return e.do(t, http.MethodPost, v+"/"+phoneID+"/messages", body)
}

// TestThroughputLimit: past MessagesPerSecond a business number's send is refused with
// Meta's 130429 and not sent; the bucket refills with the clock; an invalid send still gets
// its own error; the other number has its own bucket.
func TestThroughputLimit(t *testing.T) {
	e := newEnv(t, sandbox.Config{MessagesPerSecond: 3}, false)
	for i := range 3 {
		if r := e.send(t, hello(fmt.Sprintf("+1650555%04d", i))); r.status != http.StatusOK {
			t.Fatalf("send %d within the limit: %d %s", i, r.status, r.raw)
		}
	}
	r := e.send(t, hello("+16505559999"))
	wantError(t, r, http.StatusBadRequest, 130429, 2494055)
	if got := r.errField("message"); got != "(#130429) Rate limit hit" {
		t.Errorf("message %v", got)
	}
	if n := e.sb.SentCount(); n != 3 || e.sb.SentTo("16505559999") != 0 {
		t.Fatalf("a refused send was recorded: %d sent, %d to the refused number", n, e.sb.SentTo("16505559999"))
	}
	// Validation comes first: a bad send is told what is wrong, not to slow down.
	if code, _, _ := e.send(t, map[string]any{"messaging_product": "whatsapp", "type": "text"}).errCode(); code == 130429 {
		t.Error("an invalid send past the limit was told to slow down, not what is wrong")
	}
	if r := e.sendFrom(t, sandbox.PhoneNumberID2, hello("+16505559999")); r.status != http.StatusOK {
		t.Fatalf("the second number shares the first's throughput: %d %s", r.status, r.raw)
	}

	e.clock.Advance(time.Second/3 + time.Millisecond) // one token back
	if r := e.send(t, hello("+16505559999")); r.status != http.StatusOK {
		t.Fatalf("after 1/3 s: %d %s", r.status, r.raw)
	}
	wantError(t, e.send(t, hello("+16505559998")), http.StatusBadRequest, 130429, 2494055)

	e.clock.Advance(10 * time.Second) // the bucket holds MessagesPerSecond, no more
	ok := 0
	for i := range 10 {
		if e.send(t, hello(fmt.Sprintf("+1650556%04d", i))).status == http.StatusOK {
			ok++
		}
	}
	if ok != 3 {
		t.Errorf("after a long pause %d sends went through at once, want 3", ok)
	}
	if n := e.sb.SentCount(); n != 3+1+1+3 {
		t.Errorf("SentCount %d, want 8", n)
	}
}

// TestPairRateLimit: past PairBurst messages to one customer, the next is refused with
// Meta's 131056 until PairRate has passed; other customers are not held back; PairBurst 0
// is Meta's 45.
func TestPairRateLimit(t *testing.T) {
	const alice, bob = "+16505550101", "+16505550102"
	e := newEnv(t, sandbox.Config{PairRate: 6 * time.Second, PairBurst: 2}, false)
	for i := range 2 {
		if r := e.send(t, hello(alice)); r.status != http.StatusOK {
			t.Fatalf("send %d to alice: %d %s", i, r.status, r.raw)
		}
	}
	r := e.send(t, hello(alice))
	wantError(t, r, http.StatusBadRequest, 131056, 0)
	if got := r.errField("message"); got != "(#131056) (Business Account, Consumer Account) pair rate limit hit" {
		t.Errorf("message %v", got)
	}
	if r := e.send(t, hello(bob)); r.status != http.StatusOK {
		t.Fatalf("bob is held back by alice's pair rate: %d %s", r.status, r.raw)
	}
	e.clock.Advance(5 * time.Second)
	wantError(t, e.send(t, hello(alice)), http.StatusBadRequest, 131056, 0)
	e.clock.Advance(time.Second)
	if r := e.send(t, hello(alice)); r.status != http.StatusOK {
		t.Fatalf("alice after 6 s: %d %s", r.status, r.raw)
	}
	wantError(t, e.send(t, hello(alice)), http.StatusBadRequest, 131056, 0)
	if got := e.sb.SentTo(alice); got != 3 {
		t.Errorf("SentTo(alice) = %d, want 3", got)
	}
	if got := e.sb.SentPerRecipient(); len(got) != 2 || got[alice[1:]] != 3 || got[bob[1:]] != 1 {
		t.Errorf("SentPerRecipient = %v", got)
	}

	e = newEnv(t, sandbox.Config{PairRate: 6 * time.Second}, false)
	ok := 0
	for range 50 {
		if e.send(t, hello(alice)).status == http.StatusOK {
			ok++
		}
	}
	if ok != sandbox.DefaultPairBurst {
		t.Errorf("%d sends to one customer at once, want Meta's burst of %d", ok, sandbox.DefaultPairBurst)
	}
}

// TestSendLimitsOff: without the limits, sends at one instant all go through.
func TestSendLimitsOff(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	for i := range 200 {
		if r := e.send(t, hello("+16505550101")); r.status != http.StatusOK {
			t.Fatalf("send %d: %d %s", i, r.status, r.raw)
		}
	}
	if n := e.sb.SentTo("+1 650-555-0101"); n != 200 {
		t.Errorf("SentTo = %d, want 200", n)
	}
}

// TestSendLimitsTogether: a send refused by one limit takes no token of the other.
func TestSendLimitsTogether(t *testing.T) {
	e := newEnv(t, sandbox.Config{MessagesPerSecond: 2, PairRate: 6 * time.Second, PairBurst: 1}, false)
	if r := e.send(t, hello("+16505550101")); r.status != http.StatusOK {
		t.Fatalf("first send: %d %s", r.status, r.raw)
	}
	wantError(t, e.send(t, hello("+16505550101")), http.StatusBadRequest, 131056, 0)
	if r := e.send(t, hello("+16505550102")); r.status != http.StatusOK {
		t.Fatalf("the pair-refused send took a throughput token: %d %s", r.status, r.raw)
	}
	wantError(t, e.send(t, hello("+16505550103")), http.StatusBadRequest, 130429, 2494055)
	e.clock.Advance(6 * time.Second)
	if r := e.send(t, hello("+16505550103")); r.status != http.StatusOK {
		t.Fatalf("the throughput-refused send took a pair token: %d %s", r.status, r.raw)
	}
}
