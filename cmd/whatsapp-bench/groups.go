//go:build !whatsapp_bench_lean

package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"
)

// group is a set of figures measured together: rows gives them unmeasured
// (figure, unit, floor label, target), measure fills them in.
type group struct {
	name    string
	rows    func() []row
	measure func(ctx context.Context, rows []row) error
}

func (b *bench) groups() []group {
	return []group{
		{"stdio", b.stdioRows, b.figStdio},
		{"http", b.httpRows, b.figHTTP},
		{"webhook", b.webhookSQLiteRows, b.figWebhookSQLite},
		{"webhook-pg", b.webhookPGRows, b.figWebhookPG},
		{"poll", b.pollRows, b.figPoll},
		{"start", b.startRows, b.figStart},
	}
}

func ms(d time.Duration) float64   { return float64(d) / float64(time.Millisecond) }
func usOf(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func mb(kb int64) float64          { return float64(kb) / 1024 }

func noteP(name string, v float64) string { return name + " " + fmtNum(v) }

func (b *bench) stdioRows() []row {
	return []row{
		{Figure: "stdio tool call p50", Unit: "µs", Target: target{ratioAtMost, 1.3, "relay"}},
		{Figure: "stdio server CPU per call", Unit: "µs", Target: target{ratioAtMost, 1.5, "relay"}},
	}
}

func (b *bench) figStdio(ctx context.Context, rows []row) error {
	var op50, op99, ocpu, rp50, rp99, rcpu, calls []float64
	for run := range b.cfg.runs {
		o, err := b.stdioRun(ctx, true, run)
		if err != nil {
			return fmt.Errorf("whatsapp-mcp stdio: %w", err)
		}
		r, err := b.stdioRun(ctx, false, run)
		if err != nil {
			return fmt.Errorf("stdio relay: %w", err)
		}
		op50, op99, ocpu = append(op50, usOf(o.p50)), append(op99, usOf(o.p99)), append(ocpu, usOf(o.cpuPerCall))
		rp50, rp99, rcpu = append(rp50, usOf(r.p50)), append(rp99, usOf(r.p99)), append(rcpu, usOf(r.cpuPerCall))
		calls = append(calls, float64(o.calls))
		b.progress("  run %d: ours p50 %s µs, CPU %s µs/call (%d calls); relay p50 %s µs, CPU %s µs/call (%d calls)",
			run, fmtNum(usOf(o.p50)), fmtNum(usOf(o.cpuPerCall)), o.calls, fmtNum(usOf(r.p50)), fmtNum(usOf(r.cpuPerCall)), r.calls)
	}
	rows[0].Ours, rows[0].OursNote = median(op50), noteP("p99", median(op99))
	rows[0].Floor, rows[0].FloorText = median(rp50), noteP("p99", median(rp99))
	rows[1].Ours, rows[1].Floor = median(ocpu), median(rcpu)
	rows[1].OursNote = fmtNum(median(calls)) + " calls/run"
	return nil
}

func (b *bench) httpRows() []row {
	s := fmt.Sprintf("HTTP, %d sessions: ", b.cfg.sessions)
	return []row{
		{Figure: s + "calls/s", Unit: "calls/s", Target: target{Kind: atLeast, Value: 6000}},
		{Figure: s + "server CPU per call", Unit: "µs", Target: target{ratioAtMost, 2, "relay"}},
		{Figure: "RSS idle (HTTP, after one session)", Unit: "MB", Target: target{Kind: atMost, Value: 20}},
		{Figure: "RSS under load (VmHWM after the HTTP load)", Unit: "MB", Target: target{Kind: atMost, Value: 60}},
	}
}

func (b *bench) figHTTP(ctx context.Context, rows []row) error {
	var orate, ocpu, orss, ohwm, op50, op99, rrate, rcpu, rrss, rhwm, rp99 []float64
	for run := range b.cfg.runs {
		o, err := b.httpRun(ctx, true, run)
		if err != nil {
			return fmt.Errorf("whatsapp-mcp http: %w", err)
		}
		r, err := b.httpRun(ctx, false, run)
		if err != nil {
			return fmt.Errorf("http relay: %w", err)
		}
		orate, ocpu = append(orate, o.load.Rate), append(ocpu, usOf(o.cpuPerCall))
		orss, ohwm = append(orss, mb(o.rssIdleKB)), append(ohwm, mb(o.hwmKB))
		op50, op99 = append(op50, o.load.P50us/1000), append(op99, o.load.P99us/1000)
		rrate, rcpu = append(rrate, r.load.Rate), append(rcpu, usOf(r.cpuPerCall))
		rrss, rhwm, rp99 = append(rrss, mb(r.rssIdleKB)), append(rhwm, mb(r.hwmKB)), append(rp99, r.load.P99us/1000)
		b.progress("  run %d: ours %s calls/s, CPU %s µs/call, RSS %s→%s MB; relay %s calls/s, CPU %s µs/call, RSS %s→%s MB",
			run, fmtNum(o.load.Rate), fmtNum(usOf(o.cpuPerCall)), fmtNum(mb(o.rssIdleKB)), fmtNum(mb(o.hwmKB)),
			fmtNum(r.load.Rate), fmtNum(usOf(r.cpuPerCall)), fmtNum(mb(r.rssIdleKB)), fmtNum(mb(r.hwmKB)))
	}
	rows[0].Ours, rows[0].Floor = median(orate), median(rrate)
	rows[0].OursNote = fmt.Sprintf("p50 %s ms, p99 %s ms", fmtNum(median(op50)), fmtNum(median(op99)))
	rows[0].FloorText = fmt.Sprintf("relay; p99 %s ms", fmtNum(median(rp99)))
	rows[1].Ours, rows[1].Floor = median(ocpu), median(rcpu)
	rows[2].Ours, rows[2].Floor, rows[2].FloorText = median(orss), median(rrss), "relay"
	rows[3].Ours, rows[3].Floor, rows[3].FloorText = median(ohwm), median(rhwm), "relay"
	return nil
}

func (b *bench) webhookSQLiteRows() []row {
	return []row{
		{Figure: fmt.Sprintf("webhook ingest, SQLite, %d senders: POSTs/s", b.cfg.senders), Unit: "POSTs/s",
			Target: target{Kind: atLeast, Value: 6000}},
		{Figure: "webhook ingest, SQLite: p99", Unit: "ms", Target: target{Kind: atMost, Value: 25}},
		{Figure: "webhook ingest, SQLite: stored = acknowledged", Target: target{Kind: mustHold}},
	}
}

func (b *bench) figWebhookSQLite(ctx context.Context, rows []row) error {
	var rate, p50, p99, single, rows32 []float64
	held := true
	var acked, stored int
	floorDur := min(b.cfg.duration, 3*time.Second)
	for run := range b.cfg.runs {
		c1, _, err := rawSQLiteFloor(ctx, filepath.Join(b.tmp, fmt.Sprintf("raw-1-%d.db", run)), 1, floorDur)
		if err != nil {
			return fmt.Errorf("raw SQLite floor: %w", err)
		}
		_, r32, err := rawSQLiteFloor(ctx, filepath.Join(b.tmp, fmt.Sprintf("raw-32-%d.db", run)), 32, floorDur)
		if err != nil {
			return fmt.Errorf("raw SQLite floor: %w", err)
		}
		single, rows32 = append(single, c1), append(rows32, r32)
		label := fmt.Sprintf("webhook-sqlite-%d", run)
		w, err := b.webhookRun(ctx, label, filepath.Join(b.tmp, label+".db"))
		if err != nil {
			return err
		}
		rate, p50, p99 = append(rate, w.load.Rate), append(p50, w.load.P50us/1000), append(p99, w.load.P99us/1000)
		held = held && w.stored == w.load.OK && w.load.Errors == 0
		acked, stored = acked+w.load.OK, stored+w.stored
		b.progress("  run %d: %s POSTs/s, p50 %s ms, p99 %s ms, %d acknowledged, %d stored, %d failed; raw SQLite %s commits/s, %s rows/s at 32",
			run, fmtNum(w.load.Rate), fmtNum(w.load.P50us/1000), fmtNum(w.load.P99us/1000), w.load.OK, w.stored, w.load.Errors,
			fmtNum(c1), fmtNum(r32))
	}
	rows[0].Ours, rows[0].Floor = median(rate), median(single)
	rows[0].FloorText = fmt.Sprintf("raw 1-row commits/s; %s rows/s at 32 per commit", fmtNum(median(rows32)))
	rows[1].Ours, rows[1].OursNote = median(p99), noteP("p50", median(p50))
	rows[2].Ours = boolFigure(held)
	rows[2].OursNote = fmt.Sprintf("%s stored of %s acknowledged", fmtNum(float64(stored)), fmtNum(float64(acked)))
	return nil
}

func boolFigure(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}

func (b *bench) webhookPGRows() []row {
	return []row{
		{Figure: fmt.Sprintf("webhook ingest, PostgreSQL, %d senders: POSTs/s", b.cfg.senders), Unit: "POSTs/s",
			Target: target{Kind: atLeast, Value: 6000}},
		{Figure: "webhook ingest, PostgreSQL: stored = acknowledged", Target: target{Kind: mustHold}},
	}
}

func (b *bench) figWebhookPG(ctx context.Context, rows []row) error {
	if b.cfg.postgres == "" {
		return fmt.Errorf("%w: -postgres is empty", errNoPostgres)
	}
	if err := pgReachable(ctx, b.cfg.postgres); err != nil {
		return fmt.Errorf("%w: %v", errNoPostgres, err)
	}
	var rate, p50, p99 []float64
	held := true
	var acked, stored int
	for run := range b.cfg.runs {
		sch, err := newPGSchema(ctx, b.cfg.postgres, fmt.Sprintf("ingest%d", run))
		if err != nil {
			return err
		}
		w, err := b.webhookRun(ctx, fmt.Sprintf("webhook-pg-%d", run), sch.dsn())
		if derr := sch.drop(ctx); derr != nil {
			b.notef("dropping schema %s: %v", sch.name, derr)
		}
		if err != nil {
			return err
		}
		rate, p50, p99 = append(rate, w.load.Rate), append(p50, w.load.P50us/1000), append(p99, w.load.P99us/1000)
		held = held && w.stored == w.load.OK && w.load.Errors == 0
		acked, stored = acked+w.load.OK, stored+w.stored
		b.progress("  run %d: %s POSTs/s, p50 %s ms, p99 %s ms, %d acknowledged, %d stored, %d failed",
			run, fmtNum(w.load.Rate), fmtNum(w.load.P50us/1000), fmtNum(w.load.P99us/1000), w.load.OK, w.stored, w.load.Errors)
	}
	rows[0].Ours = median(rate)
	rows[0].OursNote = fmt.Sprintf("p50 %s ms, p99 %s ms", fmtNum(median(p50)), fmtNum(median(p99)))
	rows[1].Ours = boolFigure(held)
	rows[1].OursNote = fmt.Sprintf("%s stored of %s acknowledged", fmtNum(float64(stored)), fmtNum(float64(acked)))
	return nil
}

var pollEngines = []string{"SQLite", "PostgreSQL"}

func (b *bench) pollRows() []row {
	var rs []row
	for _, eng := range pollEngines {
		for _, c := range pollCases {
			rs = append(rs, row{Figure: fmt.Sprintf("trigger poll p50, %s, %s events: %s", eng, fmtNum(float64(b.cfg.events)), c.name),
				Unit: "ms", Target: target{Kind: atMost, Value: 1}})
		}
	}
	return rs
}

func (b *bench) figPoll(ctx context.Context, rows []row) error {
	fill := func(rs []row, results []pollResult) {
		for i := range pollCases {
			var p50, p99 []float64
			for _, r := range results {
				p50, p99 = append(p50, ms(r.p50[i])), append(p99, ms(r.p99[i]))
			}
			rs[i].Ours, rs[i].OursNote = median(p50), noteP("p99", median(p99))
		}
	}
	path := filepath.Join(b.tmp, "poll.db")
	res, err := b.pollStore(ctx, "SQLite", path, func(ctx context.Context) error { return analyzeSQLite(ctx, path) })
	if err != nil {
		return fmt.Errorf("SQLite: %w", err)
	}
	fill(rows[:len(pollCases)], res)

	pg := rows[len(pollCases):]
	pgErr := func(err error) {
		for i := range pg {
			pg[i].Error = shortError(err)
		}
	}
	if b.cfg.postgres == "" {
		pgErr(fmt.Errorf("%w: -postgres is empty", errNoPostgres))
		return nil
	}
	if err := pgReachable(ctx, b.cfg.postgres); err != nil {
		pgErr(errNoPostgres)
		b.notef("PostgreSQL poll figures not measured: %v", err)
		return nil
	}
	sch, err := newPGSchema(ctx, b.cfg.postgres, "poll")
	if err != nil {
		return err
	}
	defer func() {
		if err := sch.drop(ctx); err != nil {
			b.notef("dropping schema %s: %v", sch.name, err)
		}
	}()
	res, err = b.pollStore(ctx, "PostgreSQL", sch.dsn(), func(ctx context.Context) error {
		return (&pgSchema{base: sch.dsn()}).exec(ctx, "ANALYZE")
	})
	if err != nil {
		// The SQLite figures stand; only these are not measured.
		b.failed = true
		b.progress("error: PostgreSQL poll: %v", err)
		pgErr(err)
		return nil
	}
	fill(pg, res)
	return nil
}

func (b *bench) startRows() []row {
	return []row{
		{Figure: "tools/list bytes, total", Unit: "B"},
		{Figure: "tools/list bytes per tool (average)", Unit: "B", Floor: 800, FloorText: "github-mcp-server ~450–800",
			Target: target{Kind: atMost, Value: 1500}},
		{Figure: "start to tools/list (stdio)", Unit: "ms", Target: target{Kind: atMost, Value: 20}},
	}
}

func (b *bench) figStart(ctx context.Context, rows []row) error {
	var ours, relay []float64
	for run := range b.cfg.startRuns {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d, res, err := b.startRun(true, run)
		if err != nil {
			return fmt.Errorf("whatsapp-mcp stdio: %w", err)
		}
		ours = append(ours, ms(d))
		if run == 0 {
			n, err := countTools(res)
			if err != nil {
				return err
			}
			rows[0].Ours, rows[0].OursNote = float64(len(res)), fmt.Sprintf("%d tools", n)
			rows[1].Ours = float64(len(res)) / float64(n)
			if shares, err := fieldShares(res); err == nil {
				b.notef("tools/list bytes by field: %s", shares)
			}
		}
		d, _, err = b.startRun(false, run)
		if err != nil {
			return fmt.Errorf("stdio relay: %w", err)
		}
		relay = append(relay, ms(d))
	}
	rows[2].Ours, rows[2].Floor, rows[2].FloorText = median(ours), median(relay), "stdio relay"
	rows[2].OursNote = fmt.Sprintf("min %s, max %s", fmtNum(minOf(ours)), fmtNum(maxOf(ours)))
	return nil
}

func minOf(xs []float64) float64 {
	m := math.Inf(1)
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}
