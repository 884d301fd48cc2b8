//go:build !whatsapp_bench_lean

package main

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the raw SQLite floor and ANALYZE use the driver the store uses

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// rawSQLiteFloor measures what this disk allows: INSERT+COMMIT loops on a
// fresh file with the store's durability settings (WAL, synchronous=FULL,
// BEGIN IMMEDIATE, one connection) and a table like wa_status_events.
// It returns commits per second and rows per second at perCommit rows per
// commit.
func rawSQLiteFloor(ctx context.Context, path string, perCommit int, d time.Duration) (commitsPerSec, rowsPerSec float64, err error) {
	dsn := "file://" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS raw_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, waba_id TEXT NOT NULL,
			phone_number_id TEXT NOT NULL, display_phone_number TEXT NOT NULL, message_id TEXT NOT NULL,
			status TEXT NOT NULL, ts INTEGER NOT NULL, recipient_id TEXT NOT NULL, raw TEXT, received_at INTEGER NOT NULL)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS raw_events_dedup ON raw_events (message_id, status)`,
		`CREATE INDEX IF NOT EXISTS raw_events_phone ON raw_events (phone_number_id, seq)`,
		`CREATE INDEX IF NOT EXISTS raw_events_phone_status ON raw_events (phone_number_id, status, seq)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return 0, 0, err
		}
	}
	ins, err := db.PrepareContext(ctx, `INSERT INTO raw_events (waba_id, phone_number_id, display_phone_number,
		message_id, status, ts, recipient_id, raw, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, 0, err
	}
	defer ins.Close()
	var tag [4]byte
	crand.Read(tag[:])
	run := hex.EncodeToString(tag[:])
	n, commits := 0, 0
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, 0, err
		}
		stmt := tx.StmtContext(ctx, ins)
		for range perCommit {
			n++
			id := fmt.Sprintf("%sRAW%s%010d", benchMessageIDPrefix, run, n)
			if _, err := stmt.ExecContext(ctx, benchWABAID, benchPhoneID, "15550783881", id, "delivered", 1750030075,
				"16505551234", statusRaw(id, "delivered"), time.Now().UnixNano()); err != nil {
				tx.Rollback()
				return 0, 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, 0, err
		}
		commits++
	}
	el := time.Since(start).Seconds()
	return float64(commits) / el, float64(commits*perCommit) / el, nil
}

// statusRaw is a statuses[] element as Meta sends it.
func statusRaw(id, status string) string {
	return `{"id":"` + id + `","status":"` + status + `","timestamp":"1750030075","recipient_id":"16505551234",` +
		`"conversation":{"id":"72b14d6bd5407799e66f64d1b338e567","origin":{"type":"utility"}},` +
		`"pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}}`
}

// countStored pages through every status event of the bench's business
// number in the store at loc, counting those whose id starts with prefix.
func countStored(ctx context.Context, loc, prefix string) (int, error) {
	st, err := store.Open(ctx, loc)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	n := 0
	var after int64
	for {
		evs, next, err := st.Statuses(ctx, store.Query{PhoneNumberID: benchPhoneID, After: after, Limit: 1000})
		if err != nil {
			return n, err
		}
		for _, e := range evs {
			if strings.HasPrefix(e.MessageID, prefix) {
				n++
			}
		}
		if len(evs) == 0 || next == after {
			return n, nil
		}
		after = next
	}
}

// pgSchema is a schema of its own in the PostgreSQL database of dsn, made for
// one measurement and dropped after it.
type pgSchema struct {
	base, name string
}

func newPGSchema(ctx context.Context, base, purpose string) (*pgSchema, error) {
	var tag [4]byte
	crand.Read(tag[:])
	s := &pgSchema{base: base, name: "whatsapp_bench_" + purpose + "_" + hex.EncodeToString(tag[:])}
	return s, s.exec(ctx, "CREATE SCHEMA "+pgx.Identifier{s.name}.Sanitize())
}

// dsn is the base DSN with search_path set to the schema.
func (s *pgSchema) dsn() string {
	u, err := url.Parse(s.base)
	if err != nil {
		return s.base
	}
	q := u.Query()
	q.Set("search_path", s.name)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *pgSchema) exec(ctx context.Context, q string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.base)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, q)
	return err
}

func (s *pgSchema) drop(ctx context.Context) error {
	return s.exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+pgx.Identifier{s.name}.Sanitize()+" CASCADE")
}

// pgReachable says whether dsn answers within a few seconds.
func pgReachable(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// The trigger-poll data set: five business numbers, one busy (90 % of the
// events), three quiet ones sharing 10 %, and one that never had any.
// Each message gets sent, delivered, read; every 100th fails after sent.
const (
	pollBusy  = "106540352242922"
	pollQuiet = "106540352242923"
	pollEmpty = "106540352242999"
)

var pollOthers = []string{"106540352242923", "106540352242924", "106540352242925"}

// pollCase is one kind of trigger poll.
type pollCase struct {
	name  string
	query store.Query // After is drawn at random per query, unless fromStart
	// fromStart polls with cursor 0: a number that never had an event
	// keeps the cursor it started with, and nothing bounds the rows a plan
	// walking seq from there would read.
	fromStart bool
}

var pollCases = []pollCase{
	{name: "busy number (90 % of events)", query: store.Query{PhoneNumberID: pollBusy}},
	{name: "busy number, status_filter=failed (0.3 %)", query: store.Query{PhoneNumberID: pollBusy, Status: "failed"}},
	{name: "quiet number (3 % of events)", query: store.Query{PhoneNumberID: pollQuiet}},
	{name: "number with no events, random cursor", query: store.Query{PhoneNumberID: pollEmpty}},
	{name: "number with no events, cursor 0", query: store.Query{PhoneNumberID: pollEmpty}, fromStart: true},
}

// loadPollEvents saves n status events into st in batches, as the webhook
// would have over time.
func loadPollEvents(ctx context.Context, st store.Store, n int) error {
	const batch = 2000
	received := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := store.Batch{Statuses: make([]store.StatusEvent, 0, batch)}
	r := rand.New(rand.NewPCG(1, 2))
	msg, step, phone := 0, 0, pollBusy
	for i := 0; i < n; i++ {
		// A message's events stay together: sent, delivered, read (or sent,
		// failed), all on the number that sent it.
		if step == 0 {
			msg++
			phone = pollBusy
			if r.IntN(10) == 0 {
				phone = pollOthers[msg%len(pollOthers)]
			}
		}
		status := []string{"sent", "delivered", "read"}[step]
		last := step == 2
		if msg%100 == 0 && step == 1 {
			status, last = "failed", true
		}
		id := fmt.Sprintf("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJQT0xM%012d", msg)
		ts := received.Add(time.Duration(i) * time.Millisecond)
		b.Statuses = append(b.Statuses, store.StatusEvent{
			WABAID: benchWABAID, PhoneNumberID: phone, DisplayPhoneNumber: "15550783881", MessageID: id,
			Status: status, Timestamp: ts.Unix(), RecipientID: "16505551234",
			Raw: json.RawMessage(statusRaw(id, status)), ReceivedAt: ts,
		})
		if last {
			step = 0
		} else {
			step++
		}
		if len(b.Statuses) == batch || i == n-1 {
			if _, _, err := st.Save(ctx, b); err != nil {
				return err
			}
			b.Statuses = b.Statuses[:0]
		}
	}
	return nil
}

// analyzeSQLite runs ANALYZE on the SQLite file at path.
func analyzeSQLite(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file://"+(&url.URL{Path: filepath.ToSlash(path)}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "ANALYZE")
	return err
}

// timePoll runs q queries of one case, each after a random cursor in the
// first nine tenths of the data (so 100 events follow it), and returns the
// latencies sorted, after a few unmeasured warm-up queries.
func timePoll(ctx context.Context, st store.Store, c pollCase, top int64, q int, seed uint64) ([]time.Duration, error) {
	r := rand.New(rand.NewPCG(seed, 7))
	lat := make([]time.Duration, 0, q)
	for i := -10; i < q; i++ {
		qq := c.query
		qq.After = r.Int64N(max(top*9/10, 1))
		if c.fromStart {
			qq.After = 0
		}
		qq.Limit = 101 // as the trigger tool asks: one more than max_results tells has_more
		t := time.Now()
		evs, _, err := st.Statuses(ctx, qq)
		d := time.Since(t)
		if err != nil {
			return nil, err
		}
		if c.query.PhoneNumberID == pollEmpty && len(evs) != 0 {
			return nil, fmt.Errorf("%s: %d events for the number that has none", c.name, len(evs))
		}
		if c.query.PhoneNumberID == pollBusy && c.query.Status == "" && len(evs) != 101 {
			return nil, fmt.Errorf("%s: %d events after cursor %d, want 101", c.name, len(evs), qq.After)
		}
		if i >= 0 {
			lat = append(lat, d)
		}
	}
	slices.Sort(lat)
	return lat, nil
}
