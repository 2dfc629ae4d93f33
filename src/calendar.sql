
----------------------------------------------------------------------------
-- business calendars (src/calendar.c)
----------------------------------------------------------------------------

CREATE FUNCTION @extschema@.is_valid_time_zone(name text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'lf_is_valid_time_zone'
  LANGUAGE C STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.is_valid_time_zone(text) IS
  'true when the name is a time zone a calendar can use (the names SET timezone accepts)';

CREATE FUNCTION @extschema@.lf_calendar_check() RETURNS trigger
  AS 'MODULE_PATHNAME', 'lf_calendar_check'
  LANGUAGE C SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.lf_calendar_check() IS
  'trigger: rejects a calendar row with an unknown time zone, bad workdays or day_end <= day_start';
REVOKE ALL ON FUNCTION @extschema@.lf_calendar_check() FROM PUBLIC;

CREATE TABLE @extschema@.calendar (
  name      text PRIMARY KEY,
  time_zone text NOT NULL,
  workdays  int[] NOT NULL,
  day_start time NOT NULL,
  day_end   time NOT NULL
);
COMMENT ON TABLE @extschema@.calendar IS
  'business calendars: working days and hours in a time zone, used by business_time and business_add';
COMMENT ON COLUMN @extschema@.calendar.name IS 'name of the calendar';
COMMENT ON COLUMN @extschema@.calendar.time_zone IS
  'time zone whose wall clock day_start and day_end refer to, e.g. Europe/Berlin';
COMMENT ON COLUMN @extschema@.calendar.workdays IS
  'ISO weekdays that are worked: 1 = Monday .. 7 = Sunday, each at most once';
COMMENT ON COLUMN @extschema@.calendar.day_start IS 'local time the working day starts';
COMMENT ON COLUMN @extschema@.calendar.day_end IS
  'local time the working day ends, later than day_start (24:00 = midnight at the end of the day)';

CREATE TRIGGER calendar_check BEFORE INSERT OR UPDATE ON @extschema@.calendar
  FOR EACH ROW EXECUTE FUNCTION @extschema@.lf_calendar_check();
CREATE TRIGGER calendar_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.calendar
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_config_changed();

INSERT INTO @extschema@.calendar VALUES ('default', 'UTC', '{1,2,3,4,5}', '09:00', '17:00');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.calendar', '');

CREATE TABLE @extschema@.holiday (
  calendar text NOT NULL REFERENCES @extschema@.calendar (name)
           ON UPDATE CASCADE ON DELETE CASCADE,
  day      date NOT NULL,
  name     text,
  PRIMARY KEY (calendar, day)
);
COMMENT ON TABLE @extschema@.holiday IS
  'days on which a calendar does not work (business_time counts nothing on them)';
COMMENT ON COLUMN @extschema@.holiday.calendar IS 'the calendar the holiday belongs to';
COMMENT ON COLUMN @extschema@.holiday.day IS 'the local date of the holiday';
COMMENT ON COLUMN @extschema@.holiday.name IS 'name of the holiday, e.g. Tag der Deutschen Einheit';

CREATE TRIGGER holiday_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.holiday
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lf_config_changed();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.holiday', '');

-- business_time and business_add carry no SET search_path: a SET clause makes
-- every call save and restore the GUC (about 10 times the cost of the
-- computation itself), and the C code resolves no names through the search
-- path: its only queries (loading a calendar) are fully schema-qualified,
-- operators included.
CREATE FUNCTION @extschema@.business_time(
    "from" timestamptz, "to" timestamptz, calendar text DEFAULT 'default')
  RETURNS interval
  AS 'MODULE_PATHNAME', 'lf_business_time_sql'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.business_time(timestamptz, timestamptz, text) IS
  'working time between two instants in a calendar (its days, hours, time zone and holidays); negative when "to" < "from"';

CREATE FUNCTION @extschema@.business_add(
    "from" timestamptz, amount interval, calendar text DEFAULT 'default')
  RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'lf_business_add_sql'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.business_add(timestamptz, interval, text) IS
  'earliest instant t with business_time("from", t) = amount (for a negative amount the latest one before "from"); days count as 24 hours, months are an error';

-- Easter Sunday of a Gregorian year (anonymous Gregorian computus)
CREATE FUNCTION @extschema@.easter_sunday(year int) RETURNS date
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
  RETURN (
    SELECT pg_catalog.make_date(year, (h + l - 7 * m + 114) / 31,
                                ((h + l - 7 * m + 114) % 31) + 1)
      FROM (SELECT a, b, c, d, e, h, i, k, l, (a + 11 * h + 22 * l) / 451 AS m
              FROM (SELECT a, b, c, d, e, h, i, k,
                           (32 + 2 * e + 2 * i - h - k) % 7 AS l
                      FROM (SELECT a, b, c, d, e,
                                   (19 * a + b - d - g + 15) % 30 AS h,
                                   c / 4 AS i, c % 4 AS k
                              FROM (SELECT a, b, c, b / 4 AS d, b % 4 AS e,
                                           (b - (b + 8) / 25 + 1) / 3 AS g
                                      FROM (SELECT year % 19 AS a, year / 100 AS b,
                                                   year % 100 AS c) s0) s1) s2) s3) s4);
COMMENT ON FUNCTION @extschema@.easter_sunday(int) IS
  'date of Easter Sunday in a year of the Gregorian calendar';

-- The statutory public holidays of a German state in one year, each
-- state-specific day from the year its law took effect.  Days that hold only
-- in some municipalities (Fronleichnam in parts of SN and TH, the Augsburger
-- Friedensfest) are left out; Mariä Himmelfahrt counts for all of BY.
-- Sundays are listed only where a state's law names them (Oster- and
-- Pfingstsonntag in BB).  Years start at 1991: in 1990 the eastern states'
-- laws were not yet in force and the west still kept 17 June.
CREATE FUNCTION @extschema@.german_holidays(year int, state text)
  RETURNS TABLE (day date, name text)
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  e date := @extschema@.easter_sunday(year);
  s text := pg_catalog.upper(pg_catalog.btrim(state));
BEGIN
  IF s <> ALL ('{BW,BY,BE,BB,HB,HH,HE,MV,NI,NW,RP,SL,SN,ST,SH,TH}'::text[]) THEN
    RAISE EXCEPTION 'unknown German state "%"', state
      USING ERRCODE = '22023',
            HINT = 'Valid codes: BW, BY, BE, BB, HB, HH, HE, MV, NI, NW, RP, SL, SN, ST, SH, TH.';
  END IF;
  IF year < 1991 OR year > 2200 THEN
    RAISE EXCEPTION 'year % is out of range for German holidays', year
      USING ERRCODE = '22023',
            HINT = 'Years from 1991 (the first full year of the current states'' laws) to 2200 are supported.';
  END IF;
  RETURN QUERY
  SELECT v.day, v.name FROM (VALUES
    (pg_catalog.make_date(year, 1, 1), 'Neujahr', true),
    (pg_catalog.make_date(year, 1, 6), 'Heilige Drei Könige',
       s IN ('BW', 'BY') OR (s = 'ST' AND year >= 1991)),
    (pg_catalog.make_date(year, 3, 8), 'Internationaler Frauentag',
       (s = 'BE' AND year >= 2019) OR (s = 'MV' AND year >= 2023)),
    (e - 2, 'Karfreitag', true),
    (e, 'Ostersonntag', s = 'BB'),
    (e + 1, 'Ostermontag', true),
    (pg_catalog.make_date(year, 5, 1), 'Tag der Arbeit', true),
    (pg_catalog.make_date(year, 5, 8), 'Tag der Befreiung', s = 'BE' AND year IN (2020, 2025)),
    (e + 39, 'Christi Himmelfahrt', true),
    (e + 49, 'Pfingstsonntag', s = 'BB'),
    (e + 50, 'Pfingstmontag', true),
    (e + 60, 'Fronleichnam', s IN ('BW', 'BY', 'HE', 'NW', 'RP', 'SL')),
    (pg_catalog.make_date(year, 8, 15), 'Mariä Himmelfahrt', s IN ('SL', 'BY')),
    (pg_catalog.make_date(year, 9, 20), 'Weltkindertag', s = 'TH' AND year >= 2019),
    (pg_catalog.make_date(year, 10, 3), 'Tag der Deutschen Einheit', true),
    (pg_catalog.make_date(year, 10, 31), 'Reformationstag',
       s IN ('BB', 'MV', 'SN', 'ST', 'TH')
       OR (s IN ('HB', 'HH', 'NI', 'SH') AND year >= 2018)
       OR year = 2017),
    (pg_catalog.make_date(year, 11, 1), 'Allerheiligen', s IN ('BW', 'BY', 'NW', 'RP', 'SL')),
    -- Wednesday before 23 November; nationwide until 1994
    (pg_catalog.make_date(year, 11, 22)
       - ((pg_catalog.date_part('isodow', pg_catalog.make_date(year, 11, 22))::int + 4) % 7),
       'Buß- und Bettag', s = 'SN' OR year <= 1994),
    (pg_catalog.make_date(year, 12, 25), '1. Weihnachtstag', true),
    (pg_catalog.make_date(year, 12, 26), '2. Weihnachtstag', true)
  ) AS v(day, name, holds)
  WHERE v.holds
  ORDER BY v.day;
END
$$;
COMMENT ON FUNCTION @extschema@.german_holidays(int, text) IS
  'statutory public holidays of a German federal state (BW, BY, BE, ...) in a year from 1991 to 2200';

CREATE FUNCTION @extschema@.add_german_holidays(
    calendar text, from_year int, to_year int, state text)
  RETURNS int
  LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n int;
BEGIN
  IF NOT EXISTS (SELECT FROM @extschema@.calendar c
                  WHERE c.name OPERATOR(pg_catalog.=) add_german_holidays.calendar) THEN
    RAISE EXCEPTION 'calendar "%" does not exist', calendar
      USING ERRCODE = '42704', HINT = 'Calendars are rows of lead_funnel.calendar.';
  END IF;
  IF pg_catalog.upper(pg_catalog.btrim(state)) <> ALL
       ('{BW,BY,BE,BB,HB,HH,HE,MV,NI,NW,RP,SL,SN,ST,SH,TH}'::text[]) THEN
    RAISE EXCEPTION 'unknown German state "%"', state
      USING ERRCODE = '22023',
            HINT = 'Valid codes: BW, BY, BE, BB, HB, HH, HE, MV, NI, NW, RP, SL, SN, ST, SH, TH.';
  END IF;
  IF from_year > to_year THEN
    RAISE EXCEPTION 'from_year % is after to_year %', from_year, to_year
      USING ERRCODE = '22023';
  END IF;
  IF from_year < 1991 OR to_year > 2200 THEN
    RAISE EXCEPTION 'years % to % are out of range for German holidays', from_year, to_year
      USING ERRCODE = '22023',
            HINT = 'Years from 1991 (the first full year of the current states'' laws) to 2200 are supported.';
  END IF;
  INSERT INTO @extschema@.holiday (calendar, day, name)
  SELECT add_german_holidays.calendar, h.day, h.name
    FROM pg_catalog.generate_series(from_year, to_year) AS y,
         @extschema@.german_holidays(y, state) AS h
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.add_german_holidays(text, int, int, text) IS
  'inserts the statutory public holidays of a German state (BW, BY, BE, BB, HB, HH, HE, MV, NI, NW, RP, SL, SN, ST, SH, TH) for the years into a calendar; skips days already present and returns the number of rows inserted';
