package actions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// progressOf calls a tool with a progress reporter and returns the
// envelope and what was reported.
func progressOf(t *testing.T, tl tools.Tool, args string) (tools.Result, [][2]int64) {
	t.Helper()
	var mu sync.Mutex
	var got [][2]int64
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx = tools.WithProgress(ctx, func(done, total int64) {
		mu.Lock()
		got = append(got, [2]int64{done, total})
		mu.Unlock()
	})
	res := tl.Call(ctx, json.RawMessage(args))
	if !res.Successful {
		t.Fatalf("%s failed: %s", tl.Name, res.Error)
	}
	return res, got
}

func checkProgress(t *testing.T, got [][2]int64, total int64) {
	t.Helper()
	// Every MiB or tenth, whichever is larger: 4 for 3.6 MB.
	if want := (total + 1<<20 - 1) >> 20; int64(len(got)) != want {
		t.Fatalf("%d progress reports for %d bytes, want %d: %v", len(got), total, want, got)
	}
	for i, r := range got {
		if r[1] != total || (i > 0 && r[0] <= got[i-1][0]) {
			t.Fatalf("report %d %v after %v", i, r, got[:i])
		}
	}
	if last := got[len(got)-1]; last[0] != total {
		t.Errorf("last report %v, want %d done", last, total)
	}
}

// TestMediaProgress: uploads and downloads over 1 MB report their bytes to
// the surface's progress reporter, the upload the bytes streamed to Meta,
// the download the bytes received.
func TestMediaProgress(t *testing.T) {
	file := bytes.Repeat([]byte("%PDF-1.7 progress "), 200_000) // 3.6 MB
	t.Run("upload", func(t *testing.T) {
		f := newFake(t)
		d := newDeps(t, f)
		res, got := progressOf(t, findTool(t, d, "WHATSAPP_UPLOAD_MEDIA"),
			`{"phone_number_id":"`+pnID+`","media_type":"document","file_to_upload":{"name":"big.pdf","content":"`+b64(file)+`"}}`)
		checkProgress(t, got, int64(len(file)))
		if u := graphtest.ParseUpload(t, f.Only(t)); !bytes.Equal(u.File, file) {
			t.Errorf("uploaded %d bytes, want %d", len(u.File), len(file))
		}
		checkSubset(t, dataOf(t, res), `{"size":`+strconv.Itoa(len(file))+`,"sha256":"`+sha(file)+`"}`)
	})
	t.Run("download", func(t *testing.T) {
		f := newFake(t)
		f.media = file
		d := newDeps(t, f)
		d.MaxDownload = 8 << 20
		_, got := progressOf(t, findTool(t, d, "WHATSAPP_GET_MEDIA"), `{"media_id":"`+mediaID+`","download":true}`)
		checkProgress(t, got, int64(len(file)))
	})
}
