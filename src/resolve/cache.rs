//! The persistent domain cache: a `redb` file mapping a domain to its last answer and expiry.
//!
//! redb locks the whole file while a `Database` is open, so a run never keeps it open: it opens
//! the file briefly to look up a batch of domains, and once at the end to write every new answer
//! in one transaction. When another run holds the lock, it retries for a short while and then
//! goes on without the cache (with one warning). The cache is never a reason for a run to fail.
//!
//! listwash only ever writes to a file it recognises as its own (issue 16, item 1): before each
//! open the file is inspected through the very handle redb then uses. A missing file is created
//! (never following a dangling link), an empty regular file is initialised (it holds nothing to
//! lose; a run that created the file and died before redb wrote its header leaves one), a
//! regular file that starts with redb's header is used, and if redb finds such a file corrupt it
//! is emptied and rebuilt. Anything else (other content, a device, a FIFO, a directory) is never
//! opened for writing: the run goes on without a cache, with one warning naming the file.
//!
//! redb may panic on a file damaged behind its back (it does not re-check the file on each
//! open). Every redb call runs under [`quietly`]: the panic becomes a warning, and the default
//! panic message is not printed (issue 16, item 12).

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redb::backends::FileBackend;
use redb::{Database, DatabaseError, ReadableDatabase, TableDefinition, TableHandle};
use serde::{Deserialize, Serialize};

use super::classify::provider_name;
use super::{DomainInfo, DomainStatus, Warner};

/// Domain → JSON-encoded [`Entry`]. The `_v1` suffix is the entry format's version.
pub(super) const DOMAINS: TableDefinition<&str, &[u8]> = TableDefinition::new("domains_v1");

/// How long to wait for another run to release the file before going on without it.
pub(super) const LOCK_WAIT: Duration = Duration::from_secs(3);

/// Memory redb may use for its page cache while the file is open.
const PAGE_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// The first bytes of every redb file (redb 4's `MAGICNUMBER`): how the cache is recognised.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// One cached answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(super) status: DomainStatus,
    mx_hosts: Vec<String>,
    parked: bool,
    provider: Option<String>,
    detail: String,
    /// Unix time in milliseconds after which the entry must be re-queried.
    pub(super) expires_ms: u64,
    /// Unix time in milliseconds when the answer was received (absent in entries written
    /// before `listwash cache stats` existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) stored_ms: Option<u64>,
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
            stored_ms: Some(now_ms()),
        }
    }

    pub(super) fn into_info(self) -> DomainInfo {
        DomainInfo {
            status: self.status,
            mx_hosts: self.mx_hosts,
            parked: self.parked,
            provider: self.provider.as_deref().and_then(provider_name),
            detail: self.detail,
        }
    }
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The cache file of one run.
pub(crate) struct Cache {
    pub(super) path: PathBuf,
}

/// Why the file could not be opened.
pub(super) enum OpenError {
    /// Another run held the lock for longer than [`LOCK_WAIT`].
    Busy,
    /// The file is not a listwash cache (what it is instead): it is never written to.
    Foreign(String),
    /// redb refused or failed on it (corrupt, damaged): a rebuild may help.
    Broken(String),
    /// It cannot be created, opened, read or emptied (permissions, a read-only disk).
    Unusable(String),
}

/// How [`Cache::with_db`] opens the file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Open (or create), checking the whole file first when `true`.
    Open(bool),
    /// Empty a corrupt cache (verified to start with redb's header) and create it afresh.
    Rebuild,
}

impl Cache {
    /// Opens (creating or rebuilding as needed) the cache at `path`, checking its integrity.
    /// Returns `None`, after one warning, when the run has to go on without a cache.
    pub(crate) fn open(path: &Path, warner: &Warner) -> Option<Cache> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            warner.warn(&format!(
                "domain cache {}: cannot create its directory ({e}); running without the cache \
                 (give --cache a writable location, or --no-cache)",
                path.display()
            ));
            return None;
        }
        let cache = Cache {
            path: path.to_path_buf(),
        };
        // Open it once, checking it; if redb finds it corrupt, rebuild it, once.
        let mut mode = Mode::Open(true);
        loop {
            match cache.with_db(mode, |db| cache.check_tables(db)) {
                Ok(()) => return Some(cache),
                Err(OpenError::Busy) => {
                    cache.warn_busy(warner);
                    // Another run is using it: later brief opens may still succeed.
                    return Some(cache);
                }
                Err(OpenError::Foreign(what)) => {
                    cache.warn_foreign(&what, warner);
                    return None;
                }
                Err(OpenError::Unusable(why)) => {
                    warner.warn(&format!(
                        "domain cache {}: {why}; running without the cache \
                         (give --cache a writable location, or --no-cache)",
                        path.display()
                    ));
                    return None;
                }
                Err(OpenError::Broken(why)) if mode == Mode::Rebuild => {
                    warner.warn(&format!(
                        "domain cache {}: cannot create it ({why}); running without the cache \
                         (give --cache a writable location, or --no-cache)",
                        path.display()
                    ));
                    return None;
                }
                Err(OpenError::Broken(why)) => {
                    warner.warn(&format!(
                        "domain cache {} is corrupt or unreadable ({why}); rebuilding it",
                        path.display()
                    ));
                    mode = Mode::Rebuild;
                }
            }
        }
    }

    /// A redb file holding tables other than ours is another program's database.
    fn check_tables(&self, db: &Database) -> Result<(), OpenError> {
        let txn = db
            .begin_read()
            .map_err(|e| OpenError::Broken(e.to_string()))?;
        let tables = txn
            .list_tables()
            .map_err(|e| OpenError::Broken(e.to_string()))?;
        for table in tables {
            if table.name() != DOMAINS.name() {
                return Err(OpenError::Foreign("another program's redb database".into()));
            }
        }
        Ok(())
    }

    fn warn_busy(&self, warner: &Warner) {
        warner.warn(&format!(
            "domain cache {} is locked by another listwash run; some answers are not cached this time",
            self.path.display()
        ));
    }

    fn warn_foreign(&self, what: &str, warner: &Warner) {
        warner.warn(&format!(
            "{} and this run goes on without a cache (give --cache a new file name, or --no-cache)",
            foreign_message(&self.path, what)
        ));
    }

    /// Warns about a failed open after the first one (`action`: what did not happen).
    fn warn_failure(&self, error: OpenError, action: &str, warner: &Warner) {
        match error {
            OpenError::Busy => warner.warn(&format!(
                "domain cache {} is locked by another listwash run; {action} (nothing to do)",
                self.path.display()
            )),
            OpenError::Foreign(what) => self.warn_foreign(&what, warner),
            OpenError::Broken(why) => warner.warn(&format!(
                "domain cache {}: {action} ({why}); the next run checks and rebuilds it \
                 (or delete the file)",
                self.path.display()
            )),
            OpenError::Unusable(why) => warner.warn(&format!(
                "domain cache {}: {action} ({why}); give --cache a writable location, \
                 or --no-cache",
                self.path.display()
            )),
        }
    }

    /// The fresh entries among `domains`. Expired and undecodable entries are left out (they
    /// are queried again and overwritten at the end).
    pub(crate) fn get_many(
        &self,
        domains: &[&str],
        warner: &Warner,
    ) -> HashMap<String, DomainInfo> {
        let now = now_ms();
        let result = self.with_db(Mode::Open(false), |db| {
            let broken = |e: &dyn std::fmt::Display| OpenError::Broken(e.to_string());
            let txn = db.begin_read().map_err(|e| broken(&e))?;
            let table = match txn.open_table(DOMAINS) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(HashMap::new()),
                Err(e) => return Err(broken(&e)),
            };
            let mut found = HashMap::new();
            for domain in domains {
                let Some(value) = table.get(*domain).map_err(|e| broken(&e))? else {
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
        result.unwrap_or_else(|error| {
            self.warn_failure(
                error,
                "some answers could not be read from it this time",
                warner,
            );
            HashMap::new()
        })
    }

    /// Writes `entries` in one transaction. `Unknown` answers are never stored.
    pub(crate) fn put_many(&self, entries: &[(String, Entry)], warner: &Warner) {
        if entries.is_empty() {
            return;
        }
        let result = self.with_db(Mode::Open(false), |db| {
            let broken = |e: &dyn std::fmt::Display| OpenError::Broken(e.to_string());
            let txn = db.begin_write().map_err(|e| broken(&e))?;
            {
                let mut table = txn.open_table(DOMAINS).map_err(|e| broken(&e))?;
                for (domain, entry) in entries {
                    if entry.status == DomainStatus::Unknown {
                        continue;
                    }
                    let bytes = serde_json::to_vec(entry).map_err(|e| broken(&e))?;
                    table
                        .insert(domain.as_str(), bytes.as_slice())
                        .map_err(|e| broken(&e))?;
                }
            }
            txn.commit().map_err(|e| broken(&e))
        });
        if let Err(error) = result {
            self.warn_failure(error, "this run's answers were not saved", warner);
        }
    }

    /// Opens the file (waiting up to [`LOCK_WAIT`] for another run), runs `work`, closes it.
    /// The file is inspected first ([`inspect`]); a foreign file is never handed to redb.
    pub(super) fn with_db<T>(
        &self,
        mode: Mode,
        work: impl Fn(&mut Database) -> Result<T, OpenError>,
    ) -> Result<T, OpenError> {
        let deadline = Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_millis(5);
        loop {
            let (file, content) = inspect(&self.path)?;
            if mode == Mode::Rebuild {
                if content != Content::Redb {
                    return Err(not_redb());
                }
                // Verified just now, through this handle, to start with redb's header.
                file.set_len(0)
                    .map_err(|e| OpenError::Unusable(format!("cannot empty it: {e}")))?;
            }
            let check_integrity = mode != Mode::Open(false);
            // The database is opened, used and dropped inside `quietly`: redb may panic on a
            // file altered behind its back, and a broken cache must never take the run down.
            let outcome = quietly(|| {
                let backend = FileBackend::new(file)?;
                let mut db = Database::builder()
                    .set_cache_size(PAGE_CACHE_BYTES)
                    .set_check_integrity_on_open(check_integrity)
                    .create_with_backend(backend)?;
                Ok(work(&mut db))
            });
            match outcome {
                Some(Ok(result)) => return result,
                Some(Err(DatabaseError::DatabaseAlreadyOpen)) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Some(Err(DatabaseError::DatabaseAlreadyOpen)) => return Err(OpenError::Busy),
                Some(Err(_)) if content == Content::Unstamped => return Err(not_redb()),
                Some(Err(e)) => return Err(OpenError::Broken(e.to_string())),
                None => {
                    return Err(OpenError::Broken(
                        "the cache library stopped on a damaged file".into(),
                    ));
                }
            }
        }
    }
}

/// What [`inspect`] found at the cache path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Content {
    /// Empty (new): redb initialises it.
    Empty,
    /// Starts with redb's header.
    Redb,
    /// Starts with zero bytes where the header goes: redb writes its header last when it
    /// initialises a file, so another run may be doing so right now. redb itself refuses such
    /// a file unless that run holds its lock (then it is busy); a refusal makes it foreign.
    Unstamped,
}

/// Opens the file at `path` for redb, if and only if it is (or may become) a listwash cache:
/// a new file (created here), an empty regular file, or a regular file starting with redb's
/// header (or with zeros in its place, see [`Content::Unstamped`]). Devices, FIFOs and
/// directories are recognised from their metadata and never opened.
fn inspect(path: &Path) -> Result<(File, Content), OpenError> {
    let file = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return Err(OpenError::Foreign(describe(&meta))),
        Ok(_) => open_existing(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // `create_new` never follows a symbolic link (a dangling one is refused).
            let mut options = OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(file) => return Ok((file, Content::Empty)),
                // Another run created it just now, or a dangling symbolic link.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    match std::fs::metadata(path) {
                        Ok(meta) if meta.is_file() => open_existing(path)?,
                        Ok(meta) => return Err(OpenError::Foreign(describe(&meta))),
                        Err(_) => {
                            return Err(OpenError::Foreign("a dangling symbolic link".into()));
                        }
                    }
                }
                Err(e) => return Err(OpenError::Unusable(format!("cannot create it: {e}"))),
            }
        }
        Err(e) => return Err(OpenError::Unusable(format!("cannot open it: {e}"))),
    };
    classify(file)
}

/// Opens an existing regular file read-write. When only reading is allowed, the file is
/// classified anyway, so that someone else's read-only file is reported as not a cache.
fn open_existing(path: &Path) -> Result<File, OpenError> {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => Ok(file),
        Err(e) => {
            if let Ok(file) = File::open(path)
                && let Err(foreign @ OpenError::Foreign(_)) = classify(file)
            {
                return Err(foreign);
            }
            Err(OpenError::Unusable(format!(
                "cannot open it for writing: {e}"
            )))
        }
    }
}

/// Checks, on the handle itself (the path may have been swapped since it was looked at),
/// that the file is a regular file that is empty or starts with redb's header.
fn classify(file: File) -> Result<(File, Content), OpenError> {
    let cannot_read = |e: std::io::Error| OpenError::Unusable(format!("cannot read it: {e}"));
    let meta = file.metadata().map_err(cannot_read)?;
    if !meta.is_file() {
        return Err(OpenError::Foreign(describe(&meta)));
    }
    if meta.len() == 0 {
        return Ok((file, Content::Empty));
    }
    let mut start = [0u8; REDB_MAGIC.len()];
    let mut read = 0;
    while read < start.len() {
        match (&file).read(&mut start[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(cannot_read(e)),
        }
    }
    match start {
        _ if read < start.len() => Err(not_redb()),
        REDB_MAGIC => Ok((file, Content::Redb)),
        [0, 0, 0, 0, 0, 0, 0, 0, 0] => Ok((file, Content::Unstamped)),
        _ => Err(not_redb()),
    }
}

/// The start of the message about a file that is not a listwash cache (the same for `clean`'s
/// warning and for `listwash cache`'s refusal).
pub(super) fn foreign_message(path: &Path, what: &str) -> String {
    format!(
        "domain cache {} is not a listwash cache ({what}); it was left untouched",
        path.display()
    )
}

fn not_redb() -> OpenError {
    OpenError::Foreign("its content does not start with a redb database header".into())
}

/// What a file that is not a regular file is, for the warning.
fn describe(meta: &std::fs::Metadata) -> String {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory".into();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() || kind.is_block_device() {
            return "a device".into();
        }
        if kind.is_fifo() {
            return "a FIFO".into();
        }
        if kind.is_socket() {
            return "a socket".into();
        }
    }
    "not a regular file".into()
}

thread_local! {
    /// True while this thread runs redb code under [`quietly`].
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic into `None` without printing the panic message.
///
/// The process's panic hook is wrapped once: panics on a thread inside `quietly` are silent,
/// every other panic goes to the hook that was there before (chained, not replaced).
fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    static WRAP_HOOK: Once = Once::new();
    WRAP_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = QUIET.with(|q| q.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(outer));
    result.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn warner() -> (Warner, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let warner = Warner::new(Arc::new(move |w: &str| {
            sink.lock().unwrap().push(w.to_string())
        }));
        (warner, seen)
    }

    fn info() -> DomainInfo {
        DomainInfo {
            status: DomainStatus::Ok,
            mx_hosts: vec!["mx.example.net".into()],
            parked: false,
            provider: None,
            detail: "MX 10 mx.example.net".into(),
        }
    }

    fn entries(n: usize) -> Vec<(String, Entry)> {
        (0..n)
            .map(|i| {
                (
                    format!("domain-{i}.com"),
                    Entry::new(&info(), Duration::from_secs(3600)),
                )
            })
            .collect()
    }

    #[test]
    fn a_new_file_is_created_and_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.redb");
        let (warner, seen) = warner();
        let cache = Cache::open(&path, &warner).unwrap();
        cache.put_many(&entries(3), &warner);
        assert_eq!(cache.get_many(&["domain-1.com", "x.com"], &warner).len(), 1);
        assert!(seen.lock().unwrap().is_empty());
        assert!(std::fs::read(&path).unwrap().starts_with(&REDB_MAGIC));
    }

    // See: #16 item 12
    #[test]
    fn a_cache_damaged_during_a_run_is_a_warning_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.redb");
        let (warner, seen) = warner();
        let cache = Cache::open(&path, &warner).unwrap();
        cache.put_many(&entries(2000), &warner);
        // Damaged behind redb's back after the checked open: everything but the header.
        let mut bytes = std::fs::read(&path).unwrap();
        for (i, byte) in bytes.iter_mut().enumerate().skip(4096) {
            *byte = (i % 251) as u8;
        }
        std::fs::write(&path, &bytes).unwrap();
        let names: Vec<String> = (0..2000).map(|i| format!("domain-{i}.com")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let found = cache.get_many(&names, &warner);
        cache.put_many(&entries(10), &warner);
        let seen = seen.lock().unwrap();
        assert!(found.len() < 2000);
        assert!(
            seen.iter()
                .any(|w| w.contains("not saved") && w.contains("damaged")),
            "the damage is reported: {seen:?}"
        );
    }
}
