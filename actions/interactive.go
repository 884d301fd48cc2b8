package actions

import "github.com/whatsapp-mcp/whatsapp-mcp/tools"

// InteractiveActions returns the interactive sends beyond reply buttons and
// lists, in catalog order (issue 13 fills this file).
func InteractiveActions(d *Deps) []tools.Tool {
	return nil
}
