-- fuzz: seeded random and mutated input to the stage type (text and binary),
-- fit_score() and attach().  Only aggregate counts are printed: successes,
-- clean errors by SQLSTATE class, and internal errors (XX000), which must be 0.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = public;
SELECT setseed(0.4242);

CREATE TEMP TABLE fuzz_result (target text, outcome text);
CREATE FUNCTION pg_temp.outcome(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN CASE WHEN SQLSTATE = 'XX000' THEN 'XX000 ' || SQLERRM ELSE 'class ' || left(SQLSTATE, 2) END;
END $$;

-- text input: mutations of valid names and random strings
CREATE TEMP TABLE fuzz_text AS
WITH names(n) AS (VALUES ('prospect'), ('mql'), ('sal'), ('sql'), ('opportunity'), ('customer'),
                         ('recycled'), ('disqualified'), ('lost'), ('marketing qualified lead'),
                         ('sales accepted lead'), ('sales qualified lead'), ('opp'), ('won'), ('nurture')),
     base AS (SELECT n, i, (random() * 9)::int AS kind, random() AS r
                FROM names, generate_series(1, 150) AS i)
SELECT CASE kind
  WHEN 0 THEN (SELECT string_agg(CASE WHEN random() < 0.5 THEN upper(c) ELSE c END, '' ORDER BY o)
                 FROM regexp_split_to_table(n, '') WITH ORDINALITY AS t(c, o))
  WHEN 1 THEN repeat(' ', (r * 5)::int) || n || repeat(E'\t', (r * 3)::int)
  WHEN 2 THEN left(n, (r * length(n))::int)
  WHEN 3 THEN n || chr(33 + (r * 90)::int)
  WHEN 4 THEN overlay(n placing ' ' from 1 + (r * (length(n) - 1))::int for 0)
  WHEN 5 THEN repeat(n, 1 + (r * 2000)::int)
  WHEN 6 THEN n || chr(160 + (r * 20000)::int)
  WHEN 7 THEN (SELECT string_agg(chr(1 + (random() * 1000)::int), '') FROM generate_series(1, 1 + (r * 30)::int))
  ELSE (SELECT string_agg(chr(32 + (random() * 94)::int), '') FROM generate_series(1, (r * 12)::int))
END AS s FROM base;
INSERT INTO fuzz_result
  SELECT 'stage_in', pg_temp.outcome(format('SELECT %L::lead_funnel.stage', s)) FROM fuzz_text;

-- binary receive: hand-made binary COPY files, valid names, random bytes,
-- invalid UTF-8, NUL bytes
CREATE TABLE fuzz_copy (s lead_funnel.stage);
CREATE FUNCTION pg_temp.copyfile(payload bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea || '\x0001'::bytea
         || int4send(length(payload)) || payload || '\xffff'::bytea
$$;
CREATE FUNCTION pg_temp.copy_outcome(payload bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  o text;
BEGIN
  PERFORM lo_unlink(424250) FROM pg_largeobject_metadata WHERE oid = 424250;
  PERFORM lo_from_bytea(424250, pg_temp.copyfile(payload));
  PERFORM lo_export(424250, 'lf_fuzz.bin');
  PERFORM lo_unlink(424250);
  o := pg_temp.outcome($q$COPY fuzz_copy FROM 'lf_fuzz.bin' WITH (FORMAT binary)$q$);
  RETURN o;
END $$;
CREATE TEMP TABLE fuzz_bin AS
WITH base AS (SELECT i, (random() * 5)::int AS kind, random() AS r FROM generate_series(1, 300) AS i)
SELECT CASE kind
  WHEN 0 THEN convert_to((ARRAY['mql', 'sal', 'SQL', ' lost ', 'won', 'opp'])[1 + (r * 5)::int], 'UTF8')
  WHEN 1 THEN (SELECT string_agg(set_byte('\x00'::bytea, 0, (random() * 255)::int), ''::bytea)
                 FROM generate_series(1, 1 + (r * 20)::int))
  WHEN 2 THEN convert_to('mql', 'UTF8') || '\x00'::bytea || convert_to('x', 'UTF8')
  WHEN 3 THEN convert_to('ma', 'UTF8') || (ARRAY['\xc3'::bytea, '\xff'::bytea, '\xe282'::bytea, '\xc0af'::bytea, '\xeda080'::bytea])[1 + (r * 4)::int]
  WHEN 4 THEN ''::bytea
  ELSE convert_to(repeat('customer', 1 + (r * 100)::int), 'UTF8')
END AS payload FROM base;
INSERT INTO fuzz_result SELECT 'stage_recv', pg_temp.copy_outcome(payload) FROM fuzz_bin;

-- fit_score: random jsonb against a few rules
INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'employees', '>=', '100', 20), ('default', 'fit', 'employees', '<', '10', -5),
  ('default', 'fit', 'industry', 'in', 'Chemie,Handel', 10), ('default', 'fit', 'title', '~*', 'ceo|cto', 15),
  ('default', 'fit', 'email', 'exists', NULL, 1), ('default', 'fit', 'country', '<>', 'DE', -3);
CREATE FUNCTION pg_temp.rand_json(depth int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  k int := (random() * 8)::int;
BEGIN
  IF depth > 3 THEN k := k % 5; END IF;
  RETURN CASE k
    WHEN 0 THEN 'null'::jsonb
    WHEN 1 THEN to_jsonb(round((random() - 0.3) * 10 ^ (random() * 8)))
    WHEN 2 THEN to_jsonb((ARRAY['NaN', 'Infinity', '1e1000', ' 500 ', '0x10', 'Chemie', 'CEO', ''])[1 + (random() * 7)::int])
    WHEN 3 THEN to_jsonb(random() < 0.5)
    WHEN 4 THEN to_jsonb(md5(random()::text))
    WHEN 5 THEN jsonb_build_array(pg_temp.rand_json(depth + 1), pg_temp.rand_json(depth + 1))
    ELSE jsonb_build_object((ARRAY['employees', 'industry', 'title', 'email', 'country', 'x'])[1 + (random() * 5)::int],
                            pg_temp.rand_json(depth + 1),
                            (ARRAY['employees', 'industry', 'title', 'email', 'country', 'y'])[1 + (random() * 5)::int],
                            pg_temp.rand_json(depth + 1))
  END;
END $$;
INSERT INTO fuzz_result
  SELECT 'fit_score', pg_temp.outcome(format('SELECT lead_funnel.fit_score(%L)', pg_temp.rand_json(0)))
    FROM generate_series(1, 1500);

-- attach: random maps and options (on a table that is detached after each success)
CREATE TABLE fuzz_crm (id int, status text, owner text, n numeric);
INSERT INTO fuzz_result
  SELECT 'attach', pg_temp.outcome(format(
           'SELECT lead_funnel.attach(%L, %L, %L, %L, %L); SELECT lead_funnel.detach(%L)',
           'fuzz_crm', 'id', 'status',
           CASE WHEN random() < 0.5 THEN pg_temp.rand_json(0)
                ELSE jsonb_build_object('New', (ARRAY['prospect', 'mql', 'MQL', 'nope', ''])[1 + (random() * 4)::int]) END,
           CASE WHEN random() < 0.5 THEN pg_temp.rand_json(0)
                ELSE jsonb_build_object((ARRAY['owner_column', 'amount_column', 'attributes', 'on_invalid', 'bogus'])[1 + (random() * 4)::int],
                                        (ARRAY['"owner"'::jsonb, '"n"', '["n", "owner"]', '"record"', '[]', '7'])[1 + (random() * 5)::int]) END,
           'fuzz_crm'))
    FROM generate_series(1, 300);

SELECT target, outcome, count(*) FROM fuzz_result GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) FILTER (WHERE outcome LIKE 'XX000%') AS internal_errors, count(*) AS total FROM fuzz_result;
SELECT count(*) AS attachments_left FROM lead_funnel.attachment;
DROP TABLE fuzz_copy, fuzz_crm;
