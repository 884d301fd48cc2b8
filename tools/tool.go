// Package tools holds what every tool of the catalog shares: the declaration
// type (name, title, description, toolset, annotations, schemas, handler), the
// {successful, data, error} envelope, strict input decoding and validation.
//
// It knows nothing of WhatsApp: the tools live in the packages that own the
// behaviour (actions, triggers), the catalog package assembles them, and the
// server only loops over []Tool.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sync"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/failure"
)

// Toolset is a group of tools an operator can enable as one (the way
// github-mcp-server groups its tools). The catalog declares its toolsets and
// their order; each Tool names the one it belongs to.
type Toolset struct {
	Name        string
	Description string
}

// About is what a catalog says about itself to the surfaces that serve it:
// the server's name, what its tools reach, the opening of the instructions
// given to a model, and its toolsets in their documented order.
type About struct {
	// Name is announced at MCP initialize and titles the OpenAPI document.
	Name string
	// API names what the tools reach, for messages ("nothing was sent to
	// <API>") and the OpenAPI text.
	API string
	// Instructions open the instructions given to the model; the enabled
	// tools' Hints follow.
	Instructions string
	// Toolsets describe the catalog's toolsets, in order.
	Toolsets []Toolset
	// ToolPrefix begins the names of the catalog's tools (WHATSAPP_); the
	// server's own tools (the discovery tools of dynamic toolsets) take it
	// too, so they read as the catalog's.
	ToolPrefix string
}

// Annotations is the complete MCP annotation set. All four are always set:
// mcp-go's defaults are pessimistic (destructive) and clients read them.
type Annotations struct {
	ReadOnly    bool `json:"readOnlyHint"`
	Destructive bool `json:"destructiveHint"`
	Idempotent  bool `json:"idempotentHint"`
	OpenWorld   bool `json:"openWorldHint"`
}

// Tool is one declared tool of the catalog, ready to be registered on any
// surface (MCP, REST, CLI).
type Tool struct {
	Name        string
	Title       string
	Description string
	Toolset     string
	Annotations Annotations
	// Hints are paragraphs of the server's instructions that this tool
	// brings: given to the model only while the tool is enabled, so a
	// renamed or filtered tool cannot leave a stale hint. Tools that share a
	// hint carry the same text; the server gives it once.
	Hints []string
	// ListData marks the list tools whose data is an array.
	ListData     bool
	InputSchema  json.RawMessage
	OutputSchema json.RawMessage
	// Example is a valid input, used in docs and checked by tests.
	Example json.RawMessage
	// MaxInputBytes is the largest input (the JSON arguments) the tool
	// accepts; 0 means the serving surface's default for ordinary tools.
	// The HTTP surfaces refuse a larger body before reading it, and hold
	// the bodies above their default within a memory bound.
	MaxInputBytes int64
	// Task: the tool may run as an MCP task (execution.taskSupport
	// optional); see AsTask.
	Task bool

	call func(ctx context.Context, args json.RawMessage) Result
	// check is call's input half: decode, Prepare, validate (benchmarks).
	check func(ctx context.Context, args json.RawMessage) error
}

// Call decodes and validates args, runs the handler and returns the envelope.
// It never panics on bad input and never returns a Go error: every failure is
// an envelope with Successful=false, which surfaces as an isError result.
func (t Tool) Call(ctx context.Context, args json.RawMessage) Result {
	return t.call(ctx, args)
}

// Paging is the paging block of a list tool's result: the cursor of the
// next page, and nothing else of Graph's block. Graph's next and previous
// are URLs: they name the Graph host (the emulator's loopback address in
// sandbox mode) and Meta may write the access token into their query even
// when the request sent it in a header, so they never reach a model.
type Paging struct {
	Cursors PagingCursors `json:"cursors"`
}

// PagingCursors are the cursors a list tool returns.
type PagingCursors struct {
	// Before is Graph's cursor to the start of this page, as Meta gave it.
	Before string `json:"before,omitempty"`
	// After is the cursor to pass as `after` for the next page; it is set
	// only when there is one (Meta sends no next link on the last page).
	After string `json:"after,omitempty"`
}

// PagingOf keeps the cursors of a Graph paging block (see Paging); nil when
// there is no cursor to pass on. The after cursor is taken from the
// cursors, or else from the next link's after parameter, and only when
// Meta gave a next link.
func PagingOf(p *cloudapi.Paging) *Paging {
	if p == nil {
		return nil
	}
	var c PagingCursors
	if p.Cursors != nil {
		c.Before = p.Cursors.Before
	}
	if p.Next != "" {
		if p.Cursors != nil && p.Cursors.After != "" {
			c.After = p.Cursors.After
		} else if u, err := url.Parse(p.Next); err == nil {
			c.After = u.Query().Get("after")
		}
	}
	if c == (PagingCursors{}) {
		return nil
	}
	return &Paging{Cursors: c}
}

// Result is the envelope every tool returns, as structuredContent and as text.
type Result struct {
	Successful bool   `json:"successful"`
	Data       any    `json:"data"`
	Error      string `json:"error,omitempty"`
	// Paging is set by the list tools only.
	Paging *Paging `json:"paging,omitempty"`
	// Warnings carry advice that did not stop the action (for example a
	// free-form send to a number outside its 24-hour window).
	Warnings []string `json:"warnings,omitempty"`
	// Kind classifies a failure for transports that map it to a status
	// code; it is not part of the envelope.
	Kind ErrorKind `json:"-"`
}

// ErrorKind classifies failures; the kinds are declared in internal/failure
// so packages like graph can name them without importing us.
type ErrorKind = failure.Kind

// Failure kinds (see internal/failure).
const (
	KindInvalidInput   = failure.InvalidInput
	KindAPI            = failure.API
	KindOutcomeUnknown = failure.OutcomeUnknown
	KindUnavailable    = failure.Unavailable
	KindFailed         = failure.Failed
)

// Kinded is implemented by errors that know their kind.
type Kinded interface {
	ErrorKind() failure.Kind
}

func kindOf(err error) ErrorKind {
	var k Kinded
	if errors.As(err, &k) {
		return k.ErrorKind()
	}
	return KindFailed
}

// JSON renders the envelope; it cannot fail for the types we put in it, so a
// failure is reported inside an envelope rather than lost.
func (r Result) JSON() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(Result{Successful: false, Data: map[string]any{}, Error: "internal error: cannot encode result: " + err.Error()})
	}
	return b
}

// Def declares a tool. In is the input struct (json, jsonschema and validate
// tags); Out is the type of data on success.
type Def[In, Out any] struct {
	Name        string
	Title       string
	Description string
	Toolset     string
	Annotations Annotations
	// Hints: see Tool.Hints.
	Hints []string
	// Example is a valid input for docs and tests.
	Example string
	// MaxInputBytes: see Tool.MaxInputBytes. Set it only on tools whose
	// legal input can be large (a file as base64).
	MaxInputBytes int64
	// Task: see Tool.Task. The handler asks AsTask whether to do the whole
	// work or return at once.
	Task bool
	// Data, when set, is a value whose type documents data in the output
	// schema instead of Out: handlers that pass Graph objects through
	// (map[string]any) still get a descriptive schema.
	Data any
	// Prepare, when set, applies the rules that depend on the server's
	// configuration (the declaration closes over it). It runs after the
	// input's Normalize and before its tags and Check, may rewrite the
	// input, and its offending fields are named with theirs, in one error.
	// Warnings it adds with Warn reach the result when the call goes on.
	Prepare func(ctx context.Context, in *In) []FieldError
	Handler func(ctx context.Context, in *In) (Out, error)
}

// New turns a declaration into a Tool, reflecting its input and output
// schemas once.
func New[In, Out any](d Def[In, Out]) Tool {
	var out Out
	list := reflect.TypeOf(out) != nil && reflect.TypeOf(out).Kind() == reflect.Slice
	t := Tool{
		Name:          d.Name,
		Title:         d.Title,
		Description:   d.Description,
		Toolset:       d.Toolset,
		Annotations:   d.Annotations,
		Hints:         d.Hints,
		ListData:      list,
		InputSchema:   InputSchema[In](),
		OutputSchema:  outputSchema[Out](d.Data, list),
		MaxInputBytes: d.MaxInputBytes,
		Task:          d.Task,
	}
	if d.Example != "" {
		t.Example = json.RawMessage(d.Example)
	}
	checkInto := func(ctx context.Context, args json.RawMessage, in *In) error {
		var prepare func() []FieldError
		if d.Prepare != nil {
			prepare = func() []FieldError { return d.Prepare(ctx, in) }
		}
		return check(args, in, prepare)
	}
	t.check = func(ctx context.Context, args json.RawMessage) error {
		return checkInto(context.WithValue(ctx, collectorKey{}, &collector{}), args, new(In))
	}
	t.call = func(ctx context.Context, args json.RawMessage) Result {
		in := new(In)
		col := &collector{}
		ctx = context.WithValue(ctx, collectorKey{}, col)
		if err := checkInto(ctx, args, in); err != nil {
			// Warnings of a call that stops here would speak of a send
			// that did not happen.
			return Result{Data: emptyData(list), Error: err.Error(), Kind: KindInvalidInput}
		}
		data, err := d.Handler(ctx, in)
		col.mu.Lock()
		defer col.mu.Unlock()
		if err != nil {
			fail := emptyData(list)
			if !list {
				// A list tool's output schema types data as an array: its
				// failure details stay in error, data stays [].
				fail = failureData(err, fail)
			}
			return Result{Data: fail, Error: Describe(err), Warnings: col.warnings, Kind: kindOf(err)}
		}
		var dv any = data
		if isNil(dv) {
			dv = emptyData(list)
		}
		return Result{Successful: true, Data: dv, Paging: col.paging, Warnings: col.warnings}
	}
	return t
}

func emptyData(list bool) any {
	if list {
		return []any{}
	}
	return map[string]any{}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// Describer is implemented by errors that know how to explain themselves to
// a model (Meta's code, what it means, what to do).
type Describer interface {
	Describe() string
}

// DataError is implemented by errors that carry details worth returning in
// data on failure (docs/cloud-api.md#the-catalog: "{} on failure unless details help").
type DataError interface {
	FailureData() map[string]any
}

// Describe renders err for a model.
func Describe(err error) string {
	var d Describer
	if errors.As(err, &d) {
		return d.Describe()
	}
	return err.Error()
}

func failureData(err error, empty any) any {
	var d DataError
	if errors.As(err, &d) {
		if m := d.FailureData(); m != nil {
			return m
		}
	}
	return empty
}

type collectorKey struct{}

type collector struct {
	mu       sync.Mutex
	warnings []string
	paging   *Paging
}

// Warn adds a warning to the result of the tool call running in ctx.
func Warn(ctx context.Context, format string, args ...any) {
	if c, ok := ctx.Value(collectorKey{}).(*collector); ok {
		c.mu.Lock()
		c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
		c.mu.Unlock()
	}
}

// SetPaging sets the paging block of the list tool call running in ctx from
// Graph's: its cursors only (see PagingOf).
func SetPaging(ctx context.Context, p *cloudapi.Paging) {
	if c, ok := ctx.Value(collectorKey{}).(*collector); ok {
		c.mu.Lock()
		c.paging = PagingOf(p)
		c.mu.Unlock()
	}
}

// Descriptor is a tool as the catalog publishes it (`whatsapp-mcp tools`,
// the schemas/ files): the same keys MCP's tools/list uses.
type Descriptor struct {
	Name         string          `json:"name"`
	Title        string          `json:"title"`
	Description  string          `json:"description"`
	Toolset      string          `json:"toolset"`
	Annotations  Annotations     `json:"annotations"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema"`
	Example      json.RawMessage `json:"example,omitempty"`
}

// Descriptor returns the tool's published description.
func (t Tool) Descriptor() Descriptor {
	return Descriptor{Name: t.Name, Title: t.Title, Description: t.Description, Toolset: t.Toolset,
		Annotations: t.Annotations, InputSchema: t.InputSchema, OutputSchema: t.OutputSchema, Example: t.Example}
}
