//! Wires the stages of a `clean` run: a reader thread, parallel parsing and checks on rayon,
//! duplicates and DNS in order, parallel decisions, a writer thread, and the report.
//!
//! * The reader thread only reads and cuts the text into batches of whole records (about a
//!   MiB, at line ends outside quotes).
//! * Each batch is parsed and its rows examined (syntax, key, suppression lists) by a task on
//!   the pool; several batches are in flight at once, so both cores stay busy.
//! * This thread takes the batches back in input order and registers them (duplicates, new
//!   domains, DNS submissions), since the first occurrence of an address or domain depends on
//!   order.
//! * Rows are decided on the pool, then the writer thread writes them.
//!
//! Rows keep their input order end to end: batches are registered, decided and written in the
//! order they were read, and rayon's indexed `collect` keeps order inside a batch.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use crate::config::{CleanConfig, RulesSource};
use crate::decide::{Decided, Decider, ExaminedRows, Examiner, Registered, RowInput};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::read::{Batch, Input, Item};
use crate::report::{
    DomainsReport, EngagementReport, InputReport, Report, SettingsReport, SpreadsheetReport,
    Timings,
};
use crate::resolve::{DnsStats, WarnSink};
use crate::write::{CellPolicy, Outputs};

/// Rows that may wait for DNS answers before the oldest batch must be decided.
const DNS_WINDOW_ROWS: usize = 200_000;

/// How often a wait for the reader looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// A batch on its way to the writer: the records, and a decision per readable row.
struct ToWrite {
    batch: Batch,
    decisions: Vec<Decided>,
}

/// A batch registered and waiting for its domains' answers.
struct Pending {
    batch: Batch,
    rows: Registered,
}

/// Runs `listwash clean`: reads the input, decides every row, writes the five outputs.
///
/// # Errors
/// When the input, a list, a log or an output cannot be read or written, or the run was
/// interrupted. No output is renamed into place unless the run completes.
pub fn clean(config: &CleanConfig, progress: &dyn Progress, warn: WarnSink) -> Result<Report> {
    clean_with(config, progress, |pool| {
        pool.install(|| Decider::load(&config.decide, warn))
    })
}

/// [`clean`] with the decider made by `load` (on the run's pool, after the input is open).
fn clean_with(
    config: &CleanConfig,
    progress: &dyn Progress,
    load: impl FnOnce(&rayon::ThreadPool) -> Result<Decider>,
) -> Result<Report> {
    let started = Instant::now();
    crate::write::check_collisions(&config.out_dir, &named_inputs(config))?;
    // One run per output folder, refused before any work (#16 item 3).
    let lock = crate::write::lock_out_dir(&config.out_dir, config.wait)?;
    let jobs = config
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        // A panic in a worker is reported as an internal error, not an abort.
        .panic_handler(|_| {})
        .build()
        .map_err(|e| Error::Internal(format!("cannot start {jobs} worker threads: {e}")))?;
    let mut input = Input::open(&config.input, &config.read)?;
    progress.message("loading lists and history");
    let loading = Instant::now();
    let mut decider = load(&pool)?;
    let busy = Busy::default();
    busy.add(&busy.engagement, loading);
    decider.set_contacts(input.contacts());
    decider.cancel_on(config.cancel.clone());
    let mut outputs = Outputs::create_with(
        lock,
        input.header(),
        input.delimiter(),
        input.dialect().bom,
        config.cells,
        config.output,
    )?;
    outputs.set_file_mode(config.file_mode);
    let total_bytes = match &config.input {
        crate::read::InputSource::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        crate::read::InputSource::Stdin => None,
    };
    progress.start(total_bytes);
    let bytes = input.bytes_counter();
    let dialect = input.dialect().clone();
    let email_index = input.email_index();
    let batch_bytes = config.batch_bytes.max(1);
    let shape = input.shape();
    let examiner = decider.examiner();
    // Batches parsed and examined ahead of the one being registered, in parallel.
    let parse_ahead = (2 * jobs).min(16);

    let result = std::thread::scope(|scope| -> Result<(Outputs, u64)> {
        let (batch_tx, batch_rx) = sync_channel::<Result<Batch>>(parse_ahead);
        let (write_tx, write_rx) = sync_channel::<ToWrite>(2);
        // Written batches go back to the reader, which reads into their buffers again.
        let (recycle_tx, recycle_rx) = sync_channel::<Batch>(2 * parse_ahead + 4);
        // Not scoped: a read stalled in the kernel (a silent pipe) must not keep an
        // interrupted run from unwinding, so an abandoned reader is left to the process's end.
        let read_ns = busy.read.clone();
        let reader = std::thread::Builder::new()
            .name("listwash-read".into())
            .spawn(move || read_loop(&mut input, batch_bytes, batch_tx, recycle_rx, &read_ns))
            .map_err(|e| Error::Internal(format!("cannot start the reader thread: {e}")))?;
        let write_ns = busy.write.clone();
        let writer = scope.spawn(move || write_loop(outputs, write_rx, recycle_tx, &write_ns));

        let mut parsing: VecDeque<Receiver<(Batch, ExaminedRows)>> = VecDeque::new();
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let mut pending_rows = 0usize;
        let mut rows_done = 0u64;
        let mut failure: Option<Error> = None;
        let mut reading = true;
        let mut writer_gone = false;
        let mut first_batch = true;
        while !writer_gone && (reading || !parsing.is_empty() || !pending.is_empty()) {
            if config.cancel.load(Ordering::Relaxed) {
                failure = Some(Error::Interrupted);
                break;
            }
            // Keep the workers busy: parse and examine the next batches while this thread
            // registers the oldest one.
            while reading && parsing.len() < parse_ahead {
                let next = match batch_rx.recv_timeout(CANCEL_POLL) {
                    Err(RecvTimeoutError::Timeout) if config.cancel.load(Ordering::Relaxed) => {
                        failure = Some(Error::Interrupted);
                        break;
                    }
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => Err(()),
                    Ok(next) => Ok(next),
                };
                match next {
                    Ok(Ok(mut batch)) => {
                        let (tx, rx) = sync_channel(1);
                        let examiner = examiner.clone();
                        let examine_ns = busy.examine.clone();
                        pool.spawn(move || {
                            let started = Instant::now();
                            batch.parse(&shape);
                            let examined = examine(&examiner, &batch, email_index);
                            examine_ns.fetch_add(nanos(started), Ordering::Relaxed);
                            let _ = tx.send((batch, examined));
                        });
                        parsing.push_back(rx);
                    }
                    Ok(Err(e)) => {
                        failure = Some(e);
                        break;
                    }
                    Err(()) => reading = false,
                }
            }
            if failure.is_some() {
                break;
            }
            if let Some(next) = parsing.pop_front() {
                let Ok((batch, examined)) = next.recv() else {
                    failure = Some(Error::Internal("a worker thread panicked".into()));
                    break;
                };
                if first_batch {
                    first_batch = false;
                    if let Some(rows) = estimate_rows(total_bytes, &dialect, &batch) {
                        decider.reserve(rows);
                    }
                }
                let registering = Instant::now();
                let rows = decider.register(examined);
                busy.add(&busy.decide, registering);
                pending_rows += rows.len();
                pending.push_back(Pending { batch, rows });
            }
            // Decide the oldest batch once DNS had a window of rows to work ahead on.
            let more_coming = reading || !parsing.is_empty();
            let slow = decider.answers_are_slow();
            while !pending.is_empty() && (!more_coming || !slow || pending_rows > DNS_WINDOW_ROWS) {
                let Some(Pending { batch, rows }) = pending.pop_front() else {
                    break;
                };
                pending_rows -= rows.len();
                let deciding = Instant::now();
                let decisions = decider.decide_on(rows, &pool);
                busy.add(&busy.decide, deciding);
                if config.cancel.load(Ordering::Relaxed) {
                    failure = Some(Error::Interrupted);
                    break;
                }
                rows_done += batch.len() as u64;
                if write_tx.send(ToWrite { batch, decisions }).is_err() {
                    writer_gone = true; // the writer failed; its error is collected below
                    break;
                }
                progress.update(rows_done, bytes.load(Ordering::Relaxed));
            }
        }
        drop(write_tx);
        drop(batch_rx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the writer thread panicked".into())));
        if let Some(e) = failure {
            // The reader may be stalled in a read: leave it (see above).
            return Err(e);
        }
        let read_result = reader
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the reader thread panicked".into())));
        let outputs = written?;
        read_result?;
        Ok((outputs, rows_done))
    });
    let (outputs, _rows) = result?;
    let dns_stats = decider.finish_domains();
    progress.finish();
    // DNS answers cut short by a signal are not answers: never publish them.
    if config.cancel.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }

    let mut report = build_report(
        config,
        &decider,
        &outputs,
        dns_stats,
        dialect,
        bytes.load(Ordering::Relaxed),
        jobs,
        started,
    );
    report.timings_ms = busy.timings(decider.stats().domain_wait_ns);
    report.thresholds = crate::guard::evaluate(&config.thresholds, &report);
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Write {
        path: config.out_dir.join("report.json"),
        source: std::io::Error::other(e),
    })?;
    let mut json = json;
    json.push(b'\n');
    if config.cancel.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    if config.html {
        let html = crate::render::html::report(&report, &crate::render::warnings(&report));
        outputs.finish_with(&json, &[("report.html", html.as_bytes())])?;
    } else {
        outputs.finish(&json)?;
    }
    Ok(report)
}

/// Nanoseconds since `started`.
fn nanos(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Time each stage was busy, in nanoseconds, added up from the threads that run it.
#[derive(Default)]
struct Busy {
    engagement: Arc<AtomicU64>,
    read: Arc<AtomicU64>,
    examine: Arc<AtomicU64>,
    decide: Arc<AtomicU64>,
    write: Arc<AtomicU64>,
}

impl Busy {
    fn add(&self, stage: &AtomicU64, started: Instant) {
        stage.fetch_add(nanos(started), Ordering::Relaxed);
    }

    /// The report's `timings_ms`; DNS waits (inside deciding) are taken out of `decide`.
    fn timings(&self, dns_ns: u64) -> Timings {
        let ms = |ns: u64| ns / 1_000_000;
        let get = |stage: &AtomicU64| stage.load(Ordering::Relaxed);
        Timings {
            engagement: ms(get(&self.engagement)),
            read: ms(get(&self.read)),
            examine: ms(get(&self.examine)),
            dns: ms(dns_ns),
            decide: ms(get(&self.decide).saturating_sub(dns_ns)),
            write: ms(get(&self.write)),
        }
    }
}

/// Every file the run reads or keeps, with its role, for [`crate::write::check_collisions`].
fn named_inputs(config: &CleanConfig) -> Vec<(&'static str, &std::path::Path)> {
    use crate::resolve::CacheLocation;
    let mut inputs = Vec::new();
    if let crate::read::InputSource::Path(path) = &config.input {
        inputs.push(("input", path.as_path()));
    }
    for path in &config.decide.engagement {
        inputs.push(("engagement log", path.as_path()));
    }
    for path in &config.decide.suppress {
        inputs.push(("suppression list", path.as_path()));
    }
    if let RulesSource::File(path) = &config.decide.rules_source {
        inputs.push(("rules file", path.as_path()));
    }
    if let Some(crate::resolve::DnsOptions {
        cache: CacheLocation::File(path),
        ..
    }) = &config.decide.dns
    {
        inputs.push(("DNS cache", path.as_path()));
    }
    inputs
}

/// The number of rows a plain (not compressed) input file will give, from where the first
/// batch ended in it.
fn estimate_rows(
    total_bytes: Option<u64>,
    dialect: &crate::read::Dialect,
    batch: &Batch,
) -> Option<usize> {
    let total = total_bytes?;
    if dialect.gzip || dialect.encoding != "UTF-8" {
        return None;
    }
    let end = batch.end_offset();
    if end == 0 {
        return None;
    }
    let rows = (total as f64 * batch.len() as f64 / end as f64 * 1.02) as usize;
    Some(rows.min(500_000_000))
}

fn read_loop(
    input: &mut Input,
    batch_bytes: usize,
    tx: SyncSender<Result<Batch>>,
    recycled: Receiver<Batch>,
    busy_ns: &AtomicU64,
) -> Result<()> {
    loop {
        let mut batch = recycled.try_recv().unwrap_or_default();
        let reading = Instant::now();
        let read = input.read_chunk(batch_bytes, &mut batch);
        busy_ns.fetch_add(nanos(reading), Ordering::Relaxed);
        match read {
            Ok(more) => {
                if batch.text_len() > 0 && tx.send(Ok(batch)).is_err() {
                    return Ok(());
                }
                if !more {
                    return Ok(());
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return Ok(());
            }
        }
    }
}

fn write_loop(
    mut outputs: Outputs,
    rx: Receiver<ToWrite>,
    recycle: SyncSender<Batch>,
    busy_ns: &AtomicU64,
) -> Result<Outputs> {
    for ToWrite { batch, decisions } in rx {
        let writing = Instant::now();
        let mut decisions = decisions.into_iter();
        for item in batch.items() {
            match item {
                Item::Row(row) => {
                    let Decided { line, decision } = decisions
                        .next()
                        .ok_or_else(|| Error::Internal("a row without a decision".into()))?;
                    if line != row.line {
                        return Err(Error::Internal(format!(
                            "the decision for line {line} was given to line {}",
                            row.line
                        )));
                    }
                    let reason = decision.reason.map_or("", |r| r.code());
                    outputs.write_row(&row, decision.action, reason, &decision.detail)?;
                }
                Item::Rejected(rejected) => outputs.write_rejected(rejected)?,
            }
        }
        // Never block on the reader: a full channel just drops the batch.
        let _ = recycle.try_send(batch);
        busy_ns.fetch_add(nanos(writing), Ordering::Relaxed);
    }
    Ok(outputs)
}

/// Checks a parsed batch's rows (on a worker thread).
fn examine(examiner: &Examiner, batch: &Batch, email_index: usize) -> ExaminedRows {
    let mut examined = ExaminedRows::with_capacity(batch.len());
    for row in batch.rows() {
        examined.push(examiner.examine(&RowInput {
            line: row.line,
            email: row.text(email_index),
            // The contact plan reads the signup cells from the row itself.
            signup: None,
            row: Some(row),
        }));
    }
    examined
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    config: &CleanConfig,
    decider: &Decider,
    outputs: &Outputs,
    dns: Option<DnsStats>,
    dialect: crate::read::Dialect,
    bytes: u64,
    jobs: usize,
    started: Instant,
) -> Report {
    let stats = decider.stats();
    let counts = outputs.counts();
    let mut reasons = std::collections::BTreeMap::new();
    for reason in crate::reason::Reason::ALL {
        reasons.insert(
            reason.code(),
            stats.reasons.get(reason.code()).copied().unwrap_or(0),
        );
    }
    let checked = dns.is_some();
    let dns = dns.unwrap_or_default();
    Report {
        listwash_version: env!("CARGO_PKG_VERSION"),
        as_of: config.decide.as_of.format("%Y-%m-%d").to_string(),
        input: InputReport {
            path: config.input.display_path().display().to_string(),
            rows: counts.total(),
            bytes,
            dialect,
            unreadable_signup_dates: stats.unreadable_signup_dates,
            trimmed_values: stats.trimmed_values,
        },
        outputs: counts,
        reasons,
        reasons_applied: stats.reasons_applied.clone(),
        domains: DomainsReport {
            unique: stats.unique_domains,
            lookups: dns.lookups,
            cache_hits: dns.cache_hits,
            by_status: stats.domains_by_status.clone(),
            providers: stats.providers.clone(),
            resolver_trusted: checked && dns.resolver_trusted,
            checked,
            warnings: dns.warnings.clone(),
            breaker: dns.breaker.clone(),
            parked: dns.parked,
            transport: dns.transport.clone(),
        },
        engagement: (!config.decide.engagement.is_empty() || !config.decide.profiles.is_empty())
            .then(|| EngagementReport {
                logs: decider.history().stats().clone(),
                days_since_last_engagement: stats.days_since_engagement.clone(),
                source: if config.decide.profiles.is_empty() {
                    "engagement_logs"
                } else {
                    "profiles"
                },
            }),
        suppression_lists: decider.suppression().summaries().to_vec(),
        spreadsheet: SpreadsheetReport {
            formula_like_cells: outputs.formula_cells(),
            neutralised: config.cells == CellPolicy::ExcelSafe,
        },
        settings: SettingsReport {
            rules: match &config.decide.rules_source {
                RulesSource::Defaults => "defaults".into(),
                RulesSource::File(p) => p.display().to_string(),
            },
            jobs,
            dns_servers: match &config.decide.dns {
                Some(o) if !o.servers.is_empty() => {
                    o.servers.iter().map(|s| s.to_string()).collect()
                }
                Some(_) => vec!["system".into()],
                None => Vec::new(),
            },
        },
        elapsed_ms: started.elapsed().as_millis() as u64,
        thresholds: Vec::new(),
        concentration: crate::report::health::concentration(
            stats.providers.iter().map(|(name, n)| (*name, *n)),
            &decider.domain_rows(),
        ),
        timings_ms: Timings::default(),
        list_health: crate::report::health::list_health(
            &stats.reason_sets,
            !config.decide.engagement.is_empty(),
        ),
        contacts: decider.contacts_report(),
    }
}

#[cfg(test)]
mod tests;
