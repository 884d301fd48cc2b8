package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/bulk"
	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// config is everything the commands read from flags and the environment.
// Secrets come only from the environment: argv is visible to every user of
// the machine (ps, /proc) and ends up in shell history.
type config struct {
	// Secrets (env only).
	AccessToken string
	AppSecret   string
	VerifyToken string
	MCPToken    string

	WABAID         string
	AppID          string
	GraphURL       string
	APIVersion     string
	MediaDir       string
	Store          string
	StoreMaxConns  int           // the event store's database connections, at most
	Retention      time.Duration // 0: keep every event
	Toolsets       []string
	Tools          []string
	ExcludeTools   []string
	ReadOnly       bool
	Addr           string
	WebhookAddr    string
	Stateless      bool
	CallTimeout    time.Duration
	MaxBodyMemory  int64 // bytes
	AppSecretProof bool
	LogLevel       slog.Level
	// LogFormat is "text" or "json".
	LogFormat string
	// InsecureNoAuth allows a listener beyond loopback without MCPToken.
	InsecureNoAuth  bool
	AllowedOrigins  []string
	ShutdownTimeout time.Duration
	// SandboxLatency delays every Graph answer of the sandbox.
	SandboxLatency time.Duration
	Sandbox        bool
	SandboxURL     string
	// ToolDescriptions is a JSON file of title/description overrides.
	ToolDescriptions   string
	ExportDescriptions bool
	// DefaultRegion and NationalNumbers are how to_number reads a national
	// number (tools.PhonePolicy).
	DefaultRegion   string
	NationalNumbers bool

	// BulkRate is the pace of a bulk send that names none (messages per
	// second); BulkLease how long a job stays with a replica that stopped
	// renewing its lease.
	BulkRate  int
	BulkLease time.Duration

	// DynamicToolsets starts MCP sessions with the discovery tools only
	// (server.Options.Dynamic).
	DynamicToolsets bool

	// getenv is the environment parse read, for per-tool overrides whose
	// variable names depend on the catalog.
	getenv env

	// storeSet records that the store was configured explicitly (flag or
	// env), which decides whether stdio mode opens one.
	storeSet bool
}

// Which commands a setting applies to.
const (
	forStdio = 1 << iota
	forHTTP
	forCall
	forTools
	forInbound

	forServe = forStdio | forHTTP
	forAPI   = forStdio | forHTTP | forCall
	forAll   = forAPI | forTools
)

// setting is one configuration value: its flag (none for secrets), its env
// twin, its default, and how it is stored.
type setting struct {
	flag string // "" = environment only (secrets)
	env  string
	def  string
	// defDoc describes a default that is not a plain value (computed, or
	// a requirement), for the README.
	defDoc  string
	usage   string
	cmds    int
	isBool  bool
	secret  bool
	apply   func(c *config, v string) error
	present func(c *config) // called when the value came from a flag or env
}

func str(p func(*config) *string) func(*config, string) error {
	return func(c *config, v string) error { *p(c) = v; return nil }
}

func list(p func(*config) *[]string) func(*config, string) error {
	return func(c *config, v string) error { *p(c) = splitList(v); return nil }
}

func boolean(p func(*config) *bool) func(*config, string) error {
	return func(c *config, v string) error {
		if v == "" {
			*p(c) = false
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean (use true or false)", v)
		}
		*p(c) = b
		return nil
	}
}

// settings is the whole configuration surface, in help order.
var settings = []setting{
	{env: "WHATSAPP_ACCESS_TOKEN", secret: true, cmds: forAPI, defDoc: "required unless --sandbox",
		usage: "Meta access token (a system-user token) for the Graph API",
		apply: str(func(c *config) *string { return &c.AccessToken })},
	{env: "WHATSAPP_APP_SECRET", secret: true, cmds: forServe | forCall,
		usage: "Meta app secret: verifies webhook signatures (X-Hub-Signature-256); with --appsecret-proof it also signs Graph calls",
		apply: str(func(c *config) *string { return &c.AppSecret })},
	{env: "WHATSAPP_VERIFY_TOKEN", secret: true, cmds: forServe,
		usage: "the verify token typed in Meta's App Dashboard for the webhook handshake",
		apply: str(func(c *config) *string { return &c.VerifyToken })},
	{env: "WHATSAPP_MCP_TOKEN", secret: true, cmds: forHTTP,
		usage: "when set, /mcp and the REST face /v1/ require 'Authorization: Bearer <token>'; several comma-separated tokens are all accepted, to rotate one; required to listen beyond loopback (or --insecure-no-auth)",
		apply: str(func(c *config) *string { return &c.MCPToken })},

	{flag: "waba-id", env: "WHATSAPP_WABA_ID", cmds: forAPI,
		usage: "WhatsApp Business Account id (templates and phone-number lists are keyed on it)",
		apply: str(func(c *config) *string { return &c.WABAID })},
	{flag: "app-id", env: "WHATSAPP_APP_ID", cmds: forAPI,
		usage: "Meta app id: template media headers are uploaded to it (Resumable Upload API)",
		apply: str(func(c *config) *string { return &c.AppID })},
	{flag: "graph-url", env: "WHATSAPP_GRAPH_URL", def: "https://graph.facebook.com", cmds: forAPI,
		usage: "Graph API base URL",
		apply: str(func(c *config) *string { return &c.GraphURL })},
	{flag: "api-version", env: "WHATSAPP_API_VERSION", def: "v26.0", cmds: forAPI,
		usage: "Graph API version",
		apply: str(func(c *config) *string { return &c.APIVersion })},
	{flag: "media-dir", env: "WHATSAPP_MEDIA_DIR", cmds: forAPI,
		usage: "the only directory media uploads may read and downloads may write (empty disables both)",
		apply: str(func(c *config) *string { return &c.MediaDir })},
	{flag: "default-region", env: "WHATSAPP_DEFAULT_REGION", def: tools.DefaultPhoneRegion, cmds: forAPI,
		usage: "the region (ISO 3166 code: US, GB, IN …) whose national numbers, written without a country code, to_number recognises: refused with the +<country code> form they probably meant, or converted with --national-numbers",
		apply: func(c *config, v string) error {
			r := strings.ToUpper(strings.TrimSpace(v))
			if !tools.PhoneRegion(r) {
				return fmt.Errorf("%q is not a region code such as US, GB or IN", v)
			}
			c.DefaultRegion = r
			return nil
		}},
	{flag: "national-numbers", env: "WHATSAPP_NATIONAL_NUMBERS", isBool: true, cmds: forAPI,
		usage: "convert a to_number that is a national number of --default-region to its +<country code> form and send it, with a warning, instead of refusing it",
		apply: boolean(func(c *config) *bool { return &c.NationalNumbers })},
	{flag: "store", env: "WHATSAPP_STORE", cmds: forAPI, defDoc: "SQLite under the user data dir ($XDG_DATA_HOME/whatsapp-mcp/); a temporary one with --sandbox",
		usage:   "event store: file:/path/events.db (SQLite) or postgres://… (shared by replicas)",
		apply:   str(func(c *config) *string { return &c.Store }),
		present: func(c *config) { c.storeSet = true }},
	{flag: "store-max-conns", env: "WHATSAPP_STORE_MAX_CONNS", def: strconv.Itoa(store.DefaultMaxConns), cmds: forAPI,
		usage: "most database connections the event store opens: on PostgreSQL each replica's whole pool (webhook deliveries arriving together are written in one transaction, on one connection; reads share the rest), on SQLite the readers",
		apply: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 10_000 {
				return fmt.Errorf("%q is not a positive number of connections (e.g. 8)", v)
			}
			c.StoreMaxConns = n
			return nil
		}},
	{flag: "retention", env: "WHATSAPP_RETENTION", def: "0", cmds: forServe,
		usage: "how long the event store keeps messages, statuses and other webhook events, e.g. 90d, 12w or 720h; older ones are pruned in the background (0: keep everything)",
		apply: func(c *config, v string) error {
			d, err := parseRetention(v)
			c.Retention = d
			return err
		}},
	{flag: "toolsets", env: "WHATSAPP_TOOLSETS", cmds: forAll, defDoc: "all",
		usage: "comma-separated toolsets to enable: all, messages, media, templates, account, status, conversations, bulk",
		apply: list(func(c *config) *[]string { return &c.Toolsets })},
	{flag: "tools", env: "WHATSAPP_TOOLS", cmds: forAll,
		usage: "comma-separated tools to enable on top of --toolsets (alone: only these)",
		apply: list(func(c *config) *[]string { return &c.Tools })},
	{flag: "exclude-tools", env: "WHATSAPP_EXCLUDE_TOOLS", cmds: forAll,
		usage: "comma-separated tools to disable",
		apply: list(func(c *config) *[]string { return &c.ExcludeTools })},
	{flag: "read-only", env: "WHATSAPP_READ_ONLY", isBool: true, cmds: forAll,
		usage: "serve only read-only tools (wins over every other filter)",
		apply: boolean(func(c *config) *bool { return &c.ReadOnly })},
	{flag: "dynamic-toolsets", env: "WHATSAPP_DYNAMIC_TOOLSETS", isBool: true, cmds: forServe,
		usage: "start each MCP session with only WHATSAPP_LIST_TOOLSETS and WHATSAPP_ENABLE_TOOLSET (plus what --toolsets and --tools name); the model enables the toolsets it needs, so tools/list stays short. --read-only and --exclude-tools still apply; not with --stateless",
		apply: boolean(func(c *config) *bool { return &c.DynamicToolsets })},
	{flag: "addr", env: "WHATSAPP_HTTP_ADDR", def: "127.0.0.1:8080", cmds: forHTTP,
		usage: "listen address for /mcp, the REST face /v1/, /healthz and /webhook",
		apply: str(func(c *config) *string { return &c.Addr })},
	{flag: "webhook-addr", env: "WHATSAPP_WEBHOOK_ADDR", cmds: forStdio,
		usage: "also serve Meta's webhook at http://<addr>/webhook (stdio mode)",
		apply: str(func(c *config) *string { return &c.WebhookAddr })},
	{flag: "stateless", env: "WHATSAPP_HTTP_STATELESS", isBool: true, cmds: forHTTP,
		usage: "serve /mcp without sessions (replicas behind a load balancer without sticky sessions)",
		apply: boolean(func(c *config) *bool { return &c.Stateless })},
	{flag: "call-timeout", env: "WHATSAPP_CALL_TIMEOUT", def: "60s", cmds: forAPI,
		usage: "longest a tool call may take",
		apply: func(c *config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%q is not a positive duration (e.g. 60s)", v)
			}
			c.CallTimeout = d
			return nil
		}},
	{flag: "max-body-memory", env: "WHATSAPP_MAX_BODY_MEMORY", def: strconv.FormatInt(server.DefaultMaxBodyMemory>>20, 10), cmds: forHTTP,
		usage: "MiB of large request bodies (uploads, over 1 MiB each) held in memory at once; others wait up to --call-timeout, then get 503",
		apply: func(c *config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 || n > 1<<20 {
				return fmt.Errorf("%q is not a positive number of MiB (e.g. 300)", v)
			}
			c.MaxBodyMemory = n << 20
			return nil
		}},
	{flag: "bulk-rate", env: "WHATSAPP_BULK_RATE", def: strconv.Itoa(bulk.DefaultRate), cmds: forAPI,
		usage: "messages per second of a bulk send that names no rate_per_second: the business number's throughput (Meta's default is 80; up to 1000)",
		apply: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > bulk.MaxRate {
				return fmt.Errorf("%q is not a number of messages per second from 1 to %d", v, bulk.MaxRate)
			}
			c.BulkRate = n
			return nil
		}},
	{flag: "bulk-lease", env: "WHATSAPP_BULK_LEASE", def: bulk.DefaultLeaseTTL.String(), cmds: forAPI,
		usage: "how long a bulk send stays with a replica that stopped renewing its lease (it died) before another resumes it",
		apply: func(c *config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				return fmt.Errorf("%q is not a duration of at least 1s (e.g. 10s)", v)
			}
			c.BulkLease = d
			return nil
		}},
	{flag: "appsecret-proof", env: "WHATSAPP_APPSECRET_PROOF", isBool: true, cmds: forAPI,
		usage: "sign Graph calls with appsecret_proof (for apps with 'Require App Secret'; needs WHATSAPP_APP_SECRET)",
		apply: boolean(func(c *config) *bool { return &c.AppSecretProof })},
	{flag: "log-level", env: "WHATSAPP_LOG_LEVEL", def: "info", cmds: forAll | forInbound,
		usage: "debug, info, warn or error (logs go to stderr)",
		apply: func(c *config, v string) error {
			if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("%q is not a log level (debug, info, warn, error)", v)
			}
			return nil
		}},
	{flag: "log-format", env: "WHATSAPP_LOG_FORMAT", def: "text", cmds: forAll | forInbound,
		usage: "text (key=value) or json (one JSON object per line, for log collectors)",
		apply: func(c *config, v string) error {
			if v != "text" && v != "json" {
				return fmt.Errorf("%q is not a log format (text or json)", v)
			}
			c.LogFormat = v
			return nil
		}},
	{flag: "insecure-no-auth", env: "WHATSAPP_INSECURE_NO_AUTH", isBool: true, cmds: forHTTP,
		usage: "listen beyond loopback without WHATSAPP_MCP_TOKEN: anyone who reaches the port can send messages as the business (only behind a proxy that authenticates)",
		apply: boolean(func(c *config) *bool { return &c.InsecureNoAuth })},
	{flag: "allowed-origins", env: "WHATSAPP_ALLOWED_ORIGINS", cmds: forHTTP,
		usage: "comma-separated web origins (e.g. https://app.example) whose pages may call /mcp and /v1/; other web pages are refused (403), except pages served on loopback",
		apply: func(c *config, v string) error {
			c.AllowedOrigins = splitList(v)
			for _, o := range c.AllowedOrigins {
				if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" {
					return fmt.Errorf("%q is not a web origin (scheme://host[:port], e.g. https://app.example)", o)
				}
			}
			return nil
		}},
	{flag: "shutdown-timeout", env: "WHATSAPP_SHUTDOWN_TIMEOUT", def: "10s", cmds: forAPI,
		usage: "on SIGTERM or SIGINT, how long tool calls and webhook deliveries in flight may take to finish before the process exits",
		apply: func(c *config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%q is not a positive duration (e.g. 10s)", v)
			}
			c.ShutdownTimeout = d
			return nil
		}},
	{flag: "sandbox-latency", env: "WHATSAPP_SANDBOX_LATENCY", cmds: forAPI, defDoc: "none",
		usage: "with --sandbox, delay every answer of the emulator by this long (to try timeouts and shutdown)",
		apply: func(c *config, v string) error {
			if v == "" {
				return nil
			}
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("%q is not a duration (e.g. 2s)", v)
			}
			c.SandboxLatency = d
			return nil
		}},
	{flag: "tool-descriptions", env: "WHATSAPP_TOOL_DESCRIPTIONS", cmds: forAll,
		usage: "JSON file {\"TOOL\":{\"title\":…,\"description\":…}} overriding what models read; WHATSAPP_MCP_TOOL_<NAME>_DESCRIPTION / _TITLE override one tool",
		apply: str(func(c *config) *string { return &c.ToolDescriptions })},
	{flag: "sandbox", env: "WHATSAPP_SANDBOX", isBool: true, cmds: forAPI,
		usage: "run against the built-in Cloud API emulator: no Meta account, nothing leaves this machine",
		apply: boolean(func(c *config) *bool { return &c.Sandbox })},
	{flag: "url", env: "WHATSAPP_SANDBOX_URL", def: "http://127.0.0.1:8080", cmds: forInbound,
		usage: "base URL of a running 'whatsapp-mcp http --sandbox' (or its stdio-mode webhook listener)",
		apply: str(func(c *config) *string { return &c.SandboxURL })},
}

// errHelp is returned when --help was asked; the usage was printed.
var errHelp = flag.ErrHelp

// usageError is a bad command line or configuration (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// command describes a subcommand for parsing and --help.
type command struct {
	name     string
	cmds     int // settings mask
	synopsis string
	about    string
	// extra declares command-specific flags that have no env twin.
	extra func(fs *flag.FlagSet, c *config)
}

// parse reads flags (anywhere among the positional arguments) and then the
// environment: a flag wins over its env twin, which wins over the default.
// It returns the positional arguments.
func parse(cmd command, args []string, getenv func(string) (string, bool), helpOut io.Writer) (*config, []string, error) {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	type value struct {
		s   setting
		val flagValue
	}
	var vals []*value
	for _, s := range settings {
		if s.cmds&cmd.cmds == 0 {
			continue
		}
		v := &value{s: s, val: flagValue{isBool: s.isBool}}
		vals = append(vals, v)
		if s.flag != "" {
			fs.Var(&v.val, s.flag, s.usage)
		}
	}
	c := &config{getenv: getenv}
	if cmd.extra != nil {
		cmd.extra(fs, c)
	}
	// The flag package prints the usage on any parse error too; a bad flag
	// must not pour it into stdout, which stdio mode keeps for the protocol.
	// The error (on stderr) points at --help instead. Asked-for help goes
	// to helpOut (stdout), so it can be paged.
	fs.Usage = func() {}

	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(helpOut, cmd, fs)
				return nil, nil, errHelp
			}
			return nil, nil, usagef("%s: %v (see whatsapp-mcp %s --help)", cmd.name, err, cmd.name)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// "--" ends flags; otherwise keep parsing after each positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}

	var errs []string
	for _, v := range vals {
		raw, source := v.s.def, ""
		if e, ok := getenv(v.s.env); ok && e != "" {
			raw, source = e, v.s.env
		}
		if v.val.set {
			raw, source = v.val.v, "--"+v.s.flag
		}
		if err := v.s.apply(c, raw); err != nil {
			if source == "" {
				source = "default of --" + v.s.flag
			}
			errs = append(errs, fmt.Sprintf("%s: %v", source, err))
			continue
		}
		if source != "" && v.s.present != nil {
			v.s.present(c)
		}
	}
	if len(errs) > 0 {
		return nil, nil, usagef("%s: invalid configuration: %s", cmd.name, strings.Join(errs, "; "))
	}
	return c, pos, nil
}

// flagValue records whether the flag was given, so an unset flag lets its
// env twin through.
type flagValue struct {
	v      string
	set    bool
	isBool bool
}

func (f *flagValue) String() string   { return f.v }
func (f *flagValue) IsBoolFlag() bool { return f.isBool }
func (f *flagValue) Set(s string) error {
	f.v, f.set = s, true
	return nil
}

// splitList splits a comma- or space-separated list, dropping blanks.
func splitList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

func printUsage(w io.Writer, cmd command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: whatsapp-mcp %s\n\n%s\n", cmd.synopsis, strings.TrimSpace(cmd.about))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	var secrets []setting
	header := false
	for _, s := range settings {
		if s.cmds&cmd.cmds == 0 {
			continue
		}
		if s.secret {
			secrets = append(secrets, s)
			continue
		}
		if !header {
			fmt.Fprintf(tw, "\nFlags (each with its environment twin; a flag wins over the environment):\n")
			header = true
		}
		name := "--" + s.flag
		if !s.isBool {
			name += " value"
		}
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		} else if s.defDoc != "" {
			def = " (default: " + s.defDoc + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", name, s.env, s.usage, def)
	}
	if cmd.extra != nil {
		fs.VisitAll(func(f *flag.Flag) {
			for _, s := range settings {
				if s.flag == f.Name {
					return
				}
			}
			if !header {
				fmt.Fprintf(tw, "\nFlags:\n")
				header = true
			}
			fmt.Fprintf(tw, "  --%s value\t-\t%s\n", f.Name, f.Usage)
		})
	}
	tw.Flush()
	if len(secrets) > 0 {
		fmt.Fprintf(tw, "\nSecrets (environment only, never on the command line):\n")
		for _, s := range secrets {
			fmt.Fprintf(tw, "  %s\t%s\n", s.env, s.usage)
		}
		tw.Flush()
	}
}
