package sandbox_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/sandbox"
)

// oauth sends the token as the session routes want it.
func oauth(r *http.Request) { r.Header.Set("Authorization", "OAuth "+sandbox.DefaultToken) }

func offset(n string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("file_offset", n) }
}

// startSession opens an upload session and returns its path (with sig).
func (e *env) startSession(t *testing.T, name, typ string, length int) string {
	t.Helper()
	q := url.Values{"file_name": {name}, "file_type": {typ}, "file_length": {strconv.Itoa(length)}}
	r := e.do(t, http.MethodPost, v+"/"+sandbox.AppID+"/uploads?"+q.Encode(), nil)
	id, _ := r.body["id"].(string)
	if r.status != 200 || !strings.HasPrefix(id, "upload:") || !strings.Contains(id, "?sig=") {
		t.Fatalf("start: HTTP %d %s", r.status, r.raw)
	}
	return v + "/" + id
}

// uploadHandle runs a whole upload of data and returns the handle.
func (e *env) uploadHandle(t *testing.T, typ string, data []byte) string {
	t.Helper()
	p := e.startSession(t, "f", typ, len(data))
	r := e.do(t, http.MethodPost, p, data, oauth, offset("0"))
	h, _ := r.body["h"].(string)
	if r.status != 200 || h == "" {
		t.Fatalf("upload: HTTP %d %s", r.status, r.raw)
	}
	return h
}

// TestResumableUpload: a session takes the file in pieces at the offset it
// holds, tells its offset, and issues one handle for the whole file, again
// when asked at the end.
func TestResumableUpload(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	data := []byte("%PDF-1.4 a small pdf for a document header")
	p := e.startSession(t, "menu.pdf", "application/pdf", len(data))
	if r := e.do(t, http.MethodPost, p, data[:10], oauth, offset("0")); r.status != 200 || r.body["h"] != nil {
		t.Fatalf("first part: HTTP %d %s, want 200 and no handle yet", r.status, r.raw)
	}
	r := e.do(t, http.MethodGet, p, nil, oauth)
	if off, _ := r.body["file_offset"].(float64); r.status != 200 || off != 10 {
		t.Fatalf("status: %s, want file_offset 10", r.raw)
	}
	r = e.do(t, http.MethodPost, p, data[10:], oauth, offset("10"))
	h, _ := r.body["h"].(string)
	if r.status != 200 || !strings.HasPrefix(h, "4::") || !e.sb.IssuedHandle(h) {
		t.Fatalf("rest: HTTP %d %s, want an issued handle", r.status, r.raw)
	}
	if again := e.do(t, http.MethodPost, p, nil, oauth, offset(strconv.Itoa(len(data)))); again.body["h"] != h {
		t.Errorf("asking again at the end: %s, want the same handle", again.raw)
	}
	if e.sb.IssuedHandle("4::forged") {
		t.Error("a handle never issued is known")
	}
}

// TestResumableUploadErrors: Meta's parameter and header rules, each
// answered with a Graph error and changing nothing.
func TestResumableUploadErrors(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, false)
	start := func(q string) resp { return e.do(t, http.MethodPost, v+"/"+sandbox.AppID+"/uploads?"+q, nil) }
	for _, tc := range []struct{ name, q string }{
		{"no file_name", "file_length=10&file_type=image/png"},
		{"no file_length", "file_name=a.png&file_type=image/png"},
		{"no file_type", "file_name=a.png&file_length=10"},
		{"zero length", "file_name=a.png&file_length=0&file_type=image/png"},
		{"a type it does not take", "file_name=a.gif&file_length=10&file_type=image/gif"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, start(tc.q), 400, 100, 0) })
	}
	t.Run("unknown app", func(t *testing.T) {
		wantError(t, e.do(t, http.MethodPost, v+"/123456/uploads?file_name=a.png&file_length=1&file_type=image/png", nil), 400, 100, 33)
	})
	p := e.startSession(t, "a.png", "image/png", 4)
	t.Run("bearer instead of OAuth", func(t *testing.T) {
		wantError(t, e.do(t, http.MethodPost, p, []byte("abcd"), offset("0")), 401, 190, 0)
	})
	t.Run("token in the query", func(t *testing.T) {
		r := e.do(t, http.MethodPost, p+"&access_token="+sandbox.DefaultToken, []byte("abcd"), offset("0"),
			func(r *http.Request) { r.Header.Del("Authorization") })
		wantError(t, r, 401, 190, 0)
	})
	t.Run("file_offset missing, or in the query", func(t *testing.T) {
		wantError(t, e.do(t, http.MethodPost, p+"&file_offset=0", []byte("abcd"), oauth), 400, 100, 0)
	})
	t.Run("offset not what the session holds", func(t *testing.T) {
		wantError(t, e.do(t, http.MethodPost, p, []byte("bcd"), oauth, offset("1")), 400, 100, 0)
	})
	t.Run("longer than file_length", func(t *testing.T) {
		wantError(t, e.do(t, http.MethodPost, p, []byte("abcde"), oauth, offset("0")), 400, 100, 0)
	})
	t.Run("wrong sig", func(t *testing.T) {
		bad := p[:strings.Index(p, "?sig=")] + "?sig=forged"
		wantError(t, e.do(t, http.MethodPost, bad, []byte("abcd"), oauth, offset("0")), 400, 100, 0)
	})
	t.Run("unknown session", func(t *testing.T) {
		wantError(t, e.do(t, http.MethodPost, v+"/upload:nothing", []byte("abcd"), oauth, offset("0")), 400, 100, 33)
	})
	// None of the refusals wrote: the whole file still fits at offset 0.
	if r := e.do(t, http.MethodPost, p, []byte("abcd"), oauth, offset("0")); r.body["h"] == nil {
		t.Errorf("after the refusals: %s, want the handle", r.raw)
	}
}
