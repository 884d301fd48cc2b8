package conversations_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/schematest"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// ToolBytes is the most bytes of tools/list (description, input and output
// schema) a conversation tool may cost.
const ToolBytes = 1400

// TestDeclarations: the tools in catalog order, in their toolset, read-only
// store readers with complete metadata, and an example each that succeeds.
func TestDeclarations(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "events.db"))
	var names []string
	for _, tl := range conversations.Tools(st, tools.PhonePolicy{}, fixedClock) {
		names = append(names, tl.Name)
		want := tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}
		if tl.Annotations != want {
			t.Errorf("%s: annotations %+v, want %+v", tl.Name, tl.Annotations, want)
		}
		if tl.Toolset != conversations.Toolset || tl.Title == "" || tl.Description == "" || len(tl.Hints) == 0 {
			t.Errorf("%s: toolset %q title %q, %d description bytes, %d hints", tl.Name, tl.Toolset, tl.Title, len(tl.Description), len(tl.Hints))
		}
		if env := call(t, tl, string(tl.Example)); !env.Successful {
			t.Errorf("%s: example %s fails: %s", tl.Name, tl.Example, env.Error)
		}
	}
	if got, want := strings.Join(names, ","), toolList+","+toolGet+","+toolSearch; got != want {
		t.Errorf("tools %s, want %s", got, want)
	}
}

// TestSchemasSayTheTags: every input schema says the rules of its tags.
func TestSchemasSayTheTags(t *testing.T) {
	ins := map[string]any{
		toolList:   new(conversations.ListConversationsInput),
		toolGet:    new(conversations.GetConversationInput),
		toolSearch: new(conversations.SearchMessagesInput),
	}
	for _, tl := range conversations.Tools(nil, tools.PhonePolicy{}, nil) {
		if schematest.Rules(t, ins[tl.Name], tl.InputSchema) == 0 {
			t.Errorf("%s: no rule checked", tl.Name)
		}
	}
}

// TestToolsListBytes: each tool costs at most ToolBytes of tools/list: its
// description as a JSON string and its two schemas, the bytes mcp-go sends
// (the catalog's budget test renders the whole list through mcp-go).
func TestToolsListBytes(t *testing.T) {
	for _, tl := range conversations.Tools(nil, tools.PhonePolicy{}, nil) {
		desc, err := json.Marshal(tl.Description)
		if err != nil {
			t.Fatal(err)
		}
		n := len(desc) + len(tl.InputSchema) + len(tl.OutputSchema)
		t.Logf("%s: %d bytes (description %d, inputSchema %d, outputSchema %d)", tl.Name, n, len(desc), len(tl.InputSchema), len(tl.OutputSchema))
		if n > ToolBytes {
			t.Errorf("%s costs %d bytes of tools/list, over %d", tl.Name, n, ToolBytes)
		}
	}
}

// TestNoStore: without a webhook store every call fails with what the
// operator must configure, and so does a resource read.
func TestNoStore(t *testing.T) {
	args := map[string]string{
		toolList:   `{"phone_number_id":"106540352242922"}`,
		toolGet:    `{"phone_number_id":"106540352242922","to_number":"16505551234"}`,
		toolSearch: `{"phone_number_id":"106540352242922","query":"order"}`,
	}
	for _, tl := range conversations.Tools(nil, tools.PhonePolicy{}, nil) {
		env := call(t, tl, args[tl.Name])
		if env.Successful || !strings.Contains(env.Error, "no webhook store is configured") || !strings.Contains(env.Error, "--sandbox") {
			t.Errorf("%s without a store: %+v", tl.Name, env)
		}
	}
	_, err := conversations.Resources(nil, nil)[0].Read(context.Background(), conversations.URI(phone, "16505551234"), nil)
	if err == nil || !strings.Contains(err.Error(), "no webhook store is configured") {
		t.Errorf("resource read without a store: %v", err)
	}
}

// TestStoreFailure: a failing store is described as the server's problem,
// to retry, on every tool and on the resource.
func TestStoreFailure(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	args := map[string]string{
		toolList:   `{"phone_number_id":"106540352242922"}`,
		toolGet:    `{"phone_number_id":"106540352242922","to_number":"16505551234"}`,
		toolSearch: `{"phone_number_id":"106540352242922","query":"order"}`,
	}
	for _, tl := range conversations.Tools(st, tools.PhonePolicy{}, fixedClock) {
		env := call(t, tl, args[tl.Name])
		if env.Successful || !strings.Contains(env.Error, "problem on the server's side") {
			t.Errorf("%s on a closed store: %+v", tl.Name, env)
		}
	}
	_, err = conversations.Resources(st, fixedClock)[0].Read(context.Background(), conversations.URI(phone, "16505551234"), nil)
	var in *tools.InputError
	if err == nil || errors.As(err, &in) {
		t.Errorf("resource read on a closed store: %v, want a server failure (not an input error)", err)
	}
}
