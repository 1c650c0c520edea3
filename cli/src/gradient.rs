//! `ndgrad gradient`: `numpy.gradient` of a `.npy` file, written to a `.npz` file.

use std::path::PathBuf;

use ndarray::ArrayD;
use ndarray_npy::WritableElement;
use ndgrad::{
    Accuracy, Axes, AxisSpacing, Backend, Boundaries, Boundary, Complex, EdgeOrder,
    GradientOptions, Input, Plan, Scalar, Spacing,
};

use crate::array::{shape_text, AnyArray};
use crate::failure::Failure;
use crate::npy;
use crate::npz::{self, NpzArray, NpzElement, Storage};
use crate::overwrite;
use crate::progress::{self, Progress};

/// The arguments of `ndgrad gradient`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Differentiate a .npy array along its axes (numpy.gradient) into a .npz file",
    long_about = "Differentiate a .npy array along its axes, as numpy.gradient(f, *spacing, \
axis=axes, edge_order=edge_order) does, and write one array per requested axis into a .npz \
file, named axis0, axis1, ... after the (non-negative) axis index; with --magnitude also \
the gradient magnitude sqrt(sum of the squared derivatives), named magnitude.\n\n\
The input may be float16, float32, float64, complex64, complex128 or any integer dtype, in \
C or Fortran order, of any number of dimensions; every type is read in its own type and \
converted as the library computes. The outputs have numpy's dtype (the input's for floats \
and complex numbers, float64 for integers) unless --dtype chooses float32 or float64 for a \
real input. The magnitude of a complex input is real (float32 for complex64, float64 for \
complex128). Spacing coordinates must be real.\n\n\
On success nothing is printed on stdout and one summary line on stderr (none with --quiet). \
On failure one line starting with 'ndgrad: ' is printed on stderr, no output file is left \
behind, and the exit code is 2 for invalid arguments, 1 for anything else. An output that \
is (or links to) the input or a coordinate file is refused. SIGINT, SIGTERM and SIGHUP remove \
the temporary output and exit with 130, 143 and 129. A big-endian float or complex input gives \
big-endian outputs, and a Fortran-order input Fortran-order outputs, as numpy does.",
    after_help = "Examples:\n  ndgrad gradient f.npy -o grad.npz\n  \
ndgrad gradient f.npy -o grad.npz --spacing=0.5,@x.npy --axis=-1,0 --edge-order 2\n  \
ndgrad gradient ct_uint16.npy -o grad.npz --dtype f32 --magnitude\n  \
ndgrad gradient field.npy -o grad.npz --accuracy 4\n  \
ndgrad gradient torus.npy -o grad.npz --boundary periodic,one-sided --spacing 0.1\n  \
ndgrad gradient ring.npy -o grad.npz --spacing=@theta.npy --boundary periodic --period 6.283185307179586\n  \
ndgrad gradient volume.npy -o grad.npz --max-memory 4G\n  \
ndgrad gradient volume.zarr -o grad.zarr --magnitude"
)]
pub struct GradientArgs {
    /// The array to differentiate (.npy, or a zarr v3 or v2 array: .zarr).
    #[arg(value_name = "INPUT.npy")]
    pub input: PathBuf,

    /// Where to write the derivatives (.npz, or a zarr group: .zarr),
    /// replaced if it exists.
    #[arg(short, long, value_name = "OUTPUT.npz")]
    pub output: PathBuf,

    /// Sample spacing, comma-separated: one item for every requested axis, or
    /// one per requested axis in --axis order. Each item is a number or
    /// @PATH.npy, a 1-D array of the axis's coordinates. Write negative
    /// values with '=' (--spacing=-0.5). [default: 1 on every axis]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        allow_hyphen_values = true,
        value_parser = parse_spacing_item
    )]
    pub spacing: Vec<SpacingItem>,

    /// Axes to differentiate, comma-separated, in the order the outputs are
    /// wanted; negative values count from the end (--axis=-1,0). [default: all]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub axis: Option<Vec<isize>>,

    /// Order of the one-sided differences at both ends of each axis: 1 or 2.
    #[arg(long, value_name = "1|2", default_value = "1", value_parser = parse_edge_order)]
    pub edge_order: EdgeOrder,

    /// Order of accuracy: 2 (numpy's stencils), 4 or 6. Above 2 every point,
    /// the edges included, uses accuracy + 1 samples and is exact for
    /// polynomials of degree <= accuracy; --edge-order then has no effect.
    /// numpy has no equivalent (findiff's acc=).
    #[arg(long, value_name = "2|4|6", default_value = "2", value_parser = parse_accuracy)]
    pub accuracy: Accuracy,

    /// What the stencil does at the ends of each axis: one-sided (numpy's)
    /// or periodic (the axis wraps around; --edge-order has no effect). One
    /// value for every requested axis, or one per requested axis in --axis
    /// order, comma-separated. numpy has no equivalent (numpy#21357).
    /// [default: one-sided]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_boundary)]
    pub boundary: Vec<BoundaryMode>,

    /// The period L of each periodic axis that has coordinates (@PATH.npy
    /// spacing), comma-separated in --axis order; one value serves them all.
    /// The wrap-around step is x[0] + L - x[n-1]. A periodic axis with a
    /// scalar spacing h has period n*h and needs none.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub period: Vec<f64>,

    /// Also write the gradient magnitude, sqrt(sum of the squared derivatives
    /// over the requested axes), as an array named `magnitude`.
    #[arg(long)]
    pub magnitude: bool,

    /// The output dtype: f32 or f64. [default: numpy's: the input's for
    /// floats, f64 for integers]
    #[arg(long, value_name = "f32|f64", value_parser = parse_dtype)]
    pub dtype: Option<OutputDtype>,

    /// Which engine computes the gradient: auto, gpu, cpu or reference.
    #[arg(long, value_name = "BACKEND", default_value = "auto", value_parser = parse_backend)]
    pub backend: Backend,

    /// The memory ceiling: bytes, or a size such as 512M or 4G. A job that
    /// does not fit under it streams the input in slabs along its slowest
    /// axis (axis 0 of a C-order .npy file, the last axis of a Fortran-order
    /// one) or chunk by chunk (.zarr). [default: half of the available
    /// memory]
    #[arg(long, value_name = "SIZE", value_parser = crate::memory::parse_size)]
    pub max_memory: Option<u64>,

    /// Stream a .npy input in slabs of this many planes of its slowest axis,
    /// whatever its size (for tests).
    #[arg(long, value_name = "N", hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub slab_planes: Option<u64>,

    /// Print nothing on success.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The output dtype `--dtype` chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputDtype {
    /// `float32`.
    F32,
    /// `float64`.
    F64,
}

/// Parses `--dtype`.
fn parse_dtype(name: &str) -> Result<OutputDtype, String> {
    match name.trim() {
        "f32" | "float32" => Ok(OutputDtype::F32),
        "f64" | "float64" => Ok(OutputDtype::F64),
        _ => Err(format!("the output dtype must be f32 or f64, not {name:?}")),
    }
}

/// One item of `--spacing`, before any file is read.
#[derive(Debug, Clone, PartialEq)]
pub enum SpacingItem {
    /// A constant distance between samples.
    Scalar(f64),
    /// A `.npy` file of coordinates (`@PATH.npy`).
    Coordinates(PathBuf),
}

/// Parses one `--spacing` item: a number, or `@` and a path.
fn parse_spacing_item(item: &str) -> Result<SpacingItem, String> {
    if let Some(path) = item.strip_prefix('@') {
        if path.is_empty() {
            return Err("'@' must be followed by the path of a .npy file of coordinates".into());
        }
        return Ok(SpacingItem::Coordinates(PathBuf::from(path)));
    }
    item.trim()
        .parse()
        .map(SpacingItem::Scalar)
        .map_err(|_| format!("expected a number or @PATH.npy, found {item:?}"))
}

/// Parses `--edge-order`.
fn parse_edge_order(order: &str) -> Result<EdgeOrder, String> {
    order
        .trim()
        .parse()
        .ok()
        .and_then(EdgeOrder::from_number)
        .ok_or_else(|| format!("the edge order must be 1 or 2, not {order:?}"))
}

/// Parses `--accuracy`.
fn parse_accuracy(p: &str) -> Result<Accuracy, String> {
    p.trim()
        .parse()
        .ok()
        .and_then(Accuracy::from_number)
        .ok_or_else(|| format!("the accuracy must be 2, 4 or 6, not {p:?}"))
}

/// One item of `--boundary`, before periods are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundaryMode {
    /// numpy's one-sided ends.
    OneSided,
    /// The axis wraps around.
    Periodic,
}

/// Parses one `--boundary` item.
fn parse_boundary(mode: &str) -> Result<BoundaryMode, String> {
    match mode.trim() {
        "one-sided" => Ok(BoundaryMode::OneSided),
        "periodic" => Ok(BoundaryMode::Periodic),
        _ => Err(format!(
            "the boundary must be one-sided or periodic, not {mode:?}"
        )),
    }
}

/// The library's boundaries for `--boundary` and `--period`, given the
/// number of requested axes and which of them have coordinates.
fn boundaries(
    modes: &[BoundaryMode],
    periods: &[f64],
    has_coordinates: &[bool],
) -> Result<Boundaries, Failure> {
    let naxes = has_coordinates.len();
    let periodic: Vec<bool> = match modes {
        [] => vec![false; naxes],
        [mode] => vec![*mode == BoundaryMode::Periodic; naxes],
        modes if modes.len() == naxes => modes.iter().map(|m| *m == BoundaryMode::Periodic).collect(),
        modes => {
            return Err(Failure::new(format!(
                "--boundary has {} values for {naxes} requested axes: give one, or one per requested axis",
                modes.len()
            )))
        }
    };
    let needs_period: Vec<usize> = (0..naxes)
        .filter(|&k| periodic[k] && has_coordinates[k])
        .collect();
    let period_of = |rank: usize| -> Result<Option<f64>, Failure> {
        match periods {
            [] => Ok(None),
            [l] => Ok(Some(*l)),
            list if list.len() == needs_period.len() => Ok(Some(list[rank])),
            list => Err(Failure::new(format!(
                "--period has {} values for {} periodic axes with coordinates: give one, or one per such axis",
                list.len(),
                needs_period.len()
            ))),
        }
    };
    if !periods.is_empty() && needs_period.is_empty() {
        return Err(Failure::new(
            "--period applies only to periodic axes whose spacing is @PATH.npy coordinates",
        ));
    }
    let mut list = Vec::with_capacity(naxes);
    for (k, &periodic) in periodic.iter().enumerate() {
        list.push(
            match (periodic, needs_period.iter().position(|&j| j == k)) {
                (false, _) => Boundary::OneSided,
                (true, None) => Boundary::PERIODIC,
                (true, Some(rank)) => match period_of(rank)? {
                    Some(l) => Boundary::periodic(l),
                    None => Boundary::PERIODIC,
                },
            },
        );
    }
    Ok(Boundaries::PerAxis(list))
}

/// Parses `--backend` with the library's own names.
fn parse_backend(name: &str) -> Result<Backend, String> {
    name.parse()
}

/// Runs `ndgrad gradient`.
///
/// # Errors
///
/// A [`Failure`] for an unreadable input or coordinate file, any error of
/// [`ndgrad::gradient`] (its message unchanged), or an output that cannot be
/// written; no output file exists afterwards unless one existed before.
pub fn run(args: &GradientArgs) -> Result<(), Failure> {
    let coordinates = args.spacing.iter().filter_map(|item| match item {
        SpacingItem::Coordinates(path) => Some((path.as_path(), "spacing coordinates")),
        SpacingItem::Scalar(_) => None,
    });
    let reads: Vec<overwrite::Read<'_>> = [(args.input.as_path(), "input")]
        .into_iter()
        .chain(coordinates)
        .collect();
    overwrite::refuse_overwriting(&args.output, &reads)?;
    if crate::zarr::is_zarr(&args.input) || crate::zarr::is_zarr(&args.output) {
        return crate::zarr::run(args);
    }
    npz::check_destination(&args.output)?;
    // Cleared when `run` returns, before any message is printed.
    let progress = Progress::start(!args.quiet);
    progress::stage(format!("reading {:?}", args.input));
    let read_error = |e| Failure::new(format!("cannot read input {:?}: {e}", args.input));
    let file = npy::NpyFile::open(&args.input).map_err(read_error)?;
    let opts = options(args, file.shape().len())?;
    let job = crate::memory::Job::of(file.shape(), file.element_size(), file.dtype_name(), args)?;
    let ceiling = crate::memory::ceiling(args.max_memory);
    if args.slab_planes.is_some() || job.in_memory() > ceiling {
        let written = crate::stream::run(args, file, &opts, &job, ceiling)?;
        drop(progress);
        report(args, &job.shape, &written);
        return Ok(());
    }
    crate::memory::reserve(job.in_memory(), "the input and its outputs")?;
    let (file_order, fortran) = (file.byte_order(), file.is_fortran());
    let input = file.read().map_err(read_error)?;
    let storage = Storage::of(&input, file_order, fortran, args.dtype);
    let shape = input.shape().to_vec();
    progress::stage(format!(
        "differentiating a {} array of shape {}",
        input.dtype_name(),
        shape_text(&shape)
    ));
    let (names, backend, out_dtype) = match input {
        AnyArray::F16(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::F32(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::F64(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::I8(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::U8(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::U16(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::I16(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::U32(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::I32(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::I64(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::U64(f) => differentiate_as(&f, &opts, args, storage)?,
        AnyArray::C64(f) => differentiate_complex(&f, &opts, args, storage)?,
        AnyArray::C128(f) => differentiate_complex(&f, &opts, args, storage)?,
    };
    drop(progress);
    report(args, &shape, &(names, backend, out_dtype));
    Ok(())
}

/// The library's options for `args` and an input of `ndim` dimensions.
///
/// # Errors
///
/// An unreadable coordinate file, or `--boundary`/`--period` that do not
/// match the requested axes.
pub fn options(args: &GradientArgs, ndim: usize) -> Result<GradientOptions, Failure> {
    let spacing = spacing(&args.spacing)?;
    let naxes = args.axis.as_ref().map_or(ndim, Vec::len);
    let has_coordinates: Vec<bool> = (0..naxes)
        .map(|k| match &spacing {
            Spacing::PerAxis(items) if items.len() == naxes => {
                matches!(items[k], AxisSpacing::Coordinates(_))
            }
            _ => false,
        })
        .collect();
    Ok(GradientOptions {
        boundary: boundaries(&args.boundary, &args.period, &has_coordinates)?,
        spacing,
        axes: args.axis.clone().map_or(Axes::All, Axes::List),
        edge_order: args.edge_order,
        accuracy: args.accuracy,
        backend: args.backend,
    })
}

/// The summary line on stderr, unless `--quiet`.
pub fn report(args: &GradientArgs, shape: &[usize], written: &Written) {
    let (names, backend, out_dtype) = written;
    if !args.quiet {
        let names = if names.is_empty() {
            "no arrays".to_string()
        } else {
            names.join(", ")
        };
        eprintln!(
            "ndgrad: wrote {names} ({out_dtype}, shape {}, {backend} backend) to {:?}",
            shape_text(shape),
            args.output
        );
    }
}

/// Maps `--spacing` onto numpy's `*varargs` rule: nothing is unit spacing,
/// one scalar applies to every axis, anything else is one item per axis (the
/// library checks the count and every coordinate array).
fn spacing(items: &[SpacingItem]) -> Result<Spacing, Failure> {
    match items {
        [] => Ok(Spacing::Unit),
        [SpacingItem::Scalar(h)] => Ok(Spacing::Uniform(*h)),
        items => items
            .iter()
            .map(|item| match item {
                SpacingItem::Scalar(h) => Ok(AxisSpacing::Scalar(*h)),
                SpacingItem::Coordinates(path) => npy::read_f64(path)
                    .map(AxisSpacing::coordinates)
                    .map_err(|e| {
                        Failure::new(format!("cannot read spacing coordinates {path:?}: {e}"))
                    }),
            })
            .collect::<Result<_, _>>()
            .map(Spacing::PerAxis),
    }
}

/// What [`differentiate_and_write`] reports: the array names written, the
/// backend that ran and the output dtype.
pub type Written = (Vec<String>, Backend, &'static str);

/// Differentiates `f` in the output type `--dtype` chooses (numpy's rule
/// without it) and writes the result.
fn differentiate_as<I>(
    f: &ArrayD<I>,
    opts: &GradientOptions,
    args: &GradientArgs,
    storage: Storage,
) -> Result<Written, Failure>
where
    I: Input,
    I::NumpyOutput: NpzElement,
{
    match args.dtype {
        None => differentiate_and_write::<I::NumpyOutput, I>(f, opts, args, storage),
        Some(OutputDtype::F32) => differentiate_and_write::<f32, I>(f, opts, args, storage),
        Some(OutputDtype::F64) => differentiate_and_write::<f64, I>(f, opts, args, storage),
    }
}

/// Differentiates `f` in `O` and writes one array per requested axis to
/// `args.output`, named `axis{k}` with `k` non-negative, and with
/// `--magnitude` the magnitude, named `magnitude`, all stored as `storage` says.
fn differentiate_and_write<O: NpzElement, I: Input>(
    f: &ArrayD<I>,
    opts: &GradientOptions,
    args: &GradientArgs,
    storage: Storage,
) -> Result<Written, Failure> {
    // The plan resolves negative axes; building it also validates every option.
    let plan = Plan::new(f.shape(), opts)?;
    let gradients = ndgrad::gradient_with_backend_as::<O, _, _, _>(f, opts)?;
    let components: Vec<ArrayD<O::Stored>> = gradients.arrays.into_iter().map(O::stored).collect();
    let magnitude = if args.magnitude {
        // On the backend the components ran on, so the summary names one.
        let opts = opts.clone().backend(gradients.backend);
        Some(O::stored(ndgrad::gradient_magnitude_as::<O, _, _, _>(
            f, &opts,
        )?))
    } else {
        None
    };
    let names = write(args, &plan, &components, magnitude.as_ref(), storage)?;
    Ok((names, gradients.backend, O::NUMPY_NAME))
}

/// Differentiates complex `f` (numpy's output type is its own; the
/// magnitude is real) and writes the result as [`differentiate_and_write`].
fn differentiate_complex<T>(
    f: &ArrayD<Complex<T>>,
    opts: &GradientOptions,
    args: &GradientArgs,
    storage: Storage,
) -> Result<Written, Failure>
where
    T: ndgrad::complex::Part + WritableElement,
    Complex<T>: Scalar<Gradient = Complex<T>, Magnitude = T> + WritableElement,
{
    if let Some(dtype) = args.dtype {
        let dtype = match dtype {
            OutputDtype::F32 => "f32",
            OutputDtype::F64 => "f64",
        };
        return Err(Failure::new(format!(
            "--dtype {dtype} would drop the imaginary part of the {} input; its gradient is {}",
            Complex::<T>::NUMPY_NAME,
            Complex::<T>::NUMPY_NAME
        )));
    }
    let plan = Plan::new(f.shape(), opts)?;
    let gradients = ndgrad::gradient_with_backend(f, opts)?;
    let magnitude = if args.magnitude {
        let opts = opts.clone().backend(gradients.backend);
        Some(ndgrad::gradient_magnitude(f, &opts)?)
    } else {
        None
    };
    let names = write(args, &plan, &gradients.arrays, magnitude.as_ref(), storage)?;
    Ok((names, gradients.backend, Complex::<T>::NUMPY_NAME))
}

/// Writes one array per requested axis to `args.output`, named `axis{k}`
/// with `k` non-negative, and the magnitude, if any, named `magnitude`, all
/// stored as `storage` says. Returns the names written.
fn write<C: NpzArray, M: NpzArray>(
    args: &GradientArgs,
    plan: &Plan,
    components: &[C],
    magnitude: Option<&M>,
    storage: Storage,
) -> Result<Vec<String>, Failure> {
    let mut named: Vec<(String, &dyn NpzArray)> = plan
        .axes
        .iter()
        .map(|axis| format!("axis{}", axis.axis))
        .zip(components.iter().map(|c| c as &dyn NpzArray))
        .collect();
    if let Some(m) = magnitude {
        named.push(("magnitude".to_string(), m));
    }
    progress::stage(format!("writing {:?}", args.output));
    npz::write_atomically_in(&args.output, &named, storage)?;
    Ok(named.into_iter().map(|(name, _)| name).collect())
}
