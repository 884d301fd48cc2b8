package graph_test

import (
	"context"
	"sync"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// TestObserver: WithObserver hears every attempt, retries included, with
// the status, Meta's code and whether a retry follows.
func TestObserver(t *testing.T) {
	type seen struct {
		method         string
		status, code   int
		number         int
		retrying, took bool
	}
	var (
		mu  sync.Mutex
		got []seen
	)
	f := graphtest.New(t, nil)
	throttled := graphtest.Reply(400, graphtest.MetaError(graph.CodeThroughput, 0, ""))
	f.Route("GET /v25.0/1", graphtest.Sequence(throttled, throttled, graphtest.Reply(200, `{"id":"1"}`)))
	f.Route("POST /v25.0/2/messages", graphtest.Reply(400, graphtest.MetaError(graph.CodeInvalidParameter, 0, "")))
	f.Route("GET /v25.0/3", graphtest.DropConnection)
	c := f.NewClient(t, graph.WithObserver(func(a graph.Attempt) {
		mu.Lock()
		got = append(got, seen{a.Method, a.Status, a.Code, a.Number, a.Retrying, a.Duration > 0})
		mu.Unlock()
	}))
	ctx := context.Background()
	if _, _, err := c.GetObject(ctx, "1", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SendMessage(ctx, "2", textMessage()); err == nil {
		t.Fatal("the send succeeded")
	}
	if _, _, err := c.GetObject(ctx, "3", nil); err == nil {
		t.Fatal("the dropped read succeeded")
	}
	want := []seen{
		{"GET", 400, graph.CodeThroughput, 1, true, true},
		{"GET", 400, graph.CodeThroughput, 2, true, true},
		{"GET", 200, 0, 3, false, true},
		{"POST", 400, graph.CodeInvalidParameter, 1, false, true},
		{"GET", 0, 0, 1, true, true},
		{"GET", 0, 0, 2, true, true},
		{"GET", 0, 0, 3, false, true},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("observed %d attempts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("attempt %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
