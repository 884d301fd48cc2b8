package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkStdioSend: the whole product in this process: `whatsapp-mcp
// stdio` (flags, catalog, server) over pipes, sequential
// WHATSAPP_SEND_MESSAGE calls, each answered before the next is sent, its
// Graph API a loopback server answering at once. The harness measures the
// same end to end with processes (go run ./cmd/whatsapp-bench -only stdio).
//
//	go test -run '^$' -bench StdioSend -benchmem ./cmd/whatsapp-mcp/
func BenchmarkStdioSend(b *testing.B) {
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="}]}`)
	}))
	defer graph.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"stdio", "--graph-url", graph.URL, "--log-level", "warn"},
			envOf(map[string]string{"WHATSAPP_ACCESS_TOKEN": testToken}), inR, outW, io.Discard)
		outW.Close()
	}()
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
	const call = `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"WHATSAPP_SEND_MESSAGE","arguments":{"to_number":"+16505551234","phone_number_id":"` + testPhone + `","text":"Your order has shipped!"}}}`
	b.ReportAllocs()
	id := 1
	for b.Loop() {
		roundTrip(fmt.Sprintf(call, id))
		id++
	}
	b.StopTimer()
	inW.Close()
	if code := <-done; code != exitOK {
		b.Fatalf("exit status %d", code)
	}
}
