package storetest

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// StartPostgres initialises and starts a private PostgreSQL cluster for one
// test, on a free loopback port of its own, so the test may stop and start
// it (an outage) without touching any other database. It returns the DSN of
// its "postgres" database (trust authentication, user postgres) and stop and
// start, which return once the server is down or accepting connections. The
// cluster is stopped and removed at cleanup.
//
// It needs initdb and pg_ctl (on PATH or under /usr/lib/postgresql/*/bin);
// without them the test is skipped, or fails under CI=true. initdb refuses
// to run as root, so as root the cluster runs as the postgres user.
func StartPostgres(t testing.TB) (dsn string, stop, start func()) {
	t.Helper()
	initdb, pgctl := pgBinary("initdb"), pgBinary("pg_ctl")
	if initdb == "" || pgctl == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("StartPostgres: initdb and pg_ctl are needed under CI=true (install PostgreSQL's server binaries)")
		}
		t.Skip("StartPostgres: initdb or pg_ctl not found (install PostgreSQL's server binaries)")
	}
	var asUser []string // the command prefix that runs a binary as the cluster's owner
	var owner *user.User
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("StartPostgres: running as root and there is no postgres user to own the cluster: %v", err)
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			t.Skipf("StartPostgres: running as root without runuser: %v", err)
		}
		owner, asUser = u, []string{runuser, "-u", "postgres", "--"}
	}

	// Not t.TempDir: its parents are private to the test's user, and the
	// cluster's owner must reach the data directory.
	dir, err := os.MkdirTemp("", "whatsapp-mcp-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data, logFile := filepath.Join(dir, "data"), filepath.Join(dir, "server.log")
	if owner != nil {
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	run := func(what string, args ...string) error {
		cmd := exec.Command(args[0], args[1:]...)
		if asUser != nil {
			cmd = exec.Command(asUser[0], append(slices.Clone(asUser[1:]), args...)...)
		}
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("StartPostgres: %s: %v\n%s", what, err, out)
		}
		return err
	}
	if err := run("initdb", initdb, "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--no-locale"); err != nil {
		t.Fatal("StartPostgres: initdb failed (see the log above)")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	// Loopback TCP only, the socket in the cluster's own directory, and no
	// durability: the cluster lives for one test.
	opts := "-c listen_addresses=127.0.0.1 -p " + port + " -k " + dir + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	running := false
	start = func() {
		t.Helper()
		if err := run("pg_ctl start", pgctl, "-D", data, "-l", logFile, "-o", opts, "-w", "-t", "60", "start"); err != nil {
			b, _ := os.ReadFile(logFile)
			t.Fatalf("StartPostgres: pg_ctl start failed; server log:\n%s", b)
		}
		running = true
	}
	stop = func() {
		t.Helper()
		if err := run("pg_ctl stop", pgctl, "-D", data, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
			t.Fatal("StartPostgres: pg_ctl stop failed (see the log above)")
		}
		running = false
	}
	start()
	t.Cleanup(func() {
		if running {
			run("pg_ctl stop", pgctl, "-D", data, "-m", "immediate", "-w", "stop")
		}
	})
	return "postgres://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable", stop, start
}

// pgBinary finds one of PostgreSQL's server binaries: on PATH, else in the
// newest /usr/lib/postgresql/<version>/bin (Debian and Ubuntu keep them
// there, off PATH).
func pgBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
