-- KPI views, snapshots, the health check and the funnel chart, on a small
-- hand-built dataset whose every figure is computed by hand in the comments.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;
SET timezone = 'UTC';

-- ---------------------------------------------------------------------------
-- an empty database: every view is empty, the health check says "no data"
-- for every question, the chart still renders
-- ---------------------------------------------------------------------------
SELECT (SELECT count(*) FROM lead_journey) AS journey, (SELECT count(*) FROM kpi_funnel) AS funnel,
       (SELECT count(*) FROM kpi_handoff) AS handoff, (SELECT count(*) FROM kpi_rejections) AS rejections,
       (SELECT count(*) FROM kpi_response_rate) AS response, (SELECT count(*) FROM kpi_team_load) AS load,
       (SELECT count(*) FROM kpi_revenue_mix) AS revenue, (SELECT count(*) FROM kpi_after_sales) AS after_sales;
SELECT question, value, unit, verdict FROM health_check('2026-03-01 00:00+00');
SELECT xml_is_well_formed_document(funnel_svg('2026-01-01', '2026-03-01')) AS well_formed,
       funnel_svg('2026-01-01', '2026-03-01') LIKE '%No lead reached the funnel in this window.%' AS says_empty;
SELECT snapshot_kpis('2026-03-01') AS rows_stored;

-- ---------------------------------------------------------------------------
-- the dataset
--
-- Working days: 2026-01-05 Mon, 01-06 Tue, 01-07 Wed; 02-02 Mon, 02-03 Tue.
-- Every span from the first MQL time to the first answer, to SAL and to SQL
-- lies within one working day (09:00-17:00 UTC), so business hours equal
-- wall-clock hours: the stub business_time() (wall clock) and the real one
-- ('default' calendar, Mon-Fri 09-17 UTC) give the same numbers.  Values that
-- go through business_time are marked [bt] below.
--
-- Teams nord (capacity 5), sued (capacity 2), reserve (capacity 0, inactive).
-- Campaigns fair, webinar, ads (and one lead without a campaign).
-- ---------------------------------------------------------------------------
INSERT INTO team (team, capacity, active) VALUES ('nord', 5, true), ('sued', 2, true), ('reserve', 0, false);

SELECT count(move(k, s::stage, r, occurred_at => t::timestamptz, team => tm, campaign => c)) AS events
  FROM (VALUES
  -- J1 fair nord: answered (sal) after 1 h, sql after 3 h, customer 01-08
  ('J1', 'prospect', NULL, '2026-01-05 08:00+00', 'nord', 'fair'),
  ('J1', 'mql', NULL, '2026-01-05 09:00+00', NULL, NULL),
  ('J1', 'sal', NULL, '2026-01-05 10:00+00', NULL, NULL),
  ('J1', 'sql', NULL, '2026-01-05 12:00+00', NULL, NULL),
  ('J1', 'opportunity', NULL, '2026-01-06 10:00+00', NULL, NULL),
  ('J1', 'customer', NULL, '2026-01-08 10:00+00', NULL, NULL),
  -- J2 fair nord: sal after 2 h, sql after 5 h, opportunity, lost, recycled (no reason)
  ('J2', 'prospect', NULL, '2026-01-05 08:00+00', 'nord', 'fair'),
  ('J2', 'mql', NULL, '2026-01-05 09:00+00', NULL, NULL),
  ('J2', 'sal', NULL, '2026-01-05 11:00+00', NULL, NULL),
  ('J2', 'sql', NULL, '2026-01-05 14:00+00', NULL, NULL),
  ('J2', 'opportunity', NULL, '2026-01-07 10:00+00', NULL, NULL),
  ('J2', 'lost', 'price', '2026-01-15 10:00+00', NULL, NULL),
  ('J2', 'recycled', NULL, '2026-01-20 10:00+00', NULL, NULL),
  -- J3 fair nord: sal after 4 h (team nord), sql after 7 h handed to team sued, recycled from sql
  ('J3', 'prospect', NULL, '2026-01-05 08:00+00', 'nord', 'fair'),
  ('J3', 'mql', NULL, '2026-01-05 09:00+00', NULL, NULL),
  ('J3', 'sal', NULL, '2026-01-05 13:00+00', NULL, NULL),
  ('J3', 'sql', NULL, '2026-01-05 16:00+00', 'sued', NULL),
  ('J3', 'recycled', 'no budget', '2026-01-09 10:00+00', NULL, NULL),
  -- J4 fair nord: recycled after 3 h
  ('J4', 'prospect', NULL, '2026-01-05 08:00+00', 'nord', 'fair'),
  ('J4', 'mql', NULL, '2026-01-05 09:00+00', NULL, NULL),
  ('J4', 'recycled', 'timing', '2026-01-05 12:00+00', NULL, NULL),
  -- J5 webinar nord: disqualified after 8 h
  ('J5', 'prospect', NULL, '2026-01-06 08:00+00', 'nord', 'webinar'),
  ('J5', 'mql', NULL, '2026-01-06 09:00+00', NULL, NULL),
  ('J5', 'disqualified', 'competitor', '2026-01-06 17:00+00', NULL, NULL),
  -- J6 webinar nord: never answered
  ('J6', 'prospect', NULL, '2026-01-06 08:00+00', 'nord', 'webinar'),
  ('J6', 'mql', NULL, '2026-01-06 09:00+00', NULL, NULL),
  -- J7 ads sued: sal after 0.5 h, sql after 1.5 h, customer 01-12
  ('J7', 'prospect', NULL, '2026-01-07 08:00+00', 'sued', 'ads'),
  ('J7', 'mql', NULL, '2026-01-07 09:00+00', NULL, NULL),
  ('J7', 'sal', NULL, '2026-01-07 09:30+00', NULL, NULL),
  ('J7', 'sql', NULL, '2026-01-07 10:30+00', NULL, NULL),
  ('J7', 'opportunity', NULL, '2026-01-08 10:00+00', NULL, NULL),
  ('J7', 'customer', NULL, '2026-01-12 10:00+00', NULL, NULL),
  -- J8 ads sued: sal after 6 h
  ('J8', 'prospect', NULL, '2026-01-07 08:00+00', 'sued', 'ads'),
  ('J8', 'mql', NULL, '2026-01-07 09:00+00', NULL, NULL),
  ('J8', 'sal', NULL, '2026-01-07 15:00+00', NULL, NULL),
  -- J9 webinar, entered with team nord, disqualified by team sued after 1 h
  ('J9', 'prospect', NULL, '2026-01-07 08:00+00', 'nord', 'webinar'),
  ('J9', 'mql', NULL, '2026-01-07 09:00+00', NULL, NULL),
  ('J9', 'disqualified', 'no fit', '2026-01-07 10:00+00', 'sued', NULL),
  -- F1 fair nord: sal after 0.25 h, sql after 2 h, customer 02-05
  ('F1', 'prospect', NULL, '2026-02-02 08:00+00', 'nord', 'fair'),
  ('F1', 'mql', NULL, '2026-02-02 09:00+00', NULL, NULL),
  ('F1', 'sal', NULL, '2026-02-02 09:15+00', NULL, NULL),
  ('F1', 'sql', NULL, '2026-02-02 11:00+00', NULL, NULL),
  ('F1', 'opportunity', NULL, '2026-02-03 10:00+00', NULL, NULL),
  ('F1', 'customer', NULL, '2026-02-05 10:00+00', NULL, NULL),
  -- F2 ads nord: recycled after 1 h, MQL again 02-16 and accepted then
  ('F2', 'prospect', NULL, '2026-02-02 08:00+00', 'nord', 'ads'),
  ('F2', 'mql', NULL, '2026-02-02 09:00+00', NULL, NULL),
  ('F2', 'recycled', 'timing', '2026-02-02 10:00+00', NULL, NULL),
  ('F2', 'mql', NULL, '2026-02-16 09:00+00', NULL, NULL),
  ('F2', 'sal', NULL, '2026-02-16 11:00+00', NULL, NULL),
  -- F3 webinar sued: sal after 8 h, sql at the same instant, disqualified from sql
  ('F3', 'prospect', NULL, '2026-02-03 08:00+00', 'sued', 'webinar'),
  ('F3', 'mql', NULL, '2026-02-03 09:00+00', NULL, NULL),
  ('F3', 'sal', NULL, '2026-02-03 17:00+00', NULL, NULL),
  ('F3', 'sql', NULL, '2026-02-03 17:00+00', NULL, NULL),
  ('F3', 'disqualified', 'no budget', '2026-02-05 10:00+00', NULL, NULL),
  -- F4 webinar sued, F5 ads sued: never answered
  ('F4', 'prospect', NULL, '2026-02-03 08:00+00', 'sued', 'webinar'),
  ('F4', 'mql', NULL, '2026-02-03 09:00+00', NULL, NULL),
  ('F5', 'prospect', NULL, '2026-02-03 08:00+00', 'sued', 'ads'),
  ('F5', 'mql', NULL, '2026-02-03 09:00+00', NULL, NULL),
  -- F6 ads sued: enters at sal (never MQL), then sql
  ('F6', 'sal', NULL, '2026-02-04 09:00+00', 'sued', 'ads'),
  ('F6', 'sql', NULL, '2026-02-05 09:00+00', NULL, NULL),
  -- N1 without campaign, nord: enters at mql, sal after 3 h
  ('N1', 'mql', NULL, '2026-02-02 09:00+00', 'nord', NULL),
  ('N1', 'sal', NULL, '2026-02-02 12:00+00', NULL, NULL),
  -- M1 enters as customer in March (no team, no campaign); M2 fair sued, MQL in March, never answered
  ('M1', 'customer', NULL, '2026-03-02 10:00+00', NULL, NULL),
  ('M2', 'prospect', NULL, '2026-03-02 08:00+00', 'sued', 'fair'),
  ('M2', 'mql', NULL, '2026-03-02 09:00+00', NULL, NULL),
  -- P2 ads: a prospect discarded by marketing (no reason needed)
  ('P2', 'prospect', NULL, '2026-01-06 08:00+00', NULL, 'ads'),
  ('P2', 'disqualified', NULL, '2026-01-06 12:00+00', NULL, NULL)
  ) AS v(k, s, r, t, tm, c);
-- P1 fair: a prospect recorded without an actor
SELECT to_stage FROM move('P1', 'prospect', actor => NULL, occurred_at => '2026-01-05 08:00+00', campaign => 'fair');

-- deals: J1 1000 (new), J7 2000 (new), F1 3000 (new), M1 0 (new);
-- J1 comes back (customer -> opportunity -> customer) and buys again: 500 existing
SELECT lead_key, amount, won_at, is_existing_customer FROM record_deal('J1', 1000, '2026-01-08 10:00+00');
SELECT lead_key, amount, won_at, is_existing_customer FROM record_deal('J7', 2000, '2026-01-12 10:00+00');
SELECT lead_key, amount, won_at, is_existing_customer FROM record_deal('F1', 3000, '2026-02-05 10:00+00');
SELECT lead_key, amount, won_at, is_existing_customer FROM record_deal('M1', 0, '2026-03-02 10:00+00');
SELECT to_stage FROM move('J1', 'opportunity', occurred_at => '2026-02-10 10:00+00');
SELECT to_stage FROM move('J1', 'customer', occurred_at => '2026-02-12 10:00+00');
SELECT lead_key, amount, won_at, is_existing_customer FROM record_deal('J1', 500, '2026-02-12 10:00+00');

-- ---- BEGIN fabricated rows of ledger tables (breaches, assignments,
-- ---- activities with exact times): written directly as a superuser, past
-- ---- the ledger guard triggers, to pin every KPI input down
SET session_replication_role = replica;
-- SLA breaches: three handover breaches in the quarter (detected 5 min, 2 h
-- and 30 min after the due time), one recent handover breach of M2 and one
-- recent sal breach of J8 (both team sued, both within the last 30 days).
INSERT INTO sla_breach (lead_key, stage, team, sla_due_at, detected_at, action, stage_entered_at) VALUES
  ('J6', 'mql', 'nord', '2026-01-07 17:00+00', '2026-01-07 17:05+00', 'notify', '2026-01-05 17:00+00'),
  ('F4', 'mql', 'sued', '2026-02-04 17:00+00', '2026-02-04 19:00+00', 'notify', '2026-02-02 17:00+00'),
  ('F5', 'mql', 'sued', '2026-02-04 17:00+00', '2026-02-04 17:30+00', 'notify', '2026-02-02 17:00+00'),
  ('M2', 'mql', 'sued', '2026-03-04 09:00+00', now() - interval '1 day', 'notify', '2026-03-02 09:00+00'),
  ('J8', 'sal', 'sued', now() - interval '3 days', now() - interval '3 days' + interval '10 minutes', 'notify',
   now() - interval '10 days');
-- assignments: five in the quarter (two overflow), four recent ones
INSERT INTO assignment (lead_key, team, assigned_at, reason) VALUES
  ('J1', 'nord', '2026-01-05 09:00+00', 'segment'),
  ('J2', 'nord', '2026-01-05 09:00+00', 'segment'),
  ('J4', 'nord', '2026-01-05 09:00+00', 'overflow'),
  ('J7', 'sued', '2026-01-07 09:00+00', 'segment'),
  ('J8', 'sued', '2026-01-07 09:00+00', 'over_capacity'),
  ('F2', 'nord', now() - interval '5 days', 'overflow'),
  ('N1', 'nord', now() - interval '5 days', 'segment'),
  ('F6', 'nord', now() - interval '40 days', 'over_capacity'),
  ('M2', 'sued', now() - interval '1 day', 'over_capacity');
-- activity types (installed by the scoring part) and activities
INSERT INTO event_type (event_type, is_response) VALUES
  ('email_sent', false), ('email_open', false), ('email_click', true), ('webinar_attended', true)
  ON CONFLICT (event_type) DO NOTHING;
INSERT INTO activity (lead_key, event_type, occurred_at, campaign) VALUES
  ('J1', 'email_sent', '2026-01-05 08:30+00', 'fair'),
  ('J1', 'email_click', '2026-01-05 08:45+00', 'fair'),
  ('J2', 'email_sent', '2026-01-05 08:30+00', 'fair'),
  ('J3', 'email_open', '2026-01-05 08:30+00', 'fair'),
  ('P1', 'email_sent', '2026-01-05 08:30+00', 'fair'),
  ('J5', 'webinar_attended', '2026-01-06 08:30+00', 'webinar'),
  ('J6', 'email_sent', '2026-01-06 08:30+00', 'webinar'),
  ('J1', 'webinar_attended', '2026-01-20 10:00+00', 'webinar'),
  ('F1', 'webinar_attended', '2026-02-20 10:00+00', 'webinar'),
  ('J7', 'email_sent', '2026-01-07 08:30+00', NULL);
RESET session_replication_role;
-- ---- END fabricated rows

-- ---------------------------------------------------------------------------
-- lead_journey
-- decision = first move out of mql; hours [bt]: J1 1, J2 2, J3 4, J4 3,
-- J5 8, J7 0.5, J8 6, J9 1, F1 0.25, F2 1 (recycled: its first answer, not
-- the later sal), F3 8, N1 3; J6, F4, F5, M2 unanswered; F6, M1, P1, P2
-- were never MQL.
-- ---------------------------------------------------------------------------
SELECT lead_key, stage, stage_label, stage_depth, is_open, team, campaign, decision, decided_at,
       mql_to_decision_business_hours
  FROM lead_journey ORDER BY lead_key;
SELECT bool_and(days_in_stage > 0) AS days_positive FROM lead_journey;

-- ---------------------------------------------------------------------------
-- kpi_funnel: cohorts by the month of the first MQL and campaign; a stage
-- counts when reached at or after that first MQL time.
-- 2026-01 ads     J7, J8:              mqls 2, sals 2, sqls 1 (J7), opp 1, cust 1
--                 -> 1, 0.5, 1, 1, 0.5
-- 2026-01 fair    J1, J2, J3, J4:      mqls 4, sals 3, sqls 3, opp 2 (J1, J2), cust 1
--                 -> 0.75, 1, 0.6667, 0.5, 0.25
-- 2026-01 webinar J5, J6, J9:          mqls 3, nothing further
--                 -> 0, NULL, NULL, NULL, 0
-- 2026-02 ads     F2, F5:              mqls 2, sals 1 (F2 on 02-16, after its first MQL)
--                 -> 0.5, 0, NULL, NULL, 0
-- 2026-02 fair    F1:                  1 1 1 1 1 -> all 1
-- 2026-02 webinar F3, F4:              mqls 2, sals 1, sqls 1 -> 0.5, 1, 0, NULL, 0
-- 2026-02 (none)  N1:                  mqls 1, sals 1 -> 1, 0, NULL, NULL, 0
-- 2026-03 fair    M2:                  mqls 1 -> 0, NULL, NULL, NULL, 0
-- F6 (entered at sal), M1 (entered as customer), P1, P2 are in no cohort.
-- ---------------------------------------------------------------------------
SELECT * FROM kpi_funnel ORDER BY period, campaign NULLS LAST;

-- ---------------------------------------------------------------------------
-- kpi_handoff: by first-MQL month and the team of the answering event
-- (unanswered: current team).  Hours [bt]; p90 = percentile_cont(0.9).
-- 2026-01 nord  J1 1 acc, J2 2 acc, J3 4 acc (answered by nord, now with
--               sued), J4 3 rec, J5 8 disq, J6 pending
--               -> 6 handed over, 3 / 1 / 1 / 1, rate 0.5;
--               sorted 1 2 3 4 8: median 3, p90 at 0.9*4 = 3.6 -> 4 + 0.6*4 = 6.4;
--               breaches 1 (J6)
-- 2026-01 sued  J7 0.5 acc, J8 6 acc, J9 1 disq (answered by sued)
--               -> 3, 2 / 0 / 1 / 0, rate 0.6667; sorted 0.5 1 6: median 1,
--               p90 at 1.8 -> 1 + 0.8*5 = 5; breaches 0
-- 2026-02 nord  F1 0.25 acc, F2 1 rec, N1 3 acc -> 3, 2 / 1 / 0 / 0, 0.6667;
--               median 1, p90 at 1.8 -> 1 + 0.8*2 = 2.6; breaches 0
-- 2026-02 sued  F3 8 acc, F4 and F5 pending -> 3, 1 / 0 / 0 / 2, 0.3333;
--               median 8, p90 8; breaches 2 (F4, F5)
-- 2026-03 sued  M2 pending -> 1, 0 / 0 / 0 / 1, rate 0, hours NULL; breaches 1
-- Wall-clock medians equal the business-hour ones (single working days).
-- ---------------------------------------------------------------------------
SELECT * FROM kpi_handoff ORDER BY period, team;

-- ---------------------------------------------------------------------------
-- kpi_rejections: moves from mql/sal/sql to recycled or disqualified with the
-- reason, by the lead's campaign:
--   ads timing (F2, from mql); fair no budget (J3, from sql); fair timing (J4);
--   webinar competitor (J5), no budget (F3, from sql), no fit (J9): discarded.
-- Not counted: J2 lost -> recycled (from lost), P2 prospect -> disqualified.
-- left_pending: none, as no SLA clock runs here (sla_due_at is NULL).  With
-- the SLA part merged (mql 16 business hours), J6, F4, F5 and M2 are past
-- their due time: rows (ads, NULL, 0, 0, 1), (fair, NULL, 0, 0, 1),
-- (webinar, NULL, 0, 0, 2) are added.
-- ---------------------------------------------------------------------------
SELECT * FROM kpi_rejections ORDER BY campaign NULLS LAST, reason NULLS LAST;

-- ---------------------------------------------------------------------------
-- kpi_response_rate (activity.campaign; responses: email_click, webinar_attended)
--   fair:    touched J1 J2 J3 P1 = 4, responded J1 = 1 -> 0.25
--   webinar: touched J5 J6 J1 F1 = 4, responded J5 J1 F1 = 3 -> 0.75
--   (none):  touched J7 = 1, responded 0 -> 0
-- ---------------------------------------------------------------------------
SELECT * FROM kpi_response_rate ORDER BY campaign NULLS LAST;

-- ---------------------------------------------------------------------------
-- kpi_team_load, now:
--   nord: open J6 (mql), F2 (sal), N1 (sal) = 3 of 5 -> 0.6;
--         overflow in 30 days: F2 (5 days ago; F6's 40 days ago is out) = 1; breaches 0
--   sued: open J8, F4, F5, F6, M2 = 5 of 2 -> 2.5 (over capacity);
--         overflow: M2 = 1; breaches: M2 (mql) and J8 (sal) = 2
--   reserve: 0 of 0 -> utilization NULL
-- ---------------------------------------------------------------------------
SELECT * FROM kpi_team_load ORDER BY team;

-- ---------------------------------------------------------------------------
-- kpi_revenue_mix
--   2026-01: new 1000 + 2000 = 3000, existing 0 -> share 0
--   2026-02: new 3000, existing 500 (J1 again) -> 500 / 3500 = 0.1429
--   2026-03: new 0 (M1's zero deal), existing 0 -> share NULL
-- ---------------------------------------------------------------------------
SELECT * FROM kpi_revenue_mix ORDER BY period;

-- ---------------------------------------------------------------------------
-- kpi_after_sales (cohort: month of first customer_at)
--   2026-01: J1 (touched 01-20, came back) and J7 (its only activity is
--            before the sale) -> 2, 1, 0.5, 1
--   2026-02: F1 (touched 02-20) -> 1, 1, 1, 0
--   2026-03: M1 -> 1, 0, 0, 0
-- ---------------------------------------------------------------------------
SELECT * FROM kpi_after_sales ORDER BY period;

-- ---------------------------------------------------------------------------
-- health_check as of 2026-03-01 (window 2025-12-01 .. 2026-03-01)
--  1 answer time [bt]: 15 handovers (J1-J9, F1-F5, N1), 12 answered:
--    0.25 0.5 1 1 1 2 | 3 3 4 6 8 8 -> median (2 + 3) / 2 = 2.5 <= 16: ok
--  2 handover to SQL [bt]: J1 3, J2 5, J3 7, J7 1.5, F1 2, F3 8
--    -> 1.5 2 3 | 5 7 8 -> median 4 <= 56: ok
--  3 measured: 67 events before as_of (J1 6 + 2 later, J2 7, J3 5, J4 3,
--    J5 3, J6 2, J7 6, J8 3, J9 3, F1 6, F2 5, F3 5, F4 2, F5 2, F6 2, N1 2,
--    P1 1, P2 2); incomplete: P1 (no actor), P2 -> disqualified and
--    J2 lost -> recycled (no reason) -> 64 / 67 = 0.9552 >= 0.95: ok
--  4 history: 2026-01-05 08:00 .. 2026-03-01 00:00 = 54 d 16 h = 54.7 < 90: attention
--  5/6 acceptance [bt]: accepted J1 1, J2 2, J3 4, J7 0.5, J8 6, F1 0.25,
--    N1 3, F3 8 -> 0.25 0.5 1 2 | 3 4 6 8: median 2.5;
--    p90 at 0.9 * 7 = 6.3 -> 6 + 0.3 * 2 = 6.6; both <= 16: ok
--  7-9 rejections in the window: returned J3, J4, F2 = 3; discarded J5, J9,
--    F3 = 3; left lying 0 (no SLA clock) -> 0.5 ok, 0.5 ok, 0 ok
-- 10 overflow: 5 assignments in the window, 2 overflow/over capacity -> 0.4: attention
-- 11 over capacity: active nord, sued; sued holds 5 > 2 -> 1: attention
-- 12 breach detection delay: 5 min, 2 h, 30 min -> median 0.5 h <= 1: ok
-- 13 after sale: customers J1, J7, F1 in the 365 days; touched J1, F1 -> 0.6667: ok
-- ---------------------------------------------------------------------------
SELECT * FROM health_check('2026-03-01 00:00+00');
-- invalid input: as_of NULL or infinite
SELECT * FROM health_check(NULL);
SELECT * FROM health_check('infinity');

-- ---------------------------------------------------------------------------
-- snapshot_kpis: rows of every kpi_* view: funnel 8 + handoff 5 +
-- rejections 6 + response 3 + team load 3 + revenue 3 + after sales 3 = 31;
-- running it again the same day replaces them
-- ---------------------------------------------------------------------------
SELECT snapshot_kpis('2026-03-01') AS rows_stored;
SELECT snapshot_kpis('2026-03-01') AS rows_stored;
SELECT snapshot_kpis('2026-03-02') AS rows_stored;
SELECT as_of, kpi, count(*) FROM kpi_snapshot GROUP BY 1, 2 ORDER BY 1, 2;
SELECT dims, metrics FROM kpi_snapshot
 WHERE as_of = '2026-03-01' AND kpi = 'kpi_handoff' AND dims = '{"period": "2026-01-01", "team": "nord"}';
-- invalid input: no day
SELECT snapshot_kpis(NULL);
-- a role without grants may neither snapshot nor read the health check
CREATE ROLE regress_kpi_nobody;
SET ROLE regress_kpi_nobody;
SELECT snapshot_kpis('2026-03-03');
SELECT * FROM health_check();
SELECT count(*) FROM kpi_funnel;
RESET ROLE;
DROP ROLE regress_kpi_nobody;

-- ---------------------------------------------------------------------------
-- funnel_svg for January and February: leads that reached a stage or a later
-- one in the window (by the furthest stage reached in it):
--   customer J1 J7 F1; opportunity J2; sql J3 F3 F6; sal J8 F2 N1;
--   mql J4 J5 J6 J9 F4 F5; prospect P1 P2 (M1, M2 are March)
--   -> prospect 18, mql 16, sal 10, sql 7, opportunity 4, customer 3
--   rates 16/18 = 88.9 %, 10/16 = 62.5 %, 7/10 = 70.0 %, 4/7 = 57.1 %, 3/4 = 75.0 %
-- ---------------------------------------------------------------------------
SELECT xml_is_well_formed_document(funnel_svg('2026-01-01', '2026-03-01')) AS well_formed;
SELECT m[1] AS bold_text
  FROM regexp_matches(funnel_svg('2026-01-01', '2026-03-01'),
                      '<text [^>]*font-weight="bold"[^>]*>([^<]*)</text>', 'g') AS m;
SELECT m[1] AS rate_text
  FROM regexp_matches(funnel_svg('2026-01-01', '2026-03-01'), '>(&#9660;[^<]*)</text>', 'g') AS m;
SELECT funnel_svg('2026-01-01', '2026-03-01') ~ '^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http://www.w3.org/2000/svg" width="900" height="540" viewBox="0 0 900 540"'
       AS has_header,
       funnel_svg('2026-01-01', '2026-03-01') LIKE '%<title id="lf-title">Lead funnel 2026-01-01 &#8211; 2026-03-01</title>%' AS has_title;
-- bar widths proportional to the counts (520 px for the largest)
SELECT m[1]::numeric AS bar_width
  FROM regexp_matches(funnel_svg('2026-01-01', '2026-03-01'), '<rect x="[0-9.]+" y="[0-9]+" width="([0-9.]+)" height="42"', 'g') AS m;
-- an empty window still renders
SELECT xml_is_well_formed_document(funnel_svg('2020-01-01', '2020-02-01')) AS well_formed,
       funnel_svg('2020-01-01', '2020-02-01') LIKE '%No lead reached the funnel in this window.%' AS says_empty;
-- text is XML-escaped
SELECT svg_escape('<Tom & "Jerry''s"> ') AS escaped;
-- invalid input: a reversed, NULL or infinite window
SELECT funnel_svg('2026-03-01', '2026-01-01');
SELECT funnel_svg(NULL, '2026-01-01');
SELECT funnel_svg('-infinity', '2026-01-01');
DO $$
BEGIN
  PERFORM lead_funnel.funnel_svg('2026-03-01', '2026-01-01');
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'sqlstate %', SQLSTATE;
END $$;
DO $$
BEGIN
  PERFORM lead_funnel.snapshot_kpis(NULL);
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'sqlstate %', SQLSTATE;
END $$;

-- ---------------------------------------------------------------------------
-- health_check: every question looks at [as_of - 90 days, as_of); an event
-- exactly at as_of counts in none of them, one a second earlier in all
--   K1 mql 03-03 09:00, recycled at as_of (the answer and the rejection)
--   K2 mql 03-03 09:00, sal 03-03 11:00, sql at as_of (the qualification)
--   K3 customer 03-01 10:00, an activity at as_of (marketing after the sale)
-- ---------------------------------------------------------------------------
SET client_min_messages = warning;
DROP EXTENSION lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SELECT count(*) AS moves FROM (
  SELECT move('K1', 'mql', actor => 'mia', occurred_at => '2025-03-03 09:00+00')
  UNION ALL SELECT move('K2', 'mql', actor => 'mia', occurred_at => '2025-03-03 09:00+00')
  UNION ALL SELECT move('K2', 'sal', actor => 'ali', occurred_at => '2025-03-03 11:00+00')
  UNION ALL SELECT move('K3', 'customer', actor => 'ali', occurred_at => '2025-03-01 10:00+00')) AS m;
SELECT count(*) AS moves FROM (
  SELECT move('K1', 'recycled', 'no budget', actor => 'ali', occurred_at => '2025-03-04 10:00+00')
  UNION ALL SELECT move('K2', 'sql', actor => 'ali', occurred_at => '2025-03-04 10:00+00')) AS m;
SELECT record_activity('K3', 'email_click', '2025-03-04 10:00+00');
SELECT question, value, verdict FROM health_check('2025-03-04 10:00+00')
 WHERE question ~ '^(How fast does sales|How long|Rejected leads: what share is returned|Does marketing)';
SELECT question, value, verdict FROM health_check('2025-03-04 10:00:01+00')
 WHERE question ~ '^(How fast does sales|How long|Rejected leads: what share is returned|Does marketing)';
-- as of the first transition there is no history yet, and nothing measured
SELECT question, value, verdict FROM health_check('2025-03-01 10:00+00')
 WHERE question ~ '^(How much history|Are the process steps)';

-- ---------------------------------------------------------------------------
-- stages reached again: kpi_funnel counts what a lead reached at or after
-- its first MQL also when it had reached that stage before (entry at sal,
-- recycled, handed over again), so rates stay within 0..1; funnel_svg counts
-- a customer who comes back and is won again in the window; the team load's
-- "last 30 days" ends now
--   C1, C2: sal 03-02, recycled, mql 03-03, sal, sql 03-04
--   D:      mql 03-03, sal
--   W:      customer in January, opportunity and customer again in March
-- ---------------------------------------------------------------------------
SET client_min_messages = warning;
DROP EXTENSION lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SELECT count(*) AS moves FROM (
  SELECT move(k, 'sal', occurred_at => '2026-03-02 10:00+00') FROM unnest(ARRAY['C1', 'C2']) AS k
  UNION ALL SELECT move(k, 'recycled', 'no budget', occurred_at => '2026-03-02 11:00+00') FROM unnest(ARRAY['C1', 'C2']) AS k
  UNION ALL SELECT move(k, 'mql', occurred_at => '2026-03-03 10:00+00') FROM unnest(ARRAY['C1', 'C2']) AS k
  UNION ALL SELECT move(k, 'sal', occurred_at => '2026-03-03 11:00+00') FROM unnest(ARRAY['C1', 'C2']) AS k
  UNION ALL SELECT move(k, 'sql', occurred_at => '2026-03-04 11:00+00') FROM unnest(ARRAY['C1', 'C2']) AS k
  UNION ALL SELECT move('D', 'mql', occurred_at => '2026-03-03 10:00+00')
  UNION ALL SELECT move('D', 'sal', occurred_at => '2026-03-03 12:00+00')
  UNION ALL SELECT move('W', 'customer', occurred_at => '2026-01-20 11:00+00')
  UNION ALL SELECT move('W', 'opportunity', occurred_at => '2026-03-02 11:00+00')
  UNION ALL SELECT move('W', 'customer', occurred_at => '2026-03-10 11:00+00')) AS m;
SELECT period, mqls, sals, sqls, mql_to_sal, sal_to_sql FROM kpi_funnel;
SELECT question, value FROM health_check('2026-03-05 00:00+00') WHERE question ~ '^How long does sales take to qualify';
SELECT array_agg(m[1]) AS bars
  FROM regexp_matches(funnel_svg('2026-03-01', '2026-04-01'), '>([0-9]+)</text>', 'g') AS m;
INSERT INTO team (team, capacity) VALUES ('nord', 0);
SELECT (move('F', 'mql', occurred_at => now() + interval '12 hours')).to_stage;
SELECT sla_sweep(now() + interval '20 days');
SELECT team, overflow_in_30d, breaches_in_30d FROM kpi_team_load;
