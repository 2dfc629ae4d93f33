-- the stage type
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;

-- every value, with depth, label and is_open, in sort order
SELECT * FROM stages ORDER BY stage;

-- every name and alias; case and blanks do not matter
SELECT v, v::stage AS stage
  FROM (VALUES ('prospect'), ('mql'), ('sal'), ('sql'), ('opportunity'),
               ('customer'), ('recycled'), ('disqualified'), ('lost'),
               ('marketing qualified lead'), ('sales accepted lead'),
               ('sales qualified lead'), ('opp'), ('won'), ('nurture'),
               ('  MQL  '), ('Sales Qualified Lead'), (E'\tOpportunity\n'),
               ('WON'), ('NuRtUrE')) AS t(v);

-- output re-reads as the same value, for every value
SELECT s, s::text::stage = s AS round_trip FROM all_stages() AS s;

-- invalid input: empty string
SELECT ''::stage;
-- invalid input: only blanks
SELECT '   '::stage;
-- invalid input: unknown word
SELECT 'lead'::stage;
-- invalid input: valid name with trailing garbage
SELECT 'mql!'::stage;
SELECT 'mql x'::stage;
-- invalid input: an alias with doubled blanks inside
SELECT 'sales  accepted lead'::stage;
-- invalid input: non-ASCII
SELECT 'müql'::stage;
SELECT 'ｍｑｌ'::stage;
-- invalid input: very long string (the message quotes it; show only the code)
DO $$
BEGIN
  PERFORM repeat('mql', 100000)::lead_funnel.stage;
EXCEPTION WHEN invalid_text_representation THEN
  RAISE NOTICE 'long input rejected: %', SQLSTATE;
END $$;
-- invalid input: through the text cast function
SELECT stage('nope');
-- the SQLSTATE is 22P02
DO $$
BEGIN
  PERFORM 'bogus'::lead_funnel.stage;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'sqlstate %', SQLSTATE;
END $$;

-- NULL handling
SELECT NULL::stage IS NULL AS is_null, depth(NULL), label(NULL), stage(NULL::text);

-- comparison operators and order
SELECT 'prospect'::stage < 'mql'::stage AS lt, 'customer'::stage < 'recycled'::stage AS lt2,
       'lost'::stage > 'disqualified'::stage AS gt, 'sal'::stage <= 'sal'::stage AS le,
       'sql'::stage >= 'opportunity'::stage AS ge, 'mql'::stage = 'mql'::stage AS eq,
       'mql'::stage <> 'sal'::stage AS ne;
SELECT stage_cmp('mql', 'sal'), stage_cmp('sal', 'sal'), stage_cmp('lost', 'prospect');
SELECT max(s), min(s) FROM all_stages() AS s;

-- depth and label
SELECT depth('customer'), depth('recycled'), label('opportunity'), label('mql');

-- a table with btree and hash indexes
CREATE TABLE stage_t (id int, s stage);
INSERT INTO stage_t SELECT i, (ARRAY['prospect','mql','sal','sql','opportunity','customer','recycled','disqualified','lost'])[1 + i % 9]::stage
  FROM generate_series(1, 9000) AS i;
CREATE INDEX stage_t_btree ON stage_t USING btree (s);
CREATE INDEX stage_t_hash ON stage_t USING hash (s);
ANALYZE stage_t;

SET enable_seqscan = off;
SET enable_bitmapscan = off;
DROP INDEX stage_t_hash;
EXPLAIN (COSTS OFF) SELECT count(*) FROM stage_t WHERE s = 'sal';
SELECT count(*) FROM stage_t WHERE s = 'sal';
EXPLAIN (COSTS OFF) SELECT count(*) FROM stage_t WHERE s > 'customer';
SELECT count(*) FROM stage_t WHERE s > 'customer';
SELECT DISTINCT s FROM stage_t WHERE s BETWEEN 'mql' AND 'sql' ORDER BY s;
DROP INDEX stage_t_btree;
CREATE INDEX stage_t_hash ON stage_t USING hash (s);
EXPLAIN (COSTS OFF) SELECT count(*) FROM stage_t WHERE s = 'lost';
SELECT count(*) FROM stage_t WHERE s = 'lost';
RESET enable_seqscan;
RESET enable_bitmapscan;

-- hash aggregation
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT s, count(*) FROM stage_t GROUP BY s;
SELECT s, count(*) FROM stage_t GROUP BY s ORDER BY s;
RESET enable_sort;

-- merge join and hash join
CREATE TABLE stage_u AS SELECT s, label(s) AS l FROM all_stages() AS s;
SET enable_hashjoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM stage_t t JOIN stage_u u USING (s);
SELECT count(*) FROM stage_t t JOIN stage_u u USING (s);
RESET enable_hashjoin;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM stage_t t JOIN stage_u u USING (s);
SELECT count(*) FROM stage_t t JOIN stage_u u USING (s);
RESET enable_mergejoin;
RESET enable_nestloop;

-- binary COPY round trip (client side, through psql)
CREATE TABLE stage_copy (s stage);
\copy (SELECT s FROM all_stages() AS s) TO 'results/stage_copy.bin' WITH (FORMAT binary)
\copy stage_copy FROM 'results/stage_copy.bin' WITH (FORMAT binary)
SELECT s FROM stage_copy ORDER BY s;

-- binary send: the lowercase name
SELECT s, stage_send(s) FROM all_stages() AS s WHERE s IN ('mql', 'won');

-- binary receive re-validates: a hand-made binary COPY file with a corrupted
-- value ("mqx"), and one with trailing garbage after a valid name
CREATE FUNCTION pg_temp.copyfile(payload bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT '\x5047434f50590aff0d0a00'::bytea          -- signature
         || '\x0000000000000000'::bytea              -- flags, header extension
         || '\x0001'::bytea                          -- one field
         || int4send(length(payload)) || payload
         || '\xffff'::bytea                          -- trailer
$$;
SELECT lo_from_bytea(424242, pg_temp.copyfile(convert_to('mqx', 'UTF8'))) IS NOT NULL AS made;
SELECT lo_export(424242, 'lf_stage_bad1.bin') = 1 AS written;
COPY stage_copy FROM 'lf_stage_bad1.bin' WITH (FORMAT binary);
SELECT lo_unlink(424242);
SELECT lo_from_bytea(424243, pg_temp.copyfile('\x6d716c00'::bytea)) IS NOT NULL AS made;
SELECT lo_export(424243, 'lf_stage_bad2.bin') = 1 AS written;
COPY stage_copy FROM 'lf_stage_bad2.bin' WITH (FORMAT binary);
SELECT lo_unlink(424243);
SELECT lo_from_bytea(424244, pg_temp.copyfile(convert_to(' SAL ', 'UTF8'))) IS NOT NULL AS made;
SELECT lo_export(424244, 'lf_stage_ok.bin') = 1 AS written;
COPY stage_copy FROM 'lf_stage_ok.bin' WITH (FORMAT binary);
SELECT lo_unlink(424244);
SELECT count(*) AS rows_after_copies FROM stage_copy;

-- casts
SELECT 'sql'::stage::text AS to_text, 'Opportunity'::text::stage AS from_text;
CREATE TABLE stage_assign (s stage);
INSERT INTO stage_assign VALUES ('customer'::text);
SELECT * FROM stage_assign;

DROP TABLE stage_t, stage_u, stage_copy, stage_assign;
