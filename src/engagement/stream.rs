//! Streaming a JSON array, or JSON documents, record by record.
//!
//! Consumes a log's text through serde_json's streaming deserializer; produces each record
//! (an element of a top-level array, an element of a document's `items`, `events`,
//! `Records`, `emails` or `data` array, or a whole document) as it is parsed, and folds them
//! in batches. Never holds the array, or a document's record array, whole: memory grows
//! with the distinct addresses, not with the events.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::fold::Parsed;
use super::json::{BATCH, JsonLog};
use crate::error::{Error, Result};

/// The keys whose array holds a document's records (Mailgun `items`, Mailchimp `emails`, …).
const CONTAINERS: &[&str] = &["items", "events", "Records", "emails", "data"];

/// The reader's state: records parsed as they arrive, folded every [`BATCH`].
pub(super) struct Streaming<'a, 'b> {
    log: &'a JsonLog<'b>,
    parsed: Parsed,
    rows: u64,
    pending: usize,
    error: Option<Error>,
    buffer: String,
}

impl<'a, 'b> Streaming<'a, 'b> {
    /// A reader folding into `log`.
    pub(super) fn new(log: &'a JsonLog<'b>) -> Self {
        Streaming {
            log,
            parsed: Parsed::with_capacity(BATCH),
            rows: 0,
            pending: 0,
            error: None,
            buffer: String::new(),
        }
    }

    /// Reads every document of `de`'s text.
    ///
    /// # Errors
    /// The text is not JSON (`on_json` makes the error), or a batch cannot be folded.
    pub(super) fn read<R: serde_json::de::Read<'static>>(
        mut self,
        de: &mut serde_json::Deserializer<R>,
        on_json: impl Fn(&serde_json::Error) -> Error,
    ) -> Result<u64> {
        while de.end().is_err() {
            let outcome = (&mut self).deserialize(&mut *de);
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            outcome.map_err(|e| on_json(&e))?;
        }
        self.log.absorb(vec![self.parsed.finish()])?;
        Ok(self.rows)
    }

    /// One record.
    fn push<E: de::Error>(&mut self, value: &Value) -> std::result::Result<(), E> {
        self.log
            .value(Some(value), self.rows, &mut self.parsed, &mut self.buffer);
        self.rows += 1;
        self.pending += 1;
        if self.pending >= BATCH {
            self.pending = 0;
            let batch = std::mem::replace(&mut self.parsed, Parsed::with_capacity(BATCH));
            if let Err(e) = self.log.absorb(vec![batch.finish()]) {
                self.error = Some(e);
                return Err(E::custom("stopped"));
            }
        }
        Ok(())
    }

    /// Every element of an array, as records.
    fn elements<'de, A: SeqAccess<'de>>(
        &mut self,
        mut seq: A,
    ) -> std::result::Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            self.push(&value)?;
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for &mut Streaming<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> std::result::Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Streaming<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array or object of event records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<(), A::Error> {
        self.elements(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let mut rest = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if CONTAINERS.contains(&key.as_str()) {
                match map.next_value_seed(Elements(&mut *self))? {
                    Some(value) => {
                        rest.insert(key, value);
                    }
                    None => streamed = true,
                }
            } else {
                rest.insert(key, map.next_value::<Value>()?);
            }
        }
        if streamed {
            return Ok(());
        }
        self.push(&Value::Object(rest))
    }
}

/// A container key's value: an array is streamed as records (`None`); anything else is
/// returned as it is.
struct Elements<'s, 'a, 'b>(&'s mut Streaming<'a, 'b>);

impl<'de> DeserializeSeed<'de> for Elements<'_, '_, '_> {
    type Value = Option<Value>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        de: D,
    ) -> std::result::Result<Option<Value>, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Option<Value>, A::Error> {
        self.0.elements(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Option<Value>, A::Error> {
        let mut object = Map::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            object.insert(key, value);
        }
        Ok(Some(Value::Object(object)))
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_unit<E>(self) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }
}
