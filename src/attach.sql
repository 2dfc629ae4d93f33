
----------------------------------------------------------------------------
-- attaching CRM tables (src/trigger.c)
----------------------------------------------------------------------------

CREATE TABLE @extschema@.attachment (
  crm_table     regclass NOT NULL,
  key_column    name NOT NULL,
  status_column name NOT NULL,
  status_map    jsonb NOT NULL,
  options       jsonb NOT NULL DEFAULT '{}',
  attached_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT attachment_pkey PRIMARY KEY (crm_table)
);
COMMENT ON TABLE @extschema@.attachment IS
  'CRM tables attached with lead_funnel.attach(), with their status map and options';
COMMENT ON COLUMN @extschema@.attachment.crm_table IS 'the attached CRM table';
COMMENT ON COLUMN @extschema@.attachment.key_column IS 'column holding the lead key';
COMMENT ON COLUMN @extschema@.attachment.status_column IS 'column holding the CRM status';
COMMENT ON COLUMN @extschema@.attachment.status_map IS 'CRM status -> stage name';
COMMENT ON COLUMN @extschema@.attachment.options IS 'options given to attach()';
COMMENT ON COLUMN @extschema@.attachment.attached_at IS 'when the table was attached';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.attachment', '');

-- No SET search_path here, deliberately: the row trigger runs once per CRM
-- row, and a SET clause makes every call save and restore the GUC state.
-- It looks nothing up by name: it only reads the row and buffers the change;
-- the statement trigger below, which writes the ledger, has the fixed
-- search_path, and every plan is prepared under pg_catalog only.
CREATE FUNCTION @extschema@.crm_trigger() RETURNS trigger
  AS 'MODULE_PATHNAME', 'lf_crm_trigger'
  LANGUAGE C;
COMMENT ON FUNCTION @extschema@.crm_trigger() IS
  'trigger on attached CRM tables: records status changes through the core move path (install it with attach())';

CREATE FUNCTION @extschema@.crm_flush() RETURNS trigger
  AS 'MODULE_PATHNAME', 'lf_crm_flush'
  LANGUAGE C SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.crm_flush() IS
  'statement trigger on attached CRM tables: records the statement''s status changes set-based (install it with attach())';

CREATE FUNCTION @extschema@.attach(crm_table regclass, key_column name, status_column name,
                                   status_map jsonb, options jsonb DEFAULT '{}')
  RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rel_kind  "char";
  part      regclass;
  tbl       text;
  k         text;
  v         jsonb;
  col       text;
  cols      text[] := ARRAY[]::text[];
  known     text[] := ARRAY['owner_column', 'team_column', 'campaign_column', 'segment_column',
                            'reason_column', 'amount_column', 'attributes', 'key_prefix',
                            'on_invalid', 'on_unmapped'];
  amount_type oid;
BEGIN
  IF crm_table IS NULL OR key_column IS NULL OR status_column IS NULL OR status_map IS NULL THEN
    RAISE EXCEPTION 'crm_table, key_column, status_column and status_map must not be null'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  options := COALESCE(options, '{}');
  SELECT c.relkind INTO rel_kind FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) crm_table;
  tbl := crm_table::text;
  IF rel_kind IS NULL OR rel_kind NOT IN ('r', 'p') THEN
    RAISE EXCEPTION 'cannot attach "%": it is not a table', tbl
      USING ERRCODE = 'wrong_object_type',
            HINT = 'Attach a plain or partitioned table.';
  END IF;
  -- a partition is attached with its partitioned table (statement triggers
  -- fire only on the table a statement names: rows written through the
  -- parent would wait for a flush that never comes)
  IF (SELECT c.relispartition FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) crm_table) THEN
    RAISE EXCEPTION 'cannot attach "%": it is a partition', tbl
      USING ERRCODE = 'wrong_object_type',
            HINT = pg_catalog.format('Attach its partitioned table %s: its partitions are attached with it.',
                                     (SELECT i.inhparent::regclass FROM pg_catalog.pg_inherits AS i
                                       WHERE i.inhrelid OPERATOR(pg_catalog.=) crm_table));
  END IF;
  IF EXISTS (SELECT 1 FROM @extschema@.attachment AS a WHERE a.crm_table OPERATOR(pg_catalog.=) attach.crm_table) THEN
    RAISE EXCEPTION 'table "%" is already attached', tbl
      USING ERRCODE = 'duplicate_object',
            HINT = 'Run lead_funnel.detach() first to attach it again with other settings.';
  END IF;

  -- columns
  PERFORM @extschema@._attach_check_column(crm_table, key_column, 'key_column');
  PERFORM @extschema@._attach_check_column(crm_table, status_column, 'status_column');
  -- (the key too: a changed key is refused, not taken for a new lead)
  cols := cols || status_column::text || key_column::text;

  -- the status map: a non-empty object of strings that are stages
  IF pg_catalog.jsonb_typeof(status_map) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION 'status map must be a JSON object, not %', pg_catalog.jsonb_typeof(status_map)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Example: {"New": "prospect", "Qualified": "sql"}.';
  END IF;
  IF status_map OPERATOR(pg_catalog.=) '{}'::jsonb THEN
    RAISE EXCEPTION 'status map must not be empty'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Map each CRM status to a stage, e.g. {"New": "prospect"}.';
  END IF;
  FOR k, v IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(status_map) AS e LOOP
    IF pg_catalog.jsonb_typeof(v) IS DISTINCT FROM 'string' THEN
      RAISE EXCEPTION 'status map entry "%" must map to a stage name, not %', k, v
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    BEGIN
      PERFORM (v OPERATOR(pg_catalog.->>) 0)::@extschema@.stage;
    EXCEPTION WHEN invalid_text_representation THEN
      RAISE EXCEPTION 'status map entry "%" maps to "%", which is not a stage', k, v OPERATOR(pg_catalog.#>>) '{}'
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Valid stages are prospect, mql, sal, sql, opportunity, customer, recycled, disqualified and lost.';
    END;
  END LOOP;

  -- options
  IF pg_catalog.jsonb_typeof(options) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION 'options must be a JSON object, not %', pg_catalog.jsonb_typeof(options)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR k, v IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(options) AS e LOOP
    IF NOT (k OPERATOR(pg_catalog.=) ANY (known)) THEN
      RAISE EXCEPTION 'unknown option "%"', k
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Valid options are ' || pg_catalog.array_to_string(known, ', ') || '.';
    END IF;
    IF k OPERATOR(pg_catalog.=) 'attributes' THEN
      IF pg_catalog.jsonb_typeof(v) IS DISTINCT FROM 'array' OR pg_catalog.jsonb_array_length(v) OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION 'option "attributes" must be a non-empty array of column names'
          USING ERRCODE = 'invalid_parameter_value';
      END IF;
      FOR col IN SELECT pg_catalog.jsonb_array_elements(v) LOOP
        IF pg_catalog.jsonb_typeof(col::jsonb) IS DISTINCT FROM 'string' THEN
          RAISE EXCEPTION 'option "attributes" must list column names, not %', col
            USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM @extschema@._attach_check_column(crm_table, (col::jsonb OPERATOR(pg_catalog.#>>) '{}')::name, 'attributes');
        cols := cols || (col::jsonb OPERATOR(pg_catalog.#>>) '{}');
      END LOOP;
      CONTINUE;
    END IF;
    IF pg_catalog.jsonb_typeof(v) IS DISTINCT FROM 'string' THEN
      RAISE EXCEPTION 'option "%" must be a string, not %', k, v
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k OPERATOR(pg_catalog.=) 'on_invalid' AND NOT (v OPERATOR(pg_catalog.#>>) '{}') OPERATOR(pg_catalog.=) ANY (ARRAY['error', 'record']) THEN
      RAISE EXCEPTION 'option "on_invalid" must be "error" or "record", not %', v
        USING ERRCODE = 'invalid_parameter_value';
    ELSIF k OPERATOR(pg_catalog.=) 'on_unmapped' AND NOT (v OPERATOR(pg_catalog.#>>) '{}') OPERATOR(pg_catalog.=) ANY (ARRAY['error', 'ignore']) THEN
      RAISE EXCEPTION 'option "on_unmapped" must be "error" or "ignore", not %', v
        USING ERRCODE = 'invalid_parameter_value';
    ELSIF k OPERATOR(pg_catalog.~~) '%\_column' THEN
      PERFORM @extschema@._attach_check_column(crm_table, (v OPERATOR(pg_catalog.#>>) '{}')::name, k);
      IF k OPERATOR(pg_catalog.<>) 'reason_column' THEN
        cols := cols || (v OPERATOR(pg_catalog.#>>) '{}');
      END IF;
      IF k OPERATOR(pg_catalog.=) 'amount_column' THEN
        SELECT a.atttypid INTO amount_type FROM pg_catalog.pg_attribute AS a
         WHERE a.attrelid OPERATOR(pg_catalog.=) crm_table
           AND a.attname OPERATOR(pg_catalog.=) (v OPERATOR(pg_catalog.#>>) '{}')::name;
        IF NOT amount_type OPERATOR(pg_catalog.=) ANY (ARRAY['int2', 'int4', 'int8', 'numeric', 'float4', 'float8']::regtype[]::oid[]) THEN
          RAISE EXCEPTION 'amount column "%" must have a numeric type, not %', v OPERATOR(pg_catalog.#>>) '{}', amount_type::regtype
            USING ERRCODE = 'datatype_mismatch';
        END IF;
      END IF;
    END IF;
  END LOOP;

  EXECUTE pg_catalog.format(
    'CREATE TRIGGER lead_funnel_status AFTER INSERT OR UPDATE OF %s ON %s FOR EACH ROW EXECUTE FUNCTION @extschema@.crm_trigger(%L, %L, %L, %L)',
    (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM (SELECT DISTINCT c FROM pg_catalog.unnest(cols) AS c) AS d),
    crm_table, key_column, status_column, status_map::text, options::text);
  -- The statement trigger, on the table and on each of its partitions: the
  -- row trigger is cloned onto every partition, statement triggers are not,
  -- and a statement that writes straight into a partition fires only the
  -- partition's.  (A partition created later has none: its row trigger
  -- then records each row at once.)  One left behind by DETACH PARTITION of
  -- a table that was a partition of an attached table is replaced.
  FOR part IN SELECT crm_table
              UNION ALL
              SELECT t.relid FROM pg_catalog.pg_partition_tree(crm_table) AS t
               WHERE t.level OPERATOR(pg_catalog.>) 0 LOOP
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger AS g WHERE g.tgrelid OPERATOR(pg_catalog.=) part
                  AND g.tgname OPERATOR(pg_catalog.=) 'lead_funnel_flush') THEN
      EXECUTE pg_catalog.format('DROP TRIGGER lead_funnel_flush ON %s', part);
    END IF;
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER lead_funnel_flush AFTER INSERT OR UPDATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.crm_flush()',
      part);
  END LOOP;
  INSERT INTO @extschema@.attachment (crm_table, key_column, status_column, status_map, options)
  VALUES (crm_table, key_column, status_column, status_map, options);
END
$$;
COMMENT ON FUNCTION @extschema@.attach(regclass, name, name, jsonb, jsonb) IS
  'attach a CRM table: every status change of it is validated and recorded through the core move path';

CREATE FUNCTION @extschema@._attach_check_column(crm_table regclass, col name, what text)
  RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF col IS NULL OR col OPERATOR(pg_catalog.=) '' THEN
    RAISE EXCEPTION '% must name a column', what USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a
                  WHERE a.attrelid OPERATOR(pg_catalog.=) crm_table
                    AND a.attname OPERATOR(pg_catalog.=) col
                    AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped) THEN
    RAISE EXCEPTION 'column "%" (%) does not exist in table "%"', col, what, crm_table::text
      USING ERRCODE = 'undefined_column';
  END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._attach_check_column(regclass, name, text) IS
  'internal: attach() checks that a column exists';

CREATE FUNCTION @extschema@.detach(crm_table regclass)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  part regclass;
BEGIN
  IF crm_table IS NULL THEN
    RAISE EXCEPTION 'crm_table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM @extschema@.attachment AS a WHERE a.crm_table OPERATOR(pg_catalog.=) detach.crm_table) THEN
    RAISE EXCEPTION 'table "%" is not attached', crm_table::text
      USING ERRCODE = 'undefined_object';
  END IF;
  -- (a table dropped while the event trigger below was disabled leaves its
  -- row behind: detaching it only forgets the row)
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) crm_table) THEN
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS lead_funnel_status ON %s', crm_table);
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS lead_funnel_flush ON %s', crm_table);
    -- (the partitions' flush triggers too; their row triggers were clones)
    FOR part IN SELECT g.tgrelid FROM pg_catalog.pg_partition_tree(crm_table) AS t
                  JOIN pg_catalog.pg_trigger AS g ON g.tgrelid OPERATOR(pg_catalog.=) t.relid
                 WHERE g.tgname OPERATOR(pg_catalog.=) 'lead_funnel_flush'
                   AND t.level OPERATOR(pg_catalog.>) 0 LOOP
      EXECUTE pg_catalog.format('DROP TRIGGER lead_funnel_flush ON %s', part);
    END LOOP;
  END IF;
  DELETE FROM @extschema@.attachment AS a WHERE a.crm_table OPERATOR(pg_catalog.=) detach.crm_table;
END
$$;
COMMENT ON FUNCTION @extschema@.detach(regclass) IS
  'detach a CRM table: removes the trigger, keeps the history';

-- A dropped CRM table is detached: its attachment row would otherwise point
-- at an OID that a later table may get (and look attached without a
-- trigger).  The ledger keeps the history, as with detach().
CREATE FUNCTION @extschema@._attachment_dropped()
  RETURNS event_trigger
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- (DROP EXTENSION lead_funnel drops this table in the same command)
  IF pg_catalog.to_regclass('@extschema@.attachment') IS NULL THEN
    RETURN;
  END IF;
  DELETE FROM @extschema@.attachment AS a
   USING pg_catalog.pg_event_trigger_dropped_objects() AS d
   WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
     AND d.objsubid OPERATOR(pg_catalog.=) 0
     AND a.crm_table::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid;
END
$$;
COMMENT ON FUNCTION @extschema@._attachment_dropped() IS
  'internal: event trigger that forgets the attachment of a dropped CRM table';
REVOKE ALL ON FUNCTION @extschema@._attachment_dropped() FROM PUBLIC;
CREATE EVENT TRIGGER lead_funnel_attachment_dropped ON sql_drop
  WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
  EXECUTE FUNCTION @extschema@._attachment_dropped();
COMMENT ON EVENT TRIGGER lead_funnel_attachment_dropped IS
  'lead_funnel: a dropped CRM table is detached (its attachment row removed)';

CREATE FUNCTION @extschema@.backfill(crm_table regclass)
  RETURNS bigint
  AS 'MODULE_PATHNAME', 'lf_backfill'
  LANGUAGE C VOLATILE STRICT SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.backfill(regclass) IS
  'enter the rows of an attached table that have no lead yet at their mapped stage; returns how many';

REVOKE ALL ON FUNCTION @extschema@.attach(regclass, name, name, jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.detach(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.backfill(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._attach_check_column(regclass, name, text) FROM PUBLIC;
