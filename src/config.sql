
----------------------------------------------------------------------------
-- shared trigger functions (src/module.c)
----------------------------------------------------------------------------

-- Every config table has this as an AFTER ... FOR EACH STATEMENT trigger: it
-- invalidates the per-backend caches built from the table in every session.
CREATE FUNCTION @extschema@.lf_config_changed() RETURNS trigger
  AS 'MODULE_PATHNAME', 'lf_config_changed'
  LANGUAGE C SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.lf_config_changed() IS
  'trigger: invalidates the cached copies of a config table in every session';

-- Every ledger table has this as a BEFORE ... FOR EACH STATEMENT trigger: only
-- the extension's own code may write the ledger.
CREATE FUNCTION @extschema@.lf_ledger_guard() RETURNS trigger
  AS 'MODULE_PATHNAME', 'lf_ledger_guard'
  LANGUAGE C;	-- no SET: it runs before every ledger statement and looks up no name
COMMENT ON FUNCTION @extschema@.lf_ledger_guard() IS
  'trigger: rejects writes to ledger tables that do not come from lead_funnel itself';
REVOKE ALL ON FUNCTION @extschema@.lf_config_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.lf_ledger_guard() FROM PUBLIC;
