package bulk_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// TestBulkMatchesMeta: every recipient of a bulk send gets, byte for byte
// (keys sorted), the request of Meta's documented template send examples,
// the same recordings WHATSAPP_SEND_TEMPLATE_MESSAGE is held to
// (actions/testdata/templates): a bulk send is that send, once per
// recipient, with only "to" changed.
func TestBulkMatchesMeta(t *testing.T) {
	files, _ := filepath.Glob("../actions/testdata/templates/send_*.json")
	if len(files) < 4 {
		t.Fatalf("%d send recordings, want the template sends of actions/testdata/templates", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Args    map[string]any `json:"args"`
				Request map[string]any `json:"request"`
			}
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			first, _ := rec.Args["to_number"].(string)
			const second = "+16505550002"
			delete(rec.Args, "to_number")
			m := &meta{}
			e := newEnv(t, m, time.Second)
			e.start()
			id := e.send([]string{first, second}, rec.Args)
			if r := e.wait(id); r.Status != "sent" {
				t.Fatalf("status %s: %+v", r.Status, r)
			}
			for _, to := range []string{first, second} {
				rec.Request["to"] = to
				want, _ := json.Marshal(rec.Request)
				m.mu.Lock()
				got := m.bodies[to]
				m.mu.Unlock()
				if g, w := graphtest.Canonical(t, got), graphtest.Canonical(t, want); !bytes.Equal(g, w) {
					t.Errorf("%s's request\n got %s\nwant %s", to, g, w)
				}
			}
		})
	}
}
