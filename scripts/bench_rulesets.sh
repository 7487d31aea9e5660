#!/usr/bin/env bash
# `bench` with three rule sets against one `clean` of the same list and log, in one run
# (see: #12 part 4, speed target: bench <= 1.5 x clean).
#
#   scripts/bench_rulesets.sh                       # 1,000,000 contacts, 10,000,000 events
#   CONTACTS=100000 EVENTS=1000000 scripts/bench_rulesets.sh
#
# Env: CONTACTS, EVENTS, ROUNDS (default 3), WORK (scratch dir), CARGO_TARGET_DIR, PROFILE
# (release, or debug for a quick look: debug ratios are not the target's).
# Prints each round's wall seconds for clean and bench and their ratio.
set -euo pipefail

CONTACTS=${CONTACTS:-1000000}
EVENTS=${EVENTS:-10000000}
ROUNDS=${ROUNDS:-3}
PROFILE=${PROFILE:-release}
WORK=${WORK:-${TMPDIR:-/tmp}/listwash-bench-rulesets}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/listwash-target}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
cd "$ROOT"

flag=()
[ "$PROFILE" = release ] && flag=(--release)
cargo build "${flag[@]}" --bin listwash --example gen_events
bin="$CARGO_TARGET_DIR/$PROFILE"
log="$WORK/events-$EVENTS-$CONTACTS.csv"
list="$WORK/contacts-$CONTACTS.csv"
if [ ! -s "$log" ] || [ ! -s "$list" ]; then
    "$bin/examples/gen_events" "$log" --events "$EVENTS" --contacts "$CONTACTS" --contacts-out "$list"
fi
"$bin/listwash" rules --defaults > "$WORK/365.toml"
# Three inactivity rules: 365 days (the default), 180 and 90 days with fewer sends required.
sed -e 's/^inactive_days = 365/inactive_days = 180/' -e 's/^inactive_min_sends = 10/inactive_min_sends = 5/' \
    "$WORK/365.toml" > "$WORK/180.toml"
sed -e 's/^inactive_days = 365/inactive_days = 90/' -e 's/^inactive_min_sends = 10/inactive_min_sends = 3/' \
    "$WORK/365.toml" > "$WORK/90.toml"

seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
for round in $(seq "$ROUNDS"); do
    rm -rf "$WORK/out"
    clean=$(seconds "$bin/listwash" clean "$list" --out-dir "$WORK/out" --engagement "$log" \
        --no-dns --as-of 2026-11-01 --quiet --no-html)
    bench=$(seconds "$bin/listwash" bench --rules "$WORK/365.toml" --rules "$WORK/180.toml" \
        --rules "$WORK/90.toml" "$list" --engagement "$log" --no-dns --as-of 2026-11-01 \
        --json-out "$WORK/bench.json")
    echo "round $round: clean ${clean}s, bench (3 rule sets) ${bench}s, ratio $(echo "scale=2; $bench / $clean" | bc)"
done
