package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

// Which code Meta uses for each value rule is mostly undocumented. The sandbox follows one
// consistent reading: Graph's generic parameter layer answers code 100 for a missing
// required parameter ("(#100) The parameter template['language']['code'] is required." is
// quoted in docs/cloud-api.md#whatsapp_send_template_message) or a value outside an enum; every other value rule (length,
// count, range, format) is 131009 "Parameter value is not valid" with details naming the
// field and the rule. A missing "to" is 131008 "Required parameter is missing".

var messageTypes = []string{
	"text", "image", "audio", "document", "sticker", "video", "location", "contacts",
	"interactive", "template", "reaction",
}

var mediaMessageTypes = map[string]bool{"image": true, "audio": true, "document": true, "sticker": true, "video": true}

// sendInfo is what validation learned about an accepted send.
type sendInfo struct {
	to        string
	waID      string
	typ       string
	tpl       *template
	bizOpaque string
	reactTo   string // a reaction's message_id
	voice     bool   // an audio sent as a voice note
}

func (s *Sandbox) sendMessage(c *call, phoneID string) (any, *apiError) {
	// An unparsable body leaves no parameters, so Graph reports the first required one missing.
	body, raw := readParams(c.r)
	if _, ok := body["status"]; ok {
		// The same route marks a customer's message read (docs/cloud-api.md#mark-as-read).
		return s.markRead(phoneID, body)
	}

	now := s.now()
	var (
		info     *sendInfo
		wamid    string
		phone    *phoneNumber
		statuses []statusItem
	)
	if e := func() *apiError {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refreshLocked()
		if phone = s.st.phone(phoneID); phone == nil {
			return errNoObject(http.MethodPost, phoneID)
		}
		var e *apiError
		if info, e = s.admitSend(phone, body, now); e != nil {
			return e
		}
		wamid = newWamid(info.waID, false)
		s.st.sent = append(s.st.sent, SentMessage{
			ID: wamid, PhoneNumberID: phoneID, To: info.to, WaID: info.waID, Type: info.typ,
			Body: append(json.RawMessage(nil), raw...), Time: now,
		})
		statuses = s.planStatuses(c.major, phone, info, wamid, now)
		kind, offer := offerOf(info, body)
		s.st.msgs[wamid] = &convMsg{id: wamid, phoneID: phoneID, waID: info.waID, typ: info.typ, at: now,
			offerKind: kind, offer: offer, failed: statuses[0].st.Status == "failed"}
		return nil
	}(); e != nil {
		return nil, e
	}
	// Outside s.mu: the webhooker reads the webhook URL under it.
	s.hooks.schedule(statuses)

	msg := object{{"id", wamid}}
	if info.tpl != nil {
		msg = append(msg, kv{"message_status", "accepted"})
	}
	return object{
		{"messaging_product", "whatsapp"},
		{"contacts", []any{object{{"input", info.to}, {"wa_id", info.waID}}}},
		{"messages", []any{msg}},
	}, nil
}

// errorCodesHref is the href of the error objects in status webhooks.
const errorCodesHref = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

// planStatuses decides the status webhooks of an accepted message, like Meta would.
// Caller holds s.mu.
func (s *Sandbox) planStatuses(major int, phone *phoneNumber, info *sendInfo, wamid string, now time.Time) []statusItem {
	uid := userID(info.waID)
	mk := func(status string, at time.Time) statusItem {
		return statusItem{phone: phone, st: whStatus{
			ID: wamid, Status: status, Timestamp: strconv.FormatInt(at.Unix(), 10),
			RecipientID: info.waID, RecipientUserID: uid, BizOpaque: info.bizOpaque,
		}}
	}
	inWindow := s.st.windowOpen(phone.id, info.waID, now)
	switch {
	case s.unreachable[info.waID] || len(info.waID) < 7 || len(info.waID) > 15:
		// Meta accepts the request, then reports the number as undeliverable.
		it := mk("failed", now)
		it.st.Errors = []whError{{Code: 131026, Title: "Message undeliverable", Message: "Message undeliverable",
			ErrorData: &whErrorData{Details: "Message Undeliverable."}, Href: errorCodesHref}}
		return []statusItem{it}
	case info.tpl == nil && !inWindow:
		it := mk("failed", now)
		it.st.Errors = []whError{{Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message",
			ErrorData: &whErrorData{Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
			Href:      errorCodesHref}}
		return []statusItem{it}
	case info.typ == "reaction":
		return s.reactionStatuses(mk, info, phone, now)
	}

	// Per-message pricing (PMP, since 2025-07-01): free-form and utility templates inside the
	// window are free customer-service messages; other templates bill by their category.
	pricing := &whPricing{Billable: false, PricingModel: "PMP", Type: "free_customer_service", Category: "service"}
	origin := "service"
	if info.tpl != nil {
		cat := strings.ToLower(info.tpl.category)
		origin = cat
		if cat == "utility" && inWindow {
			pricing = &whPricing{Billable: false, PricingModel: "PMP", Type: "free_customer_service", Category: cat}
		} else {
			pricing = &whPricing{Billable: true, PricingModel: "PMP", Type: "regular", Category: cat}
		}
	}
	var conv *whConversation
	if major < 24 { // v24+ omits the conversation object (docs/cloud-api.md#versions-and-base-url)
		var id [16]byte
		_, _ = rand.Read(id[:])
		conv = &whConversation{ID: hex.EncodeToString(id[:]),
			ExpirationTimestamp: strconv.FormatInt(now.Add(windowTTL).Unix(), 10),
			Origin:              &whOrigin{Type: origin}}
	}
	d := s.cfg.StatusDelay
	sent, delivered, read := mk("sent", now), mk("delivered", now.Add(d)), mk("read", now.Add(2*d))
	sent.st.Pricing, delivered.st.Pricing = pricing, pricing
	sent.st.Conversation, delivered.st.Conversation = conv, conv
	if info.voice {
		// Meta reports the first play of a voice note as "played" (docs/cloud-api.md#voice-messages);
		// the sandbox's customer plays it right after reading it.
		return []statusItem{sent, delivered, read, mk("played", now.Add(3*d))}
	}
	return []statusItem{sent, delivered, read}
}

// newWamid builds a message id shaped like Meta's: "wamid." + base64 of a small protobuf-like
// record holding the customer's number and a random hex id.
func newWamid(waID string, inbound bool) string {
	n := 9
	dir := byte(0x11)
	if inbound {
		n, dir = 10, 0x12
	}
	rnd := make([]byte, n)
	_, _ = rand.Read(rnd)
	h := strings.ToUpper(hex.EncodeToString(rnd))
	b := []byte{0x1c, 0x18, byte(len(waID))}
	b = append(b, waID...)
	b = append(b, 0x15, 0x02, 0x00, dir, 0x18, byte(len(h)))
	b = append(b, h...)
	b = append(b, 0x00)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

func missing(p string) *apiError {
	msg := "The parameter " + p + " is required."
	return errParam(msg).withData(msg)
}

func invalid(details string) *apiError {
	return errMsg(http.StatusBadRequest, 131009, "Parameter value is not valid", details)
}

func badEnum(p string, allowed []string, got any) *apiError {
	up := make([]string, len(allowed))
	for i, a := range allowed {
		up[i] = strings.ToUpper(a)
	}
	msg := fmt.Sprintf("Param %s must be one of {%s} - got \"%v\".", p, strings.Join(up, ", "), got)
	return errParam(msg).withData(msg)
}

func tooLong(p string, n int) *apiError {
	return invalid(fmt.Sprintf("Param %s must be at most %d characters long.", p, n))
}

func pathKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "['" + key + "']"
}

func pathIdx(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// reqObject returns m[key] as an object; missing → 100, wrong type → 131009.
func reqObject(m map[string]any, path, key string) (map[string]any, *apiError) {
	p := pathKey(path, key)
	v, ok := m[key]
	if !ok || v == nil {
		return nil, missing(p)
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("Param " + p + " must be a JSON object.")
	}
	return o, nil
}

// optString returns m[key] as a string; numbers are accepted as their text, like Graph.
func optString(m map[string]any, path, key string) (string, bool, *apiError) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", false, nil
	}
	switch t := v.(type) {
	case string:
		return t, true, nil
	case json.Number:
		return t.String(), true, nil
	}
	return "", false, invalid("Param " + pathKey(path, key) + " must be a string.")
}

// reqString returns a required non-empty string.
func reqString(m map[string]any, path, key string) (string, *apiError) {
	v, ok, e := optString(m, path, key)
	if e != nil {
		return "", e
	}
	if !ok || v == "" {
		return "", missing(pathKey(path, key))
	}
	return v, nil
}

// recipient normalises "to" into wa_id digits. Meta requires digits (separators + - ( ) and
// spaces are tolerated); with a leading "+" the number is E.164; without it Meta prepends
// the sender's country code (docs/cloud-api.md#recipient-phone-numbers) — "1" for both sandbox numbers — so
// "16505551234" sent without "+" goes to 116505551234, exposing clients that forget the "+".
func recipient(phone *phoneNumber, to string) (string, *apiError) {
	t := strings.TrimSpace(to)
	for i, r := range t {
		if !(r >= '0' && r <= '9') && !strings.ContainsRune("-() .", r) && !(r == '+' && i == 0) {
			return "", invalid("Param to must be a phone number: digits with an optional leading '+'.")
		}
	}
	d := digitsOnly(t)
	if d == "" {
		return "", invalid("Param to must be a phone number: digits with an optional leading '+'.")
	}
	if !strings.HasPrefix(t, "+") {
		d = phone.countryCode + d
	}
	return d, nil
}

// validateSend checks a send like Meta. Caller holds s.mu.
func (s *Sandbox) validateSend(phone *phoneNumber, b map[string]any, now time.Time) (*sendInfo, *apiError) {
	if e := checkProduct(b); e != nil {
		return nil, e
	}
	if rt, ok := b["recipient_type"]; ok && rt != "individual" {
		if rt == "group" {
			return nil, invalid("Group messages are not emulated by the sandbox.")
		}
		return nil, badEnum("recipient_type", []string{"individual", "group"}, rt)
	}
	to, hasTo, e := optString(b, "", "to")
	if e != nil {
		return nil, e
	}
	if !hasTo || strings.TrimSpace(to) == "" {
		return nil, errMsg(http.StatusBadRequest, 131008, "Required parameter is missing", "The parameter to is required.")
	}
	waID, e := recipient(phone, to)
	if e != nil {
		return nil, e
	}
	if waID == phone.digits {
		return nil, errMsg(http.StatusBadRequest, 131021, "Recipient cannot be sender", "Sender and recipient phone number is the same.")
	}
	info := &sendInfo{to: to, waID: waID, typ: "text"} // Meta defaults type to text
	if t, ok := b["type"]; ok {
		ts, _ := t.(string)
		if !contains(messageTypes, ts) {
			return nil, badEnum("type", messageTypes, t)
		}
		info.typ = ts
	}
	if v, ok, e := optString(b, "", "biz_opaque_callback_data"); e != nil {
		return nil, e
	} else if ok {
		if runeLen(v) > 512 {
			return nil, tooLong("biz_opaque_callback_data", 512)
		}
		info.bizOpaque = v
	}
	if _, ok := b["context"]; ok {
		if info.typ == "reaction" {
			return nil, invalid("Reactions cannot be contextual replies: remove context (docs/cloud-api.md#reactions).")
		}
		ctx, e := reqObject(b, "", "context")
		if e != nil {
			return nil, e
		}
		// Unknown context ids are accepted: Meta just shows no quote bubble.
		if _, e := reqString(ctx, "context", "message_id"); e != nil {
			return nil, e
		}
	}

	switch typ := info.typ; {
	case typ == "text":
		e = checkText(b)
	case mediaMessageTypes[typ]:
		var o map[string]any
		if o, e = reqObject(b, "", typ); e == nil {
			e = s.checkMedia(o, typ, now)
			info.voice = typ == "audio" && o["voice"] == true
		}
	case typ == "location":
		e = checkLocation(b)
	case typ == "contacts":
		e = checkContacts(b)
	case typ == "interactive":
		e = s.checkInteractive(b, now)
	case typ == "reaction":
		info.reactTo, e = checkReaction(b)
	case typ == "template":
		info.tpl, e = s.checkTemplateSend(b)
	}
	if e != nil {
		return nil, e
	}
	return info, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func checkText(b map[string]any) *apiError {
	t, e := reqObject(b, "", "text")
	if e != nil {
		return e
	}
	body, e := reqString(t, "text", "body")
	if e != nil {
		return e
	}
	if runeLen(body) > 4096 {
		return tooLong("text['body']", 4096)
	}
	if v, ok := t["preview_url"]; ok {
		if _, isBool := v.(bool); !isBool {
			return invalid("Param text['preview_url'] must be a boolean.")
		}
	}
	return nil
}

// checkMediaRef checks that a media object names exactly one of id (an existing upload) and
// link (an absolute http(s) URL). Caller holds s.mu.
func (s *Sandbox) checkMediaRef(o map[string]any, path string, now time.Time) *apiError {
	id, hasID, e := optString(o, path, "id")
	if e != nil {
		return e
	}
	link, hasLink, e := optString(o, path, "link")
	if e != nil {
		return e
	}
	if hasID == hasLink {
		return invalid(fmt.Sprintf("Exactly one of %s and %s must be provided.", pathKey(path, "id"), pathKey(path, "link")))
	}
	if hasLink {
		u, err := url.Parse(link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("Param " + pathKey(path, "link") + " must be an absolute http(s) URL.")
		}
		return nil
	}
	if m := s.st.media[id]; m == nil || now.Sub(m.created) >= mediaIDTTL {
		// docs/cloud-api.md#error-codes lists bad media as 131053 ("media we sent"); Meta's exact answer for an
		// unknown id is undocumented, and a synchronous 131053 is the most useful reading.
		return errMsg(http.StatusBadRequest, 131053, "Media upload error",
			fmt.Sprintf("Media ID %s does not exist or has expired. Upload the file with POST /{phone_number_id}/media and use the returned id.", id))
	}
	return nil
}

// checkMedia validates the object of an image/audio/document/sticker/video message.
// Caller holds s.mu.
func (s *Sandbox) checkMedia(o map[string]any, path string, now time.Time) *apiError {
	if e := s.checkMediaRef(o, path, now); e != nil {
		return e
	}
	if c, ok, e := optString(o, path, "caption"); e != nil {
		return e
	} else if ok {
		if path != "image" && path != "video" && path != "document" {
			return invalid(fmt.Sprintf("Param %s is not supported: captions are only allowed for image, video and document messages.", pathKey(path, "caption")))
		}
		if runeLen(c) > 1024 {
			return tooLong(pathKey(path, "caption"), 1024)
		}
	}
	if e := checkFilename(o, path, path == "document"); e != nil {
		return e
	}
	if v, ok := o["voice"]; ok {
		if _, isBool := v.(bool); !isBool || path != "audio" {
			return invalid("Param " + pathKey(path, "voice") + " must be a boolean and is only supported for audio messages.")
		}
	}
	return nil
}

// checkFilename checks the filename of a media object at path: a string, and only where
// Meta documents it (document messages and document headers). Whether Meta accepts it
// elsewhere is UNCONFIRMED; refusing it keeps clients on the documented path.
func checkFilename(o map[string]any, path string, allowed bool) *apiError {
	if _, ok := o["filename"]; !ok {
		return nil
	}
	if !allowed {
		return invalid("Param " + pathKey(path, "filename") + " is only supported for document messages.")
	}
	_, _, e := optString(o, path, "filename")
	return e
}

func coord(o map[string]any, key string, limit float64) *apiError {
	p := pathKey("location", key)
	v, ok := o[key]
	if !ok || v == nil || v == "" {
		return missing(p)
	}
	var f float64
	var err error
	switch t := v.(type) {
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(t), 64)
	case json.Number:
		f, err = t.Float64()
	default:
		err = fmt.Errorf("not a number")
	}
	if err != nil {
		return invalid("Param " + p + " must be a number in decimal degrees.")
	}
	if f < -limit || f > limit {
		return invalid(fmt.Sprintf("Param %s must be between %g and %g.", p, -limit, limit))
	}
	return nil
}

func checkLocation(b map[string]any) *apiError {
	o, e := reqObject(b, "", "location")
	if e != nil {
		return e
	}
	if e := coord(o, "latitude", 90); e != nil {
		return e
	}
	if e := coord(o, "longitude", 180); e != nil {
		return e
	}
	for _, k := range []string{"name", "address"} {
		if _, _, e := optString(o, "location", k); e != nil {
			return e
		}
	}
	return nil
}

func checkContacts(b map[string]any) *apiError {
	v, ok := b["contacts"]
	if !ok || v == nil {
		return missing("contacts")
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return invalid("Param contacts must be a non-empty array.")
	}
	if len(arr) > 257 {
		return invalid("Param contacts must have at most 257 elements.")
	}
	for i, c := range arr {
		p := pathIdx("contacts", i)
		co, ok := c.(map[string]any)
		if !ok {
			return invalid("Param " + p + " must be a JSON object.")
		}
		name, e := reqObject(co, p, "name")
		if e != nil {
			return e
		}
		if _, e := reqString(name, pathKey(p, "name"), "formatted_name"); e != nil {
			return e
		}
		if bd, ok, e := optString(co, p, "birthday"); e != nil {
			return e
		} else if ok {
			if _, err := time.Parse("2006-01-02", bd); err != nil {
				return invalid("Param " + pathKey(p, "birthday") + " must be a date in YYYY-MM-DD format.")
			}
		}
	}
	return nil
}

// checkProduct checks messaging_product, which every send and mark-as-read carries.
func checkProduct(b map[string]any) *apiError {
	mp, ok := b["messaging_product"]
	if !ok || mp == nil || mp == "" {
		return missing("messaging_product")
	}
	if mp != "whatsapp" {
		return badEnum("messaging_product", []string{"whatsapp"}, mp)
	}
	return nil
}

// checkReaction checks a reaction's body (docs/cloud-api.md#reactions): one emoji, or "" to
// remove it. Meta takes a reaction to a message it cannot find and fails it later
// (reactionStatuses). It returns the message reacted to.
func checkReaction(b map[string]any) (string, *apiError) {
	o, e := reqObject(b, "", "reaction")
	if e != nil {
		return "", e
	}
	id, e := reqString(o, "reaction", "message_id")
	if e != nil {
		return "", e
	}
	// An empty emoji removes a reaction, so only its presence is required.
	v, ok := o["emoji"]
	if !ok {
		return "", missing("reaction['emoji']")
	}
	emoji, isStr := v.(string)
	if !isStr {
		return "", invalid("Param reaction['emoji'] must be a string.")
	}
	if emoji != "" && !cloudapi.IsEmoji(emoji) {
		// Meta's answer to a bad emoji is undocumented; a synchronous 131009, like the
		// sandbox's other value rules.
		return "", invalid(fmt.Sprintf("Param reaction['emoji'] must be one emoji, or empty to remove the reaction; got %q.", emoji))
	}
	return id, nil
}

var interactiveTypes = []string{
	"button", "list", "cta_url", "flow", "product", "product_list", "catalog_message",
	"location_request_message", "address_message", "call_permission_request", "carousel", "voice_call",
}

// checkInteractive validates reply-button and list messages in full; the other interactive
// types (not used by our tools) are accepted after the envelope checks. Caller holds s.mu.
func (s *Sandbox) checkInteractive(b map[string]any, now time.Time) *apiError {
	const ip = "interactive"
	o, e := reqObject(b, "", ip)
	if e != nil {
		return e
	}
	it, e := reqString(o, ip, "type")
	if e != nil {
		return e
	}
	if !contains(interactiveTypes, it) {
		return badEnum(pathKey(ip, "type"), interactiveTypes, it)
	}
	if it != "button" && it != "list" {
		return s.checkNamedInteractive(b, o, it, now) // sandbox/interactive.go
	}
	bodyMax := 1024
	if it == "list" {
		bodyMax = 4096 // Meta's Nov-2025 list page (docs/cloud-api.md#whatsapp_send_interactive_list)
	}
	if e := checkInteractiveText(o, "body", bodyMax, true); e != nil {
		return e
	}
	if e := checkInteractiveText(o, "footer", 60, false); e != nil {
		return e
	}
	if _, ok := o["header"]; ok {
		if e := s.checkInteractiveHeader(o, it == "button", now); e != nil {
			return e
		}
	}
	action, e := reqObject(o, ip, "action")
	if e != nil {
		return e
	}
	if it == "button" {
		return checkReplyButtons(action)
	}
	return checkListAction(action)
}

func (s *Sandbox) checkInteractiveHeader(o map[string]any, allowMedia bool, now time.Time) *apiError {
	const hp = "interactive['header']"
	h, e := reqObject(o, "interactive", "header")
	if e != nil {
		return e
	}
	ht, e := reqString(h, hp, "type")
	if e != nil {
		return e
	}
	switch {
	case ht == "text":
		t, e := reqString(h, hp, "text")
		if e != nil {
			return e
		}
		if runeLen(t) > 60 {
			return tooLong(hp+"['text']", 60)
		}
	case (ht == "image" || ht == "video" || ht == "document") && allowMedia:
		m, e := reqObject(h, hp, ht)
		if e != nil {
			return e
		}
		if _, ok := m["caption"]; ok {
			return invalid("Param " + pathKey(pathKey(hp, ht), "caption") + " is not supported in interactive headers.")
		}
		if e := s.checkMediaRef(m, pathKey(hp, ht), now); e != nil {
			return e
		}
		if e := checkFilename(m, pathKey(hp, ht), ht == "document"); e != nil {
			return e
		}
	default:
		allowed := []string{"text", "image", "video", "document"}
		if !allowMedia {
			allowed = []string{"text"} // list messages take text headers only
		}
		return badEnum(hp+"['type']", allowed, ht)
	}
	return nil
}

func checkReplyButtons(action map[string]any) *apiError {
	const bp = "interactive['action']['buttons']"
	v, ok := action["buttons"]
	if !ok || v == nil {
		return missing(bp)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 1 || len(arr) > 3 {
		return invalid("Param " + bp + " must have 1 to 3 buttons.")
	}
	ids, titles := map[string]bool{}, map[string]bool{}
	for i, x := range arr {
		p := pathIdx(bp, i)
		bo, ok := x.(map[string]any)
		if !ok {
			return invalid("Param " + p + " must be a JSON object.")
		}
		bt, e := reqString(bo, p, "type")
		if e != nil {
			return e
		}
		if bt != "reply" {
			return badEnum(pathKey(p, "type"), []string{"reply"}, bt)
		}
		reply, e := reqObject(bo, p, "reply")
		if e != nil {
			return e
		}
		rp := pathKey(p, "reply")
		id, e := reqString(reply, rp, "id")
		if e != nil {
			return e
		}
		title, e := reqString(reply, rp, "title")
		if e != nil {
			return e
		}
		switch {
		case runeLen(id) > 256:
			return tooLong(pathKey(rp, "id"), 256)
		case strings.TrimSpace(id) != id:
			return invalid("Param " + pathKey(rp, "id") + " must not have leading or trailing spaces.")
		case runeLen(title) > 20:
			return tooLong(pathKey(rp, "title"), 20)
		case ids[id]:
			return invalid("Button ids must be unique: duplicate " + strconv.Quote(id) + ".")
		case titles[title]:
			return invalid("Button titles must be unique: duplicate " + strconv.Quote(title) + ".")
		}
		ids[id], titles[title] = true, true
	}
	return nil
}

func checkListAction(action map[string]any) *apiError {
	const ap = "interactive['action']"
	btn, e := reqString(action, ap, "button")
	if e != nil {
		return e
	}
	if runeLen(btn) > 20 {
		return tooLong(ap+"['button']", 20)
	}
	sp := ap + "['sections']"
	v, ok := action["sections"]
	if !ok || v == nil {
		return missing(sp)
	}
	secs, ok := v.([]any)
	if !ok || len(secs) < 1 || len(secs) > 10 {
		return invalid("Param " + sp + " must have 1 to 10 sections.")
	}
	rows := 0
	rowIDs := map[string]bool{}
	for i, x := range secs {
		p := pathIdx(sp, i)
		so, ok := x.(map[string]any)
		if !ok {
			return invalid("Param " + p + " must be a JSON object.")
		}
		title, _, e := optString(so, p, "title")
		if e != nil {
			return e
		}
		if title == "" && len(secs) > 1 {
			return missing(pathKey(p, "title"))
		}
		if runeLen(title) > 24 {
			return tooLong(pathKey(p, "title"), 24)
		}
		rv, ok := so["rows"].([]any)
		if !ok || len(rv) == 0 {
			return invalid("Param " + pathKey(p, "rows") + " must be a non-empty array.")
		}
		for j, r := range rv {
			rp := pathIdx(pathKey(p, "rows"), j)
			ro, ok := r.(map[string]any)
			if !ok {
				return invalid("Param " + rp + " must be a JSON object.")
			}
			id, e := reqString(ro, rp, "id")
			if e != nil {
				return e
			}
			rt, e := reqString(ro, rp, "title")
			if e != nil {
				return e
			}
			desc, _, e := optString(ro, rp, "description")
			if e != nil {
				return e
			}
			switch {
			case runeLen(id) > 200:
				return tooLong(pathKey(rp, "id"), 200)
			case runeLen(rt) > 24:
				return tooLong(pathKey(rp, "title"), 24)
			case runeLen(desc) > 72:
				return tooLong(pathKey(rp, "description"), 72)
			case rowIDs[id]:
				// Uniqueness across the list is UNCONFIRMED (docs/cloud-api.md#whatsapp_send_interactive_list); duplicates would
				// make replies ambiguous, so the sandbox rejects them.
				return invalid("Row ids must be unique across the list: duplicate " + strconv.Quote(id) + ".")
			}
			rowIDs[id] = true
		}
		rows += len(rv)
	}
	if rows > 10 {
		return invalid(fmt.Sprintf("A list message can have at most 10 rows in total across all sections; got %d.", rows))
	}
	return nil
}
