//! The arithmetic of the CPU backend: one axis's [`Stencil`] converted to the
//! element type, and the row operations that apply it.
//!
//! Every coefficient comes from [`Stencil`]; here it is only rounded to `T`,
//! once per axis. The row operations work on equal-length contiguous slices
//! with no branch inside the loop, so the compiler vectorises them. They keep
//! numpy's order of operations (a division for differences, a left-to-right
//! sum of three products for weighted taps), which makes `f64` results equal
//! to numpy's bit for bit.

use rayon::prelude::*;

use crate::element::Element;
use crate::stencil::{Interior, Stencil, Tap};

/// The interior of an axis with its coefficients in the element type.
#[derive(Debug, Clone)]
pub(super) enum InteriorT<'p, T> {
    /// `(f[i+1] − f[i−1]) / two_h`.
    Uniform { two_h: T },
    /// `w[i−1][0]·f[i−1] + w[i−1][1]·f[i] + w[i−1][2]·f[i+1]`, one triple per
    /// point: the layout for an outer axis, where one triple serves a row.
    NonUniformRows { w: Vec<[T; 3]> },
    /// The same weights as three columns, `[a, b, c][i−1]`: the layout for
    /// the innermost axis, where they vary along the vectorised loop.
    NonUniformColumns { a: Vec<T>, b: Vec<T>, c: Vec<T> },
    /// The stencil's own `f64` weights, rounded to `T` as they are used: for
    /// an innermost axis with too few rows to repay a conversion pass (a
    /// long 1-D axis has as many weights as samples, three times the bytes).
    NonUniformF64 { weights: &'p [[f64; 3]] },
}

/// How an axis's non-uniform weights are laid out (see [`InteriorT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WeightLayout {
    Rows,
    Columns,
    F64,
}

/// Above this many weights, converting them is split across threads.
const PARALLEL_CONVERT: usize = 1 << 16;

/// Rounds `weights` to `T` into the three columns `a`, `b`, `c`.
fn split_columns<T: Element>(a: &mut [T], b: &mut [T], c: &mut [T], weights: &[[f64; 3]]) {
    for (((a, b), c), w) in a
        .iter_mut()
        .zip(b.iter_mut())
        .zip(c.iter_mut())
        .zip(weights)
    {
        (*a, *b, *c) = (T::from_f64(w[0]), T::from_f64(w[1]), T::from_f64(w[2]));
    }
}

/// `weights` as three columns rounded to `T`, in one pass.
fn columns<T: Element>(weights: &[[f64; 3]]) -> [Vec<T>; 3] {
    let mut out: [Vec<T>; 3] = std::array::from_fn(|_| vec![T::from_f64(0.0); weights.len()]);
    let [a, b, c] = &mut out;
    if weights.len() < PARALLEL_CONVERT {
        split_columns(a, b, c, weights);
    } else {
        let chunk = PARALLEL_CONVERT / 4;
        a.par_chunks_mut(chunk)
            .zip(b.par_chunks_mut(chunk))
            .zip(c.par_chunks_mut(chunk))
            .zip(weights.par_chunks(chunk))
            .for_each(|(((a, b), c), w)| split_columns(a, b, c, w));
    }
    out
}

/// One axis's stencil in the element type, converted once per call.
#[derive(Debug, Clone)]
pub(super) struct AxisStencil<'p, T> {
    pub(super) n: usize,
    pub(super) first: Tap<T>,
    pub(super) last: Tap<T>,
    pub(super) interior: InteriorT<'p, T>,
}

impl<'p, T: Element> AxisStencil<'p, T> {
    /// Converts `stencil`, laying non-uniform weights out as `layout` says.
    pub(super) fn new(stencil: &'p Stencil, layout: WeightLayout) -> Self {
        let interior = match (stencil.interior(), layout) {
            (Interior::Uniform { two_h }, _) => InteriorT::Uniform {
                two_h: T::from_f64(*two_h),
            },
            (Interior::NonUniform { weights }, WeightLayout::F64) => {
                InteriorT::NonUniformF64 { weights }
            }
            (Interior::NonUniform { weights }, WeightLayout::Columns) => {
                let [a, b, c] = columns(weights);
                InteriorT::NonUniformColumns { a, b, c }
            }
            (Interior::NonUniform { weights }, WeightLayout::Rows) => {
                let mut w = vec![[T::from_f64(0.0); 3]; weights.len()];
                let convert = |(o, w): (&mut [T; 3], &[f64; 3])| *o = w.map(T::from_f64);
                if weights.len() < PARALLEL_CONVERT {
                    w.iter_mut().zip(weights).for_each(convert);
                } else {
                    w.par_iter_mut().zip(weights.par_iter()).for_each(convert);
                }
                InteriorT::NonUniformRows { w }
            }
        };
        AxisStencil {
            n: stencil.len(),
            first: stencil.first().map(T::from_f64),
            last: stencil.last().map(T::from_f64),
            interior,
        }
    }

    /// The tap of point `i` (as [`Stencil::tap`]).
    #[inline(always)]
    pub(super) fn tap(&self, i: usize) -> Tap<T> {
        Tap::of_point(i, self.n, self.first, self.last, || match &self.interior {
            InteriorT::Uniform { two_h } => Tap::centred(i, *two_h),
            InteriorT::NonUniformRows { w } => Tap::inside(i, w[i - 1]),
            InteriorT::NonUniformColumns { a, b, c } => {
                Tap::inside(i, [a[i - 1], b[i - 1], c[i - 1]])
            }
            InteriorT::NonUniformF64 { weights } => Tap::inside(i, weights[i - 1].map(T::from_f64)),
        })
    }

    /// The samples `lo..hi` of a lane that the points `cols` of that lane
    /// read: one more on each side, plus whatever the edge taps reach.
    pub(super) fn reads(&self, cols: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let mut lo = cols.start.saturating_sub(1);
        let mut hi = (cols.end + 1).min(self.n);
        if cols.start == 0 {
            hi = hi.max(self.first.span().1);
        }
        if cols.end == self.n {
            lo = lo.min(self.last.span().0);
        }
        lo..hi
    }

    /// The points `cols` of one lane that lies contiguous along this axis
    /// (the innermost one): `lane[k]` is sample `lane_start + k`.
    #[inline(always)]
    pub(super) fn along_lane(
        &self,
        out: &mut [T],
        lane: &[T],
        lane_start: usize,
        cols: std::ops::Range<usize>,
    ) {
        let n = self.n;
        let sample = |i: usize| lane[i - lane_start];
        let (mut lo, mut hi) = (cols.start, cols.end);
        if lo == 0 {
            out[0] = self.first.apply(sample);
            lo = 1;
        }
        if hi == n {
            out[n - 1 - cols.start] = self.last.apply(sample);
            hi = n - 1;
        }
        if lo >= hi {
            return;
        }
        let out = &mut out[lo - cols.start..hi - cols.start];
        let below = &lane[lo - 1 - lane_start..hi - 1 - lane_start];
        let above = &lane[lo + 1 - lane_start..hi + 1 - lane_start];
        let centre = &lane[lo - lane_start..hi - lane_start];
        match &self.interior {
            InteriorT::Uniform { two_h } => difference(out, below, above, *two_h),
            InteriorT::NonUniformColumns { a, b, c } => {
                let (a, b, c) = (&a[lo - 1..hi - 1], &b[lo - 1..hi - 1], &c[lo - 1..hi - 1]);
                weighted_varying(out, [below, centre, above], [a, b, c]);
            }
            InteriorT::NonUniformF64 { weights } => {
                let rows = below.iter().zip(centre).zip(above);
                for (o, (((&f0, &f1), &f2), w)) in
                    out.iter_mut().zip(rows.zip(&weights[lo - 1..hi - 1]))
                {
                    let [a, b, c] = w.map(T::from_f64);
                    *o = a * f0 + b * f1 + c * f2;
                }
            }
            InteriorT::NonUniformRows { w } => {
                // Not built for the innermost axis, but correct all the same.
                let rows = below.iter().zip(centre).zip(above);
                for (o, (((&f0, &f1), &f2), w)) in out.iter_mut().zip(rows.zip(&w[lo - 1..hi - 1]))
                {
                    *o = w[0] * f0 + w[1] * f1 + w[2] * f2;
                }
            }
        }
    }
}

/// `out[j] = (hi[j] − lo[j]) / denom`.
#[inline(always)]
pub(super) fn difference<T: Element>(out: &mut [T], lo: &[T], hi: &[T], denom: T) {
    for (o, (&l, &h)) in out.iter_mut().zip(lo.iter().zip(hi)) {
        *o = (h - l) / denom;
    }
}

/// `out[j] = w[0]·r[0][j] + w[1]·r[1][j] + w[2]·r[2][j]`, summed left to right.
#[inline(always)]
pub(super) fn weighted<T: Element>(out: &mut [T], r: [&[T]; 3], w: [T; 3]) {
    let rows = r[0].iter().zip(r[1]).zip(r[2]);
    for (o, ((&f0, &f1), &f2)) in out.iter_mut().zip(rows) {
        *o = w[0] * f0 + w[1] * f1 + w[2] * f2;
    }
}

/// As [`weighted`], with weights that vary along the row.
#[inline(always)]
fn weighted_varying<T: Element>(out: &mut [T], r: [&[T]; 3], w: [&[T]; 3]) {
    let rows = r[0].iter().zip(r[1]).zip(r[2]);
    let weights = w[0].iter().zip(w[1]).zip(w[2]);
    for (o, (((&f0, &f1), &f2), ((&a, &b), &c))) in out.iter_mut().zip(rows.zip(weights)) {
        *o = a * f0 + b * f1 + c * f2;
    }
}
