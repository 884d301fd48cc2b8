package cloudapi

import (
	"testing"
	"unicode"

	"github.com/rivo/uniseg"
)

func TestIsEmoji(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"👍", true},
		{"👍🏽", true},         // skin tone
		{"👍🏿", true},         // the darkest one
		{"👨‍👩‍👧", true},      // ZWJ family
		{"👨‍👩‍👧‍👦", true},    // four people
		{"👩🏻‍❤️‍💋‍👨🏼", true}, // the longest kind: tones, VS16, three ZWJ
		{"🧑‍🦰", true},        // hair component (ZWJ to a pictograph)
		{"🏳️‍🌈", true},       // VS16 then ZWJ
		{"❤️‍🔥", true},
		{"🇵🇹", true}, // flag: two regional indicators
		{"🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", true}, // Scotland: tag sequence
		{"1️⃣", true},     // keycap
		{"#\u20E3", true}, // keycap without VS16
		{"❤", true},       // text-default pictograph alone
		{"❤️", true},      // with VS16
		{"©️", true},
		{"😀", true},
		{"\U0001FAE8", true}, // a Unicode 15 emoji (shaking face)
		{"\U0001FAFA", true}, // reserved for future emoji: still a pictograph
		{"ok", false},        // text
		{"o", false},
		{"👍👍", false}, // two emoji
		{"👍 ", false}, // trailing space
		{" 👍", false},
		{"🇵", false},    // a lone regional indicator
		{"🇵🇹🇧🇷", false}, // two flags
		{"1", false},    // a digit is no keycap
		{"1\uFE0F", false},
		{"🏽", false},        // a lone skin tone
		{"👍\u0301", false},  // a combining accent is no emoji part
		{"👍\u200D", false},  // dangling ZWJ
		{"👨\u200Da", false}, // ZWJ to a letter (uniseg splits it anyway)
		{"\u200D", false},
		{"\uFE0F", false},
		{"é", false},
		{"中", false}, // wide, but no emoji
		{"\x00", false},
		{"", false}, // the empty emoji is the tool's, not an emoji
	}
	for _, tt := range tests {
		if got := IsEmoji(tt.s); got != tt.want {
			t.Errorf("IsEmoji(%+q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

// TestExtendedPictographicTable pins the table to uniseg's own data: by
// Unicode's rule GB11 a pictograph, ZWJ and a pictograph make one grapheme
// cluster, and anything else (that is not a control) before the ZWJ two.
// Extended_Pictographic lives in the first two planes.
func TestExtendedPictographicTable(t *testing.T) {
	const after = "\u200D😀"
	for c := rune(0x20); c <= 0x1FFFF; c++ {
		if c >= 0xD800 && c <= 0xDFFF || unicode.IsControl(c) {
			continue
		}
		joins := uniseg.GraphemeClusterCount(string(c)+after) == 1
		if mine := unicode.Is(extendedPictographic, c); mine != joins {
			t.Errorf("U+%04X: in the table %v, Extended_Pictographic for uniseg %v", c, mine, joins)
		}
	}
}
