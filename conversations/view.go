// Package conversations serves the two-way conversations the webhook store
// keeps: the inbox, one customer's history, full-text search, and each
// conversation as an MCP resource. view.go reads Meta's message elements
// (docs/cloud-api.md#inbound-messages) into what a model reads.
package conversations

import (
	"cmp"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// MessageView is one message as the conversation tools return it, either
// direction: the normalised fields of its type, and Meta's raw element for
// types this server does not know. Every field is omitted when empty, and
// only the first few are named in output schemas (jsonschema:"-" is left
// out of the schema, not of data): every byte of a schema is paid on every
// turn, and a model reads the fields from data anyway.
type MessageView struct {
	MessageID string `json:"message_id"`
	Direction string `json:"direction" jsonschema:"enum=in,enum=out"`
	Type      string `json:"type"`
	// Time is when it was sent (Meta's timestamp), RFC 3339 UTC.
	Time string `json:"time,omitempty"`
	// Text is what it says in words: the text body, a media caption, an
	// outbound interactive body, a system notice, an edit's new text.
	Text string `json:"text,omitempty"`

	Media       *Media          `json:"media,omitempty" jsonschema:"-"`
	Reply       *Reply          `json:"reply,omitempty" jsonschema:"-"`
	Location    *Location       `json:"location,omitempty" jsonschema:"-"`
	Reaction    *Reaction       `json:"reaction,omitempty" jsonschema:"-"`
	Contacts    json.RawMessage `json:"contacts,omitempty" jsonschema:"-"` // Meta's contacts[] as sent
	Order       json.RawMessage `json:"order,omitempty" jsonschema:"-"`    // Meta's order{catalog_id, text, product_items[]} as sent
	System      *System         `json:"system,omitempty" jsonschema:"-"`
	Template    *Template       `json:"template,omitempty" jsonschema:"-"`
	Interactive *Interactive    `json:"interactive,omitempty" jsonschema:"-"`
	// OriginalMessageID is the message a revoke deleted or an edit changed.
	OriginalMessageID string `json:"original_message_id,omitempty" jsonschema:"-"`

	// Context: what the message quotes or where it came from.
	ReplyTo             string           `json:"reply_to,omitempty" jsonschema:"-"` // context.id: the message quoted
	Forwarded           bool             `json:"forwarded,omitempty" jsonschema:"-"`
	FrequentlyForwarded bool             `json:"frequently_forwarded,omitempty" jsonschema:"-"`
	ReferredProduct     *ReferredProduct `json:"referred_product,omitempty" jsonschema:"-"`
	Referral            json.RawMessage  `json:"referral,omitempty" jsonschema:"-"` // the ad the customer came from, as sent
	GroupID             string           `json:"group_id,omitempty" jsonschema:"-"`
	Errors              json.RawMessage  `json:"errors,omitempty" jsonschema:"-"` // the message's own errors[], as sent
	// Raw is Meta's whole element for types this server does not
	// normalise (unsupported and unknown ones).
	Raw json.RawMessage `json:"raw,omitempty" jsonschema:"-"`

	// Outbound only: the latest status (store.StatusRank) and a failure's errors.
	Status       string          `json:"status,omitempty"`
	StatusErrors json.RawMessage `json:"status_errors,omitempty"`
}

// Media is an image, video, document, audio or sticker. ID is a media id
// for WHATSAPP_GET_MEDIA (download:true); Link is the URL an outbound
// message was sent by. The caption is MessageView.Text.
type Media struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Filename string `json:"filename,omitempty"`
	Voice    bool   `json:"voice,omitempty"`    // audio recorded in the app (a voice note)
	Animated bool   `json:"animated,omitempty"` // sticker
}

// Reply is the customer's answer to an interactive message or a template
// button. Kind is button_reply, list_reply, nfm_reply (a completed Flow)
// or button (a template quick-reply: ID is its payload).
type Reply struct {
	Kind        string `json:"kind"`
	ID          string `json:"id,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Response is a Flow's answers (nfm_reply.response_json), as JSON.
	Response json.RawMessage `json:"response,omitempty"`
}

// Location is a shared pin.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// Reaction is an emoji on an earlier message; Removed when the emoji was
// taken back (Meta sends it empty or absent; docs/cloud-api.md#reactions).
type Reaction struct {
	MessageID string `json:"message_id,omitempty"`
	Emoji     string `json:"emoji,omitempty"`
	Removed   bool   `json:"removed,omitempty"`
}

// System is a notice about the customer (the text is MessageView.Text):
// Kind is Meta's system.type (customer_changed_number,
// user_changed_user_id, customer_identity_changed, …).
type System struct {
	Kind      string `json:"kind,omitempty"`
	NewWaID   string `json:"new_wa_id,omitempty"`
	NewUserID string `json:"new_user_id,omitempty"`
}

// Template is an outbound template message: its name, language and the
// texts of its parameters, in component order.
type Template struct {
	Name     string   `json:"name"`
	Language string   `json:"language,omitempty"`
	Params   []string `json:"params,omitempty"`
}

// Interactive is an outbound interactive message (its body is
// MessageView.Text): the options the customer can choose from, or the
// button that opens a link or a Flow.
type Interactive struct {
	Kind    string   `json:"kind,omitempty"` // button, list, cta_url, flow, location_request_message, address_message, …
	Header  string   `json:"header,omitempty"`
	Footer  string   `json:"footer,omitempty"`
	Button  string   `json:"button,omitempty"` // a list's button text, a link's or a Flow's button
	URL     string   `json:"url,omitempty"`    // a link button's URL
	Options []Option `json:"options,omitempty"`
}

// Option is a button or a list row.
type Option struct {
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// ReferredProduct is the catalog product a message asks about.
type ReferredProduct struct {
	CatalogID         string `json:"catalog_id,omitempty"`
	ProductRetailerID string `json:"product_retailer_id,omitempty"`
}

// InboundTypes are the message types Meta documents for messages[]
// (docs/cloud-api.md#message-types). Others may come; they are kept raw.
var InboundTypes = []string{
	"text", "image", "video", "document", "audio", "sticker", "location", "contacts",
	"interactive", "button", "reaction", "order", "system", "revoke", "edit",
	"request_welcome", "unsupported",
}

// View normalises a stored message: from its raw element when the store
// kept one, else from the indexed columns.
func View(m store.Message) MessageView {
	v := MessageView{MessageID: m.MessageID, Direction: m.Direction, Type: m.Type}
	if m.Timestamp > 0 {
		v.Time = time.Unix(m.Timestamp, 0).UTC().Format(time.RFC3339)
	}
	var e element
	if len(m.Raw) == 0 || json.Unmarshal(m.Raw, &e) != nil {
		v.Text = m.Text
		return v
	}
	if v.Type == "" {
		v.Type = e.typ()
	}
	e.fill(&v, v.Type, m.Raw)
	return v
}

// Extract reads what the store indexes from a messages[] element of type
// msgType (also a smb_message_echoes element): the searchable text and the
// id of the message it refers to.
//
// The text is: the body of a text; a media caption (and a document's file
// name); the chosen option's title and description; a template button's
// text; a location's name and address; the contacts' names; an order's
// text; an edit's new text; a reaction's emoji; a system notice; and for
// outbound messages an interactive body with its header, footer and option
// titles (a link's or a Flow's button, and the link's URL), and a
// template's name and parameter texts. The id is context.id
// (the message quoted), reaction.message_id, or the message a revoke or an
// edit refers to.
func Extract(msgType string, raw json.RawMessage) (text, contextID string) {
	var e element
	if json.Unmarshal(raw, &e) != nil {
		return "", ""
	}
	if msgType == "" {
		msgType = e.typ()
	}
	return e.text(msgType), e.contextID(msgType)
}

// ExtractOutbound reads a send request body ({"messaging_product":
// "whatsapp","to":…,"type":…,<type>:{…}}) for the store: its type (text
// when absent, as Meta reads it), its searchable text (see Extract) and
// the message it replies or reacts to (context.message_id,
// reaction.message_id).
func ExtractOutbound(raw json.RawMessage) (msgType, text, contextID string) {
	var e element
	if json.Unmarshal(raw, &e) != nil {
		return "", "", ""
	}
	msgType = e.typ()
	return msgType, e.text(msgType), e.contextID(msgType)
}

// element is the union of the message shapes Meta sends (messages[],
// message_echoes[]) and the request bodies of sends: what is read of them.
type element struct {
	Type    string `json:"type"`
	GroupID string `json:"group_id"`
	Context *struct {
		ID                  string           `json:"id"`         // inbound: the message quoted
		MessageID           string           `json:"message_id"` // a send's reply context
		Forwarded           bool             `json:"forwarded"`
		FrequentlyForwarded bool             `json:"frequently_forwarded"`
		ReferredProduct     *ReferredProduct `json:"referred_product"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image       *mediaObject    `json:"image"`
	Video       *mediaObject    `json:"video"`
	Audio       *mediaObject    `json:"audio"`
	Document    *mediaObject    `json:"document"`
	Sticker     *mediaObject    `json:"sticker"`
	Location    *locationObject `json:"location"`
	Contacts    json.RawMessage `json:"contacts"`
	Interactive *struct {
		Type        string  `json:"type"`
		ButtonReply *option `json:"button_reply"`
		ListReply   *option `json:"list_reply"`
		NfmReply    *struct {
			Name         string `json:"name"`
			Body         string `json:"body"`
			ResponseJSON string `json:"response_json"`
		} `json:"nfm_reply"`
		// What a send carries.
		Header *struct {
			Text string `json:"text"`
		} `json:"header"`
		Body *struct {
			Text string `json:"text"`
		} `json:"body"`
		Footer *struct {
			Text string `json:"text"`
		} `json:"footer"`
		Action *sendAction `json:"action"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Order  json.RawMessage `json:"order"`
	System *struct {
		Body    string `json:"body"`
		Type    string `json:"type"`
		WaID    string `json:"wa_id"`
		NewWaID string `json:"new_wa_id"`
		UserID  string `json:"user_id"`
	} `json:"system"`
	Revoke *struct {
		OriginalMessageID string `json:"original_message_id"`
	} `json:"revoke"`
	Edit *struct {
		OriginalMessageID string          `json:"original_message_id"`
		Message           json.RawMessage `json:"message"`
	} `json:"edit"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Parameters []struct {
				Type     string       `json:"type"`
				Text     string       `json:"text"`
				Payload  string       `json:"payload"`
				Currency *fallback    `json:"currency"`
				DateTime *fallback    `json:"date_time"`
				Image    *mediaObject `json:"image"`
				Video    *mediaObject `json:"video"`
				Document *mediaObject `json:"document"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
	Referral json.RawMessage `json:"referral"`
	Errors   json.RawMessage `json:"errors"`
}

// sendAction is the action of an interactive send: buttons, a list, or a
// named action's parameters (a link's button and URL, a Flow's button).
type sendAction struct {
	Button  string `json:"button"`
	Buttons []struct {
		Reply option `json:"reply"`
	} `json:"buttons"`
	Sections []struct {
		Rows []option `json:"rows"`
	} `json:"sections"`
	Parameters *struct {
		DisplayText string `json:"display_text"`
		URL         string `json:"url"`
		FlowCTA     string `json:"flow_cta"`
	} `json:"parameters"`
}

// UnmarshalJSON reads an action object and ignores any other value: one of
// Meta's address-reply samples carries "action":"address_message", which
// must not cost the whole message (docs/cloud-api.md#address-messages).
func (a *sendAction) UnmarshalJSON(b []byte) error {
	type plain sendAction
	var p plain
	if json.Unmarshal(b, &p) == nil {
		*a = sendAction(p)
	}
	return nil
}

type mediaObject struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Voice    bool   `json:"voice"`
	Animated bool   `json:"animated"`
}

type locationObject struct {
	Latitude  coordinate `json:"latitude"`
	Longitude coordinate `json:"longitude"`
	Name      string     `json:"name"`
	Address   string     `json:"address"`
	URL       string     `json:"url"`
}

type option struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

type fallback struct {
	FallbackValue string `json:"fallback_value"`
}

// coordinate reads a latitude or longitude as Meta sends it inbound (a
// number) or as a send carries it (a string). Anything else reads as 0
// rather than losing the whole message; so do "NaN" and "Inf", which
// ParseFloat reads but JSON cannot encode: a view holding one would fail
// the whole page of every call that returns it.
type coordinate float64

func (c *coordinate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(strings.Trim(string(b), `"`), 64)
	if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		*c = coordinate(f)
	}
	return nil
}

// typ is the element's type: its own, else the one its content says (an
// edit's inner message may carry none), else text, as Meta reads a send
// without one.
func (e *element) typ() string {
	if e.Type != "" {
		return e.Type
	}
	for _, k := range []struct {
		set bool
		typ string
	}{
		{e.Image != nil, "image"}, {e.Video != nil, "video"}, {e.Audio != nil, "audio"},
		{e.Document != nil, "document"}, {e.Sticker != nil, "sticker"}, {e.Location != nil, "location"},
		{len(e.Contacts) > 0, "contacts"}, {e.Interactive != nil, "interactive"}, {e.Template != nil, "template"},
		{e.Reaction != nil, "reaction"},
	} {
		if k.set {
			return k.typ
		}
	}
	return "text"
}

func (e *element) media(msgType string) *mediaObject {
	switch msgType {
	case "image":
		return e.Image
	case "video":
		return e.Video
	case "audio":
		return e.Audio
	case "document":
		return e.Document
	case "sticker":
		return e.Sticker
	}
	return nil
}

// text is what Extract indexes (see there).
func (e *element) text(msgType string) string {
	switch msgType {
	case "text":
		if e.Text != nil {
			return e.Text.Body
		}
	case "image", "video", "audio", "document", "sticker":
		if m := e.media(msgType); m != nil {
			return join(m.Caption, m.Filename)
		}
	case "location":
		if e.Location != nil {
			return join(e.Location.Name, e.Location.Address)
		}
	case "contacts":
		return join(contactNames(e.Contacts)...)
	case "interactive":
		return e.interactiveText()
	case "button":
		if e.Button != nil {
			return e.Button.Text
		}
	case "reaction":
		if e.Reaction != nil {
			return e.Reaction.Emoji
		}
	case "order":
		var o struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(e.Order, &o)
		return o.Text
	case "system":
		if e.System != nil {
			return e.System.Body
		}
	case "edit":
		if e.Edit != nil && len(e.Edit.Message) > 0 {
			text, _ := Extract("", e.Edit.Message)
			return text
		}
	case "template":
		if t := e.template(); t != nil {
			return join(append([]string{t.Name}, t.Params...)...)
		}
	}
	return ""
}

func (e *element) interactiveText() string {
	iv := e.Interactive
	if iv == nil {
		return ""
	}
	switch {
	case iv.ButtonReply != nil:
		return iv.ButtonReply.Title
	case iv.ListReply != nil:
		return join(iv.ListReply.Title, iv.ListReply.Description)
	case iv.NfmReply != nil:
		return iv.NfmReply.Body
	}
	out := e.outboundInteractive()
	parts := []string{out.Header, e.interactiveBody(), out.Footer}
	for _, o := range out.Options {
		parts = append(parts, o.Title, o.Description)
	}
	if iv.Action != nil && iv.Action.Parameters != nil {
		// A link's or a Flow's button is what the customer taps.
		parts = append(parts, out.Button, out.URL)
	}
	return join(parts...)
}

func (e *element) interactiveBody() string {
	if e.Interactive != nil && e.Interactive.Body != nil {
		return e.Interactive.Body.Text
	}
	return ""
}

// outboundInteractive reads the options of an interactive message a
// business sent.
func (e *element) outboundInteractive() *Interactive {
	iv := e.Interactive
	out := &Interactive{Kind: iv.Type}
	if iv.Header != nil {
		out.Header = iv.Header.Text
	}
	if iv.Footer != nil {
		out.Footer = iv.Footer.Text
	}
	if a := iv.Action; a != nil {
		out.Button = a.Button
		for _, b := range a.Buttons {
			out.Options = append(out.Options, Option(b.Reply))
		}
		for _, s := range a.Sections {
			for _, r := range s.Rows {
				out.Options = append(out.Options, Option(r))
			}
		}
		if p := a.Parameters; p != nil {
			out.Button = cmp.Or(out.Button, p.DisplayText, p.FlowCTA)
			out.URL = p.URL
		}
	}
	return out
}

func (e *element) contextID(msgType string) string {
	switch {
	case msgType == "reaction" && e.Reaction != nil:
		return e.Reaction.MessageID
	case msgType == "revoke" && e.Revoke != nil:
		return e.Revoke.OriginalMessageID
	case msgType == "edit" && e.Edit != nil:
		return e.Edit.OriginalMessageID
	case e.Context != nil && e.Context.ID != "":
		return e.Context.ID
	case e.Context != nil:
		return e.Context.MessageID
	}
	return ""
}

// template reads a template send: name, language, and the texts of its
// parameters (a currency's or a date's fallback text, a button's payload).
func (e *element) template() *Template {
	t := e.Template
	if t == nil {
		return nil
	}
	out := &Template{Name: t.Name, Language: t.Language.Code}
	for _, c := range t.Components {
		for _, p := range c.Parameters {
			var s string
			switch {
			case p.Text != "":
				s = p.Text
			case p.Payload != "":
				s = p.Payload
			case p.Currency != nil:
				s = p.Currency.FallbackValue
			case p.DateTime != nil:
				s = p.DateTime.FallbackValue
			}
			if s != "" {
				out.Params = append(out.Params, s)
			}
		}
	}
	return out
}

// templateMedia is a template's media header, if it has one.
func (e *element) templateMedia() *mediaObject {
	for _, c := range e.Template.Components {
		for _, p := range c.Parameters {
			for _, m := range []*mediaObject{p.Image, p.Video, p.Document} {
				if m != nil {
					return m
				}
			}
		}
	}
	return nil
}

// fill sets v's normalised fields of type msgType; raw is the whole
// element, kept for types this server does not normalise.
func (e *element) fill(v *MessageView, msgType string, raw json.RawMessage) {
	if c := e.Context; c != nil {
		v.ReplyTo = c.ID
		if v.ReplyTo == "" {
			v.ReplyTo = c.MessageID
		}
		v.Forwarded, v.FrequentlyForwarded, v.ReferredProduct = c.Forwarded, c.FrequentlyForwarded, c.ReferredProduct
	}
	v.GroupID = e.GroupID
	v.Referral = present(e.Referral)
	v.Errors = present(e.Errors)
	switch msgType {
	case "text":
		v.Text = e.text(msgType)
	case "image", "video", "audio", "document", "sticker":
		if m := e.media(msgType); m != nil {
			v.Text = m.Caption
			v.Media = m.view()
		}
	case "location":
		if l := e.Location; l != nil {
			v.Location = &Location{Latitude: float64(l.Latitude), Longitude: float64(l.Longitude), Name: l.Name, Address: l.Address, URL: l.URL}
		}
	case "contacts":
		v.Contacts = present(e.Contacts)
	case "interactive":
		e.fillInteractive(v, raw)
	case "button":
		if b := e.Button; b != nil {
			v.Reply = &Reply{Kind: "button", ID: b.Payload, Title: b.Text}
		}
	case "reaction":
		if r := e.Reaction; r != nil {
			v.Reaction = &Reaction{MessageID: r.MessageID, Emoji: r.Emoji, Removed: r.Emoji == ""}
		}
	case "order":
		v.Order = present(e.Order)
	case "system":
		if s := e.System; s != nil {
			v.Text = s.Body
			newWaID := s.NewWaID
			if newWaID == "" {
				newWaID = s.WaID
			}
			v.System = &System{Kind: s.Type, NewWaID: newWaID, NewUserID: s.UserID}
		}
	case "revoke":
		if e.Revoke != nil {
			v.OriginalMessageID = e.Revoke.OriginalMessageID
		}
	case "edit":
		if e.Edit != nil {
			e.fillEdit(v)
		}
	case "template":
		if t := e.template(); t != nil {
			v.Template = t
			if m := e.templateMedia(); m != nil {
				v.Media = m.view()
			}
		}
	case "request_welcome":
		// Nothing but the fact: the customer opened the chat.
	default: // unsupported, and types Meta adds later
		v.Raw = present(raw)
		v.Errors = nil // they are in Raw
	}
}

func (e *element) fillInteractive(v *MessageView, raw json.RawMessage) {
	iv := e.Interactive
	if iv == nil {
		return
	}
	switch {
	case iv.ButtonReply != nil:
		v.Reply = &Reply{Kind: "button_reply", ID: iv.ButtonReply.ID, Title: iv.ButtonReply.Title}
	case iv.ListReply != nil:
		v.Reply = &Reply{Kind: "list_reply", ID: iv.ListReply.ID, Title: iv.ListReply.Title, Description: iv.ListReply.Description}
	case iv.NfmReply != nil:
		n := iv.NfmReply
		v.Reply = &Reply{Kind: "nfm_reply", Title: n.Name, Description: n.Body}
		if json.Valid([]byte(n.ResponseJSON)) {
			v.Reply.Response = json.RawMessage(n.ResponseJSON)
		}
	case iv.Body != nil || iv.Action != nil:
		v.Text = e.interactiveBody()
		v.Interactive = e.outboundInteractive()
	default: // a reply of a kind this server does not know (call_permission_reply, …)
		v.Raw = present(raw)
	}
}

// fillEdit views the edited message's new content in v's fields.
func (e *element) fillEdit(v *MessageView) {
	v.OriginalMessageID = e.Edit.OriginalMessageID
	var inner element
	if len(e.Edit.Message) == 0 || json.Unmarshal(e.Edit.Message, &inner) != nil {
		return
	}
	var nv MessageView
	inner.fill(&nv, inner.typ(), e.Edit.Message)
	v.Text, v.Media, v.Location, v.Contacts = nv.Text, nv.Media, nv.Location, nv.Contacts
}

func (m *mediaObject) view() *Media {
	return &Media{ID: m.ID, Link: m.Link, MimeType: m.MimeType, SHA256: m.SHA256, Filename: m.Filename, Voice: m.Voice, Animated: m.Animated}
}

// contactNames reads the formatted names of a contacts[] array.
func contactNames(raw json.RawMessage) []string {
	var cs []struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
	}
	_ = json.Unmarshal(raw, &cs)
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, c.Name.FormattedName)
	}
	return names
}

// join joins the non-empty parts with a space.
func join(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String()
}

// present drops an explicit JSON null, which omitempty would keep.
func present(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}
