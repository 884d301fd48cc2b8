package tools

import (
	"strings"

	"github.com/invopop/jsonschema"
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

// LanguageCodes are Meta's template language codes (cloudapi.md §4, Meta's
// list updated 2025-11-04, mirrored 2026-05-21). Case-sensitive.
var LanguageCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(LanguageCodeList) {
		m[c] = true
	}
	return m
}()

// LanguageCodeList is the same list, space separated, for enums and docs.
const LanguageCodeList = `af sq ar ar_EG ar_AE ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca zh_CN zh_HK zh_TW hr cs da prs_AF nl nl_BE
en en_GB en_US en_AE en_AU en_CA en_GH en_IE en_IN en_JM en_MY en_NZ en_QA en_SG en_UG en_ZA et fil fi
fr fr_BE fr_CA fr_CH fr_CI fr_MA ka de de_AT de_CH el gu ha he hi hu id ga it ja kn kk rw_RW ko ky_KG lo lv
lt mk ms ml mr nb ps_AF fa pl pt_BR pt_PT pa ro ru sr si_LK sk sl es es_AR es_CL es_CO es_CR es_DO es_EC
es_HN es_MX es_PA es_PE es_ES es_UY sw sv ta te th tr uk ur uz vi zu`

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
