package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

// faultsRaw makes one Graph request with its own context and returns the
// status, or the transport's error when no answer came.
func faultsRaw(ctx context.Context, e *env, method, path string, body any) (int, error) {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+sandbox.DefaultToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// TestFaultLostAnswer: the send is executed (recorded, its webhooks sent),
// then the connection closes without the answer.
func TestFaultLostAnswer(t *testing.T) {
	e := newEnv(t, sandbox.Config{Faults: sandbox.Faults{LostAnswerRate: 1}}, true)
	status, err := faultsRaw(context.Background(), e, http.MethodPost, v+"/"+sandbox.PhoneNumberID+"/messages", tmpl(customer, "hello_world", "en_US"))
	if err == nil {
		t.Fatalf("lost answer came back: HTTP %d", status)
	}
	sent := e.sb.SentMessages()
	if len(sent) != 1 {
		t.Fatalf("executed sends = %d, want 1", len(sent))
	}
	waitFor(t, "the sent status webhook of the executed send", func() bool { return len(e.rcv.statusesOf(sent[0].ID)) > 0 })
	if got := e.sb.FaultCounts(); got != (sandbox.FaultCounts{LostAnswers: 1}) {
		t.Errorf("FaultCounts = %+v", got)
	}
	if e.sb.RequestCount() != 1 {
		t.Errorf("RequestCount = %d", e.sb.RequestCount())
	}
}

// TestFaultHang: a hung request is never answered; the client's deadline
// ends it, and the sandbox answers again once the fault is cleared.
func TestFaultHang(t *testing.T) {
	e := newEnv(t, sandbox.Config{Faults: sandbox.Faults{HangRate: 1}}, false)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	status, err := faultsRaw(ctx, e, http.MethodGet, v+"/"+sandbox.PhoneNumberID, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung request: HTTP %d, err %v; want the client's deadline", status, err)
	}
	if got := e.sb.FaultCounts(); got != (sandbox.FaultCounts{Hung: 1}) {
		t.Errorf("FaultCounts = %+v", got)
	}
	e.sb.SetFaults(sandbox.Faults{})
	if r := e.get(t, v+"/"+sandbox.PhoneNumberID); r.status != 200 {
		t.Errorf("after clearing the hang: %d", r.status)
	}
}

// TestFaultSeed: with a Seed, one goroutine's requests get the same faults on
// every run, and FaultCounts counts the faulted answers.
func TestFaultSeed(t *testing.T) {
	run := func(seed uint64) []int {
		e := newEnv(t, sandbox.Config{Faults: sandbox.Faults{ServerErrorRate: 0.2, ThrottleRate: 0.125, Seed: seed}}, false)
		var statuses []int
		var fivexx, throttled int64
		for range 200 {
			r := e.get(t, v+"/"+sandbox.PhoneNumberID)
			statuses = append(statuses, r.status)
			code, _, _ := r.errCode()
			switch {
			case r.status >= 500:
				fivexx++
			case code == 130429:
				throttled++
			case r.status != 200:
				t.Fatalf("unexpected answer %d: %s", r.status, r.raw)
			}
		}
		if got := e.sb.FaultCounts(); got != (sandbox.FaultCounts{ServerErrors: fivexx, Throttled: throttled}) {
			t.Errorf("seed %d: FaultCounts = %+v, answers had %d 5xx and %d 130429", seed, got, fivexx, throttled)
		}
		if fivexx == 0 || throttled == 0 {
			t.Errorf("seed %d: %d 5xx and %d 130429 in 200 requests", seed, fivexx, throttled)
		}
		return statuses
	}
	a, b, c := run(12), run(12), run(13)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave different faults")
	}
	if slices.Equal(a, c) {
		t.Error("another seed gave the same 200 faults")
	}
}
