//! `listwash completions SHELL` and `listwash man`: text generated from the clap definitions
//! in [`crate::cli`], written to stdout. Reads nothing, writes no file.
//!
//! See: #13 part 7.

use clap::CommandFactory;
use listwash::Error;

use super::write_stdout;
use crate::cli::{Cli, CompletionShell};

/// Prints the completion script for `shell`.
pub(crate) fn completions(shell: CompletionShell) -> Result<(), Error> {
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "listwash", &mut script);
    write_stdout(&script)
}

/// Prints the man page (roff): the synopsis, every option and the list of commands.
pub(crate) fn man() -> Result<(), Error> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| Error::Write {
            path: "<stdout>".into(),
            source: e,
        })?;
    write_stdout(&page)
}
