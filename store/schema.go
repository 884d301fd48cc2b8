package store

import (
	"strconv"
	"strings"
)

// schemaV3 is the engine-neutral part of migration 3, the conversation
// store, in an engine's types: both directions of every conversation in
// wa_messages (one Seq order), the inbox in wa_conversations (kept by the
// engine's trigger on wa_messages, see sqliteV3 and pgV3), and every other
// webhook change in wa_changes. It must produce what it always has: databases
// migrated with it exist.
//
// Each read has an index of its own shape, so that none reads much more
// than the page it returns:
//
//   - wa_messages_in, _in_type, _in_customer: the inbound trigger (Inbound)
//     from its cursor, without a filter, per type, per customer; partial
//     (inbound rows only), since the trigger never reads outbound ones.
//   - wa_messages_conversation: one conversation in (ts, seq) order (Messages),
//     its unread count after a read point (MarkRead), its last message (Prune).
//   - wa_messages_received, wa_status_events_received, wa_changes_received:
//     Prune's cut by arrival.
//   - wa_conversations_inbox (and _unread, the inbox of unread conversations
//     only): the inbox by latest arrival; wa_conversations_user: a message
//     that carries only a BSUID finds its customer's conversation.
//   - wa_changes_field, wa_changes_subject: Changes and LatestChange.
func schemaV3(c columnTypes) []string {
	r := strings.NewReplacer("{seq}", c.seq, "{text}", c.text, "{int}", c.int, "{raw}", c.raw, "{time}", c.time)
	stmts := []string{
		`CREATE TABLE wa_messages (
			seq             {seq},
			phone_number_id {text} NOT NULL,
			direction       {text} NOT NULL CHECK (direction IN ('in', 'out')),
			message_id      {text} NOT NULL,
			customer        {text} NOT NULL,
			wa_id           {text} NOT NULL,
			user_id         {text} NOT NULL,
			profile_name    {text} NOT NULL,
			type            {text} NOT NULL,
			ts              {int} NOT NULL,
			text            {text} NOT NULL,
			context_id      {text} NOT NULL,
			source          {text} NOT NULL,
			raw             {raw},
			received_at     {time} NOT NULL
		)`,
		`CREATE UNIQUE INDEX wa_messages_dedup ON wa_messages (message_id)`,
		`CREATE INDEX wa_messages_in ON wa_messages (phone_number_id, seq) WHERE direction = 'in'`,
		`CREATE INDEX wa_messages_in_type ON wa_messages (phone_number_id, type, seq) WHERE direction = 'in'`,
		`CREATE INDEX wa_messages_in_customer ON wa_messages (phone_number_id, customer, seq) WHERE direction = 'in'`,
		`CREATE INDEX wa_messages_conversation ON wa_messages (phone_number_id, customer, ts, seq)`,
		`CREATE INDEX wa_messages_received ON wa_messages (received_at)`,
		// last_msg_seq and last_msg_ts: the latest message by (ts, seq),
		// which the inbox shows (joined by seq); last_seq: the highest Seq,
		// which orders the inbox. read_ts and read_seq: the read point
		// (MarkRead); unread counts the inbound messages after it.
		// last_inbound_at: the latest window-opening inbound message's time
		// (WindowOpener), NULL while there is none.
		`CREATE TABLE wa_conversations (
			phone_number_id {text} NOT NULL,
			customer        {text} NOT NULL,
			wa_id           {text} NOT NULL,
			user_id         {text} NOT NULL,
			profile_name    {text} NOT NULL,
			last_seq        {int} NOT NULL,
			last_msg_seq    {int} NOT NULL,
			last_msg_ts     {int} NOT NULL,
			unread          {int} NOT NULL,
			read_ts         {int} NOT NULL,
			read_seq        {int} NOT NULL,
			last_inbound_at {time},
			PRIMARY KEY (phone_number_id, customer)
		)`,
		`CREATE INDEX wa_conversations_inbox ON wa_conversations (phone_number_id, last_seq)`,
		`CREATE INDEX wa_conversations_unread ON wa_conversations (phone_number_id, last_seq) WHERE unread > 0`,
		`CREATE INDEX wa_conversations_user ON wa_conversations (phone_number_id, user_id)`,
		`CREATE TABLE wa_changes (
			seq         {seq},
			waba_id     {text} NOT NULL,
			field       {text} NOT NULL,
			subject     {text} NOT NULL,
			key         {text} NOT NULL,
			raw         {raw},
			received_at {time} NOT NULL
		)`,
		`CREATE UNIQUE INDEX wa_changes_dedup ON wa_changes (key)`,
		`CREATE INDEX wa_changes_field ON wa_changes (field, seq)`,
		`CREATE INDEX wa_changes_subject ON wa_changes (field, subject, seq)`,
		`CREATE INDEX wa_changes_received ON wa_changes (received_at)`,
		`CREATE INDEX wa_status_events_received ON wa_status_events (received_at)`,
	}
	for i, q := range stmts {
		stmts[i] = r.Replace(q)
	}
	return stmts
}

// notOpening lists, in SQL, the inbound types that do not open the
// customer service window: WindowOpener's exceptions, for the triggers.
const notOpening = `('reaction', 'system', 'request_welcome')`

// sqliteV3 is SQLite's part of migration 3: the inbox trigger, the
// full-text index, and the copy of wa_inbound_messages into wa_messages.
//
// The inbox trigger is an upsert that only an inserted row fires: Save's
// INSERT … ON CONFLICT DO NOTHING of a duplicate fires nothing, so a
// redelivery counts nothing twice; and it runs in Save's transaction, so
// the inbox commits (or not) with the messages. Every right-hand side of
// the DO UPDATE reads the row as it was.
//
// The full-text index (FTS5, external content: the text lives once, in
// wa_messages) holds the business number too, so that a search of one
// number intersects its posting list with the words' instead of filtering
// every match of the words. unicode61 with remove_diacritics 2 folds case
// and Latin accents ("cafe" finds "Café").
func sqliteV3() []string {
	stmts := []string{
		`CREATE TRIGGER wa_messages_conversation AFTER INSERT ON wa_messages BEGIN
			INSERT INTO wa_conversations (phone_number_id, customer, wa_id, user_id, profile_name,
				last_seq, last_msg_seq, last_msg_ts, unread, read_ts, read_seq, last_inbound_at)
			VALUES (NEW.phone_number_id, NEW.customer, NEW.wa_id, NEW.user_id, NEW.profile_name,
				NEW.seq, NEW.seq, NEW.ts, NEW.direction = 'in', 0, 0,
				CASE WHEN NEW.direction = 'in' AND NEW.type NOT IN ` + notOpening + `
					THEN CASE WHEN NEW.ts > 0 THEN NEW.ts * 1000000000 ELSE NEW.received_at END END)
			ON CONFLICT (phone_number_id, customer) DO UPDATE SET
				wa_id = CASE WHEN NEW.wa_id <> '' THEN NEW.wa_id ELSE wa_id END,
				user_id = CASE WHEN NEW.user_id <> '' THEN NEW.user_id ELSE user_id END,
				profile_name = CASE WHEN NEW.profile_name <> '' THEN NEW.profile_name ELSE profile_name END,
				last_seq = max(last_seq, NEW.seq),
				last_msg_seq = CASE WHEN (NEW.ts, NEW.seq) > (last_msg_ts, last_msg_seq) THEN NEW.seq ELSE last_msg_seq END,
				last_msg_ts = max(last_msg_ts, NEW.ts),
				unread = unread + (NEW.direction = 'in' AND (NEW.ts, NEW.seq) > (read_ts, read_seq)),
				last_inbound_at = CASE
					WHEN excluded.last_inbound_at IS NULL THEN last_inbound_at
					WHEN last_inbound_at IS NULL THEN excluded.last_inbound_at
					ELSE max(last_inbound_at, excluded.last_inbound_at) END;
		END`,
		`CREATE VIRTUAL TABLE wa_messages_fts USING fts5(phone_number_id, text,
			content = 'wa_messages', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2')`,
		// Every row, also one without text: FTS5's invariant (its
		// integrity check, a 'rebuild') is that the index holds exactly
		// what the content table does.
		`CREATE TRIGGER wa_messages_fts_insert AFTER INSERT ON wa_messages BEGIN
			INSERT INTO wa_messages_fts (rowid, phone_number_id, text) VALUES (NEW.seq, NEW.phone_number_id, NEW.text);
		END`,
		`CREATE TRIGGER wa_messages_fts_delete AFTER DELETE ON wa_messages BEGIN
			INSERT INTO wa_messages_fts (wa_messages_fts, rowid, phone_number_id, text)
			VALUES ('delete', OLD.seq, OLD.phone_number_id, OLD.text);
		END`,
		`CREATE TRIGGER wa_messages_fts_update AFTER UPDATE OF phone_number_id, text ON wa_messages BEGIN
			INSERT INTO wa_messages_fts (wa_messages_fts, rowid, phone_number_id, text)
			VALUES ('delete', OLD.seq, OLD.phone_number_id, OLD.text);
			INSERT INTO wa_messages_fts (rowid, phone_number_id, text) VALUES (NEW.seq, NEW.phone_number_id, NEW.text);
		END`,
	}
	j := func(path string) string { return `json_extract(raw, '$.` + path + `')` }
	return append(stmts, copyInbound(j, `CASE WHEN json_valid(raw) THEN %s ELSE '' END`), `DROP TABLE wa_inbound_messages`)
}

// copyInbound is the INSERT … SELECT that moves the rows of
// wa_inbound_messages (migrations 1 and 2) into wa_messages, in their
// arrival order, with the searchable text and the ids the parser now
// extracts read from the raw JSON where it can be (field reads it, guard
// wraps an expression to return ” where raw is no JSON). The inbox
// trigger builds their conversations as they go in.
//
// wa_inbound_messages is then dropped: its rows live on in wa_messages, and
// a table no code reads would only mislead (an older binary started on the
// migrated database fails its first Save instead of writing where nothing
// reads).
func copyInbound(field func(path string) string, guard string) string {
	first := func(paths ...string) string {
		var parts []string
		for _, p := range paths {
			parts = append(parts, field(p))
		}
		return `COALESCE(` + strings.Join(parts, ", ") + `, '')`
	}
	location := `NULLIF(TRIM(COALESCE(` + field("location.name") + `, '') || ' ' || COALESCE(` + field("location.address") + `, '')), '')`
	text := `COALESCE(` + field("text.body") + `, ` + field("image.caption") + `, ` + field("video.caption") + `, ` +
		field("document.caption") + `, ` + field("interactive.button_reply.title") + `, ` + field("interactive.list_reply.title") + `, ` +
		field("button.text") + `, ` + location + `, ` + field("reaction.emoji") + `, '')`
	g := func(expr string) string { return strings.Replace(guard, "%s", expr, 1) }
	return `INSERT INTO wa_messages (phone_number_id, direction, message_id, customer, wa_id, user_id, profile_name,
			type, ts, text, context_id, source, raw, received_at)
		SELECT phone_number_id, 'in', message_id,
			CASE WHEN from_wa_id <> '' THEN from_wa_id ELSE ` + g(first("from_user_id")) + ` END,
			from_wa_id, ` + g(first("from_user_id")) + `, '', type, ts, ` + g(text) + `,
			` + g(first("context.id", "reaction.message_id")) + `, '', raw, received_at
		FROM wa_inbound_messages ORDER BY seq`
}

// pgSearchVector is the expression PostgreSQL's full-text index is built on
// (and searches must spell exactly so, to use it). Its lexemes:
//
//   - the business number, '#' and its id, so that a search of one number
//     intersects posting lists in the index instead of filtering every
//     match of the words (the parser never yields a '#', so no word of a
//     text is one);
//   - the Seq's bucket, '@' and seq >> searchBucketBits, so that a search
//     can ask the index for the newest matches first (sqlStore.searchSteps):
//     GIN returns its matches unordered, each one a read of the table;
//   - the words of the text, lowercased by the 'simple' configuration (no
//     stemming, no stop words: the text is in any language), with the
//     accents of Latin letters taken off (pgFold), as SQLite's
//     remove_diacritics does.
//
// Fixed: the index of migration 3 is built on it.
var pgSearchVector = `(array_to_tsvector(ARRAY['#' || phone_number_id, '@' || (seq >> ` +
	strconv.Itoa(searchBucketBits) + `)::text]) || to_tsvector('simple'::regconfig, ` + pgFold("text") + `))`

// searchBucketBits sizes the Seq buckets of pgSearchVector: 4096 Seqs each.
// Fixed, as pgSearchVector.
const searchBucketBits = 12

// pgFold takes the accents off the Latin letters of the text expr:
// decomposed (NFD), a Latin letter's combining marks removed. The index
// (through pgSearchVector) and the searches' words go through it alike.
// normalize() needs a UTF8 database. Fixed, as pgSearchVector.
func pgFold(expr string) string {
	return `regexp_replace(normalize(` + expr + `, NFD), '([A-Za-z])[\u0300-\u036f]+', '\1', 'g')`
}

// pgV3 is PostgreSQL's part of migration 3: sqliteV3's trigger as a
// PL/pgSQL function, the GIN index of pgSearchVector, and the copy.
//
// The trigger also announces each message (pg_notify, delivered at
// commit, so never for a transaction that fails) on the schema's channel
// to the other stores on the database (Listen), when the transaction has
// set wa.instance: Save's do, the migration's copy does not.
func pgV3() []string {
	j := func(path string) string { return `(raw::jsonb #>> '{` + strings.ReplaceAll(path, ".", ",") + `}')` }
	return []string{
		`CREATE FUNCTION wa_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO wa_conversations AS c (phone_number_id, customer, wa_id, user_id, profile_name,
				last_seq, last_msg_seq, last_msg_ts, unread, read_ts, read_seq, last_inbound_at)
			VALUES (NEW.phone_number_id, NEW.customer, NEW.wa_id, NEW.user_id, NEW.profile_name,
				NEW.seq, NEW.seq, NEW.ts, CASE WHEN NEW.direction = 'in' THEN 1 ELSE 0 END, 0, 0,
				CASE WHEN NEW.direction = 'in' AND NEW.type NOT IN ` + notOpening + `
					THEN CASE WHEN NEW.ts > 0 THEN to_timestamp(NEW.ts) ELSE NEW.received_at END END)
			ON CONFLICT (phone_number_id, customer) DO UPDATE SET
				wa_id = CASE WHEN NEW.wa_id <> '' THEN NEW.wa_id ELSE c.wa_id END,
				user_id = CASE WHEN NEW.user_id <> '' THEN NEW.user_id ELSE c.user_id END,
				profile_name = CASE WHEN NEW.profile_name <> '' THEN NEW.profile_name ELSE c.profile_name END,
				last_seq = GREATEST(c.last_seq, NEW.seq),
				last_msg_seq = CASE WHEN (NEW.ts, NEW.seq) > (c.last_msg_ts, c.last_msg_seq) THEN NEW.seq ELSE c.last_msg_seq END,
				last_msg_ts = GREATEST(c.last_msg_ts, NEW.ts),
				unread = c.unread + CASE WHEN NEW.direction = 'in' AND (NEW.ts, NEW.seq) > (c.read_ts, c.read_seq) THEN 1 ELSE 0 END,
				last_inbound_at = GREATEST(c.last_inbound_at, EXCLUDED.last_inbound_at);
			IF current_setting('wa.instance', true) <> '' THEN
				PERFORM pg_notify('wa_messages_' || left(md5(TG_TABLE_SCHEMA), 16), json_build_object(
					'i', current_setting('wa.instance', true), 'p', NEW.phone_number_id,
					'c', NEW.customer, 'd', NEW.direction, 's', NEW.seq)::text);
			END IF;
			RETURN NULL;
		END $$`,
		`CREATE TRIGGER wa_messages_conversation AFTER INSERT ON wa_messages
			FOR EACH ROW EXECUTE FUNCTION wa_messages_inserted()`,
		`CREATE INDEX wa_messages_search ON wa_messages USING gin (` + pgSearchVector + `)`,
		copyInbound(j, `%s`),
		`DROP TABLE wa_inbound_messages`,
	}
}

// schemaV4 is migration 4, the bulk send jobs (jobs.go), in an engine's
// types. Times are the received_at kind (dialect.timeArg); lease_until and
// finished_at are NULL while there is none. No foreign key: SQLite would
// not enforce it, and Prune deletes a job's recipients with it.
//
// Indexes, one per read:
//
//   - wa_bulk_jobs_running: AcquireBulkJob's oldest running job (partial:
//     finished jobs are never acquired).
//   - wa_bulk_jobs_finished: Prune's cut (NULL for a running job, which
//     "finished_at < cutoff" never takes).
//   - wa_bulk_recipients_state: a job's recipients in one state, in Seq
//     order (PendingBulkRecipients, RecoverBulkJob, the cancellations,
//     BulkDeliveries) and the counts per state; the primary key serves
//     BulkRecipients and the single-recipient updates.
func schemaV4(c columnTypes) []string {
	r := strings.NewReplacer("{text}", c.text, "{int}", c.int, "{time}", c.time)
	stmts := []string{
		`CREATE TABLE wa_bulk_jobs (
			id              {text} PRIMARY KEY,
			phone_number_id {text} NOT NULL,
			template_name   {text} NOT NULL,
			language_code   {text} NOT NULL,
			rate_per_second {int} NOT NULL,
			state           {text} NOT NULL CHECK (state IN ('running', 'done', 'cancelled')),
			owner           {text} NOT NULL,
			lease_until     {time},
			total           {int} NOT NULL,
			created_at      {time} NOT NULL,
			updated_at      {time} NOT NULL,
			finished_at     {time}
		)`,
		`CREATE INDEX wa_bulk_jobs_running ON wa_bulk_jobs (created_at, id) WHERE state = 'running'`,
		`CREATE INDEX wa_bulk_jobs_finished ON wa_bulk_jobs (finished_at)`,
		`CREATE TABLE wa_bulk_recipients (
			job_id     {text} NOT NULL,
			seq        {int} NOT NULL,
			recipient  {text} NOT NULL,
			body       {text} NOT NULL,
			state      {text} NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'cancelled')),
			message_id {text} NOT NULL,
			error      {text} NOT NULL,
			error_code {int} NOT NULL,
			attempts   {int} NOT NULL,
			updated_at {time} NOT NULL,
			PRIMARY KEY (job_id, seq)
		)`,
		`CREATE INDEX wa_bulk_recipients_state ON wa_bulk_recipients (job_id, state, seq)`,
	}
	for i, q := range stmts {
		stmts[i] = r.Replace(q)
	}
	return stmts
}
