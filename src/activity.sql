
----------------------------------------------------------------------------
-- activities and engagement (src/activity.c)
----------------------------------------------------------------------------

-- Marketing and sales activities of leads, append-only; written only by
-- record_activity().  points = what the activity earned under the scoring
-- rules in force when it was recorded (so later rule edits do not rewrite
-- history).
CREATE TABLE @extschema@.activity (
  activity_id bigint GENERATED ALWAYS AS IDENTITY,
  lead_key    text COLLATE "C" NOT NULL,
  event_type  text NOT NULL,
  occurred_at timestamptz NOT NULL,
  campaign    text,
  detail      jsonb,
  points      numeric NOT NULL DEFAULT 0,
  CONSTRAINT activity_pkey PRIMARY KEY (lead_key, activity_id)
);
-- (no foreign key to event_type: record_activity() checks the type against
-- its cache, and an event type may be retired while its history stays)
COMMENT ON TABLE @extschema@.activity IS
  'activities of leads (emails, webinars, forms, meetings, ...), written only by record_activity()';
COMMENT ON COLUMN @extschema@.activity.activity_id IS 'activity number';
COMMENT ON COLUMN @extschema@.activity.lead_key IS 'the lead';
COMMENT ON COLUMN @extschema@.activity.event_type IS 'kind of activity (lead_funnel.event_type)';
COMMENT ON COLUMN @extschema@.activity.occurred_at IS 'when it happened';
COMMENT ON COLUMN @extschema@.activity.campaign IS 'campaign it belongs to';
COMMENT ON COLUMN @extschema@.activity.detail IS 'anything else worth keeping (jsonb)';
COMMENT ON COLUMN @extschema@.activity.points IS 'engagement points it earned under the rules in force when it was recorded';
-- One index per activity in the common case: the primary key serves every
-- per-lead lookup (a lead has few activities; engagement_at and
-- kpi_after_sales filter them by time), and activities without a campaign
-- are not in the campaign index.
CREATE INDEX activity_campaign_idx ON @extschema@.activity (campaign, event_type) INCLUDE (lead_key)
  WHERE campaign IS NOT NULL;
CREATE TRIGGER activity_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON @extschema@.activity FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_ledger_guard();

CREATE FUNCTION @extschema@.record_activity(lead_key text, event_type text,
                                            occurred_at timestamptz DEFAULT now(),
                                            campaign text DEFAULT NULL,
                                            detail jsonb DEFAULT NULL)
  RETURNS numeric
  AS 'MODULE_PATHNAME', 'lf_record_activity'
  LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.record_activity(text, text, timestamptz, text, jsonb) IS
  'record an activity of a lead and update its decayed engagement in O(1); returns the engagement as of the lead''s latest activity; with auto_mql a prospect or recycled lead reaching the threshold becomes MQL';

CREATE FUNCTION @extschema@.engagement_at(lead_key text, at timestamptz DEFAULT now())
  RETURNS numeric
  AS 'MODULE_PATHNAME', 'lf_engagement_at'
  LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.engagement_at(text, timestamptz) IS
  'engagement of a lead at an instant: the sum of its activities'' points, each halved every half-life';

CREATE FUNCTION @extschema@.score(lead_key text)
  RETURNS numeric
  LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
  BEGIN ATOMIC
    SELECT COALESCE(l.fit_score, 0) OPERATOR(pg_catalog.+) @extschema@.engagement_at(l.lead_key, pg_catalog.now())
      FROM @extschema@.lead AS l WHERE l.lead_key OPERATOR(pg_catalog.=) score.lead_key;
  END;
COMMENT ON FUNCTION @extschema@.score(text) IS 'score of a lead now: fit score plus engagement now; NULL for an unknown lead';

REVOKE ALL ON FUNCTION @extschema@.record_activity(text, text, timestamptz, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.engagement_at(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.score(text) FROM PUBLIC;
