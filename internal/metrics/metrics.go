// Package metrics collects the server's Prometheus metrics in a registry of
// its own (never the process-wide default one) and serves them for
// /metrics. The other packages know nothing of Prometheus: each offers a
// hook (server.Options.OnCall, graph.WithObserver,
// triggers.WebhookConfig.OnDelivery) or an interface to wrap (store.Store),
// and this package turns what they report into series.
//
// Every label value comes from a fixed set: tool names of the catalog,
// failure kinds, HTTP statuses, Meta's documented error codes, webhook
// outcomes and reasons, message types, store operations. Nothing a caller
// or a customer chose (ids, phone numbers, text, tokens) becomes a label;
// a value outside its set is counted as "other".
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/failure"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

const namespace = "whatsapp_mcp"

// Metrics holds the collectors of one process. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	toolCalls    *prometheus.CounterVec
	toolDuration *prometheus.HistogramVec

	graphRequests *prometheus.CounterVec
	graphRetries  *prometheus.CounterVec
	graphDuration *prometheus.HistogramVec

	webhookDeliveries *prometheus.CounterVec
	webhookEvents     *prometheus.CounterVec
	inboundMessages   *prometheus.CounterVec

	storeDuration *prometheus.HistogramVec
	storeErrors   *prometheus.CounterVec
}

// New makes the collectors and registers them, with the Go runtime and
// process collectors, in a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "tool_calls_total",
			Help: "Tool calls that ran, on every surface (MCP, REST, call), by tool and outcome: successful or the failure kind.",
		}, []string{"tool", "outcome"}),
		toolDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "tool_call_duration_seconds",
			Help:    "How long tool calls took, by tool.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"tool"}),
		graphRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "graph_requests_total",
			Help: "HTTP requests to the Graph API (each retry is one), by method, HTTP status (none: no answer) and Meta's error code (none: no error).",
		}, []string{"method", "status", "code"}),
		graphRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "graph_retries_total",
			Help: "Graph API requests that were followed by a retry, by method.",
		}, []string{"method"}),
		graphDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "graph_request_duration_seconds",
			Help:    "How long Graph API requests took until their answer's headers (or their failure), by method.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method"}),
		webhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_deliveries_total",
			Help: "POSTs to /webhook by outcome (accepted, duplicate, ignored, rejected, failed) and reason (none when accepted or duplicate).",
		}, []string{"outcome", "reason"}),
		webhookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_events_total",
			Help: "Events of stored webhook deliveries, by kind (status, inbound) and result (new, or duplicate: stored already).",
		}, []string{"kind", "result"}),
		inboundMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_inbound_messages_total",
			Help: "Inbound messages of stored webhook deliveries by message type, Meta's redeliveries included (webhook_events_total tells new from duplicate).",
		}, []string{"type"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "store_operation_duration_seconds",
			Help:    "How long event store operations took, by operation (save, statuses, history, last_inbound, ping).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"operation"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "store_errors_total",
			Help: "Event store operations that failed, by operation.",
		}, []string{"operation"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.toolCalls, m.toolDuration,
		m.graphRequests, m.graphRetries, m.graphDuration,
		m.webhookDeliveries, m.webhookEvents, m.inboundMessages,
		m.storeDuration, m.storeErrors,
	)
	return m
}

// Registry is where the collectors are registered (tests, more collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' text format (or OpenMetrics,
// when asked), for /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ToolCall is a server.Options.OnCall: it counts a finished call.
func (m *Metrics) ToolCall(tool string, res tools.Result, d time.Duration) {
	outcome := "successful"
	if !res.Successful {
		outcome = kind(res.Kind)
	}
	m.toolCalls.WithLabelValues(tool, outcome).Inc()
	m.toolDuration.WithLabelValues(tool).Observe(d.Seconds())
}

// kinds is internal/failure's set.
var kinds = map[failure.Kind]bool{failure.InvalidInput: true, failure.API: true, failure.OutcomeUnknown: true,
	failure.Unavailable: true, failure.Failed: true}

func kind(k failure.Kind) string {
	if kinds[k] {
		return string(k)
	}
	return string(failure.Failed)
}

// GraphAttempt is a graph.WithObserver observer.
func (m *Metrics) GraphAttempt(a graph.Attempt) {
	method := oneOf(a.Method, "GET", "POST", "DELETE", "HEAD")
	m.graphRequests.WithLabelValues(method, httpStatus(a.Status), metaCode(a.Code)).Inc()
	m.graphDuration.WithLabelValues(method).Observe(a.Duration.Seconds())
	if a.Retrying {
		m.graphRetries.WithLabelValues(method).Inc()
	}
}

func httpStatus(s int) string {
	switch {
	case s == 0:
		return "none"
	case s >= 100 && s <= 599:
		return strconv.Itoa(s)
	}
	return "other"
}

// metaCodes are the codes of docs/cloud-api.md#error-codes (200–299 are
// taken as a range).
var metaCodes = func() map[int]bool {
	m := map[int]bool{}
	for _, c := range []int{0, 1, 2, 3, 4, 10, 17, 33, 100, 190, 341, 368, 613, 80007, 80008,
		130429, 130472, 130497, 131000, 131005, 131008, 131009, 131016, 131021, 131026, 131030, 131031,
		131037, 131042, 131045, 131047, 131048, 131049, 131050, 131051, 131052, 131053, 131056, 131057,
		131059, 131062, 131063, 131064, 132000, 132001, 132005, 132007, 132008, 132012, 132015, 132016,
		132018, 132068, 132069, 133004, 133010, 135000} {
		m[c] = true
	}
	return m
}()

// metaCode labels a Graph error code. Code 0 is both "no error" (a
// successful answer) and Meta's code for a bad token; Attempt.Code is 0 for
// the first only when Status is 2xx, so the two stay apart by status.
func metaCode(c int) string {
	switch {
	case c == 0:
		return "none"
	case metaCodes[c], c >= 200 && c <= 299:
		return strconv.Itoa(c)
	}
	return "other"
}

// WebhookDelivery is a triggers.WebhookConfig.OnDelivery.
func (m *Metrics) WebhookDelivery(d triggers.Delivery) {
	outcome := oneOf(d.Outcome, triggers.DeliveryAccepted, triggers.DeliveryDuplicate, triggers.DeliveryIgnored,
		triggers.DeliveryRejected, triggers.DeliveryFailed)
	reason := "none"
	if d.Reason != "" {
		reason = oneOf(d.Reason, triggers.ReasonBodyTooLarge, triggers.ReasonNoAppSecret, triggers.ReasonMissingSignature,
			triggers.ReasonBadSignature, triggers.ReasonUnreadableBody, triggers.ReasonInvalidPayload,
			triggers.ReasonUnknownObject, triggers.ReasonStoreFailed)
	}
	m.webhookDeliveries.WithLabelValues(outcome, reason).Inc()
	if d.Outcome != triggers.DeliveryAccepted && d.Outcome != triggers.DeliveryDuplicate {
		return
	}
	m.webhookEvents.WithLabelValues("status", "new").Add(float64(d.NewStatuses))
	m.webhookEvents.WithLabelValues("status", "duplicate").Add(float64(max(0, d.Statuses-d.NewStatuses)))
	m.webhookEvents.WithLabelValues("inbound", "new").Add(float64(d.NewInbound))
	m.webhookEvents.WithLabelValues("inbound", "duplicate").Add(float64(max(0, len(d.InboundTypes)-d.NewInbound)))
	for _, t := range d.InboundTypes {
		m.inboundMessages.WithLabelValues(messageType(t)).Inc()
	}
}

// messageTypes are the types of Meta's inbound messages
// (docs/cloud-api.md#inbound-messages).
var messageTypes = map[string]bool{"text": true, "image": true, "audio": true, "video": true, "document": true,
	"sticker": true, "location": true, "contacts": true, "interactive": true, "button": true, "reaction": true,
	"order": true, "system": true, "request_welcome": true, "unsupported": true, "unknown": true}

func messageType(t string) string {
	if messageTypes[t] {
		return t
	}
	return "other"
}

// oneOf is v when it is one of set, else "other".
func oneOf(v string, set ...string) string {
	for _, s := range set {
		if v == s {
			return v
		}
	}
	return "other"
}
