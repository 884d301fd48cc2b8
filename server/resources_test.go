package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// itemTemplate is the test's resource template, in toolset "account"
// (TEST_ECHO, read-only). Its Read fails as the item id asks.
func itemTemplate() tools.ResourceTemplate {
	return tools.ResourceTemplate{
		URITemplate: "test://{account}/items/{id}",
		Name:        "item", Title: "Item", Description: "One item of an account.",
		Toolset: "account",
		Read: func(_ context.Context, uri string, vars map[string]string) (any, error) {
			switch vars["id"] {
			case "missing":
				return nil, errors.New("no item missing in account " + vars["account"])
			case "bad":
				return nil, tools.Invalid("id", "must be digits")
			case "down":
				return nil, kindError{tools.KindUnavailable, "dial tcp 10.0.0.7:5432: password authentication failed for hunter2"}
			case "broken":
				return nil, kindError{tools.KindFailed, "secret-dsn postgres://u:hunter2@db"}
			case "panic":
				panic("hunter2")
			}
			return map[string]string{"uri": uri, "account": vars["account"], "id": vars["id"]}, nil
		},
		List: func(context.Context) ([]tools.Resource, error) {
			return []tools.Resource{{URI: "test://a1/items/1", Name: "item 1", Description: "The first."}}, nil
		},
	}
}

type kindError struct {
	kind tools.ErrorKind
	msg  string
}

func (e kindError) Error() string              { return e.msg }
func (e kindError) ErrorKind() tools.ErrorKind { return e.kind }

func newResourceServer(t *testing.T, opts server.Options) *server.Server {
	t.Helper()
	opts.Resources = []tools.ResourceTemplate{itemTemplate()}
	return newServer(t, opts)
}

// mcpClient is one MCP session of a test, with the resource updates and
// other notifications it received, in order.
type mcpClient struct {
	c       *client.Client
	init    *mcp.InitializeResult
	updates chan string // notifications/resources/updated: the URI
	methods chan string // every notification's method
}

func newMCPClient(t *testing.T, ctx context.Context, c *client.Client, protocol string) *mcpClient {
	t.Helper()
	m := &mcpClient{c: c, updates: make(chan string, 64), methods: make(chan string, 64)}
	m.c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == mcp.MethodNotificationResourceUpdated {
			uri, _ := n.Params.AdditionalFields["uri"].(string)
			m.updates <- uri
		}
		m.methods <- n.Method
	})
	if err := m.c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	m.init = initialize(t, ctx, m.c, protocol)
	t.Cleanup(func() { m.c.Close() })
	return m
}

// httpClient is a session over streamable HTTP with its GET stream, where
// notifications sent outside a request arrive.
func httpClient(t *testing.T, ctx context.Context, url string) *mcpClient {
	t.Helper()
	return httpSession(t, ctx, url, "2025-11-25", transport.WithContinuousListening())
}

func httpSession(t *testing.T, ctx context.Context, url, protocol string, opts ...transport.StreamableHTTPCOption) *mcpClient {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url+"/mcp", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return newMCPClient(t, ctx, client.NewClient(tr), protocol)
}

// inProcessSession is a session of s without a transport.
func inProcessSession(t *testing.T, ctx context.Context, s *server.Server) *mcpClient {
	t.Helper()
	c, err := client.NewInProcessClient(s.MCP())
	if err != nil {
		t.Fatal(err)
	}
	return newMCPClient(t, ctx, c, "2025-11-25")
}

// stdioClient is the stdio session of s, served over pipes; closing it
// ends ServeStdio, whose error done then carries.
func stdioClient(t *testing.T, ctx context.Context, s *server.Server) (m *mcpClient, end func() error) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.ServeStdio(ctx, inR, outW); outW.Close() }()
	m = newMCPClient(t, ctx, client.NewClient(transport.NewIO(outR, inW, io.NopCloser(strings.NewReader("")))), "2025-11-25")
	return m, func() error {
		inW.Close()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return errors.New("ServeStdio did not return at the end of its input")
		}
	}
}

// transports run f with a session of s over each surface.
func transports(t *testing.T, opts server.Options, f func(t *testing.T, ctx context.Context, s *server.Server, m *mcpClient)) {
	for _, name := range []string{"stdio", "http"} {
		t.Run(name, func(t *testing.T) {
			ctx := withTimeout(t, 20*time.Second)
			s := newResourceServer(t, opts)
			var m *mcpClient
			if name == "stdio" {
				var end func() error
				m, end = stdioClient(t, ctx, s)
				defer func() {
					if err := end(); err != nil {
						t.Error(err)
					}
				}()
			} else {
				ts := httptest.NewServer(s.HTTPHandler())
				t.Cleanup(ts.Close)
				m = httpClient(t, ctx, ts.URL)
			}
			f(t, ctx, s, m)
		})
	}
}

func readResource(ctx context.Context, c *client.Client, uri string) (*mcp.ReadResourceResult, error) {
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	return c.ReadResource(ctx, req)
}

func subscribe(ctx context.Context, c *client.Client, uri string) error {
	req := mcp.SubscribeRequest{}
	req.Params.URI = uri
	return c.Subscribe(ctx, req)
}

func unsubscribe(ctx context.Context, c *client.Client, uri string) error {
	req := mcp.UnsubscribeRequest{}
	req.Params.URI = uri
	return c.Unsubscribe(ctx, req)
}

// TestResources: templates/list, resources/list and resources/read, and
// the JSON-RPC error of each way a read fails, over stdio and HTTP.
func TestResources(t *testing.T) {
	transports(t, server.Options{}, func(t *testing.T, ctx context.Context, _ *server.Server, m *mcpClient) {
		if rc := m.init.Capabilities.Resources; rc == nil || !rc.Subscribe || rc.ListChanged {
			t.Errorf("resources capability %+v, want subscribe and no listChanged", rc)
		}
		tl, err := m.c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tl.ResourceTemplates) != 1 {
			t.Fatalf("templates %+v, want the item template", tl.ResourceTemplates)
		}
		if rt := tl.ResourceTemplates[0]; rt.URITemplate.Raw() != "test://{account}/items/{id}" || rt.Name != "item" || rt.Title != "Item" ||
			rt.Description != "One item of an account." || rt.MIMEType != "application/json" {
			t.Errorf("template %+v", rt)
		}
		rl, err := m.c.ListResources(ctx, mcp.ListResourcesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rl.Resources) != 1 || rl.Resources[0].URI != "test://a1/items/1" || rl.Resources[0].Name != "item 1" ||
			rl.Resources[0].Description != "The first." || rl.Resources[0].MIMEType != "application/json" {
			t.Errorf("resources/list %+v, want the template's List", rl.Resources)
		}

		res, err := readResource(ctx, m.c, "test://a%201/items/42")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Contents) != 1 {
			t.Fatalf("contents %+v", res.Contents)
		}
		text, ok := res.Contents[0].(mcp.TextResourceContents)
		if !ok || text.URI != "test://a%201/items/42" || text.MIMEType != "application/json" {
			t.Fatalf("contents %+v, want JSON text of the URI read", res.Contents[0])
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(text.Text), &got); err != nil {
			t.Fatalf("text %q is not JSON: %v", text.Text, err)
		}
		if got["account"] != "a 1" || got["id"] != "42" || got["uri"] != "test://a%201/items/42" {
			t.Errorf("Read got %v, want the variables decoded and the URI as sent", got)
		}

		for _, tc := range []struct {
			uri     string
			want    error
			message string // in the error
		}{
			{"test://a1/other/1", mcp.ErrResourceNotFound, "resource not found"},
			{"test://a1/items/missing", mcp.ErrResourceNotFound, "no item missing in account a1"},
			{"test://a1/items/bad", mcp.ErrInvalidParams, "`id` must be digits"},
			{"test://a1/items/down", mcp.ErrInternalError, "store is unavailable"},
			{"test://a1/items/broken", mcp.ErrInternalError, "internal error in the server while reading this resource"},
			{"test://a1/items/panic", mcp.ErrInternalError, "internal error in the server while reading this resource"},
		} {
			_, err := readResource(ctx, m.c, tc.uri)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("read %s: %v, want %v saying %q", tc.uri, err, tc.want, tc.message)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("read %s: the error shows the server's failure: %v", tc.uri, err)
			}
		}

		// Subscribing to a URI no template has would never be notified.
		err = subscribe(ctx, m.c, "test://a1/other/1")
		if !errors.Is(err, mcp.ErrResourceNotFound) || !strings.Contains(err.Error(), "its resource templates are test://{account}/items/{id}") {
			t.Errorf("subscribe to an unknown URI: %v, want resource not found naming the templates", err)
		}
	})
}

// TestResourceUpdates: a subscribed session gets notifications/resources/updated
// for exactly the URIs it subscribed to, each time, until it unsubscribes,
// and its subscriptions end with it. What a session did not get is shown
// by order: a session's notifications arrive in the order they were sent.
func TestResourceUpdates(t *testing.T) {
	const u1, u2, u3 = "test://a1/items/1", "test://a1/items/2", "test://a1/items/3"
	transports(t, server.Options{}, func(t *testing.T, ctx context.Context, s *server.Server, m *mcpClient) {
		next := func(m *mcpClient, want string) {
			t.Helper()
			select {
			case got := <-m.updates:
				if got != want {
					t.Fatalf("resource update for %s, want %s", got, want)
				}
			case <-ctx.Done():
				t.Fatalf("no resource update (want %s)", want)
			}
		}
		if err := subscribe(ctx, m.c, u1); err != nil {
			t.Fatal(err)
		}
		if err := subscribe(ctx, m.c, u3); err != nil {
			t.Fatal(err)
		}
		s.NotifyResourceUpdated(u2) // not subscribed
		s.NotifyResourceUpdated(u1)
		next(m, u1)
		s.NotifyResourceUpdated(u1) // again: a second change
		next(m, u1)

		if err := unsubscribe(ctx, m.c, u1); err != nil {
			t.Fatal(err)
		}
		s.NotifyResourceUpdated(u1)
		s.NotifyResourceUpdated(u3)
		next(m, u3)
		if n := server.Subscribers(s); n != 1 {
			t.Errorf("%d sessions with subscriptions, want 1", n)
		}
	})
}

// TestResourceUpdatesSessions: of two HTTP sessions, only the subscribed
// one is notified; and a session's subscriptions end with it (DELETE, the
// end of stdio).
func TestResourceUpdatesSessions(t *testing.T) {
	const u1, u2 = "test://a1/items/1", "test://a1/items/2"
	ctx := withTimeout(t, 20*time.Second)
	s := newResourceServer(t, server.Options{})
	ts := httptest.NewServer(s.HTTPHandler())
	t.Cleanup(ts.Close)
	a, b := httpClient(t, ctx, ts.URL), httpClient(t, ctx, ts.URL)
	std, end := stdioClient(t, ctx, s)
	for _, m := range []*mcpClient{a, std} {
		if err := subscribe(ctx, m.c, u1); err != nil {
			t.Fatal(err)
		}
	}
	s.NotifyResourceUpdated(u1)
	for _, m := range []*mcpClient{a, std} {
		if got := <-m.updates; got != u1 {
			t.Fatalf("update for %s, want %s", got, u1)
		}
	}
	if err := subscribe(ctx, b.c, u2); err != nil {
		t.Fatal(err)
	}
	s.NotifyResourceUpdated(u2)
	if got := <-b.updates; got != u2 {
		t.Fatalf("the session subscribed to %s only was sent %s first", u2, got)
	}
	if n := server.Subscribers(s); n != 3 {
		t.Fatalf("%d sessions with subscriptions, want 3", n)
	}
	a.c.Close() // DELETE
	if n := server.Subscribers(s); n != 2 {
		t.Errorf("after a session's DELETE: %d sessions with subscriptions, want 2", n)
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
	if n := server.Subscribers(s); n != 1 {
		t.Errorf("after the end of stdio: %d sessions with subscriptions, want 1", n)
	}
	s.NotifyResourceUpdated(u1) // no one is subscribed: nothing to do
}

// TestResourcesFiltered: a template is served while a tool of its toolset
// is enabled; with none served (or none given) there is no resources
// capability, and nothing else changes.
func TestResourcesFiltered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   server.Options
		served bool
	}{
		{"all toolsets", server.Options{}, true},
		{"its toolset", server.Options{Toolsets: []string{"account"}}, true},
		{"a tool of its toolset", server.Options{Tools: []string{"TEST_ECHO"}}, true},
		{"read-only keeps it", server.Options{ReadOnly: true}, true},
		{"another toolset", server.Options{Toolsets: []string{"messages"}}, false},
		{"its only tool excluded", server.Options{ExcludeTools: []string{"TEST_ECHO"}}, false},
		{"stateless: no subscriptions", server.Options{Stateless: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := withTimeout(t, 10*time.Second)
			m := inProcessSession(t, ctx, newResourceServer(t, tc.opts))
			c, init := m.c, m.init
			tl, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
			_, rerr := readResource(ctx, c, "test://a1/items/1")
			if !tc.served {
				if init.Capabilities.Resources != nil || err == nil || rerr == nil {
					t.Errorf("capability %+v, templates/list %v %v, read %v: want no resources", init.Capabilities.Resources, tl, err, rerr)
				}
				return
			}
			if err != nil || len(tl.ResourceTemplates) != 1 || rerr != nil {
				t.Fatalf("templates/list %v %v, read %v: want the template served", tl, err, rerr)
			}
			if got, want := init.Capabilities.Resources.Subscribe, !tc.opts.Stateless; got != want {
				t.Errorf("resources.subscribe %v, want %v", got, want)
			}
		})
	}

	// Without resources, initialize says nothing of them.
	ctx := withTimeout(t, 10*time.Second)
	if init := inProcessSession(t, ctx, newServer(t, server.Options{})).init; init.Capabilities.Resources != nil {
		t.Errorf("resources capability %+v without resources", init.Capabilities.Resources)
	}
}

// TestDynamicResources: with dynamic toolsets, a session is served the
// templates of the toolsets it enabled: before, a read says which toolset
// to enable; enabling it sends notifications/resources/list_changed.
func TestDynamicResources(t *testing.T) {
	ctx := withTimeout(t, 20*time.Second)
	s := newResourceServer(t, server.Options{Dynamic: true, About: dynamicAbout})
	ts := httptest.NewServer(s.HTTPHandler())
	t.Cleanup(ts.Close)
	a, b := httpClient(t, ctx, ts.URL), httpClient(t, ctx, ts.URL)
	if rc := a.init.Capabilities.Resources; rc == nil || !rc.ListChanged || !rc.Subscribe {
		t.Errorf("resources capability %+v, want subscribe and listChanged", rc)
	}
	templates := func(m *mcpClient) int {
		t.Helper()
		tl, err := m.c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return len(tl.ResourceTemplates)
	}
	if n := templates(a); n != 0 {
		t.Fatalf("%d templates before the toolset is enabled, want 0", n)
	}
	_, err := readResource(ctx, a.c, "test://a1/items/1")
	if !errors.Is(err, mcp.ErrResourceNotFound) || !strings.Contains(err.Error(), `call TEST_ENABLE_TOOLSET with {"toolset":"account"} first`) {
		t.Fatalf("read before enabling: %v, want the toolset to enable", err)
	}
	if err := subscribe(ctx, a.c, "test://a1/items/1"); !errors.Is(err, mcp.ErrResourceNotFound) {
		t.Fatalf("subscribe before enabling: %v, want resource not found", err)
	}
	if res, err := callTool(ctx, a.c, "TEST_ENABLE_TOOLSET", map[string]any{"toolset": "account"}); err != nil || res.IsError {
		t.Fatalf("enable: %v %+v", err, res)
	}
	for got := ""; got != mcp.MethodNotificationResourcesListChanged; {
		select {
		case got = <-a.methods:
		case <-ctx.Done():
			t.Fatal("no notifications/resources/list_changed after enabling the toolset")
		}
	}
	if n := templates(a); n != 1 {
		t.Fatalf("%d templates once enabled, want 1", n)
	}
	if _, err := readResource(ctx, a.c, "test://a1/items/1"); err != nil {
		t.Fatal(err)
	}
	if n := templates(b); n != 0 {
		t.Errorf("another session lists %d templates, want 0", n)
	}
}

// TestNewRejectsBadResources: a declaration New cannot serve stops it.
func TestNewRejectsBadResources(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*tools.ResourceTemplate)
		want string
	}{
		{"no name", func(r *tools.ResourceTemplate) { r.Name = "" }, "has no name"},
		{"bad template", func(r *tools.ResourceTemplate) { r.URITemplate = "test://{id" }, "no valid RFC 6570 URI template"},
		{"no read", func(r *tools.ResourceTemplate) { r.Read = nil }, "has no Read"},
		{"unknown toolset", func(r *tools.ResourceTemplate) { r.Toolset = "nope" }, `names toolset "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := itemTemplate()
			tc.edit(&r)
			_, err := server.New(testCatalog(), server.Options{Resources: []tools.ResourceTemplate{r}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
		})
	}
	_, err := server.New(testCatalog(), server.Options{Resources: []tools.ResourceTemplate{itemTemplate(), itemTemplate()}})
	if err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("New with a template twice: %v", err)
	}
}

// TestResourceErrorsModern: from protocol 2026-07-28 on, a client's error
// is invalid params (HTTP 400), as mcp-go answers a URI no template has.
func TestResourceErrorsModern(t *testing.T) {
	ctx := withTimeout(t, 10*time.Second)
	s := newResourceServer(t, server.Options{})
	ts := httptest.NewServer(s.HTTPHandler())
	t.Cleanup(ts.Close)
	c := httpSession(t, ctx, ts.URL, mcp.LATEST_PROTOCOL_VERSION).c
	for _, tc := range []struct {
		uri  string
		want error
	}{
		{"test://a1/other/1", mcp.ErrInvalidParams},
		{"test://a1/items/missing", mcp.ErrInvalidParams},
		{"test://a1/items/bad", mcp.ErrInvalidParams},
		{"test://a1/items/broken", mcp.ErrInternalError},
	} {
		if _, err := readResource(ctx, c, tc.uri); !errors.Is(err, tc.want) {
			t.Errorf("read %s: %v, want %v", tc.uri, err, tc.want)
		}
	}
	if _, err := readResource(ctx, c, "test://a1/items/7"); err != nil {
		t.Errorf("read: %v", err)
	}
}
