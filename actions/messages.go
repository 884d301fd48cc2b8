package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Recipient is shared by every send: who gets it and which business number
// sends it. Its fields have no description: the tools' hints explain both,
// once, in the instructions.
type Recipient struct {
	// ToNumber's tag checks its characters, which no policy changes; the
	// operator's phone policy (recipientRule) judges the number.
	ToNumber      string `json:"to_number" validate:"required,dialable"`
	PhoneNumberID string `json:"phone_number_id" validate:"required,graphid"`
}

// Normalize rewrites to_number to +<digits>; recipientRule then applies the
// operator's policy.
func (r *Recipient) Normalize() { r.ToNumber = tools.NormalizePhone(r.ToNumber) }

func (r *Recipient) recipient() *Recipient { return r }

// recipientRule is the Prepare of every send (In embeds Recipient): it
// reads to_number with the operator's phone policy (Deps.Phones). A refused
// number is named with the other offending fields; a converted or doubtful
// one is sent with a warning.
func recipientRule[In any, P interface {
	*In
	recipient() *Recipient
}](d *Deps) func(context.Context, *In) []tools.FieldError {
	return func(ctx context.Context, in *In) []tools.FieldError {
		r := P(in).recipient()
		if r.ToNumber == "" {
			return nil // required says so
		}
		c := d.Phones.Check(r.ToNumber)
		if c.Rule != "" {
			return []tools.FieldError{{Field: "to_number", Rule: c.Rule}}
		}
		r.ToNumber = c.Number
		if c.Warning != "" {
			tools.Warn(ctx, "to_number %s", c.Warning)
		}
		return nil
	}
}

// SendResult is data for every send: accepted by Meta, not yet delivered.
type SendResult struct {
	MessageID        string `json:"message_id" jsonschema_description:"The WhatsApp message id (wamid.…); statuses (sent, delivered, read, failed) arrive later for it"`
	To               string `json:"to" jsonschema_description:"The number the message was sent to, as sent (+<digits>)"`
	WaID             string `json:"wa_id" jsonschema_description:"The recipient's WhatsApp id as Meta resolved it (may be empty for username-only users)"`
	MessageStatus    string `json:"message_status,omitempty" jsonschema_description:"Template sends only: accepted, or held_for_quality_assessment when Meta paces the template"`
	MessagingProduct string `json:"messaging_product,omitempty" jsonschema:"-"`
	// Contacts and Messages are Meta's answer as given; the fields above
	// are what a model reads of them, so the output schema leaves these
	// out (jsonschema:"-"), not data.
	Contacts []graph.ResponseContact `json:"contacts,omitempty" jsonschema:"-"`
	Messages []graph.ResponseMessage `json:"messages,omitempty" jsonschema:"-"`
}

// sentData is what the output schema of a free-form send names of its
// SendResult (tools.Def.Data): Meta returns message_status for templates
// only (docs/cloud-api.md#the-send-envelope), and every byte of a schema is
// paid on every turn.
type sentData struct {
	MessageID string `json:"message_id"`
	To        string `json:"to"`
	WaID      string `json:"wa_id"`
}

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
	d.record(ctx, r, m, out)
	return out, nil
}

// recordTimeout bounds recording a sent message: it runs after Meta
// accepted the message, even when the caller has given up waiting.
const recordTimeout = 5 * time.Second

// record keeps a message Meta accepted in the store, so the conversation's
// history shows what we said next to what the customer said
// (docs/cloud-api.md#conversations-store). Meta has sent it, so a store
// failure only warns.
func (d *Deps) record(ctx context.Context, r Recipient, m *graph.Message, out *SendResult) {
	if d.Store == nil || out.MessageID == "" {
		return
	}
	// m is what SendMessage encoded (it set messaging_product and
	// recipient_type): encoding it again gives the bytes sent, and cannot
	// fail where that did not.
	raw, _ := json.Marshal(m)
	msg := store.OutboundMessage{PhoneNumberID: r.PhoneNumberID, MessageID: out.MessageID, To: out.WaID,
		Timestamp: d.now().Unix(), Source: store.SourceAPI, Raw: raw}
	if msg.To == "" {
		msg.To = strings.TrimPrefix(r.ToNumber, "+")
	}
	if len(out.Contacts) > 0 {
		msg.UserID = out.Contacts[0].UserID
	}
	msg.Type, msg.Text, msg.ContextID = conversations.ExtractOutbound(raw)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if _, _, err := d.Store.Save(ctx, store.Batch{Outbound: []store.OutboundMessage{msg}}); err != nil {
		// The cause stays out of the result: a database error may name
		// the database.
		tools.Warn(ctx, "Meta accepted message %s, but this server's store could not record it: the conversation history may miss it.", out.MessageID)
	}
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
	Text       string `json:"text" validate:"required,notblank,max=4096" jsonschema_description:"The text; *bold* and _italic_ work."`
	PreviewURL bool   `json:"preview_url,omitempty"`
	MessageID  string `json:"message_id,omitempty" validate:"omitempty,notblank,max=512"`
}

func sendMessage(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendMessageInput, *SendResult]{
		Name:    "WHATSAPP_SEND_MESSAGE",
		Title:   "Send a text message",
		Toolset: ToolsetMessages,
		Hints:   freeFormHints,
		Description: "Send a text message to a customer, e.g. to answer one who wrote recently; message_id quotes one of their messages." +
			onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendMessageInput](d),
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
	Text             string `json:"text" validate:"required,notblank,max=4096"`
	ReplyToMessageID string `json:"reply_to_message_id" validate:"required,notblank,max=512"`
	PreviewURL       bool   `json:"preview_url,omitempty"`
}

func sendReply(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendReplyInput, *SendResult]{
		Name:    "WHATSAPP_SEND_REPLY",
		Title:   "Reply to a message",
		Toolset: ToolsetMessages,
		Hints:   freeFormHints,
		Description: "Send a text reply quoting one earlier message, so the customer sees which one you answer; " +
			"no quote is shown if the original was deleted or is over 30 days old." + onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendReplyInput](d),
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

// mediaCheck applies Meta's per-type rules of a media send: a caption on
// image, video and document only, a filename on documents only, voice on
// audio only (docs/cloud-api.md#voice-messages).
func mediaCheck(mediaType, caption, filename string, voice bool) []tools.FieldError {
	var errs []tools.FieldError
	if caption != "" && !captionAllowed(mediaType) {
		errs = append(errs, tools.FieldError{Field: "caption", Rule: fmt.Sprintf("is only allowed for image, video and document media, not %s; remove it", tools.Echo(mediaType))})
	}
	if filename != "" && mediaType != "document" {
		errs = append(errs, tools.FieldError{Field: "filename", Rule: fmt.Sprintf("is only allowed for document media, not %s; remove it", tools.Echo(mediaType))})
	}
	if voice && mediaType != "audio" {
		errs = append(errs, tools.FieldError{Field: "voice", Rule: fmt.Sprintf("is only allowed for audio media, not %s; remove it", tools.Echo(mediaType))})
	}
	return errs
}

// voiceLinkExts are the file extensions of an OGG/Opus file.
var voiceLinkExts = map[string]bool{".ogg": true, ".opus": true, ".oga": true}

// warnVoiceLink warns when a voice note's link names a file that is not
// OGG: Meta still sends it, but the voice note features (transcription)
// need OGG/Opus (docs/cloud-api.md#voice-messages). Only the link's path
// can be checked here; a link without an extension passes.
func warnVoiceLink(ctx context.Context, link string) {
	u, err := url.Parse(link)
	if err != nil {
		return
	}
	ext := strings.ToLower(path.Ext(u.Path))
	if ext == "" || voiceLinkExts[ext] {
		return
	}
	tools.Warn(ctx, "voice: the link names a %s file, but a voice note must be an .ogg file with the Opus codec; Meta may send it as plain audio and its transcription fails. Convert it to OGG/Opus for a voice note.", tools.Echo(ext))
}

// SendMediaInput is the input of WHATSAPP_SEND_MEDIA.
type SendMediaInput struct {
	Recipient
	MediaType string `json:"media_type" validate:"required,oneof=audio document image sticker video" jsonschema:"enum=audio,enum=document,enum=image,enum=sticker,enum=video"`
	Link      string `json:"link" validate:"required,http_url,max=2000" jsonschema_description:"Public URL of the file."`
	Caption   string `json:"caption,omitempty" validate:"omitempty,max=1024" jsonschema_description:"Image, video and document only."`
	// Filename needs no description (documents have file names; Check
	// refuses it elsewhere); voice's says the rule that bites.
	Filename         string `json:"filename,omitempty" validate:"omitempty,max=240"`
	Voice            bool   `json:"voice,omitempty" jsonschema_description:"OGG/Opus audio only."`
	ReplyToMessageID string `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
}

// Check applies the caption, filename and voice rules.
func (in *SendMediaInput) Check() []tools.FieldError {
	return mediaCheck(in.MediaType, in.Caption, in.Filename, in.Voice)
}

func sendMedia(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendMediaInput, *SendResult]{
		Name:    "WHATSAPP_SEND_MEDIA",
		Title:   "Send media by link",
		Toolset: ToolsetMessages,
		Hints:   mediaSendHints,
		Description: "Send an image, video, audio, document or sticker that Meta fetches from a public URL. " +
			"A link Meta cannot fetch, or a wrong type or size, fails with 131053, maybe only later in a failed status." + onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendMediaInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","media_type":"image","link":"https://example.com/aloe.png","caption":"The best succulent ever?"}`,
		Handler: func(ctx context.Context, in *SendMediaInput) (*SendResult, error) {
			if in.Voice {
				warnVoiceLink(ctx, in.Link)
			}
			m := &graph.Message{Context: replyContext(in.ReplyToMessageID)}
			mediaObject(m, in.MediaType, &graph.MediaObject{Link: in.Link, Caption: in.Caption, Filename: in.Filename, Voice: in.Voice})
			return d.dispatch(ctx, in.Recipient, m, true)
		},
	})
}

// SendMediaByIDInput is the input of WHATSAPP_SEND_MEDIA_BY_ID.
type SendMediaByIDInput struct {
	Recipient
	MediaType        string `json:"media_type" validate:"required,oneof=audio document image sticker video" jsonschema:"enum=audio,enum=document,enum=image,enum=sticker,enum=video" jsonschema_description:"As uploaded."`
	MediaID          string `json:"media_id" validate:"required,graphid" jsonschema_description:"From WHATSAPP_UPLOAD_MEDIA with the same phone_number_id."`
	Caption          string `json:"caption,omitempty" validate:"omitempty,max=1024" jsonschema_description:"Image, video and document only."`
	Filename         string `json:"filename,omitempty" validate:"omitempty,max=240"`
	ReplyToMessageID string `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
	Voice            bool   `json:"voice,omitempty" jsonschema_description:"OGG/Opus audio only."`
}

// Check applies the caption, filename and voice rules.
func (in *SendMediaByIDInput) Check() []tools.FieldError {
	return mediaCheck(in.MediaType, in.Caption, in.Filename, in.Voice)
}

func sendMediaByID(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendMediaByIDInput, *SendResult]{
		Name:    "WHATSAPP_SEND_MEDIA_BY_ID",
		Title:   "Send uploaded media",
		Toolset: ToolsetMessages,
		Hints:   mediaSendHints,
		Description: "Send media uploaded with WHATSAPP_UPLOAD_MEDIA by its media id (valid 30 days); surer than a link, since Meta fetches nothing." +
			onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendMediaByIDInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","media_type":"document","media_id":"1376223850470843","filename":"invoice.pdf","caption":"Your invoice"}`,
		Handler: func(ctx context.Context, in *SendMediaByIDInput) (*SendResult, error) {
			m := &graph.Message{Context: replyContext(in.ReplyToMessageID)}
			mediaObject(m, in.MediaType, &graph.MediaObject{ID: in.MediaID, Caption: in.Caption, Filename: in.Filename, Voice: in.Voice})
			return d.dispatch(ctx, in.Recipient, m, true)
		},
	})
}

// SendLocationInput is the input of WHATSAPP_SEND_LOCATION.
type SendLocationInput struct {
	Recipient
	Name      string        `json:"name" validate:"required,notblank,max=1000"`
	Address   string        `json:"address" validate:"required,notblank,max=1000"`
	Latitude  tools.Decimal `json:"latitude" validate:"required,latitude"`
	Longitude tools.Decimal `json:"longitude" validate:"required,longitude"`
	// ReplyToMessageID quotes a customer's message, as on every send.
	ReplyToMessageID string `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
}

// Normalize trims the coordinates, which models often pad.
func (in *SendLocationInput) Normalize() {
	in.Recipient.Normalize()
	in.Latitude = tools.Decimal(strings.TrimSpace(string(in.Latitude)))
	in.Longitude = tools.Decimal(strings.TrimSpace(string(in.Longitude)))
}

func sendLocation(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendLocationInput, *SendResult]{
		Name:        "WHATSAPP_SEND_LOCATION",
		Title:       "Send a location",
		Toolset:     ToolsetMessages,
		Hints:       freeFormHints,
		Description: "Send a location pin (coordinates, name and address) that opens in the customer's maps app." + onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendLocationInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301","latitude":"37.44216251868683","longitude":"-122.16153582049394"}`,
		Handler: func(ctx context.Context, in *SendLocationInput) (*SendResult, error) {
			return d.dispatch(ctx, in.Recipient, &graph.Message{Type: "location", Context: replyContext(in.ReplyToMessageID), Location: &graph.Location{
				Latitude: string(in.Latitude), Longitude: string(in.Longitude), Name: in.Name, Address: in.Address}}, true)
		},
	})
}

// ContactInput is one contact card.
type ContactInput struct {
	Name      ContactNameInput `json:"name" validate:"required"`
	Addresses []struct {
		Street      string `json:"street,omitempty"`
		City        string `json:"city,omitempty"`
		State       string `json:"state,omitempty"`
		Zip         string `json:"zip,omitempty"`
		Country     string `json:"country,omitempty"`
		CountryCode string `json:"country_code,omitempty"`
		Type        string `json:"type,omitempty"`
	} `json:"addresses,omitempty" validate:"max=20"`
	Birthday string `json:"birthday,omitempty" validate:"omitempty,datetime=2006-01-02"`
	Emails   []struct {
		Email string `json:"email,omitempty" validate:"omitempty,email"`
		Type  string `json:"type,omitempty"`
	} `json:"emails,omitempty" validate:"max=20,dive"`
	Org *struct {
		Company    string `json:"company,omitempty"`
		Department string `json:"department,omitempty"`
		Title      string `json:"title,omitempty"`
	} `json:"org,omitempty"`
	Phones []struct {
		Phone string `json:"phone,omitempty"`
		WaID  string `json:"wa_id,omitempty" validate:"omitempty,number" jsonschema_description:"Adds a Message button"`
		Type  string `json:"type,omitempty"`
	} `json:"phones,omitempty" validate:"max=20,dive"`
	URLs []struct {
		URL  string `json:"url,omitempty"`
		Type string `json:"type,omitempty"`
	} `json:"urls,omitempty" validate:"max=20"`
}

// ContactNameInput is a contact's name.
type ContactNameInput struct {
	FormattedName string `json:"formatted_name" validate:"required,notblank" jsonschema_description:"The full name shown"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
}

// SendContactsInput is the input of WHATSAPP_SEND_CONTACTS.
type SendContactsInput struct {
	Recipient
	Contacts         []ContactInput `json:"contacts" validate:"required,min=1,max=257,dive"`
	ReplyToMessageID string         `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
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
		Name:        "WHATSAPP_SEND_CONTACTS",
		Title:       "Send contact cards",
		Toolset:     ToolsetMessages,
		Hints:       freeFormHints,
		Description: "Send contact cards (vCards) the customer can save or message; each needs name.formatted_name." + onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendContactsInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","contacts":[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara","last_name":"Johnson"},"phones":[{"phone":"+19175559999","wa_id":"19175559999","type":"CELL"}]}]}`,
		Handler: func(ctx context.Context, in *SendContactsInput) (*SendResult, error) {
			m := &graph.Message{Type: "contacts", Context: replyContext(in.ReplyToMessageID)}
			for _, c := range in.Contacts {
				m.Contacts = append(m.Contacts, c.toGraph())
			}
			return d.dispatch(ctx, in.Recipient, m, true)
		},
	})
}

// ButtonInput is one reply button.
type ButtonInput struct {
	ID    string `json:"id,omitempty" validate:"omitempty,max=256,trimmed" jsonschema_description:"Unique; returned on tap. Default button_N."`
	Title string `json:"title" validate:"required,notblank,max=20" jsonschema_description:"Unique label."`
}

// SendButtonsInput is the input of WHATSAPP_SEND_INTERACTIVE_BUTTONS.
type SendButtonsInput struct {
	Recipient
	BodyText         string            `json:"body_text" validate:"required,notblank,max=1024"`
	Buttons          []ButtonInput     `json:"buttons" validate:"required,min=1,max=3,dive"`
	HeaderText       string            `json:"header_text,omitempty" validate:"omitempty,max=60"`
	FooterText       string            `json:"footer_text,omitempty" validate:"omitempty,max=60"`
	ReplyToMessageID string            `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
	HeaderMedia      *HeaderMediaInput `json:"header_media,omitempty"`
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

// Check enforces unique ids and titles, and one header.
func (in *SendButtonsInput) Check() []tools.FieldError {
	errs := headerCheck(in.HeaderText, in.HeaderMedia)
	return append(errs, uniqueChoices("buttons", len(in.Buttons), func(i int) (string, string) { return in.Buttons[i].ID, in.Buttons[i].Title })...)
}

// uniqueChoices names each id and title of the n choices of list (at gives
// choice i's) that repeats an earlier one: a customer's answer names one
// choice. Empty ones are left to their required rule.
func uniqueChoices(list string, n int, at func(i int) (id, title string)) []tools.FieldError {
	var errs []tools.FieldError
	ids, titles := map[string]int{}, map[string]int{}
	for i := range n {
		id, title := at(i)
		if j, dup := ids[id]; dup && id != "" {
			errs = append(errs, tools.FieldError{Field: fmt.Sprintf("%s[%d].id", list, i), Rule: fmt.Sprintf("must be unique (same as %s[%d].id)", list, j)})
		}
		if j, dup := titles[title]; dup && title != "" {
			errs = append(errs, tools.FieldError{Field: fmt.Sprintf("%s[%d].title", list, i), Rule: fmt.Sprintf("must be unique (same as %s[%d].title)", list, j)})
		}
		ids[id], titles[title] = i, i
	}
	return errs
}

// HeaderMediaInput is an image, video or document header of an
// interactive message, by link or by uploaded id
// (docs/cloud-api.md#interactive-media-headers). Every interactive send
// that takes one names it header_media, exclusive with header_text.
type HeaderMediaInput struct {
	Type     string `json:"type" validate:"required,oneof=image video document" jsonschema:"enum=image,enum=video,enum=document"`
	Link     string `json:"link,omitempty" validate:"omitempty,http_url"`
	ID       string `json:"id,omitempty" validate:"omitempty,graphid"`
	Filename string `json:"filename,omitempty" validate:"omitempty,max=240"`
}

// headerCheck applies the rules a tag cannot say to a header_text and
// header_media pair: one header, one source, a filename on documents only.
func headerCheck(text string, media *HeaderMediaInput) []tools.FieldError {
	if media == nil {
		return nil
	}
	var errs []tools.FieldError
	if text != "" {
		errs = append(errs, tools.FieldError{Field: "header_media", Rule: "must not be set with header_text: a message has one header; remove one"})
	}
	if (media.Link == "") == (media.ID == "") {
		errs = append(errs, tools.FieldError{Field: "header_media", Rule: "needs exactly one of link and id"})
	}
	if media.Filename != "" && media.Type != "document" {
		errs = append(errs, tools.FieldError{Field: "header_media.filename", Rule: fmt.Sprintf("is only allowed for a document header, not %s; remove it", tools.Echo(media.Type))})
	}
	return errs
}

// interactiveHeader builds the header from header_text or header_media
// (headerCheck allows at most one); nil when there is none.
func interactiveHeader(text string, media *HeaderMediaInput) *graph.InteractiveHeader {
	if media == nil {
		if text == "" {
			return nil
		}
		return &graph.InteractiveHeader{Type: "text", Text: text}
	}
	obj := &graph.MediaObject{Link: media.Link, ID: media.ID, Filename: media.Filename}
	h := &graph.InteractiveHeader{Type: media.Type}
	switch media.Type {
	case "image":
		h.Image = obj
	case "video":
		h.Video = obj
	case "document":
		h.Document = obj
	}
	return h
}

// interactiveFooter is an interactive message's footer; nil when empty.
func interactiveFooter(text string) *graph.InteractiveText {
	if text == "" {
		return nil
	}
	return &graph.InteractiveText{Text: text}
}

// interactiveMessage is the message of an interactive send, quoting
// replyTo when set.
func interactiveMessage(replyTo string, iv *graph.Interactive) *graph.Message {
	return &graph.Message{Type: "interactive", Context: replyContext(replyTo), Interactive: iv}
}

func sendInteractiveButtons(d *Deps) tools.Tool {
	return tools.New(tools.Def[SendButtonsInput, *SendResult]{
		Name:    "WHATSAPP_SEND_INTERACTIVE_BUTTONS",
		Title:   "Send reply buttons",
		Toolset: ToolsetMessages,
		Hints:   freeFormHints,
		Description: "Send a message with 1 to 3 quick-reply buttons (e.g. Yes / No / Later); a tap comes back as an inbound message with the button's id. " +
			"More choices: WHATSAPP_SEND_INTERACTIVE_LIST." + onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendButtonsInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","body_text":"Your workshop is at 9am tomorrow. Still coming?","buttons":[{"id":"yes","title":"Yes"},{"id":"reschedule","title":"Reschedule"}]}`,
		Handler: func(ctx context.Context, in *SendButtonsInput) (*SendResult, error) {
			iv := &graph.Interactive{Type: "button", Header: interactiveHeader(in.HeaderText, in.HeaderMedia), Footer: interactiveFooter(in.FooterText),
				Body: graph.InteractiveText{Text: in.BodyText}}
			for _, b := range in.Buttons {
				iv.Action.Buttons = append(iv.Action.Buttons, graph.ReplyButton{Type: "reply", Reply: graph.ReplyTitle{ID: b.ID, Title: b.Title}})
			}
			return d.dispatch(ctx, in.Recipient, interactiveMessage(in.ReplyToMessageID, iv), true)
		},
	})
}

// SectionInput is one section of a list message.
type SectionInput struct {
	Title string     `json:"title,omitempty" validate:"omitempty,max=24" jsonschema_description:"Required with several sections."`
	Rows  []RowInput `json:"rows" validate:"required,min=1,max=10,dive"`
}

// RowInput is one row of a list message.
type RowInput struct {
	ID          string `json:"id" validate:"required,notblank,max=200" jsonschema_description:"Unique in the message; returned on pick."`
	Title       string `json:"title" validate:"required,notblank,max=24"`
	Description string `json:"description,omitempty" validate:"omitempty,max=72"`
}

// SendListInput is the input of WHATSAPP_SEND_INTERACTIVE_LIST.
type SendListInput struct {
	Recipient
	BodyText         string         `json:"body_text" validate:"required,notblank,max=1024"`
	ButtonText       string         `json:"button_text" validate:"required,notblank,max=20"`
	Sections         []SectionInput `json:"sections" validate:"required,min=1,max=10,dive" jsonschema_description:"At most 10 rows in all."`
	HeaderText       string         `json:"header_text,omitempty" validate:"omitempty,max=60"`
	FooterText       string         `json:"footer_text,omitempty" validate:"omitempty,max=60"`
	ReplyToMessageID string         `json:"reply_to_message_id,omitempty" validate:"omitempty,notblank,max=512"`
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
		Hints:   freeFormHints,
		Description: "Send a message whose button opens a list of up to 10 choices in sections (menus, time slots); a pick comes back as an inbound message with the row id." +
			onlyInWindow,
		Annotations: send,
		Data:        sentData{},
		Prepare:     recipientRule[SendListInput](d),
		Example:     `{"to_number":"+16505551234","phone_number_id":"106540352242922","body_text":"Which shipping option do you prefer?","button_text":"Shipping options","sections":[{"title":"Fast","rows":[{"id":"express","title":"Express","description":"Next day"}]},{"title":"Cheap","rows":[{"id":"ground","title":"Ground","description":"2-5 days"}]}]}`,
		Handler: func(ctx context.Context, in *SendListInput) (*SendResult, error) {
			iv := &graph.Interactive{Type: "list", Header: interactiveHeader(in.HeaderText, nil), Footer: interactiveFooter(in.FooterText),
				Body: graph.InteractiveText{Text: in.BodyText}}
			iv.Action.Button = in.ButtonText
			for _, s := range in.Sections {
				sec := graph.ListSection{Title: s.Title}
				for _, r := range s.Rows {
					sec.Rows = append(sec.Rows, graph.ListRow(r))
				}
				iv.Action.Sections = append(iv.Action.Sections, sec)
			}
			return d.dispatch(ctx, in.Recipient, interactiveMessage(in.ReplyToMessageID, iv), true)
		},
	})
}
