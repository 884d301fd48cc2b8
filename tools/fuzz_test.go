package tools_test

// Fuzz target of the phone normaliser, which reads every to_number (and
// from_number) a model writes. Without -fuzz, `go test` runs the seeds
// as an ordinary test; to fuzz it, outside CI:
//
//	go test -run '^$' -fuzz '^FuzzPhone$' -fuzztime 60s -fuzzminimizetime 2s -parallel 2 ./tools/
//
// (-fuzzminimizetime 2s: by default the engine spends up to 60 s minimising
// each new input, counting no executions meanwhile.)
//
// A crasher is written to testdata/fuzz/FuzzPhone/; keep it there, minimal,
// once the bug is fixed.

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// fuzzRegions are the policies' regions the fuzzer picks from ("" is the
// default, US).
var fuzzRegions = []string{"", "US", "GB", "IN", "BR", "DE", "SG", "CA", "FR", "MX", "NG", "ID", "AR", "IT", "AU", "JP"}

var (
	fuzzPlus   = regexp.MustCompile(`^\+[0-9]+$`)
	fuzzE164   = regexp.MustCompile(`^\+[1-9][0-9]{0,14}$`)
	fuzzDigits = regexp.MustCompile(`[0-9]`)
)

// fuzzMaxRule bounds a refusal's text: it quotes at most 64 characters of
// the input (tools.Echo), whatever its length.
const fuzzMaxRule = 1024

// FuzzPhone: NormalizePhone never panics, is idempotent, and gives either
// "+<digits>" or the input unchanged (trimmed), so that the phone rule can
// name it. PhonePolicy.Check, with every region and both national-number
// settings, never panics, gives the same verdict remembered or not, sends
// only an E.164 number (+, no leading 0, at most 15 digits) that it accepts
// again as it is, and refuses with a bounded text.
func FuzzPhone(f *testing.F) {
	for _, s := range []string{
		"+16505551234", "+1 (650) 555-1234", "16505551234", "6505551234", "(650) 555-1234", "650.555.1234",
		"0044 20 7946 0958", "+44 20 7946 0958", "020 7946 0958", "07911 123456", "+65 6123 4567", "+91 98765 43210",
		"+1 555 0100", "+999 123", "+0044", "00", "0", "+", "()", " + ", "++1", "1+2", "+1-", "１２３", "+1\u00a0650",
		"+1234567890123456", strings.Repeat("9", 200), "\xff\xfe", "+1\x00", "US.13491208655302741918", "",
	} {
		f.Add(s, uint8(0), false)
		f.Add(s, uint8(2), true)
	}
	f.Fuzz(func(t *testing.T, s string, region uint8, convert bool) {
		n := tools.NormalizePhone(s)
		if again := tools.NormalizePhone(n); again != n {
			t.Fatalf("NormalizePhone(%q) = %q, but NormalizePhone(%q) = %q", s, n, n, again)
		}
		if n != strings.TrimSpace(s) && !fuzzPlus.MatchString(n) {
			t.Fatalf("NormalizePhone(%q) = %q: neither +<digits> nor the input", s, n)
		}
		if fuzzPlus.MatchString(n) && len(fuzzDigits.FindAllString(s, -1)) < len(n)-1 {
			t.Fatalf("NormalizePhone(%q) = %q has digits the input has not", s, n)
		}

		p := tools.PhonePolicy{Region: fuzzRegions[int(region)%len(fuzzRegions)], ConvertNational: convert}
		c := p.Check(s)
		if u := p.CheckUncached(s); u != c {
			t.Fatalf("policy %+v, %q: remembered verdict %+v, computed %+v", p, s, c, u)
		}
		if again := p.Check(s); again != c {
			t.Fatalf("policy %+v, %q: second verdict %+v, first %+v", p, s, again, c)
		}
		if c.Rule != "" {
			if len(c.Rule) > fuzzMaxRule || !utf8.ValidString(c.Rule) {
				t.Fatalf("policy %+v, %q: refusal of %d bytes (valid UTF-8: %v): %.200q", p, s, len(c.Rule), utf8.ValidString(c.Rule), c.Rule)
			}
			if c.Warning != "" {
				t.Fatalf("policy %+v, %q: refused with a warning too: %+v", p, s, c)
			}
			return
		}
		if !fuzzE164.MatchString(c.Number) {
			t.Fatalf("policy %+v, %q: accepted as %q, which is no E.164 number", p, s, c.Number)
		}
		if len(c.Warning) > fuzzMaxRule {
			t.Fatalf("policy %+v, %q: warning of %d bytes", p, s, len(c.Warning))
		}
		if again := p.Check(c.Number); again.Rule != "" || again.Number != c.Number {
			t.Fatalf("policy %+v: %q accepted as %q, which is then read as %+v", p, s, c.Number, again)
		}
	})
}
