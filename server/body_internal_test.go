package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSplitCall: the arguments of a large tools/call are a slice of the
// body, not a copy, and mcp-go gets the same message with {} in their
// place.
func TestSplitCall(t *testing.T) {
	args := `{"name":"a","content":"` + strings.Repeat("QUJD", 1000) + `"}`
	body := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"TEST_UPLOAD","_meta":{"progressToken":1},"arguments":` + args + `}}`)
	method, name, got, rest, err := splitCall(body)
	if err != nil || method != "tools/call" || name != "TEST_UPLOAD" || string(got) != args {
		t.Fatalf("%q %q %.40q %v", method, name, got, err)
	}
	if &got[0] != &body[strings.Index(string(body), args)] {
		t.Error("the arguments are a copy")
	}
	want := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"TEST_UPLOAD","_meta":{"progressToken":1},"arguments":{}}}`
	if string(rest) != want || !json.Valid(rest) {
		t.Errorf("rest = %s", rest)
	}
	if _, _, _, _, err := splitCall([]byte(`{"method":`)); err == nil {
		t.Error("invalid JSON accepted")
	}
}

func TestPeekCall(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct {
		prefix       string
		method, name string
		ok           bool
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"T","arguments":{"a":"` + long, "tools/call", "T", true},
		{`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{"x":"` + long, "initialize", "", true},
		{`{"params":{"name":"T","_meta":{},"arguments":{"a":"` + long, "", "", false},                         // method unknown
		{`{"method":"tools/call","params":{"arguments":{"a":"` + long, "", "", false},                         // name after the arguments
		{`{"params":{"name":"T"},"method":"tools/call","id":1`, "tools/call", "T", true},                      // params first, short
		{`{"params":{"name":"T","method":"initialize","x":1},"METHOD":"tools/call"`, "tools/call", "T", true}, // keys as encoding/json matches them
		{`[{"method":"initialize"}]`, "", "", false},
	} {
		method, name, ok := peekCall([]byte(tc.prefix))
		if method != tc.method || name != tc.name || ok != tc.ok {
			t.Errorf("peekCall(%.50s…) = %q %q %v, want %q %q %v", tc.prefix, method, name, ok, tc.method, tc.name, tc.ok)
		}
	}
}
