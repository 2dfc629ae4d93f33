#!/usr/bin/env bash
# dump_restore.sh -- pg_dump / pg_restore of a database using lead_funnel
# (SPEC section 12: "restores config and ledger exactly").
#
# Builds a database with an attached CRM table (every kind of option), edited
# config (installed rows changed, rows added to every config table) and a
# ledger filled by every writer (CRM trigger, move(), record_activity,
# record_deal, sla_sweep, on_invalid = record, snapshot_kpis), then dumps it
# in custom format and restores it with pg_restore into a new database, and
# once more in plain format through psql.  Checks on each restored copy:
#   - every table of schema lead_funnel and the CRM table hold the same rows
#     (md5 over the rows sorted by their text form)
#   - every sequence of lead_funnel has the same state, and a new move gets an
#     event_id above the old maximum
#   - the CRM table has the same two triggers (pg_get_triggerdef)
#   - every view of lead_funnel whose definition does not read the clock
#     returns the same rows; views that do (now(), current_date ...) are
#     listed as "# not compared" lines, because now() differs between the
#     two databases (only their row counts are compared)
#   - the restored config is in force (edited transition, added transition)
#   - a status change of the restored CRM table is recorded by the trigger
#
# Run by test/tools/pgenv.sh (make test) with PGBIN and the PG* connection
# variables set.  Prints TAP.  Drops the databases it creates.
set -uo pipefail

PSQL=("$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1)
SRC=lf_dump_src
DST=lf_dump_dst
PLAIN=lf_dump_plain
WORK=$(mktemp -d "$LF_ROOT/dump_restore.XXXXXX")
n=0
failures=0

. "$(dirname "$0")/../tools/tap.sh"

is() {				# is <got> <expected> <description>
    if [ "$1" == "$2" ]; then
        ok 0 "$3"
    else
        ok 1 "$3"
        echo "#   got:      $1"
        echo "#   expected: $2"
    fi
}

q() {				# q <db> <sql>
    "${PSQL[@]}" -d "$1" -c "$2"
}

cleanup() {
    for db in $SRC $DST $PLAIN; do
        "$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
cleanup
WORK=$(mktemp -d "$LF_ROOT/dump_restore.XXXXXX")

for db in $SRC $DST $PLAIN; do
    q postgres "CREATE DATABASE $db" >/dev/null || { echo "not ok 1 - create database $db"; exit 1; }
done

# ---- the source database --------------------------------------------------

"${PSQL[@]}" -d $SRC >"$WORK/setup.out" 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION lead_funnel;
SET search_path = public, lead_funnel;
CREATE SCHEMA crm;
CREATE TABLE crm.leads (
  id int PRIMARY KEY,
  status text,
  owner text,
  team text,
  status_reason text,
  amount numeric,
  industry text,
  employees int
);

-- config: installed rows edited, rows added
UPDATE lead_funnel.transition SET requires_reason = true
 WHERE from_stage = 'prospect' AND to_stage = 'disqualified';
INSERT INTO lead_funnel.transition VALUES ('sal', 'mql', true);
INSERT INTO lead_funnel.calendar VALUES ('bayern', 'Europe/Berlin', '{1,2,3,4,5}', '08:00', '17:00');
SELECT lead_funnel.add_german_holidays('bayern', 2026, 2027, 'BY');
UPDATE lead_funnel.sla_policy SET max_business_time = '12 hours', warn_fraction = 0.5,
       calendar = 'bayern' WHERE stage = 'mql';
UPDATE lead_funnel.scoring_model SET half_life = '14 days', mql_threshold = 50 WHERE model = 'default';
INSERT INTO lead_funnel.scoring_model VALUES ('enterprise', '60 days', 80, false);
UPDATE lead_funnel.event_type SET is_response = true WHERE event_type = 'email_open';
INSERT INTO lead_funnel.event_type VALUES ('trade_fair_visit', true);
INSERT INTO lead_funnel.team VALUES ('emea', 10, true, NULL), ('dach', 5, true, '{de,at,ch}');
INSERT INTO lead_funnel.scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'industry', '=', 'software', 20),
  ('default', 'fit', 'employees', '>=', '100', 15);
INSERT INTO lead_funnel.scoring_rule (model, dimension, event_type, points) VALUES
  ('default', 'engagement', 'form_submit', 10),
  ('enterprise', 'engagement', 'trade_fair_visit', 25);

SELECT lead_funnel.attach('crm.leads', 'id', 'status',
  '{"New": "prospect", "Marketing Qualified": "mql", "Working": "sal", "Qualified": "sql",
    "Converted": "opportunity", "Closed Won": "customer", "Closed Lost": "lost",
    "Nurture": "recycled", "Unqualified": "disqualified"}',
  '{"owner_column": "owner", "team_column": "team", "reason_column": "status_reason",
    "amount_column": "amount", "attributes": ["industry", "employees"],
    "key_prefix": "crm-", "on_invalid": "record"}');

-- the ledger: through the CRM table ...
INSERT INTO crm.leads VALUES
  (1, 'New', 'anna', NULL, NULL, NULL, 'software', 250),
  (2, 'Marketing Qualified', 'ben', NULL, NULL, NULL, 'retail', 20),
  (3, 'New', 'carl', 'emea', NULL, NULL, NULL, NULL),
  (4, 'Marketing Qualified', 'dora', NULL, NULL, NULL, 'software', 5);
UPDATE crm.leads SET status = 'Working' WHERE id = 2;
UPDATE crm.leads SET status = 'Qualified' WHERE id = 2;
UPDATE crm.leads SET status = 'Converted' WHERE id = 2;
UPDATE crm.leads SET status = 'Closed Won', amount = 12000 WHERE id = 2;
-- ... a violation (prospect -> customer is not in the graph) ...
UPDATE crm.leads SET status = 'Closed Won' WHERE id = 3;
-- ... move() ...
SELECT lead_funnel.move('M-1', 'mql', actor => 'marketing automation');
SELECT lead_funnel.move('M-1', 'sal');
SELECT lead_funnel.move('M-1', 'mql', reason => 'back to marketing check');
SELECT lead_funnel.move('M-2', 'customer');
SELECT lead_funnel.record_deal('M-2', 500);
-- ... activities, breaches, snapshots
SELECT lead_funnel.record_activity('crm-1', 'form_submit');
SELECT lead_funnel.record_activity('M-1', 'trade_fair_visit', campaign => 'fair 2026');
SELECT lead_funnel.sla_sweep(now() + interval '60 days');
SELECT lead_funnel.snapshot_kpis();
SQL
rc=$?
ok $rc "source database built"
if [ $rc -ne 0 ]; then
    sed 's/^/#   /' "$WORK/setup.out"
    echo "1..$n"
    exit 1
fi

# sanity: every kind of ledger row exists in the source
counts=$(q $SRC "SELECT (SELECT count(*) FROM lead_funnel.stage_event) > 8,
                        (SELECT count(*) FROM lead_funnel.deal) = 2,
                        (SELECT count(*) FROM lead_funnel.violation) = 1,
                        (SELECT count(*) FROM lead_funnel.sla_breach) > 0,
                        (SELECT count(*) FROM lead_funnel.activity) = 2,
                        (SELECT count(*) FROM lead_funnel.assignment) > 0,
                        (SELECT count(*) FROM lead_funnel.kpi_snapshot) > 0,
                        (SELECT count(*) FROM lead_funnel.attachment) = 1")
is "$counts" "t|t|t|t|t|t|t|t" "source ledger has events, deals, a violation, breaches, activities, assignments, snapshots, an attachment"

# ---- fingerprints ---------------------------------------------------------

# one line per table / sequence / view / trigger: name|fingerprint
fingerprint() {			# fingerprint <db> > file
    "${PSQL[@]}" -d "$1" <<'SQL'
CREATE TEMP TABLE fp (kind text, name text, fp text);
DO $$
DECLARE
  r record;
  h text;
BEGIN
  FOR r IN SELECT c.oid::regclass AS rel, c.relname, c.relkind,
                  pg_get_viewdef(c.oid) ~* '(now\(\)|current_date|current_time|localtime|clock_timestamp|statement_timestamp|transaction_timestamp)' AS clock
             FROM pg_class AS c
            WHERE (c.relnamespace = 'lead_funnel'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm'))
               OR c.oid = 'crm.leads'::regclass
  LOOP
    EXECUTE format('SELECT count(*) || '':'' || coalesce(md5(string_agg(t::text, '','' ORDER BY t::text)), '''') FROM %s AS t', r.rel)
      INTO h;
    IF r.relkind IN ('v', 'm') AND r.clock THEN
      -- reads the clock: only the number of rows can be compared
      INSERT INTO fp VALUES ('clockview', r.relname, split_part(h, ':', 1));
    ELSE
      INSERT INTO fp VALUES (CASE WHEN r.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END, r.rel::text, h);
    END IF;
  END LOOP;
END
$$;
INSERT INTO fp SELECT 'sequence', schemaname || '.' || sequencename, coalesce(last_value::text, 'null')
  FROM pg_sequences WHERE schemaname = 'lead_funnel';
INSERT INTO fp SELECT 'trigger', tgname, pg_get_triggerdef(oid)
  FROM pg_trigger WHERE tgrelid = 'crm.leads'::regclass AND NOT tgisinternal;
SELECT kind || ' ' || name || ' ' || fp FROM fp ORDER BY kind, name;
SQL
}

fingerprint $SRC >"$WORK/src.fp" 2>&1 || { echo "# fingerprint of $SRC failed:"; sed 's/^/# /' "$WORK/src.fp"; }
grep '^clockview ' "$WORK/src.fp" | while read -r _ v _; do
    echo "# view lead_funnel.$v not compared row by row: it reads the clock (now() differs between databases); row counts compared"
done
ntables=$(grep -c '^table ' "$WORK/src.fp")
nviews=$(grep -c '^view ' "$WORK/src.fp")
[ "$ntables" -ge 15 ] && [ "$nviews" -ge 5 ]
ok $? "fingerprints of $ntables tables and $nviews views taken"

# ---- restore and compare -------------------------------------------------

check_restored() {		# check_restored <db> <how>
    local db=$1 how=$2 kind
    fingerprint "$db" >"$WORK/$db.fp" 2>&1
    for kind in table sequence trigger view clockview; do
        diff <(grep "^$kind " "$WORK/src.fp") <(grep "^$kind " "$WORK/$db.fp") >"$WORK/$db.$kind.diff"
        ok $? "$how: every $kind identical"
        [ -s "$WORK/$db.$kind.diff" ] && sed 's/^/#   /' "$WORK/$db.$kind.diff" | cut -c1-200
    done

    # the config in force: the edited transition needs a reason, the added one works
    out=$(q "$db" "SELECT (lead_funnel.move('R-1', 'prospect')).event_id IS NOT NULL;
                   DO \$\$ BEGIN PERFORM lead_funnel.move('R-1', 'disqualified');
                      RAISE EXCEPTION 'moved without reason';
                      EXCEPTION WHEN SQLSTATE 'LF002' THEN NULL; END \$\$;
                   SELECT (lead_funnel.move('M-1', 'sal')).event_id IS NOT NULL;
                   SELECT (lead_funnel.move('M-1', 'mql', reason => 'again')).to_stage;" 2>&1)
    is "$(echo $out)" "t t mql" "$how: restored config in force (edited transition requires a reason, added sal->mql allowed)"

    # sequences continue
    out=$(q "$db" "SELECT (SELECT max(event_id) FROM lead_funnel.stage_event WHERE lead_key <> 'R-1' AND lead_key <> 'M-1')
                         < (SELECT min(event_id) FROM lead_funnel.stage_event WHERE lead_key = 'R-1')" 2>&1)
    is "$out" "t" "$how: a new move gets an event_id above the old maximum"

    # the CRM trigger keeps recording
    out=$(q "$db" "UPDATE crm.leads SET status = 'Marketing Qualified' WHERE id = 1;
                   SELECT e.from_stage || '>' || e.to_stage || ' ' || e.source || ' ' || l.stage
                     FROM lead_funnel.stage_event AS e JOIN lead_funnel.lead AS l USING (lead_key)
                    WHERE lead_key = 'crm-1' ORDER BY e.event_id DESC LIMIT 1;" 2>&1)
    is "$out" "prospect>mql crm:crm.leads mql" "$how: a status change of the restored CRM table is recorded by the trigger"

    # the ledger guard is back once the restore is over
    out=$(q "$db" "DO \$\$ BEGIN DELETE FROM lead_funnel.stage_event;
                      EXCEPTION WHEN SQLSTATE 'LF004' THEN RAISE NOTICE 'guarded'; END \$\$;" 2>&1)
    is "$out" "NOTICE:  guarded" "$how: the ledger is guarded after the restore"
}

"$PGBIN/pg_dump" -Fc -f "$WORK/src.dump" $SRC 2>"$WORK/dump.err"
ok $? "pg_dump -Fc"
"$PGBIN/pg_restore" --exit-on-error -d $DST "$WORK/src.dump" >"$WORK/restore.out" 2>&1
rc=$?
ok $rc "pg_restore into a new database without errors"
[ $rc -ne 0 ] && sed 's/^/#   /' "$WORK/restore.out" | head -20
check_restored $DST "custom format"

"$PGBIN/pg_dump" -Fp $SRC 2>"$WORK/dumpp.err" |
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d $PLAIN >"$WORK/plain.out" 2>&1
rc=$?
ok $rc "pg_dump -Fp | psql without errors"
[ $rc -ne 0 ] && sed 's/^/#   /' "$WORK/plain.out" | head -20
check_restored $PLAIN "plain format"

echo "1..$n"
exit 0
