package triggers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatsapp-mcp/whatsapp-mcp/server"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/store/storetest"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// Helpers of this file are prefixed it (inbound trigger).

const itName = "WHATSAPP_MESSAGE_RECEIVED_TRIGGER"

func itTool(t testing.TB, st store.Store) tools.Tool {
	t.Helper()
	ts := triggers.InboundTools(st, tools.PhonePolicy{})
	if len(ts) != 1 || ts[0].Name != itName {
		t.Fatalf("InboundTools returned %d tools", len(ts))
	}
	return ts[0]
}

// itMsg is an inbound text (or typ) message as the webhook parses it.
func itMsg(phone, id, from, typ string, ts int64) store.InboundMessage {
	raw := fmt.Sprintf(`{"from":"%s","id":"%s","timestamp":"%d","type":"%s","%s":{"body":"hello %s"}}`, from, id, ts, typ, typ, id)
	return store.InboundMessage{PhoneNumberID: phone, MessageID: id, From: from, Type: typ, Timestamp: ts,
		Text: "hello " + id, Raw: json.RawMessage(raw)}
}

func itSave(t testing.TB, st store.Store, ms ...store.InboundMessage) {
	t.Helper()
	if _, _, err := st.Save(context.Background(), store.Batch{Inbound: ms}); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func itPoll(t testing.TB, tl tools.Tool, in map[string]any) triggers.InboundTriggerData {
	t.Helper()
	var d triggers.InboundTriggerData
	ttCall(t, tl, in).decode(t, &d)
	if d.NextCursor == "" {
		t.Fatalf("next_cursor is empty for %v", in)
	}
	return d
}

func itIDs(evs []triggers.InboundEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Message.MessageID
	}
	return out
}

func TestInboundTriggerInvalidInput(t *testing.T) {
	st := ttOpen(t)
	tl := itTool(t, st)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	statusCursor := ttPoll(t, ttTool(t, st, ttTrigger), map[string]any{"phone_number_id": ttPhone}).NextCursor
	phone1Cursor := itPoll(t, tl, map[string]any{"phone_number_id": ttPhone}).NextCursor
	for _, tc := range []struct {
		name, args, field, rule string
	}{
		{"missing phone_number_id", `{}`, "phone_number_id", "required"},
		{"phone number instead of id", `{"phone_number_id":"+1 555-078-3881"}`, "phone_number_id", ""},
		{"max_results 0", `{"phone_number_id":"106540352242922","max_results":0}`, "max_results", "1"},
		{"max_results 101", `{"phone_number_id":"106540352242922","max_results":101}`, "max_results", "100"},
		{"max_results fractional", `{"phone_number_id":"106540352242922","max_results":2.5}`, "max_results", ""},
		{"wait_seconds negative", `{"phone_number_id":"106540352242922","wait_seconds":-1}`, "wait_seconds", "0"},
		{"wait_seconds 61", `{"phone_number_id":"106540352242922","wait_seconds":61}`, "wait_seconds", "60"},
		{"wait_seconds a string", `{"phone_number_id":"106540352242922","wait_seconds":"5"}`, "wait_seconds", ""},
		{"unknown message type", `{"phone_number_id":"106540352242922","message_types":["text","selfie"]}`, "message_types[1]", "one of"},
		{"status as a message type", `{"phone_number_id":"106540352242922","message_types":["read"]}`, "message_types[0]", "one of"},
		{"repeated message type", `{"phone_number_id":"106540352242922","message_types":["text","TEXT"]}`, "message_types", "duplicates"},
		{"message_types a string", `{"phone_number_id":"106540352242922","message_types":"text"}`, "message_types", ""},
		{"from_number not a number", `{"phone_number_id":"106540352242922","from_number":"Zoe"}`, "from_number", "country code"},
		{"from_number national", `{"phone_number_id":"106540352242922","from_number":"(650) 253-0000"}`, "from_number", "+16502530000"},
		{"from_number too long", `{"phone_number_id":"106540352242922","from_number":"US.` + strings.Repeat("1", 158) + `"}`, "from_number", "160"},
		{"from_number a BSUID with a bad end", `{"phone_number_id":"106540352242922","from_number":"US.123."}`, "from_number", "BSUID"},
		{"cursor not base64", `{"phone_number_id":"106540352242922","cursor":"not a cursor!"}`, "cursor", "data.next_cursor"},
		{"cursor of another version", `{"phone_number_id":"106540352242922","cursor":"` + b64("m9:106540352242922:3") + `"}`, "cursor", "data.next_cursor"},
		{"cursor of the status trigger", `{"phone_number_id":"106540352242922","cursor":"` + statusCursor + `"}`, "cursor", "WHATSAPP_MESSAGE_STATUS_UPDATED_TRIGGER"},
		{"cursor of another phone number", `{"phone_number_id":"106540352242933","cursor":"` + phone1Cursor + `"}`, "cursor", "106540352242922"},
		{"unknown input", `{"phone_number_id":"106540352242922","status_filter":"read"}`, "status_filter", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := ttCall(t, tl, tc.args)
			ttWantInvalid(t, env, tc.field)
			if !strings.Contains(env.Error, tc.rule) {
				t.Errorf("error %q does not say %q", env.Error, tc.rule)
			}
		})
	}
	// The status trigger refuses this tool's cursor.
	ttWantInvalid(t, ttCall(t, ttTool(t, st, ttTrigger), map[string]any{"phone_number_id": ttPhone, "cursor": phone1Cursor}), "cursor")

	// Every offence at once.
	env := ttCall(t, tl, `{"max_results":0,"wait_seconds":99,"message_types":["selfie"],"from_number":"Zoe"}`)
	for _, f := range []string{"phone_number_id", "max_results", "wait_seconds", "message_types[0]", "from_number"} {
		ttWantInvalid(t, env, f)
	}
}

// Paging while messages arrive never repeats nor skips one; the cursor
// survives a new store instance; each business number pages alone.
func TestInboundTriggerPagingNeverRepeatsOrSkips(t *testing.T) {
	st := ttOpen(t)
	tl := itTool(t, st)
	var want []string
	n := 0
	for b := range 4 {
		var batch []store.InboundMessage
		for range 5 {
			n++
			id := fmt.Sprintf("wamid.M%02d", n)
			batch = append(batch, itMsg(ttPhone, id, "16505551234", "text", 1750030000+int64(n)))
			want = append(want, id)
			if n%2 == 0 {
				batch = append(batch, itMsg(ttPhone2, fmt.Sprintf("wamid.N%02d", n), "16505551234", "text", 1750030000+int64(n)))
			}
		}
		if b > 0 {
			batch = append(batch, itMsg(ttPhone, "wamid.M01", "16505551234", "text", 1750030001)) // a redelivery
		}
		itSave(t, st, batch...)
	}

	var got []string
	cursor := ""
	for page := 0; ; page++ {
		in := map[string]any{"phone_number_id": ttPhone, "max_results": 3}
		if cursor != "" {
			in["cursor"] = cursor
		}
		d := itPoll(t, tl, in)
		got = append(got, itIDs(d.Events)...)
		cursor = d.NextCursor
		if page == 2 { // more arrive mid-way
			itSave(t, st, itMsg(ttPhone, "wamid.M99", "16505551234", "text", 1750030099))
			want = append(want, "wamid.M99")
		}
		if !d.HasMore && page > 2 {
			break
		}
		if len(d.Events) == 0 && !d.HasMore {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged\n got %v\nwant %v", got, want)
	}
	if d := itPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "cursor": cursor}); len(d.Events) != 0 || d.NextCursor != cursor || d.HasMore {
		t.Fatalf("at the end: %v, cursor moved %v, has_more %v", itIDs(d.Events), d.NextCursor != cursor, d.HasMore)
	}
	d := itPoll(t, tl, map[string]any{"phone_number_id": ttPhone2, "max_results": 100})
	if len(d.Events) != 10 || d.HasMore {
		t.Fatalf("the other number: %v", itIDs(d.Events))
	}
	for _, e := range d.Events {
		if e.PhoneNumberID != ttPhone2 || e.EventType != triggers.EventTypeMessageReceived {
			t.Fatalf("event of the other number: %+v", e)
		}
	}
}

// An event carries the customer and the normalised message.
func TestInboundTriggerEventShape(t *testing.T) {
	st := ttOpen(t)
	body, _ := fxRead(t, "image")
	b, err := triggers.ParsePayload(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Save(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	res := ttCall(t, itTool(t, st), map[string]any{"phone_number_id": ttPhone})
	var d struct {
		Events []map[string]any `json:"events"`
	}
	res.decode(t, &d)
	if len(d.Events) != 1 {
		t.Fatalf("%d events", len(d.Events))
	}
	e := d.Events[0]
	for k, want := range map[string]any{"event_type": "message_received", "phone_number_id": ttPhone, "wa_id": fxCustomer, "user_id": fxBSUID, "profile_name": fxProfile} {
		if e[k] != want {
			t.Errorf("%s = %#v, want %#v", k, e[k], want)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e["received_at"])); err != nil {
		t.Errorf("received_at %v", e["received_at"])
	}
	msg, _ := json.Marshal(e["message"])
	if want := `{"direction":"in","media":{"id":"1003383421387256","mime_type":"image/jpeg","sha256":"0vPNSR5Hq/cBmvy+5KaFJGq/yS9yqsW3qfQHjqUWH1A="},"message_id":"` + fxWamid(8) +
		`","text":"My order arrived broken","time":"2025-06-15T23:28:28Z","type":"image"}`; string(msg) != want {
		t.Errorf("message\n got %s\nwant %s", msg, want)
	}
}

// message_types and from_number select; from_number takes any spelling of
// the number, the wa_id, or the BSUID.
func TestInboundTriggerFilters(t *testing.T) {
	st := ttOpen(t)
	tl := itTool(t, st)
	bsuidOnly := itMsg(ttPhone, "wamid.F5", "", "text", 1750030005)
	bsuidOnly.UserID = "US.13491208655302741918"
	itSave(t, st,
		itMsg(ttPhone, "wamid.F1", "16505551234", "text", 1750030001),
		itMsg(ttPhone, "wamid.F2", "16505551234", "image", 1750030002),
		itMsg(ttPhone, "wamid.F3", "447700900123", "text", 1750030003),
		itMsg(ttPhone, "wamid.F4", "447700900123", "reaction", 1750030004),
		bsuidOnly,
	)
	for _, tc := range []struct {
		name string
		in   map[string]any
		want []string
	}{
		{"all", map[string]any{}, []string{"wamid.F1", "wamid.F2", "wamid.F3", "wamid.F4", "wamid.F5"}},
		{"one type", map[string]any{"message_types": []string{"text"}}, []string{"wamid.F1", "wamid.F3", "wamid.F5"}},
		{"types in any case", map[string]any{"message_types": []string{" Image", "REACTION"}}, []string{"wamid.F2", "wamid.F4"}},
		{"from a formatted number", map[string]any{"from_number": "+1 (650) 555-1234"}, []string{"wamid.F1", "wamid.F2"}},
		{"from a wa_id", map[string]any{"from_number": "447700900123"}, []string{"wamid.F3", "wamid.F4"}},
		{"from a BSUID", map[string]any{"from_number": "US.13491208655302741918"}, []string{"wamid.F5"}},
		{"from a parent BSUID nobody has", map[string]any{"from_number": "US.ENT.11815799212886844830"}, nil},
		{"both", map[string]any{"from_number": "+44 7700 900123", "message_types": []string{"reaction"}}, []string{"wamid.F4"}},
		{"nobody", map[string]any{"from_number": "+16505550000"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in["phone_number_id"] = ttPhone
			d := itPoll(t, tl, tc.in)
			if got := itIDs(d.Events); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// itCallAsync calls the trigger in a goroutine.
func itCallAsync(ctx context.Context, tl tools.Tool, args string) <-chan tools.Result {
	done := make(chan tools.Result, 1)
	go func() { done <- tl.Call(ctx, json.RawMessage(args)) }()
	return done
}

func itData(t testing.TB, res tools.Result) triggers.InboundTriggerData {
	t.Helper()
	var env ttEnvelope
	if err := json.Unmarshal(res.JSON(), &env); err != nil {
		t.Fatal(err)
	}
	var d triggers.InboundTriggerData
	env.decode(t, &d)
	return d
}

// A waiting call returns the message saved while it waits, not before the
// save, and well within the wait.
func TestInboundTriggerWaitReturnsOnArrival(t *testing.T) {
	st := ttOpen(t)
	tl := itTool(t, st)
	itSave(t, st, itMsg(ttPhone, "wamid.W0", "16505551234", "text", 1750030000))
	cursor := itPoll(t, tl, map[string]any{"phone_number_id": ttPhone}).NextCursor

	start := time.Now()
	done := itCallAsync(context.Background(), tl, `{"phone_number_id":"`+ttPhone+`","wait_seconds":60,"cursor":"`+cursor+`"}`)
	// Other numbers' messages and a type filtered out do not end the wait.
	time.Sleep(50 * time.Millisecond)
	itSave(t, st, itMsg(ttPhone2, "wamid.W1", "16505551234", "text", 1750030001))
	select {
	case res := <-done:
		t.Fatalf("returned before any message of its number was saved: %s", res.JSON())
	case <-time.After(200 * time.Millisecond):
	}
	saved := time.Now()
	itSave(t, st, itMsg(ttPhone, "wamid.W2", "16505551234", "text", 1750030002))
	select {
	case res := <-done:
		d := itData(t, res)
		if got := itIDs(d.Events); !slices.Equal(got, []string{"wamid.W2"}) {
			t.Fatalf("returned %v, want the message saved while waiting", got)
		}
		if time.Since(start) < time.Since(saved) {
			t.Fatal("returned before the save")
		}
	case <-time.After(30 * time.Second): // generous: the wait itself is 60 s
		t.Fatal("still waiting 30 s after the message was saved")
	}
}

// A filtered wait ignores messages it does not select.
func TestInboundTriggerWaitHonoursFilters(t *testing.T) {
	st := ttOpen(t)
	tl := itTool(t, st)
	done := itCallAsync(context.Background(), tl, `{"phone_number_id":"`+ttPhone+`","wait_seconds":60,"message_types":["image"]}`)
	time.Sleep(50 * time.Millisecond)
	itSave(t, st, itMsg(ttPhone, "wamid.T1", "16505551234", "text", 1750030001))
	select {
	case res := <-done:
		t.Fatalf("a text ended a wait for images: %s", res.JSON())
	case <-time.After(200 * time.Millisecond):
	}
	itSave(t, st, itMsg(ttPhone, "wamid.T2", "16505551234", "image", 1750030002))
	select {
	case res := <-done:
		if got := itIDs(itData(t, res).Events); !slices.Equal(got, []string{"wamid.T2"}) {
			t.Fatalf("returned %v", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting 30 s after the image was saved")
	}
}

// With nothing arriving, the call returns an empty page after the wait,
// its cursor unchanged.
func TestInboundTriggerWaitTimesOut(t *testing.T) {
	st := ttOpen(t)
	tl := itTool(t, st)
	itSave(t, st, itMsg(ttPhone, "wamid.E0", "16505551234", "text", 1750030000))
	cursor := itPoll(t, tl, map[string]any{"phone_number_id": ttPhone}).NextCursor
	start := time.Now()
	d := itPoll(t, tl, map[string]any{"phone_number_id": ttPhone, "wait_seconds": 1, "cursor": cursor})
	if len(d.Events) != 0 || d.HasMore || d.NextCursor != cursor {
		t.Fatalf("after an empty wait: %+v", d)
	}
	if time.Since(start) < time.Second {
		t.Fatalf("returned after %v, before the wait of 1 s", time.Since(start))
	}
}

// Cancelling the call ends the wait with a failure, and a call whose
// deadline comes before the wait ends answers empty rather than failing.
func TestInboundTriggerWaitCancelled(t *testing.T) {
	st := ttOpen(t)
	tl := itTool(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	done := itCallAsync(ctx, tl, `{"phone_number_id":"`+ttPhone+`","wait_seconds":60}`)
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case res := <-done:
		var env ttEnvelope
		if err := json.Unmarshal(res.JSON(), &env); err != nil {
			t.Fatal(err)
		}
		if env.Successful || !strings.Contains(env.Error, "cancel") {
			t.Fatalf("cancelled call answered %s", res.JSON())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled call still waits")
	}

	ctx, cancel = context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	res := <-itCallAsync(ctx, tl, `{"phone_number_id":"`+ttPhone+`","wait_seconds":60}`)
	if d := itData(t, res); len(d.Events) != 0 || d.NextCursor == "" {
		t.Fatalf("a call cut short by its deadline: %+v", d)
	}
}

func TestInboundTriggerWithoutStore(t *testing.T) {
	env := ttCall(t, itTool(t, nil), `{"phone_number_id":"106540352242922","wait_seconds":5}`)
	if env.Successful || !strings.Contains(env.Error, "no webhook store is configured") {
		t.Fatalf("without a store: %+v", env)
	}
}

func TestInboundTriggerDeclaration(t *testing.T) {
	tl := itTool(t, ttOpen(t))
	want := tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}
	if tl.Title == "" || tl.Toolset != triggers.ToolsetConversations || tl.Annotations != want || tl.ListData || len(tl.Hints) == 0 ||
		!strings.Contains(tl.Hints[0], "wait_seconds") {
		t.Errorf("title %q, toolset %q, annotations %+v, list %v, hints %q", tl.Title, tl.Toolset, tl.Annotations, tl.ListData, tl.Hints)
	}
	if env := ttCall(t, tl, string(tl.Example)); !env.Successful {
		t.Errorf("example %s fails: %s", tl.Example, env.Error)
	}
	var in struct {
		Properties map[string]struct {
			Type  string `json:"type"`
			Items *struct {
				Enum []string `json:"enum"`
			} `json:"items"`
			Minimum *int `json:"minimum"`
			Maximum *int `json:"maximum"`
		} `json:"properties"`
		Required             []string `json:"required"`
		AdditionalProperties *bool    `json:"additionalProperties"`
	}
	if err := json.Unmarshal(tl.InputSchema, &in); err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range in.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"cursor", "from_number", "max_results", "message_types", "phone_number_id", "wait_seconds"}; !slices.Equal(names, want) {
		t.Errorf("inputs %v, want %v", names, want)
	}
	if !slices.Equal(in.Required, []string{"phone_number_id"}) || in.AdditionalProperties == nil || *in.AdditionalProperties {
		t.Errorf("required %v, additionalProperties %v", in.Required, in.AdditionalProperties)
	}
	if w := in.Properties["wait_seconds"]; w.Minimum == nil || *w.Minimum != 0 || w.Maximum == nil || *w.Maximum != 60 {
		t.Errorf("wait_seconds bounds %+v", w)
	}
	// The types are checked by Check, not listed in the schema (its budget).
	if mt := in.Properties["message_types"]; mt.Type != "array" || mt.Items == nil || len(mt.Items.Enum) != 0 {
		t.Errorf("message_types %+v", mt)
	}
	for _, s := range []string{"events", "next_cursor", "has_more", "message", "wa_id"} {
		if !strings.Contains(string(tl.OutputSchema), `"`+s+`"`) {
			t.Errorf("output schema does not describe %s", s)
		}
	}
}

// TestInboundTriggerListSize measures the tool's entry in tools/list
// (description, input and output schema, as mcp-go renders them): each
// new tool stays at or under 1,400 bytes.
func TestInboundTriggerListSize(t *testing.T) {
	s, err := server.New([]tools.Tool{itTool(t, nil)}, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	resp := s.MCP().HandleMessage(context.Background(), json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Result struct {
			Tools []struct {
				Description  json.RawMessage `json:"description"`
				InputSchema  json.RawMessage `json:"inputSchema"`
				OutputSchema json.RawMessage `json:"outputSchema"`
			} `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Result.Tools) != 1 {
		t.Fatalf("tools/list: %s (%v)", b, err)
	}
	tl := r.Result.Tools[0]
	size := len(tl.Description) + len(tl.InputSchema) + len(tl.OutputSchema)
	t.Logf("%s: %d bytes (description %d, inputSchema %d, outputSchema %d)", itName, size, len(tl.Description), len(tl.InputSchema), len(tl.OutputSchema))
	if size > 1400 {
		t.Errorf("%s costs %d bytes of tools/list, over 1,400", itName, size)
	}
}

// On PostgreSQL a call waiting on one replica returns the message another
// replica stored (LISTEN/NOTIFY), and the cursor of one replica pages on
// the other.
func TestInboundTriggerWaitAcrossReplicas(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	a, b := ttOpenAt(t, dsn), ttOpenAt(t, dsn)
	itSave(t, b, itMsg(ttPhone, "wamid.R0", "16505551234", "text", 1750030000))
	cursor := itPoll(t, itTool(t, a), map[string]any{"phone_number_id": ttPhone}).NextCursor

	done := itCallAsync(context.Background(), itTool(t, a), `{"phone_number_id":"`+ttPhone+`","wait_seconds":60,"cursor":"`+cursor+`"}`)
	time.Sleep(100 * time.Millisecond)
	select {
	case res := <-done:
		t.Fatalf("returned before the other replica saved: %s", res.JSON())
	default:
	}
	itSave(t, b, itMsg(ttPhone, "wamid.R1", "16505551234", "text", 1750030001))
	select {
	case res := <-done:
		if got := itIDs(itData(t, res).Events); !slices.Equal(got, []string{"wamid.R1"}) {
			t.Fatalf("returned %v, want the other replica's message", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting 30 s after the other replica saved")
	}
}
