//! Parsing a batch: its text, cut at record boundaries, into rows and rejected records.
//!
//! Consumes a [`Batch`]'s text (whole records, decoded to UTF-8) and the input's [`Shape`];
//! produces its rows (fields as byte ranges, each with its line number) and [`Rejected`]
//! records with the reason. Runs on any thread; never reads the input, never judges addresses.

use std::ops::Range;

use super::split::{Searcher, Simple, prime, read_record_into, record_reader, split_simple};
use super::{Rejected, Shape};

/// A record longer than any row could be.
#[derive(Debug, Clone, Copy)]
pub(super) struct Overlong {
    /// Its length in bytes.
    pub(super) bytes: u64,
    /// It ran to the end of the input inside a quoted field.
    pub(super) unterminated: bool,
}

/// Where one record of a [`Batch`] is.
#[derive(Debug, Clone)]
struct Record {
    line: u64,
    /// The record's text in [`Batch::text`], without line ends.
    raw: Range<usize>,
    /// Where its first field starts in the batch's field bytes.
    first: usize,
    /// Its fields' ends (offsets into the field bytes) in the batch's ends.
    ends: Range<usize>,
    /// Index into the batch's rejected records, for a record that is not a row.
    rejected: Option<usize>,
}

/// A run of whole records: the text as read (decoded to UTF-8), cut from the input by
/// [`Input::read_chunk`](super::Input::read_chunk), and once [`Batch::parse`]d, its rows and rejected records.
///
/// Reading only finds where records end (a quote-aware `memchr` scan); parsing, the costly
/// part, runs on any thread, so batches are parsed in parallel. A batch owns all its buffers
/// and reuses them when read into again: parsing allocates nothing per row.
#[derive(Debug, Default)]
pub struct Batch {
    pub(super) text: Vec<u8>,
    /// The physical line of `text[0]`.
    pub(super) first_line: u64,
    /// The offset in the decoded stream just past this batch.
    pub(super) end_offset: u64,
    /// The input ended inside a quoted field: the last record's quote is never closed.
    pub(super) unterminated: bool,
    /// The batch is the start of one record too long to be a row, skipped without being held
    /// in memory (see [`Input::read_chunk`]).
    pub(super) overlong: Option<Overlong>,
    /// Unescaped field bytes of every record, back to back.
    field_bytes: Vec<u8>,
    ends: Vec<usize>,
    records: Vec<Record>,
    rejected: Vec<Rejected>,
    /// The csv parser and its delimiter, kept for the next parse (building one costs more
    /// than a small batch).
    parser: Option<(u8, csv_core::Reader)>,
}

/// One record of a batch, in input order.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// A readable row.
    Row(Row<'a>),
    /// A record that goes to `rejected.csv`.
    Rejected(&'a Rejected),
}

/// A record read as a row of the input's shape: every field valid UTF-8.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The record's first physical line (1 is the header).
    pub line: u64,
    raw: &'a [u8],
    bytes: &'a [u8],
    first: usize,
    ends: &'a [usize],
}

impl<'a> Row<'a> {
    /// The number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Returns true if and only if the row has no fields (never, for a parsed row).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i`, unescaped.
    pub fn field(&self, i: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(i)?;
        let start = match i {
            0 => self.first,
            _ => self.ends[i - 1],
        };
        self.bytes.get(start..end)
    }

    /// Field `i` as text (rows are valid UTF-8); empty when the row has no such field.
    pub fn text(&self, i: usize) -> &'a str {
        self.field(i)
            .and_then(|f| std::str::from_utf8(f).ok())
            .unwrap_or("")
    }

    /// Every field, unescaped.
    pub fn fields(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let (bytes, ends) = (self.bytes, self.ends);
        let mut start = self.first;
        ends.iter().map(move |&end| {
            let field = bytes.get(start..end).unwrap_or_default();
            start = end;
            field
        })
    }

    /// The record's text as read, without its line end (for writing it back unchanged).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

impl Batch {
    /// The records, in input order.
    pub fn items(&self) -> impl Iterator<Item = Item<'_>> {
        self.records.iter().map(|r| match r.rejected {
            Some(i) => Item::Rejected(&self.rejected[i]),
            None => Item::Row(self.row(r)),
        })
    }

    /// The readable rows, in input order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.records
            .iter()
            .filter(|r| r.rejected.is_none())
            .map(|r| self.row(r))
    }

    /// The number of records (rows and rejected).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Returns true if and only if the batch has no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The number of bytes of text in the batch.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The offset in the decoded input just past this batch.
    pub fn end_offset(&self) -> u64 {
        self.end_offset
    }

    fn row(&self, r: &Record) -> Row<'_> {
        Row {
            line: r.line,
            raw: self.text.get(r.raw.clone()).unwrap_or_default(),
            bytes: &self.field_bytes,
            first: r.first,
            ends: self.ends.get(r.ends.clone()).unwrap_or_default(),
        }
    }

    /// A batch of one record, `raw` (its text without the line end), read at line `line`:
    /// for callers that kept a row's text aside (`--sample`) and read it again later.
    /// [`Batch::parse`] it before use.
    pub fn of_record(line: u64, raw: &[u8]) -> Batch {
        let mut text = Vec::with_capacity(raw.len() + 1);
        text.extend_from_slice(raw);
        text.push(b'\n');
        Batch {
            text,
            first_line: line,
            ..Batch::default()
        }
    }

    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.records.clear();
        self.rejected.clear();
        self.unterminated = false;
        self.overlong = None;
    }

    /// Splits the batch's text into records and checks each against `shape`: rows, or
    /// rejected records with the reason. The text holds whole records only, so this needs
    /// nothing from other batches and may run on any thread.
    pub fn parse(&mut self, shape: &Shape) {
        self.records.clear();
        self.rejected.clear();
        if let Some(overlong) = self.overlong {
            self.reject_overlong(overlong, shape);
            return;
        }
        // Unescaping only ever drops bytes: the field bytes never outgrow the text.
        let n = self.text.len();
        if self.field_bytes.len() < n + 1 {
            self.field_bytes.resize(n + 1, 0);
        }
        if self.ends.len() < shape.width + 1 {
            self.ends.resize(shape.width + 1, 0);
        }
        let mut reader = match self.parser.take() {
            Some((delimiter, mut reader)) if delimiter == shape.delimiter => {
                reader.reset();
                prime(&mut reader);
                reader
            }
            _ => record_reader(shape.delimiter),
        };
        let search = Searcher::new(shape.delimiter);
        // Unescaping never makes a NUL: without one in the text, no record has one.
        let nul = memchr::memchr(0, &self.text).is_some();
        let (mut pos, mut out, mut nends) = (0usize, 0usize, 0usize);
        let mut line = self.first_line;
        loop {
            // Blank lines and line ends between records (csv skips them too).
            while pos < n && matches!(self.text[pos], b'\n' | b'\r') {
                line += u64::from(self.text[pos] == b'\n');
                pos += 1;
            }
            if pos == n {
                break;
            }
            let (start, first, first_end) = (pos, out, nends);
            let lines_before = reader.line();
            let simple = split_simple(
                &self.text[pos..],
                shape.delimiter,
                &search,
                &mut self.field_bytes,
                &mut out,
                &mut self.ends,
                &mut nends,
            );
            let mut newlines = 0;
            match simple {
                Some(Simple { len, quoted }) => {
                    if quoted {
                        newlines = count_newlines(&self.text[pos..pos + len]);
                    }
                    pos += len;
                }
                None => {
                    // Anything unusual: the csv parser proper, from the record's start.
                    (out, nends) = (first, first_end);
                    let (nin, _) = read_record_into(
                        &mut reader,
                        &self.text[pos..],
                        &mut self.field_bytes,
                        &mut out,
                        &mut self.ends,
                        &mut nends,
                    );
                    pos += nin;
                }
            }
            let consumed = &self.text[start..pos];
            let trail = consumed
                .iter()
                .rev()
                .take_while(|b| matches!(b, b'\n' | b'\r'))
                .count();
            let record = Record {
                line,
                raw: start..pos - trail,
                first,
                ends: first_end..nends,
                rejected: None,
            };
            line += reader.line() - lines_before + newlines as u64;
            let last = pos >= n;
            let problem = self.problem(&record, shape, self.unterminated && last, nul);
            let record = match problem {
                None => record,
                Some(problem) => {
                    self.rejected.push(Rejected {
                        line: record.line,
                        error: problem.to_string(),
                        raw: raw_text(&self.text[record.raw.clone()]),
                    });
                    Record {
                        rejected: Some(self.rejected.len() - 1),
                        ..record
                    }
                }
            };
            self.records.push(record);
        }
        self.parser = Some((shape.delimiter, reader));
    }

    /// The one record of an [`Overlong`] batch, rejected; the text holds its start only.
    fn reject_overlong(&mut self, overlong: Overlong, shape: &Shape) {
        let lead = self
            .text
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .count();
        let line = self.first_line + memchr::memchr_iter(b'\n', &self.text[..lead]).count() as u64;
        let problem = if overlong.unterminated {
            RecordProblem::Unterminated
        } else {
            RecordProblem::overlong(overlong.bytes, shape)
        };
        self.rejected.push(Rejected {
            line,
            error: problem.to_string(),
            raw: raw_text(&self.text[lead..]),
        });
        self.records.push(Record {
            line,
            raw: lead..self.text.len(),
            first: 0,
            ends: 0..0,
            rejected: Some(0),
        });
    }

    /// Why a record cannot be read as a row, if it cannot. `nul`: the batch's text has a NUL
    /// byte somewhere (else no record is searched for one).
    fn problem(
        &self,
        record: &Record,
        shape: &Shape,
        unterminated: bool,
        nul: bool,
    ) -> Option<RecordProblem> {
        let ends = &self.ends[record.ends.clone()];
        let bytes = self
            .field_bytes
            .get(record.first..ends.last().copied().unwrap_or(record.first))
            .unwrap_or_default();
        if unterminated {
            // The record's `line` says where; the rest of the file would be this one field.
            return Some(RecordProblem::Unterminated);
        }
        let length = record.raw.len();
        if length > shape.longest_record() {
            return Some(RecordProblem::overlong(length as u64, shape));
        }
        if ends.len() != shape.width {
            return Some(RecordProblem::FieldCount {
                found: ends.len(),
                width: shape.width,
            });
        }
        let mut start = record.first;
        for (i, &end) in ends.iter().enumerate() {
            if end - start > shape.max_field_bytes {
                return Some(RecordProblem::LongField {
                    field: i + 1,
                    bytes: end - start,
                    limit: shape.max_field_bytes,
                });
            }
            start = end;
        }
        if nul && memchr::memchr(0, bytes).is_some() {
            return Some(RecordProblem::Nul);
        }
        if !bytes.is_ascii() && !is_utf8(&self.field_bytes, record.first, ends) {
            return Some(RecordProblem::InvalidUtf8);
        }
        None
    }
}

/// The line ends in a record's text (a few hundred bytes): counted in byte lanes, 255 bytes at
/// a time, which LLVM vectorises; memchr's counter is made for long texts and costs several
/// times more on a record.
fn count_newlines(text: &[u8]) -> usize {
    text.chunks(255)
        .map(|chunk| {
            let n = chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'));
            usize::from(n)
        })
        .sum()
}

/// Why a record cannot be read as a row; its text is the `error` column of `rejected.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordProblem {
    /// The input ended inside a quoted field.
    Unterminated,
    /// The record is longer than any row of the shape could be.
    Overlong {
        /// Its length.
        bytes: u64,
        /// The header's number of fields.
        width: usize,
        /// The field size limit.
        limit: usize,
    },
    /// Not as many fields as the header.
    FieldCount {
        /// The record's fields.
        found: usize,
        /// The header's fields.
        width: usize,
    },
    /// A field over the size limit.
    LongField {
        /// Its 1-based position.
        field: usize,
        /// Its length.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A NUL byte.
    Nul,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
}

impl RecordProblem {
    fn overlong(bytes: u64, shape: &Shape) -> RecordProblem {
        RecordProblem::Overlong {
            bytes,
            width: shape.width,
            limit: shape.max_field_bytes,
        }
    }
}

impl std::fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            RecordProblem::Unterminated => f.write_str("a quoted field is never closed"),
            RecordProblem::Overlong {
                bytes,
                width,
                limit,
            } => write!(
                f,
                "the record is {bytes} bytes, more than {width} fields within the limit of {limit} bytes can be"
            ),
            RecordProblem::FieldCount { found, width } => {
                write!(f, "{found} fields, but the header has {width}")
            }
            RecordProblem::LongField {
                field,
                bytes,
                limit,
            } => write!(
                f,
                "field {field} is {bytes} bytes, over the limit of {limit} bytes"
            ),
            RecordProblem::Nul => f.write_str("NUL byte in the record"),
            RecordProblem::InvalidUtf8 => f.write_str("invalid UTF-8 in the record"),
        }
    }
}

/// Returns true if and only if every field is valid UTF-8 (a character may not span fields).
fn is_utf8(bytes: &[u8], first: usize, ends: &[usize]) -> bool {
    let all = bytes
        .get(first..ends.last().copied().unwrap_or(first))
        .unwrap_or_default();
    // Valid as a whole, and no field starts inside a character (with a continuation byte).
    let starts = std::iter::once(first).chain(ends.iter().copied());
    simdutf8::basic::from_utf8(all).is_ok()
        && starts.zip(ends).all(|(start, &end)| {
            bytes
                .get(start..end)
                .and_then(<[u8]>::first)
                .is_none_or(|&b| (b & 0xC0) != 0x80)
        })
}

/// Bytes of a rejected record's text kept in `rejected.csv`.
pub(super) const RAW_LIMIT: usize = 64 * 1024;

fn raw_text(raw: &[u8]) -> String {
    let mut text =
        String::from_utf8_lossy(&raw[..raw.len().min(RAW_LIMIT + 4)]).replace('\0', "\u{fffd}");
    if raw.len() > RAW_LIMIT {
        let mut cut = RAW_LIMIT.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::count_newlines;

    #[test]
    fn newlines_are_counted_past_a_chunk_of_255() {
        for len in [0, 1, 254, 255, 256, 510, 600, 1000] {
            for text in [vec![b'\n'; len], b"a\"\n,\r".repeat(len / 5 + 1)] {
                let want = text.iter().filter(|&&b| b == b'\n').count();
                assert_eq!(count_newlines(&text), want, "{len}");
            }
        }
    }
}
