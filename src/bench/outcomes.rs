//! `bench --outcomes`: what happened to each address when it was mailed, and how well a rule
//! set's decisions matched it (precision and recall per kind of bad outcome, engaged contacts
//! suppressed). See: #12 part 4.
//!
//! Consumes an `email,outcome` CSV and per-row actions; produces counts and shares. Never
//! prints a cell: unknown outcome values are counted with their line numbers only.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::reason::Action;

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
    /// The bad outcomes, each scored on its own.
    pub const BAD: [Outcome; 3] = [Outcome::Bounced, Outcome::Complained, Outcome::Trap];

    /// Parses an outcome cell: the usual spellings, case and surrounding spaces ignored.
    pub fn parse(value: &str) -> Option<Outcome> {
        let value = value.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match value.as_str() {
            "engaged" | "engagement" | "open" | "opened" | "click" | "clicked" => {
                Some(Outcome::Engaged)
            }
            "delivered" | "delivery" | "ok" => Some(Outcome::Delivered),
            "bounced" | "bounce" | "hard_bounce" | "hard_bounced" | "hardbounce" => {
                Some(Outcome::Bounced)
            }
            "complained" | "complaint" | "spam_complaint" | "spamreport" | "spam_report" => {
                Some(Outcome::Complained)
            }
            "trap" | "trap_hit" | "spamtrap" | "spam_trap" | "spamtrap_hit" => Some(Outcome::Trap),
            _ => None,
        }
    }

    /// The outcome's name in `bench.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Engaged => "engaged",
            Outcome::Delivered => "delivered",
            Outcome::Bounced => "bounced",
            Outcome::Complained => "complained",
            Outcome::Trap => "trap",
        }
    }

    /// A bounce, a complaint or a trap hit.
    pub fn is_bad(self) -> bool {
        Outcome::BAD.contains(&self)
    }
}

/// Known outcomes by normalised address key, and what could not be read.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// Outcome per address key (the last line wins for an address given twice).
    pub known: HashMap<u128, Outcome>,
    /// Rows of the file read.
    pub rows: u64,
    /// Rows whose outcome value is not one listwash knows (counted, not fatal).
    pub unknown_values: u64,
    /// The first such rows' line numbers (at most [`Outcomes::FIRST_UNKNOWN`]).
    pub unknown_lines: Vec<u64>,
    /// Rows whose address is not a valid address (cannot be matched).
    pub unmatched_addresses: u64,
}

impl Outcomes {
    /// How many line numbers of unknown values are kept.
    pub const FIRST_UNKNOWN: usize = 10;

    /// Reads `email,outcome` rows (header required; extra columns ignored).
    ///
    /// # Errors
    /// When the file cannot be read, has no `email`/`outcome` columns, or a record is not CSV.
    pub fn load(path: &Path) -> Result<Outcomes> {
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
            return Err(fail("needs `email` and `outcome` columns (outcome: engaged, delivered, hard_bounce, complaint, trap_hit, …)".into()));
        };
        let mut outcomes = Outcomes::default();
        for (index, record) in reader.records().enumerate() {
            let line = index as u64 + 2;
            let record = record.map_err(csv_error(format!(
                "line {line}: not a CSV record; fix or remove it"
            )))?;
            outcomes.rows += 1;
            let Some(parsed) = record.get(outcome).and_then(Outcome::parse) else {
                outcomes.unknown_values += 1;
                if outcomes.unknown_lines.len() < Outcomes::FIRST_UNKNOWN {
                    outcomes.unknown_lines.push(line);
                }
                continue;
            };
            match record.get(email).and_then(crate::normalize::key_of) {
                Some(key) => {
                    outcomes.known.insert(key, parsed);
                }
                None => outcomes.unmatched_addresses += 1,
            }
        }
        Ok(outcomes)
    }
}

/// Rows per (outcome, action) for one rule set.
pub type OutcomeActions = BTreeMap<Outcome, BTreeMap<&'static str, u64>>;

/// Precision and recall for one kind of bad outcome (or all of them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// Rows with this outcome.
    pub rows: u64,
    /// Of them, not kept (reviewed or suppressed): caught.
    pub caught: u64,
    /// `caught / rows`: how many of the bad addresses the rule set caught (`null`: none).
    pub recall: Option<f64>,
    /// `caught / rows not kept` over the rows with a known outcome: how many of the rows the
    /// rule set took out had this outcome (`null`: it took none out).
    pub precision: Option<f64>,
}

/// The scores of one rule set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Per bad outcome: `bounced`, `complained`, `trap`, and `any_bad` for the three together.
    pub by_outcome: BTreeMap<&'static str, Score>,
    /// Engaged contacts (outcome `engaged`) the rule set would have suppressed.
    pub engaged_suppressed: u64,
    /// Their share of the engaged contacts (`null`: no engaged contact known).
    pub engaged_suppressed_share: Option<f64>,
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Scores a rule set from its rows per (outcome, action).
pub fn score(outcomes: &OutcomeActions) -> Scores {
    let count = |which: &dyn Fn(Outcome) -> bool, actions: &dyn Fn(&str) -> bool| -> u64 {
        outcomes
            .iter()
            .filter(|(o, _)| which(**o))
            .flat_map(|(_, a)| a.iter())
            .filter(|(a, _)| actions(a))
            .map(|(_, n)| n)
            .sum()
    };
    let not_kept = |a: &str| a != Action::Keep.as_str();
    let taken_out = count(&|_| true, &not_kept);
    let mut by_outcome = BTreeMap::new();
    let kinds: [(&'static str, &dyn Fn(Outcome) -> bool); 4] = [
        ("bounced", &|o| o == Outcome::Bounced),
        ("complained", &|o| o == Outcome::Complained),
        ("trap", &|o| o == Outcome::Trap),
        ("any_bad", &Outcome::is_bad),
    ];
    for (name, which) in kinds {
        let rows = count(which, &|_| true);
        let caught = count(which, &not_kept);
        by_outcome.insert(
            name,
            Score {
                rows,
                caught,
                recall: ratio(caught, rows),
                precision: ratio(caught, taken_out),
            },
        );
    }
    let engaged = |o: Outcome| o == Outcome::Engaged;
    let engaged_rows = count(&engaged, &|_| true);
    let engaged_suppressed = count(&engaged, &|a| a == Action::Suppress.as_str());
    Scores {
        by_outcome,
        engaged_suppressed,
        engaged_suppressed_share: ratio(engaged_suppressed, engaged_rows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_spellings_parse_whatever_their_case() {
        // See: #12 part 4
        for (value, outcome) in [
            ("hard_bounce", Outcome::Bounced),
            ("Bounced", Outcome::Bounced),
            ("COMPLAINT", Outcome::Complained),
            ("complained", Outcome::Complained),
            ("spam_complaint", Outcome::Complained),
            ("trap", Outcome::Trap),
            ("Trap_Hit", Outcome::Trap),
            ("engaged", Outcome::Engaged),
            (" delivered ", Outcome::Delivered),
        ] {
            assert_eq!(Outcome::parse(value), Some(outcome), "{value}");
        }
        assert_eq!(Outcome::parse("soft_bounce"), None);
        assert_eq!(Outcome::parse(""), None);
    }
}
