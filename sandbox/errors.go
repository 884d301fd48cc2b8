package sandbox

import (
	"crypto/rand"
	"fmt"
	"net/http"
)

// apiError is a Graph API error answer: {"error":{message,type,code,error_subcode?,
// is_transient?,error_user_title?,error_user_msg?,error_data?,fbtrace_id}}.
type apiError struct {
	status      int
	message     string
	typ         string
	code        int
	subcode     int
	transient   *bool
	userTitle   string
	userMsg     string
	errorData   any // map for messaging errors, plain string for template management
	wwwAuthHint string
}

func (e *apiError) Error() string { return fmt.Sprintf("graph error %d: %s", e.code, e.message) }

func (e *apiError) body(traceID string) object {
	inner := object{
		{"message", e.message},
		{"type", e.typ},
		{"code", e.code},
	}
	if e.subcode != 0 {
		inner = append(inner, kv{"error_subcode", e.subcode})
	}
	if e.transient != nil {
		inner = append(inner, kv{"is_transient", *e.transient})
	}
	if e.userTitle != "" {
		inner = append(inner, kv{"error_user_title", e.userTitle})
	}
	if e.userMsg != "" {
		inner = append(inner, kv{"error_user_msg", e.userMsg})
	}
	if e.errorData != nil {
		inner = append(inner, kv{"error_data", e.errorData})
	}
	inner = append(inner, kv{"fbtrace_id", traceID})
	return object{{"error", inner}}
}

func boolPtr(b bool) *bool { return &b }

// errAuth is what Graph answers for a missing, malformed or wrong access token.
func errAuth() *apiError {
	return &apiError{
		status:      http.StatusUnauthorized,
		message:     "Invalid OAuth access token - Cannot parse access token",
		typ:         "OAuthException",
		code:        190,
		wwwAuthHint: `OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token - Cannot parse access token"`,
	}
}

// errNoObject is Graph's answer for an id that does not exist (or that the token cannot see),
// or for a method the object does not support.
func errNoObject(method, id string) *apiError {
	return &apiError{
		status: http.StatusBadRequest,
		message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded "+
			"due to missing permissions, or does not support this operation. Please read the Graph API "+
			"documentation at https://developers.facebook.com/docs/graph-api", methodWord(method), id),
		typ:     "GraphMethodException",
		code:    100,
		subcode: 33,
	}
}

func methodWord(m string) string {
	switch m {
	case http.MethodGet:
		return "get"
	case http.MethodPost:
		return "post"
	case http.MethodDelete:
		return "delete"
	default:
		return "request"
	}
}

// errUnknownPath is Graph's answer for a path it cannot route at all, e.g. an invalid
// version segment ("v2.80" gives code 2500 "Unknown path components").
func errUnknownPath(path string) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		message: "Unknown path components: " + path,
		typ:     "OAuthException",
		code:    2500,
	}
}

// errNoField is Graph's answer for an unknown field or edge on a known node.
func errNoField(field, nodeType string) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		message: fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (%s)", field, nodeType),
		typ:     "OAuthException",
		code:    100,
	}
}

// errParam is a Graph parameter-validation error (code 100), e.g. "(#100) The parameter to is required.".
func errParam(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, message: "(#100) " + msg, typ: "OAuthException", code: 100}
}

// errMsg is a Cloud API messaging error: "(#code) title" plus error_data {messaging_product, details}.
func errMsg(status, code int, title, details string) *apiError {
	return &apiError{
		status:    status,
		message:   fmt.Sprintf("(#%d) %s", code, title),
		typ:       "OAuthException",
		code:      code,
		errorData: object{{"messaging_product", "whatsapp"}, {"details", details}},
	}
}

// withData adds messaging error_data to a code-100 parameter error raised on a messaging
// route, where Meta attaches {messaging_product, details} to every error.
func (e *apiError) withData(details string) *apiError {
	e.errorData = object{{"messaging_product", "whatsapp"}, {"details", details}}
	return e
}

// errTemplate is a template-management error: code 100 "Invalid parameter" with a 2388xxx
// subcode, user title/message, and error_data as a plain string (Meta does this; docs/cloud-api.md#error-shape).
func errTemplate(subcode int, title, msg string) *apiError {
	return &apiError{
		status:    http.StatusBadRequest,
		message:   "Invalid parameter",
		typ:       "OAuthException",
		code:      100,
		subcode:   subcode,
		transient: boolPtr(false),
		userTitle: title,
		userMsg:   msg,
		errorData: msg,
	}
}

const traceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// newTraceID returns an fbtrace_id lookalike ("Az8or2yhqkZfEZ-_4Qn_Bam").
func newTraceID() string {
	var b [23]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = traceAlphabet[int(b[i])%len(traceAlphabet)]
	}
	return string(b[:])
}
