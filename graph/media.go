package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
)

// MediaInfo is the answer to GET /{media-id}. URL is valid for 5 minutes
// and needs the bearer token to download.
type MediaInfo struct {
	MessagingProduct string `json:"messaging_product,omitempty"`
	URL              string `json:"url,omitempty"`
	MimeType         string `json:"mime_type"`
	SHA256           string `json:"sha256"`
	// FileSize is a string in Meta's reference and a number in its examples.
	FileSize Number `json:"file_size"`
	ID       string `json:"id"`
}

// Number decodes a JSON number or a numeric string.
type Number string

// UnmarshalJSON accepts 123 and "123".
func (n *Number) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		s = ""
	}
	*n = Number(s)
	return nil
}

// MediaFile is a file to upload. Open is called once per attempt (a retry
// re-opens the file) and must yield exactly Size bytes; the client closes
// what it returns.
type MediaFile struct {
	Name     string
	MIMEType string
	Size     int64
	Open     func() (io.ReadCloser, error)
}

// UploadMedia uploads content held in memory; see UploadMediaFile.
func (c *Client) UploadMedia(ctx context.Context, phoneNumberID, filename, mimeType string, content []byte) (string, *Response, error) {
	return c.UploadMediaFile(ctx, phoneNumberID, MediaFile{Name: filename, MIMEType: mimeType, Size: int64(len(content)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil }})
}

// UploadMediaFile uploads a file as multipart/form-data with the fields
// Meta expects: messaging_product, type (the MIME type, not the category),
// file. The file is streamed, never held: the body is the form's head, the
// file as Open reads it, and the form's end, with its exact Content-Length.
// Like every POST it is retried only when Meta cannot have processed it
// (docs/architecture.md#the-retry-rule), and a retry re-opens the file.
// A file that yields more or fewer than Size bytes fails the upload, which
// Meta then never receives whole.
//
// https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media
func (c *Client) UploadMediaFile(ctx context.Context, phoneNumberID string, f MediaFile) (string, *Response, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("messaging_product", "whatsapp"); err != nil {
		return "", nil, err
	}
	if err := w.WriteField("type", f.MIMEType); err != nil {
		return "", nil, err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, f.Name))
	h.Set("Content-Type", f.MIMEType)
	if _, err := w.CreatePart(h); err != nil {
		return "", nil, err
	}
	n := buf.Len()
	if err := w.Close(); err != nil {
		return "", nil, err
	}
	head, tail := buf.Bytes()[:n], buf.Bytes()[n:]
	var failed readFailure
	open := func() (io.ReadCloser, error) {
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("opening the file to upload: %w", err)
		}
		file := &exactReader{r: rc, left: f.Size, failed: &failed}
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), file, bytes.NewReader(tail)), rc}, nil
	}
	var out struct {
		ID string `json:"id"`
	}
	resp, err := c.do(ctx, &request{method: http.MethodPost, path: url.PathEscape(phoneNumberID) + "/media",
		open: open, size: int64(len(head)) + f.Size + int64(len(tail)), contentType: w.FormDataContentType()}, &out)
	if rerr := failed.get(); err != nil && rerr != nil {
		// The transport stopped short of the Content-Length it announced.
		return "", resp, fmt.Errorf("graph: reading the file to upload: %w (nothing was uploaded)", rerr)
	}
	if err != nil {
		return "", resp, err
	}
	return out.ID, resp, nil
}

// exactReader reads left more bytes from r, failing when r has fewer or
// more (the file changed since its size was taken).
type exactReader struct {
	r      io.Reader
	left   int64
	failed *readFailure
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		var one [1]byte
		if n, _ := io.ReadFull(e.r, one[:]); n > 0 {
			return 0, e.failed.set(errors.New("the file is longer than its size"))
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, e.failed.set(errors.New("the file is shorter than its size"))
	}
	if err != nil && err != io.EOF {
		return n, e.failed.set(err)
	}
	return n, nil
}

// readFailure is the error of reading the file, set by the transport's
// goroutine and read by the caller's.
type readFailure struct {
	mu  sync.Mutex
	err error
}

func (f *readFailure) set(err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	return err
}

func (f *readFailure) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// GetMedia reads a media object's URL and metadata. phoneNumberID is
// optional: Meta then processes the call only if the media belongs to it.
func (c *Client) GetMedia(ctx context.Context, mediaID, phoneNumberID string) (*MediaInfo, *Response, error) {
	q := url.Values{}
	if phoneNumberID != "" {
		q.Set("phone_number_id", phoneNumberID)
	}
	out := new(MediaInfo)
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: url.PathEscape(mediaID), query: q}, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// ErrTooLarge is returned by DownloadMedia when the file exceeds the limit.
var ErrTooLarge = errors.New("graph: media larger than the download limit")

// DownloadMedia fetches a media URL returned by GetMedia, with the bearer
// token, writing at most limit bytes to w. It returns the size and the
// Content-Type Meta sent.
func (c *Client) DownloadMedia(ctx context.Context, mediaURL string, w io.Writer, limit int64) (int64, string, *Response, error) {
	u, err := url.Parse(mediaURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return 0, "", nil, fmt.Errorf("graph: media URL must be absolute http(s)")
	}
	// The bearer token goes with the download: never over plain HTTP unless
	// the Graph API itself is reached that way (a local emulator).
	if u.Scheme == "http" && c.baseURL.Scheme == "https" {
		return 0, "", nil, fmt.Errorf("graph: refusing to send the access token to a plain-http media URL")
	}
	resp, err := c.doRaw(ctx, &request{method: http.MethodGet, absoluteURL: mediaURL})
	if err != nil {
		return 0, "", resp, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > limit {
		return 0, "", resp, ErrTooLarge
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return n, "", resp, fmt.Errorf("graph: downloading media: %w", err)
	}
	if n > limit {
		return n, "", resp, ErrTooLarge
	}
	return n, resp.Header.Get("Content-Type"), resp, nil
}
