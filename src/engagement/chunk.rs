//! Cutting a CSV event log into chunks of whole records for polars.
//!
//! Consumes a log's decompressed text ([`CsvStream`]); produces [`Chunk`]s (the header line,
//! then whole records cut at boundaries found with [`crate::columns`]: `\n`, `\r\n` or `\r`
//! outside quotes), each with the lines and bytes it covers, and turns a chunk into a polars
//! frame. Fails, naming a line and byte offset and no cell, on a quote never closed, and on a
//! file that changed while it was read. Never parses cells.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::fold::ROW_INDEX;
use super::inspect::{CsvStream, csv_schema, engagement_error, read_error};
use crate::columns::{self, QuoteTracker};
use crate::error::Result;

/// CSV logs are handed to polars in chunks of about this many bytes, cut at record
/// boundaries. Given a path, polars 0.55 memory-maps the whole file, and every page it has
/// parsed stays in the process's resident set until the end (1.2 GB for a 1.2 GB log).
pub(super) const CSV_CHUNK_BYTES: usize = 16 << 20;

/// A piece of a CSV log for polars: the header line, then whole records.
#[derive(Debug)]
pub(super) struct Chunk {
    /// The text.
    pub(super) bytes: Vec<u8>,
    /// The physical line of its first record.
    first_line: u64,
    /// The physical lines its records span.
    lines: u64,
    /// The byte offset of its first record in the (decompressed) log.
    offset: u64,
    /// Bytes of records (without the header line).
    len: usize,
}

impl Chunk {
    /// Where the chunk's records are, for a message: lines and byte offsets, no content.
    pub(super) fn place(&self) -> String {
        let last = self.first_line + self.lines.max(1) - 1;
        format!(
            "lines {}-{last} (bytes {}-{})",
            self.first_line,
            self.offset,
            self.offset + self.len as u64
        )
    }

    /// The chunk as a lazy frame with a row index: `width` text columns, named by listwash
    /// ([`csv_schema`]), the header line skipped.
    pub(super) fn frame(self, separator: u8, width: usize) -> PolarsResult<LazyFrame> {
        LazyCsvReader::new_with_sources(ScanSources::Buffers(Arc::from(vec![self.bytes.into()])))
            .with_has_header(true)
            .with_schema(Some(csv_schema(width)))
            .with_separator(separator)
            .with_truncate_ragged_lines(true)
            .with_encoding(CsvEncoding::LossyUtf8)
            .with_row_index(Some(RowIndex {
                name: ROW_INDEX.into(),
                offset: 0,
            }))
            .finish()
    }
}

/// Reads `reader` into `data` until it holds `want` bytes or the text ends. Returns true at
/// the end of the text.
fn fill(reader: &mut impl Read, data: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    while data.len() < want {
        let before = data.len();
        let read = (&mut *reader)
            .take((want - before) as u64)
            .read_to_end(data)?;
        if read == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Cuts a CSV log into chunks of whole records, each with the header line, and hands them to
/// `chunk` in order until it returns false. A log whose lines end with `\r` alone (old Mac
/// exports) is handed over with `\n` instead, as polars reads only `\n` and `\r\n`.
///
/// # Errors
/// The log cannot be read, ends inside a quoted field, or changed while it was read.
pub(super) fn csv_chunks(
    path: &Path,
    stream: &mut CsvStream,
    separator: u8,
    chunk_bytes: usize,
    mut chunk: impl FnMut(Chunk) -> bool,
) -> Result<()> {
    let mut at_end = false;
    let mut read_more = |data: &mut Vec<u8>, want: usize, at_end: &mut bool| -> Result<()> {
        *at_end = fill(&mut stream.reader, data, want).map_err(|e| read_error(path, &e))?;
        if *at_end && let Some(what) = stream.changed() {
            return Err(engagement_error(
                path,
                format!(
                    "the file {what}: another program wrote to it; run again once the log is complete (or work on a copy)"
                ),
            ));
        }
        Ok(())
    };
    let mut data = Vec::with_capacity(1 << 16);
    let header_end = loop {
        if let Some(end) = columns::first_record_end(&data, separator, at_end) {
            break end;
        }
        if at_end {
            break data.len();
        }
        let want = data.len() + (1 << 16);
        read_more(&mut data, want, &mut at_end)?;
    };
    let cr_only = data[..header_end].ends_with(b"\r");
    let line_end = if cr_only { b'\r' } else { b'\n' };
    let mut header = data[..header_end].to_vec();
    if cr_only {
        to_newlines(&mut header);
    }
    let mut line = 1 + memchr::memchr_iter(line_end, &data[..header_end]).count() as u64;
    let mut offset = header_end as u64;
    let mut carry = data.split_off(header_end);
    loop {
        let mut bytes = Vec::with_capacity(header.len() + chunk_bytes + (1 << 16));
        bytes.extend_from_slice(&header);
        bytes.append(&mut carry);
        let mut target = header.len() + chunk_bytes;
        let end = loop {
            if !at_end && bytes.len() < target {
                read_more(&mut bytes, target, &mut at_end)?;
            }
            if at_end && bytes.len() <= target {
                break bytes.len();
            }
            let stretch = &bytes[header.len()..target.min(bytes.len())];
            match columns::last_record_end(stretch, separator, false) {
                Some(end) => break header.len() + end,
                // A record longer than a chunk: read on.
                None => target += chunk_bytes,
            }
        };
        carry = bytes.split_off(end);
        let last = at_end && carry.is_empty();
        let body = &bytes[header.len()..];
        if last {
            unterminated(path, body, separator, line, offset)?;
        }
        let breaks = memchr::memchr_iter(line_end, body).count() as u64;
        let lines = breaks + u64::from(!body.is_empty() && !body.ends_with(&[line_end]));
        let len = body.len();
        if cr_only {
            to_newlines(&mut bytes[header.len()..]);
        }
        let piece = Chunk {
            bytes,
            first_line: line,
            lines,
            offset,
            len,
        };
        if len > 0 && !chunk(piece) {
            return Ok(());
        }
        if last {
            return Ok(());
        }
        line += breaks;
        offset += len as u64;
    }
}

/// Fails when the last records of a log, `body` (starting at `line`, byte `offset`), end
/// inside a quoted field: polars would read the rest of the file as one field and quote it
/// in its message. The message names the record's line and byte offset, never its text.
// See: #16 item 7
fn unterminated(path: &Path, body: &[u8], separator: u8, line: u64, offset: u64) -> Result<()> {
    let mut quotes = QuoteTracker::new(separator);
    quotes.feed(body);
    if !quotes.in_quotes() {
        return Ok(());
    }
    let start = columns::last_record_end(body, separator, true).unwrap_or(0);
    let line_end = if memchr::memchr(b'\n', body).is_some() {
        b'\n'
    } else {
        b'\r'
    };
    let at = line + memchr::memchr_iter(line_end, &body[..start]).count() as u64;
    Err(engagement_error(
        path,
        format!(
            "line {at} (byte {}): a quoted field opened in this record is never closed, so the rest of the file would be one field; fix or remove the stray `\"` there and run again",
            offset + start as u64
        ),
    ))
}

/// Turns `\r` line ends into `\n` (a log whose lines end with `\r` alone).
fn to_newlines(text: &mut [u8]) {
    for byte in text.iter_mut().filter(|b| **b == b'\r') {
        *byte = b'\n';
    }
}

#[cfg(test)]
mod tests {
    use super::super::inspect::{Source, inspect};
    use super::*;

    /// The chunks of the log at `path`, cut at about `size` bytes.
    fn chunks(path: &Path, size: usize) -> Result<Vec<Chunk>> {
        let (file, source) = inspect(path, &crate::engagement::EventOptions::default())?;
        let Source::Csv(mut stream) = source else {
            panic!("not a CSV log");
        };
        let super::super::inspect::Format::Csv { separator, .. } = file.format else {
            panic!("not a CSV log");
        };
        let mut all = Vec::new();
        csv_chunks(path, &mut stream, separator, size, |chunk| {
            all.push(chunk);
            true
        })?;
        Ok(all)
    }

    #[test]
    fn small_chunks_cut_at_record_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quoted.csv");
        let mut text = String::from("email,event,timestamp,note\n");
        for i in 0..50 {
            text.push_str(&format!(
                "u{i}@example.com,open,2024-01-{:02},\"a\nquoted, \"\"line\"\"\"\n",
                i % 28 + 1
            ));
        }
        std::fs::write(&path, &text).unwrap();
        let mut body = Vec::new();
        let all = chunks(&path, 100).unwrap();
        for chunk in &all {
            let (header, rest) = chunk.bytes.split_at(27);
            assert_eq!(header, b"email,event,timestamp,note\n");
            assert!(rest.ends_with(b"\"\n"));
            body.extend_from_slice(rest);
        }
        assert!(all.len() > 10);
        assert_eq!(body, text.as_bytes()[27..]);
        assert_eq!(all[0].place(), "lines 2-3 (bytes 27-79)");
    }

    #[test]
    fn cr_only_logs_reach_polars_with_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mac.csv");
        std::fs::write(
            &path,
            "email,event,timestamp\ra@x.io,open,2024-01-02\r\"b@x.io\",open,2024-01-03\r",
        )
        .unwrap();
        let all = chunks(&path, 20).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[1].bytes,
            b"email,event,timestamp\n\"b@x.io\",open,2024-01-03\n"
        );
        assert_eq!(all[1].place(), "lines 3-3 (bytes 45-70)");
    }

    // See: #16 item 7
    #[test]
    fn an_unterminated_quote_names_its_line_not_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stray.csv");
        let mut text = String::from("email,event,timestamp\r\n");
        for i in 0..2_000 {
            let event = if i == 5 { "\"open" } else { "open" };
            text.push_str(&format!("u{i}@example.com,{event},2024-01-02\r\n"));
        }
        std::fs::write(&path, &text).unwrap();
        for size in [64, CSV_CHUNK_BYTES] {
            let message = chunks(&path, size).unwrap_err().to_string();
            assert!(
                message.contains("line 7 (byte ") && message.contains("never closed"),
                "{message}"
            );
            assert!(!message.contains('@') && message.len() < 400, "{message}");
        }
    }

    // See: #16 item 6
    #[test]
    fn a_log_truncated_while_it_is_read_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.csv");
        let mut text = String::from("email,event,timestamp\n");
        for i in 0..20_000 {
            text.push_str(&format!("u{i}@example.com,open,2024-01-02\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let (_, source) = inspect(&path, &crate::engagement::EventOptions::default()).unwrap();
        let Source::Csv(mut stream) = source else {
            panic!("not a CSV log");
        };
        // Another program truncates the log after it was opened.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(text.len() as u64 / 2)
            .unwrap();
        let message = csv_chunks(&path, &mut stream, b',', 4096, |_| true)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("events.csv") && message.contains("truncated while it was read"),
            "{message}"
        );
    }
}
