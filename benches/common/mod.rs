//! Inputs shared by the bench targets, so every bench measures the same arrays.

use ndarray::{ArrayD, IxDyn};
use ndgrad::{AxisSpacing, Spacing};
use ndgrad_rng::Rng;

/// Deterministic samples in [0, 1) from the seeded stream of crates/rng, so
/// no result is trivial and every run times the same array.
pub fn input(shape: &[usize]) -> ArrayD<f32> {
    let mut rng = Rng::new(0x2545_F491_4F6C_DD1D);
    ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.unit_f32())
}

/// x[i] = i + 0.25·(i mod 3) on every axis (scripts/peer_bench.py uses the same).
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

/// Bytes one gradient of all axes of `shape` moves in f32: the input read
/// once and one output written per axis.
#[allow(dead_code, reason = "not every bench target reports throughput")]
pub fn gradient_bytes(shape: &[usize]) -> u64 {
    (shape.iter().product::<usize>() * (1 + shape.len()) * std::mem::size_of::<f32>()) as u64
}

/// `shape` as a benchmark label, e.g. `128x128x128`.
#[allow(dead_code, reason = "not every bench target labels by shape")]
pub fn label(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join("x")
}
