package tools

import (
	"regexp"
	"strings"
	"testing"
)

// TestPatternsAsCode: the validators written as code accept exactly what
// the patterns the schemas publish (SchemaRules) accept.
func TestPatternsAsCode(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		match   func(string) bool
	}{
		{templateNamePattern, isTemplateName},
		{graphIDPattern, isGraphID},
		{`^\+[0-9]+$`, isE164Shape},
	} {
		re := regexp.MustCompile(tc.pattern)
		inputs := []string{"", "a", "_", "0", "order_update", "Order", "a-b", "a b", "é", "ａ", "1", "+1", "+", "++1", "+16505551234",
			"106540352242922", "12a", " 1", "1 ", "1\n", "\x00", "\xff", "a\u0301",
			strings.Repeat("a", 511), strings.Repeat("a", 512), strings.Repeat("a", 513),
			strings.Repeat("7", 31), strings.Repeat("7", 32), strings.Repeat("7", 33), "+" + strings.Repeat("9", 40)}
		for _, in := range inputs {
			if got, want := tc.match(in), re.MatchString(in); got != want {
				t.Errorf("%s on %q: code says %v, the pattern %v", tc.pattern, in, got, want)
			}
		}
	}
}
