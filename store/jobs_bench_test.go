package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// benchBulkRecipients is a bulk send's recipients, each with a template
// request body of a realistic size.
func benchBulkRecipients(n int) []store.BulkRecipient {
	rs := make([]store.BulkRecipient, n)
	for i := range rs {
		to := fmt.Sprintf("+1650555%04d", i)
		rs[i] = store.BulkRecipient{To: to, Body: json.RawMessage(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"` +
			to + `","type":"template","template":{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"body",` +
			`"parameters":[{"type":"text","text":"Jessica"},{"type":"text","text":"SKBUP2-4CPIG9"}]}]}}`)}
	}
	return rs
}

// BenchmarkBulkJob measures the bulk job store: one CreateBulkJob of 1,000
// recipients (one transaction), and one BeginBulkSend + EndBulkSend pair
// (two durable commits: what each recipient of a bulk send costs the
// store).
func BenchmarkBulkJob(b *testing.B) {
	ctx := context.Background()
	rs := benchBulkRecipients(1000)
	job := func(i int) store.BulkJob {
		return store.BulkJob{ID: fmt.Sprintf("job-%d", i), PhoneNumberID: "106540352242922", TemplateName: "order_update",
			LanguageCode: "en_US", RatePerSecond: 80}
	}
	for _, eng := range benchEngines() {
		b.Run("Create1000/"+eng.name, func(b *testing.B) {
			s := benchOpen(b, eng.loc(b))
			i := 0
			for b.Loop() {
				if err := s.CreateBulkJob(ctx, job(i), rs); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("BeginEnd/"+eng.name, func(b *testing.B) {
			s := benchOpen(b, eng.loc(b))
			jobs, seq, pairs := 0, len(rs), 0
			for b.Loop() {
				if seq == len(rs) {
					b.StopTimer()
					if jobs > 0 {
						if err := s.FinishBulkJob(ctx, job(jobs-1).ID, "bench", store.JobDone); err != nil {
							b.Fatal(err)
						}
					}
					if err := s.CreateBulkJob(ctx, job(jobs), rs); err != nil {
						b.Fatal(err)
					}
					if _, ok, err := s.AcquireBulkJob(ctx, "bench", time.Hour); err != nil || !ok {
						b.Fatal("acquire:", ok, err)
					}
					jobs, seq = jobs+1, 0
					b.StartTimer()
				}
				id := job(jobs - 1).ID
				if ok, err := s.BeginBulkSend(ctx, id, "bench", seq); err != nil || !ok {
					b.Fatal("begin:", ok, err)
				}
				if err := s.EndBulkSend(ctx, id, seq, store.RecipientSent, fmt.Sprintf("wamid.%d", seq), "", 0); err != nil {
					b.Fatal(err)
				}
				seq++
				pairs++
			}
			b.ReportMetric(float64(pairs)/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}
