package storetest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// ConversationPlanner is what an engine offers to show how the
// conversation store reads.
type ConversationPlanner interface {
	Analyze(ctx context.Context) error
	ExplainRead(ctx context.Context, q any) ([]string, error)
	ExplainMarkRead(ctx context.Context, phoneNumberID, messageID string) ([]string, error)
}

// The skewed data set of testConversationPlansAfterAnalyze: a busy number
// with nearly every message, most of them one customer's and of one type,
// one common word; a quiet number with a handful.
const (
	cplanTotal = 8_000
	cplanBig   = "16505550000" // the customer with most of the busy number's messages
)

// testConversationPlansAfterAnalyze: each read of the conversation store
// keeps to the index of its shape, reading about what it returns, for a
// number, customer or word holding most rows or almost none, in every
// plan the engine may use; search goes through the full-text index. A
// check of plans, not of time.
func testConversationPlansAfterAnalyze(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	var b store.Batch
	flush := func() {
		save(t, s, b)
		b = store.Batch{}
	}
	for i := range cplanTotal {
		phone, cust, typ, text := phoneA, cplanBig, "text", "order status please"
		switch {
		case i%(cplanTotal/8) == 0:
			phone, cust = phoneB, fmt.Sprintf("4477009%05d", i)
		case i%10 == 0:
			cust = fmt.Sprintf("1650556%04d", i%500)
		}
		if i%997 == 0 {
			typ, text = "image", "a rare zebra"
		}
		id := fmt.Sprintf("wamid.cplan.%06d", i)
		if i%2 == 0 {
			b.Outbound = append(b.Outbound, msgOut(phone, id, cust, int64(1_750_000_000+i), text))
		} else {
			b.Inbound = append(b.Inbound, msgIn(phone, id, cust, int64(1_750_000_000+i), typ, text))
		}
		if len(b.Inbound)+len(b.Outbound) == 1000 {
			flush()
		}
	}
	flush()
	p, ok := s.(ConversationPlanner)
	if !ok {
		t.Fatalf("%T does not show its plans (storetest.ConversationPlanner)", s)
	}
	if err := p.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	p = open().(ConversationPlanner)

	type shape struct {
		q     any
		index string // the index every plan must use
		sort  bool   // a sort of what the index ranges returned is allowed (merging several)
	}
	// Each number with most rows, a few, none; each cursor at the start
	// and in the middle (one explained statement costs a connection and a
	// few executions on PostgreSQL: the matrix is kept small).
	var shapes []shape
	for i, phone := range []string{phoneA, phoneB, planNone} {
		after := []int64{0, cplanTotal / 2}[i%2]
		pos := []store.Position{{}, {Timestamp: 1_750_000_000 + cplanTotal/2, Seq: cplanTotal / 2}}[i%2]
		shapes = append(shapes,
			shape{q: store.InboundQuery{PhoneNumberID: phone, After: after, Limit: 101}, index: "wa_messages_in"},
			shape{q: store.InboundQuery{PhoneNumberID: phone, After: after, Limit: 101, Types: []string{"image"}}, index: "wa_messages_in_type"},
			shape{q: store.InboundQuery{PhoneNumberID: phone, After: after, Limit: 101, Types: []string{"image", "text"}}, index: "wa_messages_in_type", sort: true},
			shape{q: store.InboundQuery{PhoneNumberID: phone, After: after, Limit: 101, Customer: cplanBig}, index: "wa_messages_in_customer"},
			shape{q: store.InboundQuery{PhoneNumberID: phone, After: after, Limit: 101, Customer: "16505560010", Types: []string{"text"}}, index: "wa_messages_in_customer"},
			shape{q: store.ConversationQuery{PhoneNumberID: phone, Before: after, Limit: 21}, index: "wa_conversations_inbox"},
			shape{q: store.ConversationQuery{PhoneNumberID: phone, Before: after, Limit: 21, UnreadOnly: true}, index: "wa_conversations_unread"},
			shape{q: store.ConversationQuery{PhoneNumberID: phone, Before: after, Limit: 21, OpenSince: time.Unix(1_750_000_000, 0)}, index: "wa_conversations_inbox"},
			shape{q: store.HistoryQuery{PhoneNumberID: phone, Customer: cplanBig, Before: pos, Limit: 51}, index: "wa_messages_conversation"},
			shape{q: store.HistoryQuery{PhoneNumberID: phone, Customer: "15550000000", After: pos, Limit: 51}, index: "wa_messages_conversation"},
			shape{q: store.SearchQuery{PhoneNumberID: phone, Query: "order", Limit: 20}, index: searchIndex, sort: true},
			shape{q: store.SearchQuery{PhoneNumberID: phone, Query: "zebra", Limit: 20, Customer: cplanBig}, index: searchIndex, sort: true},
		)
	}
	for _, sh := range shapes {
		plans, err := p.ExplainRead(ctx, sh.q)
		if err != nil {
			t.Fatalf("ExplainRead(%+v): %v", sh.q, err)
		}
		if len(plans) == 0 {
			t.Fatalf("ExplainRead(%+v): no plan", sh.q)
		}
		for _, plan := range plans {
			checkReadPlan(t, fmt.Sprintf("%T%+v", sh.q, sh.q), plan, sh.index, sh.sort)
		}
	}
	for _, id := range []string{"wamid.cplan.000001", "wamid.cplan.002501"} {
		plans, err := p.ExplainMarkRead(ctx, phoneA, id)
		if err != nil {
			t.Fatalf("ExplainMarkRead(%s): %v", id, err)
		}
		if len(plans) < 2 {
			t.Fatalf("ExplainMarkRead(%s): %d plans", id, len(plans))
		}
		half := len(plans) / 2
		for _, plan := range plans[:half] {
			checkReadPlan(t, "MarkRead's lookup of "+id, plan, "wa_messages_dedup", false)
		}
		for _, plan := range plans[half:] {
			checkReadPlan(t, "MarkRead's unread count after "+id, plan, "wa_messages_conversation", false)
		}
	}
}

// searchIndex is the full-text index of either engine: SQLite's FTS5
// table (f, shown as a virtual table), PostgreSQL's GIN index.
const searchIndex = `SCAN f VIRTUAL TABLE|wa_messages_search`

var (
	// A full read of a table (SQLite: a SCAN of a table, not of the
	// full-text one nor of a union's arm; PostgreSQL: Seq Scan).
	fullScan = regexp.MustCompile(`(?m)\bSCAN (m|c|wa_messages|wa_conversations|wa_changes)\b|Seq Scan`)
	// A sort of what was read.
	sorted = regexp.MustCompile(`TEMP B-TREE|\bSort\b`)
)

func checkReadPlan(t *testing.T, what, plan, index string, sortOK bool) {
	t.Helper()
	uses := regexp.MustCompile(`\b(` + index + `)\b`)
	if !uses.MatchString(plan) || fullScan.MatchString(plan) || (!sortOK && sorted.MatchString(plan)) {
		t.Errorf("%s after ANALYZE: want %s, no full scan%s, got\n\t%s", what, index,
			map[bool]string{false: " and no sort", true: ""}[sortOK], strings.ReplaceAll(plan, "\n", "\n\t"))
	}
}
