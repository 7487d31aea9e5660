//! Handing the usable event rows out, normalised: the hook behind `listwash events normalize`
//! and the addresses of `listwash profiles` (issue 14).
//!
//! Consumes the rows pass 1 folds (a known event the rules use, a real address, a time before
//! `--as-of`), with their address normalised exactly as contacts are
//! ([`crate::normalize::normalize`]: trimmed, lower-cased, IDNA domain); produces
//! [`KeptEvents`], handed slice by slice to an [`EventSink`]. Only rows that reach a profile
//! are kept: ignored, dropped, unknown, unreadable and later events never are. It keeps nothing
//! unless a sink is set ([`EventOptions::keep`](super::EventOptions)), and never writes a file.

use std::sync::Arc;

use super::parse::Event;
use super::profiles::Row;

/// The usable rows of one slice of a batch, with their normalised addresses.
#[derive(Debug, Default)]
pub struct KeptEvents {
    rows: Vec<Row>,
    names: String,
    ends: Vec<usize>,
}

/// One usable event in the normalised schema (`events.parquet`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalEvent<'a> {
    /// The normalised address.
    pub email: &'a str,
    /// Its key ([`crate::normalize::key`]).
    pub key: u128,
    /// `sent`, `delivered`, `open`, `click`, `hard_bounce`, `soft_bounce`, `sender_block`,
    /// `complaint` or `unsubscribe`.
    pub event: &'static str,
    /// Unix seconds, UTC.
    pub ts: i64,
    /// The machine flag (`None`: unknown), after the event name's own say (a `machine_open`).
    pub machine: Option<bool>,
    /// A bounce's SMTP code (`5.1.1`, `550`), when the log gave one.
    pub bounce_code: Option<String>,
    /// A bounce whose SMTP code overrode the service's hard/soft label.
    pub relabelled: bool,
}

/// The name of a usable event in the normalised schema.
fn event_name(event: Event) -> Option<&'static str> {
    Some(match event {
        Event::Sent => "sent",
        Event::Delivered => "delivered",
        Event::Open => "open",
        Event::Click => "click",
        Event::HardBounce => "hard_bounce",
        Event::SoftBounce => "soft_bounce",
        Event::SenderBlock => "sender_block",
        Event::Complaint => "complaint",
        Event::Unsubscribe => "unsubscribe",
        Event::Ignored | Event::Unknown | Event::Dropped => return None,
    })
}

impl KeptEvents {
    /// Keeps a usable row whose address cell is `raw`; `ascii` is what
    /// [`super::cast::address_key`] left in its buffer (the normalised address when `raw` is
    /// ASCII).
    pub(super) fn push(&mut self, row: Row, raw: &str, ascii: &str) {
        if raw.trim().is_ascii() {
            self.names.push_str(ascii);
        } else if let Some(address) = crate::normalize::normalize(raw) {
            self.names.push_str(address.as_str());
        } else {
            return;
        }
        self.ends.push(self.names.len());
        self.rows.push(row);
    }

    /// How many events.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Returns true if and only if no event was kept.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Each event's address key and normalised address, in the order they were read.
    pub fn addresses(&self) -> impl Iterator<Item = (u128, &str)> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        self.rows
            .iter()
            .zip(starts.zip(&self.ends))
            .filter_map(|(row, (start, end))| Some((row.key, self.names.get(start..*end)?)))
    }

    /// The events, in the order they were read.
    pub fn iter(&self) -> impl Iterator<Item = NormalEvent<'_>> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        self.rows
            .iter()
            .zip(starts.zip(&self.ends))
            .filter_map(|(row, (start, end))| {
                Some(NormalEvent {
                    email: self.names.get(start..*end)?,
                    key: row.key,
                    event: event_name(row.event)?,
                    ts: row.ts,
                    machine: row.machine,
                    bounce_code: super::bounce::code_text(row.code),
                    relabelled: row.relabelled,
                })
            })
    }
}

/// Receives the kept events, slice by slice, from several threads in turn (never at once).
/// It cannot fail the read: a sink that fails keeps its error and reports it afterwards.
pub trait EventSink: Send + Sync {
    /// Takes one slice's events.
    fn take(&self, events: &KeptEvents);
}

/// An [`EventSink`] to hand the events to (`EventOptions::keep`).
#[derive(Clone)]
pub struct Keeper(pub Arc<dyn EventSink>);

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keeper")
    }
}
