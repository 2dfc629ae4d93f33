-- German statutory public holidays
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;

CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Easter Sunday (Gregorian computus)
SELECT y, easter_sunday(y)
  FROM unnest('{1991,2000,2008,2011,2019,2024,2025,2026,2038,2100,2200}'::int[]) AS y;

-- Bavaria 2024 and 2026: every day with its name
SELECT day, to_char(day, 'Dy') AS dow, name FROM german_holidays(2024, 'BY');
SELECT day, name FROM german_holidays(2026, 'BY');
-- Berlin 2025: Frauentag and the one-off Tag der Befreiung
SELECT day, name FROM german_holidays(2025, 'BE');
-- Saxony 2024: Reformationstag and Buß- und Bettag (20 November)
SELECT day, name FROM german_holidays(2024, 'SN');
-- Buß- und Bettag always falls on the Wednesday between 16 and 22 November
SELECT y, day, to_char(day, 'Dy') AS dow
  FROM generate_series(2020, 2027) AS y, german_holidays(y, 'SN')
 WHERE name = 'Buß- und Bettag';
-- Reformationstag: nationwide in 2017 only; in the northern states from 2018
SELECT s, array_agg(y ORDER BY y) AS years
  FROM unnest('{NW,NI,HB,HH,SH,BB,BW}'::text[]) AS s, generate_series(2015, 2019) AS y,
       german_holidays(y, s)
 WHERE name = 'Reformationstag'
 GROUP BY s ORDER BY s;
-- state days from the year their law took effect
SELECT s, name, min(y) AS first_year, count(*) AS years
  FROM unnest('{BE,MV,TH}'::text[]) AS s, generate_series(2015, 2026) AS y,
       german_holidays(y, s)
 WHERE name IN ('Internationaler Frauentag', 'Weltkindertag', 'Tag der Befreiung')
 GROUP BY s, name ORDER BY s, name;
-- Buß- und Bettag nationwide until 1994
SELECT y, count(*) FILTER (WHERE name = 'Buß- und Bettag') AS states
  FROM generate_series(1993, 1996) AS y,
       unnest('{BW,BY,BE,BB,HB,HH,HE,MV,NI,NW,RP,SL,SN,ST,SH,TH}'::text[]) AS s,
       german_holidays(y, s)
 GROUP BY y ORDER BY y;
-- number of holidays of every state in 2024 and 2025, and which state days apply
SELECT s, count(*) FILTER (WHERE extract(year FROM day) = 2024) AS n2024,
       count(*) FILTER (WHERE extract(year FROM day) = 2025) AS n2025,
       string_agg(DISTINCT name, ', ' ORDER BY name) FILTER (WHERE name NOT IN
         ('Neujahr', 'Karfreitag', 'Ostermontag', 'Tag der Arbeit', 'Christi Himmelfahrt',
          'Pfingstmontag', 'Tag der Deutschen Einheit', '1. Weihnachtstag',
          '2. Weihnachtstag')) AS state_days
  FROM unnest('{BW,BY,BE,BB,HB,HH,HE,MV,NI,NW,RP,SL,SN,ST,SH,TH}'::text[]) AS s,
       generate_series(2024, 2025) AS y, german_holidays(y, s)
 GROUP BY s ORDER BY s;
-- state codes are case-insensitive
SELECT count(*) FROM german_holidays(2024, ' by ');

-- add_german_holidays: rows inserted, existing days skipped
INSERT INTO calendar VALUES ('bayern', 'Europe/Berlin', '{1,2,3,4,5}', '08:00', '17:00');
SELECT add_german_holidays('bayern', 2026, 2027, 'BY');
SELECT add_german_holidays('bayern', 2026, 2027, 'BY');
SELECT add_german_holidays('bayern', 2025, 2027, 'BY');
SELECT extract(year FROM day) AS year, count(*) FROM holiday GROUP BY 1 ORDER BY 1;
-- a hand-made holiday stays as it is
INSERT INTO holiday VALUES ('bayern', '2028-01-01', 'Betriebsruhe');
SELECT add_german_holidays('bayern', 2028, 2028, 'BY');
SELECT day, name FROM holiday WHERE day = '2028-01-01';
-- the holidays count: Holy Week 2026 in Bavaria (Good Friday 3 April, Easter Monday 6 April)
SELECT business_time('2026-03-30 00:00+02', '2026-04-13 00:00+02', 'bayern');

-- invalid input: unknown state
SELECT add_german_holidays('bayern', 2026, 2026, 'XX');
SELECT pg_temp.try($$SELECT lead_funnel.add_german_holidays('bayern', 2026, 2026, '')$$);
SELECT pg_temp.try($$SELECT * FROM lead_funnel.german_holidays(2026, 'Bayern')$$);
-- invalid input: years out of range or reversed
SELECT add_german_holidays('bayern', 1990, 2000, 'BY');
SELECT pg_temp.try($$SELECT lead_funnel.add_german_holidays('bayern', 2026, 2201, 'BY')$$);
SELECT pg_temp.try($$SELECT lead_funnel.add_german_holidays('bayern', 2027, 2026, 'BY')$$);
SELECT pg_temp.try($$SELECT * FROM lead_funnel.german_holidays(1800, 'BY')$$);
-- invalid input: unknown calendar
SELECT add_german_holidays('nope', 2026, 2026, 'BY');
SELECT pg_temp.try($$SELECT lead_funnel.add_german_holidays('nope', 2026, 2026, 'BY')$$);
-- NULL arguments: STRICT, nothing inserted
SELECT add_german_holidays('bayern', NULL, 2026, 'BY') IS NULL AS is_null;

-- the scripts are UTF-8 (encoding = UTF8 in the control file): in a LATIN1
-- database the holiday names arrive intact, and the funnel chart is ASCII
SELECT current_database() AS regress_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS lead_funnel_latin1;
RESET client_min_messages;
CREATE DATABASE lead_funnel_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c lead_funnel_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION lead_funnel;
SELECT lead_funnel.add_german_holidays('default', 2026, 2026, 'BY');
SELECT name, convert_to(name, 'LATIN1') AS latin1_bytes FROM lead_funnel.holiday WHERE name ~ '^(Heilige|Mari)' ORDER BY day;
SELECT lead_funnel.funnel_svg('2026-01-01', '2026-02-01') ~ '^[[:ascii:]]*$' AS chart_is_ascii;
\c :regress_db
DROP DATABASE lead_funnel_latin1;
