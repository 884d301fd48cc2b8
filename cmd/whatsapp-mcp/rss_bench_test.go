package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/syncbuf"
)

// BenchmarkPeakRSS measures the peak resident memory (VmHWM) of the real
// server binary, in its own process, while it serves large request bodies:
// uploads through REST execute and MCP tools/call, an oversized MCP
// initialize, and eight concurrent maximum uploads. Each case starts a fresh
// `whatsapp-mcp http` against a loopback fake Graph API that drains the
// upload, so the figures are the server's alone. Run it with
//
//	go test -run '^$' -bench PeakRSS -benchtime 1x ./cmd/whatsapp-mcp/
//
// It reports peak-MB (VmHWM at the end), base-MB (VmHWM after start-up and a
// warm-up call), peak/body (peak-MB over the body's size) and growth/body
// ((peak - base) over the body's size). Benchmarks never run in the normal
// test suite.
func BenchmarkPeakRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/<pid>/status")
	}
	const mb = 1_000_000
	// Upload sizes are of the file: its base64 in JSON is 4/3 of it, so
	// 7.5, 37.5 and 100 MB files make bodies of about 10, 50 and 133 MB.
	for _, c := range []struct {
		name string
		size int // MB of the body, for the name
		body func() []byte
		send func(b *testing.B, p *rssServer, body []byte)
		conc int
	}{
		{"rest-upload", 10, func() []byte { return restUploadBody(7_500_000) }, sendREST, 1},
		{"rest-upload", 50, func() []byte { return restUploadBody(37_500_000) }, sendREST, 1},
		{"rest-upload", 133, func() []byte { return restUploadBody(maxUploadBody) }, sendREST, 1},
		{"mcp-upload", 10, func() []byte { return mcpUploadBody(7_500_000) }, sendMCP, 1},
		{"mcp-upload", 50, func() []byte { return mcpUploadBody(37_500_000) }, sendMCP, 1},
		{"mcp-upload", 133, func() []byte { return mcpUploadBody(maxUploadBody) }, sendMCP, 1},
		{"mcp-initialize", 50, func() []byte { return mcpInitializeBody(50*mb, false) }, sendMCPInitialize, 1},
		{"mcp-initialize-array", 50, func() []byte { return mcpInitializeBody(50*mb, true) }, sendMCPInitialize, 1},
		{"rest-upload-8x", 133, func() []byte { return restUploadBody(maxUploadBody) }, sendREST, 8},
		{"mcp-upload-8x", 133, func() []byte { return mcpUploadBody(maxUploadBody) }, sendMCP, 8},
	} {
		b.Run(fmt.Sprintf("%s/%dMB", c.name, c.size), func(b *testing.B) {
			body := c.body()
			var peak, base float64
			for range b.N {
				b.StopTimer()
				p := startRSSServer(b)
				// A warm-up call: the baseline includes what any first call
				// allocates (schemas, connections), not just start-up.
				sendREST(b, p, restUploadBody(1000))
				base = max(base, p.hwmMB(b))
				b.StartTimer()
				var wg sync.WaitGroup
				for range c.conc {
					wg.Go(func() { c.send(b, p, body) })
				}
				wg.Wait()
				b.StopTimer()
				peak = max(peak, p.hwmMB(b))
				if c.conc > 1 {
					b.ReportMetric(float64(p.graph.maxInFlight.Load()), "max-in-flight")
					b.ReportMetric(float64(p.busy.Load()), "503s")
				}
				p.stop(b)
			}
			bodyMB := float64(len(body)) / (1 << 20)
			b.ReportMetric(peak, "peak-MB")
			b.ReportMetric(base, "base-MB")
			b.ReportMetric(peak/bodyMB, "peak/body")
			b.ReportMetric((peak-base)/bodyMB, "growth/body")
		})
	}
}

// maxUploadBody is the largest legal upload: a 100 MB document (Meta's
// largest media, docs/cloud-api.md#media-types-and-sizes), about 133 MB of
// JSON once base64-encoded.
const maxUploadBody = 100_000_000

// uploadArgs is WHATSAPP_UPLOAD_MEDIA's input carrying size random bytes.
func uploadArgs(size int) []byte {
	raw := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(raw)
	head := `{"phone_number_id":"` + testPhone + `","media_type":"document","file_to_upload":{"name":"report.pdf","mimetype":"application/pdf","content":"`
	tail := `"}}`
	out := make([]byte, 0, len(head)+base64.StdEncoding.EncodedLen(size)+len(tail))
	out = append(out, head...)
	out = base64.StdEncoding.AppendEncode(out, raw)
	return append(out, tail...)
}

func restUploadBody(size int) []byte { return uploadArgs(size) }

func mcpUploadBody(size int) []byte {
	return wrap(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"WHATSAPP_UPLOAD_MEDIA","arguments":`, uploadArgs(size), `}}`)
}

// mcpInitializeBody is an initialize padded to about size bytes, with one
// long string or with an array of small numbers (which costs a decoder far
// more memory per byte).
func mcpInitializeBody(size int, array bool) []byte {
	head := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"rss","version":"0"},"capabilities":{"experimental":{"pad":{"x":`
	if array {
		return wrap(head+"[", bytes.Repeat([]byte("0,"), size/2), `0]}}}}}`)
	}
	return wrap(head+`"`, bytes.Repeat([]byte("A"), size), `"}}}}}`)
}

func wrap(head string, mid []byte, tail string) []byte {
	out := make([]byte, 0, len(head)+len(mid)+len(tail))
	return append(append(append(out, head...), mid...), tail...)
}

// rssServer is one `whatsapp-mcp http` process and its fake Graph API.
type rssServer struct {
	cmd    *exec.Cmd
	base   string
	out    *syncbuf.Buffer
	exited chan error
	graph  *drainGraph
	busy   atomic.Int64 // 503 answers
}

func startRSSServer(b *testing.B) *rssServer {
	b.Helper()
	g := newDrainGraph(b)
	home := b.TempDir()
	ln := loopbackAddr()
	p := &rssServer{base: "http://" + ln, out: &syncbuf.Buffer{}, exited: make(chan error, 1), graph: g}
	p.cmd = exec.Command(binPath, "http", "--addr", ln, "--log-level", "warn")
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"WHATSAPP_ACCESS_TOKEN=" + testToken, "WHATSAPP_GRAPH_URL=" + g.URL, "WHATSAPP_WABA_ID=" + testWABA,
		"WHATSAPP_CALL_TIMEOUT=5m"}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	b.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("/healthz never answered; output:\n%s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loopbackAddr is a free loopback address for the server to listen on.
func loopbackAddr() string {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

// hwmMB reads the process's peak resident set size, in MiB.
func (p *rssServer) hwmMB(b *testing.B) float64 {
	b.Helper()
	mb, err := peakRSSMB(p.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	return mb
}

// peakRSSMB is the peak resident memory (VmHWM) of process pid, in MB.
func peakRSSMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

func (p *rssServer) stop(b *testing.B) {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// post sends body and returns the status and answer. A 503 (the server
// is at its bound of large bodies in flight) is retried after Retry-After.
func (p *rssServer) post(b *testing.B, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatalf("POST %s: %v; output:\n%s", path, err, p.out.String())
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			p.busy.Add(1)
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
			continue
		}
		return resp.StatusCode, resp.Header, answer
	}
}

func sendREST(b *testing.B, p *rssServer, body []byte) {
	status, _, answer := p.post(b, "/v1/actions/WHATSAPP_UPLOAD_MEDIA/execute", body, nil)
	if status != 200 || !bytes.Contains(answer, []byte(`"successful":true`)) {
		b.Fatalf("REST upload: %d %.300s", status, answer)
	}
}

// mcpSession initializes an MCP session and returns the headers of its
// later requests.
func mcpSession(b *testing.B, p *rssServer) map[string]string {
	hdr := map[string]string{"Accept": "application/json, text/event-stream"}
	status, h, answer := p.post(b, "/mcp", []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"rss","version":"0"}}}`), hdr)
	if status != 200 {
		b.Fatalf("initialize: %d %.300s", status, answer)
	}
	hdr["Mcp-Session-Id"] = h.Get("Mcp-Session-Id")
	hdr["MCP-Protocol-Version"] = "2025-11-25"
	if status, _, answer := p.post(b, "/mcp", []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), hdr); status != 202 {
		b.Fatalf("initialized: %d %.300s", status, answer)
	}
	return hdr
}

func sendMCP(b *testing.B, p *rssServer, body []byte) {
	hdr := mcpSession(b, p)
	status, _, answer := p.post(b, "/mcp", body, hdr)
	if status != 200 || !bytes.Contains(answer, []byte(`"successful":true`)) {
		b.Fatalf("MCP upload: %d %.300s", status, answer)
	}
}

// sendMCPInitialize sends an oversized initialize; refusing it (413) and
// answering it are both fine, the figure is the memory it took.
func sendMCPInitialize(b *testing.B, p *rssServer, body []byte) {
	status, _, answer := p.post(b, "/mcp", body, map[string]string{"Accept": "application/json, text/event-stream"})
	if status != 200 && status != http.StatusRequestEntityTooLarge {
		b.Fatalf("initialize: %d %.300s", status, answer)
	}
}

// drainGraph is a fake Graph API that reads uploads as a stream and
// answers a media id, counting the uploads in flight.
type drainGraph struct {
	*httptest.Server
	inFlight, maxInFlight atomic.Int64
}

func newDrainGraph(tb testing.TB) *drainGraph {
	g := &drainGraph{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/media") || r.Header.Get("Authorization") != "Bearer "+testToken {
			http.Error(w, `{"error":{"message":"unexpected","code":100}}`, http.StatusBadRequest)
			return
		}
		n := g.inFlight.Add(1)
		defer g.inFlight.Add(-1)
		for old := g.maxInFlight.Load(); n > old && !g.maxInFlight.CompareAndSwap(old, n); old = g.maxInFlight.Load() {
		}
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			http.Error(w, `{"error":{"message":"not multipart","code":100}}`, http.StatusBadRequest)
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		var size int64
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, `{"error":{"message":"bad multipart","code":100}}`, http.StatusBadRequest)
				return
			}
			n, _ := io.Copy(io.Discard, part)
			if part.FormName() == "file" {
				size = n
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"%d"}`, 1_000_000+size)
	}))
	tb.Cleanup(g.Close)
	return g
}
