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

use ndarray::ArcArray1;
use rayon::prelude::*;

use crate::options::{Accuracy, Boundary, EdgeOrder};

mod tap;
mod wide;

pub use tap::{Tap, MAX_TAP};
pub use wide::fornberg;

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

/// The interior points `ends..n − ends` of an axis (`1..n − 1` for
/// accuracy 2): the points whose taps are not the ends' own.
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
    /// `Σₖ w[k]·f[i − len/2 + k]`, the same weights at every point: the
    /// central stencil of accuracy 4 or 6 on a uniform axis, divided by `h`.
    Central {
        /// The weights; those past `len` are zero.
        w: [f64; MAX_TAP],
        /// `p + 1`.
        len: usize,
    },
    /// `Σₖ w[(i − first)·len + k]·f[i − len/2 + k]`: Fornberg's weights of
    /// every interior point of an axis with coordinates, accuracy 4 or 6,
    /// computed once when the stencil is built.
    Table {
        /// `len` weights per interior point, from point `first` on.
        w: Vec<f64>,
        /// `p + 1`.
        len: usize,
        /// The first interior point (`p / 2`).
        first: usize,
    },
}

/// Everything besides the spacing that decides an axis's stencil.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Form {
    /// numpy's `edge_order` (used only by one-sided ends of accuracy 2).
    pub edge_order: EdgeOrder,
    /// The order of accuracy.
    pub accuracy: Accuracy,
    /// One-sided or periodic ends (with the period, for coordinates).
    pub boundary: Boundary,
}

impl Form {
    /// numpy's form: one-sided ends of `edge_order`, accuracy 2.
    pub fn numpy(edge_order: EdgeOrder) -> Form {
        Form {
            edge_order,
            ..Form::default()
        }
    }

    /// Whether this is numpy's own stencil (accuracy 2, one-sided ends).
    pub fn is_numpy(&self) -> bool {
        self.accuracy == Accuracy::Second && self.boundary == Boundary::OneSided
    }

    /// The fewest points an axis of this form needs: `edge_order + 1` for
    /// numpy's stencil, `p + 1` otherwise (and for a periodic axis, whose
    /// stencil must read distinct samples).
    pub fn min_len(&self) -> usize {
        if self.is_numpy() {
            self.edge_order.get() + 1
        } else {
            self.accuracy.get() + 1
        }
    }
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
    form: Form,
    interior: Interior,
    /// The taps of points `0..head.len()`.
    head: Vec<Tap>,
    /// The taps of points `n − tail.len()..n`, in order.
    tail: Vec<Tap>,
}

impl Stencil {
    /// Builds numpy's stencil of an axis of length `n`.
    ///
    /// # Panics
    ///
    /// If `n < edge_order + 1`, or if non-uniform `steps` do not hold `n`
    /// coordinates; [`crate::plan::Plan::new`] rejects both with an `Err` first.
    pub fn new(n: usize, steps: Steps, edge_order: EdgeOrder) -> Stencil {
        Stencil::with_form(n, steps, Form::numpy(edge_order))
    }

    /// Builds the stencil of an axis of length `n` in any [`Form`].
    ///
    /// # Panics
    ///
    /// If `n < form.min_len()`, if non-uniform `steps` do not hold `n`
    /// coordinates, or if a periodic axis with coordinates has no period, or
    /// one that makes a wrap-around step of the wrong sign;
    /// [`crate::plan::Plan::new`] rejects each with an `Err` first.
    pub fn with_form(n: usize, steps: Steps, form: Form) -> Stencil {
        assert!(n >= form.min_len(), "axis too short for its stencil");
        if let Steps::NonUniform(x) = &steps {
            assert_eq!(x.len(), n, "one coordinate per point");
        }
        let (interior, head, tail) = if form.is_numpy() {
            let (interior, first, last) = match steps {
                Steps::Uniform(h) => Self::uniform(n, h, form.edge_order),
                Steps::NonUniform(x) => Self::non_uniform(n, x, form.edge_order),
            };
            (interior, vec![first], vec![last])
        } else {
            wide::build(n, steps, form)
        };
        Stencil {
            n,
            form,
            interior,
            head,
            tail,
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
        self.form.edge_order
    }

    /// The form the stencil was built in.
    pub fn form(&self) -> Form {
        self.form
    }

    /// Whether this is numpy's stencil (accuracy 2, one-sided ends): one
    /// end tap at each end, none wrapping.
    pub fn is_numpy(&self) -> bool {
        self.form.is_numpy()
    }

    /// The interior points `ends()..n − ends()`.
    pub fn interior(&self) -> &Interior {
        &self.interior
    }

    /// How many points at each end have taps of their own ([`Stencil::head`],
    /// [`Stencil::tail`]): 1 for accuracy 2, `p / 2` above.
    pub fn ends(&self) -> usize {
        self.head.len()
    }

    /// The taps of the first [`Stencil::ends`] points.
    pub fn head(&self) -> &[Tap] {
        &self.head
    }

    /// The taps of the last [`Stencil::ends`] points, in order.
    pub fn tail(&self) -> &[Tap] {
        &self.tail
    }

    /// The tap of point 0.
    pub fn first(&self) -> Tap {
        self.head[0]
    }

    /// The tap of point `n − 1`.
    pub fn last(&self) -> Tap {
        self.tail[self.tail.len() - 1]
    }

    /// How far from a point its tap may read, in samples, not counting the
    /// wrap-around of a periodic axis: numpy's `edge_order` for accuracy 2
    /// (its second-order ends read two samples away), `p` above (the
    /// off-centre taps at the ends).
    pub fn reach(&self) -> usize {
        if self.form.is_numpy() {
            self.form.edge_order.get()
        } else if self.is_periodic() {
            self.form.accuracy.get() / 2
        } else {
            self.form.accuracy.get()
        }
    }

    /// Whether the axis wraps around (a periodic boundary).
    pub fn is_periodic(&self) -> bool {
        matches!(self.form.boundary, Boundary::Periodic { .. })
    }

    /// The tap of point `i` (`0 ≤ i < n`).
    pub fn tap(&self, i: usize) -> Tap {
        Tap::of_point(i, self.n, &self.head, &self.tail, || self.interior.tap(i))
    }
}

impl Interior {
    /// The tap of interior point `i`.
    #[inline]
    pub fn tap(&self, i: usize) -> Tap {
        match self {
            Interior::Uniform { two_h } => Tap::centred(i, *two_h),
            Interior::NonUniform { x } => Tap::inside(i, x.weights(i)),
            Interior::Central { w, len } => Tap::Wide {
                first: i - len / 2,
                len: *len,
                n: usize::MAX,
                w: *w,
            },
            Interior::Table { w, len, first } => {
                let mut row = [0.0; MAX_TAP];
                let at = (i - first) * len;
                row[..*len].copy_from_slice(&w[at..at + len]);
                Tap::Wide {
                    first: i - len / 2,
                    len: *len,
                    n: usize::MAX,
                    w: row,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
