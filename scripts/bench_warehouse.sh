#!/usr/bin/env bash
# Speed of the warehouse path (issue 14), release build, one generated log:
#   1. `listwash profiles LOG` vs the same aggregation (`listwash profiles --sql duckdb`) run by
#      DuckDB over the normalised event table (`listwash events normalize`, timed apart);
#   2. `clean --profiles` vs `clean --engagement` on the log's contacts.
#
#   scripts/bench_warehouse.sh                      # 20,000,000 events, 1,000,000 contacts
#   EVENTS=2000000 CONTACTS=100000 scripts/bench_warehouse.sh
#
# Env: EVENTS, CONTACTS, WORK (scratch, default $TMPDIR/listwash-warehouse-bench),
# VENV (with duckdb; default /var/tmp/listwash-warehouse-venv), CARGO_TARGET_DIR.
# Prints wall time and peak RSS (/usr/bin/time -v) of each step.
set -euo pipefail
EVENTS=${EVENTS:-20000000}
CONTACTS=${CONTACTS:-1000000}
WORK=${WORK:-${TMPDIR:-/tmp}/listwash-warehouse-bench}
VENV=${VENV:-/var/tmp/listwash-warehouse-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/listwash-target}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p "$WORK"
cargo build --quiet --release --bin listwash --example gen_events
LW="$CARGO_TARGET_DIR/release/listwash"
LOG="$WORK/events-$EVENTS-$CONTACTS.csv"
CONTACTS_CSV="$WORK/contacts-$CONTACTS.csv"
if [ ! -s "$LOG" ]; then
    "$CARGO_TARGET_DIR/release/examples/gen_events" "$LOG.tmp" --events "$EVENTS" \
        --contacts "$CONTACTS" --contacts-out "$CONTACTS_CSV"
    mv "$LOG.tmp" "$LOG"
fi
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q duckdb pyarrow; }

measure() { # NAME COMMAND...
    local name=$1
    shift
    /usr/bin/time -v "$@" 2> "$WORK/$name.time" > "$WORK/$name.out" || {
        cat "$WORK/$name.time"
        exit 1
    }
    local wall rss
    wall=$(grep 'Elapsed (wall' "$WORK/$name.time" | awk '{print $NF}')
    rss=$(grep 'Maximum resident' "$WORK/$name.time" | awk '{print $NF}')
    printf '%-28s wall %8s  peak RSS %6d MB\n' "$name" "$wall" $((rss / 1024))
}

AS_OF=(--as-of 2026-11-01)
measure listwash-profiles "$LW" profiles "$LOG" --out "$WORK/profiles.parquet" "${AS_OF[@]}" -q
measure listwash-normalize "$LW" events normalize "$LOG" --out "$WORK/events.parquet" "${AS_OF[@]}" -q
"$LW" profiles --sql duckdb > "$WORK/profiles.sql"
cat > "$WORK/duckdb_profiles.py" <<'PY'
import sys, duckdb
events, query, out = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
con = duckdb.connect()
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{events}')")
con.execute(f"COPY ({query}) TO '{out}' (FORMAT parquet)")
PY
measure duckdb-sql-profiles "$VENV/bin/python" "$WORK/duckdb_profiles.py" "$WORK/events.parquet" \
    "$WORK/profiles.sql" "$WORK/duckdb-profiles.parquet"
COMMON=("$CONTACTS_CSV" --no-dns --quiet "${AS_OF[@]}")
measure clean-engagement "$LW" clean "${COMMON[@]}" --out-dir "$WORK/out-logs" --engagement "$LOG"
measure clean-profiles "$LW" clean "${COMMON[@]}" --out-dir "$WORK/out-profiles" --profiles "$WORK/profiles.parquet"
measure clean-duckdb-profiles "$LW" clean "${COMMON[@]}" --out-dir "$WORK/out-duckdb" --profiles "$WORK/duckdb-profiles.parquet"
for f in clean review suppressed rejected; do
    cmp "$WORK/out-logs/$f.csv" "$WORK/out-profiles/$f.csv"
    cmp "$WORK/out-logs/$f.csv" "$WORK/out-duckdb/$f.csv"
done
echo "outputs of the three clean runs: byte-identical"
