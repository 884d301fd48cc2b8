package server

import (
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// instructions tells the model how the enabled tools fit together: the
// catalog's opening text, then each distinct hint of the enabled tools, in
// catalog order. A hint that names a tool of the catalog that is not
// enabled is left out, so a filtered server never points the model at a
// tool it cannot call.
func instructions(opening string, catalog []tools.Tool, enabled map[string]tools.Tool) string {
	var off []string
	for _, t := range catalog {
		if _, on := enabled[t.Name]; !on {
			off = append(off, t.Name)
		}
	}
	var b strings.Builder
	b.WriteString(opening)
	seen := map[string]bool{}
	for _, t := range catalog {
		if _, on := enabled[t.Name]; !on {
			continue
		}
		for _, h := range t.Hints {
			if h == "" || seen[h] || namesAny(h, off) {
				continue
			}
			seen[h] = true
			if b.Len() > 0 {
				b.WriteString("\n\n")
			}
			b.WriteString(h)
		}
	}
	return b.String()
}

// namesAny reports whether text names one of the tools as a whole word
// (WHATSAPP_SEND_MEDIA is not named by WHATSAPP_SEND_MEDIA_BY_ID).
func namesAny(text string, names []string) bool {
	for _, n := range names {
		for i := 0; ; {
			j := strings.Index(text[i:], n)
			if j < 0 {
				break
			}
			at, end := i+j, i+j+len(n)
			if (at == 0 || !nameByte(text[at-1])) && (end == len(text) || !nameByte(text[end])) {
				return true
			}
			i = end
		}
	}
	return false
}

func nameByte(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}
