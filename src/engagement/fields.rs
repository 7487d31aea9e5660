//! Event records read by field path, per service dialect.
//!
//! Consumes one JSON value of a log; produces the records inside it (batches, SNS
//! notifications and webhook envelopes unwrapped) and, per record, the event's cells as
//! [`Record`]s: SES (several recipients per bounce, `Subscription`), SparkPost `msys`,
//! Postmark `RecordType`, Mailgun `delivery-status`, Mailchimp `activity`, and every other
//! service's flat fields (with the command line's columns as dotted paths first). Never reads
//! a file, never classifies an event.

use serde_json::Value;

use super::EventOptions;
use super::dialect::Dialect;
use super::fold::Record;
use super::parse;

/// Calls `f` with every event record inside `value`: the elements of a batch (an array,
/// `items`, `emails`, `events`, `Records`), the message of an SNS notification, a Mailgun
/// webhook's `event-data`.
pub(super) fn unwrap(value: &Value, f: &mut dyn FnMut(&Value)) {
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
    if !path.contains('.') {
        return None;
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

/// Keys of envelopes, batches and nested records: an object holding one is read by the
/// general path (see [`super::flat`]).
pub(super) const NESTED: &[&str] = &[
    "event-data",
    "Message",
    "items",
    "events",
    "Records",
    "emails",
    "data",
    "msys",
    "mail",
    "activity",
    "eventType",
    "notificationType",
    "RecordType",
];

/// The keys of each cell in a flat record, most preferred first.
pub(super) const EMAILS: &[&str] = &[
    "email",
    "recipient",
    "Email",
    "Recipient",
    "email_address",
    "Email Address",
    "rcpt_to",
    "address",
];
pub(super) const EVENTS: &[&str] = &[
    "event",
    "Event",
    "event_type",
    "eventType",
    "action",
    "metric",
    "Metric",
    "Metric Name",
    "type",
];
pub(super) const TIMES: &[&str] = &[
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
pub(super) const MACHINES: &[&str] = &[
    "machine",
    "sg_machine_open",
    "Apple Privacy Open",
    "apple_privacy_open",
    "is_machine",
];
pub(super) const LABELS: &[&str] = &[
    "bounce_type",
    "severity",
    "hard_bounce",
    "bounce_class",
    "bounceType",
    "Type",
    "type",
];
pub(super) const DETAILS: &[&str] = &[
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
pub(super) fn events_of(
    record: &Value,
    dialect: Dialect,
    options: &EventOptions,
    f: &mut dyn FnMut(&Record),
) {
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
    let pick = |given: &Option<String>, keys: &[&str]| match given {
        Some(path) => at_path(record, path),
        None => first(record, keys),
    };
    let email = pick(&options.email_column, EMAILS).and_then(text);
    let event_key = match &options.event_column {
        Some(_) => None,
        None => EVENTS.iter().copied().find(|k| record.get(*k).is_some()),
    };
    let event = pick(&options.event_column, EVENTS).and_then(text);
    let label = LABELS
        .iter()
        .filter(|k| Some(**k) != event_key)
        .find_map(|k| record.get(*k))
        .and_then(text);
    let detail = first(record, DETAILS).and_then(text);
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
