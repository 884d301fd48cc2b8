package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// TemplateCreate is the body of POST /{waba-id}/message_templates.
type TemplateCreate struct {
	Name            string           `json:"name"`
	Category        string           `json:"category"`
	Language        string           `json:"language"`
	ParameterFormat string           `json:"parameter_format,omitempty"`
	Components      []map[string]any `json:"components"`
}

// TemplateCreated is Meta's answer: status is usually PENDING.
type TemplateCreated struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Category string `json:"category"`
}

// CreateTemplate submits a template for review.
//
// https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates
func (c *Client) CreateTemplate(ctx context.Context, wabaID string, t *TemplateCreate) (*TemplateCreated, *Response, error) {
	body, err := json.Marshal(t)
	if err != nil {
		return nil, nil, err
	}
	out := new(TemplateCreated)
	resp, err := c.do(ctx, &request{method: http.MethodPost, path: url.PathEscape(wabaID) + "/message_templates",
		body: body, contentType: "application/json"}, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// TemplateListOptions filters the template list.
type TemplateListOptions struct {
	ListOptions
	Status        string
	Category      string
	Language      string
	NameOrContent string
}

// ListTemplates lists the WABA's templates.
//
// https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates
func (c *Client) ListTemplates(ctx context.Context, wabaID string, opts *TemplateListOptions) (*List, *Response, error) {
	q := url.Values{}
	if opts != nil {
		q = opts.values()
		for k, v := range map[string]string{"status": opts.Status, "category": opts.Category,
			"language": opts.Language, "name_or_content": opts.NameOrContent} {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	return c.getList(ctx, url.PathEscape(wabaID)+"/message_templates", q)
}

// DeleteTemplate deletes one template by id AND name. Deleting by name alone
// would remove every language of the template, so both are required here.
//
// https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates
func (c *Client) DeleteTemplate(ctx context.Context, wabaID, templateID, name string) (bool, *Response, error) {
	if templateID == "" || name == "" {
		return false, nil, errors.New("graph: DeleteTemplate needs both the template id and its name; nothing was deleted")
	}
	q := url.Values{"hsm_id": {templateID}, "name": {name}}
	var out struct {
		Success bool `json:"success"`
	}
	resp, err := c.do(ctx, &request{method: http.MethodDelete, path: url.PathEscape(wabaID) + "/message_templates", query: q}, &out)
	if err != nil {
		return false, resp, err
	}
	return out.Success, resp, nil
}
