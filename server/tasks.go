package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Tools declared with Task (tools.Tool.Task) may be called as MCP tasks
// (protocol 2025-11-25): the client adds params.task to tools/call, mcp-go
// answers at once with a task id, runs our handler on a goroutine of its
// own and serves tasks/get, tasks/result and tasks/cancel.
//
// mcp-go gives that goroutine a context derived from the tools/call
// request's, which mcp-go cancels as soon as it has answered it (and, over
// HTTP, which ends with the POST): the handler would see its context end
// the moment the task is created. So the handler's context is detached
// from the request (keeping its values: the session, the progress
// channel) and cancelled by what ends a task here:
//   - tasks/cancel (TaskCancelled reports it), seen through mcp-go's task
//     hooks: its OnTaskCreated names the task of a call, its OnTaskCancelled
//     the task cancelled;
//   - the task's TTL (params.task.ttl), after which mcp-go forgets it;
//   - the end of its MCP session (stdio ending, HTTP session closed or
//     server shut down), after which nobody can poll it.
//
// Task calls are not bounded by Options.CallTimeout: they are as long as
// their work, and tasks/cancel stops them.

// errTaskCancelled is the cause of a task context cancelled by tasks/cancel.
var errTaskCancelled = errors.New("the task was cancelled by its client (tasks/cancel)")

// errTaskSessionEnded is the cause of a task context whose session ended.
var errTaskSessionEnded = errors.New("the MCP session of the task ended")

// taskRuns links the task calls mcp-go runs to their tasks.
type taskRuns struct {
	mu sync.Mutex
	// pending: by the tools/call request's context, the calls whose task
	// mcp-go has not yet named (OnTaskCreated gets that context, not the
	// request).
	pending map[context.Context]*taskRun
	// byMeta: by the request's _meta, which the handler's copy of the
	// request shares (a pointer), the calls whose handler has not started.
	byMeta map[*mcp.Meta]*taskRun
	// byID: by task id, the tasks whose handler may be running.
	byID map[string]*taskRun
}

// taskRun is one tool call running as a task.
type taskRun struct {
	id        string
	session   string
	cancelled bool                    // by tasks/cancel, maybe before the handler started
	cancel    context.CancelCauseFunc // set once the handler runs
}

func newTaskRuns() *taskRuns {
	return &taskRuns{pending: map[context.Context]*taskRun{}, byMeta: map[*mcp.Meta]*taskRun{}, byID: map[string]*taskRun{}}
}

// hooks wires the runs to mcp-go's hooks. taskTool says whether a tool is
// declared with Task.
func (r *taskRuns) hooks(hooks *mcpserver.Hooks, taskHooks *mcpserver.TaskHooks, taskTool func(string) bool) {
	hooks.AddBeforeCallTool(func(ctx context.Context, _ any, req *mcp.CallToolRequest) {
		if req.Params.Task == nil || !taskTool(req.Params.Name) {
			return
		}
		if req.Params.Meta == nil {
			req.Params.Meta = &mcp.Meta{}
		}
		run := &taskRun{}
		if cs := mcpserver.ClientSessionFromContext(ctx); cs != nil {
			run.session = cs.SessionID()
		}
		meta := req.Params.Meta
		r.mu.Lock()
		r.pending[ctx] = run
		r.byMeta[meta] = run
		r.mu.Unlock()
		// mcp-go cancels the request's context once it has answered: by
		// then the task was created (or refused, and no handler will ask).
		context.AfterFunc(ctx, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			delete(r.pending, ctx)
			if run.id == "" {
				delete(r.byMeta, meta)
			}
		})
	})
	taskHooks.AddOnTaskCreated(func(ctx context.Context, m mcpserver.TaskMetrics) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if run, ok := r.pending[ctx]; ok {
			run.id = m.TaskID
			r.byID[m.TaskID] = run
			delete(r.pending, ctx)
		}
	})
	// mcp-go fires OnTaskCancelled from tasks/cancel, and when a handler
	// returns a context error, which ours never do.
	taskHooks.AddOnTaskCancelled(func(_ context.Context, m mcpserver.TaskMetrics) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if run, ok := r.byID[m.TaskID]; ok {
			run.cancelled = true
			if run.cancel != nil {
				run.cancel(errTaskCancelled)
			}
		}
	})
	hooks.AddOnUnregisterSession(func(_ context.Context, cs mcpserver.ClientSession) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, run := range r.byID {
			if run.session == cs.SessionID() && run.cancel != nil {
				run.cancel(errTaskSessionEnded)
			}
		}
	})
}

// start gives the handler of a task call its context (see the comment at
// the top) and the function to call when it returns.
func (r *taskRuns) start(ctx context.Context, req mcp.CallToolRequest) (context.Context, func()) {
	r.mu.Lock()
	run, ok := r.byMeta[req.Params.Meta]
	if ok {
		delete(r.byMeta, req.Params.Meta)
	} else {
		// Not seen by the hooks (a request cancelled before its task was
		// named): it runs detached all the same, without tasks/cancel.
		run = &taskRun{}
	}
	r.mu.Unlock()

	tctx := context.WithoutCancel(ctx)
	var stopTTL context.CancelFunc = func() {}
	if ttl := req.Params.Task.TTL; ttl != nil && *ttl > 0 {
		tctx, stopTTL = context.WithTimeoutCause(tctx, time.Duration(*ttl)*time.Millisecond,
			errors.New("the task's ttl passed"))
	}
	cctx, cancel := context.WithCancelCause(tctx)
	r.mu.Lock()
	run.cancel = cancel
	if run.cancelled {
		cancel(errTaskCancelled)
	}
	r.mu.Unlock()
	return tools.WithTask(cctx, func() bool { return errors.Is(context.Cause(cctx), errTaskCancelled) }), func() {
		r.mu.Lock()
		if run.id != "" {
			delete(r.byID, run.id)
		}
		r.mu.Unlock()
		cancel(nil)
		stopTTL()
	}
}

// running reports how many task calls are tracked (tests).
func (r *taskRuns) running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending) + len(r.byMeta) + len(r.byID)
}

// taskOptions declare the tasks capability: tool calls may be tasks, and
// tasks/cancel works. tasks/list lists the session's tasks, so it is
// declared only with sessions: stateless, every task would be listed to
// anyone (refuseTask refuses it).
func (s *Server) taskOptions(taskHooks *mcpserver.TaskHooks) []mcpserver.ServerOption {
	return []mcpserver.ServerOption{
		mcpserver.WithTaskCapabilities(!s.opts.Stateless, true, true),
		mcpserver.WithTaskHooks(taskHooks),
	}
}

// refuseTask refuses, before mcp-go runs it, a task-augmented tools/call of
// a tool not declared with Task (mcp-go would run it as an ordinary call
// and answer what the client does not expect), and tasks/list when the
// server is stateless (see taskOptions).
func (s *Server) refuseTask(h head) error {
	switch {
	case h.method == string(mcp.MethodTasksList) && s.opts.Stateless:
		return errors.New("tasks/list is not served by a stateless server: poll each task by its id with tasks/get")
	case h.method == string(mcp.MethodToolsCall) && h.task:
		if t, ok := s.byName[h.name]; ok && !t.Task {
			return fmt.Errorf("tool %s does not run as a task (no execution.taskSupport): call it without params.task", h.name)
		}
	}
	return nil
}
