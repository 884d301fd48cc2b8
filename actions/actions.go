// Package actions declares the WHATSAPP_* actions of the catalog that call
// Meta, one file per API area: messages.go, media.go, templates.go,
// account.go, and conversations.go (mark as read, reactions).
// Each tool is one tools.Def value carrying its name, title, description,
// toolset, annotations, input type and handler.
package actions

import (
	"context"
	"errors"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// The toolsets of the actions (the catalog package describes them).
const (
	ToolsetMessages  = "messages"
	ToolsetMedia     = "media"
	ToolsetTemplates = "templates"
	ToolsetAccount   = "account"
	// ToolsetConversations is shared with the conversation tools that read
	// the store (package conversations).
	ToolsetConversations = conversations.Toolset
)

// Instruction hints (tools.Def.Hints): the rules several tools share are
// said once, in the server's instructions, instead of in every description
// (a client sends every description on every turn). Each is carried by the
// tools it explains, so the model reads it only while one of them is
// enabled; a hint naming a tool that is not enabled is left out, so the
// rules stand in hints that name none (hintWindow) and the pointers to
// other tools in hints of their own.
const (
	hintPhoneNumberID = "phone_number_id is the numeric id Meta assigned to a business number, not the phone number itself."
	hintPhoneNumbers  = "Get phone_number_id first: it is the `id` of a WHATSAPP_GET_PHONE_NUMBERS item."
	hintToNumber      = "to_number is the customer's number with its country code, e.g. +16505551234 (spaces, dashes, dots and parentheses are fine). A national number without it is refused with the form it probably meant, or converted with a warning if the operator allows national numbers; a number the metadata does not know is sent with a warning. A returned message_id means Meta accepted the message, not that it was delivered."
	hintWindow        = "The 24-hour window: free-form messages (text, media, location, contacts, interactive) reach a customer only within 24 hours of their last message to the business number. Outside it Meta still returns a message_id, but the message fails later with error 131047; only an APPROVED template gets through."
	hintTemplateSend  = "Outside the 24-hour window, or to write first, send an APPROVED template with WHATSAPP_SEND_TEMPLATE_MESSAGE."
	hintTemplateList  = "Find APPROVED templates, their language and {{variables}} with WHATSAPP_GET_MESSAGE_TEMPLATES; a new template must be approved by Meta before it can be sent."
	hintPaging        = "List tools return data as an array; when paging.cursors.after is present, pass it as `after` for the next page (absent: this is the last page)."
	hintMedia         = "Media: send a public URL with WHATSAPP_SEND_MEDIA, or upload with WHATSAPP_UPLOAD_MEDIA and send the returned id with WHATSAPP_SEND_MEDIA_BY_ID. Media URLs from WHATSAPP_GET_MEDIA expire after 5 minutes."
	// hintMediaLimits: docs/cloud-api.md#media-types-and-sizes.
	hintMediaLimits = "Media limits: image jpeg/png ≤5 MB; video mp4/3gpp ≤16 MB; audio aac/amr/mp3/m4a/ogg ≤16 MB; document pdf/txt/doc(x)/xls(x)/ppt(x) ≤100 MB; sticker webp ≤500 KB."
)

// Hints of the tools that send, by kind. onlyInWindow ends the description
// of a free-form send: the rule that bites, in brief (hintWindow says it).
var (
	phoneHints     = []string{hintPhoneNumberID, hintPhoneNumbers}
	freeFormHints  = []string{hintPhoneNumberID, hintPhoneNumbers, hintToNumber, hintWindow, hintTemplateSend}
	mediaSendHints = []string{hintPhoneNumberID, hintPhoneNumbers, hintToNumber, hintWindow, hintTemplateSend, hintMedia, hintMediaLimits}
	templateHints  = []string{hintPhoneNumberID, hintPhoneNumbers, hintToNumber, hintWindow, hintTemplateSend, hintTemplateList}
)

const onlyInWindow = " 24-hour window only."

// Window tells when a customer last wrote to a business number, from the
// webhook store. ok=false means the store never saw them write.
type Window interface {
	LastInbound(ctx context.Context, phoneNumberID, waID string) (t time.Time, ok bool, err error)
}

// Store is what the actions use of the webhook store (a store.Store has it
// all): the sends record what Meta accepted, so a conversation's history
// shows both sides; WHATSAPP_MARK_AS_READ keeps the inbox's unread counts;
// WHATSAPP_GET_TEMPLATE_STATUS reads the template status webhooks.
type Store interface {
	Save(ctx context.Context, b store.Batch) (newStatuses, newInbound int, err error)
	MarkRead(ctx context.Context, phoneNumberID, messageID string) (c store.Conversation, ok bool, err error)
	LatestChange(ctx context.Context, field, subject string) (c store.Change, ok bool, err error)
}

// Deps is what the actions need from the outside world.
type Deps struct {
	Graph *graph.Client
	// WABAID keys templates and the phone-number list; empty when not configured.
	WABAID string
	// AppID is the Meta app that owns resumable uploads (template media
	// headers); empty when not configured.
	AppID string
	// MediaDir is the only directory upload paths and downloads may touch; empty
	// disables both.
	MediaDir string
	// MaxDownload caps media returned inline as base64 (default 5 MiB).
	MaxDownload int64
	// ReadOnly is the server's --read-only: the tools it leaves enabled
	// (annotated read-only) then also refuse their inputs that would write,
	// such as WHATSAPP_GET_MEDIA's save_as, so a read-only server changes
	// nothing, here as at Meta.
	ReadOnly bool
	// Phones is how to_number is read: the region whose national numbers
	// are recognised, and whether they are converted or refused (the zero
	// value: US, refused).
	Phones tools.PhonePolicy
	// Window, when set, lets sends warn about the 24-hour window.
	Window Window
	// Store, when set, is the webhook store (see Store); without one,
	// nothing is recorded and the tools answer from Meta alone.
	Store Store
	// Now is the clock (tests).
	Now func() time.Time
	// BulkRate is the pace of a bulk send that names none, in messages per
	// second (0: package bulk's default, Meta's default throughput).
	BulkRate int
	// BulkWake, when set, wakes this process's bulk send worker once a job
	// is stored; without it the worker finds the job at its next poll.
	BulkWake func()
}

// Send sends m to r and records it once Meta accepted it, as every send
// tool does: the bulk send's way to Meta (package bulk).
func (d *Deps) Send(ctx context.Context, r Recipient, m *graph.Message) (*SendResult, error) {
	return d.dispatch(ctx, r, m, false)
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deps) maxDownload() int64 {
	if d.MaxDownload > 0 {
		return d.MaxDownload
	}
	return 5 << 20
}

// errNoWABA is returned by the tools keyed on the WhatsApp Business Account
// when none is configured.
var errNoWABA = errors.New("this tool needs the WhatsApp Business Account id, and none is configured: the operator must set WHATSAPP_WABA_ID (or --waba-id) to the WABA id shown in Meta's WhatsApp Manager (not the phone_number_id). Nothing was sent")

func (d *Deps) waba() (string, error) {
	if d.WABAID == "" {
		return "", errNoWABA
	}
	return d.WABAID, nil
}

// All returns the nineteen actions in catalog order.
func All(d *Deps) []tools.Tool {
	return []tools.Tool{
		createMessageTemplate(d),
		deleteMessageTemplate(d),
		getBusinessProfile(d),
		getMedia(d),
		getMediaInfo(d),
		getMessageTemplates(d),
		getPhoneNumber(d),
		getPhoneNumbers(d),
		getTemplateStatus(d),
		sendContacts(d),
		sendInteractiveButtons(d),
		sendInteractiveList(d),
		sendLocation(d),
		sendMedia(d),
		sendMediaByID(d),
		sendMessage(d),
		sendReply(d),
		sendTemplateMessage(d),
		uploadMedia(d),
	}
}

// ConversationActions returns the actions of the conversations toolset,
// in catalog order: they act at Meta on a conversation the webhook store
// keeps (package conversations serves the reading).
func ConversationActions(d *Deps) []tools.Tool {
	return []tools.Tool{
		markAsRead(d),
		sendReaction(d),
	}
}

// Annotation sets used across the catalog.
var (
	readOnly = tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: true}
	// A send reaches a person and cannot be undone, but it destroys nothing.
	send = tools.Annotations{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: true}
)
