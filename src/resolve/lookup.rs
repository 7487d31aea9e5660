//! The network side: the hickory resolver, one domain's queries with retries, and the canary
//! check that decides whether negative answers can be believed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::{OnceCell, Semaphore};

use super::classify::{classify_mx, is_routable, normalise_host};
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

/// Everything a resolving task needs; shared by all tasks of a [`super::DomainChecker`].
pub(crate) struct Network {
    resolver: TokioResolver,
    rules: DnsRules,
    /// `the system resolver` or the `--dns-server` addresses, for warnings.
    server_name: String,
    semaphore: Semaphore,
    pub(crate) lookups: AtomicU64,
    pub(crate) trust: OnceCell<Trust>,
    warner: Arc<Warner>,
    /// Domains in a row, after the canaries, that got no answer at all (see [`Breaker`]).
    silent_in_a_row: AtomicU32,
    /// Domains resolved from the network after the canaries (answered or not).
    resolved: AtomicU64,
    /// Set once, when the circuit breaker opens.
    pub(crate) breaker: OnceLock<BreakerReport>,
    /// Domains not queried because the breaker was open.
    pub(crate) skipped: AtomicU64,
}

impl Network {
    /// Builds the resolver; must run inside the checker's tokio runtime.
    pub(crate) fn new(
        options: &DnsOptions,
        rules: &DnsRules,
        warner: Arc<Warner>,
    ) -> Result<Network> {
        let concurrency = options.concurrency.max(1);
        let (builder, server_name) = if options.servers.is_empty() {
            let builder = TokioResolver::builder_tokio().map_err(|e| Error::Dns {
                message: "cannot read the system resolver configuration; use --dns-server IP:PORT or --no-dns",
                source: Box::new(e),
            })?;
            (builder, "the system resolver".to_string())
        } else {
            let servers = options
                .servers
                .iter()
                .map(|addr| {
                    let mut server = NameServerConfig::udp(addr.ip());
                    for connection in &mut server.connections {
                        connection.port = addr.port();
                    }
                    server
                })
                .collect();
            let config = ResolverConfig::from_parts(None, Vec::new(), servers);
            let names: Vec<String> = options.servers.iter().map(|s| s.to_string()).collect();
            (
                Resolver::builder_with_config(config, TokioRuntimeProvider::default()),
                format!("DNS server {}", names.join(", ")),
            )
        };
        let mut builder = builder;
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = options.timeout;
        // We retry ourselves (timeouts and SERVFAIL only, with backoff) so that every query
        // sent is counted; `attempts` counts retries after the first send.
        opts.attempts = 0;
        // We resolve each domain once a run and keep our own persistent cache.
        opts.cache_size = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        // One server at a time, so one try is one query.
        opts.num_concurrent_reqs = 1;
        // The default (32) would make the resolver refuse our own concurrency as "busy".
        opts.max_active_requests = concurrency + rules.canaries.len() + 16;
        opts.preserve_intermediates = true;
        opts.ndots = 0;
        let resolver = builder.build().map_err(|e| Error::Dns {
            message: "cannot set up the resolver; check --dns-server, or use --no-dns",
            source: Box::new(e),
        })?;
        Ok(Network {
            resolver,
            rules: rules.clone(),
            server_name,
            semaphore: Semaphore::new(concurrency),
            lookups: AtomicU64::new(0),
            trust: OnceCell::new(),
            warner,
            silent_in_a_row: AtomicU32::new(0),
            resolved: AtomicU64::new(0),
            breaker: OnceLock::new(),
            skipped: AtomicU64::new(0),
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
                    let resolved = self.resolve_uncached(&domain).await;
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
        if !resolved.silent {
            self.silent_in_a_row.store(0, Ordering::Relaxed);
            return;
        }
        let in_a_row = self.silent_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        let threshold = self.rules.breaker_timeouts;
        if threshold == 0 || in_a_row < threshold {
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

    /// Queries the canaries (concurrently) and decides whether the resolver can be trusted.
    /// Warns once when it cannot.
    async fn check_canaries(self: Arc<Self>) -> Trust {
        let mut tasks = Vec::new();
        for canary in &self.rules.canaries {
            let network = self.clone();
            let canary = canary.trim_end_matches('.').to_ascii_lowercase();
            tasks.push(tokio::spawn(async move {
                let answer = network.resolve_uncached(&canary).await;
                (canary, answer)
            }));
        }
        let mut answers = HashMap::new();
        for task in tasks {
            if let Ok((canary, answer)) = task.await {
                answers.insert(canary, answer);
            }
        }
        let mut names: Vec<&String> = answers.keys().collect();
        names.sort();
        let negative: Vec<String> = names
            .iter()
            .filter(|name| {
                let status = answers[**name].info.status;
                status != DomainStatus::Ok && status != DomainStatus::Unknown
            })
            .map(|name| format!("{name}: {}", answers[*name].info.detail))
            .collect();
        let positive = answers
            .values()
            .filter(|a| a.info.status == DomainStatus::Ok)
            .count();
        if !negative.is_empty() {
            self.warner.warn(&format!(
                "{} is not trustworthy: domains that must exist came back negative ({}); \
                 DNS-dependent rows go to review as dns_unknown instead of being suppressed \
                 (use --dns-server IP:PORT with a working resolver, or --no-dns)",
                self.server_name,
                negative.join("; ")
            ));
            return Trust::Untrusted("resolver untrusted: canaries failed".into());
        }
        if positive == 0 && !answers.is_empty() {
            let why = names
                .first()
                .map(|name| answers[*name].info.detail.clone())
                .unwrap_or_default();
            self.warner.warn(&format!(
                "{} cannot be reached or does not answer ({why} for every canary domain); \
                 DNS-dependent rows go to review as dns_unknown \
                 (use --dns-server IP:PORT with a working resolver, or --no-dns)",
                self.server_name
            ));
            return Trust::Untrusted(format!("resolver unreachable: canaries got {why}"));
        }
        Trust::Trusted(answers)
    }

    /// MX, then A and AAAA when there is no MX (RFC 5321 §5.1 implicit MX).
    async fn resolve_uncached(&self, domain: &str) -> Resolved {
        let Ok(name) = Name::from_ascii(format!("{domain}.")) else {
            return Resolved::unknown("not a valid DNS name".into());
        };
        let mx_negative_ttl = match self.query(&name, RecordType::MX).await {
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
            match self.query(&name, record_type).await {
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

    /// One question, retried with backoff after timeouts and SERVFAIL. Every send is counted.
    async fn query(&self, name: &Name, record_type: RecordType) -> Answer {
        let tries = self.rules.retries.saturating_add(1);
        let mut backoff = Duration::from_millis(self.rules.retry_backoff_ms);
        let mut last = String::new();
        let mut all_timeouts = true;
        for attempt in 1..=tries {
            if self.breaker.get().is_some() {
                return Answer::Stopped;
            }
            self.lookups.fetch_add(1, Ordering::Relaxed);
            let failure = match self.resolver.lookup(name.clone(), record_type).await {
                Ok(lookup) => {
                    let mut records = Vec::new();
                    let mut cname = None;
                    let mut ttl = u32::MAX;
                    for record in lookup.answers() {
                        match &record.data {
                            RData::CNAME(target) => {
                                cname = Some(normalise_host(&target.0.to_ascii()));
                                ttl = ttl.min(record.ttl);
                            }
                            data if data.record_type() == record_type => {
                                records.push(data.clone());
                                ttl = ttl.min(record.ttl);
                            }
                            _ => {}
                        }
                    }
                    if records.is_empty() {
                        return Answer::NoData(None);
                    }
                    return Answer::Records {
                        records,
                        ttl,
                        cname,
                    };
                }
                Err(NetError::Dns(DnsError::NoRecordsFound(no_records))) => {
                    return if no_records.response_code == ResponseCode::NXDomain {
                        Answer::NxDomain(no_records.negative_ttl)
                    } else {
                        Answer::NoData(no_records.negative_ttl)
                    };
                }
                Err(NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail))) => "SERVFAIL",
                Err(NetError::Timeout) => "timeout",
                Err(NetError::Busy) => "resolver busy",
                Err(NetError::Dns(DnsError::ResponseCode(code))) => {
                    return Answer::Failed(code.to_string().to_uppercase());
                }
                Err(NetError::NoConnections) => {
                    return Answer::Failed("no connection to the DNS server".into());
                }
                Err(other) => return Answer::Failed(one_line(&other.to_string())),
            };
            all_timeouts &= failure == "timeout";
            last = failure.to_string();
            if attempt < tries {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        }
        let plural = if tries == 1 { "try" } else { "tries" };
        let detail = format!("{last} after {tries} {plural}");
        if all_timeouts {
            Answer::Silent(detail)
        } else {
            Answer::Failed(detail)
        }
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

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
