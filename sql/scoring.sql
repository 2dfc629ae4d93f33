-- scoring: models, rules, fit_score, decay
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;

-- installed configuration
SELECT * FROM scoring_model;
SELECT * FROM event_type ORDER BY event_type;
SELECT count(*) AS installed_rules FROM scoring_rule;

-- no rules: every object scores 0
SELECT fit_score('{"employees": 250}');
SELECT fit_score('{}');

-- one rule per operator, each on its own attribute
INSERT INTO scoring_rule (rule_id, model, dimension, attribute, op, value, points) VALUES
  (1, 'default', 'fit', 'country',   '=',      'DE',                 1),
  (2, 'default', 'fit', 'status',    '<>',     'inactive',           2),
  (3, 'default', 'fit', 'employees', '<',      '1000',               4),
  (4, 'default', 'fit', 'employees', '>=',     '50',                 8),
  (5, 'default', 'fit', 'revenue',   '>',      '1e6',               16),
  (6, 'default', 'fit', 'rating',    '<=',     '2.5',               32),
  (7, 'default', 'fit', 'industry',  'in',     ' Maschinenbau , Automotive,Chemie ', 64),
  (8, 'default', 'fit', 'title',     '~*',     '(einkauf|purchas)', 128),
  (9, 'default', 'fit', 'phone',     'exists', NULL,               256);
SELECT setval('scoring_rule_rule_id_seq', 100);

-- each operator alone
SELECT a, fit_score(a::jsonb)
  FROM (VALUES ('{"country": "DE"}'), ('{"country": "de"}'), ('{"country": "AT"}'),
               ('{"status": "active"}'), ('{"status": "INACTIVE"}'),
               ('{"employees": 250}'), ('{"employees": 20}'), ('{"employees": 5000}'),
               ('{"employees": 1000}'), ('{"employees": 50}'),
               ('{"revenue": 1000000}'), ('{"revenue": 1000001}'), ('{"revenue": "2.5e6"}'),
               ('{"rating": 2.5}'), ('{"rating": 2.50001}'),
               ('{"industry": "maschinenbau"}'), ('{"industry": "Chemie"}'),
               ('{"industry": "Maschinenbau und Anlagenbau"}'),
               ('{"title": "Leiter Einkauf"}'), ('{"title": "EINKAUFSLEITER"}'),
               ('{"title": "Head of Purchasing"}'), ('{"title": "CTO"}'),
               ('{"phone": "+49 711 123"}'), ('{"phone": ""}'), ('{"phone": []}')) AS t(a);

-- everything at once: 1+2+4+8+16+32+64+128+256 = 511
SELECT fit_score('{"country":"DE","status":"active","employees":250,"revenue":2e6,
                   "rating":1,"industry":"Automotive","title":"Einkaufsleiterin",
                   "phone":"0711"}');

-- numeric vs text comparison: "10" is a number, so "10" < 9 is false (as text it would be true)
DELETE FROM scoring_rule;
INSERT INTO scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'n', '<', '9', 1),
  ('default', 'fit', 'n', '=', '10', 10),
  ('default', 'fit', 's', '=', '10', 100),
  ('default', 'fit', 's', 'in', 'a, 10.0, b', 1000);
SELECT a, fit_score(a::jsonb)
  FROM (VALUES ('{"n": "10"}'), ('{"n": 10}'), ('{"n": "10.000"}'), ('{"n": " 1e1 "}'),
               ('{"n": "8"}'), ('{"n": 8.99}'), ('{"n": "nine"}'), ('{"n": "NaN"}'),
               ('{"s": "10"}'), ('{"s": 1e1}'), ('{"s": "A"}'), ('{"s": "10x"}')) AS t(a);
SELECT '10' < '9' AS text_comparison_would_say;

-- JSON booleans compare as the text 'true' / 'false' (case-insensitive)
DELETE FROM scoring_rule;
INSERT INTO scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'newsletter', '=', 'TRUE', 5),
  ('default', 'fit', 'newsletter', '~*', '^f', 7);
SELECT a, fit_score(a::jsonb)
  FROM (VALUES ('{"newsletter": true}'), ('{"newsletter": false}'),
               ('{"newsletter": "True"}'), ('{"newsletter": 1}')) AS t(a);

-- regex: case-insensitive, on the text form (numbers too), non-ASCII case folding
DELETE FROM scoring_rule;
INSERT INTO scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'title', '~*', 'geschäftsführ', 3),
  ('default', 'fit', 'zip',   '~*', '^7[0-9]{4}$', 5),
  ('default', 'fit', 'city',  '=', 'MÜNCHEN', 11);
SELECT a, fit_score(a::jsonb)
  FROM (VALUES ('{"title": "GESCHÄFTSFÜHRER"}'), ('{"title": "Geschäftsführerin"}'),
               ('{"title": "Geschaeftsfuehrer"}'), ('{"zip": 70173}'),
               ('{"zip": "70173"}'), ('{"zip": 8000}'), ('{"city": "münchen"}'),
               ('{"city": "Muenchen"}')) AS t(a);

-- missing attributes, JSON null, nested values, arrays and objects
DELETE FROM scoring_rule;
INSERT INTO scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'size',    '<>',     'small', 1),
  ('default', 'fit', 'size',    'exists', NULL,    10),
  ('default', 'fit', 'company', '=',      'ACME',  100),
  ('default', 'fit', 'company', 'exists', NULL,    1000),
  ('default', 'fit', 'company.size', '>', '0',     10000);
SELECT a, fit_score(a::jsonb)
  FROM (VALUES ('{}'), ('{"other": 1}'), ('{"size": null}'), ('{"size": "big"}'),
               ('{"size": "Small"}'), ('{"size": ["small"]}'), ('{"size": {"v": 1}}'),
               ('{"company": {"name": "ACME", "size": 500}}'), ('{"company": "acme"}'),
               ('{"company": null, "size": 0}'), ('{"company.size": 3}')) AS t(a);

-- negative points and fractional points
DELETE FROM scoring_rule;
INSERT INTO scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'email', '~*', '@(gmail|web|gmx)\.', -20),
  ('default', 'fit', 'email', 'exists', NULL, 5),
  ('default', 'fit', 'employees', '>', '100', 2.75);
SELECT a, fit_score(a::jsonb)
  FROM (VALUES ('{"email": "max@gmx.de"}'), ('{"email": "max@firma.de"}'),
               ('{"email": "max@gmx.de", "employees": 101}'), ('{"employees": 100}')) AS t(a);

-- rule edits take effect in the same session's next statement
DELETE FROM scoring_rule;
INSERT INTO scoring_rule (rule_id, model, dimension, attribute, op, value, points) VALUES
  (200, 'default', 'fit', 'employees', '>=', '50', 10);
SELECT fit_score('{"employees": 60}') AS before_edit;
UPDATE scoring_rule SET value = '100' WHERE rule_id = 200;
SELECT fit_score('{"employees": 60}') AS after_raising_the_bound;
UPDATE scoring_rule SET points = 30, value = '10' WHERE rule_id = 200;
SELECT fit_score('{"employees": 60}') AS after_changing_points;
BEGIN;
DELETE FROM scoring_rule WHERE rule_id = 200;
SELECT fit_score('{"employees": 60}') AS inside_transaction_after_delete;
ROLLBACK;
SELECT fit_score('{"employees": 60}') AS after_rollback;
TRUNCATE scoring_rule;
SELECT fit_score('{"employees": 60}') AS after_truncate;

-- several models; a model rename cascades to its rules
INSERT INTO scoring_model VALUES ('enterprise', '14 days', 80, true);
INSERT INTO scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'employees', '>=', '50', 10),
  ('enterprise', 'fit', 'employees', '>=', '1000', 40);
SELECT fit_score('{"employees": 5000}') AS dflt,
       fit_score('{"employees": 5000}', 'enterprise') AS enterprise;
UPDATE scoring_model SET model = 'konzern' WHERE model = 'enterprise';
SELECT fit_score('{"employees": 5000}', 'konzern') AS renamed;
SELECT model, fit_score('{"employees": 5000}'::jsonb, model) FROM scoring_model ORDER BY model;

-- NULL input: NULL (STRICT)
SELECT fit_score(NULL) IS NULL AS null_attributes, fit_score('{}', NULL) IS NULL AS null_model;

-- invalid input: unknown model
SELECT fit_score('{}', 'nope');
DELETE FROM scoring_model WHERE model = 'konzern';
-- invalid input: deleted model
SELECT fit_score('{}', 'konzern');
-- invalid input: arrays and scalars are not attribute objects
SELECT fit_score('[1, 2]');
SELECT fit_score('"DE"');
SELECT fit_score('null');
DO $$ BEGIN PERFORM lead_funnel.fit_score('[]'); EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END $$;
DO $$ BEGIN PERFORM lead_funnel.fit_score('{}', 'nope'); EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END $$;

-- engagement rules: points per event type, negative allowed
INSERT INTO scoring_rule (model, dimension, event_type, points) VALUES
  ('default', 'engagement', 'webinar_attended', 15),
  ('default', 'engagement', 'email_open', 1),
  ('default', 'engagement', 'email_sent', -0.5);
SELECT fit_score('{"employees": 5000}') AS engagement_rules_do_not_count_for_fit;

-- malformed rules are rejected when written, naming the rule
-- invalid input: unknown operator
INSERT INTO scoring_rule VALUES (301, 'default', 'fit', 'x', 'like', 'a%', NULL, 1);
-- invalid input: regex that does not compile
INSERT INTO scoring_rule VALUES (302, 'default', 'fit', 'x', '~*', '(unclosed', NULL, 1);
-- invalid input: ordering operator with a non-numeric value
INSERT INTO scoring_rule VALUES (303, 'default', 'fit', 'x', '<', 'ten', NULL, 1);
INSERT INTO scoring_rule VALUES (304, 'default', 'fit', 'x', '>=', 'NaN', NULL, 1);
-- invalid input: in with an empty list, or an empty element
INSERT INTO scoring_rule VALUES (305, 'default', 'fit', 'x', 'in', '', NULL, 1);
INSERT INTO scoring_rule VALUES (306, 'default', 'fit', 'x', 'in', 'a, ,b', NULL, 1);
-- invalid input: fit rule without attribute, with an empty attribute, without operator
INSERT INTO scoring_rule VALUES (307, 'default', 'fit', NULL, '=', 'a', NULL, 1);
INSERT INTO scoring_rule VALUES (308, 'default', 'fit', '', '=', 'a', NULL, 1);
INSERT INTO scoring_rule VALUES (309, 'default', 'fit', 'x', NULL, 'a', NULL, 1);
-- invalid input: value missing where the operator needs one; value given to exists
INSERT INTO scoring_rule VALUES (310, 'default', 'fit', 'x', '=', NULL, NULL, 1);
INSERT INTO scoring_rule VALUES (311, 'default', 'fit', 'x', '~*', NULL, NULL, 1);
INSERT INTO scoring_rule VALUES (312, 'default', 'fit', 'x', 'exists', 'yes', NULL, 1);
-- invalid input: fit rule with an event type
INSERT INTO scoring_rule VALUES (313, 'default', 'fit', 'x', '=', 'a', 'email_open', 1);
-- invalid input: engagement rule without event type, with an unknown one, with attribute/op
INSERT INTO scoring_rule VALUES (314, 'default', 'engagement', NULL, NULL, NULL, NULL, 1);
INSERT INTO scoring_rule VALUES (315, 'default', 'engagement', NULL, NULL, NULL, 'fax_sent', 1);
INSERT INTO scoring_rule VALUES (316, 'default', 'engagement', 'x', NULL, NULL, 'email_open', 1);
INSERT INTO scoring_rule VALUES (317, 'default', 'engagement', NULL, '=', 'a', 'email_open', 1);
-- invalid input: unknown dimension, unknown model, NULL points
INSERT INTO scoring_rule VALUES (318, 'default', 'intent', 'x', '=', 'a', NULL, 1);
INSERT INTO scoring_rule VALUES (319, 'nope', 'fit', 'x', '=', 'a', NULL, 1);
INSERT INTO scoring_rule VALUES (320, 'default', 'fit', 'x', '=', 'a', NULL, NULL);
-- invalid input: an UPDATE that breaks a valid rule
INSERT INTO scoring_rule VALUES (321, 'default', 'fit', 'x', '=', 'a', NULL, 1);
UPDATE scoring_rule SET op = '>' WHERE rule_id = 321;
-- invalid input: an event type in use cannot be deleted
DELETE FROM event_type WHERE event_type = 'email_open';
-- SQLSTATEs: 22023 bad operator or value, 2201B bad regex, 23514 structure
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('fit', 'x', 'like', 'a', NULL),
      ('fit', 'x', '~*', '[', NULL),
      ('fit', 'x', '<', 'ten', NULL),
      ('fit', 'x', 'in', ' , ', NULL),
      ('fit', 'x', '=', NULL, NULL),
      ('fit', NULL, '=', 'a', NULL),
      ('fit', 'x', '=', 'a', 'email_open'),
      ('engagement', NULL, NULL, NULL, NULL),
      ('engagement', NULL, NULL, NULL, 'fax_sent'),
      ('engagement', 'x', NULL, NULL, 'email_open')) AS t(d, a, o, v, e)
  LOOP
    BEGIN
      INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, event_type, points)
        VALUES ('default', r.d, r.a, r.o, r.v, r.e, 1);
      RAISE NOTICE 'accepted: %', r;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE '% %', SQLSTATE, r;
    END;
  END LOOP;
END $$;
-- all rules that exist are the valid ones
SELECT rule_id, dimension, attribute, op, value, event_type, points
  FROM scoring_rule ORDER BY rule_id;

-- scoring models: half-life must be a positive duration without months
-- invalid input: months
INSERT INTO scoring_model VALUES ('monthly', '1 month', 60, false);
INSERT INTO scoring_model VALUES ('yearly', '1 year 2 days', 60, false);
-- invalid input: zero and negative half-life
INSERT INTO scoring_model VALUES ('zero', '0 days', 60, false);
INSERT INTO scoring_model VALUES ('negative', '1 day -25 hours', 60, false);
-- invalid input: NULL half-life, NULL threshold
INSERT INTO scoring_model VALUES ('nohl', NULL, 60, false);
INSERT INTO scoring_model VALUES ('nothreshold', '7 days', NULL, false);
UPDATE scoring_model SET half_life = '2 mons' WHERE model = 'default';
DO $$ BEGIN UPDATE lead_funnel.scoring_model SET half_life = '-1 day'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END $$;
-- hours are fine
INSERT INTO scoring_model VALUES ('fast', '36 hours', 40, false);
SELECT * FROM scoring_model ORDER BY model;

-- config tables are dumped by pg_dump
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid
 WHERE e.extname = 'lead_funnel' ORDER BY 1;

-- decay: exact at 0, 1 and 3 half-lives (UTC: no daylight-saving hour in the way)
SET timezone = 'UTC';
SELECT decayed(100, '2024-01-01', '2024-01-01', '30 days') AS zero,
       decayed(100, '2024-01-01', '2024-01-31', '30 days') AS one,
       decayed(100, '2024-01-01', '2024-03-31', '30 days') AS three,
       decayed(100, '2024-01-01', '2024-01-31', '30 days') = 50 AS one_is_50,
       decayed(100, '2024-01-01', '2024-03-31', '30 days') = 12.5 AS three_is_12_5;
-- half a half-life: 100 / sqrt(2), rounded to 10 places; across DST a day is 24 h
SELECT decayed(100, '2024-01-01', '2024-01-16', '30 days') AS half,
       round(100 / sqrt(2::numeric), 10) AS expected,
       decayed(7, '2024-03-30 12:00+01', '2024-03-31 12:00+02', '1 day') AS across_dst_23h,
       decayed(-40, '2024-01-01', '2024-01-03', '1 day') AS negative_value,
       decayed(123.456, '2024-01-01 00:00', '2024-01-01 06:00', '6 hours') AS fractional;
-- value unchanged at distance 0 (scale kept), 0 far in the future, growth backwards
SELECT decayed(1.50, now(), now(), '1 day') AS unchanged,
       decayed(100, '2024-01-01', '2124-01-01', '1 day') AS after_a_century,
       decayed(100, '2024-01-31', '2024-01-01', '30 days') AS backwards_one_half_life;
-- exact at whole half-lives whatever the size of the value (2^-k has k decimal
-- digits, more than a float8 converted with 15 digits keeps), both ways
SELECT decayed(1e20, '2000-01-01', '2000-01-01'::timestamptz + 40 * interval '1 day', '1 day') AS after_40,
       decayed(1e20, '2000-01-01', '2000-01-01'::timestamptz + 40 * interval '1 day', '1 day')
         = round(1e20 / 2::numeric ^ 40, 10) AS after_40_exact,
       decayed(1e20, '2000-01-01', '2000-01-01'::timestamptz - 60 * interval '1 day', '1 day') AS before_60,
       decayed(1e20, '2000-01-01', '2000-01-01'::timestamptz - 60 * interval '1 day', '1 day')
         = 1e20 * 2::numeric ^ 60 AS before_60_exact;
SELECT decayed(12345.6789, '2000-01-01', '2000-01-01'::timestamptz + 20 * interval '1 hour', '1 hour')
         = round(12345.6789 / 2::numeric ^ 20, 10) AS after_20_exact,
       decayed(1e320, '2000-01-01', '2000-01-01'::timestamptz + 1000 * interval '1 hour', '1 hour')
         = round(1e320 / 2::numeric ^ 1000, 10) AS after_1000_exact,
       decayed(3, '2000-01-01', '2000-01-01'::timestamptz - 1023 * interval '1 hour', '1 hour')
         = 3 * 2::numeric ^ 1023 AS before_1023_exact;
-- invalid input: half-life with months, zero, negative; infinite timestamps; overflow
SELECT decayed(1, '2024-01-01', '2024-02-01', '1 month');
SELECT decayed(1, '2024-01-01', '2024-02-01', '0');
SELECT decayed(1, '2024-01-01', '2024-02-01', '-1 day');
SELECT decayed(1, '-infinity', '2024-02-01', '1 day');
SELECT decayed(1, '2224-01-01', '2024-01-01', '1 hour');
SELECT decayed(NULL, now(), now(), '1 day') IS NULL AS null_in_null_out;

-- the cache survives the extension being dropped and created again in the same session
INSERT INTO scoring_rule (model, dimension, attribute, op, value, points)
  VALUES ('default', 'fit', 'x', 'exists', NULL, 1);
SELECT fit_score('{"x": 1}') AS before_drop;
DROP EXTENSION lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
SELECT fit_score('{"x": 1}') AS after_recreate;
INSERT INTO scoring_rule (model, dimension, attribute, op, value, points)
  VALUES ('default', 'fit', 'x', '~*', '^[0-9]+$', 7);
INSERT INTO scoring_rule (model, dimension, event_type, points)
  VALUES ('default', 'engagement', 'email_open', 2);
SELECT fit_score('{"x": 1}') AS after_new_rule;
