package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// MCP resources (Options.Resources). Each tools.ResourceTemplate is an MCP
// resource template: listed by resources/templates/list, read by
// resources/read as the JSON of what its Read returns, listed by
// resources/list when it has a List, and subscribed to with
// resources/subscribe (see subscriptions.go). A template is served while
// its toolset is: with the filters, while a tool of its toolset is enabled
// (read-only mode keeps it while a read-only tool of it is, since a read
// changes nothing); with dynamic toolsets, in the sessions that have its
// toolset enabled.

// resourceTemplate is a declaration with its parsed URI template.
type resourceTemplate struct {
	tools.ResourceTemplate
	uri  *mcp.URITemplate
	mime string
}

// resources is the resource side of a Server; nil when it serves none.
type resources struct {
	srv *Server
	// templates are the servable templates, in declaration order: with
	// dynamic toolsets, those a session may enable.
	templates []*resourceTemplate
	// subscribe: resources.subscribe is advertised (not when stateless:
	// nothing is kept to notify).
	subscribe bool
	subs      *subscriptions
}

// newResources validates the declarations and keeps those the selection
// serves; nil when none is. A declaration naming no toolset of the catalog
// is an error, like a filter naming one.
func newResources(s *Server, catalog []tools.Tool, decls []tools.ResourceTemplate, sel selection) (*resources, error) {
	sets := map[string]bool{}
	for _, t := range catalog {
		sets[t.Toolset] = true
	}
	on := map[string]bool{} // toolsets with a tool the server may serve
	if s.dyn != nil {
		for set, members := range s.dyn.members {
			on[set] = len(members) > 0
		}
	} else {
		for _, t := range sel.enabled {
			on[t.Toolset] = true
		}
	}
	r := &resources{srv: s, subscribe: !s.opts.Stateless}
	seen := map[string]bool{}
	for _, d := range decls {
		var ut mcp.URITemplate
		raw, _ := json.Marshal(d.URITemplate)
		switch {
		case d.Name == "":
			return nil, fmt.Errorf("server: resource template %q has no name", d.URITemplate)
		case d.URITemplate == "" || ut.UnmarshalJSON(raw) != nil:
			return nil, fmt.Errorf("server: resource template %s has no valid RFC 6570 URI template (%q)", d.Name, d.URITemplate)
		case d.Read == nil:
			return nil, fmt.Errorf("server: resource template %s has no Read", d.Name)
		case seen[d.URITemplate]:
			return nil, fmt.Errorf("server: resource template %s is declared twice", d.URITemplate)
		case !sets[d.Toolset]:
			return nil, fmt.Errorf("server: resource template %s names toolset %q, which no tool of the catalog is in", d.Name, d.Toolset)
		}
		seen[d.URITemplate] = true
		if !on[d.Toolset] {
			continue
		}
		t := &resourceTemplate{ResourceTemplate: d, uri: &ut, mime: d.MIMEType}
		if t.mime == "" {
			t.mime = "application/json"
		}
		r.templates = append(r.templates, t)
	}
	if len(r.templates) == 0 {
		return nil, nil
	}
	if r.subscribe {
		r.subs = newSubscriptions()
	}
	return r, nil
}

// options are the mcp-go options and hooks of the resources.
func (r *resources) options(hooks *mcpserver.Hooks) []mcpserver.ServerOption {
	if r.subs != nil {
		r.subs.hooks(hooks)
	}
	if r.srv.dyn != nil {
		// Every servable template is registered; each session is shown
		// those of its toolsets (a read of another is refused by the
		// handler, saying which toolset to enable). mcp-go has no filter
		// of resource templates: the hook edits the result before it is
		// sent.
		hooks.AddAfterListResourceTemplates(func(ctx context.Context, _ any, _ *mcp.ListResourceTemplatesRequest, res *mcp.ListResourceTemplatesResult) {
			res.ResourceTemplates = slices.DeleteFunc(res.ResourceTemplates, func(mt mcp.ResourceTemplate) bool {
				t := r.byTemplate(mt.URITemplate.Raw())
				return t == nil || !r.on(ctx, t)
			})
		})
	}
	if slices.ContainsFunc(r.templates, func(t *resourceTemplate) bool { return t.List != nil }) {
		// mcp-go lists only resources registered one by one; the templates'
		// List are asked at each resources/list, for the current set, and
		// added to the result before it is sent.
		hooks.AddAfterListResources(func(ctx context.Context, _ any, _ *mcp.ListResourcesRequest, res *mcp.ListResourcesResult) {
			res.Resources = append(res.Resources, r.list(ctx)...)
		})
	}
	// listChanged with dynamic toolsets only: enabling a toolset adds its
	// templates to the session's list.
	return []mcpserver.ServerOption{mcpserver.WithResourceCapabilities(r.subscribe, r.srv.dyn != nil)}
}

// register adds the templates to mcp-go.
func (r *resources) register() {
	regs := make([]mcpserver.ServerResourceTemplate, len(r.templates))
	for i, t := range r.templates {
		regs[i] = mcpserver.ServerResourceTemplate{
			Template: mcp.ResourceTemplate{URITemplate: t.uri, Name: t.Name, Title: t.Title, Description: t.Description, MIMEType: t.mime},
			Handler:  r.read(t),
		}
	}
	r.srv.mcp.AddResourceTemplates(regs...)
}

func (r *resources) byTemplate(raw string) *resourceTemplate {
	for _, t := range r.templates {
		if t.URITemplate == raw {
			return t
		}
	}
	return nil
}

// hasToolset reports whether a template of the toolset is servable.
func (r *resources) hasToolset(set string) bool {
	return r != nil && slices.ContainsFunc(r.templates, func(t *resourceTemplate) bool { return t.Toolset == set })
}

// listChanged tells the session of ctx that its resource templates
// changed, once its request is answered (see subscriptions).
func (r *resources) listChanged(ctx context.Context) {
	if r.subs != nil {
		r.subs.listChanged(mcpserver.ClientSessionFromContext(ctx))
	}
}

// on reports whether t is served in the session of ctx.
func (r *resources) on(ctx context.Context, t *resourceTemplate) bool {
	return r.srv.dyn == nil || r.srv.dyn.setOn(ctx, t.Toolset)
}

// match finds the servable template of uri.
func (r *resources) match(uri string) *resourceTemplate {
	for _, t := range r.templates {
		if t.uri.Regexp().MatchString(uri) {
			return t
		}
	}
	return nil
}

// refusal is why uri cannot be read or subscribed to in the session of
// ctx, or "" when it can.
func (r *resources) refusal(ctx context.Context, uri string) string {
	t := r.match(uri)
	if t == nil {
		names := make([]string, len(r.templates))
		for i, t := range r.templates {
			names[i] = t.URITemplate
		}
		return fmt.Sprintf("no resource of this server has the URI %q: its resource templates are %s", uri, strings.Join(names, ", "))
	}
	if !r.on(ctx, t) {
		return r.off(t, uri)
	}
	return ""
}

// refuseSubscribe is the refusal of a resources/subscribe of uri, or nil.
func (r *resources) refuseSubscribe(ctx context.Context, uri string) error {
	if uri == "" {
		return nil // mcp-go answers that uri is required
	}
	if !r.subs.notifiable(mcpserver.ClientSessionFromContext(ctx)) {
		return errors.New("this session cannot be sent notifications (it is not, or no longer, a session of this server): initialize a new session and subscribe in it")
	}
	if why := r.refusal(ctx, uri); why != "" {
		return refuse(ctx, mcp.INVALID_REQUEST, notFoundCode(ctx), why)
	}
	return nil
}

// off is the refusal of uri, of t, in a session that has not enabled t's
// toolset (dynamic toolsets).
func (r *resources) off(t *resourceTemplate, uri string) string {
	return fmt.Sprintf("resource %s is in toolset %q, which is not enabled in this session: call %s with {\"toolset\":%q} first", uri, t.Toolset, r.srv.dyn.enable, t.Toolset)
}

// read is the resources/read handler of t: the JSON of Read's value as
// text. A client's error (a plain error: unknown resource; invalid input:
// bad variables) is answered with its message as resource not found or
// invalid params; a server failure (any other kind, a panic, a deadline)
// as an internal error that says no more, and is logged.
func (r *resources) read(t *resourceTemplate) mcpserver.ResourceTemplateHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) (_ []mcp.ResourceContents, err error) {
		uri := req.Params.URI
		if !r.on(ctx, t) {
			return nil, refuse(ctx, mcp.INTERNAL_ERROR, notFoundCode(ctx), r.off(t, uri))
		}
		ctx, cancel := r.srv.bounded(ctx)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				r.srv.log.Error("resource read panicked", "template", t.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				err = errors.New("internal error in the server while reading this resource")
			}
		}()
		vars := map[string]string{}
		values := t.uri.Match(uri)
		for _, name := range t.uri.Varnames() {
			vars[name] = values.Get(name).String()
		}
		v, err := t.Read(ctx, uri, vars)
		if err != nil {
			return nil, r.readFailure(ctx, t, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			r.srv.log.Error("resource read: cannot encode the value", "template", t.Name, "error", err)
			return nil, errors.New("internal error in the server while encoding this resource")
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: t.mime, Text: string(b)}}, nil
	}
}

// readFailure is the error answering a failed Read (see read).
func (r *resources) readFailure(ctx context.Context, t *resourceTemplate, err error) error {
	var k tools.Kinded
	switch {
	case errors.As(err, &k) && k.ErrorKind() == tools.KindInvalidInput:
		return refuse(ctx, mcp.INTERNAL_ERROR, mcp.INVALID_PARAMS, tools.Describe(err))
	case errors.As(err, &k), ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// Its text may name what the server talks to; it goes to the log.
		r.srv.log.Warn("resource read failed", "template", t.Name, "error", err)
		if errors.As(err, &k) && k.ErrorKind() == tools.KindUnavailable {
			return errors.New("the server cannot read this resource right now (its store is unavailable): try again in a moment")
		}
		return errors.New("internal error in the server while reading this resource: try again later")
	default:
		return refuse(ctx, mcp.INTERNAL_ERROR, notFoundCode(ctx), tools.Describe(err))
	}
}

// list is what the templates' List name for the session of ctx. A List
// that fails is logged and left out: the others are still listed, and the
// template still is (resources/templates/list).
func (r *resources) list(ctx context.Context) []mcp.Resource {
	ctx, cancel := r.srv.bounded(ctx)
	defer cancel()
	var out []mcp.Resource
	for _, t := range r.templates {
		if t.List == nil || !r.on(ctx, t) {
			continue
		}
		items, err := r.listOne(ctx, t)
		if err != nil {
			r.srv.log.Warn("resources/list: a template's List failed; its resources are left out", "template", t.Name, "error", err)
			continue
		}
		for _, it := range items {
			mime := it.MIMEType
			if mime == "" {
				mime = t.mime
			}
			out = append(out, mcp.Resource{URI: it.URI, Name: it.Name, Description: it.Description, MIMEType: mime})
		}
	}
	return out
}

func (r *resources) listOne(ctx context.Context, t *resourceTemplate) (items []tools.Resource, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			r.srv.log.Error("resource list panicked", "template", t.Name, "stack", string(debug.Stack()))
		}
	}()
	return t.List(ctx)
}

// bounded applies the call timeout to a context without a deadline (a
// tool call, a resource read).
func (s *Server) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, has := ctx.Deadline(); has {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opts.CallTimeout)
}

// notFoundCode is the JSON-RPC code of an unknown resource: -32002 in MCP
// up to 2025-11-25, invalid params from 2026-07-28 on (as mcp-go answers a
// URI that matches no template).
func notFoundCode(ctx context.Context) int {
	if mcp.IsModernProtocol(mcpserver.RequestProtocolVersion(ctx)) {
		return mcp.INVALID_PARAMS
	}
	return mcp.RESOURCE_NOT_FOUND
}

// NotifyResourceUpdated tells every MCP session subscribed to exactly uri
// (resources/subscribe) that the resource changed: each gets
// notifications/resources/updated {"uri": uri}, over stdio, or over HTTP
// on the session's GET stream (held until the client opens one). It never
// blocks: it queues the URI for each session and returns; each session's
// notifications are sent by a goroutine of its own. A session that is
// slow to take them (a client that reads no stream, a full pipe) gets
// updates coalesced: while one is waiting, more updates of the same URI
// add nothing, so it gets each changed URI once when it catches up, and
// nothing is lost or piles up. Safe for concurrent use; a no-op when
// nothing is subscribed to uri.
func (s *Server) NotifyResourceUpdated(uri string) {
	if s.res != nil && s.res.subs != nil {
		s.res.subs.notify(uri)
	}
}
