//go:build whatsapp_bench_lean

package main

import (
	"fmt"
	"os"
)

// The lean build (go build -tags whatsapp_bench_lean) only plays the roles:
// the harness builds it so that the relays are as small as a minimal Go
// program, without the store, SQLite and PostgreSQL driver linked in.
func main() {
	if !isRole(os.Args) {
		fmt.Fprintln(os.Stderr, "whatsapp-bench (roles only): run the harness with go run ./cmd/whatsapp-bench")
		os.Exit(2)
	}
	os.Exit(runRole(os.Args))
}
