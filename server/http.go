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
			// guard applies the same Host rule to /mcp and REST.
			mcpserver.WithDisableLocalhostProtection(true),
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
// /readyz, and the extra routes. /mcp and routes with Auth refuse what a
// web page could send (guard); when Options.HTTPToken is set, they also
// require "Authorization: Bearer <token>". /healthz and /readyz never do.
// Like http.ServeMux, it panics on a pattern that conflicts with another.
func (s *Server) HTTPHandler(extra ...Route) http.Handler {
	mux := http.NewServeMux()
	var mcpHandler http.Handler = s.streamable()
	if s.res != nil && s.res.subs != nil {
		mcpHandler = s.res.subs.listen(mcpHandler)
	}
	mux.Handle("/mcp", s.protect(s.mcpBodies(mcpHandler)))
	mux.HandleFunc("/healthz", healthz)
	mux.HandleFunc("/readyz", s.readyz)
	for _, rt := range extra {
		h := rt.Handler
		if rt.Auth {
			h = s.protect(h)
		}
		mux.Handle(rt.Pattern, h)
	}
	return mux
}

// RequireAuth wraps h with the server's browser guard and bearer-token
// check (the latter a no-op when no token is configured), for handlers
// mounted outside HTTPHandler.
func (s *Server) RequireAuth(h http.Handler) http.Handler { return s.protect(h) }

// protect is what every face that runs tools goes through: the browser
// guard, then the bearer token.
func (s *Server) protect(h http.Handler) http.Handler { return s.guard(s.auth(h)) }

// auth is the one bearer-token check of every HTTP surface (/mcp, REST,
// routes with Auth); a no-op when no token is configured. The 401 body is
// envelope-shaped, which MCP clients and platforms both read.
func (s *Server) auth(h http.Handler) http.Handler {
	tokens := HTTPTokens(s.opts.HTTPToken)
	if len(tokens) == 0 {
		return h
	}
	// Comparing fixed-length digests keeps the comparison constant-time
	// whatever the length of the presented token.
	want := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		want[i] = sha256.Sum256([]byte(t))
	}
	realm := `Bearer realm="` + s.opts.About.Name + `"`
	msg := "missing or wrong bearer token: send Authorization: Bearer <the token this server was configured with>"
	if s.opts.TokenSource != "" {
		msg = "missing or wrong bearer token: send Authorization: Bearer <the " + s.opts.TokenSource + " of this server>"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		if !tokenMatches(got, want) || !ok {
			w.Header().Set("WWW-Authenticate", realm)
			writeFailure(w, http.StatusUnauthorized, msg, nil)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// HTTPTokens splits Options.HTTPToken into the tokens it accepts: one, or
// several separated by commas while one is rotated (a bearer token has no
// comma, RFC 6750). Blanks around and between commas are dropped.
func HTTPTokens(list string) []string {
	var out []string
	for t := range strings.SplitSeq(list, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// tokenMatches compares the presented token with every accepted one, all
// of them every time, so the time taken says neither whether nor which one
// matched.
func tokenMatches(got string, want [][sha256.Size]byte) bool {
	sum := sha256.Sum256([]byte(got))
	match := 0
	for i := range want {
		match |= subtle.ConstantTimeCompare(sum[:], want[i][:])
	}
	return match == 1
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
// requests (tool calls, webhook deliveries), up to Options.ShutdownTimeout.
// Their contexts are not cancelled by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener, extra ...Route) error {
	return serve(ctx, ln, s.HTTPHandler(extra...), s.log, s.opts.ShutdownTimeout, func(c context.Context) {
		s.streamable().CloseSessions(c)
	})
}

// ShutdownTimeout is the default bound of a graceful shutdown, and the
// bound of ServeHandler's.
var ShutdownTimeout = 10 * time.Second

// ServeHandler serves h on ln until ctx is cancelled, then shuts down
// gracefully. It is for listeners without /mcp, such as the webhook
// listener of stdio mode.
func ServeHandler(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return serve(ctx, ln, h, log, ShutdownTimeout, nil)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, timeout time.Duration, closeSessions func(context.Context)) error {
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

	sctx, cancel := context.WithTimeout(context.Background(), timeout)
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
