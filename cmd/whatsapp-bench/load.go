package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

// loadResult is what a load process prints (one JSON line) when done.
type loadResult struct {
	OK         int     `json:"ok"`
	Errors     int     `json:"errors"`
	ElapsedSec float64 `json:"elapsed_s"`
	Rate       float64 `json:"rate"` // OK per second
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`
	MaxUs      float64 `json:"max_us"`
	FirstError string  `json:"first_error,omitempty"`
}

// roleLoad drives one server with conc concurrent senders for a fixed
// duration (and at most max requests), then prints a loadResult:
//
//	-mode=mcp:     each sender holds one MCP streamable-HTTP session
//	               (initialize, notifications/initialized) and calls
//	               WHATSAPP_SEND_MESSAGE in a loop;
//	-mode=webhook: each sender POSTs signed single-status webhooks with
//	               unique message ids; a POST counts only when answered 200.
func roleLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	mode := fs.String("mode", "mcp", "mcp or webhook")
	target := fs.String("url", "", "the /mcp or /webhook URL (loopback)")
	conc := fs.Int("conc", 32, "concurrent senders")
	dur := fs.Duration("duration", 5*time.Second, "how long to send")
	maxReq := fs.Int64("max", 5_000_000, "most requests in all")
	secret := fs.String("secret", benchSecret, "webhook app secret")
	prefix := fs.String("prefix", "R", "message id prefix (webhook mode), unique per run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopbackURL(*target); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *dur+time.Minute)
	defer cancel()

	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        *conc * 2,
		MaxIdleConnsPerHost: *conc * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var (
		budget   atomic.Int64
		mu       sync.Mutex
		all      []time.Duration
		res      loadResult
		firstErr error
		wg       sync.WaitGroup
		ready    sync.WaitGroup
		startCh  = make(chan struct{})
	)
	budget.Store(*maxReq)
	fail := func(err error) {
		mu.Lock()
		res.Errors++
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	var deadline time.Time
	ready.Add(*conc)
	for g := range *conc {
		wg.Go(func() {
			var send func(i int) error
			switch *mode {
			case "mcp":
				s := &mcpHTTP{hc: hc, url: *target}
				if err := s.initialize(ctx); err != nil {
					fail(err)
					ready.Done()
					return
				}
				send = func(int) error { return s.callSend(ctx) }
			case "webhook":
				var buf []byte
				send = func(i int) error {
					buf = webhookBody(buf[:0], *prefix, g, i)
					return postWebhook(ctx, hc, *target, *secret, buf)
				}
			default:
				fail(fmt.Errorf("unknown -mode %q", *mode))
				ready.Done()
				return
			}
			ready.Done()
			<-startCh
			lat := make([]time.Duration, 0, 1<<14)
			ok := 0
			for i := 0; time.Now().Before(deadline) && budget.Add(-1) >= 0; i++ {
				t := time.Now()
				if err := send(i); err != nil {
					fail(err)
					if ctx.Err() != nil {
						break
					}
					continue
				}
				lat = append(lat, time.Since(t))
				ok++
			}
			mu.Lock()
			all = append(all, lat...)
			res.OK += ok
			mu.Unlock()
		})
	}
	ready.Wait()
	start := time.Now()
	deadline = start.Add(*dur)
	close(startCh)
	wg.Wait()
	elapsed := time.Since(start)

	res.ElapsedSec = elapsed.Seconds()
	res.Rate = float64(res.OK) / elapsed.Seconds()
	p50, p99 := latencySummary(all)
	res.P50us, res.P99us = us(p50), us(p99)
	if len(all) > 0 {
		res.MaxUs = us(all[len(all)-1])
	}
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// loopbackURL refuses any target off this machine.
func loopbackURL(u string) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	host := req.URL.Hostname()
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: the benchmark sends to loopback addresses only", u)
	}
	return nil
}

// webhookBody is a single-status delivery shaped like
// triggers/testdata/status_delivered.json with a unique wamid.
func webhookBody(buf []byte, prefix string, g, i int) []byte {
	return fmt.Appendf(buf, `{"object":"whatsapp_business_account","entry":[{"id":"%s","changes":[{"value":`+
		`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"%s"},`+
		`"statuses":[{"id":"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI%s%04d%010d","status":"delivered","timestamp":"1750030075",`+
		`"recipient_id":"16505551234","conversation":{"id":"72b14d6bd5407799e66f64d1b338e567","origin":{"type":"utility"}},`+
		`"pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}}]},`+
		`"field":"messages"}]}]}`, benchWABAID, benchPhoneID, prefix, g, i)
}

// benchMessageIDPrefix is what every id webhookBody makes starts with.
const benchMessageIDPrefix = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI"

// inboundBody is a customer's text message, which opens the 24-hour window.
func inboundBody(now time.Time) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"%s","changes":[{"value":`+
		`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"%s"},`+
		`"contacts":[{"profile":{"name":"Bench"},"wa_id":"16505551234"}],`+
		`"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDU1NTEyMzQVAgASGBJCRU5DSElOQk9VTkQA","timestamp":"%d","text":{"body":"Hi"},"type":"text"}]},`+
		`"field":"messages"}]}]}`, benchWABAID, benchPhoneID, now.Unix())
}

// postWebhook sends one signed delivery; only a 200 (stored) counts.
func postWebhook(ctx context.Context, hc *http.Client, url, secret string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(cloudapi.SignatureHeader, cloudapi.SignWebhook(secret, body))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %d: %.200s", resp.StatusCode, b)
	}
	return nil
}

// mcpHTTP is one MCP streamable-HTTP session.
type mcpHTTP struct {
	hc  *http.Client
	url string
	sid string
	id  int
}

func (s *mcpHTTP) post(ctx context.Context, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.sid != "" {
		req.Header.Set("Mcp-Session-Id", s.sid)
		req.Header.Set("Mcp-Protocol-Version", benchMCPProto)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b, err
}

func initializeRequest(id int) []byte {
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"initialize","params":{"protocolVersion":"%s",`+
		`"capabilities":{},"clientInfo":{"name":"whatsapp-bench","version":"1"}}}`, id, benchMCPProto)
}

const initializedNotification = `{"jsonrpc":"2.0","method":"notifications/initialized"}`

func toolsCallRequest(buf []byte, id int) []byte {
	return fmt.Appendf(buf, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":`+
		`{"to_number":"%s","phone_number_id":"%s","text":"%s"}}}`, id, benchToolName, benchToNumber, benchPhoneID, benchText)
}

func (s *mcpHTTP) initialize(ctx context.Context) error {
	s.id++
	resp, b, err := s.post(ctx, initializeRequest(s.id))
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("initialize: HTTP %d: %.300s", resp.StatusCode, b)
	}
	if _, err := rpcResult(resp.Header.Get("Content-Type"), b); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	s.sid = resp.Header.Get("Mcp-Session-Id")
	resp, b, err = s.post(ctx, []byte(initializedNotification))
	if err != nil {
		return fmt.Errorf("notifications/initialized: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notifications/initialized: HTTP %d: %.300s", resp.StatusCode, b)
	}
	return nil
}

// callSend is one tools/call of WHATSAPP_SEND_MESSAGE; an error unless the
// tool succeeded.
func (s *mcpHTTP) callSend(ctx context.Context) error {
	s.id++
	resp, b, err := s.post(ctx, toolsCallRequest(nil, s.id))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("tools/call: HTTP %d: %.300s", resp.StatusCode, b)
	}
	res, err := rpcResult(resp.Header.Get("Content-Type"), b)
	if err != nil {
		return err
	}
	return toolOK(res)
}

// rpcResult extracts the result of a JSON-RPC response body, plain JSON or
// an SSE stream whose last "data:" event is the response.
func rpcResult(contentType string, body []byte) (json.RawMessage, error) {
	msg := body
	if bytes.HasPrefix([]byte(contentType), []byte("text/event-stream")) {
		msg = nil
		for line := range bytes.Lines(body) {
			if d, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("data:")); ok {
				d = bytes.TrimSpace(d)
				if bytes.Contains(d, []byte(`"result"`)) || bytes.Contains(d, []byte(`"error"`)) {
					msg = d
				}
			}
		}
		if msg == nil {
			return nil, fmt.Errorf("no response in the event stream: %.300s", body)
		}
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(msg, &r); err != nil {
		return nil, fmt.Errorf("response: %w: %.300s", err, msg)
	}
	if r.Error != nil {
		return nil, fmt.Errorf("JSON-RPC error %d: %s", r.Error.Code, r.Error.Message)
	}
	if len(r.Result) == 0 {
		return nil, fmt.Errorf("response without result: %.300s", msg)
	}
	return r.Result, nil
}

// toolOK fails a tool result with isError set. A result is only decoded
// when it failed: "isError":true can only appear as that key (inside a JSON
// string its quotes would be escaped).
func toolOK(result json.RawMessage) error {
	if !bytes.Contains(result, []byte(`"isError":true`)) {
		return nil
	}
	var r struct {
		IsError bool `json:"isError"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return fmt.Errorf("tool result: %w", err)
	}
	if r.IsError {
		text := ""
		if len(r.Content) > 0 {
			text = r.Content[0].Text
		}
		return fmt.Errorf("tool failed: %.300s", text)
	}
	return nil
}

// stdioSession is the harness's MCP client over a child's stdin/stdout: one
// request at a time, newline-delimited JSON-RPC.
type stdioSession struct {
	c     *child
	w     *bufio.Writer
	lines chan []byte
	rerr  error // why lines closed
	id    int
	buf   []byte
}

func newStdioSession(c *child) *stdioSession {
	s := &stdioSession{c: c, w: bufio.NewWriterSize(c.stdin, 1<<16), lines: make(chan []byte, 16)}
	go func() {
		defer close(s.lines)
		for {
			line, err := c.stdout.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				s.lines <- line
			}
			if err != nil {
				s.rerr = err
				return
			}
		}
	}()
	return s
}

// send writes raw requests (each one line, without the newline).
func (s *stdioSession) send(msgs ...[]byte) error {
	for _, m := range msgs {
		s.w.Write(m)
		s.w.WriteByte('\n')
	}
	return s.w.Flush()
}

// await reads lines until the response to id, skipping notifications and
// requests from the server; it returns the response's result.
func (s *stdioSession) await(id int, timeout time.Duration) (json.RawMessage, error) {
	want := strconv.Itoa(id)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				return nil, fmt.Errorf("%s closed its output (%v); log: %s", s.c.name, s.rerr, s.c.tail())
			}
			// One decode per line: the client's own cost is in both
			// figures (ours and the relay's), so it is kept small.
			var msg struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Result json.RawMessage `json:"result"`
				Error  *rpcError       `json:"error"`
			}
			if err := json.Unmarshal(line, &msg); err != nil {
				return nil, fmt.Errorf("%s wrote a line that is not JSON: %.200s", s.c.name, line)
			}
			if msg.Method != "" || string(msg.ID) != want {
				continue // a notification or a request from the server
			}
			if msg.Error != nil {
				return nil, fmt.Errorf("JSON-RPC error %d: %s", msg.Error.Code, msg.Error.Message)
			}
			if len(msg.Result) == 0 {
				return nil, fmt.Errorf("response without result: %.300s", line)
			}
			return msg.Result, nil
		case <-timer.C:
			return nil, fmt.Errorf("%s: no answer to request %d within %s; log: %s", s.c.name, id, timeout, s.c.tail())
		}
	}
}

func (s *stdioSession) initialize() error {
	s.id++
	if err := s.send(initializeRequest(s.id), []byte(initializedNotification)); err != nil {
		return err
	}
	_, err := s.await(s.id, 30*time.Second)
	return err
}

// callSend is one WHATSAPP_SEND_MESSAGE call; an error unless it succeeded.
func (s *stdioSession) callSend() error {
	s.id++
	s.buf = toolsCallRequest(s.buf[:0], s.id)
	if err := s.send(s.buf); err != nil {
		return err
	}
	res, err := s.await(s.id, 30*time.Second)
	if err != nil {
		return err
	}
	return toolOK(res)
}

// listTools asks tools/list and returns the bytes of its result.
func (s *stdioSession) listTools() (json.RawMessage, error) {
	s.id++
	if err := s.send(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/list","params":{}}`, s.id)); err != nil {
		return nil, err
	}
	return s.await(s.id, 30*time.Second)
}

// countTools counts the tools of a tools/list result.
func countTools(result json.RawMessage) (int, error) {
	var r struct {
		Tools []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return 0, err
	}
	if len(r.Tools) == 0 {
		return 0, errors.New("tools/list listed no tool")
	}
	return len(r.Tools), nil
}
