//! The stencils numpy does not have: accuracy 4 and 6, and periodic ends
//! (options.rs, `Accuracy` and `Boundary`).
//!
//! Every weight comes from [`fornberg`] (B. Fornberg, "Generation of finite
//! difference formulas on arbitrarily spaced grids", Math. Comp. 51, 1988),
//! computed in `f64` on the `p + 1` points nearest the one differentiated:
//! centred inside, shifted to stay on the axis within `p / 2` points of a
//! one-sided end, wrapped around a periodic one. A stencil of `p + 1`
//! points is exact for every polynomial of degree ≤ `p`, which is what the
//! tests check. Periodic ends of accuracy 2 keep numpy's interior formulas
//! (`2h`; [`interior_weights`] of the wrapped steps), so that they equal
//! numpy's gradient of the array padded by wrapping, bit for bit.

use rayon::prelude::*;

use super::{interior_weights, Coordinates, Form, Interior, Steps, Tap, MAX_TAP};
use crate::options::Boundary;

/// Above this many interior points, a coordinate axis's table of weights is
/// computed on rayon's pool (each row depends only on its own points).
const PARALLEL_ROWS: usize = 1 << 12;

/// The weights of the first derivative at 0 from samples at the distinct
/// offsets `d` (at most [`MAX_TAP`] of them), in the order of `d`; the
/// weights past `d.len()` are zero. Fornberg's recurrence for the first
/// derivative, in `f64`.
///
/// ```
/// // The central difference of accuracy 4: [1, −8, 0, 8, −1] / 12.
/// let w = ndgrad::stencil::fornberg(&[-2.0, -1.0, 0.0, 1.0, 2.0]);
/// for (w, want) in w.iter().zip([1.0, -8.0, 0.0, 8.0, -1.0]) {
///     assert!((w - want / 12.0).abs() < 1e-15);
/// }
/// ```
pub fn fornberg(d: &[f64]) -> [f64; MAX_TAP] {
    assert!(!d.is_empty() && d.len() <= MAX_TAP, "1 to {MAX_TAP} points");
    // c0: the interpolating weights (derivative 0); c1: the first derivative.
    let (mut c0, mut c1) = ([0.0; MAX_TAP], [0.0; MAX_TAP]);
    c0[0] = 1.0;
    let mut previous = 1.0;
    for i in 1..d.len() {
        let mut product = 1.0;
        for j in 0..i {
            let gap = d[i] - d[j];
            product *= gap;
            if j == i - 1 {
                c1[i] = previous * (c0[i - 1] - d[i - 1] * c1[i - 1]) / product;
                c0[i] = -previous * d[i - 1] * c0[i - 1] / product;
            }
            c1[j] = (d[i] * c1[j] - c0[j]) / gap;
            c0[j] = d[i] * c0[j] / gap;
        }
        previous = product;
    }
    c1
}

/// The stencil of a form that is not numpy's: its interior and the taps of
/// its `head` and `tail` points.
pub(super) fn build(n: usize, steps: Steps, form: Form) -> (Interior, Vec<Tap>, Vec<Tap>) {
    let period = match form.boundary {
        Boundary::OneSided => None,
        Boundary::Periodic { period } => Some(period),
    };
    let p = form.accuracy.get();
    match (steps, period) {
        (Steps::Uniform(h), Some(_)) if p == 2 => {
            let two_h = 2. * h;
            let head = Tap::Difference {
                lo: n - 1,
                hi: 1,
                denom: two_h,
            };
            let tail = Tap::Difference {
                lo: n - 2,
                hi: 0,
                denom: two_h,
            };
            (Interior::Uniform { two_h }, vec![head], vec![tail])
        }
        (Steps::NonUniform(x), Some(period)) if p == 2 => {
            let wrap = wrap_step(&x, period);
            let head = wide(n - 1, n, 3, &interior_weights(wrap, x.step(0)));
            let tail = wide(n - 2, n, 3, &interior_weights(x.step(n - 2), wrap));
            (Interior::NonUniform { x }, vec![head], vec![tail])
        }
        (Steps::Uniform(h), period) => {
            let len = p + 1;
            let half = p / 2;
            let scaled = |offsets: &[f64]| fornberg(offsets).map(|w| w / h);
            let centre: Vec<f64> = (0..len).map(|k| k as f64 - half as f64).collect();
            let central = scaled(&centre);
            let (head, tail) = if period.is_some() {
                (
                    (0..half)
                        .map(|i| wide(i + n - half, n, len, &central))
                        .collect(),
                    (n - half..n)
                        .map(|i| wide(i - half, n, len, &central))
                        .collect(),
                )
            } else {
                // Point i reads the window starting at `start`.
                let off_centre = |i: usize, start: usize| {
                    let d: Vec<f64> = (0..len).map(|k| (start + k) as f64 - i as f64).collect();
                    wide(start, n, len, &scaled(&d))
                };
                (
                    (0..half).map(|i| off_centre(i, 0)).collect(),
                    (n - half..n).map(|i| off_centre(i, n - len)).collect(),
                )
            };
            (Interior::Central { w: central, len }, head, tail)
        }
        (Steps::NonUniform(x), period) => {
            let len = p + 1;
            let half = p / 2;
            let xs = x.as_slice();
            // Fornberg on the window of `len` points from `start` (which may
            // run off either end of a periodic axis), about point i.
            let weights = |i: usize, start: isize| {
                let mut d = [0.0; MAX_TAP];
                for (k, d) in d.iter_mut().enumerate().take(len) {
                    let j = start + k as isize;
                    let at = match (j, period) {
                        (j, Some(Some(l))) if j < 0 => xs[(j + n as isize) as usize] - l,
                        (j, Some(Some(l))) if j >= n as isize => xs[j as usize - n] + l,
                        (j, _) => xs[j as usize],
                    };
                    *d = at - xs[i];
                }
                fornberg(&d[..len])
            };
            let rows = n - 2 * half;
            let mut table = vec![0.0; rows * len];
            let row = |(r, out): (usize, &mut [f64])| {
                let i = half + r;
                out.copy_from_slice(&weights(i, (i - half) as isize)[..len]);
            };
            if rows < PARALLEL_ROWS {
                table.chunks_mut(len).enumerate().for_each(row);
            } else {
                table.par_chunks_mut(len).enumerate().for_each(row);
            }
            let (head, tail) = if period.is_some() {
                let wrapped = |i: usize| {
                    let start = i as isize - half as isize;
                    wide(
                        start.rem_euclid(n as isize) as usize,
                        n,
                        len,
                        &weights(i, start),
                    )
                };
                (
                    (0..half).map(wrapped).collect(),
                    (n - half..n).map(wrapped).collect(),
                )
            } else {
                let at = |i: usize, start: usize| wide(start, n, len, &weights(i, start as isize));
                (
                    (0..half).map(|i| at(i, 0)).collect(),
                    (n - half..n).map(|i| at(i, n - len)).collect(),
                )
            };
            let interior = Interior::Table {
                w: table,
                len,
                first: half,
            };
            (interior, head, tail)
        }
    }
}

/// A [`Tap::Wide`] of the first `len` of the weights `w`, from sample
/// `first` of an axis of `n` points.
fn wide(first: usize, n: usize, len: usize, w: &[f64]) -> Tap {
    let mut padded = [0.0; MAX_TAP];
    padded[..len].copy_from_slice(&w[..len]);
    Tap::Wide {
        first,
        len,
        n,
        w: padded,
    }
}

/// The step from the last point of a periodic axis with coordinates `x` to
/// the first point of the next period: `x[0] + L − x[n − 1]`.
fn wrap_step(x: &Coordinates, period: Option<f64>) -> f64 {
    let l = period.expect("a periodic axis with coordinates has a period (Plan::new checks)");
    let x = x.as_slice();
    x[0] + l - x[x.len() - 1]
}
