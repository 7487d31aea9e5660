//! Reading the contact file: decompression, encoding, dialect, header, records in batches.
//!
//! Consumes a path or standard input; produces the header and batches of [`Item`]s, each a
//! row with its line number or a [`Rejected`] record. Never judges addresses.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

/// A record read as a row of the input's shape.
#[derive(Debug, Clone)]
pub struct RawRow {
    /// The record's first physical line (1 is the header).
    pub line: u64,
    /// The fields, valid UTF-8.
    pub record: csv::ByteRecord,
    /// Where the record's text (without its line end) is in [`Batch::raw`].
    pub raw: std::ops::Range<usize>,
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

/// Records read together, with their text as read (decoded to UTF-8), so that rows can be
/// written back byte for byte.
#[derive(Debug, Default)]
pub struct Batch {
    /// The records, in input order.
    pub items: Vec<Item>,
    /// The batch's text; rows point into it.
    pub raw: Vec<u8>,
}

impl Batch {
    /// The text of a row of this batch (without its line end).
    pub fn raw_of(&self, row: &RawRow) -> &[u8] {
        self.raw.get(row.raw.clone()).unwrap_or_default()
    }
}

/// One record of the input.
#[derive(Debug, Clone)]
pub enum Item {
    /// A readable row.
    Row(RawRow),
    /// A record that goes to `rejected.csv`.
    Rejected(Rejected),
}

/// An open contact file, positioned after its header.
pub struct Input {
    reader: csv::Reader<Box<dyn Read + Send>>,
    path: PathBuf,
    header: csv::ByteRecord,
    email_index: usize,
    signup_index: Option<usize>,
    dialect: Dialect,
    raw_bytes: Arc<AtomicU64>,
    max_field_bytes: usize,
    delimiter: u8,
    stream: Arc<Mutex<Stream>>,
    lookahead: Option<csv::ByteRecord>,
    finished: bool,
    spare: Vec<csv::ByteRecord>,
    spans: Vec<(u64, u64)>,
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
        let stream = Arc::new(Mutex::new(Stream {
            quotes: QuoteTracker::new(delimiter),
            window: Vec::new(),
            base: 0,
        }));
        let tracked: Box<dyn Read + Send> = Box::new(Tracked {
            inner: decoded,
            stream: stream.clone(),
        });
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(1 << 18)
            .from_reader(tracked);

        let mut header = csv::ByteRecord::new();
        let got = reader
            .read_byte_record(&mut header)
            .map_err(|e| csv_error(&path, e))?;
        if !got {
            return Err(input_error(
                &path,
                "is empty; expected a header line such as `email,first_name`",
            ));
        }
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
        let dialect = Dialect {
            encoding: encoding.name(),
            bom,
            gzip,
            delimiter: (delimiter as char).to_string(),
            email_column: names[email_index].clone(),
            signup_column: signup_index.map(|i| names[i].clone()),
        };
        Ok(Input {
            reader,
            path,
            header,
            email_index,
            signup_index,
            dialect,
            raw_bytes,
            max_field_bytes: options.max_field_bytes,
            stream,
            lookahead: None,
            finished: false,
            spare: Vec::new(),
            spans: Vec::new(),
            delimiter,
        })
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
        self.delimiter
    }

    /// A shared counter of the bytes read, for progress reporting from another thread.
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.raw_bytes.clone()
    }

    /// Reads up to `max` records into `batch` (cleared first); returns false at the end.
    ///
    /// # Errors
    /// Only when the input itself cannot be read further (I/O error, corrupt gzip).
    pub fn read_batch(&mut self, max: usize, batch: &mut Batch) -> Result<bool> {
        batch.items.clear();
        batch.raw.clear();
        self.spans.clear();
        // One record of look-ahead: only at the end of the input do we know whether the last
        // record's quote was ever closed (an unterminated quote swallows the rest of the file),
        // and where a record's text ends.
        if self.lookahead.is_none() && !self.finished {
            self.lookahead = self.next_record()?;
        }
        while batch.items.len() < max {
            let Some(record) = self.lookahead.take() else {
                self.finished = true;
                break;
            };
            self.lookahead = self.next_record()?;
            let start = record.position().map_or(0, |p| p.byte());
            let (end, unterminated) = match &self.lookahead {
                Some(next) => (next.position().map_or(start, |p| p.byte()), false),
                None => {
                    let stream = self.lock_stream()?;
                    (
                        stream.base + stream.window.len() as u64,
                        stream.quotes.in_quotes,
                    )
                }
            };
            self.spans.push((start, end.max(start)));
            batch.items.push(self.classify(record, unterminated));
        }
        self.take_text(batch)?;
        Ok(self.lookahead.is_some())
    }

    fn lock_stream(&self) -> Result<std::sync::MutexGuard<'_, Stream>> {
        self.stream
            .lock()
            .map_err(|_| Error::Internal("the input stream's state was poisoned".into()))
    }

    /// Moves the batch's text out of the stream window, points every record at its text
    /// (line ends trimmed), and corrects line numbers for blank lines and CRLF before it.
    fn take_text(&mut self, batch: &mut Batch) -> Result<()> {
        let (Some(&(first, _)), Some(&(_, last))) = (self.spans.first(), self.spans.last()) else {
            return Ok(());
        };
        {
            let mut stream = self.lock_stream()?;
            let base = stream.base;
            let from = usize::try_from(first.saturating_sub(base)).unwrap_or(0);
            let to = usize::try_from(last.saturating_sub(base)).unwrap_or(0);
            let to = to.min(stream.window.len());
            batch
                .raw
                .extend_from_slice(&stream.window[from.min(to)..to]);
            stream.window.drain(..to);
            stream.base += to as u64;
        }
        let is_line_end = |b: &u8| *b == b'\n' || *b == b'\r';
        for (item, &(start, end)) in batch.items.iter_mut().zip(&self.spans) {
            let relative = (start - first) as usize..(end - first) as usize;
            let text = batch.raw.get(relative.clone()).unwrap_or_default();
            let lead = text.iter().take_while(|b| is_line_end(b)).count();
            let trail = text[lead..]
                .iter()
                .rev()
                .take_while(|b| is_line_end(b))
                .count();
            let skipped_lines = text[..lead].iter().filter(|b| **b == b'\n').count() as u64;
            let range = relative.start + lead..relative.end - trail;
            match item {
                Item::Row(row) => {
                    row.line += skipped_lines;
                    row.raw = range;
                }
                Item::Rejected(rejected) => {
                    rejected.line += skipped_lines;
                    rejected.raw = raw_text(batch.raw.get(range).unwrap_or_default());
                }
            }
        }
        Ok(())
    }

    /// Takes the records of a written batch back, to read into them again (saves two
    /// allocations a row).
    pub fn recycle(&mut self, batch: &mut Batch) {
        const KEEP: usize = 1 << 16;
        batch.raw.clear();
        for item in batch.items.drain(..) {
            if self.spare.len() >= KEEP {
                break;
            }
            if let Item::Row(row) = item {
                self.spare.push(row.record);
            }
        }
    }

    fn next_record(&mut self) -> Result<Option<csv::ByteRecord>> {
        let mut record = self.spare.pop().unwrap_or_default();
        let more = self
            .reader
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(&self.path, e))?;
        Ok(more.then_some(record))
    }

    fn classify(&self, record: csv::ByteRecord, unterminated: bool) -> Item {
        let width = self.header.len();
        let line = record.position().map_or(0, |p| p.line());
        let problem = if unterminated {
            // The record's `line` says where; the rest of the file would be this one field.
            Some("a quoted field is never closed".to_string())
        } else if record.len() != width {
            Some(format!(
                "{} fields, but the header has {width}",
                record.len()
            ))
        } else if let Some((i, f)) = record
            .iter()
            .enumerate()
            .find(|(_, f)| f.len() > self.max_field_bytes)
        {
            Some(format!(
                "field {} is {} bytes, over the limit of {} bytes",
                i + 1,
                f.len(),
                self.max_field_bytes
            ))
        } else if record.as_slice().contains(&0) {
            Some("NUL byte in the record".to_string())
        } else if !is_utf8(&record) {
            Some("invalid UTF-8 in the record".to_string())
        } else {
            None
        };
        match problem {
            None => Item::Row(RawRow {
                line,
                record,
                raw: 0..0,
            }),
            Some(error) => Item::Rejected(Rejected {
                line,
                error,
                raw: String::new(),
            }),
        }
    }
}

/// Returns true if and only if every field is valid UTF-8 (a character may not span fields).
fn is_utf8(record: &csv::ByteRecord) -> bool {
    let all = record.as_slice();
    if all.is_ascii() {
        return true;
    }
    // Valid as a whole, and no field starts inside a character (with a continuation byte).
    std::str::from_utf8(all).is_ok()
        && record
            .iter()
            .all(|f| f.first().is_none_or(|&b| (b & 0xC0) != 0x80))
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

fn csv_error(path: &Path, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => read_error(path, io, true),
        other => input_error(path, &format!("cannot parse as CSV: {other:?}")),
    }
}

/// Wraps gzip data in a decoder (by magic number, whatever the file name).
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

    fn feed(&mut self, buf: &[u8]) {
        let Some(&last) = buf.last() else { return };
        let mut i = 0;
        if std::mem::take(&mut self.reopen_if_quote) && buf[0] == b'"' {
            self.in_quotes = true;
            i = 1;
        }
        while let Some(offset) = memchr::memchr(b'"', &buf[i..]) {
            let j = i + offset;
            if self.in_quotes {
                match buf.get(j + 1) {
                    Some(b'"') => i = j + 2,
                    Some(_) => {
                        self.in_quotes = false;
                        i = j + 1;
                    }
                    None => {
                        self.in_quotes = false;
                        self.reopen_if_quote = true;
                        i = j + 1;
                    }
                }
            } else {
                let before = if j == 0 { self.previous } else { buf[j - 1] };
                if before == self.delimiter || before == b'\n' || before == b'\r' {
                    self.in_quotes = true;
                }
                i = j + 1;
            }
            if i >= buf.len() {
                break;
            }
        }
        self.previous = last;
    }
}

/// What the reader shares with the text it reads through: the quoting state, and the text
/// not yet handed out in a batch.
#[derive(Debug)]
struct Stream {
    quotes: QuoteTracker,
    window: Vec<u8>,
    /// The stream offset of `window[0]`.
    base: u64,
}

struct Tracked<R> {
    inner: R,
    stream: Arc<Mutex<Stream>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut stream = self
            .stream
            .lock()
            .map_err(|_| io::Error::other("the input stream's state was poisoned"))?;
        stream.quotes.feed(&buf[..n]);
        stream.window.extend_from_slice(&buf[..n]);
        Ok(n)
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

fn raw_text(raw: &[u8]) -> String {
    const LIMIT: usize = 64 * 1024;
    let mut text =
        String::from_utf8_lossy(&raw[..raw.len().min(LIMIT + 4)]).replace('\0', "\u{fffd}");
    if raw.len() > LIMIT {
        let mut cut = LIMIT.min(text.len());
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
