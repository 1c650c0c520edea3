//! One seeded random stream for ndgrad's tests, benches and `ndgrad bench`.
//!
//! The property tests, the GPU tests, the CLI tests, the criterion benches
//! and the CLI's `bench` subcommand all need random arrays that are the
//! same on every run: a failing case must replay from its seed, and two
//! bench runs must time the same arrays. Each of them used to carry its own
//! copy of SplitMix64; this crate is the one place that stream lives now.
//!
//! [`Rng`] wraps [`rand_xoshiro::SplitMix64`] (Sebastiano Vigna's
//! `splitmix64.c`, as the Rand project maintains it) and seeds it with the
//! `u64` it is given, unchanged, so it yields exactly the stream the
//! hand-written copies did: the same seeds draw the same test cases and the
//! same bench arrays as before. The helpers on top (`unit`, `range`,
//! `below`, ...) keep the old copies' formulas bit for bit; the tests at the
//! bottom of this file pin both.
//!
//! Not for anything that needs unpredictability: SplitMix64 is a fast,
//! statistically decent generator, not a cryptographic one.

use ndarray::{ArrayD, IxDyn};
use rand_xoshiro::rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::SplitMix64;

/// A deterministic generator: SplitMix64 seeded with a `u64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng(SplitMix64);

impl Rng {
    /// The stream of `seed` (the seed is SplitMix64's state, as is).
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::seed_from_u64(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1), from the top 53 bits of one draw (every value a
    /// multiple of 2⁻⁵³).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, 1) as an `f32`, from the top 24 bits of one draw
    /// (every value a multiple of 2⁻²⁴, so none rounds up to 1).
    pub fn unit_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [lo, hi): `lo + (hi − lo) · unit()`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in `0..n` (by remainder: the bias is below n / 2⁶⁴).
    ///
    /// # Panics
    /// When `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of `items`, uniformly.
    ///
    /// # Panics
    /// When `items` is empty.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Puts `items` in a uniformly random order (Fisher-Yates, from the end).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for k in (1..items.len()).rev() {
            items.swap(k, self.below(k + 1));
        }
    }

    /// `n` values uniform in [lo, hi), drawn in order.
    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.range(lo, hi)).collect()
    }

    /// An array of `shape` in standard layout, uniform in [lo, hi), drawn
    /// in memory order.
    pub fn array(&mut self, shape: &[usize], lo: f64, hi: f64) -> ArrayD<f64> {
        ArrayD::from_shape_simple_fn(IxDyn(shape), || self.range(lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    /// The SplitMix64 every test, bench and the CLI carried before this
    /// crate, verbatim: the stream [`Rng`] must reproduce.
    struct HandWritten(u64);

    impl HandWritten {
        fn draw(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn unit(&mut self) -> f64 {
            (self.draw() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Seeds the tests and the bench use, and a few awkward ones.
    const SEEDS: [u64; 12] = [
        0,
        1,
        2,
        7,
        21,
        7919 * 3 + 4,
        0x5EED,
        0x5EED ^ (1 << 14),
        0x5EED ^ (128 * 128),
        0x2545_F491_4F6C_DD1D,
        u64::MAX,
        0x9E37_79B9_7F4A_7C15,
    ];

    #[test]
    fn seed_zero_gives_the_published_splitmix64_stream() {
        // splitmix64.c from state 0.
        let mut rng = Rng::new(0);
        let want = [
            0xE220_A839_7B1D_CDAF,
            0x6E78_9E6A_A1B9_65F4,
            0x06C4_5D18_8009_454F,
            0xF88B_B8A8_724C_81EC,
        ];
        for w in want {
            assert_eq!(rng.next_u64(), w);
        }
    }

    #[test]
    fn same_stream_as_the_hand_written_copies() {
        for seed in SEEDS {
            let (mut rng, mut old) = (Rng::new(seed), HandWritten(seed));
            for i in 0..10_000 {
                assert_eq!(rng.next_u64(), old.draw(), "seed {seed:#x}, draw {i}");
            }
        }
    }

    #[test]
    fn helpers_keep_the_old_formulas_bit_for_bit() {
        for seed in SEEDS {
            let (mut rng, mut old) = (Rng::new(seed), HandWritten(seed));
            for _ in 0..1000 {
                assert_eq!(rng.unit().to_bits(), old.unit().to_bits());
                // benches/common: (x >> 40) as f32 / 2^24.
                let want = (old.draw() >> 40) as f32 / (1u64 << 24) as f32;
                assert_eq!(rng.unit_f32().to_bits(), want.to_bits());
                // tests/gpu_common: lo + (hi - lo) * unit.
                let want = -100.0 + 200.0 * old.unit();
                assert_eq!(rng.range(-100.0, 100.0).to_bits(), want.to_bits());
                // cli/tests: lo + (hi - lo) * (x >> 11) as f64 / 2^53.
                let want = -10.0 + 20.0 * (old.draw() >> 11) as f64 / (1u64 << 53) as f64;
                assert_eq!(rng.range(-10.0, 10.0).to_bits(), want.to_bits());
                // cli bench: 2 * unit - 1.
                let want = 2.0 * old.unit() - 1.0;
                assert_eq!((2.0 * rng.unit() - 1.0).to_bits(), want.to_bits());
                assert_eq!(rng.below(37), (old.draw() % 37) as usize);
                assert_eq!(rng.chance(0.3), old.unit() < 0.3);
                assert_eq!(rng.pick(&[1, 2, 3]), [1, 2, 3][(old.draw() % 3) as usize]);
            }
        }
    }

    #[test]
    fn shuffle_is_fisher_yates_from_the_end() {
        let (mut rng, mut old) = (Rng::new(3), HandWritten(3));
        let mut got: Vec<usize> = (0..20).collect();
        rng.shuffle(&mut got);
        let mut want: Vec<usize> = (0..20).collect();
        for k in (1..want.len()).rev() {
            want.swap(k, (old.draw() % (k as u64 + 1)) as usize);
        }
        assert_eq!(got, want);
        got.sort_unstable();
        assert_eq!(got, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn vec_and_array_draw_in_order_within_bounds() {
        let v = Rng::new(5).vec(100, -2.0, 3.0);
        assert!(v.iter().all(|&x| (-2.0..3.0).contains(&x)));
        let a = Rng::new(5).array(&[4, 25], -2.0, 3.0);
        assert_eq!(a.shape(), &[4, 25]);
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), v);
        let mut rng = Rng::new(9);
        assert!((0..1000).all(|_| (0.0..1.0).contains(&rng.unit_f32())));
    }
}
