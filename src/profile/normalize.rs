//! `listwash events normalize`: the normalised event table (`events.parquet`) that warehouses
//! hold and the generated SQL reads (issue 14 part 2).
//!
//! Consumes event logs in any format and dialect listwash reads; produces one Parquet file
//! with one row per event that reaches a profile: `email` (normalised exactly as contacts
//! are), `event`, `ts` (Unix seconds, UTC), `machine` (null: unknown), `bounce_code` (null:
//! none) and `relabelled`. Ignored, dropped, unknown, unreadable and after-`--as-of` events are
//! left out and counted in the returned [`LogStats`]. Rows are in no particular order. The
//! file is written beside its final name and renamed once complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use crate::engagement::{
    EngagementRules, EventOptions, EventSink, History, Keeper, KeptEvents, LogStats,
};
use crate::error::{Error, Result};

/// Rows per row group.
const GROUP_ROWS: usize = 1 << 20;

/// The columns of the normalised event table, with their polars types.
pub fn schema() -> Schema {
    [
        ("email", DataType::String),
        ("event", DataType::String),
        ("ts", DataType::Int64),
        ("machine", DataType::Boolean),
        ("bounce_code", DataType::String),
        ("relabelled", DataType::Boolean),
    ]
    .into_iter()
    .map(|(name, dtype)| Field::new(name.into(), dtype))
    .collect()
}

#[derive(Default)]
struct Buffer {
    email: Vec<String>,
    event: Vec<&'static str>,
    ts: Vec<i64>,
    machine: Vec<Option<bool>>,
    bounce_code: Vec<Option<String>>,
    relabelled: Vec<bool>,
}

impl Buffer {
    fn frame(&mut self) -> PolarsResult<DataFrame> {
        let b = std::mem::take(self);
        let height = b.ts.len();
        DataFrame::new(
            height,
            vec![
                Column::new("email".into(), b.email),
                Column::new("event".into(), b.event),
                Column::new("ts".into(), b.ts),
                Column::new("machine".into(), b.machine),
                Column::new("bounce_code".into(), b.bounce_code),
                Column::new("relabelled".into(), b.relabelled),
            ],
        )
    }
}

struct State {
    writer: polars::io::parquet::write::BatchedWriter<BufWriter<File>>,
    buffer: Buffer,
    rows: u64,
    failed: bool,
}

impl State {
    fn flush(&mut self) {
        if self.buffer.ts.is_empty() || self.failed {
            return;
        }
        let written = self
            .buffer
            .frame()
            .and_then(|frame| self.writer.write_batch(&frame));
        self.failed = written.is_err();
    }
}

struct Writer(Mutex<State>);

impl EventSink for Writer {
    fn take(&self, events: &KeptEvents) {
        let Ok(mut state) = self.0.lock() else {
            return;
        };
        if state.failed {
            return;
        }
        for event in events.iter() {
            let b = &mut state.buffer;
            b.email.push(event.email.to_string());
            b.event.push(event.event);
            b.ts.push(event.ts);
            b.machine.push(event.machine);
            b.bounce_code.push(event.bounce_code);
            b.relabelled.push(event.relabelled);
        }
        state.rows += events.len() as u64;
        if state.buffer.ts.len() >= GROUP_ROWS {
            state.flush();
        }
    }
}

/// Reads the logs and writes their usable events to `out`. Returns the logs' counts and
/// the number of events written.
///
/// # Errors
/// As [`History::load_with`]; also when `out` cannot be written.
pub fn write_events(
    paths: &[PathBuf],
    rules: &EngagementRules,
    options: &EventOptions,
    out: &Path,
) -> Result<(LogStats, u64)> {
    let failed = |what: String| Error::Profiles {
        path: out.to_path_buf(),
        message: format!(
            "cannot write the event table ({what}); check the folder and the free space, then run again"
        ),
    };
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| failed(e.to_string()))?;
    let file = temp.reopen().map_err(|e| failed(e.to_string()))?;
    let writer = ParquetWriter::new(BufWriter::new(file))
        .batched(&schema())
        .map_err(|_| failed("polars".into()))?;
    let sink = Arc::new(Writer(Mutex::new(State {
        writer,
        buffer: Buffer::default(),
        rows: 0,
        failed: false,
    })));
    let options = EventOptions {
        keep: Some(Keeper(sink.clone())),
        ..options.clone()
    };
    let history = History::load_with(paths, rules, &options)?;
    let mut state = sink
        .0
        .lock()
        .map_err(|_| failed("a reader thread panicked".into()))?;
    state.flush();
    if state.failed {
        return Err(failed("polars could not write a row group".into()));
    }
    state
        .writer
        .finish()
        .map_err(|_| failed("polars could not finish the file".into()))?;
    let rows = state.rows;
    drop(state);
    temp.persist(out).map_err(|e| failed(e.error.to_string()))?;
    Ok((history.stats().clone(), rows))
}
