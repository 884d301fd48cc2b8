package sandbox

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// phoneNumber is a business phone number. All fields are immutable after seeding.
type phoneNumber struct {
	id           string
	display      string // "+1 555-078-3881"
	digits       string // "15550783881", as webhooks' metadata.display_phone_number shows it
	countryCode  string // prepended to recipients sent without "+", like Meta does
	verifiedName string
	onboarded    time.Time
	profile      object
}

// template is a message template. Guarded by Sandbox.mu.
type template struct {
	id              string
	seq             int64 // creation order; lists are newest first
	name            string
	language        string
	category        string
	status          string
	parameterFormat string
	subCategory     string
	components      []any // as submitted (decoded with UseNumber), echoed on reads
	created         time.Time
	autoApprove     bool // seeded PENDING templates stay pending forever
	quality         string
	ttlSeconds      *int64
}

// mediaObject is an uploaded file. Guarded by Sandbox.mu.
type mediaObject struct {
	id            string
	phoneNumberID string
	mime          string
	filename      string
	data          []byte
	sha256        string
	created       time.Time
}

// mediaURL is one short-lived download URL handed out by GET /{media_id}.
type mediaURL struct {
	mediaID string
	expires time.Time
}

// SentMessage is a message accepted by POST /{phone_number_id}/messages, for tests and the
// sandbox's own bookkeeping.
type SentMessage struct {
	ID            string          // wamid
	PhoneNumberID string          // sender
	To            string          // "to" exactly as the request carried it
	WaID          string          // normalised recipient digits
	Type          string          // text, image, template, …
	Body          json.RawMessage // the request body as received
	Time          time.Time
}

// ReceivedMessage is a customer message the sandbox delivered (Receive, Inbound), with
// what the business did with it since.
type ReceivedMessage struct {
	ID            string // wamid
	PhoneNumberID string // the business number written to
	WaID          string // the customer
	UserID        string // the customer's BSUID
	Type          string // Meta's type: text, image, interactive, …
	Time          time.Time
	// Read: marked read, by its own id or a later message's (docs/cloud-api.md#mark-as-read).
	Read bool
	// TypingIndicator: a mark-as-read of this message asked for the typing indicator.
	TypingIndicator bool
}

// convMsg is one message of a conversation (a business number and a customer), either
// direction: what replies, reactions and mark-as-read are checked against.
type convMsg struct {
	id, phoneID, waID string
	inbound           bool
	typ               string
	at                time.Time
	// offer is what the customer can tap in an outbound message: reply buttons ("button"),
	// list rows ("list") or a template's quick replies ("template").
	offerKind string
	offer     []choice
	failed    bool             // outbound, never delivered (131047, 131026): nothing to tap
	recv      *ReceivedMessage // inbound: its public record
}

// choice is one reply button, list row or quick reply. For a quick reply, id is the payload.
type choice struct{ id, title, description string }

// state is everything the emulator remembers. Guarded by Sandbox.mu.
type state struct {
	phones    []*phoneNumber // list order (newest onboarding first, like Graph's default sort)
	templates map[string]*template
	media     map[string]*mediaObject
	mediaURLs map[string]mediaURL // url token → target
	sent      []SentMessage
	received  []*ReceivedMessage   // oldest first
	msgs      map[string]*convMsg  // wamid → message, both directions
	windows   map[string]time.Time // phoneNumberID+"|"+waID → last inbound message
	deleted   map[string]time.Time // name+"|"+language of deleted APPROVED templates → deletion time
	nextID    int64
}

const (
	wabaName      = "Sandbox Business"
	templateNS    = "sbx_5c1e9a7d_2f4b_4c8e_9d3a_sandbox"
	mediaIDTTL    = 30 * 24 * time.Hour // uploaded media ids live 30 days (docs/cloud-api.md#media-ids-and-urls)
	mediaURLTTL   = 5 * time.Minute     // download URLs live 5 minutes
	windowTTL     = 24 * time.Hour      // customer-service window
	nameLockAfter = 30 * 24 * time.Hour // a deleted approved template's name+language is locked this long
)

func newState(now time.Time) *state {
	st := &state{
		templates: map[string]*template{},
		media:     map[string]*mediaObject{},
		mediaURLs: map[string]mediaURL{},
		msgs:      map[string]*convMsg{},
		windows:   map[string]time.Time{},
		deleted:   map[string]time.Time{},
		nextID:    1120000000000001,
	}
	st.phones = []*phoneNumber{
		{
			id: PhoneNumberID, display: "+1 555-078-3881", digits: "15550783881", countryCode: "1",
			verifiedName: "Sandbox Shop",
			onboarded:    time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC),
			profile: object{
				{"about", "Succulents, shipped. (sandbox)"},
				{"address", "1 Sandbox Way, Menlo Park, CA 94025"},
				{"description", "The Sandbox Shop sells imaginary plants to imaginary customers."},
				{"email", "shop@sandbox.example"},
				{"profile_picture_url", "https://sandbox.example/pp/shop.jpg"},
				{"websites", []string{"https://shop.sandbox.example/"}},
				{"vertical", "RETAIL"},
				{"messaging_product", "whatsapp"},
			},
		},
		{
			id: PhoneNumberID2, display: "+1 555-078-3882", digits: "15550783882", countryCode: "1",
			verifiedName: "Sandbox Support",
			onboarded:    time.Date(2025, 5, 12, 9, 30, 0, 0, time.UTC),
			profile: object{
				{"about", "We answer within a day."},
				{"address", "2 Sandbox Way, Menlo Park, CA 94025"},
				{"description", "Sandbox Support helps with imaginary orders."},
				{"email", "support@sandbox.example"},
				{"profile_picture_url", "https://sandbox.example/pp/support.jpg"},
				{"websites", []string{"https://support.sandbox.example/", "https://status.sandbox.example/"}},
				{"vertical", "PROF_SERVICES"},
				{"messaging_product", "whatsapp"},
			},
		},
	}
	seed := func(name, lang, category, status, format string, components string) {
		var comps []any
		dec := json.NewDecoder(strings.NewReader(components))
		dec.UseNumber()
		if err := dec.Decode(&comps); err != nil {
			panic("sandbox: bad seed template " + name + ": " + err.Error())
		}
		st.addTemplate(&template{
			name: name, language: lang, category: category, status: status, parameterFormat: format,
			components: comps, created: now, quality: "GREEN",
		})
	}
	seed("hello_world", "en_US", "UTILITY", "APPROVED", "POSITIONAL",
		`[{"type":"BODY","text":"Hello World! Welcome to the WhatsApp sandbox."}]`)
	seed("order_update", "en_US", "UTILITY", "APPROVED", "POSITIONAL",
		`[{"type":"BODY","text":"Hi {{1}}, your order {{2}} has shipped.","example":{"body_text":[["Pablo","#4821"]]}}]`)
	seed("welcome_named", "en_US", "MARKETING", "APPROVED", "NAMED",
		`[{"type":"BODY","text":"Welcome {{first_name}}!","example":{"body_text_named_params":[{"param_name":"first_name","example":"Zoë"}]}}]`)
	seed("spring_sale", "en_US", "MARKETING", "PENDING", "POSITIONAL",
		`[{"type":"HEADER","format":"TEXT","text":"Spring sale"},{"type":"BODY","text":"Everything is 20% off this week."},{"type":"FOOTER","text":"Reply STOP to opt out"}]`)
	for _, t := range st.templates {
		if t.status == "PENDING" {
			t.quality = "UNKNOWN"
		}
	}
	return st
}

// newID returns a fresh numeric Graph-style id.
func (st *state) newID() string {
	st.nextID++
	return strconv.FormatInt(st.nextID, 10)
}

func (st *state) addTemplate(t *template) {
	t.id = st.newID()
	t.seq = st.nextID
	st.templates[t.id] = t
}

func (st *state) phone(id string) *phoneNumber {
	for _, p := range st.phones {
		if p.id == id {
			return p
		}
	}
	return nil
}

// approveDue flips API-created templates from PENDING to APPROVED once the approval delay has
// passed. Doing it lazily on every request keeps the sandbox free of timers and makes the
// transition follow Config.Clock.
func (st *state) approveDue(now time.Time, delay time.Duration) {
	for _, t := range st.templates {
		if t.autoApprove && t.status == "PENDING" && !now.Before(t.created.Add(delay)) {
			t.status = "APPROVED"
			t.quality = "UNKNOWN"
		}
	}
}

// windowOpen reports whether waID wrote to phoneNumberID within the last 24 hours.
func (st *state) windowOpen(phoneNumberID, waID string, now time.Time) bool {
	last, ok := st.windows[phoneNumberID+"|"+waID]
	return ok && now.Sub(last) < windowTTL
}

// phoneObject is every field of the phone-number node, in Graph's order; nil = known but unset.
func phoneObject(p *phoneNumber, webhookURL string) object {
	var webhook any
	if webhookURL != "" {
		webhook = object{{"application", webhookURL}}
	}
	return object{
		{"verified_name", p.verifiedName},
		{"code_verification_status", "VERIFIED"},
		{"display_phone_number", p.display},
		{"quality_rating", "GREEN"},
		{"platform_type", "CLOUD_API"},
		{"throughput", object{{"level", "STANDARD"}}},
		{"last_onboarded_time", p.onboarded.Format("2006-01-02T15:04:05-0700")},
		{"status", "CONNECTED"},
		{"name_status", "APPROVED"},
		{"new_name_status", "NONE"},
		{"account_mode", "LIVE"},
		{"is_official_business_account", false},
		{"is_pin_enabled", false},
		{"is_on_biz_app", false},
		{"is_preverified_number", false},
		{"search_visibility", "VISIBLE"},
		{"quality_score", object{{"score", "GREEN"}}},
		{"messaging_limit_tier", "TIER_250"},
		{"whatsapp_business_manager_messaging_limit", "TIER_2K"},
		{"health_status", object{{"can_send_message", "AVAILABLE"}}},
		{"webhook_configuration", webhook},
		{"conversational_automation", nil},
		{"certificate", nil},
		{"new_certificate", nil},
		{"id", p.id},
	}
}

var phoneDefaultFields = []string{
	"verified_name", "code_verification_status", "display_phone_number", "quality_rating",
	"platform_type", "throughput", "id",
}

func wabaObject() object {
	return object{
		{"id", WABAID},
		{"name", wabaName},
		{"timezone_id", "1"},
		{"message_template_namespace", templateNS},
		{"currency", "USD"},
		{"country", "US"},
		{"account_review_status", "APPROVED"},
		{"business_verification_status", "verified"},
		{"ownership_type", "SELF"},
	}
}

var wabaDefaultFields = []string{"id", "name", "timezone_id", "message_template_namespace"}

var profileDefaultFields = []string{
	"about", "address", "description", "email", "profile_picture_url", "websites", "vertical", "messaging_product",
}

// templateObject is every field of the template node; nil = known but unset.
func templateObject(t *template) object {
	var sub, ttl any
	if t.subCategory != "" {
		sub = t.subCategory
	}
	if t.ttlSeconds != nil {
		ttl = *t.ttlSeconds
	}
	return object{
		{"name", t.name},
		{"parameter_format", t.parameterFormat},
		{"components", t.components},
		{"language", t.language},
		{"status", t.status},
		{"category", t.category},
		{"sub_category", sub},
		{"previous_category", nil},
		{"correct_category", nil},
		{"rejected_reason", "NONE"},
		{"quality_score", object{{"score", t.quality}}},
		{"message_send_ttl_seconds", ttl},
		{"library_template_name", nil},
		{"cta_url_link_tracking_opted_out", false},
		{"id", t.id},
	}
}

var templateDefaultFields = []string{"name", "parameter_format", "components", "language", "status", "category", "sub_category", "id"}

// selectFields applies Graph's "fields" parameter to a node. Unknown fields are an error;
// "id" is always added when the node has one, as Graph does. Sub-field selections
// ("quality_score{score}") are accepted and return the whole sub-object.
func selectFields(all object, defaults []string, param, nodeType string) (object, *apiError) {
	names := defaults
	if strings.TrimSpace(param) != "" {
		names = splitFields(param)
	}
	out := make(object, 0, len(names)+1)
	seen := map[string]bool{}
	for _, n := range names {
		v, ok := all.get(n)
		if !ok {
			return nil, errNoField(n, nodeType)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, kv{n, v})
		}
	}
	if id, ok := all.get("id"); ok && !seen["id"] {
		out = append(out, kv{"id", id})
	}
	return out, nil
}

// splitFields splits "a,b{c,d},e" into [a b e], ignoring sub-selections.
func splitFields(s string) []string {
	var out []string
	depth, start := 0, 0
	flush := func(end int) {
		f := s[start:end]
		if i := strings.IndexByte(f, '{'); i >= 0 {
			f = f[:i]
		}
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				flush(i)
				start = i + 1
			}
		}
	}
	flush(len(s))
	return out
}
