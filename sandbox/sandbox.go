// Package sandbox is an in-memory emulator of the WhatsApp Business Cloud API (Meta Graph
// API) routes this project's tools call. It answers with Meta's paths, request checks,
// response and error bodies, and it posts signed status and inbound-message webhooks the way
// Meta does, so the server can be tried without a Meta account and tested end to end.
//
// The reference for every behaviour is docs/cloud-api.md (Meta's rules as this project reads them, with
// links to Meta's pages); where Meta's behaviour is not documented the code says which
// reading it picked, and docs/cloud-api.md#choices-where-meta-is-silent-unconfirmed lists those choices.
package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

// Fixed sandbox credentials and ids. The token is a public test value, not a secret.
const (
	DefaultToken       = "sandbox-access-token"
	DefaultAppSecret   = "sandbox-app-secret"
	DefaultVerifyToken = "sandbox-verify-token"
	WABAID             = "102290129340398"
	PhoneNumberID      = "106540352242922" // first business number, display "+1 555-078-3881"
	PhoneNumberID2     = "106540352242933" // second business number, display "+1 555-078-3882"
)

// LatestVersion is the newest Graph API version the sandbox knows; newer ones are unknown.
const LatestVersion = "v26.0"

// Config configures a Sandbox. The zero value is usable.
type Config struct {
	Token, AppSecret string        // default DefaultToken / DefaultAppSecret when empty
	VerifyToken      string        // used by VerifyWebhook; default DefaultVerifyToken
	WebhookURL       string        // where status/inbound webhooks are POSTed; empty = none sent
	ApprovalDelay    time.Duration // created templates go PENDING -> APPROVED after this (0 = approve immediately but still answer PENDING on create)
	StatusDelay      time.Duration // delay between sent/delivered/read webhooks
	Duplicates       int           // deliver each webhook POST this many extra times
	OutOfOrder       bool          // deliver statuses of a message in reversed order
	BatchSize        int           // >1: batch several statuses in one POST (several entries/changes/statuses)
	BatchWindow      time.Duration // how long a partial batch waits for more statuses; default 100ms
	// UnreachableNumbers are recipients (any format, country code included) whose sends end
	// as failed 131026.
	UnreachableNumbers []string
	Faults             Faults
	// MessagesPerSecond, PairRate and PairBurst are Meta's send limits (throughput.go;
	// docs/cloud-api.md#throughput-and-pair-rate); 0 leaves them off.
	MessagesPerSecond int
	PairRate          time.Duration
	PairBurst         int
	// FileSizeAsString answers media file_size as a JSON string (Meta's reference types it so)
	// instead of a number (what Meta's examples and clients show); clients must accept both.
	FileSizeAsString bool
	// BaseURL overrides the scheme://host used in absolute URLs (paging next, media url);
	// default: taken from each request.
	BaseURL string
	Clock   func() time.Time // optional, for tests
	Logger  *slog.Logger     // optional; never logs the token or app secret
}

// Faults injects failures into Graph routes. Rates are shares in [0,1], drawn in this
// order for each request: HangRate, DropRate, ServerErrorRate, ThrottleRate, LostAnswerRate
// (so ThrottleRate 0.125 after ServerErrorRate 0.2 throttles 10 % of all requests).
type Faults struct {
	Latency         time.Duration // added before answering
	ServerErrorRate float64       // answered HTTP 500 (131000) or 503 (code 2), not executed
	ThrottleRate    float64       // answered HTTP 400 130429, not executed
	DropRate        float64       // request read, then the connection is closed without an answer
	// LostAnswerRate: the request is executed (a send is sent, its webhooks follow), then the
	// connection is closed without the answer — the case a client cannot tell from DropRate.
	LostAnswerRate float64
	// HangRate: the request is read and never answered; the handler waits until the client
	// gives up (or the connection closes).
	HangRate float64
	// Seed, when not 0, draws the faults from a generator seeded with it, so one goroutine
	// sending requests one after another gets the same faults on every run.
	Seed uint64
}

// FaultCounts counts the Graph requests the sandbox answered with each fault.
type FaultCounts struct {
	ServerErrors, Throttled, Dropped, LostAnswers, Hung int64
}

// Sandbox is the emulator. It is an http.Handler; create it with New and stop it with Close.
type Sandbox struct {
	token, appSecret, verifyToken string
	clock                         func() time.Time
	log                           *slog.Logger
	cfg                           Config // knobs that never change after New
	unreachable                   map[string]bool

	requests atomic.Int64
	counts   struct{ serverErrors, throttled, dropped, lostAnswers, hung atomic.Int64 }

	rngMu sync.Mutex
	rng   *rand.Rand // nil: faults are drawn from the global generator

	mu         sync.Mutex
	faults     Faults
	webhookURL string
	st         *state

	hooks  *webhooker
	routes map[objKind]map[string]map[string]handler // kind → edge ("" = the node) → method
	up     uploads                                   // resumable uploads (resumable.go); guarded by mu
	limits sendLimits                                // throughput.go; guarded by mu
}

// New returns a sandbox seeded with one WABA, two phone numbers, their business profiles and
// four templates (hello_world, order_update, welcome_named APPROVED; spring_sale PENDING).
func New(cfg Config) *Sandbox {
	s := &Sandbox{
		token:       cfg.Token,
		appSecret:   cfg.AppSecret,
		verifyToken: cfg.VerifyToken,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		cfg:         cfg,
		unreachable: map[string]bool{},
		webhookURL:  cfg.WebhookURL,
	}
	s.SetFaults(cfg.Faults)
	if s.token == "" {
		s.token = DefaultToken
	}
	if s.appSecret == "" {
		s.appSecret = DefaultAppSecret
	}
	if s.verifyToken == "" {
		s.verifyToken = DefaultVerifyToken
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.BatchWindow <= 0 {
		s.cfg.BatchWindow = 100 * time.Millisecond
	}
	for _, n := range cfg.UnreachableNumbers {
		if d := digitsOnly(n); d != "" {
			s.unreachable[d] = true
		}
	}
	s.st = newState(s.clock())
	s.routes = map[objKind]map[string]map[string]handler{
		kindWABA: {
			"":                  {http.MethodGet: s.getWABA},
			"phone_numbers":     {http.MethodGet: s.listPhoneNumbers},
			"message_templates": {http.MethodGet: s.listTemplates, http.MethodPost: s.createTemplate, http.MethodDelete: s.deleteTemplates},
		},
		kindPhone: {
			"":                          {http.MethodGet: s.getPhoneNumber},
			"messages":                  {http.MethodPost: s.sendMessage},
			"media":                     {http.MethodPost: s.uploadMedia},
			"whatsapp_business_profile": {http.MethodGet: s.getBusinessProfile},
		},
		kindMedia:    {"": {http.MethodGet: s.getMedia, http.MethodDelete: s.deleteMedia}},
		kindTemplate: {"": {http.MethodGet: s.getTemplate}},
		kindApp:      {"uploads": {http.MethodPost: s.startUpload}},
		kindUpload:   {"": {http.MethodGet: s.uploadStatus, http.MethodPost: s.uploadData}},
	}
	s.hooks = newWebhooker(s)
	return s
}

// SetFaults changes fault injection at run time; a non-zero Seed restarts the draws.
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = clampFaults(f)
	s.mu.Unlock()
	s.rngMu.Lock()
	s.rng = nil
	if f.Seed != 0 {
		s.rng = rand.New(rand.NewPCG(f.Seed, f.Seed))
	}
	s.rngMu.Unlock()
}

// FaultCounts returns how many Graph requests got each fault so far.
func (s *Sandbox) FaultCounts() FaultCounts {
	return FaultCounts{ServerErrors: s.counts.serverErrors.Load(), Throttled: s.counts.throttled.Load(),
		Dropped: s.counts.dropped.Load(), LostAnswers: s.counts.lostAnswers.Load(), Hung: s.counts.hung.Load()}
}

// SetWebhookURL changes where webhooks go; "" stops sending (queued ones are dropped).
func (s *Sandbox) SetWebhookURL(u string) {
	s.mu.Lock()
	s.webhookURL = u
	s.mu.Unlock()
}

func (s *Sandbox) currentWebhookURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhookURL
}

// Close stops webhook delivery and waits for its goroutines. Undelivered webhooks are dropped.
func (s *Sandbox) Close() error {
	s.hooks.close()
	return nil
}

// RequestCount is the number of Graph requests received, including faulted ones.
func (s *Sandbox) RequestCount() int64 { return s.requests.Load() }

// SentMessages returns a copy of every accepted outbound message, oldest first.
func (s *Sandbox) SentMessages() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentMessage, len(s.st.sent))
	copy(out, s.st.sent)
	return out
}

func clampFaults(f Faults) Faults {
	c := func(x float64) float64 { return min(max(x, 0), 1) }
	f.ServerErrorRate, f.ThrottleRate, f.DropRate = c(f.ServerErrorRate), c(f.ThrottleRate), c(f.DropRate)
	f.LostAnswerRate, f.HangRate = c(f.LostAnswerRate), c(f.HangRate)
	f.Latency = max(f.Latency, 0)
	return f
}

// ServeHTTP serves the Graph routes under /{version}/ and the sandbox's own /sandbox routes.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/sandbox" || p == "/sandbox/":
		s.serveInfo(w, r)
	case p == "/sandbox/inbound":
		s.serveInbound(w, r)
	case strings.HasPrefix(p, "/sandbox/media/"):
		s.serveDownload(w, r)
	default:
		s.serveGraph(w, r)
	}
}

// call is one Graph request being answered.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	version string
	major   int
	trace   string
}

var versionRE = regexp.MustCompile(`^v(\d+)\.(\d+)$`)

// knownVersion reports whether Graph has (had) this version: v2.0–v2.12, v3.0–v3.3, then
// vN.0. Calls to retired versions are served (Graph upgrades them to the oldest live one);
// invented versions get Graph's "Unknown path components" error.
func knownVersion(v string) (major int, ok bool) {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	latest, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(LatestVersion, "v"), ".0"))
	switch {
	case major == 2:
		return major, minor <= 12
	case major == 3:
		return major, minor <= 3
	case major >= 4 && major <= latest:
		return major, minor == 0
	}
	return major, false
}

func (s *Sandbox) serveGraph(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	c := &call{w: w, r: r, trace: newTraceID()}
	// Log the path only: the query may carry access_token.
	s.log.Debug("sandbox graph request", "method", r.Method, "path", r.URL.Path)

	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if s.chance(f.HangRate) {
		s.counts.hung.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return
	}
	if s.chance(f.DropRate) {
		s.counts.dropped.Add(1)
		s.drop(w, r)
		return
	}

	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	major, ok := knownVersion(segs[0])
	if !ok || len(segs) < 2 || segs[1] == "" {
		s.writeError(c, errUnknownPath(r.URL.Path))
		return
	}
	c.version, c.major = segs[0], major
	w.Header().Set("facebook-api-version", c.version)
	if e := s.authenticate(r); e != nil {
		s.writeError(c, e)
		return
	}
	// Faults answer before anything executes: a throttled or failed request changes nothing.
	if s.chance(f.ServerErrorRate) {
		s.counts.serverErrors.Add(1)
		s.writeError(c, errServer(s.chance(0.5)))
		return
	}
	if s.chance(f.ThrottleRate) {
		s.counts.throttled.Add(1)
		s.writeError(c, errThroughput())
		return
	}
	if s.chance(f.LostAnswerRate) {
		s.counts.lostAnswers.Add(1)
		c.w = lostAnswer{}
		s.route(c, segs[1:])
		s.drop(w, r)
		return
	}
	s.route(c, segs[1:])
}

// chance draws one fault with probability p.
func (s *Sandbox) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	if s.rng != nil {
		return s.rng.Float64() < p
	}
	return rand.Float64() < p
}

// lostAnswer is where an executed request whose answer is lost writes it.
type lostAnswer struct{}

func (lostAnswer) Header() http.Header         { return http.Header{} }
func (lostAnswer) Write(b []byte) (int, error) { return len(b), nil }
func (lostAnswer) WriteHeader(int)             {}

// errServer is one of Meta's two transient server failures: 131000 (HTTP 500) or code 2
// (HTTP 503).
func errServer(internal bool) *apiError {
	if internal {
		return &apiError{status: http.StatusInternalServerError, message: "(#131000) Something went wrong",
			typ: "OAuthException", code: 131000, transient: boolPtr(true),
			errorData: object{{"messaging_product", "whatsapp"}, {"details", "Something went wrong"}}}
	}
	return &apiError{status: http.StatusServiceUnavailable,
		message: "An unexpected error has occurred. Please retry your request later.",
		typ:     "OAuthException", code: 2, transient: boolPtr(true)}
}

// drop reads the whole request, then closes the connection without answering.
func (s *Sandbox) drop(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	// HTTP/2 or a wrapper without Hijack: abort the response instead.
	panic(http.ErrAbortHandler)
}

// authenticate checks the bearer token (or access_token query parameter) and, when present,
// appsecret_proof, like Graph.
func (s *Sandbox) authenticate(r *http.Request) *apiError {
	tok := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "OAuth") {
			tok = strings.TrimSpace(rest)
		}
	} else {
		tok = r.URL.Query().Get("access_token")
	}
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		return errAuth()
	}
	if proof := r.URL.Query().Get("appsecret_proof"); proof != "" {
		if !hmac.Equal([]byte(proof), []byte(cloudapi.AppSecretProof(s.appSecret, tok))) {
			return &apiError{status: http.StatusBadRequest, typ: "GraphMethodException", code: 100,
				message: "Invalid appsecret_proof provided in the API argument"}
		}
	}
	return nil
}

type objKind int

const (
	kindNone objKind = iota
	kindWABA
	kindPhone
	kindMedia
	kindTemplate
	kindApp
	kindUpload
)

func (s *Sandbox) kindOf(id string) objKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case id == WABAID:
		return kindWABA
	case s.st.phone(id) != nil:
		return kindPhone
	case s.st.media[id] != nil:
		return kindMedia
	case s.st.templates[id] != nil:
		return kindTemplate
	case id == AppID:
		return kindApp
	case s.up.sessions[id] != nil:
		return kindUpload
	}
	return kindNone
}

var nodeTypes = map[objKind]string{
	kindWABA:     "WhatsAppBusinessAccount",
	kindPhone:    "WhatsAppBusinessPhoneNumber",
	kindMedia:    "WhatsAppBusinessMedia",
	kindTemplate: "WhatsAppMessageTemplate",
	kindApp:      "Application",
	kindUpload:   "UploadSession",
}

type handler func(c *call, id string) (any, *apiError)

func (s *Sandbox) route(c *call, segs []string) {
	if len(segs) > 2 {
		s.writeError(c, errUnknownPath(c.r.URL.Path))
		return
	}
	id, edge := segs[0], ""
	if len(segs) == 2 {
		edge = segs[1]
	}
	kind := s.kindOf(id)
	edges, ok := s.routes[kind]
	if !ok {
		s.writeError(c, errNoObject(c.r.Method, id))
		return
	}
	methods, ok := edges[edge]
	if !ok {
		if c.r.Method == http.MethodGet {
			s.writeError(c, errNoField(edge, nodeTypes[kind]))
		} else {
			s.writeError(c, errNoObject(c.r.Method, id))
		}
		return
	}
	h, ok := methods[c.r.Method]
	if !ok {
		s.writeError(c, errNoObject(c.r.Method, id))
		return
	}
	body, e := h(c, id)
	if e != nil {
		s.writeError(c, e)
		return
	}
	s.writeJSON(c.w, http.StatusOK, body, c.trace)
}

func (s *Sandbox) writeError(c *call, e *apiError) {
	if e.wwwAuthHint != "" {
		c.w.Header().Set("WWW-Authenticate", e.wwwAuthHint)
	}
	s.log.Debug("sandbox graph error", "path", c.r.URL.Path, "code", e.code, "status", e.status)
	s.writeJSON(c.w, e.status, e.body(c.trace), c.trace)
}

func (s *Sandbox) writeJSON(w http.ResponseWriter, status int, v any, trace string) {
	b, err := metaJSON(v)
	if err != nil {
		s.log.Error("sandbox: encoding response", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"sandbox encoding failure","type":"OAuthException","code":1}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if trace != "" {
		w.Header().Set("x-fb-trace-id", trace)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// baseURL is scheme://host for absolute URLs the sandbox hands out.
func (s *Sandbox) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Sandbox) now() time.Time { return s.clock() }

// refresh applies time-driven state changes (template approval). Caller holds s.mu.
func (s *Sandbox) refreshLocked() {
	s.st.approveDue(s.now(), s.cfg.ApprovalDelay)
}

// serveInfo describes the sandbox for humans.
func (s *Sandbox) serveInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	var phones []any
	for _, p := range s.st.phones {
		phones = append(phones, object{{"id", p.id}, {"display_phone_number", p.display}, {"verified_name", p.verifiedName}})
	}
	hook := s.webhookURL
	s.mu.Unlock()
	token := "(custom token configured)"
	if s.token == DefaultToken {
		token = DefaultToken // a fixed public test value, fine to show
	}
	info := object{
		{"name", "WhatsApp Cloud API sandbox"},
		{"graph_base_url", s.baseURL(r) + "/" + LatestVersion},
		{"versions", "v2.0 … " + LatestVersion},
		{"access_token", token},
		{"waba_id", WABAID},
		{"phone_numbers", phones},
		{"webhook_url", hook},
		{"routes", []string{
			"GET    /{version}/{phone_number_id}",
			"GET    /{version}/{phone_number_id}/whatsapp_business_profile",
			"POST   /{version}/{phone_number_id}/messages   (sends; {\"status\":\"read\",\"message_id\":…} marks a customer's message read)",
			"POST   /{version}/{phone_number_id}/media",
			"GET    /{version}/{media_id}",
			"DELETE /{version}/{media_id}",
			"GET    /{version}/{waba_id}",
			"GET    /{version}/{waba_id}/phone_numbers",
			"GET    /{version}/{waba_id}/message_templates",
			"POST   /{version}/{waba_id}/message_templates",
			"DELETE /{version}/{waba_id}/message_templates?hsm_id=&name=",
			"GET    /{version}/{template_id}",
			"POST   /{version}/" + AppID + "/uploads?file_name=&file_length=&file_type=   (resumable upload; then POST /{version}/upload:{id} with file_offset and Authorization: OAuth headers)",
			"POST   /sandbox/inbound  {\"from\":\"+16505551234\",\"name\":\"…\",\"type\":\"text\",\"text\":\"…\",\"phone_number_id\":\"optional\"}",
		}},
		{"inbound_types", inboundTypeHelp()},
		{"notes", "Free-form messages are delivered only within 24 h of an inbound message (POST /sandbox/inbound); templates always. " +
			"A customer can only tap a button or row of a message sent to them (reply_to), and reads every message delivered to them."},
	}
	s.writeJSON(w, http.StatusOK, info, "")
}

// VerifyWebhook performs Meta's subscription handshake against the webhook URL:
// GET ?hub.mode=subscribe&hub.challenge=N&hub.verify_token=T must answer 200 with N.
func (s *Sandbox) VerifyWebhook(ctx context.Context) error {
	return s.hooks.verify(ctx)
}

// digitsOnly keeps the digits of s.
func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// normalizeCustomer turns a customer's own number ("+1 650-555-1234", "16505551234") into
// wa_id digits.
func normalizeCustomer(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, r := range s {
		if !strings.ContainsRune("0123456789+-() .", r) {
			return "", false
		}
	}
	d := digitsOnly(s)
	return d, len(d) >= 7 && len(d) <= 15
}
