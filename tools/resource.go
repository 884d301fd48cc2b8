package tools

import "context"

// ResourceTemplate declares a family of MCP resources (resources/templates/list
// and resources/read), such as one conversation per customer. Like a Tool it
// knows nothing of the surface: the server registers it and tells the
// sessions subscribed to a URI when it changes.
type ResourceTemplate struct {
	// URITemplate is the RFC 6570 template, e.g.
	// "whatsapp://{phone_number_id}/conversations/{wa_id}".
	URITemplate string
	Name        string
	Title       string
	Description string
	MIMEType    string // of what Read returns; "application/json" when empty
	// Toolset is the toolset whose tools the resource mirrors: the
	// resource is served only while that toolset is enabled.
	Toolset string
	// Read answers resources/read for a URI that matches URITemplate; vars
	// holds the template's variables as the URI spelled them. The value is
	// sent as JSON text. An error is a client's error (unknown resource,
	// bad variables) unless it wraps a server failure.
	Read func(ctx context.Context, uri string, vars map[string]string) (any, error)
	// List, when set, names concrete resources for resources/list (most
	// relevant first, bounded: a client lists them all at once).
	List func(ctx context.Context) ([]Resource, error)
}

// Resource is one concrete resource of a template, for resources/list.
type Resource struct {
	URI         string
	Name        string
	Description string
	MIMEType    string
}
