//! Runs each command: settings from the parsed flags, the library call, the text it prints.

mod generated;
mod profiles;

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use listwash::Error;
use listwash::config::{CleanConfig, DecideConfig, RulesSource};
use listwash::progress::{Bar, LogLines, Progress, Silent};
use listwash::read::{InputSource, ReadOptions};
use listwash::render;
use listwash::render::events::{EventKind, LogEvent};
use listwash::resolve::{CacheLocation, DnsOptions, WarnSink, is_postgres_url};
use listwash::rules::{DEFAULT_RULES, RuleSet};
use listwash::write::CellPolicy;

use crate::cli::{
    BenchArgs, CacheAction, CacheArgs, CheckArgs, CleanArgs, Cli, Command, DecideOptions,
    ProgressMode,
};
use crate::{json_logs, log};

/// How a command that did its work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 0.
    Done,
    /// Outputs written, but a `--fail-if` threshold tripped: exit 3.
    ThresholdTripped,
}

/// Runs the command the user asked for.
pub(crate) fn run(cli: Cli) -> Result<Outcome, Error> {
    let done = |result: Result<(), Error>| result.map(|()| Outcome::Done);
    match cli.command {
        Command::Clean(args) => clean(args),
        Command::Check(args) => done(check(args)),
        Command::Bench(args) => done(bench(args)),
        Command::Rules(_) => done(write_stdout(DEFAULT_RULES.as_bytes())),
        Command::Cache(args) => done(cache(args)),
        // See: #13 part 7.
        Command::Completions(args) => done(generated::completions(args.shell)),
        Command::Man => done(generated::man()),
        // See: #14 parts 2-3.
        Command::Profiles(args) => {
            let warn = warn_sink(args.events.quiet);
            done(profiles::profiles(args, warn))
        }
        Command::Events(args) => {
            let warn = warn_sink(args.events.quiet);
            done(profiles::events(args, warn))
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write {
            path: "<stdout>".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Warnings go to stderr, one line (or `warning` event) each, escaped, unless `--quiet`.
pub(crate) fn warn_sink(quiet: bool) -> WarnSink {
    Arc::new(move |message: &str| {
        if !quiet {
            log(LogEvent::new(
                EventKind::Warning,
                render::escape_controls(message),
            ));
        }
    })
}

fn decide_config(
    rules: Option<&std::path::Path>,
    args: &DecideOptions,
) -> Result<DecideConfig, Error> {
    let (rules, rules_source) = match rules {
        Some(path) => (RuleSet::load(path)?, RulesSource::File(path.to_path_buf())),
        None => (RuleSet::defaults(), RulesSource::Defaults),
    };
    let dns = (!args.no_dns).then(|| DnsOptions {
        servers: args.dns_server.clone(),
        timeout: Duration::from_millis(args.dns_timeout),
        concurrency: args.dns_concurrency as usize,
        cache: match (&args.cache, args.no_cache) {
            (_, true) => CacheLocation::Off,
            (Some(path), false) => match path.to_str().filter(|p| is_postgres_url(p)) {
                Some(url) => CacheLocation::Postgres(url.to_string()),
                None => CacheLocation::File(path.clone()),
            },
            (None, false) => CacheLocation::Default,
        },
    });
    Ok(DecideConfig {
        rules: Arc::new(rules),
        rules_source,
        suppress: args.suppress.clone(),
        engagement: args.engagement.clone(),
        profiles: args.profiles.clone(),
        events: args.event_columns.options(None),
        as_of: args
            .as_of
            .unwrap_or_else(|| chrono::Utc::now().date_naive()),
        dns,
    })
}

fn clean(args: CleanArgs) -> Result<Outcome, Error> {
    if let Some(size) = args.sample {
        return sample(&args, size).map(|()| Outcome::Done);
    }
    // clap requires --out-dir unless --sample is given.
    let out_dir = args.out_dir.clone().unwrap_or_default();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    // SIGINT, SIGTERM, SIGHUP: the run unwinds at its next check (within CANCEL_GRACE at
    // every stage it can check); a wait it cannot break, or a second signal, ends it here.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            abandon();
        }
        let _ = std::thread::Builder::new()
            .name("listwash-signal".into())
            .spawn(|| {
                std::thread::sleep(CANCEL_GRACE);
                abandon();
            });
    });
    let config = CleanConfig {
        input: if args.input.as_os_str() == "-" {
            InputSource::Stdin
        } else {
            InputSource::Path(args.input.clone())
        },
        out_dir: output_dir(&args, &out_dir)?,
        read: ReadOptions {
            email_column: args.email_column.clone(),
            signup_column: args.signup_column.clone(),
            max_field_bytes: args.max_field_bytes,
            date_order: args.date_order.map(|o| o.order()),
            require_consent: args.require_consent,
        },
        decide: decide_config(args.decide.rules.as_deref(), &args.decide.options)?,
        jobs: args.jobs.map(usize::from),
        batch_bytes: listwash::read::BATCH_BYTES,
        cells: if args.excel_safe {
            CellPolicy::ExcelSafe
        } else {
            CellPolicy::Unchanged
        },
        file_mode: args.file_mode,
        cancel,
        wait: args
            .wait
            .map(|seconds| seconds.map_or(Duration::MAX, Duration::from_secs)),
        thresholds: args.fail_if.clone(),
        output: output_options(&args),
        html: !args.no_html,
    };
    let terminal = std::io::stderr().is_terminal();
    let show = !args.quiet
        && match args.progress {
            ProgressMode::Never => false,
            ProgressMode::Always => true,
            ProgressMode::Auto => terminal,
        };
    let progress: Box<dyn Progress> = match (show, terminal) {
        (false, _) => Box::new(Silent),
        (true, _) if json_logs() => Box::new(ProgressEvents::default()),
        (true, true) => Box::new(Bar::new()),
        (true, false) => Box::new(LogLines::new(std::io::stderr())),
    };
    let report = listwash::pipeline::clean(&config, progress.as_ref(), warn_sink(args.quiet))?;
    // See: #10 part 5: unreadable signup dates are never silent.
    if let Some(line) = render::notices::unreadable_dates(&report) {
        warn_sink(args.quiet)(&line);
    }
    if !args.quiet {
        if json_logs() {
            log(render::events::summary(&report, &config.out_dir));
        } else {
            crate::say_raw(&render::summary(
                &report,
                &config.out_dir,
                &render::warnings(&report),
            ));
        }
    }
    // Tripped thresholds are printed even with --quiet: they are why the run exits 3.
    for result in report.thresholds.iter().filter(|r| r.tripped) {
        log(render::events::threshold(result));
    }
    Ok(if listwash::guard::any_tripped(&report.thresholds) {
        Outcome::ThresholdTripped
    } else {
        Outcome::Done
    })
}

// See: #13 part 3.
/// The folder the published outputs go to: `--out-dir`, or `--report-dir` with `--out-dir -`
/// (clap requires it there).
fn output_dir(args: &CleanArgs, out_dir: &std::path::Path) -> Result<std::path::PathBuf, Error> {
    match (&args.report_dir, out_dir.as_os_str() == "-") {
        (Some(dir), true) => Ok(dir.clone()),
        (None, false) => Ok(out_dir.to_path_buf()),
        (Some(dir), false) => Err(Error::OutDir {
            path: dir.clone(),
            message: "--report-dir is only used with --out-dir - (clean rows on stdout); \
                      drop it, or write --out-dir -"
                .into(),
        }),
        (None, true) => Err(Error::OutDir {
            path: out_dir.to_path_buf(),
            message: "sends the clean rows to stdout; give --report-dir DIR for the other \
                      outputs and report.json"
                .into(),
        }),
    }
}

/// `--output-format`, `--compress` and `--out-dir -` as the library's options.
fn output_options(args: &CleanArgs) -> listwash::write::OutputOptions {
    listwash::write::OutputOptions {
        format: match args.output_format {
            crate::cli::OutputFormatArg::Csv => listwash::write::FileFormat::Csv,
            crate::cli::OutputFormatArg::Parquet => listwash::write::FileFormat::Parquet,
        },
        compress: args.compress,
        clean_to_stdout: args.out_dir.as_ref().is_some_and(|d| d.as_os_str() == "-"),
    }
}

/// `clean --sample N`: the preview as JSON on stdout, a table (or a `summary` event) on
/// stderr unless `--quiet`. Writes no files. See: #13 part 6.
fn sample(args: &CleanArgs, size: u64) -> Result<(), Error> {
    use listwash::sample::{DEFAULT_SEED, SampleOptions};
    let input = if args.input.as_os_str() == "-" {
        InputSource::Stdin
    } else {
        InputSource::Path(args.input.clone())
    };
    let read = ReadOptions {
        email_column: args.email_column.clone(),
        signup_column: args.signup_column.clone(),
        max_field_bytes: args.max_field_bytes,
        date_order: args.date_order.map(|o| o.order()),
        require_consent: args.require_consent,
    };
    let options = SampleOptions {
        size: usize::try_from(size).unwrap_or(usize::MAX),
        seed: args.seed.unwrap_or(DEFAULT_SEED),
    };
    let decide = decide_config(args.decide.rules.as_deref(), &args.decide.options)?;
    let run = || listwash::sample::sample(&input, &read, &decide, &options, warn_sink(args.quiet));
    let pool = args.jobs.and_then(|jobs| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(jobs))
            .build()
            .ok()
    });
    let report = match pool {
        Some(pool) => pool.install(run)?,
        None => run()?,
    };
    if !args.quiet {
        if json_logs() {
            log(LogEvent::new(
                EventKind::Summary,
                format!(
                    "sampled {} of {} rows",
                    report.sample_size, report.rows_read
                ),
            )
            .with("rows", report.rows_read)
            .with("sample_size", report.sample_size)
            .with("seed", report.seed));
        } else {
            crate::say_raw(&render::sample_table(&report));
        }
    }
    let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Write {
        path: "<stdout>".into(),
        source: std::io::Error::other(e),
    })?;
    write_stdout(format!("{text}\n").as_bytes())
}

/// Progress as `progress` events (`--log-format json` with progress shown), at most one every
/// five seconds, like the text mode's [`LogLines`]. See: #13 part 8.
#[derive(Debug, Default)]
struct ProgressEvents {
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Progress for ProgressEvents {
    fn update(&self, rows: u64, bytes: u64) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let now = std::time::Instant::now();
        if last.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(5)) {
            *last = Some(now);
            log(
                LogEvent::new(EventKind::Progress, format!("{rows} rows done"))
                    .with("rows", rows)
                    .with("bytes_read", bytes),
            );
        }
    }
}

/// How long an interrupted run has to unwind by itself before the signal handler ends it.
const CANCEL_GRACE: Duration = Duration::from_millis(700);

/// Ends an interrupted run that did not unwind in time: removes its temporaries and exits
/// 130. Does nothing once the outputs are published (the run is then finishing normally).
fn abandon() {
    if listwash::interrupt::is_published() {
        return;
    }
    let left = listwash::interrupt::remove_temporaries();
    if listwash::interrupt::is_published() {
        return;
    }
    if left == 0 {
        log(LogEvent::new(
            EventKind::Error,
            "interrupted; no outputs were written",
        ));
    } else {
        log(LogEvent::new(
            EventKind::Error,
            format!(
                "interrupted; no outputs were written, but {left} temporary files could not be removed from the output folder"
            ),
        ));
    }
    crate::end(130);
    std::process::exit(130);
}

fn check(args: CheckArgs) -> Result<(), Error> {
    let config = decide_config(args.decide.rules.as_deref(), &args.decide.options)?;
    let (results, _) = listwash::check::check(&args.addresses, &config, warn_sink(false))?;
    write_stdout(render::check_results(&results, args.json).as_bytes())
}

fn bench(args: BenchArgs) -> Result<(), Error> {
    let mut configs = Vec::new();
    for path in &args.rule_files {
        configs.push((path.clone(), decide_config(Some(path), &args.decide)?));
    }
    let read = ReadOptions {
        email_column: args.email_column.clone(),
        ..ReadOptions::default()
    };
    let report = listwash::bench::bench(
        &args.input,
        &read,
        &configs,
        args.outcomes.as_deref(),
        warn_sink(false),
    )?;
    let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Write {
        path: "<stdout>".into(),
        source: std::io::Error::other(e),
    })?;
    if let Some(path) = &args.json_out {
        // See: #12 part 4 (bench.json): written aside, then renamed, so a reader never sees
        // half a file.
        write_whole(path, format!("{text}\n").as_bytes()).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    }
    if args.json {
        return write_stdout(format!("{text}\n").as_bytes());
    }
    write_stdout(render::bench_table(&report, args.outcomes.is_some()).as_bytes())
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, then renames it to
/// `path`: the file appears whole or not at all.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `listwash cache stats|prune`: one JSON object with `--json`, else a few lines of text.
fn cache(args: CacheArgs) -> Result<(), Error> {
    use listwash::resolve::{
        cache_prune, cache_stats, default_cache_path, shared_cache_prune, shared_cache_stats,
    };
    let Some(path) = args.cache.or_else(default_cache_path) else {
        return Err(Error::Cache {
            path: "<none>".into(),
            message: "this system has no user cache directory; give --cache FILE".into(),
        });
    };
    // The shown path of a PostgreSQL cache is `host:port/database`: never the URL's password.
    let shown = |path: &std::path::Path| render::escape_controls(&path.display().to_string());
    let (json, text) = match args.action {
        CacheAction::Stats => {
            let s = match path.to_str().filter(|p| is_postgres_url(p)) {
                Some(url) => shared_cache_stats(url)?,
                None => cache_stats(&path)?,
            };
            let shown = shown(&s.path);
            let statuses: Vec<String> = s
                .by_status
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let at = |t: &Option<String>| t.clone().unwrap_or_else(|| "-".into());
            let text = if s.exists {
                format!(
                    "cache {shown}\nsize on disk {} bytes\nentries {} ({} expired, {} unreadable)\n\
                     by status {}\noldest stored {}\nnewest stored {}\nnext expiry {}\n",
                    s.size_bytes,
                    s.entries,
                    s.expired,
                    s.unreadable,
                    if statuses.is_empty() {
                        "-".into()
                    } else {
                        statuses.join(", ")
                    },
                    at(&s.oldest_stored),
                    at(&s.newest_stored),
                    at(&s.next_expiry)
                )
            } else {
                format!("cache {shown}\nno cache file there yet (entries 0)\n")
            };
            (serde_json::to_string(&s), text)
        }
        CacheAction::Prune => {
            let p = match path.to_str().filter(|p| is_postgres_url(p)) {
                Some(url) => shared_cache_prune(url)?,
                None => cache_prune(&path)?,
            };
            let shown = shown(&p.path);
            let text = if p.exists {
                format!(
                    "cache {shown}\npruned {} expired entries ({} unreadable); {} entries left; \
                     size {} -> {} bytes\n",
                    p.removed_expired,
                    p.removed_unreadable,
                    p.remaining,
                    p.size_before,
                    p.size_after
                )
            } else {
                format!("cache {shown}\nno cache file there; pruned 0 expired entries\n")
            };
            (serde_json::to_string(&p), text)
        }
    };
    if args.json {
        let json = json.map_err(|e| Error::Write {
            path: "<stdout>".into(),
            source: std::io::Error::other(e),
        })?;
        return write_stdout(format!("{json}\n").as_bytes());
    }
    write_stdout(text.as_bytes())
}
