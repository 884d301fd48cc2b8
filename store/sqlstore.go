package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// sqlStore is the Store of both engines: the statements, the Save
// transaction, the cursor, the migrations and the scanning are written once
// here; an engine brings its driver (engine, tx) and its SQL spelling
// (dialect).
type sqlStore struct {
	eng engine
	d   dialect
	opt options

	insStatus     string // Save's INSERT of a status, in d's spelling
	statusColumns string // the SELECT list queryStatuses scans
	// byFilter holds the Statuses SELECTs, by filterShape.
	byFilter [filterShapes]string
	conv     convStmts  // the conversation store's statements (messages.go)
	prune    pruneStmts // Prune's (prune.go)
	jobs     jobStmts   // the bulk jobs' (jobs_sql.go)
	instance string     // this store's id in its notices to other stores (listen.go)

	commits *committer    // Save's queue and writer (group commit)
	inbound *inboundCache // LastInbound's answers
	listen  listeners     // Listen's (listen.go)

	closeOnce sync.Once
	closeErr  error
}

// engine is one database driver as sqlStore uses it.
type engine interface {
	// query runs a SELECT on the readers.
	query(ctx context.Context, query string, args []any) (rows, error)
	// begin starts a write transaction.
	begin(ctx context.Context) (tx, error)
	// prepare readies the statements run most: writes (Save's) on the
	// writer, reads on the readers, where query then uses them (a no-op
	// where the driver caches them itself).
	prepare(ctx context.Context, writes, reads []string) error
	// dataError says whether err is the database refusing one statement's
	// values (bytes that are not UTF-8, say), which another statement
	// would not share, rather than the database failing.
	dataError(err error) bool
	// explain returns the plans the database chooses for a SELECT with
	// these arguments: each one it may use, labelled.
	explain(ctx context.Context, query string, args []any) ([]string, error)
	// analyze refreshes the planner's statistics of the tables.
	analyze(ctx context.Context) error
	// lock returns the statement that takes the transaction-scoped lock
	// named by purpose ("save" or "migrate"), or ok false when the engine
	// needs none.
	lock(purpose string) (s stmt, ok bool)
	close() error
}

// tx is an engine's write transaction.
type tx interface {
	exec(ctx context.Context, query string, args ...any) error
	queryRow(ctx context.Context, query string, args []any, dest ...any) error
	// query runs a statement that returns rows, in the transaction.
	query(ctx context.Context, query string, args []any) (rows, error)
	// execAll runs stmts in order and returns how many rows each changed. On
	// failure it returns an *execError naming the statement that failed.
	execAll(ctx context.Context, stmts []stmt) (changed []int64, err error)
	commit(ctx context.Context) error
	// rollback ends the transaction unless it committed.
	rollback(ctx context.Context)
}

// rows is what both drivers' result sets offer.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// stmt is one statement with its arguments.
type stmt struct {
	query string
	args  []any
}

// execError reports which statement of an execAll failed; index -1 when the
// failure concerns the whole batch.
type execError struct {
	index int
	err   error
}

func (e *execError) Error() string { return e.err.Error() }
func (e *execError) Unwrap() error { return e.err }

// dialect is how an engine spells what sqlStore asks.
type dialect struct {
	param      func(n int) string  // the n-th bind parameter
	rawParam   func(n int) string  // the n-th bind parameter, for a raw column
	timeArg    func(time.Time) any // a time as the received_at columns store it
	appliedAt  func(time.Time) any // a time as wa_schema_migrations.applied_at stores it
	rawColumn  string              // how to SELECT raw as text
	migrations [][]string          // applied in order, each once; append, never edit
	// migrationsTable creates wa_schema_migrations (version, applied_at) if missing.
	migrationsTable string
	// idsIn is the History condition on message_id for ids, with its
	// arguments; at most maxIDs ids are given at once.
	idsIn  func(ids []string) (cond string, args []any)
	maxIDs int
	// byPhone and byPhoneStatus are how Statuses reads one business number
	// (and status) after the cursor, what follows "FROM wa_status_events":
	// spelled so that the planner can only walk wa_status_events_phone
	// (wa_status_events_phone_status) from the cursor, the one plan that
	// reads at most Limit rows whatever the number's share of the table.
	// Parameters: the number, (the status,) the cursor, the limit.
	byPhone, byPhoneStatus string
	conv                   convDialect // the conversation store's (messages.go)
	// shareLock ends a subquery that must hold the rows it reads until
	// commit against concurrent writers (BeginBulkSend's lease check,
	// jobs_sql.go); "" where writes are serial anyway (SQLite).
	shareLock string
}

// filterShape is the combination of filters of a Query: one SELECT each, not
// a catch-all "col = $1 OR $1 is empty" predicate, so each can use its index.
type filterShape int

const (
	filterNone filterShape = iota
	filterStatus
	filterPhone
	filterPhoneStatus
	filterShapes
)

// columnTypes are an engine's SQL types for the columns of the tables.
type columnTypes struct {
	seq  string // the arrival order: an increasing key, never reused
	text string
	int  string // 64 bits
	raw  string // Meta's JSON, kept byte for byte
	time string // received_at, as dialect.timeArg writes it
}

// schemaV1 is migration 1, the tables and their indexes, in an engine's
// types. It must produce what it always has for both engines: databases
// migrated with it exist.
func schemaV1(c columnTypes) []string {
	r := strings.NewReplacer("{seq}", c.seq, "{text}", c.text, "{int}", c.int, "{raw}", c.raw, "{time}", c.time)
	stmts := []string{
		`CREATE TABLE wa_status_events (
			seq                  {seq},
			waba_id              {text} NOT NULL,
			phone_number_id      {text} NOT NULL,
			display_phone_number {text} NOT NULL,
			message_id           {text} NOT NULL,
			status               {text} NOT NULL,
			ts                   {int} NOT NULL,
			recipient_id         {text} NOT NULL,
			raw                  {raw},
			received_at          {time} NOT NULL
		)`,
		`CREATE UNIQUE INDEX wa_status_events_dedup ON wa_status_events (message_id, status)`,
		`CREATE INDEX wa_status_events_phone ON wa_status_events (phone_number_id, seq)`,
		`CREATE INDEX wa_status_events_phone_status ON wa_status_events (phone_number_id, status, seq)`,
		`CREATE TABLE wa_inbound_messages (
			seq             {seq},
			phone_number_id {text} NOT NULL,
			message_id      {text} NOT NULL,
			from_wa_id      {text} NOT NULL,
			type            {text} NOT NULL,
			ts              {int} NOT NULL,
			raw             {raw},
			received_at     {time} NOT NULL
		)`,
		`CREATE UNIQUE INDEX wa_inbound_messages_dedup ON wa_inbound_messages (message_id)`,
		`CREATE INDEX wa_inbound_messages_last ON wa_inbound_messages (phone_number_id, from_wa_id, ts)`,
	}
	for i, q := range stmts {
		stmts[i] = r.Replace(q)
	}
	return stmts
}

func newSQLStore(ctx context.Context, eng engine, d dialect, opt options) (*sqlStore, error) {
	s := &sqlStore{eng: eng, d: d, opt: opt}
	s.statusColumns = `seq, waba_id, phone_number_id, display_phone_number, message_id, status, ts, recipient_id, ` +
		d.rawColumn + `, received_at`
	from := `SELECT ` + s.statusColumns + ` FROM wa_status_events `
	s.byFilter = [filterShapes]string{
		filterNone:        from + `WHERE seq > ` + d.param(1) + ` ORDER BY seq LIMIT ` + d.param(2),
		filterStatus:      from + `WHERE status = ` + d.param(1) + ` AND seq > ` + d.param(2) + ` ORDER BY seq LIMIT ` + d.param(3),
		filterPhone:       from + d.byPhone,
		filterPhoneStatus: from + d.byPhoneStatus,
	}
	s.insStatus = `INSERT INTO wa_status_events
		(waba_id, phone_number_id, display_phone_number, message_id, status, ts, recipient_id, raw, received_at)
		VALUES (` + s.params(1, 7) + `, ` + d.rawParam(8) + `, ` + d.param(9) + `)
		ON CONFLICT (message_id, status) DO NOTHING`
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	if opt.schemaVersion > 0 {
		return s, nil // a test's older schema, only to be closed
	}
	writes, reads := s.initConversations()
	s.initPrune()
	s.initJobs()
	if err := eng.prepare(ctx, append(writes, s.insStatus), append(reads, s.byFilter[:]...)); err != nil {
		return nil, fmt.Errorf("store: preparing: %w", err)
	}
	s.instance = newInstanceID()
	ttl := LastInboundTTL
	if opt.inboundTTL != 0 {
		ttl = opt.inboundTTL
	}
	s.inbound = newInboundCache(ttl, opt.now)
	s.commits = newCommitter(s.writeGroup, groupLinger)
	return s, nil
}

// params renders bind parameters from to to, comma-separated.
func (s *sqlStore) params(from, to int) string {
	ps := make([]string, 0, to-from+1)
	for n := from; n <= to; n++ {
		ps = append(ps, s.d.param(n))
	}
	return strings.Join(ps, ", ")
}

// migrate applies the missing steps in one transaction, under the engine's
// migration lock when it has one, so that stores opening one database at
// once neither race on CREATE TABLE nor apply a step twice.
func (s *sqlStore) migrate(ctx context.Context) error {
	tx, err := s.eng.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	defer tx.rollback(ctx)
	if l, ok := s.eng.lock("migrate"); ok {
		if err := tx.exec(ctx, l.query, l.args...); err != nil {
			return fmt.Errorf("store: migrating: %w", err)
		}
	}
	if err := tx.exec(ctx, s.d.migrationsTable); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	var current int
	if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM wa_schema_migrations`, nil, &current); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	record := `INSERT INTO wa_schema_migrations (version, applied_at) VALUES (` + s.params(1, 2) + `)`
	last := len(s.d.migrations) - 1
	if s.opt.schemaVersion > 0 {
		last = s.opt.schemaVersion
	}
	for v := current + 1; v <= last; v++ {
		for _, q := range s.d.migrations[v] {
			if err := tx.exec(ctx, q); err != nil {
				return fmt.Errorf("store: migration %d: %w", v, err)
			}
		}
		if err := tx.exec(ctx, record, v, s.d.appliedAt(s.opt.now())); err != nil {
			return fmt.Errorf("store: migration %d: %w", v, err)
		}
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	return nil
}

// Save queues the batch (commit.go): it is written in one transaction with
// the other Saves waiting, and Save returns once that transaction has
// committed (or failed).
//
// The counts are each caller's own, exactly: a group's inserts run in the
// callers' arrival order, so an event two Saves of one group carry is new
// for the first and a duplicate for the second, as if they had run one
// after the other.
func (s *sqlStore) Save(ctx context.Context, b Batch) (newStatuses, newInbound int, err error) {
	if len(b.Statuses) == 0 && len(b.Inbound) == 0 && len(b.Outbound) == 0 && len(b.Changes) == 0 {
		return 0, 0, nil
	}
	// The statements are built here, before queueing, to keep the share
	// of the work done for the whole group small.
	r := &saveReq{ctx: ctx, b: b, stmts: s.inserts(b, s.opt.now()), done: make(chan saveResult, 1)}
	if err := s.commits.enqueue(r); err != nil {
		return 0, 0, fmt.Errorf("store: save: %w", err)
	}
	select {
	case res := <-r.done:
		return res.newStatuses, res.newInbound, res.err
	case <-ctx.Done():
		// Not acknowledged; the group may still commit it, which a
		// redelivery then finds stored.
		return 0, 0, fmt.Errorf("store: save: %w", context.Cause(ctx))
	}
}

// inserts are the statements that store b: its statuses, its inbound
// messages, its outbound ones, then its changes (saveError and
// commitGroup count on that order), with now as the arrival time of
// events that have none.
func (s *sqlStore) inserts(b Batch, now time.Time) []stmt {
	stmts := make([]stmt, 0, b.size())
	for _, e := range b.Statuses {
		stmts = append(stmts, stmt{s.insStatus, []any{e.WABAID, e.PhoneNumberID, e.DisplayPhoneNumber, e.MessageID,
			e.Status, e.Timestamp, e.RecipientID, rawOrNil(e.Raw), s.d.timeArg(receivedAt(e.ReceivedAt, now))}})
	}
	for _, m := range b.Inbound {
		stmts = append(stmts, s.inboundStmt(m, now))
	}
	for _, m := range b.Outbound {
		stmts = append(stmts, s.outboundStmt(m, now))
	}
	for _, c := range b.Changes {
		stmts = append(stmts, s.changeStmt(c, now))
	}
	for _, st := range stmts {
		dropNUL(st.args)
	}
	return stmts
}

// dropNUL removes U+0000 from the string arguments. PostgreSQL's text
// cannot hold it (SQLite can), and Meta's JSON may carry one escaped
// ("\u0000") in a customer's text or name: refused, the whole delivery
// would fail on every redelivery. It carries nothing readable, so both
// engines store the text without it.
func dropNUL(args []any) {
	for i, a := range args {
		if v, ok := a.(string); ok && strings.IndexByte(v, 0) >= 0 {
			args[i] = strings.ReplaceAll(v, "\x00", "")
		}
	}
}

// size is how many events b holds.
func (b Batch) size() int { return len(b.Statuses) + len(b.Inbound) + len(b.Outbound) + len(b.Changes) }

// writeGroup is the committer's write: it stores the group in one
// transaction and answers every Save in it.
//
// Where the engine has one (PostgreSQL), the transaction first takes the
// save lock. Why: identity values are handed out when a row is inserted, not
// when its transaction commits. Without the lock, replica A could take Seq
// 10, replica B take Seq 11 and commit first; a reader paging with After=9
// would get 11, move its cursor to 11, and never see 10 once A commits.
// Holding one lock from before the first insert until commit means Seqs are
// assigned and become visible in the same order (the lock is released only
// after the commit is visible), so "Seq > cursor" never skips. The cost is
// that writes are serialised across replicas; each group holds the lock for
// about two round trips plus the commit, once for all its Saves. SQLite
// needs none: it has one writer at a time.
//
// A failed transaction fails every Save in it (the webhook answers 5xx and
// Meta delivers again), except when the database refused the values of one
// Save's statement: that Save alone fails and the others are written again
// without it, so one delivery the database cannot take does not fail every
// delivery that shares its group, nor (redelivered together) the next.
func (s *sqlStore) writeGroup(group []*saveReq) {
	live := make([]*saveReq, 0, len(group))
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- saveResult{err: fmt.Errorf("store: save: %w", context.Cause(r.ctx))}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, stop := groupContext(live)
	defer stop()
	for {
		results, culprit, err := s.commitGroup(ctx, live)
		switch {
		case err == nil:
			s.invalidateInbound(live)
			s.announce(live, results)
			for i, r := range live {
				r.done <- results[i]
			}
			return
		case culprit >= 0 && len(live) > 1:
			live[culprit].done <- saveResult{err: err}
			live = append(live[:culprit], live[culprit+1:]...)
		default:
			s.invalidateInbound(live) // a commit that failed may still have happened
			for _, r := range live {
				r.done <- saveResult{err: err}
			}
			return
		}
	}
}

// commitGroup runs one transaction of the group's inserts. On failure,
// culprit is the index of the Save whose values the database refused, or
// -1 when the failure is not one Save's.
func (s *sqlStore) commitGroup(ctx context.Context, group []*saveReq) (results []saveResult, culprit int, err error) {
	n := 0
	for _, r := range group {
		n += len(r.stmts)
	}
	stmts := make([]stmt, 0, 1+n)
	if l, ok := s.eng.lock("save"); ok && !s.opt.noSaveLock {
		stmts = append(stmts, l)
	}
	if q := s.d.conv.notifySetup; q != "" {
		stmts = append(stmts, stmt{q, []any{s.instance}})
	}
	locks := len(stmts) // the statements before the inserts
	for _, r := range group {
		stmts = append(stmts, r.stmts...)
	}

	tx, err := s.eng.begin(ctx)
	if err != nil {
		return nil, -1, fmt.Errorf("store: save: %w", err)
	}
	defer tx.rollback(ctx)
	changed, err := tx.execAll(ctx, stmts)
	if err != nil {
		i := -1
		if ee, ok := errors.AsType[*execError](err); ok {
			i = ee.index
		}
		switch {
		case i < 0:
			return nil, -1, fmt.Errorf("store: save: %w", err)
		case i < locks:
			return nil, -1, fmt.Errorf("store: save: lock: %w", err)
		}
		i -= locks
		k := 0
		for i >= len(group[k].stmts) {
			i -= len(group[k].stmts)
			k++
		}
		err = saveError(group[k].b, i, err)
		if !s.eng.dataError(err) {
			k = -1
		}
		return nil, k, err
	}
	if s.opt.groupHook != nil {
		if err := s.opt.groupHook(len(group)); err != nil {
			return nil, -1, fmt.Errorf("store: save: %w", err)
		}
	}
	if s.opt.beforeCommit != nil {
		s.opt.beforeCommit()
	}
	if err := tx.commit(ctx); err != nil {
		return nil, -1, fmt.Errorf("store: save: commit: %w", err)
	}
	results = make([]saveResult, len(group))
	changed = changed[locks:]
	for k, r := range group {
		results[k].fresh = make([]bool, len(r.stmts))
		for i, c := range changed[:len(r.stmts)] {
			results[k].fresh[i] = c > 0
			switch {
			case c == 0:
			case i < len(r.b.Statuses):
				results[k].newStatuses++
			case i < len(r.b.Statuses)+len(r.b.Inbound):
				results[k].newInbound++
			}
		}
		changed = changed[len(r.stmts):]
	}
	return results, -1, nil
}

// saveError names what the i-th insert of b (inserts' order), which
// failed, was storing.
func saveError(b Batch, i int, err error) error {
	if i < len(b.Statuses) {
		e := b.Statuses[i]
		return fmt.Errorf("store: save status %s/%s: %w", e.MessageID, e.Status, err)
	}
	if i -= len(b.Statuses); i < len(b.Inbound) {
		return fmt.Errorf("store: save inbound %s: %w", b.Inbound[i].MessageID, err)
	}
	if i -= len(b.Inbound); i < len(b.Outbound) {
		return fmt.Errorf("store: save outbound %s: %w", b.Outbound[i].MessageID, err)
	}
	c := b.Changes[i-len(b.Outbound)]
	return fmt.Errorf("store: save change %s of %s: %w", c.Field, c.WABAID, err)
}

// invalidateInbound makes LastInbound read again the pairs whose inbound
// messages the group stored, under each name LastInbound may have been
// asked by: the wa_id, and the BSUID.
func (s *sqlStore) invalidateInbound(group []*saveReq) {
	var keys []inboundKey
	for _, r := range group {
		for _, m := range r.b.Inbound {
			if wa := digits(m.From); wa != "" {
				keys = append(keys, inboundKey{m.PhoneNumberID, wa})
			}
			if m.UserID != "" {
				keys = append(keys, inboundKey{m.PhoneNumberID, m.UserID})
			}
		}
	}
	s.inbound.invalidate(keys)
}

// Statuses reads with a single statement, hence a single snapshot: with the
// save lock, a snapshot that contains Seq n contains every Seq below n.
func (s *sqlStore) Statuses(ctx context.Context, q Query) ([]StatusEvent, int64, error) {
	query, args := s.statusesQuery(q)
	events, err := s.queryStatuses(ctx, query, args)
	if err != nil {
		return nil, q.After, fmt.Errorf("store: statuses: %w", err)
	}
	next := q.After
	if len(events) > 0 {
		next = events[len(events)-1].Seq
	}
	return events, next, nil
}

// statusesQuery is the Statuses SELECT of q's filters, with its arguments.
func (s *sqlStore) statusesQuery(q Query) (string, []any) {
	limit := clampLimit(q.Limit)
	switch {
	case q.PhoneNumberID != "" && q.Status != "":
		return s.byFilter[filterPhoneStatus], []any{q.PhoneNumberID, q.Status, q.After, limit}
	case q.PhoneNumberID != "":
		return s.byFilter[filterPhone], []any{q.PhoneNumberID, q.After, limit}
	case q.Status != "":
		return s.byFilter[filterStatus], []any{q.Status, q.After, limit}
	default:
		return s.byFilter[filterNone], []any{q.After, limit}
	}
}

// ExplainStatuses returns the plans the database chooses for the Statuses
// query of q, each labelled (PostgreSQL: the plan of a prepared statement's
// first execution and the one it settles on). For tests and diagnosis: it
// is not part of Store.
func (s *sqlStore) ExplainStatuses(ctx context.Context, q Query) ([]string, error) {
	query, args := s.statusesQuery(q)
	plans, err := s.eng.explain(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("store: explain: %w", err)
	}
	return plans, nil
}

// Analyze refreshes the planner's statistics of the event tables, as an
// operator's ANALYZE would (SQLite's readers see them once reopened). For
// tests and diagnosis: it is not part of Store.
func (s *sqlStore) Analyze(ctx context.Context) error {
	if err := s.eng.analyze(ctx); err != nil {
		return fmt.Errorf("store: analyze: %w", err)
	}
	return nil
}

func (s *sqlStore) History(ctx context.Context, messageIDs []string) (map[string][]StatusEvent, error) {
	ids := uniqueIDs(messageIDs)
	out := make(map[string][]StatusEvent)
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), s.d.maxIDs)]
		ids = ids[len(chunk):]
		cond, args := s.d.idsIn(chunk)
		events, err := s.queryStatuses(ctx, `SELECT `+s.statusColumns+` FROM wa_status_events WHERE `+cond+` ORDER BY seq`, args)
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

// LastInbound answers from its cache when it can (LastInboundTTL says why
// that is safe) and from the conversation's last_inbound_at otherwise,
// which the database's trigger keeps (schema.go).
func (s *sqlStore) LastInbound(ctx context.Context, phoneNumberID, waID string) (time.Time, bool, error) {
	key := customerKey(waID)
	if key == "" {
		return time.Time{}, false, nil
	}
	k := inboundKey{phoneNumberID, key}
	t, ok, hit, gen := s.inbound.get(k)
	if hit {
		return t, ok, nil
	}
	cust, err := s.resolveCustomer(ctx, phoneNumberID, key)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: last inbound: %w", err)
	}
	var at nullTime
	found, err := s.queryRow(ctx, s.conv.lastInbound, []any{phoneNumberID, cust}, &at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: last inbound: %w", err)
	}
	found = found && !at.t.IsZero()
	s.inbound.put(k, at.t, found, gen)
	return at.t, found, nil
}

// healthTable is migration 2 in an engine's types: the one-row table Ping
// writes to.
func healthTable(intType, timeType string) string {
	return `CREATE TABLE wa_health (id ` + intType + ` PRIMARY KEY, checked_at ` + timeType + ` NOT NULL)`
}

// Ping upserts wa_health's one row in a transaction of its own and commits
// it: only a committed write reaches the disk (SQLite keeps an uncommitted
// one in memory), so only it proves that the next Save can succeed. On
// SQLite the transaction is BEGIN IMMEDIATE (the writer's _txlock), which
// takes the write lock first.
func (s *sqlStore) Ping(ctx context.Context) error {
	tx, err := s.eng.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	defer tx.rollback(ctx)
	q := `INSERT INTO wa_health (id, checked_at) VALUES (1, ` + s.d.param(1) + `)
		ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`
	if err := tx.exec(ctx, q, s.d.timeArg(s.opt.now())); err != nil {
		return fmt.Errorf("store: ping: writing: %w", err)
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("store: ping: committing: %w", err)
	}
	return nil
}

// Close first stops Save: new ones fail, queued ones are committed.
func (s *sqlStore) Close() error {
	s.closeOnce.Do(func() {
		if s.commits != nil {
			s.commits.close()
		}
		s.closeListener()
		s.closeErr = s.eng.close()
	})
	return s.closeErr
}

// queryRow runs a SELECT of at most one row and scans it into dest; found is
// false when there is none.
func (s *sqlStore) queryRow(ctx context.Context, query string, args []any, dest ...any) (found bool, err error) {
	r, err := s.eng.query(ctx, query, args)
	if err != nil {
		return false, err
	}
	defer r.Close()
	if !r.Next() {
		return false, r.Err()
	}
	if err := r.Scan(dest...); err != nil {
		return false, err
	}
	return true, r.Err()
}

// queryStatuses runs a SELECT of statusColumns and scans every row.
func (s *sqlStore) queryStatuses(ctx context.Context, query string, args []any) ([]StatusEvent, error) {
	r, err := s.eng.query(ctx, query, args)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var events []StatusEvent
	for r.Next() {
		var (
			e    StatusEvent
			raw  *string
			recv storedTime
		)
		if err := r.Scan(&e.Seq, &e.WABAID, &e.PhoneNumberID, &e.DisplayPhoneNumber, &e.MessageID, &e.Status,
			&e.Timestamp, &e.RecipientID, &raw, &recv); err != nil {
			return nil, err
		}
		if raw != nil {
			e.Raw = []byte(*raw)
		}
		e.ReceivedAt = recv.t
		events = append(events, e)
	}
	return events, r.Err()
}

// storedTime scans a received_at column of either engine: a timestamptz
// (PostgreSQL) or unix nanoseconds (SQLite). The time comes out in UTC.
type storedTime struct{ t time.Time }

func (st *storedTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		st.t = v.UTC()
	case int64:
		st.t = time.Unix(0, v).UTC()
	default:
		return fmt.Errorf("store: received_at of type %T", src)
	}
	return nil
}
