//! Domain checks: MX resolution, once per distinct domain, cached across runs.
//!
//! Consumes normalised domains (lower-case ASCII, A-labels, no trailing dot) and produces a
//! [`DomainInfo`] for each. Only this module knows about tokio and hickory: a
//! [`DomainChecker`] owns its own tokio runtime and asks the servers itself (hickory-proto
//! messages over UDP, and over TCP after a truncated answer), so the rest of the pipeline
//! stays synchronous.
//!
//! How a run goes (see issue 3):
//! - [`DomainChecker::submit`] looks new domains up in the persistent cache (one brief open of
//!   the file per call) and starts the rest in the background, at most
//!   [`DnsOptions::concurrency`] domains at a time. Each domain is queried at most once a run
//!   per record type: MX, then A and AAAA only when there is no MX (implicit MX).
//! - Before the first network answer is used, the canary domains ([`DnsRules::canaries`]) are
//!   asked of each configured server. A server for which one comes back negative, or none
//!   exists (an MX or an implicit MX), is left out with one warning (a server refusing them
//!   all is listed in `report.json`); when no server is left the resolver is not trusted:
//!   nothing more is sent, and every domain not already answered from the cache is
//!   `Unknown`. A run served entirely from the cache sends no query at all, canaries included.
//! - Each question goes to the servers in turn: REFUSED, SERVFAIL, NOTIMP, FORMERR, a timeout
//!   or a transport failure moves it to the next. A round over the servers is retried
//!   ([`DnsRules::retries`]) with a doubling backoff when a timeout or SERVFAIL was among its
//!   failures. A truncated UDP answer is asked again over TCP (RFC 7766). A failure is
//!   `Unknown`, never a negative answer, and never cached.
//! - Only real answers decide (issue 15): records, NXDOMAIN, or NODATA with the zone's SOA,
//!   from a server offering recursion. A referral, a lame answer, a CNAME loop or a negative
//!   from a server without recursion (warned about once) is `Unknown`.
//! - The circuit breaker: once the canaries passed, when [`DnsRules::breaker_timeouts`]
//!   domains in a row get no answer at all (every try timed out), the resolver is taken to
//!   have died half-way. One warning goes to the [`WarnSink`], no further query is sent (not
//!   even a pending retry), and every domain not yet answered is `Unknown` with a detail saying
//!   so; answers already received are kept. [`DnsStats::breaker`] says when and why.
//! - [`DomainChecker::finish`] writes every new answer to the cache in one transaction.
//!
//! `listwash cache stats` and `cache prune` are [`cache_stats`] and [`cache_prune`].
//!
//! This module never prints; warnings go to the [`WarnSink`] and into [`DnsStats::warnings`].

mod answer;
mod cache;
mod canary;
mod classify;
mod lookup;
mod postgres;
mod stats;
mod store;
mod transport;
mod upkeep;

pub use stats::{BreakerReport, DnsStats, TransportReport};
pub use transport::ServerReport;
pub use upkeep::{CacheStats, PruneOutcome, cache_prune, cache_stats, default_cache_path};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::rules::{BadValue, check_range};
use cache::{Cache, Entry};
use lookup::{Network, Resolved, Trust};
pub use postgres::{is_postgres_url, shared_cache_prune, shared_cache_stats};
use store::Store;

/// What DNS said about a domain. A lookup failure is `Unknown`, never a negative answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    /// MX records with at least one usable host.
    Ok,
    /// No MX, but A/AAAA records: deliverable by RFC 5321 implicit MX.
    ImplicitMx,
    /// `MX 0 .` (RFC 7505): accepts no mail.
    NullMx,
    /// Exists, but neither a usable MX nor A/AAAA.
    NoMx,
    /// NXDOMAIN.
    NoDomain,
    /// Timeout, SERVFAIL, REFUSED, or an untrustworthy resolver.
    Unknown,
    /// DNS was not consulted (`--no-dns`).
    Unchecked,
}

impl DomainStatus {
    /// The status name used in `report.json` (`domains.by_status`).
    pub fn as_str(self) -> &'static str {
        match self {
            DomainStatus::Ok => "ok",
            DomainStatus::ImplicitMx => "implicit_mx",
            DomainStatus::NullMx => "null_mx",
            DomainStatus::NoMx => "no_mx",
            DomainStatus::NoDomain => "no_domain",
            DomainStatus::Unknown => "unknown",
            DomainStatus::Unchecked => "unchecked",
        }
    }

    /// Returns true if and only if mail can be delivered to the domain as far as DNS knows.
    pub fn accepts_mail(self) -> bool {
        matches!(self, DomainStatus::Ok | DomainStatus::ImplicitMx)
    }
}

/// Everything the rules need to know about one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInfo {
    /// The verdict.
    pub status: DomainStatus,
    /// MX hosts, sorted by preference then name (lower-case, no trailing dot).
    pub mx_hosts: Vec<String>,
    /// The MX hosts belong to a known domain-parking service.
    pub parked: bool,
    /// The mailbox provider behind the MX hosts (`google`, `microsoft`, …), if recognised.
    pub provider: Option<&'static str>,
    /// DNS evidence for `listwash_detail` (e.g. `NXDOMAIN`, `MX 0 . (null MX, RFC 7505)`).
    pub detail: String,
}

impl DomainInfo {
    /// The answer used when DNS is not consulted.
    pub fn unchecked() -> DomainInfo {
        DomainInfo {
            status: DomainStatus::Unchecked,
            mx_hosts: Vec::new(),
            parked: false,
            provider: None,
            detail: "DNS not checked".to_string(),
        }
    }

    /// An `Unknown` answer with this detail (no answer, or an untrusted resolver).
    pub fn unknown(detail: String) -> DomainInfo {
        DomainInfo {
            status: DomainStatus::Unknown,
            mx_hosts: Vec::new(),
            parked: false,
            provider: None,
            detail,
        }
    }
}

/// Where the persistent domain cache lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLocation {
    /// The user's cache directory (`listwash/domains.redb` under it).
    Default,
    /// This file.
    File(PathBuf),
    /// A table in this PostgreSQL database (`postgres://…`), shared by a fleet of hosts.
    Postgres(String),
    /// No persistent cache.
    Off,
}

/// DNS settings from the command line.
#[derive(Debug, Clone)]
pub struct DnsOptions {
    /// Nameservers to use instead of the system's (empty: the system configuration).
    pub servers: Vec<SocketAddr>,
    /// Per-query timeout.
    pub timeout: Duration,
    /// Queries in flight at most.
    pub concurrency: usize,
    /// The persistent cache.
    pub cache: CacheLocation,
}

impl Default for DnsOptions {
    fn default() -> Self {
        DnsOptions {
            servers: Vec::new(),
            timeout: Duration::from_millis(2000),
            concurrency: 256,
            cache: CacheLocation::Default,
        }
    }
}

/// The `[dns]` section of the rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsRules {
    /// Domains that must exist; if they come back negative, the resolver is not trusted.
    pub canaries: Vec<String>,
    /// MX host suffixes of domain-parking services: a domain whose MX is under one of these
    /// is marked `parked`.
    pub parking_mx: Vec<String>,
    /// Retries after a timeout or SERVFAIL (so `1` means up to two queries).
    pub retries: u32,
    /// Pause before the first retry, in milliseconds; doubled for each further retry.
    pub retry_backoff_ms: u64,
    /// A positive answer is cached for its TTL, but at least this many seconds...
    pub min_ttl_secs: u64,
    /// ... and at most this many.
    pub max_ttl_secs: u64,
    /// A negative answer (NXDOMAIN, no MX) is cached for the SOA minimum, but at least this
    /// many seconds (also used when the answer carries no SOA)...
    pub negative_min_ttl_secs: u64,
    /// ... and at most this many.
    pub negative_max_ttl_secs: u64,
    /// The circuit breaker: after the canaries passed, this many domains in a row that got
    /// no answer at all (every try timed out) stop all further queries for the run; the
    /// remaining domains are `Unknown`. `0` never opens it.
    pub breaker_timeouts: u32,
}

impl Default for DnsRules {
    fn default() -> Self {
        DnsRules {
            canaries: vec!["gmail.com".into(), "outlook.com".into(), "yahoo.com".into()],
            parking_mx: builtin_parking_mx(),
            retries: 1,
            retry_backoff_ms: 200,
            min_ttl_secs: 3_600,
            max_ttl_secs: 7 * 86_400,
            negative_min_ttl_secs: 3_600,
            negative_max_ttl_secs: 86_400,
            breaker_timeouts: 20,
        }
    }
}

impl DnsRules {
    /// Most canary domains (each is queried before the first look-up).
    pub const MAX_CANARIES: usize = 20;
    /// Most retries after a timeout or SERVFAIL.
    pub const MAX_RETRIES: u32 = 5;
    /// Longest first pause before a retry, in milliseconds.
    pub const MAX_RETRY_BACKOFF_MS: u64 = 10_000;
    /// Longest a cache entry may be kept, in seconds (365 days).
    pub const MAX_TTL_SECS: u64 = 365 * 86_400;
    /// Most domains in a row without an answer before the breaker opens.
    pub const MAX_BREAKER_TIMEOUTS: u32 = 100_000;

    /// Checks every value against its documented bounds (see `listwash rules --defaults`).
    ///
    /// # Errors
    /// The first key out of bounds, with what to write instead.
    pub(crate) fn validate(&self) -> std::result::Result<(), BadValue> {
        const SECTION: &str = "dns";
        if self.canaries.len() > Self::MAX_CANARIES {
            return Err(BadValue::new(
                SECTION,
                "canaries",
                format!(
                    "{} domains, more than the limit of {}; three well-known domains are enough",
                    self.canaries.len(),
                    Self::MAX_CANARIES
                ),
            ));
        }
        for (key, items) in [
            ("canaries", &self.canaries),
            ("parking_mx", &self.parking_mx),
        ] {
            if let Some(bad) = items.iter().find(|d| !looks_like_domain(d)) {
                return Err(BadValue::new(
                    SECTION,
                    key,
                    format!("{bad:?} is not a domain (write e.g. \"gmail.com\")"),
                ));
            }
        }
        check_range(
            SECTION,
            "retries",
            self.retries.into(),
            0..=Self::MAX_RETRIES.into(),
        )?;
        check_range(
            SECTION,
            "breaker_timeouts",
            self.breaker_timeouts.into(),
            0..=Self::MAX_BREAKER_TIMEOUTS.into(),
        )?;
        check_range(
            SECTION,
            "retry_backoff_ms",
            self.retry_backoff_ms,
            0..=Self::MAX_RETRY_BACKOFF_MS,
        )?;
        for (min_key, min, max_key, max) in [
            (
                "min_ttl_secs",
                self.min_ttl_secs,
                "max_ttl_secs",
                self.max_ttl_secs,
            ),
            (
                "negative_min_ttl_secs",
                self.negative_min_ttl_secs,
                "negative_max_ttl_secs",
                self.negative_max_ttl_secs,
            ),
        ] {
            check_range(SECTION, min_key, min, 0..=Self::MAX_TTL_SECS)?;
            check_range(SECTION, max_key, max, 0..=Self::MAX_TTL_SECS)?;
            if min > max {
                return Err(BadValue::new(
                    SECTION,
                    min_key,
                    format!("{min} is more than {max_key} = {max}; make it at most {max_key}"),
                ));
            }
        }
        Ok(())
    }
}

/// The shipped parking services (`src/data/parking_mx.txt`, with its public source).
const BUILTIN_PARKING_MX: &str = include_str!("../data/parking_mx.txt");

/// [`BUILTIN_PARKING_MX`] without its comments and blank lines.
fn builtin_parking_mx() -> Vec<String> {
    BUILTIN_PARKING_MX
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Returns true if and only if `name` could be a domain: non-empty, a dot, no `@`, no spaces.
fn looks_like_domain(name: &str) -> bool {
    name.contains('.')
        && !name.contains('@')
        && !name.starts_with('.')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A sink for one-line warnings (the binary prints them on stderr).
pub type WarnSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Passes each distinct warning to the sink once, and remembers it for [`DnsStats`].
pub(crate) struct Warner {
    sink: WarnSink,
    given: Mutex<Vec<String>>,
}

impl Warner {
    fn new(sink: WarnSink) -> Warner {
        Warner {
            sink,
            given: Mutex::new(Vec::new()),
        }
    }

    /// Warns, unless this exact warning was already given.
    pub(crate) fn warn(&self, message: &str) {
        let mut given = self
            .given
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if given.iter().any(|g| g == message) {
            return;
        }
        given.push(message.to_string());
        drop(given);
        (self.sink)(message);
    }

    fn given(&self) -> Vec<String> {
        self.given
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// One domain's state in this run.
enum Slot {
    Ready(Arc<DomainInfo>),
    Pending(JoinHandle<Resolved>),
}

/// Resolves domains concurrently on its own tokio runtime; each domain at most once a run.
pub struct DomainChecker {
    runtime: tokio::runtime::Runtime,
    network: Arc<Network>,
    warner: Arc<Warner>,
    cache: Option<Store>,
    known: HashMap<String, Slot>,
    /// New answers to write to the cache at the end.
    to_store: Vec<(String, Entry)>,
    cache_hits: u64,
    /// Set by a signal: waits give up.
    cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl DomainChecker {
    /// Builds the resolver and opens the cache (checking it, and rebuilding it with a warning
    /// if it is a corrupt listwash cache; a file that is not a listwash cache is left alone
    /// and the run goes on without a cache, with one warning). Sends nothing: the canaries are checked just before the first
    /// domain that the cache cannot answer.
    ///
    /// # Errors
    /// Only when the resolver cannot be configured at all (e.g. no system configuration) or
    /// its runtime cannot start.
    pub fn new(options: &DnsOptions, rules: &DnsRules, warn: WarnSink) -> Result<DomainChecker> {
        let warner = Arc::new(Warner::new(warn));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("listwash-dns")
            .enable_all()
            .build()
            .map_err(|e| Error::Dns {
                message: "cannot start the DNS runtime (threads); retry, or use --no-dns",
                source: Box::new(e),
            })?;
        let network = {
            let _entered = runtime.enter();
            Arc::new(Network::new(options, rules, warner.clone())?)
        };
        let cache = match &options.cache {
            CacheLocation::Off => None,
            CacheLocation::File(path) => Cache::open(path, &warner).map(Store::File),
            CacheLocation::Default => default_cache_path()
                .and_then(|path| Cache::open(&path, &warner))
                .map(Store::File),
            CacheLocation::Postgres(url) => {
                postgres::SharedCache::open(url, runtime.handle().clone(), &warner)
                    .map(Store::Shared)
            }
        };
        Ok(DomainChecker {
            runtime,
            network,
            warner,
            cache,
            known: HashMap::new(),
            to_store: Vec::new(),
            cache_hits: 0,
            cancel: None,
        })
    }

    /// Makes waits for answers give up once `flag` is set (a signal).
    pub fn cancel_on(&mut self, flag: Arc<std::sync::atomic::AtomicBool>) {
        self.cancel = Some(flag);
    }

    /// Starts resolving these domains in the background; known or pending ones are skipped.
    /// Returns at once (after one brief look into the cache file).
    pub fn submit<'a>(&mut self, domains: impl IntoIterator<Item = &'a str>) {
        let mut new: Vec<&str> = Vec::new();
        for domain in domains {
            if !self.known.contains_key(domain) && !new.contains(&domain) {
                new.push(domain);
            }
        }
        if new.is_empty() {
            return;
        }
        let mut cached = match &self.cache {
            Some(cache) => cache.get_many(&new, &self.warner),
            None => HashMap::new(),
        };
        for domain in new {
            let slot = match cached.remove(domain) {
                Some(info) => {
                    self.cache_hits += 1;
                    Slot::Ready(Arc::new(info))
                }
                None => Slot::Pending(
                    self.runtime
                        .spawn(self.network.clone().resolve(domain.to_string())),
                ),
            };
            self.known.insert(domain.to_string(), slot);
        }
    }

    /// Blocks until every one of `domains` has an answer (a domain not submitted before is
    /// submitted now).
    pub fn wait<'a>(
        &mut self,
        domains: impl IntoIterator<Item = &'a str>,
    ) -> Vec<(String, Arc<DomainInfo>)> {
        let domains: Vec<&str> = domains.into_iter().collect();
        self.submit(domains.iter().copied());
        domains
            .into_iter()
            .map(|domain| (domain.to_string(), self.answer(domain)))
            .collect()
    }

    /// The answer for a submitted domain, blocking until it is there.
    fn answer(&mut self, domain: &str) -> Arc<DomainInfo> {
        let Some(slot) = self.known.remove(domain) else {
            return Arc::new(DomainInfo::unknown("not submitted".into()));
        };
        let info = match slot {
            Slot::Ready(info) => info,
            Slot::Pending(handle) => {
                let cancel = self.cancel.clone();
                let resolved = self
                    .runtime
                    .block_on(wait_unless_cancelled(handle, cancel))
                    .unwrap_or_else(|why| Resolved {
                        info: DomainInfo::unknown(why),
                        ttl: None,
                        silent: false,
                    });
                if let Some(ttl) = resolved.ttl
                    && resolved.info.status != DomainStatus::Unknown
                {
                    self.to_store
                        .push((domain.to_string(), Entry::new(&resolved.info, ttl)));
                }
                Arc::new(resolved.info)
            }
        };
        self.known
            .insert(domain.to_string(), Slot::Ready(info.clone()));
        info
    }

    /// Waits for the domains still in flight, writes the cache (one transaction) and returns
    /// the run's counts.
    pub fn finish(mut self) -> DnsStats {
        let pending: Vec<String> = self
            .known
            .iter()
            .filter(|(_, slot)| matches!(slot, Slot::Pending(_)))
            .map(|(domain, _)| domain.clone())
            .collect();
        for domain in pending {
            self.answer(&domain);
        }
        if let Some(cache) = &self.cache {
            cache.put_many(&self.to_store, &self.warner);
        }
        let resolver_trusted = !matches!(self.network.trust.get(), Some(Trust::Untrusted(_)));
        let breaker = self
            .network
            .breaker
            .get()
            .cloned()
            .map(|trip| BreakerReport {
                skipped_domains: self
                    .network
                    .skipped
                    .load(std::sync::atomic::Ordering::Relaxed),
                ..trip
            });
        let parked = self
            .known
            .values()
            .filter(|slot| matches!(slot, Slot::Ready(info) if info.parked))
            .count() as u64;
        let transport = self.network.transport_report();
        let stats = DnsStats {
            transport,
            parked,
            lookups: self
                .network
                .lookups
                .load(std::sync::atomic::Ordering::Relaxed),
            cache_hits: self.cache_hits,
            resolver_trusted,
            warnings: self.warner.given(),
            breaker,
        };
        self.runtime.shutdown_background();
        stats
    }
}

/// Waits for a lookup, polling `cancel` every 50 ms; a cancelled lookup is aborted.
async fn wait_unless_cancelled(
    mut handle: JoinHandle<Resolved>,
    cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
) -> Result<Resolved, String> {
    loop {
        tokio::select! {
            done = &mut handle => return done.map_err(|e| format!("DNS task failed: {e}")),
            _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {
                if cancel.as_ref().is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed)) {
                    handle.abort();
                    return Err("interrupted".into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
