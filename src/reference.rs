//! The reference backend: plain loops in `f64`, the oracle of every test.
//!
//! It is written to be checked line by line against DESIGN.md §2, not to be
//! fast. Each output point is `stencil.tap(i)` applied to the samples of its
//! lane, widened to `f64`, and the result is rounded to `T` once at the end.

use crate::element::Element;
use crate::plan::Plan;

/// Computes every requested axis of `plan` on `data`, the input in C order.
///
/// Returns one C-ordered vector per requested axis, in the plan's order.
pub fn gradient<T: Element>(plan: &Plan, data: &[T]) -> Vec<Vec<T>> {
    assert_eq!(
        data.len(),
        plan.len(),
        "one sample per element of the shape"
    );
    plan.axes
        .iter()
        .map(|ax| {
            let mut out = vec![T::from_f64(f64::NAN); data.len()];
            for o in 0..ax.outer {
                for j in 0..ax.inner {
                    let sample = |i: usize| data[ax.index(o, i, j)].to_f64();
                    for i in 0..ax.n {
                        out[ax.index(o, i, j)] = T::from_f64(ax.stencil.tap(i).apply(sample));
                    }
                }
            }
            out
        })
        .collect()
}
