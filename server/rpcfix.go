package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// How a resource request gets the JSON-RPC error code MCP asks for.
// mcp-go answers every error of a resource handler with -32603 (internal
// error) and every refusal of a request hook with -32600; MCP wants -32002
// (resource not found; invalid params from 2026-07-28 on) or -32602
// (invalid params) for a client's mistake, which clients act on (retry an
// internal error, not a missing resource). The transport that read the
// request (ServeStdio, mcpBodies) puts an rpcFix in its context; the
// handler or hook that refuses records the code it wants (refuse); the
// transport changes that code, and only that one, in the answer mcp-go
// wrote.

type rpcFixKey struct{}

// rpcFix is the code to set in the error answering one request.
type rpcFix struct {
	mu       sync.Mutex
	from, to int // to == 0: nothing to change
	message  string
	status   int // the HTTP status of a JSON answer, when it changes too
}

// withRPCFix returns ctx carrying a new rpcFix, and the rpcFix.
func withRPCFix(ctx context.Context) (context.Context, *rpcFix) {
	f := &rpcFix{}
	return context.WithValue(ctx, rpcFixKey{}, f), f
}

func rpcFixOf(ctx context.Context) *rpcFix {
	f, _ := ctx.Value(rpcFixKey{}).(*rpcFix)
	return f
}

// needsRPCFix reports whether requests of method may be refused through
// an rpcFix.
func needsRPCFix(method string) bool {
	return method == string(mcp.MethodResourcesRead) || method == string(mcp.MethodResourcesSubscribe)
}

// refuse returns the error for mcp-go, which answers it with code from
// and the error's text, and records that the answer must carry code to.
// Without an rpcFix in ctx (an in-process client), from stays.
func refuse(ctx context.Context, from, to int, message string) error {
	if f := rpcFixOf(ctx); f != nil {
		f.mu.Lock()
		f.from, f.to, f.message = from, to, message
		// From 2026-07-28, HTTP answers carry the status of their error
		// (mcp-go maps -32603 to 200, -32602 to 400).
		if mcp.IsModernProtocol(mcpserver.RequestProtocolVersion(ctx)) && to == mcp.INVALID_PARAMS {
			f.status = http.StatusBadRequest
		}
		f.mu.Unlock()
	}
	return errors.New(message)
}

// apply fixes resp, an answer of HandleMessage (stdio).
func (f *rpcFix) apply(resp mcp.JSONRPCMessage) mcp.JSONRPCMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := resp.(mcp.JSONRPCError)
	if !ok || f.to == 0 || e.Error.Code != f.from || e.Error.Message != f.message {
		return resp
	}
	e.Error.Code = f.to
	return e
}

// patch fixes the error in b, bytes of an HTTP answer: the error object as
// encoding/json writes it (mcp-go encodes with it, as JSON or as an SSE
// event), from code and message to code and message.
func (f *rpcFix) patch(b []byte) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.to == 0 {
		return nil, false
	}
	old, err1 := json.Marshal(mcp.JSONRPCErrorDetails{Code: f.from, Message: f.message})
	fixed, err2 := json.Marshal(mcp.JSONRPCErrorDetails{Code: f.to, Message: f.message})
	i := bytes.Index(b, old)
	if err1 != nil || err2 != nil || i < 0 {
		return nil, false
	}
	out := make([]byte, 0, len(b)-len(old)+len(fixed))
	return append(append(append(out, b[:i]...), fixed...), b[i+len(old):]...), true
}

func (f *rpcFix) httpStatus() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// fixWriter applies an rpcFix to the HTTP answer mcp-go writes.
type fixWriter struct {
	http.ResponseWriter
	fix   *rpcFix
	fixed bool
}

func (w *fixWriter) WriteHeader(status int) {
	if s := w.fix.httpStatus(); s != 0 && status == http.StatusOK && strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		status = s
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *fixWriter) Write(b []byte) (int, error) {
	if !w.fixed {
		if p, ok := w.fix.patch(b); ok {
			w.fixed = true
			if _, err := w.ResponseWriter.Write(p); err != nil {
				return 0, err
			}
			return len(b), nil
		}
	}
	return w.ResponseWriter.Write(b)
}

// Flush keeps SSE streaming (mcp-go streams only to a Flusher).
func (w *fixWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *fixWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
