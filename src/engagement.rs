//! Engagement history: one profile per normalised address, read from event logs with polars.
//!
//! INTERFACE STUB — the engagement issue replaces the body; the pipeline depends only on the
//! public items below.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::reason::Finding;

/// The `[engagement]` section of the rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngagementRules {
    /// `inactive` after this many days without a human open or click.
    pub inactive_days: u32,
}

impl Default for EngagementRules {
    fn default() -> Self {
        EngagementRules { inactive_days: 365 }
    }
}

/// One address's history.
#[derive(Debug, Clone, Default)]
pub struct Profile {}

/// Counts about the event logs, for `report.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogStats {}

/// All profiles, keyed by [`crate::normalize::key`].
#[derive(Debug, Default)]
pub struct History {
    profiles: HashMap<u128, Profile>,
    stats: LogStats,
}

impl History {
    /// No history at all (no `--engagement`).
    pub fn empty() -> History {
        History::default()
    }

    /// Reads and aggregates the event logs.
    ///
    /// # Errors
    /// When a log cannot be opened or has no `email`/`event`/`timestamp` columns.
    pub fn load(_paths: &[PathBuf], _rules: &EngagementRules) -> Result<History> {
        Ok(History::empty())
    }

    /// The profile of a normalised address's key.
    pub fn get(&self, key: u128) -> Option<&Profile> {
        self.profiles.get(&key)
    }

    /// Returns true if and only if no log was given.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// Counts for the report.
    pub fn stats(&self) -> &LogStats {
        &self.stats
    }
}

/// What the rules need besides the profile.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The day the rules measure from.
    pub as_of: NaiveDate,
    /// The contact's signup date, from the contacts file when it has one.
    pub signup: Option<NaiveDate>,
    /// The domain's MX hosts belong to a parking service.
    pub parked: bool,
}

/// The engagement verdict for one contact.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Every engagement reason that applies, in precedence order.
    pub findings: Vec<Finding>,
    /// Days from the last human open or click to `as_of`, if there was one.
    pub days_since_engagement: Option<i64>,
}

/// Applies the engagement rules to one contact.
pub fn evaluate(
    _profile: Option<&Profile>,
    _context: &Context,
    _rules: &EngagementRules,
) -> Evaluation {
    Evaluation::default()
}

/// Parses a date or date-time cell (signup columns): ISO-8601, or Unix seconds/milliseconds.
pub fn parse_date(_value: &str) -> Option<NaiveDate> {
    None
}

/// A histogram of days since the last human engagement, for `report.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Histogram(BTreeMap<&'static str, u64>);

impl Histogram {
    /// Counts one contact.
    pub fn add(&mut self, _days: Option<i64>) {}
}
