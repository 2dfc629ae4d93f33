-- activities, engagement with exact decay, score() and automatic MQL
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;
SET timezone = 'UTC';

UPDATE scoring_model SET half_life = '10 days', mql_threshold = 60 WHERE model = 'default';
INSERT INTO scoring_rule (model, dimension, event_type, points) VALUES
  ('default', 'engagement', 'webinar_attended', 40),
  ('default', 'engagement', 'form_submit', 20),
  ('default', 'engagement', 'email_open', 2),
  ('default', 'engagement', 'email_sent', -1);
INSERT INTO scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'employees', '>=', '50', 10);

SELECT to_stage FROM move('A', 'prospect', occurred_at => '2026-01-01 00:00+00');
SELECT to_stage FROM move('B', 'prospect', occurred_at => '2026-01-01 00:00+00');

-- decay is exact: 40 after exactly one half-life is 20, after three 5
SELECT record_activity('A', 'webinar_attended', '2026-01-01 00:00+00', 'webinar');
SELECT engagement_at('A', '2026-01-01 00:00+00') AS at_0,
       engagement_at('A', '2026-01-11 00:00+00') AS after_1_half_life,
       engagement_at('A', '2026-01-31 00:00+00') AS after_3_half_lives;
-- a second activity one half-life later: 20 + 20
SELECT record_activity('A', 'form_submit', '2026-01-11 00:00+00', 'webinar');
SELECT engagement, engagement_as_of FROM lead WHERE lead_key = 'A';
-- negative points
SELECT record_activity('A', 'email_sent', '2026-01-11 00:00+00');
-- before the latest activity, engagement is summed from the ledger
SELECT engagement_at('A', '2026-01-06 00:00+00') AS between_activities,
       engagement_at('A', '2025-12-31 00:00+00') AS before_any;

-- activities out of time order give the same engagement as in order (exactly here:
-- whole half-lives; otherwise up to rounding, see below)
SELECT record_activity('B', 'email_sent', '2026-01-11 00:00+00');
SELECT record_activity('B', 'webinar_attended', '2026-01-01 00:00+00');
SELECT record_activity('B', 'form_submit', '2026-01-11 00:00+00');
SELECT (SELECT engagement FROM lead WHERE lead_key = 'A') = (SELECT engagement FROM lead WHERE lead_key = 'B')
       AS same_engagement,
       engagement_at('A', '2026-02-10 00:00+00') = engagement_at('B', '2026-02-10 00:00+00') AS same_later;
SELECT lead_key, event_type, occurred_at, campaign, points FROM activity ORDER BY lead_key, activity_id;

-- score = fit + engagement now (no fit score yet: fit counts 0)
SELECT score('A') >= 0 AS has_score, score('nobody') AS unknown_lead;

-- invalid: unknown lead, unknown event type, NULLs, empty strings, infinity
SELECT record_activity('nobody', 'email_open');
SELECT record_activity('A', 'fax_sent');
SELECT record_activity(NULL, 'email_open');
SELECT record_activity('A', NULL);
SELECT record_activity('', 'email_open');
SELECT record_activity('A', 'email_open', NULL);
SELECT record_activity('A', 'email_open', 'infinity');
SELECT engagement_at('A', 'infinity');
SELECT engagement_at('nobody') AS unknown;
-- nothing half-written by the failures
SELECT count(*) AS activities FROM activity;
-- invalid: direct writes
INSERT INTO activity (lead_key, event_type, occurred_at) VALUES ('A', 'email_open', now());

-- automatic MQL: off by default, nothing moves
SELECT to_stage FROM move('C', 'prospect', occurred_at => '2026-03-01 09:00+00');
SELECT record_activity('C', 'webinar_attended', '2026-03-02 09:00+00');
SELECT record_activity('C', 'form_submit', '2026-03-02 10:00+00');
SELECT stage FROM lead WHERE lead_key = 'C';
-- on: the lead that reaches the threshold exactly becomes MQL (actor scoring)
UPDATE scoring_model SET auto_mql = true WHERE model = 'default';
SELECT to_stage FROM move('D', 'prospect', occurred_at => '2026-03-01 09:00+00');
SELECT record_activity('D', 'webinar_attended', '2026-03-02 09:00+00');
SELECT stage FROM lead WHERE lead_key = 'D';
SELECT record_activity('D', 'form_submit', '2026-03-02 09:00+00');
SELECT stage, mql_at, sla_due_at FROM lead WHERE lead_key = 'D';
SELECT from_stage, to_stage, occurred_at, actor, source FROM stage_event WHERE lead_key = 'D' ORDER BY event_id;
-- an MQL is not moved again; a recycled lead is
SELECT record_activity('D', 'webinar_attended', '2026-03-03 09:00+00');
SELECT to_stage FROM move('D', 'recycled', 'not now', occurred_at => '2026-03-04 09:00+00');
SELECT record_activity('D', 'email_open', '2026-03-05 09:00+00');
SELECT stage, recycled_count FROM lead WHERE lead_key = 'D';
-- a late activity: the score reaches 60 only as of the latest activity (03-10,
-- 40 + 40 * 2^-0.5), so the move is dated then and not at the late activity's
-- time (03-05, when the engagement was 40)
SELECT to_stage FROM move('E', 'prospect', occurred_at => '2026-03-01 00:00+00');
SELECT record_activity('E', 'webinar_attended', '2026-03-10 00:00+00');
SELECT record_activity('E', 'webinar_attended', '2026-03-05 00:00+00');
SELECT engagement_at('E', '2026-03-05 00:00+00') AS at_late_activity;
SELECT stage, mql_at FROM lead WHERE lead_key = 'E';
SELECT to_stage, occurred_at, source FROM stage_event WHERE lead_key = 'E' ORDER BY event_id;
-- the agreement forbids the automatic move: the activities are recorded, the
-- move is skipped with a WARNING naming the lead (a reason required, LF002;
-- the move not allowed at all, LF001); the lead moves once it is allowed
SELECT to_stage FROM move('F', 'prospect', occurred_at => '2026-04-01 00:00+00');
UPDATE transition SET requires_reason = true WHERE from_stage = 'prospect' AND to_stage = 'mql';
SELECT record_activity('F', 'webinar_attended', '2026-04-02 00:00+00');
SELECT record_activity('F', 'webinar_attended', '2026-04-02 00:00+00');
DELETE FROM transition WHERE from_stage = 'prospect' AND to_stage = 'mql';
SELECT record_activity('F', 'form_submit', '2026-04-03 00:00+00');
SELECT stage, engagement, engagement_as_of FROM lead WHERE lead_key = 'F';
SELECT event_type, occurred_at, points FROM activity WHERE lead_key = 'F' ORDER BY activity_id;
SELECT count(*) AS violations_recorded FROM violation WHERE lead_key = 'F';
INSERT INTO transition (from_stage, to_stage) VALUES ('prospect', 'mql');
SELECT record_activity('F', 'email_open', '2026-04-04 00:00+00');
SELECT to_stage, occurred_at, source FROM stage_event WHERE lead_key = 'F' ORDER BY event_id;
-- activities out of time order agree with recording in time order up to the
-- rounding of each step to 10 decimal places: at most 1e-10 per activity
-- (five webinars: 57.4880444778 in order, 57.4880444779 in reverse)
UPDATE scoring_model SET auto_mql = false WHERE model = 'default';
SELECT count(move(k, 'prospect', occurred_at => '2026-05-01 00:00+00'))
  FROM unnest('{L1,L2,O1,O2,O3}'::text[]) k;
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT t FROM (VALUES ('2026-05-02 01:23+00'::timestamptz), ('2026-05-05 07:11+00'),
      ('2026-05-09 13:17+00'), ('2026-05-20 03:03+00'), ('2026-06-11 22:22+00')) v(t) ORDER BY t LOOP
    PERFORM lead_funnel.record_activity('L1', 'webinar_attended', r.t);
  END LOOP;
  FOR r IN SELECT t FROM (VALUES ('2026-05-02 01:23+00'::timestamptz), ('2026-05-05 07:11+00'),
      ('2026-05-09 13:17+00'), ('2026-05-20 03:03+00'), ('2026-06-11 22:22+00')) v(t) ORDER BY t DESC LOOP
    PERFORM lead_funnel.record_activity('L2', 'webinar_attended', r.t);
  END LOOP;
  -- 40 activities of four kinds: in order, in reverse, shuffled
  FOR r IN SELECT i, '2026-05-01 00:00+00'::timestamptz + (i * 37 % 97) * interval '7 hours 13 minutes 17 seconds' AS t,
                  (ARRAY['webinar_attended', 'form_submit', 'email_open', 'email_sent'])[i % 4 + 1] AS e
             FROM generate_series(1, 40) i ORDER BY t LOOP
    PERFORM lead_funnel.record_activity('O1', r.e, r.t);
  END LOOP;
  FOR r IN SELECT i, '2026-05-01 00:00+00'::timestamptz + (i * 37 % 97) * interval '7 hours 13 minutes 17 seconds' AS t,
                  (ARRAY['webinar_attended', 'form_submit', 'email_open', 'email_sent'])[i % 4 + 1] AS e
             FROM generate_series(1, 40) i ORDER BY t DESC LOOP
    PERFORM lead_funnel.record_activity('O2', r.e, r.t);
  END LOOP;
  FOR r IN SELECT i, '2026-05-01 00:00+00'::timestamptz + (i * 37 % 97) * interval '7 hours 13 minutes 17 seconds' AS t,
                  (ARRAY['webinar_attended', 'form_submit', 'email_open', 'email_sent'])[i % 4 + 1] AS e
             FROM generate_series(1, 40) i ORDER BY md5(i::text) LOOP
    PERFORM lead_funnel.record_activity('O3', r.e, r.t);
  END LOOP;
END
$$;
SELECT lead_key, engagement, engagement_as_of FROM lead WHERE lead_key IN ('L1', 'L2') ORDER BY 1;
SELECT abs(l1.engagement - l2.engagement) <= 5e-10 AS five_within_bound,
       abs(engagement_at('L1', '2026-07-11 00:00+00') - engagement_at('L2', '2026-07-11 00:00+00')) <= 5e-10
         AS five_later_within_bound
  FROM lead l1, lead l2 WHERE l1.lead_key = 'L1' AND l2.lead_key = 'L2';
SELECT o.lead_key, abs(o.engagement - o1.engagement) <= 40e-10 AS forty_within_bound,
       o.engagement_as_of = o1.engagement_as_of AS same_as_of,
       abs(engagement_at(o.lead_key, '2026-07-01 00:00+00') - engagement_at('O1', '2026-07-01 00:00+00')) <= 40e-10
         AS forty_later_within_bound
  FROM lead o, lead o1 WHERE o.lead_key IN ('O2', 'O3') AND o1.lead_key = 'O1' ORDER BY 1;

-- record_activity writes its rows directly (tableio.c), keeping the tables
-- open for the transaction.  A rolled-back savepoint takes its activity and
-- engagement with it, and the next activity of the transaction still works.
SELECT to_stage FROM move('T1', 'prospect', occurred_at => '2026-06-01 00:00+00');
BEGIN;
SELECT record_activity('T1', 'email_open', '2026-06-01 01:00+00');
SAVEPOINT s;
SELECT record_activity('T1', 'form_submit', '2026-06-01 02:00+00');
ROLLBACK TO SAVEPOINT s;
-- an error in the middle of a use (unknown lead) inside a savepoint
SAVEPOINT s2;
SELECT record_activity('nobody', 'email_open', '2026-06-01 02:00+00');
ROLLBACK TO SAVEPOINT s2;
SELECT record_activity('T1', 'email_open', '2026-06-01 03:00+00');
COMMIT;
SELECT round(engagement, 6) AS engagement, engagement_as_of FROM lead WHERE lead_key = 'T1';
SELECT event_type, occurred_at, points FROM activity WHERE lead_key = 'T1' ORDER BY activity_id;
-- an index created in the middle of a transaction is maintained by the next
-- activity (the open table notices the changed definition)
BEGIN;
SELECT record_activity('T1', 'email_open', '2026-06-02 00:00+00');
CREATE INDEX activity_test_idx ON activity (occurred_at);
SELECT record_activity('T1', 'email_open', '2026-06-03 00:00+00');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT count(*) AS found_through_new_index FROM activity WHERE occurred_at = '2026-06-03 00:00+00';
ROLLBACK;
-- row triggers a user put on the ledger fire for these writes, like for any
-- other write
CREATE FUNCTION public.lead_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'lead % engagement % -> %', NEW.lead_key, round(OLD.engagement, 4), round(NEW.engagement, 4);
  RETURN NEW;
END $$;
CREATE TRIGGER user_audit AFTER UPDATE ON lead FOR EACH ROW EXECUTE FUNCTION public.lead_changed();
SELECT record_activity('T1', 'email_open', '2026-06-04 00:00+00') IS NOT NULL AS recorded;
DROP TRIGGER user_audit ON lead;
DROP FUNCTION public.lead_changed();
