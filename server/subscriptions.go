package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
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
// A stdio session is sent its notifications on its channel, which its
// writer alone reads. An HTTP session's are written on its GET stream (the
// one the client opens to listen), not put on its channel: there mcp-go
// (v1.2.1) lets the forwarder of every POST of the session take them too,
// and drops what one takes as its POST ends, which is when updates come
// (the commit that changes a conversation also ends a trigger call
// waiting for it). A session without a GET stream open gets its updates
// when it opens one.
type subscriptions struct {
	mu    sync.Mutex
	live  map[string]mcpserver.ClientSession // registered sessions, by id
	boxes map[string]*outbox                 // sessions with something to be sent
	byURI map[string]map[*outbox]bool
	// streams are the GET streams open, by session id, latest last;
	// opened[id] is closed when one opens.
	streams map[string][]*sseStream
	opened  map[string]chan struct{}
}

// outbox is what one session is subscribed to and has yet to be sent.
// Its notifications go out on a goroutine of its own (run), so that a
// slow session holds up no other, nor NotifyResourceUpdated.
type outbox struct {
	id string
	ch chan<- mcp.JSONRPCNotification // nil: HTTP, written on the GET stream
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
		live:    map[string]mcpserver.ClientSession{},
		boxes:   map[string]*outbox{},
		byURI:   map[string]map[*outbox]bool{},
		streams: map[string][]*sseStream{},
		opened:  map[string]chan struct{}{},
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
		b = &outbox{id: id, uris: map[string]bool{}, queued: map[string]bool{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
		if _, isHTTP := cs.(mcpserver.SessionWithStreamableHTTPConfig); !isHTTP {
			b.ch = cs.NotificationChannel()
		}
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

// run sends b's notifications, each as soon as the session takes it,
// until the session ends.
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

// send hands n to b's session: on its channel, or on its latest GET stream
// once one is open; false when the session has ended first.
func (s *subscriptions) send(b *outbox, n mcp.JSONRPCNotification) bool {
	if b.ch != nil {
		select {
		case b.ch <- n:
			return true
		case <-b.done:
			return false
		}
	}
	event, err := json.Marshal(n)
	if err != nil {
		return true // a map of a string: cannot happen
	}
	event = append(append([]byte("event: message\ndata: "), event...), "\n\n"...)
	for {
		s.mu.Lock()
		var st *sseStream
		if open := s.streams[b.id]; len(open) > 0 {
			st = open[len(open)-1]
		}
		var opened chan struct{}
		if st == nil {
			if opened = s.opened[b.id]; opened == nil {
				opened = make(chan struct{})
				s.opened[b.id] = opened
			}
		}
		s.mu.Unlock()
		if st != nil {
			if st.write(event) == nil {
				return true
			}
			s.closing(st) // it ended or broke: the next one, or wait
			continue
		}
		select {
		case <-opened:
		case <-b.done:
			return false
		}
	}
}

// sseStream is a GET stream of an HTTP session, as mcp-go writes it, to
// which send adds events, between mcp-go's (each of which it writes in
// one Write).
type sseStream struct {
	http.ResponseWriter
	s  *subscriptions
	id string

	mu    sync.Mutex
	ended bool // the handler has returned: nothing more may be written
}

var errStreamEnded = errors.New("server: the stream has ended")

// write writes an event and flushes it.
func (st *sseStream) write(event []byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ended {
		return errStreamEnded
	}
	if _, err := st.ResponseWriter.Write(event); err != nil {
		st.ended = true
		return err
	}
	if f, ok := st.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func (st *sseStream) Write(b []byte) (int, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ResponseWriter.Write(b)
}

func (st *sseStream) Flush() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if f, ok := st.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// WriteHeader opens the stream to send once mcp-go has accepted it.
func (st *sseStream) WriteHeader(status int) {
	st.mu.Lock()
	st.ResponseWriter.WriteHeader(status)
	st.mu.Unlock()
	if status == http.StatusOK && strings.HasPrefix(st.Header().Get("Content-Type"), "text/event-stream") {
		st.s.opening(st)
	}
}

func (st *sseStream) Unwrap() http.ResponseWriter { return st.ResponseWriter }

// opening makes st the latest stream of its session.
func (s *subscriptions) opening(st *sseStream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams[st.id] = append(s.streams[st.id], st)
	if ch := s.opened[st.id]; ch != nil {
		close(ch)
		delete(s.opened, st.id)
	}
}

// closing forgets st (once its handler has returned, or it broke).
func (s *subscriptions) closing(st *sseStream) {
	st.mu.Lock()
	st.ended = true
	st.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	open := slices.DeleteFunc(s.streams[st.id], func(o *sseStream) bool { return o == st })
	if len(open) == 0 {
		delete(s.streams, st.id)
	} else {
		s.streams[st.id] = open
	}
}

// listen finds the GET streams of /mcp (see send).
func (s *subscriptions) listen(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(mcpserver.HeaderKeySessionID)
		if r.Method != http.MethodGet || id == "" {
			next.ServeHTTP(w, r)
			return
		}
		st := &sseStream{ResponseWriter: w, s: s, id: id}
		defer s.closing(st)
		next.ServeHTTP(st, r)
	})
}

func notification(method string, params map[string]any) mcp.JSONRPCNotification {
	return mcp.JSONRPCNotification{
		JSONRPC:      mcp.JSONRPC_VERSION,
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
