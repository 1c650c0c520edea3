//! The arithmetic of the CPU backend: one axis's [`Stencil`] converted to the
//! element type, and the row operations that apply it.
//!
//! Every coefficient comes from [`Stencil`] (non-uniform weights from
//! [`interior_weights`]); here it is only rounded to `T`. The row operations
//! work on equal-length contiguous slices with no branch inside the loop, so
//! the compiler vectorises them. They keep numpy's order of operations (a
//! division for differences, a left-to-right sum of three products for
//! weighted taps), which makes `f64` results equal to numpy's bit for bit.

use rayon::prelude::*;

use crate::element::Element;
use crate::stencil::{
    interior_weights, interior_weights_one_division, Coordinates, Interior, Stencil, Tap, MAX_TAP,
};

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
    /// No table: each point's weights are computed from the coordinates as
    /// the point is computed, in `f64`, and rounded to `T`. The layout for an
    /// innermost axis with too few rows to repay a table (a long 1-D axis
    /// would need three weights per sample, more bytes than the signal).
    OnTheFly { x: &'p [f64] },
    /// `Σₖ w[k]·f[i − len/2 + k]`: the central stencil of accuracy 4 or 6.
    Central { w: [T; MAX_TAP], len: usize },
    /// `Σₖ w[(i − first)·len + k]·f[i − len/2 + k]`: Fornberg's weights per
    /// point, accuracy 4 or 6 on coordinates.
    Table { w: Vec<T>, len: usize, first: usize },
}

/// How an axis's non-uniform weights are laid out (see [`InteriorT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WeightLayout {
    Rows,
    Columns,
    OnTheFly,
}

/// Above this many weights, building a table is split across threads.
const PARALLEL_TABLE: usize = 1 << 16;

/// Fills `out[j]` with `make(first + j)` for every `j`, on several threads
/// when the table is long (each value depends only on its index).
fn table<W: Send>(out: &mut [W], first: usize, make: impl Fn(usize) -> W + Sync) {
    if out.len() < PARALLEL_TABLE {
        out.iter_mut()
            .enumerate()
            .for_each(|(j, o)| *o = make(first + j));
    } else {
        let chunk = PARALLEL_TABLE / 4;
        out.par_chunks_mut(chunk).enumerate().for_each(|(k, out)| {
            let first = first + k * chunk;
            out.iter_mut()
                .enumerate()
                .for_each(|(j, o)| *o = make(first + j));
        });
    }
}

/// The interior weights of `x`'s points `1..n−1` as three columns in `T`.
fn columns<T: Element>(x: &Coordinates) -> [Vec<T>; 3] {
    let mut w = vec![[T::from_f64(0.0); 3]; x.len() - 2];
    table(&mut w, 1, |i| x.weights(i).map(T::from_f64));
    [0, 1, 2].map(|k| w.iter().map(|w| w[k]).collect())
}

/// One axis's stencil in the element type, converted once per call.
#[derive(Debug, Clone)]
pub(super) struct AxisStencil<'p, T> {
    pub(super) n: usize,
    /// The taps of the first `head.len()` points (the stencil's `ends`).
    pub(super) head: Vec<Tap<T>>,
    /// The taps of the last `tail.len()` points, in order.
    pub(super) tail: Vec<Tap<T>>,
    pub(super) interior: InteriorT<'p, T>,
}

impl<'p, T: Element> AxisStencil<'p, T> {
    /// Converts `stencil`, laying non-uniform weights out as `layout` says.
    pub(super) fn new(stencil: &'p Stencil, layout: WeightLayout) -> Self {
        let interior = match (stencil.interior(), layout) {
            (Interior::Uniform { two_h }, _) => InteriorT::Uniform {
                two_h: T::from_f64(*two_h),
            },
            (Interior::NonUniform { x }, WeightLayout::OnTheFly) => {
                InteriorT::OnTheFly { x: x.as_slice() }
            }
            (Interior::NonUniform { x }, WeightLayout::Columns) => {
                let [a, b, c] = columns(x);
                InteriorT::NonUniformColumns { a, b, c }
            }
            (Interior::NonUniform { x }, WeightLayout::Rows) => {
                let mut w = vec![[T::from_f64(0.0); 3]; x.len() - 2];
                table(&mut w, 1, |i| x.weights(i).map(T::from_f64));
                InteriorT::NonUniformRows { w }
            }
            (Interior::Central { w, len }, _) => InteriorT::Central {
                w: w.map(T::from_f64),
                len: *len,
            },
            (Interior::Table { w, len, first }, _) => {
                let mut converted = vec![T::from_f64(0.0); w.len()];
                table(&mut converted, 0, |k| T::from_f64(w[k]));
                InteriorT::Table {
                    w: converted,
                    len: *len,
                    first: *first,
                }
            }
        };
        let convert = |taps: &[Tap]| taps.iter().map(|t| t.map(T::from_f64)).collect();
        AxisStencil {
            n: stencil.len(),
            head: convert(stencil.head()),
            tail: convert(stencil.tail()),
            interior,
        }
    }

    /// How many samples an interior point reads on each side.
    fn half(&self) -> usize {
        match self.interior {
            InteriorT::Central { len, .. } | InteriorT::Table { len, .. } => len / 2,
            _ => 1,
        }
    }

    /// The end taps whose samples wrap around the axis (a periodic axis's
    /// ends), with their points: computed sample by sample by the caller,
    /// since they are not in one run of the lane.
    pub(super) fn wrapping(&self) -> impl Iterator<Item = (usize, &Tap<T>)> + '_ {
        let tail_start = self.n - self.tail.len();
        let head = self.head.iter().enumerate();
        let tail = self
            .tail
            .iter()
            .enumerate()
            .map(move |(k, t)| (tail_start + k, t));
        head.chain(tail).filter(|(_, t)| t.wraps())
    }

    /// The tap of point `i` (as [`Stencil::tap`]).
    #[inline(always)]
    pub(super) fn tap(&self, i: usize) -> Tap<T> {
        Tap::of_point(i, self.n, &self.head, &self.tail, || match &self.interior {
            InteriorT::Uniform { two_h } => Tap::centred(i, *two_h),
            InteriorT::NonUniformRows { w } => Tap::inside(i, w[i - 1]),
            InteriorT::NonUniformColumns { a, b, c } => {
                Tap::inside(i, [a[i - 1], b[i - 1], c[i - 1]])
            }
            InteriorT::OnTheFly { x } => {
                Tap::inside(i, weights_of(x[i] - x[i - 1], x[i + 1] - x[i]))
            }
            InteriorT::Central { w, len } => Tap::Wide {
                first: i - len / 2,
                len: *len,
                n: usize::MAX,
                w: *w,
            },
            InteriorT::Table { w, len, first } => {
                let mut row = [T::from_f64(0.0); MAX_TAP];
                let at = (i - first) * len;
                row[..*len].copy_from_slice(&w[at..at + len]);
                Tap::Wide {
                    first: i - len / 2,
                    len: *len,
                    n: usize::MAX,
                    w: row,
                }
            }
        })
    }

    /// The samples `lo..hi` of a lane that the points `cols` of that lane
    /// read: `half()` more on each side, plus whatever the end taps reach
    /// (except the samples of taps that wrap around, see
    /// [`AxisStencil::wrapping`]).
    pub(super) fn reads(&self, cols: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let half = self.half();
        let mut lo = cols.start.saturating_sub(half);
        let mut hi = (cols.end + half).min(self.n);
        for i in cols.start..cols.end.min(self.head.len()) {
            if !self.head[i].wraps() {
                hi = hi.max(self.head[i].span().1);
            }
        }
        let tail_start = self.n - self.tail.len();
        for i in cols.start.max(tail_start)..cols.end {
            if !self.tail[i - tail_start].wraps() {
                lo = lo.min(self.tail[i - tail_start].span().0);
            }
        }
        lo.min(hi)..hi
    }

    /// The points `cols` of one lane that lies contiguous along this axis
    /// (the innermost one): `lane[k]` is sample `lane_start + k`. The points
    /// of end taps that wrap around ([`AxisStencil::wrapping`]) are left to
    /// the caller.
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
        let (ends, tail_start) = (self.head.len(), n - self.tail.len());
        for i in cols.start..cols.end.min(ends) {
            if !self.head[i].wraps() {
                out[i - cols.start] = self.head[i].apply(sample);
            }
        }
        for i in cols.start.max(tail_start)..cols.end {
            let tap = &self.tail[i - tail_start];
            if !tap.wraps() {
                out[i - cols.start] = tap.apply(sample);
            }
        }
        let (lo, hi) = (cols.start.max(ends), cols.end.min(tail_start));
        if lo >= hi {
            return;
        }
        let out = &mut out[lo - cols.start..hi - cols.start];
        if let InteriorT::Central { w, len } = &self.interior {
            let rows: [&[T]; MAX_TAP] = std::array::from_fn(|k| {
                if k < *len {
                    let from = lo + k - len / 2 - lane_start;
                    &lane[from..from + out.len()]
                } else {
                    &[]
                }
            });
            weighted_rows(out, &rows[..*len], &w[..*len]);
            return;
        }
        if let InteriorT::Table { w, len, first } = &self.interior {
            let half = len / 2;
            for (j, o) in out.iter_mut().enumerate() {
                let i = lo + j;
                let row = &w[(i - first) * len..(i - first + 1) * len];
                let samples = &lane[i - half - lane_start..i + half + 1 - lane_start];
                let mut sum = row[0] * samples[0];
                for k in 1..*len {
                    sum = sum + row[k] * samples[k];
                }
                *o = sum;
            }
            return;
        }
        let below = &lane[lo - 1 - lane_start..hi - 1 - lane_start];
        let above = &lane[lo + 1 - lane_start..hi + 1 - lane_start];
        let centre = &lane[lo - lane_start..hi - lane_start];
        match &self.interior {
            InteriorT::Uniform { two_h } => difference(out, below, above, *two_h),
            InteriorT::NonUniformColumns { a, b, c } => {
                let (a, b, c) = (&a[lo - 1..hi - 1], &b[lo - 1..hi - 1], &c[lo - 1..hi - 1]);
                weighted_varying(out, [below, centre, above], [a, b, c]);
            }
            InteriorT::OnTheFly { x } => weighted_on_the_fly(
                out,
                [below, centre, above],
                [&x[lo - 1..hi - 1], &x[lo..hi], &x[lo + 1..hi + 1]],
            ),
            InteriorT::Central { .. } | InteriorT::Table { .. } => unreachable!("handled above"),
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

/// `out[j] = Σₖ w[k]·r[k][j]`, summed left to right (as [`Tap::apply`]
/// sums a [`Tap::Wide`]): in one pass for the widths the stencils have
/// (3, 5 and 7 samples), so each output is written once.
///
/// The rows are zipped, not indexed: indexing the rows by the output's
/// index leaves a bounds check per row in the loop, which made the compiler
/// run the last 1 to 8 elements of every row through a scalar loop (3% of
/// a 256-element row, but a large part of its time). Zipped, the whole row
/// but a vector's remainder runs vectorised, with the same operations in
/// the same order.
#[inline(always)]
pub(super) fn weighted_rows<T: Element>(out: &mut [T], r: &[&[T]], w: &[T]) {
    match (r, w) {
        (&[r0, r1, r2], &[w0, w1, w2]) => weighted(out, [r0, r1, r2], [w0, w1, w2]),
        (&[r0, r1, r2, r3, r4], &[w0, w1, w2, w3, w4]) => {
            let rows = r0.iter().zip(r1).zip(r2).zip(r3).zip(r4);
            for (o, ((((&f0, &f1), &f2), &f3), &f4)) in out.iter_mut().zip(rows) {
                *o = w0 * f0 + w1 * f1 + w2 * f2 + w3 * f3 + w4 * f4;
            }
        }
        (&[r0, r1, r2, r3, r4, r5, r6], &[w0, w1, w2, w3, w4, w5, w6]) => {
            let rows = r0.iter().zip(r1).zip(r2).zip(r3);
            let rows = rows.zip(r4).zip(r5).zip(r6);
            for (o, ((((((&f0, &f1), &f2), &f3), &f4), &f5), &f6)) in out.iter_mut().zip(rows) {
                *o = w0 * f0 + w1 * f1 + w2 * f2 + w3 * f3 + w4 * f4 + w5 * f5 + w6 * f6;
            }
        }
        _ => {
            for (o, &f) in out.iter_mut().zip(r[0]) {
                *o = w[0] * f;
            }
            for (r, &w) in r.iter().zip(w).skip(1) {
                for (o, &f) in out.iter_mut().zip(*r) {
                    *o = *o + w * f;
                }
            }
        }
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

/// The weights of a point with steps `dx1`, `dx2`, rounded to `T`: numpy's
/// operations ([`interior_weights`]) for `f64`, whose results must match
/// numpy's bit for bit, and one division instead of three
/// ([`interior_weights_one_division`]) for narrower types, where the
/// rounding to `T` hides the difference.
#[inline(always)]
fn weights_of<T: Element>(dx1: f64, dx2: f64) -> [T; 3] {
    if std::mem::size_of::<T>() >= std::mem::size_of::<f64>() {
        interior_weights(dx1, dx2).map(T::from_f64)
    } else {
        interior_weights_one_division(dx1, dx2).map(T::from_f64)
    }
}

/// As [`weighted_varying`], with each point's weights computed from the
/// coordinates `x[0][j] = x[i − 1]`, `x[1][j] = x[i]`, `x[2][j] = x[i + 1]`
/// by [`weights_of`] (vectorised divisions instead of a table read from
/// memory).
#[inline(always)]
fn weighted_on_the_fly<T: Element>(out: &mut [T], r: [&[T]; 3], x: [&[f64]; 3]) {
    let rows = r[0].iter().zip(r[1]).zip(r[2]);
    let xs = x[0].iter().zip(x[1]).zip(x[2]);
    for (o, (((&f0, &f1), &f2), ((&x0, &x1), &x2))) in out.iter_mut().zip(rows.zip(xs)) {
        let [a, b, c] = weights_of::<T>(x1 - x0, x2 - x1);
        *o = a * f0 + b * f1 + c * f2;
    }
}
