package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// Message is the body of POST /{phone-number-id}/messages. Exactly one of
// the type fields is set, matching Type.
type Message struct {
	MessagingProduct string          `json:"messaging_product"`
	RecipientType    string          `json:"recipient_type,omitempty"`
	To               string          `json:"to"`
	Context          *MessageContext `json:"context,omitempty"`
	Type             string          `json:"type"`
	Text             *Text           `json:"text,omitempty"`
	Image            *MediaObject    `json:"image,omitempty"`
	Audio            *MediaObject    `json:"audio,omitempty"`
	Document         *MediaObject    `json:"document,omitempty"`
	Sticker          *MediaObject    `json:"sticker,omitempty"`
	Video            *MediaObject    `json:"video,omitempty"`
	Location         *Location       `json:"location,omitempty"`
	Contacts         []Contact       `json:"contacts,omitempty"`
	Interactive      *Interactive    `json:"interactive,omitempty"`
	Template         *Template       `json:"template,omitempty"`
	Reaction         *Reaction       `json:"reaction,omitempty"`
	// BizOpaqueCallbackData is echoed back in status webhooks (≤512 chars).
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data,omitempty"`
}

// MessageContext marks a reply to an earlier message.
type MessageContext struct {
	MessageID string `json:"message_id"`
}

// Text is a text message body.
type Text struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url,omitempty"`
}

// MediaObject references media by uploaded id or by link. Voice marks an
// OGG/Opus audio as a voice note (docs/cloud-api.md#voice-messages).
type MediaObject struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
}

// Location is a location pin; Meta types the coordinates as strings.
type Location struct {
	Latitude  string `json:"latitude"`
	Longitude string `json:"longitude"`
	Name      string `json:"name,omitempty"`
	Address   string `json:"address,omitempty"`
}

// Contact is one contact card.
type Contact struct {
	Addresses []ContactAddress `json:"addresses,omitempty"`
	Birthday  string           `json:"birthday,omitempty"`
	Emails    []ContactEmail   `json:"emails,omitempty"`
	Name      ContactName      `json:"name"`
	Org       *ContactOrg      `json:"org,omitempty"`
	Phones    []ContactPhone   `json:"phones,omitempty"`
	URLs      []ContactURL     `json:"urls,omitempty"`
}

// ContactName is a contact's name; FormattedName is required.
type ContactName struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
}

// ContactAddress is a postal address.
type ContactAddress struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

// ContactEmail is an email address.
type ContactEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactOrg is a contact's organisation.
type ContactOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// ContactPhone is a phone number; WaID adds the Message button.
type ContactPhone struct {
	Phone string `json:"phone,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactURL is a web address.
type ContactURL struct {
	URL  string `json:"url,omitempty"`
	Type string `json:"type,omitempty"`
}

// Interactive is an interactive message: reply buttons (button), list,
// cta_url, flow, location_request_message or address_message
// (docs/cloud-api.md#interactive-messages). Body is required by every type
// our tools send.
type Interactive struct {
	Type   string             `json:"type"`
	Header *InteractiveHeader `json:"header,omitempty"`
	Body   InteractiveText    `json:"body"`
	Footer *InteractiveText   `json:"footer,omitempty"`
	Action InteractiveAction  `json:"action"`
}

// InteractiveHeader is a header: text, or one media object matching Type
// (image, video or document).
type InteractiveHeader struct {
	Type     string       `json:"type"`
	Text     string       `json:"text,omitempty"`
	Image    *MediaObject `json:"image,omitempty"`
	Video    *MediaObject `json:"video,omitempty"`
	Document *MediaObject `json:"document,omitempty"`
}

// InteractiveText is a body or footer.
type InteractiveText struct {
	Text string `json:"text"`
}

// InteractiveAction holds buttons (type button), a list (type list), or a
// named action with its parameters (cta_url, flow, send_location,
// address_message).
type InteractiveAction struct {
	Name       string            `json:"name,omitempty"`
	Buttons    []ReplyButton     `json:"buttons,omitempty"`
	Button     string            `json:"button,omitempty"`
	Sections   []ListSection     `json:"sections,omitempty"`
	Parameters *ActionParameters `json:"parameters,omitempty"`
}

// ActionParameters are the parameters of a named interactive action; each
// action sets its own fields and leaves the others empty.
type ActionParameters struct {
	// cta_url
	DisplayText string `json:"display_text,omitempty"`
	URL         string `json:"url,omitempty"`
	// flow (docs/cloud-api.md#flow-messages)
	FlowMessageVersion string             `json:"flow_message_version,omitempty"`
	FlowToken          string             `json:"flow_token,omitempty"`
	FlowID             string             `json:"flow_id,omitempty"`
	FlowName           string             `json:"flow_name,omitempty"`
	FlowCTA            string             `json:"flow_cta,omitempty"`
	FlowAction         string             `json:"flow_action,omitempty"`
	FlowActionPayload  *FlowActionPayload `json:"flow_action_payload,omitempty"`
	Mode               string             `json:"mode,omitempty"`
	// address_message (docs/cloud-api.md#address-messages)
	Country          string            `json:"country,omitempty"`
	Values           map[string]string `json:"values,omitempty"`
	SavedAddresses   []SavedAddress    `json:"saved_addresses,omitempty"`
	ValidationErrors map[string]string `json:"validation_errors,omitempty"`
}

// FlowActionPayload opens a Flow on a screen with initial data (flow_action
// navigate).
type FlowActionPayload struct {
	Screen string          `json:"screen"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// SavedAddress is an address the customer may pick in an address message.
type SavedAddress struct {
	ID    string            `json:"id"`
	Value map[string]string `json:"value"`
}

// ReplyButton is one quick-reply button.
type ReplyButton struct {
	Type  string     `json:"type"`
	Reply ReplyTitle `json:"reply"`
}

// ReplyTitle is a button's id and title.
type ReplyTitle struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// ListSection is one section of a list message.
type ListSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []ListRow `json:"rows"`
}

// ListRow is one choosable row.
type ListRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Template is a template send.
type Template struct {
	Name       string              `json:"name"`
	Language   TemplateLanguage    `json:"language"`
	Components []TemplateComponent `json:"components,omitempty"`
}

// TemplateLanguage is the template's language code.
type TemplateLanguage struct {
	Code string `json:"code"`
}

// TemplateComponent carries the parameters of one template component; a
// carousel component carries its cards instead.
type TemplateComponent struct {
	Type       string              `json:"type"`
	SubType    string              `json:"sub_type,omitempty"`
	Index      *int                `json:"index,omitempty"`
	Parameters []TemplateParameter `json:"parameters,omitempty"`
	Cards      []CarouselCard      `json:"cards,omitempty"`
}

// CarouselCard is one card of a carousel template send: its index and its
// own header, body and button components.
type CarouselCard struct {
	CardIndex  int                 `json:"card_index"`
	Components []TemplateComponent `json:"components"`
}

// TemplateParameter is one variable value.
type TemplateParameter struct {
	Type          string       `json:"type"`
	ParameterName string       `json:"parameter_name,omitempty"`
	Text          string       `json:"text,omitempty"`
	Payload       string       `json:"payload,omitempty"`
	Image         *MediaObject `json:"image,omitempty"`
	Video         *MediaObject `json:"video,omitempty"`
	Document      *MediaObject `json:"document,omitempty"`
	Currency      *Currency    `json:"currency,omitempty"`
	DateTime      *DateTime    `json:"date_time,omitempty"`
	// Location is a location header's pin.
	Location *Location `json:"location,omitempty"`
	// CouponCode is a copy-code button's code.
	CouponCode string `json:"coupon_code,omitempty"`
	// Action is a Flow button's action.
	Action *TemplateAction `json:"action,omitempty"`
	// LimitedTimeOffer is a limited-time-offer component's expiration.
	LimitedTimeOffer *LimitedTimeOffer `json:"limited_time_offer,omitempty"`
}

// TemplateAction is a Flow button's parameter: the token and the data the
// Flow opens with.
type TemplateAction struct {
	FlowToken      string          `json:"flow_token,omitempty"`
	FlowActionData json.RawMessage `json:"flow_action_data,omitempty"`
}

// LimitedTimeOffer is when a limited-time offer expires, in Unix
// milliseconds.
type LimitedTimeOffer struct {
	ExpirationTimeMs int64 `json:"expiration_time_ms"`
}

// Currency is a currency parameter.
type Currency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

// DateTime is a date-time parameter.
type DateTime struct {
	FallbackValue string `json:"fallback_value"`
}

// Reaction is an emoji reaction to a message (docs/cloud-api.md#reactions).
// Emoji is always sent: an empty one removes the business's reaction.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// MessageResponse is the answer to a send: accepted, not yet delivered.
type MessageResponse struct {
	MessagingProduct string            `json:"messaging_product"`
	Contacts         []ResponseContact `json:"contacts"`
	Messages         []ResponseMessage `json:"messages"`
}

// ResponseContact maps the input number to the WhatsApp id.
type ResponseContact struct {
	Input  string `json:"input"`
	WaID   string `json:"wa_id"`
	UserID string `json:"user_id,omitempty"`
}

// ResponseMessage is the accepted message's id.
type ResponseMessage struct {
	ID            string `json:"id"`
	MessageStatus string `json:"message_status,omitempty"`
	GroupID       string `json:"group_id,omitempty"`
}

// SendMessage sends any message type. It is a write: it is retried only
// when Meta answers a throttling code or no connection could be made.
//
// https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
func (c *Client) SendMessage(ctx context.Context, phoneNumberID string, m *Message) (*MessageResponse, *Response, error) {
	if m.Reaction != nil && m.Context != nil {
		// Meta refuses a reaction that quotes (docs/cloud-api.md#reactions).
		return nil, nil, errors.New("graph: a reaction cannot carry a context (reply); nothing was sent")
	}
	m.MessagingProduct = "whatsapp"
	if m.RecipientType == "" {
		m.RecipientType = "individual"
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	out := new(MessageResponse)
	resp, err := c.do(ctx, &request{method: http.MethodPost, path: url.PathEscape(phoneNumberID) + "/messages",
		body: body, contentType: "application/json"}, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// readReceipt is the body that marks an inbound message read: a status
// sent on the messages edge, not a message.
type readReceipt struct {
	MessagingProduct string           `json:"messaging_product"`
	Status           string           `json:"status"`
	MessageID        string           `json:"message_id"`
	TypingIndicator  *typingIndicator `json:"typing_indicator,omitempty"`
}

type typingIndicator struct {
	Type string `json:"type"`
}

// MarkRead marks the customer's message messageID read, and with it every
// earlier message of the conversation (docs/cloud-api.md#mark-as-read).
// With typing, the customer also sees the typing indicator until the
// business replies or 25 seconds pass (docs/cloud-api.md#typing-indicator).
// It is a write, retried like a send.
//
// https://developers.facebook.com/docs/whatsapp/cloud-api/guides/mark-message-as-read
// https://developers.facebook.com/documentation/business-messaging/whatsapp/typing-indicators/
func (c *Client) MarkRead(ctx context.Context, phoneNumberID, messageID string, typing bool) (bool, *Response, error) {
	if messageID == "" {
		return false, nil, errors.New("graph: MarkRead needs the id of the message to mark; nothing was sent")
	}
	rr := readReceipt{MessagingProduct: "whatsapp", Status: "read", MessageID: messageID}
	if typing {
		rr.TypingIndicator = &typingIndicator{Type: "text"}
	}
	body, err := json.Marshal(rr)
	if err != nil {
		return false, nil, err
	}
	var out struct {
		Success bool `json:"success"`
	}
	resp, err := c.do(ctx, &request{method: http.MethodPost, path: url.PathEscape(phoneNumberID) + "/messages",
		body: body, contentType: "application/json"}, &out)
	if err != nil {
		return false, resp, err
	}
	return out.Success, resp, nil
}
