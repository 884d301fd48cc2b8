package tools_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// checkTag validates v against one validate tag, on a struct built for it.
func checkTag(t *testing.T, tag, v string) bool {
	t.Helper()
	typ := reflect.StructOf([]reflect.StructField{{Name: "V", Type: reflect.TypeFor[string](),
		Tag: reflect.StructTag(`json:"v" validate:"` + tag + `"`)}})
	in := reflect.New(typ)
	in.Elem().Field(0).SetString(v)
	return tools.Validator().Struct(in.Interface()) == nil
}

// TestSchemaRulesAgreeWithTheValidator: a pattern accepts every value its
// tag accepts (a schema must never refuse a valid input), and where the
// tag is a regular expression it refuses what the tag refuses too.
func TestSchemaRulesAgreeWithTheValidator(t *testing.T) {
	samples := map[string]struct {
		exact bool // the pattern is the tag's own expression
		vals  []string
	}{
		"graphid":   {true, []string{"106540352242922", "1", "", "12a", "+1650", " 123", "123456789012345678901234567890123"}},
		"tplname":   {true, []string{"order_shipped", "hello_world2", "", "Order", "order-shipped", "a b", strings.Repeat("a", 513)}},
		"langcode":  {false, []string{"en_US", "en", "prs_AF", "fil", "", "en-US", "EN_US", "en_us", "xx", "english"}},
		"dialable":  {false, []string{"+16505551234", "1 (650) 555-1234", "+44 20.7946.0958", " +1 650 ", "", "+", "abc", "+1 650 555 CALL", "16505551234x"}},
		"fieldlist": {false, []string{"status", "status,name", " status , name ", "a{b}", "", "Status", "a,,b", "a,", "a b", "a{b,c}"}},
		"notblank":  {true, []string{"x", " x ", "", " ", "\t\n"}},
		"trimmed":   {true, []string{"", "x", "a b", " x", "x ", " "}},
		"uppercase": {false, []string{"USD", "", "U1", "usd", "Usd"}},
		"number":    {true, []string{"19175559999", "0", "", "-1", "1.5", "+1"}},
		"numeric":   {true, []string{"1", "-1.5", "+2", "", "1.", ".5", "1e3"}},
		"latitude":  {true, []string{"37.44216", "-90", "90.000", "+12.5", "", "90.1", "-91", "abc", "1e1"}},
		"longitude": {true, []string{"-122.16153", "180", "-180.0", "99.9", "", "180.5", "-181", "1,5"}},
		"http_url":  {false, []string{"https://example.com/a.png", "HTTP://EXAMPLE.COM", "http://x", "", "ftp://x", "example.com", "https://"}},
	}
	for name, rule := range tools.SchemaRules {
		if rule.Pattern == "" {
			continue
		}
		sample, ok := samples[name]
		if !ok {
			t.Errorf("%s: a pattern without samples here", name)
			continue
		}
		re := regexp.MustCompile(rule.Pattern)
		for _, v := range sample.vals {
			if v == "" {
				// "" is required's or omitempty's to judge (TestSchemaSaysTheTags).
				continue
			}
			valid, matched := checkTag(t, "required,"+name, v), re.MatchString(v)
			if valid && !matched {
				t.Errorf("%s: pattern %s refuses %q, which the validator accepts", name, rule.Pattern, v)
			}
			if sample.exact && !valid && matched {
				t.Errorf("%s: pattern %s accepts %q, which the validator refuses", name, rule.Pattern, v)
			}
		}
	}
}

// TestSchemaSaysTheTags: the schema of every rule of SchemaRules, and of
// the length, item and range rules, as reflected for a field.
func TestSchemaSaysTheTags(t *testing.T) {
	type item struct {
		ID string `json:"id" validate:"required,graphid"`
	}
	type in struct {
		ID       string        `json:"id" validate:"required,graphid"`
		OptID    string        `json:"opt_id,omitempty" validate:"omitempty,graphid"`
		Name     string        `json:"name" validate:"required,tplname"`
		To       string        `json:"to" validate:"required,dialable"`
		Text     string        `json:"text" validate:"required,notblank,max=10"`
		OptText  string        `json:"opt_text,omitempty" validate:"omitempty,notblank"`
		Code     string        `json:"code" validate:"required,len=3,uppercase"`
		Link     string        `json:"link" validate:"required,http_url"`
		Mail     string        `json:"mail,omitempty" validate:"omitempty,email"`
		Day      string        `json:"day,omitempty" validate:"omitempty,datetime=2006-01-02"`
		Lat      tools.Decimal `json:"lat" validate:"required,latitude"`
		Kind     string        `json:"kind" validate:"required,oneof=a b"`
		IDs      []string      `json:"ids" validate:"required,min=1,max=5,unique,dive,required,notblank,max=9"`
		Items    []item        `json:"items,omitempty" validate:"omitempty,max=3,dive"`
		Count    int           `json:"count,omitempty" validate:"omitempty,min=1,max=100"`
		Language string        `json:"language,omitempty" validate:"omitempty,langcode"`
	}
	var s struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(tools.InputSchema[in](), &s); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{
		"id":       {"type": "string", "pattern": `^\d{1,32}$`},
		"opt_id":   {"type": "string", "pattern": `^$|^\d{1,32}$`},
		"name":     {"type": "string", "pattern": `^[a-z0-9_]{1,512}$`},
		"to":       {"type": "string", "pattern": `^[\s+\d().-]+$`},
		"text":     {"type": "string", "pattern": `\S`, "maxLength": 10.0},
		"opt_text": {"type": "string"}, // an optional notblank: the validator's
		"code":     {"type": "string", "pattern": `^[^a-z]*$`, "minLength": 3.0, "maxLength": 3.0},
		"link":     {"type": "string", "pattern": `^[Hh][Tt][Tt][Pp][Ss]?://`}, // no format: the pattern says it
		"mail":     {"type": "string", "format": "email"},
		"day":      {"type": "string", "format": "date"},
		"lat":      {"type": []any{"string", "number"}, "pattern": tools.SchemaRules["latitude"].Pattern, "minimum": -90.0, "maximum": 90.0},
		"kind":     {"type": "string", "enum": []any{"a", "b"}},
		"count":    {"type": "integer", "minimum": 1.0, "maximum": 100.0},
		"language": {"type": "string", "pattern": `^$|^[a-z]{2,3}(_[A-Z]{2})?$`},
	}
	for name, w := range want {
		got := s.Properties[name]
		for k, v := range w {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s.%s = %#v, want %#v", name, k, got[k], v)
			}
		}
		for _, k := range []string{"minLength", "maxLength", "pattern", "format"} {
			if _, ok := w[k]; !ok && got[k] != nil {
				t.Errorf("%s.%s = %#v, want none", name, k, got[k])
			}
		}
	}
	ids := s.Properties["ids"]
	if ids["minItems"] != 1.0 || ids["maxItems"] != 5.0 || ids["uniqueItems"] != true {
		t.Errorf("ids: %v", ids)
	}
	if items, _ := ids["items"].(map[string]any); items["pattern"] != `\S` || items["maxLength"] != 9.0 {
		t.Errorf("ids items: %v", ids["items"])
	}
	if s.Properties["items"]["maxItems"] != 3.0 {
		t.Errorf("items: %v", s.Properties["items"])
	}
}

// TestSchemaRefusesTwoPatterns: a schema has one pattern, so a tag that
// would need two stops the reflection instead of dropping one.
func TestSchemaRefusesTwoPatterns(t *testing.T) {
	type in struct {
		V string `json:"v" validate:"graphid,tplname"`
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for a field with two patterns")
		}
	}()
	tools.InputSchema[in]()
}

// TestOutputSchemaIsShapeOnly: output schemas carry no prose.
func TestOutputSchemaIsShapeOnly(t *testing.T) {
	type data struct {
		ID string `json:"id" jsonschema_description:"a long explanation"`
	}
	type none struct{}
	tool := tools.New(tools.Def[none, *data]{Name: "T", Handler: nil})
	if strings.Contains(string(tool.OutputSchema), "description") {
		t.Errorf("output schema has descriptions: %s", tool.OutputSchema)
	}
	if !strings.Contains(string(tool.OutputSchema), `"id":{"type":"string"}`) {
		t.Errorf("output schema lost the shape: %s", tool.OutputSchema)
	}
}
