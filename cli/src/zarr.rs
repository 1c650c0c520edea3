//! Zarr input and output for `ndgrad gradient`, through the zarrs crate.
//!
//! * `IN.zarr -o OUT.zarr` and `IN.npy -o OUT.zarr`: OUT.zarr is a zarr v3
//!   group holding one array per requested axis (`axis0`, `axis1`, ...) and,
//!   with `--magnitude`, `magnitude`; each has the input's chunk shape (a
//!   `.npy` input is cut into chunks of whole planes along axis 0, about
//!   4 MiB each), an explicit dtype, a fill value of 0, and attributes that
//!   record the spacing, edge order, accuracy and boundary. The chunks are
//!   computed in parallel, each read with its halo through the library's
//!   block API, as many at once as the memory ceiling allows. The group is
//!   written into a temporary directory beside OUT.zarr and renamed over it
//!   at the end, so OUT.zarr is never seen half-written.
//! * `IN.zarr -o OUT.npz`: slabs of whole planes along axis 0, streamed into
//!   the `.npz` as a `.npy` input is.
//!
//! A zarr input is an array (v3 `zarr.json`, or v2 `.zarray`), read whatever
//! its codecs among those built in (gzip, zstd, sharding, transpose,
//! crc32c); a chunk missing from the store reads as the fill value. Blosc
//! is left out: it builds the C library c-blosc and its compressors, which
//! would add minutes to every clean build; a blosc-compressed array is an
//! error naming the codec (zarrs' `blosc` feature adds it).

mod write;

use write::to_zarr;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::{ArrayD, Slice};
use ndgrad::block::{self, Place};
use ndgrad::{f16, Backend, Complex, GradientOptions, Input, Plan, Scalar};
use rayon::prelude::*;
use serde_json::{json, Map, Value};
use zarrs::array::data_type as dt;
use zarrs::array::{Array, ArrayBuilder, ArraySubset, DataType, ElementOwned};
use zarrs::filesystem::FilesystemStore;

use crate::failure::Failure;
use crate::gradient::{BoundaryMode, GradientArgs, OutputDtype, SpacingItem, Written};
use crate::memory::{self, bytes_text};
use crate::npy::NpyFile;
use crate::npz::NpzElement;
use crate::stream::{self, FromAny};

/// The bytes a chunk of a `.npy` input's output aims at.
const NPY_CHUNK_BYTES: usize = 4 << 20;

/// Whether `path` names a zarr hierarchy: it ends in `.zarr`, or it is a
/// directory with zarr metadata.
pub fn is_zarr(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zarr"))
        || ["zarr.json", ".zarray", ".zgroup"]
            .iter()
            .any(|name| path.join(name).is_file())
}

/// Where the input comes from.
enum Source {
    /// A zarr array.
    Zarr(Box<Array<FilesystemStore>>),
    /// A `.npy` file, C order or Fortran order.
    Npy(PathBuf, bool),
}

/// What every step of the job shares.
struct Ctx<'a> {
    args: &'a GradientArgs,
    source: Source,
    plan: Plan,
    opts: GradientOptions,
    job: memory::Job,
    ceiling: u64,
    chunk: Vec<usize>,
}

/// Runs `ndgrad gradient` when the input or the output is a zarr hierarchy.
///
/// # Errors
///
/// A one-line failure for an unreadable input, refused options, a job that
/// does not fit under the ceiling, or an output that cannot be written.
pub fn run(args: &GradientArgs) -> Result<(), Failure> {
    let read_error = |e: &dyn std::fmt::Display| {
        Failure::new(format!("cannot read input {:?}: {e}", args.input))
    };
    if is_zarr(&args.output) {
        check_destination(&args.output, &args.input)?;
    } else {
        crate::npz::check_destination(&args.output)?;
    }
    let (source, shape, dtype, size, chunk) = if is_zarr(&args.input) {
        let store = FilesystemStore::new(&args.input).map_err(|e| read_error(&e))?;
        let array = Array::open(Arc::new(store), "/").map_err(|e| read_error(&e))?;
        let shape: Vec<usize> = array.shape().iter().map(|&n| n as usize).collect();
        let (name, size) = numpy_name(array.data_type()).ok_or_else(|| {
            read_error(&format!(
                "unsupported zarr data type {}: ndgrad reads float16, float32, float64, complex64, complex128 and integer arrays",
                array.data_type()
            ))
        })?;
        let zeros = vec![0; shape.len()];
        let chunk = array
            .chunk_shape_usize(&zeros)
            .map_err(|e| read_error(&e))?;
        (Source::Zarr(Box::new(array)), shape, name, size, chunk)
    } else {
        let file = NpyFile::open(&args.input).map_err(|e| read_error(&e))?;
        let shape = file.shape().to_vec();
        let fortran = file.is_fortran() && shape.iter().skip(1).any(|&m| m > 1);
        let chunk = npy_chunk(&shape, file.element_size(), fortran);
        let source = Source::Npy(args.input.clone(), fortran);
        (source, shape, file.dtype_name(), file.element_size(), chunk)
    };
    let opts = crate::gradient::options(args, shape.len())?;
    let plan = Plan::new(&shape, &opts)?;
    let job = memory::Job::of(&shape, size, dtype, args)?;
    let ctx = Ctx {
        args,
        source,
        plan,
        opts,
        job,
        ceiling: memory::ceiling(args.max_memory),
        chunk,
    };
    let written = match dtype {
        "float16" => real::<f16>(&ctx),
        "float32" => real::<f32>(&ctx),
        "float64" => real::<f64>(&ctx),
        "int8" => real::<i8>(&ctx),
        "uint8" => real::<u8>(&ctx),
        "int16" => real::<i16>(&ctx),
        "uint16" => real::<u16>(&ctx),
        "int32" => real::<i32>(&ctx),
        "uint32" => real::<u32>(&ctx),
        "int64" => real::<i64>(&ctx),
        "uint64" => real::<u64>(&ctx),
        "complex64" => complex::<f32>(&ctx),
        "complex128" => complex::<f64>(&ctx),
        other => Err(read_error(&format!("unsupported dtype {other}"))),
    }?;
    crate::gradient::report(args, &shape, &written);
    Ok(())
}

/// numpy's name and the byte size of a zarr data type ndgrad reads.
fn numpy_name(data_type: &DataType) -> Option<(&'static str, usize)> {
    use zarrs::array::data_type::*;
    let d = data_type;
    Some(if d.is::<Float16DataType>() {
        ("float16", 2)
    } else if d.is::<Float32DataType>() {
        ("float32", 4)
    } else if d.is::<Float64DataType>() {
        ("float64", 8)
    } else if d.is::<Int8DataType>() {
        ("int8", 1)
    } else if d.is::<UInt8DataType>() {
        ("uint8", 1)
    } else if d.is::<Int16DataType>() {
        ("int16", 2)
    } else if d.is::<UInt16DataType>() {
        ("uint16", 2)
    } else if d.is::<Int32DataType>() {
        ("int32", 4)
    } else if d.is::<UInt32DataType>() {
        ("uint32", 4)
    } else if d.is::<Int64DataType>() {
        ("int64", 8)
    } else if d.is::<UInt64DataType>() {
        ("uint64", 8)
    } else if d.is::<Complex64DataType>() || d.is::<ComplexFloat32DataType>() {
        ("complex64", 8)
    } else if d.is::<Complex128DataType>() || d.is::<ComplexFloat64DataType>() {
        ("complex128", 16)
    } else {
        return None;
    })
}

/// The chunk shape for a `.npy` input's zarr output: whole planes along
/// axis 0, about [`NPY_CHUNK_BYTES`] of input each; the whole array for a
/// Fortran-order file (whose planes are not contiguous).
fn npy_chunk(shape: &[usize], size: usize, fortran: bool) -> Vec<usize> {
    let mut chunk: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
    if !fortran {
        if let Some(first) = chunk.first_mut() {
            let plane = shape[1..].iter().product::<usize>().max(1) * size;
            *first = (NPY_CHUNK_BYTES / plane).clamp(1, (*first).max(1));
        }
    }
    chunk
}

/// Checks that OUT.zarr can be written: its directory exists, it is not the
/// input, and whatever is there already is a zarr hierarchy (which is
/// replaced), not another directory or file.
///
/// # Errors
///
/// A one-line failure saying which is not so.
pub fn check_destination(output: &Path, input: &Path) -> Result<(), Failure> {
    let fail = |why: &str| Failure::new(format!("cannot write output {output:?}: {why}"));
    crate::npz::check_parent(output)?;
    if output.exists() {
        let same = match (output.canonicalize(), input.canonicalize()) {
            (Ok(a), Ok(b)) => a == b || b.starts_with(&a),
            _ => false,
        };
        if same {
            return Err(fail("it is the input (or holds it), which would be lost"));
        }
        if !output.is_dir() || !is_zarr_node(output) {
            return Err(fail(
                "something other than a zarr hierarchy is there, and it is not replaced",
            ));
        }
    }
    Ok(())
}

/// Whether `path` holds zarr metadata at its root.
fn is_zarr_node(path: &Path) -> bool {
    ["zarr.json", ".zarray", ".zgroup", ".zattrs"]
        .iter()
        .any(|name| path.join(name).is_file())
}

impl Source {
    /// Reads the block `ranges` of the input as `I`.
    fn read<I: FromAny + ElementOwned>(
        &self,
        ranges: &[Range<usize>],
    ) -> Result<ArrayD<I>, Failure> {
        let elements: u64 = ranges.iter().map(|r| r.len() as u64).product();
        memory::reserve(
            elements * std::mem::size_of::<I>() as u64,
            "a block of the input",
        )?;
        match self {
            Source::Zarr(array) => {
                let ranges: Vec<Range<u64>> = ranges
                    .iter()
                    .map(|r| r.start as u64..r.end as u64)
                    .collect();
                array
                    .retrieve_array_subset::<ArrayD<I>>(&ArraySubset::new_with_ranges(&ranges))
                    .map_err(|e| Failure::new(format!("cannot read the zarr input: {e}")))
            }
            Source::Npy(path, fortran) => {
                let fail = |e: crate::npy::NpyError| {
                    Failure::new(format!("cannot read input {path:?}: {e}"))
                };
                let array = if *fortran {
                    I::from_any(NpyFile::open(path).and_then(NpyFile::read).map_err(fail)?)
                } else {
                    let rows = ranges.first().cloned().unwrap_or(0..1);
                    let mut file = NpyFile::open(path).map_err(fail)?;
                    I::from_any(file.read_slab(rows).map_err(fail)?)
                };
                let mut array = array.ok_or_else(|| {
                    Failure::new(format!("cannot read input {path:?}: its dtype changed"))
                })?;
                // Cut the other axes (and, for a whole Fortran array, axis 0).
                let skip = usize::from(!*fortran);
                for (k, r) in ranges.iter().enumerate().skip(skip) {
                    if r.len() != array.shape()[k] {
                        array = array
                            .slice_axis(ndarray::Axis(k), Slice::from(r.clone()))
                            .to_owned();
                    }
                }
                Ok(array)
            }
        }
    }
}

/// An output element type of a real input: stored in `.npz` and zarr alike.
trait Out: NpzElement + zarrs::array::Element + Send + Sync {
    /// The zarr data type.
    fn zarr_type() -> DataType;
}

impl Out for f16 {
    fn zarr_type() -> DataType {
        dt::float16()
    }
}

impl Out for f32 {
    fn zarr_type() -> DataType {
        dt::float32()
    }
}

impl Out for f64 {
    fn zarr_type() -> DataType {
        dt::float64()
    }
}

/// One chunk's every component, or its magnitude, and the backend it ran on.
type ComputeMany<'f, I, T> = &'f (dyn Fn(&ArrayD<I>, &Place, &GradientOptions) -> ndgrad::Result<(Vec<ArrayD<T>>, Backend)>
         + Sync);

/// A real input, in the output type `--dtype` chooses (numpy's without it).
fn real<I>(ctx: &Ctx<'_>) -> Result<Written, Failure>
where
    I: Input + FromAny + ElementOwned + Send + Sync,
    I::NumpyOutput: Out,
{
    match ctx.args.dtype {
        None => real_as::<I::NumpyOutput, I>(ctx),
        Some(OutputDtype::F32) => real_as::<f32, I>(ctx),
        Some(OutputDtype::F64) => real_as::<f64, I>(ctx),
    }
}

/// A real input, computed in `O`.
fn real_as<O: Out, I>(ctx: &Ctx<'_>) -> Result<Written, Failure>
where
    I: Input + FromAny + ElementOwned + Send + Sync,
{
    let (names, backend) = if is_zarr(&ctx.args.output) {
        let component = |b: &ArrayD<I>, p: &Place, o: &GradientOptions| {
            let g = block::gradient_as::<O, I, _, _>(b, p, o)?;
            Ok((g.arrays, g.backend))
        };
        let magnitude = |b: &ArrayD<I>, p: &Place, o: &GradientOptions| {
            let m = block::gradient_magnitude_as::<O, I, _, _>(b, p, o)?;
            Ok((vec![m], o.backend))
        };
        to_zarr::<I, O, O>(
            ctx,
            (O::zarr_type(), O::zarr_type()),
            &component,
            &magnitude,
        )?
    } else {
        let component = |b: &ArrayD<I>, p: &Place, o: &GradientOptions| {
            let g = block::gradient_as::<O, I, _, _>(b, p, o)?;
            let first = g.arrays.into_iter().next().expect("one requested axis");
            Ok((O::stored(first), g.backend))
        };
        let magnitude = |b: &ArrayD<I>, p: &Place, o: &GradientOptions| {
            let m = block::gradient_magnitude_as::<O, I, _, _>(b, p, o)?;
            Ok((O::stored(m), o.backend))
        };
        to_npz::<I, _, _>(ctx, &component, &magnitude)?
    };
    Ok((names, backend, O::NUMPY_NAME))
}

/// A complex input: its gradient is complex, its magnitude real.
fn complex<T>(ctx: &Ctx<'_>) -> Result<Written, Failure>
where
    T: ndgrad::complex::Part + ndarray_npy::WritableElement + zarrs::array::Element + Send + Sync,
    Complex<T>: FromAny
        + ElementOwned
        + zarrs::array::Element
        + Scalar<Gradient = Complex<T>, Magnitude = T>
        + ndarray_npy::WritableElement
        + Send
        + Sync,
{
    let name = Complex::<T>::NUMPY_NAME;
    if ctx.args.dtype.is_some() {
        return Err(Failure::new(format!(
            "--dtype would drop the imaginary part of the {name} input; its gradient is {name}"
        )));
    }
    let component = |b: &ArrayD<Complex<T>>, p: &Place, o: &GradientOptions| {
        let g = block::gradient::<Complex<T>, _, _>(b, p, o)?;
        Ok((g.arrays, g.backend))
    };
    let magnitude = |b: &ArrayD<Complex<T>>, p: &Place, o: &GradientOptions| {
        Ok((
            vec![block::gradient_magnitude::<Complex<T>, _, _>(b, p, o)?],
            o.backend,
        ))
    };
    let (names, backend) = if is_zarr(&ctx.args.output) {
        let (c, m) = if name == "complex64" {
            (dt::complex64(), dt::float32())
        } else {
            (dt::complex128(), dt::float64())
        };
        to_zarr::<Complex<T>, Complex<T>, T>(ctx, (c, m), &component, &magnitude)?
    } else {
        let component =
            |b: &ArrayD<Complex<T>>, p: &Place, o: &GradientOptions| component(b, p, o).map(first);
        let magnitude =
            |b: &ArrayD<Complex<T>>, p: &Place, o: &GradientOptions| magnitude(b, p, o).map(first);
        to_npz::<Complex<T>, _, _>(ctx, &component, &magnitude)?
    };
    Ok((names, backend, name))
}

/// The first array of a block's result.
fn first<T>((arrays, backend): (Vec<ArrayD<T>>, Backend)) -> (ArrayD<T>, Backend) {
    let first = arrays.into_iter().next().expect("one requested axis");
    (first, backend)
}

/// A zarr input streamed into a `.npz`: slabs of whole planes along axis 0,
/// as many chunk rows as fit under the ceiling.
fn to_npz<I, C, M>(
    ctx: &Ctx<'_>,
    component: stream::Compute<'_, I, C>,
    magnitude: stream::Compute<'_, I, M>,
) -> Result<(Vec<String>, Backend), Failure>
where
    I: FromAny + ElementOwned + Send + Sync,
    C: ndarray_npy::WritableElement,
    M: ndarray_npy::WritableElement,
{
    let shape = &ctx.job.shape;
    let n = shape.first().copied().unwrap_or(0);
    let periodic0 = ctx
        .plan
        .axes
        .iter()
        .any(|ax| ax.axis == 0 && ax.stencil.is_periodic());
    let planes = if n == 0 || periodic0 {
        // A periodic axis 0 is read whole: its ends need each other.
        if ctx.job.slab(n, 0) > ctx.ceiling {
            return Err(too_big(
                ctx,
                ctx.job.slab(n, 0),
                "axis 0 is periodic and is read whole",
            ));
        }
        n.max(1)
    } else {
        let halo = stream::margin(shape, &ctx.opts)?;
        let planes = ctx.job.slab_planes(halo, ctx.ceiling)?;
        let rows = ctx.chunk.first().copied().unwrap_or(1).max(1);
        if planes >= rows {
            planes / rows * rows
        } else {
            planes
        }
    };
    let job = stream::Job {
        plan: &ctx.plan,
        opts: &ctx.opts,
        planes,
        magnitude: ctx.args.magnitude,
    };
    let read = |rows: Range<usize>| {
        let mut ranges: Vec<Range<usize>> = shape.iter().map(|&m| 0..m).collect();
        if let Some(first) = ranges.first_mut() {
            *first = rows;
        }
        ctx.source.read::<I>(&ranges)
    };
    stream::to_npz(&job, &read, &ctx.args.output, component, magnitude)
}

/// The one-line failure for a job whose smallest piece needs `needed`.
fn too_big(ctx: &Ctx<'_>, needed: u64, why: &str) -> Failure {
    Failure::new(format!(
        "not enough memory: the input of shape {} needs {} for its smallest piece ({why}), over the ceiling of {} (set it with --max-memory)",
        crate::array::shape_text(&ctx.job.shape),
        bytes_text(needed),
        bytes_text(ctx.ceiling)
    ))
}
