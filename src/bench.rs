//! `listwash bench`: the same list decided under several rule sets, side by side, and, given
//! known outcomes of a later send, how well each rule set caught the bad addresses and kept
//! the good ones. Writes no outputs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::DecideConfig;
use crate::decide::{Decider, RowInput};
use crate::error::{Error, Result};
use crate::read::{Input, InputSource, ReadOptions};
use crate::reason::Action;
use crate::resolve::WarnSink;

/// What happened to an address when it was mailed after the list was cleaned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A human opened or clicked.
    Engaged,
    /// Delivered, no engagement seen.
    Delivered,
    /// Hard bounce (unknown user, no such domain).
    Bounced,
    /// Spam complaint.
    Complained,
    /// A spam trap hit reported by a blocklist or the provider.
    Trap,
}

impl Outcome {
    fn parse(value: &str) -> Option<Outcome> {
        match value.trim().to_ascii_lowercase().as_str() {
            "engaged" | "open" | "opened" | "click" | "clicked" => Some(Outcome::Engaged),
            "delivered" | "ok" => Some(Outcome::Delivered),
            "bounced" | "bounce" | "hard_bounce" | "hardbounce" => Some(Outcome::Bounced),
            "complained" | "complaint" | "spamreport" => Some(Outcome::Complained),
            "trap" | "spamtrap" | "spam_trap" => Some(Outcome::Trap),
            _ => None,
        }
    }

    fn is_bad(self) -> bool {
        matches!(self, Outcome::Bounced | Outcome::Complained | Outcome::Trap)
    }
}

/// One rule set's results.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSetResult {
    /// The rules file.
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub rules: PathBuf,
    /// Rows per action.
    pub actions: BTreeMap<&'static str, u64>,
    /// Rows per deciding reason.
    pub reasons: BTreeMap<&'static str, u64>,
    /// Per known outcome: rows kept, reviewed, suppressed.
    pub outcomes: BTreeMap<Outcome, BTreeMap<&'static str, u64>>,
    /// Share of bad outcomes (bounce, complaint, trap) not kept.
    pub bad_caught: Option<f64>,
    /// Share of engaged addresses suppressed (good contacts lost).
    pub engaged_lost: Option<f64>,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Records read (rejected ones are not decided).
    pub rows: u64,
    /// Rows whose address has a known outcome.
    pub rows_with_outcome: u64,
    /// One entry per `--rules`, in order.
    pub rule_sets: Vec<RuleSetResult>,
}

/// Decides `input` under each of `configs` (one per rules file).
///
/// # Errors
/// When the input, an outcomes file, a list or a log cannot be read.
pub fn bench(
    input: &Path,
    read: &ReadOptions,
    configs: &[(PathBuf, DecideConfig)],
    outcomes: Option<&Path>,
    warn: WarnSink,
) -> Result<BenchReport> {
    let known = match outcomes {
        Some(path) => load_outcomes(path)?,
        None => HashMap::new(),
    };
    let mut report = BenchReport {
        rows: 0,
        rows_with_outcome: 0,
        rule_sets: Vec::new(),
    };
    for (index, (rules_path, config)) in configs.iter().enumerate() {
        let mut decider = Decider::load(config, warn.clone())?;
        let mut result = RuleSetResult {
            rules: rules_path.clone(),
            actions: BTreeMap::new(),
            reasons: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            bad_caught: None,
            engaged_lost: None,
        };
        let mut source = Input::open(&InputSource::Path(input.to_path_buf()), read)?;
        let (email_index, signup_index) = (source.email_index(), source.signup_index());
        decider.set_contacts(source.contacts());
        let mut batch = crate::read::Batch::default();
        let (mut rows, mut with_outcome) = (0u64, 0u64);
        loop {
            let more = source.read_batch(crate::read::BATCH_BYTES, &mut batch)?;
            let inputs: Vec<RowInput<'_>> = batch
                .rows()
                .map(|row| RowInput {
                    line: row.line,
                    email: row.text(email_index),
                    signup: signup_index.map(|i| row.text(i)),
                    row: Some(row),
                })
                .collect();
            let decided = decider.decide_batch(&inputs);
            for (RowInput { email, .. }, decided) in inputs.iter().zip(&decided) {
                let decision = &decided.decision;
                rows += 1;
                *result.actions.entry(decision.action.as_str()).or_default() += 1;
                if let Some(reason) = decision.reason {
                    *result.reasons.entry(reason.code()).or_default() += 1;
                }
                if let Some(outcome) = crate::normalize::key_of(email).and_then(|k| known.get(&k)) {
                    with_outcome += 1;
                    *result
                        .outcomes
                        .entry(*outcome)
                        .or_default()
                        .entry(decision.action.as_str())
                        .or_default() += 1;
                }
            }
            if !more {
                break;
            }
        }
        decider.finish_domains();
        result.bad_caught = share(
            &result.outcomes,
            |o| o.is_bad(),
            |a| a != Action::Keep.as_str(),
        );
        result.engaged_lost = share(
            &result.outcomes,
            |o| o == Outcome::Engaged,
            |a| a == Action::Suppress.as_str(),
        );
        if index == 0 {
            report.rows = rows;
            report.rows_with_outcome = with_outcome;
        }
        report.rule_sets.push(result);
    }
    Ok(report)
}

fn share(
    outcomes: &BTreeMap<Outcome, BTreeMap<&'static str, u64>>,
    which: impl Fn(Outcome) -> bool,
    counted: impl Fn(&str) -> bool,
) -> Option<f64> {
    let (mut hit, mut total) = (0u64, 0u64);
    for (_, actions) in outcomes.iter().filter(|(o, _)| which(**o)) {
        for (action, n) in actions {
            total += n;
            if counted(action) {
                hit += n;
            }
        }
    }
    (total > 0).then(|| hit as f64 / total as f64)
}

/// Reads `email,outcome` rows (header required; extra columns ignored).
fn load_outcomes(path: &Path) -> Result<HashMap<u128, Outcome>> {
    let fail = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let csv_error = |message: String| {
        let path = path.to_path_buf();
        move |source| Error::Csv {
            path,
            message,
            source,
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(csv_error(
            "cannot read the outcomes file; check the path given to --outcomes".into(),
        ))?;
    let header = reader
        .headers()
        .map_err(csv_error("cannot read the outcomes file's header".into()))?
        .clone();
    let names: Vec<&str> = header.iter().collect();
    let (Some(email), Some(outcome)) = (
        crate::columns::find_known(&names, &crate::columns::EMAIL),
        crate::columns::find_named(&names, "outcome"),
    ) else {
        return Err(fail("needs `email` and `outcome` columns (outcome: engaged, delivered, bounced, complained or trap)".into()));
    };
    let mut known = HashMap::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(csv_error(format!(
            "line {}: not a CSV record; fix or remove it",
            index + 2
        )))?;
        let (Some(address), Some(value)) = (record.get(email), record.get(outcome)) else {
            continue;
        };
        let Some(parsed) = Outcome::parse(value) else {
            return Err(fail(format!(
                "line {}: the outcome is not one listwash knows (use engaged, delivered, bounced, complained or trap)",
                index + 2
            )));
        };
        if let Some(key) = crate::normalize::key_of(address) {
            known.insert(key, parsed);
        }
    }
    Ok(known)
}
