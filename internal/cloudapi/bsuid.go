package cloudapi

// MaxBSUID bounds a business-scoped user id: a country code, a dot and up to
// 128 letters and digits (docs/cloud-api.md#bsuid), with room for a parent
// id's extra part.
const MaxBSUID = 160

// IsBSUID reports whether s has the shape of a business-scoped user id:
// two letters (the country), a dot, then letters, digits and dots, not
// ending in a dot (US.13491208655302741918, US.ENT.11815799212886844830).
// A wa_id is digits only, so the two never overlap.
func IsBSUID(s string) bool {
	if len(s) < 4 || len(s) > MaxBSUID || !isLetter(s[0]) || !isLetter(s[1]) || s[2] != '.' {
		return false
	}
	for i := 3; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !(c >= '0' && c <= '9') && c != '.' {
			return false
		}
	}
	return s[len(s)-1] != '.'
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
