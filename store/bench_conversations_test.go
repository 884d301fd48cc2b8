package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// The data set of BenchmarkConversations1M: one business number,
// convCustomers customers with convPerCustomer messages each, half of them
// inbound, stored in time order. Every fourth message has the common word,
// convRare messages the rare one.
const (
	convPhone       = "106540352242922"
	convCustomers   = 10_000
	convPerCustomer = 100
	convTotal       = convCustomers * convPerCustomer
	convRare        = 10
	convBase        = 1_750_000_000
)

var convWords = []string{"hello", "price", "delivery", "tomorrow", "thanks", "please", "size", "colour", "refund",
	"address", "invoice", "available", "store", "today", "when", "where", "how", "much", "shipping", "payment"}

func convCustomer(c int) string { return fmt.Sprintf("1650%07d", c) }

// loadConversations fills s with the data set through Save, in batches as
// large as one group commit takes.
func loadConversations(b *testing.B, s store.Store) {
	b.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	rareEvery := convTotal / convRare
	var batch store.Batch
	n := 0
	flush := func() {
		if _, _, err := s.Save(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = store.Batch{}
	}
	start := time.Now()
	for k := range convPerCustomer {
		for c := range convCustomers {
			text := convWords[r.IntN(len(convWords))] + " " + convWords[r.IntN(len(convWords))] + " " + convWords[r.IntN(len(convWords))]
			if n%4 == 0 {
				text += " order"
			}
			if n%rareEvery == rareEvery/2 {
				text += " zebra"
			}
			ts := int64(convBase + k*600 + c%600)
			id := fmt.Sprintf("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ%012d", n)
			if k%2 == 0 {
				batch.Inbound = append(batch.Inbound, store.InboundMessage{PhoneNumberID: convPhone, MessageID: id,
					From: convCustomer(c), ProfileName: "Customer", Type: "text", Timestamp: ts, Text: text,
					Raw: []byte(`{"from":"` + convCustomer(c) + `","id":"` + id + `","type":"text","text":{"body":"` + text + `"}}`)})
			} else {
				batch.Outbound = append(batch.Outbound, store.OutboundMessage{PhoneNumberID: convPhone, MessageID: id,
					To: convCustomer(c), Type: "text", Timestamp: ts, Text: text, Source: store.SourceAPI,
					Raw: []byte(`{"messaging_product":"whatsapp","to":"` + convCustomer(c) + `","type":"text","text":{"body":"` + text + `"}}`)})
			}
			n++
			if len(batch.Inbound)+len(batch.Outbound) == store.MaxGroupEvents {
				flush()
			}
		}
	}
	flush()
	b.Logf("loaded %d messages through Save in %s", n, time.Since(start).Round(time.Second))
}

// BenchmarkConversations1M measures the conversation reads over a store of
// 1,000,000 messages (10,000 customers of one number, 100 messages each),
// after ANALYZE: the inbound trigger's poll (from a cursor 500 messages
// back, and caught up), the inbox's first page, a conversation's newest
// page, and searches for a rare and a common word. It loads the data
// first (minutes), so it runs only when asked:
//
//	go test ./store -run '^$' -bench Conversations1M -benchtime 200x
func BenchmarkConversations1M(b *testing.B) {
	for _, eng := range benchEngines() {
		b.Run(eng.name, func(b *testing.B) {
			loc := eng.loc(b)
			s, err := store.Open(context.Background(), loc)
			if err != nil {
				b.Fatal(err)
			}
			loadConversations(b, s)
			if err := s.(storetest.Planner).Analyze(context.Background()); err != nil {
				b.Fatal(err)
			}
			s.Close()
			s = benchOpen(b, loc)
			ctx := context.Background()
			// The last inbound message's Seq: the cursor of a caught-up poller.
			var last int64 = convTotal - 2*convCustomers
			for {
				m, next, err := s.Inbound(ctx, store.InboundQuery{PhoneNumberID: convPhone, After: last, Limit: 1000})
				if err != nil {
					b.Fatal(err)
				}
				if len(m) == 0 {
					break
				}
				last = next
			}
			r := rand.New(rand.NewPCG(3, 4))
			for _, c := range []struct {
				name string
				run  func() (int, error)
			}{
				{"poll-recent", func() (int, error) {
					m, _, err := s.Inbound(ctx, store.InboundQuery{PhoneNumberID: convPhone, After: last - 500, Limit: 101})
					return len(m), err
				}},
				{"poll-caught-up", func() (int, error) {
					m, _, err := s.Inbound(ctx, store.InboundQuery{PhoneNumberID: convPhone, After: last, Limit: 101})
					return len(m) + 1, err
				}},
				{"inbox-20", func() (int, error) {
					cs, err := s.Conversations(ctx, store.ConversationQuery{PhoneNumberID: convPhone, Limit: 20})
					return len(cs), err
				}},
				{"history-50", func() (int, error) {
					m, err := s.Messages(ctx, store.HistoryQuery{PhoneNumberID: convPhone, Customer: convCustomer(r.IntN(convCustomers)), Limit: 50})
					return len(m), err
				}},
				{"search-rare", func() (int, error) {
					m, err := s.Search(ctx, store.SearchQuery{PhoneNumberID: convPhone, Query: "zebra", Limit: 20})
					return len(m), err
				}},
				{"search-common", func() (int, error) {
					m, err := s.Search(ctx, store.SearchQuery{PhoneNumberID: convPhone, Query: "order", Limit: 20})
					return len(m), err
				}},
				{"search-two-words", func() (int, error) {
					m, err := s.Search(ctx, store.SearchQuery{PhoneNumberID: convPhone, Query: "refund invoice", Limit: 20})
					return len(m), err
				}},
			} {
				b.Run(c.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if n, err := c.run(); err != nil || n == 0 {
							b.Fatalf("%d results, %v", n, err)
						}
					}
				})
			}
		})
	}
}
