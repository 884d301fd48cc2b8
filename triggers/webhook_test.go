package triggers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/syncbuf"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

const (
	whSecret = "test-app-secret-0d1e2f" // the key testdata/*.sig were made with (see testdata/README.md)
	whToken  = "verify-token-7f3a9c"
	whPhone  = "106540352242922"
	whWABA   = "102290129340398"
	whWamid  = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA" // status_sent/delivered/read
)

// whFixture returns a testdata body and the signature openssl made for it.
func whFixture(t testing.TB, name string) (body []byte, sig string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.ReadFile(filepath.Join("testdata", name+".sig"))
	if err != nil {
		t.Fatal(err)
	}
	return body, string(s)
}

func whOpenStore(t testing.TB) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type whEnv struct {
	st   store.Store // the real SQLite store the handler writes to
	h    http.Handler
	logs *syncbuf.Buffer
}

// whNew builds the handler over st (a fresh SQLite store when nil) and checks
// at the end of the test that no secret or message content reached the logs.
func whNew(t *testing.T, st store.Store, edit func(*triggers.WebhookConfig)) *whEnv {
	t.Helper()
	if st == nil {
		st = whOpenStore(t)
	}
	logs := &syncbuf.Buffer{}
	cfg := triggers.WebhookConfig{
		AppSecret:   whSecret,
		VerifyToken: whToken,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	t.Cleanup(func() {
		out := logs.String()
		for _, secret := range []string{whSecret, whToken, "caf", "Menu", "example.com", "Zo\\u00eb", "Zoë", "order\\/42", "order/42", "more than 24 hours"} {
			if strings.Contains(out, secret) {
				t.Errorf("the logs contain %q:\n%s", secret, out)
			}
		}
	})
	return &whEnv{st: st, h: triggers.NewWebhook(st, cfg), logs: logs}
}

func (e *whEnv) post(body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(cloudapi.SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func (e *whEnv) postFixture(t *testing.T, name string, want int) {
	t.Helper()
	body, sig := whFixture(t, name)
	if rec := e.post(body, sig); rec.Code != want {
		t.Fatalf("POST %s: %d %q, want %d", name, rec.Code, rec.Body.String(), want)
	}
}

func (e *whEnv) statuses(t *testing.T, q store.Query) []store.StatusEvent {
	t.Helper()
	q.Limit = 1000
	evs, _, err := e.st.Statuses(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (e *whEnv) wantEmpty(t *testing.T) {
	t.Helper()
	if evs := e.statuses(t, store.Query{}); len(evs) != 0 {
		t.Fatalf("%d events stored, want none", len(evs))
	}
	if _, ok, _ := e.st.LastInbound(context.Background(), whPhone, "16505551234"); ok {
		t.Fatal("an inbound message was stored, want none")
	}
}

func whKeys(evs []store.StatusEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.MessageID[len(e.MessageID)-12:] + "/" + e.Status
	}
	return out
}

func TestWebhookHandshake(t *testing.T) {
	q := func(mode, token, challenge string) string {
		v := url.Values{}
		if mode != "" {
			v.Set("hub.mode", mode)
		}
		if token != "" {
			v.Set("hub.verify_token", token)
		}
		if challenge != "" {
			v.Set("hub.challenge", challenge)
		}
		return "/webhook?" + v.Encode()
	}
	tests := []struct {
		name       string
		configured string
		target     string
		wantCode   int
		wantBody   string
	}{
		{"good", whToken, q("subscribe", whToken, "1158201444"), 200, "1158201444"},
		{"bad token", whToken, q("subscribe", "wrong", "1158201444"), 403, ""},
		{"token prefix", whToken, q("subscribe", whToken[:5], "1158201444"), 403, ""},
		{"missing token", whToken, q("subscribe", "", "1158201444"), 403, ""},
		{"bad mode", whToken, q("unsubscribe", whToken, "1158201444"), 403, ""},
		{"missing mode", whToken, q("", whToken, "1158201444"), 403, ""},
		{"empty configured token, empty given", "", q("subscribe", "", "1158201444"), 403, ""},
		{"empty configured token, any given", "", q("subscribe", "anything", "1158201444"), 403, ""},
		{"missing challenge", whToken, q("subscribe", whToken, ""), 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := whNew(t, nil, func(c *triggers.WebhookConfig) { c.VerifyToken = tc.configured })
			rec := httptest.NewRecorder()
			env.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.target, nil))
			if rec.Code != tc.wantCode {
				t.Fatalf("code %d, want %d", rec.Code, tc.wantCode)
			}
			if tc.wantCode == 200 {
				if rec.Body.String() != tc.wantBody {
					t.Errorf("body %q, want the raw challenge %q", rec.Body.String(), tc.wantBody)
				}
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type %q, want text/plain", ct)
				}
			} else if strings.Contains(rec.Body.String(), "1158201444") {
				t.Error("refused handshake echoed the challenge")
			}
		})
	}
}

func TestVerifySignature(t *testing.T) {
	names := []string{"status_sent", "status_delivered", "status_read", "status_played", "status_failed_131047",
		"statuses_batched", "inbound_text", "system_error", "template_status_update", "other_object"}
	for _, name := range names {
		body, sig := whFixture(t, name)
		if err := triggers.VerifySignature(whSecret, body, sig); err != nil {
			t.Errorf("%s: the openssl signature does not verify: %v", name, err)
		}
		upper := "sha256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256="))
		if err := triggers.VerifySignature(whSecret, body, upper); err != nil {
			t.Errorf("%s: upper-case hex refused: %v", name, err)
		}
	}

	body, sig := whFixture(t, "status_sent")
	tampered := bytes.Replace(body, []byte(`"sent"`), []byte(`"read"`), 1)
	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
		want   error
	}{
		{"missing", whSecret, body, "", triggers.ErrMissingSignature},
		{"other secret", "another-secret", body, sig, triggers.ErrBadSignature},
		{"empty secret", "", body, cloudapi.SignWebhook("", body), triggers.ErrBadSignature},
		{"tampered body", whSecret, tampered, sig, triggers.ErrBadSignature},
		{"no prefix", whSecret, body, strings.TrimPrefix(sig, "sha256="), triggers.ErrBadSignature},
		{"sha1 prefix", whSecret, body, "sha1=" + strings.TrimPrefix(sig, "sha256="), triggers.ErrBadSignature},
		{"not hex", whSecret, body, "sha256=" + strings.Repeat("zz", 32), triggers.ErrBadSignature},
		{"short", whSecret, body, sig[:len(sig)-2], triggers.ErrBadSignature},
		{"long", whSecret, body, sig + "00", triggers.ErrBadSignature},
		{"space padded", whSecret, body, " " + sig, triggers.ErrBadSignature},
	}
	for _, tc := range tests {
		if err := triggers.VerifySignature(tc.secret, tc.body, tc.header); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Meta signs its own bytes ("\/", "\u00eb"); a decoded and re-encoded body
// differs, so the signature must fail on it: proof we verify the raw bytes.
func TestVerifySignatureRejectsReserialisedBody(t *testing.T) {
	for _, name := range []string{"status_sent", "status_failed_131047", "inbound_text", "statuses_batched"} {
		body, sig := whFixture(t, name)
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(again, body) {
			t.Fatalf("%s: re-encoding gave the same bytes; the fixture lacks Meta's escaping", name)
		}
		if err := triggers.VerifySignature(whSecret, again, sig); !errors.Is(err, triggers.ErrBadSignature) {
			t.Errorf("%s: re-serialised body: err %v, want ErrBadSignature", name, err)
		}
	}
}

func TestWebhookPOSTSignature(t *testing.T) {
	body, sig := whFixture(t, "status_sent")
	var v any
	json.Unmarshal(body, &v)
	reserialised, _ := json.Marshal(v)

	tests := []struct {
		name   string
		secret string
		body   []byte
		sig    string
		want   int
	}{
		{"good", whSecret, body, sig, 200},
		{"wrong", whSecret, body, cloudapi.SignWebhook("another-secret", body), 401},
		{"missing", whSecret, body, "", 401},
		{"malformed", whSecret, body, "sha256=not-hex", 401},
		{"bare hex", whSecret, body, strings.TrimPrefix(sig, "sha256="), 401},
		{"tampered", whSecret, bytes.Replace(body, []byte("16505551234"), []byte("16505559999"), 1), sig, 401},
		{"re-serialised body", whSecret, reserialised, sig, 401},
		// Anyone can compute an HMAC under the empty key: no secret, no entry.
		{"no app secret configured", "", body, cloudapi.SignWebhook("", body), 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := whNew(t, nil, func(c *triggers.WebhookConfig) { c.AppSecret = tc.secret })
			rec := env.post(tc.body, tc.sig)
			if rec.Code != tc.want {
				t.Fatalf("code %d, want %d", rec.Code, tc.want)
			}
			if tc.want != 200 {
				env.wantEmpty(t)
				return
			}
			if got := env.statuses(t, store.Query{}); len(got) != 1 {
				t.Fatalf("%d events stored, want 1", len(got))
			}
		})
	}
}

func TestWebhookPOSTTooLarge(t *testing.T) {
	body, sig := whFixture(t, "status_sent")
	small := func(c *triggers.WebhookConfig) { c.MaxBody = int64(len(body)) - 1 }

	t.Run("declared Content-Length", func(t *testing.T) {
		env := whNew(t, nil, small)
		if rec := env.post(body, sig); rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("code %d, want 413", rec.Code)
		}
		env.wantEmpty(t)
	})
	t.Run("chunked, no length", func(t *testing.T) {
		env := whNew(t, nil, small)
		req := httptest.NewRequest(http.MethodPost, "/webhook", io.MultiReader(bytes.NewReader(body)))
		req.ContentLength = -1
		req.Header.Set(cloudapi.SignatureHeader, sig)
		rec := httptest.NewRecorder()
		env.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("code %d, want 413", rec.Code)
		}
		env.wantEmpty(t)
	})
	t.Run("default limit", func(t *testing.T) {
		env := whNew(t, nil, nil)
		huge := bytes.Repeat([]byte(" "), triggers.DefaultMaxBody+1)
		if rec := env.post(huge, cloudapi.SignWebhook(whSecret, huge)); rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("code %d, want 413", rec.Code)
		}
	})
	t.Run("over real HTTP", func(t *testing.T) {
		// A small excess, which the server drains after the handler, so the
		// connection is not reset under the client before it reads the 413.
		env := whNew(t, nil, func(c *triggers.WebhookConfig) { c.MaxBody = 1024 })
		srv := httptest.NewServer(env.h)
		defer srv.Close()
		big := append(bytes.Repeat([]byte(" "), 4096), body...)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(big))
		req.Header.Set(cloudapi.SignatureHeader, cloudapi.SignWebhook(whSecret, big))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("code %d, want 413", resp.StatusCode)
		}
		env.wantEmpty(t)
	})
	t.Run("exactly the limit", func(t *testing.T) {
		env := whNew(t, nil, func(c *triggers.WebhookConfig) { c.MaxBody = int64(len(body)) })
		if rec := env.post(body, sig); rec.Code != 200 {
			t.Fatalf("code %d, want 200", rec.Code)
		}
	})
}

func TestWebhookPOSTEveryStatusKind(t *testing.T) {
	env := whNew(t, nil, nil)
	names := []string{"status_sent", "status_delivered", "status_read", "status_played", "status_failed_131047"}
	for _, name := range names {
		env.postFixture(t, name, 200)
	}
	got := env.statuses(t, store.Query{PhoneNumberID: whPhone})
	if len(got) != len(names) {
		t.Fatalf("%d events stored, want %d", len(got), len(names))
	}
	want := []struct {
		status    string
		ts        int64
		recipient string
		rawHas    []string
	}{
		{"sent", 1750030073, "16505551234", []string{`"biz_opaque_callback_data":"order\/42?src=mcp"`, `"pricing_model":"PMP"`, `"conversation":{`}},
		{"delivered", 1750030075, "16505551234", []string{`"pricing":{`}},
		{"read", 1750030190, "16505551234", nil},
		{"played", 1750031002, "16505551234", nil},
		{"failed", 1750032000, "447700900123", []string{`"code":131047`, `"href":"https:\/\/developers.facebook.com\/docs\/whatsapp\/cloud-api\/support\/error-codes\/"`}},
	}
	for i, w := range want {
		e := got[i]
		body, _ := whFixture(t, names[i])
		if e.Status != w.status || e.Timestamp != w.ts || e.RecipientID != w.recipient || e.WABAID != whWABA ||
			e.PhoneNumberID != whPhone || e.DisplayPhoneNumber != "15550783881" || e.ReceivedAt.IsZero() {
			t.Errorf("%s: stored %+v", names[i], e)
		}
		// Raw is a verbatim slice of what Meta signed.
		if !bytes.HasPrefix(e.Raw, []byte(`{"id":"wamid.`)) || !bytes.Contains(body, e.Raw) {
			t.Errorf("%s: Raw is not the element's bytes as sent: %s", names[i], e.Raw)
		}
		for _, s := range w.rawHas {
			if !bytes.Contains(e.Raw, []byte(s)) {
				t.Errorf("%s: Raw lacks %s", names[i], s)
			}
		}
	}
}

func TestWebhookPOSTBatched(t *testing.T) {
	env := whNew(t, nil, nil)
	env.postFixture(t, "statuses_batched", 200)
	got := env.statuses(t, store.Query{})
	if len(got) != 10 {
		t.Fatalf("%d events stored from 2 entries × 2 changes, want all 10", len(got))
	}
	id := func(n int) string { return fmt.Sprintf("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI%04dQkFUQ0hFRAA=", n) }
	want := []struct {
		msg, status, phone, waba string
	}{
		{id(1), "sent", whPhone, whWABA},
		{id(2), "sent", whPhone, whWABA},
		{id(1), "delivered", whPhone, whWABA},
		{id(3), "read", "106540352242923", whWABA},
		{id(4), "failed", "106540352242923", whWABA},
		{id(5), "sent", "106540352242924", "102290129340399"},
		{id(5), "delivered", "106540352242924", "102290129340399"},
		{id(5), "read", "106540352242924", "102290129340399"},
		{id(6), "played", whPhone, "102290129340399"},
		{id(2), "read", whPhone, "102290129340399"},
	}
	for i, w := range want {
		e := got[i]
		if e.MessageID != w.msg || e.Status != w.status || e.PhoneNumberID != w.phone || e.WABAID != w.waba {
			t.Errorf("event %d: got %s/%s on %s (WABA %s), want %s/%s on %s (WABA %s)",
				i, e.MessageID, e.Status, e.PhoneNumberID, e.WABAID, w.msg, w.status, w.phone, w.waba)
		}
	}
	if n := len(env.statuses(t, store.Query{PhoneNumberID: whPhone})); n != 5 {
		t.Errorf("%d events for %s, want 5", n, whPhone)
	}
}

func TestWebhookPOSTDuplicatesStoredOnce(t *testing.T) {
	env := whNew(t, nil, nil)
	for range 3 {
		env.postFixture(t, "status_sent", 200) // Meta retries and fans out: every copy is acknowledged
	}
	env.postFixture(t, "statuses_batched", 200)
	env.postFixture(t, "statuses_batched", 200)
	if got := env.statuses(t, store.Query{}); len(got) != 11 {
		t.Fatalf("%d events stored, want 11 (1 + 10, each once)", len(got))
	}
}

func TestWebhookPOSTOutOfOrder(t *testing.T) {
	env := whNew(t, nil, nil)
	for _, name := range []string{"status_read", "status_delivered", "status_sent"} {
		env.postFixture(t, name, 200)
	}
	got := env.statuses(t, store.Query{PhoneNumberID: whPhone})
	if k := whKeys(got); !slices.Equal(k, []string{"MzAzMzQ5MkEA/read", "MzAzMzQ5MkEA/delivered", "MzAzMzQ5MkEA/sent"}) {
		t.Fatalf("arrival order lost: %v", k)
	}
	if !(got[0].Timestamp > got[1].Timestamp && got[1].Timestamp > got[2].Timestamp) {
		t.Fatalf("Meta's timestamps not kept for consumers to sort by: %d %d %d", got[0].Timestamp, got[1].Timestamp, got[2].Timestamp)
	}
	h, err := env.st.History(context.Background(), []string{whWamid})
	if err != nil {
		t.Fatal(err)
	}
	if k := whKeys(h[whWamid]); !slices.Equal(k, []string{"MzAzMzQ5MkEA/read", "MzAzMzQ5MkEA/delivered", "MzAzMzQ5MkEA/sent"}) {
		t.Fatalf("History: %v", k)
	}
}

func TestWebhookPOSTInbound(t *testing.T) {
	env := whNew(t, nil, nil)
	env.postFixture(t, "inbound_text", 200)
	last, ok, err := env.st.LastInbound(context.Background(), whPhone, "+1 650 555 1234")
	if err != nil || !ok || !last.Equal(time.Unix(1750030000, 0)) {
		t.Fatalf("LastInbound = %v, %v, %v; want %v", last, ok, err, time.Unix(1750030000, 0).UTC())
	}
	if got := env.statuses(t, store.Query{}); len(got) != 0 {
		t.Fatalf("an inbound message became %d status events", len(got))
	}
	b, err := triggers.ParsePayload(func() []byte { body, _ := whFixture(t, "inbound_text"); return body }())
	if err != nil || len(b.Inbound) != 1 {
		t.Fatalf("ParsePayload: %+v, %v", b, err)
	}
	m := b.Inbound[0]
	if m.From != "16505551234" || m.Type != "text" || m.PhoneNumberID != whPhone ||
		!bytes.Contains(m.Raw, []byte(`caf\u00e9 open on 12\/24? Menu: https:\/\/example.com\/menu`)) {
		t.Fatalf("inbound parsed as %+v / %s", m, m.Raw)
	}
}

// The webhook stamps what it stores with its clock, read once per delivery.
func TestWebhookReceivedAtFromClock(t *testing.T) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", 5*3600))
	var calls atomic.Int64
	env := whNew(t, nil, func(c *triggers.WebhookConfig) {
		c.Now = func() time.Time { return base.Add(time.Duration(calls.Add(1)-1) * time.Hour) }
	})
	// Stored times keep microseconds, in UTC.
	want := func(delivery int) time.Time {
		return base.Add(time.Duration(delivery) * time.Hour).UTC().Truncate(time.Microsecond)
	}

	env.postFixture(t, "status_sent", 200)
	env.postFixture(t, "status_delivered", 200)
	got := env.statuses(t, store.Query{})
	if len(got) != 2 {
		t.Fatalf("%d events stored, want 2", len(got))
	}
	for i, e := range got {
		if !e.ReceivedAt.Equal(want(i)) {
			t.Errorf("delivery %d (%s): ReceivedAt = %v, want the clock's %v", i, e.Status, e.ReceivedAt, want(i))
		}
	}

	// An inbound message without a timestamp: its arrival, the clock's time,
	// is when the customer last wrote.
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + whWABA + `","changes":[{"field":"messages",` +
		`"value":{"metadata":{"display_phone_number":"15550783881","phone_number_id":"` + whPhone + `"},` +
		`"messages":[{"from":"16505551234","id":"wamid.clock-inbound","type":"text"}]}}]}]}`)
	if rec := env.post(body, cloudapi.SignWebhook(whSecret, body)); rec.Code != 200 {
		t.Fatalf("POST inbound: %d %q", rec.Code, rec.Body.String())
	}
	last, ok, err := env.st.LastInbound(context.Background(), whPhone, "16505551234")
	if err != nil || !ok || !last.Equal(want(2)) {
		t.Fatalf("LastInbound = %v, %v, %v; want the clock's %v", last, ok, err, want(2))
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("the clock was read %d times for 3 deliveries, want 3", n)
	}
}

func TestWebhookPOSTIgnoredDeliveries(t *testing.T) {
	// Another object: 200, so Meta stops retrying, and nothing stored.
	env := whNew(t, nil, nil)
	env.postFixture(t, "other_object", 200)
	env.wantEmpty(t)
	if ch, err := env.st.Changes(context.Background(), store.ChangeQuery{}); err != nil || len(ch) != 0 {
		t.Errorf("changes %+v, %v; want none", ch, err)
	}
	if !strings.Contains(env.logs.String(), `object \"page\"`) {
		t.Errorf("logs lack the object:\n%s", env.logs.String())
	}
}

// Changes of other fields, and value-level errors[], are kept whole
// (testdata/inbound has one of each kind).
func TestWebhookPOSTOtherChangesKept(t *testing.T) {
	for _, tc := range []struct{ fixture, field, subject, logHas string }{
		{"template_status_update", "message_template_status_update", "1234567890123456", "message_template_status_update"},
		{"system_error", "messages", whPhone, "code=131000"}, // also logged at warn
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			env := whNew(t, nil, nil)
			env.postFixture(t, tc.fixture, 200)
			env.wantEmpty(t)
			ch, err := env.st.Changes(context.Background(), store.ChangeQuery{})
			if err != nil || len(ch) != 1 || ch[0].Field != tc.field || ch[0].Subject != tc.subject {
				t.Fatalf("changes %+v, %v; want one of %s/%s", ch, err, tc.field, tc.subject)
			}
			if !strings.Contains(env.logs.String(), tc.logHas) {
				t.Errorf("logs lack %q:\n%s", tc.logHas, env.logs.String())
			}
		})
	}
}

func TestWebhookPOSTInvalidJSON(t *testing.T) {
	for _, body := range []string{
		`not json`,
		`{"object":"whatsapp_business_account","entry":"not a list"}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{}}]}]`, // truncated
	} {
		env := whNew(t, nil, nil)
		if rec := env.post([]byte(body), cloudapi.SignWebhook(whSecret, []byte(body))); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: code %d, want 400", body, rec.Code)
		}
		env.wantEmpty(t)
	}
}

func TestWebhookMethodNotAllowed(t *testing.T) {
	env := whNew(t, nil, nil)
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead} {
		rec := httptest.NewRecorder()
		env.h.ServeHTTP(rec, httptest.NewRequest(m, "/webhook", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, POST" {
			t.Errorf("%s: %d Allow=%q, want 405 and GET, POST", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// failingStore fails the first fails Saves, like a full disk or a database
// restart, then passes through.
type failingStore struct {
	store.Store
	fails int32
	calls atomic.Int32
}

func (f *failingStore) Save(ctx context.Context, b store.Batch) (int, int, error) {
	if f.calls.Add(1) <= f.fails {
		return 0, 0, errors.New("disk I/O error")
	}
	return f.Store.Save(ctx, b)
}

func TestWebhookStoreFailureThenRetry(t *testing.T) {
	real := whOpenStore(t)
	env := whNew(t, &failingStore{Store: real, fails: 1}, nil)
	body, sig := whFixture(t, "statuses_batched")
	if rec := env.post(body, sig); rec.Code != http.StatusInternalServerError {
		t.Fatalf("store failure: code %d, want 500 so Meta retries", rec.Code)
	}
	if got := env.statuses(t, store.Query{}); len(got) != 0 {
		t.Fatalf("%d events stored by a failed Save", len(got))
	}
	// Meta's retry: the same bytes and signature.
	if rec := env.post(body, sig); rec.Code != 200 {
		t.Fatalf("retry: code %d, want 200", rec.Code)
	}
	if got := env.statuses(t, store.Query{}); len(got) != 10 {
		t.Fatalf("after the retry %d events stored, want 10", len(got))
	}
}

// gateStore holds Save until released.
type gateStore struct {
	store.Store
	entered, release chan struct{}
}

func (g *gateStore) Save(ctx context.Context, b store.Batch) (int, int, error) {
	close(g.entered)
	<-g.release
	return g.Store.Save(ctx, b)
}

// probeWriter runs a check at the moment the handler commits to a status code.
type probeWriter struct {
	*httptest.ResponseRecorder
	onHeader func(code int)
	wrote    bool
}

func (p *probeWriter) WriteHeader(code int) {
	if !p.wrote {
		p.wrote = true
		p.onHeader(code)
	}
	p.ResponseRecorder.WriteHeader(code)
}

func (p *probeWriter) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.ResponseRecorder.Write(b)
}

func TestWebhookAcknowledgesOnlyAfterSave(t *testing.T) {
	body, sig := whFixture(t, "status_failed_131047")

	t.Run("event readable when 200 is written", func(t *testing.T) {
		env := whNew(t, nil, nil)
		readable := false
		w := &probeWriter{ResponseRecorder: httptest.NewRecorder(), onHeader: func(code int) {
			evs, _, err := env.st.Statuses(context.Background(), store.Query{Status: "failed"})
			readable = err == nil && len(evs) == 1
		}}
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		req.Header.Set(cloudapi.SignatureHeader, sig)
		env.h.ServeHTTP(w, req)
		if w.Code != 200 || !readable {
			t.Fatalf("code %d, event readable at WriteHeader: %v; want 200 after the event is stored", w.Code, readable)
		}
	})

	t.Run("no response while Save runs", func(t *testing.T) {
		gate := &gateStore{Store: whOpenStore(t), entered: make(chan struct{}), release: make(chan struct{})}
		env := whNew(t, gate, nil)
		srv := httptest.NewServer(env.h)
		defer srv.Close()
		done := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
			req.Header.Set(cloudapi.SignatureHeader, sig)
			resp, err := srv.Client().Do(req)
			if err != nil {
				done <- -1
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		<-gate.entered
		select {
		case code := <-done:
			t.Fatalf("answered %d while Save was still running", code)
		case <-time.After(150 * time.Millisecond):
		}
		close(gate.release)
		if code := <-done; code != 200 {
			t.Fatalf("code %d, want 200", code)
		}
		if got := env.statuses(t, store.Query{}); len(got) != 1 {
			t.Fatalf("%d events stored, want 1", len(got))
		}
	})
}

func TestParsePayload(t *testing.T) {
	body, _ := whFixture(t, "statuses_batched")
	b, err := triggers.ParsePayload(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Statuses) != 10 || len(b.Inbound) != 0 {
		t.Fatalf("parsed %d statuses, %d inbound; want 10, 0", len(b.Statuses), len(b.Inbound))
	}
	for _, e := range b.Statuses {
		if e.Timestamp < 1750040001 || e.ReceivedAt.IsZero() || e.DisplayPhoneNumber == "" || !bytes.Contains(body, e.Raw) {
			t.Errorf("parsed %+v", e)
		}
	}

	// Tolerated: a numeric timestamp, a status without id (skipped), a
	// malformed change (skipped) next to a good one.
	odd := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[` +
		`{"field":"messages","value":{"metadata":{"phone_number_id":"9"},"statuses":[{"id":"w1","status":"sent","timestamp":1750000000},{"status":"read"},"junk"]}},` +
		`{"field":"messages","value":{"statuses":"not a list"}},` +
		`{"field":"messages","value":{"metadata":{"phone_number_id":"9"},"statuses":[{"id":"w2","status":"delivered","timestamp":"bogus"}]}}]}]}`
	b, err = triggers.ParsePayload([]byte(odd))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Statuses) != 2 || b.Statuses[0].Timestamp != 1750000000 || b.Statuses[1].MessageID != "w2" || b.Statuses[1].Timestamp != 0 {
		t.Fatalf("odd payload parsed as %+v", b.Statuses)
	}

	if _, err := triggers.ParsePayload([]byte(`{"object":"page","entry":[]}`)); !errors.Is(err, triggers.ErrUnknownObject) {
		t.Errorf("object page: err %v, want ErrUnknownObject", err)
	}
	if _, err := triggers.ParsePayload([]byte(`{`)); err == nil || errors.Is(err, triggers.ErrUnknownObject) {
		t.Errorf("invalid JSON: err %v", err)
	}
}
