package graph_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// TestErrorsNeverQuoteTheToken: Meta quotes a malformed token back in its
// message, and a proxy may quote the request; the error the client returns
// (which reaches logs and tool results) has the token in no spelling.
func TestErrorsNeverQuoteTheToken(t *testing.T) {
	const token = "EAAtest/secret+token=="
	for _, body := range []string{
		`{"error":{"message":"Malformed access token ` + token + `","type":"OAuthException","code":190,"fbtrace_id":"x"}}`,
		`{"error":{"message":"bad","code":100,"error_data":{"details":"token ` + url.QueryEscape(token) + ` and EAAtest\/secret+token=="}}}`,
		`{"error":{"message":"bad","code":100,"error_user_msg":"` + url.PathEscape(token) + `"}}`,
	} {
		f := graphtest.New(t, graphtest.Reply(400, body))
		c, err := graph.NewClient(token, graph.WithBaseURL(f.BaseURL()), graph.WithHTTPClient(f.Client()), graph.WithRetry(graph.RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.GetPhoneNumber(context.Background(), "106540352242922", nil)
		if err == nil {
			t.Fatal("want an error")
		}
		ge, _ := err.(*graph.Error)
		all := err.Error()
		if ge != nil {
			all += ge.Message + ge.UserMsg + string(ge.ErrorData)
		}
		for _, form := range []string{token, url.QueryEscape(token), url.PathEscape(token), `EAAtest\/secret`} {
			if strings.Contains(all, form) {
				t.Errorf("the error quotes the token (%q): %s", form, all)
			}
		}
		if !strings.Contains(all, "[redacted]") {
			t.Errorf("the error lost what Meta said around the token: %s", all)
		}
	}
}
