//! The GPU backend: `numpy.gradient` as WGSL compute kernels through wgpu.
//!
//! It runs on any adapter wgpu finds (Vulkan, Metal, DX12; lavapipe in CI),
//! in `f32` everywhere and in `f64` where the adapter has `SHADER_F64`. The
//! array is uploaded once (in slabs along the outermost axis when it exceeds
//! the device's buffer limits), every requested axis is computed from that
//! upload in one pass of the fused kernel (or, where it cannot run, by
//! per-axis interior and boundary kernels), with coefficients from
//! [`crate::stencil`], and the results are read back per axis. Every form
//! the CPU computes runs here too: accuracy 2, 4 and 6, one-sided or
//! periodic ends; the forms beyond numpy's (accuracy 4 and 6, periodic
//! ends) always run in the fused kernel.
//!
//! [`crate::gradient`] with [`crate::Backend::Gpu`] uses [`default_context`];
//! a [`GpuContext`] of your own chooses limits or shares your device.
//!
//! The modules, top-down: the calls, [`GpuContext::gradient`] and kin
//! (`host`: upload, record, read back, streamed by slabs) and the resident
//! calls (`resident`, over [`GpuArray`] in `array`), are thin layers over
//! one core, `record` (a `Recording` records a gradient's jobs into any
//! command encoder). Below it, `jobs` plans the dispatches as pure
//! functions of the plan and the limits, from the coefficient table
//! (`coefs`) and the slabs (`slab`); `kernels` composes and compiles the
//! WGSL, `params` holds the uniform structs the kernels take, `types` the
//! element types, `wide` the encoding of the forms beyond numpy's, `grid`
//! the dispatch geometry. `context` holds the device, queue, limits
//! (`config`), health and caches; `transfer` and `workspace`
//! move data through reused buffers, `source` writes a host input of any
//! layout into them in C order; `measure` times the kernels.

mod adapters;
mod array;
mod coefs;
mod config;
mod context;
mod grid;
mod host;
mod jobs;
mod kernels;
mod measure;
mod params;
mod record;
mod resident;
mod slab;
mod source;
mod transfer;
mod types;
mod wide;
mod workspace;

use std::sync::OnceLock;

pub use adapters::{adapters, AdapterSummary};
pub use array::GpuArray;
pub use config::{AxisKernels, GpuLimits, GpuOptions};
pub use context::GpuContext;
pub use measure::{KernelTimings, TimingClock};
pub(crate) use source::HostInput;
/// The wgpu this crate is built against, for [`GpuContext::from_device`].
pub use wgpu;

use crate::error::Result;

/// The context the library API uses: created on first use from the
/// environment (see [`GpuContext::new`]) and kept for the life of the
/// process. A failure to create it is remembered too, so a machine without
/// an adapter is probed once.
///
/// # Errors
///
/// The error [`GpuContext::new`] gave.
pub fn default_context() -> Result<&'static GpuContext> {
    static DEFAULT: OnceLock<Result<GpuContext>> = OnceLock::new();
    DEFAULT
        .get_or_init(GpuContext::new)
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod shader_tests;
