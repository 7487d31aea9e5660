"""Runs listwash's generated profile SQL in DuckDB or Spark and checks it against listwash.

For one event log and its contacts: `listwash events normalize` writes the normalised event
table, `listwash profiles --sql ENGINE` the query; the engine computes the profiles from the
table, and they must equal `listwash profiles` of the log (every column, every row), and
`clean --profiles` with the engine's profiles must give outputs byte-identical to
`clean --engagement` with the log. Exits 1 on the first difference (naming the column and
the row number, never an address). See: issue 14; driven by scripts/warehouse-test.sh.
"""

import argparse
import filecmp
import glob
import os
import subprocess
import sys
import time

import pyarrow.parquet as pq

OUTPUTS = ["clean.csv", "review.csv", "suppressed.csv", "rejected.csv"]


def run(*args):
    subprocess.run([str(a) for a in args], check=True)


def table(paths):
    rows = {}
    columns = None
    for path in paths:
        t = pq.read_table(path)
        columns = columns or t.column_names
        for row in t.to_pylist():
            rows[row["email"]] = row
    return columns, [rows[k] for k in sorted(rows)]


def compare(expected_paths, actual_paths, what):
    names, expected = table(expected_paths)
    actual_names, actual = table(actual_paths)
    if actual_names != names:
        sys.exit(f"{what}: columns differ:\n  listwash {names}\n  engine   {actual_names}")
    if len(expected) != len(actual):
        sys.exit(f"{what}: {len(expected)} profiles from listwash, {len(actual)} from the engine")
    for i, (e, a) in enumerate(zip(expected, actual)):
        for name in names:
            if e[name] != a[name]:
                sys.exit(f"{what}: row {i + 1} (by address), column {name}: listwash {e[name]!r}, engine {a[name]!r}")
    print(f"{what}: {len(expected)} profiles equal, all {len(names)} columns")


def duckdb_profiles(query, events, out):
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{events}')")
    con.execute(f"COPY ({query}) TO '{out}' (FORMAT parquet)")
    return [out]


def spark_profiles(query, events, out):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.read.parquet(events).createOrReplaceTempView("events")
    spark.sql(query).write.mode("overwrite").parquet(out)
    # Spark writes one part per partition; the parts split the addresses, so
    # `clean --profiles` merges them as shards.
    return sorted(glob.glob(os.path.join(out, "part-*.parquet")))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listwash", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--contacts", required=True)
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    p.add_argument("--as-of", default="2026-11-01")
    p.add_argument("--name", default="log")
    a = p.parse_args()
    lw, work = a.listwash, os.path.join(a.work, f"{a.name}-{a.engine}")
    os.makedirs(work, exist_ok=True)
    events = os.path.join(work, "events.parquet")
    mine = os.path.join(work, "listwash-profiles.parquet")
    theirs = os.path.join(work, f"{a.engine}-profiles.parquet")
    run(lw, "events", "normalize", a.log, "--out", events, "--as-of", a.as_of, "--quiet")
    run(lw, "profiles", a.log, "--out", mine, "--as-of", a.as_of, "--quiet")
    query = subprocess.run([lw, "profiles", "--sql", a.engine], check=True,
                           capture_output=True, text=True).stdout
    started = time.time()
    parts = (duckdb_profiles if a.engine == "duckdb" else spark_profiles)(query, events, theirs)
    print(f"{a.name}: {a.engine} computed the profiles in {time.time() - started:.1f} s")
    compare([mine], parts, f"{a.name} ({a.engine})")

    common = [a.contacts, "--no-dns", "--quiet", "--as-of", a.as_of]
    with_logs, with_profiles = os.path.join(work, "out-logs"), os.path.join(work, "out-profiles")
    run(lw, "clean", *common, "--out-dir", with_logs, "--engagement", a.log)
    flags = [x for part in parts for x in ("--profiles", part)]
    run(lw, "clean", *common, "--out-dir", with_profiles, *flags)
    for name in OUTPUTS:
        if not filecmp.cmp(os.path.join(with_logs, name), os.path.join(with_profiles, name), shallow=False):
            sys.exit(f"{a.name} ({a.engine}): {name} differs between --engagement and --profiles")
    print(f"{a.name} ({a.engine}): clean --profiles gives byte-identical outputs")


if __name__ == "__main__":
    main()
