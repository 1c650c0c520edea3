//! The reference backend: plain loops in `f64`, the oracle of every test.
//!
//! It is written to be checked line by line against the formulas in
//! docs/ARCHITECTURE.md, Numerics, not to be fast. Each output point is `stencil.tap(i)` applied to the samples of its
//! lane, and the result is rounded to the output type once at the end. A
//! sample enters as numpy's `astype` to the output's compute type makes it
//! (`f64` for `f64` results, `f32` for `f32` and `f16` results: an `i64`
//! beyond 2²⁴ is rounded once to `f32`, as every backend reads it), then
//! widened to `f64` exactly.

use crate::element::{Element, Input};
use crate::plan::{AxisPlan, Plan};

/// The derivative along `ax` at every element, in `f64`, C order, from the
/// samples as the compute type `C` holds them.
fn derivative<I: Input, C: Element>(ax: &AxisPlan, data: &[I]) -> Vec<f64> {
    let mut out = vec![f64::NAN; data.len()];
    for o in 0..ax.outer {
        for j in 0..ax.inner {
            let sample = |i: usize| C::from_input(data[ax.index(o, i, j)]).to_f64();
            for i in 0..ax.n {
                out[ax.index(o, i, j)] = ax.stencil.tap(i).apply(sample);
            }
        }
    }
    out
}

/// Computes every requested axis of `plan` on `data`, the input in C order.
///
/// Returns one C-ordered vector per requested axis, in the plan's order.
pub fn gradient<I: Input, O: Element>(plan: &Plan, data: &[I]) -> Vec<Vec<O>> {
    assert_eq!(
        data.len(),
        plan.len(),
        "one sample per element of the shape"
    );
    plan.axes
        .iter()
        .map(|ax| {
            derivative::<I, O::Compute>(ax, data)
                .into_iter()
                .map(O::from_f64)
                .collect()
        })
        .collect()
}

/// The gradient magnitude `sqrt(Σ (∂f/∂xₖ)²)` over the plan's axes, in C
/// order: the derivatives and their squares summed in `f64` (in the order the
/// axes were requested), rounded once. With no axes it is all zeros.
pub fn magnitude<I: Input, O: Element>(plan: &Plan, data: &[I]) -> Vec<O> {
    assert_eq!(
        data.len(),
        plan.len(),
        "one sample per element of the shape"
    );
    let mut sum = vec![0.0f64; data.len()];
    for ax in &plan.axes {
        for (s, d) in sum.iter_mut().zip(derivative::<I, O::Compute>(ax, data)) {
            *s += d * d;
        }
    }
    sum.into_iter().map(|s| O::from_f64(s.sqrt())).collect()
}
