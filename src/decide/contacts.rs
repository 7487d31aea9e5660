//! A contact row's own evidence beyond its address: its signup date (in its column's day/month
//! order, falling back per row to the next signup column), what the exporting service's status
//! columns say, and its consent evidence; and their counts for `report.json`.
//!
//! Consumes a row's cells through the file's [`ContactPlan`]; produces [`ContactFacts`] (on
//! any thread) and, in input order, [`ContactStats`]. Never keeps a cell's value except in the
//! detail of a row it decides, escaped and cut short.

use std::collections::BTreeMap;

use crate::dates::Day;

use crate::read::Row;
use crate::read::contacts::{ConsentEvidence, ContactPlan};
use crate::reason::Reason;
use crate::report::{ConsentReport, ContactsReport, SignupColumnReport, StatusColumnReport};

/// The most characters of a vendor status value a detail shows.
const VALUE_CHARS: usize = 40;

/// How many line numbers of unreadable dates are kept per column.
pub(crate) const FIRST_LINES: usize = 10;

/// What one row's cells say beyond its address. Small (rows are held by the batch): the
/// details of a status or missing consent, rare, are boxed.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContactFacts {
    /// The signup day, when a signup cell was read.
    pub(crate) signup: Option<Day>,
    /// The column of a signup cell that is not a date.
    pub(crate) unreadable_signup: Option<u32>,
    /// The consent evidence, when the row was read with a plan.
    pub(crate) consent: Option<Consent>,
    /// What decides or flags the row, if anything.
    pub(crate) findings: Option<Box<ContactFindings>>,
}

/// A row's consent evidence, packed: its kind and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Consent {
    kind: u8,
    column: u32,
}

/// The kinds of [`Consent`], as `report.json` names them.
const CONSENT_KINDS: [&str; 4] = ["consent_column", "opt_in_date", "negative", "none"];

impl From<ConsentEvidence> for Consent {
    fn from(evidence: ConsentEvidence) -> Consent {
        let column = |c: usize| u32::try_from(c).unwrap_or(u32::MAX);
        match evidence {
            ConsentEvidence::Column(c) => Consent {
                kind: 0,
                column: column(c),
            },
            ConsentEvidence::OptInDate(c) => Consent {
                kind: 1,
                column: column(c),
            },
            ConsentEvidence::Negative(c) => Consent {
                kind: 2,
                column: column(c),
            },
            ConsentEvidence::None => Consent {
                kind: 3,
                column: u32::MAX,
            },
        }
    }
}

/// A row's vendor status and missing-consent findings.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContactFindings {
    /// The exporting service's status that stops mail: column, reason, detail.
    pub(crate) status: Option<(usize, Reason, Box<str>)>,
    /// With `--require-consent` and no consent evidence: the `no_consent` detail.
    pub(crate) no_consent: Option<Box<str>>,
}

impl ContactFacts {
    /// The vendor status finding: column, reason, detail.
    pub(crate) fn status(&self) -> Option<&(usize, Reason, Box<str>)> {
        self.findings.as_ref().and_then(|f| f.status.as_ref())
    }

    /// The `no_consent` detail.
    pub(crate) fn no_consent(&self) -> Option<&str> {
        self.findings.as_ref().and_then(|f| f.no_consent.as_deref())
    }
}

/// A cell's value fit for a detail: control characters escaped, cut at [`VALUE_CHARS`].
fn shown(value: &str) -> String {
    let value = value.trim();
    match value.char_indices().nth(VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", crate::columns::escape(&value[..cut])),
        None => crate::columns::escape(value),
    }
}

impl ContactFacts {
    /// Reads a row's signup, status and consent cells with `plan`.
    pub(crate) fn read(plan: &ContactPlan, row: &Row<'_>) -> ContactFacts {
        let cell = |i: usize| row.text(i);
        let mut facts = ContactFacts::default();
        let read = match plan.plain_iso_signup(row) {
            Some((column, day)) => Some((column, day)),
            None => plan.signup_cell(cell).map(|(column, text)| {
                let day = plan.read_signup(column, text).and_then(Day::from_date);
                (column, day)
            }),
        };
        let signup = read.map(|(column, _)| column);
        if let Some((column, day)) = read {
            match day {
                Some(day) => facts.signup = Some(day),
                None => facts.unreadable_signup = Some(u32::try_from(column).unwrap_or(u32::MAX)),
            }
        }
        let columns = &plan.columns;
        let mut findings = ContactFindings::default();
        if columns.has_status()
            && let Some(hit) = columns.status(cell)
        {
            let detail = format!(
                "the exporting service marks it {}: `{}` = {}",
                match hit.reason {
                    Reason::Unsubscribed => "unsubscribed",
                    Reason::HardBounced => "cleaned (bounced)",
                    _ => "suppressed",
                },
                crate::columns::escape(columns.name(hit.column)),
                shown(cell(hit.column)),
            );
            findings.status = Some((hit.column, hit.reason, detail.into()));
        }
        let consent = columns.consent_after_signup(cell, signup);
        if plan.require_consent {
            findings.no_consent = match consent {
                ConsentEvidence::Column(_) | ConsentEvidence::OptInDate(_) => None,
                ConsentEvidence::Negative(column) => Some(
                    format!(
                        "no consent: `{}` = {}",
                        crate::columns::escape(columns.name(column)),
                        shown(cell(column))
                    )
                    .into(),
                ),
                ConsentEvidence::None => Some(
                    "no consent evidence (no opt-in or confirmation date, no consent column value)"
                        .into(),
                ),
            };
        }
        facts.consent = Some(consent.into());
        if findings.status.is_some() || findings.no_consent.is_some() {
            facts.findings = Some(Box::new(findings));
        }
        facts
    }
}

/// Counts of the contact columns' evidence, gathered in input order.
#[derive(Debug, Clone, Default)]
pub struct ContactStats {
    /// Per signup column: unreadable cells and the first lines they are on.
    unreadable: BTreeMap<u32, (u64, Vec<u64>)>,
    /// Rows per consent evidence kind ([`CONSENT_KINDS`]).
    consent: [u64; 4],
    /// Per column index: rows per consent kind it gave (the first three kinds).
    consent_columns: Vec<[u64; 3]>,
    /// Rows decided by a vendor status column, per column and reason.
    decided: BTreeMap<(usize, Reason), u64>,
}

impl ContactStats {
    /// Counts one row's facts (in input order, so the first lines are the first).
    pub(crate) fn add(&mut self, line: u64, facts: &ContactFacts) {
        if let Some(column) = facts.unreadable_signup {
            let (count, lines) = self.unreadable.entry(column).or_default();
            *count += 1;
            if lines.len() < FIRST_LINES {
                lines.push(line);
            }
        }
        let Some(Consent { kind, column }) = facts.consent else {
            return;
        };
        let kind = usize::from(kind);
        if let Some(n) = self.consent.get_mut(kind) {
            *n += 1;
        }
        if kind < 3
            && let Ok(column) = usize::try_from(column)
        {
            if self.consent_columns.len() <= column {
                self.consent_columns.resize(column + 1, [0; 3]);
            }
            self.consent_columns[column][kind] += 1;
        }
    }

    /// Adds counts gathered from later rows (a later batch's, counted on a worker thread):
    /// the first lines stay the first.
    pub(crate) fn merge(&mut self, later: ContactStats) {
        for (column, (count, lines)) in later.unreadable {
            let (total, first) = self.unreadable.entry(column).or_default();
            *total += count;
            let room = FIRST_LINES.saturating_sub(first.len());
            first.extend(lines.into_iter().take(room));
        }
        for (total, n) in self.consent.iter_mut().zip(later.consent) {
            *total += n;
        }
        if self.consent_columns.len() < later.consent_columns.len() {
            self.consent_columns
                .resize(later.consent_columns.len(), [0; 3]);
        }
        for (totals, counts) in self.consent_columns.iter_mut().zip(later.consent_columns) {
            for (total, n) in totals.iter_mut().zip(counts) {
                *total += n;
            }
        }
        for (key, n) in later.decided {
            *self.decided.entry(key).or_default() += n;
        }
    }

    /// Counts a row decided by a vendor status column.
    pub(crate) fn decided(&mut self, column: usize, reason: Reason) {
        *self.decided.entry((column, reason)).or_default() += 1;
    }

    /// The `contacts` section of `report.json`.
    pub(crate) fn report(&self, plan: &ContactPlan) -> ContactsReport {
        let name = |i: usize| plan.columns.name(i).to_string();
        let signup_dates = plan
            .orders
            .iter()
            .map(|(index, order)| {
                let (unreadable, first_lines) = u32::try_from(*index)
                    .ok()
                    .and_then(|i| self.unreadable.get(&i).cloned())
                    .unwrap_or_default();
                SignupColumnReport {
                    column: name(*index),
                    order: *order,
                    unreadable,
                    first_unreadable_lines: first_lines,
                }
            })
            .collect();
        let mut consent = ConsentReport {
            required: plan.require_consent,
            ..ConsentReport::default()
        };
        for (kind, &n) in CONSENT_KINDS.iter().zip(&self.consent) {
            if n > 0 {
                consent.by_evidence.insert(kind, n);
            }
        }
        for (column, counts) in self.consent_columns.iter().enumerate() {
            for (kind, &n) in CONSENT_KINDS.iter().zip(counts) {
                if n > 0 {
                    *consent
                        .by_column
                        .entry(name(column))
                        .or_default()
                        .entry(kind)
                        .or_default() += n;
                }
            }
        }
        let mut status_columns: Vec<StatusColumnReport> = plan
            .columns
            .status_names()
            .into_iter()
            .map(|column| StatusColumnReport {
                column: column.to_string(),
                decided: BTreeMap::new(),
            })
            .collect();
        let mut decided_by_status = 0;
        for (&(column, reason), &n) in &self.decided {
            decided_by_status += n;
            let column = name(column);
            if let Some(entry) = status_columns.iter_mut().find(|c| c.column == column) {
                *entry.decided.entry(reason.code()).or_default() += n;
            }
        }
        ContactsReport {
            signup_dates,
            consent,
            status_columns,
            decided_by_status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Rows are counted per batch on the workers and merged in input order: the merged counts
    // and first lines are those of counting every row in order.
    #[test]
    fn merged_batches_count_like_one_pass() {
        let facts = |line: u64| ContactFacts {
            unreadable_signup: line.is_multiple_of(3).then_some(7),
            consent: Some(Consent::from(match line % 4 {
                0 => ConsentEvidence::Column(2),
                1 => ConsentEvidence::OptInDate(5),
                2 => ConsentEvidence::Negative(2),
                _ => ConsentEvidence::None,
            })),
            ..ContactFacts::default()
        };
        let mut one_pass = ContactStats::default();
        for line in 2..200 {
            one_pass.add(line, &facts(line));
        }
        let mut merged = ContactStats::default();
        for batch in [2..5, 5..40, 40..41, 41..200] {
            let mut counted = ContactStats::default();
            for line in batch {
                counted.add(line, &facts(line));
            }
            counted.decided(5, Reason::Unsubscribed);
            merged.merge(counted);
        }
        assert_eq!(merged.unreadable, one_pass.unreadable);
        assert_eq!(
            merged.unreadable[&7].1,
            [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
        );
        assert_eq!(merged.consent, one_pass.consent);
        assert_eq!(merged.consent_columns, one_pass.consent_columns);
        assert_eq!(merged.decided[&(5, Reason::Unsubscribed)], 4);
    }

    // See: #10 part 6: a vendor status value is not an address, but still reaches
    // `listwash_detail` escaped and cut short.
    #[test]
    fn status_values_are_escaped_and_cut_in_details() {
        assert_eq!(shown(" 2024-01-02\u{1b}[31m "), "2024-01-02\\u{1b}[31m");
        let long = "x".repeat(100);
        assert_eq!(shown(&long), format!("{}…", "x".repeat(VALUE_CHARS)));
        assert_eq!(shown("yes"), "yes");
    }
}
