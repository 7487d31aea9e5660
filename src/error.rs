//! The library's error type. Only problems with the run itself (input file, rules, outputs,
//! engagement logs) are errors; a bad row is data and never reaches this type.

use std::path::PathBuf;

/// Everything that can make a run fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// An output could not be written.
    #[error("{path}: cannot write: {source}")]
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
    #[error("DNS: {0}")]
    Dns(String),
    /// A bug or a resource the run could not get (threads); the message says which.
    #[error("internal error: {0} (please report this)")]
    Internal(String),
    /// The run was interrupted (Ctrl-C); temporary files were removed.
    #[error("interrupted; no outputs were written")]
    Interrupted,
    /// polars could not read an engagement event log. `message` is complete on its own (the
    /// file, which records, what to do); the source is polars' own error, whose text can
    /// quote the log's content.
    #[error("engagement log {path}: {message}")]
    EngagementPolars {
        /// The log file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
        /// What polars said.
        #[source]
        source: polars::error::PolarsError,
    },
}

/// Short for `std::result::Result<T, listwash::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
