//! Folding parsed event rows into profiles: pass 1's per-batch work.
//!
//! Consumes batches of polars rows (the log's columns under the aliases below, plus the row
//! index); produces per-address rows by shard, folded into [`Profiles`], with the counts of
//! the report and the first rows that could not be understood ([`Problem`]). Never reads a
//! file.

use polars::prelude::*;
use rayon::prelude::*;

use std::collections::HashMap;

use super::cast::{address_key, machine_flags, unix_times};
use super::dialect::{Classified, Vocabulary};
use super::parse::Event;
use super::profiles::{Profiles, Row, SHARDS, shard_of};
use super::{LogStats, Problem, UnparsedCounts};

/// The row index polars adds while scanning.
pub(super) const ROW_INDEX: &str = "__listwash_row";

/// The aliases of the columns each batch holds.
pub(super) const EMAIL: &str = "__listwash_email";
pub(super) const EVENT: &str = "__listwash_event";
pub(super) const TIME: &str = "__listwash_time";
pub(super) const MACHINE: &str = "__listwash_machine";
pub(super) const BOUNCE_TYPE: &str = "__listwash_bounce_type";
pub(super) const DETAIL: &str = "__listwash_detail";

/// Distinct unknown event names kept per count (the most frequent are reported).
const UNKNOWN_NAMES: usize = 64;
/// What stands for an unknown event name that holds an `@`.
pub(super) const HIDDEN_NAME: &str = "(a value with an @, not shown)";
/// The longest unknown event name kept (in characters).
const UNKNOWN_NAME_CHARS: usize = 40;

/// Batches are parsed in slices of at least this many rows (one rayon task each).
const MIN_SLICE: usize = 8_192;

/// Row counts of pass 1.
#[derive(Debug, Default, Clone)]
pub(super) struct Counts {
    pub(super) rows_read: u64,
    pub(super) rows_used: u64,
    pub(super) unparsed: UnparsedCounts,
    pub(super) ignored: u64,
    pub(super) machine_opens: u64,
    pub(super) machine_clicks: u64,
    /// Sends the service itself refused (suppressed addresses).
    pub(super) dropped: u64,
    /// Bounces by class, and those whose code overrode the service's label.
    pub(super) hard: u64,
    pub(super) soft: u64,
    pub(super) sender: u64,
    pub(super) relabelled: u64,
    /// Events after `--as-of` (ignored).
    pub(super) after_as_of: u64,
    /// Records whose event name is known (whatever else is wrong with them).
    pub(super) known: u64,
    /// Unknown event names and how often they came (at most [`UNKNOWN_NAMES`]).
    pub(super) unknown_names: HashMap<String, u64>,
}

impl Counts {
    /// Counts an unknown event name (one that holds an `@` is never kept: a column mix-up
    /// could put addresses there).
    pub(super) fn unknown_name(&mut self, name: &str, times: u64) {
        let name = if name.contains('@') {
            HIDDEN_NAME
        } else {
            name
        };
        if let Some(n) = self.unknown_names.get_mut(name) {
            *n += times;
        } else if self.unknown_names.len() < UNKNOWN_NAMES {
            let short: String = name.trim().chars().take(UNKNOWN_NAME_CHARS).collect();
            *self.unknown_names.entry(short).or_default() += times;
        }
    }

    pub(super) fn add(&mut self, other: &Counts) {
        self.dropped += other.dropped;
        self.hard += other.hard;
        self.soft += other.soft;
        self.sender += other.sender;
        self.relabelled += other.relabelled;
        self.after_as_of += other.after_as_of;
        self.known += other.known;
        for (name, n) in &other.unknown_names {
            self.unknown_name(name, *n);
        }
        self.rows_read += other.rows_read;
        self.rows_used += other.rows_used;
        self.unparsed.add(&other.unparsed);
        self.ignored += other.ignored;
        self.machine_opens += other.machine_opens;
        self.machine_clicks += other.machine_clicks;
    }
}

/// Where an unparsed row is: file index, chunk of the file, row in the chunk.
pub(super) type Place = (usize, usize, u64);

/// One slice of a batch, parsed: usable rows by shard, counts, the first unparsed rows (by
/// row index in the chunk).
#[derive(Debug, Default)]
pub(super) struct Parsed {
    rows: Vec<Vec<Row>>,
    counts: Counts,
    pub(super) unparsed: Vec<(u64, Problem)>,
    /// The usable rows with their addresses, when the vocabulary says to keep them (#14).
    pub(super) kept: super::keep::KeptEvents,
}

/// One event's cells, as read from any format.
pub(super) struct Record<'a> {
    /// The address cell.
    pub(super) email: Option<&'a str>,
    /// The event name cell.
    pub(super) event: Option<&'a str>,
    /// The service's bounce label.
    pub(super) label: Option<&'a str>,
    /// The SMTP diagnostic.
    pub(super) detail: Option<&'a str>,
    /// The time, in Unix seconds.
    pub(super) ts: Option<i64>,
    /// The machine flag.
    pub(super) machine: Option<bool>,
    /// The row (0-based) in its chunk, for messages.
    pub(super) row: Option<u64>,
}

impl Parsed {
    /// An empty slice for about `height` rows.
    pub(super) fn with_capacity(height: usize) -> Parsed {
        Parsed {
            rows: (0..SHARDS)
                .map(|_| Vec::with_capacity(height / SHARDS * 5 / 4 + 8))
                .collect(),
            ..Parsed::default()
        }
    }

    /// Folds one record's cells in: classified with `vocabulary`, ignored after `until`
    /// (Unix seconds, exclusive).
    pub(super) fn record(
        &mut self,
        record: &Record<'_>,
        vocabulary: &Vocabulary,
        until: Option<i64>,
        buffer: &mut String,
    ) {
        let counts = &mut self.counts;
        counts.rows_read += 1;
        let Classified {
            event,
            code,
            overridden,
            machine: named_machine,
        } = match record.event {
            Some(name) => vocabulary.classify(name, record.label, record.detail),
            None => Classified {
                event: Event::Unknown,
                code: 0,
                overridden: false,
                machine: false,
            },
        };
        counts.known += u64::from(event != Event::Unknown);
        let machine = if named_machine {
            Some(true)
        } else {
            record.machine
        };
        let key = record
            .email
            .map_or(Err(Problem::EmptyEmail), |e| address_key(e, buffer));
        let problem = match (key, event, record.ts) {
            (Err(problem), ..) => problem,
            (_, Event::Unknown, _) => {
                counts.unknown_name(record.event.unwrap_or(""), 1);
                Problem::UnknownEvent
            }
            (_, _, None) => Problem::BadTimestamp,
            (_, _, Some(ts)) if until.is_some_and(|u| ts >= u) => {
                counts.after_as_of += 1;
                return;
            }
            (_, Event::Ignored, _) => {
                counts.ignored += 1;
                return;
            }
            (_, Event::Dropped, _) => {
                // Known, and used by no rule: among the ignored events too.
                counts.dropped += 1;
                counts.ignored += 1;
                return;
            }
            (Ok(key), event, Some(ts)) => {
                counts.rows_used += 1;
                match (event, machine) {
                    (Event::Open, Some(true)) => counts.machine_opens += 1,
                    (Event::Click, Some(true)) => counts.machine_clicks += 1,
                    (Event::HardBounce, _) => counts.hard += 1,
                    (Event::SoftBounce, _) => counts.soft += 1,
                    (Event::SenderBlock, _) => counts.sender += 1,
                    _ => {}
                }
                counts.relabelled += u64::from(overridden);
                let row = Row {
                    key,
                    ts,
                    event,
                    machine,
                    code,
                    relabelled: overridden,
                };
                if vocabulary.keep {
                    self.kept.push(row, record.email.unwrap_or(""), buffer);
                }
                self.rows[shard_of(key)].push(row);
                return;
            }
        };
        *counts.unparsed.of(problem) += 1;
        if let Some(row) = record.row {
            self.unparsed.push((row, problem));
            if self.unparsed.len() >= 4 * LogStats::FIRST_UNPARSED {
                keep_first(&mut self.unparsed);
            }
        }
    }

    /// Counts a record that could not be read at all (a line that is not JSON).
    pub(super) fn bad_record(&mut self, row: u64) {
        self.counts.rows_read += 1;
        *self.counts.unparsed.of(Problem::BadRecord) += 1;
        self.unparsed.push((row, Problem::BadRecord));
        if self.unparsed.len() >= 4 * LogStats::FIRST_UNPARSED {
            keep_first(&mut self.unparsed);
        }
    }

    /// Done: only the first unparsed rows kept.
    pub(super) fn finish(mut self) -> Parsed {
        keep_first(&mut self.unparsed);
        self
    }
}

/// Keeps the `LogStats::FIRST_UNPARSED` smallest entries of `list` (sorted).
fn keep_first<T: Ord>(list: &mut Vec<T>) {
    list.sort_unstable();
    list.truncate(LogStats::FIRST_UNPARSED);
}

/// Parses one slice of a batch (columns named by the aliases above, plus [`ROW_INDEX`]).
fn parse_rows(
    frame: &DataFrame,
    vocabulary: &Vocabulary,
    until: Option<i64>,
) -> PolarsResult<Parsed> {
    let mut parsed = Parsed::with_capacity(frame.height());
    let emails = frame.column(EMAIL)?.cast(&DataType::String)?;
    let events = frame.column(EVENT)?.cast(&DataType::String)?;
    let times = unix_times(frame.column(TIME)?.clone())?;
    let machines = match frame.column(MACHINE) {
        Ok(column) => Some(machine_flags(column.clone())?),
        Err(_) => None,
    };
    let text = |name: &str| -> PolarsResult<Option<Column>> {
        match frame.column(name) {
            Ok(column) => Ok(Some(column.cast(&DataType::String)?)),
            Err(_) => Ok(None),
        }
    };
    let bounce_types = text(BOUNCE_TYPE)?;
    let details = text(DETAIL)?;
    let rows = frame.column(ROW_INDEX)?.cast(&DataType::UInt64)?;

    let machine_cells: Box<dyn Iterator<Item = Option<bool>>> = match &machines {
        Some(column) => Box::new(column.bool()?.iter()),
        None => Box::new(std::iter::repeat(None)),
    };
    let bounce_cells: Box<dyn Iterator<Item = Option<&str>>> = match &bounce_types {
        Some(column) => Box::new(column.str()?.iter()),
        None => Box::new(std::iter::repeat(None)),
    };
    let detail_cells: Box<dyn Iterator<Item = Option<&str>>> = match &details {
        Some(column) => Box::new(column.str()?.iter()),
        None => Box::new(std::iter::repeat(None)),
    };
    let cells = emails
        .str()?
        .iter()
        .zip(events.str()?.iter())
        .zip(times.i64()?.iter())
        .zip(machine_cells.zip(bounce_cells).zip(detail_cells))
        .zip(rows.u64()?.iter());
    let mut buffer = String::with_capacity(64);
    for ((((email, event), ts), ((machine, label), detail)), row) in cells {
        let record = Record {
            email,
            event,
            label,
            detail,
            ts,
            machine,
            row,
        };
        parsed.record(&record, vocabulary, until, &mut buffer);
    }
    Ok(parsed.finish())
}

/// Parses a batch on every core.
pub(super) fn parse_batch(
    frame: &DataFrame,
    vocabulary: &Vocabulary,
    until: Option<i64>,
) -> PolarsResult<Vec<Parsed>> {
    let height = frame.height();
    let pieces = (height / MIN_SLICE).clamp(1, rayon::current_num_threads() * 4);
    let step = height.div_ceil(pieces).max(1);
    (0..pieces)
        .into_par_iter()
        .map(|i| parse_rows(&frame.slice((i * step) as i64, step), vocabulary, until))
        .collect()
}

/// Everything the batches are folded into (behind a mutex: batches of several chunks arrive
/// at once).
#[derive(Debug, Default)]
pub(super) struct Fold {
    pub(super) profiles: Profiles,
    pub(super) counts: Counts,
    /// The first unparsed rows.
    pub(super) unparsed: Vec<(Place, Problem)>,
    /// Scanner-click heuristic on.
    pub(super) scanner: bool,
    /// The counts of each file.
    pub(super) per_file: Vec<Counts>,
    /// Where kept rows go (#14).
    pub(super) sink: Option<super::keep::Keeper>,
}

impl Fold {
    /// Folds a parsed batch of chunk `chunk` of file `file`, shard by shard on every core.
    pub(super) fn absorb(
        &mut self,
        parsed: &[Parsed],
        file: usize,
        chunk: usize,
    ) -> std::io::Result<()> {
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
        if self.per_file.len() <= file {
            self.per_file.resize_with(file + 1, Counts::default);
        }
        for slice in parsed {
            if let Some(sink) = &self.sink {
                sink.0.take(&slice.kept);
            }
            self.counts.add(&slice.counts);
            self.per_file[file].add(&slice.counts);
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
