package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// openAt returns a function opening location that fails t on error; the
// caller closes what it returns.
func openAt(t *testing.T, location string, opts ...store.Option) func() store.Store {
	return func() store.Store {
		t.Helper()
		s, err := store.Open(context.Background(), location, opts...)
		if err != nil {
			t.Fatalf("Open(%q): %v", location, err)
		}
		return s
	}
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(...store.Option) (store.Store, error) {
		return storetest.OpenAt(filepath.Join(t.TempDir(), "events.db"))
	})
}

// A file: URI and a path with characters that mean something in a URI.
func TestSQLiteLocations(t *testing.T) {
	dir := t.TempDir()
	for _, loc := range []string{
		"file:" + filepath.Join(dir, "uri.db"),
		filepath.Join(dir, "odd name?x=1#y.db"),
		filepath.Join(dir, "new", "sub", "dir.db"),
	} {
		s := openAt(t, loc)()
		if _, _, err := s.Save(context.Background(), store.Batch{Statuses: []store.StatusEvent{{MessageID: "m", Status: "sent"}}}); err != nil {
			t.Fatalf("%s: Save: %v", loc, err)
		}
		s.Close()
		s = openAt(t, loc)()
		got, _, err := s.Statuses(context.Background(), store.Query{})
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: after reopen got %d events, err %v", loc, len(got), err)
		}
		s.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "odd name?x=1#y.db")); err != nil {
		t.Fatalf("the odd file name was not used literally: %v", err)
	}
}

func TestSQLiteInMemory(t *testing.T) {
	s := openAt(t, ":memory:")()
	defer s.Close()
	if n, _, err := s.Save(context.Background(), store.Batch{Statuses: []store.StatusEvent{{MessageID: "m", Status: "sent"}}}); err != nil || n != 1 {
		t.Fatalf("Save: %d, %v", n, err)
	}
	if got, _, err := s.Statuses(context.Background(), store.Query{}); err != nil || len(got) != 1 {
		t.Fatalf("Statuses: %d events, %v (readers must share the in-memory database)", len(got), err)
	}
}

// Durability settings: we answer Meta 200 only after Save returns.
func TestSQLitePragmas(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "events.db"))()
	defer s.Close()
	mode, sync, err := store.SQLitePragmas(s)
	if err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 {
		t.Fatalf("journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	path := filepath.Join(t.TempDir(), "events.db")
	openAt(t, path)().Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("database file mode %o, want 600", perm)
	}
}

func TestDefaultPath(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("XDG layout is for Linux and the BSDs")
	}
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	p, err := store.DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(data, "whatsapp-mcp", "events.db"); p != want {
		t.Fatalf("DefaultPath() = %s, want %s", p, want)
	}
	fi, err := os.Stat(filepath.Dir(p))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}

	s, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatalf(`Open(""): %v`, err)
	}
	s.Close()
	if _, err := os.Stat(p); err != nil {
		t.Fatalf(`Open("") did not create %s: %v`, p, err)
	}

	// A relative XDG_DATA_HOME is invalid per the spec: fall back to ~/.local/share.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", "relative/dir")
	p, err = store.DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".local", "share", "whatsapp-mcp", "events.db"); p != want {
		t.Fatalf("DefaultPath() = %s, want %s", p, want)
	}
}

// The full-text index follows wa_messages through saves (messages with and
// without text) and prunes: FTS5's own check finds them in agreement.
func TestSQLiteFullTextIndexConsistent(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "events.db"))()
	defer s.Close()
	ctx := context.Background()
	old, recent := time.Unix(1_700_000_000, 0), time.Unix(1_760_000_000, 0)
	var b store.Batch
	for i := range 300 {
		m := store.InboundMessage{PhoneNumberID: "106540352242922", MessageID: fmt.Sprint("wamid.", i), From: fmt.Sprint(16505550000 + i%7),
			Type: "text", Timestamp: int64(i), Text: fmt.Sprint("word", i%11, " café"), ReceivedAt: old}
		if i%3 == 0 {
			m.Text, m.Type = "", "reaction"
		}
		if i%2 == 0 {
			m.ReceivedAt = recent
		}
		b.Inbound = append(b.Inbound, m)
	}
	if _, _, err := s.Save(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := store.SQLiteFTSIntegrity(s); err != nil {
		t.Fatalf("after saving: %v", err)
	}
	if p, err := s.Prune(ctx, time.Unix(1_750_000_000, 0)); err != nil || p.Messages != 150 {
		t.Fatalf("Prune = %+v, %v", p, err)
	}
	if err := store.SQLiteFTSIntegrity(s); err != nil {
		t.Fatalf("after pruning: %v", err)
	}
	hits, err := s.Search(ctx, store.SearchQuery{PhoneNumberID: "106540352242922", Query: "cafe", Limit: 1000})
	if err != nil || len(hits) != 100 { // the recent ones with text: even i, not a multiple of 3
		t.Fatalf("Search after Prune: %d hits, %v; want 100", len(hits), err)
	}
}
