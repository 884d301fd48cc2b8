package metrics_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/internal/metrics"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// series renders every sample of the whatsapp_mcp_ families as
// `name{k=v,…} value` (labels in Prometheus' order), counters and
// histogram counts alike.
func series(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "whatsapp_mcp_") {
			continue
		}
		for _, s := range mf.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := s.GetCounter().GetValue()
			if h := s.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

type failingStore struct{ store.Store }

func (failingStore) Save(context.Context, store.Batch) (int, int, error) {
	return 0, 0, errors.New("disk full")
}
func (failingStore) Ping(context.Context) error { return nil }

// TestLabelsFromFixedSets: each hook's report becomes its series, and a
// value outside a label's set (an odd kind, status, code, outcome or type,
// which could carry anything) is counted as "other".
func TestLabelsFromFixedSets(t *testing.T) {
	m := metrics.New()
	m.ToolCall("WHATSAPP_SEND_MESSAGE", tools.Result{Successful: true}, time.Millisecond)
	m.ToolCall("WHATSAPP_SEND_MESSAGE", tools.Result{Kind: tools.KindOutcomeUnknown}, time.Second)
	m.ToolCall("WHATSAPP_SEND_MESSAGE", tools.Result{Kind: "+16505551234"}, time.Second)
	m.GraphAttempt(graph.Attempt{Method: "POST", Status: 400, Code: graph.CodeThroughput, Number: 1, Retrying: true})
	m.GraphAttempt(graph.Attempt{Method: "POST", Status: 200, Number: 2})
	m.GraphAttempt(graph.Attempt{Method: "GET"})
	m.GraphAttempt(graph.Attempt{Method: "16505551234", Status: 16505551, Code: 1650555123})
	m.WebhookDelivery(triggers.Delivery{Outcome: triggers.DeliveryAccepted, Statuses: 3, NewStatuses: 2, NewInbound: 1,
		InboundTypes: []string{"image", "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTg0RjZCRTY1QzM4RjMwQjQ5NQA="}})
	m.WebhookDelivery(triggers.Delivery{Outcome: triggers.DeliveryRejected, Reason: triggers.ReasonBadSignature})
	m.WebhookDelivery(triggers.Delivery{Outcome: "16505551234", Reason: "16505551234"})
	st := m.Store(failingStore{})
	if _, _, err := st.Save(context.Background(), store.Batch{}); err == nil {
		t.Fatal("Save passed the failure over")
	}
	_ = st.Ping(context.Background())

	got := series(t, m)
	for name, want := range map[string]float64{
		`whatsapp_mcp_tool_calls_total{outcome=successful,tool=WHATSAPP_SEND_MESSAGE}`:      1,
		`whatsapp_mcp_tool_calls_total{outcome=outcome_unknown,tool=WHATSAPP_SEND_MESSAGE}`: 1,
		`whatsapp_mcp_tool_calls_total{outcome=failed,tool=WHATSAPP_SEND_MESSAGE}`:          1,
		`whatsapp_mcp_tool_call_duration_seconds{tool=WHATSAPP_SEND_MESSAGE}`:               3,
		`whatsapp_mcp_graph_requests_total{code=130429,method=POST,status=400}`:             1,
		`whatsapp_mcp_graph_requests_total{code=none,method=POST,status=200}`:               1,
		`whatsapp_mcp_graph_requests_total{code=none,method=GET,status=none}`:               1,
		`whatsapp_mcp_graph_requests_total{code=other,method=other,status=other}`:           1,
		`whatsapp_mcp_graph_retries_total{method=POST}`:                                     1,
		`whatsapp_mcp_webhook_deliveries_total{outcome=accepted,reason=none}`:               1,
		`whatsapp_mcp_webhook_deliveries_total{outcome=rejected,reason=bad_signature}`:      1,
		`whatsapp_mcp_webhook_deliveries_total{outcome=other,reason=other}`:                 1,
		`whatsapp_mcp_webhook_events_total{kind=status,result=new}`:                         2,
		`whatsapp_mcp_webhook_events_total{kind=status,result=duplicate}`:                   1,
		`whatsapp_mcp_webhook_events_total{kind=inbound,result=new}`:                        1,
		`whatsapp_mcp_webhook_events_total{kind=inbound,result=duplicate}`:                  1,
		`whatsapp_mcp_webhook_inbound_messages_total{type=image}`:                           1,
		`whatsapp_mcp_webhook_inbound_messages_total{type=other}`:                           1,
		`whatsapp_mcp_store_operation_duration_seconds{operation=save}`:                     1,
		`whatsapp_mcp_store_operation_duration_seconds{operation=ping}`:                     1,
		`whatsapp_mcp_store_errors_total{operation=save}`:                                   1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	phoneLike := regexp.MustCompile(`\d{7,}|wamid`)
	for name := range got {
		if phoneLike.MatchString(name) {
			t.Errorf("a label value looks like a number or an id: %s", name)
		}
	}
	if _, ok := got[`whatsapp_mcp_store_errors_total{operation=ping}`]; ok {
		t.Error("a successful ping counted as an error")
	}
}

// TestRegistryPerProcess: two Metrics never share series.
func TestRegistryPerProcess(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.ToolCall("T", tools.Result{Successful: true}, 0)
	if n := len(series(t, b)); n != 0 {
		t.Errorf("a second registry has %d whatsapp_mcp series", n)
	}
}
