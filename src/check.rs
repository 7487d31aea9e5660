//! `listwash check`: the `clean` decision for addresses given one by one.

use std::collections::HashSet;

use serde::Serialize;

use crate::config::DecideConfig;
use crate::decide::RowInput;
use crate::error::Result;
use crate::pipeline::load_decider;
use crate::reason::Action;
use crate::resolve::{DnsStats, DomainChecker, DomainInfo, WarnSink};

/// One address's verdict, as `check --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// The address as given.
    pub address: String,
    /// The normalised address, when the syntax is valid.
    pub normalized: Option<String>,
    /// `keep`, `review` or `suppress`.
    pub action: Action,
    /// The deciding reason code, if any.
    pub reason: Option<&'static str>,
    /// Evidence.
    pub detail: String,
}

/// Decides each address exactly as `clean` would decide a row holding it (later repeats of
/// an address are duplicates).
///
/// # Errors
/// When a suppression list or engagement log cannot be read, or DNS cannot be set up.
pub fn check(
    addresses: &[String],
    config: &DecideConfig,
    warn: WarnSink,
) -> Result<(Vec<CheckResult>, Option<DnsStats>)> {
    let mut decider = load_decider(config)?;
    let rows: Vec<RowInput<'_>> = addresses
        .iter()
        .enumerate()
        .map(|(i, a)| RowInput {
            line: i as u64 + 1,
            email: a,
            signup: None,
        })
        .collect();
    let (prepared, domains) = decider.prepare(&rows);
    let mut stats = None;
    match &config.dns {
        Some(options) => {
            let mut checker = DomainChecker::new(options, &config.rules.dns, warn)?;
            checker.submit(domains.iter().map(String::as_str));
            let answers = checker.wait(domains.iter().map(String::as_str));
            decider.add_dns(answers);
            stats = Some(checker.finish());
        }
        None => {
            let unchecked = std::sync::Arc::new(DomainInfo::unchecked());
            let distinct: HashSet<String> = domains.into_iter().collect();
            decider.add_dns(distinct.into_iter().map(|d| (d, unchecked.clone())));
        }
    }
    let decisions = decider.decide(&prepared);
    let results = addresses
        .iter()
        .zip(prepared.iter().zip(decisions))
        .map(|(address, (prep, decision))| CheckResult {
            address: address.clone(),
            normalized: prep.normalized().map(String::from),
            action: decision.action,
            reason: decision.reason.map(|r| r.code()),
            detail: decision.detail,
        })
        .collect();
    Ok((results, stats))
}
