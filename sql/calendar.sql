-- business calendars: the config tables, their checks and the cache
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;
SET timezone = 'UTC';

-- the installed calendar
SELECT * FROM calendar;

-- helper that shows the SQLSTATE and message of a failing statement
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- valid calendars
INSERT INTO calendar VALUES
  ('berlin', 'Europe/Berlin', '{1,2,3,4,5}', '08:00', '17:00'),
  ('nonstop', 'america/new_york', '{7,6,5,4,3,2,1}', '00:00', '24:00');

SELECT is_valid_time_zone(z)
  FROM unnest(ARRAY['UTC', 'Europe/Berlin', 'europe/berlin', 'EST5EDT', '',
                    'Mars/Olympus_Mons', 'Europe/Berlin ']) AS z;

-- invalid input: unknown time zone
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'Mars/Olympus_Mons', '{1}', '08:00', '17:00')$$);
-- invalid input: empty time zone
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', '', '{1}', '08:00', '17:00')$$);
-- invalid input: day_end equal to day_start
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{1}', '08:00', '08:00')$$);
-- invalid input: day_end before day_start
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{1}', '17:00', '08:00')$$);
-- invalid input: empty workdays
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{}', '08:00', '17:00')$$);
-- invalid input: workday 0
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{0,1}', '08:00', '17:00')$$);
-- invalid input: workday 8
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{1,8}', '08:00', '17:00')$$);
-- invalid input: duplicate workday
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{1,2,1}', '08:00', '17:00')$$);
-- invalid input: NULL workday
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{1,NULL}', '08:00', '17:00')$$);
-- invalid input: two-dimensional workdays
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{{1,2},{3,4}}', '08:00', '17:00')$$);
-- invalid input: NULL in each column
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES (NULL, 'UTC', '{1}', '08:00', '17:00')$$);
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', NULL, '{1}', '08:00', '17:00')$$);
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', NULL, '08:00', '17:00')$$);
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{1}', NULL, '17:00')$$);
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'UTC', '{1}', '08:00', NULL)$$);
-- invalid input: NULL column together with an unknown time zone
SELECT pg_temp.try($$INSERT INTO lead_funnel.calendar VALUES ('x', 'Nowhere/Else', NULL, '08:00', '17:00')$$);
-- invalid input: bad values written by UPDATE
SELECT pg_temp.try($$UPDATE lead_funnel.calendar SET time_zone = 'Europe/Atlantis' WHERE name = 'berlin'$$);
SELECT pg_temp.try($$UPDATE lead_funnel.calendar SET day_end = '07:00' WHERE name = 'berlin'$$);
SELECT pg_temp.try($$UPDATE lead_funnel.calendar SET workdays = '{}' WHERE name = 'berlin'$$);
-- invalid input: holiday of an unknown calendar
SELECT pg_temp.try($$INSERT INTO lead_funnel.holiday VALUES ('nope', '2024-01-01', 'Neujahr')$$);
-- invalid input: the same holiday twice
INSERT INTO holiday VALUES ('berlin', '2024-10-03', 'Tag der Deutschen Einheit');
SELECT pg_temp.try($$INSERT INTO lead_funnel.holiday VALUES ('berlin', '2024-10-03', 'again')$$);
-- nothing of the above was written
SELECT name FROM calendar ORDER BY name;

-- the full message of a rejected calendar
INSERT INTO calendar VALUES ('x', 'UTC', '{1}', '17:00', '08:00');
INSERT INTO calendar VALUES ('x', 'UTC', '{9}', '08:00', '17:00');
INSERT INTO calendar VALUES ('x', 'Mars/Olympus_Mons', '{1}', '08:00', '17:00');

----------------------------------------------------------------------------
-- business_time: ordinary spans in the default calendar (UTC, Mon-Fri 9-17)
----------------------------------------------------------------------------
-- 2024-03-01 is a Friday
SELECT f, t, business_time(f, t)
  FROM (VALUES
    ('2024-03-01 10:00Z'::timestamptz, '2024-03-01 12:30Z'::timestamptz), -- inside one day
    ('2024-03-01 06:00Z', '2024-03-01 20:00Z'),   -- starts and ends outside hours
    ('2024-03-01 16:00Z', '2024-03-04 10:00Z'),   -- over a weekend
    ('2024-03-02 10:00Z', '2024-03-03 15:00Z'),   -- only weekend
    ('2024-03-02 10:00Z', '2024-03-04 09:00Z'),   -- weekend until the start of Monday
    ('2024-03-01 17:00Z', '2024-03-04 09:00Z'),   -- from the end of Friday to start of Monday
    ('2024-03-01 00:00Z', '2024-03-31 00:00Z'),   -- a month: 21 working days
    ('2024-03-04 09:00:00.000001Z', '2024-03-04 16:59:59.999999Z'), -- microseconds
    ('2024-03-04 12:00Z', '2024-03-04 12:00Z'),   -- empty span
    ('2024-03-04 12:00Z', '2024-03-01 12:00Z'),   -- backwards: negative
    ('2020-01-01 00:00Z', '2030-01-01 00:00Z')    -- ten years
  ) AS v(f, t);

-- the default calendar argument
SELECT business_time('2024-03-04 09:00Z', '2024-03-05 09:00Z') =
       business_time('2024-03-04 09:00Z', '2024-03-05 09:00Z', 'default') AS same;

----------------------------------------------------------------------------
-- holidays and time zones: Berlin, Mon-Fri 08:00-17:00 local
----------------------------------------------------------------------------
-- 2024-10-03 (Thursday) is a holiday: Wednesday noon to Friday noon is 5 + 4 hours
SELECT business_time('2024-10-02 12:00+02', '2024-10-04 12:00+02', 'berlin');
-- a span that lies entirely on the holiday
SELECT business_time('2024-10-03 08:00+02', '2024-10-03 17:00+02', 'berlin');
-- the weekend of the spring change (Sunday 2024-03-31): Friday noon to Monday noon
SELECT business_time('2024-03-29 12:00+01', '2024-04-01 12:00+02', 'berlin');
-- the weekend of the autumn change (Sunday 2024-10-27)
SELECT business_time('2024-10-25 12:00+02', '2024-10-28 12:00+01', 'berlin');
-- local hours are used: 08:00 Berlin is 07:00 UTC in winter, 06:00 UTC in summer
SELECT business_add('2024-01-08 00:00Z', '1 hour', 'berlin') AS winter,
       business_add('2024-07-08 00:00Z', '1 hour', 'berlin') AS summer;

----------------------------------------------------------------------------
-- daylight-saving days in a calendar that works around the clock
----------------------------------------------------------------------------
INSERT INTO calendar VALUES
  ('berlin_night', 'Europe/Berlin', '{1,2,3,4,5,6,7}', '01:00', '04:00'),
  ('berlin_all', 'Europe/Berlin', '{1,2,3,4,5,6,7}', '00:00', '24:00'),
  ('ny_night', 'America/New_York', '{1,2,3,4,5,6,7}', '01:00', '03:00');
-- whole local days: 23 hours in spring, 25 in autumn, 24 otherwise
SELECT c, d, business_time((d::timestamp) AT TIME ZONE z, ((d + 1)::timestamp) AT TIME ZONE z, c)
  FROM (VALUES ('berlin_all', 'Europe/Berlin'), ('nonstop', 'America/New_York')) AS k(c, z),
       unnest('{2024-03-09,2024-03-10,2024-03-30,2024-03-31,2024-10-27,2024-11-03,2024-11-04}'::date[]) AS d
 ORDER BY c, d;
-- a window that contains the switch: 01:00-04:00 Berlin is 2 h in spring, 4 h in autumn
SELECT d, business_time(d::timestamp AT TIME ZONE 'Europe/Berlin',
                        (d + 1)::timestamp AT TIME ZONE 'Europe/Berlin', 'berlin_night')
  FROM unnest('{2024-03-30,2024-03-31,2024-10-27}'::date[]) AS d;
-- 01:00-03:00 New York: the spring day loses 02:00-03:00; in autumn 01:00 is ambiguous and,
-- as everywhere in PostgreSQL, means the later instant (01:00 EST), so the day has 2 hours
SELECT d, business_time(d::timestamp AT TIME ZONE 'America/New_York',
                        (d + 1)::timestamp AT TIME ZONE 'America/New_York', 'ny_night')
  FROM unnest('{2024-03-09,2024-03-10,2024-11-03}'::date[]) AS d;
-- business_add through the autumn switch in New York: 3 hours after 00:30 local
SELECT business_add('2024-11-03 04:30Z', '2 hours', 'ny_night'),
       business_add('2024-11-03 04:30Z', '3 hours', 'ny_night');

----------------------------------------------------------------------------
-- business_add
----------------------------------------------------------------------------
SELECT f, a, business_add(f, a)
  FROM (VALUES
    ('2024-03-01 10:00Z'::timestamptz, '2 hours'::interval), -- same day
    ('2024-03-01 16:00Z', '2 hours'),            -- over the weekend
    ('2024-03-01 16:00Z', '1 hour'),             -- ends exactly at day_end: earliest instant
    ('2024-03-02 12:00Z', '1 hour'),             -- starts on a Saturday
    ('2024-03-01 20:00Z', '0'),                  -- zero outside working time: from itself
    ('2024-03-01 10:00Z', '0'),                  -- zero inside working time
    ('2024-03-01 10:00Z', '16 hours'),           -- two working days
    ('2024-03-01 10:00Z', '2 days'),             -- days count as 24 hours: three working days
    ('2024-03-01 10:00Z', '0.000001 seconds'),   -- one microsecond
    ('2024-03-04 10:00Z', '-2 hours'),           -- backwards over the weekend
    ('2024-03-04 09:00Z', '-1 hour'),            -- backwards: latest instant, Friday 16:00
    ('2024-03-04 12:00Z', '-5 hours'),
    ('2020-01-01 00:00Z', '20872 hours')         -- about ten years
  ) AS v(f, a);

-- invalid input: an amount with months
SELECT business_add('2024-03-01 10:00Z', '1 month');
SELECT pg_temp.try($$SELECT lead_funnel.business_add('2024-03-01 10:00Z', '1 year 2 hours')$$);
-- invalid input: unknown calendar
SELECT business_time('2024-03-01', '2024-03-02', 'nope');
SELECT pg_temp.try($$SELECT lead_funnel.business_add('2024-03-01', '1 hour', 'nope')$$);
-- invalid input: infinite timestamps
SELECT pg_temp.try($$SELECT lead_funnel.business_time('-infinity', '2024-03-02')$$);
SELECT pg_temp.try($$SELECT lead_funnel.business_add('infinity', '1 hour')$$);
-- invalid input: a result beyond the timestamp range
SELECT pg_temp.try($$SELECT lead_funnel.business_add('294270-01-01', '100000 hours')$$);
SELECT pg_temp.try($$SELECT lead_funnel.business_add('4713-01-05 BC', '-100000 hours')$$);
-- invalid input: working time beyond the interval range (the whole timestamp
-- range, 24x7, is about 9.4e18 microseconds: more than 64 bits hold)
INSERT INTO calendar VALUES ('utc_247', 'UTC', '{1,2,3,4,5,6,7}', '00:00', '24:00'),
  ('utc_tick', 'UTC', '{3}', '12:00', '12:00:00.000001');
SELECT pg_temp.try($$SELECT lead_funnel.business_time('4713-11-24 00:00+00 BC', '294276-12-31 23:59:59.999999+00', 'utc_247')$$);
SELECT pg_temp.try($$SELECT lead_funnel.business_time('294276-12-31 23:59:59.999999+00', '4713-11-24 00:00+00 BC', 'utc_247')$$);
-- ... while business_add gets there: its search may look at spans that long
SELECT business_add('4713-11-24 00:00+00 BC', '2562047788 hours', 'utc_247') AS far_add,
       '4713-11-24 00:00+00 BC'::timestamptz + interval '2562047788 hours' AS expected;
-- a calendar of one microsecond a week cannot reach the largest amount
SELECT pg_temp.try($$SELECT lead_funnel.business_add('2024-01-01', '2562047788 hours', 'utc_tick')$$);
SELECT pg_temp.try($$SELECT lead_funnel.business_add('2024-01-01', '-2562047788 hours', 'utc_tick')$$);
SELECT business_add('2024-01-01', '0.000002 seconds', 'utc_tick') AS two_ticks;
-- NULL arguments give NULL (STRICT)
SELECT business_time(NULL, now()) IS NULL AS a, business_add(now(), NULL) IS NULL AS b,
       business_time(now(), now(), NULL) IS NULL AS c;

----------------------------------------------------------------------------
-- changes to the config tables are seen at once (cache invalidation)
----------------------------------------------------------------------------
SELECT business_time('2024-10-01 00:00+02', '2024-10-08 00:00+02', 'berlin');
INSERT INTO holiday VALUES ('berlin', '2024-10-07', 'Betriebsausflug');
SELECT business_time('2024-10-01 00:00+02', '2024-10-08 00:00+02', 'berlin');
UPDATE calendar SET day_start = '09:00' WHERE name = 'berlin';
SELECT business_time('2024-10-01 00:00+02', '2024-10-08 00:00+02', 'berlin');
UPDATE calendar SET time_zone = 'UTC' WHERE name = 'berlin';
SELECT business_add('2024-10-01 00:00Z', '1 hour', 'berlin');
-- renaming a calendar carries its holidays along
UPDATE calendar SET name = 'hq' WHERE name = 'berlin';
SELECT calendar, day, name FROM holiday ORDER BY day;
SELECT business_time('2024-10-01 00:00Z', '2024-10-08 00:00Z', 'hq');
SELECT pg_temp.try($$SELECT lead_funnel.business_time('2024-10-01', '2024-10-08', 'berlin')$$);
-- deleting it removes them
DELETE FROM calendar WHERE name = 'hq';
SELECT count(*) FROM holiday;
-- a change made in the same transaction is seen too
BEGIN;
UPDATE calendar SET workdays = '{1,2,3,4,5,6}' WHERE name = 'default';
SELECT business_time('2024-03-01 00:00Z', '2024-03-04 00:00Z');
ROLLBACK;
SELECT business_time('2024-03-01 00:00Z', '2024-03-04 00:00Z');

-- the config tables are dumped with the database
SELECT c.relname, e.extcondition[x.i] AS filter
  FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS x(oid, i)
  JOIN pg_class c ON c.oid = x.oid
 WHERE e.extname = 'lead_funnel' AND c.relname IN ('calendar', 'holiday')
 ORDER BY 1;
