//! SplitMix64: a tiny seeded generator, good enough for test data. Shared by the data
//! generators (`examples/`) and the benchmarks (`benches/`), each of which adds the helpers it
//! needs in its own `impl Rng` block.

/// A seeded SplitMix64 generator.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
