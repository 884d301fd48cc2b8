package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

func TestFaultThrottle(t *testing.T) {
	e := newEnv(t, sandbox.Config{Faults: sandbox.Faults{ThrottleRate: 1}}, true)
	r := e.send(t, tmpl(customer, "hello_world", "en_US"))
	wantError(t, r, 400, 130429, 2494055)
	if r.errField("message") != "(#130429) Rate limit hit" {
		t.Errorf("message: %s", r.raw)
	}
	if ed, _ := r.errField("error_data").(map[string]any); ed["messaging_product"] != "whatsapp" || ed["details"] == "" {
		t.Errorf("error_data: %s", r.raw)
	}
	wantError(t, e.do(t, http.MethodPost, tplPath, newTemplate("throttled", "en_US")), 400, 130429, 2494055)

	e.sb.SetFaults(sandbox.Faults{})
	if n := len(e.sb.SentMessages()); n != 0 {
		t.Errorf("throttled send recorded %d messages", n)
	}
	if r := e.get(t, tplPath+"?name_or_content=throttled"); len(r.body["data"].([]any)) != 0 {
		t.Errorf("throttled create executed: %s", r.raw)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.rcv.bodies()); n != 0 {
		t.Errorf("throttled send produced %d webhooks", n)
	}
	if r := e.send(t, tmpl(customer, "hello_world", "en_US")); r.status != 200 {
		t.Errorf("after clearing faults: %d", r.status)
	}
}

func TestFaultServerError(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, true)
	e.sb.SetFaults(sandbox.Faults{ServerErrorRate: 1})
	for range 6 {
		r := e.send(t, tmpl(customer, "hello_world", "en_US"))
		code, _, _ := r.errCode()
		if !(r.status == 500 && code == 131000) && !(r.status == 503 && code == 2) {
			t.Errorf("got %d code %d: %s", r.status, code, r.raw)
		}
		if r.errField("is_transient") != true {
			t.Errorf("not transient: %s", r.raw)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if len(e.sb.SentMessages()) != 0 || len(e.rcv.bodies()) != 0 {
		t.Errorf("failed sends executed")
	}
}

func TestFaultDrop(t *testing.T) {
	e := newEnv(t, sandbox.Config{Faults: sandbox.Faults{DropRate: 1}}, false)
	j, _ := json.Marshal(tmpl(customer, "hello_world", "en_US"))
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+v+"/"+sandbox.PhoneNumberID+"/messages", bytes.NewReader(j))
	req.Header.Set("Authorization", "Bearer "+sandbox.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("dropped request answered %d: %s", res.StatusCode, b)
	}
	if len(e.sb.SentMessages()) != 0 {
		t.Errorf("dropped send executed")
	}
	if e.sb.RequestCount() != 1 {
		t.Errorf("RequestCount = %d", e.sb.RequestCount())
	}
	// Sandbox routes are not subject to faults.
	if r := e.get(t, "/sandbox"); r.status != 200 {
		t.Errorf("/sandbox under DropRate: %d", r.status)
	}
}

func TestFaultLatency(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	// Rates are clamped to [0,1]: a negative rate means never.
	e.sb.SetFaults(sandbox.Faults{Latency: 50 * time.Millisecond, ThrottleRate: -1})
	start := time.Now()
	if r := e.get(t, v+"/"+sandbox.PhoneNumberID); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered after %v, want at least 50ms", d)
	}
}
