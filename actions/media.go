package actions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
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
	Name     string `json:"name,omitempty" validate:"omitempty,max=255" jsonschema_description:"The file name with its extension, e.g. invoice.pdf (defaults to the path's base name)."`
	Mimetype string `json:"mimetype,omitempty" validate:"omitempty,max=255" jsonschema_description:"The MIME type, e.g. image/jpeg; derived from the name's extension when omitted."`
	Content  string `json:"content,omitempty" validate:"required_without=Path,excluded_with=Path,omitempty,base64" jsonschema_description:"The file's bytes, standard base64. Give this or path."`
	Path     string `json:"path,omitempty" validate:"required_without=Content,omitempty,max=4096" jsonschema_description:"A file path relative to (or inside) the media directory the operator allowed with --media-dir / WHATSAPP_MEDIA_DIR. Give this or content."`
}

// UploadMediaInput is the input of WHATSAPP_UPLOAD_MEDIA.
type UploadMediaInput struct {
	PhoneNumberID string    `json:"phone_number_id" validate:"required,graphid" jsonschema_description:"The Meta-assigned numeric id of the business phone number that will send the media (from WHATSAPP_GET_PHONE_NUMBERS)."`
	MediaType     string    `json:"media_type" validate:"required,oneof=audio document image sticker video" jsonschema:"enum=audio,enum=document,enum=image,enum=sticker,enum=video" jsonschema_description:"The kind of media. Allowed: image jpeg/png ≤5 MB; video mp4/3gpp ≤16 MB; audio aac/amr/mp3/m4a/ogg(opus) ≤16 MB; document pdf/txt/doc(x)/xls(x)/ppt(x) ≤100 MB; sticker webp ≤500 KB."`
	FileToUpload  FileInput `json:"file_to_upload" validate:"required" jsonschema_description:"The file: name, mimetype, and content (base64) or path."`
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

// prepareUpload resolves the bytes, name and MIME type and checks them
// against Meta's rules; every problem is an input error naming the field.
func (d *Deps) prepareUpload(in *UploadMediaInput) (name, mimeType string, content []byte, err error) {
	f := in.FileToUpload
	name = f.Name
	switch {
	case f.Path != "":
		path, perr := resolveMediaPath(d.MediaDir, f.Path)
		if perr != nil {
			return "", "", nil, tools.Invalid("file_to_upload.path", "%s", perr.Error())
		}
		st, serr := os.Stat(path)
		if serr != nil || !st.Mode().IsRegular() {
			return "", "", nil, tools.Invalid("file_to_upload.path", "does not name a regular file inside the media directory")
		}
		if rule := mediaRules[in.MediaType]; st.Size() > rule.maxSize {
			return "", "", nil, tools.Invalid("file_to_upload.path", "is %d bytes; %s files may be at most %s", st.Size(), in.MediaType, rule.human)
		}
		if content, err = os.ReadFile(path); err != nil {
			return "", "", nil, tools.Invalid("file_to_upload.path", "cannot be read")
		}
		if name == "" {
			name = filepath.Base(path)
		}
	default:
		if content, err = base64.StdEncoding.DecodeString(f.Content); err != nil {
			return "", "", nil, tools.Invalid("file_to_upload.content", "must be standard base64 that decodes")
		}
	}
	if name == "" {
		return "", "", nil, tools.Invalid("file_to_upload.name", "is required with content (the file name with its extension)")
	}
	var fields []tools.FieldError
	mimeType = canonicalMIME(f.Mimetype)
	if mimeType == "" {
		mimeType = extMIME[strings.ToLower(filepath.Ext(name))]
		if mimeType == "" {
			fields = append(fields, tools.FieldError{Field: "file_to_upload.mimetype", Rule: "is required: it cannot be derived from the file name " + strconv.Quote(name)})
		}
	}
	rule := mediaRules[in.MediaType]
	if mimeType != "" && !contains(rule.mimes, mimeType) {
		fields = append(fields, tools.FieldError{Field: "file_to_upload.mimetype", Rule: fmt.Sprintf("%s is not allowed for media_type %s; allowed: %s", mimeType, in.MediaType, strings.Join(rule.mimes, ", "))})
	}
	if int64(len(content)) > rule.maxSize {
		fields = append(fields, tools.FieldError{Field: "file_to_upload", Rule: fmt.Sprintf("is %d bytes; %s files may be at most %s", len(content), in.MediaType, rule.human)})
	}
	if len(content) == 0 {
		fields = append(fields, tools.FieldError{Field: "file_to_upload", Rule: "is empty"})
	}
	// Meta fails mismatched files with 131053; catch the common case of bytes
	// that are clearly another image format than declared.
	if sniffed := http.DetectContentType(content); strings.HasPrefix(sniffed, "image/") && strings.HasPrefix(mimeType, "image/") && sniffed != mimeType {
		fields = append(fields, tools.FieldError{Field: "file_to_upload.mimetype", Rule: fmt.Sprintf("says %s but the bytes are %s", mimeType, sniffed)})
	}
	if len(fields) > 0 {
		return "", "", nil, &tools.InputError{Fields: fields}
	}
	return name, mimeType, content, nil
}

func uploadMedia(d *Deps) tools.Tool {
	return tools.New(tools.Def[UploadMediaInput, *UploadResult]{
		Name:    "WHATSAPP_UPLOAD_MEDIA",
		Title:   "Upload media",
		Toolset: ToolsetMedia,
		Hints:   []string{hintMedia},
		Description: "Upload a file to WhatsApp and get a media id to send with WHATSAPP_SEND_MEDIA_BY_ID (valid 30 days). " +
			"Give the bytes as base64 in file_to_upload.content with a file name, or a path inside the operator's media directory. " +
			"The MIME type and size are checked against Meta's limits before uploading: image jpeg/png ≤5 MB, video mp4/3gpp ≤16 MB, audio aac/amr/mp3/m4a/ogg ≤16 MB, document pdf/txt/office ≤100 MB, sticker webp ≤500 KB.",
		Annotations: tools.Annotations{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: true},
		Example:     `{"phone_number_id":"106540352242922","media_type":"document","file_to_upload":{"name":"hello.txt","mimetype":"text/plain","content":"SGVsbG8sIFdoYXRzQXBwIQ=="}}`,
		Handler: func(ctx context.Context, in *UploadMediaInput) (*UploadResult, error) {
			name, mimeType, content, err := d.prepareUpload(in)
			if err != nil {
				return nil, err
			}
			id, _, err := d.Graph.UploadMedia(ctx, in.PhoneNumberID, name, mimeType, content)
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256(content)
			return &UploadResult{ID: id, MimeType: mimeType, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}, nil
		},
	})
}

// MediaIDInput is the input of WHATSAPP_GET_MEDIA_INFO.
type MediaIDInput struct {
	MediaID string `json:"media_id" validate:"required,graphid" jsonschema_description:"The media id, from WHATSAPP_UPLOAD_MEDIA or an inbound message webhook."`
}

// GetMediaInput is the input of WHATSAPP_GET_MEDIA.
type GetMediaInput struct {
	MediaID  string `json:"media_id" validate:"required,graphid" jsonschema_description:"The media id, from WHATSAPP_UPLOAD_MEDIA or an inbound message webhook."`
	Download bool   `json:"download,omitempty" jsonschema_description:"Also fetch the file (with the access token, which the URL requires) and return it as base64 in content_base64, up to the server's size cap; or save it with save_as."`
	SaveAs   string `json:"save_as,omitempty" validate:"omitempty,max=255" jsonschema_description:"With download: save the file under this name in the operator's media directory instead of returning it inline."`
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

// MediaResult is data of WHATSAPP_GET_MEDIA and WHATSAPP_GET_MEDIA_INFO.
type MediaResult struct {
	ID               string `json:"id"`
	MimeType         string `json:"mime_type"`
	SHA256           string `json:"sha256"`
	FileSize         string `json:"file_size" jsonschema_description:"Size in bytes, as Meta gives it"`
	MessagingProduct string `json:"messaging_product,omitempty"`
	URL              string `json:"url,omitempty" jsonschema_description:"Download URL, valid 5 minutes, and only with the access token: an agent cannot open it directly; use download: true"`
	URLExpiresAt     string `json:"url_expires_at,omitempty" jsonschema_description:"When url stops working (RFC 3339)"`
	ContentBase64    string `json:"content_base64,omitempty" jsonschema_description:"With download: the file's bytes"`
	SavedPath        string `json:"saved_path,omitempty" jsonschema_description:"With save_as: where the file was written"`
	DownloadedBytes  int64  `json:"downloaded_bytes,omitempty"`
}

func mediaResult(info *graph.MediaInfo) *MediaResult {
	return &MediaResult{ID: info.ID, MimeType: info.MimeType, SHA256: info.SHA256, FileSize: string(info.FileSize), MessagingProduct: info.MessagingProduct}
}

func getMediaInfo(d *Deps) tools.Tool {
	return tools.New(tools.Def[MediaIDInput, *MediaResult]{
		Name:    "WHATSAPP_GET_MEDIA_INFO",
		Title:   "Get media metadata",
		Toolset: ToolsetMedia,
		Description: "Read a media object's metadata (MIME type, size, SHA-256) without its download URL. " +
			"Use WHATSAPP_GET_MEDIA to get the URL or the file itself.",
		Annotations: readOnly,
		Example:     `{"media_id":"1013859600285441"}`,
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
		Description: "Get a media object's temporary download URL (valid 5 minutes, and only usable with the access token) with its MIME type, size and SHA-256. " +
			"Set download: true to have the server fetch the file and return it as base64 (size-capped), or with save_as to store it in the operator's media directory. " +
			"Media ids from inbound messages expire after 7 days, uploaded ones after 30.",
		Annotations: tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: true},
		Example:     `{"media_id":"1013859600285441","download":true}`,
		Handler: func(ctx context.Context, in *GetMediaInput) (*MediaResult, error) {
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
			n, _, _, err := d.Graph.DownloadMedia(ctx, info.URL, &buf, limit)
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
			if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
				return nil, fmt.Errorf("cannot save the file in the media directory: %v", err)
			}
			out.SavedPath = path
			return out, nil
		},
	})
}
