package sandbox_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

var pngFile = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)

func card(handle string, withBody bool, buttons ...any) m {
	comps := []any{m{"type": "HEADER", "format": "IMAGE", "example": m{"header_handle": []any{handle}}}}
	if withBody {
		comps = append(comps, m{"type": "BODY", "text": "Rare lemons, code {{1}} today.", "example": m{"body_text": []any{[]any{"15OFF"}}}})
	}
	return m{"components": append(comps, m{"type": "BUTTONS", "buttons": buttons})}
}

func carousel(cards ...any) m {
	return m{"name": "summer_carousel", "category": "MARKETING", "language": "en_US", "components": []any{
		m{"type": "BODY", "text": "Summer is here, use code {{1}} today.", "example": m{"body_text": []any{[]any{"15OFF"}}}},
		m{"type": "CAROUSEL", "cards": cards}}}
}

func authTemplate(button m, extra ...any) m {
	comps := append([]any{m{"type": "BODY", "add_security_recommendation": true}}, extra...)
	return m{"name": "login_code", "category": "AUTHENTICATION", "language": "en_US",
		"components": append(comps, m{"type": "BUTTONS", "buttons": []any{button}})}
}

// TestTemplateCreateCarouselAndAuthentication: Meta's carousel and
// authentication rules, and media headers whose handles must be ones the
// sandbox's resumable uploads issued.
func TestTemplateCreateCarouselAndAuthentication(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	h := e.uploadHandle(t, "image/png", pngFile)
	pdf := e.uploadHandle(t, "application/pdf", []byte("%PDF-1.4"))
	qr := m{"type": "QUICK_REPLY", "text": "More"}
	url := m{"type": "URL", "text": "Shop", "url": "https://x.example/{{1}}", "example": []any{"a"}}
	apps := []any{m{"package_name": "com.example.app", "signature_hash": "K8a/AINcGX7"}}
	ok := []struct {
		name string
		body m
	}{
		{"carousel of two", carousel(card(h, true, qr, url), card(h, true, qr, url))},
		{"authentication, copy code", authTemplate(m{"type": "OTP", "otp_type": "COPY_CODE"}, m{"type": "FOOTER", "code_expiration_minutes": 10})},
		{"authentication, one tap", authTemplate(m{"type": "OTP", "otp_type": "ONE_TAP", "autofill_text": "Autofill", "supported_apps": apps})},
		{"authentication, zero tap", authTemplate(m{"type": "OTP", "otp_type": "zero_tap", "zero_tap_terms_accepted": true, "supported_apps": apps})},
		{"image header with an issued handle", m{"name": "menu", "category": "MARKETING", "language": "en_US", "components": []any{
			m{"type": "HEADER", "format": "IMAGE", "example": m{"header_handle": []any{h}}}, m{"type": "BODY", "text": "New menu"}}}},
	}
	for i, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			tc.body["language"] = []string{"en_US", "en_GB", "es_MX", "pt_BR", "de"}[i]
			if r := e.do(t, http.MethodPost, tplPath, tc.body); r.status != 200 {
				t.Fatalf("HTTP %d %s", r.status, r.raw)
			}
		})
	}
	bad := []struct {
		name          string
		body          m
		subcode       int
		userMsgSubstr string
	}{
		{"carousel of one", carousel(card(h, true, qr)), 0, "2 to 10"},
		{"carousel not marketing", func() m { b := carousel(card(h, true, qr), card(h, true, qr)); b["category"] = "UTILITY"; return b }(), 0, "MARKETING"},
		{"cards not alike", carousel(card(h, true, qr), card(h, false, qr)), 0, "same components"},
		{"card with three buttons", carousel(card(h, false, qr, qr, qr), card(h, false, qr, qr, qr)), 0, "1 or 2"},
		{"card with a copy-code button", carousel(card(h, false, m{"type": "COPY_CODE", "example": "X"}), card(h, false, m{"type": "COPY_CODE", "example": "X"})), 0, "QUICK_REPLY"},
		{"card handle never issued", carousel(card("4::forged", false, qr), card("4::forged", false, qr)), 0, "Resumable Upload"},
		{"image header with a PDF handle", m{"name": "menu_pdf", "category": "MARKETING", "language": "en_US", "components": []any{
			m{"type": "HEADER", "format": "IMAGE", "example": m{"header_handle": []any{pdf}}}, m{"type": "BODY", "text": "New menu"}}}, 2388047, "application/pdf"},
		{"authentication with a header", authTemplate(m{"type": "OTP", "otp_type": "COPY_CODE"}, m{"type": "HEADER", "format": "TEXT", "text": "Hi"}), 2388047, "header"},
		{"authentication body text", func() m {
			b := authTemplate(m{"type": "OTP", "otp_type": "COPY_CODE"})
			b["components"].([]any)[0].(m)["text"] = "Your code is {{1}}."
			return b
		}(), 2388072, "fixed text"},
		{"expiry of 91 minutes", authTemplate(m{"type": "OTP", "otp_type": "COPY_CODE"}, m{"type": "FOOTER", "code_expiration_minutes": 91}), 2388073, "1 to 90"},
		{"one tap without apps", authTemplate(m{"type": "OTP", "otp_type": "ONE_TAP"}), 0, "supported_apps"},
		{"zero tap without the terms", authTemplate(m{"type": "OTP", "otp_type": "ZERO_TAP", "supported_apps": apps}), 0, "zero_tap_terms_accepted"},
		{"short signature hash", authTemplate(m{"type": "OTP", "otp_type": "ONE_TAP", "supported_apps": []any{m{"package_name": "com.example.app", "signature_hash": "abc"}}}), 0, "11"},
		{"authentication with a quick reply", authTemplate(qr), 0, "OTP"},
		{"OTP in a marketing template", m{"name": "promo_otp", "category": "MARKETING", "language": "en_US", "components": []any{
			m{"type": "BODY", "text": "Hello there"}, m{"type": "BUTTONS", "buttons": []any{m{"type": "OTP", "otp_type": "COPY_CODE"}}}}}, 0, "OTP"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, tplPath, tc.body)
			wantError(t, r, 400, 100, tc.subcode)
			if um, _ := r.errField("error_user_msg").(string); !strings.Contains(um, tc.userMsgSubstr) {
				t.Errorf("error_user_msg %q lacks %q", um, tc.userMsgSubstr)
			}
		})
	}
	t.Run("otp_type unknown", func(t *testing.T) {
		wantError(t, e.do(t, http.MethodPost, tplPath, authTemplate(m{"type": "OTP", "otp_type": "TWO_TAP"})), 400, 100, 0)
	})
}

// approved creates a template in the sandbox (approved at once) and fails the test otherwise.
func (e *env) approved(t *testing.T, body m) {
	t.Helper()
	if r := e.do(t, http.MethodPost, tplPath, body); r.status != 200 {
		t.Fatalf("create %v: HTTP %d %s", body["name"], r.status, r.raw)
	}
}

func param(typ string, kv ...any) m {
	p := m{"type": typ}
	for i := 0; i < len(kv); i += 2 {
		p[kv[i].(string)] = kv[i+1]
	}
	return p
}

func comp(typ string, params ...any) m { return m{"type": typ, "parameters": params} }

func button(sub string, index any, params ...any) m {
	return m{"type": "button", "sub_type": sub, "index": index, "parameters": params}
}

// TestTemplateSendParameterTypes: each parameter type Meta takes, checked
// against the stored template the way Meta checks it.
func TestTemplateSendParameterTypes(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	h := e.uploadHandle(t, "image/png", pngFile)
	body := m{"type": "BODY", "text": "Hello {{1}}, see you."}
	e.approved(t, m{"name": "coupon", "category": "MARKETING", "language": "en_US", "components": []any{body,
		m{"type": "BUTTONS", "buttons": []any{m{"type": "COPY_CODE", "example": "25OFF"}, m{"type": "FLOW", "text": "Book", "flow_id": "123"}}}}})
	e.approved(t, m{"name": "pickup", "category": "UTILITY", "language": "en_US", "components": []any{m{"type": "HEADER", "format": "LOCATION"}, body}})
	e.approved(t, m{"name": "offer", "category": "MARKETING", "language": "en_US", "components": []any{body,
		m{"type": "LIMITED_TIME_OFFER", "limited_time_offer": m{"text": "Ends soon", "has_expiration": true}},
		m{"type": "BUTTONS", "buttons": []any{m{"type": "COPY_CODE", "example": "25OFF"}, m{"type": "URL", "text": "Shop", "url": "https://x.example/{{1}}", "example": []any{"a"}}}}}})
	qr := m{"type": "QUICK_REPLY", "text": "More"}
	e.approved(t, carousel(card(h, true, qr), card(h, true, qr)))
	e.get(t, v+"/"+sandbox.WABAID) // the next request sees them approved

	name := comp("body", param("text", "text", "Ana"))
	future := time.Now().Add(48 * time.Hour).UnixMilli()
	cardSend := func(i any, hdr string) m {
		return m{"card_index": i, "components": []any{comp("header", param(hdr, hdr, m{"id": "1013859600285441"})),
			comp("body", param("text", "text", "10OFF")), button("quick_reply", "0", param("payload", "payload", "p"))}}
	}
	carouselSend := func(cards ...any) m {
		return tmpl(customer, "summer_carousel", "en_US", comp("body", param("text", "text", "20OFF")), m{"type": "carousel", "cards": cards})
	}
	coupon := button("copy_code", 0, param("coupon_code", "coupon_code", "25OFF"))
	flow := button("flow", "1", param("action", "action", m{"flow_token": "t", "flow_action_data": m{"a": 1}}))
	location := comp("header", param("location", "location", m{"latitude": "37.48", "longitude": "-122.14", "name": "Lucky Shrub"}))
	offer := comp("limited_time_offer", param("limited_time_offer", "limited_time_offer", m{"expiration_time_ms": future}))
	url := button("url", 1, param("text", "text", "a"))

	for _, tc := range []struct {
		name       string
		send       m
		code       int
		detailHas  string
		successful bool
	}{
		{"coupon and flow", tmpl(customer, "coupon", "en_US", name, coupon, flow), 0, "", true},
		{"flow button without its action", tmpl(customer, "coupon", "en_US", name, coupon), 0, "", true},
		{"copy code without a coupon", tmpl(customer, "coupon", "en_US", name, flow), 132000, "index 0", false},
		{"copy code with a text", tmpl(customer, "coupon", "en_US", name, button("copy_code", 0, param("text", "text", "25OFF")), flow), 132012, "coupon_code", false},
		{"coupon longer than 20", tmpl(customer, "coupon", "en_US", name, button("copy_code", 0, param("coupon_code", "coupon_code", strings.Repeat("C", 21)))), 131009, "20", false},
		{"flow button with a text", tmpl(customer, "coupon", "en_US", name, coupon, button("flow", 1, param("text", "text", "x"))), 132012, "action", false},
		{"location header", tmpl(customer, "pickup", "en_US", location, name), 0, "", true},
		{"location header with an image", tmpl(customer, "pickup", "en_US", comp("header", param("image", "image", m{"id": "1"})), name), 132012, "location", false},
		{"location without coordinates", tmpl(customer, "pickup", "en_US", comp("header", param("location", "location", m{"name": "x"})), name), 100, "latitude", false},
		{"location in the body", tmpl(customer, "coupon", "en_US", comp("body", param("location", "location", m{"latitude": "1", "longitude": "2"})), coupon), 132012, "location", false},
		{"location for a template without one", tmpl(customer, "coupon", "en_US", location, name, coupon), 132000, "header", false},
		{"offer", tmpl(customer, "offer", "en_US", name, offer, coupon, url), 0, "", true},
		{"offer expired", tmpl(customer, "offer", "en_US", name,
			comp("limited_time_offer", param("limited_time_offer", "limited_time_offer", m{"expiration_time_ms": 1000})), coupon, url), 131009, "future", false},
		{"offer missing", tmpl(customer, "offer", "en_US", name, coupon, url), 132000, "limited_time_offer", false},
		{"offer for a template without one", tmpl(customer, "coupon", "en_US", name, coupon, offer), 132000, "limited_time_offer", false},
		{"carousel", carouselSend(cardSend(0, "image"), cardSend("1", "image")), 0, "", true},
		{"carousel short of a card", carouselSend(cardSend(0, "image")), 132012, "2 cards", false},
		{"carousel card twice", carouselSend(cardSend(0, "image"), cardSend(0, "image")), 131009, "card_index", false},
		{"carousel card with a video header", carouselSend(cardSend(0, "image"), cardSend(1, "video")), 132012, "image", false},
		{"carousel for a template without one", tmpl(customer, "coupon", "en_US", name, coupon, m{"type": "carousel", "cards": []any{cardSend(0, "image")}}), 132000, "carousel", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send(t, tc.send)
			if tc.successful {
				if r.status != 200 {
					t.Fatalf("HTTP %d %s", r.status, r.raw)
				}
				return
			}
			c, _, _ := r.errCode()
			if r.status == 200 || c != tc.code || !strings.Contains(string(r.raw), tc.detailHas) {
				t.Errorf("HTTP %d code %d: %s; want code %d mentioning %q", r.status, c, r.raw, tc.code, tc.detailHas)
			}
		})
	}
}
