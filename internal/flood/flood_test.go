package flood_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/flood"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

var plan = flood.Plan{Events: 2000, WABAIDs: []string{"102290129340398", "102290129340399"},
	Phones: []string{"106540352242922", "106540352242933"}, Prefix: "t", Seed: 7}

// TestPlanBodies: the receiver's own parser reads every body into exactly
// the events the plan says it carries, each event is in one body only, and
// every shape occurs.
func TestPlanBodies(t *testing.T) {
	bodies := plan.Bodies()
	seen := map[string]bool{}
	shapes := map[string]int{}
	kinds := map[flood.Kind]int{}
	for i, b := range bodies {
		shapes[b.Shape]++
		batch, err := triggers.ParsePayload(b.Payload)
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		if len(batch.Changes)+len(batch.Outbound) > 0 || len(b.Events) == 0 {
			t.Fatalf("body %d (%s) carries %d changes, %d echoes, %d events: %s", i, b.Shape, len(batch.Changes), len(batch.Outbound), len(b.Events), b.Payload)
		}
		var parsed []string
		for _, s := range batch.Statuses {
			parsed = append(parsed, flood.Event{Kind: flood.Status, PhoneNumberID: s.PhoneNumberID, MessageID: s.MessageID, Status: s.Status}.Key())
		}
		for _, m := range batch.Inbound {
			parsed = append(parsed, flood.Event{Kind: flood.Inbound, PhoneNumberID: m.PhoneNumberID, MessageID: m.MessageID}.Key())
			if m.From == "" || m.ProfileName == "" || m.Text == "" {
				t.Errorf("body %d: inbound message read as %+v", i, m)
			}
		}
		var want []string
		for _, e := range b.Events {
			want = append(want, e.Key())
			kinds[e.Kind]++
			if seen[e.Key()] {
				t.Fatalf("%s is in two bodies", e.Key())
			}
			seen[e.Key()] = true
		}
		slices.Sort(parsed)
		slices.Sort(want)
		if !slices.Equal(parsed, want) {
			t.Fatalf("body %d (%s) parses as %v, the plan says %v", i, b.Shape, parsed, want)
		}
	}
	if len(seen) != plan.Events {
		t.Errorf("%d events, want %d", len(seen), plan.Events)
	}
	for _, s := range flood.Shapes {
		if shapes[s] == 0 {
			t.Errorf("no %s body", s)
		}
	}
	if kinds[flood.Status] == 0 || kinds[flood.Inbound] == 0 {
		t.Errorf("kinds: %v", kinds)
	}
	if again := plan.Bodies(); len(again) != len(bodies) || string(again[len(again)-1].Payload) != string(bodies[len(bodies)-1].Payload) {
		t.Error("one seed gave two floods")
	}
	t.Logf("%d events in %d bodies: %v, %v", len(seen), len(bodies), shapes, kinds)
}

// TestSenderRetriesUntil200: a receiver that answers 500, drops the
// connection before or after storing, and is down a while, still ends
// with every body acknowledged, and nothing counted as acknowledged that
// it did not store.
func TestSenderRetriesUntil200(t *testing.T) {
	const secret = "flood-test-secret"
	var (
		mu     sync.Mutex
		stored = map[string]int{}
		rng    = rand.New(rand.NewPCG(1, 2))
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if triggers.VerifySignature(secret, body, r.Header.Get(cloudapi.SignatureHeader)) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		batch, err := triggers.ParsePayload(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		roll := rng.Float64()
		store := roll >= 0.3 // below: 500 or a drop before storing
		if store {
			for _, s := range batch.Statuses {
				stored[flood.Event{Kind: flood.Status, PhoneNumberID: s.PhoneNumberID, MessageID: s.MessageID, Status: s.Status}.Key()]++
			}
			for _, m := range batch.Inbound {
				stored[flood.Event{Kind: flood.Inbound, PhoneNumberID: m.PhoneNumberID, MessageID: m.MessageID}.Key()]++
			}
		}
		mu.Unlock()
		switch {
		case roll < 0.15:
			http.Error(w, "temporarily unavailable", http.StatusInternalServerError)
		case roll < 0.4: // before (0.15–0.3) or after (0.3–0.4) storing: no answer at all
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()

	// Down for a while: a port nothing listens on, as a killed receiver's.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	var down atomic.Bool
	s := &flood.Sender{AppSecret: secret, Redeliver: 0.1, Seed: 3, URL: func() string {
		if down.Load() {
			return dead
		}
		return srv.URL
	}}
	bodies := flood.Plan{Events: 1000, Phones: plan.Phones, Seed: 9}.Bodies()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() {
		for s.AckedBodies() < int64(len(bodies))/3 {
			time.Sleep(time.Millisecond)
		}
		down.Store(true)
		time.Sleep(100 * time.Millisecond)
		down.Store(false)
	}()
	if err := s.Run(ctx, bodies); err != nil {
		t.Fatalf("Run: %v; %v", err, s.Stats())
	}
	st := s.Stats()
	t.Logf("%v", st)
	if st.Bodies != int64(len(bodies)) || st.Events != len(flood.Events(bodies)) {
		t.Errorf("acknowledged %d bodies, %d events; sent %d, %d", st.Bodies, st.Events, len(bodies), len(flood.Events(bodies)))
	}
	if st.Refused == 0 || st.Cut == 0 || st.Answers[500] == 0 || st.Redelivered == 0 || st.Answers[401]+st.Answers[400] > 0 {
		t.Errorf("the receiver's faults are not all in the figures: %v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range s.Acked() {
		if stored[e.Key()] == 0 {
			t.Fatalf("%s acknowledged, never stored", e.Key())
		}
	}
	if len(stored) != st.Events {
		t.Errorf("the receiver stored %d events, %d were acknowledged", len(stored), st.Events)
	}
}
