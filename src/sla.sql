
----------------------------------------------------------------------------
-- service levels on the handover (src/sla.c)
----------------------------------------------------------------------------

-- Checks a policy row when it is written (BEFORE INSERT OR UPDATE ... FOR
-- EACH ROW): the amount is working time without months, positive; the stage
-- is one where someone is expected to act; recycle only where the transition
-- graph allows the move to recycled.
CREATE FUNCTION @extschema@.lf_sla_policy_check() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NEW.max_business_time IS NULL OR NEW.stage IS NULL THEN
    RETURN NEW;  -- the NOT NULL constraints report it
  END IF;
  IF pg_catalog.date_part('year', NEW.max_business_time) OPERATOR(pg_catalog.<>) 0
     OR pg_catalog.date_part('month', NEW.max_business_time) OPERATOR(pg_catalog.<>) 0 THEN
    RAISE EXCEPTION 'service level of stage "%" cannot be measured in months', NEW.stage
      USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('max_business_time is %s.', NEW.max_business_time),
            HINT = 'Give working time in hours, e.g. ''16 hours'' for two 8-hour working days.';
  END IF;
  IF NEW.max_business_time OPERATOR(pg_catalog.<=) interval '0' THEN
    RAISE EXCEPTION 'service level of stage "%" must allow a positive working time', NEW.stage
      USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('max_business_time is %s.', NEW.max_business_time);
  END IF;
  IF NEW.stage OPERATOR(@extschema@.=) ANY ('{customer,disqualified,lost}'::@extschema@.stage[]) THEN
    RAISE EXCEPTION 'stage "%" cannot have a service level', NEW.stage
      USING ERRCODE = '22023',
            DETAIL = 'A lead in this stage is closed: nobody is expected to act on it, so no clock could ever be met.',
            HINT = 'Service levels fit stages in which someone has to act: prospect, mql, sal, sql, opportunity, recycled.';
  END IF;
  IF NEW.action OPERATOR(pg_catalog.=) 'recycle' AND NOT EXISTS (
       SELECT FROM @extschema@.transition AS t
        WHERE t.from_stage OPERATOR(@extschema@.=) NEW.stage
          AND t.to_stage OPERATOR(@extschema@.=) 'recycled') THEN
    RAISE EXCEPTION 'service level of stage "%" cannot recycle: the transition graph has no move from "%" to "recycled"',
                    NEW.stage, NEW.stage
      USING ERRCODE = '23514',
            HINT = 'Choose the action notify or reassign, or add the transition to lead_funnel.transition first.';
  END IF;
  IF NEW.max_business_time OPERATOR(pg_catalog.>) interval '100000 hours' THEN
    RAISE EXCEPTION 'service level of stage "%" is too long', NEW.stage
      USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('max_business_time is %s; at most 100000 hours of working time are allowed.', NEW.max_business_time);
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@.lf_sla_policy_check() IS
  'trigger: rejects a service-level policy with months, a non-positive amount, a closed stage or an impossible recycle';
REVOKE ALL ON FUNCTION @extschema@.lf_sla_policy_check() FROM PUBLIC;

-- The service levels: how much working time sales has in a stage before the
-- lead counts as breached, and what happens then.
CREATE TABLE @extschema@.sla_policy (
  stage             @extschema@.stage PRIMARY KEY,
  max_business_time interval NOT NULL,
  calendar          text NOT NULL DEFAULT 'default'
                    REFERENCES @extschema@.calendar (name) ON UPDATE CASCADE,
  warn_fraction     numeric NOT NULL DEFAULT 0.75
                    CONSTRAINT sla_policy_warn_fraction_check
                    CHECK (0 < warn_fraction AND warn_fraction <= 1),
  action            text NOT NULL DEFAULT 'notify'
                    CONSTRAINT sla_policy_action_check
                    CHECK (action IN ('notify', 'reassign', 'recycle'))
);
COMMENT ON TABLE @extschema@.sla_policy IS
  'service levels: the working time a lead may stay in a stage, and what happens when it is exceeded';
COMMENT ON COLUMN @extschema@.sla_policy.stage IS 'the stage whose clock this is';
COMMENT ON COLUMN @extschema@.sla_policy.max_business_time IS
  'working time allowed in the stage (hours; a day counts as 24 working hours; no months)';
COMMENT ON COLUMN @extschema@.sla_policy.calendar IS 'business calendar the working time is counted in';
COMMENT ON COLUMN @extschema@.sla_policy.warn_fraction IS
  'share of max_business_time after which the lead is at risk (0 < f <= 1)';
COMMENT ON COLUMN @extschema@.sla_policy.action IS
  'what sla_sweep does on a breach besides recording and notifying: notify (nothing more), reassign (route to another team), recycle (send back to marketing)';

CREATE TRIGGER sla_policy_check BEFORE INSERT OR UPDATE ON @extschema@.sla_policy
  FOR EACH ROW EXECUTE FUNCTION @extschema@.lf_sla_policy_check();
CREATE TRIGGER sla_policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.sla_policy
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_config_changed();

INSERT INTO @extschema@.sla_policy (stage, max_business_time) VALUES
  ('mql', '16 hours'), ('sal', '40 hours');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sla_policy', '');

-- Breaches, recorded by sla_sweep once per stage entry.  An entry is known by
-- the time the lead entered the stage (with its due time): a lead that enters
-- the stage again can get the same due time as before (back-dated moves of one
-- weekend), so the due time alone would take the new entry for the recorded one.
CREATE TABLE @extschema@.sla_breach (
  breach_id   bigint GENERATED ALWAYS AS IDENTITY,
  lead_key    text COLLATE "C" NOT NULL,
  stage       @extschema@.stage NOT NULL,
  team        text,
  sla_due_at  timestamptz NOT NULL,
  detected_at timestamptz NOT NULL,
  action      text NOT NULL,
  stage_entered_at timestamptz NOT NULL,
  CONSTRAINT sla_breach_pkey PRIMARY KEY (lead_key, breach_id),
  CONSTRAINT sla_breach_once UNIQUE (lead_key, stage, stage_entered_at, sla_due_at)
);
COMMENT ON TABLE @extschema@.sla_breach IS
  'service-level breaches found by sla_sweep, one per lead and stage entry, written only by lead_funnel';
COMMENT ON COLUMN @extschema@.sla_breach.breach_id IS 'breach number';
COMMENT ON COLUMN @extschema@.sla_breach.lead_key IS 'the lead';
COMMENT ON COLUMN @extschema@.sla_breach.stage IS 'the stage whose service level was exceeded';
COMMENT ON COLUMN @extschema@.sla_breach.team IS 'team responsible for the lead when the breach was found';
COMMENT ON COLUMN @extschema@.sla_breach.sla_due_at IS 'when the service level expired';
COMMENT ON COLUMN @extschema@.sla_breach.detected_at IS 'the as_of of the sweep that found the breach';
COMMENT ON COLUMN @extschema@.sla_breach.action IS 'the action taken: notify, reassign or recycle';
COMMENT ON COLUMN @extschema@.sla_breach.stage_entered_at IS
  'when the lead entered the stage: the stage entry that breached (with sla_due_at, one breach per entry)';
CREATE INDEX sla_breach_detected_at_idx ON @extschema@.sla_breach (detected_at);
CREATE TRIGGER sla_breach_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON @extschema@.sla_breach FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_ledger_guard();

-- The running clocks, in due order: a row per stage entry with a policy,
-- written by the move that enters the stage and taken by the first sweep whose
-- as_of reaches its due time (which records a breach when the lead is still
-- in that stage entry, else drops it).  The sweep's cost follows the clocks
-- that expire, not the open leads; keeping the due time out of lead's indexes
-- lets a move update the lead row in place (HOT).  No key: rows are only
-- inserted and deleted (REPLICA IDENTITY FULL for logical replication).
CREATE TABLE @extschema@.sla_clock (
  sla_due_at       timestamptz NOT NULL,
  lead_key         text COLLATE "C" NOT NULL,
  stage            @extschema@.stage NOT NULL,
  stage_entered_at timestamptz NOT NULL
);
ALTER TABLE @extschema@.sla_clock REPLICA IDENTITY FULL;
COMMENT ON TABLE @extschema@.sla_clock IS
  'running SLA clocks, one per stage entry under a policy, until a sweep reaches their due time; written only by lead_funnel';
COMMENT ON COLUMN @extschema@.sla_clock.sla_due_at IS 'when the service level expires';
COMMENT ON COLUMN @extschema@.sla_clock.lead_key IS 'the lead';
COMMENT ON COLUMN @extschema@.sla_clock.stage IS 'the stage the lead entered';
COMMENT ON COLUMN @extschema@.sla_clock.stage_entered_at IS 'when it entered the stage (the entry the clock belongs to)';
CREATE INDEX sla_clock_due_idx ON @extschema@.sla_clock (sla_due_at);
CREATE TRIGGER sla_clock_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON @extschema@.sla_clock FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_ledger_guard();

-- Where every lead under a service level stands now.  A policy changed or
-- deleted after a lead entered its stage leaves the lead's due time as it was
-- (it was agreed when the lead entered); without a policy business_elapsed is
-- NULL and the lead is at most breached, never at risk.
CREATE VIEW @extschema@.sla_status AS
  SELECT l.lead_key,
         l.stage,
         l.team,
         l.owner,
         l.stage_entered_at,
         l.sla_due_at,
         e.business_elapsed,
         CASE
           WHEN pg_catalog.now() OPERATOR(pg_catalog.>=) l.sla_due_at THEN 'breached'
           -- at risk: warn_fraction of the window agreed at entry (entry to
           -- due time) has passed, whatever the policy says today
           WHEN e.business_elapsed OPERATOR(pg_catalog.>=)
                (@extschema@.business_time(l.stage_entered_at, l.sla_due_at, p.calendar)
                 OPERATOR(pg_catalog.*) p.warn_fraction::float8)
             THEN 'at_risk'
           ELSE 'on_time'
         END AS state
    FROM @extschema@.lead AS l
    LEFT JOIN @extschema@.sla_policy AS p ON p.stage OPERATOR(@extschema@.=) l.stage
    CROSS JOIN LATERAL (SELECT @extschema@.business_time(l.stage_entered_at, pg_catalog.now(), p.calendar)
                                 AS business_elapsed) AS e
   WHERE l.sla_due_at IS NOT NULL;
COMMENT ON VIEW @extschema@.sla_status IS
  'every lead whose service-level clock runs, with the working time used and its state (on_time, at_risk, breached)';
COMMENT ON COLUMN @extschema@.sla_status.lead_key IS 'the lead';
COMMENT ON COLUMN @extschema@.sla_status.stage IS 'current stage, the one under a service level';
COMMENT ON COLUMN @extschema@.sla_status.team IS 'team responsible for the lead';
COMMENT ON COLUMN @extschema@.sla_status.owner IS 'owner in the CRM';
COMMENT ON COLUMN @extschema@.sla_status.stage_entered_at IS 'when the lead entered the stage (the clock started)';
COMMENT ON COLUMN @extschema@.sla_status.sla_due_at IS 'when the service level expires';
COMMENT ON COLUMN @extschema@.sla_status.business_elapsed IS
  'working time since the lead entered the stage, in the policy''s calendar (NULL when the policy was deleted)';
COMMENT ON COLUMN @extschema@.sla_status.state IS
  'breached (now >= sla_due_at), at_risk (business_elapsed >= warn_fraction x the business time from entry to sla_due_at, the window agreed at entry) or on_time';

-- The sweep: records new breaches, notifies, applies the actions.  Called
-- once per sweep, so its SET search_path clause costs nothing that matters.
CREATE FUNCTION @extschema@.sla_sweep(as_of timestamptz DEFAULT pg_catalog.now())
  RETURNS int
  AS 'MODULE_PATHNAME', 'lf_sla_sweep'
  LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.sla_sweep(timestamptz) IS
  'records every lead whose service level expired at or before as_of and is not yet recorded, sends NOTIFY lead_funnel_sla, applies the policy''s action; returns how many it found';
REVOKE ALL ON FUNCTION @extschema@.sla_sweep(timestamptz) FROM PUBLIC;

----------------------------------------------------------------------------
-- scheduled jobs (pg_cron)
----------------------------------------------------------------------------

-- Why pg_cron cannot be used here, as an error; returns when it can.
-- cron_db is the value of cron.database_name (NULL: pg_cron not preloaded);
-- jobs are the (name, schedule, command) rows to register.  A separate
-- function so that every branch can be tested on a server with pg_cron.
CREATE FUNCTION @extschema@.lf_cron_check(cron_db text, jobs text[])
  RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cmds text;
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'pg_cron') THEN
    RETURN;
  END IF;
  IF cron_db IS NULL THEN
    RAISE EXCEPTION 'pg_cron is not installed'
      USING ERRCODE = '55000',
            DETAIL = 'lead_funnel schedules the SLA sweep and the KPI snapshots with pg_cron.',
            HINT = 'Install it (apt-get install postgresql-15-cron), add shared_preload_libraries = ''pg_cron'' and '
                   'cron.database_name = ''<database>'' to postgresql.conf, restart the server and run '
                   'CREATE EXTENSION pg_cron in that database.';
  END IF;
  IF cron_db OPERATOR(pg_catalog.<>) pg_catalog.current_database() THEN
    SELECT pg_catalog.string_agg(pg_catalog.format('SELECT cron.schedule_in_database(%L, %L, %L, %L);',
                                                   jobs[i][1], jobs[i][2], jobs[i][3],
                                                   pg_catalog.current_database()), ' ' ORDER BY i)
      INTO cmds
      FROM pg_catalog.generate_subscripts(jobs, 1) AS i;
    RAISE EXCEPTION 'pg_cron runs jobs from database "%", not from "%"', cron_db, pg_catalog.current_database()
      USING ERRCODE = '55000',
            DETAIL = 'pg_cron''s functions exist only in the database named by cron.database_name; jobs for other databases are registered there.',
            HINT = pg_catalog.format('Connect to database "%s" and run: %s', cron_db, cmds);
  END IF;
  RAISE EXCEPTION 'extension "pg_cron" is not created in database "%"', cron_db
    USING ERRCODE = '55000',
          HINT = 'Run CREATE EXTENSION pg_cron in this database.';
END $$;
COMMENT ON FUNCTION @extschema@.lf_cron_check(text, text[]) IS
  'raises the error that explains why pg_cron cannot schedule lead_funnel''s jobs from this database; returns when it can';
REVOKE ALL ON FUNCTION @extschema@.lf_cron_check(text, text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.schedule_jobs(sweep text DEFAULT '*/5 * * * *',
                                          snapshot text DEFAULT '0 6 * * *')
  RETURNS SETOF bigint
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  prefix text := 'lead_funnel:' OPERATOR(pg_catalog.||) pg_catalog.current_database() OPERATOR(pg_catalog.||) ':';
  jobs text[];
  i int;
BEGIN
  IF sweep IS NULL OR snapshot IS NULL THEN
    RAISE EXCEPTION 'schedules must not be null'
      USING ERRCODE = '22004', HINT = 'Give cron schedules such as ''*/5 * * * *''.';
  END IF;
  jobs := ARRAY[[prefix OPERATOR(pg_catalog.||) 'sla_sweep', sweep, 'SELECT lead_funnel.sla_sweep()'],
                [prefix OPERATOR(pg_catalog.||) 'snapshot', snapshot, 'SELECT lead_funnel.snapshot_kpis()']];
  PERFORM @extschema@.lf_cron_check(pg_catalog.current_setting('cron.database_name', true), jobs);
  -- the same job name replaces the job and keeps its id
  FOR i IN 1 .. pg_catalog.array_length(jobs, 1) LOOP
    RETURN NEXT cron.schedule(jobs[i][1], jobs[i][2], jobs[i][3]);
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.schedule_jobs(text, text) IS
  'registers the SLA sweep and the daily KPI snapshot with pg_cron as jobs lead_funnel:<database>:sla_sweep and :snapshot; re-running replaces them; returns the job ids';
REVOKE ALL ON FUNCTION @extschema@.schedule_jobs(text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.unschedule_jobs()
  RETURNS int
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  prefix text := 'lead_funnel:' OPERATOR(pg_catalog.||) pg_catalog.current_database() OPERATOR(pg_catalog.||) ':';
  cron_db text := pg_catalog.current_setting('cron.database_name', true);
  job text;
  n int := 0;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'pg_cron') THEN
    IF cron_db IS NOT NULL AND cron_db OPERATOR(pg_catalog.<>) pg_catalog.current_database() THEN
      RAISE EXCEPTION 'pg_cron runs jobs from database "%", not from "%"', cron_db, pg_catalog.current_database()
        USING ERRCODE = '55000',
              DETAIL = 'pg_cron''s functions exist only in the database named by cron.database_name.',
              HINT = pg_catalog.format('Connect to database "%s" and run: SELECT cron.unschedule(jobname) FROM cron.job WHERE jobname IN (%L, %L);',
                                       cron_db, prefix OPERATOR(pg_catalog.||) 'sla_sweep', prefix OPERATOR(pg_catalog.||) 'snapshot');
    END IF;
    RETURN 0;  -- no pg_cron here: no jobs to remove
  END IF;
  FOR job IN SELECT j.jobname FROM cron.job AS j
              WHERE j.jobname OPERATOR(pg_catalog.=) ANY (ARRAY[prefix OPERATOR(pg_catalog.||) 'sla_sweep',
                                                                prefix OPERATOR(pg_catalog.||) 'snapshot'])
  LOOP
    PERFORM cron.unschedule(job);
    n := n OPERATOR(pg_catalog.+) 1;
  END LOOP;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.unschedule_jobs() IS
  'removes the pg_cron jobs that schedule_jobs registered for this database; returns how many';
REVOKE ALL ON FUNCTION @extschema@.unschedule_jobs() FROM PUBLIC;
