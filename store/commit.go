package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit: concurrent Saves are queued, and one writer at a time
// takes every Save waiting (up to maxGroupSaves, or maxGroupEvents events),
// runs their inserts in one transaction, commits it, and only then answers
// each caller. A durable commit costs an fsync (SQLite's WAL, PostgreSQL's
// WAL flush) whatever it holds, so a group of 64 webhook deliveries costs
// about what one did, and every webhook is still acknowledged only after
// the commit that holds its events.
//
// Groups form by themselves: while one commits, the next queues. After a
// group of n (so about n senders are busy), the next may also linger up to
// groupLinger to grow back to n before it begins: the commit costs the
// same, and under load the wait is shorter than the fsync it saves. A lone
// sender (n = 1) never waits.

const (
	// maxGroupSaves bounds the Saves one transaction holds.
	maxGroupSaves = 256
	// maxGroupEvents: a group takes no further Save once it holds this
	// many events (its first Save always fits), so that a transaction, and
	// the wait of the Saves in it, stays short.
	maxGroupEvents = 4096
	// groupLinger is the longest a group waits to grow.
	groupLinger = time.Millisecond
)

// errClosed is what Save returns once Close has begun.
var errClosed = errors.New("the store is closed")

// saveReq is one Save waiting for its group.
type saveReq struct {
	ctx   context.Context
	b     Batch
	stmts []stmt          // its inserts, in sqlStore.inserts' order
	done  chan saveResult // buffered (1): the writer never waits for a caller
}

type saveResult struct {
	newStatuses, newInbound int
	fresh                   []bool // by statement: it stored a new row
	err                     error
}

// committer is the queue of Saves and the writing of their groups. There is
// no writer goroutine waiting for work: a Save that finds no group being
// written writes its own (with whatever queues meanwhile), on its caller's
// goroutine, so a lone Save costs no hand-over between goroutines; Saves
// that queued while a group was written are written next by a goroutine
// started for them, which lets the caller that wrote the group return.
type committer struct {
	mu      sync.Mutex
	queue   []*saveReq
	writing bool       // a group is being written; its writer takes the queue next
	closed  bool       // Close has begun: Saves are refused
	idle    *sync.Cond // on mu: broadcast when writing ends
	last    int        // the size of the previous group: about how many callers are busy

	wake chan struct{} // capacity 1: something was queued while writing (grow waits on it)
	// write runs one group's transaction and answers every Save in it.
	write  func(group []*saveReq)
	linger time.Duration

	pending atomic.Int64 // queued and not yet taken (tests)
}

func newCommitter(write func(group []*saveReq), linger time.Duration) *committer {
	c := &committer{wake: make(chan struct{}, 1), write: write, linger: linger}
	c.idle = sync.NewCond(&c.mu)
	return c
}

// enqueue queues r, unless Close has begun, and writes it (with others)
// right away when no group is being written. r.done has its answer, or
// will have.
func (c *committer) enqueue(r *saveReq) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.queue = append(c.queue, r)
	c.pending.Add(1)
	lead := !c.writing
	c.writing = true
	c.mu.Unlock()
	if lead {
		c.lead()
	} else {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// close refuses new Saves and waits until those already queued are written.
func (c *committer) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.writing {
		c.idle.Wait()
	}
}

// lead writes the next group; the Saves queued meanwhile get a goroutine
// of their own to be written by.
func (c *committer) lead() {
	group, _ := c.take(nil)
	if want := min(c.last, maxGroupSaves); c.linger > 0 && len(group) < want {
		group = c.grow(group, want)
	}
	c.write(group)
	c.last = len(group)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.writing = false
		c.idle.Broadcast()
		return
	}
	go c.lead()
}

// take moves Saves from the queue to the end of group while it has room,
// in arrival order; full says some had to stay.
func (c *committer) take(group []*saveReq) (_ []*saveReq, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	events := 0
	for _, r := range group {
		events += r.events()
	}
	n := 0
	for n < len(c.queue) && len(group) < maxGroupSaves {
		r := c.queue[n]
		if len(group) > 0 && events+r.events() > maxGroupEvents {
			break
		}
		group = append(group, r)
		events += r.events()
		n++
	}
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	c.pending.Add(-int64(n))
	return group, rest > 0
}

func (r *saveReq) events() int { return r.b.size() }

// grow waits up to c.linger for group to reach want Saves (or fill up).
func (c *committer) grow(group []*saveReq, want int) []*saveReq {
	timer := time.NewTimer(c.linger)
	defer timer.Stop()
	for len(group) < want {
		select {
		case <-c.wake:
			var full bool
			if group, full = c.take(group); full {
				return group
			}
		case <-timer.C:
			return group
		}
	}
	return group
}

// groupContext is the context of a group's transaction. One caller giving
// up must not fail the others' commit, so it ends only once every caller in
// the group has given up, as a lone Save's transaction ended with its
// caller's context.
func groupContext(group []*saveReq) (context.Context, func()) {
	if len(group) == 1 {
		return group[0].ctx, func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var waiting atomic.Int64
	waiting.Store(int64(len(group)))
	stops := make([]func() bool, 0, len(group))
	for _, r := range group {
		stops = append(stops, context.AfterFunc(r.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
