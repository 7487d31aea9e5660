#![expect(
    clippy::print_stderr,
    reason = "the binary reports to the user on stderr"
)]

//! The `listwash` binary: parse the command line, build a config, run, map to an exit code.

mod cli;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use listwash::config::{CleanConfig, DecideConfig, RulesSource};
use listwash::progress::{Bar, Progress, Silent};
use listwash::read::{InputSource, ReadOptions};
use listwash::report::Report;
use listwash::resolve::{CacheLocation, DnsOptions, WarnSink};
use listwash::rules::{DEFAULT_RULES, RuleSet};
use listwash::write::CellPolicy;
use listwash::{Error, Reason};

use crate::cli::{BenchArgs, CheckArgs, CleanArgs, Cli, Command, DecideOptions, ProgressMode};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Clean(args) => run_clean(args),
        Command::Check(args) => run_check(args),
        Command::Bench(args) => run_bench(args),
        Command::Rules(_) => write_stdout(DEFAULT_RULES.as_bytes()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Interrupted) => {
            eprintln!("listwash: interrupted; no outputs were written");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("listwash: {}", one_line(&e.to_string()));
            ExitCode::from(1)
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write {
            path: "<stdout>".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn warn_sink(quiet: bool) -> WarnSink {
    Arc::new(move |message: &str| {
        if !quiet {
            eprintln!("listwash: warning: {message}");
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
            (Some(path), false) => CacheLocation::File(path.clone()),
            (None, false) => CacheLocation::Default,
        },
    });
    Ok(DecideConfig {
        rules: Arc::new(rules),
        rules_source,
        suppress: args.suppress.clone(),
        engagement: args.engagement.clone(),
        as_of: args
            .as_of
            .unwrap_or_else(|| chrono::Utc::now().date_naive()),
        dns,
    })
}

fn run_clean(args: CleanArgs) -> Result<(), Error> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    // A second Ctrl-C while the first is handled exits at once.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let config = CleanConfig {
        input: if args.input.as_os_str() == "-" {
            InputSource::Stdin
        } else {
            InputSource::Path(args.input.clone())
        },
        out_dir: args.out_dir.clone(),
        read: ReadOptions {
            email_column: args.email_column.clone(),
            signup_column: args.signup_column.clone(),
            max_field_bytes: args.max_field_bytes,
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
    };
    let show = !args.quiet
        && match args.progress {
            ProgressMode::Never => false,
            ProgressMode::Always => true,
            ProgressMode::Auto => std::io::stderr().is_terminal(),
        };
    let progress: Box<dyn Progress> = match (show, std::io::stderr().is_terminal()) {
        (false, _) => Box::new(Silent),
        (true, true) => Box::new(Bar::new()),
        (true, false) => Box::new(LogLines::default()),
    };
    let report = listwash::pipeline::clean(&config, progress.as_ref(), warn_sink(args.quiet))?;
    if !args.quiet {
        eprint!("{}", summary(&report, &args.out_dir));
    }
    Ok(())
}

/// Progress as plain lines on a non-terminal stderr (`--progress always` under cron).
#[derive(Default)]
struct LogLines {
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Progress for LogLines {
    fn update(&self, rows: u64, _bytes: u64) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let now = std::time::Instant::now();
        if last.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(5)) {
            eprintln!("listwash: {rows} rows done");
            *last = Some(now);
        }
    }
}

/// The end-of-run table on stderr: counts per output and per reason. No addresses.
fn summary(report: &Report, out_dir: &std::path::Path) -> String {
    let o = &report.outputs;
    let total = report.input.rows.max(1) as f64;
    let pct = |n: u64| 100.0 * n as f64 / total;
    let mut text = format!(
        "listwash: {} rows in {:.1}s -> {}\n  clean      {:>10} {:>6.2}%\n  review     {:>10} {:>6.2}%\n  suppressed {:>10} {:>6.2}%\n  rejected   {:>10} {:>6.2}%\n",
        report.input.rows,
        report.elapsed_ms as f64 / 1000.0,
        out_dir.display(),
        o.clean,
        pct(o.clean),
        o.review,
        pct(o.review),
        o.suppressed,
        pct(o.suppressed),
        o.rejected,
        pct(o.rejected),
    );
    let mut reasons: Vec<(&str, u64)> = Reason::ALL
        .iter()
        .map(|r| (r.code(), report.reasons.get(r.code()).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !reasons.is_empty() {
        text.push_str("  by reason:\n");
        for (code, n) in reasons {
            text.push_str(&format!("    {code:<24} {n:>10}\n"));
        }
    }
    if !report.domains.checked {
        text.push_str("  DNS: not checked (--no-dns)\n");
    } else if !report.domains.resolver_trusted {
        text.push_str("  DNS: resolver not trusted; domain-dependent rows sent to review\n");
    }
    text
}

fn run_check(args: CheckArgs) -> Result<(), Error> {
    let config = decide_config(args.decide.rules.as_deref(), &args.decide.options)?;
    let (results, _) = listwash::check::check(&args.addresses, &config, warn_sink(false))?;
    let mut out = Vec::new();
    for r in &results {
        if args.json {
            let line = serde_json::to_string(r).map_err(|e| Error::Write {
                path: "<stdout>".into(),
                source: std::io::Error::other(e),
            })?;
            out.extend_from_slice(line.as_bytes());
        } else {
            let reason = r.reason.unwrap_or("-");
            out.extend_from_slice(
                format!(
                    "{}\t{}\t{}\t{}",
                    r.address,
                    r.action.as_str(),
                    reason,
                    r.detail
                )
                .as_bytes(),
            );
        }
        out.push(b'\n');
    }
    write_stdout(&out)
}

fn run_bench(args: BenchArgs) -> Result<(), Error> {
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
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Write {
            path: "<stdout>".into(),
            source: std::io::Error::other(e),
        })?;
        return write_stdout(format!("{text}\n").as_bytes());
    }
    let names: Vec<String> = report
        .rule_sets
        .iter()
        .map(|r| r.rules.display().to_string())
        .collect();
    let width = names
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(8)
        .clamp(10, 40);
    let mut text = format!("{} rows", report.rows);
    if args.outcomes.is_some() {
        text.push_str(&format!(
            ", {} with a known outcome",
            report.rows_with_outcome
        ));
    }
    text.push_str(&format!("\n{:<26}", ""));
    for name in &names {
        text.push_str(&format!(" {name:>width$}"));
    }
    text.push('\n');
    let mut row = |label: &str, cell: &dyn Fn(&listwash::bench::RuleSetResult) -> String| {
        text.push_str(&format!("{label:<26}"));
        for r in &report.rule_sets {
            text.push_str(&format!(" {:>width$}", cell(r)));
        }
        text.push('\n');
    };
    for action in ["keep", "review", "suppress"] {
        row(action, &|r| {
            r.actions.get(action).copied().unwrap_or(0).to_string()
        });
    }
    for reason in Reason::ALL {
        if report
            .rule_sets
            .iter()
            .any(|r| r.reasons.contains_key(reason.code()))
        {
            row(&format!("  {}", reason.code()), &|r| {
                r.reasons
                    .get(reason.code())
                    .copied()
                    .unwrap_or(0)
                    .to_string()
            });
        }
    }
    if args.outcomes.is_some() {
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
        row("bad outcomes caught", &|r| pct(r.bad_caught));
        row("engaged contacts lost", &|r| pct(r.engaged_lost));
    }
    write_stdout(text.as_bytes())
}
