package graph_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// BenchmarkSendMessage: one send through the client with its default
// transport, against a loopback server answering at once: the client's own
// cost per call (building the request, the round trip, decoding the
// answer).
//
//	go test -run '^$' -bench SendMessage -benchmem ./graph/
func BenchmarkSendMessage(b *testing.B) {
	srv := httptest.NewServer(graphtest.Reply(200, sendOK))
	defer srv.Close()
	c, err := graph.NewClient(graphtest.Token, graph.WithBaseURL(srv.URL+"/"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m := &graph.Message{To: "+16505551234", Type: "text", Text: &graph.Text{Body: "Your order has shipped!"}}
		if _, _, err := c.SendMessage(ctx, pnID, m); err != nil {
			b.Fatal(err)
		}
	}
}

// answerRT answers every request with sendOK, without a network: what the
// client itself costs per call.
type answerRT struct{}

func (answerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(sendOK)), ContentLength: int64(len(sendOK)), Request: r}, nil
}

// BenchmarkSendMessageClient: the client's own work per send (the request,
// the retry wrapper, decoding the answer), with a transport that answers
// in memory.
func BenchmarkSendMessageClient(b *testing.B) {
	c, err := graph.NewClient(graphtest.Token, graph.WithHTTPClient(&http.Client{Transport: answerRT{}}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m := &graph.Message{To: "+16505551234", Type: "text", Text: &graph.Text{Body: "Your order has shipped!"}}
		if _, _, err := c.SendMessage(ctx, pnID, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendMessageParallel: 32 concurrent senders through one client
// with its default transport (the HTTP server's concurrency): connections
// are kept alive for all of them, not redialled.
func BenchmarkSendMessageParallel(b *testing.B) {
	srv := httptest.NewServer(graphtest.Reply(200, sendOK))
	defer srv.Close()
	c, err := graph.NewClient(graphtest.Token, graph.WithBaseURL(srv.URL+"/"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(16) // 16 × GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := &graph.Message{To: "+16505551234", Type: "text", Text: &graph.Text{Body: "Your order has shipped!"}}
			if _, _, err := c.SendMessage(context.Background(), pnID, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
