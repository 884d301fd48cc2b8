package tools

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// FieldError names one offending input field and the rule it breaks.
type FieldError struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

// InputError lists every offending field at once, so a model can fix its
// call in one go. Nothing is sent to the Graph API when it is returned.
type InputError struct {
	Fields []FieldError
}

// ErrorKind classifies the failure for transports that map it (REST).
func (e *InputError) ErrorKind() ErrorKind { return KindInvalidInput }

func (e *InputError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = fmt.Sprintf("`%s` %s", f.Field, f.Rule)
	}
	return "invalid input (nothing was sent to WhatsApp): " + strings.Join(parts, "; ")
}

// FailureData returns the offending fields so a client can show them.
func (e *InputError) FailureData() map[string]any {
	return map[string]any{"invalid_fields": e.Fields}
}

// Invalid builds an InputError with a single field.
func Invalid(field, rule string, args ...any) *InputError {
	return &InputError{Fields: []FieldError{{Field: field, Rule: fmt.Sprintf(rule, args...)}}}
}

// Normalizer is implemented by inputs that rewrite fields (phone numbers)
// before validation.
type Normalizer interface {
	Normalize()
}

// Checker is implemented by inputs with rules a struct tag cannot say
// (cross-field rules, totals across nested lists).
type Checker interface {
	Check() []FieldError
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

func fieldNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	if t.Kind() != reflect.Struct {
		return names
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			names = append(names, fieldNames(f.Type)...)
			continue
		}
		if n := jsonName(f); n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// embeddedNames lists the Go names of untagged embedded structs, which
// encoding/json flattens but validator keeps in its namespaces.
func embeddedNames(t reflect.Type, into map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			into[f.Name] = true
		}
		if f.IsExported() {
			embeddedNames(f.Type, into)
		}
	}
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

// Validator is the shared validator with our tags registered.
func Validator() *validator.Validate {
	validateOnce.Do(func() {
		v := validator.New(validator.WithRequiredStructEnabled())
		v.RegisterTagNameFunc(jsonName)
		must(v.RegisterValidation("phone", func(fl validator.FieldLevel) bool {
			// The default policy: a tag can refuse, not convert or warn.
			return PhonePolicy{}.Check(fl.Field().String()).Rule == ""
		}))
		// dialable is the phone policy's first rule, which no policy
		// changes: the characters of a phone number. The policy itself
		// (Prepare) judges the rest; its text for this rule is the same.
		must(v.RegisterValidation("dialable", func(fl validator.FieldLevel) bool {
			return isE164Shape(NormalizePhone(fl.Field().String()))
		}))
		must(v.RegisterValidation("graphid", func(fl validator.FieldLevel) bool {
			return isGraphID(fl.Field().String())
		}))
		must(v.RegisterValidation("fieldlist", func(fl validator.FieldLevel) bool {
			for _, f := range strings.Split(fl.Field().String(), ",") {
				if !fieldNameRe.MatchString(strings.TrimSpace(f)) {
					return false
				}
			}
			return true
		}))
		must(v.RegisterValidation("tplname", func(fl validator.FieldLevel) bool {
			return isTemplateName(fl.Field().String())
		}))
		must(v.RegisterValidation("langcode", func(fl validator.FieldLevel) bool {
			return LanguageCodes[fl.Field().String()]
		}))
		must(v.RegisterValidation("notblank", func(fl validator.FieldLevel) bool {
			return strings.TrimSpace(fl.Field().String()) != ""
		}))
		must(v.RegisterValidation("trimmed", func(fl validator.FieldLevel) bool {
			s := fl.Field().String()
			return s == strings.TrimSpace(s)
		}))
		validate = v
	})
	return validate
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// The expressions of the tags that are one, shared with the schemas
// (SchemaRules) so the two cannot drift apart.
const (
	// templateNamePattern: docs/cloud-api.md#template-names.
	templateNamePattern = `^[a-z0-9_]{1,512}$`
	// graphIDPattern: Meta's ids are numeric strings (docs/cloud-api.md#ids).
	// \d is [0-9] in ECMA-262 and RE2 alike, and two bytes shorter on
	// every id of every tools/list.
	graphIDPattern = `^\d{1,32}$`
	// fieldName is one Graph field, with optional subfields; the list is
	// split on commas first, so a name holds none.
	fieldName = `[a-z_][a-z0-9_]*(\{[a-z0-9_]*\})?`
	// dialablePattern is the characters NormalizePhone makes +<digits> of:
	// digits, +, spaces, dashes, dots, parentheses. Where the + may stand
	// is the validator's to say (the pattern is on every send's to_number,
	// paid on every turn).
	dialablePattern = `^[\s+\d().-]+$`
)

var fieldNameRe = regexp.MustCompile(`^` + fieldName + `$`)

// isTemplateName is templateNamePattern (^[a-z0-9_]{1,512}$) and isGraphID
// graphIDPattern (^\d{1,32}$), as code: compiled, the {1,512} would be a
// program of 512 steps, about 370 KB and 1 ms at every start (a test keeps
// the code and the patterns the same).
func isTemplateName(s string) bool {
	return len(s) <= 512 && allBytes(s, func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' })
}

func isGraphID(s string) bool {
	return len(s) <= 32 && allBytes(s, func(c byte) bool { return '0' <= c && c <= '9' })
}

// patternMatches reports whether the expression p matches s, p compiled
// once: building the schemas asks it of the same few patterns for many
// fields, at every start.
func patternMatches(p, s string) bool {
	re, ok := compiledPatterns.Load(p)
	if !ok {
		re, _ = compiledPatterns.LoadOrStore(p, regexp.MustCompile(p))
	}
	return re.(*regexp.Regexp).MatchString(s)
}

var compiledPatterns sync.Map // pattern → *regexp.Regexp

// allBytes reports s is not empty and every byte of it is ok.
func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return s != ""
}

// Validate normalises in (when it is a Normalizer), applies its struct tags
// and its Check rules, and returns one InputError naming every offence.
func Validate(in any) error {
	if fields := validateInput(in, nil); len(fields) > 0 {
		return &InputError{Fields: bounded(fields)}
	}
	return nil
}

// validateInput is Validate with the declaration's Prepare (may be nil), run
// after Normalize and before the rules, so they see what it rewrote.
func validateInput(in any, prepare func() []FieldError) []FieldError {
	if n, ok := in.(Normalizer); ok {
		n.Normalize()
	}
	var fields []FieldError
	if prepare != nil {
		fields = append(fields, prepare()...)
	}
	if err := Validator().Struct(in); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return []FieldError{{Field: argumentsField, Rule: err.Error()}}
		}
		embedded := map[string]bool{}
		embeddedNames(reflect.TypeOf(in), embedded)
		for _, fe := range verrs {
			fields = append(fields, FieldError{Field: fieldPath(fe.Namespace(), embedded), Rule: ruleText(fe)})
		}
	}
	if c, ok := in.(Checker); ok {
		fields = append(fields, c.Check()...)
	}
	return dedupe(fields)
}

// check decodes args into in and validates it: one InputError names every
// offence, of shape and of rule, so a model fixes its call at once.
func check(args []byte, in any, prepare func() []FieldError) error {
	shape, usable := decode(args, in)
	if !usable {
		return &InputError{Fields: bounded(shape)}
	}
	fields := shape
	for _, f := range validateInput(in, prepare) {
		// A value of the wrong type was left unset: "is required", or any
		// rule on what is under it, would say nothing true.
		if !under(f.Field, shape) {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &InputError{Fields: bounded(fields)}
}

// under reports whether field is, or is inside, one of the shape errors.
func under(field string, shape []FieldError) bool {
	for _, s := range shape {
		if field == s.Field || strings.HasPrefix(field, s.Field+".") || strings.HasPrefix(field, s.Field+"[") {
			return true
		}
	}
	return false
}

// dedupe keeps the first rule per field: a Check rule that repeats a tag's
// finding for the same field adds nothing.
func dedupe(fields []FieldError) []FieldError {
	seen := map[string]bool{}
	out := fields[:0]
	for _, f := range fields {
		key := f.Field + "\x00" + f.Rule
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, f)
	}
	return out
}

// fieldPath drops the root struct name validator puts first and the names
// of embedded structs, leaving the JSON path the caller sent.
func fieldPath(ns string, embedded map[string]bool) string {
	parts := strings.Split(ns, ".")
	if len(parts) > 1 {
		parts = parts[1:]
	}
	out := parts[:0]
	for _, p := range parts {
		if !embedded[p] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

func ruleText(fe validator.FieldError) string {
	p := fe.Param()
	kind := fe.Kind()
	switch fe.Tag() {
	case "required", "required_without", "required_if", "required_unless", "notblank":
		return "is required"
	case "excluded_with", "excluded_unless", "excluded_if":
		return "must not be set here"
	case "max", "lte":
		if kind == reflect.String {
			return fmt.Sprintf("must be at most %s characters (got %d)", p, utf8.RuneCountInString(fmt.Sprint(fe.Value())))
		}
		if kind == reflect.Slice || kind == reflect.Map {
			return fmt.Sprintf("must have at most %s items (got %d)", p, reflect.ValueOf(fe.Value()).Len())
		}
		return fmt.Sprintf("must be at most %s (got %v)", p, fe.Value())
	case "min", "gte":
		if kind == reflect.String {
			return fmt.Sprintf("must be at least %s characters", p)
		}
		if kind == reflect.Slice || kind == reflect.Map {
			return fmt.Sprintf("must have at least %s items (got %d)", p, reflect.ValueOf(fe.Value()).Len())
		}
		return fmt.Sprintf("must be at least %s (got %v)", p, fe.Value())
	case "oneof":
		return fmt.Sprintf("must be one of: %s (got %s)", strings.ReplaceAll(p, " ", ", "), Echo(fmt.Sprint(fe.Value())))
	case "phone", "dialable":
		return PhonePolicy{}.Check(fmt.Sprint(fe.Value())).Rule
	case "graphid":
		rule := fmt.Sprintf("must be a numeric Meta id, digits only, e.g. 106540352242922 (got %s)", Echo(fmt.Sprint(fe.Value())))
		if fe.Field() == "phone_number_id" {
			rule += "; it is the id of the business number from WHATSAPP_GET_PHONE_NUMBERS, not the phone number itself"
		}
		return rule
	case "fieldlist":
		return fmt.Sprintf("must be a comma-separated list of field names such as status,name (got %s)", Echo(fmt.Sprint(fe.Value())))
	case "tplname":
		return fmt.Sprintf("must be 1 to 512 lowercase letters, digits or underscores (got %s)", Echo(fmt.Sprint(fe.Value())))
	case "langcode":
		return languageRule(fmt.Sprint(fe.Value()))
	case "latitude":
		return fmt.Sprintf("must be a decimal latitude between -90 and 90 (got %s)", Echo(fmt.Sprint(fe.Value())))
	case "longitude":
		return fmt.Sprintf("must be a decimal longitude between -180 and 180 (got %s)", Echo(fmt.Sprint(fe.Value())))
	case "url", "http_url":
		return fmt.Sprintf("must be an absolute http(s) URL (got %s)", Echo(fmt.Sprint(fe.Value())))
	case "base64":
		return "must be standard base64 (RFC 4648) that decodes"
	case "unique":
		if p != "" {
			return fmt.Sprintf("must have unique %s values", p)
		}
		return "must not contain duplicates"
	case "numeric", "number":
		return fmt.Sprintf("must contain digits only (got %s)", Echo(fmt.Sprint(fe.Value())))
	case "trimmed":
		return "must not start or end with spaces"
	case "datetime":
		return fmt.Sprintf("must be a date in the form YYYY-MM-DD (got %s)", Echo(fmt.Sprint(fe.Value())))
	case "email":
		return fmt.Sprintf("must be an email address (got %s)", Echo(fmt.Sprint(fe.Value())))
	}
	if p != "" {
		return fmt.Sprintf("breaks rule %s=%s", fe.Tag(), p)
	}
	return "breaks rule " + fe.Tag()
}

// languageRule refuses a language code, naming Meta's codes of the same
// language when there are some: the schema gives only the codes' shape,
// so the list reaches a model here.
func languageRule(code string) string {
	lang, _, _ := strings.Cut(strings.ReplaceAll(code, "-", "_"), "_")
	lang = strings.ToLower(lang)
	var near []string
	for _, c := range strings.Fields(LanguageCodeList) {
		if l, _, _ := strings.Cut(c, "_"); l == lang {
			near = append(near, c)
		}
	}
	if len(near) > 0 {
		return fmt.Sprintf("must be one of Meta's template language codes; for this language: %s (case-sensitive, underscore; got %s)", strings.Join(near, ", "), Echo(code))
	}
	return fmt.Sprintf("must be one of Meta's template language codes such as en_US, en, pt_BR, es_MX (case-sensitive, underscore; got %s)", Echo(code))
}
