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
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use crate::config::{CleanConfig, RulesSource};
use crate::decide::{Decided, Decider, Examined, Examiner, Registered, RowInput};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::read::{Batch, Input, Item};
use crate::report::{
    DomainsReport, EngagementReport, InputReport, Report, SettingsReport, SpreadsheetReport,
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
    let lock = crate::write::lock_out_dir(&config.out_dir, None)?;
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
    let mut decider = load(&pool)?;
    decider.cancel_on(config.cancel.clone());
    let mut outputs = Outputs::create_locked(
        lock,
        input.header(),
        input.delimiter(),
        input.dialect().bom,
        config.cells,
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
    let signup_index = input.signup_index();
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
        let reader = std::thread::Builder::new()
            .name("listwash-read".into())
            .spawn(move || read_loop(&mut input, batch_bytes, batch_tx, recycle_rx))
            .map_err(|e| Error::Internal(format!("cannot start the reader thread: {e}")))?;
        let writer = scope.spawn(move || write_loop(outputs, write_rx, recycle_tx));

        let mut parsing: VecDeque<Receiver<(Batch, Vec<Examined>)>> = VecDeque::new();
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
                        pool.spawn(move || {
                            batch.parse(&shape);
                            let examined = examine(&examiner, &batch, email_index, signup_index);
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
                let rows = decider.register(examined);
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
                let decisions = decider.decide_on(rows, &pool);
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
    if config.cancel.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
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
    rx: Receiver<ToWrite>,
    recycle: SyncSender<Batch>,
) -> Result<Outputs> {
    for ToWrite { batch, decisions } in rx {
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
    }
    Ok(outputs)
}

/// Checks a parsed batch's rows (on a worker thread).
fn examine(
    examiner: &Examiner,
    batch: &Batch,
    email_index: usize,
    signup_index: Option<usize>,
) -> Vec<Examined> {
    let mut examined = Vec::with_capacity(batch.len());
    examined.extend(batch.rows().map(|row| {
        examiner.examine(&RowInput {
            line: row.line,
            email: row.text(email_index),
            signup: signup_index
                .filter(|_| examiner.reads_signup_dates())
                .map(|i| row.text(i)),
        })
    }));
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::config::DecideConfig;
    use crate::progress::Silent;
    use crate::read::{BATCH_BYTES, InputSource, ReadOptions};
    use crate::rules::RuleSet;

    /// Rows with an `id` column, every kind of record: duplicates, invalid addresses, quoted
    /// fields with delimiters and newlines, ragged records, role and disposable addresses.
    fn input(rows: usize) -> String {
        let mut text = String::from("id,email,note\n");
        for i in 0..rows {
            let line = match i % 11 {
                0 => format!("{i},dup{}@example.com,plain\n", i % 7),
                1 => format!("{i},not an address,\"quoted, with comma\"\n"),
                2 => format!("{i},person{i}@example.org,\"two\nlines\"\n"),
                3 => format!("{i},ragged@example.com\n"),
                4 => format!("{i},info@company{}.com,role\n", i % 5),
                5 => format!("{i},x{i}@mailinator.com,\"say \"\"hi\"\"\"\n"),
                _ => format!("{i},user{i}@example.net,n{i}\n"),
            };
            text.push_str(&line);
        }
        text
    }

    fn run(input: &Path, out: &Path, jobs: usize, batch_bytes: usize) -> Report {
        let config = config(input, out, jobs, batch_bytes);
        clean(&config, &Silent, Arc::new(|_: &str| {})).expect("clean")
    }

    fn config(input: &Path, out: &Path, jobs: usize, batch_bytes: usize) -> CleanConfig {
        CleanConfig {
            input: InputSource::Path(input.to_path_buf()),
            out_dir: out.to_path_buf(),
            read: ReadOptions::default(),
            decide: DecideConfig {
                rules: Arc::new(RuleSet::defaults()),
                rules_source: RulesSource::Defaults,
                suppress: Vec::new(),
                engagement: Vec::new(),
                as_of: chrono::NaiveDate::MIN,
                dns: None,
            },
            jobs: Some(jobs),
            batch_bytes,
            cells: CellPolicy::Unchanged,
            file_mode: 0o600,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    fn read(out: &Path, name: &str) -> Vec<u8> {
        std::fs::read(out.join(name)).expect("output")
    }

    /// The `id`s of an output's rows (first column), in file order.
    fn ids(out: &Path, name: &str) -> Vec<u64> {
        let mut reader = csv::Reader::from_path(out.join(name)).expect("open output");
        reader
            .records()
            .map(|r| r.expect("record")[0].parse().expect("id"))
            .collect()
    }

    #[test]
    fn outputs_do_not_depend_on_batch_sizes_or_threads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.csv");
        // Batches are at least one 64 KiB read: 40,000 rows (1.4 MB) make twenty or more.
        std::fs::write(&path, input(40_000)).expect("write");
        let reference = dir.path().join("ref");
        run(&path, &reference, 2, BATCH_BYTES);
        for (jobs, batch) in [(1, 1), (3, 100_000), (4, 1)] {
            let out = dir.path().join(format!("out-{jobs}-{batch}"));
            run(&path, &out, jobs, batch);
            for name in crate::write::CSV_OUTPUTS {
                assert!(
                    read(&out, name) == read(&reference, name),
                    "{name} differs with {jobs} jobs and {batch}-byte batches"
                );
            }
        }
    }

    #[test]
    fn every_record_lands_in_exactly_one_output_in_input_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.csv");
        let rows = 40_000;
        std::fs::write(&path, input(rows)).expect("write");
        let out = dir.path().join("out");
        let report = run(&path, &out, 3, 1);
        let mut all = BTreeSet::new();
        for name in ["clean.csv", "review.csv", "suppressed.csv"] {
            let ids = ids(&out, name);
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "{name} is out of order"
            );
            for id in ids {
                assert!(all.insert(id), "id {id} written twice");
            }
        }
        // The ragged rows are rejected, with their line numbers, in order.
        let rejected = ids(&out, "rejected.csv");
        assert_eq!(rejected.len(), (0..rows).filter(|i| i % 11 == 3).count());
        assert!(rejected.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(all.len() + rejected.len(), rows);
        let expected: BTreeSet<u64> = (0..rows as u64).filter(|i| i % 11 != 3).collect();
        assert_eq!(all, expected);
        assert_eq!(report.outputs.total(), rows as u64);
        assert_eq!(report.outputs.rejected, rejected.len() as u64);
    }

    /// A domain source that says its answers are slow, so batches wait in the DNS window.
    struct Slow(crate::decide::DomainTable);

    impl crate::decide::DomainSource for Slow {
        fn submit(&mut self, domains: &[&str]) {
            self.0.submit(domains);
        }
        fn answers(&mut self, domains: &[&str]) -> Vec<Arc<crate::resolve::DomainInfo>> {
            self.0.answers(domains)
        }
        fn is_slow(&self) -> bool {
            true
        }
        fn finish(self: Box<Self>) -> Option<crate::resolve::DnsStats> {
            None
        }
    }

    #[test]
    fn batches_waiting_for_dns_answers_are_written_in_input_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.csv");
        std::fs::write(&path, input(40_000)).expect("write");
        let reference = dir.path().join("ref");
        run(&path, &reference, 2, BATCH_BYTES);
        let out = dir.path().join("slow");
        let config = config(&path, &out, 2, 1);
        let report = clean_with(&config, &Silent, |_| {
            Ok(Decider::new(
                Arc::new(RuleSet::defaults()),
                crate::suppress::SuppressionSet::default(),
                crate::engagement::History::empty(),
                chrono::NaiveDate::MIN,
                Box::new(Slow(crate::decide::DomainTable::new())),
            ))
        })
        .expect("clean");
        // Every domain is missing from the table: every valid row is dns_unknown, in order.
        assert!(report.reasons["dns_unknown"] > 500);
        let reviewed = ids(&out, "review.csv");
        assert!(
            reviewed.windows(2).all(|w| w[0] < w[1]),
            "review.csv is out of order"
        );
        assert_eq!(read(&out, "rejected.csv"), read(&reference, "rejected.csv"));
        assert_eq!(
            reviewed.len() + ids(&out, "suppressed.csv").len() + ids(&out, "rejected.csv").len(),
            40_000
        );
    }

    #[test]
    fn kept_rows_are_written_byte_for_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.csv");
        let text = input(500);
        std::fs::write(&path, &text).expect("write");
        let out = dir.path().join("out");
        run(&path, &out, 2, 300);
        let clean = String::from_utf8(read(&out, "clean.csv")).expect("utf-8");
        // Every kept record appears in the input exactly as written (quotes and all).
        let mut records = clean.split_inclusive("\n").peekable();
        assert_eq!(records.next(), Some("id,email,note\n"));
        let mut kept = 0;
        let mut record = String::new();
        for piece in records {
            record.push_str(piece);
            if record.matches('"').count().is_multiple_of(2) {
                assert!(text.contains(&record), "not in the input: {record:?}");
                kept += 1;
                record.clear();
            }
        }
        assert!(kept > 100, "only {kept} kept rows");
        assert!(clean.contains("\"two\nlines\""));
    }
}
