package server_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
)

func TestHTTPTokens(t *testing.T) {
	for in, want := range map[string][]string{
		"":                    nil,
		"one":                 {"one"},
		"old,new":             {"old", "new"},
		" old , new ,":        {"old", "new"},
		",,":                  nil,
		"a-b.c_d~e+f/g==,h=i": {"a-b.c_d~e+f/g==", "h=i"},
	} {
		if got := server.HTTPTokens(in); !reflect.DeepEqual(got, want) {
			t.Errorf("HTTPTokens(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTokenRotation: with "old,new" configured, both tokens work on /mcp
// and REST while clients move, and nothing else does.
func TestTokenRotation(t *testing.T) {
	const oldTok, newTok = "old-token-0123456789", "new-token-9876543210"
	s := newServer(t, server.Options{HTTPToken: oldTok + ", " + newTok})
	ts := httptest.NewServer(s.HTTPHandler(s.RESTRoute(server.RESTOptions{})))
	defer ts.Close()
	for tok, want := range map[string]int{
		oldTok:                 http.StatusOK,
		newTok:                 http.StatusOK,
		"":                     http.StatusUnauthorized,
		oldTok + "," + newTok:  http.StatusUnauthorized,
		oldTok + ", " + newTok: http.StatusUnauthorized,
		oldTok[:5]:             http.StatusUnauthorized,
		newTok + "x":           http.StatusUnauthorized,
		",":                    http.StatusUnauthorized,
	} {
		for _, path := range []string{"/v1/actions", "/mcp"} {
			method, body := "GET", ""
			if path == "/mcp" {
				method, body = "POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`
			}
			req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%s %s with token %q: %d, want %d", method, path, tok, resp.StatusCode, want)
			}
		}
	}
}

// TestTokenListWithoutToken: a token setting of only commas is a
// configuration error, not an open server.
func TestTokenListWithoutToken(t *testing.T) {
	for _, v := range []string{",", " , ,"} {
		_, err := server.New(testCatalog(), server.Options{HTTPToken: v, TokenSource: "MY_TOKEN"})
		if err == nil || !strings.Contains(err.Error(), "MY_TOKEN") {
			t.Errorf("HTTPToken %q: err = %v", v, err)
		}
	}
}
