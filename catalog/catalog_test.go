package catalog_test

import (
	"regexp"
	"slices"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

var toolName = regexp.MustCompile(`\bWHATSAPP_[A-Z_]+\b`)

// TestHintsNameCatalogTools: a hint that names a tool the catalog does not
// have (renamed, removed, mistyped) fails here.
func TestHintsNameCatalogTools(t *testing.T) {
	cat := catalog.Declarations()
	names := map[string]bool{}
	for _, tl := range cat {
		names[tl.Name] = true
	}
	for _, text := range append([]string{catalog.About.Instructions}, hintsOf(cat)...) {
		for _, n := range toolName.FindAllString(text, -1) {
			if !names[n] {
				t.Errorf("instructions name %s, which is not in the catalog: %q", n, text)
			}
		}
	}
	if len(hintsOf(cat)) < 5 {
		t.Errorf("%d distinct hints, want the five of the catalog", len(hintsOf(cat)))
	}
}

// TestInstructionsNameOnlyEnabledTools builds the server with each toolset
// alone, read-only and whole, and checks that its instructions (given at
// initialize: see the server's TestInstructions) name only tools a client
// can call.
func TestInstructionsNameOnlyEnabledTools(t *testing.T) {
	cat := catalog.Declarations()
	cases := []server.Options{{}, {ReadOnly: true}}
	for _, ts := range catalog.About.Toolsets {
		cases = append(cases, server.Options{Toolsets: []string{ts.Name}})
	}
	for _, opts := range cases {
		opts.About = catalog.About
		s, err := server.New(cat, opts)
		if err != nil {
			t.Fatal(err)
		}
		var enabled []string
		for _, tl := range s.Tools() {
			enabled = append(enabled, tl.Name)
		}
		got := s.Instructions()
		for _, n := range toolName.FindAllString(got, -1) {
			if !slices.Contains(enabled, n) {
				t.Errorf("toolsets %v read-only %v: instructions name %s, which is not enabled", opts.Toolsets, opts.ReadOnly, n)
			}
		}
		if len(opts.Toolsets) == 0 && !opts.ReadOnly && len(toolName.FindAllString(got, -1)) == 0 {
			t.Errorf("the full catalog's instructions name no tool: %q", got)
		}
	}
}

// TestToolsets: every tool is in a declared toolset, and every declared
// toolset has tools and a description.
func TestToolsets(t *testing.T) {
	cat := catalog.Declarations()
	used := map[string]int{}
	for _, tl := range cat {
		used[tl.Toolset]++
	}
	declared := map[string]bool{}
	for _, ts := range catalog.About.Toolsets {
		declared[ts.Name] = true
		if ts.Description == "" || used[ts.Name] == 0 {
			t.Errorf("toolset %q: description %q, %d tools", ts.Name, ts.Description, used[ts.Name])
		}
	}
	for name := range used {
		if !declared[name] {
			t.Errorf("toolset %q is used but not declared in catalog.About.Toolsets", name)
		}
	}
	if len(cat) != 34 {
		t.Errorf("%d tools, want the nineteen actions, the five interactive sends, the two status tools, the six conversation tools and the two bulk tools", len(cat))
	}
}

func hintsOf(cat []tools.Tool) []string {
	var out []string
	for _, tl := range cat {
		for _, h := range tl.Hints {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
}
