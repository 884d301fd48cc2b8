package triggers_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// End to end: the sandbox (Meta's stand-in) accepts sends from the real
// Graph client and posts signed, duplicated, out-of-order status webhooks
// to the real receiver, which stores them; the trigger tool must then
// serve every status exactly once. Helpers are prefixed e2e.

const (
	e2eCustomer   = "+16505551234"  // writes first: inside the 24-hour window
	e2eStranger   = "+447700900123" // never wrote: outside it
	e2eInside     = 3               // free-form messages to the customer
	e2eDuplicates = 1               // extra copies of every webhook POST
)

// e2eResult is what one run saw.
type e2eResult struct {
	inside  []string // message ids sent to e2eCustomer
	outside string   // message id sent to e2eStranger
	keys    []string // every event the trigger served, "<id>/<status>", in order
	cursor  string   // the trigger's cursor after the last event
}

// e2eReceivers serves Meta's callback URL from one webhook receiver per
// store, taking turns (a load balancer in front of replicas), and counts
// the deliveries acknowledged with 200.
type e2eReceivers struct {
	handlers []http.Handler
	next     atomic.Int64
	acked    atomic.Int64
}

func (r *e2eReceivers) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h := r.handlers[int(r.next.Add(1)-1)%len(r.handlers)]
	rec := &e2eStatusWriter{ResponseWriter: w, code: http.StatusOK}
	h.ServeHTTP(rec, req)
	if req.Method == http.MethodPost && rec.code == http.StatusOK {
		r.acked.Add(1)
	}
}

type e2eStatusWriter struct {
	http.ResponseWriter
	code int
}

func (w *e2eStatusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// e2eRun wires sandbox → webhook receivers (one per store) → stores → the
// status tools (taking turns over the stores, like a poller behind a load
// balancer), sends the messages and polls until every status is in.
func e2eRun(t *testing.T, stores []store.Store) e2eResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	recv := &e2eReceivers{}
	for _, st := range stores {
		recv.handlers = append(recv.handlers, triggers.NewWebhook(st, triggers.WebhookConfig{
			AppSecret: sandbox.DefaultAppSecret, VerifyToken: sandbox.DefaultVerifyToken}))
	}
	mux := http.NewServeMux()
	mux.Handle("/webhook", recv)
	whSrv := httptest.NewServer(mux)
	defer whSrv.Close()

	sb := sandbox.New(sandbox.Config{
		WebhookURL:  whSrv.URL + "/webhook",
		StatusDelay: 15 * time.Millisecond,
		Duplicates:  e2eDuplicates,
		OutOfOrder:  true,
	})
	defer sb.Close() // runs first: no webhook is in flight when the servers close
	sbSrv := httptest.NewServer(sb)
	defer sbSrv.Close()

	if err := sb.VerifyWebhook(ctx); err != nil {
		t.Fatalf("the receiver refused the sandbox's verification handshake: %v", err)
	}
	if _, err := sb.Inbound(ctx, sandbox.PhoneNumberID, e2eCustomer, "Zoë", "Hi! Is my order on its way?"); err != nil {
		t.Fatal(err)
	}
	client, err := graph.NewClient(sandbox.DefaultToken, graph.WithBaseURL(sbSrv.URL))
	if err != nil {
		t.Fatal(err)
	}
	send := func(to, text string) string {
		t.Helper()
		res, _, err := client.SendMessage(ctx, sandbox.PhoneNumberID, &graph.Message{To: to, Type: "text", Text: &graph.Text{Body: text}})
		if err != nil {
			t.Fatalf("sending to %s: %v", to, err)
		}
		if len(res.Messages) != 1 || res.Messages[0].ID == "" {
			t.Fatalf("send to %s: no message id in %+v", to, res)
		}
		return res.Messages[0].ID
	}
	var r e2eResult
	for i := range e2eInside {
		r.inside = append(r.inside, send(e2eCustomer, "Yes, it shipped today. "+strings.Repeat("!", i+1)))
	}
	r.outside = send(e2eStranger, "Your order has shipped.")

	want := map[string]bool{r.outside + "/failed": true}
	for _, id := range r.inside {
		for _, s := range []string{"sent", "delivered", "read"} {
			want[id+"/"+s] = true
		}
	}
	// Every payload (the inbound message, one per status) is POSTed 1+Duplicates times.
	wantPOSTs := int64((1 + len(want)) * (1 + e2eDuplicates))

	trigger := func(i int) func(map[string]any) triggers.StatusTriggerData {
		tl := ttTool(t, stores[i%len(stores)], ttTrigger)
		return func(in map[string]any) triggers.StatusTriggerData { return ttPoll(t, tl, in) }
	}
	seen := map[string]int{}
	var failed []triggers.StatusEvent
	deadline := time.Now().Add(10 * time.Second)
	for poll := 0; ; poll++ {
		in := map[string]any{"phone_number_id": sandbox.PhoneNumberID, "max_results": 2}
		if r.cursor != "" {
			in["cursor"] = r.cursor
		}
		d := trigger(poll)(in)
		for _, e := range d.Events {
			k := e.StatusUpdate.MessageID + "/" + e.StatusUpdate.Status
			seen[k]++
			r.keys = append(r.keys, k)
			if e.StatusUpdate.Status == "failed" {
				failed = append(failed, e)
			}
		}
		r.cursor = d.NextCursor
		// Done when every status is in and every duplicate was acknowledged
		// (so a late copy would have had its chance to show up twice).
		if len(d.Events) == 0 && len(seen) >= len(want) && recv.acked.Load() >= wantPOSTs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: trigger served %v; want every one of %v; %d of %d webhook POSTs acknowledged",
				r.keys, slices.Sorted(maps.Keys(want)), recv.acked.Load(), wantPOSTs)
		}
		if len(d.Events) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}

	for k, n := range seen {
		if !want[k] {
			t.Errorf("unexpected event %s", k)
		}
		if n != 1 {
			t.Errorf("%s served %d times, want exactly once", k, n)
		}
	}
	if len(r.keys) != len(want) {
		t.Errorf("served %d events, want %d: %v", len(r.keys), len(want), r.keys)
	}
	// The sandbox reverses each message's statuses: read arrives before
	// delivered before sent, and the arrival order is what the trigger keeps.
	for _, id := range r.inside {
		var order []string
		for _, k := range r.keys {
			if s, ok := strings.CutPrefix(k, id+"/"); ok {
				order = append(order, s)
			}
		}
		if want := []string{"read", "delivered", "sent"}; !slices.Equal(order, want) {
			t.Errorf("%s statuses arrived as %v, want %v (the sandbox sends them out of order)", id, order, want)
		}
	}
	if len(failed) != 1 || !strings.Contains(string(failed[0].StatusUpdate.Errors), `"code":131047`) ||
		failed[0].StatusUpdate.RecipientID != strings.TrimPrefix(e2eStranger, "+") {
		t.Errorf("the outside-window message's failure: %+v", failed)
	}

	// Polling on, from any replica, repeats nothing.
	for i := range len(stores) {
		if d := trigger(i)(map[string]any{"phone_number_id": sandbox.PhoneNumberID, "cursor": r.cursor}); len(d.Events) != 0 {
			t.Errorf("replica %d repeated %v", i, ttKeys(d.Events))
		}
	}
	// A poller only interested in failures sees the one.
	if d := trigger(1)(map[string]any{"phone_number_id": sandbox.PhoneNumberID, "status_filter": "failed"}); !slices.Equal(ttKeys(d.Events), []string{r.outside + "/failed"}) {
		t.Errorf("status_filter=failed: %v", ttKeys(d.Events))
	}
	// The other business number had no traffic.
	if d := trigger(0)(map[string]any{"phone_number_id": sandbox.PhoneNumberID2}); len(d.Events) != 0 {
		t.Errorf("%s got events of another number: %v", sandbox.PhoneNumberID2, ttKeys(d.Events))
	}

	// "Did my message arrive?"
	ask := append([]string{r.outside, "wamid.NEVER_SENT"}, r.inside...)
	for i, st := range stores {
		var ms triggers.MessageStatusData
		ttCall(t, ttTool(t, st, ttGetStatus), map[string]any{"message_ids": ask}).decode(t, &ms)
		out, unknown := ms.Messages[0], ms.Messages[1]
		if !out.Known || out.Status != "failed" || out.Delivered || !strings.Contains(string(out.Errors), "131047") ||
			!strings.Contains(out.Note, "WHATSAPP_SEND_TEMPLATE_MESSAGE") {
			t.Errorf("replica %d: outside-window message: %+v", i, out)
		}
		if unknown.Known || unknown.Note == "" {
			t.Errorf("replica %d: unknown id: %+v", i, unknown)
		}
		for j, m := range ms.Messages[2:] {
			if m.MessageID != r.inside[j] || m.Status != "read" || !m.Delivered || len(m.History) != 3 || m.RecipientID != "16505551234" {
				t.Errorf("replica %d: inside-window message %s: %+v", i, r.inside[j], m)
			}
		}
		// The inbound message is stored too: the window check of the send
		// tools relies on it.
		if _, ok, err := st.LastInbound(ctx, sandbox.PhoneNumberID, e2eCustomer); err != nil || !ok {
			t.Errorf("replica %d: the customer's inbound message is not stored (ok=%v, err=%v)", i, ok, err)
		}
	}
	return r
}

// SQLite: the default engine. After the run the server "restarts": the
// events and the poller's cursor survive.
func TestE2ESandboxToTriggerSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r := e2eRun(t, []store.Store{st})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = ttOpenAt(t, path)
	tl := ttTool(t, st, ttTrigger)
	if d := ttPoll(t, tl, map[string]any{"phone_number_id": sandbox.PhoneNumberID, "cursor": r.cursor}); len(d.Events) != 0 {
		t.Fatalf("after the restart the old cursor repeated %v", ttKeys(d.Events))
	}
	d := ttPoll(t, tl, map[string]any{"phone_number_id": sandbox.PhoneNumberID, "max_results": 100})
	if got := ttKeys(d.Events); !slices.Equal(got, r.keys) {
		t.Fatalf("after the restart, from the start:\n got %v\nwant %v", got, r.keys)
	}
}

// PostgreSQL: two replicas (two Store instances, two receivers) on one
// database; webhooks alternate between them, so each duplicate lands on the
// other replica, and one poller alternates too, carrying one cursor.
func TestE2ESandboxToTriggerPostgresReplicas(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	r := e2eRun(t, []store.Store{ttOpenAt(t, dsn), ttOpenAt(t, dsn)})

	// A third replica started later continues from the same cursor.
	late := ttOpenAt(t, dsn)
	if d := ttPoll(t, ttTool(t, late, ttTrigger), map[string]any{"phone_number_id": sandbox.PhoneNumberID, "cursor": r.cursor}); len(d.Events) != 0 {
		t.Fatalf("a new replica repeated %v", ttKeys(d.Events))
	}
}
