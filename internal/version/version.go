// Package version says which build is running, for `whatsapp-mcp version`,
// the MCP initialize answer and the Graph User-Agent.
package version

import (
	"runtime/debug"
	"strings"
)

// Version is set at release time:
//
//	go build -ldflags "-X github.com/whatsapp-mcp/whatsapp-mcp/internal/version.Version=v1.2.3"
//
// Left at "dev", the module version recorded by `go install module@version`
// is used instead.
var Version = "dev"

// Short is the version to announce: Version when set by ldflags, else the
// module version from the build info (`go install …@v1.2.3`), else "dev".
func Short() string {
	bi, ok := debug.ReadBuildInfo()
	return short(Version, bi, ok)
}

func short(v string, bi *debug.BuildInfo, ok bool) string {
	if v != "dev" {
		return v
	}
	if ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return v
}

// Long is Short plus the VCS revision and time the binary was built from,
// when the Go toolchain stamped them (a `go build` in a git checkout does;
// `go install module@version` records the version instead):
//
//	v1.2.3
//	dev (rev 3f2c1a9d0b7e, 2026-11-30T10:00:00Z, modified)
func Long() string {
	bi, ok := debug.ReadBuildInfo()
	return long(Version, bi, ok)
}

func long(v string, bi *debug.BuildInfo, ok bool) string {
	s := short(v, bi, ok)
	if !ok {
		return s
	}
	var rev, at string
	dirty := false
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			at = kv.Value
		case "vcs.modified":
			dirty = kv.Value == "true"
		}
	}
	if rev == "" {
		return s
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if strings.Contains(s, rev) {
		// Go 1.24+ already made a pseudo-version of it
		// (v0.0.0-20261123181151-f3bd57990568+dirty).
		return s
	}
	parts := []string{"rev " + rev}
	if at != "" {
		parts = append(parts, at)
	}
	if dirty {
		parts = append(parts, "modified")
	}
	return s + " (" + strings.Join(parts, ", ") + ")"
}
