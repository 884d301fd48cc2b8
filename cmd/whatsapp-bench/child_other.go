//go:build !linux

package main

import "syscall"

// childSysProcAttr: elsewhere than Linux children stop when their stdin
// closes or their time is up (the harness itself needs Linux's /proc).
func childSysProcAttr() *syscall.SysProcAttr { return nil }
