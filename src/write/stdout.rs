//! `--out-dir -`: copies the finished clean output from the run's private folder to standard
//! output. Consumes a complete file; produces its exact bytes on stdout. Never writes a
//! partial run: it is called only once every output is complete.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Copies the file at `path` to standard output and flushes it.
///
/// # Errors
/// When the file cannot be read or stdout cannot be written, a closed pipe included (the
/// clean rows did not all arrive, so the run fails and publishes nothing).
pub(super) fn copy_file(path: &Path) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = std::io::stdout().lock();
    std::io::copy(&mut file, &mut out)
        .and_then(|_| out.flush())
        .map(|_| ())
        .map_err(|source| Error::Write {
            path: "<stdout>".into(),
            source,
        })
}
