-- security: hostile objects planted on the search path are never used
--
-- In the spirit of contrib seg's security test: a schema "evil" shadows every
-- built-in operator (and the stage operators), many built-in functions and
-- aggregates, every lead_funnel table and view and every pg_catalog relation,
-- and temporary views shadow them once more (pg_temp is searched first for
-- relations).  Each planted object calls evil.trap(), which raises
-- NOTICE 'captured: ...' and writes a row to public.captured, and otherwise
-- behaves like the original.  With
--   SET search_path = evil, lead_funnel, pg_catalog, public
-- (pg_catalog listed explicitly after evil: the dangerous case) every public
-- function and view is exercised: not one NOTICE, no row in public.captured,
-- and every view answers as under a clean search_path.
--
-- Functions fix their search_path, so they never see evil; the views and the
-- SQL-standard function bodies are parsed at creation; business_time,
-- business_add and crm_trigger have no SET clause (hot path) and resolve no
-- name through the search path: this test is what proves it.  It runs in a
-- fresh session, so the C code prepares its plans under the hostile path.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS evil CASCADE;
DROP SCHEMA IF EXISTS crm CASCADE;
DROP TABLE IF EXISTS public.captured;
DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_lf_sales') THEN
    DROP OWNED BY regress_lf_reader, regress_lf_marketing, regress_lf_sales;
  END IF;
END $$;
DROP ROLE IF EXISTS regress_lf_reader;
DROP ROLE IF EXISTS regress_lf_marketing;
DROP ROLE IF EXISTS regress_lf_sales;
RESET client_min_messages;

CREATE TABLE public.captured (what text);
GRANT INSERT, SELECT ON public.captured TO PUBLIC;
CREATE SCHEMA evil;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE FUNCTION evil.trap(what text) RETURNS bool
  LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  RAISE NOTICE 'captured: %', what;
  INSERT INTO public.captured VALUES (what);
  RETURN true;
END $$;

-- every binary and prefix operator of pg_catalog and lead_funnel whose types
-- are not pseudo-types, copied into evil with a trap
DO $plant$
DECLARE
  o record;
  planted int := 0;
BEGIN
  FOR o IN
    SELECT op.oid, op.oprname, op.oprleft, op.oprright, op.oprresult::regtype AS res,
           pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.proname) AS code
      FROM pg_catalog.pg_operator AS op
      JOIN pg_catalog.pg_proc AS p ON p.oid = op.oprcode
      JOIN pg_catalog.pg_namespace AS pn ON pn.oid = p.pronamespace
     WHERE op.oprnamespace IN ('pg_catalog'::regnamespace, 'lead_funnel'::regnamespace)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_type AS t
                        WHERE t.oid IN (op.oprleft, op.oprright, op.oprresult) AND t.typtype = 'p')
     ORDER BY op.oid
  LOOP
    BEGIN
      IF o.oprleft = 0 THEN
        EXECUTE pg_catalog.format(
          'CREATE FUNCTION evil.%I(%s) RETURNS %s LANGUAGE plpgsql SET search_path = pg_catalog '
          'AS $f$ BEGIN PERFORM evil.trap(%L); RETURN %s($1); END $f$',
          'op' || o.oid, o.oprright::regtype, o.res,
          pg_catalog.format('operator %s(%s)', o.oprname, o.oprright::regtype), o.code);
        EXECUTE pg_catalog.format('CREATE OPERATOR evil.%s (RIGHTARG = %s, FUNCTION = evil.%I)',
          o.oprname, o.oprright::regtype, 'op' || o.oid);
      ELSE
        EXECUTE pg_catalog.format(
          'CREATE FUNCTION evil.%I(%s, %s) RETURNS %s LANGUAGE plpgsql SET search_path = pg_catalog '
          'AS $f$ BEGIN PERFORM evil.trap(%L); RETURN %s($1, $2); END $f$',
          'op' || o.oid, o.oprleft::regtype, o.oprright::regtype, o.res,
          pg_catalog.format('operator %s(%s, %s)', o.oprname, o.oprleft::regtype, o.oprright::regtype),
          o.code);
        EXECUTE pg_catalog.format('CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.%I)',
          o.oprname, o.oprleft::regtype, o.oprright::regtype, 'op' || o.oid);
      END IF;
      planted := planted + 1;
    EXCEPTION WHEN OTHERS THEN
      NULL;   -- an operator whose function cannot be wrapped in PL/pgSQL
    END;
  END LOOP;
  RAISE NOTICE 'operators planted: %', CASE WHEN planted > 500 THEN 'more than 500' ELSE planted::text END;
END
$plant$;
SELECT count(*) > 0 AS has_text_eq, count(*) FILTER (WHERE oprleft = 'lead_funnel.stage'::regtype) AS stage_ops
  FROM pg_operator WHERE oprnamespace = 'evil'::regnamespace AND oprname = '='
   AND (oprleft = 'text'::regtype OR oprleft = 'lead_funnel.stage'::regtype) AND oprleft = oprright;

-- built-in functions that SQL and PL/pgSQL code commonly calls by name
DO $plant$
DECLARE
  f record;
  args text;
  planted int := 0;
BEGIN
  FOR f IN
    SELECT p.oid, p.proname, p.pronargs, p.proretset,
           pg_catalog.pg_get_function_arguments(p.oid) AS argdef,
           pg_catalog.pg_get_function_result(p.oid) AS result
      FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f'
       AND p.proname IN ('now', 'lower', 'upper', 'btrim', 'ltrim', 'rtrim', 'unnest', 'coalesce',
                         'jsonb_typeof', 'jsonb_each', 'jsonb_each_text', 'jsonb_array_elements',
                         'jsonb_array_elements_text', 'jsonb_array_length', 'jsonb_object_keys',
                         'to_jsonb', 'jsonb_set', 'jsonb_strip_nulls', 'row_to_json',
                         'quote_ident', 'quote_literal', 'quote_nullable', 'array_to_string',
                         'array_length', 'array_position', 'array_append', 'array_cat', 'cardinality',
                         'string_to_array', 'make_date', 'make_interval', 'make_timestamptz',
                         'date_part', 'date_trunc', 'extract', 'generate_series', 'generate_subscripts',
                         'to_regclass', 'to_regprocedure', 'to_regtype', 'current_setting', 'set_config',
                         'current_database', 'length', 'char_length', 'octet_length', 'substr',
                         'substring', 'replace', 'left', 'right', 'strpos', 'split_part',
                         'regexp_replace', 'regexp_match', 'round', 'trunc', 'abs', 'floor', 'ceil',
                         'power', 'exp', 'ln', 'log', 'sqrt', 'clock_timestamp', 'statement_timestamp',
                         'transaction_timestamp', 'pg_notify', 'age', 'justify_hours', 'justify_interval',
                         'to_char', 'to_timestamp', 'isfinite', 'timezone', 'lpad', 'rpad', 'repeat',
                         'md5', 'encode', 'convert_to', 'convert_from', 'pg_typeof', 'format_type',
                         'has_table_privilege', 'pg_has_role', 'int4', 'int8', 'numeric', 'float8',
                         'text', 'interval', 'bool', 'name', 'jsonb', 'xmlcomment', 'translate',
                         'pg_extension_config_dump', 'nextval', 'hashtext', 'xml_is_well_formed_document')
       AND NOT EXISTS (SELECT FROM pg_catalog.unnest(p.proargtypes::oid[] || p.prorettype) AS a(t)
                        JOIN pg_catalog.pg_type AS ty ON ty.oid = a.t
                       WHERE ty.typtype = 'p'
                         AND ty.typname NOT IN ('anyelement', 'anyarray', 'anynonarray', 'record', 'void'))
     ORDER BY p.oid
  LOOP
    SELECT pg_catalog.string_agg('$' || i, ', ' ORDER BY i) INTO args
      FROM pg_catalog.generate_series(1, f.pronargs) AS i;
    BEGIN
      EXECUTE pg_catalog.format(
        'CREATE FUNCTION evil.%I(%s) RETURNS %s LANGUAGE plpgsql SET search_path = pg_catalog '
        'AS $f$ BEGIN PERFORM evil.trap(%L); %s; END $f$',
        f.proname, f.argdef, f.result,
        pg_catalog.format('function %s(%s)', f.proname, pg_catalog.pg_get_function_identity_arguments(f.oid)),
        CASE WHEN f.proretset
             THEN pg_catalog.format('RETURN QUERY SELECT * FROM pg_catalog.%I(%s)', f.proname, COALESCE(args, ''))
             WHEN f.result = 'void'
             THEN pg_catalog.format('PERFORM pg_catalog.%I(%s)', f.proname, COALESCE(args, ''))
             ELSE pg_catalog.format('RETURN pg_catalog.%I(%s)', f.proname, COALESCE(args, '')) END);
      planted := planted + 1;
    EXCEPTION WHEN OTHERS THEN
      NULL;   -- e.g. a non-set function with OUT parameters
    END;
  END LOOP;
  RAISE NOTICE 'functions planted: %', CASE WHEN planted > 150 THEN 'more than 150' ELSE planted::text END;
END
$plant$;
-- format() is variadic "any": plant the shapes of it that code uses
CREATE FUNCTION evil.format(text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM evil.trap('function format(text)'); RETURN pg_catalog.format($1); END $$;
CREATE FUNCTION evil.format(text, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM evil.trap('function format(text, text)'); RETURN pg_catalog.format($1, $2); END $$;
CREATE FUNCTION evil.format(text, text, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM evil.trap('function format(text, text, text)'); RETURN pg_catalog.format($1, $2, $3); END $$;
CREATE FUNCTION evil.concat(text, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM evil.trap('function concat(text, text)'); RETURN pg_catalog.concat($1, $2); END $$;

-- aggregates: count(*), count(x), sum, min, max, avg, string_agg, bool_or,
-- array_agg, each with a trapping transition function
CREATE FUNCTION evil.count_star(int8) RETURNS int8 LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM evil.trap('aggregate count(*)'); RETURN $1 + 1; END $$;
CREATE AGGREGATE evil.count(*) (SFUNC = evil.count_star, STYPE = int8, INITCOND = '0');
CREATE FUNCTION evil.count_any(int8, anyelement) RETURNS int8 LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM evil.trap('aggregate count(x)'); RETURN $1 + ($2 IS NOT NULL)::int; END $$;
CREATE AGGREGATE evil.count(anyelement) (SFUNC = evil.count_any, STYPE = int8, INITCOND = '0');
CREATE AGGREGATE evil.count(text) (SFUNC = evil.count_any, STYPE = int8, INITCOND = '0');
CREATE AGGREGATE evil.count(bigint) (SFUNC = evil.count_any, STYPE = int8, INITCOND = '0');
CREATE FUNCTION evil.agg_last(anyelement, anyelement) RETURNS anyelement LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM evil.trap('aggregate sum/min/max/avg/bool_or'); RETURN COALESCE($2, $1); END $$;
CREATE AGGREGATE evil.sum(numeric) (SFUNC = evil.agg_last, STYPE = numeric);
CREATE AGGREGATE evil.sum(bigint) (SFUNC = evil.agg_last, STYPE = bigint);
CREATE AGGREGATE evil.sum(integer) (SFUNC = evil.agg_last, STYPE = integer);
CREATE AGGREGATE evil.avg(numeric) (SFUNC = evil.agg_last, STYPE = numeric);
CREATE AGGREGATE evil.min(timestamptz) (SFUNC = evil.agg_last, STYPE = timestamptz);
CREATE AGGREGATE evil.max(timestamptz) (SFUNC = evil.agg_last, STYPE = timestamptz);
CREATE AGGREGATE evil.min(numeric) (SFUNC = evil.agg_last, STYPE = numeric);
CREATE AGGREGATE evil.max(numeric) (SFUNC = evil.agg_last, STYPE = numeric);
CREATE AGGREGATE evil.min(lead_funnel.stage) (SFUNC = evil.agg_last, STYPE = lead_funnel.stage);
CREATE AGGREGATE evil.max(lead_funnel.stage) (SFUNC = evil.agg_last, STYPE = lead_funnel.stage);
CREATE AGGREGATE evil.bool_or(boolean) (SFUNC = evil.agg_last, STYPE = boolean);
CREATE AGGREGATE evil.bool_and(boolean) (SFUNC = evil.agg_last, STYPE = boolean);
CREATE FUNCTION evil.agg_text(text, text, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM evil.trap('aggregate string_agg'); RETURN COALESCE($1 || $3, '') || $2; END $$;
CREATE AGGREGATE evil.string_agg(text, text) (SFUNC = evil.agg_text, STYPE = text);
CREATE FUNCTION evil.agg_array(text[], text) RETURNS text[] LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM evil.trap('aggregate array_agg'); RETURN pg_catalog.array_append($1, $2); END $$;
CREATE AGGREGATE evil.array_agg(text) (SFUNC = evil.agg_array, STYPE = text[]);

-- every lead_funnel table and view and every pg_catalog relation, shadowed
-- in evil and once more in pg_temp by a view that reads the original and
-- traps
DO $plant$
DECLARE
  r record;
  cols text;
  planted int := 0;
BEGIN
  FOR r IN
    SELECT c.oid, n.nspname, c.relname
      FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('lead_funnel', 'pg_catalog') AND c.relkind IN ('r', 'v', 'p')
     ORDER BY n.nspname, c.relname
  LOOP
    -- every column but those of a pseudo-type (pg_statistic's anyarray)
    SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
     WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype <> 'p';
    BEGIN
      EXECUTE pg_catalog.format('CREATE VIEW evil.%I AS SELECT %s FROM %I.%I WHERE evil.trap(%L)',
                                r.relname, cols, r.nspname, r.relname, 'relation evil.' || r.relname);
      EXECUTE pg_catalog.format('CREATE TEMP VIEW %I AS SELECT %s FROM %I.%I WHERE evil.trap(%L)',
                                r.relname, cols, r.nspname, r.relname, 'relation pg_temp.' || r.relname);
      planted := planted + 1;
    EXCEPTION WHEN OTHERS THEN
      NULL;   -- pg_statistic_ext_data: a column of a type containing anyarray
    END;
  END LOOP;
  RAISE NOTICE 'relations planted: %', CASE WHEN planted > 100 THEN 'more than 100' ELSE planted::text END;
END
$plant$;
-- the traps work: an unqualified name under the hostile path is captured
BEGIN;
SET LOCAL search_path = evil, lead_funnel, pg_catalog, public;
SELECT 'a'::text = 'a'::text AS text_eq, lower('X') AS lower, 'mql'::lead_funnel.stage = 'mql' AS stage_eq;
SELECT name FROM calendar;  -- pg_temp.calendar, then evil.calendar
ROLLBACK;

-- ---------------------------------------------------------------------------
-- a CRM table and the roles, prepared under a clean search_path
-- ---------------------------------------------------------------------------
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY, status text, owner text, team text, segment text,
                        why text, amount numeric, employees int, industry text);
INSERT INTO crm.leads VALUES (100, 'New', 'mia', NULL, NULL, NULL, NULL, 500, 'Chemie'),
                             (101, 'MQL', 'tom', NULL, NULL, NULL, NULL, 20, 'Handel');
CREATE ROLE regress_lf_reader;
CREATE ROLE regress_lf_marketing;
CREATE ROLE regress_lf_sales;

-- ---------------------------------------------------------------------------
-- every public function and view under the hostile search path
-- ---------------------------------------------------------------------------
SET search_path = evil, lead_funnel, pg_catalog, public;
SHOW search_path;

-- config tables, written (their check triggers run)
INSERT INTO lead_funnel.calendar VALUES ('berlin', 'Europe/Berlin', '{1,2,3,4,5}', '08:00', '16:00');
INSERT INTO lead_funnel.team (team, capacity, segments) VALUES ('nord', 3, NULL), ('sued', 2, NULL);
INSERT INTO lead_funnel.sla_policy (stage, max_business_time, calendar, action)
  VALUES ('sql', '8 hours', 'berlin', 'recycle');
INSERT INTO lead_funnel.scoring_model VALUES ('b2b', '14 days', 50, true);
INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('b2b', 'fit', 'employees', '>=', '100', 20),
  ('b2b', 'fit', 'industry', 'in', 'Chemie,Maschinenbau', 10),
  ('b2b', 'fit', 'title', '~*', 'chief|head', 5),
  ('b2b', 'fit', 'email', 'exists', NULL, 1),
  ('default', 'fit', 'country', '=', 'DE', 7);
INSERT INTO lead_funnel.scoring_rule (model, dimension, event_type, points) VALUES
  ('b2b', 'engagement', 'webinar_attended', 30), ('default', 'engagement', 'email_click', 5);
INSERT INTO lead_funnel.event_type VALUES ('trade_fair_visit', true);
INSERT INTO lead_funnel.transition VALUES ('prospect', 'recycled', true);
INSERT INTO lead_funnel.holiday VALUES ('berlin', '2026-01-01', 'Neujahr');

-- the stage type and its functions
SELECT 'Sales Accepted Lead'::lead_funnel.stage AS s, lead_funnel.depth('sql'), lead_funnel.label('mql'),
       lead_funnel.is_open('sal'), lead_funnel.stage('won'), lead_funnel.text('lost'::lead_funnel.stage);
SELECT * FROM lead_funnel.all_stages();
SELECT * FROM lead_funnel.stages;

-- calendars (business_time and business_add carry no SET search_path)
SELECT lead_funnel.business_time('2026-01-05 08:00+00', '2026-01-09 18:00+00');
SELECT lead_funnel.business_time('2026-01-05 08:00+00', '2026-01-09 18:00+00', 'berlin');
SELECT lead_funnel.business_add('2026-01-05 08:00+00', '20 hours');
SELECT lead_funnel.business_add('2026-01-05 08:00+00', '20 hours', 'berlin');
SELECT lead_funnel.add_german_holidays('berlin', 2026, 2026, 'BE');
SELECT lead_funnel.business_time('2025-12-31 08:00+00', '2026-01-02 18:00+00', 'berlin');
SELECT lead_funnel.is_valid_time_zone('Europe/Berlin'), lead_funnel.easter_sunday(2026);
SELECT pg_catalog.count(*) FROM lead_funnel.german_holidays(2026, 'BY');

-- moving, routing, deals, time travel
SELECT event_id, lead_key, from_stage, to_stage, occurred_at, actor, team, reason, source
  FROM lead_funnel.move('S-1', 'prospect', actor => 'mia', occurred_at => '2026-01-05 09:00+00', campaign => 'fair');
SELECT event_id, lead_key, from_stage, to_stage, occurred_at, actor, team, reason, source
  FROM lead_funnel.move('S-1', 'mql', actor => 'mia', occurred_at => '2026-01-05 10:00+00');
SELECT event_id, to_stage, team FROM lead_funnel.move('S-2', 'mql', actor => 'tom', occurred_at => '2026-01-05 10:30+00');
SELECT event_id, to_stage, team FROM lead_funnel.move('S-1', 'sal', actor => 'ali', occurred_at => '2026-01-05 12:00+00');
SELECT event_id, to_stage, reason FROM lead_funnel.move('S-2', 'recycled', 'too small', actor => 'ali', occurred_at => '2026-01-06 09:00+00');
SELECT event_id, to_stage FROM lead_funnel.move('S-3', 'customer', actor => 'ali', occurred_at => '2026-01-06 10:00+00');
SELECT lead_key, amount, won_at, is_existing_customer FROM lead_funnel.record_deal('S-3', 1200, '2026-01-06 11:00+00');
SELECT lead_funnel.move('S-1', 'sal', actor => 'ali', occurred_at => '2026-01-07 12:00+00') IS NULL AS no_op;
SELECT lead_funnel.route('S-1');
SELECT lead_funnel.route('S-1', exclude_team => 'sued');
SELECT lead_funnel.stage_at('S-1', '2026-01-05 11:00+00'), lead_funnel.stage_at('S-1', '2026-01-04');
SELECT * FROM lead_funnel.funnel_at('2026-01-05 11:00+00');

-- activities and scoring
SELECT lead_funnel.record_activity('S-2', 'email_click', '2026-01-07 09:00+00', 'fair', '{"url": "x"}');
SELECT lead_funnel.record_activity('S-2', 'trade_fair_visit', '2026-01-08 09:00+00');
SELECT lead_funnel.engagement_at('S-2', '2026-02-06 09:00+00');
SELECT lead_funnel.score('S-2') IS NOT NULL AS scored;
SELECT lead_funnel.fit_score('{"employees": 250, "industry": "Chemie", "title": "Head of IT", "email": "a@b"}', 'b2b');
SELECT lead_funnel.fit_score('{"country": "DE"}');
SELECT lead_funnel.decayed(100, '2026-01-01', '2026-01-31', '30 days');

-- attaching a CRM table: the row trigger has no SET search_path
SELECT lead_funnel.attach('crm.leads', 'id', 'status',
  '{"New": "prospect", "MQL": "mql", "Working": "sal", "Qualified": "sql", "Won": "customer",
    "Nurture": "recycled", "Unqualified": "disqualified", "Lost": "lost", "Deal": "opportunity"}',
  '{"owner_column": "owner", "team_column": "team", "segment_column": "segment",
    "reason_column": "why", "amount_column": "amount", "attributes": ["employees", "industry"],
    "key_prefix": "crm:"}');
SET lead_funnel.event_time = '2026-01-08 10:00+00';
SELECT lead_funnel.backfill('crm.leads');
INSERT INTO crm.leads (id, status, owner, employees, industry) VALUES (1, 'New', 'mia', 300, 'Chemie');
INSERT INTO crm.leads (id, status, owner) VALUES (2, 'MQL', 'tom'), (3, 'New', 'ali');
SET lead_funnel.event_time = '2026-01-08 11:00+00';
UPDATE crm.leads SET status = 'MQL' WHERE id OPERATOR(pg_catalog.=) 1;
UPDATE crm.leads SET status = 'Working' WHERE id OPERATOR(pg_catalog.=) ANY ('{1,2}'::int[]);
SET lead_funnel.event_time = '2026-01-08 12:00+00';
UPDATE crm.leads SET status = 'Qualified' WHERE id OPERATOR(pg_catalog.=) 1;
UPDATE crm.leads SET status = 'Nurture', why = 'no budget' WHERE id OPERATOR(pg_catalog.=) 2;
RESET lead_funnel.event_time;
SELECT lead_funnel.detach('crm.leads');
UPDATE crm.leads SET status = 'Deal' WHERE id OPERATOR(pg_catalog.=) 1;

-- the SLA clock, the sweep, snapshots, the health check, the chart
SELECT lead_funnel.sla_sweep('2026-01-20 00:00+00');
SELECT lead_funnel.sla_sweep('2026-01-20 00:00+00');
SELECT lead_funnel.snapshot_kpis('2026-01-31');
SELECT pg_catalog.count(*) FROM lead_funnel.health_check('2026-01-31 00:00+00');
SELECT lead_funnel.funnel_svg('2026-01-01', '2026-02-01') OPERATOR(pg_catalog.~~) '%<svg%</svg>%' AS svg;

-- the views
SELECT pg_catalog.count(*) FROM lead_funnel.lead_journey;
SELECT pg_catalog.count(*) FROM lead_funnel.sla_status;
SELECT pg_catalog.count(*) FROM lead_funnel.kpi_funnel;
SELECT pg_catalog.count(*) FROM lead_funnel.kpi_handoff;
SELECT pg_catalog.count(*) FROM lead_funnel.kpi_rejections;
SELECT pg_catalog.count(*) FROM lead_funnel.kpi_response_rate;
SELECT pg_catalog.count(*) FROM lead_funnel.kpi_team_load;
SELECT pg_catalog.count(*) FROM lead_funnel.kpi_revenue_mix;
SELECT pg_catalog.count(*) FROM lead_funnel.kpi_after_sales;

-- the role functions, and the roles calling under the hostile path
SELECT lead_funnel.grant_reader('regress_lf_reader');
SELECT lead_funnel.grant_marketing('regress_lf_marketing');
SELECT lead_funnel.grant_sales('regress_lf_sales');
SET ROLE regress_lf_sales;
SELECT event_id, to_stage FROM lead_funnel.move('S-4', 'mql', actor => 'sales', occurred_at => '2026-01-09 09:00+00');
SELECT lead_funnel.route('S-4', 'nord');
SELECT lead_funnel.stage_at('S-4', '2026-01-09 10:00+00');
-- invalid: a sales role cannot write the ledger directly
INSERT INTO lead_funnel.stage_event (lead_key, to_stage, occurred_at, source)
  VALUES ('S-4', 'customer', '2026-01-09 11:00+00', 'me');
UPDATE lead_funnel.lead SET stage = 'customer';
RESET ROLE;
-- invalid: nor can the superuser, under the hostile path
DELETE FROM lead_funnel.stage_event;
SET ROLE regress_lf_marketing;
SELECT lead_funnel.record_activity('S-4', 'email_click', '2026-01-09 10:00+00');
SELECT lead_funnel.fit_score('{"country": "DE"}');
INSERT INTO lead_funnel.scoring_model VALUES ('mittelstand', '21 days', 65, false);
INSERT INTO lead_funnel.event_type VALUES ('trade_fair', true);
INSERT INTO lead_funnel.scoring_rule (model, dimension, event_type, points) VALUES ('mittelstand', 'engagement', 'trade_fair', 25);
RESET ROLE;
SET ROLE regress_lf_reader;
SELECT pg_catalog.count(*) FROM lead_funnel.kpi_funnel;
SELECT pg_catalog.count(*) FROM lead_funnel.kpi_snapshot;
SELECT lead_key, stage FROM lead_funnel.lead_journey WHERE lead_key OPERATOR(pg_catalog.=) 'S-4';
RESET ROLE;

-- ---------------------------------------------------------------------------
-- verdict
-- ---------------------------------------------------------------------------
RESET search_path;
-- nothing was captured
SELECT count(*) AS captured FROM public.captured;
-- every view answers under the hostile path exactly as under a clean one
-- (one transaction, so now() is the same on both sides)
BEGIN;
CREATE TEMP TABLE view_answers (path text, view text, digest text);
DO $$
DECLARE
  v text;
  p text;
  d text;
BEGIN
  FOREACH p IN ARRAY ARRAY['pg_catalog, public', 'evil, lead_funnel, pg_catalog, public'] LOOP
    PERFORM pg_catalog.set_config('search_path', p, true);
    FOREACH v IN ARRAY ARRAY['stages', 'lead_journey', 'sla_status', 'kpi_funnel', 'kpi_handoff',
                             'kpi_rejections', 'kpi_response_rate', 'kpi_team_load',
                             'kpi_revenue_mix', 'kpi_after_sales'] LOOP
      EXECUTE pg_catalog.format(
        'SELECT pg_catalog.md5(COALESCE(pg_catalog.string_agg(t::text, %L ORDER BY t::text), %L)) FROM lead_funnel.%I AS t',
        '|', '', v) INTO d;
      INSERT INTO pg_temp.view_answers VALUES (p, v, d);
    END LOOP;
  END LOOP;
  PERFORM pg_catalog.set_config('search_path', 'pg_catalog, public', true);
END
$$;
SELECT view, count(DISTINCT digest) AS distinct_answers
  FROM pg_temp.view_answers GROUP BY view ORDER BY view;
ROLLBACK;
SELECT count(*) AS captured FROM public.captured;

-- the ledger the calls above wrote, read under a clean path
SELECT lead_key, from_stage, to_stage, occurred_at, actor, team, reason, source
  FROM lead_funnel.stage_event ORDER BY lead_key, event_id;

-- clean up
SET client_min_messages = warning;
DROP SCHEMA evil CASCADE;
DROP SCHEMA crm CASCADE;
DROP TABLE public.captured;
DROP OWNED BY regress_lf_reader, regress_lf_marketing, regress_lf_sales;
DROP EXTENSION lead_funnel CASCADE;
DROP ROLE regress_lf_reader;
DROP ROLE regress_lf_marketing;
DROP ROLE regress_lf_sales;
RESET client_min_messages;
