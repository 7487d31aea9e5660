//! Issue 13 parts 4 and 5 end to end: `listwash cache stats|prune` on caches written by real
//! `clean` runs against the loopback DNS fixture (also while another process holds the cache,
//! and on a file that is not a cache), and the DNS circuit breaker against a fixture that goes
//! silent after answering its first queries.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::support::dns::{DnsFixture, Mode, zone_text};
use crate::support::run::{Expect, TestRun};

/// `clean` over `contacts` against `dns`, with this cache and rules file text.
fn clean_with_cache(dns: &DnsFixture, contacts: &str, cache: &Path, rules: &str) -> TestRun {
    TestRun::new()
        .file("in.csv", contacts)
        .file("rules.toml", rules)
        .args([
            "clean",
            "{dir}/in.csv",
            "--out-dir",
            "{dir}/out",
            "--dns-server",
            &dns.addr.to_string(),
            "--dns-timeout",
            "300",
            "--rules",
            "{dir}/rules.toml",
            "--cache",
            &cache.display().to_string(),
            "--quiet",
            "--as-of",
            "2026-11-01",
        ])
}

/// `listwash cache ACTION --cache FILE --json` (run to the end; status and stderr checked).
fn cache_json(action: &str, cache: &Path, expect: &Expect) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_listwash"))
        .args(["cache", action, "--json", "--cache"])
        .arg(cache)
        .output()
        .expect("run listwash cache");
    expect
        .clone()
        .stdout_allowed()
        .assert_output(&format!("listwash cache {action}"), &output);
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

fn fixture() -> DnsFixture {
    DnsFixture::builder(Mode::Authority)
        .fixture_zones()
        .zone(zone_text(
            "short-lived.net",
            "@ IN MX 10 mx.short-lived.net.\nmx IN A 203.0.113.30",
        ))
        .start()
}

/// A cache holding two expired answers (written with the TTL bounds at 0) and two fresh ones.
fn cache_with_expired_entries(dns: &DnsFixture, cache: &Path) {
    let expiring = "[dns]\nmin_ttl_secs = 0\nmax_ttl_secs = 0\nnegative_min_ttl_secs = 0\nnegative_max_ttl_secs = 0\n";
    clean_with_cache(
        dns,
        "email\nann@short-lived.net\nfi@no-such-domain-here.com\n",
        cache,
        expiring,
    )
    .run();
    clean_with_cache(
        dns,
        "email\nbo@acme-widgets.com\ncy@nullmx.net\n",
        cache,
        "",
    )
    .run();
}

// See: #13 part 4
#[test]
fn stats_and_prune_on_a_cache_written_by_clean() {
    let dns = fixture();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("domains.redb");
    cache_with_expired_entries(&dns, &cache);

    let stats = cache_json("stats", &cache, &Expect::new());
    assert_eq!(stats["exists"], true, "{stats}");
    assert_eq!(stats["entries"], 4, "{stats}");
    assert_eq!(stats["expired"], 2, "{stats}");
    assert_eq!(stats["by_status"]["ok"], 2, "{stats}");
    assert_eq!(stats["by_status"]["no_domain"], 1, "{stats}");
    assert_eq!(stats["by_status"]["null_mx"], 1, "{stats}");
    assert_eq!(
        stats["size_bytes"],
        std::fs::metadata(&cache).unwrap().len(),
        "{stats}"
    );
    assert!(stats["oldest_stored"].is_string() && stats["newest_stored"].is_string());
    assert!(stats["oldest_stored"].as_str() <= stats["newest_stored"].as_str());

    let text = Command::new(env!("CARGO_BIN_EXE_listwash"))
        .args(["cache", "stats", "--cache"])
        .arg(&cache)
        .output()
        .unwrap();
    Expect::new()
        .stdout_contains("entries 4 (2 expired")
        .stdout_contains(&cache.display().to_string())
        .assert_output("cache stats", &text);

    let pruned = cache_json("prune", &cache, &Expect::new());
    assert_eq!(pruned["removed_expired"], 2, "{pruned}");
    assert_eq!(pruned["remaining"], 2, "{pruned}");
    let stats = cache_json("stats", &cache, &Expect::new());
    assert_eq!(
        (stats["entries"].as_u64(), stats["expired"].as_u64()),
        (Some(2), Some(0))
    );

    // The fresh answers survived the prune: a later run takes them from the cache.
    dns.reset_counts();
    let again = clean_with_cache(
        &dns,
        "email\nbo@acme-widgets.com\ncy@nullmx.net\n",
        &cache,
        "",
    )
    .run();
    assert_eq!(again.report()["domains"]["cache_hits"], 2);
    assert_eq!(
        dns.count("acme-widgets.com", hickory_proto::rr::RecordType::MX),
        0
    );

    // Nothing left to prune, and prints how many.
    let text = Command::new(env!("CARGO_BIN_EXE_listwash"))
        .args(["cache", "prune", "--cache"])
        .arg(&cache)
        .output()
        .unwrap();
    Expect::new()
        .stdout_contains("pruned 0 expired entries")
        .assert_output("cache prune", &text);
}

// See: #13 part 4
#[test]
fn prune_waits_for_a_process_holding_the_cache_then_says_so() {
    let dns = fixture();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("domains.redb");
    cache_with_expired_entries(&dns, &cache);
    {
        // This process holds redb's lock on the file, as a run does while it reads or writes.
        let _held = redb::Database::open(&cache).expect("open the cache with redb");
        let before = std::fs::read(&cache).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_listwash"))
            .args(["cache", "prune", "--cache"])
            .arg(&cache)
            .output()
            .unwrap();
        Expect::new()
            .status(1)
            .stderr_contains("is locked by another listwash run")
            .stderr_contains("nothing was pruned")
            .assert_output("cache prune on a held cache", &output);
        cache_json(
            "stats",
            &cache,
            &Expect::new()
                .status(1)
                .stderr_contains("nothing was counted"),
        );
        assert!(
            std::fs::read(&cache).unwrap() == before,
            "listwash did not write to the held cache"
        );
    }
    // Released: the cache is intact, and the prune goes through.
    let stats = cache_json("stats", &cache, &Expect::new());
    assert_eq!(
        (stats["entries"].as_u64(), stats["expired"].as_u64()),
        (Some(4), Some(2))
    );
    let pruned = cache_json("prune", &cache, &Expect::new());
    assert_eq!(pruned["removed_expired"], 2, "{pruned}");
}

// See: #13 part 4
#[test]
fn prune_beside_a_running_clean_keeps_the_cache_whole() {
    let dns = DnsFixture::builder(Mode::SyntheticMx).start();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("domains.redb");
    cache_with_expired_entries(&DnsFixture::with_fixture_zones(), &cache);
    let mut contacts = String::from("email\n");
    for i in 0..300 {
        let _ = writeln!(contacts, "u{i}@beside-{i:03}.net");
    }
    let run = clean_with_cache(&dns, &contacts, &cache, "").stderr_allowed();
    let clean = std::thread::spawn(move || run.run());
    let mut pruned = 0;
    // Prune again and again for as long as the run goes on (and at least 5 times).
    for attempt in 0..500 {
        if attempt >= 5 && clean.is_finished() {
            break;
        }
        let output = Command::new(env!("CARGO_BIN_EXE_listwash"))
            .args(["cache", "prune", "--json", "--cache"])
            .arg(&cache)
            .output()
            .unwrap();
        if output.status.success() {
            let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            pruned += json["removed_expired"].as_u64().unwrap();
        } else {
            Expect::new()
                .status(1)
                .stderr_contains("is locked by another listwash run")
                .assert_output("prune beside a run", &output);
        }
    }
    let clean = clean.join().unwrap();
    assert_eq!(clean.status, 0);
    assert!(
        clean.stderr.is_empty() || clean.stderr.contains("is locked by another listwash run"),
        "{}",
        clean.stderr
    );
    assert_eq!(pruned, 2, "each expired entry removed once");
    let stats = cache_json("stats", &cache, &Expect::new());
    assert_eq!(stats["expired"], 0, "{stats}");
    assert_eq!(stats["unreadable"], 0, "{stats}");
    let saved = clean.report()["domains"]["warnings"]
        .as_array()
        .unwrap()
        .is_empty();
    if saved {
        assert_eq!(
            stats["entries"], 302,
            "the run's 300 answers and the 2 fresh ones"
        );
    }
}

// See: #13 part 4
#[test]
fn a_foreign_file_given_as_cache_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let content = b"these are someone's notes, not a cache\n".repeat(200);
    std::fs::write(&path, &content).unwrap();
    for action in ["stats", "prune"] {
        let output = Command::new(env!("CARGO_BIN_EXE_listwash"))
            .args(["cache", action, "--cache"])
            .arg(&path)
            .output()
            .unwrap();
        Expect::new()
            .status(1)
            .stderr_contains(&format!(
                "domain cache {} is not a listwash cache (its content does not start with a \
                 redb database header); it was left untouched",
                path.display()
            ))
            .assert_output(&format!("cache {action} on a foreign file"), &output);
    }
    assert_eq!(std::fs::read(&path).unwrap(), content);
}

/// `n` contacts on `n` distinct domains.
/// `clean` against `dns` with `rules.toml`, a 150 ms timeout and no cache: the breaker tests.
fn breaker_args(dns: &DnsFixture, concurrency: usize) -> Vec<String> {
    let server = dns.addr.to_string();
    let concurrency = concurrency.to_string();
    [
        "clean",
        "{dir}/in.csv",
        "--out-dir",
        "{dir}/out",
        "--dns-server",
        &server,
        "--dns-timeout",
        "150",
        "--dns-concurrency",
        &concurrency,
        "--rules",
        "{dir}/rules.toml",
        "--no-cache",
        "--as-of",
        "2026-11-01",
    ]
    .map(String::from)
    .to_vec()
}

fn many_domains(n: usize) -> String {
    let mut text = String::from("email\n");
    for i in 0..n {
        let _ = writeln!(text, "user{i}@breaker-test-{i:03}.net");
    }
    text
}

// See: #13 part 5
#[test]
fn the_breaker_opens_when_the_resolver_goes_silent() {
    const DOMAINS: usize = 200;
    const ANSWERED: usize = 20;
    const THRESHOLD: usize = 10;
    const CONCURRENCY: usize = 4;
    // The three canaries, then the first 20 domains, are answered; then nothing is.
    let dns = DnsFixture::builder(Mode::SyntheticMx)
        .silent_after(3 + ANSWERED)
        .start();
    let run = TestRun::new()
        .file("in.csv", many_domains(DOMAINS))
        .file(
            "rules.toml",
            format!("[dns]\nbreaker_timeouts = {THRESHOLD}\nretry_backoff_ms = 0\n"),
        )
        .args(breaker_args(&dns, CONCURRENCY))
        .args(["--progress", "never"])
        .stderr_allowed()
        .run();
    // Each domain sends at most 2 queries (retries = 1); once the breaker opens, only the
    // domains already in flight may still send (counted twice over, for the race between two
    // domains timing out at once): far fewer than every domain's timeouts (383 without it).
    let sent = dns.total();
    eprintln!("the breaker run: {sent} datagrams for {DOMAINS} domains");
    let bound = 3 + ANSWERED + 2 * (THRESHOLD + 2 * CONCURRENCY);
    assert!(sent <= bound, "{sent} datagrams, bound {bound}");
    assert!(sent < 2 * DOMAINS / 4);

    assert_eq!(
        run.stderr.matches("circuit breaker opened").count(),
        1,
        "warned once: {}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("warning:").count(),
        1,
        "no other warning: {}",
        run.stderr
    );
    run.assert_conserved(DOMAINS as u64);
    assert!(run.rows("suppressed.csv").is_empty(), "never suppressed");
    assert_eq!(
        run.rows("clean.csv").len(),
        ANSWERED,
        "answered domains keep their answers"
    );
    let review = run.rows("review.csv");
    assert_eq!(review.len(), DOMAINS - ANSWERED);
    assert!(review.iter().all(|r| r["listwash_reason"] == "dns_unknown"));
    let stopped = review
        .iter()
        .filter(|r| r["listwash_detail"].contains("circuit breaker opened"))
        .count();
    assert!(
        stopped >= DOMAINS - ANSWERED - THRESHOLD - CONCURRENCY,
        "{stopped}"
    );

    let report = run.report();
    let breaker = &report["domains"]["breaker"];
    assert_eq!(breaker["threshold"], THRESHOLD, "{report}");
    assert!(breaker["timeouts_in_a_row"].as_u64() >= Some(THRESHOLD as u64));
    let after = breaker["after_domains"].as_u64().unwrap();
    assert!(
        (ANSWERED + THRESHOLD..=ANSWERED + THRESHOLD + CONCURRENCY).contains(&(after as usize))
    );
    assert!(breaker["after_lookups"].as_u64().unwrap() <= sent as u64);
    assert_eq!(breaker["skipped_domains"], stopped, "{report}");
    assert!(
        breaker["reason"]
            .as_str()
            .unwrap()
            .contains("stopped answering")
    );
    assert_eq!(
        report["domains"]["by_status"]["unknown"],
        DOMAINS - ANSWERED
    );
}

// See: #13 part 5
#[test]
fn a_resolver_that_keeps_answering_never_opens_the_breaker() {
    // Timeouts for some domains, with answers in between. Domains finish in an order the
    // runtime chooses, so the silent ones are fewer than the threshold: the breaker can never
    // open, whatever the order. (That an answer resets the count is not checked here: with
    // concurrent lookups it depends on scheduling, and a test of it was flaky.)
    let mut builder = DnsFixture::builder(Mode::SyntheticMx);
    let mut contacts = String::from("email\n");
    for i in 0..12 {
        let domain = format!("breaker-test-{i:03}.net");
        if i % 4 == 0 {
            builder = builder.silent(&domain);
        }
        let _ = writeln!(contacts, "u{i}@{domain}");
    }
    let dns = builder.start();
    let run = TestRun::new()
        .file("in.csv", contacts)
        .file(
            "rules.toml",
            "[dns]\nbreaker_timeouts = 4\nretry_backoff_ms = 0\n",
        )
        .args(breaker_args(&dns, 1))
        .args(["--quiet"])
        .run();
    let report = run.report();
    assert!(report["domains"]["breaker"].is_null(), "{report}");
    assert_eq!(report["domains"]["by_status"]["unknown"], 3);
    assert_eq!(run.rows("clean.csv").len(), 9);
}

// See: #13 part 5
#[test]
fn breaker_timeouts_has_bounds() {
    TestRun::new()
        .file("in.csv", "email\na@b.com\n")
        .file("rules.toml", "[dns]\nbreaker_timeouts = 100001\n")
        .expect_status(1)
        .expect_stderr_contains("breaker_timeouts")
        .expect_stderr_contains("0 to 100000")
        .clean(&["--rules", "{dir}/rules.toml"]);
}
