package graph

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

// Object is a Graph node or list item as Meta returned it. Numbers are kept
// as json.Number so ids and sizes survive unchanged.
type Object = map[string]any

// List is one page of an edge.
type List struct {
	Data   []Object         `json:"data"`
	Paging *cloudapi.Paging `json:"paging,omitempty"`
}

// ListOptions selects a page.
type ListOptions struct {
	Limit  int
	After  string
	Before string
	Fields []string
}

func (o *ListOptions) values() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.After != "" {
		q.Set("after", o.After)
	}
	if o.Before != "" {
		q.Set("before", o.Before)
	}
	if len(o.Fields) > 0 {
		q.Set("fields", strings.Join(o.Fields, ","))
	}
	return q
}

func fieldsQuery(fields []string) url.Values {
	q := url.Values{}
	if len(fields) > 0 {
		q.Set("fields", strings.Join(fields, ","))
	}
	return q
}

// GetObject reads any node by id (phone number, template, media), with
// optional fields.
func (c *Client) GetObject(ctx context.Context, id string, fields []string) (Object, *Response, error) {
	return c.getObject(ctx, url.PathEscape(id), fieldsQuery(fields))
}

func (c *Client) getObject(ctx context.Context, path string, q url.Values) (Object, *Response, error) {
	out := Object{}
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: path, query: q}, &out)
	if err != nil {
		return nil, resp, err
	}
	dropPagingLinks(out)
	return out, resp, nil
}

func (c *Client) getList(ctx context.Context, path string, q url.Values) (*List, *Response, error) {
	out := new(List)
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: path, query: q}, out)
	if err != nil {
		return nil, resp, err
	}
	if out.Data == nil {
		out.Data = []Object{}
	}
	for _, o := range out.Data {
		dropPagingLinks(o)
	}
	return out, resp, nil
}

// dropPagingLinks removes next and previous from every paging block nested
// in an object (an edge expanded with fields=edge{…}): they are Graph URLs,
// and Meta writes the access token into their query even when the request
// sent it in a header, so an Object never carries one to whoever reads it.
// Such an edge is paged with its own List method. The list's own
// List.Paging is left as Meta sent it; tools.SetPaging keeps only cursors.
func dropPagingLinks(v any) {
	switch v := v.(type) {
	case map[string]any:
		if p, ok := v["paging"].(map[string]any); ok {
			delete(p, "next")
			delete(p, "previous")
		}
		for _, e := range v {
			dropPagingLinks(e)
		}
	case []any:
		for _, e := range v {
			dropPagingLinks(e)
		}
	}
}

// GetPhoneNumber reads a business phone number.
//
// https://developers.facebook.com/docs/whatsapp/business-management-api/manage-phone-numbers
func (c *Client) GetPhoneNumber(ctx context.Context, phoneNumberID string, fields []string) (Object, *Response, error) {
	return c.GetObject(ctx, phoneNumberID, fields)
}

// ListPhoneNumbers lists the WABA's phone numbers.
//
// https://developers.facebook.com/docs/whatsapp/business-management-api/manage-phone-numbers
func (c *Client) ListPhoneNumbers(ctx context.Context, wabaID string, opts *ListOptions) (*List, *Response, error) {
	return c.getList(ctx, url.PathEscape(wabaID)+"/phone_numbers", opts.values())
}

// GetBusinessProfile reads the number's business profile. Meta answers
// {"data":[profile]}; the profile is returned.
//
// https://developers.facebook.com/docs/whatsapp/cloud-api/reference/business-profiles
func (c *Client) GetBusinessProfile(ctx context.Context, phoneNumberID string, fields []string) (Object, *Response, error) {
	l, resp, err := c.getList(ctx, url.PathEscape(phoneNumberID)+"/whatsapp_business_profile", fieldsQuery(fields))
	if err != nil {
		return nil, resp, err
	}
	if len(l.Data) == 0 {
		return Object{}, resp, nil
	}
	return l.Data[0], resp, nil
}
