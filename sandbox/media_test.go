package sandbox_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

var (
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...)
	webpBytes = append([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), bytes.Repeat([]byte{1}, 50)...)
)

type filePart struct {
	name, ct string
	data     []byte
}

// upload posts a multipart form like Meta's upload endpoint expects.
func (e *env) upload(t *testing.T, phoneID string, fields map[string]string, f *filePart) resp {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, val := range fields {
		_ = w.WriteField(k, val)
	}
	if f != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, f.name))
		if f.ct != "" {
			h.Set("Content-Type", f.ct)
		}
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write(f.data)
	}
	_ = w.Close()
	return e.do(t, http.MethodPost, v+"/"+phoneID+"/media", buf.Bytes(), func(r *http.Request) {
		r.Header.Set("Content-Type", w.FormDataContentType())
	})
}

func TestMediaUploadValidation(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	ok := map[string]string{"messaging_product": "whatsapp", "type": "image/png"}
	with := func(k, val string) map[string]string {
		out := map[string]string{}
		for a, b := range ok {
			out[a] = b
		}
		if val == "" {
			delete(out, k)
		} else {
			out[k] = val
		}
		return out
	}
	png := &filePart{"a.png", "image/png", pngBytes}
	cases := []struct {
		name   string
		fields map[string]string
		file   *filePart
		code   int
		detail string
	}{
		{"no messaging_product", with("messaging_product", ""), png, 100, ""},
		{"wrong messaging_product", with("messaging_product", "sms"), png, 100, ""},
		{"no file", ok, nil, 131008, "file"},
		{"no type", with("type", ""), png, 131008, "type"},
		{"category instead of MIME", with("type", "image"), png, 131053, "MIME"},
		{"unsupported MIME", with("type", "image/gif"), &filePart{"a.gif", "image/gif", []byte("GIF89a")}, 131053, "image/gif"},
		{"part type mismatch", ok, &filePart{"a.png", "application/octet-stream", pngBytes}, 131053, "does not match"},
		{"part type missing", ok, &filePart{"a.png", "", pngBytes}, 131053, "does not match"},
		{"empty file", ok, &filePart{"a.png", "image/png", nil}, 131053, "empty"},
		{"not really a png", ok, &filePart{"a.png", "image/png", []byte("hello")}, 131053, "not valid"},
		{"image over 5 MB", ok, &filePart{"a.png", "image/png", append(pngBytes, make([]byte, 5<<20)...)}, 131053, "5 MB"},
		{"sticker over 500 KB", with("type", "image/webp"), &filePart{"a.webp", "image/webp", append(webpBytes, make([]byte, 500<<10)...)}, 131053, "500 KB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.upload(t, sandbox.PhoneNumberID, tc.fields, tc.file)
			wantError(t, r, 400, tc.code, 0)
			if tc.code == 131053 && r.errField("message") != "(#131053) Media upload error" {
				t.Errorf("message: %s", r.raw)
			}
			ed, _ := r.errField("error_data").(map[string]any)
			if d, _ := ed["details"].(string); !strings.Contains(d, tc.detail) {
				t.Errorf("details %q lack %q", d, tc.detail)
			}
		})
	}
	// Not multipart at all: no parameters arrive.
	r := e.do(t, http.MethodPost, v+"/"+sandbox.PhoneNumberID+"/media", m{"messaging_product": "whatsapp"})
	wantError(t, r, 400, 100, 0)
}

func TestMediaUploadTypes(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	cases := []struct{ mime, name string }{
		{"image/jpeg", "a.jpg"}, {"image/webp", "a.webp"}, {"video/mp4", "a.mp4"}, {"video/3gpp", "a.3gp"},
		{"audio/ogg", "a.ogg"}, {"audio/mpeg", "a.mp3"}, {"application/pdf", "a.pdf"}, {"text/plain", "a.txt"},
		{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a.docx"},
	}
	content := map[string][]byte{
		"image/jpeg": {0xff, 0xd8, 0xff, 0xe0, 1, 2}, "image/webp": webpBytes, "application/pdf": []byte("%PDF-1.7\n"),
	}
	for _, tc := range cases {
		t.Run(tc.mime, func(t *testing.T) {
			data := content[tc.mime]
			if data == nil {
				data = []byte("some bytes")
			}
			r := e.upload(t, sandbox.PhoneNumberID, map[string]string{"messaging_product": "whatsapp", "type": tc.mime},
				&filePart{tc.name, tc.mime + "; charset=binary", data})
			if id, _ := r.body["id"].(string); r.status != 200 || id == "" || strings.Trim(id, "0123456789") != "" {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
		})
	}
}

func TestMediaLifecycle(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	up := e.upload(t, sandbox.PhoneNumberID, map[string]string{"messaging_product": "whatsapp", "type": "image/png"}, &filePart{"shop.png", "image/png", pngBytes})
	id, _ := up.body["id"].(string)
	if up.status != 200 || id == "" || len(up.body) != 1 {
		t.Fatalf("upload %d: %s", up.status, up.raw)
	}

	info := e.get(t, v+"/"+id)
	sum := sha256.Sum256(pngBytes)
	if info.status != 200 || info.body["messaging_product"] != "whatsapp" || info.body["mime_type"] != "image/png" ||
		info.body["sha256"] != hex.EncodeToString(sum[:]) || info.body["file_size"] != float64(len(pngBytes)) || info.body["id"] != id {
		t.Fatalf("media info %d: %s", info.status, info.raw)
	}
	if !bytes.Contains(info.raw, []byte(`"url":"http:\/\/`)) {
		t.Errorf("url not escaped Meta-style: %s", info.raw)
	}
	u, _ := info.body["url"].(string)
	if !strings.HasPrefix(u, e.srv.URL+"/sandbox/media/"+id+"?") {
		t.Fatalf("url %q", u)
	}

	download := func(auth string) (int, []byte, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b, res.Header.Get("Content-Type")
	}
	if st, _, _ := download(""); st != 401 {
		t.Errorf("download without bearer: %d", st)
	}
	if st, _, _ := download("Bearer wrong"); st != 401 {
		t.Errorf("download with wrong bearer: %d", st)
	}
	st, b, ct := download("Bearer " + sandbox.DefaultToken)
	if st != 200 || !bytes.Equal(b, pngBytes) || ct != "image/png" {
		t.Fatalf("download: %d %q %d bytes", st, ct, len(b))
	}
	e.clock.Advance(4 * time.Minute)
	if st, _, _ := download("Bearer " + sandbox.DefaultToken); st != 200 {
		t.Errorf("download after 4 minutes: %d", st)
	}
	e.clock.Advance(time.Minute + time.Second)
	if st, _, _ := download("Bearer " + sandbox.DefaultToken); st != 404 {
		t.Errorf("download after 5 minutes: %d", st)
	}
	// A fresh GET gives a fresh URL.
	u, _ = e.get(t, v+"/"+id).body["url"].(string)
	if st, _, _ := download("Bearer " + sandbox.DefaultToken); st != 200 {
		t.Errorf("download of a fresh URL: %d", st)
	}

	// phone_number_id must be the uploader when given.
	if r := e.get(t, v+"/"+id+"?phone_number_id="+sandbox.PhoneNumberID); r.status != 200 {
		t.Errorf("own phone_number_id: %d", r.status)
	}
	wantError(t, e.get(t, v+"/"+id+"?phone_number_id="+sandbox.PhoneNumberID2), 400, 100, 33)

	// Send by id works while the media exists.
	if r := e.send(t, msg("image", m{"id": id, "caption": "Our shop"})); r.status != 200 {
		t.Errorf("send by id: %d %s", r.status, r.raw)
	}

	del := e.do(t, http.MethodDelete, v+"/"+id, nil)
	if del.status != 200 || del.body["success"] != true {
		t.Fatalf("delete: %d %s", del.status, del.raw)
	}
	wantError(t, e.get(t, v+"/"+id), 400, 100, 33)
	wantError(t, e.do(t, http.MethodDelete, v+"/"+id, nil), 400, 100, 33)
	if st, _, _ := download("Bearer " + sandbox.DefaultToken); st != 404 {
		t.Errorf("download after delete: %d", st)
	}
	wantError(t, e.send(t, msg("image", m{"id": id})), 400, 131053, 0)
}

func TestMediaIDExpires(t *testing.T) {
	e := newEnv(t, sandbox.Config{FileSizeAsString: true}, false)
	id, _ := e.upload(t, sandbox.PhoneNumberID, map[string]string{"messaging_product": "whatsapp", "type": "text/plain"}, &filePart{"a.txt", "text/plain", []byte("hi")}).body["id"].(string)
	if r := e.get(t, v+"/"+id); r.body["file_size"] != "2" {
		t.Errorf("file_size as string: %s", r.raw)
	}
	e.clock.Advance(30 * 24 * time.Hour)
	wantError(t, e.get(t, v+"/"+id), 400, 100, 33)
}
