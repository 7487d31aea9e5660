//! The fast path for flat JSON records (one object of scalars per event: SendGrid, Brevo,
//! Mailjet, Klaviyo, listwash's own): the cells are picked while the object is parsed,
//! borrowed from the line, with no tree of values built.
//!
//! Consumes one line of a JSON-lines log; produces the event's [`Record`], or `None` when the
//! object holds a nested record (an envelope, a batch, SES, SparkPost …) that the general
//! path of [`super::fields`] reads. Picks the same fields, by the same preference, as that
//! path; never classifies an event.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::fields::{DETAILS, EMAILS, EVENTS, LABELS, MACHINES, NESTED, TIMES};
use super::fold::Record;
use super::parse;

/// A scalar cell, borrowed from the line when it has no escapes.
#[derive(Debug)]
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `null`, an array or an object.
    Other,
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }

            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Int(v))
            }

            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
            }

            fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Float(v))
            }

            fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Bool(v))
            }

            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        de.deserialize_any(V)
    }
}

impl Scalar<'_> {
    /// The cell as text: strings as they are, booleans and numbers written out.
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Scalar::Text(s) => Some(Cow::Borrowed(s.as_ref())),
            Scalar::Bool(true) => Some("true".into()),
            Scalar::Bool(false) => Some("false".into()),
            Scalar::Int(n) => Some(n.to_string().into()),
            Scalar::Float(n) => serde_json::Number::from_f64(*n).map(|n| n.to_string().into()),
            Scalar::Other => None,
        }
    }
}

/// One field's best candidate so far: its preference (lower wins) and value.
#[derive(Debug, Default)]
struct Slot<'a> {
    rank: usize,
    value: Option<Scalar<'a>>,
}

impl<'a> Slot<'a> {
    fn offer(&mut self, rank: usize, value: Scalar<'a>) {
        if self.value.is_none() || rank < self.rank {
            *self = Slot {
                rank,
                value: Some(value),
            };
        }
    }
}

/// A flat record's candidate cells.
#[derive(Debug, Default)]
pub(super) struct Flat<'a> {
    email: Slot<'a>,
    event: Slot<'a>,
    time: Slot<'a>,
    machine: Slot<'a>,
    label: Slot<'a>,
    detail: Slot<'a>,
    /// The `type` key: the event when no other event key is present, else a bounce label.
    kind: Option<Scalar<'a>>,
    /// A key of a nested record or envelope was seen: not flat.
    nested: bool,
}

impl<'de> Deserialize<'de> for Flat<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flat<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Flat<'de>, A::Error> {
                let mut flat = Flat::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let key = key.as_ref();
                    if NESTED.contains(&key) {
                        flat.nested = true;
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    if key == "type" {
                        flat.kind = Some(map.next_value()?);
                        continue;
                    }
                    let rank = |keys: &[&str]| keys.iter().position(|k| *k == key);
                    let slot = if let Some(r) = rank(EMAILS) {
                        Some((&mut flat.email, r))
                    } else if let Some(r) = rank(EVENTS) {
                        Some((&mut flat.event, r))
                    } else if let Some(r) = rank(TIMES) {
                        Some((&mut flat.time, r))
                    } else if let Some(r) = rank(MACHINES) {
                        Some((&mut flat.machine, r))
                    } else if let Some(r) = rank(LABELS) {
                        Some((&mut flat.label, r))
                    } else if let Some(r) = rank(DETAILS) {
                        Some((&mut flat.detail, r))
                    } else {
                        None
                    };
                    match slot {
                        Some((slot, r)) => slot.offer(r, map.next_value()?),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(flat)
            }
        }
        de.deserialize_map(V)
    }
}

/// A time cell: a number (Unix time of any unit) or text.
fn time(value: Option<&Scalar<'_>>) -> Option<i64> {
    match value? {
        Scalar::Int(n) => Some(parse::unix_seconds(*n)),
        Scalar::Float(f) if f.is_finite() => Some(parse::unix_seconds(*f as i64)),
        Scalar::Text(s) => parse::timestamp(s),
        _ => None,
    }
}

impl Flat<'_> {
    /// Calls `f` with the record, or returns false when the object is not a flat event
    /// record (the general path reads it).
    pub(super) fn emit(mut self, row: u64, f: &mut dyn FnMut(&Record)) -> bool {
        if self.nested {
            return false;
        }
        if let Some(kind) = self.kind.take() {
            if self.event.value.is_none() {
                self.event.offer(EVENTS.len(), kind);
            } else if let Some(r) = LABELS.iter().position(|k| *k == "type") {
                self.label.offer(r, kind);
            }
        }
        let email = self.email.value.as_ref().and_then(Scalar::text);
        let event = self.event.value.as_ref().and_then(Scalar::text);
        let label = self.label.value.as_ref().and_then(Scalar::text);
        let detail = self.detail.value.as_ref().and_then(Scalar::text);
        let machine = match &self.machine.value {
            Some(Scalar::Bool(b)) => Some(*b),
            Some(other) => other.text().and_then(|t| parse::boolean(&t)),
            None => None,
        };
        f(&Record {
            email: email.as_deref(),
            event: event.as_deref(),
            label: label.as_deref(),
            detail: detail.as_deref(),
            ts: time(self.time.value.as_ref()),
            machine,
            row: Some(row),
        });
        true
    }
}
