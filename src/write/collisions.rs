//! Refusing a run whose outputs would replace one of its own inputs.
//!
//! Consumes the output folder and the run's input files with their roles; produces an error
//! naming both when an output (or the lock file) is the same file as an input, or would be
//! created where an input that does not exist yet (a new cache) is to go. Only looks at
//! paths and file identities: never opens, creates or changes anything.

use std::path::{Path, PathBuf};

use super::KNOWN_NAMES;
use super::lock::LOCK_FILE;
use crate::error::{Error, Result};

/// Checks, before any work, that no output path in `out_dir` is also one of `inputs`
/// (`(role, path)`: `("input", …)`, `("engagement log", …)`, `("DNS cache", …)`, …).
///
/// Paths are compared after resolving symlinks and `..`, and existing files also by device
/// and inode (hard links); an output that does not exist yet is compared by its path.
///
/// # Errors
/// [`Error::OutputIsInput`] naming the output and the input.
pub fn check_collisions(out_dir: &Path, inputs: &[(&str, &Path)]) -> Result<()> {
    let out_real = resolve(out_dir);
    for &(role, input) in inputs {
        // The file the run reads (symlinks followed) and the name it was given by.
        let targets = [
            std::fs::canonicalize(input).ok(),
            Some(resolve_entry(input)),
        ];
        for name in KNOWN_NAMES.iter().copied().chain([LOCK_FILE]) {
            let output = out_dir.join(name);
            let output_real = out_real.join(name);
            let same_path = targets.iter().flatten().any(|t| *t == output_real);
            if same_path || same_file(input, &output) {
                return Err(Error::OutputIsInput {
                    output,
                    role: role.to_string(),
                    input: input.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

/// `path` with its folder resolved (symlinks, `..`) and its last component kept as it is:
/// the directory entry a write to `path` would replace.
fn resolve_entry(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            resolve(parent).join(name)
        }
        _ => resolve(path),
    }
}

/// `path` made absolute, its longest existing start resolved by the file system and the
/// rest normalised by hand (the folder may not exist yet).
fn resolve(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(mut resolved) = std::fs::canonicalize(&existing) {
            for name in rest.iter().rev() {
                if *name == ".." {
                    resolved.pop();
                } else if *name != "." {
                    resolved.push(name);
                }
            }
            return resolved;
        }
        if existing == Path::new(".") {
            return path.to_path_buf();
        }
        let Some(last) = existing.components().next_back() else {
            return path.to_path_buf();
        };
        rest.push(last.as_os_str().to_owned());
        if !existing.pop() || existing.as_os_str().is_empty() {
            existing = PathBuf::from(".");
        }
    }
}

/// Returns true if and only if both paths exist and are one file (symlinks followed).
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_a: &Path, _b: &Path) -> bool {
    false
}
