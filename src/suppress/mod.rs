//! Suppression lists: unsubscribes, complaints and erasure requests from other systems.
//!
//! Consumes `--suppress` files: plain addresses, or MD5 / SHA-1 / SHA-256 hex digests of the
//! normalised address (trimmed, lower-cased), one per line or in a CSV with an `email` or
//! `hash` column, or a contact export whose status columns mark who the exporting service
//! unsubscribed, cleaned or suppressed (Mailchimp `UNSUB_TIME`, Klaviyo email consent,
//! HubSpot `Unsubscribed from all email`, …: only those rows are entries). Produces a [`SuppressionSet`] that answers whether an address is listed.
//! Only 128-bit keys are kept: the XXH3 key of each plain address, and the first 16 bytes of
//! each digest. Never touches the network.
//!
//! Limits (issue 16): a line longer than [`MAX_LINE_BYTES`] is an error naming its line (the
//! file is not a list: `/dev/zero`, a binary, a wrong export), as is a list with no entry at
//! all (an empty export would silently suppress nothing). A CSV list is read with one `csv`
//! reader for the whole file, not one per line.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use md5::Md5;
use rustc_hash::FxHashSet;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::columns::contacts::ContactColumns;
use crate::error::{Error, Result};
use crate::normalize::{self, Normalized};

/// The longest line a suppression list may have: 64 KiB (an address is at most 254 bytes; a
/// CSV export's other cells fit many times over).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// What one list held, for `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ListSummary {
    /// The file (a name that is not UTF-8 is written with U+FFFD in place of its bad bytes).
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub path: PathBuf,
    /// Plain addresses read.
    pub addresses: u64,
    /// MD5 digests read.
    pub md5: u64,
    /// SHA-1 digests read.
    pub sha1: u64,
    /// SHA-256 digests read.
    pub sha256: u64,
    /// Lines that were neither an address nor a digest (skipped; their line numbers first).
    pub unreadable_lines: Vec<u64>,
    /// A contact export's status columns: only rows they mark (unsubscribed, cleaned,
    /// suppressed) were taken. See: #10 part 6.
    pub status_columns: Vec<String>,
    /// Rows of such an export that no status column marks (not taken).
    pub rows_not_marked: u64,
}

/// All suppression lists of a run.
#[derive(Debug, Default)]
pub struct SuppressionSet {
    plain: FxHashSet<u128>,
    md5: FxHashSet<u128>,
    sha1: FxHashSet<u128>,
    sha256: FxHashSet<u128>,
    summaries: Vec<ListSummary>,
}

/// The first 16 bytes of a digest: the key it is stored under. For lists of millions of
/// entries the chance that two different addresses share one is below 2^-80.
fn digest_key(digest: &[u8]) -> u128 {
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(key)
}

/// Counts what one file held while it is read.
struct Counts {
    summary: ListSummary,
    unreadable: u64,
}

impl SuppressionSet {
    /// Reads every list.
    ///
    /// # Errors
    /// When a file cannot be read, holds no entry at all, or has a line longer than
    /// [`MAX_LINE_BYTES`].
    pub fn load(paths: &[PathBuf]) -> Result<SuppressionSet> {
        let mut set = SuppressionSet::default();
        for path in paths {
            set.load_one(path)?;
        }
        Ok(set)
    }

    fn load_one(&mut self, path: &Path) -> Result<()> {
        let error = |message: String| Error::Suppression {
            path: path.to_path_buf(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = BufReader::with_capacity(1 << 16, LineLimit::new(file));
        let mut counts = Counts {
            summary: ListSummary {
                path: path.to_path_buf(),
                addresses: 0,
                md5: 0,
                sha1: 0,
                sha256: 0,
                unreadable_lines: Vec::new(),
                status_columns: Vec::new(),
                rows_not_marked: 0,
            },
            unreadable: 0,
        };
        let mut line = Vec::new();
        reader
            .read_until(b'\n', &mut line)
            .map_err(|e| error(read_failure(&e, 1)))?;
        let first = line_text(&line, 1).map_err(error)?;
        let first = first.trim_start_matches('\u{feff}');
        // A CSV header names the column; a bare value on line 1 is data.
        let delimiter = crate::columns::sniff_delimiter(first.as_bytes());
        let cells = split_csv_line(first, delimiter);
        let column = crate::columns::find_known(&cells, &crate::columns::SUPPRESSION_ENTRY);
        // A contact export given as a list: its status columns say which rows are entries.
        let status = ContactColumns::find(&cells, None);
        let status = status.has_status().then_some(status);
        if let Some(status) = &status {
            counts.summary.status_columns = status
                .status_names()
                .into_iter()
                .map(String::from)
                .collect();
        }
        match column {
            Some(column) => self
                .read_csv(reader, column, delimiter, status.as_ref(), &mut counts)
                .map_err(error)?,
            None if cells.len() > 1 => {
                // No header: line 1 is data when one of its cells is an entry, and that cell's
                // column holds the entries (a headerless CSV export). Reading whole lines
                // would store `a@example.com,unsubscribed` as an entry that never matches.
                let Some(column) = cells
                    .iter()
                    .position(|c| c.contains('@') || is_hex_digest(c.trim()))
                else {
                    return Err(error(format!(
                        "line 1 has {} columns and none is named `email` or `hash`; name the \
                         address column `email` (or the digest column `hash`)",
                        cells.len()
                    )));
                };
                self.add_value(&cells[column], 1, &mut counts);
                self.read_csv(reader, column, delimiter, None, &mut counts)
                    .map_err(error)?;
            }
            None => {
                self.add_value(first, 1, &mut counts);
                self.read_lines(reader, &mut line, &mut counts)
                    .map_err(error)?;
            }
        }
        let summary = counts.summary;
        let read = summary.addresses + summary.md5 + summary.sha1 + summary.sha256;
        if read == 0 && counts.unreadable > 0 {
            return Err(error(
                "no line holds an address or an MD5/SHA-1/SHA-256 hex digest".into(),
            ));
        }
        if read == 0 && summary.rows_not_marked > 0 {
            return Err(error(format!(
                "is a contact export whose status columns ({}) mark no row as unsubscribed, \
                 cleaned or suppressed; give the export of unsubscribed or cleaned contacts, \
                 or leave this --suppress out",
                summary
                    .status_columns
                    .iter()
                    .map(|c| crate::columns::escape(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if read == 0 {
            // See: #16 item 16. An empty export would suppress nothing, silently.
            return Err(error(
                "holds no entries (the file is empty, or has only a header, blank lines or \
                 comments); check the export, or leave this --suppress out"
                    .into(),
            ));
        }
        self.summaries.push(summary);
        Ok(())
    }

    /// A list of one value per line (line 1 already read).
    fn read_lines(
        &mut self,
        mut reader: impl BufRead,
        line: &mut Vec<u8>,
        counts: &mut Counts,
    ) -> std::result::Result<(), String> {
        let mut line_number = 1u64;
        loop {
            line_number += 1;
            line.clear();
            match reader.read_until(b'\n', line) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(read_failure(&e, line_number)),
            }
            let text = line_text(line, line_number)?;
            self.add_value(text, line_number, counts);
        }
    }

    /// A CSV list whose header (line 1, already read) names the entry column.
    fn read_csv(
        &mut self,
        reader: impl Read,
        column: usize,
        delimiter: u8,
        status: Option<&ContactColumns>,
        counts: &mut Counts,
    ) -> std::result::Result<(), String> {
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut record = csv::ByteRecord::new();
        loop {
            let read = csv.read_byte_record(&mut record);
            // The csv reader counts lines from the second line of the file.
            let line_number = record.position().map_or(0, |p| p.line()) + 1;
            match read {
                Ok(false) => return Ok(()),
                Ok(true) => {}
                Err(e) => {
                    let line_number = csv.position().line() + 1;
                    return Err(match e.into_kind() {
                        csv::ErrorKind::Io(e) => read_failure(&e, line_number),
                        _ => format!("line {line_number}: not readable as CSV"),
                    });
                }
            }
            let Some(cell) = record.get(column) else {
                continue;
            };
            if let Some(status) = status {
                let text = |i: usize| {
                    record
                        .get(i)
                        .and_then(|c| std::str::from_utf8(c).ok())
                        .unwrap_or_default()
                };
                if status.status(text).is_none() {
                    if !text(column).trim().is_empty() {
                        counts.summary.rows_not_marked += 1;
                    }
                    continue;
                }
            }
            let text = line_text(cell, line_number)?;
            self.add_value(text, line_number, counts);
        }
    }

    /// Adds one cell or line; blank ones and `#` comments are skipped, others that are
    /// neither an address nor a digest are counted as unreadable.
    fn add_value(&mut self, value: &str, line_number: u64, counts: &mut Counts) {
        let value = value.trim();
        if value.is_empty() || value.starts_with('#') {
            return;
        }
        if self.insert(value, &mut counts.summary) {
            return;
        }
        counts.unreadable += 1;
        if counts.summary.unreadable_lines.len() < 10 {
            counts.summary.unreadable_lines.push(line_number);
        }
    }

    /// Adds one entry; returns false if it is neither an address nor a digest.
    fn insert(&mut self, value: &str, summary: &mut ListSummary) -> bool {
        if value.contains('@') {
            return match normalize::normalize(value) {
                Some(n) => {
                    self.plain.insert(n.key());
                    summary.addresses += 1;
                    true
                }
                None => false,
            };
        }
        let mut digest = [0u8; 32];
        let length = value.len() / 2;
        if !matches!(value.len(), 32 | 40 | 64)
            || hex::decode_to_slice(value, &mut digest[..length]).is_err()
        {
            return false;
        }
        let key = digest_key(&digest);
        match length {
            16 => {
                self.md5.insert(key);
                summary.md5 += 1;
            }
            20 => {
                self.sha1.insert(key);
                summary.sha1 += 1;
            }
            _ => {
                self.sha256.insert(key);
                summary.sha256 += 1;
            }
        }
        true
    }

    /// Returns true if and only if no list was given.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty()
            && self.md5.is_empty()
            && self.sha1.is_empty()
            && self.sha256.is_empty()
    }

    /// What each list held.
    pub fn summaries(&self) -> &[ListSummary] {
        &self.summaries
    }

    /// Which kind of entry lists `address` (`raw` is the cell as written), if any.
    pub fn matches(&self, raw: &str, address: &Normalized) -> Option<&'static str> {
        if self.plain.contains(&address.key()) {
            return Some("address");
        }
        if self.md5.is_empty() && self.sha1.is_empty() && self.sha256.is_empty() {
            return None;
        }
        // Lists are hashed by other systems from the trimmed, lower-cased address; try that
        // form and our IDNA form where they differ.
        let simple = normalize::trim(raw).to_lowercase();
        let forms: &[&str] = if simple == address.as_str() {
            &[address.as_str()]
        } else {
            &[address.as_str(), &simple]
        };
        for form in forms {
            if !self.md5.is_empty()
                && self
                    .md5
                    .contains(&digest_key(&Md5::digest(form.as_bytes())))
            {
                return Some("MD5 digest");
            }
            if !self.sha1.is_empty()
                && self
                    .sha1
                    .contains(&digest_key(&Sha1::digest(form.as_bytes())))
            {
                return Some("SHA-1 digest");
            }
            if !self.sha256.is_empty()
                && self
                    .sha256
                    .contains(&digest_key(&Sha256::digest(form.as_bytes())))
            {
                return Some("SHA-256 digest");
            }
        }
        None
    }
}

fn is_hex_digest(value: &str) -> bool {
    matches!(value.len(), 32 | 40 | 64) && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One line or cell as text (UTF-8, without its line end).
fn line_text(bytes: &[u8], line_number: u64) -> std::result::Result<&str, String> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    std::str::from_utf8(bytes)
        .map_err(|_| format!("line {line_number}: not UTF-8 text (save the list as UTF-8 text)"))
}

/// The message for a failed read: an over-long line names the line, with the limit.
fn read_failure(error: &std::io::Error, line_number: u64) -> String {
    if let Some(LineTooLong { line }) = error.get_ref().and_then(|e| e.downcast_ref()) {
        return format!(
            "line {line} is longer than {} KiB, the limit for a line of a suppression list; \
             a list holds one address or digest per line (is this the right file?)",
            MAX_LINE_BYTES / 1024
        );
    }
    let hint = match error.kind() {
        std::io::ErrorKind::IsADirectory => "give the list file inside this folder",
        std::io::ErrorKind::InvalidData => "check that it is a text file",
        _ => "check that the file is complete and readable",
    };
    format!("line {line_number}: cannot read ({hint}): {error}")
}

/// Splits one line of a simple CSV (quotes honoured, no embedded newlines). Used for line 1.
fn split_csv_line(line: &str, delimiter: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(String::from).collect(),
        _ => vec![line.to_string()],
    }
}

/// An over-long line, raised by [`LineLimit`].
#[derive(Debug)]
struct LineTooLong {
    line: u64,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} is longer than {MAX_LINE_BYTES} bytes",
            self.line
        )
    }
}

impl std::error::Error for LineTooLong {}

/// Passes bytes through, failing once a line grows past [`MAX_LINE_BYTES`]: neither the line
/// reader nor the CSV reader then holds more than that of one line.
struct LineLimit<R> {
    inner: R,
    /// Bytes of the current line so far.
    run: usize,
    /// The current line's number.
    line: u64,
}

impl<R> LineLimit<R> {
    fn new(inner: R) -> LineLimit<R> {
        LineLimit {
            inner,
            run: 0,
            line: 1,
        }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &buf[..n]) {
            self.check(end - start)?;
            self.run = 0;
            self.line += 1;
            start = end + 1;
        }
        self.check(n - start)?;
        self.run += n - start;
        Ok(n)
    }
}

impl<R> LineLimit<R> {
    fn check(&self, more: usize) -> std::io::Result<()> {
        if self.run.saturating_add(more) > MAX_LINE_BYTES {
            return Err(std::io::Error::other(LineTooLong { line: self.line }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
