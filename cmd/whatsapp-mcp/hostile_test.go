package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"syscall"
	"testing"
	"time"
)

// TestHostileInput sends hostile tool inputs through every transport a
// client can reach the tools by: MCP over stdio (the real binary over
// pipes), MCP streamable HTTP (raw POSTs to /mcp of the real binary, so
// malformed JSON reaches it as sent), REST (/v1/actions/{name}/execute)
// and the `call` command. The cases: wrong types, a 10 MB string,
// 100,000-deep arrays and objects, invalid UTF-8, truncated JSON, base64
// over the image cap and over the upload's whole input cap (about 138 MB,
// generated while it is sent), and paths escaping the media directory
// (`..`, absolute, symlinks inside pointing out, a symlink swapped in
// between WHATSAPP_GET_MEDIA's check of save_as and its write).
//
// Every case must be answered (no hang, no crash: the same process serves
// the next case) with a clear error naming the problem (the envelope's
// error, a JSON-RPC error, an HTTP 4xx, or the call command's usage error;
// an input over its tool's cap is refused for its size on every transport,
// as docs/architecture.md#request-bodies says, before it is held whole),
// without any request to the Graph API (a fake that counts every request;
// a valid control call proves the count moves when it should), and within
// bounded memory: the server's peak RSS (VmHWM of /proc/<pid>/status; the
// call command's ru_maxrss) is logged per case and must stay under
// hostileMaxRSSMB. That bound is a safety net against a case that makes
// the server hold many copies of its input, not a target: the figures are
// in the log (go test -run TestHostileInput -v ./cmd/whatsapp-mcp/).
// The one case that must reach Graph is the save_as swap (the check comes
// before the download): there the file outside the media directory must
// stay untouched, and a racing loop (hostileRaceTries per transport) tries
// the same by timing.
func TestHostileInput(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/status")
	}
	h := newHostileEnv(t)
	transports := []func(t *testing.T, ctx context.Context, h *hostileEnv) *hostileTransport{
		hostileStdio, hostileMCPHTTP, hostileREST, hostileCall,
	}
	for _, start := range transports {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		tr := start(t, ctx, h)
		t.Run(tr.name, func(t *testing.T) {
			h.run(t, ctx, tr)
			h.race(t, ctx, tr)
			if err := tr.alive(ctx); err != nil {
				t.Fatalf("the server is no longer healthy after the hostile inputs: %v", err)
			}
			if peak := tr.peak(); peak > hostileMaxRSSMB {
				t.Errorf("peak RSS %.0f MB, over the safety bound of %d MB", peak, hostileMaxRSSMB)
			}
		})
		tr.stop(t)
		cancel()
	}
	if err := h.outsideChanged(); err != nil {
		t.Fatal(err)
	}
}

const (
	// hostileMaxRSSMB is a generous safety bound on the server's peak
	// resident memory over all cases of a transport, the 138 MB body
	// included: far above what the cases need, far below what a server
	// that copied its input a few times over would reach. Not a speed or
	// size target.
	hostileMaxRSSMB = 300
	// hostileRaceTries bounds the save_as race per long-lived transport;
	// the call command (a process per try) gets a tenth of it.
	hostileRaceTries = 100
	// hostileMediaID is the one media object the fake Graph serves.
	hostileMediaID = "4242424242424242"
)

// hostileGraph is newFakeGraph fronted by a handler that also serves one
// media object (its metadata and, on a CDN path, its bytes) and counts
// every request, whoever answers it.
type hostileGraph struct {
	*httptest.Server
	fake     *fakeGraph
	requests atomic.Int64
	media    []byte
	// swap, when set, runs while the CDN serves a download: after
	// WHATSAPP_GET_MEDIA has checked save_as, before it writes.
	swap atomic.Pointer[func()]
	// delay is slept before a download is served (the race widens it).
	delay atomic.Int64
}

func newHostileGraph(t *testing.T) *hostileGraph {
	g := &hostileGraph{fake: newFakeGraph(t), media: []byte("\xff\xd8\xff\xe0 a hostile test jpeg")}
	sum := sha256.Sum256(g.media)
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.requests.Add(1)
		authorized := r.Header.Get("Authorization") == "Bearer "+testToken
		switch {
		case authorized && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+hostileMediaID):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"messaging_product":"whatsapp","url":%q,"mime_type":"image/jpeg","sha256":%q,"file_size":"%d","id":%q}`,
				g.URL+"/cdn/hostile.jpg", hex.EncodeToString(sum[:]), len(g.media), hostileMediaID)
		case authorized && r.Method == http.MethodGet && r.URL.Path == "/cdn/hostile.jpg":
			if f := g.swap.Load(); f != nil {
				(*f)()
			}
			time.Sleep(time.Duration(g.delay.Load()))
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(g.media)
		default:
			g.fake.Config.Handler.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(g.Close)
	return g
}

// hostileEnv is what the transports share: the fake Graph, the media
// directory with its traps, and the directories outside it.
type hostileEnv struct {
	graph *hostileGraph
	// media is WHATSAPP_MEDIA_DIR; secret holds a file the upload traps
	// point at; outside holds the victim the save_as traps point at, and
	// must hold nothing else at the end.
	media, secret, outside string
	victim, dangling       string
}

const hostileVictim = "precious, must never be overwritten"

func newHostileEnv(t *testing.T) *hostileEnv {
	root := t.TempDir()
	h := &hostileEnv{graph: newHostileGraph(t), media: filepath.Join(root, "media"), secret: filepath.Join(root, "secret"), outside: filepath.Join(root, "outside")}
	h.victim = filepath.Join(h.outside, "victim.txt")
	h.dangling = filepath.Join(h.outside, "created-through-a-link")
	for _, d := range []string{h.media, h.secret, h.outside} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(h.secret, "secret.txt"), []byte("do not upload"), 0o600))
	must(os.WriteFile(h.victim, []byte(hostileVictim), 0o600))
	must(os.Symlink(filepath.Join(h.secret, "secret.txt"), filepath.Join(h.media, "out-link.txt")))
	must(os.Symlink(h.secret, filepath.Join(h.media, "outdir")))
	must(os.Symlink(h.victim, filepath.Join(h.media, "trap.jpg")))
	return h
}

func (h *hostileEnv) env(t *testing.T) []string {
	return binEnv(t, "WHATSAPP_ACCESS_TOKEN="+testToken, "WHATSAPP_GRAPH_URL="+h.graph.URL, "WHATSAPP_WABA_ID="+testWABA,
		"WHATSAPP_MEDIA_DIR="+h.media)
}

// outsideChanged says what was written or created outside the media
// directory, if anything.
func (h *hostileEnv) outsideChanged() error {
	if got, _ := os.ReadFile(h.victim); string(got) != hostileVictim {
		return fmt.Errorf("the file outside the media directory was overwritten: %q", got)
	}
	entries, _ := os.ReadDir(h.outside)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return fmt.Errorf("files were created outside the media directory: %v", names)
	}
	if got, _ := os.ReadFile(filepath.Join(h.secret, "secret.txt")); string(got) != "do not upload" {
		return fmt.Errorf("the secret file changed: %q", got)
	}
	return nil
}

// hostileBody is a request part: head, then n copies of fill, then tail,
// generated while it is sent, so a 138 MB body never sits in the test's
// memory.
type hostileBody struct {
	head string
	fill byte
	n    int64
	tail string
}

func hostileText(s string) hostileBody { return hostileBody{head: s} }

func (b hostileBody) size() int64 { return int64(len(b.head)) + b.n + int64(len(b.tail)) }

func (b hostileBody) wrap(head, tail string) hostileBody {
	return hostileBody{head: head + b.head, fill: b.fill, n: b.n, tail: b.tail + tail}
}

func (b hostileBody) reader() io.Reader {
	return io.MultiReader(strings.NewReader(b.head), &hostileRepeat{fill: b.fill, n: b.n}, strings.NewReader(b.tail))
}

// hostileRepeat reads n copies of fill.
type hostileRepeat struct {
	fill  byte
	n     int64
	chunk []byte
}

func (r *hostileRepeat) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if r.chunk == nil {
		r.chunk = bytes.Repeat([]byte{r.fill}, 64<<10)
	}
	n := copy(p[:min(int64(len(p)), r.n)], r.chunk)
	r.n -= int64(n)
	return n, nil
}

// hostileAnswer is what a transport answered, reduced to what the cases
// check.
type hostileAnswer struct {
	code       int // HTTP status; the call command's exit status; 0 over stdio
	successful bool
	msg        string         // the error: envelope error, JSON-RPC error, HTTP body, stderr
	data       map[string]any // the envelope's data, when there is one
	peakMB     float64        // the server's peak RSS after the answer
	nullID     bool           // a JSON-RPC answer with "id": null
}

func (a hostileAnswer) summary() string {
	s := a.msg
	if a.successful {
		s = "successful"
		if p, ok := a.data["saved_path"].(string); ok {
			s += ", saved_path " + filepath.Base(p)
		}
	}
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 150 {
		s = s[:150] + "…"
	}
	if a.code != 0 {
		s = strconv.Itoa(a.code) + " " + s
	}
	return s
}

// hostileTransport is one way to call a tool, on one long-lived process
// (or, for `call`, one process per call).
type hostileTransport struct {
	name string
	// do calls tool with the JSON arguments args, exactly as given.
	do    func(ctx context.Context, tool string, args hostileBody) (hostileAnswer, error)
	alive func(ctx context.Context) error
	peak  func() float64
	stop  func(t *testing.T)
}

// hostileCase is one hostile input. want lists what a clear answer names
// (any of them, case-insensitive); graph is the number of Graph requests
// the call may make (0 for every hostile case).
type hostileCase struct {
	name  string
	tool  string
	args  hostileBody
	want  []string
	ok    bool // must succeed (the control)
	graph int64
	// setup and check run around the call (the save_as swap).
	setup func(t *testing.T, tr *hostileTransport) (cleanup func())
	check func(t *testing.T, tr *hostileTransport, a hostileAnswer)
}

// recipient fields of a send, valid.
const hostileTo = `"to_number":"+16505551234","phone_number_id":"` + testPhone + `"`

func (h *hostileEnv) cases() []hostileCase {
	deepArrays := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	deepObjects := strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)
	upload := func(file string) hostileBody {
		return hostileText(`{"phone_number_id":"` + testPhone + `","media_type":"document","file_to_upload":` + file + `}`)
	}
	getMedia := func(saveAs string) hostileBody {
		return hostileText(`{"media_id":"` + hostileMediaID + `","download":true,"save_as":` + strconv.Quote(saveAs) + `}`)
	}
	return []hostileCase{
		{name: "control: a valid call", tool: "WHATSAPP_GET_PHONE_NUMBERS", args: hostileText(`{"limit":5}`), ok: true, graph: 1},
		{name: "number for a string", tool: "WHATSAPP_SEND_MESSAGE",
			args: hostileText(`{"to_number":16505551234,"phone_number_id":"` + testPhone + `","text":"hi"}`), want: []string{"`to_number`"}},
		{name: "object for an array", tool: "WHATSAPP_SEND_CONTACTS",
			args: hostileText(`{` + hostileTo + `,"contacts":{"name":{"formatted_name":"Ana"}}}`), want: []string{"`contacts`"}},
		{name: "array for an integer", tool: "WHATSAPP_GET_PHONE_NUMBERS", args: hostileText(`{"limit":[5]}`), want: []string{"`limit`"}},
		{name: "bool for an object", tool: "WHATSAPP_UPLOAD_MEDIA",
			args: hostileText(`{"phone_number_id":"` + testPhone + `","media_type":"image","file_to_upload":true}`), want: []string{"`file_to_upload`"}},
		{name: "arguments an array", tool: "WHATSAPP_GET_PHONE_NUMBERS", args: hostileText(`[1,2,3]`), want: []string{"arguments", "object"}},
		{name: "truncated JSON", tool: "WHATSAPP_SEND_MESSAGE", args: hostileText(`{` + hostileTo + `,"text":"hi`),
			want: []string{"JSON", "parse error"}},
		{name: "10 MB string", tool: "WHATSAPP_SEND_MESSAGE",
			args: hostileBody{head: `{` + hostileTo + `,"text":"`, fill: 'a', n: 10_000_000, tail: `"}`},
			want: []string{"larger than"}},
		{name: "10 MB key", tool: "WHATSAPP_GET_PHONE_NUMBERS",
			args: hostileBody{head: `{"`, fill: 'k', n: 10_000_000, tail: `":1}`}, want: []string{"larger than"}},
		{name: "100,000-deep arrays", tool: "WHATSAPP_SEND_MESSAGE", args: hostileText(`{` + hostileTo + `,"text":` + deepArrays + `}`),
			want: []string{"depth", "JSON", "parse error"}},
		{name: "100,000-deep objects", tool: "WHATSAPP_SEND_MESSAGE", args: hostileText(`{` + hostileTo + `,"text":` + deepObjects + `}`),
			want: []string{"depth", "JSON", "parse error"}},
		{name: "100,000-deep arguments", tool: "WHATSAPP_GET_PHONE_NUMBERS", args: hostileText(deepArrays),
			want: []string{"depth", "JSON", "parse error"}},
		{name: "invalid UTF-8 in a string", tool: "WHATSAPP_SEND_MESSAGE", args: hostileText(`{` + hostileTo + `,"text":"hi ` + "\xff\xfe\xc0\xaf" + ` there"}`),
			want: []string{"UTF-8"}},
		{name: "invalid UTF-8 in a key", tool: "WHATSAPP_SEND_MESSAGE", args: hostileText(`{` + hostileTo + `,"te` + "\xff" + `xt":"hi"}`),
			want: []string{"UTF-8", "not an input"}},
		{name: "lone surrogate escape", tool: "WHATSAPP_SEND_MESSAGE", args: hostileText(`{` + hostileTo + `,"text":"hi \ud83d"}`),
			want: []string{"UTF-8", "surrogate"}},
		{name: "base64 over the image cap (8 MB)", tool: "WHATSAPP_UPLOAD_MEDIA",
			args: hostileBody{head: `{"phone_number_id":"` + testPhone + `","media_type":"image","file_to_upload":{"name":"a.jpg","content":"`, fill: 'A', n: 8_000_000, tail: `"}}`},
			want: []string{"5 MB"}},
		// WHATSAPP_UPLOAD_MEDIA's input cap is 137,565,538 bytes (a 100 MB
		// file as base64, and room): 138 MB is over it.
		{name: "base64 over the upload's input cap (138 MB)", tool: "WHATSAPP_UPLOAD_MEDIA",
			args: hostileBody{head: `{"phone_number_id":"` + testPhone + `","media_type":"document","file_to_upload":{"name":"a.pdf","content":"`, fill: 'A', n: 138_000_000, tail: `"}}`},
			want: []string{"larger than"}},
		{name: "upload path ../", tool: "WHATSAPP_UPLOAD_MEDIA", args: upload(`{"path":"../secret/secret.txt"}`), want: []string{"`..`"}},
		{name: "upload path absolute", tool: "WHATSAPP_UPLOAD_MEDIA", args: upload(`{"path":"/etc/passwd","mimetype":"text/plain"}`), want: []string{"outside the media directory"}},
		{name: "upload symlink inside pointing out", tool: "WHATSAPP_UPLOAD_MEDIA", args: upload(`{"path":"out-link.txt"}`), want: []string{"outside the media directory"}},
		{name: "upload through a symlinked directory", tool: "WHATSAPP_UPLOAD_MEDIA", args: upload(`{"path":"outdir/secret.txt"}`), want: []string{"outside the media directory"}},
		{name: "save_as ../", tool: "WHATSAPP_GET_MEDIA", args: getMedia("../outside/victim.txt"), want: []string{"plain file name"}},
		{name: "save_as absolute", tool: "WHATSAPP_GET_MEDIA", args: getMedia(h.victim), want: []string{"plain file name"}},
		{name: "save_as an existing symlink out", tool: "WHATSAPP_GET_MEDIA", args: getMedia("trap.jpg"), want: []string{"link"}},
		h.swapCase(),
	}
}

// swapCase: the fake CDN puts a symlink to the victim under save_as while
// it serves the download, so the swap lands between the check and the
// write every time. The tool may save (inside the directory, replacing the
// link) or refuse; it must not write through the link.
func (h *hostileEnv) swapCase() hostileCase {
	name := func(tr *hostileTransport) string { return tr.name + "-swap.jpg" }
	return hostileCase{name: "save_as swapped to a symlink out between check and write", tool: "WHATSAPP_GET_MEDIA", graph: 2,
		want: []string{"link", "save"},
		setup: func(t *testing.T, tr *hostileTransport) func() {
			p := filepath.Join(h.media, name(tr))
			os.Remove(p)
			swap := func() {
				os.Remove(p)
				if err := os.Symlink(h.victim, p); err != nil {
					t.Errorf("swap: %v", err)
				}
			}
			h.graph.swap.Store(&swap)
			return func() { h.graph.swap.Store(nil) }
		},
		check: func(t *testing.T, tr *hostileTransport, a hostileAnswer) {
			if err := h.outsideChanged(); err != nil {
				t.Fatalf("the symlink swapped in between check and write: %v (answer: %s)", err, a.summary())
			}
			if a.successful {
				p := filepath.Join(h.media, name(tr))
				if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() || a.data["saved_path"] != p {
					t.Errorf("saved, but %s is not a regular file inside the media directory (%v), saved_path %v", p, err, a.data["saved_path"])
				}
			}
		},
		args: hostileBody{}, // set per transport in run
	}
}

// run sends every case through tr and logs the table.
func (h *hostileEnv) run(t *testing.T, ctx context.Context, tr *hostileTransport) {
	var table strings.Builder
	fmt.Fprintf(&table, "%-10s | %-56s | %-7s | %-7s | %-5s | %s\n", "transport", "case", "peak MB", "took", "graph", "answer")
	for _, c := range h.cases() {
		if c.setup != nil {
			cleanup := c.setup(t, tr)
			if c.args.size() == 0 {
				c.args = hostileText(`{"media_id":"` + hostileMediaID + `","download":true,"save_as":"` + tr.name + `-swap.jpg"}`)
			}
			defer cleanup()
		}
		before := h.graph.requests.Load()
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		start := time.Now()
		a, err := tr.do(cctx, c.tool, c.args)
		took := time.Since(start)
		cancel()
		if c.setup != nil {
			h.graph.swap.Store(nil)
		}
		if err != nil {
			t.Fatalf("%s: no answer (a hang or a crash): %v", c.name, err)
		}
		n := h.graph.requests.Load() - before
		fmt.Fprintf(&table, "%-10s | %-56s | %7.1f | %7s | %5d | %s\n", tr.name, c.name, a.peakMB, took.Round(time.Millisecond), n, a.summary())
		switch {
		case c.ok && !a.successful:
			t.Errorf("%s: the control call failed: %s", c.name, a.summary())
		case !c.ok && c.check == nil && a.successful:
			t.Errorf("%s: succeeded, want an error", c.name)
		case !c.ok && !a.successful && !hostileNames(a.msg, c.want):
			t.Errorf("%s: the error names none of %q: %s", c.name, c.want, a.summary())
		case a.nullID && !strings.Contains(a.msg, "Parse error"):
			// Only a message that cannot be read goes without its id.
			t.Errorf("%s: answered with a null id, which the client cannot match to its request: %s", c.name, a.summary())
		}
		// REST classifies the envelope by status (422 invalid input, 413);
		// over MCP a tool's failure is a result (200) and only a message
		// refused before it reaches the tool is a 4xx; never a 5xx.
		if !c.ok && !a.successful && (a.code >= 500 || (tr.name == "rest" && a.code < 400)) {
			t.Errorf("%s: status %d for a client's mistake, want a 4xx", c.name, a.code)
		}
		if n > c.graph {
			t.Errorf("%s: %d Graph requests, want at most %d", c.name, n, c.graph)
		} else if c.ok && n != c.graph {
			t.Errorf("%s: %d Graph requests, want %d (the counter must see the control call)", c.name, n, c.graph)
		}
		if c.check != nil {
			c.check(t, tr, a)
		}
		if err := tr.alive(ctx); err != nil {
			t.Fatalf("after %s: %v", c.name, err)
		}
	}
	t.Logf("hostile inputs over %s (peak MB is the server's VmHWM so far; for call, that call's ru_maxrss):\n%s", tr.name, table.String())
}

func hostileNames(msg string, want []string) bool {
	for _, w := range want {
		if strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			return true
		}
	}
	return false
}

// race runs a goroutine that keeps replacing save_as with a symlink out of
// the media directory (to the victim, or dangling to a new file outside)
// and removing it, against repeated saves: none may write outside.
func (h *hostileEnv) race(t *testing.T, ctx context.Context, tr *hostileTransport) {
	tries := hostileRaceTries
	if tr.name == "call" {
		tries /= 10
	}
	name := tr.name + "-race.jpg"
	p := filepath.Join(h.media, name)
	h.graph.delay.Store(int64(time.Millisecond))
	defer h.graph.delay.Store(0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Int64
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			os.Remove(p)
			target := h.victim
			if i%2 == 1 {
				target = h.dangling
			}
			if os.Symlink(target, p) == nil {
				swaps.Add(1)
			}
			time.Sleep(300 * time.Microsecond)
			os.Remove(p)
			time.Sleep(300 * time.Microsecond)
		}
	})
	defer func() { close(stop); wg.Wait() }()
	saved, refused := 0, 0
	args := hostileText(`{"media_id":"` + hostileMediaID + `","download":true,"save_as":"` + name + `"}`)
	for i := range tries {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		a, err := tr.do(cctx, "WHATSAPP_GET_MEDIA", args)
		cancel()
		if err != nil {
			t.Fatalf("race try %d: no answer: %v", i, err)
		}
		if err := h.outsideChanged(); err != nil {
			t.Fatalf("race try %d: %v (answer: %s)", i, err, a.summary())
		}
		switch {
		case a.successful && a.data["saved_path"] == p:
			saved++
		case !a.successful && strings.Contains(a.msg, "link"):
			refused++
		default:
			t.Errorf("race try %d: neither saved in the media directory nor refused as a link: %s", i, a.summary())
		}
	}
	t.Logf("save_as race over %s: %d tries against %d link swaps: %d saved inside the media directory, %d refused as a link, 0 written outside",
		tr.name, tries, swaps.Load(), saved, refused)
}

// hostileVmHWM is the peak RSS of process pid, in MB; -1 once it has exited.
func hostileVmHWM(pid int) float64 {
	mb, err := peakRSSMB(pid)
	if err != nil {
		return -1
	}
	return mb
}

// hostileRPC reduces a JSON-RPC answer to a tools/call.
func hostileRPC(b []byte) (hostileAnswer, error) {
	var m struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Result *struct {
			IsError           bool            `json:"isError"`
			StructuredContent json.RawMessage `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return hostileAnswer{}, fmt.Errorf("not JSON-RPC: %v: %.300s", err, b)
	}
	switch {
	case m.Error != nil:
		return hostileAnswer{msg: fmt.Sprintf("JSON-RPC error %d: %s", m.Error.Code, m.Error.Message)}, nil
	case m.Result != nil:
		a, err := hostileEnvelope(m.Result.StructuredContent)
		if err == nil && a.successful == m.Result.IsError {
			err = fmt.Errorf("isError %v disagrees with the envelope: %.300s", m.Result.IsError, b)
		}
		return a, err
	}
	return hostileAnswer{}, fmt.Errorf("neither result nor error: %.300s", b)
}

// hostileEnvelope reads a tool's envelope {successful, data, error}.
func hostileEnvelope(b []byte) (hostileAnswer, error) {
	var e struct {
		Successful *bool  `json:"successful"`
		Data       any    `json:"data"`
		Error      string `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Successful == nil {
		return hostileAnswer{}, fmt.Errorf("not an envelope (%v): %.300s", err, b)
	}
	if !*e.Successful && e.Error == "" {
		return hostileAnswer{}, fmt.Errorf("a failure without an error: %.300s", b)
	}
	data, _ := e.Data.(map[string]any)
	return hostileAnswer{successful: *e.Successful, msg: e.Error, data: data}, nil
}

// hostileStdio: `whatsapp-mcp stdio`, one process, one request at a time.
func hostileStdio(t *testing.T, ctx context.Context, h *hostileEnv) *hostileTransport {
	p := startStdio(t, ctx, h.env(t), "stdio")
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	var id atomic.Int64
	var mu sync.Mutex
	// request writes msg and reads lines up to the answer with its id (or
	// a parse error, which JSON-RPC answers with a null id).
	request := func(ctx context.Context, msg hostileBody, id int64) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		werr := make(chan error, 1)
		go func() {
			_, err := io.Copy(p.stdin, io.MultiReader(msg.reader(), strings.NewReader("\n")))
			werr <- err
		}()
		for {
			select {
			case line, ok := <-p.lines:
				if !ok {
					return nil, fmt.Errorf("stdout closed (the server exited?); stderr:\n%.2000s", p.stderr.String())
				}
				var head struct {
					ID json.RawMessage `json:"id"`
				}
				if err := json.Unmarshal([]byte(line), &head); err != nil {
					return nil, fmt.Errorf("stdout carries a line that is not JSON: %.300q", line)
				}
				if string(head.ID) == strconv.FormatInt(id, 10) || string(head.ID) == "null" {
					if err := <-werr; err != nil {
						return nil, fmt.Errorf("writing the request: %v", err)
					}
					return []byte(line), nil
				}
			case <-ctx.Done():
				return nil, fmt.Errorf("no answer to request %d: %v; stderr:\n%.2000s", id, ctx.Err(), p.stderr.String())
			}
		}
	}
	init := id.Add(1)
	if _, err := request(ctx, hostileText(`{"jsonrpc":"2.0","id":`+strconv.FormatInt(init, 10)+`,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"hostile","version":"0"}}}`), init); err != nil {
		t.Fatal(err)
	}
	p.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	pid := p.cmd.Process.Pid
	return &hostileTransport{
		name: "stdio",
		do: func(ctx context.Context, tool string, args hostileBody) (hostileAnswer, error) {
			n := id.Add(1)
			line, err := request(ctx, args.wrap(`{"jsonrpc":"2.0","id":`+strconv.FormatInt(n, 10)+`,"method":"tools/call","params":{"name":"`+tool+`","arguments":`, `}}`), n)
			if err != nil {
				return hostileAnswer{}, err
			}
			a, err := hostileRPC(line)
			a.peakMB = hostileVmHWM(pid)
			a.nullID = bytes.Contains(line, []byte(`"id":null`))
			return a, err
		},
		alive: func(ctx context.Context) error {
			n := id.Add(1)
			line, err := request(ctx, hostileText(`{"jsonrpc":"2.0","id":`+strconv.FormatInt(n, 10)+`,"method":"tools/list"}`), n)
			if err == nil && !bytes.Contains(line, []byte(`"WHATSAPP_SEND_MESSAGE"`)) {
				err = fmt.Errorf("tools/list: %.300s", line)
			}
			return err
		},
		peak: func() float64 { return hostileVmHWM(pid) },
		stop: func(t *testing.T) {
			p.stdin.Close()
			if err := p.cmd.Wait(); err != nil {
				t.Errorf("stdio exited with %v at the end of input; stderr:\n%.2000s", err, p.stderr.String())
			}
		},
	}
}

// hostilePost posts body to u with hdr and returns the status, the
// headers and the body of the answer.
func hostilePost(ctx context.Context, u string, body hostileBody, hdr map[string]string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body.reader())
	if err != nil {
		return 0, nil, nil, err
	}
	req.ContentLength = body.size()
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, b, err
}

// hostileHTTPProcess starts `whatsapp-mcp http` for one transport.
func hostileHTTPProcess(t *testing.T, ctx context.Context, h *hostileEnv) (*httpProcess, func(ctx context.Context) error, func() float64) {
	p := startHTTP(t, ctx, h.env(t))
	pid := p.cmd.Process.Pid
	alive := func(ctx context.Context) error {
		select {
		case err := <-p.exited:
			p.exited <- err
			return fmt.Errorf("the server exited (%v); output:\n%.2000s", err, p.output.String())
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/healthz: %d", resp.StatusCode)
		}
		return nil
	}
	return p, alive, func() float64 { return hostileVmHWM(pid) }
}

// hostileMCPHTTP: raw POSTs to /mcp in one session.
func hostileMCPHTTP(t *testing.T, ctx context.Context, h *hostileEnv) *hostileTransport {
	p, alive, peak := hostileHTTPProcess(t, ctx, h)
	hdr := map[string]string{"Accept": "application/json, text/event-stream"}
	status, rh, body, err := hostilePost(ctx, p.base+"/mcp", hostileText(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"hostile","version":"0"}}}`), hdr)
	if err != nil || status != 200 || rh.Get("Mcp-Session-Id") == "" {
		t.Fatalf("initialize: %d %v %s", status, err, body)
	}
	hdr["Mcp-Session-Id"] = rh.Get("Mcp-Session-Id")
	hdr["MCP-Protocol-Version"] = "2025-11-25"
	if status, _, body, err := hostilePost(ctx, p.base+"/mcp", hostileText(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), hdr); err != nil || status/100 != 2 {
		t.Fatalf("notifications/initialized: %d %v %s", status, err, body)
	}
	var id atomic.Int64
	id.Store(1)
	return &hostileTransport{
		name: "mcp-http",
		do: func(ctx context.Context, tool string, args hostileBody) (hostileAnswer, error) {
			n := strconv.FormatInt(id.Add(1), 10)
			status, rh, body, err := hostilePost(ctx, p.base+"/mcp", args.wrap(`{"jsonrpc":"2.0","id":`+n+`,"method":"tools/call","params":{"name":"`+tool+`","arguments":`, `}}`), hdr)
			if err != nil {
				return hostileAnswer{}, err
			}
			if strings.HasPrefix(rh.Get("Content-Type"), "text/event-stream") {
				// The answer is the last data line.
				var last []byte
				for line := range bytes.SplitSeq(body, []byte("\n")) {
					if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
						last = d
					}
				}
				body = last
			}
			a, err := hostileRPC(body)
			if err != nil && status >= 400 {
				// Refused before JSON-RPC: {"error": "…"}.
				var e struct {
					Error string `json:"error"`
				}
				if json.Unmarshal(body, &e) == nil && e.Error != "" {
					a, err = hostileAnswer{msg: e.Error}, nil
				}
			}
			a.code, a.peakMB = status, peak()
			return a, err
		},
		alive: alive,
		peak:  peak,
		stop:  p.stop,
	}
}

// hostileREST: POST /v1/actions/{name}/execute.
func hostileREST(t *testing.T, ctx context.Context, h *hostileEnv) *hostileTransport {
	p, alive, peak := hostileHTTPProcess(t, ctx, h)
	return &hostileTransport{
		name: "rest",
		do: func(ctx context.Context, tool string, args hostileBody) (hostileAnswer, error) {
			status, _, body, err := hostilePost(ctx, p.base+"/v1/actions/"+tool+"/execute", args, nil)
			if err != nil {
				return hostileAnswer{}, err
			}
			a, err := hostileEnvelope(body)
			a.code, a.peakMB = status, peak()
			if err == nil && a.successful != (status == 200) {
				err = fmt.Errorf("status %d with successful %v", status, a.successful)
			}
			return a, err
		},
		alive: alive,
		peak:  peak,
		stop:  p.stop,
	}
}

// hostileCall: `whatsapp-mcp call TOOL -`, the input on stdin (a 10 MB
// argument would not fit in argv), a process per call.
func hostileCall(t *testing.T, ctx context.Context, h *hostileEnv) *hostileTransport {
	env := h.env(t)
	var maxRSS atomic.Int64 // kB
	return &hostileTransport{
		name: "call",
		do: func(ctx context.Context, tool string, args hostileBody) (hostileAnswer, error) {
			cmd := exec.CommandContext(ctx, binPath, "call", tool, "-")
			cmd.Env = env
			cmd.Stdin = args.reader()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				return hostileAnswer{}, err
			}
			if ctx.Err() != nil {
				return hostileAnswer{}, fmt.Errorf("call did not finish: %v; stderr:\n%.2000s", ctx.Err(), stderr.String())
			}
			code := cmd.ProcessState.ExitCode()
			var a hostileAnswer
			err = nil
			switch code {
			case 0, 1:
				if a, err = hostileEnvelope(stdout.Bytes()); err == nil && a.successful != (code == 0) {
					err = fmt.Errorf("exit %d with successful %v", code, a.successful)
				}
			case 2:
				a = hostileAnswer{msg: strings.TrimSpace(stderr.String())}
			default:
				err = fmt.Errorf("call exited with %d (a crash?); stderr:\n%.2000s", code, stderr.String())
			}
			a.code = code
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				kb := int64(ru.Maxrss)
				a.peakMB = float64(kb) / 1024
				for old := maxRSS.Load(); kb > old && !maxRSS.CompareAndSwap(old, kb); old = maxRSS.Load() {
				}
			}
			return a, err
		},
		alive: func(context.Context) error { return nil }, // a process per call
		peak:  func() float64 { return float64(maxRSS.Load()) / 1024 },
		stop:  func(*testing.T) {},
	}
}
