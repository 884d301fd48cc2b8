package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite" // the "sqlite" driver (pure Go, no cgo) and its Error type
)

// sqliteMigrations are applied in order, each once; append, never edit.
var sqliteMigrations = [][]string{
	1: schemaV1(sqliteTypes),
	2: {healthTable("INTEGER", "INTEGER")},
	3: append(schemaV3(sqliteTypes), sqliteV3()...),
	4: schemaV4(sqliteTypes),
}

var sqliteTypes = columnTypes{
	seq:  "INTEGER PRIMARY KEY AUTOINCREMENT", // AUTOINCREMENT: never reuse a Seq, even after deletes
	text: "TEXT",
	int:  "INTEGER",
	raw:  "TEXT",
	time: "INTEGER", // unix nanoseconds
}

// sqliteDialect is how SQLite spells what sqlStore asks.
var sqliteDialect = dialect{
	// ?NNN: a statement may name a parameter twice (sqlStore.bind).
	param:      sqliteParam,
	rawParam:   sqliteParam,
	timeArg:    func(t time.Time) any { return t.UnixNano() },
	appliedAt:  func(t time.Time) any { return t.Unix() },
	rawColumn:  "raw",
	migrations: sqliteMigrations,
	migrationsTable: `CREATE TABLE IF NOT EXISTS wa_schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`,
	idsIn: func(ids []string) (string, []any) {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		return `message_id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`, args
	},
	maxIDs: 500, // well below SQLite's bound-variable limit
	// INDEXED BY: with the statistics of ANALYZE (sqlite_stat4, which this
	// build keeps), SQLite plans for the bound number and, for one holding
	// most rows, picks a rowid range scan from the cursor, filtering on the
	// number. That reads every later row of other numbers too: all of
	// them, for a number whose events stopped. The index cannot be worse:
	// its range starts at (number, cursor) and holds only the number's
	// rows, in Seq order. And a statement the index cannot serve fails to
	// prepare instead of planning around it.
	byPhone: `INDEXED BY wa_status_events_phone WHERE phone_number_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
	byPhoneStatus: `INDEXED BY wa_status_events_phone_status WHERE phone_number_id = ? AND status = ? AND seq > ?
		ORDER BY seq LIMIT ?`,
	// INDEXED BY, as byPhone: each read keeps to the index of its shape
	// whatever the statistics say.
	conv: convDialect{
		inboundAll: `INDEXED BY wa_messages_in WHERE direction = 'in' AND phone_number_id = {p} AND seq > {a}
			ORDER BY seq LIMIT {l}`,
		inboundType: `INDEXED BY wa_messages_in_type WHERE direction = 'in' AND phone_number_id = {p} AND type = {k}
			AND seq > {a} ORDER BY seq LIMIT {l}`,
		inboundCustomer: `INDEXED BY wa_messages_in_customer WHERE direction = 'in' AND phone_number_id = {p}
			AND customer = {k} AND seq > {a}{types} ORDER BY seq LIMIT {l}`,
		inbox: `INDEXED BY wa_conversations_inbox{join}WHERE c.phone_number_id = {p} AND c.last_seq < {b}{open}
			ORDER BY c.last_seq DESC LIMIT {l}`,
		inboxUnread: `INDEXED BY wa_conversations_unread{join}WHERE c.phone_number_id = {p} AND c.unread > 0
			AND c.last_seq < {b}{open} ORDER BY c.last_seq DESC LIMIT {l}`,
		historyIndex: `INDEXED BY wa_messages_conversation `,
		// The full-text table drives (CROSS JOIN fixes the order),
		// newest first (FTS5 walks its matches in rowid order), so the
		// LIMIT stops it.
		search: `SELECT {cols} FROM wa_messages_fts f CROSS JOIN wa_messages m ON m.seq = f.rowid
			WHERE wa_messages_fts MATCH {w} AND f.rowid < {b} AND m.phone_number_id = {p}{customer}
			ORDER BY f.rowid DESC LIMIT {l}`,
		searchArg:      fts5Query,
		searchCustomer: ` AND m.customer = {c}`,
		changesField:   `INDEXED BY wa_changes_field WHERE field = {f} AND seq > {a} ORDER BY seq LIMIT {l}`,
		changesSubject: `INDEXED BY wa_changes_subject WHERE field = {f} AND subject = {s} AND seq > {a} ORDER BY seq LIMIT {l}`,
		latestChange:   `INDEXED BY wa_changes_subject WHERE field = {f} AND subject = {s} ORDER BY seq DESC LIMIT 1`,
	},
}

func sqliteParam(n int) string { return "?" + strconv.Itoa(n) }

// fts5Query is the MATCH expression of a search: the number's token, and
// each word as a prefix, quoted (an FTS5 string: only '"' is special, and
// doubled), so nothing a user types is FTS5 syntax.
func fts5Query(phone string, words []string) string {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = q(w) + "*"
	}
	return "phone_number_id : " + q(phone) + " AND text : (" + strings.Join(parts, " AND ") + ")"
}

type sqliteEngine struct {
	// w has a single connection: SQLite admits one writer at a time anyway,
	// and one connection means our own transactions queue in Go instead of
	// spinning on SQLITE_BUSY.
	w *sql.DB
	// r serves reads; in WAL mode they do not wait for the writer.
	r *sql.DB

	// prepared holds the writer's statements for Save, by query text, and
	// reads the readers' (database/sql prepares each on every connection
	// once); neither changes after open. Preparing a SELECT costs about as
	// much as running it.
	prepared, reads map[string]*sql.Stmt
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
		if path, ok := sqliteURIFile(location); ok && !memory {
			// SQLite would create the file 0644: create it private first.
			if err := createPrivate(path); err != nil {
				return "", "", false, err
			}
		}
	default:
		abs, err := filepath.Abs(location)
		if err != nil {
			return "", "", false, fmt.Errorf("store: sqlite path %q: %w", location, err)
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return "", "", false, fmt.Errorf("store: creating %s: %w", filepath.Dir(abs), err)
		}
		if err := createPrivate(abs); err != nil {
			return "", "", false, err
		}
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

// createPrivate creates the database file, empty and 0600, unless it
// exists: it holds customers' phone numbers and messages. SQLite gives the
// -wal and -shm files it creates later the mode of the database file,
// whatever the umask. The mode is set again after creating, since a umask
// can take away bits (even the owner's) but never add them. An existing
// file keeps its mode: that is the operator's choice.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: creating %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("store: making %s private: %w", path, err)
	}
	return nil
}

// sqliteURIFile is the file an SQLite "file:" URI names, when opening it
// may create one (no mode=ro or mode=rw, no in-memory VFS): "file:rel.db",
// "file:/abs.db", "file:///abs.db" or "file://localhost/abs.db", with
// percent escapes and an optional ?query. ok is false for anything else,
// which is left to SQLite.
func sqliteURIFile(location string) (path string, ok bool) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
		return "", false
	}
	q := u.Query()
	if m := q.Get("mode"); (m != "" && m != "rwc") || q.Get("vfs") != "" {
		return "", false
	}
	path = u.Path
	if u.Opaque != "" {
		if path, err = url.PathUnescape(u.Opaque); err != nil {
			return "", false
		}
	}
	if path == "" || path == ":memory:" {
		return "", false
	}
	if runtime.GOOS == "windows" && len(path) > 2 && path[0] == '/' && path[2] == ':' {
		path = path[1:] // file:///C:/… names C:/…
	}
	return filepath.FromSlash(path), true
}

func openSQLite(ctx context.Context, location string, opt options) (_ Store, err error) {
	wdsn, rdsn, memory, err := sqliteDSNs(location)
	if err != nil {
		return nil, err
	}
	e := &sqliteEngine{prepared: map[string]*sql.Stmt{}, reads: map[string]*sql.Stmt{}}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.w, err = sql.Open("sqlite", wdsn); err != nil {
		return nil, fmt.Errorf("store: opening sqlite: %w", err)
	}
	e.w.SetMaxOpenConns(1)
	e.w.SetMaxIdleConns(1)
	e.w.SetConnMaxLifetime(0)
	e.w.SetConnMaxIdleTime(0)
	if err := e.w.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("store: opening sqlite (writer): %w", err)
	}
	// WAL: readers never block the writer, and a commit is one append+fsync.
	if err := retryBusy(ctx, func() error {
		var mode string
		return e.w.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
	}); err != nil {
		return nil, fmt.Errorf("store: opening sqlite: setting WAL mode: %w", err)
	}
	if memory {
		// Every connection to :memory: is a separate database: share the one.
		e.r = e.w
	} else {
		if e.r, err = sql.Open("sqlite", rdsn); err != nil {
			return nil, fmt.Errorf("store: opening sqlite: %w", err)
		}
		e.r.SetMaxOpenConns(opt.maxConns)
		e.r.SetMaxIdleConns(opt.maxConns) // kept open, with their prepared statements
		if err := e.r.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("store: opening sqlite (reader): %w", err)
		}
	}
	return newSQLStore(ctx, e, sqliteDialect, opt)
}

// retryBusy retries f while SQLite reports SQLITE_BUSY, for about 10 seconds
// (the busy_timeout we give every statement). The deadline is real time, not
// the store's clock: a test's fixed clock must not make it wait forever.
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

// lock: none; SQLite has one writer at a time, and a write transaction
// (BEGIN IMMEDIATE) takes the file's lock up front, which also serialises two
// processes migrating one new file.
func (e *sqliteEngine) lock(string) (stmt, bool) { return stmt{}, false }

func (e *sqliteEngine) query(ctx context.Context, query string, args []any) (rows, error) {
	var (
		r   *sql.Rows
		err error
	)
	if st := e.reads[query]; st != nil {
		r, err = st.QueryContext(ctx, args...)
	} else {
		r, err = e.r.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (e *sqliteEngine) begin(ctx context.Context) (tx, error) {
	t, err := e.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqliteTx{t: t, prepared: e.prepared}, nil
}

func (e *sqliteEngine) prepare(ctx context.Context, writes, reads []string) error {
	for _, q := range writes {
		st, err := e.w.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		e.prepared[q] = st
	}
	for _, q := range reads {
		st, err := e.r.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		e.reads[q] = st
	}
	return nil
}

// dataError: a constraint (NOT NULL, a CHECK), a value too big, a type
// mismatch.
func (e *sqliteEngine) dataError(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case 18, 19, 20: // SQLITE_TOOBIG, SQLITE_CONSTRAINT, SQLITE_MISMATCH
		return true
	}
	return false
}

// explain: EXPLAIN QUERY PLAN with the values bound, which is what SQLite
// plans with when it has sqlite_stat4 (it plans a statement again when a
// bound value could change the plan).
func (e *sqliteEngine) explain(ctx context.Context, query string, args []any) ([]string, error) {
	r, err := e.r.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var plan []string
	for r.Next() {
		var (
			id, parent, unused int64
			detail             string
		)
		if err := r.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return []string{"plan:\n" + strings.Join(plan, "\n")}, nil
}

func (e *sqliteEngine) analyze(ctx context.Context) error {
	_, err := e.w.ExecContext(ctx, `ANALYZE`)
	return err
}

func (e *sqliteEngine) close() error {
	var errs []error
	for _, st := range e.prepared {
		errs = append(errs, st.Close())
	}
	for _, st := range e.reads {
		errs = append(errs, st.Close())
	}
	if e.r != nil && e.r != e.w {
		errs = append(errs, e.r.Close())
	}
	if e.w != nil {
		errs = append(errs, e.w.Close())
	}
	return errors.Join(errs...)
}

// sqlRows gives *sql.Rows the Close of the rows interface; its error is
// also reported by Err.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

type sqliteTx struct {
	t        *sql.Tx
	prepared map[string]*sql.Stmt
}

func (t *sqliteTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := t.t.ExecContext(ctx, query, args...)
	return err
}

func (t *sqliteTx) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return t.t.QueryRowContext(ctx, query, args...).Scan(dest...)
}

func (t *sqliteTx) query(ctx context.Context, query string, args []any) (rows, error) {
	r, err := t.t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

// execAll runs the statements one by one, the prepared ones as such.
func (t *sqliteTx) execAll(ctx context.Context, stmts []stmt) ([]int64, error) {
	inTx := make(map[string]*sql.Stmt, len(t.prepared))
	changed := make([]int64, len(stmts))
	for i, s := range stmts {
		st, ok := inTx[s.query]
		if !ok {
			if p := t.prepared[s.query]; p != nil {
				st = t.t.StmtContext(ctx, p)
			}
			inTx[s.query] = st
		}
		var (
			res sql.Result
			err error
		)
		if st != nil {
			res, err = st.ExecContext(ctx, s.args...)
		} else {
			res, err = t.t.ExecContext(ctx, s.query, s.args...)
		}
		if err != nil {
			return nil, &execError{i, err}
		}
		changed[i], _ = res.RowsAffected()
	}
	return changed, nil
}

func (t *sqliteTx) commit(context.Context) error { return t.t.Commit() }

func (t *sqliteTx) rollback(context.Context) { t.t.Rollback() }
