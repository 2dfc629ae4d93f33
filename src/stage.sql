\echo Use "CREATE EXTENSION lead_funnel" to load this file. \quit

-- lead_funnel install script, assembled from src/*.sql by the Makefile.
-- Every function that runs SQL or looks up names has a fixed search_path;
-- the extension's own objects are written @extschema@.name and built-in
-- operators are schema-qualified in views and SQL bodies.  The C functions
-- that are pure functions of their arguments (the stage type's support
-- functions, decayed) look up nothing and have no SET clause, like the
-- built-in types: a SET clause saves and restores the GUCs on every call
-- (measured: `stage = 'sal'` over 1 000 000 rows 12x slower with it) and
-- keeps the planner from treating the call as a plain operator.

COMMENT ON SCHEMA @extschema@ IS
  'lead_funnel: B2B lead funnel, handover agreement, SLA clocks, routing, scoring and KPIs';

----------------------------------------------------------------------------
-- stage type (src/stage.c)
----------------------------------------------------------------------------

CREATE TYPE @extschema@.stage;

CREATE FUNCTION @extschema@.stage_in(cstring) RETURNS @extschema@.stage
  AS 'MODULE_PATHNAME', 'lf_stage_in'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.stage_out(@extschema@.stage) RETURNS cstring
  AS 'MODULE_PATHNAME', 'lf_stage_out'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.stage_recv(internal) RETURNS @extschema@.stage
  AS 'MODULE_PATHNAME', 'lf_stage_recv'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.stage_send(@extschema@.stage) RETURNS bytea
  AS 'MODULE_PATHNAME', 'lf_stage_send'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.stage (
  INPUT = @extschema@.stage_in,
  OUTPUT = @extschema@.stage_out,
  RECEIVE = @extschema@.stage_recv,
  SEND = @extschema@.stage_send,
  INTERNALLENGTH = 1,
  PASSEDBYVALUE,
  ALIGNMENT = char,
  STORAGE = plain
);
COMMENT ON TYPE @extschema@.stage IS
  'stage of a lead: prospect, mql, sal, sql, opportunity, customer (funnel order), recycled, disqualified, lost';

-- comparison
CREATE FUNCTION @extschema@.stage_eq(@extschema@.stage, @extschema@.stage) RETURNS bool
  AS 'MODULE_PATHNAME', 'lf_stage_eq'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.stage_ne(@extschema@.stage, @extschema@.stage) RETURNS bool
  AS 'MODULE_PATHNAME', 'lf_stage_ne'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.stage_lt(@extschema@.stage, @extschema@.stage) RETURNS bool
  AS 'MODULE_PATHNAME', 'lf_stage_lt'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.stage_le(@extschema@.stage, @extschema@.stage) RETURNS bool
  AS 'MODULE_PATHNAME', 'lf_stage_le'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.stage_gt(@extschema@.stage, @extschema@.stage) RETURNS bool
  AS 'MODULE_PATHNAME', 'lf_stage_gt'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.stage_ge(@extschema@.stage, @extschema@.stage) RETURNS bool
  AS 'MODULE_PATHNAME', 'lf_stage_ge'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.stage_cmp(@extschema@.stage, @extschema@.stage) RETURNS int
  AS 'MODULE_PATHNAME', 'lf_stage_cmp'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.stage_hash(@extschema@.stage) RETURNS int
  AS 'MODULE_PATHNAME', 'lf_stage_hash'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.stage_hash_extended(@extschema@.stage, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'lf_stage_hash_extended'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

COMMENT ON FUNCTION @extschema@.stage_cmp(@extschema@.stage, @extschema@.stage) IS
  'btree support: -1, 0 or 1 in funnel order';

CREATE OPERATOR @extschema@.= (
  LEFTARG = @extschema@.stage, RIGHTARG = @extschema@.stage,
  FUNCTION = @extschema@.stage_eq, COMMUTATOR = OPERATOR(@extschema@.=),
  NEGATOR = OPERATOR(@extschema@.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
  HASHES, MERGES);
CREATE OPERATOR @extschema@.<> (
  LEFTARG = @extschema@.stage, RIGHTARG = @extschema@.stage,
  FUNCTION = @extschema@.stage_ne, COMMUTATOR = OPERATOR(@extschema@.<>),
  NEGATOR = OPERATOR(@extschema@.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR @extschema@.< (
  LEFTARG = @extschema@.stage, RIGHTARG = @extschema@.stage,
  FUNCTION = @extschema@.stage_lt, COMMUTATOR = OPERATOR(@extschema@.>),
  NEGATOR = OPERATOR(@extschema@.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR @extschema@.<= (
  LEFTARG = @extschema@.stage, RIGHTARG = @extschema@.stage,
  FUNCTION = @extschema@.stage_le, COMMUTATOR = OPERATOR(@extschema@.>=),
  NEGATOR = OPERATOR(@extschema@.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR @extschema@.> (
  LEFTARG = @extschema@.stage, RIGHTARG = @extschema@.stage,
  FUNCTION = @extschema@.stage_gt, COMMUTATOR = OPERATOR(@extschema@.<),
  NEGATOR = OPERATOR(@extschema@.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR @extschema@.>= (
  LEFTARG = @extschema@.stage, RIGHTARG = @extschema@.stage,
  FUNCTION = @extschema@.stage_ge, COMMUTATOR = OPERATOR(@extschema@.<=),
  NEGATOR = OPERATOR(@extschema@.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS @extschema@.stage_ops
  DEFAULT FOR TYPE @extschema@.stage USING btree AS
    OPERATOR 1 @extschema@.<,
    OPERATOR 2 @extschema@.<=,
    OPERATOR 3 @extschema@.=,
    OPERATOR 4 @extschema@.>=,
    OPERATOR 5 @extschema@.>,
    FUNCTION 1 @extschema@.stage_cmp(@extschema@.stage, @extschema@.stage);

CREATE OPERATOR CLASS @extschema@.stage_hash_ops
  DEFAULT FOR TYPE @extschema@.stage USING hash AS
    OPERATOR 1 @extschema@.=,
    FUNCTION 1 @extschema@.stage_hash(@extschema@.stage),
    FUNCTION 2 @extschema@.stage_hash_extended(@extschema@.stage, bigint);

-- max() and min() in funnel order
CREATE FUNCTION @extschema@.stage_larger(@extschema@.stage, @extschema@.stage) RETURNS @extschema@.stage
  AS 'MODULE_PATHNAME', 'lf_stage_larger'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.stage_smaller(@extschema@.stage, @extschema@.stage) RETURNS @extschema@.stage
  AS 'MODULE_PATHNAME', 'lf_stage_smaller'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE @extschema@.max(@extschema@.stage) (
  SFUNC = @extschema@.stage_larger, STYPE = @extschema@.stage,
  SORTOP = OPERATOR(@extschema@.>), COMBINEFUNC = @extschema@.stage_larger, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.min(@extschema@.stage) (
  SFUNC = @extschema@.stage_smaller, STYPE = @extschema@.stage,
  SORTOP = OPERATOR(@extschema@.<), COMBINEFUNC = @extschema@.stage_smaller, PARALLEL = SAFE);
COMMENT ON FUNCTION @extschema@.stage_larger(@extschema@.stage, @extschema@.stage) IS 'the later of two stages';
COMMENT ON FUNCTION @extschema@.stage_smaller(@extschema@.stage, @extschema@.stage) IS 'the earlier of two stages';
COMMENT ON AGGREGATE @extschema@.max(@extschema@.stage) IS 'latest stage in funnel order';
COMMENT ON AGGREGATE @extschema@.min(@extschema@.stage) IS 'earliest stage in funnel order';

-- casts to and from text
CREATE FUNCTION @extschema@.stage(text) RETURNS @extschema@.stage
  AS 'MODULE_PATHNAME', 'lf_stage_from_text'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.text(@extschema@.stage) RETURNS text
  AS 'MODULE_PATHNAME', 'lf_stage_to_text'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (text AS @extschema@.stage) WITH FUNCTION @extschema@.stage(text) AS ASSIGNMENT;
CREATE CAST (@extschema@.stage AS text) WITH FUNCTION @extschema@.text(@extschema@.stage) AS ASSIGNMENT;
COMMENT ON FUNCTION @extschema@.stage(text) IS 'stage from its name or alias (cast text to stage)';
COMMENT ON FUNCTION @extschema@.text(@extschema@.stage) IS 'name of a stage (cast stage to text)';

-- functions of a stage
CREATE FUNCTION @extschema@.depth(@extschema@.stage) RETURNS int
  AS 'MODULE_PATHNAME', 'lf_stage_depth'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.depth(@extschema@.stage) IS
  'position of a stage in the funnel (prospect 1 .. customer 6); NULL for recycled, disqualified, lost';
CREATE FUNCTION @extschema@.label(@extschema@.stage) RETURNS text
  AS 'MODULE_PATHNAME', 'lf_stage_label'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.label(@extschema@.stage) IS
  'display label of a stage (Prospect, MQL, SAL, SQL, ...)';
CREATE FUNCTION @extschema@.is_open(@extschema@.stage) RETURNS bool
  AS 'MODULE_PATHNAME', 'lf_stage_is_open_fn'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.is_open(@extschema@.stage) IS
  'true for the stages in sales'' hands: mql, sal, sql, opportunity';
CREATE FUNCTION @extschema@.all_stages() RETURNS SETOF @extschema@.stage
  AS 'MODULE_PATHNAME', 'lf_stage_all'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 9;
COMMENT ON FUNCTION @extschema@.all_stages() IS 'every stage, in sort order';

CREATE VIEW @extschema@.stages AS
  SELECT s AS stage,
         @extschema@.depth(s) AS depth,
         @extschema@.label(s) AS label,
         @extschema@.is_open(s) AS is_open
    FROM @extschema@.all_stages() AS s;
COMMENT ON VIEW @extschema@.stages IS 'every stage with its depth, label and whether it is open (in sales'' hands)';
COMMENT ON COLUMN @extschema@.stages.stage IS 'the stage';
COMMENT ON COLUMN @extschema@.stages.depth IS 'position in the funnel, 1..6; NULL off the funnel';
COMMENT ON COLUMN @extschema@.stages.label IS 'display label';
COMMENT ON COLUMN @extschema@.stages.is_open IS 'true for mql, sal, sql, opportunity';

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT USAGE ON TYPE @extschema@.stage TO PUBLIC;
