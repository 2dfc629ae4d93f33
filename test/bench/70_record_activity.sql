-- SPEC §11: record_activity vs the same in PL/pgSQL (>= 3x faster).
-- 20 000 leads, 60 000 activities per repetition, three repetitions, sides
-- alternated.  The PL/pgSQL baseline does the same work: points from the
-- engagement rules, the activity row, the lead row locked, the decayed sum
-- updated (numeric power of 2, rounded like decayed()).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lead_funnel;
DELETE FROM bench.sample WHERE name LIKE 'record_activity%';

-- the leads (bulk, past the ledger guard: this is a benchmark's data load),
-- on a clean slate: the same 20 000 leads on both sides, not the 1 000 000
-- the KPI bench leaves behind
ALTER TABLE lead_funnel.lead DISABLE TRIGGER lead_guard;
ALTER TABLE lead_funnel.activity DISABLE TRIGGER activity_guard;
TRUNCATE lead_funnel.lead, lead_funnel.activity;
ALTER TABLE lead_funnel.activity ENABLE TRIGGER activity_guard;
INSERT INTO lead_funnel.lead (lead_key, stage, stage_entered_at, created_at, prospect_at)
SELECT 'ra-' || i, 'prospect', '2026-01-01', '2026-01-01', '2026-01-01' FROM generate_series(1, 20000) i;
ALTER TABLE lead_funnel.lead ENABLE TRIGGER lead_guard;
DELETE FROM lead_funnel.scoring_rule WHERE model = 'default' AND dimension = 'engagement';
INSERT INTO lead_funnel.scoring_rule (model, dimension, event_type, points) VALUES
  ('default', 'engagement', 'email_open', 2), ('default', 'engagement', 'email_click', 5),
  ('default', 'engagement', 'webinar_attended', 20);

-- the baseline's own tables, same shape and indexes
DROP TABLE IF EXISTS bench.ra_lead, bench.ra_activity, bench.ra_rule;
CREATE TABLE bench.ra_lead (lead_key text PRIMARY KEY, engagement numeric NOT NULL DEFAULT 0,
                            engagement_as_of timestamptz);
INSERT INTO bench.ra_lead (lead_key) SELECT 'ra-' || i FROM generate_series(1, 20000) i;
CREATE TABLE bench.ra_rule (event_type text, points numeric);
INSERT INTO bench.ra_rule VALUES ('email_open', 2), ('email_click', 5), ('webinar_attended', 20);
CREATE TABLE bench.ra_activity (activity_id bigint GENERATED ALWAYS AS IDENTITY, lead_key text NOT NULL,
  event_type text NOT NULL REFERENCES lead_funnel.event_type, occurred_at timestamptz NOT NULL,
  campaign text, detail jsonb, points numeric NOT NULL, PRIMARY KEY (lead_key, activity_id));
CREATE INDEX ON bench.ra_activity (campaign, event_type) INCLUDE (lead_key) WHERE campaign IS NOT NULL;

CREATE OR REPLACE FUNCTION bench.record_activity_pl(k text, et text, at timestamptz,
                                                    camp text DEFAULT NULL, det jsonb DEFAULT NULL)
RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
  pts numeric;
  hl interval;
  cur record;
  e numeric;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM lead_funnel.event_type WHERE event_type = et) THEN
    RAISE EXCEPTION 'event type "%" does not exist', et;
  END IF;
  SELECT half_life INTO hl FROM lead_funnel.scoring_model WHERE model = 'default';
  SELECT coalesce(sum(points), 0) INTO pts FROM bench.ra_rule WHERE event_type = et;
  SELECT engagement, engagement_as_of INTO cur FROM bench.ra_lead WHERE lead_key = k FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'lead "%" does not exist', k;
  END IF;
  INSERT INTO bench.ra_activity (lead_key, event_type, occurred_at, campaign, detail, points)
  VALUES (k, et, at, camp, det, pts);
  IF cur.engagement_as_of IS NULL THEN
    e := pts;
  ELSIF at >= cur.engagement_as_of THEN
    e := round(cur.engagement * power(2::numeric, -(extract(epoch FROM at - cur.engagement_as_of)
                                                  / extract(epoch FROM hl))::numeric), 10) + pts;
  ELSE
    e := cur.engagement + round(pts * power(2::numeric, -(extract(epoch FROM cur.engagement_as_of - at)
                                                        / extract(epoch FROM hl))::numeric), 10);
  END IF;
  UPDATE bench.ra_lead SET engagement = e, engagement_as_of = greatest(at, cur.engagement_as_of)
   WHERE lead_key = k;
  RETURN e;
END $$;

DROP TABLE IF EXISTS bench.ra_input;
CREATE TABLE bench.ra_input AS
SELECT 'ra-' || (1 + (i * 7919) % 20000) AS k,
       (ARRAY['email_open', 'email_click', 'webinar_attended'])[1 + i % 3] AS et,
       timestamptz '2026-02-01' + i * interval '1 minute' AS at
  FROM generate_series(1, 60000) i;
VACUUM ANALYZE bench.ra_input, bench.ra_lead, lead_funnel.lead;

CALL bench.measure('record_activity_vs_plpgsql', 'ours', 1,
  $$SELECT count(lead_funnel.record_activity(k, et, at)) FROM bench.ra_input$$);
CALL bench.measure('record_activity_vs_plpgsql', 'base', 1,
  $$SELECT count(bench.record_activity_pl(k, et, at)) FROM bench.ra_input$$);
CALL bench.measure('record_activity_vs_plpgsql', 'base', 2,
  $$SELECT count(bench.record_activity_pl(k, et, at + interval '60000 minutes')) FROM bench.ra_input$$);
CALL bench.measure('record_activity_vs_plpgsql', 'ours', 2,
  $$SELECT count(lead_funnel.record_activity(k, et, at + interval '60000 minutes')) FROM bench.ra_input$$);
CALL bench.measure('record_activity_vs_plpgsql', 'ours', 3,
  $$SELECT count(lead_funnel.record_activity(k, et, at + interval '120000 minutes')) FROM bench.ra_input$$);
CALL bench.measure('record_activity_vs_plpgsql', 'base', 3,
  $$SELECT count(bench.record_activity_pl(k, et, at + interval '120000 minutes')) FROM bench.ra_input$$);

-- both sides computed the same engagement
SELECT CASE WHEN count(*) = 0 THEN 'same engagement on both sides'
            ELSE 'DIFFERENT engagement: ' || count(*) END
  FROM lead_funnel.lead l JOIN bench.ra_lead r USING (lead_key)
 WHERE abs(l.engagement - r.engagement) > 0.000001;

SELECT bench.line('record_activity_vs_plpgsql', 'min', 3);
