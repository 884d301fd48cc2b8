package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadOnlyReachesTools: --read-only reaches the tools it leaves enabled,
// so WHATSAPP_GET_MEDIA's save_as is refused before anything is fetched and
// the media directory stays empty.
func TestReadOnlyReachesTools(t *testing.T) {
	g := newFakeGraph(t)
	media := t.TempDir()
	envm := map[string]string{
		"WHATSAPP_ACCESS_TOKEN": testToken, "WHATSAPP_GRAPH_URL": g.URL, "WHATSAPP_WABA_ID": testWABA,
		"WHATSAPP_MEDIA_DIR": media, "HOME": t.TempDir(), "XDG_DATA_HOME": t.TempDir(),
	}
	code, out, errOut := runCmd(t, envm, "", "call", "--read-only", "WHATSAPP_GET_MEDIA", `{"media_id":"1013859600285441","download":true,"save_as":"photo.jpg"}`)
	if code != 1 || !strings.Contains(out, "read-only") {
		t.Fatalf("exit %d, want 1 with a read-only refusal\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if n := g.requests.Load(); n != 0 {
		t.Errorf("%d Graph requests, want none", n)
	}
	if entries, _ := os.ReadDir(media); len(entries) > 0 {
		t.Errorf("the media directory of a read-only server has %s", entries[0].Name())
	}
}
