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

// TestProgressCount: items are reported every hundredth of the total, the
// last report is done == total, counts that go backwards (workers finishing
// out of order) or repeat are not reported, small and unknown totals report
// every item, and nothing is reported without a surface that asked.
func TestProgressCount(t *testing.T) {
	ctx, got := collect(context.Background())
	for i := int64(1); i <= 1000; i++ {
		tools.ProgressCount(ctx, i, 1000)
		tools.ProgressCount(ctx, i-1, 1000) // out of order: never reported
	}
	if len(*got) != 100 {
		t.Errorf("%d reports of 1,000 items, want 100 (one per 10)", len(*got))
	}
	for i, r := range *got {
		if r.total != 1000 || r.done != int64(i+1)*10 {
			t.Fatalf("report %d: %+v, want done %d of 1000", i, r, (i+1)*10)
		}
	}

	// 7 items of 250 between reports: the 1%-steps skip, the end is exact.
	ctx, got = collect(context.Background())
	for i := int64(7); i < 250; i += 7 {
		tools.ProgressCount(ctx, i, 250)
	}
	tools.ProgressCount(ctx, 250, 250)
	tools.ProgressCount(ctx, 250, 250)
	if n := len(*got); n != 36 || (*got)[n-1] != (report{250, 250}) {
		t.Errorf("reports of 250 items counted by 7: %v, want 35 steps and 250 once", *got)
	}

	for _, total := range []int64{3, 0} {
		ctx, got = collect(context.Background())
		for i := int64(1); i <= 3; i++ {
			tools.ProgressCount(ctx, i, total)
		}
		if len(*got) != 3 || (*got)[2] != (report{3, total}) {
			t.Errorf("total %d: %v, want every item", total, *got)
		}
	}

	tools.ProgressCount(context.Background(), 1, 1) // no surface: no panic, nothing
}
