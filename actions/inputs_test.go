package actions_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// phoneCase is one to_number through WHATSAPP_SEND_MESSAGE: sent (to the
// number in sent) or refused (with a rule containing refused); warn is a
// phrase of the one warning expected ("" = no warning).
type phoneCase struct {
	name, in string
	sent     string
	refused  string
	warn     string
}

func checkPhoneCase(t *testing.T, f *fakeGraph, res tools.Result, tc phoneCase) {
	t.Helper()
	if tc.refused != "" {
		checkInvalid(t, res, f, "to_number", tc.refused)
		return
	}
	if !res.Successful {
		t.Fatalf("refused, want sent to %s: %s", tc.sent, res.Error)
	}
	graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{{Method: "POST", Path: sendPath,
		Body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"` + tc.sent + `","type":"text","text":{"body":"Hello there"}}`}})
	switch {
	case tc.warn == "" && len(res.Warnings) != 0:
		t.Errorf("warnings %q, want none", res.Warnings)
	case tc.warn != "" && (len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], tc.warn)):
		t.Errorf("warnings %q, want one containing %q", res.Warnings, tc.warn)
	}
}

// TestToNumberTruth: digits are read as including the country code
// (docs/cloud-api.md#recipient-phone-numbers); a number impossible for its
// country code is refused, a national number of the default region (US) is
// refused with the E.164 form it probably meant, and other numbers that are
// possible but not valid (new ranges, fictional 555 numbers) are sent with a
// warning.
func TestToNumberTruth(t *testing.T) {
	cases := []phoneCase{
		{name: "US E.164", in: "+16505551234", sent: "+16505551234"},
		{name: "US formatted", in: "+1 (650) 555-1234", sent: "+16505551234"},
		{name: "US digits with the country code", in: "16505551234", sent: "+16505551234"},
		{name: "US 00 prefix", in: "001 650 555 1234", sent: "+16505551234"},
		{name: "UK landline", in: "+44 20 7946 0958", sent: "+442079460958"},
		{name: "UK mobile", in: "+44 7911 123456", sent: "+447911123456"},
		{name: "UK without plus", in: "447911123456", sent: "+447911123456"},
		{name: "Singapore mobile", in: "+65 9123 4567", sent: "+6591234567"},
		{name: "India mobile", in: "+91-98765-43210", sent: "+919876543210"},
		{name: "Brazil mobile", in: "+55 11 98765-4321", sent: "+5511987654321"},
		{name: "Brazil mobile without the ninth digit: possible, not valid", in: "+55 11 8765-4321", sent: "+551187654321", warn: "not a valid number"},
		{name: "fictional +1 555 number", in: "+1 555 123 4567", sent: "+15551234567", warn: "not a valid number"},
		{name: "no such country code", in: "+999 123 4567", refused: "country code"},
		{name: "no such country code 28x", in: "+280 1234 5678", refused: "country code"},
		{name: "too short for +44", in: "+44 123", refused: "too short"},
		{name: "too short for +1", in: "+1234567", refused: "too short"},
		{name: "too long for +1", in: "+1 650 555 12345", refused: "too long"},
		{name: "more than 15 digits", in: "+1234567890123456", refused: "15 digits"},
		{name: "letters", in: "+1 650 CALL NOW", refused: "digits"},
		{name: "US national number is not Singapore's", in: "(650) 555-1234", refused: "+16505551234"},
		{name: "US national number with dashes", in: "650-555-1234", refused: "+16505551234"},
		{name: "US national number impossible for +212 (Morocco)", in: "(212) 736-5000", refused: "+12127365000"},
		{name: "US national number under no country code", in: "214 555 1234", refused: "+12145551234"},
		{name: "trunk prefix of another region", in: "07911 123456", refused: "country code"},
	}
	f := newFake(t)
	d := newDeps(t, f)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.Reset()
			checkPhoneCase(t, f, call(t, d, "WHATSAPP_SEND_MESSAGE", merge(textArgs, "to_number", tc.in)), tc)
		})
	}
	t.Run("the refusal says digits are read with their country code", func(t *testing.T) {
		res := call(t, d, "WHATSAPP_SEND_MESSAGE", merge(textArgs, "to_number", "(650) 555-1234"))
		for _, w := range []string{"+6505551234", "country code", "+16505551234"} {
			if !strings.Contains(res.Error, w) {
				t.Errorf("error lacks %q: %s", w, res.Error)
			}
		}
	})
}

// TestToNumberPolicy: the operator's policy (Deps.Phones, from
// WHATSAPP_DEFAULT_REGION and WHATSAPP_NATIONAL_NUMBERS) converts national
// numbers, with a warning, and never touches numbers with their country code.
func TestToNumberPolicy(t *testing.T) {
	f := newFake(t)
	convert := newDeps(t, f)
	convert.Phones = tools.PhonePolicy{ConvertNational: true}
	gb := newDeps(t, f)
	gb.Phones = tools.PhonePolicy{Region: "GB", ConvertNational: true}
	gbRefuse := newDeps(t, f)
	gbRefuse.Phones = tools.PhonePolicy{Region: "GB"}
	for _, tc := range []struct {
		d *actions.Deps
		phoneCase
	}{
		{convert, phoneCase{name: "US national converted", in: "(650) 555-1234", sent: "+16505551234", warn: "read as a US national number and sent to +16505551234"}},
		{convert, phoneCase{name: "US national impossible as +212 converted", in: "(212) 736-5000", sent: "+12127365000", warn: "sent to +12127365000"}},
		{convert, phoneCase{name: "E.164 untouched", in: "+44 20 7946 0958", sent: "+442079460958"}},
		{convert, phoneCase{name: "fictional 555 still sent as given", in: "+1 555 123 4567", sent: "+15551234567", warn: "not a valid number"}},
		{convert, phoneCase{name: "no such country code still refused", in: "+999 123 4567", refused: "country code"}},
		{convert, phoneCase{name: "too short still refused", in: "+44 123", refused: "too short"}},
		{gb, phoneCase{name: "GB national converted", in: "07911 123456", sent: "+447911123456", warn: "GB national number"}},
		{gb, phoneCase{name: "GB: US number with its code untouched", in: "+1 650 555 1234", sent: "+16505551234"}},
		{gbRefuse, phoneCase{name: "GB national refused with its E.164 form", in: "020 7946 0958", refused: "send +442079460958"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.Reset()
			checkPhoneCase(t, f, call(t, tc.d, "WHATSAPP_SEND_MESSAGE", merge(textArgs, "to_number", tc.in)), tc.phoneCase)
		})
	}
}

// TestEveryToNumberHasThePolicy: a send declared without recipientRule would
// send national numbers under the wrong country code.
func TestEveryToNumberHasThePolicy(t *testing.T) {
	f := newFake(t)
	d := newDeps(t, f)
	n := 0
	for _, tl := range allTools(d) {
		if !strings.Contains(string(tl.InputSchema), `"to_number"`) {
			continue
		}
		n++
		f.Reset()
		checkInvalid(t, call(t, d, tl.Name, merge(string(tl.Example), "to_number", "(650) 555-1234")), f, "to_number", "send +16505551234")
	}
	if n != 15 {
		t.Errorf("%d tools take to_number, want the 15 sends", n)
	}
}

// TestLocationAcceptsNumbers: models send coordinates as JSON numbers; they
// are accepted as well as strings, with the same range checks.
func TestLocationAcceptsNumbers(t *testing.T) {
	const loc = "WHATSAPP_SEND_LOCATION"
	base := bases[loc]
	for _, tc := range []struct {
		name     string
		lat, lng any
		wantLat  string
		wantLng  string
	}{
		{"numbers", 37.44216251868683, -122.16153582049394, "37.44216251868683", "-122.16153582049394"},
		{"integers", 0, 180, "0", "180"},
		{"exponent", json.RawMessage(`3.744e1`), json.RawMessage(`-1.2e2`), "37.44", "-120"},
		{"strings still", "37.44", "-122.16", "37.44", "-122.16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := callOK(t, loc, merge(base, "latitude", tc.lat, "longitude", tc.lng))
			graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{{Method: "POST", Path: sendPath,
				Body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"location","location":{"latitude":"` + tc.wantLat + `","longitude":"` + tc.wantLng + `","name":"Philz","address":"101 Forest Ave"}}`}})
		})
	}
	f := newFake(t)
	d := newDeps(t, f)
	for _, tc := range []struct {
		name, args, field, ruleHas string
	}{
		{"latitude 91 as a number", merge(base, "latitude", 91), "latitude", "-90 and 90"},
		{"latitude -90.5 as a number", merge(base, "latitude", -90.5), "latitude", "-90 and 90"},
		{"longitude -181 as a number", merge(base, "longitude", -181), "longitude", "-180 and 180"},
		{"latitude a boolean", merge(base, "latitude", true), "latitude", "string or a number"},
		{"longitude an object", merge(base, "longitude", json.RawMessage(`{"deg":1}`)), "longitude", "string or a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.Reset()
			checkInvalid(t, call(t, d, loc, tc.args), f, tc.field, tc.ruleHas)
		})
	}
}

// TestEveryOffenceNamed: every wrong type is named with its JSON path, in
// one error with the rule errors; a field with a wrong type is not also
// called missing.
func TestEveryOffenceNamed(t *testing.T) {
	f := newFake(t)
	d := newDeps(t, f)
	list := "WHATSAPP_SEND_INTERACTIVE_LIST"
	args := merge(bases[list], "body_text", 3, "button_text", true, "to_number", "12", "header_text", strings.Repeat("h", 61),
		"sections", json.RawMessage(`[{"title":"A","rows":[{"id":"a1","title":"One"}]},{"title":"B","rows":[{"id":"b1","title":5}]}]`))
	res := call(t, d, list, args)
	want := map[string]string{
		"body_text":                 "must be a string, not a JSON number",
		"button_text":               "must be a string, not a JSON bool",
		"sections[1].rows[0].title": "must be a string, not a JSON number",
		"to_number":                 "",
		"header_text":               "at most 60",
	}
	for field, rule := range want {
		checkInvalid(t, res, f, field, rule)
	}
	for _, not := range []string{"`body_text` is required", "`button_text` is required", "`sections[1].rows[0].title` is required"} {
		if strings.Contains(res.Error, not) {
			t.Errorf("error says %q of a field sent with the wrong type: %s", not, res.Error)
		}
	}
	t.Run("an unknown nested field is named where it is", func(t *testing.T) {
		res := call(t, d, list, merge(bases[list], "sections", json.RawMessage(`[{"title":"A","rows":[{"id":"a1","titel":"One"}]}]`)))
		checkInvalid(t, res, f, "sections[0].rows[0].titel", "description, id, title")
		if strings.Contains(res.Error, "is not an input of this tool") {
			t.Errorf("a row field reported as a tool input: %s", res.Error)
		}
	})
	t.Run("several unknown fields and wrong types at once", func(t *testing.T) {
		res := call(t, d, "WHATSAPP_SEND_MESSAGE", merge(textArgs, "txt", "x", "colour", "red", "preview_url", "yes", "text", 1))
		for _, field := range []string{"txt", "colour", "preview_url", "text"} {
			checkInvalid(t, res, f, field, "")
		}
	})
}

// TestInvalidUTF8Refused: encoding/json would replace invalid UTF-8 (and
// lone surrogate escapes) with U+FFFD and the text would be sent mangled.
func TestInvalidUTF8Refused(t *testing.T) {
	f := newFake(t)
	d := newDeps(t, f)
	for _, tc := range []struct {
		name, tool, args, field string
	}{
		{"raw invalid byte", "WHATSAPP_SEND_MESSAGE", `{"to_number":"+16505551234","phone_number_id":"` + pnID + `",` + "\"text\":\"caf\xe9 ok\"}", "text"},
		{"truncated emoji bytes", "WHATSAPP_SEND_MESSAGE", `{"to_number":"+16505551234","phone_number_id":"` + pnID + `",` + "\"text\":\"hi \xf0\x9f\x98\"}", "text"},
		{"lone surrogate escape", "WHATSAPP_SEND_MESSAGE", `{"to_number":"+16505551234","phone_number_id":"` + pnID + `","text":"hi \ud83d"}`, "text"},
		{"nested", "WHATSAPP_SEND_INTERACTIVE_LIST", `{"to_number":"+16505551234","phone_number_id":"` + pnID + `","body_text":"Pick","button_text":"Open",` +
			"\"sections\":[{\"rows\":[{\"id\":\"a1\",\"title\":\"O\xffne\"}]}]}", "sections[0].rows[0].title"},
		{"in a key", "WHATSAPP_SEND_MESSAGE", `{"to_number":"+16505551234","phone_number_id":"` + pnID + `","text":"hi",` + "\"t\xffxt\":\"x\"}", "t\ufffdxt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.Reset()
			checkInvalid(t, call(t, d, tc.tool, tc.args), f, tc.field, "UTF-8")
		})
	}
	t.Run("a valid surrogate pair is sent", func(t *testing.T) {
		f, _ := callOK(t, "WHATSAPP_SEND_MESSAGE", `{"to_number":"+16505551234","phone_number_id":"`+pnID+`","text":"hi \ud83d\ude00"}`)
		graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{{Method: "POST", Path: sendPath,
			Body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"body":"hi 😀"}}`}})
	})
}

// TestEchoedValuesCapped: an error quotes at most the start of a bad value.
func TestEchoedValuesCapped(t *testing.T) {
	f := newFake(t)
	d := newDeps(t, f)
	huge := strings.Repeat("x", 10<<20)
	for _, tc := range []struct{ name, args, field string }{
		{"phone_number_id", merge(textArgs, "phone_number_id", huge), "phone_number_id"},
		{"to_number", merge(textArgs, "to_number", huge), "to_number"},
		{"media_type", merge(bases["WHATSAPP_SEND_MEDIA"], "media_type", huge, "caption", "c"), "media_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.Reset()
			res := call(t, d, "WHATSAPP_SEND_MESSAGE", tc.args)
			if tc.name == "media_type" {
				res = call(t, d, "WHATSAPP_SEND_MEDIA", tc.args)
			}
			checkInvalid(t, res, f, tc.field, "… (10485760 characters)")
			if n := len(res.JSON()); n > 4096 {
				t.Errorf("result is %d bytes", n)
			}
		})
	}
	t.Run("an unknown field's name", func(t *testing.T) {
		res := call(t, d, "WHATSAPP_SEND_MESSAGE", merge(textArgs, huge, "x"))
		if res.Successful || !strings.Contains(res.Error, "… (10485760 characters)") {
			t.Errorf("error: %.300s", res.Error)
		}
		if n := len(res.JSON()); n > 4096 {
			t.Errorf("result is %d bytes", n)
		}
	})
}
