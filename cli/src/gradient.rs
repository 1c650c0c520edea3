//! `ndgrad gradient`: `numpy.gradient` of a `.npy` file, written to a `.npz` file.

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::WritableElement;
use ndgrad::{Axes, AxisSpacing, Backend, EdgeOrder, Element, GradientOptions, Plan, Spacing};

use crate::failure::Failure;
use crate::npy::{self, NpyArray};
use crate::npz;

/// The arguments of `ndgrad gradient`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Differentiate a .npy array along its axes (numpy.gradient) into a .npz file",
    long_about = "Differentiate a .npy array along its axes, as numpy.gradient(f, *spacing, \
axis=axes, edge_order=edge_order) does, and write one array per requested axis into a .npz \
file, named axis0, axis1, ... after the (non-negative) axis index.\n\n\
The input may be float32, float64 or any integer dtype (converted to float64, as numpy \
does), in C or Fortran order, of any number of dimensions. The outputs have the input's \
float dtype (float64 for integer input).\n\n\
On success nothing is printed on stdout and one summary line on stderr (none with --quiet). \
On failure one line starting with 'ndgrad: ' is printed on stderr, no output file is left \
behind, and the exit code is 2 for invalid arguments, 1 for anything else.",
    after_help = "Examples:\n  ndgrad gradient f.npy -o grad.npz\n  \
ndgrad gradient f.npy -o grad.npz --spacing=0.5,@x.npy --axis=-1,0 --edge-order 2"
)]
pub struct GradientArgs {
    /// The array to differentiate (.npy).
    #[arg(value_name = "INPUT.npy")]
    pub input: PathBuf,

    /// Where to write the derivatives (.npz, replaced if it exists).
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

    /// Which engine computes the gradient: auto, gpu, cpu or reference.
    #[arg(long, value_name = "BACKEND", default_value = "auto", value_parser = parse_backend)]
    pub backend: Backend,

    /// Print nothing on success.
    #[arg(short, long)]
    pub quiet: bool,
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
    npz::check_destination(&args.output)?;
    let input = npy::read(&args.input)
        .map_err(|e| Failure::new(format!("cannot read input {:?}: {e}", args.input)))?;
    let opts = GradientOptions {
        spacing: spacing(&args.spacing)?,
        axes: args.axis.clone().map_or(Axes::All, Axes::List),
        edge_order: args.edge_order,
        backend: args.backend,
    };
    let shape = input.array.shape().to_vec();
    let (names, backend) = match input.array {
        NpyArray::F32(f) => differentiate_and_write(&f, &opts, &args.output)?,
        NpyArray::F64(f) => differentiate_and_write(&f, &opts, &args.output)?,
    };
    if !args.quiet {
        let out_dtype = match input.dtype.scalar {
            npy::Scalar::F32 => "float32",
            _ => "float64",
        };
        let names = if names.is_empty() {
            "no arrays".to_string()
        } else {
            names.join(", ")
        };
        eprintln!(
            "ndgrad: wrote {names} ({out_dtype}, shape {}, {backend} backend) to {:?}",
            npy::shape_text(&shape),
            args.output
        );
    }
    Ok(())
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
                    .map(AxisSpacing::Coordinates)
                    .map_err(|e| {
                        Failure::new(format!("cannot read spacing coordinates {path:?}: {e}"))
                    }),
            })
            .collect::<Result<_, _>>()
            .map(Spacing::PerAxis),
    }
}

/// Differentiates `f` and writes one array per requested axis to `output`,
/// named `axis{k}` with `k` non-negative; returns the names and the backend
/// that ran.
fn differentiate_and_write<T: Element + WritableElement>(
    f: &ArrayD<T>,
    opts: &GradientOptions,
    output: &Path,
) -> Result<(Vec<String>, Backend), Failure> {
    // The plan resolves negative axes; building it also validates every option.
    let plan = Plan::new(f.shape(), opts)?;
    let gradients = ndgrad::gradient_with_backend(f, opts)?;
    let named: Vec<(String, ArrayD<T>)> = plan
        .axes
        .iter()
        .map(|axis| format!("axis{}", axis.axis))
        .zip(gradients.arrays)
        .collect();
    npz::write_atomically(output, &named)?;
    Ok((
        named.into_iter().map(|(name, _)| name).collect(),
        gradients.backend,
    ))
}
