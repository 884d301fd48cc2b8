package docgen_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/invopop/jsonschema"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/docgen"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

type addr struct {
	City string `json:"city" jsonschema_description:"City | town"`
}

type item struct {
	ID    string `json:"id" jsonschema:"maxLength=20" jsonschema_description:"Row id"`
	Title string `json:"title,omitempty"`
}

type docIn struct {
	To    string   `json:"to_number" jsonschema:"minLength=8,maxLength=16" jsonschema_description:"Normalised to +<digits>"`
	Kind  string   `json:"kind,omitempty" jsonschema:"enum=a,enum=b" jsonschema_description:"The kind"`
	Limit int      `json:"limit,omitempty" jsonschema:"minimum=1,maximum=100,default=25"`
	Items []item   `json:"items" jsonschema:"minItems=1,maxItems=3"`
	Addr  *addr    `json:"address,omitempty"`
	Tags  []string `json:"tags,omitempty"`
}

type emptyIn struct{}

func docCatalog() []tools.Tool {
	return []tools.Tool{
		tools.New(tools.Def[docIn, map[string]any]{
			Name: "TEST_SEND", Title: "Send <it>", Description: "Sends to +<digits>.\nSecond line.", Toolset: "messages",
			Annotations: tools.Annotations{OpenWorld: true},
			Example:     `{"to_number":"+16505551234","items":[{"id":"x"}]}`,
			Handler:     func(context.Context, *docIn) (map[string]any, error) { return nil, nil },
		}),
		tools.New(tools.Def[emptyIn, map[string]any]{
			Name: "TEST_READ", Title: "Read", Description: "Reads.", Toolset: "account",
			Annotations: tools.Annotations{ReadOnly: true, Idempotent: true},
			Handler:     func(context.Context, *emptyIn) (map[string]any, error) { return nil, nil },
		}),
		tools.New(tools.Def[emptyIn, map[string]any]{
			Name: "TEST_OTHER", Title: "Other", Description: "In a toolset of its own.", Toolset: "extra",
			Handler: func(context.Context, *emptyIn) (map[string]any, error) { return nil, nil },
		}),
	}
}

func TestRender(t *testing.T) {
	out, err := docgen.Render(docCatalog(), []tools.Toolset{{Name: "messages", Description: "Messages <b>."}})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"3 tools in 3 toolsets",
		"| [`TEST_SEND`](#test_send) | `messages` | Send &lt;it&gt; | no |",
		"| [`TEST_READ`](#test_read) | `account` | Read | yes |",
		"### Toolset `messages`\n\nMessages &lt;b&gt;.",
		"#### TEST_SEND\n\n**Send &lt;it&gt;**: Sends to +&lt;digits&gt;.\nSecond line.",
		"| Input | Type | Required | Description | Constraints |",
		"| `to_number` | string | **required** | Normalised to +&lt;digits&gt; | 8 to 16 characters |",
		"| `kind` | string | optional | The kind | one of `a`, `b` |",
		"| `limit` | integer | optional |  | 1 to 100; default `25` |",
		"| `items` | object[] | **required** |  | 1 to 3 items |",
		"| `items[].id` | string | **required** | Row id | at most 20 characters |",
		"| `items[].title` | string | optional |  |  |",
		"| `address.city` | string | **required** | City \\| town |  |",
		"| `tags` | string[] | optional |  |  |",
		"Annotations: `readOnlyHint: false` · `destructiveHint: false` · `idempotentHint: false` · `openWorldHint: true`. Schema: [`schemas/TEST_SEND.json`](schemas/TEST_SEND.json).",
		"Example input:\n\n```json\n{\n  \"to_number\": \"+16505551234\",",
		"#### TEST_READ\n\n**Read**: Reads.\n\nInputs: none.",
		"### Toolset `extra`",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// Documented toolsets first, in the order given, then the others.
	if i, j, k := strings.Index(got, "Toolset `messages`"), strings.Index(got, "Toolset `account`"), strings.Index(got, "Toolset `extra`"); !(i < j && j < k) {
		t.Errorf("toolset order: messages %d, account %d, extra %d", i, j, k)
	}
	again, _ := docgen.Render(docCatalog(), []tools.Toolset{{Name: "messages", Description: "Messages <b>."}})
	if string(again) != got {
		t.Error("Render is not deterministic")
	}
}

// longEnum has Meta's 111 language codes as its enum (the catalog gives
// them as a pattern, but an enum that long may come).
type longEnum string

func (longEnum) JSONSchema() *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "string"}
	for _, c := range strings.Fields(tools.LanguageCodeList) {
		s.Enum = append(s.Enum, c)
	}
	return s
}

func TestRenderLongEnum(t *testing.T) {
	type in struct {
		Lang longEnum `json:"language"`
	}
	cat := []tools.Tool{tools.New(tools.Def[in, map[string]any]{
		Name: "TEST_LANG", Title: "Lang", Description: "d", Toolset: "templates",
		Handler: func(context.Context, *in) (map[string]any, error) { return nil, nil },
	})}
	out, err := docgen.Render(cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := len(strings.Fields(tools.LanguageCodeList))
	if want := "one of " + strconv.Itoa(n) + " values such as `af`, `sq`"; !strings.Contains(string(out), want) {
		t.Errorf("long enum not summarised (%q):\n%s", want, out)
	}
	if !strings.Contains(string(out), "(all in [`schemas/TEST_LANG.json`](schemas/TEST_LANG.json))") {
		t.Errorf("long enum does not point at the schema file:\n%s", out)
	}
}

func TestSplice(t *testing.T) {
	readme := "# Title\n\nintro\n\n" + docgen.ToolMarkers.Begin + "\nold\nstuff\n" + docgen.ToolMarkers.End + "\n\n## After\n"
	out, err := docgen.Splice([]byte(readme), []byte("\nnew region\n\n"), docgen.ToolMarkers)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\nintro\n\n" + docgen.ToolMarkers.Begin + "\nnew region\n" + docgen.ToolMarkers.End + "\n\n## After\n"
	if string(out) != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
	// Idempotent.
	again, err := docgen.Splice(out, []byte("new region"), docgen.ToolMarkers)
	if err != nil || string(again) != want {
		t.Errorf("second splice: %q %v", again, err)
	}
	region, err := docgen.Region(out, docgen.ToolMarkers)
	if err != nil || string(region) != "\nnew region\n" {
		t.Errorf("Region = %q %v", region, err)
	}
	// Empty markers on one line, as a fresh README has them.
	out, err = docgen.Splice([]byte(docgen.ToolMarkers.Begin+docgen.ToolMarkers.End), []byte("x"), docgen.ToolMarkers)
	if err != nil || string(out) != docgen.ToolMarkers.Begin+"\nx\n"+docgen.ToolMarkers.End {
		t.Errorf("adjacent markers: %q %v", out, err)
	}

	for name, bad := range map[string]string{
		"no markers": "# Title\n",
		"no end":     docgen.ToolMarkers.Begin + "\n",
		"reversed":   docgen.ToolMarkers.End + "\n" + docgen.ToolMarkers.Begin,
		"twice":      docgen.ToolMarkers.Begin + docgen.ToolMarkers.End + docgen.ToolMarkers.Begin + docgen.ToolMarkers.End,
	} {
		if _, err := docgen.Splice([]byte(bad), []byte("x"), docgen.ToolMarkers); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
