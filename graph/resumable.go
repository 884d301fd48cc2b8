package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ResumableTypes are the MIME types the Resumable Upload API takes
// (docs/cloud-api.md#resumable-upload).
var ResumableTypes = []string{"application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4"}

// UploadIncompleteError is returned when Meta still holds fewer bytes of
// the file than its size after every attempt: nothing can use the upload.
type UploadIncompleteError struct {
	Session  string
	Received int64
	Size     int64
}

func (e *UploadIncompleteError) Error() string {
	return fmt.Sprintf("graph: resumable upload incomplete: Meta holds %d of %d bytes (no handle was issued)", e.Received, e.Size)
}

// StartUpload opens an upload session for f on the app and returns its id
// ("upload:…"). A session opened twice is harmless (an unused one expires),
// so it follows the retry rule of every POST.
//
// https://developers.facebook.com/docs/graph-api/guides/upload
func (c *Client) StartUpload(ctx context.Context, appID string, f MediaFile) (string, *Response, error) {
	if appID == "" {
		return "", nil, errors.New("graph: StartUpload needs the app id")
	}
	q := url.Values{"file_name": {f.Name}, "file_length": {strconv.FormatInt(f.Size, 10)}, "file_type": {f.MIMEType}}
	var out struct {
		ID string `json:"id"`
	}
	resp, err := c.do(ctx, &request{method: http.MethodPost, path: url.PathEscape(appID) + "/uploads", query: q}, &out)
	if err != nil {
		return "", resp, err
	}
	if !strings.HasPrefix(out.ID, "upload:") {
		return "", resp, fmt.Errorf("graph: POST /%s/uploads: answer has no upload session id", appID)
	}
	return out.ID, resp, nil
}

// sessionRequest is a request to an upload session. Meta's id may carry
// its signature as a query ("upload:MTph…?sig=ARZ…"), which belongs in the
// URL's query, not its path. The token goes in an "OAuth" Authorization
// header: the session routes refuse it as a query parameter.
func (c *Client) sessionRequest(method, session string) *request {
	id, rawQuery, _ := strings.Cut(session, "?")
	q, _ := url.ParseQuery(rawQuery)
	return &request{method: method, path: url.PathEscape(id), query: q,
		header: http.Header{"Authorization": {"OAuth " + c.token}}}
}

// UploadOffset asks how many bytes of the file Meta holds.
//
// https://developers.facebook.com/docs/graph-api/guides/upload
func (c *Client) UploadOffset(ctx context.Context, session string) (int64, *Response, error) {
	var out struct {
		FileOffset Number `json:"file_offset"`
	}
	resp, err := c.do(ctx, c.sessionRequest(http.MethodGet, session), &out)
	if err != nil {
		return 0, resp, err
	}
	n, perr := strconv.ParseInt(string(out.FileOffset), 10, 64)
	if perr != nil {
		return 0, resp, fmt.Errorf("graph: upload session answer has no file_offset")
	}
	return n, resp, nil
}

// UploadData sends the file from offset on (f.Open is read from its start
// and the first offset bytes skipped) and returns the handle Meta answers
// once it holds the whole file; "" when it does not yet.
//
// https://developers.facebook.com/docs/graph-api/guides/upload
func (c *Client) UploadData(ctx context.Context, session string, offset int64, f MediaFile) (string, *Response, error) {
	if offset < 0 || offset > f.Size {
		return "", nil, fmt.Errorf("graph: upload offset %d is outside the file (%d bytes)", offset, f.Size)
	}
	var failed readFailure
	r := c.sessionRequest(http.MethodPost, session)
	r.header.Set("file_offset", strconv.FormatInt(offset, 10))
	r.contentType = "application/octet-stream"
	r.size = f.Size - offset
	if r.size == 0 {
		// Asking again at the end of the file: an empty body, with its
		// Content-Length of 0 (a streamed one would go chunked).
		r.body = []byte{}
	}
	open := func() (io.ReadCloser, error) {
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("opening the file to upload: %w", err)
		}
		if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
			rc.Close()
			return nil, fmt.Errorf("the file is shorter than the upload offset: %w", err)
		}
		return struct {
			io.Reader
			io.Closer
		}{&exactReader{r: rc, left: f.Size - offset, failed: &failed}, rc}, nil
	}
	if r.size > 0 {
		r.open = open
	}
	var out struct {
		H string `json:"h"`
	}
	resp, err := c.do(ctx, r, &out)
	if rerr := failed.get(); err != nil && rerr != nil {
		return "", resp, fmt.Errorf("graph: reading the file to upload: %w (no handle was issued)", rerr)
	}
	if err != nil {
		return "", resp, err
	}
	return out.H, resp, nil
}

// UploadHandle runs a whole resumable upload of f on the app and returns
// the file handle (e.g. for a template's example.header_handle). When the
// data request fails in a way that may have delivered part of the file (a
// dropped connection), it asks Meta for the offset it holds and sends the
// rest, at most RetryPolicy.MaxAttempts times: resending bytes at an offset
// creates nothing twice (docs/cloud-api.md#resumable-upload).
func (c *Client) UploadHandle(ctx context.Context, appID string, f MediaFile) (string, *Response, error) {
	session, resp, err := c.StartUpload(ctx, appID, f)
	if err != nil {
		return "", resp, err
	}
	var offset int64
	for attempt := 1; ; attempt++ {
		h, resp, err := c.UploadData(ctx, session, offset, f)
		if err == nil && h != "" {
			return h, resp, nil
		}
		if err != nil && !resumable(err) {
			return "", resp, err
		}
		if attempt >= c.retry.MaxAttempts {
			if err != nil {
				return "", resp, err
			}
			return "", resp, &UploadIncompleteError{Session: session, Received: offset, Size: f.Size}
		}
		if err != nil {
			delay := c.backoff(attempt, err)
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
				return "", resp, err
			}
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return "", resp, err
			case <-t.C:
			}
		}
		var oerr error
		offset, resp, oerr = c.UploadOffset(ctx, session)
		if oerr != nil {
			return "", resp, oerr
		}
		if offset >= f.Size {
			// Meta holds the whole file but its answer with the handle was
			// lost; an empty body at the end asks for it again.
			offset = f.Size
		}
	}
}

// resumable says whether a failed data request may be continued from the
// offset Meta holds: the connection failed, or Meta said it was busy.
func resumable(err error) bool {
	var ou *OutcomeUnknownError
	var ne *NetworkError
	var ge *Error
	switch {
	case errors.As(err, &ou), errors.As(err, &ne):
		return true
	case errors.As(err, &ge):
		return ge.Throttled() || ge.HTTPStatus >= 500 || ge.IsTransient
	}
	return false
}
