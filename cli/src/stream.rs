//! Streaming a `.npy` file larger than memory into a `.npz`: slabs along
//! the axis whose planes lie one after another in the file (axis 0 in C
//! order, the last axis in Fortran order), each read with the halo of
//! planes its stencils need ([`ndgrad::block::window`]), computed by the
//! library's block API on one backend for the whole array, and its interior
//! written straight into the output archive, in the memory order and byte
//! order the in-memory path writes ([`Storage::of`]).
//!
//! The `.npz` is laid out as `numpy.savez` lays it out, one entry after
//! another, so the input is read once per output entry: one pass for each
//! requested axis, computing that axis alone, and one for the magnitude.
//! Re-reading the input (from the page cache when it fits there) costs less
//! than the alternative, a temporary `.npy` per entry copied into the
//! archive at the end, which writes every output twice and needs twice its
//! disk space.
//!
//! A Fortran-order file's outputs are in Fortran order, as numpy's are: a
//! slab along the last axis is then a contiguous part of the file and of
//! every output alike.

use std::io;
use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::WritableElement;
use ndgrad::block::{self, Place};
use ndgrad::{
    f16, Axes, Backend, Boundaries, Complex, GradientOptions, Input, Plan, Scalar, Spacing,
};

use crate::array::{shape_text, AnyArray};
use crate::failure::Failure;
use crate::gradient::{GradientArgs, OutputDtype, Written};
use crate::memory;
use crate::npy::NpyFile;
use crate::npz::{NpzElement, Storage, StreamedNpz};

/// The size of the output writer's buffer, counted in every memory estimate.
pub const WRITE_BUFFER: usize = 4 << 20;

/// The registration of a temporary file or directory for removal on a
/// signal ([`crate::cleanup`]); dropping the value removes it otherwise.
pub type Guard = crate::cleanup::Tracked;

/// A temporary value (a file or a directory) and its guard.
#[derive(Debug)]
pub struct Temporary<T> {
    /// The file or directory.
    pub value: T,
    /// Dropped with the value.
    #[allow(dead_code, reason = "held, not read: it lives as long as the value")]
    pub guard: Guard,
}

/// A temporary file beside `target`, named `.ndgrad-XXXX.npz.tmp`, created
/// with the permissions the umask gives any new file.
///
/// # Errors
///
/// The I/O error when it cannot be created.
pub fn temporary_file(target: &Path) -> io::Result<Temporary<tempfile::NamedTempFile>> {
    temporary(target, ".npz.tmp", 0o666, |builder, dir| {
        builder.tempfile_in(dir)
    })
}

/// A temporary directory beside `target`, named `.ndgrad-XXXX.zarr.tmp`.
///
/// # Errors
///
/// The I/O error when it cannot be created.
pub fn temporary_dir(target: &Path) -> io::Result<Temporary<tempfile::TempDir>> {
    temporary(target, ".zarr.tmp", 0o777, |builder, dir| {
        builder.tempdir_in(dir)
    })
}

/// Creates a temporary value beside `target` with `make`, and tracks it.
/// `mode` is what the umask is applied to, as for any new file or directory
/// (tempfile's default is owner-only).
fn temporary<T: AsRef<Path>>(
    target: &Path,
    suffix: &str,
    #[cfg_attr(not(unix), allow(unused_variables))] mode: u32,
    make: impl FnOnce(&mut tempfile::Builder, &Path) -> io::Result<T>,
) -> io::Result<Temporary<T>> {
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ndgrad-").suffix(suffix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
    // Created and registered under one lock, so a signal between the two
    // cannot leave it behind.
    let (value, guard) = crate::cleanup::track_new(|| {
        let value = make(&mut builder, dir)?;
        let path = value.as_ref().to_path_buf();
        Ok::<_, io::Error>((value, path))
    })?;
    Ok(Temporary { value, guard })
}

/// An input element type, taken out of the [`AnyArray`] a slab is read as.
pub trait FromAny: Sized {
    /// The array, when it holds this type.
    fn from_any(array: AnyArray) -> Option<ArrayD<Self>>;
}

macro_rules! from_any {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl FromAny for $t {
            fn from_any(array: AnyArray) -> Option<ArrayD<Self>> {
                match array {
                    AnyArray::$variant(a) => Some(a),
                    _ => None,
                }
            }
        }
    )*};
}

from_any!(
    f16 => F16, f32 => F32, f64 => F64, i8 => I8, u8 => U8, i16 => I16, u16 => U16,
    i32 => I32, u32 => U32, i64 => I64, u64 => U64,
    Complex<f32> => C64, Complex<f64> => C128,
);

/// The options of requested axis `j` of `plan` alone: its axis, spacing
/// item and boundary (each axis's derivative depends on nothing else).
pub fn single_axis(opts: &GradientOptions, plan: &Plan, j: usize) -> GradientOptions {
    let mut one = opts.clone();
    one.axes = Axes::List(vec![plan.axes[j].axis as isize]);
    if let Spacing::PerAxis(items) = &opts.spacing {
        if items.len() == plan.axes.len() {
            one.spacing = Spacing::PerAxis(vec![items[j].clone()]);
        }
    }
    if let Boundaries::PerAxis(list) = &opts.boundary {
        if list.len() == plan.axes.len() {
            one.boundary = Boundaries::PerAxis(vec![list[j]]);
        }
    }
    one
}

/// Reads planes (a range of the slab axis, all of every other axis) of the
/// input.
pub type ReadRows<'f, I> =
    &'f (dyn Fn(std::ops::Range<usize>) -> Result<ArrayD<I>, Failure> + Sync);

/// A streamed job: its plan and options, and the slab size.
pub struct Job<'a> {
    /// The validated request for the whole array.
    pub plan: &'a Plan,
    /// The options, their backend not yet resolved.
    pub opts: &'a GradientOptions,
    /// Planes of the slab axis computed per slab (without the halo).
    pub planes: usize,
    /// Whether to write the magnitude too.
    pub magnitude: bool,
}

/// Computes one slab's part of one output: the block, its place, the options.
pub type Compute<'f, I, T> =
    &'f dyn Fn(&ArrayD<I>, &Place, &GradientOptions) -> ndgrad::Result<(ArrayD<T>, Backend)>;

/// How a streamed job is cut and its outputs stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slabs {
    /// The axis the slabs are cut along.
    pub axis: usize,
    /// How the outputs are stored (in Fortran order when `axis` is the
    /// last, so that each slab's part follows the one before).
    pub storage: Storage,
}

/// A streamed job and how it is cut and stored. A [`Job`] alone is cut
/// along axis 0 into little-endian, C-order outputs.
#[derive(Clone, Copy)]
pub struct Streamed<'j, 'a> {
    /// The job.
    pub job: &'j Job<'a>,
    /// How it is cut and stored.
    pub slabs: Slabs,
}

impl<'j, 'a> From<&'j Job<'a>> for Streamed<'j, 'a> {
    fn from(job: &'j Job<'a>) -> Self {
        Streamed {
            job,
            slabs: Slabs::default(),
        }
    }
}

/// Streams a job into the `.npz` at `output`: each component with
/// `component`, then the magnitude with `magnitude`. Returns the names
/// written and the backend every slab ran on.
///
/// # Errors
///
/// A failure to read the input, compute (the library's message) or write.
pub fn to_npz<'j, 'a, I, C, M>(
    streamed: impl Into<Streamed<'j, 'a>>,
    read: ReadRows<'_, I>,
    output: &Path,
    component: Compute<'_, I, C>,
    magnitude: Compute<'_, I, M>,
) -> Result<(Vec<String>, Backend), Failure>
where
    'a: 'j,
    I: FromAny,
    C: WritableElement,
    M: WritableElement,
{
    let Streamed { job, slabs } = streamed.into();
    let shape = &job.plan.shape;
    let mut npz = StreamedNpz::create(output, slabs.storage)?;
    let mut backend = job.opts.backend;
    let mut names = Vec::new();
    for (j, axis) in job.plan.axes.iter().enumerate() {
        let name = format!("axis{}", axis.axis);
        npz.begin::<C>(&name, shape)?;
        let opts = single_axis(job.opts, job.plan, j).backend(backend);
        for_each_slab::<I>(job, slabs.axis, read, &opts, |block, place| {
            let (values, ran_on) = component(block, place, &opts.clone().backend(backend))?;
            // Auto resolves on the first slab; every later one runs there too.
            backend = ran_on;
            npz.write_array(&values)?;
            Ok(())
        })?;
        names.push(name);
    }
    if job.magnitude && !job.plan.axes.is_empty() {
        npz.begin::<M>("magnitude", shape)?;
        let opts = job.opts.clone().backend(backend);
        for_each_slab::<I>(job, slabs.axis, read, &opts, |block, place| {
            let (values, _) = magnitude(block, place, &opts)?;
            npz.write_array(&values)?;
            Ok(())
        })?;
        names.push("magnitude".into());
    }
    npz.finish()?;
    Ok((names, backend))
}

/// Reads the input slab by slab along `axis`, each with the planes its
/// stencils read ([`block::window`]: the halo inside, the one-sided
/// stencils' samples at the domain edges), and calls `f` with the block and
/// its place in the whole array.
fn for_each_slab<I>(
    job: &Job<'_>,
    axis: usize,
    read: ReadRows<'_, I>,
    opts: &GradientOptions,
    mut f: impl FnMut(&ArrayD<I>, &Place) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let shape = &job.plan.shape;
    let n = shape[axis];
    let mut wanted: Vec<std::ops::Range<usize>> = shape.iter().map(|&m| 0..m).collect();
    let mut start = 0;
    while start < n {
        let end = (start + job.planes).min(n);
        wanted[axis] = start..end;
        let window = block::window(shape, &wanted, opts)?;
        let block = read(window.read[axis].clone())?;
        f(&block, &window.place)?;
        start = end;
    }
    Ok(())
}

/// [`margin_along`] axis 0.
///
/// # Errors
///
/// As [`margin_along`].
pub fn margin(shape: &[usize], opts: &GradientOptions) -> Result<usize, Failure> {
    margin_along(shape, opts, 0)
}

/// The planes of `axis` a slab reads beyond its own on each side, at most:
/// the halo, and at a domain edge the samples of the one-sided stencils.
///
/// # Errors
///
/// The library's, for options that do not fit the shape.
pub fn margin_along(
    shape: &[usize],
    opts: &GradientOptions,
    axis: usize,
) -> Result<usize, Failure> {
    let halo = block::halo(shape, opts)?.get(axis).copied().unwrap_or(0);
    let edge = block::min_block(shape, opts)?
        .get(axis)
        .copied()
        .unwrap_or(0);
    Ok(halo + edge)
}

/// Streams the `.npy` `file` as `args` asks: checks that it can stream,
/// sizes the slabs along its [slab axis](NpyFile::slab_axis) under
/// `ceiling` (or takes `--slab-planes`), and writes the `.npz`.
///
/// # Errors
///
/// A one-line failure naming the sizes when the input cannot stream (a pipe,
/// a periodic slab axis) or one slab does not fit; any failure of
/// [`to_npz`].
pub fn run(
    args: &GradientArgs,
    mut file: NpyFile,
    opts: &GradientOptions,
    job: &memory::Job,
    ceiling: u64,
) -> Result<Written, Failure> {
    let plan = Plan::new(&job.shape, opts)?;
    let cannot = |why: &str| {
        Failure::new(format!(
            "not enough memory: the input of shape {} needs {} in memory, over the ceiling of {} (set it with --max-memory), and it cannot be streamed: {why}",
            shape_text(&job.shape),
            memory::bytes_text(job.in_memory()),
            memory::bytes_text(ceiling)
        ))
    };
    if !file.is_seekable() {
        return Err(cannot(
            "it is not a regular file (streaming reads it once per output)",
        ));
    }
    let axis = file.slab_axis();
    if job.shape.get(axis).is_none_or(|&n| n == 0) {
        return Err(cannot(&format!("it has no planes along axis {axis}")));
    }
    if plan
        .axes
        .iter()
        .any(|ax| ax.axis == axis && ax.stencil.is_periodic())
    {
        return Err(cannot(&format!(
            "axis {axis}, whose planes it is read in, is periodic, and its ends need each other"
        )));
    }
    let job = memory::Job {
        slab_axis: axis,
        ..job.clone()
    };
    let halo = margin_along(&job.shape, opts, axis)?;
    let planes = match args.slab_planes {
        Some(n) => usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(job.shape[axis]),
        None => job.slab_planes(halo, ceiling)?,
    };
    let read_error = |e| Failure::new(format!("cannot read input {:?}: {e}", args.input));
    let probe = file.read_slab(0..0).map_err(read_error)?;
    let slabs = Slabs {
        axis,
        storage: Storage::of(&probe, file.byte_order(), file.is_fortran(), args.dtype),
    };
    drop(file);
    let job = Job {
        plan: &plan,
        opts,
        planes,
        magnitude: args.magnitude,
    };
    let job = Streamed { job: &job, slabs };
    match probe {
        AnyArray::F16(_) => real::<f16>(job, args),
        AnyArray::F32(_) => real::<f32>(job, args),
        AnyArray::F64(_) => real::<f64>(job, args),
        AnyArray::I8(_) => real::<i8>(job, args),
        AnyArray::U8(_) => real::<u8>(job, args),
        AnyArray::I16(_) => real::<i16>(job, args),
        AnyArray::U16(_) => real::<u16>(job, args),
        AnyArray::I32(_) => real::<i32>(job, args),
        AnyArray::U32(_) => real::<u32>(job, args),
        AnyArray::I64(_) => real::<i64>(job, args),
        AnyArray::U64(_) => real::<u64>(job, args),
        AnyArray::C64(_) => complex::<f32>(job, args),
        AnyArray::C128(_) => complex::<f64>(job, args),
    }
}

/// Streams a real input in the output type `--dtype` chooses (numpy's
/// without it).
fn real<I>(job: Streamed<'_, '_>, args: &GradientArgs) -> Result<Written, Failure>
where
    I: Input + FromAny,
    I::NumpyOutput: NpzElement,
{
    match args.dtype {
        None => real_as::<I::NumpyOutput, I>(job, args),
        Some(OutputDtype::F32) => real_as::<f32, I>(job, args),
        Some(OutputDtype::F64) => real_as::<f64, I>(job, args),
    }
}

/// Streams a real input in `O`.
fn real_as<O: NpzElement, I: Input + FromAny>(
    job: Streamed<'_, '_>,
    args: &GradientArgs,
) -> Result<Written, Failure> {
    let component = |block: &ArrayD<I>, place: &Place, opts: &GradientOptions| {
        let g = block::gradient_as::<O, I, _, _>(block, place, opts)?;
        let first = g.arrays.into_iter().next().expect("one requested axis");
        Ok((O::stored(first), g.backend))
    };
    let magnitude = |block: &ArrayD<I>, place: &Place, opts: &GradientOptions| {
        let m = block::gradient_magnitude_as::<O, I, _, _>(block, place, opts)?;
        Ok((O::stored(m), opts.backend))
    };
    let read = npy_rows::<I>(&args.input);
    let (names, backend) = to_npz(job, &read, &args.output, &component, &magnitude)?;
    Ok((names, backend, O::NUMPY_NAME))
}

/// Streams a complex input (its gradient is complex, its magnitude real).
fn complex<T>(job: Streamed<'_, '_>, args: &GradientArgs) -> Result<Written, Failure>
where
    T: ndgrad::complex::Part + WritableElement,
    Complex<T>: FromAny + Scalar<Gradient = Complex<T>, Magnitude = T> + WritableElement,
{
    if args.dtype.is_some() {
        return Err(Failure::new(format!(
            "--dtype would drop the imaginary part of the {} input; its gradient is {}",
            Complex::<T>::NUMPY_NAME,
            Complex::<T>::NUMPY_NAME
        )));
    }
    let component = |block: &ArrayD<Complex<T>>, place: &Place, opts: &GradientOptions| {
        let g = block::gradient::<Complex<T>, _, _>(block, place, opts)?;
        let first = g.arrays.into_iter().next().expect("one requested axis");
        Ok((first, g.backend))
    };
    let magnitude = |block: &ArrayD<Complex<T>>, place: &Place, opts: &GradientOptions| {
        Ok((
            block::gradient_magnitude::<Complex<T>, _, _>(block, place, opts)?,
            opts.backend,
        ))
    };
    let read = npy_rows::<Complex<T>>(&args.input);
    let (names, backend) = to_npz(job, &read, &args.output, &component, &magnitude)?;
    Ok((names, backend, Complex::<T>::NUMPY_NAME))
}

/// Reads planes of the [slab axis](NpyFile::slab_axis) of the `.npy` at
/// `path`, each call on its own handle, after checking that the memory can
/// be had.
pub fn npy_rows<I: FromAny>(
    path: &Path,
) -> impl Fn(std::ops::Range<usize>) -> Result<ArrayD<I>, Failure> + Sync + '_ {
    move |planes| {
        let fail =
            |e: crate::npy::NpyError| Failure::new(format!("cannot read input {path:?}: {e}"));
        let mut file = NpyFile::open(path).map_err(fail)?;
        let axis = file.slab_axis();
        let elements: u64 = (file.shape().iter().enumerate())
            .map(|(k, &m)| if k == axis { planes.len() } else { m } as u64)
            .product();
        memory::reserve(elements * file.element_size() as u64, "a slab of the input")?;
        I::from_any(file.read_slab(planes).map_err(fail)?).ok_or_else(|| {
            Failure::new(format!(
                "cannot read input {path:?}: its dtype changed while it was read"
            ))
        })
    }
}
