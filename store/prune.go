package store

import (
	"context"
	"fmt"
	"time"
)

// pruneBatch bounds the rows one Prune transaction deletes from a table,
// so that Saves (which wait for the writer, and on PostgreSQL for the save
// lock) wait for one batch at most, never for the whole cut.
const pruneBatch = 1000

// pruneStmts are Prune's statements, in the engine's spelling.
type pruneStmts struct {
	statuses, changes string // delete a batch received before {c}
	messages          string // the same, returning each row's conversation
	// convGone deletes a conversation with no message left; convRedo
	// recomputes what a deleted message may have been of the summary: the
	// latest message, the highest Seq, the unread count.
	convGone, convRedo string
}

func (s *sqlStore) initPrune() {
	batch := func(table string) string {
		return s.bind(`DELETE FROM `+table+` WHERE seq IN
			(SELECT seq FROM `+table+` WHERE received_at < {c} LIMIT {n})`, "c", "n")
	}
	s.prune.statuses = batch("wa_status_events")
	s.prune.changes = batch("wa_changes")
	s.prune.messages = batch("wa_messages") + ` RETURNING phone_number_id, customer`
	of := `FROM wa_messages m WHERE m.phone_number_id = {p} AND m.customer = {c}`
	s.prune.convGone = s.bind(`DELETE FROM wa_conversations WHERE phone_number_id = {p} AND customer = {c}
		AND NOT EXISTS (SELECT 1 `+of+`)`, "p", "c")
	s.prune.convRedo = s.bind(`UPDATE wa_conversations SET
			last_seq = (SELECT max(m.seq) `+of+`),
			(last_msg_seq, last_msg_ts) = (SELECT m.seq, m.ts `+of+` ORDER BY m.ts DESC, m.seq DESC LIMIT 1),
			unread = (SELECT count(*) `+of+` AND m.direction = 'in'
				AND (m.ts, m.seq) > (wa_conversations.read_ts, wa_conversations.read_seq))
		WHERE phone_number_id = {p} AND customer = {c}`, "p", "c")
}

// Prune deletes table by table, a batch per transaction, until a batch
// comes back short. A conversation keeps its read point and its
// last_inbound_at (the window: a cutoff is days old, the window 24 hours).
// On SQLite the full-text index follows by its trigger.
func (s *sqlStore) Prune(ctx context.Context, cutoff time.Time) (Pruned, error) {
	var p Pruned
	cut := s.d.timeArg(cutoff.UTC())
	for _, t := range []struct {
		what  string
		query string
		count *int
	}{
		{"statuses", s.prune.statuses, &p.Statuses},
		{"changes", s.prune.changes, &p.Changes},
	} {
		for {
			n, err := s.pruneBatch(ctx, func(tx tx) (int, error) {
				changed, err := tx.execAll(ctx, []stmt{{t.query, []any{cut, pruneBatch}}})
				if err != nil {
					return 0, err
				}
				return int(changed[0]), nil
			})
			*t.count += n
			if err != nil {
				return p, fmt.Errorf("store: prune %s: %w", t.what, err)
			}
			if n < pruneBatch {
				break
			}
		}
	}
	// Bulk jobs that ended before the cutoff, with their recipients (not
	// counted in Pruned); a running job stays, however old (jobs_sql.go).
	for {
		n, err := s.pruneBatch(ctx, func(tx tx) (int, error) { return s.pruneJobs(ctx, tx, cut) })
		if err != nil {
			return p, fmt.Errorf("store: prune bulk jobs: %w", err)
		}
		if n < pruneJobBatch {
			break
		}
	}
	for {
		n, err := s.pruneBatch(ctx, func(tx tx) (int, error) {
			deleted, convs, err := s.pruneMessages(ctx, tx, cut)
			p.Conversations += convs
			return deleted, err
		})
		p.Messages += n
		if err != nil {
			return p, fmt.Errorf("store: prune messages: %w", err)
		}
		if n < pruneBatch {
			return p, nil
		}
	}
}

// pruneBatch runs one batch in a write transaction of its own (on
// PostgreSQL under the save lock, as MarkRead: the conversations it
// rewrites are the trigger's) and returns what it counted once committed.
func (s *sqlStore) pruneBatch(ctx context.Context, run func(tx) (int, error)) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	tx, err := s.eng.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.rollback(ctx)
	if l, ok := s.eng.lock("save"); ok {
		if err := tx.exec(ctx, l.query, l.args...); err != nil {
			return 0, fmt.Errorf("lock: %w", err)
		}
	}
	n, err := run(tx)
	if err != nil {
		return 0, err
	}
	if err := tx.commit(ctx); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return n, nil
}

// pruneMessages deletes a batch of messages and mends the conversations
// they were of.
func (s *sqlStore) pruneMessages(ctx context.Context, tx tx, cut any) (deleted, convsGone int, err error) {
	r, err := tx.query(ctx, s.prune.messages, []any{cut, pruneBatch})
	if err != nil {
		return 0, 0, err
	}
	type conv struct{ phone, customer string }
	seen := map[conv]bool{}
	var convs []conv
	for r.Next() {
		var c conv
		if err := r.Scan(&c.phone, &c.customer); err != nil {
			r.Close()
			return 0, 0, err
		}
		deleted++
		if !seen[c] {
			seen[c] = true
			convs = append(convs, c)
		}
	}
	r.Close()
	if err := r.Err(); err != nil {
		return 0, 0, err
	}
	stmts := make([]stmt, 0, 2*len(convs))
	for _, c := range convs {
		stmts = append(stmts, stmt{s.prune.convGone, []any{c.phone, c.customer}}, stmt{s.prune.convRedo, []any{c.phone, c.customer}})
	}
	if len(stmts) == 0 {
		return deleted, 0, nil
	}
	changed, err := tx.execAll(ctx, stmts)
	if err != nil {
		return 0, 0, err
	}
	for i := 0; i < len(changed); i += 2 {
		convsGone += int(changed[i])
	}
	return deleted, convsGone, nil
}
