package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds the pure parts of the harness (statistics, /proc parsing,
// the table), which main_test.go tests without running anything.

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted;
// zero for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// latencySummary sorts lat in place and returns its p50 and p99.
func latencySummary(lat []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(lat)
	return percentile(lat, 50), percentile(lat, 99)
}

// median of xs (the mean of the middle two for an even count); NaN when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// parseStatCPU returns utime+stime (clock ticks, all threads) from the text
// of /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself, so fields are counted from the last ')'.
func parseStatCPU(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no ')' after the command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command name, want at least 13", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("proc stat: %w", err)
	}
	return ut + st, nil
}

// parseStatusKB returns the value in kB of a "Key:   1234 kB" line of
// /proc/<pid>/status (VmRSS, VmHWM).
func parseStatusKB(status []byte, key string) (int64, error) {
	for line := range strings.Lines(string(status)) {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("proc status: no %s line", key)
}

// atClkTck is the auxiliary vector's entry for the clock-tick rate.
const atClkTck = 17

// parseAuxvClkTck reads AT_CLKTCK from a 64-bit /proc/self/auxv (pairs of
// native-endian words); ok false when absent.
func parseAuxvClkTck(auxv []byte) (hz uint64, ok bool) {
	for i := 0; i+16 <= len(auxv); i += 16 {
		k := binary.NativeEndian.Uint64(auxv[i:])
		v := binary.NativeEndian.Uint64(auxv[i+8:])
		if k == 0 {
			break
		}
		if k == atClkTck && v > 0 {
			return v, true
		}
	}
	return 0, false
}

// clockTick is how long one /proc/<pid>/stat tick is (10 ms at the usual
// USER_HZ of 100).
var clockTick = func() time.Duration {
	if b, err := os.ReadFile("/proc/self/auxv"); err == nil {
		if hz, ok := parseAuxvClkTck(b); ok {
			return time.Second / time.Duration(hz)
		}
	}
	return 10 * time.Millisecond
}()

// procCPU is the CPU time (user+system, every thread) process pid has used.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	t, err := parseStatCPU(b)
	return time.Duration(t) * clockTick, err
}

// procMemKB reads VmRSS or VmHWM (kB) of process pid.
func procMemKB(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, key)
}

// targetKind says how a figure is judged.
type targetKind string

const (
	atMost       targetKind = "at_most"        // ours ≤ value
	atLeast      targetKind = "at_least"       // ours ≥ value
	ratioAtMost  targetKind = "ratio_at_most"  // ours/floor ≤ value
	ratioAtLeast targetKind = "ratio_at_least" // ours/floor ≥ value
	mustHold     targetKind = "must_hold"      // ours is 1 (a check that passed)
)

// target is the goal of one figure.
type target struct {
	Kind  targetKind `json:"kind,omitempty"`
	Value float64    `json:"value,omitempty"`
	Of    string     `json:"of,omitempty"` // what the ratio is taken of, e.g. "relay"
}

// row is one line of the table. A floor of 0 means there is none.
type row struct {
	Figure    string  `json:"figure"`
	Unit      string  `json:"unit"`
	Ours      float64 `json:"ours"`
	OursNote  string  `json:"ours_note,omitempty"` // e.g. "p99 3.1"
	Floor     float64 `json:"floor,omitempty"`
	FloorText string  `json:"floor_text,omitempty"` // shown after (or instead of) the floor number
	Target    target  `json:"target"`
	Met       *bool   `json:"met,omitempty"`   // nil when not measured
	Error     string  `json:"error,omitempty"` // why it was not measured
}

// ratio is ours/floor, NaN without a floor.
func (r row) ratio() float64 {
	if r.Floor == 0 || r.Error != "" {
		return math.NaN()
	}
	return r.Ours / r.Floor
}

// judge sets Met from the target.
func (r *row) judge() {
	if r.Error != "" || math.IsNaN(r.Ours) {
		r.Met = nil
		return
	}
	var ok bool
	switch r.Target.Kind {
	case atMost:
		ok = r.Ours <= r.Target.Value
	case atLeast:
		ok = r.Ours >= r.Target.Value
	case ratioAtMost:
		ok = !math.IsNaN(r.ratio()) && r.ratio() <= r.Target.Value
	case ratioAtLeast:
		ok = !math.IsNaN(r.ratio()) && r.ratio() >= r.Target.Value
	case mustHold:
		ok = r.Ours == 1
	default:
		return
	}
	r.Met = &ok
}

func (t target) String() string {
	switch t.Kind {
	case atMost:
		return "≤ " + fmtNum(t.Value)
	case atLeast:
		return "≥ " + fmtNum(t.Value)
	case ratioAtMost:
		return "≤ " + fmtNum(t.Value) + " × " + t.Of
	case ratioAtLeast:
		return "≥ " + fmtNum(t.Value) + " × " + t.Of
	case mustHold:
		return "holds"
	}
	return "—"
}

// fmtNum prints a figure readably: thousands separated from 1,000, three
// significant digits below.
func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case math.Abs(v) >= 1000:
		return groupThousands(int64(math.Round(v)))
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// renderMarkdown writes the table: figure | ours | floor | ratio | target | met?
func renderMarkdown(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| figure | ours | floor | ratio | target | met? |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rows {
		name := r.Figure
		if r.Unit != "" {
			name += " (" + r.Unit + ")"
		}
		ours := fmtNum(r.Ours)
		if r.Target.Kind == mustHold {
			ours = map[bool]string{true: "yes", false: "no"}[r.Ours == 1]
		}
		if r.OursNote != "" {
			ours += " (" + r.OursNote + ")"
		}
		if r.Error != "" {
			ours = "not measured: " + r.Error
		}
		floor := "—"
		switch {
		case r.Floor != 0 && r.FloorText != "":
			floor = fmtNum(r.Floor) + " (" + r.FloorText + ")"
		case r.Floor != 0:
			floor = fmtNum(r.Floor)
		case r.FloorText != "":
			floor = r.FloorText
		}
		ratio := "—"
		if q := r.ratio(); !math.IsNaN(q) {
			ratio = strconv.FormatFloat(q, 'f', 2, 64) + "×"
		}
		met := "—"
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*r.Met]
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", cell(name), cell(ours), cell(floor), ratio, cell(r.Target.String()), met)
	}
}

// cell keeps a value from breaking the Markdown row.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// report is the -json output.
type report struct {
	Rows  []rowJSON `json:"rows"`
	Notes []string  `json:"notes"`
	Meta  meta      `json:"meta"`
}

type rowJSON struct {
	row
	Ratio  *float64 `json:"ratio,omitempty"`
	Target string   `json:"target_text"`
}

type meta struct {
	Runs       int     `json:"runs"`
	Duration   string  `json:"duration_per_run"`
	Quick      bool    `json:"quick"`
	Events     int     `json:"events"`
	ElapsedSec float64 `json:"elapsed_seconds"`
	CPUs       int     `json:"cpus"`
	GoVersion  string  `json:"go_version"`
	Server     string  `json:"server,omitempty"` // the server's version line
}

func renderJSON(w io.Writer, rows []row, notes []string, m meta) error {
	out := report{Notes: notes, Meta: m}
	if out.Notes == nil {
		out.Notes = []string{}
	}
	for _, r := range rows {
		j := rowJSON{row: r, Target: r.Target.String()}
		if q := r.ratio(); !math.IsNaN(q) {
			j.Ratio = &q
		}
		if math.IsNaN(j.Ours) {
			j.Ours = 0
		}
		out.Rows = append(out.Rows, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// parseProcStatCPU returns the busy and total jiffies of the "cpu" line of
// /proc/stat (busy = all but idle and iowait).
func parseProcStatCPU(stat []byte) (busy, total uint64, err error) {
	for line := range strings.Lines(string(stat)) {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		for i, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("proc stat: %w", err)
			}
			total += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		return busy, total, nil
	}
	return 0, 0, errors.New("proc stat: no cpu line")
}

// machineBusy is the fraction of all CPUs' time spent busy over d.
func machineBusy(d time.Duration) (float64, error) {
	read := func() (uint64, uint64, error) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, err
		}
		return parseProcStatCPU(b)
	}
	b0, t0, err := read()
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	b1, t1, err := read()
	if err != nil {
		return 0, err
	}
	if t1 == t0 {
		return 0, nil
	}
	return float64(b1-b0) / float64(t1-t0), nil
}

// fieldShares says how the bytes of a tools/list result split between the
// tools' fields (inputSchema, outputSchema, description, …), largest first.
func fieldShares(result []byte) (string, error) {
	var r struct {
		Tools []map[string]json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return "", err
	}
	by := map[string]int{}
	total := 0
	for _, t := range r.Tools {
		for k, v := range t {
			n := len(k) + 3 + len(v) // "k": v,
			by[k] += n
			total += n
		}
	}
	if total == 0 {
		return "", errors.New("no tool fields")
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return by[b] - by[a] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d %% (%s B/tool)", k, int(math.Round(100*float64(by[k])/float64(total))),
			fmtNum(float64(by[k])/float64(len(r.Tools)))))
	}
	return strings.Join(parts, ", "), nil
}
