package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/docgen"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's configuration table")

// TestREADMEConfiguration: the README's configuration table is the one
// configReference renders from the settings declaration. Run `go generate
// ./...` after changing a setting.
func TestREADMEConfiguration(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := docgen.Splice(readme, configReference(), docgen.ConfigMarkers)
	if err != nil {
		t.Fatal(err)
	}
	if *updateREADME {
		if !bytes.Equal(want, readme) {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if !bytes.Equal(want, readme) {
		t.Errorf("README.md's configuration table is stale: run `go generate ./...`")
	}
}

// TestConfigReferenceCoversEverySetting: every setting, its flag, its
// default and each command it applies to are in the table.
func TestConfigReferenceCoversEverySetting(t *testing.T) {
	table := string(configReference())
	for _, s := range settings {
		var row string
		for _, line := range strings.Split(table, "\n") {
			if strings.HasPrefix(line, "| `"+s.env+"` |") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("%s has no row", s.env)
			continue
		}
		if s.flag != "" && !strings.Contains(row, "`--"+s.flag+"`") {
			t.Errorf("%s: flag --%s missing: %s", s.env, s.flag, row)
		}
		if s.secret && !strings.Contains(row, "secret") {
			t.Errorf("%s: not marked secret: %s", s.env, row)
		}
		if s.def != "" && !strings.Contains(row, "`"+s.def+"`") {
			t.Errorf("%s: default %s missing: %s", s.env, s.def, row)
		}
		for _, c := range commandNames {
			if s.cmds&c.bit != 0 && !strings.Contains(row, "`"+c.name+"`") {
				t.Errorf("%s: command %s missing: %s", s.env, c.name, row)
			}
		}
	}
	for _, env := range []string{"WHATSAPP_APPSECRET_PROOF", "WHATSAPP_CALL_TIMEOUT", "WHATSAPP_HTTP_STATELESS", "WHATSAPP_SANDBOX", "WHATSAPP_SANDBOX_URL"} {
		if !strings.Contains(table, "`"+env+"`") {
			t.Errorf("%s is missing from the table", env)
		}
	}
}
