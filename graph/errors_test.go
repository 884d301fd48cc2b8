package graph_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		code, sub  int
		typ        string
		message    string
		errorData  string // raw JSON, "" = none
		details    string
		transient  bool
		fbtrace    string
		msgContain string
	}{
		{
			name:   "messaging error with error_data object",
			status: 400,
			body: `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,` +
				`"error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},` +
				`"error_subcode":2494055,"is_transient":false,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}`,
			code: 130429, sub: 2494055, typ: "OAuthException", message: "(#130429) Rate limit hit",
			errorData: `{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."}`,
			details:   "Cloud API message throughput has been reached.", fbtrace: "Az8or2yhqkZfEZ-_4Qn_Bam",
		},
		{
			name:   "template error with error_data as a string",
			status: 400,
			body: `{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2388299,` +
				`"error_data":"Variables can't be at the start or end of the template.","is_transient":true,"fbtrace_id":"TRACE2"}}`,
			code: 100, sub: 2388299, typ: "OAuthException", message: "Invalid parameter",
			errorData: `"Variables can't be at the start or end of the template."`,
			details:   "Variables can't be at the start or end of the template.", transient: true, fbtrace: "TRACE2",
		},
		{
			name:   "unknown object (GraphMethodException 100/33), HTTP 400",
			status: 400,
			body:   `{"error":{"message":"Unsupported get request. Object with ID '123' does not exist","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"T3"}}`,
			code:   100, sub: 33, typ: "GraphMethodException", message: "Unsupported get request. Object with ID '123' does not exist", fbtrace: "T3",
		},
		{
			name:   "non-JSON 5xx body (HTML)",
			status: 502,
			body:   `<html><body>Bad Gateway</body></html>`,
			code:   0, message: "Bad Gateway",
		},
		{
			name:   "non-JSON 5xx plain text keeps the short text",
			status: 503,
			body:   "upstream connect error",
			code:   0, msgContain: "upstream connect error",
		},
		{
			name:   "JSON without an error object",
			status: 500,
			body:   `{"oops":true}`,
			code:   0, msgContain: "Internal Server Error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := graphtest.New(t, graphtest.Reply(tt.status, tt.body))
			c := f.NewClient(t, graph.WithRetry(graph.RetryPolicy{MaxAttempts: 1}))
			_, resp, err := c.GetObject(context.Background(), "123", nil)
			var ge *graph.Error
			if !errors.As(err, &ge) {
				t.Fatalf("err = %T %v, want *graph.Error", err, err)
			}
			if ge.HTTPStatus != tt.status || ge.Code != tt.code || ge.Subcode != tt.sub || ge.Type != tt.typ ||
				ge.IsTransient != tt.transient || ge.FBTraceID != tt.fbtrace {
				t.Errorf("got %+v", ge)
			}
			if tt.message != "" && ge.Message != tt.message {
				t.Errorf("Message = %q, want %q", ge.Message, tt.message)
			}
			if tt.msgContain != "" && !strings.Contains(ge.Message, tt.msgContain) {
				t.Errorf("Message = %q, want it to contain %q", ge.Message, tt.msgContain)
			}
			if strings.Contains(ge.Message, "<") {
				t.Errorf("HTML leaked into Message: %q", ge.Message)
			}
			if tt.errorData == "" {
				if len(ge.ErrorData) != 0 {
					t.Errorf("ErrorData = %s, want none", ge.ErrorData)
				}
			} else {
				graphtest.JSONEqual(t, "error_data", ge.ErrorData, []byte(tt.errorData))
			}
			if ge.Details() != tt.details {
				t.Errorf("Details() = %q, want %q", ge.Details(), tt.details)
			}
			if ge.Method != "GET" || ge.Path != "/123" {
				t.Errorf("Method/Path = %s %s", ge.Method, ge.Path)
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Errorf("Response = %+v, want status %d", resp, tt.status)
			}
			if tt.fbtrace != "" && !strings.Contains(ge.Error(), tt.fbtrace) {
				t.Errorf("Error() = %q lacks the fbtrace_id", ge.Error())
			}
			// FailureData carries Meta's fields for data on failure.
			fd := ge.FailureData()
			if fd["code"] != tt.code || fd["http_status"] != tt.status {
				t.Errorf("FailureData = %v", fd)
			}
			if tt.fbtrace != "" && fd["fbtrace_id"] != tt.fbtrace {
				t.Errorf("FailureData fbtrace_id = %v", fd["fbtrace_id"])
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name    string
		err     *graph.Error
		want    []string
		wantNot []string
	}{
		{
			name: "131047 outside the window: send a template",
			err:  &graph.Error{HTTPStatus: 400, Code: 131047, Message: "Re-engagement message", FBTraceID: "FB131047"},
			want: []string{"131047", "24 hours", "template", "WHATSAPP_SEND_TEMPLATE_MESSAGE", "fbtrace_id: FB131047", "Meaning:", "What to do:"},
		},
		{
			name: "132001 template missing in that language",
			err:  &graph.Error{HTTPStatus: 404, Code: 132001, Message: "(#132001) Template name does not exist in the translation", FBTraceID: "FB132001"},
			want: []string{"132001", "HTTP 404", "APPROVED", "language", "en_US", "fbtrace_id: FB132001"},
		},
		{
			name:    "190 without a subcode: invalid or expired, not blamed on expiry alone",
			err:     &graph.Error{HTTPStatus: 401, Code: 190, Message: "Invalid OAuth access token - Cannot parse access token", Type: "OAuthException"},
			want:    []string{"190", "invalid or has expired", "WHATSAPP_ACCESS_TOKEN", "do not retry"},
			wantNot: []string{"token has expired"},
		},
		{
			name: "190/463 token expired",
			err:  &graph.Error{HTTPStatus: 401, Code: 190, Subcode: 463, Message: "Error validating access token: Session has expired", Type: "OAuthException"},
			want: []string{"190", "subcode 463", "the access token has expired", "new WHATSAPP_ACCESS_TOKEN", "do not retry"},
		},
		{
			name:    "190/460 password changed",
			err:     &graph.Error{HTTPStatus: 401, Code: 190, Subcode: 460, Message: "Error validating access token: The session has been invalidated because the user changed their password", Type: "OAuthException"},
			want:    []string{"190", "subcode 460", "password", "WHATSAPP_ACCESS_TOKEN", "do not retry"},
			wantNot: []string{"expired"},
		},
		{
			name:    "190/467 token invalid (mistyped, revoked)",
			err:     &graph.Error{HTTPStatus: 401, Code: 190, Subcode: 467, Message: "Error validating access token: Invalid access token", Type: "OAuthException"},
			want:    []string{"190", "subcode 467", "the access token is invalid", "WHATSAPP_ACCESS_TOKEN", "do not retry"},
			wantNot: []string{"expired"},
		},
		{
			name:    "190 with an unknown subcode falls back to code 190",
			err:     &graph.Error{HTTPStatus: 401, Code: 190, Subcode: 999, Message: "Error validating access token", Type: "OAuthException"},
			want:    []string{"invalid or has expired", "WHATSAPP_ACCESS_TOKEN"},
			wantNot: []string{"token has expired"},
		},
		{
			name: "100 subcode 33: object missing",
			err:  &graph.Error{HTTPStatus: 400, Code: 100, Subcode: 33, Message: "Unsupported get request.", FBTraceID: "FB33"},
			want: []string{"100", "subcode 33", "does not exist", "WHATSAPP_GET_PHONE_NUMBERS", "fbtrace_id: FB33"},
		},
		{
			name: "100 with an unknown subcode falls back to code 100",
			err:  &graph.Error{HTTPStatus: 400, Code: 100, Subcode: 999, Message: "Invalid parameter"},
			want: []string{"invalid parameter", "do not retry unchanged"},
		},
		{
			name: "130429 throughput: retry later",
			err:  &graph.Error{HTTPStatus: 400, Code: 130429, Message: "(#130429) Rate limit hit"},
			want: []string{"130429", "throughput", "retry"},
		},
		{
			name: "details from error_data are included once",
			err:  &graph.Error{HTTPStatus: 400, Code: 131009, Message: "(#131009) Parameter value is not valid", ErrorData: []byte(`{"details":"to is not a valid phone number"}`)},
			want: []string{"Details: to is not a valid phone number"},
		},
		{
			name: "unknown 5xx code is a temporary problem",
			err:  &graph.Error{HTTPStatus: 502, Code: 0, Message: "Bad Gateway"},
			want: []string{"HTTP 502", "temporary", "retry"},
		},
		{
			name:    "non-JSON 404 (wrong base URL) is not blamed on the token",
			err:     &graph.Error{HTTPStatus: 404, Code: 0, Message: "Not Found"},
			want:    []string{"HTTP 404", "Not Found"},
			wantNot: []string{"token", "Meaning:"},
		},
		{
			name: "Meta's real code 0 is an auth problem",
			err:  &graph.Error{HTTPStatus: 401, Code: 0, Type: "OAuthException", Message: "(#0) AuthException"},
			want: []string{"access token is invalid", "WHATSAPP_ACCESS_TOKEN"},
		},
		{
			name:    "unknown 4xx code has no invented meaning",
			err:     &graph.Error{HTTPStatus: 400, Code: 987654, Message: "something"},
			want:    []string{"987654", "something"},
			wantNot: []string{"Meaning:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.err.Describe()
			for _, w := range tt.want {
				if !strings.Contains(d, w) {
					t.Errorf("Describe() lacks %q:\n%s", w, d)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(d, w) {
					t.Errorf("Describe() contains %q:\n%s", w, d)
				}
			}
		})
	}
}

func TestThrottled(t *testing.T) {
	for code, want := range map[int]bool{4: true, 80007: true, 130429: true, 131056: true, 131057: true,
		100: false, 131047: false, 190: false, 131000: false, 0: false} {
		if got := (&graph.Error{Code: code}).Throttled(); got != want {
			t.Errorf("code %d: Throttled() = %v, want %v", code, got, want)
		}
	}
}

func TestOutcomeUnknownDescribe(t *testing.T) {
	e := &graph.OutcomeUnknownError{Method: "POST", Path: "/1/messages", Err: errors.New("EOF")}
	d := strings.ToLower(e.Describe())
	for _, w := range []string{"may have been sent", "not retried"} {
		if !strings.Contains(d, w) {
			t.Errorf("Describe() lacks %q: %s", w, d)
		}
	}
	if fd := e.FailureData(); fd["may_have_been_sent"] != true {
		t.Errorf("FailureData = %v", fd)
	}
	if !errors.Is(e, e.Err) {
		t.Error("OutcomeUnknownError does not unwrap")
	}
}

// TestNoSecretsInErrors drives every kind of failure with a token and an
// app secret configured and checks neither (nor the proof derived from
// them, which url.Error would print with the query) appears in any text.
func TestNoSecretsInErrors(t *testing.T) {
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write([]byte(graphtest.Token))
	proof := hex.EncodeToString(m.Sum(nil))
	secrets := []string{graphtest.Token, testSecret, proof, "appsecret_proof"}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + graphtest.Prefix + "/"
	_ = closed.Close()

	send := func(ctx context.Context, c *graph.Client) error {
		_, _, err := c.SendMessage(ctx, pnID, &graph.Message{To: "+16505551234", Type: "text", Text: &graph.Text{Body: "hi"}})
		return err
	}
	get := func(ctx context.Context, c *graph.Client) error {
		_, _, err := c.GetObject(ctx, "1", []string{"id"})
		return err
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		base    string
		opts    []graph.Option
		call    func(context.Context, *graph.Client) error
	}{
		{name: "Meta error", handler: graphtest.Reply(400, graphtest.MetaError(131047, 0, `"error_data":{"details":"window closed"}`)), call: send},
		{name: "Meta 5xx HTML", handler: graphtest.Reply(500, `<html>oops</html>`), call: get},
		{name: "connection refused (GET)", base: closedURL, call: get},
		{name: "connection refused (POST)", base: closedURL, call: send},
		{name: "connection dropped (POST)", handler: graphtest.DropConnection, call: send},
		{name: "connection dropped (GET)", handler: graphtest.DropConnection, call: get},
		{name: "timeout (POST)", handler: slow, opts: []graph.Option{graph.WithTimeout(30 * time.Millisecond)}, call: send},
		{name: "timeout (GET)", handler: slow, opts: []graph.Option{graph.WithTimeout(30 * time.Millisecond)}, call: get},
		{name: "media download refused", base: closedURL, call: func(ctx context.Context, c *graph.Client) error {
			_, _, _, err := c.DownloadMedia(ctx, strings.TrimSuffix(closedURL, graphtest.Prefix+"/")+graphtest.CDNPath+"?mid=1&hash=SIGNED", nil, 10)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.handler
			if h == nil {
				h = graphtest.Reply(200, `{}`)
			}
			f := graphtest.New(t, h)
			opts := append([]graph.Option{graph.WithAppSecretProof(testSecret)}, tt.opts...)
			if tt.base != "" {
				opts = append(opts, graph.WithBaseURL(tt.base))
			}
			c := f.NewClient(t, opts...)
			err := tt.call(context.Background(), c)
			if err == nil {
				t.Fatal("no error")
			}
			texts := []string{err.Error()}
			var d interface{ Describe() string }
			if errors.As(err, &d) {
				texts = append(texts, d.Describe())
			}
			for _, text := range texts {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("error text leaks %q:\n%s", s, text)
					}
				}
				if strings.Contains(text, "SIGNED") {
					t.Errorf("error text leaks the media URL's query:\n%s", text)
				}
			}
		})
	}
}

// slow answers after 2 s unless the client gives up first.
func slow(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(2 * time.Second):
		graphtest.Reply(200, sendOK)(w, r)
	}
}

// TestExplain: the one table of codes serves Describe and every other
// explainer (the status tools) through Explain; ErrorCodes lists it in
// order, and a subcode refines its code.
func TestExplain(t *testing.T) {
	codes := graph.ErrorCodes()
	if len(codes) < 50 {
		t.Fatalf("ErrorCodes lists %d codes, want the whole table of docs/cloud-api.md#error-codes", len(codes))
	}
	for i, code := range codes {
		if i > 0 && codes[i-1] >= code {
			t.Errorf("ErrorCodes not ascending at %d: %d then %d", i, codes[i-1], code)
		}
		meaning, action, ok := graph.Explain(code, 0)
		if !ok || meaning == "" || action == "" {
			t.Errorf("Explain(%d, 0) = %q, %q, %v", code, meaning, action, ok)
			continue
		}
		// Describe says the very same words for an error Meta answers.
		d := (&graph.Error{HTTPStatus: 400, Type: "OAuthException", Code: code, Message: "m"}).Describe()
		if !strings.Contains(d, "Meaning: "+meaning+". What to do: "+action) {
			t.Errorf("code %d: Describe() %q does not use Explain's words", code, d)
		}
	}
	m190, _, _ := graph.Explain(190, 0)
	m463, a463, ok := graph.Explain(190, 463)
	if !ok || m463 == m190 || !strings.Contains(m463, "expired") || a463 == "" {
		t.Errorf("Explain(190, 463) = %q, %q, %v: want the subcode's own words", m463, a463, ok)
	}
	if m, _, ok := graph.Explain(190, 999); !ok || m != m190 {
		t.Errorf("Explain(190, 999) = %q, %v: an unknown subcode falls back to its code", m, ok)
	}
	if m, a, ok := graph.Explain(999999, 0); ok || m != "" || a != "" {
		t.Errorf("Explain(999999, 0) = %q, %q, %v: want nothing for an unknown code", m, a, ok)
	}
}

// TestExplainCoversTheDocsTable: the codes graph explains are exactly the
// codes of docs/cloud-api.md#error-codes (a range row counts by its first
// code), so the table and the code cannot drift apart and every code the
// docs list gets advice wherever it is explained.
func TestExplainCoversTheDocsTable(t *testing.T) {
	doc, err := os.ReadFile("../docs/cloud-api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(doc), "\n### Error codes\n")
	if !ok {
		t.Fatal("docs/cloud-api.md has no ### Error codes section")
	}
	sec, _, _ = strings.Cut(sec, "\n### ")
	row := regexp.MustCompile(`(?m)^\| (\d[\d, –-]*) \|`)
	var documented []int
	for _, m := range row.FindAllStringSubmatch(sec, -1) {
		for _, part := range strings.Split(m[1], ",") {
			first, _, _ := strings.Cut(strings.TrimSpace(part), "–")
			n, err := strconv.Atoi(strings.TrimSpace(first))
			if err != nil {
				t.Fatalf("row %q: %v", m[0], err)
			}
			documented = append(documented, n)
		}
	}
	slices.Sort(documented)
	if got := graph.ErrorCodes(); !slices.Equal(got, documented) {
		t.Errorf("graph explains %v\nthe docs table lists %v", got, documented)
	}
}
