package store

// SetPGTestHooks lets the external tests widen the race window inside a
// PostgreSQL Save (beforeCommit) and switch the ordering lock off (noLock) to
// show that the concurrency test notices the skip the lock prevents.
func SetPGTestHooks(beforeCommit func(), noLock bool) (restore func()) {
	prevHook, prevNoLock := pgBeforeCommit, pgNoSaveLock
	pgBeforeCommit, pgNoSaveLock = beforeCommit, noLock
	return func() { pgBeforeCommit, pgNoSaveLock = prevHook, prevNoLock }
}

// SQLitePragmas reports the writer connection's journal mode and synchronous level.
func SQLitePragmas(s Store) (journalMode string, synchronous int, err error) {
	w := s.(*sqliteStore).w
	if err := w.QueryRow(`PRAGMA journal_mode`).Scan(&journalMode); err != nil {
		return "", 0, err
	}
	err = w.QueryRow(`PRAGMA synchronous`).Scan(&synchronous)
	return journalMode, synchronous, err
}
