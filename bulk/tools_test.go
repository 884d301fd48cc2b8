package bulk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/bulk"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/schematest"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// TestSendBulkRefusesBadInput: every offending field is named, and
// nothing is stored (so nothing can be sent).
func TestSendBulkRefusesBadInput(t *testing.T) {
	e := newEnv(t, &meta{}, time.Second)
	res := e.call(context.Background(), "WHATSAPP_SEND_TEMPLATE_BULK", map[string]any{
		"phone_number_id": testPhoneID, "template_name": "hello_world", "rate_per_second": 5000,
		"recipients": []map[string]any{
			{"to_number": "+1 650 555 1234"},
			{"to_number": "6505551234"},        // national: refused by the default policy
			{"to_number": "+1 (650) 555-1234"}, // the first one again
			{"to_number": "+16505550000", "components": []map[string]any{{"type": "body"}}},
			{"to_number": "+16505550009", "components": []map[string]any{{"type": "button", "sub_type": "copy_code", "index": 0,
				"parameters": []map[string]any{{"type": "text", "text": "x"}}}}},
		},
	})
	if res.Successful || res.Kind != tools.KindInvalidInput {
		t.Fatalf("accepted: %+v", res)
	}
	for _, want := range []string{"rate_per_second", "recipients[1].to_number", "recipients[2].to_number", "recipients[0].to_number", "recipients[3].components[0].parameters", "`recipients[4].components[0].parameters` a copy_code button"} {
		if !strings.Contains(res.Error, want) {
			t.Errorf("error does not name %s: %s", want, res.Error)
		}
	}
	if len(e.jobs.jobs) != 0 {
		t.Errorf("a refused bulk send was stored")
	}
	res = e.call(context.Background(), "WHATSAPP_SEND_TEMPLATE_BULK", map[string]any{
		"phone_number_id": testPhoneID, "template_name": "hello_world", "recipients": []map[string]any{}})
	if res.Successful || !strings.Contains(res.Error, "recipients") {
		t.Errorf("no recipients: %+v", res)
	}
	many := make([]map[string]any, bulk.MaxRecipients+1)
	for i, n := range numbers(len(many)) {
		many[i] = map[string]any{"to_number": n}
	}
	res = e.call(context.Background(), "WHATSAPP_SEND_TEMPLATE_BULK", map[string]any{
		"phone_number_id": testPhoneID, "template_name": "hello_world", "recipients": many})
	if res.Successful || !strings.Contains(res.Error, "recipients") || len(e.jobs.jobs) != 0 {
		t.Errorf("1,001 recipients: %+v", res.Error)
	}
}

// TestSendBulkBodies: each recipient's request is the single template
// send's, its own components replacing the shared ones of their slot.
func TestSendBulkBodies(t *testing.T) {
	e := newEnv(t, &meta{}, time.Second)
	shared := []map[string]any{
		{"type": "header", "parameters": []map[string]any{{"type": "text", "text": "Hi"}}},
		{"type": "body", "parameters": []map[string]any{{"type": "text", "text": "everyone"}}},
		{"type": "button", "sub_type": "url", "index": 0, "parameters": []map[string]any{{"type": "text", "text": "a"}}},
		{"type": "button", "sub_type": "url", "index": 1, "parameters": []map[string]any{{"type": "text", "text": "b"}}},
	}
	id := e.send(nil, map[string]any{"language_code": "pt_BR", "components": shared, "recipients": []map[string]any{
		{"to_number": "+16505550001"},
		{"to_number": "+16505550002", "components": []map[string]any{
			{"type": "BODY", "parameters": []map[string]any{{"type": "text", "text": "Ana"}}},
			{"type": "button", "sub_type": "url", "index": 1, "parameters": []map[string]any{{"type": "text", "text": "ana"}}},
		}},
	}})
	rs := e.jobs.recipients(id)
	if len(rs) != 2 || rs[0].To != "+16505550001" || rs[1].To != "+16505550002" {
		t.Fatalf("recipients: %+v", rs)
	}
	one := func(comps []map[string]any, to string) string {
		in := actions.SendTemplateInput{Recipient: actions.Recipient{ToNumber: to}, TemplateName: "hello_world", LanguageCode: "pt_BR"}
		b, _ := json.Marshal(comps)
		if err := json.Unmarshal(b, &in.Components); err != nil {
			t.Fatal(err)
		}
		in.Normalize()
		m := map[string]any{"to": to, "type": "template", "messaging_product": "",
			"template": actions.TemplateMessage(in.TemplateName, string(in.LanguageCode), in.Components)}
		out, _ := json.Marshal(m)
		return string(graphtest.Canonical(t, out))
	}
	own := []map[string]any{shared[0],
		{"type": "body", "parameters": []map[string]any{{"type": "text", "text": "Ana"}}},
		shared[2],
		{"type": "button", "sub_type": "url", "index": 1, "parameters": []map[string]any{{"type": "text", "text": "ana"}}}}
	for i, want := range []string{one(shared, "+16505550001"), one(own, "+16505550002")} {
		if got := graphtest.Canonical(t, rs[i].Body); string(got) != want {
			t.Errorf("recipient %d's body:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestBulkWithoutStore: both tools explain the configuration.
func TestBulkWithoutStore(t *testing.T) {
	for _, tl := range bulk.Tools(&actions.Deps{}, nil) {
		res := tl.Call(context.Background(), tl.Example)
		if res.Successful || !strings.Contains(res.Error, "store") {
			t.Errorf("%s without a store: %+v", tl.Name, res)
		}
	}
}

// TestBulkSchemas: the inputs' schemas say their tags' rules; the
// components' own are WHATSAPP_SEND_TEMPLATE_MESSAGE's schema's.
func TestBulkSchemas(t *testing.T) {
	for _, tl := range bulk.Tools(&actions.Deps{}, nil) {
		var in any = &bulk.GetBulkInput{}
		if tl.Name == "WHATSAPP_SEND_TEMPLATE_BULK" {
			in = &bulk.SendBulkInput{}
		}
		_, problems := schematest.Check(in, tl.InputSchema)
		for _, p := range problems {
			if !strings.Contains(p, "components[") && !strings.Contains(p, "components.") {
				t.Errorf("%s: %s", tl.Name, p)
			}
		}
		if !tl.Annotations.ReadOnly && !tl.Task {
			t.Errorf("%s: not declared as a task", tl.Name)
		}
	}
}

// TestGetBulkSendPages: the state filter and the cursor.
func TestGetBulkSendPages(t *testing.T) {
	e := newEnv(t, &meta{}, time.Second)
	id := e.send(numbers(7), nil)
	ctx := context.Background()
	for seq := range 7 {
		state := store.RecipientSent
		if seq%2 == 1 {
			state = store.RecipientFailed
		}
		e.jobs.EndBulkSend(ctx, id, seq, state, "wamid.x", "", 131026)
	}
	var got []int
	after := -1
	for range 10 {
		args := map[string]any{"job_id": id, "state": "failed", "limit": 2}
		if after >= 0 {
			args["after"] = after
		}
		res := e.call(ctx, "WHATSAPP_GET_BULK_SEND", args)
		r := res.Data.(*bulk.Report)
		for _, rr := range r.Recipients {
			got = append(got, rr.Seq)
		}
		if r.NextAfter == nil {
			break
		}
		after = *r.NextAfter
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 5 {
		t.Errorf("failed recipients paged: %v", got)
	}
	res := e.call(ctx, "WHATSAPP_GET_BULK_SEND", map[string]any{"job_id": "bulk_nope"})
	if res.Successful || !strings.Contains(res.Error, "job_id") {
		t.Errorf("unknown job: %+v", res)
	}
}

// TestSendBulkAsTask: as an MCP task the call waits for the job, reports
// progress, and returns the final report; a cancelled task cancels the
// job, whose pending recipients are never sent.
func TestSendBulkAsTask(t *testing.T) {
	e := newEnv(t, &meta{}, time.Second)
	e.start()
	var mu sync.Mutex
	var progress [][2]int64
	ctx := tools.WithProgress(tools.WithTask(context.Background(), nil), func(done, total int64) {
		mu.Lock()
		progress = append(progress, [2]int64{done, total})
		mu.Unlock()
	})
	args := map[string]any{"phone_number_id": testPhoneID, "template_name": "hello_world", "rate_per_second": 200,
		"recipients": []map[string]any{{"to_number": "+16505550001"}, {"to_number": "+16505550002"}}}
	b, _ := json.Marshal(args)
	res := e.tl["WHATSAPP_SEND_TEMPLATE_BULK"].Call(ctx, b)
	if r, _ := res.Data.(*bulk.Report); !res.Successful || r.Status != "sent" || r.Counts["sent"] != 2 {
		t.Fatalf("task result: %+v", res)
	}
	mu.Lock()
	if len(progress) == 0 || progress[len(progress)-1] != [2]int64{2, 2} {
		t.Errorf("progress: %v", progress)
	}
	mu.Unlock()

	// Cancelled: 100 recipients at 10/s, cancelled after about 0.5 s.
	cctx, cancel := context.WithCancel(context.Background())
	var cancelled atomic.Bool
	tctx := tools.WithTask(cctx, cancelled.Load)
	others := make([]string, 100)
	for i := range others {
		others[i] = fmt.Sprintf("+1650666%04d", i)
	}
	var rs []map[string]any
	for _, n := range others {
		rs = append(rs, map[string]any{"to_number": n})
	}
	args["recipients"], args["rate_per_second"] = rs, 10
	b, _ = json.Marshal(args)
	time.AfterFunc(500*time.Millisecond, func() { cancelled.Store(true); cancel() })
	res = e.tl["WHATSAPP_SEND_TEMPLATE_BULK"].Call(tctx, b)
	r, _ := res.Data.(*bulk.Report)
	if !res.Successful || !r.Cancelled || r.Counts["cancelled"] == 0 || r.Counts["sent"] == 0 || r.Status != "partially_sent" {
		t.Fatalf("cancelled task: %+v %+v", res, r)
	}
	time.Sleep(300 * time.Millisecond)
	sent := 0
	for _, n := range others {
		sent += e.m.count(n)
	}
	if sent != r.Counts["sent"] {
		t.Errorf("Meta got %d sends, the report says %d sent", sent, r.Counts["sent"])
	}
}

// TestEndedJobSendingIsUnknown: a recipient an ended job left sending (its
// worker died after the job was cancelled) is reported unknown, in the
// counts, the recipients and the state filter; in a running job it is
// still sending.
func TestEndedJobSendingIsUnknown(t *testing.T) {
	e := newEnv(t, &meta{}, time.Second)
	id := e.send(numbers(3), nil)
	e.jobs.mu.Lock()
	e.jobs.rs[id][1].State = store.RecipientSending
	e.jobs.mu.Unlock()
	get := func(state string) *bulk.Report {
		t.Helper()
		args := map[string]any{"job_id": id}
		if state != "" {
			args["state"] = state
		}
		res := e.call(context.Background(), "WHATSAPP_GET_BULK_SEND", args)
		if !res.Successful {
			t.Fatalf("get: %s", res.Error)
		}
		return res.Data.(*bulk.Report)
	}
	if r := get(""); r.Counts[store.RecipientSending] != 1 || r.Recipients[1].State != store.RecipientSending {
		t.Errorf("running job: counts %v, recipient %+v; want it sending", r.Counts, r.Recipients[1])
	}
	if ok, err := e.jobs.CancelBulkJob(context.Background(), id); !ok || err != nil {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	e.jobs.mu.Lock()
	e.jobs.rs[id][1].State = store.RecipientSending // the fake has no live lease: put it back
	e.jobs.mu.Unlock()
	r := get("")
	if r.Counts[store.RecipientSending] != 0 || r.Counts[store.RecipientUnknown] != 1 || r.Recipients[1].State != store.RecipientUnknown || r.Recipients[1].Error == "" {
		t.Errorf("ended job: counts %v, recipient %+v; want it unknown, with why", r.Counts, r.Recipients[1])
	}
	if r := get(store.RecipientUnknown); len(r.Recipients) != 1 || r.Recipients[0].Seq != 1 {
		t.Errorf("state unknown lists %+v, want recipient 1", r.Recipients)
	}
}
