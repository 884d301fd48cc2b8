// Package flood sends signed, Meta-shaped webhook deliveries the way Meta
// does: statuses and inbound messages, single and batched, several entries
// and changes per body, each body retried until the receiver answers 200
// (docs/cloud-api.md#webhook-payloads). It records which events were
// acknowledged, so a test can check that every one of them was stored
// exactly once whatever happened to the receiver meanwhile (SIGKILLs,
// outages). Only tests import it.
package flood

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

// Kind is what an event is.
type Kind string

// The kinds of events a flood carries.
const (
	Status  Kind = "status"  // an element of value.statuses[]
	Inbound Kind = "inbound" // an element of value.messages[]
)

// Event is one status update or inbound message of a body.
type Event struct {
	Kind          Kind
	PhoneNumberID string
	MessageID     string // wamid
	Status        string // Status only: sent, delivered or read
}

// Key names the event as the store deduplicates it: a status by message
// id and status, an inbound message by message id (with the business
// number, which the trigger that returns it is asked for).
func (e Event) Key() string {
	if e.Kind == Status {
		return "status " + e.PhoneNumberID + " " + e.MessageID + " " + e.Status
	}
	return "inbound " + e.PhoneNumberID + " " + e.MessageID
}

// Body is one webhook delivery: the bytes to sign and send, and the events
// they carry.
type Body struct {
	Payload []byte
	Events  []Event
	Shape   string // which of Shapes it has
}

// Shapes are the bodies a Plan produces, in the order it cycles through them.
var Shapes = []string{"status", "inbound", "statuses", "messages", "mixed", "entries"}

// Plan describes a flood. The zero value of each field has a default.
type Plan struct {
	Events  int      // events in all (default 1000)
	WABAIDs []string // entry ids (default one)
	Phones  []string // business numbers, spread over the entries (default one)
	// Prefix makes this plan's message ids its own (default "flood"); two
	// plans with one prefix send the same events.
	Prefix string
	Seed   uint64 // the shapes and sizes are drawn from it: one seed, one flood
}

// Bodies returns the plan's deliveries: every event in exactly one body.
// Each message id gets its sent, delivered and read statuses, in that
// order, spread over consecutive bodies as Meta would.
func (p Plan) Bodies() []Body {
	if p.Events <= 0 {
		p.Events = 1000
	}
	if len(p.WABAIDs) == 0 {
		p.WABAIDs = []string{"102290129340398"}
	}
	if len(p.Phones) == 0 {
		p.Phones = []string{"106540352242922"}
	}
	if p.Prefix == "" {
		p.Prefix = "flood"
	}
	g := &gen{p: p, rng: rand.New(rand.NewPCG(p.Seed, 0x666c6f6f64)), statuses: map[string]int{}, inbound: map[string]int{}}
	var bodies []Body
	for i := 0; g.left() > 0; i++ {
		bodies = append(bodies, g.body(Shapes[i%len(Shapes)]))
	}
	return bodies
}

// Payload types, with members in the order Meta sends them.
type (
	payload struct {
		Object string  `json:"object"`
		Entry  []entry `json:"entry"`
	}
	entry struct {
		ID      string   `json:"id"`
		Changes []change `json:"changes"`
	}
	change struct {
		Value value  `json:"value"`
		Field string `json:"field"`
	}
	value struct {
		MessagingProduct string    `json:"messaging_product"`
		Metadata         metadata  `json:"metadata"`
		Contacts         []contact `json:"contacts,omitempty"`
		Messages         []message `json:"messages,omitempty"`
		Statuses         []status  `json:"statuses,omitempty"`
	}
	metadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	}
	contact struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	}
	message struct {
		From      string `json:"from"`
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Type      string `json:"type"`
		Text      struct {
			Body string `json:"body"`
		} `json:"text"`
	}
	status struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		Timestamp   string `json:"timestamp"`
		RecipientID string `json:"recipient_id"`
	}
)

// epoch is the first timestamp of a flood (2025-06-16, as Meta's examples).
const epoch = 1750000000

// gen draws bodies from a plan.
type gen struct {
	p            Plan
	rng          *rand.Rand
	made         int            // events made so far
	statuses     map[string]int // statuses made per business number (3 per message id)
	inbound      map[string]int // inbound messages made per business number
	phoneRotator int
}

func (g *gen) left() int { return g.p.Events - g.made }

func (g *gen) phone() string {
	g.phoneRotator++
	return g.p.Phones[g.phoneRotator%len(g.p.Phones)]
}

// customer is the wa_id of the n-th customer of a flood (a US test number).
func customer(n int) string { return fmt.Sprintf("1650555%04d", n%10000) }

func (g *gen) status(phone string) (status, Event) {
	n := g.statuses[phone]
	g.statuses[phone]++
	g.made++
	s := status{
		ID:          fmt.Sprintf("wamid.%s.%s.s%d", g.p.Prefix, phone, n/3),
		Status:      []string{"sent", "delivered", "read"}[n%3],
		Timestamp:   strconv.Itoa(epoch + n),
		RecipientID: customer(n / 3),
	}
	return s, Event{Kind: Status, PhoneNumberID: phone, MessageID: s.ID, Status: s.Status}
}

func (g *gen) message(phone string) (message, contact, Event) {
	n := g.inbound[phone]
	g.inbound[phone]++
	g.made++
	m := message{From: customer(n), ID: fmt.Sprintf("wamid.%s.%s.m%d", g.p.Prefix, phone, n),
		Timestamp: strconv.Itoa(epoch + n), Type: "text"}
	m.Text.Body = fmt.Sprintf("flood message %d", n)
	var c contact
	c.Profile.Name = "Customer " + strconv.Itoa(n%10000)
	c.WaID = m.From
	return m, c, Event{Kind: Inbound, PhoneNumberID: phone, MessageID: m.ID}
}

// change fills one change value with up to nStatuses statuses and
// nMessages messages of one business number (fewer when the plan runs out).
func (g *gen) change(phone string, nStatuses, nMessages int, evs *[]Event) change {
	v := value{MessagingProduct: "whatsapp", Metadata: metadata{DisplayPhoneNumber: "1555078" + phone[len(phone)-4:], PhoneNumberID: phone}}
	for range nMessages {
		if g.left() == 0 {
			break
		}
		m, c, e := g.message(phone)
		v.Messages = append(v.Messages, m)
		if !slices.ContainsFunc(v.Contacts, func(x contact) bool { return x.WaID == c.WaID }) {
			v.Contacts = append(v.Contacts, c)
		}
		*evs = append(*evs, e)
	}
	for range nStatuses {
		if g.left() == 0 {
			break
		}
		s, e := g.status(phone)
		v.Statuses = append(v.Statuses, s)
		*evs = append(*evs, e)
	}
	return change{Field: "messages", Value: v}
}

func (g *gen) body(shape string) Body {
	b := Body{Shape: shape}
	p := payload{Object: "whatsapp_business_account"}
	one := func(nStatuses, nMessages int) {
		p.Entry = []entry{{ID: g.p.WABAIDs[0], Changes: []change{g.change(g.phone(), nStatuses, nMessages, &b.Events)}}}
	}
	switch shape {
	case "status":
		one(1, 0)
	case "inbound":
		one(0, 1)
	case "statuses":
		one(2+g.rng.IntN(7), 0)
	case "messages":
		one(0, 2+g.rng.IntN(4))
	case "mixed":
		one(1+g.rng.IntN(4), 1+g.rng.IntN(3))
	default: // "entries": 2-3 entries of 1-2 changes, each of either kind or both
		for i := range 2 + g.rng.IntN(2) {
			e := entry{ID: g.p.WABAIDs[i%len(g.p.WABAIDs)]}
			for range 1 + g.rng.IntN(2) {
				if g.left() == 0 {
					break
				}
				e.Changes = append(e.Changes, g.change(g.phone(), g.rng.IntN(4), g.rng.IntN(3), &b.Events))
			}
			if len(e.Changes) > 0 {
				p.Entry = append(p.Entry, e)
			}
		}
	}
	// A change the draw left empty would be stored as a change of its
	// own, not an event: drop it (it carries no event to count).
	for i := range p.Entry {
		p.Entry[i].Changes = slices.DeleteFunc(p.Entry[i].Changes, func(c change) bool {
			return len(c.Value.Statuses)+len(c.Value.Messages) == 0
		})
	}
	p.Entry = slices.DeleteFunc(p.Entry, func(e entry) bool { return len(e.Changes) == 0 })
	if len(p.Entry) == 0 { // every draw was zero: one status, so each body carries an event
		one(1, 0)
	}
	var err error
	if b.Payload, err = json.Marshal(p); err != nil {
		panic(err) // plain structs of strings: cannot fail
	}
	return b
}

// Sender posts bodies to a webhook receiver from a pool of workers until
// each is answered 200. Any other answer, and any failure to get one
// (connection refused while the receiver is down, a connection cut by
// its death, a timeout), is retried after Retry, as Meta retries.
type Sender struct {
	// URL is read on every attempt, so the sender follows a receiver
	// restarted on another address.
	URL       func() string
	AppSecret string
	Client    *http.Client  // nil: one with a 10 s timeout
	Workers   int           // concurrent deliveries (default 8)
	Retry     time.Duration // pause after a failed attempt (default 10 ms)
	// Redeliver is the share of bodies delivered once more after their
	// 200 (Meta delivers at least once), drawn from Seed.
	Redeliver float64
	Seed      uint64

	attempts, refused, cut, redelivered atomic.Int64
	ackedBodies                         atomic.Int64

	mu       sync.Mutex
	answers  map[int]int64 // HTTP status → count
	acked    []Event
	inFlight map[int]Body // bodies being delivered, not yet answered 200, by index
}

// Stats are a Sender's figures.
type Stats struct {
	Bodies      int64         // bodies answered 200
	Events      int           // events of those bodies
	Attempts    int64         // POSTs made, retries and redeliveries included
	Refused     int64         // attempts whose connection was refused (nothing listening)
	Cut         int64         // attempts that got no whole answer otherwise (reset, EOF, timeout)
	Answers     map[int]int64 // answers by HTTP status, 200 included
	Redelivered int64         // bodies delivered again after their 200
}

func (s Stats) String() string {
	codes := make([]int, 0, len(s.Answers))
	for c := range s.Answers {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	answers := ""
	for _, c := range codes {
		answers += fmt.Sprintf(" %d×%d", c, s.Answers[c])
	}
	return fmt.Sprintf("%d bodies (%d events) acknowledged; %d attempts: %d refused, %d cut without a whole answer, answers:%s; %d redelivered after their 200",
		s.Bodies, s.Events, s.Attempts, s.Refused, s.Cut, answers, s.Redelivered)
}

// Run delivers every body and returns once each was answered 200, or with
// ctx's error when it ends first.
func (s *Sender) Run(ctx context.Context, bodies []Body) error {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	workers := s.Workers
	if workers <= 0 {
		workers = 8
	}
	retry := s.Retry
	if retry <= 0 {
		retry = 10 * time.Millisecond
	}
	s.mu.Lock()
	if s.answers == nil {
		s.answers, s.inFlight = map[int]int64{}, map[int]Body{}
	}
	s.mu.Unlock()
	rng := rand.New(rand.NewPCG(s.Seed, 0x7265646c76))
	again := make([]bool, len(bodies)) // drawn here, so one seed redelivers the same bodies
	for i := range again {
		again[i] = rng.Float64() < s.Redeliver
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				s.mu.Lock()
				s.inFlight[i] = bodies[i]
				s.mu.Unlock()
				ok := s.deliver(ctx, client, retry, bodies[i])
				s.mu.Lock()
				delete(s.inFlight, i)
				if ok {
					s.ackedBodies.Add(1)
					s.acked = append(s.acked, bodies[i].Events...)
				}
				s.mu.Unlock()
				if !ok {
					continue // ctx ended
				}
				if again[i] && s.deliver(ctx, client, retry, bodies[i]) {
					s.redelivered.Add(1)
				}
			}
		})
	}
feed:
	for i := range bodies {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}

// deliver posts b until it is answered 200; false if ctx ended first.
func (s *Sender) deliver(ctx context.Context, client *http.Client, retry time.Duration, b Body) bool {
	sig := cloudapi.SignWebhook(s.AppSecret, b.Payload)
	for {
		if ctx.Err() != nil {
			return false
		}
		s.attempts.Add(1)
		code, err := s.post(ctx, client, sig, b.Payload)
		if err == nil {
			s.mu.Lock()
			s.answers[code]++
			s.mu.Unlock()
			if code == http.StatusOK {
				return true
			}
		} else if ctx.Err() == nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				s.refused.Add(1)
			} else {
				s.cut.Add(1)
			}
		}
		select {
		case <-time.After(retry):
		case <-ctx.Done():
			return false
		}
	}
}

func (s *Sender) post(ctx context.Context, client *http.Client, sig string, payload []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL(), bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(cloudapi.SignatureHeader, sig)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	// The status line is the answer, as it is for Meta: a 200 counts as
	// soon as it arrives, whatever becomes of the body (a receiver that
	// flushed its 200 before committing must not be covered for by
	// waiting for the end of the body). Reading the rest keeps the
	// connection for the next delivery.
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// AckedBodies is how many bodies were answered 200 so far.
func (s *Sender) AckedBodies() int64 { return s.ackedBodies.Load() }

// Acked returns the events of the bodies answered 200 so far.
func (s *Sender) Acked() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acked)
}

// InFlight returns the bodies being delivered now and not yet answered
// 200 (redeliveries after a 200 aside).
func (s *Sender) InFlight() []Body {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Body, 0, len(s.inFlight))
	for _, b := range s.inFlight {
		out = append(out, b)
	}
	return out
}

// Stats returns the figures so far.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	answers := make(map[int]int64, len(s.answers))
	for c, n := range s.answers {
		answers[c] = n
	}
	return Stats{Bodies: s.ackedBodies.Load(), Events: len(s.acked), Attempts: s.attempts.Load(),
		Refused: s.refused.Load(), Cut: s.cut.Load(), Answers: answers, Redelivered: s.redelivered.Load()}
}

// Events returns every event of bodies, in order.
func Events(bodies []Body) []Event {
	var out []Event
	for _, b := range bodies {
		out = append(out, b.Events...)
	}
	return out
}
