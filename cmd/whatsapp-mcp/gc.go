package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// startupGCWindow is how long after main starts the heap may grow to five
// times what is live (GOGC=400) before the default applies again.
const startupGCWindow = 100 * time.Millisecond

// startupGC keeps the collector out of the way while the process starts:
// building the catalog (schemas reflected, marshalled) and the server
// allocates a few MB, nearly all garbage once serving begins, and a
// collection in the middle of it costs about 2 ms of the 20 it takes to
// answer tools/list. Then settleGC (or the end of startupGCWindow, if
// sooner) brings the default percentage back and returns the start's
// garbage to the OS (the RSS of an idle server). An operator's GOGC or
// GOMEMLIMIT is left alone.
func startupGC() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	prev := debug.SetGCPercent(400)
	settle = sync.OnceFunc(func() {
		debug.SetGCPercent(prev)
		debug.FreeOSMemory()
	})
	time.AfterFunc(startupGCWindow, settle)
}

// settle ends startupGC's window; nil without one.
var settle func()

// settleGC ends the start's window now, for a server about to serve: the
// collection then scans few goroutines (a serving process has dozens,
// whose stack maps it would page in from the binary, 1.5 MB of RSS).
func settleGC() {
	if settle != nil {
		settle()
	}
}

// stdioProcs runs a stdio server on one processor (GOMAXPROCS=1), unless
// the operator set GOMAXPROCS. It serves one client, whose calls wait on
// the network far more than they compute: with a processor more, every
// request and every answer from the Graph API hands a goroutine from one
// thread to another (futex wake-ups, threads spinning for work, 3 µs naps
// to steal it), which costs more CPU than the call's own work and adds to
// its latency. HTTP serves many clients at once and keeps them all.
// It returns what restores the setting (tests run the command in-process).
func stdioProcs() (restore func()) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(prev) }
}
