package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgMigrations are applied in order, each once; append, never edit.
var pgMigrations = [][]string{
	1: {
		// CACHE 1 (the default, spelled out): with a per-session cache, two
		// sessions would hand out interleaved blocks of ids and Seq would no
		// longer follow commit order even under the save lock.
		`CREATE TABLE wa_status_events (
			seq                  bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
			waba_id              text        NOT NULL,
			phone_number_id      text        NOT NULL,
			display_phone_number text        NOT NULL,
			message_id           text        NOT NULL,
			status               text        NOT NULL,
			ts                   bigint      NOT NULL,
			recipient_id         text        NOT NULL,
			raw                  json, -- json, not jsonb: keeps Meta's bytes exactly
			received_at          timestamptz NOT NULL
		)`,
		`CREATE UNIQUE INDEX wa_status_events_dedup ON wa_status_events (message_id, status)`,
		`CREATE INDEX wa_status_events_phone ON wa_status_events (phone_number_id, seq)`,
		`CREATE INDEX wa_status_events_phone_status ON wa_status_events (phone_number_id, status, seq)`,
		`CREATE TABLE wa_inbound_messages (
			seq             bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
			phone_number_id text        NOT NULL,
			message_id      text        NOT NULL,
			from_wa_id      text        NOT NULL,
			type            text        NOT NULL,
			ts              bigint      NOT NULL,
			raw             json,
			received_at     timestamptz NOT NULL
		)`,
		`CREATE UNIQUE INDEX wa_inbound_messages_dedup ON wa_inbound_messages (message_id)`,
		`CREATE INDEX wa_inbound_messages_last ON wa_inbound_messages (phone_number_id, from_wa_id, ts)`,
	},
}

const pgStatusColumns = `seq, waba_id, phone_number_id, display_phone_number, message_id, status, ts, recipient_id, raw::text, received_at`

// Test hooks (set only from tests): pgBeforeCommit runs inside Save after the
// inserts, widening the window in which a concurrent reader could overtake an
// uncommitted Seq; pgNoSaveLock turns the ordering lock off to show the
// concurrency test catches the skip it prevents.
var (
	pgBeforeCommit func()
	pgNoSaveLock   bool
)

type pgStore struct {
	pool *pgxpool.Pool
	// Advisory lock keys, derived from the schema so that stores in different
	// schemas of one database (tests, tenants) do not wait on each other.
	saveLock, migrateLock int64

	closeOnce sync.Once
}

func openPostgres(ctx context.Context, dsn string) (_ Store, err error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err) // pgx redacts the password
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	s := &pgStore{pool: pool}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	if schema == nil {
		return nil, errors.New("store: postgres: no schema to create tables in (does the search_path schema exist?)")
	}
	s.saveLock = lockKey("save", *schema)
	s.migrateLock = lockKey("migrate", *schema)
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("whatsapp-mcp/store/" + purpose + "\x00" + schema))
	return int64(h.Sum64())
}

// migrate applies the missing steps in one transaction (PostgreSQL DDL is
// transactional) under an advisory lock, so replicas starting together
// neither race on CREATE TABLE nor apply a step twice.
func (s *pgStore) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.migrateLock); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS wa_schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM wa_schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	for v := current + 1; v < len(pgMigrations); v++ {
		for _, stmt := range pgMigrations[v] {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("store: migration %d: %w", v, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO wa_schema_migrations (version) VALUES ($1)`, v); err != nil {
			return fmt.Errorf("store: migration %d: %w", v, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	return nil
}

// Save inserts the batch in one transaction that first takes a
// transaction-scoped advisory lock.
//
// Why the lock: identity values are handed out when a row is inserted, not
// when its transaction commits. Without the lock, replica A could take Seq 10,
// replica B take Seq 11 and commit first; a reader paging with After=9 would
// get 11, move its cursor to 11, and never see 10 once A commits. Holding one
// lock from before the first insert until commit means Seqs are assigned and
// become visible in the same order (the lock is released only after the
// commit is visible), so "Seq > cursor" never skips. The cost is that Saves
// are serialised across replicas; each holds the lock for about two round
// trips plus the commit.
func (s *pgStore) Save(ctx context.Context, b Batch) (newStatuses, newInbound int, err error) {
	if len(b.Statuses) == 0 && len(b.Inbound) == 0 {
		return 0, 0, nil
	}
	now := time.Now()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: save: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	// One pipelined round trip for the lock and every insert; the server
	// still runs them in order, so no insert happens before the lock is held.
	batch := &pgx.Batch{}
	if !pgNoSaveLock {
		batch.Queue(`SELECT pg_advisory_xact_lock($1)`, s.saveLock)
	}
	for _, e := range b.Statuses {
		batch.Queue(`INSERT INTO wa_status_events
			(waba_id, phone_number_id, display_phone_number, message_id, status, ts, recipient_id, raw, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::json, $9)
			ON CONFLICT (message_id, status) DO NOTHING`,
			e.WABAID, e.PhoneNumberID, e.DisplayPhoneNumber, e.MessageID, e.Status, e.Timestamp, e.RecipientID,
			rawOrNil(e.Raw), receivedAt(e.ReceivedAt, now))
	}
	for _, m := range b.Inbound {
		batch.Queue(`INSERT INTO wa_inbound_messages
			(phone_number_id, message_id, from_wa_id, type, ts, raw, received_at)
			VALUES ($1, $2, $3, $4, $5, $6::text::json, $7)
			ON CONFLICT (message_id) DO NOTHING`,
			m.PhoneNumberID, m.MessageID, digits(m.From), m.Type, m.Timestamp, rawOrNil(m.Raw),
			receivedAt(m.ReceivedAt, now))
	}
	br := tx.SendBatch(ctx, batch)
	if !pgNoSaveLock {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return 0, 0, fmt.Errorf("store: save: lock: %w", err)
		}
	}
	for _, e := range b.Statuses {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, 0, fmt.Errorf("store: save status %s/%s: %w", e.MessageID, e.Status, err)
		}
		if tag.RowsAffected() > 0 {
			newStatuses++
		}
	}
	for _, m := range b.Inbound {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, 0, fmt.Errorf("store: save inbound %s: %w", m.MessageID, err)
		}
		if tag.RowsAffected() > 0 {
			newInbound++
		}
	}
	if err := br.Close(); err != nil {
		return 0, 0, fmt.Errorf("store: save: %w", err)
	}
	if pgBeforeCommit != nil {
		pgBeforeCommit()
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, fmt.Errorf("store: save: commit: %w", err)
	}
	return newStatuses, newInbound, nil
}

// Statuses reads with a single statement, hence a single snapshot: with the
// save lock, a snapshot that contains Seq n contains every Seq below n.
func (s *pgStore) Statuses(ctx context.Context, q Query) ([]StatusEvent, int64, error) {
	query, args := statusesQuery(q, pgStatusColumns, func(n int) string { return fmt.Sprintf("$%d", n) })
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, q.After, fmt.Errorf("store: statuses: %w", err)
	}
	events, err := scanPGStatuses(rows)
	if err != nil {
		return nil, q.After, fmt.Errorf("store: statuses: %w", err)
	}
	next := q.After
	if len(events) > 0 {
		next = events[len(events)-1].Seq
	}
	return events, next, nil
}

func (s *pgStore) History(ctx context.Context, messageIDs []string) (map[string][]StatusEvent, error) {
	out := make(map[string][]StatusEvent)
	ids := uniqueIDs(messageIDs)
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+pgStatusColumns+` FROM wa_status_events
		WHERE message_id = ANY($1) ORDER BY seq`, ids)
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	events, err := scanPGStatuses(rows)
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	for _, e := range events {
		out[e.MessageID] = append(out[e.MessageID], e)
	}
	return out, nil
}

func (s *pgStore) LastInbound(ctx context.Context, phoneNumberID, waID string) (time.Time, bool, error) {
	waID = digits(waID)
	if waID == "" {
		return time.Time{}, false, nil
	}
	var (
		ts   int64
		recv time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT ts, received_at FROM wa_inbound_messages
		WHERE phone_number_id = $1 AND from_wa_id = $2 ORDER BY ts DESC, seq DESC LIMIT 1`,
		phoneNumberID, waID).Scan(&ts, &recv)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: last inbound: %w", err)
	}
	return inboundTime(ts, recv), true, nil
}

func (s *pgStore) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

func scanPGStatuses(rows pgx.Rows) ([]StatusEvent, error) {
	defer rows.Close()
	var events []StatusEvent
	for rows.Next() {
		var (
			e   StatusEvent
			raw *string
		)
		if err := rows.Scan(&e.Seq, &e.WABAID, &e.PhoneNumberID, &e.DisplayPhoneNumber, &e.MessageID, &e.Status,
			&e.Timestamp, &e.RecipientID, &raw, &e.ReceivedAt); err != nil {
			return nil, err
		}
		if raw != nil {
			e.Raw = []byte(*raw)
		}
		e.ReceivedAt = e.ReceivedAt.UTC()
		events = append(events, e)
	}
	return events, rows.Err()
}
