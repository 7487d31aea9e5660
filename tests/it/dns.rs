//! The DNS stage against real DNS on loopback (issue 3). No test touches the internet.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::rr::RecordType;
use listwash::resolve::{
    CacheLocation, DnsOptions, DnsRules, DnsStats, DomainChecker, DomainInfo, DomainStatus,
};

use crate::support::dns::{DnsFixture, Mode, zone_text};

const CANARIES: [&str; 3] = ["gmail.com", "outlook.com", "yahoo.com"];

fn options(server: SocketAddr, timeout_ms: u64, cache: CacheLocation) -> DnsOptions {
    DnsOptions {
        servers: vec![server],
        timeout: Duration::from_millis(timeout_ms),
        concurrency: 32,
        cache,
    }
}

fn fast_rules() -> DnsRules {
    DnsRules {
        retry_backoff_ms: 20,
        ..DnsRules::default()
    }
}

struct Run {
    answers: HashMap<String, Arc<DomainInfo>>,
    stats: DnsStats,
    warnings: Vec<String>,
}

/// Runs a checker over `domains` the way the pipeline does: submit in batches, wait per batch.
fn run(options: &DnsOptions, rules: &DnsRules, domains: &[&str]) -> Run {
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let sink = warnings.clone();
    let mut checker = DomainChecker::new(
        options,
        rules,
        Arc::new(move |w: &str| sink.lock().unwrap().push(w.to_string())),
    )
    .unwrap();
    let mut answers = HashMap::new();
    let batches: Vec<&[&str]> = domains.chunks(7).collect();
    for batch in &batches {
        checker.submit(batch.iter().copied());
    }
    for batch in &batches {
        for (domain, info) in checker.wait(batch.iter().copied()) {
            answers.insert(domain, info);
        }
    }
    let stats = checker.finish();
    let warnings = warnings.lock().unwrap().clone();
    Run {
        answers,
        stats,
        warnings,
    }
}

fn cache_file(dir: &tempfile::TempDir) -> CacheLocation {
    CacheLocation::File(dir.path().join("domains.redb"))
}

const EVERY_CLASS: [&str; 11] = [
    "acme-widgets.com",
    "nullmx.net",
    "implicit-mx.org",
    "nomail-here.net",
    "does-not-exist-anywhere.com",
    "team.acme-widgets.com",
    "loopback-mx.com",
    "parked-names.com",
    "fastmailer.org",
    "gmail.com",
    "outlook.com",
];

#[test]
fn every_class_is_decided_from_real_answers() {
    let dns = DnsFixture::with_fixture_zones();
    let run = run(
        &options(dns.addr, 1000, CacheLocation::Off),
        &fast_rules(),
        &EVERY_CLASS,
    );
    let get = |d: &str| run.answers[d].clone();

    let acme = get("acme-widgets.com");
    assert_eq!(acme.status, DomainStatus::Ok);
    assert_eq!(
        acme.mx_hosts,
        ["mx1.acme-widgets.com", "mx2.acme-widgets.com"]
    );
    assert_eq!(
        acme.detail,
        "MX 10 mx1.acme-widgets.com, 20 mx2.acme-widgets.com"
    );
    assert!(!acme.parked);
    assert_eq!(acme.provider, None);

    let null = get("nullmx.net");
    assert_eq!(
        (null.status, null.detail.as_str()),
        (DomainStatus::NullMx, "null MX (MX 0 .)")
    );

    let implicit = get("implicit-mx.org");
    assert_eq!(implicit.status, DomainStatus::ImplicitMx);
    assert_eq!(implicit.detail, "no MX, A record (implicit MX)");

    let nomail = get("nomail-here.net");
    assert_eq!(
        (nomail.status, nomail.detail.as_str()),
        (DomainStatus::NoMx, "no MX, no A/AAAA")
    );

    let gone = get("does-not-exist-anywhere.com");
    assert_eq!(
        (gone.status, gone.detail.as_str()),
        (DomainStatus::NoDomain, "NXDOMAIN")
    );

    let alias = get("team.acme-widgets.com");
    assert_eq!(alias.status, DomainStatus::Ok, "{alias:?}");
    assert_eq!(alias.mx_hosts, ["aspmx.l.google.com"]);
    assert_eq!(alias.provider, Some("google"));
    assert!(
        alias.detail.contains("via CNAME brightmail-hq.com"),
        "{}",
        alias.detail
    );

    let loopback = get("loopback-mx.com");
    assert_eq!(loopback.status, DomainStatus::NoMx);
    assert_eq!(
        loopback.detail,
        "MX 10 localhost: no usable mail host (localhost)"
    );

    let parked = get("parked-names.com");
    assert_eq!(parked.status, DomainStatus::Ok);
    assert!(parked.parked);
    assert!(parked.detail.contains("parked domain"), "{}", parked.detail);

    let fastmail = get("fastmailer.org");
    assert_eq!(fastmail.status, DomainStatus::Ok);
    assert_eq!(fastmail.provider, Some("fastmail"));
    assert!(
        fastmail.detail.contains("ignored unusable MX 5 127.0.0.1"),
        "{}",
        fastmail.detail
    );

    assert_eq!(get("gmail.com").provider, Some("google"));
    assert_eq!(get("outlook.com").provider, Some("microsoft"));

    assert!(run.stats.resolver_trusted);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    // Every query listwash sent was counted, the one that follows the CNAME into another
    // zone included (see: #15 part 5).
    assert_eq!(dns.count("brightmail-hq.com", RecordType::MX), 1);
    assert_eq!(
        run.stats.lookups as usize,
        dns.total(),
        "{:?}",
        dns.counts()
    );
}

#[test]
fn each_domain_and_type_is_queried_once_across_batches() {
    let dns = DnsFixture::with_fixture_zones();
    let mut domains: Vec<&str> = EVERY_CLASS.to_vec();
    // The same domains again, as later batches of a list would bring them.
    domains.extend(EVERY_CLASS);
    domains.extend(EVERY_CLASS.iter().rev());
    run(
        &options(dns.addr, 1000, CacheLocation::Off),
        &fast_rules(),
        &domains,
    );
    for ((name, record_type), count) in dns.counts() {
        assert_eq!(count, 1, "{name} {record_type} was queried {count} times");
    }
    // MX first; A and AAAA only when there is no MX.
    assert_eq!(dns.count("acme-widgets.com", RecordType::MX), 1);
    assert_eq!(dns.count("acme-widgets.com", RecordType::A), 0);
    assert_eq!(dns.count("implicit-mx.org", RecordType::A), 1);
    assert_eq!(dns.count("implicit-mx.org", RecordType::AAAA), 0);
    assert_eq!(dns.count("nomail-here.net", RecordType::AAAA), 1);
    assert_eq!(dns.count("does-not-exist-anywhere.com", RecordType::A), 0);
    // The canaries in the list reuse the canary check's answer.
    for canary in CANARIES {
        assert_eq!(dns.count(canary, RecordType::MX), 1, "{canary}");
    }
}

#[test]
fn warm_cache_sends_no_queries() {
    let dns = DnsFixture::with_fixture_zones();
    let dir = tempfile::tempdir().unwrap();
    let options = options(dns.addr, 1000, cache_file(&dir));
    let first = run(&options, &fast_rules(), &EVERY_CLASS);
    assert!(first.stats.lookups > 0);
    assert_eq!(first.stats.cache_hits, 0);

    dns.reset_counts();
    let second = run(&options, &fast_rules(), &EVERY_CLASS);
    assert_eq!(dns.total(), 0, "{:?}", dns.counts());
    assert_eq!(second.stats.lookups, 0);
    assert_eq!(second.stats.cache_hits, EVERY_CLASS.len() as u64);
    assert!(second.warnings.is_empty(), "{:?}", second.warnings);
    for domain in EVERY_CLASS {
        assert_eq!(first.answers[domain], second.answers[domain], "{domain}");
    }
}

#[test]
fn servfail_is_unknown_after_retries_and_never_cached() {
    let dns = DnsFixture::builder(Mode::Authority)
        .fixture_zones()
        .servfail("flaky-dns.com")
        .start();
    let dir = tempfile::tempdir().unwrap();
    let options = options(dns.addr, 1000, cache_file(&dir));
    let run1 = run(
        &options,
        &fast_rules(),
        &["flaky-dns.com", "acme-widgets.com"],
    );
    let flaky = &run1.answers["flaky-dns.com"];
    assert_eq!(flaky.status, DomainStatus::Unknown);
    assert_eq!(flaky.detail, "SERVFAIL after 2 tries");
    assert_eq!(dns.count("flaky-dns.com", RecordType::MX), 2);
    assert!(run1.stats.resolver_trusted);

    dns.reset_counts();
    let run2 = run(
        &options,
        &fast_rules(),
        &["flaky-dns.com", "acme-widgets.com"],
    );
    assert_eq!(run2.stats.cache_hits, 1);
    assert_eq!(
        dns.count("flaky-dns.com", RecordType::MX),
        2,
        "unknown answers are not cached"
    );
    assert_eq!(dns.count("acme-widgets.com", RecordType::MX), 0);
}

#[test]
fn timeout_is_unknown_after_retries() {
    let dns = DnsFixture::builder(Mode::Authority)
        .fixture_zones()
        .silent("slow-dns.com")
        .start();
    let run = run(
        &options(dns.addr, 200, CacheLocation::Off),
        &fast_rules(),
        &["slow-dns.com"],
    );
    let slow = &run.answers["slow-dns.com"];
    assert_eq!(slow.status, DomainStatus::Unknown);
    assert_eq!(slow.detail, "timeout after 2 tries");
    assert_eq!(dns.count("slow-dns.com", RecordType::MX), 2);
}

fn many_domains(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("customer-{i}.com")).collect()
}

/// Checks `n` distinct domains (`customer-{i}.com`) against `server`, without a cache.
fn run_many(server: SocketAddr, timeout_ms: u64, n: usize) -> (Vec<String>, Run) {
    let domains = many_domains(n);
    let names: Vec<&str> = domains.iter().map(String::as_str).collect();
    let run = run(
        &options(server, timeout_ms, CacheLocation::Off),
        &fast_rules(),
        &names,
    );
    (domains, run)
}

/// Returns true if and only if every domain got this status.
fn all_have(run: &Run, domains: &[String], status: DomainStatus) -> bool {
    domains
        .iter()
        .all(|d| run.answers[d.as_str()].status == status)
}

#[test]
fn lying_resolver_makes_everything_unknown_quickly_with_one_warning() {
    let dns = DnsFixture::builder(Mode::NxDomainAll).start();
    let (domains, run) = run_many(dns.addr, 1000, 300);
    for domain in &domains {
        let info = &run.answers[domain.as_str()];
        assert_eq!(info.status, DomainStatus::Unknown, "{domain}");
        assert_eq!(info.detail, "resolver untrusted: canaries failed");
    }
    assert!(!run.stats.resolver_trusted);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(
        run.warnings[0].contains("not trustworthy"),
        "{}",
        run.warnings[0]
    );
    assert!(
        run.warnings[0].contains("gmail.com: NXDOMAIN"),
        "{}",
        run.warnings[0]
    );
    assert_eq!(run.stats.warnings, run.warnings);
    // Only the canaries were asked.
    assert_eq!(dns.total(), CANARIES.len(), "{:?}", dns.counts());
    assert_eq!(run.stats.lookups, CANARIES.len() as u64);
}

#[test]
fn servfail_for_everything_is_an_unusable_resolver() {
    let dns = DnsFixture::builder(Mode::ServFail).start();
    let run = run(
        &options(dns.addr, 1000, CacheLocation::Off),
        &fast_rules(),
        &["acme-widgets.com"],
    );
    let info = &run.answers["acme-widgets.com"];
    assert_eq!(info.status, DomainStatus::Unknown);
    assert_eq!(
        info.detail,
        "resolver unreachable: canaries got SERVFAIL after 2 tries"
    );
    assert!(!run.stats.resolver_trusted);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
}

#[test]
fn silent_resolver_is_given_up_quickly() {
    let dns = DnsFixture::builder(Mode::Silent).start();
    let (domains, run) = run_many(dns.addr, 200, 200);
    assert!(all_have(&run, &domains, DomainStatus::Unknown));
    assert_eq!(
        run.answers["customer-0.com"].detail,
        "resolver unreachable: canaries got timeout after 2 tries"
    );
    assert!(!run.stats.resolver_trusted);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(
        run.warnings[0].contains("cannot be reached"),
        "{}",
        run.warnings[0]
    );
    // Two tries per canary, nothing else.
    assert_eq!(dns.total(), 2 * CANARIES.len(), "{:?}", dns.counts());
}

#[test]
fn dead_dns_server_is_given_up_quickly() {
    // A port with nothing listening: bind, note the port, close.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (domains, run) = run_many(dead, 200, 100);
    assert!(all_have(&run, &domains, DomainStatus::Unknown));
    assert!(
        run.answers["customer-1.com"]
            .detail
            .starts_with("resolver unreachable")
    );
    assert!(!run.stats.resolver_trusted);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(
        run.warnings[0].contains(&dead.to_string()),
        "{}",
        run.warnings[0]
    );
}

#[test]
fn expired_cache_entries_are_queried_again() {
    let dns = DnsFixture::with_fixture_zones();
    let dir = tempfile::tempdir().unwrap();
    let options = options(dns.addr, 1000, cache_file(&dir));
    let rules = DnsRules {
        min_ttl_secs: 0,
        max_ttl_secs: 3,
        negative_min_ttl_secs: 0,
        negative_max_ttl_secs: 3,
        ..fast_rules()
    };
    // 3 s rather than 1 s: the "still fresh" run below must start within the TTL, and a busy
    // CI machine can stall for a second. See: #9
    let domains = ["acme-widgets.com", "does-not-exist-anywhere.com"];
    run(&options, &rules, &domains);
    // Still fresh.
    dns.reset_counts();
    let warm = run(&options, &rules, &domains);
    assert_eq!((warm.stats.cache_hits, dns.total()), (2, 0));
    std::thread::sleep(Duration::from_millis(3100));
    let expired = run(&options, &rules, &domains);
    assert_eq!(expired.stats.cache_hits, 0);
    assert_eq!(dns.count("acme-widgets.com", RecordType::MX), 1);
    assert_eq!(dns.count("does-not-exist-anywhere.com", RecordType::MX), 1);
    assert_eq!(
        expired.answers["does-not-exist-anywhere.com"].status,
        DomainStatus::NoDomain
    );
}

#[test]
fn corrupt_cache_is_reported_and_rebuilt() {
    let dns = DnsFixture::with_fixture_zones();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("domains.redb");
    // redb's header, then garbage: a damaged cache, not someone else's file (issue 16).
    let mut garbage = b"redb\x1a\x0a\xa9\x0d\x0a".to_vec();
    garbage.extend(b"this is not a redb file, just some garbage bytes".repeat(200));
    std::fs::write(&path, garbage).unwrap();
    let options = options(dns.addr, 1000, CacheLocation::File(path.clone()));
    let first = run(&options, &fast_rules(), &["acme-widgets.com"]);
    assert_eq!(first.answers["acme-widgets.com"].status, DomainStatus::Ok);
    assert_eq!(first.warnings.len(), 1, "{:?}", first.warnings);
    assert!(
        first.warnings[0].contains("corrupt"),
        "{}",
        first.warnings[0]
    );
    assert!(
        first.warnings[0].contains("rebuilding"),
        "{}",
        first.warnings[0]
    );

    dns.reset_counts();
    let second = run(&options, &fast_rules(), &["acme-widgets.com"]);
    assert!(second.warnings.is_empty(), "{:?}", second.warnings);
    assert_eq!((second.stats.cache_hits, dns.total()), (1, 0));
}

#[test]
fn unwritable_cache_location_is_a_warning_not_an_error() {
    let dns = DnsFixture::with_fixture_zones();
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let options = options(
        dns.addr,
        1000,
        CacheLocation::File(blocker.join("sub/domains.redb")),
    );
    let run = run(&options, &fast_rules(), &["acme-widgets.com"]);
    assert_eq!(run.answers["acme-widgets.com"].status, DomainStatus::Ok);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(
        run.warnings[0].contains("without the cache"),
        "{}",
        run.warnings[0]
    );
}

#[test]
fn two_checkers_share_one_cache_at_once() {
    let dns = DnsFixture::with_fixture_zones();
    let dir = tempfile::tempdir().unwrap();
    let options = options(dns.addr, 1000, cache_file(&dir));
    let left: Vec<&str> = EVERY_CLASS[..6].to_vec();
    let right: Vec<&str> = EVERY_CLASS[4..].to_vec();
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run(&options, &fast_rules(), &left));
        let b = scope.spawn(|| run(&options, &fast_rules(), &right));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    dns.reset_counts();
    let after = run(&options, &fast_rules(), &EVERY_CLASS);
    assert!(after.warnings.is_empty(), "{:?}", after.warnings);
    assert_eq!(after.stats.cache_hits, EVERY_CLASS.len() as u64);
    assert_eq!(dns.total(), 0);
}

#[test]
fn negative_answers_are_cached_for_the_soa_minimum_within_bounds() {
    // A zone whose SOA minimum is 3 s: with wide bounds the NXDOMAIN lives 3 s in the cache.
    let dns = DnsFixture::builder(Mode::Authority)
        .fixture_zones()
        .zone(
            zone_text("short-lived.net", "@ IN MX 10 mx.short-lived.net.")
                .replace("1209600 600", "1209600 3")
                .replace("$TTL 3600", "$TTL 3"),
        )
        .start();
    let dir = tempfile::tempdir().unwrap();
    let options = options(dns.addr, 1000, cache_file(&dir));
    let rules = DnsRules {
        negative_min_ttl_secs: 0,
        min_ttl_secs: 0,
        ..fast_rules()
    };
    let domains = ["gone.short-lived.net"];
    assert_eq!(
        run(&options, &rules, &domains).answers[domains[0]].status,
        DomainStatus::NoDomain
    );
    dns.reset_counts();
    assert_eq!(run(&options, &rules, &domains).stats.cache_hits, 1);
    std::thread::sleep(Duration::from_millis(3100));
    assert_eq!(run(&options, &rules, &domains).stats.cache_hits, 0);
    assert_eq!(dns.count("gone.short-lived.net", RecordType::MX), 1);
}

/// The wall time of this (and of the give-ups above) is measured by `benches/dns.rs`, not
/// asserted here: a busy CI machine would make a time limit flaky.
// See: #9
#[test]
fn lookups_run_concurrently_within_the_bound() {
    // 64 domains, each answer delayed 100 ms, 32 in flight at most: the server sees many
    // queries waiting at once, and never more than 32.
    let dns = DnsFixture::builder(Mode::Authority)
        .fixture_zones()
        .delay(Duration::from_millis(100))
        .start();
    let (domains, run) = run_many(dns.addr, 1000, 64);
    assert!(all_have(&run, &domains, DomainStatus::NoDomain));
    assert_eq!(dns.total(), 64 + CANARIES.len());
    let most = dns.most_in_flight();
    assert!(most <= 32, "{most} queries in flight, over the bound of 32");
    assert!(
        most >= 16,
        "only {most} queries in flight at once: not concurrent"
    );
}
