package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/bulk"
	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// The bulk send of the "done when", end to end on the binary: a
// template to 1,000 recipients against the emulator (some refused at once,
// some failing later in their status), the server SIGKILLed mid-job and
// restarted on the same store; counted by the emulator, no recipient gets
// a second send, the pace holds, and the result is right.

const (
	bulkRecipients = 1000
	bulkRate       = 150
	bulkRefusedAt  = 7 // every 40th recipient from the 7th: one parameter short, refused (132000)
	bulkUnreachAt  = 3 // every 40th recipient from the 3rd: accepted, then a failed status (131026)
)

func bulkNumber(prefix, i int) string { return fmt.Sprintf("+1%03d555%04d", prefix, i) }

// bulkJobArgs is WHATSAPP_SEND_TEMPLATE_BULK's input: order_update to n
// recipients, each with their own variables.
func bulkJobArgs(prefix, n, rate int) map[string]any {
	var rs []map[string]any
	for i := range n {
		params := []map[string]any{{"type": "text", "text": fmt.Sprint("Customer ", i)}, {"type": "text", "text": fmt.Sprintf("#%d", 1000+i)}}
		if i%40 == bulkRefusedAt {
			params = params[:1]
		}
		rs = append(rs, map[string]any{"to_number": bulkNumber(prefix, i), "components": []map[string]any{{"type": "body", "parameters": params}}})
	}
	return map[string]any{"phone_number_id": sandbox.PhoneNumberID, "template_name": "order_update", "recipients": rs, "rate_per_second": rate}
}

// bulkSandbox is the emulator of a bulk test, its webhooks going to
// whichever server runs now.
func bulkSandbox(t *testing.T, prefix, perSecond int, latency time.Duration) (*sandbox.Sandbox, string) {
	var unreachable []string
	for i := bulkUnreachAt; i < bulkRecipients; i += 40 {
		unreachable = append(unreachable, bulkNumber(prefix, i))
	}
	// Meta's limits: the number's throughput and the pair rate.
	sb := sandbox.New(sandbox.Config{UnreachableNumbers: unreachable, MessagesPerSecond: perSecond, PairRate: 6 * time.Second,
		Faults: sandbox.Faults{Latency: latency}})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { sb.Close() })
	return sb, srv.URL
}

func bulkEnv(t *testing.T) []string {
	return binEnv(t, "WHATSAPP_ACCESS_TOKEN="+sandbox.DefaultToken, "WHATSAPP_APP_SECRET="+sandbox.DefaultAppSecret,
		"WHATSAPP_VERIFY_TOKEN="+sandbox.DefaultVerifyToken, "WHATSAPP_WABA_ID="+sandbox.WABAID)
}

// bulkSendTimes are the times of the emulator's accepted sends.
func bulkSendTimes(sb *sandbox.Sandbox) (times []time.Time) {
	for _, m := range sb.SentMessages() {
		times = append(times, m.Time)
	}
	return times
}

// bulkMaxPerSecond is the most sends within any one second.
func bulkMaxPerSecond(times []time.Time) int {
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	most, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// bulkReport reads the job through REST; data is the Report.
func bulkReport(t *testing.T, ctx context.Context, base string, args map[string]any) bulk.Report {
	t.Helper()
	code, env, err := crashExecute(ctx, base, "WHATSAPP_GET_BULK_SEND", args)
	if err != nil || code != 200 || env["successful"] != true {
		t.Fatalf("WHATSAPP_GET_BULK_SEND(%v): HTTP %d %v %v", args, code, env, err)
	}
	var r bulk.Report
	b, _ := json.Marshal(env["data"])
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// bulkStoredJob reads the job from the store itself (the server is down).
func bulkStoredJob(t *testing.T, ctx context.Context, loc, id string) store.BulkJob {
	t.Helper()
	st, err := store.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, ok, err := st.GetBulkJob(ctx, id)
	if err != nil || !ok {
		t.Fatalf("job %s in the store: %v %v", id, ok, err)
	}
	return j
}

func TestBulkSendSurvivesKillSQLite(t *testing.T) {
	bulkSurvivesKill(t, "file:"+filepath.Join(t.TempDir(), "events.db"), false)
}

// TestBulkSendReplicasPostgres: two replicas on one PostgreSQL; the one
// working the job is killed, the other resumes it once the dead one's
// lease expired, and still no one gets a second send.
func TestBulkSendReplicasPostgres(t *testing.T) {
	bulkSurvivesKill(t, storetest.PostgresDSN(t), true)
}

// bulkSurvivesKill kills the server working a bulk job mid-job; then a
// restarted one on the same store (or, with replicas, the other replica)
// finishes it.
func bulkSurvivesKill(t *testing.T, loc string, replicas bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Meta's answers take 50 ms, so several sends are in flight at the kill.
	sb, graphURL := bulkSandbox(t, 650, bulkRate, 50*time.Millisecond)
	env := bulkEnv(t)
	start := func() *httpProcess {
		p := startHTTP(t, ctx, env, "--graph-url", graphURL, "--store", loc, "--bulk-lease", "3s")
		sb.SetWebhookURL(p.base + "/webhook")
		t.Cleanup(func() {
			if out := p.output.String(); t.Failed() {
				t.Logf("server output (the end):\n%s", out[max(0, len(out)-3000):])
			}
		})
		return p
	}
	servers := []*httpProcess{start()}
	if replicas {
		servers = append(servers, start())
	}
	p := servers[0]

	began := time.Now()
	code, envl, err := crashExecute(ctx, p.base, "WHATSAPP_SEND_TEMPLATE_BULK", bulkJobArgs(650, bulkRecipients, bulkRate))
	if err != nil || code != 200 || envl["successful"] != true {
		t.Fatalf("WHATSAPP_SEND_TEMPLATE_BULK: HTTP %d %v %v", code, envl, err)
	}
	id, _ := envl["data"].(map[string]any)["job_id"].(string)

	// SIGKILL once about 40 % were sent.
	for sb.SentCount() < bulkRecipients*4/10 {
		select {
		case <-ctx.Done():
			t.Fatal("the job did not progress")
		case <-time.After(time.Millisecond):
		}
	}
	// The server working the job: the one that logged taking it.
	holder := slices.IndexFunc(servers, func(s *httpProcess) bool { return strings.Contains(s.output.String(), "bulk: working the job") })
	if holder < 0 {
		t.Fatal("no server logged taking the job")
	}
	p = servers[holder]
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	killedAt := time.Now()
	atKill := sb.SentCount()
	j := bulkStoredJob(t, ctx, loc, id)
	inFlight := j.Counts[store.RecipientSending]
	t.Logf("SIGKILL after %v: %d sends accepted by the emulator, the store had %d sent, %d in flight, %d pending",
		killedAt.Sub(began).Round(time.Millisecond), atKill, j.Counts[store.RecipientSent], inFlight, j.Counts[store.RecipientPending])
	if j.State != store.JobRunning || j.Counts[store.RecipientPending] == 0 {
		t.Fatalf("the kill came too late: %+v", j)
	}

	if replicas {
		p = servers[1-holder]
		sb.SetWebhookURL(p.base + "/webhook")
	} else {
		p = start()
	}
	var r bulk.Report
	for {
		if r = bulkReport(t, ctx, p.base, map[string]any{"job_id": id}); r.Status != "running" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(began)

	per, times := sb.SentPerRecipient(), bulkSendTimes(sb)
	var twice []string
	for waID, n := range per {
		if n > 1 {
			twice = append(twice, waID)
		}
	}
	if len(twice) > 0 {
		t.Errorf("%d recipients got a second send, e.g. %v", len(twice), twice[:min(3, len(twice))])
	}
	refused := bulkRecipients / 40
	c := r.Counts
	if c["sent"]+c["failed"]+c["unknown"] != bulkRecipients || c["failed"] != refused || c["unknown"] != inFlight {
		t.Errorf("counts %v: want every recipient sent, failed (%d) or unknown (the %d in flight at the kill)", c, refused, inFlight)
	}
	if c["unknown"] > 75 {
		t.Errorf("%d unknown recipients: more than can be in flight at %d/s", c["unknown"], bulkRate)
	}
	if r.Status != "partially_sent" || r.Cancelled || r.Total != bulkRecipients {
		t.Errorf("report: %+v", r)
	}
	// Every recipient reported sent was accepted by the emulator with its
	// message id; of the unknown ones, some may have been.
	ids := map[string]bool{}
	for _, m := range sb.SentMessages() {
		ids[m.ID] = true
	}
	all := bulkReport(t, ctx, p.base, map[string]any{"job_id": id, "state": "sent", "limit": 1000})
	for _, s := range all.Recipients {
		if !ids[s.MessageID] {
			t.Errorf("recipient %d reported sent as %s, which the emulator never accepted", s.Seq, s.MessageID)
			break
		}
	}
	if got := len(per); len(all.Recipients) != c["sent"] || got < c["sent"] || got > c["sent"]+c["unknown"] {
		t.Errorf("the emulator accepted %d recipients, the job reports %d sent (%d listed) and %d unknown", got, c["sent"], len(all.Recipients), c["unknown"])
	}
	// One request per recipient at most: each accepted, or refused for
	// good (132000); so none was answered 130429 (nor 131056) and retried.
	if n := sb.RequestCount(); n != int64(len(times)+refused) || n > bulkRecipients {
		t.Errorf("the emulator got %d send requests for %d recipients: %d accepted and %d refused", n, bulkRecipients, len(times), refused)
	}
	most := bulkMaxPerSecond(times)
	if most > bulkRate+bulkRate/10 {
		t.Errorf("%d sends within one second, over the rate of %d/s (+ its burst)", most, bulkRate)
	}

	// The failed ones are listed with Meta's error.
	failed := bulkReport(t, ctx, p.base, map[string]any{"job_id": id, "state": "failed", "limit": 1000})
	if len(failed.Recipients) != refused {
		t.Errorf("%d failed recipients listed, want %d", len(failed.Recipients), refused)
	}
	for _, f := range failed.Recipients {
		if f.ErrorCode != 132000 || f.Seq%40 != bulkRefusedAt || f.To != bulkNumber(650, f.Seq) {
			t.Errorf("failed recipient %+v", f)
			break
		}
	}

	// Delivery counts follow the emulator's statuses once its webhooks
	// (retried through the kill) arrived.
	wantFailed := 0
	for i := bulkUnreachAt; i < bulkRecipients; i += 40 {
		if slices.ContainsFunc(failed.Recipients, func(f bulk.RecipientReport) bool { return f.Seq == i }) {
			continue
		}
		wantFailed++
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = bulkReport(t, ctx, p.base, map[string]any{"job_id": id})
		d := r.Deliveries
		if d["read"]+d["failed"] == c["sent"] || time.Now().After(deadline) {
			// Unreachable recipients the kill left unknown are not counted.
			if d["failed"] > wantFailed || d["failed"] < wantFailed-inFlight || d["read"]+d["failed"] != c["sent"] {
				t.Errorf("deliveries %v for %d sent, %d of them to unreachable numbers", d, c["sent"], wantFailed)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	rate := func(ts []time.Time) float64 { return float64(len(ts)-1) / ts[len(ts)-1].Sub(ts[0]).Seconds() }
	// The sends in flight at the kill reach the emulator just after it;
	// the next holder's come once the lease expired.
	resumed := slices.IndexFunc(times, func(at time.Time) bool { return at.After(killedAt.Add(500 * time.Millisecond)) })
	t.Logf("bulk of %d at %d/s (replicas %v), SIGKILL at %d accepted: %v in all, the rest resumed %v after the kill; emulator accepted %d (%d requests), "+
		"%.0f/s before the kill and %.0f/s after, at most %d sends in a second, %d recipients twice; result %s: %v, deliveries %v",
		bulkRecipients, bulkRate, replicas, atKill, took.Round(time.Millisecond), times[resumed].Sub(killedAt).Round(time.Millisecond),
		len(times), sb.RequestCount(), rate(times[:atKill]), rate(times[resumed:]), most, len(twice), r.Status, c, r.Deliveries)
	p.stop(t) // a clean stop with the worker idle
}

// bulkRPC sends one JSON-RPC request over the client's transport.
func bulkRPC(t *testing.T, ctx context.Context, c *client.Client, id int, method string, params any) json.RawMessage {
	t.Helper()
	resp, err := c.GetTransport().SendRequest(ctx, transport.JSONRPCRequest{
		JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(id), Method: method, Params: params})
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if resp.Error != nil {
		t.Fatalf("%s: error %d %s", method, resp.Error.Code, resp.Error.Message)
	}
	return resp.Result
}

// TestBulkSendAsMCPTask: a client that speaks MCP tasks runs the bulk send
// as one over streamable HTTP, polls tasks/get, reads tasks/result and is
// sent progress; tasks/cancel stops a job, whose pending recipients are
// cancelled and never sent.
var bulkJobIDs = regexp.MustCompile(`job=(bulk_[0-9a-f]{16})`)

func TestBulkSendAsMCPTask(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, graphURL := bulkSandbox(t, 651, 100, 0)
	p := startHTTP(t, ctx, bulkEnv(t), "--graph-url", graphURL, "--store", "file:"+filepath.Join(t.TempDir(), "events.db"))
	sb.SetWebhookURL(p.base + "/webhook")
	c := connectHTTP(t, ctx, p.base+"/mcp", "bulk-task")
	var mu sync.Mutex
	var progress []float64
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationProgress) {
			v, _ := n.Params.AdditionalFields["progress"].(float64)
			mu.Lock()
			progress = append(progress, v)
			mu.Unlock()
		}
	})
	type taskState struct {
		Task struct {
			TaskID string `json:"taskId"`
			Status string `json:"status"`
		} `json:"task"`
		Status string `json:"status"`
	}
	startTask := func(id int, args map[string]any) string {
		var st taskState
		raw := bulkRPC(t, ctx, c, id, "tools/call", map[string]any{"name": "WHATSAPP_SEND_TEMPLATE_BULK", "arguments": args,
			"task": map[string]any{}, "_meta": map[string]any{"progressToken": fmt.Sprint("bulk", id)}})
		if err := json.Unmarshal(raw, &st); err != nil || st.Task.TaskID == "" {
			t.Fatalf("tools/call as a task: %s", raw)
		}
		return st.Task.TaskID
	}
	status := func(id int, taskID string) string {
		var st taskState
		json.Unmarshal(bulkRPC(t, ctx, c, id, "tasks/get", map[string]any{"taskId": taskID}), &st)
		return st.Status
	}

	// 200 recipients at 100/s: the task completes with the job's report.
	taskID := startTask(1, bulkJobArgs(651, 200, 100))
	polls := 0
	for st := status(2, taskID); st != string(mcp.TaskStatusCompleted); st = status(2, taskID) {
		if st != string(mcp.TaskStatusWorking) {
			t.Fatalf("task status %s", st)
		}
		polls++
		time.Sleep(100 * time.Millisecond)
	}
	var res mcp.CallToolResult
	if err := json.Unmarshal(bulkRPC(t, ctx, c, 3, "tasks/result", map[string]any{"taskId": taskID}), &res); err != nil {
		t.Fatal(err)
	}
	var env struct {
		Successful bool        `json:"successful"`
		Data       bulk.Report `json:"data"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &env); err != nil || !env.Successful {
		t.Fatalf("tasks/result: %s", b)
	}
	refused := 200 / 40
	if r := env.Data; r.Status != "partially_sent" || r.Counts["sent"] != 200-refused || r.Counts["failed"] != refused || len(r.Recipients) != refused {
		t.Errorf("the task's result: %+v", r)
	}
	mu.Lock()
	got := slices.Clone(progress)
	mu.Unlock()
	if len(got) < 2 || got[len(got)-1] != 200 {
		t.Errorf("progress notified: %v, want up to 200", got)
	}
	t.Logf("task: %d polls of tasks/get while working, %d progress notifications", polls, len(got))

	// 300 recipients at 20/s, cancelled after about a second.
	taskID = startTask(4, bulkJobArgs(652, 300, 20))
	time.Sleep(time.Second)
	bulkRPC(t, ctx, c, 5, "tasks/cancel", map[string]any{"taskId": taskID})
	if st := status(6, taskID); st != string(mcp.TaskStatusCancelled) {
		t.Fatalf("after tasks/cancel: %s", st)
	}
	time.Sleep(time.Second) // a worker that did not stop would send 20 more
	sent := 0
	for i := range 300 {
		sent += sb.SentTo(bulkNumber(652, i))
	}
	if sent == 0 || sent > 60 {
		t.Errorf("the cancelled job sent %d of 300 (about 20 a second for a second were expected)", sent)
	}
	// The cancelled job's report, read through the ordinary tool (its id
	// is in the server's log: the task's result was not fetched).
	jobs := bulkJobIDs.FindAllStringSubmatch(p.output.String(), -1)
	var seen []string
	for _, m := range jobs {
		if !slices.Contains(seen, m[1]) {
			seen = append(seen, m[1])
		}
	}
	if len(seen) != 2 {
		t.Fatalf("jobs in the log: %v", seen)
	}
	r := bulkReport(t, ctx, p.base, map[string]any{"job_id": seen[1]})
	if !r.Cancelled || r.Counts["sent"] != sent || r.Counts["cancelled"]+r.Counts["sent"]+r.Counts["failed"] != 300 || r.Status != "partially_sent" {
		t.Errorf("the cancelled job: %+v, the emulator got %d sends", r, sent)
	}
	c.Close()
	p.stop(t)
}
