// Package schematest checks that a tool's input schema says every rule of
// its input's validate tags that JSON Schema can say, so schema and
// validator cannot drift (only tests import it).
package schematest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// crossField are the tags JSON Schema cannot say on the field itself: they
// depend on other fields (if/then would, at a cost in every tools/list a
// client sends, and several clients reject conditional schemas). The
// validator and the field's description say them.
var crossField = []string{"required_if", "required_unless", "required_with", "required_without",
	"excluded_if", "excluded_unless", "excluded_with", "excluded_without"}

type node struct {
	Type        any              `json:"type"`
	Properties  map[string]*node `json:"properties"`
	Required    []string         `json:"required"`
	Items       *node            `json:"items"`
	Enum        []any            `json:"enum"`
	Pattern     string           `json:"pattern"`
	Format      string           `json:"format"`
	MinLength   *uint64          `json:"minLength"`
	MaxLength   *uint64          `json:"maxLength"`
	MinItems    *uint64          `json:"minItems"`
	MaxItems    *uint64          `json:"maxItems"`
	UniqueItems bool             `json:"uniqueItems"`
	Minimum     *json.Number     `json:"minimum"`
	Maximum     *json.Number     `json:"maximum"`
	AddlProps   any              `json:"additionalProperties"`
}

// Rules checks every validate rule of in's type (a pointer to an input
// struct) against schema, its reflected input schema, reports each one the
// schema does not say, and returns how many rules it checked.
func Rules(t testing.TB, in any, schema json.RawMessage) int {
	t.Helper()
	n, problems := Check(in, schema)
	for _, p := range problems {
		t.Error(p)
	}
	return n
}

// Check is Rules returning the problems instead of reporting them.
func Check(in any, schema json.RawMessage) (checked int, problems []string) {
	var root node
	if err := json.Unmarshal(schema, &root); err != nil {
		return 0, []string{"schema: " + err.Error()}
	}
	c := &checker{}
	n := c.walk(reflect.TypeOf(in), &root, "")
	return n, c.problems
}

type checker struct{ problems []string }

func (c *checker) errorf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) walk(typ reflect.Type, n *node, path string) int {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || n == nil || n.Properties == nil {
		return 0
	}
	if n.AddlProps != false {
		c.errorf("%s: additionalProperties is %v; inputs are decoded strictly", or(path, "(input)"), n.AddlProps)
	}
	checked := 0
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			checked += c.walk(f.Type, n, path)
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		where := strings.TrimPrefix(path+"."+name, ".")
		prop := n.Properties[name]
		if prop == nil {
			c.errorf("%s: not in the schema", where)
			continue
		}
		own, items, _ := strings.Cut(f.Tag.Get("validate"), ",dive")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		checked += c.field(where, ft.Kind(), own, prop, n, name, strings.Contains(opts, "omitempty"))
		if (ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array) && prop.Items != nil {
			checked += c.field(where+"[]", ft.Elem().Kind(), strings.TrimPrefix(items, ","), prop.Items, nil, "", false)
			checked += c.walk(ft.Elem(), prop.Items, where+"[]")
			continue
		}
		checked += c.walk(ft, prop, where)
	}
	return checked
}

// field checks the rules of one tag on the field's schema s; parent and
// name, when set, are for required.
func (c *checker) field(where string, kind reflect.Kind, tag string, s, parent *node, name string, jsonOmitempty bool) int {
	if tag == "" {
		return 0
	}
	optional := slices.Contains(strings.Split(tag, ","), "omitempty")
	isList := kind == reflect.Slice || kind == reflect.Array
	isNum := kind >= reflect.Int && kind <= reflect.Float64
	refusesEmpty := s.MinLength != nil && *s.MinLength >= 1 ||
		s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString("") ||
		len(s.Enum) > 0 && !slices.Contains(s.Enum, any(""))
	checked := 0
	for _, rule := range strings.Split(tag, ",") {
		rn, param, _ := strings.Cut(rule, "=")
		bad := func(format string, args ...any) {
			c.errorf("%s: rule %s: %s", where, rule, fmt.Sprintf(format, args...))
		}
		n, _ := strconv.ParseUint(param, 10, 64)
		checked++
		switch {
		case rn == "" || rn == "omitempty":
			checked--
		case slices.Contains(crossField, rn):
			checked--
		case rn == "required":
			if parent != nil && !jsonOmitempty && !slices.Contains(parent.Required, name) {
				bad("not in the schema's required list")
			}
			if kind == reflect.String && !optional && !refusesEmpty {
				bad("the schema accepts an empty string (no minLength, pattern or enum refuses it)")
			}
		case rn == "len" && kind == reflect.String:
			if s.MaxLength == nil || *s.MaxLength != n || !optional && (s.MinLength == nil || *s.MinLength != n) {
				bad("minLength/maxLength %v/%v", deref(s.MinLength), deref(s.MaxLength))
			}
		case rn == "max" && kind == reflect.String:
			if s.MaxLength == nil || *s.MaxLength != n {
				bad("maxLength %v", deref(s.MaxLength))
			}
		case rn == "min" && kind == reflect.String:
			if !optional && (s.MinLength == nil || *s.MinLength < n) {
				bad("minLength %v", deref(s.MinLength))
			}
		case (rn == "max" || rn == "min") && isList:
			got := s.MaxItems
			if rn == "min" {
				got = s.MinItems
			}
			if got == nil || *got != n {
				bad("%sItems %v", rn, deref(got))
			}
		case (rn == "max" || rn == "min") && isNum:
			got := s.Maximum
			if rn == "min" {
				got = s.Minimum
			}
			if got == nil || got.String() != param {
				bad("%simum %v", rn, got)
			}
		case rn == "oneof":
			for _, v := range strings.Fields(param) {
				if !slices.Contains(s.Enum, any(v)) {
					bad("%q is not in the enum %v", v, s.Enum)
				}
			}
		case rn == "unique" && param == "" && isList:
			if !s.UniqueItems {
				bad("no uniqueItems")
			}
		default:
			r, ok := tools.SchemaRules[rn]
			if !ok || kind != reflect.String {
				bad("JSON Schema can say it, but the schema does not: add it to tools.SchemaRules (or, if it is a cross-field rule, to crossField)")
				continue
			}
			if r.Pattern != "" {
				want := []string{r.Pattern, "^$|" + r.Pattern}
				if rn == "notblank" {
					// Any pattern that refuses blanks says it; an optional
					// field's needs none (tools.applyRules).
					if !optional && (s.Pattern == "" || regexp.MustCompile(s.Pattern).MatchString(" ")) {
						bad("no pattern refuses a blank string (pattern %q)", s.Pattern)
					}
				} else if !slices.Contains(want, s.Pattern) {
					bad("pattern %q, want %q", s.Pattern, r.Pattern)
				}
			}
			if f := r.FormatOf(param); f != "" && s.Format != f {
				bad("format %q, want %q", s.Format, f)
			}
			if r.Minimum != "" && (s.Minimum == nil || s.Minimum.String() != r.Minimum || s.Maximum == nil || s.Maximum.String() != r.Maximum) {
				bad("minimum/maximum %v/%v, want %s/%s", s.Minimum, s.Maximum, r.Minimum, r.Maximum)
			}
		}
	}
	return checked
}

func deref(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
