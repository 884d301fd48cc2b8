package server

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// mcpProgress wires the tool's progress (tools.Progress) to MCP
// notifications/progress when the call carries _meta.progressToken: done
// and total bytes, at the rate tools.Progress keeps. A notification the
// session cannot take at once is dropped rather than waited for.
func mcpProgress(ctx context.Context, req mcp.CallToolRequest) context.Context {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return ctx
	}
	srv := mcpserver.ServerFromContext(ctx)
	if srv == nil {
		return ctx
	}
	token := req.Params.Meta.ProgressToken
	return tools.WithProgress(ctx, func(done, total int64) {
		params := map[string]any{"progressToken": token, "progress": done}
		if total > 0 {
			params["total"] = total
		}
		_ = srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params)
	})
}
