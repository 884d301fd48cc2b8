package actions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Recipient is shared by every send: who gets it and which business number sends it.
type Recipient struct {
	ToNumber      string `json:"to_number" validate:"required,phone" jsonschema_description:"The recipient's phone number including the country code, e.g. +16505551234 or 16505551234 (spaces, dashes and parentheses are fine). It is normalised to +<digits>; a number without its country code is rejected."`
	PhoneNumberID string `json:"phone_number_id" validate:"required,graphid" jsonschema_description:"The Meta-assigned numeric id of the business phone number that sends (from WHATSAPP_GET_PHONE_NUMBERS), not the phone number itself."`
}

// Normalize rewrites to_number to +<digits>.
func (r *Recipient) Normalize() { r.ToNumber = tools.NormalizePhone(r.ToNumber) }

// SendResult is data for every send: accepted by Meta, not yet delivered.
type SendResult struct {
	MessageID        string                  `json:"message_id" jsonschema_description:"The WhatsApp message id (wamid.…); statuses (sent, delivered, read, failed) arrive later for it"`
	To               string                  `json:"to" jsonschema_description:"The number the message was sent to, as sent (+<digits>)"`
	WaID             string                  `json:"wa_id" jsonschema_description:"The recipient's WhatsApp id as Meta resolved it (may be empty for username-only users)"`
	MessageStatus    string                  `json:"message_status,omitempty" jsonschema_description:"Template sends only: accepted, or held_for_quality_assessment when Meta paces the template"`
	MessagingProduct string                  `json:"messaging_product,omitempty"`
	Contacts         []graph.ResponseContact `json:"contacts,omitempty" jsonschema_description:"As returned by the Graph API"`
	Messages         []graph.ResponseMessage `json:"messages,omitempty" jsonschema_description:"As returned by the Graph API"`
}

const windowRule = "Free-form messages reach the recipient only inside the 24-hour customer-service window (they wrote to this business number in the last 24 hours); outside it Meta still answers with a message id but the message later fails with error 131047, so use WHATSAPP_SEND_TEMPLATE_MESSAGE with an approved template instead. A successful result means Meta accepted the message, not that it was delivered."

// dispatch sends m and shapes the result. freeForm sends get the 24-hour
// window check when a store is configured.
func (d *Deps) dispatch(ctx context.Context, r Recipient, m *graph.Message, freeForm bool) (*SendResult, error) {
	m.To = r.ToNumber
	if freeForm {
		d.warnOutsideWindow(ctx, r)
	}
	res, _, err := d.Graph.SendMessage(ctx, r.PhoneNumberID, m)
	if err != nil {
		return nil, err
	}
	out := &SendResult{To: r.ToNumber, MessagingProduct: res.MessagingProduct, Contacts: res.Contacts, Messages: res.Messages}
	if len(res.Messages) > 0 {
		out.MessageID = res.Messages[0].ID
		out.MessageStatus = res.Messages[0].MessageStatus
	}
	if len(res.Contacts) > 0 {
		out.WaID = res.Contacts[0].WaID
	}
	return out, nil
}

// warnOutsideWindow warns (it does not block: the store may not have seen
// every inbound message) when the customer is known not to have written in
// the last 24 hours.
func (d *Deps) warnOutsideWindow(ctx context.Context, r Recipient) {
	if d.Window == nil {
		return
	}
	last, ok, err := d.Window.LastInbound(ctx, r.PhoneNumberID, strings.TrimPrefix(r.ToNumber, "+"))
	if err != nil {
		return
	}
	const advice = "Meta will most likely fail this free-form message with error 131047 (a `failed` status arrives later); to reach them, send an approved template with WHATSAPP_SEND_TEMPLATE_MESSAGE."
	switch {
	case !ok:
		tools.Warn(ctx, "%s has never written to business number %s as far as this server's webhook store knows, so the 24-hour customer-service window is probably closed. %s", r.ToNumber, r.PhoneNumberID, advice)
	case d.now().Sub(last) > 24*time.Hour:
		tools.Warn(ctx, "%s last wrote to business number %s at %s, more than 24 hours ago, so the customer-service window is closed. %s", r.ToNumber, r.PhoneNumberID, last.UTC().Format(time.RFC3339), advice)
	}
}

func replyContext(id string) *graph.MessageContext {
	if id == "" {
		return nil
	}
	return &graph.MessageContext{MessageID: id}
}

// SendMessageInput is the input of WHATSAPP_SEND_MESSAGE.
type SendMessageInput struct {
	Recipient
	Text       string `json:"text" validate:"required,notblank,max=4096" jsonschema_description:"The message text, at most 4096 characters. URLs are linked automatically; WhatsApp formatting (*bold*, _italic_) works."`
	PreviewURL bool   `json:"preview_url,omitempty" jsonschema_description:"Render a link preview of the first http(s) URL in the text."`
	MessageID  string `json:"message_id,omitempty" validate:"omitempty,notblank,max=512" jsonschema_description:"Optional: the id (wamid.…) of a message to reply to; the reply quotes it."`
}

func sendMessage(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendMessageInput, *SendResult]{
		Name:    "WHATSAPP_SEND_MESSAGE",
		Title:   "Send a text message",
		Toolset: ToolsetMessages,
		Hints:   []string{hintToNumber},
		Description: "Send a free-form text message from a business phone number to a WhatsApp user. " +
			"Use it to answer a customer who wrote recently; set message_id to quote one of their messages. " + windowRule,
		Annotations: send,
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","text":"Your order has shipped!"}`,
		Handler: func(ctx context.Context, in *SendMessageInput) (*SendResult, error) {
			return d.dispatch(ctx, in.Recipient, &graph.Message{Type: "text", Context: replyContext(in.MessageID),
				Text: &graph.Text{Body: in.Text, PreviewURL: in.PreviewURL}}, true)
		},
	})
}

// SendReplyInput is the input of WHATSAPP_SEND_REPLY.
type SendReplyInput struct {
	Recipient
	Text             string `json:"text" validate:"required,notblank,max=4096" jsonschema_description:"The reply text, at most 4096 characters."`
	ReplyToMessageID string `json:"reply_to_message_id" validate:"required,notblank,max=512" jsonschema_description:"The id (wamid.…) of the message being answered; WhatsApp shows it quoted above the reply."`
	PreviewURL       bool   `json:"preview_url,omitempty" jsonschema_description:"Render a link preview of the first http(s) URL in the text."`
}

func sendReply(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendReplyInput, *SendResult]{
		Name:    "WHATSAPP_SEND_REPLY",
		Title:   "Reply to a message",
		Toolset: ToolsetMessages,
		Hints:   []string{hintToNumber},
		Description: "Send a text reply that quotes a specific earlier message (contextual reply). " +
			"Use it when answering one message among several so the user sees which one you mean. " +
			"The quote is not shown if the original was deleted or is older than about 30 days. " + windowRule,
		Annotations: send,
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","text":"Yes, it comes in blue.","reply_to_message_id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="}`,
		Handler: func(ctx context.Context, in *SendReplyInput) (*SendResult, error) {
			return d.dispatch(ctx, in.Recipient, &graph.Message{Type: "text", Context: replyContext(in.ReplyToMessageID),
				Text: &graph.Text{Body: in.Text, PreviewURL: in.PreviewURL}}, true)
		},
	})
}

// MediaType is one of the five media message types.
type MediaType string

const mediaTypes = "audio document image sticker video"

// captionAllowed: Meta accepts captions on image, video and document only.
func captionAllowed(t string) bool { return t == "image" || t == "video" || t == "document" }

func mediaObject(m *graph.Message, mediaType string, obj *graph.MediaObject) {
	m.Type = mediaType
	switch mediaType {
	case "image":
		m.Image = obj
	case "audio":
		m.Audio = obj
	case "document":
		m.Document = obj
	case "sticker":
		m.Sticker = obj
	case "video":
		m.Video = obj
	}
}

func captionCheck(mediaType, caption string) []tools.FieldError {
	if caption != "" && !captionAllowed(mediaType) {
		return []tools.FieldError{{Field: "caption", Rule: fmt.Sprintf("is only allowed for image, video and document media, not %s; remove it", mediaType)}}
	}
	return nil
}

// SendMediaInput is the input of WHATSAPP_SEND_MEDIA.
type SendMediaInput struct {
	Recipient
	MediaType string `json:"media_type" validate:"required,oneof=audio document image sticker video" jsonschema:"enum=audio,enum=document,enum=image,enum=sticker,enum=video" jsonschema_description:"The kind of media."`
	Link      string `json:"link" validate:"required,http_url,max=2000" jsonschema_description:"A public http(s) URL of the file; Meta downloads it (and caches it for 10 minutes). Limits: image jpeg/png ≤5 MB, video mp4/3gpp ≤16 MB, audio aac/amr/mp3/m4a/ogg ≤16 MB, document ≤100 MB, sticker webp ≤500 KB."`
	Caption   string `json:"caption,omitempty" validate:"omitempty,max=1024" jsonschema_description:"Optional caption, at most 1024 characters; only for image, video and document."`
}

// Check applies the caption rule.
func (in *SendMediaInput) Check() []tools.FieldError { return captionCheck(in.MediaType, in.Caption) }

func sendMedia(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendMediaInput, *SendResult]{
		Name:    "WHATSAPP_SEND_MEDIA",
		Title:   "Send media by link",
		Toolset: ToolsetMessages,
		Hints:   []string{hintToNumber, hintMedia},
		Description: "Send an image, video, audio file, document or sticker that Meta fetches from a public URL. " +
			"Use WHATSAPP_UPLOAD_MEDIA + WHATSAPP_SEND_MEDIA_BY_ID instead for private files or faster delivery. " +
			"A link Meta cannot fetch, or a file of the wrong type or size, fails with error 131053 (sometimes only in a later `failed` status). " + windowRule,
		Annotations: send,
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","media_type":"image","link":"https://example.com/aloe.png","caption":"The best succulent ever?"}`,
		Handler: func(ctx context.Context, in *SendMediaInput) (*SendResult, error) {
			m := &graph.Message{}
			mediaObject(m, in.MediaType, &graph.MediaObject{Link: in.Link, Caption: in.Caption})
			return d.dispatch(ctx, in.Recipient, m, true)
		},
	})
}

// SendMediaByIDInput is the input of WHATSAPP_SEND_MEDIA_BY_ID.
type SendMediaByIDInput struct {
	Recipient
	MediaType        string `json:"media_type" validate:"required,oneof=audio document image sticker video" jsonschema:"enum=audio,enum=document,enum=image,enum=sticker,enum=video" jsonschema_description:"The kind of media; must match what was uploaded."`
	MediaID          string `json:"media_id" validate:"required,graphid" jsonschema_description:"The media id returned by WHATSAPP_UPLOAD_MEDIA (valid 30 days), uploaded from the same phone_number_id."`
	Caption          string `json:"caption,omitempty" validate:"omitempty,max=1024" jsonschema_description:"Optional caption, at most 1024 characters; only for image, video and document."`
	Filename         string `json:"filename,omitempty" validate:"omitempty,max=240" jsonschema_description:"Documents only: the file name the recipient sees, with its extension (it picks the icon)."`
	ReplyToMessageID string `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512" jsonschema_description:"Optional: the id (wamid.…) of a message to reply to."`
}

// Check applies the caption and filename rules.
func (in *SendMediaByIDInput) Check() []tools.FieldError {
	errs := captionCheck(in.MediaType, in.Caption)
	if in.Filename != "" && in.MediaType != "document" {
		errs = append(errs, tools.FieldError{Field: "filename", Rule: fmt.Sprintf("is only allowed for document media, not %s; remove it", in.MediaType)})
	}
	return errs
}

func sendMediaByID(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendMediaByIDInput, *SendResult]{
		Name:    "WHATSAPP_SEND_MEDIA_BY_ID",
		Title:   "Send uploaded media",
		Toolset: ToolsetMessages,
		Hints:   []string{hintToNumber, hintMedia},
		Description: "Send media previously uploaded with WHATSAPP_UPLOAD_MEDIA, by its media id. " +
			"Preferred over links: Meta does not have to fetch anything. Media ids from uploads expire after 30 days. " + windowRule,
		Annotations: send,
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","media_type":"document","media_id":"1376223850470843","filename":"invoice.pdf","caption":"Your invoice"}`,
		Handler: func(ctx context.Context, in *SendMediaByIDInput) (*SendResult, error) {
			m := &graph.Message{Context: replyContext(in.ReplyToMessageID)}
			mediaObject(m, in.MediaType, &graph.MediaObject{ID: in.MediaID, Caption: in.Caption, Filename: in.Filename})
			return d.dispatch(ctx, in.Recipient, m, true)
		},
	})
}

// SendLocationInput is the input of WHATSAPP_SEND_LOCATION.
type SendLocationInput struct {
	Recipient
	Name      string `json:"name" validate:"required,notblank,max=1000" jsonschema_description:"The place's name, e.g. Philz Coffee."`
	Address   string `json:"address" validate:"required,notblank,max=1000" jsonschema_description:"The place's address, e.g. 101 Forest Ave, Palo Alto, CA 94301."`
	Latitude  string `json:"latitude" validate:"required,latitude" jsonschema_description:"Latitude in decimal degrees, -90 to 90, as a string, e.g. \"37.44216\"."`
	Longitude string `json:"longitude" validate:"required,longitude" jsonschema_description:"Longitude in decimal degrees, -180 to 180, as a string, e.g. \"-122.16153\"."`
}

// Normalize trims the coordinates, which models often pad.
func (in *SendLocationInput) Normalize() {
	in.Recipient.Normalize()
	in.Latitude, in.Longitude = strings.TrimSpace(in.Latitude), strings.TrimSpace(in.Longitude)
}

func sendLocation(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendLocationInput, *SendResult]{
		Name:        "WHATSAPP_SEND_LOCATION",
		Title:       "Send a location",
		Toolset:     ToolsetMessages,
		Hints:       []string{hintToNumber},
		Description: "Send a location pin (coordinates with a name and address) that opens in the recipient's maps app. " + windowRule,
		Annotations: send,
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301","latitude":"37.44216251868683","longitude":"-122.16153582049394"}`,
		Handler: func(ctx context.Context, in *SendLocationInput) (*SendResult, error) {
			return d.dispatch(ctx, in.Recipient, &graph.Message{Type: "location", Location: &graph.Location{
				Latitude: in.Latitude, Longitude: in.Longitude, Name: in.Name, Address: in.Address}}, true)
		},
	})
}

// ContactInput is one contact card.
type ContactInput struct {
	Name      ContactNameInput `json:"name" validate:"required" jsonschema_description:"The contact's name; formatted_name is required."`
	Addresses []struct {
		Street      string `json:"street,omitempty"`
		City        string `json:"city,omitempty"`
		State       string `json:"state,omitempty"`
		Zip         string `json:"zip,omitempty"`
		Country     string `json:"country,omitempty"`
		CountryCode string `json:"country_code,omitempty" jsonschema_description:"ISO two-letter country code, e.g. US"`
		Type        string `json:"type,omitempty" jsonschema_description:"e.g. HOME or WORK"`
	} `json:"addresses,omitempty" validate:"max=20"`
	Birthday string `json:"birthday,omitempty" validate:"omitempty,datetime=2006-01-02" jsonschema_description:"YYYY-MM-DD"`
	Emails   []struct {
		Email string `json:"email,omitempty" validate:"omitempty,email"`
		Type  string `json:"type,omitempty" jsonschema_description:"e.g. HOME or WORK"`
	} `json:"emails,omitempty" validate:"max=20,dive"`
	Org *struct {
		Company    string `json:"company,omitempty"`
		Department string `json:"department,omitempty"`
		Title      string `json:"title,omitempty"`
	} `json:"org,omitempty"`
	Phones []struct {
		Phone string `json:"phone,omitempty"`
		WaID  string `json:"wa_id,omitempty" validate:"omitempty,number" jsonschema_description:"The WhatsApp id (digits); with it WhatsApp shows Message and Save buttons, without it Invite"`
		Type  string `json:"type,omitempty" jsonschema_description:"e.g. CELL, MAIN, HOME, WORK"`
	} `json:"phones,omitempty" validate:"max=20,dive"`
	URLs []struct {
		URL  string `json:"url,omitempty"`
		Type string `json:"type,omitempty"`
	} `json:"urls,omitempty" validate:"max=20"`
}

// ContactNameInput is a contact's name.
type ContactNameInput struct {
	FormattedName string `json:"formatted_name" validate:"required,notblank" jsonschema_description:"The full name as displayed, e.g. Barbara J. Johnson"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
}

// SendContactsInput is the input of WHATSAPP_SEND_CONTACTS.
type SendContactsInput struct {
	Recipient
	Contacts []ContactInput `json:"contacts" validate:"required,min=1,max=257,dive" jsonschema_description:"The contact cards to send, 1 to 257."`
}

func (c ContactInput) toGraph() graph.Contact {
	g := graph.Contact{Birthday: c.Birthday, Name: graph.ContactName(c.Name)}
	for _, a := range c.Addresses {
		g.Addresses = append(g.Addresses, graph.ContactAddress(a))
	}
	for _, e := range c.Emails {
		g.Emails = append(g.Emails, graph.ContactEmail(e))
	}
	if c.Org != nil {
		o := graph.ContactOrg(*c.Org)
		g.Org = &o
	}
	for _, p := range c.Phones {
		g.Phones = append(g.Phones, graph.ContactPhone(p))
	}
	for _, u := range c.URLs {
		g.URLs = append(g.URLs, graph.ContactURL(u))
	}
	return g
}

func sendContacts(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendContactsInput, *SendResult]{
		Name:    "WHATSAPP_SEND_CONTACTS",
		Title:   "Send contact cards",
		Toolset: ToolsetMessages,
		Hints:   []string{hintToNumber},
		Description: "Send one or more contact cards (vCards) the recipient can save or message. " +
			"Each contact needs name.formatted_name; give phones[].wa_id so WhatsApp offers a Message button. " + windowRule,
		Annotations: send,
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","contacts":[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara","last_name":"Johnson"},"phones":[{"phone":"+19175559999","wa_id":"19175559999","type":"CELL"}]}]}`,
		Handler: func(ctx context.Context, in *SendContactsInput) (*SendResult, error) {
			m := &graph.Message{Type: "contacts"}
			for _, c := range in.Contacts {
				m.Contacts = append(m.Contacts, c.toGraph())
			}
			return d.dispatch(ctx, in.Recipient, m, true)
		},
	})
}

// ButtonInput is one reply button.
type ButtonInput struct {
	ID    string `json:"id,omitempty" validate:"omitempty,max=256,trimmed" jsonschema_description:"Your id for the button, at most 256 characters, unique; it comes back in the reply webhook. Defaults to button_<n>."`
	Title string `json:"title" validate:"required,notblank,max=20" jsonschema_description:"The button label, at most 20 characters, unique; no markdown."`
}

// SendButtonsInput is the input of WHATSAPP_SEND_INTERACTIVE_BUTTONS.
type SendButtonsInput struct {
	Recipient
	BodyText         string        `json:"body_text" validate:"required,notblank,max=1024" jsonschema_description:"The message text above the buttons, at most 1024 characters."`
	Buttons          []ButtonInput `json:"buttons" validate:"required,min=1,max=3,dive" jsonschema_description:"1 to 3 quick-reply buttons."`
	HeaderText       string        `json:"header_text,omitempty" validate:"omitempty,max=60" jsonschema_description:"Optional bold header, at most 60 characters."`
	FooterText       string        `json:"footer_text,omitempty" validate:"omitempty,max=60" jsonschema_description:"Optional grey footer, at most 60 characters."`
	ReplyToMessageID string        `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512" jsonschema_description:"Optional: the id (wamid.…) of a message to reply to."`
}

// Normalize fills default button ids.
func (in *SendButtonsInput) Normalize() {
	in.Recipient.Normalize()
	for i := range in.Buttons {
		if in.Buttons[i].ID == "" {
			in.Buttons[i].ID = fmt.Sprintf("button_%d", i+1)
		}
	}
}

// Check enforces unique ids and titles.
func (in *SendButtonsInput) Check() []tools.FieldError {
	var errs []tools.FieldError
	ids, titles := map[string]int{}, map[string]int{}
	for i, b := range in.Buttons {
		if j, dup := ids[b.ID]; dup {
			errs = append(errs, tools.FieldError{Field: fmt.Sprintf("buttons[%d].id", i), Rule: fmt.Sprintf("must be unique (same as buttons[%d].id)", j)})
		}
		if j, dup := titles[b.Title]; dup && b.Title != "" {
			errs = append(errs, tools.FieldError{Field: fmt.Sprintf("buttons[%d].title", i), Rule: fmt.Sprintf("must be unique (same as buttons[%d].title)", j)})
		}
		ids[b.ID], titles[b.Title] = i, i
	}
	return errs
}

func headerFooter(header, footer string) (*graph.InteractiveHeader, *graph.InteractiveText) {
	var h *graph.InteractiveHeader
	var f *graph.InteractiveText
	if header != "" {
		h = &graph.InteractiveHeader{Type: "text", Text: header}
	}
	if footer != "" {
		f = &graph.InteractiveText{Text: footer}
	}
	return h, f
}

func sendInteractiveButtons(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendButtonsInput, *SendResult]{
		Name:    "WHATSAPP_SEND_INTERACTIVE_BUTTONS",
		Title:   "Send reply buttons",
		Toolset: ToolsetMessages,
		Hints:   []string{hintToNumber},
		Description: "Send a message with up to 3 quick-reply buttons (e.g. Yes / No / Later). " +
			"The user's tap comes back as an inbound message with the button's id and title. For more than 3 choices use WHATSAPP_SEND_INTERACTIVE_LIST. " + windowRule,
		Annotations: send,
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","body_text":"Your workshop is at 9am tomorrow. Still coming?","buttons":[{"id":"yes","title":"Yes"},{"id":"reschedule","title":"Reschedule"}]}`,
		Handler: func(ctx context.Context, in *SendButtonsInput) (*SendResult, error) {
			h, f := headerFooter(in.HeaderText, in.FooterText)
			iv := &graph.Interactive{Type: "button", Header: h, Footer: f, Body: graph.InteractiveText{Text: in.BodyText}}
			for _, b := range in.Buttons {
				iv.Action.Buttons = append(iv.Action.Buttons, graph.ReplyButton{Type: "reply", Reply: graph.ReplyTitle{ID: b.ID, Title: b.Title}})
			}
			return d.dispatch(ctx, in.Recipient, &graph.Message{Type: "interactive", Context: replyContext(in.ReplyToMessageID), Interactive: iv}, true)
		},
	})
}

// SectionInput is one section of a list message.
type SectionInput struct {
	Title string     `json:"title,omitempty" validate:"omitempty,max=24" jsonschema_description:"Section heading, at most 24 characters; required when there is more than one section."`
	Rows  []RowInput `json:"rows" validate:"required,min=1,max=10,dive" jsonschema_description:"The choices of this section (at most 10 rows across ALL sections)."`
}

// RowInput is one row of a list message.
type RowInput struct {
	ID          string `json:"id" validate:"required,notblank,max=200" jsonschema_description:"Your id for the row, at most 200 characters, unique in the message; it comes back in the reply webhook."`
	Title       string `json:"title" validate:"required,notblank,max=24" jsonschema_description:"The row's label, at most 24 characters."`
	Description string `json:"description,omitempty" validate:"omitempty,max=72" jsonschema_description:"Optional second line, at most 72 characters."`
}

// SendListInput is the input of WHATSAPP_SEND_INTERACTIVE_LIST.
type SendListInput struct {
	Recipient
	BodyText         string         `json:"body_text" validate:"required,notblank,max=1024" jsonschema_description:"The message text, at most 1024 characters."`
	ButtonText       string         `json:"button_text" validate:"required,notblank,max=20" jsonschema_description:"The label of the button that opens the list, at most 20 characters."`
	Sections         []SectionInput `json:"sections" validate:"required,min=1,max=10,dive" jsonschema_description:"1 to 10 sections holding at most 10 rows in total."`
	HeaderText       string         `json:"header_text,omitempty" validate:"omitempty,max=60" jsonschema_description:"Optional header, at most 60 characters (text only)."`
	FooterText       string         `json:"footer_text,omitempty" validate:"omitempty,max=60" jsonschema_description:"Optional footer, at most 60 characters."`
	ReplyToMessageID string         `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512" jsonschema_description:"Optional: the id (wamid.…) of a message to reply to."`
}

// Check enforces Meta's rules across sections: 10 rows in total, titles
// when several sections, unique row ids.
func (in *SendListInput) Check() []tools.FieldError {
	var errs []tools.FieldError
	total := 0
	ids := map[string]string{}
	for i, s := range in.Sections {
		total += len(s.Rows)
		if len(in.Sections) > 1 && strings.TrimSpace(s.Title) == "" {
			errs = append(errs, tools.FieldError{Field: fmt.Sprintf("sections[%d].title", i), Rule: "is required when there is more than one section"})
		}
		for j, r := range s.Rows {
			here := fmt.Sprintf("sections[%d].rows[%d].id", i, j)
			if prev, dup := ids[r.ID]; dup && r.ID != "" {
				errs = append(errs, tools.FieldError{Field: here, Rule: "must be unique in the message (same as " + prev + ")"})
			}
			ids[r.ID] = here
		}
	}
	if total > 10 {
		errs = append(errs, tools.FieldError{Field: "sections", Rule: fmt.Sprintf("must hold at most 10 rows in total across all sections (got %d)", total)})
	}
	return errs
}

func sendInteractiveList(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendListInput, *SendResult]{
		Name:    "WHATSAPP_SEND_INTERACTIVE_LIST",
		Title:   "Send a list of choices",
		Toolset: ToolsetMessages,
		Hints:   []string{hintToNumber},
		Description: "Send a message with a button that opens a list of up to 10 choices, grouped in sections (menus, time slots, shipping options). " +
			"At most 10 rows in total across all sections; each section needs a title when there are several. The user's pick comes back as an inbound message with the row id. " + windowRule,
		Annotations: send,
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","body_text":"Which shipping option do you prefer?","button_text":"Shipping options","sections":[{"title":"Fast","rows":[{"id":"express","title":"Express","description":"Next day"}]},{"title":"Cheap","rows":[{"id":"ground","title":"Ground","description":"2-5 days"}]}]}`,
		Handler: func(ctx context.Context, in *SendListInput) (*SendResult, error) {
			h, f := headerFooter(in.HeaderText, in.FooterText)
			iv := &graph.Interactive{Type: "list", Header: h, Footer: f, Body: graph.InteractiveText{Text: in.BodyText}}
			iv.Action.Button = in.ButtonText
			for _, s := range in.Sections {
				sec := graph.ListSection{Title: s.Title}
				for _, r := range s.Rows {
					sec.Rows = append(sec.Rows, graph.ListRow(r))
				}
				iv.Action.Sections = append(iv.Action.Sections, sec)
			}
			return d.dispatch(ctx, in.Recipient, &graph.Message{Type: "interactive", Context: replyContext(in.ReplyToMessageID), Interactive: iv}, true)
		},
	})
}
