package tools

import (
	"context"
	"io"
	"sync"
)

// ProgressFunc receives the progress of a tool call's long operation (an
// upload, a download): done of total bytes, total 0 when unknown. The
// surface that asked for progress turns it into its protocol's message
// (MCP: notifications/progress); it must not block.
type ProgressFunc func(done, total int64)

// progressStep is the least progress worth a report: operations of at most
// this size report nothing, larger ones every progressStep or tenth of the
// total, whichever is larger (about ten reports for a large file).
const progressStep = 1 << 20

type progressKey struct{}

type progress struct {
	mu   sync.Mutex
	f    ProgressFunc
	last int64 // done of the last report
}

// WithProgress returns ctx whose tool call reports its progress to f. The
// reports are rate-limited (see progressStep), the last one is done ==
// total, and they never go backwards: a retried upload starts again from
// 0, and is reported again once it passes what was already reported.
func WithProgress(ctx context.Context, f ProgressFunc) context.Context {
	return context.WithValue(ctx, progressKey{}, &progress{f: f})
}

// Progress reports that the operation of the tool call running in ctx has
// done done of total bytes (total 0: unknown). It is a no-op unless the
// surface asked for progress (WithProgress), so handlers call it freely.
func Progress(ctx context.Context, done, total int64) {
	p, ok := ctx.Value(progressKey{}).(*progress)
	if !ok || (total > 0 && total <= progressStep) {
		return
	}
	step := max(int64(progressStep), total/10)
	p.mu.Lock()
	defer p.mu.Unlock() // f runs under the lock: reports stay in order
	if done <= p.last || (done-p.last < step && done != total) {
		return
	}
	p.last = done
	p.f(done, total)
}

// ProgressReader returns r, reporting the bytes read from it as the
// progress of ctx's tool call towards total (see Progress).
func ProgressReader(ctx context.Context, r io.Reader, total int64) io.Reader {
	if _, ok := ctx.Value(progressKey{}).(*progress); !ok {
		return r
	}
	return &progressReader{r: r, progressCount: progressCount{ctx: ctx, total: total}}
}

type progressReader struct {
	r io.Reader
	progressCount
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.add(n)
	return n, err
}

// ProgressWriter returns w, reporting the bytes written to it as the
// progress of ctx's tool call towards total (see Progress).
func ProgressWriter(ctx context.Context, w io.Writer, total int64) io.Writer {
	if _, ok := ctx.Value(progressKey{}).(*progress); !ok {
		return w
	}
	return &progressWriter{w: w, progressCount: progressCount{ctx: ctx, total: total}}
}

type progressWriter struct {
	w io.Writer
	progressCount
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.add(n)
	return n, err
}

// progressCount is what ProgressReader and ProgressWriter share: the bytes
// moved so far, reported as ctx's progress towards total.
type progressCount struct {
	ctx   context.Context
	total int64
	done  int64
}

func (p *progressCount) add(n int) {
	if n > 0 {
		p.done += int64(n)
		Progress(p.ctx, p.done, p.total)
	}
}

// ProgressCount reports that the operation of the tool call running in ctx
// has done done of total items (the recipients of a bulk send; total 0:
// unknown). Reports are rate-limited by count, not time, so a slow run
// reports as often as a fast one: one every hundredth of total (at most
// about 100 reports; every item when total is under 100 or unknown), the
// last one is done == total, and they never go backwards (items finishing
// out of order report the highest count seen). A no-op unless the surface
// asked for progress (WithProgress).
func ProgressCount(ctx context.Context, done, total int64) {
	p, ok := ctx.Value(progressKey{}).(*progress)
	if !ok {
		return
	}
	step := max(1, total/100)
	p.mu.Lock()
	defer p.mu.Unlock()
	if done <= p.last || (done-p.last < step && done != total) {
		return
	}
	p.last = done
	p.f(done, total)
}
