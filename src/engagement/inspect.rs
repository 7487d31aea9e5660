//! Inspecting an event log before it is read: opening it once, its format, its columns.
//!
//! Consumes a path (a file, a FIFO, `/dev/stdin`, a process substitution); produces a
//! [`LogFile`]: CSV or Parquet (by magic bytes, or a `.parquet` name), gzip or zstd
//! compression (by magic bytes, decompressed as a stream in Rust), the CSV separator, and the
//! columns found with [`crate::columns`]. The file is opened once and kept open, so that a
//! pipe is read from its start. Never reads the records.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::*;

use super::EventOptions;
use super::dialect::Dialect;
use super::fold::ROW_INDEX;
use crate::columns::{self, HeaderDescription, Known};
use crate::error::{Error, Result};
use crate::read::source::{Counting, Watch};

/// How much of a log is read to tell its format and find its header.
const HEAD_BYTES: u64 = 64 * 1024;

/// The prefix of the names polars gives a CSV log's columns (`__listwash_c0`, …): listwash
/// names them itself, so that no header cell ever reaches polars as a name.
const CELL: &str = "__listwash_c";

/// A log's format.
#[derive(Debug, Clone, Copy)]
pub(super) enum Format {
    /// CSV with this separator and header width.
    Csv {
        /// The field separator.
        separator: u8,
        /// The header's number of fields.
        width: usize,
    },
    /// Parquet.
    Parquet,
    /// JSON: an array, lines, or documents.
    Json(super::json::Shape),
}

impl Format {
    /// The format's name in `report.json`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Format::Csv { .. } => "csv",
            Format::Parquet => "parquet",
            Format::Json(super::json::Shape::Lines) => "ndjson",
            Format::Json(_) => "json",
        }
    }
}

/// The compression of a log, told from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

/// One log, inspected: its format, the polars names of its columns, and the open source.
pub(super) struct LogFile {
    /// The path given.
    pub(super) path: PathBuf,
    /// CSV or Parquet.
    pub(super) format: Format,
    /// The columns, as polars names them.
    pub(super) email: String,
    pub(super) event: String,
    pub(super) timestamp: String,
    pub(super) machine: Option<String>,
    pub(super) bounce_type: Option<String>,
    /// The SMTP diagnostic column (`status`, `diagnostic_code`, `reason`, …).
    pub(super) detail: Option<String>,
    /// The service dialect.
    pub(super) dialect: Dialect,
}

/// An open log.
pub(super) enum Source {
    /// A CSV log's text (decompressed), from its first byte.
    Csv(CsvStream),
    /// A Parquet file polars can scan.
    Parquet(ParquetFile),
    /// A JSON log's text (decompressed), from its first byte.
    Json(Box<dyn Read + Send>),
}

/// A CSV log's decompressed text, from its first byte.
pub(super) struct CsvStream {
    /// The text.
    pub(super) reader: Box<dyn Read + Send>,
    /// The file, when it is a regular one.
    pub(super) watch: Option<Watch>,
    /// Bytes read from the file (compressed bytes for a compressed log), when a plain log.
    raw: Option<Arc<AtomicU64>>,
}

impl CsvStream {
    /// Once the text has been read to its end: what changed in the file meanwhile, if it did.
    // See: #16 item 6
    pub(super) fn changed(&self) -> Option<String> {
        let read = self.raw.as_ref().map(|r| r.load(Ordering::Relaxed));
        self.watch.as_ref()?.changed(read)
    }
}

/// A Parquet log as a file: the log itself, or a private copy of a piped or compressed one.
pub(super) struct ParquetFile {
    /// What polars scans.
    pub(super) path: PathBuf,
    /// The log, when it is a regular file read in place.
    pub(super) watch: Option<Watch>,
    /// The private copy, removed when dropped.
    _spool: Option<tempfile::TempPath>,
}

/// An engagement error: `message` says what is wrong and what to do.
pub(super) fn engagement_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Engagement {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// An error from polars: `message` is complete without the source, which may quote the log.
pub(super) fn polars_error(path: &Path, message: impl Into<String>, source: PolarsError) -> Error {
    Error::EngagementPolars {
        path: path.to_path_buf(),
        message: message.into(),
        source: crate::error::MayQuoteData(Box::new(source)),
    }
}

/// What to say when polars cannot read a Parquet log.
pub(super) const PARQUET_FAILED: &str = "cannot read it as a Parquet event log; check that the file is complete and not damaged (export it again), or give the log as CSV";

/// The log cannot be read (opened, or read on: a damaged compressed log fails midway).
pub(super) fn read_error(path: &Path, e: &io::Error) -> Error {
    engagement_error(
        path,
        format!(
            "cannot read: {e}; check the path given to --engagement, and that the file is complete (export or compress it again if it is damaged)"
        ),
    )
}

/// A lazy scan of a Parquet file (`file`, a copy or the log itself) with a row index;
/// messages name the log, `path`.
pub(super) fn scan_parquet(file: &Path, path: &Path, row_index: RowIndex) -> Result<LazyFrame> {
    let text = file
        .to_str()
        .ok_or_else(|| engagement_error(path, "the path is not valid UTF-8; rename the file"))?;
    let args = ScanArgsParquet {
        row_index: Some(row_index),
        ..ScanArgsParquet::default()
    };
    LazyFrame::scan_parquet(PlRefPath::new(text), args)
        .map_err(|e| polars_error(path, PARQUET_FAILED, e))
}

/// The polars schema a CSV log is read with: `width` text columns named by [`CELL`].
pub(super) fn csv_schema(width: usize) -> SchemaRef {
    Arc::new(Schema::from_iter((0..width).map(|i| {
        Field::new(format!("{CELL}{i}").into(), DataType::String)
    })))
}

/// Reads up to `limit` bytes of `reader`.
fn head(reader: &mut impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    reader.take(limit).read_to_end(&mut head)?;
    Ok(head)
}

/// Opens a log once, decompresses it as a stream, tells CSV from Parquet, guesses a CSV
/// separator from the header line, and finds the columns. Returns the open log with them.
pub(super) fn inspect(path: &Path, options: &EventOptions) -> Result<(LogFile, Source)> {
    let file = File::open(path).map_err(|e| read_error(path, &e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(engagement_error(
            path,
            "is a directory; give the event log file inside it",
        ));
    }
    let watch = Watch::new(&file);
    let raw = Arc::new(AtomicU64::new(0));
    let mut counted = Counting {
        inner: file,
        count: Arc::clone(&raw),
    };
    let magic = head(&mut counted, 4).map_err(|e| read_error(path, &e))?;
    let compression = if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let raw_stream = BufReader::with_capacity(1 << 16, Cursor::new(magic).chain(counted));
    // See: #16 item 10 (compressed logs are decompressed here, before polars sees them).
    let mut stream: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(raw_stream),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(raw_stream),
        )),
        Compression::Zstd => Box::new(zstd::Decoder::with_buffer(raw_stream).map_err(|e| {
            engagement_error(
                path,
                format!(
                    "cannot read it as zstd ({e}); re-compress the file or give it uncompressed"
                ),
            )
        })?),
    };
    let start = head(&mut stream, HEAD_BYTES).map_err(|e| read_error(path, &e))?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if start.starts_with(b"PAR1") || matches!(extension.as_deref(), Some("parquet" | "pq")) {
        let whole = Cursor::new(start).chain(stream);
        let parquet = parquet_file(path, whole, compression == Compression::None, watch)?;
        return parquet_columns(path, parquet, options);
    }
    if start.is_empty() {
        return Err(engagement_error(
            path,
            "the file is empty; an event log needs a header with email, event and timestamp columns",
        ));
    }
    // See: #11 part 1
    if let Some(shape) = super::json::shape(&start) {
        let dialect = options
            .format
            .unwrap_or_else(|| super::json::first_dialect(&start, shape));
        let log = LogFile {
            path: path.to_path_buf(),
            format: Format::Json(shape),
            email: String::new(),
            event: String::new(),
            timestamp: String::new(),
            machine: None,
            bounce_type: None,
            detail: None,
            dialect,
        };
        return Ok((
            log,
            Source::Json(Box::new(Cursor::new(start).chain(stream))),
        ));
    }
    let separator = columns::sniff_delimiter(&start);
    let names: Vec<String> = columns::header_record(&start, separator)
        .map(|(record, _)| {
            record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let found = find_columns(path, &names, |i| format!("{CELL}{i}"), options)?;
    let log = LogFile {
        format: Format::Csv {
            separator,
            width: names.len(),
        },
        ..found
    };
    let source = Source::Csv(CsvStream {
        reader: Box::new(Cursor::new(start).chain(stream)),
        watch,
        raw: (compression == Compression::None).then_some(raw),
    });
    Ok((log, source))
}

/// A Parquet log polars can scan: the file itself when it is a plain regular file, else a
/// private copy. polars reads Parquet from a seekable file (the footer comes first), and a
/// pipe, a FIFO or a compressed stream is not one: those are spooled to an unlinked-on-drop
/// temporary file in `TMPDIR`, readable by the owner only.
// See: #16 item 15
fn parquet_file(
    path: &Path,
    mut whole: impl Read,
    plain: bool,
    watch: Option<Watch>,
) -> Result<ParquetFile> {
    if plain && watch.is_some() {
        return Ok(ParquetFile {
            path: path.to_path_buf(),
            watch,
            _spool: None,
        });
    }
    let spool_error = |e: io::Error| {
        engagement_error(
            path,
            format!(
                "cannot copy the piped or compressed Parquet log to a temporary file ({e}); check TMPDIR's free space"
            ),
        )
    };
    let mut spool = tempfile::NamedTempFile::new().map_err(spool_error)?;
    io::copy(&mut whole, &mut spool).map_err(|e| read_error(path, &e))?;
    let spool = spool.into_temp_path();
    Ok(ParquetFile {
        path: spool.to_path_buf(),
        watch: None,
        _spool: Some(spool),
    })
}

/// The columns of a Parquet log, from its schema.
fn parquet_columns(
    path: &Path,
    parquet: ParquetFile,
    options: &EventOptions,
) -> Result<(LogFile, Source)> {
    let mut frame = scan_parquet(
        &parquet.path,
        path,
        RowIndex {
            name: ROW_INDEX.into(),
            offset: 0,
        },
    )?;
    let schema = frame
        .collect_schema()
        .map_err(|e| polars_error(path, PARQUET_FAILED, e))?;
    let names: Vec<String> = schema
        .iter_names()
        .map(|n| n.to_string())
        .filter(|n| n != ROW_INDEX)
        .collect();
    let log = find_columns(path, &names, |i| names[i].clone(), options)?;
    Ok((log, Source::Parquet(parquet)))
}

/// The log's columns in its header `names`, named for polars by `polars_name`; `options`'
/// columns first.
fn find_columns(
    path: &Path,
    names: &[String],
    polars_name: impl Fn(usize) -> String,
    options: &EventOptions,
) -> Result<LogFile> {
    let find = |known: &Known| columns::find_known(names, known).map(&polars_name);
    let require = |known: &Known, given: &Option<String>| -> Result<String> {
        let found = match given {
            Some(name) => columns::find_named(names, name).map(&polars_name),
            None => find(known),
        };
        found.ok_or_else(|| {
            // See: #16 items 7 and 9: names escaped, a data line never shown.
            let header = match columns::describe_header(names) {
                HeaderDescription::Names(names) => format!("found: {names}"),
                data => data.to_string(),
            };
            // See: #11 part 3
            let what = match given {
                Some(name) => format!("no column `{}`", columns::escape(name)),
                None => format!("no `{}` column", known.what),
            };
            engagement_error(
                path,
                format!(
                    "{what} ({header}); an event log needs email, event and timestamp columns (header names are case-insensitive): name yours with --events-email-column, --events-type-column and --events-time-column, and map the service's event names in the rules file's [engagement.event_names]"
                ),
            )
        })
    };
    Ok(LogFile {
        path: path.to_path_buf(),
        format: Format::Parquet,
        email: require(&columns::LOG_EMAIL, &options.email_column)?,
        event: require(&columns::LOG_EVENT, &options.event_column)?,
        timestamp: require(&columns::LOG_TIMESTAMP, &options.time_column)?,
        machine: find(&columns::LOG_MACHINE),
        bounce_type: find(&columns::LOG_BOUNCE_TYPE),
        detail: find(&columns::LOG_BOUNCE_DETAIL),
        dialect: options
            .format
            .unwrap_or_else(|| Dialect::from_header(names)),
    })
}
