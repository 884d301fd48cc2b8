// Command gen writes the generated files of schemas/ (one JSON Schema file
// per tool, catalog.json, openapi.json) and the README's tool reference from
// the catalog declarations. Run it with `go generate ./...` from the module
// root (it runs in schemas/); stale *.json files of removed tools are
// deleted.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/schemas"
)

func main() {
	dir := flag.String("dir", ".", "the schemas directory to write")
	readme := flag.String("readme", "../README.md", "the README whose tool reference to regenerate (empty: skip)")
	flag.Parse()
	if err := run(*dir, *readme); err != nil {
		fmt.Fprintln(os.Stderr, "schemas/gen:", err)
		os.Exit(1)
	}
}

func run(dir, readme string) error {
	catalog := schemas.Catalog()
	files, err := schemas.Files(catalog)
	if err != nil {
		return err
	}
	for _, name := range schemas.Names(files) {
		if err := writeIfChanged(filepath.Join(dir, name), files[name]); err != nil {
			return err
		}
	}
	// Remove the files of tools that no longer exist.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") {
			if _, ok := files[e.Name()]; !ok {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
					return err
				}
				fmt.Fprintln(os.Stderr, "removed stale", filepath.Join(dir, e.Name()))
			}
		}
	}
	if readme == "" {
		return nil
	}
	old, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	updated, err := schemas.README(old, catalog)
	if err != nil {
		return fmt.Errorf("%s: %w", readme, err)
	}
	return writeIfChanged(readme, updated)
}

func writeIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	return os.WriteFile(path, b, mode)
}
