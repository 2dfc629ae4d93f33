#!/usr/bin/env bash
# pgenv.sh -- the throwaway PostgreSQL used by make test, make demo, make bench
# and make asan.
#
#   test/tools/pgenv.sh test    install what is missing, build, run every suite
#   test/tools/pgenv.sh demo    the same setup, then the demo
#   test/tools/pgenv.sh bench   the same setup, then the benchmark
#   test/tools/pgenv.sh asan    regression + isolation with an ASan build
#   test/tools/pgenv.sh shell   start a cluster and open psql (for developers)
#
# Design: the extension is never installed into the system directories for
# testing.  Instead the Debian PostgreSQL 15 tree is copied (hard links) into a
# private root under /tmp and the extension is installed there; PostgreSQL
# finds its share and lib directories relative to its own binary, so a server
# started from that root loads this build and nothing else.  Two work trees
# can therefore test at the same time without disturbing each other or an
# installed lead_funnel.  The cluster runs as the `postgres` user when we are
# root (the server refuses to run as root), listens only on a Unix socket in
# the private root, preloads pg_cron, and is stopped on exit whatever happens.
#
# Environment: LF_PORT (default: derived from the work tree path),
# LF_ROOT (default: /tmp/lead_funnel.<hash>), LF_KEEP=1 keeps the cluster.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"

PGVER=15
SYS_BINDIR=/usr/lib/postgresql/$PGVER/bin
PACKAGES="postgresql-$PGVER postgresql-server-dev-$PGVER postgresql-$PGVER-pgtap postgresql-$PGVER-cron libtap-parser-sourcehandler-pgtap-perl make gcc libxml2-utils"

hash=$(printf '%s' "$here" | cksum | cut -d' ' -f1)
LF_ROOT=${LF_ROOT:-/tmp/lead_funnel.$hash}
LF_PORT=${LF_PORT:-$((54000 + hash % 1000))}
PGBIN=$LF_ROOT/usr/lib/postgresql/$PGVER/bin
PGDATA=$LF_ROOT/data
SOCKDIR=$LF_ROOT/sock
export PGHOST=$SOCKDIR PGPORT=$LF_PORT PGUSER=postgres PGDATABASE=postgres
unset PGSERVICE PGPASSWORD PGOPTIONS

log() { printf '== %s\n' "$*" >&2; }

# ---- packages ---------------------------------------------------------------

ensure_packages() {
    local missing=() p
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "lead_funnel needs packages that are not installed. As root, run:" >&2
        echo "  apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ---- build and private install ------------------------------------------------

. "$here/test/tools/tap.sh"	# as_pg

stage_root() {
    log "building"
    make -s PG_CONFIG=$SYS_BINDIR/pg_config >/dev/null
    stop_cluster || true
    rm -rf "$LF_ROOT"
    mkdir -p "$LF_ROOT/usr/lib/postgresql" "$LF_ROOT/usr/share/postgresql" "$LF_ROOT/usr/include/postgresql"
    cp -al /usr/lib/postgresql/$PGVER "$LF_ROOT/usr/lib/postgresql/"
    cp -al /usr/share/postgresql/$PGVER "$LF_ROOT/usr/share/postgresql/"
    cp -al /usr/include/postgresql/$PGVER "$LF_ROOT/usr/include/postgresql/"
    # never hard-link a system-wide lead_funnel into the private root
    rm -f "$LF_ROOT"/usr/lib/postgresql/$PGVER/lib/lead_funnel.so \
          "$LF_ROOT"/usr/share/postgresql/$PGVER/extension/lead_funnel*
    log "installing into $LF_ROOT"
    make -s PG_CONFIG="$PGBIN/pg_config" install >/dev/null
    chmod 755 "$LF_ROOT"
}

start_cluster() {
    mkdir -p "$PGDATA" "$SOCKDIR" "$LF_ROOT/log"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PGDATA" "$SOCKDIR" "$LF_ROOT/log"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust --no-sync \
        -E UTF8 --locale=C.UTF-8 >"$LF_ROOT/initdb.log" 2>&1 ||
        { cat "$LF_ROOT/initdb.log" >&2; exit 1; }
    cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$SOCKDIR'
port = $LF_PORT
shared_preload_libraries = 'pg_cron${LF_PRELOAD:+,$LF_PRELOAD}'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 20
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 60
timezone = 'UTC'
lc_messages = 'C'
log_min_messages = warning
EOF
    log "starting PostgreSQL on port $LF_PORT"
    as_pg env ${LF_SERVER_ENV:-} "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LF_ROOT/log/server.log" -w -t 60 start >/dev/null ||
        { cat "$LF_ROOT/log/server.log" >&2; exit 1; }
    "$PGBIN/psql" -qX -c 'CREATE EXTENSION pg_cron' >/dev/null
}

stop_cluster() {
    if [ -f "$PGDATA/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 ||
            as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}

cleanup() {
    if [ "${LF_KEEP:-0}" = 1 ]; then
        log "cluster kept: PGHOST=$SOCKDIR PGPORT=$LF_PORT PGUSER=postgres"
    else
        stop_cluster
    fi
}

setup() {
    ensure_packages
    stage_root
    trap cleanup EXIT
    start_cluster
}

# ---- suites -------------------------------------------------------------------

passed=0
failed=0

count_pg_regress() {
    # PostgreSQL 15's pg_regress prints one line per test: "test x ... ok"
    # (a test whose expected file is missing counts as failed)
    local out=$1 p t
    p=$(grep -cE '^(test| ) +[a-z_0-9]+ +\.\.\. +ok' "$out" || true)
    t=$(grep -cE '^(test| ) +[a-z_0-9]+ +\.\.\. ' "$out" || true)
    passed=$((passed + p)); failed=$((failed + t - p))
}

run_regress() {
    local tests pgxs
    pgxs=$(dirname "$("$PGBIN/pg_config" --pgxs)")/..
    tests=$(make -s print-REGRESS)
    log "pg_regress: $(echo $tests | wc -w) files"
    rm -rf results regression.diffs regression.out
    set +e
    "$pgxs/test/regress/pg_regress" --inputdir=. --bindir="$PGBIN" \
        --dbname=contrib_regression $tests 2>&1 | tee "$LF_ROOT/regress.out"
    local rc=${PIPESTATUS[0]}
    set -e
    count_pg_regress "$LF_ROOT/regress.out"
    if [ "$rc" -ne 0 ]; then
        [ -f regression.diffs ] && cat regression.diffs
        grep -qE '\.\.\. ' "$LF_ROOT/regress.out" || failed=$((failed + 1))
    fi
}

run_isolation() {
    local tests pgxs
    pgxs=$(dirname "$("$PGBIN/pg_config" --pgxs)")/..
    tests=$(make -s print-ISOLATION)
    [ -z "$tests" ] && return 0
    log "isolation: $(echo $tests | wc -w) specs"
    rm -rf output_iso
    set +e
    "$pgxs/test/isolation/pg_isolation_regress" --inputdir=test/isolation \
        --outputdir=output_iso --bindir="$PGBIN" \
        --dbname=isolation_regression $tests 2>&1 | tee "$LF_ROOT/isolation.out"
    local rc=${PIPESTATUS[0]}
    set -e
    count_pg_regress "$LF_ROOT/isolation.out"
    if [ "$rc" -ne 0 ]; then
        [ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs
        grep -qE '\.\.\. ' "$LF_ROOT/isolation.out" || failed=$((failed + 1))
    fi
}

run_pgtap() {
    local files
    files=$(ls test/pgtap/*.sql 2>/dev/null || true)
    [ -z "$files" ] && return 0
    log "pgTAP: $(echo $files | wc -w) files"
    "$PGBIN/psql" -qX -c 'DROP DATABASE IF EXISTS lf_tap' -c 'CREATE DATABASE lf_tap' >/dev/null
    "$PGBIN/psql" -qX -d lf_tap -c 'CREATE EXTENSION pgtap' >/dev/null
    set +e
    pg_prove --verbose --ext .sql -d lf_tap -U postgres -h "$SOCKDIR" -p "$LF_PORT" $files \
        >"$LF_ROOT/pgtap.out" 2>&1
    local rc=$?
    set -e
    grep -vE '^ok ' "$LF_ROOT/pgtap.out" || true
    local p f
    p=$(grep -cE '^ok ' "$LF_ROOT/pgtap.out" || true)
    f=$(grep -cE '^not ok ' "$LF_ROOT/pgtap.out" || true)
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
}

# test/scripts/*.sh: tests that need more than one database or session,
# or a server restart (dump/restore, upgrades, crash safety).  Each prints
# TAP lines ("ok N - ..." / "not ok N - ..."); they get PGBIN, LF_ROOT,
# PGDATA and the connection variables, and source test/tools/tap.sh for ok
# and as_pg.
run_scripts() {
    local f out rc p t
    for f in $(ls test/scripts/*.sh 2>/dev/null); do
        log "script: $f"
        out="$LF_ROOT/$(basename "$f" .sh).out"
        set +e
        PGBIN="$PGBIN" LF_ROOT="$LF_ROOT" PGDATA="$PGDATA" bash "$f" >"$out" 2>&1
        rc=$?
        set -e
        cat "$out"
        p=$(grep -cE '^ok ' "$out" || true)
        t=$(grep -cE '^not ok ' "$out" || true)
        passed=$((passed + p)); failed=$((failed + t))
        if [ "$rc" -ne 0 ] && [ "$t" -eq 0 ]; then failed=$((failed + 1)); fi
    done
}

run_suites() {
    run_regress
    run_isolation
    run_pgtap
    run_scripts
    echo
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# ---- commands -------------------------------------------------------------------

cmd=${1:-test}
case "$cmd" in
test)
    start=$(date +%s)
    setup
    set +e
    run_suites
    rc=$?
    set -e
    log "make test took $(( $(date +%s) - start )) s"
    exit $rc
    ;;
asan)
    # The extension is built with AddressSanitizer and loaded into a normal
    # server: the ASan runtime comes in as a dependency of lead_funnel.so
    # when the library is loaded (verify_asan_link_order=0 allows that).
    # Preloading the runtime into the whole server (LD_PRELOAD) deadlocks in
    # glibc's bindtextdomain on Debian 12, before main() runs (also with
    # clang's runtime, even for `postgres --version`).  What is checked: every
    # load and store of our code against ASan's shadow memory, so overruns of
    # our stack arrays and globals are reported.  What is not: heap memory
    # (the runtime comes after the C library, so malloc is not intercepted;
    # palloc chunks live inside malloc'd blocks and would not be tracked by
    # a preloaded runtime either) -- make memcheck covers that.
    ensure_packages
    export LF_EXTRA_CFLAGS="-fsanitize=address -fno-omit-frame-pointer" LF_EXTRA_LDFLAGS="-fsanitize=address"
    make -s clean >/dev/null
    stage_root
    make -s clean >/dev/null
    trap cleanup EXIT
    start_cluster
    set +e
    run_regress
    run_isolation
    set -e
    # reports go to the server log (stderr of every backend)
    reports=$(grep -c 'ERROR: AddressSanitizer' "$LF_ROOT/log/server.log" 2>/dev/null || true)
    if [ "$reports" -gt 0 ]; then
        grep -A40 'ERROR: AddressSanitizer' "$LF_ROOT/log/server.log" | head -200
        failed=$((failed + reports))
    fi
    # the runtime must really be there: linked, and mapped in a backend that
    # loaded the extension (otherwise zero reports would prove nothing)
    if [ "$(ldd "$LF_ROOT"/usr/lib/postgresql/$PGVER/lib/lead_funnel.so | grep -c asan)" -eq 0 ]; then
        echo "asan: lead_funnel.so is not linked with the ASan runtime" >&2
        failed=$((failed + 1))
    fi
    mapped=$("$PGBIN/psql" -X -A -t -d postgres -c "LOAD 'lead_funnel'" \
        -c "SELECT count(*) FROM regexp_split_to_table(pg_read_file('/proc/self/maps'), E'\\n') AS l WHERE l LIKE '%libasan%'" 2>&1 | tail -1)
    if ! [ "$mapped" -gt 0 ] 2>/dev/null; then
        echo "asan: the ASan runtime is not mapped in a backend that loaded lead_funnel ($mapped)" >&2
        failed=$((failed + 1))
    else
        echo "asan: runtime mapped in the backend ($mapped mappings)"
    fi
    echo "asan: $reports report(s)"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    ;;
memcheck)
    # The regression and isolation suites with every server process under
    # valgrind's memcheck: invalid reads and writes and uses of freed
    # (malloc'd) memory in the extension show up in the valgrind logs.
    # (Memory inside PostgreSQL's memory-context blocks is not tracked.)
    ensure_packages
    command -v valgrind >/dev/null || { apt-get install -y -qq valgrind >/dev/null; }
    stage_root
    trap cleanup EXIT
    start_cluster
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    log "restarting PostgreSQL under valgrind (slow)"
    as_pg sh -c "valgrind --quiet --trace-children=yes --error-exitcode=0 \
        --suppressions=$here/test/tools/valgrind.supp --gen-suppressions=all \
        --log-file=$LF_ROOT/log/valgrind.%p '$PGBIN/postgres' -D '$PGDATA' >'$LF_ROOT/log/server.log' 2>&1 &"
    for _ in $(seq 1 120); do "$PGBIN/pg_isready" -q && break; sleep 1; done
    set +e
    run_regress
    run_isolation
    set -e
    # PostgreSQL itself, not built for valgrind, reports uninitialised
    # padding in shared memory and files: count only errors with a frame in
    # lead_funnel.so, and print them
    cat "$LF_ROOT"/log/valgrind.* 2>/dev/null | awk '
        /== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination)/ { inrec = 1; rec = "" }
        inrec { rec = rec $0 "\n" }
        inrec && /^==[0-9]+== $/ { if (rec ~ /lf_|lead_funnel\.so/) { n++; printf "%s", rec } inrec = 0 }
        END { print "lead_funnel errors: " n + 0 }' >"$LF_ROOT/log/memcheck.txt"
    head -120 "$LF_ROOT/log/memcheck.txt"
    errors=$(sed -n 's/^lead_funnel errors: //p' "$LF_ROOT/log/memcheck.txt")
    echo "memcheck: $errors error(s) in lead_funnel (reports from PostgreSQL and glibc themselves are not counted)"
    failed=$((failed + errors))
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    ;;
demo)
    setup
    "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -c 'CREATE DATABASE lead_funnel_demo' >/dev/null
    PGDATABASE=lead_funnel_demo "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -f test/demo/demo.sql
    xmllint --noout test/demo/funnel.svg && echo "funnel chart: $here/test/demo/funnel.svg (well-formed SVG)"
    if command -v chromium >/dev/null 2>&1; then
        timeout 60 chromium --headless --no-sandbox --disable-gpu \
            --screenshot="$here/test/demo/funnel.png" --window-size=900,560 \
            "file://$here/test/demo/funnel.svg" >/dev/null 2>&1 &&
            echo "rendered with Chromium: $here/test/demo/funnel.png"
    fi
    ;;
bench)
    setup
    "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -c 'CREATE DATABASE lead_funnel_bench' >/dev/null
    PGDATABASE=lead_funnel_bench test/bench/run.sh "$PGBIN"
    ;;
shell)
    LF_KEEP=1
    setup
    "$PGBIN/psql" -X
    ;;
*)
    echo "usage: $0 test|demo|bench|asan|memcheck|shell" >&2
    exit 2
    ;;
esac
