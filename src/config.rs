//! Resolved, validated settings for a run. No clap types: tests and benches build these
//! directly.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use chrono::NaiveDate;

use crate::read::{InputSource, ReadOptions};
use crate::resolve::DnsOptions;
use crate::rules::RuleSet;
use crate::write::{CellPolicy, OutputOptions};

/// Where the rules came from, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesSource {
    /// The shipped defaults.
    Defaults,
    /// `--rules FILE`.
    File(PathBuf),
}

/// Everything a decision needs besides the rows: rules, lists, history, DNS.
pub struct DecideConfig {
    /// The compiled rules.
    pub rules: Arc<RuleSet>,
    /// Where they came from.
    pub rules_source: RulesSource,
    /// `--suppress` files.
    pub suppress: Vec<PathBuf>,
    /// `--engagement` logs.
    pub engagement: Vec<PathBuf>,
    /// `--profiles` files (issue 14), used instead of logs.
    pub profiles: Vec<PathBuf>,
    /// How the logs are read (`--events-format`, `--events-*-column`).
    pub events: crate::engagement::EventOptions,
    /// The day the engagement rules measure from.
    pub as_of: NaiveDate,
    /// DNS settings; `None` is `--no-dns`.
    pub dns: Option<DnsOptions>,
}

/// Settings of a `clean` run.
pub struct CleanConfig {
    /// The contact file.
    pub input: InputSource,
    /// Where the outputs go.
    pub out_dir: PathBuf,
    /// Column detection and record limits.
    pub read: ReadOptions,
    /// Rules, lists, history and DNS.
    pub decide: DecideConfig,
    /// Worker threads (`None`: all cores).
    pub jobs: Option<usize>,
    /// Bytes of input text per batch ([`crate::read::BATCH_BYTES`] unless testing).
    pub batch_bytes: usize,
    /// `--excel-safe`.
    pub cells: CellPolicy,
    /// Permission bits of the outputs (`--file-mode`, default 0o600).
    pub file_mode: u32,
    /// Set by a Ctrl-C handler; the run stops at the next batch and removes its temporary files.
    pub cancel: Arc<AtomicBool>,
    /// `--wait`: how long to wait for another run holding the output folder (`None`: refuse
    /// at once; [`std::time::Duration::MAX`]: as long as it takes).
    pub wait: Option<std::time::Duration>,
    /// `--fail-if` thresholds, checked after the run and recorded in `report.json`.
    pub thresholds: Vec<crate::guard::Threshold>,
    /// `--output-format`, `--compress`, `--out-dir -` (#13 part 3). With `clean_to_stdout`,
    /// `out_dir` is the folder of the other outputs (`--report-dir`).
    pub output: OutputOptions,
    /// Write `report.html` beside `report.json` (`--no-html` turns it off). See: #12 part 2.
    pub html: bool,
}

#[cfg(test)]
impl CleanConfig {
    /// A `--no-dns` run of `input` into `out_dir` with the default rules, for tests.
    pub(crate) fn for_test(input: &std::path::Path, out_dir: &std::path::Path) -> CleanConfig {
        CleanConfig {
            input: InputSource::Path(input.to_path_buf()),
            out_dir: out_dir.to_path_buf(),
            read: ReadOptions::default(),
            decide: DecideConfig {
                rules: Arc::new(RuleSet::defaults()),
                rules_source: RulesSource::Defaults,
                suppress: Vec::new(),
                engagement: Vec::new(),
                profiles: Vec::new(),
                events: Default::default(),
                as_of: NaiveDate::MIN,
                dns: None,
            },
            jobs: Some(2),
            batch_bytes: crate::read::BATCH_BYTES,
            cells: CellPolicy::Unchanged,
            file_mode: 0o600,
            cancel: Arc::new(AtomicBool::new(false)),
            wait: None,
            thresholds: Vec::new(),
            output: OutputOptions::default(),
            html: false,
        }
    }
}
