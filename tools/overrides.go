package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Override replaces a tool's title and/or description, so a team can tune
// what its model reads without rebuilding. An empty field keeps the
// declared text.
type Override struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// Environment variables that override one tool's text:
//
//	WHATSAPP_MCP_TOOL_<NAME>_TITLE
//	WHATSAPP_MCP_TOOL_<NAME>_DESCRIPTION
//
// where NAME is the tool name, e.g. WHATSAPP_MCP_TOOL_WHATSAPP_SEND_MESSAGE_DESCRIPTION.
const (
	OverrideEnvPrefix      = "WHATSAPP_MCP_TOOL_"
	OverrideEnvTitle       = "_TITLE"
	OverrideEnvDescription = "_DESCRIPTION"
)

// LoadOverrides reads the overrides file at path (when path is not empty)
// and the WHATSAPP_MCP_TOOL_<NAME>_{TITLE,DESCRIPTION} variables of environ
// (os.Environ() form), the environment winning over the file field by field.
//
// The file is the format ExportDescriptions writes:
//
//	{"WHATSAPP_SEND_MESSAGE": {"title": "…", "description": "…"}}
//
// Unknown keys in an entry, and variables with the prefix but neither
// suffix, are errors: a typo must not silently leave the old text in place.
// Empty variables are ignored. Tool names are not checked here (the catalog
// is not known yet): ApplyOverrides does it.
func LoadOverrides(path string, environ []string) (map[string]Override, error) {
	out := map[string]Override{}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("tool descriptions: %w", err)
		}
		file, err := parseOverrides(b)
		if err != nil {
			return nil, fmt.Errorf("tool descriptions: %s: %w", path, err)
		}
		for name, o := range file {
			out[strings.ToUpper(strings.TrimSpace(name))] = o
		}
	}
	var errs []string
	for _, kv := range environ {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(key, OverrideEnvPrefix) {
			continue
		}
		if strings.TrimSpace(val) == "" {
			continue
		}
		rest := strings.TrimPrefix(key, OverrideEnvPrefix)
		var name string
		var title bool
		switch {
		case strings.HasSuffix(rest, OverrideEnvDescription):
			name = strings.TrimSuffix(rest, OverrideEnvDescription)
		case strings.HasSuffix(rest, OverrideEnvTitle):
			name, title = strings.TrimSuffix(rest, OverrideEnvTitle), true
		default:
			errs = append(errs, fmt.Sprintf("%s: must end in %s or %s (%s<TOOL_NAME>%s)", key, OverrideEnvTitle, OverrideEnvDescription, OverrideEnvPrefix, OverrideEnvDescription))
			continue
		}
		if name == "" {
			errs = append(errs, fmt.Sprintf("%s: names no tool (%s<TOOL_NAME>%s)", key, OverrideEnvPrefix, OverrideEnvDescription))
			continue
		}
		name = strings.ToUpper(name)
		o := out[name]
		if title {
			o.Title = val
		} else {
			o.Description = val
		}
		out[name] = o
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("tool descriptions: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// parseOverrides decodes the overrides file strictly.
func parseOverrides(b []byte) (map[string]Override, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf(`must be a JSON object {"TOOL_NAME": {"title": "…", "description": "…"}}: %w`, err)
	}
	out := make(map[string]Override, len(raw))
	var errs []string
	for name, v := range raw {
		var o Override
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			errs = append(errs, fmt.Sprintf("%s: must be an object with only title and description: %v", name, err))
			continue
		}
		out[name] = o
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return out, nil
}

// ApplyOverrides returns a copy of catalog with the overrides applied (the
// catalog itself is left alone). Names match case-insensitively; a name
// that is not in the catalog, or a text that is only blanks, is an error
// listing the valid names.
func ApplyOverrides(catalog []Tool, o map[string]Override) ([]Tool, error) {
	out := append([]Tool(nil), catalog...)
	if len(o) == 0 {
		return out, nil
	}
	index := make(map[string]int, len(out))
	for i, t := range out {
		index[strings.ToUpper(t.Name)] = i
	}
	var unknown, blank []string
	names := make([]string, 0, len(o))
	for name := range o {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ov := o[name]
		i, ok := index[strings.ToUpper(strings.TrimSpace(name))]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		if ov.Title != "" {
			if strings.TrimSpace(ov.Title) == "" {
				blank = append(blank, name+" title")
			} else {
				out[i].Title = strings.TrimSpace(ov.Title)
			}
		}
		if ov.Description != "" {
			if strings.TrimSpace(ov.Description) == "" {
				blank = append(blank, name+" description")
			} else {
				out[i].Description = strings.TrimSpace(ov.Description)
			}
		}
	}
	var errs []string
	if len(unknown) > 0 {
		valid := make([]string, len(catalog))
		for i, t := range catalog {
			valid[i] = t.Name
		}
		sort.Strings(valid)
		errs = append(errs, fmt.Sprintf("unknown tool %s (valid: %s)", strings.Join(quoteAll(unknown), ", "), strings.Join(valid, ", ")))
	}
	if len(blank) > 0 {
		errs = append(errs, "blank override for "+strings.Join(blank, ", "))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("tool descriptions: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// ExportDescriptions writes every tool's current title and description in
// the overrides file format, in catalog order, 2-space indented with a
// trailing newline: edit it and pass it back to LoadOverrides.
func ExportDescriptions(catalog []Tool) []byte {
	var b bytes.Buffer
	b.WriteString("{")
	for i, t := range catalog {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  ")
		b.Write(jsonString(t.Name))
		b.WriteString(": {\n    \"title\": ")
		b.Write(jsonString(t.Title))
		b.WriteString(",\n    \"description\": ")
		b.Write(jsonString(t.Description))
		b.WriteString("\n  }")
	}
	if len(catalog) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// jsonString encodes s without HTML escaping (descriptions say "<digits>").
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
