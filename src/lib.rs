#![doc = include_str!("../README.md")]

pub mod block;
pub mod complex;
pub mod cpu;
mod dispatch;
pub mod element;
pub mod error;
pub mod gpu;
mod into;
mod layout;
pub mod options;
mod outputs;
pub mod plan;
pub mod reference;
pub mod stencil;

use ndarray::{Array, ArrayBase, Data, Dimension};

pub use dispatch::resolve_backend;
pub use element::{f16, Element, Input, Scalar};
pub use error::{Error, Result};
pub use into::{gradient_into, gradient_magnitude_into};
pub use num_complex::Complex;
pub use options::{
    Accuracy, Axes, AxisSpacing, Backend, Boundaries, Boundary, EdgeOrder, GradientOptions, Spacing,
};
pub use plan::Plan;
use plan::Request;

/// The result of [`gradient_with_backend`]: the derivatives and the backend
/// that computed them.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients<T, D: Dimension> {
    /// One array per requested axis, in the order the axes were requested,
    /// each in standard (C) layout and of the input's shape.
    pub arrays: Vec<Array<T, D>>,
    /// The backend that ran (never [`Backend::Auto`]).
    pub backend: Backend,
}

/// The gradient of an N-dimensional array: `numpy.gradient(f, *spacing,
/// axis=axes, edge_order=edge_order)`.
///
/// Second-order central differences inside, first- or second-order one-sided
/// differences at both ends, with scalar or coordinate spacing per axis
/// ([`stencil`] and docs/ARCHITECTURE.md, Numerics, give the formulas). `f`
/// may be any array or view, of any dimension and any memory layout (C or
/// Fortran order, stepped slices, negative strides); it is never modified.
///
/// The output type is numpy's ([`Scalar::Gradient`]): the input's for
/// `f16`, `f32`, `f64`, `Complex<f32>` and `Complex<f64>`, `f64` for every
/// integer type; [`gradient_as`] chooses another for a real input. A
/// complex input is differentiated with real weights, its real and
/// imaginary parts alike ([`complex`] says how this compares with numpy's
/// complex arithmetic).
///
/// Returns one array per requested axis, in the order the axes were requested
/// (numpy returns a bare array for a single axis; here it is a list of one).
/// A 0-d input gives an empty list, as numpy's empty tuple.
///
/// ```
/// use ndarray::array;
/// use ndgrad::{gradient, GradientOptions, Spacing};
///
/// // numpy.gradient(np.array([[1., 2., 6.], [3., 4., 5.]]), 2.0)
/// let f = array![[1.0, 2.0, 6.0], [3.0, 4.0, 5.0]];
/// let g = gradient(&f, &GradientOptions::new().spacing(Spacing::Uniform(2.0)))?;
/// assert_eq!(g[0], array![[1.0, 1.0, -0.5], [1.0, 1.0, -0.5]]);
/// assert_eq!(g[1], array![[0.5, 1.25, 2.0], [0.5, 0.5, 0.5]]);
///
/// // numpy.gradient(np.array([0, 3, 10], dtype=np.uint8)) is float64
/// let g: Vec<ndarray::Array1<f64>> = gradient(&array![0u8, 3, 10], &GradientOptions::new())?;
/// assert_eq!(g[0], array![3.0, 5.0, 7.0]);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// Every invalid option gives an [`Error`] naming the axis and the numbers
/// involved (see [`Plan::new`]); so does a backend that cannot run.
pub fn gradient<I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
) -> Result<Vec<Array<I::Gradient, D>>>
where
    I: Scalar,
    S: Data<Elem = I>,
    D: Dimension,
{
    I::gradients(f, &Plan::new(f.shape(), opts)?, opts.backend).map(|g| g.arrays)
}

/// [`gradient`] computed in and returned as `O`, whatever the input type:
/// `numpy.gradient(f.astype(O), ...)`, without the converted copy.
///
/// ```
/// use ndarray::array;
/// use ndgrad::{gradient_as, GradientOptions};
///
/// // A 16-bit CT slice differentiated in f32 (numpy would give f64).
/// let ct = array![[1000u16, 1040], [1010, 1090], [1030, 1100]];
/// let g = gradient_as::<f32, _, _, _>(&ct, &GradientOptions::new())?;
/// assert_eq!(g[0][[1, 1]], 30.0);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`gradient`].
pub fn gradient_as<O, I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
) -> Result<Vec<Array<O, D>>>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    compute(f, opts, Request::Components).map(|g| g.arrays)
}

/// [`gradient`], also telling which backend ran (useful with [`Backend::Auto`]).
///
/// ```
/// use ndarray::Array1;
/// use ndgrad::{gradient_with_backend, Backend, GradientOptions};
///
/// let f = Array1::linspace(0.0, 1.0, 11);
/// let g = gradient_with_backend(&f, &GradientOptions::new().backend(Backend::Reference))?;
/// assert_eq!(g.backend, Backend::Reference);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`gradient`].
pub fn gradient_with_backend<I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
) -> Result<Gradients<I::Gradient, D>>
where
    I: Scalar,
    S: Data<Elem = I>,
    D: Dimension,
{
    I::gradients(f, &Plan::new(f.shape(), opts)?, opts.backend)
}

/// [`gradient_as`], also telling which backend ran: [`gradient_with_backend`]
/// with the output type chosen.
///
/// ```
/// use ndarray::array;
/// use ndgrad::{gradient_with_backend_as, Backend, GradientOptions};
///
/// let ct = array![[1000u16, 1040], [1010, 1090], [1030, 1100]];
/// let opts = GradientOptions::new().backend(Backend::Cpu);
/// let g = gradient_with_backend_as::<f32, _, _, _>(&ct, &opts)?;
/// assert_eq!((g.backend, g.arrays[1][[2, 0]]), (Backend::Cpu, 70.0));
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`gradient`].
pub fn gradient_with_backend_as<O, I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
) -> Result<Gradients<O, D>>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    compute(f, opts, Request::Components)
}

/// The gradient magnitude `sqrt(Σₖ (∂f/∂xₖ)²)` over the requested axes:
/// `np.sqrt(sum(g**2 for g in np.gradient(f, ...)))`, with numpy's spacing,
/// axis and edge-order semantics and output type. With no axes (a 0-d input)
/// it is all zeros.
///
/// ```
/// use ndarray::array;
/// use ndgrad::{gradient_magnitude, GradientOptions};
///
/// // f = 3x + 4y has |∇f| = 5 everywhere.
/// let f = array![[0.0, 4.0, 8.0], [3.0, 7.0, 11.0]];
/// let m = gradient_magnitude(&f, &GradientOptions::new())?;
/// assert!(m.iter().all(|&v| v == 5.0));
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`gradient`].
pub fn gradient_magnitude<I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
) -> Result<Array<I::Magnitude, D>>
where
    I: Scalar,
    S: Data<Elem = I>,
    D: Dimension,
{
    I::magnitude(f, &Plan::new(f.shape(), opts)?, opts.backend)
}

/// [`gradient_magnitude`] computed in and returned as `O`.
///
/// # Errors
///
/// As [`gradient`].
pub fn gradient_magnitude_as<O, I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
) -> Result<Array<O, D>>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    let mut g = compute(f, opts, Request::Magnitude)?;
    Ok(g.arrays
        .pop()
        .expect("a magnitude request returns one array"))
}

/// Validates, picks the backend and runs `request` for a real input.
pub(crate) fn compute<O, I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
    request: Request,
) -> Result<Gradients<O, D>>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    compute_planned(f, &Plan::new(f.shape(), opts)?, opts.backend, request)
}

/// Picks the backend and runs `request` of a validated `plan` for a real
/// input.
pub(crate) fn compute_planned<O, I, S, D>(
    f: &ArrayBase<S, D>,
    plan: &Plan,
    requested: Backend,
    request: Request,
) -> Result<Gradients<O, D>>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    let backend = dispatch::choose_backend::<O>(requested, plan)?;
    let arrays = dispatch::run::<O, I, S, D>(backend, plan, f, request)?
        .into_iter()
        .map(|v| {
            Array::from_shape_vec(f.raw_dim(), v).expect("a backend returns one value per element")
        })
        .collect();
    Ok(Gradients { arrays, backend })
}
