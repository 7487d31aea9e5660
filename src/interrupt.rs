//! Interruption: the run's temporary files, so that a signal can always remove them.
//!
//! The binary's signal handler sets the run's cancel flag; the pipeline notices it at every
//! stage (between batches, in DNS waits, while a read is stalled) and unwinds, and dropping
//! the unfinished outputs removes their temporaries. Some waits cannot be broken from
//! outside (a read blocked in the kernel, a polars scan): for those the handler calls
//! [`remove_temporaries`] after a grace period and exits. Publishing holds the same lock
//! ([`publishing`]), so temporaries are never removed half-way through moving the outputs in.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Temporary files and folders this process created and has not yet published or removed.
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Set once the outputs are in place: an interruption after that changes nothing.
static PUBLISHED: AtomicBool = AtomicBool::new(false);

/// Notes that the outputs were published.
pub fn mark_published() {
    PUBLISHED.store(true, Ordering::SeqCst);
}

/// Returns true if and only if this process published its outputs.
pub fn is_published() -> bool {
    PUBLISHED.load(Ordering::SeqCst)
}

fn registry() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while the lock was held leaves the list intact: keep using it.
    TEMPORARIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Notes a temporary file or folder to remove if the run is interrupted.
pub fn register(path: &Path) {
    registry().push(path.to_path_buf());
}

/// Forgets a temporary (it was published or removed).
pub fn forget(path: &Path) {
    registry().retain(|p| p != path);
}

/// Holds off [`remove_temporaries`] while the outputs are moved into place.
pub fn publishing() -> MutexGuard<'static, Vec<PathBuf>> {
    registry()
}

/// Removes every registered temporary (files, or folders with what they hold). Returns how
/// many could not be removed.
pub fn remove_temporaries() -> usize {
    let mut list = registry();
    let mut failed = 0;
    for path in list.drain(..) {
        let removed = match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        if removed.is_err() {
            failed += 1;
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_registered_files_and_folders_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.tmp");
        let folder = dir.path().join("private");
        let kept = dir.path().join("kept.csv");
        std::fs::write(&file, "x").expect("write");
        std::fs::create_dir(&folder).expect("mkdir");
        std::fs::write(folder.join("clean.csv"), "x").expect("write");
        std::fs::write(&kept, "x").expect("write");
        register(&file);
        register(&folder);
        register(&kept);
        forget(&kept);
        assert_eq!(remove_temporaries(), 0);
        assert!(!file.exists() && !folder.exists());
        assert!(kept.exists());
        assert_eq!(remove_temporaries(), 0);
    }
}
