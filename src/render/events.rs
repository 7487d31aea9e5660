//! Log events for machines (`--log-format json`): every message the binary writes to stderr,
//! as one JSON object per line.
//!
//! Consumes the same reports, results and message texts as the text renderers; produces
//! [`LogEvent`]s and their JSON lines: `{"time", "level", "event", "message", …fields}`.
//! Never prints, and never holds an address: messages are the text mode's (which hold none),
//! fields are counts, timings, names of outputs and reasons, paths given on the command line.
//!
//! See: #13 part 8.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::guard::ThresholdResult;
use crate::reason::Reason;
use crate::report::Report;

/// How serious an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Progress and results.
    Info,
    /// Something the user should look at; the run goes on.
    Warning,
    /// The run failed, or a threshold tripped.
    Error,
}

impl Level {
    /// The level as written in the `level` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// What happened: the `event` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The command started.
    Start,
    /// A warning (the text mode's `listwash: warning: …`).
    Warning,
    /// An error (the text mode's `listwash: …` before exit 1, 2 or 130).
    Error,
    /// Rows done so far (`--progress always`).
    Progress,
    /// The end-of-run counts (the text mode's summary table).
    Summary,
    /// A `--fail-if` threshold that tripped.
    Threshold,
    /// The command ended, with its exit code.
    End,
}

impl EventKind {
    /// The kind as written in the `event` field.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Start => "start",
            EventKind::Warning => "warning",
            EventKind::Error => "error",
            EventKind::Progress => "progress",
            EventKind::Summary => "summary",
            EventKind::Threshold => "threshold",
            EventKind::End => "end",
        }
    }

    /// The level this kind of event has unless said otherwise.
    pub fn level(self) -> Level {
        match self {
            EventKind::Warning => Level::Warning,
            EventKind::Error | EventKind::Threshold => Level::Error,
            EventKind::Start | EventKind::Progress | EventKind::Summary | EventKind::End => {
                Level::Info
            }
        }
    }
}

/// One event: a kind, a level, a message for people and structured fields.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// The `level` field.
    pub level: Level,
    /// The `event` field.
    pub kind: EventKind,
    /// The `message` field: the text mode's message, without its `listwash: ` prefix.
    pub message: String,
    /// Further fields, in order, after `message`.
    pub fields: Vec<(&'static str, Value)>,
}

impl LogEvent {
    /// An event of `kind` at its usual level.
    pub fn new(kind: EventKind, message: impl Into<String>) -> LogEvent {
        LogEvent {
            level: kind.level(),
            kind,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// The same event at another level.
    pub fn with_level(mut self, level: Level) -> LogEvent {
        self.level = level;
        self
    }

    /// The same event with one more field (a key already used, or one of `time`, `level`,
    /// `event`, `message`, is ignored).
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> LogEvent {
        let reserved = ["time", "level", "event", "message"].contains(&key);
        if !reserved && self.fields.iter().all(|(k, _)| *k != key) {
            self.fields.push((key, value.into()));
        }
        self
    }

    /// The event as one line of JSON ending in `\n`: `time` (given, RFC 3339), `level`,
    /// `event`, `message`, then the fields in order.
    pub fn to_json_line(&self, time: &str) -> String {
        // Written key by key: serde_json's Map would sort the keys.
        let head = [
            ("time", Value::from(time)),
            ("level", self.level.as_str().into()),
            ("event", self.kind.as_str().into()),
            ("message", self.message.as_str().into()),
        ];
        let mut line = String::from("{");
        for (key, value) in head.iter().chain(&self.fields) {
            if line.len() > 1 {
                line.push(',');
            }
            line.push_str(&Value::from(*key).to_string());
            line.push(':');
            line.push_str(&value.to_string());
        }
        line.push_str("}\n");
        line
    }
}

/// The end-of-run summary: rows, outputs, reasons that decided rows, DNS, elapsed time.
pub fn summary(report: &Report, out_dir: &Path) -> LogEvent {
    let o = &report.outputs;
    let message = format!(
        "{} rows in {:.1}s: {} clean, {} review, {} suppressed, {} rejected",
        report.input.rows,
        report.elapsed_ms as f64 / 1000.0,
        o.clean,
        o.review,
        o.suppressed,
        o.rejected
    );
    let reasons: Map<String, Value> = Reason::ALL
        .iter()
        .filter_map(|r| {
            let n = report.reasons.get(r.code()).copied().unwrap_or(0);
            (n > 0).then(|| (r.code().to_string(), n.into()))
        })
        .collect();
    LogEvent::new(EventKind::Summary, message)
        .with("rows", report.input.rows)
        .with("elapsed_ms", report.elapsed_ms)
        .with(
            "outputs",
            json!({"clean": o.clean, "review": o.review, "suppressed": o.suppressed, "rejected": o.rejected}),
        )
        .with("reasons", reasons)
        .with(
            "dns",
            json!({
                "checked": report.domains.checked,
                "resolver_trusted": report.domains.resolver_trusted,
                "unique_domains": report.domains.unique,
                "lookups": report.domains.lookups,
                "cache_hits": report.domains.cache_hits,
            }),
        )
        .with("out_dir", out_dir.to_string_lossy().into_owned())
}

/// A threshold that tripped: the text mode's line, and the threshold's figures.
pub fn threshold(result: &ThresholdResult) -> LogEvent {
    LogEvent::new(EventKind::Threshold, super::threshold_tripped(result))
        .with("expression", result.expression.clone())
        .with("subject", result.subject)
        .with("operator", result.operator)
        .with("limit", result.limit)
        .with("unit", result.unit)
        .with("count", result.count)
        .with("rows", result.rows)
        .with("value", result.value)
        .with("tripped", result.tripped)
}
