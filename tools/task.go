package tools

import "context"

// An MCP client that speaks tasks (MCP 2025-11-25) may call a tool declared
// with Task as a task: the server answers tools/call at once with a task
// id, runs the handler in the background, and the client polls tasks/get,
// reads the final envelope with tasks/result and may stop it with
// tasks/cancel. Any other surface (an ordinary tools/call, REST, CLI) runs
// the same handler without the mark.

type taskKey struct{}

// task is the mark a serving surface puts on the ctx of a task call.
type task struct {
	cancelled func() bool
}

// WithTask marks ctx as the context of a call running as a task. cancelled
// reports whether the task was cancelled by its client (tasks/cancel); the
// surface calls it only after ctx is done. For serving surfaces.
func WithTask(ctx context.Context, cancelled func() bool) context.Context {
	if cancelled == nil {
		cancelled = func() bool { return false }
	}
	return context.WithValue(ctx, taskKey{}, &task{cancelled: cancelled})
}

// AsTask reports whether the tool call running in ctx runs as an MCP task
// (the client sent params.task). The handler then does the whole work and
// returns the final result, which the client fetches with tasks/result;
// ctx is cancelled by tasks/cancel (and by the server shutting down), not
// by the request that created the task ending. Otherwise the handler
// should return at once (start the work in the background and return what
// lets the caller follow it, such as a job id).
func AsTask(ctx context.Context) bool {
	_, ok := ctx.Value(taskKey{}).(*task)
	return ok
}

// TaskCancelled reports whether ctx, the context of a task call, ended
// because the client cancelled the task (tasks/cancel), as opposed to the
// call's deadline or the server shutting down: a handler stops its work
// for good on the first and may leave it to resume on the others. False
// while ctx is live and for calls that are not tasks.
func TaskCancelled(ctx context.Context) bool {
	t, ok := ctx.Value(taskKey{}).(*task)
	return ok && ctx.Err() != nil && t.cancelled()
}
