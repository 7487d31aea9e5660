//! `report.json`: counts and settings of a run.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engagement::{Histogram, LogStats};
use crate::read::Dialect;
use crate::suppress::ListSummary;
use crate::write::OutputCounts;

/// The whole report. Field names are part of the contract; new fields may be added.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The crate version that wrote it.
    pub listwash_version: &'static str,
    /// The day the engagement rules measured from.
    pub as_of: String,
    /// What was read.
    pub input: InputReport,
    /// Rows per output file.
    pub outputs: OutputCounts,
    /// Rows per deciding `listwash_reason` (review and suppressed).
    pub reasons: BTreeMap<&'static str, u64>,
    /// Rows where each reason applied, deciding or not.
    pub reasons_applied: BTreeMap<&'static str, u64>,
    /// DNS.
    pub domains: DomainsReport,
    /// Engagement history, when `--engagement` was given.
    pub engagement: Option<EngagementReport>,
    /// Suppression lists read.
    pub suppression_lists: Vec<ListSummary>,
    /// Cells that a spreadsheet would run as a formula, and whether they were neutralised.
    pub spreadsheet: SpreadsheetReport,
    /// Settings of the run.
    pub settings: SettingsReport,
    /// Wall time of the run.
    pub elapsed_ms: u64,
    /// Every `--fail-if` threshold given, in order, with its figure and whether it tripped.
    pub thresholds: Vec<crate::guard::ThresholdResult>,
}

/// `input`.
#[derive(Debug, Serialize)]
pub struct InputReport {
    /// The input path (`-` for standard input).
    pub path: String,
    /// Data records read (every one is in exactly one output).
    pub rows: u64,
    /// Bytes of the input file as stored (compressed size for gzip).
    pub bytes: u64,
    /// Encoding, delimiter and columns used.
    pub dialect: Dialect,
    /// Rows whose signup cell was not a date (treated as unknown signup). Signup dates are read
    /// only when an engagement history is given (no other rule uses them), so 0 otherwise.
    pub unreadable_signup_dates: u64,
}

/// `domains`.
#[derive(Debug, Serialize)]
pub struct DomainsReport {
    /// Distinct domains of valid, non-duplicate rows.
    pub unique: u64,
    /// DNS queries actually sent.
    pub lookups: u64,
    /// Domains answered from the persistent cache.
    pub cache_hits: u64,
    /// Distinct domains per status.
    pub by_status: BTreeMap<&'static str, u64>,
    /// Rows per recognised mailbox provider.
    pub providers: BTreeMap<&'static str, u64>,
    /// False when the resolver was found to lie or could not be reached (or DNS was off).
    pub resolver_trusted: bool,
    /// DNS was consulted at all (false for `--no-dns`).
    pub checked: bool,
    /// Warnings given about DNS.
    pub warnings: Vec<String>,
    /// When and why the DNS circuit breaker opened (`null`: it did not).
    pub breaker: Option<crate::resolve::BreakerReport>,
}

/// `engagement`.
#[derive(Debug, Serialize)]
pub struct EngagementReport {
    /// What the event logs held.
    pub logs: LogStats,
    /// Days since the last human open or click, over the list's contacts.
    pub days_since_last_engagement: Histogram,
    /// `engagement_logs` (`--engagement`) or `profiles` (`--profiles`: then `logs` names the
    /// profile files and counts only their addresses). See: #14 part 4.
    pub source: &'static str,
}

/// `spreadsheet`.
#[derive(Debug, Serialize)]
pub struct SpreadsheetReport {
    /// Cells starting with `=`, `+`, `-`, `@`, TAB or CR.
    pub formula_like_cells: u64,
    /// `--excel-safe` was given: those cells were prefixed with `'`.
    pub neutralised: bool,
}

/// `settings`.
#[derive(Debug, Serialize)]
pub struct SettingsReport {
    /// `defaults` or the rules file's path.
    pub rules: String,
    /// Worker threads used.
    pub jobs: usize,
    /// Nameservers given (`system` when none).
    pub dns_servers: Vec<String>,
}

/// serde writes a `PathBuf` only when it is UTF-8; `report.json` must be written whatever the
/// name (see: #16 item 15, a non-UTF-8 `--suppress` name failed the run at its very end).
pub(crate) fn lossy_path<S: serde::Serializer>(
    path: &std::path::Path,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
}

/// [`lossy_path`] for a list of paths.
pub(crate) fn lossy_paths<S: serde::Serializer>(
    paths: &[std::path::PathBuf],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_seq(paths.iter().map(|p| p.to_string_lossy()))
}
