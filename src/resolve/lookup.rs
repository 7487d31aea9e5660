//! The network side: the servers to ask, one domain's queries with failover between servers
//! and retries, and the circuit breaker (the canary check is in `canary.rs`).
//!
//! Queries go out through [`exchange`] (UDP, then TCP after truncation) to one server at a
//! time; hickory's resolver is not used for queries, because it neither retries a truncated
//! answer over TCP when configured for UDP nor shows the response code, RA flag or authority
//! section per server (issue 15). Replies are read by [`interpret`].

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::system_conf::read_system_conf;
use tokio::sync::{OnceCell, Semaphore};

use super::answer::{Chain, Verdict, interpret};
use super::classify::{classify_mx, is_routable, normalise_host};
use super::transport::{Exchange, ServerCounts, exchange};
use super::{BreakerReport, DnsOptions, DnsRules, DomainInfo, DomainStatus, Warner};
use crate::error::{Error, Result};

/// A domain's answer and how long it may be cached (`None`: never, e.g. `Unknown`).
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) info: DomainInfo,
    pub(crate) ttl: Option<Duration>,
    /// Every try of the deciding question timed out: the server said nothing at all (what
    /// the circuit breaker counts).
    pub(crate) silent: bool,
}

impl Resolved {
    fn unknown(detail: String) -> Resolved {
        Resolved {
            info: DomainInfo::unknown(detail),
            ttl: None,
            silent: false,
        }
    }

    fn negative(status: DomainStatus, detail: String, ttl: Duration) -> Resolved {
        Resolved {
            info: DomainInfo {
                status,
                mx_hosts: Vec::new(),
                parked: false,
                provider: None,
                detail,
            },
            ttl: Some(ttl),
            silent: false,
        }
    }
}

/// Whether negative answers can be believed; decided once, before the first network answer.
#[derive(Debug)]
pub(crate) enum Trust {
    /// The canaries resolved; their answers are reused if they also occur in the list.
    Trusted(HashMap<String, Resolved>),
    /// The resolver lies or cannot be reached; every domain is `Unknown` with this detail.
    Untrusted(String),
}

/// The outcome of one query (after retries).
enum Answer {
    /// Records of the asked type (possibly behind CNAMEs), the smallest TTL, the CNAME target.
    Records {
        records: Vec<RData>,
        ttl: u32,
        cname: Option<String>,
    },
    /// NXDOMAIN, with the negative TTL from the SOA if there was one.
    NxDomain(Option<u32>),
    /// The name exists but has no record of this type.
    NoData(Option<u32>),
    /// No usable answer: the detail for `Unknown`.
    Failed(String),
    /// Every try timed out (the detail for `Unknown`): no answer at all.
    Silent(String),
    /// Not sent: the circuit breaker is open.
    Stopped,
}

/// One configured server: its address, what it was sent, and whether it is used.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) counts: ServerCounts,
    /// Why the canary check left it out (`refusing`, `untrusted`, `unreachable`); unset: used.
    pub(crate) left_out: OnceLock<&'static str>,
}

/// Everything a resolving task needs; shared by all tasks of a [`super::DomainChecker`].
pub(crate) struct Network {
    pub(crate) servers: Vec<Server>,
    /// Indexes of the servers asked after the canary check, in configured order.
    pub(crate) active: OnceLock<Vec<usize>>,
    timeout: Duration,
    pub(crate) rules: DnsRules,
    /// `the system resolver` or the `--dns-server` addresses, for warnings.
    pub(crate) server_name: String,
    semaphore: Semaphore,
    pub(crate) lookups: AtomicU64,
    pub(crate) trust: OnceCell<Trust>,
    pub(crate) warner: Arc<Warner>,
    /// Domains in a row, after the canaries, that got no answer at all.
    silent_in_a_row: SilentStreak,
    /// Domains resolved from the network after the canaries (answered or not).
    resolved: AtomicU64,
    /// Set once, when the circuit breaker opens.
    pub(crate) breaker: OnceLock<BreakerReport>,
    /// Domains not queried because the breaker was open.
    pub(crate) skipped: AtomicU64,
    /// Domains whose CNAME chain looped.
    pub(crate) cname_loops: Mutex<HashSet<String>>,
}

impl Network {
    /// Reads the servers to ask: `--dns-server`s, or the system configuration's.
    pub(crate) fn new(
        options: &DnsOptions,
        rules: &DnsRules,
        warner: Arc<Warner>,
    ) -> Result<Network> {
        let (addrs, server_name) = if options.servers.is_empty() {
            let (config, _) = read_system_conf().map_err(|e| Error::Dns {
                message: "cannot read the system resolver configuration; use --dns-server IP:PORT or --no-dns",
                source: Box::new(e),
            })?;
            let mut addrs: Vec<SocketAddr> = Vec::new();
            for server in config.name_servers() {
                let port = server.connections.first().map_or(53, |c| c.port);
                let addr = SocketAddr::new(server.ip, port);
                if !addrs.contains(&addr) {
                    addrs.push(addr);
                }
            }
            (addrs, "the system resolver".to_string())
        } else {
            let names: Vec<String> = options.servers.iter().map(|s| s.to_string()).collect();
            (
                options.servers.clone(),
                format!("DNS server {}", names.join(", ")),
            )
        };
        Ok(Network {
            servers: addrs
                .into_iter()
                .map(|addr| Server {
                    addr,
                    counts: ServerCounts::default(),
                    left_out: OnceLock::new(),
                })
                .collect(),
            active: OnceLock::new(),
            timeout: options.timeout,
            rules: rules.clone(),
            server_name,
            semaphore: Semaphore::new(options.concurrency.max(1)),
            lookups: AtomicU64::new(0),
            trust: OnceCell::new(),
            warner,
            silent_in_a_row: SilentStreak::default(),
            resolved: AtomicU64::new(0),
            breaker: OnceLock::new(),
            skipped: AtomicU64::new(0),
            cname_loops: Mutex::new(HashSet::new()),
        })
    }

    /// Resolves one domain from the network, at most `concurrency` domains at a time, after
    /// the canary check.
    pub(crate) async fn resolve(self: Arc<Self>, domain: String) -> Resolved {
        let Ok(_permit) = self.semaphore.acquire().await else {
            return Resolved::unknown("DNS stopped".into());
        };
        match self
            .trust
            .get_or_init(|| self.clone().check_canaries())
            .await
        {
            Trust::Untrusted(detail) => Resolved::unknown(detail.clone()),
            Trust::Trusted(canaries) => match canaries.get(&domain) {
                Some(answer) => answer.clone(),
                None if self.breaker.get().is_some() => self.stopped(),
                None => {
                    let resolved = self.resolve_uncached(&domain, self.active()).await;
                    self.count_for_breaker(&resolved);
                    resolved
                }
            },
        }
    }

    /// The answer for a domain not queried because the breaker is open.
    fn stopped(&self) -> Resolved {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        Resolved::unknown(BREAKER_DETAIL.into())
    }

    /// Counts a domain answered from the network after the canaries; opens the breaker (and
    /// warns, once) when [`DnsRules::breaker_timeouts`] domains in a row got no answer at all.
    fn count_for_breaker(&self, resolved: &Resolved) {
        let domains = self.resolved.fetch_add(1, Ordering::Relaxed) + 1;
        if resolved.info.detail == BREAKER_DETAIL {
            // Stopped half-way (between its queries) by the breaker: already counted.
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let in_a_row = self.silent_in_a_row.record(resolved.silent);
        let threshold = self.rules.breaker_timeouts;
        if !breaker_trips(in_a_row, threshold) {
            return;
        }
        let report = BreakerReport {
            after_domains: domains,
            after_lookups: self.lookups.load(Ordering::Relaxed),
            timeouts_in_a_row: in_a_row,
            threshold,
            reason: format!(
                "{} stopped answering: {in_a_row} domains in a row got no answer (last: {}) after the canary domains had resolved",
                self.server_name, resolved.info.detail
            ),
            skipped_domains: 0,
        };
        let message = format!(
            "{}; DNS circuit breaker opened after {domains} domains and {} queries: no more queries are sent this run, and the remaining DNS-dependent rows go to review as dns_unknown (check the resolver, or raise [dns] breaker_timeouts in the rules file)",
            report.reason, report.after_lookups
        );
        if self.breaker.set(report).is_ok() {
            self.warner.warn(&message);
        }
    }

    /// MX, then A and AAAA when there is no MX (RFC 5321 §5.1 implicit MX).
    /// Asks the servers at `servers` (indexes into [`Network::servers`]), in order.
    pub(crate) async fn resolve_uncached(&self, domain: &str, servers: &[usize]) -> Resolved {
        let Ok(name) = Name::from_ascii(format!("{domain}.")) else {
            return Resolved::unknown("not a valid DNS name".into());
        };
        let mx_negative_ttl = match self.query(servers, &name, RecordType::MX).await {
            Answer::Records {
                records,
                ttl,
                cname,
            } => {
                let mx: Vec<(u16, String)> = records
                    .iter()
                    .filter_map(|rdata| match rdata {
                        RData::MX(mx) => {
                            Some((mx.preference, normalise_host(&mx.exchange.to_ascii())))
                        }
                        _ => None,
                    })
                    .collect();
                let info = classify_mx(mx, &self.rules.parking_mx, cname.as_deref());
                let ttl = self.positive_ttl(ttl);
                return Resolved {
                    info,
                    ttl: Some(ttl),
                    silent: false,
                };
            }
            Answer::NxDomain(negative_ttl) => {
                return Resolved::negative(
                    DomainStatus::NoDomain,
                    "NXDOMAIN".into(),
                    self.negative_ttl(negative_ttl),
                );
            }
            Answer::NoData(negative_ttl) => negative_ttl,
            Answer::Failed(detail) => return Resolved::unknown(detail),
            Answer::Silent(detail) => {
                return Resolved {
                    silent: true,
                    ..Resolved::unknown(detail)
                };
            }
            Answer::Stopped => return Resolved::unknown(BREAKER_DETAIL.into()),
        };
        let mut unroutable = Vec::new();
        for record_type in [RecordType::A, RecordType::AAAA] {
            match self.query(servers, &name, record_type).await {
                Answer::Records { records, ttl, .. } => {
                    let addresses: Vec<IpAddr> = records
                        .iter()
                        .filter_map(|rdata| match rdata {
                            RData::A(a) => Some(IpAddr::V4(a.0)),
                            RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                            _ => None,
                        })
                        .collect();
                    if addresses.iter().any(|ip| is_routable(*ip)) {
                        let ttl = mx_negative_ttl.map_or(ttl, |n| n.min(ttl));
                        return Resolved {
                            info: DomainInfo {
                                status: DomainStatus::ImplicitMx,
                                mx_hosts: Vec::new(),
                                parked: false,
                                provider: None,
                                detail: format!("no MX, {record_type} record (implicit MX)"),
                            },
                            ttl: Some(self.positive_ttl(ttl)),
                            silent: false,
                        };
                    }
                    unroutable.extend(addresses);
                }
                Answer::NxDomain(_) | Answer::NoData(_) => {}
                Answer::Failed(detail) => {
                    return Resolved::unknown(format!("no MX; {record_type} lookup: {detail}"));
                }
                Answer::Silent(detail) => {
                    return Resolved {
                        silent: true,
                        ..Resolved::unknown(format!("no MX; {record_type} lookup: {detail}"))
                    };
                }
                Answer::Stopped => return Resolved::unknown(BREAKER_DETAIL.into()),
            }
        }
        let detail = match unroutable.first() {
            Some(ip) => format!("no MX, only unroutable address {ip} (no implicit MX)"),
            None => "no MX, no A/AAAA".to_string(),
        };
        Resolved::negative(
            DomainStatus::NoMx,
            detail,
            self.negative_ttl(mx_negative_ttl),
        )
    }

    /// The figures for `report.json`'s `domains.transport`.
    pub(crate) fn transport_report(&self) -> super::TransportReport {
        let servers: Vec<super::ServerReport> = self
            .servers
            .iter()
            .map(|server| {
                let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
                super::ServerReport {
                    server: server.addr.to_string(),
                    tries: count(&server.counts.tries),
                    datagrams: count(&server.counts.datagrams),
                    tcp_connections: count(&server.counts.tcp_connections),
                    refused: count(&server.counts.refused),
                    timeouts: count(&server.counts.timeouts),
                    recursion_available: !server.counts.no_recursion.load(Ordering::Relaxed),
                    state: server.left_out.get().copied().unwrap_or("used"),
                }
            })
            .collect();
        let refusing_servers = servers
            .iter()
            .filter(|s| s.state == "refusing")
            .map(|s| s.server.clone())
            .collect();
        let cname_loops = self
            .cname_loops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len() as u64;
        super::TransportReport {
            servers,
            refusing_servers,
            cname_loops,
        }
    }

    /// The servers asked after the canary check (none before it: canaries name their server).
    pub(crate) fn active(&self) -> &[usize] {
        self.active.get().map_or(&[], Vec::as_slice)
    }

    /// One question, with its CNAME chain followed (bounded) across queries when a server
    /// leaves the target out of its answer.
    async fn query(&self, servers: &[usize], name: &Name, record_type: RecordType) -> Answer {
        let mut chain = Chain::new(name);
        loop {
            let asked = chain.end().clone();
            match self.ask(servers, &asked, record_type, &mut chain).await {
                Ok(Verdict::Follow) => {}
                Ok(Verdict::Records { records, ttl }) => {
                    return Answer::Records {
                        records,
                        ttl,
                        cname: chain.first_target(),
                    };
                }
                Ok(Verdict::NxDomain(ttl)) => return Answer::NxDomain(ttl),
                Ok(Verdict::NoData(ttl)) => return Answer::NoData(ttl),
                Ok(Verdict::Unusable(detail)) => {
                    if chain.looped {
                        self.note_loop(name);
                    }
                    return Answer::Failed(detail);
                }
                Ok(Verdict::Code(code)) => return Answer::Failed(code_name(code)),
                Err(answer) => return answer,
            }
        }
    }

    /// Counts a domain whose CNAME chain loops; warns once a run.
    fn note_loop(&self, name: &Name) {
        self.cname_loops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(normalise_host(&name.to_ascii()));
        self.warner.warn(
            "a CNAME chain loops back on itself: such domains go to review as dns_unknown \
             (their listwash_detail shows the chain; report.json counts them in domains.transport.cname_loops)",
        );
    }

    /// Asks the servers in turn until one gives a reply that decides (or asks to follow a
    /// CNAME); REFUSED, SERVFAIL, NOTIMP, FORMERR, timeouts and transport failures move to the
    /// next server. Rounds over all servers are retried with backoff while some failure was a
    /// timeout or SERVFAIL. Every send is counted.
    async fn ask(
        &self,
        servers: &[usize],
        name: &Name,
        record_type: RecordType,
        chain: &mut Chain,
    ) -> std::result::Result<Verdict, Answer> {
        let rounds = self.rules.retries.saturating_add(1);
        let mut backoff = Duration::from_millis(self.rules.retry_backoff_ms);
        let mut sent = 0u32;
        let mut all_timeouts = true;
        let mut retriable = false;
        let mut last: Vec<(usize, String)> = Vec::new();
        for round in 1..=rounds {
            retriable = false;
            last.clear();
            for &index in servers {
                let Some(server) = self.servers.get(index) else {
                    continue;
                };
                if self.breaker.get().is_some() {
                    return Err(Answer::Stopped);
                }
                self.lookups.fetch_add(1, Ordering::Relaxed);
                sent += 1;
                let outcome =
                    exchange(server.addr, &server.counts, name, record_type, self.timeout).await;
                let failure = match outcome {
                    Exchange::Timeout => {
                        server.counts.timeouts.fetch_add(1, Ordering::Relaxed);
                        retriable = true;
                        last.push((index, "timeout".into()));
                        continue;
                    }
                    Exchange::Failed(why) => why,
                    Exchange::Reply(reply) => {
                        if !reply.metadata.recursion_available {
                            self.note_no_recursion(server);
                        }
                        match interpret(&reply, record_type, chain) {
                            Verdict::Code(code) => {
                                if code == ResponseCode::Refused {
                                    server.counts.refused.fetch_add(1, Ordering::Relaxed);
                                }
                                retriable |= code == ResponseCode::ServFail;
                                code_name(code)
                            }
                            verdict => return Ok(verdict),
                        }
                    }
                };
                all_timeouts = false;
                last.push((index, failure));
            }
            if !retriable || round == rounds {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        let mut detail = if last.iter().all(|(_, why)| *why == last[0].1) || last.len() < 2 {
            last.first().map(|(_, why)| why.clone()).unwrap_or_default()
        } else {
            last.iter()
                .map(|(index, why)| format!("{}: {why}", self.servers[*index].addr))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if retriable {
            let plural = if sent == 1 { "try" } else { "tries" };
            detail = format!("{detail} after {sent} {plural}");
        }
        if chain.names.len() > 1 {
            detail = format!(
                "{detail} (asking for CNAME target {})",
                normalise_host(&name.to_ascii())
            );
        }
        Err(if all_timeouts && sent > 0 {
            Answer::Silent(detail)
        } else {
            Answer::Failed(detail)
        })
    }

    /// Records that `server` does not offer recursion; warns once per server.
    fn note_no_recursion(&self, server: &Server) {
        server.counts.no_recursion.store(true, Ordering::Relaxed);
        self.warner.warn(&format!(
            "DNS server {} does not offer recursion (its replies lack the RA flag): its referrals \
             and negative answers are not believed, and those domains go to review as dns_unknown \
             (point --dns-server at a recursive resolver)",
            server.addr
        ));
    }

    fn positive_ttl(&self, ttl: u32) -> Duration {
        Duration::from_secs(
            u64::from(ttl)
                .max(self.rules.min_ttl_secs)
                .min(self.rules.max_ttl_secs),
        )
    }

    fn negative_ttl(&self, ttl: Option<u32>) -> Duration {
        let ttl = ttl.map_or(self.rules.negative_min_ttl_secs, u64::from);
        Duration::from_secs(
            ttl.max(self.rules.negative_min_ttl_secs)
                .min(self.rules.negative_max_ttl_secs),
        )
    }
}

/// The detail of a domain not queried because the circuit breaker was open.
pub(crate) const BREAKER_DETAIL: &str =
    "not queried: the DNS circuit breaker opened (the resolver stopped answering)";

/// `SERVFAIL`, `REFUSED`, … as the detail of a failure.
fn code_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        other => format!("response code {}", u16::from(other)),
    }
}

/// The count of domains in a row that got no answer at all, shared by concurrent lookups: an
/// answer (any answer, negative ones included) resets it.
#[derive(Debug, Default)]
struct SilentStreak(AtomicU32);

impl SilentStreak {
    /// Records one domain's outcome; returns the streak after it (0 after an answer).
    fn record(&self, silent: bool) -> u32 {
        if silent {
            self.0.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.0.store(0, Ordering::Relaxed);
            0
        }
    }
}

/// Whether a streak of `in_a_row` silent domains opens the breaker (`threshold` 0: never).
fn breaker_trips(in_a_row: u32, threshold: u32) -> bool {
    threshold > 0 && in_a_row >= threshold
}

#[cfg(test)]
mod streak_tests {
    use super::{SilentStreak, breaker_trips};

    // See: #13 part 5 (an answer between timeouts resets the count)
    #[test]
    fn an_answer_resets_the_streak_and_only_a_full_streak_trips() {
        let streak = SilentStreak::default();
        assert_eq!(
            [true, true, true].map(|s| streak.record(s)),
            [1, 2, 3],
            "silent domains add up"
        );
        assert_eq!(streak.record(false), 0, "an answer resets the streak");
        assert_eq!(streak.record(true), 1, "and counting starts again");
        assert!(!breaker_trips(2, 3));
        assert!(breaker_trips(3, 3));
        assert!(breaker_trips(4, 3));
        assert!(!breaker_trips(1_000, 0), "0 turns the breaker off");
    }
}
