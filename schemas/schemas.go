package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/docgen"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Dialect is the JSON Schema dialect of every schema, stated in the files
// (the MCP-facing schemas omit $schema: some clients reject it).
const Dialect = "https://json-schema.org/draft/2020-12/schema"

// Generated file names, relative to this directory.
const (
	IndexFile   = "catalog.json"
	OpenAPIFile = "openapi.json"
)

// OpenAPIServerURL is the server URL of the checked-in openapi.json:
// relative, so it resolves against wherever the document is served from.
const OpenAPIServerURL = "/"

// Catalog is the full product catalog as the generator sees it
// (catalog.Declarations: for reading, not calling).
func Catalog() []tools.Tool { return catalog.Declarations() }

// FileName is the schema file of a tool.
func FileName(tool string) string { return tool + ".json" }

// indexEntry is one entry of catalog.json.
type indexEntry struct {
	Name        string            `json:"name"`
	Title       string            `json:"title"`
	Toolset     string            `json:"toolset"`
	File        string            `json:"file"`
	Annotations tools.Annotations `json:"annotations"`
}

// Files renders every generated file of this directory from the catalog:
// one <TOOL_NAME>.json per tool, catalog.json and openapi.json, keyed by
// file name. Output is deterministic: 2-space indented, keys in declaration
// order, no HTML escaping, trailing newline. The generator writes these
// bytes and the test compares them with the files on disk, so both share
// this one code path.
func Files(cat []tools.Tool) (map[string][]byte, error) {
	out := make(map[string][]byte, len(cat)+2)
	index := make([]indexEntry, 0, len(cat))
	for _, t := range cat {
		if t.Name == "" {
			return nil, errors.New("schemas: a tool has no name")
		}
		name := FileName(t.Name)
		if _, dup := out[name]; dup || name == IndexFile || name == OpenAPIFile {
			return nil, fmt.Errorf("schemas: tool %s is declared twice or collides with %s", t.Name, name)
		}
		in, err := withDialect(t.InputSchema)
		if err != nil {
			return nil, fmt.Errorf("schemas: %s inputSchema: %w", t.Name, err)
		}
		outSchema, err := withDialect(t.OutputSchema)
		if err != nil {
			return nil, fmt.Errorf("schemas: %s outputSchema: %w", t.Name, err)
		}
		// One file is the tool's descriptor, with the dialect-stamped schemas.
		d := t.Descriptor()
		d.InputSchema, d.OutputSchema = in, outSchema
		b, err := render(d)
		if err != nil {
			return nil, fmt.Errorf("schemas: %s: %w", t.Name, err)
		}
		out[name] = b
		index = append(index, indexEntry{Name: t.Name, Title: t.Title, Toolset: t.Toolset, File: name, Annotations: t.Annotations})
	}
	b, err := render(index)
	if err != nil {
		return nil, fmt.Errorf("schemas: index: %w", err)
	}
	out[IndexFile] = b
	srv, err := server.New(cat, server.Options{About: catalog.About})
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	doc, err := srv.OpenAPI(OpenAPIServerURL)
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	if out[OpenAPIFile], err = Pretty(doc); err != nil {
		return nil, fmt.Errorf("schemas: openapi: %w", err)
	}
	return out, nil
}

// Names returns the keys of Files' result, sorted.
func Names(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// withDialect adds "$schema" as the first key of a schema object.
func withDialect(schema json.RawMessage) (json.RawMessage, error) {
	s := bytes.TrimSpace(schema)
	if len(s) == 0 {
		return nil, errors.New("missing")
	}
	if s[0] != '{' || !json.Valid(s) {
		return nil, errors.New("must be a JSON object")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(s, &probe); err != nil {
		return nil, err
	}
	if _, has := probe["$schema"]; has {
		return s, nil
	}
	head := `{"$schema":` + fmt.Sprintf("%q", Dialect)
	rest := bytes.TrimSpace(s[1:])
	if len(rest) > 0 && rest[0] == '}' {
		return json.RawMessage(head + "}"), nil
	}
	return json.RawMessage(head + "," + string(rest)), nil
}

func render(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Pretty(b)
}

// Pretty re-indents JSON with 2 spaces, keeping the key order of the input
// (unlike a round trip through map[string]any), writing "<", ">" and "&"
// as themselves (unlike json.Indent, which keeps encoding/json's \u003c
// escapes), and ending with a newline.
func Pretty(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var b bytes.Buffer
	if err := prettyValue(&b, dec, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func prettyValue(b *bytes.Buffer, dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		closing := json.Delim('}')
		if v == '[' {
			closing = ']'
		}
		b.WriteByte(byte(v))
		n := 0
		for dec.More() {
			if n > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
			indent(b, depth+1)
			if v == '{' {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, ok := k.(string)
				if !ok {
					return fmt.Errorf("object key is %T", k)
				}
				writeString(b, key)
				b.WriteString(": ")
			}
			if err := prettyValue(b, dec, depth+1); err != nil {
				return err
			}
			n++
		}
		end, err := dec.Token()
		if err != nil {
			return err
		}
		if end != closing {
			return fmt.Errorf("unexpected %v", end)
		}
		if n > 0 {
			b.WriteByte('\n')
			indent(b, depth)
		}
		b.WriteByte(byte(closing))
	case string:
		writeString(b, v)
	case json.Number:
		b.WriteString(v.String())
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	default:
		return fmt.Errorf("unexpected token %T", tok)
	}
	return nil
}

func indent(b *bytes.Buffer, depth int) {
	for range depth {
		b.WriteString("  ")
	}
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}

// README returns readme with its generated tool reference (between
// docgen's markers) rendered from catalog. The generator writes it and the
// test compares it with README.md.
func README(readme []byte, cat []tools.Tool) ([]byte, error) {
	region, err := docgen.Render(cat, catalog.About.Toolsets)
	if err != nil {
		return nil, err
	}
	return docgen.Splice(readme, region, docgen.ToolMarkers)
}
