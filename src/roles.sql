
----------------------------------------------------------------------------
-- roles: the right sets for readers, marketing and sales
----------------------------------------------------------------------------

-- The extension creates no roles; these functions grant the right sets to
-- roles the administrator made.  Every grant goes through here so that the
-- sets stay consistent as objects are added.

CREATE FUNCTION @extschema@.grant_reader(role_name regrole)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  obj text;
  rol name;
BEGIN
  IF role_name IS NULL THEN
    RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- the name for %I (role_name::text is quoted already, and a number for an
  -- unknown OID)
  SELECT r.rolname INTO rol FROM pg_catalog.pg_roles AS r WHERE r.oid OPERATOR(pg_catalog.=) role_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'role with OID % does not exist', role_name::oid USING ERRCODE = 'undefined_object';
  END IF;
  EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA @extschema@ TO %I', rol);
  -- every view, the lead table, kpi_snapshot (the views' trend store), and
  -- the config tables the views' functions read with the caller's rights
  -- (business hours read the calendars)
  FOR obj IN
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
      FROM pg_catalog.pg_class AS c
      JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) '@extschema@'
       AND (c.relkind OPERATOR(pg_catalog.=) 'v'
            OR c.relname OPERATOR(pg_catalog.=) ANY (ARRAY['lead', 'kpi_snapshot', 'calendar', 'holiday', 'sla_policy',
                                                          'team', 'transition', 'scoring_model', 'event_type']))
  LOOP
    EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %I', obj, rol);
  END LOOP;
  -- the read-only functions for BI tools
  EXECUTE pg_catalog.format(
    'GRANT EXECUTE ON FUNCTION @extschema@.health_check(timestamptz),'
    ' @extschema@.business_time(timestamptz, timestamptz, text),'
    ' @extschema@.business_add(timestamptz, interval, text),'
    ' @extschema@.german_holidays(int, text), @extschema@.easter_sunday(int),'
    ' @extschema@.funnel_svg(timestamptz, timestamptz),'
    ' @extschema@.stage_at(text, timestamptz), @extschema@.funnel_at(timestamptz),'
    ' @extschema@._reached_since(text, @extschema@.stage, timestamptz) TO %I',
    rol);
END
$$;
COMMENT ON FUNCTION @extschema@.grant_reader(regrole) IS
  'grant a role what BI tools need: SELECT on every view, the lead table, kpi_snapshot and the config tables; health_check, funnel_svg, stage_at, funnel_at, business_time, business_add, german_holidays, easter_sunday';

CREATE FUNCTION @extschema@.grant_marketing(role_name regrole)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rol name;
BEGIN
  PERFORM @extschema@.grant_reader(role_name);	-- checks role_name
  SELECT r.rolname INTO STRICT rol FROM pg_catalog.pg_roles AS r WHERE r.oid OPERATOR(pg_catalog.=) role_name;
  -- scoring configuration and activities
  EXECUTE pg_catalog.format(
    'GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.scoring_model, @extschema@.scoring_rule,'
    ' @extschema@.event_type TO %1$I;'
    ' GRANT USAGE ON SEQUENCE @extschema@.scoring_rule_rule_id_seq TO %1$I;'
    ' GRANT SELECT ON @extschema@.activity TO %1$I;'
    ' GRANT EXECUTE ON FUNCTION @extschema@.record_activity(text, text, timestamptz, text, jsonb),'
    ' @extschema@.engagement_at(text, timestamptz), @extschema@.score(text),'
    ' @extschema@.fit_score(jsonb, text) TO %1$I',
    rol);
END
$$;
COMMENT ON FUNCTION @extschema@.grant_marketing(regrole) IS
  'grant a role what marketing needs: reading, recording activities, editing scoring models, rules and event types (not the transition graph)';

CREATE FUNCTION @extschema@.grant_sales(role_name regrole)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rol name;
BEGIN
  PERFORM @extschema@.grant_reader(role_name);	-- checks role_name
  SELECT r.rolname INTO STRICT rol FROM pg_catalog.pg_roles AS r WHERE r.oid OPERATOR(pg_catalog.=) role_name;
  EXECUTE pg_catalog.format(
    'GRANT EXECUTE ON FUNCTION'
    ' @extschema@.move(text, @extschema@.stage, text, text, timestamptz, text, text),'
    ' @extschema@.route(text, text), @extschema@.record_deal(text, numeric, timestamptz) TO %1$I;'
    ' GRANT SELECT ON @extschema@.stage_event TO %1$I',
    rol);
END
$$;
COMMENT ON FUNCTION @extschema@.grant_sales(regrole) IS
  'grant a role what sales needs: reading, moving and routing leads, recording deals (history stays read-only)';

REVOKE ALL ON FUNCTION @extschema@.grant_reader(regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.grant_marketing(regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.grant_sales(regrole) FROM PUBLIC;

-- PUBLIC gets USAGE on the schema and the stage type (with the functions
-- behind its operators and casts) and nothing else
REVOKE ALL ON FUNCTION @extschema@.business_time(timestamptz, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.business_add(timestamptz, interval, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.add_german_holidays(text, int, int, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.german_holidays(int, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.easter_sunday(int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.is_valid_time_zone(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.fit_score(jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.decayed(numeric, timestamptz, timestamptz, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.crm_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.crm_flush() FROM PUBLIC;
