package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// What the two sides of a conversation share: the customer's BSUID, what an outbound message
// offers to tap, emoji reactions, and marking a customer's messages read.

// ReceivedMessages returns a copy of every customer message delivered, oldest first.
func (s *Sandbox) ReceivedMessages() []ReceivedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ReceivedMessage, len(s.st.received))
	for i, r := range s.st.received {
		out[i] = *r
	}
	return out
}

// userID is the customer's business-scoped user id (docs/cloud-api.md#bsuid), in Meta's
// shape: the region of the number's country code, a dot, then 20 digits, the same for a
// customer every time, so tests and a restarted sandbox agree.
func userID(waID string) string {
	region := "ZZ"
	if n, err := phonenumbers.Parse("+"+waID, ""); err == nil {
		if r := phonenumbers.GetRegionCodeForCountryCode(int(n.GetCountryCode())); r != "" {
			region = r
		}
	}
	sum := sha256.Sum256([]byte("sandbox-bsuid|" + waID))
	return region + "." + strconv.FormatUint(1e19+binary.BigEndian.Uint64(sum[:8])%8e18, 10)
}

// kind describes an outbound message by what it offers, for errors.
func (m *convMsg) kind() string {
	switch {
	case m.offerKind == "button":
		return "a reply-button message"
	case m.offerKind == "list":
		return "a list message"
	case m.offerKind == "template" && len(m.offer) == 0:
		return "a template message without quick-reply buttons"
	case m.offerKind == "template":
		return "a template message"
	}
	return "a " + m.typ + " message"
}

// offerOf is what an accepted send lets the customer tap: its reply buttons, its list rows,
// or its template's quick replies, whose payload is the send's payload parameter for that
// button, else the button's text.
func offerOf(info *sendInfo, body map[string]any) (string, []choice) {
	if info.tpl != nil {
		return "template", quickReplies(info.tpl, body)
	}
	if info.typ != "interactive" {
		return "", nil
	}
	o, _ := body["interactive"].(map[string]any)
	action, _ := o["action"].(map[string]any)
	var out []choice
	switch strField(o, "type") {
	case "button":
		btns, _ := action["buttons"].([]any)
		for _, x := range btns {
			b, _ := x.(map[string]any)
			r, _ := b["reply"].(map[string]any)
			out = append(out, choice{id: strField(r, "id"), title: strField(r, "title")})
		}
		return "button", out
	case "list":
		secs, _ := action["sections"].([]any)
		for _, x := range secs {
			sec, _ := x.(map[string]any)
			rows, _ := sec["rows"].([]any)
			for _, y := range rows {
				r, _ := y.(map[string]any)
				out = append(out, choice{id: strField(r, "id"), title: strField(r, "title"), description: strField(r, "description")})
			}
		}
		return "list", out
	}
	return "", nil
}

func quickReplies(t *template, body map[string]any) []choice {
	payloads := map[string]string{} // button index → payload the send gave it
	tp, _ := body["template"].(map[string]any)
	comps, _ := tp["components"].([]any)
	for _, x := range comps {
		c, _ := x.(map[string]any)
		params, _ := c["parameters"].([]any)
		if !strings.EqualFold(strField(c, "type"), "button") || len(params) != 1 {
			continue
		}
		if p, _ := params[0].(map[string]any); strField(p, "payload") != "" {
			payloads[strField(c, "index")] = strField(p, "payload")
		}
	}
	var out []choice
	for _, x := range t.components {
		c, _ := x.(map[string]any)
		if !strings.EqualFold(strField(c, "type"), "BUTTONS") {
			continue
		}
		btns, _ := c["buttons"].([]any)
		for i, y := range btns {
			b, _ := y.(map[string]any)
			if !strings.EqualFold(strField(b, "type"), "QUICK_REPLY") {
				continue
			}
			text := strField(b, "text")
			payload := payloads[strconv.Itoa(i)]
			if payload == "" {
				payload = text
			}
			out = append(out, choice{id: payload, title: text})
		}
	}
	return out
}

// reactionAge is how old a message may be to be reacted to (docs/cloud-api.md#reactions).
const reactionAge = 30 * 24 * time.Hour

// reactionStatuses are a reaction's webhooks inside the window (docs/cloud-api.md#reactions):
// only "sent", or "failed" with 131009 when the message reacted to is not a message of this
// conversation, is a reaction itself or is over 30 days old. Caller holds s.mu.
func (s *Sandbox) reactionStatuses(mk func(string, time.Time) statusItem, info *sendInfo, phone *phoneNumber, now time.Time) []statusItem {
	m := s.st.msgs[info.reactTo]
	if m != nil && m.phoneID == phone.id && m.waID == info.waID && m.typ != "reaction" && now.Sub(m.at) <= reactionAge {
		return []statusItem{mk("sent", now)}
	}
	it := mk("failed", now)
	it.st.Errors = []whError{{Code: 131009, Title: "Parameter value is not valid", Message: "Parameter value is not valid",
		ErrorData: &whErrorData{Details: "The message reacted to (" + info.reactTo + ") is not in this chat, is a reaction, or is more than 30 days old."},
		Href:      errorCodesHref}}
	return []statusItem{it}
}

// markRead answers POST /{phone_number_id}/messages {"status":"read", "message_id", …}
// (docs/cloud-api.md#mark-as-read, #typing-indicator): the message and every earlier one of
// the customer to this number become read; no webhook follows. Meta's code for an id that
// is not a message this number received is undocumented; the sandbox answers 131009, its
// code for every value rule.
func (s *Sandbox) markRead(phoneID string, b map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.phone(phoneID) == nil {
		return nil, errNoObject("POST", phoneID)
	}
	if e := checkProduct(b); e != nil {
		return nil, e
	}
	if st := b["status"]; st != "read" {
		return nil, badEnum("status", []string{"read"}, st)
	}
	id, e := reqString(b, "", "message_id")
	if e != nil {
		return nil, e
	}
	typing := false
	if _, ok := b["typing_indicator"]; ok {
		ti, e := reqObject(b, "", "typing_indicator")
		if e != nil {
			return nil, e
		}
		t, e := reqString(ti, "typing_indicator", "type")
		if e != nil {
			return nil, e
		}
		if t != "text" {
			return nil, badEnum("typing_indicator['type']", []string{"text"}, t)
		}
		typing = true
	}
	m := s.st.msgs[id]
	if m == nil || !m.inbound || m.phoneID != phoneID {
		return nil, invalid(fmt.Sprintf("Param message_id must be the id of a message this phone number received (messages[].id of an inbound webhook); %s is not.", id))
	}
	for _, r := range s.st.received {
		if r.PhoneNumberID == phoneID && r.WaID == m.waID {
			r.Read = true
		}
		if r == m.recv {
			break
		}
	}
	m.recv.TypingIndicator = m.recv.TypingIndicator || typing
	return object{{"success", true}}, nil
}
