//! Reading event logs with polars: scan, parse, and hand the rows to the fold.
//!
//! polars' streaming engine scans each log (CSV or Parquet, only the needed columns, with a
//! row index for line numbers) and hands its output over batch by batch
//! ([`LazyFrame::sink_batches`]); each batch is parsed on every core (rayon: the address key
//! like contacts' — [`crate::normalize::key_of`]: trimmed, lower-cased, IDNA domain,
//! XXH3-128 —, the event code, the time in Unix seconds, the `machine` flag) and folded into
//! per-address profiles ([`super::profiles`]), shard by shard. Nothing is kept per event, so
//! memory is bounded by the number of distinct addresses. A second streaming pass counts the
//! deliveries after the last hard bounce and the sends after the last human engagement
//! (see [`super::profiles`] for why two passes suffice, scanner clicks included).
//!
//! polars' own streaming group-by is not used: in 0.55 it aggregates in place only the 4,096
//! hottest keys per thread and buffers the other rows' aggregation inputs until the end, so
//! its memory grows with the number of events (3.3 GB for 20M events / 1M addresses).
//!
//! Rows that cannot be understood are counted (and the first ones listed with their line) in
//! the first pass; they never reach a profile.

use std::io::Read;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use rayon::prelude::*;

use super::parse::{self, Event};
use super::profiles::{Profiles, Row, SHARDS, shard_of};
use super::{EngagementRules, LogStats, UnparsedCounts, UnparsedRow};
use crate::error::{Error, Result};
use crate::normalize::{key, key_of};

/// The row index polars adds while scanning.
const ROW_INDEX: &str = "__listwash_row";

/// What a column of the log holds, with the header names accepted for it (case-insensitive).
const EMAIL_NAMES: &[&str] = &["email", "email_address", "recipient", "address"];
const EVENT_NAMES: &[&str] = &["event", "event_type", "eventtype"];
const TIMESTAMP_NAMES: &[&str] = &["timestamp", "time", "event_time", "occurred_at", "date"];
const MACHINE_NAMES: &[&str] = &["machine", "is_machine"];
const BOUNCE_TYPE_NAMES: &[&str] = &["bounce_type", "bouncetype", "severity", "type"];

#[derive(Debug, Clone, Copy)]
enum Format {
    Csv { separator: u8 },
    Parquet,
}

/// One log, inspected: its format and the names of its columns as written.
#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    format: Format,
    email: String,
    event: String,
    timestamp: String,
    machine: Option<String>,
    bounce_type: Option<String>,
}

fn engagement_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Engagement {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn polars_error(path: &Path, error: &PolarsError) -> Error {
    engagement_error(
        path,
        format!("{error}; check that it is a CSV or Parquet event log"),
    )
}

fn ref_path(path: &Path) -> Result<PlRefPath> {
    let text = path
        .to_str()
        .ok_or_else(|| engagement_error(path, "the path is not valid UTF-8; rename the file"))?;
    Ok(PlRefPath::new(text))
}

fn scan(path: &Path, format: Format) -> Result<LazyFrame> {
    let row_index = Some(RowIndex {
        name: ROW_INDEX.into(),
        offset: 0,
    });
    let frame = match format {
        Format::Csv { separator } => LazyCsvReader::new(ref_path(path)?)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_separator(separator)
            .with_truncate_ragged_lines(true)
            .with_encoding(CsvEncoding::LossyUtf8)
            .with_row_index(row_index)
            .finish(),
        Format::Parquet => {
            let args = ScanArgsParquet {
                row_index,
                ..ScanArgsParquet::default()
            };
            LazyFrame::scan_parquet(ref_path(path)?, args)
        }
    };
    frame.map_err(|e| polars_error(path, &e))
}

/// Opens a log, tells CSV from Parquet (magic bytes or extension), guesses a CSV separator
/// from the header line, and finds the columns.
fn inspect(path: &Path) -> Result<LogFile> {
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|e| {
            engagement_error(
                path,
                format!("cannot read: {e}; check the path given to --engagement"),
            )
        })?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = if head.starts_with(b"PAR1")
        || matches!(extension.as_deref(), Some("parquet" | "pq"))
    {
        Format::Parquet
    } else {
        if head.is_empty() {
            return Err(engagement_error(
                path,
                "the file is empty; an event log needs a header with email, event and timestamp columns",
            ));
        }
        let header = head.split(|b| *b == b'\n').next().unwrap_or_default();
        let count = |c: u8| header.iter().filter(|b| **b == c).count();
        let separator = [b',', b';', b'\t', b'|']
            .into_iter()
            .max_by_key(|c| (count(*c), *c == b','))
            .unwrap_or(b',');
        Format::Csv { separator }
    };
    let mut frame = scan(path, format)?;
    let schema = frame.collect_schema().map_err(|e| polars_error(path, &e))?;
    let names: Vec<String> = schema
        .iter_names()
        .map(|n| n.to_string())
        .filter(|n| n != ROW_INDEX)
        .collect();
    let find = |wanted: &[&str]| -> Option<String> {
        wanted.iter().find_map(|w| {
            names
                .iter()
                .find(|n| {
                    n.trim()
                        .trim_start_matches('\u{feff}')
                        .eq_ignore_ascii_case(w)
                })
                .cloned()
        })
    };
    let require = |wanted: &[&str]| -> Result<String> {
        find(wanted).ok_or_else(|| {
            engagement_error(
                path,
                format!(
                    "no `{}` column (found: {}); an event log needs email, event and timestamp columns (header names are case-insensitive)",
                    wanted[0],
                    names.join(", ")
                ),
            )
        })
    };
    Ok(LogFile {
        path: path.to_path_buf(),
        format,
        email: require(EMAIL_NAMES)?,
        event: require(EVENT_NAMES)?,
        timestamp: require(TIMESTAMP_NAMES)?,
        machine: find(MACHINE_NAMES),
        bounce_type: find(BOUNCE_TYPE_NAMES),
    })
}

/// Timestamp cells of any type to Unix seconds (null when unparseable).
fn unix_times(column: Column) -> PolarsResult<Column> {
    let seconds: Int64Chunked = match column.dtype() {
        DataType::Datetime(unit, _) => {
            let per_second = match unit {
                TimeUnit::Milliseconds => 1_000,
                TimeUnit::Microseconds => 1_000_000,
                TimeUnit::Nanoseconds => 1_000_000_000,
            };
            let physical = column.to_physical_repr();
            physical
                .i64()?
                .iter()
                .map(|v| v.map(|v| v.div_euclid(per_second)))
                .collect()
        }
        DataType::Date => {
            let days = column.cast(&DataType::Int32)?;
            days.i32()?
                .iter()
                .map(|v| v.map(|d| i64::from(d) * 86_400))
                .collect()
        }
        dtype if dtype.is_float() => {
            let values = column.cast(&DataType::Float64)?;
            values
                .f64()?
                .iter()
                .map(|v| {
                    v.filter(|v| v.is_finite())
                        .map(|v| parse::unix_seconds(v as i64))
                })
                .collect()
        }
        dtype if dtype.is_integer() => {
            let values = column.cast(&DataType::Int64)?;
            values
                .i64()?
                .iter()
                .map(|v| v.map(parse::unix_seconds))
                .collect()
        }
        // Text (and anything else, as text).
        _ => {
            let text = column.cast(&DataType::String)?;
            text.str()?
                .iter()
                .map(|v| v.and_then(parse::timestamp))
                .collect()
        }
    };
    Ok(seconds.with_name("ts".into()).into_column())
}

/// `machine` cells to booleans (null when empty or not a boolean).
fn machine_flags(column: Column) -> PolarsResult<Column> {
    let flags: BooleanChunked = match column.dtype() {
        DataType::Boolean => column.bool()?.clone(),
        dtype if dtype.is_primitive_numeric() => {
            let values = column.cast(&DataType::Float64)?;
            values.f64()?.iter().map(|v| v.map(|v| v != 0.0)).collect()
        }
        // Text (and anything else, as text).
        _ => {
            let text = column.cast(&DataType::String)?;
            text.str()?
                .iter()
                .map(|v| v.and_then(parse::boolean))
                .collect()
        }
    };
    Ok(flags.with_name("machine".into()).into_column())
}

/// The key of an address cell ([`key_of`], without its allocation for ASCII cells), or the
/// problem with the cell.
fn address_key(raw: &str, buffer: &mut String) -> std::result::Result<u128, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(EMPTY_EMAIL);
    }
    let key = if trimmed.is_ascii() {
        trimmed.contains('@').then(|| {
            buffer.clear();
            buffer.push_str(trimmed);
            buffer.make_ascii_lowercase();
            key(buffer)
        })
    } else {
        key_of(trimmed)
    };
    key.ok_or(NOT_AN_ADDRESS)
}

/// The problems of rows that cannot be understood, as [`UnparsedRow::problem`] names them.
const EMPTY_EMAIL: &str = "empty_email";
const NOT_AN_ADDRESS: &str = "not_an_address";
const UNKNOWN_EVENT: &str = "unknown_event";
const BAD_TIMESTAMP: &str = "bad_timestamp";

/// The aliases of the columns each batch holds.
const EMAIL: &str = "__listwash_email";
const EVENT: &str = "__listwash_event";
const TIME: &str = "__listwash_time";
const MACHINE: &str = "__listwash_machine";
const BOUNCE_TYPE: &str = "__listwash_bounce_type";

/// Rows per batch handed over by polars (its CSV morsels are ~10k rows; bigger batches let a
/// batch be parsed and folded on every core).
const BATCH_ROWS: usize = 1 << 17;

/// Batches are parsed in slices of at least this many rows (one rayon task each).
const MIN_SLICE: usize = 8_192;

/// CSV logs are handed to polars in chunks of about this many bytes, cut at record
/// boundaries. Given a path, polars 0.55 memory-maps the whole file, and every page it has
/// parsed stays in the process's resident set until the end (1.2 GB for a 1.2 GB log).
const CSV_CHUNK_BYTES: usize = 16 << 20;

/// CSV chunks parsed at the same time. polars finds the record boundaries of a chunk on one
/// thread (its SIMD line counter needs a nightly compiler), so one chunk at a time leaves
/// cores idle.
const CSV_WORKERS: usize = 2;

/// Row counts of pass 1.
#[derive(Debug, Default, Clone)]
struct Counts {
    rows_read: u64,
    rows_used: u64,
    unparsed: UnparsedCounts,
    ignored: u64,
    machine_opens: u64,
    machine_clicks: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.rows_read += other.rows_read;
        self.rows_used += other.rows_used;
        let (mine, theirs) = (&mut self.unparsed, &other.unparsed);
        mine.empty_email += theirs.empty_email;
        mine.not_an_address += theirs.not_an_address;
        mine.unknown_event += theirs.unknown_event;
        mine.bad_timestamp += theirs.bad_timestamp;
        self.ignored += other.ignored;
        self.machine_opens += other.machine_opens;
        self.machine_clicks += other.machine_clicks;
    }
}

/// Where an unparsed row is: file index, chunk of the file, row in the chunk.
type Place = (usize, usize, u64);

/// One slice of a batch, parsed: usable rows by shard, counts, the first unparsed rows (by
/// row index in the chunk).
#[derive(Debug, Default)]
struct Parsed {
    rows: Vec<Vec<Row>>,
    counts: Counts,
    unparsed: Vec<(u64, &'static str)>,
}

/// Keeps the `LogStats::FIRST_UNPARSED` smallest entries of `list` (sorted).
fn keep_first<T: Ord>(list: &mut Vec<T>) {
    list.sort_unstable();
    list.truncate(LogStats::FIRST_UNPARSED);
}

/// Parses one slice of a batch (columns named by the aliases above, plus [`ROW_INDEX`]).
fn parse_rows(frame: &DataFrame) -> PolarsResult<Parsed> {
    let height = frame.height();
    let mut parsed = Parsed {
        rows: (0..SHARDS)
            .map(|_| Vec::with_capacity(height / SHARDS * 5 / 4 + 8))
            .collect(),
        ..Parsed::default()
    };
    let emails = frame.column(EMAIL)?.cast(&DataType::String)?;
    let events = frame.column(EVENT)?.cast(&DataType::String)?;
    let times = unix_times(frame.column(TIME)?.clone())?;
    let machines = match frame.column(MACHINE) {
        Ok(column) => Some(machine_flags(column.clone())?),
        Err(_) => None,
    };
    let bounce_types = match frame.column(BOUNCE_TYPE) {
        Ok(column) => Some(column.cast(&DataType::String)?),
        Err(_) => None,
    };
    let rows = frame.column(ROW_INDEX)?.cast(&DataType::UInt64)?;

    let machine_cells: Box<dyn Iterator<Item = Option<bool>>> = match &machines {
        Some(column) => Box::new(column.bool()?.iter()),
        None => Box::new(std::iter::repeat(None)),
    };
    let bounce_cells: Box<dyn Iterator<Item = Option<&str>>> = match &bounce_types {
        Some(column) => Box::new(column.str()?.iter()),
        None => Box::new(std::iter::repeat(None)),
    };
    let cells = emails
        .str()?
        .iter()
        .zip(events.str()?.iter())
        .zip(times.i64()?.iter())
        .zip(machine_cells.zip(bounce_cells))
        .zip(rows.u64()?.iter());
    let mut buffer = String::with_capacity(64);
    let counts = &mut parsed.counts;
    for ((((email, event), ts), (machine, bounce_type)), row) in cells {
        counts.rows_read += 1;
        let event = event.map_or(Event::Unknown, |e| parse::event(e, bounce_type));
        let key = email.map_or(Err(EMPTY_EMAIL), |e| address_key(e, &mut buffer));
        let problem = match (key, event, ts) {
            (Err(problem), ..) => problem,
            (_, Event::Unknown, _) => UNKNOWN_EVENT,
            (_, _, None) => BAD_TIMESTAMP,
            (_, Event::Ignored, _) => {
                counts.ignored += 1;
                continue;
            }
            (Ok(key), event, Some(ts)) => {
                counts.rows_used += 1;
                match (event, machine) {
                    (Event::Open, Some(true)) => counts.machine_opens += 1,
                    (Event::Click, Some(true)) => counts.machine_clicks += 1,
                    _ => {}
                }
                parsed.rows[shard_of(key)].push(Row {
                    key,
                    ts,
                    event,
                    machine,
                });
                continue;
            }
        };
        let slot = match problem {
            EMPTY_EMAIL => &mut counts.unparsed.empty_email,
            NOT_AN_ADDRESS => &mut counts.unparsed.not_an_address,
            UNKNOWN_EVENT => &mut counts.unparsed.unknown_event,
            _ => &mut counts.unparsed.bad_timestamp,
        };
        *slot += 1;
        if let Some(row) = row {
            parsed.unparsed.push((row, problem));
            if parsed.unparsed.len() >= 4 * LogStats::FIRST_UNPARSED {
                keep_first(&mut parsed.unparsed);
            }
        }
    }
    keep_first(&mut parsed.unparsed);
    Ok(parsed)
}

/// Parses a batch on every core.
fn parse_batch(frame: &DataFrame) -> PolarsResult<Vec<Parsed>> {
    let height = frame.height();
    let pieces = (height / MIN_SLICE).clamp(1, rayon::current_num_threads() * 4);
    let step = height.div_ceil(pieces).max(1);
    (0..pieces)
        .into_par_iter()
        .map(|i| parse_rows(&frame.slice((i * step) as i64, step)))
        .collect()
}

/// Everything the batches are folded into (behind a mutex: batches of several chunks arrive
/// at once).
#[derive(Debug, Default)]
struct Fold {
    profiles: Profiles,
    counts: Counts,
    /// The first unparsed rows.
    unparsed: Vec<(Place, &'static str)>,
    /// Scanner-click heuristic on.
    scanner: bool,
}

impl Fold {
    /// Folds a parsed batch of chunk `chunk` of file `file`, shard by shard on every core.
    fn absorb(&mut self, parsed: &[Parsed], file: usize, chunk: usize) -> std::io::Result<()> {
        let scanner = self.scanner;
        self.profiles
            .shards
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(s, shard)| {
                parsed.iter().try_for_each(|slice| match slice.rows.get(s) {
                    Some(rows) => shard.fold(rows, scanner),
                    None => Ok(()),
                })
            })?;
        for slice in parsed {
            self.counts.add(&slice.counts);
            self.unparsed.extend(
                slice
                    .unparsed
                    .iter()
                    .map(|(row, problem)| ((file, chunk, *row), *problem)),
            );
        }
        keep_first(&mut self.unparsed);
        Ok(())
    }
}

/// Runs one scan (a whole Parquet log, or a CSV chunk) of log `index` into the fold.
/// Returns how many rows polars read.
fn run_frame(
    frame: LazyFrame,
    file: &LogFile,
    place: (usize, usize),
    fold: &Arc<Mutex<Fold>>,
) -> Result<u64> {
    let mut columns = vec![
        col(&*file.email).alias(EMAIL),
        col(&*file.event).alias(EVENT),
        col(&*file.timestamp).alias(TIME),
        col(ROW_INDEX),
    ];
    if let Some(name) = &file.machine {
        columns.push(col(&**name).alias(MACHINE));
    }
    if let Some(name) = &file.bounce_type {
        columns.push(col(&**name).alias(BOUNCE_TYPE));
    }
    let shared = Arc::clone(fold);
    let rows = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&rows);
    let callback = PlanCallback::new(move |batch: DataFrame| {
        counter.fetch_add(batch.height() as u64, Ordering::Relaxed);
        let parsed = parse_batch(&batch)?;
        drop(batch);
        let mut fold = shared
            .lock()
            .map_err(|_| polars_err!(ComputeError: "an earlier batch failed"))?;
        fold.absorb(&parsed, place.0, place.1).map_err(|e| {
            polars_err!(ComputeError: "cannot write a temporary file ({e}); check TMPDIR's free space")
        })?;
        Ok(false)
    });
    frame
        .select(columns)
        .sink_batches(callback, false, NonZeroUsize::new(BATCH_ROWS))
        .and_then(|plan| plan.collect_with_engine(Engine::Streaming))
        .map_err(|e| polars_error(&file.path, &e))?;
    Ok(rows.load(Ordering::Relaxed))
}

/// A CSV chunk (the header line, then whole records) as a lazy frame with a row index.
fn csv_chunk(bytes: Vec<u8>, separator: u8) -> PolarsResult<LazyFrame> {
    LazyCsvReader::new_with_sources(ScanSources::Buffers(Arc::from(vec![bytes.into()])))
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_separator(separator)
        .with_truncate_ragged_lines(true)
        .with_encoding(CsvEncoding::LossyUtf8)
        .with_row_index(Some(RowIndex {
            name: ROW_INDEX.into(),
            offset: 0,
        }))
        .finish()
}

/// The number of `"` bytes in `bytes`.
fn quotes(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'"', bytes).count()
}

/// The end (after its `\n`) of the first record of `data`, which starts outside quotes.
fn first_record_end(data: &[u8]) -> Option<usize> {
    let mut inside = false;
    let mut from = 0;
    for newline in memchr::memchr_iter(b'\n', data) {
        inside ^= quotes(&data[from..newline]) % 2 == 1;
        if !inside {
            return Some(newline + 1);
        }
        from = newline;
    }
    None
}

/// The end (after its `\n`) of the last whole record of `data`, which starts outside quotes.
fn last_record_end(data: &[u8]) -> Option<usize> {
    let mut end = memchr::memrchr(b'\n', data)?;
    let mut inside = quotes(&data[..end]) % 2 == 1;
    while inside {
        let previous = memchr::memrchr(b'\n', &data[..end])?;
        inside ^= quotes(&data[previous..end]) % 2 == 1;
        end = previous;
    }
    Some(end + 1)
}

/// Reads `file` into `data` until it holds `want` bytes or the file ends. Returns true at the
/// end of the file.
fn fill(file: &mut std::fs::File, data: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    while data.len() < want {
        let before = data.len();
        let read = (&mut *file)
            .take((want - before) as u64)
            .read_to_end(data)?;
        if read == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Cuts a CSV log into chunks of whole records, each with the header line, and hands them to
/// `chunk` in order until it returns false.
fn csv_chunks(
    file: &LogFile,
    chunk_bytes: usize,
    mut chunk: impl FnMut(Vec<u8>) -> bool,
) -> Result<()> {
    let io_error = |e: std::io::Error| {
        engagement_error(
            &file.path,
            format!("cannot read: {e}; check the path given to --engagement"),
        )
    };
    let mut reader = std::fs::File::open(&file.path).map_err(io_error)?;
    let mut data = Vec::with_capacity(1 << 16);
    let mut at_end = false;
    let header_end = loop {
        if let Some(end) = first_record_end(&data) {
            break end;
        }
        if at_end {
            break data.len();
        }
        let want = data.len() + (1 << 16);
        at_end = fill(&mut reader, &mut data, want).map_err(io_error)?;
    };
    let header = data[..header_end].to_vec();
    let mut carry = data.split_off(header_end);
    loop {
        let mut bytes = Vec::with_capacity(header.len() + chunk_bytes + (1 << 16));
        bytes.extend_from_slice(&header);
        bytes.append(&mut carry);
        let mut target = header.len() + chunk_bytes;
        let end = loop {
            if !at_end && bytes.len() < target {
                at_end = fill(&mut reader, &mut bytes, target).map_err(io_error)?;
            }
            if at_end && bytes.len() <= target {
                break bytes.len();
            }
            match last_record_end(&bytes[header.len()..target.min(bytes.len())]) {
                Some(end) => break header.len() + end,
                // A record longer than a chunk: read on.
                None => target += chunk_bytes,
            }
        };
        carry = bytes.split_off(end);
        if bytes.len() > header.len() && !chunk(bytes) {
            return Ok(());
        }
        if at_end && carry.is_empty() {
            return Ok(());
        }
    }
}

/// Streams one CSV log through the fold, [`CSV_WORKERS`] chunks at a time. Returns the rows
/// of each chunk.
fn run_csv(
    file: &LogFile,
    chunk_bytes: usize,
    separator: u8,
    index: usize,
    fold: &Arc<Mutex<Fold>>,
) -> Result<Vec<u64>> {
    let (send, receive) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>)>(0);
    let receive = Mutex::new(receive);
    let failed = AtomicBool::new(false);
    let rows = Mutex::new(Vec::<u64>::new());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CSV_WORKERS)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    let mut outcome = Ok(());
                    loop {
                        let next = match receive.lock() {
                            Ok(receive) => receive.recv(),
                            Err(_) => break,
                        };
                        let Ok((number, bytes)) = next else {
                            break;
                        };
                        if outcome.is_err() || failed.load(Ordering::Relaxed) {
                            continue; // drain, so that the reader never blocks
                        }
                        let counted = csv_chunk(bytes, separator)
                            .map_err(|e| polars_error(&file.path, &e))
                            .and_then(|frame| run_frame(frame, file, (index, number), fold));
                        match counted {
                            Ok(count) => {
                                if let Ok(mut rows) = rows.lock() {
                                    if rows.len() <= number {
                                        rows.resize(number + 1, 0);
                                    }
                                    rows[number] = count;
                                }
                            }
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                outcome = Err(e);
                            }
                        }
                    }
                    outcome
                })
            })
            .collect();
        let mut number = 0;
        let read = csv_chunks(file, chunk_bytes, |bytes| {
            let sent = send.send((number, bytes)).is_ok();
            number += 1;
            sent && !failed.load(Ordering::Relaxed)
        });
        drop(send);
        let mut outcome = read;
        for worker in workers {
            let done = worker.join().unwrap_or_else(|_| {
                Err(engagement_error(
                    &file.path,
                    "internal error: a reader thread panicked",
                ))
            });
            outcome = outcome.and(done);
        }
        outcome
    })?;
    rows.into_inner()
        .map_err(|_| engagement_error(&file.path, "internal error: a reader thread panicked"))
}

/// Reads the logs: profiles by key, and the counts for the report.
pub(super) fn load(paths: &[PathBuf], rules: &EngagementRules) -> Result<(Profiles, LogStats)> {
    load_with(paths, rules, CSV_CHUNK_BYTES)
}

/// [`load`] with CSV chunks of `chunk_bytes`.
fn load_with(
    paths: &[PathBuf],
    rules: &EngagementRules,
    chunk_bytes: usize,
) -> Result<(Profiles, LogStats)> {
    let files = paths
        .iter()
        .map(|p| inspect(p))
        .collect::<Result<Vec<_>>>()?;
    let window = i64::from(rules.scanner_click_seconds);
    let fold = Arc::new(Mutex::new(Fold {
        scanner: window > 0,
        ..Fold::default()
    }));
    // Pass 1, and the rows of each chunk of each file (for line numbers).
    let mut chunk_rows = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        chunk_rows.push(match file.format {
            Format::Csv { separator } => run_csv(file, chunk_bytes, separator, index, &fold)?,
            Format::Parquet => vec![run_frame(
                scan(&file.path, file.format)?,
                file,
                (index, 0),
                &fold,
            )?],
        });
    }
    let internal = || engagement_error(&files[0].path, "internal error: a batch failed");
    let fold = Arc::try_unwrap(fold)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .ok_or_else(internal)?;
    let Fold {
        mut profiles,
        counts,
        unparsed,
        ..
    } = fold;

    // Pass 2, over what pass 1 spilled. No `sent` event anywhere: deliveries stand in.
    let shards = &mut profiles.shards;
    let uses_sent =
        shards.iter().any(|s| s.has_sends()) || !shards.iter().any(|s| s.has_deliveries());
    let sends = if uses_sent {
        Event::Sent
    } else {
        Event::Delivered
    };
    let needs_pass2 = shards
        .par_iter_mut()
        .map(|s| s.prepare(uses_sent))
        .collect::<Vec<bool>>()
        .contains(&true);
    if needs_pass2 {
        shards
            .par_iter_mut()
            .try_for_each(|s| s.fold_again(sends, window))
            .map_err(|e| {
                engagement_error(
                    &files[0].path,
                    format!("cannot read back a temporary file: {e}"),
                )
            })?;
    }
    let scanner_clicks: u64 = shards
        .par_iter_mut()
        .map(|s| s.finish().scanner_clicks)
        .sum();

    let u = &counts.unparsed;
    let line = |(file, chunk, row): Place| -> Option<UnparsedRow> {
        let log = files.get(file)?;
        // CSV: line 1 is the header; Parquet: rows count from 1.
        let first = match log.format {
            Format::Csv { .. } => 2,
            Format::Parquet => 1,
        };
        let before: u64 = chunk_rows.get(file)?.iter().take(chunk).sum();
        Some(UnparsedRow {
            file: log.path.clone(),
            line: first + before + row,
            problem: "",
        })
    };
    let stats = LogStats {
        files: files.iter().map(|f| f.path.clone()).collect(),
        rows_read: counts.rows_read,
        rows_used: counts.rows_used,
        unparsed_rows: u.empty_email + u.not_an_address + u.unknown_event + u.bad_timestamp,
        unparsed: counts.unparsed.clone(),
        first_unparsed: unparsed
            .into_iter()
            .filter_map(|(place, problem)| {
                Some(UnparsedRow {
                    problem,
                    ..line(place)?
                })
            })
            .collect(),
        ignored_events: counts.ignored,
        machine_opens_discarded: counts.machine_opens,
        machine_clicks_discarded: counts.machine_clicks,
        scanner_clicks_discarded: scanner_clicks,
        distinct_addresses: profiles.len() as u64,
        sends_counted_from: if uses_sent { "sent" } else { "delivered" },
    };
    Ok((profiles, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_keys_match_contact_keys() {
        let mut buffer = String::new();
        for raw in [
            "a@b.co",
            "  John.Doe@GMail.COM ",
            "x.y+z@Bücher.DE",
            "Ünï@ex.com",
            "jeff@臺網中心.tw",
        ] {
            assert_eq!(
                address_key(raw, &mut buffer),
                Ok(key_of(raw).unwrap()),
                "{raw}"
            );
        }
        assert_eq!(address_key("  ", &mut buffer), Err(EMPTY_EMAIL));
        assert_eq!(address_key("no-at-sign", &mut buffer), Err(NOT_AN_ADDRESS));
    }

    #[test]
    fn record_boundaries_respect_quotes() {
        let data = b"a,\"x\ny\",1\nb,2\nc,\"\"\"q\n\",3\n";
        assert_eq!(first_record_end(data), Some(10));
        assert_eq!(last_record_end(data), Some(data.len()));
        assert_eq!(last_record_end(&data[..data.len() - 1]), Some(14));
        assert_eq!(last_record_end(b"a,\"open\n"), None);
        assert_eq!(first_record_end(b"a,\"open\n"), None);
    }

    #[test]
    fn small_chunks_cut_at_record_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quoted.csv");
        let mut text = String::from("email,event,timestamp,note\n");
        for i in 0..50 {
            text.push_str(&format!(
                "u{i}@example.com,open,2024-01-{:02},\"a\nquoted, \"\"line\"\"\"\n",
                i % 28 + 1
            ));
        }
        std::fs::write(&path, &text).unwrap();
        let file = inspect(&path).unwrap();
        let mut body = Vec::new();
        let mut chunks = 0;
        csv_chunks(&file, 100, |bytes| {
            let (header, rest) = bytes.split_at(27);
            assert_eq!(header, b"email,event,timestamp,note\n");
            assert!(rest.ends_with(b"\"\n"));
            body.extend_from_slice(rest);
            chunks += 1;
            true
        })
        .unwrap();
        assert!(chunks > 10);
        assert_eq!(body, text.as_bytes()[27..]);
    }

    fn sorted(profiles: &Profiles) -> Vec<(u128, crate::engagement::Profile)> {
        let mut all: Vec<_> = profiles.iter().map(|(k, p)| (*k, p.clone())).collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    #[test]
    fn chunk_size_changes_nothing() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engagement");
        let paths: Vec<PathBuf> = ["garbage.csv", "boundaries.csv", "scanner.csv"]
            .iter()
            .map(|name| fixtures.join(name))
            .collect();
        let rules = EngagementRules::default();
        let (whole, whole_stats) = load(&paths, &rules).unwrap();
        let (small, small_stats) = load_with(&paths, &rules, 64).unwrap();
        assert_eq!(whole_stats, small_stats);
        assert_eq!(sorted(&whole), sorted(&small));
        assert_eq!(whole_stats.first_unparsed[0].line, 3);
    }
}
