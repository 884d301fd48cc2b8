package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
)

// The benchmarks of a whole tools/call inside the process, on the test
// catalog's TEST_SEND (decode, validate, a handler that adds a warning, the
// envelope): what the server itself spends per call, without a Graph API.
//
//	go test -run '^$' -bench 'ToolsCall|Stdio' -benchmem ./server/

const benchCall = `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"TEST_SEND","arguments":{"text":"Your order 4711 has shipped! It will reach +1 650 555 1234 by Friday; reply STOP to opt out of updates."}}}`

// BenchmarkToolsCall: mcp-go's HandleMessage with our handler, and the
// encoding of its answer, as a transport does.
func BenchmarkToolsCall(b *testing.B) {
	s, err := server.New(testCatalog(), server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	msg := json.RawMessage(fmt.Sprintf(benchCall, 7))
	b.ReportAllocs()
	for b.Loop() {
		resp := s.MCP().HandleMessage(ctx, msg)
		if _, err := json.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdio: one stdio session, sequential tools/call requests, each
// answered before the next is sent (as the harness's stdio figure does).
func BenchmarkStdio(b *testing.B) {
	s, err := server.New(testCatalog(), server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.ServeStdio(context.Background(), inR, outW); outW.Close() }()
	out := bufio.NewReader(outR)
	roundTrip := func(msg string) {
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			b.Fatal(err)
		}
		if _, err := out.ReadBytes('\n'); err != nil {
			b.Fatal(err)
		}
	}
	roundTrip(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}`)
	if _, err := io.WriteString(inW, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	id := 1
	for b.Loop() {
		roundTrip(fmt.Sprintf(benchCall, id))
		id++
	}
	b.StopTimer()
	inW.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkHTTPToolsCall: a tools/call POSTed to /mcp of an initialized
// session, served in memory (no network): the HTTP surface's own cost
// (guard, body, mcp-go's streamable transport, the call, the answer).
func BenchmarkHTTPToolsCall(b *testing.B) {
	s, err := server.New(testCatalog(), server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := s.HTTPHandler()
	post := func(body, session string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			r.Header.Set("Mcp-Session-Id", session)
			r.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}`, "")
	session := w.Header().Get("Mcp-Session-Id")
	if session == "" {
		b.Fatalf("no session: %d %s", w.Code, w.Body)
	}
	post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, session)
	body := fmt.Sprintf(benchCall, 7)
	b.ReportAllocs()
	for b.Loop() {
		if w := post(body, session); w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
