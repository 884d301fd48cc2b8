package store

import (
	"fmt"
	"testing"
	"time"
)

// A LastInbound read that began before an invalidation of its pair (its
// query may have run before the commit) must not be cached after it; one
// that began after it may. Nor may a read that began before the cache was
// emptied for room.
func TestInboundCacheReadRacingInvalidation(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	c := newInboundCache(LastInboundTTL, func() time.Time { return now })
	k := inboundKey{"106540352242922", "16505551234"}
	old := time.Unix(1_749_000_000, 0)

	_, _, hit, gen := c.get(k)
	if hit {
		t.Fatal("hit on an empty cache")
	}
	c.invalidate([]inboundKey{k}) // a message of k committed while the read ran
	c.put(k, old, true, gen)
	if _, _, hit, _ := c.get(k); hit {
		t.Fatal("an answer read before the invalidation was cached after it")
	}

	_, _, _, gen = c.get(k) // a read after the invalidation
	c.put(k, old, true, gen)
	if got, ok, hit, _ := c.get(k); !hit || !ok || !got.Equal(old) {
		t.Fatalf("an answer read after the invalidation: get = %v, %v, hit %v; want it cached", got, ok, hit)
	}
	now = now.Add(LastInboundTTL)
	if _, _, hit, _ := c.get(k); hit {
		t.Fatalf("answer still served %s after it was read", LastInboundTTL)
	}

	// Emptied for room while a read ran: that read is not kept.
	_, _, _, gen = c.get(k)
	var keys []inboundKey
	for i := range maxInboundEntries + 1 {
		keys = append(keys, inboundKey{"106540352242922", fmt.Sprint(i)})
	}
	c.invalidate(keys)
	if len(c.m) > maxInboundEntries {
		t.Fatalf("cache holds %d entries, over its bound %d", len(c.m), maxInboundEntries)
	}
	c.put(k, old, true, gen)
	if _, _, hit, _ := c.get(k); hit {
		t.Fatal("an answer read before the cache was emptied was cached after it")
	}
}
