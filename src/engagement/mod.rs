//! Engagement history: one profile per normalised address, read from event logs with polars.
//!
//! Consumes event logs (CSV or Parquet: `email`, `event`, `timestamp`, optional `machine` and
//! bounce type columns) and produces a [`History`]: one [`Profile`] per normalised address,
//! keyed like contacts ([`crate::normalize::key_of`]), plus [`LogStats`] for the report.
//! [`evaluate`] turns a profile into the contract's engagement reasons with dated evidence.
//! This is the only module that knows about polars; it never touches the network, and the
//! details it writes never contain an address.

mod bounce;
mod cast;
mod checks;
mod chunk;
mod dialect;
mod fields;
mod flat;
mod fold;
mod inspect;
mod json;
mod keep;
mod parse;
mod profiles;
mod read;
mod stream;
mod verdict;

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use bounce::BounceClass;
pub use dialect::{Dialect, EVENT_KINDS};
pub use keep::{EventSink, Keeper, KeptEvents, NormalEvent};
pub(crate) use profiles::KeyHasher;
pub use verdict::{Context, Evaluation, evaluate};

/// The `[engagement]` section of the rules file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngagementRules {
    /// `inactive` after more than this many days without a human open or click before `as_of`.
    pub inactive_days: u32,
    /// `inactive` needs at least this many sends since the last human open or click (or since
    /// signup when there never was one).
    pub inactive_min_sends: u32,
    /// Never `inactive` when signed up within this many days of `as_of`.
    pub signup_grace_days: u32,
    /// `suspected_recycled_trap` needs at least this many deliveries after the last hard bounce.
    pub trap_min_deliveries: u32,
    /// A signup older than this many days with never a human open or click strengthens the
    /// recycled-trap evidence.
    pub trap_old_signup_days: u32,
    /// A click whose `machine` cell is missing (no such column) or empty, within this many
    /// seconds after a delivery to the same address, is a link scanner's (0 turns the
    /// heuristic off). An explicit true/false in the cell always decides.
    pub scanner_click_seconds: u32,
    /// `repeated_soft_bounce` needs at least this many soft bounces after the last delivery
    /// (0 turns it off).
    pub soft_bounce_streak: u32,
    /// Service event names → listwash kinds (see [`EVENT_KINDS`]), before the built-in ones.
    pub event_names: std::collections::BTreeMap<String, String>,
}

impl Default for EngagementRules {
    fn default() -> Self {
        EngagementRules {
            inactive_days: 365,
            inactive_min_sends: 10,
            signup_grace_days: 90,
            trap_min_deliveries: 3,
            trap_old_signup_days: 730,
            scanner_click_seconds: 10,
            soft_bounce_streak: 7,
            event_names: std::collections::BTreeMap::new(),
        }
    }
}

/// One address's history. Times are Unix seconds (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Sends: `sent` events, or `delivered` events when the logs hold no `sent` event at all
    /// (see [`LogStats::sends_counted_from`]).
    pub sends: u64,
    /// `delivered` events.
    pub deliveries: u64,
    /// The last human open.
    pub last_human_open: Option<i64>,
    /// The last human click.
    pub last_human_click: Option<i64>,
    /// Hard bounces.
    pub hard_bounces: u64,
    /// The first hard bounce.
    pub first_hard_bounce: Option<i64>,
    /// The last hard bounce.
    pub last_hard_bounce: Option<i64>,
    /// Deliveries strictly after the last hard bounce.
    pub deliveries_after_last_hard_bounce: u64,
    /// Soft bounces.
    pub soft_bounces: u64,
    /// The last soft bounce.
    pub last_soft_bounce: Option<i64>,
    /// Soft bounces after the last delivery (all of them when there was none): the current
    /// streak of soft bounces with no delivery between them.
    pub soft_bounce_streak: u64,
    /// The last delivery.
    pub last_delivery: Option<i64>,
    /// The SMTP code of the last hard bounce (`5.1.1`, `550`), when the log gave one.
    pub last_hard_bounce_code: Option<String>,
    /// The service labelled the last hard bounce otherwise (soft, or sender-side) and its
    /// code overrode the label.
    pub last_hard_bounce_relabelled: bool,
    /// Bounces of the sender (policy, reputation, content blocks): never held against the
    /// recipient.
    pub sender_blocks: u64,
    /// Complaints.
    pub complaints: u64,
    /// The first complaint.
    pub first_complaint: Option<i64>,
    /// Unsubscribes.
    pub unsubscribes: u64,
    /// The first unsubscribe.
    pub first_unsubscribe: Option<i64>,
    /// Sends strictly after the last human open or click; all sends when there was none.
    pub sends_since_engagement: u64,
    /// Opens and clicks marked `machine` (never engagement).
    pub machine_events: u64,
    /// Clicks taken for a link scanner's (never engagement).
    pub scanner_clicks: u64,
    /// The first event of any kind the rules use.
    pub first_event: Option<i64>,
    /// The last event of any kind the rules use.
    pub last_event: Option<i64>,
}

impl Profile {
    /// The last human open or click.
    pub fn last_engagement(&self) -> Option<i64> {
        self.last_human_open.max(self.last_human_click)
    }
}

/// The UTC day of a Unix time.
pub(crate) fn day_of(seconds: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(seconds, 0).map(|t| t.date_naive())
}

/// One event row that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnparsedRow {
    /// The log file.
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub file: PathBuf,
    /// The line in a CSV file (the header is line 1; a record with quoted line breaks counts
    /// as one), or the 1-based row in a Parquet file.
    pub line: u64,
    /// What is wrong with it.
    pub problem: Problem,
}

/// Why an event row could not be understood. Serialises as its snake_case name
/// (`empty_email`, …), as [`Problem::as_str`] gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// No address in the email column.
    EmptyEmail,
    /// Something without an `@`, or a domain that cannot be converted to ASCII.
    NotAnAddress,
    /// An event name listwash does not know (or a bounce type it does not know).
    UnknownEvent,
    /// A timestamp that is neither ISO-8601 nor a Unix time.
    BadTimestamp,
    /// A line of a JSON-lines log that is not JSON.
    BadRecord,
}

impl Problem {
    /// The problem's name in `report.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::EmptyEmail => "empty_email",
            Problem::NotAnAddress => "not_an_address",
            Problem::UnknownEvent => "unknown_event",
            Problem::BadTimestamp => "bad_timestamp",
            Problem::BadRecord => "bad_record",
        }
    }
}

/// Rows that could not be understood, by problem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnparsedCounts {
    /// No address in the email column.
    pub empty_email: u64,
    /// Something without an `@`, or a domain that cannot be converted to ASCII.
    pub not_an_address: u64,
    /// An event name listwash does not know (or a bounce type it does not know).
    pub unknown_event: u64,
    /// A timestamp that is neither ISO-8601 nor a Unix time.
    pub bad_timestamp: u64,
    /// A line of a JSON-lines log that is not JSON.
    pub bad_record: u64,
}

impl UnparsedCounts {
    /// The count of one problem.
    pub(crate) fn of(&mut self, problem: Problem) -> &mut u64 {
        match problem {
            Problem::EmptyEmail => &mut self.empty_email,
            Problem::NotAnAddress => &mut self.not_an_address,
            Problem::UnknownEvent => &mut self.unknown_event,
            Problem::BadTimestamp => &mut self.bad_timestamp,
            Problem::BadRecord => &mut self.bad_record,
        }
    }

    /// Adds another count's problems.
    pub(crate) fn add(&mut self, other: &UnparsedCounts) {
        self.empty_email += other.empty_email;
        self.not_an_address += other.not_an_address;
        self.unknown_event += other.unknown_event;
        self.bad_timestamp += other.bad_timestamp;
        self.bad_record += other.bad_record;
    }

    /// All problems together.
    pub(crate) fn total(&self) -> u64 {
        self.empty_email
            + self.not_an_address
            + self.unknown_event
            + self.bad_timestamp
            + self.bad_record
    }
}

/// Counts about the event logs, for `report.json` (under `engagement`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogStats {
    /// The logs read, in order.
    #[serde(serialize_with = "crate::report::lossy_paths")]
    pub files: Vec<PathBuf>,
    /// Data rows read, all files together.
    pub rows_read: u64,
    /// Rows that went into a profile.
    pub rows_used: u64,
    /// Rows that could not be understood (never silently skipped).
    pub unparsed_rows: u64,
    /// The same, by problem.
    pub unparsed: UnparsedCounts,
    /// The first unparsed rows (at most [`LogStats::FIRST_UNPARSED`]), in file and line order.
    pub first_unparsed: Vec<UnparsedRow>,
    /// Known events that no rule uses (`dropped`, `deferred`, …).
    pub ignored_events: u64,
    /// Opens marked `machine` (privacy proxies): discarded as engagement.
    pub machine_opens_discarded: u64,
    /// Clicks marked `machine`: discarded as engagement.
    pub machine_clicks_discarded: u64,
    /// Clicks with no `machine` value (no column, or an empty cell) within
    /// `scanner_click_seconds` after a delivery: discarded as engagement.
    pub scanner_clicks_discarded: u64,
    /// Distinct normalised addresses with a profile.
    pub distinct_addresses: u64,
    /// `sent` when the logs hold `sent` events; `delivered` when they do not and deliveries
    /// stand in for sends.
    pub sends_counted_from: &'static str,
    /// Each log, in the order of [`LogStats::files`]: its format and the service dialect it
    /// was read in, with its own counts.
    pub per_file: Vec<FileStats>,
    /// Bounces by class (by SMTP code, else the service's label).
    pub bounces: BounceCounts,
    /// Sends the service itself refused (suppressed addresses: SendGrid `dropped`, Mailgun
    /// `suppress-*`, Brevo `blocked`): neither sends nor bounces.
    pub dropped_by_service: u64,
    /// Events dated on or after the day after `--as-of`: ignored.
    pub events_after_as_of: u64,
    /// The warnings given about the logs (also printed).
    pub warnings: Vec<String>,
}

/// One log in `report.json` (`engagement.logs.per_file`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileStats {
    /// `csv`, `parquet`, `json` or `ndjson`.
    pub format: &'static str,
    /// The service dialect (detected, or `--events-format`).
    pub dialect: &'static str,
    /// Records read.
    pub rows_read: u64,
    /// Records with an event name listwash does not know.
    pub unknown_events: u64,
    /// Records whose time could not be read.
    pub bad_timestamps: u64,
    /// The most frequent unknown event names (at most five, most frequent first), control
    /// characters escaped.
    pub top_unknown_events: Vec<(String, u64)>,
}

/// Bounces by class (`engagement.logs.bounces`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BounceCounts {
    /// The mailbox or domain does not exist.
    pub hard: u64,
    /// Temporary or recipient-side (mailbox full, `4.x.x`).
    pub soft: u64,
    /// Blocks of the sender (policy, reputation, content): never held against a recipient.
    pub sender: u64,
    /// Bounces whose SMTP code overrode the service's hard/soft label.
    pub relabelled_by_code: u64,
}

/// How event logs are read besides the rules: `--events-format` and the column options
/// (`--events-email-column`, `--events-type-column`, `--events-time-column`; dotted field
/// paths in JSON), and `--as-of` (later events are ignored).
#[derive(Debug, Clone, Default)]
pub struct EventOptions {
    /// The dialect of every log, instead of detecting it.
    pub format: Option<Dialect>,
    /// The address column.
    pub email_column: Option<String>,
    /// The event name column.
    pub event_column: Option<String>,
    /// The time column.
    pub time_column: Option<String>,
    /// Events from the day after this one on are ignored.
    pub as_of: Option<NaiveDate>,
    /// Hand every usable row, normalised, to this sink (`listwash events normalize`,
    /// `listwash profiles`; issue 14).
    pub keep: Option<Keeper>,
}

impl LogStats {
    /// How many unparsed rows [`LogStats::first_unparsed`] lists at most.
    pub const FIRST_UNPARSED: usize = 10;
}

/// All profiles, keyed by [`crate::normalize::key`].
#[derive(Debug, Default)]
pub struct History {
    profiles: profiles::Profiles,
    stats: LogStats,
}

impl History {
    /// No history at all (no `--engagement`).
    pub fn empty() -> History {
        History::default()
    }

    /// Reads the event logs with polars' streaming engine and folds them into one profile per
    /// address. Memory grows with the number of distinct addresses (about 300 bytes each), not
    /// with the number of events; the logs are read once, and every send and delivery is
    /// spilled to an unlinked temporary file (12 bytes each, in `TMPDIR`) for the second pass.
    ///
    /// # Errors
    /// When a log cannot be opened or has no `email`/`event`/`timestamp` columns, or the
    /// temporary spill files cannot be written.
    pub fn load(paths: &[PathBuf], rules: &EngagementRules) -> Result<History> {
        History::load_with(paths, rules, &EventOptions::default())
    }

    /// [`History::load`] with the event-log options of the command line.
    ///
    /// # Errors
    /// As [`History::load`]; also when a log holds no event listwash understands.
    pub fn load_with(
        paths: &[PathBuf],
        rules: &EngagementRules,
        options: &EventOptions,
    ) -> Result<History> {
        if paths.is_empty() {
            return Ok(History::empty());
        }
        let (profiles, stats) = read::load(paths, rules, options)?;
        Ok(History { profiles, stats })
    }

    /// A history of profiles computed elsewhere (`clean --profiles`, issue 14), with the
    /// counts for the report (`stats.files` names the profile files, so the history is not
    /// empty even without a profile).
    pub fn from_profiles(
        profiles: impl IntoIterator<Item = (u128, Profile)>,
        stats: LogStats,
    ) -> History {
        let mut all = profiles::Profiles::default();
        for (key, profile) in profiles {
            all.insert(key, profile);
        }
        History {
            profiles: all,
            stats,
        }
    }

    /// The profile of a normalised address's key.
    pub fn get(&self, key: u128) -> Option<&Profile> {
        self.profiles.get(key)
    }

    /// Returns true if and only if no log was given.
    pub fn is_empty(&self) -> bool {
        self.stats.files.is_empty()
    }

    /// Counts for the report.
    pub fn stats(&self) -> &LogStats {
        &self.stats
    }

    /// Every profile with its key, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&u128, &Profile)> + '_ {
        self.profiles.iter()
    }

    /// How many distinct addresses have a profile.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }
}

/// Parses a date or date-time cell (signup columns): ISO-8601, or Unix seconds/milliseconds.
/// A date-time with an offset gives its UTC day.
pub fn parse_date(value: &str) -> Option<NaiveDate> {
    parse::timestamp(value).and_then(day_of)
}

/// The buckets of [`Histogram`], in order.
pub const HISTOGRAM_BUCKETS: [&str; 7] = [
    "never", "0-30", "31-90", "91-180", "181-365", "366-730", ">730",
];

/// A histogram of days since the last human engagement, for `report.json`. Serialises as an
/// object with every bucket of [`HISTOGRAM_BUCKETS`], in order (engagement after `as_of`
/// counts as `0-30`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram([u64; HISTOGRAM_BUCKETS.len()]);

impl Histogram {
    /// Counts one contact.
    pub fn add(&mut self, days: Option<i64>) {
        let bucket = match days {
            None => 0,
            Some(..=30) => 1,
            Some(31..=90) => 2,
            Some(91..=180) => 3,
            Some(181..=365) => 4,
            Some(366..=730) => 5,
            Some(_) => 6,
        };
        self.0[bucket] += 1;
    }

    /// Adds another histogram's counts (for per-batch or per-thread histograms).
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    /// The count of a bucket named in [`HISTOGRAM_BUCKETS`] (0 for an unknown name).
    pub fn get(&self, bucket: &str) -> u64 {
        HISTOGRAM_BUCKETS
            .iter()
            .position(|b| *b == bucket)
            .map_or(0, |i| self.0[i])
    }
}

impl Serialize for Histogram {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, count) in HISTOGRAM_BUCKETS.iter().zip(self.0) {
            map.serialize_entry(name, &count)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_and_order() {
        let mut h = Histogram::default();
        for days in [
            None,
            Some(-3),
            Some(0),
            Some(30),
            Some(31),
            Some(90),
            Some(91),
            Some(365),
            Some(366),
            Some(730),
            Some(731),
        ] {
            h.add(days);
        }
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"never":1,"0-30":3,"31-90":2,"91-180":1,"181-365":1,"366-730":2,">730":1}"#
        );
        let mut twice = h.clone();
        twice.merge(&h);
        assert_eq!(twice.get("0-30"), 6);
    }

    #[test]
    fn problems_serialise_as_their_names() {
        for problem in [
            Problem::EmptyEmail,
            Problem::NotAnAddress,
            Problem::UnknownEvent,
            Problem::BadTimestamp,
            Problem::BadRecord,
        ] {
            assert_eq!(
                serde_json::to_string(&problem).unwrap(),
                format!("\"{}\"", problem.as_str())
            );
        }
    }

    #[test]
    fn parses_signup_dates() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        assert_eq!(parse_date("2024-01-10"), d("2024-01-10"));
        assert_eq!(parse_date("2024-01-10 23:30:00"), d("2024-01-10"));
        assert_eq!(parse_date("2024-01-10T23:30:00-02:00"), d("2024-01-11"));
        assert_eq!(parse_date("1704844800"), d("2024-01-10"));
        assert_eq!(parse_date("1704844800000"), d("2024-01-10"));
        assert_eq!(parse_date("soon"), None);
    }
}
