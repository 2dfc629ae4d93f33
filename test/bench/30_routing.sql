-- Routing: 10 000 route() calls with 10 000 open leads in the database
-- ('base') vs with 1 000 000 open leads ('ours'); target ratio <= 1.5.
--
-- Open load is counted on the partial index lead_open_team_idx, and at most
-- up to a team's capacity while some team has room, so a route costs the
-- number of active teams plus the (bounded) load of the teams it counts, not
-- the number of open leads.  The scenario: the three example teams plus 20
-- regional segment teams that hold the bulk of the open leads.  The routed
-- leads (1 000 MQLs without a segment, each routed 10 times) are served by
-- nord and sued (segments NULL), which always have room; every active team
-- is locked by every route, the segment teams are not counted.
--
-- The two sides cannot alternate: the 990 000 extra open leads are loaded
-- between them (as superuser, with the lead table's write guard disabled for
-- the bulk insert).  Three repetitions per side, median.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lead_funnel;
DELETE FROM bench.sample WHERE name LIKE 'routing%';

-- a clean slate (the trigger bench leaves 1 200 000 leads in lead)
ALTER TABLE lead_funnel.lead DISABLE TRIGGER lead_guard;
ALTER TABLE lead_funnel.assignment DISABLE TRIGGER assignment_guard;
TRUNCATE lead_funnel.lead, lead_funnel.assignment;
DELETE FROM lead_funnel.team;
INSERT INTO lead_funnel.team (team, capacity, segments) VALUES
  ('nord', 2000, NULL), ('sued', 2000, NULL), ('key_accounts', 60000, '{enterprise}');
INSERT INTO lead_funnel.team (team, capacity, segments)
  SELECT 'region_' || lpad(k::text, 2, '0'), 60000, ARRAY['seg_' || k] FROM generate_series(1, 20) AS k;

-- open leads: the 1 000 routed ones (mql, in nord and sued), and the rest in
-- key_accounts and the regional teams, spread over the four open stages
CREATE OR REPLACE PROCEDURE bench.routing_leads(from_i int, to_i int)
LANGUAGE sql AS $$
  INSERT INTO lead_funnel.lead (lead_key, stage, stage_entered_at, team, segment, created_at, mql_at)
  SELECT 'rt:O-' || i,
         (ARRAY['mql', 'sal', 'sql', 'opportunity']::lead_funnel.stage[])[1 + i % 4],
         timestamptz '2026-01-01' + i * interval '1 second',
         CASE WHEN i % 21 = 0 THEN 'key_accounts' ELSE 'region_' || lpad((1 + i % 20)::text, 2, '0') END,
         CASE WHEN i % 21 = 0 THEN 'enterprise' ELSE 'seg_' || (1 + i % 20) END,
         timestamptz '2026-01-01', timestamptz '2026-01-01'
    FROM generate_series(from_i, to_i) AS i
$$;
INSERT INTO lead_funnel.lead (lead_key, stage, stage_entered_at, team, created_at, mql_at)
  SELECT 'rt:B-' || i, 'mql', timestamptz '2026-01-01', CASE WHEN i % 2 = 0 THEN 'nord' ELSE 'sued' END,
         timestamptz '2026-01-01', timestamptz '2026-01-01'
    FROM generate_series(1, 1000) AS i;
CALL bench.routing_leads(1, 9000);
ALTER TABLE lead_funnel.lead ENABLE TRIGGER lead_guard;
ALTER TABLE lead_funnel.assignment ENABLE TRIGGER assignment_guard;
VACUUM ANALYZE lead_funnel.lead, lead_funnel.assignment, lead_funnel.team;
SELECT 'open leads: ' || count(*) FROM lead_funnel.lead WHERE lead_funnel.is_open(stage);

-- 10 000 route() calls, one transaction per 10 (in one long transaction,
-- each lead's superseded versions would pile up in the index ranges being
-- counted); bench.measure() cannot commit, so this records its own time
CREATE OR REPLACE PROCEDURE bench.routing_run(name text, side text, rep int)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  FOR i IN 1..10000 LOOP
    PERFORM lead_funnel.route('rt:B-' || (1 + i % 1000));
    IF i % 10 = 0 THEN COMMIT; END IF;
  END LOOP;
  INSERT INTO bench.sample VALUES (name, side, rep, extract(epoch FROM clock_timestamp() - t0) * 1000);
END $$;

CALL bench.routing_run('routing_warmup', 'base', 0);
VACUUM ANALYZE lead_funnel.lead, lead_funnel.assignment;
CALL bench.routing_run('routing_10k_calls_1m_vs_10k_open_leads', 'base', 1);
CALL bench.routing_run('routing_10k_calls_1m_vs_10k_open_leads', 'base', 2);
CALL bench.routing_run('routing_10k_calls_1m_vs_10k_open_leads', 'base', 3);

-- 990 000 more open leads
ALTER TABLE lead_funnel.lead DISABLE TRIGGER lead_guard;
CALL bench.routing_leads(9001, 999000);
ALTER TABLE lead_funnel.lead ENABLE TRIGGER lead_guard;
VACUUM ANALYZE lead_funnel.lead, lead_funnel.assignment;
CHECKPOINT;
SELECT 'open leads: ' || count(*) FROM lead_funnel.lead WHERE lead_funnel.is_open(stage);

CALL bench.routing_run('routing_warmup', 'ours', 0);
VACUUM ANALYZE lead_funnel.lead, lead_funnel.assignment;
CALL bench.routing_run('routing_10k_calls_1m_vs_10k_open_leads', 'ours', 1);
CALL bench.routing_run('routing_10k_calls_1m_vs_10k_open_leads', 'ours', 2);
CALL bench.routing_run('routing_10k_calls_1m_vs_10k_open_leads', 'ours', 3);

-- where the routed leads went (every route found room in nord or sued)
SELECT 'assignments: ' || string_agg(team || ' ' || reason || ' ' || n, ', ' ORDER BY team, reason)
  FROM (SELECT team, reason, count(*) AS n FROM lead_funnel.assignment GROUP BY team, reason) s;

SELECT bench.line('routing_10k_calls_1m_vs_10k_open_leads', 'max', 1.5);
