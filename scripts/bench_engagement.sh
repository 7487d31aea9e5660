#!/usr/bin/env bash
# Benchmarks listwash's engagement stage against the same aggregation in DuckDB SQL and in
# polars' Python API (lazy, streaming), on one generated log, in one run. See: issue 4.
#
#   scripts/bench_engagement.sh            # 20,000,000 events for 1,000,000 contacts
#   EVENTS=2000000 CONTACTS=100000 scripts/bench_engagement.sh
#
# Env: EVENTS, CONTACTS, WORK (scratch dir, default $TMPDIR/listwash-bench), CARGO_TARGET_DIR.
# Prints wall time and peak RSS (/usr/bin/time -v) for each, then the ratios of this one run:
#   wall ratio  = other's wall time / listwash's   (> 1: listwash is faster)
#   RSS ratio   = other's peak RSS  / listwash's   (> 1: listwash uses less memory)
#   listwash peak RSS / log size on disk           (issue 4: must be well under 1)
# and checks that all three computed the same per-address aggregates (checksum line).
# Targets (issue 4): both wall ratios >= 1, listwash peak RSS well under the log's size.
set -euo pipefail

EVENTS=${EVENTS:-20000000}
CONTACTS=${CONTACTS:-1000000}
WORK=${WORK:-${TMPDIR:-/tmp}/listwash-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/listwash-target}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"

cd "$ROOT"
cargo build --release --example gen_events --example engagement_bench
BIN="$CARGO_TARGET_DIR/release/examples"
LOG="$WORK/events-$EVENTS-$CONTACTS.csv"
if [ ! -s "$LOG" ]; then
    echo "generating $LOG ..."
    "$BIN/gen_events" "$LOG.tmp" --events "$EVENTS" --contacts "$CONTACTS" && mv "$LOG.tmp" "$LOG"
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
if [ ! -x "$WORK/venv/bin/python" ]; then
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q duckdb polars
fi
PY="$WORK/venv/bin/python"

cat > "$WORK/bench_duckdb.py" <<'PY'
"""The engagement aggregation as a data engineer writes it in DuckDB SQL."""
import sys, duckdb
path = sys.argv[1]
con = duckdb.connect()
con.execute(f"""
CREATE TABLE profiles AS
WITH e AS (
  SELECT lower(trim(email)) AS addr,
         CASE lower(trim(event))
           WHEN 'sent' THEN 'sent' WHEN 'processed' THEN 'sent' WHEN 'accepted' THEN 'sent' WHEN 'queued' THEN 'sent'
           WHEN 'delivered' THEN 'delivered'
           WHEN 'open' THEN 'open' WHEN 'opened' THEN 'open'
           WHEN 'click' THEN 'click' WHEN 'clicked' THEN 'click'
           WHEN 'hard_bounce' THEN 'hard' WHEN 'hardbounce' THEN 'hard' WHEN 'bounce' THEN 'hard'
           WHEN 'soft_bounce' THEN 'soft' WHEN 'softbounce' THEN 'soft'
           WHEN 'complaint' THEN 'complaint' WHEN 'spamreport' THEN 'complaint' WHEN 'complained' THEN 'complaint'
           WHEN 'unsubscribe' THEN 'unsub' WHEN 'unsubscribed' THEN 'unsub' WHEN 'group_unsubscribe' THEN 'unsub'
         END AS code,
         epoch(try_cast("timestamp" AS TIMESTAMPTZ))::BIGINT AS ts,
         coalesce(try_cast(machine AS BOOLEAN), false) AS machine
  FROM read_csv('{path}', header = true, all_varchar = true)
),
v AS (SELECT * FROM e WHERE addr <> '' AND code IS NOT NULL AND ts IS NOT NULL),
a AS (
  SELECT addr,
    count(*) FILTER (code = 'sent') AS sent, count(*) FILTER (code = 'delivered') AS delivered,
    min(ts) AS first_ts, max(ts) AS last_ts,
    max(ts) FILTER (code = 'open' AND NOT machine) AS last_open,
    max(ts) FILTER (code = 'click' AND NOT machine) AS last_click,
    count(*) FILTER (code = 'open' AND machine) AS machine_opens,
    count(*) FILTER (code = 'click' AND machine) AS machine_clicks,
    count(*) FILTER (code = 'hard') AS hard, min(ts) FILTER (code = 'hard') AS first_hard,
    max(ts) FILTER (code = 'hard') AS last_hard,
    count(*) FILTER (code = 'soft') AS soft, max(ts) FILTER (code = 'soft') AS last_soft,
    count(*) FILTER (code = 'complaint') AS complaints, min(ts) FILTER (code = 'complaint') AS first_complaint,
    count(*) FILTER (code = 'unsub') AS unsubs, min(ts) FILTER (code = 'unsub') AS first_unsub
  FROM v GROUP BY addr
),
t AS (
  SELECT addr, last_hard, greatest(coalesce(last_open, last_click), coalesce(last_click, last_open)) AS last_human
  FROM a WHERE last_hard IS NOT NULL OR last_open IS NOT NULL OR last_click IS NOT NULL
),
b AS (
  SELECT v.addr,
    count(*) FILTER (v.code = 'delivered' AND v.ts > t.last_hard) AS delivered_after_bounce,
    count(*) FILTER (v.code = 'sent' AND v.ts > t.last_human) AS sends_after_engagement
  FROM v JOIN t USING (addr) WHERE v.code IN ('sent', 'delivered') GROUP BY v.addr
)
SELECT * FROM a LEFT JOIN b USING (addr)
""")
row = con.execute("""
SELECT count(*), sum(sent), sum(delivered),
  count(*) FILTER (last_open IS NOT NULL OR last_click IS NOT NULL),
  coalesce(sum(sends_after_engagement) FILTER (last_open IS NOT NULL OR last_click IS NOT NULL), 0),
  count(*) FILTER (last_hard IS NOT NULL),
  coalesce(sum(delivered_after_bounce) FILTER (last_hard IS NOT NULL), 0)
FROM profiles""").fetchone()
print("checksum: addresses={} sent={} delivered={} engaged={} sends_after_engagement={} hard_bounced={} deliveries_after_bounce={}".format(*row))
PY

cat > "$WORK/bench_polars.py" <<'PY'
"""The engagement aggregation as a data engineer writes it with polars (lazy, streaming)."""
import sys, polars as pl
path = sys.argv[1]
codes = {
    "sent": "sent", "processed": "sent", "accepted": "sent", "queued": "sent",
    "delivered": "delivered", "open": "open", "opened": "open", "click": "click", "clicked": "click",
    "hard_bounce": "hard", "hardbounce": "hard", "bounce": "hard", "soft_bounce": "soft", "softbounce": "soft",
    "complaint": "complaint", "spamreport": "complaint", "complained": "complaint",
    "unsubscribe": "unsub", "unsubscribed": "unsub", "group_unsubscribe": "unsub",
}
v = (
    pl.scan_csv(path, infer_schema=False)
    .select(
        pl.col("email").str.strip_chars().str.to_lowercase().alias("addr"),
        pl.col("event").str.strip_chars().str.to_lowercase().replace_strict(codes, default=None).alias("code"),
        pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%#z", time_zone="UTC", strict=False).dt.epoch("s").alias("ts"),
        pl.col("machine").str.to_lowercase().is_in(["true", "1", "yes"]).fill_null(False).alias("machine"),
    )
    .filter((pl.col("addr") != "") & pl.col("code").is_not_null() & pl.col("ts").is_not_null())
)
c, ts, m = pl.col("code"), pl.col("ts"), pl.col("machine")
a = v.group_by("addr").agg(
    (c == "sent").sum().alias("sent"), (c == "delivered").sum().alias("delivered"),
    ts.min().alias("first_ts"), ts.max().alias("last_ts"),
    ts.filter((c == "open") & ~m).max().alias("last_open"),
    ts.filter((c == "click") & ~m).max().alias("last_click"),
    ((c == "open") & m).sum().alias("machine_opens"), ((c == "click") & m).sum().alias("machine_clicks"),
    (c == "hard").sum().alias("hard"), ts.filter(c == "hard").min().alias("first_hard"),
    ts.filter(c == "hard").max().alias("last_hard"),
    (c == "soft").sum().alias("soft"), ts.filter(c == "soft").max().alias("last_soft"),
    (c == "complaint").sum().alias("complaints"), ts.filter(c == "complaint").min().alias("first_complaint"),
    (c == "unsub").sum().alias("unsubs"), ts.filter(c == "unsub").min().alias("first_unsub"),
).collect(engine="streaming")
t = a.lazy().select(
    "addr", "last_hard", pl.max_horizontal("last_open", "last_click").alias("last_human")
).filter(pl.col("last_hard").is_not_null() | pl.col("last_human").is_not_null())
b = (
    v.filter(c.is_in(["sent", "delivered"]))
    .join(t, on="addr")
    .group_by("addr")
    .agg(
        ((c == "delivered") & (ts > pl.col("last_hard"))).sum().alias("delivered_after_bounce"),
        ((c == "sent") & (ts > pl.col("last_human"))).sum().alias("sends_after_engagement"),
    )
    .collect(engine="streaming")
)
p = a.join(b, on="addr", how="left")
engaged = p["last_open"].is_not_null() | p["last_click"].is_not_null()
hard = p["last_hard"].is_not_null()
print("checksum: addresses={} sent={} delivered={} engaged={} sends_after_engagement={} hard_bounced={} deliveries_after_bounce={}".format(
    p.height, p["sent"].sum(), p["delivered"].sum(), int(engaged.sum()),
    int(p.filter(engaged)["sends_after_engagement"].fill_null(0).sum()), int(hard.sum()),
    int(p.filter(hard)["delivered_after_bounce"].fill_null(0).sum())))
PY

cat "$LOG" > /dev/null  # same page-cache state for all three
SIZE=$(stat -c %s "$LOG")
echo "log: $LOG ($EVENTS events, $CONTACTS contacts, $((SIZE / 1000000)) MB)"
run() {  # name, command...
    local name=$1; shift
    /usr/bin/time -v "$@" > "$WORK/$name.out" 2> "$WORK/$name.time"
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$WORK/$name.time")
    rss=$(awk -F': ' '/Maximum resident set size/ {print int($2 / 1024)}' "$WORK/$name.time")
    printf '%-10s wall %7.2f s   peak RSS %6d MB   %s\n' "$name" "$wall" "$rss" "$(grep checksum "$WORK/$name.out")"
    eval "WALL_$name=$wall RSS_$name=$rss"
}
run listwash "$BIN/engagement_bench" "$LOG"
run duckdb "$PY" "$WORK/bench_duckdb.py" "$LOG"
run polars "$PY" "$WORK/bench_polars.py" "$LOG"
awk -v l="$WALL_listwash" -v d="$WALL_duckdb" -v p="$WALL_polars" \
    -v lr="$RSS_listwash" -v dr="$RSS_duckdb" -v pr="$RSS_polars" -v size="$SIZE" 'BEGIN {
    printf "wall ratio (other / listwash, > 1: listwash faster):      duckdb %.2f, polars-python %.2f\n", d / l, p / l
    printf "peak RSS ratio (other / listwash, > 1: listwash smaller): duckdb %.2f, polars-python %.2f\n", dr / lr, pr / lr
    printf "listwash peak RSS / log size on disk: %.2f (%d MB / %d MB)\n", lr * 1048576 / size, lr, size / 1000000 }'
if [ "$(grep -h checksum "$WORK"/{listwash,duckdb,polars}.out | sort -u | wc -l)" = 1 ]; then
    echo "checksums: all three agree"
else
    echo "checksums: DIFFER" >&2
fi
