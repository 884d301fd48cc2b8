package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

// inboundSandbox is a sandbox on loopback whose webhooks land in hooks, checked like Meta's.
type inboundSandbox struct {
	url string
	mu  sync.Mutex
	raw [][]byte
}

func newInboundSandbox(t *testing.T) *inboundSandbox {
	t.Helper()
	s := &inboundSandbox{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get(cloudapi.SignatureHeader) != cloudapi.SignWebhook(sandbox.DefaultAppSecret, b) {
			t.Errorf("webhook with a bad signature: %s", b)
		}
		s.mu.Lock()
		s.raw = append(s.raw, b)
		s.mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	sb := sandbox.New(sandbox.Config{WebhookURL: hook.URL})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { sb.Close() })
	s.url = srv.URL
	return s
}

// message returns the messages[] element whose id is id (Receive waits for its delivery).
func (s *inboundSandbox) message(t *testing.T, id string) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, raw := range s.raw {
		var p struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Messages []map[string]any `json:"messages"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(raw, &p)
		for _, e := range p.Entry {
			for _, c := range e.Changes {
				for _, m := range c.Value.Messages {
					if m["id"] == id {
						return m
					}
				}
			}
		}
	}
	t.Fatalf("no webhook carries %s", id)
	return nil
}

// graph calls the sandbox's Graph API and returns the JSON answer.
func (s *inboundSandbox) graph(t *testing.T, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.url+"/v25.0/"+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+sandbox.DefaultToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != 200 {
		t.Fatalf("POST %s: %d %v", path, res.StatusCode, out)
	}
	return out
}

func (s *inboundSandbox) send(t *testing.T, typ string, obj any) string {
	t.Helper()
	out := s.graph(t, sandbox.PhoneNumberID+"/messages", map[string]any{"messaging_product": "whatsapp", "to": "+16505551234", "type": typ, typ: obj})
	return out["messages"].([]any)[0].(map[string]any)["id"].(string)
}

// TestSandboxInboundCommand sends every type with `sandbox inbound` to a running sandbox
// and finds each in the webhook, in Meta's shape.
func TestSandboxInboundCommand(t *testing.T) {
	sb := newInboundSandbox(t)
	dir := t.TempDir()
	photo := filepath.Join(dir, "photo.png")
	os.WriteFile(photo, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...), 0o600)
	note := filepath.Join(dir, "note.ogg")
	os.WriteFile(note, []byte("OggS\x00\x02voice"), 0o600)
	inbound := func(t *testing.T, args ...string) (map[string]any, string) {
		t.Helper()
		code, out, errOut := runCmd(t, nil, "", append([]string{"sandbox", "inbound", "--url", sb.url, "--from", "+16505551234"}, args...)...)
		var res sandbox.InboundResult
		if code != 0 || json.Unmarshal([]byte(out), &res) != nil || !strings.HasPrefix(res.MessageID, "wamid.") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		return sb.message(t, res.MessageID), res.MediaID
	}

	first, _ := inbound(t, "--text", "Hi", "--name", "Zoë", "--phone-number-id", sandbox.PhoneNumberID)
	firstID := first["id"].(string)
	buttonsID := sb.send(t, "interactive", map[string]any{"type": "button", "body": map[string]any{"text": "Size?"},
		"action": map[string]any{"buttons": []any{map[string]any{"type": "reply", "reply": map[string]any{"id": "size-m", "title": "M"}}}}})
	listID := sb.send(t, "interactive", map[string]any{"type": "list", "body": map[string]any{"text": "Colour?"},
		"action": map[string]any{"button": "Pick", "sections": []any{map[string]any{"rows": []any{map[string]any{"id": "red", "title": "Red"}}}}}})
	sb.graph(t, sandbox.WABAID+"/message_templates", map[string]any{"name": "rate_us", "category": "MARKETING", "language": "en_US", "components": []any{
		map[string]any{"type": "BODY", "text": "Rate us?"},
		map[string]any{"type": "BUTTONS", "buttons": []any{map[string]any{"type": "QUICK_REPLY", "text": "Great"}}}}})
	templateID := sb.send(t, "template", map[string]any{"name": "rate_us", "language": map[string]any{"code": "en_US"}})
	flowID := sb.send(t, "interactive", map[string]any{"type": "flow", "body": map[string]any{"text": "Book a slot"},
		"action": map[string]any{"name": "flow", "parameters": map[string]any{"flow_message_version": "3", "flow_token": "tok-1",
			"flow_id": "1234567890", "flow_cta": "Book", "flow_action": "navigate", "flow_action_payload": map[string]any{"screen": "SLOT"}}}})
	askID := sb.send(t, "interactive", map[string]any{"type": "location_request_message", "body": map[string]any{"text": "Where are you?"},
		"action": map[string]any{"name": "send_location"}})

	for _, tc := range []struct {
		name  string
		args  []string
		typ   string
		check func(m map[string]any) bool
	}{
		{"text reply", []string{"--text", "And this?", "--reply-to", buttonsID}, "text",
			func(m map[string]any) bool { return m["context"].(map[string]any)["id"] == buttonsID }},
		{"image", []string{"--type", "image", "--file", photo, "--text", "Like this"}, "image",
			func(m map[string]any) bool { return m["image"].(map[string]any)["caption"] == "Like this" }},
		{"voice", []string{"--type", "voice", "--file", note}, "audio",
			func(m map[string]any) bool { return m["audio"].(map[string]any)["voice"] == true }},
		{"location", []string{"--type", "location", "--latitude", "37.48", "--longitude", "-122.15", "--location-name", "Shop"}, "location",
			func(m map[string]any) bool {
				l := m["location"].(map[string]any)
				return l["latitude"] == 37.48 && l["name"] == "Shop"
			}},
		{"contacts", []string{"--type", "contacts", "--contact-name", "Ana Lopez", "--contact-phone", "+16505559999"}, "contacts",
			func(m map[string]any) bool { return len(m["contacts"].([]any)) == 1 }},
		{"button_reply", []string{"--type", "button_reply", "--reply-to", buttonsID, "--button", "size-m"}, "interactive",
			func(m map[string]any) bool {
				return m["interactive"].(map[string]any)["button_reply"].(map[string]any)["title"] == "M"
			}},
		{"list_reply", []string{"--type", "list_reply", "--reply-to", listID, "--row", "red"}, "interactive",
			func(m map[string]any) bool { return m["interactive"].(map[string]any)["type"] == "list_reply" }},
		{"button", []string{"--type", "button", "--reply-to", templateID, "--button", "Great"}, "button",
			func(m map[string]any) bool { return m["button"].(map[string]any)["payload"] == "Great" }},
		{"nfm_reply", []string{"--type", "nfm_reply", "--reply-to", flowID, "--response-json", `{"slot":"9am"}`}, "interactive",
			func(m map[string]any) bool {
				n := m["interactive"].(map[string]any)["nfm_reply"].(map[string]any)
				var answers map[string]any
				_ = json.Unmarshal([]byte(n["response_json"].(string)), &answers)
				return n["name"] == "flow" && answers["slot"] == "9am" && answers["flow_token"] == "tok-1"
			}},
		{"location answer", []string{"--type", "location", "--reply-to", askID, "--latitude", "19.07", "--longitude", "72.87"}, "location",
			func(m map[string]any) bool { return m["context"].(map[string]any)["id"] == askID }},
		{"reaction", []string{"--type", "reaction", "--react-to", firstID, "--emoji", "🙏"}, "reaction",
			func(m map[string]any) bool { return m["reaction"].(map[string]any)["emoji"] == "🙏" }},
		{"order", []string{"--type", "order", "--product", "sku-1:2:9.99:eur", "--product", "sku-2"}, "order",
			func(m map[string]any) bool {
				items := m["order"].(map[string]any)["product_items"].([]any)
				it := items[0].(map[string]any)
				return len(items) == 2 && it["quantity"] == 2.0 && it["item_price"] == 9.99 && it["currency"] == "EUR"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, mediaID := inbound(t, tc.args...)
			if m["type"] != tc.typ || m["from"] != "16505551234" || !tc.check(m) {
				t.Errorf("webhook message %v", m)
			}
			if (mediaID != "") != (tc.typ == "image" || tc.typ == "audio") {
				t.Errorf("media id %q", mediaID)
			}
		})
	}

	// Refused by the sandbox (exit 1, its words) or before sending (exit 2).
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--type", "button_reply", "--reply-to", buttonsID, "--button", "size-xl"}, 1, `the sandbox refused the message: button "size-xl" was not offered`},
		{[]string{"--type", "list_reply", "--reply-to", "wamid.nope", "--row", "red"}, 1, "reply_to wamid.nope is not a message"},
		{[]string{"--type", "image"}, 2, "file is required for type image"},
		{[]string{"--type", "image", "--file", filepath.Join(dir, "missing.png")}, 2, "--file: open"},
		{[]string{"--type", "location", "--latitude", "north"}, 2, `"north" is not a number`},
		{[]string{"--type", "order", "--product", "sku:0"}, 2, "the quantity must be a whole number of at least 1"},
		{[]string{"--type", "reaction", "--react-to", firstID, "--emoji", "ok"}, 2, "emoji must be one emoji"},
		{[]string{"--type", "text", "--text", "hi", "--row", "red"}, 2, "row does not apply to type text"},
		{[]string{"--type", "nfm_reply", "--reply-to", buttonsID, "--response-json", `{"a":1}`}, 1, "the sandbox refused the message"},
		{[]string{"--type", "nfm_reply", "--reply-to", buttonsID, "--response-json", `{oops`}, 2, "is not JSON"},
	} {
		code, _, errOut := runCmd(t, nil, "", append([]string{"sandbox", "inbound", "--url", sb.url, "--from", "+16505551234"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("%v: exit %d %q, want %d saying %q", tc.args, code, errOut, tc.code, tc.stderr)
		}
	}

	code, out, _ := runCmd(t, nil, "", "sandbox", "inbound", "--help")
	for _, want := range []string{"button_reply", "--reply-to", "--react-to", "--emoji", "--file", "--product", "--latitude", "--contact-name"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--help lacks %s (exit %d)", want, code)
		}
	}
}

// TestSandboxBannerShowsInbound: the banner shows how to simulate each kind of customer
// message, and no secret.
func TestSandboxBannerShowsInbound(t *testing.T) {
	var buf bytes.Buffer
	printSandboxBanner(&buf, "http://127.0.0.1:8080/mcp", "http://127.0.0.1:9999", "http://127.0.0.1:8080", "v26.0")
	out := buf.String()
	for _, want := range []string{
		`sandbox inbound --url http://127.0.0.1:8080 --from +16505551234 --text "Hi"`,
		"--type", "image --file photo.jpg", "location --latitude", "reaction --react-to <wamid>", "button_reply --reply-to <wamid> --button <id>", "--row",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{sandbox.DefaultAppSecret, sandbox.DefaultVerifyToken} {
		if strings.Contains(out, secret) {
			t.Errorf("banner shows a secret")
		}
	}
	if n := strings.Count(out, "\n"); n > 20 {
		t.Errorf("banner of %d lines", n)
	}
}
