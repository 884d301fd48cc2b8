package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// InteractiveActions returns the interactive sends beyond reply buttons and
// lists, in catalog order.
func InteractiveActions(d *Deps) []tools.Tool {
	return []tools.Tool{
		sendAddressRequest(d),
		sendChoices(d),
		sendCTAURL(d),
		sendFlow(d),
		sendLocationRequest(d),
	}
}

// SendCTAURLInput is the input of WHATSAPP_SEND_CTA_URL
// (docs/cloud-api.md#cta-url-messages).
type SendCTAURLInput struct {
	Recipient
	BodyText         string            `json:"body_text" validate:"required,notblank,max=1024"`
	ButtonText       string            `json:"button_text" validate:"required,notblank,max=20"`
	URL              string            `json:"url" validate:"required,http_url,max=2000"`
	HeaderText       string            `json:"header_text,omitempty" validate:"omitempty,max=60"`
	HeaderMedia      *HeaderMediaInput `json:"header_media,omitempty"`
	FooterText       string            `json:"footer_text,omitempty" validate:"omitempty,max=60"`
	ReplyToMessageID string            `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
}

// Check allows one header and one media reference.
func (in *SendCTAURLInput) Check() []tools.FieldError {
	return headerCheck(in.HeaderText, in.HeaderMedia)
}

func sendCTAURL(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendCTAURLInput, *SendResult]{
		Name:    "WHATSAPP_SEND_CTA_URL",
		Title:   "Send a link button",
		Toolset: ToolsetMessages,
		Hints:   freeFormHints,
		Description: "Send a button that opens a URL (a booking or product page) instead of a raw link; optional text or media header, and footer." +
			onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendCTAURLInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","body_text":"Tap the button below to see available dates.","button_text":"See Dates","url":"https://www.luckyshrub.com/dates"}`,
		Handler: func(ctx context.Context, in *SendCTAURLInput) (*SendResult, error) {
			iv := &graph.Interactive{Type: "cta_url", Header: interactiveHeader(in.HeaderText, in.HeaderMedia), Footer: interactiveFooter(in.FooterText),
				Body:   graph.InteractiveText{Text: in.BodyText},
				Action: graph.InteractiveAction{Name: "cta_url", Parameters: &graph.ActionParameters{DisplayText: in.ButtonText, URL: in.URL}}}
			return d.dispatch(ctx, in.Recipient, interactiveMessage(in.ReplyToMessageID, iv), true)
		},
	})
}

// SendLocationRequestInput is the input of WHATSAPP_SEND_LOCATION_REQUEST
// (docs/cloud-api.md#location-request-messages).
type SendLocationRequestInput struct {
	Recipient
	BodyText         string `json:"body_text" validate:"required,notblank,max=1024"`
	ReplyToMessageID string `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
}

func sendLocationRequest(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendLocationRequestInput, *SendResult]{
		Name:    "WHATSAPP_SEND_LOCATION_REQUEST",
		Title:   "Ask for a location",
		Toolset: ToolsetMessages,
		Hints:   freeFormHints,
		Description: "Ask the customer to share a location: body_text with a Send location button. " +
			"Their answer arrives as an inbound location message quoting this one." + onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendLocationRequestInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","body_text":"Where should we pick you up?"}`,
		Handler: func(ctx context.Context, in *SendLocationRequestInput) (*SendResult, error) {
			iv := &graph.Interactive{Type: "location_request_message", Body: graph.InteractiveText{Text: in.BodyText},
				Action: graph.InteractiveAction{Name: "send_location"}}
			return d.dispatch(ctx, in.Recipient, interactiveMessage(in.ReplyToMessageID, iv), true)
		},
	})
}

// SendFlowInput is the input of WHATSAPP_SEND_FLOW
// (docs/cloud-api.md#flow-messages).
type SendFlowInput struct {
	Recipient
	FlowID     string `json:"flow_id,omitempty" validate:"omitempty,graphid"`
	FlowName   string `json:"flow_name,omitempty"`
	FlowCTA    string `json:"flow_cta" validate:"required,notblank,max=30"`
	BodyText   string `json:"body_text" validate:"required,notblank,max=1024"`
	HeaderText string `json:"header_text,omitempty" validate:"omitempty,max=60"`
	FooterText string `json:"footer_text,omitempty" validate:"omitempty,max=60"`
	Mode       string `json:"mode,omitempty" validate:"omitempty,oneof=draft published" jsonschema:"enum=draft,enum=published"`
	FlowToken  string `json:"flow_token,omitempty"`
	FlowAction string `json:"flow_action,omitempty" validate:"omitempty,oneof=navigate data_exchange" jsonschema:"enum=navigate,enum=data_exchange"`
	Screen     string `json:"screen,omitempty" jsonschema_description:"First screen (navigate)."`
	// Data keeps the caller's bytes: Meta wants it serialized as a string,
	// and the caller's key order is the order of that string.
	Data             json.RawMessage `json:"data,omitempty" jsonschema:"type=object" jsonschema_description:"First screen's input."`
	ReplyToMessageID string          `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
}

// Check applies Meta's cross-field rules of a Flow message: exactly one of
// flow_id and flow_name; screen and data only with navigate; data a
// non-empty object.
func (in *SendFlowInput) Check() []tools.FieldError {
	var errs []tools.FieldError
	add := func(field, rule string) { errs = append(errs, tools.FieldError{Field: field, Rule: rule}) }
	if (in.FlowID == "") == (in.FlowName == "") {
		add("flow_id", "give exactly one of flow_id and flow_name")
	}
	if in.FlowAction == "data_exchange" {
		if in.Screen != "" {
			add("screen", "must not be set with flow_action data_exchange: your endpoint picks the screen")
		}
		if len(in.Data) > 0 {
			add("data", "must not be set with flow_action data_exchange: your endpoint sends the data")
		}
	} else if len(in.Data) > 0 && in.Screen == "" {
		add("screen", "is required with data: the data is the first screen's input")
	}
	if len(in.Data) > 0 {
		var obj map[string]json.RawMessage
		if json.Unmarshal(in.Data, &obj) != nil || len(obj) == 0 {
			add("data", "must be a non-empty JSON object")
		}
	}
	return errs
}

func (in *SendFlowInput) parameters() *graph.ActionParameters {
	p := &graph.ActionParameters{FlowMessageVersion: "3", FlowToken: in.FlowToken, FlowID: in.FlowID, FlowName: in.FlowName,
		FlowCTA: in.FlowCTA, FlowAction: in.FlowAction, Mode: in.Mode}
	if in.Screen != "" {
		p.FlowAction = "navigate"
		p.FlowActionPayload = &graph.FlowActionPayload{Screen: in.Screen}
		if len(in.Data) > 0 {
			// Check made sure the data is an object: compacting and quoting
			// it cannot fail.
			var b bytes.Buffer
			_ = json.Compact(&b, in.Data)
			p.FlowActionPayload.Data, _ = json.Marshal(b.String())
		}
	}
	return p
}

func sendFlow(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendFlowInput, *SendResult]{
		Name:    "WHATSAPP_SEND_FLOW",
		Title:   "Send a WhatsApp Flow",
		Toolset: ToolsetMessages,
		Hints:   freeFormHints,
		Description: "Send a WhatsApp Flow (a form made in WhatsApp Manager) behind a button. " +
			"The completed Flow arrives as an inbound nfm_reply with the answers and flow_token." + onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendFlowInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","flow_id":"1234567890","flow_cta":"Book!","body_text":"Book your appointment","screen":"APPOINTMENT","data":{"service":"haircut"}}`,
		Handler: func(ctx context.Context, in *SendFlowInput) (*SendResult, error) {
			iv := &graph.Interactive{Type: "flow", Header: interactiveHeader(in.HeaderText, nil), Footer: interactiveFooter(in.FooterText),
				Body:   graph.InteractiveText{Text: in.BodyText},
				Action: graph.InteractiveAction{Name: "flow", Parameters: in.parameters()}}
			return d.dispatch(ctx, in.Recipient, interactiveMessage(in.ReplyToMessageID, iv), true)
		},
	})
}

// addressFields are the fields of Meta's address form
// (docs/cloud-api.md#address-messages).
var addressFields = []string{"name", "phone_number", "in_pin_code", "house_number", "floor_number", "tower_number",
	"building_name", "address", "landmark_area", "city", "state"}

// SavedAddressInput is an address the customer may pick.
type SavedAddressInput struct {
	ID    string            `json:"id" validate:"required,notblank"`
	Value map[string]string `json:"value" validate:"required"`
}

// SendAddressRequestInput is the input of WHATSAPP_SEND_ADDRESS_REQUEST
// (docs/cloud-api.md#address-messages).
type SendAddressRequestInput struct {
	Recipient
	BodyText         string              `json:"body_text" validate:"required,notblank,max=1024"`
	Country          string              `json:"country" validate:"required,len=2,uppercase"`
	Values           map[string]string   `json:"values,omitempty" jsonschema_description:"Prefilled form fields: name, phone_number, in_pin_code, address, city…"`
	SavedAddresses   []SavedAddressInput `json:"saved_addresses,omitempty" validate:"omitempty,dive"`
	ValidationErrors map[string]string   `json:"validation_errors,omitempty" jsonschema_description:"Field → error, asking again."`
	ReplyToMessageID string              `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
}

// Check names every field that is not one of Meta's address fields, and a
// saved address id used twice.
func (in *SendAddressRequestInput) Check() []tools.FieldError {
	var errs []tools.FieldError
	fields := func(path string, m map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !slices.Contains(addressFields, k) {
				errs = append(errs, tools.FieldError{Field: path + "." + k,
					Rule: "is not an address field; use " + strings.Join(addressFields, ", ")})
			}
		}
	}
	fields("values", in.Values)
	fields("validation_errors", in.ValidationErrors)
	ids := map[string]int{}
	for i, a := range in.SavedAddresses {
		fields(fmt.Sprintf("saved_addresses[%d].value", i), a.Value)
		if a.Value != nil && len(a.Value) == 0 {
			errs = append(errs, tools.FieldError{Field: fmt.Sprintf("saved_addresses[%d].value", i), Rule: "must hold at least one address field"})
		}
		if j, dup := ids[a.ID]; dup {
			errs = append(errs, tools.FieldError{Field: fmt.Sprintf("saved_addresses[%d].id", i), Rule: fmt.Sprintf("must be unique (same as saved_addresses[%d].id)", j)})
		}
		ids[a.ID] = i
	}
	return errs
}

func sendAddressRequest(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendAddressRequestInput, *SendResult]{
		Name:    "WHATSAPP_SEND_ADDRESS_REQUEST",
		Title:   "Ask for a shipping address",
		Toolset: ToolsetMessages,
		Hints:   freeFormHints,
		Description: "Ask for a shipping address with WhatsApp's form; Meta offers it only in India (country IN, Indian numbers), elsewhere it errs. " +
			"The answer arrives as an inbound nfm_reply." + onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendAddressRequestInput](d),
		Example:     `{"to_number":"+919876543210","phone_number_id":"106540352242922","body_text":"Where should we deliver your order?","country":"IN","values":{"name":"Anjali Sharma"}}`,
		Handler: func(ctx context.Context, in *SendAddressRequestInput) (*SendResult, error) {
			p := &graph.ActionParameters{Country: in.Country, Values: in.Values, ValidationErrors: in.ValidationErrors}
			for _, a := range in.SavedAddresses {
				p.SavedAddresses = append(p.SavedAddresses, graph.SavedAddress(a))
			}
			iv := &graph.Interactive{Type: "address_message", Body: graph.InteractiveText{Text: in.BodyText},
				Action: graph.InteractiveAction{Name: "address_message", Parameters: p}}
			return d.dispatch(ctx, in.Recipient, interactiveMessage(in.ReplyToMessageID, iv), true)
		},
	})
}

// ChoiceInput is one option of WHATSAPP_SEND_CHOICES.
type ChoiceInput struct {
	ID          string `json:"id" validate:"required,notblank,max=200,trimmed"`
	Title       string `json:"title" validate:"required,notblank,max=24"`
	Description string `json:"description,omitempty" validate:"omitempty,max=72"`
}

// SendChoicesInput is the input of WHATSAPP_SEND_CHOICES
// (docs/cloud-api.md#choices).
type SendChoicesInput struct {
	Recipient
	Question         string        `json:"question" validate:"required,notblank,max=1024"`
	Options          []ChoiceInput `json:"options" validate:"required,min=1,max=10,dive"`
	ButtonLabel      string        `json:"button_label,omitempty" validate:"omitempty,max=20" jsonschema_description:"List; default Choose."`
	SectionTitle     string        `json:"section_title,omitempty" validate:"omitempty,max=24" jsonschema_description:"List; default Options."`
	ReplyToMessageID string        `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
}

// ChoicesResult is a send's result and the form it took.
type ChoicesResult struct {
	SendResult
	Form string `json:"form" jsonschema:"enum=buttons,enum=list"`
}

// choicesData is what the output schema names of a ChoicesResult (see
// sentData).
type choicesData struct {
	sentData
	Form string `json:"form" jsonschema:"enum=buttons,enum=list"`
}

// Check enforces unique ids and titles, which tell the answers apart.
func (in *SendChoicesInput) Check() []tools.FieldError {
	return uniqueChoices("options", len(in.Options), func(i int) (string, string) { return in.Options[i].ID, in.Options[i].Title })
}

// asButtons: Meta's reply buttons hold at most 3 titles of at most 20
// characters and no descriptions (docs/cloud-api.md#choices).
func (in *SendChoicesInput) asButtons() bool {
	if len(in.Options) > 3 {
		return false
	}
	for _, o := range in.Options {
		if o.Description != "" || len([]rune(o.Title)) > 20 {
			return false
		}
	}
	return true
}

func (in *SendChoicesInput) interactive() (*graph.Interactive, string) {
	iv := &graph.Interactive{Body: graph.InteractiveText{Text: in.Question}}
	if in.asButtons() {
		iv.Type = "button"
		for _, o := range in.Options {
			iv.Action.Buttons = append(iv.Action.Buttons, graph.ReplyButton{Type: "reply", Reply: graph.ReplyTitle{ID: o.ID, Title: o.Title}})
		}
		return iv, "buttons"
	}
	iv.Type = "list"
	iv.Action.Button = in.ButtonLabel
	if iv.Action.Button == "" {
		iv.Action.Button = "Choose"
	}
	sec := graph.ListSection{Title: in.SectionTitle}
	if sec.Title == "" {
		sec.Title = "Options"
	}
	for _, o := range in.Options {
		sec.Rows = append(sec.Rows, graph.ListRow(o))
	}
	iv.Action.Sections = []graph.ListSection{sec}
	return iv, "list"
}

func sendChoices(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendChoicesInput, *ChoicesResult]{
		Name:    "WHATSAPP_SEND_CHOICES",
		Title:   "Ask a question with options",
		Toolset: ToolsetMessages,
		Hints:   freeFormHints,
		Description: "Ask a question with 1-10 unique options: ≤3 short ones (titles ≤20 chars, no description) go as reply buttons, else a list; data.form says which. " +
			"The pick arrives as an inbound message with the option's id." + onlyInWindow,
		Annotations: send,
		Data:        choicesData{},
		Prepare:     recipientRule[SendChoicesInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","question":"Still coming tomorrow at 9am?","options":[{"id":"yes","title":"Yes"},{"id":"reschedule","title":"Reschedule"}]}`,
		Handler: func(ctx context.Context, in *SendChoicesInput) (*ChoicesResult, error) {
			iv, form := in.interactive()
			res, err := d.dispatch(ctx, in.Recipient, interactiveMessage(in.ReplyToMessageID, iv), true)
			if err != nil {
				return nil, err
			}
			return &ChoicesResult{SendResult: *res, Form: form}, nil
		},
	})
}
