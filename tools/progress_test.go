package tools_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

type report struct{ done, total int64 }

func collect(ctx context.Context) (context.Context, *[]report) {
	var got []report
	return tools.WithProgress(ctx, func(done, total int64) { got = append(got, report{done, total}) }), &got
}

// TestProgress: a large read is reported about every tenth, ends at the
// total and never goes backwards (a retry restarts from 0); a small one,
// and one without a surface that asked, is not reported at all.
func TestProgress(t *testing.T) {
	const total = 20 << 20
	ctx, got := collect(context.Background())
	read := func() {
		n, err := io.CopyBuffer(io.Discard, tools.ProgressReader(ctx, bytes.NewReader(make([]byte, total)), total), make([]byte, 32<<10))
		if err != nil || n != total {
			t.Fatal(n, err)
		}
	}
	read()
	if n := len(*got); n < 9 || n > 11 {
		t.Errorf("%d reports of a 20 MiB read, want about 10: %v", n, *got)
	}
	for i, r := range *got {
		if r.total != total || (i > 0 && r.done <= (*got)[i-1].done) {
			t.Fatalf("report %d: %+v after %v", i, r, (*got)[:i])
		}
	}
	if last := (*got)[len(*got)-1]; last.done != total {
		t.Errorf("last report %+v, want done == total", last)
	}
	before := len(*got)
	read() // a retry: nothing until it passes what was reported
	if len(*got) != before {
		t.Errorf("a second pass was reported again: %v", (*got)[before:])
	}

	small, got := collect(context.Background())
	_, _ = io.Copy(tools.ProgressWriter(small, io.Discard, 1<<20), struct{ io.Reader }{bytes.NewReader(make([]byte, 1<<20))})
	if len(*got) != 0 {
		t.Errorf("a 1 MiB copy was reported: %v", *got)
	}

	unknown, got := collect(context.Background())
	// struct{io.Reader} hides WriterTo: the copy writes 32 KiB at a time.
	_, _ = io.Copy(tools.ProgressWriter(unknown, io.Discard, 0), struct{ io.Reader }{bytes.NewReader(make([]byte, 3<<20+5))})
	if len(*got) != 3 || (*got)[0] != (report{1 << 20, 0}) {
		t.Errorf("unknown total: %v, want a report per MiB", *got)
	}

	r := bytes.NewReader(nil)
	if tools.ProgressReader(context.Background(), r, total) != io.Reader(r) {
		t.Error("ProgressReader wraps without a surface that asked for progress")
	}
}
