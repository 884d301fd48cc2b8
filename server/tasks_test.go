package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// taskTool is TEST_TASK, a tool declared with Task: as a task it reports
// progress 1 of 2, waits for release or for its context to end, and
// reports 2 of 2; called otherwise it returns at once. Each run tells what
// it saw on ended.
type taskTool struct {
	started chan struct{}
	release chan struct{}
	ended   chan taskEnd
}

type taskEnd struct {
	asTask, cancelled, deadline bool
	err                         error
}

type taskOut struct {
	AsTask bool `json:"as_task"`
}

func newTaskTool() *taskTool {
	return &taskTool{started: make(chan struct{}, 10), release: make(chan struct{}, 10), ended: make(chan taskEnd, 10)}
}

// end is what the next run saw; it fails the test if none ends.
func (tt *taskTool) end(t *testing.T) taskEnd {
	t.Helper()
	select {
	case e := <-tt.ended:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return")
		return taskEnd{}
	}
}

func (tt *taskTool) tool() tools.Tool {
	return tools.New(tools.Def[noIn, taskOut]{
		Name: "TEST_TASK", Title: "Task", Description: "Long work.", Toolset: "messages",
		Annotations: tools.Annotations{OpenWorld: true},
		Task:        true,
		Handler: func(ctx context.Context, _ *noIn) (taskOut, error) {
			if !tools.AsTask(ctx) {
				tt.ended <- taskEnd{}
				return taskOut{}, nil
			}
			_, deadline := ctx.Deadline()
			tools.ProgressCount(ctx, 1, 2)
			tt.started <- struct{}{}
			select {
			case <-tt.release:
			case <-ctx.Done():
			}
			end := taskEnd{asTask: true, cancelled: tools.TaskCancelled(ctx), deadline: deadline, err: ctx.Err()}
			tt.ended <- end
			if end.err != nil {
				return taskOut{}, fmt.Errorf("stopped: %w", context.Cause(ctx))
			}
			tools.ProgressCount(ctx, 2, 2)
			return taskOut{AsTask: true}, nil
		},
	})
}

func newTaskServer(t *testing.T, tt *taskTool, opts server.Options) *server.Server {
	t.Helper()
	// Not the test's log: a task's handler may log its end after its test
	// has returned (the session ended, the handler is still unwinding).
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := server.New(append(testCatalog(), tt.tool()), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rpcClient is what the scenario needs of a transport: a request and its
// raw answer, and the progress values notified so far for a token.
type rpcClient interface {
	call(t *testing.T, method string, params any) rpcAnswer
	progress(token string) []float64
}

// rpcAnswer is the answer to a request: a result or an error.
type rpcAnswer struct {
	result json.RawMessage
	err    *mcp.JSONRPCErrorDetails
}

// stdioRPC drives ServeStdio over pipes, one line per message.
type stdioRPC struct {
	in      *io.PipeWriter
	next    atomic.Int64
	mu      sync.Mutex
	waiting map[string]chan map[string]any
	notes   []map[string]any
	served  chan error
}

func newStdioRPC(t *testing.T, s *server.Server) *stdioRPC {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := &stdioRPC{in: inW, waiting: map[string]chan map[string]any{}, served: make(chan error, 1)}
	go func() {
		c.served <- s.ServeStdio(context.Background(), inR, outW)
		_ = outW.Close()
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("stdout line is not JSON: %q", sc.Text())
				continue
			}
			c.mu.Lock()
			if id, ok := m["id"]; ok {
				if ch := c.waiting[fmt.Sprint(id)]; ch != nil {
					ch <- m
				}
			} else {
				c.notes = append(c.notes, m)
			}
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = inW.Close() })
	c.send(t, map[string]any{"jsonrpc": "2.0", "id": "init", "method": "initialize",
		"params": map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "0"}}})
	return c
}

func (c *stdioRPC) send(t *testing.T, msg map[string]any) map[string]any {
	t.Helper()
	var ch chan map[string]any
	if id, ok := msg["id"]; ok {
		ch = make(chan map[string]any, 1)
		c.mu.Lock()
		c.waiting[fmt.Sprint(id)] = ch
		c.mu.Unlock()
	}
	b, _ := json.Marshal(msg)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
	if ch == nil {
		return nil
	}
	select {
	case m := <-ch:
		if msg["method"] == "initialize" {
			c.send(t, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("no answer to %s", b)
		return nil
	}
}

func (c *stdioRPC) call(t *testing.T, method string, params any) rpcAnswer {
	t.Helper()
	m := c.send(t, map[string]any{"jsonrpc": "2.0", "id": c.next.Add(1), "method": method, "params": params})
	if e, ok := m["error"]; ok {
		b, _ := json.Marshal(e)
		var d mcp.JSONRPCErrorDetails
		_ = json.Unmarshal(b, &d)
		return rpcAnswer{err: &d}
	}
	b, _ := json.Marshal(m["result"])
	return rpcAnswer{result: b}
}

func (c *stdioRPC) progress(token string) []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return progressOf(c.notes, token)
}

func progressOf(notes []map[string]any, token string) []float64 {
	var out []float64
	for _, n := range notes {
		p, _ := n["params"].(map[string]any)
		if n["method"] == string(mcp.MethodNotificationProgress) && p["progressToken"] == token {
			v, _ := p["progress"].(float64)
			out = append(out, v)
		}
	}
	return out
}

// httpRPC is mcp-go's streamable HTTP client against a real listener.
type httpRPC struct {
	c     *client.Client
	next  atomic.Int64
	mu    sync.Mutex
	notes []map[string]any
}

func newHTTPRPC(t *testing.T, s *server.Server) *httpRPC {
	ts := httptest.NewServer(s.HTTPHandler())
	t.Cleanup(ts.Close)
	c, err := client.NewStreamableHttpClient(ts.URL+"/mcp", transport.WithContinuousListening())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	h := &httpRPC{c: c}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		b, _ := json.Marshal(n)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		h.mu.Lock()
		h.notes = append(h.notes, m)
		h.mu.Unlock()
	})
	ctx := withTimeout(t, 10*time.Second)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	initialize(t, ctx, c, "2025-11-25")
	return h
}

func (h *httpRPC) call(t *testing.T, method string, params any) rpcAnswer {
	t.Helper()
	resp, err := h.c.GetTransport().SendRequest(withTimeout(t, 10*time.Second), transport.JSONRPCRequest{
		JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(h.next.Add(1)), Method: method, Params: params})
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return rpcAnswer{result: resp.Result, err: resp.Error}
}

func (h *httpRPC) progress(token string) []float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return progressOf(h.notes, token)
}

type taskState struct {
	Task struct {
		TaskID string `json:"taskId"`
		Status string `json:"status"`
	} `json:"task"`
	TaskID string `json:"taskId"`
	Status string `json:"status"`
}

func ok(t *testing.T, what string, a rpcAnswer) json.RawMessage {
	t.Helper()
	if a.err != nil {
		t.Fatalf("%s: error %d %s", what, a.err.Code, a.err.Message)
	}
	return a.result
}

func taskStatus(t *testing.T, c rpcClient, id string) string {
	t.Helper()
	var st taskState
	if err := json.Unmarshal(ok(t, "tasks/get", c.call(t, "tasks/get", map[string]any{"taskId": id})), &st); err != nil {
		t.Fatal(err)
	}
	return st.Status
}

// waitStatus polls tasks/get until the task reaches want (a terminal
// status comes once the handler has returned, just after ended).
func waitStatus(t *testing.T, c rpcClient, id, want string) {
	t.Helper()
	for range 500 {
		if got := taskStatus(t, c, id); got == want {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("task %s never reached %s (now %s)", id, want, taskStatus(t, c, id))
}

func startTask(t *testing.T, c rpcClient, tt *taskTool, token string) string {
	t.Helper()
	return startTaskWith(t, c, tt, token, map[string]any{})
}

func startTaskWith(t *testing.T, c rpcClient, tt *taskTool, token string, task map[string]any) string {
	t.Helper()
	params := map[string]any{"name": "TEST_TASK", "arguments": map[string]any{}, "task": task}
	if token != "" {
		params["_meta"] = map[string]any{"progressToken": token}
	}
	var st taskState
	if err := json.Unmarshal(ok(t, "tools/call as a task", c.call(t, "tools/call", params)), &st); err != nil {
		t.Fatal(err)
	}
	if st.Task.TaskID == "" || st.Task.Status != string(mcp.TaskStatusWorking) {
		t.Fatalf("tools/call as a task answered %+v, want a working task", st)
	}
	select {
	case <-tt.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the task's handler did not start")
	}
	return st.Task.TaskID
}

// taskScenario is what the tasks must do on every transport.
func taskScenario(t *testing.T, c rpcClient, tt *taskTool) {
	// A task outlives the request that created it (over HTTP, its POST),
	// is working until released, then completed with our envelope as its
	// result, and reports its progress on the call's token.
	id := startTask(t, c, tt, "p1")
	if got := taskStatus(t, c, id); got != string(mcp.TaskStatusWorking) {
		t.Fatalf("tasks/get while the handler waits: %s, want working", got)
	}
	tt.release <- struct{}{}
	end := tt.end(t)
	if end.err != nil || end.cancelled || end.deadline || !end.asTask {
		t.Fatalf("the task's handler saw %+v, want a live task context without a deadline", end)
	}
	waitStatus(t, c, id, string(mcp.TaskStatusCompleted))
	var res mcp.CallToolResult
	raw := ok(t, "tasks/result", c.call(t, "tasks/result", map[string]any{"taskId": id}))
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	env := envelope(t, &res)
	if env["successful"] != true || fmt.Sprint(env["data"]) != "map[as_task:true]" {
		t.Fatalf("tasks/result envelope: %v", env)
	}
	// The progress of a task reaches the client over the session: 2 of 2
	// was sent after the handler was released, poll until it is delivered.
	// Over HTTP, mcp-go delivers a notification sent between requests on
	// the session's GET stream or the next POST's answer, and may drop one
	// that a POST ending at that moment took (its forwarder's race): there
	// some must arrive, in order, not necessarily all.
	want := "[1 2]"
	for range 500 {
		if fmt.Sprint(c.progress("p1")) == want {
			break
		}
		taskStatus(t, c, id)
		time.Sleep(2 * time.Millisecond)
	}
	got := fmt.Sprint(c.progress("p1"))
	if _, lossy := c.(*httpRPC); lossy && got != want {
		t.Logf("progress of the task over HTTP: %s (mcp-go dropped some)", got)
		if got != "[1]" && got != "[2]" {
			t.Errorf("progress of the task: %s, want [1 2] or part of it in order", got)
		}
	} else if got != want {
		t.Errorf("progress of the task: %s, want %s", got, want)
	}

	// tasks/cancel cancels the handler's context, and TaskCancelled says so.
	id = startTask(t, c, tt, "")
	var st taskState
	if err := json.Unmarshal(ok(t, "tasks/cancel", c.call(t, "tasks/cancel", map[string]any{"taskId": id})), &st); err != nil {
		t.Fatal(err)
	}
	if st.Status != string(mcp.TaskStatusCancelled) {
		t.Fatalf("tasks/cancel answered %+v", st)
	}
	if end := tt.end(t); !end.cancelled || end.err == nil {
		t.Fatalf("a cancelled task's handler saw %+v, want TaskCancelled", end)
	}
	if got := taskStatus(t, c, id); got != string(mcp.TaskStatusCancelled) {
		t.Fatalf("tasks/get after tasks/cancel: %s", got)
	}

	// The same tool called normally runs at once, not as a task.
	raw = ok(t, "tools/call", c.call(t, "tools/call", map[string]any{"name": "TEST_TASK", "arguments": map[string]any{}}))
	res = mcp.CallToolResult{}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if env := envelope(t, &res); env["successful"] != true || fmt.Sprint(env["data"]) != "map[as_task:false]" {
		t.Fatalf("an ordinary call: %v", env)
	}
	if end := tt.end(t); end.asTask {
		t.Fatal("an ordinary call read AsTask")
	}

	// A tool not declared with Task refuses to run as one, and nothing runs.
	e := c.call(t, "tools/call", map[string]any{"name": "TEST_SEND", "arguments": map[string]any{"text": "x"}, "task": map[string]any{}}).err
	if e == nil || !strings.Contains(e.Message, "does not run as a task") {
		t.Fatalf("a task call of TEST_SEND: %+v, want a refusal", e)
	}
}

func TestTasksOverStdio(t *testing.T) {
	tt := newTaskTool()
	s := newTaskServer(t, tt, server.Options{CallTimeout: time.Millisecond})
	c := newStdioRPC(t, s)
	taskScenario(t, c, tt)

	// A task whose ttl passes ends (mcp-go forgets it then), not as
	// cancelled by its client.
	startTaskWith(t, c, tt, "", map[string]any{"ttl": 20})
	if end := tt.end(t); end.cancelled || !errors.Is(end.err, context.DeadlineExceeded) || !end.deadline {
		t.Fatalf("a task past its ttl saw %+v, want its deadline passed, not TaskCancelled", end)
	}

	// The end of the session (stdio's input) ends a task still running,
	// not as cancelled by its client.
	startTask(t, c, tt, "")
	_ = c.in.Close()
	if end := tt.end(t); end.cancelled || end.err == nil {
		t.Fatalf("a task whose session ended saw %+v, want its context ended, not TaskCancelled", end)
	}
	if err := <-c.served; err != nil {
		t.Fatal(err)
	}
}

func TestTasksOverStreamableHTTP(t *testing.T) {
	tt := newTaskTool()
	// The short CallTimeout shows a task is not bound by it.
	s := newTaskServer(t, tt, server.Options{CallTimeout: time.Millisecond})
	taskScenario(t, newHTTPRPC(t, s), tt)
}

// TestTaskCapability: the tasks capability (tool calls, cancel, list) and
// execution.taskSupport are declared only when a Task tool is enabled, and
// cost nothing on the other tools; a stateless server lists no tasks.
func TestTaskCapability(t *testing.T) {
	ctx := withTimeout(t, 10*time.Second)
	tt := newTaskTool()
	for _, tc := range []struct {
		name  string
		opts  server.Options
		tasks string
	}{
		{"task tool", server.Options{}, `{"list":{},"cancel":{},"requests":{"tools":{"call":{}}}}`},
		{"stateless", server.Options{Stateless: true}, `{"cancel":{},"requests":{"tools":{"call":{}}}}`},
		{"task tool excluded", server.Options{ExcludeTools: []string{"TEST_TASK"}}, `null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTaskServer(t, tt, tc.opts)
			c, err := client.NewInProcessClient(s.MCP())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			init := initialize(t, ctx, c, "2025-11-25")
			if got, _ := json.Marshal(init.Capabilities.Tasks); string(got) != tc.tasks {
				t.Errorf("capabilities.tasks = %s, want %s", got, tc.tasks)
			}
			list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tool := range list.Tools {
				b, _ := json.Marshal(tool)
				has := strings.Contains(string(b), `"execution"`)
				if want := tool.Name == "TEST_TASK"; has != want {
					t.Errorf("%s: execution in tools/list = %v, want %v: %s", tool.Name, has, want, b)
				}
				if has && !strings.Contains(string(b), `"execution":{"taskSupport":"optional"}`) {
					t.Errorf("%s: %s, want taskSupport optional", tool.Name, b)
				}
			}
		})
	}

	s := newTaskServer(t, tt, server.Options{Stateless: true})
	resp := s.MCP().HandleMessage(ctx, []byte(`{"jsonrpc":"2.0","id":1,"method":"tasks/list","params":{}}`))
	if b, _ := json.Marshal(resp); !strings.Contains(string(b), "not served by a stateless server") {
		t.Errorf("tasks/list on a stateless server: %s", b)
	}
}

// TestTaskToolOnOtherSurfaces: the REST face and Server.Call run a Task
// tool as an ordinary call (AsTask false), bounded as usual.
func TestTaskToolOnOtherSurfaces(t *testing.T) {
	tt := newTaskTool()
	s := newTaskServer(t, tt, server.Options{})
	res, err := s.Call(withTimeout(t, 10*time.Second), "TEST_TASK", json.RawMessage(`{}`))
	if err != nil || !res.Successful {
		t.Fatalf("Call: %+v %v", res, err)
	}
	if end := tt.end(t); end.asTask {
		t.Fatal("Server.Call ran the tool as a task")
	}
	ts := httptest.NewServer(s.REST(server.RESTOptions{}))
	defer ts.Close()
	resp, err := ts.Client().Post(ts.URL+server.RESTActionsPath+"/TEST_TASK/execute", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(b), `"as_task":false`) {
		t.Fatalf("REST: %d %s", resp.StatusCode, b)
	}
	if end := tt.end(t); end.asTask {
		t.Fatal("REST ran the tool as a task")
	}
}
