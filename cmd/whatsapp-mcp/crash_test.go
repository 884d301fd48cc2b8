package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/flood"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// Crash without loss (docs/architecture.md#acknowledge-after-commit): a
// pool of senders floods the real binary's /webhook with signed
// deliveries (statuses and inbound messages, single and batched, several
// entries a body, some delivered again after their 200), each retried
// until it is answered 200 as Meta does, while the test SIGKILLs the
// server mid-flood and starts it again on the same store. A live poller
// pages both triggers through REST the whole time, following next_cursor
// across the restarts. Afterwards every event is in the store exactly
// once, paging both triggers from the start through MCP returns each
// exactly once in the store's order, and the poller saw the same.
//
// The senders are goroutines of the test, not a process of their own:
// they are never killed, and in the test they know exactly which bodies
// were answered 200 when each kill lands (checked against the store while
// the server is down). What the kill must hit is the server's process, its
// connections and its uncommitted transactions, and that is a real one.
//
// The normal suite floods 2,000 events with 2 kills per engine; the long
// version, 10,000 events with 3 kills:
//
//	WHATSAPP_LONG=1 go test -run TestCrash -v ./cmd/whatsapp-mcp/

const crashSecret = "crash-app-secret-3f9a1c" // the app secret the senders sign with

var crashPhones = []string{sandbox.PhoneNumberID, sandbox.PhoneNumberID2}

// The two triggers, each paged per business number.
const (
	crashStatusTrigger  = "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER"
	crashInboundTrigger = "WHATSAPP_MESSAGE_RECEIVED_TRIGGER"
)

func TestCrashWithoutLossSQLite(t *testing.T) {
	crashWithoutLoss(t, "file:"+filepath.Join(t.TempDir(), "events.db"))
}

func TestCrashWithoutLossPostgres(t *testing.T) {
	crashWithoutLoss(t, storetest.PostgresDSN(t))
}

// crashSize is the flood of this run: short in the normal suite, long
// with WHATSAPP_LONG=1.
func crashSize() (events, kills int) {
	if os.Getenv("WHATSAPP_LONG") == "1" {
		return 10000, 3
	}
	return 2000, 2
}

func crashWithoutLoss(t *testing.T, loc string) {
	events, kills := crashSize()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	g := newFakeGraph(t)
	env := binEnv(t, "WHATSAPP_ACCESS_TOKEN="+testToken, "WHATSAPP_GRAPH_URL="+g.URL, "WHATSAPP_APP_SECRET="+crashSecret)
	restarts := 0
	start := func() *httpProcess {
		p := startHTTP(t, ctx, env, "--store", loc)
		n := restarts
		restarts++
		t.Cleanup(func() {
			if out := p.output.String(); t.Failed() {
				t.Logf("server %d's output (the end):\n%s", n, out[max(0, len(out)-4000):])
			}
		})
		return p
	}
	var cur atomic.Pointer[httpProcess] // the server running now, or the one just killed
	cur.Store(start())

	bodies := flood.Plan{Events: events, WABAIDs: []string{sandbox.WABAID, "102290129340399"}, Phones: crashPhones,
		Prefix: "crash", Seed: uint64(time.Now().UnixNano())}.Bodies()
	sent := flood.Events(bodies)
	sender := &flood.Sender{AppSecret: crashSecret, Workers: 8, Redeliver: 0.02, Seed: uint64(time.Now().UnixNano()),
		URL: func() string { return cur.Load().base + "/webhook" }}
	poller := &crashPoller{streams: crashStreams(crashPhones), max: 100,
		base: func(int64) string { return cur.Load().base }}

	floodDone := make(chan struct{})
	sendErr := make(chan error, 1)
	go func() {
		err := sender.Run(ctx, bodies)
		close(floodDone)
		sendErr <- err
	}()
	pollErr := make(chan error, 1)
	go func() { pollErr <- poller.run(ctx, floodDone) }()

	// Kill mid-flood, at even shares of the bodies acknowledged. While the
	// server is down, everything acknowledged so far must be in the store.
	var downFor time.Duration
	inFlightCommitted := 0 // bodies cut by a kill after their commit, redelivered
	for k := 1; k <= kills; k++ {
		for sender.AckedBodies() < int64(k*len(bodies)/(kills+1)) {
			select {
			case <-floodDone:
				t.Fatalf("the flood ended before kill %d: %v", k, <-sendErr)
			case <-time.After(time.Millisecond):
			}
		}
		p := cur.Load()
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.exited
		killedAt := time.Now()
		ackedBodies, acked, inFlight := sender.AckedBodies(), sender.Acked(), sender.InFlight()
		inStore := map[string]bool{}
		for _, keys := range crashStored(t, ctx, loc) {
			for _, key := range keys {
				inStore[key] = true
			}
		}
		for _, e := range acked {
			if !inStore[e.Key()] {
				t.Fatalf("kill %d: %s was answered 200 but is not in the store", k, e.Key())
			}
		}
		// Deliveries the kill cut: those already committed come again,
		// and must be stored once all the same.
		committed := 0
		for _, b := range inFlight {
			if !slices.ContainsFunc(b.Events, func(e flood.Event) bool { return !inStore[e.Key()] }) {
				committed++
			}
		}
		inFlightCommitted += committed
		cur.Store(start())
		downFor += time.Since(killedAt)
		t.Logf("kill %d: SIGKILL with %d of %d bodies acknowledged (%d events, all in the store, which holds %d), %d in flight (%d of them committed); down %v",
			k, ackedBodies, len(bodies), len(acked), len(inStore), len(inFlight), committed, time.Since(killedAt).Round(time.Millisecond))
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("the flood did not end: %v; %v", err, sender.Stats())
	}
	if err := <-pollErr; err != nil {
		t.Fatalf("the live poller did not end: %v", err)
	}
	floodTime := time.Since(began)

	// Both triggers from the start, through MCP on the running server.
	final := crashPageMCP(t, ctx, cur.Load().base)
	paged := time.Now()
	cur.Load().stop(t)
	stopped := time.Now()
	stored := crashStored(t, ctx, loc)
	t.Logf("paging from the start %v, stopping %v, reading the store %v", paged.Sub(began.Add(floodTime)).Round(time.Millisecond),
		stopped.Sub(paged).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))

	st := sender.Stats()
	want := map[crashStream][]string{}
	for _, e := range sent {
		want[crashStreamOf(e)] = append(want[crashStreamOf(e)], e.Key())
	}
	var nStored int
	for _, s := range poller.streams {
		nStored += len(stored[s])
		crashSameSet(t, "the store's "+s.String(), stored[s], want[s])
		crashSameList(t, "paging "+s.String()+" from the start", final[s], stored[s])
		crashSameList(t, "the live poller's "+s.String(), poller.got[s], stored[s])
		t.Logf("%s: sent %d, stored %d, the trigger from the start %d, the live poller %d",
			s, len(want[s]), len(stored[s]), len(final[s]), len(poller.got[s]))
	}
	if st.Events != len(sent) || st.Bodies != int64(len(bodies)) {
		t.Errorf("acknowledged %d bodies (%d events) of %d (%d)", st.Bodies, st.Events, len(bodies), len(sent))
	}
	if st.Refused+st.Cut == 0 {
		t.Errorf("no delivery met a dead server: the kills missed the flood (%v)", st)
	}
	if n := st.Answers[http.StatusUnauthorized] + st.Answers[http.StatusBadRequest]; n > 0 {
		t.Errorf("%d deliveries refused: the flood is not what Meta sends (%v)", n, st)
	}
	t.Logf("%s: %d events sent in %d bodies (%s), %d acknowledged, %d stored; %d kills survived (%d deliveries committed but cut before their 200), down %v in all; "+
		"sender: %v; live poller: %d requests, %d failed; flood %v, whole test %v",
		filepath.Base(t.Name()), len(sent), len(bodies), crashShapes(bodies), st.Events, nStored, kills, inFlightCommitted,
		downFor.Round(time.Millisecond), st, poller.requests.Load(), poller.failures.Load(),
		floodTime.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

func crashShapes(bodies []flood.Body) string {
	n := map[string]int{}
	for _, b := range bodies {
		n[b.Shape]++
	}
	s := ""
	for _, shape := range flood.Shapes {
		s += fmt.Sprintf("%s%s %d", map[bool]string{true: ", "}[s != ""], shape, n[shape])
	}
	return s
}

// crashStream is one trigger's events of one business number.
type crashStream struct{ tool, phone string }

func (s crashStream) String() string { return s.tool + "/" + s.phone }

func crashStreams(phones []string) []crashStream {
	var out []crashStream
	for _, p := range phones {
		out = append(out, crashStream{crashStatusTrigger, p}, crashStream{crashInboundTrigger, p})
	}
	return out
}

func crashStreamOf(e flood.Event) crashStream {
	if e.Kind == flood.Status {
		return crashStream{crashStatusTrigger, e.PhoneNumberID}
	}
	return crashStream{crashInboundTrigger, e.PhoneNumberID}
}

// crashKey names a trigger's event as flood.Event.Key names what was sent.
func crashKey(s crashStream, ev map[string]any) string {
	if s.tool == crashStatusTrigger {
		u, _ := ev["status_update"].(map[string]any)
		return flood.Event{Kind: flood.Status, PhoneNumberID: fmt.Sprint(ev["phone_number_id"]),
			MessageID: fmt.Sprint(u["message_id"]), Status: fmt.Sprint(u["status"])}.Key()
	}
	m, _ := ev["message"].(map[string]any)
	return flood.Event{Kind: flood.Inbound, PhoneNumberID: fmt.Sprint(ev["phone_number_id"]), MessageID: fmt.Sprint(m["message_id"])}.Key()
}

// crashStored reads the store at loc directly: each stream's events, in
// Seq order.
func crashStored(t *testing.T, ctx context.Context, loc string) map[crashStream][]string {
	t.Helper()
	st, err := store.Open(ctx, loc)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	defer st.Close()
	out := map[crashStream][]string{}
	for _, phone := range crashPhones {
		s := crashStream{crashStatusTrigger, phone}
		for after := int64(0); ; {
			evs, next, err := st.Statuses(ctx, store.Query{PhoneNumberID: phone, After: after, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				out[s] = append(out[s], flood.Event{Kind: flood.Status, PhoneNumberID: e.PhoneNumberID, MessageID: e.MessageID, Status: e.Status}.Key())
			}
			after = next
		}
		s = crashStream{crashInboundTrigger, phone}
		for after := int64(0); ; {
			msgs, next, err := st.Inbound(ctx, store.InboundQuery{PhoneNumberID: phone, After: after, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				out[s] = append(out[s], flood.Event{Kind: flood.Inbound, PhoneNumberID: m.PhoneNumberID, MessageID: m.MessageID}.Key())
			}
			after = next
		}
	}
	// Nothing stored under a number the flood did not use.
	all := 0
	for after := int64(0); ; {
		evs, next, err := st.Statuses(ctx, store.Query{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		all, after = all+len(evs), next
	}
	if n := len(out[crashStream{crashStatusTrigger, crashPhones[0]}]) + len(out[crashStream{crashStatusTrigger, crashPhones[1]}]); all != n {
		t.Errorf("the store holds %d statuses, %d of them for the flood's numbers", all, n)
	}
	return out
}

// crashPageMCP pages both triggers of every business number from the
// oldest event through one MCP session, to the end.
func crashPageMCP(t *testing.T, ctx context.Context, base string) map[crashStream][]string {
	t.Helper()
	s := newE2ESession(t, ctx, base)
	out := map[crashStream][]string{}
	for _, st := range crashStreams(crashPhones) {
		cursor := ""
		for {
			args := map[string]any{"phone_number_id": st.phone, "max_results": 100}
			if cursor != "" {
				args["cursor"] = cursor
			}
			data := s.call(ctx, st.tool, args)
			evs := items(data, "events")
			for _, ev := range evs {
				out[st] = append(out[st], crashKey(st, ev))
			}
			cursor, _ = data["next_cursor"].(string)
			if more, _ := data["has_more"].(bool); !more {
				break
			}
		}
	}
	s.c.Close() // before the server stops, which would otherwise leave the client retrying
	return out
}

// crashPoller pages triggers through REST the way a platform's poller
// does: it keeps each stream's cursor, and retries the same cursor when a
// call fails (the server is down, or died while answering).
type crashPoller struct {
	base    func(n int64) string // the server of the n-th request
	streams []crashStream
	max     int           // max_results
	idle    time.Duration // the pause when no stream had anything new (default 10 ms; < 0: none)

	requests, failures atomic.Int64
	got                map[crashStream][]string // each stream's events as returned, in order
}

// run pages every stream until done is closed (no event is sent after
// it) and then one page of each, begun after it, says nothing more is
// waiting.
func (p *crashPoller) run(ctx context.Context, done <-chan struct{}) error {
	p.got = map[crashStream][]string{}
	cursors := map[crashStream]string{}
	finished := map[crashStream]bool{}
	for len(finished) < len(p.streams) {
		idle := true
		for _, s := range p.streams {
			if finished[s] {
				continue
			}
			last := false
			select {
			case <-done:
				last = true
			default:
			}
			keys, next, more, err := p.page(ctx, s, cursors[s])
			if ctx.Err() != nil {
				return fmt.Errorf("%s after %d events: %w", s, len(p.got[s]), ctx.Err())
			}
			if err != nil {
				p.failures.Add(1)
				continue
			}
			p.got[s] = append(p.got[s], keys...)
			cursors[s] = next
			if len(keys) > 0 {
				idle = false
			}
			if last && !more {
				finished[s] = true
			}
		}
		if idle && p.idle >= 0 {
			time.Sleep(cmp.Or(p.idle, 10*time.Millisecond))
		}
	}
	return nil
}

func (p *crashPoller) page(ctx context.Context, s crashStream, cursor string) (keys []string, next string, more bool, err error) {
	in := map[string]any{"phone_number_id": s.phone, "max_results": p.max}
	if cursor != "" {
		in["cursor"] = cursor
	}
	code, env, err := crashExecute(ctx, p.base(p.requests.Add(1)-1), s.tool, in)
	if err != nil {
		return nil, "", false, err
	}
	data, _ := env["data"].(map[string]any)
	next, _ = data["next_cursor"].(string)
	if code != http.StatusOK || env["successful"] != true || next == "" {
		return nil, "", false, fmt.Errorf("%s: HTTP %d: %v", s.tool, code, env["error"])
	}
	for _, ev := range items(data, "events") {
		keys = append(keys, crashKey(s, ev))
	}
	more, _ = data["has_more"].(bool)
	return keys, next, more, nil
}

// crashExecute runs a tool through REST on the server at base: the HTTP
// status and the envelope it answered.
func crashExecute(ctx context.Context, base, tool string, in any) (code int, env map[string]any, err error) {
	body, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/actions/"+tool+"/execute", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s: HTTP %d, not an envelope: %w", tool, resp.StatusCode, err)
	}
	return resp.StatusCode, env, nil
}

// crashSameSet fails unless got holds each of want exactly once and
// nothing else.
func crashSameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, k := range got {
		count[k]++
	}
	var missing, doubled []string
	for _, k := range want {
		switch count[k] {
		case 0:
			missing = append(missing, k)
		case 1:
		default:
			doubled = append(doubled, k)
		}
		delete(count, k)
	}
	if len(missing)+len(doubled)+len(count) > 0 {
		extra := make([]string, 0, len(count))
		for k := range count {
			extra = append(extra, k)
		}
		t.Errorf("%s: %d events of %d; %d missing %v, %d more than once %v, %d never sent %v",
			what, len(got), len(want), len(missing), crashFew(missing), len(doubled), crashFew(doubled), len(extra), crashFew(extra))
	}
}

// crashSameList fails unless got is want, in the same order.
func crashSameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	crashSameSet(t, what, got, want)
	t.Errorf("%s: %d events, the store's order has %d; they part at #%d (%v vs %v)", what, len(got), len(want), i,
		crashAt(got, i), crashAt(want, i))
}

// crashFew is the first three of l.
func crashFew(l []string) []string { return l[:min(3, len(l))] }

func crashAt(l []string, i int) string {
	if i < len(l) {
		return l[i]
	}
	return "the end"
}
