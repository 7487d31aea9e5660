#!/usr/bin/env bash
# The generated profile SQL run by real engines (issue 14): DuckDB by default, Spark (PySpark
# in local mode, Java 17) with --spark. Over the sample log and a generated 1M-event log, the
# engine's profiles must equal `listwash profiles`, and `clean --profiles` with them must give
# outputs byte-identical to `clean --engagement`. See scripts/warehouse_test.py.
#
#   scripts/warehouse-test.sh            # DuckDB (pip install duckdb==2.0.1 pyarrow==26.0.1)
#   scripts/warehouse-test.sh --spark    # Spark  (pip install pyspark==4.3.0 pyarrow; needs java)
#
# Env: CARGO_TARGET_DIR (the debug binary is built there), VENV (default
# /var/tmp/listwash-warehouse-venv), WORK (scratch, default $TMPDIR/listwash-warehouse),
# EVENTS (generated log size, default 1000000).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ENGINE=duckdb
[ "${1:-}" = "--spark" ] && ENGINE=spark
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/listwash-target}
VENV=${VENV:-/var/tmp/listwash-warehouse-venv}
WORK=${WORK:-${TMPDIR:-/tmp}/listwash-warehouse}
EVENTS=${EVENTS:-1000000}
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ "$ENGINE" = duckdb ]; then
    "$VENV/bin/python" -c 'import duckdb, pyarrow' 2>/dev/null ||
        "$VENV/bin/pip" install -q duckdb==2.0.1 pyarrow==26.0.1
else
    "$VENV/bin/python" -c 'import pyspark, pyarrow' 2>/dev/null ||
        "$VENV/bin/pip" install -q pyspark==4.3.0 pyarrow==26.0.1
fi

cargo build --quiet --bin listwash --example gen_events
LW="$CARGO_TARGET_DIR/debug/listwash"
LOG="$WORK/events-$EVENTS.csv"
if [ ! -s "$LOG" ]; then
    "$CARGO_TARGET_DIR/debug/examples/gen_events" "$LOG.tmp" --events "$EVENTS" \
        --contacts $((EVENTS / 20)) --contacts-out "$WORK/contacts-$EVENTS.csv"
    mv "$LOG.tmp" "$LOG"
fi

PY="$VENV/bin/python scripts/warehouse_test.py --listwash $LW --work $WORK --engine $ENGINE"
$PY --name sample --log sample_data/events.csv --contacts sample_data/contacts.csv
$PY --name "generated-$EVENTS" --log "$LOG" --contacts "$WORK/contacts-$EVENTS.csv"
# Histories that cross shard cuts, and service logs with SMTP codes and relabelled bounces
# (DuckDB only: each Spark session costs a JVM start).
[ "$ENGINE" = duckdb ] || exit 0
$PY --name crossing --log tests/fixtures/profiles/shards.csv --contacts tests/fixtures/profiles/contacts.csv
for log in ses.ndjson mailgun.json sendgrid.json sparkpost.json; do
    $PY --name "${log%%.*}" --log "tests/fixtures/events/$log" --contacts tests/fixtures/events/contacts.csv
done
