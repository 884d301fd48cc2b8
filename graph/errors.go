package graph

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/failure"
)

// Error codes we act on (docs/cloud-api.md#error-codes).
const (
	CodeAppRateLimit     = 4
	CodeInvalidParameter = 100
	CodeInvalidToken     = 190 // invalid or expired; the subcode says which
	CodeWABARateLimit    = 80007
	CodeThroughput       = 130429
	CodeReengagement     = 131047
	CodeUndeliverable    = 131026
	CodePairRateLimit    = 131056
	CodeMaintenance      = 131057
	CodeTemplateParams   = 132000
	CodeTemplateMissing  = 132001
)

// Error is a Graph API error answer:
// {"error":{"message","type","code","error_subcode","error_data","is_transient","fbtrace_id"}}.
type Error struct {
	HTTPStatus int    `json:"-"`
	Method     string `json:"-"`
	Path       string `json:"-"`

	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
	Subcode int    `json:"error_subcode,omitempty"`
	// ErrorData is an object {messaging_product, details} for messaging
	// errors but a plain string for some template errors (docs/cloud-api.md#error-shape).
	ErrorData   json.RawMessage `json:"error_data,omitempty"`
	IsTransient bool            `json:"is_transient,omitempty"`
	UserTitle   string          `json:"error_user_title,omitempty"`
	UserMsg     string          `json:"error_user_msg,omitempty"`
	FBTraceID   string          `json:"fbtrace_id,omitempty"`
}

// ErrorKind marks Graph API answers for transports (REST maps it to 502).
func (e *Error) ErrorKind() failure.Kind { return failure.API }

func (e *Error) Error() string {
	s := fmt.Sprintf("graph: %s %s: HTTP %d: code %d", e.Method, e.Path, e.HTTPStatus, e.Code)
	if e.Subcode != 0 {
		s += fmt.Sprintf("/%d", e.Subcode)
	}
	s += ": " + e.Message
	if e.FBTraceID != "" {
		s += " (fbtrace_id " + e.FBTraceID + ")"
	}
	return s
}

// Details returns error_data.details, or error_data itself when Meta sent a string.
func (e *Error) Details() string {
	if len(e.ErrorData) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(e.ErrorData, &s) == nil {
		return s
	}
	var obj struct {
		Details string `json:"details"`
	}
	if json.Unmarshal(e.ErrorData, &obj) == nil {
		return obj.Details
	}
	return string(e.ErrorData)
}

// Throttled reports the codes with which Meta says the request was not
// processed and may be retried after a wait.
func (e *Error) Throttled() bool {
	switch e.Code {
	case CodeAppRateLimit, CodeWABARateLimit, CodeThroughput, CodePairRateLimit, CodeMaintenance:
		return true
	}
	return false
}

// Describe explains the error to a model: Meta's code and words, what the
// code means, what to do, and the fbtrace_id Meta support asks for.
func (e *Error) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "WhatsApp Cloud API error %d", e.Code)
	if e.Subcode != 0 {
		fmt.Fprintf(&b, " (subcode %d)", e.Subcode)
	}
	fmt.Fprintf(&b, ", HTTP %d: %s", e.HTTPStatus, strings.TrimSpace(e.Message))
	if d := e.Details(); d != "" && !strings.Contains(e.Message, d) {
		fmt.Fprintf(&b, ". Details: %s", d)
	}
	if e.UserMsg != "" {
		fmt.Fprintf(&b, ". %s", e.UserMsg)
	}
	meaning, action, ok := Explain(e.Code, e.Subcode)
	if e.Code == 0 && e.Type == "" {
		// No Meta error envelope (e.g. an HTML 502 from a proxy): code 0 is
		// then our zero value, not Meta's AuthException.
		ok = false
	}
	if ok {
		fmt.Fprintf(&b, ". Meaning: %s. What to do: %s", meaning, action)
	} else if e.HTTPStatus >= 500 {
		b.WriteString(". Meaning: a temporary problem on Meta's side. What to do: retry in a little while")
	}
	if e.FBTraceID != "" {
		fmt.Fprintf(&b, ". fbtrace_id: %s", e.FBTraceID)
	}
	return b.String()
}

// FailureData gives the client Meta's fields on failure.
func (e *Error) FailureData() map[string]any {
	m := map[string]any{"code": e.Code, "http_status": e.HTTPStatus, "type": e.Type, "message": e.Message}
	if e.Subcode != 0 {
		m["error_subcode"] = e.Subcode
	}
	if len(e.ErrorData) > 0 {
		m["error_data"] = e.ErrorData
	}
	if e.FBTraceID != "" {
		m["fbtrace_id"] = e.FBTraceID
	}
	return m
}

type codeInfo struct{ meaning, action string }

func lookupCode(code, subcode int) (codeInfo, bool) {
	if info, ok := subcodes[code][subcode]; ok {
		return info, true
	}
	info, ok := codes[code]
	return info, ok
}

// Explain gives what an error code (refined by its subcode; 0 for none)
// means and what to do next, written for a model, from the one table of
// docs/cloud-api.md#error-codes. It serves every place that explains a
// code: Describe for errors Meta answers, and the status tools for the
// errors of a failed status webhook. ok is false for a code the table does
// not know.
func Explain(code, subcode int) (meaning, action string, ok bool) {
	info, ok := lookupCode(code, subcode)
	return info.meaning, info.action, ok
}

// ErrorCodes lists, in ascending order, every code Explain knows without a
// subcode.
func ErrorCodes() []int {
	return slices.Sorted(maps.Keys(codes))
}

// codes is docs/cloud-api.md#error-codes, written for a model that has to decide its next step.
var codes = map[int]codeInfo{
	0:      {"the access token is invalid, expired or blocked", "the operator must set a valid WHATSAPP_ACCESS_TOKEN (a System User token does not expire); do not retry"},
	1:      {"an unknown API error (invalid request or a server problem)", "check the request; retry once later if it looks right"},
	2:      {"the API is temporarily down or overloaded", "retry after a short wait"},
	3:      {"the app lacks the capability or permission for this call", "the operator must grant the permission in the Meta app; do not retry"},
	4:      {"the app hit its Graph API call rate limit", "slow down and retry later (the window is hourly)"},
	10:     {"permission denied: the token lacks a permission or the number is not eligible", "the operator must grant whatsapp_business_messaging / whatsapp_business_management to the token; do not retry"},
	17:     {"the Graph API user request limit was reached", "slow down and retry in a few minutes"},
	33:     {"the business phone number was deleted", "use another phone_number_id (WHATSAPP_GET_PHONE_NUMBERS lists them)"},
	100:    {"an invalid parameter, or an id that does not exist or this token cannot see", "check the ids and values sent (ids come from WHATSAPP_GET_PHONE_NUMBERS, WHATSAPP_GET_MESSAGE_TEMPLATES, WHATSAPP_UPLOAD_MEDIA); do not retry unchanged"},
	190:    {"the access token is invalid or has expired (no known subcode says which)", "the operator must check WHATSAPP_ACCESS_TOKEN (copied whole, not revoked) or provide a new one; do not retry"},
	200:    {"an API permission is missing", "the operator must grant the permission to the token; do not retry"},
	341:    {"the app's Graph API call limit was reached", "slow down and retry in a few minutes"},
	368:    {"the account is temporarily blocked for policy violations", "stop sending; the business must resolve it in WhatsApp Manager"},
	613:    {"a Graph API custom rate limit was reached", "slow down and retry in a few minutes"},
	80007:  {"the WhatsApp Business Account hit its rate limit for management calls", "wait and retry later; reduce template and phone-number lookups"},
	80008:  {"the business-use-case rate limit of this WhatsApp Business Account was reached", "slow down and retry later"},
	130429: {"the phone number's message throughput (messages per second) was reached", "retry after a few seconds and send more slowly"},
	130472: {"the recipient is part of a Meta experiment and did not get the marketing message", "nothing to fix; do not resend now"},
	130497: {"this business may not message users in that country", "do not retry"},
	131000: {"something went wrong on Meta's side", "retry a few times later; if it persists contact Meta with the fbtrace_id"},
	131005: {"access denied", "check the token's permissions; do not retry"},
	131008: {"a required parameter is missing", "add the missing field and call again"},
	131009: {"a parameter value is not valid", "fix the value named in the details and call again"},
	131016: {"the service is temporarily unavailable", "retry after a short wait"},
	131021: {"the recipient is the sender's own number", "send to another number"},
	131026: {"the message is undeliverable: the number is not on WhatsApp, has an old app, has not accepted the terms, or blocked the business", "check the number; do not retry to the same number"},
	131030: {"the recipient is not in the test number's allowed list", "add the number to the allowed list in the Meta app dashboard, or use a production number"},
	131031: {"the business account is locked", "the business must resolve it in WhatsApp Manager; do not retry"},
	131037: {"the number needs an approved display name", "get the display name approved first"},
	131042: {"a business eligibility or payment problem", "the business must fix its payment method in WhatsApp Manager"},
	131045: {"the phone number's registration certificate is wrong", "the operator must register the phone number again on the Cloud API; do not retry"},
	131047: {"more than 24 hours have passed since the customer last wrote, or they never did (outside the customer-service window)", "send an approved template with WHATSAPP_SEND_TEMPLATE_MESSAGE instead of a free-form message"},
	131048: {"the number is spam-rate limited because of quality restrictions", "stop sending for some hours and improve message quality"},
	131049: {"Meta chose not to deliver this marketing message to keep the user's experience healthy", "do not resend it within 24 hours"},
	131050: {"the user stopped marketing messages from this business", "do not send them marketing messages"},
	131051: {"this message type is not supported", "use another message type"},
	131052: {"the media the user sent could not be downloaded", "ask the user to resend it (max 100 MB)"},
	131053: {"the media could not be uploaded or sent: bad link, wrong MIME type or size", "check the media type, MIME type and size limits, or upload the file and send it by id"},
	131056: {"too many messages from this business number to the same user in a short time (pair rate limit)", "wait before sending to this user again (retry after 1, 4, 16 seconds)"},
	131057: {"the business account is in maintenance mode (for example a throughput upgrade)", "retry in about a minute"},
	131059: {"the template list cursor is invalid", "list again without `after`"},
	131062: {"authentication templates cannot be sent to business-scoped user ids", "send to a phone number"},
	131063: {"marketing templates are disabled for this account on the Cloud API", "use a utility template or enable marketing messages"},
	131064: {"the messaging limit was reached because of template classification violations", "wait for the limit to reset"},
	132000: {"the number of template parameters does not match the template's variables", "send exactly one parameter per {{variable}} in `components` (get the template with WHATSAPP_GET_MESSAGE_TEMPLATES to see them)"},
	132001: {"no APPROVED template with this name exists in this language", "check template_name and language_code exactly (en_US is not en) with WHATSAPP_GET_MESSAGE_TEMPLATES status=APPROVED"},
	132005: {"the template text with its parameters is too long", "shorten the parameter values"},
	132007: {"the template breaks the format character policy", "remove disallowed characters from the parameters"},
	132008: {"a template parameter value is not valid", "fix the parameter values"},
	132012: {"a template parameter has the wrong format (for example text where an image header is expected)", "send parameters of the types the template expects"},
	132015: {"the template is paused for low quality", "use another template or edit this one"},
	132016: {"the template is disabled", "use another template"},
	132018: {"the template-send parameters are not valid", "check the components sent"},
	132068: {"the Flow is blocked: its endpoint's error rate, latency or availability became too poor", "fix the Flow's endpoint; the Flow cannot be sent or opened until Meta unblocks it"},
	132069: {"the Flow is throttled because of its endpoint's health: at most 10 messages with it per hour", "wait before sending it again, and fix the Flow's endpoint"},
	133004: {"the server is temporarily unavailable", "retry after a short wait"},
	133010: {"the phone number is not registered on the Cloud API", "register the number first"},
	135000: {"a generic user error", "check the request"},
}

// subcodes refine a code's meaning (docs/cloud-api.md#error-codes); a subcode
// not listed falls back to its code.
var subcodes = map[int]map[int]codeInfo{
	CodeInvalidParameter: invalidParameterSubcodes,
	CodeInvalidToken: {
		460: {"the access token was invalidated because the user who issued it changed their password", "the operator must issue a new WHATSAPP_ACCESS_TOKEN (a System User token is not tied to a password); do not retry"},
		463: {"the access token has expired", "the operator must provide a new WHATSAPP_ACCESS_TOKEN (a System User token does not expire); do not retry"},
		467: {"the access token is invalid (mistyped, truncated, revoked, or the user logged out)", "the operator must check WHATSAPP_ACCESS_TOKEN is copied whole, or issue a new one; do not retry"},
	},
}

var invalidParameterSubcodes = map[int]codeInfo{
	33:      {"the object does not exist, or this access token cannot see it", "check the id (phone_number_id from WHATSAPP_GET_PHONE_NUMBERS, template_id from WHATSAPP_GET_MESSAGE_TEMPLATES, media_id from WHATSAPP_UPLOAD_MEDIA) and that the token belongs to the same business"},
	2388019: {"the WhatsApp Business Account has reached its template limit", "delete unused templates first"},
	2388040: {"a template field is over its character limit", "shorten it (body 1024, header 60, footer 60, button 25)"},
	2388047: {"the template header format is not valid", "fix the HEADER component"},
	2388072: {"the template body format is not valid", "fix the BODY component"},
	2388073: {"the template footer format is not valid", "fix the FOOTER component"},
	2388293: {"too many variables for the template's length", "add more fixed text or use fewer variables"},
	2388299: {"a variable is at the start or end of the template text", "put fixed text before the first and after the last variable"},
	2388024: {"a template with this name already exists in this language", "pick another name or language"},
}

// NetworkError is a failure to get an answer. NotSent is true when no
// connection was made, so nothing can have reached Meta.
type NetworkError struct {
	Method, Path string
	NotSent      bool
	Err          error
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("graph: %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *NetworkError) Unwrap() error { return e.Err }

// ErrorKind marks an unreachable API.
func (e *NetworkError) ErrorKind() failure.Kind { return failure.Unavailable }

// Describe explains a network failure to a model.
func (e *NetworkError) Describe() string {
	return fmt.Sprintf("could not reach the WhatsApp Cloud API (%v); nothing was processed. Retry later; if it persists the operator should check WHATSAPP_GRAPH_URL and the network", e.Err)
}

// OutcomeUnknownError is a write whose request may have reached Meta but
// whose answer was lost (timeout, connection reset). It is never retried:
// the Cloud API has no idempotency key, so a retry could send twice.
type OutcomeUnknownError struct {
	Method, Path string
	Err          error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("graph: %s %s: outcome unknown: %v", e.Method, e.Path, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// ErrorKind marks a write that may have been processed.
func (e *OutcomeUnknownError) ErrorKind() failure.Kind { return failure.OutcomeUnknown }

// Describe warns the model not to resend blindly.
func (e *OutcomeUnknownError) Describe() string {
	return "the request reached the WhatsApp Cloud API but no answer came back (timeout or lost connection): it MAY HAVE BEEN PROCESSED and the message may have been sent. It was not retried, to avoid a duplicate. Before sending again, check whether it arrived (WHATSAPP_GET_MESSAGE_STATUS or WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER when webhooks are configured), or ask the recipient"
}

// FailureData flags the uncertainty in data.
func (e *OutcomeUnknownError) FailureData() map[string]any {
	return map[string]any{"outcome": "unknown", "may_have_been_sent": true}
}
