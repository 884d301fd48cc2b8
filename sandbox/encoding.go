package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// metaJSON serialises v the way Meta does on the wire: "/" becomes "\/", every non-ASCII
// character becomes a lowercase \uXXXX escape (surrogate pairs above the BMP) and <, >, &
// stay literal. Webhook receivers must verify the signature over these exact bytes, so a
// receiver that re-serialises with encoding/json fails here exactly as it would against Meta.
// Graph API responses use the same escaping, so the sandbox applies it everywhere.
func metaJSON(v any) ([]byte, error) {
	b, err := marshalNoHTML(v)
	if err != nil {
		return nil, err
	}
	return metaEscape(b), nil
}

// marshalNoHTML is json.Marshal without Go's HTML escaping of <, > and &.
func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// metaEscape post-processes compact JSON produced by encoding/json. It is safe to work on
// raw bytes: encoding/json never emits "/" or non-ASCII outside string literals, never
// emits the sequence `\/`, and has already replaced invalid UTF-8 with U+FFFD.
func metaEscape(b []byte) []byte {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(b)+len(b)/8)
	appendU := func(r rune) {
		out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c == '/' {
			out = append(out, '\\', '/')
			i++
			continue
		}
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			appendU(r1)
			appendU(r2)
		} else {
			appendU(r)
		}
		i += size
	}
	return out
}

// kv is one member of an ordered JSON object.
type kv struct {
	k string
	v any
}

// object is a JSON object that keeps its member order. Graph answers list the requested
// fields in the order asked, then "id"; maps would sort them alphabetically. Members whose
// value is nil are omitted, like Graph omits unset fields.
type object []kv

func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	for _, m := range o {
		if m.v == nil {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		k, err := marshalNoHTML(m.k)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoHTML(m.v)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", m.k, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// get returns the value of member k.
func (o object) get(k string) (any, bool) {
	for _, m := range o {
		if m.k == k {
			return m.v, true
		}
	}
	return nil, false
}
