package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // the "sqlite" driver (pure Go, no cgo) and its Error type
)

// sqliteMigrations are applied in order, each once; append, never edit.
var sqliteMigrations = [][]string{
	1: {
		`CREATE TABLE wa_status_events (
			seq                  INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: never reuse a Seq, even after deletes
			waba_id              TEXT    NOT NULL,
			phone_number_id      TEXT    NOT NULL,
			display_phone_number TEXT    NOT NULL,
			message_id           TEXT    NOT NULL,
			status               TEXT    NOT NULL,
			ts                   INTEGER NOT NULL,
			recipient_id         TEXT    NOT NULL,
			raw                  TEXT,
			received_at          INTEGER NOT NULL -- unix nanoseconds
		)`,
		`CREATE UNIQUE INDEX wa_status_events_dedup ON wa_status_events (message_id, status)`,
		`CREATE INDEX wa_status_events_phone ON wa_status_events (phone_number_id, seq)`,
		`CREATE INDEX wa_status_events_phone_status ON wa_status_events (phone_number_id, status, seq)`,
		`CREATE TABLE wa_inbound_messages (
			seq             INTEGER PRIMARY KEY AUTOINCREMENT,
			phone_number_id TEXT    NOT NULL,
			message_id      TEXT    NOT NULL,
			from_wa_id      TEXT    NOT NULL,
			type            TEXT    NOT NULL,
			ts              INTEGER NOT NULL,
			raw             TEXT,
			received_at     INTEGER NOT NULL
		)`,
		`CREATE UNIQUE INDEX wa_inbound_messages_dedup ON wa_inbound_messages (message_id)`,
		`CREATE INDEX wa_inbound_messages_last ON wa_inbound_messages (phone_number_id, from_wa_id, ts)`,
	},
}

const statusColumns = `seq, waba_id, phone_number_id, display_phone_number, message_id, status, ts, recipient_id, raw, received_at`

type sqliteStore struct {
	// w has a single connection: SQLite admits one writer at a time anyway,
	// and one connection means our own transactions queue in Go instead of
	// spinning on SQLITE_BUSY.
	w *sql.DB
	// r serves reads; in WAL mode they do not wait for the writer.
	r *sql.DB

	insStatus, insInbound *sql.Stmt

	closeOnce sync.Once
	closeErr  error
}

// sqliteDSNs turns a location into driver DSNs for the writer and the readers.
// Writer pragmas: synchronous=FULL so a committed Save survives power loss (we
// acknowledge Meta only after it); busy_timeout for other processes sharing
// the file; BEGIN IMMEDIATE so a write transaction takes the lock up front
// instead of failing mid-way. WAL is set once by openSQLite (it is a property
// of the file, and switching to it can fail with SQLITE_BUSY regardless of
// busy_timeout, so it needs a retry a DSN pragma cannot give).
func sqliteDSNs(location string) (writer, reader string, memory bool, err error) {
	var base string
	switch {
	case location == ":memory:":
		base, memory = "file::memory:", true
	case strings.HasPrefix(location, "file:"):
		base = location
		memory = strings.HasPrefix(location, "file::memory:") || strings.Contains(location, "mode=memory")
	default:
		abs, err := filepath.Abs(location)
		if err != nil {
			return "", "", false, fmt.Errorf("store: sqlite path %q: %w", location, err)
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return "", "", false, fmt.Errorf("store: creating %s: %w", filepath.Dir(abs), err)
		}
		// Create the file ourselves so it is private (0600); SQLite gives
		// the -wal and -shm files the same mode.
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return "", "", false, fmt.Errorf("store: opening %s: %w", abs, err)
		}
		f.Close()
		p := filepath.ToSlash(abs)
		if !strings.HasPrefix(p, "/") {
			p = "/" + p // Windows: file:///C:/…
		}
		// A URI (not the bare path) so '?' or '#' in a file name cannot be
		// taken for parameters.
		base = "file://" + (&url.URL{Path: p}).EscapedPath()
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	writer = base + sep + "_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate"
	reader = base + sep + "_pragma=busy_timeout(10000)&_pragma=query_only(1)"
	return writer, reader, memory, nil
}

func openSQLite(ctx context.Context, location string) (_ Store, err error) {
	wdsn, rdsn, memory, err := sqliteDSNs(location)
	if err != nil {
		return nil, err
	}
	s := &sqliteStore{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.w, err = sql.Open("sqlite", wdsn); err != nil {
		return nil, fmt.Errorf("store: opening sqlite: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.w.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("store: opening sqlite (writer): %w", err)
	}
	// WAL: readers never block the writer, and a commit is one append+fsync.
	if err := retryBusy(ctx, func() error {
		var mode string
		return s.w.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
	}); err != nil {
		return nil, fmt.Errorf("store: opening sqlite: setting WAL mode: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	if memory {
		// Every connection to :memory: is a separate database: share the one.
		s.r = s.w
	} else {
		if s.r, err = sql.Open("sqlite", rdsn); err != nil {
			return nil, fmt.Errorf("store: opening sqlite: %w", err)
		}
		s.r.SetMaxOpenConns(8)
		if err := s.r.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("store: opening sqlite (reader): %w", err)
		}
	}
	if s.insStatus, err = s.w.PrepareContext(ctx, `INSERT INTO wa_status_events
		(waba_id, phone_number_id, display_phone_number, message_id, status, ts, recipient_id, raw, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (message_id, status) DO NOTHING`); err != nil {
		return nil, fmt.Errorf("store: preparing: %w", err)
	}
	if s.insInbound, err = s.w.PrepareContext(ctx, `INSERT INTO wa_inbound_messages
		(phone_number_id, message_id, from_wa_id, type, ts, raw, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (message_id) DO NOTHING`); err != nil {
		return nil, fmt.Errorf("store: preparing: %w", err)
	}
	return s, nil
}

// retryBusy retries f while SQLite reports SQLITE_BUSY, for about 10 seconds
// (the busy_timeout we give every statement).
func retryBusy(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := f()
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != 5 /* SQLITE_BUSY */ || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// migrate runs the missing steps in one IMMEDIATE transaction, which also
// serialises two processes opening the same file at once.
func (s *sqliteStore) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS wa_schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM wa_schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	for v := current + 1; v < len(sqliteMigrations); v++ {
		for _, stmt := range sqliteMigrations[v] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("store: migration %d: %w", v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wa_schema_migrations (version, applied_at) VALUES (?, ?)`,
			v, time.Now().Unix()); err != nil {
			return fmt.Errorf("store: migration %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	return nil
}

func (s *sqliteStore) Save(ctx context.Context, b Batch) (newStatuses, newInbound int, err error) {
	if len(b.Statuses) == 0 && len(b.Inbound) == 0 {
		return 0, 0, nil
	}
	now := time.Now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("store: save: %w", err)
	}
	defer tx.Rollback()
	ins := tx.StmtContext(ctx, s.insStatus)
	for _, e := range b.Statuses {
		res, err := ins.ExecContext(ctx, e.WABAID, e.PhoneNumberID, e.DisplayPhoneNumber, e.MessageID, e.Status,
			e.Timestamp, e.RecipientID, rawOrNil(e.Raw), receivedAt(e.ReceivedAt, now).UnixNano())
		if err != nil {
			return 0, 0, fmt.Errorf("store: save status %s/%s: %w", e.MessageID, e.Status, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			newStatuses++
		}
	}
	ins = tx.StmtContext(ctx, s.insInbound)
	for _, m := range b.Inbound {
		res, err := ins.ExecContext(ctx, m.PhoneNumberID, m.MessageID, digits(m.From), m.Type, m.Timestamp,
			rawOrNil(m.Raw), receivedAt(m.ReceivedAt, now).UnixNano())
		if err != nil {
			return 0, 0, fmt.Errorf("store: save inbound %s: %w", m.MessageID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			newInbound++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("store: save: commit: %w", err)
	}
	return newStatuses, newInbound, nil
}

func (s *sqliteStore) Statuses(ctx context.Context, q Query) ([]StatusEvent, int64, error) {
	query, args := statusesQuery(q, statusColumns, func(int) string { return "?" })
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, q.After, fmt.Errorf("store: statuses: %w", err)
	}
	events, err := scanSQLiteStatuses(rows)
	if err != nil {
		return nil, q.After, fmt.Errorf("store: statuses: %w", err)
	}
	next := q.After
	if len(events) > 0 {
		next = events[len(events)-1].Seq
	}
	return events, next, nil
}

// sqliteMaxIDs keeps an IN list well below SQLite's bound-variable limit.
const sqliteMaxIDs = 500

func (s *sqliteStore) History(ctx context.Context, messageIDs []string) (map[string][]StatusEvent, error) {
	ids := uniqueIDs(messageIDs)
	out := make(map[string][]StatusEvent)
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), sqliteMaxIDs)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.r.QueryContext(ctx, `SELECT `+statusColumns+` FROM wa_status_events
			WHERE message_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) ORDER BY seq`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: history: %w", err)
		}
		events, err := scanSQLiteStatuses(rows)
		if err != nil {
			return nil, fmt.Errorf("store: history: %w", err)
		}
		// Each id lies in one chunk, so appending keeps its events in Seq order.
		for _, e := range events {
			out[e.MessageID] = append(out[e.MessageID], e)
		}
	}
	return out, nil
}

func (s *sqliteStore) LastInbound(ctx context.Context, phoneNumberID, waID string) (time.Time, bool, error) {
	waID = digits(waID)
	if waID == "" {
		return time.Time{}, false, nil
	}
	var ts, recv int64
	err := s.r.QueryRowContext(ctx, `SELECT ts, received_at FROM wa_inbound_messages
		WHERE phone_number_id = ? AND from_wa_id = ? ORDER BY ts DESC, seq DESC LIMIT 1`,
		phoneNumberID, waID).Scan(&ts, &recv)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: last inbound: %w", err)
	}
	return inboundTime(ts, time.Unix(0, recv)), true, nil
}

func (s *sqliteStore) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, st := range []*sql.Stmt{s.insStatus, s.insInbound} {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
		if s.r != nil && s.r != s.w {
			errs = append(errs, s.r.Close())
		}
		if s.w != nil {
			errs = append(errs, s.w.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func scanSQLiteStatuses(rows *sql.Rows) ([]StatusEvent, error) {
	defer rows.Close()
	var events []StatusEvent
	for rows.Next() {
		var (
			e    StatusEvent
			raw  sql.NullString
			recv int64
		)
		if err := rows.Scan(&e.Seq, &e.WABAID, &e.PhoneNumberID, &e.DisplayPhoneNumber, &e.MessageID, &e.Status,
			&e.Timestamp, &e.RecipientID, &raw, &recv); err != nil {
			return nil, err
		}
		if raw.Valid {
			e.Raw = json.RawMessage(raw.String)
		}
		e.ReceivedAt = time.Unix(0, recv).UTC()
		events = append(events, e)
	}
	return events, rows.Err()
}

// statusesQuery builds the Statuses SELECT for either engine (ph renders the
// n-th placeholder). One variant per filter combination, not a catch-all
// "col = $1 OR $1 is empty" predicate, so each can use its index.
func statusesQuery(q Query, columns string, ph func(n int) string) (string, []any) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+ph(len(args)))
	}
	if q.PhoneNumberID != "" {
		add("phone_number_id = ", q.PhoneNumberID)
	}
	if q.Status != "" {
		add("status = ", q.Status)
	}
	add("seq > ", q.After)
	args = append(args, clampLimit(q.Limit))
	return `SELECT ` + columns + ` FROM wa_status_events WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY seq LIMIT ` + ph(len(args)), args
}
