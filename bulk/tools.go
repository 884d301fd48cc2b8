package bulk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/whatsapp-mcp/whatsapp-mcp/actions"
	"github.com/whatsapp-mcp/whatsapp-mcp/graph"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// Toolset is the bulk sends' toolset: apart from the single sends, so an
// operator can allow messages to one customer at a time without a
// thousand at once, and because bulk sends need the store.
const Toolset = "bulk"

// MaxRecipients is the most recipients of one bulk send.
const MaxRecipients = 1000

// errNoStore: a bulk send is a durable job in the store.
var errNoStore = errors.New("bulk sends need this server's store, which keeps each job so that a restart never sends twice, and none is configured: " +
	"the operator must run the HTTP server, or stdio mode with --store (or --webhook-addr), or --sandbox. Nothing was sent")

// Tools returns the bulk tools in catalog order. jobs may be nil (no
// store): the tools then answer with their configuration error.
func Tools(d *actions.Deps, jobs store.Jobs) []tools.Tool {
	return []tools.Tool{getBulkSend(jobs), sendTemplateBulk(d, jobs)}
}

// Components are a template send's components, decoded and validated as
// WHATSAPP_SEND_TEMPLATE_MESSAGE's; the schema only points at them, since
// spelling them out twice would cost every tools/list more than the tool.
type Components []actions.TemplateComponentInput

// JSONSchema is the short schema of Components.
func (Components) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{Type: "object"}}
}

// SendBulkInput is the input of WHATSAPP_SEND_TEMPLATE_BULK.
type SendBulkInput struct {
	PhoneNumberID string             `json:"phone_number_id" validate:"required,graphid"`
	TemplateName  string             `json:"template_name" validate:"required,tplname"`
	LanguageCode  tools.LanguageCode `json:"language_code,omitempty" validate:"langcode" jsonschema:"default=en_US"`
	Components    Components         `json:"components,omitempty" validate:"omitempty,max=20,dive"`
	Recipients    []RecipientInput   `json:"recipients" validate:"required,min=1,max=1000,dive"`
	RatePerSecond int                `json:"rate_per_second,omitempty" validate:"omitempty,min=1,max=1000" jsonschema_description:"Default: the server's (80)."`
}

// RecipientInput is one recipient of a bulk send.
type RecipientInput struct {
	ToNumber   string     `json:"to_number" validate:"required,dialable"`
	Components Components `json:"components,omitempty" validate:"omitempty,max=20,dive"`
}

// Normalize applies the single template send's normalization (the default
// language, Meta's lower-case names) to every component list.
func (in *SendBulkInput) Normalize() {
	actions.NormalizeTemplate(&in.LanguageCode, in.Components)
	for i := range in.Recipients {
		r := &in.Recipients[i]
		r.ToNumber = tools.NormalizePhone(r.ToNumber)
		actions.NormalizeTemplate(nil, r.Components)
	}
}

// Check applies the single send's own rules of components (those a tag
// cannot say), naming each field by its place here.
func (in *SendBulkInput) Check() []tools.FieldError {
	errs := actions.CheckTemplateComponents("components", in.Components)
	for i, r := range in.Recipients {
		errs = append(errs, actions.CheckTemplateComponents(fmt.Sprintf("recipients[%d].components", i), r.Components)...)
	}
	return errs
}

// Report is what both tools answer: the job's overall result.
type Report struct {
	JobID string `json:"job_id"`
	// Status: running until every recipient was attempted; then sent (to
	// all), partially_sent, or failed (to none).
	Status        string            `json:"status" jsonschema:"enum=running,enum=sent,enum=partially_sent,enum=failed"`
	Cancelled     bool              `json:"cancelled,omitempty"`
	Total         int               `json:"total"`
	RatePerSecond int               `json:"rate_per_second"`
	Counts        map[string]int    `json:"counts" jsonschema_description:"Recipients by state: pending, sending, sent, failed, unknown (may have reached Meta; never resent), cancelled."`
	Deliveries    map[string]int    `json:"deliveries,omitempty" jsonschema_description:"Sent messages by latest status webhook (accepted: none yet)."`
	Recipients    []RecipientReport `json:"recipients,omitempty"`
	NextAfter     *int              `json:"next_after,omitempty" jsonschema_description:"More recipients: pass as after."`
}

// sendData documents WHATSAPP_SEND_TEMPLATE_BULK's data, a Report: what a
// caller reads at once (the rest is as WHATSAPP_GET_BULK_SEND's).
type sendData struct {
	JobID  string `json:"job_id"`
	Status string `json:"status"`
}

// getData documents WHATSAPP_GET_BULK_SEND's data, a Report, leaving out
// what a model seldom reads.
type getData struct {
	JobID      string         `json:"job_id"`
	Status     string         `json:"status"`
	Counts     map[string]int `json:"counts"`
	Deliveries map[string]int `json:"deliveries"`
	Recipients []struct {
		To        string `json:"to"`
		State     string `json:"state"`
		MessageID string `json:"message_id"`
		Error     string `json:"error"`
	} `json:"recipients"`
	NextAfter int `json:"next_after"`
}

// RecipientReport is one recipient's outcome.
type RecipientReport struct {
	Seq       int    `json:"seq"`
	To        string `json:"to"`
	State     string `json:"state"`
	MessageID string `json:"message_id,omitempty"`
	ErrorCode int    `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
}

// statusOf is a job's overall result.
func statusOf(j store.BulkJob) string {
	switch sent := j.Counts[store.RecipientSent]; {
	case j.State == store.JobRunning:
		return "running"
	case sent == j.Total:
		return "sent"
	case sent == 0:
		return "failed"
	}
	return "partially_sent"
}

// report reads job id's report; with states, also its recipients in those
// states (all when empty), up to limit after Seq after.
func report(ctx context.Context, jobs store.Jobs, id string, withRecipients bool, states []string, after, limit int) (*Report, error) {
	j, ok, err := jobs.GetBulkJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, tools.Invalid("job_id", "is not a bulk send this server's store knows")
	}
	rep := &Report{JobID: j.ID, Status: statusOf(j), Cancelled: j.State == store.JobCancelled, Total: j.Total,
		RatePerSecond: j.RatePerSecond, Counts: map[string]int{}}
	// A recipient of an ended job still sending lost its worker during the
	// send (a worker that died after its job was cancelled): nobody will
	// record its outcome, so it is reported as what it is, unknown.
	ended := j.State != store.JobRunning
	shown := func(state string) string {
		if ended && state == store.RecipientSending {
			return store.RecipientUnknown
		}
		return state
	}
	for k, n := range j.Counts {
		if n > 0 {
			rep.Counts[shown(k)] += n
		}
	}
	if j.Counts[store.RecipientSent] > 0 {
		if rep.Deliveries, err = jobs.BulkDeliveries(ctx, id); err != nil {
			return nil, err
		}
	}
	if !withRecipients {
		return rep, nil
	}
	for {
		page, err := jobs.BulkRecipients(ctx, id, after, MaxRecipients)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			after = r.Seq
			if st := shown(r.State); st != r.State {
				r.State, r.Error = st, "the server stopped during this send, after the job was cancelled; not resent, to avoid a duplicate"
			}
			if len(states) > 0 && !slices.Contains(states, r.State) {
				continue
			}
			if len(rep.Recipients) == limit {
				next := rep.Recipients[limit-1].Seq
				rep.NextAfter = &next
				return rep, nil
			}
			rep.Recipients = append(rep.Recipients, RecipientReport{Seq: r.Seq, To: r.To, State: r.State,
				MessageID: r.MessageID, ErrorCode: r.ErrorCode, Error: r.Error})
		}
		if len(page) < MaxRecipients {
			break
		}
	}
	return rep, nil
}

// GetBulkInput is the input of WHATSAPP_GET_BULK_SEND.
type GetBulkInput struct {
	JobID string `json:"job_id" validate:"required,max=100"`
	State string `json:"state,omitempty" validate:"omitempty,oneof=pending sending sent failed unknown cancelled" jsonschema_description:"Only recipients in this state."`
	Limit int    `json:"limit,omitempty" validate:"omitempty,min=1,max=1000" jsonschema:"default=50"`
	After *int   `json:"after,omitempty" validate:"omitempty,min=0" jsonschema_description:"next_after of the previous page."`
}

func getBulkSend(jobs store.Jobs) tools.Tool {
	return tools.New(tools.Def[GetBulkInput, *Report]{
		Name:    "WHATSAPP_GET_BULK_SEND",
		Title:   "Get a bulk send's progress",
		Toolset: Toolset,
		Description: "Read a WHATSAPP_SEND_TEMPLATE_BULK job: status (running, sent, partially_sent, failed), recipients by state " +
			"(unknown: may have been sent, never resent), deliveries from the status webhooks, and recipients' message_id or error.",
		Annotations: tools.Annotations{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false},
		Example:     `{"job_id":"bulk_6f1c2a9e0b7d4e55","state":"failed"}`,
		Data:        getData{},
		Handler: func(ctx context.Context, in *GetBulkInput) (*Report, error) {
			if jobs == nil {
				return nil, errNoStore
			}
			limit, after := in.Limit, -1
			if limit == 0 {
				limit = 50
			}
			if in.After != nil {
				after = *in.After
			}
			var states []string
			if in.State != "" {
				states = []string{in.State}
			}
			return report(ctx, jobs, in.JobID, true, states, after, limit)
		},
	})
}

// followEvery is how often a task call reads its job's progress.
const followEvery = 200 * time.Millisecond

func sendTemplateBulk(d *actions.Deps, jobs store.Jobs) tools.Tool {
	return tools.New(tools.Def[SendBulkInput, *Report]{
		Name:    "WHATSAPP_SEND_TEMPLATE_BULK",
		Title:   "Send a template to many recipients",
		Toolset: Toolset,
		Description: "Send one APPROVED template to up to 1,000 recipients, paced within Meta's limits, never twice to anyone; " +
			"components as in WHATSAPP_SEND_TEMPLATE_MESSAGE (a recipient's own replace the shared ones). " +
			"Returns a job_id for WHATSAPP_GET_BULK_SEND; as an MCP task, waits with progress.",
		Annotations: tools.Annotations{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: true},
		Task:        true,
		Data:        sendData{},
		Prepare:     recipientsRule(d),
		Example: `{"phone_number_id":"106540352242922","template_name":"order_update","language_code":"en_US",` +
			`"recipients":[{"to_number":"+16505551234","components":[{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"#1234"}]}]},` +
			`{"to_number":"+16505555678","components":[{"type":"body","parameters":[{"type":"text","text":"Ben"},{"type":"text","text":"#1235"}]}]}]}`,
		Handler: func(ctx context.Context, in *SendBulkInput) (*Report, error) {
			if jobs == nil {
				return nil, errNoStore
			}
			id, err := create(ctx, d, jobs, in)
			if err != nil {
				return nil, err
			}
			if d.BulkWake != nil {
				d.BulkWake()
			} else {
				tools.Warn(ctx, "this process sends no bulk jobs (a one-shot call): the job waits for a server on the same store")
			}
			if !tools.AsTask(ctx) {
				return report(ctx, jobs, id, false, nil, -1, 0)
			}
			return follow(ctx, jobs, id)
		},
	})
}

// recipientsRule reads every to_number with the operator's phone policy,
// as the single sends do, and refuses a number given twice.
func recipientsRule(d *actions.Deps) func(context.Context, *SendBulkInput) []tools.FieldError {
	return func(ctx context.Context, in *SendBulkInput) []tools.FieldError {
		var errs []tools.FieldError
		first := map[string]int{}
		warned := 0
		for i := range in.Recipients {
			r := &in.Recipients[i]
			if r.ToNumber == "" {
				continue // required says so
			}
			field := fmt.Sprintf("recipients[%d].to_number", i)
			c := d.Phones.Check(r.ToNumber)
			if c.Rule != "" {
				errs = append(errs, tools.FieldError{Field: field, Rule: c.Rule})
				continue
			}
			r.ToNumber = c.Number
			if c.Warning != "" {
				if warned++; warned <= 3 {
					tools.Warn(ctx, "%s %s", field, c.Warning)
				}
			}
			if j, dup := first[c.Number]; dup {
				errs = append(errs, tools.FieldError{Field: field, Rule: fmt.Sprintf(
					"is %s, as recipients[%d].to_number is: a recipient is sent once, so remove one", c.Number, j)})
				continue
			}
			first[c.Number] = i
		}
		if warned > 3 {
			tools.Warn(ctx, "%d more recipients have warnings of the same kind", warned-3)
		}
		return errs
	}
}

// create stores the job: each recipient's request body, built as the
// single template send builds it, its own components replacing the shared
// ones of the same slot.
func create(ctx context.Context, d *actions.Deps, jobs store.Jobs, in *SendBulkInput) (string, error) {
	lang := string(in.LanguageCode)
	shared := actions.TemplateMessage(in.TemplateName, lang, in.Components)
	rs := make([]store.BulkRecipient, len(in.Recipients))
	for i, r := range in.Recipients {
		t := *shared
		if len(r.Components) > 0 {
			t.Components = merge(shared.Components, actions.TemplateMessage(in.TemplateName, lang, r.Components).Components)
		}
		body, err := json.Marshal(&graph.Message{To: r.ToNumber, Type: "template", Template: &t})
		if err != nil {
			return "", err
		}
		rs[i] = store.BulkRecipient{Seq: i, To: r.ToNumber, Body: body}
	}
	perSec := in.RatePerSecond
	if perSec == 0 {
		perSec = d.BulkRate
	}
	if perSec <= 0 || perSec > MaxRate {
		perSec = DefaultRate
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	j := store.BulkJob{ID: "bulk_" + hex.EncodeToString(b[:]), PhoneNumberID: in.PhoneNumberID, TemplateName: in.TemplateName,
		LanguageCode: lang, RatePerSecond: perSec, Total: len(rs)}
	if err := jobs.CreateBulkJob(ctx, j, rs); err != nil {
		return "", fmt.Errorf("could not store the bulk send, so nothing was sent: %w", err)
	}
	return j.ID, nil
}

// merge replaces each of shared's components by own's of the same slot
// (type, and index for buttons) and adds own's others.
func merge(shared, own []graph.TemplateComponent) []graph.TemplateComponent {
	out := slices.Clone(shared)
	for _, c := range own {
		if i := slices.IndexFunc(out, func(s graph.TemplateComponent) bool { return sameSlot(s, c) }); i >= 0 {
			out[i] = c
		} else {
			out = append(out, c)
		}
	}
	return out
}

func sameSlot(a, b graph.TemplateComponent) bool {
	if a.Type != b.Type {
		return false
	}
	if a.Index == nil || b.Index == nil {
		return a.Index == nil && b.Index == nil
	}
	return *a.Index == *b.Index
}

// follow waits for the job of a task call to end, reporting progress; a
// tasks/cancel cancels it. On any other end of the call (its deadline,
// shutdown) the job goes on and the report says running.
func follow(ctx context.Context, jobs store.Jobs, id string) (*Report, error) {
	t := time.NewTicker(followEvery)
	defer t.Stop()
	for {
		j, ok, err := jobs.GetBulkJob(ctx, id)
		if err == nil && ok {
			done := j.Total - j.Counts[store.RecipientPending] - j.Counts[store.RecipientSending]
			tools.ProgressCount(ctx, int64(done), int64(j.Total))
			if j.State != store.JobRunning {
				return final(context.WithoutCancel(ctx), jobs, id)
			}
		}
		select {
		case <-t.C:
			continue
		case <-ctx.Done():
		}
		bg := context.WithoutCancel(ctx)
		if !tools.TaskCancelled(ctx) {
			return report(bg, jobs, id, false, nil, -1, 0)
		}
		if _, err := jobs.CancelBulkJob(bg, id); err != nil {
			return nil, fmt.Errorf("could not cancel bulk send %s: %w", id, err)
		}
		// The sends in flight end within moments.
		for range 25 {
			if j, ok, err := jobs.GetBulkJob(bg, id); err != nil || !ok || j.Counts[store.RecipientSending] == 0 {
				break
			}
			time.Sleep(followEvery)
		}
		return final(bg, jobs, id)
	}
}

// final is the report of an ended job, with the recipients not sent.
func final(ctx context.Context, jobs store.Jobs, id string) (*Report, error) {
	return report(ctx, jobs, id, true, []string{store.RecipientFailed, store.RecipientUnknown,
		store.RecipientCancelled, store.RecipientPending, store.RecipientSending}, -1, MaxRecipients)
}
