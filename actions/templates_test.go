package actions_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

const createPath = "/v25.0/" + wabaID + "/message_templates"

func TestCreateTemplate(t *testing.T) {
	full := `[{"type":"HEADER","format":"TEXT","text":"Our {{1}} is on!","example":{"header_text":["Summer Sale"]}},` +
		`{"type":"BODY","text":"Shop now through {{1}} and use code {{2}} to get {{3}} off.","example":{"body_text":[["the end of August","25OFF","25%"]]}},` +
		`{"type":"FOOTER","text":"Use the buttons below to manage your marketing subscriptions"},` +
		`{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Unsubscribe from Promos"},{"type":"QUICK_REPLY","text":"Stop"},` +
		`{"type":"URL","text":"Shop Now","url":"https://www.luckyshrub.com/shop?promo={{1}}","example":["summer2023"]},{"type":"PHONE_NUMBER","text":"Call us","phone_number":"+15550783881"}]}]`
	tests := []struct {
		name, args, body string
	}{
		{
			name: "Meta's example, components passed through",
			args: `{"name":"seasonal_promotion","category":"MARKETING","language":"en_US","components":` + full + `}`,
			body: `{"name":"seasonal_promotion","category":"MARKETING","language":"en_US","components":` + full + `}`,
		},
		{
			name: "named parameters",
			args: `{"name":"reservation_confirmation","category":"UTILITY","language":"en_GB","parameter_format":"NAMED","components":[` +
				`{"type":"BODY","text":"Your table for {{number_of_guests}} is booked.","example":{"body_text_named_params":[{"param_name":"number_of_guests","example":"4"}]}}]}`,
			body: `{"name":"reservation_confirmation","category":"UTILITY","language":"en_GB","parameter_format":"NAMED","components":[` +
				`{"type":"BODY","text":"Your table for {{number_of_guests}} is booked.","example":{"body_text_named_params":[{"param_name":"number_of_guests","example":"4"}]}}]}`,
		},
		{
			name: "media header and ten quick replies",
			args: `{"name":"menu_2026","category":"MARKETING","language":"es_MX","components":[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["4::aW"]}},{"type":"BODY","text":"Hola"},{"type":"BUTTONS","buttons":` + quickReplies(10) + `}]}`,
			body: `{"name":"menu_2026","category":"MARKETING","language":"es_MX","components":[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["4::aW"]}},{"type":"BODY","text":"Hola"},{"type":"BUTTONS","buttons":` + quickReplies(10) + `}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, res := callOK(t, "WHATSAPP_CREATE_MESSAGE_TEMPLATE", tt.args)
			graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{{Method: "POST", Path: createPath, Body: tt.body}})
			checkSubset(t, dataOf(t, res), `{"id":"1627019861106475","status":"PENDING","category":"UTILITY"}`)
		})
	}
}

func quickReplies(n int) string {
	s := "["
	for i := 0; i < n; i++ {
		if i > 0 {
			s += ","
		}
		s += `{"type":"QUICK_REPLY","text":"Choice ` + itoa(i) + `"}`
	}
	return s + "]"
}

// TestDeleteTemplate: the name is looked up first and the delete carries
// hsm_id AND name; never a delete by name alone.
func TestDeleteTemplate(t *testing.T) {
	lookup := graphtest.Want{Method: "GET", Path: "/v25.0/" + templateID, Query: url.Values{"fields": {"name"}}}
	del := graphtest.Want{Method: "DELETE", Path: createPath, Query: url.Values{"hsm_id": {templateID}, "name": {"order_update"}}}
	t.Run("ok", func(t *testing.T) {
		f, res := callOK(t, "WHATSAPP_DELETE_MESSAGE_TEMPLATE", `{"template_id":"`+templateID+`"}`)
		graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{lookup, del})
		checkSubset(t, dataOf(t, res), `{"success":true,"template_id":"`+templateID+`","name":"order_update"}`)
	})
	failures := []struct {
		name, route string
		answer      http.HandlerFunc
		errHas      string
		reqs        []graphtest.Want
	}{
		{"lookup fails: nothing deleted", "GET /v25.0/" + templateID, graphtest.Reply(400, metaError(100, 33)), "does not exist", []graphtest.Want{lookup}},
		{"lookup has no name: nothing deleted", "GET /v25.0/" + templateID, graphtest.Reply(200, `{"id":"`+templateID+`"}`), "nothing was deleted", []graphtest.Want{lookup}},
		{"delete refused by Meta", "DELETE " + createPath, graphtest.Reply(400, metaError(100, 0)), "FBTRACE100", []graphtest.Want{lookup, del}},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.Route(tt.route, tt.answer)
			res := call(t, newDeps(t, f), "WHATSAPP_DELETE_MESSAGE_TEMPLATE", `{"template_id":"`+templateID+`"}`)
			if res.Successful || !strings.Contains(res.Error, tt.errHas) {
				t.Errorf("res = %s", res.JSON())
			}
			graphtest.CheckRequests(t, f.Requests(), tt.reqs)
		})
	}
}
