//! What a caller can ask for: spacing, axes, edge order and backend.
//!
//! [`GradientOptions::default()`] is numpy's default call, `numpy.gradient(f)`:
//! unit spacing, every axis, first-order edges.

use std::fmt;

use ndarray::{ArcArray, Dimension, IxDyn};

/// How the one-sided differences at both ends of an axis are formed: numpy's
/// `edge_order` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EdgeOrder {
    /// `edge_order=1` (numpy's default): first-order one-sided differences.
    #[default]
    First,
    /// `edge_order=2`: second-order one-sided differences over three points.
    Second,
}

impl EdgeOrder {
    /// The order as numpy writes it: 1 or 2.
    pub fn get(self) -> usize {
        match self {
            EdgeOrder::First => 1,
            EdgeOrder::Second => 2,
        }
    }

    /// `EdgeOrder::First` for 1, `EdgeOrder::Second` for 2, `None` otherwise.
    pub fn from_number(order: usize) -> Option<Self> {
        match order {
            1 => Some(EdgeOrder::First),
            2 => Some(EdgeOrder::Second),
            _ => None,
        }
    }
}

impl fmt::Display for EdgeOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// The order of accuracy of the stencils: the error of every point, the
/// edges included, shrinks like `hᵖ`.
///
/// numpy has no equivalent: `numpy.gradient` is second-order accurate
/// inside (and at the edges with `edge_order=2`). findiff's `acc` argument
/// (`findiff.Diff(axis, h, acc=p)`) is the nearest. [`Accuracy::Second`] is
/// numpy's behaviour, bit for bit, with either [`EdgeOrder`]; with
/// [`Accuracy::Fourth`] or [`Accuracy::Sixth`] every point uses `p + 1`
/// samples: the central stencil inside, and off-centre stencils of the same
/// order within `p / 2` points of an edge, so that the result is exact (up
/// to rounding) for any polynomial of degree ≤ `p`. `edge_order` has no
/// effect then. Weights for coordinate arrays come from Fornberg's
/// algorithm on the `p + 1` nearest points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Accuracy {
    /// Order 2: numpy's stencils (the default).
    #[default]
    Second,
    /// Order 4: five samples per point.
    Fourth,
    /// Order 6: seven samples per point.
    Sixth,
}

impl Accuracy {
    /// The order `p`: 2, 4 or 6.
    pub fn get(self) -> usize {
        match self {
            Accuracy::Second => 2,
            Accuracy::Fourth => 4,
            Accuracy::Sixth => 6,
        }
    }

    /// `Some` for 2, 4 and 6, `None` otherwise.
    pub fn from_number(p: usize) -> Option<Self> {
        match p {
            2 => Some(Accuracy::Second),
            4 => Some(Accuracy::Fourth),
            6 => Some(Accuracy::Sixth),
            _ => None,
        }
    }
}

impl fmt::Display for Accuracy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// What the stencil does at the two ends of an axis.
///
/// numpy has no equivalent for anything but [`Boundary::OneSided`]; see
/// numpy#21357 (asked for by xarray#6493).
///
/// Modes users may ask for later are left open (`#[non_exhaustive]`). A
/// reflecting (Neumann) end, say, would mirror the samples about the edge,
/// `f[−k] = f[k]`; for a derivative that forces `∂f = 0` at the edge
/// whatever the data says, which is a statement about the physics, not a
/// way to estimate the derivative of the samples given. It is not here
/// until someone needs it and the edge value it should assume is agreed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Boundary {
    /// numpy's behaviour (the default): one-sided differences at the edges,
    /// of the [`EdgeOrder`] asked for (or of the [`Accuracy`] order when it
    /// is above 2).
    #[default]
    OneSided,
    /// The axis wraps around: sample `n` is sample `0`. Every point, the
    /// edges included, uses the interior stencil with indices taken mod `n`;
    /// [`EdgeOrder`] has no effect. The axis needs at least `p + 1` points
    /// (3 for the default accuracy).
    ///
    /// With uniform spacing `h` the period is `n·h` and `period` may be
    /// left `None` (if given, it must equal `n·h`). With coordinates `x`,
    /// `period` (the length `L` of the domain) is required: the wrap-around
    /// step is `x[0] + L − x[n − 1]`, which must have the sign of the other
    /// steps, and numpy's non-uniform interior formula (or Fornberg's, for
    /// higher accuracy) then holds at every point.
    ///
    /// The equivalent of `numpy.gradient(np.pad(f, p // 2, mode="wrap"), h)`
    /// trimmed back to `f`'s shape.
    Periodic {
        /// The period `L` of the axis, in the units of its spacing.
        period: Option<f64>,
    },
}

impl Boundary {
    /// A periodic boundary whose period follows from uniform spacing.
    pub const PERIODIC: Boundary = Boundary::Periodic { period: None };

    /// A periodic boundary of period `l` (required with coordinates).
    pub fn periodic(l: f64) -> Boundary {
        Boundary::Periodic { period: Some(l) }
    }

    /// The mode's name as the CLI spells it (`one-sided`, `periodic`).
    pub fn name(self) -> &'static str {
        match self {
            Boundary::OneSided => "one-sided",
            Boundary::Periodic { .. } => "periodic",
        }
    }
}

/// The boundary of every requested axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Boundaries {
    /// One mode for every requested axis ([`Boundary::OneSided`] by default).
    All(Boundary),
    /// One mode per requested axis, in the order the axes are requested, as
    /// [`Spacing::PerAxis`] gives the spacing.
    PerAxis(Vec<Boundary>),
}

impl Default for Boundaries {
    fn default() -> Self {
        Boundaries::All(Boundary::OneSided)
    }
}

/// The spacing of one requested axis: one item of numpy's `*varargs`.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisSpacing {
    /// A constant distance between neighbouring samples (numpy: a scalar).
    Scalar(f64),
    /// The coordinate of every sample along the axis (numpy: a 1-D array of
    /// the axis's length). Decreasing and unevenly spaced coordinates are
    /// allowed; coordinates whose differences are all exactly equal take the
    /// uniform path, as in numpy.
    ///
    /// The array is shared, not copied: cloning the options or planning a
    /// call only counts a reference, so long coordinate arrays cost no
    /// memory beyond the caller's own. [`AxisSpacing::coordinates`] and the
    /// `From` conversions build it from an owned array without a copy.
    Coordinates(ArcArray<f64, IxDyn>),
}

impl AxisSpacing {
    /// Coordinates from anything that converts into an array of `f64`, of any
    /// dimension (validation rejects all but 1-D, with a clear error).
    pub fn coordinates<D: Dimension>(coords: ndarray::Array<f64, D>) -> Self {
        AxisSpacing::Coordinates(coords.into_dyn().into_shared())
    }
}

impl From<f64> for AxisSpacing {
    fn from(h: f64) -> Self {
        AxisSpacing::Scalar(h)
    }
}

impl From<ndarray::Array1<f64>> for AxisSpacing {
    fn from(x: ndarray::Array1<f64>) -> Self {
        AxisSpacing::Coordinates(x.into_dyn().into_shared())
    }
}

impl From<Vec<f64>> for AxisSpacing {
    fn from(x: Vec<f64>) -> Self {
        AxisSpacing::Coordinates(ndarray::Array1::from(x).into_dyn().into_shared())
    }
}

/// The spacing of every requested axis, mirroring numpy's `*varargs`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Spacing {
    /// No spacing argument: 1.0 on every axis (`numpy.gradient(f)`).
    #[default]
    Unit,
    /// One scalar for every requested axis (`numpy.gradient(f, h)`).
    Uniform(f64),
    /// One item per requested axis, in the order the axes are requested
    /// (`numpy.gradient(f, h0, x1, ...)`): scalars and coordinate arrays may be
    /// mixed. A list of length one whose item is a scalar behaves like
    /// [`Spacing::Uniform`], as in numpy.
    PerAxis(Vec<AxisSpacing>),
}

/// Which axes to differentiate: numpy's `axis` argument.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Axes {
    /// Every axis, in order (numpy's `axis=None`).
    #[default]
    All,
    /// The listed axes, in the order given; negative indices count from the
    /// end (numpy's `axis=(2, -1)`).
    List(Vec<isize>),
}

/// Which engine computes the gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Backend {
    /// The fastest backend available: a hardware GPU, else the CPU backend,
    /// else the reference.
    #[default]
    Auto,
    /// WGSL compute shaders through wgpu.
    Gpu,
    /// The fused, multi-threaded CPU backend.
    Cpu,
    /// Plain loops in `f64`: slow, obviously correct, the oracle of every test.
    Reference,
}

impl Backend {
    /// The backend's name as the CLI spells it (`auto`, `gpu`, `cpu`, `reference`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Gpu => "gpu",
            Backend::Cpu => "cpu",
            Backend::Reference => "reference",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Backend::Auto),
            "gpu" => Ok(Backend::Gpu),
            "cpu" => Ok(Backend::Cpu),
            "reference" => Ok(Backend::Reference),
            other => Err(format!(
                "unknown backend '{other}': expected auto, gpu, cpu or reference"
            )),
        }
    }
}

/// Everything [`crate::gradient`] takes besides the array.
///
/// The default is numpy's default call, `numpy.gradient(f)`; the builder
/// methods set one argument each.
///
/// ```
/// use ndgrad::{Axes, EdgeOrder, GradientOptions, Spacing};
///
/// // numpy.gradient(f, 0.5, axis=(-1, 0), edge_order=2)
/// let opts = GradientOptions::new()
///     .spacing(Spacing::Uniform(0.5))
///     .axes([-1, 0])
///     .edge_order(EdgeOrder::Second);
/// assert_eq!(opts.axes, Axes::List(vec![-1, 0]));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GradientOptions {
    /// The sample spacing (numpy's `*varargs`).
    pub spacing: Spacing,
    /// The axes to differentiate (numpy's `axis`).
    pub axes: Axes,
    /// The order of the boundary differences (numpy's `edge_order`).
    pub edge_order: EdgeOrder,
    /// The order of accuracy (numpy has no equivalent; findiff's `acc`).
    pub accuracy: Accuracy,
    /// What happens at the ends of each axis (numpy: one-sided only).
    pub boundary: Boundaries,
    /// The engine that computes the result.
    pub backend: Backend,
}

impl GradientOptions {
    /// numpy's defaults: unit spacing, all axes, `edge_order=1`, [`Backend::Auto`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the spacing.
    pub fn spacing(mut self, spacing: Spacing) -> Self {
        self.spacing = spacing;
        self
    }

    /// Sets one spacing item per requested axis (scalars or coordinates).
    ///
    /// ```
    /// use ndgrad::{AxisSpacing, GradientOptions};
    /// // numpy.gradient(f, 2.0, [0.0, 1.0, 3.0])
    /// let opts = GradientOptions::new().per_axis_spacing([
    ///     AxisSpacing::Scalar(2.0),
    ///     AxisSpacing::from(vec![0.0, 1.0, 3.0]),
    /// ]);
    /// ```
    pub fn per_axis_spacing(mut self, items: impl IntoIterator<Item = AxisSpacing>) -> Self {
        self.spacing = Spacing::PerAxis(items.into_iter().collect());
        self
    }

    /// Differentiates only these axes, in this order (negative indices allowed).
    pub fn axes(mut self, axes: impl IntoIterator<Item = isize>) -> Self {
        self.axes = Axes::List(axes.into_iter().collect());
        self
    }

    /// Differentiates only this axis (negative indices allowed).
    pub fn axis(self, axis: isize) -> Self {
        self.axes([axis])
    }

    /// Sets the edge order.
    pub fn edge_order(mut self, edge_order: EdgeOrder) -> Self {
        self.edge_order = edge_order;
        self
    }

    /// Sets the order of accuracy (numpy has no equivalent; findiff's `acc`).
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndgrad::{gradient, Accuracy, Backend, GradientOptions};
    ///
    /// // Exact for a quartic at every point, the edges included.
    /// let x = Array1::<f64>::linspace(0.0, 2.0, 9);
    /// let f = x.mapv(|x| x.powi(4) - x);
    /// let opts = GradientOptions::new()
    ///     .spacing(ndgrad::Spacing::Uniform(0.25))
    ///     .accuracy(Accuracy::Fourth)
    ///     .backend(Backend::Reference);
    /// let g = &gradient(&f, &opts)?[0];
    /// for (g, x) in g.iter().zip(&x) {
    ///     assert!((g - (4.0 * x.powi(3) - 1.0)).abs() < 1e-12);
    /// }
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    pub fn accuracy(mut self, accuracy: Accuracy) -> Self {
        self.accuracy = accuracy;
        self
    }

    /// Sets one boundary mode for every requested axis.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndgrad::{gradient, Backend, Boundary, GradientOptions};
    ///
    /// // np.gradient(np.pad(f, 1, mode="wrap"))[1:-1]
    /// let f = array![1.0, 2.0, 4.0, 7.0];
    /// let opts = GradientOptions::new()
    ///     .boundary(Boundary::PERIODIC)
    ///     .backend(Backend::Reference);
    /// assert_eq!(gradient(&f, &opts)?[0], array![-2.5, 1.5, 2.5, -1.5]);
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    pub fn boundary(mut self, boundary: Boundary) -> Self {
        self.boundary = Boundaries::All(boundary);
        self
    }

    /// Sets one boundary mode per requested axis, in the order the axes are
    /// requested (as [`GradientOptions::per_axis_spacing`] sets spacing).
    pub fn per_axis_boundary(mut self, modes: impl IntoIterator<Item = Boundary>) -> Self {
        self.boundary = Boundaries::PerAxis(modes.into_iter().collect());
        self
    }

    /// Sets the backend.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }
}
