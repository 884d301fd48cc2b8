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

// UploadMedia uploads a file as multipart/form-data with the fields Meta
// expects: messaging_product, type (the MIME type, not the category), file.
//
// https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media
func (c *Client) UploadMedia(ctx context.Context, phoneNumberID, filename, mimeType string, content []byte) (string, *Response, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("messaging_product", "whatsapp"); err != nil {
		return "", nil, err
	}
	if err := w.WriteField("type", mimeType); err != nil {
		return "", nil, err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	h.Set("Content-Type", mimeType)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", nil, err
	}
	if _, err := part.Write(content); err != nil {
		return "", nil, err
	}
	if err := w.Close(); err != nil {
		return "", nil, err
	}
	var out struct {
		ID string `json:"id"`
	}
	resp, err := c.do(ctx, &request{method: http.MethodPost, path: url.PathEscape(phoneNumberID) + "/media",
		body: buf.Bytes(), contentType: w.FormDataContentType()}, &out)
	if err != nil {
		return "", resp, err
	}
	return out.ID, resp, nil
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
