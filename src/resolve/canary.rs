//! The canary check: before the first network answer is used, every configured server is
//! asked for the canary domains on its own (issue 15, parts 2 and 4), so one bad server cannot
//! pass for the whole resolver.
//!
//! Consumes the [`Network`]'s servers and [`DnsRules::canaries`](super::DnsRules); produces the
//! run's [`Trust`] and the list of servers to ask afterwards ([`Network::active`]). A server
//! is used when at least one canary exists (a usable MX or an implicit MX) and none comes back
//! negative. A server that refuses every canary is `refusing`, one that says a canary does not
//! exist is `untrusted`, one that answers none is `unreachable`: each is left out with one
//! warning, and `report.json` lists it. When no server is left, the resolver is not trusted.
//! Never prints.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::DomainStatus;
use super::lookup::{Network, Resolved, Trust};

/// What the canaries said about one server.
struct ServerCheck {
    index: usize,
    answers: HashMap<String, Resolved>,
}

impl ServerCheck {
    fn names(&self) -> Vec<&String> {
        let mut names: Vec<&String> = self.answers.keys().collect();
        names.sort();
        names
    }

    /// Canaries that came back negative (`name: detail`).
    fn negative(&self) -> Vec<String> {
        self.names()
            .into_iter()
            .filter(|name| {
                let status = self.answers[*name].info.status;
                !status.accepts_mail() && status != DomainStatus::Unknown
            })
            .map(|name| format!("{name}: {}", self.answers[name].info.detail))
            .collect()
    }

    /// Canaries that exist: a usable MX or an implicit MX (A/AAAA).
    fn positive(&self) -> usize {
        self.answers
            .values()
            .filter(|a| a.info.status.accepts_mail())
            .count()
    }

    /// The detail of the first canary (by name), for "canaries got …".
    fn first_detail(&self) -> String {
        self.names()
            .first()
            .map(|name| self.answers[*name].info.detail.clone())
            .unwrap_or_default()
    }
}

impl Network {
    /// Queries the canaries of every server (concurrently) and decides which servers to use
    /// and whether the resolver can be trusted at all. Warns once per server left out.
    pub(crate) async fn check_canaries(self: Arc<Self>) -> Trust {
        if self.servers.is_empty() {
            self.warner.warn(
                "the system resolver configuration lists no name server; DNS-dependent rows go \
                 to review as dns_unknown (use --dns-server IP:PORT with a working resolver, or --no-dns)",
            );
            return Trust::Untrusted("resolver unreachable: no DNS server configured".into());
        }
        let canaries: Vec<String> = self
            .rules
            .canaries
            .iter()
            .map(|c| c.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        let mut tasks = Vec::new();
        for index in 0..self.servers.len() {
            for canary in &canaries {
                let network = self.clone();
                let canary = canary.clone();
                tasks.push(tokio::spawn(async move {
                    let answer = network.resolve_uncached(&canary, &[index]).await;
                    (index, canary, answer)
                }));
            }
        }
        let mut checks: Vec<ServerCheck> = (0..self.servers.len())
            .map(|index| ServerCheck {
                index,
                answers: HashMap::new(),
            })
            .collect();
        for task in tasks {
            if let Ok((index, canary, answer)) = task.await
                && let Some(check) = checks.get_mut(index)
            {
                check.answers.insert(canary, answer);
            }
        }
        let single = self.servers.len() == 1;
        let mut active = Vec::new();
        let mut untrusted = None;
        let mut unreachable = None;
        for check in &checks {
            let server = &self.servers[check.index];
            // With one server, warnings name the resolver as the user gave it.
            let name = if single {
                self.server_name.clone()
            } else {
                format!("DNS server {}", server.addr)
            };
            let negative = check.negative();
            if !negative.is_empty() {
                self.warner.warn(&format!(
                    "{name} is not trustworthy: domains that must exist came back negative ({}); \
                     {}",
                    negative.join("; "),
                    consequence(single)
                ));
                let _ = server.left_out.set("untrusted");
                untrusted.get_or_insert_with(|| "resolver untrusted: canaries failed".to_string());
                continue;
            }
            if check.positive() > 0 || check.answers.is_empty() {
                active.push(check.index);
                continue;
            }
            let why = check.first_detail();
            if server.counts.refused.load(Ordering::Relaxed) > 0 && why == "REFUSED" {
                self.warner.warn(&format!(
                    "{name} refuses queries (REFUSED for every canary domain); {} \
                     (check its access rules, or drop it from --dns-server)",
                    consequence(single)
                ));
                let _ = server.left_out.set("refusing");
            } else {
                self.warner.warn(&format!(
                    "{name} cannot be reached or does not answer ({why} for every canary domain); \
                     {}",
                    consequence(single)
                ));
                let _ = server.left_out.set("unreachable");
            }
            unreachable.get_or_insert_with(|| format!("resolver unreachable: canaries got {why}"));
        }
        let first = active.first().copied();
        let _ = self.active.set(active);
        match first {
            Some(index) => Trust::Trusted(
                checks
                    .into_iter()
                    .find(|c| c.index == index)
                    .map(|c| c.answers)
                    .unwrap_or_default(),
            ),
            None => Trust::Untrusted(
                untrusted
                    .or(unreachable)
                    .unwrap_or_else(|| "resolver unreachable".into()),
            ),
        }
    }
}

/// What happens to the run when a server is left out.
fn consequence(single: bool) -> &'static str {
    if single {
        "DNS-dependent rows go to review as dns_unknown instead of being suppressed \
         (use --dns-server IP:PORT with a working resolver, or --no-dns)"
    } else {
        "it is left out of this run and the other servers are asked \
         (if none is left, DNS-dependent rows go to review as dns_unknown)"
    }
}
