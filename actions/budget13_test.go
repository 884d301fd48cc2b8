package actions_test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// dataProperties lists the property names the output schema gives data.
func dataProperties(t *testing.T, tl tools.Tool) []string {
	t.Helper()
	var out struct {
		Properties struct {
			Data struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"data"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(tl.OutputSchema, &out); err != nil {
		t.Fatalf("%s output schema: %v", tl.Name, err)
	}
	var names []string
	for n := range out.Properties.Data.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestSendOutputSchemas: every send names message_id, to and wa_id; only
// the template send names message_status, which Meta returns for templates
// only; and a free-form send names what the template send does but that,
// so a field added to SendResult cannot be left out of sentData unseen.
func TestSendOutputSchemas(t *testing.T) {
	d := &actions.Deps{}
	all := allTools(d)
	byName := map[string]tools.Tool{}
	for _, tl := range all {
		byName[tl.Name] = tl
	}
	template := dataProperties(t, byName["WHATSAPP_SEND_TEMPLATE_MESSAGE"])
	if !slices.Contains(template, "message_status") {
		t.Fatalf("template send names %v, without message_status", template)
	}
	freeForm := slices.DeleteFunc(slices.Clone(template), func(n string) bool { return n == "message_status" })
	sends := 0
	for _, tl := range all {
		if !strings.HasPrefix(tl.Name, "WHATSAPP_SEND_") || tl.Name == "WHATSAPP_SEND_TEMPLATE_MESSAGE" {
			continue
		}
		sends++
		got := dataProperties(t, tl)
		if tl.Name == "WHATSAPP_SEND_CHOICES" {
			got = slices.DeleteFunc(got, func(n string) bool { return n == "form" })
		}
		if strings.Join(got, ",") != strings.Join(freeForm, ",") {
			t.Errorf("%s data names %v, want %v (the template send's but message_status)", tl.Name, got, freeForm)
		}
		for _, n := range []string{"message_id", "to", "wa_id"} {
			if !slices.Contains(got, n) {
				t.Errorf("%s data does not name %s", tl.Name, n)
			}
		}
	}
	if sends != 14 {
		t.Errorf("%d free-form sends checked", sends)
	}
}

// TestValidatorKeepsWhatSchemasSayLess: where a schema says less than the
// validator to save bytes (an optional notblank has no pattern, http_url
// has no format uri, to_number's pattern is its characters, a field list's
// pattern its characters), the call is still refused, naming the field,
// and nothing reaches Meta.
func TestValidatorKeepsWhatSchemasSayLess(t *testing.T) {
	const send = `{"to_number":"+16505551234","phone_number_id":"106540352242922"`
	for _, tc := range []struct {
		tool, args, field string
	}{
		{"WHATSAPP_SEND_MESSAGE", send + `,"text":"hi","message_id":"   "}`, "`message_id`"},
		{"WHATSAPP_SEND_MEDIA", send + `,"media_type":"image","link":"https://","reply_to_message_id":" "}`, "`link`"},
		{"WHATSAPP_SEND_MEDIA", send + `,"media_type":"image","link":"https://example.com/a.png","reply_to_message_id":" "}`, "`reply_to_message_id`"},
		{"WHATSAPP_SEND_MESSAGE", `{"to_number":"+1+6505551234","phone_number_id":"106540352242922","text":"hi"}`, "`to_number`"},
		{"WHATSAPP_GET_PHONE_NUMBER", `{"phone_number_id":"106540352242922","fields":"id,,name"}`, "`fields`"},
		{"WHATSAPP_GET_BUSINESS_PROFILE", `{"phone_number_id":"106540352242922","fields":"about{"}`, "`fields`"},
	} {
		f := newFake(t)
		res := call(t, newDeps(t, f), tc.tool, tc.args)
		if res.Successful || !strings.Contains(res.Error, tc.field) {
			t.Errorf("%s %s: %s, want an error naming %s", tc.tool, tc.args, res.JSON(), tc.field)
		}
		if n := len(f.Requests()); n != 0 {
			t.Errorf("%s %s: %d requests reached Meta", tc.tool, tc.args, n)
		}
	}
}
