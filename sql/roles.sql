-- the right sets of grant_reader, grant_sales and grant_marketing, used for real
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
DROP ROLE IF EXISTS regress_lf_reader;
DROP ROLE IF EXISTS regress_lf_sales;
DROP ROLE IF EXISTS regress_lf_marketing;
DROP ROLE IF EXISTS "Regress LF Reader";
DROP ROLE IF EXISTS "Regress_LF_Sales";
DROP ROLE IF EXISTS "regress ""lf"" marketing";
RESET client_min_messages;
SET timezone = 'UTC';
CREATE ROLE regress_lf_reader;
CREATE ROLE regress_lf_sales;
CREATE ROLE regress_lf_marketing;
SELECT lead_funnel.grant_reader('regress_lf_reader');
SELECT lead_funnel.grant_sales('regress_lf_sales');
SELECT lead_funnel.grant_marketing('regress_lf_marketing');

SELECT count(lead_funnel.move('R-' || i, 'mql', occurred_at => '2026-01-05 09:00+00')) FROM generate_series(1, 3) i;

SELECT lead_funnel.snapshot_kpis('2026-01-31') > 0 AS snapshot_stored;

-- a BI reader reads every view, the snapshots and the health check, and writes nothing
SET ROLE regress_lf_reader;
SELECT period, team, handed_over, accepted, pending, median_response_business_hours FROM lead_funnel.kpi_handoff;
SELECT count(*) > 0 AS journey FROM lead_funnel.lead_journey;
SELECT count(*) AS funnel_rows FROM lead_funnel.kpi_funnel;
SELECT count(*) AS sla_rows FROM lead_funnel.sla_status;
SELECT count(*) AS questions FROM lead_funnel.health_check();
SELECT lead_funnel.funnel_svg('2026-01-01', '2026-02-01') LIKE '%<svg%</svg>%' AS svg;
SELECT lead_funnel.stage_at('R-1', now()) AS stage;
-- the trend store of the views (README: Pointing Metabase or Grafana at the views)
SELECT count(*) > 0 AS snapshots FROM lead_funnel.kpi_snapshot WHERE as_of = '2026-01-31';
-- invalid: a reader moves nothing and reads no history
SELECT lead_funnel.move('R-1', 'sal');
SELECT count(*) FROM lead_funnel.stage_event;
UPDATE lead_funnel.transition SET requires_reason = true;
DELETE FROM lead_funnel.kpi_snapshot;
RESET ROLE;

-- sales moves and routes leads, reads the history, rewrites nothing
SET ROLE regress_lf_sales;
SELECT to_stage, actor FROM lead_funnel.move('R-1', 'sal', occurred_at => '2026-01-05 11:00+00');
SELECT count(*) AS events FROM lead_funnel.stage_event;
-- invalid: history and the agreement are not sales' to change
UPDATE lead_funnel.stage_event SET reason = 'x';
DELETE FROM lead_funnel.stage_event;
INSERT INTO lead_funnel.transition VALUES ('mql', 'customer', false);
RESET ROLE;

-- marketing records activities and edits scoring, not the agreement
SET ROLE regress_lf_marketing;
INSERT INTO lead_funnel.scoring_rule (model, dimension, event_type, points) VALUES ('default', 'engagement', 'email_open', 3);
SELECT lead_funnel.record_activity('R-2', 'email_open', '2026-01-06 09:00+00');
UPDATE lead_funnel.scoring_model SET mql_threshold = 50;
-- new models and event types (their BEFORE INSERT restore trigger runs as marketing)
INSERT INTO lead_funnel.scoring_model VALUES ('mittelstand', '21 days', 65, false);
INSERT INTO lead_funnel.event_type VALUES ('trade_fair', true);
INSERT INTO lead_funnel.scoring_rule (model, dimension, event_type, points) VALUES ('mittelstand', 'engagement', 'trade_fair', 25);
SELECT model, mql_threshold FROM lead_funnel.scoring_model ORDER BY model;
-- invalid: only a superuser's restore replaces a row with the same key
SET check_function_bodies = off;
COPY lead_funnel.scoring_model FROM STDIN;
default	1 day	1	false
\.
RESET check_function_bodies;
-- invalid: marketing moves nothing by hand and does not edit the graph
SELECT lead_funnel.move('R-2', 'sal');
DELETE FROM lead_funnel.transition;
RESET ROLE;

-- role names that need quoting (mixed case, blanks, a double quote)
CREATE ROLE "Regress LF Reader";
CREATE ROLE "Regress_LF_Sales";
CREATE ROLE "regress ""lf"" marketing";
SELECT lead_funnel.grant_reader('"Regress LF Reader"');
SELECT lead_funnel.grant_sales('"Regress_LF_Sales"');
SELECT lead_funnel.grant_marketing('"regress ""lf"" marketing"');
SELECT r.rolname,
       has_table_privilege(r.oid, 'lead_funnel.lead', 'SELECT') AS reads_lead,
       has_table_privilege(r.oid, 'lead_funnel.kpi_funnel', 'SELECT') AS reads_views,
       has_function_privilege(r.oid, 'lead_funnel.health_check(timestamptz)', 'EXECUTE') AS health_check,
       has_function_privilege(r.oid, 'lead_funnel.move(text, lead_funnel.stage, text, text, timestamptz, text, text)', 'EXECUTE') AS moves,
       has_table_privilege(r.oid, 'lead_funnel.scoring_rule', 'INSERT') AS edits_scoring
  FROM pg_roles r
 WHERE r.rolname IN ('Regress LF Reader', 'Regress_LF_Sales', 'regress "lf" marketing')
 ORDER BY r.rolname;
-- invalid: no role, or an OID that is no role
SELECT lead_funnel.grant_reader(NULL);
SELECT lead_funnel.grant_reader(0);
SELECT lead_funnel.grant_sales(0);
SELECT lead_funnel.grant_marketing(NULL);
SELECT lead_funnel.grant_marketing(4294967295);

DROP EXTENSION lead_funnel CASCADE;
DROP OWNED BY regress_lf_reader, regress_lf_sales, regress_lf_marketing,
              "Regress LF Reader", "Regress_LF_Sales", "regress ""lf"" marketing";
DROP ROLE regress_lf_reader, regress_lf_sales, regress_lf_marketing,
          "Regress LF Reader", "Regress_LF_Sales", "regress ""lf"" marketing";
