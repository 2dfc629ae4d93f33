#!/usr/bin/env bash
# render_svg.sh -- write lead_funnel.funnel_svg() to a file, check that it is
# well-formed XML and render it to PNG with headless Chromium.
#
#   test/tools/render_svg.sh OUT.svg [FROM [TO]]
#
# FROM and TO are timestamptz literals (default: the function's defaults, the
# last 90 days).  The database is the one libpq's environment points at
# (PGHOST, PGPORT, PGDATABASE, ...; make demo sets them); PSQL overrides the
# psql binary.  Writes OUT.svg and OUT.png (next to it).  Run by make demo,
# not by make test.
set -euo pipefail

out=${1:?usage: $0 OUT.svg [FROM [TO]]}
from=${2:-}
to=${3:-}
png="${out%.svg}.png"
PSQL=${PSQL:-psql}

# ---- the SVG ----
if [ -n "$from" ] && [ -n "$to" ]; then
    call="lead_funnel.funnel_svg(:'from'::timestamptz, :'to'::timestamptz)"
elif [ -n "$from" ]; then
    call="lead_funnel.funnel_svg(:'from'::timestamptz)"
else
    call="lead_funnel.funnel_svg()"
fi
# psql expands :'from' and :'to' (quoted as literals) only in input read from stdin
echo "SELECT $call" | "$PSQL" -qAtX -v ON_ERROR_STOP=1 -v from="$from" -v to="$to" >"$out.tmp"
mv "$out.tmp" "$out"

# ---- well-formed? ----
if ! command -v xmllint >/dev/null; then
    echo "render_svg: xmllint is missing; as root run: apt-get install -y libxml2-utils" >&2
    exit 1
fi
xmllint --noout "$out"
echo "render_svg: $out is well-formed XML ($(wc -c <"$out") bytes)"

# ---- PNG ----
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        chrome=$(command -v chromium)
    else
        echo "render_svg: Chromium is missing, no PNG written; as root run: apt-get install -y chromium" >&2
        exit 0
    fi
fi
abs_svg=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
abs_png=$(cd "$(dirname "$png")" && pwd)/$(basename "$png")
# a throwaway Chromium profile, removed afterwards
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$profile" --screenshot="$abs_png" --window-size=900,600 \
    "file://$abs_svg" >/dev/null 2>&1
[ -s "$abs_png" ] || { echo "render_svg: Chromium wrote no PNG" >&2; exit 1; }
echo "render_svg: rendered $png"
