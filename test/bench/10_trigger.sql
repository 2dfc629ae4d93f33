-- SPEC §11: UPDATE of 200 000 attached CRM rows' status vs the same UPDATE with
-- no trigger (<= 3x), and the attached C trigger vs the same bookkeeping in a
-- PL/pgSQL trigger (>= 3x faster).  Three repetitions, sides alternated.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lead_funnel;
DELETE FROM bench.sample WHERE name LIKE 'trigger%';
\set n 200000

-- three identical CRM tables
DROP TABLE IF EXISTS bench.crm_c, bench.crm_plain, bench.crm_pl;
CREATE TABLE bench.crm_c (id int PRIMARY KEY, status text NOT NULL, owner text, note text);
CREATE TABLE bench.crm_plain (LIKE bench.crm_c INCLUDING ALL);
CREATE TABLE bench.crm_pl (LIKE bench.crm_c INCLUDING ALL);

SELECT lead_funnel.attach('bench.crm_c', 'id', 'status',
  '{"new": "prospect", "mql": "mql", "working": "sal", "qualified": "sql", "opp": "opportunity"}',
  '{"owner_column": "owner"}');

-- the PL/pgSQL baseline: the same bookkeeping a user would write by hand
DROP TABLE IF EXISTS bench.pl_transition, bench.pl_event, bench.pl_lead;
CREATE TABLE bench.pl_transition (from_stage text, to_stage text NOT NULL, requires_reason bool NOT NULL,
  UNIQUE NULLS NOT DISTINCT (from_stage, to_stage));
INSERT INTO bench.pl_transition SELECT from_stage::text, to_stage::text, requires_reason FROM lead_funnel.transition;
CREATE TABLE bench.pl_event (event_id bigint GENERATED ALWAYS AS IDENTITY, lead_key text NOT NULL,
  from_stage text, to_stage text NOT NULL, occurred_at timestamptz NOT NULL, actor text, team text,
  reason text, source text NOT NULL, PRIMARY KEY (lead_key, event_id));
CREATE TABLE bench.pl_lead (lead_key text PRIMARY KEY, stage text NOT NULL, stage_entered_at timestamptz NOT NULL,
  owner text, team text, campaign text, segment text, is_existing_customer bool NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL, prospect_at timestamptz, mql_at timestamptz, sal_at timestamptz,
  sql_at timestamptz, opportunity_at timestamptz, customer_at timestamptz, recycled_count int NOT NULL DEFAULT 0,
  last_recycled_at timestamptz, disqualified_at timestamptz, lost_at timestamptz, sla_due_at timestamptz,
  fit_score numeric, engagement numeric NOT NULL DEFAULT 0, engagement_as_of timestamptz);
CREATE INDEX ON bench.pl_lead (sla_due_at) WHERE sla_due_at IS NOT NULL;

CREATE OR REPLACE FUNCTION bench.pl_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cur record;
  rule record;
  to_st text;
  k text := NEW.id::text;
  t timestamptz := now();
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
    RETURN NULL;
  END IF;
  to_st := TG_ARGV[0]::jsonb ->> NEW.status;
  IF to_st IS NULL THEN
    RAISE EXCEPTION 'status "%" is not mapped', NEW.status;
  END IF;
  SELECT stage, stage_entered_at, team INTO cur FROM bench.pl_lead WHERE lead_key = k FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM 1 FROM bench.pl_transition WHERE from_stage IS NULL AND to_stage = to_st;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'lead "%" cannot enter at "%"', k, to_st;
    END IF;
    INSERT INTO bench.pl_lead (lead_key, stage, stage_entered_at, owner, created_at, prospect_at, mql_at, sal_at, sql_at)
    VALUES (k, to_st, t, NEW.owner, t, CASE WHEN to_st = 'prospect' THEN t END, CASE WHEN to_st = 'mql' THEN t END,
            CASE WHEN to_st = 'sal' THEN t END, CASE WHEN to_st = 'sql' THEN t END);
    INSERT INTO bench.pl_event (lead_key, from_stage, to_stage, occurred_at, actor, source)
    VALUES (k, NULL, to_st, t, current_user, 'crm:bench.crm_pl');
    RETURN NULL;
  END IF;
  IF cur.stage = to_st THEN
    RETURN NULL;
  END IF;
  SELECT * INTO rule FROM bench.pl_transition WHERE from_stage = cur.stage AND to_stage = to_st;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'lead "%" cannot move from "%" to "%"', k, cur.stage, to_st;
  END IF;
  IF rule.requires_reason THEN
    RAISE EXCEPTION 'reason required';
  END IF;
  IF t < cur.stage_entered_at THEN
    RAISE EXCEPTION 'out of order';
  END IF;
  INSERT INTO bench.pl_event (lead_key, from_stage, to_stage, occurred_at, actor, team, source)
  VALUES (k, cur.stage, to_st, t, current_user, cur.team, 'crm:bench.crm_pl');
  UPDATE bench.pl_lead SET stage = to_st, stage_entered_at = t, owner = COALESCE(NEW.owner, owner),
         mql_at = CASE WHEN to_st = 'mql' THEN COALESCE(mql_at, t) ELSE mql_at END,
         sal_at = CASE WHEN to_st = 'sal' THEN COALESCE(sal_at, t) ELSE sal_at END,
         sql_at = CASE WHEN to_st = 'sql' THEN COALESCE(sql_at, t) ELSE sql_at END,
         opportunity_at = CASE WHEN to_st = 'opportunity' THEN COALESCE(opportunity_at, t) ELSE opportunity_at END
   WHERE lead_key = k;
  RETURN NULL;
END $$;
CREATE TRIGGER pl AFTER INSERT OR UPDATE OF status ON bench.crm_pl FOR EACH ROW
  EXECUTE FUNCTION bench.pl_trigger('{"new": "prospect", "mql": "mql", "working": "sal", "qualified": "sql", "opp": "opportunity"}');

-- 200 000 leads enter (through the triggers), then three rounds of status
-- changes of every row: new -> mql -> working -> qualified
INSERT INTO bench.crm_c SELECT i, 'new', 'owner' || i % 50 FROM generate_series(1, :n) AS i;
INSERT INTO bench.crm_plain SELECT * FROM bench.crm_c;
INSERT INTO bench.crm_pl SELECT * FROM bench.crm_c;

-- The floor: what writing the same rows costs with no check at all.  One
-- hand-written set-based statement updates the CRM rows, appends their
-- events, starts their SLA clocks and updates their leads, in copies of the
-- ledger tables with the same indexes and fill factor (the index maintenance
-- a move needs: the event's primary key, the clock's due time; the lead row
-- is updated in place).  Info only: it shows how much of the ratio the
-- storage itself takes.
DROP TABLE IF EXISTS bench.crm_floor, bench.floor_lead, bench.floor_event, bench.floor_clock;
CREATE TABLE bench.crm_floor (LIKE bench.crm_c INCLUDING ALL);
INSERT INTO bench.crm_floor SELECT * FROM bench.crm_c;
CREATE TABLE bench.floor_lead (LIKE lead_funnel.lead INCLUDING ALL) WITH (fillfactor = 40);
INSERT INTO bench.floor_lead (lead_key, stage, stage_entered_at, owner, team, campaign, segment,
  is_existing_customer, created_at, prospect_at, mql_at, sal_at, sql_at, opportunity_at, customer_at,
  recycled_count, last_recycled_at, disqualified_at, lost_at, sla_due_at, fit_score, engagement, engagement_as_of)
SELECT lead_key, stage, stage_entered_at, owner, team, campaign, segment,
  is_existing_customer, created_at, prospect_at, mql_at, sal_at, sql_at, opportunity_at, customer_at,
  recycled_count, last_recycled_at, disqualified_at, lost_at, sla_due_at, fit_score, engagement, engagement_as_of
  FROM lead_funnel.lead;
CREATE TABLE bench.floor_event (LIKE lead_funnel.stage_event INCLUDING ALL);
INSERT INTO bench.floor_event (lead_key, from_stage, to_stage, occurred_at, actor, team, reason, source)
SELECT lead_key, from_stage, to_stage, occurred_at, actor, team, reason, source FROM lead_funnel.stage_event;
CREATE TABLE bench.floor_clock (LIKE lead_funnel.sla_clock INCLUDING ALL);
INSERT INTO bench.floor_clock SELECT * FROM lead_funnel.sla_clock;
CREATE FUNCTION pg_temp.floor_sql(st text, stage text, due interval) RETURNS text LANGUAGE sql AS $f$
  SELECT format($q$WITH c AS (UPDATE bench.crm_floor SET status = %L RETURNING id),
    e AS (INSERT INTO bench.floor_event (lead_key, from_stage, to_stage, occurred_at, actor, source)
          SELECT c.id::text, l.stage, %L, now(), current_user, 'crm:bench.crm_floor'
            FROM c JOIN bench.floor_lead l ON l.lead_key = c.id::text),
    k AS (INSERT INTO bench.floor_clock (sla_due_at, lead_key, stage, stage_entered_at)
          SELECT now() + %L::interval, c.id::text, %L, now() FROM c WHERE %L::interval > '0')
    UPDATE bench.floor_lead l SET stage = %L, stage_entered_at = now(), owner = l.owner,
           %I = coalesce(%I, now()), sla_due_at = now() + %L::interval
      FROM c WHERE l.lead_key = c.id::text$q$, st, stage, due, stage, due, stage,
         stage || '_at', stage || '_at', due)
$f$;

VACUUM ANALYZE bench.crm_c, bench.crm_plain, bench.crm_pl, lead_funnel.lead, lead_funnel.stage_event,
  bench.pl_lead, bench.pl_event, bench.crm_floor, bench.floor_lead, bench.floor_event, bench.floor_clock;
CHECKPOINT;

CALL bench.measure('trigger_update_200k_vs_no_trigger', 'base', 1, $$UPDATE bench.crm_plain SET status = 'mql'$$);
CALL bench.measure('trigger_update_200k_vs_no_trigger', 'ours', 1, $$UPDATE bench.crm_c SET status = 'mql'$$);
CALL bench.measure('trigger_c_vs_plpgsql', 'base', 1, $$UPDATE bench.crm_pl SET status = 'mql'$$);
SELECT pg_temp.floor_sql('mql', 'mql', '16 hours') AS q \gset
CALL bench.measure('trigger_floor', 'ours', 1, :'q');
CHECKPOINT;
CALL bench.measure('trigger_c_vs_plpgsql', 'base', 2, $$UPDATE bench.crm_pl SET status = 'working'$$);
CALL bench.measure('trigger_update_200k_vs_no_trigger', 'ours', 2, $$UPDATE bench.crm_c SET status = 'working'$$);
CALL bench.measure('trigger_update_200k_vs_no_trigger', 'base', 2, $$UPDATE bench.crm_plain SET status = 'working'$$);
SELECT pg_temp.floor_sql('working', 'sal', '40 hours') AS q \gset
CALL bench.measure('trigger_floor', 'ours', 2, :'q');
CHECKPOINT;
CALL bench.measure('trigger_update_200k_vs_no_trigger', 'base', 3, $$UPDATE bench.crm_plain SET status = 'qualified'$$);
CALL bench.measure('trigger_update_200k_vs_no_trigger', 'ours', 3, $$UPDATE bench.crm_c SET status = 'qualified'$$);
CALL bench.measure('trigger_c_vs_plpgsql', 'base', 3, $$UPDATE bench.crm_pl SET status = 'qualified'$$);
SELECT pg_temp.floor_sql('qualified', 'sql', '0') AS q \gset
CALL bench.measure('trigger_floor', 'ours', 3, :'q');

-- the C trigger's own times serve both figures
INSERT INTO bench.sample SELECT 'trigger_c_vs_plpgsql', 'ours', rep, ms FROM bench.sample
 WHERE name = 'trigger_update_200k_vs_no_trigger' AND side = 'ours';

SELECT bench.line('trigger_update_200k_vs_no_trigger', 'max', 3);
SELECT bench.line('trigger_c_vs_plpgsql', 'min', 3);
INSERT INTO bench.sample SELECT 'trigger_floor', 'base', rep, ms FROM bench.sample
 WHERE name = 'trigger_update_200k_vs_no_trigger' AND side = 'base';
SELECT regexp_replace(replace(bench.line('trigger_floor', 'max', 3), 'trigger_floor|',
                              'trigger_floor_setbased_sql_no_checks_vs_no_trigger|'),
                      '\|[^|]*\|[^|]*$', '|info|info');

-- How the cost grows: the per-row cost of the tracked UPDATE for a batch of
-- 20 000 rows and for one of 180 000 rows of the same table (sql ->
-- opportunity), in ms per 1 000 rows.  A ratio near 1 means the cost per
-- status change does not depend on the statement's size.
CALL bench.measure('trigger_growth_small', 'ours', 1, $$UPDATE bench.crm_c SET status = 'opp' WHERE id <= 20000$$);
CALL bench.measure('trigger_growth_large', 'ours', 1, $$UPDATE bench.crm_c SET status = 'opp' WHERE id > 20000$$);
SELECT format('BENCH|trigger_ms_per_1k_rows_180k_vs_20k_batch|%s|%s|%s|info|info',
              round((l.ms / 180)::numeric, 2), round((s.ms / 20)::numeric, 2),
              round(((l.ms / 180) / (s.ms / 20))::numeric, 2))
  FROM bench.sample l, bench.sample s
 WHERE l.name = 'trigger_growth_large' AND s.name = 'trigger_growth_small';

-- How the cost grows with the ledger: the same 20 000-row status UPDATE
-- (prospect -> mql) of a fresh attached table, first with the 200 000 leads
-- above in lead_funnel.lead, then after 1 000 000 more leads were loaded
-- (bulk, past the ledger guard: a benchmark's data load).  Three repetitions
-- each, on fresh tables.
CREATE OR REPLACE PROCEDURE bench.trigger_size_round(tag text, rep int) LANGUAGE plpgsql AS $p$
DECLARE t text := format('bench.crm_size_%s_%s', tag, rep);
BEGIN
  EXECUTE format('DROP TABLE IF EXISTS %s', t);
  EXECUTE format('CREATE TABLE %s (id int PRIMARY KEY, status text NOT NULL, owner text, note text)', t);
  PERFORM lead_funnel.attach(t::regclass, 'id', 'status', '{"new": "prospect", "mql": "mql"}',
                             jsonb_build_object('key_prefix', format('%s-%s:', tag, rep)));
  EXECUTE format('INSERT INTO %s SELECT i, ''new'' FROM generate_series(1, 20000) AS i', t);
END $p$;
\set tag small
\set figure trigger_size_200k
\ir trigger_size_rounds.psql

ALTER TABLE lead_funnel.lead DISABLE TRIGGER lead_guard;
INSERT INTO lead_funnel.lead (lead_key, stage, stage_entered_at, created_at, prospect_at)
SELECT 'bulk-' || i, 'prospect', now(), now(), now() FROM generate_series(1, 1000000) AS i;
ALTER TABLE lead_funnel.lead ENABLE TRIGGER lead_guard;
\set tag large
\set figure trigger_size_1m
\ir trigger_size_rounds.psql
SELECT format('BENCH|trigger_20k_rows_1_2m_vs_200k_leads|%s|%s|%s|info|info',
              round(big::numeric, 1), round(small::numeric, 1), round((big / small)::numeric, 2))
  FROM (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE name = 'trigger_size_1m') AS big,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE name = 'trigger_size_200k') AS small
          FROM bench.sample WHERE side = 'ours') AS g;
