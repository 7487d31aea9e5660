#!/usr/bin/env bash
# Benchmarks listwash's per-contact aggregation of one event log as CSV and as JSON lines
# (NDJSON), beside DuckDB and polars-Python doing the same aggregation on the CSV, in one run.
# See: issue 11 (Speed).
#
#   scripts/bench_events.sh                       # 6,000,000 events for 300,000 contacts
#   EVENTS=1000000 CONTACTS=50000 scripts/bench_events.sh
#
# Env: EVENTS, CONTACTS, WORK (scratch dir, default $TMPDIR/listwash-bench-events),
# CARGO_TARGET_DIR, VENV (a Python venv with duckdb and polars; made with pip when missing).
# Runs scripts/bench_engagement.sh (release build, log generation, listwash vs DuckDB vs
# polars-Python on the CSV, checksums), then writes the same events as NDJSON (with DuckDB)
# and times listwash on it. Prints wall time and peak RSS (/usr/bin/time -v) of each, and:
#   NDJSON / CSV wall ratio           (target: at most 2)
#   DuckDB / listwash-CSV wall ratio  (target: at least 1)
set -euo pipefail

export EVENTS=${EVENTS:-6000000}
export CONTACTS=${CONTACTS:-300000}
export WORK=${WORK:-${TMPDIR:-/tmp}/listwash-bench-events}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/listwash-target}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
if [ -n "${VENV:-}" ] && [ ! -e "$WORK/venv" ]; then
    ln -s "$VENV" "$WORK/venv"
fi

"$ROOT/scripts/bench_engagement.sh"

LOG="$WORK/events-$EVENTS-$CONTACTS.csv"
NDJSON="${LOG%.csv}.ndjson"
if [ ! -s "$NDJSON" ]; then
    echo "writing $NDJSON ..."
    "$WORK/venv/bin/python" - "$LOG" "$NDJSON.tmp" <<'PY'
import sys, duckdb
src, dst = sys.argv[1], sys.argv[2]
duckdb.connect().execute(
    f"COPY (SELECT * FROM read_csv('{src}', header = true, all_varchar = true)) TO '{dst}' (FORMAT JSON)")
PY
    mv "$NDJSON.tmp" "$NDJSON"
fi
cat "$NDJSON" > /dev/null
BIN="$CARGO_TARGET_DIR/release/examples"
/usr/bin/time -v "$BIN/engagement_bench" "$NDJSON" > "$WORK/ndjson.out" 2> "$WORK/ndjson.time"
seconds() {
    awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$1"
}
megabytes() { awk -F': ' '/Maximum resident set size/ {print int($2 / 1024)}' "$1"; }
CSV_WALL=$(seconds "$WORK/listwash.time")
NDJSON_WALL=$(seconds "$WORK/ndjson.time")
DUCK_WALL=$(seconds "$WORK/duckdb.time")
POLARS_WALL=$(seconds "$WORK/polars.time")
printf '%-10s wall %7.2f s   peak RSS %6d MB   %s\n' ndjson "$NDJSON_WALL" "$(megabytes "$WORK/ndjson.time")" \
    "$(grep checksum "$WORK/ndjson.out")"
awk -v c="$CSV_WALL" -v n="$NDJSON_WALL" -v d="$DUCK_WALL" -v p="$POLARS_WALL" \
    -v csize="$(stat -c %s "$LOG")" -v nsize="$(stat -c %s "$NDJSON")" 'BEGIN {
    printf "NDJSON / CSV wall (target <= 2):                %.2f  (%d MB NDJSON, %d MB CSV)\n", n / c, nsize / 1000000, csize / 1000000
    printf "DuckDB / listwash-CSV wall (target >= 1):       %.2f\n", d / c
    printf "polars-Python / listwash-CSV wall:              %.2f\n", p / c
    printf "DuckDB / listwash-NDJSON wall:                  %.2f\n", d / n }'
if [ "$(grep -h checksum "$WORK"/{listwash,ndjson}.out | sort -u | wc -l)" = 1 ]; then
    echo "checksums: CSV and NDJSON agree"
else
    echo "checksums: CSV and NDJSON DIFFER" >&2
fi
