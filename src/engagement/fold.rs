//! Folding parsed event rows into profiles: pass 1's per-batch work.
//!
//! Consumes batches of polars rows (the log's columns under the aliases below, plus the row
//! index); produces per-address rows by shard, folded into [`Profiles`], with the counts of
//! the report and the first rows that could not be understood ([`Problem`]). Never reads a
//! file.

use polars::prelude::*;
use rayon::prelude::*;

use super::cast::{address_key, machine_flags, unix_times};
use super::parse::{self, Event};
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
}

impl Counts {
    fn add(&mut self, other: &Counts) {
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
        let key = email.map_or(Err(Problem::EmptyEmail), |e| address_key(e, &mut buffer));
        let problem = match (key, event, ts) {
            (Err(problem), ..) => problem,
            (_, Event::Unknown, _) => Problem::UnknownEvent,
            (_, _, None) => Problem::BadTimestamp,
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
        *counts.unparsed.of(problem) += 1;
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
pub(super) fn parse_batch(frame: &DataFrame) -> PolarsResult<Vec<Parsed>> {
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
pub(super) struct Fold {
    pub(super) profiles: Profiles,
    pub(super) counts: Counts,
    /// The first unparsed rows.
    pub(super) unparsed: Vec<(Place, Problem)>,
    /// Scanner-click heuristic on.
    pub(super) scanner: bool,
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
