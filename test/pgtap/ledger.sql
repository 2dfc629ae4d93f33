-- pgTAP: the ledger's tables, their keys and who may do what
BEGIN;
CREATE EXTENSION lead_funnel;
SELECT plan(41);

SELECT has_table('lead_funnel', 'transition', 'transition exists');
SELECT has_table('lead_funnel', 'stage_event', 'stage_event exists');
SELECT has_table('lead_funnel', 'lead', 'lead exists');
SELECT has_table('lead_funnel', 'deal', 'deal exists');
SELECT has_table('lead_funnel', 'violation', 'violation exists');
SELECT has_table('lead_funnel', 'attachment', 'attachment exists');

SELECT columns_are('lead_funnel', 'stage_event',
  ARRAY['event_id', 'lead_key', 'from_stage', 'to_stage', 'occurred_at', 'actor', 'team', 'reason', 'source']);
SELECT columns_are('lead_funnel', 'lead',
  ARRAY['lead_key', 'stage', 'stage_entered_at', 'owner', 'team', 'campaign', 'segment',
        'is_existing_customer', 'created_at', 'prospect_at', 'mql_at', 'sal_at', 'sql_at',
        'opportunity_at', 'customer_at', 'recycled_count', 'last_recycled_at', 'disqualified_at',
        'lost_at', 'sla_due_at', 'fit_score', 'engagement', 'engagement_as_of', 'open_team']);
SELECT columns_are('lead_funnel', 'transition', ARRAY['from_stage', 'to_stage', 'requires_reason']);
SELECT col_type_is('lead_funnel', 'lead', 'stage', 'lead_funnel.stage', 'lead.stage is a stage');
SELECT col_type_is('lead_funnel', 'stage_event', 'occurred_at', 'timestamp with time zone', 'occurred_at is timestamptz');

-- every unique key includes lead_key (SPEC §13: distribution by lead_key)
SELECT col_is_pk('lead_funnel', 'lead', 'lead_key', 'lead is keyed by lead_key');
SELECT col_is_pk('lead_funnel', 'stage_event', ARRAY['lead_key', 'event_id'], 'stage_event key starts with lead_key');
SELECT col_is_pk('lead_funnel', 'deal', ARRAY['lead_key', 'deal_id'], 'deal key starts with lead_key');
SELECT is((SELECT count(*)::int FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            WHERE c.relnamespace = 'lead_funnel'::regnamespace
              AND c.relname IN ('lead', 'stage_event', 'deal', 'violation', 'sla_breach',
                                'assignment', 'activity')
              AND i.indisunique
              AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                                 AND a.attname = 'lead_key' AND a.attnum = ANY (i.indkey))),
          0, 'no unique index of a ledger table leaves out lead_key');

-- config tables are dumped by pg_dump
SELECT ok((SELECT 'lead_funnel.transition'::regclass = ANY (extconfig) FROM pg_extension WHERE extname = 'lead_funnel'),
          'transition is registered for pg_dump');
SELECT ok((SELECT 'lead_funnel.attachment'::regclass = ANY (extconfig) FROM pg_extension WHERE extname = 'lead_funnel'),
          'attachment is registered for pg_dump');

-- comments on every table and column of the ledger
SELECT is((SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = 'lead_funnel'::regnamespace
            AND c.relkind IN ('r', 'v') AND obj_description(c.oid, 'pg_class') IS NULL),
          0, 'every table and view has a comment');
SELECT is((SELECT count(*)::int FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'lead_funnel'::regnamespace AND c.relkind IN ('r', 'v')
              AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL),
          0, 'every column has a comment');
SELECT is((SELECT count(*)::int FROM pg_proc p WHERE p.pronamespace = 'lead_funnel'::regnamespace
            AND obj_description(p.oid, 'pg_proc') IS NULL
            AND p.proname NOT LIKE 'stage\_%' AND p.proname NOT IN ('stage_in', 'stage_out')),
          0, 'every function has a comment');

-- every function has a fixed search_path, except the documented hot-path ones
SELECT is(ARRAY(SELECT p.proname::text FROM pg_proc p WHERE p.pronamespace = 'lead_funnel'::regnamespace
                  AND p.prokind = 'f' AND (p.proconfig IS NULL OR NOT EXISTS (
                      SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%'))
                ORDER BY 1),
          ARRAY['all_stages', 'business_add', 'business_time', 'crm_trigger', 'decayed', 'depth',
                'is_open', 'label', 'lf_ledger_guard', 'stage', 'stage_cmp', 'stage_eq', 'stage_ge', 'stage_gt',
                'stage_hash', 'stage_hash_extended', 'stage_in', 'stage_larger', 'stage_le',
                'stage_lt', 'stage_ne', 'stage_out', 'stage_recv', 'stage_send', 'stage_smaller',
                'text'],
          'every function but the per-row and per-value hot paths has a fixed search_path');

-- PUBLIC: USAGE on the schema and the type, nothing else
SELECT ok(has_schema_privilege('public', 'lead_funnel', 'USAGE'), 'PUBLIC may use the schema');
SELECT ok(NOT has_schema_privilege('public', 'lead_funnel', 'CREATE'), 'PUBLIC may not create in the schema');
SELECT is((SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = 'lead_funnel'::regnamespace
            AND c.relkind IN ('r', 'v', 'S')
            AND (has_table_privilege('public', c.oid, 'SELECT') OR has_table_privilege('public', c.oid, 'INSERT')
                 OR has_table_privilege('public', c.oid, 'UPDATE') OR has_table_privilege('public', c.oid, 'DELETE'))),
          0, 'PUBLIC has no right on any table or view');
SELECT ok(NOT has_function_privilege('public', 'lead_funnel.move(text, lead_funnel.stage, text, text, timestamptz, text, text)', 'EXECUTE'),
          'PUBLIC may not move leads');
SELECT ok(NOT has_function_privilege('public', 'lead_funnel.attach(regclass, name, name, jsonb, jsonb)', 'EXECUTE'),
          'PUBLIC may not attach tables');

SELECT is(ARRAY(SELECT p.proname::text FROM pg_proc p
                 WHERE p.pronamespace = 'lead_funnel'::regnamespace
                   AND has_function_privilege('public', p.oid, 'EXECUTE') ORDER BY 1),
          ARRAY['all_stages', 'depth', 'is_open', 'label', 'max', 'min', 'stage', 'stage_cmp', 'stage_eq',
                'stage_ge', 'stage_gt', 'stage_hash', 'stage_hash_extended', 'stage_in', 'stage_larger',
                'stage_le', 'stage_lt', 'stage_ne', 'stage_out', 'stage_recv', 'stage_send',
                'stage_smaller', 'text'],
          'PUBLIC may execute only the stage type''s functions');

-- the right sets
CREATE ROLE tap_reader;
CREATE ROLE tap_sales;
CREATE ROLE tap_marketing;
SELECT lead_funnel.grant_reader('tap_reader');
SELECT lead_funnel.grant_sales('tap_sales');
SELECT lead_funnel.grant_marketing('tap_marketing');
SELECT ok(has_table_privilege('tap_reader', 'lead_funnel.lead', 'SELECT')
          AND has_table_privilege('tap_reader', 'lead_funnel.stages', 'SELECT'), 'a reader reads lead and the views');
SELECT ok(has_table_privilege('tap_reader', 'lead_funnel.kpi_snapshot', 'SELECT')
          AND NOT has_table_privilege('tap_reader', 'lead_funnel.kpi_snapshot', 'INSERT')
          AND NOT has_table_privilege('tap_reader', 'lead_funnel.kpi_snapshot', 'DELETE'),
          'a reader reads the KPI snapshots and writes none');
SELECT ok(NOT has_table_privilege('tap_reader', 'lead_funnel.lead', 'UPDATE')
          AND NOT has_function_privilege('tap_reader', 'lead_funnel.move(text, lead_funnel.stage, text, text, timestamptz, text, text)', 'EXECUTE'),
          'a reader writes nothing');
SELECT ok(has_function_privilege('tap_sales', 'lead_funnel.move(text, lead_funnel.stage, text, text, timestamptz, text, text)', 'EXECUTE'),
          'sales moves leads');
SELECT ok(NOT has_table_privilege('tap_sales', 'lead_funnel.stage_event', 'UPDATE')
          AND NOT has_table_privilege('tap_sales', 'lead_funnel.stage_event', 'DELETE')
          AND NOT has_table_privilege('tap_sales', 'lead_funnel.stage_event', 'INSERT'),
          'sales cannot rewrite history');
SELECT ok(NOT has_table_privilege('tap_sales', 'lead_funnel.transition', 'UPDATE'), 'sales cannot edit the graph');
SELECT ok(NOT has_table_privilege('tap_marketing', 'lead_funnel.transition', 'INSERT')
          AND NOT has_table_privilege('tap_marketing', 'lead_funnel.transition', 'UPDATE'),
          'marketing cannot edit the graph');
SELECT ok(NOT has_function_privilege('tap_marketing', 'lead_funnel.move(text, lead_funnel.stage, text, text, timestamptz, text, text)', 'EXECUTE'),
          'marketing does not move leads by hand');
-- marketing adds models and event types (the restore trigger runs as marketing)
SET ROLE tap_marketing;
SELECT lives_ok($$INSERT INTO lead_funnel.scoring_model VALUES ('tap_model', '21 days', 65, false)$$,
                'marketing inserts a scoring model');
SELECT lives_ok($$INSERT INTO lead_funnel.event_type VALUES ('tap_fair', true)$$,
                'marketing inserts an event type');
RESET ROLE;
SELECT throws_ok($$SELECT lead_funnel.grant_reader(NULL)$$, '22004', 'role must not be null', 'grant_reader(NULL) fails clearly');
SELECT throws_ok($$SELECT lead_funnel.grant_reader(0)$$, '42704', 'role with OID 0 does not exist',
                 'grant_reader(0) fails clearly');
CREATE ROLE "TAP BI Reader";
CREATE ROLE "TAP_Vertrieb";
SELECT lead_funnel.grant_reader('"TAP BI Reader"');
SELECT lead_funnel.grant_sales('"TAP_Vertrieb"');
SELECT ok(has_table_privilege('TAP BI Reader', 'lead_funnel.lead', 'SELECT')
          AND has_table_privilege('TAP BI Reader', 'lead_funnel.kpi_funnel', 'SELECT'),
          'a reader whose name needs quoting reads lead and the views');
SELECT ok(has_function_privilege('TAP_Vertrieb', 'lead_funnel.move(text, lead_funnel.stage, text, text, timestamptz, text, text)', 'EXECUTE'),
          'sales whose name needs quoting moves leads');

SELECT * FROM finish();
ROLLBACK;
