package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"

	"github.com/invopop/jsonschema"
)

// Decimal is a decimal number sent either as a JSON string ("37.44") or as a
// JSON number (37.44): models send numbers where a catalog says string, and
// the value is the same. It is kept as decimal text, a number's digits as
// written; validate it with string rules (latitude, longitude, numeric).
type Decimal string

var plainDecimalRe = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

var errNotDecimal = errors.New("must be a string or a number")

// UnmarshalJSON reads a string or a number; null leaves d alone.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errNotDecimal
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Decimal(s)
	case bytes.Equal(b, []byte("null")):
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		s := string(b)
		if !plainDecimalRe.MatchString(s) {
			// 3.744e1: the same number in the decimal form the string
			// rules read; a value out of float64's range stays as sent
			// for them to refuse.
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				s = strconv.FormatFloat(f, 'f', -1, 64)
			}
		}
		*d = Decimal(s)
	default:
		return errors.New(errNotDecimal.Error() + ", not a JSON " + jsonValueKind(b[0]))
	}
	return nil
}

// JSONSchema types it as a string or a number, at the property level (no
// oneOf/anyOf, which some clients reject in tool schemas).
func (Decimal) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Extras: map[string]any{"type": []string{"string", "number"}}}
}

func jsonValueKind(first byte) string {
	switch first {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "value"
}
