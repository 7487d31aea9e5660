//! Writing the outputs: four CSV files and `report.json`, published as one set when complete.
//!
//! Consumes decided rows in input order; produces `clean.csv`, `review.csv`,
//! `suppressed.csv`, `rejected.csv` and `report.json` in the output folder (or, with
//! [`OutputOptions`], `.csv.gz` or `.parquet` files, and the clean rows on stdout, all
//! staged and published the same way). Never replaces an
//! input (see [`check_collisions`]), never shares an output folder with another run (see
//! [`OutputLock`]), never sets a permission by path, and never removes a file it did not
//! create.
//!
//! # How a run writes and publishes
//! * `--out-dir` is created 0700 when it does not exist (an existing folder's mode is left
//!   alone), then locked: `.listwash.lock` holds the PID of the one run writing there.
//! * The files are written in a private folder `.listwash-run-XXXXXX` inside `--out-dir`,
//!   created 0700 and held by the run, each file created 0600; the final mode (`--file-mode`)
//!   is set on the open file before it is moved.
//! * At the end every file is synced, then moved in, one rename each: the previous file of
//!   that name is first kept aside in the private folder. When a move fails, the files
//!   already moved are put back and the run fails: the previous five files stay as they were.
//!   Dropping an unfinished [`Outputs`] (an error, Ctrl-C) removes the private folder.
//!
//! # A crash between two moves
//! If the machine crashes or the run is killed while the files are being moved, the output
//! folder can hold a mix: some files from the new run, the others still from the previous
//! one, with the previous versions of the replaced files kept in `.listwash-run-XXXXXX/` (as
//! `NAME.previous`) next to a journal. The next run on the folder, once it holds the lock and
//! before any other work, puts those previous versions back, removes the new files that had
//! no previous version, and deletes the private folder: the previous set comes back whole.
//! Until then, a `.listwash-run-*` folder next to the outputs says the set may be mixed. A
//! crash before the first move leaves only the private folder, which the next run deletes;
//! a crash after the last move leaves the new set complete. No run removes a private folder
//! while the run that made it is alive.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::read::{Rejected, Row};
use crate::reason::Action;

mod collisions;
mod format;
mod lock;
mod parquet;
mod sink;
mod staging;
mod stdout;
#[cfg(test)]
mod tests;

pub use collisions::check_collisions;
pub use lock::{LOCK_FILE, OutputLock};

use format::{format_line, push_field};
use sink::Sink;
use staging::Staging;

/// The four CSV outputs' file names, in `report.json` order.
pub const CSV_OUTPUTS: [&str; 4] = ["clean.csv", "review.csv", "suppressed.csv", "rejected.csv"];

/// Every output file's name, in the order they are published.
pub const OUTPUT_NAMES: [&str; 5] = [
    "clean.csv",
    "review.csv",
    "suppressed.csv",
    "rejected.csv",
    "report.json",
];

/// Every name an output can have in any format, for repairs and collision checks.
pub const KNOWN_NAMES: [&str; 14] = [
    "clean.csv",
    "review.csv",
    "suppressed.csv",
    "rejected.csv",
    "report.json",
    "report.html",
    "clean.csv.gz",
    "review.csv.gz",
    "suppressed.csv.gz",
    "rejected.csv.gz",
    "clean.parquet",
    "review.parquet",
    "suppressed.parquet",
    "rejected.parquet",
];

/// The file format of the four row outputs (`--output-format`). See: #13 part 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileFormat {
    /// CSV in the input's dialect (the default).
    #[default]
    Csv,
    /// Parquet, every input column as text.
    Parquet,
}

/// How the row outputs are written: format, compression, and where the clean rows go.
/// See: #13 part 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputOptions {
    /// `--output-format`.
    pub format: FileFormat,
    /// `--compress`: gzip the CSV outputs (`clean.csv.gz`, …); ignored for Parquet.
    pub compress: bool,
    /// `--out-dir -`: the clean rows go to standard output (the bytes the clean file would
    /// hold, as CSV even with Parquet) once the run is complete, and are not kept in the
    /// folder; the other outputs are published as usual.
    pub clean_to_stdout: bool,
}

impl OutputOptions {
    /// The four row outputs' final names, in [`CSV_OUTPUTS`] order.
    pub fn names(&self) -> [String; 4] {
        CSV_OUTPUTS.map(|csv| match (self.format, self.compress) {
            (FileFormat::Parquet, _) => csv.replace(".csv", ".parquet"),
            (FileFormat::Csv, true) => format!("{csv}.gz"),
            (FileFormat::Csv, false) => csv.to_string(),
        })
    }

    /// The names the rows are first written under in the private folder.
    fn staged_names(&self) -> [String; 4] {
        CSV_OUTPUTS.map(|csv| {
            if self.compress && self.format == FileFormat::Csv {
                format!("{csv}.gz")
            } else {
                csv.to_string()
            }
        })
    }
}

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

/// Creates a new file readable and writable by its owner only, whatever the umask.
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
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

/// The output files of one run, from the lock on the output folder to their publication.
pub struct Outputs {
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
    options: OutputOptions,
    /// Bytes written since the syncer was last asked to run.
    unsynced: usize,
    syncer: Option<Syncer>,
    // Dropped in this order, after the files: the private folder, then the lock.
    staging: Staging,
    lock: OutputLock,
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
    /// Creates the output folder if needed (mode 0700), takes its lock, and opens the four
    /// CSV files in a private folder, each with its header.
    ///
    /// # Errors
    /// When the folder cannot be created, another run holds its lock ([`Error::OutputLocked`]),
    /// or a file cannot be created or written.
    pub fn create(
        dir: &Path,
        header: &csv::ByteRecord,
        delimiter: u8,
        bom: bool,
        cells: CellPolicy,
    ) -> Result<Outputs> {
        create_out_dir(dir)?;
        let lock = OutputLock::acquire(dir, None)?;
        Outputs::create_locked(lock, header, delimiter, bom, cells)
    }

    /// As [`Outputs::create`], in the output folder of a lock the caller took (with
    /// [`OutputLock::acquire`], e.g. to wait for another run, or before loading lists).
    ///
    /// # Errors
    /// When a file cannot be created or written, or the private folder of a dead run cannot
    /// be repaired.
    pub fn create_locked(
        lock: OutputLock,
        header: &csv::ByteRecord,
        delimiter: u8,
        bom: bool,
        cells: CellPolicy,
    ) -> Result<Outputs> {
        Outputs::create_with(
            lock,
            header,
            delimiter,
            bom,
            cells,
            OutputOptions::default(),
        )
    }

    /// As [`Outputs::create_locked`], in the format `options` gives.
    ///
    /// # Errors
    /// As [`Outputs::create_locked`].
    pub fn create_with(
        lock: OutputLock,
        header: &csv::ByteRecord,
        delimiter: u8,
        bom: bool,
        cells: CellPolicy,
        options: OutputOptions,
    ) -> Result<Outputs> {
        let dir = lock.path().parent().unwrap_or(Path::new("."));
        let staging = Staging::create(dir)?;
        // A Parquet file is made from a CSV without the BOM.
        let bom = bom && options.format == FileFormat::Csv;
        let [clean, review, suppressed, rejected] = options.staged_names();
        let zip = options.compress && options.format == FileFormat::Csv;
        let mut outputs = Outputs {
            clean: Sink::create(&staging, &clean, bom, zip)?,
            review: Sink::create(&staging, &review, bom, zip)?,
            suppressed: Sink::create(&staging, &suppressed, bom, zip)?,
            rejected: Sink::create(&staging, &rejected, false, zip)?,
            counts: OutputCounts::default(),
            cells,
            formula_cells: 0,
            scratch: Vec::new(),
            file_mode: 0o600,
            delimiter,
            options,
            unsynced: 0,
            syncer: None,
            staging,
            lock,
        };
        let handles = [
            &outputs.clean,
            &outputs.review,
            &outputs.suppressed,
            &outputs.rejected,
        ]
        .iter()
        .filter_map(|sink| sink.out.file().try_clone().ok())
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

    /// Flushes and syncs every file, writes `report.json`, sets the file mode on each open
    /// file, then moves all five into the output folder as one set (see the module docs).
    ///
    /// # Errors
    /// When a file cannot be flushed or written, or a move fails; the previous outputs are
    /// then unchanged and the temporary files removed.
    pub fn finish(self, report_json: &[u8]) -> Result<()> {
        self.finish_with(report_json, &[])
    }

    /// [`Outputs::finish`], publishing `extra` files (name, content; `report.html`) with the
    /// set, written and moved the same way as `report.json`. See: #12 part 2.
    ///
    /// # Errors
    /// As [`Outputs::finish`].
    pub fn finish_with(self, report_json: &[u8], extra: &[(&'static str, &[u8])]) -> Result<()> {
        let Outputs {
            clean,
            review,
            suppressed,
            rejected,
            file_mode,
            delimiter,
            options,
            syncer,
            staging,
            lock,
            ..
        } = self;
        if let Some(syncer) = syncer {
            syncer.stop();
        }
        let finals = options.names();
        let mut done = Vec::with_capacity(OUTPUT_NAMES.len());
        let mut names: Vec<&str> = Vec::with_capacity(OUTPUT_NAMES.len());
        for (i, sink) in [clean, review, suppressed, rejected]
            .into_iter()
            .enumerate()
        {
            let staged = staging.file(&sink.staged);
            let finished = sink.finish()?;
            if i == 0 && options.clean_to_stdout {
                // Sent once the set is complete, before it is published. See: #13 part 3
                stdout::copy_file(&staged)?;
                continue;
            }
            if options.format == FileFormat::Parquet {
                let path = staging.out_path(&finals[i]);
                let to_error = |message: String| Error::Write {
                    path: path.clone(),
                    source: std::io::Error::other(message),
                };
                let file = create_private(&staging.file(&finals[i]))
                    .map_err(|e| to_error(e.to_string()))?;
                let csv_delimiter = if i == 3 { b',' } else { delimiter };
                let shape = match i {
                    0 => parquet::Shape::Plain,
                    3 => parquet::Shape::Rejected,
                    _ => parquet::Shape::Decided,
                };
                parquet::csv_to_parquet(&staged, &file, csv_delimiter, shape).map_err(to_error)?;
                file.sync_all().map_err(|e| to_error(e.to_string()))?;
                done.push((file, path));
            } else {
                done.push(finished);
            }
            names.push(&finals[i]);
        }
        for (name, content) in [("report.json", report_json)]
            .into_iter()
            .chain(extra.iter().copied())
        {
            let path = staging.out_path(name);
            let file = create_private(&staging.file(name))
                .and_then(|mut file| {
                    file.write_all(content)?;
                    file.sync_all()?;
                    Ok(file)
                })
                .map_err(|source| Error::Write {
                    path: path.clone(),
                    source,
                })?;
            done.push((file, path));
            names.push(name);
        }
        // On the open files, never by path: a name can be swapped for a symlink, a handle
        // cannot. See: #16 item 8
        for (file, path) in done {
            set_mode(&file, file_mode).map_err(|source| Error::Write { path, source })?;
        }
        staging.publish(&names)?;
        drop(lock);
        Ok(())
    }
}

/// Creates the output folder if need be (see [`Outputs::create`]) and takes its lock, waiting
/// up to `wait` for another run to finish.
///
/// # Errors
/// When the folder cannot be created, or another run holds it ([`Error::OutputLocked`]).
pub fn lock_out_dir(dir: &Path, wait: Option<std::time::Duration>) -> Result<OutputLock> {
    create_out_dir(dir)?;
    OutputLock::acquire(dir, wait)
}

/// Creates the output folder and its missing parents with mode 0700 (not from the umask);
/// an existing folder is left as it is.
fn create_out_dir(dir: &Path) -> Result<()> {
    let not_a_folder = |what: &str| Error::OutDir {
        path: dir.to_path_buf(),
        message: format!(
            "is {what}, not a folder; give --out-dir a folder (it is created if missing)"
        ),
    };
    match (std::fs::symlink_metadata(dir), std::fs::metadata(dir)) {
        (Ok(_), Ok(meta)) if meta.is_dir() => return Ok(()),
        (Ok(link), Err(_)) if link.file_type().is_symlink() => {
            return Err(not_a_folder("a symbolic link to nothing"));
        }
        (Ok(_), Ok(_)) => return Err(not_a_folder("a file")),
        _ => {}
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}
