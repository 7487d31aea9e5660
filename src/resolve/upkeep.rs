//! Cache upkeep for cron jobs: `listwash cache stats` and `listwash cache prune` (issue 13,
//! part 4).
//!
//! Consumes the path of a domain cache and produces counts ([`CacheStats`], [`PruneOutcome`]).
//! The file is opened exactly as a `clean` run opens it ([`Cache::with_db`]): the same check
//! that it is a listwash cache before redb sees it, the same wait for another run's lock
//! ([`LOCK_WAIT`]), and every redb call guarded against panics. It never creates a cache that
//! does not exist, never initialises an empty file, never writes to a file that is not a
//! listwash cache, and never rebuilds a corrupt one (the next `clean` run does). A busy,
//! foreign, corrupt or unusable file is an [`Error::Cache`] whose message says what to do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableHandle};
use serde::Serialize;

use super::cache::{Cache, DOMAINS, Entry, LOCK_WAIT, Mode, OpenError, foreign_message, now_ms};
use crate::error::{Error, Result};

/// Where `clean` keeps the cache when `--cache` is not given: `listwash/domains.redb` under
/// the user's cache directory (`None` when the system has none).
pub fn default_cache_path() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("listwash").join("domains.redb"))
}

/// What `listwash cache stats` reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheStats {
    /// The cache file.
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub path: PathBuf,
    /// The file exists (when it does not, every count is 0).
    pub exists: bool,
    /// Size of the file on disk, in bytes.
    pub size_bytes: u64,
    /// Entries stored (expired ones included).
    pub entries: u64,
    /// Entries per domain status (`ok`, `no_domain`, …).
    pub by_status: BTreeMap<&'static str, u64>,
    /// Entries past their expiry: no run uses them, `cache prune` removes them.
    pub expired: u64,
    /// Entries that cannot be decoded (another version's format): `cache prune` removes them.
    pub unreadable: u64,
    /// When the oldest entry was stored (UTC, RFC 3339).
    pub oldest_stored: Option<String>,
    /// When the newest entry was stored.
    pub newest_stored: Option<String>,
    /// Entries written by a version that did not record when (not in the two above).
    pub without_stored_time: u64,
    /// The soonest expiry among the entries still fresh.
    pub next_expiry: Option<String>,
}

/// What `listwash cache prune` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneOutcome {
    /// The cache file.
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub path: PathBuf,
    /// The file exists (when it does not, nothing was done).
    pub exists: bool,
    /// Expired entries removed.
    pub removed_expired: u64,
    /// Undecodable entries removed.
    pub removed_unreadable: u64,
    /// Entries left.
    pub remaining: u64,
    /// Size of the file before, in bytes.
    pub size_before: u64,
    /// Size of the file after (compacted when something was removed).
    pub size_after: u64,
}

/// One stored entry, decoded or not.
fn decode(bytes: &[u8]) -> Option<Entry> {
    serde_json::from_slice::<Entry>(bytes).ok()
}

pub(super) fn time(ms: u64) -> Option<String> {
    let ms = i64::try_from(ms).ok()?;
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The file's size, `None` when it does not exist (a dangling link counts as missing: nothing
/// is created there).
fn size_of(path: &Path) -> Result<Option<u64>> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some(meta.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Cache {
            path: path.to_path_buf(),
            message: format!(
                "domain cache {}: cannot look at it ({e}); check the path and its permissions",
                path.display()
            ),
        }),
    }
}

/// Turns a failed open into the command's error; `nothing`: what did not happen.
fn open_error(path: &Path, error: OpenError, nothing: &str) -> Error {
    let shown = path.display();
    let message = match error {
        OpenError::Busy => format!(
            "domain cache {shown} is locked by another listwash run (waited {} s for it); \
             {nothing}; run the command again when that run has finished",
            LOCK_WAIT.as_secs()
        ),
        OpenError::Foreign(what) => format!(
            "{}; {nothing} (give --cache the path of a listwash domain cache)",
            foreign_message(path, &what)
        ),
        OpenError::Broken(why) => format!(
            "domain cache {shown} is corrupt or unreadable ({why}); {nothing}; the next clean \
             run rebuilds it (or delete the file)"
        ),
        OpenError::Unusable(why) => {
            format!("domain cache {shown}: {why}; {nothing}; check the file's permissions")
        }
    };
    Error::Cache {
        path: path.to_path_buf(),
        message,
    }
}

/// A redb file holding tables other than ours is another program's database: not touched.
fn only_our_table(db: &Database) -> std::result::Result<(), OpenError> {
    let broken = |e: &dyn std::fmt::Display| OpenError::Broken(e.to_string());
    let txn = db.begin_read().map_err(|e| broken(&e))?;
    for table in txn.list_tables().map_err(|e| broken(&e))? {
        if table.name() != DOMAINS.name() {
            return Err(OpenError::Foreign("another program's redb database".into()));
        }
    }
    Ok(())
}

/// Counts the entries of the cache at `path` (see [`CacheStats`]).
///
/// # Errors
/// [`Error::Cache`] when the file is locked for longer than a few seconds, is not a listwash
/// cache, is corrupt, or cannot be opened.
pub fn cache_stats(path: &Path) -> Result<CacheStats> {
    let mut stats = CacheStats {
        path: path.to_path_buf(),
        ..CacheStats::default()
    };
    let Some(size) = size_of(path)? else {
        return Ok(stats);
    };
    stats.exists = true;
    if size == 0 && std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        // A new file no run has initialised yet: nothing in it, and left as it is.
        return Ok(stats);
    }
    let cache = Cache {
        path: path.to_path_buf(),
    };
    let now = now_ms();
    let counted = cache.with_db(Mode::Open(true), |db| {
        only_our_table(db)?;
        let broken = |e: &dyn std::fmt::Display| OpenError::Broken(e.to_string());
        let mut stats = stats.clone();
        let txn = db.begin_read().map_err(|e| broken(&e))?;
        let table = match txn.open_table(DOMAINS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(stats),
            Err(e) => return Err(broken(&e)),
        };
        let (mut oldest, mut newest, mut next) = (None::<u64>, None::<u64>, None::<u64>);
        for item in table.iter().map_err(|e| broken(&e))? {
            let (_, value) = item.map_err(|e| broken(&e))?;
            stats.entries += 1;
            let Some(entry) = decode(value.value()) else {
                stats.unreadable += 1;
                continue;
            };
            *stats.by_status.entry(entry.status.as_str()).or_default() += 1;
            if entry.expires_ms <= now {
                stats.expired += 1;
            } else {
                next = Some(next.map_or(entry.expires_ms, |n| n.min(entry.expires_ms)));
            }
            match entry.stored_ms {
                Some(at) => {
                    oldest = Some(oldest.map_or(at, |o| o.min(at)));
                    newest = Some(newest.map_or(at, |n| n.max(at)));
                }
                None => stats.without_stored_time += 1,
            }
        }
        stats.oldest_stored = oldest.and_then(time);
        stats.newest_stored = newest.and_then(time);
        stats.next_expiry = next.and_then(time);
        Ok(stats)
    });
    let mut stats = counted.map_err(|e| open_error(path, e, "nothing was counted"))?;
    stats.size_bytes = size_of(path)?.unwrap_or(0);
    Ok(stats)
}

/// Removes the expired (and undecodable) entries of the cache at `path`, in one transaction,
/// then compacts the file. Entries another run writes meanwhile are kept: the removal and the
/// run's own write are separate transactions under redb's lock.
///
/// # Errors
/// As [`cache_stats`]; then nothing was removed.
pub fn cache_prune(path: &Path) -> Result<PruneOutcome> {
    let mut outcome = PruneOutcome {
        path: path.to_path_buf(),
        ..PruneOutcome::default()
    };
    let Some(size) = size_of(path)? else {
        return Ok(outcome);
    };
    outcome.exists = true;
    outcome.size_before = size;
    outcome.size_after = size;
    if size == 0 && std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(outcome);
    }
    let cache = Cache {
        path: path.to_path_buf(),
    };
    let now = now_ms();
    let pruned = cache.with_db(Mode::Open(true), |db| {
        only_our_table(db)?;
        let broken = |e: &dyn std::fmt::Display| OpenError::Broken(e.to_string());
        let mut outcome = outcome.clone();
        let txn = db.begin_write().map_err(|e| broken(&e))?;
        {
            let mut table = match txn.open_table(DOMAINS) {
                Ok(table) => table,
                Err(e) => return Err(broken(&e)),
            };
            let mut expired = Vec::new();
            let mut unreadable = Vec::new();
            for item in table.iter().map_err(|e| broken(&e))? {
                let (key, value) = item.map_err(|e| broken(&e))?;
                match decode(value.value()) {
                    Some(entry) if entry.expires_ms <= now => expired.push(key.value().to_string()),
                    Some(_) => outcome.remaining += 1,
                    None => unreadable.push(key.value().to_string()),
                }
            }
            for key in expired.iter().chain(&unreadable) {
                table.remove(key.as_str()).map_err(|e| broken(&e))?;
            }
            outcome.removed_expired = expired.len() as u64;
            outcome.removed_unreadable = unreadable.len() as u64;
        }
        txn.commit().map_err(|e| broken(&e))?;
        if outcome.removed_expired + outcome.removed_unreadable > 0 {
            // Gives the freed pages back to the file system; a failure only leaves it larger.
            let _ = db.compact();
        }
        Ok(outcome)
    });
    let mut outcome = pruned.map_err(|e| open_error(path, e, "nothing was pruned"))?;
    outcome.size_after = size_of(path)?.unwrap_or(0);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{DomainInfo, DomainStatus, Warner};
    use std::sync::Arc;
    use std::time::Duration;

    fn entry(ttl: Duration) -> Entry {
        let info = DomainInfo {
            status: DomainStatus::NoDomain,
            ..DomainInfo::unknown("NXDOMAIN".into())
        };
        Entry::new(&info, ttl)
    }

    #[test]
    fn prune_removes_only_expired_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.redb");
        let warner = Warner::new(Arc::new(|_: &str| {}));
        let cache = Cache::open(&path, &warner).unwrap();
        cache.put_many(
            &[
                ("old.com".into(), entry(Duration::ZERO)),
                ("new.com".into(), entry(Duration::from_secs(3600))),
            ],
            &warner,
        );
        let stats = cache_stats(&path).unwrap();
        assert_eq!((stats.entries, stats.expired), (2, 1));
        let outcome = cache_prune(&path).unwrap();
        assert_eq!((outcome.removed_expired, outcome.remaining), (1, 1));
        let stats = cache_stats(&path).unwrap();
        assert_eq!((stats.entries, stats.expired), (1, 0));
        assert_eq!(cache.get_many(&["new.com"], &warner).len(), 1);
    }

    #[test]
    fn a_missing_cache_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.redb");
        assert!(!cache_stats(&path).unwrap().exists);
        assert!(!cache_prune(&path).unwrap().exists);
        assert!(!path.exists());
    }
}
