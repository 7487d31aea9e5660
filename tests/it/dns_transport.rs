//! DNS that holds up against real resolvers (issue 15): TCP after truncation, failover between
//! servers, referrals and servers without recursion, canaries per server, honest figures held
//! against what the loopback fixture received on the wire, parked domains and `MX 10 .`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::RecordType;
use listwash::resolve::{
    CacheLocation, DnsOptions, DnsRules, DnsStats, DomainChecker, DomainInfo, DomainStatus,
    ServerReport,
};

use crate::support::dns::{DnsFixture, DnsFixtureBuilder, Mode, zone_text};
use crate::support::run::TestRun;

const CANARIES: u64 = 3;

struct Run {
    answers: std::collections::HashMap<String, Arc<DomainInfo>>,
    stats: DnsStats,
    warnings: Vec<String>,
}

impl Run {
    fn get(&self, domain: &str) -> &DomainInfo {
        &self.answers[domain]
    }

    fn server(&self, addr: SocketAddr) -> &ServerReport {
        self.stats
            .transport
            .servers
            .iter()
            .find(|s| s.server == addr.to_string())
            .expect("every configured server is reported")
    }
}

/// Checks `domains` against `servers` (in this order), without a cache.
fn check(servers: &[SocketAddr], timeout_ms: u64, rules: &DnsRules, domains: &[&str]) -> Run {
    let options = DnsOptions {
        servers: servers.to_vec(),
        timeout: Duration::from_millis(timeout_ms),
        concurrency: 16,
        cache: CacheLocation::Off,
    };
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let sink = warnings.clone();
    let mut checker = DomainChecker::new(
        &options,
        rules,
        Arc::new(move |w: &str| sink.lock().unwrap().push(w.to_string())),
    )
    .unwrap();
    let answers = checker.wait(domains.iter().copied()).into_iter().collect();
    let stats = checker.finish();
    let warnings = warnings.lock().unwrap().clone();
    Run {
        answers,
        stats,
        warnings,
    }
}

fn rules() -> DnsRules {
    DnsRules {
        retry_backoff_ms: 20,
        ..DnsRules::default()
    }
}

fn zones() -> DnsFixtureBuilder {
    DnsFixture::builder(Mode::Authority).fixture_zones()
}

/// A zone whose MX answer (12 hosts) no 512-byte UDP answer holds.
fn big_mx_zone() -> String {
    let records: String = (1..=12)
        .map(|i| format!("@ IN MX {i}0 mail-exchanger-{i:02}.big-mx-provider.example.com.\n"))
        .collect();
    zone_text("big-mx.com", &records)
}

// See: #15 part 1
#[test]
fn a_truncated_answer_is_asked_again_over_tcp() {
    let dns = zones().zone(big_mx_zone()).truncate("big-mx.com").start();
    let run = check(
        &[dns.addr],
        1000,
        &rules(),
        &["big-mx.com", "acme-widgets.com"],
    );
    let big = run.get("big-mx.com");
    assert_eq!(big.status, DomainStatus::Ok, "{big:?}");
    assert_eq!(big.mx_hosts.len(), 12, "{big:?}");
    assert_eq!(run.get("acme-widgets.com").status, DomainStatus::Ok);
    // One TCP connection, for the one truncated answer; everything else over UDP alone.
    let server = run.server(dns.addr);
    assert_eq!(dns.tcp_connections(), 1);
    assert_eq!(server.tcp_connections, 1);
    assert_eq!(server.datagrams as usize, dns.datagrams());
    assert_eq!(server.tries, CANARIES + 2);
    assert_eq!(server.datagrams, server.tries);
    assert_eq!(run.stats.lookups, server.tries);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}

// See: #15 part 1
#[test]
fn an_answer_too_big_for_udp_is_truncated_by_the_server_and_fetched_over_tcp() {
    // 60 MX records: more than the 1232 bytes listwash offers over UDP (EDNS), so the server
    // itself (hickory-server, not the fixture's front) sets TC.
    let records: String = (1..=60)
        .map(|i| format!("@ IN MX {i} mail-exchanger-{i:02}.huge-provider.example.com.\n"))
        .collect();
    let dns = zones().zone(zone_text("huge-mx.com", &records)).start();
    let run = check(&[dns.addr], 1000, &rules(), &["huge-mx.com"]);
    let huge = run.get("huge-mx.com");
    assert_eq!(huge.status, DomainStatus::Ok, "{huge:?}");
    assert_eq!(huge.mx_hosts.len(), 60);
    assert_eq!(dns.tcp_connections(), 1);
    assert_eq!(run.server(dns.addr).tcp_connections, 1);
}

// See: #15 part 1
#[test]
fn behind_a_resolver_that_truncates_everything_every_question_goes_over_tcp() {
    let dns = zones().truncate_all().start();
    let run = check(
        &[dns.addr],
        1000,
        &rules(),
        &["acme-widgets.com", "implicit-mx.org", "nomail-here.net"],
    );
    assert_eq!(run.get("acme-widgets.com").status, DomainStatus::Ok);
    assert_eq!(run.get("implicit-mx.org").status, DomainStatus::ImplicitMx);
    assert_eq!(run.get("nomail-here.net").status, DomainStatus::NoMx);
    assert!(run.stats.resolver_trusted);
    let server = run.server(dns.addr);
    // 3 canaries, 1 MX, MX + A, MX + A + AAAA: 9 questions, each one datagram and one TCP
    // connection.
    assert_eq!(server.tries, 9);
    assert_eq!(
        (server.datagrams as usize, server.tcp_connections as usize),
        (dns.datagrams(), dns.tcp_connections())
    );
    assert_eq!((server.datagrams, server.tcp_connections), (9, 9));
}

/// A server that answers every UDP question with an empty, truncated reply, and closes every
/// TCP connection on the same port without a word: the TCP retry fails. Returns the address
/// and the count of TCP connections it accepted.
fn truncating_then_hanging_up() -> (SocketAddr, Arc<AtomicUsize>) {
    let (socket, listener) = (0..50)
        .find_map(|_| {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").ok()?;
            let listener = std::net::TcpListener::bind(socket.local_addr().ok()?).ok()?;
            Some((socket, listener))
        })
        .expect("a loopback port free for both UDP and TCP");
    let addr = socket.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    std::thread::spawn(move || {
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buffer = [0u8; 2048];
        while let Ok((len, client)) = socket.recv_from(&mut buffer) {
            let Ok(query) = Message::from_vec(&buffer[..len]) else {
                continue;
            };
            let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
            reply.metadata.message_type = MessageType::Response;
            reply.metadata.truncation = true;
            reply.metadata.recursion_available = true;
            reply.queries = query.queries.clone();
            let _ = socket.send_to(&reply.to_vec().unwrap(), client);
        }
    });
    (addr, accepted)
}

// See: #15 part 1
#[test]
fn a_failed_tcp_retry_says_what_happened() {
    let (addr, accepted) = truncating_then_hanging_up();
    let run = check(&[addr], 1000, &rules(), &["acme-widgets.com"]);
    assert!(!run.stats.resolver_trusted);
    let detail = &run.get("acme-widgets.com").detail;
    assert!(
        detail.starts_with(&format!(
            "resolver unreachable: canaries got answer truncated over UDP; {addr} closed the TCP connection without an answer"
        )),
        "{detail}"
    );
    assert!(!detail.contains("TCP already tried"), "{detail}");
    assert_eq!(run.server(addr).tcp_connections, CANARIES);
    assert_eq!(accepted.load(Ordering::SeqCst), CANARIES as usize);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
}

// See: #15 part 2
#[test]
fn a_refusing_server_is_left_out_reported_and_warned_about_once() {
    let refusing = DnsFixture::builder(Mode::Refused).start();
    let good = zones().start();
    let run = check(
        &[refusing.addr, good.addr],
        1000,
        &rules(),
        &[
            "acme-widgets.com",
            "does-not-exist-anywhere.com",
            "nomail-here.net",
        ],
    );
    assert_eq!(run.get("acme-widgets.com").status, DomainStatus::Ok);
    assert_eq!(
        run.get("does-not-exist-anywhere.com").status,
        DomainStatus::NoDomain
    );
    assert_eq!(run.get("nomail-here.net").status, DomainStatus::NoMx);
    assert!(run.stats.resolver_trusted);
    assert_eq!(
        run.stats.transport.refusing_servers,
        [refusing.addr.to_string()]
    );
    let refused = run.server(refusing.addr);
    assert_eq!(refused.state, "refusing");
    // Asked the canaries once each (REFUSED is not retried), never again.
    assert_eq!((refused.tries, refused.refused), (CANARIES, CANARIES));
    assert_eq!(refused.datagrams as usize, refusing.datagrams());
    assert_eq!(run.server(good.addr).state, "used");
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(
        run.warnings[0].contains(&format!("DNS server {} refuses queries", refusing.addr)),
        "{}",
        run.warnings[0]
    );
    assert_eq!(
        run.stats.lookups,
        run.server(refusing.addr).tries + run.server(good.addr).tries
    );
}

// See: #15 part 2
#[test]
fn a_refusal_without_a_question_section_is_a_refusal_not_a_timeout() {
    let dns = DnsFixture::builder(Mode::RefusedBare).start();
    let run = check(&[dns.addr], 1000, &rules(), &["acme-widgets.com"]);
    assert_eq!(
        run.get("acme-widgets.com").detail,
        "resolver unreachable: canaries got REFUSED"
    );
    let server = run.server(dns.addr);
    assert_eq!((server.timeouts, server.refused), (0, CANARIES));
    assert_eq!(dns.datagrams(), CANARIES as usize);
    assert_eq!(server.state, "refusing");
}

// See: #15 part 2
#[test]
fn servfail_from_one_server_moves_the_question_to_the_next() {
    let first = zones().servfail("acme-widgets.com").start();
    let second = zones().start();
    let run = check(
        &[first.addr, second.addr],
        1000,
        &rules(),
        &["acme-widgets.com"],
    );
    assert_eq!(run.get("acme-widgets.com").status, DomainStatus::Ok);
    assert_eq!(first.count("acme-widgets.com", RecordType::MX), 1);
    assert_eq!(second.count("acme-widgets.com", RecordType::MX), 1);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}

// See: #15 part 2
#[test]
fn notimp_and_formerr_from_one_server_move_the_question_to_the_next() {
    for code in [ResponseCode::NotImp, ResponseCode::FormErr] {
        let first = zones().code("acme-widgets.com", code).start();
        let second = zones().start();
        let run = check(
            &[first.addr, second.addr],
            1000,
            &rules(),
            &["acme-widgets.com"],
        );
        assert_eq!(
            run.get("acme-widgets.com").status,
            DomainStatus::Ok,
            "{code}: {:?}",
            run.get("acme-widgets.com")
        );
        assert_eq!(first.count("acme-widgets.com", RecordType::MX), 1, "{code}");
        assert_eq!(
            second.count("acme-widgets.com", RecordType::MX),
            1,
            "{code}"
        );
    }
}

// See: #15 parts 2 and 5
#[test]
fn a_silent_server_costs_one_datagram_per_try_and_is_left_out() {
    let silent = DnsFixture::builder(Mode::Silent).start();
    let good = zones().start();
    let run = check(
        &[silent.addr, good.addr],
        500,
        &rules(),
        &["acme-widgets.com"],
    );
    assert_eq!(run.get("acme-widgets.com").status, DomainStatus::Ok);
    let server = run.server(silent.addr);
    assert_eq!(server.state, "unreachable");
    // Two tries per canary (retries = 1), one datagram each: what the server received.
    assert_eq!(server.tries, 2 * CANARIES);
    assert_eq!(server.datagrams, server.tries);
    assert_eq!(silent.datagrams() as u64, server.datagrams);
    assert_eq!(server.timeouts, server.tries);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(run.warnings[0].contains("cannot be reached"));
}

// See: #15 part 3
#[test]
fn a_referral_or_a_negative_without_recursion_is_unknown_never_a_suppression() {
    let dns = zones()
        .no_recursion()
        .referral("delegated-away.com")
        .start();
    let run = check(
        &[dns.addr],
        1000,
        &rules(),
        &[
            "delegated-away.com",
            "does-not-exist-anywhere.com",
            "nomail-here.net",
            "acme-widgets.com",
        ],
    );
    let referral = run.get("delegated-away.com");
    assert_eq!(referral.status, DomainStatus::Unknown);
    assert!(referral.detail.contains("referral"), "{}", referral.detail);
    for domain in ["does-not-exist-anywhere.com", "nomail-here.net"] {
        let info = run.get(domain);
        assert_eq!(info.status, DomainStatus::Unknown, "{domain}: {info:?}");
        assert!(info.detail.contains("does not offer recursion"), "{info:?}");
    }
    // Authoritative answers with records still decide.
    assert_eq!(run.get("acme-widgets.com").status, DomainStatus::Ok);
    assert!(!run.server(dns.addr).recursion_available);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(
        run.warnings[0].contains("does not offer recursion"),
        "{}",
        run.warnings[0]
    );
}

// See: #15 part 3
#[test]
fn a_referral_row_goes_to_review_in_a_clean_run() {
    let dns = zones()
        .no_recursion()
        .referral("delegated-away.com")
        .start();
    let run = TestRun::new()
        .file(
            "in.csv",
            "email\nann@delegated-away.com\nbo@acme-widgets.com\n",
        )
        .args(dns_args(&dns))
        .expect_stderr_contains("does not offer recursion")
        .run();
    assert_eq!(run.reason_of("ann@delegated-away.com"), "dns_unknown");
    assert_eq!(run.reason_of("bo@acme-widgets.com"), "keep");
    assert_eq!(run.rows("suppressed.csv").len(), 0);
}

// See: #15 part 4
#[test]
fn a_canary_with_only_an_address_counts_as_existing() {
    let dns = zones().start();
    let rules = DnsRules {
        canaries: vec!["implicit-mx.org".into()],
        ..rules()
    };
    let run = check(&[dns.addr], 1000, &rules, &["nomail-here.net"]);
    assert!(run.stats.resolver_trusted);
    assert_eq!(run.get("nomail-here.net").status, DomainStatus::NoMx);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}

// See: #15 part 4
#[test]
fn a_lying_server_beside_a_good_one_is_left_out() {
    let liar = DnsFixture::builder(Mode::NxDomainAll).start();
    let good = zones().start();
    let run = check(
        &[liar.addr, good.addr],
        1000,
        &rules(),
        &["acme-widgets.com", "does-not-exist-anywhere.com"],
    );
    assert!(run.stats.resolver_trusted);
    assert_eq!(run.server(liar.addr).state, "untrusted");
    assert_eq!(run.get("acme-widgets.com").status, DomainStatus::Ok);
    // The liar is asked nothing after its canaries.
    assert_eq!(liar.total(), CANARIES as usize);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(run.warnings[0].contains("not trustworthy"));
}

// See: #15 part 5
#[test]
fn a_cname_loop_costs_one_query_and_is_reported_once() {
    let dns = zones()
        .cname_loop("loopy.com")
        .cname_loop("loopy.net")
        .start();
    let run = check(&[dns.addr], 1000, &rules(), &["loopy.com", "loopy.net"]);
    for domain in ["loopy.com", "loopy.net"] {
        let info = run.get(domain);
        assert_eq!(info.status, DomainStatus::Unknown);
        assert_eq!(
            info.detail,
            format!("CNAME loop {domain} → loop.{domain} → {domain}")
        );
        assert_eq!(dns.count(domain, RecordType::MX), 1);
    }
    assert_eq!(run.stats.transport.cname_loops, 2);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(run.warnings[0].contains("CNAME chain loops"));
}

fn dns_args(dns: &DnsFixture) -> Vec<String> {
    vec![
        "clean".into(),
        "{dir}/in.csv".into(),
        "--out-dir".into(),
        "{dir}/out".into(),
        "--dns-server".into(),
        dns.addr.to_string(),
        "--dns-timeout".into(),
        "1000".into(),
        "--no-cache".into(),
        "--quiet".into(),
        "--as-of".into(),
        "2026-11-01".into(),
    ]
}

// See: #15 parts 5 and 6
#[test]
fn report_json_counts_parked_domains_and_the_wire() {
    let dns = zones()
        .zone(zone_text("ten-dot.com", "@ IN MX 10 ."))
        .zone(big_mx_zone())
        .truncate("big-mx.com")
        .start();
    let run = TestRun::new()
        .file(
            "in.csv",
            "email\nlee@parked-names.com\nmo@ten-dot.com\nni@big-mx.com\nann@acme-widgets.com\n",
        )
        .args(dns_args(&dns))
        .run();
    assert_eq!(run.reason_of("lee@parked-names.com"), "parked_domain");
    let detail_of = |file: &str, email: &str| {
        run.rows(file)
            .into_iter()
            .find(|r| r["email"] == email)
            .map(|r| r["listwash_detail"].clone())
            .unwrap_or_default()
    };
    let lee = detail_of("review.csv", "lee@parked-names.com");
    assert!(lee.contains("parking service sedoparking.com"), "{lee}");
    assert_eq!(run.reason_of("mo@ten-dot.com"), "null_mx");
    let mo = detail_of("suppressed.csv", "mo@ten-dot.com");
    assert!(
        mo.contains("MX 10 . (a root mail host") && !mo.contains("null MX (MX 0 .)"),
        "{mo}"
    );
    let report = run.report();
    let domains = &report["domains"];
    assert_eq!(domains["parked"], 1);
    let server = &domains["transport"]["servers"][0];
    assert_eq!(server["server"], dns.addr.to_string());
    assert_eq!(server["datagrams"], dns.datagrams() as u64);
    assert_eq!(server["tcp_connections"], dns.tcp_connections() as u64);
    assert_eq!(server["tcp_connections"], 1);
    assert_eq!(server["tries"], domains["lookups"]);
    assert_eq!(server["state"], "used");
    assert_eq!(
        domains["transport"]["refusing_servers"],
        serde_json::json!([])
    );
    assert_eq!(domains["transport"]["cname_loops"], 0);
}
