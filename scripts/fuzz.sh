#!/usr/bin/env bash
# Runs each cargo-fuzz target for a while and reports executions and crashes.
#   scripts/fuzz.sh [SECONDS_PER_TARGET=300] [TARGET...]
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
# Crashes land in fuzz/artifacts/TARGET/; the corpus grows in fuzz/corpus/TARGET/ (both ignored by git).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-300}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(syntax csv_read events)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
# A target folder of its own: fuzzing builds every dependency with coverage instrumentation.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/listwash-fuzz-target}"

# Seed the CSV target with the repo's own fixtures.
mkdir -p fuzz/corpus/csv_read fuzz/corpus/syntax fuzz/corpus/events
cp -n sample_data/contacts.csv fuzz/corpus/csv_read/ 2>/dev/null || true
cp -n sample_data/events.csv tests/fixtures/engagement/*.csv fuzz/corpus/events/ 2>/dev/null || true

for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s"
    log="fuzz/$target.log"
    status=0
    cargo fuzz run --dev --sanitizer none "$target" -- -max_total_time="$seconds" -max_len=65536 \
        -timeout=20 -rss_limit_mb=4096 >"$log" 2>&1 || status=$?
    grep -E "^(#[0-9]+\s+DONE|Done [0-9]+ runs)" "$log" | tail -n 2 || true
    if [[ $status -ne 0 ]]; then
        echo "   FAILED (exit $status): see $log and fuzz/artifacts/$target/"
        tail -n 30 "$log"
        exit "$status"
    fi
done
