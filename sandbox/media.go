package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

const mb = 1 << 20

// mediaLimits is docs/cloud-api.md#media-types-and-sizes: allowed MIME types and their maximum size. Meta does not
// say whether "MB" is decimal or binary; the sandbox uses binary (the lenient reading).
var mediaLimits = map[string]int64{
	"image/jpeg":         5 * mb,
	"image/png":          5 * mb,
	"video/mp4":          16 * mb,
	"video/3gpp":         16 * mb,
	"audio/aac":          16 * mb,
	"audio/amr":          16 * mb,
	"audio/mpeg":         16 * mb,
	"audio/mp4":          16 * mb,
	"audio/ogg":          16 * mb,
	"text/plain":         100 * mb,
	"application/pdf":    100 * mb,
	"application/msword": 100 * mb,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * mb,
	"application/vnd.ms-excel": 100 * mb,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         100 * mb,
	"application/vnd.ms-powerpoint":                                             100 * mb,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * mb,
	// Stickers: 100 KB static / 500 KB animated; the sandbox allows the larger limit.
	"image/webp": 500 * 1024,
}

const maxUpload = 100 * mb

// magicOK checks the leading bytes of formats with unambiguous signatures: a mismatched
// MIME type is the most common cause of 131053 (docs/cloud-api.md#whatsapp_upload_media).
func magicOK(mimeType string, b []byte) bool {
	switch mimeType {
	case "image/jpeg":
		return bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff})
	case "image/png":
		return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n"))
	case "image/webp":
		return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
	case "application/pdf":
		return bytes.HasPrefix(b, []byte("%PDF-"))
	}
	return true
}

func uploadError(details string) *apiError {
	return errMsg(http.StatusBadRequest, 131053, "Media upload error", details)
}

func (s *Sandbox) uploadMedia(c *call, phoneID string) (any, *apiError) {
	r := c.r
	r.Body = http.MaxBytesReader(c.w, r.Body, maxUpload+mb)
	// whatsapp-api-js sends messaging_product in the query string; Graph accepts both.
	product := r.URL.Query().Get("messaging_product")
	var (
		typ, fileCT, filename string
		data                  []byte
		hasFile, tooBig       bool
	)
	if mr, err := r.MultipartReader(); err == nil {
		for {
			part, err := mr.NextPart()
			if err != nil {
				break // io.EOF, or a malformed body: judge what was read
			}
			switch part.FormName() {
			case "messaging_product":
				v, _ := io.ReadAll(io.LimitReader(part, 1024))
				product = strings.TrimSpace(string(v))
			case "type":
				v, _ := io.ReadAll(io.LimitReader(part, 1024))
				typ = strings.TrimSpace(string(v))
			case "file":
				hasFile = true
				filename = part.FileName()
				fileCT = part.Header.Get("Content-Type")
				data, err = io.ReadAll(io.LimitReader(part, maxUpload+1))
				if err != nil || len(data) > maxUpload {
					tooBig = true
				}
			}
			_ = part.Close()
		}
	}
	switch {
	case product == "":
		return nil, missing("messaging_product")
	case product != "whatsapp":
		return nil, badEnum("messaging_product", []string{"whatsapp"}, product)
	case !hasFile:
		return nil, errMsg(http.StatusBadRequest, 131008, "Required parameter is missing",
			"The parameter file is required (a multipart/form-data part with a filename and Content-Type).")
	case typ == "":
		// Meta's parameter table marks type required (one curl example omits it); the
		// sandbox requires it so clients send it.
		return nil, errMsg(http.StatusBadRequest, 131008, "Required parameter is missing",
			"The parameter type is required: the file's MIME type, e.g. image/jpeg.")
	}
	limit, ok := mediaLimits[typ]
	if !ok {
		types := make([]string, 0, len(mediaLimits))
		for t := range mediaLimits {
			types = append(types, t)
		}
		sort.Strings(types)
		return nil, uploadError(fmt.Sprintf("Param type must be a supported MIME type (%s); got %q.", strings.Join(types, ", "), typ))
	}
	partType, _, _ := mime.ParseMediaType(fileCT)
	if !strings.EqualFold(partType, typ) {
		return nil, uploadError(fmt.Sprintf("The file's Content-Type (%q) does not match the type parameter (%q).", fileCT, typ))
	}
	switch {
	case tooBig || int64(len(data)) > limit:
		return nil, uploadError(fmt.Sprintf("The file is larger than the %s limit for %s.", humanSize(limit), typ))
	case len(data) == 0:
		return nil, uploadError("The file is empty.")
	case !magicOK(typ, data):
		return nil, uploadError(fmt.Sprintf("The file content is not valid %s.", typ))
	}
	sum := sha256.Sum256(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.st.newID()
	s.st.media[id] = &mediaObject{
		id: id, phoneNumberID: phoneID, mime: typ, filename: filename, data: data,
		sha256: hex.EncodeToString(sum[:]), created: s.now(),
	}
	return object{{"id", id}}, nil
}

func humanSize(n int64) string {
	if n >= mb {
		return fmt.Sprintf("%d MB", n/mb)
	}
	return fmt.Sprintf("%d KB", n/1024)
}

// liveMediaLocked returns the media object if it exists, has not expired and (when the
// optional phone_number_id is given) belongs to that number. Caller holds s.mu.
func (s *Sandbox) liveMediaLocked(c *call, id string) (*mediaObject, *apiError) {
	m := s.st.media[id]
	if m != nil && s.now().Sub(m.created) >= mediaIDTTL {
		delete(s.st.media, id)
		m = nil
	}
	// A media id queried with another number's phone_number_id is treated like a missing
	// object: Meta processes the request "only if the media belongs to that number".
	if pn := c.r.URL.Query().Get("phone_number_id"); m == nil || (pn != "" && pn != m.phoneNumberID) {
		return nil, errNoObject(c.r.Method, id)
	}
	return m, nil
}

func (s *Sandbox) getMedia(c *call, id string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.liveMediaLocked(c, id)
	if e != nil {
		return nil, e
	}
	now := s.now()
	for tok, u := range s.st.mediaURLs { // forget expired URLs so the map stays small
		if !now.Before(u.expires) {
			delete(s.st.mediaURLs, tok)
		}
	}
	var tb [16]byte
	_, _ = rand.Read(tb[:])
	tok := hex.EncodeToString(tb[:])
	exp := now.Add(mediaURLTTL)
	s.st.mediaURLs[tok] = mediaURL{mediaID: id, expires: exp}
	var size any = len(m.data)
	if s.cfg.FileSizeAsString {
		size = strconv.Itoa(len(m.data))
	}
	return object{
		{"messaging_product", "whatsapp"},
		{"url", fmt.Sprintf("%s/sandbox/media/%s?token=%s&expires=%d", s.baseURL(c.r), id, tok, exp.Unix())},
		{"mime_type", m.mime},
		{"sha256", m.sha256},
		// Meta's reference types file_size as a string, its examples and clients show a
		// number (docs/cloud-api.md#whatsapp_get_media); the sandbox answers a number unless FileSizeAsString.
		{"file_size", size},
		{"id", id},
	}, nil
}

func (s *Sandbox) deleteMedia(c *call, id string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.liveMediaLocked(c, id); e != nil {
		return nil, e
	}
	delete(s.st.media, id)
	for tok, u := range s.st.mediaURLs {
		if u.mediaID == id {
			delete(s.st.mediaURLs, tok)
		}
	}
	return object{{"success", true}}, nil
}

// serveDownload serves a media URL from GET /{media_id}: bearer token required (401), and
// only while the URL is fresh (404 after 5 minutes, or once the media is deleted).
func (s *Sandbox) serveDownload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.token)) != 1 {
		e := errAuth()
		w.Header().Set("WWW-Authenticate", e.wwwAuthHint)
		s.writeJSON(w, e.status, e.body(newTraceID()), "")
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/sandbox/media/")
	s.mu.Lock()
	u, ok := s.st.mediaURLs[r.URL.Query().Get("token")]
	m := s.st.media[id]
	fresh := ok && u.mediaID == id && s.now().Before(u.expires) && m != nil
	s.mu.Unlock()
	if !fresh {
		http.NotFound(w, r)
		return
	}
	// m.data is never mutated after upload, so it can be written without the lock.
	w.Header().Set("Content-Type", m.mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	if m.filename != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.filename}))
	}
	if r.Method == http.MethodGet {
		_, _ = w.Write(m.data)
	}
}
