package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// Decode reads args strictly into in: unknown fields and wrong types are
// reported with the field's name. Empty or null args decode as {}.
func Decode(args json.RawMessage, in any) error {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		trimmed = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		return decodeError(err, in)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &InputError{Fields: []FieldError{{Field: "(arguments)", Rule: "must be a single JSON object"}}}
	}
	return nil
}

var unknownFieldRe = regexp.MustCompile(`json: unknown field "([^"]*)"`)

func decodeError(err error, in any) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		embedded := map[string]bool{}
		embeddedNames(reflect.TypeOf(in), embedded)
		field := fieldPath("root."+te.Field, embedded)
		if field == "" {
			field = "(arguments)"
		}
		return &InputError{Fields: []FieldError{{Field: field, Rule: fmt.Sprintf("must be %s, not a JSON %s", jsonKind(te.Type), te.Value)}}}
	}
	if m := unknownFieldRe.FindStringSubmatch(err.Error()); m != nil {
		return &InputError{Fields: []FieldError{{Field: m[1], Rule: "is not an input of this tool (known inputs: " + strings.Join(fieldNames(reflect.TypeOf(in)), ", ") + ")"}}}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &InputError{Fields: []FieldError{{Field: "(arguments)", Rule: "must be valid JSON: " + err.Error()}}}
	}
	return &InputError{Fields: []FieldError{{Field: "(arguments)", Rule: err.Error()}}}
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
			return e164Re.MatchString(fl.Field().String())
		}))
		must(v.RegisterValidation("graphid", func(fl validator.FieldLevel) bool {
			return graphIDRe.MatchString(fl.Field().String())
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
			return templateNameRe.MatchString(fl.Field().String())
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

var (
	e164Re         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	templateNameRe = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	graphIDRe      = regexp.MustCompile(`^[0-9]{1,32}$`)
	fieldNameRe    = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\{[a-z0-9_,]*\})?$`)
)

// Validate normalises in (when it is a Normalizer), applies its struct tags
// and its Check rules, and returns one InputError naming every offence.
func Validate(in any) error {
	if n, ok := in.(Normalizer); ok {
		n.Normalize()
	}
	var fields []FieldError
	if err := Validator().Struct(in); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return &InputError{Fields: []FieldError{{Field: "(arguments)", Rule: err.Error()}}}
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
	if len(fields) == 0 {
		return nil
	}
	fields = dedupe(fields)
	return &InputError{Fields: fields}
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
		return fmt.Sprintf("must be one of: %s (got %q)", strings.ReplaceAll(p, " ", ", "), fmt.Sprint(fe.Value()))
	case "phone":
		return fmt.Sprintf("must be a phone number with its country code, 7 to 15 digits not starting with 0, e.g. +16505551234 (got %q); without a country code Meta would prefix the sender's own", fmt.Sprint(fe.Value()))
	case "graphid":
		rule := fmt.Sprintf("must be a numeric Meta id, digits only, e.g. 106540352242922 (got %q)", fmt.Sprint(fe.Value()))
		if fe.Field() == "phone_number_id" {
			rule += "; it is the id of the business number from WHATSAPP_GET_PHONE_NUMBERS, not the phone number itself"
		}
		return rule
	case "fieldlist":
		return fmt.Sprintf("must be a comma-separated list of field names such as status,name (got %q)", fmt.Sprint(fe.Value()))
	case "tplname":
		return fmt.Sprintf("must be 1 to 512 lowercase letters, digits or underscores (got %q)", fmt.Sprint(fe.Value()))
	case "langcode":
		return fmt.Sprintf("must be one of Meta's template language codes such as en_US, en, pt_BR, es_MX (case-sensitive, underscore; got %q)", fmt.Sprint(fe.Value()))
	case "latitude":
		return fmt.Sprintf("must be a decimal latitude between -90 and 90 (got %q)", fmt.Sprint(fe.Value()))
	case "longitude":
		return fmt.Sprintf("must be a decimal longitude between -180 and 180 (got %q)", fmt.Sprint(fe.Value()))
	case "url", "http_url":
		return fmt.Sprintf("must be an absolute http(s) URL (got %q)", fmt.Sprint(fe.Value()))
	case "base64":
		return "must be standard base64 (RFC 4648) that decodes"
	case "unique":
		if p != "" {
			return fmt.Sprintf("must have unique %s values", p)
		}
		return "must not contain duplicates"
	case "numeric", "number":
		return fmt.Sprintf("must contain digits only (got %q)", fmt.Sprint(fe.Value()))
	case "trimmed":
		return "must not start or end with spaces"
	case "datetime":
		return fmt.Sprintf("must be a date in the form YYYY-MM-DD (got %q)", fmt.Sprint(fe.Value()))
	case "email":
		return fmt.Sprintf("must be an email address (got %q)", fmt.Sprint(fe.Value()))
	}
	if p != "" {
		return fmt.Sprintf("breaks rule %s=%s", fe.Tag(), p)
	}
	return "breaks rule " + fe.Tag()
}
