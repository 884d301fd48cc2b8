package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

type echoIn struct {
	Inner
	Text string `json:"text" validate:"required,max=10" jsonschema_description:"what to echo"`
	N    int    `json:"n,omitempty"`
}

type echoOut struct {
	Echo string `json:"echo"`
}

// describedErr mimics graph.Error: it explains itself and carries data.
type describedErr struct{}

func (describedErr) Error() string    { return "raw error" }
func (describedErr) Describe() string { return "described: code 131047, send a template" }
func (describedErr) FailureData() map[string]any {
	return map[string]any{"code": 131047, "fbtrace_id": "T"}
}

func echoTool(handler func(ctx context.Context, in *echoIn) (*echoOut, error)) tools.Tool {
	return tools.New(tools.Def[echoIn, *echoOut]{
		Name: "TEST_ECHO", Title: "Echo", Description: "echoes", Toolset: "messages",
		Annotations: tools.Annotations{ReadOnly: true, OpenWorld: false},
		Example:     `{"to_number":"+16505551234","phone_number_id":"1","text":"hi"}`,
		Handler:     handler,
	})
}

func listTool(handler func(ctx context.Context, in *struct{}) ([]echoOut, error)) tools.Tool {
	return tools.New(tools.Def[struct{}, []echoOut]{Name: "TEST_LIST", Handler: handler})
}

func TestNewEnvelope(t *testing.T) {
	ok := echoTool(func(ctx context.Context, in *echoIn) (*echoOut, error) {
		tools.Warn(ctx, "careful %s", in.ToNumber)
		return &echoOut{Echo: in.Text}, nil
	})
	t.Run("success", func(t *testing.T) {
		res := ok.Call(context.Background(), json.RawMessage(`{"to_number":"1 650 555 1234","phone_number_id":"1","text":"hi"}`))
		if !res.Successful || res.Error != "" || res.Data.(*echoOut).Echo != "hi" {
			t.Fatalf("res = %+v", res)
		}
		if len(res.Warnings) != 1 || res.Warnings[0] != "careful +16505551234" {
			t.Errorf("warnings = %v (the handler sees normalised input)", res.Warnings)
		}
		if res.Paging != nil {
			t.Errorf("paging on a non-list tool: %+v", res.Paging)
		}
	})
	t.Run("decode failure: handler not called", func(t *testing.T) {
		called := false
		tl := echoTool(func(ctx context.Context, in *echoIn) (*echoOut, error) { called = true; return nil, nil })
		res := tl.Call(context.Background(), json.RawMessage(`{"text":"hi","bogus":1}`))
		if res.Successful || called || !strings.Contains(res.Error, "`bogus`") {
			t.Errorf("res = %+v, called %v", res, called)
		}
		if m, isMap := res.Data.(map[string]any); !isMap || len(m) != 0 {
			t.Errorf("data = %#v, want {}", res.Data)
		}
	})
	t.Run("validation failure names every field", func(t *testing.T) {
		called := false
		tl := echoTool(func(ctx context.Context, in *echoIn) (*echoOut, error) { called = true; return nil, nil })
		res := tl.Call(context.Background(), json.RawMessage(`{"to_number":"12","text":"much too long"}`))
		for _, f := range []string{"`to_number`", "`phone_number_id`", "`text`"} {
			if !strings.Contains(res.Error, f) {
				t.Errorf("error %q lacks %s", res.Error, f)
			}
		}
		if res.Successful || called {
			t.Errorf("res = %+v, called %v", res, called)
		}
	})
	t.Run("handler error is described, with its data and warnings", func(t *testing.T) {
		tl := echoTool(func(ctx context.Context, in *echoIn) (*echoOut, error) {
			tools.Warn(ctx, "w1")
			return nil, describedErr{}
		})
		res := tl.Call(context.Background(), json.RawMessage(`{"to_number":"+16505551234","phone_number_id":"1","text":"hi"}`))
		if res.Successful || res.Error != "described: code 131047, send a template" {
			t.Errorf("res = %+v", res)
		}
		if m, _ := res.Data.(map[string]any); m["code"] != 131047 {
			t.Errorf("data = %#v", res.Data)
		}
		if len(res.Warnings) != 1 {
			t.Errorf("warnings = %v", res.Warnings)
		}
	})
	t.Run("plain error uses Error()", func(t *testing.T) {
		tl := echoTool(func(ctx context.Context, in *echoIn) (*echoOut, error) { return nil, errors.New("plain") })
		res := tl.Call(context.Background(), json.RawMessage(`{"to_number":"+16505551234","phone_number_id":"1","text":"hi"}`))
		if res.Error != "plain" {
			t.Errorf("res = %+v", res)
		}
	})
	t.Run("nil data on success is {}", func(t *testing.T) {
		tl := echoTool(func(ctx context.Context, in *echoIn) (*echoOut, error) { return nil, nil })
		res := tl.Call(context.Background(), json.RawMessage(`{"to_number":"+16505551234","phone_number_id":"1","text":"hi"}`))
		if string(res.JSON()) != `{"successful":true,"data":{}}` {
			t.Errorf("JSON = %s", res.JSON())
		}
	})
}

func TestListEnvelope(t *testing.T) {
	t.Run("paging and nil data", func(t *testing.T) {
		tl := listTool(func(ctx context.Context, in *struct{}) ([]echoOut, error) {
			tools.SetPaging(ctx, &cloudapi.Paging{Cursors: &cloudapi.Cursors{After: "A"}, Next: "n"})
			return nil, nil
		})
		if !tl.ListData {
			t.Error("ListData not set for a slice output")
		}
		res := tl.Call(context.Background(), nil)
		if got := string(res.JSON()); got != `{"successful":true,"data":[],"paging":{"cursors":{"after":"A"}}}` {
			t.Errorf("JSON = %s", got)
		}
	})
	t.Run("decode failure gives []", func(t *testing.T) {
		tl := listTool(func(ctx context.Context, in *struct{}) ([]echoOut, error) { return nil, nil })
		res := tl.Call(context.Background(), json.RawMessage(`{"x":1}`))
		if got := string(res.JSON()); !strings.HasPrefix(got, `{"successful":false,"data":[]`) {
			t.Errorf("JSON = %s", got)
		}
	})
	// A list tool's output schema says data is an array; a failure that
	// carries details (a Graph error) must still match it.
	t.Run("handler error keeps data an array", func(t *testing.T) {
		tl := listTool(func(ctx context.Context, in *struct{}) ([]echoOut, error) { return nil, describedErr{} })
		res := tl.Call(context.Background(), nil)
		if res.Successful || !strings.Contains(res.Error, "131047") {
			t.Errorf("res = %+v", res)
		}
		if _, isSlice := res.Data.([]any); !isSlice {
			t.Errorf("data = %#v, want an array", res.Data)
		}
		validateAgainst(t, tl.OutputSchema, res.JSON())
	})
}

func TestSchemas(t *testing.T) {
	tl := echoTool(func(ctx context.Context, in *echoIn) (*echoOut, error) { return &echoOut{Echo: "x"}, nil })
	var in map[string]any
	if err := json.Unmarshal(tl.InputSchema, &in); err != nil {
		t.Fatal(err)
	}
	if in["type"] != "object" || in["additionalProperties"] != false {
		t.Errorf("input schema: %s", tl.InputSchema)
	}
	if _, has := in["$schema"]; has {
		t.Errorf("$schema must be dropped: %s", tl.InputSchema)
	}
	props, _ := in["properties"].(map[string]any)
	for _, p := range []string{"to_number", "phone_number_id", "text", "n"} {
		if props[p] == nil {
			t.Errorf("property %s missing (embedded fields flattened?): %s", p, tl.InputSchema)
		}
	}
	req, _ := json.Marshal(in["required"])
	if string(req) != `["to_number","phone_number_id","text"]` {
		t.Errorf("required = %s", req)
	}
	compile(t, tl.InputSchema)
	validateAgainst(t, tl.InputSchema, tl.Example)

	var out map[string]any
	_ = json.Unmarshal(tl.OutputSchema, &out)
	// The envelope's keys are named, not required: the instructions say
	// every result has them (tools.outputSchema).
	oprops, _ := out["properties"].(map[string]any)
	if oprops["successful"] == nil || oprops["data"] == nil || out["required"] != nil {
		t.Errorf("output envelope: %s", tl.OutputSchema)
	}
	validateAgainst(t, tl.OutputSchema, tl.Call(context.Background(), tl.Example).JSON())
	validateAgainst(t, tl.OutputSchema, tl.Call(context.Background(), json.RawMessage(`{}`)).JSON())

	l := listTool(func(ctx context.Context, in *struct{}) ([]echoOut, error) { return []echoOut{{"a"}}, nil })
	var lo struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	_ = json.Unmarshal(l.OutputSchema, &lo)
	if lo.Properties["data"]["type"] != "array" || lo.Properties["paging"] == nil {
		t.Errorf("list output schema: %s", l.OutputSchema)
	}
	validateAgainst(t, l.OutputSchema, l.Call(context.Background(), nil).JSON())
}

func compile(t *testing.T, schema []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("mem:///schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem:///schema.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v\n%s", err, schema)
	}
	return s
}

func validateAgainst(t *testing.T, schema, instance []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(instance))
	if err != nil {
		t.Fatalf("instance is not JSON: %v", err)
	}
	if err := compile(t, schema).Validate(inst); err != nil {
		t.Errorf("%s\ndoes not validate: %v", instance, err)
	}
}
