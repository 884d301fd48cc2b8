package graph_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// TestDefaultTransportKeepsConnections: a client given no HTTP client
// keeps a connection per concurrent caller alive between calls, instead of
// closing and redialling them (Go's default transport keeps 2 per host).
func TestDefaultTransportKeepsConnections(t *testing.T) {
	var dials atomic.Int64
	srv := httptest.NewUnstartedServer(graphtest.Reply(200, sendOK))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := graph.NewClient(graphtest.Token, graph.WithBaseURL(srv.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	const callers, calls = 16, 100
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range calls {
				if _, _, err := c.SendMessage(context.Background(), pnID, &graph.Message{To: "+16505551234", Type: "text", Text: &graph.Text{Body: "hi"}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := dials.Load(); n > 2*callers {
		t.Errorf("%d connections for %d concurrent callers making %d calls each: connections are not kept alive", n, callers, calls)
	}
}
