// Package schemas holds the generated JSON Schema files of every tool of the
// catalog (one <TOOL_NAME>.json per tool, catalog.json as the index and
// openapi.json for the REST face), checked in so developers and platforms
// can read them without running the server, and the test that keeps them
// and the README's tool reference current.
//
// Regenerate after changing any tool declaration:
//
//	go generate ./...
package schemas

//go:generate go run ./gen
