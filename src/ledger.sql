
----------------------------------------------------------------------------
-- the agreement and the ledger (src/ledger.c)
----------------------------------------------------------------------------

-- The transition graph: which moves the agreement between marketing and sales
-- allows.  A row with from_stage NULL lets a new lead enter at to_stage.
CREATE TABLE @extschema@.transition (
  from_stage      @extschema@.stage,
  to_stage        @extschema@.stage NOT NULL,
  requires_reason bool NOT NULL DEFAULT false,
  CONSTRAINT transition_from_to_key UNIQUE NULLS NOT DISTINCT (from_stage, to_stage),
  CONSTRAINT transition_not_to_itself CHECK (from_stage IS NULL OR from_stage OPERATOR(@extschema@.<>) to_stage)
);
COMMENT ON TABLE @extschema@.transition IS
  'the agreed transition graph: allowed moves between stages; from_stage NULL = entry of a new lead';
COMMENT ON COLUMN @extschema@.transition.from_stage IS 'stage the lead is in; NULL for a new lead';
COMMENT ON COLUMN @extschema@.transition.to_stage IS 'stage the lead may move to';
COMMENT ON COLUMN @extschema@.transition.requires_reason IS 'true when the move must give a reason';

INSERT INTO @extschema@.transition (from_stage, to_stage, requires_reason) VALUES
  (NULL, 'prospect', false), (NULL, 'mql', false), (NULL, 'sal', false),
  (NULL, 'sql', false), (NULL, 'customer', false),
  ('prospect', 'mql', false), ('prospect', 'disqualified', false),
  ('mql', 'sal', false), ('mql', 'recycled', true), ('mql', 'disqualified', true),
  ('sal', 'sql', false), ('sal', 'recycled', true), ('sal', 'disqualified', true),
  ('sql', 'opportunity', false), ('sql', 'recycled', true), ('sql', 'disqualified', true),
  ('opportunity', 'customer', false), ('opportunity', 'lost', true),
  ('lost', 'recycled', false),
  ('recycled', 'mql', false), ('recycled', 'disqualified', false),
  ('customer', 'opportunity', false);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.transition', '');
CREATE TRIGGER transition_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.transition
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_config_changed();

-- The ledger: every transition of every lead, append-only.  Keyed by lead_key
-- first so that it can be distributed by lead_key (SPEC §13).  Within a lead,
-- occurred_at never decreases (moves of one lead are serialized and checked
-- for time order); event_id breaks ties and is not needed to be global.
CREATE TABLE @extschema@.stage_event (
  event_id    bigint GENERATED ALWAYS AS IDENTITY,
  lead_key    text COLLATE "C" NOT NULL,
  from_stage  @extschema@.stage,
  to_stage    @extschema@.stage NOT NULL,
  occurred_at timestamptz NOT NULL,
  actor       text,
  team        text,
  reason      text,
  source      text NOT NULL,
  CONSTRAINT stage_event_pkey PRIMARY KEY (lead_key, event_id)
);
COMMENT ON TABLE @extschema@.stage_event IS
  'the ledger: append-only history of every stage transition, written only by lead_funnel';
COMMENT ON COLUMN @extschema@.stage_event.event_id IS 'event number; increases with time within a lead';
COMMENT ON COLUMN @extschema@.stage_event.lead_key IS 'the lead';
COMMENT ON COLUMN @extschema@.stage_event.from_stage IS 'stage before the move; NULL when the lead entered';
COMMENT ON COLUMN @extschema@.stage_event.to_stage IS 'stage after the move';
COMMENT ON COLUMN @extschema@.stage_event.occurred_at IS 'when the move happened';
COMMENT ON COLUMN @extschema@.stage_event.actor IS 'who moved the lead (a user, scoring, sla, backfill)';
COMMENT ON COLUMN @extschema@.stage_event.team IS 'team responsible for the lead after the move';
COMMENT ON COLUMN @extschema@.stage_event.reason IS 'reason given for the move';
COMMENT ON COLUMN @extschema@.stage_event.source IS 'where the move came from: move, crm:<table>, backfill, scoring, sla';

-- Current state of every lead.  The *_at columns hold the first time the lead
-- reached that stage.
CREATE TABLE @extschema@.lead (
  lead_key             text COLLATE "C" NOT NULL,
  stage                @extschema@.stage NOT NULL,
  stage_entered_at     timestamptz NOT NULL,
  owner                text,
  team                 text,
  campaign             text,
  segment              text,
  is_existing_customer bool NOT NULL DEFAULT false,
  created_at           timestamptz NOT NULL,
  prospect_at          timestamptz,
  mql_at               timestamptz,
  sal_at               timestamptz,
  sql_at               timestamptz,
  opportunity_at       timestamptz,
  customer_at          timestamptz,
  recycled_count       int NOT NULL DEFAULT 0,
  last_recycled_at     timestamptz,
  disqualified_at      timestamptz,
  lost_at              timestamptz,
  sla_due_at           timestamptz,
  fit_score            numeric,
  engagement           numeric NOT NULL DEFAULT 0,
  engagement_as_of     timestamptz,
  open_team            text GENERATED ALWAYS AS
                         (CASE WHEN stage OPERATOR(@extschema@.=) ANY ('{mql,sal,sql,opportunity}'::@extschema@.stage[])
                               THEN team END) STORED,
  CONSTRAINT lead_pkey PRIMARY KEY (lead_key)
) WITH (fillfactor = 40);
-- A move writes a new version of the lead's row.  No indexed column changes
-- (the primary key, and open_team, which changes only when the lead enters or
-- leaves the open stages), so the new version is a HOT update on the same page
-- when the page has room: 60 % of each page is left free, enough for a status
-- change of every lead in one statement, also when the move makes the row
-- longer (a first-reached time and a due time set); the old versions are
-- pruned later.  (At 50 % one lead in ten of such a statement did not fit.)
-- The SLA clock's due time is indexed in sla_clock, not here.
COMMENT ON TABLE @extschema@.lead IS
  'current state of every lead, one row per lead, maintained by lead_funnel';
COMMENT ON COLUMN @extschema@.lead.lead_key IS 'the lead (CRM key as text, with the attachment''s key_prefix)';
COMMENT ON COLUMN @extschema@.lead.stage IS 'current stage';
COMMENT ON COLUMN @extschema@.lead.stage_entered_at IS 'when the lead entered its current stage (time of its last event)';
COMMENT ON COLUMN @extschema@.lead.owner IS 'owner in the CRM';
COMMENT ON COLUMN @extschema@.lead.team IS 'sales team responsible for the lead';
COMMENT ON COLUMN @extschema@.lead.campaign IS 'campaign that brought the lead';
COMMENT ON COLUMN @extschema@.lead.segment IS 'segment used for routing';
COMMENT ON COLUMN @extschema@.lead.is_existing_customer IS 'true when the lead was a customer before and came back (customer -> opportunity)';
COMMENT ON COLUMN @extschema@.lead.created_at IS 'when the lead entered the funnel';
COMMENT ON COLUMN @extschema@.lead.prospect_at IS 'first time the lead was a prospect';
COMMENT ON COLUMN @extschema@.lead.mql_at IS 'first time the lead became MQL (handed over to sales)';
COMMENT ON COLUMN @extschema@.lead.sal_at IS 'first time the lead was accepted by sales';
COMMENT ON COLUMN @extschema@.lead.sql_at IS 'first time the lead became sales qualified';
COMMENT ON COLUMN @extschema@.lead.opportunity_at IS 'first time the lead became an opportunity';
COMMENT ON COLUMN @extschema@.lead.customer_at IS 'first time the lead became a customer';
COMMENT ON COLUMN @extschema@.lead.recycled_count IS 'how often the lead was sent back to marketing';
COMMENT ON COLUMN @extschema@.lead.last_recycled_at IS 'last time the lead was sent back to marketing';
COMMENT ON COLUMN @extschema@.lead.disqualified_at IS 'first time the lead was disqualified';
COMMENT ON COLUMN @extschema@.lead.lost_at IS 'first time the lead was lost';
COMMENT ON COLUMN @extschema@.lead.sla_due_at IS 'when the SLA of the current stage expires; NULL when no SLA runs';
COMMENT ON COLUMN @extschema@.lead.fit_score IS 'fit score from the lead''s attributes';
COMMENT ON COLUMN @extschema@.lead.engagement IS 'engagement score as of engagement_as_of (decays with the model''s half-life)';
COMMENT ON COLUMN @extschema@.lead.engagement_as_of IS 'instant the engagement value refers to';
COMMENT ON COLUMN @extschema@.lead.open_team IS
  'the team while the lead is open (mql, sal, sql, opportunity), else NULL: what routing counts as a team''s load (generated)';

-- Violations recorded by attached CRM tables with on_invalid = record.
CREATE TABLE @extschema@.violation (
  violation_id bigint GENERATED ALWAYS AS IDENTITY,
  lead_key     text COLLATE "C" NOT NULL,
  crm_table    text NOT NULL,
  crm_status   text,
  from_stage   @extschema@.stage,
  to_stage     @extschema@.stage,
  occurred_at  timestamptz NOT NULL,
  sqlstate     text NOT NULL,
  message      text NOT NULL,
  CONSTRAINT violation_pkey PRIMARY KEY (lead_key, violation_id)
);
COMMENT ON TABLE @extschema@.violation IS
  'status changes of attached CRM tables that broke the agreement and were let through (on_invalid = record)';
COMMENT ON COLUMN @extschema@.violation.violation_id IS 'violation number';
COMMENT ON COLUMN @extschema@.violation.lead_key IS 'the lead';
COMMENT ON COLUMN @extschema@.violation.crm_table IS 'the attached CRM table';
COMMENT ON COLUMN @extschema@.violation.crm_status IS 'the CRM status written';
COMMENT ON COLUMN @extschema@.violation.from_stage IS 'stage the lead was in';
COMMENT ON COLUMN @extschema@.violation.to_stage IS 'stage the CRM status maps to (NULL when unmapped)';
COMMENT ON COLUMN @extschema@.violation.occurred_at IS 'when it happened';
COMMENT ON COLUMN @extschema@.violation.sqlstate IS 'SQLSTATE of the error the write would have raised';
COMMENT ON COLUMN @extschema@.violation.message IS 'message of that error';

-- Deals, written when a lead becomes customer (amount from the attached CRM
-- column) or by record_deal().
CREATE TABLE @extschema@.deal (
  deal_id              bigint GENERATED ALWAYS AS IDENTITY,
  lead_key             text COLLATE "C" NOT NULL,
  amount               numeric NOT NULL,
  won_at               timestamptz NOT NULL,
  is_existing_customer bool NOT NULL,
  CONSTRAINT deal_pkey PRIMARY KEY (lead_key, deal_id),
  CONSTRAINT deal_amount_check CHECK (amount >= 0)
);
COMMENT ON TABLE @extschema@.deal IS 'won deals with their value';
COMMENT ON COLUMN @extschema@.deal.deal_id IS 'deal number';
COMMENT ON COLUMN @extschema@.deal.lead_key IS 'the lead (customer)';
COMMENT ON COLUMN @extschema@.deal.amount IS 'deal value';
COMMENT ON COLUMN @extschema@.deal.won_at IS 'when the deal was won';
COMMENT ON COLUMN @extschema@.deal.is_existing_customer IS 'true when the lead was already a customer before this deal (existing business)';
CREATE INDEX deal_won_at_idx ON @extschema@.deal (won_at);

-- Only lead_funnel writes the ledger.
CREATE TRIGGER stage_event_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON @extschema@.stage_event FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_ledger_guard();
CREATE TRIGGER lead_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON @extschema@.lead FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_ledger_guard();
CREATE TRIGGER violation_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON @extschema@.violation FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_ledger_guard();
CREATE TRIGGER deal_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON @extschema@.deal FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_ledger_guard();

-- moving a lead: the one core path
CREATE FUNCTION @extschema@.move(lead_key text, to_stage @extschema@.stage,
                                 reason text DEFAULT NULL,
                                 actor text DEFAULT current_user,
                                 occurred_at timestamptz DEFAULT now(),
                                 team text DEFAULT NULL,
                                 campaign text DEFAULT NULL)
  RETURNS @extschema@.stage_event
  AS 'MODULE_PATHNAME', 'lf_move'
  LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.move(text, @extschema@.stage, text, text, timestamptz, text, text) IS
  'move a lead to a stage: validated against the transition graph, recorded in the ledger; NULL when the lead is already there';

CREATE FUNCTION @extschema@.record_deal(lead_key text, amount numeric,
                                        won_at timestamptz DEFAULT now())
  RETURNS @extschema@.deal
  AS 'MODULE_PATHNAME', 'lf_record_deal'
  LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.record_deal(text, numeric, timestamptz) IS
  'record a won deal of a lead that is a customer; existing business when the lead was a customer before';

-- time travel
-- SECURITY DEFINER: readers see the stage history through these two, not
-- the ledger itself (bodies are parsed at creation: nothing is looked up by
-- name when they run)
CREATE FUNCTION @extschema@.stage_at(lead_key text, at timestamptz)
  RETURNS @extschema@.stage
  LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  BEGIN ATOMIC
    SELECT e.to_stage FROM @extschema@.stage_event AS e
     WHERE e.lead_key OPERATOR(pg_catalog.=) stage_at.lead_key
       AND e.occurred_at OPERATOR(pg_catalog.<=) stage_at.at
     ORDER BY e.occurred_at DESC, e.event_id DESC LIMIT 1;
  END;
COMMENT ON FUNCTION @extschema@.stage_at(text, timestamptz) IS
  'stage of a lead at an instant, from the ledger; NULL before the lead existed';

CREATE FUNCTION @extschema@.funnel_at(at timestamptz)
  RETURNS TABLE (stage @extschema@.stage, leads bigint)
  LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  BEGIN ATOMIC
    SELECT s.stage, pg_catalog.count(l.lead_key)
      FROM @extschema@.all_stages() AS s(stage)
      LEFT JOIN (SELECT DISTINCT ON (e.lead_key) e.lead_key, e.to_stage
                   FROM @extschema@.stage_event AS e
                  WHERE e.occurred_at OPERATOR(pg_catalog.<=) funnel_at.at
                  ORDER BY e.lead_key, e.occurred_at DESC, e.event_id DESC) AS l
        ON l.to_stage OPERATOR(@extschema@.=) s.stage
     GROUP BY s.stage
     ORDER BY s.stage;
  END;
COMMENT ON FUNCTION @extschema@.funnel_at(timestamptz) IS
  'the funnel as it stood at an instant: leads per stage, from the ledger';

-- nothing but the stage type is for PUBLIC: grant_sales() grants move()
REVOKE ALL ON FUNCTION @extschema@.move(text, @extschema@.stage, text, text, timestamptz, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.record_deal(text, numeric, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.stage_at(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.funnel_at(timestamptz) FROM PUBLIC;
