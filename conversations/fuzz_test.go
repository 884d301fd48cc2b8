package conversations

// Fuzz targets of the conversation tools' cursors and of the normaliser
// of Meta's message elements. Without -fuzz, `go test` runs their seeds
// as ordinary tests; to fuzz one, outside CI:
//
//	go test -run '^$' -fuzz '^FuzzParseCursor$' -fuzztime 60s -fuzzminimizetime 2s -parallel 2 ./conversations/
//
// (-fuzzminimizetime 2s: by default the engine spends up to 60 s minimising
// each new input, counting no executions meanwhile.)
//
// (likewise FuzzCursorString, FuzzView). A crasher is written to
// testdata/fuzz/<FuzzName>/; keep it there, minimal, once the bug is fixed.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

var fuzzCursorTools = []string{cursorInbox, cursorHistory, cursorSearch}

// FuzzParseCursor: any string passed as cursor or before is read without a
// panic; one that is read names a known tool, a business number and a
// positive seq, prints back to a cursor read the same, and checkCursor
// accepts it only for its own tool and its own business number, never
// another's.
func FuzzParseCursor(f *testing.F) {
	for _, c := range []cursor{
		{tool: cursorInbox, phone: "106540352242922", ts: 1750030073, seq: 12},
		{tool: cursorHistory, phone: "106540352242922", customer: "16505551234", ts: 1750030073, seq: 1},
		{tool: cursorHistory, phone: "106540352242922", customer: "US.13491208655302741918", ts: -1, seq: 9},
		{tool: cursorSearch, phone: "106540352242933", ts: 0, seq: 1 << 62},
		{tool: "other", phone: "106540352242922", seq: 1},
		{tool: cursorInbox, phone: "", seq: 1},
		{tool: cursorInbox, phone: "1", seq: 0},
		{tool: cursorHistory, phone: "1", customer: "a:b", seq: 1},
		{tool: cursorInbox, phone: "\xff\x1b[2J", seq: 1}, // forged: no number, a terminal escape
	} {
		f.Add(c.String(), "106540352242922")
	}
	for _, s := range []string{"", "=", "v1", "djE6aW5ib3g6MTox", "djE6aW5ib3g6MTo6MDox", "djE6aW5ib3g6MTo6MDoxCg==", "\x00\xff"} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, s, phone string) {
		c, ok := parseCursor(s)
		if !ok {
			if c != (cursor{}) {
				t.Fatalf("refused cursor %q returned %+v", s, c)
			}
		} else {
			if cursorTools[c.tool] == "" || c.phone == "" || digitsOf(c.phone) != c.phone || c.seq <= 0 {
				t.Fatalf("cursor %q read as %+v", s, c)
			}
			if c2, ok2 := parseCursor(c.String()); !ok2 || c2 != c {
				t.Fatalf("cursor %q read as %+v, printed back as %q, read again as %+v %v", s, c, c.String(), c2, ok2)
			}
		}
		for _, tool := range fuzzCursorTools {
			got, errs := checkCursor("cursor", s, tool, phone)
			if len(errs) > 0 {
				if got != (cursor{}) || len(errs) != 1 || errs[0].Field != "cursor" || errs[0].Rule == "" {
					t.Fatalf("refused cursor: %+v, errors %+v", got, errs)
				}
				continue
			}
			switch {
			case s == "":
				if got != (cursor{}) {
					t.Fatalf("no cursor gave %+v", got)
				}
			case !ok || got != c || c.tool != tool || (phone != "" && c.phone != phone):
				t.Fatalf("checkCursor(%q, %s, %q) accepted %+v (read %+v %v)", s, tool, phone, got, c, ok)
			}
		}
	})
}

// FuzzCursorString: every cursor the tools write is read back as written;
// one they never write (a business number that is no Graph id, a customer
// with the separator, a seq that is not positive) is refused, never read
// as another place, customer or business number.
func FuzzCursorString(f *testing.F) {
	f.Add(uint8(0), "106540352242922", "", int64(1750030073), int64(5))
	f.Add(uint8(1), "106540352242922", "US.13491208655302741918", int64(-3), int64(1))
	f.Add(uint8(1), "106540352242922", "16505551234:1", int64(0), int64(2))
	f.Add(uint8(2), "", "", int64(0), int64(2))
	f.Add(uint8(2), "1", "", int64(0), int64(0))
	f.Fuzz(func(t *testing.T, tool uint8, phone, customer string, ts, seq int64) {
		c := cursor{tool: fuzzCursorTools[int(tool)%len(fuzzCursorTools)], phone: phone, customer: customer, ts: ts, seq: seq}
		got, ok := parseCursor(c.String())
		writable := phone != "" && digitsOf(phone) == phone && seq > 0 && !strings.Contains(customer, ":")
		switch {
		case writable && (!ok || got != c):
			t.Fatalf("cursor %+v read back as %+v %v", c, got, ok)
		case !writable && ok:
			t.Fatalf("cursor %+v, which cannot be written, read back as %+v", c, got)
		}
	})
}

// fuzzElements are the messages[] and message_echoes[] elements of the
// webhook fixtures (triggers/testdata), read without the parser, which
// imports this package.
func fuzzElements(f *testing.F) []json.RawMessage {
	f.Helper()
	names, err := filepath.Glob("../triggers/testdata/inbound/*.json")
	if err != nil || len(names) == 0 {
		f.Fatalf("no webhook fixtures in ../triggers/testdata/inbound (%v)", err)
	}
	var out []json.RawMessage
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var env struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Messages []json.RawMessage `json:"messages"`
						Echoes   []json.RawMessage `json:"message_echoes"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(b, &env) // some values are no objects: skipped
		for _, e := range env.Entry {
			for _, c := range e.Changes {
				out = append(append(out, c.Value.Messages...), c.Value.Echoes...)
			}
		}
	}
	return out
}

// FuzzView drives the normaliser with Meta's message elements, send
// bodies and what the fuzzer makes of them, stored with or without a type:
// View, Extract and ExtractOutbound never panic, the view keeps the
// message's identity and encodes as JSON (a tool result that cannot be
// encoded would lose the whole page), and an element that is no JSON
// object reads as the stored text alone.
func FuzzView(f *testing.F) {
	for _, e := range fuzzElements(f) {
		f.Add([]byte(e), "")
		var typed struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(e, &typed)
		f.Add([]byte(e), typed.Type)
	}
	for _, s := range []string{
		`{"messaging_product":"whatsapp","to":"+16505551234","type":"template","template":{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"header","parameters":[{"type":"image","image":{"link":"https://x/y.png"}}]},{"type":"body","parameters":[{"type":"text","text":"A"},{"type":"currency","currency":{"fallback_value":"$1"}}]}]}}`,
		`{"to":"1","interactive":{"type":"list","body":{"text":"b"},"action":{"button":"B","sections":[{"rows":[{"id":"1","title":"t"}]}]}}}`,
		`{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{\"a\":1"}}}`,
		`{"type":"edit","edit":{"original_message_id":"w","message":{"edit":{"message":null}}}}`,
		`{"type":"location","location":{"latitude":"NaN","longitude":"-Inf"}}`,
		`{"type":"template","template":{}}`, `{"type":"interactive"}`, `{"contacts":null,"type":"contacts"}`,
		`null`, `[]`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(s), "")
	}
	f.Fuzz(func(t *testing.T, raw []byte, typ string) {
		m := store.Message{MessageID: "wamid.fuzz", Direction: store.DirectionIn, Type: typ, Text: "stored text", Timestamp: 1750030073, Raw: raw}
		v := View(m)
		if v.MessageID != m.MessageID || v.Direction != m.Direction || (typ != "" && v.Type != typ) {
			t.Fatalf("view %+v is not of message %q (type %q)", v, m.MessageID, typ)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("view does not encode: %v", err)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil && len(raw) > 0 && string(raw) != "null" {
			// Not an object: nothing but the stored columns.
			if v.Text != m.Text || v.Raw != nil || v.Media != nil || v.Reply != nil {
				t.Fatalf("element %q, no JSON object, viewed as %+v", raw, v)
			}
		}
		_, _ = Extract(typ, raw)
		_, _, _ = ExtractOutbound(raw)
	})
}
