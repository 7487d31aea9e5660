//! Reading the contact file: decompression, encoding, dialect, header, records in batches.
//!
//! Consumes a path or standard input; produces the header and [`Batch`]es of whole records.
//! [`Input::read_chunk`] (one thread, cheap) cuts the decoded text at record boundaries;
//! [`Batch::parse`] (any thread) splits it into rows, each with its line number, or
//! [`Rejected`] records. Never judges addresses.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use csv_core::ReadRecordResult;
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;
use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

/// Header names recognised as the address column, in order of preference (case-insensitive).
pub const EMAIL_COLUMN_NAMES: &[&str] = &[
    "email",
    "email address",
    "e-mail",
    "email_address",
    "e-mail address",
    "emailaddress",
    "mail",
    "e_mail",
    "email-address",
    "e-mail-adresse",
    "courriel",
    "correo",
    "correo electrónico",
];

/// Header names recognised as a signup date column, in order of preference.
pub const SIGNUP_COLUMN_NAMES: &[&str] = &[
    "signup_date",
    "signup date",
    "signed_up_at",
    "subscribed_at",
    "subscription_date",
    "optin_time",
    "optin_date",
    "opt_in_date",
    "confirm_time",
    "confirmed_at",
    "created_at",
    "created",
    "date_added",
    "joined",
];

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
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            email_column: None,
            signup_column: None,
            max_field_bytes: 1 << 20,
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

    fn overlong_error(&self, bytes: u64) -> String {
        format!(
            "the record is {bytes} bytes, more than {} fields within the limit of {} bytes can be",
            self.width, self.max_field_bytes
        )
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

/// A record longer than any row could be.
#[derive(Debug, Clone, Copy)]
struct Overlong {
    /// Its length in bytes.
    bytes: u64,
    /// It ran to the end of the input inside a quoted field.
    unterminated: bool,
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
/// [`Input::read_chunk`], and once [`Batch::parse`]d, its rows and rejected records.
///
/// Reading only finds where records end (a quote-aware `memchr` scan); parsing, the costly
/// part, runs on any thread, so batches are parsed in parallel. A batch owns all its buffers
/// and reuses them when read into again: parsing allocates nothing per row.
#[derive(Debug, Default)]
pub struct Batch {
    text: Vec<u8>,
    /// The physical line of `text[0]`.
    first_line: u64,
    /// The offset in the decoded stream just past this batch.
    end_offset: u64,
    /// The input ended inside a quoted field: the last record's quote is never closed.
    unterminated: bool,
    /// The batch is the start of one record too long to be a row, skipped without being held
    /// in memory (see [`Input::read_chunk`]).
    overlong: Option<Overlong>,
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

    fn clear(&mut self) {
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
                        newlines = memchr::memchr_iter(b'\n', &self.text[pos..pos + len]).count();
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
            let problem = self.problem(&record, shape, self.unterminated && last);
            let record = match problem {
                None => record,
                Some(error) => {
                    self.rejected.push(Rejected {
                        line: record.line,
                        error,
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
        let error = if overlong.unterminated {
            "a quoted field is never closed".to_string()
        } else {
            shape.overlong_error(overlong.bytes)
        };
        self.rejected.push(Rejected {
            line,
            error,
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

    /// Why a record cannot be read as a row, if it cannot.
    fn problem(&self, record: &Record, shape: &Shape, unterminated: bool) -> Option<String> {
        let ends = &self.ends[record.ends.clone()];
        let bytes = self
            .field_bytes
            .get(record.first..ends.last().copied().unwrap_or(record.first))
            .unwrap_or_default();
        if unterminated {
            // The record's `line` says where; the rest of the file would be this one field.
            return Some("a quoted field is never closed".to_string());
        }
        let length = record.raw.len();
        if length > shape.longest_record() {
            return Some(shape.overlong_error(length as u64));
        }
        if ends.len() != shape.width {
            return Some(format!(
                "{} fields, but the header has {}",
                ends.len(),
                shape.width
            ));
        }
        let mut start = record.first;
        for (i, &end) in ends.iter().enumerate() {
            if end - start > shape.max_field_bytes {
                return Some(format!(
                    "field {} is {} bytes, over the limit of {} bytes",
                    i + 1,
                    end - start,
                    shape.max_field_bytes
                ));
            }
            start = end;
        }
        if memchr::memchr(0, bytes).is_some() {
            return Some("NUL byte in the record".to_string());
        }
        if !bytes.is_ascii() && !is_utf8(&self.field_bytes, record.first, ends) {
            return Some("invalid UTF-8 in the record".to_string());
        }
        None
    }
}

/// The byte searches [`split_simple`] makes, built once per batch: memchr's free functions
/// detect the CPU and rebuild their searcher on every call, which costs more than the search
/// itself on fields of a dozen bytes.
#[cfg_attr(
    target_arch = "x86_64",
    expect(
        clippy::large_enum_variant,
        reason = "one per batch parse, on the stack; boxing would add a load to every search"
    )
)]
enum Searcher {
    #[cfg(target_arch = "x86_64")]
    Avx2 {
        stops: memchr::arch::x86_64::avx2::memchr::Three,
        quote: memchr::arch::x86_64::avx2::memchr::One,
    },
    Portable {
        stops: memchr::arch::all::memchr::Three,
        quote: memchr::arch::all::memchr::One,
    },
}

impl Searcher {
    /// Finds the delimiter and line ends (`stops`), and quotes.
    fn new(delimiter: u8) -> Searcher {
        #[cfg(target_arch = "x86_64")]
        if let (Some(stops), Some(quote)) = (
            memchr::arch::x86_64::avx2::memchr::Three::new(delimiter, b'\n', b'\r'),
            memchr::arch::x86_64::avx2::memchr::One::new(b'"'),
        ) {
            return Searcher::Avx2 { stops, quote };
        }
        Searcher::Portable {
            stops: memchr::arch::all::memchr::Three::new(delimiter, b'\n', b'\r'),
            quote: memchr::arch::all::memchr::One::new(b'"'),
        }
    }

    fn stop(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Searcher::Avx2 { stops, .. } => stops.find(haystack),
            Searcher::Portable { stops, .. } => stops.find(haystack),
        }
    }

    fn quote(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Searcher::Avx2 { quote, .. } => quote.find(haystack),
            Searcher::Portable { quote, .. } => quote.find(haystack),
        }
    }
}

/// A record [`split_simple`] read.
struct Simple {
    /// Bytes of text it took (its line end not included).
    len: usize,
    /// It had a quoted field (which may hold line ends).
    quoted: bool,
}

/// Splits the record at the start of `text` into fields, exactly as csv_core would, when it
/// has the usual shape: unquoted fields, and quoted fields (with `""` escapes) that close
/// right before a delimiter or the line end. The field bytes go to `fields[*out..]`, their
/// ends to `ends[*nends..]`. Returns `None` for any other shape (a quote left open, text after
/// a closing quote), and the caller parses the record with csv_core instead.
///
/// csv_core walks a state machine byte by byte; this jumps between delimiters, quotes and line
/// ends with memchr, several times faster on typical exports.
fn split_simple(
    text: &[u8],
    delimiter: u8,
    search: &Searcher,
    fields: &mut [u8],
    out: &mut usize,
    ends: &mut Vec<usize>,
    nends: &mut usize,
) -> Option<Simple> {
    let mut copy = |from: &[u8], out: &mut usize| {
        fields[*out..*out + from.len()].copy_from_slice(from);
        *out += from.len();
    };
    let mut push_end = |end: usize, nends: &mut usize| {
        if *nends == ends.len() {
            ends.resize(2 * *nends + 16, 0);
        }
        ends[*nends] = end;
        *nends += 1;
    };
    let mut quoted = false;
    let mut i = 0;
    'fields: loop {
        if text.get(i) == Some(&b'"') {
            quoted = true;
            i += 1;
            loop {
                let close = i + search.quote(&text[i..])?;
                copy(&text[i..close], out);
                i = close + 1;
                if text.get(i) != Some(&b'"') {
                    break;
                }
                copy(b"\"", out); // an escaped quote
                i += 1;
            }
            push_end(*out, nends);
            match text.get(i) {
                None | Some(b'\n' | b'\r') => return Some(Simple { len: i, quoted }),
                Some(&b) if b == delimiter => i += 1,
                Some(_) => return None,
            }
            continue;
        }
        // Unquoted fields, up to the next quoted one or the line end.
        let mut from = i;
        while let Some(at) = search.stop(&text[from..]) {
            let stop = from + at;
            copy(&text[from..stop], out);
            push_end(*out, nends);
            if text[stop] != delimiter {
                return Some(Simple { len: stop, quoted });
            }
            from = stop + 1;
            if text.get(from) == Some(&b'"') {
                i = from;
                continue 'fields;
            }
        }
        copy(&text[from..], out);
        push_end(*out, nends);
        return Some(Simple {
            len: text.len(),
            quoted,
        });
    }
}

/// Reads one record from `input` with csv_core into `fields[*out..]` and `ends[*nends..]`
/// (ends as offsets into `fields`), growing both as needed. Returns the input bytes consumed,
/// and false when there was no record (the end of the input).
fn read_record_into(
    reader: &mut csv_core::Reader,
    input: &[u8],
    fields: &mut Vec<u8>,
    out: &mut usize,
    ends: &mut Vec<usize>,
    nends: &mut usize,
) -> (usize, bool) {
    let first = *out;
    let mut pos = 0;
    loop {
        let (result, nin, nout, nend) = reader.read_record(
            input.get(pos..).unwrap_or_default(),
            &mut fields[*out..],
            &mut ends[*nends..],
        );
        for end in &mut ends[*nends..*nends + nend] {
            *end += first;
        }
        pos += nin;
        *out += nout;
        *nends += nend;
        match result {
            ReadRecordResult::Record => return (pos, true),
            ReadRecordResult::End => return (pos, false),
            // The input ended inside the record (the end of the file): the next call, with no
            // input, completes it.
            ReadRecordResult::InputEmpty => {}
            ReadRecordResult::OutputFull => {
                let grow = fields.len().max(64);
                fields.resize(fields.len() + grow, 0);
            }
            ReadRecordResult::OutputEndsFull => {
                let grow = ends.len().max(16);
                ends.resize(ends.len() + grow, 0);
            }
        }
    }
}

/// A CSV record parser for a batch: RFC 4180 quoting, `\r`, `\n` or `\r\n` line ends, as the
/// `csv` crate reads. It has already "read" once, so that it never strips a byte-order mark
/// from a batch's first field (only the start of the input may carry one).
fn record_reader(delimiter: u8) -> csv_core::Reader {
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    prime(&mut reader);
    reader
}

/// Makes a fresh (or reset) parser past its first read.
fn prime(reader: &mut csv_core::Reader) {
    // A blank line: no output, no record, the parser stays at the start of a record.
    let _ = reader.read_record(b"\n", &mut [0u8; 1], &mut [0usize; 1]);
}

/// An open contact file, positioned after its header.
pub struct Input {
    stream: Box<dyn Read + Send>,
    path: PathBuf,
    header: csv::ByteRecord,
    email_index: usize,
    signup_index: Option<usize>,
    dialect: Dialect,
    raw_bytes: Arc<AtomicU64>,
    shape: Shape,
    /// Decoded text read but not yet handed out in a batch.
    pending: Vec<u8>,
    /// The decoded-stream offset of `pending[0]`.
    pending_base: u64,
    /// The quoting state of everything read so far.
    quotes: QuoteTracker,
    /// The decoded-stream offset of the last line end read that is outside quotes (a record
    /// boundary).
    boundary: Option<u64>,
    /// The first such line end of the text read last.
    first_boundary: Option<u64>,
    /// The physical line of `pending[0]`.
    next_line: u64,
    eof: bool,
    finished: bool,
}

/// Counts the bytes read from the underlying file (compressed size for gzip).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

const SNIFF_BYTES: u64 = 1 << 20;

/// Bytes read from the decoded stream at a time while looking for a record boundary.
const READ_BYTES: usize = 1 << 16;

/// The size of the batches [`Input::read_batch`] callers use unless they have a reason not
/// to: about 5,000 rows of a typical export, small enough to keep memory flat and both cores
/// busy, large enough to make per-batch costs vanish.
pub const BATCH_BYTES: usize = 1 << 20;

impl Input {
    /// Opens the input, detects compression, encoding and delimiter, and reads the header.
    ///
    /// # Errors
    /// A missing, unreadable, empty, binary or header-less input, or no address column.
    pub fn open(source: &InputSource, options: &ReadOptions) -> Result<Input> {
        let path = source.display_path();
        let base: Box<dyn Read + Send> = match source {
            InputSource::Path(p) => {
                let meta = std::fs::metadata(p).map_err(|source| Error::Read {
                    path: p.clone(),
                    source,
                })?;
                if meta.is_dir() {
                    return Err(input_error(
                        &path,
                        "is a directory; give the contact CSV file inside it",
                    ));
                }
                let file = File::open(p).map_err(|source| Error::Read {
                    path: p.clone(),
                    source,
                })?;
                Box::new(file)
            }
            InputSource::Stdin => Box::new(io::stdin()),
        };
        Input::from_reader(base, &path, options)
    }

    /// Reads contacts from any byte stream; `path` names it in messages.
    ///
    /// # Errors
    /// As [`Input::open`], but for the file-system checks.
    pub fn from_reader(
        base: Box<dyn Read + Send>,
        path: &Path,
        options: &ReadOptions,
    ) -> Result<Input> {
        let path = path.to_path_buf();
        let raw_bytes = Arc::new(AtomicU64::new(0));
        let counted = BufReader::with_capacity(
            1 << 16,
            Counting {
                inner: base,
                count: raw_bytes.clone(),
            },
        );
        let (mut stream, gzip) = maybe_gunzip(counted, &path)?;

        let mut prefix = Vec::new();
        (&mut stream)
            .take(SNIFF_BYTES)
            .read_to_end(&mut prefix)
            .map_err(|e| read_error(&path, e, gzip))?;
        if prefix.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(input_error(
                &path,
                "is empty; expected a header line such as `email,first_name`",
            ));
        }
        let (encoding, bom) = detect_encoding(&prefix, &path)?;
        let delimiter = sniff_delimiter(&encoding.decode_without_bom_handling(&prefix).0);
        let rest: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(stream));
        let decoded: Box<dyn Read + Send> = if encoding == UTF_8 {
            Box::new(SkipBom {
                inner: rest,
                skip: if bom { 3 } else { 0 },
            })
        } else {
            Box::new(
                DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding))
                    .bom_override(true)
                    .build(rest),
            )
        };
        let mut input = Input {
            stream: decoded,
            path,
            header: csv::ByteRecord::new(),
            email_index: 0,
            signup_index: None,
            dialect: Dialect {
                encoding: encoding.name(),
                bom,
                gzip,
                delimiter: (delimiter as char).to_string(),
                email_column: String::new(),
                signup_column: None,
            },
            raw_bytes,
            shape: Shape {
                width: 0,
                delimiter,
                max_field_bytes: options.max_field_bytes,
            },
            pending: Vec::new(),
            pending_base: 0,
            quotes: QuoteTracker::new(delimiter),
            boundary: None,
            first_boundary: None,
            next_line: 1,
            eof: false,
            finished: false,
        };
        input.read_header(options)?;
        Ok(input)
    }

    /// Reads the header record, and finds the address and signup columns in it.
    fn read_header(&mut self, options: &ReadOptions) -> Result<()> {
        let path = self.path.clone();
        while !self.eof && !self.has_boundary() {
            self.fill(READ_BYTES)?;
        }
        let header = self.take_header().ok_or_else(|| {
            input_error(
                &path,
                "is empty; expected a header line such as `email,first_name`",
            )
        })?;
        let names: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let email_index = find_column(&names, options.email_column.as_deref(), EMAIL_COLUMN_NAMES)
            .ok_or_else(|| match &options.email_column {
                Some(name) => input_error(&path, &format!("has no column `{name}` (--email-column); the header is: {}", names.join(", "))),
                None => input_error(
                    &path,
                    &format!("no address column found in the header ({}); name it `email` or pass --email-column NAME", names.join(", ")),
                ),
            })?;
        let signup_index = match &options.signup_column {
            Some(name) => Some(find_column(&names, Some(name), &[]).ok_or_else(|| {
                input_error(
                    &path,
                    &format!(
                        "has no column `{name}` (--signup-column); the header is: {}",
                        names.join(", ")
                    ),
                )
            })?),
            None => find_column(&names, None, SIGNUP_COLUMN_NAMES),
        };
        self.dialect.email_column = names[email_index].clone();
        self.dialect.signup_column = signup_index.map(|i| names[i].clone());
        self.email_index = email_index;
        self.signup_index = signup_index;
        self.shape.width = header.len();
        self.header = header;
        Ok(())
    }

    /// Parses the first record of the pending text as the header and drops its text.
    fn take_header(&mut self) -> Option<csv::ByteRecord> {
        // A fresh parser, as the `csv` crate's: it skips leading blank lines and a BOM.
        let mut reader = csv_core::ReaderBuilder::new()
            .delimiter(self.shape.delimiter)
            .build();
        let mut fields = vec![0u8; self.pending.len() + 1];
        let mut ends = vec![0usize; 64];
        let (mut out, mut nends) = (0, 0);
        let (pos, found) = read_record_into(
            &mut reader,
            &self.pending,
            &mut fields,
            &mut out,
            &mut ends,
            &mut nends,
        );
        if !found {
            return None;
        }
        let mut header = csv::ByteRecord::new();
        let mut start = 0;
        for &end in &ends[..nends] {
            header.push_field(fields.get(start..end).unwrap_or_default());
            start = end;
        }
        let consumed = pos.min(self.pending.len());
        self.next_line += memchr::memchr_iter(b'\n', &self.pending[..consumed]).count() as u64;
        self.pending.drain(..consumed);
        self.pending_base += consumed as u64;
        Some(header)
    }

    /// The header record.
    pub fn header(&self) -> &csv::ByteRecord {
        &self.header
    }

    /// The address column's index.
    pub fn email_index(&self) -> usize {
        self.email_index
    }

    /// The signup column's index, if any.
    pub fn signup_index(&self) -> Option<usize> {
        self.signup_index
    }

    /// How the input was read.
    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    /// The field delimiter.
    pub fn delimiter(&self) -> u8 {
        self.shape.delimiter
    }

    /// What every record must look like (for [`Batch::parse`]).
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// A shared counter of the bytes read, for progress reporting from another thread.
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.raw_bytes.clone()
    }

    /// Reads about `target` bytes of whole records into `batch` (cleared first), without
    /// parsing them; returns false once the input is exhausted (the batch may still hold its
    /// last records).
    ///
    /// # Errors
    /// Only when the input itself cannot be read further (I/O error, corrupt gzip).
    pub fn read_chunk(&mut self, target: usize, batch: &mut Batch) -> Result<bool> {
        batch.clear();
        if self.finished {
            return Ok(false);
        }
        let target = target.max(1);
        // Room for the whole batch at once: no copying as the buffer grows.
        self.pending
            .reserve((target.min(1 << 26) + READ_BYTES).saturating_sub(self.pending.len()));
        while !self.eof && (self.pending.len() < target || !self.has_boundary()) {
            if !self.has_boundary() && self.pending.len() > self.shape.longest_record().max(target)
            {
                return self.skip_overlong(batch);
            }
            let want = target.saturating_sub(self.pending.len()).max(READ_BYTES);
            self.fill(want)?;
        }
        // Swap buffers rather than copy the batch: the pending text becomes the batch's, and
        // only the partial record after the cut moves back.
        std::mem::swap(&mut batch.text, &mut self.pending);
        self.pending.clear();
        if !self.eof {
            let boundary = self.boundary.unwrap_or(self.pending_base);
            let cut = usize::try_from(boundary - self.pending_base + 1)
                .unwrap_or(batch.text.len())
                .min(batch.text.len());
            self.pending.extend_from_slice(&batch.text[cut..]);
            batch.text.truncate(cut);
        } else {
            self.finished = true;
            batch.unterminated = self.quotes.in_quotes;
        }
        batch.first_line = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &batch.text).count() as u64;
        self.pending_base += batch.text.len() as u64;
        batch.end_offset = self.pending_base;
        Ok(!self.finished)
    }

    /// Reads past a record longer than [`Shape::longest_record`] without holding it: keeps its
    /// first bytes for `rejected.csv`, follows the quoting to its end (or the input's), and
    /// puts it in `batch` as one rejected record. Memory stays bounded on hostile input.
    fn skip_overlong(&mut self, batch: &mut Batch) -> Result<bool> {
        batch.first_line = self.next_line;
        batch.text.clear();
        let mut bytes = 0u64;
        loop {
            // All pending text is the record's, up to the first boundary read (its end).
            let end = self.first_boundary.filter(|&b| b >= self.pending_base);
            let cut = end
                .and_then(|b| usize::try_from(b - self.pending_base + 1).ok())
                .unwrap_or(self.pending.len())
                .min(self.pending.len());
            // Only the record's start is kept, for `rejected.csv`.
            let room = (RAW_LIMIT + 4).saturating_sub(batch.text.len());
            batch.text.extend_from_slice(&self.pending[..cut.min(room)]);
            self.next_line += memchr::memchr_iter(b'\n', &self.pending[..cut]).count() as u64;
            bytes += cut as u64;
            self.pending_base += cut as u64;
            self.pending.drain(..cut);
            if end.is_some() {
                break; // the rest of the pending text is the next records'
            }
            if self.eof {
                self.finished = true;
                break;
            }
            self.fill(READ_BYTES)?;
        }
        let lead = batch
            .text
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .count();
        let terminator = u64::from(!self.finished);
        batch.overlong = Some(Overlong {
            bytes: bytes.saturating_sub(lead as u64 + terminator),
            unterminated: self.finished && self.quotes.in_quotes,
        });
        batch.end_offset = self.pending_base;
        Ok(!self.finished)
    }

    /// Reads about `target` bytes of whole records into `batch` and parses them; returns
    /// false once the input is exhausted (the batch may still hold its last records).
    ///
    /// # Errors
    /// Only when the input itself cannot be read further (I/O error, corrupt gzip).
    pub fn read_batch(&mut self, target: usize, batch: &mut Batch) -> Result<bool> {
        let more = self.read_chunk(target, batch)?;
        batch.parse(&self.shape);
        Ok(more)
    }

    /// Returns true if and only if a record boundary is known inside the pending text.
    fn has_boundary(&self) -> bool {
        self.boundary.is_some_and(|b| b >= self.pending_base)
    }

    /// Reads up to `want` more bytes into the pending text and follows their quoting.
    fn fill(&mut self, want: usize) -> Result<()> {
        let old = self.pending.len();
        let n = (&mut self.stream)
            .take(want as u64)
            .read_to_end(&mut self.pending)
            .map_err(|e| read_error(&self.path, e, self.dialect.gzip))?;
        if n < want {
            self.eof = true;
        }
        let base = self.pending_base + old as u64;
        let (first, last) = self.quotes.feed(&self.pending[old..]);
        self.first_boundary = first.map(|at| base + at as u64);
        if let Some(at) = last {
            self.boundary = Some(base + at as u64);
        }
        Ok(())
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

fn maybe_gunzip<R: io::BufRead + Send + 'static>(
    mut reader: R,
    path: &Path,
) -> Result<(Box<dyn Read + Send>, bool)> {
    let head = io::BufRead::fill_buf(&mut reader).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok((
            Box::new(BufReader::with_capacity(
                1 << 16,
                MultiGzDecoder::new(reader),
            )),
            true,
        ))
    } else {
        Ok((Box::new(reader), false))
    }
}

/// Picks the encoding: a BOM wins; else UTF-8 if the prefix is valid; else Windows-1252.
/// Binary formats are refused with the fix.
fn detect_encoding(prefix: &[u8], path: &Path) -> Result<(&'static Encoding, bool)> {
    if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok((UTF_8, true));
    }
    if prefix.starts_with(&[0xFF, 0xFE]) {
        return Ok((UTF_16LE, true));
    }
    if prefix.starts_with(&[0xFE, 0xFF]) {
        return Ok((UTF_16BE, true));
    }
    let kinds: &[(&[u8], &str)] = &[
        (b"\x89PNG", "a PNG image"),
        (b"%PDF", "a PDF document"),
        (
            b"PK\x03\x04",
            "a ZIP archive or Excel workbook (.xlsx); save it as CSV first",
        ),
        (
            b"\xD0\xCF\x11\xE0",
            "an old Excel workbook (.xls); save it as CSV first",
        ),
        (b"PAR1", "a Parquet file; contacts must be CSV"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"BZh", "bzip2-compressed; decompress it or use gzip"),
        (b"\xFD7zXZ", "xz-compressed; decompress it or use gzip"),
        (
            b"\x28\xB5\x2F\xFD",
            "zstd-compressed; decompress it or use gzip",
        ),
    ];
    if let Some((_, what)) = kinds.iter().find(|(magic, _)| prefix.starts_with(magic)) {
        return Err(input_error(
            path,
            &format!("is not a CSV file: it looks like {what}"),
        ));
    }
    let sample = &prefix[..prefix.len().min(8192)];
    let nuls = sample.iter().filter(|&&b| b == 0).count();
    if nuls * 4 > sample.len() {
        return Err(input_error(
            path,
            "is not a CSV file: it holds binary data (save or export it as CSV text)",
        ));
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => Ok((UTF_8, false)),
        // A multi-byte character cut by the end of the sample is still UTF-8.
        Err(e) if e.error_len().is_none() => Ok((UTF_8, false)),
        Err(_) => Ok((WINDOWS_1252, false)),
    }
}

/// Follows the CSV quoting state of the text passing through, so that the end of the input
/// can tell whether its last quote was ever closed. Jumps from quote to quote (memchr).
#[derive(Debug)]
struct QuoteTracker {
    delimiter: u8,
    in_quotes: bool,
    /// A quote ended the previous chunk inside a quoted field: it closes the field unless
    /// the next chunk starts with another quote (an escaped `""`).
    reopen_if_quote: bool,
    previous: u8,
}

impl QuoteTracker {
    fn new(delimiter: u8) -> QuoteTracker {
        QuoteTracker {
            delimiter,
            in_quotes: false,
            reopen_if_quote: false,
            previous: b'\n',
        }
    }

    /// Follows `buf`, the text after everything fed so far. Returns the positions in `buf`
    /// of its first and last line ends (`\n` or `\r`) outside quotes: record boundaries.
    fn feed(&mut self, buf: &[u8]) -> (Option<usize>, Option<usize>) {
        let Some(&last) = buf.last() else {
            return (None, None);
        };
        let (mut first_boundary, mut boundary) = (None, None);
        let mut note = |from: usize, to: usize| {
            let stretch = &buf[from..to];
            if first_boundary.is_none() {
                first_boundary = memchr::memchr2(b'\n', b'\r', stretch).map(|at| from + at);
            }
            if let Some(at) = memchr::memrchr2(b'\n', b'\r', stretch) {
                boundary = Some(from + at);
            }
        };
        let mut i = 0;
        if std::mem::take(&mut self.reopen_if_quote) && buf[0] == b'"' {
            self.in_quotes = true;
            i = 1;
        }
        // Where the current stretch outside quotes started.
        let mut outside = (!self.in_quotes).then_some(i);
        while let Some(offset) = memchr::memchr(b'"', &buf[i..]) {
            let j = i + offset;
            if self.in_quotes {
                match buf.get(j + 1) {
                    Some(b'"') => i = j + 2,
                    Some(_) => {
                        self.in_quotes = false;
                        i = j + 1;
                        outside = Some(i);
                    }
                    None => {
                        self.in_quotes = false;
                        self.reopen_if_quote = true;
                        i = j + 1;
                        outside = Some(i);
                    }
                }
            } else {
                let before = if j == 0 { self.previous } else { buf[j - 1] };
                if before == self.delimiter || before == b'\n' || before == b'\r' {
                    self.in_quotes = true;
                    if let Some(from) = outside.take() {
                        note(from, j);
                    }
                }
                i = j + 1;
            }
            if i >= buf.len() {
                break;
            }
        }
        if let Some(from) = outside {
            note(from.min(buf.len()), buf.len());
        }
        self.previous = last;
        (first_boundary, boundary)
    }
}

/// Skips a UTF-8 byte-order mark.
struct SkipBom<R> {
    inner: R,
    skip: usize,
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.skip > 0 {
            let mut bom = [0u8; 3];
            let n = self.inner.read(&mut bom[..self.skip])?;
            if n == 0 {
                return Ok(0);
            }
            self.skip -= n;
        }
        self.inner.read(buf)
    }
}

/// The delimiter (`,` `;` tab `|`) that splits the header line into the most fields.
fn sniff_delimiter(text: &str) -> u8 {
    let first_line = text.split(['\n', '\r']).next().unwrap_or("");
    let mut best = (b',', 0usize);
    for candidate in [b',', b';', b'\t', b'|'] {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(candidate)
            .from_reader(first_line.as_bytes());
        let mut record = csv::ByteRecord::new();
        let fields = match reader.read_byte_record(&mut record) {
            Ok(true) => record.len(),
            _ => 0,
        };
        if fields > best.1 {
            best = (candidate, fields);
        }
    }
    best.0
}

/// The index of the column named `wanted` (exact, then case-insensitive), or else of the first
/// of `known` names present.
fn find_column(names: &[String], wanted: Option<&str>, known: &[&str]) -> Option<usize> {
    let clean = |s: &str| s.trim().trim_start_matches('\u{feff}').to_lowercase();
    if let Some(wanted) = wanted {
        return names
            .iter()
            .position(|n| n == wanted)
            .or_else(|| names.iter().position(|n| clean(n) == clean(wanted)));
    }
    let lower: Vec<String> = names.iter().map(|n| clean(n)).collect();
    known.iter().find_map(|k| lower.iter().position(|n| n == k))
}

/// Bytes of a rejected record's text kept in `rejected.csv`.
const RAW_LIMIT: usize = 64 * 1024;

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
    use super::*;

    #[test]
    fn tracks_unterminated_quotes_across_chunks() {
        for (text, open) in [
            ("a,b\n1,2\n", false),
            ("a,b\n1,\"x\n", true),
            ("a,b\n1,\"x\"\"y\"\n", false),
            ("a,b\n1,\"x\"\"\n", true),
            ("a,b\n1,x\"y\n", false),
            ("a,b\n\"1\",\"multi\nline\"\n", false),
        ] {
            for split in 0..text.len() {
                let mut tracker = QuoteTracker::new(b',');
                tracker.feed(&text.as_bytes()[..split]);
                tracker.feed(&text.as_bytes()[split..]);
                assert_eq!(tracker.in_quotes, open, "{text:?} split at {split}");
            }
        }
    }

    /// Every record as (line, fields or rejection, raw text), reading `text` in batches of
    /// about `target` bytes.
    fn records(text: &str, target: usize) -> Vec<(u64, Result<Vec<String>, String>, String)> {
        records_with(text, target, ReadOptions::default().max_field_bytes).0
    }

    type Records = Vec<(u64, Result<Vec<String>, String>, String)>;

    /// As [`records`], with a field size limit; also returns the most text the reader held.
    fn records_with(text: &str, target: usize, max_field_bytes: usize) -> (Records, usize) {
        let options = ReadOptions {
            max_field_bytes,
            ..ReadOptions::default()
        };
        let mut input = Input::from_reader(
            Box::new(Cursor::new(text.as_bytes().to_vec())),
            Path::new("t.csv"),
            &options,
        )
        .expect("open");
        let mut batch = Batch::default();
        let mut out = Vec::new();
        let mut held = 0;
        loop {
            let more = input.read_batch(target, &mut batch).expect("read");
            held = held
                .max(input.pending.capacity())
                .max(batch.text.capacity());
            for item in batch.items() {
                out.push(match item {
                    Item::Row(row) => (
                        row.line,
                        Ok(row
                            .fields()
                            .map(|f| String::from_utf8_lossy(f).into())
                            .collect()),
                        String::from_utf8_lossy(row.raw()).into(),
                    ),
                    Item::Rejected(r) => (r.line, Err(r.error.clone()), r.raw.clone()),
                });
            }
            if !more {
                return (out, held);
            }
        }
    }

    /// The rows the `csv` crate reads from `text` after its header.
    fn csv_rows(text: &str) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        reader
            .byte_records()
            .map(|r| {
                r.expect("csv")
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn batches_of_any_size_read_the_same_records() {
        for text in [
            "email,name\na@x.io,A\nb@x.io,B\n",
            "email,name\r\na@x.io,A\r\n\r\nb@x.io,\"B\r\nC\"\r\n",
            "email,name\na@x.io,\"multi\nline \"\"quoted\"\"\"\n\n\nb@x.io,B",
            "email,name\na@x.io,\"\"\nb@x.io,\"x\"\"\"\nc,\"\"\"\"\n",
            "email,name\na@x.io,x\"y\nb@x.io,\"open\nrest\n",
            "email,name\ra@x.io,A\rb@x.io,B\r",
            "email,name\na@x.io\nb@x.io,B,extra\nc@x.io,\"\u{e9}\"\n",
            "\n\nemail,name\n\na@x.io,A\n",
            // An empty last field after a batch whose bytes there were inside a character.
            "email,name\nb@x.io,\u{e9}\nab@x.io,\n",
        ] {
            let whole = records(text, usize::MAX);
            let expected = csv_rows(text);
            assert_eq!(whole.len(), expected.len(), "{text:?}");
            for ((_, fields, _), want) in whole.iter().zip(&expected) {
                if let Ok(fields) = fields {
                    assert_eq!(fields, want, "{text:?}");
                }
            }
            for target in 1..=text.len() {
                assert_eq!(
                    records(text, target),
                    whole,
                    "{text:?} in batches of {target}"
                );
            }
        }
    }

    #[test]
    fn lines_raw_text_and_rejections() {
        let text =
            "email,name\r\na@x.io,A\r\n\r\nb@x.io,\"B\r\nC\"\r\nshort\r\nc@x.io,\"never closed\r\n";
        let got = records(text, 8);
        let lines: Vec<u64> = got.iter().map(|r| r.0).collect();
        assert_eq!(lines, [2, 4, 6, 7]);
        assert_eq!(got[1].2, "b@x.io,\"B\r\nC\"");
        assert_eq!(got[2].1, Err("1 fields, but the header has 2".to_string()));
        assert_eq!(got[3].1, Err("a quoted field is never closed".to_string()));
    }

    #[test]
    fn a_record_longer_than_any_row_is_rejected_alone_in_any_batches() {
        // Two fields of at most 10 bytes: no row is longer than 46 bytes.
        let text = format!(
            "email,name\na@x.io,\"{}\"\r\nb@x.io,B\nc@x.io,C\n",
            "y\n".repeat(100)
        );
        let (whole, _) = records_with(&text, usize::MAX, 10);
        let lines: Vec<u64> = whole.iter().map(|r| r.0).collect();
        assert_eq!(lines, [2, 103, 104]);
        assert_eq!(
            whole[0].1,
            Err(
                "the record is 209 bytes, more than 2 fields within the limit of 10 bytes can be"
                    .into()
            )
        );
        assert_eq!(whole[1].1, Ok(vec!["b@x.io".to_string(), "B".to_string()]));
        for target in 1..text.len() {
            assert_eq!(
                records_with(&text, target, 10).0,
                whole,
                "batches of {target}"
            );
        }
    }

    #[test]
    fn an_unterminated_quote_is_read_past_in_bounded_memory() {
        let text = format!("email,name\na@x.io,\"{}", "z\n".repeat(4 << 20));
        for target in [64, BATCH_BYTES] {
            let (got, held) = records_with(&text, target, 10);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].0, 2);
            assert_eq!(got[0].1, Err("a quoted field is never closed".into()));
            assert!(got[0].2.ends_with('…'));
            // About a batch (buffers grow by doubling), not the 8 MiB record.
            assert!(
                held <= 3 * BATCH_BYTES,
                "held {held} bytes of an 8 MiB record"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_the_same_in_any_batches(
            body in proptest::collection::vec(
                proptest::sample::select(vec!["a", "b@x.io", ",", "\"", "\n", "\r", " ", "\r\n", "\u{e9}", ",\"q\"", "\"\n"]),
                0..60,
            ),
            target in 1usize..40,
        ) {
            let text = format!("email,name\n{}", body.concat());
            let whole = records(&text, usize::MAX);
            let expected = csv_rows(&text);
            proptest::prop_assert_eq!(whole.len(), expected.len());
            for ((_, fields, _), want) in whole.iter().zip(&expected) {
                if let Ok(fields) = fields {
                    proptest::prop_assert_eq!(fields, want);
                }
            }
            proptest::prop_assert_eq!(records(&text, target), whole);
            // A field limit so small that long records are skipped rather than held.
            proptest::prop_assert_eq!(
                records_with(&text, target, 2).0,
                records_with(&text, usize::MAX, 2).0
            );
        }
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff_delimiter("email;name;city\n"), b';');
        assert_eq!(sniff_delimiter("email\tname\n"), b'\t');
        assert_eq!(sniff_delimiter("email|name\n"), b'|');
        assert_eq!(sniff_delimiter("\"a;b\",email,name\n"), b',');
        assert_eq!(sniff_delimiter("email\n"), b',');
    }

    #[test]
    fn finds_email_columns_by_common_names() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            find_column(&names(&["Name", "Email Address"]), None, EMAIL_COLUMN_NAMES),
            Some(1)
        );
        assert_eq!(
            find_column(&names(&["E-mail", "x"]), None, EMAIL_COLUMN_NAMES),
            Some(0)
        );
        assert_eq!(
            find_column(&names(&["a", "b"]), None, EMAIL_COLUMN_NAMES),
            None
        );
        assert_eq!(
            find_column(&names(&["a", "Work"]), Some("work"), EMAIL_COLUMN_NAMES),
            Some(1)
        );
    }
}
