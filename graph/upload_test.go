package graph_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// countedFile is a MediaFile whose opens and closes are counted; its
// reader hands out at most 1000 bytes a read, as a stream would.
type countedFile struct {
	content       []byte
	size          int64 // what the MediaFile declares
	opens, closes atomic.Int32
	failOpen      bool
}

func (f *countedFile) media() graph.MediaFile {
	return graph.MediaFile{Name: "big.pdf", MIMEType: "application/pdf", Size: f.size, Open: func() (io.ReadCloser, error) {
		f.opens.Add(1)
		if f.failOpen {
			return nil, errors.New("permission denied")
		}
		return &countedReader{f: f, r: bytes.NewReader(f.content)}, nil
	}}
}

type countedReader struct {
	f *countedFile
	r *bytes.Reader
}

func (c *countedReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), 1000)]) }
func (c *countedReader) Close() error               { c.f.closes.Add(1); return nil }

func newFile(n int) *countedFile {
	b := bytes.Repeat([]byte("0123456789"), n/10+1)[:n]
	return &countedFile{content: b, size: int64(n)}
}

// TestUploadMediaFileStreams: the file is streamed into the multipart body
// with its exact Content-Length (no chunking), and the form is what Meta
// expects.
func TestUploadMediaFileStreams(t *testing.T) {
	f := graphtest.New(t, nil)
	var length int64
	var chunked bool
	f.Route("POST /v25.0/"+pnID+"/media", func(w http.ResponseWriter, r *http.Request) {
		length, chunked = r.ContentLength, len(r.TransferEncoding) > 0
		graphtest.WriteJSON(w, 200, `{"id":"1037543291543636"}`)
	})
	file := newFile(300_001)
	id, _, err := f.NewClient(t).UploadMediaFile(context.Background(), pnID, file.media())
	if err != nil || id != "1037543291543636" {
		t.Fatalf("id %q, err %v", id, err)
	}
	got := f.Only(t)
	if chunked || length != int64(len(got.Body)) {
		t.Errorf("Content-Length %d (chunked %v), body %d bytes: want the exact length", length, chunked, len(got.Body))
	}
	u := graphtest.ParseUpload(t, got)
	if !bytes.Equal(u.File, file.content) || u.FileName != "big.pdf" || u.FileType != "application/pdf" ||
		u.Fields["messaging_product"] != "whatsapp" || u.Fields["type"] != "application/pdf" {
		t.Errorf("upload = %d bytes %q %q %v", len(u.File), u.FileName, u.FileType, u.Fields)
	}
	if file.opens.Load() != 1 || file.closes.Load() != 1 {
		t.Errorf("opened %d, closed %d times, want once each", file.opens.Load(), file.closes.Load())
	}
}

// TestUploadMediaFileRetries: a retried upload re-opens the file and sends
// it whole again; an upload whose request may have reached Meta is not
// retried (docs/architecture.md#the-retry-rule). Every opened file is
// closed.
func TestUploadMediaFileRetries(t *testing.T) {
	t.Run("throttled: Meta did not process it", func(t *testing.T) {
		f := graphtest.New(t, graphtest.Sequence(graphtest.Reply(400, graphtest.MetaError(130429, 0, "")), graphtest.Reply(200, `{"id":"7"}`)))
		file := newFile(50_000)
		id, resp, err := f.NewClient(t, graph.WithRetry(graphtest.TinyRetry)).UploadMediaFile(context.Background(), pnID, file.media())
		if err != nil || id != "7" || resp.Attempts != 2 {
			t.Fatalf("id %q attempts %d err %v", id, resp.Attempts, err)
		}
		for i, r := range f.Requests() {
			if u := graphtest.ParseUpload(t, r); !bytes.Equal(u.File, file.content) {
				t.Errorf("attempt %d sent %d bytes of the file", i+1, len(u.File))
			}
		}
		if file.opens.Load() != 2 || file.closes.Load() != 2 {
			t.Errorf("opened %d, closed %d times, want twice each", file.opens.Load(), file.closes.Load())
		}
	})
	t.Run("no connection: retried", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens: every dial is refused
		c, err := graph.NewClient("tok", graph.WithBaseURL("http://"+addr+"/"), graph.WithRetry(graphtest.TinyRetry))
		if err != nil {
			t.Fatal(err)
		}
		file := newFile(50_000)
		_, resp, err := c.UploadMediaFile(context.Background(), pnID, file.media())
		var ne *graph.NetworkError
		if !errors.As(err, &ne) || !ne.NotSent || resp.Attempts != 3 {
			t.Fatalf("err %v, attempts %d: want a NotSent network error after 3 attempts", err, resp.Attempts)
		}
		if file.opens.Load() != 3 || file.closes.Load() != 3 {
			t.Errorf("opened %d, closed %d times, want 3 each", file.opens.Load(), file.closes.Load())
		}
	})
	t.Run("dropped after sending: not retried", func(t *testing.T) {
		f := graphtest.New(t, graphtest.DropConnection)
		file := newFile(50_000)
		_, _, err := f.NewClient(t, graph.WithRetry(graphtest.TinyRetry)).UploadMediaFile(context.Background(), pnID, file.media())
		var ou *graph.OutcomeUnknownError
		if !errors.As(err, &ou) || f.Count() != 1 || file.opens.Load() != 1 {
			t.Fatalf("err %v, %d requests, %d opens: want outcome unknown after one", err, f.Count(), file.opens.Load())
		}
	})
}

// TestUploadMediaFileWrongSize: a file that changed since its size was
// taken fails the upload, which Meta never receives whole; the error says
// so rather than "may have been sent".
func TestUploadMediaFileWrongSize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delta int64
		want  string
	}{
		{"shorter", +10, "shorter"},
		{"longer", -10, "longer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := graphtest.New(t, graphtest.Reply(200, `{"id":"7"}`))
			file := newFile(50_000)
			file.size += tc.delta
			_, _, err := f.NewClient(t, graph.WithRetry(graphtest.TinyRetry)).UploadMediaFile(context.Background(), pnID, file.media())
			var ou *graph.OutcomeUnknownError
			if err == nil || errors.As(err, &ou) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was uploaded") {
				t.Fatalf("err = %v", err)
			}
			if file.opens.Load() != 1 {
				t.Errorf("opened %d times: a file that cannot be read whole is not retried", file.opens.Load())
			}
		})
	}
	t.Run("cannot open", func(t *testing.T) {
		f := graphtest.New(t, nil)
		file := newFile(10)
		file.failOpen = true
		_, _, err := f.NewClient(t, graph.WithRetry(graphtest.TinyRetry)).UploadMediaFile(context.Background(), pnID, file.media())
		if err == nil || !strings.Contains(err.Error(), "permission denied") || f.Count() != 0 {
			t.Fatalf("err %v, %d requests", err, f.Count())
		}
	})
}
