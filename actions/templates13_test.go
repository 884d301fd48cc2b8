package actions_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

const appID = "584544743160774"

// TestTemplateRecordings: each tool call of testdata/templates sends the
// request Meta documents for it, byte for byte in canonical JSON.
func TestTemplateRecordings(t *testing.T) {
	files, _ := filepath.Glob("testdata/templates/*.json")
	if len(files) < 9 {
		t.Fatalf("%d recordings, want the 9 of the README", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Tool    string          `json:"tool"`
				Args    json.RawMessage `json:"args"`
				Request json.RawMessage `json:"request"`
			}
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			f, _ := callOK(t, rec.Tool, string(rec.Args))
			got := f.Only(t)
			if g, w := graphtest.Canonical(t, got.Body), graphtest.Canonical(t, rec.Request); !bytes.Equal(g, w) {
				t.Errorf("request body\n got %s\nwant %s", g, w)
			}
		})
	}
}

const tplBase = `{"to_number":"+16505551234","phone_number_id":"` + pnID + `","template_name":"promo","components":`

// TestSendTemplateIndexAsString: a button index given as "0" or 0 is sent
// as the number 0; anything but a digit 0-9 is refused and nothing sent.
func TestSendTemplateIndexAsString(t *testing.T) {
	for _, idx := range []string{`"0"`, `0`, `" 3"`} {
		f, _ := callOK(t, "WHATSAPP_SEND_TEMPLATE_MESSAGE", tplBase+`[{"type":"button","sub_type":"quick_reply","index":`+idx+`,"parameters":[{"type":"payload","payload":"P"}]}]}`)
		var m struct {
			Template struct {
				Components []map[string]json.RawMessage `json:"components"`
			} `json:"template"`
		}
		_ = json.Unmarshal(f.Only(t).Body, &m)
		want := strings.Trim(strings.TrimSpace(strings.Trim(idx, `"`)), " ")
		if got := string(m.Template.Components[0]["index"]); got != want {
			t.Errorf("index %s sent as %s, want the number %s", idx, got, want)
		}
	}
	for _, idx := range []string{`"10"`, `"x"`, `-1`, `"1.5"`, `true`} {
		f := newFake(t)
		res := call(t, newDeps(t, f), "WHATSAPP_SEND_TEMPLATE_MESSAGE", tplBase+`[{"type":"button","sub_type":"quick_reply","index":`+idx+`,"parameters":[{"type":"payload","payload":"P"}]}]}`)
		if res.Successful || !strings.Contains(res.Error, "index") || f.Count() != 0 {
			t.Errorf("index %s: %s after %d requests; want index refused, nothing sent", idx, res.Error, f.Count())
		}
	}
}

// TestSendTemplateParameterRules: each parameter type is refused outside
// the component Meta takes it in, naming the field, and nothing is sent.
func TestSendTemplateParameterRules(t *testing.T) {
	card := func(comps string) string { return `{"card_index":0,"components":[` + comps + `]}` }
	img := `{"type":"header","parameters":[{"type":"image","image":{"id":"1"}}]}`
	tests := []struct {
		name, comps string
		fields      []string
	}{
		{"coupon code in the body", `[{"type":"body","parameters":[{"type":"coupon_code","coupon_code":"X"}]}]`,
			[]string{"components[0].parameters[0].type"}},
		{"copy_code button without a coupon", `[{"type":"button","sub_type":"copy_code","index":0,"parameters":[{"type":"text","text":"X"}]}]`,
			[]string{"components[0].parameters"}},
		{"coupon longer than 20", `[{"type":"button","sub_type":"copy_code","index":0,"parameters":[{"type":"coupon_code","coupon_code":"` + strings.Repeat("C", 21) + `"}]}]`,
			[]string{"components[0].parameters[0].coupon_code"}},
		{"action outside a flow button", `[{"type":"button","sub_type":"url","index":0,"parameters":[{"type":"action","action":{"flow_token":"t"}}]}]`,
			[]string{"components[0].parameters[0].type"}},
		{"flow button with a text", `[{"type":"button","sub_type":"flow","index":0,"parameters":[{"type":"text","text":"t"}]}]`,
			[]string{"components[0].parameters"}},
		{"location in the body, bad latitude", `[{"type":"body","parameters":[{"type":"location","location":{"latitude":"91","longitude":"2"}}]}]`,
			[]string{"components[0].parameters[0].type", "components[0].parameters[0].location.latitude"}},
		{"location, latitude not a number, longitude 181", `[{"type":"header","parameters":[{"type":"location","location":{"latitude":"north","longitude":181}}]}]`,
			[]string{"components[0].parameters[0].location.latitude", "components[0].parameters[0].location.longitude"}},
		{"location without coordinates", `[{"type":"header","parameters":[{"type":"location","location":{"name":"x"}}]}]`,
			[]string{"components[0].parameters[0].location.latitude", "components[0].parameters[0].location.longitude"}},
		{"offer expiration missing", `[{"type":"limited_time_offer","parameters":[{"type":"limited_time_offer","limited_time_offer":{}}]}]`,
			[]string{"components[0].parameters[0].limited_time_offer.expiration_time_ms"}},
		{"text in the offer component", `[{"type":"limited_time_offer","parameters":[{"type":"text","text":"x"}]}]`,
			[]string{"components[0].parameters[0].type"}},
		{"expiration in the body", `[{"type":"body","parameters":[{"type":"limited_time_offer","limited_time_offer":{"expiration_time_ms":1}}]}]`,
			[]string{"components[0].parameters[0].type"}},
		{"carousel without cards", `[{"type":"carousel"}]`, []string{"components[0].cards"}},
		{"cards outside a carousel", `[{"type":"body","parameters":[{"type":"text","text":"x"}],"cards":[` + card(img) + `]}]`,
			[]string{"components[0].cards"}},
		{"card repeated, card component of a wrong type", `[{"type":"carousel","cards":[` + card(img) + `,` + card(`{"type":"carousel","parameters":[{"type":"text","text":"x"}]}`) + `]}]`,
			[]string{"components[0].cards[1].card_index", "components[0].cards[1].components[0].type"}},
		{"card button without index", `[{"type":"carousel","cards":[` + card(`{"type":"button","sub_type":"quick_reply","parameters":[{"type":"payload","payload":"p"}]}`) + `]}]`,
			[]string{"components[0].cards[0].components[0].index"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			res := call(t, newDeps(t, f), "WHATSAPP_SEND_TEMPLATE_MESSAGE", tplBase+tt.comps+`}`)
			if res.Successful || f.Count() != 0 {
				t.Fatalf("successful %v after %d requests: want refused, nothing sent", res.Successful, f.Count())
			}
			for _, field := range tt.fields {
				if !strings.Contains(res.Error, field) {
					t.Errorf("error %q does not name %s", res.Error, field)
				}
			}
		})
	}
}

const (
	createBase = `{"name":"otp","category":"AUTHENTICATION","language":"en_US","components":`
	mktBase    = `{"name":"promo","category":"MARKETING","language":"en_US","components":`
)

func carouselCard(header, body, buttons string) string {
	s := `{"components":[{"type":"HEADER","format":"` + header + `","example":{"header_handle":["4::aW"]}}`
	if body != "" {
		s += `,{"type":"BODY","text":"` + body + `"}`
	}
	return s + `,{"type":"BUTTONS","buttons":[` + buttons + `]}]}`
}

// TestCreateTemplateRules: authentication and carousel rules, each broken
// one is named, and nothing is sent.
func TestCreateTemplateRules(t *testing.T) {
	qr := `{"type":"QUICK_REPLY","text":"More"}`
	url := `{"type":"URL","text":"Shop","url":"https://x.example/{{1}}","example":["a"]}`
	body := `{"type":"BODY","text":"Hello there"}`
	auth := func(btn string, extra ...string) string {
		c := `[{"type":"BODY","add_security_recommendation":true},{"type":"FOOTER","code_expiration_minutes":10}`
		for _, e := range extra {
			c += "," + e
		}
		return createBase + c + `,{"type":"BUTTONS","buttons":[` + btn + `]}]}`
	}
	app := `"supported_apps":[{"package_name":"com.example.app","signature_hash":"K8a/AINcGX7"}]`
	tests := []struct {
		name, args string
		fields     []string
	}{
		{"authentication: header, body text, footer text and expiry 91",
			createBase + `[{"type":"HEADER","format":"TEXT","text":"Hi"},{"type":"BODY","text":"Your code"},{"type":"FOOTER","text":"x","code_expiration_minutes":91},{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"COPY_CODE"}]}]}`,
			[]string{"components[0]", "components[1].text", "components[2].text", "components[2].code_expiration_minutes"}},
		{"authentication: quick reply instead of OTP", auth(qr), []string{"components[2].buttons[0].type"}},
		{"authentication: no buttons", createBase + `[{"type":"BODY"}]}`, []string{"components"}},
		{"otp: bad otp_type", auth(`{"type":"OTP","otp_type":"TWO_TAP"}`), []string{"components[2].buttons[0].otp_type"}},
		{"one tap: no apps", auth(`{"type":"OTP","otp_type":"ONE_TAP"}`), []string{"components[2].buttons[0].supported_apps"}},
		{"one tap: bad package and hash", auth(`{"type":"OTP","otp_type":"one_tap","supported_apps":[{"package_name":"app","signature_hash":"short"}]}`),
			[]string{"supported_apps[0].package_name", "supported_apps[0].signature_hash"}},
		{"zero tap: terms not accepted", auth(`{"type":"OTP","otp_type":"ZERO_TAP",` + app + `}`), []string{"components[2].buttons[0].zero_tap_terms_accepted"}},
		{"copy code: apps given", auth(`{"type":"OTP","otp_type":"COPY_CODE",` + app + `}`), []string{"components[2].buttons[0].supported_apps"}},
		{"marketing: OTP button", mktBase + `[` + body + `,{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"COPY_CODE"}]}]}`, []string{"components[1].buttons[0].type"}},
		{"carousel: one card, not marketing",
			`{"name":"c","category":"UTILITY","language":"en_US","components":[` + body + `,{"type":"CAROUSEL","cards":[` + carouselCard("IMAGE", "", qr) + `]}]}`,
			[]string{"components[1].cards", "category"}},
		{"carousel: a header and a footer beside it",
			mktBase + `[{"type":"HEADER","format":"TEXT","text":"Hi"},` + body + `,{"type":"FOOTER","text":"f"},{"type":"CAROUSEL","cards":[` + carouselCard("IMAGE", "", qr) + `,` + carouselCard("IMAGE", "", qr) + `]}]}`,
			[]string{"components"}},
		{"carousel: document header, three buttons, long body, unlike cards",
			mktBase + `[` + body + `,{"type":"CAROUSEL","cards":[` + carouselCard("DOCUMENT", strings.Repeat("b", 161), qr+","+qr+","+url) + `,` + carouselCard("IMAGE", "", qr) + `]}]}`,
			[]string{"cards[0].components[0].format", "cards[0].components[1].text", "cards[0].components[2].buttons", "cards[1].components"}},
		{"carousel: copy code button in a card",
			mktBase + `[` + body + `,{"type":"CAROUSEL","cards":[` + carouselCard("VIDEO", "", `{"type":"COPY_CODE","example":"X"}`) + `,` + carouselCard("VIDEO", "", `{"type":"COPY_CODE","example":"X"}`) + `]}]}`,
			[]string{"cards[0].components[1].buttons[0].type", "cards[1].components[1].buttons[0].type"}},
		{"media header without a handle or a file",
			mktBase + `[{"type":"HEADER","format":"IMAGE"},` + body + `]}`, []string{"components[0].example.header_handle"}},
		{"more files than media headers",
			mktBase + `[` + body + `],"header_files":[{"name":"a.png","content":"iVBORw0KGgo="}]}`, []string{"header_files"}},
		{"a file that is not base64",
			mktBase + `[{"type":"HEADER","format":"IMAGE"},` + body + `],"header_files":[{"name":"a.png","content":"@@@"}]}`, []string{"header_files[0].content"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			d.AppID = appID
			res := call(t, d, "WHATSAPP_CREATE_MESSAGE_TEMPLATE", tt.args)
			if res.Successful || f.Count() != 0 {
				t.Fatalf("successful %v after %d requests: want refused, nothing sent", res.Successful, f.Count())
			}
			for _, field := range tt.fields {
				if !strings.Contains(res.Error, field) {
					t.Errorf("error %q does not name %s", res.Error, field)
				}
			}
		})
	}
}

// headerPNG is a PNG's signature and a little more: what sniffing reads.
var headerPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 300)...)

// TestCreateTemplateHeaderFileUpload: a header file is uploaded through
// the resumable upload (session, then the bytes) and its handle goes in
// example.header_handle of the template Meta is sent.
func TestCreateTemplateHeaderFileUpload(t *testing.T) {
	f := newFake(t)
	f.Route("POST /v25.0/"+appID+"/uploads", graphtest.Reply(200, `{"id":"upload:MTph"}`))
	f.Route("POST /v25.0/upload:MTph", graphtest.Reply(200, `{"h":"4::aW1hZ2UvcG5n:ARbX"}`))
	d := newDeps(t, f)
	d.AppID = appID
	args := mktBase + `[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"New arrivals"}],"header_files":[{"name":"spring.png","content":"` +
		base64.StdEncoding.EncodeToString(headerPNG) + `"}]}`
	res := call(t, d, "WHATSAPP_CREATE_MESSAGE_TEMPLATE", args)
	if !res.Successful {
		t.Fatalf("create failed: %s", res.Error)
	}
	reqs := f.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want session, bytes, template", len(reqs))
	}
	if q := reqs[0].Query; q.Get("file_name") != "spring.png" || q.Get("file_type") != "image/png" || q.Get("file_length") != itoa(len(headerPNG)) {
		t.Errorf("session query %v", q)
	}
	if !bytes.Equal(reqs[1].Body, headerPNG) || reqs[1].Header.Get("file_offset") != "0" {
		t.Errorf("upload sent %d bytes at offset %q", len(reqs[1].Body), reqs[1].Header.Get("file_offset"))
	}
	graphtest.CheckRequest(t, reqs[2], graphtest.Want{Method: "POST", Path: createPath,
		Body: `{"name":"promo","category":"MARKETING","language":"en_US","components":[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["4::aW1hZ2UvcG5n:ARbX"]}},{"type":"BODY","text":"New arrivals"}]}`})
}

// TestCreateTemplateHeaderFileRefusals: without an app id, or with a file
// the header cannot take, nothing is sent at all.
func TestCreateTemplateHeaderFileRefusals(t *testing.T) {
	args := func(format, name string) string {
		return mktBase + `[{"type":"HEADER","format":"` + format + `"},{"type":"BODY","text":"New arrivals"}],"header_files":[{"name":"` + name + `","content":"` +
			base64.StdEncoding.EncodeToString(headerPNG) + `"}]}`
	}
	f := newFake(t)
	res := call(t, newDeps(t, f), "WHATSAPP_CREATE_MESSAGE_TEMPLATE", args("IMAGE", "a.png"))
	if res.Successful || !strings.Contains(res.Error, "WHATSAPP_APP_ID") || f.Count() != 0 {
		t.Errorf("no app id: %q after %d requests", res.Error, f.Count())
	}
	for _, tc := range []struct{ format, name, field string }{
		{"VIDEO", "a.png", "header_files[0].mimetype"},
		{"DOCUMENT", "a.txt", "header_files[0].mimetype"},
		{"IMAGE", "noext", "header_files[0].mimetype"},
	} {
		f := newFake(t)
		d := newDeps(t, f)
		d.AppID = appID
		res := call(t, d, "WHATSAPP_CREATE_MESSAGE_TEMPLATE", args(tc.format, tc.name))
		if res.Successful || !strings.Contains(res.Error, tc.field) || f.Count() != 0 {
			t.Errorf("%s header, %s: %q after %d requests; want %s named, nothing sent", tc.format, tc.name, res.Error, f.Count(), tc.field)
		}
	}
}

// TestCreateTemplateHeaderFileSandbox: the whole resumable upload runs
// against the emulator, from a file in the media directory, and the
// template it creates holds the handle the emulator issued.
func TestCreateTemplateHeaderFileSandbox(t *testing.T) {
	d, sb := faultsDeps(t, sandbox.Faults{})
	d.AppID = sandbox.AppID
	if err := os.WriteFile(filepath.Join(d.MediaDir, "spring.png"), headerPNG, 0o600); err != nil {
		t.Fatal(err)
	}
	args := mktBase + `[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"New arrivals"}],"header_files":[{"path":"spring.png"}]}`
	res := faultsCall(t, d, 10e9, "WHATSAPP_CREATE_MESSAGE_TEMPLATE", args)
	if !res.Successful {
		t.Fatalf("create failed: %s", res.Error)
	}
	id, _ := dataOf(t, res)["id"].(string)
	obj, _, err := d.Graph.GetObject(context.Background(), id, []string{"components"})
	if err != nil {
		t.Fatal(err)
	}
	comps, _ := json.Marshal(obj["components"])
	var got []struct {
		Example struct {
			HeaderHandle []string `json:"header_handle"`
		} `json:"example"`
	}
	_ = json.Unmarshal(comps, &got)
	if len(got) == 0 || len(got[0].Example.HeaderHandle) != 1 || !sb.IssuedHandle(got[0].Example.HeaderHandle[0]) {
		t.Errorf("template components %s: want the header handle the emulator issued", comps)
	}
	// A handle the emulator never issued is refused by it.
	res = faultsCall(t, d, 10e9, "WHATSAPP_CREATE_MESSAGE_TEMPLATE",
		strings.Replace(mktBase, "promo", "promo_two", 1)+`[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["4::forged"]}},{"type":"BODY","text":"New arrivals"}]}`)
	if res.Successful || !strings.Contains(res.Error, "handle") {
		t.Errorf("forged handle: %s", res.JSON())
	}
}
