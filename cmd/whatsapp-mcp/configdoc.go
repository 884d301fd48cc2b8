package main

import (
	"bytes"
	"fmt"
	"strings"
)

//go:generate go test -run ^TestREADMEConfiguration$ -update-readme .

// commandNames name the bits of setting.cmds, in the README's order.
var commandNames = []struct {
	bit  int
	name string
}{
	{forStdio, "stdio"}, {forHTTP, "http"}, {forCall, "call"}, {forTools, "tools"}, {forInbound, "sandbox inbound"},
}

// configReference renders the README's configuration table from settings,
// the declaration parse and --help read, so the three cannot disagree. The
// README keeps it between docgen.ConfigMarkers; a test fails when it is
// stale, and `go generate ./...` rewrites it.
func configReference() []byte {
	var b bytes.Buffer
	b.WriteString("<!-- Generated from the settings declaration (cmd/whatsapp-mcp/config.go) by `go generate ./...`; do not edit by hand. -->\n\n")
	b.WriteString("| variable | flag | default | commands | meaning |\n|---|---|---|---|---|\n")
	for _, s := range settings {
		flag := "— (secret: environment only)"
		if s.flag != "" {
			flag = "`--" + s.flag + "`"
		}
		def := ""
		switch {
		case s.def != "":
			def = "`" + s.def + "`"
		case s.defDoc != "":
			def = s.defDoc
		case s.isBool:
			def = "`false`"
		}
		var cmds []string
		for _, c := range commandNames {
			if s.cmds&c.bit != 0 {
				cmds = append(cmds, "`"+c.name+"`")
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s. |\n", s.env, flag, mdCell(def), strings.Join(cmds, ", "), mdCell(s.usage))
	}
	return b.Bytes()
}

// mdCell makes text safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "<", "&lt;")
	return strings.ReplaceAll(s, ">", "&gt;")
}
