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
	return out, resp, nil
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
