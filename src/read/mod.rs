//! Reading the contact file: decompression, encoding, dialect, header, records in batches.
//!
//! Consumes a path or standard input; produces the header and [`Batch`]es of whole records.
//! [`Input::read_chunk`] (one thread, cheap) cuts the decoded text at record boundaries;
//! [`Batch::parse`] (any thread) splits it into rows, each with its line number, or
//! [`Rejected`] records. Never judges addresses.
//!
//! One job per file: `source` opens the byte stream (gzip, encoding, file watch), `input`
//! holds what was found, `header` finds the columns, `contacts` plans the signup, vendor status
//! and consent columns (and reads ahead once to decide the date columns' day/month order),
//! `cut` cuts the text into batches, `batch` parses a batch into rows and rejected records,
//! `split` splits one record into fields.
//! Column names, delimiter sniffing and record boundaries come from the crate's `columns`
//! module, shared with the other readers.

mod batch;
pub mod contacts;
mod cut;
mod header;
mod input;
pub(crate) mod source;
mod split;
#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

use crate::error::Error;

pub use batch::{Batch, Item, Row};
pub use contacts::ContactPlan;
pub use input::Input;

/// The size of the batches [`Input::read_batch`] callers use unless they have a reason not
/// to: about 5,000 rows of a typical export, small enough to keep memory flat and both cores
/// busy, large enough to make per-batch costs vanish.
pub const BATCH_BYTES: usize = 1 << 20;

/// Where the contacts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    /// A file (plain or gzip-compressed).
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl InputSource {
    /// The name used in messages.
    pub fn display_path(&self) -> PathBuf {
        match self {
            InputSource::Path(p) => p.clone(),
            InputSource::Stdin => PathBuf::from("-"),
        }
    }
}

/// How the input was read, for the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dialect {
    /// The text encoding detected (`UTF-8`, `UTF-16LE`, `windows-1252`, …).
    pub encoding: &'static str,
    /// The input started with a byte-order mark.
    pub bom: bool,
    /// The input was gzip-compressed.
    pub gzip: bool,
    /// The field delimiter, as a string.
    pub delimiter: String,
    /// The header's name of the address column.
    pub email_column: String,
    /// The header's name of the signup date column, if any.
    pub signup_column: Option<String>,
}

/// Read settings.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// `--email-column`: the address column's header name.
    pub email_column: Option<String>,
    /// `--signup-column`: the signup date column's header name.
    pub signup_column: Option<String>,
    /// Records with a longer field are rejected.
    pub max_field_bytes: usize,
    /// `--date-order`: how to read signup dates whose values do not settle the day/month
    /// order (`None`: day first).
    pub date_order: Option<crate::dates::DateOrder>,
    /// `--require-consent`: rows without consent evidence go to review (`no_consent`).
    pub require_consent: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            email_column: None,
            signup_column: None,
            max_field_bytes: 1 << 20,
            date_order: None,
            require_consent: false,
        }
    }
}

/// What every record of an input must look like, and how to split it.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The header's number of fields.
    pub width: usize,
    /// The field delimiter.
    pub delimiter: u8,
    /// Records with a longer field are rejected.
    pub max_field_bytes: usize,
}

impl Shape {
    /// The longest text a readable row can have: every field at the size limit, each byte a
    /// doubled quote, quoted, with delimiters. A longer record (an unterminated quote, binary
    /// junk without line ends) is rejected whatever it holds, so the reader need not hold it.
    pub fn longest_record(&self) -> usize {
        self.width
            .saturating_mul(self.max_field_bytes.saturating_mul(2).saturating_add(3))
    }
}

/// A record that could not be read as a row.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The record's first physical line.
    pub line: u64,
    /// Why.
    pub error: String,
    /// The record's text as read (lossy UTF-8, NUL shown as U+FFFD, cut at 64 KiB).
    pub raw: String,
}

fn input_error(path: &Path, message: &str) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn read_error(path: &Path, e: io::Error, gzip: bool) -> Error {
    if gzip
        && matches!(
            e.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
        )
    {
        return input_error(
            path,
            &format!("corrupt gzip data ({e}); re-export or re-compress the file"),
        );
    }
    Error::Read {
        path: path.to_path_buf(),
        source: e,
    }
}
