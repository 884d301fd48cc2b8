package server

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// filter is the operator's selection, as github-mcp-server has it.
type filter struct {
	toolsets, tools, exclude []string
	readOnly                 bool
	// order is the documented toolset order, for messages.
	order []string
}

type selection struct {
	enabled  []tools.Tool      // catalog order
	disabled map[string]string // name -> reason, for the refusal message
	warnings []string
}

// selectTools applies the filter to the catalog:
//
//   - toolsets default to all ("all" is accepted); with no toolsets but some
//     tools, only those tools;
//   - tools add individual tools on top of the toolsets;
//   - exclude removes tools;
//   - read-only keeps only read-only tools and wins over everything.
//
// Names match case-insensitively (they often come from env variables) and
// blanks are ignored ("a,,b"). Any unknown name is an error listing the valid
// ones, so a typo stops start-up instead of silently serving another set.
func selectTools(catalog []tools.Tool, f filter) (selection, error) {
	byName := map[string]tools.Tool{}
	setNames := map[string]string{} // lower -> canonical
	for _, t := range catalog {
		byName[strings.ToLower(t.Name)] = t
		if t.Toolset != "" {
			setNames[strings.ToLower(t.Toolset)] = t.Toolset
		}
	}

	var errs []string
	toolsets := map[string]bool{}
	allSets := false
	for _, n := range clean(f.toolsets) {
		if strings.EqualFold(n, "all") {
			allSets = true
			continue
		}
		canon, ok := setNames[strings.ToLower(n)]
		if !ok {
			errs = append(errs, fmt.Sprintf("unknown toolset %q (valid: all, %s)", n, strings.Join(sortedValues(setNames, f.order), ", ")))
			continue
		}
		toolsets[canon] = true
	}
	resolve := func(names []string, what string) map[string]bool {
		out := map[string]bool{}
		for _, n := range clean(names) {
			t, ok := byName[strings.ToLower(n)]
			if !ok {
				errs = append(errs, fmt.Sprintf("unknown tool %q in %s (valid: %s)", n, what, strings.Join(catalogNames(catalog), ", ")))
				continue
			}
			out[t.Name] = true
		}
		return out
	}
	extra := resolve(f.tools, "--tools")
	exclude := resolve(f.exclude, "--exclude-tools")
	if len(errs) > 0 {
		return selection{}, fmt.Errorf("server: %s", strings.Join(errs, "; "))
	}

	// No toolset named: all of them, unless individual tools were asked for.
	if len(clean(f.toolsets)) == 0 && len(extra) == 0 {
		allSets = true
	}
	enabledSets := "none"
	if !allSets && len(toolsets) > 0 {
		enabledSets = strings.Join(sortedKeys(toolsets, f.order), ", ")
	}

	sel := selection{disabled: map[string]string{}}
	for _, t := range catalog {
		switch {
		case f.readOnly && !t.Annotations.ReadOnly:
			sel.disabled[t.Name] = "the server runs read-only (--read-only / WHATSAPP_READ_ONLY) and this tool is not read-only"
			if extra[t.Name] {
				sel.warnings = append(sel.warnings, fmt.Sprintf("--tools names %s, but read-only mode disables it", t.Name))
			}
		case exclude[t.Name]:
			sel.disabled[t.Name] = "it is excluded by --exclude-tools / WHATSAPP_EXCLUDE_TOOLS"
		case allSets || toolsets[t.Toolset] || extra[t.Name]:
			sel.enabled = append(sel.enabled, t)
		case len(clean(f.toolsets)) == 0:
			sel.disabled[t.Name] = "only the tools named by --tools / WHATSAPP_TOOLS are enabled"
		default:
			sel.disabled[t.Name] = fmt.Sprintf("its toolset %q is not enabled (--toolsets / WHATSAPP_TOOLSETS enables: %s)", t.Toolset, enabledSets)
		}
	}
	return sel, nil
}

// clean trims names and drops blanks.
func clean(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func catalogNames(catalog []tools.Tool) []string {
	names := make([]string, len(catalog))
	for i, t := range catalog {
		names[i] = t.Name
	}
	sort.Strings(names)
	return names
}

func sortedValues(m map[string]string, order []string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sortToolsets(out, order)
	return out
}

func sortedKeys(m map[string]bool, order []string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortToolsets(out, order)
	return out
}

// sortToolsets keeps the documented toolset order first, then any others
// alphabetically.
func sortToolsets(names, order []string) {
	rank := func(n string) int {
		if i := slices.Index(order, n); i >= 0 {
			return i
		}
		return len(order)
	}
	sort.SliceStable(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		return ri < rj || (ri == rj && names[i] < names[j])
	})
}

// toolsetOrder is the names of docs, in order.
func toolsetOrder(docs []tools.Toolset) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.Name
	}
	return out
}

// toolsetsOf lists the toolsets used by catalog, described: the documented
// ones first, in their order, then any other alphabetically.
func toolsetsOf(catalog []tools.Tool, docs []tools.Toolset) []tools.Toolset {
	used := map[string]bool{}
	var names []string
	for _, t := range catalog {
		if !used[t.Toolset] {
			used[t.Toolset] = true
			names = append(names, t.Toolset)
		}
	}
	sortToolsets(names, toolsetOrder(docs))
	out := make([]tools.Toolset, len(names))
	for i, n := range names {
		out[i] = tools.Toolset{Name: n}
		for _, d := range docs {
			if d.Name == n {
				out[i] = d
			}
		}
	}
	return out
}
