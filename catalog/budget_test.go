package catalog_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// ToolBudget is the most bytes of tools/list per tool, on average, that the
// catalog may cost. A client sends the whole list to the model on every
// turn, so every byte of a description or schema is paid again and again
// (github-mcp-server spends about 450 to 800 bytes a tool).
const ToolBudget = 1500

// listedTool is one tool of tools/list, its parts kept as the bytes mcp-go
// wrote (a description's escapes count).
type listedTool struct {
	Name         string          `json:"name"`
	Description  json.RawMessage `json:"description"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema"`
}

// toolsList answers tools/list as mcp-go renders it for a client: the
// JSON-RPC response's result, and its tools.
func toolsList(t *testing.T, opts server.Options) ([]byte, []listedTool) {
	t.Helper()
	return toolsListOf(t, catalog.Declarations(), opts)
}

func toolsListOf(t *testing.T, cat []tools.Tool, opts server.Options) ([]byte, []listedTool) {
	t.Helper()
	opts.About = catalog.About
	s, err := server.New(cat, opts)
	if err != nil {
		t.Fatal(err)
	}
	resp := s.MCP().HandleMessage(context.Background(), json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Result) == 0 {
		t.Fatalf("tools/list: %s (%v)", b, err)
	}
	var list struct {
		Tools []listedTool `json:"tools"`
	}
	if err := json.Unmarshal(r.Result, &list); err != nil {
		t.Fatal(err)
	}
	return r.Result, list.Tools
}

// TestToolsListBudget fails when the catalog's tools/list costs more than
// ToolBudget bytes a tool on average: a longer description or schema must
// be paid for elsewhere.
func TestToolsListBudget(t *testing.T) {
	result, listed := toolsList(t, server.Options{})
	if len(listed) == 0 {
		t.Fatal("tools/list lists no tool")
	}
	var in, out, desc int
	for _, tl := range listed {
		in += len(tl.InputSchema)
		out += len(tl.OutputSchema)
		desc += len(tl.Description)
	}
	n := len(listed)
	per := len(result) / n
	t.Logf("tools/list: %d bytes for %d tools, %d B/tool (inputSchema %d, outputSchema %d, description %d on average; budget %d)",
		len(result), n, per, in/n, out/n, desc/n, ToolBudget)
	if per > ToolBudget {
		t.Errorf("tools/list costs %d bytes a tool on average, over the budget of %d: tighten descriptions and schemas (the heaviest tools are logged)", per, ToolBudget)
		for _, tl := range listed {
			t.Logf("%s: %d bytes (inputSchema %d, outputSchema %d, description %d)", tl.Name,
				len(tl.InputSchema)+len(tl.OutputSchema)+len(tl.Description), len(tl.InputSchema), len(tl.OutputSchema), len(tl.Description))
		}
	}
}

// TestToolsListBudgetCatchesGrowth: the measure sees what a client is sent,
// so a description grown past the budget fails TestToolsListBudget.
func TestToolsListBudgetCatchesGrowth(t *testing.T) {
	cat := catalog.Declarations()
	result, _ := toolsListOf(t, cat, server.Options{})
	room := ToolBudget*len(cat) - len(result)
	cat[0].Description += strings.Repeat("x", room+1)
	grown, _ := toolsListOf(t, cat, server.Options{})
	if per := len(grown) / len(cat); len(grown) <= ToolBudget*len(cat) || per < ToolBudget {
		t.Errorf("a description %d bytes longer gives %d bytes, %d a tool: not over the budget of %d", room+1, len(grown), per, ToolBudget)
	}
}

// TestToolsListDynamicStart: with dynamic toolsets a session's first
// tools/list holds the two discovery tools only.
func TestToolsListDynamicStart(t *testing.T) {
	full, _ := toolsList(t, server.Options{})
	result, listed := toolsList(t, server.Options{Dynamic: true})
	var names []string
	for _, tl := range listed {
		names = append(names, tl.Name)
	}
	if strings.Join(names, ",") != "WHATSAPP_ENABLE_TOOLSET,WHATSAPP_LIST_TOOLSETS" {
		t.Fatalf("dynamic start lists %v", names)
	}
	t.Logf("tools/list at a dynamic start: %d bytes (%d tools), against %d for the whole catalog", len(result), len(listed), len(full))
	if len(result) > 2*ToolBudget {
		t.Errorf("the dynamic start costs %d bytes, over the budget of its two tools (%d)", len(result), 2*ToolBudget)
	}
}
