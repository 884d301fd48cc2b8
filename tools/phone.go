package tools

import (
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

// NormalizePhone rewrites a phone number written the usual human ways
// ("+1 (650) 555-1234", "16505551234") to "+<digits>". Meta prepends the
// sender's own country code to a number without "+", which silently
// misroutes international numbers, so we always send "+".
// Input that is not a plausible number is returned unchanged (trimmed) so the
// "phone" rule can name it in its error.
func NormalizePhone(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	var digits strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return s
		}
	}
	d := digits.String()
	if !strings.HasPrefix(s, "+") && strings.HasPrefix(d, "00") {
		// 00 is the international prefix in most of the world: 0044… is +44….
		d = d[2:]
	}
	return "+" + d
}

// LanguageCodes are Meta's template language codes (docs/cloud-api.md#template-language-codes, Meta's
// list updated 2025-11-04, mirrored 2026-05-21). Case-sensitive.
var LanguageCodes = cloudapi.LanguageCodes

// LanguageCodeList is the same list, space separated, for enums and docs.
const LanguageCodeList = cloudapi.LanguageCodeList

// LanguageCode is a template language code; its schema is an enum of
// LanguageCodeList so platforms can offer a picker.
type LanguageCode string

// JSONSchema gives invopop/jsonschema the enum.
func (LanguageCode) JSONSchema() *jsonschema.Schema {
	codes := strings.Fields(LanguageCodeList)
	enum := make([]any, len(codes))
	for i, c := range codes {
		enum[i] = c
	}
	return &jsonschema.Schema{Type: "string", Enum: enum}
}
