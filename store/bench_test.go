package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// BenchmarkSave measures one durable Save (a webhook delivery) of 1 or 50
// new statuses: SQLite with synchronous=FULL, and PostgreSQL when
// WHATSAPP_TEST_POSTGRES_DSN is set.
func BenchmarkSave(b *testing.B) {
	engines := []struct {
		name string
		loc  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "events.db") }},
	}
	if os.Getenv(storetest.PostgresEnv) != "" {
		engines = append(engines, struct {
			name string
			loc  func(b *testing.B) string
		}{"postgres", func(b *testing.B) string { return storetest.PostgresDSN(b) }})
	}
	for _, eng := range engines {
		for _, size := range []int{1, 50} {
			b.Run(fmt.Sprintf("%s/statuses=%d", eng.name, size), func(b *testing.B) {
				s, err := store.Open(context.Background(), eng.loc(b))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := context.Background()
				batch := store.Batch{Statuses: make([]store.StatusEvent, size)}
				n := 0
				b.ReportAllocs()
				for b.Loop() {
					for i := range batch.Statuses {
						n++
						id := fmt.Sprintf("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ%012d", n)
						batch.Statuses[i] = store.StatusEvent{
							WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhoneNumber: "15550783881",
							MessageID: id, Status: "delivered", Timestamp: 1750030073, RecipientID: "16505551234",
							Raw: json.RawMessage(`{"id":"` + id + `","status":"delivered","timestamp":"1750030073",` +
								`"recipient_id":"16505551234","pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}}`),
						}
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
