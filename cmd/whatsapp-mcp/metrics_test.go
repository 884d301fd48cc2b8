package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

// sample is one line of Prometheus' text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

func parseMetrics(t *testing.T, text string) []sample {
	t.Helper()
	var out []sample
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("%q: value: %v", line, err)
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		out = append(out, s)
	}
	return out
}

// value sums the samples of name whose labels include want.
func value(samples []sample, name string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		sum += s.value
		found = true
	}
	return sum, found
}

// TestMetricsBinary runs `whatsapp-mcp http --sandbox` with a bearer token,
// makes a tool call over MCP and webhook deliveries (one signed with the
// emulator's app secret, one not), and reads /metrics: behind the token,
// the counters moved, and no label value carries an id, a number or a
// secret.
func TestMetricsBinary(t *testing.T) {
	const mcpToken = "test-mcp-bearer-metrics-42"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startHTTP(t, ctx, binEnv(t, "WHATSAPP_MCP_TOKEN="+mcpToken), "--sandbox")

	get := func(auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", code)
	}
	if code, _ := get("wrong"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong token: %d, want 401", code)
	}

	// A tool call over MCP.
	c := connectHTTP(t, ctx, p.base+"/mcp", "metrics-test", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + mcpToken}))
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "WHATSAPP_GET_PHONE_NUMBERS", map[string]any{}
	if res, err := c.CallTool(ctx, req); err != nil || res.IsError {
		t.Fatalf("tools/call: %v %+v", err, res)
	}
	req.Params.Name, req.Params.Arguments = "WHATSAPP_GET_PHONE_NUMBER", map[string]any{"phone_number_id": "999"}
	if res, err := c.CallTool(ctx, req); err != nil || !res.IsError {
		t.Fatalf("a failing tools/call: %v %+v", err, res)
	}

	// Webhook deliveries: a signed inbound message, twice (Meta's
	// redelivery), and one whose signature is wrong.
	const wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTg0RjZCRTY1QzM4RjMwQjQ5NQA="
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + sandbox.WABAID + `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"15550783881","phone_number_id":"` + sandbox.PhoneNumberID + `"},` +
		`"messages":[{"from":"16505551234","id":"` + wamid + `","timestamp":"1750030000","type":"text","text":{"body":"Hi"}}]}}]}]}`)
	post := func(sig string, want int) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/webhook", bytes.NewReader(body))
		req.Header.Set(cloudapi.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST /webhook: %d, want %d", resp.StatusCode, want)
		}
	}
	post(cloudapi.SignWebhook(sandbox.DefaultAppSecret, body), 200)
	post(cloudapi.SignWebhook(sandbox.DefaultAppSecret, body), 200)
	post(cloudapi.SignWebhook("not-the-app-secret", body), 401)

	code, text := get(mcpToken)
	if code != http.StatusOK {
		t.Fatalf("/metrics with the token: %d\n%s", code, text)
	}
	samples := parseMetrics(t, text)
	for _, w := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"whatsapp_mcp_tool_calls_total", map[string]string{"tool": "WHATSAPP_GET_PHONE_NUMBERS", "outcome": "successful"}, 1},
		{"whatsapp_mcp_tool_calls_total", map[string]string{"tool": "WHATSAPP_GET_PHONE_NUMBER", "outcome": "api_error"}, 1},
		{"whatsapp_mcp_tool_call_duration_seconds_count", map[string]string{"tool": "WHATSAPP_GET_PHONE_NUMBERS"}, 1},
		{"whatsapp_mcp_graph_requests_total", map[string]string{"method": "GET", "status": "200", "code": "none"}, 1},
		{"whatsapp_mcp_graph_requests_total", map[string]string{"method": "GET", "code": "100"}, 1},
		{"whatsapp_mcp_graph_request_duration_seconds_count", map[string]string{"method": "GET"}, 2},
		{"whatsapp_mcp_webhook_deliveries_total", map[string]string{"outcome": "accepted", "reason": "none"}, 1},
		{"whatsapp_mcp_webhook_deliveries_total", map[string]string{"outcome": "duplicate", "reason": "none"}, 1},
		{"whatsapp_mcp_webhook_deliveries_total", map[string]string{"outcome": "rejected", "reason": "bad_signature"}, 1},
		{"whatsapp_mcp_webhook_events_total", map[string]string{"kind": "inbound", "result": "new"}, 1},
		{"whatsapp_mcp_webhook_events_total", map[string]string{"kind": "inbound", "result": "duplicate"}, 1},
		{"whatsapp_mcp_webhook_inbound_messages_total", map[string]string{"type": "text"}, 2},
		{"whatsapp_mcp_store_operation_duration_seconds_count", map[string]string{"operation": "save"}, 2},
		{"go_goroutines", nil, 1},
	} {
		if v, ok := value(samples, w.name, w.labels); !ok || v < w.min {
			t.Errorf("%s%v = %v (found %v), want at least %v", w.name, w.labels, v, ok, w.min)
		}
	}
	// Label values come from fixed sets: nothing that looks like a phone
	// number, a message id or a secret.
	phoneLike := regexp.MustCompile(`\d{7,}`)
	for _, s := range samples {
		for k, v := range s.labels {
			if phoneLike.MatchString(v) || strings.Contains(strings.ToLower(v), "wamid") ||
				strings.Contains(v, mcpToken) || strings.Contains(v, sandbox.DefaultToken) || strings.Contains(v, sandbox.DefaultAppSecret) {
				t.Errorf("%s has label %s=%q", s.name, k, v)
			}
		}
	}
	for _, secret := range []string{mcpToken, sandbox.DefaultToken, sandbox.DefaultAppSecret, wamid} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics carries %q", secret)
		}
	}
	c.Close()
	p.stop(t)
}
