package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/version"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
)

var stdioCmd = command{
	name:     "stdio",
	cmds:     forStdio,
	synopsis: "stdio [flags]",
	about: `Serves MCP over stdin/stdout, for MCP clients that spawn the server (Claude Desktop,
VS Code, Cursor). stdout carries only the protocol; logs go to stderr.

Message statuses reach a server only through Meta's webhook: pass --webhook-addr to
also serve http://<addr>/webhook (and point Meta's webhook there), or use the
http command. With --sandbox the emulator's webhooks are received on a loopback
listener, printed on stderr.`,
}

var httpCmd = command{
	name:     "http",
	cmds:     forHTTP,
	synopsis: "http [flags]",
	about: `Serves MCP over streamable HTTP at http://<addr>/mcp, with /healthz (liveness, never
authenticated), /webhook (Meta's callback: GET handshake with WHATSAPP_VERIFY_TOKEN,
POST checked against WHATSAPP_APP_SECRET) and a REST face for automation platforms
under /v1/ (GET /v1/actions, POST /v1/actions/{name}/execute, /v1/openapi.json).
Set WHATSAPP_MCP_TOKEN to require 'Authorization: Bearer <token>' on /mcp, /v1/ and
/metrics (Prometheus metrics); it is required to listen beyond loopback (or
--insecure-no-auth, behind a proxy that authenticates). Requests a web page could
make (a foreign Host or Origin, a body that is not application/json) are refused.
/readyz (readiness, never authenticated) is 200 when the event store takes writes,
503 naming what is wrong otherwise. SIGTERM lets the calls in flight finish
(--shutdown-timeout).

With --sandbox the built-in Cloud API emulator runs in the process, wired to this
server's /webhook, and its routes are also served under /sandbox/ here.`,
}

func runStdio(ctx context.Context, args []string, getenv env, s stdio) error {
	cfg, pos, err := parse(stdioCmd, args, getenv, s.out)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("stdio: unexpected argument %q (see whatsapp-mcp stdio --help)", pos[0])
	}
	a, err := setup(ctx, cfg, modeStdio, s.err)
	defer a.close()
	if err != nil {
		return err
	}

	// The webhook listener of stdio mode: on --webhook-addr, or on a random
	// loopback port when only the sandbox needs somewhere to post.
	hookURL := ""
	if cfg.WebhookAddr != "" || a.sb != nil {
		addr := cfg.WebhookAddr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("cannot listen for the webhook on %s: %w (check --webhook-addr)", addr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/webhook", a.webhook())
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"ok"}`+"\n")
		})
		for _, r := range a.sandboxRoutes() {
			mux.Handle(r.Pattern, r.Handler)
		}
		a.goServe(ln, mux)
		hookURL = httpURL(ln.Addr())
		if a.sb != nil {
			a.sb.SetWebhookURL(hookURL + "/webhook")
		}
		a.log.Info("webhook listening", "url", hookURL+"/webhook")
	}
	if a.sb != nil {
		a.sandboxBanner(s.err, "stdio (this process's stdin/stdout)", hookURL)
	}
	a.log.Info("serving MCP over stdio", "tools", len(a.srv.Tools()), "version", version.Short())
	in, closeIn := pollableStdin(s.in)
	defer closeIn()
	defer stdioProcs()()
	return a.srv.ServeStdio(ctx, in, s.out)
}

func runHTTP(ctx context.Context, args []string, getenv env, s stdio) error {
	cfg, pos, err := parse(httpCmd, args, getenv, s.out)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("http: unexpected argument %q (see whatsapp-mcp http --help)", pos[0])
	}
	// Before anything starts: a refused configuration never listens.
	if err := checkExposure(ctx, cfg); err != nil {
		return err
	}
	a, err := setup(ctx, cfg, modeHTTP, s.err)
	defer a.close()
	if err != nil {
		return err
	}
	settleGC()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (check --addr / WHATSAPP_HTTP_ADDR)", cfg.Addr, err)
	}
	base := httpURL(ln.Addr())
	if !isLoopback(ln.Addr()) && len(server.HTTPTokens(cfg.MCPToken)) == 0 {
		if !cfg.InsecureNoAuth {
			// The name passed checkExposure but resolved elsewhere.
			ln.Close()
			return exposureError(ln.Addr().String())
		}
		a.log.Warn("listening beyond loopback without WHATSAPP_MCP_TOKEN (--insecure-no-auth): anyone who can reach this port can send WhatsApp messages as this business", "addr", ln.Addr().String())
	}
	routes := append([]server.Route{
		{Pattern: "/webhook", Handler: a.webhook()},
		// The REST face checks the same bearer token itself.
		a.srv.RESTRoute(server.RESTOptions{}),
		a.metricsRoute(),
	}, a.sandboxRoutes()...)
	if a.sb != nil {
		a.sb.SetWebhookURL(base + "/webhook")
		a.sandboxBanner(s.err, base+"/mcp", base)
	}
	a.log.Info("serving MCP over streamable HTTP", "url", base+"/mcp", "webhook", base+"/webhook", "rest", base+server.RESTPrefix,
		"tools", len(a.srv.Tools()), "auth", cfg.MCPToken != "", "version", version.Short())
	if err := a.srv.Serve(ctx, ln, routes...); err != nil {
		return err
	}
	a.log.Info("stopped")
	return nil
}

// checkExposure refuses an HTTP listener beyond loopback that anyone who
// reaches it could use: one without WHATSAPP_MCP_TOKEN, unless the
// operator says --insecure-no-auth (a proxy in front authenticates). The
// stdio mode's --webhook-addr needs neither: it serves only /webhook,
// which has its own authentication (Meta's signature, checked against
// WHATSAPP_APP_SECRET; without the secret every delivery is refused).
func checkExposure(ctx context.Context, cfg *config) error {
	if cfg.InsecureNoAuth || len(server.HTTPTokens(cfg.MCPToken)) > 0 || addrIsLoopback(ctx, cfg.Addr) {
		return nil
	}
	return exposureError(cfg.Addr)
}

func exposureError(addr string) error {
	return usagef(`http: refusing to listen on %s without authentication: it is not a loopback address,
  and anyone who can reach it could send WhatsApp messages as this business. Either
  - set WHATSAPP_MCP_TOKEN in the environment (clients then send 'Authorization: Bearer <token>'),
  - or listen on loopback only (--addr 127.0.0.1:8080),
  - or, if a proxy in front authenticates every request, pass --insecure-no-auth (WHATSAPP_INSECURE_NO_AUTH=true).`, addr)
}

// sandboxBanner prints the banner, or logs it as one record with
// --log-format json, whose stderr must stay one JSON object per line.
func (a *app) sandboxBanner(w io.Writer, mcpURL, inboundBase string) {
	if a.cfg.LogFormat == "json" {
		a.log.Info("sandbox: an emulated WhatsApp Cloud API runs inside this process; nothing leaves this machine",
			"mcp", mcpURL, "graph", a.sbURL+"/"+a.cfg.APIVersion, "waba_id", sandbox.WABAID,
			"phone_number_ids", []string{sandbox.PhoneNumberID, sandbox.PhoneNumberID2}, "inbound_url", inboundBase,
			"inbound_help", "whatsapp-mcp sandbox inbound --help")
		return
	}
	printSandboxBanner(w, mcpURL, a.sbURL, inboundBase, a.cfg.APIVersion)
}

// printSandboxBanner tells a newcomer what is running and what to do next.
// inboundBase is where /sandbox/inbound is served (empty: nowhere).
func printSandboxBanner(w io.Writer, mcpURL, emulatorURL, inboundBase, version string) {
	fmt.Fprintf(w, `
  ┌ whatsapp-mcp SANDBOX ─ an emulated WhatsApp Cloud API runs inside this process.
  │ No Meta account is used and nothing leaves this machine.
  │
  │ MCP:              %s
  │ Graph emulator:   %s/%s   (access token %q, WABA id %s)
  │ phone_number_id:  %s  (+1 555-078-3881)
  │                   %s  (+1 555-078-3882)
`, mcpURL, emulatorURL, version, sandbox.DefaultToken, sandbox.WABAID, sandbox.PhoneNumberID, sandbox.PhoneNumberID2)
	if inboundBase != "" {
		fmt.Fprintf(w, `  │ Webhook:          %s/webhook (statuses and customer messages land in the event store)
  │
  │ Free-form messages reach a customer only within 24 h of their last message;
  │ simulate a customer writing first with:
  │   whatsapp-mcp sandbox inbound --url %s --from +16505551234 --text "Hi"
  │ and other kinds with --type: image --file photo.jpg (also video, voice, document,
  │   sticker), location --latitude 37.48 --longitude -122.15, reaction --react-to <wamid>
  │   --emoji 👍, button_reply --reply-to <wamid> --button <id> (list_reply: --row <id>)
`, inboundBase, inboundBase)
	}
	fmt.Fprint(w, "  └\n\n")
}
