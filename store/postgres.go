package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	2: {healthTable("integer", "timestamptz")},
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
	// Row comparisons, not "phone_number_id = $1 AND seq > $2 ORDER BY
	// seq": with that equality the planner knows the number is constant,
	// so the primary key (seq) yields the order too, and a prepared
	// statement's generic plan, which expects a number to hold an average
	// share of the rows, walks it from the cursor filtering on the number:
	// the whole rest of the table for a number with few events or none.
	// Here the number is bounded by a range instead, so the order asked
	// (number, seq) is one only wa_status_events_phone yields; the scan
	// starts at (number, cursor) and ends after the number's last row.
	// With a status, the number stays an equality (the leading column),
	// which lets "status <= $2" end the scan in wa_status_events_phone_status
	// once past that status.
	byPhone: `WHERE (phone_number_id, seq) > ($1, $2) AND phone_number_id <= $1
		ORDER BY phone_number_id, seq LIMIT $3`,
	byPhoneStatus: `WHERE phone_number_id = $1 AND (status, seq) > ($2, $3) AND status <= $2
		ORDER BY status, seq LIMIT $4`,
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
	cfg.MaxConns = int32(min(opt.maxConns, math.MaxInt32))
	// Generic plans only: pgx prepares every statement, and PostgreSQL
	// plans a prepared statement's first executions for their values. For
	// a number its statistics say has few rows or none (one not analysed
	// yet, say), that plan reads the number's rows by whichever of its
	// indexes and sorts them: cheap while the statistics hold, a read of
	// every row of the number once it has grown. A generic plan depends on
	// the statements' shapes alone (pgDialect's byPhone and byPhoneStatus,
	// spelled for it), so every execution keeps to the one index from the
	// cursor; and nothing is planned again per execution. A DSN that sets
	// plan_cache_mode keeps its own.
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
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
func (e *pgEngine) prepare(context.Context, []string, []string) error { return nil }

// dataError: SQLSTATE classes 22 (data exception: bytes that are not UTF-8,
// JSON that is not JSON) and 23 (integrity constraint violation).
func (e *pgEngine) dataError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23"))
}

// explainRuns is how many times explain runs a prepared statement before
// asking its plan again: PostgreSQL plans the first five executions of a
// prepared statement for their values (unless plan_cache_mode says
// otherwise), then may settle on a generic plan.
const explainRuns = 6

// explain prepares the query, as pgx does every statement the store runs,
// and returns the plan of its first execution and the one after explainRuns
// executions, on a connection of its own with the pool's settings.
func (e *pgEngine) explain(ctx context.Context, query string, args []any) ([]string, error) {
	conn, err := pgx.ConnectConfig(ctx, e.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Prepare(ctx, "wa_explain", query); err != nil {
		return nil, err
	}
	// EXECUTE takes no bind parameters: the values are spelled out.
	values := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			values[i] = `'` + strings.ReplaceAll(v, `'`, `''`) + `'`
		case int, int64:
			values[i] = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("explain: argument of type %T", a)
		}
	}
	plan := func(label string) (string, error) {
		rows, err := conn.Query(ctx, `EXPLAIN EXECUTE wa_explain(`+strings.Join(values, ", ")+`)`)
		if err != nil {
			return "", err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		return label + ":\n" + strings.Join(lines, "\n"), err
	}
	first, err := plan("prepared, first execution")
	if err != nil {
		return nil, err
	}
	for range explainRuns {
		if _, err := conn.Exec(ctx, "wa_explain", args...); err != nil {
			return nil, err
		}
	}
	settled, err := plan(fmt.Sprintf("prepared, after %d executions", explainRuns))
	if err != nil {
		return nil, err
	}
	return []string{first, settled}, nil
}

func (e *pgEngine) analyze(ctx context.Context) error {
	_, err := e.pool.Exec(ctx, `ANALYZE wa_status_events, wa_inbound_messages`)
	return err
}

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
