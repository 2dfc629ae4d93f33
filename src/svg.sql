
----------------------------------------------------------------------------
-- pictures: the funnel chart as SVG (SPEC §9)
----------------------------------------------------------------------------
--
-- Written in PL/pgSQL rather than C: the work is one aggregate over lead plus
-- string formatting of a dozen elements, which format() does clearly; C would
-- add buffer handling and nothing measurable.  Every piece of text goes
-- through svg_escape(), so the output is well-formed XML whatever the labels
-- hold.  The chart is self-contained (no external fonts, styles or scripts),
-- so a browser renders it and a BI tool can show it in an HTML panel.

CREATE FUNCTION @extschema@.svg_escape(text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
  RETURN replace(replace(replace(replace(replace($1, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                         '"', '&quot;'), '''', '&apos;');
COMMENT ON FUNCTION @extschema@.svg_escape(text) IS
  'text escaped for XML content and attribute values (& < > " '')';
REVOKE ALL ON FUNCTION @extschema@.svg_escape(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.funnel_svg("from" timestamptz DEFAULT now() - interval '90 days',
                                       "to" timestamptz DEFAULT now())
  RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t0      timestamptz := funnel_svg."from";
  t1      timestamptz := funnel_svg."to";
  counts  bigint[];
  labels  text[];
  colors  text[] := ARRAY['#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
  width   constant int := 900;
  height  constant int := 540;
  bar_x   constant int := 190;      -- bars are centred in [bar_x, bar_x + bar_w]
  bar_w   constant int := 520;
  top_y   constant int := 96;
  pitch   constant int := 70;
  bar_h   constant int := 42;
  biggest bigint;
  w       numeric;
  y       int;
  title   text;
  svg     text;
  i       int;
BEGIN
  IF t0 IS NULL OR t1 IS NULL THEN
    RAISE EXCEPTION 'window bounds must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT isfinite(t0) OR NOT isfinite(t1) THEN
    RAISE EXCEPTION 'window bounds must be finite' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF t0 > t1 THEN
    RAISE EXCEPTION 'window start % is later than its end %', t0, t1
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass the earlier instant first.';
  END IF;

  -- a lead counts for a stage when it reached that stage or a later one in
  -- [from, to): reaching a later stage implies passing the earlier ones.
  -- From the ledger, not from lead's first-reached columns: a lead reaches
  -- a stage again (a customer who comes back and is won again, a recycled
  -- lead handed over again), and the window may hold only that second time.
  SELECT ARRAY[count(*) FILTER (WHERE d >= 1), count(*) FILTER (WHERE d >= 2),
               count(*) FILTER (WHERE d >= 3), count(*) FILTER (WHERE d >= 4),
               count(*) FILTER (WHERE d >= 5), count(*) FILTER (WHERE d >= 6)]
    INTO counts
    FROM (SELECT max(@extschema@.depth(e.to_stage)) AS d
            FROM @extschema@.stage_event AS e
           WHERE e.occurred_at >= t0 AND e.occurred_at < t1
           GROUP BY e.lead_key) AS x;
  SELECT array_agg(@extschema@.label(s) ORDER BY @extschema@.depth(s)) INTO labels
    FROM @extschema@.all_stages() AS s
   WHERE @extschema@.depth(s) IS NOT NULL;
  biggest := (SELECT max(c) FROM unnest(counts) AS c);

  -- (the chart is ASCII: the dash and the arrow are character references,
  -- so it reads the same in a database of any encoding)
  title := format('Lead funnel %s %s %s', to_char(t0, 'YYYY-MM-DD'), E'\x02', to_char(t1, 'YYYY-MM-DD'));
  svg := format('<?xml version="1.0" encoding="UTF-8"?>' || E'\n' ||
                '<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-labelledby="lf-title lf-desc" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">' || E'\n' ||
                '<title id="lf-title">%s</title>' || E'\n' ||
                '<desc id="lf-desc">%s</desc>' || E'\n' ||
                '<rect x="0" y="0" width="%s" height="%s" fill="#ffffff"/>' || E'\n' ||
                '<text x="24" y="40" font-size="24" font-weight="bold" fill="#1a1a1a">%s</text>' || E'\n' ||
                '<text x="24" y="66" font-size="14" fill="#555555">%s</text>' || E'\n',
                width, height, width, height,
                replace(@extschema@.svg_escape(title), E'\x02', '&#8211;'),
                @extschema@.svg_escape(format('Leads that reached each funnel stage (or a later one) between %s and %s: %s',
                                              t0, t1, array_to_string(counts, ', '))),
                width, height,
                replace(@extschema@.svg_escape(title), E'\x02', '&#8211;'),
                @extschema@.svg_escape('Leads that reached each stage in the window, and the share that went on to the next stage'));

  FOR i IN 1 .. 6 LOOP
    y := top_y + (i - 1) * pitch;
    w := CASE WHEN biggest > 0 THEN round(bar_w * counts[i]::numeric / biggest, 1) ELSE 0 END;
    IF w < 2 THEN
      w := 2;                         -- an empty stage still shows where it is
    END IF;
    svg := svg || format(
      '<text x="24" y="%s" font-size="17" fill="#1a1a1a">%s</text>' || E'\n' ||
      '<rect x="%s" y="%s" width="%s" height="%s" rx="4" fill="%s"/>' || E'\n' ||
      '<text x="%s" y="%s" font-size="17" font-weight="bold" fill="#1a1a1a">%s</text>' || E'\n',
      y + 27, @extschema@.svg_escape(labels[i]),
      round(bar_x + (bar_w - w) / 2, 1), y, w, bar_h, colors[i],
      bar_x + bar_w + 24, y + 27, @extschema@.svg_escape(counts[i]::text));
    IF i < 6 THEN
      svg := svg || format(
        '<text x="%s" y="%s" font-size="13" fill="#555555" text-anchor="middle">%s</text>' || E'\n',
        bar_x + bar_w / 2, y + bar_h + 19,
        replace('&#9660; ' || @extschema@.svg_escape(CASE WHEN counts[i] = 0 THEN E'\x02 to ' || labels[i + 1]
                                    ELSE to_char(100.0 * counts[i + 1] / counts[i], 'FM990.0')
                                         || ' % to ' || labels[i + 1] END), E'\x02', '&#8211;'));
    END IF;
  END LOOP;
  IF biggest = 0 THEN
    svg := svg || format('<text x="%s" y="%s" font-size="15" fill="#b00020" text-anchor="middle">%s</text>' || E'\n',
                         width / 2, height - 14,
                         @extschema@.svg_escape('No lead reached the funnel in this window.'));
  END IF;
  RETURN svg || '</svg>' || E'\n';
END
$$;
COMMENT ON FUNCTION @extschema@.funnel_svg(timestamptz, timestamptz) IS
  'the funnel as a self-contained SVG chart: one bar per stage (prospect .. customer), proportional to the leads that reached the stage or a later one in [from, to), with counts and stage-to-stage conversion rates';
REVOKE ALL ON FUNCTION @extschema@.funnel_svg(timestamptz, timestamptz) FROM PUBLIC;
