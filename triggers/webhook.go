// Package triggers receives Meta's WhatsApp webhooks and serves the status
// trigger from what they stored.
package triggers

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// DefaultMaxBody bounds a webhook body: Meta sends at most 3 MB, plus margin.
const DefaultMaxBody = 4 << 20

// WebhookConfig configures NewWebhook.
type WebhookConfig struct {
	// AppSecret is the Meta app secret that keys X-Hub-Signature-256. Empty
	// refuses every POST: an HMAC under an empty key is one anyone can make.
	AppSecret string
	// VerifyToken is the string typed into the App Dashboard for the GET
	// handshake. Empty refuses every handshake.
	VerifyToken string
	// MaxBody is the largest body accepted; <= 0 means DefaultMaxBody.
	MaxBody int64
	// Logger receives counts and ids only, never secrets or message content;
	// nil discards.
	Logger *slog.Logger
	// Now is the clock that stamps each stored event's ReceivedAt and paces
	// the refusal logs (tests); nil means time.Now.
	Now func() time.Time
	// OnDelivery, when set, is told the outcome of every POST (metrics),
	// after the answer is decided and before it is written. It must be
	// quick and safe for concurrent use.
	OnDelivery func(Delivery)
}

// Delivery is what WebhookConfig.OnDelivery is told of one POST: counts and
// values from fixed sets, never an id, a number or content.
type Delivery struct {
	Outcome string // one of the Delivery* outcomes
	Reason  string // why, for every outcome but accepted and duplicate: one of the Reason* values
	// Statuses and InboundTypes are what a stored delivery carried;
	// NewStatuses and NewInbound how many of them the store had not seen.
	Statuses, NewStatuses int
	NewInbound            int
	// Outbound counts the messages sent from the Business app
	// (smb_message_echoes) and Changes the other changes kept, new or not.
	Outbound, Changes int
	// InboundTypes holds the type of each inbound message (text, image,
	// …) as the payload spelled it: map it to a fixed set before using it
	// as a metric label.
	InboundTypes []string
}

// Delivery outcomes.
const (
	DeliveryAccepted  = "accepted"  // stored and answered 200; something was new, or nothing was carried
	DeliveryDuplicate = "duplicate" // stored and answered 200, but every event was stored already (a redelivery)
	DeliveryIgnored   = "ignored"   // signed but not a WhatsApp payload: answered 200, nothing stored
	DeliveryRejected  = "rejected"  // refused with a 4xx (Reason says why); a signed one Meta retries
	DeliveryFailed    = "failed"    // the store failed: answered 5xx, Meta delivers again later
)

// Why a request was refused, ignored or not stored: the reason attribute
// of the log lines and Delivery.Reason.
const (
	ReasonBodyTooLarge        = "body_too_large"
	ReasonNoAppSecret         = "no_app_secret"
	ReasonMissingSignature    = "missing_signature"
	ReasonBadSignature        = "bad_signature"
	ReasonUnreadableBody      = "unreadable_body"
	ReasonInvalidPayload      = "invalid_payload"
	ReasonUnknownObject       = "unknown_object"
	ReasonStoreFailed         = "store_failed"
	ReasonVerificationRefused = "verification_refused" // the GET handshake; not a Delivery
)

// RefusalLogInterval is how often at most each reason of refusal is logged:
// anyone who can reach /webhook can send refused requests, and a flood of
// them must not flood the log. The next line of a reason says how many were
// held back since the last one (suppressed=N).
const RefusalLogInterval = 10 * time.Second

// Signature errors, as returned by VerifySignature.
var (
	ErrMissingSignature = errors.New("triggers: missing X-Hub-Signature-256 header")
	ErrBadSignature     = errors.New("triggers: X-Hub-Signature-256 does not match the body")
)

// ErrUnknownObject is returned (wrapped) by ParsePayload for a payload whose
// object is not "whatsapp_business_account".
var ErrUnknownObject = errors.New("triggers: not a whatsapp_business_account webhook")

// VerifySignature checks header ("sha256=<hex>", the X-Hub-Signature-256
// value) against the HMAC-SHA256 of the raw body under appSecret. It must see
// the bytes as received: Meta escapes "/" and non-ASCII characters, so a
// decoded and re-encoded body does not match.
func VerifySignature(appSecret string, body []byte, header string) error {
	if header == "" {
		return ErrMissingSignature
	}
	if appSecret == "" {
		return fmt.Errorf("%w: no app secret configured", ErrBadSignature)
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return fmt.Errorf("%w: want sha256=<64 hex digits>", ErrBadSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: want sha256=<64 hex digits>", ErrBadSignature)
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return ErrBadSignature
	}
	return nil
}

// ParsePayload extracts everything a webhook body carries, walking every
// entry and every change (Meta batches): status updates, inbound messages,
// messages sent from the Business app (smb_message_echoes) as outbound, and
// every other change as a store.Change (docs/cloud-api.md#other-webhook-fields).
// Each event's Raw is its element's bytes as sent; ReceivedAt is now.
func ParsePayload(body []byte) (store.Batch, error) {
	b, _, err := parse(body, time.Now())
	return b, err
}

// Fields of changes[] read into more than a store.Change.
const (
	fieldMessages = "messages"
	fieldEchoes   = "smb_message_echoes"
)

// templateFields are the changes about one template: their Subject is the
// value's message_template_id.
var templateFields = map[string]bool{
	"message_template_status_update":     true,
	"message_template_quality_update":    true,
	"message_template_components_update": true,
	"template_category_update":           true,
}

// The parts of the payload we read; everything else stays in Raw.
type (
	envelope struct {
		Object string `json:"object"`
		Entry  []struct {
			ID      string `json:"id"`
			Changes []struct {
				Field string          `json:"field"`
				Value json.RawMessage `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	metadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	}
	// contact is a value.contacts[] element: who sent (or was sent) the
	// messages of the change (docs/cloud-api.md#bsuid).
	contact struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID   string `json:"wa_id"`
		UserID string `json:"user_id"`
	}
	messagesValue struct {
		Metadata metadata          `json:"metadata"`
		Contacts []contact         `json:"contacts"`
		Statuses []json.RawMessage `json:"statuses"`
		Messages []json.RawMessage `json:"messages"`
		Errors   []systemError     `json:"errors"`
	}
	echoesValue struct {
		Metadata metadata          `json:"metadata"`
		Contacts []contact         `json:"contacts"`
		Echoes   []json.RawMessage `json:"message_echoes"`
	}
	statusFields struct {
		ID          string   `json:"id"`
		Status      string   `json:"status"`
		Timestamp   unixTime `json:"timestamp"`
		RecipientID string   `json:"recipient_id"`
	}
	messageFields struct {
		ID         string   `json:"id"`
		From       string   `json:"from"`
		FromUserID string   `json:"from_user_id"`
		Type       string   `json:"type"`
		Timestamp  unixTime `json:"timestamp"`
	}
	echoFields struct {
		ID        string   `json:"id"`
		To        string   `json:"to"`
		ToUserID  string   `json:"to_user_id"`
		Type      string   `json:"type"`
		Timestamp unixTime `json:"timestamp"`
	}
	systemError struct {
		Code  int    `json:"code"`
		Title string `json:"title"`
	}
)

// unixTime reads Meta's timestamps, strings of unix seconds ("1750030073"),
// also as bare numbers. Anything else reads as 0 rather than rejecting the
// whole delivery, which Meta would then retry for days.
type unixTime int64

func (u *unixTime) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	if err != nil {
		n = 0
	}
	*u = unixTime(n)
	return nil
}

// report is what parse saw besides the batch, for the logs.
type report struct {
	changeFields map[string]int // changes kept as store.Change, by field
	skipped      int            // malformed changes or elements, or ones without an id
	systemErrors []systemError  // value.errors[]
	phoneIDs     []string       // business numbers the batch concerns
}

// parser walks one payload into a batch.
type parser struct {
	b         store.Batch
	rep       report
	now       time.Time
	seenPhone map[string]bool
}

func parse(body []byte, now time.Time) (store.Batch, report, error) {
	var env envelope
	p := parser{rep: report{changeFields: map[string]int{}}, now: now, seenPhone: map[string]bool{}}
	if err := json.Unmarshal(body, &env); err != nil {
		return p.b, p.rep, fmt.Errorf("triggers: invalid webhook payload: %w", err)
	}
	if env.Object != "whatsapp_business_account" {
		return p.b, p.rep, fmt.Errorf("%w: object %q", ErrUnknownObject, env.Object)
	}
	for _, entry := range env.Entry {
		for _, ch := range entry.Changes {
			var kept bool
			switch ch.Field {
			case fieldMessages:
				kept = p.messages(entry.ID, ch.Value)
			case fieldEchoes:
				kept = p.echoes(ch.Value)
			}
			if !kept {
				p.change(entry.ID, ch.Field, ch.Value)
			}
		}
	}
	return p.b, p.rep, nil
}

func (p *parser) phone(id string) {
	if !p.seenPhone[id] {
		p.seenPhone[id] = true
		p.rep.phoneIDs = append(p.rep.phoneIDs, id)
	}
}

// change keeps a changes[] element whole: nothing signed is dropped. Its key
// is a digest of where it came from and its bytes, so a redelivery is
// stored once.
func (p *parser) change(wabaID, field string, value json.RawMessage) {
	c := store.Change{WABAID: wabaID, Field: field, Raw: value, ReceivedAt: p.now}
	switch {
	case templateFields[field]:
		var v struct {
			ID json.RawMessage `json:"message_template_id"`
		}
		if json.Unmarshal(value, &v) == nil {
			c.Subject = metaString(v.ID)
		}
	case field == fieldMessages:
		var v struct {
			Metadata metadata `json:"metadata"`
		}
		if json.Unmarshal(value, &v) == nil {
			c.Subject = v.Metadata.PhoneNumberID
		}
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(wabaID), []byte(field), value} {
		h.Write(part)
		h.Write([]byte{0}) // "ab"+"c" and "a"+"bc" must differ
	}
	c.Key = hex.EncodeToString(h.Sum(nil))
	p.b.Changes = append(p.b.Changes, c)
	p.rep.changeFields[field]++
}

// messages reads a "messages" change: statuses and inbound messages. It
// reports whether they hold all the change says: one with value.errors[],
// an element that could not be stored, or nothing at all is kept whole
// as a change too.
func (p *parser) messages(wabaID string, value json.RawMessage) (kept bool) {
	var v messagesValue
	if err := json.Unmarshal(value, &v); err != nil {
		p.rep.skipped++ // one odd change must not cost the others (nor loop Meta's retries)
		return false
	}
	phone := v.Metadata.PhoneNumberID
	p.phone(phone)
	p.rep.systemErrors = append(p.rep.systemErrors, v.Errors...)
	complete := len(v.Errors) == 0 && len(v.Statuses)+len(v.Messages) > 0
	for _, raw := range v.Statuses {
		var s statusFields
		if err := json.Unmarshal(raw, &s); err != nil || s.ID == "" || s.Status == "" {
			p.rep.skipped++ // no key to store or deduplicate it by
			complete = false
			continue
		}
		p.b.Statuses = append(p.b.Statuses, store.StatusEvent{
			WABAID:             wabaID,
			PhoneNumberID:      phone,
			DisplayPhoneNumber: v.Metadata.DisplayPhoneNumber,
			MessageID:          s.ID,
			Status:             s.Status,
			Timestamp:          int64(s.Timestamp),
			RecipientID:        s.RecipientID,
			Raw:                raw, // Unmarshal copied the element's exact bytes
			ReceivedAt:         p.now,
		})
	}
	for _, raw := range v.Messages {
		var m messageFields
		if err := json.Unmarshal(raw, &m); err != nil || m.ID == "" {
			p.rep.skipped++
			complete = false
			continue
		}
		who := sender(v.Contacts, m.From, m.FromUserID)
		userID := m.FromUserID
		if userID == "" {
			userID = who.UserID
		}
		text, contextID := conversations.Extract(m.Type, raw)
		p.b.Inbound = append(p.b.Inbound, store.InboundMessage{
			PhoneNumberID: phone,
			MessageID:     m.ID,
			From:          m.From,
			UserID:        userID,
			ProfileName:   who.Profile.Name,
			Type:          m.Type,
			Timestamp:     int64(m.Timestamp),
			Text:          text,
			ContextID:     contextID,
			Raw:           raw,
			ReceivedAt:    p.now,
		})
	}
	return complete
}

// echoes reads a smb_message_echoes change: messages the business sent
// from the WhatsApp Business app, stored as outbound
// (docs/cloud-api.md#message-echoes).
func (p *parser) echoes(value json.RawMessage) (kept bool) {
	var v echoesValue
	if err := json.Unmarshal(value, &v); err != nil {
		p.rep.skipped++
		return false
	}
	phone := v.Metadata.PhoneNumberID
	p.phone(phone)
	complete := len(v.Echoes) > 0
	for _, raw := range v.Echoes {
		var m echoFields
		if err := json.Unmarshal(raw, &m); err != nil || m.ID == "" {
			p.rep.skipped++
			complete = false
			continue
		}
		userID := m.ToUserID
		if userID == "" {
			userID = sender(v.Contacts, m.To, "").UserID
		}
		text, contextID := conversations.Extract(m.Type, raw)
		p.b.Outbound = append(p.b.Outbound, store.OutboundMessage{
			PhoneNumberID: phone,
			MessageID:     m.ID,
			To:            m.To,
			UserID:        userID,
			Type:          m.Type,
			Timestamp:     int64(m.Timestamp),
			Text:          text,
			ContextID:     contextID,
			Source:        store.SourceApp,
			Raw:           raw,
			ReceivedAt:    p.now,
		})
	}
	return complete
}

// sender finds the value.contacts[] element of a message's customer: by
// wa_id (any spelling of the same digits), else by BSUID, else the only
// one. The zero contact when none matches.
func sender(contacts []contact, waID, userID string) contact {
	for _, c := range contacts {
		if waID != "" && digitsOnly(c.WaID) == digitsOnly(waID) {
			return c
		}
	}
	for _, c := range contacts {
		if userID != "" && c.UserID == userID {
			return c
		}
	}
	if len(contacts) == 1 && waID == "" && userID == "" {
		return contacts[0]
	}
	return contact{}
}

// digitsOnly keeps the digits of a wa_id or phone number ("+1 650…").
func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

type webhook struct {
	st       store.Store
	secret   []byte
	token    [sha256.Size]byte // hashed so the comparison takes the same time whatever the lengths
	noToken  bool
	maxBody  int64
	log      *slog.Logger
	now      func() time.Time
	observe  func(Delivery)
	refusals refusalLog
}

// refusalLog paces the log lines of refused requests: one per reason per
// RefusalLogInterval, counting the ones it holds back. Its maps are keyed
// by the Reason* constants, so they stay small.
type refusalLog struct {
	mu   sync.Mutex
	next map[string]time.Time // when the reason may be logged again
	held map[string]int       // lines held back since the last one logged
}

// allow says whether a line for reason may be logged at now, and how many
// were held back before it.
func (l *refusalLog) allow(reason string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if next, seen := l.next[reason]; seen && now.Before(next) {
		l.held[reason]++
		return false, 0
	}
	if l.next == nil {
		l.next, l.held = map[string]time.Time{}, map[string]int{}
	}
	l.next[reason] = now.Add(RefusalLogInterval)
	suppressed = l.held[reason]
	delete(l.held, reason)
	return true, suppressed
}

// logRefusal logs a refused request, paced by h.refusals.
func (h *webhook) logRefusal(r *http.Request, level slog.Level, msg, reason string, attrs ...any) {
	ok, suppressed := h.refusals.allow(reason, h.now())
	if !ok {
		return
	}
	attrs = append([]any{"reason", reason}, attrs...)
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	h.log.Log(r.Context(), level, msg, attrs...)
}

// reject refuses a POST: the paced log line, the observer, the answer.
func (h *webhook) reject(w http.ResponseWriter, r *http.Request, status int, answer, msg, reason string, attrs ...any) {
	h.logRefusal(r, slog.LevelWarn, msg, reason, attrs...)
	h.observe(Delivery{Outcome: DeliveryRejected, Reason: reason})
	http.Error(w, answer, status)
}

// NewWebhook returns the handler for Meta's callback URL: GET answers the
// verification handshake, POST verifies the signature over the raw body,
// stores everything it carries in st, and answers 200 only after
// st.Save has returned (Meta retries anything else, so nothing is lost).
func NewWebhook(st store.Store, cfg WebhookConfig) http.Handler {
	h := &webhook{
		st:      st,
		secret:  []byte(cfg.AppSecret),
		token:   sha256.Sum256([]byte(cfg.VerifyToken)),
		noToken: cfg.VerifyToken == "",
		maxBody: cfg.MaxBody,
		log:     cfg.Logger,
		now:     cfg.Now,
		observe: cfg.OnDelivery,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.observe == nil {
		h.observe = func(Delivery) {}
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if len(h.secret) == 0 {
		h.log.Warn("webhook: no app secret configured; every delivery will be refused with 401")
	}
	if h.noToken {
		h.log.Warn("webhook: no verify token configured; Meta's verification handshake will be refused")
	}
	return h
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.handshake(w, r)
	case http.MethodPost:
		h.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// handshake answers GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…
func (h *webhook) handshake(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	given := sha256.Sum256([]byte(q.Get("hub.verify_token")))
	tokenOK := subtle.ConstantTimeCompare(given[:], h.token[:]) == 1
	if h.noToken || q.Get("hub.mode") != "subscribe" || !tokenOK {
		h.logRefusal(r, slog.LevelWarn, "webhook: verification refused", ReasonVerificationRefused,
			"mode", q.Get("hub.mode"), "token_ok", tokenOK && !h.noToken, "remote", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	challenge := q.Get("hub.challenge")
	if challenge == "" {
		http.Error(w, "missing hub.challenge", http.StatusBadRequest)
		return
	}
	h.log.Info("webhook: verification accepted")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff") // the body is caller-chosen text
	io.WriteString(w, challenge)
}

func (h *webhook) receive(w http.ResponseWriter, r *http.Request) {
	received := h.now()
	start := time.Now() // for the duration logged, which a test's fixed clock would zero
	if r.ContentLength > h.maxBody {
		h.reject(w, r, http.StatusRequestEntityTooLarge, "request body too large", "webhook: body too large", ReasonBodyTooLarge,
			"content_length", r.ContentLength, "max", h.maxBody, "remote", r.RemoteAddr)
		return
	}
	if len(h.secret) == 0 {
		h.logRefusal(r, slog.LevelError, "webhook: delivery refused: no app secret configured", ReasonNoAppSecret)
		h.observe(Delivery{Outcome: DeliveryRejected, Reason: ReasonNoAppSecret})
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	sig := r.Header.Get(cloudapi.SignatureHeader)
	if sig == "" {
		h.reject(w, r, http.StatusUnauthorized, "unauthorized", "webhook: delivery refused", ReasonMissingSignature,
			"err", ErrMissingSignature, "remote", r.RemoteAddr)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.reject(w, r, http.StatusRequestEntityTooLarge, "request body too large", "webhook: body too large", ReasonBodyTooLarge,
				"max", h.maxBody, "remote", r.RemoteAddr)
			return
		}
		h.reject(w, r, http.StatusBadRequest, "bad request", "webhook: reading body", ReasonUnreadableBody, "err", err, "remote", r.RemoteAddr)
		return
	}
	if err := VerifySignature(string(h.secret), body, sig); err != nil {
		h.reject(w, r, http.StatusUnauthorized, "unauthorized", "webhook: delivery refused", ReasonBadSignature,
			"err", err, "bytes", len(body), "remote", r.RemoteAddr)
		return
	}

	batch, rep, err := parse(body, received)
	if errors.Is(err, ErrUnknownObject) {
		// Signed by Meta but not for us: 200, or Meta would retry it for days.
		h.log.Warn("webhook: ignored delivery", "reason", ReasonUnknownObject, "err", err)
		h.observe(Delivery{Outcome: DeliveryIgnored, Reason: ReasonUnknownObject})
		w.WriteHeader(http.StatusOK)
		return
	}
	if err != nil {
		h.reject(w, r, http.StatusBadRequest, "invalid payload", "webhook: invalid payload", ReasonInvalidPayload, "bytes", len(body), "err", err)
		return
	}
	for _, e := range rep.systemErrors {
		h.log.Warn("webhook: system error from Meta", "code", e.Code, "title", e.Title, "phone_number_ids", rep.phoneIDs)
	}
	if rep.skipped > 0 {
		h.log.Warn("webhook: malformed changes or elements, kept as changes", "count", rep.skipped)
	}

	newStatuses, newInbound, err := h.st.Save(r.Context(), batch)
	if err != nil {
		// Not acknowledged: Meta redelivers later and Save deduplicates.
		// Paced like the refusals: during an outage every retry fails.
		h.logRefusal(r, slog.LevelError, "webhook: storing failed; Meta will retry", ReasonStoreFailed, "statuses", len(batch.Statuses),
			"inbound", len(batch.Inbound), "outbound", len(batch.Outbound), "changes", len(batch.Changes), "err", err)
		h.observe(Delivery{Outcome: DeliveryFailed, Reason: ReasonStoreFailed})
		http.Error(w, "temporarily unavailable", http.StatusInternalServerError)
		return
	}
	d := Delivery{Outcome: DeliveryAccepted, Statuses: len(batch.Statuses), NewStatuses: newStatuses, NewInbound: newInbound,
		Outbound: len(batch.Outbound), Changes: len(batch.Changes)}
	for _, m := range batch.Inbound {
		d.InboundTypes = append(d.InboundTypes, m.Type)
	}
	// Save counts only new statuses and inbound messages, so a delivery
	// that also carried echoes or changes is never called a duplicate.
	if events := len(batch.Statuses) + len(batch.Inbound); events > 0 && newStatuses+newInbound == 0 &&
		len(batch.Outbound)+len(batch.Changes) == 0 {
		d.Outcome = DeliveryDuplicate
	}
	h.observe(d)
	h.log.Debug("webhook: stored", "statuses", len(batch.Statuses), "new_statuses", newStatuses,
		"inbound", len(batch.Inbound), "new_inbound", newInbound, "outbound", len(batch.Outbound),
		"changes", rep.changeFields, "phone_number_ids", rep.phoneIDs, "duration", time.Since(start))
	w.WriteHeader(http.StatusOK)
}
