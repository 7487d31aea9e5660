//! `report.json`: counts and settings of a run. [`health`] adds what the list would do to a
//! sender's reputation (list health) and how concentrated it is (providers, top domains).
//!
//! Consumes the pipeline's counts; produces serialisable structs. Never holds an address.

pub mod health;

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
    /// Rows per provider and top domain, and how concentrated the list is. See: #12 part 1.
    pub concentration: health::Concentration,
    /// Time per stage. See: #12 part 1.
    pub timings_ms: Timings,
    /// Estimated unknown-user, trap-risk and complaint shares before and after cleaning,
    /// against the senders' bands. See: #12 part 1.
    pub list_health: health::ListHealth,
    /// The contact file's signup dates, consent evidence and vendor status columns.
    pub contacts: ContactsReport,
}

/// `timings_ms`: time per stage, in milliseconds. Stages overlap (the reader, the workers, the
/// decisions and the writer run at once), so the figures add up to more than `elapsed_ms`;
/// each is the time that stage was busy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Loading the suppression lists and the engagement logs (before any row is read).
    pub engagement: u64,
    /// The reader thread reading and cutting the input into batches.
    pub read: u64,
    /// Parsing records and checking syntax and lists, summed over the worker threads.
    pub examine: u64,
    /// Waiting for DNS answers (0 with `--no-dns`).
    pub dns: u64,
    /// Registering duplicates and deciding rows (DNS waits excluded).
    pub decide: u64,
    /// The writer thread writing rows (finishing and publishing the files comes after
    /// `report.json` is made, so is not in it).
    pub write: u64,
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
    /// Rows whose signup cell was not a date (treated as unknown signup). Per column, with
    /// the first lines: `contacts.signup_dates`.
    pub unreadable_signup_dates: u64,
    /// Address cells with padding at either end (white space, tabs, no-break spaces,
    /// zero-width characters) that was trimmed before judging; the cells are written out
    /// unchanged. See: #10 part 1.
    #[serde(default)]
    pub trimmed_values: u64,
}

/// `domains`.
#[derive(Debug, Serialize)]
pub struct DomainsReport {
    /// Distinct domains of valid, non-duplicate rows.
    pub unique: u64,
    /// DNS questions asked (tries, all servers together); `transport` splits them per
    /// server into UDP datagrams and TCP connections.
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
    /// Distinct domains whose MX is at a domain-parking service (issue 15).
    pub parked: u64,
    /// Queries as sent on the wire per server (datagrams, TCP connections, tries), servers
    /// left out as refusing, CNAME loops (issue 15).
    pub transport: crate::resolve::TransportReport,
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

/// `contacts`: what the contact file's other columns said. See: #10 parts 5-7.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContactsReport {
    /// Each signup date column, most preferred first (a row whose cell is empty falls back to
    /// the next): the day/month order used and why, and its unreadable cells.
    pub signup_dates: Vec<SignupColumnReport>,
    /// Rows by consent evidence, and by the column it came from.
    pub consent: ConsentReport,
    /// The exporting service's status columns found, with the rows each decided per reason.
    pub status_columns: Vec<StatusColumnReport>,
    /// Rows whose deciding reason came from a vendor status column.
    pub decided_by_status: u64,
}

/// One signup date column.
#[derive(Debug, Clone, Serialize)]
pub struct SignupColumnReport {
    /// The header's name.
    pub column: String,
    /// The day/month order used, why, and the values it was decided from.
    pub order: crate::dates::ColumnOrder,
    /// Cells that are not a date in any accepted form (the row's signup is then unknown).
    pub unreadable: u64,
    /// The first lines of those cells.
    pub first_unreadable_lines: Vec<u64>,
}

/// Consent evidence counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsentReport {
    /// `--require-consent` was given: rows without evidence went to review as `no_consent`.
    pub required: bool,
    /// Rows per evidence: `consent_column` (a consent column says yes), `opt_in_date` (an
    /// opt-in or confirmation date), `negative` (a consent column says no), `none`.
    pub by_evidence: BTreeMap<&'static str, u64>,
    /// Per column: rows per evidence it gave.
    pub by_column: BTreeMap<String, BTreeMap<&'static str, u64>>,
}

/// One vendor status column.
#[derive(Debug, Clone, Serialize)]
pub struct StatusColumnReport {
    /// The header's name.
    pub column: String,
    /// Rows it decided, per reason.
    pub decided: BTreeMap<&'static str, u64>,
}
