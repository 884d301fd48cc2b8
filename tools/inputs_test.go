package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// TestPhonePolicy: digits are read as including the country code; see
// docs/cloud-api.md#recipient-phone-numbers.
func TestPhonePolicy(t *testing.T) {
	us := tools.PhonePolicy{}
	usConvert := tools.PhonePolicy{ConvertNational: true}
	gb := tools.PhonePolicy{Region: "GB"}
	gbConvert := tools.PhonePolicy{Region: "GB", ConvertNational: true}
	in := tools.PhonePolicy{Region: "IN", ConvertNational: true}
	tests := []struct {
		name   string
		policy tools.PhonePolicy
		in     string
		number string // sent (when refused is "")
		refuse string // phrase of the rule
		warn   string // phrase of the warning ("" = none)
	}{
		// Valid numbers are sent as they are, whatever the policy.
		{"US", us, "+1 (650) 555-1234", "+16505551234", "", ""},
		{"US digits", us, "16505551234", "+16505551234", "", ""},
		{"US NYC", usConvert, "+1 212 736 5000", "+12127365000", "", ""},
		{"Canada", us, "+1 416 555 0123", "+14165550123", "", ""},
		{"UK landline", gbConvert, "+44 20 7946 0958", "+442079460958", "", ""},
		{"UK mobile", us, "447911123456", "+447911123456", "", ""},
		{"UK with (0)", us, "+44 (0)7911 123456", "+447911123456", "", "its standard form"},
		{"Singapore", us, "+65 6123 4567", "+6561234567", "", ""},
		{"India", us, "+91 98765 43210", "+919876543210", "", ""},
		{"Brazil", us, "+55 11 98765-4321", "+5511987654321", "", ""},
		{"Russia (+7, not a US 7xx area code)", usConvert, "+7 911 123-45-67", "+79111234567", "", ""},
		{"00 prefix", us, "0044 20 7946 0958", "+442079460958", "", ""},

		// Possible but not valid: sent, with a warning.
		{"fictional +1 555", us, "+1 555 123 4567", "+15551234567", "", "not a valid number for country code +1 (US)"},
		{"fictional +1 555, convert on", usConvert, "+15550783881", "+15550783881", "", "fictional"},
		{"Brazil without the ninth digit", us, "+55 11 8765-4321", "+551187654321", "", "+55 (BR)"},

		// Impossible: refused.
		{"no such country code", us, "+999 123 4567", "", "starts with no country code", ""},
		{"no such country code, convert on", usConvert, "+999 123 4567", "", "starts with no country code", ""},
		{"too short for +44", us, "+44 123", "", "too short for country code +44 (GB)", ""},
		{"too short for +1", us, "+1 234 567", "", "too short for country code +1 (US)", ""},
		{"too long for +1", us, "+1 650 555 12345", "", "too long for country code +1 (US)", ""},
		{"a length +65 (SG) has not", us, "+65 9123 45678", "", "a length no number of country code +65 (SG) has", ""},
		{"too long for +65", us, "+65 9123 4567 8901", "", "too long for country code +65 (SG)", ""},
		{"16 digits", us, "+1234567890123456", "", "at most 15 digits", ""},
		{"too short to be a number", us, "+1", "", "too short", ""},
		{"letters", us, "+1 650 CALL NOW", "", "digits", ""},
		{"empty", us, "", "", "must be a phone number", ""},
		{"leading 0, US", us, "07911 123456", "", "starts with 0", ""},

		// National numbers of the region: refused with the E.164 form, or
		// converted.
		{"US national read as Singapore", us, "(650) 555-1234", "", "not a valid number for country code +65 (SG)", ""},
		{"US national: the form it meant", us, "650.555.1234", "", "send +16505551234", ""},
		{"US national impossible as +212", us, "(212) 736-5000", "", "send +12127365000", ""},
		{"US national impossible as +7", us, "718 555 0123", "", "send +17185550123", ""},
		{"US national under no country code", us, "214-555-1234", "", "send +12145551234", ""},
		{"Canadian national, US region", us, "416 555 0123", "", "send +14165550123", ""},
		{"US national, converted", usConvert, "(650) 555-1234", "+16505551234", "", "read as a US national number and sent to +16505551234"},
		{"US national impossible as +212, converted", usConvert, "(212) 736-5000", "+12127365000", "", "too short for country code +212 (MA)"},
		{"US national under no country code, converted", usConvert, "214-555-1234", "+12145551234", "", "sent to +12145551234"},
		{"UK national, US region: not recognised", us, "020 7946 0958", "", "starts with 0", ""},
		{"UK national, GB region", gb, "020 7946 0958", "", "send +442079460958", ""},
		{"UK mobile national, GB region, converted", gbConvert, "07911 123456", "+447911123456", "", "GB national number"},
		{"UK mobile without trunk 0, GB region", gb, "7911 123456", "", "send +447911123456", ""},
		{"US national, GB region: possible for +65, sent", gb, "(650) 555-1234", "+6505551234", "", "not a valid number for country code +65 (SG)"},
		{"US national, GB region: impossible for +212, no suggestion", gb, "(212) 736-5000", "", "give the number with its country code", ""},
		{"India national, IN region, converted", in, "98765 43210", "+919876543210", "", "IN national number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.policy.Check(tt.in)
			if tt.refuse != "" {
				if c.Rule == "" || !strings.Contains(c.Rule, tt.refuse) {
					t.Fatalf("Check(%q) = %+v, want refused with %q", tt.in, c, tt.refuse)
				}
				if c.Warning != "" {
					t.Errorf("refused with a warning too: %q", c.Warning)
				}
				return
			}
			if c.Rule != "" || c.Number != tt.number {
				t.Fatalf("Check(%q) = %+v, want %s sent", tt.in, c, tt.number)
			}
			if (tt.warn == "") != (c.Warning == "") || !strings.Contains(c.Warning, tt.warn) {
				t.Errorf("warning %q, want %q", c.Warning, tt.warn)
			}
		})
	}
}

func TestPhoneRegion(t *testing.T) {
	for r, ok := range map[string]bool{"US": true, "GB": true, "IN": true, "BR": true, "us": false, "XX": false, "": false, "001": false} {
		if tools.PhoneRegion(r) != ok {
			t.Errorf("PhoneRegion(%q) = %v", r, !ok)
		}
	}
}

// TestPhonePolicyRemembers: a remembered verdict is the verdict, for every
// policy and spelling (a policy's verdict never answers for another's),
// and the memory stays bounded whatever is sent.
func TestPhonePolicyRemembers(t *testing.T) {
	policies := []tools.PhonePolicy{{}, {ConvertNational: true}, {Region: "GB"}, {Region: "GB", ConvertNational: true}, {Region: "IN", ConvertNational: true}}
	inputs := []string{"+1 (650) 555-1234", "(650) 555-1234", "+15551234567", "07911 123456", "020 7946 0958",
		"98765 43210", "+999 123 4567", "+44 (0)7911 123456", "", "+1 650 CALL NOW", strings.Repeat("1", 80)}
	for round := 0; round < 2; round++ {
		for _, p := range policies {
			for _, in := range inputs {
				if got, want := p.Check(in), p.CheckUncached(in); got != want {
					t.Fatalf("round %d: %+v.Check(%q) = %+v, want %+v", round, p, in, got, want)
				}
			}
		}
	}
	for i := 0; i < 20000; i++ {
		tools.PhonePolicy{}.Check(fmt.Sprintf("+1650555%04d", i))
	}
	if n := tools.RememberedPhones(); n > 2*4096 {
		t.Errorf("%d verdicts remembered, want at most %d", n, 2*4096)
	}
}

// BenchmarkPhonePolicy: the cost per to_number, remembered (the same
// numbers again) and read afresh (the metadata itself is loaded once, at
// init: about 4 ms and 2.5 MB, see the report of GODEBUG=inittrace=1).
func BenchmarkPhonePolicy(b *testing.B) {
	p := tools.PhonePolicy{}
	for _, n := range []string{"+1 (650) 555-1234", "(650) 555-1234", "+15551234567"} {
		b.Run(n, func(b *testing.B) {
			for b.Loop() {
				p.Check(n)
			}
		})
		b.Run("afresh "+n, func(b *testing.B) {
			for b.Loop() {
				p.CheckUncached(n)
			}
		})
	}
}

type shapeRow struct {
	Title string `json:"title" validate:"required,max=5"`
	N     int    `json:"n,omitempty"`
}

type shapeIn struct {
	Inner
	Sections []struct {
		Rows []shapeRow `json:"rows" validate:"required,dive"`
	} `json:"sections,omitempty" validate:"dive"`
	Tags  map[string]string `json:"tags,omitempty"`
	Count uint8             `json:"count,omitempty"`
	Any   any               `json:"any,omitempty"`
	Lat   tools.Decimal     `json:"lat,omitempty" validate:"omitempty,latitude"`
	Text  string            `json:"text,omitempty"`
}

// TestDecodeNamesEveryOffence: encoding/json stops at the first offence;
// Decode names them all, with their paths.
func TestDecodeNamesEveryOffence(t *testing.T) {
	var in shapeIn
	err := tools.Decode(json.RawMessage(`{
		"to_number": 16505551234, "phone_number_id": ["1"],
		"sections": [{"rows": [{"title": "ok"}]}, {"rows": [{"title": 3, "n": 1.5}, {"titel": "x", "n": "2"}]}],
		"tags": {"a": "x", "b": false}, "count": 300, "any": {"whatever": [1, "x"]}, "lat": true,
		"extra": {"deep": [1]}
	}`), &in)
	want := map[string]string{
		"to_number":                 "must be a string, not a JSON number",
		"phone_number_id":           "must be a string, not a JSON array",
		"sections[1].rows[0].title": "must be a string, not a JSON number",
		"sections[1].rows[0].n":     "must be an integer, not a JSON number 1.5",
		"sections[1].rows[1].titel": "is not a field of `sections[1].rows[1]` (known fields: n, title)",
		"sections[1].rows[1].n":     "must be an integer, not a JSON string",
		"tags.b":                    "must be a string, not a JSON bool",
		"count":                     "must be an integer, not a JSON number 300",
		"lat":                       "must be a string or a number, not a JSON bool",
		"extra":                     "is not an input of this tool (known inputs: any, count, lat, phone_number_id, sections, tags, text, to_number)",
	}
	got := fieldsOf(t, err)
	for f, rule := range want {
		if got[f] != rule {
			t.Errorf("%s: %q, want %q", f, got[f], rule)
		}
	}
	if len(got) != len(want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	t.Run("what encoding/json accepts is accepted", func(t *testing.T) {
		var in shapeIn
		if err := tools.Decode(json.RawMessage(`{"TO_NUMBER":"+16505551234","sections":null,"count":255,"any":null,"lat":-12.5,"tags":{}}`), &in); err != nil {
			t.Fatal(err)
		}
		if in.ToNumber != "+16505551234" || in.Count != 255 || in.Lat != "-12.5" {
			t.Errorf("decoded %+v", in)
		}
	})
}

// TestCallNamesShapeAndRules: the shape errors and the rule errors of one
// call are in one error; a field of the wrong type is not also "required".
func TestCallNamesShapeAndRules(t *testing.T) {
	var prepared []string
	tool := tools.New(tools.Def[shapeIn, map[string]any]{
		Name: "T",
		Prepare: func(ctx context.Context, in *shapeIn) []tools.FieldError {
			prepared = append(prepared, in.ToNumber)
			tools.Warn(ctx, "prepared")
			if in.Text == "refuse" {
				return []tools.FieldError{{Field: "text", Rule: "is refused by the configuration"}}
			}
			in.Text = "rewritten"
			return nil
		},
		Handler: func(ctx context.Context, in *shapeIn) (map[string]any, error) {
			return map[string]any{"text": in.Text}, nil
		},
	})
	res := tool.Call(context.Background(), json.RawMessage(`{"to_number":"+16505551234","phone_number_id":1,"sections":[{"rows":[{"title":"toolong"},{"title":2}]}],"text":"refuse"}`))
	if res.Successful || len(res.Warnings) != 0 {
		t.Fatalf("result %s", res.JSON())
	}
	for _, w := range []string{
		"`phone_number_id` must be a string, not a JSON number",
		"`sections[0].rows[1].title` must be a string, not a JSON number",
		"`sections[0].rows[0].title` must be at most 5 characters",
		"`text` is refused by the configuration",
	} {
		if !strings.Contains(res.Error, w) {
			t.Errorf("error lacks %q: %s", w, res.Error)
		}
	}
	for _, not := range []string{"`phone_number_id` is required", "`sections[0].rows[1].title` is required"} {
		if strings.Contains(res.Error, not) {
			t.Errorf("error says %q: %s", not, res.Error)
		}
	}
	res = tool.Call(context.Background(), json.RawMessage(`{"to_number":"+16505551234","phone_number_id":"1"}`))
	if !res.Successful || fmt.Sprint(res.Data) != "map[text:rewritten]" || len(res.Warnings) != 1 || res.Warnings[0] != "prepared" {
		t.Errorf("result %s", res.JSON())
	}
	if prepared[1] != "+16505551234" {
		t.Errorf("Prepare saw %q before Normalize", prepared[1])
	}
	res = tool.Call(context.Background(), json.RawMessage(`{"to_number":"+16505551234"} {}`))
	if res.Successful || len(prepared) != 2 {
		t.Errorf("arguments that are not one object were prepared: %s", res.JSON())
	}
}

// TestDecodeInvalidUTF8: encoding/json turns invalid UTF-8 and lone
// surrogate escapes into U+FFFD; Decode names the field instead.
func TestDecodeInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		name, args, field string // field "" = valid
	}{
		{"raw byte", "{\"text\":\"caf\xe9\"}", "text"},
		{"nested", "{\"sections\":[{\"rows\":[{\"title\":\"ok\"},{\"title\":\"\xff\"}]}]}", "sections[0].rows[1].title"},
		{"in a map value", "{\"tags\":{\"k\":\"\xc3\"}}", "tags.k"},
		{"in an any", "{\"any\":[\"\xc3\"]}", "any[0]"},
		{"in a Decimal", "{\"lat\":\"1\xc3\"}", "lat"},
		{"high surrogate alone", `{"text":"\ud83d"}`, "text"},
		{"high surrogate then text", `{"text":"\ud83dx"}`, "text"},
		{"low surrogate alone", `{"text":"a\ude00"}`, "text"},
		{"two highs", `{"text":"\ud83d\ud83d"}`, "text"},
		{"a pair is fine", `{"text":"\ud83d\ude00"}`, ""},
		{"upper-case hex pair", `{"text":"\uD83D\uDE00"}`, ""},
		{"an escaped backslash before u", `{"text":"\\ud83d"}`, ""},
		{"valid multi-byte UTF-8", `{"text":"Zoë 👋 日本"}`, ""},
		{"U+FFFD sent as such", `{"text":"\ufffd �"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in shapeIn
			err := tools.Decode(json.RawMessage(tc.args), &in)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if rule := fieldsOf(t, err)[tc.field]; !strings.Contains(rule, "UTF-8") {
				t.Errorf("fields %v, want %s named for UTF-8", fieldsOf(t, err), tc.field)
			}
		})
	}
}

func TestEcho(t *testing.T) {
	if got := tools.Echo("abc"); got != `"abc"` {
		t.Errorf("Echo = %s", got)
	}
	long := strings.Repeat("é", 10<<20)
	got := tools.Echo(long)
	if want := `"` + strings.Repeat("é", 64) + `"… (10485760 characters)`; got != want {
		t.Errorf("Echo = %.100s…", got)
	}
	t.Run("every rule echoes through it", func(t *testing.T) {
		huge := strings.Repeat("7", 1<<20)
		s := &Sample{Inner: Inner{ToNumber: huge, ID: huge + "x"}, Kind: huge, Name: huge, Lang: huge, Fields: huge + " "}
		err := tools.Validate(s)
		if n := len(err.Error()); n > 4096 {
			t.Errorf("error is %d bytes: %.300s", n, err.Error())
		}
		for f, rule := range fieldsOf(t, err) {
			if !strings.Contains(rule, "(1048576 characters)") && !strings.Contains(rule, "(1048577 characters)") {
				t.Errorf("%s: %.200s", f, rule)
			}
		}
	})
	t.Run("a check that quotes whole is cut", func(t *testing.T) {
		s := &Sample{Inner: Inner{ToNumber: "+16505551234", ID: "1"}}
		s.check = []tools.FieldError{{Field: "kind", Rule: "is odd: " + strings.Repeat("x", 1<<20)}}
		for i := 0; i < 150; i++ {
			s.check = append(s.check, tools.FieldError{Field: fmt.Sprintf("items[%d]", i), Rule: "is odd"})
		}
		err := tools.Validate(s)
		if n := len(err.Error()); n > 8192 {
			t.Errorf("error is %d bytes", n)
		}
		if !strings.Contains(err.Error(), "51 more offending fields") {
			t.Errorf("error does not say how many were left out: …%s", err.Error()[len(err.Error())-200:])
		}
	})
}

func TestDecimal(t *testing.T) {
	for in, want := range map[string]string{
		`"37.44"`: "37.44", `37.44`: "37.44", `-122.16153582049394`: "-122.16153582049394", `0`: "0",
		`3.744e1`: "37.44", `-1.2E2`: "-120", `" 1 "`: " 1 ", `1e400`: "1e400",
	} {
		var d tools.Decimal
		if err := json.Unmarshal([]byte(in), &d); err != nil || string(d) != want {
			t.Errorf("%s: %q, %v; want %q", in, d, err, want)
		}
	}
	for _, in := range []string{`true`, `{}`, `[1]`} {
		var d tools.Decimal
		if err := json.Unmarshal([]byte(in), &d); err == nil || !strings.Contains(err.Error(), "must be a string or a number") {
			t.Errorf("%s: %v", in, err)
		}
	}
	s := tools.InputSchema[struct {
		Lat tools.Decimal `json:"lat" jsonschema_description:"Latitude"`
	}]()
	if want := `"lat":{"description":"Latitude","type":["string","number"]}`; !strings.Contains(string(s), want) {
		t.Errorf("schema %s lacks %s", s, want)
	}
}
