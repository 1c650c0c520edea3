//! The fused kernel's encoding of the stencils numpy does not have
//! (accuracy 4 and 6, periodic ends): which samples each point reads, and
//! the rows of coefficients, taken from [`Stencil::tap`] and nothing else,
//! that it weighs them with.
//!
//! A point `i` of such an axis reads `width = p + 1` samples (two for the
//! periodic uniform axis of accuracy 2, numpy's central difference) from
//! [`window_start`]: `i − p/2` wrapped around a periodic axis, clamped to
//! `0..=n − width` on a one-sided one. Its coefficients are one row of the
//! axis's rows, laid out by [`rows`] in the axis's part of the coefficient
//! table; the fused dispatch copies a uniform axis's rows (at most
//! `MAX_TAP²`) into its uniform block, and an axis with coordinates is read
//! from the table:
//!
//! | axis                               | rows | row of point `i`         |
//! |------------------------------------|------|--------------------------|
//! | periodic, uniform, accuracy 2      | 1    | `[2h]` (a difference)    |
//! | periodic, uniform, accuracy 4, 6   | 1    | 0                        |
//! | one-sided, uniform                 | `width` | `i − window_start(i)` |
//! | coordinates (either boundary)      | `n`  | `i`                      |
//!
//! A uniform one-sided axis has one row per offset of the point in its
//! window: the head points' rows, the central row, the tail points' rows.
//! Every row is checked against the tap's own geometry ([`Tap::samples`])
//! as it is packed, so a stencil the kernel would read differently is a
//! panic here, never a wrong result on the device.

use crate::stencil::{Interior, Stencil, Tap};

/// How many coefficients a point of `stencil` weighs its samples with: `p + 1`.
fn width(stencil: &Stencil) -> usize {
    stencil.form().accuracy.get() + 1
}

/// Whether `stencil` has coordinate spacing (a row per point).
pub(super) fn non_uniform(stencil: &Stencil) -> bool {
    matches!(
        stencil.interior(),
        Interior::NonUniform { .. } | Interior::Table { .. }
    )
}

/// Whether a point's tap is numpy's central difference `(f[i+1] − f[i−1]) / 2h`
/// (a periodic uniform axis of accuracy 2).
fn difference(stencil: &Stencil) -> bool {
    matches!(stencil.interior(), Interior::Uniform { .. })
}

/// The first sample point `i` of `stencil` reads, as the fused kernel
/// computes it (`wide_derivative` in `shaders/fused.wgsl`).
pub(super) fn window_start(stencil: &Stencil, i: usize) -> usize {
    let (n, half) = (stencil.len(), stencil.form().accuracy.get() / 2);
    if stencil.is_periodic() {
        (i + n - half) % n
    } else {
        i.saturating_sub(half).min(n - width(stencil))
    }
}

/// The points whose taps make the rows of `stencil`'s part of the table,
/// in row order.
fn row_points(stencil: &Stencil) -> Vec<usize> {
    let n = stencil.len();
    if non_uniform(stencil) {
        (0..n).collect()
    } else if stencil.is_periodic() {
        vec![0]
    } else {
        // Offset o in the window: the head point o, the first interior
        // point, or the tail point whose window starts at n − width.
        let (w, half) = (width(stencil), stencil.form().accuracy.get() / 2);
        (0..w)
            .map(|o| if o <= half { o } else { n - w + o })
            .collect()
    }
}

/// The number of coefficients [`rows`] packs, without packing them.
pub(super) fn rows_len(stencil: &Stencil) -> usize {
    let rows = if non_uniform(stencil) {
        stencil.len()
    } else if stencil.is_periodic() {
        1
    } else {
        width(stencil)
    };
    if difference(stencil) {
        1
    } else {
        rows * width(stencil)
    }
}

/// The coefficient rows of `stencil` (a form other than numpy's), in
/// order: each the [`Tap::coefficients`] of the point that the kernel takes
/// it for.
///
/// # Panics
///
/// If a point's tap does not read the samples the kernel reads for it, or
/// (for the axes with one row for several points) if two such points' taps
/// differ.
pub(super) fn rows(stencil: &Stencil) -> Vec<f64> {
    debug_assert!(
        !stencil.is_numpy(),
        "numpy's stencils have their own encoding"
    );
    let n = stencil.len();
    let points = row_points(stencil);
    let mut values = Vec::with_capacity(rows_len(stencil));
    for &i in &points {
        values.extend_from_slice(checked(stencil, i).coefficients());
    }
    // A row shared by several points must be each one's: check the points
    // whose taps are not the row's own (the ends of a periodic axis; the
    // interior of a uniform one-sided axis is one `Interior::Central`).
    if stencil.is_periodic() && !non_uniform(stencil) {
        let ends = stencil.ends();
        for i in (0..ends).chain(n - ends..n) {
            assert_eq!(
                checked(stencil, i).coefficients(),
                &values[..],
                "point {i} of a periodic uniform axis has the interior's coefficients"
            );
        }
    }
    debug_assert_eq!(values.len(), rows_len(stencil));
    values
}

/// The tap of point `i`, checked to read the samples the kernel reads.
fn checked(stencil: &Stencil, i: usize) -> Tap {
    let tap = stencil.tap(i);
    let n = stencil.len();
    let start = window_start(stencil, i);
    let expected: Vec<usize> = if difference(stencil) {
        // (f[i + 1] − f[i − 1]) / 2h: `lo` first, then `hi`.
        vec![start, (i + 1) % n]
    } else {
        (0..width(stencil)).map(|k| (start + k) % n).collect()
    };
    assert_eq!(
        tap.samples().collect::<Vec<_>>(),
        expected,
        "point {i} of {n}: the tap reads the samples of the fused kernel's window"
    );
    tap
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Accuracy, AxisSpacing, Boundary, GradientOptions};
    use crate::plan::Plan;

    #[test]
    fn every_form_packs_the_rows_it_says_it_packs() {
        let coords =
            |n: usize| AxisSpacing::from((0..n).map(|i| (i * i) as f64).collect::<Vec<_>>());
        for accuracy in [Accuracy::Second, Accuracy::Fourth, Accuracy::Sixth] {
            for boundary in [
                Boundary::OneSided,
                Boundary::PERIODIC,
                Boundary::periodic(90.0),
            ] {
                for n in [7, 8, 12] {
                    for spacing in [AxisSpacing::Scalar(0.5), coords(n)] {
                        let opts = GradientOptions::new()
                            .accuracy(accuracy)
                            .boundary(boundary)
                            .per_axis_spacing([spacing]);
                        // Coordinates need a period, uniform axes none.
                        let Ok(plan) = Plan::new(&[n], &opts) else {
                            continue;
                        };
                        let s = &plan.axes[0].stencil;
                        if s.is_numpy() {
                            continue;
                        }
                        assert_eq!(rows(s).len(), rows_len(s), "{accuracy:?} {boundary:?} {n}");
                    }
                }
            }
        }
    }
}
