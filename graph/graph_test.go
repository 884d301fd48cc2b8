package graph_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

const sendOK = `{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"}]}`

// TestMethods checks the exact request of every JSON method and what it
// returns, against a fake mounted under a path prefix.
func TestMethods(t *testing.T) {
	tests := []struct {
		name   string
		resp   string
		call   func(ctx context.Context, c *graph.Client) (any, error)
		method string
		path   string
		query  url.Values
		body   string
		want   string // the returned value, as JSON
	}{
		{
			name: "SendMessage text",
			resp: sendOK,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				r, _, err := c.SendMessage(ctx, pnID, &graph.Message{To: "+16505551234", Type: "text", Text: &graph.Text{Body: "hi", PreviewURL: true}})
				return r, err
			},
			method: "POST", path: "/v25.0/" + pnID + "/messages",
			body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"body":"hi","preview_url":true}}`,
			want: sendOK,
		},
		{
			name: "SendMessage reply with context, template pacing status",
			resp: `{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":""}],"messages":[{"id":"wamid.X","message_status":"accepted"}]}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				r, _, err := c.SendMessage(ctx, pnID, &graph.Message{To: "+16505551234", Type: "template",
					Context:  &graph.MessageContext{MessageID: "wamid.PREV"},
					Template: &graph.Template{Name: "hello_world", Language: graph.TemplateLanguage{Code: "en_US"}}})
				return r, err
			},
			method: "POST", path: "/v25.0/" + pnID + "/messages",
			body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","context":{"message_id":"wamid.PREV"},"type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`,
			want: `{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":""}],"messages":[{"id":"wamid.X","message_status":"accepted"}]}`,
		},
		{
			name: "GetObject with fields",
			resp: `{"status":"APPROVED","name":"order_update","id":"1252715608684590"}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				o, _, err := c.GetObject(ctx, "1252715608684590", []string{"name", "status"})
				return o, err
			},
			method: "GET", path: "/v25.0/1252715608684590", query: url.Values{"fields": {"name,status"}},
			want: `{"status":"APPROVED","name":"order_update","id":"1252715608684590"}`,
		},
		{
			name: "GetObject without fields keeps numbers exact",
			resp: `{"id":"1","big":12345678901234567890}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				o, _, err := c.GetObject(ctx, "1", nil)
				return o, err
			},
			method: "GET", path: "/v25.0/1",
			want: `{"id":"1","big":12345678901234567890}`,
		},
		{
			name: "GetPhoneNumber",
			resp: `{"verified_name":"Test Number","display_phone_number":"+1 555-096-7852","quality_rating":"GREEN","throughput":{"level":"STANDARD"},"id":"` + pnID + `"}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				o, _, err := c.GetPhoneNumber(ctx, pnID, []string{"id", "verified_name"})
				return o, err
			},
			method: "GET", path: "/v25.0/" + pnID, query: url.Values{"fields": {"id,verified_name"}},
			want: `{"verified_name":"Test Number","display_phone_number":"+1 555-096-7852","quality_rating":"GREEN","throughput":{"level":"STANDARD"},"id":"` + pnID + `"}`,
		},
		{
			name: "ListPhoneNumbers with paging options",
			resp: `{"data":[{"id":"1906385232743451","display_phone_number":"+1 631-555-5555"}],"paging":{"cursors":{"before":"QVFIb","after":"QVFIa"},"next":"https://graph.facebook.com/v25.0/next"}}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				l, _, err := c.ListPhoneNumbers(ctx, wabaID, &graph.ListOptions{Limit: 25, After: "QVFIz", Fields: []string{"id", "display_phone_number"}})
				return l, err
			},
			method: "GET", path: "/v25.0/" + wabaID + "/phone_numbers",
			query: url.Values{"limit": {"25"}, "after": {"QVFIz"}, "fields": {"id,display_phone_number"}},
			want:  `{"data":[{"id":"1906385232743451","display_phone_number":"+1 631-555-5555"}],"paging":{"cursors":{"before":"QVFIb","after":"QVFIa"},"next":"https://graph.facebook.com/v25.0/next"}}`,
		},
		{
			name: "ListPhoneNumbers nil options, empty edge gives an empty array",
			resp: `{}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				l, _, err := c.ListPhoneNumbers(ctx, wabaID, nil)
				return l, err
			},
			method: "GET", path: "/v25.0/" + wabaID + "/phone_numbers",
			want: `{"data":[]}`,
		},
		{
			name: "GetBusinessProfile returns data[0]",
			resp: `{"data":[{"about":"Succulent specialists!","websites":["https://www.luckyshrub.com/"],"vertical":"RETAIL","messaging_product":"whatsapp"}]}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				o, _, err := c.GetBusinessProfile(ctx, pnID, []string{"about", "websites", "vertical"})
				return o, err
			},
			method: "GET", path: "/v25.0/" + pnID + "/whatsapp_business_profile", query: url.Values{"fields": {"about,websites,vertical"}},
			want: `{"about":"Succulent specialists!","websites":["https://www.luckyshrub.com/"],"vertical":"RETAIL","messaging_product":"whatsapp"}`,
		},
		{
			name: "GetBusinessProfile with no data gives {}",
			resp: `{"data":[]}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				o, _, err := c.GetBusinessProfile(ctx, pnID, nil)
				return o, err
			},
			method: "GET", path: "/v25.0/" + pnID + "/whatsapp_business_profile",
			want: `{}`,
		},
		{
			name: "CreateTemplate",
			resp: `{"id":"1627019861106475","status":"PENDING","category":"MARKETING"}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				r, _, err := c.CreateTemplate(ctx, wabaID, &graph.TemplateCreate{Name: "seasonal_promotion", Category: "MARKETING", Language: "en_US",
					ParameterFormat: "POSITIONAL", Components: []map[string]any{
						{"type": "BODY", "text": "Shop now through {{1}}.", "example": map[string]any{"body_text": [][]string{{"August"}}}},
					}})
				return r, err
			},
			method: "POST", path: "/v25.0/" + wabaID + "/message_templates",
			body: `{"name":"seasonal_promotion","category":"MARKETING","language":"en_US","parameter_format":"POSITIONAL","components":[{"type":"BODY","text":"Shop now through {{1}}.","example":{"body_text":[["August"]]}}]}`,
			want: `{"id":"1627019861106475","status":"PENDING","category":"MARKETING"}`,
		},
		{
			name: "ListTemplates passes every filter as a query parameter",
			resp: `{"data":[{"name":"reservation_confirmation","language":"en_US","status":"APPROVED","category":"UTILITY","id":"1387372356726668"}],"paging":{"cursors":{"before":"b","after":"a"}}}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				l, _, err := c.ListTemplates(ctx, wabaID, &graph.TemplateListOptions{
					ListOptions: graph.ListOptions{Limit: 10, After: "cur"},
					Status:      "APPROVED", Category: "UTILITY", Language: "en_US", NameOrContent: "reserv"})
				return l, err
			},
			method: "GET", path: "/v25.0/" + wabaID + "/message_templates",
			query: url.Values{"limit": {"10"}, "after": {"cur"}, "status": {"APPROVED"}, "category": {"UTILITY"}, "language": {"en_US"}, "name_or_content": {"reserv"}},
			want:  `{"data":[{"name":"reservation_confirmation","language":"en_US","status":"APPROVED","category":"UTILITY","id":"1387372356726668"}],"paging":{"cursors":{"before":"b","after":"a"}}}`,
		},
		{
			name: "ListTemplates without options sends no query",
			resp: `{"data":[]}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				l, _, err := c.ListTemplates(ctx, wabaID, nil)
				return l, err
			},
			method: "GET", path: "/v25.0/" + wabaID + "/message_templates",
			want: `{"data":[]}`,
		},
		{
			name: "DeleteTemplate sends hsm_id and name",
			resp: `{"success":true}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				ok, _, err := c.DeleteTemplate(ctx, wabaID, "1252715608684590", "order_update")
				return ok, err
			},
			method: "DELETE", path: "/v25.0/" + wabaID + "/message_templates",
			query: url.Values{"hsm_id": {"1252715608684590"}, "name": {"order_update"}},
			want:  `true`,
		},
		{
			name: "GetMedia with file_size as a string",
			resp: `{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1","mime_type":"image/jpeg","sha256":"abc","file_size":"303833","id":"2621233374848975"}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				m, _, err := c.GetMedia(ctx, "2621233374848975", "")
				return m, err
			},
			method: "GET", path: "/v25.0/2621233374848975",
			want: `{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1","mime_type":"image/jpeg","sha256":"abc","file_size":"303833","id":"2621233374848975"}`,
		},
		{
			name: "GetMedia with file_size as a number and phone_number_id",
			resp: `{"messaging_product":"whatsapp","url":"https://x/y","mime_type":"image/png","sha256":"def","file_size":303833,"id":"2621233374848975"}`,
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				m, _, err := c.GetMedia(ctx, "2621233374848975", pnID)
				return m, err
			},
			method: "GET", path: "/v25.0/2621233374848975", query: url.Values{"phone_number_id": {pnID}},
			want: `{"messaging_product":"whatsapp","url":"https://x/y","mime_type":"image/png","sha256":"def","file_size":"303833","id":"2621233374848975"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := graphtest.New(t, graphtest.Reply(200, tt.resp))
			c := f.NewClient(t)
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			graphtest.CheckRequest(t, f.Only(t), graphtest.Want{Method: tt.method, Path: tt.path, Query: tt.query, Body: tt.body})
			graphtest.JSONEqual(t, "result", graphtest.MustJSON(t, got), []byte(tt.want))
		})
	}
}

func TestGetMediaFileSize(t *testing.T) {
	for _, body := range []string{`{"file_size":303833,"id":"1"}`, `{"file_size":"303833","id":"1"}`} {
		f := graphtest.New(t, graphtest.Reply(200, body))
		m, _, err := f.NewClient(t).GetMedia(context.Background(), "1", "")
		if err != nil {
			t.Fatal(err)
		}
		if m.FileSize != "303833" {
			t.Errorf("%s: FileSize = %q, want 303833", body, m.FileSize)
		}
	}
}

// DeleteTemplate must never degrade to a delete by name alone (which
// removes every language) or by id alone.
func TestDeleteTemplateRequiresIDAndName(t *testing.T) {
	for _, tc := range []struct{ id, name string }{{"", "order_update"}, {"1252715608684590", ""}, {"", ""}} {
		f := graphtest.New(t, graphtest.Reply(200, `{"success":true}`))
		ok, _, err := f.NewClient(t).DeleteTemplate(context.Background(), wabaID, tc.id, tc.name)
		if err == nil || ok {
			t.Errorf("DeleteTemplate(id=%q, name=%q) = %v, %v; want an error", tc.id, tc.name, ok, err)
		}
		if n := f.Count(); n != 0 {
			t.Errorf("DeleteTemplate(id=%q, name=%q) made %d requests, want 0", tc.id, tc.name, n)
		}
	}
}

func TestUploadMediaMultipart(t *testing.T) {
	f := graphtest.New(t, graphtest.Reply(200, `{"id":"1037543291543636"}`))
	content := []byte("\x89PNG\r\n\x1a\n fake png bytes")
	id, _, err := f.NewClient(t).UploadMedia(context.Background(), pnID, "photo.png", "image/png", content)
	if err != nil {
		t.Fatal(err)
	}
	if id != "1037543291543636" {
		t.Errorf("id = %q", id)
	}
	got := f.Only(t)
	if got.Method != "POST" || got.Path != "/v25.0/"+pnID+"/media" || len(got.Query) != 0 {
		t.Errorf("request = %s %s ?%v", got.Method, got.Path, got.Query)
	}
	if a := got.Header.Get("Authorization"); a != "Bearer "+graphtest.Token {
		t.Errorf("Authorization = %q", a)
	}
	u := graphtest.ParseUpload(t, got)
	if !u.HasFile {
		t.Error("no file part")
	}
	if u.FileName != "photo.png" {
		t.Errorf("file part filename = %q", u.FileName)
	}
	if u.FileType != "image/png" {
		t.Errorf("file part Content-Type = %q, want image/png", u.FileType)
	}
	if !bytes.Equal(u.File, content) {
		t.Errorf("file bytes = %q", u.File)
	}
	fields := u.Fields
	want := map[string]string{"messaging_product": "whatsapp", "type": "image/png"}
	if len(fields) != len(want) || fields["messaging_product"] != want["messaging_product"] || fields["type"] != want["type"] {
		t.Errorf("form fields = %v, want %v", fields, want)
	}
}

func TestDownloadMedia(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 10) // 100 bytes
	tests := []struct {
		name    string
		limit   int64
		chunked bool
		wantErr error
	}{
		{"within limit", 100, false, nil},
		{"within limit, streamed", 1000, true, nil},
		{"over limit by Content-Length", 99, false, graph.ErrTooLarge},
		{"over limit while streaming (no Content-Length)", 50, true, graph.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := graphtest.New(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "image/jpeg")
				if tt.chunked {
					_, _ = w.Write(payload[:10])
					w.(http.Flusher).Flush()
					_, _ = w.Write(payload[10:])
					return
				}
				_, _ = w.Write(payload)
			})
			c := f.NewClient(t)
			mediaURL := f.URL + graphtest.CDNPath + "?mid=42&ext=1&hash=ARx"
			var buf bytes.Buffer
			n, ct, _, err := c.DownloadMedia(context.Background(), mediaURL, &buf, tt.limit)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if n != int64(len(payload)) || !bytes.Equal(buf.Bytes(), payload) || ct != "image/jpeg" {
					t.Errorf("got n=%d ct=%q bytes=%q", n, ct, buf.Bytes())
				}
			}
			got := f.Only(t)
			if got.Method != "GET" || got.Path != graphtest.CDNPath || got.Query.Get("mid") != "42" || got.Query.Get("hash") != "ARx" {
				t.Errorf("request = %s %s ?%v", got.Method, got.Path, got.Query)
			}
			if a := got.Header.Get("Authorization"); a != "Bearer "+graphtest.Token {
				t.Errorf("media download must carry the bearer token; Authorization = %q", a)
			}
			if ua := got.Header.Get("User-Agent"); ua == "" || strings.HasPrefix(ua, "Go-http-client") {
				t.Errorf("User-Agent = %q", ua)
			}
		})
	}
}

func TestDownloadMediaErrors(t *testing.T) {
	t.Run("404 is a graph error", func(t *testing.T) {
		f := graphtest.New(t, graphtest.Reply(404, `{"error":{"message":"not found","code":100,"fbtrace_id":"T"}}`))
		_, _, _, err := f.NewClient(t).DownloadMedia(context.Background(), f.URL+graphtest.CDNPath+"?mid=1", io.Discard, 10)
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.HTTPStatus != 404 {
			t.Fatalf("err = %v, want *graph.Error 404", err)
		}
	})
	t.Run("not an http(s) URL is refused before any request", func(t *testing.T) {
		f := graphtest.New(t, graphtest.Reply(200, ``))
		for _, u := range []string{"ftp://host/x", "/relative/path", "", "https://"} {
			if _, _, _, err := f.NewClient(t).DownloadMedia(context.Background(), u, io.Discard, 10); err == nil {
				t.Errorf("DownloadMedia(%q) succeeded", u)
			}
		}
		if f.Count() != 0 {
			t.Errorf("%d requests made", f.Count())
		}
	})
}

func TestAppSecretProof(t *testing.T) {
	f := graphtest.New(t, graphtest.Reply(200, `{"id":"1"}`))
	c := f.NewClient(t, graph.WithAppSecretProof(testSecret))
	if _, _, err := c.GetObject(context.Background(), "1", []string{"id"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SendMessage(context.Background(), pnID, &graph.Message{To: "+16505551234", Type: "text", Text: &graph.Text{Body: "x"}}); err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write([]byte(graphtest.Token))
	want := hex.EncodeToString(m.Sum(nil))
	for _, r := range f.Requests() {
		if got := r.Query.Get("appsecret_proof"); got != want {
			t.Errorf("%s %s: appsecret_proof = %q, want %q", r.Method, r.Path, got, want)
		}
		if r.Method == "GET" && r.Query.Get("fields") != "id" {
			t.Errorf("other query parameters lost: %v", r.Query)
		}
		dump := r.Path + "?" + r.Query.Encode() + string(r.Body)
		for k, v := range r.Header {
			dump += k + strings.Join(v, ",")
		}
		if strings.Contains(dump, testSecret) {
			t.Errorf("the app secret itself was sent: %s", dump)
		}
	}

	t.Run("not configured: no proof", func(t *testing.T) {
		f := graphtest.New(t, graphtest.Reply(200, `{"id":"1"}`))
		c := f.NewClient(t, graph.WithAppSecretProof(""))
		if _, _, err := c.GetObject(context.Background(), "1", nil); err != nil {
			t.Fatal(err)
		}
		if q := f.Only(t).Query; q.Has("appsecret_proof") {
			t.Errorf("query = %v", q)
		}
	})
}

func TestOptions(t *testing.T) {
	t.Run("base URL without trailing slash keeps its path", func(t *testing.T) {
		f := graphtest.New(t, graphtest.Reply(200, `{}`))
		c := f.NewClient(t, graph.WithBaseURL(f.URL+graphtest.Prefix))
		if _, _, err := c.GetObject(context.Background(), "7", nil); err != nil {
			t.Fatal(err)
		}
		if p := f.Only(t).Path; p != "/v25.0/7" {
			t.Errorf("path = %s", p)
		}
	})
	t.Run("API version and user agent", func(t *testing.T) {
		f := graphtest.New(t, graphtest.Reply(200, `{}`))
		c := f.NewClient(t, graph.WithAPIVersion("v26.0"), graph.WithUserAgent("test-agent/9"))
		if c.APIVersion() != "v26.0" {
			t.Errorf("APIVersion = %s", c.APIVersion())
		}
		if _, _, err := c.GetObject(context.Background(), "7", nil); err != nil {
			t.Fatal(err)
		}
		r := f.Only(t)
		if r.Path != "/v26.0/7" || r.Header.Get("User-Agent") != "test-agent/9" {
			t.Errorf("path %s, UA %q", r.Path, r.Header.Get("User-Agent"))
		}
	})
	t.Run("defaults", func(t *testing.T) {
		c, err := graph.NewClient(graphtest.Token)
		if err != nil {
			t.Fatal(err)
		}
		if c.APIVersion() != "v25.0" || c.BaseURL() != "https://graph.facebook.com/" {
			t.Errorf("defaults: %s %s", c.APIVersion(), c.BaseURL())
		}
	})
	bad := map[string]graph.Option{
		"relative base URL":  graph.WithBaseURL("graph.facebook.com"),
		"garbage base URL":   graph.WithBaseURL("://x"),
		"version without v":  graph.WithAPIVersion("25.0"),
		"empty version":      graph.WithAPIVersion(""),
		"nil HTTP client":    graph.WithHTTPClient(nil),
		"bare version 'v'":   graph.WithAPIVersion("v"),
		"base URL no scheme": graph.WithBaseURL("//host/x"),
	}
	for name, opt := range bad {
		if _, err := graph.NewClient(graphtest.Token, opt); err == nil {
			t.Errorf("%s: NewClient succeeded", name)
		}
	}
}

// TestDownloadMediaRefusesPlainHTTPWithHTTPSBase: the bearer token must not
// travel in clear text to a media URL when the Graph API is reached over TLS.
func TestDownloadMediaRefusesPlainHTTPWithHTTPSBase(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c, err := graph.NewClient("secret-token-xyz", graph.WithBaseURL("https://graph.example.invalid/"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = c.DownloadMedia(context.Background(), srv.URL+"/media?mid=1", io.Discard, 10)
	if err == nil || !strings.Contains(err.Error(), "plain-http") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests reached the plain-http URL", hits.Load())
	}
}
