package cloudapi

import (
	"unicode"

	"github.com/rivo/uniseg"
)

// IsEmoji reports whether s is exactly one emoji, as a reaction must be
// (docs/cloud-api.md#reactions): one grapheme cluster (uniseg splits them
// by Unicode's rules, so "👍👍" is two and "👨‍👩‍👧" one) that is
//   - a flag: two regional indicators (🇵🇹),
//   - a keycap: 0-9, # or *, an optional U+FE0F, then U+20E3 (1️⃣),
//   - or a pictograph (Extended_Pictographic) followed only by what emoji
//     sequences are built of: variation selectors, skin-tone modifiers
//     (👍🏽), tags (the subdivision flags, 🏴󠁧󠁢󠁳󠁣󠁴󠁿), and pictographs joined by
//     U+200D (ZWJ sequences).
//
// Go's unicode package has no emoji properties and uniseg keeps its own
// unexported, hence the table below.
func IsEmoji(s string) bool {
	cluster, rest, _, _ := uniseg.FirstGraphemeClusterInString(s, -1)
	if cluster == "" || rest != "" {
		return false
	}
	r := []rune(cluster)
	switch {
	case len(r) == 2 && regionalIndicator(r[0]) && regionalIndicator(r[1]):
		return true
	case keycap(r):
		return true
	case !unicode.Is(extendedPictographic, r[0]):
		return false
	}
	for i := 1; i < len(r); i++ {
		switch c := r[i]; {
		case c == variationText || c == variationEmoji || c == zwj:
		case c >= 0x1F3FB && c <= 0x1F3FF: // skin-tone modifiers
		case c >= 0xE0020 && c <= 0xE007F: // tags
		case r[i-1] == zwj && unicode.Is(extendedPictographic, c):
		default:
			return false
		}
	}
	return r[len(r)-1] != zwj
}

const (
	zwj            = 0x200D
	variationText  = 0xFE0E
	variationEmoji = 0xFE0F
	keycapMark     = 0x20E3
)

func regionalIndicator(c rune) bool { return c >= 0x1F1E6 && c <= 0x1F1FF }

func keycap(r []rune) bool {
	if len(r) < 2 || len(r) > 3 || !(r[0] >= '0' && r[0] <= '9' || r[0] == '#' || r[0] == '*') {
		return false
	}
	return r[len(r)-1] == keycapMark && (len(r) == 2 || r[1] == variationEmoji)
}

// extendedPictographic is Unicode 15.0's Extended_Pictographic property
// (emoji-data.txt; the data uniseg v0.4.7 is built from), adjacent ranges
// merged. It includes the code points reserved for future emoji, so an
// emoji newer than the table still passes.
var extendedPictographic = &unicode.RangeTable{
	LatinOffset: 2,
	R16: []unicode.Range16{
		{0x00A9, 0x00A9, 1}, {0x00AE, 0x00AE, 1}, {0x203C, 0x203C, 1}, {0x2049, 0x2049, 1},
		{0x2122, 0x2122, 1}, {0x2139, 0x2139, 1}, {0x2194, 0x2199, 1}, {0x21A9, 0x21AA, 1},
		{0x231A, 0x231B, 1}, {0x2328, 0x2328, 1}, {0x2388, 0x2388, 1}, {0x23CF, 0x23CF, 1},
		{0x23E9, 0x23F3, 1}, {0x23F8, 0x23FA, 1}, {0x24C2, 0x24C2, 1}, {0x25AA, 0x25AB, 1},
		{0x25B6, 0x25B6, 1}, {0x25C0, 0x25C0, 1}, {0x25FB, 0x25FE, 1}, {0x2600, 0x2605, 1},
		{0x2607, 0x2612, 1}, {0x2614, 0x2685, 1}, {0x2690, 0x2705, 1}, {0x2708, 0x2712, 1},
		{0x2714, 0x2714, 1}, {0x2716, 0x2716, 1}, {0x271D, 0x271D, 1}, {0x2721, 0x2721, 1},
		{0x2728, 0x2728, 1}, {0x2733, 0x2734, 1}, {0x2744, 0x2744, 1}, {0x2747, 0x2747, 1},
		{0x274C, 0x274C, 1}, {0x274E, 0x274E, 1}, {0x2753, 0x2755, 1}, {0x2757, 0x2757, 1},
		{0x2763, 0x2767, 1}, {0x2795, 0x2797, 1}, {0x27A1, 0x27A1, 1}, {0x27B0, 0x27B0, 1},
		{0x27BF, 0x27BF, 1}, {0x2934, 0x2935, 1}, {0x2B05, 0x2B07, 1}, {0x2B1B, 0x2B1C, 1},
		{0x2B50, 0x2B50, 1}, {0x2B55, 0x2B55, 1}, {0x3030, 0x3030, 1}, {0x303D, 0x303D, 1},
		{0x3297, 0x3297, 1}, {0x3299, 0x3299, 1},
	},
	R32: []unicode.Range32{
		{0x1F000, 0x1F0FF, 1}, {0x1F10D, 0x1F10F, 1}, {0x1F12F, 0x1F12F, 1}, {0x1F16C, 0x1F171, 1},
		{0x1F17E, 0x1F17F, 1}, {0x1F18E, 0x1F18E, 1}, {0x1F191, 0x1F19A, 1}, {0x1F1AD, 0x1F1E5, 1},
		{0x1F201, 0x1F20F, 1}, {0x1F21A, 0x1F21A, 1}, {0x1F22F, 0x1F22F, 1}, {0x1F232, 0x1F23A, 1},
		{0x1F23C, 0x1F23F, 1}, {0x1F249, 0x1F3FA, 1}, {0x1F400, 0x1F53D, 1}, {0x1F546, 0x1F64F, 1},
		{0x1F680, 0x1F6FF, 1}, {0x1F774, 0x1F77F, 1}, {0x1F7D5, 0x1F7FF, 1}, {0x1F80C, 0x1F80F, 1},
		{0x1F848, 0x1F84F, 1}, {0x1F85A, 0x1F85F, 1}, {0x1F888, 0x1F88F, 1}, {0x1F8AE, 0x1F8FF, 1},
		{0x1F90C, 0x1F93A, 1}, {0x1F93C, 0x1F945, 1}, {0x1F947, 0x1FAFF, 1}, {0x1FC00, 0x1FFFD, 1},
	},
}
