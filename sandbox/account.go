package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// readParams reads a Graph POST body: JSON, or form-encoded (Graph accepts both; JSON-looking
// form values such as components are decoded). An unreadable body yields no parameters.
func readParams(r *http.Request) (map[string]any, []byte) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	m := map[string]any{}
	if ct == "application/x-www-form-urlencoded" {
		vals, _ := url.ParseQuery(string(raw))
		for k, v := range vals {
			if len(v) == 0 {
				continue
			}
			if t := strings.TrimSpace(v[0]); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
				var x any
				if decodeJSON([]byte(t), &x) == nil {
					m[k] = x
					continue
				}
			}
			m[k] = v[0]
		}
		return m, raw
	}
	if decodeJSON(raw, &m) != nil || m == nil {
		m = map[string]any{}
	}
	return m, raw
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// parseLimit reads Graph's "limit" (default 25).
func parseLimit(q url.Values) (int, *apiError) {
	v := q.Get("limit")
	if v == "" {
		return 25, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errParam("Param limit must be a non-negative integer")
	}
	if n == 0 {
		n = 25
	}
	return n, nil
}

const cursorPrefix = "sandbox-cursor:"

func encodeCursor(key int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(key, 10)))
}

func decodeCursor(c string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(string(b), cursorPrefix), 10, 64)
	return n, err == nil
}

// paginate picks the page [start,end) of keys (sorted descending) that after/before/limit
// select. Cursors carry a key rather than a position, so they stay valid when items before
// them are deleted. ok is false for a cursor the sandbox did not issue.
func paginate(keys []int64, q url.Values, limit int) (start, end int, ok bool) {
	n := len(keys)
	if a := q.Get("after"); a != "" {
		k, valid := decodeCursor(a)
		if !valid {
			return 0, 0, false
		}
		start = n
		for i, key := range keys {
			if key < k {
				start = i
				break
			}
		}
		return start, min(start+limit, n), true
	}
	if b := q.Get("before"); b != "" {
		k, valid := decodeCursor(b)
		if !valid {
			return 0, 0, false
		}
		end = n
		for i, key := range keys {
			if key <= k {
				end = i
				break
			}
		}
		return max(0, end-limit), end, true
	}
	return 0, min(limit, n), true
}

// page builds Graph's {"data":[…],"paging":{"cursors":{before,after},previous?,next?}};
// next/previous only when such a page exists, as absolute URLs on the sandbox host that
// keep the request's other parameters.
func (s *Sandbox) page(c *call, data []object, keys []int64, start, end int) object {
	items := make([]any, len(data))
	for i, d := range data {
		items[i] = d
	}
	out := object{{"data", items}}
	if start >= end {
		return out
	}
	link := func(set, drop, cursor string) string {
		q := c.r.URL.Query()
		q.Del(drop)
		q.Set(set, cursor)
		return s.baseURL(c.r) + c.r.URL.Path + "?" + q.Encode()
	}
	before, after := encodeCursor(keys[start]), encodeCursor(keys[end-1])
	paging := object{{"cursors", object{{"before", before}, {"after", after}}}}
	if start > 0 {
		paging = append(paging, kv{"previous", link("before", "after", before)})
	}
	if end < len(keys) {
		paging = append(paging, kv{"next", link("after", "before", after)})
	}
	return append(out, kv{"paging", paging})
}

func (s *Sandbox) getWABA(c *call, _ string) (any, *apiError) {
	return selectFields(wabaObject(), wabaDefaultFields, c.r.URL.Query().Get("fields"), nodeTypes[kindWABA])
}

func (s *Sandbox) getPhoneNumber(c *call, id string) (any, *apiError) {
	s.mu.Lock()
	p, hook := s.st.phone(id), s.webhookURL
	s.mu.Unlock()
	if p == nil {
		return nil, errNoObject(http.MethodGet, id)
	}
	return selectFields(phoneObject(p, hook), phoneDefaultFields, c.r.URL.Query().Get("fields"), nodeTypes[kindPhone])
}

func (s *Sandbox) listPhoneNumbers(c *call, _ string) (any, *apiError) {
	q := c.r.URL.Query()
	limit, e := parseLimit(q)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	phones, hook := s.st.phones, s.webhookURL
	s.mu.Unlock()
	keys := make([]int64, len(phones))
	objs := make([]object, len(phones))
	for i, p := range phones {
		keys[i] = p.onboarded.Unix()
		if objs[i], e = selectFields(phoneObject(p, hook), phoneDefaultFields, q.Get("fields"), nodeTypes[kindPhone]); e != nil {
			return nil, e
		}
	}
	start, end, ok := paginate(keys, q, limit)
	if !ok {
		// Graph's answer for a foreign cursor on this edge is undocumented; code 100 is its
		// generic invalid-parameter code.
		return nil, errParam("The after or before cursor is invalid.")
	}
	return s.page(c, objs[start:end], keys, start, end), nil
}

func (s *Sandbox) getBusinessProfile(c *call, id string) (any, *apiError) {
	s.mu.Lock()
	p := s.st.phone(id)
	s.mu.Unlock()
	if p == nil {
		return nil, errNoObject(http.MethodGet, id)
	}
	prof, e := selectFields(p.profile, profileDefaultFields, c.r.URL.Query().Get("fields"), "WhatsAppBusinessProfile")
	if e != nil {
		return nil, e
	}
	return object{{"data", []any{prof}}}, nil
}
