-- fit_score with 20 rules vs the same rules hand-written as one SQL CASE sum
--
-- psql script (run by test/bench/run.sh, or alone: psql -X -f test/bench/fit_score.sql).
-- 200 000 jsonb attribute rows; the two sides run alternately, 3 times each,
-- and the median of each is compared.  Parallel query and JIT are off so
-- that both sides run the same single-process plan.  Before timing, both sides
-- must give the same total score, so the baseline really is "the same rules".
-- Prints: fit_score_20_rules  ours_ms  baseline_ms  ratio  1.2  ok|MISS
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lead_funnel;
DROP SCHEMA IF EXISTS bench_fit CASCADE;
CREATE SCHEMA bench_fit;
SET max_parallel_workers_per_gather = 0;
SET jit = off;

DELETE FROM lead_funnel.scoring_model WHERE model = 'bench_fit';
INSERT INTO lead_funnel.scoring_model VALUES ('bench_fit', '30 days', 60, false);
INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('bench_fit', 'fit', 'employees',  '>=',     '50', 10),
  ('bench_fit', 'fit', 'employees',  '<=',     '1000', 10),
  ('bench_fit', 'fit', 'employees',  '>',      '5000', -10),
  ('bench_fit', 'fit', 'revenue',    '>',      '10000000', 15),
  ('bench_fit', 'fit', 'revenue',    '<',      '100000', -5),
  ('bench_fit', 'fit', 'country',    '=',      'DE', 10),
  ('bench_fit', 'fit', 'country',    'in',     'AT, CH', 5),
  ('bench_fit', 'fit', 'industry',   'in',     'Maschinenbau, Automotive, Chemie, Elektrotechnik', 20),
  ('bench_fit', 'fit', 'industry',   '=',      'Handel', -5),
  ('bench_fit', 'fit', 'title',      '~*',     'einkauf', 15),
  ('bench_fit', 'fit', 'title',      '~*',     '(geschäftsführ|ceo|inhaber)', 20),
  ('bench_fit', 'fit', 'title',      '~*',     'praktikant|student', -20),
  ('bench_fit', 'fit', 'phone',      'exists', NULL, 5),
  ('bench_fit', 'fit', 'email',      '~*',     '@(gmail|gmx|web)\.', -10),
  ('bench_fit', 'fit', 'source',     '=',      'webinar', 10),
  ('bench_fit', 'fit', 'source',     'in',     'messe, referral', 8),
  ('bench_fit', 'fit', 'newsletter', '=',      'true', 3),
  ('bench_fit', 'fit', 'budget',     '>=',     '50000', 12),
  ('bench_fit', 'fit', 'timeframe',  '<>',     'unknown', 4),
  ('bench_fit', 'fit', 'state',      'in',     'BW, BY, NW', 6);

-- the same 20 rules as a user would write them in SQL (case-insensitive text
-- comparison as fit_score does it; ->> gives NULL for a missing key or null)
CREATE FUNCTION bench_fit.baseline(a jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT
    CASE WHEN (a->>'employees')::numeric >= 50 THEN 10 ELSE 0 END
  + CASE WHEN (a->>'employees')::numeric <= 1000 THEN 10 ELSE 0 END
  + CASE WHEN (a->>'employees')::numeric > 5000 THEN -10 ELSE 0 END
  + CASE WHEN (a->>'revenue')::numeric > 10000000 THEN 15 ELSE 0 END
  + CASE WHEN (a->>'revenue')::numeric < 100000 THEN -5 ELSE 0 END
  + CASE WHEN lower(a->>'country') = 'de' THEN 10 ELSE 0 END
  + CASE WHEN lower(a->>'country') IN ('at', 'ch') THEN 5 ELSE 0 END
  + CASE WHEN lower(a->>'industry') IN ('maschinenbau', 'automotive', 'chemie', 'elektrotechnik') THEN 20 ELSE 0 END
  + CASE WHEN lower(a->>'industry') = 'handel' THEN -5 ELSE 0 END
  + CASE WHEN (a->>'title') ~* 'einkauf' THEN 15 ELSE 0 END
  + CASE WHEN (a->>'title') ~* '(geschäftsführ|ceo|inhaber)' THEN 20 ELSE 0 END
  + CASE WHEN (a->>'title') ~* 'praktikant|student' THEN -20 ELSE 0 END
  + CASE WHEN (a->>'phone') IS NOT NULL THEN 5 ELSE 0 END
  + CASE WHEN (a->>'email') ~* '@(gmail|gmx|web)\.' THEN -10 ELSE 0 END
  + CASE WHEN lower(a->>'source') = 'webinar' THEN 10 ELSE 0 END
  + CASE WHEN lower(a->>'source') IN ('messe', 'referral') THEN 8 ELSE 0 END
  + CASE WHEN lower(a->>'newsletter') = 'true' THEN 3 ELSE 0 END
  + CASE WHEN (a->>'budget')::numeric >= 50000 THEN 12 ELSE 0 END
  + CASE WHEN lower(a->>'timeframe') <> 'unknown' THEN 4 ELSE 0 END
  + CASE WHEN lower(a->>'state') IN ('bw', 'by', 'nw') THEN 6 ELSE 0 END
$$;

-- 200 000 leads of a German B2B CRM; every attribute is missing in some rows
CREATE TABLE bench_fit.leads AS
SELECT i AS id, jsonb_strip_nulls(jsonb_build_object(
    'employees',  CASE WHEN i % 17 <> 0 THEN (i * 7919) % 8000 + 1 END,
    'revenue',    CASE WHEN i % 13 <> 0 THEN ((i * 104729) % 50000) * 1000 END,
    'country',    (ARRAY['DE', 'de', 'AT', 'CH', 'FR', 'NL', NULL])[i % 7 + 1],
    'industry',   (ARRAY['Maschinenbau', 'Automotive', 'Chemie', 'Handel', 'Software',
                         'Elektrotechnik', 'Logistik', NULL, 'maschinenbau'])[i % 9 + 1],
    'title',      (ARRAY['Einkaufsleiter', 'Leiter Einkauf', 'Geschäftsführer', 'CEO',
                         'Werkstudent', 'Ingenieur', 'Vertriebsleiterin', 'Praktikantin',
                         'Head of Procurement', NULL, 'Inhaber'])[i % 11 + 1],
    'phone',      CASE WHEN i % 3 = 0 THEN '+49 711 ' || i END,
    'email',      'kontakt' || i || (ARRAY['@gmail.com', '@firma.de', '@web.de', '@werk.de',
                                           '@gmx.net'])[i % 5 + 1],
    'source',     (ARRAY['webinar', 'messe', 'referral', 'website', 'cold', NULL])[i % 6 + 1],
    'newsletter', (i % 4 = 0),
    'budget',     CASE WHEN i % 5 <> 0 THEN (i * 31) % 200000 END,
    'timeframe',  (ARRAY['Q1', 'Q2', 'unknown', 'next year', NULL])[i % 5 + 1],
    'state',      (ARRAY['BW', 'BY', 'NW', 'HE', 'SN', 'be', 'by', 'HH'])[i % 8 + 1]
  )) AS a
FROM generate_series(1::bigint, 200000) AS i;
VACUUM ANALYZE bench_fit.leads;

DO $$
DECLARE
  ours_sum numeric;
  base_sum numeric;
  t0 timestamptz;
  ours_ms float8[] := '{}';
  base_ms float8[] := '{}';
  ours_med float8;
  base_med float8;
  ratio float8;
  rep int;
BEGIN
  -- warm up (caches, compiled rules) and check both sides agree
  SELECT sum(lead_funnel.fit_score(a, 'bench_fit')) INTO ours_sum FROM bench_fit.leads;
  SELECT sum(bench_fit.baseline(a)) INTO base_sum FROM bench_fit.leads;
  IF ours_sum IS DISTINCT FROM base_sum THEN
    RAISE EXCEPTION 'fit_score bench: sides disagree: fit_score % vs baseline %', ours_sum, base_sum;
  END IF;

  FOR rep IN 1..3 LOOP
    t0 := clock_timestamp();
    PERFORM sum(lead_funnel.fit_score(a, 'bench_fit')) FROM bench_fit.leads;
    ours_ms := ours_ms || extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
    t0 := clock_timestamp();
    PERFORM sum(bench_fit.baseline(a)) FROM bench_fit.leads;
    base_ms := base_ms || extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
  END LOOP;

  SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) INTO ours_med FROM unnest(ours_ms) x;
  SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) INTO base_med FROM unnest(base_ms) x;
  ratio := ours_med / base_med;
  CREATE TEMP TABLE IF NOT EXISTS bench_fit_result (line text);
  INSERT INTO bench_fit_result VALUES (format('BENCH|%s|%s|%s|%s|%s|%s',
      'fit_score_20_rules_vs_sql_case', round(ours_med::numeric, 1), round(base_med::numeric, 1),
      round(ratio::numeric, 2), '<= 1.2', CASE WHEN ratio <= 1.2 THEN 'ok' ELSE 'MISS' END));
END $$;

\pset tuples_only on
\pset format unaligned
SELECT line FROM bench_fit_result;
\pset tuples_only off
\pset format aligned
DROP TABLE bench_fit_result;
DELETE FROM lead_funnel.scoring_model WHERE model = 'bench_fit';
DROP SCHEMA bench_fit CASCADE;
