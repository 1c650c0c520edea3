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

use rayon::prelude::*;

use crate::options::EdgeOrder;

/// Below this many coordinates, steps and weights are computed on the
/// calling thread; above, on rayon's pool (each value depends only on its
/// neighbours, so the values are the same).
const PARALLEL_BELOW: usize = 1 << 15;

/// The spacing of one axis after numpy's reduction of its spacing argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Steps {
    /// One distance `h` between all neighbours: a scalar spacing, or
    /// coordinates whose differences are all exactly equal.
    Uniform(f64),
    /// `dx[i] = x[i + 1] − x[i]` for coordinates `x`; its length is `n − 1`.
    NonUniform(Vec<f64>),
}

impl Steps {
    /// Reduces coordinates as numpy does: `dx = diff(x)`, and if every `dx`
    /// equals `dx[0]` exactly (no tolerance) the axis is uniform with `h = dx[0]`.
    ///
    /// `x` must hold at least two points ([`crate::plan::Plan::new`] checks).
    pub fn from_coordinates(x: &[f64]) -> Steps {
        let dx: Vec<f64> = if x.len() < PARALLEL_BELOW {
            x.windows(2).map(|w| w[1] - w[0]).collect()
        } else {
            x.par_windows(2).map(|w| w[1] - w[0]).collect()
        };
        if dx
            .par_iter()
            .with_min_len(PARALLEL_BELOW)
            .all(|&d| d == dx[0])
        {
            Steps::Uniform(dx[0])
        } else {
            Steps::NonUniform(dx)
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
    /// `a·f[i−1] + b·f[i] + c·f[i+1]` with `[a, b, c] = weights[i − 1]`.
    NonUniform {
        /// One `[a, b, c]` per interior point; length `n − 2` (empty when n = 2).
        weights: Vec<[f64; 3]>,
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
    /// If `n < edge_order + 1`, or if non-uniform `steps` do not hold `n − 1`
    /// differences; [`crate::plan::Plan::new`] rejects both with an `Err` first.
    pub fn new(n: usize, steps: Steps, edge_order: EdgeOrder) -> Stencil {
        assert!(n > edge_order.get(), "axis too short for the edge order");
        let (interior, first, last) = match steps {
            Steps::Uniform(h) => Self::uniform(n, h, edge_order),
            Steps::NonUniform(dx) => {
                assert_eq!(dx.len(), n - 1, "one difference per neighbouring pair");
                Self::non_uniform(n, &dx, edge_order)
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

    fn non_uniform(n: usize, dx: &[f64], edge_order: EdgeOrder) -> (Interior, Tap, Tap) {
        let weight = |d: &[f64]| {
            let (dx1, dx2) = (d[0], d[1]);
            let a = -(dx2) / (dx1 * (dx1 + dx2));
            let b = (dx2 - dx1) / (dx1 * dx2);
            let c = dx1 / (dx2 * (dx1 + dx2));
            [a, b, c]
        };
        // Each weight depends only on its two steps, so computing them on
        // several threads gives the same values.
        let weights = if dx.len() < PARALLEL_BELOW {
            dx.windows(2).map(weight).collect()
        } else {
            dx.par_windows(2).map(weight).collect()
        };
        let (first, last) = match edge_order {
            EdgeOrder::First => (
                Tap::Difference {
                    lo: 0,
                    hi: 1,
                    denom: dx[0],
                },
                Tap::Difference {
                    lo: n - 2,
                    hi: n - 1,
                    denom: dx[n - 2],
                },
            ),
            EdgeOrder::Second => {
                let (dx1, dx2) = (dx[0], dx[1]);
                let a = -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2));
                let b = (dx1 + dx2) / (dx1 * dx2);
                let c = -dx1 / (dx2 * (dx1 + dx2));
                let first = Tap::Weighted {
                    first: 0,
                    w: [a, b, c],
                };
                let (dx1, dx2) = (dx[n - 3], dx[n - 2]);
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
        (Interior::NonUniform { weights }, first, last)
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
            Interior::NonUniform { weights } => Tap::inside(i, weights[i - 1]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_differences_reduce_to_uniform_exactly() {
        assert_eq!(
            Steps::from_coordinates(&[0.0, 2.0, 4.0, 6.0]),
            Steps::Uniform(2.0)
        );
        assert_eq!(
            Steps::from_coordinates(&[6.0, 4.0, 2.0]),
            Steps::Uniform(-2.0)
        );
        // 0.1 steps are not exactly equal in binary: numpy takes the non-uniform path.
        assert!(matches!(
            Steps::from_coordinates(&[0.0, 0.1, 0.2, 0.3]),
            Steps::NonUniform(_)
        ));
    }

    #[test]
    fn second_order_edges_are_exact_on_quadratics() {
        let x = [0.0, 0.5, 1.5, 3.0, 3.25];
        let f: Vec<f64> = x.iter().map(|&x| x * x - 3.0 * x).collect();
        let s = Stencil::new(5, Steps::from_coordinates(&x), EdgeOrder::Second);
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
    fn long_axes_computed_on_threads_equal_short_ones_computed_serially() {
        // Above PARALLEL_BELOW points the steps and weights come from rayon;
        // each depends only on its neighbours, so the first and last 1,000
        // points (computed serially on their own) must give the same bits.
        let n = 3 * PARALLEL_BELOW + 17;
        let mut x = vec![0.0f64];
        let mut state = 12_345u64;
        for _ in 1..n {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let step = 0.1 + (state >> 11) as f64 / (1u64 << 53) as f64;
            x.push(x.last().unwrap() + step);
        }
        let weights =
            |x: &[f64]| match Stencil::new(x.len(), Steps::from_coordinates(x), EdgeOrder::Second)
                .interior()
            {
                Interior::NonUniform { weights } => weights.clone(),
                Interior::Uniform { .. } => panic!("random steps are not uniform"),
            };
        let all = weights(&x);
        assert_eq!(all.len(), n - 2);
        assert_eq!(weights(&x[..1000])[..], all[..998]);
        assert_eq!(weights(&x[n - 1000..])[..], all[n - 1000..]);
    }
}
