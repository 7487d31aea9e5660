//! The duplicate table: the first line of every distinct address, by its 128-bit key.
//!
//! Consumes address keys (XXH3-128 of the normalised address) in input order; answers, for
//! each, the line it was first seen on, or records it. Keeps all 128 bits of every key: a
//! table keyed on fewer bits would take different addresses for duplicates.
//!
//! Why not a `HashMap`: on a list of millions of addresses every look-up is a cache miss, and
//! the look-ups run one after another on the one thread that registers rows in order, where a
//! std map made them the run's critical path. Here the keys are already uniform, so a slot's
//! place is the key's low bits, and [`FirstLines::warm`] loads the slots of the next rows all
//! at once (independent loads the processor overlaps) before they are looked up. Open
//! addressing with linear probing, at most three quarters full; 20 bytes a slot.

/// A slot: the key's four words and the first line plus one (0 marks an empty slot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Slot {
    key: [u32; 4],
    line: u32,
}

/// The fewest slots a table that holds anything has.
const MIN_SLOTS: usize = 1 << 10;

/// The first line of every distinct address key.
#[derive(Debug, Default)]
pub(crate) struct FirstLines {
    /// A power of two long (or empty before the first key).
    slots: Vec<Slot>,
    len: usize,
}

/// A 128-bit key as four words, all 128 bits kept.
fn key_words(key: u128) -> [u32; 4] {
    [
        key as u32,
        (key >> 32) as u32,
        (key >> 64) as u32,
        (key >> 96) as u32,
    ]
}

/// The home slot of a key: its low bits (keys are uniform hashes).
fn home(low: u64, mask: usize) -> usize {
    low as usize & mask
}

/// The slots needed to hold `keys` at most three quarters full.
fn slots_for(keys: usize) -> usize {
    keys.saturating_mul(4)
        .div_ceil(3)
        .max(MIN_SLOTS)
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX / 2 + 1)
}

impl FirstLines {
    /// The number of distinct keys held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Makes room for `additional` more keys without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let want = slots_for(self.len.saturating_add(additional));
        if want > self.slots.len() {
            self.grow_to(want);
        }
    }

    /// Loads the home slots of `keys` so that looking them up next finds them in cache; the
    /// loads are independent, so the processor has them all in flight at once. Returns a value
    /// made of what was loaded, for `black_box` (a load whose value is unused is dropped).
    pub(crate) fn warm(&self, keys: impl Iterator<Item = u128>) -> u32 {
        let Some(mask) = self.slots.len().checked_sub(1) else {
            return 0;
        };
        keys.fold(0u32, |acc, key| {
            acc.wrapping_add(self.slots[home(key as u64, mask)].line)
        })
    }

    /// The first line `key` was seen on; or, when it is new, `None`, and `line` is recorded
    /// as its first. Lines past `u32::MAX - 1` are recorded as `u32::MAX - 1`.
    pub(crate) fn first_or_insert(&mut self, key: u128, line: u64) -> Option<u64> {
        if (self.len + 1).saturating_mul(4) > self.slots.len().saturating_mul(3) {
            self.grow_to(slots_for(self.len + 1).max(self.slots.len() * 2));
        }
        let words = key_words(key);
        let mask = self.slots.len() - 1;
        let mut at = home(key as u64, mask);
        loop {
            let slot = &mut self.slots[at];
            if slot.line == 0 {
                let stored = u32::try_from(line).unwrap_or(u32::MAX).min(u32::MAX - 1) + 1;
                *slot = Slot {
                    key: words,
                    line: stored,
                };
                self.len += 1;
                return None;
            }
            if slot.key == words {
                return Some(u64::from(slot.line - 1));
            }
            at = (at + 1) & mask;
        }
    }

    /// Moves every key into a table of `slots` slots (a power of two).
    fn grow_to(&mut self, slots: usize) {
        debug_assert!(slots.is_power_of_two());
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); slots]);
        let mask = slots - 1;
        for slot in old.into_iter().filter(|s| s.line != 0) {
            let low = u64::from(slot.key[0]) | u64::from(slot.key[1]) << 32;
            let mut at = home(low, mask);
            while self.slots[at].line != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn keys_keep_all_128_bits() {
        let mut table = FirstLines::default();
        // Same low words (same home slot), different high words: different addresses.
        assert_eq!(table.first_or_insert(1, 2), None);
        assert_eq!(table.first_or_insert(1 | (1 << 40), 3), None);
        assert_eq!(table.first_or_insert(1 | (1 << 100), 4), None);
        assert_eq!(table.first_or_insert(1 | (1 << 100), 5), Some(4));
        assert_eq!(table.first_or_insert(1, 6), Some(2));
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn lines_zero_and_past_u32_are_kept() {
        let mut table = FirstLines::default();
        assert_eq!(table.first_or_insert(7, 0), None);
        assert_eq!(table.first_or_insert(7, 9), Some(0));
        assert_eq!(table.first_or_insert(8, u64::MAX), None);
        assert_eq!(table.first_or_insert(8, 1), Some(u64::from(u32::MAX - 1)));
    }

    #[test]
    fn growing_and_reserving_keep_every_key() {
        let mut table = FirstLines::default();
        table.reserve(10);
        assert_eq!(table.slots.len(), MIN_SLOTS);
        // Keys that all share a home slot probe past each other, across growths.
        for i in 0..5_000u64 {
            let key = u128::from(i) << 64;
            assert_eq!(table.first_or_insert(key, i + 10), None);
        }
        assert!(table.slots.len() >= 5_000 * 4 / 3);
        table.reserve(100_000);
        assert!(table.slots.len() * 3 >= (5_000 + 100_000) * 4);
        for i in 0..5_000u64 {
            assert_eq!(table.first_or_insert(u128::from(i) << 64, 1), Some(i + 10));
        }
        assert_eq!(table.len(), 5_000);
        assert_ne!(table.warm((0..5_000u128).map(|i| i << 64)), 0);
    }

    proptest! {
        // Whatever the keys and their order: the same answers as a map from key to first line.
        #[test]
        fn answers_like_a_map(keys in proptest::collection::vec(0u128..3000, 0..4000), high in any::<u128>()) {
            let mut table = FirstLines::default();
            let mut model: HashMap<u128, u64> = HashMap::new();
            for (line, key) in keys.iter().enumerate() {
                // Spread some keys into the high words too.
                let key = if key % 3 == 0 { key ^ (high & !0xffff_ffff) } else { *key };
                let line = line as u64 + 2;
                let want = match model.get(&key) {
                    Some(first) => Some(*first),
                    None => {
                        model.insert(key, line);
                        None
                    }
                };
                prop_assert_eq!(table.first_or_insert(key, line), want);
            }
            prop_assert_eq!(table.len(), model.len());
        }
    }
}
