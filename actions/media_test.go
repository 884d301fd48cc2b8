package actions_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

const uploadPath = "/v25.0/" + pnID + "/media"

var (
	pngBytes  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake png")
	jpegBytes = []byte("\xff\xd8\xff\xe0\x00\x10JFIF fake jpeg")
	webpBytes = []byte("RIFF\x10\x00\x00\x00WEBPVP8 fake webp")
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestUploadMedia(t *testing.T) {
	tests := []struct {
		name      string
		mediaType string
		file      string // file_to_upload JSON; MEDIADIR is replaced by the media directory
		setup     func(t *testing.T, dir string)
		wantName  string
		wantMIME  string
		wantBytes []byte
	}{
		{
			name: "document from base64", mediaType: "document",
			file:     `{"name":"hello.txt","mimetype":"text/plain","content":"` + b64([]byte("Hello, WhatsApp!")) + `"}`,
			wantName: "hello.txt", wantMIME: "text/plain", wantBytes: []byte("Hello, WhatsApp!"),
		},
		{
			name: "MIME parameters dropped", mediaType: "document",
			file:     `{"name":"notes.txt","mimetype":"text/plain; charset=utf-8","content":"` + b64([]byte("hi")) + `"}`,
			wantName: "notes.txt", wantMIME: "text/plain", wantBytes: []byte("hi"),
		},
		{
			name: "image MIME derived from the name, alias image/jpg", mediaType: "image",
			file:     `{"name":"photo.JPG","mimetype":"image/jpg","content":"` + b64(jpegBytes) + `"}`,
			wantName: "photo.JPG", wantMIME: "image/jpeg", wantBytes: jpegBytes,
		},
		{
			name: "image MIME derived from the extension", mediaType: "image",
			file:     `{"name":"logo.png","content":"` + b64(pngBytes) + `"}`,
			wantName: "logo.png", wantMIME: "image/png", wantBytes: pngBytes,
		},
		{
			name: "sticker webp", mediaType: "sticker",
			file:     `{"name":"s.webp","content":"` + b64(webpBytes) + `"}`,
			wantName: "s.webp", wantMIME: "image/webp", wantBytes: webpBytes,
		},
		{
			name: "video/3gp alias sent as video/3gpp", mediaType: "video",
			file:     `{"name":"clip.3gp","mimetype":"video/3gp","content":"` + b64([]byte("3gp bytes")) + `"}`,
			wantName: "clip.3gp", wantMIME: "video/3gpp", wantBytes: []byte("3gp bytes"),
		},
		{
			name: "relative path inside the media directory, name from the path", mediaType: "image",
			file: `{"path":"photos/a.png"}`,
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "photos", "a.png"), pngBytes)
			},
			wantName: "a.png", wantMIME: "image/png", wantBytes: pngBytes,
		},
		{
			name: "absolute path inside the media directory, explicit name", mediaType: "audio",
			file: `{"path":"MEDIADIR/voice.ogg","name":"note.ogg"}`,
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "voice.ogg"), []byte("OggS fake"))
			},
			wantName: "note.ogg", wantMIME: "audio/ogg", wantBytes: []byte("OggS fake"),
		},
		{
			name: "symlink that stays inside the media directory", mediaType: "document",
			file: `{"path":"link.pdf"}`,
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "real.pdf"), []byte("%PDF-1.4"))
				if err := os.Symlink(filepath.Join(dir, "real.pdf"), filepath.Join(dir, "link.pdf")); err != nil {
					t.Skip("symlinks unsupported:", err)
				}
			},
			// The file part's name (link.pdf or real.pdf) is not pinned.
			wantName: "", wantMIME: "application/pdf", wantBytes: []byte("%PDF-1.4"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			d := newDeps(t, f)
			if tt.setup != nil {
				tt.setup(t, d.MediaDir)
			}
			file := strings.ReplaceAll(tt.file, "MEDIADIR", d.MediaDir)
			res := call(t, d, "WHATSAPP_UPLOAD_MEDIA", `{"phone_number_id":"`+pnID+`","media_type":"`+tt.mediaType+`","file_to_upload":`+file+`}`)
			if !res.Successful {
				t.Fatalf("failed: %s", res.Error)
			}
			reqs := f.Requests()
			if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != uploadPath || len(reqs[0].Query) != 0 {
				t.Fatalf("requests = %+v", reqs)
			}
			u := graphtest.ParseUpload(t, reqs[0])
			fields, name, typ, content := u.Fields, u.FileName, u.FileType, u.File
			if len(fields) != 2 || fields["messaging_product"] != "whatsapp" || fields["type"] != tt.wantMIME {
				t.Errorf("form fields = %v, want messaging_product=whatsapp type=%s", fields, tt.wantMIME)
			}
			if (tt.wantName != "" && name != tt.wantName) || name == "" || typ != tt.wantMIME || !bytes.Equal(content, tt.wantBytes) {
				t.Errorf("file part: name %q type %q bytes %q", name, typ, content)
			}
			checkSubset(t, dataOf(t, res), `{"id":"1037543291543636","mime_type":"`+tt.wantMIME+`","size":`+itoa(len(tt.wantBytes))+`,"sha256":"`+sha(tt.wantBytes)+`"}`)
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUploadMediaInvalid: every rule fails before anything is uploaded.
func TestUploadMediaInvalid(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	writeFile(t, secret, []byte("do not upload"))
	bigSticker := append(append([]byte{}, webpBytes...), make([]byte, 500_001)...)

	tests := []struct {
		name      string
		mediaType string
		file      string
		noDir     bool
		setup     func(t *testing.T, dir string)
		field     string
		ruleHas   string
	}{
		{name: "bad base64", mediaType: "document", file: `{"name":"a.txt","content":"not base64!!"}`, field: "file_to_upload.content", ruleHas: "base64"},
		{name: "both content and path", mediaType: "document", file: `{"name":"a.txt","content":"aGk=","path":"a.txt"}`, field: "file_to_upload.content"},
		{name: "neither content nor path", mediaType: "document", file: `{"name":"a.txt"}`, field: "file_to_upload.content"},
		{name: "no file at all", mediaType: "document", file: `{}`, field: "file_to_upload"},
		{name: "path with ..", mediaType: "document", file: `{"path":"../secret.txt"}`, field: "file_to_upload.path", ruleHas: ".."},
		{name: "path with .. in the middle", mediaType: "document", file: `{"path":"sub/../../secret.txt"}`, field: "file_to_upload.path", ruleHas: ".."},
		{name: "absolute path outside", mediaType: "document", file: `{"path":"` + secret + `"}`, field: "file_to_upload.path", ruleHas: "outside"},
		{name: "symlink inside pointing outside", mediaType: "document", file: `{"path":"innocent.txt"}`,
			setup: func(t *testing.T, dir string) {
				if err := os.Symlink(secret, filepath.Join(dir, "innocent.txt")); err != nil {
					t.Skip("symlinks unsupported:", err)
				}
			}, field: "file_to_upload.path", ruleHas: "outside"},
		{name: "symlinked directory inside pointing outside", mediaType: "document", file: `{"path":"out/secret.txt"}`,
			setup: func(t *testing.T, dir string) {
				if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
					t.Skip("symlinks unsupported:", err)
				}
			}, field: "file_to_upload.path", ruleHas: "outside"},
		{name: "path is a directory", mediaType: "document", file: `{"path":"sub"}`,
			setup: func(t *testing.T, dir string) { _ = os.Mkdir(filepath.Join(dir, "sub"), 0o755) }, field: "file_to_upload.path"},
		{name: "missing file", mediaType: "document", file: `{"path":"nope.txt"}`, field: "file_to_upload.path"},
		{name: "no media directory configured", mediaType: "document", file: `{"path":"a.txt"}`, noDir: true, field: "file_to_upload.path", ruleHas: "WHATSAPP_MEDIA_DIR"},
		{name: "image/gif is not an image type", mediaType: "image", file: `{"name":"a.gif","mimetype":"image/gif","content":"` + b64([]byte("GIF89a")) + `"}`, field: "file_to_upload.mimetype", ruleHas: "image/gif is not allowed"},
		{name: "webp only as sticker", mediaType: "image", file: `{"name":"s.webp","content":"` + b64(webpBytes) + `"}`, field: "file_to_upload.mimetype", ruleHas: "image/webp is not allowed"},
		{name: "document MIME for audio", mediaType: "audio", file: `{"name":"a.pdf","content":"` + b64([]byte("%PDF")) + `"}`, field: "file_to_upload.mimetype"},
		{name: "sticker over 500 KB", mediaType: "sticker", file: `{"name":"big.webp","content":"` + b64(bigSticker) + `"}`, field: "file_to_upload", ruleHas: "500 KB"},
		{name: "sticker over 500 KB by path", mediaType: "sticker", file: `{"path":"big.webp"}`,
			setup: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "big.webp"), bigSticker) }, field: "file_to_upload.path", ruleHas: "500 KB"},
		{name: "PNG bytes declared as JPEG", mediaType: "image", file: `{"name":"a.jpg","mimetype":"image/jpeg","content":"` + b64(pngBytes) + `"}`, field: "file_to_upload.mimetype", ruleHas: "image/png"},
		{name: "content without a name", mediaType: "document", file: `{"mimetype":"text/plain","content":"aGk="}`, field: "file_to_upload.name"},
		{name: "unknown extension, no MIME", mediaType: "document", file: `{"name":"a.xyz","content":"aGk="}`, field: "file_to_upload.mimetype"},
		{name: "unknown file field", mediaType: "document", file: `{"name":"a.txt","content":"aGk=","bytes":"x"}`, field: "file_to_upload.bytes"},
		{name: "bad media_type", mediaType: "gif", file: `{"name":"a.txt","content":"aGk="}`, field: "media_type"},
	}
	f := newFake(t)
	d := newDeps(t, f)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Reset()
			d.MediaDir = t.TempDir()
			if tt.setup != nil {
				tt.setup(t, d.MediaDir)
			}
			if tt.noDir {
				d.MediaDir = ""
			}
			res := call(t, d, "WHATSAPP_UPLOAD_MEDIA", `{"phone_number_id":"`+pnID+`","media_type":"`+tt.mediaType+`","file_to_upload":`+tt.file+`}`)
			checkInvalid(t, res, f, tt.field, tt.ruleHas)
		})
	}
}

func TestGetMedia(t *testing.T) {
	info := graphtest.Want{Method: "GET", Path: "/v25.0/" + mediaID}
	t.Run("url only", func(t *testing.T) {
		f, res := callOK(t, "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`"}`)
		graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{info})
		data := dataOf(t, res)
		checkSubset(t, data, `{"id":"`+mediaID+`","mime_type":"image/jpeg","sha256":"`+f.mediaSHA()+`","file_size":"`+itoa(len(f.media))+`",`+
			`"messaging_product":"whatsapp","url":"`+f.mediaURL()+`","url_expires_at":"2026-03-01T12:05:00Z"}`)
		if _, has := data["content_base64"]; has {
			t.Errorf("content without download: %v", data)
		}
	})
	t.Run("download inline with the bearer token", func(t *testing.T) {
		f, res := callOK(t, "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true}`)
		reqs := f.Requests()
		if len(reqs) != 2 || reqs[1].Method != "GET" || reqs[1].Path != graphtest.CDNPath || reqs[1].Query.Get("hash") != "ATsig" {
			t.Fatalf("requests = %+v", reqs)
		}
		if a := reqs[1].Header.Get("Authorization"); a != "Bearer "+graphtest.Token {
			t.Errorf("download Authorization = %q", a)
		}
		checkSubset(t, dataOf(t, res), `{"content_base64":"`+b64(f.media)+`","downloaded_bytes":`+itoa(len(f.media))+`,"sha256":"`+f.mediaSHA()+`"}`)
	})
	t.Run("download saved in the media directory", func(t *testing.T) {
		f := newFake(t)
		d := newDeps(t, f)
		res := call(t, d, "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true,"save_as":"photo.jpg"}`)
		if !res.Successful {
			t.Fatal(res.Error)
		}
		want := filepath.Join(d.MediaDir, "photo.jpg")
		got, err := os.ReadFile(want)
		if err != nil || !bytes.Equal(got, f.media) {
			t.Errorf("saved file: %q, %v", got, err)
		}
		data := dataOf(t, res)
		checkSubset(t, data, `{"saved_path":"`+want+`","downloaded_bytes":`+itoa(len(f.media))+`}`)
		if _, has := data["content_base64"]; has {
			t.Errorf("inline content with save_as: %v", data)
		}
	})
	t.Run("uppercase sha256 from Meta is accepted", func(t *testing.T) {
		f := newFake(t)
		f.Route("GET /v25.0/"+mediaID, graphtest.Reply(200, strings.Replace(f.mediaInfoJSON(mediaID), f.mediaSHA(), strings.ToUpper(f.mediaSHA()), 1)))
		if res := call(t, newDeps(t, f), "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true}`); !res.Successful {
			t.Fatal(res.Error)
		}
	})
	t.Run("sha256 mismatch fails", func(t *testing.T) {
		f := newFake(t)
		f.Route("GET /v25.0/"+mediaID, graphtest.Reply(200, strings.Replace(f.mediaInfoJSON(mediaID), f.mediaSHA(), strings.Repeat("0", 64), 1)))
		d := newDeps(t, f)
		res := call(t, d, "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true,"save_as":"x.jpg"}`)
		if res.Successful || !strings.Contains(res.Error, "sha256") {
			t.Errorf("res = %s", res.JSON())
		}
		if _, err := os.Stat(filepath.Join(d.MediaDir, "x.jpg")); err == nil {
			t.Error("a file that failed its checksum was saved")
		}
	})
	t.Run("over the download cap fails", func(t *testing.T) {
		f := newFake(t)
		d := newDeps(t, f)
		d.MaxDownload = 5
		res := call(t, d, "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true}`)
		if res.Successful || !strings.Contains(res.Error, "larger than") {
			t.Errorf("res = %s", res.JSON())
		}
		if strings.Contains(string(res.JSON()), b64(f.media)) {
			t.Error("content returned despite the cap")
		}
	})
	t.Run("download URL expired (404)", func(t *testing.T) {
		f := newFake(t)
		f.Route("GET "+graphtest.CDNPath, graphtest.Reply(404, `{"error":{"message":"gone","code":100,"type":"OAuthException","fbtrace_id":"CDN404"}}`))
		res := call(t, newDeps(t, f), "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true}`)
		if res.Successful || !strings.Contains(res.Error, "404") {
			t.Errorf("res = %s", res.JSON())
		}
	})
	t.Run("save_as refuses an existing symlink out of the media directory", func(t *testing.T) {
		f := newFake(t)
		d := newDeps(t, f)
		target := filepath.Join(t.TempDir(), "victim.txt")
		writeFile(t, target, []byte("precious"))
		if err := os.Symlink(target, filepath.Join(d.MediaDir, "trap.jpg")); err != nil {
			t.Skip("symlinks unsupported:", err)
		}
		res := call(t, d, "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true,"save_as":"trap.jpg"}`)
		if got, _ := os.ReadFile(target); string(got) != "precious" {
			t.Errorf("wrote through a symlink outside the media directory: %q", got)
		}
		checkInvalid(t, res, f, "save_as", "link")
	})
}

func TestGetMediaInfo(t *testing.T) {
	f, res := callOK(t, "WHATSAPP_GET_MEDIA_INFO", `{"media_id":"`+mediaID+`"}`)
	graphtest.CheckRequests(t, f.Requests(), []graphtest.Want{{Method: "GET", Path: "/v25.0/" + mediaID}})
	data := dataOf(t, res)
	checkSubset(t, data, `{"id":"`+mediaID+`","mime_type":"image/jpeg","sha256":"`+f.mediaSHA()+`","file_size":"`+itoa(len(f.media))+`","messaging_product":"whatsapp"}`)
	for _, k := range []string{"url", "url_expires_at", "content_base64"} {
		if _, has := data[k]; has {
			t.Errorf("GET_MEDIA_INFO data has %s: %v", k, data)
		}
	}
}

// file_size arrives as a number in some answers; data keeps the digits.
func TestGetMediaInfoNumericFileSize(t *testing.T) {
	f := newFake(t)
	f.Route("GET /v25.0/"+mediaID, graphtest.Reply(200, `{"messaging_product":"whatsapp","url":"https://x/y","mime_type":"image/png","sha256":"ab","file_size":303833,"id":"`+mediaID+`"}`))
	res := call(t, newDeps(t, f), "WHATSAPP_GET_MEDIA_INFO", `{"media_id":"`+mediaID+`"}`)
	checkSubset(t, dataOf(t, res), `{"file_size":"303833"}`)
}
