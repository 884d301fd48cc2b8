// Package server serves any catalog of tools ([]tools.Tool) over MCP
// (stdio and streamable HTTP), a REST face and its OpenAPI document: it
// registers every enabled tool with its complete metadata, applies the
// operator's filters (toolsets, tools, exclusions, read-only), and adds
// /healthz, bearer auth and extra routes such as /webhook.
//
// It knows nothing of WhatsApp: what the tools are, their toolsets and the
// server's instructions come from the catalog package, through Options.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// DefaultCallTimeout bounds a tool call whose context has no deadline.
const DefaultCallTimeout = 60 * time.Second

// Options configure a Server. The zero value serves every tool.
type Options struct {
	// About is what the catalog says about itself: the name announced at
	// initialize (default "mcp-server"), what the tools reach (default "the
	// upstream API"), the opening of the instructions, and the toolsets in
	// the order messages and documents list them (toolsets missing there
	// follow alphabetically, undescribed).
	About tools.About
	// Version is announced at initialize (default "dev").
	Version string

	// Toolsets enables whole toolsets (by tools.Tool.Toolset); empty means
	// all, unless Tools is given. "all" is accepted.
	Toolsets []string
	// Tools enables individual tools on top of Toolsets. With Toolsets
	// empty, only these tools are enabled.
	Tools []string
	// ExcludeTools removes tools from what Toolsets and Tools enabled.
	ExcludeTools []string
	// ReadOnly keeps only tools annotated read-only; it wins over everything.
	ReadOnly bool
	// Dynamic starts each MCP session with the discovery tools
	// (About.ToolPrefix + LIST_TOOLSETS, ENABLE_TOOLSET) and what Toolsets
	// and Tools name (none by default); the model enables toolsets as it
	// needs them and its client is sent notifications/tools/list_changed.
	// ExcludeTools and ReadOnly still decide what can be enabled. Not with
	// Stateless, which keeps no session to remember it in.
	Dynamic bool

	// CallTimeout bounds a tool call whose context has no deadline
	// (default DefaultCallTimeout), except a call running as an MCP task
	// (tasks.go), which tasks/cancel stops.
	CallTimeout time.Duration

	// MaxBodyMemory bounds the HTTP request bodies over
	// DefaultMaxInputBytes (uploads) held in memory at once (default
	// DefaultMaxBodyMemory); one that does not fit waits up to CallTimeout,
	// unread, then gets 503 with Retry-After.
	MaxBodyMemory int64

	// HTTPToken, when set, makes /mcp, the REST face and routes marked
	// Auth require "Authorization: Bearer <HTTPToken>". Several tokens
	// separated by commas are all accepted, so one can be rotated: add the
	// new one, move the clients, drop the old one (HTTPTokens).
	HTTPToken string
	// TokenSource names where HTTPToken is configured (an environment
	// variable), for the 401 message.
	TokenSource string

	// AllowedOrigins are the web origins (scheme://host[:port]) whose pages
	// may call /mcp and the REST face, besides this server's own origin and
	// pages served on loopback. Other browser requests are refused (guard).
	AllowedOrigins []string

	// Stateless serves /mcp without sessions, for several replicas behind a
	// load balancer without sticky sessions. The default (stateful) rejects
	// unknown and terminated session ids, as the MCP spec requires.
	Stateless bool

	// Logger receives operational logs (never stdout, never secrets).
	// Default: discard.
	Logger *slog.Logger

	// Ready are the checks of /readyz, which answers 200 when all pass and
	// 503 naming those that fail. Each runs on every request, bounded by
	// ReadyTimeout; an error's text is shown to anyone who asks, so it must
	// not carry secrets. None: /readyz is always 200.
	Ready []ReadyCheck

	// ShutdownTimeout bounds a graceful shutdown (default ShutdownTimeout):
	// how long Serve and ServeStdio let the calls and requests in flight
	// finish once their context is cancelled.
	ShutdownTimeout time.Duration

	// OnCall, when set, is told of every tool call once it has ended, on
	// every surface (metrics): the tool, its envelope and how long it took.
	// It must be quick and safe for concurrent use.
	OnCall func(tool string, res tools.Result, d time.Duration)

	// Resources are the MCP resource templates served beside the tools
	// (resources/templates/list, resources/read, resources/list and
	// resources/subscribe; see NotifyResourceUpdated). Each is served while
	// its toolset is: while a tool of it is enabled, or, with Dynamic, in
	// the sessions that enabled it. None: no resources capability.
	Resources []tools.ResourceTemplate
}

// Server is the MCP server for one catalog and one set of filters.
type Server struct {
	mcp      *mcpserver.MCPServer
	dyn      *dynamic   // nil unless Options.Dynamic
	res      *resources // nil unless a resource template is served
	tasks    *taskRuns  // nil unless a tool may run as an MCP task
	enabled  []tools.Tool
	byName   map[string]tools.Tool // enabled only
	disabled map[string]string     // name -> why it is disabled
	opts     Options
	log      *slog.Logger
	// instructions are given to the model at initialize.
	instructions string

	httpOnce sync.Once
	http     *mcpserver.StreamableHTTPServer
	bodies   *bodyLimiter
}

// Errors returned by Lookup and Call, for surfaces other than MCP (REST, CLI).
var (
	// ErrUnknownTool: no tool of the catalog has that name.
	ErrUnknownTool = errors.New("unknown tool")
	// ErrToolDisabled: the tool exists but the server's configuration
	// (toolsets, tools, exclude-tools, read-only) disabled it.
	ErrToolDisabled = errors.New("tool disabled by the server's configuration")
)

// New builds the MCP server. It fails on an invalid catalog (duplicate or
// empty names) and on filters naming an unknown toolset or tool, listing the
// valid names.
func New(catalog []tools.Tool, opts Options) (*Server, error) {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = ShutdownTimeout
	}
	if opts.About.Name == "" {
		opts.About.Name = "mcp-server"
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.About.API == "" {
		opts.About.API = "the upstream API"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPToken != "" && len(HTTPTokens(opts.HTTPToken)) == 0 {
		src := "the HTTP token"
		if opts.TokenSource != "" {
			src = opts.TokenSource
		}
		return nil, fmt.Errorf("server: %s holds no token, only commas and blanks", src)
	}
	seen := map[string]bool{}
	for _, t := range catalog {
		if t.Name == "" {
			return nil, errors.New("server: a tool of the catalog has no name")
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("server: tool %s is declared twice", t.Name)
		}
		seen[t.Name] = true
	}
	sel, err := selectTools(catalog, filter{
		toolsets: opts.Toolsets, tools: opts.Tools, exclude: opts.ExcludeTools, readOnly: opts.ReadOnly,
		order: toolsetOrder(opts.About.Toolsets),
	})
	if err != nil {
		return nil, err
	}
	var dyn *dynamic
	if opts.Dynamic {
		if dyn, sel, err = dynamicSelection(catalog, opts, sel); err != nil {
			return nil, err
		}
	}
	s := &Server{
		dyn:      dyn,
		enabled:  sel.enabled,
		byName:   map[string]tools.Tool{},
		disabled: sel.disabled,
		opts:     opts,
		log:      log,
		bodies:   newBodyLimiter(opts.MaxBodyMemory, opts.CallTimeout),
	}
	for _, t := range sel.enabled {
		s.byName[t.Name] = t
	}
	if s.res, err = newResources(s, catalog, opts.Resources, sel); err != nil {
		return nil, err
	}
	for _, w := range sel.warnings {
		log.Warn(w)
	}
	if len(sel.enabled) == 0 {
		log.Warn("no tool is enabled: check --toolsets, --tools, --exclude-tools and --read-only")
	}

	hooks := &mcpserver.Hooks{}
	taskHooks := &mcpserver.TaskHooks{}
	for _, t := range sel.enabled {
		if t.Task {
			s.tasks = newTaskRuns()
			s.tasks.hooks(hooks, taskHooks, func(name string) bool { return s.byName[name].Task })
			break
		}
	}
	subscribing := s.res != nil && s.res.subs != nil
	if len(s.disabled) > 0 || dyn != nil || subscribing || s.tasks != nil {
		// Filtered tools are not registered, so mcp-go alone would answer
		// "tool 'X' not found". This hook answers first (a JSON-RPC error,
		// code -32600), saying the tool exists but this server's
		// configuration disabled it and why, or, with dynamic toolsets,
		// which toolset to enable, so neither the model nor the operator
		// goes looking for a typo. mcp-go accepts a subscription to any
		// URI; this refuses one no resource has, which would never be
		// notified. It refuses the tasks the server does not run (see
		// refuseTask).
		hooks.AddOnRequestInitialization(func(ctx context.Context, _ any, message any) error {
			h, ok := requestHead(message)
			method, name := h.method, h.name
			switch {
			case !ok:
				return nil
			case method == string(mcp.MethodResourcesSubscribe) && subscribing:
				return s.res.refuseSubscribe(ctx, h.uri)
			case s.tasks != nil && (h.task || method == string(mcp.MethodTasksList)):
				if err := s.refuseTask(h); err != nil {
					return err
				}
			}
			if method != string(mcp.MethodToolsCall) {
				return nil
			}
			if why, off := s.disabled[name]; off {
				log.Warn("refused a call of a disabled tool", "tool", name)
				return fmt.Errorf("tool %s is disabled by this server's configuration: %s", name, why)
			}
			if dyn != nil {
				return dyn.refusal(ctx, name)
			}
			return nil
		})
	}
	serverOpts := []mcpserver.ServerOption{
		mcpserver.WithToolCapabilities(dyn != nil),
		mcpserver.WithLogging(),
		mcpserver.WithHooks(hooks),
	}
	if s.res != nil {
		serverOpts = append(serverOpts, s.res.options(hooks)...)
	}
	if s.tasks != nil {
		serverOpts = append(serverOpts, s.taskOptions(taskHooks)...)
	}
	if dyn != nil {
		hooks.AddOnUnregisterSession(func(_ context.Context, cs mcpserver.ClientSession) { dyn.forget(cs.SessionID()) })
		serverOpts = append(serverOpts, mcpserver.WithToolFilter(dyn.filter))
	}

	// No mcpserver.WithRecovery: handler recovers in call, the one wrapper
	// every surface (MCP, REST, Call) goes through.
	s.instructions = instructions(opts.About.Instructions, catalog, s.byName)
	registered := sel.enabled
	if dyn != nil {
		// Every tool a session may enable is registered; the filter
		// shows each session its own.
		s.instructions += "\n\n" + dyn.instructions()
		registered = append(dyn.discoveryTools(s), registered...)
	}
	s.mcp = mcpserver.NewMCPServer(opts.About.Name, opts.Version,
		append(serverOpts, mcpserver.WithInstructions(s.instructions))...)
	regs := make([]mcpserver.ServerTool, 0, len(registered))
	for _, t := range registered {
		regs = append(regs, mcpserver.ServerTool{Tool: mcpTool(t), Handler: s.handler(t)})
	}
	s.mcp.AddTools(regs...)
	if s.res != nil {
		s.res.register()
	}
	return s, nil
}

// mcpTool converts a declaration to mcp-go's Tool. Every annotation hint is
// set explicitly: mcp-go's NewTool defaults are pessimistic (destructive,
// open world) and clients act on them (confirmation prompts, auto-approval).
// The title is the tool's, not repeated in annotations.title: MCP
// (2025-06-18 on) reads Tool.title first, both are optional, and every byte
// of tools/list is sent to the model on every turn.
func mcpTool(t tools.Tool) mcp.Tool {
	mt := mcp.NewToolWithRawSchema(t.Name, t.Description, t.InputSchema)
	mt.Title = t.Title
	if len(t.OutputSchema) > 0 {
		mt.RawOutputSchema = t.OutputSchema
	}
	if t.Task {
		mt.Execution = &mcp.ToolExecution{TaskSupport: mcp.TaskSupportOptional}
	}
	a := t.Annotations
	mt.Annotations = mcp.ToolAnnotation{
		ReadOnlyHint:    mcp.ToBoolPtr(a.ReadOnly),
		DestructiveHint: mcp.ToBoolPtr(a.Destructive),
		IdempotentHint:  mcp.ToBoolPtr(a.Idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(a.OpenWorld),
	}
	return mt
}

// head is what the request hook reads of a raw request: the method,
// params.name (tools/call), params.uri (resources/*) and whether params.task
// is set (a task-augmented request).
type head struct {
	method, name, uri string
	task              bool
}

// requestHead extracts the head of a raw request.
func requestHead(message any) (head, bool) {
	raw, ok := message.(json.RawMessage)
	if !ok {
		return head{}, false
	}
	var m struct {
		Method string `json:"method"`
		Params struct {
			Name string          `json:"name"`
			URI  string          `json:"uri"`
			Task json.RawMessage `json:"task"`
		} `json:"params"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return head{}, false
	}
	return head{method: m.Method, name: m.Params.Name, uri: m.Params.URI,
		task: len(m.Params.Task) > 0 && string(m.Params.Task) != "null"}, true
}

// MCP returns the underlying mcp-go server (in-process clients, tests).
func (s *Server) MCP() *mcpserver.MCPServer { return s.mcp }

// Instructions returns what the server tells the model at initialize.
func (s *Server) Instructions() string { return s.instructions }

// Tools returns the enabled tools, in catalog order.
func (s *Server) Tools() []tools.Tool {
	return append([]tools.Tool(nil), s.enabled...)
}

// Lookup finds an enabled tool. The error wraps ErrUnknownTool or
// ErrToolDisabled and says why, in words fit for a caller.
func (s *Server) Lookup(name string) (tools.Tool, error) {
	if t, ok := s.byName[name]; ok {
		return t, nil
	}
	if why, ok := s.disabled[name]; ok {
		return tools.Tool{}, fmt.Errorf("tool %s is disabled by this server's configuration (%s): %w", name, why, ErrToolDisabled)
	}
	return tools.Tool{}, fmt.Errorf("no tool is named %q: %w", name, ErrUnknownTool)
}

// Call runs an enabled tool the way tools/call does (same deadline, same
// logging), for surfaces other than MCP. The error is non-nil only when the
// tool is unknown or disabled; a tool failure is a Result with
// Successful=false.
func (s *Server) Call(ctx context.Context, name string, args json.RawMessage) (tools.Result, error) {
	t, err := s.Lookup(name)
	if err != nil {
		return tools.Result{}, err
	}
	return s.call(ctx, t, args), nil
}

// call is the one way a tool runs, whatever the surface (MCP, REST, Call):
// it applies the per-call deadline, recovers a panicking handler into a
// failed envelope (a tool failure must never become a protocol error) and
// logs the outcome without the arguments, which carry customers' data.
func (s *Server) call(ctx context.Context, t tools.Tool, args json.RawMessage) (res tools.Result) {
	if !tools.AsTask(ctx) { // a task runs until done or cancelled (tasks.go)
		var cancel context.CancelFunc
		ctx, cancel = s.bounded(ctx)
		defer cancel()
	}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			res = tools.Result{Data: map[string]any{}, Error: "internal error in the server while running " + t.Name + "; nothing more is known about whether it took effect", Kind: tools.KindFailed}
			s.log.Error("tool panicked", "tool", t.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
		if s.opts.OnCall != nil {
			s.opts.OnCall(t.Name, res, time.Since(start))
		}
		// Successes at debug only: at info, a line per call costs more than
		// many calls take. Failures stay at warn. The attributes are built
		// only for a line that is written.
		level, msg := slog.LevelDebug, "tool call"
		if !res.Successful {
			level, msg = slog.LevelWarn, "tool call failed"
		}
		if !s.log.Enabled(ctx, level) {
			return
		}
		attrs := []any{"tool", t.Name, "successful", res.Successful, "duration", time.Since(start).Round(time.Millisecond)}
		if !res.Successful {
			attrs = append(attrs, "error", res.Error)
		}
		s.log.Log(ctx, level, msg, attrs...)
	}()
	return t.Call(ctx, args)
}

// handler adapts a tool to mcp-go. The result is the envelope both as
// structuredContent and as its JSON text (for clients that read only
// content), and isError mirrors successful. The arguments of a large call
// over HTTP were set aside before mcp-go read the message (mcpBodies), and
// a call with a progress token reports its progress (mcpProgress). A call
// as an MCP task runs detached from its request (taskRuns.start).
func (s *Server) handler(t tools.Tool) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if req.Params.Task != nil && t.Task && s.tasks != nil {
			var done func()
			ctx, done = s.tasks.start(ctx, req)
			defer done()
		}
		args, err := rawArguments(req)
		if aside, ok := takeArguments(ctx, t.Name); ok {
			args, err = aside, nil
		}
		ctx = mcpProgress(ctx, req)
		var res tools.Result
		if err != nil {
			res = tools.Result{Data: map[string]any{}, Error: "invalid input (nothing was done): `(arguments)` " + err.Error(), Kind: tools.KindInvalidInput}
		} else {
			res = s.call(ctx, t, args)
		}
		return envelope(res), nil
	}
}

// envelope renders a tool result as an MCP CallToolResult. The same bytes
// are used for the text and the structured content, so the two can never
// disagree.
func envelope(res tools.Result) *mcp.CallToolResult {
	b := res.JSON()
	return &mcp.CallToolResult{
		Content:           []mcp.Content{mcp.NewTextContent(string(b))},
		StructuredContent: json.RawMessage(b),
		IsError:           !res.Successful,
	}
}

// rawArguments returns the call's arguments as JSON, preferring the bytes the
// client sent (no float64 round trip for large numbers).
func rawArguments(req mcp.CallToolRequest) (json.RawMessage, error) {
	if len(req.Params.RawArguments) > 0 {
		return req.Params.RawArguments, nil
	}
	switch a := req.Params.Arguments.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return a, nil
	default:
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("must be a JSON object: %v", err)
		}
		return b, nil
	}
}
