-- pgTAP: the stage type's catalog shape
BEGIN;
CREATE EXTENSION lead_funnel;
SELECT plan(17);

SELECT has_schema('lead_funnel');
SELECT has_type('lead_funnel', 'stage', 'type stage exists');
SELECT is((SELECT typlen FROM pg_type WHERE oid = 'lead_funnel.stage'::regtype), 1::int2,
          'stage is one byte long');
SELECT ok((SELECT typbyval FROM pg_type WHERE oid = 'lead_funnel.stage'::regtype),
          'stage is passed by value');
SELECT has_operator('lead_funnel.stage', 'lead_funnel', '=', 'lead_funnel.stage', 'boolean', 'operator = on stage');
SELECT has_operator('lead_funnel.stage', 'lead_funnel', '<>', 'lead_funnel.stage', 'boolean', 'operator <> on stage');
SELECT has_operator('lead_funnel.stage', 'lead_funnel', '<', 'lead_funnel.stage', 'boolean', 'operator < on stage');
SELECT has_operator('lead_funnel.stage', 'lead_funnel', '<=', 'lead_funnel.stage', 'boolean', 'operator <= on stage');
SELECT has_operator('lead_funnel.stage', 'lead_funnel', '>', 'lead_funnel.stage', 'boolean', 'operator > on stage');
SELECT has_operator('lead_funnel.stage', 'lead_funnel', '>=', 'lead_funnel.stage', 'boolean', 'operator >= on stage');
SELECT has_opclass('lead_funnel', 'stage_ops', 'btree operator class');
SELECT has_opclass('lead_funnel', 'stage_hash_ops', 'hash operator class');
SELECT ok((SELECT oprcanhash AND oprcanmerge FROM pg_operator
            WHERE oprname = '=' AND oprleft = 'lead_funnel.stage'::regtype),
          '= supports hash and merge joins');
SELECT has_view('lead_funnel', 'stages', 'view stages exists');
SELECT columns_are('lead_funnel', 'stages', ARRAY['stage', 'depth', 'label', 'is_open']);
SELECT is((SELECT count(*)::int FROM lead_funnel.stages WHERE is_open), 4, 'four open stages');
SELECT ok(has_type_privilege('public', 'lead_funnel.stage', 'USAGE'),
          'PUBLIC may use the stage type');

SELECT * FROM finish();
ROLLBACK;
