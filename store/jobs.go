package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Bulk send jobs (docs/cloud-api.md#bulk-sends): one template to many
// recipients, kept durably so that a restart resumes a job without sending
// twice to anyone, and so that with several replicas on one PostgreSQL
// exactly one works a job at a time (a lease the owner renews; a replica
// that dies stops renewing and loses it).
//
// A recipient is sent at most once: the worker moves it from pending to
// sending (BeginBulkSend, committed) before the request leaves, and records
// the outcome after (EndBulkSend). A recipient still sending when its
// worker dies has an unknown outcome (Meta may or may not have the
// message): RecoverBulkJob marks it unknown, and it is never resent.

// Bulk job states.
const (
	JobRunning   = "running"   // recipients remain to be attempted
	JobDone      = "done"      // every recipient was attempted
	JobCancelled = "cancelled" // stopped before every recipient was attempted
)

// Bulk recipient states.
const (
	RecipientPending   = "pending"   // not attempted yet
	RecipientSending   = "sending"   // its send is in flight (or its worker died during it)
	RecipientSent      = "sent"      // Meta accepted it: MessageID is set
	RecipientFailed    = "failed"    // Meta refused it, so nothing was sent: Error says why
	RecipientUnknown   = "unknown"   // whether Meta took it is unknown: never resent
	RecipientCancelled = "cancelled" // the job was cancelled before it was attempted
)

// BulkJob is one bulk send.
type BulkJob struct {
	ID            string
	PhoneNumberID string
	TemplateName  string
	LanguageCode  string
	RatePerSecond int // the pace the worker keeps (messages per second)
	State         string
	Owner         string    // the worker holding the lease; "" when none
	LeaseUntil    time.Time // zero when no lease
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    time.Time      // zero while running
	Total         int            // number of recipients
	Counts        map[string]int // recipients per state; filled by GetBulkJob and AcquireBulkJob
}

// BulkRecipient is one recipient of a bulk job.
type BulkRecipient struct {
	Seq       int             // 0-based, the order of the job's input
	To        string          // +<digits>, as sent
	Body      json.RawMessage // the request body of the send (a graph.Message with to set)
	State     string
	MessageID string // set when sent
	Error     string // Meta's error when failed; why when unknown
	ErrorCode int    // Meta's error code when failed (0 when none)
	Attempts  int    // sends begun (BeginBulkSend); >1 only after Meta said a send was not processed
	UpdatedAt time.Time
}

// Jobs is the store's part for bulk sends. Times come from the store's
// clock (WithClock).
type Jobs interface {
	// CreateBulkJob stores a new running job (j.State, Owner, LeaseUntil,
	// Total and the times are set by the store) with its recipients, all
	// pending, in one transaction; a recipient's Seq is its index in rs.
	// A job id already stored fails with ErrJobExists.
	CreateBulkJob(ctx context.Context, j BulkJob, rs []BulkRecipient) error

	// AcquireBulkJob gives owner a lease of ttl on the oldest running job
	// whose lease is free, expired, or already owner's; ok is false when
	// there is none. Two owners never both hold a job's lease.
	AcquireBulkJob(ctx context.Context, owner string, ttl time.Duration) (j BulkJob, ok bool, err error)

	// RenewBulkLease extends owner's lease on the job by ttl from now; false
	// when owner no longer holds it (expired and taken, released, or the
	// job ended). An expired lease nobody took is renewed.
	RenewBulkLease(ctx context.Context, id, owner string, ttl time.Duration) (bool, error)

	// ReleaseBulkLease gives the lease up (a worker stopping cleanly, once
	// its sends in flight have ended): a recipient it leaves sending
	// becomes unknown. Releasing a lease owner does not hold changes
	// nothing.
	ReleaseBulkLease(ctx context.Context, id, owner string) error

	// RecoverBulkJob marks every recipient of the job still sending as
	// unknown ("the server stopped while this send was in flight") and
	// returns how many. A new lease holder runs it before sending; an
	// owner that does not hold the running job gets ErrJobNotHeld.
	RecoverBulkJob(ctx context.Context, id, owner string) (int, error)

	// PendingBulkRecipients returns up to limit pending recipients of the
	// job, in Seq order (limit <= 0: 100; at most 1000).
	PendingBulkRecipients(ctx context.Context, id string, limit int) ([]BulkRecipient, error)

	// BeginBulkSend moves recipient seq from pending to sending and counts
	// the attempt, only while owner holds an unexpired lease on the job and
	// it is running; false means do not send (lease lost, job cancelled, or
	// the recipient is not pending).
	BeginBulkSend(ctx context.Context, id, owner string, seq int) (bool, error)

	// EndBulkSend records the outcome of recipient seq's send: state is
	// RecipientSent (messageID set), RecipientFailed, RecipientUnknown, or
	// RecipientPending when Meta said the request was not processed and it
	// may be tried again (in a job no longer running it becomes cancelled,
	// or failed if the job is done, instead: nothing more is sent). It
	// needs no lease: the outcome of a send begun under one is recorded
	// even after the lease or the job ended. A recipient marked unknown
	// while its send was in flight (RecoverBulkJob, a cancel, a finish)
	// takes the outcome; a recipient neither sending nor unknown fails.
	EndBulkSend(ctx context.Context, id string, seq int, state, messageID, errText string, code int) error

	// FinishBulkJob ends a running job held by owner: JobDone (refused
	// while a recipient is pending), or JobCancelled (its pending
	// recipients become cancelled). A recipient still sending becomes
	// unknown. The lease is released. An owner that does not hold the
	// running job (lease taken or released, job cancelled) gets
	// ErrJobNotHeld.
	FinishBulkJob(ctx context.Context, id, owner, state string) error

	// CancelBulkJob cancels a running job whoever holds it: its pending
	// recipients become cancelled at once and its worker's next
	// BeginBulkSend fails. A recipient sending stays so while a worker
	// holds a live lease (its EndBulkSend records the outcome; the lease
	// is left to run out or be released), and becomes unknown when none
	// does. ok is false when the job is unknown or already ended.
	CancelBulkJob(ctx context.Context, id string) (ok bool, err error)

	// GetBulkJob returns the job with its Counts (states with no
	// recipient are absent); ok is false when unknown.
	GetBulkJob(ctx context.Context, id string) (j BulkJob, ok bool, err error)

	// BulkRecipients returns up to limit recipients with Seq > after, in
	// Seq order (after -1: from the first; limit as PendingBulkRecipients).
	BulkRecipients(ctx context.Context, id string, after, limit int) ([]BulkRecipient, error)

	// BulkDeliveries counts the job's sent messages by their latest
	// delivery status from the status webhooks (StatusRank decides which
	// is latest): e.g. {"sent": 3, "delivered": 990, "read": 5, "failed":
	// 2}; a sent message with no status yet counts as "accepted".
	BulkDeliveries(ctx context.Context, id string) (map[string]int, error)
}

// Errors of the Jobs methods, for errors.Is.
var (
	// ErrJobExists: CreateBulkJob of an id already stored.
	ErrJobExists = errors.New("store: bulk job exists")
	// ErrJobNotHeld: RecoverBulkJob or FinishBulkJob by an owner that does
	// not hold the running job's lease (it expired and was taken, was
	// released, or the job ended, e.g. cancelled).
	ErrJobNotHeld = errors.New("store: bulk job not held by this owner")
)
