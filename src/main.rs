//! The `listwash` binary: parse the command line, run the command, map the result to an exit
//! code. Building settings from the flags is in [`commands`]; all text comes from
//! [`listwash::render`].

mod cli;
mod commands;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use listwash::Error;

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let show_values = cli.show_values;
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Interrupted) => {
            say("listwash: interrupted; no outputs were written");
            ExitCode::from(130)
        }
        Err(e) => {
            say(&format!(
                "listwash: {}",
                listwash::render::error_message(&e, show_values)
            ));
            ExitCode::from(1)
        }
    }
}

/// Writes a line to stderr; a stderr that cannot be written to (closed, full) is ignored
/// rather than turned into a panic.
pub(crate) fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
