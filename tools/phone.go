package tools

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"

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
	if s == "" || isE164Shape(s) {
		return s // "+<digits>" already (what Normalize left): no copy
	}
	var digits strings.Builder
	digits.Grow(len(s))
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
	if d == "" {
		return s // no digits ("()", "00"): not a number, named as written
	}
	return "+" + d
}

// isE164Shape reports s is "+" and one digit or more (^\+[0-9]+$): a
// plausible number, and NormalizePhone's result for it is s.
func isE164Shape(s string) bool {
	if len(s) < 2 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DefaultPhoneRegion is the region of the zero PhonePolicy.
const DefaultPhoneRegion = "US"

// PhonePolicy is how a recipient's number is read
// (docs/cloud-api.md#recipient-phone-numbers). Its digits always include the
// country code; Region only names the country whose national numbers are
// recognised when the digits are no valid number as written. The zero value
// is the default: US, national numbers refused.
type PhonePolicy struct {
	// Region is an ISO 3166-1 region code (US, GB, IN …); empty means
	// DefaultPhoneRegion.
	Region string
	// ConvertNational sends a recognised national number of Region in its
	// E.164 form, with a warning, instead of refusing it.
	ConvertNational bool
}

// PhoneRegion reports whether region is an upper-case region code the phone
// number metadata knows (US, GB, IN …).
func PhoneRegion(region string) bool { return phonenumbers.GetSupportedRegions()[region] }

// PhoneCheck is the verdict of a PhonePolicy on one number.
type PhoneCheck struct {
	// Number is what to send: +<digits>.
	Number string
	// Rule, when set, is why the number is refused, worded for a field
	// error ("`to_number` <Rule>").
	Rule string
	// Warning, when set, is advice to return with a number that is sent:
	// it was converted, or the metadata does not know it as valid. It
	// starts with the number.
	Warning string
}

const (
	phoneExample = "e.g. +16505551234"
	readWithCode = "digits are read as starting with the country code"
)

// Check reads s (NormalizePhone's spellings) with the policy:
//   - a valid number is sent in its E.164 form;
//   - a number that is not valid as written but is a valid national number of
//     the region is refused with the E.164 form it probably meant, or sent
//     in that form with a warning when ConvertNational;
//   - otherwise a number impossible for its country code (no such code,
//     wrong length) is refused, and a possible one (a range newer than the
//     metadata, a fictional 555 number) is sent as given with a warning.
//
// The verdict depends on p and s alone (the metadata is built in), so it is
// remembered: a server sends to the same numbers again and again, and a
// reading costs about 10 µs of regular expressions (phoneVerdicts).
func (p PhonePolicy) Check(s string) PhoneCheck {
	if len(s) > maxRememberedPhone {
		return p.check(s)
	}
	k := phoneKey{policy: p, s: s}
	if c, ok := phoneVerdicts.get(k); ok {
		return c
	}
	c := p.check(s)
	phoneVerdicts.put(k, c)
	return c
}

// maxRememberedPhone bounds the inputs phoneVerdicts keeps: a phone number
// is at most 15 digits, and a long input is refused anyway.
const maxRememberedPhone = 64

type phoneKey struct {
	policy PhonePolicy
	s      string
}

// phoneVerdicts remembers the verdicts of recent numbers, in two
// generations of at most phoneGeneration each: when the young one is full it
// becomes the old one, and the numbers still in use move back on their next
// lookup. Memory stays bounded (about 2 × 4096 short entries), whatever the
// callers send.
var phoneVerdicts = &verdictCache{young: map[phoneKey]PhoneCheck{}}

const phoneGeneration = 4096

type verdictCache struct {
	mu         sync.Mutex
	young, old map[phoneKey]PhoneCheck
}

func (v *verdictCache) get(k phoneKey) (PhoneCheck, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.young[k]; ok {
		return c, true
	}
	c, ok := v.old[k]
	if ok {
		v.putLocked(k, c)
	}
	return c, ok
}

func (v *verdictCache) put(k phoneKey, c PhoneCheck) {
	v.mu.Lock()
	v.putLocked(k, c)
	v.mu.Unlock()
}

func (v *verdictCache) putLocked(k phoneKey, c PhoneCheck) {
	if len(v.young) >= phoneGeneration {
		v.old, v.young = v.young, make(map[phoneKey]PhoneCheck, phoneGeneration/4)
	}
	v.young[k] = c
}

// check is Check without the memory.
func (p PhonePolicy) check(s string) PhoneCheck {
	n := NormalizePhone(s)
	if !isE164Shape(n) {
		return PhoneCheck{Number: n, Rule: fmt.Sprintf("must be a phone number with its country code, %s: digits, with spaces, dashes, dots or parentheses if you like (got %s)", phoneExample, Echo(s))}
	}
	digits := n[1:]
	if len(digits) > 15 {
		return PhoneCheck{Number: n, Rule: fmt.Sprintf("has %d digits; a phone number has at most 15 digits, its country code included (got %s)", len(digits), Echo(s))}
	}
	// why says how the digits, read with their country code, fail.
	var why string
	possible := false
	num, err := phonenumbers.Parse(n, "ZZ")
	switch {
	case err == nil:
		cc := int(num.GetCountryCode())
		switch phonenumbers.IsPossibleNumberWithReason(num) {
		case phonenumbers.IS_POSSIBLE:
			if phonenumbers.IsValidNumber(num) {
				out := PhoneCheck{Number: phonenumbers.Format(num, phonenumbers.E164)}
				if out.Number != n {
					out.Warning = fmt.Sprintf("%s was sent as %s, its standard form", n, out.Number)
				}
				return out
			}
			possible = true
			why = "is not a valid number for country code " + countryLabel(cc)
		case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
			why = "is too short for country code " + countryLabel(cc)
		case phonenumbers.TOO_LONG:
			why = "is too long for country code " + countryLabel(cc)
		default:
			why = "has a length no number of country code " + countryLabel(cc) + " has"
		}
	case strings.HasPrefix(digits, "0"):
		why = "starts with 0, and no country code does"
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		why = "starts with no country code"
	default:
		why = "is too short to be a phone number"
	}
	if national, ok := p.national(digits); ok {
		if p.ConvertNational {
			return PhoneCheck{Number: national, Warning: fmt.Sprintf("%s %s, so it was read as a %s national number and sent to %s; give numbers with their country code to be sure", n, why, p.region(), national)}
		}
		return PhoneCheck{Number: n, Rule: fmt.Sprintf("%s (got %s; %s); it is a valid %s number written without its country code: if that is the number meant, send %s", why, Echo(n), readWithCode, p.region(), national)}
	}
	if !possible {
		return PhoneCheck{Number: n, Rule: fmt.Sprintf("%s (got %s; %s); give the number with its country code, %s", why, Echo(n), readWithCode, phoneExample)}
	}
	return PhoneCheck{Number: n, Warning: fmt.Sprintf("%s %s as far as this server's phone number metadata knows (a range newer than the metadata, or a fictional number such as +1 555 …); it was sent as given: if it is not delivered, check the number", n, why)}
}

func (p PhonePolicy) region() string {
	if p.Region == "" {
		return DefaultPhoneRegion
	}
	return p.Region
}

// national reads digits as a national number of the policy's region (any
// region of its country code: a US national number may be Canadian). The
// metadata knows national numbers that are too long for E.164 with their
// country code (German 0800 numbers of up to 15 digits): not one to send.
func (p PhonePolicy) national(digits string) (string, bool) {
	num, err := phonenumbers.Parse(digits, p.region())
	if err != nil || int(num.GetCountryCode()) != phonenumbers.GetCountryCodeForRegion(p.region()) || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if len(e164)-1 > 15 {
		return "", false
	}
	return e164, true
}

// countryLabel is "+65 (SG)": the code and its main region.
func countryLabel(cc int) string {
	switch r := phonenumbers.GetRegionCodeForCountryCode(cc); r {
	case "ZZ", "":
		return fmt.Sprintf("+%d", cc)
	case "001":
		return fmt.Sprintf("+%d (non-geographic)", cc)
	default:
		return fmt.Sprintf("+%d (%s)", cc, r)
	}
}

// LanguageCodes are Meta's template language codes (docs/cloud-api.md#template-language-codes, Meta's
// list updated 2025-11-04, mirrored 2026-05-21). Case-sensitive.
var LanguageCodes = cloudapi.LanguageCodes

// LanguageCodeList is the same list, space separated, for docs.
const LanguageCodeList = cloudapi.LanguageCodeList

// LanguageCode is a template language code. Validate it with the langcode
// tag, which also gives its schema the codes' shape (SchemaRules): an enum
// of the 111 codes would cost about 900 bytes of tools/list per field, and
// the tag's error names the codes of the language a model tried.
type LanguageCode string
