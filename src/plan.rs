//! Validation: options + shape → [`Plan`].
//!
//! This is the one place where the errors a caller can make are raised, in
//! the order numpy raises them: axes first, then the number of spacing items,
//! then each coordinate array, then each axis's length. A backend receives a
//! `Plan` and can assume it is valid. `Request` says what a caller wants
//! back from a plan; every backend reads both from here, never from the
//! dispatcher above it.

use crate::error::{Error, Result};
use crate::options::{Axes, AxisSpacing, Boundaries, Boundary, GradientOptions, Spacing};
use crate::stencil::{Form, Stencil, Steps};

/// One requested axis, reduced to the three extents every backend works with.
///
/// For axis `k` of a C-ordered array of shape `s`: `outer = Π s[..k]`,
/// `n = s[k]`, `inner = Π s[k+1..]`; element `(o, i, j)` lives at
/// `(o·n + i)·inner + j`, and its neighbours along the axis are `±inner` away.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisPlan {
    /// The axis, made non-negative.
    pub axis: usize,
    /// The product of the extents before the axis.
    pub outer: usize,
    /// The length of the axis.
    pub n: usize,
    /// The product of the extents after the axis (the stride of the axis in
    /// a C-ordered array).
    pub inner: usize,
    /// How each point along the axis is formed.
    pub stencil: Stencil,
}

impl AxisPlan {
    /// The flat C-order index of element `(o, i, j)`.
    pub fn index(&self, o: usize, i: usize, j: usize) -> usize {
        (o * self.n + i) * self.inner + j
    }
}

/// What the caller wants back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// One derivative per requested axis.
    Components,
    /// `sqrt(Σ (∂f/∂xₖ)²)` over the requested axes, alone.
    Magnitude,
}

impl Request {
    /// How many arrays a request for `plan` returns.
    pub(crate) fn count(self, plan: &Plan) -> usize {
        match self {
            Request::Components => plan.axes.len(),
            Request::Magnitude => 1,
        }
    }
}

/// A validated gradient request: the shape and one [`AxisPlan`] per requested
/// axis, in the order the axes were requested.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The shape of the input (and of every output).
    pub shape: Vec<usize>,
    /// The requested axes, in order.
    pub axes: Vec<AxisPlan>,
}

impl Plan {
    /// Validates `opts` against an array of `shape`.
    ///
    /// # Errors
    ///
    /// Every [`Error`] a caller can cause with the options: an axis out of
    /// range or repeated, the wrong number of spacing items, a coordinate
    /// array that is not 1-D, of the wrong length or shorter than 2, and an
    /// axis shorter than `edge_order + 1` (which includes every zero-length
    /// axis that is differentiated).
    ///
    /// ```
    /// use ndgrad::plan::Plan;
    /// use ndgrad::GradientOptions;
    ///
    /// let plan = Plan::new(&[4, 5, 6], &GradientOptions::new().axis(-2)).unwrap();
    /// let a = &plan.axes[0];
    /// assert_eq!((a.axis, a.outer, a.n, a.inner), (1, 4, 5, 6));
    /// ```
    pub fn new(shape: &[usize], opts: &GradientOptions) -> Result<Plan> {
        let axes = normalize_axes(&opts.axes, shape.len())?;
        let spacing = per_axis_spacing(&opts.spacing, axes.len())?;
        let steps = axes
            .iter()
            .zip(spacing)
            .map(|(&axis, item)| steps_of(axis, shape[axis], item))
            .collect::<Result<Vec<_>>>()?;
        let boundaries = per_axis_boundary(&opts.boundary, axes.len())?;
        let axes = axes
            .into_iter()
            .zip(steps)
            .zip(boundaries)
            .map(|((axis, steps), boundary)| {
                let form = Form {
                    edge_order: opts.edge_order,
                    accuracy: opts.accuracy,
                    boundary,
                };
                axis_plan(shape, axis, steps, form)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan {
            shape: shape.to_vec(),
            axes,
        })
    }

    /// The number of elements of the input (and of each output).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the input has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same gradient over an array with one more, innermost axis of
    /// `parts` points that is not differentiated: the plan of a complex
    /// array's real view (`parts = 2`: real and imaginary part side by
    /// side), where every requested axis keeps its stencil and its stride
    /// doubles.
    ///
    /// ```
    /// use ndgrad::plan::Plan;
    /// use ndgrad::GradientOptions;
    ///
    /// let plan = Plan::new(&[4, 5], &GradientOptions::new()).unwrap().with_parts(2);
    /// assert_eq!(plan.shape, [4, 5, 2]);
    /// let a = &plan.axes[1];
    /// assert_eq!((a.axis, a.outer, a.n, a.inner), (1, 4, 5, 2));
    /// ```
    pub fn with_parts(&self, parts: usize) -> Plan {
        let mut shape = self.shape.clone();
        shape.push(parts);
        let axes = self
            .axes
            .iter()
            .map(|a| AxisPlan {
                inner: a.inner * parts,
                ..a.clone()
            })
            .collect();
        Plan { shape, axes }
    }
}

/// The steps of every requested axis, in the plan's order, as
/// [`Plan::new`] reduces the spacing (the block path re-plans a block of
/// an axis with the whole axis's steps).
pub(crate) fn requested_steps(shape: &[usize], opts: &GradientOptions) -> Result<Vec<Steps>> {
    let axes = normalize_axes(&opts.axes, shape.len())?;
    let spacing = per_axis_spacing(&opts.spacing, axes.len())?;
    axes.iter()
        .zip(spacing)
        .map(|(&axis, item)| steps_of(axis, shape[axis], item))
        .collect()
}

fn normalize_axes(axes: &Axes, ndim: usize) -> Result<Vec<usize>> {
    let list = match axes {
        Axes::All => return Ok((0..ndim).collect()),
        Axes::List(list) => list,
    };
    let mut out = Vec::with_capacity(list.len());
    for &axis in list {
        let k = if axis < 0 {
            axis.checked_add(ndim as isize)
        } else {
            Some(axis)
        };
        let k = match k {
            Some(k) if k >= 0 && (k as usize) < ndim => k as usize,
            _ => return Err(Error::AxisOutOfRange { axis, ndim }),
        };
        if out.contains(&k) {
            return Err(Error::RepeatedAxis { axis: k });
        }
        out.push(k);
    }
    Ok(out)
}

/// One item of the spacing, borrowed: a scalar, or coordinates (of any
/// dimension until [`steps_of`] checks them).
#[derive(Clone, Copy)]
enum Item<'a> {
    Scalar(f64),
    Coordinates(&'a ndarray::ArcArray<f64, ndarray::IxDyn>),
}

impl<'a> Item<'a> {
    /// numpy treats a 0-d array spacing exactly like a scalar
    /// (`np.ndim(d) == 0`), alone or as one item of the per-axis list.
    fn of(item: &'a AxisSpacing) -> Item<'a> {
        match item {
            AxisSpacing::Scalar(h) => Item::Scalar(*h),
            AxisSpacing::Coordinates(x) if x.ndim() == 0 => {
                Item::Scalar(x.iter().next().copied().unwrap_or(f64::NAN))
            }
            AxisSpacing::Coordinates(x) => Item::Coordinates(x),
        }
    }
}

/// numpy's `*varargs` rule: none, one scalar, or one item per requested axis.
/// Borrows the coordinates: they can be long, and are read only once.
fn per_axis_spacing(spacing: &Spacing, naxes: usize) -> Result<Vec<Item<'_>>> {
    match spacing {
        Spacing::Unit => Ok(vec![Item::Scalar(1.0); naxes]),
        Spacing::Uniform(h) => Ok(vec![Item::Scalar(*h); naxes]),
        Spacing::PerAxis(items) if items.is_empty() => Ok(vec![Item::Scalar(1.0); naxes]),
        Spacing::PerAxis(items) => match items.iter().map(Item::of).collect::<Vec<_>>()[..] {
            [Item::Scalar(h)] => Ok(vec![Item::Scalar(h); naxes]),
            ref items if items.len() == naxes => Ok(items.to_vec()),
            ref items => Err(Error::SpacingCount {
                given: items.len(),
                axes: naxes,
            }),
        },
    }
}

fn steps_of(axis: usize, len: usize, item: Item<'_>) -> Result<Steps> {
    match item {
        Item::Scalar(h) => Ok(Steps::Uniform(h)),
        Item::Coordinates(x) => {
            if x.ndim() != 1 {
                return Err(Error::CoordinatesNotOneDimensional {
                    axis,
                    ndim: x.ndim(),
                });
            }
            if x.len() != len {
                return Err(Error::CoordinatesLength {
                    axis,
                    len: x.len(),
                    expected: len,
                });
            }
            if x.len() < 2 {
                return Err(Error::CoordinatesTooShort { axis, len: x.len() });
            }
            // Shared with the caller (a reference count, no copy).
            let x = x
                .clone()
                .into_dimensionality::<ndarray::Ix1>()
                .expect("checked 1-D above");
            Ok(Steps::from_coordinates(x))
        }
    }
}

/// One boundary mode per requested axis: one for all, or a list as long
/// as the requested axes.
fn per_axis_boundary(boundary: &Boundaries, naxes: usize) -> Result<Vec<Boundary>> {
    match boundary {
        Boundaries::All(b) => Ok(vec![*b; naxes]),
        Boundaries::PerAxis(list) if list.len() == 1 => Ok(vec![list[0]; naxes]),
        Boundaries::PerAxis(list) if list.len() == naxes => Ok(list.clone()),
        Boundaries::PerAxis(list) => Err(Error::BoundaryCount {
            given: list.len(),
            axes: naxes,
        }),
    }
}

/// Checks a periodic axis's period against its spacing.
fn check_period(axis: usize, n: usize, steps: &Steps, period: Option<f64>) -> Result<()> {
    let invalid = |period: f64, reason: String| Error::Period {
        axis,
        period,
        reason,
    };
    match (steps, period) {
        (_, Some(l)) if !l.is_finite() => Err(invalid(l, "it is not finite".into())),
        (Steps::Uniform(_), None) => Ok(()),
        (Steps::Uniform(h), Some(l)) => {
            let expected = n as f64 * h;
            if l == expected {
                Ok(())
            } else {
                Err(invalid(
                    l,
                    format!(
                        "uniform spacing {h} over {n} points has period n*h = {expected}; give coordinates for another wrap-around step"
                    ),
                ))
            }
        }
        (Steps::NonUniform(_), None) => Err(Error::PeriodMissing { axis }),
        (Steps::NonUniform(x), Some(l)) => {
            let xs = x.as_slice();
            let wrap = xs[0] + l - xs[n - 1];
            let direction = x.step(0);
            if wrap != 0.0 && (wrap > 0.0) == (direction > 0.0) {
                Ok(())
            } else {
                Err(invalid(
                    l,
                    format!(
                        "the wrap-around step x[0] + L - x[n-1] = {wrap} must be non-zero and of the sign of the coordinates' steps"
                    ),
                ))
            }
        }
    }
}

/// The plan of `axis` of an array of `shape`, with its length checked
/// against the stencil's.
pub(crate) fn axis_plan(
    shape: &[usize],
    axis: usize,
    steps: Steps,
    form: Form,
) -> Result<AxisPlan> {
    let n = shape[axis];
    let required = form.min_len();
    if n < required {
        return Err(if form.is_numpy() {
            Error::AxisTooShort {
                axis,
                len: n,
                edge_order: form.edge_order,
                required,
            }
        } else {
            Error::AxisTooShortForStencil {
                axis,
                len: n,
                accuracy: form.accuracy.get(),
                boundary: form.boundary.name(),
                required,
            }
        });
    }
    if let Boundary::Periodic { period } = form.boundary {
        check_period(axis, n, &steps, period)?;
    }
    Ok(AxisPlan {
        axis,
        outer: shape[..axis].iter().product(),
        n,
        inner: shape[axis + 1..].iter().product(),
        stencil: Stencil::with_form(n, steps, form),
    })
}
