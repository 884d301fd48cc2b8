package sandbox

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// The interactive types with a named action: a link button (cta_url), a Flow, a location
// request and an address request (docs/cloud-api.md#cta-url-messages, #flow-messages,
// #location-request-messages, #address-messages), checked like Meta with the value rules of
// messages.go: 100 for a missing parameter or a value outside an enum, 131009 for every other
// value rule.

// addressFields are the fields of Meta's address form (docs/cloud-api.md#address-messages).
var addressFields = []string{"name", "phone_number", "in_pin_code", "house_number", "floor_number", "tower_number",
	"building_name", "address", "landmark_area", "city", "state"}

// checkNamedInteractive validates the interactive types with a named action; other types
// (not used by our tools) are accepted after the envelope checks. Caller holds s.mu.
func (s *Sandbox) checkNamedInteractive(b, o map[string]any, it string, now time.Time) *apiError {
	name := map[string]string{"cta_url": "cta_url", "flow": "flow", "location_request_message": "send_location",
		"address_message": "address_message"}[it]
	if name == "" {
		return nil
	}
	const ip = "interactive"
	if e := checkInteractiveText(o, "body", 1024, true); e != nil {
		return e
	}
	if e := checkInteractiveText(o, "footer", 60, false); e != nil {
		return e
	}
	if _, ok := o["header"]; ok {
		if it == "location_request_message" {
			// Meta shows it with a body only (docs/cloud-api.md#location-request-messages).
			return invalid("Param interactive['header'] is not supported for interactive type " + it + ".")
		}
		// Media headers are documented for link buttons only; Flows and address messages
		// show text ones (docs/cloud-api.md#flow-messages, #address-messages).
		if e := s.checkInteractiveHeader(o, it == "cta_url", now); e != nil {
			return e
		}
	}
	action, e := reqObject(o, ip, "action")
	if e != nil {
		return e
	}
	const ap = "interactive['action']"
	an, e := reqString(action, ap, "name")
	if e != nil {
		return e
	}
	if an != name {
		return badEnum(ap+"['name']", []string{name}, an)
	}
	if it == "location_request_message" {
		if _, ok := action["parameters"]; ok {
			return invalid("Param " + ap + "['parameters'] is not supported for action send_location.")
		}
		return nil
	}
	params, e := reqObject(action, ap, "parameters")
	if e != nil {
		return e
	}
	switch it {
	case "cta_url":
		return checkCTAURL(params)
	case "flow":
		return checkFlowParams(params)
	}
	return checkAddressParams(s.customerRegion(b), params)
}

// checkInteractiveText checks interactive[key].text (the body or footer of every
// interactive type): required or optional, at most max characters.
func checkInteractiveText(o map[string]any, key string, max int, required bool) *apiError {
	if _, ok := o[key]; !ok && !required {
		return nil
	}
	t, e := reqObject(o, "interactive", key)
	if e != nil {
		return e
	}
	p := pathKey("interactive", key)
	text, e := reqString(t, p, "text")
	if e != nil {
		return e
	}
	if runeLen(text) > max {
		return tooLong(pathKey(p, "text"), max)
	}
	return nil
}

const pp = "interactive['action']['parameters']"

func checkCTAURL(params map[string]any) *apiError {
	dt, e := reqString(params, pp, "display_text")
	if e != nil {
		return e
	}
	if runeLen(dt) > 20 {
		return tooLong(pathKey(pp, "display_text"), 20)
	}
	link, e := reqString(params, pp, "url")
	if e != nil {
		return e
	}
	if u, err := url.Parse(link); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("Param " + pathKey(pp, "url") + " must be an absolute http(s) URL.")
	}
	return nil
}

// flowCTAMax is the CTA length Meta advises (docs/cloud-api.md#flow-messages).
const flowCTAMax = 30

func checkFlowParams(params map[string]any) *apiError {
	v, e := reqString(params, pp, "flow_message_version")
	if e != nil {
		return e
	}
	if v != "3" {
		return badEnum(pathKey(pp, "flow_message_version"), []string{"3"}, v)
	}
	cta, e := reqString(params, pp, "flow_cta")
	if e != nil {
		return e
	}
	if runeLen(cta) > flowCTAMax {
		return tooLong(pathKey(pp, "flow_cta"), flowCTAMax)
	}
	_, hasID, e := optString(params, pp, "flow_id")
	if e != nil {
		return e
	}
	_, hasName, e := optString(params, pp, "flow_name")
	if e != nil {
		return e
	}
	if hasID == hasName {
		return invalid(fmt.Sprintf("Exactly one of %s and %s must be provided.", pathKey(pp, "flow_id"), pathKey(pp, "flow_name")))
	}
	for _, k := range []string{"flow_token", "mode", "flow_action"} {
		if _, _, e := optString(params, pp, k); e != nil {
			return e
		}
	}
	if m, ok, _ := optString(params, pp, "mode"); ok && m != "draft" && m != "published" {
		return badEnum(pathKey(pp, "mode"), []string{"draft", "published"}, m)
	}
	action, _, _ := optString(params, pp, "flow_action")
	switch action {
	case "", "navigate":
	case "data_exchange":
		if _, ok := params["flow_action_payload"]; ok {
			return invalid("Param " + pathKey(pp, "flow_action_payload") + " must be omitted when flow_action is data_exchange.")
		}
		return nil
	default:
		return badEnum(pathKey(pp, "flow_action"), []string{"navigate", "data_exchange"}, action)
	}
	if _, ok := params["flow_action_payload"]; !ok {
		return nil // Meta opens the Flow's first entry screen
	}
	payload, e := reqObject(params, pp, "flow_action_payload")
	if e != nil {
		return e
	}
	fp := pathKey(pp, "flow_action_payload")
	if _, e := reqString(payload, fp, "screen"); e != nil {
		return e
	}
	data, ok := payload["data"]
	if !ok {
		return nil
	}
	// Meta's page now asks for the object serialized as a string; the object itself was
	// its earlier form (docs/cloud-api.md#flow-messages).
	if str, isStr := data.(string); isStr {
		var obj map[string]any
		if json.Unmarshal([]byte(str), &obj) != nil {
			data = nil
		} else {
			data = obj
		}
	}
	if obj, isObj := data.(map[string]any); !isObj || len(obj) == 0 {
		return invalid("Param " + pathKey(fp, "data") + " must be a non-empty JSON object, serialized as a string.")
	}
	return nil
}

// customerRegion is the ISO region of a send's recipient, as Meta reads "to": E.164 with a
// "+", else with the sender's country code prepended ("1" for every sandbox number).
// Caller holds s.mu.
func (s *Sandbox) customerRegion(b map[string]any) string {
	to, _ := b["to"].(string)
	d := digitsOnly(to)
	if !strings.HasPrefix(strings.TrimSpace(to), "+") {
		d = s.st.phones[0].countryCode + d
	}
	n, err := phonenumbers.Parse("+"+d, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(n)
}

// addressCountries are where Meta offers address messages (docs/cloud-api.md#address-messages).
var addressCountries = []string{"IN"}

func checkAddressParams(region string, params map[string]any) *apiError {
	country, e := reqString(params, pp, "country")
	if e != nil {
		return e
	}
	if !slices.Contains(addressCountries, country) {
		// Meta's code for a country it does not offer is undocumented: the sandbox's 131009.
		return invalid(fmt.Sprintf("Param %s: address messages are only available in %s; got %q.",
			pathKey(pp, "country"), strings.Join(addressCountries, ", "), country))
	}
	if region != country {
		return invalid(fmt.Sprintf("The recipient's phone number is not from %s, the address message's country: Meta cannot request the address.", country))
	}
	if e := checkAddressValues(params, pp, "values"); e != nil {
		return e
	}
	if e := checkAddressValues(params, pp, "validation_errors"); e != nil {
		return e
	}
	v, ok := params["saved_addresses"]
	if !ok {
		return nil
	}
	sp := pathKey(pp, "saved_addresses")
	arr, ok := v.([]any)
	if !ok {
		return invalid("Param " + sp + " must be an array.")
	}
	ids := map[string]bool{}
	for i, x := range arr {
		p := pathIdx(sp, i)
		a, ok := x.(map[string]any)
		if !ok {
			return invalid("Param " + p + " must be a JSON object.")
		}
		id, e := reqString(a, p, "id")
		if e != nil {
			return e
		}
		if ids[id] {
			return invalid("Saved address ids must be unique: duplicate " + fmt.Sprintf("%q", id) + ".")
		}
		ids[id] = true
		if _, e := reqObject(a, p, "value"); e != nil {
			return e
		}
		if e := checkAddressValues(a, p, "value"); e != nil {
			return e
		}
	}
	return nil
}

// checkAddressValues checks an object of address fields and their texts.
func checkAddressValues(m map[string]any, path, key string) *apiError {
	if _, ok := m[key]; !ok {
		return nil
	}
	o, e := reqObject(m, path, key)
	if e != nil {
		return e
	}
	p := pathKey(path, key)
	for _, k := range slices.Sorted(maps.Keys(o)) {
		if !slices.Contains(addressFields, k) {
			return invalid(fmt.Sprintf("Param %s is not an address field; the fields are %s.", pathKey(p, k), strings.Join(addressFields, ", ")))
		}
		v, isStr := o[k].(string)
		if !isStr {
			return invalid("Param " + pathKey(p, k) + " must be a string.")
		}
		if k == "in_pin_code" && key != "validation_errors" && runeLen(v) > 6 {
			return tooLong(pathKey(p, k), 6)
		}
	}
	return nil
}
