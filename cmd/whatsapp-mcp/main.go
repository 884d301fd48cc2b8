// Command whatsapp-mcp serves the WhatsApp Business Cloud API to LLM agents
// as MCP tools, over stdio or streamable HTTP, and runs single tools from the
// shell.
//
//	whatsapp-mcp http --sandbox          # try everything, no Meta account
//	whatsapp-mcp stdio                   # for an MCP client that spawns servers
//	whatsapp-mcp tools                   # the catalog as JSON
//	whatsapp-mcp call TOOL '{"…":…}'     # run one tool, print its result
//
// Run `whatsapp-mcp <command> --help` for each command's flags and their
// environment twins.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/version"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the work failed (a tool call, the server)
	exitUsage   = 2 // bad command line or configuration
)

func main() {
	startupGC()
	// The first SIGTERM or Ctrl-C is a graceful shutdown (calls in flight
	// finish, for up to --shutdown-timeout); a second one stops at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr))
}

// env is how the process reads its environment (injected by tests).
type env = func(string) (string, bool)

// stdio bundles the standard streams of one run.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

var commands = []struct {
	name, summary string
	run           func(ctx context.Context, args []string, getenv env, s stdio) error
}{
	{"stdio", "serve MCP over stdin/stdout (for clients that spawn the server)", runStdio},
	{"http", "serve MCP over streamable HTTP at /mcp, plus /healthz and /webhook", runHTTP},
	{"tools", "print the tool catalog as JSON (no credentials needed)", runTools},
	{"call", "run one tool and print its result: call TOOL '{\"input\":…}'", runCall},
	{"sandbox", "talk to a running sandbox: sandbox inbound --from N --text T", runSandbox},
	{"version", "print the version", runVersion},
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) int {
	s := stdio{in: stdin, out: stdout, err: stderr}
	if len(args) == 0 {
		printMainUsage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		printMainUsage(stdout)
		return exitOK
	case "--version", "-version":
		name = "version"
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args[1:], getenv, s)
		return exitStatus(err, stderr)
	}
	fmt.Fprintf(stderr, "whatsapp-mcp: unknown command %q\n\n", name)
	printMainUsage(stderr)
	return exitUsage
}

// errToolFailed is returned by call when the tool ran and failed: the envelope
// was printed, there is nothing more to say.
var errToolFailed = errors.New("tool failed")

func exitStatus(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errToolFailed):
		return exitFailure
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "whatsapp-mcp: %s\n", ue.msg)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "whatsapp-mcp: %v\n", err)
		return exitFailure
	}
}

func printMainUsage(w io.Writer) {
	fmt.Fprintf(w, `whatsapp-mcp %s: the WhatsApp Business Cloud API as MCP tools.

Usage: whatsapp-mcp <command> [flags]

Commands:
`, version.Short())
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Start here (no Meta account needed):  whatsapp-mcp http --sandbox
Every command has --help, listing its flags and their environment twins.
Secrets (WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN,
WHATSAPP_MCP_TOKEN) are read from the environment only.
`)
}

func runVersion(_ context.Context, args []string, _ env, s stdio) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprintln(s.err, "Usage: whatsapp-mcp version\n\nPrints the version of this binary.")
		return nil
	}
	if len(args) > 0 {
		return usagef("version: takes no arguments")
	}
	fmt.Fprintf(s.out, "whatsapp-mcp %s %s/%s %s\n", version.Long(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	return nil
}
