-- make bench helpers (database lead_funnel_bench)
CREATE SCHEMA IF NOT EXISTS bench;

CREATE TABLE IF NOT EXISTS bench.sample (name text, side text, rep int, ms float8);

-- run a statement (CALL it on its own: one transaction) and record its time
CREATE OR REPLACE PROCEDURE bench.measure(name text, side text, rep int, sql text)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; ms float8;
BEGIN
  t0 := clock_timestamp();
  EXECUTE sql;
  ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
  INSERT INTO bench.sample VALUES (name, side, rep, ms);
END $$;

-- one result line: ratio = ours / baseline; "max" targets want ratio <= target,
-- "min" targets want baseline / ours >= target (how many times faster)
CREATE OR REPLACE FUNCTION bench.line(name text, kind text, target float8)
RETURNS text LANGUAGE sql AS $$
  WITH m AS (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE side = 'ours') AS ours,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE side = 'base') AS base
      FROM bench.sample s WHERE s.name = line.name)
  SELECT format('BENCH|%s|%s|%s|%s|%s|%s', name, round(ours::numeric, 1), round(base::numeric, 1),
                CASE WHEN kind = 'max' THEN round((ours / base)::numeric, 2)
                     ELSE round((base / ours)::numeric, 2) END,
                CASE WHEN kind = 'max' THEN '<= ' ELSE '>= ' END || target,
                CASE WHEN (kind = 'max' AND ours / base <= target) OR (kind = 'min' AND base / ours >= target)
                     THEN 'ok' ELSE 'MISS' END)
    FROM m
$$;
