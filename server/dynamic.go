package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Dynamic toolsets (Options.Dynamic), as github-mcp-server has them: an MCP
// session starts with two discovery tools and whatever Toolsets and Tools
// name; the model lists the toolsets and enables those it needs, and each
// enabling adds their tools to that session's tools/list and sends it
// notifications/tools/list_changed. A client pays only for the tools it
// uses, on every turn. The filters still decide which tools can be served
// at all: an excluded tool, or one read-only mode disables, is never listed.
//
// What a session enabled lives here, by session id, and ends with the
// session. The REST face and Server.Call serve every tool the filters
// allow: they have no tools/list to keep short.

// Names of the discovery tools, after About.ToolPrefix.
const (
	listToolsetsName  = "LIST_TOOLSETS"
	enableToolsetName = "ENABLE_TOOLSET"
)

// dynamic is the state of dynamic toolsets.
type dynamic struct {
	list, enable string // the discovery tools' names
	sets         []tools.Toolset
	members      map[string][]string // toolset -> its servable tools, catalog order
	toolset      map[string]string   // tool -> toolset, servable tools only
	start        map[string]bool     // tools every session starts with

	mu      sync.Mutex
	enabled map[string]map[string]bool // session id -> toolsets it enabled
}

// dynamicSelection turns the filters' selection into dynamic mode's: every
// tool the filters allow in any toolset can be enabled (the pool, which it
// returns), and what they name (Toolsets, Tools) is enabled from the start.
// With no Toolsets or Tools, a session starts with the discovery tools only.
func dynamicSelection(catalog []tools.Tool, opts Options, named selection) (*dynamic, selection, error) {
	if opts.Stateless {
		return nil, selection{}, errors.New("server: dynamic toolsets need sessions, which a stateless server does not keep: a client's enabled toolsets would be forgotten after each request")
	}
	pool, err := selectTools(catalog, filter{exclude: opts.ExcludeTools, readOnly: opts.ReadOnly, order: toolsetOrder(opts.About.Toolsets)})
	if err != nil {
		return nil, selection{}, err
	}
	d := &dynamic{
		list:    opts.About.ToolPrefix + listToolsetsName,
		enable:  opts.About.ToolPrefix + enableToolsetName,
		members: map[string][]string{},
		toolset: map[string]string{},
		start:   map[string]bool{},
		enabled: map[string]map[string]bool{},
	}
	for _, t := range pool.enabled {
		if t.Name == d.list || t.Name == d.enable {
			return nil, selection{}, fmt.Errorf("server: tool %s of the catalog has the name of a discovery tool of dynamic toolsets", t.Name)
		}
		d.members[t.Toolset] = append(d.members[t.Toolset], t.Name)
		d.toolset[t.Name] = t.Toolset
	}
	for _, ts := range toolsetsOf(pool.enabled, opts.About.Toolsets) {
		d.sets = append(d.sets, ts)
	}
	if len(clean(opts.Toolsets)) > 0 || len(clean(opts.Tools)) > 0 {
		for _, t := range named.enabled {
			d.start[t.Name] = true
		}
	}
	return d, pool, nil
}

// sessionID is the id of the MCP session of ctx; "" outside one (in-process
// calls), which is one session like any other.
func sessionID(ctx context.Context) string {
	if s := mcpserver.ClientSessionFromContext(ctx); s != nil {
		return s.SessionID()
	}
	return ""
}

// listed reports whether the session of ctx lists the tool.
func (d *dynamic) listed(ctx context.Context, name string) bool {
	if name == d.list || name == d.enable || d.start[name] {
		return true
	}
	set, ok := d.toolset[name]
	if !ok {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.enabled[sessionID(ctx)][set]
}

// setOn reports whether the session of ctx serves the toolset: it enabled
// it, or starts with a tool of it.
func (d *dynamic) setOn(ctx context.Context, set string) bool {
	if slices.ContainsFunc(d.members[set], func(name string) bool { return d.start[name] }) {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.enabled[sessionID(ctx)][set]
}

// filter is mcp-go's tool filter: tools/list shows, and tools/call reaches,
// only what the session has enabled.
func (d *dynamic) filter(ctx context.Context, list []mcp.Tool) []mcp.Tool {
	return slices.DeleteFunc(list, func(t mcp.Tool) bool { return !d.listed(ctx, t.Name) })
}

// refusal is the error of a tools/call of a tool the session has not
// enabled yet, or nil.
func (d *dynamic) refusal(ctx context.Context, name string) error {
	set, ok := d.toolset[name]
	if !ok || d.listed(ctx, name) {
		return nil
	}
	return fmt.Errorf("tool %s is in toolset %q, which is not enabled in this session: call %s with {\"toolset\":%q} first, then call %s", name, set, d.enable, set, name)
}

// forget drops what a session enabled, once it has ended.
func (d *dynamic) forget(id string) {
	d.mu.Lock()
	delete(d.enabled, id)
	d.mu.Unlock()
}

// instructions is the paragraph dynamic mode adds to the instructions.
func (d *dynamic) instructions() string {
	return "Tools come in toolsets, and only the enabled ones are listed: " + d.list + " shows every toolset and its tools, and " +
		d.enable + " enables one for this session; its tools are listed and can be called as soon as it answers."
}

// ToolsetInfo is one toolset as the list tool gives it.
type ToolsetInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Enabled: the toolset's tools are listed in this session.
	Enabled bool     `json:"enabled"`
	Tools   []string `json:"tools"`
}

// ToolsetsData is data of the list tool.
type ToolsetsData struct {
	Toolsets []ToolsetInfo `json:"toolsets"`
}

// EnableToolsetInput is the input of the enable tool.
type EnableToolsetInput struct {
	Toolset string `json:"toolset" validate:"required,notblank,max=100" jsonschema_description:"A toolset's name."`
}

// EnabledData is data of the enable tool.
type EnabledData struct {
	Toolset string   `json:"toolset"`
	Tools   []string `json:"tools"`
	// Already: the toolset was enabled before this call.
	Already bool `json:"already,omitempty"`
}

type noInput struct{}

// discovery is the always-present tools annotation: they read and change
// only this session's tool list.
var discovery = tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}

// discoveryTools declares the two discovery tools. The enable tool tells
// the session's client that its list changed (s.mcp, set once New returns).
func (d *dynamic) discoveryTools(s *Server) []tools.Tool {
	info := func(ctx context.Context) []ToolsetInfo {
		out := make([]ToolsetInfo, 0, len(d.sets))
		d.mu.Lock()
		on := d.enabled[sessionID(ctx)]
		for _, ts := range d.sets {
			out = append(out, ToolsetInfo{Name: ts.Name, Description: ts.Description, Enabled: on[ts.Name], Tools: d.members[ts.Name]})
		}
		d.mu.Unlock()
		return out
	}
	list := tools.New(tools.Def[noInput, *ToolsetsData]{
		Name:  d.list,
		Title: "List toolsets",
		Description: "List the toolsets of this server: what each does, its tools, and whether it is enabled in this session. " +
			"Enable one with " + d.enable + " to list and call its tools.",
		Annotations: discovery,
		Example:     `{}`,
		Handler: func(ctx context.Context, _ *noInput) (*ToolsetsData, error) {
			return &ToolsetsData{Toolsets: info(ctx)}, nil
		},
	})
	enable := tools.New(tools.Def[EnableToolsetInput, *EnabledData]{
		Name:  d.enable,
		Title: "Enable a toolset",
		Description: "Enable a toolset (see " + d.list + ") for this session: its tools are added to the tool list, " +
			"and can be called as soon as this answers.",
		Annotations: discovery,
		Example:     fmt.Sprintf(`{"toolset":%q}`, d.firstSet()),
		Handler: func(ctx context.Context, in *EnableToolsetInput) (*EnabledData, error) {
			set, ok := d.lookup(in.Toolset)
			if !ok {
				return nil, tools.Invalid("toolset", "must be one of the toolsets of this server: %s (got %s)", strings.Join(d.names(), ", "), tools.Echo(in.Toolset))
			}
			id := sessionID(ctx)
			d.mu.Lock()
			if d.enabled[id] == nil {
				d.enabled[id] = map[string]bool{}
			}
			already := d.enabled[id][set]
			d.enabled[id][set] = true
			d.mu.Unlock()
			if !already {
				// The client reads the new list when told; outside a
				// session (in-process calls) there is no one to tell.
				if err := s.mcp.SendNotificationToClient(ctx, string(mcp.MethodNotificationToolsListChanged), nil); err != nil {
					s.log.Debug("toolset enabled, but the client could not be told its tool list changed", "toolset", set, "error", err)
				} else {
					awaitForwarded(ctx)
				}
				if s.res.hasToolset(set) {
					s.res.listChanged(ctx)
				}
			}
			return &EnabledData{Toolset: set, Tools: d.members[set], Already: already}, nil
		},
	})
	enable.InputSchema = withEnum(enable.InputSchema, "toolset", d.names())
	return []tools.Tool{list, enable}
}

// withEnum adds the enum of a property to a reflected input schema: the
// toolsets are known only once the catalog is.
func withEnum(schema json.RawMessage, prop string, values []string) json.RawMessage {
	var s map[string]any
	if json.Unmarshal(schema, &s) != nil || len(values) == 0 {
		return schema
	}
	if props, ok := s["properties"].(map[string]any); ok {
		if p, ok := props[prop].(map[string]any); ok {
			p["enum"] = values
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return schema
	}
	return b
}

// lookup finds a toolset by name, in any case.
func (d *dynamic) lookup(name string) (string, bool) {
	for _, ts := range d.sets {
		if strings.EqualFold(ts.Name, strings.TrimSpace(name)) {
			return ts.Name, true
		}
	}
	return "", false
}

func (d *dynamic) names() []string {
	out := make([]string, len(d.sets))
	for i, ts := range d.sets {
		out[i] = ts.Name
	}
	return out
}

func (d *dynamic) firstSet() string {
	if len(d.sets) == 0 {
		return ""
	}
	return d.sets[0].Name
}

// awaitForwarded waits, briefly, until the session's transport has taken
// the notification just queued, and gives it a moment to write it. Over
// streamable HTTP, mcp-go v1.2.1 forwards a notification queued during a
// POST on that POST's response, but drops it if the response is finished
// between the forwarder taking it and writing it (its PR #969), so a
// handler that returns at once loses its notification now and then: this
// one is the client's only word that its tool list changed.
func awaitForwarded(ctx context.Context) {
	cs := mcpserver.ClientSessionFromContext(ctx)
	if cs == nil {
		return
	}
	ch := cs.NotificationChannel()
	for range 100 {
		if len(ch) == 0 {
			time.Sleep(5 * time.Millisecond) // the forwarder writes it
			return
		}
		time.Sleep(time.Millisecond)
	}
}
