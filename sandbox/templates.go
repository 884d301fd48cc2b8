package sandbox

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

var (
	// templateNameRE is compiled on first use: its {1,512} makes a program
	// of 512 steps (about 370 KB and 0.3 ms), which a process that never
	// runs the sandbox would pay at start.
	templateNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_]{1,512}$`) })
	varRE          = regexp.MustCompile(`\{\{([^{}]*)\}\}`)
	positionalRE   = regexp.MustCompile(`^[1-9][0-9]*$`)
	namedRE        = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

var templateCategories = []string{"AUTHENTICATION", "MARKETING", "UTILITY"}

var templateStatuses = []string{
	"APPROVED", "ARCHIVED", "DELETED", "DISABLED", "IN_APPEAL", "LIMIT_EXCEEDED", "PAUSED",
	"PENDING", "PENDING_DELETION", "REJECTED",
}

// templateLanguages is Meta's list of template language codes (docs/cloud-api.md#template-language-codes).
var templateLanguages = cloudapi.LanguageCodes

const templateNode = "WhatsAppMessageTemplate"

// templateVars lists the distinct variable names of text ("1", "first_name"), in order.
func templateVars(text string) []string {
	var out []string
	for _, m := range varRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

func strField(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case fmt.Stringer:
		return v.String()
	}
	return ""
}

// ---- create ----

func (s *Sandbox) createTemplate(c *call, _ string) (any, *apiError) {
	b, _ := readParams(c.r)
	name, _, e := optString(b, "", "name")
	if e != nil || name == "" {
		return nil, errParam("The parameter name is required")
	}
	if !templateNameRE().MatchString(name) {
		if len(name) > 512 {
			return nil, errTemplate(2388040, "Message template character limit exceeded",
				"The template name can have at most 512 characters.")
		}
		return nil, errTemplate(0, "Invalid template name",
			"Template names can only contain lowercase letters, numbers and underscores.")
	}
	category, _, _ := optString(b, "", "category")
	if category == "" {
		return nil, errParam("The parameter category is required")
	}
	category = strings.ToUpper(category)
	if !contains(templateCategories, category) {
		return nil, errParam(fmt.Sprintf("Param category must be one of {%s} - got \"%s\".", strings.Join(templateCategories, ", "), category))
	}
	lang, _, _ := optString(b, "", "language")
	if lang == "" {
		return nil, errParam("The parameter language is required")
	}
	if !templateLanguages[lang] {
		return nil, errTemplate(0, "Invalid language",
			fmt.Sprintf("%q is not a supported template language code; use a code such as en_US (codes are case-sensitive and use '_').", lang))
	}
	format := "POSITIONAL"
	if f, ok, _ := optString(b, "", "parameter_format"); ok {
		format = strings.ToUpper(f)
		if format != "POSITIONAL" && format != "NAMED" {
			return nil, errParam(fmt.Sprintf("Param parameter_format must be one of {NAMED, POSITIONAL} - got \"%s\".", f))
		}
	}
	rawComps, ok := b["components"]
	if !ok || rawComps == nil {
		return nil, errParam("The parameter components is required")
	}
	comps, ok := rawComps.([]any)
	if !ok {
		return nil, errParam("Param components must be an array")
	}
	if e := validateComponents(category, format, comps); e != nil {
		return nil, e
	}
	var ttl *int64
	if v, ok, _ := optString(b, "", "message_send_ttl_seconds"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errParam("Param message_send_ttl_seconds must be an integer")
		}
		ttl = &n
	}
	sub, _, _ := optString(b, "", "sub_category")

	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked()
	now := s.now()
	for _, t := range s.st.templates {
		if t.name == name && t.language == lang {
			// Subcode UNCONFIRMED: 2388024 is what integrators report for this case.
			return nil, errTemplate(2388024, "Content in this language already exists",
				fmt.Sprintf("Content for %s already exists under the template %s. Edit the existing content or use a different name.", lang, name))
		}
	}
	if at, ok := s.st.deleted[name+"|"+lang]; ok && now.Sub(at) < nameLockAfter {
		// A deleted approved template's name+language stays locked for 30 days
		// (docs/cloud-api.md#template-names); subcode UNCONFIRMED.
		return nil, errTemplate(2388023, "Message template language is being deleted",
			fmt.Sprintf("New %s content can't be added while the existing %s content is being deleted. Try again in 4 weeks or create a new message template.", lang, lang))
	}
	t := &template{
		name: name, language: lang, category: category, status: "PENDING", parameterFormat: format,
		subCategory: strings.ToUpper(sub), components: comps, created: now, autoApprove: true,
		quality: "UNKNOWN", ttlSeconds: ttl,
	}
	s.st.addTemplate(t)
	return object{{"id", t.id}, {"status", t.status}, {"category", t.category}}, nil
}

var componentTypes = []string{"HEADER", "BODY", "FOOTER", "BUTTONS", "CAROUSEL", "LIMITED_TIME_OFFER", "CALL_PERMISSION_REQUEST"}

var buttonTypes = []string{
	"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM", "SPM",
	"VOICE_CALL", "APP",
}

// validateComponents applies the component rules of docs/cloud-api.md#template-components. Subcodes: 2388040 length,
// 2388047 header format, 2388072 body format, 2388073 footer format, 2388299 variable at
// the start or end of the body. Rules without a documented subcode answer plain code 100.
func validateComponents(category, format string, comps []any) *apiError {
	counts := map[string]int{}
	for i, x := range comps {
		p := pathIdx("components", i)
		comp, ok := x.(map[string]any)
		if !ok {
			return errParam("Param " + p + " must be an object")
		}
		typ := strings.ToUpper(strField(comp, "type"))
		if typ == "" {
			return errParam("The parameter " + p + "['type'] is required")
		}
		if !contains(componentTypes, typ) {
			return errParam(fmt.Sprintf("Param %s['type'] must be one of {%s} - got \"%s\".", p, strings.Join(componentTypes, ", "), typ))
		}
		counts[typ]++
		if counts[typ] > 1 {
			return errTemplate(0, "Invalid components", fmt.Sprintf("A template can have only one %s component.", typ))
		}
		var e *apiError
		switch typ {
		case "BODY":
			e = checkBodyComponent(category, format, comp)
		case "HEADER":
			e = checkHeaderComponent(category, format, comp)
		case "FOOTER":
			e = checkFooterComponent(comp)
		case "BUTTONS":
			e = checkButtonsComponent(comp)
		}
		if e != nil {
			return e
		}
	}
	if counts["BODY"] != 1 {
		return errTemplate(2388072, "Message template body is missing", "A template needs exactly one BODY component.")
	}
	return nil
}

// checkVars checks variable syntax against the parameter format; positional variables must
// be numbered {{1}}..{{n}} without gaps.
func checkVars(text, format, where string, subcode int) *apiError {
	vars := templateVars(text)
	nums := map[int]bool{}
	for _, v := range vars {
		if format == "NAMED" {
			if !namedRE.MatchString(v) {
				return errTemplate(subcode, "Invalid parameter format",
					fmt.Sprintf("%s uses {{%s}}; templates with parameter_format NAMED use lowercase names such as {{first_name}}.", where, v))
			}
			continue
		}
		if !positionalRE.MatchString(v) {
			return errTemplate(subcode, "Invalid parameter format",
				fmt.Sprintf("%s uses {{%s}}; positional templates use {{1}}, {{2}}, … (set parameter_format NAMED for named variables).", where, v))
		}
		n, _ := strconv.Atoi(v)
		nums[n] = true
	}
	for i := 1; i <= len(nums); i++ {
		if !nums[i] {
			return errTemplate(subcode, "Invalid parameter format",
				fmt.Sprintf("%s variables must be numbered sequentially starting at {{1}}.", where))
		}
	}
	return nil
}

func checkBodyComponent(category, format string, comp map[string]any) *apiError {
	text := strField(comp, "text")
	if text == "" {
		if category == "AUTHENTICATION" {
			return nil // authentication bodies are generated by Meta
		}
		return errTemplate(2388072, "Message template body is missing", "The BODY component needs text.")
	}
	if runeLen(text) > 1024 {
		return errTemplate(2388040, "Message template character limit exceeded",
			fmt.Sprintf("The body has %d characters; the limit is 1024.", runeLen(text)))
	}
	if e := checkVars(text, format, "The body", 2388072); e != nil {
		return e
	}
	t := strings.TrimSpace(text)
	if loc := varRE.FindStringIndex(t); loc != nil && loc[0] == 0 {
		return errTemplate(2388299, "Variables can't be at the start or end of the template",
			"The body can't start with a variable. Add text before it.")
	}
	if locs := varRE.FindAllStringIndex(t, -1); len(locs) > 0 && locs[len(locs)-1][1] == len(t) {
		return errTemplate(2388299, "Variables can't be at the start or end of the template",
			"The body can't end with a variable. Add text after it.")
	}
	return nil
}

func checkHeaderComponent(category, format string, comp map[string]any) *apiError {
	f := strings.ToUpper(strField(comp, "format"))
	switch f {
	case "TEXT":
		text := strField(comp, "text")
		if text == "" {
			return errTemplate(2388047, "Message template header format is incorrect", "A TEXT header needs text.")
		}
		if runeLen(text) > 60 {
			return errTemplate(2388040, "Message template character limit exceeded",
				fmt.Sprintf("The header has %d characters; the limit is 60.", runeLen(text)))
		}
		if len(templateVars(text)) > 1 {
			return errTemplate(2388047, "Message template header format is incorrect", "A TEXT header can have at most one variable.")
		}
		return checkVars(text, format, "The header", 2388047)
	case "IMAGE", "VIDEO", "DOCUMENT", "GIF":
		// Media headers need a Resumable Upload handle as example (docs/cloud-api.md#template-components).
		ex, _ := comp["example"].(map[string]any)
		if h, _ := ex["header_handle"].([]any); len(h) == 0 {
			return errTemplate(2388047, "Message template header format is incorrect",
				"A media header needs example.header_handle with an asset handle from the Resumable Upload API.")
		}
	case "LOCATION":
		if category != "UTILITY" && category != "MARKETING" {
			return errTemplate(2388047, "Message template header format is incorrect", "LOCATION headers are only allowed for UTILITY and MARKETING templates.")
		}
	default:
		return errTemplate(2388047, "Message template header format is incorrect",
			fmt.Sprintf("Header format must be one of TEXT, IMAGE, VIDEO, DOCUMENT, GIF, LOCATION; got %q.", f))
	}
	return nil
}

func checkFooterComponent(comp map[string]any) *apiError {
	text := strField(comp, "text")
	switch {
	case text == "":
		return errTemplate(2388073, "Message template footer format is incorrect", "The FOOTER component needs text.")
	case runeLen(text) > 60:
		return errTemplate(2388040, "Message template character limit exceeded",
			fmt.Sprintf("The footer has %d characters; the limit is 60.", runeLen(text)))
	case len(templateVars(text)) > 0:
		return errTemplate(2388073, "Message template footer format is incorrect", "The footer can't contain variables.")
	}
	return nil
}

func checkButtonsComponent(comp map[string]any) *apiError {
	btns, _ := comp["buttons"].([]any)
	if len(btns) == 0 || len(btns) > 10 {
		return errTemplate(0, "Invalid buttons", "The BUTTONS component needs 1 to 10 buttons.")
	}
	per := map[string]int{}
	limits := map[string]int{"URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1}
	qrGroupEnded, seenQR := false, false
	for i, x := range btns {
		b, ok := x.(map[string]any)
		if !ok {
			return errParam(fmt.Sprintf("Param components['buttons'][%d] must be an object", i))
		}
		typ := strings.ToUpper(strField(b, "type"))
		if !contains(buttonTypes, typ) {
			return errParam(fmt.Sprintf("Param buttons[%d]['type'] must be one of {%s} - got \"%s\".", i, strings.Join(buttonTypes, ", "), typ))
		}
		per[typ]++
		if l, ok := limits[typ]; ok && per[typ] > l {
			return errTemplate(0, "Invalid buttons", fmt.Sprintf("A template can have at most %d %s button(s).", l, typ))
		}
		// Quick replies must be grouped together (QR,QR,URL ok; QR,URL,QR not).
		if typ == "QUICK_REPLY" {
			if qrGroupEnded {
				return errTemplate(0, "Invalid buttons", "Quick reply buttons must be grouped together.")
			}
			seenQR = true
		} else if seenQR {
			qrGroupEnded = true
		}
		text := strField(b, "text")
		if text == "" && typ != "COPY_CODE" && typ != "OTP" {
			return errTemplate(0, "Invalid buttons", fmt.Sprintf("Button %d needs text.", i))
		}
		if runeLen(text) > 25 {
			return errTemplate(2388040, "Message template character limit exceeded",
				fmt.Sprintf("Button %d text has %d characters; the limit is 25.", i, runeLen(text)))
		}
		switch typ {
		case "URL":
			u := strField(b, "url")
			if u == "" {
				return errTemplate(0, "Invalid buttons", fmt.Sprintf("URL button %d needs a url.", i))
			}
			if runeLen(u) > 2000 {
				return errTemplate(2388040, "Message template character limit exceeded", "Button URLs can have at most 2000 characters.")
			}
			if v := templateVars(u); len(v) > 1 || (len(v) == 1 && !strings.HasSuffix(u, "{{"+v[0]+"}}")) {
				return errTemplate(0, "Invalid buttons", "A URL button can have one variable, at the end of the URL.")
			}
		case "PHONE_NUMBER":
			ph := strField(b, "phone_number")
			if ph == "" || runeLen(ph) > 20 {
				return errTemplate(0, "Invalid buttons", "PHONE_NUMBER buttons need a phone_number of at most 20 characters.")
			}
		}
	}
	return nil
}

// ---- read ----

func (s *Sandbox) getTemplate(c *call, id string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked()
	t := s.st.templates[id]
	if t == nil {
		return nil, errNoObject(http.MethodGet, id)
	}
	return selectFields(templateObject(t), templateDefaultFields, c.r.URL.Query().Get("fields"), templateNode)
}

// listParam reads a list-typed Graph parameter: one value, a comma list, or a JSON array
// string (docs/cloud-api.md#whatsapp_get_message_templates). Enum values are matched case-insensitively.
func listParam(raw, name string, enum []string) ([]string, *apiError) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil
	}
	var vals []string
	if strings.HasPrefix(raw, "[") {
		raw = strings.Trim(raw, "[]")
	}
	for _, v := range strings.Split(raw, ",") {
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if v == "" {
			continue
		}
		if enum != nil {
			v = strings.ToUpper(v)
			if !contains(enum, v) {
				return nil, errParam(fmt.Sprintf("Param %s[%d] must be one of {%s} - got \"%s\".", name, len(vals), strings.Join(enum, ", "), v))
			}
		}
		vals = append(vals, v)
	}
	return vals, nil
}

func (s *Sandbox) listTemplates(c *call, _ string) (any, *apiError) {
	q := c.r.URL.Query()
	limit, e := parseLimit(q)
	if e != nil {
		return nil, e
	}
	statuses, e := listParam(q.Get("status"), "status", templateStatuses)
	if e != nil {
		return nil, e
	}
	cats, e := listParam(q.Get("category"), "category", templateCategories)
	if e != nil {
		return nil, e
	}
	langs, _ := listParam(q.Get("language"), "language", nil)
	nameOrContent := strings.ToLower(q.Get("name_or_content"))
	nameLike := strings.ToLower(q.Get("name"))
	content := strings.ToLower(q.Get("content"))
	fields := q.Get("fields")
	if _, e := selectFields(templateObject(&template{}), templateDefaultFields, fields, templateNode); e != nil {
		return nil, e
	}

	s.mu.Lock()
	s.refreshLocked()
	var ts []*template
	for _, t := range s.st.templates {
		body := strings.ToLower(bodyText(t))
		switch {
		case statuses != nil && !contains(statuses, t.status),
			cats != nil && !contains(cats, t.category),
			langs != nil && !contains(langs, t.language),
			nameLike != "" && !strings.Contains(t.name, nameLike),
			content != "" && !strings.Contains(body, content),
			nameOrContent != "" && !strings.Contains(t.name, nameOrContent) && !strings.Contains(body, nameOrContent):
			continue
		}
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *template) int { return -cmpInt(a.seq, b.seq) }) // newest first
	keys := make([]int64, len(ts))
	objs := make([]object, len(ts))
	for i, t := range ts {
		keys[i] = t.seq
		objs[i], _ = selectFields(templateObject(t), templateDefaultFields, fields, templateNode)
	}
	s.mu.Unlock()

	start, end, ok := paginate(keys, q, limit)
	if !ok {
		if c.major >= 24 {
			return nil, errMsg(http.StatusBadRequest, 131059, "Invalid pagination cursor",
				"The after or before cursor is invalid or has expired. Retry the request without a cursor.")
		}
		// Before v24 Graph had no dedicated error; the sandbox answers an empty page (UNCONFIRMED).
		return object{{"data", []any{}}}, nil
	}
	return s.page(c, objs[start:end], keys, start, end), nil
}

func bodyText(t *template) string {
	for _, x := range t.components {
		if m, ok := x.(map[string]any); ok && strings.EqualFold(strField(m, "type"), "BODY") {
			return strField(m, "text")
		}
	}
	return ""
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---- delete ----

func (s *Sandbox) deleteTemplates(c *call, _ string) (any, *apiError) {
	q := c.r.URL.Query()
	name, hsm := q.Get("name"), q.Get("hsm_id")
	if name == "" {
		// Meta documents hsm_id only together with name (docs/cloud-api.md#whatsapp_delete_message_template); requiring name is
		// the safe reading and keeps clients from relying on an undocumented form.
		return nil, errParam("The parameter name is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked()
	now := s.now()
	del := func(t *template) {
		if t.status == "APPROVED" {
			s.st.deleted[t.name+"|"+t.language] = now
		}
		delete(s.st.templates, t.id)
	}
	if hsm != "" {
		t := s.st.templates[hsm]
		if t == nil || t.name != name {
			return nil, errTemplate(0, "Message template not found",
				fmt.Sprintf("No message template with id %s and name %s exists.", hsm, name))
		}
		del(t)
		return object{{"success", true}}, nil
	}
	var found []*template
	for _, t := range s.st.templates {
		if t.name == name {
			found = append(found, t)
		}
	}
	if len(found) == 0 {
		return nil, errTemplate(0, "Message template not found", fmt.Sprintf("No message template named %s exists.", name))
	}
	for _, t := range found {
		del(t)
	}
	return object{{"success", true}}, nil
}

// ---- sending a template ----

// checkTemplateSend finds the APPROVED template a send names and checks its parameters.
// Caller holds s.mu.
func (s *Sandbox) checkTemplateSend(b map[string]any) (*template, *apiError) {
	o, e := reqObject(b, "", "template")
	if e != nil {
		return nil, e
	}
	name, e := reqString(o, "template", "name")
	if e != nil {
		return nil, e
	}
	langObj, e := reqObject(o, "template", "language")
	if e != nil {
		return nil, e
	}
	code, e := reqString(langObj, "template['language']", "code")
	if e != nil {
		return nil, e
	}
	var tpl *template
	for _, t := range s.st.templates {
		if t.name == name && t.language == code && t.status == "APPROVED" {
			tpl = t
			break
		}
	}
	if tpl == nil {
		return nil, errMsg(http.StatusNotFound, 132001, "Template name does not exist in the translation",
			fmt.Sprintf("template name (%s) does not exist in %s", name, code))
	}
	return tpl, checkTemplateParams(tpl, o["components"])
}

// paramSpec is what a template expects from a send.
type paramSpec struct {
	named       bool
	header      []string // variable names of a TEXT header
	headerMedia string   // "image", "video", "document" for media headers (one parameter)
	body        []string
	buttons     map[int]bool // button index → needs exactly one parameter (URL variable, COPY_CODE, OTP)
	quickReply  map[int]bool // may carry a payload parameter
}

func specOf(t *template) paramSpec {
	sp := paramSpec{named: t.parameterFormat == "NAMED", buttons: map[int]bool{}, quickReply: map[int]bool{}}
	for _, x := range t.components {
		comp, _ := x.(map[string]any)
		switch strings.ToUpper(strField(comp, "type")) {
		case "HEADER":
			switch f := strings.ToUpper(strField(comp, "format")); f {
			case "TEXT":
				sp.header = templateVars(strField(comp, "text"))
			case "IMAGE", "VIDEO", "DOCUMENT", "LOCATION":
				sp.headerMedia = strings.ToLower(f)
			case "GIF":
				sp.headerMedia = "video"
			}
		case "BODY":
			sp.body = templateVars(strField(comp, "text"))
		case "BUTTONS":
			btns, _ := comp["buttons"].([]any)
			for i, bx := range btns {
				bt, _ := bx.(map[string]any)
				switch strings.ToUpper(strField(bt, "type")) {
				case "URL":
					if len(templateVars(strField(bt, "url"))) > 0 {
						sp.buttons[i] = true
					}
				case "COPY_CODE", "OTP":
					sp.buttons[i] = true
				case "QUICK_REPLY":
					sp.quickReply[i] = true
				}
			}
		}
	}
	return sp
}

func paramMismatch(where string, got, want int) *apiError {
	return errMsg(http.StatusBadRequest, 132000, "Number of parameters does not match the expected number of params",
		fmt.Sprintf("%s: number of localizable_params (%d) does not match the expected number of params (%d)", where, got, want))
}

func formatMismatch(details string) *apiError {
	return errMsg(http.StatusBadRequest, 132012, "Parameter format does not match format in the created template", details)
}

// checkTemplateParams compares the parameters of a send's template.components with the
// variables the template declares, per component.
func checkTemplateParams(t *template, raw any) *apiError {
	sp := specOf(t)
	var comps []any
	if raw != nil {
		var ok bool
		if comps, ok = raw.([]any); !ok {
			return invalid("Param template['components'] must be an array.")
		}
	}
	sent := map[string][]any{}
	buttons := map[int][]any{}
	for i, x := range comps {
		p := pathIdx("template['components']", i)
		comp, ok := x.(map[string]any)
		if !ok {
			return invalid("Param " + p + " must be a JSON object.")
		}
		typ := strings.ToLower(strField(comp, "type"))
		params, _ := comp["parameters"].([]any)
		switch typ {
		case "header", "body":
			if _, dup := sent[typ]; dup {
				return invalid("Param template['components'] has more than one " + typ + " component.")
			}
			sent[typ] = params
		case "button":
			idx, err := strconv.Atoi(strField(comp, "index"))
			if err != nil {
				return missing(pathKey(p, "index"))
			}
			buttons[idx] = params
		case "":
			return missing(pathKey(p, "type"))
		default:
			return badEnum(pathKey(p, "type"), []string{"header", "body", "button", "carousel", "limited_time_offer"}, typ)
		}
	}

	if sp.headerMedia != "" {
		hp := sent["header"]
		if len(hp) != 1 {
			return paramMismatch("header", len(hp), 1)
		}
		pm, _ := hp[0].(map[string]any)
		if pt := strField(pm, "type"); pt != sp.headerMedia {
			return formatMismatch(fmt.Sprintf("header: expected a %s parameter, got %q", sp.headerMedia, pt))
		}
	} else if e := checkTextParams("header", sent["header"], sp.header, sp.named); e != nil {
		return e
	}
	if e := checkTextParams("body", sent["body"], sp.body, sp.named); e != nil {
		return e
	}
	for idx := range sp.buttons {
		if got := len(buttons[idx]); got != 1 {
			return paramMismatch(fmt.Sprintf("button at index %d", idx), got, 1)
		}
	}
	for idx, params := range buttons {
		if sp.buttons[idx] || (sp.quickReply[idx] && len(params) <= 1) {
			continue
		}
		return paramMismatch(fmt.Sprintf("button at index %d", idx), len(params), 0)
	}
	return nil
}

func checkTextParams(where string, params []any, vars []string, named bool) *apiError {
	if len(params) != len(vars) {
		return paramMismatch(where, len(params), len(vars))
	}
	seen := map[string]bool{}
	for _, x := range params {
		pm, ok := x.(map[string]any)
		if !ok {
			return invalid("Each " + where + " parameter must be a JSON object.")
		}
		pn := strField(pm, "parameter_name")
		switch {
		case named && pn == "":
			return formatMismatch(where + ": this template uses named parameters; give each parameter a parameter_name")
		case !named && pn != "":
			return formatMismatch(where + ": this template uses positional parameters; remove parameter_name")
		case named && (!slices.Contains(vars, pn) || seen[pn]):
			return formatMismatch(fmt.Sprintf("%s: parameter_name %q does not match a variable of the template (%s)", where, pn, strings.Join(vars, ", ")))
		}
		seen[pn] = true
	}
	return nil
}
