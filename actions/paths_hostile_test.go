package actions_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
)

// TestHostileSaveAsSwap: WHATSAPP_GET_MEDIA checks that save_as is no link
// before it asks Meta for the file, and writes after the download. Here the
// fake CDN swaps a symlink to a file outside the media directory in under
// that name while it serves the download, that is between the check and
// the write, every time. The file outside must stay untouched, nothing may
// be created outside the directory, and what the tool writes lands inside
// the media directory (replacing the link, never writing through it).
func TestHostileSaveAsSwap(t *testing.T) {
	for _, dangle := range []bool{false, true} {
		name := "to an existing file"
		if dangle {
			name = "dangling, to a new file"
		}
		t.Run(name, func(t *testing.T) {
			outside := t.TempDir()
			victim := filepath.Join(outside, "victim.txt")
			dangling := filepath.Join(outside, "created-through-a-link")
			writeFile(t, victim, []byte("precious"))
			target := victim
			if dangle {
				target = dangling
			}
			f := newFake(t)
			d := newDeps(t, f)
			save := filepath.Join(d.MediaDir, "swapped.jpg")
			serve := f.media
			f.Route("GET "+graphtest.CDNPath, func(w http.ResponseWriter, r *http.Request) {
				// The check has passed (this request comes after it): swap.
				_ = os.Remove(save)
				if err := os.Symlink(target, save); err != nil {
					t.Errorf("symlink: %v", err)
				}
				w.Header().Set("Content-Type", "image/jpeg")
				_, _ = w.Write(serve)
			})
			res := call(t, d, "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true,"save_as":"swapped.jpg"}`)
			if got, _ := os.ReadFile(victim); string(got) != "precious" {
				t.Fatalf("the file outside the media directory was overwritten through the swapped link: %q (answer %s)", got, res.JSON())
			}
			if _, err := os.Lstat(dangling); err == nil {
				t.Fatalf("a file was created outside the media directory through the swapped link (answer %s)", res.JSON())
			}
			if res.Successful {
				// Saved: then inside the directory, as a regular file.
				st, err := os.Lstat(save)
				if err != nil || !st.Mode().IsRegular() {
					t.Fatalf("successful, but %s is not a regular file (%v, %v)", save, st, err)
				}
				if data := dataOf(t, res); data["saved_path"] != save {
					t.Errorf("saved_path %v, want %s", data["saved_path"], save)
				}
			} else if !strings.Contains(res.Error, "save") && !strings.Contains(res.Error, "link") {
				t.Errorf("unclear error: %s", res.Error)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Errorf("the directory outside holds %d entries, want only the victim", len(entries))
			}
			t.Logf("swap %s: successful=%v error=%q", name, res.Successful, res.Error)
		})
	}
}

// TestHostileSaveAsRace races a goroutine that keeps replacing save_as with
// a symlink out of the media directory (and removing it again) against
// repeated WHATSAPP_GET_MEDIA saves, for a bounded number of tries: no try
// may ever write or create a file outside the directory. Each answer is a
// save inside the directory or the refusal of a link.
func TestHostileSaveAsRace(t *testing.T) {
	const tries = 300
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim.txt")
	dangling := filepath.Join(outside, "created-through-a-link")
	writeFile(t, victim, []byte("precious"))
	f := newFake(t)
	d := newDeps(t, f)
	save := filepath.Join(d.MediaDir, "race.jpg")
	cdn := f.media
	f.Route("GET "+graphtest.CDNPath, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Microsecond) // widen the window a little
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(cdn)
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Int64
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = os.Remove(save)
			target := victim
			if i%2 == 1 {
				target = dangling
			}
			if os.Symlink(target, save) == nil {
				swaps.Add(1)
			}
			time.Sleep(50 * time.Microsecond)
			_ = os.Remove(save)
			time.Sleep(50 * time.Microsecond)
		}
	})
	saved, refused := 0, 0
	for i := range tries {
		res := call(t, d, "WHATSAPP_GET_MEDIA", `{"media_id":"`+mediaID+`","download":true,"save_as":"race.jpg"}`)
		if got, _ := os.ReadFile(victim); string(got) != "precious" {
			close(stop)
			wg.Wait()
			t.Fatalf("try %d: written through a swapped link outside the media directory: %q", i, got)
		}
		if _, err := os.Lstat(dangling); err == nil {
			close(stop)
			wg.Wait()
			t.Fatalf("try %d: a file was created outside the media directory through a swapped link", i)
		}
		switch {
		case res.Successful:
			saved++
		case strings.Contains(res.Error, "link"):
			refused++
		default:
			t.Errorf("try %d: neither saved nor a link refused: %s", i, res.Error)
		}
	}
	close(stop)
	wg.Wait()
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("the directory outside holds %d entries, want only the victim", len(entries))
	}
	t.Logf("%d tries, %d link swaps: %d saved inside the media directory, %d refused as a link, 0 written outside", tries, swaps.Load(), saved, refused)
}
