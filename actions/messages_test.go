package actions_test

import (
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// base inputs of the sends; cases override fields with merge.
const (
	recipient = `"to_number":"` + toIn + `","phone_number_id":"` + pnID + `"`
	textArgs  = `{` + recipient + `,"text":"Hello there"}`
)

// envelopeBody is the common part of every send body (docs/cloud-api.md#the-send-envelope).
func envelopeBody(rest string) string {
	return `{"messaging_product":"whatsapp","recipient_type":"individual","to":"` + toNorm + `",` + rest + `}`
}

// TestSendTools asserts the exact request of every send tool and the data
// it returns.
func TestSendTools(t *testing.T) {
	sendData := `{"message_id":"` + wamid + `","to":"` + toNorm + `","wa_id":"16505551234","messaging_product":"whatsapp"}`
	tests := []struct {
		name string
		tool string
		args string
		body string
		data string
	}{
		{
			name: "text, phone normalised", tool: "WHATSAPP_SEND_MESSAGE", args: textArgs,
			body: envelopeBody(`"type":"text","text":{"body":"Hello there"}`),
		},
		{
			name: "text with preview and reply context", tool: "WHATSAPP_SEND_MESSAGE",
			args: merge(textArgs, "preview_url", true, "message_id", wamid, "text", "See https://example.com"),
			body: envelopeBody(`"context":{"message_id":"` + wamid + `"},"type":"text","text":{"body":"See https://example.com","preview_url":true}`),
		},
		{
			name: "text from digits without +", tool: "WHATSAPP_SEND_MESSAGE", args: merge(textArgs, "to_number", "16505551234"),
			body: envelopeBody(`"type":"text","text":{"body":"Hello there"}`),
		},
		{
			name: "text of exactly 4096 characters", tool: "WHATSAPP_SEND_MESSAGE", args: merge(textArgs, "text", repeat("é", 4096)),
			body: envelopeBody(`"type":"text","text":{"body":"` + repeat("é", 4096) + `"}`),
		},
		{
			name: "reply", tool: "WHATSAPP_SEND_REPLY",
			args: `{` + recipient + `,"text":"Yes, in blue.","reply_to_message_id":"` + wamid + `"}`,
			body: envelopeBody(`"context":{"message_id":"` + wamid + `"},"type":"text","text":{"body":"Yes, in blue."}`),
		},
		{
			name: "image by link with caption", tool: "WHATSAPP_SEND_MEDIA",
			args: `{` + recipient + `,"media_type":"image","link":"https://example.com/aloe.png","caption":"The best succulent?"}`,
			body: envelopeBody(`"type":"image","image":{"link":"https://example.com/aloe.png","caption":"The best succulent?"}`),
		},
		{
			name: "audio by link, no caption", tool: "WHATSAPP_SEND_MEDIA",
			args: `{` + recipient + `,"media_type":"audio","link":"https://example.com/a.mp3"}`,
			body: envelopeBody(`"type":"audio","audio":{"link":"https://example.com/a.mp3"}`),
		},
		{
			name: "sticker by link", tool: "WHATSAPP_SEND_MEDIA",
			args: `{` + recipient + `,"media_type":"sticker","link":"https://example.com/s.webp"}`,
			body: envelopeBody(`"type":"sticker","sticker":{"link":"https://example.com/s.webp"}`),
		},
		{
			name: "document by id with filename, caption and reply", tool: "WHATSAPP_SEND_MEDIA_BY_ID",
			args: `{` + recipient + `,"media_type":"document","media_id":"1376223850470843","filename":"order.pdf","caption":"Your order","reply_to_message_id":"` + wamid + `"}`,
			body: envelopeBody(`"context":{"message_id":"` + wamid + `"},"type":"document","document":{"id":"1376223850470843","filename":"order.pdf","caption":"Your order"}`),
		},
		{
			name: "video by id", tool: "WHATSAPP_SEND_MEDIA_BY_ID",
			args: `{` + recipient + `,"media_type":"video","media_id":"1376223850470843"}`,
			body: envelopeBody(`"type":"video","video":{"id":"1376223850470843"}`),
		},
		{
			name: "location, coordinates sent as given (trimmed)", tool: "WHATSAPP_SEND_LOCATION",
			args: `{` + recipient + `,"name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301","latitude":" 37.44216251868683","longitude":"-122.16153582049394 "}`,
			body: envelopeBody(`"type":"location","location":{"latitude":"37.44216251868683","longitude":"-122.16153582049394","name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301"}`),
		},
		{
			name: "location at the limits", tool: "WHATSAPP_SEND_LOCATION",
			args: `{` + recipient + `,"name":"Pole","address":"Antarctica","latitude":"-90","longitude":"180"}`,
			body: envelopeBody(`"type":"location","location":{"latitude":"-90","longitude":"180","name":"Pole","address":"Antarctica"}`),
		},
		{
			name: "contacts, full card", tool: "WHATSAPP_SEND_CONTACTS",
			args: `{` + recipient + `,"contacts":[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara","last_name":"Johnson","middle_name":"Joana","suffix":"Esq.","prefix":"Dr."},` +
				`"addresses":[{"street":"1 Lucky Shrub Way","city":"Menlo Park","state":"CA","zip":"94025","country":"United States","country_code":"US","type":"Office"}],` +
				`"birthday":"1999-01-23","emails":[{"email":"bjohnson@luckyshrub.com","type":"Work"}],"org":{"company":"Lucky Shrub","department":"Legal","title":"Lead Counsel"},` +
				`"phones":[{"phone":"+19175559999","type":"Mobile","wa_id":"19175559999"}],"urls":[{"url":"https://www.luckyshrub.com","type":"Company"}]},` +
				`{"name":{"formatted_name":"Ana"}}]}`,
			body: envelopeBody(`"type":"contacts","contacts":[{"addresses":[{"street":"1 Lucky Shrub Way","city":"Menlo Park","state":"CA","zip":"94025","country":"United States","country_code":"US","type":"Office"}],` +
				`"birthday":"1999-01-23","emails":[{"email":"bjohnson@luckyshrub.com","type":"Work"}],` +
				`"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara","last_name":"Johnson","middle_name":"Joana","suffix":"Esq.","prefix":"Dr."},` +
				`"org":{"company":"Lucky Shrub","department":"Legal","title":"Lead Counsel"},"phones":[{"phone":"+19175559999","type":"Mobile","wa_id":"19175559999"}],` +
				`"urls":[{"url":"https://www.luckyshrub.com","type":"Company"}]},{"name":{"formatted_name":"Ana"}}]`),
		},
		{
			name: "buttons with header, footer and reply", tool: "WHATSAPP_SEND_INTERACTIVE_BUTTONS",
			args: `{` + recipient + `,"body_text":"Workshop at 9am tomorrow.","header_text":"Workshop Details","footer_text":"Lucky Shrub","reply_to_message_id":"` + wamid + `",` +
				`"buttons":[{"id":"change-button","title":"Change"},{"id":"cancel-button","title":"Cancel"}]}`,
			body: envelopeBody(`"context":{"message_id":"` + wamid + `"},"type":"interactive","interactive":{"type":"button",` +
				`"header":{"type":"text","text":"Workshop Details"},"body":{"text":"Workshop at 9am tomorrow."},"footer":{"text":"Lucky Shrub"},` +
				`"action":{"buttons":[{"type":"reply","reply":{"id":"change-button","title":"Change"}},{"type":"reply","reply":{"id":"cancel-button","title":"Cancel"}}]}}`),
		},
		{
			name: "buttons: header/footer omitted when empty, ids defaulted", tool: "WHATSAPP_SEND_INTERACTIVE_BUTTONS",
			args: `{` + recipient + `,"body_text":"Still coming?","buttons":[{"title":"Yes"},{"title":"No"},{"title":"Later"}]}`,
			body: envelopeBody(`"type":"interactive","interactive":{"type":"button","body":{"text":"Still coming?"},` +
				`"action":{"buttons":[{"type":"reply","reply":{"id":"button_1","title":"Yes"}},{"type":"reply","reply":{"id":"button_2","title":"No"}},{"type":"reply","reply":{"id":"button_3","title":"Later"}}]}}`),
		},
		{
			name: "list with two sections", tool: "WHATSAPP_SEND_INTERACTIVE_LIST",
			args: `{` + recipient + `,"body_text":"Which shipping option?","button_text":"Shipping Options","header_text":"Choose Shipping","footer_text":"Lucky Shrub",` +
				`"sections":[{"title":"I want it ASAP!","rows":[{"id":"priority_express","title":"Priority Mail Express","description":"Next Day to 2 Days"},{"id":"priority_mail","title":"Priority Mail"}]},` +
				`{"title":"I can wait a bit","rows":[{"id":"usps_ground","title":"USPS Ground Advantage","description":"2-5 Days"}]}]}`,
			body: envelopeBody(`"type":"interactive","interactive":{"type":"list","header":{"type":"text","text":"Choose Shipping"},"body":{"text":"Which shipping option?"},"footer":{"text":"Lucky Shrub"},` +
				`"action":{"button":"Shipping Options","sections":[{"title":"I want it ASAP!","rows":[{"id":"priority_express","title":"Priority Mail Express","description":"Next Day to 2 Days"},{"id":"priority_mail","title":"Priority Mail"}]},` +
				`{"title":"I can wait a bit","rows":[{"id":"usps_ground","title":"USPS Ground Advantage","description":"2-5 Days"}]}]}}`),
		},
		{
			name: "list: one untitled section of 10 rows, reply context", tool: "WHATSAPP_SEND_INTERACTIVE_LIST",
			args: `{` + recipient + `,"body_text":"Pick","button_text":"Open","reply_to_message_id":"` + wamid + `","sections":[{"rows":` + rows(10, "r") + `}]}`,
			body: envelopeBody(`"context":{"message_id":"` + wamid + `"},"type":"interactive","interactive":{"type":"list","body":{"text":"Pick"},"action":{"button":"Open","sections":[{"rows":` + rows(10, "r") + `}]}}`),
		},
		{
			name: "template without components, default language", tool: "WHATSAPP_SEND_TEMPLATE_MESSAGE",
			args: `{` + recipient + `,"template_name":"hello_world"}`,
			body: envelopeBody(`"type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}`),
			data: `{"message_status":"accepted"}`,
		},
		{
			name: "template with header, body and button parameters", tool: "WHATSAPP_SEND_TEMPLATE_MESSAGE",
			args: `{` + recipient + `,"template_name":"order_update","language_code":"pt_BR","components":[` +
				`{"type":"HEADER","parameters":[{"type":"image","image":{"id":"1376223850470843"}}]},` +
				`{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"currency","currency":{"fallback_value":"$10.99","code":"USD","amount_1000":10990}},{"type":"date_time","date_time":{"fallback_value":"March 1"}}]},` +
				`{"type":"button","sub_type":"url","index":0,"parameters":[{"type":"text","text":"summer2026"}]},` +
				`{"type":"button","sub_type":"quick_reply","index":1,"parameters":[{"type":"payload","payload":"STOP"}]}]}`,
			body: envelopeBody(`"type":"template","template":{"name":"order_update","language":{"code":"pt_BR"},"components":[` +
				`{"type":"header","parameters":[{"type":"image","image":{"id":"1376223850470843"}}]},` +
				`{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"currency","currency":{"fallback_value":"$10.99","code":"USD","amount_1000":10990}},{"type":"date_time","date_time":{"fallback_value":"March 1"}}]},` +
				`{"type":"button","sub_type":"url","index":0,"parameters":[{"type":"text","text":"summer2026"}]},` +
				`{"type":"button","sub_type":"quick_reply","index":1,"parameters":[{"type":"payload","payload":"STOP"}]}]}`),
			data: `{"message_status":"accepted"}`,
		},
		{
			name: "template with named parameters and a document header by link", tool: "WHATSAPP_SEND_TEMPLATE_MESSAGE",
			args: `{` + recipient + `,"template_name":"invoice_ready","language_code":"en","components":[` +
				`{"type":"header","parameters":[{"type":"document","document":{"link":"https://example.com/i.pdf","filename":"invoice.pdf"}}]},` +
				`{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Ana"}]}]}`,
			body: envelopeBody(`"type":"template","template":{"name":"invoice_ready","language":{"code":"en"},"components":[` +
				`{"type":"header","parameters":[{"type":"document","document":{"link":"https://example.com/i.pdf","filename":"invoice.pdf"}}]},` +
				`{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Ana"}]}]}`),
			data: `{"message_status":"accepted"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, res := callOK(t, tt.tool, tt.args)
			graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{{Method: "POST", Path: sendPath, Body: tt.body}})
			data := dataOf(t, res)
			checkSubset(t, data, sendData)
			if tt.data != "" {
				checkSubset(t, data, tt.data)
			} else if _, has := data["message_status"]; has {
				t.Errorf("message_status on a free-form send: %v", data)
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings without a window store: %v", res.Warnings)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := make([]byte, 0, len(s)*n)
	for i := 0; i < n; i++ {
		out = append(out, s...)
	}
	return string(out)
}

// rows renders n list rows with ids prefix0…
func rows(n int, prefix string) string {
	s := "["
	for i := 0; i < n; i++ {
		if i > 0 {
			s += ","
		}
		s += `{"id":"` + prefix + itoa(i) + `","title":"Row ` + itoa(i) + `"}`
	}
	return s + "]"
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}
