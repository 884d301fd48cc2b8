package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/invopop/jsonschema"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// TemplateComponentDefs are the components of a template being created,
// passed to Meta as given after our checks (Meta's component set is wide:
// carousels, limited-time offers, OTP buttons…).
type TemplateComponentDefs []map[string]any

// JSONSchema describes the common component fields while allowing the rest.
func (TemplateComponentDefs) JSONSchema() *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set("type", &jsonschema.Schema{Type: "string", Enum: []any{"HEADER", "BODY", "FOOTER", "BUTTONS"},
		Description: "One BODY; at most one of the others."})
	props.Set("format", &jsonschema.Schema{Type: "string", Enum: []any{"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "GIF", "LOCATION"},
		Description: "HEADER only."})
	props.Set("text", &jsonschema.Schema{Type: "string",
		Description: "Variables {{1}}, {{2}} (NAMED: {{name}}), not first or last. BODY ≤1024; HEADER ≤60, one variable; FOOTER ≤60, none."})
	props.Set("example", &jsonschema.Schema{Type: "object",
		Description: "Sample values when the text has variables: {\"body_text\":[[\"v1\",\"v2\"]]} or {\"header_text\":[\"v\"]}."})
	props.Set("buttons", &jsonschema.Schema{Type: "array", MaxItems: ptr(uint64(10)),
		Description: "BUTTONS only: QUICK_REPLY (up to 10, together), URL (2, url ≤2000), PHONE_NUMBER (1), COPY_CODE (1); text ≤25.",
		Items:       &jsonschema.Schema{Type: "object", Required: []string{"type"}}})
	return &jsonschema.Schema{Type: "array", MinItems: ptr(uint64(1)), Items: &jsonschema.Schema{
		Type: "object", Properties: props, Required: []string{"type"}}}
}

func ptr[T any](v T) *T { return &v }

// CreateTemplateInput is the input of WHATSAPP_CREATE_MESSAGE_TEMPLATE.
type CreateTemplateInput struct {
	Name            string                `json:"name" validate:"required,tplname" jsonschema_description:"e.g. order_shipped"`
	Category        string                `json:"category" validate:"required,oneof=AUTHENTICATION MARKETING UTILITY" jsonschema:"enum=AUTHENTICATION,enum=MARKETING,enum=UTILITY" jsonschema_description:"UTILITY: transactional; MARKETING: promotions; AUTHENTICATION: one-time codes."`
	Language        tools.LanguageCode    `json:"language" validate:"required,langcode" jsonschema_description:"e.g. en_US"`
	Components      TemplateComponentDefs `json:"components" validate:"required,min=1"`
	ParameterFormat string                `json:"parameter_format,omitempty" validate:"omitempty,oneof=POSITIONAL NAMED" jsonschema:"enum=POSITIONAL,enum=NAMED" jsonschema_description:"Variables {{1}} (default) or {{first_name}}."`
}

var (
	positionalVar = regexp.MustCompile(`\{\{\s*([0-9]+)\s*\}\}`)
	anyVar        = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	namedVarName  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Check applies Meta's component rules (docs/cloud-api.md#template-components) so a model gets
// every problem at once instead of one Meta subcode at a time.
func (in *CreateTemplateInput) Check() []tools.FieldError {
	var errs []tools.FieldError
	add := func(field, rule string, args ...any) {
		errs = append(errs, tools.FieldError{Field: field, Rule: fmt.Sprintf(rule, args...)})
	}
	counts := map[string]int{}
	for i, c := range in.Components {
		f := fmt.Sprintf("components[%d]", i)
		typ, _ := c["type"].(string)
		typ = strings.ToUpper(typ)
		counts[typ]++
		text, hasText := c["text"].(string)
		if _, isStr := c["text"]; c["text"] != nil && !isStr {
			add(f+".text", "must be a string")
		}
		switch typ {
		case "BODY":
			if !hasText && in.Category != "AUTHENTICATION" {
				add(f+".text", "is required for BODY")
			}
			if n := utf8.RuneCountInString(text); n > 1024 {
				add(f+".text", "must be at most 1024 characters (got %d)", n)
			}
		case "HEADER":
			format, _ := c["format"].(string)
			if format == "" {
				add(f+".format", "is required for HEADER (TEXT, IMAGE, VIDEO, DOCUMENT, GIF or LOCATION)")
			}
			if strings.EqualFold(format, "TEXT") {
				if !hasText {
					add(f+".text", "is required for a TEXT header")
				}
				if n := utf8.RuneCountInString(text); n > 60 {
					add(f+".text", "must be at most 60 characters (got %d)", n)
				}
				if n := len(anyVar.FindAllString(text, -1)); n > 1 {
					add(f+".text", "may hold at most one variable (got %d)", n)
				}
			}
		case "FOOTER":
			if n := utf8.RuneCountInString(text); n > 60 {
				add(f+".text", "must be at most 60 characters (got %d)", n)
			}
			if anyVar.MatchString(text) {
				add(f+".text", "must not contain variables")
			}
		case "BUTTONS":
			errs = append(errs, checkTemplateButtons(f, c["buttons"])...)
		case "":
			add(f+".type", "is required (HEADER, BODY, FOOTER or BUTTONS)")
		default:
			// Meta has more component types (carousels, limited-time offers);
			// pass them through and let Meta judge.
		}
		if hasText && typ != "FOOTER" {
			errs = append(errs, checkVariables(f+".text", text, in.ParameterFormat)...)
		}
	}
	if counts["BODY"] != 1 {
		add("components", "must contain exactly one BODY component (got %d)", counts["BODY"])
	}
	for _, t := range []string{"HEADER", "FOOTER", "BUTTONS"} {
		if counts[t] > 1 {
			add("components", "must contain at most one %s component (got %d)", t, counts[t])
		}
	}
	return errs
}

func checkVariables(field, text, format string) []tools.FieldError {
	var errs []tools.FieldError
	trimmed := strings.TrimSpace(text)
	if vars := anyVar.FindAllStringIndex(trimmed, -1); len(vars) > 0 {
		if vars[0][0] == 0 || vars[len(vars)-1][1] == len(trimmed) {
			errs = append(errs, tools.FieldError{Field: field, Rule: "must not start or end with a variable (Meta rejects it with subcode 2388299); add fixed text around it"})
		}
	}
	for _, m := range anyVar.FindAllStringSubmatch(text, -1) {
		name := m[1]
		if format == "NAMED" {
			if !namedVarName.MatchString(name) {
				errs = append(errs, tools.FieldError{Field: field, Rule: fmt.Sprintf("variable {{%s}} must be lowercase letters, digits and underscores with parameter_format NAMED", name)})
			}
		} else if !positionalVar.MatchString(m[0]) {
			errs = append(errs, tools.FieldError{Field: field, Rule: fmt.Sprintf("variable {{%s}} must be a number like {{1}}; set parameter_format NAMED for named variables", name)})
		}
	}
	return errs
}

func checkTemplateButtons(field string, v any) []tools.FieldError {
	var errs []tools.FieldError
	add := func(f, rule string, args ...any) {
		errs = append(errs, tools.FieldError{Field: f, Rule: fmt.Sprintf(rule, args...)})
	}
	buttons, ok := v.([]any)
	if !ok || len(buttons) == 0 {
		add(field+".buttons", "is required for BUTTONS and must be a non-empty array")
		return errs
	}
	if len(buttons) > 10 {
		add(field+".buttons", "must have at most 10 buttons (got %d)", len(buttons))
	}
	limits := map[string]int{"QUICK_REPLY": 10, "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1}
	counts := map[string]int{}
	lastQR, seenOther := -1, false
	for i, b := range buttons {
		f := fmt.Sprintf("%s.buttons[%d]", field, i)
		m, ok := b.(map[string]any)
		if !ok {
			add(f, "must be an object")
			continue
		}
		typ, _ := m["type"].(string)
		typ = strings.ToUpper(typ)
		counts[typ]++
		if typ == "" {
			add(f+".type", "is required (QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, …)")
		}
		if text, _ := m["text"].(string); utf8.RuneCountInString(text) > 25 {
			add(f+".text", "must be at most 25 characters (got %d)", utf8.RuneCountInString(text))
		}
		if u, _ := m["url"].(string); len(u) > 2000 {
			add(f+".url", "must be at most 2000 characters")
		}
		if p, _ := m["phone_number"].(string); len(p) > 20 {
			add(f+".phone_number", "must be at most 20 characters")
		}
		if typ == "QUICK_REPLY" {
			if seenOther && lastQR >= 0 && lastQR != i-1 {
				add(f, "quick-reply buttons must be grouped together (QUICK_REPLY, QUICK_REPLY, URL is fine; QUICK_REPLY, URL, QUICK_REPLY is not)")
			}
			lastQR = i
		} else if lastQR >= 0 {
			seenOther = true
		}
	}
	for typ, max := range limits {
		if counts[typ] > max {
			add(field+".buttons", "must have at most %d %s buttons (got %d)", max, typ, counts[typ])
		}
	}
	return errs
}

func createMessageTemplate(d *Deps) tools.Tool {
	return tools.New(tools.Def[CreateTemplateInput, *graph.TemplateCreated]{
		Name:    "WHATSAPP_CREATE_MESSAGE_TEMPLATE",
		Title:   "Create a message template",
		Toolset: ToolsetTemplates,
		Hints:   []string{hintWindow, hintTemplateList},
		Description: "Submit a new message template for Meta's review; it can be sent once APPROVED, usually after PENDING " +
			"(review takes up to 24 hours: WHATSAPP_GET_TEMPLATE_STATUS). Variables need sample values in example. 100 creations an hour.",
		Annotations: tools.Annotations{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: true},
		Example:     `{"name":"order_shipped","category":"UTILITY","language":"en_US","components":[{"type":"BODY","text":"Hi {{1}}, your order {{2}} has shipped.","example":{"body_text":[["Ana","#1234"]]}}]}`,
		Handler: func(ctx context.Context, in *CreateTemplateInput) (*graph.TemplateCreated, error) {
			waba, err := d.waba()
			if err != nil {
				return nil, err
			}
			out, _, err := d.Graph.CreateTemplate(ctx, waba, &graph.TemplateCreate{Name: in.Name, Category: in.Category,
				Language: string(in.Language), ParameterFormat: in.ParameterFormat, Components: in.Components})
			return out, err
		},
	})
}

// DeleteTemplateInput is the input of WHATSAPP_DELETE_MESSAGE_TEMPLATE.
type DeleteTemplateInput struct {
	TemplateID string `json:"template_id" validate:"required,graphid" jsonschema_description:"From WHATSAPP_GET_MESSAGE_TEMPLATES."`
}

// DeleteResult is data of WHATSAPP_DELETE_MESSAGE_TEMPLATE.
type DeleteResult struct {
	Success    bool   `json:"success"`
	TemplateID string `json:"template_id"`
	Name       string `json:"name" jsonschema_description:"The deleted template's name"`
}

func deleteMessageTemplate(d *Deps) tools.Tool {
	return tools.New(tools.Def[DeleteTemplateInput, *DeleteResult]{
		Name:    "WHATSAPP_DELETE_MESSAGE_TEMPLATE",
		Title:   "Delete a message template",
		Toolset: ToolsetTemplates,
		Description: "Permanently delete one message template (one language) by its id: it cannot be undone, " +
			"and an approved template's name cannot be reused for 30 days.",
		Annotations: tools.Annotations{ReadOnly: false, Destructive: true, Idempotent: true, OpenWorld: true},
		Example:     `{"template_id":"1252715608684590"}`,
		Handler: func(ctx context.Context, in *DeleteTemplateInput) (*DeleteResult, error) {
			waba, err := d.waba()
			if err != nil {
				return nil, err
			}
			// Meta deletes by name (every language) unless hsm_id comes with
			// it, so look the name up and send both.
			obj, _, err := d.Graph.GetObject(ctx, in.TemplateID, []string{"name"})
			if err != nil {
				return nil, err
			}
			name, _ := obj["name"].(string)
			if name == "" {
				return nil, fmt.Errorf("template %s has no name in Meta's answer; nothing was deleted (refusing to delete by id alone)", in.TemplateID)
			}
			ok, _, err := d.Graph.DeleteTemplate(ctx, waba, in.TemplateID, name)
			if err != nil {
				return nil, err
			}
			return &DeleteResult{Success: ok, TemplateID: in.TemplateID, Name: name}, nil
		},
	})
}

// GetTemplatesInput is the input of WHATSAPP_GET_MESSAGE_TEMPLATES.
type GetTemplatesInput struct {
	After         string             `json:"after,omitempty" validate:"omitempty,max=2000"`
	Limit         int                `json:"limit,omitempty" validate:"omitempty,min=1,max=100" jsonschema:"default=25"`
	Status        string             `json:"status,omitempty" validate:"omitempty,oneof=APPROVED PENDING REJECTED DISABLED PAUSED LIMIT_EXCEEDED" jsonschema:"enum=APPROVED,enum=PENDING,enum=REJECTED,enum=DISABLED,enum=PAUSED,enum=LIMIT_EXCEEDED"`
	Category      string             `json:"category,omitempty" validate:"omitempty,oneof=AUTHENTICATION MARKETING UTILITY" jsonschema:"enum=AUTHENTICATION,enum=MARKETING,enum=UTILITY"`
	Language      tools.LanguageCode `json:"language,omitempty" validate:"omitempty,langcode" jsonschema_description:"e.g. en_US"`
	NameOrContent string             `json:"name_or_content,omitempty" validate:"omitempty,max=512"`
}

// Normalize applies the default page size and Meta's upper-case enums.
func (in *GetTemplatesInput) Normalize() {
	if in.Limit == 0 {
		in.Limit = 25
	}
	in.Status, in.Category = strings.ToUpper(in.Status), strings.ToUpper(in.Category)
}

func getMessageTemplates(d *Deps) tools.Tool {
	return tools.New(tools.Def[GetTemplatesInput, []graph.Object]{
		Name:    "WHATSAPP_GET_MESSAGE_TEMPLATES",
		Title:   "List message templates",
		Toolset: ToolsetTemplates,
		Hints:   []string{hintWindow, hintTemplateList, hintPaging},
		Description: "List the business account's message templates. " +
			"Use it to find an APPROVED template, its language and {{variables}} before WHATSAPP_SEND_TEMPLATE_MESSAGE.",
		Annotations: readOnly,
		Example:     `{"status":"APPROVED","limit":10}`,
		Data:        []TemplateSummary{},
		Handler: func(ctx context.Context, in *GetTemplatesInput) ([]graph.Object, error) {
			waba, err := d.waba()
			if err != nil {
				return nil, err
			}
			l, _, err := d.Graph.ListTemplates(ctx, waba, &graph.TemplateListOptions{
				ListOptions: graph.ListOptions{Limit: in.Limit, After: in.After},
				Status:      in.Status, Category: in.Category, Language: string(in.Language), NameOrContent: in.NameOrContent})
			if err != nil {
				return nil, err
			}
			tools.SetPaging(ctx, l.Paging)
			return l.Data, nil
		},
	})
}

// TemplateSummary documents the items of WHATSAPP_GET_MESSAGE_TEMPLATES.
type TemplateSummary struct {
	ID              string           `json:"id,omitempty" jsonschema_description:"The template_id other tools take"`
	Name            string           `json:"name,omitempty"`
	Language        string           `json:"language,omitempty"`
	Status          string           `json:"status,omitempty"`
	Category        string           `json:"category,omitempty"`
	ParameterFormat string           `json:"parameter_format,omitempty"`
	Components      []map[string]any `json:"components,omitempty" jsonschema_description:"HEADER/BODY/FOOTER/BUTTONS with their text and {{variables}}"`
}

// TemplateStatusInput is the input of WHATSAPP_GET_TEMPLATE_STATUS.
type TemplateStatusInput struct {
	TemplateID string `json:"template_id" validate:"required,graphid"`
	Fields     string `json:"fields,omitempty" validate:"omitempty,fieldlist" jsonschema_description:"e.g. status,quality_score; default id,name,language,category,status,rejected_reason."`
	FromStore  bool   `json:"from_store,omitempty" jsonschema_description:"Only the latest status webhook stored here; Meta is not asked."`
}

// Check: fields name what Meta is asked for, and from_store asks nothing.
func (in *TemplateStatusInput) Check() []tools.FieldError {
	if in.FromStore && in.Fields != "" {
		return []tools.FieldError{{Field: "fields", Rule: "is what Meta is asked for, and from_store asks Meta nothing: leave out one of them"}}
	}
	return nil
}

// TemplateStatus is data of WHATSAPP_GET_TEMPLATE_STATUS.
type TemplateStatus struct {
	ID             string `json:"id,omitempty"`
	Name           string `json:"name,omitempty"`
	Language       string `json:"language,omitempty"`
	Category       string `json:"category,omitempty"`
	Status         string `json:"status,omitempty" jsonschema_description:"APPROVED, PENDING, REJECTED, PAUSED, DISABLED, IN_APPEAL, PENDING_DELETION, DELETED, LIMIT_EXCEEDED or ARCHIVED"`
	RejectedReason string `json:"rejected_reason,omitempty"`
	// WebhookUpdate is not Meta's: the store's latest status webhook.
	WebhookUpdate *TemplateUpdate `json:"webhook_update,omitempty" jsonschema_description:"The latest status webhook this server received"`
}

// TemplateUpdate is a message_template_status_update webhook as stored
// (docs/cloud-api.md#other-webhook-fields).
type TemplateUpdate struct {
	Event      string `json:"event"`
	Reason     string `json:"reason,omitempty"`
	ReceivedAt string `json:"received_at"`
}

// fieldTemplateStatus is the webhook field of template status changes; the
// store keys them by message_template_id.
const fieldTemplateStatus = "message_template_status_update"

// templateStatuses are the values of a template's status; a webhook event
// outside them (FLAGGED, REINSTATED, UNARCHIVED, LOCKED) is no status to
// compare with Meta's (docs/cloud-api.md#the-catalog).
var templateStatuses = strings.Fields("APPROVED PENDING REJECTED PAUSED DISABLED IN_APPEAL PENDING_DELETION DELETED LIMIT_EXCEEDED ARCHIVED")

// templateUpdate reads the store's latest status webhook of a template,
// with the name and language it carries; ok is false when there is none.
func (d *Deps) templateUpdate(ctx context.Context, templateID string) (u *TemplateUpdate, name, language string, ok bool, err error) {
	c, ok, err := d.Store.LatestChange(ctx, fieldTemplateStatus, templateID)
	if err != nil || !ok {
		return nil, "", "", false, err
	}
	var v struct {
		Event    string `json:"event"`
		Reason   string `json:"reason"`
		Name     string `json:"message_template_name"`
		Language string `json:"message_template_language"`
	}
	if err := json.Unmarshal(c.Raw, &v); err != nil {
		return nil, "", "", false, fmt.Errorf("the stored status webhook of template %s is not the JSON Meta sends: %w", templateID, err)
	}
	return &TemplateUpdate{Event: v.Event, Reason: v.Reason, ReceivedAt: c.ReceivedAt.UTC().Format(time.RFC3339)}, v.Name, v.Language, true, nil
}

// templateStatusFromStore is WHATSAPP_GET_TEMPLATE_STATUS with from_store:
// the store's latest status webhook, no Graph call.
func (d *Deps) templateStatusFromStore(ctx context.Context, templateID string) (graph.Object, error) {
	u, name, language, ok, err := d.templateUpdate(ctx, templateID)
	if err != nil {
		// The cause stays out of the result: a database error may name the
		// database.
		return nil, errors.New("this server's webhook store could not be read; call again without from_store to ask Meta")
	}
	obj := graph.Object{"id": templateID}
	if !ok {
		tools.Warn(ctx, "This server has received no status webhook for template %s (Meta sends one when its status changes, to a webhook subscribed to %s); call again without from_store to ask Meta.", templateID, fieldTemplateStatus)
		return obj, nil
	}
	obj["webhook_update"] = u
	if name != "" {
		obj["name"] = name
	}
	if language != "" {
		obj["language"] = language
	}
	return obj, nil
}

// withTemplateUpdate adds the store's latest status webhook to Meta's
// answer, and warns when the two disagree: Meta's answer has no time, so
// either may be the newer.
func (d *Deps) withTemplateUpdate(ctx context.Context, templateID string, obj graph.Object) {
	if d.Store == nil {
		return
	}
	u, _, _, ok, err := d.templateUpdate(ctx, templateID)
	if err != nil {
		tools.Warn(ctx, "This server's webhook store could not be read, so no status webhook of this template is shown.")
		return
	}
	if !ok {
		return
	}
	obj["webhook_update"] = u
	status, _ := obj["status"].(string)
	if status != "" && u.Event != status && slices.Contains(templateStatuses, u.Event) {
		tools.Warn(ctx, "Meta answers status %s, but the latest status webhook this server received (at %s) says %s: a change may not have reached one of them yet; ask again in a few minutes if it matters.",
			status, u.ReceivedAt, u.Event)
	}
}

func getTemplateStatus(d *Deps) tools.Tool {
	return tools.New(tools.Def[TemplateStatusInput, graph.Object]{
		Name:    "WHATSAPP_GET_TEMPLATE_STATUS",
		Title:   "Get a template's review status",
		Toolset: ToolsetTemplates,
		Description: "Read a template's review status (APPROVED, PENDING, REJECTED, PAUSED, DISABLED...) and rejection reason: " +
			"only APPROVED ones can be sent, and review takes up to 24 hours. webhook_update is the latest status webhook received, if any.",
		Annotations: readOnly,
		Example:     `{"template_id":"1252715608684590"}`,
		Data:        TemplateStatus{},
		Prepare: func(ctx context.Context, in *TemplateStatusInput) []tools.FieldError {
			if in.FromStore && d.Store == nil {
				return []tools.FieldError{{Field: "from_store", Rule: "needs this server's webhook store, and none is configured: leave it out to ask Meta"}}
			}
			return nil
		},
		Handler: func(ctx context.Context, in *TemplateStatusInput) (graph.Object, error) {
			if in.FromStore {
				return d.templateStatusFromStore(ctx, in.TemplateID)
			}
			fields := splitFields(in.Fields, "id,name,language,category,status,rejected_reason")
			if !contains(fields, "status") {
				fields = append(fields, "status")
			}
			obj, _, err := d.Graph.GetObject(ctx, in.TemplateID, fields)
			if err != nil {
				return nil, err
			}
			d.withTemplateUpdate(ctx, in.TemplateID, obj)
			return obj, nil
		},
	})
}

// TemplateParameterInput is one variable value of a template send, in Meta's format.
type TemplateParameterInput struct {
	Type          string    `json:"type" validate:"required,oneof=text currency date_time image video document payload" jsonschema:"enum=text,enum=currency,enum=date_time,enum=image,enum=video,enum=document,enum=payload" jsonschema_description:"text: {{variables}}, URL suffixes; image/video/document: media header; payload: quick reply."`
	ParameterName string    `json:"parameter_name,omitempty" validate:"omitempty,max=100" jsonschema_description:"NAMED templates: the variable."`
	Text          string    `json:"text,omitempty" validate:"required_if=Type text,max=1024"`
	Payload       string    `json:"payload,omitempty" validate:"required_if=Type payload,max=1024"`
	Image         *MediaRef `json:"image,omitempty" validate:"required_if=Type image"`
	Video         *MediaRef `json:"video,omitempty" validate:"required_if=Type video"`
	Document      *MediaRef `json:"document,omitempty" validate:"required_if=Type document"`
	Currency      *Currency `json:"currency,omitempty" validate:"required_if=Type currency"`
	DateTime      *Fallback `json:"date_time,omitempty" validate:"required_if=Type date_time"`
}

// MediaRef points at media by uploaded id or public link (exactly one).
type MediaRef struct {
	ID       string `json:"id,omitempty" validate:"required_without=Link,excluded_with=Link,omitempty,graphid"`
	Link     string `json:"link,omitempty" validate:"required_without=ID,omitempty,http_url"`
	Filename string `json:"filename,omitempty"`
}

// Currency is a currency value.
type Currency struct {
	FallbackValue string `json:"fallback_value" validate:"required"`
	Code          string `json:"code" validate:"required,len=3,uppercase" jsonschema_description:"ISO 4217, e.g. USD"`
	Amount1000    int64  `json:"amount_1000" jsonschema_description:"Amount × 1000"`
}

// Fallback is a date_time value.
type Fallback struct {
	FallbackValue string `json:"fallback_value" validate:"required"`
}

// TemplateComponentInput gives the parameters of one component of the template.
type TemplateComponentInput struct {
	Type       string                   `json:"type" validate:"required,oneof=header body button" jsonschema:"enum=header,enum=body,enum=button"`
	SubType    string                   `json:"sub_type,omitempty" validate:"required_if=Type button,omitempty,oneof=quick_reply url copy_code flow" jsonschema:"enum=quick_reply,enum=url,enum=copy_code,enum=flow" jsonschema_description:"Buttons only."`
	Index      *int                     `json:"index,omitempty" validate:"required_if=Type button,omitempty,min=0,max=9" jsonschema_description:"Buttons only."`
	Parameters []TemplateParameterInput `json:"parameters" validate:"required,min=1,max=100,dive" jsonschema_description:"In variable order, {{1}} first."`
}

// SendTemplateInput is the input of WHATSAPP_SEND_TEMPLATE_MESSAGE.
type SendTemplateInput struct {
	Recipient
	TemplateName string                   `json:"template_name" validate:"required,tplname" jsonschema_description:"e.g. hello_world"`
	LanguageCode tools.LanguageCode       `json:"language_code,omitempty" validate:"langcode" jsonschema:"default=en_US" jsonschema_description:"Exactly as approved (en_US is not en)."`
	Components   []TemplateComponentInput `json:"components,omitempty" validate:"omitempty,max=20,dive"`
}

// Normalize applies the default language and Meta's lower-case component names.
func (in *SendTemplateInput) Normalize() {
	in.Recipient.Normalize()
	if in.LanguageCode == "" {
		in.LanguageCode = "en_US"
	}
	for i := range in.Components {
		c := &in.Components[i]
		c.Type, c.SubType = strings.ToLower(c.Type), strings.ToLower(c.SubType)
		for j := range c.Parameters {
			c.Parameters[j].Type = strings.ToLower(c.Parameters[j].Type)
		}
	}
}

func (r *MediaRef) toGraph() *graph.MediaObject {
	if r == nil {
		return nil
	}
	return &graph.MediaObject{ID: r.ID, Link: r.Link, Filename: r.Filename}
}

func sendTemplateMessage(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendTemplateInput, *SendResult]{
		Name:    "WHATSAPP_SEND_TEMPLATE_MESSAGE",
		Title:   "Send a template message",
		Toolset: ToolsetMessages,
		Hints:   templateHints,
		Description: "Send an APPROVED message template, in exactly its language: the only message that reaches a customer outside the 24-hour window. " +
			"Give one parameter per {{variable}} and media header, e.g. components " +
			`[{"type":"body","parameters":[{"type":"text","text":"Ana"}]}]` +
			"; a wrong count fails with 132000, an unknown name or language with 132001.",
		Annotations: send,
		Prepare:     recipientRule[SendTemplateInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","template_name":"order_update","language_code":"en_US","components":[{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"#1234"}]}]}`,
		Handler: func(ctx context.Context, in *SendTemplateInput) (*SendResult, error) {
			t := TemplateMessage(in.TemplateName, string(in.LanguageCode), in.Components)
			return d.dispatch(ctx, in.Recipient, &graph.Message{Type: "template", Template: t}, false)
		},
	})
}

// TemplateMessage builds the template of a send from checked inputs: the
// one conversion WHATSAPP_SEND_TEMPLATE_MESSAGE and the bulk send share.
func TemplateMessage(name, language string, comps []TemplateComponentInput) *graph.Template {
	t := &graph.Template{Name: name, Language: graph.TemplateLanguage{Code: language}}
	for _, c := range comps {
		gc := graph.TemplateComponent{Type: c.Type, SubType: c.SubType, Index: c.Index}
		for _, p := range c.Parameters {
			gp := graph.TemplateParameter{Type: p.Type, ParameterName: p.ParameterName, Text: p.Text, Payload: p.Payload,
				Image: p.Image.toGraph(), Video: p.Video.toGraph(), Document: p.Document.toGraph()}
			if p.Currency != nil {
				gp.Currency = &graph.Currency{FallbackValue: p.Currency.FallbackValue, Code: p.Currency.Code, Amount1000: p.Currency.Amount1000}
			}
			if p.DateTime != nil {
				gp.DateTime = &graph.DateTime{FallbackValue: p.DateTime.FallbackValue}
			}
			gc.Parameters = append(gc.Parameters, gp)
		}
		t.Components = append(t.Components, gc)
	}
	return t
}
