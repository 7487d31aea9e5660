//! The per-row decision shared by `clean` and `check`: syntax, duplicates, lists, DNS and
//! engagement findings, then the [`RuleSet`]'s verdict.
//!
//! Consumes address strings (and signup dates) in input order; produces one [`Decision`] per
//! row. Rows are prepared in parallel, duplicates and new domains are handled in input order,
//! so the result does not depend on the number of threads.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use chrono::NaiveDate;
use hashbrown::HashTable;
use rayon::prelude::*;

use crate::engagement::{self, Context, Histogram, History};
use crate::normalize::Normalized;
use crate::reason::{Finding, Reason};
use crate::resolve::{DomainInfo, DomainStatus};
use crate::rules::{Decision, RuleSet};
use crate::suppress::SuppressionSet;
use crate::syntax::{self, SyntaxIssue};

/// A hasher for keys that are already uniformly distributed hashes (XXH3 output).
#[derive(Default)]
pub(crate) struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(buf);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

type Prehashed = BuildHasherDefault<PrehashedHasher>;

/// The hash of a domain name in the decider's domain table.
fn domain_hash(name: &str) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(name)
}

/// One row's input to the decision.
#[derive(Debug, Clone, Copy)]
pub struct RowInput<'a> {
    /// The record's line in the input (for duplicate evidence).
    pub line: u64,
    /// The address cell as written.
    pub email: &'a str,
    /// The signup date cell, if the input has one.
    pub signup: Option<&'a str>,
}

/// A row after the parallel stage.
#[derive(Debug)]
pub struct Prepared {
    line: u64,
    syntax: Result<Normalized, SyntaxIssue>,
    /// The normalised address's 128-bit key (0 when the syntax is invalid).
    key: u128,
    /// The hash of the normalised domain (0 when the syntax is invalid), computed here on a
    /// worker thread so that the sequential [`Decider::register`] does not.
    domain_hash: u64,
    /// The domain's index in the decider's table, once registered.
    domain: Option<u32>,
    suppressed: Option<&'static str>,
    signup: Option<NaiveDate>,
    signup_unreadable: bool,
    duplicate_of: Option<u64>,
}

impl Prepared {
    /// The normalised domain, for rows that passed syntax and are not duplicates.
    pub fn domain(&self) -> Option<&str> {
        match (&self.syntax, self.duplicate_of) {
            (Ok(n), None) => Some(n.domain()),
            _ => None,
        }
    }
}

/// The per-row checks that need no state of the run: syntax and normalisation, suppression
/// lists, signup dates. Cheap to clone; [`Examiner::examine`] runs on any thread.
#[derive(Clone)]
pub struct Examiner {
    suppression: Arc<SuppressionSet>,
    /// Signup dates matter only to engagement rules.
    signup_dates: bool,
}

impl Examiner {
    /// Returns true if and only if rows' signup dates are used (with engagement history).
    pub fn reads_signup_dates(&self) -> bool {
        self.signup_dates
    }

    /// Checks one row.
    pub fn examine(&self, row: &RowInput<'_>) -> Prepared {
        let syntax = syntax::check(row.email);
        let suppressed = match &syntax {
            Ok(n) if !self.suppression.is_empty() => self.suppression.matches(row.email, n),
            _ => None,
        };
        let key = syntax.as_ref().map_or(0, Normalized::key);
        let domain_hash = syntax.as_ref().map_or(0, |n| domain_hash(n.domain()));
        let signup = row
            .signup
            .filter(|_| self.signup_dates)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(engagement::parse_date);
        Prepared {
            line: row.line,
            syntax,
            key,
            domain_hash,
            domain: None,
            suppressed,
            signup: signup.flatten(),
            signup_unreadable: signup.is_some_and(|d| d.is_none()),
            duplicate_of: None,
        }
    }
}

/// Facts about a domain that need no DNS.
#[derive(Debug, Clone)]
struct ListFacts {
    disposable: Option<String>,
    typo: Option<String>,
}

/// One row's decision plus what the report counts about it.
struct RowVerdict {
    decision: Decision,
    provider: Option<&'static str>,
    /// `Some` when engagement history was given: days since the last human engagement.
    days: Option<Option<i64>>,
    applied: Vec<Reason>,
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
    /// Rows whose signup cell could not be read as a date (read only with engagement history).
    pub unreadable_signup_dates: u64,
}

/// The decision state of a run: everything that spans batches.
pub struct Decider {
    rules: Arc<RuleSet>,
    suppression: Arc<SuppressionSet>,
    history: History,
    as_of: NaiveDate,
    /// First line of every distinct address, keyed by its 128-bit key (20 bytes an address).
    seen: HashMap<[u32; 4], u32, Prehashed>,
    /// Every domain seen, in first-seen order; rows point at them by index.
    domains: Vec<DomainEntry>,
    /// Indexes into `domains`, by [`domain_hash`] of the name.
    domain_index: HashTable<u32>,
    stats: DecideStats,
}

/// What is known about one domain: list facts at once, DNS once answered.
#[derive(Debug)]
struct DomainEntry {
    name: Box<str>,
    lists: ListFacts,
    dns: Option<Arc<DomainInfo>>,
}

impl Decider {
    /// A decider over these rules, lists and history.
    pub fn new(
        rules: Arc<RuleSet>,
        suppression: SuppressionSet,
        history: History,
        as_of: NaiveDate,
    ) -> Decider {
        Decider {
            rules,
            suppression: Arc::new(suppression),
            history,
            as_of,
            seen: HashMap::default(),
            domains: Vec::new(),
            domain_index: HashTable::new(),
            stats: DecideStats::default(),
        }
    }

    /// Makes room for this many distinct addresses at once, so that the duplicate set does
    /// not hold its old and new tables together while it grows (the peak of memory).
    pub fn reserve(&mut self, addresses: usize) {
        self.seen.reserve(addresses.saturating_sub(self.seen.len()));
    }

    /// The suppression lists (for the report).
    pub fn suppression(&self) -> &SuppressionSet {
        &self.suppression
    }

    /// The engagement history (for the report).
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The stateless part of preparing rows, to run on any thread.
    pub fn examiner(&self) -> Examiner {
        Examiner {
            suppression: self.suppression.clone(),
            signup_dates: !self.history.is_empty(),
        }
    }

    /// Syntax, suppression lists and signup dates in parallel; then duplicates in input order.
    /// Returns the prepared rows and the domains not seen before (in first-seen order).
    pub fn prepare(&mut self, rows: &[RowInput<'_>]) -> (Vec<Prepared>, Vec<String>) {
        let examiner = self.examiner();
        let mut prepared: Vec<Prepared> = rows.par_iter().map(|r| examiner.examine(r)).collect();
        let domains = self.register(&mut prepared);
        (prepared, domains)
    }

    /// Marks duplicates and notes new domains, in input order: the sequential part of
    /// preparing rows, after [`Examiner::examine`]. Returns the domains not seen before (in
    /// first-seen order).
    pub fn register(&mut self, prepared: &mut [Prepared]) -> Vec<String> {
        let mut new_domains = Vec::new();
        let mut new_ids = Vec::new();
        for prep in prepared.iter_mut() {
            if prep.signup_unreadable {
                self.stats.unreadable_signup_dates += 1;
            }
            let Ok(normalized) = &prep.syntax else {
                continue;
            };
            let key = prep.key;
            let words = [
                key as u32,
                (key >> 32) as u32,
                (key >> 64) as u32,
                (key >> 96) as u32,
            ];
            match self.seen.entry(words) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    prep.duplicate_of = Some(u64::from(*first.get()))
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(u32::try_from(prep.line).unwrap_or(u32::MAX));
                    let (id, new) = self.domain_id(normalized.domain(), prep.domain_hash);
                    prep.domain = Some(id);
                    if new {
                        new_domains.push(normalized.domain().to_string());
                        new_ids.push(id);
                    }
                }
            }
        }
        // Few (a new domain is rare after the first batches), so on this thread.
        let lists = &self.rules.lists;
        for (domain, id) in new_domains.iter().zip(new_ids) {
            if let Some(entry) = self.domains.get_mut(id as usize) {
                entry.lists = ListFacts {
                    disposable: lists.disposable_match(domain).map(String::from),
                    typo: lists.typo_suggestion(domain).map(String::from),
                };
            }
        }
        new_domains
    }

    /// The index of `name` in the domain table, added if new (then true).
    fn domain_id(&mut self, name: &str, hash: u64) -> (u32, bool) {
        let domains = &self.domains;
        let found = self.domain_index.find(hash, |&id| {
            domains.get(id as usize).is_some_and(|d| &*d.name == name)
        });
        if let Some(&id) = found {
            return (id, false);
        }
        let id = u32::try_from(self.domains.len()).unwrap_or(u32::MAX);
        self.domains.push(DomainEntry {
            name: name.into(),
            lists: ListFacts {
                disposable: None,
                typo: None,
            },
            dns: None,
        });
        let domains = &self.domains;
        self.domain_index.insert_unique(hash, id, |&id| {
            domains.get(id as usize).map_or(0, |d| domain_hash(&d.name))
        });
        (id, true)
    }

    /// Records DNS answers (from the resolver, or unchecked for `--no-dns`).
    pub fn add_dns(&mut self, answers: impl IntoIterator<Item = (String, Arc<DomainInfo>)>) {
        for (domain, info) in answers {
            let (id, _) = self.domain_id(&domain, domain_hash(&domain));
            let Some(entry) = self.domains.get_mut(id as usize) else {
                continue;
            };
            if entry.dns.is_none() {
                *self
                    .stats
                    .domains_by_status
                    .entry(info.status.as_str())
                    .or_default() += 1;
                self.stats.unique_domains += 1;
                entry.dns = Some(info);
            }
        }
    }

    /// Decides prepared rows (their domains must have DNS answers by now), in parallel.
    pub fn decide(&mut self, prepared: &[Prepared]) -> Vec<Decision> {
        self.decide_with(prepared, true)
    }

    /// As [`Decider::decide`], on the calling thread. Without engagement history the `clean`
    /// pipeline decides here: its worker threads are busy parsing the next batches, and a few
    /// hundred nanoseconds a row are not worth queueing behind them.
    pub fn decide_here(&mut self, prepared: &[Prepared]) -> Vec<Decision> {
        self.decide_with(prepared, false)
    }

    fn decide_with(&mut self, prepared: &[Prepared], parallel: bool) -> Vec<Decision> {
        let unchecked = Arc::new(DomainInfo::unchecked());
        let with_history = !self.history.is_empty();
        let verdict = |prep: &Prepared| self.verdict(prep, &unchecked, with_history);
        let decided: Vec<RowVerdict> = if parallel {
            prepared.par_iter().map(verdict).collect()
        } else {
            prepared.iter().map(verdict).collect()
        };
        self.tally(decided)
    }

    fn verdict(&self, prep: &Prepared, unchecked: &Arc<DomainInfo>, history: bool) -> RowVerdict {
        let (findings, provider, days) = self.findings(prep, unchecked, history);
        let decision = self.rules.decide(&findings);
        RowVerdict {
            decision,
            provider,
            days,
            applied: findings.iter().map(|f| f.reason).collect(),
        }
    }

    /// Counts the verdicts for the report; returns their decisions.
    fn tally(&mut self, decided: Vec<RowVerdict>) -> Vec<Decision> {
        let mut out = Vec::with_capacity(decided.len());
        for verdict in decided {
            if let Some(reason) = verdict.decision.reason {
                *self.stats.reasons.entry(reason.code()).or_default() += 1;
            }
            for reason in verdict.applied {
                *self.stats.reasons_applied.entry(reason.code()).or_default() += 1;
            }
            if let Some(p) = verdict.provider {
                *self.stats.providers.entry(p).or_default() += 1;
            }
            if let Some(days) = verdict.days {
                self.stats.days_since_engagement.add(days);
            }
            out.push(verdict.decision);
        }
        out
    }

    /// Every finding for one row, its provider, and its days since engagement (when history
    /// was given).
    fn findings(
        &self,
        prep: &Prepared,
        unchecked: &Arc<DomainInfo>,
        with_history: bool,
    ) -> (Vec<Finding>, Option<&'static str>, Option<Option<i64>>) {
        let mut findings = Vec::new();
        let normalized = match &prep.syntax {
            Err(issue) => {
                findings.push(Finding::new(Reason::InvalidSyntax, issue.describe()));
                return (findings, None, None);
            }
            Ok(n) => n,
        };
        if let Some(first) = prep.duplicate_of {
            findings.push(Finding::new(
                Reason::Duplicate,
                format!("same address as line {first}"),
            ));
            return (findings, None, None);
        }
        if let Some(kind) = prep.suppressed {
            findings.push(Finding::new(
                Reason::SuppressionList,
                format!("on a suppression list ({kind})"),
            ));
        }
        let domain = normalized.domain();
        let entry = prep.domain.and_then(|id| self.domains.get(id as usize));
        let info = entry.and_then(|e| e.dns.as_ref()).unwrap_or(unchecked);
        let lists = entry.map(|e| &e.lists);
        let typo = lists.and_then(|l| l.typo.as_deref());
        // A typo suggestion stands only when the typed domain cannot take mail (or is parked);
        // without DNS we cannot tell, so it stands too.
        let typo = typo.filter(|_| !info.status.accepts_mail() || info.parked);
        let did_you_mean = typo
            .map(|t| format!("; did you mean {t}?"))
            .unwrap_or_default();
        match info.status {
            DomainStatus::NoDomain => findings.push(Finding::new(
                Reason::NoDomain,
                format!("{domain}: {}{did_you_mean}", info.detail),
            )),
            DomainStatus::NullMx => findings.push(Finding::new(
                Reason::NullMx,
                format!("{domain}: {}", info.detail),
            )),
            DomainStatus::NoMx => findings.push(Finding::new(
                Reason::NoMx,
                format!("{domain}: {}{did_you_mean}", info.detail),
            )),
            DomainStatus::Unknown => findings.push(Finding::new(
                Reason::DnsUnknown,
                format!("{domain}: {}", info.detail),
            )),
            DomainStatus::Ok | DomainStatus::ImplicitMx | DomainStatus::Unchecked => {}
        }
        if let Some(entry) = lists.and_then(|l| l.disposable.as_deref()) {
            // Lists of throw-away domains include typo-squatted ones (`gmial.com`): keep the
            // suggestion in the evidence so the contact can be recovered.
            let hint = lists
                .and_then(|l| l.typo.as_deref())
                .map(|t| format!("; did you mean {t}?"))
                .unwrap_or_default();
            findings.push(Finding::new(
                Reason::Disposable,
                format!("disposable mailbox provider ({entry}){hint}"),
            ));
        }
        let mut days = None;
        if with_history {
            let profile = self.history.get(prep.key);
            let context = Context {
                as_of: self.as_of,
                signup: prep.signup,
                parked: info.parked,
            };
            let evaluation = engagement::evaluate(profile, &context, &self.rules.engagement);
            days = Some(evaluation.days_since_engagement);
            findings.extend(evaluation.findings);
        }
        if let Some(target) = typo {
            let evidence = match info.status {
                DomainStatus::Unchecked => "DNS not checked".to_string(),
                _ if info.parked => "domain is parked".to_string(),
                _ => info.detail.clone(),
            };
            findings.push(Finding::new(
                Reason::TypoDomain,
                format!("did you mean {target}? ({domain}: {evidence})"),
            ));
        }
        if self.rules.lists.is_role(normalized.local()) {
            let local = normalized.local().split('+').next().unwrap_or_default();
            findings.push(Finding::new(
                Reason::RoleAccount,
                format!("role mailbox ({local}@)"),
            ));
        }
        (findings, info.provider, days)
    }

    /// The counts gathered so far.
    pub fn stats(&self) -> &DecideStats {
        &self.stats
    }
}

impl Prepared {
    /// The normalised address, when the syntax is valid.
    pub fn normalized(&self) -> Option<&str> {
        self.syntax.as_ref().ok().map(Normalized::as_str)
    }
}
