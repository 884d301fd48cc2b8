package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
)

// A store of schema version 2 (before the conversation store) keeps its
// data through migration 3: its inbound messages move to wa_messages with
// their text and ids read from Meta's JSON, build their conversations, and
// are found by every read; its statuses stay.
func TestMigrationFromVersion2(t *testing.T) {
	for _, eng := range []struct {
		name string
		loc  func(t *testing.T) string
		exec func(t *testing.T, loc string, stmts ...string)
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "events.db") }, execSQLite},
		{"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }, execPostgres},
	} {
		t.Run(eng.name, func(t *testing.T) {
			loc := eng.loc(t)
			old, err := store.Open(context.Background(), loc, store.WithSchemaVersion(2))
			if err != nil {
				t.Fatal(err)
			}
			old.Close()
			recv := map[string]string{ // received_at: SQLite unix nanoseconds, PostgreSQL timestamptz
				"sqlite":   "1750000000000000000",
				"postgres": "'2025-06-15 15:06:40+00'",
			}[eng.name]
			// Migration 1's statements, as the releases before
			// migration 3 ran them.
			eng.exec(t, loc,
				`INSERT INTO wa_status_events (waba_id, phone_number_id, display_phone_number, message_id, status, ts, recipient_id, raw, received_at)
				VALUES ('102290129340398', '106540352242922', '15550783881', 'wamid.out1', 'read', 1749416400, '16505551234',
				'{"id":"wamid.out1","status":"read"}', `+recv+`)`,
				`INSERT INTO wa_inbound_messages (phone_number_id, message_id, from_wa_id, type, ts, raw, received_at) VALUES
				('106540352242922', 'wamid.t', '16505551234', 'text', 1749416383,
					'{"from":"16505551234","id":"wamid.t","timestamp":"1749416383","type":"text","text":{"body":"¿Tienen café?"},"context":{"id":"wamid.out1"}}', `+recv+`),
				('106540352242922', 'wamid.i', '16505551234', 'image', 1749416390,
					'{"from":"16505551234","from_user_id":"US.13491208655302741918","id":"wamid.i","type":"image","image":{"id":"m1","caption":"the receipt"}}', `+recv+`),
				('106540352242922', 'wamid.b', '447700900123', 'interactive', 1749416395,
					'{"from":"447700900123","id":"wamid.b","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes please"}}}', `+recv+`),
				('106540352242922', 'wamid.l', '447700900123', 'location', 1749416396,
					'{"from":"447700900123","id":"wamid.l","type":"location","location":{"latitude":1,"longitude":2,"name":"Main Office","address":"1 Hacker Way"}}', `+recv+`),
				('106540352242922', 'wamid.r', '447700900123', 'reaction', 1749416500,
					'{"from":"447700900123","id":"wamid.r","type":"reaction","reaction":{"message_id":"wamid.out1","emoji":"👍"}}', `+recv+`),
				('106540352242999', 'wamid.x', '16505551234', 'unknown', 0, NULL, `+recv+`)`,
			)

			s := openAt(t, loc)()
			defer s.Close()
			ctx := context.Background()
			const phone = "106540352242922"
			msgs, next, err := s.Inbound(ctx, store.InboundQuery{PhoneNumberID: phone})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.MessageID+"="+m.Text+"|"+m.ContextID+"|"+m.UserID)
			}
			want := []string{
				"wamid.t=¿Tienen café?|wamid.out1|",
				"wamid.i=the receipt||US.13491208655302741918",
				"wamid.b=Yes please||",
				"wamid.l=Main Office 1 Hacker Way||",
				"wamid.r=👍|wamid.out1|",
			}
			if !slices.Equal(got, want) {
				t.Fatalf("migrated inbound:\n got  %q\n want %q", got, want)
			}
			if next != msgs[len(msgs)-1].Seq || msgs[0].Raw == nil || msgs[0].Customer != "16505551234" {
				t.Errorf("migrated message %+v, next %d", msgs[0], next)
			}
			convs, err := s.Conversations(ctx, store.ConversationQuery{PhoneNumberID: phone})
			if err != nil || len(convs) != 2 {
				t.Fatalf("inbox: %d conversations, %v; want 2", len(convs), err)
			}
			if c := convs[0]; c.Customer != "447700900123" || c.Unread != 3 || c.Last.MessageID != "wamid.r" ||
				!c.LastInboundAt.Equal(time.Unix(1749416396, 0)) {
				t.Errorf("bob's conversation %+v", c)
			}
			if c := convs[1]; c.Customer != "16505551234" || c.UserID != "US.13491208655302741918" || c.Unread != 2 {
				t.Errorf("alice's conversation %+v", c)
			}
			hist, err := s.Messages(ctx, store.HistoryQuery{PhoneNumberID: phone, Customer: "US.13491208655302741918"})
			if err != nil || len(hist) != 2 || hist[0].MessageID != "wamid.i" {
				t.Errorf("history by BSUID: %d messages, %v", len(hist), err)
			}
			for q, want := range map[string]string{"cafe": "wamid.t", "receipt": "wamid.i", "hacker": "wamid.l", "yes": "wamid.b"} {
				hits, err := s.Search(ctx, store.SearchQuery{PhoneNumberID: phone, Query: q})
				if err != nil || len(hits) != 1 || hits[0].MessageID != want {
					t.Errorf("Search(%q) = %v, %v; want %s", q, ids(hits), err, want)
				}
			}
			if last, ok, err := s.LastInbound(ctx, phone, "+1 650 555 1234"); err != nil || !ok || last.Unix() != 1749416390 {
				t.Errorf("LastInbound = %v, %v, %v", last, ok, err)
			}
			// No timestamp: the arrival time stands in.
			if last, ok, err := s.LastInbound(ctx, "106540352242999", "16505551234"); err != nil || !ok || last.Unix() != 1750000000 {
				t.Errorf("LastInbound without a timestamp = %v, %v, %v; want the arrival", last, ok, err)
			}
			st, _, err := s.Statuses(ctx, store.Query{PhoneNumberID: phone})
			if err != nil || len(st) != 1 || st[0].MessageID != "wamid.out1" {
				t.Errorf("statuses after migration: %+v, %v", st, err)
			}
			// And the store goes on: a new message joins the migrated conversation.
			if _, n, err := s.Save(ctx, store.Batch{Inbound: []store.InboundMessage{{PhoneNumberID: phone, MessageID: "wamid.new",
				From: "16505551234", Type: "text", Timestamp: 1749417000, Text: "new"}}}); err != nil || n != 1 {
				t.Fatalf("Save after migration: %d, %v", n, err)
			}
			if c, _, _ := s.Conversation(ctx, phone, "16505551234"); c.Unread != 3 || c.Last.MessageID != "wamid.new" {
				t.Errorf("after a new message: %+v", c)
			}
		})
	}
}

func ids(msgs []store.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.MessageID)
	}
	return out
}

func execSQLite(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func execPostgres(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
