//! The command line of `ndgrad bench`: its options, and the element types,
//! spacing forms and backends they name.

use std::path::PathBuf;

use clap::ValueEnum;
use serde::Serialize;

/// Options of `ndgrad bench`. Any option given narrows the default suite to it.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Environment:\n  \
NDGRAD_PYTHON  the Python interpreter that times numpy, cupy and torch (default: python3); \
a peer whose module it cannot import is skipped with a note in the header\n\n\
Rows are printed as each case finishes, also into a pipe or a file; a progress bar is drawn \
on stderr when it is a terminal.")]
pub struct BenchArgs {
    /// Array shape, e.g. `512,512,512` (default: a 1-D signal, a 2-D image and a 3-D volume).
    #[arg(long, value_delimiter = ',')]
    pub shape: Option<Vec<usize>>,
    /// Element type (default: both).
    #[arg(long, value_enum)]
    pub dtype: Option<Dtype>,
    /// Edge order, 1 or 2 (default: both).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub edge_order: Option<u8>,
    /// Spacing form (default: both).
    #[arg(long, value_enum)]
    pub spacing: Option<SpacingForm>,
    /// Axes to differentiate, comma-separated, negatives allowed (default: all).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    pub axis: Option<Vec<isize>>,
    /// Backends to time.
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "gpu,cpu,numpy,cupy,torch"
    )]
    pub backends: Vec<BenchBackend>,
    /// Also time the CPU (and GPU) with stencils of this accuracy, 2, 4 or 6,
    /// beside the default's rows (numpy has no equivalent).
    #[arg(long, value_parser = clap::value_parser!(u8).range(2..=6))]
    pub accuracy: Option<u8>,
    /// Also time the CPU (and GPU) with this boundary on every axis, beside
    /// the default's rows (numpy has no equivalent for `periodic`).
    #[arg(long, value_enum)]
    pub boundary: Option<BoundaryForm>,
    /// Memory layout of the input array (default: C order).
    #[arg(long, value_enum, default_value = "c")]
    pub layout: Layout,
    /// Timed runs per measurement (after one warm-up); the median is reported.
    #[arg(long)]
    pub repeat: Option<usize>,
    /// Also write one JSON record per measurement to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// A small, fast suite for CI smoke runs.
    #[arg(long)]
    pub quick: bool,
}

/// Element type of a bench case.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

/// Boundary of the extra rows `--boundary` asks for.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundaryForm {
    /// numpy's one-sided ends.
    OneSided,
    /// Every axis wraps around.
    Periodic,
}

/// Memory layout of a bench case's input: the same values, stored in
/// another order, so that strided inputs can be timed end to end.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// C order (row-major, the last axis contiguous).
    C,
    /// Fortran order (column-major, the first axis contiguous), as numpy's
    /// `np.asfortranarray`.
    Fortran,
}

/// Spacing form of a bench case.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpacingForm {
    /// One scalar for every axis (`numpy.gradient(f, 0.5)`).
    Uniform,
    /// Random non-uniform coordinates on every axis (`numpy.gradient(f, x0, x1, ...)`).
    Coords,
}

/// A backend the bench can time.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchBackend {
    /// ndgrad's GPU backend (end to end, kernel, transfers, copy-kernel baseline).
    Gpu,
    /// ndgrad's CPU backend, and a memcpy of the same bytes.
    Cpu,
    /// ndgrad's reference backend.
    Reference,
    /// `numpy.gradient` through `$NDGRAD_PYTHON`, by default `python3`
    /// (skipped with a note when absent).
    Numpy,
    /// `cupy.gradient` through `$NDGRAD_PYTHON`, device-resident (skipped with a
    /// note when cupy or a CUDA device is absent).
    Cupy,
    /// `torch.gradient` through `$NDGRAD_PYTHON`, device-resident on CUDA (on the
    /// CPU when torch has no GPU; skipped with a note when torch is absent).
    Torch,
}

impl BenchBackend {
    /// The peers timed through Python, in the order their rows appear.
    pub(super) const PEERS: [BenchBackend; 3] =
        [BenchBackend::Numpy, BenchBackend::Cupy, BenchBackend::Torch];

    /// The Python module, which is also the row's name.
    pub(super) fn module(self) -> &'static str {
        match self {
            BenchBackend::Numpy => "numpy",
            BenchBackend::Cupy => "cupy",
            BenchBackend::Torch => "torch",
            BenchBackend::Gpu | BenchBackend::Cpu | BenchBackend::Reference => "",
        }
    }
}
