//! JSON event logs: a JSON array, JSON lines (NDJSON), or JSON documents, streamed.
//!
//! Consumes a log's decompressed text; produces [`Record`]s folded into the profiles batch by
//! batch. A JSON array is read element by element (serde_json's streaming deserializer, the
//! array never held whole); NDJSON is cut into blocks of whole lines, parsed on every core.
//! Nested records are read by field path per [`Dialect`]: SES event publishing and SNS
//! notifications (one bounce can name several recipients), Mailgun `event-data` and Events API
//! `items`, SendGrid webhook batches, SparkPost `msys`, Postmark, Mailjet, Brevo, Mailchimp
//! `activity`. Never puts a value of the log in a message: JSON errors give line and column.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde_json::Value;

use super::EventOptions;
use super::dialect::{Dialect, Vocabulary};
use super::fields::{events_of, unwrap};
use super::flat::Flat;
use super::fold::{Fold, Parsed, Record};
use super::inspect::{engagement_error, read_error};
use super::stream::Streaming;
use crate::error::{Error, Result};

/// Records folded at a time.
pub(super) const BATCH: usize = 1 << 16;
/// NDJSON bytes read at a time (cut at a line end).
const BLOCK_BYTES: usize = 8 << 20;

/// What a JSON log is, told from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// One JSON array of records.
    Array,
    /// One JSON value per line.
    Lines,
    /// JSON values one after another (a pretty-printed object, or several).
    Documents,
}

/// The shape of a log whose text starts with `start`, or `None` when it is not JSON.
pub(super) fn shape(start: &[u8]) -> Option<Shape> {
    let text = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    let at = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let first = text[at];
    if !matches!(first, b'[' | b'{') {
        return None;
    }
    // One complete value on the first line, and another value on the next: JSON lines (of
    // objects, or of batches such as SendGrid's arrays).
    let line = &text[at..];
    let end = memchr::memchr(b'\n', line).unwrap_or(line.len());
    let whole_line = serde_json::from_slice::<serde::de::IgnoredAny>(&line[..end]).is_ok();
    let more = line[end..].iter().find(|b| !b.is_ascii_whitespace());
    Some(match (first, whole_line, more) {
        (b'{', true, _) | (b'[', true, Some(b'[' | b'{')) => Shape::Lines,
        (b'[', ..) => Shape::Array,
        _ => Shape::Documents,
    })
}

/// The first record of a JSON log's head, for its dialect.
pub(super) fn first_dialect(start: &[u8], shape: Shape) -> Dialect {
    let text = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    let mut found = None;
    let mut first = |value: &Value| {
        if let Some(record) = first_record(value) {
            found = Some(Dialect::from_record(&record));
        }
    };
    match shape {
        Shape::Lines => {
            let end = memchr::memchr(b'\n', text).unwrap_or(text.len());
            if let Ok(value) = serde_json::from_slice::<Value>(&text[..end]) {
                first(&value);
            }
        }
        Shape::Array | Shape::Documents => {
            // The head may end mid-value: read the first element or value alone.
            let inner = match shape {
                Shape::Array => text
                    .iter()
                    .position(|b| *b == b'[')
                    .map_or(text, |at| &text[at + 1..]),
                _ => text,
            };
            let mut values = serde_json::Deserializer::from_slice(inner).into_iter::<Value>();
            if let Some(Ok(value)) = values.next() {
                first(&value);
            }
        }
    }
    found.unwrap_or_else(|| Dialect::from_text(text))
}

/// The first event record inside a value (unwrapping batches, SNS and webhook envelopes).
fn first_record(value: &Value) -> Option<Value> {
    let mut found = None;
    unwrap(value, &mut |record| {
        if found.is_none() {
            found = Some(record.clone());
        }
    });
    found
}

/// Reading one JSON log into the fold.
pub(super) struct JsonLog<'a> {
    pub(super) path: &'a Path,
    pub(super) index: usize,
    pub(super) dialect: Dialect,
    pub(super) vocabulary: &'a Vocabulary,
    pub(super) options: &'a EventOptions,
    pub(super) until: Option<i64>,
    pub(super) fold: &'a Arc<Mutex<Fold>>,
}

impl JsonLog<'_> {
    /// Folds one batch of parsed records.
    pub(super) fn absorb(&self, parsed: Vec<Parsed>) -> Result<()> {
        let mut fold = self.fold.lock().map_err(|_| {
            engagement_error(
                self.path,
                "internal error: a batch failed (please report this)",
            )
        })?;
        fold.absorb(&parsed, self.index, 0).map_err(|e| {
            engagement_error(
                self.path,
                format!("cannot write a temporary file ({e}); free space in TMPDIR"),
            )
        })
    }

    /// Parses one record (a JSON value, or a line that is not one) as row `row`.
    pub(super) fn value(
        &self,
        value: Option<&Value>,
        row: u64,
        parsed: &mut Parsed,
        buffer: &mut String,
    ) {
        let Some(value) = value else {
            parsed.bad_record(row);
            return;
        };
        unwrap(value, &mut |record| {
            events_of(record, self.dialect, self.options, &mut |r| {
                let r = Record {
                    row: Some(row),
                    ..*r
                };
                parsed.record(&r, self.vocabulary, self.until, buffer);
            });
        });
    }

    /// Reads the log (its text from the first byte). Returns the records read.
    pub(super) fn read(&self, reader: Box<dyn Read + Send>, shape: Shape) -> Result<u64> {
        match shape {
            Shape::Lines => self.lines(reader),
            Shape::Array | Shape::Documents => {
                let mut de = serde_json::Deserializer::from_reader(reader);
                Streaming::new(self).read(&mut de, |e| json_error(self.path, e))
            }
        }
    }

    /// NDJSON: blocks of whole lines, each cut in pieces parsed on every core.
    fn lines(&self, reader: Box<dyn Read + Send>) -> Result<u64> {
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let mut line = 0u64;
        let mut carry = Vec::new();
        loop {
            let mut block = std::mem::take(&mut carry);
            let want = BLOCK_BYTES;
            while block.len() < want {
                let buf = reader.fill_buf().map_err(|e| read_error(self.path, &e))?;
                if buf.is_empty() {
                    break;
                }
                let n = buf.len().min(want - block.len());
                block.extend_from_slice(&buf[..n]);
                reader.consume(n);
            }
            if block.is_empty() {
                return Ok(line);
            }
            let at_end = block.len() < want;
            if !at_end {
                match memchr::memrchr(b'\n', &block) {
                    Some(end) => carry = block.split_off(end + 1),
                    None => {
                        // A line longer than a block: read to its end.
                        reader
                            .read_until(b'\n', &mut block)
                            .map_err(|e| read_error(self.path, &e))?;
                    }
                }
            }
            let pieces = split_lines(&block, rayon::current_num_threads() * 4);
            // Flat records of a flat dialect, no column options: the fast path.
            let flat = matches!(
                self.dialect,
                Dialect::Generic
                    | Dialect::Sendgrid
                    | Dialect::Brevo
                    | Dialect::Mailjet
                    | Dialect::Klaviyo
            ) && self.options.email_column.is_none()
                && self.options.event_column.is_none()
                && self.options.time_column.is_none();
            let mut first_line = line;
            let mut jobs = Vec::with_capacity(pieces.len());
            for piece in pieces {
                jobs.push((first_line, piece));
                first_line += memchr::memchr_iter(b'\n', piece).count() as u64;
            }
            let parsed: Vec<Parsed> = jobs
                .into_par_iter()
                .map(|(first, piece)| {
                    let mut parsed = Parsed::with_capacity(piece.len() / 64);
                    let mut buffer = String::with_capacity(64);
                    for (i, text) in piece.split(|b| *b == b'\n').enumerate() {
                        let text = text.strip_suffix(b"\r").unwrap_or(text);
                        if text.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        let row = first + i as u64;
                        if flat && text.first() == Some(&b'{') {
                            match serde_json::from_slice::<Flat<'_>>(text) {
                                Ok(record) => {
                                    let done = record.emit(row, &mut |r| {
                                        parsed.record(r, self.vocabulary, self.until, &mut buffer);
                                    });
                                    if done {
                                        continue;
                                    }
                                }
                                Err(_) => {
                                    parsed.bad_record(row);
                                    continue;
                                }
                            }
                        }
                        let value = serde_json::from_slice::<Value>(text).ok();
                        self.value(value.as_ref(), row, &mut parsed, &mut buffer);
                    }
                    parsed.finish()
                })
                .collect();
            line += memchr::memchr_iter(b'\n', &block).count() as u64;
            if !block.ends_with(b"\n") {
                line += 1;
            }
            self.absorb(parsed)?;
            if at_end && carry.is_empty() {
                return Ok(line);
            }
        }
    }
}

/// `block` cut into about `n` pieces at line ends.
fn split_lines(block: &[u8], n: usize) -> Vec<&[u8]> {
    let step = (block.len() / n.max(1)).max(1 << 16);
    let mut pieces = Vec::new();
    let mut rest = block;
    while rest.len() > step {
        let end = memchr::memchr(b'\n', &rest[step..]).map_or(rest.len(), |at| step + at + 1);
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

/// A JSON syntax error: its line and column, never the text.
fn json_error(path: &Path, e: &serde_json::Error) -> Error {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "cannot be read",
        Category::Syntax => "is not valid JSON",
        Category::Data => "holds a value of an unexpected type",
        Category::Eof => "ends in the middle of a value",
    };
    engagement_error(
        path,
        format!(
            "the log {what} at line {} column {}; export it again as a JSON array or one JSON object per line",
            e.line(),
            e.column()
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::engagement::{EngagementRules, LogStats};

    #[test]
    fn shapes_from_the_first_bytes() {
        assert_eq!(shape(b"  [{\"a\":1},\n{\"a\":2}]"), Some(Shape::Array));
        assert_eq!(shape(b"[{\"a\":1},{\"a\":2}]"), Some(Shape::Array));
        assert_eq!(shape(b"{\"a\":1}\n{\"a\":2}\n"), Some(Shape::Lines));
        assert_eq!(shape(b"[{\"a\":1}]\n[{\"a\":2}]\n"), Some(Shape::Lines));
        assert_eq!(
            shape(b"\xEF\xBB\xBF{\n \"items\": []\n}\n"),
            Some(Shape::Documents)
        );
        assert_eq!(shape(b"email,event\n"), None);
    }

    fn load(name: &str, bytes: &[u8]) -> crate::error::Result<(Vec<(u128, String)>, LogStats)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (profiles, mut stats) = super::super::read::load_with(
            std::slice::from_ref(&path),
            &EngagementRules::default(),
            &EventOptions::default(),
            1 << 20,
        )?;
        let name = path.to_string_lossy().into_owned();
        stats.files = vec![PathBuf::new()];
        stats
            .first_unparsed
            .iter_mut()
            .for_each(|r| r.file = PathBuf::new());
        stats
            .warnings
            .iter_mut()
            .for_each(|w| *w = w.replace(&name, ""));
        stats.per_file.iter_mut().for_each(|f| f.format = "");
        let mut all: Vec<(u128, String)> = profiles
            .iter()
            .map(|(k, p)| (*k, format!("{p:?}")))
            .collect();
        all.sort();
        Ok((all, stats))
    }

    // See: #11 part 1
    #[test]
    fn an_array_streams_past_a_batch_as_json_lines_do() {
        let records: Vec<String> = (0..BATCH + 10)
            .map(|i| {
                let event = ["sent", "delivered", "open", "bounce"][i % 4];
                format!(
                    r#"{{"email":"u{}@example.com","event":"{event}","timestamp":{},"status":"{}"}}"#,
                    i % 97,
                    1_700_000_000 + i,
                    if i % 8 == 3 { "5.2.2" } else { "" }
                )
            })
            .collect();
        let array = format!("[\n{}\n]\n", records.join(",\n"));
        let lines = records.join("\n") + "\n";
        let from_array = load("a.json", array.as_bytes()).unwrap();
        let from_lines = load("l.json", lines.as_bytes()).unwrap();
        assert_eq!(from_array.0, from_lines.0);
        assert_eq!(from_array.1.rows_read, (BATCH + 10) as u64);
        assert_eq!(from_array.1.bounces, from_lines.1.bounces);
        assert!(from_array.1.bounces.soft > 0 && from_array.1.bounces.hard > 0);
    }

    // See: #11 (speed): flat records take the fast path; batches of one, the general one.
    #[test]
    fn the_fast_path_reads_flat_records_as_the_general_path_does() {
        let records = [
            r#"{"email":"a@x.io","event":"open","timestamp":1700000000,"sg_machine_open":true,"sg_event_id":"e1"}"#,
            r#"{"email":"a@x.io","event":"bounce","timestamp":1700000001,"type":"blocked","status":"5.7.1","reason":"550 5.7.1 listed"}"#,
            r#"{"email":"b@x.io","type":"delivered","timestamp":"2024-01-02T03:04:05Z"}"#,
            r#"{"email":"b@x.io","event":"bounce","time":1700000002,"hard_bounce":false,"error":"quota exceeded"}"#,
            r#"{"Email":"c@x.io","Metric":"Opened Email","Timestamp":"2024-01-02T03:04:05Z","Apple Privacy Open":"True"}"#,
            r#"{"email":"c@x.io","event":"proxy_open","ts_event":1700000003,"date":"2023-11-14 22:13:23"}"#,
            r#"{"recipient":"d@x.io","event":"sent","timestamp":1700000004.5,"machine":"1"}"#,
            r#"{"email":"d@x.io","event":"click","timestamp":1700000005,"machine":null}"#,
            r#"{"email":"e@x.io","event":"teleported","timestamp":1700000006}"#,
        ];
        let flat = records.join("\n") + "\n";
        let batches = records
            .iter()
            .map(|r| format!("[{r}]\n"))
            .collect::<String>();
        let fast = load("f.ndjson", flat.as_bytes()).unwrap();
        let general = load("g.ndjson", batches.as_bytes()).unwrap();
        assert_eq!(fast.0, general.0);
        assert_eq!(fast.1, general.1);
        assert_eq!(fast.1.machine_opens_discarded, 3);
        assert_eq!(fast.1.bounces.sender, 1);
        assert_eq!(fast.1.unparsed.unknown_event, 1);
    }

    // See: #11 part 1: a Mailgun Events API page, pretty-printed, its `items` streamed.
    #[test]
    fn a_large_document_streams_its_items_and_keeps_its_dialect() {
        let records: Vec<String> = (0..BATCH + 10)
            .map(|i| {
                let (event, extra) = match i % 4 {
                    0 => ("accepted", String::new()),
                    1 => ("delivered", String::new()),
                    2 => ("opened", String::new()),
                    _ => (
                        "failed",
                        format!(
                            r#","severity":"permanent","reason":"{}","delivery-status":{{"code":550,"message":"5.1.1 no such user"}}"#,
                            if i % 8 == 3 { "suppress-bounce" } else { "bounce" }
                        ),
                    ),
                };
                format!(
                    r#"{{"id":"e{i}","log-level":"info","recipient":"u{}@example.com","event":"{event}","timestamp":{}.5{extra}}}"#,
                    i % 97,
                    1_700_000_000 + i
                )
            })
            .collect();
        let document = format!(
            "{{\n  \"items\": [\n    {}\n  ],\n  \"paging\": {{}}\n}}\n",
            records.join(",\n    ")
        );
        let lines = records.join("\n") + "\n";
        let (doc_profiles, doc) = load("page.json", document.as_bytes()).unwrap();
        let (line_profiles, lines) = load("items.ndjson", lines.as_bytes()).unwrap();
        assert_eq!(doc_profiles, line_profiles);
        assert_eq!(doc.per_file[0].dialect, "mailgun");
        assert_eq!(lines.per_file[0].dialect, "mailgun");
        assert_eq!(doc.rows_read, (BATCH + 10) as u64);
        assert_eq!(doc.dropped_by_service, lines.dropped_by_service);
        assert!(doc.dropped_by_service > 0 && doc.bounces.hard > 0);
    }

    #[test]
    fn a_line_that_is_not_json_is_counted_with_its_line() {
        let text = "{\"email\":\"a@example.com\",\"event\":\"sent\",\"timestamp\":1700000000}\n\
                    {\"email\": secret@example.com}\n\
                    {\"email\":\"a@example.com\",\"event\":\"open\",\"timestamp\":1700000001}\n";
        let (_, stats) = load("l.ndjson", text.as_bytes()).unwrap();
        assert_eq!(stats.unparsed.bad_record, 1);
        assert_eq!(stats.first_unparsed[0].line, 2);
        assert_eq!(stats.rows_used, 2);
    }

    #[test]
    fn a_broken_array_names_line_and_column_never_content() {
        let text = "[\n{\"email\":\"a@example.com\",\"event\":\"sent\",\"timestamp\":1},\n{\"email\": secret-value}\n]";
        let message = load("b.json", text.as_bytes()).unwrap_err().to_string();
        assert!(message.contains("line 3 column"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
}
