#!/usr/bin/env bash
# Browser test of report.html (see: #12 part 3): renders the report of a sample_data run in a
# real headless Chromium (Debian's `chromium`, installed when missing), fails on any console
# message, checks that the key numbers appear as text in the rendered page, and keeps the
# screenshot. Needs a built binary: $LISTWASH, else $CARGO_TARGET_DIR/debug/listwash, else
# target/debug/listwash.
#
# Usage: scripts/browser-test.sh [KEEP_DIR]   (default KEEP_DIR: target/browser-test)
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${LISTWASH:-${CARGO_TARGET_DIR:-target}/debug/listwash}"
keep="${1:-${CARGO_TARGET_DIR:-target}/browser-test}"
[ -x "$bin" ] || { echo "browser-test: no binary at $bin; run cargo build first" >&2; exit 1; }

browser=""
for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null 2>&1; then browser="$name"; break; fi
done
if [ -z "$browser" ]; then
  echo "browser-test: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  browser=chromium
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$keep"

"$bin" clean sample_data/contacts.csv --out-dir "$work/out" \
  --engagement sample_data/events.csv --suppress sample_data/suppress.txt \
  --suppress sample_data/suppress_sha256.csv --as-of 2026-11-01 --no-dns --quiet
report="$work/out/report.html"
[ -s "$report" ] || { echo "browser-test: no report.html was written" >&2; exit 1; }

# Every run starts from a new, empty profile and makes no network connection of its own.
run_chromium() {
  local profile
  profile=$(mktemp -d "$work/profile.XXXXXX")
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 \
    --window-size=1280,2200 "$@" "file://$report"
}

run_chromium --dump-dom >"$work/dom.html" 2>"$work/dom.log"
run_chromium --screenshot="$keep/report.png" >/dev/null 2>"$work/shot.log"
cp "$report" "$keep/report.html"

status=0
# A console message (an error in the page, a blocked request) fails the test.
if grep -h "CONSOLE" "$work/dom.log" "$work/shot.log"; then
  echo "browser-test: the page logged to the console (above)" >&2
  status=1
fi
[ -s "$keep/report.png" ] || { echo "browser-test: no screenshot" >&2; status=1; }

# The key numbers, taken from report.json, must appear as text in the rendered page.
python3 - "$work/out/report.json" "$work/dom.html" <<'EOF' || status=1
import html, json, re, sys
report = json.load(open(sys.argv[1]))
dom = open(sys.argv[2], encoding="utf-8").read()
# The text a reader sees: the style sheet (with its @media rules) and tags taken out.
body = re.sub(r"<style.*?</style>", " ", dom, flags=re.S)
text = html.unescape(re.sub(r"<[^>]+>", " ", body))
health = report["list_health"]
expected = {
    "rows read": f"{report['input']['rows']}",
    "clean": f"{report['outputs']['clean']}",
    "review": f"{report['outputs']['review']}",
    "suppressed": f"{report['outputs']['suppressed']}",
    "unknown users before": f"{health['unknown_users']['percent_before']:.2f}%",
    "trap risk before": f"{health['trap_risk']['percent_before']:.2f}%",
    "complaints before": f"{health['complaints']['percent_before']:.2f}%",
    "top domain": report["concentration"]["top_domains"][0]["name"],
}
missing = [f"{k} ({v})" for k, v in expected.items() if v not in text]
if missing:
    print("browser-test: not in the rendered page: " + ", ".join(missing), file=sys.stderr)
    sys.exit(1)
if "@" in body:
    print("browser-test: the rendered page holds an '@' outside its style sheet", file=sys.stderr)
    sys.exit(1)
print("browser-test: key numbers found: " + ", ".join(f"{k} {v}" for k, v in expected.items()))
EOF

if [ "$status" -eq 0 ]; then
  echo "browser-test: ok; screenshot kept at $keep/report.png"
fi
exit "$status"
