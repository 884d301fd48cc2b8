package server

import (
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// hint is one paragraph of the instructions, given only when one of the
// tools it names is enabled, so a filtered server never points the model at
// a tool it cannot call.
type hint struct {
	anyOf []string
	text  string
}

var hints = []hint{
	{[]string{"WHATSAPP_GET_PHONE_NUMBERS"},
		"Most tools need a phone_number_id: the numeric id Meta assigned to the business number, not the phone number itself. Get it with WHATSAPP_GET_PHONE_NUMBERS first."},
	{[]string{"WHATSAPP_SEND_MESSAGE", "WHATSAPP_SEND_REPLY", "WHATSAPP_SEND_MEDIA", "WHATSAPP_SEND_MEDIA_BY_ID", "WHATSAPP_SEND_LOCATION", "WHATSAPP_SEND_CONTACTS", "WHATSAPP_SEND_INTERACTIVE_BUTTONS", "WHATSAPP_SEND_INTERACTIVE_LIST", "WHATSAPP_SEND_TEMPLATE_MESSAGE"},
		"to_number is the customer's number with its country code (e.g. +16505551234). A returned message_id means Meta accepted the message, not that it was delivered."},
	{[]string{"WHATSAPP_SEND_TEMPLATE_MESSAGE", "WHATSAPP_GET_MESSAGE_TEMPLATES"},
		"The 24-hour window: free-form messages (text, media, location, contacts, interactive) reach a customer only within 24 hours of their last message to the business. Outside it, send an APPROVED template with WHATSAPP_SEND_TEMPLATE_MESSAGE (list them with WHATSAPP_GET_MESSAGE_TEMPLATES); otherwise Meta fails the message later with error 131047. New templates must be approved by Meta before use."},
	{[]string{"WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER", "WHATSAPP_GET_MESSAGE_STATUS"},
		"Delivery statuses (sent, delivered, read, failed) arrive later from Meta's webhook: check message ids with WHATSAPP_GET_MESSAGE_STATUS, or poll WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER with the phone_number_id and pass back the cursor it returns."},
	{[]string{"WHATSAPP_UPLOAD_MEDIA", "WHATSAPP_SEND_MEDIA_BY_ID", "WHATSAPP_GET_MEDIA"},
		"Media: send a public URL with WHATSAPP_SEND_MEDIA, or upload with WHATSAPP_UPLOAD_MEDIA and send the returned id with WHATSAPP_SEND_MEDIA_BY_ID. Media URLs from WHATSAPP_GET_MEDIA expire after 5 minutes."},
}

// instructions tells the model how the enabled tools fit together.
func instructions(enabled map[string]tools.Tool) string {
	var b strings.Builder
	b.WriteString("This server gives you the WhatsApp Business Cloud API (Meta) as tools. " +
		"Every tool returns {successful, data, error}: when successful is false, error says what went wrong and what to do; warnings carry advice that did not stop the action.")
	for _, h := range hints {
		for _, n := range h.anyOf {
			if _, ok := enabled[n]; ok {
				b.WriteString("\n\n")
				b.WriteString(h.text)
				break
			}
		}
	}
	return b.String()
}
