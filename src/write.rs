//! Writing the outputs: four CSV files and `report.json`, written aside and renamed when
//! complete.
//!
//! Consumes decided rows in input order; produces `clean.csv`, `review.csv`,
//! `suppressed.csv`, `rejected.csv` under temporary names in the output directory (created
//! 0600 by `tempfile`), renamed to their final names only by [`Outputs::finish`]. Dropping an
//! unfinished [`Outputs`] removes the temporary files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::error::{Error, Result};
use crate::read::{Rejected, Row};
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
    out: BufWriter<File>,
    temp: TempPath,
    path: PathBuf,
}

impl Sink {
    fn create(dir: &Path, name: &str, bom: bool) -> Result<Sink> {
        let path = dir.join(name);
        let named = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".listwash-tmp")
            .tempfile_in(dir)
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        let (file, temp) = named.into_parts();
        let mut sink = Sink {
            out: BufWriter::with_capacity(1 << 18, file),
            temp,
            path,
        };
        if bom {
            sink.write(b"\xEF\xBB\xBF")?;
        }
        Ok(sink)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn finish(self) -> Result<(TempPath, PathBuf)> {
        let Sink { out, temp, path } = self;
        let file = out.into_inner().map_err(|e| Error::Write {
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

/// Formats a record as one CSV line, without its line end (headers, rejected records and
/// neutralised rows; quoting as the csv crate's "necessary" style).
fn format_line<I, T>(fields: I, delimiter: u8) -> Vec<u8>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut line = Vec::new();
    let mut count = 0;
    for field in fields {
        if count > 0 {
            line.push(delimiter);
        }
        push_field(&mut line, field.as_ref(), delimiter);
        count += 1;
    }
    if count == 1 && line.is_empty() {
        // A lone empty field would be a blank line, which readers skip.
        line.extend_from_slice(b"\"\"");
    }
    line
}

/// Writes `field` as one CSV field: quoted when it holds the delimiter, a quote or a line end.
fn push_field(out: &mut Vec<u8>, field: &[u8], delimiter: u8) {
    let needs_quotes = field
        .iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r');
    if !needs_quotes {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
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
    delimiter: u8,
    /// Bytes written since the syncer was last asked to run.
    unsynced: usize,
    syncer: Option<Syncer>,
}

/// Bytes written between two background syncs.
const SYNC_EVERY: usize = 32 << 20;

/// A thread that writes the outputs' data to disk while the run goes on, so that the final
/// sync before the rename (which makes a complete output durable) has little left to do. On
/// its own the kernel would hold a large output in memory until then, and the run would end
/// by waiting for the whole of it.
struct Syncer {
    wake: std::sync::mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Syncer {
    fn start(files: Vec<File>) -> Option<Syncer> {
        let (wake, asked) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("listwash-sync".into())
            .spawn(move || {
                for () in asked {
                    for file in &files {
                        // Errors surface in the final sync, which is checked.
                        let _ = file.sync_data();
                    }
                }
            })
            .ok()?;
        Some(Syncer { wake, thread })
    }

    fn stop(self) {
        drop(self.wake);
        let _ = self.thread.join();
    }
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
            clean: Sink::create(dir, CSV_OUTPUTS[0], bom)?,
            review: Sink::create(dir, CSV_OUTPUTS[1], bom)?,
            suppressed: Sink::create(dir, CSV_OUTPUTS[2], bom)?,
            rejected: Sink::create(dir, CSV_OUTPUTS[3], false)?,
            counts: OutputCounts::default(),
            cells,
            formula_cells: 0,
            scratch: Vec::new(),
            file_mode: 0o600,
            delimiter,
            unsynced: 0,
            syncer: None,
        };
        let handles = [
            &outputs.clean,
            &outputs.review,
            &outputs.suppressed,
            &outputs.rejected,
        ]
        .iter()
        .filter_map(|sink| sink.out.get_ref().try_clone().ok())
        .collect();
        outputs.syncer = Syncer::start(handles);
        let mut header_line = format_line(header, delimiter);
        header_line.push(b'\n');
        outputs.clean.write(&header_line)?;
        header_line.pop();
        for extra in ["listwash_reason", "listwash_detail"] {
            header_line.push(delimiter);
            header_line.extend_from_slice(extra.as_bytes());
        }
        header_line.push(b'\n');
        outputs.review.write(&header_line)?;
        outputs.suppressed.write(&header_line)?;
        let rejected_header = format_line(["line", "error", "raw"], b',');
        outputs.rejected.write(&rejected_header)?;
        outputs.rejected.write(b"\n")?;
        Ok(outputs)
    }

    /// Writes one decided row: its text as read, plus the reason and detail for review and
    /// suppressed rows. With `--excel-safe`, a row with a formula-like cell is written field by
    /// field instead, those cells prefixed with `'`.
    ///
    /// # Errors
    /// When the file cannot be written (disk full, …).
    pub fn write_row(
        &mut self,
        row: &Row<'_>,
        action: Action,
        reason: &str,
        detail: &str,
    ) -> Result<()> {
        let risky = row.fields().filter(|f| is_formula_risk(f)).count() as u64;
        self.formula_cells += risky;
        let raw = row.raw();
        let rewrite = (risky > 0 && self.cells == CellPolicy::ExcelSafe)
            || (raw.is_empty() && !row.is_empty());
        let line = if rewrite {
            let neutralise = self.cells == CellPolicy::ExcelSafe;
            let fields = row.fields().map(|f| {
                if neutralise && is_formula_risk(f) {
                    let mut cell = Vec::with_capacity(f.len() + 1);
                    cell.push(b'\'');
                    cell.extend_from_slice(f);
                    std::borrow::Cow::Owned(cell)
                } else {
                    std::borrow::Cow::Borrowed(f)
                }
            });
            std::borrow::Cow::Owned(format_line(fields, self.delimiter))
        } else {
            std::borrow::Cow::Borrowed(raw)
        };
        // The row's text goes straight to the file's buffer; only the reason columns are
        // formatted.
        self.scratch.clear();
        if action != Action::Keep {
            self.scratch.push(self.delimiter);
            push_field(&mut self.scratch, reason.as_bytes(), self.delimiter);
            self.scratch.push(self.delimiter);
            push_field(&mut self.scratch, detail.as_bytes(), self.delimiter);
        }
        self.scratch.push(b'\n');
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
        sink.write(&line)?;
        sink.write(&self.scratch)?;
        self.unsynced += line.len() + self.scratch.len();
        if self.unsynced >= SYNC_EVERY {
            self.unsynced = 0;
            if let Some(syncer) = &self.syncer {
                let _ = syncer.wake.try_send(()); // already syncing: fine
            }
        }
        Ok(())
    }

    /// Writes one rejected record.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_rejected(&mut self, rejected: &Rejected) -> Result<()> {
        self.counts.rejected += 1;
        let line = rejected.line.to_string();
        let mut text = format_line([line.as_str(), &rejected.error, &rejected.raw], b',');
        text.push(b'\n');
        self.rejected.write(&text)
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
            syncer,
            ..
        } = self;
        if let Some(syncer) = syncer {
            syncer.stop();
        }
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
