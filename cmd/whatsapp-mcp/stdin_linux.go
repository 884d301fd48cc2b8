package main

import (
	"io"
	"os"
)

// pollableStdin returns a reader of the same pipe as stdin that Go's
// network poller serves, or in itself. os.Stdin reads block a thread in
// read(2): each time the next request is awaited, the runtime hands the
// thread's processor to another thread (a wake-up per call), and the call
// just handed to a worker waits for it. Setting stdin non-blocking would
// change the file description the parent shares (a shell's terminal, a
// pipeline's pipe), so the pipe is opened again, through /proc, as a
// description of this process's own. Anything but a pipe (a terminal, a
// socket, a file) is read as it is.
func pollableStdin(in io.Reader) (io.Reader, func()) {
	noop := func() {}
	if in != io.Reader(os.Stdin) {
		return in, noop
	}
	fi, err := os.Stdin.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return in, noop
	}
	f, err := os.OpenFile("/proc/self/fd/0", os.O_RDONLY, 0)
	if err != nil {
		return in, noop
	}
	return f, func() { f.Close() }
}
