//! `clean --sample N`: a quick preview of a big list. Reads the input once, streaming, keeps a
//! seeded uniform random sample of N rows (reservoir sampling, Algorithm R), decides the
//! sample with [`Decider::decide_batch`] in input order, and projects the counts per output
//! and per reason onto the whole list with a 95% Wilson score interval.
//!
//! Consumes an input, read and decision settings; produces a [`SampleReport`] (counts only).
//! Never writes a file, never holds an address in its report, and asks DNS only for the
//! sample's domains.
//!
//! Duplicates: a row is a duplicate in `clean` when its address appeared earlier. A uniform
//! sample rarely holds both copies, so instead every row's address key is computed while
//! streaming, and a sampled row whose address appears again *later* in the list stands for one
//! duplicate: an address with k occurrences has k − 1 such rows, exactly as many as `clean`
//! marks duplicate. The duplicate share is thus estimated over the whole list; the other
//! sampled rows (no later copy, so no two share an address) are decided on their own merits,
//! so an address's row decided on its merits is its last occurrence rather than its first
//! (the same address, though its signup cell may differ).
//! Rejected records are counted exactly, not sampled.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::DecideConfig;
use crate::decide::{Decider, RowInput};
use crate::error::Result;
use crate::read::{Batch, Input, InputSource, Item, ReadOptions};
use crate::reason::{Action, Finding, Reason};
use crate::resolve::WarnSink;

/// The seed used when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 0;

/// The normal quantile of a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// `--sample N --seed S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleOptions {
    /// Rows to sample (at most; fewer when the list is shorter).
    pub size: usize,
    /// The random generator's seed: the same seed and input give the same sample.
    pub seed: u64,
}

/// SplitMix64, a small seeded generator (the same as examples/support/splitmix.rs).
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` (`bound` > 0), without modulo bias (Lemire's method).
    fn below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(bound);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// A uniform random sample of at most `capacity` items of a stream (Algorithm R): after `t`
/// offers, every offered item is held with probability `min(capacity, t) / t`.
#[derive(Debug, Clone)]
pub struct Reservoir<T> {
    capacity: usize,
    offered: u64,
    rng: SplitMix,
    /// Each held item with its position in the stream.
    slots: Vec<(u64, T)>,
}

/// What [`Reservoir::offer`] did with an item.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer<T> {
    /// Not kept.
    Skipped,
    /// Kept in this slot, evicting the item there, if any.
    Kept(usize, Option<T>),
}

impl<T> Reservoir<T> {
    /// An empty reservoir for `capacity` items, its choices drawn from `seed`.
    pub fn new(capacity: usize, seed: u64) -> Reservoir<T> {
        Reservoir {
            capacity,
            offered: 0,
            rng: SplitMix(seed),
            slots: Vec::with_capacity(capacity.min(1 << 20)),
        }
    }

    /// Offers the stream's next item.
    pub fn offer(&mut self, item: T) -> Offer<T> {
        let position = self.offered;
        self.offered += 1;
        if self.slots.len() < self.capacity {
            self.slots.push((position, item));
            return Offer::Kept(self.slots.len() - 1, None);
        }
        let j = self.rng.below(position + 1);
        match usize::try_from(j) {
            Ok(slot) if slot < self.capacity => {
                let old = std::mem::replace(&mut self.slots[slot], (position, item));
                Offer::Kept(slot, Some(old.1))
            }
            _ => Offer::Skipped,
        }
    }

    /// The item in `slot`.
    pub fn get_mut(&mut self, slot: usize) -> Option<&mut T> {
        self.slots.get_mut(slot).map(|(_, item)| item)
    }

    /// Items offered so far.
    pub fn offered(&self) -> u64 {
        self.offered
    }

    /// The held items in stream order.
    pub fn into_ordered(mut self) -> Vec<T> {
        self.slots.sort_unstable_by_key(|(position, _)| *position);
        self.slots.into_iter().map(|(_, item)| item).collect()
    }
}

/// The 95% Wilson score interval of a proportion: `hits` of `n` trials. Returns (low, high),
/// both within 0..=1; (0, 1) when `n` is 0.
pub fn wilson(hits: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (hits.min(n) as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// One output's or reason's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Estimate {
    /// Rows of the sample.
    pub sample: u64,
    /// Projected rows of the whole list (the sample's share × the rows sampled from).
    pub projected: u64,
    /// The 95% interval's low end, rows of the whole list (rounded down).
    pub low: u64,
    /// The 95% interval's high end, rows of the whole list (rounded up).
    pub high: u64,
}

impl Estimate {
    /// Projects `hits` of a sample of `n` onto `population` rows; exact when the sample is the
    /// whole population.
    pub fn project(hits: u64, n: u64, population: u64) -> Estimate {
        if n == 0 || n >= population {
            return Estimate {
                sample: hits,
                projected: hits,
                low: hits,
                high: hits,
            };
        }
        let rows = population as f64;
        let (low, high) = wilson(hits, n);
        let clamp = |x: f64| (x.max(0.0) as u64).min(population);
        Estimate {
            sample: hits,
            projected: clamp((hits as f64 / n as f64 * rows).round()),
            low: clamp((low * rows).floor()),
            high: clamp((high * rows).ceil()),
        }
    }
}

/// The preview `clean --sample` prints as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SampleReport {
    /// The crate's version.
    pub listwash_version: &'static str,
    /// Readable rows read (the population the sample is drawn from).
    pub rows_read: u64,
    /// Records that could not be read as rows: counted exactly, not sampled.
    pub rejected: u64,
    /// Rows sampled: `min(--sample, rows_read)`.
    pub sample_size: u64,
    /// The seed used.
    pub seed: u64,
    /// The intervals' confidence level.
    pub confidence: f64,
    /// True when the sample is the whole list: the counts are then exact.
    pub exact: bool,
    /// Per output (`clean`, `review`, `suppressed`).
    pub outputs: BTreeMap<&'static str, Estimate>,
    /// Per deciding reason seen in the sample.
    pub reasons: BTreeMap<&'static str, Estimate>,
    /// Distinct domains the sample's rows needed (the only ones asked of DNS).
    pub sample_domains: u64,
}

/// A sampled row, with what the decision needs.
#[derive(Debug)]
struct Sampled {
    line: u64,
    /// The record's text (without its line end), read again as a row when decided, so that
    /// the contact file's signup, vendor status and consent columns count as in `clean`.
    raw: Vec<u8>,
    key: Option<u128>,
    /// The address appears again later in the list.
    later: bool,
}

/// The output an action sends a row to.
fn output_of(action: Action) -> &'static str {
    match action {
        Action::Keep => "clean",
        Action::Review => "review",
        Action::Suppress => "suppressed",
    }
}

/// Samples `input` and decides the sample. See the module docs.
///
/// # Errors
/// When the input cannot be read, or a list, log or DNS setting cannot be loaded.
pub fn sample(
    input: &InputSource,
    read: &ReadOptions,
    decide: &DecideConfig,
    options: &SampleOptions,
    warn: WarnSink,
) -> Result<SampleReport> {
    let mut source = Input::open(input, read)?;
    let (email_index, shape) = (source.email_index(), source.shape());
    let contacts = source.contacts();
    let mut reservoir: Reservoir<Sampled> = Reservoir::new(options.size, options.seed);
    // Slots of held rows whose address has not yet appeared again, by address key.
    let mut watched: HashMap<u128, Vec<usize>> = HashMap::new();
    let mut rejected = 0u64;
    let mut batch = Batch::default();
    loop {
        let more = source.read_batch(crate::read::BATCH_BYTES, &mut batch)?;
        let items: Vec<Item<'_>> = batch.items().collect();
        let keys: Vec<Option<u128>> = items
            .par_iter()
            .map(|item| match item {
                Item::Row(row) => crate::syntax::check(row.text(email_index))
                    .ok()
                    .map(|n| n.key()),
                Item::Rejected(_) => None,
            })
            .collect();
        for (item, key) in items.iter().zip(keys) {
            let Item::Row(row) = item else {
                rejected += 1;
                continue;
            };
            if let Some(slots) = key.and_then(|k| watched.remove(&k)) {
                for slot in slots {
                    if let Some(held) = reservoir.get_mut(slot) {
                        held.later = true;
                    }
                }
            }
            let candidate = Sampled {
                line: row.line,
                raw: Vec::new(),
                key,
                later: false,
            };
            if let Offer::Kept(slot, evicted) = reservoir.offer(candidate) {
                if let Some(old) = evicted.filter(|o| !o.later)
                    && let Some(k) = old.key
                    && let Some(slots) = watched.get_mut(&k)
                {
                    slots.retain(|&s| s != slot);
                    if slots.is_empty() {
                        watched.remove(&k);
                    }
                }
                if let Some(held) = reservoir.get_mut(slot) {
                    held.raw = row.raw().to_vec();
                }
                if let Some(k) = key {
                    watched.entry(k).or_default().push(slot);
                }
            }
        }
        if !more {
            break;
        }
    }
    let rows_read = reservoir.offered();
    let rows = reservoir.into_ordered();
    let n = rows.len() as u64;

    let mut decider = Decider::load(decide, warn)?;
    decider.set_contacts(contacts);
    let (stand_ins, own): (Vec<&Sampled>, Vec<&Sampled>) = rows.iter().partition(|r| r.later);
    // Each sampled record read again as it was read the first time (same shape, same line).
    let batches: Vec<Batch> = own
        .iter()
        .map(|r| {
            let mut batch = Batch::of_record(r.line, &r.raw);
            batch.parse(&shape);
            batch
        })
        .collect();
    let inputs: Vec<RowInput<'_>> = batches
        .iter()
        .flat_map(Batch::rows)
        .map(|row| RowInput {
            line: row.line,
            email: row.text(email_index),
            // Read from the row by the contact plan.
            signup: None,
            row: Some(row),
        })
        .collect();
    if inputs.len() != own.len() {
        return Err(crate::error::Error::Internal(
            "a sampled record did not read back as a row".into(),
        ));
    }
    let mut decisions: Vec<_> = decider
        .decide_batch(&inputs)
        .into_iter()
        .map(|d| d.decision)
        .collect();
    let duplicate = decide.rules.decide(&[Finding::new(
        Reason::Duplicate,
        "the address appears again later in the list",
    )]);
    decisions.extend(stand_ins.iter().map(|_| duplicate.clone()));
    let sample_domains = decider.stats().unique_domains;
    decider.finish_domains();

    let mut outputs: BTreeMap<&'static str, u64> =
        ["clean", "review", "suppressed"].map(|o| (o, 0)).into();
    let mut reasons: BTreeMap<&'static str, u64> = BTreeMap::new();
    for decision in &decisions {
        *outputs.entry(output_of(decision.action)).or_default() += 1;
        if let Some(reason) = decision.reason {
            *reasons.entry(reason.code()).or_default() += 1;
        }
    }
    let project = |counts: BTreeMap<&'static str, u64>| {
        counts
            .into_iter()
            .map(|(name, k)| (name, Estimate::project(k, n, rows_read)))
            .collect()
    };
    Ok(SampleReport {
        listwash_version: env!("CARGO_PKG_VERSION"),
        rows_read,
        rejected,
        sample_size: n,
        seed: options.seed,
        confidence: 0.95,
        exact: n >= rows_read,
        outputs: project(outputs),
        reasons: project(reasons),
        sample_domains,
    })
}

#[cfg(test)]
mod tests;
