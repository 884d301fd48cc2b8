package sandbox

import (
	"encoding/json"
	"testing"
)

func TestMetaJSON(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{"a/b", `"a\/b"`},
		{"<b>&", `"<b>&"`},
		{"Zoë", `"Zo\u00eb"`},
		{"ĀÉ", `"\u0100\u00c9"`},
		{"🎉", `"\ud83c\udf89"`},
		{"line\u2028sep", `"line\u2028sep"`},
		{"tab\tquote\"back\\slash/", `"tab\tquote\"back\\slash\/"`},
		{"\x01", `"\u0001"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{object{{"b", "x/y"}, {"a", 1}, {"skip", nil}, {"c", object{{"d", "é"}}}}, `{"b":"x\/y","a":1,"c":{"d":"\u00e9"}}`},
		{map[string]any{"k": []string{"https://x"}}, `{"k":["https:\/\/x"]}`},
	}
	for _, tc := range cases {
		got, err := metaJSON(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("metaJSON(%q) = %s, want %s", tc.in, got, tc.want)
		}
		var back any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("output %s is not JSON: %v", got, err)
		}
	}
}

func TestSplitFields(t *testing.T) {
	got := splitFields(" a, b{c,d{e}} ,,e ")
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "e" {
		t.Errorf("splitFields = %q", got)
	}
}

func TestKnownVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"v25.0": true, "v26.0": true, "v2.12": true, "v3.3": true, "v4.0": true,
		"v27.0": false, "v2.80": false, "v25.1": false, "25.0": false, "v25": false, "": false,
	} {
		if _, ok := knownVersion(v); ok != want {
			t.Errorf("knownVersion(%q) = %v", v, ok)
		}
	}
}

func TestWamid(t *testing.T) {
	id := newWamid("16505551234", false)
	if len(id) < 40 || id[:6] != "wamid." {
		t.Errorf("wamid %q", id)
	}
	if newWamid("16505551234", false) == id {
		t.Error("wamids repeat")
	}
}
