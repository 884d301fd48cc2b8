package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// REST paths, shared by the handler, the OpenAPI document and the tests.
const (
	RESTPrefix      = "/v1/"
	RESTActionsPath = "/v1/actions"
	RESTOpenAPIPath = "/v1/openapi.json"
)

// ExecutePath is the REST path that runs a tool.
func ExecutePath(name string) string { return RESTActionsPath + "/" + name + "/execute" }

// OpenAPI renders the OpenAPI 3.1 document of the REST face for the
// enabled tools: one POST /v1/actions/{NAME}/execute operation per tool
// (operationId = tool name, summary = title, tags = toolset, request body =
// the input schema, 200 response = the output schema, the failure statuses
// from restOutcomes, x-annotations = the MCP annotations), the list, get and
// openapi.json routes, and the bearer security scheme. serverURL is the
// servers[0].url; "/" (or "") makes it relative to where the document is
// served. Output is deterministic.
func (s *Server) OpenAPI(serverURL string) ([]byte, error) {
	if serverURL == "" {
		serverURL = "/"
	}
	catalog := s.enabled
	api := s.opts.About.API
	names := make([]string, 0, len(catalog))
	seen := map[string]bool{}
	for _, t := range catalog {
		if t.Name == "" {
			return nil, errors.New("openapi: a tool has no name")
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("openapi: tool %s is declared twice", t.Name)
		}
		seen[t.Name] = true
		names = append(names, t.Name)
	}

	failure := ref("Failure")
	errResp := func(desc string) oaResponse { return jsonResponse(desc, ref("Error")) }
	paths := map[string]oaPathItem{
		RESTActionsPath: {Get: &oaOperation{
			OperationID: "listActions",
			Summary:     "List the actions",
			Description: "Every action this server exposes (after its toolset, tool and read-only filters), with its schemas.",
			Tags:        []string{"catalog"},
			Responses: map[string]oaResponse{
				"200": jsonResponse("The actions, in catalog order.", mustJSON(map[string]any{
					"type":     "object",
					"required": []string{"actions"},
					"properties": map[string]any{
						"actions": map[string]any{"type": "array", "items": ref("Action")},
					},
				})),
				"401": errResp("Missing or wrong bearer token."),
			},
		}},
		RESTActionsPath + "/{name}": {Get: &oaOperation{
			OperationID: "getAction",
			Summary:     "Get one action",
			Description: "One action's metadata and schemas.",
			Tags:        []string{"catalog"},
			Parameters: []oaParameter{{
				Name: "name", In: "path", Required: true, Description: "The action (tool) name.",
				Schema: mustJSON(map[string]any{"type": "string", "enum": names}),
			}},
			Responses: map[string]oaResponse{
				"200": jsonResponse("The action.", ref("Action")),
				"401": errResp("Missing or wrong bearer token."),
				"404": errResp("No such action, or disabled by this server's configuration; data.valid_actions lists the enabled ones."),
			},
		}},
		RESTOpenAPIPath: {Get: &oaOperation{
			OperationID: "getOpenAPI",
			Summary:     "This OpenAPI document",
			Tags:        []string{"catalog"},
			Responses: map[string]oaResponse{
				"200": jsonResponse("The OpenAPI 3.1 document of the enabled actions.", mustJSON(map[string]any{"type": "object"})),
				"401": errResp("Missing or wrong bearer token."),
			},
		}},
	}
	for _, t := range catalog {
		in := t.InputSchema
		if len(bytes.TrimSpace(in)) == 0 {
			in = mustJSON(map[string]any{"type": "object"})
		}
		out := envelopeRequired(t.OutputSchema)
		a := t.Annotations
		op := &oaOperation{
			OperationID: t.Name,
			Summary:     t.Title,
			Description: t.Description,
			Tags:        []string{t.Toolset},
			RequestBody: &oaRequestBody{
				Description: "The action's input, exactly as the MCP tool takes it.",
				Required:    true,
				Content:     map[string]oaMedia{"application/json": {Schema: in, Example: t.Example}},
			},
			Responses: map[string]oaResponse{
				"401": errResp("Missing or wrong bearer token."),
				"403": errResp("Refused as a web page's request: a foreign Host on a loopback server (DNS rebinding) or an Origin this server does not allow; nothing was sent to " + api + "."),
				"404": errResp("No such action, or disabled by this server's configuration."),
				"413": jsonResponse("The request body is larger than the server accepts; nothing was sent to "+api+".", failure),
				"415": errResp("The body was not sent as Content-Type: application/json; nothing was sent to " + api + "."),
			},
			Annotations: &oaAnnotations{a.ReadOnly, a.Destructive, a.Idempotent, a.OpenWorld},
		}
		for _, o := range restOutcomes {
			desc := fmt.Sprintf(o.doc, api)
			if o.status == http.StatusOK {
				op.Responses["200"] = jsonResponse(desc, out)
				continue
			}
			op.Responses[strconv.Itoa(o.status)] = jsonResponse(desc, failure)
		}
		paths[ExecutePath(t.Name)] = oaPathItem{Post: op}
	}

	tags := []oaTag{{Name: "catalog", Description: "The action catalog and this document."}}
	for _, ts := range toolsetsOf(catalog, s.opts.About.Toolsets) {
		tags = append(tags, oaTag{Name: ts.Name, Description: ts.Description})
	}
	statuses := make([]string, 0, len(restOutcomes))
	for _, o := range restOutcomes {
		kinds := make([]string, len(o.kinds))
		for i, k := range o.kinds {
			kinds[i] = string(k)
		}
		what := "successful true"
		if len(kinds) > 0 {
			what = "a failure of kind " + strings.Join(kinds, ", ")
		}
		statuses = append(statuses, fmt.Sprintf("%d for %s", o.status, what))
	}

	doc := oaDocument{
		OpenAPI:           "3.1.0",
		JSONSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
		Info: oaInfo{
			Title:   s.opts.About.Name + " REST actions",
			Version: "1",
			Description: "The actions of " + s.opts.About.Name + " over plain HTTP, for automation platforms: each reaches " + api + ". " +
				"Each action is the MCP tool of the same name: same input, same validation, same {successful, data, error} envelope. " +
				"POST /v1/actions/{name}/execute answers the envelope with HTTP " + strings.Join(statuses, "; ") +
				" (invalid_input: nothing was sent; api_error: the upstream API answered an error; outcome_unknown: its answer was lost; unavailable: it could not be reached; failed: anything else).",
		},
		Servers:  []oaServer{{URL: serverURL}},
		Security: []map[string][]string{{"bearerAuth": {}}},
		Tags:     tags,
		Paths:    paths,
		Components: oaComponents{
			SecuritySchemes: map[string]oaSecurityScheme{"bearerAuth": {
				Type: "http", Scheme: "bearer",
				Description: "The server's bearer token, when it is configured with one.",
			}},
			Schemas: map[string]json.RawMessage{
				"Action":  actionSchema,
				"Failure": failureSchema,
				"Error":   errorSchema,
			},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return b, nil
}

var (
	annotationsSchema = map[string]any{
		"type":     "object",
		"required": []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"},
		"properties": map[string]any{
			"readOnlyHint":    map[string]any{"type": "boolean", "description": "the action changes nothing"},
			"destructiveHint": map[string]any{"type": "boolean", "description": "the action may delete or overwrite"},
			"idempotentHint":  map[string]any{"type": "boolean", "description": "repeating the call has no further effect"},
			"openWorldHint":   map[string]any{"type": "boolean", "description": "the action reaches outside this server"},
		},
	}
	actionSchema = mustJSON(map[string]any{
		"type":     "object",
		"required": []string{"name", "title", "description", "toolset", "annotations", "inputSchema", "outputSchema", "execute_path"},
		"properties": map[string]any{
			"name":         map[string]any{"type": "string"},
			"title":        map[string]any{"type": "string"},
			"description":  map[string]any{"type": "string"},
			"toolset":      map[string]any{"type": "string"},
			"annotations":  annotationsSchema,
			"inputSchema":  map[string]any{"type": "object", "description": "JSON Schema 2020-12 of the request body of execute"},
			"outputSchema": map[string]any{"type": "object", "description": "JSON Schema 2020-12 of the successful response of execute"},
			"example":      map[string]any{"type": "object", "description": "a valid input"},
			"execute_path": map[string]any{"type": "string", "description": "where to POST the input"},
		},
	})
	failureSchema = mustJSON(map[string]any{
		"type":        "object",
		"description": "The envelope of a failed action (isError in MCP).",
		"required":    []string{"successful", "data", "error"},
		"properties": map[string]any{
			"successful": map[string]any{"const": false},
			"data": map[string]any{"type": []string{"object", "array"},
				"description": "{} or details: invalid_fields for invalid input; the upstream error's details for API errors"},
			"error":    map[string]any{"type": "string", "description": "what went wrong and what to do"},
			"warnings": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		},
	})
	errorSchema = mustJSON(map[string]any{
		"type":        "object",
		"description": "An error outside any action's execution (auth, unknown or disabled action, wrong method).",
		"required":    []string{"error"},
		"properties": map[string]any{
			"successful": map[string]any{"const": false},
			"data":       map[string]any{"type": "object"},
			"error":      map[string]any{"type": "string"},
		},
	})
)

func ref(name string) json.RawMessage {
	return mustJSON(map[string]string{"$ref": "#/components/schemas/" + name})
}

func jsonResponse(desc string, schema json.RawMessage) oaResponse {
	return oaResponse{Description: desc, Content: map[string]oaMedia{"application/json": {Schema: schema}}}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("openapi: %v", err))
	}
	return b
}

// The OpenAPI 3.1 objects we use; field order is the document's key order.
type (
	oaDocument struct {
		OpenAPI           string                `json:"openapi"`
		JSONSchemaDialect string                `json:"jsonSchemaDialect"`
		Info              oaInfo                `json:"info"`
		Servers           []oaServer            `json:"servers"`
		Security          []map[string][]string `json:"security"`
		Tags              []oaTag               `json:"tags"`
		Paths             map[string]oaPathItem `json:"paths"`
		Components        oaComponents          `json:"components"`
	}
	oaInfo struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description,omitempty"`
	}
	oaServer struct {
		URL string `json:"url"`
	}
	oaTag struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}
	oaPathItem struct {
		Get  *oaOperation `json:"get,omitempty"`
		Post *oaOperation `json:"post,omitempty"`
	}
	oaOperation struct {
		OperationID string                `json:"operationId"`
		Summary     string                `json:"summary,omitempty"`
		Description string                `json:"description,omitempty"`
		Tags        []string              `json:"tags,omitempty"`
		Parameters  []oaParameter         `json:"parameters,omitempty"`
		RequestBody *oaRequestBody        `json:"requestBody,omitempty"`
		Responses   map[string]oaResponse `json:"responses"`
		Annotations *oaAnnotations        `json:"x-annotations,omitempty"`
	}
	oaParameter struct {
		Name        string          `json:"name"`
		In          string          `json:"in"`
		Required    bool            `json:"required"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema"`
	}
	oaRequestBody struct {
		Description string             `json:"description,omitempty"`
		Required    bool               `json:"required"`
		Content     map[string]oaMedia `json:"content"`
	}
	oaMedia struct {
		Schema  json.RawMessage `json:"schema"`
		Example json.RawMessage `json:"example,omitempty"`
	}
	oaResponse struct {
		Description string             `json:"description"`
		Content     map[string]oaMedia `json:"content,omitempty"`
	}
	oaAnnotations struct {
		ReadOnly    bool `json:"readOnlyHint"`
		Destructive bool `json:"destructiveHint"`
		Idempotent  bool `json:"idempotentHint"`
		OpenWorld   bool `json:"openWorldHint"`
	}
	oaComponents struct {
		SecuritySchemes map[string]oaSecurityScheme `json:"securitySchemes"`
		Schemas         map[string]json.RawMessage  `json:"schemas"`
	}
	oaSecurityScheme struct {
		Type        string `json:"type"`
		Scheme      string `json:"scheme"`
		Description string `json:"description,omitempty"`
	}
)

// envelopeRequired is a tool's output schema as REST clients read it: the
// envelope's successful and data are always present, so the schema says
// so. tools/list leaves the list out (every byte there is paid on every
// turn, and the instructions say it), but code generators reading the
// OpenAPI document would otherwise make both optional.
func envelopeRequired(out json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if len(bytes.TrimSpace(out)) == 0 || json.Unmarshal(out, &m) != nil {
		return mustJSON(map[string]any{"type": "object", "required": []string{"successful", "data"}})
	}
	m["required"] = mustJSON([]string{"successful", "data"})
	return mustJSON(m)
}
