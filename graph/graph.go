// Package graph is a client for the parts of Meta's Graph API that the
// WhatsApp Business Cloud API tools use. It is shaped like go-github: one
// Client built with options, ctx first in every method, (*T, *Response, error)
// returns, typed errors from one checkResponse.
//
// Reference: https://developers.facebook.com/docs/whatsapp/cloud-api
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
)

const (
	// DefaultBaseURL is Meta's Graph API host.
	DefaultBaseURL = "https://graph.facebook.com/"
	// DefaultAPIVersion is pinned: an unpinned call uses the app's default
	// version, which changes under our feet (docs/cloud-api.md#versions-and-base-url).
	DefaultAPIVersion = "v25.0"
	defaultUserAgent  = "whatsapp-mcp/1.0 (+https://github.com/whatsapp-mcp/whatsapp-mcp)"
	// maxJSONBody bounds what we read of a JSON answer.
	maxJSONBody = 16 << 20
)

// Client talks to the Graph API. It is safe for concurrent use.
type Client struct {
	baseURL    *url.URL
	version    string
	token      string
	proof      string
	httpClient *http.Client
	timeout    time.Duration
	userAgent  string
	retry      RetryPolicy
	logger     *slog.Logger
	observe    func(Attempt)
}

// RetryPolicy bounds retries. Delays grow exponentially from BaseDelay to
// MaxDelay with jitter, and never past the caller's deadline.
type RetryPolicy struct {
	MaxAttempts int
	// ReadAttempts, when above MaxAttempts, bounds the attempts of reads
	// (GET, HEAD) instead: a read repeated changes nothing, so it may go
	// on through a run of 5xx and throttling answers that would exhaust a
	// send's attempts, still never past the caller's deadline.
	ReadAttempts int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
}

// DefaultRetryPolicy is used unless WithRetry says otherwise. Reads get 10
// attempts: with 30 % of answers failing, 4 would leave about 1 read in 120
// failed, 10 about 1 in 170,000 (the delays, 0.3 s doubling to 8 s, fit 10
// attempts in about 40 s, inside the default call timeout).
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, ReadAttempts: 10, BaseDelay: 300 * time.Millisecond, MaxDelay: 8 * time.Second}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL points the client at another Graph host (the sandbox, a test
// server). The version is appended to it.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("graph: base URL %q must be an absolute http(s) URL", raw)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		c.baseURL = u
		return nil
	}
}

// WithAPIVersion pins the Graph API version, e.g. "v25.0".
func WithAPIVersion(v string) Option {
	return func(c *Client) error {
		if !strings.HasPrefix(v, "v") || len(v) < 2 {
			return fmt.Errorf("graph: API version %q must look like v25.0", v)
		}
		c.version = v
		return nil
	}
}

// The transport of the clients given no WithHTTPClient, shared by all of
// them: Go's default keeps 2 idle connections per host, so concurrent sends
// (one per MCP session) would close and redial a connection for nearly
// every call, spending TLS handshakes with Meta and leaving thousands of
// sockets in TIME_WAIT. Its idle pool holds a connection per concurrent
// caller; Meta's Graph host speaks HTTP/2, which multiplexes them on one.
const (
	maxIdlePerHost = 128
	idleTimeout    = 90 * time.Second
)

var sharedTransport = sync.OnceValue(func() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2 * maxIdlePerHost, // the Graph host and the media CDN
		MaxIdleConnsPerHost:   maxIdlePerHost,
		IdleConnTimeout:       idleTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
})

// WithHTTPClient sets the HTTP client (transport, proxies, tests).
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) error {
		if h == nil {
			return errors.New("graph: nil HTTP client")
		}
		c.httpClient = h
		return nil
	}
}

// WithTimeout bounds each attempt (not the whole call: the caller's ctx does).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error { c.timeout = d; return nil }
}

// WithUserAgent sets the User-Agent. Meta's media CDN has answered non-media
// bodies to some default agents (docs/cloud-api.md#media-ids-and-urls), so we always send one.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// WithAppSecretProof adds appsecret_proof to every call, for apps with
// "Require App Secret" on. The secret itself is never sent.
func WithAppSecretProof(appSecret string) Option {
	return func(c *Client) error {
		if appSecret == "" {
			return nil
		}
		c.proof = cloudapi.AppSecretProof(appSecret, c.token)
		return nil
	}
}

// WithRetry sets the retry policy; MaxAttempts 1 disables retries.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxAttempts < 1 {
			p.MaxAttempts = 1
		}
		c.retry = p
		return nil
	}
}

// WithLogger sets where retries are logged. Tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error { c.logger = l; return nil }
}

// Attempt is one HTTP request of a call, as WithObserver reports it: no
// URL, id or token, only values from small fixed sets and a duration.
type Attempt struct {
	Method string // GET, POST, DELETE
	// Status is the HTTP status Meta answered; 0 when no answer came (a
	// network error or timeout).
	Status int
	// Code is Meta's error code of a failed answer
	// (docs/cloud-api.md#error-codes); 0 when there is none.
	Code int
	// Number counts the requests of the call: 1 for the first, 2 for the
	// first retry, ….
	Number int
	// Retrying says the client is about to make another attempt (unless
	// the caller's context ends during the delay).
	Retrying bool
	Duration time.Duration
}

// WithObserver has observe told of every request the client makes, each
// retry included, once its answer (or failure) is known: for metrics. It
// runs on the calling goroutine and must be quick.
func WithObserver(observe func(Attempt)) Option {
	return func(c *Client) error { c.observe = observe; return nil }
}

// NewClient builds a client with the access token. Options are applied in
// order; WithAppSecretProof must come after the token is known (it is).
func NewClient(token string, opts ...Option) (*Client, error) {
	base, _ := url.Parse(DefaultBaseURL)
	c := &Client{
		baseURL:    base,
		version:    DefaultAPIVersion,
		token:      token,
		httpClient: &http.Client{Transport: sharedTransport()},
		timeout:    30 * time.Second,
		userAgent:  defaultUserAgent,
		retry:      DefaultRetryPolicy,
		logger:     slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// APIVersion is the pinned version.
func (c *Client) APIVersion() string { return c.version }

// BaseURL is the Graph host the client calls.
func (c *Client) BaseURL() string { return c.baseURL.String() }

// Response wraps the final HTTP response of a call.
type Response struct {
	*http.Response
	// Attempts is how many requests were made (1 = no retry).
	Attempts int
}

// request describes one Graph call; body is rebuilt for each attempt.
type request struct {
	method string
	path   string // relative to /{version}/
	query  url.Values
	body   []byte
	// open, instead of body, streams a body of exactly size bytes: it is
	// called once per attempt (a retry re-opens it), and the transport
	// closes what it returns.
	open        func() (io.ReadCloser, error)
	size        int64
	contentType string
	absoluteURL string // media downloads: a URL Meta gave us
	// header is set on the request after the defaults (the resumable
	// upload's file_offset and OAuth Authorization).
	header http.Header
}

func (c *Client) newHTTPRequest(ctx context.Context, r *request) (*http.Request, error) {
	var u *url.URL
	if r.absoluteURL != "" {
		var err error
		if u, err = url.Parse(r.absoluteURL); err != nil {
			return nil, fmt.Errorf("graph: bad URL: %w", err)
		}
	} else {
		if strings.HasPrefix(r.path, "/") || strings.Contains(r.path, "://") {
			return nil, fmt.Errorf("graph: path %q must be relative", r.path)
		}
		u = c.baseURL.ResolveReference(&url.URL{Path: c.version + "/" + r.path})
		q := url.Values{}
		for k, v := range r.query {
			q[k] = v
		}
		if c.proof != "" {
			q.Set("appsecret_proof", c.proof)
		}
		u.RawQuery = q.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	if r.open != nil {
		if req.Body, err = r.open(); err != nil {
			return nil, fmt.Errorf("graph: %w", err)
		}
		req.ContentLength = r.size
		req.GetBody = r.open // a redirect re-sends it
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.absoluteURL == "" {
		req.Header.Set("Accept", "application/json")
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	return req, nil
}

// do runs a call with the retry policy and decodes a JSON answer into v.
func (c *Client) do(ctx context.Context, r *request, v any) (*Response, error) {
	resp, err := c.doRaw(ctx, r)
	if err != nil {
		return resp, err
	}
	defer resp.Body.Close()
	if v == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxJSONBody))
		return resp, nil
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxJSONBody))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return resp, fmt.Errorf("graph: %s %s: cannot decode answer: %w", r.method, r.logPath(), err)
	}
	return resp, nil
}

func (r *request) logPath() string {
	if r.absoluteURL != "" {
		if u, err := url.Parse(r.absoluteURL); err == nil {
			return u.Host + u.Path // never the query: it may carry signed tokens
		}
		return "(media URL)"
	}
	return "/" + r.path
}

// doRaw runs the call with retries and returns the successful response with
// its body unread; the caller closes it.
func (c *Client) doRaw(ctx context.Context, r *request) (*Response, error) {
	idempotent := r.method == http.MethodGet || r.method == http.MethodHead
	attempts := c.retry.MaxAttempts
	if idempotent {
		attempts = max(attempts, c.retry.ReadAttempts)
	}
	var lastErr error
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp, err := c.once(ctx, r, idempotent)
		if err == nil {
			c.observed(r, attempt, start, resp.StatusCode, nil, false)
			resp.Attempts = attempt
			return resp, nil
		}
		lastErr = err
		if attempt >= attempts || !retryable(err, idempotent) {
			c.observed(r, attempt, start, 0, err, false)
			return &Response{Response: httpResponse(err), Attempts: attempt}, lastErr
		}
		delay := c.backoff(attempt, err)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			c.observed(r, attempt, start, 0, err, false)
			return &Response{Response: httpResponse(err), Attempts: attempt}, lastErr
		}
		c.observed(r, attempt, start, 0, err, true)
		c.logger.LogAttrs(ctx, slog.LevelWarn, "graph: retrying", slog.String("method", r.method),
			slog.String("path", r.logPath()), slog.Int("attempt", attempt), slog.Duration("delay", delay), slog.String("error", err.Error()))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return &Response{Attempts: attempt}, lastErr
		case <-t.C:
		}
	}
}

// observed tells the observer of one attempt: the status of a successful
// answer, or what err says of a failed one.
func (c *Client) observed(r *request, number int, start time.Time, status int, err error, retrying bool) {
	if c.observe == nil {
		return
	}
	a := Attempt{Method: r.method, Status: status, Number: number, Retrying: retrying, Duration: time.Since(start)}
	var ge *Error
	if errors.As(err, &ge) {
		a.Status, a.Code = ge.HTTPStatus, ge.Code
	}
	c.observe(a)
}

func httpResponse(err error) *http.Response {
	var ge *Error
	if errors.As(err, &ge) {
		return &http.Response{StatusCode: ge.HTTPStatus}
	}
	return nil
}

// once makes one attempt. Network failures are classified by whether the
// request can have reached Meta: a write that may have been processed becomes
// an *OutcomeUnknownError and is never retried.
func (c *Client) once(ctx context.Context, r *request, idempotent bool) (*Response, error) {
	cancel := context.CancelFunc(func() {})
	if c.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	req, err := c.newHTTPRequest(ctx, r)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := c.send(req, r, idempotent)
	if err != nil {
		cancel()
		return nil, err
	}
	// The attempt's deadline must outlive once: the caller reads the body.
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func (c *Client) send(req *http.Request, r *request, idempotent bool) (*Response, error) {
	var gotConn bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn = true }}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := c.httpClient.Do(req)
	if err != nil {
		nerr := &NetworkError{Method: r.method, Path: r.logPath(), Err: redact(err), NotSent: !gotConn}
		if !idempotent && gotConn {
			// Bytes may have reached Meta: the message may have been sent.
			return nil, &OutcomeUnknownError{Method: r.method, Path: r.logPath(), Err: nerr}
		}
		return nil, nerr
	}
	if err := checkResponse(resp, r); err != nil {
		return nil, c.scrub(err)
	}
	return &Response{Response: resp}, nil
}

// redact strips the URL (and its query) from *url.Error, keeping the cause.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// scrub removes the access token from an error answer, in every spelling
// it may take there: Meta quotes a malformed token back in its message
// ("Malformed access token EAA…"), and a proxy's error page may quote the
// request. What an error says reaches logs and tool results.
func (c *Client) scrub(err error) error {
	var e *Error
	if c.token == "" || !errors.As(err, &e) {
		return err
	}
	j, _ := json.Marshal(c.token)
	forms := []string{c.token, url.QueryEscape(c.token), url.PathEscape(c.token),
		string(j[1 : len(j)-1]), strings.ReplaceAll(string(j[1:len(j)-1]), "/", `\/`)}
	clean := func(s string) string {
		for _, f := range forms {
			s = strings.ReplaceAll(s, f, "[redacted]")
		}
		return s
	}
	e.Message, e.Type, e.UserTitle, e.UserMsg, e.FBTraceID = clean(e.Message), clean(e.Type), clean(e.UserTitle), clean(e.UserMsg), clean(e.FBTraceID)
	if len(e.ErrorData) > 0 {
		e.ErrorData = json.RawMessage(clean(string(e.ErrorData)))
	}
	return err
}

// checkResponse turns a non-2xx answer into *Error. 5xx bodies may not be
// JSON; the status alone then describes it.
func checkResponse(resp *http.Response, r *request) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{HTTPStatus: resp.StatusCode, Method: r.method, Path: r.logPath()}
	var env struct {
		Error *Error `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		*e = *env.Error
		e.HTTPStatus, e.Method, e.Path = resp.StatusCode, r.method, r.logPath()
	} else {
		e.Message = strings.TrimSpace(http.StatusText(resp.StatusCode))
		if s := strings.TrimSpace(string(body)); s != "" && len(s) < 300 && !strings.Contains(s, "<") {
			e.Message += ": " + s
		}
	}
	return e
}

// retryable says whether another attempt is safe and useful.
func retryable(err error, idempotent bool) bool {
	var ge *Error
	if errors.As(err, &ge) {
		if ge.Throttled() {
			return true // Meta did not process the request
		}
		return idempotent && (ge.HTTPStatus >= 500 || ge.IsTransient)
	}
	var ne *NetworkError
	if errors.As(err, &ne) {
		return idempotent || ne.NotSent
	}
	return false
}

func (c *Client) backoff(attempt int, err error) time.Duration {
	d := c.retry.BaseDelay << (attempt - 1)
	var ge *Error
	if errors.As(err, &ge) && ge.Code == CodePairRateLimit {
		// Meta: retry a pair-rate hit after 4^X seconds (docs/cloud-api.md#retry-rule).
		d = time.Second
		for i := 1; i < attempt; i++ {
			d *= 4
		}
	}
	if d > c.retry.MaxDelay || d <= 0 {
		d = c.retry.MaxDelay
	}
	// Jitter in [d/2, d): spreads replicas that were throttled together.
	half := d / 2
	if half > 0 {
		d = half + rand.N(half)
	}
	return d
}
