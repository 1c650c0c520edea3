//! `ndgrad._ndgrad`, the native half of the `ndgrad` Python package.
//!
//! The Python half (`python/ndgrad/__init__.py`) parses numpy's arguments
//! with numpy's own rules and error messages, then calls [`compute`] with
//! normalised ones: the array (any dtype the library reads, any strides),
//! the axes made non-negative, one spacing item per axis, and the options.
//! Here the array is read in place through a rust-numpy view, the GIL is
//! released while the library computes, and the results are handed to
//! numpy without a copy.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, Zip};
use ndgrad::block::{self, Place};
use ndgrad::{
    Accuracy, AxisSpacing, Backend, Boundary, Complex, EdgeOrder, Error, GradientOptions, Scalar,
    Spacing,
};
use numpy::{Element as NpElement, PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

mod timedeltas;

/// A library error as the Python exception numpy would raise for it:
/// `ValueError` for every invalid argument, `RuntimeError` for a backend
/// that cannot run (no GPU, a lost device, a missing shader feature).
fn to_py(e: Error) -> PyErr {
    match e {
        Error::NoAdapter { .. }
        | Error::NoF64 { .. }
        | Error::NoF16 { .. }
        | Error::Gpu { .. }
        | Error::DeviceLost { .. }
        | Error::BufferMap { .. }
        | Error::GpuUnsupported { .. }
        | Error::ExceedsGpuLimits { .. }
        | Error::InvalidGpuArray { .. } => PyRuntimeError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// Runs `work` with the GIL released, turning a panic into a Python
/// `RuntimeError` instead of letting it unwind into the interpreter.
fn detached<T: Send>(py: Python<'_>, work: impl FnOnce() -> PyResult<T> + Send) -> PyResult<T> {
    py.detach(|| {
        catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(PyRuntimeError::new_err(format!(
                "internal error in ndgrad (please report it): {what}"
            )))
        })
    })
}

/// An element type the binding hands to the library: its gradient and
/// magnitude, into fresh arrays or into the caller's.
trait Kernel: Scalar + NpElement
where
    Self::Gradient: NpElement,
    Self::Magnitude: NpElement,
{
    /// `gradient_into` for this type.
    fn into(
        f: &ArrayViewD<'_, Self>,
        opts: &GradientOptions,
        out: &mut [ArrayViewMutD<'_, Self::Gradient>],
    ) -> ndgrad::Result<Backend>;

    /// `gradient_magnitude_into` for this type.
    fn magnitude_into(
        f: &ArrayViewD<'_, Self>,
        opts: &GradientOptions,
        out: ArrayViewMutD<'_, Self::Magnitude>,
    ) -> ndgrad::Result<Backend>;
}

macro_rules! real {
    ($($t:ty),*) => {$(
        impl Kernel for $t {
            fn into(
                f: &ArrayViewD<'_, Self>,
                opts: &GradientOptions,
                out: &mut [ArrayViewMutD<'_, Self::Gradient>],
            ) -> ndgrad::Result<Backend> {
                ndgrad::gradient_into(f, opts, out)
            }

            fn magnitude_into(
                f: &ArrayViewD<'_, Self>,
                opts: &GradientOptions,
                out: ArrayViewMutD<'_, Self::Magnitude>,
            ) -> ndgrad::Result<Backend> {
                ndgrad::gradient_magnitude_into(f, opts, out)
            }
        }
    )*};
}

real!(i8, u8, i16, u16, i32, u32, i64, u64, half::f16, f32, f64);

macro_rules! complex {
    ($($t:ty),*) => {$(
        impl Kernel for Complex<$t> {
            fn into(
                f: &ArrayViewD<'_, Self>,
                opts: &GradientOptions,
                out: &mut [ArrayViewMutD<'_, Self::Gradient>],
            ) -> ndgrad::Result<Backend> {
                ndgrad::complex::gradient_into(f, opts, out)
            }

            fn magnitude_into(
                f: &ArrayViewD<'_, Self>,
                opts: &GradientOptions,
                out: ArrayViewMutD<'_, Self::Magnitude>,
            ) -> ndgrad::Result<Backend> {
                ndgrad::complex::gradient_magnitude_into(f, opts, out)
            }
        }
    )*};
}

complex!(f32, f64);

/// Computes for `T` when `f` holds `T`; `Ok(None)` when it holds another
/// type.
fn run<'py, T>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    opts: &GradientOptions,
    magnitude: bool,
    out: Option<&Bound<'py, PyList>>,
    place: Option<&Place>,
) -> PyResult<Option<Vec<Bound<'py, PyAny>>>>
where
    T: Kernel,
    T::Gradient: NpElement,
    T::Magnitude: NpElement,
{
    let Ok(array) = f.cast::<PyArrayDyn<T>>() else {
        return Ok(None);
    };
    check_layout(array)?;
    let input = array
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("the input array cannot be read: {e}")))?;
    let view = input.as_array();
    if let Some(out) = out {
        return run_into::<T>(py, &view, opts, magnitude, out).map(Some);
    }
    if magnitude {
        let m = detached(py, || {
            match place {
                Some(place) => block::gradient_magnitude(&view, place, opts),
                None => ndgrad::gradient_magnitude(&view, opts),
            }
            .map_err(to_py)
        })?;
        return Ok(Some(vec![PyArrayDyn::from_owned_array(py, m).into_any()]));
    }
    let g = detached(py, || {
        match place {
            Some(place) => block::gradient(&view, place, opts).map(|g| g.arrays),
            None => ndgrad::gradient(&view, opts),
        }
        .map_err(to_py)
    })?;
    Ok(Some(
        g.into_iter()
            .map(|a| PyArrayDyn::from_owned_array(py, a).into_any())
            .collect(),
    ))
}

/// Refuses an array rust-numpy cannot view in place (unaligned, or with a
/// stride that is not a whole number of elements), which the Python side
/// copies before calling; a `ValueError` here instead of a panic.
fn check_layout<T: NpElement, D: ndarray::Dimension>(
    array: &Bound<'_, numpy::PyArray<T, D>>,
) -> PyResult<()> {
    let size = std::mem::size_of::<T>() as isize;
    let aligned = (array.data() as usize).is_multiple_of(std::mem::align_of::<T>());
    if aligned && array.strides().iter().all(|s| s % size == 0) {
        Ok(())
    } else {
        Err(PyValueError::new_err(
            "the array is unaligned or its strides are not whole elements: pass a copy (numpy.ascontiguousarray)",
        ))
    }
}

/// [`run`] into the caller's arrays, which must hold numpy's result type.
fn run_into<'py, T>(
    py: Python<'py>,
    view: &ArrayViewD<'_, T>,
    opts: &GradientOptions,
    magnitude: bool,
    out: &Bound<'py, PyList>,
) -> PyResult<Vec<Bound<'py, PyAny>>>
where
    T: Kernel,
    T::Gradient: NpElement,
    T::Magnitude: NpElement,
{
    let items: Vec<Bound<'py, PyAny>> = out.iter().collect();
    if magnitude {
        let [o] = items.as_slice() else {
            return Err(PyValueError::new_err(format!(
                "out: {} arrays were given for the magnitude: give one",
                items.len()
            )));
        };
        let arr = out_array::<T::Magnitude>(o, 0)?;
        let mut rw = arr.try_readwrite().map_err(borrow_err)?;
        let o_view = rw.as_array_mut();
        detached(py, || T::magnitude_into(view, opts, o_view).map_err(to_py))?;
        return Ok(items);
    }
    let arrays = items
        .iter()
        .enumerate()
        .map(|(i, o)| out_array::<T::Gradient>(o, i))
        .collect::<PyResult<Vec<_>>>()?;
    let mut guards = arrays
        .iter()
        .map(|a| a.try_readwrite().map_err(borrow_err))
        .collect::<PyResult<Vec<_>>>()?;
    let mut views: Vec<ArrayViewMutD<'_, T::Gradient>> =
        guards.iter_mut().map(|g| g.as_array_mut()).collect();
    detached(py, || T::into(view, opts, &mut views).map_err(to_py))?;
    drop(views);
    Ok(items)
}

fn borrow_err(e: numpy::BorrowError) -> PyErr {
    PyValueError::new_err(format!(
        "out: an output array cannot be written ({e}); it may be read-only or overlap the input"
    ))
}

/// The `index`-th output array, checked to hold `O`.
fn out_array<'a, 'py, O: NpElement>(
    o: &'a Bound<'py, PyAny>,
    index: usize,
) -> PyResult<&'a Bound<'py, PyArrayDyn<O>>> {
    o.cast::<PyArrayDyn<O>>()
        .map_err(|_| {
            let found = o
                .getattr("dtype")
                .map(|d| d.to_string())
                .unwrap_or_else(|_| o.get_type().to_string());
            let want = O::get_dtype(o.py()).to_string();
            PyTypeError::new_err(format!(
            "out[{index}] must be a numpy array of dtype {want} (the result's dtype), not {found}"
        ))
        })
        .and_then(|a| check_layout(a).map(|()| a))
}

/// Reads one spacing item: a float, or a 1-D float64 array of coordinates.
fn spacing_item(item: &Bound<'_, PyAny>) -> PyResult<AxisSpacing> {
    if let Ok(x) = item.cast::<PyArray1<f64>>() {
        check_layout(x)?;
        let x = x
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("the coordinates cannot be read: {e}")))?;
        return Ok(AxisSpacing::coordinates(x.as_array().to_owned()));
    }
    Ok(AxisSpacing::Scalar(item.extract::<f64>()?))
}

/// Builds the options from the normalised arguments.
fn options(
    axes: Vec<isize>,
    spacing: &Bound<'_, PyList>,
    edge_order: usize,
    accuracy: usize,
    boundary: Vec<(bool, Option<f64>)>,
    backend: &str,
) -> PyResult<GradientOptions> {
    let spacing = spacing
        .iter()
        .map(|s| spacing_item(&s))
        .collect::<PyResult<Vec<_>>>()?;
    let edge_order = EdgeOrder::from_number(edge_order)
        .ok_or_else(|| PyValueError::new_err("edge_order must be 1 or 2"))?;
    let accuracy = Accuracy::from_number(accuracy).ok_or_else(|| {
        PyValueError::new_err(format!("accuracy must be 2, 4 or 6, not {accuracy}"))
    })?;
    let backend: Backend = backend.parse().map_err(PyValueError::new_err)?;
    let modes = boundary
        .into_iter()
        .map(|(periodic, period)| match (periodic, period) {
            (false, _) => Boundary::OneSided,
            (true, None) => Boundary::PERIODIC,
            (true, Some(l)) => Boundary::periodic(l),
        });
    Ok(GradientOptions::new()
        .axes(axes)
        .spacing(Spacing::PerAxis(spacing))
        .edge_order(edge_order)
        .accuracy(accuracy)
        .per_axis_boundary(modes)
        .backend(backend))
}

/// The gradient (or its magnitude) of `f` over `axes` (non-negative,
/// distinct), one `spacing` item per axis. Returns a list of arrays: one per
/// axis, or one magnitude; with `out`, the arrays of `out`, written.
#[pyfunction]
#[pyo3(signature = (f, axes, spacing, edge_order, accuracy, boundary, backend, magnitude, out=None))]
#[allow(clippy::too_many_arguments)]
fn compute<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    axes: Vec<isize>,
    spacing: &Bound<'py, PyList>,
    edge_order: usize,
    accuracy: usize,
    boundary: Vec<(bool, Option<f64>)>,
    backend: &str,
    magnitude: bool,
    out: Option<&Bound<'py, PyList>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let opts = options(axes, spacing, edge_order, accuracy, boundary, backend)?;
    dispatch(py, f, &opts, magnitude, out, None)
}

/// [`run`] for the type `f` holds.
fn dispatch<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    opts: &GradientOptions,
    magnitude: bool,
    out: Option<&Bound<'py, PyList>>,
    place: Option<&Place>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    macro_rules! try_types {
        ($($t:ty),*) => {$(
            if let Some(r) = run::<$t>(py, f, opts, magnitude, out, place)? {
                return Ok(r);
            }
        )*};
    }
    try_types!(
        f64,
        f32,
        i64,
        half::f16,
        u8,
        u16,
        i16,
        i32,
        u32,
        u64,
        i8,
        Complex<f64>,
        Complex<f32>
    );
    let dtype = f
        .getattr("dtype")
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "unknown".into());
    Err(PyTypeError::new_err(format!(
        "ndgrad cannot differentiate arrays of dtype {dtype}"
    )))
}

/// One block of a chunked array (a Dask block with its halo): its
/// `region` (per axis, a `(start, stop)` into the block) of the whole
/// array's result, the whole array having `shape` and the block starting
/// at `origin`. The options are the whole call's, coordinates included.
#[pyfunction(name = "block")]
#[pyo3(signature = (f, axes, spacing, edge_order, accuracy, boundary, backend, magnitude, shape, origin, region))]
#[allow(clippy::too_many_arguments)]
fn block_gradient<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    axes: Vec<isize>,
    spacing: &Bound<'py, PyList>,
    edge_order: usize,
    accuracy: usize,
    boundary: Vec<(bool, Option<f64>)>,
    backend: &str,
    magnitude: bool,
    shape: Vec<usize>,
    origin: Vec<usize>,
    region: Vec<(usize, usize)>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let opts = options(axes, spacing, edge_order, accuracy, boundary, backend)?;
    let place = Place {
        shape,
        origin,
        region: region.into_iter().map(|(a, b)| a..b).collect(),
    };
    dispatch(py, f, &opts, magnitude, None, Some(&place))
}

/// The halo depth per axis each block needs under a regular chunking, and
/// the shortest chunk per axis that depth works with.
#[pyfunction]
fn halo(
    shape: Vec<usize>,
    axes: Vec<isize>,
    spacing: &Bound<'_, PyList>,
    edge_order: usize,
    accuracy: usize,
    boundary: Vec<(bool, Option<f64>)>,
) -> PyResult<(Vec<usize>, Vec<usize>)> {
    let opts = options(axes, spacing, edge_order, accuracy, boundary, "cpu")?;
    Ok((
        block::halo(&shape, &opts).map_err(to_py)?,
        block::min_block(&shape, &opts).map_err(to_py)?,
    ))
}

/// What the machine offers: the GPU adapters wgpu finds and the backend
/// `backend="auto"` runs on.
#[pyfunction]
fn info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let (adapters, auto) = detached(py, || {
        let adapters = ndgrad::gpu::adapters();
        let auto = ndgrad::resolve_backend(Backend::Auto).map_err(to_py)?;
        Ok((adapters, auto))
    })?;
    let list = PyList::empty(py);
    for a in adapters {
        let d = PyDict::new(py);
        d.set_item("name", &a.info.name)?;
        d.set_item("vendor", a.info.vendor)?;
        d.set_item("device", a.info.device)?;
        d.set_item("backend", format!("{:?}", a.info.backend))?;
        d.set_item("device_type", format!("{:?}", a.info.device_type))?;
        d.set_item("driver", &a.info.driver)?;
        d.set_item("software", a.is_software())?;
        d.set_item("f64", a.f64)?;
        d.set_item("f16", a.f16)?;
        list.append(d)?;
    }
    let out = PyDict::new(py);
    out.set_item("version", env!("CARGO_PKG_VERSION"))?;
    out.set_item("adapters", list)?;
    out.set_item("auto", auto.name())?;
    out.set_item(
        "gpu",
        detached(py, || Ok(ndgrad::resolve_backend(Backend::Gpu).is_ok()))?,
    )?;
    Ok(out)
}

/// The native module.
#[pymodule]
fn _ndgrad(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compute, m)?)?;
    m.add_function(wrap_pyfunction!(timedeltas::timedelta, m)?)?;
    m.add_function(wrap_pyfunction!(block_gradient, m)?)?;
    m.add_function(wrap_pyfunction!(halo, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    Ok(())
}
