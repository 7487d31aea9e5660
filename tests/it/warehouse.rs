//! Engagement profiles that leave the machine (issue 14 parts 1–4): `listwash profiles`,
//! `--merge` of shards, `events normalize`, the generated SQL, and `clean --profiles`, whose
//! outputs must be byte-identical to `clean --engagement` with the logs themselves.
//! The SQL run in DuckDB and Spark is tested by `scripts/warehouse-test.sh`; the PostgreSQL
//! flavour runs here, in a server the test starts (`support::postgres`).

use std::path::{Path, PathBuf};

use listwash::profile::parquet;
use polars::prelude::*;

use crate::support::run::{RunResult, TestRun};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> PathBuf {
    root().join("sample_data").join(name)
}

const OUTPUTS: [&str; 4] = ["clean.csv", "review.csv", "suppressed.csv", "rejected.csv"];

/// `listwash ARGS` (with `--quiet`), expecting success and nothing on stderr.
fn listwash(run: TestRun, args: &[&str]) -> RunResult {
    run.args(args).run()
}

/// The contacts `input` cleaned with `engagement` (logs: `--engagement`; profile files:
/// `--profiles`), plus `extra`.
fn clean(input: &Path, flag: &str, files: &[PathBuf], extra: &[&str]) -> RunResult {
    let mut args: Vec<String> = Vec::new();
    for file in files {
        args.push(flag.into());
        args.push(file.display().to_string());
    }
    args.extend(extra.iter().map(|s| (*s).to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestRun::new()
        .file("in.csv", std::fs::read(input).expect("contacts"))
        .clean(&args)
}

/// Profiles of `logs` written to `out` (with `--as-of 2026-11-01` and `extra`).
fn profiles_of(logs: &[PathBuf], out: &Path, extra: &[&str]) {
    let mut args = vec!["profiles".to_string(), "--quiet".into()];
    args.extend(logs.iter().map(|p| p.display().to_string()));
    args.extend(["--out".into(), out.display().to_string()]);
    args.extend(["--as-of".into(), "2026-11-01".into()]);
    args.extend(extra.iter().map(|s| (*s).to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    listwash(TestRun::new(), &args);
}

fn assert_same_outputs(a: &RunResult, b: &RunResult, what: &str) {
    for name in OUTPUTS {
        assert!(
            a.out_bytes(name) == b.out_bytes(name),
            "{what}: {name} differs between --engagement and --profiles"
        );
    }
}

// See: #14 part 4
#[test]
fn profiles_give_the_outputs_of_the_logs_on_sample_data() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles.parquet");
    let log = sample("events.csv");
    profiles_of(std::slice::from_ref(&log), &profiles, &[]);
    let with_logs = clean(&sample("contacts.csv"), "--engagement", &[log], &[]);
    let with_profiles = clean(&sample("contacts.csv"), "--profiles", &[profiles], &[]);
    assert_same_outputs(&with_logs, &with_profiles, "sample_data");
    assert_eq!(with_profiles.report()["engagement"]["source"], "profiles");
    assert_eq!(
        with_logs.report()["engagement"]["source"],
        "engagement_logs"
    );
    assert!(
        with_logs.out("review.csv").lines().count() > 1,
        "the sample has engagement reviews"
    );
}

// See: #14 part 4
#[test]
fn profiles_give_the_outputs_of_the_logs_on_every_vendor_fixture() {
    let fixtures = root().join("tests/fixtures/events");
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(rules.path(), "[engagement]\ninactive_min_sends = 2\n").unwrap();
    let rules_arg = rules.path().display().to_string();
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name != "contacts.csv" && name != "README.md"
        })
        .collect();
    logs.sort();
    assert!(logs.len() >= 10, "the vendor fixtures are there");
    let dir = tempfile::tempdir().unwrap();
    for log in &logs {
        let profiles = dir.path().join("p.parquet");
        profiles_of(
            std::slice::from_ref(log),
            &profiles,
            &["--rules", &rules_arg],
        );
        let extra = ["--rules", rules_arg.as_str()];
        let with_logs = clean(
            &fixtures.join("contacts.csv"),
            "--engagement",
            std::slice::from_ref(log),
            &extra,
        );
        let with_profiles = clean(
            &fixtures.join("contacts.csv"),
            "--profiles",
            &[profiles],
            &extra,
        );
        assert_same_outputs(&with_logs, &with_profiles, &log.display().to_string());
    }
}

/// A log's data lines split by `shard_of` (header repeated in each shard).
fn split(log: &Path, shards: usize, shard_of: impl Fn(&str, i64) -> usize) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut out = vec![format!("{header}\n"); shards];
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let ts = chrono::DateTime::parse_from_rfc3339(cells[2])
            .expect("the sample's times are RFC 3339")
            .timestamp();
        let shard = shard_of(cells[0], ts);
        out[shard].push_str(line);
        out[shard].push('\n');
    }
    out
}

/// Writes the shards, computes their profiles, merges them; returns the merged file and
/// the shards' profile files.
fn shard_profiles(dir: &Path, name: &str, shards: &[String]) -> (PathBuf, Vec<PathBuf>) {
    let mut files = Vec::new();
    for (i, shard) in shards.iter().enumerate() {
        let log = dir.join(format!("{name}{i}.csv"));
        std::fs::write(&log, shard).unwrap();
        let out = dir.join(format!("{name}{i}.parquet"));
        profiles_of(&[log], &out, &[]);
        files.push(out);
    }
    let merged = dir.join(format!("{name}-merged.parquet"));
    let mut args = vec!["profiles".to_string(), "--merge".into(), "--quiet".into()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    args.extend(["--out".into(), merged.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    listwash(TestRun::new(), &args);
    (merged, files)
}

// See: #14 part 1
#[test]
fn three_time_shards_and_three_address_shards_merge_into_the_whole() {
    let fixtures = root().join("tests/fixtures/profiles");
    // The sample log, and a small one whose histories cross the cuts in every way an
    // order-dependent column cares about (see the fixtures' README).
    let cases = [
        ("sample", sample("events.csv"), sample("contacts.csv")),
        (
            "crossing",
            fixtures.join("shards.csv"),
            fixtures.join("contacts.csv"),
        ),
    ];
    let cuts = [
        chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .timestamp(),
        chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .timestamp(),
    ];
    for (case, log, contacts) in cases {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole.parquet");
        profiles_of(std::slice::from_ref(&log), &whole, &[]);
        let expected = parquet::read(&whole).unwrap().0;
        let by_time = split(&log, 3, |_, ts| cuts.iter().filter(|c| ts >= **c).count());
        let by_address = split(&log, 3, |email, _| {
            let folded = email.trim().to_lowercase();
            folded.bytes().map(usize::from).sum::<usize>() % 3
        });
        let with_logs = clean(&contacts, "--engagement", std::slice::from_ref(&log), &[]);
        for (name, shards) in [("time", by_time), ("address", by_address)] {
            assert!(
                shards.iter().all(|s| s.lines().count() > 1),
                "{case} {name}: three real shards"
            );
            let (merged, files) = shard_profiles(dir.path(), name, &shards);
            assert_eq!(
                parquet::read(&merged).unwrap().0,
                expected,
                "{case}: {name} shards merged"
            );
            // clean --profiles merges the shards itself, in any order.
            let mut reversed = files.clone();
            reversed.reverse();
            let with_shards = clean(&contacts, "--profiles", &reversed, &[]);
            assert_same_outputs(&with_logs, &with_shards, &format!("{case} {name}"));
        }
    }
}

// See: #14 part 1
#[test]
fn shards_that_overlap_in_time_are_refused_naming_both_files() {
    let run = TestRun::new().file("log.csv", std::fs::read(sample("events.csv")).unwrap());
    let run = run
        .args([
            "profiles",
            "-q",
            "{dir}/log.csv",
            "--out",
            "{dir}/a.parquet",
        ])
        .run();
    let b = run.path("b.parquet");
    std::fs::copy(run.path("a.parquet"), &b).unwrap();
    let result = TestRun::new()
        .args([
            "profiles",
            "--merge",
            &run.path("a.parquet").display().to_string(),
            &b.display().to_string(),
            "--out",
            "{dir}/m.parquet",
        ])
        .expect_status(1)
        .expect_stderr_contains("b.parquet: its events of an address overlap in time with those of")
        .expect_stderr_contains("a.parquet")
        .run();
    assert!(!result.path("m.parquet").exists());
}

// See: #14 part 3
#[test]
fn the_sql_of_each_engine_matches_its_snapshot() {
    let snapshots = root().join("tests/fixtures/profiles/sql");
    for engine in ["duckdb", "spark", "bigquery", "postgres"] {
        let run = TestRun::new()
            .args(["profiles", "--sql", engine])
            .stdout_allowed()
            .run();
        let path = snapshots.join(format!("{engine}.sql"));
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &run.stdout).unwrap();
        }
        let expected = std::fs::read_to_string(&path).expect("snapshot");
        assert!(
            run.stdout == expected,
            "{engine}: the SQL changed; review it and run with UPDATE_SNAPSHOTS=1"
        );
    }
    // The rule parameter is baked in and named.
    let run = TestRun::new()
        .file("rules.toml", "[engagement]\nscanner_click_seconds = 0\n")
        .args(["profiles", "--sql", "duckdb", "--rules", "{dir}/rules.toml"])
        .expect_stdout_contains("scanner_click_seconds = 0")
        .expect_stdout_contains("FALSE AS scanner")
        .run();
    assert!(!run.stdout.contains("prior_delivery + "));
}

// See: #14 part 2
#[test]
fn events_normalize_writes_usable_events_normalised() {
    let log = "email,event,timestamp,machine\n\
               \x20Ann@EXAMPLE.com ,open,2026-01-01T00:00:00Z,true\n\
               ann@example.com,deferred,2026-01-02T00:00:00Z,\n\
               ann@example.com,teleported,2026-01-03T00:00:00Z,\n\
               bob@bücher.de,bounce,2026-01-04T00:00:00+02:00,\n\
               bob@bücher.de,click,2026-12-01T00:00:00Z,\n";
    let run = TestRun::new()
        .file("log.csv", log)
        .args([
            "events",
            "normalize",
            "{dir}/log.csv",
            "--out",
            "{dir}/e.parquet",
            "--as-of",
            "2026-11-01",
        ])
        .expect_stderr_contains("wrote 2 events")
        .run();
    let file = std::fs::File::open(run.path("e.parquet")).unwrap();
    let frame = ParquetReader::new(file).finish().unwrap();
    let names: Vec<&str> = frame
        .get_column_names()
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "email",
            "event",
            "ts",
            "machine",
            "bounce_code",
            "relabelled"
        ]
    );
    let mut rows: Vec<String> = (0..frame.height())
        .map(|i| {
            let row = frame.get_row(i).unwrap();
            format!("{:?}", row.0)
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            r#"[String("ann@example.com"), String("open"), Int64(1767225600), Boolean(true), Null, Boolean(false)]"#,
            r#"[String("bob@xn--bcher-kva.de"), String("hard_bounce"), Int64(1767477600), Null, Null, Boolean(false)]"#,
        ]
    );
}

// See: #14 part 4
#[test]
fn profiles_with_events_after_as_of_are_flagged() {
    let log = "email,event,timestamp\n\
               ann@example.com,sent,2026-01-01T00:00:00Z\n\
               ann@example.com,open,2027-01-01T00:00:00Z\n";
    let run = TestRun::new()
        .file("log.csv", log)
        .args([
            "profiles",
            "-q",
            "{dir}/log.csv",
            "--out",
            "{dir}/p.parquet",
        ])
        .run();
    let profiles = run.path("p.parquet");
    let result = TestRun::new()
        .file("in.csv", "email\nann@example.com\n")
        .args([
            "clean",
            "{dir}/in.csv",
            "--out-dir",
            "{dir}/out",
            "--no-dns",
            "--as-of",
            "2026-11-01",
        ])
        .args([
            "--profiles",
            &profiles.display().to_string(),
            "--progress",
            "never",
        ])
        .expect_stderr_contains("1 of 1 profiles hold events after --as-of 2026-11-01")
        .run();
    assert_eq!(result.report()["engagement"]["source"], "profiles");
}

// See: #14 part 4
#[test]
fn a_profile_file_without_a_column_is_refused_by_name() {
    let run = TestRun::new()
        .file(
            "log.csv",
            "email,event,timestamp\nann@example.com,sent,2026-01-01T00:00:00Z\n",
        )
        .args([
            "events",
            "normalize",
            "-q",
            "{dir}/log.csv",
            "--out",
            "{dir}/e.parquet",
        ])
        .run();
    // An event table is not a profile file.
    TestRun::new()
        .file("in.csv", "email\nann@example.com\n")
        .expect_status(1)
        .expect_stderr_contains("e.parquet: no `sent` column")
        .clean(&["--profiles", &run.path("e.parquet").display().to_string()]);
}

// See: #14 part 4
#[test]
fn profiles_computed_with_other_rules_are_flagged() {
    let log = "email,event,timestamp\nann@example.com,sent,2026-01-01T00:00:00Z\n";
    let run = TestRun::new()
        .file("log.csv", log)
        .file("rules.toml", "[engagement]\nscanner_click_seconds = 0\n")
        .args([
            "profiles",
            "-q",
            "{dir}/log.csv",
            "--out",
            "{dir}/p.parquet",
        ])
        .args(["--rules", "{dir}/rules.toml"])
        .run();
    let profiles = run.path("p.parquet").display().to_string();
    TestRun::new()
        .file("in.csv", "email\nann@example.com\n")
        .args([
            "clean",
            "{dir}/in.csv",
            "--out-dir",
            "{dir}/out",
            "--no-dns",
        ])
        .args([
            "--as-of",
            "2026-11-01",
            "--progress",
            "never",
            "--profiles",
            &profiles,
        ])
        .expect_stderr_contains("computed with scanner_click_seconds = 0, this run's rules say 10")
        .run();
    // Merged, the files keep what they were computed with.
    let merged = TestRun::new()
        .args([
            "profiles",
            "-q",
            "--merge",
            &profiles,
            "--out",
            "{dir}/m.parquet",
        ])
        .run();
    assert_eq!(parquet::read(&merged.path("m.parquet")).unwrap().1, Some(0));
}

/// A Parquet file rewritten as CSV with a header (`true`/`false`, empty for null), for
/// PostgreSQL's `\copy`.
fn parquet_to_csv(parquet: &Path, csv: &Path) {
    let file = std::fs::File::open(parquet).expect("a Parquet file");
    let mut frame = ParquetReader::new(file).finish().expect("read Parquet");
    let out = std::fs::File::create(csv).expect("create CSV");
    CsvWriter::new(out).finish(&mut frame).expect("write CSV");
}

// See: #14 part 3: `--sql postgres` run by a real PostgreSQL server (started by the test)
// over a normalised log gives exactly listwash's own profiles: the sample log, and the
// fixture whose histories cross shard cuts (scanner clicks, bounces, streaks).
#[test]
fn the_postgres_sql_in_postgresql_gives_listwash_profiles() {
    let pg = crate::support::postgres::PgServer::start();
    let sql = listwash(
        TestRun::new().stdout_allowed(),
        &["profiles", "--sql", "postgres"],
    )
    .stdout;
    let query = sql.trim().trim_end_matches(';');
    pg.psql(
        "CREATE TABLE events (email text, event text, ts bigint, machine boolean, \
         bounce_code text, relabelled boolean)",
    );
    let logs = [
        sample("events.csv"),
        root().join("tests/fixtures/profiles/shards.csv"),
    ];
    for log in logs {
        let what = log.display().to_string();
        let dir = tempfile::tempdir().expect("temp dir");
        let events = dir.path().join("events.parquet");
        let profiles = dir.path().join("p.parquet");
        listwash(
            TestRun::new(),
            &[
                "events",
                "normalize",
                &what,
                "--out",
                &events.display().to_string(),
                "--as-of",
                "2026-11-01",
                "--quiet",
            ],
        );
        profiles_of(std::slice::from_ref(&log), &profiles, &[]);
        let (events_csv, profiles_csv) = (dir.path().join("events.csv"), dir.path().join("p.csv"));
        parquet_to_csv(&events, &events_csv);
        parquet_to_csv(&profiles, &profiles_csv);
        pg.psql("TRUNCATE events");
        pg.psql(&format!(
            "\\copy events FROM '{}' CSV HEADER",
            events_csv.display()
        ));
        pg.psql("DROP TABLE IF EXISTS by_sql, by_listwash");
        pg.psql(&format!("CREATE TABLE by_sql AS {query}"));
        pg.psql("CREATE TABLE by_listwash (LIKE by_sql)");
        pg.psql(&format!(
            "\\copy by_listwash FROM '{}' CSV HEADER",
            profiles_csv.display()
        ));
        let rows: u64 = pg
            .psql("SELECT count(*) FROM by_listwash")
            .parse()
            .expect("a count");
        assert!(rows > 5, "{what}: {rows} profiles");
        assert_eq!(
            pg.psql("SELECT count(*) FROM by_sql"),
            rows.to_string(),
            "{what}"
        );
        let differing = pg.psql(
            "SELECT count(*) FROM ((SELECT * FROM by_sql EXCEPT ALL SELECT * FROM by_listwash) \
             UNION ALL (SELECT * FROM by_listwash EXCEPT ALL SELECT * FROM by_sql)) d",
        );
        assert_eq!(
            differing, "0",
            "{what}: profiles that differ between PostgreSQL and listwash"
        );
    }
}
