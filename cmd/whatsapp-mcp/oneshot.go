package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
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
	fromStdin := len(pos) == 2 && pos[1] == "-"
	notJSON := usagef("call: the input is not valid JSON; give one JSON object, e.g. '{\"phone_number_id\":\"123\"}'")
	if len(pos) == 2 && !fromStdin {
		input = json.RawMessage(pos[1])
		if !json.Valid(input) {
			return notJSON
		}
	}
	a, err := setup(ctx, cfg, modeCall, s.err)
	defer a.close()
	if err != nil {
		return err
	}
	if fromStdin {
		// Within the tool's input cap, as over HTTP: stdin may be anything.
		limit := server.DefaultMaxInputBytes
		if t, err := a.srv.Lookup(name); err == nil && t.MaxInputBytes > 0 {
			limit = t.MaxInputBytes
		}
		b, err := readInput(s.in, limit)
		if err != nil {
			return fmt.Errorf("call: reading the input from stdin: %w", err)
		}
		if b == nil {
			return usagef("call: the input on stdin is larger than %s accepts (%d bytes); nothing was done", name, limit)
		}
		if input = b; !json.Valid(input) {
			return notJSON
		}
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

// readInput reads r to its end, at most limit bytes: in pieces, so that an
// input over the limit is refused (nil) without being held whole, and one
// within it is copied once.
func readInput(r io.Reader, limit int64) ([]byte, error) {
	var parts [][]byte
	var n int64
	for {
		buf := make([]byte, 1<<20)
		k, err := io.ReadFull(r, buf)
		if n += int64(k); n > limit {
			return nil, nil
		}
		parts = append(parts, buf[:k])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			if b := bytes.Join(parts, nil); b != nil {
				return b, nil
			}
			return []byte{}, nil
		}
		if err != nil {
			return nil, err
		}
	}
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
	synopsis: "sandbox inbound --from NUMBER [--type TYPE] [flags of that type] [--url URL]",
	about: `Simulates a customer writing to a sandbox business number: the sandbox delivers
the message to the server's webhook, signed and shaped like Meta's. Any message but
a reaction opens the customer's 24-hour window with that number (free-form
messages to them are delivered from then on).

--type (default text) and what each type takes:
  text                        --text
  image, video, document      --file PATH, optional --text (the caption)
  voice, audio, sticker       --file PATH
  location                    --latitude --longitude [--location-name] [--address]
                              (with --reply-to: the answer to a location request)
  contacts                    --contact-name [--contact-phone]
  button_reply                --reply-to WAMID --button ID  (a reply button we sent)
  list_reply                  --reply-to WAMID --row ID     (a row of a list we sent)
  button                      --reply-to WAMID --button PAYLOAD or text (a template's quick reply)
  nfm_reply                   --reply-to WAMID --response-json '{...}' (a Flow or address form we sent, completed)
  reaction                    --react-to WAMID [--emoji E]  (no --emoji removes the reaction)
  order                       --product ID[:QUANTITY[:PRICE[:CURRENCY]]] (repeat it), optional --text
--reply-to also quotes a message of the conversation with the other types. A
customer can only tap what was sent to them, so the sandbox refuses a button or
row the message does not offer. Each flag is the field of the same name of the
sandbox's POST /sandbox/inbound (--reply-to is reply_to).

Examples:
  whatsapp-mcp sandbox inbound --from +16505551234 --text "Hi, is my order on its way?"
  whatsapp-mcp sandbox inbound --from +16505551234 --type image --file photo.jpg --text "This one"
  whatsapp-mcp sandbox inbound --from +16505551234 --type button_reply --reply-to wamid.… --button yes

Prints the message id (and a media message's media id). Needs a running
'whatsapp-mcp http --sandbox' (or 'stdio --sandbox', whose banner gives the URL).`,
}

func runSandbox(ctx context.Context, args []string, getenv env, s stdio) error {
	if len(args) == 0 || args[0] != "inbound" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(s.err, "Usage: whatsapp-mcp sandbox inbound [flags]\n\nSubcommands:\n  inbound  simulate a customer message to a running sandbox (see sandbox inbound --help)\n")
			return nil
		}
		return usagef("sandbox: want a subcommand: whatsapp-mcp sandbox inbound --from +16505551234 --text \"Hi\"")
	}
	var (
		m    sandbox.InboundMessage
		file string
	)
	coord := func(p **float64) func(string) error {
		return func(v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return fmt.Errorf("%q is not a number in decimal degrees", v)
			}
			*p = &f
			return nil
		}
	}
	cmd := inboundCmd
	cmd.extra = func(fs *flag.FlagSet, _ *config) {
		fs.StringVar(&m.From, "from", "", "the customer's number with country code, e.g. +16505551234 (required)")
		fs.StringVar(&m.Name, "name", "", "the customer's profile name")
		fs.StringVar(&m.PhoneNumberID, "phone-number-id", "", "the business number written to (default: the one of the message replied to, else the first, and the window opens with every number)")
		fs.StringVar(&m.Type, "type", "text", "what the customer sends (see above)")
		fs.StringVar(&m.Text, "text", "", "the message text; the caption of an image, video or document; an order's text")
		fs.StringVar(&file, "file", "", "the file of a media message; its type comes from the extension")
		fs.Func("latitude", "a location's latitude, e.g. 37.4847", coord(&m.Latitude))
		fs.Func("longitude", "a location's longitude, e.g. -122.1477", coord(&m.Longitude))
		fs.StringVar(&m.LocationName, "location-name", "", "a location's name")
		fs.StringVar(&m.Address, "address", "", "a location's address")
		fs.StringVar(&m.ContactName, "contact-name", "", "the name on a shared contact card")
		fs.StringVar(&m.ContactPhone, "contact-phone", "", "the number on a shared contact card")
		fs.StringVar(&m.ReplyTo, "reply-to", "", "the message id (wamid) answered or quoted")
		fs.StringVar(&m.Button, "button", "", "the button tapped: a reply button's id, or a quick reply's payload or text")
		fs.StringVar(&m.Row, "row", "", "the id of the list row chosen")
		fs.Func("response-json", "nfm_reply: the answers of the completed Flow or address form, a JSON object", func(v string) error {
			if !json.Valid([]byte(v)) {
				return fmt.Errorf("%q is not JSON", v)
			}
			m.Response = json.RawMessage(v)
			return nil
		})
		fs.StringVar(&m.ReactTo, "react-to", "", "the message id (wamid) reacted to")
		fs.StringVar(&m.Emoji, "emoji", "", "the reaction's emoji; none removes the reaction")
		fs.Func("product", "an item of an order: ID[:QUANTITY[:PRICE[:CURRENCY]]]; repeat it for several", func(v string) error {
			p, err := parseProduct(v)
			m.Products = append(m.Products, p)
			return err
		})
	}
	cfg, pos, err := parse(cmd, args[1:], getenv, s.out)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("sandbox inbound: unexpected argument %q", pos[0])
	}
	if m.Type == "text" && (m.From == "" || m.Text == "") {
		return usagef("sandbox inbound: --from and --text are required (or another --type; see whatsapp-mcp sandbox inbound --help)")
	}
	if file != "" {
		if m.File, err = os.ReadFile(file); err != nil {
			return usagef("sandbox inbound: --file: %v", err)
		}
		m.Filename = filepath.Base(file)
	}
	// What needs no conversation is checked here, before anything is sent.
	if err := m.Check(); err != nil {
		return usagef("sandbox inbound: %v (see whatsapp-mcp sandbox inbound --help)", err)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
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

// parseProduct reads --product ID[:QUANTITY[:PRICE[:CURRENCY]]].
func parseProduct(v string) (sandbox.OrderProduct, error) {
	parts := strings.Split(v, ":")
	p := sandbox.OrderProduct{ProductRetailerID: parts[0]}
	if len(parts) > 4 {
		return p, fmt.Errorf("%q: want ID[:QUANTITY[:PRICE[:CURRENCY]]]", v)
	}
	var err error
	if len(parts) > 1 {
		if p.Quantity, err = strconv.Atoi(parts[1]); err != nil || p.Quantity < 1 {
			return p, fmt.Errorf("%q: the quantity must be a whole number of at least 1", v)
		}
	}
	if len(parts) > 2 {
		if p.ItemPrice, err = strconv.ParseFloat(parts[2], 64); err != nil {
			return p, fmt.Errorf("%q: the price must be a number, e.g. 9.99", v)
		}
	}
	if len(parts) > 3 {
		p.Currency = strings.ToUpper(parts[3])
	}
	return p, nil
}
