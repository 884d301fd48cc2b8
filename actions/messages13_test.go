package actions_test

import (
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// TestSendCompletedInputs records the request of each input issue 13 adds
// to the existing sends (voice notes, documents by link with a filename,
// replies on every send, media headers on reply buttons) against the shape
// of Meta's examples (docs/cloud-api.md#voice-messages,
// docs/cloud-api.md#interactive-media-headers).
func TestSendCompletedInputs(t *testing.T) {
	ctx := `"context":{"message_id":"` + wamid + `"},`
	btns := `"buttons":[{"id":"change-button","title":"Change"},{"id":"cancel-button","title":"Cancel"}]`
	btnAction := `"action":{"buttons":[{"type":"reply","reply":{"id":"change-button","title":"Change"}},{"type":"reply","reply":{"id":"cancel-button","title":"Cancel"}}]}`
	tests := []struct {
		name, tool, args, body string
		warning                string // a phrase of the one warning expected; "" for none
	}{
		{
			name: "voice note by id, Meta's example", tool: "WHATSAPP_SEND_MEDIA_BY_ID",
			args: `{` + recipient + `,"media_type":"audio","media_id":"1013859600285441","voice":true}`,
			body: envelopeBody(`"type":"audio","audio":{"id":"1013859600285441","voice":true}`),
		},
		{
			name: "voice note by link to an .ogg file, with reply", tool: "WHATSAPP_SEND_MEDIA",
			args: `{` + recipient + `,"media_type":"audio","link":"https://www.luckyshrub.com/media/voice/Hello.OGG?v=2","voice":true,"reply_to_message_id":"` + wamid + `"}`,
			body: envelopeBody(ctx + `"type":"audio","audio":{"link":"https://www.luckyshrub.com/media/voice/Hello.OGG?v=2","voice":true}`),
		},
		{
			name: "voice note by link without an extension: nothing to judge", tool: "WHATSAPP_SEND_MEDIA",
			args: `{` + recipient + `,"media_type":"audio","link":"https://cdn.example.com/voice/8f3a","voice":true}`,
			body: envelopeBody(`"type":"audio","audio":{"link":"https://cdn.example.com/voice/8f3a","voice":true}`),
		},
		{
			name: "voice note by link to an .mp3: sent, with a warning", tool: "WHATSAPP_SEND_MEDIA",
			args:    `{` + recipient + `,"media_type":"audio","link":"https://www.luckyshrub.com/media/ringtones/wind-chime.mp3","voice":true}`,
			body:    envelopeBody(`"type":"audio","audio":{"link":"https://www.luckyshrub.com/media/ringtones/wind-chime.mp3","voice":true}`),
			warning: `".mp3" file, but a voice note must be an .ogg file with the Opus codec`,
		},
		{
			name: "basic audio by link: voice:false is left out", tool: "WHATSAPP_SEND_MEDIA",
			args: `{` + recipient + `,"media_type":"audio","link":"https://www.luckyshrub.com/media/ringtones/wind-chime.mp3","voice":false}`,
			body: envelopeBody(`"type":"audio","audio":{"link":"https://www.luckyshrub.com/media/ringtones/wind-chime.mp3"}`),
		},
		{
			name: "document by link with caption and filename, Meta's example values", tool: "WHATSAPP_SEND_MEDIA",
			args: `{` + recipient + `,"media_type":"document","link":"https://www.luckyshrub.com/invoices/FmOzfD9cKf/lucky-shrub-invoice.pdf","caption":"Lucky Shrub Invoice","filename":"lucky-shrub-invoice.pdf"}`,
			body: envelopeBody(`"type":"document","document":{"link":"https://www.luckyshrub.com/invoices/FmOzfD9cKf/lucky-shrub-invoice.pdf","caption":"Lucky Shrub Invoice","filename":"lucky-shrub-invoice.pdf"}`),
		},
		{
			name: "image by link as a reply", tool: "WHATSAPP_SEND_MEDIA",
			args: `{` + recipient + `,"media_type":"image","link":"https://example.com/aloe.png","reply_to_message_id":"` + wamid + `"}`,
			body: envelopeBody(ctx + `"type":"image","image":{"link":"https://example.com/aloe.png"}`),
		},
		{
			name: "location as a reply", tool: "WHATSAPP_SEND_LOCATION",
			args: `{` + recipient + `,"name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301","latitude":"37.44216251868683","longitude":"-122.16153582049394","reply_to_message_id":"` + wamid + `"}`,
			body: envelopeBody(ctx + `"type":"location","location":{"latitude":"37.44216251868683","longitude":"-122.16153582049394","name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301"}`),
		},
		{
			name: "contacts as a reply", tool: "WHATSAPP_SEND_CONTACTS",
			args: `{` + recipient + `,"reply_to_message_id":"` + wamid + `","contacts":[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara"},"phones":[{"phone":"+19175559999","wa_id":"19175559999","type":"MOBILE"}]}]}`,
			body: envelopeBody(ctx + `"type":"contacts","contacts":[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara"},"phones":[{"phone":"+19175559999","wa_id":"19175559999","type":"MOBILE"}]}]`),
		},
		{
			name: "buttons with an image header by link", tool: "WHATSAPP_SEND_INTERACTIVE_BUTTONS",
			args: `{` + recipient + `,"body_text":"Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow.","footer_text":"Lucky Shrub: Your gateway to succulents!",` +
				`"header_media":{"type":"image","link":"https://www.luckyshrub.com/assets/workshop.png"},` + btns + `}`,
			body: envelopeBody(`"type":"interactive","interactive":{"type":"button","header":{"type":"image","image":{"link":"https://www.luckyshrub.com/assets/workshop.png"}},` +
				`"body":{"text":"Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow."},"footer":{"text":"Lucky Shrub: Your gateway to succulents!"},` + btnAction + `}`),
		},
		{
			name: "buttons with a video header by id, as a reply", tool: "WHATSAPP_SEND_INTERACTIVE_BUTTONS",
			args: `{` + recipient + `,"body_text":"Watch, then pick.","reply_to_message_id":"` + wamid + `","header_media":{"type":"video","id":"1013859600285441"},` + btns + `}`,
			body: envelopeBody(ctx + `"type":"interactive","interactive":{"type":"button","header":{"type":"video","video":{"id":"1013859600285441"}},"body":{"text":"Watch, then pick."},` + btnAction + `}`),
		},
		{
			name: "buttons with a document header by link with filename", tool: "WHATSAPP_SEND_INTERACTIVE_BUTTONS",
			args: `{` + recipient + `,"body_text":"Your invoice.","header_media":{"type":"document","link":"https://www.luckyshrub.com/invoices/FmOzfD9cKf/lucky-shrub-invoice.pdf","filename":"lucky-shrub-invoice.pdf"},` + btns + `}`,
			body: envelopeBody(`"type":"interactive","interactive":{"type":"button","header":{"type":"document","document":{"link":"https://www.luckyshrub.com/invoices/FmOzfD9cKf/lucky-shrub-invoice.pdf","filename":"lucky-shrub-invoice.pdf"}},"body":{"text":"Your invoice."},` + btnAction + `}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, res := callOK(t, tt.tool, tt.args)
			graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{{Method: "POST", Path: sendPath, Body: tt.body}})
			if tt.warning == "" {
				if len(res.Warnings) != 0 {
					t.Errorf("warnings %v, want none", res.Warnings)
				}
				return
			}
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], tt.warning) {
				t.Errorf("warnings %q, want one with %q", res.Warnings, tt.warning)
			}
		})
	}
}

// TestSendCompletedInputsInvalid: every broken rule of the new inputs is
// named with its rule, all at once, and nothing reaches Meta.
func TestSendCompletedInputsInvalid(t *testing.T) {
	const (
		media = "WHATSAPP_SEND_MEDIA"
		byID  = "WHATSAPP_SEND_MEDIA_BY_ID"
		btn   = "WHATSAPP_SEND_INTERACTIVE_BUTTONS"
	)
	hm := func(v string) any { return raw(v) }
	tests := []struct {
		name, tool, args string
		want             map[string]string // field → a phrase of its rule
	}{
		{name: "filename on an image link", tool: media, args: merge(bases[media], "filename", "a.png"),
			want: map[string]string{"filename": "only allowed for document media, not \"image\""}},
		{name: "voice on a video link", tool: media, args: merge(bases[media], "media_type", "video", "voice", true),
			want: map[string]string{"voice": "only allowed for audio media, not \"video\""}},
		{name: "voice on an uploaded image", tool: byID, args: merge(bases[byID], "voice", true),
			want: map[string]string{"voice": "only allowed for audio media, not \"image\""}},
		{name: "sticker with caption, filename and voice: all three named", tool: media,
			args: merge(bases[media], "media_type", "sticker", "caption", "hi", "filename", "s.webp", "voice", true),
			want: map[string]string{"caption": "only allowed for image, video and document", "filename": "only allowed for document", "voice": "only allowed for audio"}},
		{name: "filename too long", tool: media, args: merge(bases[media], "media_type", "document", "filename", strings.Repeat("a", 241)),
			want: map[string]string{"filename": "at most 240 characters"}},
		{name: "voice not a boolean", tool: media, args: merge(bases[media], "media_type", "audio", "voice", "yes"),
			want: map[string]string{"voice": ""}},
		{name: "blank reply id on media", tool: media, args: merge(bases[media], "reply_to_message_id", "   "),
			want: map[string]string{"reply_to_message_id": "is required"}},
		{name: "blank reply id on location", tool: "WHATSAPP_SEND_LOCATION", args: merge(bases["WHATSAPP_SEND_LOCATION"], "reply_to_message_id", " "),
			want: map[string]string{"reply_to_message_id": "is required"}},
		{name: "reply id too long on contacts", tool: "WHATSAPP_SEND_CONTACTS", args: merge(bases["WHATSAPP_SEND_CONTACTS"], "reply_to_message_id", strings.Repeat("w", 513)),
			want: map[string]string{"reply_to_message_id": "at most 512 characters"}},
		{name: "header_media with header_text", tool: btn,
			args: merge(bases[btn], "header_text", "Hi", "header_media", hm(`{"type":"image","link":"https://example.com/a.png"}`)),
			want: map[string]string{"header_media": "must not be set with header_text"}},
		{name: "header_media without link or id", tool: btn, args: merge(bases[btn], "header_media", hm(`{"type":"image"}`)),
			want: map[string]string{"header_media": "needs exactly one of link and id"}},
		{name: "header_media with link and id", tool: btn, args: merge(bases[btn], "header_media", hm(`{"type":"video","link":"https://example.com/v.mp4","id":"1013859600285441"}`)),
			want: map[string]string{"header_media": "needs exactly one of link and id"}},
		{name: "header_media filename on an image", tool: btn, args: merge(bases[btn], "header_media", hm(`{"type":"image","id":"1013859600285441","filename":"a.png"}`)),
			want: map[string]string{"header_media.filename": "only allowed for a document header, not \"image\""}},
		{name: "header_media of a type Meta refuses, a bad link and id", tool: btn,
			args: merge(bases[btn], "header_media", hm(`{"type":"audio","link":"ftp://example.com/a","id":"abc"}`)),
			want: map[string]string{"header_media.type": "must be one of: image, video, document", "header_media.link": "absolute http(s) URL", "header_media.id": "numeric Meta id"}},
		{name: "header_media without type", tool: btn, args: merge(bases[btn], "header_media", hm(`{"link":"https://example.com/a.png"}`)),
			want: map[string]string{"header_media.type": "is required"}},
		{name: "header_media unknown field", tool: btn, args: merge(bases[btn], "header_media", hm(`{"type":"image","link":"https://example.com/a.png","caption":"x"}`)),
			want: map[string]string{"header_media.caption": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			res := call(t, newDeps(t, f), tt.tool, tt.args)
			for field, rule := range tt.want {
				checkInvalid(t, res, f, field, rule)
			}
		})
	}
}
