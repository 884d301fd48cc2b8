package store

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"sync"
	"time"
)

// Listen's notices: a Save's group, once committed, tells this process's
// listeners of each message it stored (announce). On PostgreSQL the
// database's trigger also announces each one (pg_notify, delivered at
// commit) on the schema's channel, and one connection per store LISTENs
// there for the messages other stores (replicas) saved; a notice carries
// the id of the store that saved it, so that a store skips its own, which
// it has already told.

// listeners are a store's Listen callbacks.
type listeners struct {
	mu   sync.Mutex
	fns  map[int]func(Notice)
	next int

	// deliver is held while notices are handed out: fn is never called
	// from two goroutines at once, and a group's notices keep their order.
	deliver sync.Mutex

	// The engine's listener, started by the first Listen (under mu).
	started, closed bool
	stop            context.CancelFunc // ends it
	stopped         chan struct{}      // closed once it has ended
	ready           chan struct{}      // closed once it first listens
}

// listenReadyWait bounds how long Listen waits for the engine's listener to
// listen: a database that cannot be reached now is retried in the
// background, and Listen returns.
const listenReadyWait = 5 * time.Second

// remote is what an engine that hears other stores' notices offers
// (PostgreSQL): listen runs until ctx ends, calling deliver with each
// notice's payload, in the order the database delivers them, and ready
// once it first listens.
type remote interface {
	listen(ctx context.Context, deliver func(payload string), ready func())
}

// noticePayload is a notice as the trigger of pgV3 spells it.
type noticePayload struct {
	Instance  string `json:"i"`
	Phone     string `json:"p"`
	Customer  string `json:"c"`
	Direction string `json:"d"`
}

// newInstanceID names a store in its notices.
func newInstanceID() string { return crand.Text() }

func (s *sqlStore) Listen(fn func(Notice)) (stop func()) {
	l := &s.listen
	l.mu.Lock()
	if l.fns == nil {
		l.fns = map[int]func(Notice){}
	}
	id := l.next
	l.next++
	l.fns[id] = fn
	if r, ok := s.eng.(remote); ok && !l.started && !l.closed {
		l.started = true
		ctx, cancel := context.WithCancel(context.Background())
		stopped, ready := make(chan struct{}), make(chan struct{})
		l.stop, l.stopped, l.ready = cancel, stopped, ready
		go func() {
			defer close(stopped)
			var once sync.Once
			r.listen(ctx, s.heard, func() { once.Do(func() { close(ready) }) })
		}()
	}
	ready := l.ready
	l.mu.Unlock()
	// Once Listen returns, a message another store saves is heard: a
	// caller that reads, finds nothing and waits misses none (unless the
	// database is unreachable, or becomes so).
	if ready != nil {
		select {
		case <-ready:
		case <-time.After(listenReadyWait):
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.fns, id)
			l.mu.Unlock()
		})
	}
}

// heard delivers a notice of the database's, unless this store sent it.
func (s *sqlStore) heard(payload string) {
	var p noticePayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil || p.Instance == s.instance {
		return
	}
	s.notify([]Notice{{PhoneNumberID: p.Phone, Customer: p.Customer, Direction: p.Direction}})
}

// notify calls every listener with each notice, in order.
func (s *sqlStore) notify(notices []Notice) {
	l := &s.listen
	l.deliver.Lock()
	defer l.deliver.Unlock()
	l.mu.Lock()
	fns := make([]func(Notice), 0, len(l.fns))
	for _, fn := range l.fns {
		fns = append(fns, fn)
	}
	l.mu.Unlock()
	for _, n := range notices {
		for _, fn := range fns {
			fn(n)
		}
	}
}

func (s *sqlStore) listening() bool {
	s.listen.mu.Lock()
	defer s.listen.mu.Unlock()
	return len(s.listen.fns) > 0
}

// announce tells the listeners of the messages a committed group stored.
// A message that had only a BSUID joined whichever conversation the
// trigger found for it: its customer is read back.
func (s *sqlStore) announce(group []*saveReq, results []saveResult) {
	if !s.listening() {
		return
	}
	var notices []Notice
	for k, r := range group {
		fresh := results[k].fresh[len(r.b.Statuses):]
		for i, m := range r.b.Inbound {
			if fresh[i] {
				notices = append(notices, s.notice(m.PhoneNumberID, DirectionIn, m.MessageID, digits(m.From), m.UserID))
			}
		}
		fresh = fresh[len(r.b.Inbound):]
		for i, m := range r.b.Outbound {
			if fresh[i] {
				notices = append(notices, s.notice(m.PhoneNumberID, DirectionOut, m.MessageID, digits(m.To), m.UserID))
			}
		}
	}
	if len(notices) > 0 {
		s.notify(notices)
	}
}

func (s *sqlStore) notice(phone, dir, messageID, waID, userID string) Notice {
	n := Notice{PhoneNumberID: phone, Customer: waID, Direction: dir}
	if waID == "" {
		n.Customer = userID
		var cust string
		// The group has committed; at worst (the read failing) the
		// notice names the BSUID.
		if ok, err := s.queryRow(context.Background(), s.conv.customerOf, []any{messageID}, &cust); err == nil && ok {
			n.Customer = cust
		}
	}
	return n
}

// closeListener ends the engine's listener, if one was started, and keeps
// a later Listen from starting one.
func (s *sqlStore) closeListener() {
	l := &s.listen
	l.mu.Lock()
	l.closed = true
	stop, stopped := l.stop, l.stopped
	l.mu.Unlock()
	if stop != nil {
		stop()
		<-stopped
	}
}
