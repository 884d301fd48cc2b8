//go:build !whatsapp_bench_lean

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// This file measures each figure. Every measurement starts its own server
// (or relay) process, so one run cannot warm or pollute the next.

// serverEnv is the environment of the server under test: none of the user's
// WHATSAPP_ settings, the bench credentials, and a data directory in tmp so
// nothing is written under the user's home.
func (b *bench) serverEnv(extra ...string) []string {
	env := childEnv(
		"WHATSAPP_ACCESS_TOKEN="+benchToken,
		"WHATSAPP_APP_SECRET="+benchSecret,
		"WHATSAPP_VERIFY_TOKEN="+benchVerify,
		"XDG_DATA_HOME="+filepath.Join(b.tmp, "xdg"),
		"HOME="+b.tmp,
	)
	return append(env, extra...)
}

// serverArgs are the flags every server child gets.
func (b *bench) serverArgs(cmd string, extra ...string) []string {
	args := []string{b.serverBin, cmd, "--graph-url", b.graphURL, "--api-version", benchAPIVer, "--log-level", b.cfg.logLevel}
	return append(args, extra...)
}

// startServer starts the server under test; with -profile it is the
// profiling build, told where to write the profile of the window between
// profileStart and profileStop.
func (b *bench) startServer(label string, argv []string, o childOpts) (*child, error) {
	if b.cfg.profileDir != "" {
		o.env = append(o.env, profileEnv+"="+filepath.Join(b.cfg.profileDir, label))
	}
	return startChild("whatsapp-mcp "+label, argv, b.logPath(label), o)
}

func (b *bench) logPath(label string) string { return filepath.Join(b.tmp, label+".log") }

// profileStart and profileStop bracket the measured window of a server child
// started with -profile (no-ops otherwise).
func (b *bench) profileStart(c *child) {
	if b.cfg.profileDir != "" {
		c.cmd.Process.Signal(syscall.SIGUSR1)
	}
}

func (b *bench) profileStop(c *child, label string) {
	if b.cfg.profileDir == "" {
		return
	}
	c.cmd.Process.Signal(syscall.SIGUSR2)
	path := filepath.Join(b.cfg.profileDir, label) + ".pprof"
	for range 200 { // the profile is renamed into place once written
		if _, err := os.Stat(path); err == nil {
			b.profiles = append(b.profiles, path)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.notef("profile %s was not written", path)
}

// stdioResult is one stdio run.
type stdioResult struct {
	p50, p99   time.Duration
	cpuPerCall time.Duration
	calls      int
}

// stdioRun: one session, sequential WHATSAPP_SEND_MESSAGE calls for the run
// duration, latency measured at the client, CPU from the child's /proc.
func (b *bench) stdioRun(ctx context.Context, ours bool, run int) (stdioResult, error) {
	var (
		c   *child
		err error
	)
	o := childOpts{env: b.serverEnv(), pipeStdin: true, pipeStdout: true}
	label := fmt.Sprintf("stdio-relay-%d", run)
	if ours {
		label = fmt.Sprintf("stdio-%d", run)
		c, err = b.startServer(label, b.serverArgs("stdio"), o)
	} else {
		c, err = startChild("stdio relay", []string{b.roles, "-role=stdio-relay", "-graph-url", b.graphURL}, b.logPath(label), o)
	}
	if err != nil {
		return stdioResult{}, err
	}
	defer c.stop(5 * time.Second)
	s := newStdioSession(c)
	if err := s.initialize(); err != nil {
		return stdioResult{}, err
	}
	for range b.cfg.warmup {
		if err := s.callSend(); err != nil {
			return stdioResult{}, fmt.Errorf("warm-up call: %w", err)
		}
	}
	cpu0, err := procCPU(c.pid())
	if err != nil {
		return stdioResult{}, err
	}
	if ours {
		b.profileStart(c)
	}
	lat := make([]time.Duration, 0, 1<<16)
	start := time.Now()
	for time.Since(start) < b.cfg.duration && len(lat) < maxCallsPerRun && ctx.Err() == nil {
		t := time.Now()
		if err := s.callSend(); err != nil {
			return stdioResult{}, err
		}
		lat = append(lat, time.Since(t))
	}
	cpu1, err := procCPU(c.pid())
	if err != nil {
		return stdioResult{}, err
	}
	if ours {
		b.profileStop(c, label)
	}
	p50, p99 := latencySummary(lat)
	return stdioResult{p50: p50, p99: p99, cpuPerCall: (cpu1 - cpu0) / time.Duration(len(lat)), calls: len(lat)}, nil
}

// maxCallsPerRun bounds a sequential run whatever its duration.
const maxCallsPerRun = 2_000_000

// httpResult is one streamable-HTTP run.
type httpResult struct {
	load       loadResult
	cpuPerCall time.Duration
	rssIdleKB  int64
	hwmKB      int64
}

// httpRun: the server (or relay) on a loopback port, one session
// initialized for the idle RSS, then a load process with cfg.sessions
// sessions calling for the run duration.
func (b *bench) httpRun(ctx context.Context, ours bool, run int) (httpResult, error) {
	addr, err := freeAddr()
	if err != nil {
		return httpResult{}, err
	}
	var c *child
	label := fmt.Sprintf("http-relay-%d", run)
	if ours {
		label = fmt.Sprintf("http-%d", run)
		c, err = b.startServer(label, b.serverArgs("http", "--addr", addr, "--store", filepath.Join(b.tmp, label+".db")),
			childOpts{env: b.serverEnv()})
	} else {
		c, err = startChild("http relay", []string{b.roles, "-role=http-relay", "-addr", addr, "-graph-url", b.graphURL},
			b.logPath(label), childOpts{env: childEnv(), pipeStdin: true, pipeStdout: true})
	}
	if err != nil {
		return httpResult{}, err
	}
	defer c.stop(10 * time.Second)
	base := "http://" + addr
	if err := waitHealthy(ctx, c, base+"/healthz", 20*time.Second); err != nil {
		return httpResult{}, err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if ours {
		// The customer wrote first, so the sends are inside the 24-hour
		// window (the common case) and carry no warning.
		if err := postWebhook(ctx, hc, base+"/webhook", benchSecret, inboundBody(time.Now())); err != nil {
			return httpResult{}, fmt.Errorf("seeding the customer's message: %w", err)
		}
	}
	s := &mcpHTTP{hc: hc, url: base + "/mcp"}
	if err := s.initialize(ctx); err != nil {
		return httpResult{}, err
	}
	if err := s.callSend(ctx); err != nil {
		return httpResult{}, fmt.Errorf("first call: %w", err)
	}
	time.Sleep(200 * time.Millisecond)
	rss, err := procMemKB(c.pid(), "VmRSS")
	if err != nil {
		return httpResult{}, err
	}
	cpu0, err := procCPU(c.pid())
	if err != nil {
		return httpResult{}, err
	}
	if ours {
		b.profileStart(c)
	}
	res, err := b.runLoad(ctx, label, "mcp", base+"/mcp", b.cfg.sessions, "")
	if err != nil {
		return httpResult{}, err
	}
	cpu1, err := procCPU(c.pid())
	if err != nil {
		return httpResult{}, err
	}
	if ours {
		b.profileStop(c, label)
	}
	hwm, err := procMemKB(c.pid(), "VmHWM")
	if err != nil {
		return httpResult{}, err
	}
	if res.OK == 0 {
		return httpResult{}, fmt.Errorf("no call succeeded: %s", res.FirstError)
	}
	if res.Errors > 0 {
		b.notef("%s: %d of %d calls failed, e.g. %s", label, res.Errors, res.OK+res.Errors, res.FirstError)
	}
	return httpResult{load: res, cpuPerCall: (cpu1 - cpu0) / time.Duration(res.OK), rssIdleKB: rss, hwmKB: hwm}, nil
}

// runLoad runs one load process to its end and returns what it measured.
func (b *bench) runLoad(ctx context.Context, label, mode, url string, conc int, prefix string) (loadResult, error) {
	argv := []string{b.roles, "-role=load", "-mode", mode, "-url", url, "-conc", strconv.Itoa(conc),
		"-duration", b.cfg.duration.String(), "-secret", benchSecret}
	if prefix != "" {
		argv = append(argv, "-prefix", prefix)
	}
	c, err := startChild("load "+label, argv, b.logPath("load-"+label), childOpts{env: childEnv(), pipeStdout: true})
	if err != nil {
		return loadResult{}, err
	}
	defer c.stop(5 * time.Second)
	line, err := c.readLine(b.cfg.duration + 90*time.Second)
	if err != nil {
		return loadResult{}, err
	}
	var res loadResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return loadResult{}, fmt.Errorf("load %s printed %q: %w", label, line, err)
	}
	<-c.done
	return res, nil
}

// webhookResult is one ingest run.
type webhookResult struct {
	load   loadResult
	stored int
}

// webhookRun: the server on a fresh store at loc, cfg.senders senders of
// signed single-status webhooks, then the store is read back to check that
// every acknowledged POST was stored, and nothing else.
func (b *bench) webhookRun(ctx context.Context, label, loc string) (webhookResult, error) {
	addr, err := freeAddr()
	if err != nil {
		return webhookResult{}, err
	}
	c, err := b.startServer(label, b.serverArgs("http", "--addr", addr, "--store", loc), childOpts{env: b.serverEnv()})
	if err != nil {
		return webhookResult{}, err
	}
	defer c.stop(10 * time.Second)
	base := "http://" + addr
	if err := waitHealthy(ctx, c, base+"/healthz", 20*time.Second); err != nil {
		return webhookResult{}, err
	}
	prefix := fmt.Sprintf("W%s", label)
	b.profileStart(c)
	res, err := b.runLoad(ctx, label, "webhook", base+"/webhook", b.cfg.senders, prefix)
	if err != nil {
		return webhookResult{}, err
	}
	b.profileStop(c, label)
	if err := c.stop(10 * time.Second); err != nil {
		return webhookResult{}, err
	}
	if res.OK == 0 {
		return webhookResult{}, fmt.Errorf("no webhook was acknowledged: %s", res.FirstError)
	}
	if res.Errors > 0 {
		b.notef("%s: %d of %d webhook POSTs were not answered 200, e.g. %s", label, res.Errors, res.OK+res.Errors, res.FirstError)
	}
	n, err := countStored(ctx, loc, benchMessageIDPrefix+prefix)
	if err != nil {
		return webhookResult{}, fmt.Errorf("reading the store back: %w", err)
	}
	return webhookResult{load: res, stored: n}, nil
}

// startRun: wall time from exec to the tools/list answer over stdio, and
// that answer's result.
func (b *bench) startRun(ours bool, run int) (time.Duration, json.RawMessage, error) {
	o := childOpts{env: b.serverEnv(), pipeStdin: true, pipeStdout: true}
	argv := []string{b.roles, "-role=stdio-relay", "-graph-url", b.graphURL}
	label := fmt.Sprintf("start-relay-%d", run)
	if ours {
		argv = b.serverArgs("stdio")
		label = fmt.Sprintf("start-%d", run)
	}
	t0 := time.Now()
	c, err := startChild(label, argv, b.logPath(label), o)
	if err != nil {
		return 0, nil, err
	}
	defer c.stop(5 * time.Second)
	s := newStdioSession(c)
	s.id = 1
	if err := s.send(initializeRequest(1), []byte(initializedNotification),
		[]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`)); err != nil {
		return 0, nil, err
	}
	res, err := s.await(2, 30*time.Second)
	d := time.Since(t0)
	if err != nil {
		return 0, nil, err
	}
	return d, res, nil
}

// pollResult is the p50 and p99 of each poll case, one run.
type pollResult struct {
	p50, p99 []time.Duration // by pollCases index
}

// pollStore loads cfg.events events into the store at loc (then closes it,
// runs ANALYZE through analyze and reopens), and times every case runs
// times.
func (b *bench) pollStore(ctx context.Context, name, loc string, analyze func(context.Context) error) ([]pollResult, error) {
	st, err := store.Open(ctx, loc)
	if err != nil {
		return nil, err
	}
	t := time.Now()
	if err := loadPollEvents(ctx, st, b.cfg.events); err != nil {
		st.Close()
		return nil, fmt.Errorf("loading %d events: %w", b.cfg.events, err)
	}
	b.notef("trigger poll, %s: loading %s events through store.Save took %s", name, fmtNum(float64(b.cfg.events)),
		time.Since(t).Round(100*time.Millisecond))
	if err := st.Close(); err != nil {
		return nil, err
	}
	t = time.Now()
	if err := analyze(ctx); err != nil {
		return nil, fmt.Errorf("ANALYZE: %w", err)
	}
	b.progress("  %s: ANALYZE took %s", name, time.Since(t).Round(time.Millisecond))
	if st, err = store.Open(ctx, loc); err != nil {
		return nil, err
	}
	defer st.Close()
	out := make([]pollResult, 0, b.cfg.runs)
	for run := range b.cfg.runs {
		var pr pollResult
		for i, c := range pollCases {
			lat, err := timePoll(ctx, st, c, int64(b.cfg.events), b.cfg.pollQueries, uint64(run*10+i))
			if err != nil {
				return nil, err
			}
			pr.p50 = append(pr.p50, percentile(lat, 50))
			pr.p99 = append(pr.p99, percentile(lat, 99))
		}
		out = append(out, pr)
	}
	return out, nil
}

// errNoPostgres marks the PostgreSQL figures as not measured.
var errNoPostgres = errors.New("PostgreSQL not reachable")
