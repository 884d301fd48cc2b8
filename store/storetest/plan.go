package storetest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// Planner is what an engine offers besides store.Store to show how it reads:
// its statistics refreshed (ANALYZE) and the plans of a Statuses query.
type Planner interface {
	Analyze(ctx context.Context) error
	ExplainStatuses(ctx context.Context, q store.Query) ([]string, error)
}

// The skewed data set of testStatusPlanAfterAnalyze: one busy number with
// almost every event (and a rare status), one with a handful.
const (
	planBusy  = phoneA
	planFew   = phoneB
	planNone  = "106540352242000"
	planTotal = 20_000
	planFewN  = 8
)

// testStatusPlanAfterAnalyze: with statistics that say one number holds
// nearly every row, a planner would rather walk the table in Seq order from
// the cursor, filtering on the number, which reads the whole rest of the
// table for a number with few events or none (and for the busy one, once
// its events stop). The status trigger's query must keep to the number's
// index (with a status, the number-and-status one) from the cursor, for
// every number and cursor, in every plan the engine may use (PostgreSQL: a
// prepared statement's generic plan too). A check of plans, not of time.
func testStatusPlanAfterAnalyze(t *testing.T, open openFunc) {
	s := open()
	ctx := context.Background()
	var b store.Batch
	for i := range planTotal {
		phone := planBusy
		if i%(planTotal/planFewN) == 0 {
			phone = planFew
		}
		st := []string{"sent", "delivered", "read"}[i%3]
		if i%1000 == 1 {
			st = "failed"
		}
		b.Statuses = append(b.Statuses, status(phone, fmt.Sprintf("wamid.plan.%06d", i), st, int64(i)))
		if len(b.Statuses) == 1000 {
			saveStatuses(t, s, b.Statuses...)
			b.Statuses = b.Statuses[:0]
		}
	}
	p, ok := s.(Planner)
	if !ok {
		t.Fatalf("%T does not show its plans (storetest.Planner)", s)
	}
	if err := p.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	// Reopened: a store opened on analysed tables, as in production
	// (SQLite's readers load the statistics when they connect).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	p = open().(Planner)

	for _, phone := range []string{planBusy, planFew, planNone} {
		for _, st := range []string{"", "failed"} {
			for _, after := range []int64{0, planTotal / 2} {
				q := store.Query{PhoneNumberID: phone, Status: st, After: after, Limit: 101}
				index := "wa_status_events_phone"
				if st != "" {
					index = "wa_status_events_phone_status"
				}
				plans, err := p.ExplainStatuses(ctx, q)
				if err != nil {
					t.Fatalf("ExplainStatuses(%+v): %v", q, err)
				}
				if len(plans) == 0 {
					t.Fatalf("ExplainStatuses(%+v): no plan", q)
				}
				for _, plan := range plans {
					checkPlan(t, q, plan, index)
				}
			}
		}
	}
}

var (
	// A range on seq in the index condition: "seq>?" (SQLite), "seq) >"
	// (PostgreSQL's row comparison).
	seqRange = regexp.MustCompile(`seq\)? ?>`)
	// What a plan that keeps to one index from the cursor never shows: a
	// walk of the table or of the primary key (SQLite: SCAN, the INTEGER
	// PRIMARY KEY; PostgreSQL: Seq Scan, the _pkey index), a bitmap, or a
	// sort of what it read.
	offPlan = regexp.MustCompile(`\bSCAN\b|PRIMARY KEY|Seq Scan|_pkey|Bitmap|TEMP B-TREE|\bSort\b`)
)

func checkPlan(t *testing.T, q store.Query, plan, index string) {
	t.Helper()
	uses := regexp.MustCompile(`\b` + index + `\b`)
	if !uses.MatchString(plan) || !seqRange.MatchString(plan) || offPlan.MatchString(plan) {
		t.Errorf("Statuses(%+v) after ANALYZE: want a range of %s from the cursor, got\n\t%s",
			q, index, strings.ReplaceAll(plan, "\n", "\n\t"))
	}
}
