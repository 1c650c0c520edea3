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

    /// Sets the backend.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }
}
