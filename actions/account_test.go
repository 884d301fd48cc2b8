package actions_test

import (
	"net/url"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

const (
	allProfileFields = "about,address,description,email,profile_picture_url,websites,vertical,messaging_product"
	allPhoneFields   = "id,display_phone_number,verified_name,quality_rating,code_verification_status,platform_type,throughput,status,name_status"
)

// TestReadTools asserts the exact request and the data of the account and
// template read tools.
func TestReadTools(t *testing.T) {
	tests := []struct {
		name   string
		tool   string
		args   string
		reqs   []graphtest.Want
		data   string // object data: subset; list data: exact
		list   bool
		paging string
	}{
		{
			name: "business profile, all fields by default", tool: "WHATSAPP_GET_BUSINESS_PROFILE",
			args: `{"phone_number_id":"` + pnID + `"}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + pnID + "/whatsapp_business_profile", Query: url.Values{"fields": {allProfileFields}}}},
			data: profileJSON,
		},
		{
			name: "business profile, chosen fields trimmed and deduplicated", tool: "WHATSAPP_GET_BUSINESS_PROFILE",
			args: `{"phone_number_id":"` + pnID + `","fields":"about, websites,about"}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + pnID + "/whatsapp_business_profile", Query: url.Values{"fields": {"about,websites"}}}},
			data: profileJSON,
		},
		{
			name: "phone number, default fields", tool: "WHATSAPP_GET_PHONE_NUMBER",
			args: `{"phone_number_id":"` + pnID + `"}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + pnID, Query: url.Values{"fields": {allPhoneFields}}}},
			data: phoneJSON,
		},
		{
			name: "phone number, chosen fields", tool: "WHATSAPP_GET_PHONE_NUMBER",
			args: `{"phone_number_id":"` + pnID + `","fields":"id,verified_name"}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + pnID, Query: url.Values{"fields": {"id,verified_name"}}}},
			data: phoneJSON,
		},
		{
			name: "phone numbers, default page size", tool: "WHATSAPP_GET_PHONE_NUMBERS", args: `{}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + wabaID + "/phone_numbers", Query: url.Values{"limit": {"25"}}}},
			data: `[` + phoneJSON + `]`, list: true, paging: pagingOut,
		},
		{
			name: "phone numbers, next page", tool: "WHATSAPP_GET_PHONE_NUMBERS", args: `{"limit":5,"after":"QVFIa4"}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + wabaID + "/phone_numbers", Query: url.Values{"limit": {"5"}, "after": {"QVFIa4"}}}},
			data: `[` + phoneJSON + `]`, list: true, paging: pagingOut,
		},
		{
			name: "templates, defaults", tool: "WHATSAPP_GET_MESSAGE_TEMPLATES", args: `{}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + wabaID + "/message_templates", Query: url.Values{"limit": {"25"}}}},
			data: `[` + templateJSON + `]`, list: true, paging: pagingOut,
		},
		{
			name: "templates, every filter; enums upper-cased", tool: "WHATSAPP_GET_MESSAGE_TEMPLATES",
			args: `{"after":"QVFIa4","limit":10,"status":"approved","category":"utility","language":"en_US","name_or_content":"order"}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + wabaID + "/message_templates", Query: url.Values{
				"after": {"QVFIa4"}, "limit": {"10"}, "status": {"APPROVED"}, "category": {"UTILITY"}, "language": {"en_US"}, "name_or_content": {"order"}}}},
			data: `[` + templateJSON + `]`, list: true, paging: pagingOut,
		},
		{
			name: "template status, default fields", tool: "WHATSAPP_GET_TEMPLATE_STATUS",
			args: `{"template_id":"` + templateID + `"}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + templateID, Query: url.Values{"fields": {"id,name,language,category,status,rejected_reason"}}}},
			data: templateJSON,
		},
		{
			name: "template status, status always asked", tool: "WHATSAPP_GET_TEMPLATE_STATUS",
			args: `{"template_id":"` + templateID + `","fields":"rejected_reason,quality_score"}`,
			reqs: []graphtest.Want{{Method: "GET", Path: "/v25.0/" + templateID, Query: url.Values{"fields": {"rejected_reason,quality_score,status"}}}},
			data: templateJSON,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, res := callOK(t, tt.tool, tt.args)
			graphtest.CheckRequests(t, f.Requests(), tt.reqs)
			env := envelope(t, res)
			if tt.list {
				graphtest.JSONEqual(t, "data", graphtest.MustJSON(t, env["data"]), []byte(tt.data))
				graphtest.JSONEqual(t, "paging", graphtest.MustJSON(t, env["paging"]), []byte(tt.paging))
				return
			}
			checkSubset(t, dataOf(t, res), tt.data)
			if _, has := env["paging"]; has {
				t.Errorf("paging on a non-list tool: %s", res.JSON())
			}
		})
	}
}

func TestListWithoutPaging(t *testing.T) {
	f := newFake(t)
	f.Route("GET /v25.0/"+wabaID+"/phone_numbers", graphtest.Reply(200, `{"data":[]}`))
	res := call(t, newDeps(t, f), "WHATSAPP_GET_PHONE_NUMBERS", `{}`)
	if got := string(res.JSON()); got != `{"successful":true,"data":[]}` {
		t.Errorf("JSON = %s", got)
	}
}
