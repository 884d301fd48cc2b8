package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// The conversation store: the statements that write wa_messages and
// wa_changes (run by Save, in its group's transaction) and the reads of the
// inbound trigger, the inbox, the history and the search. The inbox itself
// (wa_conversations) is kept by the database's trigger (schema.go).

// convStmts are the conversation store's statements, built once by
// newSQLStore in the engine's spelling.
type convStmts struct {
	insMessage     string // a message whose customer Go knows (it has a wa_id)
	insMessageBSUI string // a message with only a BSUID: the customer is looked up
	insChange      string

	inboundAll, inboundType, inboundCustomer string // inboundCustomer with {types}
	inboundTypeArm                           string // inboundType's template, for one arm of several types
	conversations                            [2][2]string
	conversation                             string
	resolve                                  string
	lastInbound                              string
	customerOf                               string // the customer a stored message joined
	historyBefore, historyAfter              string
	search                                   [2][2]string // by customer filter, by bucket filter (searchSteps)
	maxSeq                                   string
	markFind, markPoint, markCount, markSet  string
	changes                                  [4]string
	latestChange                             string
}

// convDialect is how an engine spells the conversation store's reads where
// the engines differ: the index a read must keep to, and the full-text
// search. Templates name their bind parameters {name} (sqlStore.bind).
type convDialect struct {
	// After "FROM wa_messages ": the inbound trigger's read from its cursor
	// ({a}) of one number ({p}): every inbound message, one type's ({k}),
	// one customer's ({k}, the {types} filter appended); at most {l}.
	inboundAll, inboundType, inboundCustomer string
	// After "FROM wa_conversations c ", before the join: the inbox below
	// {b}, by latest arrival; the unread ones only.
	inbox, inboxUnread string
	// historyIndex follows "FROM wa_messages " in the history's reads.
	historyIndex string
	// search is the whole SELECT of {cols} (of the message, m.), newest
	// first below {b}, at most {l}, matching {w} (searchArg) for number
	// {p}, with {customer} replaced by searchCustomer, the filter on one
	// customer ({c}), when there is one, and {recent} by searchRecent,
	// the filter on the buckets of Seqs {bk} (searchSteps), when the
	// engine has one ("" where its index yields the newest first).
	search, searchCustomer, searchRecent string
	// searchArg turns a number and the words of a query (searchWords)
	// into the {w} of search.
	searchArg func(phone string, words []string) string
	// changesField, changesSubject follow "FROM wa_changes " for Changes of
	// one field ({f}), of one field and subject ({s}), after {a}; latest
	// is LatestChange's.
	changesField, changesSubject, latestChange string
	// notifySetup runs first in each group's transaction with the store's
	// instance id, so that the trigger announces its messages (pgV3); ""
	// where the engine has no NOTIFY.
	notifySetup string
}

// msgColumns is the SELECT list scanMessages reads, with prefix (an alias
// and a dot, or "") before each column.
func (s *sqlStore) msgColumns(prefix string) string {
	cols := []string{"seq", "phone_number_id", "direction", "message_id", "customer", "wa_id", "user_id",
		"profile_name", "type", "ts", "text", "context_id", "source"}
	for i, c := range cols {
		cols[i] = prefix + c
	}
	raw := s.d.rawColumn
	if prefix != "" {
		raw = prefix + raw
	}
	return strings.Join(cols, ", ") + ", " + raw + ", " + prefix + "received_at"
}

// bind renders a template: each {name} becomes the bind parameter of its
// place in names (the first is 1). Both engines take a parameter named
// more than once (SQLite as ?NNN).
func (s *sqlStore) bind(tmpl string, names ...string) string {
	at := make(map[string]int, len(names))
	for i, n := range names {
		at[n] = i + 1
	}
	return s.bindAt(tmpl, at)
}

// bindAt renders a template: each {name} becomes the bind parameter at[name].
func (s *sqlStore) bindAt(tmpl string, at map[string]int) string {
	pairs := make([]string, 0, 2*len(at))
	for n, i := range at {
		pairs = append(pairs, "{"+n+"}", s.d.param(i))
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// initConversations builds s.conv and returns the statements to prepare.
func (s *sqlStore) initConversations() (writes, reads []string) {
	d, c := s.d, &s.conv
	msgCols := s.msgColumns("")
	insert := `INSERT INTO wa_messages (phone_number_id, direction, message_id, customer, wa_id, user_id, profile_name,
			type, ts, text, context_id, source, raw, received_at)
		VALUES ({p}, {dir}, {id}, %s, {wa}, {user}, {name}, {type}, {ts}, {text}, {ctx}, {src}, ` + d.rawParam(13) + `, {recv})
		ON CONFLICT (message_id) DO NOTHING`
	names := []string{"p", "dir", "id", "cust", "wa", "user", "name", "type", "ts", "text", "ctx", "src", "raw", "recv"}
	c.insMessage = s.bind(fmt.Sprintf(insert, "{cust}"), names...)
	// A message with only a BSUID joins the conversation that BSUID
	// already has, one keyed by a wa_id first (docs/cloud-api.md#bsuid).
	c.insMessageBSUI = s.bind(fmt.Sprintf(insert, `COALESCE((SELECT customer FROM wa_conversations
			WHERE phone_number_id = {p} AND user_id = {user} ORDER BY wa_id = '', last_seq DESC LIMIT 1), {cust})`), names...)
	c.insChange = s.bind(`INSERT INTO wa_changes (waba_id, field, subject, key, raw, received_at)
		VALUES ({waba}, {f}, {s}, {k}, `+d.rawParam(5)+`, {recv}) ON CONFLICT (key) DO NOTHING`,
		"waba", "f", "s", "k", "raw", "recv")

	from := `SELECT ` + msgCols + ` FROM wa_messages `
	c.inboundAll = s.bind(from+d.conv.inboundAll, "p", "a", "l")
	c.inboundType = s.bind(from+d.conv.inboundType, "p", "k", "a", "l")
	c.inboundTypeArm = from + d.conv.inboundType
	c.inboundCustomer = s.bind(from+d.conv.inboundCustomer, "p", "k", "a", "l")

	convCols := `c.phone_number_id, c.customer, c.wa_id, c.user_id, c.profile_name, c.last_seq, c.unread, c.last_inbound_at, ` +
		s.msgColumns("m.")
	join := ` JOIN wa_messages m ON m.seq = c.last_msg_seq `
	for unread, where := range []string{d.conv.inbox, d.conv.inboxUnread} {
		for open, cond := range []string{"", ` AND c.last_inbound_at >= {since}`} {
			q := strings.Replace(where, "{open}", cond, 1)
			c.conversations[unread][open] = s.bind(`SELECT `+convCols+` FROM wa_conversations c `+
				strings.Replace(q, "{join}", join, 1), "p", "b", "l", "since")
		}
	}
	c.conversation = s.bind(`SELECT `+convCols+` FROM wa_conversations c`+join+
		`WHERE c.phone_number_id = {p} AND c.customer = {c}`, "p", "c")
	c.resolve = s.bind(`SELECT customer FROM wa_conversations
		WHERE phone_number_id = {p} AND (customer = {c} OR user_id = {c}) ORDER BY wa_id = '', last_seq DESC LIMIT 1`, "p", "c")
	c.lastInbound = s.bind(`SELECT last_inbound_at FROM wa_conversations WHERE phone_number_id = {p} AND customer = {c}`, "p", "c")
	c.customerOf = s.bind(`SELECT customer FROM wa_messages WHERE message_id = {id}`, "id")

	hist := from + d.conv.historyIndex + `WHERE phone_number_id = {p} AND customer = {c} AND (ts, seq) %s ({t}, {s}) ORDER BY ts %s, seq %s LIMIT {l}`
	c.historyBefore = s.bind(fmt.Sprintf(hist, "<", "DESC", "DESC"), "p", "c", "t", "s", "l")
	c.historyAfter = s.bind(fmt.Sprintf(hist, ">", "ASC", "ASC"), "p", "c", "t", "s", "l")

	searchCols := s.msgColumns("m.")
	for i, cust := range []string{"", d.conv.searchCustomer} {
		for j, recent := range []string{"", d.conv.searchRecent} {
			names := []string{"w", "p", "b", "l"} // each variant binds only what it reads
			if recent != "" {
				names = append(names, "bk")
			}
			if cust != "" {
				names = append(names, "c")
			}
			q := strings.NewReplacer("{cols}", searchCols, "{customer}", cust, "{recent}", recent).Replace(d.conv.search)
			c.search[i][j] = s.bind(q, names...)
		}
	}
	c.maxSeq = `SELECT COALESCE(MAX(seq), 0) FROM wa_messages`

	c.markFind = s.bind(`SELECT customer, ts, seq FROM wa_messages
		WHERE message_id = {id} AND phone_number_id = {p} AND direction = 'in'`, "id", "p")
	c.markPoint = s.bind(`SELECT read_ts, read_seq FROM wa_conversations WHERE phone_number_id = {p} AND customer = {c}`, "p", "c")
	c.markCount = s.bind(`SELECT count(*) FROM wa_messages `+d.conv.historyIndex+
		`WHERE phone_number_id = {p} AND customer = {c} AND (ts, seq) > ({t}, {s}) AND direction = 'in'`, "p", "c", "t", "s")
	c.markSet = s.bind(`UPDATE wa_conversations SET read_ts = {t}, read_seq = {s}, unread = {n}
		WHERE phone_number_id = {p} AND customer = {c}`, "p", "c", "t", "s", "n")

	chFrom := `SELECT seq, waba_id, field, subject, key, ` + d.rawColumn + `, received_at FROM wa_changes `
	// Each binds only what it reads (PostgreSQL cannot type a parameter
	// no statement uses): changesQuery passes the same.
	c.changes = [4]string{
		changeNone:    s.bind(chFrom+`WHERE seq > {a} ORDER BY seq LIMIT {l}`, "a", "l"),
		changeField:   s.bind(chFrom+d.conv.changesField, "f", "a", "l"),
		changeSubject: s.bind(chFrom+`WHERE subject = {s} AND seq > {a} ORDER BY seq LIMIT {l}`, "s", "a", "l"),
		changeBoth:    s.bind(chFrom+d.conv.changesSubject, "f", "s", "a", "l"),
	}
	c.latestChange = s.bind(chFrom+d.conv.latestChange, "f", "s")

	writes = []string{c.insMessage, c.insMessageBSUI, c.insChange}
	reads = []string{c.inboundAll, c.inboundType, strings.Replace(c.inboundCustomer, "{types}", "", 1), c.conversation, c.resolve, c.lastInbound,
		c.historyBefore, c.historyAfter, c.changes[0], c.changes[1], c.changes[2], c.changes[3], c.latestChange, c.maxSeq}
	for _, row := range c.search {
		reads = append(reads, row[:]...)
	}
	for _, row := range c.conversations {
		reads = append(reads, row[:]...)
	}
	return writes, reads
}

// The filters of a ChangeQuery, one SELECT each.
const (
	changeNone = iota
	changeField
	changeSubject
	changeBoth
)

// customerKey is how a customer is named in the store: a BSUID as given (it
// has letters: "US.13491208655302741918"), else the digits of a wa_id, so
// "+1 (650) 555-1234" is "16505551234".
func customerKey(s string) string {
	s = strings.TrimSpace(s)
	if isBSUID(s) {
		return s
	}
	return digits(s)
}

func isBSUID(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x80 && unicode.IsLetter(r) })
}

// messageStmt is the insert of one message, either direction.
func (s *sqlStore) messageStmt(phone, dir, id, waID, userID, name, typ string, ts int64, text, contextID, source string,
	raw []byte, recv time.Time) stmt {
	q, cust := s.conv.insMessage, waID
	if waID == "" && userID != "" {
		q, cust = s.conv.insMessageBSUI, userID
	}
	return stmt{q, []any{phone, dir, id, cust, waID, userID, name, typ, ts, text, contextID, source,
		rawOrNil(raw), s.d.timeArg(recv)}}
}

func (s *sqlStore) inboundStmt(m InboundMessage, now time.Time) stmt {
	return s.messageStmt(m.PhoneNumberID, DirectionIn, m.MessageID, digits(m.From), m.UserID, m.ProfileName, m.Type,
		m.Timestamp, m.Text, m.ContextID, "", m.Raw, receivedAt(m.ReceivedAt, now))
}

// outboundStmt: an outbound message without a time was sent now; without a
// source, by this server.
func (s *sqlStore) outboundStmt(m OutboundMessage, now time.Time) stmt {
	ts, src := m.Timestamp, m.Source
	if ts == 0 {
		ts = now.Unix()
	}
	if src == "" {
		src = SourceAPI
	}
	return s.messageStmt(m.PhoneNumberID, DirectionOut, m.MessageID, digits(m.To), m.UserID, "", m.Type,
		ts, m.Text, m.ContextID, src, m.Raw, receivedAt(m.ReceivedAt, now))
}

// changeStmt: a change without a key is keyed by what it is, so that a
// redelivery of it is still a duplicate.
func (s *sqlStore) changeStmt(c Change, now time.Time) stmt {
	key := c.Key
	if key == "" {
		h := sha256.New()
		h.Write([]byte(c.WABAID + "\x00" + c.Field + "\x00"))
		h.Write(c.Raw)
		key = "sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	return stmt{s.conv.insChange, []any{c.WABAID, c.Field, c.Subject, key, rawOrNil(c.Raw),
		s.d.timeArg(receivedAt(c.ReceivedAt, now))}}
}

// resolveCustomer turns a customer as a caller names it into the key of its
// conversation: a BSUID names the conversation it joined (one keyed by the
// customer's wa_id, when a message carried both), or itself.
func (s *sqlStore) resolveCustomer(ctx context.Context, phone, customer string) (string, error) {
	key := customerKey(customer)
	if !isBSUID(key) {
		return key, nil
	}
	var found string
	ok, err := s.queryRow(ctx, s.conv.resolve, []any{phone, key}, &found)
	if err != nil || !ok {
		return key, err
	}
	return found, nil
}

// Inbound reads with a single statement, hence a single snapshot, as
// Statuses does; and the Seqs of wa_messages are assigned under the same
// save lock as the statuses', in the same transactions.
func (s *sqlStore) Inbound(ctx context.Context, q InboundQuery) ([]Message, int64, error) {
	query, args, err := s.inboundQuery(ctx, q)
	if err != nil {
		return nil, q.After, fmt.Errorf("store: inbound: %w", err)
	}
	msgs, err := s.queryMessages(ctx, query, args)
	if err != nil {
		return nil, q.After, fmt.Errorf("store: inbound: %w", err)
	}
	next := q.After
	if len(msgs) > 0 {
		next = msgs[len(msgs)-1].Seq
	}
	return msgs, next, nil
}

// inboundQuery is the SELECT of q's filters. Types without a customer read
// one range per type (of wa_messages_in_type), each at most the limit,
// merged: an IN list over one index would read every later message of the
// types before sorting them.
func (s *sqlStore) inboundQuery(ctx context.Context, q InboundQuery) (string, []any, error) {
	limit := clampLimit(q.Limit)
	types := uniqueIDs(q.Types)
	slices.Sort(types)
	if q.Customer != "" {
		cust, err := s.resolveCustomer(ctx, q.PhoneNumberID, q.Customer)
		if err != nil {
			return "", nil, err
		}
		args := []any{q.PhoneNumberID, cust, q.After, limit}
		filter := ""
		if len(types) > 0 {
			ps := make([]string, len(types))
			for i, t := range types {
				ps[i] = s.d.param(len(args) + 1)
				args = append(args, t)
			}
			filter = " AND type IN (" + strings.Join(ps, ", ") + ")"
		}
		return strings.Replace(s.conv.inboundCustomer, "{types}", filter, 1), args, nil
	}
	switch len(types) {
	case 0:
		return s.conv.inboundAll, []any{q.PhoneNumberID, q.After, limit}, nil
	case 1:
		return s.conv.inboundType, []any{q.PhoneNumberID, types[0], q.After, limit}, nil
	}
	// Each arm has its own type parameter; the number, the cursor and the
	// limit are shared (parameters 1 to 3).
	args := []any{q.PhoneNumberID, q.After, limit}
	arms := make([]string, len(types))
	for i, t := range types {
		arm := s.bindAt(s.conv.inboundTypeArm, map[string]int{"p": 1, "a": 2, "l": 3, "k": len(args) + 1})
		arms[i] = fmt.Sprintf(`SELECT * FROM (%s) AS t%d`, arm, i)
		args = append(args, t)
	}
	return strings.Join(arms, " UNION ALL ") + ` ORDER BY seq LIMIT ` + s.d.param(3), args, nil
}

func (s *sqlStore) Conversations(ctx context.Context, q ConversationQuery) ([]Conversation, error) {
	query, args := s.conversationsQuery(q)
	convs, err := s.queryConversations(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("store: conversations: %w", err)
	}
	return convs, nil
}

func (s *sqlStore) conversationsQuery(q ConversationQuery) (string, []any) {
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	unread, open := 0, 0
	if q.UnreadOnly {
		unread = 1
	}
	args := []any{q.PhoneNumberID, before, clampLimit(q.Limit)}
	if !q.OpenSince.IsZero() {
		open = 1
		args = append(args, s.d.timeArg(q.OpenSince.UTC()))
	}
	return s.conv.conversations[unread][open], args
}

func (s *sqlStore) Conversation(ctx context.Context, phoneNumberID, customer string) (Conversation, bool, error) {
	cust, err := s.resolveCustomer(ctx, phoneNumberID, customer)
	if err != nil {
		return Conversation{}, false, fmt.Errorf("store: conversation: %w", err)
	}
	convs, err := s.queryConversations(ctx, s.conv.conversation, []any{phoneNumberID, cust})
	if err != nil {
		return Conversation{}, false, fmt.Errorf("store: conversation: %w", err)
	}
	if len(convs) == 0 {
		return Conversation{}, false, nil
	}
	return convs[0], true, nil
}

func (s *sqlStore) Messages(ctx context.Context, q HistoryQuery) ([]Message, error) {
	query, args, err := s.messagesQuery(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: messages: %w", err)
	}
	msgs, err := s.queryMessages(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("store: messages: %w", err)
	}
	return msgs, nil
}

func (s *sqlStore) messagesQuery(ctx context.Context, q HistoryQuery) (string, []any, error) {
	cust, err := s.resolveCustomer(ctx, q.PhoneNumberID, q.Customer)
	if err != nil {
		return "", nil, err
	}
	limit := clampLimit(q.Limit)
	if !q.After.IsZero() {
		return s.conv.historyAfter, []any{q.PhoneNumberID, cust, q.After.Timestamp, q.After.Seq, limit}, nil
	}
	p := q.Before
	if p.IsZero() {
		p = Position{math.MaxInt64, math.MaxInt64}
	}
	return s.conv.historyBefore, []any{q.PhoneNumberID, cust, p.Timestamp, p.Seq, limit}, nil
}

// maxSearchWords bounds the words of a search: each is a prefix lookup.
const maxSearchWords = 16

// searchWords splits what a user typed into the words a search matches:
// runs of letters, digits and marks; everything else (punctuation, and any
// engine's query syntax) only separates them. Repeated words count once.
func searchWords(q string) []string {
	words := strings.FieldsFunc(q, func(r rune) bool {
		return !unicode.In(r, unicode.L, unicode.N, unicode.M)
	})
	var out []string
	for _, w := range words {
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.In(r, unicode.L, unicode.N) }) {
			continue // marks alone
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
		if len(out) == maxSearchWords {
			break
		}
	}
	return out
}

// Search finds nothing for a query without words; a query is never passed
// to the engine as it was typed, only its words (searchWords), each quoted
// by the dialect's searchArg.
func (s *sqlStore) Search(ctx context.Context, q SearchQuery) ([]Message, error) {
	steps, err := s.searchSteps(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	limit := clampLimit(q.Limit)
	var out []Message
	for _, st := range steps {
		msgs, err := s.queryMessages(ctx, st.query, st.args)
		if err != nil {
			return nil, fmt.Errorf("store: search: %w", err)
		}
		out = append(out, msgs[:min(len(msgs), limit-len(out))]...)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// searchSteps are the reads of a search, run in order until one fills the
// page. An engine whose index yields its matches newest first (SQLite's
// FTS5) needs one. PostgreSQL's GIN index yields them unordered, so that
// one read would fetch every match before keeping the newest: a common
// word's tens of thousands. Its first read asks the index only for the
// matches in the two newest buckets of Seqs below the cursor (at least
// 4096 messages), which a word common enough to fill the page has; the
// second, run only when the first came back short, asks for every match
// below those buckets, which a word that rare has few of.
func (s *sqlStore) searchSteps(ctx context.Context, q SearchQuery) ([]stmt, error) {
	words := searchWords(q.Query)
	if len(words) == 0 {
		return nil, nil
	}
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	args := []any{s.d.conv.searchArg(q.PhoneNumberID, words), q.PhoneNumberID, before, clampLimit(q.Limit)}
	cust := 0
	var custArg []any
	if q.Customer != "" {
		c, err := s.resolveCustomer(ctx, q.PhoneNumberID, q.Customer)
		if err != nil {
			return nil, err
		}
		cust, custArg = 1, []any{c}
	}
	all := stmt{s.conv.search[cust][0], append(args, custArg...)}
	if s.d.conv.searchRecent == "" {
		return []stmt{all}, nil
	}
	hi := before
	if hi == math.MaxInt64 {
		var max int64
		if _, err := s.queryRow(ctx, s.conv.maxSeq, nil, &max); err != nil {
			return nil, err
		}
		hi = max + 1
	}
	top := (hi - 1) >> searchBucketBits
	if top < 1 {
		return []stmt{all}, nil // the two buckets would hold every Seq
	}
	buckets := fmt.Sprintf("'@%d' | '@%d'", top, top-1)
	recent := stmt{s.conv.search[cust][1], append(append(slices.Clone(args), buckets), custArg...)}
	older := slices.Clone(all.args)
	older[2] = (top - 1) << searchBucketBits // below the buckets the first step read
	return []stmt{recent, {all.query, older}}, nil
}

// MarkRead moves the conversation's read point forward only (marking an
// older message read again changes nothing) and counts what is unread after
// it, in one write transaction: on PostgreSQL under the save lock, so that no
// Save's trigger counts an inbound message between the count and the update.
func (s *sqlStore) MarkRead(ctx context.Context, phoneNumberID, messageID string) (Conversation, bool, error) {
	cust, found, err := s.markRead(ctx, phoneNumberID, messageID)
	if err != nil || !found {
		return Conversation{}, false, err
	}
	c, ok, err := s.Conversation(ctx, phoneNumberID, cust)
	if err != nil {
		return Conversation{}, false, fmt.Errorf("store: mark read: %w", err)
	}
	return c, ok, nil
}

func (s *sqlStore) markRead(ctx context.Context, phone, messageID string) (customer string, found bool, err error) {
	tx, err := s.eng.begin(ctx)
	if err != nil {
		return "", false, fmt.Errorf("store: mark read: %w", err)
	}
	defer tx.rollback(ctx)
	if l, ok := s.eng.lock("save"); ok {
		if err := tx.exec(ctx, l.query, l.args...); err != nil {
			return "", false, fmt.Errorf("store: mark read: lock: %w", err)
		}
	}
	var msg, point Position
	if found, err = txQueryRow(ctx, tx, s.conv.markFind, []any{messageID, phone}, &customer, &msg.Timestamp, &msg.Seq); err != nil || !found {
		return "", false, wrapErr("store: mark read", err)
	}
	if found, err = txQueryRow(ctx, tx, s.conv.markPoint, []any{phone, customer}, &point.Timestamp, &point.Seq); err != nil || !found {
		// A message always has its conversation (the trigger made it).
		return "", false, wrapErr("store: mark read", cmpErr(err, errors.New("the conversation is missing")))
	}
	if after(msg, point) {
		point = msg
	}
	var unread int64
	if _, err := txQueryRow(ctx, tx, s.conv.markCount, []any{phone, customer, point.Timestamp, point.Seq}, &unread); err != nil {
		return "", false, fmt.Errorf("store: mark read: %w", err)
	}
	if err := tx.exec(ctx, s.conv.markSet, phone, customer, point.Timestamp, point.Seq, unread); err != nil {
		return "", false, fmt.Errorf("store: mark read: %w", err)
	}
	if err := tx.commit(ctx); err != nil {
		return "", false, fmt.Errorf("store: mark read: commit: %w", err)
	}
	return customer, true, nil
}

// after says whether a comes after b in a conversation's order.
func after(a, b Position) bool {
	return a.Timestamp > b.Timestamp || (a.Timestamp == b.Timestamp && a.Seq > b.Seq)
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// cmpErr is err, or alt when err is nil.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// txQueryRow runs a SELECT of at most one row in tx; found is false when
// there is none.
func txQueryRow(ctx context.Context, tx tx, query string, args []any, dest ...any) (found bool, err error) {
	r, err := tx.query(ctx, query, args)
	if err != nil {
		return false, err
	}
	defer r.Close()
	if !r.Next() {
		return false, r.Err()
	}
	if err := r.Scan(dest...); err != nil {
		return false, err
	}
	return true, r.Err()
}

func (s *sqlStore) Changes(ctx context.Context, q ChangeQuery) ([]Change, error) {
	query, args := s.changesQuery(q)
	changes, err := s.queryChanges(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("store: changes: %w", err)
	}
	return changes, nil
}

// changesQuery: a subject without a field (rare: subjects are ids of one
// field's kind) walks the Seq order filtering on it.
func (s *sqlStore) changesQuery(q ChangeQuery) (string, []any) {
	limit := clampLimit(q.Limit)
	switch {
	case q.Field != "" && q.Subject != "":
		return s.conv.changes[changeBoth], []any{q.Field, q.Subject, q.After, limit}
	case q.Field != "":
		return s.conv.changes[changeField], []any{q.Field, q.After, limit}
	case q.Subject != "":
		return s.conv.changes[changeSubject], []any{q.Subject, q.After, limit}
	}
	return s.conv.changes[changeNone], []any{q.After, limit}
}

func (s *sqlStore) LatestChange(ctx context.Context, field, subject string) (Change, bool, error) {
	changes, err := s.queryChanges(ctx, s.conv.latestChange, []any{field, subject})
	if err != nil {
		return Change{}, false, fmt.Errorf("store: latest change: %w", err)
	}
	if len(changes) == 0 {
		return Change{}, false, nil
	}
	return changes[0], true, nil
}

// queryMessages runs a SELECT of msgColumns and scans every row.
func (s *sqlStore) queryMessages(ctx context.Context, query string, args []any) ([]Message, error) {
	r, err := s.eng.query(ctx, query, args)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var msgs []Message
	for r.Next() {
		var ms messageScan
		if err := r.Scan(ms.dest()...); err != nil {
			return nil, err
		}
		msgs = append(msgs, ms.message())
	}
	return msgs, r.Err()
}

// messageScan receives a row of msgColumns: raw and received_at through
// scanners of both engines' values.
type messageScan struct {
	m    Message
	raw  *string
	recv storedTime
}

func (ms *messageScan) dest() []any {
	m := &ms.m
	return []any{&m.Seq, &m.PhoneNumberID, &m.Direction, &m.MessageID, &m.Customer, &m.WaID, &m.UserID, &m.ProfileName,
		&m.Type, &m.Timestamp, &m.Text, &m.ContextID, &m.Source, &ms.raw, &ms.recv}
}

func (ms *messageScan) message() Message {
	m := ms.m
	if ms.raw != nil {
		m.Raw = []byte(*ms.raw)
	}
	m.ReceivedAt = ms.recv.t
	return m
}

// queryConversations runs a SELECT of the conversation columns (and the
// last message's) and scans every row.
func (s *sqlStore) queryConversations(ctx context.Context, query string, args []any) ([]Conversation, error) {
	r, err := s.eng.query(ctx, query, args)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var convs []Conversation
	for r.Next() {
		var (
			c      Conversation
			unread int64
			in     nullTime
			last   messageScan
		)
		dest := append([]any{&c.PhoneNumberID, &c.Customer, &c.WaID, &c.UserID, &c.ProfileName, &c.LastSeq, &unread, &in},
			last.dest()...)
		if err := r.Scan(dest...); err != nil {
			return nil, err
		}
		c.Last = last.message()
		c.Unread = int(unread)
		c.LastInboundAt = in.t
		convs = append(convs, c)
	}
	return convs, r.Err()
}

func (s *sqlStore) queryChanges(ctx context.Context, query string, args []any) ([]Change, error) {
	r, err := s.eng.query(ctx, query, args)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Change
	for r.Next() {
		var (
			c    Change
			raw  *string
			recv storedTime
		)
		if err := r.Scan(&c.Seq, &c.WABAID, &c.Field, &c.Subject, &c.Key, &raw, &recv); err != nil {
			return nil, err
		}
		if raw != nil {
			c.Raw = []byte(*raw)
		}
		c.ReceivedAt = recv.t
		out = append(out, c)
	}
	return out, r.Err()
}

// nullTime scans a nullable time column of either engine; NULL is the zero
// time.
type nullTime struct{ t time.Time }

func (nt *nullTime) Scan(src any) error {
	if src == nil {
		nt.t = time.Time{}
		return nil
	}
	var st storedTime
	if err := st.Scan(src); err != nil {
		return err
	}
	nt.t = st.t
	return nil
}

// ExplainRead returns the plans the database chooses for the read that q
// (an InboundQuery, ConversationQuery, HistoryQuery, SearchQuery or
// ChangeQuery) runs, each labelled as ExplainStatuses does. For tests and
// diagnosis: it is not part of Store.
func (s *sqlStore) ExplainRead(ctx context.Context, q any) ([]string, error) {
	var (
		query string
		args  []any
		err   error
	)
	switch q := q.(type) {
	case InboundQuery:
		query, args, err = s.inboundQuery(ctx, q)
	case ConversationQuery:
		query, args = s.conversationsQuery(q)
	case HistoryQuery:
		query, args, err = s.messagesQuery(ctx, q)
	case SearchQuery:
		steps, err := s.searchSteps(ctx, q)
		if err != nil || len(steps) == 0 {
			return nil, fmt.Errorf("store: explain: no search (%v)", err)
		}
		var plans []string
		for _, st := range steps {
			p, err := s.explain(ctx, st.query, st.args)
			if err != nil {
				return nil, err
			}
			plans = append(plans, p...)
		}
		return plans, nil
	case ChangeQuery:
		query, args = s.changesQuery(q)
	default:
		return nil, fmt.Errorf("store: explain: no read of %T", q)
	}
	if err == nil && query == "" {
		err = errors.New("no statement for this query")
	}
	if err != nil {
		return nil, fmt.Errorf("store: explain: %w", err)
	}
	return s.explain(ctx, query, args)
}

// ExplainMarkRead returns the plans of MarkRead's reads for messageID: the
// message's lookup and the unread count after it. For tests and diagnosis.
func (s *sqlStore) ExplainMarkRead(ctx context.Context, phoneNumberID, messageID string) ([]string, error) {
	var (
		cust string
		p    Position
	)
	if _, err := s.queryRow(ctx, s.conv.markFind, []any{messageID, phoneNumberID}, &cust, &p.Timestamp, &p.Seq); err != nil {
		return nil, fmt.Errorf("store: explain: %w", err)
	}
	find, err := s.explain(ctx, s.conv.markFind, []any{messageID, phoneNumberID})
	if err != nil {
		return nil, err
	}
	count, err := s.explain(ctx, s.conv.markCount, []any{phoneNumberID, cust, p.Timestamp, p.Seq})
	if err != nil {
		return nil, err
	}
	return append(find, count...), nil
}

func (s *sqlStore) explain(ctx context.Context, query string, args []any) ([]string, error) {
	plans, err := s.eng.explain(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("store: explain: %w", err)
	}
	return plans, nil
}
