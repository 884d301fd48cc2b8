package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

// Webhook payload types, with members in the order Meta sends them (docs/cloud-api.md#webhook-payloads).

type whPayload struct {
	Object string    `json:"object"`
	Entry  []whEntry `json:"entry"`
}

type whEntry struct {
	ID      string     `json:"id"`
	Changes []whChange `json:"changes"`
}

type whChange struct {
	Value whValue `json:"value"`
	Field string  `json:"field"`
}

type whValue struct {
	MessagingProduct string      `json:"messaging_product"`
	Metadata         whMetadata  `json:"metadata"`
	Contacts         []whContact `json:"contacts,omitempty"`
	Messages         []object    `json:"messages,omitempty"` // one object per type (inbound.go)
	Statuses         []whStatus  `json:"statuses,omitempty"`
}

type whMetadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// whContact is the sender of inbound messages; user_id is the BSUID (docs/cloud-api.md#bsuid).
type whContact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID   string `json:"wa_id"`
	UserID string `json:"user_id,omitempty"`
}

type whStatus struct {
	ID              string          `json:"id"`
	Status          string          `json:"status"`
	Timestamp       string          `json:"timestamp"` // unix seconds, as a string
	RecipientID     string          `json:"recipient_id"`
	RecipientUserID string          `json:"recipient_user_id,omitempty"`
	BizOpaque       string          `json:"biz_opaque_callback_data,omitempty"`
	Conversation    *whConversation `json:"conversation,omitempty"`
	Pricing         *whPricing      `json:"pricing,omitempty"`
	Errors          []whError       `json:"errors,omitempty"`
}

type whConversation struct {
	ID                  string    `json:"id"`
	ExpirationTimestamp string    `json:"expiration_timestamp,omitempty"`
	Origin              *whOrigin `json:"origin"`
}

type whOrigin struct {
	Type string `json:"type"`
}

type whPricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Type         string `json:"type"`
	Category     string `json:"category"`
}

type whError struct {
	Code      int          `json:"code"`
	Title     string       `json:"title"`
	Message   string       `json:"message"`
	ErrorData *whErrorData `json:"error_data,omitempty"`
	Href      string       `json:"href,omitempty"`
}

type whErrorData struct {
	Details string `json:"details"`
}

// statusItem is one status update waiting to be delivered.
type statusItem struct {
	phone *phoneNumber
	st    whStatus
}

func metadataOf(p *phoneNumber) whMetadata {
	return whMetadata{DisplayPhoneNumber: p.digits, PhoneNumberID: p.id}
}

// webhooker turns events into signed POSTs and delivers them one at a time, in order,
// retrying each until the receiver answers 200 (Meta retries with backoff for days; the
// sandbox until Close).
type webhooker struct {
	s      *Sandbox
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}

	mu      sync.Mutex
	closed  bool
	queue   []queued
	pending []statusItem // partial batch (BatchSize > 1)
	timer   *time.Timer
}

// queued is one webhook body; done, when set, is closed once it was
// delivered (or given up), so Inbound can wait for the receiver.
type queued struct {
	body []byte
	done chan struct{}
}

// inboundWait bounds how long Inbound waits for its webhook to be accepted.
const inboundWait = 5 * time.Second

const (
	retryInitial = 100 * time.Millisecond
	retryMax     = 3 * time.Second
)

func newWebhooker(s *Sandbox) *webhooker {
	ctx, cancel := context.WithCancel(context.Background())
	h := &webhooker{
		s:      s,
		client: &http.Client{Timeout: 10 * time.Second},
		ctx:    ctx,
		cancel: cancel,
		wake:   make(chan struct{}, 1),
	}
	h.wg.Add(1)
	go h.run()
	return h
}

// schedule emits a message's statuses StatusDelay apart (reversed when OutOfOrder).
func (h *webhooker) schedule(items []statusItem) {
	if len(items) == 0 || h.s.currentWebhookURL() == "" {
		return
	}
	if h.s.cfg.OutOfOrder {
		rev := make([]statusItem, len(items))
		for i, it := range items {
			rev[len(items)-1-i] = it
		}
		items = rev
	}
	delay := h.s.cfg.StatusDelay
	if delay <= 0 {
		for _, it := range items {
			h.addStatus(it)
		}
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.wg.Add(1) // under mu and before closed is set, so never racing with Wait
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		for i, it := range items {
			if i > 0 {
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-h.ctx.Done():
					t.Stop()
					return
				}
			}
			h.addStatus(it)
		}
	}()
}

func (h *webhooker) addStatus(it statusItem) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if h.s.cfg.BatchSize <= 1 {
		h.enqueueLocked(statusPayload([]statusItem{it}), nil)
		return
	}
	h.pending = append(h.pending, it)
	if len(h.pending) >= h.s.cfg.BatchSize {
		h.flushLocked()
		return
	}
	if h.timer == nil {
		h.timer = time.AfterFunc(h.s.cfg.BatchWindow, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.timer = nil
			if !h.closed {
				h.flushLocked()
			}
		})
	}
}

func (h *webhooker) flushLocked() {
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
	if len(h.pending) == 0 {
		return
	}
	h.enqueueLocked(statusPayload(h.pending), nil)
	h.pending = nil
}

// statusPayload builds one webhook body. A batch is spread Meta-style over several
// entries and changes so receivers that only read entry[0].changes[0] lose updates: per
// business number, statuses go two per change value, two changes per entry.
func statusPayload(items []statusItem) whPayload {
	var order []*phoneNumber
	groups := map[*phoneNumber][]whStatus{}
	for _, it := range items {
		if _, ok := groups[it.phone]; !ok {
			order = append(order, it.phone)
		}
		groups[it.phone] = append(groups[it.phone], it.st)
	}
	p := whPayload{Object: "whatsapp_business_account"}
	for _, ph := range order {
		sts := groups[ph]
		var entry *whEntry
		for i := 0; i < len(sts); i += 2 {
			if i%4 == 0 {
				p.Entry = append(p.Entry, whEntry{ID: WABAID})
				entry = &p.Entry[len(p.Entry)-1]
			}
			chunk := sts[i:min(i+2, len(sts))]
			entry.Changes = append(entry.Changes, whChange{Field: "messages", Value: whValue{
				MessagingProduct: "whatsapp", Metadata: metadataOf(ph), Statuses: chunk,
			}})
		}
	}
	return p
}

// inbound queues the webhook of one customer message and waits for its delivery.
func (h *webhooker) inbound(ph *phoneNumber, c whContact, m object) error {
	p := whPayload{Object: "whatsapp_business_account", Entry: []whEntry{{ID: WABAID, Changes: []whChange{{
		Field: "messages",
		Value: whValue{MessagingProduct: "whatsapp", Metadata: metadataOf(ph), Contacts: []whContact{c}, Messages: []object{m}},
	}}}}}
	hasURL := h.s.currentWebhookURL() != "" // read before h.mu: never hold h.mu while taking s.mu
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	if !hasURL {
		h.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	h.enqueueLocked(p, done)
	h.mu.Unlock()
	// Wait until the receiver has the message, so a send right after sees the
	// customer's window open (a real customer's message would also be stored
	// before anyone answers it).
	t := time.NewTimer(inboundWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-h.ctx.Done():
	}
	return nil
}

func (h *webhooker) enqueueLocked(p whPayload, done chan struct{}) {
	b, err := metaJSON(p)
	if err != nil {
		h.s.log.Error("sandbox: encoding webhook", "err", err)
		if done != nil {
			close(done)
		}
		return
	}
	h.queue = append(h.queue, queued{body: b, done: done})
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *webhooker) run() {
	defer h.wg.Done()
	for {
		h.mu.Lock()
		for len(h.queue) == 0 {
			h.mu.Unlock()
			select {
			case <-h.wake:
			case <-h.ctx.Done():
				return
			}
			h.mu.Lock()
		}
		q := h.queue[0]
		h.queue[0] = queued{}
		h.queue = h.queue[1:]
		h.mu.Unlock()
		for n := 0; n <= h.s.cfg.Duplicates; n++ {
			ok := h.deliver(q.body)
			if n == 0 && q.done != nil {
				close(q.done)
			}
			if !ok {
				break
			}
		}
	}
}

// deliver POSTs body until the receiver answers 200; false when given up (Close, or the
// webhook URL was cleared).
func (h *webhooker) deliver(body []byte) bool {
	backoff := retryInitial
	for attempt := 1; ; attempt++ {
		u := h.s.currentWebhookURL()
		if u == "" {
			return false
		}
		err := h.post(u, body)
		if err == nil {
			return true
		}
		if h.ctx.Err() != nil {
			return false
		}
		h.s.log.Debug("sandbox webhook delivery failed; will retry", "attempt", attempt, "err", err, "backoff", backoff)
		t := time.NewTimer(backoff + rand.N(backoff/4+1)) // jitter, like any well-behaved sender
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			return false
		}
		backoff = min(backoff*2, retryMax)
	}
}

func (h *webhooker) post(u string, body []byte) error {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set(cloudapi.SignatureHeader, cloudapi.SignWebhook(h.s.appSecret, body))
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

func (h *webhooker) verify(ctx context.Context) error {
	u := h.s.currentWebhookURL()
	if u == "" {
		return errors.New("sandbox: no webhook URL configured")
	}
	challenge := strconv.FormatInt(rand.Int64N(9e9)+1e9, 10)
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {challenge}, "hub.verify_token": {h.s.verifyToken}}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+sep+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "facebookplatform/1.0 (+http://developers.facebook.com)")
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(got)) != challenge {
		return fmt.Errorf("sandbox: webhook verification failed: status %d, body %q, want challenge %s", resp.StatusCode, got, challenge)
	}
	return nil
}

func (h *webhooker) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
	h.pending = nil
	h.queue = nil
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}
