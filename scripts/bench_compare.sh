#!/usr/bin/env bash
# Is this build slower than an earlier one? Alternating rounds of a plain csv copy, the earlier
# listwash and this one on the same generated file (page cache warm), so that both listwash
# builds see the same machine load; prints each round and the medians of listwash/copy.
# Absolute seconds swing with load on a shared machine: compare the ratios of one run.
#
# Usage:   scripts/bench_compare.sh OLD_LISTWASH [NEW_LISTWASH]
#          OLD_LISTWASH: a release binary of the earlier commit (build it from a worktree:
#            git worktree add /tmp/old <commit> && cargo build --release --manifest-path ...)
#          NEW_LISTWASH: default $CARGO_TARGET_DIR/release/listwash (built here unless NO_BUILD=1)
# Env:     ROUNDS=7, ROWS=2000000, SEED=1, BENCH_DIR (keeps the file; default: temporary),
#          CARGO_TARGET_DIR, NO_BUILD=1
set -euo pipefail

# Paths as given, before the set-up moves to the repository.
old="$(readlink -f "${1:?usage: scripts/bench_compare.sh OLD_LISTWASH [NEW_LISTWASH]}")"
new="${2:+$(readlink -f "$2")}"
ROUNDS="${ROUNDS:-7}"
ROWS="${ROWS:-2000000}"
SEED="${SEED:-1}"

BENCH_NAME=compare
# shellcheck source=scripts/bench_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"
new="${new:-$bin/listwash}"

# timed NAME CMD...: wall seconds, CPU seconds (user + system) and peak RSS (MB) of CMD.
timed() {
    local name="$1"; shift
    /usr/bin/time -f '%e %U %S %M' -o "$bench/time.$name" "$@" >/dev/null 2>&1
    awk '{ printf "%s %.2f %d\n", $1, $2 + $3, $4 / 1024 }' "$bench/time.$name"
}

ratios_old=()
ratios_new=()
for round in $(seq "$ROUNDS"); do
    read -r copy _ _ < <(timed copy "$bin/examples/csv_copy" "$input" "$bench/copy.csv")
    rm -f "$bench/copy.csv"
    rm -rf "$bench/old"
    read -r o_wall o_cpu o_mb < <(timed old "$old" clean "$input" --out-dir "$bench/old" \
        --no-dns --no-cache --quiet)
    rm -rf "$bench/new"
    read -r n_wall n_cpu n_mb < <(timed new "$new" clean "$input" --out-dir "$bench/new" \
        --no-dns --no-cache --quiet)
    r_old=$(awk -v a="$o_wall" -v b="$copy" 'BEGIN { printf "%.3f", a / b }')
    r_new=$(awk -v a="$n_wall" -v b="$copy" 'BEGIN { printf "%.3f", a / b }')
    ratios_old+=("$r_old")
    ratios_new+=("$r_new")
    echo "round $round: copy ${copy} s | old ${o_wall} s, cpu ${o_cpu} s, ${o_mb} MB, /copy $r_old" \
        "| new ${n_wall} s, cpu ${n_cpu} s, ${n_mb} MB, /copy $r_new"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "listwash/copy median over $ROUNDS rounds: old $(median "${ratios_old[@]}")," \
    "new $(median "${ratios_new[@]}")"
echo "input: $ROWS rows, seed $SEED; $(nproc) cores; commit $(git rev-parse --short HEAD)"
