//! JSON event logs: a JSON array, JSON lines (NDJSON), or JSON documents, streamed.
//!
//! Consumes a log's decompressed text; produces [`Record`]s folded into the profiles batch by
//! batch. A JSON array is read element by element (serde_json's streaming deserializer, the
//! array never held whole); NDJSON is cut into blocks of whole lines, parsed on every core.
//! Nested records are read by field path per [`Dialect`]: SES event publishing and SNS
//! notifications (one bounce can name several recipients), Mailgun `event-data` and Events API
//! `items`, SendGrid webhook batches, SparkPost `msys`, Postmark, Mailjet, Brevo, Mailchimp
//! `activity`. Never puts a value of the log in a message: JSON errors give line and column.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::Value;

use super::dialect::{Dialect, Vocabulary};
use super::fold::{Fold, Parsed, Record};
use super::inspect::{engagement_error, read_error};
use super::{EventOptions, parse};
use crate::error::{Error, Result};

/// Records folded at a time.
const BATCH: usize = 1 << 16;
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
    match text[at] {
        b'[' => Some(Shape::Array),
        b'{' => {
            let line = &text[at..];
            let end = memchr::memchr(b'\n', line).unwrap_or(line.len());
            if serde_json::from_slice::<serde::de::IgnoredAny>(&line[..end]).is_ok() {
                Some(Shape::Lines)
            } else {
                Some(Shape::Documents)
            }
        }
        _ => None,
    }
}

/// The first record of a JSON log's head, for its dialect.
pub(super) fn first_dialect(start: &[u8], shape: Shape) -> Dialect {
    let text = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    let mut found = Dialect::Generic;
    let mut first = |value: &Value| {
        if let Some(record) = first_record(value) {
            found = Dialect::from_record(&record);
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
    found
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

/// Calls `f` with every event record inside `value`: the elements of a batch (an array,
/// `items`, `emails`, `events`, `Records`), the message of an SNS notification, a Mailgun
/// webhook's `event-data`.
fn unwrap(value: &Value, f: &mut dyn FnMut(&Value)) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| unwrap(v, f)),
        Value::Object(map) => {
            if let Some(inner) = map.get("event-data") {
                return unwrap(inner, f);
            }
            if map.get("Type").and_then(Value::as_str) == Some("Notification")
                && let Some(Ok(inner)) = map
                    .get("Message")
                    .and_then(Value::as_str)
                    .map(serde_json::from_str::<Value>)
            {
                return unwrap(&inner, f);
            }
            let is_event = [
                "event",
                "eventType",
                "notificationType",
                "RecordType",
                "msys",
            ]
            .iter()
            .any(|k| map.contains_key(*k));
            if !is_event {
                for key in ["items", "events", "Records", "emails", "data"] {
                    if let Some(Value::Array(items)) = map.get(key) {
                        return items.iter().for_each(|v| unwrap(v, f));
                    }
                }
            }
            f(value);
        }
        _ => f(value),
    }
}

/// A value as text for a cell (strings as they are, booleans and numbers written out).
fn text(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Value::String(s) => Some(s.as_str().into()),
        Value::Bool(true) => Some("true".into()),
        Value::Bool(false) => Some("false".into()),
        Value::Number(n) => Some(n.to_string().into()),
        _ => None,
    }
}

/// The value at a dotted path (`mail.destination`, `delivery-status.code`).
fn at_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if let Some(found) = value.get(path) {
        return Some(found);
    }
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// The first of `keys` present in `value`.
fn first<'v>(value: &'v Value, keys: &[&str]) -> Option<&'v Value> {
    keys.iter().find_map(|k| at_path(value, k))
}

/// A time value: a number (Unix time of any unit) or text ([`parse::timestamp`]).
fn time(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(parse::unix_seconds),
        Value::String(s) => parse::timestamp(s),
        _ => None,
    }
}

const EMAILS: &[&str] = &[
    "email",
    "recipient",
    "Email",
    "Recipient",
    "email_address",
    "Email Address",
    "rcpt_to",
    "address",
];
const EVENTS: &[&str] = &[
    "event",
    "Event",
    "event_type",
    "eventType",
    "action",
    "metric",
    "Metric Name",
    "type",
];
const TIMES: &[&str] = &[
    "timestamp",
    "time",
    "ts_event",
    "ts",
    "date",
    "event_time",
    "occurred_at",
    "datetime",
    "Timestamp",
];
const MACHINES: &[&str] = &[
    "machine",
    "sg_machine_open",
    "Apple Privacy Open",
    "apple_privacy_open",
    "is_machine",
];
const LABELS: &[&str] = &[
    "bounce_type",
    "severity",
    "hard_bounce",
    "bounce_class",
    "bounceType",
    "Type",
    "type",
];
const DETAILS: &[&str] = &[
    "status",
    "diagnostic_code",
    "diagnosticCode",
    "raw_reason",
    "reason",
    "response",
    "error",
    "Details",
    "description",
];

/// Calls `f` with each event of one record, read by `dialect`'s field paths (`options`'
/// columns first, as dotted paths).
fn events_of(record: &Value, dialect: Dialect, options: &EventOptions, f: &mut dyn FnMut(&Record)) {
    let user = |path: &Option<String>, keys: &'static [&'static str]| -> Vec<String> {
        match path {
            Some(p) => vec![p.clone()],
            None => keys.iter().map(|k| (*k).to_owned()).collect(),
        }
    };
    match dialect {
        Dialect::Ses => return ses(record, f),
        Dialect::Sparkpost => {
            if let Some(Value::Object(msys)) = record.get("msys")
                && let Some(inner) = msys.values().next()
            {
                let detail = first(inner, &["raw_reason", "reason", "error_code"]);
                let detail = detail.and_then(text);
                let label = inner.get("bounce_class").and_then(text);
                f(&Record {
                    email: inner.get("rcpt_to").and_then(Value::as_str),
                    event: inner.get("type").and_then(Value::as_str),
                    label: label.as_deref(),
                    detail: detail.as_deref(),
                    ts: time(inner.get("timestamp")),
                    machine: None,
                    row: None,
                });
                return;
            }
        }
        Dialect::Postmark => {
            let kind = record.get("RecordType").and_then(Value::as_str);
            let event = match kind {
                Some("SubscriptionChange") => {
                    match record.get("SuppressSending").and_then(Value::as_bool) {
                        Some(true) => Some("unsubscribe"),
                        _ => Some("resubscribe"),
                    }
                }
                other => other,
            };
            let label = record.get("Type").and_then(Value::as_str);
            f(&Record {
                email: first(record, &["Email", "Recipient"]).and_then(Value::as_str),
                event,
                label: if kind == Some("Bounce") { label } else { None },
                detail: record.get("Details").and_then(Value::as_str),
                ts: time(first(
                    record,
                    &["BouncedAt", "DeliveredAt", "ReceivedAt", "ChangedAt"],
                )),
                machine: None,
                row: None,
            });
            return;
        }
        Dialect::Mailgun => {
            let reason = record.get("reason").and_then(Value::as_str);
            let status = record.get("delivery-status");
            let combined = status.map(|s| {
                ["code", "message", "description"]
                    .iter()
                    .filter_map(|k| s.get(*k).and_then(text))
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            let detail = match reason {
                Some(r) if r.starts_with("suppress-") => Some(r),
                _ => combined.as_deref(),
            };
            f(&Record {
                email: record.get("recipient").and_then(Value::as_str),
                event: record.get("event").and_then(Value::as_str),
                label: record.get("severity").and_then(Value::as_str),
                detail,
                ts: time(record.get("timestamp")),
                machine: None,
                row: None,
            });
            return;
        }
        Dialect::Mailchimp => {
            if let Some(Value::Array(activity)) = record.get("activity") {
                let email = record.get("email_address").and_then(Value::as_str);
                for item in activity {
                    f(&Record {
                        email,
                        event: item.get("action").and_then(Value::as_str),
                        label: item.get("type").and_then(Value::as_str),
                        detail: None,
                        ts: time(item.get("timestamp")),
                        machine: None,
                        row: None,
                    });
                }
                return;
            }
        }
        _ => {}
    }
    let get = |keys: Vec<String>| keys.iter().find_map(|k| at_path(record, k)).and_then(text);
    let email = get(user(&options.email_column, EMAILS));
    let event = get(user(&options.event_column, EVENTS));
    let label_keys: Vec<String> = LABELS
        .iter()
        .filter(|k| Some(**k) != event_key(record, options))
        .map(|k| (*k).to_owned())
        .collect();
    let label = get(label_keys);
    let detail = get(user(&None, DETAILS));
    let machine = first(record, MACHINES).and_then(|v| match v {
        Value::Bool(b) => Some(*b),
        other => text(other).and_then(|t| parse::boolean(&t)),
    });
    let ts = match &options.time_column {
        Some(path) => time(at_path(record, path)),
        None => time(first(record, TIMES)),
    };
    f(&Record {
        email: email.as_deref(),
        event: event.as_deref(),
        label: label.as_deref(),
        detail: detail.as_deref(),
        ts,
        machine,
        row: None,
    });
}

/// The key the event name was read from (not also a bounce label).
fn event_key(record: &Value, options: &EventOptions) -> Option<&'static str> {
    if options.event_column.is_some() {
        return None;
    }
    EVENTS
        .iter()
        .copied()
        .find(|k| at_path(record, k).is_some())
}

/// Amazon SES: `eventType` (event publishing) or `notificationType` (feedback
/// notifications); recipients from `bounce.bouncedRecipients`, `complaint.complainedRecipients`,
/// `delivery.recipients`, else `mail.destination`.
fn ses(record: &Value, f: &mut dyn FnMut(&Record)) {
    let kind = first(record, &["eventType", "notificationType"]).and_then(Value::as_str);
    let destination = || -> Vec<&str> {
        match at_path(record, "mail.destination") {
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    };
    let mail_time = time(at_path(record, "mail.timestamp"));
    match kind {
        Some("Bounce") => {
            let bounce = record.get("bounce");
            let label = bounce
                .and_then(|b| b.get("bounceType"))
                .and_then(Value::as_str);
            let ts = time(bounce.and_then(|b| b.get("timestamp"))).or(mail_time);
            if let Some(Value::Array(list)) = bounce.and_then(|b| b.get("bouncedRecipients")) {
                for r in list {
                    let detail = match (r.get("status"), r.get("diagnosticCode")) {
                        (Some(s), Some(d)) => {
                            text(s).map(|s| format!("{s} {}", text(d).unwrap_or_default()))
                        }
                        (Some(s), None) => text(s).map(|s| s.into_owned()),
                        (None, Some(d)) => text(d).map(|s| s.into_owned()),
                        (None, None) => None,
                    };
                    emit(
                        f,
                        r.get("emailAddress").and_then(Value::as_str),
                        Some("bounce"),
                        label,
                        detail.as_deref(),
                        ts,
                    );
                }
            }
        }
        Some("Complaint") => {
            let complaint = record.get("complaint");
            let ts = time(complaint.and_then(|c| c.get("timestamp"))).or(mail_time);
            if let Some(Value::Array(list)) = complaint.and_then(|c| c.get("complainedRecipients"))
            {
                for r in list {
                    let email = r.get("emailAddress").and_then(Value::as_str);
                    emit(f, email, Some("complaint"), None, None, ts);
                }
            }
        }
        Some("Subscription") => {
            // Unsubscribed from everything, or from a topic: either way an unsubscribe.
            let ts = time(at_path(record, "subscription.timestamp")).or(mail_time);
            let unsubscribed = at_path(record, "subscription.newTopicPreferences.unsubscribeAll")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                || matches!(
                    at_path(record, "subscription.newTopicPreferences.topicSubscriptionStatus"),
                    Some(Value::Array(topics)) if topics.iter().any(|t| t.get("subscriptionStatus").and_then(Value::as_str) == Some("OptOut"))
                );
            let event = if unsubscribed {
                "unsubscribe"
            } else {
                "resubscribe"
            };
            for email in destination() {
                emit(f, Some(email), Some(event), None, None, ts);
            }
        }
        Some(other) => {
            let (object, recipients) = match other {
                "Delivery" => ("delivery", Some("delivery.recipients")),
                "Open" => ("open", None),
                "Click" => ("click", None),
                "Send" => ("send", None),
                "Reject" => ("reject", None),
                "DeliveryDelay" => ("deliveryDelay", None),
                _ => ("", None),
            };
            let ts = time(at_path(record, &format!("{object}.timestamp"))).or(mail_time);
            let list: Vec<&str> = match recipients.and_then(|p| at_path(record, p)) {
                Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
                _ => destination(),
            };
            for email in list {
                emit(f, Some(email), Some(other), None, None, ts);
            }
        }
        None => emit(f, None, None, None, None, mail_time),
    }
}

/// Calls `f` with one event of an SES record.
fn emit(
    f: &mut dyn FnMut(&Record),
    email: Option<&str>,
    event: Option<&str>,
    label: Option<&str>,
    detail: Option<&str>,
    ts: Option<i64>,
) {
    f(&Record {
        email,
        event,
        label,
        detail,
        ts,
        machine: None,
        row: None,
    });
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
    fn absorb(&self, parsed: Vec<Parsed>) -> Result<()> {
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
    fn value(&self, value: Option<&Value>, row: u64, parsed: &mut Parsed, buffer: &mut String) {
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
            Shape::Array => {
                let mut state = Streaming {
                    log: self,
                    parsed: Parsed::with_capacity(BATCH),
                    rows: 0,
                    pending: 0,
                    error: None,
                    buffer: String::new(),
                };
                let mut de = serde_json::Deserializer::from_reader(reader);
                let outcome = (&mut state).deserialize(&mut de).and_then(|()| de.end());
                if let Some(e) = state.error.take() {
                    return Err(e);
                }
                outcome.map_err(|e| json_error(self.path, &e))?;
                let rows = state.rows;
                self.absorb(vec![state.parsed.finish()])?;
                Ok(rows)
            }
            Shape::Documents => {
                let mut parsed = Parsed::with_capacity(BATCH);
                let mut buffer = String::new();
                let mut rows = 0u64;
                for value in serde_json::Deserializer::from_reader(reader).into_iter::<Value>() {
                    let value = value.map_err(|e| json_error(self.path, &e))?;
                    self.value(Some(&value), rows, &mut parsed, &mut buffer);
                    rows += 1;
                }
                self.absorb(vec![parsed.finish()])?;
                Ok(rows)
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
                        let value = serde_json::from_slice::<Value>(text).ok();
                        self.value(value.as_ref(), first + i as u64, &mut parsed, &mut buffer);
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

/// The array reader's state: each element parsed as it arrives.
struct Streaming<'a, 'b> {
    log: &'a JsonLog<'b>,
    parsed: Parsed,
    rows: u64,
    pending: usize,
    error: Option<Error>,
    buffer: String,
}

impl<'de> DeserializeSeed<'de> for &mut Streaming<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> std::result::Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for &mut Streaming<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of event records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            self.log
                .value(Some(&value), self.rows, &mut self.parsed, &mut self.buffer);
            self.rows += 1;
            self.pending += 1;
            if self.pending >= BATCH {
                self.pending = 0;
                let batch = std::mem::replace(&mut self.parsed, Parsed::with_capacity(BATCH));
                if let Err(e) = self.log.absorb(vec![batch.finish()]) {
                    self.error = Some(e);
                    return Err(serde::de::Error::custom("stopped"));
                }
            }
        }
        Ok(())
    }
}
