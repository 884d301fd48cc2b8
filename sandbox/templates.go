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
	if e := s.validateComponents(category, format, comps); e != nil {
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
func (s *Sandbox) validateComponents(category, format string, comps []any) *apiError {
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
			if category == "AUTHENTICATION" {
				e = errTemplate(2388047, "Message template header format is incorrect", "AUTHENTICATION templates can't have a header.")
				break
			}
			if e = checkHeaderComponent(category, format, comp); e == nil {
				e = s.checkHeaderHandles(strings.ToUpper(strField(comp, "format")), comp)
			}
		case "FOOTER":
			if category == "AUTHENTICATION" {
				e = checkAuthFooter(comp)
			} else {
				e = checkFooterComponent(comp)
			}
		case "BUTTONS":
			e = checkButtonsComponent(category, comp)
		case "CAROUSEL":
			e = s.checkCarousel(category, format, comp)
		}
		if e != nil {
			return e
		}
	}
	if counts["BODY"] != 1 {
		return errTemplate(2388072, "Message template body is missing", "A template needs exactly one BODY component.")
	}
	if counts["CAROUSEL"] > 0 && counts["HEADER"]+counts["FOOTER"]+counts["BUTTONS"] > 0 {
		return errTemplate(0, "Invalid components", "A carousel template has a BODY and the CAROUSEL; headers and buttons belong in its cards.")
	}
	if category == "AUTHENTICATION" && counts["BUTTONS"] == 0 {
		return errTemplate(0, "Invalid buttons", "An AUTHENTICATION template needs a BUTTONS component with one OTP button.")
	}
	return nil
}

// checkAuthFooter: an authentication footer is Meta's expiry line, set by
// code_expiration_minutes, 1 to 90 (docs/cloud-api.md#authentication-templates).
func checkAuthFooter(comp map[string]any) *apiError {
	if strField(comp, "text") != "" {
		return errTemplate(2388073, "Message template footer format is incorrect", "An AUTHENTICATION footer has no text; set code_expiration_minutes.")
	}
	if v, ok := comp["code_expiration_minutes"]; ok {
		n, err := strconv.Atoi(fmt.Sprint(v))
		if err != nil || n < 1 || n > 90 {
			return errTemplate(2388073, "Message template footer format is incorrect", "code_expiration_minutes must be a whole number from 1 to 90.")
		}
	}
	return nil
}

// checkOTPButton applies Meta's rules of an OTP button
// (docs/cloud-api.md#authentication-templates).
func checkOTPButton(i int, b map[string]any) *apiError {
	bad := func(msg string) *apiError {
		return errTemplate(0, "Invalid buttons", fmt.Sprintf("Button %d: %s", i, msg))
	}
	otp := strings.ToUpper(strField(b, "otp_type"))
	if !contains([]string{"COPY_CODE", "ONE_TAP", "ZERO_TAP"}, otp) {
		return errParam(fmt.Sprintf("Param buttons[%d]['otp_type'] must be one of {COPY_CODE, ONE_TAP, ZERO_TAP} - got \"%s\".", i, strField(b, "otp_type")))
	}
	if runeLen(strField(b, "autofill_text")) > 25 {
		return errTemplate(2388040, "Message template character limit exceeded", fmt.Sprintf("Button %d autofill_text has more than 25 characters.", i))
	}
	apps, _ := b["supported_apps"].([]any)
	if otp == "COPY_CODE" {
		return nil
	}
	if otp == "ZERO_TAP" {
		if ok, _ := b["zero_tap_terms_accepted"].(bool); !ok {
			return bad("zero-tap buttons need zero_tap_terms_accepted: true.")
		}
	}
	if len(apps) < 1 || len(apps) > 5 {
		return bad("one-tap and zero-tap buttons need supported_apps, 1 to 5 apps.")
	}
	for _, x := range apps {
		a, _ := x.(map[string]any)
		pkg, hash := strField(a, "package_name"), strField(a, "signature_hash")
		if !packageNameRE.MatchString(pkg) || runeLen(pkg) > 224 {
			return bad(fmt.Sprintf("package_name %q is not an Android package name.", pkg))
		}
		if runeLen(hash) != 11 {
			return bad("signature_hash must have 11 characters.")
		}
	}
	return nil
}

var packageNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)

// checkCarousel applies the rules of docs/cloud-api.md#carousel-templates: MARKETING only,
// 2 to 10 cards, each an IMAGE or VIDEO header with an uploaded handle, an optional body of
// at most 160 characters and 1 or 2 quick-reply, URL or phone-number buttons, every card
// with the same components.
func (s *Sandbox) checkCarousel(category, format string, comp map[string]any) *apiError {
	bad := func(msg string) *apiError { return errTemplate(0, "Invalid carousel", msg) }
	if category != "MARKETING" {
		return bad("Carousel templates must be MARKETING templates.")
	}
	cards, _ := comp["cards"].([]any)
	if len(cards) < 2 || len(cards) > 10 {
		return bad(fmt.Sprintf("A carousel needs 2 to 10 cards; got %d.", len(cards)))
	}
	first := ""
	for i, x := range cards {
		card, _ := x.(map[string]any)
		cc, _ := card["components"].([]any)
		var shape []string
		for _, y := range cc {
			c, _ := y.(map[string]any)
			typ := strings.ToUpper(strField(c, "type"))
			switch typ {
			case "HEADER":
				f := strings.ToUpper(strField(c, "format"))
				if f != "IMAGE" && f != "VIDEO" {
					return bad(fmt.Sprintf("Card %d: the header must be IMAGE or VIDEO.", i))
				}
				if e := checkHeaderComponent(category, format, c); e != nil {
					return e
				}
				if e := s.checkHeaderHandles(f, c); e != nil {
					return e
				}
				typ += ":" + f
			case "BODY":
				if runeLen(strField(c, "text")) > 160 {
					return errTemplate(2388040, "Message template character limit exceeded", fmt.Sprintf("Card %d: the body can have at most 160 characters.", i))
				}
				if e := checkBodyComponent(category, format, c); e != nil {
					return e
				}
			case "BUTTONS":
				btns, _ := c["buttons"].([]any)
				if len(btns) < 1 || len(btns) > 2 {
					return bad(fmt.Sprintf("Card %d: a card has 1 or 2 buttons.", i))
				}
				for _, bx := range btns {
					bt := strings.ToUpper(strField(bx.(map[string]any), "type"))
					if bt != "QUICK_REPLY" && bt != "URL" && bt != "PHONE_NUMBER" {
						return bad(fmt.Sprintf("Card %d: card buttons are QUICK_REPLY, URL or PHONE_NUMBER; got %s.", i, bt))
					}
					typ += ":" + bt
				}
				if e := checkButtonsComponent(category, c); e != nil {
					return e
				}
			default:
				return bad(fmt.Sprintf("Card %d: cards hold HEADER, BODY and BUTTONS components; got %q.", i, typ))
			}
			shape = append(shape, typ)
		}
		if len(shape) == 0 || !strings.HasPrefix(shape[0], "HEADER") {
			return bad(fmt.Sprintf("Card %d needs an IMAGE or VIDEO header.", i))
		}
		if sh := strings.Join(shape, ","); i == 0 {
			first = sh
		} else if sh != first {
			return bad(fmt.Sprintf("All cards must have the same components; card %d differs from card 0.", i))
		}
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
	if category == "AUTHENTICATION" {
		if text != "" {
			return errTemplate(2388072, "Message template body format is incorrect",
				"An AUTHENTICATION body is Meta's fixed text; leave text out (add_security_recommendation adds the advice).")
		}
		return nil // authentication bodies are generated by Meta (docs/cloud-api.md#authentication-templates)
	}
	if text == "" {
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

func checkButtonsComponent(category string, comp map[string]any) *apiError {
	btns, _ := comp["buttons"].([]any)
	if len(btns) == 0 || len(btns) > 10 {
		return errTemplate(0, "Invalid buttons", "The BUTTONS component needs 1 to 10 buttons.")
	}
	per := map[string]int{}
	limits := map[string]int{"URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1, "OTP": 1}
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
		if (typ == "OTP") != (category == "AUTHENTICATION") {
			return errTemplate(0, "Invalid buttons", "AUTHENTICATION templates have one OTP button, and OTP buttons are for AUTHENTICATION templates only.")
		}
		if typ == "OTP" {
			if e := checkOTPButton(i, b); e != nil {
				return e
			}
		}
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
	return tpl, s.checkTemplateParams(tpl, o["components"])
}

// paramSpec is what a template expects from a send.
type paramSpec struct {
	named       bool
	header      []string // variable names of a TEXT header
	headerMedia string   // "image", "video", "document", "location" for those headers (one parameter)
	body        []string
	buttons     map[int]string // button index → its type, for buttons that take a parameter
	offer       bool           // a limited-time offer with an expiration
	cards       [][]any        // a carousel's cards: each card's components
}

func specOf(t *template) paramSpec {
	sp := paramSpec{named: t.parameterFormat == "NAMED", buttons: map[int]string{}}
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
				switch typ := strings.ToUpper(strField(bt, "type")); typ {
				case "URL":
					if len(templateVars(strField(bt, "url"))) > 0 {
						sp.buttons[i] = typ
					}
				case "COPY_CODE", "OTP", "QUICK_REPLY", "FLOW":
					sp.buttons[i] = typ
				}
			}
		case "LIMITED_TIME_OFFER":
			lto, _ := comp["limited_time_offer"].(map[string]any)
			sp.offer, _ = lto["has_expiration"].(bool)
		case "CAROUSEL":
			cards, _ := comp["cards"].([]any)
			for _, cx := range cards {
				card, _ := cx.(map[string]any)
				cc, _ := card["components"].([]any)
				sp.cards = append(sp.cards, cc)
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
// variables the template declares, per component (docs/cloud-api.md#template-parameters).
func (s *Sandbox) checkTemplateParams(t *template, raw any) *apiError {
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
	var cards []any
	hasCards := false
	for i, x := range comps {
		p := pathIdx("template['components']", i)
		comp, ok := x.(map[string]any)
		if !ok {
			return invalid("Param " + p + " must be a JSON object.")
		}
		typ := strings.ToLower(strField(comp, "type"))
		params, _ := comp["parameters"].([]any)
		switch typ {
		case "header", "body", "limited_time_offer":
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
		case "carousel":
			cards, _ = comp["cards"].([]any)
			hasCards = true
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
		if sp.headerMedia == "location" {
			loc, _ := pm["location"].(map[string]any)
			if strField(loc, "latitude") == "" || strField(loc, "longitude") == "" {
				return missing("template['components']['header']['parameters'][0]['location']['latitude'/'longitude']")
			}
		}
	} else if e := checkTextParams("header", sent["header"], sp.header, sp.named, "text"); e != nil {
		return e
	}
	if e := checkTextParams("body", sent["body"], sp.body, sp.named, "text", "currency", "date_time"); e != nil {
		return e
	}
	if e := s.checkOffer(sp.offer, sent); e != nil {
		return e
	}
	for idx, typ := range sp.buttons {
		params := buttons[idx]
		switch {
		case typ == "QUICK_REPLY" || typ == "FLOW":
			// The payload or Flow action is optional.
			if len(params) > 1 {
				return paramMismatch(fmt.Sprintf("button at index %d", idx), len(params), 1)
			}
		case len(params) != 1:
			return paramMismatch(fmt.Sprintf("button at index %d", idx), len(params), 1)
		}
		want := map[string]string{"URL": "text", "OTP": "text", "COPY_CODE": "coupon_code", "QUICK_REPLY": "payload", "FLOW": "action"}[typ]
		for _, x := range params {
			pm, _ := x.(map[string]any)
			if pt := strField(pm, "type"); pt != want {
				return formatMismatch(fmt.Sprintf("button at index %d (%s): expected a %s parameter, got %q", idx, typ, want, pt))
			}
			if want == "coupon_code" && (strField(pm, "coupon_code") == "" || runeLen(strField(pm, "coupon_code")) > 20) {
				return invalid(fmt.Sprintf("button at index %d: coupon_code must have 1 to 20 characters", idx))
			}
		}
	}
	for idx, params := range buttons {
		if _, ok := sp.buttons[idx]; !ok {
			return paramMismatch(fmt.Sprintf("button at index %d", idx), len(params), 0)
		}
	}
	return s.checkCards(t, sp, cards, hasCards)
}

// checkOffer: a template whose limited-time offer has an expiration takes
// one limited_time_offer parameter, a time in the future; one without
// takes none.
func (s *Sandbox) checkOffer(want bool, sent map[string][]any) *apiError {
	params, got := sent["limited_time_offer"]
	switch {
	case !want && got:
		return paramMismatch("limited_time_offer", len(params), 0)
	case !want:
		return nil
	case len(params) != 1:
		return paramMismatch("limited_time_offer", len(params), 1)
	}
	pm, _ := params[0].(map[string]any)
	if strField(pm, "type") != "limited_time_offer" {
		return formatMismatch(fmt.Sprintf("limited_time_offer: expected a limited_time_offer parameter, got %q", strField(pm, "type")))
	}
	lto, _ := pm["limited_time_offer"].(map[string]any)
	ms, err := strconv.ParseInt(strField(lto, "expiration_time_ms"), 10, 64)
	if err != nil {
		return missing("template['components']['limited_time_offer']['parameters'][0]['limited_time_offer']['expiration_time_ms']")
	}
	if ms <= s.now().UnixMilli() {
		// Meta's answer to a past expiration is UNCONFIRMED; 131009 is its invalid-value code.
		return invalid("limited_time_offer: expiration_time_ms must be in the future")
	}
	return nil
}

// checkCards: a carousel send carries one card per card of the template
// (Meta refuses fewer, with a misleading 132012), card_index 0 to n-1
// once each, and each card's parameters match that card's components.
func (s *Sandbox) checkCards(t *template, sp paramSpec, cards []any, hasCards bool) *apiError {
	if len(sp.cards) == 0 {
		if hasCards {
			return paramMismatch("carousel", len(cards), 0)
		}
		return nil
	}
	if len(cards) != len(sp.cards) {
		return formatMismatch(fmt.Sprintf("carousel: the template has %d cards and the message %d; send every card", len(sp.cards), len(cards)))
	}
	seen := map[int]bool{}
	for i, x := range cards {
		card, _ := x.(map[string]any)
		idx, err := strconv.Atoi(strField(card, "card_index"))
		if err != nil || idx < 0 || idx >= len(sp.cards) || seen[idx] {
			return invalid(fmt.Sprintf("carousel: card %d needs a card_index from 0 to %d, each once", i, len(sp.cards)-1))
		}
		seen[idx] = true
		sub := &template{parameterFormat: t.parameterFormat, components: sp.cards[idx]}
		if e := s.checkTemplateParams(sub, card["components"]); e != nil {
			return e
		}
	}
	return nil
}

func checkTextParams(where string, params []any, vars []string, named bool, types ...string) *apiError {
	if len(params) != len(vars) {
		return paramMismatch(where, len(params), len(vars))
	}
	seen := map[string]bool{}
	for _, x := range params {
		pm, ok := x.(map[string]any)
		if !ok {
			return invalid("Each " + where + " parameter must be a JSON object.")
		}
		if pt := strField(pm, "type"); !contains(types, pt) {
			return formatMismatch(fmt.Sprintf("%s: a %q parameter does not fill a text variable (%s)", where, pt, strings.Join(types, ", ")))
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
