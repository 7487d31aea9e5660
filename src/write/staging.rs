//! The run's private folder inside `--out-dir`, and publishing its files as one set.
//!
//! Consumes the output folder (locked by the caller) and the names of finished files;
//! produces those files under their final names, all of them or none. The folder is
//! `.listwash-run-XXXXXX` (created 0700, so no other user can swap a file in it), and the
//! run keeps an advisory lock on it, so no run ever removes a folder whose owner is alive.
//!
//! Publishing writes a journal (`publishing`, the names that had no previous version) and
//! syncs it, then for each name keeps the previous file aside as `NAME.previous` in the
//! private folder (a hard link, or a rename where links are not possible) and renames the new
//! file over the final name. When a step fails, [`roll_back`] puts every previous file back
//! and removes the new files that had none, so the previous set stays whole. Once all moves
//! are done and synced the journal is removed: that is the commit point. A folder found with
//! a journal (its run died between two moves) is rolled back the same way by the next run
//! before it removes the folder. Never touches a file of the output folder whose name is not
//! one of the outputs, and never removes a private folder another live run holds.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The start of a private folder's name.
pub(super) const PREFIX: &str = ".listwash-run-";

/// The journal's name in a private folder.
const JOURNAL: &str = "publishing";

/// The suffix of a previous output kept aside while publishing.
const PREVIOUS: &str = ".previous";

/// A private folder of one run, removed when dropped unless it must be kept.
#[derive(Debug)]
pub(super) struct Staging {
    out_dir: PathBuf,
    path: PathBuf,
    /// Locked for the run's whole life: the sign, for later runs, that its owner is alive.
    _guard: File,
    /// Left in place for the next run to repair (a roll-back failed).
    keep: bool,
}

impl Staging {
    /// Creates a new private folder in `out_dir`, after repairing and removing the folders
    /// that dead runs left. The caller holds the output folder's lock.
    pub(super) fn create(out_dir: &Path) -> Result<Staging> {
        remove_stale(out_dir)?;
        let write_error = |source| Error::Write {
            path: out_dir.to_path_buf(),
            source,
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(PREFIX);
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let path = builder.tempdir_in(out_dir).map_err(write_error)?.keep();
        // A signal that the run cannot answer in time removes it (crate::interrupt).
        crate::interrupt::register(&path);
        let guard = File::open(&path).map_err(|source| {
            let _ = std::fs::remove_dir_all(&path);
            write_error(source)
        })?;
        // A fresh folder no other run knows of: the lock cannot be busy.
        let _ = guard.try_lock();
        Ok(Staging {
            out_dir: out_dir.to_path_buf(),
            path,
            _guard: guard,
            keep: false,
        })
    }

    /// The folder.
    #[cfg(test)]
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The final path of the output `name`.
    pub(super) fn out_path(&self, name: &str) -> PathBuf {
        self.out_dir.join(name)
    }

    /// Where `name` is written before it is published.
    pub(super) fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Moves the finished files `names` into the output folder: all of them, or (on error)
    /// none, with the previous files back in place and the private folder removed.
    ///
    /// # Errors
    /// [`Error::OutputBlocked`] when a final name is a directory, [`Error::Publish`] when a
    /// move fails, [`Error::RestoreFailed`] when putting the previous files back failed too
    /// (the private folder is then kept for the next run to repair).
    pub(super) fn publish(mut self, names: &[&str]) -> Result<()> {
        // No signal removes the private folder while files move out of it.
        let _publishing = crate::interrupt::publishing();
        self.write_journal(names)?;
        let moved = names
            .iter()
            .try_for_each(|name| self.move_in(name))
            .and_then(|()| {
                sync_dir(&self.out_dir).map_err(|source| Error::Write {
                    path: self.out_dir.clone(),
                    source,
                })
            })
            .and_then(|()| {
                // The commit point: from now on a crash leaves the new set.
                std::fs::remove_file(self.path.join(JOURNAL)).map_err(|source| Error::Write {
                    path: self.path.clone(),
                    source,
                })
            });
        if let Err(e) = moved {
            if let Err(source) = roll_back(&self.out_dir, &self.path) {
                self.keep = true;
                return Err(Error::RestoreFailed {
                    folder: self.path.clone(),
                    source,
                });
            }
            return Err(e);
        }
        crate::interrupt::mark_published();
        Ok(())
    }

    /// Writes and syncs the journal: one line per name that has no previous version (the
    /// files a roll-back removes).
    fn write_journal(&self, names: &[&str]) -> Result<()> {
        let path = self.path.join(JOURNAL);
        let mut text = String::new();
        for name in names {
            if std::fs::symlink_metadata(self.out_dir.join(name)).is_err() {
                text.push_str(name);
                text.push('\n');
            }
        }
        let mut file = File::create_new(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()).map(|()| f))
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        file.flush()
            .and_then(|()| file.sync_all())
            .and_then(|()| sync_dir(&self.path))
            .map_err(|source| Error::Write { path, source })
    }

    /// Keeps the previous `name` aside, then renames the new one over it.
    fn move_in(&self, name: &str) -> Result<()> {
        let target = self.out_dir.join(name);
        let publish_error = |source| Error::Publish {
            path: target.clone(),
            source,
        };
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.is_dir() => return Err(Error::OutputBlocked { path: target }),
            Ok(_) => {
                let aside = self.path.join(format!("{name}{PREVIOUS}"));
                // A hard link keeps the final name in place the whole time; where links are
                // refused (some file systems, another user's file), a rename does.
                std::fs::hard_link(&target, &aside)
                    .or_else(|_| std::fs::rename(&target, &aside))
                    .map_err(publish_error)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(publish_error(e)),
        }
        std::fs::rename(self.path.join(name), &target).map_err(publish_error)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        crate::interrupt::forget(&self.path);
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Puts back the previous outputs kept in the private folder `folder`, following its
/// journal: every `NAME.previous` is renamed over `NAME`, and a `NAME` the journal lists as
/// new and that already left the folder is removed. Does nothing without a journal.
pub(super) fn roll_back(out_dir: &Path, folder: &Path) -> std::io::Result<()> {
    let journal = match std::fs::read_to_string(folder.join(JOURNAL)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let new: Vec<&str> = journal.lines().collect();
    for name in super::KNOWN_NAMES {
        let aside = folder.join(format!("{name}{PREVIOUS}"));
        if aside.symlink_metadata().is_ok() {
            std::fs::rename(&aside, out_dir.join(name))?;
        } else if new.contains(&name) && folder.join(name).symlink_metadata().is_err() {
            match std::fs::remove_file(out_dir.join(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    sync_dir(out_dir)?;
    std::fs::remove_file(folder.join(JOURNAL))
}

/// Repairs and removes the private folders of dead runs (listwash's own name pattern, and
/// only those no live run holds).
fn remove_stale(out_dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || !entry.file_name().to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let folder = entry.path();
        let Ok(guard) = File::open(&folder) else {
            continue;
        };
        if guard.try_lock().is_err() {
            continue; // its run is alive
        }
        roll_back(out_dir, &folder).map_err(|source| Error::RestoreFailed {
            folder: folder.clone(),
            source,
        })?;
        let _ = std::fs::remove_dir_all(&folder);
    }
    Ok(())
}

/// Makes renames in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
