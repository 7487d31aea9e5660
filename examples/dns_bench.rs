//! DNS-stage benchmark (issue 3): 20,000 distinct domains from a loopback server that delays
//! every answer by 30 ms, then a warm-cache rerun that must send no query.
//!
//! Run: `cargo run --release --example dns_bench` (optionally
//! `-- DOMAINS CONCURRENCY DELAY_MS [--authority]`).
//! Prints the measured wall time next to the ideal `domains × queries-per-domain × delay /
//! concurrency`. No network beyond 127.0.0.1.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use listwash::resolve::{CacheLocation, DnsOptions, DnsRules, DomainChecker, DomainStatus};

#[path = "../tests/it/support/dns.rs"]
#[allow(dead_code, reason = "the benchmark uses only part of the test fixture")]
mod fixture;

use fixture::{DnsFixture, Mode, zone_text};

const BATCH: usize = 10_000;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let domains_n = args.first().copied().unwrap_or(20_000);
    let concurrency = args.get(1).copied().unwrap_or(256);
    let delay = Duration::from_millis(args.get(2).copied().unwrap_or(30) as u64);

    // `--authority` serves the domains from the in-process hickory-server authority (one `com.`
    // zone); by default the UDP front synthesises the MX answers itself, so that the figure
    // measures listwash rather than the test server (both share this machine's 2 cores).
    let mut builder = if std::env::args().any(|a| a == "--authority") {
        let mut records = String::new();
        for i in 0..domains_n {
            records.push_str(&format!("shop-{i} IN MX 10 mx.shop-{i}.com.\n"));
        }
        let mut builder = DnsFixture::builder(Mode::Authority).zone(zone_text("com", &records));
        for (canary, mx) in [
            ("gmail.com", "gmail-smtp-in.l.google.com."),
            ("outlook.com", "outlook-com.olc.protection.outlook.com."),
            ("yahoo.com", "mta5.am0.yahoodns.net."),
        ] {
            builder = builder.zone(zone_text(canary, &format!("@ IN MX 5 {mx}")));
        }
        builder
    } else {
        DnsFixture::builder(Mode::SyntheticMx)
    };
    builder = builder.delay(delay);
    let dns = builder.start();
    let domains: Vec<String> = (0..domains_n).map(|i| format!("shop-{i}.com")).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let options = DnsOptions {
        servers: vec![dns.addr],
        timeout: Duration::from_millis(2000),
        concurrency,
        cache: CacheLocation::File(dir.path().join("domains.redb")),
    };

    let run = |label: &str| {
        let start = Instant::now();
        let mut checker = DomainChecker::new(
            &options,
            &DnsRules::default(),
            Arc::new(|w: &str| eprintln!("warning: {w}")),
        )
        .expect("checker");
        let batches: Vec<&[String]> = domains.chunks(BATCH).collect();
        for batch in &batches {
            checker.submit(batch.iter().map(String::as_str));
        }
        let mut ok = 0;
        for batch in &batches {
            ok += checker
                .wait(batch.iter().map(String::as_str))
                .iter()
                .filter(|(_, info)| info.status == DomainStatus::Ok)
                .count();
        }
        let stats = checker.finish();
        let elapsed = start.elapsed();
        println!(
            "{label}: {domains_n} domains, {ok} ok, {:.2} s, lookups {}, cache hits {}, server saw {} queries",
            elapsed.as_secs_f64(),
            stats.lookups,
            stats.cache_hits,
            dns.total()
        );
        elapsed
    };

    let cold = run("cold");
    // One MX query per domain (+3 canaries, which overlap with the first round).
    let ideal =
        Duration::from_secs_f64(domains_n as f64 * delay.as_secs_f64() / concurrency as f64);
    println!(
        "ideal {:.2} s (domains × 1 query × {} ms / concurrency {concurrency}); cold/ideal = {:.2}",
        ideal.as_secs_f64(),
        delay.as_millis(),
        cold.as_secs_f64() / ideal.as_secs_f64()
    );
    dns.reset_counts();
    run("warm");
    println!("warm rerun queries at the server: {}", dns.total());
}
