package actions_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/graphtest"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// storeNow is newDeps's clock, which the real stores share: arrival times
// and send times are the same instant.
var storeNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeStore is the webhook store as the actions use it (actions.Store),
// recording what they asked and failing when told to.
type fakeStore struct {
	mu      sync.Mutex
	batches []store.Batch
	saveErr error

	marked  []string // phone_number_id/message_id
	conv    store.Conversation
	known   bool
	markErr error

	asked     []string // field/subject
	change    store.Change
	hasChange bool
	changeErr error
}

func (s *fakeStore) Save(ctx context.Context, b store.Batch) (int, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saveErr != nil {
		return 0, 0, s.saveErr
	}
	s.batches = append(s.batches, b)
	return 0, 0, nil
}

func (s *fakeStore) MarkRead(ctx context.Context, phoneNumberID, messageID string) (store.Conversation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked = append(s.marked, phoneNumberID+"/"+messageID)
	return s.conv, s.known, s.markErr
}

func (s *fakeStore) LatestChange(ctx context.Context, field, subject string) (store.Change, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, field+"/"+subject)
	return s.change, s.hasChange, s.changeErr
}

// outbound is every message recorded, in order.
func (s *fakeStore) outbound() []store.OutboundMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.OutboundMessage
	for _, b := range s.batches {
		if len(b.Statuses)+len(b.Inbound)+len(b.Changes) > 0 {
			panic("a send recorded more than outbound messages")
		}
		out = append(out, b.Outbound...)
	}
	return out
}

// storeFailure is a store error carrying what must never reach a result.
const storeFailure = "disk I/O error at /var/lib/secret-path/events.db"

// engines runs fn on a fresh SQLite store in t.TempDir() and, when
// WHATSAPP_TEST_POSTGRES_DSN is set, on a fresh PostgreSQL schema.
func engines(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openStore(t, filepath.Join(t.TempDir(), "events.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, openStore(t, storetest.PostgresDSN(t))) })
}

func openStore(t *testing.T, location string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), location, store.WithClock(func() time.Time { return storeNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func saveBatch(t *testing.T, st store.Store, b store.Batch) {
	t.Helper()
	if _, _, err := st.Save(context.Background(), b); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// inboundText is a customer's text to pnID as the webhook stores it.
func inboundText(id string, ts int64, body string) store.InboundMessage {
	return store.InboundMessage{PhoneNumberID: pnID, MessageID: id, From: "16505551234", ProfileName: "Ana", Type: "text",
		Timestamp: ts, Text: body,
		Raw: []byte(fmt.Sprintf(`{"from":"16505551234","id":%q,"timestamp":"%d","type":"text","text":{"body":%q}}`, id, ts, body))}
}

// uniqueSends answers every send with a wamid of its own (the default fake
// answers one id, which a store keeps once).
func uniqueSends(f *fakeGraph) {
	var n atomic.Int32
	f.Route("POST "+sendPath, func(w http.ResponseWriter, r *http.Request) {
		graphtest.WriteJSON(w, 200, fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.SENT%d"}]}`, n.Add(1)))
	})
}

func hasWarning(warnings []string, phrase string) bool {
	for _, w := range warnings {
		if strings.Contains(w, phrase) {
			return true
		}
	}
	return false
}

// checkWarning asserts no warning when phrase is "", else exactly one,
// saying phrase.
func checkWarning(t *testing.T, warnings []string, phrase string) {
	t.Helper()
	switch {
	case phrase == "" && len(warnings) > 0:
		t.Errorf("warnings %v, want none", warnings)
	case phrase != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], phrase)):
		t.Errorf("warnings %v, want one saying %q", warnings, phrase)
	}
}
