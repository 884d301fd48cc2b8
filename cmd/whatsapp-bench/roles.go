package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// The roles are this same binary re-executed in its own process
// (whatsapp-bench -role=NAME …), so that the server under test, the fake
// Graph, the floors and the load each have their own CPU accounting.
var roles = map[string]func(args []string) error{
	"fakegraph":   roleFakeGraph,
	"stdio-relay": roleStdioRelay,
	"http-relay":  roleHTTPRelay,
	"load":        roleLoad,
}

// isRole says whether the command line asks for a role (-role=NAME first).
func isRole(args []string) bool { return len(args) > 1 && strings.HasPrefix(args[1], "-role=") }

// runRole plays the role args[1] names and returns the exit status.
func runRole(args []string) int {
	name := strings.TrimPrefix(args[1], "-role=")
	f, ok := roles[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "whatsapp-bench: unknown role %q\n", name)
		return 2
	}
	if err := f(args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "whatsapp-bench -role=%s: %v\n", name, err)
		return 1
	}
	return 0
}

// roleMaxLife bounds every role, whatever happens to the harness.
const roleMaxLife = 30 * time.Minute

// Fixed inputs of every call: the sandbox's business number and a customer.
const (
	benchPhoneID   = "106540352242922"
	benchWABAID    = "102290129340398"
	benchToNumber  = "+16505551234"
	benchText      = "Your order has shipped!"
	benchToken     = "bench-token"
	benchSecret    = "bench-app-secret"
	benchVerify    = "bench-verify-token"
	benchAPIVer    = "v25.0"
	benchToolName  = "WHATSAPP_SEND_MESSAGE"
	benchMCPProto  = "2025-06-18"
	benchUserAgent = "whatsapp-bench"
)

// roleFakeGraph answers POST /vNN.0/{phone-number-id}/messages at once with
// a Meta-shaped body and a fresh wamid; anything else is Graph's 404. It
// prints its address as the first line of stdout and stops when stdin
// closes.
func roleFakeGraph(args []string) error {
	fs := flag.NewFlagSet("fakegraph", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := listenLoopback(*addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	watchStdin(roleMaxLife)
	var n atomic.Uint64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/v") || !strings.HasSuffix(r.URL.Path, "/messages") {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"message":"Unknown path components","type":"OAuthException","code":2500,"fbtrace_id":"Abench"}}`)
			return
		}
		var m struct {
			To string `json:"to"`
		}
		json.Unmarshal(body, &m)
		to := phoneChars(m.To)
		out := fmt.Appendf(make([]byte, 0, 256),
			`{"messaging_product":"whatsapp","contacts":[{"input":"%s","wa_id":"%s"}],"messages":[{"id":"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJCRU5DSA%014d"}]}`,
			to, strings.TrimPrefix(to, "+"), n.Add(1))
		w.Header().Set("Content-Length", fmt.Sprint(len(out)))
		w.Write(out)
	})
	return (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// phoneChars keeps the characters of a phone number (so the answer needs no
// JSON escaping).
func phoneChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '+' || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, s)
}

func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s: the benchmark listens on loopback only", addr)
	}
	return net.Listen("tcp", addr)
}

// graphSender makes the one Graph POST every relay call makes, with a
// shared, tuned client: keep-alive connections for every concurrent caller.
type graphSender struct {
	client *http.Client
	base   string // e.g. http://127.0.0.1:41234
}

func newGraphSender(base string) *graphSender {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &graphSender{client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: strings.TrimRight(base, "/")}
}

// sendArgs are the arguments of WHATSAPP_SEND_MESSAGE the relays read.
type sendArgs struct {
	ToNumber      string `json:"to_number"`
	PhoneNumberID string `json:"phone_number_id"`
	Text          string `json:"text"`
}

type graphText struct {
	Body string `json:"body"`
}

type graphMessage struct {
	MessagingProduct string     `json:"messaging_product"`
	RecipientType    string     `json:"recipient_type"`
	To               string     `json:"to"`
	Type             string     `json:"type"`
	Text             *graphText `json:"text"`
}

// send posts a text message and returns Graph's answer.
func (g *graphSender) send(ctx context.Context, a sendArgs) ([]byte, error) {
	body, err := json.Marshal(graphMessage{MessagingProduct: "whatsapp", RecipientType: "individual",
		To: a.ToNumber, Type: "text", Text: &graphText{Body: a.Text}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		g.base+"/"+benchAPIVer+"/"+url.PathEscape(a.PhoneNumberID)+"/messages", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", benchUserAgent)
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("graph answered %d: %s", resp.StatusCode, b)
	}
	return b, nil
}

// relay is the trivial MCP server of the floors: initialize, tools/list of
// one tool, and tools/call making the Graph POST and returning its answer as
// the result (text and structuredContent, as the real server does).
type relay struct{ g *graphSender }

type rpcRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type textContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type toolResult struct {
	Content           []textContent   `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	IsError           bool            `json:"isError,omitempty"`
}

// handle answers one JSON-RPC message; nil for a notification.
func (rl *relay) handle(ctx context.Context, msg []byte) (method string, resp []byte) {
	var req rpcRequest
	if err := json.Unmarshal(msg, &req); err != nil {
		b, _ := json.Marshal(rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{-32700, "parse error"}})
		return "", b
	}
	if len(req.ID) == 0 {
		return req.Method, nil
	}
	out := rpcResponse{JSONRPC: "2.0", ID: req.ID}
	switch req.Method {
	case "initialize":
		var p struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		json.Unmarshal(req.Params, &p)
		out.Result = map[string]any{
			"protocolVersion": p.ProtocolVersion,
			"capabilities":    map[string]any{"tools": map[string]any{}},
			"serverInfo":      map[string]string{"name": "bench-relay", "version": "0"},
		}
	case "ping":
		out.Result = map[string]any{}
	case "tools/list":
		out.Result = map[string]any{"tools": []map[string]any{{
			"name": benchToolName, "description": "Send a text message.",
			"inputSchema": map[string]any{"type": "object", "properties": map[string]any{
				"to_number": map[string]string{"type": "string"}, "phone_number_id": map[string]string{"type": "string"},
				"text": map[string]string{"type": "string"}}, "required": []string{"to_number", "phone_number_id", "text"}},
		}}}
	case "tools/call":
		var p struct {
			Name      string   `json:"name"`
			Arguments sendArgs `json:"arguments"`
		}
		if err := json.Unmarshal(req.Params, &p); err != nil || p.Name != benchToolName {
			out.Error = &rpcError{-32602, "unknown tool or bad arguments"}
			break
		}
		b, err := rl.g.send(ctx, p.Arguments)
		if err != nil {
			out.Result = toolResult{Content: []textContent{{"text", err.Error()}}, IsError: true}
			break
		}
		out.Result = toolResult{Content: []textContent{{"text", string(b)}}, StructuredContent: b}
	default:
		out.Error = &rpcError{-32601, "method not found"}
	}
	b, _ := json.Marshal(out)
	return req.Method, b
}

// roleStdioRelay: newline-delimited JSON-RPC on stdin/stdout, one request at
// a time, until stdin ends.
func roleStdioRelay(args []string) error {
	fs := flag.NewFlagSet("stdio-relay", flag.ContinueOnError)
	graphURL := fs.String("graph-url", "", "the fake Graph's base URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	go func() {
		time.Sleep(roleMaxLife)
		os.Exit(3)
	}()
	rl := &relay{g: newGraphSender(*graphURL)}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	ctx := context.Background()
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if _, resp := rl.handle(ctx, line); resp != nil {
				out.Write(resp)
				out.WriteByte('\n')
				if err := out.Flush(); err != nil {
					return err
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// roleHTTPRelay: a minimal net/http JSON-RPC server at /mcp (JSON answers,
// a session id on initialize, 202 for notifications) and /healthz. It prints
// its address and stops when stdin closes.
func roleHTTPRelay(args []string) error {
	fs := flag.NewFlagSet("http-relay", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	graphURL := fs.String("graph-url", "", "the fake Graph's base URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := listenLoopback(*addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	watchStdin(roleMaxLife)
	rl := &relay{g: newGraphSender(*graphURL)}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"status":"ok"}`) })
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		method, resp := rl.handle(r.Context(), body)
		if resp == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if method == "initialize" {
			var id [16]byte
			rand.Read(id[:])
			w.Header().Set("Mcp-Session-Id", hex.EncodeToString(id[:]))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(resp)
	})
	return (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}
