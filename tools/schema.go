package tools

import (
	"encoding/json"
	"fmt"

	"github.com/invopop/jsonschema"
)

// InputSchema reflects In with invopop/jsonschema. mcp-go's own WithInputSchema
// uses another reflector that ignores invopop tags, so we pass raw JSON.
// Inputs are strict (additionalProperties: false): a misspelt field is an
// error, not a silently ignored value.
func InputSchema[In any]() json.RawMessage {
	r := &jsonschema.Reflector{ExpandedStruct: true, DoNotReference: true, Anonymous: true}
	return marshalSchema(r.Reflect(new(In)))
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
