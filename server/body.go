package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/sync/semaphore"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// How request bodies are bounded. Every tool has an input cap: its
// declaration's MaxInputBytes (the upload tool: a 100 MB file as base64),
// or DefaultMaxInputBytes. A body over the cap of what it calls is refused
// with 413 before it is read (by Content-Length) or as soon as it passes
// the cap. A body over the default cap is held whole in memory while its
// call runs, so such bodies share a budget (Options.MaxBodyMemory): one that
// does not fit waits, unread, in arrival order, for up to the call timeout,
// then gets 503 with Retry-After. Smaller bodies never wait: a queued upload
// must not hold up tools/list.
//
// The bodies are read into one buffer of their final size, and the large
// tools/call messages of /mcp are taken apart here, so that mcp-go never
// sees (nor copies) their arguments: a tool's Base64 field then keeps its
// bytes in that buffer, and an upload peaks near one copy of its body.
const (
	// DefaultMaxInputBytes bounds the input of a tool that declares no
	// MaxInputBytes: far more than any ordinary tool's legal input.
	DefaultMaxInputBytes int64 = 1 << 20
	// envelopeBytes is the room a JSON-RPC message needs around a tool's
	// arguments (jsonrpc, id, method, params.name, _meta).
	envelopeBytes int64 = 64 << 10
	// DefaultMaxBodyMemory is the default budget of large bodies held at
	// once: two of the largest uploads (about 137 MB each), so that the
	// server, the garbage collector's headroom included, stays well inside
	// a 1 GB container.
	DefaultMaxBodyMemory int64 = 300 << 20
	// busyRetryAfter is the Retry-After of a 503, in seconds.
	busyRetryAfter = 5
)

// inputCap is the largest input t accepts.
func inputCap(t tools.Tool) int64 {
	if t.MaxInputBytes > 0 {
		return t.MaxInputBytes
	}
	return DefaultMaxInputBytes
}

// largestInput is the largest input cap of the enabled tools.
func (s *Server) largestInput() int64 {
	n := DefaultMaxInputBytes
	for _, t := range s.enabled {
		n = max(n, inputCap(t))
	}
	return n
}

// bodyLimiter is the budget of large bodies held at once.
type bodyLimiter struct {
	sem   *semaphore.Weighted
	total int64
	wait  time.Duration
}

func newBodyLimiter(total int64, wait time.Duration) *bodyLimiter {
	if total <= 0 {
		total = DefaultMaxBodyMemory
	}
	return &bodyLimiter{sem: semaphore.NewWeighted(total), total: total, wait: wait}
}

// admit holds n bytes of the budget for a body over the default cap (no-op
// for smaller ones), waiting up to l.wait. A body larger than the whole
// budget waits for all of it.
func (l *bodyLimiter) admit(ctx context.Context, n int64) (release func(), err *bodyError) {
	if n <= DefaultMaxInputBytes+envelopeBytes {
		return func() {}, nil
	}
	n = min(n, l.total)
	wctx, cancel := context.WithTimeout(ctx, l.wait)
	defer cancel()
	if l.sem.Acquire(wctx, n) != nil {
		return nil, &bodyError{status: http.StatusServiceUnavailable, retryAfter: busyRetryAfter,
			msg: fmt.Sprintf("the server is busy with other large requests (it holds at most %d bytes of them at once); nothing was done: send this request again in a few seconds", l.total)}
	}
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			// Collect the body before the next one is let in, so that it
			// reuses the memory: left to GOGC, the heap grows to twice the
			// bodies in flight before a collection, and the next body is
			// allocated before a collection in the background would end.
			// A collection costs milliseconds (a body is one object without
			// pointers); reading the body took longer.
			runtime.GC()
			l.sem.Release(n)
		}
	}, nil
}

// bodyError is a request refused for its body: what to answer.
type bodyError struct {
	status     int
	msg        string
	retryAfter int // seconds, for 503
}

func (e *bodyError) header(w http.ResponseWriter) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
}

func tooLarge(limit int64, what string) *bodyError {
	return &bodyError{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("the request body is larger than this server accepts for %s (%d bytes); nothing was done", what, limit)}
}

// readBody reads the body of r, at most limit bytes, into one buffer of its
// final size, after prefix (what was already read of it) when given.
func readBody(r *http.Request, prefix []byte, limit int64, what string) ([]byte, *bodyError) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit, what)
	}
	if r.ContentLength >= 0 {
		buf := make([]byte, r.ContentLength)
		n := copy(buf, prefix)
		if _, err := io.ReadFull(r.Body, buf[n:]); err != nil {
			return nil, &bodyError{status: http.StatusBadRequest, msg: "cannot read the request body: " + err.Error()}
		}
		return buf, nil
	}
	var buf bytes.Buffer
	buf.Write(prefix)
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1-int64(len(prefix)))); err != nil {
		return nil, &bodyError{status: http.StatusBadRequest, msg: "cannot read the request body: " + err.Error()}
	}
	if int64(buf.Len()) > limit {
		return nil, tooLarge(limit, what)
	}
	return buf.Bytes(), nil
}

// readToolBody reads the body of a call of t (REST execute), within t's
// input cap (and ceiling, when positive) and the budget of large bodies.
// release gives the body's share of the budget back once the call is done.
func (s *Server) readToolBody(r *http.Request, t tools.Tool, ceiling int64) (body []byte, release func(), err *bodyError) {
	limit := inputCap(t)
	if ceiling > 0 && ceiling < limit {
		limit = ceiling
	}
	what := t.Name
	if r.ContentLength > limit {
		return nil, nil, tooLarge(limit, what)
	}
	weight := r.ContentLength
	if weight < 0 {
		weight = limit
	}
	if release, err = s.bodies.admit(r.Context(), weight); err != nil {
		return nil, nil, err
	}
	if body, err = readBody(r, nil, limit, what); err != nil {
		release()
		return nil, nil, err
	}
	return body, release, nil
}

// mcpBodies bounds the POST bodies of /mcp. A message within the default
// cap goes to mcp-go as it is, but for a tools/call's arguments, which are
// set aside for the tool handler. A larger one can only be a tools/call of a
// tool with large inputs: anything else is refused with 413 after reading
// its first peekBytes (where every SDK writes the method and tool name); the
// call's body is then read whole within the budget of large bodies, its
// arguments are set aside for the tool handler (takeArguments), and mcp-go
// gets the message with "arguments":{}, so that it handles the protocol
// (session, headers, SSE, progress) without copying the file.
func (s *Server) mcpBodies(next http.Handler) http.Handler {
	small := DefaultMaxInputBytes + envelopeBytes
	large := s.largestInput() + envelopeBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		refuse := func(e *bodyError) {
			e.header(w)
			writeJSON(w, e.status, map[string]string{"error": e.msg})
		}
		pass := func(body []byte) {
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			next.ServeHTTP(w, r)
		}
		if r.ContentLength > large {
			refuse(tooLarge(large, "any MCP message"))
			return
		}
		if r.ContentLength >= 0 && r.ContentLength <= small {
			body, e := readBody(r, nil, small, "an MCP message")
			if e != nil {
				refuse(e)
				return
			}
			// A tool call's arguments are set aside too: mcp-go would read
			// them five times over (and into a map nothing reads) before
			// the handler decodes them.
			method, name, args, rest, err := splitCall(body)
			switch {
			case err == nil && method == string(mcp.MethodToolsCall) && name != "" && len(args) > 0:
				r = r.WithContext(context.WithValue(r.Context(), argumentsKey{}, &setAside{name: name, args: args}))
				body = rest
			case err == nil && needsRPCFix(method):
				ctx, fix := withRPCFix(r.Context())
				r, w = r.WithContext(ctx), &fixWriter{ResponseWriter: w, fix: fix}
			}
			pass(body)
			return
		}
		prefix, err := io.ReadAll(io.LimitReader(r.Body, peekBytes))
		if err != nil {
			refuse(&bodyError{status: http.StatusBadRequest, msg: "cannot read the request body: " + err.Error()})
			return
		}
		if len(prefix) < peekBytes {
			pass(prefix) // all of it (an unknown length)
			return
		}
		method, name, known := peekCall(prefix)
		if known {
			if e := s.largeCall(method, name, r.ContentLength); e != nil {
				if r.ContentLength >= 0 {
					refuse(e)
					return
				}
				// Of unknown length, it may still be within the default cap.
				body, e := readBody(r, prefix, small, "an MCP message other than tools/call of a tool that takes files")
				if e != nil {
					refuse(e)
					return
				}
				pass(body)
				return
			}
		}
		weight := r.ContentLength
		if weight < 0 {
			weight = large
		}
		release, e := s.bodies.admit(r.Context(), weight)
		if e != nil {
			refuse(e)
			return
		}
		defer release()
		body, e := readBody(r, prefix, large, "any MCP message")
		if e != nil {
			refuse(e)
			return
		}
		prefix = nil
		if int64(len(body)) <= small {
			pass(body)
			return
		}
		method, name, args, rest, perr := splitCall(body)
		if errors.Is(perr, errNotSlice) {
			// Not this encoding/json: mcp-go reads the message, copies and all.
			pass(body)
			return
		}
		if perr != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": nil,
				"error": map[string]any{"code": mcp.PARSE_ERROR, "message": "request body is not valid json"}})
			return
		}
		if e := s.largeCall(method, name, int64(len(body))); e != nil {
			refuse(e)
			return
		}
		if t := s.byName[name]; int64(len(args)) > inputCap(t) || int64(len(rest)) > envelopeBytes {
			refuse(tooLarge(inputCap(t), name))
			return
		}
		aside := &setAside{name: name, args: args}
		r = r.WithContext(context.WithValue(r.Context(), argumentsKey{}, aside))
		pass(rest)
		aside.args = nil // whatever still holds the context, not the body
	})
}

// peekBytes is how much of a large /mcp message is read before deciding
// whether it may be that large, and what a request waiting for room in the
// budget holds.
const peekBytes = 64 << 10

// largeCall refuses a message of size bytes (-1: unknown) over the default
// cap unless it is a tools/call of an enabled tool whose input cap leaves
// room for it.
func (s *Server) largeCall(method, name string, size int64) *bodyError {
	small := DefaultMaxInputBytes + envelopeBytes
	if method != string(mcp.MethodToolsCall) {
		return tooLarge(small, "an MCP message other than tools/call of a tool that takes files")
	}
	t, ok := s.byName[name]
	if !ok || size > inputCap(t)+envelopeBytes || inputCap(t) <= DefaultMaxInputBytes {
		return tooLarge(small, "tools/call of "+strconv.Quote(name))
	}
	return nil
}

// peekCall reads the method and, of a tools/call, params.name from the
// start of a JSON-RPC message cut short; ok only when they come before
// anything long, as every SDK writes them (name before arguments).
func peekCall(prefix []byte) (method, name string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	str := func() (string, bool) {
		tok, err := dec.Token()
		s, isStr := tok.(string)
		return s, err == nil && isStr
	}
	skip := func() bool {
		var v json.RawMessage
		return dec.Decode(&v) == nil
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", "", false
	}
	gotMethod, gotName := false, false
	done := func() bool { return gotMethod && (gotName || method != string(mcp.MethodToolsCall)) }
	for dec.More() && !done() {
		key, isKey := str()
		switch {
		case !isKey:
			return "", "", false
		case strings.EqualFold(key, "method"):
			if method, gotMethod = str(); !gotMethod {
				return "", "", false
			}
		case strings.EqualFold(key, "params"):
			if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
				return "", "", false
			}
			for dec.More() {
				k, isKey := str()
				if !isKey {
					return "", "", false
				}
				if !strings.EqualFold(k, "name") {
					if !skip() {
						return "", "", false
					}
					continue
				}
				if name, gotName = str(); !gotName {
					return "", "", false
				}
				if done() {
					return method, name, true
				}
			}
			if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
				return "", "", false
			}
		default:
			if !skip() {
				return "", "", false
			}
		}
	}
	return method, name, done()
}

// rawRef keeps a JSON value as a slice of the input (json.Unmarshal hands
// Unmarshalers slices of it), without copying it.
type rawRef []byte

func (r *rawRef) UnmarshalJSON(b []byte) error { *r = b; return nil }

var errNotSlice = errors.New("server: the arguments are not a slice of the message")

// splitCall reads a JSON-RPC message, as mcp-go reads it, for its method,
// params.name and params.arguments (a slice of body), and returns body with
// the arguments replaced by {} (rest).
func splitCall(body []byte) (method, name string, args, rest []byte, err error) {
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Name      string `json:"name"`
			Arguments rawRef `json:"arguments"`
		} `json:"params"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return "", "", nil, nil, err
	}
	args = msg.Params.Arguments
	if len(args) == 0 {
		return msg.Method, msg.Params.Name, nil, body, nil
	}
	rest, ok := cutArguments(body, args)
	if !ok {
		return "", "", nil, nil, errNotSlice
	}
	return msg.Method, msg.Params.Name, args, rest, nil
}

// cutArguments returns a copy of body with args, a slice of it, replaced by
// {}; false when args is not a slice of body.
func cutArguments(body, args []byte) ([]byte, bool) {
	start := cap(body) - cap(args)
	if len(args) == 0 || start < 0 || start+len(args) > len(body) || &body[start] != &args[0] {
		return nil, false
	}
	rest := make([]byte, 0, len(body)-len(args)+2)
	return append(append(append(rest, body[:start]...), "{}"...), body[start+len(args):]...), true
}

type argumentsKey struct{}

// setAside is the arguments of a tools/call, kept from mcp-go.
type setAside struct {
	name  string
	args  json.RawMessage
	taken atomic.Bool
}

// takeArguments returns the arguments set aside (mcpBodies, stdio) for this
// call of tool name, once.
func takeArguments(ctx context.Context, name string) (json.RawMessage, bool) {
	a, ok := ctx.Value(argumentsKey{}).(*setAside)
	if !ok || a.name != name || !a.taken.CompareAndSwap(false, true) {
		return nil, false
	}
	return a.args, true
}
