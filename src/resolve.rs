//! Domain checks: MX resolution, once per distinct domain, cached across runs.
//!
//! INTERFACE STUB — the DNS issue replaces the body; the pipeline depends only on the public
//! items below.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;

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
}

/// Where the persistent domain cache lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLocation {
    /// The user's cache directory (`listwash/domains.redb` under it).
    Default,
    /// This file.
    File(PathBuf),
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
}

impl Default for DnsRules {
    fn default() -> Self {
        DnsRules {
            canaries: vec!["gmail.com".into(), "outlook.com".into(), "yahoo.com".into()],
        }
    }
}

/// Counts for `report.json`'s `domains` object (besides `unique` and `by_status`, which the
/// pipeline counts).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsStats {
    /// DNS queries actually sent.
    pub lookups: u64,
    /// Domains answered from the persistent cache.
    pub cache_hits: u64,
    /// False when the resolver was found to lie or could not be reached.
    pub resolver_trusted: bool,
    /// Warnings given during the run (also sent to the warning sink).
    pub warnings: Vec<String>,
}

/// A sink for one-line warnings (the binary prints them on stderr).
pub type WarnSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Resolves domains concurrently on its own tokio runtime; each domain at most once a run.
pub struct DomainChecker {
    known: HashMap<String, Arc<DomainInfo>>,
}

impl DomainChecker {
    /// Builds the resolver, opens the cache and checks the canaries.
    ///
    /// # Errors
    /// Only when the resolver cannot be configured at all (e.g. no system configuration).
    pub fn new(_options: &DnsOptions, _rules: &DnsRules, _warn: WarnSink) -> Result<DomainChecker> {
        Ok(DomainChecker {
            known: HashMap::new(),
        })
    }

    /// Starts resolving these domains in the background; known or pending ones are skipped.
    pub fn submit<'a>(&mut self, domains: impl IntoIterator<Item = &'a str>) {
        for d in domains {
            self.known
                .entry(d.to_string())
                .or_insert_with(|| Arc::new(DomainInfo::unchecked()));
        }
    }

    /// Blocks until every one of `domains` (all submitted before) has an answer.
    pub fn wait<'a>(
        &mut self,
        domains: impl IntoIterator<Item = &'a str>,
    ) -> Vec<(String, Arc<DomainInfo>)> {
        domains
            .into_iter()
            .map(|d| (d.to_string(), Arc::new(DomainInfo::unchecked())))
            .collect()
    }

    /// Writes the cache and returns the run's counts.
    pub fn finish(self) -> DnsStats {
        DnsStats {
            resolver_trusted: true,
            ..DnsStats::default()
        }
    }
}
