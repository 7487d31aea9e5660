//! The `listwash` binary: parse the command line, run the command, map the result to an exit
//! code. Building settings from the flags is in [`commands`]; all text comes from
//! [`listwash::render`]; every line on stderr goes through [`log`] (text or JSON lines).

mod cli;
mod commands;

use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::Parser;
use listwash::Error;
use listwash::render::events::{EventKind, Level, LogEvent};

use crate::cli::{Cli, LogFormat};
use crate::commands::Outcome;

fn main() -> ExitCode {
    let _ = STARTED.set(Instant::now());
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    JSON_LOGS.store(cli.log_format == LogFormat::Json, Ordering::Relaxed);
    let show_values = cli.show_values;
    log(LogEvent::new(
        EventKind::Start,
        format!("listwash {} started", cli.command_name()),
    )
    .with("command", cli.command_name())
    .with("version", env!("CARGO_PKG_VERSION"))
    .with("pid", std::process::id()));
    let code = match commands::run(cli) {
        Ok(Outcome::Done) => 0,
        Ok(Outcome::ThresholdTripped) => 3,
        Err(Error::Interrupted) => {
            log(LogEvent::new(
                EventKind::Error,
                "interrupted; no outputs were written",
            ));
            130
        }
        Err(e) => {
            log(LogEvent::new(
                EventKind::Error,
                listwash::render::error_message(&e, show_values),
            ));
            1
        }
    };
    end(code);
    ExitCode::from(code)
}

/// `--log-format json` was given.
static JSON_LOGS: AtomicBool = AtomicBool::new(false);
/// When the process started, for the `end` event's `elapsed_ms`.
static STARTED: OnceLock<Instant> = OnceLock::new();

/// Returns true if and only if stderr takes JSON lines (`--log-format json`).
pub(crate) fn json_logs() -> bool {
    JSON_LOGS.load(Ordering::Relaxed)
}

/// Writes an event to stderr: in text mode as the line listwash always printed for it
/// (`start`, `summary` and `end` print nothing: the summary table is printed by its command),
/// in JSON mode as one object per line.
pub(crate) fn log(event: LogEvent) {
    if json_logs() {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        say_raw(&event.to_json_line(&time));
        return;
    }
    match event.kind {
        EventKind::Warning => say(&format!("listwash: warning: {}", event.message)),
        EventKind::Error | EventKind::Threshold | EventKind::Progress => {
            say(&format!("listwash: {}", event.message));
        }
        EventKind::Start | EventKind::Summary | EventKind::End => {}
    }
}

/// The `end` event (JSON mode only): the exit code and the time since the process started.
pub(crate) fn end(code: u8) {
    let elapsed_ms = STARTED.get().map_or(0, |t| {
        u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
    });
    let level = if code == 0 { Level::Info } else { Level::Error };
    log(LogEvent::new(EventKind::End, format!("exit {code}"))
        .with_level(level)
        .with("exit_code", code)
        .with("elapsed_ms", elapsed_ms));
}

/// A command line clap refused. Help and version (stdout) and text mode are clap's own
/// output; with `--log-format json` somewhere on the line, the error is an `error` event
/// and an `end` event instead.
fn usage_error(error: clap::Error) -> ExitCode {
    if !error.use_stderr() || !json_requested(std::env::args_os().skip(1)) {
        error.exit();
    }
    JSON_LOGS.store(true, Ordering::Relaxed);
    let text = error.to_string();
    let first_paragraph = text.split("\n\n").next().unwrap_or_default();
    let message = first_paragraph
        .trim_start_matches("error: ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    log(LogEvent::new(
        EventKind::Error,
        listwash::render::escape_controls(&message),
    ));
    let code = u8::try_from(error.exit_code()).unwrap_or(2);
    end(code);
    ExitCode::from(code)
}

/// Returns true if and only if the raw arguments ask for `--log-format json` (before `--`).
fn json_requested(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let mut previous_was_flag = false;
    for arg in args {
        if arg == "--" {
            break;
        }
        if arg == "--log-format=json" || (previous_was_flag && arg == "json") {
            return true;
        }
        previous_was_flag = arg == "--log-format";
    }
    false
}

/// Writes a line to stderr; a stderr that cannot be written to (closed, full) is ignored
/// rather than turned into a panic.
pub(crate) fn say(line: &str) {
    say_raw(&format!("{line}\n"));
}

/// Writes text to stderr as it is, errors ignored as in [`say`].
pub(crate) fn say_raw(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
}
