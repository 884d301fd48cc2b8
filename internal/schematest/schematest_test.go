package schematest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/schematest"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// TestCheckFindsWhatTheSchemaDoesNotSay: a rule the schema leaves out, and
// a tag nobody mapped, are both problems.
func TestCheckFindsWhatTheSchemaDoesNotSay(t *testing.T) {
	type in struct {
		ID    string   `json:"id" validate:"required,graphid"`
		Text  string   `json:"text" validate:"required,max=10"`
		Alpha string   `json:"alpha,omitempty" validate:"omitempty,alpha"`
		List  []string `json:"list" validate:"required,max=2,dive,max=3"`
		Other string   `json:"other,omitempty" validate:"required_without=ID"`
	}
	schema := tools.InputSchema[in]()
	_, problems := schematest.Check(new(in), schema)
	if len(problems) != 1 || !strings.Contains(problems[0], "alpha: rule alpha") {
		t.Errorf("problems %q, want only the unmapped alpha", problems)
	}

	// The same schema with rules taken out of it.
	var m map[string]any
	json.Unmarshal(schema, &m)
	props := m["properties"].(map[string]any)
	delete(props["id"].(map[string]any), "pattern")
	delete(props["text"].(map[string]any), "maxLength")
	delete(props["list"].(map[string]any)["items"].(map[string]any), "maxLength")
	m["required"] = []string{"id"}
	delete(m, "additionalProperties")
	stripped, _ := json.Marshal(m)
	n, problems := schematest.Check(new(in), stripped)
	for _, want := range []string{"id: rule graphid", "text: rule max=10", "list[]: rule max=3", "text: rule required", "additionalProperties"} {
		if !strings.Contains(strings.Join(problems, "\n"), want) {
			t.Errorf("no problem for %s in %q", want, problems)
		}
	}
	if n < 8 {
		t.Errorf("%d rules checked", n)
	}
}
