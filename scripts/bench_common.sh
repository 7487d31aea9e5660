# Shared set-up of the 2M-row end-to-end benchmarks (scripts/bench_e2e.sh,
# scripts/bench_compare.sh); sourced, not run. Reads ROWS, SEED, NO_BUILD, BENCH_DIR,
# CARGO_TARGET_DIR and the caller's BENCH_NAME; sets repo, target, bin, bench, input, bytes and
# the helpers say and mb; builds the release binaries (unless NO_BUILD=1), installs GNU time when
# missing, and generates (or reuses) the input file with its page cache warm.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
bin="$target/release"

if [[ -n "${BENCH_DIR:-}" ]]; then
    bench="$BENCH_DIR"
    mkdir -p "$bench"
else
    bench="$(mktemp -d "${TMPDIR:-/tmp}/listwash-${BENCH_NAME:-bench}.XXXXXX")"
    trap 'rm -rf "$bench"' EXIT
fi
bench="$(cd "$bench" && pwd)"

say() { printf '\n== %s\n' "$*" >&2; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; } # KB -> MB, rounded

# /usr/bin/time (GNU time) gives peak RSS and CPU; the shell's `time` keyword does not.
if [[ ! -x /usr/bin/time ]]; then
    say "installing GNU time"
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

if [[ "${NO_BUILD:-0}" == 1 ]]; then
    say "not building (NO_BUILD=1): using $bin"
else
    say "building (release): listwash, examples gen_contacts and csv_copy in $target"
    CARGO_TARGET_DIR="$target" cargo build --release --bin listwash --example gen_contacts \
        --example csv_copy
fi

input="$bench/contacts_${ROWS}_seed${SEED}.csv"
if [[ -s "$input" ]]; then
    say "reusing $input"
else
    say "generating $ROWS rows into $input"
    "$bin/examples/gen_contacts" "$input.part" "$ROWS" "$SEED" >&2
    mv "$input.part" "$input"
fi
bytes=$(stat -L -c %s "$input")
cat "$input" >/dev/null # warm the page cache: every tool reads from memory, none from disk
