//! Inputs shared by the bench targets, so every bench measures the same arrays.

use ndarray::{ArrayD, IxDyn};
use ndgrad::{AxisSpacing, Spacing};

/// Deterministic samples in [0, 1): a xorshift stream, so no result is trivial.
pub fn input(shape: &[usize]) -> ArrayD<f32> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    })
}

/// x[i] = i + 0.25·(i mod 3) on every axis (benches/numpy_time.py uses the same).
#[allow(dead_code, reason = "not every bench target uses non-uniform spacing")]
pub fn non_uniform(shape: &[usize]) -> Spacing {
    Spacing::PerAxis(
        shape
            .iter()
            .map(|&n| {
                AxisSpacing::from(
                    (0..n)
                        .map(|i| i as f64 + 0.25 * (i % 3) as f64)
                        .collect::<Vec<_>>(),
                )
            })
            .collect(),
    )
}
