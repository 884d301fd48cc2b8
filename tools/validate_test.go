package tools_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+1 (650) 555-1234", "+16505551234"},
		{"16505551234", "+16505551234"},
		{"+16505551234", "+16505551234"},
		{"  +44 20 7946 0958 ", "+442079460958"},
		{"1-650-555-1234", "+16505551234"},
		{"1.650.555.1234", "+16505551234"},
		{"0044 20 7946 0958", "+442079460958"},    // 00 international prefix
		{"+0044 20 7946 0958", "+00442079460958"}, // explicit + kept; the phone rule rejects it
		{"", ""},
		// Not plausible numbers come back unchanged (trimmed) for the phone
		// rule to name.
		{"12345abc", "12345abc"},
		{"+1 650 CALL NOW", "+1 650 CALL NOW"},
		{"1+6505551234", "1+6505551234"},
		{"++16505551234", "++16505551234"},
		{" call me ", "call me"},
		{"１６５０５５５１２３４", "１６５０５５５１２３４"}, // full-width digits are not ASCII digits
	}
	for _, tt := range tests {
		if got := tools.NormalizePhone(tt.in); got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Inner is embedded untagged: encoding/json flattens it, and error paths
// must too.
type Inner struct {
	ToNumber string `json:"to_number" validate:"required,phone"`
	ID       string `json:"phone_number_id" validate:"required,graphid"`
}

func (i *Inner) Normalize() { i.ToNumber = tools.NormalizePhone(i.ToNumber) }

type Item struct {
	Title string `json:"title" validate:"required,max=5"`
}

type Sample struct {
	Inner
	Limit  int     `json:"limit,omitempty" validate:"omitempty,min=1,max=100"`
	Items  []Item  `json:"items,omitempty" validate:"omitempty,max=3,dive"`
	Kind   string  `json:"kind,omitempty" validate:"omitempty,oneof=a b"`
	Name   string  `json:"name,omitempty" validate:"omitempty,tplname"`
	Lang   string  `json:"lang,omitempty" validate:"omitempty,langcode"`
	Fields string  `json:"fields,omitempty" validate:"omitempty,fieldlist"`
	Ratio  float64 `json:"ratio,omitempty"`
	Flag   bool    `json:"flag,omitempty"`
	// check is what Check returns.
	check []tools.FieldError
}

func (s *Sample) Check() []tools.FieldError { return s.check }

func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	var ie *tools.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %T %v, want *tools.InputError", err, err)
	}
	m := map[string]string{}
	for _, f := range ie.Fields {
		if _, dup := m[f.Field]; dup {
			m[f.Field] += " | " + f.Rule
		} else {
			m[f.Field] = f.Rule
		}
	}
	return m
}

func TestDecode(t *testing.T) {
	t.Run("empty and null are {}", func(t *testing.T) {
		for _, args := range []string{"", "  ", "null", "{}"} {
			var s Sample
			if err := tools.Decode(json.RawMessage(args), &s); err != nil {
				t.Errorf("Decode(%q) = %v", args, err)
			}
		}
	})
	t.Run("embedded fields decode flat", func(t *testing.T) {
		var s Sample
		if err := tools.Decode(json.RawMessage(`{"to_number":"+16505551234","phone_number_id":"1","limit":5}`), &s); err != nil {
			t.Fatal(err)
		}
		if s.ToNumber != "+16505551234" || s.ID != "1" || s.Limit != 5 {
			t.Errorf("got %+v", s)
		}
	})
	tests := []struct {
		name, args, field string
		ruleHas           []string
	}{
		{"unknown field lists the known inputs, embedded ones included", `{"to_numbr":"1"}`, "to_numbr",
			[]string{"is not an input", "fields, flag, items, kind, lang, limit, name, phone_number_id, ratio, to_number"}},
		{"wrong type names the field", `{"limit":"x"}`, "limit", []string{"must be an integer", "string"}},
		{"float for an integer", `{"limit":1.5}`, "limit", []string{"must be an integer"}},
		{"string for a boolean", `{"flag":"yes"}`, "flag", []string{"must be a boolean"}},
		{"object for an array", `{"items":{"title":"x"}}`, "items", []string{"must be an array"}},
		{"nested wrong type carries the index", `{"items":[{"title":"ok"},{"title":3}]}`, "items[1].title", []string{"must be a string"}},
		{"wrong type in an embedded field", `{"to_number":16505551234}`, "to_number", []string{"must be a string"}},
		{"not an object", `[1,2]`, "(arguments)", []string{"must be an object"}},
		{"syntax error", `{"limit":`, "(arguments)", []string{"valid JSON"}},
		{"trailing data", `{} {}`, "(arguments)", []string{"single JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Sample
			err := tools.Decode(json.RawMessage(tt.args), &s)
			m := fieldsOf(t, err)
			rule, ok := m[tt.field]
			if !ok {
				t.Fatalf("no error for %q: %v", tt.field, err)
			}
			for _, w := range tt.ruleHas {
				if !strings.Contains(rule, w) {
					t.Errorf("rule %q lacks %q", rule, w)
				}
			}
			if !strings.Contains(err.Error(), "nothing was sent") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestValidate(t *testing.T) {
	valid := func() *Sample { return &Sample{Inner: Inner{ToNumber: "+1 (650) 555-1234", ID: "106540352242922"}} }
	t.Run("valid, and normalised first", func(t *testing.T) {
		s := valid()
		if err := tools.Validate(s); err != nil {
			t.Fatal(err)
		}
		if s.ToNumber != "+16505551234" {
			t.Errorf("ToNumber = %q: Normalize was not applied", s.ToNumber)
		}
	})
	tests := []struct {
		name   string
		mutate func(s *Sample)
		want   map[string]string // field → substring of its rule
	}{
		{"embedded field paths are flat", func(s *Sample) { s.ToNumber, s.ID = "", "" },
			map[string]string{"to_number": "is required", "phone_number_id": "is required"}},
		{"short number", func(s *Sample) { s.ToNumber = "12345" }, map[string]string{"to_number": "country code"}},
		{"letters in number", func(s *Sample) { s.ToNumber = "+1650CALLNOW" }, map[string]string{"to_number": "digits"}},
		{"phone_number_id not numeric", func(s *Sample) { s.ID = "+16505551234" },
			map[string]string{"phone_number_id": "not the phone number itself"}},
		{"dive paths carry indexes", func(s *Sample) { s.Items = []Item{{Title: "ok"}, {Title: "toolong"}, {}} },
			map[string]string{"items[1].title": "at most 5 characters (got 7)", "items[2].title": "is required"}},
		{"max items", func(s *Sample) { s.Items = []Item{{"a"}, {"b"}, {"c"}, {"d"}} }, map[string]string{"items": "at most 3 items (got 4)"}},
		{"number range", func(s *Sample) { s.Limit = 101 }, map[string]string{"limit": "at most 100"}},
		{"oneof", func(s *Sample) { s.Kind = "c" }, map[string]string{"kind": "must be one of: a, b"}},
		{"template name", func(s *Sample) { s.Name = "Order-Update" }, map[string]string{"name": "lowercase"}},
		{"language code", func(s *Sample) { s.Lang = "en-US" }, map[string]string{"lang": "en_US"}},
		{"field list", func(s *Sample) { s.Fields = "status,NAME" }, map[string]string{"fields": "comma-separated"}},
		{"every offence at once", func(s *Sample) { s.ToNumber, s.Limit, s.Kind = "x", 500, "z" },
			map[string]string{"to_number": "phone", "limit": "at most", "kind": "one of"}},
		{"Check rules are added", func(s *Sample) {
			s.check = []tools.FieldError{{Field: "items", Rule: "must hold at most 10 rows in total"}}
		}, map[string]string{"items": "10 rows in total"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.mutate(s)
			m := fieldsOf(t, tools.Validate(s))
			for f, want := range tt.want {
				if !strings.Contains(m[f], want) {
					t.Errorf("field %q: rule %q, want it to contain %q (all: %v)", f, m[f], want, m)
				}
			}
			if len(m) != len(tt.want) {
				t.Errorf("fields = %v, want exactly %v", m, tt.want)
			}
		})
	}
	t.Run("dedupe drops exact repeats only", func(t *testing.T) {
		s := valid()
		s.check = []tools.FieldError{
			{Field: "kind", Rule: "is odd"}, {Field: "kind", Rule: "is odd"},
			{Field: "kind", Rule: "is also wrong"}, {Field: "name", Rule: "is odd"},
		}
		var ie *tools.InputError
		if !errors.As(tools.Validate(s), &ie) {
			t.Fatal("no InputError")
		}
		want := []tools.FieldError{{Field: "kind", Rule: "is odd"}, {Field: "kind", Rule: "is also wrong"}, {Field: "name", Rule: "is odd"}}
		if len(ie.Fields) != len(want) {
			t.Fatalf("fields = %v, want %v", ie.Fields, want)
		}
		for i := range want {
			if ie.Fields[i] != want[i] {
				t.Errorf("fields[%d] = %v, want %v", i, ie.Fields[i], want[i])
			}
		}
	})
}

func TestInputError(t *testing.T) {
	e := &tools.InputError{Fields: []tools.FieldError{{Field: "buttons[1].title", Rule: "must be unique"}, {Field: "text", Rule: "is required"}}}
	s := e.Error()
	for _, w := range []string{"nothing was sent", "`buttons[1].title` must be unique", "`text` is required"} {
		if !strings.Contains(s, w) {
			t.Errorf("Error() = %q lacks %q", s, w)
		}
	}
	if fd := e.FailureData(); fd["invalid_fields"] == nil {
		t.Errorf("FailureData = %v", fd)
	}
	one := tools.Invalid("caption", "is only for %s", "images")
	if one.Fields[0] != (tools.FieldError{Field: "caption", Rule: "is only for images"}) {
		t.Errorf("Invalid = %+v", one)
	}
}

func TestLanguageCodes(t *testing.T) {
	if n := len(tools.LanguageCodes); n != 111 {
		t.Errorf("%d language codes, want Meta's 111 (docs/cloud-api.md#template-language-codes)", n)
	}
	for _, c := range []string{"en_US", "en", "pt_BR", "es_MX", "prs_AF", "zh_HK", "ka", "be_BY"} {
		if !tools.LanguageCodes[c] {
			t.Errorf("%s missing", c)
		}
	}
	for _, c := range []string{"en-US", "EN_US", "en_us", "xx"} {
		if tools.LanguageCodes[c] {
			t.Errorf("%s accepted", c)
		}
	}
	type in struct {
		Lang tools.LanguageCode `json:"lang" validate:"required,langcode"`
	}
	if s := string(tools.InputSchema[in]()); !strings.Contains(s, `"lang":{"type":"string","pattern":"^[a-z]{2,3}(_[A-Z]{2})?$"}`) {
		t.Errorf("schema %s: want the codes' shape as a pattern", s)
	}
	err := tools.Validate(&in{Lang: "en-GB"})
	if err == nil || !strings.Contains(err.Error(), "en, en_GB, en_US") {
		t.Errorf("en-GB: %v, want the English codes named", err)
	}
}

// TestPhoneRuleRejectsLeadingZero: E.164 numbers never start with 0, so a
// national trunk prefix (e.g. 07911…) cannot slip through as "+07911…"; the
// tag is the default PhonePolicy, so a number too short for its country
// code (+1 234567) is refused too.
func TestPhoneRuleRejectsLeadingZero(t *testing.T) {
	type in struct {
		To string `json:"to" validate:"phone"`
	}
	for _, tc := range []struct {
		num string
		ok  bool
	}{{"+447911123456", true}, {"+07911123456", false}, {"+00442079460958", false}, {"+123456", false}, {"+1234567", false}, {"+12025550123", true}} {
		err := tools.Validate(&in{To: tc.num})
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.num, err, tc.ok)
		}
	}
}
