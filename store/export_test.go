package store

import "time"

// WithPGTestHooks lets the external tests widen the race window inside a
// PostgreSQL Save (beforeCommit) and switch the ordering lock off (noLock) to
// show that the concurrency test notices the skip the lock prevents. The
// hooks belong to the store opened with the option, so tests running in
// parallel do not see each other's.
func WithPGTestHooks(beforeCommit func(), noLock bool) Option {
	return func(o *options) { o.beforeCommit, o.noSaveLock = beforeCommit, noLock }
}

// WithGroupHook runs hook in every group's transaction, after the inserts
// and before the commit, with the number of Saves in the group; an error
// from it fails the group, as a failing database would.
func WithGroupHook(hook func(saves int) error) Option {
	return func(o *options) { o.groupHook = hook }
}

// WithLastInboundTTL sets how long LastInbound's answers are cached; a
// negative ttl switches the cache off.
func WithLastInboundTTL(ttl time.Duration) Option {
	return func(o *options) { o.inboundTTL = ttl }
}

// The bounds of a group.
const MaxGroupSaves, MaxGroupEvents = maxGroupSaves, maxGroupEvents

// PendingSaves is how many Saves are queued for the writer, not yet in a
// group.
func PendingSaves(s Store) int { return int(s.(*sqlStore).commits.pending.Load()) }

// SQLitePragmas reports the writer connection's journal mode and synchronous level.
func SQLitePragmas(s Store) (journalMode string, synchronous int, err error) {
	w := s.(*sqlStore).eng.(*sqliteEngine).w
	if err := w.QueryRow(`PRAGMA journal_mode`).Scan(&journalMode); err != nil {
		return "", 0, err
	}
	err = w.QueryRow(`PRAGMA synchronous`).Scan(&synchronous)
	return journalMode, synchronous, err
}

// WithSchemaVersion makes Open migrate only up to version v (an older
// store, as an older release left it) and return a store that can only be
// closed.
func WithSchemaVersion(v int) Option {
	return func(o *options) { o.schemaVersion = v }
}

// SQLiteFTSIntegrity runs FTS5's integrity check of the full-text index
// against wa_messages, its content: an error if they disagree.
func SQLiteFTSIntegrity(s Store) error {
	_, err := s.(*sqlStore).eng.(*sqliteEngine).w.Exec(`INSERT INTO wa_messages_fts (wa_messages_fts, rank) VALUES ('integrity-check', 1)`)
	return err
}
