package tools

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

// InputSchema reflects In with invopop/jsonschema. mcp-go's own WithInputSchema
// uses another reflector that ignores invopop tags, so we pass raw JSON.
// Inputs are strict (additionalProperties: false): a misspelt field is an
// error, not a silently ignored value.
func InputSchema[In any]() json.RawMessage {
	r := &jsonschema.Reflector{ExpandedStruct: true, DoNotReference: true, Anonymous: true}
	s := r.Reflect(new(In))
	constrain(s, reflect.TypeOf(new(In)).Elem())
	return marshalSchema(s)
}

// constrain copies the rules of the validate tags into the schema (max,
// min, len, oneof, unique, and the patterns and formats of SchemaRules), so
// platforms see the rules the validator enforces and the two cannot drift
// apart (internal/schematest checks the catalog's inputs).
func constrain(s *jsonschema.Schema, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s == nil {
		return
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		constrain(s.Items, t.Elem())
		return
	case reflect.Struct:
	default:
		return
	}
	if s.Properties == nil {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			constrain(s, f.Type)
			continue
		}
		name := jsonName(f)
		prop, ok := s.Properties.Get(name)
		if name == "" || !ok {
			continue
		}
		own, items, _ := strings.Cut(f.Tag.Get("validate"), ",dive")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		applyRules(prop, ft.Kind(), own)
		if (ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array) && prop.Items != nil {
			applyRules(prop.Items, ft.Elem().Kind(), strings.TrimPrefix(items, ","))
		}
		constrain(prop, ft)
	}
}

func applyRules(s *jsonschema.Schema, kind reflect.Kind, tag string) {
	// An omitempty string accepts "", so it gets no minLength, and its
	// pattern also matches "".
	optional := strings.Contains(","+tag+",", ",omitempty,")
	var patterns []string
	for _, rule := range strings.Split(tag, ",") {
		name, param, _ := strings.Cut(rule, "=")
		n, err := strconv.ParseUint(param, 10, 64)
		isNum := err == nil
		switch {
		case kind == reflect.String && isNum && name == "len":
			if s.MaxLength == nil {
				s.MaxLength = &n
			}
			if (s.MinLength == nil || *s.MinLength < n) && n > 0 && !optional {
				s.MinLength = &n
			}
		case kind == reflect.String && isNum && name == "max" && s.MaxLength == nil:
			s.MaxLength = &n
		case kind == reflect.String && isNum && name == "min" && (s.MinLength == nil || *s.MinLength < n) && n > 0 && !optional:
			s.MinLength = &n
		case kind == reflect.String && (name == "required" || name == "notblank") && s.MinLength == nil && !optional:
			one := uint64(1)
			s.MinLength = &one
		case kind == reflect.String && name == "oneof" && len(s.Enum) == 0:
			for _, v := range strings.Fields(param) {
				s.Enum = append(s.Enum, v)
			}
		case (kind == reflect.Slice || kind == reflect.Array) && isNum && name == "max" && s.MaxItems == nil:
			s.MaxItems = &n
		case (kind == reflect.Slice || kind == reflect.Array) && isNum && name == "min" && s.MinItems == nil:
			s.MinItems = &n
		case (kind == reflect.Slice || kind == reflect.Array) && name == "unique" && param == "":
			s.UniqueItems = true
		case isNumeric(kind) && isNum && name == "max" && s.Maximum == "":
			s.Maximum = json.Number(param)
		case isNumeric(kind) && isNum && name == "min" && s.Minimum == "":
			s.Minimum = json.Number(param)
		}
		if kind != reflect.String {
			continue
		}
		if r, ok := SchemaRules[name]; ok {
			if r.Pattern != "" {
				patterns = append(patterns, r.Pattern)
			}
			if f := r.FormatOf(param); f != "" && s.Format == "" {
				s.Format = f
			}
			if r.Minimum != "" && s.Minimum == "" {
				s.Minimum, s.Maximum = json.Number(r.Minimum), json.Number(r.Maximum)
			}
		}
	}
	// notblank's pattern is implied by any other that refuses a blank
	// string. On an optional field it would be ^$|\S, refusing only a
	// blank string, which the validator refuses with a clearer error: not
	// worth its bytes in every tools/list.
	blank := SchemaRules["notblank"].Pattern
	if optional {
		patterns = slices.DeleteFunc(patterns, func(p string) bool { return p == blank })
	}
	if len(patterns) > 1 && slices.Contains(patterns, blank) {
		others := slices.DeleteFunc(slices.Clone(patterns), func(p string) bool { return p == blank })
		if !slices.ContainsFunc(others, func(p string) bool { return patternMatches(p, " ") }) {
			patterns = others
		}
	}
	switch {
	case len(patterns) > 1:
		panic(fmt.Sprintf("tools: validate tag %q has several rules that need a pattern (%s); a schema has one", tag, strings.Join(patterns, " and ")))
	case len(patterns) == 1 && s.Pattern == "":
		s.Pattern = patterns[0]
		if optional && !patternMatches(s.Pattern, "") {
			s.Pattern = "^$|" + s.Pattern
		}
	}
	// A pattern or an enum that refuses "" already says what minLength 1
	// would.
	if s.MinLength != nil && *s.MinLength == 1 && (s.Pattern != "" && !patternMatches(s.Pattern, "") ||
		len(s.Enum) > 0 && !slices.Contains(s.Enum, any(""))) {
		s.MinLength = nil
	}
}

// SchemaRule is how JSON Schema says one validate tag of a string: a
// pattern, a format, or a range of the number a Decimal may be.
type SchemaRule struct {
	// Pattern is an anchored regular expression valid in ECMA-262 (what
	// clients run) and RE2 (what our tests run): no lookaround, no \p.
	Pattern string
	// Format is the JSON Schema format; "" for none.
	Format string
	// Minimum and Maximum bound the number form of a Decimal.
	Minimum, Maximum string
}

// FormatOf is the format of the rule with its parameter (datetime's is a Go
// layout: only the two RFC 3339 ones have a format).
func (r SchemaRule) FormatOf(param string) string {
	if r.Format != "datetime" {
		return r.Format
	}
	switch param {
	case "2006-01-02":
		return "date"
	case time.RFC3339, time.RFC3339Nano:
		return "date-time"
	}
	return ""
}

// SchemaRules are the validate tags of a string that a JSON Schema keyword
// can say, and how; constrain writes them into the input schemas. A tag
// missing here is one JSON Schema cannot say on one field (required_if,
// excluded_with and the other cross-field rules) or says through another
// keyword (max, min, len, oneof, unique). Where the validator's own rule is
// a regular expression, the pattern is the same expression; where it is
// code (langcode's list, the phone policy), the pattern is the shape every
// accepted value has, and the validator stays the judge.
var SchemaRules = map[string]SchemaRule{
	"graphid":  {Pattern: graphIDPattern},
	"tplname":  {Pattern: templateNamePattern},
	"langcode": {Pattern: cloudapi.LanguageCodePattern},
	"dialable": {Pattern: dialablePattern},
	// fieldlist's own expression is about 90 bytes on every field that
	// takes one; the characters of a field list say it well enough.
	"fieldlist": {Pattern: `^[\sa-z0-9_{},]*$`},
	"notblank":  {Pattern: `\S`},
	"trimmed":   {Pattern: `^(\S([\s\S]*\S)?)?$`},
	"uppercase": {Pattern: `^[^a-z]*$`},
	// validator's own expressions (regexes.go of go-playground/validator).
	"number":    {Pattern: `^[0-9]+$`},
	"numeric":   {Pattern: `^[-+]?[0-9]+(\.[0-9]+)?$`},
	"latitude":  {Pattern: `^[-+]?([1-8]?\d(\.\d+)?|90(\.0+)?)$`, Minimum: "-90", Maximum: "90"},
	"longitude": {Pattern: `^[-+]?(180(\.0+)?|((1[0-7]\d)|([1-9]?\d))(\.\d+)?)$`, Minimum: "-180", Maximum: "180"},
	// http_url's pattern says what format uri would, and more (http or
	// https); the validator judges the rest of the URL.
	"http_url": {Pattern: `^[Hh][Tt][Tt][Pp][Ss]?://`},
	"url":      {Format: "uri"},
	"email":    {Format: "email"},
	"datetime": {Format: "datetime"},
}

func isNumeric(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// OutputSchema is the envelope schema with data typed by Out. Output objects
// allow additional properties (we pass through what the Graph API returns)
// and require nothing inside data, since data is {} (or []) on failure.
// The envelope requires nothing either: that every result has successful
// and data is the instructions' to say, once, not a required list's on
// every tool of every turn (a client validates what it gets all the same).
//
// It is the shape a client validates (types, keys, enums) and nothing
// more: a client sends every tool's schemas to the model on every turn, and
// what data means is the tool's description's to say. So descriptions are
// left out, and the jsonschema_description tags of output types document
// the Go code only; the envelope (its optional error and warnings too) and
// paging are explained once, in the server's instructions.
func outputSchema[Out any](sample any, list bool) json.RawMessage {
	r := &jsonschema.Reflector{ExpandedStruct: true, DoNotReference: true, Anonymous: true,
		AllowAdditionalProperties: true, RequiredFromJSONSchemaTags: true}
	var data any
	switch {
	case sample != nil:
		data = json.RawMessage(marshalSchema(shapeOnly(r.Reflect(sample))))
	case isNilType[Out]():
		data = map[string]any{"type": "object"}
	default:
		data = json.RawMessage(marshalSchema(shapeOnly(r.Reflect(new(Out)))))
	}
	// error and warnings, the same in every tool, are the instructions'
	// to explain; a client validates them as additional properties.
	str := map[string]any{"type": "string"}
	props := map[string]any{
		"successful": map[string]any{"type": "boolean"},
		"data":       data,
	}
	if list {
		props["paging"] = map[string]any{"type": "object", "properties": map[string]any{
			"cursors": map[string]any{"type": "object", "properties": map[string]any{"before": str, "after": str}}}}
	}
	b, err := json.Marshal(map[string]any{"type": "object", "properties": props})
	if err != nil {
		panic(fmt.Sprintf("tools: output schema: %v", err))
	}
	return b
}

// shapeOnly drops the prose of s and of every schema under it.
func shapeOnly(s *jsonschema.Schema) *jsonschema.Schema {
	if s == nil {
		return nil
	}
	s.Title, s.Description, s.Examples = "", "", nil
	for p := s.Properties.Oldest(); p != nil; p = p.Next() {
		shapeOnly(p.Value)
	}
	for _, sub := range [][]*jsonschema.Schema{s.AllOf, s.AnyOf, s.OneOf, s.PrefixItems} {
		for _, x := range sub {
			shapeOnly(x)
		}
	}
	shapeOnly(s.Items)
	shapeOnly(s.AdditionalProperties)
	return s
}

func isNilType[T any]() bool {
	var v T
	_, isAny := any(&v).(*any)
	return isAny
}

// marshalSchema drops $schema/$id: several MCP clients reject or mishandle
// them inside tool schemas, and the dialect is 2020-12 either way.
func marshalSchema(s *jsonschema.Schema) json.RawMessage {
	s.Version = ""
	s.ID = ""
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tools: schema: %v", err))
	}
	return b
}
