//go:build unix

package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

// TestSQLiteFilesArePrivate: the database and its -wal and -shm files hold
// customers' phone numbers and messages, so they are 0600 however the
// location is spelled (a path or a file: URI) and whatever the umask. The
// umask is the process's: this test must not run in parallel with others.
func TestSQLiteFilesArePrivate(t *testing.T) {
	for _, umask := range []int{0o022, 0o000} {
		old := syscall.Umask(umask)
		t.Cleanup(func() { syscall.Umask(old) })
		dir := t.TempDir()
		t.Chdir(dir)
		for _, loc := range []struct{ location, path string }{
			{filepath.Join(dir, "path.db"), filepath.Join(dir, "path.db")},
			{"file:" + filepath.Join(dir, "uri.db"), filepath.Join(dir, "uri.db")},
			{"file://" + filepath.Join(dir, "uri-authority.db") + "?cache=private", filepath.Join(dir, "uri-authority.db")},
			{"file:relative%20uri.db", filepath.Join(dir, "relative uri.db")},
		} {
			t.Run(fmt.Sprintf("umask %03o %s", umask, loc.location), func(t *testing.T) {
				s := openAt(t, loc.location)()
				defer s.Close()
				if _, _, err := s.Save(context.Background(), store.Batch{Statuses: []store.StatusEvent{{MessageID: "m", Status: "sent"}}}); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.Statuses(context.Background(), store.Query{}); err != nil {
					t.Fatal(err)
				}
				// While the store is open, all three files exist.
				for _, p := range []string{loc.path, loc.path + "-wal", loc.path + "-shm"} {
					fi, err := os.Stat(p)
					if err != nil {
						t.Fatal(err)
					}
					if perm := fi.Mode().Perm(); perm != 0o600 {
						t.Errorf("%s: mode %03o, want 600", filepath.Base(p), perm)
					}
				}
			})
		}
		syscall.Umask(old)
	}
}
