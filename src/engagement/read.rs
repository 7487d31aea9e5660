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
//! In logs without a `machine` column, clicks within `scanner_click_seconds` after a delivery
//! to the same address are found first by a bucketed equi-join.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

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
    Ok(keys.into_inner().with_name(if high { "hi" } else { "lo" }.into()).into_column())
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
                .map(|c| address_key_half(c, true), output1("hi", DataType::UInt64))
                .alias("hi"),
            col(&*file.email)
                .map(|c| address_key_half(c, false), output1("lo", DataType::UInt64))
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
    let unusable = is(Event::Unknown).or(col("ts").is_null()).or(is(Event::Ignored));
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
    let deliveries = events(files)?
        .filter(is(Event::Delivered))
        .select([col("hi"), col("lo"), col("ts").alias("delivery")]);
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

fn merge_min(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Profile {
    /// Folds another group of the same key into this profile (pass-1 fields only).
    fn absorb(&mut self, other: &Profile) {
        self.sends += other.sends;
        self.deliveries += other.deliveries;
        self.last_human_open = self.last_human_open.max(other.last_human_open);
        self.last_human_click = self.last_human_click.max(other.last_human_click);
        self.hard_bounces += other.hard_bounces;
        self.first_hard_bounce = merge_min(self.first_hard_bounce, other.first_hard_bounce);
        self.last_hard_bounce = self.last_hard_bounce.max(other.last_hard_bounce);
        self.soft_bounces += other.soft_bounces;
        self.last_soft_bounce = self.last_soft_bounce.max(other.last_soft_bounce);
        self.complaints += other.complaints;
        self.first_complaint = merge_min(self.first_complaint, other.first_complaint);
        self.unsubscribes += other.unsubscribes;
        self.first_unsubscribe = merge_min(self.first_unsubscribe, other.first_unsubscribe);
        self.machine_events += other.machine_events;
        self.scanner_clicks += other.scanner_clicks;
        self.first_event = merge_min(self.first_event, other.first_event);
        self.last_event = self.last_event.max(other.last_event);
    }
}

/// Typed access to an aggregated frame's columns.
struct Columns {
    u64s: HashMap<&'static str, UInt64Chunked>,
    i64s: HashMap<&'static str, Int64Chunked>,
}

impl Columns {
    fn new(
        frame: &DataFrame,
        counts: &[&'static str],
        times: &[&'static str],
    ) -> PolarsResult<Columns> {
        let mut u64s = HashMap::new();
        for name in counts {
            let column = frame
                .column(name)?
                .cast(&DataType::UInt64)?
                .fill_null(FillNullStrategy::Zero)?;
            u64s.insert(*name, column.u64()?.rechunk().into_owned());
        }
        let mut i64s = HashMap::new();
        for name in times {
            let column = frame.column(name)?.cast(&DataType::Int64)?;
            i64s.insert(*name, column.i64()?.rechunk().into_owned());
        }
        Ok(Columns { u64s, i64s })
    }

    fn count(&self, name: &str, row: usize) -> u64 {
        self.u64s.get(name).and_then(|c| c.get(row)).unwrap_or(0)
    }

    fn time(&self, name: &str, row: usize) -> Option<i64> {
        self.i64s.get(name).and_then(|c| c.get(row))
    }
}

const COUNTS_AND_KEYS: &[&str] = &[
    "hi",
    "lo",
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

/// Reads the logs: profiles by key, and the counts for the report.
pub(super) fn load(
    paths: &[PathBuf],
    rules: &EngagementRules,
) -> Result<(HashMap<u128, Profile>, LogStats)> {
    let files = paths
        .iter()
        .map(|p| inspect(p))
        .collect::<Result<Vec<_>>>()?;
    let mut stats = LogStats {
        files: paths.to_vec(),
        ..LogStats::default()
    };

    // Link scanners: only for logs without a machine column.
    let window = i64::from(rules.scanner_click_seconds);
    let scanners = if window > 0 && files.iter().any(|f| f.machine.is_none()) {
        Some(scanner_clicks(&files, window)?).filter(|s| s.height() > 0)
    } else {
        None
    };

    // Pass 1.
    let mut frame = events(&files)?;
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
    let pass1 = frame.group_by([col("hi"), col("lo")]).agg([
        len().alias("rows"),
        is(Event::Sent).sum().alias("sent"),
        is(Event::Delivered).sum().alias("delivered"),
        ts().min().alias("first"),
        ts().max().alias("last"),
        ts().filter(is(Event::Open).and(machine.clone().not()))
            .max()
            .alias("open"),
        ts().filter(is(Event::Click).and(human)).max().alias("click"),
        is(Event::Open)
            .and(machine.clone())
            .sum()
            .alias("machine_opens"),
        is(Event::Click).and(machine).sum().alias("machine_clicks"),
        is(Event::Click).and(scanner).sum().alias("scanner_clicks"),
        is(Event::HardBounce).sum().alias("hard"),
        ts().filter(is(Event::HardBounce)).min().alias("hard_first"),
        ts().filter(is(Event::HardBounce)).max().alias("hard_last"),
        is(Event::SoftBounce).sum().alias("soft"),
        ts().filter(is(Event::SoftBounce)).max().alias("soft_last"),
        is(Event::Complaint).sum().alias("complaints"),
        ts().filter(is(Event::Complaint))
            .min()
            .alias("complaint_first"),
        is(Event::Unsubscribe).sum().alias("unsubscribes"),
        ts().filter(is(Event::Unsubscribe))
            .min()
            .alias("unsubscribe_first"),
    ]);
    let pass1 = collect(pass1, &files)?;
    let error = |e: PolarsError| polars_error(&files[0].path, &e);
    let columns = Columns::new(&pass1, COUNTS_AND_KEYS, TIMES).map_err(error)?;

    let mut profiles: HashMap<u128, Profile> = HashMap::with_capacity(pass1.height());
    for row in 0..pass1.height() {
        let rows = columns.count("rows", row);
        stats.rows_read += rows;
        let (hi, lo) = (columns.count("hi", row), columns.count("lo", row));
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
        stats.machine_opens_discarded += columns.count("machine_opens", row);
        stats.machine_clicks_discarded += columns.count("machine_clicks", row);
        stats.scanner_clicks_discarded += columns.count("scanner_clicks", row);
        let group = Profile {
            sends: columns.count("sent", row),
            deliveries: columns.count("delivered", row),
            last_human_open: columns.time("open", row),
            last_human_click: columns.time("click", row),
            hard_bounces: columns.count("hard", row),
            first_hard_bounce: columns.time("hard_first", row),
            last_hard_bounce: columns.time("hard_last", row),
            soft_bounces: columns.count("soft", row),
            last_soft_bounce: columns.time("soft_last", row),
            complaints: columns.count("complaints", row),
            first_complaint: columns.time("complaint_first", row),
            unsubscribes: columns.count("unsubscribes", row),
            first_unsubscribe: columns.time("unsubscribe_first", row),
            machine_events: columns.count("machine_opens", row)
                + columns.count("machine_clicks", row),
            scanner_clicks: columns.count("scanner_clicks", row),
            first_event: columns.time("first", row),
            last_event: columns.time("last", row),
            ..Profile::default()
        };
        let key = (u128::from(hi) << 64) | u128::from(lo);
        profiles.entry(key).or_default().absorb(&group);
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

    // Pass 2, for the addresses with a hard bounce or a human engagement.
    let (mut his, mut los, mut hard, mut human) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (key, profile) in &profiles {
        let engaged = profile.last_engagement();
        if profile.last_hard_bounce.is_some() || engaged.is_some() {
            his.push((key >> 64) as u64);
            los.push(*key as u64);
            hard.push(profile.last_hard_bounce);
            human.push(engaged);
        }
    }
    if !his.is_empty() {
        let thresholds = DataFrame::new_infer_height(vec![
            Column::new("hi".into(), his),
            Column::new("lo".into(), los),
            Column::new("last_hard".into(), hard),
            Column::new("last_human".into(), human),
        ])
        .map_err(error)?;
        let sends = if uses_sent { Event::Sent } else { Event::Delivered };
        let pass2 = events(&files)?
            .filter(is(Event::Sent).or(is(Event::Delivered)))
            .join(
                thresholds.lazy(),
                [col("hi"), col("lo")],
                [col("hi"), col("lo")],
                JoinArgs::new(JoinType::Inner),
            )
            .group_by([col("hi"), col("lo")])
            .agg([
                is(Event::Delivered)
                    .and(col("ts").gt(col("last_hard")))
                    .sum()
                    .alias("delivered_after_bounce"),
                is(sends)
                    .and(col("ts").gt(col("last_human")))
                    .sum()
                    .alias("sends_after_engagement"),
            ]);
        let pass2 = collect(pass2, &files)?;
        let columns = Columns::new(
            &pass2,
            &["hi", "lo", "delivered_after_bounce", "sends_after_engagement"],
            &[],
        )
        .map_err(error)?;
        for i in 0..pass2.height() {
            let key = (u128::from(columns.count("hi", i)) << 64) | u128::from(columns.count("lo", i));
            let Some(profile) = profiles.get_mut(&key) else {
                continue;
            };
            profile.deliveries_after_last_hard_bounce += columns.count("delivered_after_bounce", i);
            if profile.last_engagement().is_some() {
                profile.sends_since_engagement += columns.count("sends_after_engagement", i);
            }
        }
    }

    if stats.unparsed_rows > 0 {
        stats.first_unparsed = first_unparsed(&files)?;
    }
    Ok((profiles, stats))
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
    let mut rows: Vec<(u64, UnparsedRow)> = (0..found.height())
        .filter_map(|i| {
            let index = columns.count("file", i);
            let file = files.get(index as usize)?;
            let problem = match columns.count("lo", i) {
                EMPTY_EMAIL => "empty_email",
                NOT_AN_ADDRESS => "not_an_address",
                UNKNOWN_EVENT => "unknown_event",
                _ => "bad_timestamp",
            };
            let line = columns.count("line", i);
            Some((index, UnparsedRow { file: file.path.clone(), line, problem }))
        })
        .collect();
    rows.sort_by_key(|(index, row)| (*index, row.line));
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_keys_match_contact_keys() {
        let mut buffer = String::new();
        for raw in ["a@b.co", "  John.Doe@GMail.COM ", "x.y+z@Bücher.DE", "Ünï@ex.com", "jeff@臺網中心.tw"] {
            assert_eq!(address_key(raw, &mut buffer), key_of(raw).unwrap(), "{raw}");
        }
        assert_eq!(address_key("  ", &mut buffer), u128::from(EMPTY_EMAIL));
        assert_eq!(address_key("no-at-sign", &mut buffer), u128::from(NOT_AN_ADDRESS));
    }
}
