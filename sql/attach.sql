-- attaching CRM tables: the trigger, its options and its errors
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = public;
SET timezone = 'UTC';
DROP SCHEMA IF EXISTS crm CASCADE;
CREATE SCHEMA crm;

-- a CRM lead table shaped like a common CRM's, with its own status strings
CREATE TABLE crm."Lead" (
  id          bigint PRIMARY KEY,
  "Status"    text,
  owner_name  text,
  team        text,
  source      text,
  region      text,
  why         text,
  deal_value  numeric(12,2),
  employees   int,
  industry    text,
  title       text
);
SELECT lead_funnel.attach('crm."Lead"', 'id', 'Status',
  '{"Open - Not Contacted": "prospect", "Marketing Qualified": "mql",
    "Working - Contacted": "sal", "Qualified": "sql", "Closed - Converted": "opportunity",
    "Closed Won": "customer", "Closed Lost": "lost", "Nurture": "recycled",
    "Closed - Not Converted": "disqualified"}',
  '{"owner_column": "owner_name", "team_column": "team", "campaign_column": "source",
    "segment_column": "region", "reason_column": "why", "amount_column": "deal_value",
    "attributes": ["employees", "industry", "title"], "key_prefix": "sf:"}');
SELECT crm_table, key_column, status_column, options->>'key_prefix' AS prefix FROM lead_funnel.attachment;
SELECT tgname, pg_get_triggerdef(oid) LIKE '%AFTER INSERT OR UPDATE OF%' AS update_of
  FROM pg_trigger WHERE tgrelid = 'crm."Lead"'::regclass;

-- a few dozen status changes, each at a known time
SET lead_funnel.event_time = '2026-03-02 09:00+00';
INSERT INTO crm."Lead" (id, "Status", owner_name, source, region, employees, industry, title) VALUES
  (1, 'Open - Not Contacted', 'mia', 'trade fair', 'south', 250, 'Maschinenbau', 'Einkaufsleiter'),
  (2, 'Open - Not Contacted', 'mia', 'webinar', 'north', 40, 'Handel', 'Praktikant'),
  (3, 'Marketing Qualified', 'tom', 'whitepaper', 'south', 800, 'Maschinenbau', 'CTO'),
  (4, 'Qualified', 'tom', 'linkedin', 'north', 120, 'Chemie', 'Einkauf'),
  (5, 'Closed Won', 'ali', 'newsletter', 'south', 5000, 'Automotive', 'CEO');
SET lead_funnel.event_time = '2026-03-03 10:00+00';
UPDATE crm."Lead" SET "Status" = 'Marketing Qualified' WHERE id IN (1, 2);
SET lead_funnel.event_time = '2026-03-04 11:00+00';
UPDATE crm."Lead" SET "Status" = 'Working - Contacted', team = 'south' WHERE id = 1;
UPDATE crm."Lead" SET "Status" = 'Nurture', why = 'too small' WHERE id = 2;
UPDATE crm."Lead" SET "Status" = 'Working - Contacted', team = 'south' WHERE id = 3;
SET lead_funnel.event_time = '2026-03-05 12:00+00';
UPDATE crm."Lead" SET "Status" = 'Qualified' WHERE id IN (1, 3);
UPDATE crm."Lead" SET "Status" = 'Closed - Converted' WHERE id = 4;
SET lead_funnel.event_time = '2026-03-10 12:00+00';
UPDATE crm."Lead" SET "Status" = 'Closed - Converted' WHERE id IN (1, 3);
UPDATE crm."Lead" SET "Status" = 'Closed Won', deal_value = 48000 WHERE id = 1;
UPDATE crm."Lead" SET "Status" = 'Closed Lost', why = 'went with competitor' WHERE id = 3;
UPDATE crm."Lead" SET "Status" = 'Closed Won', deal_value = 9000.50 WHERE id = 4;
SET lead_funnel.event_time = '2026-03-20 12:00+00';
-- an existing customer comes back with a new opportunity, and wins again
UPDATE crm."Lead" SET "Status" = 'Closed - Converted' WHERE id = 1;
UPDATE crm."Lead" SET "Status" = 'Closed Won', deal_value = 12000 WHERE id = 1;
-- updates that do not change the status record nothing, but keep the side columns
UPDATE crm."Lead" SET "Status" = "Status", owner_name = 'lena' WHERE id = 5;
UPDATE crm."Lead" SET region = 'east' WHERE id = 2;
RESET lead_funnel.event_time;

SELECT lead_key, from_stage, to_stage, occurred_at, actor, team, reason, source
  FROM lead_funnel.stage_event ORDER BY lead_key, event_id;
SELECT lead_key, stage, stage_entered_at, owner, team, campaign, segment, is_existing_customer,
       mql_at, sal_at, customer_at, recycled_count
  FROM lead_funnel.lead ORDER BY lead_key;
SELECT lead_key, amount, won_at, is_existing_customer FROM lead_funnel.deal ORDER BY lead_key, deal_id;

-- invalid: a status change the agreement does not allow fails the CRM write (on_invalid = error)
UPDATE crm."Lead" SET "Status" = 'Closed Won' WHERE id = 2;
-- invalid: a status that is not mapped
UPDATE crm."Lead" SET "Status" = 'Something Else' WHERE id = 2;
-- invalid: recycling without a reason (reason column empty)
UPDATE crm."Lead" SET "Status" = 'Open - Not Contacted' WHERE id = 2;
UPDATE crm."Lead" SET "Status" = 'Marketing Qualified', why = NULL WHERE id = 2;
UPDATE crm."Lead" SET "Status" = 'Nurture' WHERE id = 2;
SELECT "Status" FROM crm."Lead" WHERE id = 2;
SELECT stage FROM lead_funnel.lead WHERE lead_key = 'sf:2';

-- a NULL status records nothing
INSERT INTO crm."Lead" (id, "Status") VALUES (6, NULL);
SELECT count(*) FROM lead_funnel.lead WHERE lead_key = 'sf:6';

-- the CRM table changes: columns added and dropped before the ones the
-- trigger reads; the trigger resolves its columns again
ALTER TABLE crm."Lead" ADD COLUMN extra text;
ALTER TABLE crm."Lead" DROP COLUMN extra;
ALTER TABLE crm."Lead" ADD COLUMN note text;
UPDATE crm."Lead" SET "Status" = 'Open - Not Contacted', note = 'x' WHERE id = 6;
-- columns named in UPDATE OF cannot be dropped while attached
ALTER TABLE crm."Lead" DROP COLUMN region;
-- invalid: the reason column is read but not watched: dropping it is allowed,
-- and the next change through the trigger fails clearly
ALTER TABLE crm."Lead" DROP COLUMN why;
UPDATE crm."Lead" SET "Status" = 'Marketing Qualified' WHERE id = 6;
SELECT lead_key, stage FROM lead_funnel.lead WHERE lead_key = 'sf:6';
-- added back, the trigger works again
ALTER TABLE crm."Lead" ADD COLUMN why text;
UPDATE crm."Lead" SET "Status" = 'Marketing Qualified' WHERE id = 6;
SELECT lead_key, stage FROM lead_funnel.lead WHERE lead_key = 'sf:6';

-- invalid: a null key in a table whose key column allows it
CREATE TABLE crm.loose (k text, s text);
SELECT lead_funnel.attach('crm.loose', 'k', 's', '{"a": "prospect"}');
INSERT INTO crm.loose VALUES (NULL, 'a');

-- the changes of one statement are applied together at its end, in row order:
-- two rows of one lead in one statement (a key that is not unique)
INSERT INTO crm.loose VALUES ('dup', 'a'), ('other', 'a');
UPDATE crm.loose SET s = 'b' WHERE k = 'other';
SELECT lead_funnel.detach('crm.loose');
SELECT lead_funnel.attach('crm.loose', 'k', 's', '{"a": "prospect", "b": "mql", "c": "sal"}');
INSERT INTO crm.loose VALUES ('dup2', 'a'), ('dup2', 'b'), ('dup2', 'c');
SELECT lead_key, from_stage, to_stage FROM lead_funnel.stage_event WHERE lead_key = 'dup2' ORDER BY event_id;
-- a statement that fails half-way inside a savepoint leaves nothing buffered
BEGIN;
SAVEPOINT s1;
INSERT INTO crm.loose VALUES ('half', 'a'), (NULL, 'a');
ROLLBACK TO SAVEPOINT s1;
INSERT INTO crm.loose VALUES ('whole', 'a');
COMMIT;
SELECT lead_key FROM lead_funnel.lead WHERE lead_key IN ('half', 'whole');
-- with the statement trigger disabled, the row trigger records each row
-- when it is written (nothing waits for a flush that will not come)
ALTER TABLE crm.loose DISABLE TRIGGER lead_funnel_flush;
INSERT INTO crm.loose VALUES ('lost?', 'a');
ALTER TABLE crm.loose ENABLE TRIGGER lead_funnel_flush;
SELECT lead_key, stage FROM lead_funnel.lead WHERE lead_key = 'lost?';

-- on_invalid = record, on_unmapped = ignore, any key type, a table in another schema
CREATE TABLE crm.contact (uid uuid PRIMARY KEY, state varchar(40), note text);
SELECT lead_funnel.attach('crm.contact', 'uid', 'state',
  '{"new": "prospect", "mql": "mql", "won": "customer"}',
  '{"on_invalid": "record", "on_unmapped": "ignore", "key_prefix": "c:"}');
INSERT INTO crm.contact VALUES ('00000000-0000-0000-0000-000000000001', 'new');
UPDATE crm.contact SET state = 'won';      -- not allowed: recorded, goes through
UPDATE crm.contact SET state = 'unknown';  -- not mapped: ignored
UPDATE crm.contact SET state = 'mql';
SELECT state FROM crm.contact;
SELECT lead_key, stage FROM lead_funnel.lead WHERE lead_key LIKE 'c:%';
SELECT lead_key, crm_table, crm_status, from_stage, to_stage, sqlstate, message FROM lead_funnel.violation;

-- on_invalid = record with on_unmapped = error records the unmapped status too
CREATE TABLE crm.simple (k int PRIMARY KEY, s text);
SELECT lead_funnel.attach('crm.simple', 'k', 's', '{"a": "prospect", "b": "mql"}', '{"on_invalid": "record"}');
INSERT INTO crm.simple VALUES (1, 'a');
UPDATE crm.simple SET s = 'zzz';
SELECT lead_key, crm_status, from_stage, to_stage, sqlstate, message FROM lead_funnel.violation WHERE crm_table = 'crm.simple';

-- a CRM user with rights only on the CRM table: status changes are recorded,
-- with the user as actor, and the user still cannot touch the ledger
DROP ROLE IF EXISTS regress_lf_crm_user;
CREATE ROLE regress_lf_crm_user;
GRANT USAGE ON SCHEMA crm TO regress_lf_crm_user;
GRANT SELECT, INSERT, UPDATE ON crm.simple TO regress_lf_crm_user;
SET ROLE regress_lf_crm_user;
INSERT INTO crm.simple VALUES (2, 'a');
UPDATE crm.simple SET s = 'b' WHERE k = 2;
-- invalid: no rights on the ledger
SELECT count(*) FROM lead_funnel.stage_event;
SELECT lead_funnel.move('2', 'sal');
RESET ROLE;
SELECT lead_key, from_stage, to_stage, actor, source FROM lead_funnel.stage_event WHERE lead_key = '2' ORDER BY event_id;

-- backfill enters existing rows at their mapped stage, once
CREATE TABLE crm.old_leads (k text PRIMARY KEY, s text, gone int);
ALTER TABLE crm.old_leads DROP COLUMN gone;
INSERT INTO crm.old_leads VALUES ('o1', 'opp'), ('o2', 'new'), ('o3', NULL), ('o4', 'opp');
SELECT lead_funnel.attach('crm.old_leads', 'k', 's', '{"new": "prospect", "opp": "opportunity"}');
SELECT lead_funnel.backfill('crm.old_leads');
SELECT lead_funnel.backfill('crm.old_leads');
SELECT lead_key, stage, actor IS NOT NULL AS has_actor, source FROM lead_funnel.lead JOIN lead_funnel.stage_event USING (lead_key)
 WHERE lead_key LIKE 'o%' ORDER BY lead_key;
-- invalid: backfill of a table that is not attached
SELECT lead_funnel.backfill('crm.contact_none');
CREATE TABLE crm.unattached (k int);
SELECT lead_funnel.backfill('crm.unattached');

-- attach() checks everything before it installs anything
-- invalid: not a table
CREATE VIEW crm.v AS SELECT 1 AS k, 'a'::text AS s;
SELECT lead_funnel.attach('crm.v', 'k', 's', '{"a": "prospect"}');
-- invalid: unknown table
SELECT lead_funnel.attach('crm.nope', 'k', 's', '{"a": "prospect"}');
-- invalid: missing columns
SELECT lead_funnel.attach('crm.unattached', 'key', 's', '{"a": "prospect"}');
ALTER TABLE crm.unattached ADD COLUMN s text, ADD COLUMN amount text;
SELECT lead_funnel.attach('crm.unattached', 'k', 'status', '{"a": "prospect"}');
-- invalid: the map
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '["a"]');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "lead"}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": 1}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', NULL);
-- invalid: options
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '{"owner": "x"}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '{"owner_column": "x"}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '{"owner_column": 1}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '{"on_invalid": "ignore"}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '{"on_unmapped": "record"}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '{"attributes": []}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '{"attributes": ["nope"]}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '{"attributes": [1]}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '{"amount_column": "amount"}');
SELECT lead_funnel.attach('crm.unattached', 'k', 's', '{"a": "prospect"}', '[]');
-- nothing was installed by the failed attempts
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'crm.unattached'::regclass;
SELECT count(*) AS attachments FROM lead_funnel.attachment WHERE crm_table = 'crm.unattached'::regclass;
-- invalid: attached twice
SELECT lead_funnel.attach('crm.simple', 'k', 's', '{"a": "prospect"}');

-- detach removes the trigger and keeps the history
SELECT lead_funnel.detach('crm.simple');
UPDATE crm.simple SET s = 'b';
SELECT count(*) AS events_kept FROM lead_funnel.stage_event WHERE lead_key = '1';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'crm.simple'::regclass AND NOT tgisinternal;
-- invalid: detach of a table that is not attached
SELECT lead_funnel.detach('crm.simple');

-- a dropped CRM table is detached (event trigger), also when a role with
-- no right on lead_funnel drops it, and also with its schema; the history stays
CREATE TABLE crm.dropped (k int PRIMARY KEY, s text);
SELECT lead_funnel.attach('crm.dropped', 'k', 's', '{"a": "prospect"}', '{"key_prefix": "dropped-"}');
INSERT INTO crm.dropped VALUES (1, 'a');
ALTER TABLE crm.dropped OWNER TO regress_lf_crm_user;
SET ROLE regress_lf_crm_user;
DROP TABLE crm.dropped;
RESET ROLE;
SELECT count(*) AS attachments FROM lead_funnel.attachment WHERE crm_table::text LIKE '%dropped%' OR crm_table::text ~ '^[0-9]+$';
SELECT count(*) AS events_kept FROM lead_funnel.stage_event WHERE lead_key = 'dropped-1';
CREATE SCHEMA crm_gone;
CREATE TABLE crm_gone.t (k int PRIMARY KEY, s text);
SELECT lead_funnel.attach('crm_gone.t', 'k', 's', '{"a": "prospect"}', '{"key_prefix": "gone-"}');
DROP SCHEMA crm_gone CASCADE;
SELECT count(*) AS attachments FROM lead_funnel.attachment WHERE crm_table::text ~ '^[0-9]+$';
-- a row left behind while the event trigger was disabled: detach() forgets it
CREATE TABLE crm.dropped (k int PRIMARY KEY, s text);
SELECT lead_funnel.attach('crm.dropped', 'k', 's', '{"a": "prospect"}');
SELECT 'crm.dropped'::regclass::oid AS dropped_oid \gset
ALTER EVENT TRIGGER lead_funnel_attachment_dropped DISABLE;
DROP TABLE crm.dropped;
ALTER EVENT TRIGGER lead_funnel_attachment_dropped ENABLE;
SELECT count(*) AS dangling FROM lead_funnel.attachment WHERE crm_table::text ~ '^[0-9]+$';
SELECT lead_funnel.detach(:dropped_oid::regclass);
SELECT count(*) AS dangling FROM lead_funnel.attachment WHERE crm_table::text ~ '^[0-9]+$';
-- a drop that rolls back leaves the table attached
CREATE TABLE crm.dropped (k int PRIMARY KEY, s text);
SELECT lead_funnel.attach('crm.dropped', 'k', 's', '{"a": "prospect"}');
BEGIN;
DROP TABLE crm.dropped;
ROLLBACK;
SELECT crm_table FROM lead_funnel.attachment WHERE crm_table = 'crm.dropped'::regclass;
SELECT lead_funnel.detach('crm.dropped');
DROP TABLE crm.dropped;

-- a statement of 10 000 rows or more takes the bulk path (the lead table is
-- locked instead of each row, rows are updated by the ctid the read returned):
-- 12 000 leads enter, move twice, and every lead and event is right
CREATE TABLE crm.bulk (id int PRIMARY KEY, st text NOT NULL, owner text);
SELECT lead_funnel.attach('crm.bulk', 'id', 'st', '{"n": "prospect", "m": "mql", "w": "sal"}',
                          '{"owner_column": "owner", "key_prefix": "bulk-"}');
INSERT INTO crm.bulk SELECT i, 'n', 'o' || i % 7 FROM generate_series(1, 12000) i;
-- most of the lead table is wanted: the leads are read in one pass over it
SET client_min_messages = debug1;
UPDATE crm.bulk SET st = 'm';
RESET client_min_messages;
UPDATE crm.bulk SET st = 'w', owner = 'x' || id % 3 WHERE id % 2 = 0;
SELECT stage, count(*), count(DISTINCT owner) AS owners, count(mql_at) AS with_mql_at,
       count(sal_at) AS with_sal_at, count(sla_due_at) AS with_due
  FROM lead_funnel.lead WHERE lead_key LIKE 'bulk-%' GROUP BY stage ORDER BY stage;
SELECT count(*) AS events, count(*) FILTER (WHERE from_stage IS NULL) AS entries
  FROM lead_funnel.stage_event WHERE lead_key LIKE 'bulk-%';
-- lead.stage is the to_stage of each lead's last event
SELECT count(*) AS disagreeing FROM lead_funnel.lead l
 WHERE l.lead_key LIKE 'bulk-%'
   AND l.stage OPERATOR(lead_funnel.<>) (SELECT e.to_stage FROM lead_funnel.stage_event e
                    WHERE e.lead_key = l.lead_key ORDER BY e.event_id DESC LIMIT 1);

-- the same statement against a lead table of more pages than the batch has
-- leads reads its leads by key (100 000 other leads loaded past the guard,
-- as a restore would, 10 % to a page)
ALTER TABLE lead_funnel.lead DISABLE TRIGGER lead_guard;
ALTER TABLE lead_funnel.lead SET (fillfactor = 10);
INSERT INTO lead_funnel.lead (lead_key, stage, stage_entered_at, created_at, prospect_at)
SELECT 'filler-' || i, 'prospect', now(), now(), now() FROM generate_series(1, 100000) i;
ALTER TABLE lead_funnel.lead SET (fillfactor = 40);
ALTER TABLE lead_funnel.lead ENABLE TRIGGER lead_guard;
CREATE TABLE crm.bulk2 (LIKE crm.bulk);
SELECT lead_funnel.attach('crm.bulk2', 'id', 'st', '{"n": "prospect", "m": "mql"}',
                          '{"key_prefix": "bulk2-"}');
INSERT INTO crm.bulk2 SELECT i, 'n' FROM generate_series(1, 12000) i;
SET client_min_messages = debug1;
UPDATE crm.bulk2 SET st = 'm' WHERE id > 10;
RESET client_min_messages;
SELECT stage, count(*), count(mql_at) AS with_mql_at, count(sla_due_at) AS with_due
  FROM lead_funnel.lead WHERE lead_key LIKE 'bulk2-%' GROUP BY stage ORDER BY stage;
SELECT count(*) AS disagreeing FROM lead_funnel.lead l
 WHERE l.lead_key LIKE 'bulk2-%'
   AND l.stage OPERATOR(lead_funnel.<>) (SELECT e.to_stage FROM lead_funnel.stage_event e
                    WHERE e.lead_key = l.lead_key ORDER BY e.event_id DESC LIMIT 1);
ALTER TABLE lead_funnel.lead DISABLE TRIGGER lead_guard;
DELETE FROM lead_funnel.lead WHERE lead_key LIKE 'filler-%';
ALTER TABLE lead_funnel.lead ENABLE TRIGGER lead_guard;

-- the trigger function refuses to be misused
CREATE TABLE crm.misuse (k int, s text);
CREATE TRIGGER t BEFORE INSERT ON crm.misuse FOR EACH ROW EXECUTE FUNCTION lead_funnel.crm_trigger('k', 's', '{}', '{}');
INSERT INTO crm.misuse VALUES (1, 'a');
DROP TRIGGER t ON crm.misuse;
CREATE TRIGGER t AFTER INSERT ON crm.misuse FOR EACH ROW EXECUTE FUNCTION lead_funnel.crm_trigger('k', 's');
INSERT INTO crm.misuse VALUES (1, 'a');
SELECT lead_funnel.crm_trigger();

DROP SCHEMA crm CASCADE;
DROP ROLE regress_lf_crm_user;
