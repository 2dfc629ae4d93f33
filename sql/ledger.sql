-- the agreement, the ledger and move()
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;
SET timezone = 'UTC';

-- the installed graph
SELECT from_stage, to_stage, requires_reason FROM transition ORDER BY from_stage NULLS FIRST, to_stage;

-- a lead's way through the funnel
SELECT event_id > 0 AS has_id, lead_key, from_stage, to_stage, occurred_at, actor, team, reason, source
  FROM move('L-1', 'prospect', actor => 'web', occurred_at => '2026-01-05 10:00+00', campaign => 'fair');
SELECT lead_key, from_stage, to_stage, occurred_at, actor, team, reason, source
  FROM move('L-1', 'mql', actor => 'marketing', occurred_at => '2026-01-06 10:00+00');
SELECT lead_key, from_stage, to_stage, team
  FROM move('L-1', 'sal', occurred_at => '2026-01-06 12:00+00', actor => 'anna', team => 'nord');
SELECT lead_key, from_stage, to_stage, team
  FROM move('L-1', 'sql', occurred_at => '2026-01-08 12:00+00', actor => 'anna');
-- moving to the stage it already has: a no-op returning NULL, no event
SELECT move('L-1', 'sql', occurred_at => '2026-01-09 12:00+00') IS NULL AS noop;
SELECT count(*) AS events FROM stage_event WHERE lead_key = 'L-1';
SELECT lead_key, stage, stage_entered_at, team, campaign, created_at, prospect_at, mql_at, sal_at, sql_at,
       opportunity_at, customer_at, recycled_count, is_existing_customer, sla_due_at
  FROM lead WHERE lead_key = 'L-1';

-- recycle needs a reason; then back to mql; first-reached columns keep the first time
-- invalid: reason required (SQLSTATE LF002)
SELECT move('L-1', 'recycled', occurred_at => '2026-01-10 09:00+00');
SELECT move('L-1', 'recycled', reason => '  ', occurred_at => '2026-01-10 09:00+00');
SELECT to_stage, reason FROM move('L-1', 'recycled', reason => 'no budget this year', occurred_at => '2026-01-10 09:00+00');
SELECT to_stage FROM move('L-1', 'mql', occurred_at => '2026-03-01 09:00+00');
SELECT stage, mql_at, recycled_count, last_recycled_at FROM lead WHERE lead_key = 'L-1';
SELECT to_stage FROM move('L-1', 'recycled', reason => 'still no budget', occurred_at => '2026-03-02 09:00+00');
SELECT recycled_count, last_recycled_at FROM lead WHERE lead_key = 'L-1';

-- invalid: a disallowed transition names the lead, both stages and the allowed next stages
SELECT move('L-1', 'customer', occurred_at => '2026-03-03 09:00+00');
SELECT move('L-1', 'sal', occurred_at => '2026-03-03 09:00+00');
DO $$
BEGIN
  PERFORM lead_funnel.move('L-1', 'sal', occurred_at => '2026-03-03 09:00+00');
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'sqlstate %', SQLSTATE;
END $$;
-- invalid: new leads may not enter at opportunity
SELECT move('L-2', 'opportunity');
-- invalid: events out of time order
SELECT move('L-1', 'mql', occurred_at => '2026-03-01 08:59:59.999999+00');
-- equal timestamps are in order
SELECT to_stage FROM move('L-1', 'mql', occurred_at => '2026-03-02 09:00+00');
-- invalid: NULL and empty arguments
SELECT move(NULL, 'mql');
SELECT move('', 'mql');
SELECT move('L-3', NULL);
SELECT move('L-3', 'mql', occurred_at => NULL);
SELECT move('L-3', 'mql', occurred_at => 'infinity');
SELECT move('L-3', 'bogus');
-- nothing half-written by the failures
SELECT count(*) AS leads FROM lead WHERE lead_key <> 'L-1';
SELECT count(*) AS events FROM stage_event WHERE lead_key <> 'L-1';

-- the way to customer, a lost deal, and an existing customer coming back
SELECT to_stage FROM move('C-1', 'sql', occurred_at => '2026-02-01 09:00+00', team => 'key accounts');
SELECT to_stage FROM move('C-1', 'opportunity', occurred_at => '2026-02-02 09:00+00');
SELECT to_stage FROM move('C-1', 'customer', occurred_at => '2026-02-20 09:00+00');
SELECT is_existing_customer, customer_at FROM lead WHERE lead_key = 'C-1';
SELECT to_stage FROM move('C-1', 'opportunity', occurred_at => '2026-06-01 09:00+00');
SELECT is_existing_customer, customer_at, opportunity_at, stage FROM lead WHERE lead_key = 'C-1';
SELECT to_stage, reason FROM move('C-1', 'lost', reason => 'price', occurred_at => '2026-06-20 09:00+00');
SELECT stage, lost_at FROM lead WHERE lead_key = 'C-1';
SELECT to_stage FROM move('C-1', 'recycled', occurred_at => '2026-07-01 09:00+00');
SELECT to_stage FROM move('C-1', 'disqualified', occurred_at => '2026-07-02 09:00+00');
SELECT stage, disqualified_at, recycled_count FROM lead WHERE lead_key = 'C-1';

-- deals
SELECT to_stage FROM move('D-1', 'customer', occurred_at => '2026-04-01 09:00+00');
SELECT lead_key, amount, won_at, is_existing_customer FROM record_deal('D-1', 12000, '2026-04-01 09:00+00');
SELECT lead_key, amount, won_at, is_existing_customer FROM record_deal('D-1', 3000, '2026-05-01 09:00+00');
-- invalid: deals of a lead that is not a customer, unknown lead, negative amount
SELECT record_deal('L-1', 100);
SELECT record_deal('nobody', 100);
SELECT record_deal('D-1', -1);
SELECT record_deal('D-1', 'NaN');
SELECT record_deal('D-1', NULL);

-- the ledger is written only by lead_funnel, even by a superuser
-- invalid: direct writes
INSERT INTO stage_event (lead_key, to_stage, occurred_at, source) VALUES ('X', 'mql', now(), 'me');
UPDATE stage_event SET reason = 'rewritten';
DELETE FROM stage_event;
TRUNCATE stage_event;
UPDATE lead SET stage = 'customer';
DELETE FROM lead;
INSERT INTO deal (lead_key, amount, won_at, is_existing_customer) VALUES ('X', 1, now(), false);
DO $$
BEGIN
  DELETE FROM lead_funnel.lead;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'sqlstate %', SQLSTATE;
END $$;
SELECT count(*) AS events FROM stage_event;

-- an edit of the graph takes effect in the next statement
INSERT INTO transition VALUES ('prospect', 'sql', false);
SELECT to_stage FROM move('E-1', 'prospect', occurred_at => '2026-01-01 09:00+00');
SELECT to_stage FROM move('E-1', 'sql', occurred_at => '2026-01-02 09:00+00');
DELETE FROM transition WHERE from_stage = 'prospect' AND to_stage = 'sql';
SELECT to_stage FROM move('E-2', 'prospect', occurred_at => '2026-01-01 09:00+00');
SELECT move('E-2', 'sql', occurred_at => '2026-01-02 09:00+00');
-- also inside one transaction
BEGIN;
UPDATE transition SET requires_reason = true WHERE from_stage = 'prospect' AND to_stage = 'mql';
SELECT move('E-2', 'mql', occurred_at => '2026-01-02 09:00+00');
ROLLBACK;
SELECT to_stage FROM move('E-2', 'mql', occurred_at => '2026-01-02 09:00+00');
-- invalid config rows
INSERT INTO transition VALUES ('mql', 'mql', false);
INSERT INTO transition VALUES ('mql', 'sal', true);
INSERT INTO transition VALUES (NULL, 'prospect', true);
INSERT INTO transition VALUES ('mql', NULL, false);

-- a graph without exits
DELETE FROM transition WHERE from_stage = 'customer';
SELECT move('D-1', 'opportunity', occurred_at => '2026-06-01 09:00+00');
INSERT INTO transition VALUES ('customer', 'opportunity', false);

-- time travel
SELECT stage_at('L-1', '2026-01-05 09:59+00') AS before_entry,
       stage_at('L-1', '2026-01-05 10:00+00') AS at_entry,
       stage_at('L-1', '2026-01-07 00:00+00') AS jan7,
       stage_at('L-1', '2026-02-01 00:00+00') AS feb1,
       stage_at('L-1', '2026-03-02 09:00+00') AS mar2,
       stage_at('nobody', now()) AS unknown;
SELECT * FROM funnel_at('2026-01-07 00:00+00');
SELECT * FROM funnel_at('2026-12-31 00:00+00');
SELECT * FROM funnel_at('2025-01-01 00:00+00') WHERE leads > 0;

-- the full ledger of L-1
SELECT from_stage, to_stage, occurred_at, actor, reason, source FROM stage_event WHERE lead_key = 'L-1' ORDER BY event_id;

-- a team given by hand is recorded as a manual assignment (once per change)
SELECT lead_key, team, assigned_at, reason FROM assignment ORDER BY lead_key, assignment_id;
