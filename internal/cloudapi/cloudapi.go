// Package cloudapi holds facts and shapes of Meta's WhatsApp Cloud API that
// several packages share (the graph client, the tools' validation, the
// sandbox emulator), so each is written once. It imports nothing of the
// project.
package cloudapi

import "strings"

// Paging is the Graph API paging block of a list answer.
type Paging struct {
	Cursors  *Cursors `json:"cursors,omitempty"`
	Next     string   `json:"next,omitempty"`
	Previous string   `json:"previous,omitempty"`
}

// Cursors are the before/after cursors of a page.
type Cursors struct {
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// LanguageCodeList is Meta's list of template language codes
// (docs/cloud-api.md#template-language-codes; Meta's list updated
// 2025-11-04, mirrored 2026-05-21), space separated, in Meta's order. Codes
// are case-sensitive and use '_'.
const LanguageCodeList = `af sq ar ar_EG ar_AE ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca zh_CN zh_HK zh_TW hr cs da prs_AF nl nl_BE
en en_GB en_US en_AE en_AU en_CA en_GH en_IE en_IN en_JM en_MY en_NZ en_QA en_SG en_UG en_ZA et fil fi
fr fr_BE fr_CA fr_CH fr_CI fr_MA ka de de_AT de_CH el gu ha he hi hu id ga it ja kn kk rw_RW ko ky_KG lo lv
lt mk ms ml mr nb ps_AF fa pl pt_BR pt_PT pa ro ru sr si_LK sk sl es es_AR es_CL es_CO es_CR es_DO es_EC
es_HN es_MX es_PA es_PE es_ES es_UY sw sv ta te th tr uk ur uz vi zu`

// LanguageCodes is the set of LanguageCodeList. Read it, never write it.
var LanguageCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(LanguageCodeList) {
		m[c] = true
	}
	return m
}()

// LanguageCodePattern is the shape of every code of LanguageCodeList: a
// two- or three-letter language, then an optional '_' and upper-case
// region. Schemas say it instead of the 111 codes (each would cost about
// 900 bytes of every tools/list); IsLanguageCode is the judge.
const LanguageCodePattern = `^[a-z]{2,3}(_[A-Z]{2})?$`

// IsLanguageCode reports whether code is one of Meta's template language
// codes (exactly: "en_US", not "en-US" or "en_us").
func IsLanguageCode(code string) bool { return LanguageCodes[code] }
