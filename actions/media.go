package actions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// mediaRule is Meta's MIME list and size cap for one media type
// (docs/cloud-api.md#media-types-and-sizes). Sizes are decimal megabytes: Meta does not say which,
// and the smaller reading never lets through a file Meta would refuse.
type mediaRule struct {
	mimes   []string
	maxSize int64
	human   string
}

var mediaRules = map[string]mediaRule{
	"image":    {[]string{"image/jpeg", "image/png"}, 5_000_000, "5 MB"},
	"video":    {[]string{"video/mp4", "video/3gpp"}, 16_000_000, "16 MB"},
	"audio":    {[]string{"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}, 16_000_000, "16 MB"},
	"sticker":  {[]string{"image/webp"}, 500_000, "500 KB"},
	"document": {[]string{"text/plain", "application/pdf", "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation"}, 100_000_000, "100 MB"},
}

// extMIME covers the extensions of every allowed MIME type; Go's mime
// table varies by system, so we do not rely on it for these.
var extMIME = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
	".mp4": "video/mp4", ".3gp": "video/3gpp", ".3gpp": "video/3gpp",
	".aac": "audio/aac", ".amr": "audio/amr", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".ogg": "audio/ogg", ".opus": "audio/ogg",
	".txt": "text/plain", ".pdf": "application/pdf", ".doc": "application/msword",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls":  "application/vnd.ms-excel", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".ppt": "application/vnd.ms-powerpoint", ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

// canonicalMIME drops parameters and maps aliases Meta documents
// differently (video/3gp → video/3gpp, audio/mp3 → audio/mpeg).
func canonicalMIME(m string) string {
	if mt, _, err := mime.ParseMediaType(m); err == nil {
		m = mt
	}
	m = strings.ToLower(strings.TrimSpace(m))
	switch m {
	case "video/3gp":
		return "video/3gpp"
	case "audio/mp3":
		return "audio/mpeg"
	case "image/jpg":
		return "image/jpeg"
	}
	return m
}

// FileInput is the file to upload: bytes inline as base64, or a path under
// the operator's media directory.
type FileInput struct {
	Name     string `json:"name,omitempty" validate:"omitempty,max=255" jsonschema_description:"With extension, e.g. invoice.pdf."`
	Mimetype string `json:"mimetype,omitempty" validate:"omitempty,max=255" jsonschema_description:"Default: from the name's extension."`
	// Content keeps the base64 in the request's bytes; it is decoded as a
	// stream into the upload (tools.Base64).
	Content tools.Base64 `json:"content,omitempty" validate:"required_without=Path,excluded_with=Path" jsonschema_description:"Base64; or path."`
	Path    string       `json:"path,omitempty" validate:"required_without=Content,omitempty,max=4096" jsonschema_description:"Or content."`
}

// UploadMediaInput is the input of WHATSAPP_UPLOAD_MEDIA.
type UploadMediaInput struct {
	PhoneNumberID string    `json:"phone_number_id" validate:"required,graphid"`
	MediaType     string    `json:"media_type" validate:"required,oneof=audio document image sticker video" jsonschema:"enum=audio,enum=document,enum=image,enum=sticker,enum=video"`
	FileToUpload  FileInput `json:"file_to_upload" validate:"required"`
}

// Check: content is standard base64 (the validator's base64 tag reads
// strings only).
func (in *UploadMediaInput) Check() []tools.FieldError {
	if c := in.FileToUpload.Content; !c.IsZero() && !c.Valid() {
		return []tools.FieldError{{Field: "file_to_upload.content", Rule: "must be standard base64 (RFC 4648) that decodes"}}
	}
	return nil
}

// maxUploadInput is the largest legal input of WHATSAPP_UPLOAD_MEDIA: the
// largest media, a 100 MB document (docs/cloud-api.md#media-types-and-sizes),
// as base64, with room for encoders that write "/" as "\/" (a 64th of the
// characters of random bytes; twice that is allowed) and the other fields.
func maxUploadInput() int64 {
	enc := int64(base64.StdEncoding.EncodedLen(int(mediaRules["document"].maxSize)))
	return enc + enc/32 + 64<<10
}

// UploadResult is data of WHATSAPP_UPLOAD_MEDIA.
type UploadResult struct {
	ID       string `json:"id" jsonschema_description:"The media id, for WHATSAPP_SEND_MEDIA_BY_ID (valid 30 days)"`
	MimeType string `json:"mime_type"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// resolveMediaPath confines p to dir: relative paths are taken inside it,
// and the result (symlinks resolved) must stay inside it.
func resolveMediaPath(dir, p string) (string, error) {
	if dir == "" {
		return "", errors.New("is not available: the operator has not allowed a media directory (--media-dir / WHATSAPP_MEDIA_DIR); send the bytes as base64 in content instead")
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("is not available: the media directory cannot be read")
	}
	root, _ = filepath.Abs(root)
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return "", errors.New("must not contain `..`; give a path inside the media directory")
		}
	}
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, p)
	}
	resolved, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", fmt.Errorf("does not name a readable file inside the media directory")
	}
	resolved, _ = filepath.Abs(resolved)
	rel, err := filepath.Rel(root, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", errors.New("is outside the media directory the operator allowed; only files inside it can be uploaded")
	}
	return resolved, nil
}

// upload is a file checked against Meta's rules, ready to stream.
type upload struct {
	name, mimeType string
	size           int64
	// open reads the file from its first byte, as often as asked (the
	// sniffing, each upload attempt, the checksum).
	open func() (io.ReadCloser, error)
}

// prepareUpload resolves the file, its name and MIME type and checks them
// against Meta's rules, reading no more than its first bytes; every problem
// is an input error naming the field.
func (d *Deps) prepareUpload(in *UploadMediaInput) (*upload, error) {
	f := in.FileToUpload
	up := &upload{name: f.Name}
	field := "file_to_upload.content"
	switch {
	case f.Path != "":
		field = "file_to_upload.path"
		path, perr := resolveMediaPath(d.MediaDir, f.Path)
		if perr != nil {
			return nil, tools.Invalid(field, "%s", perr.Error())
		}
		st, serr := os.Stat(path)
		if serr != nil || !st.Mode().IsRegular() {
			return nil, tools.Invalid(field, "does not name a regular file inside the media directory")
		}
		if rule := mediaRules[in.MediaType]; st.Size() > rule.maxSize {
			return nil, tools.Invalid(field, "is %d bytes; %s files may be at most %s", st.Size(), in.MediaType, rule.human)
		}
		up.size = st.Size()
		up.open = func() (io.ReadCloser, error) { return os.Open(path) }
		if up.name == "" {
			up.name = filepath.Base(path)
		}
	default:
		content := f.Content
		up.size = content.DecodedLen()
		up.open = func() (io.ReadCloser, error) { return io.NopCloser(content.Open()), nil }
	}
	if up.name == "" {
		return nil, tools.Invalid("file_to_upload.name", "is required with content (the file name with its extension)")
	}
	var fields []tools.FieldError
	up.mimeType = canonicalMIME(f.Mimetype)
	if up.mimeType == "" {
		up.mimeType = extMIME[strings.ToLower(filepath.Ext(up.name))]
		if up.mimeType == "" {
			fields = append(fields, tools.FieldError{Field: "file_to_upload.mimetype", Rule: "is required: it cannot be derived from the file name " + strconv.Quote(up.name)})
		}
	}
	rule := mediaRules[in.MediaType]
	if up.mimeType != "" && !contains(rule.mimes, up.mimeType) {
		fields = append(fields, tools.FieldError{Field: "file_to_upload.mimetype", Rule: fmt.Sprintf("%s is not allowed for media_type %s; allowed: %s", up.mimeType, in.MediaType, strings.Join(rule.mimes, ", "))})
	}
	if up.size > rule.maxSize {
		fields = append(fields, tools.FieldError{Field: "file_to_upload", Rule: fmt.Sprintf("is %d bytes; %s files may be at most %s", up.size, in.MediaType, rule.human)})
	}
	if up.size == 0 {
		fields = append(fields, tools.FieldError{Field: "file_to_upload", Rule: "is empty"})
	}
	// Meta fails mismatched files with 131053; catch the common case of bytes
	// that are clearly another image format than declared.
	head, err := up.head()
	if err != nil {
		return nil, tools.Invalid(field, "cannot be read")
	}
	if sniffed := http.DetectContentType(head); strings.HasPrefix(sniffed, "image/") && strings.HasPrefix(up.mimeType, "image/") && sniffed != up.mimeType {
		fields = append(fields, tools.FieldError{Field: "file_to_upload.mimetype", Rule: fmt.Sprintf("says %s but the bytes are %s", up.mimeType, sniffed)})
	}
	if len(fields) > 0 {
		return nil, &tools.InputError{Fields: fields}
	}
	return up, nil
}

// head reads the first bytes of the file, as many as sniffing looks at.
func (u *upload) head() ([]byte, error) {
	r, err := u.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, 512)
	n, err := io.ReadFull(r, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return b[:n], err
}

// sha256 reads the whole file again for its checksum.
func (u *upload) sha256() (string, error) {
	r, err := u.open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func uploadMedia(d *Deps) tools.Tool {
	return tools.New(tools.Def[UploadMediaInput, *UploadResult]{
		Name:    "WHATSAPP_UPLOAD_MEDIA",
		Title:   "Upload media",
		Toolset: ToolsetMedia,
		Hints:   []string{hintPhoneNumberID, hintPhoneNumbers, hintMedia, hintMediaLimits},
		Description: "Upload a file for WHATSAPP_SEND_MEDIA_BY_ID (the media id is valid 30 days): its bytes as base64 with a name, or a path in the operator's media directory. " +
			"Type and size are checked against Meta's limits first.",
		Annotations:   tools.Annotations{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: true},
		Example:       `{"phone_number_id":"106540352242922","media_type":"document","file_to_upload":{"name":"hello.txt","mimetype":"text/plain","content":"SGVsbG8sIFdoYXRzQXBwIQ=="}}`,
		MaxInputBytes: maxUploadInput(),
		Handler: func(ctx context.Context, in *UploadMediaInput) (*UploadResult, error) {
			// The validator's pool keeps the last input it checked: drop the
			// file's bytes (the request body) with the call.
			defer func() { in.FileToUpload.Content = tools.Base64{} }()
			up, err := d.prepareUpload(in)
			if err != nil {
				return nil, err
			}
			id, _, err := d.Graph.UploadMediaFile(ctx, in.PhoneNumberID, graph.MediaFile{Name: up.name, MIMEType: up.mimeType, Size: up.size,
				Open: func() (io.ReadCloser, error) {
					r, err := up.open()
					if err != nil {
						return nil, err
					}
					return struct {
						io.Reader
						io.Closer
					}{tools.ProgressReader(ctx, r, up.size), r}, nil
				}})
			if err != nil {
				return nil, err
			}
			sum, err := up.sha256()
			if err != nil {
				return nil, fmt.Errorf("uploaded as media id %s, but the file cannot be read again for its sha256: %v", id, err)
			}
			return &UploadResult{ID: id, MimeType: up.mimeType, Size: up.size, SHA256: sum}, nil
		},
	})
}

// MediaIDInput is the input of WHATSAPP_GET_MEDIA_INFO.
type MediaIDInput struct {
	MediaID string `json:"media_id" validate:"required,graphid" jsonschema_description:"From WHATSAPP_UPLOAD_MEDIA or an inbound message."`
}

// GetMediaInput is the input of WHATSAPP_GET_MEDIA.
type GetMediaInput struct {
	MediaID  string `json:"media_id" validate:"required,graphid" jsonschema_description:"From WHATSAPP_UPLOAD_MEDIA or an inbound message."`
	Download bool   `json:"download,omitempty" jsonschema_description:"Into content_base64 (size-capped), or save_as."`
	SaveAs   string `json:"save_as,omitempty" validate:"omitempty,max=255" jsonschema_description:"With download: save as this file in the media directory (not read-only)."`
}

// Check: save_as needs download and a plain file name.
func (in *GetMediaInput) Check() []tools.FieldError {
	var errs []tools.FieldError
	if in.SaveAs != "" && !in.Download {
		errs = append(errs, tools.FieldError{Field: "save_as", Rule: "needs download: true"})
	}
	if in.SaveAs != "" && (in.SaveAs != filepath.Base(in.SaveAs) || in.SaveAs == "." || in.SaveAs == "..") {
		errs = append(errs, tools.FieldError{Field: "save_as", Rule: "must be a plain file name, without directories or `..`"})
	}
	return errs
}

// saveInDir writes b as path, a file directly in dir, without following
// a link: the name was checked before the download, but a link swapped in
// since would take a plain write outside dir. The bytes go to a new file
// of a random name in dir (created exclusively, so never through a link),
// which is then renamed over path: a link there is replaced, not followed.
func saveInDir(dir, path string, b []byte) error {
	f, err := os.CreateTemp(dir, ".save-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

// MediaResult is data of WHATSAPP_GET_MEDIA and WHATSAPP_GET_MEDIA_INFO.
type MediaResult struct {
	ID               string `json:"id"`
	MimeType         string `json:"mime_type"`
	SHA256           string `json:"sha256"`
	FileSize         string `json:"file_size" jsonschema_description:"Size in bytes, as Meta gives it"`
	MessagingProduct string `json:"messaging_product,omitempty" jsonschema:"-"`
	URL              string `json:"url,omitempty" jsonschema_description:"Download URL, valid 5 minutes, and only with the access token: an agent cannot open it directly; use download: true"`
	URLExpiresAt     string `json:"url_expires_at,omitempty" jsonschema_description:"When url stops working (RFC 3339)"`
	ContentBase64    string `json:"content_base64,omitempty" jsonschema_description:"With download: the file's bytes"`
	SavedPath        string `json:"saved_path,omitempty" jsonschema_description:"With save_as: where the file was written"`
	DownloadedBytes  int64  `json:"downloaded_bytes,omitempty"`
}

// mediaInfo documents data of WHATSAPP_GET_MEDIA_INFO: the fields of
// MediaResult it fills (the others are WHATSAPP_GET_MEDIA's).
type mediaInfo struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	FileSize string `json:"file_size"`
}

func mediaResult(info *graph.MediaInfo) *MediaResult {
	return &MediaResult{ID: info.ID, MimeType: info.MimeType, SHA256: info.SHA256, FileSize: string(info.FileSize), MessagingProduct: info.MessagingProduct}
}

func getMediaInfo(d *Deps) tools.Tool {
	return tools.New(tools.Def[MediaIDInput, *MediaResult]{
		Name:        "WHATSAPP_GET_MEDIA_INFO",
		Title:       "Get media metadata",
		Toolset:     ToolsetMedia,
		Description: "Read a media object's metadata without its URL (WHATSAPP_GET_MEDIA gets the URL or the file).",
		Annotations: readOnly,
		Example:     `{"media_id":"1013859600285441"}`,
		Data:        mediaInfo{},
		Handler: func(ctx context.Context, in *MediaIDInput) (*MediaResult, error) {
			info, _, err := d.Graph.GetMedia(ctx, in.MediaID, "")
			if err != nil {
				return nil, err
			}
			return mediaResult(info), nil
		},
	})
}

func getMedia(d *Deps) tools.Tool {
	return tools.New(tools.Def[GetMediaInput, *MediaResult]{
		Name:    "WHATSAPP_GET_MEDIA",
		Title:   "Get media URL or file",
		Toolset: ToolsetMedia,
		Hints:   []string{hintMedia},
		Description: "Get a media object's download URL (valid 5 minutes, only with the access token), MIME type, size and SHA-256; " +
			"download: true fetches the file. Inbound media ids expire after 7 days, uploaded ones after 30.",
		Annotations: tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: true},
		Example:     `{"media_id":"1013859600285441","download":true}`,
		Handler: func(ctx context.Context, in *GetMediaInput) (*MediaResult, error) {
			if in.SaveAs != "" && d.ReadOnly {
				// The tool is annotated read-only and stays enabled on a
				// read-only server, so the one input that writes is refused.
				return nil, tools.Invalid("save_as", "is not available: the server runs read-only (--read-only / WHATSAPP_READ_ONLY) and writes no file; omit save_as to get the bytes inline")
			}
			if in.SaveAs != "" && d.MediaDir == "" {
				return nil, tools.Invalid("save_as", "is not available: the operator has not allowed a media directory (--media-dir / WHATSAPP_MEDIA_DIR); omit save_as to get the bytes inline")
			}
			if in.SaveAs != "" {
				// Writing through an existing link could land outside the media directory.
				if st, err := os.Lstat(filepath.Join(d.MediaDir, in.SaveAs)); err == nil && !st.Mode().IsRegular() {
					return nil, tools.Invalid("save_as", "names a link or directory in the media directory; choose another file name")
				}
			}
			info, _, err := d.Graph.GetMedia(ctx, in.MediaID, "")
			if err != nil {
				return nil, err
			}
			out := mediaResult(info)
			out.URL = info.URL
			out.URLExpiresAt = d.now().Add(5 * time.Minute).UTC().Format(time.RFC3339)
			if !in.Download {
				return out, nil
			}
			limit := d.maxDownload()
			if in.SaveAs != "" {
				limit = mediaRules["document"].maxSize
			}
			var buf bytes.Buffer
			size, _ := strconv.ParseInt(string(info.FileSize), 10, 64)
			n, _, _, err := d.Graph.DownloadMedia(ctx, info.URL, tools.ProgressWriter(ctx, &buf, size), limit)
			if errors.Is(err, graph.ErrTooLarge) {
				return nil, fmt.Errorf("the file is larger than the %d-byte download cap; use save_as to store it in the media directory, or fetch url yourself with the access token within 5 minutes", limit)
			}
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256(buf.Bytes())
			if info.SHA256 != "" && !strings.EqualFold(hex.EncodeToString(sum[:]), info.SHA256) {
				return nil, fmt.Errorf("the downloaded file does not match Meta's sha256 %s; fetch it again", info.SHA256)
			}
			out.DownloadedBytes = n
			if in.SaveAs == "" {
				out.ContentBase64 = base64.StdEncoding.EncodeToString(buf.Bytes())
				return out, nil
			}
			path := filepath.Join(d.MediaDir, in.SaveAs)
			if err := saveInDir(d.MediaDir, path, buf.Bytes()); err != nil {
				return nil, fmt.Errorf("cannot save the file in the media directory: %v", err)
			}
			out.SavedPath = path
			return out, nil
		},
	})
}
