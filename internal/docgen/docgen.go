// Package docgen renders the README's tool reference from the catalog
// declarations (name, title, description, inputs from the input schema,
// annotations, example) and splices it between the README's markers. The
// schemas generator writes it and the schemas test fails when it is stale,
// so the README's tool list cannot drift from the code.
package docgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Markers delimit a generated region of a document: everything between
// them is rewritten by the generator and checked by a staleness test.
type Markers struct{ Begin, End string }

// The README's generated regions.
var (
	// ToolMarkers hold the tool reference (Render).
	ToolMarkers = Markers{"<!-- BEGIN GENERATED TOOLS -->", "<!-- END GENERATED TOOLS -->"}
	// ConfigMarkers hold the configuration table (rendered by the command
	// from its settings declaration).
	ConfigMarkers = Markers{"<!-- BEGIN GENERATED CONFIGURATION -->", "<!-- END GENERATED CONFIGURATION -->"}
)

// maxEnum is the longest enum listed in full; longer ones (language codes)
// show a few values and point at the schema file.
const maxEnum = 12

// Render renders the tool reference: a summary table, then for each
// toolset (in tools.Toolsets order) each tool with its title, description,
// an inputs table (name, type, required/optional, description,
// constraints), annotations, schema file and example input. toolsets
// orders and describes the toolsets (may be nil).
func Render(catalog []tools.Tool, toolsets []tools.Toolset) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<!-- Generated from the tool declarations by `go generate ./...`; do not edit by hand. -->\n\n")
	groups := group(catalog, toolsets)
	fmt.Fprintf(&b, "%d tools in %d toolsets. Each returns the envelope `{successful, data, error}`; full input and output schemas are in [`schemas/`](schemas/).\n\n", len(catalog), len(groups))

	b.WriteString("| Tool | Toolset | What it does | Read-only |\n|---|---|---|---|\n")
	for _, g := range groups {
		for _, t := range g.tools {
			ro := "no"
			if t.Annotations.ReadOnly {
				ro = "yes"
			}
			fmt.Fprintf(&b, "| [`%s`](#%s) | `%s` | %s | %s |\n", t.Name, anchor(t.Name), g.name, cell(t.Title), ro)
		}
	}

	for _, g := range groups {
		fmt.Fprintf(&b, "\n### Toolset `%s`\n\n", g.name)
		if d := g.doc; d != "" {
			b.WriteString(text(d) + "\n")
		}
		for _, t := range g.tools {
			if err := renderTool(&b, t); err != nil {
				return nil, fmt.Errorf("docgen: %s: %w", t.Name, err)
			}
		}
	}
	return b.Bytes(), nil
}

type toolGroup struct {
	name, doc string
	tools     []tools.Tool
}

// group orders tools by toolset (documented toolsets first), keeping
// catalog order inside each.
func group(catalog []tools.Tool, toolsets []tools.Toolset) []toolGroup {
	var order []string
	docs := map[string]string{}
	for _, ts := range toolsets {
		order = append(order, ts.Name)
		docs[ts.Name] = ts.Description
	}
	for _, t := range catalog {
		if !slices.Contains(order, t.Toolset) {
			order = append(order, t.Toolset)
		}
	}
	var out []toolGroup
	for _, ts := range order {
		g := toolGroup{name: ts, doc: docs[ts]}
		for _, t := range catalog {
			if t.Toolset == ts {
				g.tools = append(g.tools, t)
			}
		}
		if len(g.tools) > 0 {
			out = append(out, g)
		}
	}
	return out
}

func renderTool(b *bytes.Buffer, t tools.Tool) error {
	fmt.Fprintf(b, "\n#### %s\n\n", t.Name)
	fmt.Fprintf(b, "**%s**: %s\n\n", text(t.Title), text(t.Description))

	var s schema
	if len(t.InputSchema) > 0 {
		if err := json.Unmarshal(t.InputSchema, &s); err != nil {
			return fmt.Errorf("input schema: %w", err)
		}
	}
	var rows []row
	walk(&rows, "", &s, t.Name)
	if len(rows) == 0 {
		b.WriteString("Inputs: none.\n\n")
	} else {
		// The constraints column only when some input has one.
		withConstraints := slices.ContainsFunc(rows, func(r row) bool { return r.constraints != "" })
		if withConstraints {
			b.WriteString("| Input | Type | Required | Description | Constraints |\n|---|---|---|---|---|\n")
		} else {
			b.WriteString("| Input | Type | Required | Description |\n|---|---|---|---|\n")
		}
		for _, r := range rows {
			req := "optional"
			if r.required {
				req = "**required**"
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s |", r.path, cell(r.typ), req, cell(r.desc))
			if withConstraints {
				fmt.Fprintf(b, " %s |", cell(r.constraints))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}

	a := t.Annotations
	fmt.Fprintf(b, "Annotations: `readOnlyHint: %t` · `destructiveHint: %t` · `idempotentHint: %t` · `openWorldHint: %t`. Schema: [`schemas/%s.json`](schemas/%s.json).\n",
		a.ReadOnly, a.Destructive, a.Idempotent, a.OpenWorld, t.Name, t.Name)

	if len(t.Example) > 0 {
		var ex bytes.Buffer
		if err := json.Indent(&ex, t.Example, "", "  "); err != nil {
			return fmt.Errorf("example: %w", err)
		}
		fmt.Fprintf(b, "\nExample input:\n\n```json\n%s\n```\n", ex.String())
	}
	return nil
}

// row is one line of an inputs table.
type row struct {
	path, typ, desc, constraints string
	required                     bool
}

// walk lists the properties of s, then the properties of nested objects
// (a.b) and of objects in arrays (a[].b). Nested "required" means required
// whenever the parent is given.
func walk(rows *[]row, prefix string, s *schema, tool string) {
	for _, p := range s.Properties {
		path := prefix + p.Name
		*rows = append(*rows, row{
			path:        path,
			typ:         p.Schema.typeName(),
			desc:        p.Schema.Description,
			constraints: p.Schema.constraints(tool),
			required:    slices.Contains(s.Required, p.Name),
		})
		switch {
		case len(p.Schema.Properties) > 0:
			walk(rows, path+".", p.Schema, tool)
		case p.Schema.Items != nil && len(p.Schema.Items.Properties) > 0:
			walk(rows, path+"[].", p.Schema.Items, tool)
		}
	}
}

// schema is the part of JSON Schema the reference shows.
type schema struct {
	Type             json.RawMessage `json:"type"`
	Description      string          `json:"description"`
	Properties       properties      `json:"properties"`
	Required         []string        `json:"required"`
	Items            *schema         `json:"items"`
	Enum             []any           `json:"enum"`
	Const            json.RawMessage `json:"const"`
	Default          json.RawMessage `json:"default"`
	MinLength        *int64          `json:"minLength"`
	MaxLength        *int64          `json:"maxLength"`
	Minimum          *json.Number    `json:"minimum"`
	Maximum          *json.Number    `json:"maximum"`
	ExclusiveMinimum *json.Number    `json:"exclusiveMinimum"`
	ExclusiveMaximum *json.Number    `json:"exclusiveMaximum"`
	MinItems         *int64          `json:"minItems"`
	MaxItems         *int64          `json:"maxItems"`
	UniqueItems      bool            `json:"uniqueItems"`
	Pattern          string          `json:"pattern"`
	Format           string          `json:"format"`
	AnyOf            []*schema       `json:"anyOf"`
	OneOf            []*schema       `json:"oneOf"`
}

type property struct {
	Name   string
	Schema *schema
}

// properties keeps the declaration order of "properties".
type properties []property

func (p *properties) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return errors.New("properties must be an object")
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		s := new(schema)
		if err := dec.Decode(s); err != nil {
			return err
		}
		*p = append(*p, property{Name: k.(string), Schema: s})
	}
	return nil
}

func (s *schema) types() []string {
	if len(s.Type) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(s.Type, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(s.Type, &many)
	return many
}

func (s *schema) typeName() string {
	ts := s.types()
	if len(ts) == 0 {
		var alts []string
		for _, a := range append(append([]*schema{}, s.AnyOf...), s.OneOf...) {
			if n := a.typeName(); n != "any" && !slices.Contains(alts, n) {
				alts = append(alts, n)
			}
		}
		if len(alts) > 0 {
			return strings.Join(alts, " or ")
		}
		if len(s.Properties) > 0 {
			return "object"
		}
		if len(s.Enum) > 0 {
			return "enum"
		}
		return "any"
	}
	for i, t := range ts {
		if t == "array" {
			item := "any"
			if s.Items != nil {
				item = s.Items.typeName()
			}
			if strings.Contains(item, " ") {
				item = "(" + item + ")"
			}
			ts[i] = item + "[]"
		}
	}
	return strings.Join(ts, " or ")
}

func (s *schema) constraints(tool string) string {
	var c []string
	if len(s.Enum) > 0 {
		vals := make([]string, 0, len(s.Enum))
		for _, v := range s.Enum {
			vals = append(vals, code(v))
		}
		if len(vals) <= maxEnum {
			c = append(c, "one of "+strings.Join(vals, ", "))
		} else {
			c = append(c, fmt.Sprintf("one of %d values such as %s (all in [`schemas/%s.json`](schemas/%s.json))", len(vals), strings.Join(vals[:6], ", "), tool, tool))
		}
	}
	if len(s.Const) > 0 {
		c = append(c, "always "+"`"+string(s.Const)+"`")
	}
	if r := rangeText(int64Text(s.MinLength), int64Text(s.MaxLength), "characters"); r != "" {
		c = append(c, r)
	}
	if r := rangeText(numText(s.Minimum), numText(s.Maximum), ""); r != "" {
		c = append(c, r)
	}
	if s.ExclusiveMinimum != nil {
		c = append(c, "> "+s.ExclusiveMinimum.String())
	}
	if s.ExclusiveMaximum != nil {
		c = append(c, "< "+s.ExclusiveMaximum.String())
	}
	if r := rangeText(int64Text(s.MinItems), int64Text(s.MaxItems), "items"); r != "" {
		c = append(c, r)
	}
	if s.UniqueItems {
		c = append(c, "unique items")
	}
	if s.Format != "" {
		c = append(c, "format `"+s.Format+"`")
	}
	if s.Pattern != "" {
		c = append(c, "pattern `"+s.Pattern+"`")
	}
	if len(s.Default) > 0 {
		c = append(c, "default `"+string(s.Default)+"`")
	}
	return strings.Join(c, "; ")
}

func rangeText(lo, hi, unit string) string {
	suffix := ""
	if unit != "" {
		suffix = " " + unit
	}
	switch {
	case lo != "" && hi != "":
		if lo == hi {
			return "exactly " + lo + suffix
		}
		return lo + " to " + hi + suffix
	case lo != "":
		return "at least " + lo + suffix
	case hi != "":
		return "at most " + hi + suffix
	}
	return ""
}

func int64Text(p *int64) string {
	if p == nil {
		return ""
	}
	return fmt.Sprint(*p)
}

func numText(p *json.Number) string {
	if p == nil {
		return ""
	}
	return p.String()
}

func code(v any) string {
	if s, ok := v.(string); ok {
		return "`" + s + "`"
	}
	b, _ := json.Marshal(v)
	return "`" + string(b) + "`"
}

// text makes free text safe in Markdown: "<digits>" would otherwise be
// taken for an HTML tag and disappear.
func text(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "<", "&lt;")
	s = strings.ReplaceAll(s, ">", "&gt;")
	return s
}

// cell makes text safe inside a Markdown table cell. Code spans (`…`)
// are left alone: inside them "<" is literal.
func cell(s string) string {
	parts := strings.Split(s, "`")
	for i := range parts {
		if i%2 == 0 {
			parts[i] = strings.ReplaceAll(strings.ReplaceAll(parts[i], "<", "&lt;"), ">", "&gt;")
		}
	}
	s = strings.TrimSpace(strings.Join(parts, "`"))
	s = strings.ReplaceAll(s, "\r\n", " ")
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return s
}

// anchor is GitHub's heading anchor of a "#### NAME" heading.
func anchor(name string) string { return strings.ToLower(name) }

// Splice returns doc with the region between m's markers replaced by
// region. It fails unless each marker is there exactly once, Begin first.
func Splice(doc, region []byte, m Markers) ([]byte, error) {
	begin := bytes.Index(doc, []byte(m.Begin))
	end := bytes.Index(doc, []byte(m.End))
	switch {
	case begin < 0 || end < 0:
		return nil, fmt.Errorf("docgen: the document has no %s … %s markers", m.Begin, m.End)
	case bytes.Count(doc, []byte(m.Begin)) > 1 || bytes.Count(doc, []byte(m.End)) > 1:
		return nil, fmt.Errorf("docgen: the document has the %s markers more than once", m.Begin)
	case end < begin:
		return nil, fmt.Errorf("docgen: the document has %s before %s", m.End, m.Begin)
	}
	var out bytes.Buffer
	out.Write(doc[:begin+len(m.Begin)])
	out.WriteString("\n")
	out.Write(bytes.TrimSpace(region))
	out.WriteString("\n")
	out.Write(doc[end:])
	return out.Bytes(), nil
}

// Region returns what is between m's markers in doc, for tests.
func Region(doc []byte, m Markers) ([]byte, error) {
	begin := bytes.Index(doc, []byte(m.Begin))
	end := bytes.Index(doc, []byte(m.End))
	if begin < 0 || end < begin {
		return nil, fmt.Errorf("docgen: the document has no %s … %s markers", m.Begin, m.End)
	}
	return doc[begin+len(m.Begin) : end], nil
}
