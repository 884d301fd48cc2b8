package main

import (
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseConfig(t *testing.T) {
	defaults := config{
		GraphURL: "https://graph.facebook.com", APIVersion: "v26.0", Addr: "127.0.0.1:8080",
		CallTimeout: 60 * time.Second, LogLevel: slog.LevelInfo, LogFormat: "text", ShutdownTimeout: 10 * time.Second,
		DefaultRegion: "US", MaxBodyMemory: 300 << 20, StoreMaxConns: 8, BulkRate: 80, BulkLease: 10 * time.Second,
	}
	with := func(f func(c *config)) config { c := defaults; f(&c); return c }
	noAddr := with(func(c *config) { c.Addr, c.MaxBodyMemory = "", 0 }) // HTTP settings
	withNoAddr := func(f func(c *config)) config { c := noAddr; f(&c); return c }
	cases := []struct {
		name    string
		cmd     command
		args    []string
		env     map[string]string
		want    config
		wantPos []string
		wantErr string
	}{
		{name: "defaults", cmd: httpCmd, want: defaults},
		{name: "env", cmd: httpCmd, env: map[string]string{
			"WHATSAPP_WABA_ID": "42", "WHATSAPP_GRAPH_URL": "http://127.0.0.1:9", "WHATSAPP_API_VERSION": "v24.0",
			"WHATSAPP_MEDIA_DIR": "/srv/media", "WHATSAPP_STORE": "postgres://u@h/db", "WHATSAPP_TOOLSETS": "messages, templates",
			"WHATSAPP_TOOLS": "WHATSAPP_GET_MEDIA", "WHATSAPP_EXCLUDE_TOOLS": "A,B", "WHATSAPP_READ_ONLY": "true",
			"WHATSAPP_HTTP_ADDR": ":9000", "WHATSAPP_HTTP_STATELESS": "1", "WHATSAPP_CALL_TIMEOUT": "5s",
			"WHATSAPP_LOG_LEVEL": "debug", "WHATSAPP_SANDBOX": "false", "WHATSAPP_APPSECRET_PROOF": "TRUE",
		}, want: with(func(c *config) {
			c.WABAID, c.GraphURL, c.APIVersion, c.MediaDir = "42", "http://127.0.0.1:9", "v24.0", "/srv/media"
			c.Store, c.storeSet = "postgres://u@h/db", true
			c.Toolsets, c.Tools, c.ExcludeTools = []string{"messages", "templates"}, []string{"WHATSAPP_GET_MEDIA"}, []string{"A", "B"}
			c.ReadOnly, c.Addr, c.Stateless, c.CallTimeout = true, ":9000", true, 5*time.Second
			c.LogLevel, c.AppSecretProof = slog.LevelDebug, true
		})},
		{name: "secrets from env", cmd: httpCmd, env: map[string]string{
			"WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_MCP_TOKEN": "m",
		}, want: with(func(c *config) { c.AccessToken, c.AppSecret, c.VerifyToken, c.MCPToken = "t", "s", "v", "m" })},
		{name: "flags win over env", cmd: httpCmd,
			args: []string{"--waba-id", "7", "--read-only=false", "--addr=127.0.0.1:0", "--toolsets", "account", "--sandbox"},
			env:  map[string]string{"WHATSAPP_WABA_ID": "42", "WHATSAPP_READ_ONLY": "true", "WHATSAPP_TOOLSETS": "messages"},
			want: with(func(c *config) {
				c.WABAID, c.Addr, c.Toolsets, c.Sandbox = "7", "127.0.0.1:0", []string{"account"}, true
			})},
		{name: "dynamic toolsets", cmd: httpCmd, env: map[string]string{"WHATSAPP_DYNAMIC_TOOLSETS": "true"},
			want: with(func(c *config) { c.DynamicToolsets = true })},
		{name: "dynamic toolsets by flag", cmd: stdioCmd, args: []string{"--dynamic-toolsets"},
			want: withNoAddr(func(c *config) { c.DynamicToolsets = true })},
		{name: "dynamic toolsets serve only", cmd: callCmd, args: []string{"--dynamic-toolsets"}, wantErr: "flag provided but not defined: -dynamic-toolsets"},
		{name: "max body memory", cmd: httpCmd, env: map[string]string{"WHATSAPP_MAX_BODY_MEMORY": "150"},
			want: with(func(c *config) { c.MaxBodyMemory = 150 << 20 })},
		{name: "max body memory not a number", cmd: httpCmd, args: []string{"--max-body-memory", "1GB"}, wantErr: "max-body-memory"},
		{name: "store max conns", cmd: httpCmd, env: map[string]string{"WHATSAPP_STORE_MAX_CONNS": "32"},
			want: with(func(c *config) { c.StoreMaxConns = 32 })},
		{name: "store max conns not positive", cmd: httpCmd, args: []string{"--store-max-conns", "0"}, wantErr: "store-max-conns"},
		{name: "empty env is unset", cmd: httpCmd, env: map[string]string{"WHATSAPP_GRAPH_URL": "", "WHATSAPP_READ_ONLY": ""}, want: defaults},
		{name: "store flag marks the store as asked for", cmd: stdioCmd, args: []string{"--store", "file:/tmp/x.db"},
			want: withNoAddr(func(c *config) { c.Store, c.storeSet = "file:/tmp/x.db", true })},
		{name: "webhook-addr is stdio only", cmd: stdioCmd, args: []string{"--webhook-addr", "127.0.0.1:9999"},
			want: withNoAddr(func(c *config) { c.WebhookAddr = "127.0.0.1:9999" })},
		{name: "webhook-addr unknown to http", cmd: httpCmd, args: []string{"--webhook-addr", "x"}, wantErr: "flag provided but not defined: -webhook-addr"},
		{name: "flags after positionals", cmd: callCmd, args: []string{"TOOL", "--sandbox", "{}", "--waba-id", "9"},
			want: withNoAddr(func(c *config) { c.Sandbox, c.WABAID = true, "9" }), wantPos: []string{"TOOL", "{}"}},
		{name: "double dash ends flags", cmd: callCmd, args: []string{"--", "TOOL", "--sandbox"},
			want: noAddr, wantPos: []string{"TOOL", "--sandbox"}},
		{name: "no secret flags", cmd: httpCmd, args: []string{"--access-token", "x"}, wantErr: "flag provided but not defined: -access-token"},
		{name: "bad bool env", cmd: httpCmd, env: map[string]string{"WHATSAPP_READ_ONLY": "yes please"}, wantErr: `WHATSAPP_READ_ONLY: "yes please" is not a boolean`},
		{name: "bad duration", cmd: callCmd, args: []string{"--call-timeout", "soon"}, wantErr: `--call-timeout: "soon" is not a positive duration`},
		{name: "bad log level", cmd: toolsCmd, env: map[string]string{"WHATSAPP_LOG_LEVEL": "loud"}, wantErr: `WHATSAPP_LOG_LEVEL: "loud" is not a log level`},
		{name: "all errors at once", cmd: httpCmd, env: map[string]string{"WHATSAPP_READ_ONLY": "x", "WHATSAPP_CALL_TIMEOUT": "-1s"}, wantErr: "WHATSAPP_CALL_TIMEOUT"},
		{name: "tools command has only filters", cmd: toolsCmd, args: []string{"--waba-id", "1"}, wantErr: "flag provided but not defined: -waba-id"},
		{name: "tools ignores the token", cmd: toolsCmd, env: map[string]string{"WHATSAPP_ACCESS_TOKEN": "t"}, want: with(func(c *config) {
			c.GraphURL, c.APIVersion, c.Addr, c.CallTimeout, c.ShutdownTimeout = "", "", "", 0, 0
			c.DefaultRegion, c.MaxBodyMemory, c.StoreMaxConns = "", 0, 0
			c.BulkRate, c.BulkLease = 0, 0
		})},
		{name: "phone numbers", cmd: callCmd, env: map[string]string{"WHATSAPP_DEFAULT_REGION": " gb", "WHATSAPP_NATIONAL_NUMBERS": "true"},
			want: withNoAddr(func(c *config) { c.DefaultRegion, c.NationalNumbers = "GB", true })},
		{name: "phone numbers by flag", cmd: stdioCmd, args: []string{"--default-region", "IN", "--national-numbers"},
			want: withNoAddr(func(c *config) { c.DefaultRegion, c.NationalNumbers = "IN", true })},
		{name: "unknown region", cmd: httpCmd, env: map[string]string{"WHATSAPP_DEFAULT_REGION": "UK"}, wantErr: `WHATSAPP_DEFAULT_REGION: "UK" is not a region code such as US, GB or IN`},
		{name: "operations", cmd: httpCmd, env: map[string]string{
			"WHATSAPP_LOG_FORMAT": "json", "WHATSAPP_INSECURE_NO_AUTH": "true", "WHATSAPP_SANDBOX_LATENCY": "250ms",
			"WHATSAPP_ALLOWED_ORIGINS": "https://app.example, http://localhost:3000/",
		}, args: []string{"--shutdown-timeout", "30s"}, want: with(func(c *config) {
			c.LogFormat, c.InsecureNoAuth, c.SandboxLatency, c.ShutdownTimeout = "json", true, 250*time.Millisecond, 30*time.Second
			c.AllowedOrigins = []string{"https://app.example", "http://localhost:3000/"}
		})},
		{name: "bad origin", cmd: httpCmd, args: []string{"--allowed-origins", "app.example"}, wantErr: `--allowed-origins: "app.example" is not a web origin`},
		{name: "bad log format", cmd: stdioCmd, args: []string{"--log-format", "xml"}, wantErr: `--log-format: "xml" is not a log format`},
		{name: "bad shutdown timeout", cmd: httpCmd, env: map[string]string{"WHATSAPP_SHUTDOWN_TIMEOUT": "0s"}, wantErr: "WHATSAPP_SHUTDOWN_TIMEOUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, pos, err := parse(tc.cmd, tc.args, envOf(tc.env), io.Discard)
			if tc.wantErr != "" {
				var ue *usageError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.getenv = nil // a func; what it reads is checked through the other fields
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("config =\n %+v\nwant\n %+v", *got, tc.want)
			}
			if !reflect.DeepEqual(pos, tc.wantPos) {
				t.Errorf("positionals = %q, want %q", pos, tc.wantPos)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	for _, cmd := range []command{stdioCmd, httpCmd, toolsCmd, callCmd, inboundCmd} {
		var out strings.Builder
		_, _, err := parse(cmd, []string{"--help"}, envOf(nil), &out)
		if !errors.Is(err, errHelp) {
			t.Fatalf("%s --help: err = %v", cmd.name, err)
		}
		help := out.String()
		if !strings.Contains(help, "Usage: whatsapp-mcp "+cmd.name) {
			t.Errorf("%s --help lacks its usage line:\n%s", cmd.name, help)
		}
		// Every flag is listed with its env twin.
		for _, s := range settings {
			if s.cmds&cmd.cmds == 0 {
				continue
			}
			if !strings.Contains(help, s.env) || (s.flag != "" && !strings.Contains(help, "--"+s.flag)) {
				t.Errorf("%s --help does not list --%s / %s", cmd.name, s.flag, s.env)
			}
		}
	}
}
