-- pgTAP: the KPI views' shape (SPEC §8): exact columns in order, built-in
-- types, a comment on every view and column; the KPI functions and their
-- privileges.
BEGIN;
CREATE EXTENSION lead_funnel;
SELECT plan(133);

-- lead_journey
SELECT has_view('lead_funnel', 'lead_journey', 'view lead_journey exists');
SELECT columns_are('lead_funnel', 'lead_journey', ARRAY['lead_key', 'stage', 'stage_label', 'stage_depth', 'is_open', 'stage_entered_at', 'days_in_stage', 'owner', 'team', 'campaign', 'segment', 'is_existing_customer', 'created_at', 'prospect_at', 'mql_at', 'sal_at', 'sql_at', 'opportunity_at', 'customer_at', 'recycled_count', 'last_recycled_at', 'disqualified_at', 'lost_at', 'sla_due_at', 'sla_overdue', 'fit_score', 'engagement', 'engagement_as_of', 'decision', 'decided_at', 'mql_to_decision_business_hours']);
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'lead_funnel.lead_journey'::regclass AND attnum > 0),
          ARRAY['lead_key', 'stage', 'stage_label', 'stage_depth', 'is_open', 'stage_entered_at', 'days_in_stage', 'owner', 'team', 'campaign', 'segment', 'is_existing_customer', 'created_at', 'prospect_at', 'mql_at', 'sal_at', 'sql_at', 'opportunity_at', 'customer_at', 'recycled_count', 'last_recycled_at', 'disqualified_at', 'lost_at', 'sla_due_at', 'sla_overdue', 'fit_score', 'engagement', 'engagement_as_of', 'decision', 'decided_at', 'mql_to_decision_business_hours'], 'lead_journey: columns in order');
SELECT col_type_is('lead_funnel', 'lead_journey', c, t, 'lead_journey.' || c || ' is ' || t) FROM (VALUES
  ('lead_key', 'text'),
  ('stage', 'text'),
  ('stage_label', 'text'),
  ('stage_depth', 'integer'),
  ('is_open', 'boolean'),
  ('stage_entered_at', 'timestamp with time zone'),
  ('days_in_stage', 'numeric'),
  ('owner', 'text'),
  ('team', 'text'),
  ('campaign', 'text'),
  ('segment', 'text'),
  ('is_existing_customer', 'boolean'),
  ('created_at', 'timestamp with time zone'),
  ('prospect_at', 'timestamp with time zone'),
  ('mql_at', 'timestamp with time zone'),
  ('sal_at', 'timestamp with time zone'),
  ('sql_at', 'timestamp with time zone'),
  ('opportunity_at', 'timestamp with time zone'),
  ('customer_at', 'timestamp with time zone'),
  ('recycled_count', 'integer'),
  ('last_recycled_at', 'timestamp with time zone'),
  ('disqualified_at', 'timestamp with time zone'),
  ('lost_at', 'timestamp with time zone'),
  ('sla_due_at', 'timestamp with time zone'),
  ('sla_overdue', 'boolean'),
  ('fit_score', 'numeric'),
  ('engagement', 'numeric'),
  ('engagement_as_of', 'timestamp with time zone'),
  ('decision', 'text'),
  ('decided_at', 'timestamp with time zone'),
  ('mql_to_decision_business_hours', 'numeric')) AS x(c, t);
SELECT isnt(obj_description('lead_funnel.lead_journey'::regclass, 'pg_class'), NULL, 'lead_journey has a comment');

-- kpi_funnel
SELECT has_view('lead_funnel', 'kpi_funnel', 'view kpi_funnel exists');
SELECT columns_are('lead_funnel', 'kpi_funnel', ARRAY['period', 'campaign', 'mqls', 'sals', 'sqls', 'opportunities', 'customers', 'mql_to_sal', 'sal_to_sql', 'sql_to_opportunity', 'opportunity_to_customer', 'mql_to_customer']);
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'lead_funnel.kpi_funnel'::regclass AND attnum > 0),
          ARRAY['period', 'campaign', 'mqls', 'sals', 'sqls', 'opportunities', 'customers', 'mql_to_sal', 'sal_to_sql', 'sql_to_opportunity', 'opportunity_to_customer', 'mql_to_customer'], 'kpi_funnel: columns in order');
SELECT col_type_is('lead_funnel', 'kpi_funnel', c, t, 'kpi_funnel.' || c || ' is ' || t) FROM (VALUES
  ('period', 'date'),
  ('campaign', 'text'),
  ('mqls', 'bigint'),
  ('sals', 'bigint'),
  ('sqls', 'bigint'),
  ('opportunities', 'bigint'),
  ('customers', 'bigint'),
  ('mql_to_sal', 'numeric'),
  ('sal_to_sql', 'numeric'),
  ('sql_to_opportunity', 'numeric'),
  ('opportunity_to_customer', 'numeric'),
  ('mql_to_customer', 'numeric')) AS x(c, t);
SELECT isnt(obj_description('lead_funnel.kpi_funnel'::regclass, 'pg_class'), NULL, 'kpi_funnel has a comment');

-- kpi_handoff
SELECT has_view('lead_funnel', 'kpi_handoff', 'view kpi_handoff exists');
SELECT columns_are('lead_funnel', 'kpi_handoff', ARRAY['period', 'team', 'handed_over', 'accepted', 'recycled', 'disqualified', 'pending', 'acceptance_rate', 'median_response_business_hours', 'p90_response_business_hours', 'median_response_hours', 'breaches']);
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'lead_funnel.kpi_handoff'::regclass AND attnum > 0),
          ARRAY['period', 'team', 'handed_over', 'accepted', 'recycled', 'disqualified', 'pending', 'acceptance_rate', 'median_response_business_hours', 'p90_response_business_hours', 'median_response_hours', 'breaches'], 'kpi_handoff: columns in order');
SELECT col_type_is('lead_funnel', 'kpi_handoff', c, t, 'kpi_handoff.' || c || ' is ' || t) FROM (VALUES
  ('period', 'date'),
  ('team', 'text'),
  ('handed_over', 'bigint'),
  ('accepted', 'bigint'),
  ('recycled', 'bigint'),
  ('disqualified', 'bigint'),
  ('pending', 'bigint'),
  ('acceptance_rate', 'numeric'),
  ('median_response_business_hours', 'numeric'),
  ('p90_response_business_hours', 'numeric'),
  ('median_response_hours', 'numeric'),
  ('breaches', 'bigint')) AS x(c, t);
SELECT isnt(obj_description('lead_funnel.kpi_handoff'::regclass, 'pg_class'), NULL, 'kpi_handoff has a comment');

-- kpi_rejections
SELECT has_view('lead_funnel', 'kpi_rejections', 'view kpi_rejections exists');
SELECT columns_are('lead_funnel', 'kpi_rejections', ARRAY['campaign', 'reason', 'recycled', 'disqualified', 'left_pending']);
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'lead_funnel.kpi_rejections'::regclass AND attnum > 0),
          ARRAY['campaign', 'reason', 'recycled', 'disqualified', 'left_pending'], 'kpi_rejections: columns in order');
SELECT col_type_is('lead_funnel', 'kpi_rejections', c, t, 'kpi_rejections.' || c || ' is ' || t) FROM (VALUES
  ('campaign', 'text'),
  ('reason', 'text'),
  ('recycled', 'bigint'),
  ('disqualified', 'bigint'),
  ('left_pending', 'bigint')) AS x(c, t);
SELECT isnt(obj_description('lead_funnel.kpi_rejections'::regclass, 'pg_class'), NULL, 'kpi_rejections has a comment');

-- kpi_response_rate
SELECT has_view('lead_funnel', 'kpi_response_rate', 'view kpi_response_rate exists');
SELECT columns_are('lead_funnel', 'kpi_response_rate', ARRAY['campaign', 'touched', 'responded', 'response_rate']);
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'lead_funnel.kpi_response_rate'::regclass AND attnum > 0),
          ARRAY['campaign', 'touched', 'responded', 'response_rate'], 'kpi_response_rate: columns in order');
SELECT col_type_is('lead_funnel', 'kpi_response_rate', c, t, 'kpi_response_rate.' || c || ' is ' || t) FROM (VALUES
  ('campaign', 'text'),
  ('touched', 'bigint'),
  ('responded', 'bigint'),
  ('response_rate', 'numeric')) AS x(c, t);
SELECT isnt(obj_description('lead_funnel.kpi_response_rate'::regclass, 'pg_class'), NULL, 'kpi_response_rate has a comment');

-- kpi_team_load
SELECT has_view('lead_funnel', 'kpi_team_load', 'view kpi_team_load exists');
SELECT columns_are('lead_funnel', 'kpi_team_load', ARRAY['team', 'capacity', 'open_leads', 'utilization', 'overflow_in_30d', 'breaches_in_30d']);
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'lead_funnel.kpi_team_load'::regclass AND attnum > 0),
          ARRAY['team', 'capacity', 'open_leads', 'utilization', 'overflow_in_30d', 'breaches_in_30d'], 'kpi_team_load: columns in order');
SELECT col_type_is('lead_funnel', 'kpi_team_load', c, t, 'kpi_team_load.' || c || ' is ' || t) FROM (VALUES
  ('team', 'text'),
  ('capacity', 'integer'),
  ('open_leads', 'bigint'),
  ('utilization', 'numeric'),
  ('overflow_in_30d', 'bigint'),
  ('breaches_in_30d', 'bigint')) AS x(c, t);
SELECT isnt(obj_description('lead_funnel.kpi_team_load'::regclass, 'pg_class'), NULL, 'kpi_team_load has a comment');

-- kpi_revenue_mix
SELECT has_view('lead_funnel', 'kpi_revenue_mix', 'view kpi_revenue_mix exists');
SELECT columns_are('lead_funnel', 'kpi_revenue_mix', ARRAY['period', 'new_business', 'existing_business', 'existing_share']);
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'lead_funnel.kpi_revenue_mix'::regclass AND attnum > 0),
          ARRAY['period', 'new_business', 'existing_business', 'existing_share'], 'kpi_revenue_mix: columns in order');
SELECT col_type_is('lead_funnel', 'kpi_revenue_mix', c, t, 'kpi_revenue_mix.' || c || ' is ' || t) FROM (VALUES
  ('period', 'date'),
  ('new_business', 'numeric'),
  ('existing_business', 'numeric'),
  ('existing_share', 'numeric')) AS x(c, t);
SELECT isnt(obj_description('lead_funnel.kpi_revenue_mix'::regclass, 'pg_class'), NULL, 'kpi_revenue_mix has a comment');

-- kpi_after_sales
SELECT has_view('lead_funnel', 'kpi_after_sales', 'view kpi_after_sales exists');
SELECT columns_are('lead_funnel', 'kpi_after_sales', ARRAY['period', 'new_customers', 'touched_after_sale', 'touched_share', 'expansion_opportunities']);
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'lead_funnel.kpi_after_sales'::regclass AND attnum > 0),
          ARRAY['period', 'new_customers', 'touched_after_sale', 'touched_share', 'expansion_opportunities'], 'kpi_after_sales: columns in order');
SELECT col_type_is('lead_funnel', 'kpi_after_sales', c, t, 'kpi_after_sales.' || c || ' is ' || t) FROM (VALUES
  ('period', 'date'),
  ('new_customers', 'bigint'),
  ('touched_after_sale', 'bigint'),
  ('touched_share', 'numeric'),
  ('expansion_opportunities', 'bigint')) AS x(c, t);
SELECT isnt(obj_description('lead_funnel.kpi_after_sales'::regclass, 'pg_class'), NULL, 'kpi_after_sales has a comment');

-- no column of any KPI view is of a type of the extension (BI tools need built-in types)
SELECT is_empty($$
  SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
    JOIN pg_type t ON t.oid = a.atttypid
   WHERE c.relnamespace = 'lead_funnel'::regnamespace AND c.relkind = 'v'
     AND (c.relname LIKE 'kpi\_%' OR c.relname = 'lead_journey')
     AND t.typnamespace <> 'pg_catalog'::regnamespace $$, 'KPI views use built-in types only');
-- every column of every KPI view has a comment
SELECT is_empty($$
  SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
   WHERE c.relnamespace = 'lead_funnel'::regnamespace AND c.relkind = 'v'
     AND (c.relname LIKE 'kpi\_%' OR c.relname = 'lead_journey')
     AND col_description(c.oid, a.attnum) IS NULL $$, 'every KPI view column has a comment');
SELECT is((SELECT count(*)::int FROM pg_class
            WHERE relnamespace = 'lead_funnel'::regnamespace AND relkind = 'v'
              AND (relname LIKE 'kpi\_%' OR relname = 'lead_journey')), 8, 'eight KPI views');

-- snapshots
SELECT has_table('lead_funnel', 'kpi_snapshot', 'table kpi_snapshot exists');
SELECT columns_are('lead_funnel', 'kpi_snapshot', ARRAY['as_of', 'kpi', 'dims', 'metrics']);
SELECT col_type_is('lead_funnel', 'kpi_snapshot', c, t, 'kpi_snapshot.' || c || ' is ' || t) FROM (VALUES
  ('as_of', 'date'), ('kpi', 'text'), ('dims', 'jsonb'), ('metrics', 'jsonb')) AS x(c, t);
SELECT ok((SELECT extconfig @> ARRAY['lead_funnel.kpi_snapshot'::regclass::oid] FROM pg_extension
            WHERE extname = 'lead_funnel'), 'kpi_snapshot is dumped by pg_dump');

-- functions: signatures, SECURITY DEFINER with a fixed search_path, not for PUBLIC
SELECT has_function('lead_funnel', 'snapshot_kpis', ARRAY['date'], 'snapshot_kpis(date)');
SELECT has_function('lead_funnel', 'health_check', ARRAY['timestamp with time zone'], 'health_check(timestamptz)');
SELECT has_function('lead_funnel', 'funnel_svg', ARRAY['timestamp with time zone', 'timestamp with time zone'],
                    'funnel_svg(timestamptz, timestamptz)');
SELECT function_returns('lead_funnel', 'snapshot_kpis', ARRAY['date'], 'integer');
SELECT function_returns('lead_funnel', 'funnel_svg', ARRAY['timestamp with time zone', 'timestamp with time zone'], 'text');
SELECT is((SELECT array_agg(proname::text ORDER BY proname) FROM pg_proc
            WHERE pronamespace = 'lead_funnel'::regnamespace AND prosecdef
              AND proname IN ('snapshot_kpis', 'health_check', 'funnel_svg')),
          ARRAY['funnel_svg', 'health_check', 'snapshot_kpis'], 'KPI functions are SECURITY DEFINER');
SELECT is_empty($$
  SELECT proname FROM pg_proc WHERE pronamespace = 'lead_funnel'::regnamespace
     AND proname IN ('snapshot_kpis', 'health_check', 'funnel_svg', 'svg_escape')
     AND NOT ('search_path=pg_catalog, pg_temp' = ANY (proconfig)) $$, 'KPI functions have a fixed search_path');
SELECT is_empty($$
  SELECT proname FROM pg_proc WHERE pronamespace = 'lead_funnel'::regnamespace
     AND proname IN ('snapshot_kpis', 'health_check', 'funnel_svg', 'svg_escape')
     AND has_function_privilege('public', oid, 'EXECUTE') $$, 'PUBLIC may not execute the KPI functions');
SELECT is_empty($$
  SELECT relname FROM pg_class WHERE relnamespace = 'lead_funnel'::regnamespace
     AND (relname LIKE 'kpi\_%' OR relname = 'lead_journey')
     AND has_table_privilege('public', oid, 'SELECT') $$, 'PUBLIC may not read the KPI views and snapshots');
SELECT isnt(obj_description('lead_funnel.health_check(timestamptz)'::regprocedure, 'pg_proc'), NULL, 'health_check has a comment');
SELECT isnt(obj_description('lead_funnel.funnel_svg(timestamptz, timestamptz)'::regprocedure, 'pg_proc'), NULL, 'funnel_svg has a comment');
SELECT isnt(obj_description('lead_funnel.snapshot_kpis(date)'::regprocedure, 'pg_proc'), NULL, 'snapshot_kpis has a comment');

SELECT * FROM finish();
ROLLBACK;
