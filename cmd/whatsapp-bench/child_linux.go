package main

import "syscall"

// childSysProcAttr kills a child when the harness dies, so no server, relay
// or load generator outlives an interrupted run.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
