package store

// WithPGTestHooks lets the external tests widen the race window inside a
// PostgreSQL Save (beforeCommit) and switch the ordering lock off (noLock) to
// show that the concurrency test notices the skip the lock prevents. The
// hooks belong to the store opened with the option, so tests running in
// parallel do not see each other's.
func WithPGTestHooks(beforeCommit func(), noLock bool) Option {
	return func(o *options) { o.beforeCommit, o.noSaveLock = beforeCommit, noLock }
}

// SQLitePragmas reports the writer connection's journal mode and synchronous level.
func SQLitePragmas(s Store) (journalMode string, synchronous int, err error) {
	w := s.(*sqlStore).eng.(*sqliteEngine).w
	if err := w.QueryRow(`PRAGMA journal_mode`).Scan(&journalMode); err != nil {
		return "", 0, err
	}
	err = w.QueryRow(`PRAGMA synchronous`).Scan(&synchronous)
	return journalMode, synchronous, err
}
