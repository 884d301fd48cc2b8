package triggers

// Fuzz targets of what anyone who can reach /webhook controls: the
// signature check, the payload parser (with the normaliser of the messages
// it reads) and the trigger cursors a client passes back. Without -fuzz,
// `go test` runs their seeds (Meta's payloads of testdata/ and the
// cursors below) as ordinary tests. To fuzz one, outside CI:
//
//	go test -run '^$' -fuzz '^FuzzParsePayload$' -fuzztime 60s -fuzzminimizetime 2s -parallel 2 ./triggers/
//
// (-fuzzminimizetime 2s: by default the engine spends up to 60 s minimising
// each new input, counting no executions meanwhile.)
//
// (likewise FuzzVerifySignature, FuzzDecodeCursor, FuzzCursorRoundTrip).
// A crasher is written to testdata/fuzz/<FuzzName>/; keep it there, minimal,
// as a seed once the bug is fixed.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/conversations"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// fuzzAppSecret is the secret the fixtures' .sig files are made with
// (testdata/README.md).
const fuzzAppSecret = "test-app-secret-0d1e2f"

// fuzzFixtures are Meta's payloads of testdata/ and testdata/inbound/,
// with their X-Hub-Signature-256 values, read once per process.
func fuzzFixtures(f *testing.F) (bodies [][]byte, sigs []string) {
	f.Helper()
	var names []string
	for _, pattern := range []string{"testdata/*.json", "testdata/inbound/*.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		names = append(names, m...)
	}
	if len(names) < 40 {
		f.Fatalf("found %d webhook fixtures, want testdata/*.json and testdata/inbound/*.json", len(names))
	}
	for _, name := range names {
		body, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		sig, err := os.ReadFile(strings.TrimSuffix(name, ".json") + ".sig")
		if err != nil {
			f.Fatal(err)
		}
		bodies, sigs = append(bodies, body), append(sigs, strings.TrimSpace(string(sig)))
	}
	return bodies, sigs
}

func fuzzSign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// FuzzVerifySignature: the check never panics, accepts exactly the HMAC of
// the body under a non-empty secret (its hex in either case), and fails
// only with ErrMissingSignature or ErrBadSignature.
func FuzzVerifySignature(f *testing.F) {
	bodies, sigs := fuzzFixtures(f)
	for i, b := range bodies {
		f.Add(fuzzAppSecret, b, sigs[i])
	}
	f.Add("", []byte(`{}`), "")
	f.Add("s", []byte(`{}`), "sha256=")
	f.Add("s", []byte(`{}`), strings.ToUpper(fuzzSign("s", []byte(`{}`))))
	f.Add("s", []byte(`{}`), "sha1=0123456789abcdef0123456789abcdef01234567")
	f.Add("s", []byte(nil), "sha256="+strings.Repeat("zz", 32))
	f.Add("s", []byte("\xff\x00"), " "+fuzzSign("s", []byte("\xff\x00")))
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		err := VerifySignature(secret, body, header)
		if err != nil && !errors.Is(err, ErrMissingSignature) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v is neither ErrMissingSignature nor ErrBadSignature", err)
		}
		want := fuzzSign(secret, body)
		if err == nil && (secret == "" || !strings.EqualFold(header, want) || !strings.HasPrefix(header, "sha256=")) {
			t.Fatalf("accepted header %q for a body whose signature is %s (secret empty: %v)", header, want, secret == "")
		}
		if header == "" && !errors.Is(err, ErrMissingSignature) {
			t.Fatalf("empty header: got %v, want ErrMissingSignature", err)
		}
		if secret != "" {
			if err := VerifySignature(secret, body, want); err != nil {
				t.Fatalf("the body's own signature is refused: %v", err)
			}
			// One bit of the body changed: refused.
			flipped := append(append([]byte(nil), body...), 0)
			if len(body) > 0 {
				flipped = append([]byte(nil), body...)
				flipped[len(flipped)/2] ^= 1
			}
			if err := VerifySignature(secret, flipped, want); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("a changed body is not refused: %v", err)
			}
		}
	})
}

// fuzzChange is a changes[] element as the fuzz target reads it,
// independently of the parser.
type fuzzChange struct {
	wabaID, field string
	value         json.RawMessage
}

// fuzzChanges reads every changes[] element of body, or ok=false when the
// body is no envelope at all.
func fuzzChanges(body []byte) (changes []fuzzChange, object string, ok bool) {
	var env struct {
		Object string `json:"object"`
		Entry  []struct {
			ID      string `json:"id"`
			Changes []struct {
				Field string          `json:"field"`
				Value json.RawMessage `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil, "", false
	}
	for _, e := range env.Entry {
		for _, c := range e.Changes {
			changes = append(changes, fuzzChange{wabaID: e.ID, field: c.Field, value: c.Value})
		}
	}
	return changes, env.Object, true
}

var fuzzHexKey = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FuzzParsePayload drives the parser with Meta's payloads and whatever
// the fuzzer makes of them. Invariants: it never panics and reads a body
// the same way twice; it refuses only what is no JSON envelope (or not a
// whatsapp_business_account one); every event keeps its element's exact
// bytes (a subslice of the body) and has the id it is deduplicated by;
// and NOTHING signed is dropped: each statuses[], messages[] and
// message_echoes[] element is an event, or the change holding it is kept
// whole, and every other change is kept. Each inbound and echo message
// also goes through the normaliser (conversations.Extract and View),
// which must not panic and must give a view that encodes as JSON.
func FuzzParsePayload(f *testing.F) {
	bodies, _ := fuzzFixtures(f)
	for _, b := range bodies {
		f.Add(b)
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `"whatsapp_business_account"`,
		`{"object":"whatsapp_business_account"}`,
		`{"object":"whatsapp_business_account","entry":null}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":null}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":"","status":"sent"},{"id":"w","status":"read","timestamp":1e99}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":5,"statuses":[{"id":"w","status":"sent"}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"m","type":"edit","edit":{"message":{"edit":{"message":[]}}}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"smb_message_echoes","value":{"message_echoes":[{"id":"e","to":"+1 650","type":"interactive","interactive":{"action":{"sections":[{"rows":[{"id":"r"}]}]}}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"m","type":"location","location":{"latitude":"NaN","longitude":"1e400"}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"m","type":"text","text":{"body":"a\u0000b\ud800"}}]}}]}]}`,
		"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{\"field\":\"messages\",\"value\":{\"messages\":[{\"id\":\"m\",\"text\":{\"body\":\"\xff\"}}]}}]}]}",
		`{"object":"page","entry":[{"changes":[{"field":"feed","value":{}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		b, rep, err := parse(body, now)
		b2, rep2, err2 := parse(body, now)
		if !reflect.DeepEqual(b, b2) || !reflect.DeepEqual(rep, rep2) || (err == nil) != (err2 == nil) {
			t.Fatal("two parses of the same body differ")
		}
		changes, object, envOK := fuzzChanges(body)
		switch {
		case !envOK:
			if err == nil {
				t.Fatal("a body that is no JSON envelope was accepted")
			}
			return
		case object != "whatsapp_business_account":
			if !errors.Is(err, ErrUnknownObject) {
				t.Fatalf("object %q: got %v, want ErrUnknownObject", object, err)
			}
			return
		case err != nil:
			t.Fatalf("a whatsapp_business_account envelope was refused: %v", err)
		}

		// Every event: its element's exact bytes, its key, our clock.
		raws := map[string]bool{} // the events' Raw, to find each element below
		event := func(kind, id string, raw json.RawMessage, at time.Time) {
			if id == "" {
				t.Fatalf("%s event without an id: %s", kind, raw)
			}
			if !json.Valid(raw) || !bytes.Contains(body, raw) {
				t.Fatalf("%s event %q: Raw is not an element of the body: %q", kind, id, raw)
			}
			if !at.Equal(now) {
				t.Fatalf("%s event %q: ReceivedAt %v, want %v", kind, id, at, now)
			}
			raws[string(raw)] = true
		}
		for _, s := range b.Statuses {
			if s.Status == "" {
				t.Fatalf("status event %q without a status", s.MessageID)
			}
			event("status", s.MessageID, s.Raw, s.ReceivedAt)
		}
		for _, m := range b.Inbound {
			event("inbound", m.MessageID, m.Raw, m.ReceivedAt)
			fuzzNormalise(t, store.DirectionIn, m.MessageID, m.Type, m.Text, m.ContextID, m.Raw)
		}
		for _, m := range b.Outbound {
			if m.Source != store.SourceApp {
				t.Fatalf("echo %q: source %q, want %q", m.MessageID, m.Source, store.SourceApp)
			}
			event("outbound", m.MessageID, m.Raw, m.ReceivedAt)
			fuzzNormalise(t, store.DirectionOut, m.MessageID, m.Type, m.Text, m.ContextID, m.Raw)
		}
		kept := map[string]bool{} // entry id, field and value of each change kept
		changeKey := func(wabaID, field string, value json.RawMessage) string {
			return wabaID + "\x00" + field + "\x00" + string(value)
		}
		for _, c := range b.Changes {
			if !fuzzHexKey.MatchString(c.Key) {
				t.Fatalf("change key %q is not a sha256 digest", c.Key)
			}
			if !c.ReceivedAt.Equal(now) || (len(c.Raw) > 0 && !bytes.Contains(body, c.Raw)) {
				t.Fatalf("change %s: Raw %q not from the body, or ReceivedAt %v", c.Field, c.Raw, c.ReceivedAt)
			}
			kept[changeKey(c.WABAID, c.Field, c.Raw)] = true
		}

		// Nothing dropped.
		for _, c := range changes {
			var elements []json.RawMessage
			switch c.field {
			case fieldMessages:
				var v struct {
					Statuses []json.RawMessage `json:"statuses"`
					Messages []json.RawMessage `json:"messages"`
				}
				_ = json.Unmarshal(c.value, &v) // an error: the parser's fails too, and keeps the change
				elements = append(v.Statuses, v.Messages...)
			case fieldEchoes:
				var v struct {
					Echoes []json.RawMessage `json:"message_echoes"`
				}
				_ = json.Unmarshal(c.value, &v)
				elements = v.Echoes
			}
			if kept[changeKey(c.wabaID, c.field, c.value)] {
				continue
			}
			if c.field != fieldMessages && c.field != fieldEchoes {
				t.Fatalf("change %q of entry %q was dropped: %s", c.field, c.wabaID, c.value)
			}
			if len(elements) == 0 {
				t.Fatalf("change %q of entry %q carries no event and was not kept: %s", c.field, c.wabaID, c.value)
			}
			for _, e := range elements {
				if !raws[string(e)] {
					t.Fatalf("element %s of change %q was neither stored as an event nor kept in its change", e, c.field)
				}
			}
		}
	})
}

// fuzzNormalise checks the normaliser on a parsed message: what the
// parser indexed is what Extract reads, and View gives a view of the
// same message that encodes as JSON.
func fuzzNormalise(t *testing.T, dir, id, typ, text, contextID string, raw json.RawMessage) {
	t.Helper()
	if gotText, gotContext := conversations.Extract(typ, raw); gotText != text || gotContext != contextID {
		t.Fatalf("message %q: Extract gives %q, %q; the parser stored %q, %q", id, gotText, gotContext, text, contextID)
	}
	v := conversations.View(store.Message{Direction: dir, MessageID: id, Type: typ, Text: text, ContextID: contextID, Raw: raw, Timestamp: 1750030073})
	if v.MessageID != id || v.Direction != dir {
		t.Fatalf("view of %q is of %q (%s)", id, v.MessageID, v.Direction)
	}
	if typ != "" && v.Type != typ {
		t.Fatalf("view of %q has type %q, want %q", id, v.Type, typ)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatalf("view of %q does not encode: %v", id, err)
	}
}

// FuzzDecodeCursor: any string a client passes as cursor is decoded
// without a panic; one that decodes names a known kind, a business number
// and a position that is no negative, re-encodes to a cursor that decodes
// the same, and is accepted by checkCursor only for its own kind and its
// own business number, never another's.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{
		encodeCursor(cursorStatus, "106540352242922", 0),
		encodeCursor(cursorStatus, "106540352242922", 42),
		encodeCursor(cursorInbound, "106540352242922", 9223372036854775807),
		encodeCursor(cursorInbound, "106540352242933", 7) + "==",
		encodeCursor("v2", "106540352242922", 1),
		encodeCursor(cursorStatus, "", 1),
		encodeCursor(cursorStatus, "1:2", 1),
		encodeCursor(cursorStatus, "\xff\x1b[2J", 1), // forged: no number, a terminal escape
		encodeCursor(cursorStatus, "106540352242922", -1),
		"", "=", "not a cursor", "djE6MTA2NTQwMzUyMjQyOTIyOjQy\x00", "djE6OjQy", "djE6MTA2NTQwMzUyMjQyOTIyOisxMg",
	} {
		f.Add(s, "106540352242922")
	}
	f.Fuzz(func(t *testing.T, s, phone string) {
		kind, cphone, seq, ok := decodeCursor(s)
		if !ok {
			if kind != "" || cphone != "" || seq != 0 {
				t.Fatalf("refused cursor returned %q %q %d", kind, cphone, seq)
			}
		} else {
			if cursorTools[kind] == "" || cphone == "" || seq < 0 || digitsOnly(cphone) != cphone {
				t.Fatalf("cursor %q decoded to kind %q, phone %q, seq %d", s, kind, cphone, seq)
			}
			k2, p2, s2, ok2 := decodeCursor(encodeCursor(kind, cphone, seq))
			if !ok2 || k2 != kind || p2 != cphone || s2 != seq {
				t.Fatalf("re-encoded cursor of %q decodes to %q %q %d %v", s, k2, p2, s2, ok2)
			}
		}
		for _, want := range []string{cursorStatus, cursorInbound} {
			after, errs := checkCursor(s, want, phone)
			if len(errs) > 0 {
				if after != 0 || errs[0].Field != "cursor" || errs[0].Rule == "" {
					t.Fatalf("refused cursor: after %d, errors %+v", after, errs)
				}
				continue
			}
			switch {
			case s == "":
				if after != 0 {
					t.Fatalf("no cursor gave position %d", after)
				}
			case !ok || kind != want || (phone != "" && cphone != phone) || after != seq:
				t.Fatalf("checkCursor(%q, %s, %q) accepted a cursor of kind %q for phone %q at %d (ok %v), giving %d",
					s, want, phone, kind, cphone, seq, ok, after)
			}
		}
	})
}

// FuzzCursorRoundTrip: every cursor this server writes decodes to what it
// was written from; one that it never writes (a business number that is
// no Graph id, a negative position) is refused, never read as another
// number's.
func FuzzCursorRoundTrip(f *testing.F) {
	f.Add(true, "106540352242922", int64(0))
	f.Add(false, "106540352242922", int64(1<<62))
	f.Add(true, "", int64(3))
	f.Add(false, "10:6", int64(3))
	f.Add(true, "106540352242922", int64(-5))
	f.Fuzz(func(t *testing.T, status bool, phone string, seq int64) {
		kind := cursorInbound
		if status {
			kind = cursorStatus
		}
		c := encodeCursor(kind, phone, seq)
		k, p, s, ok := decodeCursor(c)
		writable := phone != "" && digitsOnly(phone) == phone && seq >= 0
		switch {
		case writable && (!ok || k != kind || p != phone || s != seq):
			t.Fatalf("cursor of %s %q %d decodes to %q %q %d %v", kind, phone, seq, k, p, s, ok)
		case !writable && ok:
			t.Fatalf("cursor of %s %q %d, which cannot be written, decodes to %q %q %d", kind, phone, seq, k, p, s)
		}
	})
}
