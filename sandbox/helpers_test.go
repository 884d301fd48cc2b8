package sandbox_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

const (
	v        = "/v25.0"
	customer = "+16505551234"
	waID     = "16505551234"
)

// fakeClock is a settable clock for Config.Clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Webhook body as a receiver sees it.
type hookBody struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string    `json:"field"`
			Value hookValue `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type hookValue struct {
	MessagingProduct string `json:"messaging_product"`
	Metadata         struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		From      string `json:"from"`
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Type      string `json:"type"`
		Text      struct {
			Body string `json:"body"`
		} `json:"text"`
	} `json:"messages"`
	Statuses []hookStatus `json:"statuses"`
}

type hookStatus struct {
	PhoneNumberID string          `json:"-"`
	ID            string          `json:"id"`
	Status        string          `json:"status"`
	Timestamp     json.RawMessage `json:"timestamp"`
	RecipientID   string          `json:"recipient_id"`
	BizOpaque     string          `json:"biz_opaque_callback_data"`
	Conversation  json.RawMessage `json:"conversation"`
	Pricing       *struct {
		Billable     bool   `json:"billable"`
		PricingModel string `json:"pricing_model"`
		Type         string `json:"type"`
		Category     string `json:"category"`
	} `json:"pricing"`
	Errors []struct {
		Code      int    `json:"code"`
		Title     string `json:"title"`
		Message   string `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
		Href string `json:"href"`
	} `json:"errors"`
}

// receiver is a webhook endpoint that checks every POST the way a careful consumer must:
// signature over the raw bytes with its own HMAC code, Meta's escaping, JSON shape.
type receiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server

	mu        sync.Mutex
	failFirst int // answer 500 to this many POSTs first
	attempts  int
	raws      [][]byte // bodies answered 200, in arrival order
}

var (
	upperEscape = regexp.MustCompile(`\\u[0-9a-f]{0,3}[A-F]`)
	bareSlash   = regexp.MustCompile(`(^|[^\\])/`)
)

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{t: t, secret: secret}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet { // Meta's subscription handshake
		q := r.URL.Query()
		if q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != sandbox.DefaultVerifyToken {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, q.Get("hub.challenge"))
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("receiver: reading body: %v", err)
		return
	}
	m := hmac.New(sha256.New, []byte(rc.secret))
	m.Write(raw)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if got := r.Header.Get("X-Hub-Signature-256"); !hmac.Equal([]byte(got), []byte(want)) {
		rc.t.Errorf("receiver: bad signature %q, want %q", got, want)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		rc.t.Errorf("receiver: Content-Type %q", ct)
	}
	for _, c := range raw {
		if c >= 0x80 {
			rc.t.Errorf("receiver: raw non-ASCII byte in body: %s", raw)
			break
		}
	}
	if bareSlash.Match(raw) {
		rc.t.Errorf("receiver: unescaped '/' in body: %s", raw)
	}
	if upperEscape.Match(raw) {
		rc.t.Errorf("receiver: uppercase \\u escape in body: %s", raw)
	}
	var hb hookBody
	if err := json.Unmarshal(raw, &hb); err != nil || hb.Object != "whatsapp_business_account" || len(hb.Entry) == 0 {
		rc.t.Errorf("receiver: bad payload (%v): %s", err, raw)
	}
	rc.mu.Lock()
	rc.attempts++
	fail := rc.attempts <= rc.failFirst
	if !fail {
		rc.raws = append(rc.raws, raw)
	}
	rc.mu.Unlock()
	if fail {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (rc *receiver) bodies() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.raws...)
}

func (rc *receiver) parsed() []hookBody {
	var out []hookBody
	for _, raw := range rc.bodies() {
		var hb hookBody
		_ = json.Unmarshal(raw, &hb)
		out = append(out, hb)
	}
	return out
}

// statuses flattens every entry → change → status of every accepted POST, in order.
func (rc *receiver) statuses() []hookStatus {
	var out []hookStatus
	for _, hb := range rc.parsed() {
		for _, e := range hb.Entry {
			for _, c := range e.Changes {
				for _, s := range c.Value.Statuses {
					s.PhoneNumberID = c.Value.Metadata.PhoneNumberID
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func (rc *receiver) statusesOf(id string) []hookStatus {
	var out []hookStatus
	for _, s := range rc.statuses() {
		if s.ID == id {
			out = append(out, s)
		}
	}
	return out
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// env is a sandbox behind a real HTTP server, with an optional webhook receiver.
type env struct {
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	rcv   *receiver
	clock *fakeClock
}

func newEnv(t *testing.T, cfg sandbox.Config, withReceiver bool) *env {
	t.Helper()
	e := &env{}
	if withReceiver {
		secret := cfg.AppSecret
		if secret == "" {
			secret = sandbox.DefaultAppSecret
		}
		e.rcv = newReceiver(t, secret)
		cfg.WebhookURL = e.rcv.srv.URL + "/webhook"
	}
	if cfg.Clock == nil {
		e.clock = newFakeClock()
		cfg.Clock = e.clock.Now
	}
	e.sb = sandbox.New(cfg)
	e.srv = httptest.NewServer(e.sb)
	t.Cleanup(e.srv.Close)
	t.Cleanup(func() { _ = e.sb.Close() }) // runs first: stop deliveries before servers go
	return e
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// errCode returns error.code, error.error_subcode and error.type of an error answer.
func (r resp) errCode() (code, subcode int, typ string) {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(float64)
	s, _ := e["error_subcode"].(float64)
	t, _ := e["type"].(string)
	return int(c), int(s), t
}

func (r resp) errField(k string) any {
	e, _ := r.body["error"].(map[string]any)
	return e[k]
}

// do sends a request with the default bearer token; body may be nil, []byte, string or a
// value to JSON-encode.
func (e *env) do(t *testing.T, method, path string, body any, mods ...func(*http.Request)) resp {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer "+sandbox.DefaultToken)
	for _, m := range mods {
		m(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (e *env) get(t *testing.T, path string) resp {
	t.Helper()
	return e.do(t, http.MethodGet, path, nil)
}

func (e *env) send(t *testing.T, body map[string]any) resp {
	t.Helper()
	return e.do(t, http.MethodPost, v+"/"+sandbox.PhoneNumberID+"/messages", body)
}

// messageID returns messages[0].id of a send answer.
func (r resp) messageID(t *testing.T) string {
	t.Helper()
	msgs, _ := r.body["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("no messages in %d answer: %s", r.status, r.raw)
	}
	id, _ := msgs[0].(map[string]any)["id"].(string)
	return id
}

func text(to, body string) map[string]any {
	return map[string]any{"messaging_product": "whatsapp", "to": to, "type": "text", "text": map[string]any{"body": body}}
}

func tmpl(to, name, lang string, comps ...any) map[string]any {
	t := map[string]any{"name": name, "language": map[string]any{"code": lang}}
	if comps != nil {
		t["components"] = comps
	}
	return map[string]any{"messaging_product": "whatsapp", "to": to, "type": "template", "template": t}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// wantFields GETs path and asserts HTTP 200 with exactly the top-level keys
// want, in any order; with code != 0 it asserts that Graph error (HTTP 400)
// instead.
func (e *env) wantFields(t *testing.T, path string, want []string, code int) {
	t.Helper()
	r := e.get(t, path)
	if code != 0 {
		wantError(t, r, 400, code, 0)
		return
	}
	got := keys(r.body)
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if r.status != 200 || !slices.Equal(got, want) {
		t.Errorf("HTTP %d, fields %v, want %v: %s", r.status, got, want, r.raw)
	}
}

func wantError(t *testing.T, r resp, status, code, subcode int) {
	t.Helper()
	c, s, _ := r.errCode()
	if r.status != status || c != code || s != subcode {
		t.Fatalf("got HTTP %d code %d subcode %d, want HTTP %d code %d subcode %d: %s", r.status, c, s, status, code, subcode, r.raw)
	}
	if tr, _ := r.errField("fbtrace_id").(string); tr == "" {
		t.Errorf("error without fbtrace_id: %s", r.raw)
	}
	if m, _ := r.errField("message").(string); m == "" {
		t.Errorf("error without message: %s", r.raw)
	}
}
