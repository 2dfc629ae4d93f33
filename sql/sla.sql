-- service levels: policies, the clock on move(), sla_status, sla_sweep
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;
SET timezone = 'UTC';

-- the installed policies
SELECT stage, max_business_time, calendar, warn_fraction, action FROM sla_policy ORDER BY stage;

-- invalid input: months, zero, negative amounts (22023)
INSERT INTO sla_policy (stage, max_business_time) VALUES ('sql', '1 month');
INSERT INTO sla_policy (stage, max_business_time) VALUES ('sql', '1 year');
INSERT INTO sla_policy (stage, max_business_time) VALUES ('sql', '0 hours');
INSERT INTO sla_policy (stage, max_business_time) VALUES ('sql', '1 day -25 hours');
UPDATE sla_policy SET max_business_time = '-1 hour' WHERE stage = 'mql';
-- invalid input: closed stages cannot have a clock (22023)
INSERT INTO sla_policy (stage, max_business_time) VALUES ('customer', '8 hours');
INSERT INTO sla_policy (stage, max_business_time) VALUES ('disqualified', '8 hours');
INSERT INTO sla_policy (stage, max_business_time) VALUES ('lost', '8 hours');
-- invalid input: recycle where the graph has no move to recycled (23514)
INSERT INTO sla_policy (stage, max_business_time, action) VALUES ('prospect', '8 hours', 'recycle');
INSERT INTO sla_policy (stage, max_business_time, action) VALUES ('recycled', '8 hours', 'recycle');
-- invalid input: warn_fraction, action, calendar, NULLs
INSERT INTO sla_policy (stage, max_business_time, warn_fraction) VALUES ('sql', '8 hours', 0);
INSERT INTO sla_policy (stage, max_business_time, warn_fraction) VALUES ('sql', '8 hours', 1.01);
INSERT INTO sla_policy (stage, max_business_time, action) VALUES ('sql', '8 hours', 'escalate');
INSERT INTO sla_policy (stage, max_business_time, calendar) VALUES ('sql', '8 hours', 'nowhere');
INSERT INTO sla_policy (stage, max_business_time) VALUES ('sql', NULL);
INSERT INTO sla_policy (stage, max_business_time) VALUES (NULL, '8 hours');
INSERT INTO sla_policy (stage, max_business_time) VALUES ('mql', '8 hours');
DO $$
DECLARE
  bad text[] := ARRAY[
    $i$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('sql', '2 months')$i$,
    $i$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('sql', '0')$i$,
    $i$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('lost', '1 hour')$i$,
    $i$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, action) VALUES ('prospect', '1 hour', 'recycle')$i$,
    $i$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, warn_fraction) VALUES ('sql', '1 hour', -1)$i$,
    $i$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, calendar) VALUES ('sql', '1 hour', 'x')$i$];
  s text;
BEGIN
  FOREACH s IN ARRAY bad LOOP
    BEGIN
      EXECUTE s;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'sqlstate %', SQLSTATE;
    END;
  END LOOP;
END $$;
-- nothing was written by the failures
SELECT count(*) AS policies FROM sla_policy;
-- valid: recycle where the graph allows it; a renamed calendar cascades
INSERT INTO calendar VALUES ('ops', 'UTC', '{1,2,3,4,5,6,7}', '00:00', '24:00');
INSERT INTO sla_policy (stage, max_business_time, calendar, warn_fraction, action)
  VALUES ('sql', '100 hours', 'ops', 0.5, 'recycle');
UPDATE calendar SET name = 'ops24' WHERE name = 'ops';
SELECT stage, calendar FROM sla_policy WHERE stage = 'sql';
-- invalid input: a calendar used by a policy cannot be deleted
DELETE FROM calendar WHERE name = 'ops24';
DELETE FROM sla_policy WHERE stage = 'sql';

-- the clock: Friday 9 January 2026 15:00 UTC, 16 business hours in the default
-- calendar (Mon-Fri 09-17 UTC): 2 h Friday, 8 h Monday, 6 h Tuesday
SELECT to_stage FROM move('L-1', 'mql', occurred_at => '2026-01-09 15:00+00');
SELECT stage, sla_due_at, business_time(stage_entered_at, sla_due_at) AS worked
  FROM lead WHERE lead_key = 'L-1';
-- sal: 40 business hours from Monday 12 January 10:00 = Monday 19 January 10:00
SELECT to_stage FROM move('L-1', 'sal', occurred_at => '2026-01-12 10:00+00');
SELECT stage, sla_due_at FROM lead WHERE lead_key = 'L-1';
-- leaving for a stage without a policy clears it
SELECT to_stage FROM move('L-1', 'sql', occurred_at => '2026-01-13 10:00+00');
SELECT stage, sla_due_at IS NULL AS cleared FROM lead WHERE lead_key = 'L-1';
-- a lead entering at mql on a Saturday: the clock starts on Monday
SELECT to_stage FROM move('L-2', 'mql', occurred_at => '2026-01-10 11:00+00');
SELECT sla_due_at FROM lead WHERE lead_key = 'L-2';
-- a holiday added since counts for the next lead entering at that same
-- instant (the last due time computed is not reused): Monday off, due Wednesday
INSERT INTO holiday VALUES ('default', '2026-01-12', 'test');
SELECT to_stage FROM move('L-2h', 'mql', occurred_at => '2026-01-10 11:00+00');
SELECT sla_due_at FROM lead WHERE lead_key = 'L-2h';
DELETE FROM holiday WHERE name = 'test';
SELECT to_stage FROM move('L-2i', 'mql', occurred_at => '2026-01-10 11:00+00');
SELECT sla_due_at FROM lead WHERE lead_key = 'L-2i';
SELECT count(move(k, 'disqualified', 'test lead')) AS out FROM unnest('{L-2h,L-2i}'::text[]) AS k;

-- a policy change applies to the next move in this session (cache invalidated)
UPDATE sla_policy SET max_business_time = '4 hours' WHERE stage = 'mql';
SELECT to_stage FROM move('L-3', 'mql', occurred_at => '2026-01-12 09:00+00');
SELECT sla_due_at FROM lead WHERE lead_key = 'L-3';
DELETE FROM sla_policy WHERE stage = 'mql';
SELECT to_stage FROM move('L-4', 'mql', occurred_at => '2026-01-12 09:00+00');
SELECT sla_due_at IS NULL AS no_clock FROM lead WHERE lead_key = 'L-4';
INSERT INTO sla_policy (stage, max_business_time) VALUES ('mql', '16 hours');
-- running clocks keep the due time agreed at entry
SELECT lead_key, sla_due_at FROM lead WHERE lead_key IN ('L-2', 'L-3') ORDER BY lead_key;

-- sla_status: relative to now(), in a calendar that always works
INSERT INTO calendar VALUES ('always', 'UTC', '{1,2,3,4,5,6,7}', '00:00', '24:00');
UPDATE sla_policy SET max_business_time = '1000 hours', calendar = 'always' WHERE stage = 'sal';
BEGIN;  -- one now() for the moves and the view
SELECT to_stage FROM move('S-on-time', 'sal', occurred_at => now() - interval '10 hours');
SELECT to_stage FROM move('S-at-risk', 'sal', occurred_at => now() - interval '750 hours');
SELECT to_stage FROM move('S-breached', 'sal', occurred_at => now() - interval '1000 hours');
SELECT lead_key, stage, business_elapsed, state,
       sla_due_at = stage_entered_at + interval '1000 hours' AS due_ok
  FROM sla_status WHERE lead_key LIKE 'S-%' ORDER BY lead_key;
-- the old mql leads are long breached; a lead without a clock is not listed
SELECT lead_key, state FROM sla_status WHERE lead_key LIKE 'L-%' ORDER BY lead_key;
COMMIT;
-- a policy changed after the leads entered: at risk still means warn_fraction
-- of the window agreed at entry (S-at-risk: 750 of its 1000 hours), not of
-- today's 10 hours, which would put S-on-time (10 hours in, 990 to go) at risk
BEGIN;
UPDATE sla_policy SET max_business_time = '10 hours' WHERE stage = 'sal';
SELECT lead_key, state FROM sla_status WHERE lead_key LIKE 'S-%' ORDER BY lead_key;
ROLLBACK;
-- a lead whose policy was deleted keeps its clock; its elapsed time is unknown
DELETE FROM sla_policy WHERE stage = 'sal';
SELECT lead_key, business_elapsed, state FROM sla_status WHERE lead_key LIKE 'S-%' ORDER BY lead_key;
INSERT INTO sla_policy (stage, max_business_time) VALUES ('sal', '40 hours');
SELECT count(move(k, 'sql')) AS moved FROM unnest('{S-on-time,S-at-risk,S-breached}'::text[]) AS k;

-- sla_sweep: L-2 (due 2026-01-13 17:00) and L-3 (due 2026-01-12 13:00) are in mql
SELECT lead_key, stage, sla_due_at FROM lead WHERE sla_due_at IS NOT NULL ORDER BY sla_due_at;
SELECT sla_sweep('2026-01-12 12:59:59.999999+00') AS found;
SELECT sla_sweep('2026-01-12 13:00+00') AS found;
SELECT sla_sweep('2026-01-12 13:00+00') AS again;
SELECT sla_sweep('2026-01-20 00:00+00') AS found;
SELECT sla_sweep('2026-01-21 00:00+00') AS again;
SELECT lead_key, stage, team, sla_due_at, detected_at, action FROM sla_breach ORDER BY breach_id;
-- notify leaves the lead where it is
SELECT lead_key, stage FROM lead WHERE lead_key IN ('L-2', 'L-3') ORDER BY lead_key;
-- a lead that enters the stage again has a new clock and can breach again
SELECT to_stage FROM move('L-3', 'recycled', reason => 'no answer', occurred_at => '2026-01-21 09:00+00');
SELECT to_stage FROM move('L-3', 'mql', occurred_at => '2026-01-21 10:00+00');
SELECT sla_sweep('2026-02-01 00:00+00') AS found;
SELECT lead_key, stage, sla_due_at, detected_at FROM sla_breach WHERE lead_key = 'L-3' ORDER BY breach_id;
-- ... also when the new entry gets the due time of the recorded one: Q-1
-- enters mql on Saturday, breaches Tuesday 17:00, is sent back and enters
-- again that Saturday (back-dated): due Tuesday 17:00 again
SELECT to_stage FROM move('Q-1', 'mql', occurred_at => '2024-01-06 10:00+00');
SELECT sla_sweep('2024-01-09 18:00+00') AS found;
SELECT to_stage FROM move('Q-1', 'recycled', 'no answer', occurred_at => '2024-01-06 11:00+00');
SELECT to_stage FROM move('Q-1', 'mql', occurred_at => '2024-01-06 12:00+00');
SELECT sla_sweep('2024-01-10 18:00+00') AS found;
SELECT sla_sweep('2024-01-10 18:00+00') AS again;
SELECT lead_key, stage, stage_entered_at, sla_due_at, detected_at FROM sla_breach
 WHERE lead_key = 'Q-1' ORDER BY breach_id;

-- action recycle: the lead goes back to marketing, reason sla_expired, actor sla
UPDATE sla_policy SET action = 'recycle' WHERE stage = 'mql';
SELECT to_stage FROM move('R-1', 'mql', team => 'nord', occurred_at => '2026-02-02 09:00+00');
SELECT sla_sweep('2026-02-04 09:00+00') AS found;
SELECT lead_key, stage, team, action FROM sla_breach WHERE lead_key = 'R-1';
SELECT lead_key, stage, sla_due_at, recycled_count FROM lead WHERE lead_key = 'R-1';
SELECT from_stage, to_stage, occurred_at, actor, team, reason FROM stage_event
 WHERE lead_key = 'R-1' ORDER BY event_id;
-- the graph no longer allows mql -> recycled: the breach is recorded, a WARNING names the lead
SELECT to_stage FROM move('R-2', 'mql', occurred_at => '2026-02-02 09:00+00');
DELETE FROM transition WHERE from_stage = 'mql' AND to_stage = 'recycled';
SELECT sla_sweep('2026-02-04 09:00+00') AS found;
SELECT lead_key, action FROM sla_breach WHERE lead_key = 'R-2';
SELECT stage FROM lead WHERE lead_key = 'R-2';
INSERT INTO transition VALUES ('mql', 'recycled', true);

-- action reassign: the breached lead goes to another team (routing with
-- exclude_team), recorded as an sla_escalation assignment
UPDATE sla_policy SET action = 'reassign' WHERE stage = 'mql';
INSERT INTO team VALUES ('nord', 10, true, NULL), ('sued', 10, true, NULL);
SELECT to_stage FROM move('A-1', 'mql', team => 'nord', occurred_at => '2026-02-02 09:00+00');
SELECT sla_sweep('2026-02-04 09:00+00');
SELECT lead_key, team, action FROM sla_breach WHERE lead_key = 'A-1';
SELECT team FROM lead WHERE lead_key = 'A-1';
SELECT lead_key, team, reason FROM assignment WHERE lead_key = 'A-1';
UPDATE sla_policy SET action = 'notify' WHERE stage = 'mql';
-- (A-1, open in a team, leaves the funnel: with no open lead in a team left,
-- the teams can be truncated)
SELECT to_stage FROM move('A-1', 'disqualified', 'test over', occurred_at => '2026-02-05 09:00+00');
TRUNCATE team;
SELECT count(*) AS teams FROM team;
-- (a lead whose team is not in the table does not hold TRUNCATE back: with no
-- team defined, G-1 takes any team name)
SELECT to_stage FROM move('G-1', 'sql', team => 'ghost', occurred_at => '2026-02-05 09:00+00');
INSERT INTO team (team, capacity) VALUES ('real', 5);
TRUNCATE team;
SELECT count(*) AS teams FROM team;

-- the running clocks (sla_clock): one per stage entry under a policy, taken
-- by the first sweep that reaches its due time, whether it became a breach or
-- its lead had moved on
SELECT to_stage FROM move('C-1', 'mql', occurred_at => '2026-03-02 09:00+00');
SELECT to_stage FROM move('C-2', 'mql', occurred_at => '2026-03-02 09:00+00');
SELECT to_stage FROM move('C-2', 'sal', occurred_at => '2026-03-02 10:00+00');
SELECT lead_key, stage, stage_entered_at, sla_due_at FROM sla_clock
 WHERE lead_key LIKE 'C-%' ORDER BY lead_key, stage_entered_at;
-- at the mql due time: C-1 breaches; C-2's mql clock is dropped (it is in sal now)
SELECT sla_sweep('2026-03-04 09:00+00') AS found;
SELECT lead_key, stage FROM sla_breach WHERE lead_key LIKE 'C-%';
SELECT lead_key, stage FROM sla_clock WHERE lead_key LIKE 'C-%' ORDER BY 1;
-- a clock is taken once: the same sweep again finds nothing
SELECT sla_sweep('2026-03-04 09:00+00') AS found_again;
-- leaving the stage clears the lead's due time; its clock waits for its due time and is dropped
SELECT to_stage FROM move('C-2', 'sql', occurred_at => '2026-03-04 10:00+00');
SELECT sla_due_at FROM lead WHERE lead_key = 'C-2';
SELECT sla_sweep('2026-04-01 00:00+00') AS found_later;
SELECT count(*) AS clocks_left FROM sla_clock WHERE lead_key LIKE 'C-%';
-- invalid: only lead_funnel writes sla_clock
INSERT INTO sla_clock VALUES (now(), 'X', 'mql', now());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM sla_clock;
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- invalid input: NULL and infinite as_of
SELECT sla_sweep(NULL);
SELECT sla_sweep('infinity');
-- invalid: only lead_funnel writes sla_breach
INSERT INTO sla_breach (lead_key, stage, sla_due_at, detected_at, action)
  VALUES ('X', 'mql', now(), now(), 'notify');
DELETE FROM sla_breach;
-- the sweep is not for PUBLIC
SELECT has_function_privilege('public', 'lead_funnel.sla_sweep(timestamptz)', 'execute') AS public_sweep,
       has_function_privilege('public', 'lead_funnel.schedule_jobs(text, text)', 'execute') AS public_schedule;

-- pg_cron lives in database postgres (cron.database_name), not here: the error
-- gives the commands to run there (sql/sla_cron.sql tests the jobs themselves)
SELECT schedule_jobs();
SELECT unschedule_jobs();
SELECT schedule_jobs(NULL);
-- without pg_cron at all (cron.database_name unset)
SELECT lf_cron_check(NULL, '{{a,b,c}}');
