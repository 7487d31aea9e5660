//! Reading event logs with polars: the two passes over every log.
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
//!
//! The jobs around the passes live beside this file: `inspect` opens a log and finds its
//! columns, `chunk` cuts a CSV log for polars, `cast` reads cells, `fold` folds the rows.
//! Every error's own message (without its polars source, which may quote the log) names the
//! file and the lines or bytes concerned, and says what to do.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use rayon::prelude::*;

use super::chunk::{CSV_CHUNK_BYTES, Chunk, csv_chunks};
use super::dialect::Vocabulary;
use super::fold::{
    BOUNCE_TYPE, DETAIL, EMAIL, EVENT, Fold, MACHINE, Place, ROW_INDEX, TIME, parse_batch,
};
use super::inspect::{
    Format, LogFile, PARQUET_FAILED, Source, engagement_error, inspect, polars_error, scan_parquet,
};
use super::json::JsonLog;
use super::parse::Event;
use super::profiles::Profiles;
use super::{BounceCounts, EngagementRules, EventOptions, LogStats, UnparsedRow};
use crate::error::{Error, Result};

/// Rows per batch handed over by polars (its CSV morsels are ~10k rows; bigger batches let a
/// batch be parsed and folded on every core).
const BATCH_ROWS: usize = 1 << 17;

/// CSV chunks parsed at the same time. polars finds the record boundaries of a chunk on one
/// thread (its SIMD line counter needs a nightly compiler), so one chunk at a time leaves
/// cores idle.
const CSV_WORKERS: usize = 2;

/// Why a scan failed.
enum FrameError {
    /// A spill file could not be written.
    Spill(std::io::Error),
    /// polars failed (its message may quote the log).
    Polars(PolarsError),
}

impl FrameError {
    /// The error of log `path`; `what` says which records polars could not read and what to do.
    fn into_error(self, path: &std::path::Path, what: impl FnOnce() -> String) -> Error {
        match self {
            FrameError::Spill(e) => engagement_error(
                path,
                format!(
                    "cannot write a temporary file ({e}); free space in TMPDIR or point TMPDIR at a larger disk"
                ),
            ),
            FrameError::Polars(e) => polars_error(path, what(), e),
        }
    }
}

/// What to say when polars cannot read a chunk of a CSV log.
fn chunk_failed(chunk_place: &str) -> String {
    format!(
        "cannot read the records at {chunk_place}: polars rejected them; check the quoting there (a stray `\"` inside a field?) and that the log is CSV text, then run again"
    )
}

/// Runs one scan (a whole Parquet log, or a CSV chunk) of log `index` into the fold.
/// Returns how many rows polars read.
fn run_frame(
    frame: LazyFrame,
    file: &LogFile,
    place: (usize, usize),
    fold: &Arc<Mutex<Fold>>,
    reading: &Arc<Reading>,
) -> std::result::Result<u64, FrameError> {
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
    if let Some(name) = &file.detail {
        columns.push(col(&**name).alias(DETAIL));
    }
    let shared = Arc::clone(fold);
    let reading = Arc::clone(reading);
    let rows = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&rows);
    let spill = Arc::new(Mutex::new(None));
    let spill_error = Arc::clone(&spill);
    let callback = PlanCallback::new(move |batch: DataFrame| {
        counter.fetch_add(batch.height() as u64, Ordering::Relaxed);
        let parsed = parse_batch(&batch, &reading.vocabulary, reading.until)?;
        drop(batch);
        let mut fold = shared
            .lock()
            .map_err(|_| polars_err!(ComputeError: "an earlier batch failed"))?;
        if let Err(e) = fold.absorb(&parsed, place.0, place.1) {
            if let Ok(mut slot) = spill_error.lock() {
                *slot = Some(e);
            }
            polars_bail!(ComputeError: "cannot write a temporary file");
        }
        Ok(false)
    });
    frame
        .select(columns)
        .sink_batches(callback, false, NonZeroUsize::new(BATCH_ROWS))
        .and_then(|plan| plan.collect_with_engine(Engine::Streaming))
        .map_err(|e| match spill.lock().ok().and_then(|mut s| s.take()) {
            Some(io) => FrameError::Spill(io),
            None => FrameError::Polars(e),
        })?;
    Ok(rows.load(Ordering::Relaxed))
}

/// How one log's events are read: its vocabulary, and the first second no longer read
/// (the day after `--as-of`).
pub(super) struct Reading {
    vocabulary: Vocabulary,
    until: Option<i64>,
}

/// Streams one CSV log through the fold, [`CSV_WORKERS`] chunks at a time. Returns the rows
/// of each chunk.
fn run_csv(
    file: &LogFile,
    stream: &mut super::inspect::CsvStream,
    chunk_bytes: usize,
    (separator, width): (u8, usize),
    index: usize,
    (fold, reading): (&Arc<Mutex<Fold>>, &Arc<Reading>),
) -> Result<Vec<u64>> {
    let (send, receive) = std::sync::mpsc::sync_channel::<(usize, Chunk)>(0);
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
                        let Ok((number, chunk)) = next else {
                            break;
                        };
                        if outcome.is_err() || failed.load(Ordering::Relaxed) {
                            continue; // drain, so that the reader never blocks
                        }
                        let place = chunk.place();
                        let counted = chunk
                            .frame(separator, width)
                            .map_err(FrameError::Polars)
                            .and_then(|frame| {
                                run_frame(frame, file, (index, number), fold, reading)
                            })
                            .map_err(|e| e.into_error(&file.path, || chunk_failed(&place)));
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
        let read = csv_chunks(&file.path, stream, separator, chunk_bytes, |chunk| {
            let sent = send.send((number, chunk)).is_ok();
            number += 1;
            sent && !failed.load(Ordering::Relaxed)
        });
        drop(send);
        let mut outcome = read;
        for worker in workers {
            let done = worker.join().unwrap_or_else(|_| {
                Err(engagement_error(
                    &file.path,
                    "internal error: a reader thread panicked (please report this)",
                ))
            });
            outcome = outcome.and(done);
        }
        outcome
    })?;
    rows.into_inner().map_err(|_| {
        engagement_error(
            &file.path,
            "internal error: a reader thread panicked (please report this)",
        )
    })
}

/// Reads the logs: profiles by key, and the counts for the report.
pub(super) fn load(
    paths: &[PathBuf],
    rules: &EngagementRules,
    options: &EventOptions,
) -> Result<(Profiles, LogStats)> {
    load_with(paths, rules, options, CSV_CHUNK_BYTES)
}

/// [`load`] with CSV chunks of `chunk_bytes`.
pub(super) fn load_with(
    paths: &[PathBuf],
    rules: &EngagementRules,
    options: &EventOptions,
    chunk_bytes: usize,
) -> Result<(Profiles, LogStats)> {
    let (files, sources): (Vec<LogFile>, Vec<Source>) = paths
        .iter()
        .map(|p| inspect(p, options))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    // See: #11 part 6: events from the day after --as-of on are ignored.
    let until = options
        .as_of
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp());
    let window = i64::from(rules.scanner_click_seconds);
    let fold = Arc::new(Mutex::new(Fold {
        scanner: window > 0,
        sink: options.keep.clone(),
        ..Fold::default()
    }));
    // Pass 1, and the rows of each chunk of each file (for line numbers).
    let mut chunk_rows = Vec::with_capacity(files.len());
    for (index, (file, source)) in files.iter().zip(sources).enumerate() {
        let mut vocabulary = Vocabulary::new(file.dialect, &rules.event_names);
        vocabulary.keep = options.keep.is_some();
        let reading = Arc::new(Reading { vocabulary, until });
        chunk_rows.push(match (file.format, source) {
            (Format::Csv { separator, width }, Source::Csv(mut stream)) => run_csv(
                file,
                &mut stream,
                chunk_bytes,
                (separator, width),
                index,
                (&fold, &reading),
            )?,
            (Format::Json(shape), Source::Json(reader)) => {
                let log = JsonLog {
                    path: &file.path,
                    index,
                    dialect: file.dialect,
                    vocabulary: &reading.vocabulary,
                    options,
                    until,
                    fold: &fold,
                };
                vec![log.read(reader, shape)?]
            }
            (Format::Parquet, Source::Parquet(parquet)) => {
                let row_index = RowIndex {
                    name: ROW_INDEX.into(),
                    offset: 0,
                };
                let frame = scan_parquet(&parquet.path, &file.path, row_index)?;
                let rows = run_frame(frame, file, (index, 0), &fold, &reading)
                    .map_err(|e| e.into_error(&file.path, || PARQUET_FAILED.to_string()))?;
                // See: #16 item 6
                if let Some(what) = parquet.watch.as_ref().and_then(|w| w.changed(None)) {
                    return Err(engagement_error(
                        &file.path,
                        format!(
                            "the file {what}: another program wrote to it; run again once the log is complete (or work on a copy)"
                        ),
                    ));
                }
                vec![rows]
            }
            _ => {
                return Err(engagement_error(
                    &file.path,
                    "internal error: the log was read twice (please report this)",
                ));
            }
        });
    }
    let internal = || {
        engagement_error(
            &files[0].path,
            "internal error: a batch failed (please report this)",
        )
    };
    let fold = Arc::try_unwrap(fold)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .ok_or_else(internal)?;
    let Fold {
        mut profiles,
        counts,
        unparsed,
        per_file,
        ..
    } = fold;
    // See: #11 part 7
    let (per_file, warnings) = super::checks::check_files(&files, &per_file, &counts)?;

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
                    format!(
                        "cannot read back a temporary file ({e}); check TMPDIR (free space, not cleaned during the run) and run again"
                    ),
                )
            })?;
    }
    let scanner_clicks: u64 = shards
        .par_iter_mut()
        .map(|s| s.finish().scanner_clicks)
        .sum();

    let u = &counts.unparsed;
    let line = |(file, chunk, row): Place| -> Option<(PathBuf, u64)> {
        let log = files.get(file)?;
        // CSV: line 1 is the header; Parquet: rows count from 1.
        let first = match log.format {
            Format::Csv { .. } => 2,
            Format::Parquet | Format::Json(_) => 1,
        };
        let before: u64 = chunk_rows.get(file)?.iter().take(chunk).sum();
        Some((log.path.clone(), first + before + row))
    };
    let stats = LogStats {
        files: files.iter().map(|f| f.path.clone()).collect(),
        rows_read: counts.rows_read,
        rows_used: counts.rows_used,
        unparsed_rows: u.total(),
        unparsed: counts.unparsed.clone(),
        first_unparsed: unparsed
            .into_iter()
            .filter_map(|(place, problem)| {
                let (file, line) = line(place)?;
                Some(UnparsedRow {
                    file,
                    line,
                    problem,
                })
            })
            .collect(),
        ignored_events: counts.ignored,
        machine_opens_discarded: counts.machine_opens,
        machine_clicks_discarded: counts.machine_clicks,
        scanner_clicks_discarded: scanner_clicks,
        distinct_addresses: profiles.len() as u64,
        sends_counted_from: if uses_sent { "sent" } else { "delivered" },
        per_file,
        bounces: BounceCounts {
            hard: counts.hard,
            soft: counts.soft,
            sender: counts.sender,
            relabelled_by_code: counts.relabelled,
        },
        dropped_by_service: counts.dropped,
        events_after_as_of: counts.after_as_of,
        warnings,
    };
    Ok((profiles, stats))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use super::*;

    fn sorted(profiles: &Profiles) -> Vec<(u128, crate::engagement::Profile)> {
        let mut all: Vec<_> = profiles.iter().map(|(k, p)| (*k, p.clone())).collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engagement")
    }

    #[test]
    fn chunk_size_changes_nothing() {
        let paths: Vec<PathBuf> = ["garbage.csv", "boundaries.csv", "scanner.csv"]
            .iter()
            .map(|name| fixtures().join(name))
            .collect();
        let rules = EngagementRules::default();
        let options = EventOptions::default();
        let (whole, whole_stats) = load(&paths, &rules, &options).unwrap();
        let (small, small_stats) = load_with(&paths, &rules, &options, 64).unwrap();
        assert_eq!(whole_stats, small_stats);
        assert_eq!(sorted(&whole), sorted(&small));
        assert_eq!(whole_stats.first_unparsed[0].line, 3);
    }

    /// Loads `bytes` written to `name` in a fresh directory, in chunks of `chunk_bytes`.
    fn load_bytes(name: &str, bytes: &[u8], chunk_bytes: usize) -> Result<(Profiles, LogStats)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let options = EventOptions::default();
        let stats_path = path.clone();
        let path_text = |p: &Path| p.to_string_lossy().into_owned();
        load_with(&[path], &EngagementRules::default(), &options, chunk_bytes).map(
            |(profiles, mut stats)| {
                stats.files.clear();
                let name = path_text(&stats_path);
                for warning in &mut stats.warnings {
                    *warning = warning.replace(&name, "");
                }
                for row in &mut stats.first_unparsed {
                    row.file = PathBuf::new();
                }
                (profiles, stats)
            },
        )
    }

    #[test]
    fn line_ends_change_nothing() {
        let text = std::fs::read_to_string(fixtures().join("boundaries.csv")).unwrap();
        let (lf, lf_stats) = load_bytes("lf.csv", text.as_bytes(), CSV_CHUNK_BYTES).unwrap();
        for (name, ends) in [("crlf.csv", "\r\n"), ("cr.csv", "\r")] {
            let other = text.replace('\n', ends);
            for size in [64, CSV_CHUNK_BYTES] {
                let (profiles, stats) = load_bytes(name, other.as_bytes(), size).unwrap();
                assert_eq!(stats, lf_stats, "{name} in chunks of {size}");
                assert_eq!(sorted(&profiles), sorted(&lf), "{name} in chunks of {size}");
            }
        }
    }

    // See: #16 item 10
    #[test]
    fn gzip_and_zstd_logs_read_as_plain_ones() {
        let text = std::fs::read(fixtures().join("garbage.csv")).unwrap();
        let (plain, plain_stats) = load_bytes("plain.csv", &text, CSV_CHUNK_BYTES).unwrap();
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&text).unwrap();
        let gzip = gzip.finish().unwrap();
        let zstd = zstd::encode_all(&text[..], 3).unwrap();
        // Named without a telling extension: the magic bytes decide.
        for (name, bytes) in [("events.log", gzip), ("events.dat", zstd)] {
            for size in [64, CSV_CHUNK_BYTES] {
                let (profiles, stats) = load_bytes(name, &bytes, size).unwrap();
                assert_eq!(stats, plain_stats, "{name}");
                assert_eq!(sorted(&profiles), sorted(&plain), "{name}");
            }
        }
    }
}
