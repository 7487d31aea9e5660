#!/usr/bin/env bash
# End-to-end benchmark for the "Speed and memory" targets of the clean pipeline.
#
# In ONE run (absolute figures swing with machine load; only the ratios mean something):
#   (a) copy     plain single-threaded csv-crate read+write (examples/csv_copy.rs): the baseline
#   (b) listwash listwash clean FILE --out-dir OUT --no-dns --no-cache --quiet
#   (c) polars   Python polars: lazy CSV scan, regex filter on the email column, sink to CSV
# each under /usr/bin/time (wall seconds, peak RSS). Targets: listwash/copy <= 1.0,
# listwash/polars < 1.0, listwash peak RSS < 200 MB for 2M rows.
#
# Usage:   scripts/bench_e2e.sh
# Env:     ROWS=2000000     rows to generate (~200 bytes each)
#          SEED=1           generator seed
#          BENCH_DIR=DIR    keep the generated file, venv and outputs here (reused next run);
#                           default: a temporary directory, removed at the end
#          CARGO_TARGET_DIR where cargo builds (default: target/ in the repo)
#          CHECK=1          also verify listwash's outputs with ../shared/tools/check_outputs.py
#                           (slow on 2M rows)
#          SKIP_POLARS=1    skip (c)
#          NO_BUILD=1       use the binaries already in $CARGO_TARGET_DIR/release
set -euo pipefail

ROWS="${ROWS:-2000000}"
SEED="${SEED:-1}"
CHECK="${CHECK:-0}"
SKIP_POLARS="${SKIP_POLARS:-0}"
NO_BUILD="${NO_BUILD:-0}"

BENCH_NAME=bench
# shellcheck source=scripts/bench_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

# ---------------------------------------------------------------------------------------------
# measure NAME CMD...: runs CMD under /usr/bin/time; sets secs_NAME and kb_NAME.
# Returns CMD's exit status (the caller decides whether that is fatal).
measure() {
    local name="$1"; shift
    local tf="$bench/time.$name"
    say "$name: $*"
    local status=0 secs kb
    /usr/bin/time -f '%e %M' -o "$tf" "$@" >&2 || status=$?
    # On failure GNU time writes "Command exited with non-zero status N" first: use the last line.
    read -r secs kb < <(tail -n 1 "$tf")
    printf -v "secs_$name" '%s' "$secs"
    printf -v "kb_$name" '%s' "$kb"
    printf '   %s s, %s MB peak RSS%s\n' "$secs" "$(mb "$kb")" \
        "$([[ $status -eq 0 ]] || echo ", FAILED (exit $status)")" >&2
    return "$status"
}

# (a) the baseline copy
measure copy "$bin/examples/csv_copy" "$input" "$bench/copy.csv"
rm -f "$bench/copy.csv"

# (b) listwash clean, if this build has the command
out="$bench/out"
have_listwash=0
if "$bin/listwash" clean --help >/dev/null 2>&1; then
    rm -rf "$out"
    measure listwash "$bin/listwash" clean "$input" --out-dir "$out" --no-dns --no-cache --quiet
    have_listwash=1
else
    say "listwash: this build has no 'clean' command yet: skipped"
fi

# (c) polars: lazy scan, regex filter on the email column, streaming sink
have_polars=0
if [[ "$SKIP_POLARS" == 1 ]]; then
    say "polars: skipped (SKIP_POLARS=1)"
else
    venv="$bench/venv"
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import polars' 2>/dev/null; then
        say "polars: creating $venv and installing polars"
        python3 -m venv "$venv" && "$venv/bin/pip" install -q polars || true
    fi
    if "$venv/bin/python" -c 'import polars' 2>/dev/null; then
        cat >"$bench/polars_filter.py" <<'EOF'
import sys
import polars as pl

# Every column as text (no type inference), keep rows whose email looks like an address.
EMAIL = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
(pl.scan_csv(sys.argv[1], infer_schema=False)
   .filter(pl.col("email").str.contains(EMAIL))
   .sink_csv(sys.argv[2]))
EOF
        polars_version="$("$venv/bin/python" -c 'import polars; print(polars.__version__)')"
        if measure polars "$venv/bin/python" "$bench/polars_filter.py" "$input" "$bench/polars.csv"
        then
            have_polars=1
        fi
        rm -f "$bench/polars.csv"
    else
        say "polars: pip install failed: skipped"
    fi
fi

# ---------------------------------------------------------------------------------------------
# Optional: check listwash's outputs against the contract (conservation, order, report).
checker="$repo/../shared/tools/check_outputs.py"
check_result="not run (CHECK=1 runs it)"
check_status=0
if [[ "$CHECK" == 1 && "$have_listwash" == 1 ]]; then
    if [[ -f "$checker" ]]; then
        say "checking outputs with $checker"
        if python3 "$checker" "$input" --out-dir "$out" >&2; then
            check_result="passed"
        else
            check_status=$?
            check_result="FAILED (see above)"
        fi
    else
        check_result="skipped: $checker does not exist"
    fi
fi

# ---------------------------------------------------------------------------------------------
# Report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
row() { # name secs kb
    awk -v n="$1" -v s="$2" -v k="$3" -v r="$ROWS" \
        'BEGIN { printf "%-10s %9.2f %12.0f %14.0f\n", n, s, k / 1024, (s > 0 ? r / s : 0) }'
}
{
    echo
    echo "listwash end-to-end benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "input: $ROWS rows, $bytes bytes ($((bytes / ROWS)) bytes/row), seed $SEED"
    echo
    printf '%-10s %9s %12s %14s\n' tool 'wall s' 'peak RSS MB' 'rows/s'
    row copy "$secs_copy" "$kb_copy"
    [[ "$have_listwash" == 1 ]] && row listwash "$secs_listwash" "$kb_listwash"
    [[ "$have_polars" == 1 ]] && row "polars" "$secs_polars" "$kb_polars" &&
        echo "           (polars $polars_version)"
    echo
    if [[ "$have_listwash" == 1 ]]; then
        echo "listwash/copy   wall-time ratio: $(ratio "$secs_listwash" "$secs_copy")   (target <= 1.0)"
        [[ "$have_polars" == 1 ]] &&
            echo "listwash/polars wall-time ratio: $(ratio "$secs_listwash" "$secs_polars")   (target < 1.0)"
        echo "listwash peak RSS: $(mb "$kb_listwash") MB   (target < 200 MB)"
    fi
    [[ "$have_polars" == 1 ]] &&
        echo "polars/copy     wall-time ratio: $(ratio "$secs_polars" "$secs_copy")"
    [[ "$have_listwash" == 1 ]] && echo "output check: $check_result"
    echo
    echo "command: ROWS=$ROWS SEED=$SEED scripts/bench_e2e.sh"
}
exit "$check_status"
