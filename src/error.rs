//! The one error type of the crate.

use crate::options::EdgeOrder;

/// Everything that can go wrong in a gradient computation.
///
/// Every error a caller can make with the options is found in one place,
/// before any backend runs (see [`crate::plan::Plan::new`]); each message names
/// the axis and the numbers involved. Errors from a backend itself (a missing
/// adapter, a lost device) are values too, never panics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An axis is too short for the requested edge order. numpy raises the same
    /// `ValueError` ("at least (edge_order + 1) elements are required").
    #[error(
        "axis {axis} has {len} elements: at least edge_order + 1 = {required} elements are required (edge_order = {edge_order})"
    )]
    AxisTooShort {
        /// The axis, made non-negative.
        axis: usize,
        /// Its length.
        len: usize,
        /// The edge order asked for.
        edge_order: EdgeOrder,
        /// `edge_order + 1`.
        required: usize,
    },

    /// An axis is too short for a stencil of higher accuracy or with
    /// periodic ends: such a stencil reads `p + 1` distinct samples.
    /// (numpy has neither; numpy's own stencil gives [`Error::AxisTooShort`].)
    #[error(
        "axis {axis} has {len} elements: a {boundary} stencil of accuracy {accuracy} needs at least {required} (accuracy + 1)"
    )]
    AxisTooShortForStencil {
        /// The axis, made non-negative.
        axis: usize,
        /// Its length.
        len: usize,
        /// The order of accuracy asked for.
        accuracy: usize,
        /// The boundary mode's name (`one-sided`, `periodic`).
        boundary: &'static str,
        /// `accuracy + 1`.
        required: usize,
    },

    /// The number of boundary modes is neither 1 nor the number of
    /// requested axes.
    #[error(
        "{given} boundary modes were given for {axes} requested axes: give one for every axis, or one per requested axis"
    )]
    BoundaryCount {
        /// How many modes were given.
        given: usize,
        /// How many axes were requested.
        axes: usize,
    },

    /// A periodic axis with coordinates, but no period: the step from the
    /// last point to the first one of the next period is unknown.
    #[error(
        "axis {axis} is periodic with coordinates: give its period L (the wrap-around step is x[0] + L - x[n-1])"
    )]
    PeriodMissing {
        /// The axis, made non-negative.
        axis: usize,
    },

    /// A period that is not finite, or that disagrees with the axis's
    /// uniform spacing, or that leaves a wrap-around step of zero or of the
    /// other sign than the coordinates' steps.
    #[error("the period {period} of axis {axis} is invalid: {reason}")]
    Period {
        /// The axis, made non-negative.
        axis: usize,
        /// The period given.
        period: f64,
        /// Why it cannot be used.
        reason: String,
    },

    /// The number of spacing items is neither 0, 1 (a scalar) nor the number of
    /// requested axes. numpy raises `TypeError("invalid number of arguments")`.
    #[error(
        "{given} spacing items were given for {axes} requested axes: give none, one scalar, or one item per requested axis"
    )]
    SpacingCount {
        /// How many spacing items were given.
        given: usize,
        /// How many axes were requested.
        axes: usize,
    },

    /// A coordinate array that is not one-dimensional.
    #[error("the coordinates for axis {axis} have {ndim} dimensions: coordinates must be 1-D")]
    CoordinatesNotOneDimensional {
        /// The axis the coordinates belong to.
        axis: usize,
        /// Their number of dimensions.
        ndim: usize,
    },

    /// A coordinate array whose length differs from the length of its axis.
    #[error("the coordinates for axis {axis} have {len} elements, but the axis has {expected}")]
    CoordinatesLength {
        /// The axis the coordinates belong to.
        axis: usize,
        /// The number of coordinates given.
        len: usize,
        /// The length of the axis.
        expected: usize,
    },

    /// A coordinate array with fewer than two points, which has no differences.
    #[error(
        "the coordinates for axis {axis} have {len} elements: at least 2 are needed to form a spacing"
    )]
    CoordinatesTooShort {
        /// The axis the coordinates belong to.
        axis: usize,
        /// The number of coordinates given.
        len: usize,
    },

    /// An axis index outside `-ndim..ndim`.
    #[error("axis {axis} is out of range for an array with {ndim} dimensions")]
    AxisOutOfRange {
        /// The axis as given.
        axis: isize,
        /// The number of dimensions of the array.
        ndim: usize,
    },

    /// The same axis was requested twice (possibly once negative, once not).
    #[error("axis {axis} is requested more than once")]
    RepeatedAxis {
        /// The repeated axis, made non-negative.
        axis: usize,
    },

    /// No GPU adapter could be found (no driver, no device, or none matching
    /// `WGPU_ADAPTER_NAME` / `WGPU_BACKEND`).
    #[error("no GPU adapter is available: {reason}; use the CPU or reference backend")]
    NoAdapter {
        /// What wgpu reported.
        reason: String,
    },

    /// `f64` input for a GPU adapter without 64-bit floats in shaders
    /// (`wgpu::Features::SHADER_F64`).
    #[error(
        "the GPU adapter '{adapter}' does not support 64-bit floats (SHADER_F64): convert the input to f32, or use the CPU backend"
    )]
    NoF64 {
        /// The adapter's name.
        adapter: String,
    },

    /// The GPU reported an error (validation, out of memory, or internal),
    /// caught by an error scope. No output is returned.
    #[error("the GPU reported an error while {during}: {message}")]
    Gpu {
        /// What ndgrad was doing.
        during: String,
        /// wgpu's description of the error.
        message: String,
    },

    /// The GPU device was lost (driver reset, device removed or destroyed).
    /// Every later call on the same context returns this error; create a new
    /// context to continue.
    #[error("the GPU device was lost: {reason}")]
    DeviceLost {
        /// wgpu's description of the loss.
        reason: String,
    },

    /// Mapping a staging buffer for reading back results failed.
    #[error("reading results back from the GPU failed: {message}")]
    BufferMap {
        /// wgpu's description of the failure.
        message: String,
    },

    /// The GPU backend cannot compute this request in this form; the
    /// message says what to use instead.
    #[error("{what} is not supported on the GPU: {instead}")]
    GpuUnsupported {
        /// What was asked for.
        what: String,
        /// What to use instead.
        instead: String,
    },

    /// The request cannot be split to fit the GPU's limits (for example one
    /// plane of the outermost axis, with its halo, is larger than the largest
    /// buffer binding).
    #[error("{what} needs {needed} bytes, but the GPU allows at most {limit} bytes: use the CPU backend")]
    ExceedsGpuLimits {
        /// What did not fit.
        what: String,
        /// The bytes it needs.
        needed: u64,
        /// The limit it exceeds.
        limit: u64,
    },

    /// A [`crate::gpu::GpuArray`] that cannot serve the operation asked of
    /// it: a buffer smaller than its shape, one without the usage the
    /// operation needs (`STORAGE` to be computed on, `COPY_SRC` to be read
    /// back), or a shape whose element count overflows.
    #[error("invalid GPU array: {reason}")]
    InvalidGpuArray {
        /// What is wrong with it.
        reason: String,
    },

    /// f16 results kept on the device for an adapter without 16-bit floats
    /// in shaders (`wgpu::Features::SHADER_F16`); the host-returning
    /// functions round f32 results instead.
    #[error(
        "the GPU adapter '{adapter}' does not support 16-bit floats (SHADER_F16): ask for f32 results"
    )]
    NoF16 {
        /// The adapter's name.
        adapter: String,
    },

    /// [`crate::gradient_into`] was given a number of outputs other than
    /// the number of requested axes (or, for [`crate::gradient_magnitude_into`],
    /// other than one).
    #[error(
        "{found} output arrays were given for {expected} results: give one per requested axis"
    )]
    OutputCount {
        /// How many results the call computes.
        expected: usize,
        /// How many output arrays were given.
        found: usize,
    },

    /// An output array of [`crate::gradient_into`] or
    /// [`crate::gradient_magnitude_into`] whose shape differs from the input's.
    #[error("output {index} has shape {found:?}, but the input has shape {expected:?}")]
    OutputShape {
        /// Which output (0 for the magnitude).
        index: usize,
        /// The input's shape.
        expected: Vec<usize>,
        /// The output's shape.
        found: Vec<usize>,
    },

    /// A buffer of the result could not be allocated (the machine's memory
    /// or the process's address-space limit is exhausted).
    #[error("not enough memory: {bytes} bytes for {what} could not be allocated")]
    OutOfMemory {
        /// What the buffer was for.
        what: &'static str,
        /// Its size in bytes.
        bytes: u128,
    },

    /// A block given to [`crate::block`] does not fit the whole array, or
    /// lacks samples its wanted points read.
    #[error("invalid block: {reason}")]
    Block {
        /// What is wrong, with the axis and the numbers involved.
        reason: String,
    },
}

/// Short for `Result<T, ndgrad::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
