package server

import (
	"context"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Resource subscriptions: which session is subscribed to which URI, and
// the delivery of notifications/resources/updated (NotifyResourceUpdated)
// and of a dynamic session's notifications/resources/list_changed.
//
// mcp-go's resources/subscribe only acknowledges (its HTTP sessions keep
// no subscriptions), so they are kept here from its hooks: recorded once
// mcp-go has accepted one, removed by resources/unsubscribe, and all of a
// session's dropped when it ends (UnregisterSession: the end of
// ServeStdio, an HTTP DELETE, the idle sweep, a shutdown). Only a session
// mcp-go registered can be notified: a subscribe from any other (an HTTP
// session id whose session is gone) is refused.
//
// Over HTTP, a notification is handed to the session only while no POST
// of it is in flight, so that it goes to the session's GET stream: mcp-go
// (v1.2.1; fixed by mcp-go pull request 969, not released) drops a
// notification that a POST's forwarder takes off the session's channel as
// the POST ends, and an update is most likely then: the commit that
// changes a conversation also ends a trigger call waiting for it.
type subscriptions struct {
	mu    sync.Mutex
	live  map[string]mcpserver.ClientSession // registered sessions, by id
	boxes map[string]*outbox                 // sessions with something to be sent
	byURI map[string]map[*outbox]bool
	// posts counts the HTTP POSTs in flight by session id; quiet[id] is
	// closed when they are done.
	posts map[string]int
	quiet map[string]chan struct{}
}

// outbox is what one session is subscribed to and has yet to be sent.
// Its notifications go out on a goroutine of its own (run), so that a
// slow session holds up no other, nor NotifyResourceUpdated.
type outbox struct {
	id string
	ch chan<- mcp.JSONRPCNotification
	// Guarded by subscriptions.mu.
	uris        map[string]bool
	pending     []string        // updated URIs not yet sent, oldest first
	queued      map[string]bool // the URIs in pending
	listChanged bool            // a resources/list_changed is to be sent
	wake        chan struct{}   // capacity 1: something was queued
	done        chan struct{}   // closed when the session ends
}

func newSubscriptions() *subscriptions {
	return &subscriptions{
		live:  map[string]mcpserver.ClientSession{},
		boxes: map[string]*outbox{},
		byURI: map[string]map[*outbox]bool{},
		posts: map[string]int{},
		quiet: map[string]chan struct{}{},
	}
}

// hooks keeps the subscriptions from mcp-go's hooks.
func (s *subscriptions) hooks(h *mcpserver.Hooks) {
	h.AddOnRegisterSession(func(_ context.Context, cs mcpserver.ClientSession) {
		s.mu.Lock()
		s.live[cs.SessionID()] = cs
		s.mu.Unlock()
	})
	h.AddOnUnregisterSession(func(_ context.Context, cs mcpserver.ClientSession) { s.end(cs.SessionID()) })
	h.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		s.add(mcpserver.ClientSessionFromContext(ctx), req.Params.URI)
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		if cs := mcpserver.ClientSessionFromContext(ctx); cs != nil {
			s.remove(cs.SessionID(), req.Params.URI)
		}
	})
}

// notifiable reports whether cs is a registered session.
func (s *subscriptions) notifiable(cs mcpserver.ClientSession) bool {
	if cs == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[cs.SessionID()] == cs
}

// box returns the outbox of cs, made on first use; nil when cs is not a
// registered session. The caller holds s.mu.
func (s *subscriptions) box(cs mcpserver.ClientSession) *outbox {
	if cs == nil || s.live[cs.SessionID()] != cs {
		return nil
	}
	id := cs.SessionID()
	b := s.boxes[id]
	if b == nil {
		b = &outbox{id: id, ch: cs.NotificationChannel(), uris: map[string]bool{}, queued: map[string]bool{},
			wake: make(chan struct{}, 1), done: make(chan struct{})}
		s.boxes[id] = b
		go s.run(b)
	}
	return b
}

func (s *subscriptions) add(cs mcpserver.ClientSession, uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.box(cs)
	if b == nil {
		return // not registered, or ended meanwhile
	}
	b.uris[uri] = true
	if s.byURI[uri] == nil {
		s.byURI[uri] = map[*outbox]bool{}
	}
	s.byURI[uri][b] = true
}

func (s *subscriptions) remove(id, uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.boxes[id]; b != nil {
		s.unlink(b, uri)
	}
}

// unlink removes the subscription of b to uri; the caller holds s.mu.
func (s *subscriptions) unlink(b *outbox, uri string) {
	delete(b.uris, uri)
	if boxes := s.byURI[uri]; boxes != nil {
		delete(boxes, b)
		if len(boxes) == 0 {
			delete(s.byURI, uri)
		}
	}
}

// end forgets a session that has ended, and stops its goroutine.
func (s *subscriptions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, id)
	b := s.boxes[id]
	if b == nil {
		return
	}
	for uri := range b.uris {
		s.unlink(b, uri)
	}
	delete(s.boxes, id)
	close(b.done)
}

// notify queues uri for every session subscribed to it; an update already
// queued for a session is not queued twice (coalescing).
func (s *subscriptions) notify(uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for b := range s.byURI[uri] {
		if !b.queued[uri] {
			b.queued[uri] = true
			b.pending = append(b.pending, uri)
			b.signal()
		}
	}
}

// listChanged queues a resources/list_changed for the session cs.
func (s *subscriptions) listChanged(cs mcpserver.ClientSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.box(cs); b != nil {
		b.listChanged = true
		b.signal()
	}
}

func (b *outbox) signal() {
	select {
	case b.wake <- struct{}{}:
	default: // already woken
	}
}

// next takes the next notification of b, if any. An update of a URI is
// taken off the queue as it is sent, so one arriving meanwhile is sent
// after it.
func (s *subscriptions) next(b *outbox) (mcp.JSONRPCNotification, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.listChanged {
		b.listChanged = false
		return notification(mcp.MethodNotificationResourcesListChanged, nil), true
	}
	for len(b.pending) > 0 {
		uri := b.pending[0]
		b.pending = b.pending[1:]
		delete(b.queued, uri)
		if b.uris[uri] { // not unsubscribed since
			return notification(mcp.MethodNotificationResourceUpdated, map[string]any{"uri": uri}), true
		}
	}
	return mcp.JSONRPCNotification{}, false
}

// run sends b's notifications, each as soon as the session's channel takes
// it (its writer: the stdio output, the HTTP session's stream), until the
// session ends.
func (s *subscriptions) run(b *outbox) {
	for {
		select {
		case <-b.wake:
		case <-b.done:
			return
		}
		for n, ok := s.next(b); ok; n, ok = s.next(b) {
			if !s.send(b, n) {
				return
			}
		}
	}
}

// send hands n to b's session once no POST of it is in flight; false when
// the session has ended first.
func (s *subscriptions) send(b *outbox, n mcp.JSONRPCNotification) bool {
	for {
		s.mu.Lock()
		if s.posts[b.id] > 0 {
			q := s.quiet[b.id]
			if q == nil {
				q = make(chan struct{})
				s.quiet[b.id] = q
			}
			s.mu.Unlock()
			select {
			case <-q:
				continue
			case <-b.done:
				return false
			}
		}
		// Under s.mu, so that no POST starts between the check and the send.
		select {
		case b.ch <- n:
			s.mu.Unlock()
			return true
		default:
		}
		s.mu.Unlock()
		// The channel is full: nothing reads it (no stream is open). Wait
		// for room.
		select {
		case b.ch <- n:
			return true
		case <-b.done:
			return false
		}
	}
}

// countPOSTs counts the POSTs in flight of each session (see send).
func (s *subscriptions) countPOSTs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(mcpserver.HeaderKeySessionID)
		if r.Method != http.MethodPost || id == "" {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		s.posts[id]++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.posts[id]--; s.posts[id] > 0 {
				return
			}
			delete(s.posts, id)
			if q := s.quiet[id]; q != nil {
				close(q)
				delete(s.quiet, id)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func notification(method string, params map[string]any) mcp.JSONRPCNotification {
	return mcp.JSONRPCNotification{
		JSONRPC: mcp.JSONRPC_VERSION,
		Notification: mcp.Notification{Method: method, Params: mcp.NotificationParams{AdditionalFields: params}},
	}
}

// count is the number of sessions with a subscription (tests).
func (s *subscriptions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.boxes {
		if len(b.uris) > 0 {
			n++
		}
	}
	return n
}
