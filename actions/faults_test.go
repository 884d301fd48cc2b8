package actions_test

// Graph faults at the tool level (issue 12), on the emulator (sandbox),
// counted by it: a send whose answer is lost is made once and says it may
// have been sent; throttled sends are retried into exactly one message each;
// a Graph API that never answers fails the call at the caller's deadline.
// graph/faults_test.go has the client-level figures.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// faultsDeps wires the tools to a fresh emulator whose customer (toNorm)
// has written, so free-form sends are delivered; faults start after that.
func faultsDeps(t *testing.T, f sandbox.Faults) (*actions.Deps, *sandbox.Sandbox) {
	t.Helper()
	sb := sandbox.New(sandbox.Config{})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = sb.Close() })
	if _, err := sb.Inbound(context.Background(), sandbox.PhoneNumberID, toNorm, "Ann", "hi"); err != nil {
		t.Fatal(err)
	}
	c, err := graph.NewClient(sandbox.DefaultToken, graph.WithBaseURL(srv.URL), graph.WithHTTPClient(srv.Client()),
		graph.WithRetry(graph.RetryPolicy{MaxAttempts: graph.DefaultRetryPolicy.MaxAttempts, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	sb.SetFaults(f)
	return &actions.Deps{Graph: c, WABAID: sandbox.WABAID, MediaDir: t.TempDir()}, sb
}

func faultsCall(t *testing.T, d *actions.Deps, timeout time.Duration, name, args string) tools.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return findTool(t, d, name).Call(ctx, json.RawMessage(args))
}

// TestFaultsSendLostAnswer: WHATSAPP_SEND_MESSAGE whose connection drops
// after the request was written makes one request, whether the emulator
// executed it (the message is sent) or not, and says it may have been sent.
func TestFaultsSendLostAnswer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		faults   sandbox.Faults
		executed int
	}{
		{"executed, answer lost", sandbox.Faults{LostAnswerRate: 1}, 1},
		{"read, not executed", sandbox.Faults{DropRate: 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, sb := faultsDeps(t, tc.faults)
			res := faultsCall(t, d, 10*time.Second, "WHATSAPP_SEND_MESSAGE", textArgs)
			if res.Successful || res.Kind != tools.KindOutcomeUnknown || !strings.Contains(strings.ToLower(res.Error), "may have been sent") {
				t.Errorf("result = %s (kind %s)", res.JSON(), res.Kind)
			}
			if data := dataOf(t, res); data["may_have_been_sent"] != true {
				t.Errorf("data = %v", data)
			}
			if n := sb.RequestCount(); n != 1 {
				t.Errorf("the emulator counted %d requests, want exactly 1: never resent", n)
			}
			if n := len(sb.SentMessages()); n != tc.executed {
				t.Errorf("the emulator sent %d messages, want %d", n, tc.executed)
			}
		})
	}
}

// TestFaultsSendThrottled: with 10 % 130429 answers every send succeeds
// after its retries, and the emulator sent each message exactly once, under
// the id the tool returned.
func TestFaultsSendThrottled(t *testing.T) {
	const sends = 60
	d, sb := faultsDeps(t, sandbox.Faults{ThrottleRate: 0.1, Seed: 5})
	ids := map[string]bool{}
	for i := range sends {
		res := faultsCall(t, d, 10*time.Second, "WHATSAPP_SEND_MESSAGE", merge(textArgs, "text", fmt.Sprintf("message %d", i)))
		if !res.Successful {
			t.Fatalf("send %d: %s", i, res.Error)
		}
		id, _ := dataOf(t, res)["message_id"].(string)
		ids[id] = true
	}
	sent := sb.SentMessages()
	fc := sb.FaultCounts()
	t.Logf("%d sends: %d requests counted by the emulator, %d answered 130429, %d messages sent", sends, sb.RequestCount(), fc.Throttled, len(sent))
	if fc.Throttled == 0 || sb.RequestCount() != int64(sends)+fc.Throttled {
		t.Errorf("the emulator counted %d requests and %d throttles for %d sends", sb.RequestCount(), fc.Throttled, sends)
	}
	if len(sent) != sends {
		t.Errorf("the emulator sent %d messages, want %d", len(sent), sends)
	}
	for _, m := range sent {
		if !ids[m.ID] {
			t.Errorf("the emulator sent %s, which no tool result returned", m.ID)
		}
		delete(ids, m.ID)
	}
}

// TestFaultsHang: a Graph API that never answers fails the tool call at the
// caller's deadline: a read says it timed out, a send that it may have been
// sent.
func TestFaultsHang(t *testing.T) {
	d, sb := faultsDeps(t, sandbox.Faults{HangRate: 1})
	const deadline = 300 * time.Millisecond
	for _, tc := range []struct {
		tool, args, want string
		kind             tools.ErrorKind
	}{
		{"WHATSAPP_GET_PHONE_NUMBER", bases["WHATSAPP_GET_PHONE_NUMBER"], "deadline exceeded", tools.KindUnavailable},
		{"WHATSAPP_SEND_MESSAGE", textArgs, "may have been sent", tools.KindOutcomeUnknown},
	} {
		start := time.Now()
		res := faultsCall(t, d, deadline, tc.tool, tc.args)
		took := time.Since(start)
		t.Logf("%s after %v: %s", tc.tool, took.Round(time.Millisecond), res.Error)
		if res.Successful || res.Kind != tc.kind || !strings.Contains(strings.ToLower(res.Error), tc.want) {
			t.Errorf("%s: result = %s (kind %s), want %s mentioning %q", tc.tool, res.JSON(), res.Kind, tc.kind, tc.want)
		}
		// Not a speed assertion: a bound far above the deadline that a call
		// left to the 30 s per-attempt timeout would break.
		if took < deadline || took > deadline+10*time.Second {
			t.Errorf("%s returned after %v, deadline %v", tc.tool, took, deadline)
		}
		if strings.Contains(res.Error, graphtest.Token) || strings.Contains(res.Error, sandbox.DefaultToken) {
			t.Errorf("%s: the token is in the error", tc.tool)
		}
	}
	if fc := sb.FaultCounts(); fc.Hung != 2 || len(sb.SentMessages()) != 0 {
		t.Errorf("the emulator counted %d hung requests and sent %d messages, want 2 and 0", fc.Hung, len(sb.SentMessages()))
	}
}
