package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

// InboundMessage is a customer message to simulate: the body of POST /sandbox/inbound, and
// what Receive takes. Type says which fields apply (see GET /sandbox); the others must be empty.
// The earlier form {from, name, text, phone_number_id} is a text message.
type InboundMessage struct {
	From string `json:"from"`           // the customer's number with country code, "+" optional
	Name string `json:"name,omitempty"` // the profile name; default "Sandbox Customer"
	// PhoneNumberID is the business number written to. Empty: the number of the message
	// reply_to or react_to names, else the first one (and the window opens with every number).
	PhoneNumberID string `json:"phone_number_id,omitempty"`
	Type          string `json:"type,omitempty"` // default text
	// Text is the body of a text, the caption of an image, video or document, an order's text.
	Text string `json:"text,omitempty"`
	// ReplyTo is the message quoted (context.id): a message of this conversation; for
	// button_reply, list_reply and button the message we sent whose button or row is tapped;
	// for nfm_reply our Flow or address message answered.
	ReplyTo string `json:"reply_to,omitempty"`

	// Media: the file's bytes (base64 in JSON), its name, and its MIME type (default: from
	// the name's extension, else from the bytes).
	File     []byte `json:"file,omitempty"`
	Filename string `json:"filename,omitempty"`
	MIMEType string `json:"mime_type,omitempty"`

	Latitude     *float64 `json:"latitude,omitempty"`
	Longitude    *float64 `json:"longitude,omitempty"`
	LocationName string   `json:"location_name,omitempty"`
	Address      string   `json:"address,omitempty"`

	ContactName  string `json:"contact_name,omitempty"`
	ContactPhone string `json:"contact_phone,omitempty"`

	Button string `json:"button,omitempty"` // button_reply: a reply button's id; button: a quick reply's payload or text
	Row    string `json:"row,omitempty"`    // list_reply: a row's id

	ReactTo string `json:"react_to,omitempty"` // reaction: any message of this conversation
	Emoji   string `json:"emoji,omitempty"`    // reaction: one emoji; empty removes the reaction

	CatalogID string         `json:"catalog_id,omitempty"` // order; default the sandbox's catalog
	Products  []OrderProduct `json:"products,omitempty"`   // order: at least one

	// Response is an nfm_reply's answers, a JSON object: a Flow's fields (the sandbox adds
	// the Flow message's flow_token), or an address as {"values": {…}} with an optional
	// "saved_address_id" (docs/cloud-api.md#flow-messages, #address-messages).
	Response json.RawMessage `json:"response_json,omitempty"`
}

// OrderProduct is one line of an order.
type OrderProduct struct {
	ProductRetailerID string  `json:"product_retailer_id"`
	Quantity          int     `json:"quantity,omitempty"` // default 1
	ItemPrice         float64 `json:"item_price,omitempty"`
	Currency          string  `json:"currency,omitempty"` // default USD
}

// InboundResult is what Receive delivered.
type InboundResult struct {
	MessageID     string `json:"message_id"`
	Type          string `json:"type"` // Meta's: interactive for button_reply and list_reply, audio for voice
	PhoneNumberID string `json:"phone_number_id"`
	WaID          string `json:"wa_id"`
	UserID        string `json:"user_id"`
	MediaID       string `json:"media_id,omitempty"` // media types: GET /{media_id} serves the file
}

// inboundTypes are the types Receive simulates, each with the fields it takes besides from,
// name, phone_number_id, type and reply_to (docs/cloud-api.md#message-types).
var inboundTypes = []struct {
	Type   string
	Fields []string
}{
	{"text", []string{"text"}},
	{"image", []string{"file", "filename", "mime_type", "text"}},
	{"video", []string{"file", "filename", "mime_type", "text"}},
	{"document", []string{"file", "filename", "mime_type", "text"}},
	{"audio", []string{"file", "filename", "mime_type"}},
	{"voice", []string{"file", "filename", "mime_type"}},
	{"sticker", []string{"file", "filename", "mime_type"}},
	{"location", []string{"latitude", "longitude", "location_name", "address"}},
	{"contacts", []string{"contact_name", "contact_phone"}},
	{"button_reply", []string{"button"}},
	{"list_reply", []string{"row"}},
	{"button", []string{"button"}},
	{"reaction", []string{"react_to", "emoji"}},
	{"order", []string{"catalog_id", "products", "text"}},
	{"nfm_reply", []string{"response_json"}},
}

// inboundTypeHelp lists, for GET /sandbox, the fields each inbound type takes.
func inboundTypeHelp() object {
	out := make(object, len(inboundTypes))
	for i, t := range inboundTypes {
		out[i] = kv{t.Type, strings.Join(t.Fields, ", ")}
	}
	return out
}

// sandboxCatalogID is the catalog an order comes from unless it names one.
const sandboxCatalogID = "194836987003835"

// inboundMedia: the MIME types a customer's file of each type may have (any, for a
// document), as Meta's media table lists them (docs/cloud-api.md#media-types-and-sizes).
var inboundMedia = map[string][]string{
	"image":    {"image/jpeg", "image/png"},
	"video":    {"video/mp4", "video/3gpp"},
	"audio":    {"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"},
	"voice":    {"audio/ogg"},
	"sticker":  {"image/webp"},
	"document": nil,
}

// extMIME names the MIME type of the extensions of Meta's media table; the system's MIME
// table is not used, as it differs between machines.
var extMIME = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
	".mp4": "video/mp4", ".3gp": "video/3gpp",
	".aac": "audio/aac", ".amr": "audio/amr", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".ogg": "audio/ogg", ".opus": "audio/ogg",
	".txt": "text/plain", ".pdf": "application/pdf",
	".doc": "application/msword", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls": "application/vnd.ms-excel", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".ppt": "application/vnd.ms-powerpoint", ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

// inboundError is a request Receive refuses (the inbound API answers 400).
type inboundError string

func (e inboundError) Error() string { return string(e) }

func (m InboundMessage) typ() string {
	if m.Type == "" {
		return "text"
	}
	return m.Type
}

func typeFields(typ string) ([]string, bool) {
	for _, t := range inboundTypes {
		if t.Type == typ {
			return t.Fields, true
		}
	}
	return nil, false
}

// Check reports every problem of m that needs no conversation (Receive also checks what
// reply_to and react_to name), one sentence each, naming the JSON field.
func (m InboundMessage) Check() error {
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if _, ok := normalizeCustomer(m.From); !ok {
		add("from must be the customer's phone number with country code, e.g. +16505551234")
	}
	typ := m.typ()
	fields, ok := typeFields(typ)
	if !ok {
		names := make([]string, len(inboundTypes))
		for i, t := range inboundTypes {
			names[i] = t.Type
		}
		add("type must be one of %s; got %q", strings.Join(names, ", "), typ)
		return joinInbound(errs)
	}
	if typ != "reaction" {
		fields = append(fields, "reply_to")
	}
	for _, f := range m.setFields() {
		if !slices.Contains(fields, f) {
			add("%s does not apply to type %s (it takes %s)", f, typ, strings.Join(fields, ", "))
		}
	}
	need := func(v, field, what string) {
		if strings.TrimSpace(v) == "" {
			add("%s is required for type %s: %s", field, typ, what)
		}
	}
	switch typ {
	case "text":
		need(m.Text, "text", "the message text")
	case "image", "video", "document", "audio", "voice", "sticker":
		if len(m.File) == 0 {
			add("file is required for type %s: the bytes of the customer's file", typ)
		} else if _, err := m.media(typ); err != nil {
			add("%v", err)
		}
	case "location":
		for _, c := range []struct {
			name  string
			v     *float64
			limit float64
		}{{"latitude", m.Latitude, 90}, {"longitude", m.Longitude, 180}} {
			switch {
			case c.v == nil:
				add("%s is required for type location", c.name)
			case *c.v < -c.limit || *c.v > c.limit:
				add("%s must be between %g and %g; got %g", c.name, -c.limit, c.limit, *c.v)
			}
		}
	case "contacts":
		need(m.ContactName, "contact_name", "the shared contact's name")
		if _, ok := normalizeCustomer(m.ContactPhone); m.ContactPhone != "" && !ok {
			add("contact_phone must be a phone number with country code, e.g. +16505559999")
		}
	case "button_reply":
		need(m.ReplyTo, "reply_to", "the id of our reply-button message the customer answers")
		need(m.Button, "button", "the id of the button tapped")
	case "list_reply":
		need(m.ReplyTo, "reply_to", "the id of our list message the customer answers")
		need(m.Row, "row", "the id of the row chosen")
	case "button":
		need(m.ReplyTo, "reply_to", "the id of our template message the customer answers")
		need(m.Button, "button", "the payload or text of the quick-reply button tapped")
	case "nfm_reply":
		need(m.ReplyTo, "reply_to", "the id of our Flow or address message the customer completes")
		var obj map[string]json.RawMessage
		if len(m.Response) == 0 {
			add("response_json is required for type nfm_reply: the answers, as a JSON object")
		} else if json.Unmarshal(m.Response, &obj) != nil {
			add("response_json must be a JSON object of the answers")
		}
	case "reaction":
		need(m.ReactTo, "react_to", "the id of the message reacted to")
		if m.Emoji != "" && !cloudapi.IsEmoji(m.Emoji) {
			add("emoji must be one emoji, or empty to remove the reaction; got %q", m.Emoji)
		}
	case "order":
		if len(m.Products) == 0 {
			add("products needs at least one item for type order")
		}
		for i, p := range m.Products {
			switch {
			case strings.TrimSpace(p.ProductRetailerID) == "":
				add("products[%d].product_retailer_id is required", i)
			case p.Quantity < 0:
				add("products[%d].quantity must be at least 1", i)
			case p.ItemPrice < 0:
				add("products[%d].item_price must not be negative", i)
			case p.Currency != "" && !isCurrency(p.Currency):
				add("products[%d].currency must be an ISO 4217 code such as USD; got %q", i, p.Currency)
			}
		}
	}
	return joinInbound(errs)
}

func joinInbound(errs []string) error {
	if len(errs) == 0 {
		return nil
	}
	return inboundError(strings.Join(errs, "; "))
}

func isCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// setFields names the fields of m that are set, by their JSON names.
func (m InboundMessage) setFields() []string {
	var out []string
	v := reflect.ValueOf(m)
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		switch name {
		case "from", "name", "phone_number_id", "type":
			continue
		}
		if !v.Field(i).IsZero() {
			out = append(out, name)
		}
	}
	return out
}

// media returns the MIME type of a media message's file and checks it against Meta's table.
func (m InboundMessage) media(typ string) (string, error) {
	mt := m.MIMEType
	if mt == "" {
		mt = extMIME[strings.ToLower(filepath.Ext(m.Filename))]
	}
	if mt == "" {
		mt = http.DetectContentType(m.File)
	}
	if base, _, err := mime.ParseMediaType(mt); err == nil {
		mt = base
	}
	allowed := inboundMedia[typ]
	if allowed != nil && !slices.Contains(allowed, mt) {
		return "", inboundError(fmt.Sprintf("file of type %s must be %s; this one is %s (set mime_type if that is wrong)", typ, strings.Join(allowed, " or "), mt))
	}
	limit, ok := mediaLimits[mt]
	if !ok {
		limit = maxUpload // a customer may send any file as a document
	}
	if int64(len(m.File)) > limit {
		return "", inboundError(fmt.Sprintf("file is larger than the %s limit for %s", humanSize(limit), mt))
	}
	if !magicOK(mt, m.File) {
		return "", inboundError(fmt.Sprintf("file is not valid %s", mt))
	}
	return mt, nil
}

// ErrClosed is returned by Receive and Inbound after Close.
var ErrClosed = errors.New("sandbox: closed")

// Inbound simulates a customer's text message: Receive of type text.
func (s *Sandbox) Inbound(ctx context.Context, phoneNumberID, from, name, text string) (string, error) {
	r, err := s.Receive(ctx, InboundMessage{From: from, Name: name, PhoneNumberID: phoneNumberID, Text: text})
	return r.MessageID, err
}

// Receive simulates a customer message of any type (text, media, location, contacts,
// button and list replies, quick replies, completed Flows and addresses, reactions, orders) and posts its webhook
// the way Meta does (docs/cloud-api.md#inbound-messages): signed, with the sender in
// contacts[] (wa_id and BSUID) and the message in Meta's shape. A customer can only answer
// what they were offered, so a button or row must be one of the message reply_to names,
// sent by this number to this customer and delivered; an nfm_reply completes a Flow or
// address message the same way. A media file becomes a media object
// of the business number, which GET /{media_id} and its download serve. Every type but a
// reaction opens the customer's 24-hour window (docs/cloud-api.md#the-customer-service-window).
// Receive returns once the receiver has accepted the webhook (at most 5 s), as a stored
// customer message precedes any answer to it.
func (s *Sandbox) Receive(ctx context.Context, m InboundMessage) (InboundResult, error) {
	if err := ctx.Err(); err != nil {
		return InboundResult{}, err
	}
	if err := m.Check(); err != nil {
		return InboundResult{}, err
	}
	waID, _ := normalizeCustomer(m.From)
	c := whContact{WaID: waID, UserID: userID(waID)}
	c.Profile.Name = m.Name
	if c.Profile.Name == "" {
		c.Profile.Name = "Sandbox Customer"
	}
	now := s.now()
	s.mu.Lock()
	ph, msg, res, err := s.receiveLocked(m, waID, now)
	s.mu.Unlock()
	if err != nil {
		return InboundResult{}, err
	}
	if err := s.hooks.inbound(ph, c, msg); err != nil {
		return InboundResult{}, err
	}
	return res, nil
}

// receiveLocked checks what m refers to, records the message (and its media) and builds
// its messages[] element. Caller holds s.mu.
func (s *Sandbox) receiveLocked(m InboundMessage, waID string, now time.Time) (*phoneNumber, object, InboundResult, error) {
	typ := m.typ()
	var target *phoneNumber
	if m.PhoneNumberID != "" {
		if target = s.st.phone(m.PhoneNumberID); target == nil {
			return nil, nil, InboundResult{}, inboundError(fmt.Sprintf("unknown phone_number_id %s: the sandbox's numbers are %s and %s", m.PhoneNumberID, PhoneNumberID, PhoneNumberID2))
		}
	}
	// ref is the message quoted, reacted to or answered.
	var ref *convMsg
	id, field := m.ReplyTo, "reply_to"
	if typ == "reaction" {
		id, field = m.ReactTo, "react_to"
	}
	if id != "" {
		ref = s.st.msgs[id]
		switch {
		case ref == nil:
			return nil, nil, InboundResult{}, inboundError(fmt.Sprintf("%s %s is not a message the sandbox sent or received: use the id a send answered (messages[0].id) or an inbound message's id", field, id))
		case ref.waID != waID:
			return nil, nil, InboundResult{}, inboundError(fmt.Sprintf("%s %s belongs to another customer's conversation, not %s's", field, id, "+"+waID))
		case target != nil && ref.phoneID != target.id:
			return nil, nil, InboundResult{}, inboundError(fmt.Sprintf("%s %s belongs to the conversation with business number %s, not %s", field, id, ref.phoneID, target.id))
		}
		target = s.st.phone(ref.phoneID)
	}
	// The earlier form names no number: the window opens with every one, and the webhook
	// names the first.
	everyNumber := target == nil
	if everyNumber {
		target = s.st.phones[0]
	}
	var tapped *choice
	if want := map[string]string{"button_reply": "button", "list_reply": "list", "button": "template"}[typ]; want != "" {
		var err error
		if tapped, err = offered(ref, want, cmp.Or(m.Button, m.Row)); err != nil {
			return nil, nil, InboundResult{}, err
		}
	}
	var nfm object
	if typ == "nfm_reply" {
		var err error
		if nfm, err = s.nfmReply(ref, m.Response); err != nil {
			return nil, nil, InboundResult{}, err
		}
	}

	res := InboundResult{MessageID: newWamid(waID, true), WaID: waID, UserID: userID(waID), Type: typ}
	var body any
	switch typ {
	case "text":
		body = object{{"body", m.Text}}
	case "image", "video", "document", "audio", "voice", "sticker":
		mt, _ := m.media(typ) // checked by Check
		sum := sha256.Sum256(m.File)
		if typ == "voice" {
			mt = "audio/ogg; codecs=opus" // what Meta reports for a voice note
		}
		res.MediaID = s.st.newID()
		s.st.media[res.MediaID] = &mediaObject{id: res.MediaID, phoneNumberID: target.id, mime: mt, filename: m.Filename,
			data: bytes.Clone(m.File), sha256: hex.EncodeToString(sum[:]), created: now}
		var caption, filename, voice, animated any
		if m.Text != "" {
			caption = m.Text
		}
		switch typ {
		case "document":
			filename = cmp.Or(m.Filename, "document")
		case "voice":
			res.Type, voice = "audio", true
		case "audio":
			voice = false
		case "sticker":
			animated = bytes.Contains(m.File, []byte("ANIM"))
		}
		body = object{{"caption", caption}, {"filename", filename}, {"mime_type", mt}, {"sha256", hex.EncodeToString(sum[:])},
			{"id", res.MediaID}, {"voice", voice}, {"animated", animated}}
	case "location":
		body = object{{"latitude", *m.Latitude}, {"longitude", *m.Longitude}, {"name", nilIfEmpty(m.LocationName)}, {"address", nilIfEmpty(m.Address)}}
	case "contacts":
		first, last, _ := strings.Cut(strings.TrimSpace(m.ContactName), " ")
		card := object{{"name", object{{"formatted_name", m.ContactName}, {"first_name", first}, {"last_name", nilIfEmpty(last)}}}}
		if d, ok := normalizeCustomer(m.ContactPhone); ok {
			card = append(card, kv{"phones", []any{object{{"phone", m.ContactPhone}, {"wa_id", d}, {"type", "CELL"}}}})
		}
		body = []any{card}
	case "button_reply", "list_reply":
		reply := object{{"id", tapped.id}, {"title", tapped.title}, {"description", nilIfEmpty(tapped.description)}}
		body = object{{"type", typ}, {typ, reply}}
		res.Type = "interactive"
	case "nfm_reply":
		body = object{{"type", typ}, {typ, nfm}}
		res.Type = "interactive"
	case "button":
		body = object{{"payload", tapped.id}, {"text", tapped.title}}
	case "reaction":
		body = object{{"message_id", m.ReactTo}, {"emoji", nilIfEmpty(m.Emoji)}} // removal: no emoji
	case "order":
		items := make([]any, len(m.Products))
		for i, p := range m.Products {
			items[i] = object{{"product_retailer_id", p.ProductRetailerID}, {"quantity", max(p.Quantity, 1)},
				{"item_price", p.ItemPrice}, {"currency", cmp.Or(p.Currency, "USD")}}
		}
		body = object{{"catalog_id", cmp.Or(m.CatalogID, sandboxCatalogID)}, {"text", nilIfEmpty(m.Text)}, {"product_items", items}}
	}

	// Reactions do not open the window (docs/cloud-api.md#the-customer-service-window).
	switch {
	case typ == "reaction":
	case everyNumber:
		for _, p := range s.st.phones {
			s.st.windows[p.id+"|"+waID] = now
		}
	default:
		s.st.windows[target.id+"|"+waID] = now
	}
	res.PhoneNumberID = target.id

	msg := object{}
	if m.ReplyTo != "" {
		from := target.digits // the business's number, when quoting our message
		if ref.inbound {
			from = waID
		}
		msg = append(msg, kv{"context", object{{"from", from}, {"id", m.ReplyTo}}})
	}
	msg = append(msg, kv{"from", waID}, kv{"from_user_id", res.UserID}, kv{"id", res.MessageID},
		kv{"timestamp", strconv.FormatInt(now.Unix(), 10)}, kv{"type", res.Type}, kv{res.Type, body})

	rec := &ReceivedMessage{ID: res.MessageID, PhoneNumberID: target.id, WaID: waID, UserID: res.UserID, Type: res.Type, Time: now}
	s.st.received = append(s.st.received, rec)
	s.st.msgs[rec.ID] = &convMsg{id: rec.ID, phoneID: target.id, waID: waID, inbound: true, typ: res.Type, at: now, recv: rec}
	return target, msg, res, nil
}

// answerable refuses a reply_to the customer cannot answer: their own message, one that is
// not what they answer (fits false), or one never delivered.
func answerable(ref *convMsg, fits bool, what string) error {
	switch {
	case ref.inbound:
		return inboundError(fmt.Sprintf("reply_to %s is the customer's own message; it must be %s we sent", ref.id, what))
	case !fits:
		return inboundError(fmt.Sprintf("reply_to %s is %s; it must be %s we sent", ref.id, ref.kind(), what))
	case ref.failed:
		return inboundError(fmt.Sprintf("reply_to %s was never delivered (see its failed status), so the customer cannot answer it", ref.id))
	}
	return nil
}

// offered finds the choice a customer taps in ref, a message we sent offering want.
func offered(ref *convMsg, want, id string) (*choice, error) {
	what := map[string]string{"button": "a reply-button message", "list": "a list message", "template": "a template with quick-reply buttons"}[want]
	if err := answerable(ref, ref.offerKind == want && len(ref.offer) > 0, what); err != nil {
		return nil, err
	}
	var ids []string
	for i, c := range ref.offer {
		if c.id == id || (want == "template" && c.title == id) {
			return &ref.offer[i], nil
		}
		ids = append(ids, strconv.Quote(c.id))
	}
	field := map[string]string{"button": "button", "list": "row", "template": "button"}[want]
	return nil, inboundError(fmt.Sprintf("%s %q was not offered by %s; it offered %s", field, id, ref.id, strings.Join(ids, ", ")))
}

// sentInteractive is the interactive object of a message this sandbox sent; nil for any
// other message. Caller holds s.mu.
func (s *Sandbox) sentInteractive(id string) map[string]any {
	for i := len(s.st.sent) - 1; i >= 0; i-- {
		if s.st.sent[i].ID == id {
			var b map[string]any
			_ = json.Unmarshal(s.st.sent[i].Body, &b)
			iv, _ := b["interactive"].(map[string]any)
			return iv
		}
	}
	return nil
}

// nfmReply is the nfm_reply a customer sends on completing ref, a Flow or an address message
// we sent (docs/cloud-api.md#flow-messages, #address-messages): response_json is the answers
// as a string, with a Flow's flow_token (Meta's default "unused" when the send gave none),
// and body what the customer's chat shows. Caller holds s.mu.
func (s *Sandbox) nfmReply(ref *convMsg, response json.RawMessage) (object, error) {
	iv := s.sentInteractive(ref.id)
	it := strField(iv, "type")
	if err := answerable(ref, it == "flow" || it == "address_message", "a Flow or address message"); err != nil {
		return nil, err
	}
	var answers map[string]any
	_ = json.Unmarshal(response, &answers) // Check made sure it is an object
	action, _ := iv["action"].(map[string]any)
	params, _ := action["parameters"].(map[string]any)
	if it == "flow" {
		if _, ok := answers["flow_token"]; ok {
			return nil, inboundError("response_json must not set flow_token: the sandbox adds the one of the Flow message answered")
		}
		answers["flow_token"] = cmp.Or(strField(params, "flow_token"), "unused")
		rj, _ := json.Marshal(answers)
		return object{{"response_json", string(rj)}, {"body", "Sent"}, {"name", "flow"}}, nil
	}
	for k := range answers {
		if k != "values" && k != "saved_address_id" {
			return nil, inboundError(fmt.Sprintf("response_json of an address has values and an optional saved_address_id, not %q", k))
		}
	}
	values, ok := answers["values"].(map[string]any)
	if !ok || len(values) == 0 {
		return nil, inboundError("response_json of an address needs values: the address fields the customer filled in")
	}
	var parts []string
	for _, f := range addressFields {
		if v, ok := values[f]; ok {
			str, isStr := v.(string)
			if !isStr {
				return nil, inboundError(fmt.Sprintf("response_json.values.%s must be a string", f))
			}
			parts = append(parts, str)
		}
	}
	if len(parts) != len(values) {
		return nil, inboundError("response_json.values takes the address fields only: " + strings.Join(addressFields, ", "))
	}
	if id, ok := answers["saved_address_id"]; ok {
		var offeredIDs []string
		saved, _ := params["saved_addresses"].([]any)
		for _, x := range saved {
			a, _ := x.(map[string]any)
			offeredIDs = append(offeredIDs, strField(a, "id"))
		}
		if str, _ := id.(string); !slices.Contains(offeredIDs, str) {
			return nil, inboundError(fmt.Sprintf("response_json.saved_address_id %v is not a saved address %s offered (it offered %q)", id, ref.id, offeredIDs))
		}
	}
	rj, _ := json.Marshal(answers)
	return object{{"response_json", string(rj)}, {"body", strings.Join(parts, ", ")}, {"name", "address_message"}}, nil
}

// nilIfEmpty leaves an optional member out of an object.
func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// serveInbound is POST /sandbox/inbound: an InboundMessage as JSON, answered with the
// InboundResult, or 400 saying what is wrong.
func (s *Sandbox) serveInbound(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		s.writeJSON(w, status, (&apiError{message: msg, typ: "SandboxException", code: 100}).body(newTraceID()), "")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(http.StatusMethodNotAllowed, "use POST")
		return
	}
	// A file travels as base64: room for the largest document.
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxUpload/3*4+mb))
	dec.DisallowUnknownFields()
	var in InboundMessage
	if err := dec.Decode(&in); err != nil {
		fail(http.StatusBadRequest, "body must be a JSON object {from, type, text, …} (see GET /sandbox): "+err.Error())
		return
	}
	res, err := s.Receive(r.Context(), in)
	var bad inboundError
	switch {
	case errors.As(err, &bad):
		fail(http.StatusBadRequest, err.Error())
		return
	case err != nil:
		fail(http.StatusServiceUnavailable, err.Error())
		return
	}
	s.writeJSON(w, http.StatusOK, res, "")
}
