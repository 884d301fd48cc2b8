package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// checkOpenAPI validates doc as an OpenAPI 3.1 document of catalog: the
// structure the 3.1 specification requires of the objects we use, every
// schema compiling as JSON Schema 2020-12 (with $refs resolved against the
// document), every example validating, and each execute operation carrying
// its tool's declarations exactly.
func checkOpenAPI(t *testing.T, doc []byte, catalog []tools.Tool) {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if d["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", d["openapi"])
	}
	info, _ := d["info"].(map[string]any)
	if s, _ := info["title"].(string); s == "" {
		t.Error("info.title is required")
	}
	if s, _ := info["version"].(string); s == "" {
		t.Error("info.version is required")
	}
	if servers, _ := d["servers"].([]any); len(servers) == 0 {
		t.Error("no servers")
	}

	// Schemas compile against the whole document so $refs resolve.
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	const url = "mem:///openapi.json"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(url, parsed); err != nil {
		t.Fatal(err)
	}
	compile := func(ptr string) *jsonschema.Schema {
		t.Helper()
		s, err := c.Compile(url + "#" + ptr)
		if err != nil {
			t.Errorf("%s does not compile as JSON Schema 2020-12: %v", ptr, err)
		}
		return s
	}

	comps, _ := d["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	bearer, _ := schemes["bearerAuth"].(map[string]any)
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("securitySchemes.bearerAuth = %v, want http bearer", bearer)
	}
	for _, req := range asSlice(d["security"]) {
		for name := range req.(map[string]any) {
			if _, ok := schemes[name]; !ok {
				t.Errorf("security names undeclared scheme %s", name)
			}
		}
	}
	compSchemas, _ := comps["schemas"].(map[string]any)
	for name := range compSchemas {
		compile("/components/schemas/" + name)
	}

	declaredTags := map[string]bool{}
	for _, tag := range asSlice(d["tags"]) {
		declaredTags[tag.(map[string]any)["name"].(string)] = true
	}
	byName := map[string]tools.Tool{}
	for _, tool := range catalog {
		byName[tool.Name] = tool
	}
	opIDs := map[string]string{}
	paths, _ := d["paths"].(map[string]any)
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range paths {
		if !strings.HasPrefix(path, "/") {
			t.Errorf("path %q must start with /", path)
		}
		for method, o := range item.(map[string]any) {
			if !slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, method) {
				t.Errorf("%s: unexpected key %q in a path item", path, method)
				continue
			}
			op := o.(map[string]any)
			where := strings.ToUpper(method) + " " + path
			ptr := "/paths/" + escapePtr(path) + "/" + method
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
			} else if prev, dup := opIDs[id]; dup {
				t.Errorf("operationId %s is used by %s and %s", id, prev, where)
			}
			opIDs[id] = where
			for _, tag := range asSlice(op["tags"]) {
				if !declaredTags[tag.(string)] {
					t.Errorf("%s: tag %v is not declared", where, tag)
				}
			}
			// Every templated segment is a required path parameter.
			declared := map[string]bool{}
			for i, p := range asSlice(op["parameters"]) {
				pm := p.(map[string]any)
				if pm["in"] == "path" {
					if pm["required"] != true {
						t.Errorf("%s: path parameter %v must be required", where, pm["name"])
					}
					declared[pm["name"].(string)] = true
				}
				compile(fmt.Sprintf("%s/parameters/%d/schema", ptr, i))
			}
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter %s is not declared", where, m[1])
				}
			}
			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Errorf("%s has no responses", where)
			}
			for code, r := range responses {
				rm := r.(map[string]any)
				if s, _ := rm["description"].(string); s == "" {
					t.Errorf("%s %s: a response needs a description", where, code)
				}
				for mt := range asMap(rm["content"]) {
					compile(ptr + "/responses/" + code + "/content/" + escapePtr(mt) + "/schema")
				}
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				for mt, media := range asMap(rb["content"]) {
					s := compile(ptr + "/requestBody/content/" + escapePtr(mt) + "/schema")
					if ex, ok := media.(map[string]any)["example"]; ok && s != nil {
						if err := s.Validate(ex); err != nil {
							t.Errorf("%s: the example does not validate against the request schema: %v", where, err)
						}
					}
				}
			}

			// Execute operations carry their tool's declarations.
			tool, isTool := byName[id]
			if !isTool {
				continue
			}
			if method != "post" || path != server.ExecutePath(tool.Name) {
				t.Errorf("%s: tool operation at the wrong place", where)
			}
			if op["summary"] != tool.Title || op["description"] != tool.Description {
				t.Errorf("%s: summary/description differ from the tool's title/description", where)
			}
			if tags := asSlice(op["tags"]); len(tags) != 1 || tags[0] != tool.Toolset {
				t.Errorf("%s: tags = %v, want [%s]", where, tags, tool.Toolset)
			}
			a := tool.Annotations
			wantAnn := map[string]any{"readOnlyHint": a.ReadOnly, "destructiveHint": a.Destructive, "idempotentHint": a.Idempotent, "openWorldHint": a.OpenWorld}
			if fmt.Sprint(op["x-annotations"]) != fmt.Sprint(wantAnn) {
				t.Errorf("%s: x-annotations = %v, want %v", where, op["x-annotations"], wantAnn)
			}
			sameJSON(t, where+" request schema", pick(op, "requestBody", "content", "application/json", "schema"), tool.InputSchema)
			// The 200 schema is the tool's output schema, plus the envelope's
			// always-present members, which tools/list leaves unsaid.
			got200 := pick(op, "responses", "200", "content", "application/json", "schema")
			if req := asSlice(pick(got200, "required")); fmt.Sprint(req) != "[successful data]" {
				t.Errorf("%s: 200 schema requires %v, want [successful data]", where, req)
			}
			if m, ok := got200.(map[string]any); ok {
				delete(m, "required")
			}
			sameJSON(t, where+" 200 schema", got200, tool.OutputSchema)
		}
	}
	for _, tool := range catalog {
		if _, ok := opIDs[tool.Name]; !ok {
			t.Errorf("tool %s has no operation", tool.Name)
		}
	}
	for _, id := range []string{"listActions", "getAction", "getOpenAPI"} {
		if _, ok := opIDs[id]; !ok {
			t.Errorf("no %s operation", id)
		}
	}

	// Every local $ref resolves.
	walkJSON(d, func(m map[string]any) {
		ref, ok := m["$ref"].(string)
		if !ok {
			return
		}
		if !strings.HasPrefix(ref, "#/") || resolvePtr(d, ref[1:]) == nil {
			t.Errorf("$ref %q does not resolve", ref)
		}
	})
}

func openAPI(t *testing.T, cat []tools.Tool, serverURL string) []byte {
	t.Helper()
	s, err := server.New(cat, server.Options{About: tools.About{Name: "test-server", API: "the test API"}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := s.OpenAPI(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestOpenAPI(t *testing.T) {
	catalog := restEnvironment(t, restEnvOptions{}).catalog
	doc := openAPI(t, catalog, "https://wa.example.com")
	checkOpenAPI(t, doc, catalog)
	if !bytes.Contains(doc, []byte(`"servers":[{"url":"https://wa.example.com"}]`)) {
		t.Errorf("server URL not used")
	}
	if again := openAPI(t, catalog, "https://wa.example.com"); !bytes.Equal(doc, again) {
		t.Errorf("OpenAPI is not deterministic")
	}

	// The test catalog too: its tools have no examples, and one has an empty input.
	small := testCatalog()
	doc = openAPI(t, small, "")
	checkOpenAPI(t, doc, small)
	if !bytes.Contains(doc, []byte("test-server REST actions")) || !bytes.Contains(doc, []byte("nothing was sent to the test API")) {
		t.Errorf("the document does not use Options.About")
	}
}

// TestOpenAPIStatusesAreTheCode: for every failure kind, the status the
// REST face answers is documented on every execute operation, and the
// document's overview names the same status for that kind. A change of
// the mapping (e.g. an unreachable API answered 500) changes both.
func TestOpenAPIStatusesAreTheCode(t *testing.T) {
	cat := testCatalog()
	var d map[string]any
	if err := json.Unmarshal(openAPI(t, cat, ""), &d); err != nil {
		t.Fatal(err)
	}
	overview, _ := pick(d, "info", "description").(string)
	kinds := []tools.ErrorKind{tools.KindInvalidInput, tools.KindAPI, tools.KindOutcomeUnknown, tools.KindUnavailable, tools.KindFailed}
	for _, k := range kinds {
		status := server.RESTStatus(tools.Result{Kind: k, Data: map[string]any{}, Error: "x"})
		for _, tl := range cat {
			if pick(d, "paths", server.ExecutePath(tl.Name), "post", "responses", fmt.Sprint(status)) == nil {
				t.Errorf("%s: kind %s answers %d, which the document does not list", tl.Name, k, status)
			}
		}
		m := regexp.MustCompile(`(\d{3}) for a failure of kind [a-z_, ]*\b` + string(k) + `\b`).FindStringSubmatch(overview)
		if m == nil || m[1] != fmt.Sprint(status) {
			t.Errorf("overview says %v for kind %s, the code answers %d: %s", m, k, status, overview)
		}
	}
	if server.RESTStatus(tools.Result{Successful: true}) != 200 || !strings.Contains(overview, "200 for successful true") {
		t.Errorf("success: %s", overview)
	}
}

func TestNewRejectsDuplicateForOpenAPI(t *testing.T) {
	small := testCatalog()
	if _, err := server.New(append(small, small[0]), server.Options{}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate tool: err = %v", err)
	}
}

func escapePtr(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func resolvePtr(doc any, ptr string) any {
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[tok]; !ok {
			return nil
		}
	}
	return cur
}

func walkJSON(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for _, c := range x {
			walkJSON(c, f)
		}
	case []any:
		for _, c := range x {
			walkJSON(c, f)
		}
	}
}

func pick(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// sameJSON compares a decoded value with raw JSON, ignoring key order.
func sameJSON(t *testing.T, what string, got any, want json.RawMessage) {
	t.Helper()
	var w any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s differs:\n got %s\nwant %s", what, gb, wb)
	}
}
