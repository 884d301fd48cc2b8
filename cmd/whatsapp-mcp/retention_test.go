package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/store"
)

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"", 0, ""},
		{"0", 0, ""},
		{"90d", 90 * 24 * time.Hour, ""},
		{" 12W ", 84 * 24 * time.Hour, ""},
		{"720h", 720 * time.Hour, ""},
		{"1h", time.Hour, ""},
		{"90s", 0, "under the minimum"},
		{"-3d", 0, "whole number"},
		{"0d", 0, "whole number"},
		{"d", 0, "whole number"},
		{"ninety days", 0, "want a duration"},
		{"1.5d", 0, "whole number"},
	} {
		got, err := parseRetention(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseRetention(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestRetentionSetting(t *testing.T) {
	cfg, _, err := parse(httpCmd, nil, envOf(map[string]string{"WHATSAPP_RETENTION": "30d"}), io.Discard)
	if err != nil || cfg.Retention != 30*24*time.Hour {
		t.Fatalf("WHATSAPP_RETENTION=30d: %v, %v", cfg, err)
	}
	if _, _, err := parse(httpCmd, []string{"--retention", "30m"}, envOf(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "retention") {
		t.Fatalf("WHATSAPP_RETENTION=30m: want an error naming the variable, got %v", err)
	}
}

// TestRunRetentionPrunes: the loop deletes what is older than the
// retention at its first run and keeps the rest.
func TestRunRetentionPrunes(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-40*24*time.Hour), now.Add(-time.Hour)
	msg := func(id string, at time.Time) store.InboundMessage {
		return store.InboundMessage{PhoneNumberID: "106540352242922", MessageID: id, From: "16505551234", Type: "text",
			Timestamp: at.Unix(), Text: id, ReceivedAt: at}
	}
	if _, _, err := st.Save(ctx, store.Batch{
		Inbound:  []store.InboundMessage{msg("wamid.old", old), msg("wamid.new", recent)},
		Statuses: []store.StatusEvent{{PhoneNumberID: "106540352242922", MessageID: "wamid.out", Status: "sent", ReceivedAt: old}},
	}); err != nil {
		t.Fatal(err)
	}
	a := &app{st: st, log: slog.New(slog.DiscardHandler)}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.runRetention(rctx, 30*24*time.Hour, func() time.Time { return now }); close(done) }()
	// The first run is immediate; wait until it has removed the old message.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		msgs, err := st.Messages(ctx, store.HistoryQuery{PhoneNumberID: "106540352242922", Customer: "16505551234"})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 1 {
			if msgs[0].MessageID != "wamid.new" {
				t.Fatalf("kept %s, want wamid.new", msgs[0].MessageID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first run the store still holds %d messages", len(msgs))
		}
	}
	cancel()
	<-done
	hist, err := st.History(ctx, []string{"wamid.out"})
	if err != nil || len(hist) != 0 {
		t.Fatalf("the 40-day-old status is still there: %v, %v", hist, err)
	}
}
