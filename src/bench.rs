//! `listwash bench`: the same list decided under several rule sets in one pass, side by
//! side, with overlaps between them and, given known outcomes of a later send
//! ([`outcomes`]), how well each rule set caught the bad addresses and kept the engaged ones.
//! Writes no outputs. See: #12 part 4.
//!
//! One pass: the input is read, parsed and examined (syntax, key, suppression lists) once; the
//! suppression lists and the engagement history are loaded once and shared; DNS is asked once
//! per domain (the first rule set's lookups are replayed to the others when their `[dns]`
//! sections are the same). Each rule set has its own [`Decider`] over the same examined rows.

pub mod outcomes;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

use serde::Serialize;

pub use self::outcomes::Outcome;
use self::outcomes::{OutcomeActions, Outcomes, Scores};
use crate::config::DecideConfig;
use crate::decide::{Decided, Decider, DomainSource, ExaminedRows, NotChecked, RowInput};
use crate::engagement::History;
use crate::error::{Error, Result};
use crate::read::{Batch, Input, InputSource, ReadOptions};
use crate::reason::Action;
use crate::resolve::{DnsStats, DomainChecker, DomainInfo, WarnSink};
use crate::suppress::SuppressionSet;

/// Rows that may wait for DNS answers before the oldest batch must be decided.
const DNS_WINDOW_ROWS: usize = 200_000;

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
    pub outcomes: OutcomeActions,
    /// Share of bad outcomes (bounce, complaint, trap) not kept.
    pub bad_caught: Option<f64>,
    /// Share of engaged addresses suppressed (good contacts lost).
    pub engaged_lost: Option<f64>,
    /// Precision and recall per bad outcome, engaged contacts suppressed (with `--outcomes`).
    pub scores: Option<Scores>,
}

/// Rows suppressed by one rule set and kept by another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overlap {
    /// The rule set that suppressed them.
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub suppressed_by: PathBuf,
    /// The rule set that kept them.
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub kept_by: PathBuf,
    /// How many rows.
    pub rows: u64,
}

/// What the outcomes file held.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OutcomesFile {
    /// Data rows read.
    pub rows: u64,
    /// Rows whose outcome value is not one listwash knows (skipped).
    pub unknown_values: u64,
    /// The first such rows' line numbers.
    pub unknown_lines: Vec<u64>,
    /// Rows whose address is not a valid address (cannot match a row).
    pub unmatched_addresses: u64,
}

/// The whole comparison (`bench.json`).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Records read (rejected ones are not decided).
    pub rows: u64,
    /// Rows whose address has a known outcome.
    pub rows_with_outcome: u64,
    /// One entry per `--rules`, in order.
    pub rule_sets: Vec<RuleSetResult>,
    /// For every ordered pair of rule sets, rows suppressed by the first and kept by the
    /// second.
    pub overlaps: Vec<Overlap>,
    /// The outcomes file, with `--outcomes`.
    pub outcomes_file: Option<OutcomesFile>,
}

/// Decides `input` under each of `configs` (one per rules file) in one pass.
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
    let known = outcomes.map(Outcomes::load).transpose()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .panic_handler(|_| {})
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the worker threads: {e}")))?;
    let mut deciders = pool.install(|| load_deciders(configs, &warn))?;
    let mut tally = Tally::new(configs.len());
    let mut source = Input::open(&InputSource::Path(input.to_path_buf()), read)?;
    let (email_index, shape) = (source.email_index(), source.shape());
    // The contact file's vendor status, consent and signup columns, read as `clean` does.
    let contacts = source.contacts();
    for decider in deciders.iter_mut() {
        decider.set_contacts(contacts.clone());
    }
    let Some(examiner) = deciders.first().map(Decider::examiner) else {
        return Err(Error::Internal(
            "bench needs at least one rules file".into(),
        ));
    };
    let with_keys = known.is_some();
    let parse_ahead = (2 * pool.current_num_threads()).clamp(2, 16);
    let (batch_tx, batch_rx) = sync_channel::<Result<Batch>>(parse_ahead);
    let reader = std::thread::Builder::new()
        .name("listwash-read".into())
        .spawn(move || {
            loop {
                let mut batch = Batch::default();
                match source.read_chunk(crate::read::BATCH_BYTES, &mut batch) {
                    Ok(more) => {
                        if (batch.text_len() > 0 && batch_tx.send(Ok(batch)).is_err()) || !more {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = batch_tx.send(Err(e));
                        return;
                    }
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the reader thread: {e}")))?;
    type Parsed = (ExaminedRows, Vec<Option<u128>>);
    let mut parsing: VecDeque<Receiver<Parsed>> = VecDeque::new();
    let mut pending: VecDeque<(Vec<crate::decide::Registered>, Vec<Option<u128>>)> =
        VecDeque::new();
    let (mut pending_rows, mut reading) = (0usize, true);
    while reading || !parsing.is_empty() || !pending.is_empty() {
        while reading && parsing.len() < parse_ahead {
            match batch_rx.recv() {
                Ok(Ok(mut batch)) => {
                    let (tx, rx) = sync_channel(1);
                    let examiner = examiner.clone();
                    pool.spawn(move || {
                        batch.parse(&shape);
                        let mut examined = ExaminedRows::with_capacity(batch.len());
                        let mut keys = Vec::new();
                        for row in batch.rows() {
                            let email = row.text(email_index);
                            examined.push(examiner.examine(&RowInput {
                                line: row.line,
                                email,
                                // Read from the row by the contact plan.
                                signup: None,
                                row: Some(row),
                            }));
                            if with_keys {
                                keys.push(crate::normalize::key_of(email));
                            }
                        }
                        let _ = tx.send((examined, keys));
                    });
                    parsing.push_back(rx);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => reading = false,
            }
        }
        if let Some(next) = parsing.pop_front() {
            let (examined, keys) = next
                .recv()
                .map_err(|_| Error::Internal("a worker thread panicked".into()))?;
            pending_rows += examined.len();
            let mut registered = Vec::with_capacity(deciders.len());
            for decider in deciders.iter_mut().skip(1) {
                registered.push(decider.register(examined.clone()));
            }
            if let Some(first) = deciders.first_mut() {
                registered.insert(0, first.register(examined));
            }
            pending.push_back((registered, keys));
        }
        let more_coming = reading || !parsing.is_empty();
        let slow = deciders.first().is_some_and(Decider::answers_are_slow);
        while !pending.is_empty() && (!more_coming || !slow || pending_rows > DNS_WINDOW_ROWS) {
            let Some((registered, keys)) = pending.pop_front() else {
                break;
            };
            pending_rows -= registered.first().map_or(0, |r| r.len());
            // The first rule set first: its domain answers are replayed to the others.
            let decided: Vec<Vec<Decided>> = deciders
                .iter_mut()
                .zip(registered)
                .map(|(decider, rows)| decider.decide_on(rows, &pool))
                .collect();
            tally.add(&decided, &keys, known.as_ref());
        }
    }
    let _ = reader.join();
    for decider in &mut deciders {
        decider.finish_domains();
    }
    Ok(tally.report(configs, known.as_ref()))
}

/// One decider per rule set, sharing what can be shared (see the module docs).
fn load_deciders(configs: &[(PathBuf, DecideConfig)], warn: &WarnSink) -> Result<Vec<Decider>> {
    let Some((_, first)) = configs.first() else {
        return Ok(Vec::new());
    };
    let suppression = Arc::new(SuppressionSet::load(&first.suppress)?);
    let answers: Answers = Arc::default();
    // Loading the logs depends on one setting only; one history per distinct value.
    let mut histories: Vec<(u32, Arc<History>)> = Vec::new();
    let mut deciders = Vec::with_capacity(configs.len());
    for (index, (_, config)) in configs.iter().enumerate() {
        let engagement = &config.rules.engagement;
        let history = if config.engagement.is_empty() {
            Arc::new(History::empty())
        } else if let Some((_, h)) = histories
            .iter()
            .find(|(s, _)| *s == engagement.scanner_click_seconds)
        {
            h.clone()
        } else {
            let h = Arc::new(History::load(&config.engagement, engagement)?);
            histories.push((engagement.scanner_click_seconds, h.clone()));
            h
        };
        let own = || -> Result<Box<dyn DomainSource>> {
            Ok(match &config.dns {
                Some(options) => Box::new(DomainChecker::new(
                    options,
                    &config.rules.dns,
                    warn.clone(),
                )?),
                None => Box::new(NotChecked::default()),
            })
        };
        let source: Box<dyn DomainSource> = if index == 0 {
            Box::new(Recording {
                inner: own()?,
                answers: answers.clone(),
            })
        } else if config.rules.dns == first.rules.dns {
            Box::new(Replay {
                answers: answers.clone(),
            })
        } else {
            own()?
        };
        deciders.push(Decider::shared(
            config.rules.clone(),
            suppression.clone(),
            history,
            config.as_of,
            source,
        ));
    }
    Ok(deciders)
}

/// Domain answers the first rule set got, for the others.
type Answers = Arc<Mutex<HashMap<Box<str>, Arc<DomainInfo>>>>;

/// The first rule set's domain source, keeping every answer it gives.
struct Recording {
    inner: Box<dyn DomainSource>,
    answers: Answers,
}

impl DomainSource for Recording {
    fn submit(&mut self, domains: &[&str]) {
        self.inner.submit(domains);
    }

    fn answers(&mut self, domains: &[&str]) -> Vec<Arc<DomainInfo>> {
        let answers = self.inner.answers(domains);
        if let Ok(mut kept) = self.answers.lock() {
            for (name, info) in domains.iter().zip(&answers) {
                kept.insert((*name).into(), info.clone());
            }
        }
        answers
    }

    fn is_slow(&self) -> bool {
        self.inner.is_slow()
    }

    fn finish(self: Box<Self>) -> Option<DnsStats> {
        self.inner.finish()
    }
}

/// Another rule set's domain source: the first one's answers (it decides every batch first).
struct Replay {
    answers: Answers,
}

impl DomainSource for Replay {
    fn submit(&mut self, _domains: &[&str]) {}

    fn answers(&mut self, domains: &[&str]) -> Vec<Arc<DomainInfo>> {
        let kept = self.answers.lock().ok();
        domains
            .iter()
            .map(|name| {
                kept.as_ref()
                    .and_then(|k| k.get(*name).cloned())
                    .unwrap_or_else(|| Arc::new(DomainInfo::unknown("no DNS answer".into())))
            })
            .collect()
    }

    fn finish(self: Box<Self>) -> Option<DnsStats> {
        None
    }
}

/// Counts over the rule sets' decisions.
struct Tally {
    rows: u64,
    with_outcome: u64,
    actions: Vec<BTreeMap<&'static str, u64>>,
    reasons: Vec<BTreeMap<&'static str, u64>>,
    outcomes: Vec<OutcomeActions>,
    /// `suppressed_kept[i][j]`: rows suppressed by rule set i and kept by rule set j.
    suppressed_kept: Vec<Vec<u64>>,
}

impl Tally {
    fn new(sets: usize) -> Tally {
        Tally {
            rows: 0,
            with_outcome: 0,
            actions: vec![BTreeMap::new(); sets],
            reasons: vec![BTreeMap::new(); sets],
            outcomes: vec![BTreeMap::new(); sets],
            suppressed_kept: vec![vec![0; sets]; sets],
        }
    }

    /// Counts one batch: `decided[i]` is rule set i's decisions, `keys` the rows' address keys
    /// (empty without outcomes).
    fn add(&mut self, decided: &[Vec<Decided>], keys: &[Option<u128>], known: Option<&Outcomes>) {
        let rows = decided.first().map_or(0, Vec::len);
        let mut actions = vec![Action::Keep; decided.len()];
        for row in 0..rows {
            self.rows += 1;
            let outcome = known
                .zip(keys.get(row).copied().flatten())
                .and_then(|(k, key)| k.known.get(&key).copied());
            if outcome.is_some() {
                self.with_outcome += 1;
            }
            for (set, decisions) in decided.iter().enumerate() {
                let Some(d) = decisions.get(row) else {
                    continue;
                };
                let action = d.decision.action;
                actions[set] = action;
                *self.actions[set].entry(action.as_str()).or_default() += 1;
                if let Some(reason) = d.decision.reason {
                    *self.reasons[set].entry(reason.code()).or_default() += 1;
                }
                if let Some(o) = outcome {
                    *self.outcomes[set]
                        .entry(o)
                        .or_default()
                        .entry(action.as_str())
                        .or_default() += 1;
                }
            }
            for (i, a) in actions.iter().enumerate() {
                if *a != Action::Suppress {
                    continue;
                }
                for (j, b) in actions.iter().enumerate() {
                    if *b == Action::Keep {
                        self.suppressed_kept[i][j] += 1;
                    }
                }
            }
        }
    }

    fn report(self, configs: &[(PathBuf, DecideConfig)], known: Option<&Outcomes>) -> BenchReport {
        let paths: Vec<&PathBuf> = configs.iter().map(|(p, _)| p).collect();
        let mut overlaps = Vec::new();
        for (i, row) in self.suppressed_kept.iter().enumerate() {
            for (j, rows) in row.iter().enumerate() {
                if i != j {
                    overlaps.push(Overlap {
                        suppressed_by: paths[i].clone(),
                        kept_by: paths[j].clone(),
                        rows: *rows,
                    });
                }
            }
        }
        let rule_sets = paths
            .iter()
            .zip(self.actions)
            .zip(self.reasons)
            .zip(self.outcomes)
            .map(|(((path, actions), reasons), outcomes)| RuleSetResult {
                rules: (*path).clone(),
                actions,
                reasons,
                bad_caught: share(&outcomes, Outcome::is_bad, |a| a != Action::Keep.as_str()),
                engaged_lost: share(
                    &outcomes,
                    |o| o == Outcome::Engaged,
                    |a| a == Action::Suppress.as_str(),
                ),
                scores: known.map(|_| outcomes::score(&outcomes)),
                outcomes,
            })
            .collect();
        BenchReport {
            rows: self.rows,
            rows_with_outcome: self.with_outcome,
            rule_sets,
            overlaps,
            outcomes_file: known.map(|k| OutcomesFile {
                rows: k.rows,
                unknown_values: k.unknown_values,
                unknown_lines: k.unknown_lines.clone(),
                unmatched_addresses: k.unmatched_addresses,
            }),
        }
    }
}

fn share(
    outcomes: &OutcomeActions,
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
