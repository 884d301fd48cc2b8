// Package catalog is the product: which tools exist (the nineteen actions of
// the Cloud API, the interactive sends, the status, conversation and bulk
// tools), in which order, in which toolsets,
// and what the server tells a model about them. It is the one place that
// knows the whole list; cmd and schemas read it, and the server serves
// whatever []tools.Tool it is given.
package catalog

import (
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/bulk"
	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// About is what the server says of this catalog: its name at initialize,
// the opening of its instructions (the enabled tools' Hints follow), and
// the toolsets in their documented order, for the filters, the OpenAPI tags
// and the README.
var About = tools.About{
	Name: "whatsapp-mcp",
	API:  "WhatsApp",
	Instructions: "This server gives you the WhatsApp Business Cloud API (Meta) as tools. " +
		"Every tool returns {successful, data, error}: when successful is false, error says what went wrong and what to do; warnings carry advice that did not stop the action.",
	Toolsets:   toolsets,
	ToolPrefix: "WHATSAPP_",
}

var toolsets = []tools.Toolset{
	{Name: actions.ToolsetMessages, Description: "Send messages: text, replies, media, location, contacts, buttons, lists, choices, link buttons, Flows, location and address requests, templates."},
	{Name: actions.ToolsetMedia, Description: "Upload media and read media metadata, URLs and files."},
	{Name: actions.ToolsetTemplates, Description: "Create, list, inspect and delete message templates."},
	{Name: actions.ToolsetAccount, Description: "Read the business account: phone numbers and business profiles."},
	{Name: triggers.ToolsetStatus, Description: "Message delivery statuses (sent, delivered, read, failed) received from Meta's webhook."},
	{Name: conversations.Toolset, Description: "Two-way conversations: wait for customer messages, the inbox, history, search, mark as read, reactions."},
	{Name: bulk.Toolset, Description: "Send one template to up to 1,000 recipients as a durable, paced job, and follow its progress."},
}

// Tools assembles every tool of the product in catalog order: the
// actions, the status tools, the conversation tools, then the bulk sends.
// Every surface (MCP, REST, the `tools` command, schemas/, the README) is
// built from this one list. st may be nil (listing the catalog, stdio
// without a store): the tools that read the store then answer with their
// configuration error.
func Tools(d *actions.Deps, st store.Store) []tools.Tool {
	cat := append(actions.All(d), actions.InteractiveActions(d)...)
	cat = append(cat, triggers.Tools(st)...)
	cat = append(cat, triggers.InboundTools(st, d.Phones)...)
	cat = append(cat, conversations.Tools(st, d.Phones, d.Now)...)
	cat = append(cat, actions.ConversationActions(d)...)
	return append(cat, bulk.Tools(d, st)...)
}

// Resources are the MCP resources of the product: each conversation, read
// like WHATSAPP_GET_CONVERSATION and notified when it changes.
func Resources(st store.Store, now func() time.Time) []tools.ResourceTemplate {
	return conversations.Resources(st, now)
}

// Declarations is the catalog for reading, not calling (schemas/, the
// README, `whatsapp-mcp tools`): descriptions and schemas do not depend on
// configuration, so it is built with zero Deps and no store.
func Declarations() []tools.Tool {
	return Tools(&actions.Deps{}, nil)
}
