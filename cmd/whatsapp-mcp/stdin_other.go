//go:build !linux

package main

import "io"

// pollableStdin is in itself off Linux (see stdin_linux.go).
func pollableStdin(in io.Reader) (io.Reader, func()) { return in, func() {} }
