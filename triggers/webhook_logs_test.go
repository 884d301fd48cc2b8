package triggers_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestWebhookRefusalLogsRateLimited: anyone can send refused requests, so
// each reason logs at most one line per triggers.RefusalLogInterval, and the
// next line tells how many were held back.
func TestWebhookRefusalLogsRateLimited(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	env := whNew(t, nil, func(c *triggers.WebhookConfig) { c.Now = clock.now })
	body, _ := whFixture(t, "status_sent")
	badSig := cloudapi.SignWebhook("another-secret", body)
	handshake := func() {
		req := httptest.NewRequest(http.MethodGet, "/webhook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", nil)
		rec := httptest.NewRecorder()
		env.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("handshake with a wrong token: %d", rec.Code)
		}
	}
	flood := func(n int) {
		t.Helper()
		for range n {
			if rec := env.post(body, badSig); rec.Code != http.StatusUnauthorized {
				t.Fatalf("bad signature: %d", rec.Code)
			}
			if rec := env.post(body, ""); rec.Code != http.StatusUnauthorized {
				t.Fatalf("no signature: %d", rec.Code)
			}
			handshake()
		}
	}
	// The lines of each reason, told apart by what they say.
	says := map[string]string{
		"bad_signature":        "does not match the body",
		"missing_signature":    "missing X-Hub-Signature-256",
		"verification_refused": "verification refused",
	}
	lines := func(reason string) []string {
		var out []string
		for _, l := range strings.Split(env.logs.String(), "\n") {
			if strings.Contains(l, says[reason]) {
				out = append(out, l)
			}
		}
		return out
	}
	reasons := []string{"bad_signature", "missing_signature", "verification_refused"}

	flood(50)
	for _, r := range reasons {
		if got := lines(r); len(got) != 1 || strings.Contains(got[0], "suppressed") {
			t.Errorf("%s: %d lines after 50 refusals in one interval, want 1 without a suppressed count:\n%s", r, len(got), strings.Join(got, "\n"))
		}
	}

	clock.advance(triggers.RefusalLogInterval - time.Second)
	flood(1)
	for _, r := range reasons {
		if got := lines(r); len(got) != 1 {
			t.Errorf("%s: %d lines within the interval, want still 1", r, len(got))
		}
	}

	clock.advance(time.Second)
	flood(1)
	for _, r := range reasons {
		got := lines(r)
		if len(got) != 2 || !strings.Contains(got[1], "reason="+r) || !strings.Contains(got[1], "suppressed=50") {
			t.Errorf("%s: after the interval want a 2nd line with suppressed=50, got:\n%s", r, strings.Join(got, "\n"))
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", env.logs.String())
	}
}

// TestWebhookOnDelivery: every POST's outcome reaches WebhookConfig.OnDelivery
// with a reason from the fixed set, and nothing else of the delivery but
// counts and inbound types.
func TestWebhookOnDelivery(t *testing.T) {
	var (
		mu  sync.Mutex
		got []triggers.Delivery
	)
	failing := &failingStore{Store: whOpenStore(t), fails: 1}
	env := whNew(t, failing, func(c *triggers.WebhookConfig) {
		c.MaxBody = 64 << 10
		c.OnDelivery = func(d triggers.Delivery) {
			mu.Lock()
			got = append(got, d)
			mu.Unlock()
		}
	})
	sent, sentSig := whFixture(t, "status_sent")
	inbound, inboundSig := whFixture(t, "inbound_text")
	other, otherSig := whFixture(t, "other_object")
	bad := []byte(`not json`)
	huge := make([]byte, 65<<10)
	steps := []struct {
		body []byte
		sig  string
		code int
		want triggers.Delivery
	}{
		{sent, sentSig, 500, triggers.Delivery{Outcome: triggers.DeliveryFailed, Reason: triggers.ReasonStoreFailed}},
		{sent, sentSig, 200, triggers.Delivery{Outcome: triggers.DeliveryAccepted, Statuses: 1, NewStatuses: 1}},
		{sent, sentSig, 200, triggers.Delivery{Outcome: triggers.DeliveryDuplicate, Statuses: 1}},
		{inbound, inboundSig, 200, triggers.Delivery{Outcome: triggers.DeliveryAccepted, NewInbound: 1, InboundTypes: []string{"text"}}},
		{other, otherSig, 200, triggers.Delivery{Outcome: triggers.DeliveryIgnored, Reason: triggers.ReasonUnknownObject}},
		{sent, "", 401, triggers.Delivery{Outcome: triggers.DeliveryRejected, Reason: triggers.ReasonMissingSignature}},
		{sent, cloudapi.SignWebhook("another-secret", sent), 401, triggers.Delivery{Outcome: triggers.DeliveryRejected, Reason: triggers.ReasonBadSignature}},
		{bad, cloudapi.SignWebhook(whSecret, bad), 400, triggers.Delivery{Outcome: triggers.DeliveryRejected, Reason: triggers.ReasonInvalidPayload}},
		{huge, cloudapi.SignWebhook(whSecret, huge), 413, triggers.Delivery{Outcome: triggers.DeliveryRejected, Reason: triggers.ReasonBodyTooLarge}},
	}
	for i, s := range steps {
		if rec := env.post(s.body, s.sig); rec.Code != s.code {
			t.Fatalf("step %d: code %d, want %d", i, rec.Code, s.code)
		}
		mu.Lock()
		n := len(got)
		var last triggers.Delivery
		if n > 0 {
			last = got[n-1]
		}
		mu.Unlock()
		if n != i+1 {
			t.Fatalf("step %d: %d deliveries observed, want %d", i, n, i+1)
		}
		if !reflect.DeepEqual(last, s.want) {
			t.Errorf("step %d: observed %+v, want %+v", i, last, s.want)
		}
	}
}

// TestWebhookStoreFailureLogsPaced: during a store outage every delivery
// (and each of Meta's retries) fails; the log gets one line per
// RefusalLogInterval with the count held back, not one per request.
func TestWebhookStoreFailureLogsPaced(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	fs := &failingStore{Store: whOpenStore(t), fails: 1 << 30}
	env := whNew(t, fs, func(c *triggers.WebhookConfig) { c.Now = clock.now })
	body, sig := whFixture(t, "status_sent")
	lines := func() int { return strings.Count(env.logs.String(), "storing failed") }
	for range 30 {
		if rec := env.post(body, sig); rec.Code != http.StatusInternalServerError {
			t.Fatalf("a failed store answered %d", rec.Code)
		}
	}
	if n := lines(); n != 1 {
		t.Fatalf("%d log lines for 30 failed deliveries in one interval, want 1:\n%s", n, env.logs.String())
	}
	clock.advance(triggers.RefusalLogInterval)
	env.post(body, sig)
	if n := lines(); n != 2 || !strings.Contains(env.logs.String(), "suppressed=29") {
		t.Fatalf("after the interval want a 2nd line with suppressed=29:\n%s", env.logs.String())
	}
}
