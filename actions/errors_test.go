package actions_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// TestWABARequired: the four WABA-keyed tools say what to configure and
// send nothing when no WABA id is set.
func TestWABARequired(t *testing.T) {
	for _, name := range []string{"WHATSAPP_CREATE_MESSAGE_TEMPLATE", "WHATSAPP_DELETE_MESSAGE_TEMPLATE",
		"WHATSAPP_GET_MESSAGE_TEMPLATES", "WHATSAPP_GET_PHONE_NUMBERS"} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			d.WABAID = ""
			res := call(t, d, name, bases[name])
			if res.Successful || !strings.Contains(res.Error, "WHATSAPP_WABA_ID") {
				t.Errorf("res = %s", res.JSON())
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
	t.Run("tools keyed on other ids work without it", func(t *testing.T) {
		for _, name := range []string{"WHATSAPP_GET_PHONE_NUMBER", "WHATSAPP_GET_TEMPLATE_STATUS", "WHATSAPP_SEND_MESSAGE"} {
			f := newFake(t)
			d := newDeps(t, f)
			d.WABAID = ""
			if res := call(t, d, name, bases[name]); !res.Successful {
				t.Errorf("%s: %s", name, res.Error)
			}
		}
	})
}

// TestGraphErrorsThroughTools: what a model reads when Meta refuses.
func TestGraphErrorsThroughTools(t *testing.T) {
	tests := []struct {
		name   string
		tool   string
		route  string
		status int
		body   string
		want   []string
		code   float64
	}{
		{"131047 outside the window", "WHATSAPP_SEND_MESSAGE", "POST " + sendPath, 400, metaError(131047, 0),
			[]string{"131047", "24 hours", "template", "WHATSAPP_SEND_TEMPLATE_MESSAGE", "FBTRACE131047", "details of 131047"}, 131047},
		{"132001 template missing", "WHATSAPP_SEND_TEMPLATE_MESSAGE", "POST " + sendPath, 404, metaError(132001, 0),
			[]string{"132001", "HTTP 404", "APPROVED", "language", "FBTRACE132001"}, 132001},
		{"190 token expired", "WHATSAPP_GET_PHONE_NUMBER", "GET /v25.0/" + pnID, 401, metaError(190, 0),
			[]string{"190", "expired", "WHATSAPP_ACCESS_TOKEN", "FBTRACE190"}, 190},
		{"100/33 unknown object", "WHATSAPP_GET_TEMPLATE_STATUS", "GET /v25.0/" + templateID, 400, metaError(100, 33),
			[]string{"100", "subcode 33", "does not exist", "FBTRACE100"}, 100},
		{"131053 media", "WHATSAPP_SEND_MEDIA", "POST " + sendPath, 400, metaError(131053, 0),
			[]string{"131053", "MIME", "FBTRACE131053"}, 131053},
		{"132000 parameter count", "WHATSAPP_SEND_TEMPLATE_MESSAGE", "POST " + sendPath, 400, metaError(132000, 0),
			[]string{"132000", "components"}, 132000},
		{"upload rejected", "WHATSAPP_UPLOAD_MEDIA", "POST /v25.0/" + pnID + "/media", 400, metaError(131053, 0),
			[]string{"131053"}, 131053},
	}
	args := map[string]string{
		"WHATSAPP_UPLOAD_MEDIA": `{"phone_number_id":"` + pnID + `","media_type":"document","file_to_upload":{"name":"a.txt","content":"aGk="}}`,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.Route(tt.route, graphtest.Reply(tt.status, tt.body))
			a := bases[tt.tool]
			if args[tt.tool] != "" {
				a = args[tt.tool]
			}
			res := call(t, newDeps(t, f), tt.tool, a)
			if res.Successful {
				t.Fatalf("succeeded: %s", res.JSON())
			}
			for _, w := range tt.want {
				if !strings.Contains(res.Error, w) {
					t.Errorf("error lacks %q:\n%s", w, res.Error)
				}
			}
			if strings.Contains(string(res.JSON()), graphtest.Token) {
				t.Error("the access token leaked into the result")
			}
			data := dataOf(t, res)
			if data["code"] != tt.code || data["fbtrace_id"] == nil || data["http_status"] != float64(tt.status) {
				t.Errorf("data = %v", data)
			}
			if n := len(f.Requests()); n != 1 {
				t.Errorf("%d requests, want 1 (not retried)", n)
			}
		})
	}
}

func TestSendRetriedOnThrottling(t *testing.T) {
	f := newFake(t)
	f.Route("POST "+sendPath, graphtest.Sequence(graphtest.Reply(400, metaError(130429, 0)), sendAnswer))
	res := call(t, newDeps(t, f), "WHATSAPP_SEND_MESSAGE", textArgs)
	if !res.Successful {
		t.Fatal(res.Error)
	}
	if n := len(f.Requests()); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
	checkSubset(t, dataOf(t, res), `{"message_id":"`+wamid+`"}`)
}

func TestSendNotRetriedOn500(t *testing.T) {
	f := newFake(t)
	f.Route("POST "+sendPath, graphtest.Reply(500, metaError(131000, 0)))
	res := call(t, newDeps(t, f), "WHATSAPP_SEND_MESSAGE", textArgs)
	if res.Successful || !strings.Contains(res.Error, "131000") {
		t.Errorf("res = %s", res.JSON())
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestSendConnectionDropped(t *testing.T) {
	f := newFake(t)
	f.Route("POST "+sendPath, graphtest.DropConnection)
	res := call(t, newDeps(t, f), "WHATSAPP_SEND_MESSAGE", textArgs)
	if res.Successful || !strings.Contains(strings.ToLower(res.Error), "may have been sent") {
		t.Errorf("res = %s", res.JSON())
	}
	if data := dataOf(t, res); data["may_have_been_sent"] != true {
		t.Errorf("data = %v", data)
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("requests = %d, want exactly 1: never resent", n)
	}
}

func TestReadRetriedOnDrop(t *testing.T) {
	f := newFake(t)
	f.Route("GET /v25.0/"+pnID, graphtest.Sequence(graphtest.DropConnection, graphtest.Reply(200, phoneJSON)))
	res := call(t, newDeps(t, f), "WHATSAPP_GET_PHONE_NUMBER", bases["WHATSAPP_GET_PHONE_NUMBER"])
	if !res.Successful {
		t.Fatal(res.Error)
	}
	if n := len(f.Requests()); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

// fakeWindow is the webhook store's view of when a customer last wrote.
type fakeWindow struct {
	mu    sync.Mutex
	last  time.Time
	ok    bool
	err   error
	calls []string
}

func (w *fakeWindow) LastInbound(ctx context.Context, phoneNumberID, waID string) (time.Time, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, phoneNumberID+"/"+waID)
	return w.last, w.ok, w.err
}

// TestWindowWarning: free-form sends warn when the customer is known not to
// have written in 24 hours; templates never do; the send happens anyway.
func TestWindowWarning(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	freeForm := []string{"WHATSAPP_SEND_MESSAGE", "WHATSAPP_SEND_REPLY", "WHATSAPP_SEND_MEDIA", "WHATSAPP_SEND_MEDIA_BY_ID",
		"WHATSAPP_SEND_LOCATION", "WHATSAPP_SEND_CONTACTS", "WHATSAPP_SEND_INTERACTIVE_BUTTONS", "WHATSAPP_SEND_INTERACTIVE_LIST",
		"WHATSAPP_SEND_REACTION"}
	tests := []struct {
		name   string
		window *fakeWindow // nil: no store
		warn   bool
		phrase string
	}{
		{"never wrote", &fakeWindow{}, true, "never written"},
		{"wrote 2 hours ago", &fakeWindow{last: now.Add(-2 * time.Hour), ok: true}, false, ""},
		{"wrote 23h59m ago", &fakeWindow{last: now.Add(-24*time.Hour + time.Minute), ok: true}, false, ""},
		{"wrote 24h01m ago", &fakeWindow{last: now.Add(-24*time.Hour - time.Minute), ok: true}, true, "more than 24 hours ago"},
		{"wrote 30 hours ago", &fakeWindow{last: now.Add(-30 * time.Hour), ok: true}, true, "more than 24 hours ago"},
		{"store error: no warning", &fakeWindow{err: errors.New("db down")}, false, ""},
		{"no store", nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			if tt.window != nil {
				d.Window = tt.window
			}
			for _, name := range append(freeForm, "WHATSAPP_SEND_TEMPLATE_MESSAGE") {
				f.Reset()
				res := call(t, d, name, bases[name])
				if !res.Successful {
					t.Fatalf("%s: %s", name, res.Error)
				}
				if n := len(f.Requests()); n != 1 {
					t.Errorf("%s: %d requests: the warning must not block the send", name, n)
				}
				want := tt.warn && name != "WHATSAPP_SEND_TEMPLATE_MESSAGE"
				if got := len(res.Warnings) > 0; got != want {
					t.Errorf("%s: warnings = %v, want present=%v", name, res.Warnings, want)
					continue
				}
				if want {
					w := res.Warnings[0]
					for _, p := range []string{tt.phrase, "131047", "WHATSAPP_SEND_TEMPLATE_MESSAGE", toNorm} {
						if !strings.Contains(w, p) {
							t.Errorf("%s: warning lacks %q: %s", name, p, w)
						}
					}
					if env := envelope(t, res); env["warnings"] == nil {
						t.Errorf("%s: warnings missing from the envelope JSON", name)
					}
				}
			}
			if tt.window != nil {
				for _, c := range tt.window.calls {
					if c != pnID+"/16505551234" {
						t.Errorf("LastInbound called with %s, want %s/16505551234 (wa_id without +)", c, pnID)
					}
				}
			}
		})
	}
}
