package server

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// guard is the one browser check of every face that runs tools (/mcp, the
// REST face, routes with Auth), so that a web page the operator's browser
// happens to show cannot drive them:
//
//   - on a loopback connection the Host must be a loopback name: a page
//     that rebinds its own domain to 127.0.0.1 (DNS rebinding) arrives with
//     its domain as Host. It is mcp-go's rule, moved here so that /mcp and
//     REST share it (mcp-go's own copy is switched off in streamable);
//   - a request carrying an Origin (every cross-origin browser request
//     does) must come from this server's own origin, from a page served on
//     loopback, or from one of Options.AllowedOrigins, as the MCP spec asks
//     of streamable HTTP servers;
//   - a POST must say Content-Type: application/json. Browsers send
//     text/plain, forms and multipart bodies without a CORS preflight, so a
//     page could otherwise fire one blindly; JSON needs a preflight, which
//     this server never grants.
//
// Refusals are envelope-shaped, like the 401 of auth, and logged at debug
// only: any web page can make them, and a loop of them must not flood the
// log (the answer tells a misconfigured client what is wrong).
func (s *Server) guard(h http.Handler) http.Handler {
	allowed := make([]string, 0, len(s.opts.AllowedOrigins))
	for _, o := range s.opts.AllowedOrigins {
		allowed = append(allowed, strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/")))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && local != nil &&
			isLoopbackHost(local.String()) && !isLoopbackHost(r.Host) {
			s.log.Debug("refused a request with a foreign Host on loopback (DNS rebinding?)", "host", r.Host, "path", r.URL.Path, "remote", r.RemoteAddr)
			writeFailure(w, http.StatusForbidden, fmt.Sprintf(
				"refused: Host %q is not a loopback name, and this server listens on loopback; a web page may be reaching it through DNS rebinding. Use http://localhost or http://127.0.0.1 (a reverse proxy on this machine must send Host: localhost)", r.Host), nil)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !originAllowed(origin, r.Host, allowed) {
			s.log.Debug("refused a request from a web page of another origin", "origin", origin, "path", r.URL.Path, "remote", r.RemoteAddr)
			writeFailure(w, http.StatusForbidden, fmt.Sprintf(
				"refused: requests from web pages of origin %q are not accepted; only this server's own origin, pages served on loopback and the origins its operator allows", origin), nil)
			return
		}
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				writeFailure(w, http.StatusUnsupportedMediaType, fmt.Sprintf(
					"Content-Type %q is not accepted: send the body as JSON with Content-Type: application/json; nothing was run", r.Header.Get("Content-Type")), nil)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// originAllowed: same origin as the request's Host, a loopback page, or an
// allowed origin (lower-case scheme://host[:port]). "null" (sandboxed
// frames, file: pages) and anything unparsable are refused.
func originAllowed(origin, host string, allowed []string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, host) || isLoopbackHost(u.Host) ||
		slices.Contains(allowed, strings.ToLower(u.Scheme+"://"+u.Host))
}

// isLoopbackHost reports whether a host or host:port ("localhost",
// "127.0.0.1:8080", "[::1]:8080") names a loopback interface.
func isLoopbackHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.Trim(addr, "[]") // no port
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
