package conversations_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
)

// TestPreview: one line of at most 80 runes, cut between characters as a
// reader sees them, with an ellipsis when cut.
func TestPreview(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"Hello", "Hello"},
		{"  two\nlines,\t tabbed  ", "two lines, tabbed"},
		{a(80), a(80)},
		{strings.Repeat("é", 80), strings.Repeat("é", 80)},
		{a(81), a(79) + "…"},
		{a(200), a(79) + "…"},
		// 👍🏽 is two runes, one character: it is not split.
		{a(78) + "👍🏽bbbb", a(78) + "…"},
		{a(77) + "👍🏽bbbb", a(77) + "👍🏽…"},
		{a(70) + "         word " + a(20), a(70) + " word " + a(3) + "…"},
		{a(78) + " bbbbbb", a(78) + "…"}, // no space before the ellipsis
	} {
		got := conversations.Preview(c.in)
		if got != c.want {
			t.Errorf("Preview(%q) = %q, want %q", c.in, got, c.want)
		}
		if n := utf8.RuneCountInString(got); n > 80 {
			t.Errorf("Preview(%q) has %d runes", c.in, n)
		}
	}
}
