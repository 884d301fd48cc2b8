package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// AppID is the sandbox's Meta app: resumable upload sessions are opened on
// it (POST /{AppID}/uploads), as a template's media header needs.
const AppID = "584544743160774"

// resumableTypes are the file types Meta's Resumable Upload API takes
// (docs/cloud-api.md#resumable-upload).
var resumableTypes = []string{"application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4"}

// uploads holds the resumable upload sessions and the handles they issued.
// Guarded by Sandbox.mu.
type uploads struct {
	sessions map[string]*uploadSession // by "upload:…", without the sig
	handles  map[string]string         // handle → MIME type
}

type uploadSession struct {
	id, sig, name, mime string
	length              int64
	data                []byte
	handle              string
}

func (u *uploads) init() {
	if u.sessions == nil {
		u.sessions, u.handles = map[string]*uploadSession{}, map[string]string{}
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// IssuedHandle says whether h is a file handle an upload session of this
// sandbox issued.
func (s *Sandbox) IssuedHandle(h string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.up.handles[h]
	return ok
}

// handleType is the MIME type of the file behind an issued handle.
func (s *Sandbox) handleType(h string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.up.handles[h]
	return m, ok
}

// startUpload is POST /{app-id}/uploads: file_name, file_length and
// file_type (query or body) open a session, answered {"id":"upload:…"}
// with the session's signature as Meta writes it ("upload:…?sig=…").
func (s *Sandbox) startUpload(c *call, _ string) (any, *apiError) {
	b, _ := readParams(c.r)
	param := func(k string) string {
		if v := c.r.URL.Query().Get(k); v != "" {
			return v
		}
		v, _, _ := optString(b, "", k)
		return v
	}
	name, lengthText, typ := param("file_name"), param("file_length"), param("file_type")
	switch {
	case name == "":
		return nil, errParam("The parameter file_name is required")
	case lengthText == "":
		return nil, errParam("The parameter file_length is required")
	case typ == "":
		return nil, errParam("The parameter file_type is required")
	}
	length, err := strconv.ParseInt(lengthText, 10, 64)
	if err != nil || length <= 0 || length > maxUpload {
		return nil, errParam(fmt.Sprintf("Param file_length must be a positive integer of at most %d bytes", maxUpload))
	}
	if !contains(resumableTypes, strings.ToLower(typ)) {
		return nil, errParam(fmt.Sprintf("Param file_type must be one of {%s} - got \"%s\".", strings.Join(resumableTypes, ", "), typ))
	}
	u := &uploadSession{id: "upload:" + randomToken(24), sig: randomToken(12), name: name, mime: strings.ToLower(typ), length: length}
	s.mu.Lock()
	s.up.init()
	s.up.sessions[u.id] = u
	s.mu.Unlock()
	return object{{"id", u.id + "?sig=" + u.sig}}, nil
}

// session finds the session of a request and checks its signature, when
// given (Meta's ids carry one; whether Meta requires it is UNCONFIRMED).
func (s *Sandbox) session(c *call, id string) (*uploadSession, *apiError) {
	u := s.up.sessions[id]
	if u == nil {
		return nil, errNoObject(c.r.Method, id)
	}
	if sig := c.r.URL.Query().Get("sig"); sig != "" && subtle.ConstantTimeCompare([]byte(sig), []byte(u.sig)) != 1 {
		return nil, errParam("The upload session signature (sig) is invalid")
	}
	return u, nil
}

// uploadStatus is GET /upload:{id}: how many bytes the session holds.
func (s *Sandbox) uploadStatus(c *call, id string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e := s.session(c, id)
	if e != nil {
		return nil, e
	}
	return object{{"id", u.id}, {"file_offset", int64(len(u.data))}}, nil
}

// uploadData is POST /upload:{id}: the body is the file from the offset
// in the file_offset header, and the token comes in an "Authorization:
// OAuth" header (Meta refuses it as a query parameter). Once the session
// holds the whole file it answers {"h": handle}, again for a repeated
// request at the end of the file (a client whose answer was lost asks
// again).
func (s *Sandbox) uploadData(c *call, id string) (any, *apiError) {
	scheme, tok, _ := strings.Cut(c.r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "OAuth") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.token)) != 1 {
		// Bearer may work at Meta too; its guide says OAuth (UNCONFIRMED).
		e := errAuth()
		e.message = "The access token must be sent in the header: Authorization: OAuth <token>"
		return nil, e
	}
	offText := c.r.Header.Get("file_offset")
	if offText == "" {
		return nil, errParam("The parameter file_offset is required (as an HTTP header)")
	}
	off, err := strconv.ParseInt(offText, 10, 64)
	if err != nil || off < 0 {
		return nil, errParam("Param file_offset must be a non-negative integer")
	}
	s.mu.Lock()
	u, e := s.session(c, id)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	held, length := int64(len(u.data)), u.length
	s.mu.Unlock()
	if off != held {
		return nil, errParam(fmt.Sprintf("Param file_offset must be %d, the bytes this upload session holds", held))
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, length-off+1))
	if err != nil {
		return nil, errParam("The file could not be read")
	}
	if off+int64(len(body)) > length {
		return nil, errParam(fmt.Sprintf("The file is longer than the file_length of its upload session (%d bytes)", length))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if int64(len(u.data)) != off {
		return nil, errParam("Param file_offset no longer matches: another request wrote to this upload session")
	}
	u.data = append(u.data, body...)
	if int64(len(u.data)) < u.length {
		// A partial file: Meta's answer is not documented (UNCONFIRMED).
		return object{{"id", u.id}, {"file_offset", int64(len(u.data))}}, nil
	}
	if u.handle == "" {
		u.handle = "4::" + base64.StdEncoding.EncodeToString([]byte(u.mime)) + ":" + randomToken(33)
		s.up.handles[u.handle] = u.mime
	}
	return object{{"h", u.handle}}, nil
}

// checkHeaderHandles: every handle of a media header's example must be
// one this sandbox's uploads issued, of a file type the format takes
// (docs/cloud-api.md#resumable-upload); Meta answers a bad one with plain
// "Invalid parameter".
func (s *Sandbox) checkHeaderHandles(format string, comp map[string]any) *apiError {
	ex, _ := comp["example"].(map[string]any)
	hs, _ := ex["header_handle"].([]any)
	for _, x := range hs {
		h, _ := x.(string)
		mime, ok := s.handleType(h)
		if !ok {
			return errTemplate(0, "Invalid media handle",
				"example.header_handle must be a handle from the Resumable Upload API (POST /{app-id}/uploads, then POST /upload:{id}); a media id or URL is not one.")
		}
		want := map[string]string{"IMAGE": "image/", "VIDEO": "video/", "GIF": "video/", "DOCUMENT": "application/pdf"}[format]
		if !strings.HasPrefix(mime, want) {
			return errTemplate(2388047, "Message template header format is incorrect",
				fmt.Sprintf("A %s header's example is a %s file.", format, mime))
		}
	}
	return nil
}
