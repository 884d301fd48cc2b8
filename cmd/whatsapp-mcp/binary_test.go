package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/syncbuf"
)

// binPath is the whatsapp-mcp binary built by TestMain, so these tests
// drive what users run: real process, real stdin/stdout, real signals.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "whatsapp-mcp-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "whatsapp-mcp")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binary:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binEnv is a minimal environment: nothing of the developer's own
// WHATSAPP_* settings leaks into the test, and data dirs are temporary.
func binEnv(t *testing.T, kv ...string) []string {
	home := t.TempDir()
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data")}, kv...)
}

// TestStdioBinary speaks raw JSON-RPC to `whatsapp-mcp stdio` over pipes and
// checks that stdout carries nothing but JSON-RPC messages.
func TestStdioBinary(t *testing.T) {
	g := newFakeGraph(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startStdio(t, ctx, binEnv(t, "WHATSAPP_ACCESS_TOKEN="+testToken, "WHATSAPP_GRAPH_URL="+g.URL, "WHATSAPP_WABA_ID="+testWABA), "stdio", "--log-level", "debug")
	cmd, stdin, stderr, lines := p.cmd, p.stdin, p.stderr, p.lines
	send := func(msg string) { p.send(t, msg) }
	// next reads the response to request id, checking every line on the way.
	next := func(id int) map[string]any {
		t.Helper()
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("stdout closed before the answer to %d; stderr:\n%s", id, stderr.String())
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil || m["jsonrpc"] != "2.0" {
					t.Fatalf("stdout carries a line that is not JSON-RPC: %q", line)
				}
				if m["id"] == float64(id) {
					return m
				}
			case <-ctx.Done():
				t.Fatalf("no answer to %d; stderr:\n%s", id, stderr.String())
			}
		}
	}

	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`)
	if r := next(1); r["result"].(map[string]any)["serverInfo"].(map[string]any)["name"] != "whatsapp-mcp" {
		t.Fatalf("initialize: %v", r)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	list := next(2)["result"].(map[string]any)["tools"].([]any)
	if len(list) < 19 {
		t.Fatalf("tools/list: %d tools", len(list))
	}
	for _, tl := range list {
		ann := tl.(map[string]any)["annotations"].(map[string]any)
		for _, k := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
			if _, ok := ann[k].(bool); !ok {
				t.Errorf("%v: annotations.%s not on the wire", tl.(map[string]any)["name"], k)
			}
		}
	}
	send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"WHATSAPP_GET_PHONE_NUMBERS","arguments":{}}}`)
	res := next(3)["result"].(map[string]any)
	if res["isError"] == true || !strings.Contains(fmt.Sprint(res["structuredContent"]), testPhone) {
		t.Fatalf("tools/call: %v", res)
	}
	send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"WHATSAPP_GET_PHONE_NUMBER","arguments":{"phone_number_id":"123"}}}`)
	if res := next(4)["result"].(map[string]any); res["isError"] != true {
		t.Fatalf("failing tools/call: %v", res)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stdio exited with %v at end of input; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "tool call") {
		t.Errorf("no logs on stderr:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), testToken) {
		t.Error("the access token appears in the logs")
	}
}

// freeAddr finds a loopback port for a server that must be told its address.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// httpProcess is a running `whatsapp-mcp http`.
type httpProcess struct {
	cmd    *exec.Cmd
	base   string
	output *syncbuf.Buffer
	exited chan error
}

// startHTTP starts `whatsapp-mcp http --addr <free port> args...` and waits
// until /healthz answers {"status":"ok"}.
func startHTTP(t *testing.T, ctx context.Context, envv []string, args ...string) *httpProcess {
	t.Helper()
	addr := freeAddr(t)
	p := &httpProcess{base: "http://" + addr, output: &syncbuf.Buffer{}, exited: make(chan error, 1)}
	p.cmd = exec.CommandContext(ctx, binPath, append([]string{"http", "--addr", addr}, args...)...)
	p.cmd.Env = envv
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			var body map[string]string
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode == 200 && body["status"] == "ok" {
				return p
			}
		}
		select {
		case err := <-p.exited:
			t.Fatalf("server exited early (%v); output:\n%s", err, p.output.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered; output:\n%s", p.output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGINT and expects a clean exit.
func (p *httpProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v; output:\n%s", err, p.output.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit after SIGINT; output:\n%s", p.output.String())
	}
}

// TestHTTPSandboxBinary runs `whatsapp-mcp http --sandbox`, waits for
// /healthz, lists and calls tools through mcp-go's client, simulates an
// inbound message with `sandbox inbound`, and stops it with SIGINT.
func TestHTTPSandboxBinary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startHTTP(t, ctx, binEnv(t), "--sandbox")
	base := p.base
	for _, want := range []string{"SANDBOX", "nothing leaves this machine", base + "/mcp", "106540352242922", "sandbox inbound"} {
		if !strings.Contains(p.output.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, p.output.String())
		}
	}

	c := connectHTTP(t, ctx, base+"/mcp", "binary-test")
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil || len(list.Tools) < 19 {
		t.Fatalf("tools/list: %v (%d tools)", err, len(list.Tools))
	}

	// A customer writes first, then we answer inside the window and the
	// statuses come back through the sandbox's webhook into the trigger.
	in := exec.CommandContext(ctx, binPath, "sandbox", "inbound", "--url", base, "--from", "+16505551234", "--text", "Hi")
	in.Env = binEnv(t)
	if out, err := in.CombinedOutput(); err != nil || !strings.Contains(string(out), "wamid.") {
		t.Fatalf("sandbox inbound: %v\n%s", err, out)
	}
	call := func(name string, args map[string]any) map[string]any {
		t.Helper()
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = name, args
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := json.Marshal(res.StructuredContent)
		var env map[string]any
		json.Unmarshal(b, &env)
		if res.IsError {
			t.Fatalf("%s failed: %s", name, b)
		}
		return env
	}
	// The sandbox posts the inbound webhook asynchronously, so the store
	// may learn of the customer a moment after `sandbox inbound` returns;
	// until then a send carries the outside-the-window warning.
	for i := 0; ; i++ {
		sent := call("WHATSAPP_SEND_MESSAGE", map[string]any{"to_number": "+16505551234", "phone_number_id": "106540352242922", "text": "Hello!"})
		w, _ := sent["warnings"].([]any)
		if len(w) == 0 {
			break
		}
		if i == 50 {
			t.Fatalf("send inside the window still warns: %v", w)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var statuses []any
	for until := time.Now().Add(10 * time.Second); time.Now().Before(until); {
		got := call("WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER", map[string]any{"phone_number_id": "106540352242922"})
		statuses, _ = got["data"].(map[string]any)["events"].([]any)
		if len(statuses) >= 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(statuses) < 3 {
		t.Fatalf("statuses via the trigger: %v", statuses)
	}

	// The REST face is on the same listener.
	resp, err := http.Get(base + "/v1/actions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /v1/actions: %d", resp.StatusCode)
	}
	p.stop(t)
}

// TestHTTPAuthBinary: with WHATSAPP_MCP_TOKEN, /mcp and /v1/ need the bearer
// token; /healthz and /webhook never do (the webhook has Meta's signature).
func TestHTTPAuthBinary(t *testing.T) {
	const mcpToken = "test-mcp-bearer-0123456789"
	g := newFakeGraph(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startHTTP(t, ctx, binEnv(t, "WHATSAPP_ACCESS_TOKEN="+testToken, "WHATSAPP_GRAPH_URL="+g.URL,
		"WHATSAPP_MCP_TOKEN="+mcpToken, "WHATSAPP_VERIFY_TOKEN=vt", "WHATSAPP_APP_SECRET=as"))
	status := func(method, path, auth string) int {
		req, _ := http.NewRequest(method, p.base+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path, auth string
		want               int
	}{
		{"POST", "/mcp", "", 401},
		{"POST", "/mcp", "wrong", 401},
		{"POST", "/mcp", mcpToken, 200},
		{"GET", "/v1/actions", "", 401},
		{"GET", "/v1/actions", mcpToken, 200},
		{"GET", "/healthz", "", 200},
		{"GET", "/webhook?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=42", "", 200},
		{"POST", "/webhook", "", 401}, // no signature
	} {
		if got := status(tc.method, tc.path, tc.auth); got != tc.want {
			t.Errorf("%s %s (token %v): %d, want %d", tc.method, tc.path, tc.auth != "", got, tc.want)
		}
	}
	p.stop(t)
	for _, secret := range []string{mcpToken, testToken, "WHATSAPP_APP_SECRET=as"} {
		if strings.Contains(p.output.String(), secret) {
			t.Errorf("a secret appears in the output")
		}
	}
}

// TestStdioSandboxBinary: stdio --sandbox gets a webhook listener of its
// own, announced on stderr, where `sandbox inbound` works.
func TestStdioSandboxBinary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "stdio", "--sandbox")
	cmd.Env = binEnv(t)
	stdin, _ := cmd.StdinPipe()
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var url string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if i := strings.Index(stderr.String(), "sandbox inbound --url "); i >= 0 {
			url = strings.Fields(stderr.String()[i+len("sandbox inbound --url "):])[0]
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if url == "" {
		t.Fatalf("no inbound URL in the banner:\n%s", stderr.String())
	}
	in := exec.CommandContext(ctx, binPath, "sandbox", "inbound", "--url", url, "--from", "+16505551234", "--text", "Hi")
	in.Env = binEnv(t)
	if out, err := in.CombinedOutput(); err != nil {
		t.Fatalf("sandbox inbound: %v\n%s", err, out)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("stdout carries non-protocol output: %q", stdout.String())
	}
}

// connectHTTP opens an initialized MCP client session on url (the
// server's /mcp), closed when the test ends.
func connectHTTP(t *testing.T, ctx context.Context, url, name string, opts ...transport.StreamableHTTPCOption) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: name, Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return c
}

// stdioProcess is the binary started with args over pipes: its stdin, each
// line it writes to stdout, and its stderr for failure messages.
type stdioProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  <-chan string
	stderr *syncbuf.Buffer
}

func startStdio(t *testing.T, ctx context.Context, env []string, args ...string) *stdioProcess {
	t.Helper()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = env
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	p := &stdioProcess{cmd: cmd, stdin: stdin, stderr: &syncbuf.Buffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	p.lines = lines
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return p
}

// send writes one JSON-RPC line to the process.
func (p *stdioProcess) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, msg+"\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
}
