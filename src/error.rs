//! The library's error type. Only problems with the run itself (input file, rules, outputs,
//! engagement logs) are errors; a bad row is data and never reaches this type.
//!
//! Each variant's message names the file and what is wrong without its cause; the cause is
//! kept as the error's `source`, and [`crate::render::error_message`] prints the chain once.

use std::path::PathBuf;

/// Everything that can make a run fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened or read.
    #[error("{path}: cannot read ({})", read_hint(source))]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// An output could not be written.
    #[error("{path}: cannot write ({})", write_hint(source))]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The input is not something listwash can process (with the fix in `message`).
    #[error("{path}: {message}")]
    Input {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A rules file is malformed.
    #[error("rules file {path}: {message}")]
    Rules {
        /// The rules file (`<defaults>` for the built-in one).
        path: PathBuf,
        /// What is wrong, with the key and line where known.
        message: String,
    },
    /// An engagement event log could not be read.
    #[error("engagement log {path}: {message}")]
    Engagement {
        /// The log file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A suppression list could not be read.
    #[error("suppression list {path}: {message}")]
    Suppression {
        /// The list file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// DNS could not be set up (not a failed lookup: those are row data).
    #[error("DNS: {message}")]
    Dns {
        /// What could not be set up, and what to do.
        message: &'static str,
        /// What the resolver library or the runtime said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A bug or a resource the run could not get (threads); the message says which.
    #[error("internal error: {0} (please report this)")]
    Internal(String),
    /// The run was interrupted (Ctrl-C); temporary files were removed.
    #[error("interrupted; no outputs were written")]
    Interrupted,
    /// A CSV file other than the contact file could not be parsed.
    #[error("{path}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Where and what to do.
        message: String,
        /// What the CSV parser said (positions and counts, never cell contents).
        #[source]
        source: csv::Error,
    },
    /// Another run holds the output folder's lock. See: #16 item 3
    #[error(
        "{dir}: another listwash run ({}) is writing to this output folder; wait until it has finished, or give another --out-dir",
        holder(*.pid)
    )]
    OutputLocked {
        /// The output folder.
        dir: PathBuf,
        /// The holder's PID, when it could be read.
        pid: Option<u32>,
    },
    /// The output folder's lock file could not be created, opened or locked.
    #[error(
        "{path}: cannot lock the output folder; if no listwash run is using it, remove this file, or give another --out-dir"
    )]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// An output would replace one of the run's inputs. See: #16 item 2
    #[error(
        "{output}: this output would replace the {role} {input}; move that file out of the output folder, or give another --out-dir"
    )]
    OutputIsInput {
        /// The output path.
        output: PathBuf,
        /// What the input is (`input`, `engagement log`, `DNS cache`, …).
        role: String,
        /// The input as given.
        input: PathBuf,
    },
    /// `--out-dir` names something that is not a folder. See: #16 item 15
    #[error("{path}: {message}")]
    OutDir {
        /// The path given.
        path: PathBuf,
        /// What it is and what to do.
        message: String,
    },
    /// A directory stands where an output must go. See: #16 item 4
    #[error(
        "{path} is a directory, so no output of this run was published (the previous outputs are unchanged); move it away, or give another --out-dir"
    )]
    OutputBlocked {
        /// The directory.
        path: PathBuf,
    },
    /// An output could not be moved into place; the previous outputs were put back.
    #[error(
        "{path}: cannot move this run's output into place, so none was published (the previous outputs are unchanged); fix the cause and run again"
    )]
    Publish {
        /// The final path.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Publishing failed and the previous outputs could not all be put back.
    #[error(
        "{folder}: the previous outputs kept in this folder could not be put back; the next run on the output folder restores them, or move each NAME.previous back to NAME by hand"
    )]
    RestoreFailed {
        /// The run's private folder holding the previous outputs.
        folder: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// polars could not read an engagement event log. `message` is complete on its own (the
    /// file, which records, what to do); the source is polars' own error, whose text can
    /// quote the log's content.
    #[error("engagement log {path}: {message}")]
    EngagementPolars {
        /// The log file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
        /// What polars said: it may quote the log, so it is shown only with `--show-values`.
        #[source]
        source: MayQuoteData,
    },
    /// `listwash cache` could not use the domain cache (locked, not a listwash cache,
    /// corrupt, unreadable); the message names the file, says what was not done and what to do.
    #[error("{message}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// The whole message.
        message: String,
    },
    /// A profile file (`listwash profiles`, `clean --profiles`, `listwash events normalize`)
    /// could not be read, merged or written; the message names the file and says what to do.
    #[error("profiles {path}: {message}")]
    Profiles {
        /// The profile or event file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
}

/// What to do about a file that cannot be read.
fn read_hint(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::NotFound => "check the path",
        std::io::ErrorKind::PermissionDenied => "check the file's permissions",
        std::io::ErrorKind::IsADirectory => "give a file, not a folder",
        _ => "check that it is a readable file",
    }
}

/// What to do about a file or folder that cannot be written.
fn write_hint(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::NotFound => "check that the folder exists",
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            "check that you may write there"
        }
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "free some disk space or give another --out-dir"
        }
        std::io::ErrorKind::BrokenPipe => "the reader of the output went away",
        _ => "check the folder and the disk",
    }
}

/// Names the holder of an output folder's lock.
fn holder(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("PID {pid}"),
        None => "PID not yet written".into(),
    }
}

/// Short for `std::result::Result<T, listwash::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A third-party error whose message may quote the data it failed on (a cell, a record, the
/// rest of a file). It is kept as the source of an [`Error`], but printed only when the user
/// asks for values (`--show-values`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MayQuoteData(pub Box<dyn std::error::Error + Send + Sync>);
