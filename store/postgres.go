package store

import (
	"context"
	"crypto/md5"
	"encoding/hex"
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
	1: schemaV1(pgTypes),
	2: {healthTable("integer", "timestamptz")},
	3: append(schemaV3(pgTypes), pgV3()...),
	4: schemaV4(pgTypes),
}

var pgTypes = columnTypes{
	// CACHE 1 (the default, spelled out): with a per-session cache, two
	// sessions would hand out interleaved blocks of ids and Seq would no
	// longer follow commit order even under the save lock.
	seq:  "bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY",
	text: "text",
	int:  "bigint",
	raw:  "json", // json, not jsonb: keeps Meta's bytes exactly
	time: "timestamptz",
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
	// Row comparisons as in byPhone, for the same reason: the order asked
	// is one only the read's own index yields, from the cursor.
	conv: convDialect{
		inboundAll: `WHERE direction = 'in' AND (phone_number_id, seq) > ({p}, {a}) AND phone_number_id <= {p}
			ORDER BY phone_number_id, seq LIMIT {l}`,
		inboundType: `WHERE direction = 'in' AND phone_number_id = {p} AND (type, seq) > ({k}, {a}) AND type <= {k}
			ORDER BY type, seq LIMIT {l}`,
		inboundCustomer: `WHERE direction = 'in' AND phone_number_id = {p} AND (customer, seq) > ({k}, {a})
			AND customer <= {k}{types} ORDER BY customer, seq LIMIT {l}`,
		// The inbox is the one read written with an equality on the
		// number: no other index yields last_seq's order, and the range
		// form's generic estimate (a handful of rows) would have the
		// planner read every conversation of the number and sort them.
		inbox: `{join}WHERE c.phone_number_id = {p} AND c.last_seq < {b}{open}
			ORDER BY c.last_seq DESC LIMIT {l}`,
		inboxUnread: `{join}WHERE c.phone_number_id = {p} AND c.unread > 0 AND c.last_seq < {b}{open}
			ORDER BY c.last_seq DESC LIMIT {l}`,
		// The matches are collected through the GIN index (the
		// MATERIALIZED hits: a fence the planner cannot see through),
		// the newest of them taken (top, a fence too), and only those
		// read whole. Without the first fence, a generic plan walks the
		// primary key from the newest message testing each row's text: a
		// read of the whole table for a rare word; without the second,
		// it joins the hits by walking the primary key. "seq + 0": not a
		// range of the primary key, which a generic plan would AND with
		// the GIN matches, reading every Seq below the cursor. {recent}
		// is the bucket filter of searchSteps' first step. The number's
		// lexeme is built in SQL, quoted as a tsquery lexeme; the words
		// are searchArg's. A query whose words all vanish in the parser
		// finds nothing (not every message of the number).
		search: `WITH hits AS MATERIALIZED (
				SELECT seq FROM wa_messages
				WHERE ` + pgSearchVector + ` @@ (to_tsquery('simple', ` + pgFold("{w}") + `) &&
					('''#' || replace(replace({p}, '\', '\\'), '''', '''''') || '''')::tsquery{recent})
				AND numnode(to_tsquery('simple', ` + pgFold("{w}") + `)) > 0
				AND phone_number_id = {p} AND seq + 0 < {b}{customer}),
			top AS MATERIALIZED (SELECT seq FROM hits ORDER BY seq DESC LIMIT {l})
			SELECT {cols} FROM top JOIN wa_messages m ON m.seq = top.seq
			ORDER BY m.seq DESC`,
		searchRecent: ` && {bk}::tsquery`,
		// Spelled so that no index serves it: the conversation's index
		// would test the text of every message of a long conversation.
		searchCustomer: ` AND customer || '' = {c}`,
		searchArg:      tsQuery,
		changesField:   `WHERE (field, seq) > ({f}, {a}) AND field <= {f} ORDER BY field, seq LIMIT {l}`,
		changesSubject: `WHERE field = {f} AND (subject, seq) > ({s}, {a}) AND subject <= {s} ORDER BY subject, seq LIMIT {l}`,
		latestChange: `WHERE field = {f} AND (subject, seq) <= ({s}, 9223372036854775807) AND subject >= {s}
			ORDER BY subject DESC, seq DESC LIMIT 1`,
		notifySetup: `SELECT set_config('wa.instance', $1, true)`,
	},
	shareLock: ` FOR SHARE`,
}

// tsQuery is the to_tsquery input of a search's words: each a prefix
// (":*"), all required. The words hold only letters, digits and marks
// (searchWords), none of them tsquery syntax.
func tsQuery(_ string, words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = w + ":*"
	}
	return strings.Join(parts, " & ")
}

func pgParam(n int) string { return "$" + strconv.Itoa(n) }

type pgEngine struct {
	pool *pgxpool.Pool
	// Advisory lock keys, derived from the schema so that stores in different
	// schemas of one database (tests, tenants) do not wait on each other.
	saveLock, migrateLock int64
	channel               string // where the trigger announces messages (listen)
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
	// No parallel plans: every read of the store is a short index read,
	// for which starting workers costs more than they save (a search's
	// generic plan, expecting a few thousand matches, would start them for
	// ten). A DSN that sets it keeps its own.
	if _, set := cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"]; !set {
		cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
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
	e := &pgEngine{pool: pool, saveLock: lockKey("save", *schema), migrateLock: lockKey("migrate", *schema),
		channel: noticeChannel(*schema)}
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
		case time.Time:
			values[i] = `'` + v.Format(time.RFC3339Nano) + `'`
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
	_, err := e.pool.Exec(ctx, `ANALYZE wa_status_events, wa_messages, wa_conversations, wa_changes`)
	return err
}

func (e *pgEngine) close() error {
	e.pool.Close()
	return nil
}

// listen holds one connection of its own LISTENing on the schema's channel
// (the one pgV3's trigger notifies), and connects again after a failure,
// waiting longer each time up to maxListenBackoff. Notices sent while it is
// not connected are lost to it: a notice only wakes a reader, whose cursor
// still finds the messages.
func (e *pgEngine) listen(ctx context.Context, deliver func(payload string), ready func()) {
	wait := minListenBackoff
	for ctx.Err() == nil {
		heard := e.listenOnce(ctx, deliver, ready)
		if heard {
			wait = minListenBackoff
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, maxListenBackoff)
	}
}

const minListenBackoff, maxListenBackoff = 100 * time.Millisecond, 5 * time.Second

// listenOnce connects, LISTENs and delivers until the connection or ctx
// ends; connected says whether it got as far as listening.
func (e *pgEngine) listenOnce(ctx context.Context, deliver func(payload string), ready func()) (connected bool) {
	conn, err := pgx.ConnectConfig(ctx, e.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{e.channel}.Sanitize()); err != nil {
		return false
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true
		}
		deliver(n.Payload)
	}
}

// noticeChannel is the channel pgV3's trigger notifies for the tables of
// schema: 'wa_messages_' || left(md5(schema), 16).
func noticeChannel(schema string) string {
	sum := md5.Sum([]byte(schema))
	return "wa_messages_" + hex.EncodeToString(sum[:])[:16]
}

type pgTx struct{ t pgx.Tx }

func (t pgTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := t.t.Exec(ctx, query, args...)
	return err
}

func (t pgTx) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return t.t.QueryRow(ctx, query, args...).Scan(dest...)
}

func (t pgTx) query(ctx context.Context, query string, args []any) (rows, error) {
	return t.t.Query(ctx, query, args...)
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
