package tools

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"io"
	"strings"
	"testing"
)

type fileIn struct {
	Name    string `json:"name" validate:"required"`
	Content Base64 `json:"content,omitempty" validate:"required_without=Path,excluded_with=Path"`
	Path    string `json:"path,omitempty" validate:"required_without=Content"`
}

type uploadIn struct {
	File fileIn `json:"file"`
}

// TestBase64KeepsTheRequestBytes: a large base64 field is decoded without
// copying it (its text is a slice of the arguments), and still reads back
// the file, while the shape of the arguments is checked as strictly as
// before around it.
func TestBase64KeepsTheRequestBytes(t *testing.T) {
	file := make([]byte, 3<<20+1) // not a multiple of 3: padding
	_, _ = rand.Read(file)
	enc := base64.StdEncoding.EncodeToString(file)
	args := []byte(`{"file":{"name":"a.pdf","content":"` + enc + `"}}`)

	in := new(uploadIn)
	if err := check(args, in, nil); err != nil {
		t.Fatal(err)
	}
	text := in.File.Content.text
	start := bytes.Index(args, []byte(enc))
	if len(text) != len(enc) || &text[0] != &args[start] {
		t.Fatal("the base64 text is a copy, not a slice of the arguments")
	}
	if !in.File.Content.Valid() || in.File.Content.DecodedLen() != int64(len(file)) {
		t.Fatalf("Valid %v, DecodedLen %d, want %d", in.File.Content.Valid(), in.File.Content.DecodedLen(), len(file))
	}
	for range 2 { // Open starts again each time
		got, err := io.ReadAll(in.File.Content.Open())
		if err != nil || !bytes.Equal(got, file) {
			t.Fatalf("Open read %d bytes, %v", len(got), err)
		}
	}

	// The shape around a long string is still checked.
	for _, tc := range []struct{ args, field, rule string }{
		{`{"file":{"name":"a","content":"` + enc + `","nmae":"x"}}`, "file.nmae", "is not a field"},
		{`{"file":{"name":1,"content":"` + enc + `"}}`, "file.name", "must be a string"},
		{`{"file":{"name":"a","content":` + `[1]` + `}}`, "file.content", "must be a string"},
		{`{"file":{"name":"a","content":"` + enc + `\x"}}`, "(arguments)", "must be valid JSON"},
		{`{"file":{"name":"a","content":"` + enc + `"}} {}`, "(arguments)", "single JSON object"},
	} {
		err := check([]byte(tc.args), new(uploadIn), nil)
		ie, ok := err.(*InputError)
		if !ok || len(ie.Fields) == 0 || ie.Fields[0].Field != tc.field || !strings.Contains(ie.Fields[0].Rule, tc.rule) {
			t.Errorf("%.60s…: %v, want %s %q", tc.args, err, tc.field, tc.rule)
		}
	}
}

func TestBase64Values(t *testing.T) {
	for _, tc := range []struct {
		json  string
		zero  bool
		valid bool
		want  string
	}{
		{`null`, true, false, ""},
		{`""`, true, false, ""},
		{`"QUJD"`, false, true, "ABC"},
		{`"QUI="`, false, true, "AB"},
		{`"QQ=="`, false, true, "A"},
		{`"a\/8="`, false, true, "k\xff"}, // "/" escaped, as PHP writes it
		{`"QUJ"`, false, false, ""},
		{`"QU=D"`, false, false, ""},
		{`"QUJD\n"`, false, false, ""},
		{`"QQ==="`, false, false, ""},
	} {
		var b Base64
		if err := b.UnmarshalJSON([]byte(tc.json)); err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		if b.IsZero() != tc.zero || b.Valid() != tc.valid {
			t.Errorf("%s: zero %v valid %v, want %v %v", tc.json, b.IsZero(), b.Valid(), tc.zero, tc.valid)
		}
		if tc.valid {
			got, _ := io.ReadAll(b.Open())
			if string(got) != tc.want || b.DecodedLen() != int64(len(tc.want)) {
				t.Errorf("%s: decodes to %q (DecodedLen %d), want %q", tc.json, got, b.DecodedLen(), tc.want)
			}
		}
	}
	if b, err := NewBase64([]byte("ABC")).MarshalJSON(); err != nil || string(b) != `"QUJD"` {
		t.Errorf("MarshalJSON = %s, %v", b, err)
	}
	var b Base64
	if err := b.UnmarshalJSON([]byte(`12`)); err == nil {
		t.Error("a number is accepted")
	}
}

func TestHollow(t *testing.T) {
	long := strings.Repeat("A", hollowMin)
	short := strings.Repeat("A", hollowMin-1)
	for _, tc := range []struct{ in, want string }{
		{`{"a":"` + short + `"}`, `{"a":"` + short + `"}`},
		{`{"a":"` + long + `"}`, `{"a":""}`},
		{`{"a":"` + long + `","b":["` + long + `", 1]}`, `{"a":"","b":["", 1]}`},
		{`{"` + long + `" : "x"}`, `{"` + long + `" : "x"}`}, // a key stays
		{`{"a":"\"` + long + `\\"}`, `{"a":""}`},             // escaped quote, escaped backslash
		{`{"a":"` + long, `{"a":"` + long},                   // unterminated
	} {
		if got := string(hollow([]byte(tc.in))); got != tc.want {
			t.Errorf("hollow(%.40q…) = %.40q…, want %.40q…", tc.in, got, tc.want)
		}
	}
	in := []byte(`{"a":"b"}`)
	if out := hollow(in); &out[0] != &in[0] {
		t.Error("hollow copied arguments that have no long string")
	}
}
