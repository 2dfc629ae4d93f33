#!/usr/bin/env bash
# make bench: runs every test/bench/*.sql against the throwaway cluster that
# test/tools/pgenv.sh started, collects the lines
#   BENCH|name|ours_ms|baseline_ms|ratio|target|ok|MISS
# and prints them as a table, also written to test/bench/results/bench.csv.
# LF_BENCH=name runs only test/bench/name.sql; LF_BENCH_SCALE scales sizes.
set -euo pipefail
PGBIN=$1
cd "$(dirname "$0")"
mkdir -p results
out=results/bench.csv
echo "name,ours_ms,baseline_ms,ratio,target,verdict" >"$out"
files=$(ls [0-9]*.sql)
if [ -n "${LF_BENCH:-}" ]; then files=$(ls *"$LF_BENCH"*.sql); fi
"$PGBIN/psql" -qX -v ON_ERROR_STOP=1 -f lib.sql >/dev/null
for f in $files; do
    echo "== $f" >&2
    "$PGBIN/psql" -qAtX -v ON_ERROR_STOP=1 -v scale="${LF_BENCH_SCALE:-1}" -f "$f" 2>&1 |
        tee "results/${f%.sql}.log" | grep '^BENCH|' |
        awk -F'|' '{ printf "\"%s\",%s,%s,%s,%s,%s\n", $2, $3, $4, $5, $6, $7 }' >>"$out" || true
done
printf '%-62s %10s %10s %8s %9s %s\n' name ours_ms baseline_ms ratio target verdict
tail -n +2 "$out" | awk -F'",' '{ n = substr($1, 2); split($2, f, ","); printf "%-62s %10s %10s %8s %9s %s\n", n, f[1], f[2], f[3], f[4], f[5] }'
echo "(CSV: test/bench/results/bench.csv)"
