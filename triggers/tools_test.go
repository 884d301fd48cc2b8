package triggers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// Helpers of this file are prefixed tt (tools test); webhook_test.go shares
// the package.

const (
	ttPhone  = "106540352242922"
	ttPhone2 = "106540352242933"
	ttWABA   = "102290129340398"

	ttTrigger   = "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER"
	ttGetStatus = "WHATSAPP_GET_MESSAGE_STATUS"
)

func ttOpenAt(t testing.TB, path string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ttOpen(t testing.TB) store.Store {
	t.Helper()
	return ttOpenAt(t, filepath.Join(t.TempDir(), "events.db"))
}

// ttStatus builds a status event whose Raw is shaped like Meta's statuses[]
// element; extra is appended inside the object (`,"errors":[…]`).
func ttStatus(phone, msgID, status string, ts int64, extra string) store.StatusEvent {
	raw := fmt.Sprintf(`{"id":"%s","status":"%s","timestamp":"%d","recipient_id":"16505551234"%s}`, msgID, status, ts, extra)
	return store.StatusEvent{
		WABAID: ttWABA, PhoneNumberID: phone, DisplayPhoneNumber: "15550783881",
		MessageID: msgID, Status: status, Timestamp: ts, RecipientID: "16505551234",
		Raw: json.RawMessage(raw),
	}
}

const ttErr131047 = `,"errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"href":"https:\/\/developers.facebook.com\/docs\/whatsapp\/cloud-api\/support\/error-codes\/"}]`

func ttSave(t testing.TB, st store.Store, evs ...store.StatusEvent) {
	t.Helper()
	if _, _, err := st.Save(context.Background(), store.Batch{Statuses: evs}); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func ttTool(t testing.TB, st store.Store, name string) tools.Tool {
	t.Helper()
	for _, tl := range triggers.Tools(st) {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("triggers.Tools has no %s", name)
	return tools.Tool{}
}

// ttCall calls the tool with args (a JSON string or a value to marshal) and
// returns the envelope as a client sees it: decoded from its JSON.
func ttCall(t testing.TB, tl tools.Tool, args any) ttEnvelope {
	t.Helper()
	var raw []byte
	switch a := args.(type) {
	case string:
		raw = []byte(a)
	default:
		var err error
		if raw, err = json.Marshal(a); err != nil {
			t.Fatal(err)
		}
	}
	res := tl.Call(context.Background(), raw)
	var env ttEnvelope
	if err := json.Unmarshal(res.JSON(), &env); err != nil {
		t.Fatalf("%s: envelope is not JSON: %v", tl.Name, err)
	}
	return env
}

type ttEnvelope struct {
	Successful bool            `json:"successful"`
	Data       json.RawMessage `json:"data"`
	Error      string          `json:"error"`
}

func (e ttEnvelope) decode(t testing.TB, into any) {
	t.Helper()
	if !e.Successful {
		t.Fatalf("call failed: %s", e.Error)
	}
	if err := json.Unmarshal(e.Data, into); err != nil {
		t.Fatalf("data %s: %v", e.Data, err)
	}
}

// ttPoll calls the trigger and fails the test unless it succeeds.
func ttPoll(t testing.TB, tl tools.Tool, in map[string]any) triggers.StatusTriggerData {
	t.Helper()
	var d triggers.StatusTriggerData
	ttCall(t, tl, in).decode(t, &d)
	if d.NextCursor == "" {
		t.Fatalf("next_cursor is empty for %v", in)
	}
	return d
}

func ttKeys(evs []triggers.StatusEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.StatusUpdate.MessageID + "/" + e.StatusUpdate.Status
	}
	return out
}

func ttStoreKeys(evs []store.StatusEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.MessageID + "/" + e.Status
	}
	return out
}

// ttWantInvalid checks that a call failed on its input, naming field.
func ttWantInvalid(t testing.TB, env ttEnvelope, field string) {
	t.Helper()
	if env.Successful {
		t.Fatalf("call succeeded; want an input error naming %s", field)
	}
	if !strings.Contains(env.Error, "`"+field+"`") {
		t.Fatalf("error %q does not name `%s`", env.Error, field)
	}
	if string(env.Data) != "{}" {
		t.Fatalf("data on an input error is %s, want {}", env.Data)
	}
}

// ttFixture stores, in three batches, 12 events for ttPhone interleaved
// with 6 for ttPhone2 and duplicates of earlier ones (which the store drops),
// and returns ttPhone's events in arrival order.
func ttFixture(t testing.TB, st store.Store) []string {
	t.Helper()
	var want []string
	var batch []store.StatusEvent
	n := 0
	for b := range 3 {
		batch = batch[:0]
		for i := range 4 {
			n++
			id := fmt.Sprintf("wamid.A%02d", n)
			status := []string{"sent", "delivered", "read", "failed"}[(b+i)%4]
			batch = append(batch, ttStatus(ttPhone, id, status, 1750030000+int64(n), ""))
			want = append(want, id+"/"+status)
			if i%2 == 0 {
				batch = append(batch, ttStatus(ttPhone2, fmt.Sprintf("wamid.B%02d", n), "sent", 1750030000+int64(n), ""))
			}
		}
		if b > 0 { // Meta's redeliveries
			batch = append(batch, ttStatus(ttPhone, "wamid.A01", "sent", 1750030001, ""))
		}
		ttSave(t, st, batch...)
	}
	return want
}

func TestStatusTriggerPagingNeverRepeatsOrSkips(t *testing.T) {
	st := ttOpen(t)
	want := ttFixture(t, st)
	tl := ttTool(t, st, ttTrigger)
	for max := 1; max <= len(want)+1; max++ {
		t.Run(fmt.Sprint("max_results=", max), func(t *testing.T) {
			var got []string
			cursor := ""
			for page := 0; ; page++ {
				if page > len(want)+2 {
					t.Fatalf("paging does not end: %v", got)
				}
				in := map[string]any{"phone_number_id": ttPhone, "max_results": max}
				if cursor != "" {
					in["cursor"] = cursor
				}
				d := ttPoll(t, tl, in)
				if len(d.Events) > max {
					t.Fatalf("page %d has %d events, more than max_results %d", page, len(d.Events), max)
				}
				for _, e := range d.Events {
					if e.PhoneNumberID != ttPhone {
						t.Fatalf("event of another phone number: %+v", e)
					}
					if e.EventType != "message_status_updated" {
						t.Fatalf("event_type %q", e.EventType)
					}
				}
				got = append(got, ttKeys(d.Events)...)
				remaining := len(want) - len(got)
				if d.HasMore != (remaining > 0) {
					t.Fatalf("page %d: has_more=%v with %d events left", page, d.HasMore, remaining)
				}
				if len(d.Events) == 0 {
					if d.NextCursor != cursor {
						t.Fatalf("an empty page moved the cursor from %q to %q", cursor, d.NextCursor)
					}
					break
				}
				cursor = d.NextCursor
			}
			if !slices.Equal(got, want) {
				t.Fatalf("paged events:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestStatusTriggerPollingWhileEventsArrive(t *testing.T) {
	st := ttOpen(t)
	tl := ttTool(t, st, ttTrigger)

	// Nothing stored yet: the cursor still comes back, and it sees what
	// arrives after it.
	d := ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone})
	if len(d.Events) != 0 || d.HasMore {
		t.Fatalf("empty store: %+v", d)
	}
	cursor := d.NextCursor
	for round := range 4 {
		var want []string
		var evs []store.StatusEvent
		for i := range round + 1 {
			id := fmt.Sprintf("wamid.R%dI%d", round, i)
			evs = append(evs, ttStatus(ttPhone, id, "sent", 1750030000, ""), ttStatus(ttPhone2, id+"x", "sent", 1750030000, ""))
			want = append(want, id+"/sent")
		}
		ttSave(t, st, evs...)
		d = ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "cursor": cursor})
		if got := ttKeys(d.Events); !slices.Equal(got, want) {
			t.Fatalf("round %d: got %v, want %v", round, got, want)
		}
		cursor = d.NextCursor
		again := ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "cursor": cursor})
		if len(again.Events) != 0 || again.NextCursor != cursor {
			t.Fatalf("round %d: polling again returned %v, cursor %q → %q", round, ttKeys(again.Events), cursor, again.NextCursor)
		}
	}
}

func TestStatusTriggerDefaultsAndInterval(t *testing.T) {
	st := ttOpen(t)
	var evs []store.StatusEvent
	for i := range 25 {
		evs = append(evs, ttStatus(ttPhone, fmt.Sprintf("wamid.D%02d", i), "delivered", 1750030000, ""))
	}
	ttSave(t, st, evs...)
	tl := ttTool(t, st, ttTrigger)

	d := ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone})
	if len(d.Events) != 20 || !d.HasMore || d.Interval != nil {
		t.Fatalf("default page: %d events, has_more %v, interval %v; want 20, true, absent", len(d.Events), d.HasMore, d.Interval)
	}
	d = ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "cursor": d.NextCursor, "interval": 2.5, "max_results": 5})
	if len(d.Events) != 5 || d.HasMore || d.Interval == nil || *d.Interval != 2.5 {
		t.Fatalf("last page: %d events, has_more %v, interval %v; want 5, false, 2.5", len(d.Events), d.HasMore, d.Interval)
	}
	// Form-based platforms send empty optional inputs.
	d = ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "status_filter": "", "cursor": "", "interval": 0, "max_results": 100})
	if len(d.Events) != 25 || d.HasMore {
		t.Fatalf("empty optional inputs: %d events, has_more %v", len(d.Events), d.HasMore)
	}
}

func TestStatusTriggerStatusFilter(t *testing.T) {
	st := ttOpen(t)
	ttSave(t, st,
		ttStatus(ttPhone, "wamid.F1", "sent", 1750030001, ""),
		ttStatus(ttPhone, "wamid.F2", "sent", 1750030002, ""),
		ttStatus(ttPhone, "wamid.F1", "read", 1750030003, ""), // no delivered: read implies it
		ttStatus(ttPhone, "wamid.F2", "failed", 1750030004, ttErr131047),
		ttStatus(ttPhone2, "wamid.F9", "failed", 1750030005, ttErr131047),
		ttStatus(ttPhone, "wamid.F3", "played", 1750030006, ""),
	)
	ttSave(t, st, ttStatus(ttPhone, "wamid.F4", "failed", 1750030007, ""))
	tl := ttTool(t, st, ttTrigger)
	for filter, want := range map[string][]string{
		"sent":      {"wamid.F1/sent", "wamid.F2/sent"},
		"delivered": nil,
		"read":      {"wamid.F1/read"},
		"failed":    {"wamid.F2/failed", "wamid.F4/failed"},
		"played":    {"wamid.F3/played"},
		" Failed ":  {"wamid.F2/failed", "wamid.F4/failed"},
		"":          {"wamid.F1/sent", "wamid.F2/sent", "wamid.F1/read", "wamid.F2/failed", "wamid.F3/played", "wamid.F4/failed"},
	} {
		d := ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "status_filter": filter})
		if got := ttKeys(d.Events); !slices.Equal(got, want) {
			t.Errorf("status_filter %q: got %v, want %v", filter, got, want)
		}
	}

	// Paging one by one within a filter, then a later failure arrives.
	var got []string
	cursor := ""
	for range 3 {
		d := ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "status_filter": "failed", "max_results": 1, "cursor": cursor})
		got, cursor = append(got, ttKeys(d.Events)...), d.NextCursor
	}
	ttSave(t, st, ttStatus(ttPhone, "wamid.F5", "sent", 1750030008, ""), ttStatus(ttPhone, "wamid.F5", "failed", 1750030009, ""))
	d := ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "status_filter": "failed", "cursor": cursor})
	got = append(got, ttKeys(d.Events)...)
	if want := []string{"wamid.F2/failed", "wamid.F4/failed", "wamid.F5/failed"}; !slices.Equal(got, want) {
		t.Fatalf("failed, paged: got %v, want %v", got, want)
	}
}

// The event carries the statuses[] element's fields as Meta sent them,
// through the webhook parser and the store.
func TestStatusTriggerEventShape(t *testing.T) {
	st := ttOpen(t)
	body := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[` +
		`{"id":"wamid.S1","status":"sent","timestamp":"1750030073","recipient_id":"16505551234","biz_opaque_callback_data":"Zo\u00eb\/order-7","conversation":{"id":"72b14d6bd5407799e66f64d1b338e567","expiration_timestamp":"1750116480","origin":{"type":"marketing"}},"pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"marketing"}},` +
		`{"id":"wamid.S2","status":"failed","timestamp":"1750030080","recipient_id":"447700900123"` + ttErr131047 + `},` +
		`{"id":"wamid.S3","status":"read","timestamp":1750030090,"recipient_id":"120363025246125486@g.us","recipient_type":"group","recipient_participant_id":"16505551234"}` +
		`]},"field":"messages"}]}]}`
	batch, err := triggers.ParsePayload([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Save(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	env := ttCall(t, ttTool(t, st, ttTrigger), map[string]any{"phone_number_id": ttPhone})
	var d struct {
		Events []map[string]any `json:"events"`
	}
	env.decode(t, &d)
	if len(d.Events) != 3 {
		t.Fatalf("got %d events, want 3: %s", len(d.Events), env.Data)
	}
	ev := d.Events[0]
	for k, want := range map[string]any{"event_type": "message_status_updated", "phone_number_id": ttPhone,
		"waba_id": ttWABA, "display_phone_number": "15550783881"} {
		if ev[k] != want {
			t.Errorf("events[0].%s = %v, want %v", k, ev[k], want)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["received_at"])); err != nil {
		t.Errorf("events[0].received_at: %v", err)
	}
	su := func(i int) map[string]any { return d.Events[i]["status_update"].(map[string]any) }
	sent := su(0)
	for k, want := range map[string]any{"message_id": "wamid.S1", "status": "sent", "timestamp": "1750030073",
		"recipient_id": "16505551234", "biz_opaque_callback_data": "Zoë/order-7"} {
		if sent[k] != want {
			t.Errorf("sent.%s = %#v, want %#v", k, sent[k], want)
		}
	}
	if p, _ := sent["pricing"].(map[string]any); p["pricing_model"] != "PMP" || p["billable"] != true {
		t.Errorf("sent.pricing = %#v", sent["pricing"])
	}
	if c, _ := sent["conversation"].(map[string]any); c["id"] != "72b14d6bd5407799e66f64d1b338e567" ||
		c["origin"].(map[string]any)["type"] != "marketing" {
		t.Errorf("sent.conversation = %#v", sent["conversation"])
	}
	if _, ok := sent["errors"]; ok {
		t.Errorf("sent has errors: %#v", sent["errors"])
	}

	failed := su(1)
	errs, _ := failed["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("failed.errors = %#v", failed["errors"])
	}
	e0 := errs[0].(map[string]any)
	if e0["code"] != float64(131047) || e0["href"] != "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/" ||
		e0["error_data"].(map[string]any)["details"] == "" {
		t.Errorf("failed.errors[0] = %#v", e0)
	}
	for _, k := range []string{"pricing", "conversation", "biz_opaque_callback_data"} {
		if _, ok := failed[k]; ok {
			t.Errorf("failed has %s though Meta sent none", k)
		}
	}

	group := su(2)
	for k, want := range map[string]any{"timestamp": "1750030090", "recipient_type": "group",
		"recipient_id": "120363025246125486@g.us", "recipient_participant_id": "16505551234"} {
		if group[k] != want {
			t.Errorf("group.%s = %#v, want %#v", k, group[k], want)
		}
	}
}

func TestStatusTriggerInvalidInput(t *testing.T) {
	st := ttOpen(t)
	ttSave(t, st, ttStatus(ttPhone, "wamid.I1", "sent", 1750030000, ""))
	tl := ttTool(t, st, ttTrigger)
	d := ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone})
	phone1Cursor := d.NextCursor
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

	for _, tc := range []struct {
		name, args, field string
	}{
		{"missing phone_number_id", `{}`, "phone_number_id"},
		{"phone number instead of id", `{"phone_number_id":"+1 555-078-3881"}`, "phone_number_id"},
		{"max_results 0", `{"phone_number_id":"106540352242922","max_results":0}`, "max_results"},
		{"max_results 101", `{"phone_number_id":"106540352242922","max_results":101}`, "max_results"},
		{"max_results not a number", `{"phone_number_id":"106540352242922","max_results":"ten"}`, "max_results"},
		{"max_results fractional", `{"phone_number_id":"106540352242922","max_results":2.5}`, "max_results"},
		{"bad status_filter", `{"phone_number_id":"106540352242922","status_filter":"seen"}`, "status_filter"},
		{"negative interval", `{"phone_number_id":"106540352242922","interval":-1}`, "interval"},
		{"cursor not base64", `{"phone_number_id":"106540352242922","cursor":"not a cursor!"}`, "cursor"},
		{"cursor of another version", `{"phone_number_id":"106540352242922","cursor":"` + b64("v9:106540352242922:3") + `"}`, "cursor"},
		{"cursor with a negative position", `{"phone_number_id":"106540352242922","cursor":"` + b64("v1:106540352242922:-3") + `"}`, "cursor"},
		{"cursor not a number", `{"phone_number_id":"106540352242922","cursor":"` + b64("v1:106540352242922:x") + `"}`, "cursor"},
		{"cursor of another phone number", `{"phone_number_id":"106540352242933","cursor":"` + phone1Cursor + `"}`, "cursor"},
		{"unknown input", `{"phone_number_id":"106540352242922","limit":5}`, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ttWantInvalid(t, ttCall(t, tl, tc.args), tc.field)
		})
	}

	// Every offence at once.
	env := ttCall(t, tl, `{"max_results":0,"status_filter":"seen","interval":-1}`)
	for _, f := range []string{"phone_number_id", "max_results", "status_filter", "interval"} {
		ttWantInvalid(t, env, f)
	}
}

// A cursor stays valid when the server restarts: the sequence is the
// store's, on disk.
func TestStatusTriggerSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ttSave(t, st, ttStatus(ttPhone, "wamid.P1", "sent", 1750030001, ""), ttStatus(ttPhone, "wamid.P2", "sent", 1750030002, ""))
	d := ttPoll(t, ttTool(t, st, ttTrigger), map[string]any{"phone_number_id": ttPhone})
	if got := ttKeys(d.Events); !slices.Equal(got, []string{"wamid.P1/sent", "wamid.P2/sent"}) {
		t.Fatalf("before restart: %v", got)
	}
	cursor := d.NextCursor
	// Arrives after the poll, before the restart; a redelivery too.
	ttSave(t, st, ttStatus(ttPhone, "wamid.P1", "delivered", 1750030003, ""), ttStatus(ttPhone, "wamid.P2", "sent", 1750030002, ""))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = ttOpenAt(t, path)
	tl := ttTool(t, st, ttTrigger)
	// Meta redelivers what it sent before the restart.
	ttSave(t, st, ttStatus(ttPhone, "wamid.P1", "sent", 1750030001, ""), ttStatus(ttPhone, "wamid.P2", "read", 1750030004, ""))
	d = ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "cursor": cursor})
	if got, want := ttKeys(d.Events), []string{"wamid.P1/delivered", "wamid.P2/read"}; !slices.Equal(got, want) {
		t.Fatalf("after restart with the old cursor: got %v, want %v", got, want)
	}
	d = ttPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "cursor": d.NextCursor})
	if len(d.Events) != 0 {
		t.Fatalf("polling again after restart repeated %v", ttKeys(d.Events))
	}
}

func TestGetMessageStatusPrecedence(t *testing.T) {
	st := ttOpen(t)
	// Arrival order is deliberately not the order things happened in.
	ttSave(t, st,
		ttStatus(ttPhone, "wamid.M1", "read", 1750030003, ""),
		ttStatus(ttPhone, "wamid.M2", "sent", 1750030001, ""),
		ttStatus(ttPhone, "wamid.M3", "delivered", 1750030002, ""),
	)
	ttSave(t, st,
		ttStatus(ttPhone, "wamid.M1", "delivered", 1750030002, ""),
		ttStatus(ttPhone, "wamid.M3", "played", 1750030005, ""),
		ttStatus(ttPhone2, "wamid.M4", "sent", 1750030001, ""),
	)
	ttSave(t, st,
		ttStatus(ttPhone, "wamid.M1", "sent", 1750030001, ""),
		ttStatus(ttPhone, "wamid.M2", "failed", 1750030009, ttErr131047),
		ttStatus(ttPhone, "wamid.M3", "read", 1750030004, ""),
		ttStatus(ttPhone, "wamid.M1", "read", 1750030003, ""), // a redelivery
	)
	ask := []string{"wamid.UNKNOWN", "wamid.M3", "wamid.M1", "wamid.M4", "wamid.M2"}
	env := ttCall(t, ttTool(t, st, ttGetStatus), map[string]any{"message_ids": ask})
	var d triggers.MessageStatusData
	env.decode(t, &d)
	if len(d.Messages) != len(ask) {
		t.Fatalf("got %d messages for %d ids", len(d.Messages), len(ask))
	}
	for i, m := range d.Messages {
		if m.MessageID != ask[i] {
			t.Fatalf("messages[%d] is %s, want %s (the order asked)", i, m.MessageID, ask[i])
		}
	}
	hist := func(m triggers.MessageStatus) []string {
		var out []string
		for _, h := range m.History {
			out = append(out, h.Status+"@"+h.Timestamp)
		}
		return out
	}

	unknown := d.Messages[0]
	if unknown.Known || unknown.Status != "" || len(unknown.History) != 0 || !strings.Contains(unknown.Note, "no status received yet") {
		t.Errorf("unknown id: %+v", unknown)
	}

	m3 := d.Messages[1]
	if !m3.Known || m3.Status != "played" || !m3.Delivered || m3.Timestamp != "1750030005" || m3.UpdatedAt != "2025-06-15T23:26:45Z" {
		t.Errorf("M3 (delivered, played, read): %+v", m3)
	}
	if got, want := hist(m3), []string{"delivered@1750030002", "played@1750030005", "read@1750030004"}; !slices.Equal(got, want) {
		t.Errorf("M3 history %v, want %v (arrival order)", got, want)
	}

	m1 := d.Messages[2]
	if m1.Status != "read" || !m1.Delivered || m1.RecipientID != "16505551234" || m1.PhoneNumberID != ttPhone || len(m1.Errors) != 0 || m1.Note != "" {
		t.Errorf("M1 (read, delivered, sent): %+v", m1)
	}
	if got, want := hist(m1), []string{"read@1750030003", "delivered@1750030002", "sent@1750030001"}; !slices.Equal(got, want) {
		t.Errorf("M1 history %v, want %v", got, want)
	}

	m4 := d.Messages[3]
	if m4.Status != "sent" || m4.Delivered || m4.PhoneNumberID != ttPhone2 {
		t.Errorf("M4 (sent only): %+v", m4)
	}

	m2 := d.Messages[4]
	if m2.Status != "failed" || m2.Delivered || m2.Timestamp != "1750030009" {
		t.Errorf("M2 (sent, failed): %+v", m2)
	}
	var errs []struct {
		Code int `json:"code"`
	}
	if err := json.Unmarshal(m2.Errors, &errs); err != nil || len(errs) != 1 || errs[0].Code != 131047 {
		t.Errorf("M2 errors %s (%v), want code 131047", m2.Errors, err)
	}
	if !strings.Contains(m2.Note, "131047") || !strings.Contains(m2.Note, "WHATSAPP_SEND_TEMPLATE_MESSAGE") {
		t.Errorf("M2 note %q should explain 131047 and point to templates", m2.Note)
	}
	if got, want := hist(m2), []string{"sent@1750030001", "failed@1750030009"}; !slices.Equal(got, want) {
		t.Errorf("M2 history %v, want %v", got, want)
	}
}

// Statuses Meta may add later never hide a known one, but are reported when
// they are all there is.
func TestGetMessageStatusUnrankedStatus(t *testing.T) {
	st := ttOpen(t)
	ttSave(t, st,
		ttStatus(ttPhone, "wamid.U1", "delivered", 1750030002, ""),
		ttStatus(ttPhone, "wamid.U1", "deleted", 1750030003, ""),
		ttStatus(ttPhone, "wamid.U2", "warning", 1750030003, ""),
	)
	var d triggers.MessageStatusData
	ttCall(t, ttTool(t, st, ttGetStatus), `{"message_ids":["wamid.U1"," wamid.U2 "]}`).decode(t, &d)
	if d.Messages[0].Status != "delivered" || len(d.Messages[0].History) != 2 {
		t.Errorf("U1: %+v", d.Messages[0])
	}
	if d.Messages[1].MessageID != "wamid.U2" || d.Messages[1].Status != "warning" || d.Messages[1].Delivered {
		t.Errorf("U2: %+v", d.Messages[1])
	}
}

func TestGetMessageStatusInvalidInput(t *testing.T) {
	tl := ttTool(t, ttOpen(t), ttGetStatus)
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("wamid.X%03d", i)
	}
	manyJSON, _ := json.Marshal(map[string]any{"message_ids": many})
	for _, tc := range []struct {
		name, args, field string
	}{
		{"missing", `{}`, "message_ids"},
		{"empty", `{"message_ids":[]}`, "message_ids"},
		{"duplicates", `{"message_ids":["wamid.A","wamid.B","wamid.A"]}`, "message_ids"},
		{"duplicates after trimming", `{"message_ids":["wamid.A"," wamid.A"]}`, "message_ids"},
		{"blank id", `{"message_ids":["wamid.A","  "]}`, "message_ids[1]"},
		{"over 100", string(manyJSON), "message_ids"},
		{"a string, not an array", `{"message_ids":"wamid.A"}`, "message_ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ttWantInvalid(t, ttCall(t, tl, tc.args), tc.field)
		})
	}
	var d triggers.MessageStatusData
	ttCall(t, tl, map[string]any{"message_ids": many[:100]}).decode(t, &d)
	if len(d.Messages) != 100 {
		t.Fatalf("100 ids: got %d answers", len(d.Messages))
	}
}

func TestStatusToolsWithoutStore(t *testing.T) {
	for name, args := range map[string]string{
		ttTrigger:   `{"phone_number_id":"106540352242922"}`,
		ttGetStatus: `{"message_ids":["wamid.A"]}`,
	} {
		env := ttCall(t, ttTool(t, nil, name), args)
		if env.Successful {
			t.Fatalf("%s succeeded without a store", name)
		}
		for _, want := range []string{"no webhook store is configured", "WHATSAPP_APP_SECRET", "/webhook", "--webhook-addr", "--sandbox"} {
			if !strings.Contains(env.Error, want) {
				t.Errorf("%s: error %q does not say %q", name, env.Error, want)
			}
		}
		if string(env.Data) != "{}" {
			t.Errorf("%s: data %s, want {}", name, env.Data)
		}
	}
}

// ttBrokenStore fails every read, as a database that went away would.
type ttBrokenStore struct{ store.Store }

var errTTBroken = errors.New("database is locked")

func (ttBrokenStore) Statuses(context.Context, store.Query) ([]store.StatusEvent, int64, error) {
	return nil, 0, errTTBroken
}

func (ttBrokenStore) History(context.Context, []string) (map[string][]store.StatusEvent, error) {
	return nil, errTTBroken
}

func TestStatusToolsStoreFailure(t *testing.T) {
	st := ttBrokenStore{}
	for name, args := range map[string]string{
		ttTrigger:   `{"phone_number_id":"106540352242922"}`,
		ttGetStatus: `{"message_ids":["wamid.A"]}`,
	} {
		env := ttCall(t, ttTool(t, st, name), args)
		if env.Successful || !strings.Contains(env.Error, "database is locked") || !strings.Contains(env.Error, "retry") {
			t.Errorf("%s: %+v; want a failure that shows the cause and says to retry", name, env)
		}
	}
}

func TestStatusToolsDeclaration(t *testing.T) {
	st := ttOpen(t)
	ts := triggers.Tools(st)
	if len(ts) != 2 || ts[0].Name != ttGetStatus || ts[1].Name != ttTrigger {
		t.Fatalf("Tools returned %d tools; want GET_MESSAGE_STATUS then the trigger", len(ts))
	}
	want := tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}
	for _, tl := range ts {
		if tl.Title == "" || tl.Toolset != triggers.ToolsetStatus || tl.Annotations != want || tl.ListData {
			t.Errorf("%s: title %q, toolset %q, annotations %+v, list %v", tl.Name, tl.Title, tl.Toolset, tl.Annotations, tl.ListData)
		}
		var in, out map[string]any
		if err := json.Unmarshal(tl.InputSchema, &in); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(tl.OutputSchema, &out); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"oneOf", "anyOf", "allOf"} {
			if _, ok := in[k]; ok {
				t.Errorf("%s: input schema has top-level %s", tl.Name, k)
			}
		}
		if in["additionalProperties"] != false {
			t.Errorf("%s: input schema allows unknown inputs", tl.Name)
		}
		// The example is valid and runs.
		if env := ttCall(t, tl, string(tl.Example)); !env.Successful {
			t.Errorf("%s: example %s fails: %s", tl.Name, tl.Example, env.Error)
		}
	}

	var trig struct {
		Properties map[string]struct {
			Type    string `json:"type"`
			Enum    []any  `json:"enum"`
			Minimum *int   `json:"minimum"`
			Maximum *int   `json:"maximum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(ts[1].InputSchema, &trig); err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range trig.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"cursor", "interval", "max_results", "phone_number_id", "status_filter"}; !slices.Equal(names, want) {
		t.Errorf("trigger inputs %v, want %v (docs/cloud-api.md#the-catalog plus cursor)", names, want)
	}
	if !slices.Equal(trig.Required, []string{"phone_number_id"}) {
		t.Errorf("trigger required %v", trig.Required)
	}
	p := trig.Properties
	if p["phone_number_id"].Type != "string" || p["max_results"].Type != "integer" || p["interval"].Type != "number" || p["cursor"].Type != "string" {
		t.Errorf("trigger input types: %+v", p)
	}
	if mr := p["max_results"]; mr.Minimum == nil || *mr.Minimum != 1 || mr.Maximum == nil || *mr.Maximum != 100 {
		t.Errorf("max_results bounds: %+v", mr)
	}
	if got := fmt.Sprint(p["status_filter"].Enum); got != "[ sent delivered read failed played]" {
		t.Errorf("status_filter enum %s", got)
	}
	for _, s := range []string{"next_cursor", "has_more", "status_update", "biz_opaque_callback_data"} {
		if !strings.Contains(string(ts[1].OutputSchema), `"`+s+`"`) {
			t.Errorf("trigger output schema does not describe %s", s)
		}
	}
	for _, s := range []string{"known", "history", "errors", "delivered"} {
		if !strings.Contains(string(ts[0].OutputSchema), `"`+s+`"`) {
			t.Errorf("GET_MESSAGE_STATUS output schema does not describe %s", s)
		}
	}
	for _, s := range []string{"next_cursor", "cursor", "webhook", "out of order", "timestamp", "131047"} {
		if !strings.Contains(ts[1].Description, s) {
			t.Errorf("trigger description does not mention %q", s)
		}
	}
}

// The business-scoped user ids of statuses (docs/cloud-api.md#bsuid) are
// returned by both status tools, under the names Meta's pages give them.
func TestStatusToolsReturnBSUIDs(t *testing.T) {
	st := ttOpen(t)
	body := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` +
		`"contacts":[{"profile":{"name":"Pablo M.","username":"@pablomorales"},"wa_id":"16505551234","user_id":"US.13491208655302741918","parent_user_id":"US.11815799212886844830"}],"statuses":[` +
		`{"id":"wamid.U1","status":"delivered","timestamp":"1750030073","recipient_id":"16505551234","recipient_user_id":"US.13491208655302741918","parent_recipient_user_id":"US.11815799212886844830"},` +
		`{"id":"wamid.U2","status":"delivered","timestamp":"1750030074","recipient_user_id":"US.13491208655302741918","parent_user_id":"US.11815799212886844830"},` +
		`{"id":"wamid.U3","status":"read","timestamp":"1750030075","recipient_id":"120363025246125486@g.us","recipient_type":"group","recipient_participant_user_id":"US.999","recipient_participant_parent_user_id":"US.888"}` +
		`]},"field":"messages"}]}]}`
	batch, err := triggers.ParsePayload([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Save(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var d triggers.StatusTriggerData
	ttCall(t, ttTool(t, st, ttTrigger), map[string]any{"phone_number_id": ttPhone}).decode(t, &d)
	if len(d.Events) != 3 {
		t.Fatalf("%d events", len(d.Events))
	}
	got := make([][4]string, 3)
	for i, e := range d.Events {
		u := e.StatusUpdate
		got[i] = [4]string{u.RecipientUserID, u.ParentRecipientUserID, u.RecipientParticipantUserID, u.RecipientParticipantParentUserID}
	}
	want := [][4]string{
		{"US.13491208655302741918", "US.11815799212886844830", "", ""},
		{"US.13491208655302741918", "US.11815799212886844830", "", ""}, // spelt parent_user_id
		{"", "", "US.999", "US.888"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("status_update BSUIDs\n got %v\nwant %v", got, want)
	}
	if d.Events[1].StatusUpdate.RecipientID != "" {
		t.Errorf("recipient_id %q though Meta sent none", d.Events[1].StatusUpdate.RecipientID)
	}

	var ms triggers.MessageStatusData
	ttCall(t, ttTool(t, st, ttGetStatus), map[string]any{"message_ids": []string{"wamid.U1", "wamid.U2"}}).decode(t, &ms)
	for _, m := range ms.Messages {
		if m.RecipientUserID != "US.13491208655302741918" || m.ParentRecipientUserID != "US.11815799212886844830" {
			t.Errorf("%s: recipient_user_id %q, parent %q", m.MessageID, m.RecipientUserID, m.ParentRecipientUserID)
		}
	}
}

// TestGetMessageStatusExplainsEveryCode: a failed status carrying any code
// of graph's table (docs/cloud-api.md#error-codes) gets that code's meaning
// and next step in its note, read back through the store like every status.
func TestGetMessageStatusExplainsEveryCode(t *testing.T) {
	codes := graph.ErrorCodes()
	if len(codes) < 50 {
		t.Fatalf("graph knows %d codes, want the whole table (about fifty)", len(codes))
	}
	st := ttOpen(t)
	var evs []store.StatusEvent
	var ids []string
	for i, code := range codes {
		id := fmt.Sprintf("wamid.CODE%d", code)
		ids = append(ids, id)
		errs := fmt.Sprintf(`,"errors":[{"code":%d,"title":"Title %d","message":"Message %d","error_data":{"details":"Details %d"}}]`, code, code, code, code)
		evs = append(evs, ttStatus(ttPhone, id, "sent", 1750030000, ""), ttStatus(ttPhone, id, "failed", 1750030001+int64(i), errs))
	}
	ttSave(t, st, evs...)
	var d triggers.MessageStatusData
	for start := 0; start < len(ids); start += 100 { // the tool takes 100 ids a call
		var part triggers.MessageStatusData
		ttCall(t, ttTool(t, st, ttGetStatus), map[string]any{"message_ids": ids[start:min(start+100, len(ids))]}).decode(t, &part)
		d.Messages = append(d.Messages, part.Messages...)
	}
	if len(d.Messages) != len(codes) {
		t.Fatalf("%d answers for %d ids", len(d.Messages), len(codes))
	}
	for i, code := range codes {
		m := d.Messages[i]
		meaning, action, ok := graph.Explain(code, 0)
		if !ok || meaning == "" || action == "" {
			t.Fatalf("graph.Explain(%d) = %q, %q, %v: a listed code without words", code, meaning, action, ok)
		}
		want := fmt.Sprintf("error %d (Title %d): %s. What to do: %s", code, code, meaning, action)
		if m.Status != "failed" || !strings.Contains(m.Note, want) {
			t.Errorf("code %d: status %q, note %q\nwant it to hold %q", code, m.Status, m.Note, want)
		}
	}
}

// TestFailureNoteEdges: several errors are each explained; an unknown code
// is named without made-up advice; an error without a code is not read as
// code 0 (Meta's token error).
func TestFailureNoteEdges(t *testing.T) {
	st := ttOpen(t)
	ttSave(t, st,
		ttStatus(ttPhone, "wamid.E1", "failed", 1750030001, `,"errors":[{"code":131047,"title":"Re-engagement message"},{"code":131026}]`),
		ttStatus(ttPhone, "wamid.E2", "failed", 1750030002, `,"errors":[{"code":999999,"title":"Something new"}]`),
		ttStatus(ttPhone, "wamid.E3", "failed", 1750030003, `,"errors":[{"title":"No code"}]`),
		ttStatus(ttPhone, "wamid.E4", "failed", 1750030004, ""),
	)
	var d triggers.MessageStatusData
	ttCall(t, ttTool(t, st, ttGetStatus), map[string]any{"message_ids": []string{"wamid.E1", "wamid.E2", "wamid.E3", "wamid.E4"}}).decode(t, &d)
	m131047, a131047, _ := graph.Explain(131047, 0)
	m131026, _, _ := graph.Explain(131026, 0)
	_, a0, _ := graph.Explain(0, 0)
	checks := []struct {
		note      string
		has, lack []string
	}{
		{d.Messages[0].Note, []string{"error 131047 (Re-engagement message): " + m131047 + ". What to do: " + a131047, ". Also error 131026: " + m131026}, nil},
		{d.Messages[1].Note, []string{"the message failed with error 999999 (Something new)"}, []string{"What to do"}},
		{d.Messages[2].Note, []string{"an error without a code"}, []string{a0, "error 0"}},
		{d.Messages[3].Note, []string{"Meta gave no error details"}, nil},
	}
	for i, c := range checks {
		for _, s := range c.has {
			if !strings.Contains(c.note, s) {
				t.Errorf("E%d note %q lacks %q", i+1, c.note, s)
			}
		}
		for _, s := range c.lack {
			if strings.Contains(c.note, s) {
				t.Errorf("E%d note %q holds %q", i+1, c.note, s)
			}
		}
	}
}
