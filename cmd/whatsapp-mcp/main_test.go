package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Test credentials: the token is a made-up value whose appearance in any
// output would reveal a leak.
const (
	testToken = "EAAtest-secret-token-0123456789"
	testWABA  = "900000000000001"
	testPhone = "106540352242922"
)

// fakeGraph answers the few Graph routes the tests call, and counts requests.
type fakeGraph struct {
	*httptest.Server
	requests atomic.Int64
	last     atomic.Value // the last request's path
}

func (f *fakeGraph) lastPath() string { p, _ := f.last.Load().(string); return p }

func newFakeGraph(t *testing.T) *fakeGraph {
	t.Helper()
	f := &fakeGraph{}
	mux := http.NewServeMux()
	graphErr := func(w http.ResponseWriter, status, code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": msg, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}})
	}
	mux.HandleFunc("GET /{version}/"+testWABA+"/phone_numbers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io := `{"data":[{"id":"` + testPhone + `","display_phone_number":"+1 555-078-3881","verified_name":"Test Shop","quality_rating":"GREEN"}],"paging":{"cursors":{"before":"b","after":"a"}}}`
		w.Write([]byte(io))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		graphErr(w, 400, 100, "Unsupported get request. Object with ID does not exist")
	})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.last.Store(r.URL.Path)
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			graphErr(w, 401, 190, "Invalid OAuth access token - Cannot parse access token")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// runCmd runs the CLI in-process.
func runCmd(t *testing.T, envm map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code = run(ctx, args, envOf(envm), strings.NewReader(stdin), &out, &errb)
	if strings.Contains(out.String()+errb.String(), testToken) {
		t.Errorf("the access token appears in the output of %v", args)
	}
	return code, out.String(), errb.String()
}

func TestToolsCommand(t *testing.T) {
	// No credentials at all.
	code, out, errOut := runCmd(t, nil, "", "tools")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("stdout is not a JSON array: %v", err)
	}
	if len(list) < 19 {
		t.Fatalf("%d tools, want at least 19", len(list))
	}
	seen := map[string]bool{}
	for _, tl := range list {
		var name, title, desc, toolset string
		json.Unmarshal(tl["name"], &name)
		json.Unmarshal(tl["title"], &title)
		json.Unmarshal(tl["description"], &desc)
		json.Unmarshal(tl["toolset"], &toolset)
		if name == "" || title == "" || desc == "" || toolset == "" || seen[name] {
			t.Errorf("tool %q: missing name, title, description or toolset, or duplicate", name)
		}
		seen[name] = true
		var ann map[string]any
		json.Unmarshal(tl["annotations"], &ann)
		for _, k := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
			if _, ok := ann[k].(bool); !ok {
				t.Errorf("%s: annotations.%s missing", name, k)
			}
		}
		for _, k := range []string{"inputSchema", "outputSchema"} {
			var schema map[string]any
			if err := json.Unmarshal(tl[k], &schema); err != nil || schema["type"] != "object" {
				t.Errorf("%s: %s is not an object schema", name, k)
			}
		}
	}
	for _, want := range []string{"WHATSAPP_SEND_MESSAGE", "WHATSAPP_GET_PHONE_NUMBERS", "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER"} {
		if !seen[want] {
			t.Errorf("%s missing from the catalog", want)
		}
	}

	t.Run("filters", func(t *testing.T) {
		code, out, _ := runCmd(t, map[string]string{"WHATSAPP_READ_ONLY": "true"}, "", "tools", "--toolsets", "account")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		var ro []struct {
			Name        string
			Toolset     string
			Annotations struct {
				ReadOnly bool `json:"readOnlyHint"`
			}
		}
		json.Unmarshal([]byte(out), &ro)
		if len(ro) == 0 {
			t.Fatal("no tool left")
		}
		for _, tl := range ro {
			if !tl.Annotations.ReadOnly || tl.Toolset != "account" {
				t.Errorf("%s (%s, readOnly %v) listed with --read-only --toolsets account", tl.Name, tl.Toolset, tl.Annotations.ReadOnly)
			}
		}
	})
	t.Run("unknown toolset", func(t *testing.T) {
		code, out, errOut := runCmd(t, nil, "", "tools", "--toolsets", "mesages")
		if code != 2 || out != "" || !strings.Contains(errOut, "valid: all, messages, media, templates, account, status") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestCallExitCodes(t *testing.T) {
	g := newFakeGraph(t)
	envm := map[string]string{
		"WHATSAPP_ACCESS_TOKEN": testToken, "WHATSAPP_GRAPH_URL": g.URL, "WHATSAPP_WABA_ID": testWABA,
		"HOME": t.TempDir(), "XDG_DATA_HOME": t.TempDir(),
	}
	cases := []struct {
		name     string
		env      map[string]string
		stdin    string
		args     []string
		code     int
		stdout   string // substring of stdout
		stderr   string // substring of stderr
		requests int64  // Graph requests made (-1: don't check)
	}{
		{name: "success", args: []string{"call", "WHATSAPP_GET_PHONE_NUMBERS", `{"limit":5}`}, code: 0,
			stdout: `"successful": true`, requests: 1},
		{name: "input from stdin", stdin: `{}`, args: []string{"call", "WHATSAPP_GET_PHONE_NUMBERS", "-"}, code: 0,
			stdout: testPhone, requests: 1},
		{name: "default input", args: []string{"call", "WHATSAPP_GET_PHONE_NUMBERS"}, code: 0, requests: 1},
		{name: "Graph error is a tool failure", args: []string{"call", "WHATSAPP_GET_PHONE_NUMBER", `{"phone_number_id":"123"}`}, code: 1,
			stdout: `"successful": false`, requests: -1},
		{name: "invalid input fails before Graph", args: []string{"call", "WHATSAPP_SEND_MESSAGE", `{"to_number":"abc","phone_number_id":"1","text":"hi"}`}, code: 1,
			stdout: `to_number`, requests: 0},
		{name: "bad token", env: map[string]string{"WHATSAPP_ACCESS_TOKEN": "wrong"}, args: []string{"call", "WHATSAPP_GET_PHONE_NUMBERS"}, code: 1,
			stdout: "190", requests: 1},
		{name: "unknown tool", args: []string{"call", "WHATSAPP_NOPE", "{}"}, code: 2, stderr: "no tool is named", requests: 0},
		{name: "disabled tool", args: []string{"call", "--read-only", "WHATSAPP_SEND_MESSAGE", "{}"}, code: 2,
			stderr: "disabled by this server's configuration", requests: 0},
		{name: "not JSON", args: []string{"call", "WHATSAPP_GET_PHONE_NUMBERS", "{limit:5}"}, code: 2, stderr: "not valid JSON", requests: 0},
		{name: "no tool", args: []string{"call"}, code: 2, stderr: "want TOOL", requests: 0},
		{name: "no token", env: map[string]string{"WHATSAPP_ACCESS_TOKEN": ""}, args: []string{"call", "WHATSAPP_GET_PHONE_NUMBERS"}, code: 2,
			stderr: "WHATSAPP_ACCESS_TOKEN is not set", requests: 0},
		{name: "sandbox", env: map[string]string{"WHATSAPP_ACCESS_TOKEN": ""}, args: []string{"call", "--sandbox", "WHATSAPP_GET_PHONE_NUMBER", `{"phone_number_id":"106540352242922"}`}, code: 0,
			stdout: `"verified_name"`, requests: 0},
		{name: "sandbox tool failure", args: []string{"call", "--sandbox", "WHATSAPP_GET_TEMPLATE_STATUS", `{"template_id":"999"}`}, code: 1,
			stdout: `"successful": false`, requests: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range envm {
				e[k] = v
			}
			for k, v := range tc.env {
				e[k] = v
			}
			before := g.requests.Load()
			code, out, errOut := runCmd(t, e, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("stdout %q\nstderr %q\nwant %q / %q", out, errOut, tc.stdout, tc.stderr)
			}
			if tc.code != 2 {
				var env map[string]any
				if err := json.Unmarshal([]byte(out), &env); err != nil {
					t.Fatalf("stdout is not the JSON envelope: %v", err)
				}
			}
			if n := g.requests.Load() - before; tc.requests >= 0 && n != tc.requests {
				t.Errorf("%d Graph requests, want %d", n, tc.requests)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := runCmd(t, nil, ""); code != 2 || !strings.Contains(errOut, "Commands:") {
		t.Errorf("no command: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, nil, "", "serve"); code != 2 || !strings.Contains(errOut, `unknown command "serve"`) {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCmd(t, nil, "", "help"); code != 0 || !strings.Contains(out, "whatsapp-mcp http --sandbox") {
		t.Errorf("help: exit %d, %q", code, out)
	}
	if code, out, _ := runCmd(t, nil, "", "version"); code != 0 || !strings.HasPrefix(out, "whatsapp-mcp ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	for _, c := range []string{"stdio", "http", "tools", "call"} {
		code, out, _ := runCmd(t, nil, "", c, "--help")
		if code != 0 || !strings.Contains(out, "Usage: whatsapp-mcp "+c) || !strings.Contains(out, "WHATSAPP_") {
			t.Errorf("%s --help: exit %d, %q", c, code, out)
		}
	}
	if code, out, _ := runCmd(t, nil, "", "sandbox", "inbound", "--help"); code != 0 || !strings.Contains(out, "--from") {
		t.Errorf("sandbox inbound --help: exit %d, %q", code, out)
	}
	if code, _, errOut := runCmd(t, nil, "", "sandbox", "inbound", "--from", "+1650"); code != 2 || !strings.Contains(errOut, "--text are required") {
		t.Errorf("sandbox inbound without --text: exit %d, %q", code, errOut)
	}
	for _, c := range []string{"stdio", "http"} {
		code, _, errOut := runCmd(t, map[string]string{"HOME": t.TempDir()}, "", c)
		if code != 2 || !strings.Contains(errOut, "WHATSAPP_ACCESS_TOKEN is not set") || !strings.Contains(errOut, "--sandbox") {
			t.Errorf("%s without a token: exit %d, %q", c, code, errOut)
		}
	}
}
