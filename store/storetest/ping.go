package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// testPing: an open store pings (also again, and between saves, which it
// does not disturb); a closed one does not.
func testPing(t *testing.T, open openFunc) {
	s := open()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping %d: %v", i, err)
		}
	}
	saveStatuses(t, s, status(phoneA, "wamid.1", "sent", 1))
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after Save: %v", err)
	}
	wantKeys(t, "after pings", all(t, s, store.Query{PhoneNumberID: phoneA}), []string{"wamid.1/sent"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping of a closed store succeeded")
	}
}
