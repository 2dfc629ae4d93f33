-- business_time benchmark (SPEC section 11): psql -X -f test/bench/business_time.sql
--   psql -v n=100000 ... runs at reduced size (default 1 000 000 pairs).
-- Prints one line per figure: name  ours_ms  baseline_ms  ratio  target  ok|MISS
-- Each side runs 3 times, alternating with the other side; the median counts.
\set ON_ERROR_STOP 1
\if :{?n}
\else
\set n 1000000
\endif
\set nwalk 20000
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lead_funnel;
RESET client_min_messages;
SET max_parallel_workers_per_gather = 0;
SET jit = off;

INSERT INTO lead_funnel.calendar VALUES ('bench_berlin', 'Europe/Berlin', '{1,2,3,4,5}', '08:00', '17:00')
  ON CONFLICT (name) DO NOTHING;
SELECT lead_funnel.add_german_holidays('bench_berlin', 2020, 2040, 'BY') AS berlin_holidays;
SELECT lead_funnel.add_german_holidays('default', 2020, 2040, 'NW') AS default_holidays \gset

SELECT setseed(0.5);
DROP TABLE IF EXISTS pg_temp.pairs;
CREATE TEMP TABLE pairs AS
SELECT a, a + random() * interval '10 days' AS b10d, a + random() * interval '10 days' + interval '3650 days' AS b10y
  FROM (SELECT timestamptz '2024-01-01' + random() * interval '2 years' AS a
          FROM generate_series(1, :n)) s;
CREATE TEMP TABLE walk_pairs AS SELECT * FROM pairs LIMIT :nwalk;
VACUUM ANALYZE pairs;
VACUUM ANALYZE walk_pairs;

-- what a user would write without the extension: walk the days in SQL
CREATE FUNCTION pg_temp.bt_sql(a timestamptz, b timestamptz, cal text) RETURNS interval
LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(greatest(least(b, (x.d + c.day_end) AT TIME ZONE c.time_zone)
                               - greatest(a, (x.d + c.day_start) AT TIME ZONE c.time_zone),
                               interval '0')), interval '0')
    FROM lead_funnel.calendar c,
         generate_series((a AT TIME ZONE c.time_zone)::date,
                         (b AT TIME ZONE c.time_zone)::date, interval '1 day') AS g,
         LATERAL (SELECT g::date AS d) x
   WHERE c.name = cal
     AND extract(isodow FROM x.d)::int = ANY (c.workdays)
     AND NOT EXISTS (SELECT FROM lead_funnel.holiday h WHERE h.calendar = c.name AND h.day = x.d)
$$;

-- median of 3 alternating runs of two queries, in ms
CREATE FUNCTION pg_temp.race(ours text, base text, OUT ours_ms numeric, OUT base_ms numeric)
LANGUAGE plpgsql AS $$
DECLARE
  o numeric[] := '{}';
  b numeric[] := '{}';
  t timestamptz;
  r int;
BEGIN
  EXECUTE ours;  -- warm up (loads the calendar cache)
  EXECUTE base;
  FOR r IN 1..3 LOOP
    t := clock_timestamp(); EXECUTE ours;
    o := o || (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric;
    t := clock_timestamp(); EXECUTE base;
    b := b || (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric;
  END LOOP;
  SELECT x INTO ours_ms FROM unnest(o) x ORDER BY x OFFSET 1 LIMIT 1;
  SELECT x INTO base_ms FROM unnest(b) x ORDER BY x OFFSET 1 LIMIT 1;
END $$;

CREATE TEMP TABLE figures (ord int, name text, ours_ms numeric, base_ms numeric,
                           ratio numeric, target text, ok bool);

INSERT INTO figures
SELECT 1, 'business_time vs to - from (10-day spans, UTC)', r.ours_ms, r.base_ms,
       r.ours_ms / r.base_ms, '<= 3x', r.ours_ms / r.base_ms <= 3
  FROM pg_temp.race('SELECT count(lead_funnel.business_time(a, b10d)) FROM pairs',
                    'SELECT count(b10d - a) FROM pairs') r;
INSERT INTO figures
SELECT 2, 'business_time vs to - from (10-day spans, Europe/Berlin)', r.ours_ms, r.base_ms,
       r.ours_ms / r.base_ms, '<= 3x', r.ours_ms / r.base_ms <= 3
  FROM pg_temp.race($q$SELECT count(lead_funnel.business_time(a, b10d, 'bench_berlin')) FROM pairs$q$,
                    'SELECT count(b10d - a) FROM pairs') r;
INSERT INTO figures
SELECT 3, 'business_time vs SQL day walk (10-day spans)', r.ours_ms, r.base_ms,
       r.base_ms / r.ours_ms, '>= 30x faster', r.base_ms / r.ours_ms >= 30
  FROM pg_temp.race($q$SELECT count(lead_funnel.business_time(a, b10d, 'bench_berlin')) FROM walk_pairs$q$,
                    $q$SELECT count(pg_temp.bt_sql(a, b10d, 'bench_berlin')) FROM walk_pairs$q$) r;
INSERT INTO figures
SELECT 4, 'business_time 10-year vs 10-day spans (UTC)', r.ours_ms, r.base_ms,
       r.ours_ms / r.base_ms, '<= 2x', r.ours_ms / r.base_ms <= 2
  FROM pg_temp.race('SELECT count(lead_funnel.business_time(a, b10y)) FROM pairs',
                    'SELECT count(lead_funnel.business_time(a, b10d)) FROM pairs') r;
INSERT INTO figures
SELECT 5, 'business_time 10-year vs 10-day spans (Europe/Berlin)', r.ours_ms, r.base_ms,
       r.ours_ms / r.base_ms, '<= 2x', r.ours_ms / r.base_ms <= 2
  FROM pg_temp.race($q$SELECT count(lead_funnel.business_time(a, b10y, 'bench_berlin')) FROM pairs$q$,
                    $q$SELECT count(lead_funnel.business_time(a, b10d, 'bench_berlin')) FROM pairs$q$) r;
INSERT INTO figures
SELECT 6, 'business_add vs from + amount (up to 80 hours, Europe/Berlin)', r.ours_ms, r.base_ms,
       r.ours_ms / r.base_ms, 'info', NULL
  FROM pg_temp.race($q$SELECT count(lead_funnel.business_add(a, (b10d - a) / 3, 'bench_berlin')) FROM pairs$q$,
                    'SELECT count(a + (b10d - a) / 3) FROM pairs') r;
-- how the cost grows with the number of pairs: all of them vs a tenth
-- (about 10 means a constant cost per pair)
CREATE TEMP TABLE pairs_tenth AS SELECT * FROM pairs LIMIT :n / 10;
VACUUM ANALYZE pairs_tenth;
INSERT INTO figures
SELECT 7, 'business_time growth: 1 000 000 vs 100 000 pairs (UTC)', r.ours_ms, r.base_ms,
       r.ours_ms / r.base_ms, 'info', NULL
  FROM pg_temp.race('SELECT count(lead_funnel.business_time(a, b10d)) FROM pairs',
                    'SELECT count(lead_funnel.business_time(a, b10d)) FROM pairs_tenth') r;

\pset format unaligned
\pset fieldsep '  '
\pset tuples_only on
SELECT format('BENCH|%s|%s|%s|%s|%s|%s', name, round(ours_ms, 1), round(base_ms, 1),
       round(ratio, 2), replace(replace(target, 'x faster', ''), 'x', ''),
       CASE WHEN ok IS NULL THEN 'info' WHEN ok THEN 'ok' ELSE 'MISS' END)
  FROM figures ORDER BY ord;
\pset tuples_only off
\pset format aligned

-- leave the database as it was
DELETE FROM lead_funnel.holiday WHERE calendar = 'default';
DELETE FROM lead_funnel.calendar WHERE name = 'bench_berlin';
