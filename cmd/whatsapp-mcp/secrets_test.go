package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// The secrets of TestSecretsNeverLeak: distinctive values, each with a core
// of letters and digits (found whatever escaping surrounds it, and in a
// truncated copy) and a tail of characters that URL, JSON and base64
// encodings change.
var secretValues = []struct{ name, value, core string }{
	{"WHATSAPP_ACCESS_TOKEN", "EAAGsecAccessCoreQ7x1/Tk+9=", "secAccessCoreQ7x1"},
	{"WHATSAPP_APP_SECRET", "appSecretCoreW3m8/z+&q=", "appSecretCoreW3m8"},
	{"WHATSAPP_VERIFY_TOKEN", "verifyTokCoreK5p2/+=?", "verifyTokCoreK5p2"},
	{"WHATSAPP_MCP_TOKEN", "mcpBearerCoreH4v6/+=", "mcpBearerCoreH4v6"},
	{"the PostgreSQL password", "pgPassCoreZ8n3/+=@:", "pgPassCoreZ8n3"},
}

func secretOf(name string) string {
	for _, s := range secretValues {
		if s.name == name {
			return s.value
		}
	}
	panic(name)
}

// secretForm is one spelling of a secret a leak could take.
type secretForm struct{ secret, form, text string }

// secretForms are the spellings searched for: the value, its URL (query
// and path), JSON, base64 (four alphabets) and hex encodings, and its core.
// (appsecret_proof, an HMAC of the token under the app secret, is meant to
// be sent and reveals neither.)
var secretForms = func() []secretForm {
	var out []secretForm
	for _, s := range secretValues {
		j, _ := json.Marshal(s.value)
		seen := map[string]bool{}
		for _, f := range []struct{ form, text string }{
			{"raw", s.value},
			{"core", s.core},
			{"url.QueryEscape", url.QueryEscape(s.value)},
			{"url.PathEscape", url.PathEscape(s.value)},
			{"JSON", string(j[1 : len(j)-1])},
			{"base64", base64.StdEncoding.EncodeToString([]byte(s.value))},
			{"base64url", base64.URLEncoding.EncodeToString([]byte(s.value))},
			{"raw base64", base64.RawStdEncoding.EncodeToString([]byte(s.value))},
			{"raw base64url", base64.RawURLEncoding.EncodeToString([]byte(s.value))},
			{"hex", hex.EncodeToString([]byte(s.value))},
		} {
			if !seen[f.text] {
				seen[f.text] = true
				out = append(out, secretForm{s.name, f.form, f.text})
			}
		}
	}
	return out
}()

// secretRedact replaces every spelling of every secret in s, so that what
// a failing test prints carries none of them.
func secretRedact(s string) string {
	forms := slices.Clone(secretForms)
	slices.SortFunc(forms, func(a, b secretForm) int { return len(b.text) - len(a.text) }) // longest first
	for _, f := range forms {
		s = strings.ReplaceAll(s, f.text, "«"+f.secret+" ("+f.form+")»")
	}
	return s
}

// secretScan reports each secret found in data once, with the spellings
// found and the first place (redacted) to fix it by.
func secretScan(t *testing.T, where string, data []byte) (found int) {
	t.Helper()
	for _, s := range secretValues {
		var forms []string
		first := -1
		for _, f := range secretForms {
			if f.secret != s.name {
				continue
			}
			if i := bytes.Index(data, []byte(f.text)); i >= 0 {
				forms = append(forms, f.form)
				if first < 0 || i < first {
					first = i
				}
			}
		}
		if first >= 0 {
			found++
			from, to := max(0, first-120), min(len(data), first+len(s.value)+200)
			t.Errorf("%s: %s appears (%s) at byte %d: …%s…", where, s.name, strings.Join(forms, ", "), first, secretRedact(string(data[from:to])))
		}
	}
	return found
}

// secretGraph is the Graph API of TestSecretsNeverLeak: the sandbox, keyed
// with the test's access token and app secret, behind a layer that tempts
// the server to leak them as a careless Meta or proxy would: every error
// answer quotes the Authorization header and the query (Meta's "Malformed
// access token EAA…" does), paging links carry access_token (Meta's do),
// and modes answer every request with a 401 quoting the token, or a text
// 502 quoting the header.
type secretGraph struct {
	sb       *sandbox.Sandbox
	mode     atomic.Value // "", "401" or "502"
	requests atomic.Int64
	tempted  atomic.Int64 // answers that quoted a secret
}

func (g *secretGraph) setMode(m string) { g.mode.Store(m) }

func (g *secretGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	auth := r.Header.Get("Authorization")
	token := strings.TrimSpace(strings.TrimPrefix(auth, "Bearer"))
	mode, _ := g.mode.Load().(string)
	if strings.HasPrefix(r.URL.Path, "/sandbox/") {
		mode = "" // media downloads: the sandbox's own signed URLs
	}
	switch mode {
	case "401":
		g.tempted.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "Malformed access token `+token+`"`)
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": "Malformed access token " + token, "type": "OAuthException", "code": 190, "error_subcode": 467,
			"error_data":       map[string]any{"details": "Authorization: " + auth + " query: " + r.URL.RawQuery},
			"error_user_title": "Token " + token, "error_user_msg": "The token " + token + " is not valid",
			"fbtrace_id": "Asecret401"}})
		return
	case "502":
		g.tempted.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "upstream refused Authorization=%s query=%s", auth, r.URL.RawQuery)
		return
	}
	rec := httptest.NewRecorder()
	g.sb.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var doc map[string]any
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && json.Unmarshal(body, &doc) == nil {
		changed := false
		if e, ok := doc["error"].(map[string]any); ok {
			e["message"] = fmt.Sprint(e["message"]) + " (the request had Authorization: " + auth + ", access_token=" + token + ")"
			e["error_user_msg"] = "Check the access token " + token
			if d, ok := e["error_data"].(map[string]any); ok {
				d["details"] = fmt.Sprint(d["details"]) + " [token " + token + "]"
			} else {
				e["error_data"] = map[string]any{"details": "token " + token + " query " + r.URL.RawQuery}
			}
			changed = true
		}
		if p, ok := doc["paging"].(map[string]any); ok {
			for _, k := range []string{"next", "previous"} {
				if link, ok := p[k].(string); ok {
					p[k] = link + "&access_token=" + url.QueryEscape(token)
					changed = true
				}
			}
		}
		if changed {
			g.tempted.Add(1)
			body, _ = json.Marshal(doc)
		}
	}
	maps.Copy(w.Header(), rec.Header())
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// secretRun is what one run of the server produced, to be searched.
type secretRun struct {
	t    *testing.T
	ctx  context.Context
	base string
	mu   sync.Mutex
	seen map[string][]byte // where → what was read there
}

func (r *secretRun) keep(where string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[where] = append(r.seen[where], data...)
	r.seen[where] = append(r.seen[where], '\n')
}

// http makes a request to the server and keeps the answer (status line,
// headers and body).
func (r *secretRun) http(method, path, auth string, body []byte, hdr ...string) (int, []byte) {
	r.t.Helper()
	req, err := http.NewRequestWithContext(r.ctx, method, r.base+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, secretRedact(path), secretRedact(err.Error()))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var h bytes.Buffer
	resp.Header.Write(&h)
	r.keep(method+" "+strings.SplitN(path, "?", 2)[0], fmt.Appendf(nil, "%d\n%s\n%s", resp.StatusCode, h.Bytes(), b))
	return resp.StatusCode, b
}

// secretTool is a catalog entry as `whatsapp-mcp tools` prints it.
type secretTool struct {
	Name    string         `json:"name"`
	Example map[string]any `json:"example"`
}

// secretIDs are the ids the examples name, replaced by ones the sandbox
// knows so that the second pass succeeds where the first failed.
type secretIDs struct{ message, media, template string }

func (ids secretIDs) apply(in map[string]any) map[string]any {
	out := maps.Clone(in)
	for k := range out {
		switch k {
		case "message_id", "reply_to_message_id":
			out[k] = ids.message
		case "message_ids":
			out[k] = []any{ids.message}
		case "media_id":
			if ids.media != "" {
				out[k] = ids.media
			}
		case "template_id":
			if ids.template != "" {
				out[k] = ids.template
			}
		}
	}
	return out
}

// TestSecretsNeverLeak runs the binary with distinctive values for every
// secret (the access token, the app secret, the verify token, the MCP
// token and a PostgreSQL password), debug logs in JSON and appsecret_proof,
// against a Graph that quotes the token back in every error and paging
// link, and drives everything that could leak one: every tool of the
// catalog over MCP and REST (examples, the same with the sandbox's ids,
// invalid inputs, unknown tools, a Graph answering 401 and 502), webhooks
// good and bad (signed by the sandbox with the app secret, a bad
// signature, none, the handshake with the right and a wrong verify token),
// /metrics, /readyz, /healthz, /v1/openapi.json and wrong bearer tokens;
// then `stdio` and `call` on the same store. None of the secrets, in any
// spelling, may be in the process's stdout and stderr, any answer, the
// store (the SQLite files' bytes; every row of every PostgreSQL table of
// the run's schema) or the downloaded media. The PostgreSQL run needs
// WHATSAPP_TEST_POSTGRES_DSN (the password is added to its URL; a trusting
// server ignores it); "unreachable postgres" needs nothing.
func TestSecretsNeverLeak(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		r := secretServe(t, "file:"+filepath.Join(dir, "events.db"))
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			r.keep("the store file "+f.Name(), b)
		}
		if len(files) == 0 {
			t.Error("no store file was written")
		}
		secretCheck(t, r)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		user := "postgres"
		if u.User != nil && u.User.Username() != "" {
			user = u.User.Username()
		}
		u.User = url.UserPassword(user, secretOf("the PostgreSQL password"))
		r := secretServe(t, u.String())
		secretDumpPostgres(t, r, dsn, u.Query().Get("search_path"))
		secretCheck(t, r)
	})
	t.Run("unreachable postgres", func(t *testing.T) {
		// Opening the store fails: the error names the store, never with
		// its password, whether in the URL's user info or its query.
		pass := secretOf("the PostgreSQL password")
		closed := freeAddr(t) // nothing listens there any more
		userinfo := (&url.URL{Scheme: "postgres", User: url.UserPassword("postgres", pass), Host: closed, Path: "/test", RawQuery: "sslmode=disable"}).String()
		query := (&url.URL{Scheme: "postgres", User: url.User("postgres"), Host: closed, Path: "/test",
			RawQuery: url.Values{"sslmode": {"disable"}, "password": {pass}}.Encode()}).String()
		r := &secretRun{t: t, seen: map[string][]byte{}}
		for name, dsn := range map[string]string{"user info": userinfo, "query": query} {
			for _, args := range [][]string{
				{"http", "--addr", freeAddr(t), "--log-level", "debug", "--log-format", "json"},
				{"call", "--log-level", "debug", "WHATSAPP_GET_PHONE_NUMBERS", "{}"},
			} {
				cmd := exec.Command(binPath, args...)
				cmd.Env = binEnv(t, "WHATSAPP_ACCESS_TOKEN="+secretOf("WHATSAPP_ACCESS_TOKEN"), "WHATSAPP_STORE="+dsn, "WHATSAPP_GRAPH_URL=http://"+closed)
				out, err := cmd.CombinedOutput()
				if code := cmd.ProcessState.ExitCode(); err == nil || code == 0 {
					t.Errorf("%s with an unreachable store (password in the %s): exit %d, want a failure", args[0], name, code)
				}
				r.keep(fmt.Sprintf("`%s` output (password in the %s)", args[0], name), out)
			}
		}
		secretCheck(t, r)
	})
}

// secretServe runs the whole scenario against a server on the store loc
// and returns everything read.
func secretServe(t *testing.T, loc string) *secretRun {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	access, appSecret, verify, mcpToken := secretOf("WHATSAPP_ACCESS_TOKEN"), secretOf("WHATSAPP_APP_SECRET"),
		secretOf("WHATSAPP_VERIFY_TOKEN"), secretOf("WHATSAPP_MCP_TOKEN")

	sb := sandbox.New(sandbox.Config{Token: access, AppSecret: appSecret, VerifyToken: verify})
	t.Cleanup(func() { sb.Close() })
	g := &secretGraph{sb: sb}
	gs := httptest.NewServer(g)
	t.Cleanup(gs.Close)

	mediaDir := t.TempDir()
	env := binEnv(t,
		"WHATSAPP_ACCESS_TOKEN="+access, "WHATSAPP_APP_SECRET="+appSecret, "WHATSAPP_VERIFY_TOKEN="+verify,
		"WHATSAPP_MCP_TOKEN="+mcpToken, "WHATSAPP_STORE="+loc, "WHATSAPP_GRAPH_URL="+gs.URL,
		"WHATSAPP_WABA_ID="+sandbox.WABAID, "WHATSAPP_MEDIA_DIR="+mediaDir, "WHATSAPP_APPSECRET_PROOF=true")
	logArgs := []string{"--log-level", "debug", "--log-format", "json"}
	p := startHTTP(t, ctx, env, logArgs...)
	r := &secretRun{t: t, ctx: ctx, base: p.base, seen: map[string][]byte{}}

	// The catalog, as `tools` prints it (with the secrets in its environment).
	tools := exec.CommandContext(ctx, binPath, "tools")
	tools.Env = env
	out, err := tools.Output()
	if err != nil {
		t.Fatalf("tools: %v", err)
	}
	r.keep("`tools` output", out)
	var catalog []secretTool
	if err := json.Unmarshal(out, &catalog); err != nil || len(catalog) < 20 {
		t.Fatalf("tools: %d tools, %v", len(catalog), err)
	}

	// A customer writes first, through the sandbox's webhook signed with
	// the app secret, so that sends are inside the window and the
	// conversation tools have something to return.
	sb.SetWebhookURL(p.base + "/webhook")
	inbound, err := sb.Inbound(ctx, sandbox.PhoneNumberID, "+16505551234", "Secret Tester", "where is my order?")
	if err != nil {
		t.Fatalf("inbound: %s", secretRedact(err.Error()))
	}
	ids := secretIDs{message: inbound}

	c := connectHTTP(t, ctx, p.base+"/mcp", "secrets-test", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + mcpToken}))
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %s", secretRedact(err.Error()))
	}
	b, _ := json.Marshal(list)
	r.keep("tools/list", b)
	if len(list.Tools) != len(catalog) {
		t.Errorf("tools/list has %d tools, the catalog %d", len(list.Tools), len(catalog))
	}
	var calls, failures, pagingSeen atomic.Int64
	var passMu sync.Mutex
	passes := map[string][2]int{} // pass → calls, failures
	var passOrder []string
	call := func(pass, name string, args any) map[string]any {
		t.Helper()
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = name, args
		res, err := c.CallTool(ctx, req)
		calls.Add(1)
		passMu.Lock()
		if _, ok := passes[pass]; !ok {
			passOrder = append(passOrder, pass)
		}
		n := passes[pass]
		n[0]++
		if err != nil || res.IsError {
			n[1]++
		}
		passes[pass] = n
		passMu.Unlock()
		where := "tools/call " + name + " (" + pass + ")"
		if err != nil {
			failures.Add(1)
			r.keep(where+" error", []byte(err.Error()))
			return nil
		}
		b, _ := json.Marshal(res)
		r.keep(where, b)
		for _, ct := range res.Content {
			if tc, ok := ct.(mcp.TextContent); ok {
				r.keep(where+" text", []byte(tc.Text))
			}
		}
		if res.IsError {
			failures.Add(1)
		}
		var env map[string]any
		sc, _ := json.Marshal(res.StructuredContent)
		json.Unmarshal(sc, &env)
		if pg, ok := env["paging"]; ok {
			pagingSeen.Add(1)
			pb, _ := json.Marshal(pg)
			r.keep("paging of "+name, pb)
		}
		return env
	}
	rest := func(name string, args any) {
		t.Helper()
		body, _ := json.Marshal(args)
		r.http(http.MethodPost, "/v1/actions/"+name+"/execute", mcpToken, body)
	}
	dataID := func(env map[string]any) string {
		d, _ := env["data"].(map[string]any)
		id, _ := d["id"].(string)
		return id
	}

	// Pass 1: every tool with its example (ids unknown to the sandbox give
	// Graph errors, which quote the token), over MCP and REST.
	for _, tl := range catalog {
		env := call("example", tl.Name, ids.apply(tl.Example))
		rest(tl.Name, ids.apply(tl.Example))
		switch tl.Name {
		case "WHATSAPP_UPLOAD_MEDIA":
			ids.media = dataID(env)
		case "WHATSAPP_CREATE_MESSAGE_TEMPLATE":
			ids.template = dataID(env)
		}
	}
	if ids.media == "" || ids.template == "" {
		t.Errorf("the upload or the template creation failed: media %q, template %q", ids.media, ids.template)
	}
	// Pass 2: the sandbox's ids; lists of one so that paging is returned.
	for _, tl := range catalog {
		in := ids.apply(tl.Example)
		for _, k := range []string{"limit", "max_results"} {
			if _, ok := in[k]; ok {
				in[k] = 1
			}
		}
		if tl.Name == "WHATSAPP_GET_MEDIA" {
			in["save_as"] = "secret-test-download.txt"
		}
		call("sandbox ids", tl.Name, in)
	}
	// Invalid inputs: nothing, wrong types, and values that are not ids.
	for _, tl := range catalog {
		call("empty", tl.Name, map[string]any{})
		call("wrong types", tl.Name, map[string]any{"phone_number_id": 12, "to_number": []any{"x"}, "text": map[string]any{},
			"limit": "many", "max_results": -1, "media_id": "../../etc/passwd", "template_id": true, "message_ids": "x"})
		rest(tl.Name, map[string]any{"phone_number_id": 12})
	}
	call("unknown", "WHATSAPP_NOPE", map[string]any{})
	r.http(http.MethodPost, "/v1/actions/WHATSAPP_NOPE/execute", mcpToken, []byte(`{}`))
	r.http(http.MethodPost, "/v1/actions/WHATSAPP_SEND_MESSAGE/execute", mcpToken, []byte(`{"to_number":`)) // not JSON

	// A Graph that refuses the token with a 401 quoting it, then a 502
	// text answer quoting the header.
	g.setMode("401")
	for _, tl := range catalog {
		call("graph 401", tl.Name, ids.apply(tl.Example))
		rest(tl.Name, ids.apply(tl.Example))
	}
	g.setMode("502")
	call("graph 502", "WHATSAPP_GET_PHONE_NUMBER", map[string]any{"phone_number_id": sandbox.PhoneNumberID}) // retried, logged
	call("graph 502", "WHATSAPP_SEND_MESSAGE", sendArgs)
	g.setMode("")

	// Webhooks: the sandbox's statuses of the sends above (signed with the
	// app secret) have arrived by now or arrive while these run.
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + sandbox.WABAID + `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"15550783881","phone_number_id":"` + sandbox.PhoneNumberID + `"},` +
		`"statuses":[{"id":"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJTRUNSRVQA","status":"delivered","timestamp":"1750030075","recipient_id":"16505551234"}]}}]}]}`)
	for _, w := range []struct {
		what string
		sig  string
		want int
	}{
		{"signed with the app secret", cloudapi.SignWebhook(appSecret, body), 200},
		{"a redelivery", cloudapi.SignWebhook(appSecret, body), 200},
		{"signed with another secret", cloudapi.SignWebhook(appSecret+"x", body), 401},
		{"signed with the verify token", cloudapi.SignWebhook(verify, body), 401},
		{"a malformed signature", "sha256=" + appSecret, 401},
		{"no signature", "", 401},
	} {
		var hdr []string
		if w.sig != "" {
			hdr = []string{cloudapi.SignatureHeader, w.sig}
		}
		if code, _ := r.http(http.MethodPost, "/webhook", "", body, hdr...); code != w.want {
			t.Errorf("webhook %s: %d, want %d", w.what, code, w.want)
		}
	}
	bad := []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":"` + access + `"}]}]}`)
	r.http(http.MethodPost, "/webhook", "", bad[:len(bad)-3], cloudapi.SignatureHeader, cloudapi.SignWebhook(appSecret, bad[:len(bad)-3])) // signed, not JSON
	challenge := "challenge-4242"
	for _, h := range []struct {
		token string
		want  int
	}{{verify, 200}, {verify + "x", 403}, {access, 403}, {"", 403}} {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {h.token}, "hub.challenge": {challenge}}
		if code, _ := r.http(http.MethodGet, "/webhook?"+q.Encode(), "", nil); code != h.want {
			t.Errorf("webhook handshake: %d, want %d", code, h.want)
		}
	}
	if err := sb.VerifyWebhook(ctx); err != nil { // the sandbox's own handshake, as Meta makes it
		t.Errorf("the sandbox's handshake: %s", secretRedact(err.Error()))
	}

	// The operational endpoints, and the answers to wrong tokens.
	for _, path := range []string{"/metrics", "/readyz", "/healthz", "/v1/openapi.json", "/v1/actions", "/v1/actions/WHATSAPP_SEND_MESSAGE"} {
		if code, _ := r.http(http.MethodGet, path, mcpToken, nil); code != 200 {
			t.Errorf("GET %s: %d", path, code)
		}
		r.http(http.MethodGet, path, mcpToken+"x", nil)
		r.http(http.MethodGet, path, access, nil)
	}
	r.http(http.MethodPost, "/mcp", access, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), "Accept", "application/json, text/event-stream")

	// The trigger pages back what the webhooks stored.
	ev := call("after webhooks", "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER", map[string]any{"phone_number_id": sandbox.PhoneNumberID})
	if d, _ := ev["data"].(map[string]any); d == nil || len(d["events"].([]any)) == 0 {
		t.Errorf("no status reached the trigger")
	}
	c.Close()
	secretStop(t, p)
	r.keep("the http server's stdout and stderr", []byte(p.output.String()))
	if !strings.Contains(p.output.String(), `"level":"DEBUG"`) {
		t.Errorf("no debug line in JSON in the server's output")
	}

	// stdio on the same store: a list with paging and a Graph error.
	sp := startStdio(t, ctx, env, append([]string{"stdio"}, logArgs...)...)
	for i, m := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"WHATSAPP_GET_PHONE_NUMBERS","arguments":{"limit":1}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"WHATSAPP_GET_TEMPLATE_STATUS","arguments":{"template_id":"999"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"WHATSAPP_GET_CONVERSATION","arguments":{"phone_number_id":"` + sandbox.PhoneNumberID + `","to_number":"16505551234"}}}`,
	} {
		sp.send(t, m)
		if i != 1 {
			select {
			case line := <-sp.lines:
				r.keep("stdio stdout", []byte(line))
			case <-ctx.Done():
				t.Fatal("stdio: no answer")
			}
		}
	}
	sp.stdin.Close()
	for line := range sp.lines {
		r.keep("stdio stdout", []byte(line))
	}
	if err := sp.cmd.Wait(); err != nil {
		t.Errorf("stdio exit: %v", err)
	}
	r.keep("stdio stderr", []byte(sp.stderr.String()))

	// call: a list with paging, a Graph error, a 401.
	for _, c := range []struct{ mode, tool, args string }{
		{"", "WHATSAPP_GET_MESSAGE_TEMPLATES", `{"limit":1}`},
		{"", "WHATSAPP_GET_MEDIA_INFO", `{"media_id":"1013859600285441"}`},
		{"401", "WHATSAPP_GET_PHONE_NUMBERS", `{}`},
	} {
		g.setMode(c.mode)
		cmd := exec.CommandContext(ctx, binPath, append([]string{"call", c.tool, c.args}, logArgs...)...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		r.keep("`call "+c.tool+"` stdout", stdout.Bytes())
		r.keep("`call "+c.tool+"` stderr", stderr.Bytes())
	}
	g.setMode("")

	entries, _ := os.ReadDir(mediaDir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(mediaDir, e.Name()))
		r.keep("the media file "+e.Name(), b)
	}
	var perPass []string
	for _, p := range passOrder {
		perPass = append(perPass, fmt.Sprintf("%s %d/%d failed", p, passes[p][1], passes[p][0]))
	}
	t.Logf("tool calls by pass: %s", strings.Join(perPass, "; "))
	t.Logf("%d tool calls over MCP (%d failed), %d with paging, %d Graph requests (%d answers quoting a secret), %d downloaded media files",
		calls.Load(), failures.Load(), pagingSeen.Load(), g.requests.Load(), g.tempted.Load(), len(entries))
	if pagingSeen.Load() == 0 || g.tempted.Load() == 0 || failures.Load() == 0 || failures.Load() == calls.Load() {
		t.Errorf("the scenario did not exercise paging, tempting Graph answers, failures and successes")
	}
	return r
}

// secretStop stops the server with SIGINT, printing nothing of its output.
func secretStop(t *testing.T, p *httpProcess) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("exit after SIGINT: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("no exit after SIGINT")
	}
}

// secretDumpPostgres keeps every row of every table of the run's schema.
func secretDumpPostgres(t *testing.T, r *secretRun, dsn, schema string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		t.Fatalf("tables of %s: %v %v", schema, tables, err)
	}
	n := 0
	for _, tb := range tables {
		ident := pgx.Identifier{schema, tb}.Sanitize()
		rows, err := conn.Query(ctx, `SELECT t::text FROM `+ident+` t`)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		n += len(vals)
		r.keep("the PostgreSQL table "+tb, []byte(strings.Join(vals, "\n")))
	}
	t.Logf("%d rows in %d tables of the schema", n, len(tables))
	if n == 0 {
		t.Error("nothing was stored")
	}
}

func secretCheck(t *testing.T, r *secretRun) {
	t.Helper()
	total := 0
	for _, where := range slices.Sorted(maps.Keys(r.seen)) {
		total += len(r.seen[where])
		secretScan(t, where, r.seen[where])
	}
	t.Logf("searched %d places, %d bytes, for %d spellings of %d secrets", len(r.seen), total, len(secretForms), len(secretValues))
}
