//go:build !whatsapp_bench_lean

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// TestMain lets the test binary play the roles the harness re-executes
// itself for (os.Executable is the test binary under go test).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-role=") {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {1, time.Millisecond}, {0.1, time.Millisecond}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(empty) = %v, want 0", got)
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("percentile(one) = %v, want 7", got)
	}
	lat := []time.Duration{5, 1, 4, 2, 3}
	if p50, p99 := latencySummary(lat); p50 != 3 || p99 != 5 {
		t.Errorf("latencySummary = %v, %v; want 3, 5", p50, p99)
	}
}

func TestMedian(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median odd = %v", got)
	}
	in := []float64{4, 1, 3, 2}
	if got := median(in); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
	if in[0] != 4 {
		t.Error("median sorted its input in place")
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(empty) is not NaN")
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses must not shift the fields.
	stat := "4242 (whats app) (x)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 731 269 0 0 20 0 9 0 123456 1234567 2048 18446744073709551615\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 1000 {
		t.Fatalf("parseStatCPU = %d, %v; want 1000", got, err)
	}
	if _, err := parseStatCPU([]byte("4242 (short) S 1 2")); err == nil {
		t.Error("parseStatCPU accepted a truncated line")
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Error("parseStatCPU accepted a line without a command name")
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\twhatsapp-mcp\nVmPeak:\t  800000 kB\nVmHWM:\t   35120 kB\nVmRSS:\t   25400 kB\nThreads:\t9\n"
	for key, want := range map[string]int64{"VmRSS": 25400, "VmHWM": 35120} {
		if got, err := parseStatusKB([]byte(status), key); err != nil || got != want {
			t.Errorf("parseStatusKB(%s) = %d, %v; want %d", key, got, err, want)
		}
	}
	if _, err := parseStatusKB([]byte(status), "VmSwap"); err == nil {
		t.Error("parseStatusKB found a key that is not there")
	}
}

func TestParseAuxvClkTck(t *testing.T) {
	var auxv []byte
	for _, kv := range [][2]uint64{{6, 4096}, {atClkTck, 100}, {0, 0}} {
		auxv = binary.NativeEndian.AppendUint64(auxv, kv[0])
		auxv = binary.NativeEndian.AppendUint64(auxv, kv[1])
	}
	if hz, ok := parseAuxvClkTck(auxv); !ok || hz != 100 {
		t.Errorf("parseAuxvClkTck = %d, %v; want 100", hz, ok)
	}
	if _, ok := parseAuxvClkTck(auxv[16:32][:0]); ok {
		t.Error("parseAuxvClkTck found a tick rate in an empty vector")
	}
	if clockTick <= 0 {
		t.Errorf("clockTick = %v", clockTick)
	}
}

func TestProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Errorf("procCPU(self): %v", err)
	}
	if kb, err := procMemKB(os.Getpid(), "VmRSS"); err != nil || kb <= 0 {
		t.Errorf("procMemKB(self, VmRSS) = %d, %v", kb, err)
	}
}

func TestParseProcStatCPU(t *testing.T) {
	stat := "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\nintr 1\n"
	busy, total, err := parseProcStatCPU([]byte(stat))
	if err != nil || busy != 160 || total != 1000 {
		t.Errorf("parseProcStatCPU = %d, %d, %v; want 160, 1000", busy, total, err)
	}
	if _, _, err := parseProcStatCPU([]byte("intr 1\n")); err == nil {
		t.Error("parseProcStatCPU accepted a file without a cpu line")
	}
}

func TestFieldShares(t *testing.T) {
	got, err := fieldShares([]byte(`{"tools":[{"name":"A","inputSchema":{"type":"object","properties":{}}},{"name":"B","inputSchema":{"type":"object"}}]}`))
	if err != nil || !strings.HasPrefix(got, "inputSchema ") || !strings.Contains(got, ", name ") {
		t.Errorf("fieldShares = %q, %v", got, err)
	}
}

func TestFmtNum(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 0.0123: "0.012", 1.234: "1.23", 12.34: "12.3", 123.4: "123", 6000: "6,000",
		1234567: "1,234,567", -2500: "-2,500", math.NaN(): "—",
	} {
		if got := fmtNum(v); got != want {
			t.Errorf("fmtNum(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		r    row
		want *bool
	}{
		{row{Ours: 120, Floor: 100, Target: target{ratioAtMost, 1.3, "relay"}}, ptr(true)},
		{row{Ours: 140, Floor: 100, Target: target{ratioAtMost, 1.3, "relay"}}, ptr(false)},
		{row{Ours: 140, Target: target{ratioAtMost, 1.3, "relay"}}, ptr(false)}, // no floor measured
		{row{Ours: 6000, Target: target{Kind: atLeast, Value: 6000}}, ptr(true)},
		{row{Ours: 5999, Target: target{Kind: atLeast, Value: 6000}}, ptr(false)},
		{row{Ours: 0.9, Target: target{Kind: atMost, Value: 1}}, ptr(true)},
		{row{Ours: 1, Target: target{Kind: mustHold}}, ptr(true)},
		{row{Ours: 0, Target: target{Kind: mustHold}}, ptr(false)},
		{row{Ours: 5, Error: "boom", Target: target{Kind: atMost, Value: 1}}, nil},
		{row{Ours: 5}, nil}, // no target
	} {
		tc.r.judge()
		if (tc.r.Met == nil) != (tc.want == nil) || (tc.want != nil && *tc.r.Met != *tc.want) {
			t.Errorf("judge(%+v) = %v, want %v", tc.r, deref(tc.r.Met), deref(tc.want))
		}
	}
}

func ptr(b bool) *bool { return &b }

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestRenderMarkdown(t *testing.T) {
	rows := []row{
		{Figure: "stdio tool call p50", Unit: "µs", Ours: 130, OursNote: "p99 300", Floor: 100, FloorText: "p99 250",
			Target: target{ratioAtMost, 1.3, "relay"}},
		{Figure: "webhook | stored", Ours: 1, Target: target{Kind: mustHold}},
		{Figure: "RSS idle", Unit: "MB", Error: "server not built", Target: target{Kind: atMost, Value: 20}},
	}
	for i := range rows {
		rows[i].judge()
	}
	var out bytes.Buffer
	renderMarkdown(&out, rows)
	want := "| figure | ours | floor | ratio | target | met? |\n" +
		"|---|---|---|---|---|---|\n" +
		"| stdio tool call p50 (µs) | 130 (p99 300) | 100 (p99 250) | 1.30× | ≤ 1.30 × relay | yes |\n" +
		"| webhook \\| stored | yes | — | — | holds | yes |\n" +
		"| RSS idle (MB) | not measured: server not built | — | — | ≤ 20.0 | — |\n"
	if out.String() != want {
		t.Errorf("renderMarkdown:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	rows = append(rows, row{Figure: "nan", Ours: math.NaN()})
	if err := renderJSON(&out, rows, nil, meta{Runs: 1}); err != nil {
		t.Fatalf("renderJSON: %v", err)
	}
	var rep struct {
		Rows []struct {
			Figure string   `json:"figure"`
			Ratio  *float64 `json:"ratio"`
			Met    *bool    `json:"met"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("renderJSON output: %v\n%s", err, out.String())
	}
	if len(rep.Rows) != 4 || rep.Rows[0].Ratio == nil || math.Abs(*rep.Rows[0].Ratio-1.3) > 1e-9 || rep.Rows[2].Met != nil {
		t.Errorf("renderJSON rows = %+v", rep.Rows)
	}
}

func TestRPCResult(t *testing.T) {
	res, err := rpcResult("application/json", []byte(`{"jsonrpc":"2.0","id":3,"result":{"isError":false}}`))
	if err != nil || toolOK(res) != nil {
		t.Errorf("plain JSON: %s, %v", res, err)
	}
	sse := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n" +
		"event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"isError\":true,\"content\":[{\"type\":\"text\",\"text\":\"nope\"}]}}\r\n\r\n"
	res, err = rpcResult("text/event-stream", []byte(sse))
	if err != nil {
		t.Fatalf("SSE: %v", err)
	}
	if err := toolOK(res); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("toolOK(isError) = %v", err)
	}
	if _, err := rpcResult("application/json", []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"x"}}`)); err == nil {
		t.Error("a JSON-RPC error passed")
	}
}

// TestWebhookBody: the load's deliveries are what the server parses, one
// status each, with the id countStored looks for.
func TestWebhookBody(t *testing.T) {
	for _, body := range [][]byte{webhookBody(nil, "Wx", 3, 7), webhookBody(nil, "Wx", 3, 8)} {
		b, err := triggers.ParsePayload(body)
		if err != nil {
			t.Fatalf("ParsePayload: %v\n%s", err, body)
		}
		if len(b.Statuses) != 1 || !strings.HasPrefix(b.Statuses[0].MessageID, benchMessageIDPrefix+"Wx") ||
			b.Statuses[0].PhoneNumberID != benchPhoneID {
			t.Errorf("parsed %+v", b)
		}
	}
	b, err := triggers.ParsePayload(inboundBody(time.Now()))
	if err != nil || len(b.Inbound) != 1 || b.Inbound[0].From != "16505551234" {
		t.Errorf("inbound body parsed to %+v, %v", b, err)
	}
}

func TestRelayHandle(t *testing.T) {
	rl := &relay{g: newGraphSender("http://127.0.0.1:1")}
	ctx := context.Background()
	if m, resp := rl.handle(ctx, []byte(initializedNotification)); resp != nil || m != "notifications/initialized" {
		t.Errorf("notification answered: %s", resp)
	}
	_, resp := rl.handle(ctx, initializeRequest(1))
	if res, err := rpcResult("application/json", resp); err != nil || !strings.Contains(string(res), benchMCPProto) {
		t.Errorf("initialize: %s, %v", resp, err)
	}
	_, resp = rl.handle(ctx, []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	res, err := rpcResult("application/json", resp)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := countTools(res); err != nil || n != 1 {
		t.Errorf("tools/list: %d tools, %v", n, err)
	}
	_, resp = rl.handle(ctx, []byte(`{"jsonrpc":"2.0","id":3,"method":"nope"}`))
	if _, err := rpcResult("application/json", resp); err == nil {
		t.Error("unknown method answered without error")
	}
}

func TestParseFlags(t *testing.T) {
	var sink bytes.Buffer
	cfg, err := parseFlags([]string{"-quick", "-runs", "2"}, &sink)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.runs != 2 || cfg.duration >= time.Second || cfg.events != 20_000 {
		t.Errorf("-quick -runs 2 = %+v (an explicit flag wins over -quick)", cfg)
	}
	if _, err := parseFlags([]string{"-only", "stdio,nope"}, &sink); err == nil {
		t.Error("-only accepted an unknown group")
	}
	if cfg, err := parseFlags(nil, &sink); err != nil || cfg.runs != 3 || cfg.events != 1_000_000 || cfg.sessions != 32 || cfg.senders != 64 {
		t.Errorf("defaults = %+v, %v", cfg, err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	if err := loopbackURL("http://10.0.0.1/mcp"); err == nil {
		t.Error("loopbackURL accepted a private address")
	}
	if err := loopbackURL("http://127.0.0.1:8080/mcp"); err != nil {
		t.Error(err)
	}
	if _, err := listenLoopback("0.0.0.0:0"); err == nil {
		t.Error("listenLoopback accepted a wildcard address")
	}
}

// TestSmoke runs the whole harness in -quick mode (about 10 s plus building
// the server). Only with WHATSAPP_BENCH_SMOKE=1 and without -short, so the
// normal suite stays fast.
func TestSmoke(t *testing.T) {
	if testing.Short() || os.Getenv("WHATSAPP_BENCH_SMOKE") != "1" {
		t.Skip("set WHATSAPP_BENCH_SMOKE=1 (and no -short) to run the harness in -quick mode")
	}
	var stderr bytes.Buffer
	cfg, err := parseFlags([]string{"-quick", "-json"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	code := run(ctx, cfg, &out, &stderr)
	var rep struct {
		Rows []struct {
			Figure string  `json:"figure"`
			Ours   float64 `json:"ours"`
			Error  string  `json:"error"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s\nstderr:\n%s", err, out.String(), stderr.String())
	}
	if len(rep.Rows) < 20 {
		t.Errorf("%d rows, want every figure", len(rep.Rows))
	}
	unmeasured := 0
	for _, r := range rep.Rows {
		switch {
		case r.Error == errNoPostgres.Error():
			t.Logf("%s: %s", r.Figure, r.Error) // no database here: allowed
		case r.Error != "":
			unmeasured++
			t.Errorf("%s not measured: %s", r.Figure, r.Error)
		case r.Ours <= 0 && !strings.Contains(r.Figure, "stored"):
			t.Errorf("%s = %v", r.Figure, r.Ours)
		}
	}
	if code != 0 && unmeasured > 0 {
		t.Logf("stderr:\n%s", stderr.String())
	}
}
