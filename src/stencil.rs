//! numpy's finite-difference formulas, written down once.
//!
//! This is the only place the coefficients of `numpy.gradient` appear
//! (numpy/lib/_function_base_impl.py, `gradient`; docs/ARCHITECTURE.md,
//! Numerics). Every backend asks a [`Stencil`] how each point along an axis
//! is formed; none of them re-derives a coefficient. A [`Tap`] is also the
//! one home of tap geometry (docs/ARCHITECTURE.md, Tap geometry): which
//! samples it reads ([`Tap::start`], [`Tap::span`]), its form
//! ([`Tap::order`]) and its coefficients ([`Tap::coefficients`]); the GPU
//! packs its parameters from these alone. Everything here is computed in `f64`, in the same
//! order of operations as numpy, so the reference matches numpy bit for bit
//! on `f64` input.

use std::ops::{Add, Div, Mul, Sub};

use ndarray::ArcArray1;
use rayon::prelude::*;

use crate::options::EdgeOrder;

/// Below this many coordinates, the uniformity check runs on the calling
/// thread; above, on rayon's pool (each comparison depends only on its
/// neighbours, so the answer is the same).
const PARALLEL_BELOW: usize = 1 << 15;

/// numpy's weights `[a, b, c]` of `f[i − 1]`, `f[i]`, `f[i + 1]` at an
/// interior point of a non-uniform axis, from its steps `dx1 = x[i] − x[i − 1]`
/// and `dx2 = x[i + 1] − x[i]`, in numpy's order of operations.
///
/// Every backend gets its non-uniform interior weights from here: the CPU
/// computes them as it runs (a long axis never holds a table of them), the
/// GPU and the reference through [`Coordinates::weights`].
///
/// ```
/// // Equal steps give the central difference: [-1/2h, 0, 1/2h].
/// assert_eq!(ndgrad::stencil::interior_weights(0.5, 0.5), [-1.0, 0.0, 1.0]);
/// ```
#[inline(always)]
pub fn interior_weights(dx1: f64, dx2: f64) -> [f64; 3] {
    let a = -(dx2) / (dx1 * (dx1 + dx2));
    let b = (dx2 - dx1) / (dx1 * dx2);
    let c = dx1 / (dx2 * (dx1 + dx2));
    [a, b, c]
}

/// [`interior_weights`] with one division instead of three, for a backend
/// that rounds the weights to a type narrower than `f64` (`f32`).
///
/// With `r = 1 / (dx1·dx2·(dx1 + dx2))` the weights are `−dx2²·r`,
/// `(dx2 − dx1)(dx1 + dx2)·r` and `dx1²·r`: the same numbers, computed with
/// a few `f64` roundings more, so they differ from numpy's by a few units
/// of `f64`'s last place, about 10⁻¹⁵ relative. Rounded to `f32` (a unit in
/// the last place of 6·10⁻⁸) they are numpy's weights rounded to `f32`,
/// except where a weight lies within 10⁻¹⁵ of a rounding boundary, and then
/// one unit of `f32`'s last place away. Divisions are the slowest operation
/// in the non-uniform loop; this one runs three times faster.
///
/// ```
/// use ndgrad::stencil::{interior_weights, interior_weights_one_division};
/// let (exact, fast) = (interior_weights(0.3, 0.7), interior_weights_one_division(0.3, 0.7));
/// for (e, f) in exact.iter().zip(fast) {
///     assert!((e - f).abs() <= 1e-14 * e.abs());
///     assert_eq!(*e as f32, f as f32);
/// }
/// ```
#[inline(always)]
pub fn interior_weights_one_division(dx1: f64, dx2: f64) -> [f64; 3] {
    let sum = dx1 + dx2;
    let r = 1.0 / (dx1 * dx2 * sum);
    [-(dx2 * dx2) * r, (dx2 - dx1) * sum * r, dx1 * dx1 * r]
}

/// The coordinate of every point of a non-uniform axis: numpy's `x`, shared
/// with the caller's [`crate::AxisSpacing::Coordinates`] rather than copied,
/// and contiguous.
///
/// Steps and weights are computed from it when they are needed, in numpy's
/// order of operations (`x[k + 1] − x[k]` is numpy's `diff(x)[k]`), so a
/// long axis holds no table of differences or weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Coordinates(ArcArray1<f64>);

impl Coordinates {
    /// Wraps `x`, copying it only if it is not contiguous.
    pub fn new(x: ArcArray1<f64>) -> Coordinates {
        if x.as_slice().is_some() {
            Coordinates(x)
        } else {
            Coordinates(x.as_standard_layout().to_owned().into_shared())
        }
    }

    /// The coordinates, in order.
    #[inline(always)]
    pub fn as_slice(&self) -> &[f64] {
        self.0.as_slice().expect("contiguous by construction")
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no points (never, for an axis with a stencil).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Step `k`: `x[k + 1] − x[k]`, numpy's `diff(x)[k]`.
    #[inline(always)]
    pub fn step(&self, k: usize) -> f64 {
        let x = self.as_slice();
        x[k + 1] - x[k]
    }

    /// The interior weights of point `i` (`0 < i < n − 1`):
    /// [`interior_weights`] of its two steps.
    #[inline(always)]
    pub fn weights(&self, i: usize) -> [f64; 3] {
        interior_weights(self.step(i - 1), self.step(i))
    }
}

/// The spacing of one axis after numpy's reduction of its spacing argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Steps {
    /// One distance `h` between all neighbours: a scalar spacing, or
    /// coordinates whose differences are all exactly equal.
    Uniform(f64),
    /// Coordinates whose differences are not all equal.
    NonUniform(Coordinates),
}

impl Steps {
    /// Reduces coordinates as numpy does: `dx = diff(x)`, and if every `dx`
    /// equals `dx[0]` exactly (no tolerance) the axis is uniform with `h = dx[0]`.
    /// The differences are compared as they are computed, never stored.
    ///
    /// `x` must hold at least two points ([`crate::plan::Plan::new`] checks).
    pub fn from_coordinates(x: ArcArray1<f64>) -> Steps {
        let x = Coordinates::new(x);
        let h = x.step(0);
        let equal = |w: &[f64]| w[1] - w[0] == h;
        let uniform = if x.len() < PARALLEL_BELOW {
            x.as_slice().windows(2).all(equal)
        } else {
            x.as_slice().par_windows(2).all(equal)
        };
        if uniform {
            Steps::Uniform(h)
        } else {
            Steps::NonUniform(x)
        }
    }
}

/// How one output point is formed from the samples `f` of its lane along the axis.
///
/// The coefficients are `f64` as computed here (`C = f64`); a backend that
/// computes in another type rounds them once with [`Tap::map`] and evaluates
/// the same formula with [`Tap::apply`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tap<C = f64> {
    /// `(f[hi] − f[lo]) / denom`: the uniform interior (`denom = 2h`) and the
    /// first-order edges (`denom = h` or the edge's `dx`).
    Difference {
        /// Index of the subtracted sample.
        lo: usize,
        /// Index of the other sample.
        hi: usize,
        /// The divisor.
        denom: C,
    },
    /// `w[0]·f[first] + w[1]·f[first + 1] + w[2]·f[first + 2]`, summed left to
    /// right: the non-uniform interior and the second-order edges.
    Weighted {
        /// Index of the first of the three samples.
        first: usize,
        /// The three weights.
        w: [C; 3],
    },
}

impl<C> Tap<C> {
    /// The tap of point `i` of an axis of `n` points: `first` at 0, `last`
    /// at `n − 1`, and inside the tap `inside` builds, [`Tap::centred`] or
    /// [`Tap::inside`]. [`Stencil::tap`] and each backend's converted
    /// stencil pick taps through it.
    #[inline(always)]
    pub fn of_point(
        i: usize,
        n: usize,
        first: Self,
        last: Self,
        inside: impl FnOnce() -> Self,
    ) -> Self {
        if i == 0 {
            first
        } else if i == n - 1 {
            last
        } else {
            inside()
        }
    }

    /// Interior point `i` of a uniform axis: `(f[i + 1] − f[i − 1]) / two_h`.
    #[inline(always)]
    pub fn centred(i: usize, two_h: C) -> Self {
        Tap::Difference {
            lo: i - 1,
            hi: i + 1,
            denom: two_h,
        }
    }

    /// Interior point `i` of a non-uniform axis: `w` over `f[i − 1 ..= i + 1]`.
    #[inline(always)]
    pub fn inside(i: usize, w: [C; 3]) -> Self {
        Tap::Weighted { first: i - 1, w }
    }

    /// The same tap with every coefficient converted by `convert` (e.g. rounded
    /// to the compute type once per axis).
    pub fn map<T>(self, convert: impl Fn(C) -> T) -> Tap<T> {
        match self {
            Tap::Difference { lo, hi, denom } => Tap::Difference {
                lo,
                hi,
                denom: convert(denom),
            },
            Tap::Weighted { first, w } => Tap::Weighted {
                first,
                w: w.map(convert),
            },
        }
    }

    /// The lowest and one past the highest sample index the tap reads.
    pub fn span(&self) -> (usize, usize) {
        match *self {
            Tap::Difference { lo, hi, .. } => (lo.min(hi), lo.max(hi) + 1),
            Tap::Weighted { first, .. } => (first, first + 3),
        }
    }

    /// The index of the first (lowest) sample the tap reads: `lo` of a
    /// difference, `first` of a weighted tap. A boundary tap reads
    /// `order() + 1` adjacent samples from there (numpy's first-order ends
    /// difference neighbours; its second-order ends weigh three).
    pub fn start(&self) -> usize {
        self.span().0
    }

    /// The edge order a boundary tap of this form gives: 1 for a
    /// [`Tap::Difference`] of two samples, 2 for a [`Tap::Weighted`] sum of
    /// three. (An interior tap of either form is second-order accurate.)
    pub fn order(&self) -> usize {
        match self {
            Tap::Difference { .. } => 1,
            Tap::Weighted { .. } => 2,
        }
    }

    /// The tap's coefficients in the order [`Tap::apply`] uses them: the
    /// divisor of a difference (one value), the three weights of a
    /// weighted tap.
    pub fn coefficients(&self) -> &[C] {
        match self {
            Tap::Difference { denom, .. } => std::slice::from_ref(denom),
            Tap::Weighted { w, .. } => w,
        }
    }
}

impl<C> Tap<C>
where
    C: Copy + Add<Output = C> + Sub<Output = C> + Mul<Output = C> + Div<Output = C>,
{
    /// Evaluates the tap on the samples that `f` returns by index, in numpy's
    /// order of operations (a division; a left-to-right sum of products).
    #[inline(always)]
    pub fn apply(&self, f: impl Fn(usize) -> C) -> C {
        match *self {
            Tap::Difference { lo, hi, denom } => (f(hi) - f(lo)) / denom,
            Tap::Weighted { first, w } => {
                w[0] * f(first) + w[1] * f(first + 1) + w[2] * f(first + 2)
            }
        }
    }
}

/// The interior points `1..n−1` of an axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Interior {
    /// `(f[i+1] − f[i−1]) / two_h`.
    Uniform {
        /// `2h`, computed as numpy does (`2. * h`).
        two_h: f64,
    },
    /// `a·f[i−1] + b·f[i] + c·f[i+1]` with `[a, b, c] = x.weights(i)`.
    NonUniform {
        /// The coordinates of the axis.
        x: Coordinates,
    },
}

/// The complete recipe for differentiating one axis of length `n`.
///
/// ```
/// use ndgrad::stencil::{Stencil, Steps, Tap};
/// use ndgrad::EdgeOrder;
///
/// // numpy.gradient([1., 2., 4., 7.]) == [1., 1.5, 2.5, 3.]
/// let s = Stencil::new(4, Steps::Uniform(1.0), EdgeOrder::First);
/// let f = [1.0, 2.0, 4.0, 7.0];
/// let g: Vec<f64> = (0..4).map(|i| s.tap(i).apply(|k| f[k])).collect();
/// assert_eq!(g, [1.0, 1.5, 2.5, 3.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Stencil {
    n: usize,
    edge_order: EdgeOrder,
    interior: Interior,
    first: Tap,
    last: Tap,
}

impl Stencil {
    /// Builds the stencil of an axis of length `n`.
    ///
    /// # Panics
    ///
    /// If `n < edge_order + 1`, or if non-uniform `steps` do not hold `n`
    /// coordinates; [`crate::plan::Plan::new`] rejects both with an `Err` first.
    pub fn new(n: usize, steps: Steps, edge_order: EdgeOrder) -> Stencil {
        assert!(n > edge_order.get(), "axis too short for the edge order");
        let (interior, first, last) = match steps {
            Steps::Uniform(h) => Self::uniform(n, h, edge_order),
            Steps::NonUniform(x) => {
                assert_eq!(x.len(), n, "one coordinate per point");
                Self::non_uniform(n, x, edge_order)
            }
        };
        Stencil {
            n,
            edge_order,
            interior,
            first,
            last,
        }
    }

    fn uniform(n: usize, h: f64, edge_order: EdgeOrder) -> (Interior, Tap, Tap) {
        let interior = Interior::Uniform { two_h: 2. * h };
        let (first, last) = match edge_order {
            EdgeOrder::First => (
                Tap::Difference {
                    lo: 0,
                    hi: 1,
                    denom: h,
                },
                Tap::Difference {
                    lo: n - 2,
                    hi: n - 1,
                    denom: h,
                },
            ),
            EdgeOrder::Second => (
                Tap::Weighted {
                    first: 0,
                    w: [-1.5 / h, 2. / h, -0.5 / h],
                },
                Tap::Weighted {
                    first: n - 3,
                    w: [0.5 / h, -2. / h, 1.5 / h],
                },
            ),
        };
        (interior, first, last)
    }

    fn non_uniform(n: usize, x: Coordinates, edge_order: EdgeOrder) -> (Interior, Tap, Tap) {
        let dx = |k: usize| x.step(k);
        let (first, last) = match edge_order {
            EdgeOrder::First => (
                Tap::Difference {
                    lo: 0,
                    hi: 1,
                    denom: dx(0),
                },
                Tap::Difference {
                    lo: n - 2,
                    hi: n - 1,
                    denom: dx(n - 2),
                },
            ),
            EdgeOrder::Second => {
                let (dx1, dx2) = (dx(0), dx(1));
                let a = -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2));
                let b = (dx1 + dx2) / (dx1 * dx2);
                let c = -dx1 / (dx2 * (dx1 + dx2));
                let first = Tap::Weighted {
                    first: 0,
                    w: [a, b, c],
                };
                let (dx1, dx2) = (dx(n - 3), dx(n - 2));
                let a = (dx2) / (dx1 * (dx1 + dx2));
                let b = -(dx2 + dx1) / (dx1 * dx2);
                let c = (2. * dx2 + dx1) / (dx2 * (dx1 + dx2));
                let last = Tap::Weighted {
                    first: n - 3,
                    w: [a, b, c],
                };
                (first, last)
            }
        };
        (Interior::NonUniform { x }, first, last)
    }

    /// The length of the axis.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always `false`: an axis with a stencil has at least two points.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The edge order the boundary taps were built for.
    pub fn edge_order(&self) -> EdgeOrder {
        self.edge_order
    }

    /// The interior points `1..n−1`.
    pub fn interior(&self) -> &Interior {
        &self.interior
    }

    /// The tap of point 0.
    pub fn first(&self) -> Tap {
        self.first
    }

    /// The tap of point `n − 1`.
    pub fn last(&self) -> Tap {
        self.last
    }

    /// The tap of point `i` (`0 ≤ i < n`).
    pub fn tap(&self, i: usize) -> Tap {
        Tap::of_point(i, self.n, self.first, self.last, || match &self.interior {
            Interior::Uniform { two_h } => Tap::centred(i, *two_h),
            Interior::NonUniform { x } => Tap::inside(i, x.weights(i)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_differences_reduce_to_uniform_exactly() {
        assert_eq!(
            Steps::from_coordinates(ArcArray1::from(vec![0.0, 2.0, 4.0, 6.0])),
            Steps::Uniform(2.0)
        );
        assert_eq!(
            Steps::from_coordinates(ArcArray1::from(vec![6.0, 4.0, 2.0])),
            Steps::Uniform(-2.0)
        );
        // 0.1 steps are not exactly equal in binary: numpy takes the non-uniform path.
        assert!(matches!(
            Steps::from_coordinates(ArcArray1::from(vec![0.0, 0.1, 0.2, 0.3])),
            Steps::NonUniform(_)
        ));
    }

    #[test]
    fn second_order_edges_are_exact_on_quadratics() {
        let x = [0.0, 0.5, 1.5, 3.0, 3.25];
        let f: Vec<f64> = x.iter().map(|&x| x * x - 3.0 * x).collect();
        let s = Stencil::new(
            5,
            Steps::from_coordinates(ArcArray1::from(x.to_vec())),
            EdgeOrder::Second,
        );
        for (i, &xi) in x.iter().enumerate() {
            let g = s.tap(i).apply(|k| f[k]);
            assert!((g - (2.0 * xi - 3.0)).abs() < 1e-12, "point {i}: {g}");
        }
    }

    #[test]
    fn taps_describe_their_own_samples_and_coefficients() {
        let s = Stencil::new(6, Steps::Uniform(0.5), EdgeOrder::First);
        let (first, last) = (s.first(), s.last());
        assert_eq!(
            (first.start(), first.order(), first.coefficients()),
            (0, 1, &[0.5][..])
        );
        assert_eq!(
            (last.start(), last.order(), last.coefficients()),
            (4, 1, &[0.5][..])
        );
        let s = Stencil::new(6, Steps::Uniform(0.5), EdgeOrder::Second);
        let last = s.last();
        assert_eq!((last.start(), last.order()), (3, 2));
        assert_eq!(last.coefficients(), &[0.5 / 0.5, -2. / 0.5, 1.5 / 0.5]);
        // An end tap reads `order() + 1` samples from `start()`.
        for tap in [s.first(), s.last(), first] {
            assert_eq!(tap.span(), (tap.start(), tap.start() + tap.order() + 1));
        }
    }

    #[test]
    fn long_axes_are_checked_for_uniformity_on_threads_alike() {
        // Above PARALLEL_BELOW points the comparison runs on rayon's pool:
        // one unequal step anywhere, the last included, makes the axis
        // non-uniform, and exactly equal steps keep it uniform.
        let n = 3 * PARALLEL_BELOW + 17;
        let x: Vec<f64> = (0..n).map(|i| i as f64 * 0.25).collect();
        assert_eq!(
            Steps::from_coordinates(ArcArray1::from(x.clone())),
            Steps::Uniform(0.25)
        );
        for k in [1, n / 2, n - 1] {
            let mut bent = x.clone();
            bent[k] += 0.125;
            assert!(matches!(
                Steps::from_coordinates(ArcArray1::from(bent)),
                Steps::NonUniform(_)
            ));
        }
    }

    #[test]
    fn weights_come_from_numpys_differences_of_the_shared_coordinates() {
        let x = ArcArray1::from(vec![0.0, 0.1, 0.3, 0.35, 1.0]);
        let s = Stencil::new(5, Steps::from_coordinates(x.clone()), EdgeOrder::First);
        let dx: Vec<f64> = x.windows(2).into_iter().map(|w| w[1] - w[0]).collect();
        for i in 1..4 {
            let w = interior_weights(dx[i - 1], dx[i]);
            assert_eq!(s.tap(i), Tap::inside(i, w));
        }
        // Contiguous coordinates are shared, not copied.
        match s.interior() {
            Interior::NonUniform { x: shared } => {
                assert_eq!(shared.as_slice().as_ptr(), x.as_ptr())
            }
            Interior::Uniform { .. } => panic!("uneven steps"),
        }
        // Strided ones are copied into order.
        let every_other =
            ArcArray1::from(vec![0.0, 9.0, 1.0, 9.0, 3.0]).slice_move(ndarray::s![..;2]);
        let c = Coordinates::new(every_other);
        assert_eq!(c.as_slice(), &[0.0, 1.0, 3.0]);
    }
}
