package store

import (
	"sync"
	"time"
)

// LastInboundTTL is how long LastInbound answers from memory what it last
// read for a (business number, customer) pair, unless this process stores
// an inbound message of that pair first, which makes it read again.
//
// Why a few seconds suffice and no more is needed: every free-form send
// asks LastInbound (the 24-hour window warning), so a busy conversation
// asks it many times a second. What this process stores it sees at once;
// what another replica (or process on the same SQLite file) stores, it sees
// within LastInboundTTL. A stale answer is always older than the truth (a
// customer's last message only moves forward), so it can only make the
// window look closed when it has just opened: the cost is a needless
// warning on a send that still goes out, never a send held back or one
// made outside the window without a warning. The customer's time is cached,
// not the verdict, so the 24 hours keep running on the caller's clock.
const LastInboundTTL = 5 * time.Second

// maxInboundEntries bounds the cache; when full it starts over.
const maxInboundEntries = 10_000

type inboundKey struct{ phoneNumberID, waID string }

// inboundEntry is a cached answer, or (valid false) the mark that the pair
// was invalidated at generation gen, which an answer read before it must
// not overwrite.
type inboundEntry struct {
	t       time.Time
	ok      bool
	valid   bool
	expires time.Time
	gen     uint64
}

// inboundCache holds LastInbound's answers. Generations order reads against
// invalidations: a read notes the generation before it queries, and its
// answer is kept only if its pair has not been invalidated since (the query
// may have run before the commit that invalidated it).
type inboundCache struct {
	ttl time.Duration // <= 0: no caching
	now func() time.Time

	mu      sync.Mutex
	m       map[inboundKey]inboundEntry
	gen     uint64 // invalidations so far
	flushed uint64 // gen when the map was last emptied: older reads are not kept
}

func newInboundCache(ttl time.Duration, now func() time.Time) *inboundCache {
	return &inboundCache{ttl: ttl, now: now, m: map[inboundKey]inboundEntry{}}
}

// get returns the cached answer (hit), or the generation to give put.
func (c *inboundCache) get(k inboundKey) (t time.Time, ok, hit bool, gen uint64) {
	if c.ttl <= 0 {
		return time.Time{}, false, false, 0
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, found := c.m[k]; found && e.valid && now.Before(e.expires) {
		return e.t, e.ok, true, 0
	}
	return time.Time{}, false, false, c.gen
}

// put keeps an answer read from the database after get returned gen.
func (c *inboundCache) put(k inboundKey, t time.Time, ok bool, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.m[k]
	if gen < c.flushed || (found && e.gen > gen) {
		return // invalidated while the answer was being read
	}
	if !found && len(c.m) >= maxInboundEntries {
		clear(c.m)
		c.flushed = c.gen
	}
	c.m[k] = inboundEntry{t: t, ok: ok, valid: true, expires: now.Add(c.ttl), gen: e.gen}
}

// invalidate forgets the answers of pairs whose inbound messages were just
// stored.
func (c *inboundCache) invalidate(keys []inboundKey) {
	if c.ttl <= 0 || len(keys) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, k := range keys {
		if _, found := c.m[k]; !found && len(c.m) >= maxInboundEntries {
			clear(c.m)
			c.flushed = c.gen
		}
		c.m[k] = inboundEntry{gen: c.gen}
	}
}
