//! Writing the outputs: four CSV files and `report.json`, written aside and renamed when
//! complete.
//!
//! Consumes decided rows in input order; produces `clean.csv`, `review.csv`,
//! `suppressed.csv`, `rejected.csv` under temporary names in the output directory (created
//! 0600 by `tempfile`), renamed to their final names only by [`Outputs::finish`]. Dropping an
//! unfinished [`Outputs`] removes the temporary files.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::error::{Error, Result};
use crate::read::Rejected;
use crate::reason::Action;

/// The four CSV outputs' file names, in `report.json` order.
pub const CSV_OUTPUTS: [&str; 4] = ["clean.csv", "review.csv", "suppressed.csv", "rejected.csv"];

/// Rows written per output.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct OutputCounts {
    /// Rows in `clean.csv`.
    pub clean: u64,
    /// Rows in `review.csv`.
    pub review: u64,
    /// Rows in `suppressed.csv`.
    pub suppressed: u64,
    /// Rows in `rejected.csv`.
    pub rejected: u64,
}

impl OutputCounts {
    /// All rows.
    pub fn total(&self) -> u64 {
        self.clean + self.review + self.suppressed + self.rejected
    }
}

struct Sink {
    writer: csv::Writer<File>,
    temp: TempPath,
    path: PathBuf,
}

impl Sink {
    fn create(dir: &Path, name: &str, delimiter: u8, bom: bool) -> Result<Sink> {
        let path = dir.join(name);
        let named = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".listwash-tmp")
            .tempfile_in(dir)
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        let (mut file, temp) = named.into_parts();
        if bom {
            file.write_all(b"\xEF\xBB\xBF")
                .map_err(|source| Error::Write {
                    path: path.clone(),
                    source,
                })?;
        }
        let writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .buffer_capacity(1 << 17)
            .from_writer(file);
        Ok(Sink { writer, temp, path })
    }

    fn error(&self, e: csv::Error) -> Error {
        let source = match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => std::io::Error::other(format!("{other:?}")),
        };
        Error::Write {
            path: self.path.clone(),
            source,
        }
    }

    fn finish(self) -> Result<(TempPath, PathBuf)> {
        let Sink { writer, temp, path } = self;
        let file = writer.into_inner().map_err(|e| Error::Write {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        Ok((temp, path))
    }
}

/// Which cells to neutralise for spreadsheets (`--excel-safe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CellPolicy {
    /// Write every value unchanged (the default).
    #[default]
    Unchanged,
    /// Prefix cells that start with `=`, `+`, `-`, `@`, TAB or CR with `'`.
    ExcelSafe,
}

/// Returns true if and only if a spreadsheet would read the cell as a formula.
pub fn is_formula_risk(cell: &[u8]) -> bool {
    matches!(
        cell.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// The output files of one run.
pub struct Outputs {
    dir: PathBuf,
    clean: Sink,
    review: Sink,
    suppressed: Sink,
    rejected: Sink,
    counts: OutputCounts,
    cells: CellPolicy,
    formula_cells: u64,
    scratch: Vec<u8>,
    file_mode: u32,
}

impl Outputs {
    /// Creates the output directory if needed and opens the four temporary CSV files, each
    /// with its header.
    ///
    /// # Errors
    /// When the directory or a file cannot be created or written.
    pub fn create(
        dir: &Path,
        header: &csv::ByteRecord,
        delimiter: u8,
        bom: bool,
        cells: CellPolicy,
    ) -> Result<Outputs> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        remove_stale_temporaries(dir);
        let mut outputs = Outputs {
            dir: dir.to_path_buf(),
            clean: Sink::create(dir, CSV_OUTPUTS[0], delimiter, bom)?,
            review: Sink::create(dir, CSV_OUTPUTS[1], delimiter, bom)?,
            suppressed: Sink::create(dir, CSV_OUTPUTS[2], delimiter, bom)?,
            rejected: Sink::create(dir, CSV_OUTPUTS[3], b',', false)?,
            counts: OutputCounts::default(),
            cells,
            formula_cells: 0,
            scratch: Vec::new(),
            file_mode: 0o600,
        };
        let mut decided_header = header.clone();
        decided_header.push_field(b"listwash_reason");
        decided_header.push_field(b"listwash_detail");
        outputs
            .clean
            .writer
            .write_byte_record(header)
            .map_err(|e| outputs.clean.error(e))?;
        outputs
            .review
            .writer
            .write_byte_record(&decided_header)
            .map_err(|e| outputs.review.error(e))?;
        outputs
            .suppressed
            .writer
            .write_byte_record(&decided_header)
            .map_err(|e| outputs.suppressed.error(e))?;
        outputs
            .rejected
            .writer
            .write_record(["line", "error", "raw"])
            .map_err(|e| outputs.rejected.error(e))?;
        Ok(outputs)
    }

    /// Writes one decided row.
    ///
    /// # Errors
    /// When the file cannot be written (disk full, …).
    pub fn write_row(
        &mut self,
        record: &csv::ByteRecord,
        action: Action,
        reason: &str,
        detail: &str,
    ) -> Result<()> {
        let sink = match action {
            Action::Keep => {
                self.counts.clean += 1;
                &mut self.clean
            }
            Action::Review => {
                self.counts.review += 1;
                &mut self.review
            }
            Action::Suppress => {
                self.counts.suppressed += 1;
                &mut self.suppressed
            }
        };
        for field in record {
            let risky = is_formula_risk(field);
            self.formula_cells += u64::from(risky);
            let result = if risky && self.cells == CellPolicy::ExcelSafe {
                self.scratch.clear();
                self.scratch.push(b'\'');
                self.scratch.extend_from_slice(field);
                sink.writer.write_field(&self.scratch)
            } else {
                sink.writer.write_field(field)
            };
            result.map_err(|e| sink.error(e))?;
        }
        if action != Action::Keep {
            sink.writer.write_field(reason).map_err(|e| sink.error(e))?;
            sink.writer.write_field(detail).map_err(|e| sink.error(e))?;
        }
        sink.writer
            .write_record(None::<&[u8]>)
            .map_err(|e| sink.error(e))
    }

    /// Writes one rejected record.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_rejected(&mut self, rejected: &Rejected) -> Result<()> {
        self.counts.rejected += 1;
        let line = rejected.line.to_string();
        let sink = &mut self.rejected;
        sink.writer
            .write_record([line.as_str(), &rejected.error, &rejected.raw])
            .map_err(|e| sink.error(e))
    }

    /// Sets the permission bits of the final files (default `0o600`: owner only, since they
    /// hold personal data).
    pub fn set_file_mode(&mut self, mode: u32) {
        self.file_mode = mode & 0o777;
    }

    /// Rows written so far.
    pub fn counts(&self) -> OutputCounts {
        self.counts
    }

    /// Cells that start like a spreadsheet formula (counted whatever the policy).
    pub fn formula_cells(&self) -> u64 {
        self.formula_cells
    }

    /// Flushes and syncs every file, writes `report.json`, then renames all five to their
    /// final names.
    ///
    /// # Errors
    /// When a file cannot be flushed, written or renamed; temporary files are then removed.
    pub fn finish(self, report_json: &[u8]) -> Result<()> {
        let Outputs {
            dir,
            clean,
            review,
            suppressed,
            rejected,
            file_mode,
            ..
        } = self;
        let mut done = Vec::with_capacity(5);
        for sink in [clean, review, suppressed, rejected] {
            done.push(sink.finish()?);
        }
        let report_path = dir.join("report.json");
        let mut report = tempfile::Builder::new()
            .prefix(".report.json.")
            .suffix(".listwash-tmp")
            .tempfile_in(&dir)
            .map_err(|source| Error::Write {
                path: report_path.clone(),
                source,
            })?;
        report
            .write_all(report_json)
            .and_then(|_| report.as_file().sync_all())
            .map_err(|source| Error::Write {
                path: report_path.clone(),
                source,
            })?;
        done.push((report.into_temp_path(), report_path));
        for (temp, path) in &done {
            set_mode(temp, file_mode).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        }
        for (temp, path) in done {
            temp.persist(&path).map_err(|e| Error::Write {
                path: path.clone(),
                source: e.error,
            })?;
        }
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Removes temporary files left by a run that was killed (they carry our suffix).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".listwash-tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
