package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// fakeSession is a session whose channel the test reads.
type fakeSession struct {
	id string
	ch chan mcp.JSONRPCNotification
}

func (f *fakeSession) Initialize()                                         {}
func (f *fakeSession) Initialized() bool                                   { return true }
func (f *fakeSession) NotificationChannel() chan<- mcp.JSONRPCNotification { return f.ch }
func (f *fakeSession) SessionID() string                                   { return f.id }

func subscribed(s *subscriptions, cs *fakeSession, uris ...string) {
	s.mu.Lock()
	s.live[cs.id] = cs
	s.mu.Unlock()
	for _, u := range uris {
		s.add(cs, u)
	}
}

// TestSlowSessionCoalesced: a session that takes no notification holds up
// nothing: thousands of updates of its two URIs return at once, are
// coalesced to one queued per URI, and the latest of each still reaches it
// when it reads.
func TestSlowSessionCoalesced(t *testing.T) {
	const u1, u2 = "test://a/items/1", "test://a/items/2"
	s := newSubscriptions()
	slow := &fakeSession{id: "slow", ch: make(chan mcp.JSONRPCNotification)} // unbuffered, unread
	subscribed(s, slow, u1, u2)
	for range 1000 {
		s.notify(u1)
		s.notify(u2)
	}
	s.mu.Lock()
	queued := len(s.boxes["slow"].pending)
	s.mu.Unlock()
	if queued > 2 {
		t.Fatalf("%d updates queued for the slow session, want at most one per URI (2)", queued)
	}
	got := map[string]int{}
	deadline := time.After(10 * time.Second)
	for got[u1] == 0 || got[u2] == 0 {
		select {
		case n := <-slow.ch:
			got[n.Params.AdditionalFields["uri"].(string)]++
		case <-deadline:
			t.Fatalf("the slow session got %v, want both URIs", got)
		}
	}
	s.end("slow")
	// The one update its goroutine may have been sending when the others
	// were queued, and one per URI.
	if n := got[u1] + got[u2]; n > 3 {
		t.Errorf("the slow session got %d updates for 2000 changes, want at most 3: %v", n, got)
	}
}

// BenchmarkNotifyResourceUpdated is what a commit pays to notify one URI
// with 1,000 sessions subscribed, 10 of them to that URI.
func BenchmarkNotifyResourceUpdated(b *testing.B) {
	s := newSubscriptions()
	for i := range 1000 {
		cs := &fakeSession{id: fmt.Sprint(i), ch: make(chan mcp.JSONRPCNotification, 100)}
		go func() {
			for range cs.ch {
			}
		}()
		uri := fmt.Sprintf("test://a/items/%d", i)
		if i < 10 {
			uri = "test://a/items/hot"
		}
		subscribed(s, cs, uri)
	}
	b.ResetTimer()
	for b.Loop() {
		s.notify("test://a/items/hot")
	}
}
