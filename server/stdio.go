package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// ServeStdio serves MCP over in/out (newline-delimited JSON-RPC) until in
// ends or ctx is cancelled. out carries only protocol messages; logs go to
// the Logger. mcp-go's Listen registers a process-wide stdio session, so
// only one ServeStdio may run at a time in a process.
//
// At the end of input, requests already read are answered before it
// returns: mcp-go alone cancels in-flight tool calls at EOF, which would
// turn `printf '...' | whatsapp-mcp stdio` into cancelled sends of unknown
// outcome. Cancelling ctx (SIGTERM) is a graceful shutdown too: requests
// read from then on are dropped, the tool calls in flight run on and are
// answered, for up to Options.ShutdownTimeout, then it returns.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	st := mcpserver.NewStdioServer(s.mcp)
	st.SetErrorLogger(slog.NewLogLogger(s.log.Handler(), slog.LevelError))

	// mcp-go derives the calls' contexts from Listen's: it must outlive ctx
	// until the calls in flight are answered.
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	tr := &pendingTracker{idle: make(chan struct{}, 1)}
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() {
		select {
		case <-ctx.Done():
		case <-lctx.Done():
			return
		}
		tr.stopReading()
		if !tr.wait(lctx, s.opts.ShutdownTimeout) {
			s.log.Warn("shutdown: tool calls still running after the shutdown timeout are cancelled", "timeout", s.opts.ShutdownTimeout)
		}
		stop()
	}()
	go func() {
		err := tr.copyRequests(pw, in)
		// Drain: wait for the answers to what was read, bounded by the
		// longest a call may take.
		if err == nil {
			tr.wait(lctx, s.opts.CallTimeout+5*time.Second)
		}
		pw.CloseWithError(err)
	}()

	err := st.Listen(lctx, pr, &responseCounter{w: out, tr: tr})
	if lctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return nil
	}
	return err
}

// pendingTracker tracks tools/call requests read and not yet answered. Only
// tool calls are waited for: they are what mcp-go cancels at EOF, while
// other requests either finish regardless or, like subscriptions/listen,
// never finish on their own.
type pendingTracker struct {
	mu      sync.Mutex
	pending map[string]bool // raw JSON ids
	idle    chan struct{}   // signalled when pending empties
	stopped bool            // shutting down: drop what is read from now on
}

// stopReading makes copyRequests drop every line it reads from now on.
func (t *pendingTracker) stopReading() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
}

func (t *pendingTracker) reading() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.stopped
}

func (t *pendingTracker) add(id string) {
	t.mu.Lock()
	if t.pending == nil {
		t.pending = map[string]bool{}
	}
	t.pending[id] = true
	t.mu.Unlock()
}

func (t *pendingTracker) answered(id string) {
	t.mu.Lock()
	delete(t.pending, id)
	empty := len(t.pending) == 0
	t.mu.Unlock()
	if empty {
		select {
		case t.idle <- struct{}{}:
		default:
		}
	}
}

func (t *pendingTracker) done() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending) == 0
}

// wait returns true once nothing is pending, false when ctx ends or max
// passes first.
func (t *pendingTracker) wait(ctx context.Context, max time.Duration) bool {
	timer := time.NewTimer(max)
	defer timer.Stop()
	for !t.done() {
		select {
		case <-t.idle:
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		}
	}
	return true
}

// copyRequests forwards in line by line, noting tool calls. It returns nil
// at EOF.
func (t *pendingTracker) copyRequests(w io.Writer, in io.Reader) error {
	r := bufio.NewReader(in)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && t.reading() {
			if id, method, ok := idAndMethod(line); ok && method == string(mcp.MethodToolsCall) {
				t.add(id)
			}
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// responseCounter passes protocol output through, noting answers. mcp-go
// writes each message with a single Write under its own lock.
type responseCounter struct {
	w  io.Writer
	tr *pendingTracker
}

func (c *responseCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if id, method, ok := idAndMethod(p); ok && method == "" {
		c.tr.answered(id)
	}
	return n, err
}

// idAndMethod reads a message's id (as raw JSON) and method; ok is false
// without an id (notifications, unparsable lines).
func idAndMethod(msg []byte) (id, method string, ok bool) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(msg, &m) != nil || len(m.ID) == 0 || string(m.ID) == "null" {
		return "", "", false
	}
	// Re-encode so that 2, 2.0 and " 2" name the same request as mcp-go's
	// answer does.
	var v any
	if json.Unmarshal(m.ID, &v) != nil {
		return "", "", false
	}
	b, _ := json.Marshal(v)
	return string(b), m.Method, true
}
