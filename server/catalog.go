package server

import (
	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Catalog assembles every tool of the product in catalog order: the
// nineteen actions, then the status tools. Every surface (MCP, REST, the
// `tools` command, schemas/, the README) is built from this one list.
func Catalog(d *actions.Deps, status []tools.Tool) []tools.Tool {
	return append(actions.All(d), status...)
}
