//! The per-row decision shared by `clean`, `check` and `bench`: syntax, duplicates, lists, DNS
//! and engagement findings, then the [`RuleSet`]'s verdict.
//!
//! Consumes rows ([`RowInput`]: line, address cell, signup cell) in input order; produces one
//! [`Decided`] per row, carrying the row's line. [`Decider::decide_batch`] does it all in one
//! call. A pipeline that overlaps the stages uses the typed steps instead, each taking the
//! previous one's output, so none can be skipped:
//!
//! 1. [`Examiner::examine`] (any thread, no state): syntax, key, suppression lists, and the
//!    row's signup date, vendor status and consent cells (through the file's [`ContactPlan`]).
//! 2. [`Decider::register`] (in input order): duplicates, new domains, which go to the
//!    run's [`DomainSource`] at once → [`Registered`].
//! 3. [`Decider::decide`] / [`Decider::decide_on`]: the domains' answers, then the verdicts.
//!
//! Duplicates and domains are registered in input order, so the result does not depend on the
//! number of threads or on batch sizes. Never touches the network itself: DNS is one
//! [`DomainSource`].

mod contacts;
mod first_lines;
mod judge;
mod source;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use hashbrown::HashTable;
use rayon::prelude::*;

use self::contacts::ContactFacts;
pub use self::contacts::ContactStats;
use self::first_lines::FirstLines;
use self::judge::{Judge, Verdict};
pub use self::source::{DomainSource, DomainTable, NotChecked};
use crate::config::DecideConfig;
use crate::engagement::{self, Histogram, History};
use crate::error::Result;
use crate::normalize::{self, Normalized};
use crate::read::{ContactPlan, Row};
use crate::resolve::{DnsStats, DomainChecker, DomainInfo, WarnSink};
use crate::rules::{Decision, RuleSet};
use crate::suppress::SuppressionSet;
use crate::syntax::{self, SyntaxIssue};

/// The 128-bit key of a domain name in the decider's domain table (XXH3-128, like address
/// keys: the table compares keys, not names).
fn domain_key(name: &str) -> u128 {
    crate::normalize::key(name)
}

/// The keys of the rows with valid syntax (those the duplicate table holds).
fn valid_keys(rows: &[Examined]) -> impl Iterator<Item = u128> + '_ {
    rows.iter().filter(|r| r.syntax.is_ok()).map(|r| r.key)
}

/// One row's input to the decision.
#[derive(Debug, Clone, Copy)]
pub struct RowInput<'a> {
    /// The record's line in the input (carried to its [`Decided`]).
    pub line: u64,
    /// The address cell as written.
    pub email: &'a str,
    /// The signup date cell, if the input has one (read only without `row`).
    pub signup: Option<&'a str>,
    /// The whole row, when it comes from a contact file: its signup, vendor status and
    /// consent cells are read through the file's [`ContactPlan`] (see
    /// [`Decider::set_contacts`]).
    pub row: Option<Row<'a>>,
}

/// A row after [`Examiner::examine`]: what can be known of it alone. Cloned when several
/// deciders (`bench`'s rule sets) decide the same examined rows.
#[derive(Debug, Clone)]
pub struct Examined {
    line: u64,
    syntax: Result<Normalized, SyntaxIssue>,
    /// The mapped form of a compatibility form (`did you mean …?`), computed only for those.
    suggestion: Option<Box<str>>,
    /// The normalised address's 128-bit key (0 when the syntax is invalid).
    key: u128,
    /// The key of the normalised domain (0 when the syntax is invalid), computed here on a
    /// worker thread so that the sequential [`Decider::register`] does not.
    domain_key: u128,
    /// The domain's index in the decider's table, once registered.
    domain: Option<u32>,
    suppressed: Option<&'static str>,
    /// The address cell had padding at either end, trimmed before judging.
    padded: bool,
    /// The signup date and what the row's other cells say (with a [`ContactPlan`] and a row).
    contacts: ContactFacts,
    duplicate_of: Option<u64>,
}

/// Examined rows, in input order, with what the report counts of them: counted as they are
/// collected (on the worker thread that examines them), so that [`Decider::register`], on the
/// one thread that takes rows in order, only adds the counts up.
#[derive(Debug, Clone, Default)]
pub struct ExaminedRows {
    rows: Vec<Examined>,
    /// Rows whose signup cell could not be read as a date.
    unreadable_signup_dates: u64,
    /// Address cells with padding trimmed before judging.
    trimmed_values: u64,
    contacts: ContactStats,
}

impl ExaminedRows {
    /// Room for `rows` rows.
    pub fn with_capacity(rows: usize) -> ExaminedRows {
        ExaminedRows {
            rows: Vec::with_capacity(rows),
            ..ExaminedRows::default()
        }
    }

    /// Adds the next row.
    pub fn push(&mut self, row: Examined) {
        if row.contacts.unreadable_signup.is_some() {
            self.unreadable_signup_dates += 1;
        }
        if row.padded {
            self.trimmed_values += 1;
        }
        self.contacts.add(row.line, &row.contacts);
        self.rows.push(row);
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Returns true if and only if there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl FromIterator<Examined> for ExaminedRows {
    fn from_iter<I: IntoIterator<Item = Examined>>(rows: I) -> ExaminedRows {
        let mut all = ExaminedRows::default();
        for row in rows {
            all.push(row);
        }
        all
    }
}

impl From<Vec<Examined>> for ExaminedRows {
    fn from(rows: Vec<Examined>) -> ExaminedRows {
        rows.into_iter().collect()
    }
}

/// Rows registered in input order, ready to be decided once their domains are answered.
#[derive(Debug)]
pub struct Registered {
    rows: Vec<Examined>,
    /// The domain table's length after these rows were registered: every domain they need
    /// has an index below it.
    domains_upto: usize,
}

impl Registered {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Returns true if and only if there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One row's decision, with the line it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The row's line in the input.
    pub line: u64,
    /// Keep, review or suppress, the deciding reason and its evidence.
    pub decision: Decision,
}

/// The per-row checks that need no state of the run: syntax and normalisation, suppression
/// lists, signup dates. Cheap to clone; [`Examiner::examine`] runs on any thread.
#[derive(Clone)]
pub struct Examiner {
    suppression: Arc<SuppressionSet>,
    /// Signup dates matter only to engagement rules.
    signup_dates: bool,
    /// The contact file's columns beyond the address.
    contacts: Option<Arc<ContactPlan>>,
}

impl Examiner {
    /// Returns true if and only if rows' signup dates are used (with engagement history).
    pub fn reads_signup_dates(&self) -> bool {
        self.signup_dates
    }

    /// Checks one row.
    pub fn examine(&self, row: &RowInput<'_>) -> Examined {
        let syntax = syntax::check(row.email);
        let suggestion = match &syntax {
            Err(SyntaxIssue::CompatibilityForm) => {
                syntax::suggestion(row.email).map(String::into_boxed_str)
            }
            _ => None,
        };
        let suppressed = match &syntax {
            Ok(n) if !self.suppression.is_empty() => self.suppression.matches(row.email, n),
            _ => None,
        };
        let key = syntax.as_ref().map_or(0, Normalized::key);
        let domain_key = syntax.as_ref().map_or(0, |n| domain_key(n.domain()));
        let contacts = match (&self.contacts, &row.row) {
            (Some(plan), Some(cells)) => ContactFacts::read(plan, cells),
            _ => {
                let signup = row
                    .signup
                    .filter(|_| self.signup_dates)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|text| {
                        engagement::parse_date(text).and_then(crate::dates::Day::from_date)
                    });
                ContactFacts {
                    signup: signup.flatten(),
                    unreadable_signup: signup.is_some_and(|d| d.is_none()).then_some(u32::MAX),
                    ..ContactFacts::default()
                }
            }
        };
        Examined {
            line: row.line,
            syntax,
            suggestion,
            key,
            domain_key,
            domain: None,
            suppressed,
            padded: normalize::is_padded(row.email),
            contacts,
            duplicate_of: None,
        }
    }
}

/// Facts about a domain that need no DNS.
#[derive(Debug, Clone, Default)]
struct ListFacts {
    disposable: Option<String>,
    typo: Option<String>,
}

/// What is known about one domain: list facts at once, DNS once answered.
#[derive(Debug)]
struct DomainEntry {
    name: Box<str>,
    lists: ListFacts,
    dns: Option<Arc<DomainInfo>>,
}

/// A domain in the decider's index: its key, its index in the judge's table, and its rows
/// (valid, first occurrences), counted here where the row's look-up just brought the slot into
/// cache.
#[derive(Debug, Clone, Copy)]
struct DomainSlot {
    key: u128,
    rows: u64,
    id: u32,
}

/// Counts the decision stage gathers for `report.json`.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DecideStats {
    /// Rows per deciding reason (review and suppressed rows).
    pub reasons: BTreeMap<&'static str, u64>,
    /// Rows where each reason applied at all, deciding or not.
    pub reasons_applied: BTreeMap<&'static str, u64>,
    /// Rows per recognised mailbox provider.
    pub providers: BTreeMap<&'static str, u64>,
    /// Distinct domains per DNS status.
    pub domains_by_status: BTreeMap<&'static str, u64>,
    /// Distinct domains of valid, non-duplicate rows.
    pub unique_domains: u64,
    /// Days since the last human open or click (rows with engagement history given).
    pub days_since_engagement: Histogram,
    /// Rows whose signup cell could not be read as a date.
    pub unreadable_signup_dates: u64,
    /// Rows per set of applied reasons and whether the row was kept: bit `i` of the key is
    /// `Reason::ALL[i]`. The report derives list health from it. See: #12 part 1.
    #[serde(skip)]
    pub reason_sets: BTreeMap<(u64, bool), u64>,
    /// Time spent waiting for domain answers (DNS), in nanoseconds.
    #[serde(skip)]
    pub domain_wait_ns: u64,
    /// Address cells with padding trimmed before judging ([`crate::normalize::is_padded`]).
    pub trimmed_values: u64,
    /// Signup dates, consent evidence and vendor status decisions, per column.
    #[serde(skip)]
    pub contacts: ContactStats,
}

/// Where verdicts are computed.
enum Workers<'p> {
    /// On the calling thread.
    Here,
    /// On rayon's current pool.
    Rayon,
    /// On this pool.
    Pool(&'p rayon::ThreadPool),
}

/// The decision state of a run: everything that spans batches.
pub struct Decider {
    judge: Judge,
    examiner: Examiner,
    source: Box<dyn DomainSource>,
    /// First line of every distinct address, keyed by its 128-bit key (20 bytes an address).
    seen: FirstLines,
    /// Indexes into the judge's domains, by [`domain_key`] of the name, with their rows.
    domain_index: HashTable<DomainSlot>,
    /// Domains below this index have their answers.
    answered: usize,
    stats: DecideStats,
}

impl Decider {
    /// A decider over these rules, lists and history, with domain answers from `domains`.
    pub fn new(
        rules: Arc<RuleSet>,
        suppression: SuppressionSet,
        history: History,
        as_of: NaiveDate,
        domains: Box<dyn DomainSource>,
    ) -> Decider {
        Decider::shared(
            rules,
            Arc::new(suppression),
            Arc::new(history),
            as_of,
            domains,
        )
    }

    /// [`Decider::new`] over lists and history that other deciders share (`bench`'s rule
    /// sets decide one pass with one copy of each).
    pub fn shared(
        rules: Arc<RuleSet>,
        suppression: Arc<SuppressionSet>,
        history: Arc<History>,
        as_of: NaiveDate,
        domains: Box<dyn DomainSource>,
    ) -> Decider {
        Decider {
            examiner: Examiner {
                suppression,
                signup_dates: !history.is_empty(),
                contacts: None,
            },
            judge: Judge {
                rules,
                history,
                as_of,
                domains: Vec::new(),
                no_answer: Arc::new(DomainInfo::unknown("no DNS answer".into())),
            },
            source: domains,
            seen: FirstLines::default(),
            domain_index: HashTable::new(),
            answered: 0,
            stats: DecideStats::default(),
        }
    }

    /// Loads what every decision needs from a run's settings: suppression lists, engagement
    /// history, and the domain source (the DNS checker, or [`NotChecked`] for `--no-dns`).
    ///
    /// # Errors
    /// When a list or log cannot be read, or DNS cannot be set up.
    pub fn load(config: &DecideConfig, warn: WarnSink) -> Result<Decider> {
        let suppression = SuppressionSet::load(&config.suppress)?;
        let history = if !config.profiles.is_empty() {
            // See: #14 part 4: profiles computed beforehand stand for the logs.
            let history = crate::profile::load_history(
                &config.profiles,
                config.as_of,
                &config.rules.engagement,
            )?;
            for warning in &history.stats().warnings {
                warn(warning);
            }
            history
        } else if config.engagement.is_empty() {
            History::empty()
        } else {
            // See: #11: events after --as-of are ignored; warnings about the logs printed.
            let options = engagement::EventOptions {
                as_of: Some(config.as_of),
                ..config.events.clone()
            };
            let history =
                History::load_with(&config.engagement, &config.rules.engagement, &options)?;
            for warning in &history.stats().warnings {
                warn(warning);
            }
            history
        };
        let domains: Box<dyn DomainSource> = match &config.dns {
            Some(options) => Box::new(DomainChecker::new(options, &config.rules.dns, warn)?),
            None => Box::new(NotChecked::default()),
        };
        Ok(Decider::new(
            config.rules.clone(),
            suppression,
            history,
            config.as_of,
            domains,
        ))
    }

    /// Makes room for this many distinct addresses at once, so that the duplicate set does
    /// not hold its old and new tables together while it grows (the peak of memory).
    pub fn reserve(&mut self, addresses: usize) {
        self.seen.reserve(addresses);
    }

    /// Reads contact rows' signup, vendor status and consent cells with `plan` (rows given
    /// with [`RowInput::row`]); call before [`Decider::examiner`].
    pub fn set_contacts(&mut self, plan: Arc<ContactPlan>) {
        self.examiner.contacts = Some(plan);
    }

    /// The `contacts` section of `report.json`.
    pub fn contacts_report(&self) -> crate::report::ContactsReport {
        let plan = self.examiner.contacts.clone().unwrap_or_default();
        self.stats.contacts.report(&plan)
    }

    /// The suppression lists (for the report).
    pub fn suppression(&self) -> &SuppressionSet {
        &self.examiner.suppression
    }

    /// The engagement history (for the report).
    pub fn history(&self) -> &History {
        &self.judge.history
    }

    /// Rows (valid, first occurrences) per registered domain, in registration order.
    pub fn domain_rows(&self) -> Vec<(&str, u64)> {
        let mut rows = self
            .judge
            .domains
            .iter()
            .map(|d| (&*d.name, 0))
            .collect::<Vec<_>>();
        for slot in &self.domain_index {
            if let Some(entry) = rows.get_mut(slot.id as usize) {
                entry.1 = slot.rows;
            }
        }
        rows
    }

    /// Returns true if and only if domain answers may take a while (DNS), so that a pipeline
    /// should register rows ahead of deciding them.
    pub fn answers_are_slow(&self) -> bool {
        self.source.is_slow()
    }

    /// Makes DNS waits give up once `flag` is set (a signal); see [`DomainSource::cancel_on`].
    pub fn cancel_on(&mut self, flag: Arc<std::sync::atomic::AtomicBool>) {
        self.source.cancel_on(flag);
    }

    /// The stateless first step, to run on any thread.
    pub fn examiner(&self) -> Examiner {
        self.examiner.clone()
    }

    /// Decides rows in one call: examines them (in parallel), registers them, gets their
    /// domains' answers and decides them. Returns one [`Decided`] per row, in order.
    pub fn decide_batch(&mut self, rows: &[RowInput<'_>]) -> Vec<Decided> {
        let examiner = &self.examiner;
        let examined: Vec<Examined> = rows.par_iter().map(|r| examiner.examine(r)).collect();
        let examined = ExaminedRows::from(examined);
        let registered = self.register(examined);
        self.decide_with(registered, Workers::Rayon)
    }

    /// Marks duplicates and notes new domains, in input order: the sequential step after
    /// [`Examiner::examine`]. New domains go to the domain source at once, so that their
    /// answers can be found while more rows are read.
    pub fn register(&mut self, examined: ExaminedRows) -> Registered {
        /// Rows whose duplicate-table slots are loaded together ([`FirstLines::warm`]).
        const GROUP: usize = 16;
        let first_new = self.judge.domains.len();
        let ExaminedRows {
            mut rows,
            unreadable_signup_dates,
            trimmed_values,
            contacts,
        } = examined;
        self.stats.unreadable_signup_dates += unreadable_signup_dates;
        self.stats.trimmed_values += trimmed_values;
        self.stats.contacts.merge(contacts);
        let len = rows.len();
        let group = |start: usize| start.min(len)..(start + GROUP).min(len);
        let mut warmed = self.seen.warm(valid_keys(&rows[group(0)]));
        for start in (0..rows.len()).step_by(GROUP) {
            // The next group's slots load while this group is looked up.
            warmed = warmed.wrapping_add(self.seen.warm(valid_keys(&rows[group(start + GROUP)])));
            for row in &mut rows[group(start)] {
                self.register_row(row);
            }
        }
        std::hint::black_box(warmed);
        // Few (a new domain is rare after the first batches), so on this thread.
        let lists = &self.judge.rules.lists;
        let new = &mut self.judge.domains[first_new..];
        for entry in new.iter_mut() {
            entry.lists = ListFacts {
                disposable: lists.disposable_match(&entry.name).map(String::from),
                typo: lists.typo_suggestion(&entry.name).map(String::from),
            };
        }
        if !new.is_empty() {
            let names: Vec<&str> = new.iter().map(|d| &*d.name).collect();
            self.source.submit(&names);
        }
        Registered {
            rows,
            domains_upto: self.judge.domains.len(),
        }
    }

    /// Registers one row: marks it a duplicate or notes its domain.
    fn register_row(&mut self, row: &mut Examined) {
        let Ok(normalized) = &row.syntax else {
            return;
        };
        match self.seen.first_or_insert(row.key, row.line) {
            Some(first) => row.duplicate_of = Some(first),
            None => row.domain = Some(self.first_of_domain(normalized.domain(), row.domain_key)),
        }
    }

    /// The index of `name` (whose key is `key`) in the domain table, added if new; counts a
    /// row (a first occurrence) for it.
    fn first_of_domain(&mut self, name: &str, key: u128) -> u32 {
        let hash = key as u64;
        if let Some(slot) = self.domain_index.find_mut(hash, |slot| slot.key == key) {
            slot.rows += 1;
            return slot.id;
        }
        let id = u32::try_from(self.judge.domains.len()).unwrap_or(u32::MAX);
        self.judge.domains.push(DomainEntry {
            name: name.into(),
            lists: ListFacts::default(),
            dns: None,
        });
        self.domain_index
            .insert_unique(hash, DomainSlot { key, rows: 1, id }, |slot| {
                slot.key as u64
            });
        id
    }

    /// Gets the answers for every domain registered so far up to `upto` (waiting for DNS if
    /// need be).
    fn answer_upto(&mut self, upto: usize) {
        if self.answered >= upto {
            return;
        }
        let pending = &self.judge.domains[self.answered..upto];
        let names: Vec<&str> = pending.iter().map(|d| &*d.name).collect();
        let waiting = std::time::Instant::now();
        let answers = self.source.answers(&names);
        self.stats.domain_wait_ns += waiting.elapsed().as_nanos() as u64;
        for (entry, info) in self.judge.domains[self.answered..upto]
            .iter_mut()
            .zip(answers)
        {
            *self
                .stats
                .domains_by_status
                .entry(info.status.as_str())
                .or_default() += 1;
            self.stats.unique_domains += 1;
            entry.dns = Some(info);
        }
        self.answered = upto;
    }

    /// Decides registered rows on this thread, after getting their domains' answers.
    pub fn decide(&mut self, rows: Registered) -> Vec<Decided> {
        self.decide_with(rows, Workers::Here)
    }

    /// As [`Decider::decide`], with the verdicts on `pool` when they are worth it: with
    /// engagement history a row's verdict looks up and evaluates a profile; without, it is a
    /// few hundred nanoseconds, cheaper here than queued behind the pool's other work.
    /// Domain answers are waited for on this thread, never on the pool.
    pub fn decide_on(&mut self, rows: Registered, pool: &rayon::ThreadPool) -> Vec<Decided> {
        let workers = if self.judge.history.is_empty() {
            Workers::Here
        } else {
            Workers::Pool(pool)
        };
        self.decide_with(rows, workers)
    }

    fn decide_with(&mut self, rows: Registered, workers: Workers<'_>) -> Vec<Decided> {
        self.answer_upto(rows.domains_upto);
        let judge = &self.judge;
        let verdicts: Vec<Verdict> = match workers {
            Workers::Here => rows.rows.iter().map(|r| judge.verdict(r)).collect(),
            Workers::Rayon => rows.rows.par_iter().map(|r| judge.verdict(r)).collect(),
            Workers::Pool(pool) => {
                pool.install(|| rows.rows.par_iter().map(|r| judge.verdict(r)).collect())
            }
        };
        self.tally(verdicts)
    }

    /// Counts the verdicts for the report; returns their decisions.
    ///
    /// This runs on the one thread that decides rows in order, so per row it only bumps
    /// counters in plain arrays (a reason's discriminant is its index in [`Reason::ALL`]) and
    /// a small hash map; the report's maps are updated once per batch.
    fn tally(&mut self, verdicts: Vec<Verdict>) -> Vec<Decided> {
        use crate::reason::Reason;
        const REASONS: usize = Reason::ALL.len();
        let mut deciding = [0u64; REASONS];
        let mut applied = [0u64; REASONS];
        let mut sets: rustc_hash::FxHashMap<(u64, bool), u64> = rustc_hash::FxHashMap::default();
        let mut out = Vec::with_capacity(verdicts.len());
        for verdict in verdicts {
            if let Some(reason) = verdict.decision.reason {
                deciding[reason as usize % REASONS] += 1;
            }
            let mut set = 0u64;
            for reason in verdict.applied {
                applied[reason as usize % REASONS] += 1;
                set |= 1 << (reason as u64 % 64);
            }
            let kept = verdict.decision.action == crate::reason::Action::Keep;
            *sets.entry((set, kept)).or_default() += 1;
            if let Some(p) = verdict.provider {
                *self.stats.providers.entry(p).or_default() += 1;
            }
            if let Some(days) = verdict.days {
                self.stats.days_since_engagement.add(days);
            }
            if let Some((column, reason)) = verdict.decided_by_status {
                self.stats.contacts.decided(column, reason);
            }
            out.push(Decided {
                line: verdict.line,
                decision: verdict.decision,
            });
        }
        for (i, reason) in Reason::ALL.iter().enumerate() {
            if deciding[i] > 0 {
                *self.stats.reasons.entry(reason.code()).or_default() += deciding[i];
            }
            if applied[i] > 0 {
                *self.stats.reasons_applied.entry(reason.code()).or_default() += applied[i];
            }
        }
        for (key, n) in sets {
            *self.stats.reason_sets.entry(key).or_default() += n;
        }
        out
    }

    /// The counts gathered so far.
    pub fn stats(&self) -> &DecideStats {
        &self.stats
    }

    /// Ends the run's domain lookups (waiting for those still in flight and writing the
    /// cache). Returns the DNS statistics when DNS was asked.
    pub fn finish_domains(&mut self) -> Option<DnsStats> {
        let source = std::mem::replace(&mut self.source, Box::new(NotChecked::default()));
        source.finish()
    }
}

#[cfg(test)]
mod tests;
