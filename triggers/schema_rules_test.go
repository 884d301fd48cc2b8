package triggers_test

import (
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/schematest"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// TestSchemaSaysEveryRule: the status tools' input schemas say every rule
// of their validate tags that JSON Schema can say (see the actions' test).
func TestSchemaSaysEveryRule(t *testing.T) {
	ts := triggers.Tools(nil)
	for _, c := range []struct {
		name string
		in   any
	}{
		{"WHATSAPP_GET_MESSAGE_STATUS", new(triggers.GetMessageStatusInput)},
		{"WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER", new(triggers.StatusTriggerInput)},
	} {
		for _, tl := range ts {
			if tl.Name == c.name && schematest.Rules(t, c.in, tl.InputSchema) == 0 {
				t.Errorf("%s: no rule checked", c.name)
			}
		}
	}
}
