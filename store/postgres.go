package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgMigrations are applied in order, each once; append, never edit.
var pgMigrations = [][]string{
	1: schemaV1(columnTypes{
		// CACHE 1 (the default, spelled out): with a per-session cache, two
		// sessions would hand out interleaved blocks of ids and Seq would no
		// longer follow commit order even under the save lock.
		seq:  "bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY",
		text: "text",
		int:  "bigint",
		raw:  "json", // json, not jsonb: keeps Meta's bytes exactly
		time: "timestamptz",
	}),
}

// pgDialect is how PostgreSQL spells what sqlStore asks.
var pgDialect = dialect{
	param:      pgParam,
	rawParam:   func(n int) string { return pgParam(n) + "::text::json" }, // Meta's bytes, kept as sent
	timeArg:    func(t time.Time) any { return t },
	appliedAt:  func(t time.Time) any { return t },
	rawColumn:  "raw::text",
	migrations: pgMigrations,
	migrationsTable: `CREATE TABLE IF NOT EXISTS wa_schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`,
	idsIn:  func(ids []string) (string, []any) { return "message_id = ANY($1)", []any{ids} },
	maxIDs: math.MaxInt, // one array parameter holds them all
}

func pgParam(n int) string { return "$" + strconv.Itoa(n) }

type pgEngine struct {
	pool *pgxpool.Pool
	// Advisory lock keys, derived from the schema so that stores in different
	// schemas of one database (tests, tenants) do not wait on each other.
	saveLock, migrateLock int64
}

func openPostgres(ctx context.Context, dsn string, opt options) (_ Store, err error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err) // pgx redacts the password
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	if schema == nil {
		return nil, errors.New("store: postgres: no schema to create tables in (does the search_path schema exist?)")
	}
	e := &pgEngine{pool: pool, saveLock: lockKey("save", *schema), migrateLock: lockKey("migrate", *schema)}
	return newSQLStore(ctx, e, pgDialect, opt)
}

func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("whatsapp-mcp/store/" + purpose + "\x00" + schema))
	return int64(h.Sum64())
}

// lock: transaction-scoped advisory locks. "migrate" keeps replicas starting
// together from migrating at once; "save" keeps Seq in commit order (see
// sqlStore.Save).
func (e *pgEngine) lock(purpose string) (stmt, bool) {
	key := e.saveLock
	if purpose == "migrate" {
		key = e.migrateLock
	}
	return stmt{`SELECT pg_advisory_xact_lock($1)`, []any{key}}, true
}

func (e *pgEngine) query(ctx context.Context, query string, args []any) (rows, error) {
	return e.pool.Query(ctx, query, args...)
}

func (e *pgEngine) begin(ctx context.Context) (tx, error) {
	t, err := e.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return pgTx{t}, nil
}

// prepare: pgx caches the statements it runs on each connection.
func (e *pgEngine) prepare(context.Context, ...string) error { return nil }

func (e *pgEngine) close() error {
	e.pool.Close()
	return nil
}

type pgTx struct{ t pgx.Tx }

func (t pgTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := t.t.Exec(ctx, query, args...)
	return err
}

func (t pgTx) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return t.t.QueryRow(ctx, query, args...).Scan(dest...)
}

// execAll sends every statement in one pipelined round trip; the server still
// runs them in order, so no insert happens before the save lock is held.
func (t pgTx) execAll(ctx context.Context, stmts []stmt) ([]int64, error) {
	batch := &pgx.Batch{}
	for _, s := range stmts {
		batch.Queue(s.query, s.args...)
	}
	br := t.t.SendBatch(ctx, batch)
	changed := make([]int64, len(stmts))
	for i := range stmts {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return nil, &execError{i, err}
		}
		changed[i] = tag.RowsAffected()
	}
	if err := br.Close(); err != nil {
		return nil, &execError{-1, err}
	}
	return changed, nil
}

func (t pgTx) commit(ctx context.Context) error { return t.t.Commit(ctx) }

func (t pgTx) rollback(ctx context.Context) { t.t.Rollback(context.WithoutCancel(ctx)) }
