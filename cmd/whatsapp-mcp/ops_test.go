package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/syncbuf"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// TestOpenBindRefusedBinary: `http` on an address beyond loopback without
// WHATSAPP_MCP_TOKEN exits with a usage error saying how to start, and
// never listens.
func TestOpenBindRefusedBinary(t *testing.T) {
	free := freeAddr(t)
	port := free[strings.LastIndex(free, ":")+1:]
	for _, tc := range []struct {
		name string
		args []string
		env  []string
	}{
		{"all interfaces", []string{"--addr", "0.0.0.0:" + port}, nil},
		{"no host", []string{"--addr", ":" + port}, nil},
		{"from the environment", nil, []string{"WHATSAPP_HTTP_ADDR=0.0.0.0:" + port}},
		{"IPv6 any", []string{"--addr", "[::]:" + port}, nil},
		{"blank token", []string{"--addr", "0.0.0.0:" + port}, []string{"WHATSAPP_MCP_TOKEN=", "WHATSAPP_INSECURE_NO_AUTH=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, append([]string{"http", "--sandbox"}, tc.args...)...)
			cmd.Env = binEnv(t, tc.env...)
			var out syncbuf.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			for {
				select {
				case err := <-exited:
					if cmd.ProcessState.ExitCode() != exitUsage {
						t.Fatalf("exit %v, want status 2; output:\n%s", err, out.String())
					}
					for _, want := range []string{"WHATSAPP_MCP_TOKEN", "--insecure-no-auth", "loopback"} {
						if !strings.Contains(out.String(), want) {
							t.Errorf("the refusal does not mention %s:\n%s", want, out.String())
						}
					}
					if strings.Contains(out.String(), "serving MCP") {
						t.Errorf("it said it was serving:\n%s", out.String())
					}
					return
				case <-time.After(50 * time.Millisecond):
				}
				if resp, err := http.Get("http://127.0.0.1:" + port + "/healthz"); err == nil {
					resp.Body.Close()
					cmd.Process.Kill()
					t.Fatalf("listening on all interfaces without a token; output:\n%s", out.String())
				}
				if ctx.Err() != nil {
					t.Fatalf("neither exited nor listened; output:\n%s", out.String())
				}
			}
		})
	}
}

// TestBadFlagKeepsStdoutClean: in stdio mode stdout is the protocol stream,
// so a bad flag's error (and no 2.8 KB usage) goes to stderr; asked-for
// help stays on stdout.
func TestBadFlagKeepsStdoutClean(t *testing.T) {
	for _, c := range []string{"stdio", "http", "call", "tools"} {
		code, out, errOut := runCmd(t, nil, "", c, "--no-such-flag")
		if code != exitUsage || out != "" || !strings.Contains(errOut, "no-such-flag") || !strings.Contains(errOut, "--help") {
			t.Errorf("%s --no-such-flag: exit %d, stdout %d bytes %.80q, stderr %q", c, code, len(out), out, errOut)
		}
		if strings.Contains(errOut, "Flags (each with") {
			t.Errorf("%s --no-such-flag prints the whole usage: %d bytes", c, len(errOut))
		}
	}
	code, out, errOut := runCmd(t, nil, "", "stdio", "--log-level", "loud")
	if code != exitUsage || out != "" || !strings.Contains(errOut, "not a log level") {
		t.Errorf("stdio --log-level loud: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, _ := runCmd(t, nil, "", "stdio", "--help"); code != 0 || !strings.Contains(out, "Usage: whatsapp-mcp stdio") {
		t.Errorf("stdio --help: exit %d, %q", code, out)
	}
}

// TestLogFormat: --log-format json writes one JSON object per line on
// stderr; the per-call line is there at debug and not at info.
func TestLogFormat(t *testing.T) {
	call := func(t *testing.T, envm map[string]string, args ...string) []map[string]any {
		t.Helper()
		code, out, errOut := runCmd(t, envm, "", append([]string{"call", "--sandbox"}, append(args, "WHATSAPP_GET_PHONE_NUMBERS", "{}")...)...)
		if code != 0 || !strings.Contains(out, `"successful": true`) {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		var lines []map[string]any
		for line := range strings.Lines(errOut) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil || m["msg"] == nil || m["level"] == nil || m["time"] == nil {
				t.Errorf("stderr line is not a JSON log record: %q", line)
				continue
			}
			lines = append(lines, m)
		}
		return lines
	}
	hasCall := func(lines []map[string]any) bool {
		for _, m := range lines {
			if m["msg"] == "tool call" && m["tool"] == "WHATSAPP_GET_PHONE_NUMBERS" && m["level"] == "DEBUG" {
				return true
			}
		}
		return false
	}
	t.Run("info", func(t *testing.T) {
		lines := call(t, nil, "--log-format", "json")
		if len(lines) == 0 {
			t.Fatal("no log line at all")
		}
		if hasCall(lines) {
			t.Error("the per-call line is logged at info")
		}
	})
	t.Run("debug", func(t *testing.T) {
		if lines := call(t, map[string]string{"WHATSAPP_LOG_FORMAT": "json"}, "--log-level", "debug"); !hasCall(lines) {
			t.Errorf("no per-call line at debug: %v", lines)
		}
	})
	t.Run("text", func(t *testing.T) {
		code, _, errOut := runCmd(t, nil, "", "call", "--sandbox", "--log-level", "debug", "WHATSAPP_GET_PHONE_NUMBERS", "{}")
		if code != 0 || !strings.Contains(errOut, `msg="tool call"`) || strings.HasPrefix(errOut, "{") {
			t.Errorf("text format: exit %d, %q", code, errOut)
		}
	})
	t.Run("serving with the sandbox banner", func(t *testing.T) {
		base, stderr := inProcessHTTP(t, nil, "--sandbox", "--log-format", "json")
		if status, _, raw := getJSON(t, base+"/readyz"); status != 200 {
			t.Fatalf("/readyz: %d %s", status, raw)
		}
		n := 0
		for line := range strings.Lines(stderr.String()) {
			n++
			if !json.Valid([]byte(line)) {
				t.Errorf("stderr line is not JSON: %q", line)
			}
		}
		if n < 2 || !strings.Contains(stderr.String(), `"msg":"sandbox: an emulated`) {
			t.Errorf("%d lines, no sandbox record:\n%s", n, stderr.String())
		}
	})
	t.Run("bad", func(t *testing.T) {
		if code, _, errOut := runCmd(t, nil, "", "call", "--sandbox", "--log-format", "xml", "WHATSAPP_GET_PHONE_NUMBERS"); code != exitUsage || !strings.Contains(errOut, "text or json") {
			t.Errorf("--log-format xml: exit %d, %q", code, errOut)
		}
	})
}

// TestAPIVersion: calls go to v26.0 unless another version is asked for,
// and both v26.0 and v25.0 work against the sandbox.
func TestAPIVersion(t *testing.T) {
	g := newFakeGraph(t)
	envm := map[string]string{"WHATSAPP_ACCESS_TOKEN": testToken, "WHATSAPP_GRAPH_URL": g.URL, "WHATSAPP_WABA_ID": testWABA}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "/v26.0/"},
		{[]string{"--api-version", "v25.0"}, "/v25.0/"},
	} {
		code, out, errOut := runCmd(t, envm, "", append(append([]string{"call"}, tc.args...), "WHATSAPP_GET_PHONE_NUMBERS")...)
		if code != 0 || !strings.HasPrefix(g.lastPath(), tc.want) {
			t.Errorf("%v: exit %d, path %q, want %s…\n%s%s", tc.args, code, g.lastPath(), tc.want, out, errOut)
		}
	}
	send, _ := json.Marshal(sendArgs)
	for _, v := range []string{"", "v25.0", "v26.0"} {
		args := []string{"call", "--sandbox", "--log-level", "debug"}
		if v != "" {
			args = append(args, "--api-version", v)
		}
		code, out, errOut := runCmd(t, nil, "", append(args, "WHATSAPP_SEND_MESSAGE", string(send))...)
		want := "path=/" + cmp.Or(v, "v26.0") + "/"
		if code != 0 || !strings.Contains(errOut, want) {
			t.Errorf("sandbox with version %q: exit %d, want %s in the sandbox's log\n%s%s", v, code, want, out, errOut)
		}
	}
}

// inProcessHTTP runs `whatsapp-mcp http args…` in this process until the
// test ends and returns its base URL once /healthz answers.
func inProcessHTTP(t *testing.T, envm map[string]string, args ...string) (base string, stderr *syncbuf.Buffer) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"http", "--addr", addr}, args...), envOf(envm), strings.NewReader(""), io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("the server did not stop")
		}
	})
	base = "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return base, stderr
		}
		select {
		case code := <-done:
			t.Fatalf("exited with %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("never answered:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getJSON(t *testing.T, u string) (int, map[string]any, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: not JSON: %s", u, b)
	}
	return resp.StatusCode, m, string(b)
}

// TestReadyzFollowsTheStore: /readyz is 503, naming the store, within a
// second of the database going away, and 200 again once it is back,
// without a restart; /healthz stays 200 (the process is alive).
func TestReadyzFollowsTheStore(t *testing.T) {
	dsn, stop, start := storetest.StartPostgres(t)
	const password = "pw-must-not-show-0123"
	u, _ := url.Parse(dsn)
	u.User = url.UserPassword(u.User.Username(), password) // trust auth ignores it
	base, logs := inProcessHTTP(t, nil, "--sandbox", "--store", u.String())

	poll := func(want int) (map[string]any, string) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for {
			status, body, raw := getJSON(t, base+"/readyz")
			if status == want {
				return body, raw
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz still %d after 1s, want %d: %s", status, want, raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	body, _ := poll(http.StatusOK)
	if body["status"] != "ready" {
		t.Errorf("ready body: %v", body)
	}

	stop()
	body, raw := poll(http.StatusServiceUnavailable)
	checks, _ := body["checks"].(map[string]any)
	if body["status"] != "unavailable" || checks["store"] == "ok" || checks["store"] == nil || checks["graph"] != "ok" {
		t.Errorf("503 body does not name the store: %s", raw)
	}
	if status, _, _ := getJSON(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz during the outage: %d", status)
	}

	start()
	poll(http.StatusOK)
	if strings.Contains(raw, password) || strings.Contains(logs.String(), password) {
		t.Error("the database password appears in /readyz or the logs")
	}
}

// TestReadyzSQLite: ready with the default store, and /healthz constant.
func TestReadyzSQLite(t *testing.T) {
	base, _ := inProcessHTTP(t, nil, "--sandbox")
	if status, body, raw := getJSON(t, base+"/readyz"); status != 200 || body["status"] != "ready" {
		t.Errorf("/readyz: %d %s", status, raw)
	}
	if status, body, raw := getJSON(t, base+"/healthz"); status != 200 || body["status"] != "ok" {
		t.Errorf("/healthz: %d %s", status, raw)
	}
}

// waitFor polls buf until it contains s.
func waitFor(t *testing.T, ctx context.Context, buf *syncbuf.Buffer, s string) {
	t.Helper()
	for !strings.Contains(buf.String(), s) {
		if ctx.Err() != nil {
			t.Fatalf("never saw %q:\n%s", s, buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sendArgs is a send the sandbox accepts.
var sendArgs = map[string]any{"to_number": "+16505551234", "phone_number_id": "106540352242922", "text": "Your order has shipped!"}

// TestSIGTERMFinishesCallsHTTP: SIGTERM in the middle of a slow send lets
// the send finish and answer, then the process exits 0.
func TestSIGTERMFinishesCallsHTTP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startHTTP(t, ctx, binEnv(t), "--sandbox", "--sandbox-latency", "1500ms", "--log-level", "debug")
	c := connectHTTP(t, ctx, p.base+"/mcp", "sigterm-test")
	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = "WHATSAPP_SEND_MESSAGE", sendArgs
		res, err := c.CallTool(ctx, req)
		answered <- answer{res, err}
	}()
	waitFor(t, ctx, p.output, "sandbox graph request")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-answered
	if a.err != nil || a.res.IsError {
		b, _ := json.Marshal(a.res)
		t.Fatalf("the in-flight call: %v %s\n%s", a.err, b, p.output.String())
	}
	if b, _ := json.Marshal(a.res.StructuredContent); !bytes.Contains(b, []byte("wamid.")) {
		t.Errorf("no message id in %s", b)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.output.String())
		}
	case <-ctx.Done():
		t.Fatalf("no exit after SIGTERM:\n%s", p.output.String())
	}
}

// TestSIGTERMFinishesCallsStdio: the same over stdio: the answer to the
// call in flight is written to stdout before the process exits 0.
func TestSIGTERMFinishesCallsStdio(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startStdio(t, ctx, binEnv(t), "stdio", "--sandbox", "--sandbox-latency", "1500ms", "--log-level", "debug")
	cmd, stdin, stderr, lines := p.cmd, p.stdin, p.stderr, p.lines
	defer stdin.Close() // kept open: the end of input must not be what stops it
	send := func(msg string) { p.send(t, msg) }
	args, _ := json.Marshal(sendArgs)
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`)
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"WHATSAPP_SEND_MESSAGE","arguments":%s}}`, args))
	waitFor(t, ctx, stderr, "sandbox graph request")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	for line := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["id"] == float64(2) {
			got = m
		}
	}
	res, _ := got["result"].(map[string]any)
	if res == nil || res["isError"] == true || !strings.Contains(fmt.Sprint(res["structuredContent"]), "wamid.") {
		t.Fatalf("answer to the in-flight call: %v\nstderr:\n%s", got, stderr.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
}

// TestExposure: which configurations may listen where.
func TestExposure(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		insecure    bool
		ok          bool
	}{
		{"127.0.0.1:8080", "", false, true},
		{"[::1]:8080", "", false, true},
		{"localhost:8080", "", false, true},
		{"127.0.0.2:0", "", false, true},
		{"0.0.0.0:8080", "", false, false},
		{":8080", "", false, false},
		{"[::]:8080", "", false, false},
		{"192.0.2.1:8080", "", false, false},
		{"0.0.0.0:8080", ",", false, false},
		{"0.0.0.0:8080", "tok", false, true},
		{"0.0.0.0:8080", "old,new", false, true},
		{"0.0.0.0:8080", "", true, true},
		{"nonsense", "", false, false},
	} {
		err := checkExposure(context.Background(), &config{Addr: tc.addr, MCPToken: tc.token, InsecureNoAuth: tc.insecure})
		if (err == nil) != tc.ok {
			t.Errorf("addr %q token %q insecure %v: err = %v", tc.addr, tc.token, tc.insecure, err)
		}
		if err != nil && len(tc.token) > 2 && strings.Contains(err.Error(), tc.token) {
			t.Errorf("the error shows the token: %v", err)
		}
	}
}
