package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// DefaultRESTMaxBody bounds a REST request body. Uploads carry the file as
// base64 (a 100 MB document is about 134 MB of JSON), so it is large.
const DefaultRESTMaxBody int64 = 150 << 20

// RESTOptions configure the REST face. The zero value serves without auth,
// with DefaultRESTMaxBody and DefaultCallTimeout.
type RESTOptions struct {
	// BearerToken, when set, makes every /v1/ route require
	// "Authorization: Bearer <BearerToken>" (compared in constant time).
	BearerToken string
	// MaxBodyBytes bounds a request body (default DefaultRESTMaxBody);
	// larger bodies are refused with 413 before any tool runs.
	MaxBodyBytes int64
	// Disabled names the tools of the full catalog that the server's
	// filters disabled, with the reason: they answer 404 "disabled by this
	// server's configuration" instead of "no such action".
	Disabled map[string]string
	// Call runs a tool. Default: tool.Call with CallTimeout, a panic turned
	// into a failed envelope. Server.REST sets it to the MCP call path
	// (same deadline, recovery and logging as tools/call).
	Call func(ctx context.Context, t tools.Tool, args json.RawMessage) tools.Result
	// CallTimeout bounds a call when Call is not set (default DefaultCallTimeout).
	CallTimeout time.Duration
	// ServerURL is servers[0].url of the served OpenAPI document (default
	// "/", relative to where it is served). Set it when a proxy mounts the
	// REST face under another prefix or host.
	ServerURL string
	// Logger receives operational logs. Default: discard.
	Logger *slog.Logger
}

// RESTHandler serves the REST face of catalog (the tools the server
// enabled, already filtered) for automation platforms, under /v1/:
//
//	GET  /v1/actions                 {"actions": [Action…]} in catalog order
//	GET  /v1/actions/{name}          one Action
//	POST /v1/actions/{name}/execute  body = the tool input; answer = the tool's envelope
//	GET  /v1/openapi.json            the OpenAPI 3.1 document of the above
//
// Execute runs tool.Call, so validation and the envelope are exactly those
// of the MCP tool. The HTTP status classifies the envelope:
// StatusActionOK (200), StatusActionInvalid (422, nothing sent),
// StatusActionGraph (502, the Graph API answered an error),
// StatusActionFailed (500, anything else); 413 when the body is over
// MaxBodyBytes. Unknown and disabled actions are 404, a missing or wrong
// token 401, a wrong method 405; those bodies are envelope-shaped too:
// {"successful": false, "data": {…}, "error": "…"}.
//
// Mount it on the HTTP listener with Route{Pattern: RESTPrefix, Handler: …}
// (or use Server.RESTRoute).
func RESTHandler(catalog []tools.Tool, opts RESTOptions) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultRESTMaxBody
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &restHandler{opts: opts, byName: map[string]tools.Tool{}}
	if h.opts.Call == nil {
		h.opts.Call = h.defaultCall
	}
	for _, t := range catalog {
		h.byName[t.Name] = t
		h.names = append(h.names, t.Name)
		h.actions = append(h.actions, newRESTAction(t))
	}
	sort.Strings(h.names)
	h.openapi, h.openapiErr = OpenAPI(catalog, opts.ServerURL)
	if h.openapiErr != nil {
		opts.Logger.Error("REST: cannot build the OpenAPI document", "error", h.openapiErr)
	}

	mux := http.NewServeMux()
	mux.HandleFunc(RESTActionsPath, h.list)
	mux.HandleFunc(RESTActionsPath+"/{name}", h.get)
	mux.HandleFunc(RESTActionsPath+"/{name}/execute", h.execute)
	mux.HandleFunc(RESTOpenAPIPath, h.serveOpenAPI)
	mux.HandleFunc(RESTPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeFailure(w, http.StatusNotFound, fmt.Sprintf("no REST route %s %s: use GET %s, GET %s/{name}, POST %s/{name}/execute or GET %s",
			r.Method, r.URL.Path, RESTActionsPath, RESTActionsPath, RESTActionsPath, RESTOpenAPIPath), nil)
	})
	if opts.BearerToken == "" {
		return mux
	}
	return restAuth(opts.BearerToken, mux)
}

// REST is RESTHandler for this server's enabled tools, with its filters'
// reasons for the disabled ones, its call path (deadline, recovery,
// logging) and, unless opts says otherwise, its HTTP bearer token.
func (s *Server) REST(opts RESTOptions) http.Handler {
	if opts.BearerToken == "" {
		opts.BearerToken = s.opts.HTTPToken
	}
	if opts.Call == nil {
		opts.Call = s.call
	}
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	disabled := make(map[string]string, len(s.disabled)+len(opts.Disabled))
	for k, v := range s.disabled {
		disabled[k] = v
	}
	for k, v := range opts.Disabled {
		disabled[k] = v
	}
	opts.Disabled = disabled
	return RESTHandler(s.Tools(), opts)
}

// RESTRoute is the REST face as a Route for HTTPHandler and Serve. It does
// its own bearer check (envelope-shaped 401), so Auth is false.
func (s *Server) RESTRoute(opts RESTOptions) Route {
	return Route{Pattern: RESTPrefix, Handler: s.REST(opts)}
}

// restAction is one entry of GET /v1/actions.
type restAction struct {
	Name         string            `json:"name"`
	Title        string            `json:"title"`
	Description  string            `json:"description"`
	Toolset      string            `json:"toolset"`
	Annotations  tools.Annotations `json:"annotations"`
	InputSchema  json.RawMessage   `json:"input_schema"`
	OutputSchema json.RawMessage   `json:"output_schema"`
	Example      json.RawMessage   `json:"example,omitempty"`
	ExecutePath  string            `json:"execute_path"`
}

func newRESTAction(t tools.Tool) restAction {
	in, out := t.InputSchema, t.OutputSchema
	if len(in) == 0 {
		in = json.RawMessage(`{"type":"object"}`)
	}
	if len(out) == 0 {
		out = json.RawMessage(`{"type":"object"}`)
	}
	return restAction{
		Name: t.Name, Title: t.Title, Description: t.Description, Toolset: t.Toolset,
		Annotations: t.Annotations, InputSchema: in, OutputSchema: out, Example: t.Example,
		ExecutePath: ExecutePath(t.Name),
	}
}

type restHandler struct {
	opts       RESTOptions
	byName     map[string]tools.Tool
	names      []string // sorted
	actions    []restAction
	openapi    []byte
	openapiErr error
}

func (h *restHandler) list(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	writeRESTJSON(w, http.StatusOK, map[string]any{"actions": h.actions})
}

func (h *restHandler) get(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	t, ok := h.lookup(w, r.PathValue("name"))
	if !ok {
		return
	}
	writeRESTJSON(w, http.StatusOK, newRESTAction(t))
}

func (h *restHandler) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	if h.openapiErr != nil {
		writeFailure(w, http.StatusInternalServerError, "the OpenAPI document cannot be built: "+h.openapiErr.Error(), nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(h.openapi)
}

func (h *restHandler) execute(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	t, ok := h.lookup(w, r.PathValue("name"))
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeFailure(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"the request body is larger than this server accepts (%d bytes); nothing was sent to WhatsApp. For large files use file_to_upload.path, or ask the operator to raise the limit", h.opts.MaxBodyBytes), nil)
			return
		}
		writeFailure(w, http.StatusBadRequest, "cannot read the request body: "+err.Error(), nil)
		return
	}
	res := h.opts.Call(r.Context(), t, body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(RESTStatus(res))
	_, _ = w.Write(res.JSON())
}

// RESTStatus is the HTTP status of an execute answer carrying res (see the
// StatusAction constants). It maps the failure's kind, never its text.
func RESTStatus(res tools.Result) int {
	if res.Successful {
		return StatusActionOK
	}
	switch res.Kind {
	case tools.KindInvalidInput:
		return StatusActionInvalid
	case tools.KindAPI, tools.KindOutcomeUnknown, tools.KindUnavailable:
		// The upstream (Graph API) failed, or its answer was lost.
		return StatusActionGraph
	}
	return StatusActionFailed
}

// lookup finds an enabled tool or answers 404, saying whether the name is
// unknown or disabled and listing the enabled names.
func (h *restHandler) lookup(w http.ResponseWriter, name string) (tools.Tool, bool) {
	if t, ok := h.byName[name]; ok {
		return t, true
	}
	data := map[string]any{"valid_actions": h.names}
	if why, off := h.opts.Disabled[name]; off {
		writeFailure(w, http.StatusNotFound, fmt.Sprintf("action %s is disabled by this server's configuration: %s", name, why), data)
		return tools.Tool{}, false
	}
	msg := fmt.Sprintf("no action is named %q", name)
	for _, n := range h.names {
		if strings.EqualFold(n, name) {
			msg += fmt.Sprintf(" (names are case-sensitive: did you mean %s?)", n)
			break
		}
	}
	writeFailure(w, http.StatusNotFound, msg+"; valid actions: "+strings.Join(h.names, ", "), data)
	return tools.Tool{}, false
}

// defaultCall runs a tool with a deadline and turns a panic into a failed
// envelope, for RESTHandler used without a Server.
func (h *restHandler) defaultCall(ctx context.Context, t tools.Tool, args json.RawMessage) (res tools.Result) {
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.opts.CallTimeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			h.opts.Logger.Error("tool panicked", "tool", t.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res = tools.Result{Data: map[string]any{}, Error: "internal error in the server while running " + t.Name + "; nothing more is known about whether it took effect"}
		}
	}()
	return t.Call(ctx, args)
}

// allow answers 405 unless r uses method (GET also allows HEAD).
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	allowed := method
	if method == http.MethodGet {
		allowed = "GET, HEAD"
	}
	w.Header().Set("Allow", allowed)
	writeFailure(w, http.StatusMethodNotAllowed, fmt.Sprintf("use %s for %s", method, r.URL.Path), nil)
	return false
}

func restAuth(token string, next http.Handler) http.Handler {
	// Fixed-length digests keep the comparison constant-time whatever the
	// length of the presented token.
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="whatsapp-mcp"`)
			writeFailure(w, http.StatusUnauthorized, "missing or wrong bearer token: send Authorization: Bearer <the WHATSAPP_MCP_TOKEN of this server>", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeFailure writes an envelope-shaped error.
func writeFailure(w http.ResponseWriter, status int, msg string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(tools.Result{Data: data, Error: msg}.JSON())
}

func writeRESTJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeFailure(w, http.StatusInternalServerError, "internal error: cannot encode the answer: "+err.Error(), nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
