-- bad input: every public function with NULLs, empty strings, unknown names,
-- huge values and malformed jsonb; every config table with invalid rows.
-- pg_temp.try() runs one statement and prints "ok: <first value>" or
-- "<SQLSTATE>: <message>" (long messages cut, with their length); an XX000
-- (internal error) would be a bug.  After each group the ledger counts show
-- that nothing was half-written.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET timezone = 'UTC';
SET search_path = public;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS crm CASCADE;
RESET client_min_messages;

CREATE FUNCTION pg_temp.try(sql text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  res text;
  st text;
  msg text;
BEGIN
  EXECUTE sql INTO res;
  RAISE NOTICE '% => ok: %', left(sql, 110), left(coalesce(res, 'NULL'), 60);
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RAISE NOTICE '%', format('%s => %s%s: %s%s', left(sql, 110), CASE WHEN st = 'XX000' THEN 'BUG ' ELSE '' END, st,
    left(msg, 150), CASE WHEN length(msg) > 150 THEN format(' [... %s chars]', length(msg)) ELSE '' END);
END $$;
CREATE FUNCTION pg_temp.try_all(sqls text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  s text;
BEGIN
  FOREACH s IN ARRAY sqls LOOP
    PERFORM pg_temp.try(s);
  END LOOP;
END $$;
CREATE FUNCTION pg_temp.counts() RETURNS TABLE (leads bigint, events bigint, assignments bigint,
                                                activities bigint, deals bigint, breaches bigint)
  LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM lead_funnel.lead), (SELECT count(*) FROM lead_funnel.stage_event),
         (SELECT count(*) FROM lead_funnel.assignment), (SELECT count(*) FROM lead_funnel.activity),
         (SELECT count(*) FROM lead_funnel.deal), (SELECT count(*) FROM lead_funnel.sla_breach)
$$;

-- a small valid state to start from
INSERT INTO lead_funnel.team (team, capacity) VALUES ('nord', 2), ('sued', 2);
INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'employees', '>=', '100', 20),
  ('default', 'fit', 'industry', 'in', 'Chemie,Handel', 10),
  ('default', 'fit', 'title', '~*', '^(ceo|cto)$', 15),
  ('default', 'fit', 'email', 'exists', NULL, 1);
SELECT to_stage, team FROM lead_funnel.move('B-1', 'mql', occurred_at => '2026-01-05 09:00+00');
SELECT to_stage FROM lead_funnel.move('B-2', 'prospect', occurred_at => '2026-01-05 09:00+00');
SELECT lead_funnel.record_activity('B-2', 'email_click', '2026-01-05 10:00+00');
SELECT * FROM pg_temp.counts();

-- ---------------------------------------------------------------------------
-- the stage type
-- ---------------------------------------------------------------------------
SELECT pg_temp.try_all(ARRAY[
  $$SELECT ''::lead_funnel.stage$$,
  $$SELECT '   '::lead_funnel.stage$$,
  $$SELECT 'mq l'::lead_funnel.stage$$,
  $$SELECT E'mql\t'::lead_funnel.stage$$,
  $$SELECT 'MQL'::lead_funnel.stage$$,
  $$SELECT 'lead'::lead_funnel.stage$$,
  $$SELECT repeat('x', 10000000)::lead_funnel.stage$$,
  $$SELECT ('mql' || repeat(' ', 1000000))::lead_funnel.stage$$,
  $$SELECT lead_funnel.stage(NULL) IS NULL$$,
  $$SELECT lead_funnel.depth(NULL) IS NULL$$,
  $$SELECT lead_funnel.label(NULL) IS NULL$$,
  $$SELECT lead_funnel.is_open(NULL) IS NULL$$,
  $$SELECT lead_funnel.stage_send(NULL) IS NULL$$
]);

-- ---------------------------------------------------------------------------
-- move(): NULLs, empty strings, unknown names, huge values
-- ---------------------------------------------------------------------------
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.move(NULL, 'mql', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-9', NULL, occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-9', 'mql', occurred_at => NULL)$$,
  $$SELECT (lead_funnel.move('B-9', 'mql', actor => NULL, occurred_at => '2026-01-06')).event_id IS NOT NULL$$,
  $$SELECT lead_funnel.move('', 'mql', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-9', '', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-9', 'lead', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-9', 'opportunity', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-1', 'recycled', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-1', 'recycled', '', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-1', 'recycled', '   ', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-1', 'sal', occurred_at => '2026-01-01')$$,
  $$SELECT lead_funnel.move('B-1', 'sal', team => 'nobody', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-1', 'sal', team => '', occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-1', 'sal', occurred_at => 'infinity')$$,
  $$SELECT lead_funnel.move('B-9', 'mql', occurred_at => '-infinity')$$,
  $$SELECT lead_funnel.move('B-9', 'mql', occurred_at => '294276-12-31 23:59:59+00')$$,
  $$SELECT lead_funnel.move('B-9', 'mql', occurred_at => '294277-01-01 00:00:00+00')$$,
  $$SELECT lead_funnel.move('B-9', 'mql', occurred_at => '4713-01-01 00:00:00+00 BC')$$,
  $$SELECT lead_funnel.move(repeat('k', 10000000), 'prospect', occurred_at => '2026-01-06')$$,
  $$SELECT (lead_funnel.move(md5('a') || repeat(md5('b'), 100), 'prospect', occurred_at => '2026-01-06')).event_id IS NOT NULL$$,
  $$SELECT lead_funnel.move('B-1', 'recycled', repeat('r', 10000000), occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-10', 'mql', actor => repeat('a', 10000000), occurred_at => '2026-01-06')$$,
  $$SELECT lead_funnel.move('B-11', 'mql', campaign => repeat('c', 10000000), occurred_at => '2026-01-06')$$,
  $$SELECT (lead_funnel.move(E'B-\u0001', 'prospect', occurred_at => '2026-01-06')).event_id IS NOT NULL$$,
  $$SELECT (lead_funnel.move('B-1', 'recycled', (SELECT string_agg(md5(i::text), ' ') FROM generate_series(1, 100) AS i), occurred_at => '2026-01-06')).event_id IS NOT NULL$$
]);
SELECT * FROM pg_temp.counts();
SELECT lead_key, stage, team FROM lead_funnel.lead ORDER BY lead_key COLLATE "C";

-- record_deal(), stage_at(), funnel_at()
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.record_deal(NULL, 1)$$,
  $$SELECT lead_funnel.record_deal('B-1', NULL)$$,
  $$SELECT lead_funnel.record_deal('B-1', 1, NULL)$$,
  $$SELECT lead_funnel.record_deal('', 1)$$,
  $$SELECT lead_funnel.record_deal('nobody', 1)$$,
  $$SELECT lead_funnel.record_deal('B-1', 1)$$,
  $$SELECT lead_funnel.record_deal('B-1', 1e1000)$$,
  $$SELECT lead_funnel.record_deal('B-1', 'NaN')$$,
  $$SELECT lead_funnel.record_deal('B-1', -1)$$,
  $$SELECT lead_funnel.stage_at(NULL, now()) IS NULL$$,
  $$SELECT lead_funnel.stage_at('B-1', NULL) IS NULL$$,
  $$SELECT lead_funnel.stage_at('', now()) IS NULL$$,
  $$SELECT lead_funnel.stage_at('B-1', 'infinity')$$,
  $$SELECT lead_funnel.stage_at(repeat('k', 10000000), now()) IS NULL$$,
  $$SELECT count(*) FROM lead_funnel.funnel_at(NULL)$$,
  $$SELECT sum(leads) FROM lead_funnel.funnel_at('-infinity')$$,
  $$SELECT sum(leads) FROM lead_funnel.funnel_at('infinity')$$
]);

-- route()
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.route(NULL)$$,
  $$SELECT lead_funnel.route('')$$,
  $$SELECT lead_funnel.route('nobody')$$,
  $$SELECT lead_funnel.route('B-1', '')$$,
  $$SELECT lead_funnel.route('B-1', 'nobody')$$,
  $$SELECT lead_funnel.route(repeat('k', 10000000))$$,
  $$SELECT lead_funnel.route('B-1', repeat('t', 10000000))$$
]);
SELECT * FROM pg_temp.counts();

-- ---------------------------------------------------------------------------
-- activities and scoring
-- ---------------------------------------------------------------------------
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.record_activity(NULL, 'email_click', '2026-01-07')$$,
  $$SELECT lead_funnel.record_activity('B-2', NULL, '2026-01-07')$$,
  $$SELECT lead_funnel.record_activity('B-2', 'email_click', NULL)$$,
  $$SELECT lead_funnel.record_activity('', 'email_click', '2026-01-07')$$,
  $$SELECT lead_funnel.record_activity('B-2', '', '2026-01-07')$$,
  $$SELECT lead_funnel.record_activity('nobody', 'email_click', '2026-01-07')$$,
  $$SELECT lead_funnel.record_activity('B-2', 'no_such_type', '2026-01-07')$$,
  $$SELECT lead_funnel.record_activity('B-2', 'email_click', 'infinity')$$,
  $$SELECT lead_funnel.record_activity('B-2', 'email_click', '-infinity')$$,
  $$SELECT lead_funnel.record_activity('B-2', 'email_click', '294276-12-31 23:00+00')$$,
  $$SELECT lead_funnel.record_activity('B-2', 'email_click', '2026-01-07', repeat('c', 10000000))$$,
  $$SELECT lead_funnel.record_activity('B-2', 'email_click', '2026-01-07', NULL, '[1, 2]')$$,
  $$SELECT lead_funnel.record_activity('B-2', 'email_click', '2026-01-07', NULL, '"scalar"')$$,
  $$SELECT lead_funnel.engagement_at(NULL)$$,
  $$SELECT lead_funnel.engagement_at('B-2', NULL)$$,
  $$SELECT lead_funnel.engagement_at('nobody', '2026-01-07')$$,
  $$SELECT lead_funnel.engagement_at('B-2', 'infinity')$$,
  $$SELECT lead_funnel.engagement_at('B-2', '-infinity')$$,
  $$SELECT lead_funnel.engagement_at('B-2', '4713-01-01 00:00+00 BC')$$,
  $$SELECT lead_funnel.score(NULL)$$,
  $$SELECT lead_funnel.score('nobody')$$,
  $$SELECT lead_funnel.score('')$$
]);
SELECT * FROM pg_temp.counts();

-- fit_score(): malformed and wrong-typed jsonb never fails, an unknown model does
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.fit_score(NULL)$$,
  $$SELECT lead_funnel.fit_score('{}', NULL)$$,
  $$SELECT lead_funnel.fit_score('{}', '')$$,
  $$SELECT lead_funnel.fit_score('{}', 'nobody')$$,
  $$SELECT lead_funnel.fit_score('{}')$$,
  $$SELECT lead_funnel.fit_score('[]')$$,
  $$SELECT lead_funnel.fit_score('[{"employees": 500}]')$$,
  $$SELECT lead_funnel.fit_score('42')$$,
  $$SELECT lead_funnel.fit_score('"employees"')$$,
  $$SELECT lead_funnel.fit_score('null')$$,
  $$SELECT lead_funnel.fit_score('true')$$,
  $$SELECT lead_funnel.fit_score('{"employees": "500"}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": " 500 "}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": "NaN"}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": "Infinity"}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": "-Infinity"}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": "1e1000"}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": 1e1000}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": -1e-1000}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": "0x64"}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": null}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": true}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": [500]}')$$,
  $$SELECT lead_funnel.fit_score('{"employees": {"n": 500}}')$$,
  $$SELECT lead_funnel.fit_score('{"industry": ["Chemie"]}')$$,
  $$SELECT lead_funnel.fit_score('{"industry": "chemie"}')$$,
  $$SELECT lead_funnel.fit_score('{"industry": "Chemie,Handel"}')$$,
  $$SELECT lead_funnel.fit_score('{"industry": ""}')$$,
  $$SELECT lead_funnel.fit_score('{"title": "CEO"}')$$,
  $$SELECT lead_funnel.fit_score('{"title": 7}')$$,
  $$SELECT lead_funnel.fit_score(jsonb_build_object('title', repeat('ceo', 3000000)))$$,
  $$SELECT lead_funnel.fit_score('{"email": null}')$$,
  $$SELECT lead_funnel.fit_score('{"a": {"b": {"c": {"d": [1, [2, [3]]]}}}, "employees": 100}')$$,
  $$SELECT lead_funnel.fit_score(('{"x": ' || repeat('[', 5000) || repeat(']', 5000) || ', "employees": 1000}')::jsonb)$$,
  $$SELECT lead_funnel.fit_score('{"employees": 100, "employees": 5}')$$
]);

-- decayed()
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.decayed(NULL, now(), now(), '1 day')$$,
  $$SELECT lead_funnel.decayed(1, '2026-01-01', '2026-01-02', '0')$$,
  $$SELECT lead_funnel.decayed(1, '2026-01-01', '2026-01-02', '-1 day')$$,
  $$SELECT lead_funnel.decayed(1, '2026-01-01', '2026-01-02', '1 month')$$,
  $$SELECT lead_funnel.decayed(1, '2026-01-01', '2026-01-02', '1 microsecond')$$,
  $$SELECT lead_funnel.decayed(1e1000, '2026-01-01', '2026-01-02', '1 day')$$,
  -- past float8's range of 2^-k: exact over whole half-lives (1e340 * 2^-1100),
  -- 0 when nothing is left at 10 decimal places, else refused
  $$SELECT lead_funnel.decayed(1e340, '2020-01-01', timestamptz '2020-01-01' + interval '1100 days', '1 day')$$,
  $$SELECT lead_funnel.decayed(-1e340, '2020-01-01', timestamptz '2020-01-01' + interval '1100 days', '1 day')$$,
  $$SELECT lead_funnel.decayed(1e300, '2020-01-01', timestamptz '2020-01-01' + interval '1100 days 12 hours', '1 day')$$,
  $$SELECT lead_funnel.decayed(0, '2020-01-01', timestamptz '2020-01-01' + interval '1100 days 12 hours', '1 day')$$,
  $$SELECT lead_funnel.decayed(1e340, '2020-01-01', timestamptz '2020-01-01' + interval '1100 days 12 hours', '1 day')$$,
  $$SELECT lead_funnel.decayed(1e330, '2020-01-01', timestamptz '2020-01-01' + interval '1050 days 12 hours', '1 day')$$,
  $$SELECT lead_funnel.decayed(1e6000, '2020-01-01', timestamptz '2020-01-01' + interval '17000 days', '1 day')$$,
  $$SELECT lead_funnel.decayed('NaN', '2026-01-01', '2026-01-02', '1 day')$$,
  $$SELECT lead_funnel.decayed(1, '-infinity', '2026-01-02', '1 day')$$,
  $$SELECT lead_funnel.decayed(1, '2026-01-01', 'infinity', '1 day')$$,
  $$SELECT lead_funnel.decayed(1, '2026-01-02', '2026-01-01', '1 day')$$,
  $$SELECT lead_funnel.decayed(1, '4713-01-01 BC', '294276-12-31', '1 microsecond')$$,
  $$SELECT lead_funnel.decayed(1, '4713-01-01 BC', '294276-12-31', '178000000 years'::interval - '178000000 years'::interval + '2147483647 days')$$
]);

-- ---------------------------------------------------------------------------
-- calendars
-- ---------------------------------------------------------------------------
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.business_time(NULL, now())$$,
  $$SELECT lead_funnel.business_time(now(), now(), NULL)$$,
  $$SELECT lead_funnel.business_time(now(), now(), '')$$,
  $$SELECT lead_funnel.business_time(now(), now(), 'nobody')$$,
  $$SELECT lead_funnel.business_time(now(), now(), repeat('c', 10000000))$$,
  $$SELECT lead_funnel.business_time('2026-01-01', 'infinity')$$,
  $$SELECT lead_funnel.business_time('-infinity', '2026-01-01')$$,
  $$SELECT lead_funnel.business_time('4713-01-01 00:00+00 BC', '294276-12-31 23:59:59+00')$$,
  $$SELECT lead_funnel.business_time('294276-12-31 23:59:59+00', '4713-01-01 00:00+00 BC')$$,
  $$SELECT lead_funnel.business_add(NULL, '1 hour')$$,
  $$SELECT lead_funnel.business_add(now(), NULL)$$,
  $$SELECT lead_funnel.business_add('2026-01-01', '1 hour', 'nobody')$$,
  $$SELECT lead_funnel.business_add('2026-01-01', '1 month')$$,
  $$SELECT lead_funnel.business_add('2026-01-01', '1 year')$$,
  $$SELECT lead_funnel.business_add('2026-01-01', '-1 month')$$,
  $$SELECT lead_funnel.business_add('2026-01-01', '2147483647 days')$$,
  $$SELECT lead_funnel.business_add('2026-01-01', '-2147483648 days')$$,
  $$SELECT lead_funnel.business_add('2026-01-01', '2562047788 hours')$$,
  $$SELECT lead_funnel.business_add('2026-01-01', '-2562047788 hours')$$,
  $$SELECT lead_funnel.business_add('infinity', '1 hour')$$,
  $$SELECT lead_funnel.business_add('-infinity', '-1 hour')$$,
  $$SELECT lead_funnel.business_add('294276-12-31 16:00+00', '2 hours')$$,
  $$SELECT lead_funnel.business_add('4713-01-01 10:00+00 BC', '-2 hours')$$,
  $$SELECT lead_funnel.business_add('2026-01-01', '0')$$,
  $$SELECT lead_funnel.add_german_holidays(NULL, 2026, 2026, 'BY')$$,
  $$SELECT lead_funnel.add_german_holidays('default', NULL, 2026, 'BY')$$,
  $$SELECT lead_funnel.add_german_holidays('default', 2026, 2026, NULL)$$,
  $$SELECT lead_funnel.add_german_holidays('', 2026, 2026, 'BY')$$,
  $$SELECT lead_funnel.add_german_holidays('nobody', 2026, 2026, 'BY')$$,
  $$SELECT lead_funnel.add_german_holidays('default', 2026, 2026, '')$$,
  $$SELECT lead_funnel.add_german_holidays('default', 2026, 2026, 'XX')$$,
  $$SELECT lead_funnel.add_german_holidays('default', 2027, 2026, 'BY')$$,
  $$SELECT lead_funnel.add_german_holidays('default', 1990, 2026, 'BY')$$,
  $$SELECT lead_funnel.add_german_holidays('default', 2026, 2147483647, 'BY')$$,
  $$SELECT lead_funnel.add_german_holidays('default', -2147483648, 2026, 'BY')$$,
  $$SELECT count(*) FROM lead_funnel.german_holidays(294276, 'BY')$$,
  $$SELECT count(*) FROM lead_funnel.german_holidays(2026, 'by ')$$,
  $$SELECT lead_funnel.easter_sunday(NULL)$$,
  $$SELECT lead_funnel.easter_sunday(0)$$,
  $$SELECT lead_funnel.easter_sunday(-5)$$,
  $$SELECT lead_funnel.easter_sunday(2147483647)$$,
  $$SELECT lead_funnel.is_valid_time_zone(NULL)$$,
  $$SELECT lead_funnel.is_valid_time_zone('')$$,
  $$SELECT lead_funnel.is_valid_time_zone('Mars/Olympus')$$,
  $$SELECT lead_funnel.is_valid_time_zone(repeat('Europe/', 1000000))$$
]);
SELECT count(*) AS holidays FROM lead_funnel.holiday;

-- ---------------------------------------------------------------------------
-- SLA sweep, snapshots, health check, chart
-- ---------------------------------------------------------------------------
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.sla_sweep(NULL)$$,
  $$SELECT lead_funnel.sla_sweep('-infinity')$$,
  $$SELECT lead_funnel.snapshot_kpis(NULL)$$,
  $$SELECT lead_funnel.snapshot_kpis('infinity')$$,
  $$SELECT count(*) FROM lead_funnel.health_check(NULL)$$,
  $$SELECT count(*) FROM lead_funnel.health_check('-infinity')$$,
  $$SELECT count(*) FROM lead_funnel.health_check('infinity')$$,
  $$SELECT lead_funnel.funnel_svg(NULL, NULL) IS NULL$$,
  $$SELECT length(lead_funnel.funnel_svg('2026-02-01', '2026-01-01')) > 0$$,
  $$SELECT length(lead_funnel.funnel_svg('-infinity', 'infinity')) > 0$$,
  $$SELECT lead_funnel.schedule_jobs(NULL, NULL)$$,
  $$SELECT lead_funnel.schedule_jobs('', '')$$
]);
SELECT * FROM pg_temp.counts();
SELECT count(*) AS snapshots FROM lead_funnel.kpi_snapshot;

-- ---------------------------------------------------------------------------
-- attach, backfill, detach
-- ---------------------------------------------------------------------------
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY, status text, amount text, n int);
CREATE VIEW crm.leads_v AS SELECT * FROM crm.leads;
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.attach(NULL, 'id', 'status', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', NULL, 'status', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', NULL, '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', NULL)$$,
  $$SELECT lead_funnel.attach('crm.nothing', 'id', 'status', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('crm.leads_v', 'id', 'status', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('pg_class', 'oid', 'relname', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach(0, 'id', 'status', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', '', 'status', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', '', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'nope', 'status', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'ctid', '{"New": "prospect"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '[]')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '["prospect"]')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '"prospect"')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '42')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', 'null')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": null}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": 1}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": ["prospect"]}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": {"stage": "prospect"}}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "lead"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": ""}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"": "prospect"}')$$,
  $$SELECT lead_funnel.detach('crm.leads')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', jsonb_build_object(repeat('s', 10000000), 'prospect'))$$,
  $$SELECT lead_funnel.detach('crm.leads')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', NULL) IS NULL$$,
  $$SELECT lead_funnel.detach('crm.leads')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '[]')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '"x"')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', 'null')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"bogus": 1}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"owner_column": 1}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"owner_column": null}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"owner_column": ""}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"owner_column": "nope"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"owner_column": ["n"]}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"amount_column": "amount"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"attributes": []}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"attributes": "n"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"attributes": [1]}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"attributes": [null]}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"attributes": ["nope"]}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"attributes": [["n"]]}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"on_invalid": "maybe"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"on_invalid": true}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"on_unmapped": "ERROR"}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', '{"key_prefix": 7}')$$,
  $$SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect"}', jsonb_build_object('key_prefix', repeat('p', 10000000)))$$,
  $$INSERT INTO crm.leads VALUES (99, 'New') RETURNING id$$,
  $$SELECT lead_funnel.detach(NULL)$$,
  $$SELECT lead_funnel.detach('crm.leads')$$,
  $$SELECT lead_funnel.detach('crm.leads_v')$$,
  $$SELECT lead_funnel.detach(0)$$,
  $$SELECT lead_funnel.backfill(NULL)$$,
  $$SELECT lead_funnel.backfill('crm.leads')$$,
  $$SELECT lead_funnel.backfill(0)$$,
  $$SELECT lead_funnel.backfill('crm.leads_v')$$
]);
SELECT count(*) AS attachments FROM lead_funnel.attachment;
SELECT count(*) AS crm_triggers FROM pg_trigger WHERE tgrelid = 'crm.leads'::regclass;
SELECT * FROM pg_temp.counts();

-- an attached table: unmapped, NULL and huge statuses and keys
SELECT lead_funnel.attach('crm.leads', 'id', 'status', '{"New": "prospect", "MQL": "mql"}');
SELECT pg_temp.try_all(ARRAY[
  $$INSERT INTO crm.leads VALUES (1, 'Unknown') RETURNING id$$,
  $$INSERT INTO crm.leads VALUES (2, NULL) RETURNING id$$,
  $$INSERT INTO crm.leads VALUES (3, '') RETURNING id$$,
  $$INSERT INTO crm.leads VALUES (4, repeat('s', 10000000)) RETURNING id$$,
  $$INSERT INTO crm.leads VALUES (5, 'New'), (6, 'Bogus') RETURNING id$$,
  $$INSERT INTO crm.leads VALUES (7, 'MQL'), (7, 'New') RETURNING id$$
]);
SELECT id, status FROM crm.leads ORDER BY id;
SELECT lead_key, stage FROM lead_funnel.lead WHERE lead_key IN ('1', '2', '3', '4', '5', '6', '7') ORDER BY lead_key;
SELECT lead_funnel.detach('crm.leads');

-- ---------------------------------------------------------------------------
-- role functions
-- ---------------------------------------------------------------------------
SELECT pg_temp.try_all(ARRAY[
  $$SELECT lead_funnel.grant_reader(NULL)$$,
  $$SELECT lead_funnel.grant_reader('')$$,
  $$SELECT lead_funnel.grant_reader('regress_no_such_role')$$,
  $$SELECT lead_funnel.grant_marketing(NULL)$$,
  $$SELECT lead_funnel.grant_marketing('regress_no_such_role')$$,
  $$SELECT lead_funnel.grant_sales(NULL)$$,
  $$SELECT lead_funnel.grant_sales(0)$$
]);
SELECT * FROM pg_temp.counts();

-- ---------------------------------------------------------------------------
-- config tables: invalid rows
-- ---------------------------------------------------------------------------
SELECT pg_temp.try_all(ARRAY[
  -- transition
  $$INSERT INTO lead_funnel.transition VALUES ('mql', NULL, false)$$,
  $$INSERT INTO lead_funnel.transition VALUES ('mql', 'mql', false)$$,
  $$INSERT INTO lead_funnel.transition VALUES ('mql', 'sal', false)$$,
  $$INSERT INTO lead_funnel.transition VALUES (NULL, 'prospect', false)$$,
  $$INSERT INTO lead_funnel.transition VALUES ('mql', 'nope', false)$$,
  $$INSERT INTO lead_funnel.transition VALUES ('mql', 'lost', NULL)$$,
  $$UPDATE lead_funnel.transition SET to_stage = from_stage WHERE from_stage OPERATOR(lead_funnel.=) 'mql'$$,
  -- calendar
  $$INSERT INTO lead_funnel.calendar VALUES (NULL, 'UTC', '{1}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('default', 'UTC', '{1}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'Mars/Olympus', '{1}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', '', '{1}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', NULL, '{1}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', repeat('Europe/', 1000000), '{1}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{0}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{8}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{1,1}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{1,NULL}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{{1,2},{3,4}}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '[0:1]={1,2}', '09:00', '17:00') RETURNING name$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{-2147483648}', '09:00', '17:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{1}', '17:00', '09:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{1}', '09:00', '09:00')$$,
  $$INSERT INTO lead_funnel.calendar VALUES ('c', 'UTC', '{1}', '00:00', '24:00') RETURNING name$$,
  $$UPDATE lead_funnel.calendar SET day_end = '08:00' WHERE name = 'default'$$,
  $$UPDATE lead_funnel.calendar SET time_zone = 'nowhere' WHERE name = 'default'$$,
  -- holiday
  $$INSERT INTO lead_funnel.holiday VALUES ('nobody', '2026-01-01', 'x')$$,
  $$INSERT INTO lead_funnel.holiday VALUES ('default', NULL, 'x')$$,
  $$INSERT INTO lead_funnel.holiday VALUES (NULL, '2026-01-01', 'x')$$,
  $$INSERT INTO lead_funnel.holiday VALUES ('default', 'infinity', 'x') RETURNING day$$,
  $$INSERT INTO lead_funnel.holiday VALUES ('default', '-infinity', 'x') RETURNING day$$,
  -- sla_policy
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('sql', '1 month')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('sql', '1 year -12 months 1 hour') RETURNING max_business_time$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('sql', '0')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('sql', '-1 hour')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('sql', NULL)$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES (NULL, '1 hour')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('customer', '1 hour')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('mql', '1 hour')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, action) VALUES ('prospect', '1 hour', 'recycle')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, action) VALUES ('sql', '1 hour', 'explode')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, action) VALUES ('sql', '1 hour', NULL)$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, calendar) VALUES ('sql', '1 hour', 'nobody')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, warn_fraction) VALUES ('sql', '1 hour', 0)$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, warn_fraction) VALUES ('sql', '1 hour', 1.5)$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time, warn_fraction) VALUES ('sql', '1 hour', 'NaN')$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('sql', '2147483647 days') RETURNING stage$$,
  $$INSERT INTO lead_funnel.sla_policy (stage, max_business_time) VALUES ('opportunity', '2562047788 hours') RETURNING stage$$,
  -- team
  $$INSERT INTO lead_funnel.team (team, capacity) VALUES (NULL, 1)$$,
  $$INSERT INTO lead_funnel.team (team, capacity) VALUES ('nord', 1)$$,
  $$INSERT INTO lead_funnel.team (team, capacity) VALUES ('x', -1)$$,
  $$INSERT INTO lead_funnel.team (team, capacity) VALUES ('x', NULL)$$,
  $$INSERT INTO lead_funnel.team (team, capacity) VALUES ('x', 2147483648)$$,
  $$INSERT INTO lead_funnel.team (team, capacity, active) VALUES ('x', 1, NULL)$$,
  $$INSERT INTO lead_funnel.team (team, capacity, segments) VALUES ('x', 1, '{}')$$,
  $$INSERT INTO lead_funnel.team (team, capacity, segments) VALUES ('x', 1, '{NULL}')$$,
  $$INSERT INTO lead_funnel.team (team, capacity, segments) VALUES ('x', 1, '{{a,b},{c,d}}')$$,
  $$INSERT INTO lead_funnel.team (team, capacity) VALUES ('', 1) RETURNING team$$,
  -- scoring_model
  $$INSERT INTO lead_funnel.scoring_model VALUES (NULL, '1 day', 1, false)$$,
  $$INSERT INTO lead_funnel.scoring_model VALUES ('m', '0', 1, false)$$,
  $$INSERT INTO lead_funnel.scoring_model VALUES ('m', '-1 day', 1, false)$$,
  $$INSERT INTO lead_funnel.scoring_model VALUES ('m', '1 month', 1, false)$$,
  $$INSERT INTO lead_funnel.scoring_model VALUES ('m', NULL, 1, false)$$,
  $$INSERT INTO lead_funnel.scoring_model VALUES ('m', '1 day', NULL, false)$$,
  $$INSERT INTO lead_funnel.scoring_model VALUES ('m', '1 day', 'NaN', false) RETURNING model$$,
  $$INSERT INTO lead_funnel.scoring_model VALUES ('m', '1 day', 1, NULL)$$,
  $$INSERT INTO lead_funnel.scoring_model VALUES ('m', '2147483647 days 2562047788 hours', 1e1000, false) RETURNING model$$,
  -- scoring_rule
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('nobody', 'fit', 'a', '=', 'x', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES (NULL, 'fit', 'a', '=', 'x', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'size', 'a', '=', 'x', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', NULL, '=', 'x', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', '', '=', 'x', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', NULL, 'x', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', '==', 'x', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', '=', NULL, 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', '<', 'ten', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', '<', 'NaN', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', '>=', '1e1000', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', 'in', '', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', 'in', ',,', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', '~*', '(', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', '~*', '(a{1,1000}){1,1000}', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', 'exists', 'x', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', '=', 'x', NULL)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES ('default', 'fit', 'a', '=', 'x', 'NaN') RETURNING points$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, event_type, points) VALUES ('default', 'fit', 'a', '=', 'x', 'email_click', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, event_type, points) VALUES ('default', 'engagement', NULL, 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, event_type, points) VALUES ('default', 'engagement', 'nope', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, event_type, points) VALUES ('default', 'engagement', 'a', '=', 'x', 'email_click', 1)$$,
  $$INSERT INTO lead_funnel.scoring_rule (model, dimension, event_type, points) VALUES ('default', 'engagement', 'email_open', 1e1000) RETURNING rule_id > 0$$,
  $$UPDATE lead_funnel.scoring_rule SET op = 'like' WHERE attribute = 'employees'$$,
  $$UPDATE lead_funnel.scoring_rule SET value = 'many' WHERE attribute = 'employees'$$,
  -- event_type
  $$INSERT INTO lead_funnel.event_type VALUES (NULL, true)$$,
  $$INSERT INTO lead_funnel.event_type VALUES ('email_click', true)$$,
  $$INSERT INTO lead_funnel.event_type VALUES ('x', NULL)$$,
  $$DELETE FROM lead_funnel.event_type WHERE event_type = 'meeting_booked' RETURNING event_type$$,
  $$INSERT INTO lead_funnel.event_type VALUES ('', true) RETURNING event_type$$
]);
SELECT * FROM pg_temp.counts();

-- what the accepted but odd config rows above do (successful statements in
-- try() are kept: the infinite holidays, the 1-hour sql policy, the NaN rule)
-- infinite holidays
SELECT pg_temp.try($$SELECT lead_funnel.business_time('2026-01-05 08:00+00', '2026-01-06 18:00+00')$$);
SELECT pg_temp.try($$SELECT lead_funnel.business_add('2026-01-05 08:00+00', '10 hours')$$);
DELETE FROM lead_funnel.holiday WHERE NOT isfinite(day);
-- a service level that business_add cannot reach
BEGIN;
SELECT pg_temp.try($$UPDATE lead_funnel.sla_policy SET max_business_time = '2147483647 days' WHERE stage OPERATOR(lead_funnel.=) 'sql' RETURNING stage$$);
SELECT pg_temp.try($$SELECT (lead_funnel.move('C-1', 'sql', occurred_at => '2026-01-05 09:00+00')).to_stage$$);
ROLLBACK;

-- the caches were not left stale by the failed writes: the valid config
-- still answers as before
SELECT lead_funnel.fit_score('{"employees": 150, "industry": "Handel", "title": "CTO", "email": "x"}') AS fit_46;
SELECT lead_funnel.business_time('2026-01-05 08:00+00', '2026-01-06 18:00+00') AS two_days_16h;
SELECT to_stage, team FROM lead_funnel.move('B-3', 'mql', occurred_at => '2026-01-07 09:00+00');
SELECT to_stage FROM lead_funnel.move('B-3', 'disqualified', 'spam', occurred_at => '2026-01-07 10:00+00');
SELECT * FROM pg_temp.counts();

DROP SCHEMA crm CASCADE;
