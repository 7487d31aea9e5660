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
//! addressing with linear probing, at most three quarters full; 20 bytes a slot. A table of
//! more than a few MiB is an anonymous mapping advised to huge pages where the system allows:
//! with 4 KiB pages nearly every look-up in a table of 80 MiB also misses the TLB.

/// The words of a slot: the key's four words, then the first line plus one (0 marks an
/// empty slot).
const SLOT_WORDS: usize = 5;

/// Tables of at least this many bytes are mapped (and advised to huge pages).
const MAPPED_BYTES: usize = 4 << 20;

/// The table's words, zeroed when made.
#[derive(Debug)]
enum Words {
    Heap(Vec<u32>),
    Mapped(memmap2::MmapMut),
}

impl Default for Words {
    fn default() -> Words {
        Words::Heap(Vec::new())
    }
}

impl Words {
    fn zeroed(words: usize) -> Words {
        if words.saturating_mul(4) >= MAPPED_BYTES
            && let Ok(map) = memmap2::MmapMut::map_anon(words * 4)
            && bytemuck::try_cast_slice::<u8, u32>(&map).is_ok()
        {
            // Only advice: without huge pages the table works the same, slower.
            #[cfg(target_os = "linux")]
            let _ = map.advise(memmap2::Advice::HugePage);
            return Words::Mapped(map);
        }
        Words::Heap(vec![0; words])
    }

    fn get(&self) -> &[u32] {
        match self {
            Words::Heap(words) => words,
            // Page-aligned, a multiple of four bytes long (checked when made).
            Words::Mapped(map) => bytemuck::try_cast_slice(map).unwrap_or_default(),
        }
    }

    fn get_mut(&mut self) -> &mut [u32] {
        match self {
            Words::Heap(words) => words,
            Words::Mapped(map) => bytemuck::try_cast_slice_mut(map).unwrap_or_default(),
        }
    }
}

/// The fewest slots a table that holds anything has.
const MIN_SLOTS: usize = 1 << 10;

/// The first line of every distinct address key.
#[derive(Debug, Default)]
pub(crate) struct FirstLines {
    /// [`SLOT_WORDS`] words a slot, a power of two slots (or none before the first key).
    words: Words,
    /// The number of slots.
    slots: usize,
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
        if want > self.slots {
            self.grow_to(want);
        }
    }

    /// Loads the home slots of `keys` so that looking them up next finds them in cache; the
    /// loads are independent, so the processor has them all in flight at once. Returns a value
    /// made of what was loaded, for `black_box` (a load whose value is unused is dropped).
    pub(crate) fn warm(&self, keys: impl Iterator<Item = u128>) -> u32 {
        let Some(mask) = self.slots.checked_sub(1) else {
            return 0;
        };
        let words = self.words.get();
        keys.fold(0u32, |acc, key| {
            let at = home(key as u64, mask) * SLOT_WORDS;
            acc.wrapping_add(words.get(at + 4).copied().unwrap_or(0))
        })
    }

    /// The first line `key` was seen on; or, when it is new, `None`, and `line` is recorded
    /// as its first. Lines past `u32::MAX - 1` are recorded as `u32::MAX - 1`.
    pub(crate) fn first_or_insert(&mut self, key: u128, line: u64) -> Option<u64> {
        if (self.len + 1).saturating_mul(4) > self.slots.saturating_mul(3) {
            self.grow_to(slots_for(self.len + 1).max(self.slots * 2));
        }
        let key_words = key_words(key);
        let mask = self.slots - 1;
        let words = self.words.get_mut();
        let mut at = home(key as u64, mask);
        loop {
            let slot = &mut words[at * SLOT_WORDS..(at + 1) * SLOT_WORDS];
            if slot[4] == 0 {
                let stored = u32::try_from(line).unwrap_or(u32::MAX).min(u32::MAX - 1) + 1;
                slot[..4].copy_from_slice(&key_words);
                slot[4] = stored;
                self.len += 1;
                return None;
            }
            if slot[..4] == key_words {
                return Some(u64::from(slot[4] - 1));
            }
            at = (at + 1) & mask;
        }
    }

    /// Moves every key into a table of `slots` slots (a power of two).
    fn grow_to(&mut self, slots: usize) {
        debug_assert!(slots.is_power_of_two());
        let old = std::mem::replace(&mut self.words, Words::zeroed(slots * SLOT_WORDS));
        self.slots = slots;
        let mask = slots - 1;
        let words = self.words.get_mut();
        for slot in old.get().chunks_exact(SLOT_WORDS).filter(|s| s[4] != 0) {
            let low = u64::from(slot[0]) | u64::from(slot[1]) << 32;
            let mut at = home(low, mask);
            while words[at * SLOT_WORDS + 4] != 0 {
                at = (at + 1) & mask;
            }
            words[at * SLOT_WORDS..(at + 1) * SLOT_WORDS].copy_from_slice(slot);
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
        assert_eq!(table.slots, MIN_SLOTS);
        // Keys that all share a home slot probe past each other, across growths.
        for i in 0..5_000u64 {
            let key = u128::from(i) << 64;
            assert_eq!(table.first_or_insert(key, i + 10), None);
        }
        assert!(table.slots >= 5_000 * 4 / 3);
        table.reserve(100_000);
        assert!(table.slots * 3 >= (5_000 + 100_000) * 4);
        // Past MAPPED_BYTES: the mapped table keeps every key too.
        assert!(matches!(table.words, Words::Mapped(_)));
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
