//! Criterion benchmarks of the DNS stage's wall time against the loopback test server
//! (`tests/it/support/dns.rs`, no network beyond 127.0.0.1): concurrent look-ups with delayed
//! answers, and how soon a lying, silent or dead resolver is given up.
//!
//! These were time limits in `tests/it/dns.rs`, which a busy 2-core CI machine would make
//! flaky; the tests keep the behaviour (query counts, statuses, queries in flight) and the
//! times are measured here. See: #9 part 6. Run: `cargo bench --bench dns`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use listwash::resolve::{CacheLocation, DnsOptions, DnsRules, DomainChecker, DomainStatus};

#[path = "../tests/it/support/dns.rs"]
#[allow(dead_code, reason = "the benchmark uses only part of the test fixture")]
mod fixture;

use fixture::{DnsFixture, Mode};

/// Checks `customer-{i}.com` for `i` below `n` as the pipeline does (submit every batch, then
/// wait for each), without a cache, and returns how many got `want`.
fn check(server: SocketAddr, timeout_ms: u64, n: usize, want: DomainStatus) -> usize {
    let options = DnsOptions {
        servers: vec![server],
        timeout: Duration::from_millis(timeout_ms),
        concurrency: 32,
        cache: CacheLocation::Off,
    };
    let rules = DnsRules {
        retry_backoff_ms: 20,
        ..DnsRules::default()
    };
    let domains: Vec<String> = (0..n).map(|i| format!("customer-{i}.com")).collect();
    let mut checker =
        DomainChecker::new(&options, &rules, Arc::new(|_: &str| {})).expect("a checker");
    let batches: Vec<&[String]> = domains.chunks(7).collect();
    for batch in &batches {
        checker.submit(batch.iter().map(String::as_str));
    }
    let mut matching = 0;
    for batch in &batches {
        for (_, info) in checker.wait(batch.iter().map(String::as_str)) {
            matching += usize::from(info.status == want);
        }
    }
    checker.finish();
    matching
}

fn dns(c: &mut Criterion) {
    let mut group = c.benchmark_group("dns");

    // 64 domains, answers delayed 20 ms, 32 in flight: about three rounds (canaries, then two
    // of 32); one at a time would take 64 × 20 ms.
    let delayed = DnsFixture::builder(Mode::Authority)
        .fixture_zones()
        .delay(Duration::from_millis(20))
        .start();
    group.bench_function("64 domains, answers delayed 20 ms, 32 in flight", |b| {
        b.iter(|| assert_eq!(check(delayed.addr, 1000, 64, DomainStatus::NoDomain), 64));
    });
    drop(delayed);

    let lying = DnsFixture::builder(Mode::NxDomainAll).start();
    group.bench_function("lying resolver given up, 300 domains", |b| {
        b.iter(|| assert_eq!(check(lying.addr, 1000, 300, DomainStatus::Unknown), 300));
    });
    drop(lying);

    // Two 200 ms timeouts per canary: about 0.4 s at best.
    let silent = DnsFixture::builder(Mode::Silent).start();
    group.bench_function("silent resolver given up, 200 domains", |b| {
        b.iter(|| assert_eq!(check(silent.addr, 200, 200, DomainStatus::Unknown), 200));
    });
    drop(silent);

    // A port with nothing listening: bind, note the port, close.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port");
    group.bench_function("dead server given up, 100 domains", |b| {
        b.iter(|| assert_eq!(check(dead, 200, 100, DomainStatus::Unknown), 100));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = dns
}
criterion_main!(benches);
