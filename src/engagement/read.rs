//! Reading event logs with polars: scan, classify, aggregate per address (streaming engine).
//!
//! Every row's address is keyed while it is scanned, exactly like contacts
//! ([`crate::normalize::key_of`]: trimmed, lower-cased, IDNA domain, XXH3-128), and the
//! 128-bit key travels as two `u64` columns. Grouping by those rather than by the address
//! string halves the time and the memory of the group-by (measured on 20M events), merges
//! spellings of one address (IDNA forms) for free, and never keeps an address in memory.
//!
//! Two streaming passes over the logs, both grouped by key:
//! 1. every count, first and last time that needs no ordering (sends, deliveries, last human
//!    open and click, bounces, complaints, unsubscribes, …); rows that cannot be understood get
//!    sentinel keys, so they are counted in the same pass;
//! 2. for addresses with a hard bounce or a human open or click: deliveries after the last hard
//!    bounce and sends after the last human engagement, by joining pass 1's times back.
//!
//! Memory: polars 0.55's streaming group-by aggregates in place only the 4,096 hottest keys
//! per thread (`POLARS_HOT_TABLE_SIZE`) and stores the other rows' aggregation inputs until
//! the end, so each `when(..).then(ts)` input costs 8 bytes per event. Fewer such inputs (or
//! a group-by on (address, event)) is the next step to get peak RSS under the log's size.
//!
//! In logs without a `machine` column, clicks within `scanner_click_seconds` after a delivery
//! to the same address are found first by a bucketed equi-join.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use super::parse::{self, Event};
use super::{EngagementRules, LogStats, Profile, UnparsedRow};
use crate::error::{Error, Result};
use crate::normalize::{key, key_of};

/// The row index polars adds while scanning.
const ROW_INDEX: &str = "__listwash_row";

/// Sentinel keys (high half 0, low half below 5) for rows that are not events of an address.
/// A real address hashes to one of them with probability 5 in 2^128.
const EMPTY_EMAIL: u64 = 0;
const NOT_AN_ADDRESS: u64 = 1;
const UNKNOWN_EVENT: u64 = 2;
const BAD_TIMESTAMP: u64 = 3;
const IGNORED: u64 = 4;
const SENTINELS: u64 = 5;

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

fn output(
    name: &str,
    dtype: DataType,
) -> impl Fn(&Schema, &[Field]) -> PolarsResult<Field> + Send + Sync + 'static {
    let name = PlSmallStr::from(name);
    move |_, _| Ok(Field::new(name.clone(), dtype.clone()))
}

fn output1(
    name: &str,
    dtype: DataType,
) -> impl Fn(&Schema, &Field) -> PolarsResult<Field> + Send + Sync + 'static {
    let name = PlSmallStr::from(name);
    move |_, _| Ok(Field::new(name.clone(), dtype.clone()))
}

/// Event names (and bounce types) to [`Event`] codes.
fn event_codes(columns: &mut [Column]) -> PolarsResult<Column> {
    let events = columns[0].cast(&DataType::String)?;
    let events = events.str()?;
    let codes: NoNull<UInt32Chunked> = match columns.get(1) {
        Some(types) => {
            let types = types.cast(&DataType::String)?;
            events
                .iter()
                .zip(types.str()?.iter())
                .map(|(event, kind)| event.map_or(Event::Unknown, |e| parse::event(e, kind)) as u32)
                .collect()
        }
        None => events
            .iter()
            .map(|e| e.map_or(Event::Unknown, |e| parse::event(e, None)) as u32)
            .collect(),
    };
    Ok(codes.into_inner().with_name("code".into()).into_column())
}

/// Timestamp cells of any type to Unix seconds (null when unparseable).
fn unix_times(column: Column) -> PolarsResult<Column> {
    let seconds: Int64Chunked = match column.dtype() {
        DataType::String => column
            .str()?
            .iter()
            .map(|v| v.and_then(parse::timestamp))
            .collect(),
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
        DataType::String => column
            .str()?
            .iter()
            .map(|v| v.and_then(parse::boolean))
            .collect(),
        dtype if dtype.is_primitive_numeric() => {
            let values = column.cast(&DataType::Float64)?;
            values.f64()?.iter().map(|v| v.map(|v| v != 0.0)).collect()
        }
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

/// The key of an address cell, or a sentinel (high half 0) for an empty cell or a cell that
/// is not an address. Same result as [`key_of`], without its allocation for ASCII cells.
fn address_key(raw: &str, buffer: &mut String) -> u128 {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return u128::from(EMPTY_EMAIL);
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
    key.unwrap_or(u128::from(NOT_AN_ADDRESS))
}

/// One half of [`address_key`] for a column of address cells.
fn address_key_half(column: Column, high: bool) -> PolarsResult<Column> {
    let text = column.cast(&DataType::String)?;
    let mut buffer = String::with_capacity(64);
    let keys: NoNull<UInt64Chunked> = text
        .str()?
        .iter()
        .map(|cell| {
            let key = cell.map_or(u128::from(EMPTY_EMAIL), |c| address_key(c, &mut buffer));
            if high { (key >> 64) as u64 } else { key as u64 }
        })
        .collect();
    Ok(keys
        .into_inner()
        .with_name(if high { "hi" } else { "lo" }.into())
        .into_column())
}

fn is(event: Event) -> Expr {
    col("code").eq(lit(event as u32))
}

/// All logs as one frame: `key` (the address, or a sentinel), `code`, `ts`, `machine`,
/// `file`, `line`.
fn events(files: &[LogFile]) -> Result<LazyFrame> {
    let mut frames = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        let event = match &file.bounce_type {
            Some(kind) => col(&*file.event).map_many(
                event_codes,
                &[col(&**kind)],
                output("code", DataType::UInt32),
            ),
            None => col(&*file.event).map_many(event_codes, &[], output("code", DataType::UInt32)),
        };
        let machine = match &file.machine {
            Some(name) => col(&**name).map(machine_flags, |_, f| {
                Ok(Field::new(f.name().clone(), DataType::Boolean))
            }),
            None => lit(NULL).cast(DataType::Boolean),
        };
        // CSV: line 1 is the header; Parquet: rows count from 1.
        let first_line: u64 = match file.format {
            Format::Csv { .. } => 2,
            Format::Parquet => 1,
        };
        let frame = scan(&file.path, file.format)?.select([
            col(&*file.email)
                .map(
                    |c| address_key_half(c, true),
                    output1("hi", DataType::UInt64),
                )
                .alias("hi"),
            col(&*file.email)
                .map(
                    |c| address_key_half(c, false),
                    output1("lo", DataType::UInt64),
                )
                .alias("lo"),
            event.alias("code"),
            col(&*file.timestamp)
                .map(unix_times, |_, f| {
                    Ok(Field::new(f.name().clone(), DataType::Int64))
                })
                .alias("ts"),
            machine.alias("machine"),
            lit(index as u32).alias("file"),
            (col(ROW_INDEX).cast(DataType::UInt64) + lit(first_line)).alias("line"),
        ]);
        frames.push(frame);
    }
    let all = if frames.len() == 1 {
        frames
            .pop()
            .ok_or_else(|| engagement_error(Path::new("-"), "no event log"))?
    } else {
        concat(frames, UnionArgs::default()).map_err(|e| polars_error(&files[0].path, &e))?
    };
    let bad_email = col("hi").eq(lit(0u64)).and(col("lo").lt(lit(SENTINELS)));
    let unusable = is(Event::Unknown)
        .or(col("ts").is_null())
        .or(is(Event::Ignored));
    let hi = when(bad_email.clone())
        .then(col("hi"))
        .when(unusable)
        .then(lit(0u64))
        .otherwise(col("hi"))
        .alias("hi");
    let lo = when(bad_email)
        .then(col("lo"))
        .when(is(Event::Unknown))
        .then(lit(UNKNOWN_EVENT))
        .when(col("ts").is_null())
        .then(lit(BAD_TIMESTAMP))
        .when(is(Event::Ignored))
        .then(lit(IGNORED))
        .otherwise(col("lo"))
        .alias("lo");
    Ok(all.select([
        hi,
        lo,
        col("code"),
        col("ts"),
        col("machine"),
        col("file"),
        col("line"),
    ]))
}

fn collect(frame: LazyFrame, files: &[LogFile]) -> Result<DataFrame> {
    frame
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(|e| polars_error(&files[0].path, &e))
}

/// Clicks (in logs without a `machine` column) within `window` seconds after a delivery to
/// the same address: `file`, `line`, `scanner` (true). Deliveries are put in `window`-second
/// buckets and in the next bucket too, so an equi-join on (address, bucket) finds every pair.
fn scanner_clicks(files: &[LogFile], window: i64) -> Result<DataFrame> {
    let bucket = |e: Expr| e.clone() - e % lit(window);
    let clicks = events(files)?
        .filter(is(Event::Click).and(col("machine").is_null()))
        .select([
            col("hi"),
            col("lo"),
            col("ts").alias("click"),
            bucket(col("ts")).alias("bucket"),
            col("file"),
            col("line"),
        ]);
    let deliveries = events(files)?.filter(is(Event::Delivered)).select([
        col("hi"),
        col("lo"),
        col("ts").alias("delivery"),
    ]);
    let same = deliveries
        .clone()
        .with_column(bucket(col("delivery")).alias("bucket"));
    let next = deliveries.with_column((bucket(col("delivery")) + lit(window)).alias("bucket"));
    let deliveries =
        concat([same, next], UnionArgs::default()).map_err(|e| polars_error(&files[0].path, &e))?;
    let found = clicks
        .join(
            deliveries,
            [col("hi"), col("lo"), col("bucket")],
            [col("hi"), col("lo"), col("bucket")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(
            col("click")
                .gt_eq(col("delivery"))
                .and((col("click") - col("delivery")).lt_eq(lit(window))),
        )
        .select([col("file"), col("line")])
        .unique(None, UniqueKeepStrategy::Any)
        .with_column(lit(true).alias("scanner"));
    collect(found, files)
}

/// Typed access to an aggregated frame's columns, by position in the names given.
struct Columns {
    counts: Vec<UInt64Chunked>,
    times: Vec<Int64Chunked>,
}

impl Columns {
    fn new(frame: &DataFrame, counts: &[&str], times: &[&str]) -> PolarsResult<Columns> {
        let counts = counts
            .iter()
            .map(|name| {
                let column = frame
                    .column(name)?
                    .cast(&DataType::UInt64)?
                    .fill_null(FillNullStrategy::Zero)?;
                Ok(column.u64()?.rechunk().into_owned())
            })
            .collect::<PolarsResult<_>>()?;
        let times = times
            .iter()
            .map(|name| {
                let column = frame.column(name)?.cast(&DataType::Int64)?;
                Ok(column.i64()?.rechunk().into_owned())
            })
            .collect::<PolarsResult<_>>()?;
        Ok(Columns { counts, times })
    }

    fn count(&self, column: usize, row: usize) -> u64 {
        self.counts
            .get(column)
            .and_then(|c| c.get(row))
            .unwrap_or(0)
    }

    fn time(&self, column: usize, row: usize) -> Option<i64> {
        self.times.get(column).and_then(|c| c.get(row))
    }
}

/// Pass 1's count columns, in the order of the `C_*` indices.
const COUNTS: &[&str] = &[
    "lo",
    "hi_min",
    "hi_max",
    "rows",
    "sent",
    "delivered",
    "machine_opens",
    "machine_clicks",
    "scanner_clicks",
    "hard",
    "soft",
    "complaints",
    "unsubscribes",
];
const C_LO: usize = 0;
const C_HI_MIN: usize = 1;
const C_HI_MAX: usize = 2;
const C_ROWS: usize = 3;
const C_SENT: usize = 4;
const C_DELIVERED: usize = 5;
const C_MACHINE_OPENS: usize = 6;
const C_MACHINE_CLICKS: usize = 7;
const C_SCANNER_CLICKS: usize = 8;
const C_HARD: usize = 9;
const C_SOFT: usize = 10;
const C_COMPLAINTS: usize = 11;
const C_UNSUBSCRIBES: usize = 12;
/// Pass 1's time columns, in the order of the `T_*` indices.
const TIMES: &[&str] = &[
    "first",
    "last",
    "open",
    "click",
    "hard_first",
    "hard_last",
    "soft_last",
    "complaint_first",
    "unsubscribe_first",
];
const T_FIRST: usize = 0;
const T_LAST: usize = 1;
const T_OPEN: usize = 2;
const T_CLICK: usize = 3;
const T_HARD_FIRST: usize = 4;
const T_HARD_LAST: usize = 5;
const T_SOFT_LAST: usize = 6;
const T_COMPLAINT_FIRST: usize = 7;
const T_UNSUBSCRIBE_FIRST: usize = 8;

/// Reads the logs: profiles by key, and the counts for the report.
///
/// Groups by the low 64 bits of the key (a single integer key is the fast path of polars'
/// group-by) and checks that each group has one high half; if two addresses ever share the low
/// half, it runs again grouped by both halves.
pub(super) fn load(
    paths: &[PathBuf],
    rules: &EngagementRules,
) -> Result<(HashMap<u128, Profile>, LogStats)> {
    let files = paths
        .iter()
        .map(|p| inspect(p))
        .collect::<Result<Vec<_>>>()?;
    match load_keyed(&files, rules, false)? {
        Some(loaded) => Ok(loaded),
        None => load_keyed(&files, rules, true)?
            .ok_or_else(|| engagement_error(&files[0].path, "internal error: key collision")),
    }
}

/// [`load`] grouped by `lo` or, when `wide`, by `hi` and `lo`. Returns `None` when not `wide`
/// and two addresses share a low half.
fn load_keyed(
    files: &[LogFile],
    rules: &EngagementRules,
    wide: bool,
) -> Result<Option<(HashMap<u128, Profile>, LogStats)>> {
    let error = |e: PolarsError| polars_error(&files[0].path, &e);
    let group_keys = || {
        if wide {
            vec![col("hi"), col("lo")]
        } else {
            vec![col("lo")]
        }
    };
    let mut stats = LogStats {
        files: files.iter().map(|f| f.path.clone()).collect(),
        ..LogStats::default()
    };

    // Link scanners: only for logs without a machine column.
    let window = i64::from(rules.scanner_click_seconds);
    let scanners = if window > 0 && files.iter().any(|f| f.machine.is_none()) {
        Some(scanner_clicks(files, window)?).filter(|s| s.height() > 0)
    } else {
        None
    };

    // Pass 1.
    let mut frame = events(files)?;
    let scanner = match scanners {
        Some(scanners) => {
            frame = frame.join(
                scanners.lazy(),
                [col("file"), col("line")],
                [col("file"), col("line")],
                JoinArgs::new(JoinType::Left),
            );
            col("scanner").fill_null(lit(false))
        }
        None => lit(false),
    };
    let machine = col("machine").fill_null(lit(false));
    let human = machine.clone().not().and(scanner.clone().not());
    let ts = || col("ts");
    // `when(..).then(ts).max()` rather than `ts.filter(..).max()`: polars 0.55's streaming
    // group-by runs each filtered aggregation as a separate group-by over a copy of the stream;
    // an elementwise input stays one reduction.
    let when_ts = |predicate: Expr| {
        when(predicate)
            .then(col("ts"))
            .otherwise(lit(NULL).cast(DataType::Int64))
    };
    let pass1 = frame.group_by(group_keys()).agg([
        col("hi").min().alias("hi_min"),
        col("hi").max().alias("hi_max"),
        len().alias("rows"),
        is(Event::Sent).sum().alias("sent"),
        is(Event::Delivered).sum().alias("delivered"),
        ts().min().alias("first"),
        ts().max().alias("last"),
        when_ts(is(Event::Open).and(machine.clone().not()))
            .max()
            .alias("open"),
        when_ts(is(Event::Click).and(human)).max().alias("click"),
        is(Event::Open)
            .and(machine.clone())
            .sum()
            .alias("machine_opens"),
        is(Event::Click).and(machine).sum().alias("machine_clicks"),
        is(Event::Click).and(scanner).sum().alias("scanner_clicks"),
        is(Event::HardBounce).sum().alias("hard"),
        when_ts(is(Event::HardBounce)).min().alias("hard_first"),
        when_ts(is(Event::HardBounce)).max().alias("hard_last"),
        is(Event::SoftBounce).sum().alias("soft"),
        when_ts(is(Event::SoftBounce)).max().alias("soft_last"),
        is(Event::Complaint).sum().alias("complaints"),
        when_ts(is(Event::Complaint)).min().alias("complaint_first"),
        is(Event::Unsubscribe).sum().alias("unsubscribes"),
        when_ts(is(Event::Unsubscribe))
            .min()
            .alias("unsubscribe_first"),
    ]);
    let pass1 = collect(pass1, files)?;
    let columns = Columns::new(&pass1, COUNTS, TIMES).map_err(error)?;

    let mut profiles: HashMap<u128, Profile> = HashMap::with_capacity(pass1.height());
    for row in 0..pass1.height() {
        let hi = columns.count(C_HI_MIN, row);
        if hi != columns.count(C_HI_MAX, row) {
            return Ok(None);
        }
        let lo = columns.count(C_LO, row);
        let rows = columns.count(C_ROWS, row);
        stats.rows_read += rows;
        if hi == 0 && lo < SENTINELS {
            let unparsed = &mut stats.unparsed;
            let slot = match lo {
                EMPTY_EMAIL => &mut unparsed.empty_email,
                NOT_AN_ADDRESS => &mut unparsed.not_an_address,
                UNKNOWN_EVENT => &mut unparsed.unknown_event,
                BAD_TIMESTAMP => &mut unparsed.bad_timestamp,
                _ => &mut stats.ignored_events,
            };
            *slot += rows;
            continue;
        }
        stats.rows_used += rows;
        let machine_opens = columns.count(C_MACHINE_OPENS, row);
        let machine_clicks = columns.count(C_MACHINE_CLICKS, row);
        let scanner_clicks = columns.count(C_SCANNER_CLICKS, row);
        stats.machine_opens_discarded += machine_opens;
        stats.machine_clicks_discarded += machine_clicks;
        stats.scanner_clicks_discarded += scanner_clicks;
        let profile = Profile {
            sends: columns.count(C_SENT, row),
            deliveries: columns.count(C_DELIVERED, row),
            last_human_open: columns.time(T_OPEN, row),
            last_human_click: columns.time(T_CLICK, row),
            hard_bounces: columns.count(C_HARD, row),
            first_hard_bounce: columns.time(T_HARD_FIRST, row),
            last_hard_bounce: columns.time(T_HARD_LAST, row),
            soft_bounces: columns.count(C_SOFT, row),
            last_soft_bounce: columns.time(T_SOFT_LAST, row),
            complaints: columns.count(C_COMPLAINTS, row),
            first_complaint: columns.time(T_COMPLAINT_FIRST, row),
            unsubscribes: columns.count(C_UNSUBSCRIBES, row),
            first_unsubscribe: columns.time(T_UNSUBSCRIBE_FIRST, row),
            machine_events: machine_opens + machine_clicks,
            scanner_clicks,
            first_event: columns.time(T_FIRST, row),
            last_event: columns.time(T_LAST, row),
            ..Profile::default()
        };
        profiles.insert((u128::from(hi) << 64) | u128::from(lo), profile);
    }
    drop(columns);
    drop(pass1);
    let u = &stats.unparsed;
    stats.unparsed_rows = u.empty_email + u.not_an_address + u.unknown_event + u.bad_timestamp;
    stats.distinct_addresses = profiles.len() as u64;

    // No `sent` event anywhere: deliveries stand in for sends.
    let uses_sent =
        profiles.values().any(|p| p.sends > 0) || profiles.values().all(|p| p.deliveries == 0);
    stats.sends_counted_from = if uses_sent { "sent" } else { "delivered" };
    for profile in profiles.values_mut() {
        if !uses_sent {
            profile.sends = profile.deliveries;
        }
        if profile.last_engagement().is_none() {
            profile.sends_since_engagement = profile.sends;
        }
    }

    // Pass 2, for the addresses with a hard bounce or a human engagement: each send or
    // delivery looks up its address's last hard bounce and last human engagement (a hash map
    // in the expression rather than a join: a streaming join first buffers millions of rows
    // to pick its build side), and only rows that count are grouped.
    let thresholds: HashMap<u128, (i64, i64)> = profiles
        .iter()
        .filter(|(_, p)| p.last_hard_bounce.is_some() || p.last_engagement().is_some())
        .map(|(key, p)| {
            let never = i64::MAX;
            (
                *key,
                (
                    p.last_hard_bounce.unwrap_or(never),
                    p.last_engagement().unwrap_or(never),
                ),
            )
        })
        .collect();
    if !thresholds.is_empty() {
        let thresholds = Arc::new(thresholds);
        let sends = if uses_sent {
            Event::Sent
        } else {
            Event::Delivered
        } as u32;
        let flags = col("hi").map_many(
            move |columns: &mut [Column]| pass2_flags(columns, &thresholds, sends),
            &[col("lo"), col("ts"), col("code")],
            output("flags", DataType::UInt32),
        );
        let pass2 = events(files)?
            .filter(is(Event::Sent).or(is(Event::Delivered)))
            .with_column(flags.alias("flags"))
            .filter(col("flags").gt(lit(0u32)))
            .group_by(group_keys())
            .agg([
                col("hi").min().alias("hi_key"),
                col("flags")
                    .eq(lit(1u32))
                    .or(col("flags").eq(lit(3u32)))
                    .sum()
                    .alias("after_bounce"),
                col("flags")
                    .gt_eq(lit(2u32))
                    .sum()
                    .alias("after_engagement"),
            ]);
        let pass2 = collect(pass2, files)?;
        let columns = Columns::new(
            &pass2,
            &["hi_key", "lo", "after_bounce", "after_engagement"],
            &[],
        )
        .map_err(error)?;
        for i in 0..pass2.height() {
            let key = (u128::from(columns.count(0, i)) << 64) | u128::from(columns.count(1, i));
            let Some(profile) = profiles.get_mut(&key) else {
                continue;
            };
            profile.deliveries_after_last_hard_bounce += columns.count(2, i);
            if profile.last_engagement().is_some() {
                profile.sends_since_engagement += columns.count(3, i);
            }
        }
    }

    if stats.unparsed_rows > 0 {
        stats.first_unparsed = first_unparsed(files)?;
    }
    Ok(Some((profiles, stats)))
}

/// Pass 2's per-row flags: 1 = a delivery after the address's last hard bounce, 2 = a send
/// after its last human engagement, 3 = both, 0 = neither.
fn pass2_flags(
    columns: &mut [Column],
    thresholds: &HashMap<u128, (i64, i64)>,
    sends: u32,
) -> PolarsResult<Column> {
    let [hi, lo, ts, code] = columns else {
        polars_bail!(ComputeError: "pass 2 expects 4 columns");
    };
    let (hi, lo, ts, code) = (hi.u64()?, lo.u64()?, ts.i64()?, code.u32()?);
    let flags: NoNull<UInt32Chunked> = hi
        .iter()
        .zip(lo.iter())
        .zip(ts.iter().zip(code.iter()))
        .map(|((hi, lo), (ts, code))| {
            let (Some(hi), Some(lo), Some(ts), Some(code)) = (hi, lo, ts, code) else {
                return 0;
            };
            let Some(&(bounce, engagement)) =
                thresholds.get(&((u128::from(hi) << 64) | u128::from(lo)))
            else {
                return 0;
            };
            let after_bounce = code == Event::Delivered as u32 && ts > bounce;
            let after_engagement = code == sends && ts > engagement;
            u32::from(after_bounce) | (u32::from(after_engagement) << 1)
        })
        .collect();
    Ok(flags.into_inner().with_name("flags".into()).into_column())
}

/// The first unparsed rows, in file and line order.
fn first_unparsed(files: &[LogFile]) -> Result<Vec<UnparsedRow>> {
    let found = events(files)?
        .filter(col("hi").eq(lit(0u64)).and(col("lo").lt(lit(IGNORED))))
        .select([col("file"), col("line"), col("lo")])
        .limit(LogStats::FIRST_UNPARSED as IdxSize);
    let found = collect(found, files)?;
    let columns = Columns::new(&found, &["file", "line", "lo"], &[])
        .map_err(|e| polars_error(&files[0].path, &e))?;
    let (file_column, line_column, lo_column) = (0, 1, 2);
    let mut rows: Vec<(u64, UnparsedRow)> = (0..found.height())
        .filter_map(|i| {
            let index = columns.count(file_column, i);
            let file = files.get(index as usize)?;
            let problem = match columns.count(lo_column, i) {
                EMPTY_EMAIL => "empty_email",
                NOT_AN_ADDRESS => "not_an_address",
                UNKNOWN_EVENT => "unknown_event",
                _ => "bad_timestamp",
            };
            let line = columns.count(line_column, i);
            Some((
                index,
                UnparsedRow {
                    file: file.path.clone(),
                    line,
                    problem,
                },
            ))
        })
        .collect();
    rows.sort_by_key(|(index, row)| (*index, row.line));
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_and_wide_keys_agree() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engagement/boundaries.csv");
        let files = vec![inspect(&path).unwrap()];
        let rules = EngagementRules::default();
        let narrow = load_keyed(&files, &rules, false).unwrap().unwrap();
        let wide = load_keyed(&files, &rules, true).unwrap().unwrap();
        assert_eq!(narrow, wide);
        assert_eq!(narrow.0.len(), 16);
    }

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
            assert_eq!(address_key(raw, &mut buffer), key_of(raw).unwrap(), "{raw}");
        }
        assert_eq!(address_key("  ", &mut buffer), u128::from(EMPTY_EMAIL));
        assert_eq!(
            address_key("no-at-sign", &mut buffer),
            u128::from(NOT_AN_ADDRESS)
        );
    }
}
