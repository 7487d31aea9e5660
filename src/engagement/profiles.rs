//! Profiles by address key, folded row by row in Rust (the reader hands over parsed rows).
//!
//! Memory is bounded by the number of distinct addresses, never by the number of events: one
//! [`Profile`] per address in a dense `Vec`, plus a key → index map. The keys are split into
//! [`SHARDS`] shards by their top bits so that a batch of rows folds on every core without
//! locks (each shard owns its map and its profiles).
//!
//! Two passes over the rows:
//! 1. [`Shard::fold`]: every count, first and last time (sends, deliveries, last human open and
//!    click, bounces, complaints, unsubscribes, …). Clicks whose `machine` cell is missing or
//!    empty are kept aside (address index and time, 16 bytes each) when the scanner-click
//!    heuristic is on: whether they are a link scanner's depends on deliveries not seen yet.
//! 2. [`Shard::fold_again`], with the last hard bounce and last human engagement known:
//!    deliveries after the last hard bounce and sends after the last human engagement. Pass 1
//!    writes every send and delivery it folds to the shard's spill file (address index and
//!    time, 12 bytes; an unlinked temporary file), so pass 2 reads that back instead of
//!    parsing the logs again. Each
//!    delivery marks the set-aside clicks within the scanner window as scanner clicks, and each
//!    send is counted in the bucket of the last set-aside click before it, so that once the
//!    scanner clicks are known ([`Shard::finish`]) the sends after a click that turns out to
//!    be human are a sum of buckets. Two passes in all, whatever the log holds.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

use super::Profile;
use super::parse::Event;

/// How many shards the keys are split into (a power of two, at least the cores of a
/// typical machine, so that shards balance across threads).
pub(super) const SHARDS: usize = 16;

/// The shard of a key: its top bits (the map inside a shard hashes the low bits).
pub(super) fn shard_of(key: u128) -> usize {
    (key >> (128 - SHARDS.trailing_zeros())) as usize
}

/// Hashes a key by its low 64 bits: keys are already XXH3-128 hashes, so hashing them again
/// would only cost time. (A log crafted to collide in XXH3's low bits only slows listwash down;
/// it cannot change a result.)
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

/// One usable event row: a real address key, a known event the rules use, a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Row {
    /// The address key ([`crate::normalize::key_of`]).
    pub(super) key: u128,
    /// Unix seconds.
    pub(super) ts: i64,
    /// The event.
    pub(super) event: Event,
    /// The `machine` cell: `None` when the log has no such column or the cell is empty.
    pub(super) machine: Option<bool>,
    /// A bounce's SMTP code ([`super::bounce::Code`], 0: none).
    pub(super) code: u32,
    /// A bounce whose code contradicted the service's label.
    pub(super) relabelled: bool,
}

/// A click with an unknown `machine` cell, kept aside until the deliveries are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    index: u32,
    ts: i64,
}

/// Pass 2's view of the set-aside clicks: sorted by (address, time), with per-address ranges.
#[derive(Debug, Default)]
struct Clicks {
    /// Sorted by (index, ts).
    pending: Vec<Pending>,
    /// `pending[starts[i]..starts[i + 1]]` are address `i`'s clicks.
    starts: Vec<u32>,
    /// The click is a scanner's (a delivery within the window before it).
    scanner: Vec<bool>,
    /// Sends in (this click, the address's next click].
    sends_after: Vec<u32>,
}

/// The profiles of the keys of one shard.
#[derive(Debug, Default)]
pub(super) struct Shard {
    index: KeyMap<u32>,
    profiles: Vec<Profile>,
    keys: Vec<u128>,
    pending: Vec<Pending>,
    clicks: Clicks,
    spill: Option<BufWriter<File>>,
}

/// A spill record: the address index (top bit: a delivery; next bit: a soft bounce; else a
/// send) and the time.
const SPILL_RECORD: usize = 12;
const DELIVERY_BIT: u32 = 1 << 31;
const SOFT_BIT: u32 = 1 << 30;

/// What [`Shard::finish`] found among the set-aside clicks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Resolved {
    /// Clicks taken for a link scanner's.
    pub(super) scanner_clicks: u64,
}

fn earliest(slot: &mut Option<i64>, ts: i64) {
    *slot = Some(slot.map_or(ts, |t| t.min(ts)));
}

fn latest(slot: &mut Option<i64>, ts: i64) {
    *slot = Some(slot.map_or(ts, |t| t.max(ts)));
}

impl Shard {
    /// Pass 1: folds rows of this shard. With `scanner_window` (the heuristic on), clicks with
    /// an unknown `machine` cell are set aside; without it they are human.
    ///
    /// # Errors
    /// When the spill file cannot be written.
    pub(super) fn fold(&mut self, rows: &[Row], scanner_window: bool) -> io::Result<()> {
        let spill = match &mut self.spill {
            Some(spill) => spill,
            None => self
                .spill
                .insert(BufWriter::with_capacity(1 << 16, tempfile::tempfile()?)),
        };
        for row in rows {
            let next = self.profiles.len() as u32;
            let index = *self.index.entry(row.key).or_insert(next);
            if index == next {
                self.profiles.push(Profile::default());
                self.keys.push(row.key);
            }
            let p = &mut self.profiles[index as usize];
            let ts = row.ts;
            earliest(&mut p.first_event, ts);
            latest(&mut p.last_event, ts);
            match row.event {
                Event::Sent => {
                    p.sends += 1;
                    spill_record(spill, index, ts)?;
                }
                Event::Delivered => {
                    p.deliveries += 1;
                    latest(&mut p.last_delivery, ts);
                    spill_record(spill, index | DELIVERY_BIT, ts)?;
                }
                Event::Open => match row.machine {
                    Some(true) => p.machine_events += 1,
                    _ => latest(&mut p.last_human_open, ts),
                },
                Event::Click => match row.machine {
                    Some(true) => p.machine_events += 1,
                    None if scanner_window => self.pending.push(Pending { index, ts }),
                    _ => latest(&mut p.last_human_click, ts),
                },
                Event::HardBounce => {
                    p.hard_bounces += 1;
                    earliest(&mut p.first_hard_bounce, ts);
                    if p.last_hard_bounce.is_none_or(|t| ts >= t) {
                        p.last_hard_bounce_code = super::bounce::code_text(row.code);
                        p.last_hard_bounce_relabelled = row.relabelled;
                    }
                    latest(&mut p.last_hard_bounce, ts);
                }
                Event::SoftBounce => {
                    p.soft_bounces += 1;
                    latest(&mut p.last_soft_bounce, ts);
                    spill_record(spill, index | SOFT_BIT, ts)?;
                }
                Event::SenderBlock => p.sender_blocks += 1,
                Event::Complaint => {
                    p.complaints += 1;
                    earliest(&mut p.first_complaint, ts);
                }
                Event::Unsubscribe => {
                    p.unsubscribes += 1;
                    earliest(&mut p.first_unsubscribe, ts);
                }
                Event::Ignored | Event::Unknown | Event::Dropped => {}
            }
        }
        Ok(())
    }

    /// True if some address has sent any `sent` event.
    pub(super) fn has_sends(&self) -> bool {
        self.profiles.iter().any(|p| p.sends > 0)
    }

    /// True if some address has a delivery.
    pub(super) fn has_deliveries(&self) -> bool {
        self.profiles.iter().any(|p| p.deliveries > 0)
    }

    /// Between the passes: deliveries stand in for sends when `!uses_sent`, addresses never
    /// engaged have all their sends since engagement, and the set-aside clicks are sorted.
    /// Returns true if pass 2 has anything to count in this shard.
    pub(super) fn prepare(&mut self, uses_sent: bool) -> bool {
        let mut needs_pass2 = false;
        for p in &mut self.profiles {
            if !uses_sent {
                p.sends = p.deliveries;
            }
            if p.last_engagement().is_none() {
                p.sends_since_engagement = p.sends;
            }
            needs_pass2 |=
                p.last_hard_bounce.is_some() || p.last_engagement().is_some() || p.soft_bounces > 0;
        }
        let mut pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return needs_pass2;
        }
        pending.sort_unstable();
        let mut starts = Vec::with_capacity(self.profiles.len() + 1);
        let mut at = 0usize;
        for index in 0..=self.profiles.len() as u32 {
            while pending.get(at).is_some_and(|c| c.index < index) {
                at += 1;
            }
            starts.push(at as u32);
        }
        self.clicks = Clicks {
            scanner: vec![false; pending.len()],
            sends_after: vec![0; pending.len()],
            pending,
            starts,
        };
        true
    }

    /// Pass 2: folds the sends and deliveries pass 1 spilled (`sends` is the event that counts
    /// as a send), with the scanner window in seconds.
    ///
    /// # Errors
    /// When the spill file cannot be read back.
    pub(super) fn fold_again(&mut self, sends: Event, window: i64) -> io::Result<()> {
        let Some(spill) = self.spill.take() else {
            return Ok(());
        };
        let mut file = spill.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.rewind()?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut record = [0u8; SPILL_RECORD];
        loop {
            match reader.read_exact(&mut record) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
            let (head, time) = record.split_at(4);
            let (Ok(head), Ok(time)) = (<[u8; 4]>::try_from(head), <[u8; 8]>::try_from(time))
            else {
                continue;
            };
            let head = u32::from_le_bytes(head);
            let event = if head & DELIVERY_BIT != 0 {
                Event::Delivered
            } else if head & SOFT_BIT != 0 {
                Event::SoftBounce
            } else {
                Event::Sent
            };
            self.count_again(
                head & !(DELIVERY_BIT | SOFT_BIT),
                i64::from_le_bytes(time),
                event,
                sends,
                window,
            );
        }
    }

    /// Pass 2 for one send or delivery of address `index`.
    fn count_again(&mut self, index: u32, ts: i64, event: Event, sends: Event, window: i64) {
        let clicks = &mut self.clicks;
        let Some(p) = self.profiles.get_mut(index as usize) else {
            return;
        };
        if event == Event::Delivered && p.last_hard_bounce.is_some_and(|b| ts > b) {
            p.deliveries_after_last_hard_bounce += 1;
        }
        if event == Event::SoftBounce {
            // The streak: soft bounces with no delivery after them.
            if p.last_delivery.is_none_or(|d| ts > d) {
                p.soft_bounce_streak += 1;
            }
            return;
        }
        if event == sends && p.last_engagement().is_some_and(|e| ts > e) {
            p.sends_since_engagement += 1;
        }
        if clicks.pending.is_empty() {
            return;
        }
        let (Some(&start), Some(&end)) = (
            clicks.starts.get(index as usize),
            clicks.starts.get(index as usize + 1),
        ) else {
            return;
        };
        let (start, end) = (start as usize, end as usize);
        if start == end {
            return;
        }
        let mine = &clicks.pending[start..end];
        if event == Event::Delivered {
            // Clicks in [ts, ts + window] are a scanner's.
            let first = mine.partition_point(|c| c.ts < ts);
            let last = mine.partition_point(|c| c.ts <= ts.saturating_add(window));
            for flag in &mut clicks.scanner[start + first..start + last] {
                *flag = true;
            }
        }
        if event == sends {
            // The bucket of the last click strictly before the send.
            let after = mine.partition_point(|c| c.ts < ts);
            if after > 0 {
                clicks.sends_after[start + after - 1] += 1;
            }
        }
    }

    /// After pass 2: the set-aside clicks that no delivery explains are human.
    pub(super) fn finish(&mut self) -> Resolved {
        let clicks = std::mem::take(&mut self.clicks);
        let mut resolved = Resolved::default();
        if clicks.pending.is_empty() {
            return resolved;
        }
        for (index, p) in self.profiles.iter_mut().enumerate() {
            let (Some(&start), Some(&end)) =
                (clicks.starts.get(index), clicks.starts.get(index + 1))
            else {
                continue;
            };
            let (start, end) = (start as usize, end as usize);
            if start == end {
                continue;
            }
            let scanner = &clicks.scanner[start..end];
            let mine = &clicks.pending[start..end];
            let scanned = scanner.iter().filter(|s| **s).count() as u64;
            p.scanner_clicks += scanned;
            resolved.scanner_clicks += scanned;
            // The last human click among them (sorted by time: the last unflagged one).
            let Some(last) = (0..mine.len()).rev().find(|i| !scanner[*i]) else {
                continue;
            };
            let click = mine[last].ts;
            let before = p.last_engagement();
            latest(&mut p.last_human_click, click);
            if before.is_none_or(|e| click > e) {
                // Sends strictly after `click`: the buckets of every click at or after it.
                let first = mine.partition_point(|c| c.ts < click);
                p.sends_since_engagement = clicks.sends_after[start + first..end]
                    .iter()
                    .map(|n| u64::from(*n))
                    .sum();
            }
        }
        resolved
    }

    /// Sets the profile of a key (profiles read back from a file; issue 14).
    pub(super) fn insert(&mut self, key: u128, profile: Profile) {
        let next = self.profiles.len() as u32;
        let index = *self.index.entry(key).or_insert(next);
        if index == next {
            self.profiles.push(profile);
            self.keys.push(key);
        } else if let Some(slot) = self.profiles.get_mut(index as usize) {
            *slot = profile;
        }
    }

    /// The profile of a key.
    pub(super) fn get(&self, key: u128) -> Option<&Profile> {
        self.index
            .get(&key)
            .and_then(|i| self.profiles.get(*i as usize))
    }

    /// Every key with its profile.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&u128, &Profile)> {
        self.keys.iter().zip(&self.profiles)
    }

    /// How many addresses.
    pub(super) fn len(&self) -> usize {
        self.profiles.len()
    }
}

fn spill_record(spill: &mut BufWriter<File>, head: u32, ts: i64) -> io::Result<()> {
    let mut record = [0u8; SPILL_RECORD];
    record[..4].copy_from_slice(&head.to_le_bytes());
    record[4..].copy_from_slice(&ts.to_le_bytes());
    spill.write_all(&record)
}

/// All profiles, in [`SHARDS`] shards.
#[derive(Debug)]
pub(super) struct Profiles {
    pub(super) shards: Vec<Shard>,
}

impl Default for Profiles {
    fn default() -> Self {
        Profiles {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl Profiles {
    /// Sets the profile of a key (issue 14).
    pub(super) fn insert(&mut self, key: u128, profile: Profile) {
        if let Some(shard) = self.shards.get_mut(shard_of(key)) {
            shard.insert(key, profile);
        }
    }

    /// The profile of a key.
    pub(super) fn get(&self, key: u128) -> Option<&Profile> {
        self.shards.get(shard_of(key)).and_then(|s| s.get(key))
    }

    /// Every key with its profile, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&u128, &Profile)> {
        self.shards.iter().flat_map(Shard::iter)
    }

    /// How many addresses.
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(Shard::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: u128, ts: i64, event: Event, machine: Option<bool>) -> Row {
        Row {
            key,
            ts,
            event,
            machine,
            code: 0,
            relabelled: false,
        }
    }

    #[test]
    fn keys_that_share_a_low_half_stay_apart() {
        let a = (7u128 << 64) | 42;
        let b = (9u128 << 64) | 42;
        let mut profiles = Profiles::default();
        let shard = &mut profiles.shards[shard_of(a)];
        shard.fold(&[row(a, 10, Event::Sent, None)], true).unwrap();
        shard
            .fold(
                &[row(b, 20, Event::Sent, None), row(b, 30, Event::Sent, None)],
                true,
            )
            .unwrap();
        assert_eq!(profiles.len(), 2);
        assert_eq!(profiles.get(a).map(|p| p.sends), Some(1));
        assert_eq!(profiles.get(b).map(|p| p.sends), Some(2));
        assert_eq!(profiles.get((8u128 << 64) | 42), None);
        assert_eq!(profiles.iter().count(), 2);
    }

    #[test]
    fn set_aside_clicks_resolve_after_pass_two() {
        let k = 5u128;
        let rows = [
            row(k, 100, Event::Sent, None),
            row(k, 101, Event::Delivered, None),
            row(k, 105, Event::Click, None), // 4 s after a delivery: scanner
            row(k, 200, Event::Sent, None),
            row(k, 300, Event::Click, None), // no delivery before it: human
            row(k, 400, Event::Sent, None),
            row(k, 500, Event::Sent, None),
            row(k, 50, Event::Open, Some(false)),
        ];
        let mut shard = Shard::default();
        shard.fold(&rows, true).unwrap();
        assert!(shard.prepare(true));
        shard.fold_again(Event::Sent, 10).unwrap();
        assert_eq!(shard.finish().scanner_clicks, 1);
        let p = shard.get(k).unwrap();
        assert_eq!(p.scanner_clicks, 1);
        assert_eq!(p.last_human_click, Some(300));
        assert_eq!(p.sends_since_engagement, 2);
    }
}
