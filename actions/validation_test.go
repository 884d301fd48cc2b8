package actions_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// checkInvalid asserts a failed result that names field (and, when given,
// a phrase of its rule) and that the Graph API received nothing.
func checkInvalid(t *testing.T, res tools.Result, f *fakeGraph, field, ruleHas string) {
	t.Helper()
	if res.Successful {
		t.Fatalf("succeeded, want an error naming %s: %s", field, res.JSON())
	}
	if !strings.Contains(res.Error, "`"+field+"`") {
		t.Errorf("error does not name `%s`:\n%s", field, res.Error)
	}
	if ruleHas != "" && !strings.Contains(res.Error, ruleHas) {
		t.Errorf("error lacks %q:\n%s", ruleHas, res.Error)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests reached the Graph API, want 0", n)
	}
}

// bases are valid inputs; each invalid case breaks one thing.
var bases = map[string]string{
	"WHATSAPP_SEND_MESSAGE":             textArgs,
	"WHATSAPP_SEND_REPLY":               `{` + recipient + `,"text":"hi","reply_to_message_id":"` + wamid + `"}`,
	"WHATSAPP_SEND_MEDIA":               `{` + recipient + `,"media_type":"image","link":"https://example.com/a.png"}`,
	"WHATSAPP_SEND_MEDIA_BY_ID":         `{` + recipient + `,"media_type":"image","media_id":"1376223850470843"}`,
	"WHATSAPP_SEND_LOCATION":            `{` + recipient + `,"name":"Philz","address":"101 Forest Ave","latitude":"37.44","longitude":"-122.16"}`,
	"WHATSAPP_SEND_CONTACTS":            `{` + recipient + `,"contacts":[{"name":{"formatted_name":"Ana"}}]}`,
	"WHATSAPP_SEND_INTERACTIVE_BUTTONS": `{` + recipient + `,"body_text":"Coming?","buttons":[{"id":"y","title":"Yes"},{"id":"n","title":"No"}]}`,
	"WHATSAPP_SEND_INTERACTIVE_LIST":    `{` + recipient + `,"body_text":"Pick","button_text":"Open","sections":[{"title":"A","rows":[{"id":"a1","title":"One"}]},{"title":"B","rows":[{"id":"b1","title":"Two"}]}]}`,
	"WHATSAPP_SEND_TEMPLATE_MESSAGE":    `{` + recipient + `,"template_name":"hello_world","language_code":"en_US"}`,
	"WHATSAPP_CREATE_MESSAGE_TEMPLATE":  `{"name":"order_shipped","category":"UTILITY","language":"en_US","components":[{"type":"BODY","text":"Hi {{1}}, your order shipped."}]}`,
	"WHATSAPP_DELETE_MESSAGE_TEMPLATE":  `{"template_id":"` + templateID + `"}`,
	"WHATSAPP_GET_TEMPLATE_STATUS":      `{"template_id":"` + templateID + `"}`,
	"WHATSAPP_GET_MESSAGE_TEMPLATES":    `{}`,
	"WHATSAPP_GET_PHONE_NUMBERS":        `{}`,
	"WHATSAPP_GET_PHONE_NUMBER":         `{"phone_number_id":"` + pnID + `"}`,
	"WHATSAPP_GET_BUSINESS_PROFILE":     `{"phone_number_id":"` + pnID + `"}`,
	"WHATSAPP_GET_MEDIA":                `{"media_id":"` + mediaID + `"}`,
	"WHATSAPP_GET_MEDIA_INFO":           `{"media_id":"` + mediaID + `"}`,
	"WHATSAPP_MARK_AS_READ":             `{"phone_number_id":"` + pnID + `","message_id":"` + wamid + `"}`,
	"WHATSAPP_SEND_REACTION":            `{` + recipient + `,"message_id":"` + wamid + `","emoji":"👍"}`,
}

func buttons(n int) string {
	var b []string
	for i := 0; i < n; i++ {
		b = append(b, fmt.Sprintf(`{"id":"b%d","title":"Button %d"}`, i, i))
	}
	return "[" + strings.Join(b, ",") + "]"
}

// components renders template components as a JSON array.
func components(c ...string) string { return "[" + strings.Join(c, ",") + "]" }

// TestInvalidInputs covers the rules of docs/cloud-api.md#the-catalog: each case fails naming
// the field, and nothing reaches the Graph API.
func TestInvalidInputs(t *testing.T) {
	const (
		send  = "WHATSAPP_SEND_MESSAGE"
		media = "WHATSAPP_SEND_MEDIA"
		byID  = "WHATSAPP_SEND_MEDIA_BY_ID"
		loc   = "WHATSAPP_SEND_LOCATION"
		btn   = "WHATSAPP_SEND_INTERACTIVE_BUTTONS"
		list  = "WHATSAPP_SEND_INTERACTIVE_LIST"
		tpl   = "WHATSAPP_SEND_TEMPLATE_MESSAGE"
		cre   = "WHATSAPP_CREATE_MESSAGE_TEMPLATE"
		con   = "WHATSAPP_SEND_CONTACTS"
	)
	body := `{"type":"BODY","text":"Hi {{1}}, your order shipped."}`
	tests := []struct {
		name    string
		tool    string
		args    string
		field   string
		ruleHas string
	}{
		// Phone numbers and ids.
		{"too few digits", send, merge(textArgs, "to_number", "12345"), "to_number", "country code"},
		{"letters in the number", send, merge(textArgs, "to_number", "+1 650 CALL NOW"), "to_number", ""},
		{"too many digits", send, merge(textArgs, "to_number", "+1234567890123456"), "to_number", ""},
		{"missing to_number", send, merge(textArgs, "to_number", nil), "to_number", "required"},
		{"phone number instead of its id", send, merge(textArgs, "phone_number_id", "+16505551234"), "phone_number_id", "WHATSAPP_GET_PHONE_NUMBERS"},
		// Text.
		{"text of 4097 characters", send, merge(textArgs, "text", strings.Repeat("a", 4097)), "text", "4096"},
		{"blank text", send, merge(textArgs, "text", "   "), "text", "required"},
		{"reply without the message id", "WHATSAPP_SEND_REPLY", merge(bases["WHATSAPP_SEND_REPLY"], "reply_to_message_id", nil), "reply_to_message_id", ""},
		// Inputs of the wrong shape.
		{"unknown input field", send, merge(textArgs, "txt", "hi"), "txt", "known inputs"},
		{"wrong JSON type", "WHATSAPP_GET_MESSAGE_TEMPLATES", `{"limit":"x"}`, "limit", "integer"},
		{"wrong JSON type for a boolean", send, merge(textArgs, "preview_url", "yes"), "preview_url", "boolean"},
		{"arguments not an object", send, `["hi"]`, "(arguments)", ""},
		// Media.
		{"caption on audio", media, merge(bases[media], "media_type", "audio", "caption", "listen"), "caption", "image, video and document"},
		{"caption on sticker", media, merge(bases[media], "media_type", "sticker", "caption", "lol"), "caption", ""},
		{"caption on sticker by id", byID, merge(bases[byID], "media_type", "sticker", "caption", "lol"), "caption", ""},
		{"caption of 1025 characters", media, merge(bases[media], "caption", strings.Repeat("c", 1025)), "caption", "1024"},
		{"unknown media type", media, merge(bases[media], "media_type", "gif"), "media_type", "audio, document, image, sticker, video"},
		{"link not a URL", media, merge(bases[media], "link", "aloe.png"), "link", ""},
		{"link not http(s)", media, merge(bases[media], "link", "ftp://example.com/a.png"), "link", ""},
		{"media id not numeric", byID, merge(bases[byID], "media_id", "abc"), "media_id", ""},
		{"filename on an image", byID, merge(bases[byID], "filename", "a.png"), "filename", "document"},
		// Location.
		{"latitude 91", loc, merge(bases[loc], "latitude", "91"), "latitude", "-90 and 90"},
		{"longitude -181", loc, merge(bases[loc], "longitude", "-181"), "longitude", "-180 and 180"},
		{"latitude abc", loc, merge(bases[loc], "latitude", "abc"), "latitude", ""},
		{"latitude a boolean", loc, merge(bases[loc], "latitude", true), "latitude", "string or a number"},
		{"location without a name", loc, merge(bases[loc], "name", nil), "name", ""},
		{"location without an address", loc, merge(bases[loc], "address", ""), "address", ""},
		// Contacts.
		{"no contacts", con, merge(bases[con], "contacts", raw(`[]`)), "contacts", ""},
		{"258 contacts", con, merge(bases[con], "contacts", raw("["+strings.TrimSuffix(strings.Repeat(`{"name":{"formatted_name":"A"}},`, 258), ",")+"]")), "contacts", "257"},
		{"contact without formatted_name", con, merge(bases[con], "contacts", raw(`[{"name":{"first_name":"Ana"}}]`)), "contacts[0].name.formatted_name", "required"},
		{"contact birthday format", con, merge(bases[con], "contacts", raw(`[{"name":{"formatted_name":"A"},"birthday":"23/01/1999"}]`)), "contacts[0].birthday", "YYYY-MM-DD"},
		{"contact email", con, merge(bases[con], "contacts", raw(`[{"name":{"formatted_name":"A"},"emails":[{"email":"not-an-email"}]}]`)), "contacts[0].emails[0].email", ""},
		{"contact wa_id", con, merge(bases[con], "contacts", raw(`[{"name":{"formatted_name":"A"},"phones":[{"phone":"+1","wa_id":"wa16505551234"}]}]`)), "contacts[0].phones[0].wa_id", "digits"},
		// Buttons.
		{"no buttons", btn, merge(bases[btn], "buttons", raw(`[]`)), "buttons", ""},
		{"4 buttons", btn, merge(bases[btn], "buttons", raw(buttons(4))), "buttons", "at most 3"},
		{"button title of 21", btn, merge(bases[btn], "buttons", raw(`[{"id":"a","title":"`+strings.Repeat("t", 21)+`"}]`)), "buttons[0].title", "20"},
		{"duplicate button titles", btn, merge(bases[btn], "buttons", raw(`[{"id":"a","title":"Yes"},{"id":"b","title":"Yes"}]`)), "buttons[1].title", "unique"},
		{"duplicate button ids", btn, merge(bases[btn], "buttons", raw(`[{"id":"a","title":"Yes"},{"id":"a","title":"No"}]`)), "buttons[1].id", "unique"},
		{"button id with spaces around", btn, merge(bases[btn], "buttons", raw(`[{"id":" a","title":"Yes"}]`)), "buttons[0].id", "spaces"},
		{"button without a title", btn, merge(bases[btn], "buttons", raw(`[{"id":"a"}]`)), "buttons[0].title", "required"},
		{"buttons header of 61", btn, merge(bases[btn], "header_text", strings.Repeat("h", 61)), "header_text", "60"},
		{"buttons footer of 61", btn, merge(bases[btn], "footer_text", strings.Repeat("f", 61)), "footer_text", "60"},
		{"buttons body of 1025", btn, merge(bases[btn], "body_text", strings.Repeat("b", 1025)), "body_text", "1024"},
		// Lists.
		{"no sections", list, merge(bases[list], "sections", raw(`[]`)), "sections", ""},
		{"11 sections", list, merge(bases[list], "sections", raw("["+strings.TrimSuffix(strings.Repeat(`{"title":"S","rows":[{"id":"x","title":"X"}]},`, 11), ",")+"]")), "sections", ""},
		{"more than 10 rows in total", list, merge(bases[list], "sections", raw(`[{"title":"A","rows":`+rows(6, "a")+`},{"title":"B","rows":`+rows(5, "b")+`}]`)), "sections", "10 rows in total"},
		{"missing section titles with 2 sections", list, merge(bases[list], "sections", raw(`[{"rows":[{"id":"a","title":"A"}]},{"title":"B","rows":[{"id":"b","title":"B"}]}]`)), "sections[0].title", "more than one section"},
		{"section without rows", list, merge(bases[list], "sections", raw(`[{"title":"A","rows":[]}]`)), "sections[0].rows", ""},
		{"row title of 25", list, merge(bases[list], "sections", raw(`[{"rows":[{"id":"a","title":"`+strings.Repeat("r", 25)+`"}]}]`)), "sections[0].rows[0].title", "24"},
		{"row description of 73", list, merge(bases[list], "sections", raw(`[{"rows":[{"id":"a","title":"A","description":"`+strings.Repeat("d", 73)+`"}]}]`)), "sections[0].rows[0].description", "72"},
		{"row id of 201", list, merge(bases[list], "sections", raw(`[{"rows":[{"id":"`+strings.Repeat("i", 201)+`","title":"A"}]}]`)), "sections[0].rows[0].id", "200"},
		{"duplicate row ids across sections", list, merge(bases[list], "sections", raw(`[{"title":"A","rows":[{"id":"x","title":"A"}]},{"title":"B","rows":[{"id":"x","title":"B"}]}]`)), "sections[1].rows[0].id", "unique"},
		{"section title of 25", list, merge(bases[list], "sections", raw(`[{"title":"`+strings.Repeat("s", 25)+`","rows":[{"id":"a","title":"A"}]}]`)), "sections[0].title", "24"},
		{"list button text of 21", list, merge(bases[list], "button_text", strings.Repeat("b", 21)), "button_text", "20"},
		{"list body of 1025", list, merge(bases[list], "body_text", strings.Repeat("b", 1025)), "body_text", "1024"},
		// Template sends.
		{"template name with uppercase", tpl, merge(bases[tpl], "template_name", "Hello_World"), "template_name", "lowercase"},
		{"template name with hyphen", tpl, merge(bases[tpl], "template_name", "hello-world"), "template_name", "lowercase"},
		{"language with a hyphen", tpl, merge(bases[tpl], "language_code", "en-US"), "language_code", "en_US"},
		{"component type", tpl, merge(bases[tpl], "components", raw(`[{"type":"footer","parameters":[{"type":"text","text":"x"}]}]`)), "components[0].type", ""},
		{"text parameter without text", tpl, merge(bases[tpl], "components", raw(`[{"type":"body","parameters":[{"type":"text"}]}]`)), "components[0].parameters[0].text", "required"},
		{"button parameters without sub_type and index", tpl, merge(bases[tpl], "components", raw(`[{"type":"button","parameters":[{"type":"payload","payload":"x"}]}]`)), "components[0].sub_type", "required"},
		{"image parameter without image", tpl, merge(bases[tpl], "components", raw(`[{"type":"header","parameters":[{"type":"image"}]}]`)), "components[0].parameters[0].image", "required"},
		{"media parameter with both id and link", tpl, merge(bases[tpl], "components", raw(`[{"type":"header","parameters":[{"type":"image","image":{"id":"1","link":"https://x/y.png"}}]}]`)), "components[0].parameters[0].image.id", ""},
		{"component without parameters", tpl, merge(bases[tpl], "components", raw(`[{"type":"body","parameters":[]}]`)), "components[0].parameters", ""},
		// Template creation.
		{"create: name with uppercase", cre, merge(bases[cre], "name", "Order_Shipped"), "name", "lowercase"},
		{"create: name with hyphen", cre, merge(bases[cre], "name", "order-shipped"), "name", "lowercase"},
		{"create: name of 513", cre, merge(bases[cre], "name", strings.Repeat("a", 513)), "name", ""},
		{"create: category", cre, merge(bases[cre], "category", "PROMO"), "category", "AUTHENTICATION, MARKETING, UTILITY"},
		{"create: language", cre, merge(bases[cre], "language", "english"), "language", ""},
		{"create: no components", cre, merge(bases[cre], "components", raw(`[]`)), "components", ""},
		{"create: two BODYs", cre, merge(bases[cre], "components", raw(components(body, body))), "components", "exactly one BODY"},
		{"create: no BODY", cre, merge(bases[cre], "components", raw(components(`{"type":"FOOTER","text":"bye"}`))), "components", "exactly one BODY"},
		{"create: BODY of 1025", cre, merge(bases[cre], "components", raw(components(`{"type":"BODY","text":"`+strings.Repeat("b", 1025)+`"}`))), "components[0].text", "1024"},
		{"create: header text of 61", cre, merge(bases[cre], "components", raw(components(`{"type":"HEADER","format":"TEXT","text":"`+strings.Repeat("h", 61)+`"}`, body))), "components[0].text", "60"},
		{"create: header with two variables", cre, merge(bases[cre], "components", raw(components(`{"type":"HEADER","format":"TEXT","text":"A {{1}} and {{2}} b"}`, body))), "components[0].text", "one variable"},
		{"create: header without format", cre, merge(bases[cre], "components", raw(components(`{"type":"HEADER","text":"Hello"}`, body))), "components[0].format", ""},
		{"create: footer with a variable", cre, merge(bases[cre], "components", raw(components(body, `{"type":"FOOTER","text":"Reply {{1}} to stop"}`))), "components[1].text", "variables"},
		{"create: footer of 61", cre, merge(bases[cre], "components", raw(components(body, `{"type":"FOOTER","text":"`+strings.Repeat("f", 61)+`"}`))), "components[1].text", "60"},
		{"create: two footers", cre, merge(bases[cre], "components", raw(components(body, `{"type":"FOOTER","text":"a"}`, `{"type":"FOOTER","text":"b"}`))), "components", "at most one FOOTER"},
		{"create: 11 buttons", cre, merge(bases[cre], "components", raw(components(body, `{"type":"BUTTONS","buttons":`+quickReplies(11)+`}`))), "components[1].buttons", "at most 10"},
		{"create: quick replies not grouped", cre, merge(bases[cre], "components", raw(components(body, `{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"A"},{"type":"URL","text":"Go","url":"https://x.com"},{"type":"QUICK_REPLY","text":"B"}]}`))), "components[1].buttons[2]", "grouped"},
		{"create: three URL buttons", cre, merge(bases[cre], "components", raw(components(body, `{"type":"BUTTONS","buttons":[{"type":"URL","text":"A","url":"https://a"},{"type":"URL","text":"B","url":"https://b"},{"type":"URL","text":"C","url":"https://c"}]}`))), "components[1].buttons", "at most 2 URL"},
		{"create: button text of 26", cre, merge(bases[cre], "components", raw(components(body, `{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"`+strings.Repeat("q", 26)+`"}]}`))), "components[1].buttons[0].text", "25"},
		{"create: BUTTONS without buttons", cre, merge(bases[cre], "components", raw(components(body, `{"type":"BUTTONS"}`))), "components[1].buttons", ""},
		{"create: leading variable", cre, merge(bases[cre], "components", raw(components(`{"type":"BODY","text":"{{1}}, your order shipped."}`))), "components[0].text", "start or end"},
		{"create: trailing variable", cre, merge(bases[cre], "components", raw(components(`{"type":"BODY","text":"Your order {{1}}"}`))), "components[0].text", "start or end"},
		{"create: named variable without NAMED", cre, merge(bases[cre], "components", raw(components(`{"type":"BODY","text":"Hi {{first_name}}, welcome."}`))), "components[0].text", "NAMED"},
		{"create: bad named variable", cre, merge(bases[cre], "parameter_format", "NAMED", "components", raw(components(`{"type":"BODY","text":"Hi {{First Name}}, welcome."}`))), "components[0].text", "lowercase"},
		{"create: component without type", cre, merge(bases[cre], "components", raw(components(body, `{"text":"x"}`))), "components[1].type", ""},
		{"create: parameter_format", cre, merge(bases[cre], "parameter_format", "named"), "parameter_format", ""},
		// Ids and reads.
		{"delete: template id not numeric", "WHATSAPP_DELETE_MESSAGE_TEMPLATE", `{"template_id":"order_update"}`, "template_id", "numeric"},
		{"delete: no template id", "WHATSAPP_DELETE_MESSAGE_TEMPLATE", `{}`, "template_id", "required"},
		{"status: bad fields", "WHATSAPP_GET_TEMPLATE_STATUS", merge(bases["WHATSAPP_GET_TEMPLATE_STATUS"], "fields", "status;name"), "fields", ""},
		{"templates: limit 101", "WHATSAPP_GET_MESSAGE_TEMPLATES", `{"limit":101}`, "limit", "100"},
		{"templates: status", "WHATSAPP_GET_MESSAGE_TEMPLATES", `{"status":"GONE"}`, "status", "APPROVED"},
		{"templates: language", "WHATSAPP_GET_MESSAGE_TEMPLATES", `{"language":"en-US"}`, "language", ""},
		{"phone numbers: limit 0 is defaulted but -1 is not", "WHATSAPP_GET_PHONE_NUMBERS", `{"limit":-1}`, "limit", ""},
		{"phone number: id", "WHATSAPP_GET_PHONE_NUMBER", `{"phone_number_id":"abc"}`, "phone_number_id", ""},
		{"phone number: fields", "WHATSAPP_GET_PHONE_NUMBER", `{"phone_number_id":"` + pnID + `","fields":"id verified_name"}`, "fields", ""},
		{"profile: unknown field", "WHATSAPP_GET_BUSINESS_PROFILE", `{"phone_number_id":"` + pnID + `","fields":"about,nonsense"}`, "fields", "nonsense"},
		{"media: no id", "WHATSAPP_GET_MEDIA", `{}`, "media_id", "required"},
		{"media: save_as without download", "WHATSAPP_GET_MEDIA", merge(bases["WHATSAPP_GET_MEDIA"], "save_as", "a.jpg"), "save_as", "download"},
		{"media: save_as with a directory", "WHATSAPP_GET_MEDIA", merge(bases["WHATSAPP_GET_MEDIA"], "download", true, "save_as", "../a.jpg"), "save_as", "plain file name"},
		{"media info: id", "WHATSAPP_GET_MEDIA_INFO", `{"media_id":"abc"}`, "media_id", ""},
		{"media info: download is not its input", "WHATSAPP_GET_MEDIA_INFO", merge(bases["WHATSAPP_GET_MEDIA_INFO"], "download", true), "download", "known inputs"},
	}
	// One fake for the table: invalid inputs never reach it, and building
	// the catalog once keeps the race detector fast.
	f := newFake(t)
	d := newDeps(t, f)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Reset()
			checkInvalid(t, call(t, d, tt.tool, tt.args), f, tt.field, tt.ruleHas)
		})
	}
	t.Run("every base is valid", func(t *testing.T) {
		for name, args := range bases {
			if res := call(t, d, name, args); !res.Successful {
				t.Errorf("%s %s: %s", name, args, res.Error)
			}
		}
	})
}

// TestAllOffencesAtOnce: one error names every offending field.
func TestAllOffencesAtOnce(t *testing.T) {
	f := newFake(t)
	res := call(t, newDeps(t, f), "WHATSAPP_SEND_INTERACTIVE_BUTTONS",
		`{"to_number":"12","phone_number_id":"x","body_text":"","header_text":"`+strings.Repeat("h", 61)+`","buttons":[{"title":"Same"},{"title":"Same"}]}`)
	for _, field := range []string{"to_number", "phone_number_id", "body_text", "header_text", "buttons[1].title"} {
		if !strings.Contains(res.Error, "`"+field+"`") {
			t.Errorf("error lacks `%s`: %s", field, res.Error)
		}
	}
	if len(f.Requests()) != 0 {
		t.Error("requests were made")
	}
}

// TestPhoneNormalisation: what reaches Meta is always +digits.
func TestPhoneNormalisation(t *testing.T) {
	for in, want := range map[string]string{
		"+1 (650) 555-1234": "+16505551234",
		"16505551234":       "+16505551234",
		" 44 20 7946 0958 ": "+442079460958",
		"+91-98765-43210":   "+919876543210",
	} {
		f := newFake(t)
		res := call(t, newDeps(t, f), "WHATSAPP_SEND_MESSAGE", merge(textArgs, "to_number", in))
		if !res.Successful {
			t.Errorf("%q: %s", in, res.Error)
			continue
		}
		graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{{Method: "POST", Path: sendPath,
			Body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"` + want + `","type":"text","text":{"body":"Hello there"}}`}})
		checkSubset(t, dataOf(t, res), `{"to":"`+want+`"}`)
	}
}

// TestGetMediaSaveAsNeedsMediaDir: refused before any request.
func TestGetMediaSaveAsNeedsMediaDir(t *testing.T) {
	f := newFake(t)
	d := newDeps(t, f)
	d.MediaDir = ""
	res := call(t, d, "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true,"save_as":"a.jpg"}`)
	checkInvalid(t, res, f, "save_as", "WHATSAPP_MEDIA_DIR")
}
