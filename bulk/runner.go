// Package bulk sends one approved template to many recipients
// (docs/cloud-api.md#bulk-sends): the two tools that start and read a bulk
// send, and the Runner that works the durable jobs they store, paced
// within Meta's throughput, never twice to one recipient, across restarts
// and replicas.
package bulk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// Defaults of the pace and the lease (docs/cloud-api.md#bulk-sends).
const (
	// DefaultRate is Meta's default throughput of a business number, in
	// messages per second; MaxRate is the highest tier's.
	DefaultRate = 80
	MaxRate     = 1000
	// DefaultLeaseTTL is how long a job stays with a worker that stopped
	// renewing its lease (a dead replica) before another takes it over.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultPoll is how often an idle worker looks for a job to take.
	DefaultPoll = time.Second
)

// Waits after Meta said a send was not processed, by code
// (docs/cloud-api.md#bulk-sends).
const (
	pairRateWait   = 6 * time.Second  // 131056: that recipient only
	throughputWait = time.Second      // 130429: everyone, and slow down
	accountWait    = 30 * time.Second // 4, 80007, 131057: everyone
	maxNetworkWait = 30 * time.Second // unreachable API, doubling from 1 s
)

// Config is what a Runner needs.
type Config struct {
	Jobs store.Jobs
	// Deps sends (its Graph client) and records what Meta accepted (its
	// Store), as the single sends do.
	Deps *actions.Deps
	// Owner names this worker in leases; OwnerID when empty. It must be
	// unique per process.
	Owner    string
	LeaseTTL time.Duration // DefaultLeaseTTL when 0
	Poll     time.Duration // DefaultPoll when 0
	Logger   *slog.Logger  // slog.Default() when nil
}

// Runner works the bulk jobs of the store, one at a time: one per server
// process. Any replica's Runner may take any job whose lease is free.
type Runner struct {
	cfg  Config
	wake chan struct{}
}

// NewRunner returns a Runner; Run starts it.
func NewRunner(cfg Config) *Runner {
	if cfg.Owner == "" {
		cfg.Owner = OwnerID()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Runner{cfg: cfg, wake: make(chan struct{}, 1)}
}

// OwnerID is a lease owner unique to this process: host, pid and random
// bytes (a pid is reused after a restart, a host name by replicas in
// containers).
func OwnerID() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Kick wakes the Runner to look for a job now (one was just stored).
func (r *Runner) Kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run works jobs until ctx ends. Sends in flight then finish and are
// recorded, and the lease is released, so another worker (or this one,
// restarted) resumes the job at once.
func (r *Runner) Run(ctx context.Context) {
	log := r.cfg.Logger
	var failing bool
	for ctx.Err() == nil {
		j, ok, err := r.cfg.Jobs.AcquireBulkJob(ctx, r.cfg.Owner, r.cfg.LeaseTTL)
		switch {
		case err != nil:
			if !failing && ctx.Err() == nil {
				log.Warn("bulk: cannot look for jobs in the store", "error", err)
			}
			failing = true
		case ok:
			failing = false
			if r.work(ctx, j) {
				continue // look for the next job at once
			}
		default:
			failing = false
		}
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-time.After(r.cfg.Poll):
		}
	}
}

// job is the state of one job while this worker holds its lease.
type job struct {
	r    *Runner
	j    store.BulkJob
	log  *slog.Logger
	stop context.CancelFunc // stops sending: lease lost, job cancelled, shutdown

	lim      *rate.Limiter
	inFlight sync.WaitGroup
	slots    chan struct{} // bounds the sends in flight

	mu         sync.Mutex
	notBefore  map[int]time.Time // 131056: a recipient's next try
	pauseUntil time.Time         // everyone's next try
	netWait    time.Duration     // the last pause for an unreachable API
	slowSince  time.Time         // when 130429 last slowed the pace
}

// work runs job j, whose lease it was just given, until it is done or the
// worker must stop. It reports whether the job ended normally.
func (r *Runner) work(ctx context.Context, j store.BulkJob) (finished bool) {
	log := r.cfg.Logger.With("job", j.ID)
	owner := r.cfg.Owner
	// The store is written with contexts that outlive ctx: a commit cut by
	// shutdown would leave us not knowing whether a recipient became
	// sending.
	bg := context.WithoutCancel(ctx)
	n, err := r.cfg.Jobs.RecoverBulkJob(bg, j.ID, owner)
	if err != nil {
		log.Warn("bulk: cannot recover the job", "error", err)
		return false
	}
	if n > 0 {
		log.Warn("bulk: recipients whose send was in flight when their worker stopped are unknown, never resent", "unknown", n)
	}
	log.Info("bulk: working the job", "recipients", j.Total, "pending", j.Counts[store.RecipientPending])
	jctx, stop := context.WithCancel(ctx)
	defer stop()
	perSec := j.RatePerSecond
	if perSec <= 0 || perSec > MaxRate {
		perSec = DefaultRate
	}
	w := &job{r: r, j: j, log: log, stop: stop, notBefore: map[int]time.Time{},
		lim: rate.NewLimiter(rate.Limit(perSec), burst(perSec)), slots: make(chan struct{}, inFlight(perSec))}
	w.j.RatePerSecond = perSec

	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		w.renew(jctx)
	}()
	finished = w.sendAll(jctx)
	w.inFlight.Wait()
	stop()
	<-renewed
	if finished {
		if err := r.cfg.Jobs.FinishBulkJob(bg, j.ID, owner, store.JobDone); errors.Is(err, store.ErrJobNotHeld) {
			log.Info("bulk: the job ended meanwhile (cancelled) or went to another worker")
			return true
		} else if err != nil {
			log.Warn("bulk: cannot finish the job", "error", err)
			return false
		}
		log.Info("bulk: job done", "recipients", j.Total)
		return true
	}
	if err := r.cfg.Jobs.ReleaseBulkLease(bg, j.ID, owner); err != nil {
		log.Debug("bulk: releasing the lease", "error", err)
	}
	return false
}

// burst lets the pace catch up after a slow store commit by at most a
// tenth of a second's sends.
func burst(perSec int) int { return max(1, perSec/10) }

// inFlight bounds the sends awaiting Meta's answer: enough for the pace
// with half a second of latency.
func inFlight(perSec int) int { return max(16, perSec/2) }

// renew extends the lease every third of its life and stops the job at
// once when it cannot: another worker may take it after it expires.
func (w *job) renew(ctx context.Context) {
	ttl := w.r.cfg.LeaseTTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := w.r.cfg.Jobs.RenewBulkLease(ctx, w.j.ID, w.r.cfg.Owner, ttl)
		if ctx.Err() != nil {
			return
		}
		if err != nil || !ok {
			w.log.Warn("bulk: lost the job's lease; stopping", "error", err)
			w.stop()
			return
		}
	}
}

// sendAll sends the job's pending recipients in Seq order until none is
// left (true), or until it must stop (false).
func (w *job) sendAll(ctx context.Context) bool {
	jobs := w.r.cfg.Jobs
	for {
		if ctx.Err() != nil {
			return false
		}
		// All of them: the first ones may all wait out a pair-rate hit.
		batch, err := jobs.PendingBulkRecipients(ctx, w.j.ID, MaxRecipients)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("bulk: cannot read the pending recipients; stopping", "error", err)
			}
			return false
		}
		if len(batch) == 0 {
			// A send in flight may come back pending (Meta did not
			// process it): the job is done once none can.
			w.inFlight.Wait()
			if more, err := jobs.PendingBulkRecipients(ctx, w.j.ID, 1); err != nil || len(more) > 0 {
				continue
			}
			return true
		}
		sent := 0
		for _, rc := range batch {
			if !w.waitTurn(ctx, rc.Seq) {
				continue
			}
			if ctx.Err() != nil {
				return false
			}
			if err := w.lim.Wait(ctx); err != nil {
				return false
			}
			select {
			case w.slots <- struct{}{}:
			case <-ctx.Done():
				return false
			}
			ok, err := jobs.BeginBulkSend(context.WithoutCancel(ctx), w.j.ID, w.r.cfg.Owner, rc.Seq)
			if err != nil || !ok {
				<-w.slots
				if err != nil {
					w.log.Warn("bulk: cannot mark a recipient sending; stopping", "error", err)
				} else {
					w.log.Info("bulk: the job was cancelled or its lease lost; stopping")
				}
				return false
			}
			sent++
			w.inFlight.Add(1)
			go func(rc store.BulkRecipient) {
				defer func() { <-w.slots; w.inFlight.Done() }()
				w.send(context.WithoutCancel(ctx), rc)
			}(rc)
		}
		if sent == 0 {
			// Every pending recipient waits out a pair-rate hit, or the
			// sends in flight may make some pending again.
			if !w.sleep(ctx, w.nextTurn()) {
				return false
			}
		}
	}
}

// waitTurn waits out a pause for everyone; false when recipient seq must
// wait longer (a pair-rate hit), to be tried on a later pass.
func (w *job) waitTurn(ctx context.Context, seq int) bool {
	w.mu.Lock()
	pause, nb := w.pauseUntil, w.notBefore[seq]
	if w.lim.Limit() < rate.Limit(w.j.RatePerSecond) && time.Since(w.slowSince) > 2*time.Second {
		// No 130429 for a while: back towards the job's pace.
		w.lim.SetLimit(min(rate.Limit(w.j.RatePerSecond), w.lim.Limit()*1.25))
		w.slowSince = time.Now()
	}
	w.mu.Unlock()
	if d := time.Until(pause); d > 0 && !w.sleep(ctx, d) {
		return false
	}
	return time.Now().After(nb)
}

// nextTurn is how long until a recipient waiting out a pair-rate hit may
// be tried, at most a poll interval (sends in flight end meanwhile).
func (w *job) nextTurn() time.Duration {
	d := w.r.cfg.Poll
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.notBefore {
		d = min(d, max(time.Until(t), 10*time.Millisecond))
	}
	return d
}

func (w *job) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// send makes the one request of recipient rc and records its outcome
// (docs/cloud-api.md#bulk-sends): the graph client has already retried
// what Meta said it did not process, as often as its policy allows.
func (w *job) send(ctx context.Context, rc store.BulkRecipient) {
	var m graph.Message
	out := outcome{state: store.RecipientFailed, text: "the stored request body cannot be read"}
	if err := json.Unmarshal(rc.Body, &m); err == nil {
		res, err := w.r.cfg.Deps.Send(ctx, actions.Recipient{ToNumber: rc.To, PhoneNumberID: w.j.PhoneNumberID}, &m)
		if err == nil {
			out = outcome{state: store.RecipientSent, messageID: res.MessageID}
		} else {
			out = w.classify(rc.Seq, err)
		}
	}
	w.end(ctx, rc.Seq, out)
}

// outcome is what EndBulkSend records.
type outcome struct {
	state, messageID, text string
	code                   int
}

// classify turns a failed send into its outcome, and slows down or pauses
// when Meta said to.
func (w *job) classify(seq int, err error) outcome {
	var ge *graph.Error
	var ne *graph.NetworkError
	var ue *graph.OutcomeUnknownError
	switch {
	case errors.As(err, &ge) && ge.Throttled():
		w.throttled(seq, ge.Code)
		return outcome{state: store.RecipientPending}
	case errors.As(err, &ue):
		return outcome{state: store.RecipientUnknown, text: "the request may have reached Meta but its answer was lost (" + shorten(ue.Err.Error()) + "); not resent, to avoid a duplicate"}
	case errors.As(err, &ne):
		w.unreachable()
		return outcome{state: store.RecipientPending}
	case errors.As(err, &ge) && ge.HTTPStatus >= 500:
		// Writes are not retried on a 5xx: Meta may have taken it.
		return outcome{state: store.RecipientUnknown, code: ge.Code, text: "Meta answered HTTP " + fmt.Sprint(ge.HTTPStatus) + ": " + shorten(errText(ge)) + "; not resent, to avoid a duplicate"}
	case errors.As(err, &ge):
		return outcome{state: store.RecipientFailed, code: ge.Code, text: shorten(errText(ge))}
	}
	return outcome{state: store.RecipientUnknown, text: shorten(err.Error()) + "; not resent, to avoid a duplicate"}
}

// errText is Meta's message with its details.
func errText(e *graph.Error) string {
	s := strings.TrimSpace(e.Message)
	if d := e.Details(); d != "" && !strings.Contains(s, d) {
		s += ": " + d
	}
	return s
}

func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// throttled applies Meta's word that a send was not processed
// (docs/cloud-api.md#bulk-sends).
func (w *job) throttled(seq, code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	switch code {
	case graph.CodePairRateLimit:
		w.notBefore[seq] = now.Add(pairRateWait)
	case graph.CodeThroughput:
		w.lim.SetLimit(max(1, w.lim.Limit()/2))
		w.slowSince = now
		w.pauseUntil = later(w.pauseUntil, now.Add(throughputWait))
	default:
		w.pauseUntil = later(w.pauseUntil, now.Add(accountWait))
	}
	w.log.Warn("bulk: Meta did not process a send (throttled); it will be tried again", "code", code)
}

// unreachable pauses everyone, longer each time the API stays unreachable.
func (w *job) unreachable() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.netWait = min(maxNetworkWait, max(time.Second, 2*w.netWait))
	w.pauseUntil = later(w.pauseUntil, time.Now().Add(w.netWait))
	w.log.Warn("bulk: the Graph API is unreachable; pausing", "for", w.netWait)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// end records an outcome, insisting for a while: a recipient left sending
// becomes unknown at the next recovery, never resent, but is then
// reported less exactly.
func (w *job) end(ctx context.Context, seq int, o outcome) {
	if o.state == store.RecipientSent {
		w.mu.Lock()
		w.netWait = 0
		delete(w.notBefore, seq)
		w.mu.Unlock()
	}
	var err error
	for i, wait := 0, 100*time.Millisecond; i < 6; i, wait = i+1, wait*2 {
		if err = w.r.cfg.Jobs.EndBulkSend(ctx, w.j.ID, seq, o.state, o.messageID, o.text, o.code); err == nil {
			return
		}
		time.Sleep(wait)
	}
	w.log.Warn("bulk: cannot record a send's outcome; the recipient will be reported unknown", "seq", seq, "state", o.state, "error", err)
}
