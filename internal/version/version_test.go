package version

import (
	"runtime/debug"
	"testing"
)

func TestVersion(t *testing.T) {
	info := func(mod string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: mod}, Settings: settings}, true
		}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "3f2c1a9d0b7e55aa00112233"}
	at := debug.BuildSetting{Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}
	dirty := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	for _, c := range []struct {
		name, ldflags string
		info          func() (*debug.BuildInfo, bool)
		short, long   string
	}{
		{"go install module@version", "dev", info("v1.4.0"), "v1.4.0", "v1.4.0"},
		{"go build in a checkout", "dev", info("(devel)", rev, at, dirty), "dev", "dev (rev 3f2c1a9d0b7e, 2026-11-30T10:00:00Z, modified)"},
		{"clean checkout", "dev", info("(devel)", rev), "dev", "dev (rev 3f2c1a9d0b7e)"},
		{"ldflags win", "v2.0.0", info("v1.4.0", rev), "v2.0.0", "v2.0.0 (rev 3f2c1a9d0b7e)"},
		{"pseudo-version from VCS", "dev", info("v0.0.0-20261123181151-3f2c1a9d0b7e+dirty", rev, at, dirty), "v0.0.0-20261123181151-3f2c1a9d0b7e+dirty", "v0.0.0-20261123181151-3f2c1a9d0b7e+dirty"},
		{"no build info", "dev", func() (*debug.BuildInfo, bool) { return nil, false }, "dev", "dev"},
	} {
		bi, ok := c.info()
		if got := short(c.ldflags, bi, ok); got != c.short {
			t.Errorf("%s: Short = %q, want %q", c.name, got, c.short)
		}
		if got := long(c.ldflags, bi, ok); got != c.long {
			t.Errorf("%s: Long = %q, want %q", c.name, got, c.long)
		}
	}
}
