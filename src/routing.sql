
----------------------------------------------------------------------------
-- routing between sales teams (src/routing.c)
----------------------------------------------------------------------------

-- The sales teams leads are routed to.  A config table: edited by users,
-- dumped by pg_dump, cached per backend (the team list behind the check of
-- team names given to move() and attached CRM tables).
CREATE TABLE @extschema@.team (
  team     text NOT NULL,
  capacity int NOT NULL,
  active   bool NOT NULL DEFAULT true,
  segments text[],
  CONSTRAINT team_pkey PRIMARY KEY (team),
  CONSTRAINT team_name_not_blank CHECK (pg_catalog.btrim(team) OPERATOR(pg_catalog.<>) ''),
  CONSTRAINT team_capacity_not_negative CHECK (capacity OPERATOR(pg_catalog.>=) 0),
  -- NULL serves every segment; an empty (or multi-dimensional) list would
  -- serve none, which is what active = false is for
  CONSTRAINT team_segments_not_empty CHECK (
    segments IS NULL
    OR COALESCE(pg_catalog.array_ndims(segments), 0) OPERATOR(pg_catalog.=) 1),
  CONSTRAINT team_segments_no_null CHECK (
    CASE WHEN pg_catalog.array_ndims(segments) OPERATOR(pg_catalog.=) 1
         THEN pg_catalog.array_position(segments, NULL) IS NULL
         ELSE true END)
);
COMMENT ON TABLE @extschema@.team IS
  'sales teams that leads are routed to, with their capacity in open leads and the segments they serve';
COMMENT ON COLUMN @extschema@.team.team IS 'team name (lead.team, move(team => ...))';
COMMENT ON COLUMN @extschema@.team.capacity IS
  'how many open leads (mql, sal, sql, opportunity) the team can work at once; 0 = counts as infinitely loaded: gets a lead only when every other candidate has capacity 0 as well';
COMMENT ON COLUMN @extschema@.team.active IS 'false: the team gets no new leads';
COMMENT ON COLUMN @extschema@.team.segments IS
  'segments the team serves (lead.segment); NULL = every segment, and the only teams that take leads without a segment';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.team', '');
CREATE TRIGGER team_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.team
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_config_changed();

-- A renamed team takes its leads along (lead.team); a team with open leads
-- cannot be deleted, and the table cannot be truncated while any open lead
-- has a team.
CREATE FUNCTION @extschema@.lf_team_changed() RETURNS trigger
  AS 'MODULE_PATHNAME', 'lf_team_changed'
  LANGUAGE C SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.lf_team_changed() IS
  'trigger: a renamed team takes its leads along (lead.team); a team that still has open leads cannot be deleted, nor the table truncated while open leads have a team';
REVOKE ALL ON FUNCTION @extschema@.lf_team_changed() FROM PUBLIC;
CREATE TRIGGER team_renamed AFTER UPDATE OF team ON @extschema@.team
  FOR EACH ROW EXECUTE FUNCTION @extschema@.lf_team_changed();
CREATE TRIGGER team_deleted BEFORE DELETE ON @extschema@.team
  FOR EACH ROW EXECUTE FUNCTION @extschema@.lf_team_changed();
CREATE TRIGGER team_truncated BEFORE TRUNCATE ON @extschema@.team
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_team_changed();

-- Every routing decision, append-only; written only by lead_funnel.  Keyed
-- by lead_key first, like stage_event, so that it can be distributed by
-- lead_key (SPEC §13).
CREATE TABLE @extschema@.assignment (
  assignment_id bigint GENERATED ALWAYS AS IDENTITY,
  lead_key      text COLLATE "C" NOT NULL,
  team          text NOT NULL,
  assigned_at   timestamptz NOT NULL,
  reason        text NOT NULL,
  CONSTRAINT assignment_pkey PRIMARY KEY (lead_key, assignment_id),
  CONSTRAINT assignment_reason_check CHECK (reason OPERATOR(pg_catalog.=) ANY
    (ARRAY['segment', 'overflow', 'over_capacity', 'sla_escalation', 'manual']::text[]))
);
COMMENT ON TABLE @extschema@.assignment IS
  'the routing ledger: every assignment of a lead to a team, written only by lead_funnel';
COMMENT ON COLUMN @extschema@.assignment.assignment_id IS 'assignment number; breaks ties of assigned_at';
COMMENT ON COLUMN @extschema@.assignment.lead_key IS 'the lead';
COMMENT ON COLUMN @extschema@.assignment.team IS 'team the lead was assigned to';
COMMENT ON COLUMN @extschema@.assignment.assigned_at IS
  'when: the time of the move that made the lead MQL when routed by move(), otherwise the transaction time';
COMMENT ON COLUMN @extschema@.assignment.reason IS
  'segment (a team serving the lead''s segment had room), overflow (another team had room), over_capacity (every team was full), sla_escalation (rerouted by the SLA sweep), manual';
-- the last assignment of each team: "least recently assigned" tie-break
CREATE INDEX assignment_team_recent_idx
  ON @extschema@.assignment (team, assigned_at, assignment_id);
CREATE TRIGGER assignment_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON @extschema@.assignment FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_ledger_guard();

-- Open load of a team = its leads in open stages (lead.open_team).  Routing
-- counts it on this partial index (an index-only scan once the visibility map
-- is set), and counts at most "capacity" entries per team unless every team
-- is full.  (Leads that are not open in a team have no entry: a move between
-- open stages changes no indexed column, and the move path does not pay for
-- an index entry of every unrouted lead.)
CREATE INDEX lead_open_team_idx ON @extschema@.lead (open_team) WHERE open_team IS NOT NULL;

CREATE FUNCTION @extschema@.route(lead_key text, exclude_team text DEFAULT NULL)
  RETURNS text
  AS 'MODULE_PATHNAME', 'lf_route_fn'
  LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.route(text, text) IS
  'route a lead to a team: the active team serving its segment with the lowest load/capacity, else overflow, else the least loaded; records an assignment and sets lead.team; NULL when no active team is left';

-- grant_sales() grants route()
REVOKE ALL ON FUNCTION @extschema@.route(text, text) FROM PUBLIC;
