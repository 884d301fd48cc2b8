package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Route is an extra handler on the HTTP listener, e.g. /webhook (triggers),
// /v1/ (REST), /sandbox/ (the emulator in sandbox mode).
type Route struct {
	// Pattern is a net/http ServeMux pattern ("/webhook", "/v1/", "GET /x").
	Pattern string
	Handler http.Handler
	// Auth puts the route behind the same bearer token as /mcp (when one is
	// configured). Leave it false for routes with their own authentication,
	// such as /webhook (Meta's signature).
	Auth bool
}

// sessionIdleTTL reclaims per-session state of clients that vanish without
// DELETE; a client coming back after it must initialize again, as it must
// after a restart.
const sessionIdleTTL = 2 * time.Hour

// streamable returns the one streamable HTTP transport of this server, so
// that Serve can close its sessions on shutdown.
func (s *Server) streamable() *mcpserver.StreamableHTTPServer {
	s.httpOnce.Do(func() {
		opts := []mcpserver.StreamableHTTPOption{
			mcpserver.WithStreamableHTTPLogger(s.log),
			mcpserver.WithSessionIdleTTL(sessionIdleTTL),
		}
		if s.opts.Stateless {
			opts = append(opts, mcpserver.WithStateLess(true))
		} else {
			// mcp-go's default session manager issues ids but never rejects
			// one, so a terminated or made-up session would still be served.
			opts = append(opts, mcpserver.WithStateful(true))
		}
		s.http = mcpserver.NewStreamableHTTPServer(s.mcp, opts...)
	})
	return s.http
}

// HTTPHandler returns the HTTP surface: /mcp (streamable HTTP), /healthz,
// and the extra routes. When Options.HTTPToken is set, /mcp and routes with
// Auth require "Authorization: Bearer <token>"; /healthz never does.
// Like http.ServeMux, it panics on a pattern that conflicts with another.
func (s *Server) HTTPHandler(extra ...Route) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/mcp", s.auth(limitBody(s.streamable())))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	for _, rt := range extra {
		h := rt.Handler
		if rt.Auth {
			h = s.auth(h)
		}
		mux.Handle(rt.Pattern, h)
	}
	return mux
}

// MaxRequestBody bounds a request to /mcp, which mcp-go reads whole into
// memory. It leaves room for the largest legitimate call: a 100 MB document
// uploaded as base64 content (about 134 MB of JSON).
const MaxRequestBody = 160 << 20

func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxRequestBody {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request body too large"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
		h.ServeHTTP(w, r)
	})
}

// RequireAuth wraps h with the server's bearer-token check (a no-op when no
// token is configured), for handlers mounted outside HTTPHandler.
func (s *Server) RequireAuth(h http.Handler) http.Handler { return s.auth(h) }

// auth is the one bearer-token check of every HTTP surface (/mcp, REST,
// routes with Auth); a no-op when no token is configured. The 401 body is
// envelope-shaped, which MCP clients and platforms both read.
func (s *Server) auth(h http.Handler) http.Handler {
	if s.opts.HTTPToken == "" {
		return h
	}
	// Comparing fixed-length digests keeps the comparison constant-time
	// whatever the length of the presented token.
	want := sha256.Sum256([]byte(s.opts.HTTPToken))
	realm := `Bearer realm="` + s.opts.About.Name + `"`
	msg := "missing or wrong bearer token: send Authorization: Bearer <the token this server was configured with>"
	if s.opts.TokenSource != "" {
		msg = "missing or wrong bearer token: send Authorization: Bearer <the " + s.opts.TokenSource + " of this server>"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", realm)
			writeFailure(w, http.StatusUnauthorized, msg, nil)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 7235).
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves HTTPHandler(extra...) on ln until ctx is cancelled, then shuts
// down gracefully: it stops accepting, closes MCP sessions (their SSE
// streams would otherwise hold the shutdown) and waits for in-flight
// requests, up to ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener, extra ...Route) error {
	return serve(ctx, ln, s.HTTPHandler(extra...), s.log, func(c context.Context) {
		s.streamable().CloseSessions(c)
	})
}

// ShutdownTimeout bounds a graceful HTTP shutdown.
var ShutdownTimeout = 10 * time.Second

// ServeHandler serves h on ln until ctx is cancelled, then shuts down
// gracefully. It is for listeners without /mcp, such as the webhook
// listener of stdio mode.
func ServeHandler(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return serve(ctx, ln, h, log, nil)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, closeSessions func(context.Context)) error {
	srv := &http.Server{
		Handler: h,
		// No WriteTimeout: MCP answers may stream (SSE) for as long as a
		// call takes. Slow headers are still cut off.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	done := make(chan struct{})
	if closeSessions != nil {
		// Sessions opened while shutting down are closed too.
		wg.Go(func() {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				closeSessions(sctx)
				select {
				case <-done:
					return
				case <-sctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	err := srv.Shutdown(sctx)
	close(done)
	wg.Wait()
	if err != nil {
		log.Warn("HTTP shutdown did not finish in time; closing connections", "error", err)
		_ = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return nil
}
