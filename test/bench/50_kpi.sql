-- SPEC §11: kpi_funnel and kpi_handoff over 1 000 000 leads vs the best
-- hand-written SQL over the same data (target: ratio <= 1.0).
--
-- Two baselines per view:
--   *_vs_sql        the query an expert writes by hand over the same tables
--                   and indexes (lead's first-reached columns, the ledger):
--                   shows that the view costs nothing over writing the SQL
--                   yourself (the planner inlines it);
--   *_vs_event_log  the best query over the event history alone, what one
--                   writes without lead's first-reached columns: shows what
--                   answering from lead saves.
-- Five repetitions per side, alternated, medians compared.
--
-- The data is bulk-generated: the ledger guards are disabled for the load
-- (superuser only) and enabled again afterwards.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lead_funnel;
SET search_path = lead_funnel, public;
SET timezone = 'UTC';
DELETE FROM bench.sample WHERE name LIKE 'kpi%';
SELECT (1000000 * :scale)::int AS n \gset

-- ---- synthetic leads over 2025 and their events (bench.kpi_load(n)) ----
-- 70 % become MQL; of those 60 % are accepted, 20 % recycled, 10 %
-- disqualified, 10 % wait; of the accepted, half reach SQL, a quarter an
-- opportunity, a tenth become customer.  Answers come within 0..8 hours.
CREATE OR REPLACE PROCEDURE bench.kpi_load(n int) LANGUAGE plpgsql AS $load$
BEGIN
  ALTER TABLE lead_funnel.lead DISABLE TRIGGER lead_guard;
  ALTER TABLE lead_funnel.stage_event DISABLE TRIGGER stage_event_guard;
  TRUNCATE lead_funnel.lead, lead_funnel.stage_event;

  DROP TABLE IF EXISTS gen;
  CREATE TEMP TABLE gen AS
  SELECT i,
         'B' || i AS lead_key,
         t0,
         CASE WHEN h < 70 THEN t0 + interval '1 hour' END AS mql_at,
         CASE WHEN h < 42 THEN 'sal' WHEN h < 56 THEN 'recycled' WHEN h < 63 THEN 'disqualified' END AS answer,
         t0 + interval '1 hour' + (i % 480) * interval '1 minute' AS answer_at,
         (ARRAY['fair', 'webinar', 'ads', 'newsletter', 'partner'])[1 + i % 5] AS campaign,
         'team' || (i % 8) AS team,
         h, (i / 100) % 100 AS g
    FROM (SELECT i, ((i::bigint * 7919) % 100)::int AS h,
                 timestamptz '2025-01-06 08:00+00' + (i % 360) * interval '1 day'
                   + ((i / 360) % 60) * interval '1 second' AS t0
            FROM generate_series(1, n) AS i) AS s;

  INSERT INTO lead_funnel.lead (lead_key, stage, stage_entered_at, owner, team, campaign, segment,
                                created_at, prospect_at, mql_at, sal_at, sql_at, opportunity_at,
                                customer_at, recycled_count, last_recycled_at, disqualified_at)
  SELECT lead_key,
         CASE WHEN mql_at IS NULL THEN 'prospect'
              WHEN answer IS NULL THEN 'mql'
              WHEN answer <> 'sal' THEN answer
              WHEN g < 10 THEN 'customer' WHEN g < 25 THEN 'opportunity' WHEN g < 50 THEN 'sql'
              ELSE 'sal' END::lead_funnel.stage,
         COALESCE(answer_at + CASE WHEN answer = 'sal' AND g < 50 THEN interval '3 days' END,
                  CASE WHEN answer IS NOT NULL THEN answer_at END, mql_at, t0),
         'owner' || (i % 50), team, campaign, NULL,
         t0, t0, mql_at,
         CASE WHEN answer = 'sal' THEN answer_at END,
         CASE WHEN answer = 'sal' AND g < 50 THEN answer_at + interval '1 day' END,
         CASE WHEN answer = 'sal' AND g < 25 THEN answer_at + interval '2 days' END,
         CASE WHEN answer = 'sal' AND g < 10 THEN answer_at + interval '3 days' END,
         CASE WHEN answer = 'recycled' THEN 1 ELSE 0 END,
         CASE WHEN answer = 'recycled' THEN answer_at END,
         CASE WHEN answer = 'disqualified' THEN answer_at END
    FROM gen;

  -- events phase by phase, so that event_id follows time within each lead
  INSERT INTO lead_funnel.stage_event (lead_key, from_stage, to_stage, occurred_at, actor, team, source)
  SELECT lead_key, NULL, 'prospect', t0, 'bench', team, 'move' FROM gen;
  INSERT INTO lead_funnel.stage_event (lead_key, from_stage, to_stage, occurred_at, actor, team, source)
  SELECT lead_key, 'prospect', 'mql', mql_at, 'bench', team, 'move' FROM gen WHERE mql_at IS NOT NULL;
  INSERT INTO lead_funnel.stage_event (lead_key, from_stage, to_stage, occurred_at, actor, team, reason, source)
  SELECT lead_key, 'mql', answer::lead_funnel.stage, answer_at, 'bench', team,
         CASE WHEN answer <> 'sal' THEN 'bench reason ' || (i % 7) END, 'move'
    FROM gen WHERE answer IS NOT NULL;
  INSERT INTO lead_funnel.stage_event (lead_key, from_stage, to_stage, occurred_at, actor, team, source)
  SELECT lead_key, f::lead_funnel.stage, t::lead_funnel.stage, answer_at + d, 'bench', team, 'move'
    FROM gen
    CROSS JOIN (VALUES ('sal', 'sql', interval '1 day', 50), ('sql', 'opportunity', interval '2 days', 25),
                       ('opportunity', 'customer', interval '3 days', 10)) AS s(f, t, d, share)
   WHERE answer = 'sal' AND g < share
   ORDER BY d;

  ALTER TABLE lead_funnel.lead ENABLE TRIGGER lead_guard;
  ALTER TABLE lead_funnel.stage_event ENABLE TRIGGER stage_event_guard;
  DROP TABLE gen;
END $load$;
-- How the cost grows: the views over 100 000 leads first (three repetitions
-- each), then everything over 1 000 000.
CALL bench.kpi_load(:n / 10);
VACUUM ANALYZE lead_funnel.lead, lead_funnel.stage_event;
CHECKPOINT;
SELECT count(*) FROM (SELECT * FROM lead_funnel.kpi_funnel) AS x;
SELECT count(*) FROM (SELECT * FROM lead_funnel.kpi_handoff) AS x;
CALL bench.measure('kpi_funnel_100k', 'ours', 1, 'SELECT * FROM lead_funnel.kpi_funnel');
CALL bench.measure('kpi_handoff_100k', 'ours', 1, 'SELECT * FROM lead_funnel.kpi_handoff');
CALL bench.measure('kpi_funnel_100k', 'ours', 2, 'SELECT * FROM lead_funnel.kpi_funnel');
CALL bench.measure('kpi_handoff_100k', 'ours', 2, 'SELECT * FROM lead_funnel.kpi_handoff');
CALL bench.measure('kpi_funnel_100k', 'ours', 3, 'SELECT * FROM lead_funnel.kpi_funnel');
CALL bench.measure('kpi_handoff_100k', 'ours', 3, 'SELECT * FROM lead_funnel.kpi_handoff');

CALL bench.kpi_load(:n);
VACUUM ANALYZE lead_funnel.lead, lead_funnel.stage_event;
CHECKPOINT;
SELECT (SELECT count(*) FROM lead_funnel.lead) AS leads, (SELECT count(*) FROM lead_funnel.stage_event) AS events;

-- ---- the hand-written baselines ----
\set funnel_sql 'SELECT period, campaign, mqls, sals, sqls, opportunities, customers, round(sals::numeric / NULLIF(mqls, 0), 4), round(sqls::numeric / NULLIF(sals, 0), 4), round(opportunities::numeric / NULLIF(sqls, 0), 4), round(customers::numeric / NULLIF(opportunities, 0), 4), round(customers::numeric / NULLIF(mqls, 0), 4) FROM (SELECT date_trunc(''month'', mql_at)::date AS period, campaign, count(*) AS mqls, count(*) FILTER (WHERE CASE WHEN sal_at >= mql_at THEN true WHEN sal_at < mql_at THEN lead_funnel._reached_since(l.lead_key, ''sal'', l.mql_at) END) AS sals, count(*) FILTER (WHERE CASE WHEN sql_at >= mql_at THEN true WHEN sql_at < mql_at THEN lead_funnel._reached_since(l.lead_key, ''sql'', l.mql_at) END) AS sqls, count(*) FILTER (WHERE CASE WHEN opportunity_at >= mql_at THEN true WHEN opportunity_at < mql_at THEN lead_funnel._reached_since(l.lead_key, ''opportunity'', l.mql_at) END) AS opportunities, count(*) FILTER (WHERE CASE WHEN customer_at >= mql_at THEN true WHEN customer_at < mql_at THEN lead_funnel._reached_since(l.lead_key, ''customer'', l.mql_at) END) AS customers FROM lead_funnel.lead AS l WHERE mql_at IS NOT NULL GROUP BY 1, 2) AS c'

\set funnel_log 'WITH f AS (SELECT lead_key, min(occurred_at) FILTER (WHERE to_stage = ''mql'') AS mql_at, min(occurred_at) FILTER (WHERE to_stage = ''sal'') AS sal_at, min(occurred_at) FILTER (WHERE to_stage = ''sql'') AS sql_at, min(occurred_at) FILTER (WHERE to_stage = ''opportunity'') AS opportunity_at, min(occurred_at) FILTER (WHERE to_stage = ''customer'') AS customer_at FROM lead_funnel.stage_event GROUP BY lead_key) SELECT date_trunc(''month'', f.mql_at)::date AS period, l.campaign, count(*) AS mqls, count(*) FILTER (WHERE f.sal_at >= f.mql_at) AS sals, count(*) FILTER (WHERE f.sql_at >= f.mql_at) AS sqls, count(*) FILTER (WHERE f.opportunity_at >= f.mql_at) AS opportunities, count(*) FILTER (WHERE f.customer_at >= f.mql_at) AS customers FROM f JOIN lead_funnel.lead AS l USING (lead_key) WHERE f.mql_at IS NOT NULL GROUP BY 1, 2'

\set handoff_sql 'SELECT date_trunc(''month'', l.mql_at)::date AS period, COALESCE(a.team, l.team) AS team, count(*) AS handed_over, count(*) FILTER (WHERE depth(a.to_stage) > 2) AS accepted, count(*) FILTER (WHERE a.to_stage = ''recycled'') AS recycled, count(*) FILTER (WHERE a.to_stage = ''disqualified'') AS disqualified, count(*) FILTER (WHERE a.lead_key IS NULL) AS pending, round(count(*) FILTER (WHERE depth(a.to_stage) > 2)::numeric / count(*), 4) AS acceptance_rate, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM business_time(l.mql_at, a.occurred_at, ''default''))::float8) AS bh, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.occurred_at - l.mql_at)::float8) AS wall, COALESCE(sum(b.n), 0) AS breaches FROM lead_funnel.lead AS l LEFT JOIN (SELECT DISTINCT ON (lead_key) lead_key, to_stage, occurred_at, team FROM lead_funnel.stage_event WHERE from_stage = ''mql'' ORDER BY lead_key, event_id) AS a ON a.lead_key = l.lead_key LEFT JOIN (SELECT lead_key, count(*) AS n FROM lead_funnel.sla_breach WHERE stage = ''mql'' GROUP BY lead_key) AS b ON b.lead_key = l.lead_key WHERE l.mql_at IS NOT NULL GROUP BY 1, 2'

\set handoff_log 'WITH ev AS (SELECT lead_key, min(occurred_at) FILTER (WHERE to_stage = ''mql'') AS mql_at FROM lead_funnel.stage_event GROUP BY lead_key), a AS (SELECT DISTINCT ON (lead_key) lead_key, to_stage, occurred_at, team FROM lead_funnel.stage_event WHERE from_stage = ''mql'' ORDER BY lead_key, event_id) SELECT date_trunc(''month'', ev.mql_at)::date AS period, COALESCE(a.team, l.team) AS team, count(*) AS handed_over, count(*) FILTER (WHERE depth(a.to_stage) > 2) AS accepted, count(*) FILTER (WHERE a.to_stage = ''recycled'') AS recycled, count(*) FILTER (WHERE a.to_stage = ''disqualified'') AS disqualified, count(*) FILTER (WHERE a.lead_key IS NULL) AS pending, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM business_time(ev.mql_at, a.occurred_at, ''default''))::float8) AS bh, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.occurred_at - ev.mql_at)::float8) AS wall FROM ev JOIN lead_funnel.lead AS l USING (lead_key) LEFT JOIN a ON a.lead_key = ev.lead_key WHERE ev.mql_at IS NOT NULL GROUP BY 1, 2'

-- the plans, for the log
EXPLAIN SELECT * FROM lead_funnel.kpi_funnel;
EXPLAIN SELECT * FROM lead_funnel.kpi_handoff;
-- same answers (the event-log versions leave out what they cannot see)
SELECT (SELECT count(*) FROM (SELECT * FROM lead_funnel.kpi_funnel EXCEPT :funnel_sql) AS x) AS funnel_diff,
       (SELECT sum(mqls) FROM lead_funnel.kpi_funnel) AS funnel_mqls,
       (SELECT sum(handed_over) FROM lead_funnel.kpi_handoff) AS handed_over;

-- warm up both sides once
SELECT count(*) FROM (SELECT * FROM lead_funnel.kpi_funnel) AS x;
SELECT count(*) FROM (:funnel_sql) AS x;

CALL bench.measure('kpi_funnel_1m_vs_sql', 'ours', 1, 'SELECT * FROM lead_funnel.kpi_funnel');
CALL bench.measure('kpi_funnel_1m_vs_sql', 'base', 1, :'funnel_sql');
CALL bench.measure('kpi_funnel_1m_vs_sql', 'base', 2, :'funnel_sql');
CALL bench.measure('kpi_funnel_1m_vs_sql', 'ours', 2, 'SELECT * FROM lead_funnel.kpi_funnel');
CALL bench.measure('kpi_funnel_1m_vs_sql', 'ours', 3, 'SELECT * FROM lead_funnel.kpi_funnel');
CALL bench.measure('kpi_funnel_1m_vs_sql', 'base', 3, :'funnel_sql');
CALL bench.measure('kpi_funnel_1m_vs_sql', 'base', 4, :'funnel_sql');
CALL bench.measure('kpi_funnel_1m_vs_sql', 'ours', 4, 'SELECT * FROM lead_funnel.kpi_funnel');
CALL bench.measure('kpi_funnel_1m_vs_sql', 'ours', 5, 'SELECT * FROM lead_funnel.kpi_funnel');
CALL bench.measure('kpi_funnel_1m_vs_sql', 'base', 5, :'funnel_sql');

SELECT count(*) FROM (SELECT * FROM lead_funnel.kpi_handoff) AS x;
SELECT count(*) FROM (:handoff_sql) AS x;
CALL bench.measure('kpi_handoff_1m_vs_sql', 'ours', 1, 'SELECT * FROM lead_funnel.kpi_handoff');
CALL bench.measure('kpi_handoff_1m_vs_sql', 'base', 1, :'handoff_sql');
CALL bench.measure('kpi_handoff_1m_vs_sql', 'base', 2, :'handoff_sql');
CALL bench.measure('kpi_handoff_1m_vs_sql', 'ours', 2, 'SELECT * FROM lead_funnel.kpi_handoff');
CALL bench.measure('kpi_handoff_1m_vs_sql', 'ours', 3, 'SELECT * FROM lead_funnel.kpi_handoff');
CALL bench.measure('kpi_handoff_1m_vs_sql', 'base', 3, :'handoff_sql');
CALL bench.measure('kpi_handoff_1m_vs_sql', 'base', 4, :'handoff_sql');
CALL bench.measure('kpi_handoff_1m_vs_sql', 'ours', 4, 'SELECT * FROM lead_funnel.kpi_handoff');
CALL bench.measure('kpi_handoff_1m_vs_sql', 'ours', 5, 'SELECT * FROM lead_funnel.kpi_handoff');
CALL bench.measure('kpi_handoff_1m_vs_sql', 'base', 5, :'handoff_sql');

-- against the event log: three repetitions each
CALL bench.measure('kpi_funnel_1m_vs_event_log', 'base', 1, :'funnel_log');
CALL bench.measure('kpi_handoff_1m_vs_event_log', 'base', 1, :'handoff_log');
CALL bench.measure('kpi_funnel_1m_vs_event_log', 'base', 2, :'funnel_log');
CALL bench.measure('kpi_handoff_1m_vs_event_log', 'base', 2, :'handoff_log');
CALL bench.measure('kpi_funnel_1m_vs_event_log', 'base', 3, :'funnel_log');
CALL bench.measure('kpi_handoff_1m_vs_event_log', 'base', 3, :'handoff_log');
INSERT INTO bench.sample SELECT 'kpi_funnel_1m_vs_event_log', 'ours', rep, ms FROM bench.sample
 WHERE name = 'kpi_funnel_1m_vs_sql' AND side = 'ours';
INSERT INTO bench.sample SELECT 'kpi_handoff_1m_vs_event_log', 'ours', rep, ms FROM bench.sample
 WHERE name = 'kpi_handoff_1m_vs_sql' AND side = 'ours';

SELECT bench.line('kpi_funnel_1m_vs_sql', 'max', 1.0);
SELECT bench.line('kpi_handoff_1m_vs_sql', 'max', 1.0);
SELECT bench.line('kpi_funnel_1m_vs_event_log', 'max', 1.0);
SELECT bench.line('kpi_handoff_1m_vs_event_log', 'max', 1.0);

-- growth from 100 000 to 1 000 000 leads (10x the data; about 10 means linear)
SELECT format('BENCH|%s_growth_1m_vs_100k|%s|%s|%s|info|info', v, round(big::numeric, 1),
              round(small::numeric, 1), round((big / small)::numeric, 2))
  FROM (SELECT v,
               (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM bench.sample
                 WHERE name = v || '_1m_vs_sql' AND side = 'ours') AS big,
               (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM bench.sample
                 WHERE name = v || '_100k' AND side = 'ours') AS small
          FROM unnest('{kpi_funnel,kpi_handoff}'::text[]) AS v) AS g;
