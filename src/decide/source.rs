//! Where a run's domain answers come from: DNS ([`DomainChecker`]), nothing (`--no-dns`:
//! [`NotChecked`]), or a plain table ([`DomainTable`], for tests and benchmarks).
//!
//! The [`super::Decider`] owns its source: it submits each domain the first time a row needs
//! it and asks for the answers before it decides the rows, so no caller can forget a step.
//! "DNS not checked" is a source the caller chooses, never the result of a missed call.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::resolve::{DnsStats, DomainChecker, DomainInfo};

/// Answers about domains, asked once per domain per run.
pub trait DomainSource: Send {
    /// Starts finding answers for domains seen for the first time (in first-seen order).
    /// Returns at once.
    fn submit(&mut self, domains: &[&str]);

    /// The answer for each of `domains`, in the same order, waiting for them if need be.
    fn answers(&mut self, domains: &[&str]) -> Vec<Arc<DomainInfo>>;

    /// Makes waits for answers give up (answering [`DomainInfo::unknown`]) once `flag` is
    /// set, so that a signal is honoured during DNS waits.
    fn cancel_on(&mut self, _flag: Arc<AtomicBool>) {}

    /// Returns true if and only if answers may take a while, so that a pipeline should let
    /// lookups run ahead of its decisions.
    fn is_slow(&self) -> bool {
        false
    }

    /// Ends the run's lookups. Returns DNS statistics for the report when DNS was asked.
    fn finish(self: Box<Self>) -> Option<DnsStats>;
}

/// `--no-dns`: every domain is [`DomainInfo::unchecked`].
#[derive(Debug, Default)]
pub struct NotChecked {
    unchecked: Option<Arc<DomainInfo>>,
}

impl DomainSource for NotChecked {
    fn submit(&mut self, _domains: &[&str]) {}

    fn answers(&mut self, domains: &[&str]) -> Vec<Arc<DomainInfo>> {
        let unchecked = self
            .unchecked
            .get_or_insert_with(|| Arc::new(DomainInfo::unchecked()));
        vec![unchecked.clone(); domains.len()]
    }

    fn finish(self: Box<Self>) -> Option<DnsStats> {
        None
    }
}

/// Fixed answers from a table; a domain not in it is [`DomainInfo::unknown`] (so a forgotten
/// entry sends rows to review, never keeps them silently).
#[derive(Debug, Default, Clone)]
pub struct DomainTable {
    answers: HashMap<String, Arc<DomainInfo>>,
}

impl DomainTable {
    /// An empty table.
    pub fn new() -> DomainTable {
        DomainTable::default()
    }

    /// The table with `domain` answered by `info`.
    pub fn with(mut self, domain: &str, info: DomainInfo) -> DomainTable {
        self.answers.insert(domain.to_string(), Arc::new(info));
        self
    }
}

impl DomainSource for DomainTable {
    fn submit(&mut self, _domains: &[&str]) {}

    fn answers(&mut self, domains: &[&str]) -> Vec<Arc<DomainInfo>> {
        domains
            .iter()
            .map(|domain| {
                self.answers.get(*domain).cloned().unwrap_or_else(|| {
                    Arc::new(DomainInfo::unknown("not in the domain table".into()))
                })
            })
            .collect()
    }

    fn finish(self: Box<Self>) -> Option<DnsStats> {
        None
    }
}

impl DomainSource for DomainChecker {
    fn submit(&mut self, domains: &[&str]) {
        DomainChecker::submit(self, domains.iter().copied());
    }

    fn answers(&mut self, domains: &[&str]) -> Vec<Arc<DomainInfo>> {
        self.wait(domains.iter().copied())
            .into_iter()
            .map(|(_, info)| info)
            .collect()
    }

    fn cancel_on(&mut self, flag: Arc<AtomicBool>) {
        DomainChecker::cancel_on(self, flag);
    }

    fn is_slow(&self) -> bool {
        true
    }

    fn finish(self: Box<Self>) -> Option<DnsStats> {
        Some(DomainChecker::finish(*self))
    }
}
