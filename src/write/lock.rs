//! One run per output folder: an exclusive advisory lock on `.listwash.lock` in `--out-dir`.
//!
//! Consumes an output folder; produces an [`OutputLock`] held for the whole run, with the
//! holder's PID written in the file for the message another run prints. The kernel drops the
//! lock when its process dies, so a lock left by a killed run is taken over by the next one
//! without any guessing from PIDs. The file is removed when the lock is released; a run that
//! opened it just before may then lock a file that is no longer there, which is why every run
//! checks, once locked, that the path still names the file it holds. Never follows a symlink
//! placed at the lock file's name, and never waits unless asked to.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The lock file's name in the output folder.
pub const LOCK_FILE: &str = ".listwash.lock";

/// Times the lock file may vanish or be replaced under us before giving up.
const ATTEMPTS: usize = 100;

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(50);

/// The output folder's lock, held until dropped (the lock file is then removed).
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
}

impl OutputLock {
    /// Takes the lock of the output folder `dir` (which must exist). With `wait`, tries again
    /// until that much time has passed; without, fails at once when another run holds it.
    ///
    /// # Errors
    /// [`Error::OutputLocked`] naming the holder's PID when another run holds the lock;
    /// [`Error::Lock`] when the lock file cannot be created, opened or locked.
    pub fn acquire(dir: &Path, wait: Option<Duration>) -> Result<OutputLock> {
        let path = dir.join(LOCK_FILE);
        // A wait too long to add to the clock (`--wait` with no limit) never ends.
        let started = Instant::now();
        let waiting = |wait: Duration| started.checked_add(wait).is_none_or(|d| Instant::now() < d);
        let lock_error = |source| Error::Lock {
            path: path.clone(),
            source,
        };
        let mut attempts = 0;
        // Waiting for a holder costs no attempt; only a lock file that vanishes or is
        // replaced under us does.
        while attempts < ATTEMPTS {
            attempts += 1;
            let Some((file, writable)) = open(&path).map_err(lock_error)? else {
                continue; // removed between our two opens: try again
            };
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    if wait.is_some_and(waiting) {
                        attempts -= 1;
                        std::thread::sleep(POLL);
                        continue;
                    }
                    return Err(Error::OutputLocked {
                        dir: dir.to_path_buf(),
                        pid: holder(&file),
                    });
                }
                Err(TryLockError::Error(source)) => return Err(lock_error(source)),
            }
            if !same_file(&file, &path) {
                continue; // the previous holder removed it as it let go
            }
            if !writable {
                // Another user's file, left unlocked: replace it with one we can write.
                std::fs::remove_file(&path).map_err(lock_error)?;
                continue;
            }
            let mut lock = OutputLock {
                file,
                path: path.clone(),
            };
            lock.write_pid().map_err(lock_error)?;
            crate::interrupt::register(&path);
            return Ok(lock);
        }
        Err(lock_error(std::io::Error::other(
            "it keeps being replaced or is not a regular file",
        )))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_pid(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.rewind()?;
        writeln!(self.file, "{}", std::process::id())
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked, and only if it is still ours; the lock itself goes
        // with the file handle.
        crate::interrupt::forget(&self.path);
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Opens or creates the lock file: `None` when it vanished between the attempts, else the
/// file and whether it could be opened for writing.
fn open(path: &Path) -> std::io::Result<Option<(File, bool)>> {
    let mut create = OpenOptions::new();
    create.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o644);
    // `create_new` never follows a symlink; an existing name is checked before it is opened,
    // and `same_file` catches a swap in between.
    match create.open(path) {
        Ok(file) => return Ok(Some((file, true))),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => {}
        Ok(_) => {
            return Err(std::io::Error::other(
                "it is not a regular file; remove it if no listwash run is using the folder",
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let opened = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => Ok((file, true)),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            File::open(path).map(|file| (file, false))
        }
        Err(e) => Err(e),
    };
    match opened {
        Ok(pair) => Ok(Some(pair)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The PID written by the holder, if it wrote one yet.
fn holder(mut file: &File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(64).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Returns true if and only if `path` (not following a symlink) names the open `file`.
#[cfg(unix)]
pub(super) fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
pub(super) fn same_file(_file: &File, path: &Path) -> bool {
    path.is_file()
}
