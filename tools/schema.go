package tools

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/invopop/jsonschema"
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

// constrain copies the limits of the validate tags (max, min, len, oneof)
// into the schema, so platforms see the rules the validator enforces and
// the two cannot drift apart.
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
	// An omitempty string accepts "", so it gets no minLength.
	optional := strings.Contains(","+tag+",", ",omitempty,")
	for _, rule := range strings.Split(tag, ",") {
		name, param, _ := strings.Cut(rule, "=")
		n, err := strconv.ParseUint(param, 10, 64)
		isNum := err == nil
		switch {
		case kind == reflect.String && isNum && (name == "max" || name == "len") && s.MaxLength == nil:
			s.MaxLength = &n
		case kind == reflect.String && isNum && (name == "min" || name == "len") && s.MinLength == nil && n > 0 && !optional:
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
		case isNumeric(kind) && isNum && name == "max" && s.Maximum == "":
			s.Maximum = json.Number(param)
		case isNumeric(kind) && isNum && name == "min" && s.Minimum == "":
			s.Minimum = json.Number(param)
		}
	}
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
func outputSchema[Out any](sample any, list bool) json.RawMessage {
	r := &jsonschema.Reflector{ExpandedStruct: true, DoNotReference: true, Anonymous: true,
		AllowAdditionalProperties: true, RequiredFromJSONSchemaTags: true}
	var data any
	switch {
	case sample != nil:
		data = json.RawMessage(marshalSchema(r.Reflect(sample)))
	case isNilType[Out]():
		data = map[string]any{"type": "object", "description": "the result"}
	default:
		data = json.RawMessage(marshalSchema(r.Reflect(new(Out))))
	}
	env := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"successful": map[string]any{"type": "boolean", "description": "whether the action succeeded"},
			"data":       data,
			"error":      map[string]any{"type": "string", "description": "on failure: what went wrong and what to do"},
			"warnings": map[string]any{"type": "array", "items": map[string]any{"type": "string"},
				"description": "advice that did not stop the action"},
		},
		"required": []string{"successful", "data"},
	}
	if list {
		env["properties"].(map[string]any)["paging"] = map[string]any{
			"type":        "object",
			"description": "Graph API paging: pass cursors.after as `after` to get the next page; no `next` means last page",
			"properties": map[string]any{
				"cursors": map[string]any{"type": "object", "properties": map[string]any{
					"before": map[string]any{"type": "string"}, "after": map[string]any{"type": "string"}}},
				"next":     map[string]any{"type": "string"},
				"previous": map[string]any{"type": "string"},
			},
		}
	}
	b, err := json.Marshal(env)
	if err != nil {
		panic(fmt.Sprintf("tools: output schema: %v", err))
	}
	return b
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
