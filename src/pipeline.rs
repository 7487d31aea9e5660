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

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use crate::config::{CleanConfig, DecideConfig, RulesSource};
use crate::decide::{Decider, Examiner, Prepared, RowInput};
use crate::engagement::History;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::read::{Batch, Input, Item};
use crate::report::{
    DomainsReport, EngagementReport, InputReport, Report, SettingsReport, SpreadsheetReport,
};
use crate::resolve::{DnsStats, DomainChecker, DomainInfo, WarnSink};
use crate::rules::Decision;
use crate::suppress::SuppressionSet;
use crate::write::{CellPolicy, Outputs};

/// Rows that may wait for DNS answers before the oldest batch must be decided.
const DNS_WINDOW_ROWS: usize = 200_000;

/// A batch on its way to the writer: the records, and a decision per readable row.
struct Decided {
    batch: Batch,
    decisions: Vec<Decision>,
}

/// A batch waiting for its domains' DNS answers.
struct Pending {
    batch: Batch,
    prepared: Vec<Prepared>,
    domains: Vec<String>,
}

/// Loads what every decision needs: suppression lists and engagement history.
///
/// # Errors
/// When a list or log cannot be read.
pub fn load_decider(config: &DecideConfig) -> Result<Decider> {
    let suppression = SuppressionSet::load(&config.suppress)?;
    let history = if config.engagement.is_empty() {
        History::empty()
    } else {
        History::load(&config.engagement, &config.rules.engagement)?
    };
    Ok(Decider::new(
        config.rules.clone(),
        suppression,
        history,
        config.as_of,
    ))
}

/// Runs `listwash clean`: reads the input, decides every row, writes the five outputs.
///
/// # Errors
/// When the input, a list, a log or an output cannot be read or written, or the run was
/// interrupted. No output is renamed into place unless the run completes.
pub fn clean(config: &CleanConfig, progress: &dyn Progress, warn: WarnSink) -> Result<Report> {
    let started = Instant::now();
    crate::write::check_collisions(&config.out_dir, &named_inputs(config))?;
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
    let mut decider = pool.install(|| load_decider(&config.decide))?;
    let mut outputs = Outputs::create(
        &config.out_dir,
        input.header(),
        input.delimiter(),
        input.dialect().bom,
        config.cells,
    )?;
    outputs.set_file_mode(config.file_mode);
    let mut checker = match &config.decide.dns {
        Some(options) => Some(DomainChecker::new(
            options,
            &config.decide.rules.dns,
            warn.clone(),
        )?),
        None => None,
    };
    let total_bytes = match &config.input {
        crate::read::InputSource::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        crate::read::InputSource::Stdin => None,
    };
    progress.start(total_bytes);
    let bytes = input.bytes_counter();
    let dialect = input.dialect().clone();
    let email_index = input.email_index();
    let signup_index = input.signup_index();
    let batch_bytes = config.batch_bytes.max(1);
    let shape = input.shape();
    let examiner = decider.examiner();
    // Batches parsed and examined ahead of the one being registered, in parallel.
    let parse_ahead = (2 * jobs).min(16);

    let result = std::thread::scope(|scope| -> Result<(Outputs, u64)> {
        let (batch_tx, batch_rx) = sync_channel::<Result<Batch>>(parse_ahead);
        let (write_tx, write_rx) = sync_channel::<Decided>(2);
        // Written batches go back to the reader, which reads into their buffers again.
        let (recycle_tx, recycle_rx) = sync_channel::<Batch>(2 * parse_ahead + 4);
        let reader = scope.spawn(move || read_loop(&mut input, batch_bytes, batch_tx, recycle_rx));
        let writer = scope.spawn(move || write_loop(outputs, write_rx, recycle_tx));

        let mut parsing: VecDeque<Receiver<(Batch, Vec<Prepared>)>> = VecDeque::new();
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
                match batch_rx.recv() {
                    Ok(Ok(mut batch)) => {
                        let (tx, rx) = sync_channel(1);
                        let examiner = examiner.clone();
                        pool.spawn(move || {
                            batch.parse(&shape);
                            let prepared = examine(&examiner, &batch, email_index, signup_index);
                            let _ = tx.send((batch, prepared));
                        });
                        parsing.push_back(rx);
                    }
                    Ok(Err(e)) => {
                        failure = Some(e);
                        break;
                    }
                    Err(_) => reading = false,
                }
            }
            if failure.is_some() {
                break;
            }
            if let Some(next) = parsing.pop_front() {
                let Ok((batch, mut prepared)) = next.recv() else {
                    failure = Some(Error::Internal("a worker thread panicked".into()));
                    break;
                };
                if first_batch {
                    first_batch = false;
                    if let Some(rows) = estimate_rows(total_bytes, &dialect, &batch) {
                        decider.reserve(rows);
                    }
                }
                let domains = decider.register(&mut prepared);
                match checker.as_mut() {
                    Some(c) => c.submit(domains.iter().map(String::as_str)),
                    None => {
                        let unchecked = Arc::new(DomainInfo::unchecked());
                        decider.add_dns(domains.into_iter().map(|d| (d, unchecked.clone())));
                    }
                }
                let needed = if checker.is_some() {
                    batch_domains(&prepared)
                } else {
                    Vec::new()
                };
                pending_rows += prepared.len();
                pending.push_back(Pending {
                    batch,
                    prepared,
                    domains: needed,
                });
            }
            // Decide the oldest batch once DNS had a window of rows to work ahead on.
            let more_coming = reading || !parsing.is_empty();
            while let Some(front) = pending.front() {
                let must = !more_coming || checker.is_none() || pending_rows > DNS_WINDOW_ROWS;
                if !must {
                    break;
                }
                if let Some(c) = checker.as_mut() {
                    let answers = c.wait(front.domains.iter().map(String::as_str));
                    decider.add_dns(answers);
                }
                let Some(batch) = pending.pop_front() else {
                    break;
                };
                pending_rows -= batch.prepared.len();
                // Without engagement history a row's decision is a few hundred nanoseconds:
                // cheaper here than queued behind the parse jobs. With history it looks up
                // and evaluates a profile a row, worth both cores.
                let decisions = if decider.history().is_empty() {
                    decider.decide_here(&batch.prepared)
                } else {
                    pool.install(|| decider.decide(&batch.prepared))
                };
                rows_done += batch.batch.len() as u64;
                if write_tx
                    .send(Decided {
                        batch: batch.batch,
                        decisions,
                    })
                    .is_err()
                {
                    writer_gone = true; // the writer failed; its error is collected below
                    break;
                }
                progress.update(rows_done, bytes.load(Ordering::Relaxed));
            }
        }
        drop(write_tx);
        drop(batch_rx);
        let read_result = reader
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the reader thread panicked".into())));
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the writer thread panicked".into())));
        if let Some(e) = failure {
            return Err(e);
        }
        let outputs = written?;
        read_result?;
        Ok((outputs, rows_done))
    });
    let (outputs, _rows) = result?;
    let dns_stats = checker.map(DomainChecker::finish);
    progress.finish();

    let report = build_report(
        config,
        &decider,
        &outputs,
        dns_stats,
        dialect,
        bytes.load(Ordering::Relaxed),
        jobs,
        started,
    );
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Write {
        path: config.out_dir.join("report.json"),
        source: std::io::Error::other(e),
    })?;
    let mut json = json;
    json.push(b'\n');
    outputs.finish(&json)?;
    Ok(report)
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
) -> Result<()> {
    loop {
        let mut batch = recycled.try_recv().unwrap_or_default();
        match input.read_chunk(batch_bytes, &mut batch) {
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
    rx: Receiver<Decided>,
    recycle: SyncSender<Batch>,
) -> Result<Outputs> {
    for Decided { batch, decisions } in rx {
        let mut decisions = decisions.into_iter();
        for item in batch.items() {
            match item {
                Item::Row(row) => {
                    let decision = decisions
                        .next()
                        .ok_or_else(|| Error::Internal("a row without a decision".into()))?;
                    let reason = decision.reason.map_or("", |r| r.code());
                    outputs.write_row(&row, decision.action, reason, &decision.detail)?;
                }
                Item::Rejected(rejected) => outputs.write_rejected(rejected)?,
            }
        }
        // Never block on the reader: a full channel just drops the batch.
        let _ = recycle.try_send(batch);
    }
    Ok(outputs)
}

/// Checks a parsed batch's rows (on a worker thread).
fn examine(
    examiner: &Examiner,
    batch: &Batch,
    email_index: usize,
    signup_index: Option<usize>,
) -> Vec<Prepared> {
    let mut prepared = Vec::with_capacity(batch.len());
    prepared.extend(batch.rows().map(|row| {
        examiner.examine(&RowInput {
            line: row.line,
            email: row.text(email_index),
            signup: signup_index
                .filter(|_| examiner.reads_signup_dates())
                .map(|i| row.text(i)),
        })
    }));
    prepared
}

/// The distinct domains a batch's rows need answers for.
fn batch_domains(prepared: &[Prepared]) -> Vec<String> {
    let mut seen = HashSet::new();
    prepared
        .iter()
        .filter_map(Prepared::domain)
        .filter(|d| seen.insert(*d))
        .map(String::from)
        .collect()
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
        },
        engagement: (!config.decide.engagement.is_empty()).then(|| EngagementReport {
            logs: decider.history().stats().clone(),
            days_since_last_engagement: stats.days_since_engagement.clone(),
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
    }
}
