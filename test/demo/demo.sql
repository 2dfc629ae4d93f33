-- make demo: a quarter in the life of a German mid-sized B2B company.
--
-- Muster Maschinenbau GmbH sells packaging machines.  Its CRM keeps leads in
-- a plain table with its own German status strings; lead_funnel is attached
-- to it, and the last quarter (the 13 weeks up to yesterday, so that the
-- views that look at now() show a live picture) is simulated day by day through
-- that table: the trigger records every status change at the simulated time
-- (lead_funnel.event_time).  Three sales teams (Nord, Süd, Key Accounts),
-- a Bavarian business calendar, five campaigns, leads left lying past their
-- SLA, one overloaded team, and existing customers coming back.
\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\pset null '-'
SET client_min_messages = warning;
SET search_path = public, lead_funnel;
SELECT setseed(0.42) \gset

\echo
\echo '== lead_funnel demo: Muster Maschinenbau GmbH, the last quarter'
CREATE EXTENSION lead_funnel;

-- the Bavarian business calendar: Mon-Fri 08:00-17:00 in Munich, with the
-- statutory holidays of Bavaria
INSERT INTO lead_funnel.calendar VALUES ('bayern', 'Europe/Berlin', '{1,2,3,4,5}', '08:00', '17:00');
SELECT lead_funnel.add_german_holidays('bayern', extract(year FROM current_date)::int - 1,
                                       extract(year FROM current_date)::int + 1, 'BY') AS bavarian_holidays;
UPDATE lead_funnel.sla_policy SET calendar = 'bayern';

-- three sales teams: two regions and key accounts; Süd is small and will be
-- overloaded, its leads overflow to Nord
INSERT INTO lead_funnel.team VALUES
  ('Nord', 260, true, '{nord}'),
  ('Süd', 90, true, '{sued}'),
  ('Key Accounts', 90, true, '{enterprise}');

-- the scoring model: company size 50-1 000, industries, buying roles,
-- webinars and trade fairs
UPDATE lead_funnel.scoring_model SET mql_threshold = 60, half_life = '30 days' WHERE model = 'default';
INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, event_type, points) VALUES
  ('default', 'fit', 'employees', '>=', '50', NULL, 15),
  ('default', 'fit', 'employees', '<=', '1000', NULL, 10),
  ('default', 'fit', 'industry', 'in', 'Maschinenbau, Lebensmittel, Pharma, Chemie', NULL, 20),
  ('default', 'fit', 'title', '~*', 'einkauf|leiter|geschäftsführ|head', NULL, 15),
  ('default', 'fit', 'country', '=', 'DE', NULL, 5),
  ('default', 'engagement', NULL, NULL, NULL, 'webinar_attended', 20),
  ('default', 'engagement', NULL, NULL, NULL, 'form_submit', 15),
  ('default', 'engagement', NULL, NULL, NULL, 'email_click', 5),
  ('default', 'engagement', NULL, NULL, NULL, 'pricing_page_view', 10),
  ('default', 'engagement', NULL, NULL, NULL, 'meeting_booked', 25);

-- the CRM's own lead table, with its own status strings
CREATE SCHEMA crm;
CREATE TABLE crm.leads (
  id          int PRIMARY KEY,
  firma       text NOT NULL,
  status      text NOT NULL,
  owner       text,
  team        text,
  kampagne    text,
  segment     text,
  grund       text,
  auftragswert numeric(12,2),
  employees   int,
  industry    text,
  title       text,
  country     text
);
SELECT lead_funnel.attach('crm.leads', 'id', 'status',
  '{"Neu": "prospect", "MQL": "mql", "In Bearbeitung": "sal", "Qualifiziert": "sql",
    "Angebot": "opportunity", "Gewonnen": "customer", "Verloren": "lost",
    "Nurturing": "recycled", "Disqualifiziert": "disqualified"}',
  '{"owner_column": "owner", "team_column": "team", "campaign_column": "kampagne",
    "segment_column": "segment", "reason_column": "grund", "amount_column": "auftragswert",
    "attributes": ["employees", "industry", "title", "country"], "key_prefix": "crm-"}');

\echo
\echo '== simulating the last quarter day by day through the CRM table (about 2 500 leads)'
\timing on
DO $$
DECLARE
  d date;
  next_id int := 1;
  n int;
  c text;
  campaigns text[] := ARRAY['Messe interpack', 'Webinar Verpackung 4.0', 'Whitepaper Linienautomation',
                            'LinkedIn Ads', 'Newsletter'];
  weights float8[] := ARRAY[0.22, 0.20, 0.18, 0.25, 0.15];
  industries text[] := ARRAY['Maschinenbau', 'Lebensmittel', 'Pharma', 'Chemie', 'Handel', 'Logistik'];
  titles text[] := ARRAY['Einkaufsleiter', 'Leiter Produktion', 'Geschäftsführer', 'Werkstudent',
                         'Projektingenieur', 'Head of Operations', 'Assistenz'];
  r float8;
  acc float8;
  i int;
  at timestamptz;
BEGIN
  FOR d IN SELECT generate_series(current_date - 91, current_date - 1, '1 day')::date LOOP
    CONTINUE WHEN extract(isodow FROM d) > 5;

    -- 08:30 new leads arrive from the campaigns
    PERFORM set_config('lead_funnel.event_time', (d + time '08:30')::text || ' Europe/Berlin', true);
    n := 28 + floor(random() * 16)::int;
    FOR i IN 1..n LOOP
      r := random(); acc := 0; c := campaigns[5];
      FOR j IN 1..5 LOOP
        acc := acc + weights[j];
        IF r < acc THEN c := campaigns[j]; EXIT; END IF;
      END LOOP;
      INSERT INTO crm.leads (id, firma, status, owner, kampagne, segment, employees, industry, title, country)
      VALUES (next_id, 'Firma ' || next_id, 'Neu', 'marketing', c,
              CASE WHEN random() < 0.12 THEN 'enterprise' WHEN random() < 0.55 THEN 'sued' ELSE 'nord' END,
              (10 + floor(random() * 2000))::int,
              industries[1 + floor(random() * 6)::int], titles[1 + floor(random() * 7)::int],
              CASE WHEN random() < 0.85 THEN 'DE' ELSE 'AT' END);
      next_id := next_id + 1;
    END LOOP;

    -- 09:00 marketing activities: opens, clicks, webinars, forms
    at := (d + time '09:00') AT TIME ZONE 'Europe/Berlin';
    PERFORM lead_funnel.record_activity(l.lead_key,
              CASE WHEN random() < 0.09
                   THEN (ARRAY['email_click', 'webinar_registered', 'webinar_attended', 'form_submit',
                               'pricing_page_view'])[1 + floor(random() * 5)::int]
                   ELSE (ARRAY['email_sent', 'email_sent', 'email_open', 'page_view'])[1 + floor(random() * 4)::int]
              END,
              at, l.campaign)
       FROM lead_funnel.lead l
      WHERE l.stage IN ('prospect', 'recycled') AND random() < 0.1;

    -- 10:00 marketing hands over: prospects with a good fit (about 40 %)
    PERFORM set_config('lead_funnel.event_time', (d + time '10:00')::text || ' Europe/Berlin', true);
    UPDATE crm.leads c SET status = 'MQL', owner = NULL
      FROM lead_funnel.lead l
     WHERE l.lead_key = 'crm-' || c.id AND c.status = 'Neu' AND l.stage = 'prospect'
       AND l.created_at < (d + time '08:00') AT TIME ZONE 'Europe/Berlin'
       AND random() < CASE WHEN l.fit_score >= 45 THEN 0.35 ELSE 0.03 END;
    -- recycled leads come back after nurturing
    UPDATE crm.leads c SET status = 'MQL', grund = NULL
      FROM lead_funnel.lead l
     WHERE l.lead_key = 'crm-' || c.id AND l.stage = 'recycled'
       AND l.stage_entered_at < (d - 20)::timestamptz AND random() < 0.08;

    -- 11:00 sales answers MQLs handed over at least a day ago: accept
    -- (about 50 %), send back, discard, or (Süd, overloaded) leave lying
    PERFORM set_config('lead_funnel.event_time', (d + time '11:00')::text || ' Europe/Berlin', true);
    UPDATE crm.leads c SET
           status = CASE WHEN x.r < 0.45 THEN 'In Bearbeitung'
                         WHEN x.r < 0.77 THEN 'Nurturing' ELSE 'Disqualifiziert' END,
           grund = CASE WHEN x.r < 0.45 THEN NULL
                        WHEN x.r < 0.62 THEN 'kein Budget'
                        WHEN x.r < 0.77 THEN 'zu früh'
                        WHEN x.r < 0.90 THEN 'kein Bedarf' ELSE 'Wettbewerber' END,
           owner = coalesce(c.owner, 'vertrieb-' || lower(left(l.team, 3)))
      FROM lead_funnel.lead l, LATERAL (SELECT random() AS r) x
     WHERE l.lead_key = 'crm-' || c.id AND l.stage = 'mql'
       AND l.stage_entered_at < (d + time '08:00') AT TIME ZONE 'Europe/Berlin'
       AND random() < CASE WHEN l.team = 'Süd' THEN 0.35 ELSE 0.8 END;

    -- 14:00 accepted leads become sales qualified (about 60 %) or go back
    PERFORM set_config('lead_funnel.event_time', (d + time '14:00')::text || ' Europe/Berlin', true);
    UPDATE crm.leads c SET status = CASE WHEN x.r < 0.6 THEN 'Qualifiziert' ELSE 'Nurturing' END,
           grund = CASE WHEN x.r < 0.6 THEN NULL ELSE 'Projekt verschoben' END
      FROM lead_funnel.lead l, LATERAL (SELECT random() AS r) x
     WHERE l.lead_key = 'crm-' || c.id AND l.stage = 'sal'
       AND l.stage_entered_at < (d - 3)::timestamptz AND random() < 0.5;

    -- 15:00 qualified leads get an offer (about 70 %)
    PERFORM set_config('lead_funnel.event_time', (d + time '15:00')::text || ' Europe/Berlin', true);
    UPDATE crm.leads c SET status = CASE WHEN x.r < 0.7 THEN 'Angebot' ELSE 'Disqualifiziert' END,
           grund = CASE WHEN x.r < 0.7 THEN NULL ELSE 'kein Budget' END
      FROM lead_funnel.lead l, LATERAL (SELECT random() AS r) x
     WHERE l.lead_key = 'crm-' || c.id AND l.stage = 'sql'
       AND l.stage_entered_at < (d - 5)::timestamptz AND random() < 0.4;

    -- 16:00 offers are won (about 25 %) or lost
    PERFORM set_config('lead_funnel.event_time', (d + time '16:00')::text || ' Europe/Berlin', true);
    UPDATE crm.leads c SET status = CASE WHEN x.r < 0.25 THEN 'Gewonnen' ELSE 'Verloren' END,
           grund = CASE WHEN x.r < 0.25 THEN NULL ELSE 'Preis' END,
           auftragswert = CASE WHEN x.r < 0.25 THEN round((20000 + random() * 180000)::numeric, -2) END
      FROM lead_funnel.lead l, LATERAL (SELECT random() AS r) x
     WHERE l.lead_key = 'crm-' || c.id AND l.stage = 'opportunity'
       AND l.stage_entered_at < (d - 10)::timestamptz AND random() < 0.3;
    -- existing customers come back for an expansion (customer -> opportunity)
    UPDATE crm.leads c SET status = 'Angebot', auftragswert = NULL
      FROM lead_funnel.lead l
     WHERE l.lead_key = 'crm-' || c.id AND l.stage = 'customer'
       AND l.stage_entered_at < (d - 14)::timestamptz AND random() < 0.04;

    -- 16:30 marketing stays in touch with customers
    at := (d + time '16:30') AT TIME ZONE 'Europe/Berlin';
    PERFORM lead_funnel.record_activity(l.lead_key,
              (ARRAY['email_open', 'email_click', 'webinar_attended'])[1 + floor(random() * 3)::int],
              at, 'Kundennewsletter')
       FROM lead_funnel.lead l WHERE l.stage = 'customer' AND random() < 0.05;

    -- 18:00 the SLA sweep (pg_cron runs it every five minutes in production)
    PERFORM lead_funnel.sla_sweep((d + time '18:00') AT TIME ZONE 'Europe/Berlin');
  END LOOP;
END $$;
\timing off
RESET lead_funnel.event_time;

\echo
\echo '== the funnel now, and as it stood six weeks ago (time travel on the ledger)'
SELECT f.stage, f.leads AS now, w.leads AS six_weeks_ago
  FROM lead_funnel.funnel_at(now()) f JOIN lead_funnel.funnel_at(now() - interval '6 weeks') w USING (stage);

\echo
\echo '== cohorts by month of handover (kpi_funnel)'
SELECT period, sum(mqls) AS mqls, sum(sals) AS sals, sum(sqls) AS sqls,
       sum(opportunities) AS opportunities, sum(customers) AS customers,
       round(sum(sals)::numeric / nullif(sum(mqls), 0), 2) AS mql_to_sal,
       round(sum(sqls)::numeric / nullif(sum(sals), 0), 2) AS sal_to_sql,
       round(sum(opportunities)::numeric / nullif(sum(sqls), 0), 2) AS sql_to_opp,
       round(sum(customers)::numeric / nullif(sum(opportunities), 0), 2) AS opp_to_customer
  FROM lead_funnel.kpi_funnel GROUP BY period ORDER BY period;

\echo
\echo '== handover to sales by team (kpi_handoff)'
SELECT period, team, handed_over, accepted, recycled, disqualified, pending,
       round(acceptance_rate, 2) AS acceptance_rate,
       round(median_response_business_hours, 1) AS median_bh,
       round(p90_response_business_hours, 1) AS p90_bh, breaches
  FROM lead_funnel.kpi_handoff ORDER BY period, team;

\echo
\echo '== SLA state of the open leads (sla_status)'
SELECT stage, state, count(*) AS leads FROM lead_funnel.sla_status GROUP BY stage, state ORDER BY stage, state;
SELECT count(*) AS breaches_recorded, count(DISTINCT lead_key) AS leads_breached,
       round(avg(extract(epoch FROM detected_at - sla_due_at) / 3600)::numeric, 1) AS avg_detection_delay_hours
  FROM lead_funnel.sla_breach;

\echo
\echo '== team load (kpi_team_load)'
SELECT * FROM lead_funnel.kpi_team_load ORDER BY team;

\echo
\echo '== rejections by campaign and reason (kpi_rejections)'
SELECT * FROM lead_funnel.kpi_rejections ORDER BY campaign, reason;

\echo
\echo '== response rates by campaign (kpi_response_rate)'
SELECT campaign, touched, responded, round(response_rate, 2) AS response_rate
  FROM lead_funnel.kpi_response_rate ORDER BY campaign;

\echo
\echo '== new vs existing revenue (kpi_revenue_mix)'
SELECT period, new_business, existing_business, round(existing_share, 2) AS existing_share
  FROM lead_funnel.kpi_revenue_mix ORDER BY period;

\echo
\echo '== after the sale (kpi_after_sales)'
SELECT period, new_customers, touched_after_sale, round(touched_share, 2) AS touched_share,
       expansion_opportunities
  FROM lead_funnel.kpi_after_sales ORDER BY period;

\echo
\echo '== the health check: what a managing director should be able to answer'
SELECT question, answer, round(value, 2) AS value, unit, verdict
  FROM lead_funnel.health_check();

\echo
\echo '== the funnel chart'
\pset tuples_only on
\pset format unaligned
\o test/demo/funnel.svg
SELECT lead_funnel.funnel_svg(now() - interval '92 days', now());
\o
\pset tuples_only off
\pset format aligned
\echo 'written to test/demo/funnel.svg (open it in a browser)'
