-- scheduled jobs with the real pg_cron, in the database pg_cron runs from
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;

-- pg_cron is created in database postgres (cron.database_name) only
SELECT current_setting('cron.database_name') AS cron_database,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') AS pg_cron_here;
DROP EXTENSION lead_funnel;

\c postgres
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET timezone = 'UTC';
-- leftovers of an aborted run
SELECT count(cron.unschedule(jobid)) >= 0 AS clean FROM cron.job WHERE jobname LIKE 'lead_funnel:postgres:%';

CREATE TEMP TABLE ids AS SELECT lead_funnel.schedule_jobs() AS jobid;
SELECT j.jobname, j.schedule, j.command, j.database, j.active
  FROM cron.job AS j JOIN ids USING (jobid) ORDER BY j.jobname;
-- idempotent: re-running replaces the jobs and returns the same ids
SELECT (SELECT array_agg(jobid ORDER BY jobid) FROM ids) =
       (SELECT array_agg(j ORDER BY j) FROM lead_funnel.schedule_jobs('*/10 * * * *', '30 5 * * 1-5') AS j) AS same_ids;
SELECT jobname, schedule FROM cron.job WHERE jobname LIKE 'lead_funnel:%' ORDER BY jobname;
-- invalid input: a schedule pg_cron does not understand
SELECT lead_funnel.schedule_jobs('every minute');
SELECT jobname, schedule FROM cron.job WHERE jobname LIKE 'lead_funnel:%' ORDER BY jobname;
SELECT lead_funnel.unschedule_jobs() AS removed;
SELECT lead_funnel.unschedule_jobs() AS removed_again;
SELECT count(*) AS jobs_left FROM cron.job WHERE jobname LIKE 'lead_funnel:%';

-- a scheduled sweep really runs: every minute, wait for its first run (at most
-- about 70 s), then remove it.  A job added in the last seconds of a minute
-- could miss that minute's start, so schedule it at the start of one.
DO $$
BEGIN
  IF extract(second FROM clock_timestamp()) > 50 THEN
    PERFORM pg_sleep(62 - extract(second FROM clock_timestamp()));
  END IF;
END $$;
SELECT count(*) AS jobs FROM lead_funnel.schedule_jobs('* * * * *');
DO $$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '75 seconds';
  ok bool := false;
BEGIN
  WHILE NOT ok AND clock_timestamp() < deadline LOOP
    PERFORM pg_sleep(1);
    SELECT EXISTS (SELECT FROM cron.job_run_details AS d JOIN cron.job AS j USING (jobid)
                    WHERE j.jobname = 'lead_funnel:postgres:sla_sweep'
                      AND d.status = 'succeeded')
      INTO ok;
  END LOOP;
  RAISE NOTICE 'scheduled sweep ran: %', ok;
END $$;
SELECT d.command, d.status, d.return_message
  FROM cron.job_run_details AS d JOIN cron.job AS j USING (jobid)
 WHERE j.jobname = 'lead_funnel:postgres:sla_sweep' AND d.status = 'succeeded' LIMIT 1;
SELECT lead_funnel.unschedule_jobs() AS removed;
DELETE FROM cron.job_run_details
 WHERE command IN ('SELECT lead_funnel.sla_sweep()', 'SELECT lead_funnel.snapshot_kpis()');
DROP EXTENSION lead_funnel;
