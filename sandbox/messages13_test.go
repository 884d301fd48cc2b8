package sandbox_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

// TestSendCompletedChecks: Meta's checks of what the completed sends use
// (docs/cloud-api.md#voice-messages, docs/cloud-api.md#interactive-media-headers):
// voice only on audio, filename only on documents (messages and headers),
// media headers naming exactly one of id and link, context.message_id on
// every type. Nothing refused is recorded as sent.
func TestSendCompletedChecks(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	withCtx := func(b m, ctx any) m { b["context"] = ctx; return b }
	hdr := func(h m) m { return buttonMsg(buttons(1, nil), m{"header": h}) }
	cases := []struct {
		name         string
		body         m
		status, code int
		details      string
	}{
		{"voice on image", msg("image", m{"link": "https://x.example/a.png", "voice": true}), 400, 131009, "image['voice']"},
		{"voice on video", msg("video", m{"link": "https://x.example/a.mp4", "voice": false}), 400, 131009, "only supported for audio"},
		{"voice not a boolean", msg("audio", m{"link": "https://x.example/a.ogg", "voice": "true"}), 400, 131009, "must be a boolean"},
		{"filename on audio", msg("audio", m{"link": "https://x.example/a.ogg", "filename": "a.ogg"}), 400, 131009, "audio['filename']"},
		{"filename not a string", msg("document", m{"link": "https://x.example/a.pdf", "filename": m{}}), 400, 131009, "document['filename'] must be a string"},
		{"image header with filename", hdr(m{"type": "image", "image": m{"link": "https://x.example/a.png", "filename": "a.png"}}), 400, 131009, "interactive['header']['image']['filename']"},
		{"document header filename not a string", hdr(m{"type": "document", "document": m{"link": "https://x.example/a.pdf", "filename": []any{}}}), 400, 131009, "must be a string"},
		{"video header without id or link", hdr(m{"type": "video", "video": m{}}), 400, 131009, "Exactly one of interactive['header']['video']['id']"},
		{"document header with id and link", hdr(m{"type": "document", "document": m{"id": "1", "link": "https://x.example/a.pdf"}}), 400, 131009, "Exactly one"},
		{"image header relative link", hdr(m{"type": "image", "image": m{"link": "/a.png"}}), 400, 131009, "absolute http(s) URL"},
		{"image header caption", hdr(m{"type": "image", "image": m{"link": "https://x.example/a.png", "caption": "c"}}), 400, 131009, "not supported in interactive headers"},
		{"media header object missing", hdr(m{"type": "document"}), 400, 100, "interactive['header']['document']"},
		{"audio header", hdr(m{"type": "audio", "audio": m{"link": "https://x.example/a.ogg"}}), 400, 100, ""},
		{"context blank on media", withCtx(msg("document", m{"link": "https://x.example/a.pdf"}), m{"message_id": ""}), 400, 100, "context['message_id']"},
		{"context without id on location", withCtx(msg("location", m{"latitude": "1", "longitude": "2"}), m{}), 400, 100, "context['message_id']"},
		{"context not an object on contacts", withCtx(msg("contacts", []any{m{"name": m{"formatted_name": "A"}}}), "wamid.X"), 400, 131009, "context"},
		{"context id not a string on buttons", withCtx(buttonMsg(buttons(1, nil), nil), m{"message_id": []any{}}), 400, 131009, "context['message_id']"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send(t, tc.body)
			wantError(t, r, tc.status, tc.code, 0)
			ed, _ := r.errField("error_data").(map[string]any)
			if d, _ := ed["details"].(string); !strings.Contains(d, tc.details) {
				t.Errorf("details %q lack %q", d, tc.details)
			}
		})
	}
	if n := len(e.sb.SentMessages()); n != 0 {
		t.Errorf("%d messages recorded by refused sends", n)
	}
}

// TestSendCompletedAccepted: the requests the completed tools send are
// accepted and recorded byte for byte, each type as a reply.
func TestSendCompletedAccepted(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	if _, err := e.sb.Inbound(context.Background(), "", customer, "Ana", "hi"); err != nil {
		t.Fatal(err)
	}
	up := e.upload(t, sandbox.PhoneNumberID, map[string]string{"messaging_product": "whatsapp", "type": "audio/ogg"}, &filePart{"note.ogg", "audio/ogg", oggBytes})
	audioID, _ := up.body["id"].(string)
	if up.status != 200 || audioID == "" {
		t.Fatalf("upload %d: %s", up.status, up.raw)
	}
	reply := func(b m) m { b["context"] = m{"message_id": "wamid.X"}; return b }
	cases := []struct {
		name string
		body m
	}{
		{"voice note by id", reply(msg("audio", m{"id": audioID, "voice": true}))},
		{"voice note by link", reply(msg("audio", m{"link": "https://x.example/note.ogg", "voice": true}))},
		{"voice false on audio", msg("audio", m{"link": "https://x.example/song.mp3", "voice": false})},
		{"document by link with filename", reply(msg("document", m{"link": "https://x.example/i.pdf", "caption": "Invoice", "filename": "lucky-shrub-invoice.pdf"}))},
		{"location reply", reply(msg("location", m{"latitude": "37.44", "longitude": "-122.16", "name": "Philz", "address": "101 Forest Ave"}))},
		{"contacts reply", reply(msg("contacts", []any{m{"name": m{"formatted_name": "Ana", "first_name": "Ana"}}}))},
		{"buttons video header by id", reply(buttonMsg(buttons(2, nil), m{"header": m{"type": "video", "video": m{"id": audioID}}}))},
		{"buttons document header with filename", buttonMsg(buttons(3, nil), m{"header": m{"type": "document", "document": m{"link": "https://x.example/i.pdf", "filename": "i.pdf"}}})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.send(t, tc.body); r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
		})
	}
	if n := len(e.sb.SentMessages()); n != len(cases) {
		t.Errorf("SentMessages = %d, want %d", n, len(cases))
	}
}

// TestVoiceNotePlayed: a voice note gets Meta's "played" status after read
// (docs/cloud-api.md#voice-messages); a basic audio does not.
func TestVoiceNotePlayed(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	if _, err := e.sb.Inbound(context.Background(), sandbox.PhoneNumberID, customer, "Ana", "Send me a voice note"); err != nil {
		t.Fatal(err)
	}
	voice := e.send(t, msg("audio", m{"link": "https://x.example/note.ogg", "voice": true})).messageID(t)
	basic := e.send(t, msg("audio", m{"link": "https://x.example/song.mp3"})).messageID(t)
	waitFor(t, "4 statuses of the voice note", func() bool { return len(e.rcv.statusesOf(voice)) == 4 })
	waitFor(t, "3 statuses of the basic audio", func() bool { return len(e.rcv.statusesOf(basic)) == 3 })
	var got []string
	for _, s := range e.rcv.statusesOf(voice) {
		got = append(got, s.Status)
		if s.Status == "played" && (s.Pricing != nil || s.RecipientID != waID) {
			t.Errorf("played status %+v", s)
		}
	}
	if want := []string{"sent", "delivered", "read", "played"}; !slices.Equal(got, want) {
		t.Errorf("voice note statuses %v, want %v", got, want)
	}
	for _, s := range e.rcv.statusesOf(basic) {
		if s.Status == "played" {
			t.Errorf("basic audio got a played status")
		}
	}
}
