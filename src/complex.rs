//! Complex input: `numpy.gradient` of `complex64` and `complex128` arrays
//! (`Complex<f32>` and `Complex<f64>`, as rust-numpy maps them), on every
//! backend, every spacing form, boundary and accuracy order.
//!
//! # How
//!
//! The spacing is real, so every weight of every stencil is real, and the
//! product of a real weight with a complex sample acts on its real and its
//! imaginary part alone. A complex array of shape `s` is therefore
//! differentiated as its *real view*: the array of its parts, of shape
//! `s + [2]` (real and imaginary side by side, as `Complex<T>` lays them
//! out in memory), along the same axes, with the plan
//! [`Plan::with_parts`] gives. Every backend runs that plan with its real
//! machinery and no code of its own for complex numbers: the CPU's kernels,
//! the GPU's one fused kernel (which sees an innermost axis of two points
//! that it does not differentiate: a two-component layout, read and written
//! in place) and the reference. Nothing is copied on the way in, and the
//! results are reinterpreted as complex, not converted, on the way out.
//!
//! # Compared with numpy
//!
//! The result is exactly `np.gradient(z.real) + 1j * np.gradient(z.imag)`,
//! so every guarantee of the real path holds for each part. numpy's own
//! complex result equals it wherever the spacing enters as a product (the
//! non-uniform interior, second-order ends, accuracy 4 and 6, and every
//! power-of-two step), and can differ by one unit in the last place where
//! numpy divides a complex difference by a step that is not a power of two
//! (the uniform interior `(f[i+1] − f[i−1]) / 2h` and the first-order ends
//! `(f[1] − f[0]) / dx`): numpy's complex division multiplies by the
//! rounded reciprocal, `(f[i+1] − f[i−1]) · (1 / 2h)`, rounding twice, where
//! ndgrad divides and rounds once, as numpy does for real input.
//!
//! The spacing stays real: numpy accepts a complex spacing and silently
//! drops its imaginary part (numpy#18898); the CLI and the Python package
//! refuse one.
//!
//! The magnitude is real: `sqrt(Σₖ |∂f/∂xₖ|²)`, each `|d|²` summed as
//! `re² + im²`, axis by axis in the order requested. It is computed from
//! the components, so it holds one complex array per axis while it runs
//! (the real magnitude is fused into the pass and holds none).

use ndarray::{
    Array, ArrayBase, ArrayView, ArrayViewMut, Axis, Data, Dimension, IxDyn, ShapeBuilder,
};
use num_complex::Complex;
use rayon::prelude::*;

use crate::element::{Element, Input, Scalar};
use crate::error::Result;
use crate::options::{Backend, GradientOptions};
use crate::plan::{Plan, Request};
use crate::{dispatch, outputs, Gradients};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The type of a complex number's parts: `f32` (numpy's `complex64`) or
/// `f64` (`complex128`).
pub trait Part: sealed::Sealed + Element + Input<NumpyOutput = Self> {}

impl Part for f32 {}
impl Part for f64 {}

macro_rules! complex_scalar {
    ($t:ty => $name:literal) => {
        impl Scalar for Complex<$t> {
            const NUMPY_NAME: &'static str = $name;
            type Gradient = Complex<$t>;
            type Magnitude = $t;

            fn gradients<S, D>(
                f: &ArrayBase<S, D>,
                plan: &Plan,
                backend: Backend,
            ) -> Result<Gradients<Self::Gradient, D>>
            where
                S: Data<Elem = Self>,
                D: Dimension,
            {
                gradients(f, plan, backend)
            }

            fn magnitude<S, D>(
                f: &ArrayBase<S, D>,
                plan: &Plan,
                backend: Backend,
            ) -> Result<Array<Self::Magnitude, D>>
            where
                S: Data<Elem = Self>,
                D: Dimension,
            {
                magnitude(f, plan, backend).map(|(m, _)| m)
            }
        }
    };
}

complex_scalar!(f32 => "complex64");
complex_scalar!(f64 => "complex128");

/// [`crate::gradient_into`] for complex input: `out[p]` receives the
/// derivative along the `p`-th requested axis, and every element of every
/// output, of any layout, is overwritten. Returns the backend that ran.
///
/// ```
/// use ndarray::{array, Array1};
/// use ndgrad::{complex, Complex, GradientOptions};
///
/// let z = array![Complex::new(0f32, 1.0), Complex::new(2.0, 1.0), Complex::new(6.0, 0.0)];
/// let mut d = Array1::from_elem(3, Complex::new(f32::NAN, f32::NAN));
/// complex::gradient_into(&z, &GradientOptions::new(), &mut [d.view_mut()])?;
/// assert_eq!(d, array![Complex::new(2.0, 0.0), Complex::new(3.0, -0.5), Complex::new(4.0, -1.0)]);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`crate::gradient_into`].
pub fn gradient_into<T, S, D>(
    z: &ArrayBase<S, D>,
    opts: &GradientOptions,
    out: &mut [ArrayViewMut<'_, Complex<T>, D>],
) -> Result<Backend>
where
    T: Part,
    S: Data<Elem = Complex<T>>,
    D: Dimension,
{
    let plan = Plan::new(z.shape(), opts)?;
    outputs::check(&plan, z.shape(), Request::Components, out)?;
    let (parts, backend) = real_plan::<T>(&plan, opts.backend)?;
    let mut out: Vec<ArrayViewMut<'_, T, IxDyn>> = out
        .iter_mut()
        .map(|o| real_view_mut(o.view_mut()))
        .collect();
    let view = real_view(z.view());
    outputs::write_through(&mut out, parts.len(), |buffers| {
        dispatch::run_into(backend, &parts, &view, Request::Components, buffers)
    })?;
    Ok(backend)
}

/// [`crate::gradient_magnitude_into`] for complex input: the real
/// magnitude `sqrt(Σₖ |∂f/∂xₖ|²)` into `out`, of the input's shape and any
/// layout. Returns the backend that ran.
///
/// ```
/// use ndarray::{array, Array1};
/// use ndgrad::{complex, Complex, GradientOptions};
///
/// // ∂z/∂x = 3 + 4i everywhere.
/// let z = array![Complex::new(0.0, 0.0), Complex::new(3.0, 4.0), Complex::new(6.0, 8.0)];
/// let mut m = Array1::from_elem(3, f64::NAN);
/// complex::gradient_magnitude_into(&z, &GradientOptions::new(), m.view_mut())?;
/// assert_eq!(m, array![5.0, 5.0, 5.0]);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`crate::gradient_magnitude_into`].
pub fn gradient_magnitude_into<T, S, D>(
    z: &ArrayBase<S, D>,
    opts: &GradientOptions,
    mut out: ArrayViewMut<'_, T, D>,
) -> Result<Backend>
where
    T: Part,
    S: Data<Elem = Complex<T>>,
    D: Dimension,
{
    let plan = Plan::new(z.shape(), opts)?;
    outputs::check(
        &plan,
        z.shape(),
        Request::Magnitude,
        std::slice::from_ref(&out),
    )?;
    let (m, backend) = magnitude(z, &plan, opts.backend)?;
    out.assign(&m);
    Ok(backend)
}

/// Every component `plan` requests of complex `z`, on the backend asked for.
fn gradients<T, S, D>(
    z: &ArrayBase<S, D>,
    plan: &Plan,
    backend: Backend,
) -> Result<Gradients<Complex<T>, D>>
where
    T: Part,
    S: Data<Elem = Complex<T>>,
    D: Dimension,
{
    let (parts, backend) = real_plan::<T>(plan, backend)?;
    let view = real_view(z.view());
    let arrays = dispatch::run::<T, T, _, IxDyn>(backend, &parts, &view, Request::Components)?
        .into_iter()
        .map(|values| {
            Array::from_shape_vec(z.raw_dim(), complex_vec(values))
                .expect("a backend returns two parts per element")
        })
        .collect();
    Ok(Gradients { arrays, backend })
}

/// The real magnitude of complex `z`'s gradient, and the backend that ran.
fn magnitude<T, S, D>(
    z: &ArrayBase<S, D>,
    plan: &Plan,
    backend: Backend,
) -> Result<(Array<T, D>, Backend)>
where
    T: Part,
    S: Data<Elem = Complex<T>>,
    D: Dimension,
{
    let g = gradients(z, plan, backend)?;
    let components: Vec<&[Complex<T>]> = g
        .arrays
        .iter()
        .map(|a| a.as_slice().expect("fresh results are in standard layout"))
        .collect();
    let zero = T::from_f64(0.0);
    let mut m: Vec<T> = crate::outputs::zeroed(z.len(), "a complex magnitude")?;
    const CHUNK: usize = 1 << 14;
    m.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
        for (j, out) in chunk.iter_mut().enumerate() {
            let i = c * CHUNK + j;
            let mut sum = zero;
            for d in &components {
                let d = d[i];
                sum = sum + d.re * d.re;
                sum = sum + d.im * d.im;
            }
            *out = crate::element::arithmetic::Arithmetic::sqrt(sum);
        }
    });
    let m = Array::from_shape_vec(z.raw_dim(), m).expect("one magnitude per element");
    Ok((m, g.backend))
}

/// The plan of the real view of a complex array planned as `plan`, and
/// the backend that runs it for parts of type `T`.
fn real_plan<T: Part>(plan: &Plan, requested: Backend) -> Result<(Plan, Backend)> {
    let parts = plan.with_parts(2);
    let backend = dispatch::choose_backend::<T>(requested, &parts)?;
    Ok((parts, backend))
}

/// Complex results, reinterpreted from their parts without a copy when the
/// allocation allows (it always does for the backends' C-ordered vectors
/// of an even length), copied otherwise.
fn complex_vec<T: Part>(parts: Vec<T>) -> Vec<Complex<T>> {
    bytemuck::allocation::try_cast_vec(parts)
        .unwrap_or_else(|(_, parts)| bytemuck::cast_slice(&parts).to_vec())
}

/// Where the real view of a complex array lies: its shape and strides (in
/// units of the part type) once every backward axis is turned forwards, the
/// offset of the element that then comes first, and the axes to turn back.
struct RealLayout {
    shape: Vec<usize>,
    strides: Vec<usize>,
    /// In units of `Complex<T>`, from the view's own first element.
    first: isize,
    backward: Vec<Axis>,
}

impl RealLayout {
    /// The layout of the real view of a complex view of `shape` and `strides`.
    fn of(shape: &[usize], strides: &[isize]) -> RealLayout {
        let backward: Vec<Axis> = (0..strides.len())
            .filter(|&a| strides[a] < 0 && shape[a] > 0)
            .map(Axis)
            .collect();
        let first = backward
            .iter()
            .map(|a| (shape[a.0] as isize - 1) * strides[a.0])
            .sum();
        let mut real_shape = shape.to_vec();
        real_shape.push(2);
        let mut real_strides: Vec<usize> = strides.iter().map(|&k| 2 * k.unsigned_abs()).collect();
        real_strides.push(1);
        RealLayout {
            shape: real_shape,
            strides: real_strides,
            first,
            backward,
        }
    }

    /// The shape and strides to build the forward view with.
    fn forward(&self) -> ndarray::StrideShape<IxDyn> {
        IxDyn(&self.shape).strides(IxDyn(&self.strides))
    }

    /// `view` with the backward axes turned back.
    fn restore<S: ndarray::RawData>(&self, mut view: ArrayBase<S, IxDyn>) -> ArrayBase<S, IxDyn> {
        for &a in &self.backward {
            view.invert_axis(a);
        }
        view
    }
}

// SAFETY (both views below): `Complex<T>` is `#[repr(C)]` with fields `re`
// then `im`, both `T`, so the complex element at offset `e` (in units of
// `Complex<T>`) holds its real part at offset `2e` and its imaginary part
// at `2e + 1` (in units of `T`), and has `T`'s alignment. From the element
// that comes first once every backward axis is turned forwards (`first`
// elements from the view's pointer, inside the array), index `(i, p)` of
// the forward view lands at `2·Σ iₖ·|strideₖ| + p`: part `p` of an element
// of the complex view, inside the memory it borrows for `'a`. Two indices
// land on the same part only if they name the same element and part, so a
// mutable complex view (which never holds an element twice) gives a real
// view that never holds a part twice.

/// The real view of `z`: its parts, one innermost axis of two (real,
/// imaginary) more, over the same memory. Axes that step backwards in `z`
/// step backwards in the view.
fn real_view<'a, T: Part, D: Dimension>(
    z: ArrayView<'a, Complex<T>, D>,
) -> ArrayView<'a, T, IxDyn> {
    let layout = RealLayout::of(z.shape(), z.strides());
    // SAFETY: see above; the view is only read.
    let view = unsafe {
        let first = z.as_ptr().offset(layout.first).cast::<T>();
        ArrayView::from_shape_ptr(layout.forward(), first)
    };
    layout.restore(view)
}

/// [`real_view`] of an output: the same memory, written through its parts.
fn real_view_mut<'a, T: Part, D: Dimension>(
    mut z: ArrayViewMut<'a, Complex<T>, D>,
) -> ArrayViewMut<'a, T, IxDyn> {
    let layout = RealLayout::of(z.shape(), z.strides());
    // SAFETY: see above; `z` is consumed, so the real view is the only
    // access to its memory for `'a`.
    let view = unsafe {
        let first = z.as_mut_ptr().offset(layout.first).cast::<T>();
        ArrayViewMut::from_shape_ptr(layout.forward(), first)
    };
    layout.restore(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};

    /// The real view reads each element's parts at the element's own index,
    /// whatever the layout, backward axes included.
    #[test]
    fn real_view_reads_each_part_in_place() {
        let z = Array2::from_shape_fn((3, 4), |(i, j)| Complex::new(i as f64, j as f64 + 10.0));
        for v in [
            z.view(),
            z.t(),
            z.slice(s![..;-1, 1..;2]),
            z.slice(s![1.., ..;-3]),
        ] {
            let parts = real_view(v);
            assert_eq!(parts.shape(), [v.shape(), &[2]].concat());
            for ((i, j), c) in v.indexed_iter() {
                assert_eq!((parts[[i, j, 0]], parts[[i, j, 1]]), (c.re, c.im));
            }
        }
    }

    #[test]
    fn real_view_mut_writes_each_part_in_place() {
        let mut z = Array2::from_elem((3, 4), Complex::new(f32::NAN, f32::NAN));
        {
            let mut v = z.slice_mut(s![..;-1, ..]);
            let mut parts = real_view_mut(v.view_mut());
            for (ix, x) in parts.indexed_iter_mut() {
                *x = (100 * ix[0] + 10 * ix[1] + ix[2]) as f32;
            }
        }
        for ((i, j), c) in z.indexed_iter() {
            let r = 2 - i; // the view flipped axis 0
            assert_eq!(
                (c.re, c.im),
                ((100 * r + 10 * j) as f32, (100 * r + 10 * j + 1) as f32)
            );
        }
    }
}
