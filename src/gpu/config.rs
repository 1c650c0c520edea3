//! The settings and limits of a [`super::context::GpuContext`]:
//! [`GpuOptions`] (what the caller asks for), [`GpuLimits`] (the device's
//! limits lowered by them) and [`AxisKernels`] (which kernels compute the
//! components).

use crate::error::{Error, Result};

/// The workgroup size used unless the device allows less or
/// [`GpuOptions::workgroup_size`] asks for another.
const DEFAULT_WORKGROUP_SIZE: u32 = 256;

/// The largest slab, in elements, so that every index a kernel computes fits
/// in a WGSL `u32` with room to spare.
const MAX_SLAB_ELEMENTS: u64 = 1 << 31;

/// Which kernels compute the components of a gradient.
///
/// The fused kernel (`shaders/fused.wgsl`) reads each element's
/// neighbourhood once and writes up to four derivatives per dispatch; the
/// per-axis kernels (`shaders/interior.wgsl`, `shaders/boundary.wgsl`) run
/// an interior and two boundary dispatches per axis. Both give the same
/// bits. The per-axis kernels compute numpy's stencils only: a request of
/// accuracy 4 or 6, or with a periodic axis, always takes the fused kernel,
/// whatever this says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AxisKernels {
    /// The measured choice, currently the fused kernel wherever it applies:
    /// on lavapipe it takes 0.73× to 0.86× the per-axis kernels' time on
    /// 2-D and 3-D arrays (figures in BENCHMARKS.md).
    #[default]
    Auto,
    /// The fused kernel wherever it applies (the coefficient table fits one
    /// binding and the device has six storage bindings per stage), the
    /// per-axis kernels otherwise.
    Fused,
    /// The per-axis interior and boundary kernels, one axis at a time, for
    /// numpy's stencils (accuracy 2, one-sided ends).
    PerAxis,
}

/// Settings of a [`GpuContext`](super::GpuContext): smaller limits than the device's (to exercise
/// the slab and folding paths on small arrays, or to leave room for other
/// work), and switches for testing.
///
/// Limits larger than the device's are clamped to the device's.
///
/// ```
/// use ndgrad::gpu::GpuOptions;
/// let opts = GpuOptions::new()
///     .max_storage_buffer_binding_size(4096)
///     .max_workgroups_per_dimension(4);
/// assert_eq!(opts.max_buffer_size, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// At most this many bytes in one storage buffer binding.
    pub max_storage_buffer_binding_size: Option<u64>,
    /// At most this many bytes in one buffer.
    pub max_buffer_size: Option<u64>,
    /// At most this many workgroups along each dimension of a dispatch.
    pub max_workgroups_per_dimension: Option<u32>,
    /// Threads per workgroup (default 256, or the device's maximum if lower).
    pub workgroup_size: Option<u32>,
    /// Behave as if the adapter lacked `SHADER_F64`: `f64` input is refused
    /// with [`Error::NoF64`].
    pub disable_f64: bool,
    /// Fill every output buffer with a NaN sentinel before each run, so that a
    /// kernel that skips an element is visible in the result (for tests).
    pub poison_outputs: bool,
    /// Behave as if the adapter lacked `TIMESTAMP_QUERY`: the feature is not
    /// requested and [`super::context::GpuContext::time_kernels`] falls back to wall time
    /// ([`super::measure::TimingClock::WallClock`]).
    pub disable_timestamps: bool,
    /// Behave as if the adapter lacked `SHADER_F16`: f16 results are
    /// computed and read back as f32 and rounded on the host.
    pub disable_f16: bool,
    /// Which kernels compute several axes (for measuring and testing both).
    pub axis_kernels: AxisKernels,
}

impl GpuOptions {
    /// The device's own limits, nothing disabled, no poisoning.
    pub fn new() -> Self {
        Self::default()
    }

    /// Caps the size of one storage buffer binding, in bytes.
    pub fn max_storage_buffer_binding_size(mut self, bytes: u64) -> Self {
        self.max_storage_buffer_binding_size = Some(bytes);
        self
    }

    /// Caps the size of one buffer, in bytes.
    pub fn max_buffer_size(mut self, bytes: u64) -> Self {
        self.max_buffer_size = Some(bytes);
        self
    }

    /// Caps the workgroups along each dimension of a dispatch.
    pub fn max_workgroups_per_dimension(mut self, count: u32) -> Self {
        self.max_workgroups_per_dimension = Some(count);
        self
    }

    /// Sets the threads per workgroup.
    pub fn workgroup_size(mut self, size: u32) -> Self {
        self.workgroup_size = Some(size);
        self
    }

    /// Pretends the adapter has no `SHADER_F64`.
    pub fn disable_f64(mut self, disable: bool) -> Self {
        self.disable_f64 = disable;
        self
    }

    /// Poisons output buffers before each run.
    pub fn poison_outputs(mut self, poison: bool) -> Self {
        self.poison_outputs = poison;
        self
    }

    /// Pretends the adapter has no `TIMESTAMP_QUERY`.
    pub fn disable_timestamps(mut self, disable: bool) -> Self {
        self.disable_timestamps = disable;
        self
    }

    /// Pretends the adapter has no `SHADER_F16`.
    pub fn disable_f16(mut self, disable: bool) -> Self {
        self.disable_f16 = disable;
        self
    }

    /// Chooses the kernels for several axes.
    pub fn axis_kernels(mut self, kernels: AxisKernels) -> Self {
        self.axis_kernels = kernels;
        self
    }
}

/// The limits a [`GpuContext`](super::GpuContext) works within: the device's, lowered by
/// [`GpuOptions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuLimits {
    /// Bytes in one storage buffer binding.
    pub max_storage_buffer_binding_size: u64,
    /// Bytes in one buffer.
    pub max_buffer_size: u64,
    /// Workgroups along each dimension of a dispatch.
    pub max_workgroups_per_dimension: u32,
    /// Threads per workgroup.
    pub workgroup_size: u32,
    /// Alignment of storage buffer binding offsets, in bytes.
    pub storage_offset_alignment: u32,
    /// Alignment of uniform buffer binding offsets, in bytes.
    pub uniform_offset_alignment: u32,
}

impl GpuLimits {
    pub(super) fn new(device: &wgpu::Limits, opts: &GpuOptions) -> Result<GpuLimits> {
        let cap64 = |dev: u64, opt: Option<u64>| opt.map_or(dev, |o| o.min(dev));
        let cap32 = |dev: u32, opt: Option<u32>| opt.map_or(dev, |o| o.min(dev));
        let max_wg = device
            .max_compute_workgroup_size_x
            .min(device.max_compute_invocations_per_workgroup);
        let limits = GpuLimits {
            max_storage_buffer_binding_size: cap64(
                device.max_storage_buffer_binding_size,
                opts.max_storage_buffer_binding_size,
            ),
            max_buffer_size: cap64(device.max_buffer_size, opts.max_buffer_size),
            max_workgroups_per_dimension: cap32(
                device.max_compute_workgroups_per_dimension,
                opts.max_workgroups_per_dimension,
            ),
            workgroup_size: opts
                .workgroup_size
                .unwrap_or(DEFAULT_WORKGROUP_SIZE)
                .min(max_wg),
            storage_offset_alignment: device.min_storage_buffer_offset_alignment,
            uniform_offset_alignment: device.min_uniform_buffer_offset_alignment,
        };
        if limits.workgroup_size == 0 || limits.max_workgroups_per_dimension == 0 {
            return Err(Error::ExceedsGpuLimits {
                what: "a dispatch with zero threads per workgroup or zero workgroups".into(),
                needed: 1,
                limit: 0,
            });
        }
        Ok(limits)
    }

    /// The most elements of `elem_size` bytes one slab may hold: what fits
    /// one storage binding and one buffer, and what one dispatch grid can
    /// cover. An array with more elements is streamed in slabs.
    pub fn max_slab_elements(&self, elem_size: u64) -> u64 {
        let bytes = self
            .max_storage_buffer_binding_size
            .min(self.max_buffer_size);
        let grid =
            u64::from(self.max_workgroups_per_dimension).pow(3) * u64::from(self.workgroup_size);
        (bytes / elem_size).min(grid).min(MAX_SLAB_ELEMENTS)
    }
}
