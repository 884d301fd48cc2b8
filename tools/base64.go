package tools

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"reflect"

	"github.com/invopop/jsonschema"
)

// Base64 is an input field holding a file as standard base64 text (RFC
// 4648, padded, no line breaks). It keeps the text as the bytes of the
// request that carried it, without copying them: Decode unmarshals with
// json.Unmarshal, whose Unmarshaler values are slices of the input, and
// the surfaces keep that input alive and unchanged while the tool runs. A
// 100 MB file thus costs its 133 MB of JSON once, and Open decodes it as a
// stream while it is sent on.
//
// A handler done with a large one should drop it (b = Base64{}): the
// validator keeps the last input it checked in its pool, and with it the
// request's body.
//
// The zero value is an absent (or empty) field, so the required_* and
// excluded_* validate tags work on it; the alphabet and padding are checked
// by Valid, which the input's Check calls (the validator's base64 tag reads
// strings only).
type Base64 struct {
	text []byte // base64 text, without the quotes
}

var stringType = reflect.TypeFor[string]()

// UnmarshalJSON keeps a string's text; null is absent. A string with JSON
// escapes (some encoders write "/" as "\/") is unescaped into a copy.
func (b *Base64) UnmarshalJSON(data []byte) error {
	switch {
	case string(data) == "null":
		b.text = nil
		return nil
	case len(data) < 2 || data[0] != '"':
		kind := "number"
		switch {
		case bytes.HasPrefix(data, []byte("{")):
			kind = "object"
		case bytes.HasPrefix(data, []byte("[")):
			kind = "array"
		case string(data) == "true" || string(data) == "false":
			kind = "bool"
		}
		return &json.UnmarshalTypeError{Value: kind, Type: stringType}
	}
	text := data[1 : len(data)-1]
	if bytes.IndexByte(text, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		text = []byte(s)
	}
	if len(text) == 0 {
		text = nil
	}
	b.text = text
	return nil
}

// MarshalJSON writes the text back as a JSON string.
func (b Base64) MarshalJSON() ([]byte, error) { return json.Marshal(string(b.text)) }

// JSONSchema is a plain string: the field's tags add its description.
func (Base64) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{Type: "string"} }

// NewBase64 encodes content, for tests and callers that hold the bytes.
func NewBase64(content []byte) Base64 {
	if len(content) == 0 {
		return Base64{}
	}
	return Base64{text: base64.StdEncoding.AppendEncode(nil, content)}
}

// IsZero reports an absent or empty field.
func (b Base64) IsZero() bool { return len(b.text) == 0 }

// Valid reports whether the text is standard padded base64: what the
// validator's base64 tag accepts, checked without a regular expression (a
// 133 MB match takes seconds).
func (b Base64) Valid() bool {
	t := b.text
	if len(t) == 0 || len(t)%4 != 0 {
		return false
	}
	pad := 0
	if t[len(t)-1] == '=' {
		pad++
		if t[len(t)-2] == '=' {
			pad++
		}
	}
	for _, c := range t[:len(t)-pad] {
		if !isBase64Char(c) {
			return false
		}
	}
	return true
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// DecodedLen is the number of bytes the text decodes to, when Valid.
func (b Base64) DecodedLen() int64 {
	n := int64(len(b.text)) / 4 * 3
	if len(b.text) > 0 && b.text[len(b.text)-1] == '=' {
		n--
		if b.text[len(b.text)-2] == '=' {
			n--
		}
	}
	return n
}

// Open returns a new reader of the decoded bytes; each call starts again
// from the first byte, so a retried upload can read them again.
func (b Base64) Open() io.Reader {
	return base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b.text))
}

// hollowMin is the length from which a string value is emptied in the copy
// of the arguments that the strict decoder reads (see hollow).
const hollowMin = 4 << 10

// hollow returns raw with every string value of hollowMin bytes or more
// emptied (object keys are kept), or raw itself when there is none. Decode
// checks the shape of the arguments (unknown fields, types, one object) on
// it with encoding/json's Decoder, which buffers what it reads: on raw,
// a 133 MB upload would be copied into that buffer and again into the
// scratch value. An emptied string is still a string, so the shape is the
// same; what was inside it is read by json.Unmarshal, which refuses what is
// not JSON.
func hollow(raw []byte) []byte {
	var out []byte // nil until a string is emptied
	copied := 0    // raw[:copied] is in out
	for i := 0; i < len(raw); {
		q := bytes.IndexByte(raw[i:], '"')
		if q < 0 {
			break
		}
		open := i + q
		end := stringEnd(raw, open)
		if end < 0 {
			break // unterminated: the decoder refuses it
		}
		i = end + 1
		if end-open-1 < hollowMin {
			continue
		}
		j := i
		for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\n' || raw[j] == '\r') {
			j++
		}
		if j < len(raw) && raw[j] == ':' {
			continue // a key: unknown-field errors name it
		}
		out = append(out, raw[copied:open+1]...)
		copied = end
	}
	if out == nil {
		return raw
	}
	return append(out, raw[copied:]...)
}

// stringEnd is the index of the quote closing the JSON string opened at
// raw[open], or -1. A quote is escaped when an odd run of backslashes
// precedes it.
func stringEnd(raw []byte, open int) int {
	for i := open + 1; i < len(raw); {
		q := bytes.IndexByte(raw[i:], '"')
		if q < 0 {
			return -1
		}
		p := i + q
		n := 0
		for k := p - 1; k > open && raw[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return p
		}
		i = p + 1
	}
	return -1
}
