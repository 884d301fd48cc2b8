package actions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// catalogSpec is docs/cloud-api.md#the-catalog written down: every tool, its toolset, and its
// inputs as "name:type", ★ marking the required ones. Inputs marked "ours"
// in the catalog are listed too; the server may add more optional inputs.
var catalogSpec = []struct {
	name    string
	toolset string
	inputs  []string
	newIn   func() any // the input type, for tools.Decode/Validate
}{
	{"WHATSAPP_CREATE_MESSAGE_TEMPLATE", actions.ToolsetTemplates,
		[]string{"★name:string", "★category:string", "★language:string", "★components:array"}, func() any { return new(actions.CreateTemplateInput) }},
	{"WHATSAPP_DELETE_MESSAGE_TEMPLATE", actions.ToolsetTemplates,
		[]string{"★template_id:string"}, func() any { return new(actions.DeleteTemplateInput) }},
	{"WHATSAPP_GET_BUSINESS_PROFILE", actions.ToolsetAccount,
		[]string{"★phone_number_id:string", "fields:string"}, func() any { return new(actions.BusinessProfileInput) }},
	{"WHATSAPP_GET_MEDIA", actions.ToolsetMedia,
		[]string{"★media_id:string", "download:boolean"}, func() any { return new(actions.GetMediaInput) }},
	{"WHATSAPP_GET_MEDIA_INFO", actions.ToolsetMedia,
		[]string{"★media_id:string"}, func() any { return new(actions.MediaIDInput) }},
	{"WHATSAPP_GET_MESSAGE_TEMPLATES", actions.ToolsetTemplates,
		[]string{"after:string", "limit:integer", "status:string", "category:string", "language:string", "name_or_content:string"}, func() any { return new(actions.GetTemplatesInput) }},
	{"WHATSAPP_GET_PHONE_NUMBER", actions.ToolsetAccount,
		[]string{"★phone_number_id:string", "fields:string"}, func() any { return new(actions.PhoneNumberIDInput) }},
	{"WHATSAPP_GET_PHONE_NUMBERS", actions.ToolsetAccount,
		[]string{"limit:integer", "after:string"}, func() any { return new(actions.GetPhoneNumbersInput) }},
	{"WHATSAPP_GET_TEMPLATE_STATUS", actions.ToolsetTemplates,
		[]string{"★template_id:string", "fields:string"}, func() any { return new(actions.TemplateStatusInput) }},
	{"WHATSAPP_SEND_CONTACTS", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★contacts:array"}, func() any { return new(actions.SendContactsInput) }},
	{"WHATSAPP_SEND_INTERACTIVE_BUTTONS", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★body_text:string", "★buttons:array", "header_text:string", "footer_text:string", "reply_to_message_id:string"},
		func() any { return new(actions.SendButtonsInput) }},
	{"WHATSAPP_SEND_INTERACTIVE_LIST", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★body_text:string", "★button_text:string", "★sections:array", "header_text:string", "footer_text:string", "reply_to_message_id:string"},
		func() any { return new(actions.SendListInput) }},
	{"WHATSAPP_SEND_LOCATION", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★name:string", "★address:string", "★latitude:string|number", "★longitude:string|number"},
		func() any { return new(actions.SendLocationInput) }},
	{"WHATSAPP_SEND_MEDIA", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★media_type:string", "★link:string", "caption:string"}, func() any { return new(actions.SendMediaInput) }},
	{"WHATSAPP_SEND_MEDIA_BY_ID", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★media_type:string", "★media_id:string", "caption:string", "filename:string", "reply_to_message_id:string"},
		func() any { return new(actions.SendMediaByIDInput) }},
	{"WHATSAPP_SEND_MESSAGE", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★text:string", "preview_url:boolean", "message_id:string"}, func() any { return new(actions.SendMessageInput) }},
	{"WHATSAPP_SEND_REPLY", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★text:string", "★reply_to_message_id:string", "preview_url:boolean"}, func() any { return new(actions.SendReplyInput) }},
	{"WHATSAPP_SEND_TEMPLATE_MESSAGE", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★template_name:string", "language_code:string", "components:array"}, func() any { return new(actions.SendTemplateInput) }},
	{"WHATSAPP_UPLOAD_MEDIA", actions.ToolsetMedia,
		[]string{"★phone_number_id:string", "★media_type:string", "★file_to_upload:object"}, func() any { return new(actions.UploadMediaInput) }},
	// The conversation actions (actions.ConversationActions).
	// The interactive sends issue 13 added (docs/cloud-api.md#interactive-messages).
	{"WHATSAPP_SEND_CTA_URL", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★body_text:string", "★button_text:string", "★url:string", "header_text:string", "header_media:object", "footer_text:string", "reply_to_message_id:string"},
		func() any { return new(actions.SendCTAURLInput) }},
	{"WHATSAPP_SEND_LOCATION_REQUEST", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★body_text:string", "reply_to_message_id:string"},
		func() any { return new(actions.SendLocationRequestInput) }},
	{"WHATSAPP_SEND_FLOW", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★flow_cta:string", "★body_text:string", "flow_id:string", "flow_name:string", "header_text:string", "footer_text:string", "mode:string", "flow_token:string", "flow_action:string", "screen:string", "data:object", "reply_to_message_id:string"},
		func() any { return new(actions.SendFlowInput) }},
	{"WHATSAPP_SEND_ADDRESS_REQUEST", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★body_text:string", "★country:string", "values:object", "saved_addresses:array", "validation_errors:object", "reply_to_message_id:string"},
		func() any { return new(actions.SendAddressRequestInput) }},
	{"WHATSAPP_SEND_CHOICES", actions.ToolsetMessages,
		[]string{"★to_number:string", "★phone_number_id:string", "★question:string", "★options:array", "button_label:string", "section_title:string", "reply_to_message_id:string"},
		func() any { return new(actions.SendChoicesInput) }},
	{"WHATSAPP_MARK_AS_READ", actions.ToolsetConversations,
		[]string{"★phone_number_id:string", "★message_id:string", "typing_indicator:boolean"}, func() any { return new(actions.MarkReadInput) }},
	{"WHATSAPP_SEND_REACTION", actions.ToolsetConversations,
		[]string{"★to_number:string", "★phone_number_id:string", "★message_id:string", "★emoji:string"}, func() any { return new(actions.SendReactionInput) }},
}

type schemaDoc struct {
	Type       any                        `json:"type"`
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
	Enum       []any                      `json:"enum"`
	Default    any                        `json:"default"`
	Items      json.RawMessage            `json:"items"`
	OneOf      any                        `json:"oneOf"`
	AnyOf      any                        `json:"anyOf"`
	AllOf      any                        `json:"allOf"`
	AddlProps  any                        `json:"additionalProperties"`
}

// typeName is a schema's type, a type array joined with "|" (string|number).
func typeName(typ any) string {
	if list, ok := typ.([]any); ok {
		names := make([]string, len(list))
		for i, n := range list {
			names[i] = fmt.Sprint(n)
		}
		return strings.Join(names, "|")
	}
	return fmt.Sprint(typ)
}

func parseSchema(t *testing.T, b []byte) schemaDoc {
	t.Helper()
	var s schemaDoc
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s
}

func compileSchema(t *testing.T, what string, b []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: not JSON: %v", what, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	loc := "mem:///" + strings.ReplaceAll(what, " ", "_") + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		t.Fatalf("%s does not compile as JSON Schema 2020-12: %v", what, err)
	}
	return s
}

func validateJSON(t *testing.T, what string, s *jsonschema.Schema, instance []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(instance))
	if err != nil {
		t.Fatalf("%s: not JSON: %v", what, err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s does not validate:\n%s\n%v", what, instance, err)
	}
}

func TestCatalogNames(t *testing.T) {
	if n, m := len(actions.All(&actions.Deps{})), len(actions.ConversationActions(&actions.Deps{})); n != 19 || m != 2 {
		t.Fatalf("%d tools in All and %d conversation actions, want 19 and 2", n, m)
	}
	all := allTools(&actions.Deps{})
	var got, want []string
	seen := map[string]bool{}
	for _, tl := range all {
		if seen[tl.Name] {
			t.Errorf("duplicate tool name %s", tl.Name)
		}
		seen[tl.Name] = true
		got = append(got, tl.Name)
	}
	for _, c := range catalogSpec {
		want = append(want, c.name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("tool names:\n got  %v\n want %v", got, want)
	}
}

func TestCatalogDeclarations(t *testing.T) {
	byName := map[string]tools.Tool{}
	for _, tl := range allTools(&actions.Deps{}) {
		byName[tl.Name] = tl
	}
	known := map[string]bool{"WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER": true, "WHATSAPP_MEDIA_DIR": true,
		"WHATSAPP_WABA_ID": true, "WHATSAPP_ACCESS_TOKEN": true, "WHATSAPP_GRAPH_URL": true}
	for _, c := range catalogSpec {
		known[c.name] = true
	}
	mention := regexp.MustCompile(`WHATSAPP_[A-Z_]+[A-Z]`)
	for _, c := range catalogSpec {
		t.Run(c.name, func(t *testing.T) {
			tl := byName[c.name]
			if strings.TrimSpace(tl.Title) == "" || len(tl.Description) < 40 {
				t.Errorf("title %q / description %q too thin", tl.Title, tl.Description)
			}
			// The conversations toolset is declared with the conversation
			// tools of its own package; catalog's TestToolsets checks it.
			declared := c.toolset == actions.ToolsetConversations ||
				slices.ContainsFunc(catalog.About.Toolsets, func(ts tools.Toolset) bool { return ts.Name == tl.Toolset })
			if tl.Toolset != c.toolset || !declared {
				t.Errorf("toolset %q, want %q (a toolset of catalog.About)", tl.Toolset, c.toolset)
			}
			a := tl.Annotations
			switch {
			case strings.HasPrefix(c.name, "WHATSAPP_GET_"):
				if !a.ReadOnly || a.Destructive || !a.Idempotent {
					t.Errorf("read tool annotations %+v", a)
				}
			case c.name == "WHATSAPP_DELETE_MESSAGE_TEMPLATE":
				if a.ReadOnly || !a.Destructive {
					t.Errorf("delete annotations %+v", a)
				}
			case c.name == "WHATSAPP_MARK_AS_READ":
				if a.ReadOnly || a.Destructive || !a.Idempotent {
					t.Errorf("mark-as-read annotations %+v: a write, destroying nothing, the same when repeated", a)
				}
			default:
				if a.ReadOnly || a.Destructive || a.Idempotent {
					t.Errorf("write annotations %+v: not read-only, not destructive, not idempotent (a resend sends twice)", a)
				}
			}
			if !a.OpenWorld {
				t.Errorf("every tool reaches Meta: openWorld must be true")
			}
			if want := c.name == "WHATSAPP_GET_MESSAGE_TEMPLATES" || c.name == "WHATSAPP_GET_PHONE_NUMBERS"; tl.ListData != want {
				t.Errorf("ListData = %v", tl.ListData)
			}
			for _, m := range mention.FindAllString(tl.Description+string(tl.InputSchema), -1) {
				if !known[m] {
					t.Errorf("mentions %s, which is neither a tool nor a setting", m)
				}
			}

			// Input schema.
			in := parseSchema(t, tl.InputSchema)
			if in.Type != "object" || in.AddlProps != false {
				t.Errorf("input schema type %v, additionalProperties %v", in.Type, in.AddlProps)
			}
			if in.OneOf != nil || in.AnyOf != nil || in.AllOf != nil {
				t.Errorf("top-level oneOf/anyOf/allOf in the input schema")
			}
			var wantReq []string
			for _, spec := range c.inputs {
				name, typ, _ := strings.Cut(strings.TrimPrefix(spec, "★"), ":")
				if strings.HasPrefix(spec, "★") {
					wantReq = append(wantReq, name)
				}
				p, ok := in.Properties[name]
				if !ok {
					t.Errorf("input %s missing from the schema", name)
					continue
				}
				if ps := parseSchema(t, p); typeName(ps.Type) != typ {
					t.Errorf("input %s has type %v, want %s", name, ps.Type, typ)
				}
			}
			gotReq := append([]string(nil), in.Required...)
			sort.Strings(gotReq)
			sort.Strings(wantReq)
			if strings.Join(gotReq, ",") != strings.Join(wantReq, ",") {
				t.Errorf("required = %v, want the ★ inputs of docs/cloud-api.md#the-catalog %v", gotReq, wantReq)
			}
			inSchema := compileSchema(t, c.name+" input", tl.InputSchema)

			// Output schema.
			out := parseSchema(t, tl.OutputSchema)
			// The envelope names successful and data without requiring
			// them: the instructions say every result has both.
			if _, ok := out.Properties["successful"]; out.Type != "object" || !ok || len(out.Required) > 0 {
				t.Errorf("output schema: type %v required %v successful %v", out.Type, out.Required, ok)
			}
			data := parseSchema(t, out.Properties["data"])
			if wantType := map[bool]string{true: "array", false: "object"}[tl.ListData]; data.Type != wantType {
				t.Errorf("data type %v, want %s", data.Type, wantType)
			}
			if _, hasPaging := out.Properties["paging"]; hasPaging != tl.ListData {
				t.Errorf("paging in the output schema: %v", hasPaging)
			}
			compileSchema(t, c.name+" output", tl.OutputSchema)

			// Example: valid by the schema and by Decode+Validate.
			if len(tl.Example) == 0 {
				t.Fatal("no example")
			}
			validateJSON(t, "example", inSchema, tl.Example)
			v := c.newIn()
			if err := tools.Decode(tl.Example, v); err != nil {
				t.Errorf("example does not decode: %v", err)
			} else if err := tools.Validate(v); err != nil {
				t.Errorf("example does not validate: %v", err)
			}
		})
	}
}

// TestCatalogEnums pins the enums docs/cloud-api.md#the-catalog fixes.
func TestCatalogEnums(t *testing.T) {
	byName := map[string]tools.Tool{}
	for _, tl := range actions.All(&actions.Deps{}) {
		byName[tl.Name] = tl
	}
	prop := func(tool, name string) schemaDoc {
		return parseSchema(t, parseSchema(t, byName[tool].InputSchema).Properties[name])
	}
	enum := func(s schemaDoc) string { return fmt.Sprint(s.Enum) }
	mediaTypes := "[audio document image sticker video]"
	for _, tool := range []string{"WHATSAPP_SEND_MEDIA", "WHATSAPP_SEND_MEDIA_BY_ID", "WHATSAPP_UPLOAD_MEDIA"} {
		if got := enum(prop(tool, "media_type")); got != mediaTypes {
			t.Errorf("%s media_type enum %s", tool, got)
		}
	}
	if got := enum(prop("WHATSAPP_CREATE_MESSAGE_TEMPLATE", "category")); got != "[AUTHENTICATION MARKETING UTILITY]" {
		t.Errorf("category enum %s", got)
	}
	if got := enum(prop("WHATSAPP_GET_MESSAGE_TEMPLATES", "status")); got != "[APPROVED PENDING REJECTED DISABLED PAUSED LIMIT_EXCEEDED]" {
		t.Errorf("status enum %s", got)
	}
	// The 111 codes are the validator's (langcode); the schema gives their
	// shape, once per field instead of 900 bytes.
	for _, lp := range [][2]string{{"WHATSAPP_SEND_TEMPLATE_MESSAGE", "language_code"}, {"WHATSAPP_CREATE_MESSAGE_TEMPLATE", "language"}, {"WHATSAPP_GET_MESSAGE_TEMPLATES", "language"}} {
		var lc struct {
			Enum    []any  `json:"enum"`
			Pattern string `json:"pattern"`
			Default any    `json:"default"`
		}
		json.Unmarshal(parseSchema(t, byName[lp[0]].InputSchema).Properties[lp[1]], &lc)
		if len(lc.Enum) != 0 || !strings.Contains(lc.Pattern, "[a-z]{2,3}(_[A-Z]{2})?") {
			t.Errorf("%s %s: enum of %d, pattern %q; want the codes' shape as a pattern", lp[0], lp[1], len(lc.Enum), lc.Pattern)
		}
		if lp[1] == "language_code" && lc.Default != "en_US" {
			t.Errorf("language_code default %v", lc.Default)
		}
	}
	for _, p := range []string{"limit"} {
		for _, tool := range []string{"WHATSAPP_GET_MESSAGE_TEMPLATES", "WHATSAPP_GET_PHONE_NUMBERS"} {
			if d := prop(tool, p).Default; d != float64(25) {
				t.Errorf("%s limit default %v, want 25", tool, d)
			}
		}
	}
	contacts := parseSchema(t, prop("WHATSAPP_SEND_CONTACTS", "contacts").Items)
	name := parseSchema(t, contacts.Properties["name"])
	if fmt.Sprint(name.Required) != "[formatted_name]" {
		t.Errorf("contacts[].name.required = %v", name.Required)
	}
	for _, k := range []string{"name", "addresses", "birthday", "emails", "org", "phones", "urls"} {
		if contacts.Properties[k] == nil {
			t.Errorf("contacts[] lacks %s", k)
		}
	}
	file := prop("WHATSAPP_UPLOAD_MEDIA", "file_to_upload")
	for _, k := range []string{"name", "mimetype", "content", "path"} {
		if file.Properties[k] == nil {
			t.Errorf("file_to_upload lacks %s", k)
		}
	}
}

// TestCatalogDescriptions: each description carries the Meta rule that
// bites; the rules several tools share are said in full once, in a hint
// the tool carries (hints below).
func TestCatalogDescriptions(t *testing.T) {
	want := map[string][]string{
		"WHATSAPP_SEND_MESSAGE":            {"24-hour"},
		"WHATSAPP_SEND_MEDIA":              {"24-hour", "131053"},
		"WHATSAPP_SEND_TEMPLATE_MESSAGE":   {"24-hour", "APPROVED"},
		"WHATSAPP_CREATE_MESSAGE_TEMPLATE": {"APPROVED", "review"},
		"WHATSAPP_GET_MEDIA":               {"5 minutes"},
		"WHATSAPP_DELETE_MESSAGE_TEMPLATE": {"Permanently"},
		"WHATSAPP_GET_PHONE_NUMBERS":       {"phone_number_id"},
		"WHATSAPP_MARK_AS_READ":            {"every earlier", "25 s", "only when a reply follows"},
		"WHATSAPP_SEND_REACTION":           {"one emoji", `""`, "24-hour"},
		"WHATSAPP_GET_TEMPLATE_STATUS":     {"webhook_update"},
	}
	hints := map[string][]string{
		"WHATSAPP_SEND_MESSAGE":          {"131047", "WHATSAPP_SEND_TEMPLATE_MESSAGE", "+16505551234", "WHATSAPP_GET_PHONE_NUMBERS"},
		"WHATSAPP_SEND_MEDIA":            {"131047", "≤5 MB"},
		"WHATSAPP_SEND_TEMPLATE_MESSAGE": {"131047", "WHATSAPP_GET_MESSAGE_TEMPLATES"},
		"WHATSAPP_UPLOAD_MEDIA":          {"≤100 MB"},
		"WHATSAPP_GET_PHONE_NUMBERS":     {"paging.cursors.after"},
		"WHATSAPP_SEND_REACTION":         {"131047"},
		"WHATSAPP_MARK_AS_READ":          {"WHATSAPP_GET_PHONE_NUMBERS"},
	}
	for _, tl := range allTools(&actions.Deps{}) {
		for _, w := range want[tl.Name] {
			if !strings.Contains(tl.Description, w) {
				t.Errorf("%s description lacks %q", tl.Name, w)
			}
		}
		all := strings.Join(tl.Hints, "\n")
		for _, w := range hints[tl.Name] {
			if !strings.Contains(all, w) {
				t.Errorf("%s hints lack %q", tl.Name, w)
			}
		}
		// A send that names the window in brief carries the rule in full.
		if strings.Contains(tl.Description, "24-hour window") && strings.HasPrefix(tl.Name, "WHATSAPP_SEND_") && !strings.Contains(all, "131047") {
			t.Errorf("%s names the 24-hour window but carries no hint explaining it", tl.Name)
		}
	}
}

// TestCatalogResults runs every tool's example against the fake: the
// success envelope, a Graph failure envelope and an input failure envelope
// all validate against the tool's output schema.
func TestCatalogResults(t *testing.T) {
	for _, c := range catalogSpec {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			tl := findTool(t, d, c.name)
			out := compileSchema(t, c.name+" output", tl.OutputSchema)

			res := tl.Call(t.Context(), tl.Example)
			if !res.Successful {
				t.Fatalf("example failed: %s", res.Error)
			}
			if len(f.Requests()) == 0 {
				t.Error("example made no request")
			}
			validateJSON(t, "success envelope", out, res.JSON())

			f.FailAll(400, metaError(100, 0))
			res = tl.Call(t.Context(), tl.Example)
			if res.Successful || !strings.Contains(res.Error, "FBTRACE100") {
				t.Errorf("graph failure: %s", res.JSON())
			}
			validateJSON(t, "graph failure envelope", out, res.JSON())

			res = tl.Call(t.Context(), json.RawMessage(`{"no_such_input":1}`))
			if res.Successful {
				t.Errorf("bogus input succeeded")
			}
			validateJSON(t, "input failure envelope", out, res.JSON())
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// fileWritingInputs are, for each read-only tool with inputs that write a
// file, inputs that would: TestReadOnlyWritesNothing runs them on a
// read-only server. A read-only tool whose schema mentions the media
// directory must be listed here.
var fileWritingInputs = map[string][]string{
	"WHATSAPP_GET_MEDIA": {
		`{"media_id":"1013859600285441","download":true,"save_as":"photo.jpg"}`,
	},
}

// TestReadOnlyWritesNothing: on a read-only server (--read-only reaches the
// tools as Deps.ReadOnly), every tool annotated read-only, run with its
// example and with each of its file-writing inputs, leaves the media
// directory as it was, and refuses those inputs saying why.
func TestReadOnlyWritesNothing(t *testing.T) {
	for _, tl := range actions.All(&actions.Deps{}) {
		if !tl.Annotations.ReadOnly {
			if _, listed := fileWritingInputs[tl.Name]; listed {
				t.Errorf("%s is listed in fileWritingInputs but is not annotated read-only", tl.Name)
			}
			continue
		}
		writing := fileWritingInputs[tl.Name]
		if strings.Contains(string(tl.InputSchema), "media directory") && len(writing) == 0 {
			t.Errorf("%s is annotated read-only and its schema mentions the media directory: list its file-writing inputs in fileWritingInputs", tl.Name)
		}
		t.Run(tl.Name, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			d.ReadOnly = true
			for _, in := range append([]string{string(tl.Example)}, writing...) {
				res := call(t, d, tl.Name, in)
				entries, err := os.ReadDir(d.MediaDir)
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) > 0 {
					t.Errorf("%s wrote %s in the media directory of a read-only server", in, entries[0].Name())
					for _, e := range entries {
						os.Remove(filepath.Join(d.MediaDir, e.Name()))
					}
				}
				if slices.Contains(writing, in) && (res.Successful || res.Kind != tools.KindInvalidInput || !strings.Contains(res.Error, "read-only")) {
					t.Errorf("%s on a read-only server: %s (kind %q), want an input error naming read-only mode", in, res.JSON(), res.Kind)
				}
			}
		})
	}
}
