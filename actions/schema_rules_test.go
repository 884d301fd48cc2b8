package actions_test

import (
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/schematest"
)

// TestSchemaSaysEveryRule: for every input of every action, each rule of
// its validate tags that JSON Schema can say (lengths, items, ranges,
// enums, required, and the patterns and formats of tools.SchemaRules) is
// in the input schema a client sees; a tag that JSON Schema could say but
// the schema does not fails here, and so does a new tag nobody mapped.
func TestSchemaSaysEveryRule(t *testing.T) {
	byName := map[string][]byte{}
	for _, tl := range allTools(&actions.Deps{}) {
		byName[tl.Name] = tl.InputSchema
	}
	total := 0
	for _, c := range catalogSpec {
		n := schematest.Rules(t, c.newIn(), byName[c.name])
		if n == 0 && c.name != "WHATSAPP_GET_MEDIA_INFO" {
			t.Errorf("%s: no rule checked", c.name)
		}
		total += n
	}
	t.Logf("%d validate rules checked against the schemas", total)
}
