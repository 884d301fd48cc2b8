package actions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

const (
	pnID       = "106540352242922"
	wabaID     = "102290129340398"
	templateID = "1252715608684590"
	mediaID    = "1013859600285441"
	toIn       = "+1 (650) 555-1234"
	toNorm     = "+16505551234"
	wamid      = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="

	sendPath = "/v25.0/" + pnID + "/messages"
)

// fakeGraph is the shared fake Graph API (internal/graphtest) routed with
// the happy answers of every call the tools make; tests re-route the calls
// they break.
type fakeGraph struct {
	*graphtest.Server
	// media is what the CDN serves; its sha256 is what GET /{media} reports.
	media []byte
}

func newFake(t *testing.T) *fakeGraph {
	t.Helper()
	f := &fakeGraph{Server: graphtest.New(t, nil), media: []byte("\xff\xd8\xff\xe0 a small jpeg")}
	f.defaults()
	return f
}

func (f *fakeGraph) mediaSHA() string { return sha(f.media) }

func (f *fakeGraph) mediaURL() string {
	return f.URL + graphtest.CDNPath + "?mid=" + mediaID + "&ext=1&hash=ATsig"
}

// metaError is Meta's error envelope with error_data details the tools
// must pass on ("details of <code>").
func metaError(code, subcode int) string {
	return graphtest.MetaError(code, subcode, fmt.Sprintf(`"error_data":{"messaging_product":"whatsapp","details":"details of %d"}`, code))
}

// sendAnswer is Meta's answer to a send: it echoes the recipient; template
// sends get a pacing status. A read receipt, sent on the same edge, gets
// Meta's {"success":true}.
func sendAnswer(w http.ResponseWriter, r *http.Request) {
	var m struct {
		To     string `json:"to"`
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	_ = json.NewDecoder(r.Body).Decode(&m)
	if m.Status == "read" {
		graphtest.WriteJSON(w, 200, `{"success":true}`)
		return
	}
	status := ""
	if m.Type == "template" {
		status = `,"message_status":"accepted"`
	}
	graphtest.WriteJSON(w, 200, fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":%q%s}]}`,
		m.To, strings.TrimPrefix(m.To, "+"), wamid, status))
}

const (
	profileJSON  = `{"about":"Succulent specialists!","address":"1 Hacker Way","description":"Lucky Shrub","email":"lucky@luckyshrub.com","profile_picture_url":"https://pps.whatsapp.net/p.jpg","websites":["https://www.luckyshrub.com/"],"vertical":"RETAIL","messaging_product":"whatsapp"}`
	phoneJSON    = `{"verified_name":"Lucky Shrub","code_verification_status":"VERIFIED","display_phone_number":"+1 555-096-7852","quality_rating":"GREEN","platform_type":"CLOUD_API","throughput":{"level":"STANDARD"},"id":"` + pnID + `"}`
	templateJSON = `{"id":"` + templateID + `","name":"order_update","language":"en_US","category":"UTILITY","status":"APPROVED"}`
	pagingJSON   = `{"cursors":{"before":"QVFIb4","after":"QVFIa4"},"next":"https://graph.facebook.com/v25.0/next-page"}`
	// pagingOut is what the list tools return of pagingJSON: cursors only.
	pagingOut = `{"cursors":{"before":"QVFIb4","after":"QVFIa4"}}`
)

func (f *fakeGraph) mediaInfoJSON(id string) string {
	return fmt.Sprintf(`{"messaging_product":"whatsapp","url":%q,"mime_type":"image/jpeg","sha256":%q,"file_size":"%d","id":%q}`,
		f.mediaURL(), f.mediaSHA(), len(f.media), id)
}

// defaults installs the happy answers for every call the tools make.
func (f *fakeGraph) defaults() {
	f.Route("POST "+sendPath, sendAnswer)
	f.Route("POST /v25.0/"+pnID+"/media", graphtest.Reply(200, `{"id":"1037543291543636"}`))
	f.Route("GET /v25.0/"+pnID+"/whatsapp_business_profile", graphtest.Reply(200, `{"data":[`+profileJSON+`]}`))
	f.Route("GET /v25.0/"+pnID, graphtest.Reply(200, phoneJSON))
	f.Route("GET /v25.0/"+wabaID+"/phone_numbers", graphtest.Reply(200, `{"data":[`+phoneJSON+`],"paging":`+pagingJSON+`}`))
	f.Route("GET /v25.0/"+wabaID+"/message_templates", graphtest.Reply(200, `{"data":[`+templateJSON+`],"paging":`+pagingJSON+`}`))
	f.Route("POST /v25.0/"+wabaID+"/message_templates", graphtest.Reply(200, `{"id":"1627019861106475","status":"PENDING","category":"UTILITY"}`))
	f.Route("DELETE /v25.0/"+wabaID+"/message_templates", graphtest.Reply(200, `{"success":true}`))
	f.Route("GET /v25.0/"+templateID, graphtest.Reply(200, templateJSON))
	for _, id := range []string{mediaID, "2621233374848975"} {
		id := id
		f.Route("GET /v25.0/"+id, func(w http.ResponseWriter, r *http.Request) { graphtest.WriteJSON(w, 200, f.mediaInfoJSON(id)) })
	}
	f.Route("GET "+graphtest.CDNPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+graphtest.Token {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(f.media)
	})
}

// newDeps wires the actions to the fake with tiny retry delays.
func newDeps(t *testing.T, f *fakeGraph) *actions.Deps {
	t.Helper()
	c := f.NewClient(t)
	return &actions.Deps{Graph: c, WABAID: wabaID, MediaDir: t.TempDir(),
		Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }}
}

// allTools is every action, in catalog order: the nineteen of All, the
// interactive sends and the conversation actions.
func allTools(d *actions.Deps) []tools.Tool {
	return append(append(actions.All(d), actions.InteractiveActions(d)...), actions.ConversationActions(d)...)
}

// built caches allTools per Deps: reflecting every schema for every call is
// what makes the race detector slow. Tools read *Deps at call time, so
// later changes to the Deps still apply.
var built sync.Map // *actions.Deps → []tools.Tool

func findTool(t *testing.T, d *actions.Deps, name string) tools.Tool {
	t.Helper()
	all, ok := built.Load(d)
	if !ok {
		all, _ = built.LoadOrStore(d, allTools(d))
	}
	for _, tl := range all.([]tools.Tool) {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %s", name)
	return tools.Tool{}
}

func call(t *testing.T, d *actions.Deps, name, args string) tools.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return findTool(t, d, name).Call(ctx, json.RawMessage(args))
}

// callOK calls the tool on a fresh fake with the default answers, failing
// the test unless it succeeded.
func callOK(t *testing.T, name, args string) (*fakeGraph, tools.Result) {
	t.Helper()
	f := newFake(t)
	res := call(t, newDeps(t, f), name, args)
	if !res.Successful {
		t.Fatalf("%s failed: %s", name, res.Error)
	}
	return f, res
}

// envelope renders a result as the client sees it.
func envelope(t *testing.T, res tools.Result) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(res.JSON(), &m); err != nil {
		t.Fatalf("envelope: %v", err)
	}
	return m
}

func dataOf(t *testing.T, res tools.Result) map[string]any {
	t.Helper()
	m, ok := envelope(t, res)["data"].(map[string]any)
	if !ok {
		t.Fatalf("data is not an object: %s", res.JSON())
	}
	return m
}

// checkSubset asserts every key of want (JSON object) equals the same key in got.
func checkSubset(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	for k, v := range w {
		if !reflect.DeepEqual(got[k], v) {
			gb, _ := json.Marshal(got[k])
			vb, _ := json.Marshal(v)
			t.Errorf("data.%s = %s, want %s", k, gb, vb)
		}
	}
}

// merge returns base (a JSON object) with keys set from kv pairs; a nil
// value deletes the key.
func merge(base string, kv ...any) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		panic(err)
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(m, k)
			continue
		}
		if raw, ok := kv[i+1].(json.RawMessage); ok {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				panic(err)
			}
			m[k] = v
			continue
		}
		m[k] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// raw marks a JSON literal for merge.
func raw(s string) json.RawMessage { return json.RawMessage(s) }
