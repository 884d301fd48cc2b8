package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/bulk"
	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/metrics"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/version"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

type mode int

const (
	modeStdio mode = iota
	modeHTTP
	modeCall
)

// app is one running configuration: the Graph client (pointed at Meta or
// at the in-process sandbox), the event store, and the MCP server.
type app struct {
	cfg *config
	log *slog.Logger
	srv *server.Server
	st  store.Store

	sb    *sandbox.Sandbox
	sbURL string // the emulator's own listener, e.g. http://127.0.0.1:41234

	// metrics are collected in http mode only, where /metrics serves them.
	metrics *metrics.Metrics

	// bgCtx lives until close: listeners of the emulator and the webhook.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	cleanup  []func()

	// ready are the checks of /readyz.
	ready []server.ReadyCheck
}

// newLogger writes cfg's level and format (text or json) to w, stderr.
func newLogger(w io.Writer, cfg *config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// errNoToken explains the two ways to start.
var errNoToken = usagef(`WHATSAPP_ACCESS_TOKEN is not set.
  Either set it to a Meta access token (a system-user token with whatsapp_business_messaging
  and whatsapp_business_management permissions) in the environment,
  or pass --sandbox to run every tool against the built-in Cloud API emulator:
  no Meta account needed and nothing leaves this machine.`)

// setup builds everything a serving or calling command needs. Call close
// when done, whatever the error.
func setup(ctx context.Context, cfg *config, m mode, stderr io.Writer) (*app, error) {
	a := &app{cfg: cfg, log: newLogger(stderr, cfg)}
	a.bgCtx, a.bgCancel = context.WithCancel(context.WithoutCancel(ctx))
	if m == modeHTTP {
		a.metrics = metrics.New()
	}

	if cfg.Sandbox {
		if err := a.startSandbox(); err != nil {
			return a, err
		}
	} else if cfg.AccessToken == "" {
		return a, errNoToken
	}

	// The store holds webhook events: opened when a webhook is served (http,
	// --webhook-addr, sandbox) or when one is named (shared PostgreSQL).
	if cfg.storeSet || m == modeHTTP || cfg.WebhookAddr != "" || cfg.Sandbox {
		loc := cfg.Store
		if cfg.Sandbox && !cfg.storeSet {
			dir, err := os.MkdirTemp("", "whatsapp-mcp-sandbox-")
			if err != nil {
				return a, err
			}
			a.cleanup = append(a.cleanup, func() { os.RemoveAll(dir) })
			loc = filepath.Join(dir, "events.db")
		}
		st, err := store.Open(ctx, loc, store.WithMaxConns(cfg.StoreMaxConns))
		if err != nil {
			return a, fmt.Errorf("opening the event store %s: %w", describeStore(loc), err)
		}
		a.st = st
		if a.metrics != nil {
			a.st = a.metrics.Store(st)
		}
		a.log.Info("event store open", "store", describeStore(loc))
		a.ready = append(a.ready, a.storeReady(describeStore(loc)))
	}

	opts := []graph.Option{
		graph.WithBaseURL(cfg.GraphURL),
		graph.WithAPIVersion(cfg.APIVersion),
		graph.WithUserAgent(catalog.About.Name + "/" + version.Short()),
		graph.WithLogger(a.log.With("component", "graph")),
	}
	if cfg.AppSecretProof {
		if cfg.AppSecret == "" {
			return a, usagef("--appsecret-proof needs WHATSAPP_APP_SECRET in the environment")
		}
		opts = append(opts, graph.WithAppSecretProof(cfg.AppSecret))
	}
	if a.metrics != nil {
		opts = append(opts, graph.WithObserver(a.metrics.GraphAttempt))
	}
	gc, err := graph.NewClient(cfg.AccessToken, opts...)
	if err != nil {
		return a, usagef("%v (check --graph-url / WHATSAPP_GRAPH_URL and --api-version / WHATSAPP_API_VERSION)", err)
	}

	a.ready = append(a.ready, server.ReadyCheck{Name: "graph", Check: func(context.Context) error {
		// Configured is all that can be known without spending Meta's
		// rate limit on every probe.
		if gc.BaseURL() == "" || cfg.AccessToken == "" {
			return errors.New("the Graph API client is not configured")
		}
		return nil
	}})

	deps := &actions.Deps{Graph: gc, WABAID: cfg.WABAID, AppID: cfg.AppID, MediaDir: cfg.MediaDir, ReadOnly: cfg.ReadOnly,
		Phones: tools.PhonePolicy{Region: cfg.DefaultRegion, ConvertNational: cfg.NationalNumbers}}
	if a.st != nil {
		// Only a non-nil store: a nil store.Store in the interface would
		// look configured and panic on the first send.
		deps.Window = a.st
		deps.Store = a.st
	}
	// Bulk sends are jobs in the store, worked by one Runner per serving
	// process (any replica's); a one-shot call only stores its job.
	deps.BulkRate = cfg.BulkRate
	var runner *bulk.Runner
	if a.st != nil && m != modeCall {
		runner = bulk.NewRunner(bulk.Config{Jobs: a.st, Deps: deps, LeaseTTL: cfg.BulkLease, Logger: a.log.With("component", "bulk")})
		deps.BulkWake = runner.Kick
	}
	cat, err := withOverrides(catalog.Tools(deps, a.st), cfg)
	if err != nil {
		return a, err
	}
	srv, err := server.New(cat, a.serverOptions())
	if err != nil {
		return a, &usageError{msg: strings.TrimPrefix(err.Error(), "server: ")}
	}
	a.srv = srv
	if a.st != nil {
		// Each new message of a conversation, stored here or (PostgreSQL)
		// by another replica, updates its resource for subscribed sessions.
		stop := a.st.Listen(func(n store.Notice) {
			srv.NotifyResourceUpdated(conversations.URI(n.PhoneNumberID, n.Customer))
		})
		a.cleanup = append([]func(){stop}, a.cleanup...)
		if cfg.Retention > 0 {
			a.bg.Go(func() { a.runRetention(a.bgCtx, cfg.Retention, time.Now) })
		}
	}
	if runner != nil {
		// Stopped by close before the store: its sends in flight finish
		// and are recorded, and its lease is released.
		a.bg.Go(func() { runner.Run(a.bgCtx) })
	}
	return a, nil
}

func (a *app) serverOptions() server.Options {
	var onCall func(string, tools.Result, time.Duration)
	if a.metrics != nil {
		onCall = a.metrics.ToolCall
	}
	return server.Options{
		OnCall:        onCall,
		About:         catalog.About,
		Resources:     catalog.Resources(a.st, nil),
		Version:       version.Short(),
		TokenSource:   "WHATSAPP_MCP_TOKEN",
		Toolsets:      a.cfg.Toolsets,
		Tools:         a.cfg.Tools,
		ExcludeTools:  a.cfg.ExcludeTools,
		ReadOnly:      a.cfg.ReadOnly,
		Dynamic:       a.cfg.DynamicToolsets,
		CallTimeout:   a.cfg.CallTimeout,
		MaxBodyMemory: a.cfg.MaxBodyMemory,
		HTTPToken:     a.cfg.MCPToken,
		Stateless:     a.cfg.Stateless,
		Logger:        a.log,

		AllowedOrigins:  a.cfg.AllowedOrigins,
		ShutdownTimeout: a.cfg.ShutdownTimeout,
		Ready:           a.ready,
	}
}

// storeReady is the store's readiness check: it must take a write now.
// /readyz shows its answer to anyone, so the cause (which may name the
// database's host and user) goes to the log, once per outage.
func (a *app) storeReady(where string) server.ReadyCheck {
	st := a.st
	var failing atomic.Bool
	return server.ReadyCheck{Name: "store", Check: func(ctx context.Context) error {
		if err := st.Ping(ctx); err != nil {
			if !failing.Swap(true) {
				a.log.Warn("not ready: the event store does not take writes", "store", where, "error", err)
			}
			return errors.New("the event store is unreachable or does not take writes (the server's log has the cause)")
		}
		if failing.Swap(false) {
			a.log.Info("ready again: the event store takes writes", "store", where)
		}
		return nil
	}}
}

// withOverrides applies the operator's title/description overrides (file,
// then per-tool env variables) to the whole catalog, before filters, so
// MCP, REST and OpenAPI all show the same text.
func withOverrides(cat []tools.Tool, cfg *config) ([]tools.Tool, error) {
	var environ []string
	if getenv := cfg.getenv; getenv != nil {
		for _, t := range cat {
			for _, suffix := range []string{"_TITLE", "_DESCRIPTION"} {
				k := "WHATSAPP_MCP_TOOL_" + t.Name + suffix
				if v, ok := getenv(k); ok {
					environ = append(environ, k+"="+v)
				}
			}
		}
	}
	ov, err := tools.LoadOverrides(cfg.ToolDescriptions, environ)
	if err != nil {
		return nil, usagef("tool descriptions: %v", err)
	}
	cat, err = tools.ApplyOverrides(cat, ov)
	if err != nil {
		return nil, usagef("tool descriptions: %v", err)
	}
	return cat, nil
}

// startSandbox runs the emulator on its own loopback listener and points
// the configuration at it, with its fixed public test credentials.
func (a *app) startSandbox() error {
	a.sb = sandbox.New(sandbox.Config{Logger: a.log.With("component", "sandbox"), Faults: sandbox.Faults{Latency: a.cfg.SandboxLatency}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	a.sbURL = "http://" + ln.Addr().String()
	a.goServe(ln, a.sb)

	if a.cfg.WABAID != "" && a.cfg.WABAID != sandbox.WABAID {
		a.log.Warn("sandbox mode ignores --waba-id / WHATSAPP_WABA_ID: the emulator has its own account", "waba_id", sandbox.WABAID)
	}
	if a.cfg.AccessToken != "" {
		a.log.Info("sandbox mode: WHATSAPP_ACCESS_TOKEN is not used")
	}
	if a.cfg.SandboxLatency > 0 {
		a.log.Info("sandbox: every Graph answer is delayed", "latency", a.cfg.SandboxLatency)
	}
	a.cfg.GraphURL = a.sbURL
	a.cfg.AccessToken = sandbox.DefaultToken
	a.cfg.WABAID = sandbox.WABAID
	a.cfg.AppID = sandbox.AppID
	a.cfg.AppSecret = sandbox.DefaultAppSecret
	a.cfg.VerifyToken = sandbox.DefaultVerifyToken
	return nil
}

// goServe serves h on ln until close.
func (a *app) goServe(ln net.Listener, h http.Handler) {
	a.bg.Go(func() {
		if err := server.ServeHandler(a.bgCtx, ln, h, a.log); err != nil {
			a.log.Error("listener stopped", "addr", ln.Addr().String(), "error", err)
		}
	})
}

// webhook is Meta's callback endpoint, storing into the event store.
func (a *app) webhook() http.Handler {
	cfg := triggers.WebhookConfig{
		AppSecret:   a.cfg.AppSecret,
		VerifyToken: a.cfg.VerifyToken,
		Logger:      a.log.With("component", "webhook"),
	}
	if a.metrics != nil {
		cfg.OnDelivery = a.metrics.WebhookDelivery
	}
	return triggers.NewWebhook(a.st, cfg)
}

// metricsRoute serves Prometheus metrics at /metrics, behind the same bearer
// token as /mcp (label values carry no secret or customer data, but they
// tell what the server is used for).
func (a *app) metricsRoute() server.Route {
	return server.Route{Pattern: "GET /metrics", Handler: a.metrics.Handler(), Auth: true}
}

// sandboxRoutes expose the emulator's own routes (/sandbox, /sandbox/inbound,
// media downloads) on a listener of ours, so `whatsapp-mcp sandbox inbound
// --url <that listener>` works.
func (a *app) sandboxRoutes() []server.Route {
	if a.sb == nil {
		return nil
	}
	return []server.Route{{Pattern: "/sandbox", Handler: a.sb}, {Pattern: "/sandbox/", Handler: a.sb}}
}

// close stops background listeners, the sandbox and the store, in that
// order (the sandbox may still be posting webhooks into the store).
func (a *app) close() {
	if a.bgCancel != nil {
		a.bgCancel()
	}
	a.bg.Wait()
	if a.sb != nil {
		a.sb.Close()
	}
	if a.st != nil {
		if err := a.st.Close(); err != nil {
			a.log.Warn("closing the event store", "error", err)
		}
	}
	for _, f := range a.cleanup {
		f()
	}
}

// describeStore names a store location for logs without its password.
func describeStore(loc string) string {
	switch {
	case loc == "":
		if p, err := store.DefaultPath(); err == nil {
			return "sqlite:" + p
		}
		return "sqlite (default path)"
	case strings.HasPrefix(loc, "postgres://"), strings.HasPrefix(loc, "postgresql://"):
		u, err := url.Parse(loc)
		if err != nil {
			return "postgres (unparsable URL)"
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx") // pgx reads a password from the query too
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	default:
		return "sqlite:" + strings.TrimPrefix(loc, "file:")
	}
}

// httpURL is a URL for a listener, with a loopback host when it listens on
// every interface (0.0.0.0 is not a destination).
func httpURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func isLoopback(addr net.Addr) bool {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// addrIsLoopback reports whether listening on addr (host:port, as --addr
// takes it) serves loopback only: a loopback IP, "localhost", or a name
// all of whose addresses are loopback. No host (":8080") is every
// interface.
func addrIsLoopback(ctx context.Context, addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return false
		}
	}
	return true
}
