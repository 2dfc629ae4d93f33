
----------------------------------------------------------------------------
-- KPIs for BI tools: views, daily snapshots, the health check (SPEC §8)
----------------------------------------------------------------------------
--
-- Design:
--  * Plain views (no set-returning functions) with built-in types only, so
--    that Metabase, Grafana, Superset and ODBC clients discover them and can
--    filter on every column.  Stages are text, periods the first day of a
--    month (date, in the session's TimeZone, like date_trunc), rates numeric
--    fractions 0..1 rounded to 4 decimals and NULL when the denominator is 0,
--    hours numeric rounded to 2 decimals.
--  * Views answer from lead's first-reached columns wherever the question
--    allows it.  "The first answer to a handover" (the first event leaving
--    mql) and rejection reasons live only in the ledger: two partial,
--    covering indexes on stage_event hold exactly those events, so the views
--    read them with index-only scans and never scan the whole ledger.
--  * The views are written as the SQL one would write by hand: the planner
--    inlines them, so a query on a view costs what the hand-written query
--    costs (make bench checks it).
--  * Business hours use business_time() with the calendar of the mql SLA
--    policy ('default' when there is none).



-- ---- indexes on the ledger for the KPI views ----

-- The first answer to a handover: events that leave mql, in event order per
-- lead, carrying what the views need (index-only scans).
CREATE INDEX stage_event_mql_answer_idx ON @extschema@.stage_event
  (lead_key, event_id) INCLUDE (to_stage, occurred_at, team)
  WHERE from_stage = 'mql';
-- Rejections by sales with their reasons.
-- (reason is not included: a long reason must never make a move fail on
-- the index's row size)
CREATE INDEX stage_event_rejection_idx ON @extschema@.stage_event
  (lead_key, event_id) INCLUDE (from_stage, to_stage, occurred_at)
  WHERE to_stage IN ('recycled', 'disqualified');

-- ---- lead_journey ----

CREATE VIEW @extschema@.lead_journey AS
  SELECT l.lead_key,
         l.stage::text AS stage,
         @extschema@.label(l.stage) AS stage_label,
         @extschema@.depth(l.stage) AS stage_depth,
         @extschema@.is_open(l.stage) AS is_open,
         l.stage_entered_at,
         round(extract(epoch FROM now() - l.stage_entered_at) / 86400, 1) AS days_in_stage,
         l.owner,
         l.team,
         l.campaign,
         l.segment,
         l.is_existing_customer,
         l.created_at,
         l.prospect_at,
         l.mql_at,
         l.sal_at,
         l.sql_at,
         l.opportunity_at,
         l.customer_at,
         l.recycled_count,
         l.last_recycled_at,
         l.disqualified_at,
         l.lost_at,
         l.sla_due_at,
         l.sla_due_at < now() AS sla_overdue,
         l.fit_score,
         l.engagement,
         l.engagement_as_of,
         (SELECT e.to_stage::text FROM @extschema@.stage_event AS e
           WHERE e.lead_key = l.lead_key AND e.from_stage = 'mql'
           ORDER BY e.event_id LIMIT 1) AS decision,
         (SELECT e.occurred_at FROM @extschema@.stage_event AS e
           WHERE e.lead_key = l.lead_key AND e.from_stage = 'mql'
           ORDER BY e.event_id LIMIT 1) AS decided_at,
         round(extract(epoch FROM @extschema@.business_time(l.mql_at,
                 (SELECT e.occurred_at FROM @extschema@.stage_event AS e
                   WHERE e.lead_key = l.lead_key AND e.from_stage = 'mql'
                   ORDER BY e.event_id LIMIT 1),
                 COALESCE((SELECT p.calendar FROM @extschema@.sla_policy AS p WHERE p.stage = 'mql'),
                          'default'))) / 3600, 2) AS mql_to_decision_business_hours
    FROM @extschema@.lead AS l;
COMMENT ON VIEW @extschema@.lead_journey IS
  'every lead with what BI users need: current stage as text and label, days in stage, the first-reached times, the SLA state, and the decision sales took on the handover (first move out of mql) with its business hours';
COMMENT ON COLUMN @extschema@.lead_journey.lead_key IS 'the lead';
COMMENT ON COLUMN @extschema@.lead_journey.stage IS 'current stage (prospect, mql, sal, sql, opportunity, customer, recycled, disqualified, lost)';
COMMENT ON COLUMN @extschema@.lead_journey.stage_label IS 'display label of the current stage (Prospect, MQL, SAL, ...)';
COMMENT ON COLUMN @extschema@.lead_journey.stage_depth IS 'position of the current stage in the funnel, 1 (prospect) .. 6 (customer); NULL for recycled, disqualified, lost';
COMMENT ON COLUMN @extschema@.lead_journey.is_open IS 'true while the lead is in sales'' hands (mql, sal, sql, opportunity)';
COMMENT ON COLUMN @extschema@.lead_journey.stage_entered_at IS 'when the lead entered its current stage';
COMMENT ON COLUMN @extschema@.lead_journey.days_in_stage IS 'days (wall clock, 1 decimal) since the lead entered its current stage';
COMMENT ON COLUMN @extschema@.lead_journey.owner IS 'owner in the CRM';
COMMENT ON COLUMN @extschema@.lead_journey.team IS 'sales team responsible for the lead';
COMMENT ON COLUMN @extschema@.lead_journey.campaign IS 'campaign that brought the lead';
COMMENT ON COLUMN @extschema@.lead_journey.segment IS 'segment used for routing';
COMMENT ON COLUMN @extschema@.lead_journey.is_existing_customer IS 'true when the lead was a customer and came back with a new opportunity';
COMMENT ON COLUMN @extschema@.lead_journey.created_at IS 'when the lead entered the funnel';
COMMENT ON COLUMN @extschema@.lead_journey.prospect_at IS 'first time the lead was a prospect';
COMMENT ON COLUMN @extschema@.lead_journey.mql_at IS 'first time the lead became MQL (handover to sales)';
COMMENT ON COLUMN @extschema@.lead_journey.sal_at IS 'first time sales accepted the lead';
COMMENT ON COLUMN @extschema@.lead_journey.sql_at IS 'first time the lead became sales qualified';
COMMENT ON COLUMN @extschema@.lead_journey.opportunity_at IS 'first time the lead became an opportunity';
COMMENT ON COLUMN @extschema@.lead_journey.customer_at IS 'first time the lead became a customer';
COMMENT ON COLUMN @extschema@.lead_journey.recycled_count IS 'how often the lead was sent back to marketing';
COMMENT ON COLUMN @extschema@.lead_journey.last_recycled_at IS 'last time the lead was sent back to marketing';
COMMENT ON COLUMN @extschema@.lead_journey.disqualified_at IS 'first time the lead was disqualified';
COMMENT ON COLUMN @extschema@.lead_journey.lost_at IS 'first time the lead was lost';
COMMENT ON COLUMN @extschema@.lead_journey.sla_due_at IS 'when the SLA of the current stage expires; NULL when no SLA runs';
COMMENT ON COLUMN @extschema@.lead_journey.sla_overdue IS 'true when the SLA of the current stage has expired (sla_due_at before now); NULL when no SLA runs';
COMMENT ON COLUMN @extschema@.lead_journey.fit_score IS 'fit score from the lead''s attributes';
COMMENT ON COLUMN @extschema@.lead_journey.engagement IS 'engagement score as of engagement_as_of';
COMMENT ON COLUMN @extschema@.lead_journey.engagement_as_of IS 'instant the engagement value refers to';
COMMENT ON COLUMN @extschema@.lead_journey.decision IS 'stage the lead went to when it first left mql (sal = accepted, recycled, disqualified); NULL while unanswered or never MQL';
COMMENT ON COLUMN @extschema@.lead_journey.decided_at IS 'when the lead first left mql (sales'' answer to the handover)';
COMMENT ON COLUMN @extschema@.lead_journey.mql_to_decision_business_hours IS 'business hours (calendar of the mql SLA policy, else default) from the first handover (mql_at) to decided_at, 2 decimals';

-- ---- kpi_funnel ----

-- Whether a lead reached a stage at or after an instant, from the ledger (its
-- primary key).  kpi_funnel calls it only for the rare lead that reached the
-- stage before its first MQL too.  SECURITY DEFINER: BI roles read the views,
-- not stage_event; grant_reader grants it.
CREATE FUNCTION @extschema@._reached_since(lead_key text, stage @extschema@.stage, since timestamptz)
  RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  COST 10
  RETURN EXISTS (SELECT FROM @extschema@.stage_event AS e
                  WHERE e.lead_key OPERATOR(pg_catalog.=) _reached_since.lead_key
                    AND e.to_stage OPERATOR(@extschema@.=) _reached_since.stage
                    AND e.occurred_at OPERATOR(pg_catalog.>=) _reached_since.since);
COMMENT ON FUNCTION @extschema@._reached_since(text, @extschema@.stage, timestamptz) IS
  'internal: whether the lead reached the stage at or after the instant (kpi_funnel)';
REVOKE ALL ON FUNCTION @extschema@._reached_since(text, @extschema@.stage, timestamptz) FROM PUBLIC;

CREATE VIEW @extschema@.kpi_funnel AS
  SELECT c.period, c.campaign, c.mqls, c.sals, c.sqls, c.opportunities, c.customers,
         round(c.sals::numeric / NULLIF(c.mqls, 0), 4) AS mql_to_sal,
         round(c.sqls::numeric / NULLIF(c.sals, 0), 4) AS sal_to_sql,
         round(c.opportunities::numeric / NULLIF(c.sqls, 0), 4) AS sql_to_opportunity,
         round(c.customers::numeric / NULLIF(c.opportunities, 0), 4) AS opportunity_to_customer,
         round(c.customers::numeric / NULLIF(c.mqls, 0), 4) AS mql_to_customer
    FROM (SELECT date_trunc('month', l.mql_at)::date AS period,
                 l.campaign,
                 count(*) AS mqls,
                 -- reached at or after the first MQL: the first-reached column
                 -- answers unless the lead reached the stage before its first
                 -- MQL too (entry at sal, a customer coming back); only then
                 -- the ledger is asked, by the lead's key (CASE: evaluated only
                 -- then, not for a lead that never reached the stage; a
                 -- function, not a subquery, so that the plan's cost stays
                 -- that of the scan and JIT does not start for nothing)
                 count(*) FILTER (WHERE CASE WHEN l.sal_at >= l.mql_at THEN true
                   WHEN l.sal_at < l.mql_at THEN @extschema@._reached_since(l.lead_key, 'sal', l.mql_at) END) AS sals,
                 count(*) FILTER (WHERE CASE WHEN l.sql_at >= l.mql_at THEN true
                   WHEN l.sql_at < l.mql_at THEN @extschema@._reached_since(l.lead_key, 'sql', l.mql_at) END) AS sqls,
                 count(*) FILTER (WHERE CASE WHEN l.opportunity_at >= l.mql_at THEN true
                   WHEN l.opportunity_at < l.mql_at THEN @extschema@._reached_since(l.lead_key, 'opportunity', l.mql_at) END) AS opportunities,
                 count(*) FILTER (WHERE CASE WHEN l.customer_at >= l.mql_at THEN true
                   WHEN l.customer_at < l.mql_at THEN @extschema@._reached_since(l.lead_key, 'customer', l.mql_at) END) AS customers
            FROM @extschema@.lead AS l
           WHERE l.mql_at IS NOT NULL
           GROUP BY 1, 2) AS c;
COMMENT ON VIEW @extschema@.kpi_funnel IS
  'funnel cohorts: leads by the month they first became MQL and campaign; how many of them reached SAL, SQL, opportunity and customer at or after that first handover (from lead''s first-reached columns; from the ledger for a lead that reached the stage before its first MQL too), and the stage-to-stage conversion rates';
COMMENT ON COLUMN @extschema@.kpi_funnel.period IS 'month the leads first became MQL (first day of the month)';
COMMENT ON COLUMN @extschema@.kpi_funnel.campaign IS 'campaign of the leads (NULL: none)';
COMMENT ON COLUMN @extschema@.kpi_funnel.mqls IS 'leads that first became MQL in the period';
COMMENT ON COLUMN @extschema@.kpi_funnel.sals IS 'of those, leads that reached SAL at or after their first MQL time';
COMMENT ON COLUMN @extschema@.kpi_funnel.sqls IS 'of those, leads that reached SQL at or after their first MQL time';
COMMENT ON COLUMN @extschema@.kpi_funnel.opportunities IS 'of those, leads that reached opportunity at or after their first MQL time';
COMMENT ON COLUMN @extschema@.kpi_funnel.customers IS 'of those, leads that became customer at or after their first MQL time';
COMMENT ON COLUMN @extschema@.kpi_funnel.mql_to_sal IS 'sals / mqls; NULL when mqls = 0';
COMMENT ON COLUMN @extschema@.kpi_funnel.sal_to_sql IS 'sqls / sals; NULL when sals = 0';
COMMENT ON COLUMN @extschema@.kpi_funnel.sql_to_opportunity IS 'opportunities / sqls; NULL when sqls = 0';
COMMENT ON COLUMN @extschema@.kpi_funnel.opportunity_to_customer IS 'customers / opportunities; NULL when opportunities = 0';
COMMENT ON COLUMN @extschema@.kpi_funnel.mql_to_customer IS 'customers / mqls; NULL when mqls = 0';

-- ---- kpi_handoff ----

CREATE VIEW @extschema@.kpi_handoff AS
  SELECT h.period, h.team, h.handed_over, h.accepted, h.recycled, h.disqualified, h.pending,
         round(h.accepted::numeric / NULLIF(h.handed_over, 0), 4) AS acceptance_rate,
         round((h.bh[1] / 3600)::numeric, 2) AS median_response_business_hours,
         round((h.bh[2] / 3600)::numeric, 2) AS p90_response_business_hours,
         round((h.wall / 3600)::numeric, 2) AS median_response_hours,
         h.breaches
    FROM (SELECT date_trunc('month', l.mql_at)::date AS period,
                 COALESCE(a.team, l.team) AS team,
                 count(*) AS handed_over,
                 count(*) FILTER (WHERE @extschema@.depth(a.to_stage) > 2) AS accepted,
                 count(*) FILTER (WHERE a.to_stage = 'recycled') AS recycled,
                 count(*) FILTER (WHERE a.to_stage = 'disqualified') AS disqualified,
                 count(*) FILTER (WHERE a.lead_key IS NULL) AS pending,
                 percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY
                   extract(epoch FROM @extschema@.business_time(l.mql_at, a.occurred_at, cal.calendar))::float8) AS bh,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY
                   extract(epoch FROM a.occurred_at - l.mql_at)::float8) AS wall,
                 COALESCE(sum(b.breaches), 0)::bigint AS breaches
            FROM @extschema@.lead AS l
           CROSS JOIN (SELECT COALESCE((SELECT p.calendar FROM @extschema@.sla_policy AS p
                                         WHERE p.stage = 'mql'), 'default') AS calendar) AS cal
            LEFT JOIN (SELECT DISTINCT ON (e.lead_key) e.lead_key, e.to_stage, e.occurred_at, e.team
                         FROM @extschema@.stage_event AS e
                        WHERE e.from_stage = 'mql'
                        ORDER BY e.lead_key, e.event_id) AS a
              ON a.lead_key = l.lead_key
            LEFT JOIN (SELECT s.lead_key, count(*) AS breaches
                         FROM @extschema@.sla_breach AS s
                        WHERE s.stage = 'mql'
                        GROUP BY s.lead_key) AS b
              ON b.lead_key = l.lead_key
           WHERE l.mql_at IS NOT NULL
           GROUP BY 1, 2) AS h;
COMMENT ON VIEW @extschema@.kpi_handoff IS
  'the handover from marketing to sales: MQLs by the month they were first handed over and the team that answered (the team of the answering event; for unanswered leads the current team); the answer is the first move out of mql (from the ledger); response times from the first handover to that answer';
COMMENT ON COLUMN @extschema@.kpi_handoff.period IS 'month the leads first became MQL (first day of the month)';
COMMENT ON COLUMN @extschema@.kpi_handoff.team IS 'team that answered the handover (the team recorded on the answering event), else the lead''s current team; NULL: none';
COMMENT ON COLUMN @extschema@.kpi_handoff.handed_over IS 'leads that first became MQL in the period';
COMMENT ON COLUMN @extschema@.kpi_handoff.accepted IS 'of those, leads whose first move out of mql went forward in the funnel (sal or later)';
COMMENT ON COLUMN @extschema@.kpi_handoff.recycled IS 'of those, leads whose first move out of mql sent them back to marketing (recycled)';
COMMENT ON COLUMN @extschema@.kpi_handoff.disqualified IS 'of those, leads whose first move out of mql disqualified them';
COMMENT ON COLUMN @extschema@.kpi_handoff.pending IS 'of those, leads still waiting in mql for their first answer';
COMMENT ON COLUMN @extschema@.kpi_handoff.acceptance_rate IS 'accepted / handed_over; NULL when handed_over = 0';
COMMENT ON COLUMN @extschema@.kpi_handoff.median_response_business_hours IS 'median business hours (calendar of the mql SLA policy, else default) from the first handover to the first answer, over answered leads; NULL when none was answered';
COMMENT ON COLUMN @extschema@.kpi_handoff.p90_response_business_hours IS '90th percentile (interpolated) of the same business hours; NULL when none was answered';
COMMENT ON COLUMN @extschema@.kpi_handoff.median_response_hours IS 'median wall-clock hours from the first handover to the first answer; NULL when none was answered';
COMMENT ON COLUMN @extschema@.kpi_handoff.breaches IS 'mql SLA breaches recorded for these leads (every stage entry can breach once)';

-- ---- kpi_rejections ----

CREATE VIEW @extschema@.kpi_rejections AS
  SELECT r.campaign, r.reason,
         sum(r.recycled)::bigint AS recycled,
         sum(r.disqualified)::bigint AS disqualified,
         sum(r.left_pending)::bigint AS left_pending
    FROM (SELECT l.campaign, e.reason,
                 count(*) FILTER (WHERE e.to_stage = 'recycled') AS recycled,
                 count(*) FILTER (WHERE e.to_stage = 'disqualified') AS disqualified,
                 0::bigint AS left_pending
            FROM @extschema@.stage_event AS e
            JOIN @extschema@.lead AS l ON l.lead_key = e.lead_key
           WHERE e.to_stage IN ('recycled', 'disqualified')
             AND e.from_stage IN ('mql', 'sal', 'sql')
           GROUP BY 1, 2
          UNION ALL
          SELECT l.campaign, NULL::text, 0, 0, count(*)
            FROM @extschema@.lead AS l
           WHERE l.sla_due_at < now() AND l.stage = 'mql'
           GROUP BY 1) AS r
   GROUP BY 1, 2;
COMMENT ON VIEW @extschema@.kpi_rejections IS
  'what happens to leads sales does not take: rejections (moves from mql, sal or sql to recycled or disqualified, counted per event, with the reason given) by the lead''s campaign, and leads left lying (still in mql past their SLA due time, reason NULL)';
COMMENT ON COLUMN @extschema@.kpi_rejections.campaign IS 'campaign of the leads (NULL: none)';
COMMENT ON COLUMN @extschema@.kpi_rejections.reason IS 'reason given with the rejection; NULL on the row of leads left lying (they have no answer, hence no reason)';
COMMENT ON COLUMN @extschema@.kpi_rejections.recycled IS 'rejections that returned the lead to marketing (mql, sal or sql to recycled)';
COMMENT ON COLUMN @extschema@.kpi_rejections.disqualified IS 'rejections that discarded the lead (mql, sal or sql to disqualified)';
COMMENT ON COLUMN @extschema@.kpi_rejections.left_pending IS 'leads lying unanswered: in mql now, past their SLA due time';

-- ---- kpi_response_rate ----

CREATE VIEW @extschema@.kpi_response_rate AS
  SELECT c.campaign, c.touched, c.responded,
         round(c.responded::numeric / NULLIF(c.touched, 0), 4) AS response_rate
    FROM (SELECT a.campaign,
                 count(DISTINCT a.lead_key) AS touched,
                 count(DISTINCT a.lead_key) FILTER (WHERE t.is_response) AS responded
            FROM @extschema@.activity AS a
            LEFT JOIN @extschema@.event_type AS t ON t.event_type = a.event_type
           GROUP BY 1) AS c;
COMMENT ON VIEW @extschema@.kpi_response_rate IS
  'response rate per campaign: of the leads with any activity in the campaign (activity.campaign), how many had a response activity (event_type.is_response)';
COMMENT ON COLUMN @extschema@.kpi_response_rate.campaign IS 'campaign recorded on the activities (NULL: activities without a campaign)';
COMMENT ON COLUMN @extschema@.kpi_response_rate.touched IS 'distinct leads with any activity in the campaign';
COMMENT ON COLUMN @extschema@.kpi_response_rate.responded IS 'distinct leads with at least one response activity in the campaign';
COMMENT ON COLUMN @extschema@.kpi_response_rate.response_rate IS 'responded / touched; NULL when touched = 0';

-- ---- kpi_team_load ----

CREATE VIEW @extschema@.kpi_team_load AS
  SELECT t.team, t.capacity,
         COALESCE(o.open_leads, 0) AS open_leads,
         round(COALESCE(o.open_leads, 0)::numeric / NULLIF(t.capacity, 0), 4) AS utilization,
         COALESCE(x.overflow_in_30d, 0) AS overflow_in_30d,
         COALESCE(b.breaches_in_30d, 0) AS breaches_in_30d
    FROM @extschema@.team AS t
    LEFT JOIN (SELECT l.team, count(*) AS open_leads
                 FROM @extschema@.lead AS l
                WHERE @extschema@.is_open(l.stage)
                GROUP BY 1) AS o ON o.team = t.team
    LEFT JOIN (SELECT a.team, count(*) AS overflow_in_30d
                 FROM @extschema@.assignment AS a
                WHERE a.reason IN ('overflow', 'over_capacity')
                  AND a.assigned_at > now() - interval '30 days' AND a.assigned_at <= now()
                GROUP BY 1) AS x ON x.team = t.team
    LEFT JOIN (SELECT s.team, count(*) AS breaches_in_30d
                 FROM @extschema@.sla_breach AS s
                WHERE s.detected_at > now() - interval '30 days' AND s.detected_at <= now()
                GROUP BY 1) AS b ON b.team = t.team;
COMMENT ON VIEW @extschema@.kpi_team_load IS
  'load of every configured sales team now: open leads against capacity, leads it received by overflow in the last 30 days, SLA breaches detected in the last 30 days';
COMMENT ON COLUMN @extschema@.kpi_team_load.team IS 'the team';
COMMENT ON COLUMN @extschema@.kpi_team_load.capacity IS 'open leads the team can hold';
COMMENT ON COLUMN @extschema@.kpi_team_load.open_leads IS 'leads of the team in open stages now (mql, sal, sql, opportunity)';
COMMENT ON COLUMN @extschema@.kpi_team_load.utilization IS 'open_leads / capacity (above 1 when over capacity); NULL when capacity is 0';
COMMENT ON COLUMN @extschema@.kpi_team_load.overflow_in_30d IS 'assignments to the team in the last 30 days with reason overflow or over_capacity';
COMMENT ON COLUMN @extschema@.kpi_team_load.breaches_in_30d IS 'SLA breaches of the team detected in the last 30 days';

-- ---- kpi_revenue_mix ----

CREATE VIEW @extschema@.kpi_revenue_mix AS
  SELECT m.period, m.new_business, m.existing_business,
         round(m.existing_business / NULLIF(m.new_business + m.existing_business, 0), 4) AS existing_share
    FROM (SELECT date_trunc('month', d.won_at)::date AS period,
                 COALESCE(sum(d.amount) FILTER (WHERE NOT d.is_existing_customer), 0) AS new_business,
                 COALESCE(sum(d.amount) FILTER (WHERE d.is_existing_customer), 0) AS existing_business
            FROM @extschema@.deal AS d
           GROUP BY 1) AS m;
COMMENT ON VIEW @extschema@.kpi_revenue_mix IS
  'won deal value by month: new business (first deal of a lead) and existing business (deals of leads that were customers before)';
COMMENT ON COLUMN @extschema@.kpi_revenue_mix.period IS 'month the deals were won (first day of the month)';
COMMENT ON COLUMN @extschema@.kpi_revenue_mix.new_business IS 'sum of deal amounts with new customers';
COMMENT ON COLUMN @extschema@.kpi_revenue_mix.existing_business IS 'sum of deal amounts with existing customers';
COMMENT ON COLUMN @extschema@.kpi_revenue_mix.existing_share IS 'existing_business / (new_business + existing_business); NULL when both are 0';

-- ---- kpi_after_sales ----

CREATE VIEW @extschema@.kpi_after_sales AS
  SELECT c.period, c.new_customers, c.touched_after_sale,
         round(c.touched_after_sale::numeric / NULLIF(c.new_customers, 0), 4) AS touched_share,
         c.expansion_opportunities
    FROM (SELECT date_trunc('month', l.customer_at)::date AS period,
                 count(*) AS new_customers,
                 count(*) FILTER (WHERE EXISTS (
                   SELECT FROM @extschema@.activity AS a
                    WHERE a.lead_key = l.lead_key AND a.occurred_at > l.customer_at)) AS touched_after_sale,
                 count(*) FILTER (WHERE l.is_existing_customer) AS expansion_opportunities
            FROM @extschema@.lead AS l
           WHERE l.customer_at IS NOT NULL
           GROUP BY 1) AS c;
COMMENT ON VIEW @extschema@.kpi_after_sales IS
  'is marketing still with the customer after the sale: customers by the month they first became customer, how many had any marketing activity after that moment, and how many came back with a new opportunity (customer -> opportunity)';
COMMENT ON COLUMN @extschema@.kpi_after_sales.period IS 'month the leads first became customer (first day of the month)';
COMMENT ON COLUMN @extschema@.kpi_after_sales.new_customers IS 'leads that first became customer in the period';
COMMENT ON COLUMN @extschema@.kpi_after_sales.touched_after_sale IS 'of those, customers with any activity after they first became customer';
COMMENT ON COLUMN @extschema@.kpi_after_sales.touched_share IS 'touched_after_sale / new_customers; NULL when new_customers = 0';
COMMENT ON COLUMN @extschema@.kpi_after_sales.expansion_opportunities IS 'of those, customers that came back with a new opportunity (customer -> opportunity, lead.is_existing_customer)';

-- ---- snapshots for trends ----

CREATE TABLE @extschema@.kpi_snapshot (
  as_of   date NOT NULL,
  kpi     text NOT NULL,
  dims    jsonb NOT NULL,
  metrics jsonb NOT NULL
);
CREATE INDEX kpi_snapshot_as_of_idx ON @extschema@.kpi_snapshot (as_of, kpi);
COMMENT ON TABLE @extschema@.kpi_snapshot IS
  'daily copies of the KPI views'' rows for trends, written by snapshot_kpis()';
COMMENT ON COLUMN @extschema@.kpi_snapshot.as_of IS 'day of the snapshot';
COMMENT ON COLUMN @extschema@.kpi_snapshot.kpi IS 'the view the row comes from (kpi_funnel, kpi_handoff, ...)';
COMMENT ON COLUMN @extschema@.kpi_snapshot.dims IS 'the row''s dimensions (period, campaign, team, reason) as jsonb';
COMMENT ON COLUMN @extschema@.kpi_snapshot.metrics IS 'the row''s measures (counts, rates, hours) as jsonb';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.kpi_snapshot', '');

CREATE FUNCTION @extschema@.snapshot_kpis(as_of date DEFAULT current_date)
  RETURNS int
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n int;
BEGIN
  IF snapshot_kpis.as_of IS NULL THEN
    RAISE EXCEPTION 'snapshot day must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- one snapshot per day at a time: a second run of the same day waits and replaces
  LOCK TABLE @extschema@.kpi_snapshot IN SHARE ROW EXCLUSIVE MODE;
  DELETE FROM @extschema@.kpi_snapshot AS s WHERE s.as_of = snapshot_kpis.as_of;
  INSERT INTO @extschema@.kpi_snapshot (as_of, kpi, dims, metrics)
  SELECT snapshot_kpis.as_of, v.kpi, v.dims, v.metrics
    FROM (SELECT 'kpi_funnel' AS kpi, jsonb_build_object('period', f.period, 'campaign', f.campaign) AS dims,
                 to_jsonb(f) - 'period' - 'campaign' AS metrics
            FROM @extschema@.kpi_funnel AS f
          UNION ALL
          SELECT 'kpi_handoff', jsonb_build_object('period', h.period, 'team', h.team),
                 to_jsonb(h) - 'period' - 'team'
            FROM @extschema@.kpi_handoff AS h
          UNION ALL
          SELECT 'kpi_rejections', jsonb_build_object('campaign', r.campaign, 'reason', r.reason),
                 to_jsonb(r) - 'campaign' - 'reason'
            FROM @extschema@.kpi_rejections AS r
          UNION ALL
          SELECT 'kpi_response_rate', jsonb_build_object('campaign', c.campaign),
                 to_jsonb(c) - 'campaign'
            FROM @extschema@.kpi_response_rate AS c
          UNION ALL
          SELECT 'kpi_team_load', jsonb_build_object('team', t.team),
                 to_jsonb(t) - 'team'
            FROM @extschema@.kpi_team_load AS t
          UNION ALL
          SELECT 'kpi_revenue_mix', jsonb_build_object('period', m.period),
                 to_jsonb(m) - 'period'
            FROM @extschema@.kpi_revenue_mix AS m
          UNION ALL
          SELECT 'kpi_after_sales', jsonb_build_object('period', a.period),
                 to_jsonb(a) - 'period'
            FROM @extschema@.kpi_after_sales AS a) AS v;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.snapshot_kpis(date) IS
  'store the current rows of every kpi_* view in kpi_snapshot under the given day (replacing that day''s rows); returns the rows stored';
REVOKE ALL ON FUNCTION @extschema@.snapshot_kpis(date) FROM PUBLIC;

-- ---- the health check ----

CREATE FUNCTION @extschema@.health_check(as_of timestamptz DEFAULT now())
  RETURNS TABLE (question text, answer text, value numeric, unit text, verdict text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  -- every question looks at the half-open window [t_start, t_end): an event
  -- exactly at as_of is not counted by any of them
  t_end   timestamptz := health_check.as_of;
  t_start timestamptz := health_check.as_of - interval '90 days';
  cal     text;
  sla_mql numeric;          -- hours the agreement gives sales to answer a handover
  sla_sal numeric;          -- hours it gives to qualify an accepted lead
  h       record;           -- the handovers of the window
  r       record;
  total   numeric;
BEGIN
  IF t_end IS NULL THEN
    RAISE EXCEPTION 'as_of must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT isfinite(t_end) THEN
    RAISE EXCEPTION 'as_of must be a finite timestamp' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT COALESCE(max(p.calendar) FILTER (WHERE p.stage OPERATOR(@extschema@.=) 'mql'), 'default'),
         COALESCE(max(extract(epoch FROM p.max_business_time) / 3600)
                    FILTER (WHERE p.stage OPERATOR(@extschema@.=) 'mql'), 16),
         COALESCE(max(extract(epoch FROM p.max_business_time) / 3600)
                    FILTER (WHERE p.stage OPERATOR(@extschema@.=) 'sal'), 40)
    INTO cal, sla_mql, sla_sal
    FROM @extschema@.sla_policy AS p;

  -- handovers of the last 90 days and their first answer (before as_of)
  SELECT count(*) AS handed_over,
         count(a.occurred_at) AS answered,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM
           @extschema@.business_time(l.mql_at, a.occurred_at, cal))::float8) AS response_median,
         count(a.occurred_at) FILTER (WHERE @extschema@.depth(a.to_stage) > 2) AS accepted,
         percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM
           @extschema@.business_time(l.mql_at, a.occurred_at, cal))::float8)
           FILTER (WHERE @extschema@.depth(a.to_stage) > 2) AS accept_pct,
         count(q.sql_at) FILTER (WHERE q.sql_at < t_end) AS qualified,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM
           @extschema@.business_time(l.mql_at, q.sql_at, cal))::float8)
           FILTER (WHERE q.sql_at < t_end) AS qualify_median
    INTO h
    FROM @extschema@.lead AS l
    LEFT JOIN LATERAL (
      SELECT e.to_stage, e.occurred_at FROM @extschema@.stage_event AS e
       WHERE e.lead_key = l.lead_key AND e.from_stage OPERATOR(@extschema@.=) 'mql'
       ORDER BY e.event_id LIMIT 1) AS a ON a.occurred_at < t_end
    -- first SQL at or after the first MQL (the ledger only for a lead that
    -- was SQL before its first MQL too)
    CROSS JOIN LATERAL (
      SELECT CASE WHEN l.sql_at >= l.mql_at THEN l.sql_at
                  WHEN l.sql_at < l.mql_at THEN
                    (SELECT min(e.occurred_at) FROM @extschema@.stage_event AS e
                      WHERE e.lead_key = l.lead_key AND e.to_stage OPERATOR(@extschema@.=) 'sql'
                        AND e.occurred_at >= l.mql_at)
             END AS sql_at) AS q
   WHERE l.mql_at >= t_start AND l.mql_at < t_end;

  question := 'How fast does sales answer a lead handed over by marketing?';
  unit := 'business hours';
  IF h.answered = 0 THEN
    value := NULL; verdict := 'no data';
    answer := format('no lead handed over in the 90 days before %s has been answered yet (%s handed over)',
                     t_end::date, h.handed_over);
  ELSE
    value := round((h.response_median / 3600)::numeric, 2);
    verdict := CASE WHEN value <= sla_mql THEN 'ok' ELSE 'attention' END;
    answer := format('median %s business hours from handover to the first answer (%s of %s MQLs of the last 90 days answered; agreed: %s)',
                     value, h.answered, h.handed_over, round(sla_mql, 2));
  END IF;
  RETURN NEXT;

  question := 'How long does sales take to qualify a handed-over lead?';
  unit := 'business hours';
  IF h.qualified = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no lead handed over in the last 90 days has become SQL yet';
  ELSE
    value := round((h.qualify_median / 3600)::numeric, 2);
    verdict := CASE WHEN value <= sla_mql + sla_sal THEN 'ok' ELSE 'attention' END;
    answer := format('median %s business hours from handover to SQL (%s leads of the last 90 days; agreed: %s)',
                     value, h.qualified, round(sla_mql + sla_sal, 2));
  END IF;
  RETURN NEXT;

  -- is the process measured?
  SELECT count(*) AS events,
         count(*) FILTER (WHERE e.actor IS NOT NULL AND btrim(e.actor) <> ''
                            AND (e.to_stage OPERATOR(@extschema@.<) 'recycled'
                                 OR (e.reason IS NOT NULL AND btrim(e.reason) <> ''))) AS complete
    INTO r
    FROM @extschema@.stage_event AS e
   WHERE e.occurred_at >= t_start AND e.occurred_at < t_end;
  question := 'Are the process steps measured (transitions recorded with actor, and rejections with a reason)?';
  unit := 'share';
  IF r.events = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no transition recorded in the last 90 days';
  ELSE
    value := round(r.complete::numeric / r.events, 4);
    verdict := CASE WHEN value >= 0.95 THEN 'ok' ELSE 'attention' END;
    answer := format('%s of %s transitions of the last 90 days carry an actor (and a reason where they send a lead back, discard it or lose it)',
                     r.complete, r.events);
  END IF;
  RETURN NEXT;

  question := 'How much history is recorded?';
  unit := 'days';
  SELECT min(e.occurred_at) AS first_at INTO r
    FROM @extschema@.stage_event AS e WHERE e.occurred_at < t_end;
  IF r.first_at IS NULL THEN
    value := NULL; verdict := 'no data';
    answer := 'no transition recorded yet';
  ELSE
    value := round(extract(epoch FROM t_end - r.first_at) / 86400, 1);
    verdict := CASE WHEN value >= 90 THEN 'ok' ELSE 'attention' END;
    answer := format('%s days since the first recorded transition (%s)', value, r.first_at::date);
  END IF;
  RETURN NEXT;

  -- acceptance times (the handovers read above)
  unit := 'business hours';
  question := 'Median time until a handed-over lead is accepted?';
  IF h.accepted = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no lead handed over in the last 90 days has been accepted yet';
  ELSE
    value := round((h.accept_pct[1] / 3600)::numeric, 2);
    verdict := CASE WHEN value <= sla_mql THEN 'ok' ELSE 'attention' END;
    answer := format('half of the %s accepted leads of the last 90 days were accepted within %s business hours (agreed: %s)',
                     h.accepted, value, round(sla_mql, 2));
  END IF;
  RETURN NEXT;
  question := '90th percentile of the time until a handed-over lead is accepted?';
  IF h.accepted = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no lead handed over in the last 90 days has been accepted yet';
  ELSE
    value := round((h.accept_pct[2] / 3600)::numeric, 2);
    verdict := CASE WHEN value <= sla_mql THEN 'ok' ELSE 'attention' END;
    answer := format('90 %% of the %s accepted leads of the last 90 days were accepted within %s business hours (agreed: %s)',
                     h.accepted, value, round(sla_mql, 2));
  END IF;
  RETURN NEXT;

  -- what happens to rejected leads
  SELECT (SELECT count(*) FROM @extschema@.stage_event AS e
           WHERE e.to_stage OPERATOR(@extschema@.=) 'recycled'
             AND e.from_stage OPERATOR(@extschema@.<=) 'sql' AND e.from_stage OPERATOR(@extschema@.>=) 'mql'
             AND e.occurred_at >= t_start AND e.occurred_at < t_end) AS returned,
         (SELECT count(*) FROM @extschema@.stage_event AS e
           WHERE e.to_stage OPERATOR(@extschema@.=) 'disqualified'
             AND e.from_stage OPERATOR(@extschema@.<=) 'sql' AND e.from_stage OPERATOR(@extschema@.>=) 'mql'
             AND e.occurred_at >= t_start AND e.occurred_at < t_end) AS discarded,
         (SELECT count(*) FROM @extschema@.lead AS l
           WHERE l.sla_due_at < t_end AND l.stage OPERATOR(@extschema@.=) 'mql') AS lying
    INTO r;
  total := r.returned + r.discarded + r.lying;
  unit := 'share';
  question := 'Rejected leads: what share is returned to marketing?';
  IF total = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no lead rejected in the last 90 days and none left lying';
  ELSE
    value := round(r.returned / total, 4);
    verdict := CASE WHEN value >= 0.5 THEN 'ok' ELSE 'attention' END;
    answer := format('%s of %s rejected or unanswered leads went back to marketing for nurturing', r.returned, total);
  END IF;
  RETURN NEXT;
  question := 'Rejected leads: what share is discarded?';
  IF total = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no lead rejected in the last 90 days and none left lying';
  ELSE
    value := round(r.discarded / total, 4);
    verdict := CASE WHEN value <= 0.5 THEN 'ok' ELSE 'attention' END;
    answer := format('%s of %s rejected or unanswered leads were disqualified', r.discarded, total);
  END IF;
  RETURN NEXT;
  question := 'Rejected leads: what share is left lying past its SLA?';
  IF total = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no lead rejected in the last 90 days and none left lying';
  ELSE
    value := round(r.lying / total, 4);
    verdict := CASE WHEN value <= 0.05 THEN 'ok' ELSE 'attention' END;
    answer := format('%s of %s rejected or unanswered leads lie in mql past their SLA', r.lying, total);
  END IF;
  RETURN NEXT;

  -- routing
  SELECT count(*) AS assignments,
         count(*) FILTER (WHERE a.reason IN ('overflow', 'over_capacity')) AS overflow
    INTO r
    FROM @extschema@.assignment AS a
   WHERE a.assigned_at >= t_start AND a.assigned_at < t_end
     AND a.reason <> 'manual';	-- routing's own decisions, not teams given by hand
  question := 'Routing: what share of leads goes to a team outside its segment or over capacity?';
  unit := 'share';
  IF r.assignments = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no lead routed in the last 90 days';
  ELSE
    value := round(r.overflow::numeric / r.assignments, 4);
    verdict := CASE WHEN value <= 0.2 THEN 'ok' ELSE 'attention' END;
    answer := format('%s of %s assignments of the last 90 days were overflow or over capacity', r.overflow, r.assignments);
  END IF;
  RETURN NEXT;

  SELECT count(*) AS teams,
         count(*) FILTER (WHERE COALESCE(o.n, 0) > t.capacity) AS over,
         string_agg(t.team, ', ' ORDER BY t.team) FILTER (WHERE COALESCE(o.n, 0) > t.capacity) AS names
    INTO r
    FROM @extschema@.team AS t
    LEFT JOIN (SELECT l.team, count(*) AS n FROM @extschema@.lead AS l
                WHERE @extschema@.is_open(l.stage) GROUP BY l.team) AS o ON o.team = t.team
   WHERE t.active;
  question := 'Routing: how many teams are over capacity?';
  unit := 'teams';
  IF r.teams = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no active team configured';
  ELSE
    value := r.over;
    verdict := CASE WHEN r.over = 0 THEN 'ok' ELSE 'attention' END;
    answer := CASE WHEN r.over = 0 THEN format('none of %s active teams holds more open leads than its capacity', r.teams)
                   ELSE format('%s of %s active teams hold more open leads than their capacity: %s', r.over, r.teams, r.names) END;
  END IF;
  RETURN NEXT;

  -- noticing unreviewed leads
  SELECT count(*) AS breaches,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM b.detected_at - b.sla_due_at)::float8) AS delay
    INTO r
    FROM @extschema@.sla_breach AS b
   WHERE b.detected_at >= t_start AND b.detected_at < t_end;
  question := 'How fast is a lead noticed that lies unreviewed past its SLA?';
  unit := 'hours';
  IF r.breaches = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no SLA breach detected in the last 90 days';
  ELSE
    value := round((r.delay / 3600)::numeric, 2);
    verdict := CASE WHEN value <= 1 THEN 'ok' ELSE 'attention' END;
    answer := format('median %s hours from the SLA due time to the detection of the breach (%s breaches of the last 90 days)',
                     value, r.breaches);
  END IF;
  RETURN NEXT;

  -- after the sale
  SELECT count(*) AS customers,
         count(*) FILTER (WHERE EXISTS (
           SELECT FROM @extschema@.activity AS a
            WHERE a.lead_key = l.lead_key AND a.occurred_at > l.customer_at
              AND a.occurred_at < t_end)) AS touched
    INTO r
    FROM @extschema@.lead AS l
   WHERE l.customer_at >= t_end - interval '365 days' AND l.customer_at < t_end;
  question := 'Does marketing stay involved after the sale?';
  unit := 'share';
  IF r.customers = 0 THEN
    value := NULL; verdict := 'no data';
    answer := 'no new customer in the last 365 days';
  ELSE
    value := round(r.touched::numeric / r.customers, 4);
    verdict := CASE WHEN value >= 0.5 THEN 'ok' ELSE 'attention' END;
    answer := format('%s of %s customers won in the last 365 days had marketing activity after the sale',
                     r.touched, r.customers);
  END IF;
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION @extschema@.health_check(timestamptz) IS
  'the questions a managing director should answer with a number, answered from the data: one row per question with the value, its unit and a verdict (ok, attention, no data). Windows: the 90 days before as_of, [as_of - 90 days, as_of), and only events before as_of (after-sale: 365 days); lead states are the current ones. Thresholds: answer and acceptance times (median and p90) <= the mql SLA (16 business hours when no policy); handover to SQL <= mql + sal SLA (56); actor/reason share >= 0.95; history >= 90 days; returned share >= 0.5, discarded share <= 0.5, left lying <= 0.05; overflow share <= 0.2; no active team over capacity; breach detection delay (median) <= 1 hour; after-sale touched share >= 0.5';
REVOKE ALL ON FUNCTION @extschema@.health_check(timestamptz) FROM PUBLIC;
