package actions_test

import (
	"strings"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// leakyNext is a next link as Meta can write it: on another host than the
// one the client was given, with the access token in its query although the
// request sent it in a header.
const (
	foreignHost = "graph-internal.example.invalid"
	leakyNext   = "https://" + foreignHost + "/v25.0/" + wabaID + "/phone_numbers?access_token=" + graphtest.Token + "&limit=25&after=QVFIa4"
)

// TestPagingCursorsOnly: the list tools return the cursor of the next page
// and nothing else of Graph's paging block: no next or previous URL, so
// neither the token nor a host reaches the model.
func TestPagingCursorsOnly(t *testing.T) {
	cases := []struct {
		name, paging string
		want         string // the envelope's paging, "" for none
	}{
		{"next page", `{"cursors":{"before":"QVFIb4","after":"QVFIa4"},"next":"` + leakyNext + `","previous":"` + strings.ReplaceAll(leakyNext, "after=", "before=") + `"}`,
			`{"cursors":{"before":"QVFIb4","after":"QVFIa4"}}`},
		// Meta sends cursors on the last page too; without next, after would
		// only lead to an empty page.
		{"last page", `{"cursors":{"before":"QVFIb4","after":"QVFIa4"},"previous":"` + leakyNext + `"}`,
			`{"cursors":{"before":"QVFIb4"}}`},
		{"next without cursors", `{"next":"` + leakyNext + `"}`, `{"cursors":{"after":"QVFIa4"}}`},
		{"no paging", ``, ``},
	}
	for _, tool := range []struct{ name, path, item string }{
		{"WHATSAPP_GET_PHONE_NUMBERS", "/phone_numbers", phoneJSON},
		{"WHATSAPP_GET_MESSAGE_TEMPLATES", "/message_templates", templateJSON},
	} {
		for _, tc := range cases {
			t.Run(tool.name+"/"+tc.name, func(t *testing.T) {
				f := newFake(t)
				body := `{"data":[` + tool.item + `]`
				if tc.paging != "" {
					body += `,"paging":` + tc.paging
				}
				f.Route("GET /v25.0/"+wabaID+tool.path, graphtest.Reply(200, body+`}`))
				res := call(t, newDeps(t, f), tool.name, `{}`)
				if !res.Successful {
					t.Fatalf("failed: %s", res.Error)
				}
				out := string(res.JSON())
				for _, leak := range []string{graphtest.Token, "access_token", foreignHost, "next", "previous", "http"} {
					if strings.Contains(out, leak) {
						t.Errorf("the envelope carries %q: %s", leak, out)
					}
				}
				env := envelope(t, res)
				if tc.want == "" {
					if p, has := env["paging"]; has {
						t.Errorf("paging %v, want none", p)
					}
					return
				}
				graphtest.JSONEqual(t, "paging", graphtest.MustJSON(t, env["paging"]), []byte(tc.want))
			})
		}
	}
}

// TestExpandedEdgeLinks: an edge expanded through fields (fields=edge{…})
// comes back with a paging block of its own, whose links carry the token
// too; object tools pass Graph objects through, so those links are dropped.
func TestExpandedEdgeLinks(t *testing.T) {
	f := newFake(t)
	f.Route("GET /v25.0/"+templateID, graphtest.Reply(200, `{"id":"`+templateID+`","status":"APPROVED",`+
		`"previous_category":{"data":[{"id":"1"}],"paging":{"cursors":{"after":"QVFIa4"},"next":"`+leakyNext+`","previous":"`+leakyNext+`"}}}`))
	res := call(t, newDeps(t, f), "WHATSAPP_GET_TEMPLATE_STATUS", `{"template_id":"`+templateID+`","fields":"status,previous_category{id}"}`)
	if !res.Successful {
		t.Fatalf("failed: %s", res.Error)
	}
	out := string(res.JSON())
	for _, leak := range []string{graphtest.Token, "access_token", foreignHost} {
		if strings.Contains(out, leak) {
			t.Errorf("the envelope carries %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, `"after":"QVFIa4"`) {
		t.Errorf("the nested cursors were dropped too: %s", out)
	}
}
