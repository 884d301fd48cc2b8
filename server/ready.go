package server

import (
	"context"
	"net/http"
	"time"
)

// ReadyCheck is one condition of /readyz: a dependency the server needs to
// do its work (a database, a configured client).
type ReadyCheck struct {
	// Name names the dependency in the /readyz body, e.g. "store".
	Name string
	// Check returns nil when the dependency is usable. Its error's text is
	// the /readyz answer, seen by anyone who asks: no secrets.
	Check func(ctx context.Context) error
}

// ReadyTimeout bounds one readiness check: a dependency that does not
// answer in time is not ready.
const ReadyTimeout = 2 * time.Second

// healthz answers that the process is alive and serving HTTP. It is
// constant: a failing dependency is /readyz's business, and a liveness
// probe that failed with the database would restart healthy processes.
func healthz(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz runs every Options.Ready check: 200 {"status":"ready","checks":
// {name:"ok"…}} when all pass, else 503 {"status":"unavailable","checks":
// {name: what is wrong…}}. Load balancers and orchestrators route traffic
// by it; never authenticated, like /healthz.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	checks := make(map[string]string, len(s.opts.Ready))
	status, code := "ready", http.StatusOK
	for _, c := range s.opts.Ready {
		ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
		err := c.Check(ctx)
		cancel()
		if err != nil {
			checks[c.Name] = err.Error()
			status, code = "unavailable", http.StatusServiceUnavailable
			continue
		}
		checks[c.Name] = "ok"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, code, map[string]any{"status": status, "checks": checks})
}

func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
	return false
}
