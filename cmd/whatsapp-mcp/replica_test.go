package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/flood"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// replicaFloodEvents is the size of the flood both replicas store at once.
const replicaFloodEvents = 1000

// TestReplicasBehaveAsOne (issue 12, "Replicas"): two servers on one
// PostgreSQL, behind requests that alternate A, B, A, B, behave as one:
//
//   - customers write (the emulator's signed webhooks, through a balancer
//     that alternates them and delivers every third again to the other
//     replica, as Meta delivers at least once), and the replies are sent
//     with tool calls alternating between the replicas, against one
//     emulator, which counts what reached it;
//   - meanwhile 8 senders flood signed deliveries alternately to A and B,
//     so both replicas commit at once;
//   - a live poller pages both triggers alternately on A and B while that
//     happens, and paging them again from the start alternately returns
//     every event once, in the store's order, the same as the poller saw;
//   - the read tools answer the same on both;
//   - a session subscribed on A is notified of a message whose webhook went
//     to B, and one on B of a message whose webhook went to A.
//
// In-process servers (inProcessHTTP, as e2eReplicas starts them): the
// replicas share nothing but the database.
func TestReplicasBehaveAsOne(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	a, env := e2eReplicas(t, dsn, dsn, false)
	replicas := []string{a, env.hooks}
	lb := newReplicaBalancer(t, replicas)
	env.sb.SetWebhookURL(lb.URL + "/webhook")

	var calls atomic.Int64 // tool calls made, each on replicas[n%2]
	call := func(tool string, args map[string]any) (replica string, data map[string]any, warnings []any) {
		t.Helper()
		n := calls.Add(1) - 1
		code, env, err := crashExecute(ctx, replicas[n%2], tool, args)
		if err != nil || code != http.StatusOK || env["successful"] != true {
			t.Fatalf("%s on replica %c: HTTP %d, %v %v", tool, 'A'+n%2, code, env, err)
		}
		data, _ = env["data"].(map[string]any)
		warnings, _ = env["warnings"].([]any)
		return replicas[n%2], data, warnings
	}

	streams := crashStreams(crashPhones)
	// At the head of the streams, without pausing, as a poller that
	// would see a commit overtake an earlier Seq must be.
	poller := &crashPoller{streams: streams, max: 100, idle: -1, base: func(n int64) string { return replicas[n%2] }}
	done := make(chan struct{})
	pollErr := make(chan error, 1)
	go func() { pollErr <- poller.run(ctx, done) }()

	// Meanwhile a flood of signed deliveries, alternating A, B, from 8
	// senders at once, so both replicas commit concurrently while the
	// poller reads.
	var posts atomic.Int64
	bodies := flood.Plan{Events: replicaFloodEvents, WABAIDs: []string{sandbox.WABAID}, Phones: crashPhones,
		Prefix: "replica", Seed: uint64(time.Now().UnixNano())}.Bodies()
	sender := &flood.Sender{AppSecret: sandbox.DefaultAppSecret, Workers: 8, Redeliver: 0.05, Seed: uint64(time.Now().UnixNano()),
		URL: func() string { return replicas[(posts.Add(1)-1)%2] + "/webhook" }}
	floodErr := make(chan error, 1)
	go func() { floodErr <- sender.Run(ctx, bodies) }()

	// Three customers write four times each, and each message is answered
	// on the replica whose turn it is; the window one opened through a
	// webhook stored by either replica is open for both.
	var wantInbound, sends []string
	const customers, rounds = 3, 4
	for r := range rounds {
		for c := range customers {
			from := fmt.Sprintf("+35191234560%d", c)
			in, err := env.sb.Receive(ctx, sandbox.InboundMessage{From: from, Name: fmt.Sprintf("Customer %d", c),
				PhoneNumberID: e2ePhone, Text: fmt.Sprintf("question %d of customer %d", r, c)})
			if err != nil {
				t.Fatal(err)
			}
			wantInbound = append(wantInbound, in.MessageID)
			_, sent, warnings := call("WHATSAPP_SEND_MESSAGE", map[string]any{"phone_number_id": e2ePhone, "to_number": from,
				"text": fmt.Sprintf("answer %d to customer %d", r, c)})
			if len(warnings) > 0 {
				t.Errorf("a send right after the customer wrote warns: %v", warnings)
			}
			sends = append(sends, fmt.Sprint(sent["message_id"]))
		}
	}

	if err := <-floodErr; err != nil {
		t.Fatalf("the flood: %v; %v", err, sender.Stats())
	}

	// Every send reaches read, asked alternately of A and B (the emulator
	// sends each status in order, one webhook at a time, so the last read
	// stored means every earlier webhook was too).
	waitUntil(t, ctx, "every reply to reach read", func() bool {
		_, data, _ := call("WHATSAPP_GET_MESSAGE_STATUS", map[string]any{"message_ids": sends})
		for _, m := range items(data, "messages") {
			if m["status"] != "read" || len(m["history"].([]any)) != 3 {
				return false
			}
		}
		return true
	}, nil)

	// The read tools answer the same on both replicas.
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"WHATSAPP_LIST_CONVERSATIONS", map[string]any{"phone_number_id": e2ePhone}},
		{"WHATSAPP_GET_CONVERSATION", map[string]any{"phone_number_id": e2ePhone, "to_number": "+351912345601", "max_results": 50}},
		{"WHATSAPP_SEARCH_MESSAGES", map[string]any{"phone_number_id": e2ePhone, "query": "answer"}},
		{"WHATSAPP_GET_MESSAGE_STATUS", map[string]any{"message_ids": sends[:5]}},
	} {
		_, onA, _ := call(c.tool, c.args)
		_, onB, _ := call(c.tool, c.args)
		if !reflect.DeepEqual(onA, onB) {
			t.Errorf("%s answers differently on A and B:\nA: %.600v\nB: %.600v", c.tool, onA, onB)
		}
		if c.tool == "WHATSAPP_GET_CONVERSATION" {
			if msgs := items(onA, "messages"); len(msgs) != 2*rounds {
				t.Errorf("%s: %d messages, want %d in and %d out", c.tool, len(msgs), rounds, rounds)
			}
		}
	}

	// A session subscribed on A learns of a message whose webhook went to
	// B, and one on B of a message whose webhook went to A.
	for i, to := range []struct{ session, hooks string }{{replicas[0], replicas[1]}, {replicas[1], replicas[0]}} {
		from := fmt.Sprintf("+35191234570%d", i)
		uri := "whatsapp://" + e2ePhone + "/conversations/" + from[1:]
		s := newE2ESession(t, ctx, to.session)
		if err := s.c.Subscribe(ctx, mcp.SubscribeRequest{Params: mcp.SubscribeParams{URI: uri}}); err != nil {
			t.Fatalf("resources/subscribe: %v", err)
		}
		env.sb.SetWebhookURL(to.hooks + "/webhook")
		sentAt := time.Now()
		in, err := env.sb.Receive(ctx, sandbox.InboundMessage{From: from, Name: "Subscriber", PhoneNumberID: e2ePhone, Text: "news?"})
		if err != nil {
			t.Fatal(err)
		}
		wantInbound = append(wantInbound, in.MessageID)
		waitUntil(t, ctx, fmt.Sprintf("the session on replica %c to be told of %s", 'A'+i, uri), func() bool { return s.updatesOf(uri) > 0 }, s.notify)
		t.Logf("the session on replica %c was notified %v after the webhook went to replica %c", 'A'+i,
			time.Since(sentAt).Round(time.Millisecond), 'B'-i)
		s.c.Close()
	}
	env.sb.SetWebhookURL(lb.URL + "/webhook")
	close(done) // nothing more is sent

	if err := <-pollErr; err != nil {
		t.Fatalf("the live poller: %v", err)
	}
	fromStart := &crashPoller{streams: streams, max: 5, base: func(n int64) string { return replicas[n%2] }}
	if err := fromStart.run(ctx, done); err != nil {
		t.Fatal(err)
	}
	stored := crashStored(t, ctx, dsn)

	want := map[crashStream][]string{}
	for _, e := range flood.Events(bodies) {
		want[crashStreamOf(e)] = append(want[crashStreamOf(e)], e.Key())
	}
	for _, id := range wantInbound {
		s := crashStream{crashInboundTrigger, e2ePhone}
		want[s] = append(want[s], "inbound "+e2ePhone+" "+id)
	}
	for _, id := range sends {
		s := crashStream{crashStatusTrigger, e2ePhone}
		for _, st := range []string{"sent", "delivered", "read"} {
			want[s] = append(want[s], "status "+e2ePhone+" "+id+" "+st)
		}
	}
	for _, s := range streams {
		crashSameSet(t, "the store's "+s.String(), stored[s], want[s])
		crashSameList(t, "paging "+s.String()+" alternately from the start", fromStart.got[s], stored[s])
		crashSameList(t, "the live poller's "+s.String(), poller.got[s], stored[s])
		t.Logf("%s: %d events expected, %d stored, %d paged alternately from the start, %d seen by the live poller",
			s, len(want[s]), len(stored[s]), len(fromStart.got[s]), len(poller.got[s]))
	}
	if got := len(env.sb.SentMessages()); got != len(sends) {
		t.Errorf("the emulator received %d sends for %d send calls", got, len(sends))
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	for _, r := range replicas {
		if lb.answers[r][http.StatusOK] == 0 || len(lb.answers[r]) != 1 {
			t.Errorf("webhooks to %s answered %v", r, lb.answers[r])
		}
	}
	t.Logf("%d tool calls alternating A/B (%d sends, each received once by the emulator); the emulator's webhooks: A %v, B %v, %d of them delivered again to the other replica; "+
		"flood alternating A/B: %d events in %d bodies, %v; live poller: %d requests alternating A/B, %d failed; from the start: %d requests; %v in all",
		calls.Load(), len(sends), lb.answers[replicas[0]], lb.answers[replicas[1]], lb.again,
		len(flood.Events(bodies)), len(bodies), sender.Stats(),
		poller.requests.Load(), poller.failures.Load(), fromStart.requests.Load(), time.Since(began).Round(time.Millisecond))
}

// replicaBalancer stands in front of the replicas' /webhook: deliveries go
// to each in turn, and every third is delivered again to the other one
// once the first answered, as Meta may redeliver to whichever replica.
type replicaBalancer struct {
	*httptest.Server
	n atomic.Int64

	mu      sync.Mutex
	answers map[string]map[int]int // replica → HTTP status → count
	again   int
}

func newReplicaBalancer(t *testing.T, replicas []string) *replicaBalancer {
	lb := &replicaBalancer{answers: map[string]map[int]int{}}
	for _, r := range replicas {
		lb.answers[r] = map[int]int{}
	}
	forward := func(r *http.Request, body []byte, to string) (int, error) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, to+"/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
		req.Header.Set(cloudapi.SignatureHeader, r.Header.Get(cloudapi.SignatureHeader))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lb.mu.Lock()
		lb.answers[to][resp.StatusCode]++
		lb.mu.Unlock()
		return resp.StatusCode, nil
	}
	lb.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := lb.n.Add(1) - 1
		code, err := forward(r, body, replicas[n%2])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if n%3 == 0 && code == http.StatusOK {
			if _, err := forward(r, body, replicas[(n+1)%2]); err == nil {
				lb.mu.Lock()
				lb.again++
				lb.mu.Unlock()
			}
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(lb.Close)
	return lb
}
