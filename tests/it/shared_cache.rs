//! Issue 14 part 5 end to end: `--cache postgres://…` against a real PostgreSQL server started
//! by the test (support/postgres.rs) and the loopback DNS fixture. Warm runs from two
//! processes send no DNS query; two cold runs at once share the table safely; a database that
//! cannot be reached, or that stops half-way, costs one warning and never the run.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::dns::{DnsFixture, Mode};
use crate::support::postgres::{PgServer, dead_port};
use crate::support::run::{Expect, TestRun};

const DOMAINS: usize = 30;

/// `DOMAINS` contacts, one per domain.
fn contacts() -> String {
    let mut text = String::from("email\n");
    for i in 0..DOMAINS {
        let _ = writeln!(text, "user{i}@shared-cache-{i:02}.net");
    }
    text
}

/// `clean` arguments against `dns` with this cache (`{dir}` is the run's folder).
fn args(dns: &DnsFixture, cache: &str, dns_timeout_ms: u32) -> Vec<String> {
    [
        "clean",
        "{dir}/in.csv",
        "--out-dir",
        "{dir}/out",
        "--dns-server",
        &dns.addr.to_string(),
        "--dns-timeout",
        &dns_timeout_ms.to_string(),
        "--cache",
        cache,
        "--quiet",
        "--as-of",
        "2026-11-01",
    ]
    .map(str::to_string)
    .to_vec()
}

/// The same run as a child process in its own folder (for runs that overlap).
fn spawn(dir: &Path, dns: &DnsFixture, cache: &str, dns_timeout_ms: u32) -> Child {
    std::fs::write(dir.join("in.csv"), contacts()).expect("write input");
    let dir_text = dir.display().to_string();
    let args: Vec<String> = args(dns, cache, dns_timeout_ms)
        .into_iter()
        .map(|a| a.replace("{dir}", &dir_text))
        .collect();
    Command::new(env!("CARGO_BIN_EXE_listwash"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start listwash")
}

/// Waits for a child; checks its status and stderr (with the warnings `--quiet` kept off
/// it, from the report); returns its report.
fn finish(child: Child, dir: &Path, expect: &Expect) -> serde_json::Value {
    let output = child.wait_with_output().expect("wait for listwash");
    let text = std::fs::read_to_string(dir.join("out/report.json")).unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let hidden: Vec<String> = report["domains"]["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|w| w.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    expect.assert(
        "listwash clean --cache postgres://…",
        output.status.code().unwrap_or(-1),
        &String::from_utf8_lossy(&output.stdout),
        &String::from_utf8_lossy(&output.stderr),
        &hidden,
    );
    report
}

/// The same run by two processes at once, each in its own folder; each must end with status
/// 0 and no warning. Their reports and folders.
fn two_at_once(dns: &DnsFixture, pg: &PgServer) -> Vec<(serde_json::Value, tempfile::TempDir)> {
    let dirs = [
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    ];
    let children: Vec<Child> = dirs
        .iter()
        .map(|d| spawn(d.path(), dns, &pg.url(), 2000))
        .collect();
    children
        .into_iter()
        .zip(dirs)
        .map(|(child, dir)| (finish(child, dir.path(), &Expect::new()), dir))
        .collect()
}

fn lookups(report: &serde_json::Value) -> u64 {
    report["domains"]["lookups"].as_u64().expect("lookups")
}

// See: #14 part 5
#[test]
fn warm_runs_from_two_processes_send_no_queries() {
    let pg = PgServer::start();
    let dns = DnsFixture::builder(Mode::SyntheticMx).start();
    let cold = TestRun::new()
        .file("in.csv", contacts())
        .args(args(&dns, &pg.url(), 2000))
        .run();
    assert!(
        lookups(&cold.report()) >= DOMAINS as u64,
        "{}",
        cold.report()
    );
    assert_eq!(cold.report()["domains"]["cache_hits"], 0);
    assert_eq!(
        pg.psql("SELECT count(*) FROM listwash_domains_v1 WHERE domain LIKE 'shared-cache-%'"),
        DOMAINS.to_string()
    );
    // Two processes at once, each on its own host folder, both served by the database.
    for (report, dir) in two_at_once(&dns, &pg) {
        assert_eq!(lookups(&report), 0, "{report}");
        assert_eq!(report["domains"]["cache_hits"], DOMAINS as u64);
        assert_eq!(report["outputs"], cold.report()["outputs"]);
        assert_eq!(
            std::fs::read(dir.path().join("out/clean.csv")).expect("clean.csv"),
            cold.out_bytes("clean.csv")
        );
    }
}

// See: #14 part 5
#[test]
fn two_cold_runs_at_once_share_one_table_without_a_warning() {
    let pg = PgServer::start();
    let dns = DnsFixture::builder(Mode::SyntheticMx).start();
    // two_at_once expects no warning at all (a failed CREATE or upsert would warn).
    for (report, _dir) in two_at_once(&dns, &pg) {
        assert_eq!(report["outputs"]["clean"], DOMAINS as u64, "{report}");
    }
    assert_eq!(
        pg.psql("SELECT count(*) FROM listwash_domains_v1 WHERE domain LIKE 'shared-cache-%'"),
        DOMAINS.to_string()
    );
}

// See: #14 part 5
#[test]
fn an_unreachable_database_costs_one_warning_and_no_secret() {
    let dns = DnsFixture::builder(Mode::SyntheticMx).start();
    let (port, _held) = dead_port();
    let url = format!("postgresql://listwash:s3cret-word@127.0.0.1:{port}/postgres");
    let run = TestRun::new()
        .file("in.csv", contacts())
        .args(args(&dns, &url, 2000))
        .expect_stderr_contains("running without the cache")
        .run();
    run.assert_conserved(DOMAINS as u64);
    assert_eq!(run.report()["outputs"]["clean"], DOMAINS as u64);
    let warnings = run.report()["domains"]["warnings"].to_string();
    assert_eq!(warnings.matches("domain cache").count(), 1, "{warnings}");
    assert!(warnings.contains("127.0.0.1"), "{warnings}");
    assert!(!warnings.contains("s3cret-word"), "{warnings}");
}

// See: #14 part 5
#[test]
fn the_server_stopped_mid_run_gives_a_warning_and_the_run_completes() {
    let pg = PgServer::start();
    // One domain never answers: the run waits for its timeouts (2 tries of 3 s) while the
    // database goes away under it.
    let dns = DnsFixture::builder(Mode::SyntheticMx)
        .silent("shared-cache-07.net")
        .start();
    let dir = tempfile::tempdir().expect("dir");
    let child = spawn(dir.path(), &dns, &pg.url(), 3000);
    assert!(
        pg.wait_for(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'listwash'",
            "1",
            Duration::from_secs(20),
        ),
        "listwash never connected to the database"
    );
    pg.stop();
    let report = finish(
        child,
        dir.path(),
        // The server may go between the run's connection and its first read (under load),
        // or later: either way, one warning and the run goes on.
        &Expect::new().stderr_contains("and the run goes on without the cache"),
    );
    let warnings = report["domains"]["warnings"].to_string();
    assert_eq!(warnings.matches("domain cache").count(), 1, "{warnings}");
    assert_eq!(report["input"]["rows"], DOMAINS as u64);
    assert_eq!(report["outputs"]["clean"], DOMAINS as u64 - 1, "{report}");
    assert_eq!(report["outputs"]["review"], 1, "{report}");
}

/// `listwash cache ACTION --cache URL --json`, checked against `expect`; its JSON.
fn cache_json(action: &str, url: &str, expect: &Expect) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_listwash"))
        .args(["cache", action, "--json", "--cache", url])
        .output()
        .expect("run listwash cache");
    expect
        .clone()
        .stdout_allowed()
        .assert_output(&format!("listwash cache {action}"), &output);
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

// See: #14 part 5 (with #13 part 4's upkeep commands)
#[test]
fn stats_and_prune_work_on_the_shared_table() {
    let pg = PgServer::start();
    let empty = cache_json("stats", &pg.url(), &Expect::new());
    assert_eq!(empty["exists"], false, "{empty}");
    let dns = DnsFixture::builder(Mode::SyntheticMx).start();
    TestRun::new()
        .file("in.csv", contacts())
        .args(args(&dns, &pg.url(), 2000))
        .run();
    let total: u64 = pg
        .psql("SELECT count(*) FROM listwash_domains_v1")
        .parse()
        .expect("a count");
    let stats = cache_json("stats", &pg.url(), &Expect::new());
    assert_eq!(stats["exists"], true, "{stats}");
    assert_eq!(stats["entries"], total, "{stats}");
    assert_eq!(stats["by_status"]["ok"], total, "{stats}");
    assert_eq!(stats["expired"], 0, "{stats}");
    assert!(stats["next_expiry"].is_string(), "{stats}");
    // Ten entries expire; prune removes exactly those.
    pg.psql("UPDATE listwash_domains_v1 SET expires_ms = 0 WHERE domain LIKE 'shared-cache-0%'");
    assert_eq!(
        cache_json("stats", &pg.url(), &Expect::new())["expired"],
        10
    );
    let pruned = cache_json("prune", &pg.url(), &Expect::new());
    assert_eq!(pruned["removed_expired"], 10, "{pruned}");
    assert_eq!(pruned["remaining"], total - 10, "{pruned}");
    assert_eq!(
        pg.psql("SELECT count(*) FROM listwash_domains_v1"),
        (total - 10).to_string()
    );
    // A database that is not there: exit 1, one line naming the server, not the password.
    let (port, _held) = dead_port();
    let url = format!("postgresql://listwash:s3cret-word@127.0.0.1:{port}/postgres");
    let output = Command::new(env!("CARGO_BIN_EXE_listwash"))
        .args(["cache", "stats", "--cache", &url])
        .output()
        .expect("run listwash cache");
    Expect::new()
        .status(1)
        .stderr_contains("PostgreSQL at 127.0.0.1:")
        .assert_output("cache stats on a dead server", &output);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("s3cret-word"));
}
