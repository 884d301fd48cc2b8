//go:build !whatsapp_bench_lean

// Command whatsapp-bench measures the performance figures of whatsapp-mcp
// end to end, next to the floor each one is judged against, and prints a
// Markdown table: figure | ours | floor | ratio | target | met?
//
//	go run ./cmd/whatsapp-bench            # full run: a few minutes on 2 cores
//	go run ./cmd/whatsapp-bench -quick     # smoke run, about 10 seconds
//	go run ./cmd/whatsapp-bench -json      # the same figures as JSON
//	go run ./cmd/whatsapp-bench -only http,webhook -runs 5
//
// # What runs
//
// The server under test is the real binary, built with `go build` from
// ./cmd/whatsapp-mcp into a temporary directory and run as a child process
// (-server-bin runs a given binary instead). Its Graph API is a fake Graph in
// a process of its own (this binary re-executed as -role=fakegraph) that
// answers POST /vNN.0/{phone-number-id}/messages at once with a Meta-shaped
// body; the server is pointed at it with --graph-url and
// WHATSAPP_ACCESS_TOKEN=bench-token. The floors are relays in this binary
// (-role=stdio-relay, -role=http-relay) making the same Graph POST per call
// with a shared, tuned http.Client. Load comes from processes of its own
// (-role=load). The roles run from a lean build of this command (go build
// -tags whatsapp_bench_lean: the roles only, without the store, SQLite and
// pgx, which would add about 4 MB to the relays' RSS); if that build fails
// this binary plays them. Everything listens and sends on 127.0.0.1 only;
// every loop is bounded in time and count, and every child stops when the
// harness does.
//
// # The figures
//
//   - stdio tool call p50 and server CPU per call: one MCP session over the
//     child's stdin/stdout, sequential WHATSAPP_SEND_MESSAGE calls for
//     -duration; latency at the client, CPU as the child's utime+stime
//     (/proc/<pid>/stat) over the run divided by the calls. Floor: the stdio
//     relay.
//   - HTTP, -sessions (32) sessions: calls/s and server CPU per call, with a
//     load process holding one streamable-HTTP session per goroutine. The
//     customer's inbound message is delivered to /webhook first, so the sends
//     are inside the 24-hour window. Floor: the net/http relay.
//   - webhook ingest, SQLite and PostgreSQL, -senders (64) senders: signed
//     single-status deliveries with unique message ids; POSTs/s counts only
//     200s, p50/p99 at the client. After the run the server is stopped and
//     the store read back through the store package: it must hold exactly
//     the acknowledged events. Floor (SQLite): raw INSERT+COMMIT loops on a
//     file in the same directory with the store's settings (WAL,
//     synchronous=FULL), one row per commit and 32 rows per commit.
//   - trigger poll: -events (1,000,000) status events saved through
//     store.Save in batches into a SQLite file and a PostgreSQL schema,
//     ANALYZE, then Statuses queries of 101 events (as the trigger tool asks
//     for max_results=100) after random cursors, in process: a busy number,
//     a rare status of it, a quiet number, and a number with no events
//     (after a random cursor, and after cursor 0, the one its poller keeps:
//     a plan walking seq would read the whole table there). Loading is the
//     slowest step of a full run; the time it took is printed.
//   - tools/list bytes: the JSON of the tools/list result over stdio, total
//     and per tool. Floor: github-mcp-server's ~450–800 B per tool.
//   - RSS: VmRSS of the HTTP server idle after one session, VmHWM after the
//     HTTP load. Floor: the HTTP relay.
//   - start to tools/list: wall time from exec to the tools/list answer on
//     stdio, median of -start-runs runs. Floor: the stdio relay.
//
// Each measured figure is taken -runs (3) times and the median printed;
// -quick uses one short run and small counts. Other work on the machine moves
// every figure: before each group the harness waits (up to -wait-quiet) for
// the CPUs to be mostly idle, and notes it when they were not. The fsync rate
// of a virtual disk also varies between runs, which moves the webhook figures
// and their raw SQLite floor together. PostgreSQL figures use
// -postgres (default: WHATSAPP_BENCH_POSTGRES_DSN, else
// WHATSAPP_TEST_POSTGRES_DSN, else postgres://postgres@127.0.0.1:5432/test);
// each measurement works in a schema of its own, dropped after. When the
// database does not answer, those rows say so.
//
// # Profiles
//
// whatsapp-mcp has no CPU-profile flag. With -profile DIR the harness builds
// a second binary with `go build -overlay`, adding (only to that build, not
// to the source tree) a file that writes a CPU profile between SIGUSR1 and
// SIGUSR2, and writes DIR/<figure>-<run>.pprof for each server run's
// measured window; read one with `go tool pprof -top DIR/http-0.pprof`.
// Figures measured with -profile are a few percent lower.
//
// Exit status: 0 when every figure was measured (met or not), 1 when one
// could not be, 2 on bad flags.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	runs        int
	duration    time.Duration
	quick       bool
	jsonOut     bool
	events      int
	pollQueries int
	startRuns   int
	warmup      int
	sessions    int
	senders     int
	postgres    string
	serverBin   string
	only        map[string]bool
	profileDir  string
	logLevel    string
	keep        bool
	waitQuiet   time.Duration
}

// groups of figures, for -only.
var groupNames = []string{"stdio", "http", "webhook", "webhook-pg", "poll", "start"}

func main() {
	if isRole(os.Args) {
		os.Exit(runRole(os.Args))
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "whatsapp-bench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, cfg, os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("whatsapp-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.IntVar(&cfg.runs, "runs", 3, "times each figure is measured; the median is printed")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of each measured load run")
	fs.BoolVar(&cfg.quick, "quick", false, "smoke run: one short run, small counts (about 10 s)")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print JSON instead of the Markdown table")
	fs.IntVar(&cfg.events, "events", 1_000_000, "status events stored for the trigger-poll figures")
	fs.IntVar(&cfg.pollQueries, "poll-queries", 200, "queries per trigger-poll case and run")
	fs.IntVar(&cfg.startRuns, "start-runs", 10, "runs of the start-to-tools/list figure")
	fs.IntVar(&cfg.sessions, "sessions", 32, "concurrent MCP sessions of the HTTP figure")
	fs.IntVar(&cfg.senders, "senders", 64, "concurrent webhook senders")
	fs.StringVar(&cfg.postgres, "postgres", defaultPostgres(), `PostgreSQL DSN for the PostgreSQL figures ("" skips them)`)
	fs.StringVar(&cfg.serverBin, "server-bin", "", "run this whatsapp-mcp binary instead of building ./cmd/whatsapp-mcp")
	only := fs.String("only", "", "comma-separated figure groups to run: "+strings.Join(groupNames, ", ")+" (default all)")
	fs.StringVar(&cfg.profileDir, "profile", "", "write CPU profiles of the server under load into this directory (see the package doc)")
	fs.StringVar(&cfg.logLevel, "server-log-level", "info", "--log-level of the server under test (info is its default)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (logs, stores)")
	fs.DurationVar(&cfg.waitQuiet, "wait-quiet", 30*time.Second, "before each group, wait up to this long for the CPUs to be less than 25 % busy (0: never wait)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: whatsapp-bench [flags]\n\nMeasures whatsapp-mcp's performance figures against their floors (see go doc ./cmd/whatsapp-bench).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.quick {
		for name, apply := range map[string]func(){
			"runs":         func() { cfg.runs = 1 },
			"duration":     func() { cfg.duration = 700 * time.Millisecond },
			"events":       func() { cfg.events = 20_000 },
			"poll-queries": func() { cfg.pollQueries = 50 },
			"start-runs":   func() { cfg.startRuns = 3 },
			"wait-quiet":   func() { cfg.waitQuiet = 0 },
		} {
			if !set[name] {
				apply()
			}
		}
	}
	cfg.warmup = 200
	if cfg.quick {
		cfg.warmup = 20
	}
	if cfg.runs < 1 || cfg.duration <= 0 || cfg.events < 1000 || cfg.pollQueries < 1 || cfg.startRuns < 1 ||
		cfg.sessions < 1 || cfg.senders < 1 {
		return cfg, errors.New("-runs, -duration, -poll-queries, -start-runs, -sessions and -senders must be positive, -events at least 1000")
	}
	if *only != "" {
		cfg.only = map[string]bool{}
		for g := range strings.SplitSeq(*only, ",") {
			g = strings.TrimSpace(g)
			if !slices.Contains(groupNames, g) {
				return cfg, fmt.Errorf("-only: unknown group %q (want %s)", g, strings.Join(groupNames, ", "))
			}
			cfg.only[g] = true
		}
	}
	if cfg.profileDir != "" {
		abs, err := filepath.Abs(cfg.profileDir)
		if err != nil {
			return cfg, err
		}
		cfg.profileDir = abs
	}
	return cfg, nil
}

func defaultPostgres() string {
	for _, k := range []string{"WHATSAPP_BENCH_POSTGRES_DSN", "WHATSAPP_TEST_POSTGRES_DSN"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// bench is one run of the harness.
type bench struct {
	cfg       config
	tmp       string
	roles     string // the binary re-executed for the roles: the lean build, else this one
	serverBin string
	graphURL  string
	fakeGraph *child
	stderr    io.Writer
	notes     []string
	profiles  []string
	failed    bool // a figure could not be measured

	serverVersion string // what the server's version command printed
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.stderr, "whatsapp-bench: "+format+"\n", args...)
}

// notef records a note printed under the table (and shows it as progress).
func (b *bench) notef(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	b.notes = append(b.notes, s)
	b.progress("%s", s)
}

func (b *bench) want(group string) bool { return b.cfg.only == nil || b.cfg.only[group] }

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	began := time.Now()
	b := &bench{cfg: cfg, stderr: stderr}
	loadBefore := loadAvg()
	var err error
	if b.tmp, err = os.MkdirTemp("", "whatsapp-bench-"); err != nil {
		fmt.Fprintf(stderr, "whatsapp-bench: %v\n", err)
		return 1
	}
	if cfg.keep {
		b.progress("keeping %s", b.tmp)
	} else {
		defer os.RemoveAll(b.tmp)
	}
	if b.roles, err = os.Executable(); err != nil { // replaced by the lean build in setup
		fmt.Fprintf(stderr, "whatsapp-bench: %v\n", err)
		return 1
	}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "whatsapp-bench: %v\n", err)
			return 1
		}
	}

	var rows []row
	// add appends the rows of a group, or marks them not measured.
	add := func(rs []row, err error) {
		if err != nil {
			b.failed = true
			msg := shortError(err)
			if !errors.Is(err, errSetup) {
				b.progress("error: %v", err)
			}
			for i := range rs {
				rs[i].Error = msg
			}
		}
		for i := range rs {
			rs[i].judge()
		}
		rows = append(rows, rs...)
	}

	needServer := b.want("stdio") || b.want("http") || b.want("webhook") || b.want("webhook-pg") || b.want("start")
	var setupErr error
	if needServer {
		if err := b.setup(ctx); err != nil {
			b.progress("error: %v", err)
			setupErr = fmt.Errorf("%w: %v", errSetup, err)
		}
	}
	defer b.teardown()

	// A group's rows exist before it is measured, so the table shows what
	// could not be measured and why.
	for _, g := range b.groups() {
		if !b.want(g.name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		rs := g.rows()
		if setupErr != nil && g.name != "poll" {
			add(rs, setupErr)
			continue
		}
		b.waitQuiet(ctx, g.name)
		t := time.Now()
		b.progress("measuring %s …", g.name)
		err := g.measure(ctx, rs)
		add(rs, err)
		b.progress("  %s done in %s", g.name, time.Since(t).Round(100*time.Millisecond))
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "whatsapp-bench: interrupted")
		return 1
	}

	elapsed := time.Since(began)
	if b.serverVersion != "" {
		b.notes = append(b.notes, "server under test: "+b.serverVersion)
	}
	if loadBefore != "" {
		// Other work on the machine moves every figure; this says how much there was.
		b.notes = append(b.notes, fmt.Sprintf("load average before the run (other work on the machine): %s", loadBefore))
	}
	b.notes = append(b.notes, fmt.Sprintf("whole run: %s on %d CPUs (%s, %s, -runs %d, -duration %s)",
		elapsed.Round(100*time.Millisecond), runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, runtime.Version(), cfg.runs, cfg.duration))
	for _, p := range b.profiles {
		b.notes = append(b.notes, "profile: go tool pprof -top "+p)
	}
	if cfg.jsonOut {
		m := meta{Runs: cfg.runs, Duration: cfg.duration.String(), Quick: cfg.quick, Events: cfg.events,
			ElapsedSec: math.Round(elapsed.Seconds()*10) / 10, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Server: b.serverVersion}
		if err := renderJSON(stdout, rows, b.notes, m); err != nil {
			fmt.Fprintf(stderr, "whatsapp-bench: %v\n", err)
			return 1
		}
	} else {
		renderMarkdown(stdout, rows)
		fmt.Fprintln(stdout)
		for _, n := range b.notes {
			fmt.Fprintf(stdout, "- %s\n", n)
		}
	}
	if b.failed {
		return 1
	}
	return 0
}

// waitQuiet waits (up to -wait-quiet) until the machine's CPUs are less than
// a quarter busy, since nothing of the harness runs between groups, so that
// other work does not end up in the figures; it notes when it gave up.
func (b *bench) waitQuiet(ctx context.Context, group string) {
	if b.cfg.waitQuiet <= 0 {
		return
	}
	deadline := time.Now().Add(b.cfg.waitQuiet)
	for {
		busy, err := machineBusy(300 * time.Millisecond)
		if err != nil || busy < 0.25 {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			b.notef("%s was measured while other processes kept the CPUs %.0f %% busy", group, 100*busy)
			return
		}
		b.progress("waiting for a quieter machine before %s (CPUs %.0f %% busy)", group, 100*busy)
		time.Sleep(time.Second)
	}
}

// loadAvg is the 1-, 5- and 15-minute load average ("" without /proc).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// errSetup marks the figures that could not run because the server did not
// build or the fake Graph did not start.
var errSetup = errors.New("server not built or fake Graph not started (see stderr)")

// shortError is an error as a table cell: its first line, at most 160 bytes.
func shortError(err error) string {
	switch {
	case errors.Is(err, errSetup):
		return errSetup.Error()
	case errors.Is(err, errNoPostgres):
		return errNoPostgres.Error()
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return msg
}

// setup builds the server (and, with -profile, its profiling twin) and
// starts the fake Graph.
func (b *bench) setup(ctx context.Context) error {
	b.serverBin = b.cfg.serverBin
	if b.serverBin != "" && b.cfg.profileDir != "" {
		return errors.New("-profile needs the harness to build the server (no -server-bin)")
	}
	if b.serverBin == "" {
		b.serverBin = filepath.Join(b.tmp, "whatsapp-mcp")
		t := time.Now()
		var args []string
		if b.cfg.profileDir != "" {
			overlay, err := b.profileOverlay(ctx)
			if err != nil {
				return err
			}
			args = append(args, "-overlay", overlay)
		}
		args = append([]string{"build"}, append(args, "-o", b.serverBin, serverPkg)...)
		cmd := exec.CommandContext(ctx, "go", args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building the server (go %s): %v\n%s", strings.Join(args, " "), err, out.String())
		}
		b.progress("built %s in %s", serverPkg, time.Since(t).Round(100*time.Millisecond))
	}
	if out, err := exec.CommandContext(ctx, b.serverBin, "version").Output(); err == nil {
		b.serverVersion = strings.TrimSpace(string(out))
	}
	b.buildLean(ctx)
	g, err := startChild("fake graph", []string{b.roles, "-role=fakegraph"}, filepath.Join(b.tmp, "fakegraph.log"),
		childOpts{env: childEnv(), pipeStdin: true, pipeStdout: true})
	if err != nil {
		return err
	}
	b.fakeGraph = g
	addr, err := g.readLine(20 * time.Second)
	if err != nil {
		return err
	}
	b.graphURL = "http://" + addr
	return nil
}

// buildLean builds this command again with the whatsapp_bench_lean tag:
// only the roles, without the store, SQLite and pgx, so the relays' memory
// and start time are those of a minimal Go program (the full harness binary
// costs about 4 MB of RSS more). If that fails, this binary plays the roles.
func (b *bench) buildLean(ctx context.Context) {
	path := filepath.Join(b.tmp, "whatsapp-bench-roles")
	out, err := exec.CommandContext(ctx, "go", "build", "-tags", "whatsapp_bench_lean", "-o", path, benchPkg).CombinedOutput()
	if err != nil {
		b.notef("the lean roles binary did not build (%v: %s); this binary plays the relays, whose RSS is then a few MB higher",
			err, strings.TrimSpace(string(out)))
		return
	}
	b.roles = path
}

const benchPkg = "github.com/whatsapp-mcp/whatsapp-mcp/cmd/whatsapp-bench"

func (b *bench) teardown() {
	if b.fakeGraph != nil {
		b.fakeGraph.stop(5 * time.Second)
	}
}

const serverPkg = "github.com/whatsapp-mcp/whatsapp-mcp/cmd/whatsapp-mcp"

// profileEnv names the file prefix the profiling build writes to.
const profileEnv = "WHATSAPP_BENCH_CPUPROFILE"

// profileOverlaySource is added to package main of whatsapp-mcp in the
// -profile build only (go build -overlay; the source tree is not touched).
const profileOverlaySource = `package main

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// Added by whatsapp-bench -profile: SIGUSR1 starts a CPU profile, SIGUSR2
// writes it to $` + profileEnv + `.pprof.
func init() {
	path := os.Getenv("` + profileEnv + `")
	if path == "" {
		return
	}
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		var f *os.File
		for s := range ch {
			switch {
			case s == syscall.SIGUSR1 && f == nil:
				var err error
				if f, err = os.Create(path + ".pprof.tmp"); err != nil {
					f = nil
					continue
				}
				if pprof.StartCPUProfile(f) != nil {
					f.Close()
					f = nil
				}
			case s == syscall.SIGUSR2 && f != nil:
				pprof.StopCPUProfile()
				f.Close()
				os.Rename(path+".pprof.tmp", path+".pprof")
				f = nil
			}
		}
	}()
}
`

// profileOverlay writes the overlay that adds profileOverlaySource to the
// server's package directory, for go build -overlay.
func (b *bench) profileOverlay(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", serverPkg).Output()
	if err != nil {
		return "", fmt.Errorf("locating %s: %w", serverPkg, err)
	}
	dir := strings.TrimSpace(string(out))
	src := filepath.Join(b.tmp, "zz_benchprofile.go")
	if err := os.WriteFile(src, []byte(profileOverlaySource), 0o600); err != nil {
		return "", err
	}
	j, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(dir, "zz_whatsapp_bench_profile.go"): src}})
	path := filepath.Join(b.tmp, "overlay.json")
	return path, os.WriteFile(path, j, 0o600)
}
