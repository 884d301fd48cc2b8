package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

var toolsCmd = command{
	name:     "tools",
	cmds:     forTools,
	synopsis: "tools [flags]",
	about: `Prints the tool catalog as a JSON array: name, title, description, toolset,
annotations, inputSchema and outputSchema of every tool the filters leave enabled.
Needs no credentials. With --export-descriptions it prints instead every tool's
title and description as a JSON file that --tool-descriptions reads back, so a
team can tune what its model reads.`,
	extra: func(fs *flag.FlagSet, c *config) {
		fs.BoolVar(&c.ExportDescriptions, "export-descriptions", false, "print {TOOL:{title,description}} for every tool (overrides applied, filters ignored)")
	},
}

var callCmd = command{
	name:     "call",
	cmds:     forCall,
	synopsis: "call [flags] TOOL ['JSON' | -]",
	about: `Runs one tool and prints its result envelope {successful, data, error} as JSON.
The input is a JSON object (default {}); '-' reads it from stdin.
Exit status: 0 when the tool succeeded, 1 when it failed, 2 for a usage error
(unknown or disabled tool, input that is not JSON, missing configuration).

Example: whatsapp-mcp call --sandbox WHATSAPP_GET_PHONE_NUMBERS '{}'`,
}

func runTools(_ context.Context, args []string, getenv env, s stdio) error {
	cfg, pos, err := parse(toolsCmd, args, getenv, s.out)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("tools: unexpected argument %q (see whatsapp-mcp tools --help)", pos[0])
	}
	// Listing needs no Graph client or store: the tools only keep them for
	// their calls.
	cat, err := withOverrides(catalog.Declarations(), cfg)
	if err != nil {
		return err
	}
	if cfg.ExportDescriptions {
		_, err := s.out.Write(tools.ExportDescriptions(cat))
		return err
	}
	srv, err := server.New(cat, server.Options{
		About:    catalog.About,
		Toolsets: cfg.Toolsets, Tools: cfg.Tools, ExcludeTools: cfg.ExcludeTools, ReadOnly: cfg.ReadOnly,
		Logger: newLogger(s.err, cfg),
	})
	if err != nil {
		return usagef("tools: %s", strings.TrimPrefix(err.Error(), "server: "))
	}
	out := []tools.Descriptor{}
	for _, t := range srv.Tools() {
		out = append(out, t.Descriptor())
	}
	return writeIndented(s.out, out)
}

func runCall(ctx context.Context, args []string, getenv env, s stdio) error {
	cfg, pos, err := parse(callCmd, args, getenv, s.out)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("call: want TOOL and an optional JSON input, e.g. whatsapp-mcp call WHATSAPP_GET_PHONE_NUMBERS '{\"limit\":5}' (see whatsapp-mcp call --help)")
	}
	name, input := pos[0], json.RawMessage(`{}`)
	if len(pos) == 2 {
		input = json.RawMessage(pos[1])
		if pos[1] == "-" {
			b, err := io.ReadAll(s.in)
			if err != nil {
				return fmt.Errorf("call: reading the input from stdin: %w", err)
			}
			input = b
		}
		if !json.Valid(input) {
			return usagef("call: the input is not valid JSON; give one JSON object, e.g. '{\"phone_number_id\":\"123\"}'")
		}
	}
	a, err := setup(ctx, cfg, modeCall, s.err)
	defer a.close()
	if err != nil {
		return err
	}
	// SIGTERM or Ctrl-C lets the call finish, for a while: cancelling a
	// send in flight would leave its outcome unknown.
	cctx, cancel := afterGrace(ctx, cfg.ShutdownTimeout)
	defer cancel()
	res, err := a.srv.Call(cctx, name, input)
	if err != nil {
		return usagef("call: %v", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, res.JSON(), "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	if _, err := s.out.Write(buf.Bytes()); err != nil {
		return err
	}
	if !res.Successful {
		return errToolFailed
	}
	return nil
}

// afterGrace returns a context that ends grace after ctx does (or when
// cancel is called).
func afterGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(c, func() { t.Stop() })
	})
	return c, func() { stop(); cancel() }
}

func writeIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

var inboundCmd = command{
	name:     "sandbox inbound",
	cmds:     forInbound,
	synopsis: "sandbox inbound --from NUMBER --text TEXT [--name NAME] [--phone-number-id ID] [--url URL]",
	about: `Simulates a customer writing to a sandbox business number: it opens that number's
24-hour window (free-form messages to it are delivered from then on) and the
sandbox delivers the message to the server's webhook like Meta would.
Needs a running 'whatsapp-mcp http --sandbox' (or 'stdio --sandbox', whose banner
gives the URL).`,
}

func runSandbox(ctx context.Context, args []string, getenv env, s stdio) error {
	if len(args) == 0 || args[0] != "inbound" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(s.err, "Usage: whatsapp-mcp sandbox inbound [flags]\n\nSubcommands:\n  inbound  simulate a customer message to a running sandbox (see sandbox inbound --help)\n")
			return nil
		}
		return usagef("sandbox: want a subcommand: whatsapp-mcp sandbox inbound --from +16505551234 --text \"Hi\"")
	}
	var from, text, name, phoneID string
	cmd := inboundCmd
	cmd.extra = func(fs *flag.FlagSet, _ *config) {
		fs.StringVar(&from, "from", "", "the customer's number with country code, e.g. +16505551234 (required)")
		fs.StringVar(&text, "text", "", "the message text (required)")
		fs.StringVar(&name, "name", "", "the customer's profile name")
		fs.StringVar(&phoneID, "phone-number-id", "", "the business number written to (default: every sandbox number)")
	}
	cfg, pos, err := parse(cmd, args[1:], getenv, s.out)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("sandbox inbound: unexpected argument %q", pos[0])
	}
	if from == "" || text == "" {
		return usagef("sandbox inbound: --from and --text are required")
	}
	body, _ := json.Marshal(map[string]string{"from": from, "text": text, "name": name, "phone_number_id": phoneID})
	u := strings.TrimSuffix(cfg.SandboxURL, "/") + "/sandbox/inbound"
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return usagef("sandbox inbound: bad --url %q: %v", cfg.SandboxURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("no sandbox answers at %s: %w (start one with: whatsapp-mcp http --sandbox)", cfg.SandboxURL, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(rb, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("the sandbox refused the message: %s", e.Error.Message)
		}
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s answered 404: is it a server started with --sandbox?", cfg.SandboxURL)
		}
		return fmt.Errorf("the sandbox answered %s", resp.Status)
	}
	newLogger(s.err, cfg).Debug("inbound accepted", "url", u)
	var out bytes.Buffer
	if json.Indent(&out, rb, "", "  ") != nil {
		out.Reset()
		out.Write(rb)
	}
	out.WriteByte('\n')
	_, err = s.out.Write(out.Bytes())
	return err
}
