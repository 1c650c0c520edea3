//! Gradients into arrays the caller provides: the `out=` of
//! `numpy.gradient`-style APIs, for loops that compute the gradient of many
//! arrays of one shape and would otherwise allocate (and page in) fresh
//! outputs every time.
//!
//! The outputs may have any layout. One in standard (C) layout is written in
//! place by every backend (the GPU reads its results back straight into it);
//! any other layout (Fortran order, a stepped or transposed view) is computed
//! into one C-ordered temporary and then assigned, element by element
//! (`src/outputs.rs`). [`crate::gpu::GpuContext::gradient_into`] does the
//! same on a context of your own.

use ndarray::{ArrayBase, ArrayViewMut, Data, Dimension};

use crate::element::{Element, Input};
use crate::error::Result;
use crate::options::{Backend, GradientOptions};
use crate::plan::{Plan, Request};
use crate::{dispatch, outputs};

/// [`crate::gradient_as`] into `out`: `out[p]` receives the derivative along
/// the `p`-th requested axis, and every element of every output is
/// overwritten. Returns the backend that ran (never [`Backend::Auto`]).
///
/// The numpy equivalent would be an `out=` argument to `numpy.gradient`,
/// which numpy does not have: `for o, g in zip(out, np.gradient(f.astype(O),
/// ...)): o[...] = g`, without the intermediate arrays.
///
/// ```
/// use ndarray::{Array2, ShapeBuilder};
/// use ndgrad::{gradient_into, GradientOptions};
///
/// let f = Array2::from_shape_fn((3, 4), |(i, j)| (i * i + 2 * j) as f32);
/// // Outputs of any layout: here one C-ordered, one Fortran-ordered.
/// let mut d0 = Array2::<f32>::zeros((3, 4));
/// let mut d1 = Array2::<f32>::zeros((3, 4).f());
/// gradient_into(&f, &GradientOptions::new(), &mut [d0.view_mut(), d1.view_mut()])?;
/// assert_eq!(d0[[1, 0]], 2.0); // (4 - 0) / 2
/// assert!(d1.iter().all(|&v| v == 2.0));
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`crate::gradient`]; also [`Error::OutputCount`](crate::Error::OutputCount) when `out` does not
/// hold one array per requested axis, and [`Error::OutputShape`](crate::Error::OutputShape) when an
/// output's shape is not the input's; these are found before anything is
/// computed, and leave every output untouched. The output type `O` is
/// checked by the compiler. A backend's own failure (a lost GPU device) may
/// leave the outputs partly written.
pub fn gradient_into<O, I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
    out: &mut [ArrayViewMut<'_, O, D>],
) -> Result<Backend>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    compute_into(f, opts, Request::Components, out)
}

/// [`crate::gradient_magnitude_as`] into `out`, of the input's shape and any
/// layout; every element is overwritten. Returns the backend that ran.
///
/// ```
/// use ndarray::{array, Array2};
/// use ndgrad::{gradient_magnitude_into, GradientOptions};
///
/// // f = 3x + 4y has |∇f| = 5 everywhere.
/// let f = array![[0i16, 4, 8], [3, 7, 11]];
/// let mut m = Array2::<f64>::from_elem((2, 3), f64::NAN);
/// gradient_magnitude_into(&f, &GradientOptions::new(), m.view_mut())?;
/// assert!(m.iter().all(|&v| v == 5.0));
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`gradient_into`].
pub fn gradient_magnitude_into<O, I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
    out: ArrayViewMut<'_, O, D>,
) -> Result<Backend>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    compute_into(f, opts, Request::Magnitude, &mut [out])
}

fn compute_into<O, I, S, D>(
    f: &ArrayBase<S, D>,
    opts: &GradientOptions,
    request: Request,
    out: &mut [ArrayViewMut<'_, O, D>],
) -> Result<Backend>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    let plan = Plan::new(f.shape(), opts)?;
    outputs::check(&plan, f.shape(), request, out)?;
    let backend = dispatch::choose_backend::<O>(opts.backend, &plan)?;
    outputs::write_through(out, plan.len(), |buffers| {
        dispatch::run_into(backend, &plan, f, request, buffers)
    })?;
    Ok(backend)
}
