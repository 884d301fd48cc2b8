package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
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

// JSONSchema describes the component and button fields Meta documents
// while allowing the rest; every text is paid on every turn, so it is a
// few words each (docs/cloud-api.md#template-components).
func (TemplateComponentDefs) JSONSchema() *jsonschema.Schema {
	str := func(desc string) *jsonschema.Schema { return &jsonschema.Schema{Type: "string", Description: desc} }
	enum := func(desc string, vals ...any) *jsonschema.Schema {
		return &jsonschema.Schema{Type: "string", Enum: vals, Description: desc}
	}
	button := jsonschema.NewProperties()
	button.Set("type", enum("", "QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM", "VOICE_CALL"))
	button.Set("text", str(""))
	button.Set("url", str("URL: may end in {{1}}."))
	button.Set("phone_number", str(""))
	button.Set("example", &jsonschema.Schema{Description: "URL: [\"suffix\"]; COPY_CODE: the code."})
	button.Set("otp_type", enum("OTP only.", "COPY_CODE", "ONE_TAP", "ZERO_TAP"))
	button.Set("autofill_text", str(""))
	button.Set("supported_apps", &jsonschema.Schema{Type: "array", MaxItems: ptr(uint64(5)),
		Description: "ONE_TAP/ZERO_TAP: [{package_name, signature_hash}].", Items: &jsonschema.Schema{Type: "object"}})
	button.Set("zero_tap_terms_accepted", &jsonschema.Schema{Type: "boolean"})
	button.Set("flow_id", str(""))
	props := jsonschema.NewProperties()
	props.Set("type", enum("One BODY; at most one of the others.", "HEADER", "BODY", "FOOTER", "BUTTONS", "CAROUSEL"))
	props.Set("format", enum("HEADER only.", "TEXT", "IMAGE", "VIDEO", "DOCUMENT", "GIF", "LOCATION"))
	props.Set("text", str("Variables {{1}}, {{2}} (NAMED: {{name}}), not first or last. BODY ≤1024; HEADER ≤60, one variable; FOOTER ≤60, none."))
	props.Set("example", &jsonschema.Schema{Type: "object",
		Description: "Sample values when the text has variables: {\"body_text\":[[\"v1\",\"v2\"]]} or {\"header_text\":[\"v\"]}; media HEADER: {\"header_handle\":[\"4::…\"]} or header_files."})
	props.Set("buttons", &jsonschema.Schema{Type: "array", MaxItems: ptr(uint64(10)),
		Description: "BUTTONS only: QUICK_REPLY (up to 10, together), URL (2, url ≤2000), PHONE_NUMBER (1), COPY_CODE (1); text ≤25.",
		Items:       &jsonschema.Schema{Type: "object", Properties: button, Required: []string{"type"}}})
	props.Set("cards", &jsonschema.Schema{Type: "array", MinItems: ptr(uint64(2)), MaxItems: ptr(uint64(10)),
		Description: "CAROUSEL (MARKETING, with a BODY): cards alike, each {components: IMAGE/VIDEO HEADER, BODY ≤160?, BUTTONS 1-2}.",
		Items:       &jsonschema.Schema{Type: "object"}})
	props.Set("add_security_recommendation", &jsonschema.Schema{Type: "boolean", Description: "AUTHENTICATION BODY."})
	props.Set("code_expiration_minutes", &jsonschema.Schema{Type: "integer", Minimum: "1", Maximum: "90", Description: "AUTHENTICATION FOOTER."})
	return &jsonschema.Schema{Type: "array", MinItems: ptr(uint64(1)), Items: &jsonschema.Schema{
		Type: "object", Properties: props, Required: []string{"type"}}}
}

func ptr[T any](v T) *T { return &v }

// CreateTemplateInput is the input of WHATSAPP_CREATE_MESSAGE_TEMPLATE.
type CreateTemplateInput struct {
	Name            string                `json:"name" validate:"required,tplname"`
	Category        string                `json:"category" validate:"required,oneof=AUTHENTICATION MARKETING UTILITY" jsonschema:"enum=AUTHENTICATION,enum=MARKETING,enum=UTILITY" jsonschema_description:"UTILITY: transactional; MARKETING: promotions; AUTHENTICATION: one-time codes."`
	Language        tools.LanguageCode    `json:"language" validate:"required,langcode"`
	Components      TemplateComponentDefs `json:"components" validate:"required,min=1"`
	ParameterFormat string                `json:"parameter_format,omitempty" validate:"omitempty,oneof=POSITIONAL NAMED" jsonschema:"enum=POSITIONAL,enum=NAMED" jsonschema_description:"Variables {{1}} (default) or {{first_name}}."`
	HeaderFiles     []HeaderFile          `json:"header_files,omitempty" validate:"omitempty,max=11,dive" jsonschema_description:"Files for the media headers without header_handle, in order (HEADER, then cards): {name, mimetype?, content (base64) or path}."`
}

// HeaderFile is a FileInput whose schema is said in one line: the
// fields are WHATSAPP_UPLOAD_MEDIA's, and a model reads them there.
type HeaderFile FileInput

// JSONSchema is an object; header_files' description names its fields.
func (HeaderFile) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", AdditionalProperties: jsonschema.FalseSchema}
}

var (
	positionalVar = regexp.MustCompile(`\{\{\s*([0-9]+)\s*\}\}`)
	anyVar        = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	namedVarName  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Check applies Meta's component rules (docs/cloud-api.md#template-components),
// those of carousels (docs/cloud-api.md#carousel-templates) and of
// authentication templates (docs/cloud-api.md#authentication-templates), so
// a model gets every problem at once instead of one Meta subcode at a time.
func (in *CreateTemplateInput) Check() []tools.FieldError {
	auth := in.Category == "AUTHENTICATION"
	errs, media := checkTemplateDefs("components", in.Components, in.ParameterFormat, auth)
	counts := map[string]int{}
	for _, c := range in.Components {
		typ, _ := c["type"].(string)
		counts[strings.ToUpper(typ)]++
	}
	add := func(field, rule string, args ...any) {
		errs = append(errs, tools.FieldError{Field: field, Rule: fmt.Sprintf(rule, args...)})
	}
	if counts["BODY"] != 1 {
		add("components", "must contain exactly one BODY component (got %d)", counts["BODY"])
	}
	for _, t := range []string{"HEADER", "FOOTER", "BUTTONS", "CAROUSEL"} {
		if counts[t] > 1 {
			add("components", "must contain at most one %s component (got %d)", t, counts[t])
		}
	}
	if counts["CAROUSEL"] > 0 {
		if in.Category != "MARKETING" {
			add("category", "must be MARKETING for a CAROUSEL template")
		}
		if counts["HEADER"]+counts["FOOTER"]+counts["BUTTONS"] > 0 {
			add("components", "a CAROUSEL template has a BODY and the CAROUSEL only: headers and buttons go in its cards")
		}
	}
	if auth && counts["BUTTONS"] == 0 {
		add("components", "an AUTHENTICATION template needs a BUTTONS component with one OTP button")
	}
	switch n := len(media); {
	case len(in.HeaderFiles) > n:
		add("header_files", "has %d files for %d media headers without example.header_handle", len(in.HeaderFiles), n)
	case len(in.HeaderFiles) > 0 && len(in.HeaderFiles) < n:
		add("header_files", "has %d files for %d media headers without example.header_handle (%s)", len(in.HeaderFiles), n, strings.Join(media, ", "))
	case len(in.HeaderFiles) == 0:
		for _, f := range media {
			add(f+".example.header_handle", "is required for a media header: give the file in header_files, or a handle from Meta's Resumable Upload API")
		}
	}
	for i, f := range in.HeaderFiles {
		if c := f.Content; !c.IsZero() && !c.Valid() {
			add(fmt.Sprintf("header_files[%d].content", i), "must be standard base64 (RFC 4648) that decodes")
		}
	}
	return errs
}

// mediaFormats are the header formats whose example is an uploaded file,
// with the MIME types the Resumable Upload API takes for each and the
// media rule that caps its size (docs/cloud-api.md#resumable-upload).
var mediaFormats = map[string]struct {
	mimes []string
	rule  string
}{
	"IMAGE":    {[]string{"image/jpeg", "image/png"}, "image"},
	"VIDEO":    {[]string{"video/mp4"}, "video"},
	"GIF":      {[]string{"video/mp4"}, "video"},
	"DOCUMENT": {[]string{"application/pdf"}, "document"},
}

// checkTemplateDefs checks a list of template components (the template's,
// or a carousel card's) and returns the paths of its media headers that
// have no example.header_handle, in order, those of cards included.
func checkTemplateDefs(field string, comps []map[string]any, format string, auth bool) (errs []tools.FieldError, media []string) {
	add := func(field, rule string, args ...any) {
		errs = append(errs, tools.FieldError{Field: field, Rule: fmt.Sprintf(rule, args...)})
	}
	for i, c := range comps {
		f := fmt.Sprintf("%s[%d]", field, i)
		typ, _ := c["type"].(string)
		typ = strings.ToUpper(typ)
		text, hasText := c["text"].(string)
		if _, isStr := c["text"]; c["text"] != nil && !isStr {
			add(f+".text", "must be a string")
		}
		switch typ {
		case "BODY":
			switch {
			case auth && hasText:
				add(f+".text", "must be left out: an AUTHENTICATION body is Meta's fixed text (add_security_recommendation adds the advice)")
			case !hasText && !auth:
				add(f+".text", "is required for BODY")
			}
			if v, ok := c["add_security_recommendation"]; ok {
				if _, isBool := v.(bool); !isBool || !auth {
					add(f+".add_security_recommendation", "must be true or false, in an AUTHENTICATION BODY")
				}
			}
			if n := utf8.RuneCountInString(text); n > 1024 {
				add(f+".text", "must be at most 1024 characters (got %d)", n)
			}
		case "HEADER":
			if auth {
				add(f, "AUTHENTICATION templates have no HEADER")
				continue
			}
			format, _ := c["format"].(string)
			if format == "" {
				add(f+".format", "is required for HEADER (TEXT, IMAGE, VIDEO, DOCUMENT, GIF or LOCATION)")
			}
			if _, ok := mediaFormats[strings.ToUpper(format)]; ok && len(headerHandles(c)) == 0 {
				media = append(media, f)
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
			if auth {
				if hasText {
					add(f+".text", "must be left out: an AUTHENTICATION footer is Meta's text, set by code_expiration_minutes")
				}
				if v, ok := c["code_expiration_minutes"]; ok {
					if n, isInt := intValue(v); !isInt || n < 1 || n > 90 {
						add(f+".code_expiration_minutes", "must be a whole number from 1 to 90")
					}
				}
				continue
			}
			if n := utf8.RuneCountInString(text); n > 60 {
				add(f+".text", "must be at most 60 characters (got %d)", n)
			}
			if anyVar.MatchString(text) {
				add(f+".text", "must not contain variables")
			}
		case "BUTTONS":
			errs = append(errs, checkTemplateButtons(f, c["buttons"], auth)...)
		case "CAROUSEL":
			e, m := checkCarousel(f, c["cards"], format)
			errs, media = append(errs, e...), append(media, m...)
		case "":
			add(f+".type", "is required (HEADER, BODY, FOOTER, BUTTONS or CAROUSEL)")
		default:
			// Meta has more component types (limited-time offers…); pass
			// them through and let Meta judge.
		}
		if hasText && typ != "FOOTER" {
			errs = append(errs, checkVariables(f+".text", text, format)...)
		}
	}
	return errs, media
}

// checkCarousel checks a CAROUSEL's cards: 2 to 10, each with an IMAGE or
// VIDEO header, an optional body of at most 160 characters and 1 or 2
// QUICK_REPLY, URL or PHONE_NUMBER buttons, all cards alike
// (docs/cloud-api.md#carousel-templates).
func checkCarousel(field string, v any, format string) (errs []tools.FieldError, media []string) {
	add := func(field, rule string, args ...any) {
		errs = append(errs, tools.FieldError{Field: field, Rule: fmt.Sprintf(rule, args...)})
	}
	cards, ok := v.([]any)
	if !ok || len(cards) < 2 || len(cards) > 10 {
		add(field+".cards", "must be an array of 2 to 10 cards")
		return errs, nil
	}
	first := ""
	for i, x := range cards {
		f := fmt.Sprintf("%s.cards[%d]", field, i)
		card, _ := x.(map[string]any)
		raw, _ := card["components"].([]any)
		comps := make([]map[string]any, 0, len(raw))
		var shape []string
		for j, y := range raw {
			m, ok := y.(map[string]any)
			if !ok {
				add(fmt.Sprintf("%s.components[%d]", f, j), "must be an object")
				continue
			}
			comps = append(comps, m)
			typ, _ := m["type"].(string)
			typ = strings.ToUpper(typ)
			switch typ {
			case "HEADER":
				hf, _ := m["format"].(string)
				if hf = strings.ToUpper(hf); hf != "IMAGE" && hf != "VIDEO" {
					add(fmt.Sprintf("%s.components[%d].format", f, j), "must be IMAGE or VIDEO in a card")
				}
				typ += ":" + hf
			case "BODY":
				if t, _ := m["text"].(string); utf8.RuneCountInString(t) > 160 {
					add(fmt.Sprintf("%s.components[%d].text", f, j), "must be at most 160 characters in a card (got %d)", utf8.RuneCountInString(t))
				}
			case "BUTTONS":
				btns, _ := m["buttons"].([]any)
				if len(btns) < 1 || len(btns) > 2 {
					add(fmt.Sprintf("%s.components[%d].buttons", f, j), "must have 1 or 2 buttons in a card")
				}
				for k, b := range btns {
					bm, _ := b.(map[string]any)
					bt, _ := bm["type"].(string)
					if bt = strings.ToUpper(bt); bt != "QUICK_REPLY" && bt != "URL" && bt != "PHONE_NUMBER" {
						add(fmt.Sprintf("%s.components[%d].buttons[%d].type", f, j, k), "must be QUICK_REPLY, URL or PHONE_NUMBER in a card")
					}
					typ += ":" + bt
				}
			default:
				add(fmt.Sprintf("%s.components[%d].type", f, j), "must be HEADER, BODY or BUTTONS in a card")
			}
			shape = append(shape, typ)
		}
		if len(shape) == 0 || !strings.HasPrefix(shape[0], "HEADER") {
			add(f+".components", "must start with an IMAGE or VIDEO HEADER")
		}
		e, m := checkTemplateDefs(f+".components", comps, format, false)
		errs, media = append(errs, e...), append(media, m...)
		if s := strings.Join(shape, ","); i == 0 {
			first = s
		} else if s != first {
			add(f+".components", "must match the first card's (%s): all cards have the same components and buttons", first)
		}
	}
	return errs, media
}

// headerHandles are the handles of a media header's example.
func headerHandles(c map[string]any) []any {
	ex, _ := c["example"].(map[string]any)
	h, _ := ex["header_handle"].([]any)
	return h
}

// intValue reads a whole JSON number.
func intValue(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.Atoi(n.String())
		return i, err == nil
	case float64:
		return int(n), n == float64(int(n))
	case int:
		return n, true
	}
	return 0, false
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

// packageNameRE is an Android package name: two or more dot-separated
// segments of letters, digits and underscores, each starting with a letter.
var packageNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)

func checkTemplateButtons(field string, v any, auth bool) []tools.FieldError {
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
	limits := map[string]int{"QUICK_REPLY": 10, "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1, "OTP": 1}
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
		if auth != (typ == "OTP") {
			if auth {
				add(f+".type", "must be OTP: an AUTHENTICATION template has one OTP button and no other")
			} else {
				add(f+".type", "OTP buttons are for AUTHENTICATION templates only")
			}
		}
		for _, k := range []string{"text", "autofill_text"} {
			if t, _ := m[k].(string); utf8.RuneCountInString(t) > 25 {
				add(f+"."+k, "must be at most 25 characters (got %d)", utf8.RuneCountInString(t))
			}
		}
		if u, _ := m["url"].(string); len(u) > 2000 {
			add(f+".url", "must be at most 2000 characters")
		}
		if p, _ := m["phone_number"].(string); len(p) > 20 {
			add(f+".phone_number", "must be at most 20 characters")
		}
		if typ == "OTP" {
			errs = append(errs, checkOTPButton(f, m)...)
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

// checkOTPButton applies the rules of an authentication template's button
// (docs/cloud-api.md#authentication-templates): its otp_type; one-tap and
// zero-tap name the Android apps (1 to 5, package name and 11-character
// signature hash); zero-tap needs Meta's terms accepted.
func checkOTPButton(f string, m map[string]any) []tools.FieldError {
	var errs []tools.FieldError
	add := func(f, rule string, args ...any) {
		errs = append(errs, tools.FieldError{Field: f, Rule: fmt.Sprintf(rule, args...)})
	}
	otp, _ := m["otp_type"].(string)
	otp = strings.ToUpper(otp)
	if otp != "COPY_CODE" && otp != "ONE_TAP" && otp != "ZERO_TAP" {
		add(f+".otp_type", "must be COPY_CODE, ONE_TAP or ZERO_TAP")
	}
	if otp == "ZERO_TAP" {
		if ok, _ := m["zero_tap_terms_accepted"].(bool); !ok {
			add(f+".zero_tap_terms_accepted", "must be true for ZERO_TAP (Meta's zero-tap terms)")
		}
	}
	apps, _ := m["supported_apps"].([]any)
	if otp != "ONE_TAP" && otp != "ZERO_TAP" {
		if len(apps) > 0 {
			add(f+".supported_apps", "is for ONE_TAP and ZERO_TAP only")
		}
		return errs
	}
	if len(apps) < 1 || len(apps) > 5 {
		add(f+".supported_apps", "must list 1 to 5 apps for %s", otp)
	}
	for j, a := range apps {
		af := fmt.Sprintf("%s.supported_apps[%d]", f, j)
		am, _ := a.(map[string]any)
		if p, _ := am["package_name"].(string); len(p) > 224 || !packageNameRE.MatchString(p) {
			add(af+".package_name", "must be an Android package name such as com.example.app (at most 224 characters)")
		}
		if h, _ := am["signature_hash"].(string); utf8.RuneCountInString(h) != 11 {
			add(af+".signature_hash", "must be the app's 11-character signing key hash")
		}
	}
	return errs
}

// errNoApp is returned when a template's media header is to be uploaded
// and no app id is configured.
var errNoApp = errors.New("header_files are uploaded to the Meta app through the Resumable Upload API, and no app id is configured: the operator must set WHATSAPP_APP_ID (or --app-id) to the app id shown in Meta's App Dashboard, or give example.header_handle instead. Nothing was sent")

func createMessageTemplate(d *Deps) tools.Tool {
	return tools.New(tools.Def[CreateTemplateInput, *graph.TemplateCreated]{
		Name:    "WHATSAPP_CREATE_MESSAGE_TEMPLATE",
		Title:   "Create a message template",
		Toolset: ToolsetTemplates,
		Hints:   []string{hintWindow, hintTemplateList},
		Description: "Submit a new message template for Meta's review; it can be sent once APPROVED, usually after PENDING " +
			"(review takes up to 24 hours: WHATSAPP_GET_TEMPLATE_STATUS). 100 creations an hour.",
		Annotations:   tools.Annotations{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: true},
		Example:       `{"name":"order_shipped","category":"UTILITY","language":"en_US","components":[{"type":"BODY","text":"Hi {{1}}, your order {{2}} has shipped.","example":{"body_text":[["Ana","#1234"]]}}]}`,
		MaxInputBytes: maxUploadInput(),
		Handler: func(ctx context.Context, in *CreateTemplateInput) (*graph.TemplateCreated, error) {
			defer func() { in.HeaderFiles = nil }() // the files' bytes go with the call
			waba, err := d.waba()
			if err != nil {
				return nil, err
			}
			if len(in.HeaderFiles) > 0 {
				if d.AppID == "" {
					return nil, errNoApp
				}
				if err := d.uploadHeaders(ctx, in); err != nil {
					return nil, err
				}
			}
			out, _, err := d.Graph.CreateTemplate(ctx, waba, &graph.TemplateCreate{Name: in.Name, Category: in.Category,
				Language: string(in.Language), ParameterFormat: in.ParameterFormat, Components: in.Components})
			return out, err
		},
	})
}

// uploadHeaders uploads header_files through the Resumable Upload API and
// puts each handle in the example.header_handle of its media header
// (docs/cloud-api.md#resumable-upload). Every file is checked before the
// first is uploaded, so a bad one sends nothing.
func (d *Deps) uploadHeaders(ctx context.Context, in *CreateTemplateInput) error {
	headers := mediaHeaders(in.Components)
	ups := make([]*upload, len(in.HeaderFiles))
	var fields []tools.FieldError
	for i, f := range in.HeaderFiles {
		format, _ := headers[i]["format"].(string)
		mf := mediaFormats[strings.ToUpper(format)]
		prefix := fmt.Sprintf("header_files[%d]", i)
		up, err := d.prepareUpload(&UploadMediaInput{MediaType: mf.rule, FileToUpload: FileInput(f)})
		var ie *tools.InputError
		switch {
		case errors.As(err, &ie):
			for _, fe := range ie.Fields {
				fe.Field = prefix + strings.TrimPrefix(fe.Field, "file_to_upload")
				fields = append(fields, fe)
			}
			continue
		case err != nil:
			return err
		}
		if !contains(mf.mimes, up.mimeType) {
			fields = append(fields, tools.FieldError{Field: prefix + ".mimetype",
				Rule: fmt.Sprintf("%s is not taken for a %s header; allowed: %s", up.mimeType, strings.ToUpper(format), strings.Join(mf.mimes, ", "))})
		}
		ups[i] = up
	}
	if len(fields) > 0 {
		return &tools.InputError{Fields: fields}
	}
	for i, up := range ups {
		h, _, err := d.Graph.UploadHandle(ctx, d.AppID, graph.MediaFile{Name: up.name, MIMEType: up.mimeType, Size: up.size, Open: up.open})
		if err != nil {
			return fmt.Errorf("uploading header_files[%d] (nothing was submitted for review): %w", i, err)
		}
		ex, _ := headers[i]["example"].(map[string]any)
		if ex == nil {
			ex = map[string]any{}
			headers[i]["example"] = ex
		}
		ex["header_handle"] = []any{h}
	}
	return nil
}

// mediaHeaders are the media headers without a handle, in the order
// Check counts them: the template's HEADER, then each card's.
func mediaHeaders(comps []map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range comps {
		typ, _ := c["type"].(string)
		switch strings.ToUpper(typ) {
		case "HEADER":
			format, _ := c["format"].(string)
			if _, ok := mediaFormats[strings.ToUpper(format)]; ok && len(headerHandles(c)) == 0 {
				out = append(out, c)
			}
		case "CAROUSEL":
			cards, _ := c["cards"].([]any)
			for _, x := range cards {
				card, _ := x.(map[string]any)
				raw, _ := card["components"].([]any)
				var cc []map[string]any
				for _, y := range raw {
					if m, ok := y.(map[string]any); ok {
						cc = append(cc, m)
					}
				}
				out = append(out, mediaHeaders(cc)...)
			}
		}
	}
	return out
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
	Language      tools.LanguageCode `json:"language,omitempty" validate:"omitempty,langcode"`
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
	Fields     string `json:"fields,omitempty" validate:"omitempty,fieldlist" jsonschema_description:"e.g. status,quality_score"`
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

// TemplateParameterInput is one variable value of a template send, in Meta's format
// (docs/cloud-api.md#template-parameters).
type TemplateParameterInput struct {
	Type             string            `json:"type" validate:"required,oneof=text currency date_time image video document location payload coupon_code action limited_time_offer" jsonschema:"enum=text,enum=currency,enum=date_time,enum=image,enum=video,enum=document,enum=location,enum=payload,enum=coupon_code,enum=action,enum=limited_time_offer" jsonschema_description:"text: {{variables}}, URL suffixes; image/video/document/location: header; payload: quick reply; coupon_code/action: copy_code/flow button."`
	ParameterName    string            `json:"parameter_name,omitempty" validate:"omitempty,max=100" jsonschema_description:"NAMED templates: the variable."`
	Text             string            `json:"text,omitempty" validate:"required_if=Type text,max=1024"`
	Payload          string            `json:"payload,omitempty" validate:"required_if=Type payload,max=1024"`
	Image            *MediaRef         `json:"image,omitempty" validate:"required_if=Type image"`
	Video            *MediaRef         `json:"video,omitempty" validate:"required_if=Type video"`
	Document         *MediaRef         `json:"document,omitempty" validate:"required_if=Type document"`
	Currency         *Currency         `json:"currency,omitempty" validate:"required_if=Type currency"`
	DateTime         *Fallback         `json:"date_time,omitempty" validate:"required_if=Type date_time"`
	Location         *TemplateLocation `json:"location,omitempty" validate:"required_if=Type location"`
	CouponCode       string            `json:"coupon_code,omitempty" validate:"required_if=Type coupon_code,max=20"`
	Action           *FlowButtonAction `json:"action,omitempty" validate:"required_if=Type action"`
	LimitedTimeOffer *OfferExpiration  `json:"limited_time_offer,omitempty" validate:"required_if=Type limited_time_offer"`
}

// TemplateLocation is a location header's pin. The coordinates are
// checked by SendTemplateInput.Check: the latitude and longitude tags
// would repeat their long patterns in the schema, paid on every turn.
type TemplateLocation struct {
	Latitude  tools.Decimal `json:"latitude" validate:"required"`
	Longitude tools.Decimal `json:"longitude" validate:"required"`
	Name      string        `json:"name,omitempty"`
	Address   string        `json:"address,omitempty"`
}

// FlowButtonAction is a Flow button's parameter.
type FlowButtonAction struct {
	FlowToken      string         `json:"flow_token,omitempty"`
	FlowActionData map[string]any `json:"flow_action_data,omitempty"`
}

// OfferExpiration is when a limited-time offer ends.
type OfferExpiration struct {
	ExpirationTimeMs int64 `json:"expiration_time_ms" validate:"required" jsonschema_description:"Unix ms."`
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

// ButtonIndex is a button's position. Meta's reference types it as a
// number and its examples write a string ("0"); both are read, and it is
// sent as a number.
type ButtonIndex int

// UnmarshalJSON reads 0 and "0".
func (b *ButtonIndex) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New(`must be a whole number or a numeric string such as "0"`)
	}
	*b = ButtonIndex(n)
	return nil
}

// JSONSchema types it as an integer or a string at the property level (no
// anyOf, which some clients reject in tool schemas).
func (ButtonIndex) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Pattern: "^[0-9]$", Extras: map[string]any{"type": []string{"integer", "string"}}}
}

// TemplateComponentInput gives the parameters of one component of the template.
type TemplateComponentInput struct {
	Type       string                   `json:"type" validate:"required,oneof=header body button carousel limited_time_offer" jsonschema:"enum=header,enum=body,enum=button,enum=carousel,enum=limited_time_offer"`
	SubType    string                   `json:"sub_type,omitempty" validate:"required_if=Type button,omitempty,oneof=quick_reply url copy_code flow" jsonschema:"enum=quick_reply,enum=url,enum=copy_code,enum=flow" jsonschema_description:"Buttons only."`
	Index      *ButtonIndex             `json:"index,omitempty" validate:"required_if=Type button,omitempty,min=0,max=9" jsonschema_description:"Buttons only."`
	Parameters []TemplateParameterInput `json:"parameters,omitempty" validate:"required_unless=Type carousel,omitempty,min=1,max=100,dive" jsonschema_description:"In variable order, {{1}} first."`
	Cards      []CarouselCardInput      `json:"cards,omitempty" validate:"required_if=Type carousel,excluded_unless=Type carousel,omitempty,min=1,max=10,dive" jsonschema_description:"carousel: every card of the template."`
}

// CarouselCardInput gives the parameters of one carousel card.
type CarouselCardInput struct {
	CardIndex  int                  `json:"card_index" validate:"min=0,max=9"`
	Components []CardComponentInput `json:"components" validate:"required,min=1,max=4,dive"`
}

// CardComponentInput is a component of a card: a TemplateComponentInput
// that cannot hold cards (a type of its own: schema reflection cannot walk
// a type that holds itself).
type CardComponentInput struct {
	Type       string                   `json:"type" validate:"required,oneof=header body button"`
	SubType    string                   `json:"sub_type,omitempty" validate:"required_if=Type button,omitempty,oneof=quick_reply url copy_code flow"`
	Index      *ButtonIndex             `json:"index,omitempty" validate:"required_if=Type button,omitempty,min=0,max=9"`
	Parameters []TemplateParameterInput `json:"parameters" validate:"required,min=1,max=100,dive"`
}

func cardComponents(cs []CardComponentInput) []TemplateComponentInput {
	out := make([]TemplateComponentInput, len(cs))
	for i, c := range cs {
		out[i] = TemplateComponentInput{Type: c.Type, SubType: c.SubType, Index: c.Index, Parameters: c.Parameters}
	}
	return out
}

// JSONSchema describes a card without repeating the component schema (a
// model reads it once, above; the validator checks the cards in full).
func (CarouselCardInput) JSONSchema() *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set("card_index", &jsonschema.Schema{Type: "integer", Minimum: "0", Maximum: "9"})
	props.Set("components", &jsonschema.Schema{Type: "array", MinItems: ptr(uint64(1)), MaxItems: ptr(uint64(4)),
		Items: &jsonschema.Schema{Type: "object"}, Description: "header/body/button, as above."})
	return &jsonschema.Schema{Type: "object", Properties: props, Required: []string{"card_index", "components"}, AdditionalProperties: jsonschema.FalseSchema}
}

// SendTemplateInput is the input of WHATSAPP_SEND_TEMPLATE_MESSAGE.
type SendTemplateInput struct {
	Recipient
	TemplateName string                   `json:"template_name" validate:"required,tplname"`
	LanguageCode tools.LanguageCode       `json:"language_code,omitempty" validate:"langcode" jsonschema:"default=en_US" jsonschema_description:"Exactly as approved (en_US is not en)."`
	Components   []TemplateComponentInput `json:"components,omitempty" validate:"omitempty,max=20,dive"`
}

// Normalize applies the default language and Meta's lower-case component names.
func (in *SendTemplateInput) Normalize() {
	in.Recipient.Normalize()
	NormalizeTemplate(&in.LanguageCode, in.Components)
}

// NormalizeTemplate applies a template send's default language (en_US,
// when lang is set and empty) and Meta's lower-case component, sub-type
// and parameter names: the single and the bulk template sends share it.
func NormalizeTemplate(lang *tools.LanguageCode, comps []TemplateComponentInput) {
	if lang != nil && *lang == "" {
		*lang = "en_US"
	}
	lowerComponents(comps)
}

func lowerComponents(comps []TemplateComponentInput) {
	for i := range comps {
		c := &comps[i]
		c.Type, c.SubType = strings.ToLower(c.Type), strings.ToLower(c.SubType)
		lowerParameters(c.Parameters)
		for j := range c.Cards {
			for k := range c.Cards[j].Components {
				cc := &c.Cards[j].Components[k]
				cc.Type, cc.SubType = strings.ToLower(cc.Type), strings.ToLower(cc.SubType)
				lowerParameters(cc.Parameters)
			}
		}
	}
}

func lowerParameters(ps []TemplateParameterInput) {
	for i := range ps {
		ps[i].Type = strings.ToLower(ps[i].Type)
	}
}

// Check places each parameter type where Meta takes it
// (docs/cloud-api.md#template-parameters): a location in the header, a
// coupon_code in a copy_code button, an action in a flow button, an
// expiration in the limited_time_offer component; cards hold header, body
// and button components, with distinct card indexes.
func (in *SendTemplateInput) Check() []tools.FieldError {
	return CheckTemplateComponents("components", in.Components)
}

// CheckTemplateComponents is SendTemplateInput.Check for any list of
// components (the bulk send checks its own the same way).
func CheckTemplateComponents(field string, comps []TemplateComponentInput) []tools.FieldError {
	return checkSendComponents(field, comps, false)
}

func checkSendComponents(field string, comps []TemplateComponentInput, inCard bool) []tools.FieldError {
	var errs []tools.FieldError
	add := func(f, rule string, args ...any) {
		errs = append(errs, tools.FieldError{Field: f, Rule: fmt.Sprintf(rule, args...)})
	}
	// Where each parameter type belongs: component type, or button sub_type.
	place := map[string]string{"location": "header", "coupon_code": "copy_code", "action": "flow", "limited_time_offer": "limited_time_offer"}
	for i, c := range comps {
		f := fmt.Sprintf("%s[%d]", field, i)
		if inCard && c.Type != "header" && c.Type != "body" && c.Type != "button" {
			add(f+".type", "must be header, body or button inside a card (got %s)", tools.Echo(c.Type))
		}
		for j, p := range c.Parameters {
			if l := p.Location; l != nil {
				pf := fmt.Sprintf("%s.parameters[%d].location", f, j)
				for _, c := range []struct {
					name  string
					value tools.Decimal
					limit float64
				}{{"latitude", l.Latitude, 90}, {"longitude", l.Longitude, 180}} {
					if v, err := strconv.ParseFloat(string(c.value), 64); c.value != "" && (err != nil || v < -c.limit || v > c.limit) {
						add(pf+"."+c.name, "must be a decimal number from %v to %v", -c.limit, c.limit)
					}
				}
			}
			want, ok := place[p.Type]
			if !ok {
				if c.Type == "limited_time_offer" {
					add(fmt.Sprintf("%s.parameters[%d].type", f, j), "must be limited_time_offer in a limited_time_offer component (got %s)", tools.Echo(p.Type))
				}
				continue
			}
			if got := c.Type; got != want && !(c.Type == "button" && c.SubType == want) {
				where := want + " component"
				if want == "copy_code" || want == "flow" {
					where = "button with sub_type " + want
				}
				add(fmt.Sprintf("%s.parameters[%d].type", f, j), "%s belongs in a %s", p.Type, where)
			}
		}
		if c.Type == "button" {
			switch c.SubType {
			case "copy_code":
				if len(c.Parameters) != 1 || c.Parameters[0].Type != "coupon_code" {
					add(f+".parameters", "a copy_code button takes one coupon_code parameter")
				}
			case "flow":
				if len(c.Parameters) != 1 || c.Parameters[0].Type != "action" {
					add(f+".parameters", "a flow button takes one action parameter")
				}
			}
		}
		if c.Type == "carousel" {
			if inCard {
				add(f+".type", "a card cannot hold a carousel")
				continue
			}
			seen := map[int]bool{}
			for j, card := range c.Cards {
				cf := fmt.Sprintf("%s.cards[%d]", f, j)
				if seen[card.CardIndex] {
					add(cf+".card_index", "repeats card_index %d; each card once", card.CardIndex)
				}
				seen[card.CardIndex] = true
				errs = append(errs, checkSendComponents(cf+".components", cardComponents(card.Components), true)...)
			}
		}
	}
	return errs
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
			`[{"type":"body","parameters":[{"type":"text","text":"Ana"}]}].`,
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
	return &graph.Template{Name: name, Language: graph.TemplateLanguage{Code: language}, Components: templateComponents(comps)}
}

func templateComponents(comps []TemplateComponentInput) []graph.TemplateComponent {
	var out []graph.TemplateComponent
	for _, c := range comps {
		gc := graph.TemplateComponent{Type: c.Type, SubType: c.SubType}
		if c.Index != nil {
			gc.Index = ptr(int(*c.Index))
		}
		for _, p := range c.Parameters {
			gc.Parameters = append(gc.Parameters, p.toGraph())
		}
		for _, card := range c.Cards {
			gc.Cards = append(gc.Cards, graph.CarouselCard{CardIndex: card.CardIndex, Components: templateComponents(cardComponents(card.Components))})
		}
		out = append(out, gc)
	}
	return out
}

func (p *TemplateParameterInput) toGraph() graph.TemplateParameter {
	gp := graph.TemplateParameter{Type: p.Type, ParameterName: p.ParameterName, Text: p.Text, Payload: p.Payload,
		Image: p.Image.toGraph(), Video: p.Video.toGraph(), Document: p.Document.toGraph(), CouponCode: p.CouponCode}
	if p.Currency != nil {
		gp.Currency = &graph.Currency{FallbackValue: p.Currency.FallbackValue, Code: p.Currency.Code, Amount1000: p.Currency.Amount1000}
	}
	if p.DateTime != nil {
		gp.DateTime = &graph.DateTime{FallbackValue: p.DateTime.FallbackValue}
	}
	if l := p.Location; l != nil {
		gp.Location = &graph.Location{Latitude: string(l.Latitude), Longitude: string(l.Longitude), Name: l.Name, Address: l.Address}
	}
	if a := p.Action; a != nil {
		gp.Action = &graph.TemplateAction{FlowToken: a.FlowToken}
		if a.FlowActionData != nil {
			// A map of JSON values always marshals.
			gp.Action.FlowActionData, _ = json.Marshal(a.FlowActionData)
		}
	}
	if o := p.LimitedTimeOffer; o != nil {
		gp.LimitedTimeOffer = &graph.LimitedTimeOffer{ExpirationTimeMs: o.ExpirationTimeMs}
	}
	return gp
}
