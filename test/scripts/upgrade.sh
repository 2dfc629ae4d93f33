#!/usr/bin/env bash
# upgrade.sh -- upgrade scripts are tested by installing the old version and
# updating (SPEC section 12).
#
# Scheme (see README "Upgrading"):
#   - lead_funnel--X.sql of the current version X (default_version in
#     lead_funnel.control) is built from src/*.sql.
#   - At each release, before the control file is bumped, the built script of
#     the released version is frozen as src/upgrade/lead_funnel--X.sql
#     (cp lead_funnel--X.sql src/upgrade/), and the delta to the next version
#     is written as src/upgrade/lead_funnel--X--Y.sql.
#   - The Makefile installs src/upgrade/lead_funnel--*.sql (frozen full
#     scripts and deltas) except a frozen copy of the current version, which
#     the built script provides.
#
# This test asks the installed server which versions it can install
# (pg_available_extension_versions) and, for every version other than the
# default that has an update path to it, creates the extension at that
# version in a fresh database, walks ALTER EXTENSION lead_funnel UPDATE to the
# default version and compares the result with a fresh install of the default
# version: member objects (pg_describe_object of the deptype 'e' rows),
# function definitions (pg_get_functiondef), view definitions
# (pg_get_viewdef), table columns with types, defaults and NOT NULL,
# constraints, indexes, triggers, comments, privileges, the tables registered
# for pg_dump, and the rows of the config tables.  While 0.1.0 is the only
# version, it does the same from 0.1.0 itself (the update is a no-op), so the
# comparison machinery is exercised from day one.
#
# Run by test/tools/pgenv.sh (make test).  Prints TAP.  Drops its databases.
set -uo pipefail

OLD=lf_upgrade_old
NEW=lf_upgrade_new
WORK=$(mktemp -d "$LF_ROOT/upgrade.XXXXXX")
n=0

. "$(dirname "$0")/../tools/tap.sh"

q() {				# q <db> <sql>
    "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

dropdbs() {
    for db in $OLD $NEW; do
        "$PGBIN/psql" -X -q -d postgres -c "SET client_min_messages = warning" \
            -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    done
}
trap 'dropdbs; [ -n "${LF_DEBUG:-}" ] || rm -rf "$WORK"' EXIT
dropdbs

# everything about the installed extension that an upgrade must get right,
# one line per object (newlines written as \n), sorted
describe() {			# describe <db>
    "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
WITH members AS (
  SELECT d.classid, d.objid, d.objsubid
    FROM pg_depend AS d JOIN pg_extension AS e ON d.refobjid = e.oid
   WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'lead_funnel'
), rels AS (
  SELECT c.oid, c.oid::regclass::text AS name, c.relkind
    FROM pg_class AS c WHERE c.relnamespace = 'lead_funnel'::regnamespace
)
SELECT replace(line, E'\n', '\n') FROM (
  SELECT 'member ' || pg_describe_object(classid, objid, objsubid) AS line FROM members
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text || E'\n' || pg_get_functiondef(p.oid)
    FROM pg_proc AS p WHERE p.pronamespace = 'lead_funnel'::regnamespace AND p.prokind <> 'a'
  UNION ALL
  SELECT 'aggregate ' || p.oid::regprocedure::text || ' ' || a.aggtransfn::text || ' ' || a.aggsortop::regoperator::text
    FROM pg_proc AS p JOIN pg_aggregate AS a ON a.aggfnoid = p.oid
   WHERE p.pronamespace = 'lead_funnel'::regnamespace
  UNION ALL
  SELECT 'acl ' || p.oid::regprocedure::text || ' ' || coalesce(p.proacl::text, 'default')
    FROM pg_proc AS p WHERE p.pronamespace = 'lead_funnel'::regnamespace
  UNION ALL
  SELECT 'view ' || r.name || E'\n' || pg_get_viewdef(r.oid) FROM rels AS r WHERE r.relkind IN ('v', 'm')
  UNION ALL
  SELECT 'column ' || r.name || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || coalesce(' collate ' || nullif(co.collname, 'default'), '')
         || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
         || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
         || coalesce(' comment ' || col_description(r.oid, a.attnum), '')
    FROM rels AS r JOIN pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef AS ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
    LEFT JOIN pg_collation AS co ON co.oid = a.attcollation AND a.attcollation <> 0
   WHERE r.relkind IN ('r', 'p', 'v', 'm')
  UNION ALL
  SELECT 'relation ' || r.name || ' ' || r.relkind::text || ' ' || coalesce(c.relacl::text, 'default')
         || coalesce(' comment ' || obj_description(r.oid, 'pg_class'), '')
    FROM rels AS r JOIN pg_class AS c ON c.oid = r.oid
  UNION ALL
  SELECT 'constraint ' || co.conrelid::regclass::text || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
    FROM pg_constraint AS co JOIN rels AS r ON r.oid = co.conrelid
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index AS i JOIN rels AS r ON r.oid = i.indrelid
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger AS t JOIN rels AS r ON r.oid = t.tgrelid
   WHERE NOT t.tgisinternal
  UNION ALL
  SELECT 'comment function ' || p.oid::regprocedure::text || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '(none)')
    FROM pg_proc AS p WHERE p.pronamespace = 'lead_funnel'::regnamespace
  UNION ALL
  SELECT 'dumped ' || x.cfg::regclass::text || ' ' || coalesce(x.cond, '')
    FROM pg_extension AS e, unnest(e.extconfig, e.extcondition) AS x(cfg, cond)
   WHERE e.extname = 'lead_funnel'
  UNION ALL
  SELECT 'extension ' || e.extversion || ' ' || e.extrelocatable || ' ' || e.extnamespace::regnamespace::text
    FROM pg_extension AS e WHERE e.extname = 'lead_funnel'
) AS all_lines
ORDER BY line COLLATE "C";
SQL
}

# the installed rows of the config tables
config_rows() {			# config_rows <db>
    "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
DO $$
DECLARE
  r record;
  h text;
BEGIN
  CREATE TEMP TABLE rows_fp (name text, fp text);
  FOR r IN SELECT x.cfg::regclass AS rel
             FROM pg_extension AS e, unnest(e.extconfig) AS x(cfg)
            WHERE e.extname = 'lead_funnel' AND (SELECT relkind FROM pg_class WHERE oid = x.cfg) = 'r'
  LOOP
    EXECUTE format('SELECT count(*) || '':'' || coalesce(md5(string_agg(t::text, '','' ORDER BY t::text)), '''') FROM %s AS t', r.rel)
      INTO h;
    INSERT INTO rows_fp VALUES (r.rel::text, h);
  END LOOP;
END
$$;
SELECT name || ' ' || fp FROM rows_fp ORDER BY name;
SQL
}

default=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" \
    "$("$PGBIN/pg_config" --sharedir)/extension/lead_funnel.control")
[ -n "$default" ]
ok $? "default version read from the installed lead_funnel.control: $default"

# every installable version with an update path to the default version
q postgres "CREATE DATABASE $NEW" >/dev/null
starts=$(q $NEW "SELECT source FROM pg_extension_update_paths('lead_funnel')
                  WHERE target = '$default' AND path IS NOT NULL
                  ORDER BY string_to_array(source, '.')::int[]" 2>&1)
if [ -z "$starts" ]; then
    echo "# no older version with an update path to $default: updating $default to itself"
    starts=$default
fi
others=$(q $NEW "SELECT string_agg(version, ' ') FROM pg_available_extension_versions
                  WHERE name = 'lead_funnel' AND version <> '$default'
                    AND version NOT IN (SELECT source FROM pg_extension_update_paths('lead_funnel')
                                         WHERE target = '$default' AND path IS NOT NULL)")
[ -z "$others" ]
ok $? "every installable older version has an update path to $default${others:+ (missing: $others)}"

q $NEW "SET client_min_messages = warning; CREATE EXTENSION lead_funnel" >/dev/null
ok $? "fresh install of $default"
describe $NEW >"$WORK/new.txt" 2>&1 && config_rows $NEW >"$WORK/new.rows" 2>&1 &&
    [ "$(grep -c '^member ' "$WORK/new.txt")" -gt 50 ]
ok $? "fresh install described ($(grep -c '^member ' "$WORK/new.txt") member objects)"

for start in $starts; do
    "$PGBIN/psql" -X -q -d postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $OLD WITH (FORCE)" -c "CREATE DATABASE $OLD" >/dev/null
    q $OLD "SET client_min_messages = warning; CREATE EXTENSION lead_funnel VERSION '$start'" >"$WORK/old.err" 2>&1
    ok $? "CREATE EXTENSION lead_funnel VERSION '$start'"
    q $OLD "SET client_min_messages = warning; ALTER EXTENSION lead_funnel UPDATE" >>"$WORK/old.err" 2>&1
    ok $? "ALTER EXTENSION lead_funnel UPDATE from $start"
    sed 's/^/#   /' "$WORK/old.err"
    v=$(q $OLD "SELECT extversion FROM pg_extension WHERE extname = 'lead_funnel'")
    [ "$v" = "$default" ]
    ok $? "$start updated to $default (got $v)"

    describe $OLD >"$WORK/old.txt" 2>&1 && config_rows $OLD >"$WORK/old.rows" 2>&1
    ok $? "from $start: updated extension described"
    for kind in member function aggregate acl view column relation constraint index trigger comment dumped extension; do
        diff <(grep "^$kind " "$WORK/old.txt") <(grep "^$kind " "$WORK/new.txt") >"$WORK/$kind.diff"
        ok $? "from $start: $kind objects identical to a fresh install"
        [ -s "$WORK/$kind.diff" ] && head -20 "$WORK/$kind.diff" | cut -c1-300 | sed 's/^/#   /'
    done
    diff "$WORK/old.rows" "$WORK/new.rows" >"$WORK/rows.diff"
    ok $? "from $start: installed rows of the config tables identical to a fresh install"
    [ -s "$WORK/rows.diff" ] && sed 's/^/#   /' "$WORK/rows.diff"
done

echo "1..$n"
exit 0
