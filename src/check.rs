//! `listwash check`: the `clean` decision for addresses given one by one.

use serde::Serialize;

use crate::config::DecideConfig;
use crate::decide::{Decided, Decider, RowInput};
use crate::error::Result;
use crate::reason::Action;
use crate::resolve::{DnsStats, WarnSink};
use crate::syntax;

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
    let mut decider = Decider::load(config, warn)?;
    let rows: Vec<RowInput<'_>> = addresses
        .iter()
        .enumerate()
        .map(|(i, a)| RowInput {
            line: i as u64 + 1,
            email: a,
            signup: None,
            row: None,
        })
        .collect();
    let decided = decider.decide_batch(&rows);
    let stats = decider.finish_domains();
    let results = addresses
        .iter()
        .zip(decided)
        .map(|(address, Decided { decision, .. })| CheckResult {
            address: address.clone(),
            normalized: syntax::check(address).ok().map(|n| n.as_str().to_string()),
            action: decision.action,
            reason: decision.reason.map(|r| r.code()),
            detail: decision.detail,
        })
        .collect();
    Ok((results, stats))
}
