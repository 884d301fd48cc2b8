package tools

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Decode reads args strictly into in: every unknown field, value of the
// wrong type and string that is not valid UTF-8 is named by its JSON path
// (sections[1].rows[0].title), in one InputError. Empty or null args decode
// as {}.
func Decode(args json.RawMessage, in any) error {
	if fields, _ := decode(args, in); len(fields) > 0 {
		return &InputError{Fields: bounded(fields)}
	}
	return nil
}

// decode reads args into in and returns the offending fields. usable is
// false when args are no JSON object at all, so nothing was decoded for the
// rules to check.
func decode(args json.RawMessage, in any) (fields []FieldError, usable bool) {
	raw := bytes.TrimSpace(args)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	// The shape is read from hollow(raw) into a scratch value, the values
	// from raw by json.Unmarshal: a long string is then copied once, and a
	// Base64 field keeps its bytes in args (see hollow and Base64). Without
	// a long string (the arguments of nearly every call) one strict decode
	// into in reads both, unless it finds something wrong: in is then
	// read again from zero by json.Unmarshal, as it would have been.
	shaped := hollow(raw)
	direct := len(shaped) == len(raw) // hollow only shortens
	scratch := in
	rv := reflect.ValueOf(in)
	if !direct && rv.Kind() == reflect.Pointer {
		scratch = reflect.New(rv.Type().Elem()).Interface()
	}
	dec := json.NewDecoder(bytes.NewReader(shaped))
	dec.DisallowUnknownFields()
	err := dec.Decode(scratch)
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return []FieldError{{Field: argumentsField, Rule: "must be valid JSON: " + err.Error()}}, false
	}
	// What follows the value: raw is trimmed, so anything left is more
	// than JSON whitespace. Read from shaped, not with dec.Token, which
	// may slide dec's buffer under the Base64 fields decoded into it.
	if len(bytes.TrimLeft(shaped[dec.InputOffset():], " \t\r\n")) > 0 {
		return []FieldError{{Field: argumentsField, Rule: "must be a single JSON object"}}, false
	}
	if direct && err != nil && rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	if !direct || err != nil {
		if uerr := json.Unmarshal(raw, in); errors.As(uerr, &se) {
			// Inside an emptied string: an invalid escape or control character.
			return []FieldError{{Field: argumentsField, Rule: "must be valid JSON: " + uerr.Error()}}, false
		}
	}
	// encoding/json reports only the first offence, and replaces invalid
	// UTF-8 with U+FFFD without a word: walk the arguments for all of them
	// when there is anything to find.
	if err == nil && utf8.Valid(raw) && !hasSurrogateEscape(raw) {
		return nil, true
	}
	w := &shapeWalker{raw: raw, dec: json.NewDecoder(bytes.NewReader(raw))}
	w.dec.UseNumber()
	w.value(reflect.TypeOf(in), "")
	if w.broken != nil {
		// The walk and encoding/json disagree on what the input is; the
		// decoder's own words are the best we have.
		return []FieldError{{Field: argumentsField, Rule: w.broken.Error()}}, false
	}
	if err != nil && len(w.fields) == 0 {
		// Something the walk does not model (a custom decoder's rule).
		w.fields = append(w.fields, FieldError{Field: argumentsField, Rule: err.Error()})
	}
	return w.fields, !w.topWrong
}

const argumentsField = "(arguments)"

// shapeWalker reads the arguments token by token alongside the Go type they
// decode into, as encoding/json would, naming what encoding/json would refuse
// or mangle.
type shapeWalker struct {
	raw      []byte
	dec      *json.Decoder
	fields   []FieldError
	topWrong bool  // the arguments are not an object
	broken   error // the tokens ran out or did not parse
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (w *shapeWalker) add(path, rule string) {
	if path == "" {
		path = argumentsField
	}
	w.fields = append(w.fields, FieldError{Field: path, Rule: rule})
}

// token reads the next token and checks its raw bytes (the separators
// before it are ASCII) for invalid UTF-8.
func (w *shapeWalker) token(path string) (json.Token, bool) {
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		w.broken = err
		return nil, false
	}
	if _, isString := tok.(string); isString {
		w.checkUTF8(w.raw[start:w.dec.InputOffset()], path)
	}
	return tok, true
}

func (w *shapeWalker) checkUTF8(b []byte, path string) {
	if !utf8.Valid(b) || hasLoneSurrogate(b) {
		w.add(path, "must be valid UTF-8 text: it holds bytes that are not UTF-8 (or half of a \\ud83d-style surrogate pair), which would be sent as U+FFFD (\ufffd)")
	}
}

// value reads one JSON value decoded into t (nil: anything, unchecked).
func (w *shapeWalker) value(t reflect.Type, path string) {
	for t != nil && t.Kind() == reflect.Pointer && !t.Implements(jsonUnmarshaler) && !t.Implements(textUnmarshaler) {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			w.broken = err
			return
		}
		w.checkUTF8(raw, path)
		if bytes.Equal(raw, []byte("null")) {
			return
		}
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			w.add(path, customRule(err))
		}
		return
	}
	tok, ok := w.token(path)
	if !ok {
		return
	}
	if tok == nil {
		return // null leaves the Go value alone
	}
	if d, isDelim := tok.(json.Delim); isDelim {
		w.composite(d, t, path)
		return
	}
	if t == nil || t.Kind() == reflect.Interface {
		return
	}
	got := ""
	switch v := tok.(type) {
	case string:
		if t.Kind() != reflect.String && !(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) {
			got = "string"
		}
	case bool:
		if t.Kind() != reflect.Bool {
			got = "bool"
		}
	case json.Number:
		got = numberFits(v, t)
	}
	if got != "" {
		w.wrong(path, t, got)
	}
}

// numberFits returns "" when n decodes into t, else what to call n.
func numberFits(n json.Number, t reflect.Type) string {
	var err error
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(n.String(), 10, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		_, err = strconv.ParseUint(n.String(), 10, t.Bits())
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(n.String(), t.Bits())
	default:
		return "number"
	}
	if err != nil {
		return "number " + clip(n.String(), echoMax)
	}
	return ""
}

func (w *shapeWalker) wrong(path string, t reflect.Type, got string) {
	if path == "" {
		w.topWrong = true
	}
	w.add(path, fmt.Sprintf("must be %s, not a JSON %s", jsonKind(t), got))
}

// composite reads the rest of an object or array opened by d.
func (w *shapeWalker) composite(d json.Delim, t reflect.Type, path string) {
	kind := reflect.Invalid
	if t != nil {
		kind = t.Kind()
	}
	fits := t == nil || kind == reflect.Interface
	if d == '[' {
		fits = fits || kind == reflect.Slice || kind == reflect.Array
	} else {
		fits = fits || kind == reflect.Struct || kind == reflect.Map
	}
	if !fits {
		got := "object"
		if d == '[' {
			got = "array"
		}
		w.wrong(path, t, got)
		t = nil // read on, unchecked, for UTF-8 and the end of the value
	}
	if d == '[' {
		var elem reflect.Type
		if t != nil && kind != reflect.Interface {
			elem = t.Elem()
		}
		for i := 0; w.broken == nil && w.dec.More(); i++ {
			w.value(elem, fmt.Sprintf("%s[%d]", path, i))
		}
		w.token(path)
		return
	}
	var fields map[string]reflect.StructField
	if t != nil && kind == reflect.Struct {
		fields = jsonFields(t)
	}
	for w.broken == nil && w.dec.More() {
		start := w.dec.InputOffset()
		tok, err := w.dec.Token()
		key, isKey := tok.(string)
		if err != nil || !isKey {
			w.broken = fmt.Errorf("reading an object key: %v", err)
			return
		}
		here := joinPath(path, key)
		w.checkUTF8(w.raw[start:w.dec.InputOffset()], here)
		var vt reflect.Type
		switch {
		case t == nil || kind == reflect.Interface:
		case kind == reflect.Map:
			vt = t.Elem()
		default:
			f, found := fieldFor(fields, key)
			if !found {
				w.unknown(here, path, t)
			} else {
				vt = f.Type
			}
		}
		w.value(vt, here)
	}
	w.token(path)
}

func (w *shapeWalker) unknown(here, parent string, t reflect.Type) {
	known := strings.Join(fieldNames(t), ", ")
	if parent == "" {
		w.add(here, "is not an input of this tool (known inputs: "+known+")")
		return
	}
	w.add(here, "is not a field of `"+parent+"` (known fields: "+known+")")
}

// joinPath appends an object key to a path; a long key is clipped.
func joinPath(path, key string) string {
	key = clip(key, echoMax)
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields maps the JSON names of t's fields, with the fields of untagged
// embedded structs flattened in, as encoding/json reads them.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && f.Tag.Get("json") == "" && ft.Kind() == reflect.Struct {
			for name, sub := range jsonFields(ft) {
				if _, shadowed := out[name]; !shadowed {
					out[name] = sub
				}
			}
			continue
		}
		if name := jsonName(f); name != "" {
			out[name] = f
		}
	}
	return out
}

// fieldFor finds key as encoding/json does: exactly, else ignoring case.
func fieldFor(fields map[string]reflect.StructField, key string) (reflect.StructField, bool) {
	if f, ok := fields[key]; ok {
		return f, true
	}
	for name, f := range fields {
		if strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// customRule words the error of a type's own decoder.
func customRule(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Type != nil {
		return fmt.Sprintf("must be %s, not a JSON %s", jsonKind(te.Type), te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// hasSurrogateEscape reports a \uD800-\uDFFF escape anywhere in b: cheap,
// and it may be a false alarm (an escaped backslash before "ud83d"); the
// walk then finds nothing.
func hasSurrogateEscape(b []byte) bool {
	for i := bytes.Index(b, []byte(`\u`)); i >= 0; {
		if rest := b[i+2:]; len(rest) >= 2 && (rest[0] == 'd' || rest[0] == 'D') && strings.IndexByte("89abcdefABCDEF", rest[1]) >= 0 {
			return true
		}
		j := bytes.Index(b[i+2:], []byte(`\u`))
		if j < 0 {
			return false
		}
		i += 2 + j
	}
	return false
}

// hasLoneSurrogate reports a \uXXXX escape of half a surrogate pair in the
// raw JSON b: encoding/json decodes it to U+FFFD.
func hasLoneSurrogate(b []byte) bool {
	pendingHigh := false
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			if pendingHigh {
				return true
			}
			continue
		}
		if b[i+1] != 'u' || i+6 > len(b) {
			if pendingHigh {
				return true
			}
			i++ // skip the escaped character (\\ or \")
			continue
		}
		r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
		i += 5
		if err != nil {
			continue
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if pendingHigh {
				return true
			}
			pendingHigh = true
		case r >= 0xDC00 && r <= 0xDFFF:
			if !pendingHigh {
				return true
			}
			pendingHigh = false
		default:
			if pendingHigh {
				return true
			}
		}
	}
	return pendingHigh
}

// echoMax is how much of a bad value an error quotes.
const echoMax = 64

// Echo quotes s for an error message, at most its first 64 characters: a
// 10 MB value must not come back as a 10 MB error.
func Echo(s string) string {
	if n := utf8.RuneCountInString(s); n > echoMax {
		return fmt.Sprintf("%q… (%d characters)", firstRunes(s, echoMax), n)
	}
	return fmt.Sprintf("%q", s)
}

// clip is s cut to max characters, saying how long it was.
func clip(s string, max int) string {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("%s… (%d characters)", firstRunes(s, max), n)
	}
	return s
}

func firstRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// Bounds of one InputError: rules quote values through Echo, and these
// catch what a rule quoted whole (a custom decoder, a Check).
const (
	maxFieldErrors = 100
	maxRuleLength  = 1024
)

// bounded caps the fields and the length of each rule.
func bounded(fields []FieldError) []FieldError {
	more := 0
	if len(fields) > maxFieldErrors {
		more = len(fields) - maxFieldErrors
		fields = fields[:maxFieldErrors]
	}
	for i := range fields {
		fields[i].Field = clip(fields[i].Field, maxRuleLength)
		fields[i].Rule = clip(fields[i].Rule, maxRuleLength)
	}
	if more > 0 {
		fields = append(fields, FieldError{Field: argumentsField, Rule: fmt.Sprintf("has %d more offending fields, not listed", more)})
	}
	return fields
}
