// Package e2e drives the real binary with independent MCP clients.
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
)

// buildBinary compiles cmd/whatsapp-mcp once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "whatsapp-mcp")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/whatsapp-mcp")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sdkDir returns e2e/sdk when its npm dependencies are installed. Under
// CI=true a missing install is a failure, not a skip: .ci/run installs them.
func sdkDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs("sdk")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("e2e/sdk/node_modules is missing: run `npm ci` in e2e/sdk (scripts/test.sh does)")
		}
		t.Skip("e2e/sdk/node_modules not installed; run scripts/test.sh (it runs npm ci) to include the TypeScript SDK test")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH")
	}
	return dir
}

// TestTypeScriptSDKOverStdio lists the tools and calls a read, a send and a
// bad input through the official TypeScript SDK client, over stdio, against
// the embedded sandbox (nothing leaves the machine).
func TestTypeScriptSDKOverStdio(t *testing.T) {
	dir := sdkDir(t)
	bin := buildBinary(t)
	tmp := t.TempDir()
	cmd := exec.Command("node", filepath.Join(dir, "client.mjs"), bin, "stdio", "--sandbox")
	cmd.Env = append(os.Environ(),
		"WHATSAPP_STORE=file:"+filepath.Join(tmp, "events.db"),
		"XDG_DATA_HOME="+tmp,
		"WHATSAPP_ACCESS_TOKEN=", "WHATSAPP_APP_SECRET=",
		"EXPECT_TOOLS="+strconv.Itoa(len(catalog.Declarations())),
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("TypeScript SDK client failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
