
----------------------------------------------------------------------------
-- pg_dump and restore
----------------------------------------------------------------------------

-- The ledger tables are extension members: without registration pg_dump
-- would dump neither their rows nor their sequences.  (The config tables are
-- registered next to their definitions.)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_event_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.deal', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.deal_deal_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.violation', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.violation_violation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sla_breach', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sla_breach_breach_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sla_clock', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.assignment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.assignment_assignment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.activity', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.activity_activity_id_seq', '');

CREATE FUNCTION @extschema@.restoring() RETURNS bool
  AS 'MODULE_PATHNAME', 'lf_restoring_fn'
  LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.restoring() IS
  'internal: true while a superuser''s COPY FROM runs (pg_restore loading lead_funnel''s tables)';
REVOKE ALL ON FUNCTION @extschema@.restoring() FROM PUBLIC;

-- Config tables come with installed rows, which CREATE EXTENSION inserts
-- again when a dump is restored, before the dumped rows arrive by COPY.  So
-- while a superuser's COPY runs, a row whose key is already there replaces
-- it instead of failing: edits of installed rows survive dump and restore.
-- (An installed row deleted before the dump comes back after the restore.)
-- (search_path includes the extension's schema, which only its owner can
-- write, so that IS NOT DISTINCT FROM finds the stage type's = operator)
-- The trigger runs as the writer, and restoring() is not for PUBLIC: since it
-- is true only for a superuser, everyone else is let through before it is
-- called (in its own IF: a function's EXECUTE right is checked when the
-- expression that calls it is first run), so that roles allowed to write a
-- config table (grant_marketing: scoring_model, event_type) can insert.
CREATE FUNCTION @extschema@.config_restore() RETURNS trigger
  LANGUAGE plpgsql SET search_path = @extschema@, pg_catalog, pg_temp
AS $$
DECLARE
  keycols text[];
  cols text[];
  cond text;
  sets text;
  n bigint;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles AS r
                  WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER AND r.rolsuper) THEN
    RETURN NEW;
  END IF;
  IF NOT @extschema@.restoring() THEN
    RETURN NEW;
  END IF;
  -- the primary key, or the first unique constraint
  SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.ord) INTO keycols
    FROM (SELECT c.conkey FROM pg_catalog.pg_constraint AS c
           WHERE c.conrelid OPERATOR(pg_catalog.=) TG_RELID AND c.contype IN ('p', 'u')
           ORDER BY c.contype, c.oid LIMIT 1) AS con,
         LATERAL pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid OPERATOR(pg_catalog.=) TG_RELID
                                     AND a.attnum OPERATOR(pg_catalog.=) k.attnum;
  SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum) INTO cols
    FROM pg_catalog.pg_attribute AS a
   WHERE a.attrelid OPERATOR(pg_catalog.=) TG_RELID AND a.attnum OPERATOR(pg_catalog.>) 0
     AND NOT a.attisdropped AND a.attidentity OPERATOR(pg_catalog.=) '';
  SELECT pg_catalog.string_agg(pg_catalog.format('t.%1$I IS NOT DISTINCT FROM n.%1$I', c), ' AND ')
    INTO cond FROM pg_catalog.unnest(keycols) AS c;
  SELECT pg_catalog.string_agg(pg_catalog.format('%1$I = n.%1$I', c), ', ')
    INTO sets FROM pg_catalog.unnest(cols) AS c;
  EXECUTE pg_catalog.format(
    'UPDATE %I.%I AS t SET %s FROM (SELECT ($1::%I.%I).*) AS n WHERE %s',
    TG_TABLE_SCHEMA, TG_TABLE_NAME, sets, TG_TABLE_SCHEMA, TG_TABLE_NAME, cond)
    USING NEW;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n OPERATOR(pg_catalog.>) 0 THEN
    RETURN NULL;			-- replaced the installed row
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.config_restore() IS
  'trigger: while pg_restore loads a config table, a dumped row replaces the installed row with the same key';
REVOKE ALL ON FUNCTION @extschema@.config_restore() FROM PUBLIC;

CREATE TRIGGER transition_restore BEFORE INSERT ON @extschema@.transition
  FOR EACH ROW EXECUTE FUNCTION @extschema@.config_restore();
CREATE TRIGGER calendar_restore BEFORE INSERT ON @extschema@.calendar
  FOR EACH ROW EXECUTE FUNCTION @extschema@.config_restore();
CREATE TRIGGER sla_policy_restore BEFORE INSERT ON @extschema@.sla_policy
  FOR EACH ROW EXECUTE FUNCTION @extschema@.config_restore();
CREATE TRIGGER scoring_model_restore BEFORE INSERT ON @extschema@.scoring_model
  FOR EACH ROW EXECUTE FUNCTION @extschema@.config_restore();
CREATE TRIGGER event_type_restore BEFORE INSERT ON @extschema@.event_type
  FOR EACH ROW EXECUTE FUNCTION @extschema@.config_restore();
