-- attached CRM tables at their edges: partitions, nested statements in
-- subtransactions, CRM users without rights, bad amounts and keys, renamed
-- roles, deals recorded by hand
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
DROP SCHEMA IF EXISTS edge CASCADE;
DROP ROLE IF EXISTS regress_lf_edge_user;
DROP ROLE IF EXISTS regress_lf_edge_renamed;
RESET client_min_messages;
SET search_path = public;
SET timezone = 'UTC';
\set VERBOSITY default
CREATE SCHEMA edge;
CREATE ROLE regress_lf_edge_user;
GRANT USAGE ON SCHEMA edge TO regress_lf_edge_user;

-- ---- partitioned tables ----
-- rows that exist before attach(), for backfill
CREATE TABLE edge.part (id int, st text) PARTITION BY RANGE (id);
CREATE TABLE edge.part_1 PARTITION OF edge.part FOR VALUES FROM (0) TO (100);
CREATE TABLE edge.part_2 (st text, id int);	-- other column order than the parent
ALTER TABLE edge.part ATTACH PARTITION edge.part_2 FOR VALUES FROM (100) TO (200);
INSERT INTO edge.part VALUES (1, 'N'), (101, 'M');
SELECT lead_funnel.attach('edge.part', 'id', 'st', '{"N": "prospect", "M": "mql", "S": "sal"}',
                          '{"key_prefix": "p"}');
-- every partition has the statement trigger too
SELECT tgrelid::regclass, tgname FROM pg_trigger
 WHERE tgname = 'lead_funnel_flush' AND tgrelid::regclass::text LIKE 'edge.part%' ORDER BY 1;
-- backfill reads every partition (it crashed on a partitioned table)
SELECT lead_funnel.backfill('edge.part');
-- through the parent, and straight into a partition: recorded at the
-- statement's end, the source names the attached table
INSERT INTO edge.part VALUES (2, 'N');
INSERT INTO edge.part_2 VALUES ('N', 102);
UPDATE edge.part_1 SET st = 'M' WHERE id = 1;
-- a partition created after attach() has no statement trigger: its rows
-- are recorded one by one, when written
CREATE TABLE edge.part_3 PARTITION OF edge.part FOR VALUES FROM (200) TO (300);
INSERT INTO edge.part_3 VALUES (201, 'N');
BEGIN;
INSERT INTO edge.part_3 VALUES (202, 'N');
SELECT lead_key, stage FROM lead_funnel.lead WHERE lead_key = 'p202';
UPDATE edge.part SET st = 'M' WHERE id = 202;
COMMIT;
SELECT lead_key, from_stage, to_stage, source, actor = current_user AS by_me
  FROM lead_funnel.stage_event WHERE lead_key LIKE 'p%' ORDER BY lead_key, event_id;
-- invalid: the parent's statement trigger disabled, a partition's enabled:
-- rows written through the parent wait for a flush that does not come, and
-- the commit fails instead of losing them
ALTER TABLE edge.part DISABLE TRIGGER lead_funnel_flush;
INSERT INTO edge.part VALUES (3, 'N');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE edge.part ENABLE TRIGGER lead_funnel_flush;
SELECT count(*) AS kept FROM edge.part WHERE id = 3;
-- detach removes the partitions' statement triggers as well
SELECT lead_funnel.detach('edge.part');
SELECT count(*) AS lead_funnel_triggers FROM pg_trigger
 WHERE tgname LIKE 'lead_funnel%' AND tgrelid::regclass::text LIKE 'edge.part%';

-- ---- a statement on another attached table inside an exception block ----
-- that rolls back: the outer statement's changes are still recorded
CREATE TABLE edge.a (id text PRIMARY KEY, st text);
CREATE TABLE edge.b (id text PRIMARY KEY, st text);
SELECT lead_funnel.attach('edge.a', 'id', 'st', '{"N": "prospect", "M": "mql"}', '{"key_prefix": "a:"}');
SELECT lead_funnel.attach('edge.b', 'id', 'st', '{"N": "prospect", "M": "mql"}', '{"key_prefix": "b:"}');
CREATE FUNCTION edge.side_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    INSERT INTO edge.b VALUES (NEW.id, NEW.st);
    PERFORM 1 / 0;
  EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'side job failed, ignored';
  END;
  -- and one that succeeds
  INSERT INTO edge.b VALUES (NEW.id || '-ok', NEW.st);
  RETURN NULL;
END $$;
CREATE TRIGGER zz_side_job AFTER INSERT ON edge.a FOR EACH ROW EXECUTE FUNCTION edge.side_job();
INSERT INTO edge.a VALUES ('x', 'N'), ('y', 'N');
SELECT lead_key, stage FROM lead_funnel.lead WHERE lead_key ~ '^[ab]:' ORDER BY lead_key;
DROP TRIGGER zz_side_job ON edge.a;

-- ---- a CRM user without any right on lead_funnel, in a fresh session ----
-- (cold caches): team_column and attributes need the team list and the
-- scoring rules, read with the owner's rights
INSERT INTO lead_funnel.team (team, capacity, active) VALUES ('east', 10, true);
CREATE TABLE edge.c (id text PRIMARY KEY, st text, tm text, employees int);
GRANT SELECT, INSERT, UPDATE ON edge.c TO regress_lf_edge_user;
SELECT lead_funnel.attach('edge.c', 'id', 'st', '{"N": "prospect", "M": "mql"}',
                          '{"team_column": "tm", "attributes": ["employees"], "key_prefix": "c:"}');
\c
SET search_path = public;
SET ROLE regress_lf_edge_user;
INSERT INTO edge.c VALUES ('1', 'N', 'east', 500);
INSERT INTO edge.c VALUES ('2', 'N', NULL, NULL);
-- invalid: an unknown team (the error lists the known ones)
INSERT INTO edge.c VALUES ('3', 'N', 'Ost', 5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT lead_key, stage, team, fit_score IS NOT NULL AS scored FROM lead_funnel.lead
 WHERE lead_key LIKE 'c:%' ORDER BY 1;
SELECT actor FROM lead_funnel.stage_event WHERE lead_key = 'c:1';

-- on_invalid = record: an unknown team is recorded, the write goes through
CREATE TABLE edge.d (id text PRIMARY KEY, st text, tm text, amount numeric, f float8);
SELECT lead_funnel.attach('edge.d', 'id', 'st', '{"N": "prospect", "W": "customer"}',
                          '{"team_column": "tm", "amount_column": "amount", "on_invalid": "record", "key_prefix": "d:"}');
INSERT INTO edge.d VALUES ('1', 'N', 'Ost');
SELECT lead_key, crm_table, sqlstate, message FROM lead_funnel.violation WHERE lead_key LIKE 'd:%';
SELECT count(*) AS leads FROM edge.d JOIN lead_funnel.lead ON lead_key = 'd:' || id;

-- ---- deal amounts: the same rule as record_deal() ----
-- recorded as violations with on_invalid = record
INSERT INTO edge.d VALUES ('nan', 'W', NULL, 'NaN'), ('inf', 'W', NULL, 'Infinity'),
                          ('neg', 'W', NULL, -5), ('ok', 'W', NULL, 1000);
SELECT lead_key, sqlstate, message FROM lead_funnel.violation
 WHERE lead_key IN ('d:nan', 'd:inf', 'd:neg') ORDER BY lead_key;
SELECT lead_key, amount, is_existing_customer FROM lead_funnel.deal WHERE lead_key LIKE 'd:%';
-- and errors by default
CREATE TABLE edge.e (id text PRIMARY KEY, st text, amount float8, m money);
SELECT lead_funnel.attach('edge.e', 'id', 'st', '{"W": "customer"}', '{"amount_column": "amount", "key_prefix": "e:"}');
-- invalid: NaN, infinite and negative amounts
INSERT INTO edge.e VALUES ('1', 'W', 'NaN');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO edge.e VALUES ('2', 'W', '-Infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO edge.e VALUES ('3', 'W', -0.01);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS nothing_written FROM lead_funnel.lead WHERE lead_key LIKE 'e:%';
SELECT lead_funnel.detach('edge.e');
-- invalid: a money column (its text form is not a number)
SELECT lead_funnel.attach('edge.e', 'id', 'st', '{"W": "customer"}', '{"amount_column": "m"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- ---- record_deal(): the first deal of a new customer is new business ----
SELECT (lead_funnel.move('deal-1', 'sql', occurred_at => '2026-01-01')).to_stage;
SELECT (lead_funnel.move('deal-1', 'opportunity', occurred_at => '2026-01-02')).to_stage;
SELECT (lead_funnel.move('deal-1', 'customer', occurred_at => '2026-01-03')).to_stage;
SELECT amount, is_existing_customer FROM lead_funnel.record_deal('deal-1', 1000, '2026-01-05');
-- a second deal: the lead was a customer before it
SELECT amount, is_existing_customer FROM lead_funnel.record_deal('deal-1', 500, '2026-02-01');
-- a customer who came back: existing business from the first deal of the new stint
SELECT (lead_funnel.move('deal-2', 'customer', occurred_at => '2026-01-01')).to_stage;
SELECT (lead_funnel.move('deal-2', 'opportunity', occurred_at => '2026-03-01')).to_stage;
SELECT (lead_funnel.move('deal-2', 'customer', occurred_at => '2026-03-02')).to_stage;
SELECT amount, is_existing_customer FROM lead_funnel.record_deal('deal-2', 700, '2026-03-02');

-- ---- keys ----
CREATE TABLE edge.k (id text, st text);
SELECT lead_funnel.attach('edge.k', 'id', 'st', '{"N": "prospect"}');
-- invalid: an empty key (move() refuses it too)
INSERT INTO edge.k VALUES ('', 'N');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- invalid: a key longer than 1000 bytes
INSERT INTO edge.k VALUES (repeat('k', 1001), 'N');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lead_funnel.move(repeat('k', 1001), 'prospect');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- 1000 bytes are fine
INSERT INTO edge.k VALUES (repeat('k', 1000), 'N');
SELECT length(lead_key) FROM lead_funnel.lead WHERE lead_key LIKE 'kkk%';

-- ---- the actor follows a renamed role ----
GRANT SELECT, INSERT, UPDATE ON edge.k TO regress_lf_edge_user;
SET ROLE regress_lf_edge_user;
INSERT INTO edge.k VALUES ('r1', 'N');
RESET ROLE;
ALTER ROLE regress_lf_edge_user RENAME TO regress_lf_edge_renamed;
SET ROLE regress_lf_edge_renamed;
INSERT INTO edge.k VALUES ('r2', 'N');
RESET ROLE;
SELECT lead_key, actor FROM lead_funnel.stage_event WHERE lead_key IN ('r1', 'r2') ORDER BY 1;

-- clean up
DROP SCHEMA edge CASCADE;
DROP OWNED BY regress_lf_edge_renamed;
DROP ROLE regress_lf_edge_renamed;

-- ---- key columns ----
CREATE SCHEMA edge;
-- a key whose text form depends on settings is written with fixed ones:
-- one CRM row stays one lead whatever DateStyle or TimeZone say
CREATE TABLE edge.dated (id date PRIMARY KEY, at timestamptz, st text);
SELECT lead_funnel.attach('edge.dated', 'id', 'st', '{"N": "prospect", "M": "mql"}', '{"key_prefix": "d-"}');
CREATE TABLE edge.stamped (id timestamptz PRIMARY KEY, st text);
SELECT lead_funnel.attach('edge.stamped', 'id', 'st', '{"N": "prospect", "M": "mql"}', '{"key_prefix": "t-"}');
INSERT INTO edge.dated VALUES ('2024-03-01', NULL, 'N');
INSERT INTO edge.stamped VALUES ('2024-03-01 12:00+01', 'N');
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'America/New_York';
UPDATE edge.dated SET st = 'M';
UPDATE edge.stamped SET st = 'M';
-- (the session's own settings are untouched)
SHOW DateStyle;
SHOW TimeZone;
RESET DateStyle;
SET TimeZone = 'UTC';
SELECT lead_key, stage FROM lead_funnel.lead WHERE lead_key ~ '^[dt]-2' ORDER BY 1;

-- invalid: the key of an attached row cannot change (it would fork the lead)
CREATE TABLE edge.rekey (id int PRIMARY KEY, st text);
SELECT lead_funnel.attach('edge.rekey', 'id', 'st', '{"N": "prospect", "M": "mql"}', '{"key_prefix": "rk"}');
INSERT INTO edge.rekey VALUES (1, 'N');
UPDATE edge.rekey SET id = 2, st = 'M' WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE edge.rekey SET id = 2 WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- an UPDATE that sets the key to its own value is fine
UPDATE edge.rekey SET id = 1, st = 'M' WHERE id = 1;
SELECT lead_key, stage FROM lead_funnel.lead WHERE lead_key LIKE 'rk%';
-- with on_invalid = record the write goes through and the old lead gets a violation
CREATE TABLE edge.rekey2 (id int PRIMARY KEY, st text);
SELECT lead_funnel.attach('edge.rekey2', 'id', 'st', '{"N": "prospect"}', '{"key_prefix": "rr", "on_invalid": "record"}');
INSERT INTO edge.rekey2 VALUES (1, 'N');
UPDATE edge.rekey2 SET id = 5 WHERE id = 1;
SELECT lead_key, crm_status, sqlstate, message FROM lead_funnel.violation WHERE lead_key LIKE 'rr%';
SELECT lead_key FROM lead_funnel.lead WHERE lead_key LIKE 'rr%';
DROP SCHEMA edge CASCADE;

-- ---- partitions: attached with their parent only; a detached partition ----
CREATE SCHEMA edge;
CREATE TABLE edge.pp (id int, st text) PARTITION BY LIST (st);
CREATE TABLE edge.pp_n PARTITION OF edge.pp FOR VALUES IN ('N');
-- invalid: a partition on its own
SELECT lead_funnel.attach('edge.pp_n', 'id', 'st', '{"N": "prospect"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lead_funnel.attach('edge.pp', 'id', 'st', '{"N": "prospect"}', '{"key_prefix": "pp"}');
-- DETACH PARTITION drops the cloned row trigger and leaves the statement
-- trigger: the table can be attached on its own then
ALTER TABLE edge.pp DETACH PARTITION edge.pp_n;
SELECT lead_funnel.attach('edge.pp_n', 'id', 'st', '{"N": "prospect"}', '{"key_prefix": "ppn"}');
INSERT INTO edge.pp_n VALUES (1, 'N');
SELECT lead_key, source FROM lead_funnel.stage_event WHERE lead_key LIKE 'pp%';
SELECT tgname FROM pg_trigger WHERE tgrelid = 'edge.pp_n'::regclass ORDER BY 1;

-- ---- record_deal(): the first deal recorded is new business, whatever ----
-- the won_at of a later one
SELECT (lead_funnel.move('deal-3', 'customer', occurred_at => '2026-01-05')).to_stage;
SELECT amount, is_existing_customer FROM lead_funnel.record_deal('deal-3', 100, '2026-02-10');
SELECT amount, is_existing_customer FROM lead_funnel.record_deal('deal-3', 50, '2026-01-05');

-- ---- the default time is not moved into the future ----
-- a lead whose last event is dated later today: a move "now" is LF003
SELECT (lead_funnel.move('future', 'mql', occurred_at => now() + interval '12 hours')).to_stage;
DO $$
BEGIN
  PERFORM lead_funnel.move('future', 'sal');
EXCEPTION WHEN SQLSTATE 'LF003' THEN
  RAISE NOTICE 'LF003: %', regexp_replace(SQLERRM, ' at .*', '');
END $$;
-- a move dated more than a day ahead is refused (a typo would otherwise lock
-- the lead: every later move would be earlier than it); from a CRM table that
-- records violations, it is recorded
SELECT (lead_funnel.move('future-2', 'mql', occurred_at => '2999-01-01 00:00+00')).to_stage;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DO $$
BEGIN
  PERFORM lead_funnel.move('future-2', 'mql', occurred_at => now() + interval '1 day 1 second');
EXCEPTION WHEN SQLSTATE '22008' THEN
  RAISE NOTICE '22008: %', regexp_replace(SQLERRM, ' at .* is ', ' at now() + 1 day 1 second is ');
END $$;
SELECT count(*) AS leads FROM lead_funnel.lead WHERE lead_key = 'future-2';
CREATE TABLE edge.fut (id int, st text);
SELECT lead_funnel.attach('edge.fut', 'id', 'st', '{"M": "mql"}', '{"key_prefix": "fut:", "on_invalid": "record"}');
BEGIN;
SET LOCAL lead_funnel.event_time = '9999-01-01 00:00+00';
INSERT INTO edge.fut VALUES (1, 'M');
COMMIT;
SELECT lead_key, sqlstate, message FROM lead_funnel.violation WHERE lead_key = 'fut:1';
SELECT count(*) AS leads FROM lead_funnel.lead WHERE lead_key = 'fut:1';
DROP SCHEMA edge CASCADE;

-- ---- routing and the SLA sweep's actions ----
CREATE SCHEMA edge;
-- (the teams of earlier tests still have open leads: they stop taking new ones)
UPDATE lead_funnel.team SET active = false;
INSERT INTO lead_funnel.team (team, capacity, active) VALUES ('solo', 100, true);
-- a lead that becomes MQL and goes on to SAL within one CRM statement is routed
CREATE TABLE edge.r (id text, st text);
SELECT lead_funnel.attach('edge.r', 'id', 'st', '{"M": "mql", "W": "sal"}', '{"key_prefix": "r:"}');
INSERT INTO edge.r VALUES ('K1', 'M'), ('K1', 'W');
SELECT lead_key, stage, team FROM lead_funnel.lead WHERE lead_key = 'r:K1';
SELECT lead_key, team, reason FROM lead_funnel.assignment WHERE lead_key = 'r:K1';
-- recycle by the sweep: actor and source "sla"
UPDATE lead_funnel.sla_policy SET action = 'recycle' WHERE stage::text = 'mql';
SELECT (lead_funnel.move('sla-1', 'mql', occurred_at => '2026-03-02 09:00+00')).to_stage;
SELECT lead_funnel.sla_sweep('2026-03-10 09:00+00');
SELECT from_stage, to_stage, reason, actor, source FROM lead_funnel.stage_event
 WHERE lead_key = 'sla-1' ORDER BY event_id;
-- reassign with no other team: the breach is recorded, a WARNING says the
-- lead stays
UPDATE lead_funnel.sla_policy SET action = 'reassign' WHERE stage::text = 'mql';
SELECT (lead_funnel.move('sla-2', 'mql', occurred_at => '2026-03-02 09:00+00')).to_stage;
SELECT lead_funnel.sla_sweep('2026-03-10 09:00+00');
SELECT lead_key, team FROM lead_funnel.lead WHERE lead_key = 'sla-2';
UPDATE lead_funnel.sla_policy SET action = 'notify' WHERE stage::text = 'mql';
DROP SCHEMA edge CASCADE;

-- ---- the core path writes rows directly (tableio.c) ----
CREATE SCHEMA edge;
CREATE TABLE edge.d (id int PRIMARY KEY, st text);
SELECT lead_funnel.attach('edge.d', 'id', 'st', '{"P": "prospect", "M": "mql", "S": "sal"}', '{"key_prefix": "d:"}');
-- a user's row trigger on the ledger fires for these writes too
CREATE FUNCTION edge.event_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'event % % -> %', NEW.lead_key, NEW.from_stage, NEW.to_stage;
  RETURN NEW;
END $$;
CREATE TRIGGER edge_seen AFTER INSERT ON lead_funnel.stage_event
  FOR EACH ROW EXECUTE FUNCTION edge.event_seen();
INSERT INTO edge.d VALUES (1, 'P'), (2, 'P');
UPDATE edge.d SET st = 'M' WHERE id = 1;
DROP TRIGGER edge_seen ON lead_funnel.stage_event;
-- rolled-back savepoints take their events, leads and clocks with them, and
-- the transaction goes on writing
BEGIN;
UPDATE edge.d SET st = 'M' WHERE id = 2;
SAVEPOINT a;
UPDATE edge.d SET st = 'S' WHERE id = 2;
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
UPDATE edge.d SET st = 'unmapped' WHERE id = 1;
ROLLBACK TO SAVEPOINT b;
UPDATE edge.d SET st = 'S' WHERE id = 1;
COMMIT;
SELECT lead_key, stage, sla_due_at IS NOT NULL AS clock_runs FROM lead_funnel.lead
 WHERE lead_key LIKE 'd:%' ORDER BY 1;
SELECT lead_key, from_stage, to_stage FROM lead_funnel.stage_event
 WHERE lead_key LIKE 'd:%' ORDER BY event_id;
SELECT lead_key, stage FROM lead_funnel.sla_clock WHERE lead_key LIKE 'd:%' ORDER BY 1, 2;
-- an index created on the ledger in the middle of a transaction is
-- maintained by the next move of that transaction
BEGIN;
UPDATE edge.d SET st = 'S' WHERE id = 2;
CREATE INDEX edge_event_to_idx ON lead_funnel.stage_event (occurred_at, to_stage);
SELECT (lead_funnel.move('d:1', 'sql', occurred_at => now() + interval '1 hour')).to_stage;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT count(*) AS found_through_new_index FROM lead_funnel.stage_event
 WHERE occurred_at = now() + interval '1 hour' AND to_stage::text = 'sql';
ROLLBACK;
-- lead.open_team follows the stage: the team while the lead is open
SELECT (lead_funnel.move('d:9', 'mql', team => 'solo')).to_stage;
SELECT stage, team, open_team FROM lead_funnel.lead WHERE lead_key = 'd:9';
SELECT (lead_funnel.move('d:9', 'disqualified', 'no budget')).to_stage;
SELECT stage, team, open_team FROM lead_funnel.lead WHERE lead_key = 'd:9';
DROP SCHEMA edge CASCADE;
