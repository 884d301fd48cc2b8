// Package syncbuf lets tests read what code under test writes from other
// goroutines (a logger, a child process's stderr). Only tests import it.
package syncbuf

import (
	"strings"
	"sync"
)

// Buffer collects writes and is safe for concurrent Write and String. The
// zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p; it never fails.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
