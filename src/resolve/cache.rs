//! The persistent domain cache: a `redb` file mapping a domain to its last answer and expiry.
//!
//! redb locks the whole file while a `Database` is open, so a run never keeps it open: it opens
//! the file briefly to look up a batch of domains, and once at the end to write every new answer
//! in one transaction. When another run holds the lock, it retries for a short while and then
//! goes on without the cache (with one warning). A corrupt or unreadable file is reported,
//! deleted and rebuilt; the cache is never a reason for a run to fail.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redb::{Database, DatabaseError, ReadableDatabase, TableDefinition};
use serde::{Deserialize, Serialize};

use super::classify::provider_name;
use super::{DomainInfo, DomainStatus, Warner};

/// Domain → JSON-encoded [`Entry`]. The `_v1` suffix is the entry format's version.
const DOMAINS: TableDefinition<&str, &[u8]> = TableDefinition::new("domains_v1");

/// How long to wait for another run to release the file before going on without it.
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// Memory redb may use for its page cache while the file is open.
const PAGE_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// One cached answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    status: DomainStatus,
    mx_hosts: Vec<String>,
    parked: bool,
    provider: Option<String>,
    detail: String,
    /// Unix time in milliseconds after which the entry must be re-queried.
    expires_ms: u64,
}

impl Entry {
    /// An entry for `info`, fresh for `ttl` from now.
    pub(crate) fn new(info: &DomainInfo, ttl: Duration) -> Entry {
        Entry {
            status: info.status,
            mx_hosts: info.mx_hosts.clone(),
            parked: info.parked,
            provider: info.provider.map(str::to_string),
            detail: info.detail.clone(),
            expires_ms: now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    fn into_info(self) -> DomainInfo {
        DomainInfo {
            status: self.status,
            mx_hosts: self.mx_hosts,
            parked: self.parked,
            provider: self.provider.as_deref().and_then(provider_name),
            detail: self.detail,
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The cache file of one run.
pub(crate) struct Cache {
    path: PathBuf,
}

/// Why the file could not be opened.
enum OpenError {
    /// Another run held the lock for longer than [`LOCK_WAIT`].
    Busy,
    /// Anything else (corrupt, unreadable, unwritable).
    Broken(String),
}

impl Cache {
    /// Opens (creating or rebuilding as needed) the cache at `path`, checking its integrity.
    /// Returns `None`, after a warning, when the run has to go on without a cache.
    pub(crate) fn open(path: &Path, warner: &Warner) -> Option<Cache> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            warner.warn(&format!(
                "domain cache {}: cannot create its directory ({e}); running without the cache",
                path.display()
            ));
            return None;
        }
        let cache = Cache {
            path: path.to_path_buf(),
        };
        // Open it once; if it is corrupt, delete it and create it afresh, once.
        let mut rebuilt = false;
        loop {
            match cache.with_db(!rebuilt, |_| Ok(())) {
                Ok(()) => return Some(cache),
                Err(OpenError::Busy) => {
                    cache.warn_busy(warner);
                    // Another run is using it: later brief opens may still succeed.
                    return Some(cache);
                }
                Err(OpenError::Broken(why)) if rebuilt => {
                    warner.warn(&format!(
                        "domain cache {}: cannot create it ({why}); running without the cache",
                        path.display()
                    ));
                    return None;
                }
                Err(OpenError::Broken(why)) => {
                    warner.warn(&format!(
                        "domain cache {} is corrupt or unreadable ({why}); rebuilding it",
                        path.display()
                    ));
                    if let Err(e) = std::fs::remove_file(path)
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        warner.warn(&format!(
                            "domain cache {}: cannot delete it ({e}); running without the cache",
                            path.display()
                        ));
                        return None;
                    }
                    rebuilt = true;
                }
            }
        }
    }

    fn warn_busy(&self, warner: &Warner) {
        warner.warn(&format!(
            "domain cache {} is locked by another listwash run; some answers are not cached this time",
            self.path.display()
        ));
    }

    /// The fresh entries among `domains`. Expired and undecodable entries are left out (they
    /// are queried again and overwritten at the end).
    pub(crate) fn get_many(
        &self,
        domains: &[&str],
        warner: &Warner,
    ) -> HashMap<String, DomainInfo> {
        let now = now_ms();
        let result = self.with_db(false, |db| {
            let txn = db.begin_read().map_err(|e| e.to_string())?;
            let table = match txn.open_table(DOMAINS) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(HashMap::new()),
                Err(e) => return Err(e.to_string()),
            };
            let mut found = HashMap::new();
            for domain in domains {
                let Some(value) = table.get(*domain).map_err(|e| e.to_string())? else {
                    continue;
                };
                let Ok(entry) = serde_json::from_slice::<Entry>(value.value()) else {
                    continue;
                };
                if entry.expires_ms > now && entry.status != DomainStatus::Unknown {
                    found.insert((*domain).to_string(), entry.into_info());
                }
            }
            Ok(found)
        });
        match result {
            Ok(found) => found,
            Err(OpenError::Busy) => {
                self.warn_busy(warner);
                HashMap::new()
            }
            Err(OpenError::Broken(why)) => {
                warner.warn(&format!(
                    "domain cache {}: cannot read it ({why})",
                    self.path.display()
                ));
                HashMap::new()
            }
        }
    }

    /// Writes `entries` in one transaction. `Unknown` answers are never stored.
    pub(crate) fn put_many(&self, entries: &[(String, Entry)], warner: &Warner) {
        if entries.is_empty() {
            return;
        }
        let result = self.with_db(false, |db| {
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            {
                let mut table = txn.open_table(DOMAINS).map_err(|e| e.to_string())?;
                for (domain, entry) in entries {
                    if entry.status == DomainStatus::Unknown {
                        continue;
                    }
                    let bytes = serde_json::to_vec(entry).map_err(|e| e.to_string())?;
                    table
                        .insert(domain.as_str(), bytes.as_slice())
                        .map_err(|e| e.to_string())?;
                }
            }
            txn.commit().map_err(|e| e.to_string())
        });
        match result {
            Ok(()) => {}
            Err(OpenError::Busy) => warner.warn(&format!(
                "domain cache {} is locked by another listwash run; this run's answers were not saved",
                self.path.display()
            )),
            Err(OpenError::Broken(why)) => warner.warn(&format!(
                "domain cache {}: cannot save this run's answers ({why})",
                self.path.display()
            )),
        }
    }

    /// Opens the file (waiting up to [`LOCK_WAIT`] for another run), runs `work`, closes it.
    fn with_db<T>(
        &self,
        check_integrity: bool,
        work: impl FnOnce(&Database) -> Result<T, String>,
    ) -> Result<T, OpenError> {
        let deadline = Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_millis(5);
        let db = loop {
            // redb may panic on a file altered outside redb when the integrity check is off;
            // a broken cache must never take the run down.
            let opened = catch_unwind(AssertUnwindSafe(|| {
                Database::builder()
                    .set_cache_size(PAGE_CACHE_BYTES)
                    .set_check_integrity_on_open(check_integrity)
                    .create(&self.path)
            }));
            match opened {
                Ok(Ok(db)) => break db,
                Ok(Err(DatabaseError::DatabaseAlreadyOpen)) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Ok(Err(DatabaseError::DatabaseAlreadyOpen)) => return Err(OpenError::Busy),
                Ok(Err(e)) => return Err(OpenError::Broken(e.to_string())),
                Err(_) => return Err(OpenError::Broken("the cache library panicked".into())),
            }
        };
        match catch_unwind(AssertUnwindSafe(|| work(&db))) {
            Ok(result) => result.map_err(OpenError::Broken),
            Err(_) => Err(OpenError::Broken("the cache library panicked".into())),
        }
    }
}
