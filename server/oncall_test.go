package server_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// TestOnCall: Options.OnCall hears every call that ran, with its envelope
// (a panic as the failed envelope the caller got) and its duration.
func TestOnCall(t *testing.T) {
	type heard struct {
		tool string
		ok   bool
		kind tools.ErrorKind
		d    time.Duration
	}
	var (
		mu  sync.Mutex
		got []heard
	)
	s := newServer(t, server.Options{OnCall: func(tool string, res tools.Result, d time.Duration) {
		mu.Lock()
		got = append(got, heard{tool, res.Successful, res.Kind, d})
		mu.Unlock()
	}})
	for _, c := range []struct{ tool, args string }{
		{"TEST_ECHO", `{"text":"hi"}`},
		{"TEST_ECHO", `{}`},
		{"TEST_PANIC", `{}`},
		{"TEST_SLEEP", `{"millis":20}`},
	} {
		if _, err := s.Call(context.Background(), c.tool, json.RawMessage(c.args)); err != nil {
			t.Fatal(err)
		}
	}
	want := []heard{
		{"TEST_ECHO", true, "", 0},
		{"TEST_ECHO", false, tools.KindInvalidInput, 0},
		{"TEST_PANIC", false, tools.KindFailed, 0},
		{"TEST_SLEEP", true, "", 20 * time.Millisecond},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("heard %d calls, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.tool != w.tool || g.ok != w.ok || g.kind != w.kind || g.d < w.d {
			t.Errorf("call %d: heard %+v, want %+v (duration at least %v)", i, g, w, w.d)
		}
	}
}
