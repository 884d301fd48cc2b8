package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// TestSQLitePingNeedsTheWriteLock: a store whose file another process keeps
// write-locked answers reads but cannot save, and Ping says so (a read, or
// database/sql's Ping, would not).
func TestSQLitePingNeedsTheWriteLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, _, err := s.Statuses(ctx, store.Query{}); err != nil {
		t.Fatalf("reads still work: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded while another process holds the write lock")
	}

	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := s.Ping(ctx2); err != nil {
		t.Fatalf("Ping once the lock is released: %v", err)
	}
}

// TestPostgresPingFollowsTheServer: Ping fails while the database is down
// and succeeds again once it is back, on the same Store (its pool
// reconnects).
func TestPostgresPingFollowsTheServer(t *testing.T) {
	dsn, stop, start := storetest.StartPostgres(t)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.Ping(ctx)
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}
	stop()
	err = ping()
	if err == nil {
		t.Fatal("Ping succeeded with the server stopped")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Logf("Ping waited for its deadline: %v", err)
	}
	start()
	if err := ping(); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
}
