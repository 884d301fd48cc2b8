package cloudapi

import (
	"strings"
	"testing"
)

func TestIsBSUID(t *testing.T) {
	for s, want := range map[string]bool{
		"US.13491208655302741918":               true,
		"US.ENT.11815799212886844830":           true,
		"pt.abc123":                             true,
		"16505551234":                           false,
		"+16505551234":                          false,
		"US.":                                   false,
		"US.123.":                               false,
		"U1.123":                                false,
		"US-123":                                false,
		"US.12 34":                              false,
		"US.12\u00e934":                         false,
		"":                                      false,
		"US." + strings.Repeat("1", MaxBSUID-3): true,
		"US." + strings.Repeat("1", MaxBSUID-2): false,
	} {
		if got := IsBSUID(s); got != want {
			t.Errorf("IsBSUID(%q) = %v, want %v", s, got, want)
		}
	}
}
