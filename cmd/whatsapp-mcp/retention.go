package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// minRetention keeps a typo ("90s" for "90d") from emptying the store.
const minRetention = time.Hour

// parseRetention reads WHATSAPP_RETENTION: "" or "0" keeps everything;
// otherwise a Go duration ("720h") or whole days or weeks ("90d", "12w"),
// which is how people say how long to keep messages.
func parseRetention(v string) (time.Duration, error) {
	v = strings.TrimSpace(strings.ToLower(v))
	if v == "" || v == "0" {
		return 0, nil
	}
	var d time.Duration
	if n, unit := v[:len(v)-1], v[len(v)-1]; unit == 'd' || unit == 'w' {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("%q: want a whole number of days or weeks, such as 90d or 12w, or a duration such as 720h", v)
		}
		if unit == 'w' {
			days *= 7
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 90d, 12w or 720h (0 keeps everything)", v)
		}
	}
	if d < minRetention {
		return 0, fmt.Errorf("%q is under the minimum of 1h (0 keeps everything)", v)
	}
	return d, nil
}

// pruneEvery is how often the retention loop runs: often enough that the
// store holds little more than the retention asks, rarely enough to cost
// nothing (each run deletes in bounded batches).
func pruneEvery(retention time.Duration) time.Duration {
	return min(max(retention/24, time.Minute), time.Hour)
}

// runRetention prunes what is older than retention, now and then every
// pruneEvery, until ctx ends. Several replicas on one PostgreSQL may all
// run it: a delete is the same whoever makes it.
func (a *app) runRetention(ctx context.Context, retention time.Duration, now func() time.Time) {
	t := time.NewTicker(pruneEvery(retention))
	defer t.Stop()
	for {
		cutoff := now().Add(-retention)
		p, err := a.st.Prune(ctx, cutoff)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			a.log.Warn("retention: pruning failed; will retry", "error", err)
		case p != store.Pruned{}:
			a.log.Info("retention: pruned", "before", cutoff.UTC().Format(time.RFC3339), "statuses", p.Statuses,
				"messages", p.Messages, "changes", p.Changes, "conversations", p.Conversations)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
