-- business_time and business_add against a slow reference, on random cases
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;
SET timezone = 'UTC';

-- The reference: walk the local dates one by one; on every working day that
-- is not a holiday intersect [a, b] with the instants of local day_start and
-- day_end (clipped to the instants of the day's own midnights).
CREATE FUNCTION pg_temp.ref_bt(a timestamptz, b timestamptz, cal text) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
DECLARE
  c lead_funnel.calendar;
  d date;
  lo timestamptz;
  hi timestamptz;
  total numeric := 0;
  sgn int := 1;
  t timestamptz;
BEGIN
  IF b < a THEN t := a; a := b; b := t; sgn := -1; END IF;
  SELECT * INTO c FROM lead_funnel.calendar WHERE name = cal;
  FOR d IN SELECT g::date FROM generate_series((a AT TIME ZONE c.time_zone)::date - 1,
                                               (b AT TIME ZONE c.time_zone)::date + 1,
                                               interval '1 day') AS g LOOP
    CONTINUE WHEN NOT extract(isodow FROM d)::int = ANY (c.workdays);
    CONTINUE WHEN EXISTS (SELECT FROM lead_funnel.holiday h
                           WHERE h.calendar = cal AND h.day = d);
    lo := greatest(a, (d + c.day_start) AT TIME ZONE c.time_zone,
                   d::timestamp AT TIME ZONE c.time_zone);
    hi := least(b, (d + c.day_end) AT TIME ZONE c.time_zone,
                (d + 1)::timestamp AT TIME ZONE c.time_zone);
    IF hi > lo THEN
      total := total + extract(epoch FROM hi - lo);
    END IF;
  END LOOP;
  RETURN sgn * total;
END $$;

CREATE FUNCTION pg_temp.secs(i interval) RETURNS numeric
  LANGUAGE sql IMMUTABLE RETURN extract(epoch FROM i);

-- calendars: plain UTC, Berlin and New York office hours with holidays, and
-- calendars whose windows contain the clock changes
INSERT INTO calendar VALUES
  ('berlin', 'Europe/Berlin', '{1,2,3,4,5}', '08:00', '17:00'),
  ('ny', 'America/New_York', '{1,2,3,4,5}', '08:30', '17:30'),
  ('berlin_night', 'Europe/Berlin', '{1,2,3,4,5,6,7}', '01:30', '03:30'),
  ('ny_all', 'America/New_York', '{1,2,3,4,5,6,7}', '00:00', '24:00'),
  ('ny_odd', 'America/New_York', '{2,4,6,7}', '01:00:00.5', '02:30:00.25');
SELECT add_german_holidays('berlin', 2022, 2027, 'BE');
SELECT add_german_holidays('berlin_night', 2024, 2024, 'SN');
INSERT INTO holiday VALUES ('ny', '2024-07-04', 'Independence Day'),
  ('ny', '2024-11-28', 'Thanksgiving'), ('ny', '2024-12-25', 'Christmas'),
  ('ny_odd', '2024-11-05', 'Election day');

-- random instants: within a day of the 2024 clock changes (Berlin 31 March and
-- 27 October 01:00 UTC, New York 10 March 07:00 and 3 November 06:00 UTC), or
-- anywhere in 2024
SELECT setseed(0.42);
CREATE TEMP TABLE pt AS
SELECT i, cal,
       base + (random() * 2 * 86400) * interval '1 second' AS a,
       base + (random() * 2 * 86400) * interval '1 second'
            + (floor(random() * 3) * 5 * 86400) * interval '1 second' AS b,
       base + (random() * 12 * 86400) * interval '1 second' AS c,
       (random() * 40 * 3600 * 1000000)::bigint * interval '1 microsecond'
         * (CASE WHEN random() < 0.3 THEN -1 ELSE 1 END) AS amt
  FROM generate_series(1, 1800) AS i,
       LATERAL (SELECT (ARRAY['default', 'berlin', 'ny', 'berlin_night', 'ny_all', 'ny_odd'])
                         [1 + (i % 6)] AS cal) k,
       LATERAL (SELECT (ARRAY['2024-03-10 07:00Z', '2024-03-31 01:00Z', '2024-10-27 01:00Z',
                              '2024-11-03 06:00Z',
                              '2024-01-01 00:00Z'::timestamptz + random() * interval '360 days'])
                         [1 + (i / 6 % 5)]::timestamptz - interval '1 day' AS base) bb;
-- some cases start or end exactly on a window edge
UPDATE pt SET a = date_trunc('hour', a) WHERE i % 10 = 0;
UPDATE pt SET b = date_trunc('hour', b) + interval '30 minutes' WHERE i % 10 = 1;

-- business_time agrees with the reference (mismatches)
SELECT count(*) AS cases,
       count(*) FILTER (WHERE pg_temp.secs(business_time(a, b, cal)) <> pg_temp.ref_bt(a, b, cal)) AS mismatches
  FROM pt;
-- additivity: bt(a, b) + bt(b, c) = bt(a, c)
SELECT count(*) FILTER (WHERE business_time(a, b, cal) + business_time(b, c, cal)
                              <> business_time(a, c, cal)) AS mismatches
  FROM pt;
-- business_add is the inverse: bt(a, add(a, d)) = d, also by the reference
SELECT count(*) FILTER (WHERE business_time(a, r, cal) <> amt) AS mismatches,
       count(*) FILTER (WHERE pg_temp.ref_bt(a, r, cal) <> pg_temp.secs(amt)) AS ref_mismatches
  FROM (SELECT *, business_add(a, amt, cal) AS r FROM pt) s;
-- ... and gives the earliest (for negative amounts the latest) such instant
SELECT count(*) FILTER (WHERE amt > '0' AND business_time(a, r - interval '1 microsecond', cal) >= amt)
       + count(*) FILTER (WHERE amt < '0' AND business_time(a, r + interval '1 microsecond', cal) <= amt)
       AS not_extreme
  FROM (SELECT *, business_add(a, amt, cal) AS r FROM pt) s;
-- business_add(a, 0) = a
SELECT count(*) FILTER (WHERE business_add(a, '0', cal) <> a) AS mismatches FROM pt;

-- long spans (the weekly arithmetic and the precomputed clock changes),
-- also before 1900 and after 2200 where clock changes are found on the fly
SELECT cal, a, b, business_time(a, b, cal),
       pg_temp.secs(business_time(a, b, cal)) = pg_temp.ref_bt(a, b, cal) AS matches_reference,
       business_add(a, business_time(a, b, cal), cal) <= b AS add_inverse
  FROM (VALUES
    ('default', '2020-01-01 10:00Z'::timestamptz, '2030-01-01 11:00Z'::timestamptz),
    ('berlin', '2021-06-15 12:34:56.789Z', '2031-06-15 08:00Z'),
    ('ny_all', '2015-01-01 00:00Z', '2025-01-01 00:00Z'),
    ('ny_odd', '2019-02-01 00:00Z', '2029-02-01 00:00Z'),
    ('berlin_night', '1895-02-01 00:00Z', '1905-02-01 00:00Z'),
    ('berlin_night', '2195-02-01 00:00Z', '2205-02-01 00:00Z')
  ) AS v(cal, a, b);
-- and business_add far forward and back round-trips
SELECT cal, business_time(a, business_add(a, d, cal), cal) = d AS round_trip
  FROM (VALUES ('berlin', '2024-05-01 12:00Z'::timestamptz, interval '20000 hours'),
               ('berlin', '2024-05-01 12:00Z', interval '-20000 hours'),
               ('ny_odd', '2024-05-01 12:00Z', interval '1234 hours 5 minutes'),
               ('ny_odd', '2024-05-01 12:00Z', interval '-1234 hours 5 minutes'),
               ('berlin_night', '2190-05-01 12:00Z', interval '9999 hours'),
               ('berlin_night', '1910-05-01 12:00Z', interval '-9999 hours')) AS v(cal, a, d);

-- after 2200 the clock changes repeat every 400 years.  PostgreSQL's lookup of
-- the next change reports none right at the autumn change of 2769 (the last
-- change of its table, 2369, plus 400 years); the changes after it were once
-- lost: 4369 hours and a "lost its way" internal error
INSERT INTO calendar VALUES
  ('berlin_247', 'Europe/Berlin', '{1,2,3,4,5,6,7}', '00:00', '24:00'),
  ('berlin_sun', 'Europe/Berlin', '{7}', '02:00', '03:00');
INSERT INTO holiday VALUES ('berlin_sun', '3170-03-29', 'a spring change Sunday');
SELECT business_time('2769-10-01 00:00Z', '2770-04-01 00:00Z', 'berlin_247') AS half_year,
       '2770-04-01 00:00Z'::timestamptz - '2769-10-01 00:00Z' AS elapsed,
       business_time('2769-10-01 00:00Z', '2769-12-31 00:00Z', 'berlin_247')
       + business_time('2769-12-31 00:00Z', '2770-04-01 00:00Z', 'berlin_247') AS in_two_parts,
       business_add('2769-10-01 00:00Z', '4368 hours', 'berlin_247') AS add;
SELECT business_add('2768-01-01 00:00Z', '115 hours', 'berlin_sun') AS add,
       pg_temp.ref_bt('2768-01-01 00:00Z', business_add('2768-01-01 00:00Z', '115 hours', 'berlin_sun'),
                      'berlin_sun') / 3600 AS reference_hours;
-- the same across later cycles and in other zones, against the reference
SELECT cal, a, count(*) FILTER (WHERE pg_temp.secs(business_time(a, b, cal)) <> pg_temp.ref_bt(a, b, cal)) AS mismatches,
       count(*) FILTER (WHERE business_time(a, business_add(a, business_time(a, b, cal), cal), cal)
                              <> business_time(a, b, cal)) AS round_trip_mismatches
  FROM (VALUES ('berlin_247'), ('berlin_sun'), ('ny_all'), ('berlin_night')) AS c(cal),
       (VALUES ('2769-09-01 00:00Z'::timestamptz), ('3169-10-20 12:00Z'), ('100369-10-01 00:00Z')) AS s(a),
       LATERAL (SELECT a + k * interval '37 days 5 hours' AS b FROM generate_series(1, 12) AS k) AS e
 GROUP BY cal, a ORDER BY cal, a;
-- 24x7: the working time of any span is its length, at a cost independent of it
SELECT business_time('2201-01-01 00:00Z', '294276-06-01 00:00Z', 'berlin_247')
       = '294276-06-01 00:00Z'::timestamptz - '2201-01-01 00:00Z' AS whole_future,
       business_time('2300-01-01 00:00Z', business_add('2300-01-01 00:00Z', '2000000000 hours', 'berlin_247'),
                     'berlin_247') AS round_trip;
