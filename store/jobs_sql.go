package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The bulk jobs (jobs.go) on both engines.
//
// At most one send per recipient rests on one row transition: pending to
// sending is a conditional UPDATE of the recipient's row (BeginBulkSend),
// committed before the request leaves, and nothing ever moves a recipient
// back to pending but EndBulkSend when Meta said the request was not
// processed. Two workers racing to begin one recipient both run the UPDATE;
// the database serialises them on the row (SQLite: one writer at a time;
// PostgreSQL: the second waits for the first's row lock, then re-checks
// "state = 'pending'" on the row as committed), so exactly one changes it.
//
// The lease: AcquireBulkJob is a conditional UPDATE of the job's row too
// (free, expired, or already the caller's), checked by the rows it
// changed, rather than SELECT … FOR UPDATE SKIP LOCKED: it is one spelling
// for both engines, and what it decides is on the row itself, so an
// acquirer that loses the race changes nothing and tries the next job.
// BeginBulkSend checks the lease in the same UPDATE; on PostgreSQL that
// check holds the job's row FOR SHARE until commit, so an Acquire or a
// Cancel of the job waits for a Begin under way and a Begin under way
// waits for them: no send is begun after the lease moved or the job
// ended. Lease times are the stores' clocks: replicas must agree on the
// time to well within the lease's ttl.

// jobStmts are the bulk jobs' statements, in the engine's spelling.
type jobStmts struct {
	insJob, candidate, acquire, renew, release, hold string
	recover, recoverOrphans, cancelPending, finish   string
	cancel                                           string
	begin, end                                       string
	get, counts, pending, anyPending, recipients     string
	sentIDs                                          string
	pruneJobs, pruneRecipients                       string
}

// Why a recipient is unknown when a worker did not say.
const (
	whyStopped   = "the server stopped while this send was in flight"
	whyEnded     = "the job ended while this send was in flight"
	whyCancelled = "the job was cancelled while this send was in flight"
)

const (
	jobColumns       = `id, phone_number_id, template_name, language_code, rate_per_second, state, owner, lease_until, total, created_at, updated_at, finished_at`
	recipientColumns = `seq, recipient, body, state, message_id, error, error_code, attempts, updated_at`
	// recipientRows bounds the rows of one INSERT of CreateBulkJob: 3
	// parameters each, far below either engine's limit.
	recipientRows = 250
	// pruneJobBatch bounds the jobs one Prune transaction deletes, each
	// with its recipients (up to 1,000 for a bulk send).
	pruneJobBatch = 10
)

func (s *sqlStore) initJobs() {
	j := &s.jobs
	j.insJob = s.bind(`INSERT INTO wa_bulk_jobs (`+jobColumns+`)
		VALUES ({id}, {p}, {t}, {l}, {r}, 'running', '', NULL, {n}, {now}, {now}, NULL)
		ON CONFLICT (id) DO NOTHING`, "id", "p", "t", "l", "r", "n", "now")
	// free: no owner, an expired lease (valid while now < lease_until),
	// or the caller's own.
	free := `state = 'running' AND (owner = '' OR lease_until <= {now} OR owner = {o})`
	j.candidate = s.bind(`SELECT id FROM wa_bulk_jobs WHERE `+free+` ORDER BY created_at, id LIMIT 1`, "now", "o")
	j.acquire = s.bind(`UPDATE wa_bulk_jobs SET owner = {o}, lease_until = {until}, updated_at = {now}
		WHERE id = {id} AND `+free, "id", "o", "until", "now")
	j.renew = s.bind(`UPDATE wa_bulk_jobs SET lease_until = {until}, updated_at = {now}
		WHERE id = {id} AND owner = {o} AND state = 'running'`, "id", "o", "until", "now")
	j.release = s.bind(`UPDATE wa_bulk_jobs SET owner = '', lease_until = NULL, updated_at = {now}
		WHERE id = {id} AND owner = {o}`, "id", "o", "now")
	// hold takes the job's row for the transaction (PostgreSQL: its row
	// lock) when owner holds it, so what follows runs under the lease.
	j.hold = s.bind(`UPDATE wa_bulk_jobs SET updated_at = {now} WHERE id = {id} AND owner = {o} AND state = 'running'`,
		"id", "o", "now")
	j.recover = s.bind(`UPDATE wa_bulk_recipients SET state = 'unknown', error = {why}, updated_at = {now}
		WHERE job_id = {id} AND state = 'sending'`, "id", "why", "now")
	j.cancelPending = s.bind(`UPDATE wa_bulk_recipients SET state = 'cancelled', updated_at = {now}
		WHERE job_id = {id} AND state = 'pending'`, "id", "now")
	j.finish = s.bind(`UPDATE wa_bulk_jobs SET state = {st}, owner = '', lease_until = NULL, finished_at = {now}, updated_at = {now}
		WHERE id = {id} AND owner = {o} AND state = 'running'`, "id", "o", "st", "now")
	// A cancel leaves the lease as it is: a worker holding it still has
	// sends in flight to record (EndBulkSend), and its next Begin fails.
	j.cancel = s.bind(`UPDATE wa_bulk_jobs SET state = 'cancelled', finished_at = {now}, updated_at = {now}
		WHERE id = {id} AND state = 'running'`, "id", "now")
	// With no live lease, nobody will record the sends in flight.
	j.recoverOrphans = s.bind(`UPDATE wa_bulk_recipients SET state = 'unknown', error = {why}, updated_at = {now}
		WHERE job_id = {id} AND state = 'sending' AND EXISTS (SELECT 1 FROM wa_bulk_jobs
			WHERE id = {id} AND (owner = '' OR lease_until IS NULL OR lease_until <= {now}))`, "id", "why", "now")
	j.begin = s.bind(`UPDATE wa_bulk_recipients SET state = 'sending', attempts = attempts + 1, updated_at = {now}
		WHERE job_id = {id} AND seq = {q} AND state = 'pending' AND EXISTS (SELECT 1 FROM wa_bulk_jobs
			WHERE id = {id} AND state = 'running' AND owner = {o} AND lease_until > {now}`+s.d.shareLock+`)`,
		"id", "q", "o", "now")
	// A recipient unknown when its outcome arrives was recovered while
	// its send was in flight: the outcome replaces the guess. "Not
	// processed" puts it back to pending only while the job runs; in an
	// ended job nothing more is sent to it.
	j.end = s.bind(`UPDATE wa_bulk_recipients SET
			state = CASE WHEN {st} <> 'pending' THEN {st} ELSE COALESCE((SELECT CASE j.state
				WHEN 'running' THEN 'pending' WHEN 'cancelled' THEN 'cancelled' ELSE 'failed' END
				FROM wa_bulk_jobs j WHERE j.id = {id}), 'failed') END,
			message_id = {m}, error = {e}, error_code = {c}, updated_at = {now}
		WHERE job_id = {id} AND seq = {q} AND state IN ('sending', 'unknown')`,
		"id", "q", "st", "m", "e", "c", "now")
	j.get = s.bind(`SELECT `+jobColumns+` FROM wa_bulk_jobs WHERE id = {id}`, "id")
	j.counts = s.bind(`SELECT state, count(*) FROM wa_bulk_recipients WHERE job_id = {id} GROUP BY state`, "id")
	j.pending = s.bind(`SELECT `+recipientColumns+` FROM wa_bulk_recipients
		WHERE job_id = {id} AND state = 'pending' ORDER BY seq LIMIT {l}`, "id", "l")
	j.anyPending = s.bind(`SELECT seq FROM wa_bulk_recipients WHERE job_id = {id} AND state = 'pending' LIMIT 1`, "id")
	j.recipients = s.bind(`SELECT `+recipientColumns+` FROM wa_bulk_recipients
		WHERE job_id = {id} AND seq > {a} ORDER BY seq LIMIT {l}`, "id", "a", "l")
	j.sentIDs = s.bind(`SELECT message_id FROM wa_bulk_recipients WHERE job_id = {id} AND state = 'sent' ORDER BY seq`, "id")
	j.pruneJobs = s.bind(`DELETE FROM wa_bulk_jobs WHERE id IN (SELECT id FROM wa_bulk_jobs
		WHERE finished_at < {c} AND state <> 'running' LIMIT {n}) RETURNING id`, "c", "n")
	j.pruneRecipients = s.bind(`DELETE FROM wa_bulk_recipients WHERE job_id = {id}`, "id")
}

// jobTime is a time as the jobs' columns keep it (the precision both
// engines keep, as receivedAt).
func (s *sqlStore) jobTime(t time.Time) any { return s.d.timeArg(t.UTC().Truncate(time.Microsecond)) }

// jobWrite runs fn in a write transaction of its own and commits it.
func (s *sqlStore) jobWrite(ctx context.Context, what string, fn func(tx) error) error {
	tx, err := s.eng.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer tx.rollback(ctx)
	if err := fn(tx); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("store: %s: commit: %w", what, err)
	}
	return nil
}

// changed runs one statement in tx and returns how many rows it changed.
func changed(ctx context.Context, tx tx, query string, args ...any) (int64, error) {
	n, err := tx.execAll(ctx, []stmt{{query, args}})
	if err != nil {
		return 0, err
	}
	return n[0], nil
}

// writeOne runs one statement in a transaction of its own and returns how
// many rows it changed.
func (s *sqlStore) writeOne(ctx context.Context, what, query string, args ...any) (n int64, err error) {
	err = s.jobWrite(ctx, what, func(tx tx) error {
		n, err = changed(ctx, tx, query, args...)
		return err
	})
	return n, err
}

func (s *sqlStore) CreateBulkJob(ctx context.Context, j BulkJob, rs []BulkRecipient) error {
	if j.ID == "" {
		return fmt.Errorf("store: create bulk job: no id")
	}
	now := s.jobTime(s.opt.now())
	stmts := []stmt{{s.jobs.insJob, []any{j.ID, j.PhoneNumberID, j.TemplateName, j.LanguageCode, j.RatePerSecond, len(rs), now}}}
	for from := 0; from < len(rs); from += recipientRows {
		chunk := rs[from:min(len(rs), from+recipientRows)]
		var b strings.Builder
		b.WriteString(`INSERT INTO wa_bulk_recipients (job_id, seq, recipient, body, state, message_id, error, error_code, attempts, updated_at) VALUES `)
		args := make([]any, 0, 2+3*len(chunk))
		args = append(args, j.ID, now)
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&b, "(%s, %s, %s, %s, 'pending', '', '', 0, 0, %s)",
				s.d.param(1), s.d.param(n+1), s.d.param(n+2), s.d.param(n+3), s.d.param(2))
			args = append(args, from+i, r.To, string(r.Body))
		}
		stmts = append(stmts, stmt{b.String(), args})
	}
	for _, st := range stmts {
		dropNUL(st.args)
	}
	return s.jobWrite(ctx, "create bulk job", func(tx tx) error {
		// The job first, alone: a duplicate id stops before its recipients
		// meet the primary key of the stored job's.
		n, err := changed(ctx, tx, stmts[0].query, stmts[0].args...)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: %s", ErrJobExists, j.ID)
		}
		if len(stmts) > 1 {
			_, err = tx.execAll(ctx, stmts[1:])
		}
		return err
	})
}

// AcquireBulkJob picks the oldest free job and takes it with a conditional
// UPDATE; when another owner took it in between (PostgreSQL), the UPDATE
// changes nothing and the next free job is tried.
func (s *sqlStore) AcquireBulkJob(ctx context.Context, owner string, ttl time.Duration) (BulkJob, bool, error) {
	if owner == "" || ttl <= 0 {
		return BulkJob{}, false, fmt.Errorf("store: acquire bulk job: an owner and a positive ttl are needed")
	}
	var id string
	for range 100 {
		t := s.opt.now()
		now, until := s.jobTime(t), s.jobTime(t.Add(ttl))
		// Idle workers ask every poll: a read finds there is nothing to
		// take without a write transaction (on SQLite, the file's write
		// lock, which the webhook's commits wait for).
		if found, err := s.queryRow(ctx, s.jobs.candidate, []any{now, owner}, &id); err != nil || !found {
			return BulkJob{}, false, wrapErr("store: acquire bulk job", err)
		}
		var got bool
		err := s.jobWrite(ctx, "acquire bulk job", func(tx tx) error {
			found, err := txQueryRow(ctx, tx, s.jobs.candidate, []any{now, owner}, &id)
			if err != nil || !found {
				id = ""
				return err
			}
			n, err := changed(ctx, tx, s.jobs.acquire, id, owner, until, now)
			got = n > 0
			return err
		})
		if err != nil || id == "" {
			return BulkJob{}, false, err
		}
		if got {
			j, ok, err := s.GetBulkJob(ctx, id)
			if err != nil {
				return BulkJob{}, false, fmt.Errorf("store: acquire bulk job: %w", err)
			}
			return j, ok, nil
		}
	}
	return BulkJob{}, false, nil // every try lost a race: the jobs are being taken
}

func (s *sqlStore) RenewBulkLease(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("store: renew bulk lease: a positive ttl is needed")
	}
	t := s.opt.now()
	n, err := s.writeOne(ctx, "renew bulk lease", s.jobs.renew, id, owner, s.jobTime(t.Add(ttl)), s.jobTime(t))
	return n > 0, err
}

// ReleaseBulkLease marks unknown what the owner leaves sending: a worker
// releases once its sends in flight have ended, so these will never be
// recorded; and in a job cancelled meanwhile, no recovery would come.
func (s *sqlStore) ReleaseBulkLease(ctx context.Context, id, owner string) error {
	now := s.jobTime(s.opt.now())
	return s.jobWrite(ctx, "release bulk lease", func(tx tx) error {
		n, err := changed(ctx, tx, s.jobs.release, id, owner, now)
		if err != nil || n == 0 {
			return err
		}
		_, err = changed(ctx, tx, s.jobs.recoverOrphans, id, whyStopped, now)
		return err
	})
}

// RecoverBulkJob fails with ErrJobNotHeld when owner does not hold the
// job: only the lease holder may declare another worker's sends unknown.
func (s *sqlStore) RecoverBulkJob(ctx context.Context, id, owner string) (int, error) {
	now := s.jobTime(s.opt.now())
	var n int64
	err := s.jobWrite(ctx, "recover bulk job", func(tx tx) error {
		held, err := changed(ctx, tx, s.jobs.hold, id, owner, now)
		if err != nil {
			return err
		}
		if held == 0 {
			return ErrJobNotHeld
		}
		n, err = changed(ctx, tx, s.jobs.recover, id, whyStopped, now)
		return err
	})
	return int(n), err
}

func (s *sqlStore) PendingBulkRecipients(ctx context.Context, id string, limit int) ([]BulkRecipient, error) {
	rs, err := s.queryRecipients(ctx, s.jobs.pending, id, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: pending bulk recipients: %w", err)
	}
	return rs, nil
}

func (s *sqlStore) BeginBulkSend(ctx context.Context, id, owner string, seq int) (bool, error) {
	n, err := s.writeOne(ctx, "begin bulk send", s.jobs.begin, id, seq, owner, s.jobTime(s.opt.now()))
	return n > 0, err
}

func (s *sqlStore) EndBulkSend(ctx context.Context, id string, seq int, state, messageID, errText string, code int) error {
	switch state {
	case RecipientSent, RecipientFailed, RecipientUnknown, RecipientPending:
	default:
		return fmt.Errorf("store: end bulk send: state %q is no outcome", state)
	}
	args := []any{id, seq, state, messageID, errText, code, s.jobTime(s.opt.now())}
	dropNUL(args)
	n, err := s.writeOne(ctx, "end bulk send", s.jobs.end, args...)
	if err == nil && n == 0 {
		err = fmt.Errorf("store: end bulk send: recipient %d of job %s is not being sent", seq, id)
	}
	return err
}

// FinishBulkJob fails with ErrJobNotHeld when owner does not hold the
// running job, and refuses JobDone while recipients are pending. A
// recipient still sending becomes unknown (its outcome, if it comes,
// replaces that).
func (s *sqlStore) FinishBulkJob(ctx context.Context, id, owner, state string) error {
	if state != JobDone && state != JobCancelled {
		return fmt.Errorf("store: finish bulk job: state %q is no end", state)
	}
	now := s.jobTime(s.opt.now())
	return s.jobWrite(ctx, "finish bulk job", func(tx tx) error {
		n, err := changed(ctx, tx, s.jobs.finish, id, owner, state, now)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrJobNotHeld
		}
		if state == JobDone {
			var seq int64
			found, err := txQueryRow(ctx, tx, s.jobs.anyPending, []any{id}, &seq)
			if err != nil {
				return err
			}
			if found {
				return fmt.Errorf("job %s: recipient %d is still pending", id, seq)
			}
		}
		stmts := []stmt{{s.jobs.recover, []any{id, whyEnded, now}}}
		if state == JobCancelled {
			stmts = append(stmts, stmt{s.jobs.cancelPending, []any{id, now}})
		}
		_, err = tx.execAll(ctx, stmts)
		return err
	})
}

// CancelBulkJob leaves a recipient sending to its worker while that still
// holds a live lease (its outcome is on its way); with none, it becomes
// unknown.
func (s *sqlStore) CancelBulkJob(ctx context.Context, id string) (bool, error) {
	now := s.jobTime(s.opt.now())
	var ok bool
	err := s.jobWrite(ctx, "cancel bulk job", func(tx tx) error {
		n, err := changed(ctx, tx, s.jobs.cancel, id, now)
		if err != nil || n == 0 {
			return err
		}
		ok = true
		_, err = tx.execAll(ctx, []stmt{{s.jobs.cancelPending, []any{id, now}}, {s.jobs.recoverOrphans, []any{id, whyCancelled, now}}})
		return err
	})
	return ok, err
}

func (s *sqlStore) GetBulkJob(ctx context.Context, id string) (BulkJob, bool, error) {
	var (
		j                BulkJob
		lease, finished  nullTime
		created, updated storedTime
		rate, total      int64
	)
	found, err := s.queryRow(ctx, s.jobs.get, []any{id}, &j.ID, &j.PhoneNumberID, &j.TemplateName, &j.LanguageCode,
		&rate, &j.State, &j.Owner, &lease, &total, &created, &updated, &finished)
	if err != nil || !found {
		return BulkJob{}, false, wrapErr("store: get bulk job", err)
	}
	j.RatePerSecond, j.Total = int(rate), int(total)
	j.LeaseUntil, j.CreatedAt, j.UpdatedAt, j.FinishedAt = lease.t, created.t, updated.t, finished.t
	r, err := s.eng.query(ctx, s.jobs.counts, []any{id})
	if err != nil {
		return BulkJob{}, false, fmt.Errorf("store: get bulk job: %w", err)
	}
	defer r.Close()
	j.Counts = map[string]int{}
	for r.Next() {
		var (
			state string
			n     int64
		)
		if err := r.Scan(&state, &n); err != nil {
			return BulkJob{}, false, fmt.Errorf("store: get bulk job: %w", err)
		}
		j.Counts[state] = int(n)
	}
	if err := r.Err(); err != nil {
		return BulkJob{}, false, fmt.Errorf("store: get bulk job: %w", err)
	}
	return j, true, nil
}

func (s *sqlStore) BulkRecipients(ctx context.Context, id string, after, limit int) ([]BulkRecipient, error) {
	rs, err := s.queryRecipients(ctx, s.jobs.recipients, id, after, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: bulk recipients: %w", err)
	}
	return rs, nil
}

// BulkDeliveries reads the sent messages' histories (History) and takes
// each one's LatestStatus: the rule the status tools report by.
func (s *sqlStore) BulkDeliveries(ctx context.Context, id string) (map[string]int, error) {
	r, err := s.eng.query(ctx, s.jobs.sentIDs, []any{id})
	if err != nil {
		return nil, fmt.Errorf("store: bulk deliveries: %w", err)
	}
	var ids []string
	for r.Next() {
		var m string
		if err := r.Scan(&m); err != nil {
			r.Close()
			return nil, fmt.Errorf("store: bulk deliveries: %w", err)
		}
		ids = append(ids, m)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("store: bulk deliveries: %w", err)
	}
	out := map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	hist, err := s.History(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("store: bulk deliveries: %w", err)
	}
	for _, m := range ids {
		if e, ok := LatestStatus(hist[m]); ok {
			out[e.Status]++
		} else {
			out["accepted"]++
		}
	}
	return out, nil
}

// queryRecipients runs a SELECT of recipientColumns and scans every row.
func (s *sqlStore) queryRecipients(ctx context.Context, query string, args ...any) ([]BulkRecipient, error) {
	r, err := s.eng.query(ctx, query, args)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []BulkRecipient
	for r.Next() {
		var (
			b                   BulkRecipient
			seq, code, attempts int64
			body                string
			updated             storedTime
		)
		if err := r.Scan(&seq, &b.To, &body, &b.State, &b.MessageID, &b.Error, &code, &attempts, &updated); err != nil {
			return nil, err
		}
		b.Seq, b.ErrorCode, b.Attempts, b.UpdatedAt = int(seq), int(code), int(attempts), updated.t
		if body != "" {
			b.Body = []byte(body)
		}
		out = append(out, b)
	}
	return out, r.Err()
}

// pruneJobs deletes a batch of jobs that ended before cut, with their
// recipients, in tx; a running job is never deleted, however old.
func (s *sqlStore) pruneJobs(ctx context.Context, tx tx, cut any) (int, error) {
	r, err := tx.query(ctx, s.jobs.pruneJobs, []any{cut, pruneJobBatch})
	if err != nil {
		return 0, err
	}
	var stmts []stmt
	for r.Next() {
		var id string
		if err := r.Scan(&id); err != nil {
			r.Close()
			return 0, err
		}
		stmts = append(stmts, stmt{s.jobs.pruneRecipients, []any{id}})
	}
	r.Close()
	if err := r.Err(); err != nil || len(stmts) == 0 {
		return 0, err
	}
	if _, err := tx.execAll(ctx, stmts); err != nil {
		return 0, err
	}
	return len(stmts), nil
}
