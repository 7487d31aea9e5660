//! Engagement profiles that leave the machine: a documented, mergeable Parquet profile, the
//! normalised event table, and the same aggregation as SQL (issue 14 parts 1–4).
//!
//! Consumes event logs (through [`crate::engagement`], which folds them) or profile files;
//! produces `profiles.parquet` ([`compute`], [`parquet::write`]), `events.parquet`
//! ([`normalize::write_events`]), the SQL text ([`sql::query`]) and, for `clean --profiles`,
//! a [`History`] equal to the one the logs themselves give ([`load_history`]). Never touches
//! the network; messages name files, columns and rows, never an address.

pub mod merge;
pub mod normalize;
pub mod parquet;
pub mod schema;
pub mod sql;

use std::collections::HashMap;

use chrono::NaiveDate;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::engagement::{
    EngagementRules, EventOptions, EventSink, History, Keeper, KeptEvents, KeyHasher, LogStats,
};
use crate::error::{Error, Result};
use schema::Stored;

/// Profiles with their normalised addresses, sorted by address.
pub type AddressedProfiles = Vec<(Box<str>, Stored)>;

/// Addresses by key (keys are hashes already: hashed by their low bits).
type NameMap = HashMap<u128, Box<str>, std::hash::BuildHasherDefault<KeyHasher>>;

/// Remembers the normalised address of every key (the fold keeps only keys).
#[derive(Default)]
struct Names(Mutex<NameMap>);

impl EventSink for Names {
    fn take(&self, events: &KeptEvents) {
        if let Ok(mut names) = self.0.lock() {
            for (key, email) in events.addresses() {
                names.entry(key).or_insert_with(|| email.into());
            }
        }
    }
}

/// Profiles of the logs, in the stored form, sorted by address, with the logs' counts.
///
/// # Errors
/// As [`History::load_with`].
pub fn compute(
    paths: &[PathBuf],
    rules: &EngagementRules,
    options: &EventOptions,
) -> Result<(AddressedProfiles, LogStats)> {
    let names = Arc::new(Names::default());
    let options = EventOptions {
        keep: Some(Keeper(names.clone())),
        ..options.clone()
    };
    let history = History::load_with(paths, rules, &options)?;
    let mut names = names
        .0
        .lock()
        .map(|mut n| std::mem::take(&mut *n))
        .unwrap_or_default();
    let stats = history.stats().clone();
    let from_sent = stats.sends_counted_from != "delivered";
    let any_sent = from_sent && history.iter().any(|(_, p)| p.sends > 0);
    let mut profiles: Vec<(Box<str>, Stored)> = history
        .iter()
        .filter_map(|(key, p)| {
            let email = names.remove(key)?;
            Some((email, Stored::from_profile(p, from_sent, any_sent)))
        })
        .collect();
    profiles.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok((profiles, stats))
}

/// Reads profile files and merges them (see [`merge`]).
///
/// # Errors
/// When a file cannot be read, repeats an address, or overlaps another in time.
pub fn read_merged(paths: &[PathBuf]) -> Result<AddressedProfiles> {
    read_merged_with_rules(paths).map(|(profiles, _)| profiles)
}

/// [`read_merged`], and the `scanner_click_seconds` each file names (in order; `None` for a
/// file from another engine).
///
/// # Errors
/// As [`read_merged`].
pub fn read_merged_with_rules(paths: &[PathBuf]) -> Result<(AddressedProfiles, Vec<Option<u32>>)> {
    let mut merger = merge::Merger::default();
    let mut scanners = Vec::with_capacity(paths.len());
    for path in paths {
        let file = merger.file(path.clone());
        let (rows, scanner) = parquet::read(path)?;
        scanners.push(scanner);
        for (row, (email, stored)) in rows.into_iter().enumerate() {
            let row = row as u64 + 1;
            let Some(address) = crate::normalize::normalize(&email) else {
                return Err(Error::Profiles {
                    path: path.clone(),
                    message: format!(
                        "row {row}: the `email` column holds no address (empty, no `@`, or a domain that is not a host name)"
                    ),
                });
            };
            merger.add(address.key(), address.as_str(), stored, file, row)?;
        }
    }
    Ok((merger.finish()?, scanners))
}

/// The `scanner_click_seconds` all files name, if they name the same one.
pub fn common_scanner(scanners: &[Option<u32>]) -> Option<u32> {
    let first = scanners.first().copied().flatten()?;
    scanners.iter().all(|s| *s == Some(first)).then_some(first)
}

/// The history `clean --profiles FILE…` decides with: the files merged, and deliveries
/// standing in for sends only when no file counted a `sent` event (as with the logs).
/// Warns (in the stats) about profiles holding events after `as_of`, and files computed with
/// another `scanner_click_seconds` than `rules`.
///
/// # Errors
/// As [`read_merged`].
pub fn load_history(
    paths: &[PathBuf],
    as_of: NaiveDate,
    rules: &EngagementRules,
) -> Result<History> {
    let (merged, scanners) = read_merged_with_rules(paths)?;
    let mut warnings = Vec::new();
    for (path, scanner) in paths.iter().zip(&scanners) {
        if let Some(seconds) = scanner.filter(|s| *s != rules.scanner_click_seconds) {
            warnings.push(format!(
                "{}: the profiles were computed with scanner_click_seconds = {seconds}, this run's rules say {}; compute them with the same rules file (`listwash profiles --rules FILE`) for the same decisions",
                crate::render::escape_controls(&path.display().to_string()),
                rules.scanner_click_seconds
            ));
        }
    }
    let uses_sent = merged.iter().any(|(_, s)| s.profile.sends > 0)
        || !merged.iter().any(|(_, s)| s.profile.deliveries > 0);
    // The logs' events from the day after `as_of` on would be ignored: profiles holding
    // such events cannot give the same decisions.
    let until = as_of
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp());
    let later = merged
        .iter()
        .filter(|(_, s)| until.is_some_and(|u| s.profile.last_event.is_some_and(|t| t >= u)))
        .count();
    if later > 0 {
        warnings.push(format!(
            "{later} of {} profiles hold events after --as-of {as_of}, which `clean --engagement` would ignore; compute the profiles with `listwash profiles --as-of {as_of}` (or normalise the events with `listwash events normalize --as-of {as_of}`) for the same decisions",
            merged.len()
        ));
    }
    let stats = LogStats {
        files: paths.to_vec(),
        distinct_addresses: merged.len() as u64,
        sends_counted_from: if uses_sent { "sent" } else { "delivered" },
        warnings,
        ..LogStats::default()
    };
    let profiles = merged.into_iter().map(move |(email, stored)| {
        (
            crate::normalize::key(&email),
            stored.into_profile(uses_sent),
        )
    });
    Ok(History::from_profiles(profiles, stats))
}
