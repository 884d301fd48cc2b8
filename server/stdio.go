package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// ServeStdio serves MCP over in/out (newline-delimited JSON-RPC) until in
// ends or ctx is cancelled. out carries only protocol messages; logs go to
// the Logger. It is one MCP session (id "stdio"), so only one ServeStdio
// of a Server may run at a time.
//
// At the end of input, requests already read are answered before it
// returns, so `printf '...' | whatsapp-mcp stdio` does not turn into
// cancelled sends of unknown outcome. Cancelling ctx (SIGTERM) is a
// graceful shutdown too: requests read from then on are dropped, the tool
// calls in flight run on and are answered, for up to
// Options.ShutdownTimeout, then it returns.
//
// The loop is ours, not mcp-go's StdioServer: that one parses every line
// six times before dispatching it (as a possible answer to a sampling,
// elicitation or roots request, which this server never sends) and hands
// each line to a goroutine of its own to read it. Here a line is read once
// to route it (id, method, and a tool call's name and arguments, which are
// kept from mcp-go: see setAside), tool calls run on workers that outlive
// them, and mcp-go's HandleMessage does the rest.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	// The calls' contexts derive from lctx, not ctx: it outlives ctx until
	// the calls in flight are answered.
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	sess := &stdioSession{notifications: make(chan mcp.JSONRPCNotification, 100)}
	if err := s.mcp.RegisterSession(lctx, sess); err != nil {
		return fmt.Errorf("server: stdio session: %w", err)
	}
	defer s.mcp.UnregisterSession(lctx, sess.SessionID())
	w := &stdioWriter{out: out, log: s.log, notes: sess.notifications, lines: make(chan *[]byte, maxStdioCalls),
		stop: make(chan struct{}), done: make(chan struct{})}
	c := &stdioConn{srv: s, ctx: s.mcp.WithContext(lctx, sess), w: w, jobs: make(chan stdioJob)}
	c.calls.idle = make(chan struct{}, 1)
	c.others.idle = make(chan struct{}, 1)
	go w.run()
	// What was answered is written before ServeStdio returns (unless the
	// client stopped reading), and nothing after.
	defer w.close(stdioCancelGrace)

	read := make(chan error, 1)
	go func() { read <- c.read(in) }()
	shutdown := func() {
		c.stopped.Store(true)
		if !c.calls.wait(context.Background(), s.opts.ShutdownTimeout) {
			s.log.Warn("shutdown: tool calls still running after the shutdown timeout are cancelled", "timeout", s.opts.ShutdownTimeout)
		}
	}
	select {
	case err := <-read:
		if err != nil {
			c.stopped.Store(true)
			s.log.Error("stdio: reading the input failed", "error", err)
			return err
		}
		// Drain: wait for the answers to what was read, bounded by the
		// longest a call may take, unless ctx ends first (SIGTERM).
		if !c.calls.wait(ctx, s.opts.CallTimeout+5*time.Second) && ctx.Err() != nil {
			shutdown()
		}
	case <-ctx.Done():
		shutdown()
	}
	c.stopped.Store(true)
	stop()
	// What was cancelled (a call past the shutdown timeout, a request such
	// as subscriptions/listen that never ends on its own) gets a moment to
	// return before its session goes.
	c.calls.wait(context.Background(), stdioCancelGrace)
	c.others.wait(context.Background(), stdioCancelGrace)
	return nil
}

const (
	// maxStdioCalls bounds the tool calls of a stdio session running at
	// once; reading waits for a worker (the client's writes then block).
	maxStdioCalls = 64
	// stdioWorkerIdle is how long an idle worker waits for the next call.
	stdioWorkerIdle = 30 * time.Second
	// stdioCancelGrace is how long cancelled requests get to return.
	stdioCancelGrace = time.Second
)

// stdioConn is one ServeStdio: the session's context, the output, and the
// requests in flight.
type stdioConn struct {
	srv *Server
	ctx context.Context // the session's, cancelled when ServeStdio ends
	w   *stdioWriter
	// jobs hands tool calls to idle workers; workers counts them.
	jobs    chan stdioJob
	workers atomic.Int32
	// calls are the tools/call requests read and not yet answered: what the
	// end of input and a shutdown wait for. others are the other requests
	// (initialize, tools/list, subscriptions/listen …).
	calls, others inflight
	// stopped: drop whatever is read from now on.
	stopped atomic.Bool
}

// read reads in line by line and dispatches each message, until the end of
// input (nil) or a read error. A line over the cap of what it calls is
// answered with an error and not kept (readLine).
func (c *stdioConn) read(in io.Reader) error {
	r := bufio.NewReaderSize(in, peekBytes)
	for {
		line, refused, err := c.readLine(r)
		switch {
		case c.stopped.Load():
		case refused != nil:
			c.refuseLine(line, refused)
		case len(line) > 0:
			c.dispatch(line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine reads one line with its newline, within the caps mcpBodies puts
// on an HTTP body: past the default cap, a line must be a tools/call of a
// tool with a larger cap, named in its first peekBytes (a line that does
// not say may run to the largest cap); no line may pass the largest cap. A
// line refused is read to its end without being held: line is then its
// first bytes (for its id), refused why. A line within its cap is copied
// once, as bufio.Reader.ReadBytes does.
func (c *stdioConn) readLine(r *bufio.Reader) (line []byte, refused *bodyError, err error) {
	frag, err := r.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return append([]byte(nil), frag...), nil, err
	}
	small := DefaultMaxInputBytes + envelopeBytes
	limit := small
	first := append([]byte(nil), frag...) // bufio's buffer: exactly peekBytes
	parts, n := [][]byte{first}, int64(len(first))
	for err == bufio.ErrBufferFull {
		frag, err = r.ReadSlice('\n')
		n += int64(len(frag))
		if refused != nil {
			continue // read on to the end of the line, keeping nothing
		}
		if n > limit && limit == small {
			limit = c.srv.largestInput() + envelopeBytes
			if method, name, known := peekCall(first); known {
				if refused = c.srv.largeCall(method, name, -1); refused == nil {
					limit = inputCap(c.srv.byName[name]) + envelopeBytes
				}
			}
		}
		if refused == nil && n > limit {
			refused = tooLarge(limit, "any MCP message")
		}
		if refused != nil {
			parts = nil
			continue
		}
		parts = append(parts, append([]byte(nil), frag...))
	}
	if refused != nil {
		return first, refused, err
	}
	return bytes.Join(parts, nil), nil, err
}

// refuseLine answers a line refused for its size with a JSON-RPC error,
// with the message's id when its first bytes give it.
func (c *stdioConn) refuseLine(prefix []byte, e *bodyError) {
	msg := strings.Replace(e.msg, "the request body", "the message", 1)
	b, _ := json.Marshal(struct {
		JSONRPC string                  `json:"jsonrpc"`
		ID      json.RawMessage         `json:"id"`
		Error   mcp.JSONRPCErrorDetails `json:"error"`
	}{mcp.JSONRPC_VERSION, peekID(prefix), mcp.JSONRPCErrorDetails{Code: mcp.INVALID_REQUEST, Message: msg}})
	c.w.sendRaw(b)
}

// peekID reads the id of a JSON-RPC message from its first bytes, when it
// comes before anything long, as every SDK writes it; else null.
func peekID(prefix []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return json.RawMessage("null")
	}
	for dec.More() {
		tok, err := dec.Token()
		key, isKey := tok.(string)
		var v json.RawMessage
		if err != nil || !isKey || dec.Decode(&v) != nil {
			break
		}
		if key == "id" && len(v) > 0 && (v[0] == '"' || v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) {
			return v
		}
	}
	return json.RawMessage("null")
}

// dispatch routes one message: a request runs on a goroutine of its own (a
// tool call on a worker); initialize and notifications (no id) run here, in
// the order they were sent (notifications/initialized,
// notifications/cancelled).
func (c *stdioConn) dispatch(line []byte) {
	msg := bytes.TrimSpace(line)
	if len(msg) == 0 {
		return // a blank line is no message
	}
	var head struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Name      string `json:"name"`
			Arguments rawRef `json:"arguments"`
		} `json:"params"`
	}
	// A field of the wrong type (params that is no object, a numeric
	// method) leaves it unset and the others read: HandleMessage answers
	// what it makes of the message.
	err := json.Unmarshal(msg, &head)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		c.w.sendRaw([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`))
		return
	}
	if len(head.ID) == 0 || string(head.ID) == "null" {
		c.answer(c.ctx, nil, msg) // a notification
		return
	}
	id := head.ID
	if head.Method == string(mcp.MethodInitialize) {
		// Here too, before the requests that follow: a client that sends
		// them without waiting for the answer (a shell pipe) still gets a
		// session initialized for them (its notifications, progress).
		c.answer(c.ctx, id, msg)
		return
	}
	if head.Method == string(mcp.MethodToolsCall) {
		j := stdioJob{ctx: c.ctx, id: id, msg: msg}
		if err == nil {
			j = c.setAside(j, head.Params.Name, head.Params.Arguments)
		}
		c.calls.add()
		c.runCall(j)
		return
	}
	ctx := c.ctx
	if needsRPCFix(head.Method) {
		ctx, _ = withRPCFix(ctx)
	}
	c.others.add()
	go func() {
		defer c.others.done()
		c.answer(ctx, id, msg)
	}()
}

// setAside keeps the arguments of a tool call from mcp-go, as mcpBodies
// does over HTTP: mcp-go reads a message five times over
// (and its arguments into a map, which nothing reads) before the handler
// decodes the arguments itself, so it gets "arguments":{} and the handler
// the arguments, a slice of the line read.
func (c *stdioConn) setAside(j stdioJob, name string, args []byte) stdioJob {
	if name == "" {
		return j
	}
	rest, ok := cutArguments(j.msg, args)
	if !ok {
		return j
	}
	j.ctx = context.WithValue(j.ctx, argumentsKey{}, &setAside{name: name, args: json.RawMessage(args)})
	j.msg = rest
	return j
}

// stdioJob is a tool call for a worker.
type stdioJob struct {
	ctx context.Context
	id  json.RawMessage
	msg []byte
}

// runCall hands a tool call to an idle worker, or to a new one while there
// are fewer than maxStdioCalls, or else waits for one to be free. Workers
// outlive their calls: a goroutine's stack grows to what HandleMessage
// needs (about 32 KiB) on its first call, and copying it there on every
// call would cost more than a call's JSON.
func (c *stdioConn) runCall(j stdioJob) {
	select {
	case c.jobs <- j:
		return
	default:
	}
	if c.workers.Add(1) <= maxStdioCalls {
		go c.work(j)
		return
	}
	c.workers.Add(-1)
	select {
	case c.jobs <- j:
	case <-c.ctx.Done():
		c.calls.done()
	}
}

// work answers j, then the calls handed to it, until it has been idle for
// stdioWorkerIdle or the session ends.
func (c *stdioConn) work(j stdioJob) {
	defer c.workers.Add(-1)
	idle := time.NewTimer(stdioWorkerIdle)
	defer idle.Stop()
	for {
		c.answer(j.ctx, j.id, j.msg)
		c.calls.done()
		idle.Reset(stdioWorkerIdle)
		select {
		case j = <-c.jobs:
		case <-idle.C:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// answer runs one message through mcp-go and writes its answer, if any. A
// panic inside mcp-go becomes an internal error answering the request (a
// tool's own panic is already an envelope: see Server.call).
func (c *stdioConn) answer(ctx context.Context, id json.RawMessage, msg []byte) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.log.Error("stdio: panic while handling a message", "panic", fmt.Sprint(p))
			if id != nil {
				b, _ := json.Marshal(struct {
					JSONRPC string                  `json:"jsonrpc"`
					ID      json.RawMessage         `json:"id"`
					Error   mcp.JSONRPCErrorDetails `json:"error"`
				}{mcp.JSONRPC_VERSION, id, mcp.JSONRPCErrorDetails{Code: mcp.INTERNAL_ERROR, Message: fmt.Sprintf("internal panic: %v", p)}})
				c.w.sendRaw(b)
			}
		}
	}()
	if resp := c.srv.mcp.HandleMessage(ctx, msg); resp != nil {
		if f := rpcFixOf(ctx); f != nil {
			resp = f.apply(resp)
		}
		c.w.send(resp)
	}
}

// stdioWriter is the one goroutine writing the output: answers, which the
// goroutines that handled them encode, and the session's notifications
// (progress, tools/list_changed). The notifications a call sent are written
// before its answer: the writer takes the ones waiting before each answer,
// and it alone takes them.
type stdioWriter struct {
	out   io.Writer
	log   *slog.Logger
	notes <-chan mcp.JSONRPCNotification
	lines chan *[]byte  // encoded answers, each with its newline
	stop  chan struct{} // closed: write what is queued, then return
	done  chan struct{} // closed when run has returned
}

var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// encode appends msg and its newline to a pooled buffer: a tool answer
// directly (see appendToolAnswer), anything else with json.Marshal.
func (w *stdioWriter) encode(msg any) *[]byte {
	bp := answerBuffers.Get().(*[]byte)
	b, ok := appendToolAnswer((*bp)[:0], msg)
	if !ok {
		enc, err := json.Marshal(msg)
		if err != nil {
			w.log.Error("stdio: cannot encode a message", "error", err)
			answerBuffers.Put(bp)
			return nil
		}
		b = append(b, enc...)
	}
	*bp = append(b, '\n')
	return bp
}

// send queues the answer msg; it is dropped once the writer has stopped.
func (w *stdioWriter) send(msg any) {
	if bp := w.encode(msg); bp != nil {
		w.queue(bp)
	}
}

// sendRaw queues b, a complete JSON message.
func (w *stdioWriter) sendRaw(b []byte) {
	b = append(b[:len(b):len(b)], '\n')
	w.queue(&b)
}

func (w *stdioWriter) queue(bp *[]byte) {
	select {
	case w.lines <- bp:
	case <-w.stop:
	}
}

func (w *stdioWriter) run() {
	defer close(w.done)
	for {
		select {
		case n := <-w.notes:
			if bp := w.encode(n); bp != nil {
				w.write(bp)
			}
		case bp := <-w.lines:
			w.notesFirst()
			w.write(bp)
		case <-w.stop:
			for {
				select {
				case bp := <-w.lines:
					w.notesFirst()
					w.write(bp)
				default:
					return
				}
			}
		}
	}
}

// notesFirst writes the notifications waiting, sent before the answer
// about to be written.
func (w *stdioWriter) notesFirst() {
	for {
		select {
		case n := <-w.notes:
			if bp := w.encode(n); bp != nil {
				w.write(bp)
			}
		default:
			return
		}
	}
}

// write writes one message with one Write, and recycles its buffer.
func (w *stdioWriter) write(bp *[]byte) {
	_, _ = w.out.Write(*bp)
	if cap(*bp) <= 64<<10 {
		answerBuffers.Put(bp)
	}
}

// close stops the writer once it has written what is queued, waiting for
// that at most max (a client that stopped reading blocks it).
func (w *stdioWriter) close(max time.Duration) {
	close(w.stop)
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
	}
}

// appendToolAnswer appends the JSON-RPC answer of a tools/call whose result
// is one of our envelopes (the envelope as text and as structuredContent)
// and reports true; for any other message it appends nothing and reports
// false. The bytes are those json.Marshal writes for the message (keys in
// the same order), without its work: mcp-go's CallToolResult marshals
// through a map, and encoding/json compacts each nested Marshaler's output
// again, so the envelope would be scanned three times more.
func appendToolAnswer(b []byte, msg any) ([]byte, bool) {
	resp, ok := msg.(mcp.JSONRPCResponse)
	if !ok {
		return b, false
	}
	res, ok := resp.Result.(*mcp.CallToolResult)
	if !ok || res == nil || res.Meta != nil || res.ResultType != "" || len(res.InputRequests) > 0 || res.RequestState != "" ||
		len(res.RawStructuredContent) > 0 || len(res.Content) != 1 {
		return b, false
	}
	text, ok := res.Content[0].(mcp.TextContent)
	if !ok || text.Meta != nil || text.Annotations != nil || text.Type != mcp.ContentTypeText {
		return b, false
	}
	structured, ok := res.StructuredContent.(json.RawMessage)
	// Our envelope (see envelope) is the same bytes twice, written by
	// json.Marshal (compact, valid, HTML characters escaped): they can be
	// copied as they are.
	if !ok || string(structured) != text.Text || !bytes.HasPrefix(structured, []byte(`{"successful":`)) {
		return b, false
	}
	id, err := json.Marshal(resp.ID)
	if err != nil {
		return b, false
	}
	b = append(b, `{"jsonrpc":`...)
	b = appendJSONString(b, resp.JSONRPC)
	b = append(b, `,"id":`...)
	b = append(b, id...)
	b = append(b, `,"result":{"content":[{"type":"text","text":`...)
	b = appendJSONString(b, text.Text)
	b = append(b, `}]`...)
	if res.IsError {
		b = append(b, `,"isError":true`...)
	}
	b = append(b, `,"structuredContent":`...)
	b = append(b, structured...)
	return append(b, `}}`...), true
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			// U+2028 and U+2029, which encoding/json escapes for
			// JavaScript; other UTF-8 passes (json.Marshal made it valid).
			if c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2]&^1 == 0xa8 {
				b = append(b, s[start:i]...)
				b = append(b, `\u202`...)
				b = append(b, hex[s[i+2]&0xf])
				i += 3
				start = i
				continue
			}
			i++
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// inflight counts requests in flight and lets a waiter know when none is.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // signalled when n drops to 0
}

func (f *inflight) add() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) done() {
	f.mu.Lock()
	f.n--
	empty := f.n == 0
	f.mu.Unlock()
	if empty {
		select {
		case f.idle <- struct{}{}:
		default:
		}
	}
}

func (f *inflight) none() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n == 0
}

// wait returns true once nothing is in flight, false when ctx ends or max
// passes first.
func (f *inflight) wait(ctx context.Context, max time.Duration) bool {
	timer := time.NewTimer(max)
	defer timer.Stop()
	for !f.none() {
		select {
		case <-f.idle:
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		}
	}
	return true
}

// stdioSession is the one MCP session of a ServeStdio: what mcp-go's own
// stdio session keeps (initialized, log level, client info and
// capabilities, protocol version) and its notifications.
type stdioSession struct {
	notifications chan mcp.JSONRPCNotification
	initialized   atomic.Bool
	logLevel      atomic.Value // mcp.LoggingLevel
	clientInfo    atomic.Value // mcp.Implementation
	clientCaps    atomic.Value // mcp.ClientCapabilities
	protocol      atomic.Value // string
}

var (
	_ mcpserver.SessionWithLogging         = (*stdioSession)(nil)
	_ mcpserver.SessionWithClientInfo      = (*stdioSession)(nil)
	_ mcpserver.SessionWithProtocolVersion = (*stdioSession)(nil)
)

func (s *stdioSession) SessionID() string { return "stdio" }

func (s *stdioSession) NotificationChannel() chan<- mcp.JSONRPCNotification {
	return s.notifications
}

func (s *stdioSession) Initialize() {
	s.logLevel.Store(mcp.LoggingLevelError)
	s.initialized.Store(true)
}

func (s *stdioSession) Initialized() bool { return s.initialized.Load() }

func (s *stdioSession) SetLogLevel(level mcp.LoggingLevel) { s.logLevel.Store(level) }

func (s *stdioSession) GetLogLevel() mcp.LoggingLevel {
	if l, ok := s.logLevel.Load().(mcp.LoggingLevel); ok {
		return l
	}
	return mcp.LoggingLevelError
}

func (s *stdioSession) GetClientInfo() mcp.Implementation {
	v, _ := s.clientInfo.Load().(mcp.Implementation)
	return v
}

func (s *stdioSession) SetClientInfo(v mcp.Implementation) { s.clientInfo.Store(v) }

func (s *stdioSession) GetClientCapabilities() mcp.ClientCapabilities {
	v, _ := s.clientCaps.Load().(mcp.ClientCapabilities)
	return v
}

func (s *stdioSession) SetClientCapabilities(v mcp.ClientCapabilities) { s.clientCaps.Store(v) }

func (s *stdioSession) ProtocolVersion() string {
	v, _ := s.protocol.Load().(string)
	return v
}

func (s *stdioSession) SetProtocolVersion(v string) { s.protocol.Store(v) }
