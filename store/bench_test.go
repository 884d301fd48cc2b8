package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// benchEngine is an engine the benchmarks run on: SQLite with
// synchronous=FULL, and PostgreSQL when WHATSAPP_TEST_POSTGRES_DSN is set.
type benchEngine struct {
	name string
	loc  func(b *testing.B) string
}

func benchEngines() []benchEngine {
	engines := []benchEngine{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "events.db") }},
	}
	if os.Getenv(storetest.PostgresEnv) != "" {
		engines = append(engines, benchEngine{"postgres", func(b *testing.B) string { return storetest.PostgresDSN(b) }})
	}
	return engines
}

func benchOpen(b *testing.B, loc string, opts ...store.Option) store.Store {
	b.Helper()
	s, err := store.Open(context.Background(), loc, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchStatus is a delivered status as Meta sends it, with message id n.
func benchStatus(n int64, phone, status string) store.StatusEvent {
	id := fmt.Sprintf("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ%012d", n)
	return store.StatusEvent{
		WABAID: "102290129340398", PhoneNumberID: phone, DisplayPhoneNumber: "15550783881",
		MessageID: id, Status: status, Timestamp: 1750030073, RecipientID: "16505551234",
		Raw: json.RawMessage(`{"id":"` + id + `","status":"` + status + `","timestamp":"1750030073",` +
			`"recipient_id":"16505551234","pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}}`),
	}
}

// BenchmarkSave measures one durable Save (a webhook delivery) of 1 or 50
// new statuses, one at a time: each is a commit of its own.
func BenchmarkSave(b *testing.B) {
	for _, eng := range benchEngines() {
		for _, size := range []int{1, 50} {
			b.Run(fmt.Sprintf("%s/statuses=%d", eng.name, size), func(b *testing.B) {
				s := benchOpen(b, eng.loc(b))
				ctx := context.Background()
				batch := store.Batch{Statuses: make([]store.StatusEvent, size)}
				var n int64
				b.ReportAllocs()
				for b.Loop() {
					for i := range batch.Statuses {
						n++
						batch.Statuses[i] = benchStatus(n, "106540352242922", "delivered")
					}
					if got, _, err := s.Save(ctx, batch); err != nil || got != size {
						b.Fatalf("Save: %d new, %v", got, err)
					}
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "statuses/s")
			})
		}
	}
}

// BenchmarkSaveConcurrent is Save from 64 goroutines at once (the webhook
// under load: one per delivery in flight), 1 or 32 new statuses each, so
// group commit writes many Saves per transaction. ns/op is per Save.
func BenchmarkSaveConcurrent(b *testing.B) {
	const callers = 64
	for _, eng := range benchEngines() {
		for _, size := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/statuses=%d/callers=%d", eng.name, size, callers), func(b *testing.B) {
				s := benchOpen(b, eng.loc(b))
				ctx := context.Background()
				var seq atomic.Int64
				b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					batch := store.Batch{Statuses: make([]store.StatusEvent, size)}
					for pb.Next() {
						for i := range batch.Statuses {
							batch.Statuses[i] = benchStatus(seq.Add(1), "106540352242922", "delivered")
						}
						if got, _, err := s.Save(ctx, batch); err != nil || got != size {
							b.Errorf("Save: %d new, %v", got, err)
							return
						}
					}
				})
				b.ReportMetric(float64(seq.Load())/b.Elapsed().Seconds(), "statuses/s")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "saves/s")
			})
		}
	}
}

// The poll data set of BenchmarkStatuses, shaped like the bench harness's:
// a busy number with 90 % of the events, three quiet ones sharing the rest,
// one with none; every 100th message fails.
const (
	pollEvents = 120_000
	pollBusy   = "106540352242922"
	pollQuiet  = "106540352242923"
	pollEmpty  = "106540352242999"
)

func loadPollEvents(b *testing.B, s store.Store) {
	b.Helper()
	quiet := []string{pollQuiet, "106540352242924", "106540352242925"}
	batch := store.Batch{Statuses: make([]store.StatusEvent, 0, 2000)}
	for i, msg := 0, int64(0); i < pollEvents; msg++ {
		phone := pollBusy
		if msg%10 == 0 {
			phone = quiet[msg/10%3]
		}
		sts := []string{"sent", "delivered", "read"}
		if msg%100 == 1 {
			sts = []string{"sent", "failed"}
		}
		for _, st := range sts {
			batch.Statuses = append(batch.Statuses, benchStatus(msg, phone, st))
			i++
		}
		if len(batch.Statuses) >= 1998 || i >= pollEvents {
			if _, _, err := s.Save(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch.Statuses = batch.Statuses[:0]
		}
	}
}

// BenchmarkStatuses is the status trigger's poll (Limit 101: max_results
// 100, plus one to tell has_more) after ANALYZE of 120,000 events, from
// random cursors in the first nine tenths (or cursor 0, the one a poller of
// a number without events keeps). ns/op is per poll.
func BenchmarkStatuses(b *testing.B) {
	for _, eng := range benchEngines() {
		b.Run(eng.name, func(b *testing.B) {
			loc := eng.loc(b)
			s, err := store.Open(context.Background(), loc)
			if err != nil {
				b.Fatal(err)
			}
			loadPollEvents(b, s)
			if err := s.(storetest.Planner).Analyze(context.Background()); err != nil {
				b.Fatal(err)
			}
			s.Close()
			s = benchOpen(b, loc) // on analysed tables, as in production
			for _, c := range []struct {
				name      string
				q         store.Query
				fromStart bool
			}{
				{"busy", store.Query{PhoneNumberID: pollBusy}, false},
				{"busy-failed", store.Query{PhoneNumberID: pollBusy, Status: "failed"}, false},
				{"quiet", store.Query{PhoneNumberID: pollQuiet}, false},
				{"none", store.Query{PhoneNumberID: pollEmpty}, false},
				{"none-cursor-0", store.Query{PhoneNumberID: pollEmpty}, true},
			} {
				b.Run(c.name, func(b *testing.B) {
					r := rand.New(rand.NewPCG(1, 2))
					ctx := context.Background()
					b.ReportAllocs()
					for b.Loop() {
						q := c.q
						q.Limit = 101
						if !c.fromStart {
							q.After = r.Int64N(pollEvents * 9 / 10)
						}
						if _, _, err := s.Statuses(ctx, q); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkLastInbound is the 24-hour window lookup every free-form send
// makes: answered from the cache, and (uncached) by the prepared SELECT.
func BenchmarkLastInbound(b *testing.B) {
	for _, eng := range benchEngines() {
		for _, cached := range []bool{true, false} {
			name := eng.name + "/cached"
			opts := []store.Option{}
			if !cached {
				name = eng.name + "/uncached"
				opts = append(opts, store.WithLastInboundTTL(-1))
			}
			b.Run(name, func(b *testing.B) {
				s := benchOpen(b, eng.loc(b), opts...)
				ctx := context.Background()
				var in []store.InboundMessage
				for i := range 1000 {
					in = append(in, store.InboundMessage{PhoneNumberID: pollBusy, MessageID: fmt.Sprintf("wamid.in.%d", i),
						From: fmt.Sprintf("1650555%04d", i%100), Type: "text", Timestamp: int64(1_750_000_000 + i)})
				}
				if _, _, err := s.Save(ctx, store.Batch{Inbound: in}); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					if _, ok, err := s.LastInbound(ctx, pollBusy, fmt.Sprintf("+1650555%04d", i%100)); err != nil || !ok {
						b.Fatalf("LastInbound: %v, %v", ok, err)
					}
				}
			})
		}
	}
}
