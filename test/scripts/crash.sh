#!/usr/bin/env bash
# crash.sh -- crash safety of the CRM trigger (SPEC section 12: never a
# half-written state).
#
# Four psql clients change statuses of an attached CRM table in a loop, each
# on its own leads, one UPDATE ... RETURNING per transaction (autocommit).
# psql prints the returned row only after the server reported the commit, so
# each client's output file lists the changes it saw committed.  After a few
# seconds the server is stopped with `pg_ctl stop -m immediate` (every server
# process is killed with SIGQUIT, no shutdown checkpoint) and started again,
# which replays the WAL.  Then, for every lead:
#   - its events are exactly the path it was moved along (entry at prospect,
#     then mql, sal, sql, opportunity, customer, then opportunity and customer
#     alternating), one event per step, each from_stage the previous to_stage
#   - the CRM row's status and lead.stage agree with the last event: the CRM
#     write and the ledger were committed together or not at all
#   - the number of steps is what the client saw committed, or one more for
#     at most one lead per client (the statement in flight when the server
#     died: committed, but the client never heard so)
#   - no lead without events, no event without a lead, and every CRM row has
#     its lead
#
# The test cluster runs with fsync = off and synchronous_commit = off.  With
# fsync off, WAL written to the kernel survives the death of the server
# processes (only an OS crash or power loss would lose it), so the test is
# valid for process crashes, which is what it simulates.  synchronous_commit =
# off would let the server acknowledge a commit before its WAL is written, so
# a committed change the client saw could be lost by design; the clients
# therefore run with synchronous_commit = on.
#
# The server is always started again at the end (trap), because the scripts
# after this one need it.  Run by test/tools/pgenv.sh (make test) with PGBIN,
# PGDATA, LF_ROOT and the PG* connection variables set.  Prints TAP.
set -uo pipefail

DB=lf_crash
CLIENTS=4
LEADS=25			# per client
RUN_SECONDS=${LF_CRASH_SECONDS:-3}
WORK=$(mktemp -d "$LF_ROOT/crash.XXXXXX")
LOG=$LF_ROOT/log/server.log
n=0
pids=()

. "$(dirname "$0")/../tools/tap.sh"

server_start() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOG" -w -t 60 start >/dev/null 2>&1
}

server_running() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

q() {
    "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d $DB -c "$1"
}

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if ! server_running; then
        server_start || echo "# could not start the server again: see $LOG"
    fi
    "$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

"$PGBIN/psql" -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d $DB >"$WORK/setup.out" 2>&1 <<SQL
SET client_min_messages = warning;
CREATE EXTENSION lead_funnel;
CREATE SCHEMA crm;
CREATE TABLE crm.leads (id int PRIMARY KEY, status text NOT NULL);
SELECT lead_funnel.attach('crm.leads', 'id', 'status',
  '{"New": "prospect", "Marketing Qualified": "mql", "Working": "sal", "Qualified": "sql",
    "Converted": "opportunity", "Closed Won": "customer"}');
INSERT INTO crm.leads SELECT c * 1000 + i, 'New'
  FROM generate_series(1, $CLIENTS) AS c, generate_series(1, $LEADS) AS i;
SQL
rc=$?
ok $rc "workload database built ($CLIENTS clients x $LEADS leads)"
[ $rc -ne 0 ] && sed 's/^/#   /' "$WORK/setup.out"

# the SQL of one client: rounds of one step for each of its leads
client_sql() {			# client_sql <client>
    awk -v c="$1" -v leads=$LEADS 'BEGIN {
        split("Marketing Qualified,Working,Qualified,Converted,Closed Won", path, ",");
        print "SET synchronous_commit = on;";
        for (r = 1; r <= 20000; r++) {
            if (r <= 5) s = path[r]; else s = (r % 2 == 0) ? "Converted" : "Closed Won";
            for (i = 1; i <= leads; i++)
                printf "UPDATE crm.leads SET status = '\''%s'\'' WHERE id = %d RETURNING id, status;\n", s, c * 1000 + i;
        }
    }'
}

for c in $(seq 1 $CLIENTS); do
    client_sql "$c" | "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d $DB \
        >"$WORK/client$c.out" 2>"$WORK/client$c.err" &
    pids+=($!)
done
sleep "$RUN_SECONDS"

as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1
ok $? "pg_ctl stop -m immediate while the clients run"
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
pids=()

server_start
ok $? "server started again (crash recovery)"

# what the clients saw committed: one line "id|status" per step
for c in $(seq 1 $CLIENTS); do
    sed -n 's/^\([0-9]*\)|.*/\1\t'"$c"'/p' "$WORK/client$c.out"
done >"$WORK/seen.tsv"
seen=$(wc -l <"$WORK/seen.tsv")
[ "$seen" -gt $((CLIENTS * LEADS)) ]
ok $? "the clients saw $seen committed changes before the crash (more than one round)"
grep -h -v 'connection\|terminat\|server closed\|abnormally\|before or while' "$WORK"/client*.err | head -5 | sed 's/^/#   client error: /'

q "CREATE TABLE seen (id int, client int)" >/dev/null
"$PGBIN/psql" -X -q -d $DB -c "\\copy seen FROM '$WORK/seen.tsv'" >/dev/null

check() {			# check <description> <query returning the offending rows>
    local out
    out=$(q "$2" 2>&1)
    if [ -z "$out" ]; then
        ok 0 "$1"
    else
        ok 1 "$1"
        echo "$out" | head -10 | sed 's/^/#   /'
    fi
}

# the path: event k (1-based) of a lead goes to stage path(k)
PATH_SQL="CASE WHEN k <= 6 THEN (ARRAY['prospect','mql','sal','sql','opportunity','customer'])[k]
               WHEN k % 2 = 1 THEN 'opportunity' ELSE 'customer' END"

check "every lead's events are its path, one event per step, chained from_stage -> to_stage" "
  SELECT lead_key, k, from_stage, to_stage
    FROM (SELECT lead_key, from_stage::text, to_stage::text,
                 row_number() OVER w AS k, lag(to_stage::text) OVER w AS prev
            FROM lead_funnel.stage_event WINDOW w AS (PARTITION BY lead_key ORDER BY event_id)) AS e
   WHERE to_stage <> $PATH_SQL OR from_stage IS DISTINCT FROM prev"

check "CRM status, lead.stage and the last event agree for every lead" "
  SELECT c.id, c.status, l.stage, e.to_stage
    FROM crm.leads AS c
    FULL JOIN lead_funnel.lead AS l ON l.lead_key = c.id::text
    LEFT JOIN LATERAL (SELECT to_stage FROM lead_funnel.stage_event AS s
                        WHERE s.lead_key = l.lead_key ORDER BY event_id DESC LIMIT 1) AS e ON true
   WHERE c.id IS NULL OR l.lead_key IS NULL
      OR e.to_stage::text IS DISTINCT FROM l.stage::text
      OR l.stage::text IS DISTINCT FROM (CASE c.status WHEN 'New' THEN 'prospect'
           WHEN 'Marketing Qualified' THEN 'mql' WHEN 'Working' THEN 'sal' WHEN 'Qualified' THEN 'sql'
           WHEN 'Converted' THEN 'opportunity' WHEN 'Closed Won' THEN 'customer' END)"

check "no event without a lead" "
  SELECT DISTINCT lead_key FROM lead_funnel.stage_event AS e
   WHERE NOT EXISTS (SELECT FROM lead_funnel.lead AS l WHERE l.lead_key = e.lead_key)"

# steps in the database (events - 1) against steps the client saw
STEPS_SQL="SELECT c.id, c.id / 1000 AS client,
                  (SELECT count(*) FROM lead_funnel.stage_event AS e WHERE e.lead_key = c.id::text) - 1 AS db_steps,
                  (SELECT count(*) FROM seen AS s WHERE s.id = c.id) AS seen_steps
             FROM crm.leads AS c"

check "every change a client saw committed is in the ledger, and at most one more per client (in flight)" "
  SELECT * FROM ($STEPS_SQL) AS x WHERE db_steps - seen_steps NOT IN (0, 1)"

check "at most one lead per client has a committed step its client did not see" "
  SELECT client, count(*) FROM ($STEPS_SQL) AS x WHERE db_steps > seen_steps
   GROUP BY client HAVING count(*) > 1"

# the ledger keeps working after recovery
out=$(q "UPDATE crm.leads SET status = 'Marketing Qualified' WHERE id = 1001 AND status = 'New';
         INSERT INTO crm.leads VALUES (9999, 'New');
         SELECT stage FROM lead_funnel.lead WHERE lead_key = '9999'" 2>&1)
[ "$out" = "prospect" ]
ok $? "the trigger records changes after recovery"

echo "1..$n"
exit 0
