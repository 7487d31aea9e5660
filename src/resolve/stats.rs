//! The run's DNS figures for `report.json`'s `domains` object: [`DnsStats`], the circuit
//! breaker's [`BreakerReport`] and the per-server [`TransportReport`]. Plain data: filled by
//! the [`DomainChecker`](super::DomainChecker), serialised by the report; never computes.

use serde::Serialize;

use super::ServerReport;

/// Counts for `report.json`'s `domains` object (besides `unique` and `by_status`, which the
/// pipeline counts).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsStats {
    /// DNS questions asked (tries): every try counts (a retry after a timeout is a second
    /// query, asking the next server after a REFUSED is another), canary queries and the
    /// query that follows a CNAME into another zone included. A try is one UDP datagram,
    /// plus one TCP connection when the UDP answer was truncated ([`TransportReport`] has
    /// both per server). Answers from the persistent cache send none.
    pub lookups: u64,
    /// Domains answered from the persistent cache.
    pub cache_hits: u64,
    /// False when the resolver was found to lie or could not be reached.
    pub resolver_trusted: bool,
    /// Warnings given during the run (also sent to the warning sink).
    pub warnings: Vec<String>,
    /// When and why the DNS circuit breaker opened; `None` when it stayed closed.
    pub breaker: Option<BreakerReport>,
    /// What went on the wire, per server (issue 15).
    pub transport: TransportReport,
    /// Distinct domains of this run whose MX is at a parking service (cache hits included).
    pub parked: u64,
}

/// `report.json`'s `domains.transport`: the queries as sent on the wire, per server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransportReport {
    /// Every configured server (the system's when no `--dns-server` was given), in order.
    pub servers: Vec<ServerReport>,
    /// Servers left out because they refused every canary domain (`IP:port`).
    pub refusing_servers: Vec<String>,
    /// Domains whose CNAME chain looped back on itself (each counted once; `dns_unknown`).
    pub cname_loops: u64,
}

/// `report.json`'s `domains.breaker`: the resolver stopped answering half-way, and listwash
/// stopped querying it (see [`DnsRules::breaker_timeouts`](super::DnsRules::breaker_timeouts)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerReport {
    /// Domains resolved from the network after the canaries when it opened (the silent ones
    /// included).
    pub after_domains: u64,
    /// DNS queries sent when it opened (as [`DnsStats::lookups`]).
    pub after_lookups: u64,
    /// Domains in a row that got no answer at all.
    pub timeouts_in_a_row: u32,
    /// The `[dns] breaker_timeouts` setting.
    pub threshold: u32,
    /// Why it opened, in words.
    pub reason: String,
    /// Domains then left unqueried (their rows are `dns_unknown`).
    pub skipped_domains: u64,
}
