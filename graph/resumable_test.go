package graph_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

const appID = "584544743160774"

// session is Meta's session id shape: the signature rides as a query.
const session = "upload:MTphdHRhY2htZW50Ojlk2mJiZxUwLWV6MDUtNDIwMy05yTA3LWQ4ZDPmZGFkNTM0NT8=?sig=ARZqkGCA_uQMxC8nHKI"

// TestUploadHandleRequests: the session is opened with the file's name,
// length and type as query parameters; the bytes go to the session's path
// (its sig in the query), with file_offset 0 and an OAuth Authorization
// header, and the answer's h is the handle.
func TestUploadHandleRequests(t *testing.T) {
	f := graphtest.New(t, nil)
	f.Route("POST /v25.0/"+appID+"/uploads", graphtest.Reply(200, `{"id":"`+session+`"}`))
	f.Route("POST /v25.0/upload:MTphdHRhY2htZW50Ojlk2mJiZxUwLWV6MDUtNDIwMy05yTA3LWQ4ZDPmZGFkNTM0NT8=",
		graphtest.Reply(200, `{"h":"2:c2FtcGxlLm1wNA==:image/jpeg:GKAj0gAUCZmJ1voFADip2iIAAAAAbugbAAAA:e:1472075513:ARZ_3ybzrQqEaluMUdI"}`))
	file := newFile(109_981)
	mf := file.media()
	mf.Name, mf.MIMEType = "lucky.png", "image/png"
	h, _, err := f.NewClient(t).UploadHandle(context.Background(), appID, mf)
	if err != nil || h != "2:c2FtcGxlLm1wNA==:image/jpeg:GKAj0gAUCZmJ1voFADip2iIAAAAAbugbAAAA:e:1472075513:ARZ_3ybzrQqEaluMUdI" {
		t.Fatalf("handle %q, err %v", h, err)
	}
	reqs := f.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	start, data := reqs[0], reqs[1]
	if q := start.Query; q.Get("file_name") != "lucky.png" || q.Get("file_length") != "109981" || q.Get("file_type") != "image/png" {
		t.Errorf("start query = %v", q)
	}
	if data.Query.Get("sig") != "ARZqkGCA_uQMxC8nHKI" {
		t.Errorf("data query = %v, want the session's sig", data.Query)
	}
	if got := data.Header.Get("Authorization"); got != "OAuth "+graphtest.Token {
		t.Errorf("Authorization = %q, want OAuth and the token", got)
	}
	if data.Header.Get("file_offset") != "0" || !bytes.Equal(data.Body, file.content) {
		t.Errorf("file_offset %q, %d bytes; want 0 and the whole file", data.Header.Get("file_offset"), len(data.Body))
	}
}

// TestUploadHandleResumes: when the data request's connection drops after
// part of the file may have arrived, the client asks for the offset Meta
// holds and sends only the rest.
func TestUploadHandleResumes(t *testing.T) {
	f := graphtest.New(t, nil)
	f.Route("POST /v25.0/"+appID+"/uploads", graphtest.Reply(200, `{"id":"upload:abc"}`))
	f.Route("POST /v25.0/upload:abc", graphtest.Sequence(graphtest.DropConnection, graphtest.Reply(200, `{"h":"4::aW1hZ2U="}`)))
	f.Route("GET /v25.0/upload:abc", graphtest.Reply(200, `{"id":"upload:abc","file_offset":40000}`))
	file := newFile(100_000)
	h, _, err := f.NewClient(t).UploadHandle(context.Background(), appID, file.media())
	if err != nil || h != "4::aW1hZ2U=" {
		t.Fatalf("handle %q, err %v", h, err)
	}
	reqs := f.Requests()
	last := reqs[len(reqs)-1]
	if last.Header.Get("file_offset") != "40000" || !bytes.Equal(last.Body, file.content[40000:]) {
		t.Errorf("resumed at %q with %d bytes, want 40000 and the remaining 60000", last.Header.Get("file_offset"), len(last.Body))
	}
	if reqs[len(reqs)-2].Method != http.MethodGet {
		t.Errorf("requests %v: want the offset asked before resuming", reqs)
	}
}

// TestUploadHandleLostAnswer: when Meta got the whole file but its answer
// was lost, the client asks again at the end of the file, with no bytes.
func TestUploadHandleLostAnswer(t *testing.T) {
	f := graphtest.New(t, nil)
	f.Route("POST /v25.0/"+appID+"/uploads", graphtest.Reply(200, `{"id":"upload:abc"}`))
	f.Route("POST /v25.0/upload:abc", graphtest.Sequence(graphtest.DropConnection, graphtest.Reply(200, `{"h":"4::done"}`)))
	f.Route("GET /v25.0/upload:abc", graphtest.Reply(200, `{"id":"upload:abc","file_offset":500}`))
	h, _, err := f.NewClient(t).UploadHandle(context.Background(), appID, newFile(500).media())
	if err != nil || h != "4::done" {
		t.Fatalf("handle %q, err %v", h, err)
	}
	reqs := f.Requests()
	last := reqs[len(reqs)-1]
	if last.Header.Get("file_offset") != "500" || len(last.Body) != 0 || last.Header.Get("Content-Length") != "0" && len(last.Header.Values("Transfer-Encoding")) > 0 {
		t.Errorf("asked again with offset %q and %d bytes (%v), want 500 and an empty body", last.Header.Get("file_offset"), len(last.Body), last.Header)
	}
}

// TestUploadHandleErrors: Meta's refusal of the session is a typed *Error
// and nothing else is sent; a session that never completes is an
// *UploadIncompleteError.
func TestUploadHandleErrors(t *testing.T) {
	f := graphtest.New(t, nil)
	f.Route("POST /v25.0/"+appID+"/uploads", graphtest.Reply(400, graphtest.MetaError(100, 0, "")))
	_, _, err := f.NewClient(t).UploadHandle(context.Background(), appID, newFile(10).media())
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Code != 100 || f.Count() != 1 {
		t.Fatalf("err %v after %d requests, want Meta's code 100 after 1", err, f.Count())
	}

	g := graphtest.New(t, nil)
	g.Route("POST /v25.0/"+appID+"/uploads", graphtest.Reply(200, `{"id":"upload:abc"}`))
	g.Route("POST /v25.0/upload:abc", graphtest.Reply(200, `{"id":"upload:abc","file_offset":5}`))
	g.Route("GET /v25.0/upload:abc", graphtest.Reply(200, `{"id":"upload:abc","file_offset":"5"}`))
	_, _, err = g.NewClient(t).UploadHandle(context.Background(), appID, newFile(10).media())
	var inc *graph.UploadIncompleteError
	if !errors.As(err, &inc) || inc.Received != 5 || inc.Size != 10 {
		t.Fatalf("err %v, want UploadIncompleteError 5 of 10", err)
	}
	if _, _, err := g.NewClient(t).UploadHandle(context.Background(), "", newFile(10).media()); err == nil {
		t.Error("no app id: want an error")
	}
}

// TestUploadDataShortFile: a file shorter than its size fails the upload
// without a handle.
func TestUploadDataShortFile(t *testing.T) {
	f := graphtest.New(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		graphtest.WriteJSON(w, 200, `{"h":"x"}`)
	})
	file := newFile(100)
	file.size = 200
	_, _, err := f.NewClient(t).UploadData(context.Background(), "upload:abc", 0, file.media())
	if err == nil {
		t.Fatal("want an error for a file shorter than its size")
	}
	if _, _, err := f.NewClient(t).UploadData(context.Background(), "upload:abc", 300, file.media()); err == nil {
		t.Error("offset past the end: want an error")
	}
}
