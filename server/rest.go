package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// RESTOptions configure the REST face. The zero value serves each tool's
// input cap and a relative server URL; auth, deadlines, recovery, logging
// and the budget of large bodies are the Server's.
type RESTOptions struct {
	// MaxBodyBytes, when positive, lowers every tool's input cap
	// (tools.Tool.MaxInputBytes, else DefaultMaxInputBytes) to at most
	// this; a larger body is refused with 413 before any tool runs.
	MaxBodyBytes int64
	// ServerURL is servers[0].url of the served OpenAPI document (default
	// "/", relative to where it is served). Set it when a proxy mounts the
	// REST face under another prefix or host.
	ServerURL string
}

// REST serves the REST face of the server's enabled tools for automation
// platforms, under /v1/:
//
//	GET  /v1/actions                 {"actions": [Action…]} in catalog order
//	GET  /v1/actions/{name}          one Action
//	POST /v1/actions/{name}/execute  body = the tool input; answer = the tool's envelope
//	GET  /v1/openapi.json            the OpenAPI 3.1 document of the above
//
// An Action is the tool's tools.Descriptor (the keys of MCP's tools/list)
// plus its execute_path. Execute runs the tool through the same call path
// as tools/call (deadline, recovery, logging), so validation and the
// envelope are exactly those of the MCP tool; the HTTP status classifies
// the envelope (restOutcomes). Unknown and disabled actions are 404, a
// missing or wrong token 401 (when Options.HTTPToken is set), a request a
// web page could have sent 403 or 415 (guard), a wrong method 405, a body
// over MaxBodyBytes 413; those bodies are
// envelope-shaped too: {"successful": false, "data": {…}, "error": "…"}.
func (s *Server) REST(opts RESTOptions) http.Handler {
	h := &restHandler{srv: s, opts: opts}
	for _, t := range s.enabled {
		h.names = append(h.names, t.Name)
		h.actions = append(h.actions, newRESTAction(t))
	}
	sort.Strings(h.names)
	h.openapi, h.openapiErr = s.OpenAPI(opts.ServerURL)
	if h.openapiErr != nil {
		s.log.Error("REST: cannot build the OpenAPI document", "error", h.openapiErr)
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
	return s.protect(mux)
}

// RESTRoute is the REST face as a Route for HTTPHandler and Serve. REST
// does its own browser and bearer checks, so Auth is false.
func (s *Server) RESTRoute(opts RESTOptions) Route {
	return Route{Pattern: RESTPrefix, Handler: s.REST(opts)}
}

// restAction is one entry of GET /v1/actions: the published descriptor and
// where to run it.
type restAction struct {
	tools.Descriptor
	ExecutePath string `json:"execute_path"`
}

func newRESTAction(t tools.Tool) restAction {
	return restAction{Descriptor: t.Descriptor(), ExecutePath: ExecutePath(t.Name)}
}

type restHandler struct {
	srv        *Server
	opts       RESTOptions
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
	body, release, berr := h.srv.readToolBody(r, t, h.opts.MaxBodyBytes)
	if berr != nil {
		berr.header(w)
		msg := berr.msg
		if berr.status == http.StatusRequestEntityTooLarge {
			msg = strings.TrimSuffix(msg, "nothing was done") + "nothing was sent to " + h.srv.opts.About.API + ". Pass large files by path where the tool allows it"
		}
		writeFailure(w, berr.status, msg, nil)
		return
	}
	defer release()
	res := h.srv.call(r.Context(), t, body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(RESTStatus(res))
	_, _ = w.Write(res.JSON())
}

// restOutcome is one HTTP status of execute: the failure kinds it answers
// (none: success) and what it means. RESTStatus and the OpenAPI document
// both read restOutcomes, so the document cannot promise another status
// than the code answers.
type restOutcome struct {
	status int
	kinds  []tools.ErrorKind
	doc    string // %[1]s is Options.API
}

var restOutcomes = []restOutcome{
	{http.StatusOK, nil,
		"The action succeeded: the envelope with successful true."},
	{http.StatusUnprocessableEntity, []tools.ErrorKind{tools.KindInvalidInput},
		"Invalid input; nothing was sent to %[1]s. data.invalid_fields lists each field and the rule it breaks."},
	{http.StatusBadGateway, []tools.ErrorKind{tools.KindAPI, tools.KindOutcomeUnknown, tools.KindUnavailable},
		"%[1]s answered with an error, could not be reached in time, or its answer was lost (a write may then have taken effect); data has the upstream error's details when there was one, and error explains what to do."},
	{http.StatusInternalServerError, []tools.ErrorKind{tools.KindFailed},
		"Any other failure (the server's configuration, an internal error); error says what to do."},
}

// RESTStatus is the HTTP status of an execute answer carrying res. It maps
// the failure's kind, never its text; an unknown kind is a 500.
func RESTStatus(res tools.Result) int {
	if res.Successful {
		return http.StatusOK
	}
	for _, o := range restOutcomes {
		if slices.Contains(o.kinds, res.Kind) {
			return o.status
		}
	}
	return http.StatusInternalServerError
}

// lookup finds an enabled tool or answers 404, saying whether the name is
// unknown or disabled and listing the enabled names.
func (h *restHandler) lookup(w http.ResponseWriter, name string) (tools.Tool, bool) {
	if t, ok := h.srv.byName[name]; ok {
		return t, true
	}
	data := map[string]any{"valid_actions": h.names}
	if why, off := h.srv.disabled[name]; off {
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
