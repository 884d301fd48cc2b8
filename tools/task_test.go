package tools_test

import (
	"context"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// TestTaskMark: AsTask is set only by WithTask; TaskCancelled is true only
// for a task whose context has ended and whose surface says it was
// cancelled by its client, never while the context is live.
func TestTaskMark(t *testing.T) {
	if tools.AsTask(context.Background()) || tools.TaskCancelled(context.Background()) {
		t.Fatal("a plain context reads as a task")
	}
	for _, byClient := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		ctx = tools.WithTask(ctx, func() bool { return byClient })
		if !tools.AsTask(ctx) {
			t.Fatal("WithTask did not mark the context")
		}
		if tools.TaskCancelled(ctx) {
			t.Fatalf("byClient=%v: cancelled while live", byClient)
		}
		cancel()
		if got := tools.TaskCancelled(ctx); got != byClient {
			t.Errorf("byClient=%v: TaskCancelled = %v after the end", byClient, got)
		}
	}
	ctx, cancel := context.WithCancel(tools.WithTask(context.Background(), nil))
	cancel()
	if !tools.AsTask(ctx) || tools.TaskCancelled(ctx) {
		t.Error("WithTask(nil): want a task never cancelled by its client")
	}
}
