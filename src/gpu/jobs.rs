//! Job planning: which dispatches compute a [`Plan`], as pure functions of
//! the plan and the limits in force ([`JobLimits`]), with no device: the
//! path (per-axis or fused kernels), the slabs an array is streamed in, and
//! for each slab its jobs (pipeline, uniform parameters, coefficient
//! window, output). Recording them is [`super::record`]'s.

use super::coefs::{coefficient_alignment, AxisCoefs, CoefTable, EndTap};
use super::config::{AxisKernels, GpuLimits};
use super::kernels::{Kernel, Specialization};
use super::params::{DispatchParams, FusedParams, FUSED_MAX_AXES, FUSED_MAX_OUTPUTS};
use super::slab::{Slab, SlabPlan};
use super::types::{InputKind, Stored};
use crate::error::{Error, Result};
use crate::plan::{AxisPlan, Plan, Request};
use crate::stencil::Interior;

/// What job planning needs to know of a device: its limits (as lowered by
/// [`super::config::GpuOptions`]), how many storage buffers one shader stage may
/// bind, and which kernels compute the components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct JobLimits {
    /// The limits in force.
    pub(super) gpu: GpuLimits,
    /// `max_storage_buffers_per_shader_stage` of the device.
    pub(super) storage_buffers_per_stage: u32,
    /// [`super::config::GpuOptions::axis_kernels`].
    pub(super) axis_kernels: AxisKernels,
}

/// The parameters of one dispatch.
#[derive(Debug, Clone)]
pub(super) enum Params {
    /// A per-axis kernel's.
    Axis(DispatchParams),
    /// The fused kernel's (boxed: 4 KiB).
    Fused(Box<FusedParams>),
}

impl Params {
    /// The parameters as uploaded.
    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            Params::Axis(p) => bytemuck::bytes_of(p),
            Params::Fused(p) => bytemuck::bytes_of(p.as_ref()),
        }
    }

    /// The number of threads the dispatch runs.
    pub(super) fn threads(&self) -> u64 {
        match self {
            Params::Axis(p) => p.threads(),
            Params::Fused(p) => u64::from(p.count),
        }
    }
}

/// One dispatch: which pipeline, its parameters, its window of the
/// coefficient buffer (in elements), and which output it writes (per-axis
/// kernels; a fused dispatch writes outputs `output..` in order).
pub(super) struct Job {
    pub(super) spec: Specialization,
    pub(super) params: Params,
    pub(super) coef_window: (usize, usize),
    pub(super) output: usize,
}

/// How the requested axes of one run are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Path {
    /// Interior and boundary kernels, one axis at a time, one output each.
    PerAxis,
    /// One fused pass writing every component.
    Fused,
    /// One fused pass writing only the magnitude.
    FusedMagnitude,
}

/// The element types and the path of one run.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunKind {
    pub(super) input: InputKind,
    pub(super) stored: Stored,
    pub(super) path: Path,
    pub(super) edge_order: u32,
    /// The order of accuracy of every axis's stencil (2, 4 or 6).
    pub(super) accuracy: u32,
}

impl RunKind {
    /// The kind of a run of `plan` from `I` input into `stored` results.
    pub(super) fn new(
        limits: &JobLimits,
        plan: &Plan,
        input: InputKind,
        stored: Stored,
        request: Request,
    ) -> RunKind {
        RunKind {
            input,
            stored,
            path: choose_path(limits, plan, request, stored),
            edge_order: plan.axes[0].stencil.edge_order().get() as u32,
            accuracy: plan.axes[0].stencil.form().accuracy.get() as u32,
        }
    }

    /// The coefficient table of `plan` for this run: each part at a storage
    /// offset alignment for the per-axis kernels, which bind parts one at
    /// a time; unpadded for the fused kernel, which binds it whole.
    pub(super) fn coefs(&self, limits: &JobLimits, plan: &Plan) -> CoefTable {
        match self.path {
            Path::PerAxis => CoefTable::new(plan, coefficient_alignment(&limits.gpu, self.stored)),
            Path::Fused | Path::FusedMagnitude => CoefTable::new(plan, 1),
        }
    }

    fn spec(
        &self,
        limits: &JobLimits,
        kernel: Kernel,
        non_uniform: bool,
        edge_order: u32,
    ) -> Specialization {
        Specialization {
            kernel,
            input: self.input,
            stored: self.stored,
            workgroup_size: limits.gpu.workgroup_size,
            non_uniform,
            edge_order,
            magnitude: self.path == Path::FusedMagnitude,
            axes: 0,
            non_uniform_axes: 0,
            accuracy: 2,
            periodic_axes: 0,
        }
    }

    /// Number of output buffers: one per axis, or one magnitude.
    pub(super) fn outputs(&self, plan: &Plan) -> usize {
        match self.path {
            Path::FusedMagnitude => 1,
            _ => plan.axes.len(),
        }
    }
}

/// Chooses the path for `request`: the fused magnitude kernel for a
/// magnitude (up to eight axes, a coefficient table that fits one binding,
/// enough storage bindings), since the alternative writes and reads back
/// every component; for components, the kernels [`AxisKernels`] asks for.
///
/// [`AxisKernels::Auto`] picks the fused kernel wherever it applies, by
/// measurement (`cargo run --release --example gpu_fused_vs_per_axis`,
/// kernel time with the data resident, GPU timestamps, median of 9; figures
/// in BENCHMARKS.md): on lavapipe it takes 0.81× to 0.84× the per-axis
/// kernels' time for all axes of 2048² and 160³ f32, and 0.73× to 0.86×
/// for the last axis alone; on 1-D and second-order cases the two are
/// within that machine's noise. It has no data-dependent branch (but one
/// for the middle sample of second-order ends), no integer division and one
/// dispatch per four axes, where the per-axis kernels run three dispatches
/// per axis, each dividing its thread index. Re-measure on
/// hardware GPUs when changing either.
///
/// The forms beyond numpy's (accuracy 4 and 6, periodic ends) have only the
/// fused kernel: a plan with any of them takes it whatever [`AxisKernels`]
/// asks for, and its magnitude over more than eight axes is combined from
/// fused components. Where the fused kernel cannot run at all (the table
/// does not fit one binding, too few storage bindings), the path is
/// per-axis and [`slab_jobs`] refuses those forms with an error.
pub(super) fn choose_path(
    limits: &JobLimits,
    plan: &Plan,
    request: Request,
    stored: Stored,
) -> Path {
    // The fused kernel binds the whole table, unpadded (see `RunKind::coefs`).
    let fused_table = CoefTable::unpadded_len(plan) as u64 * stored.real().size();
    let fits = fused_table <= limits.gpu.max_storage_buffer_binding_size
        && limits.storage_buffers_per_stage >= 2 + FUSED_MAX_OUTPUTS as u32;
    let numpy = plan.axes.iter().all(|ax| ax.stencil.is_numpy());
    match request {
        Request::Magnitude if fits && plan.axes.len() <= FUSED_MAX_AXES => Path::FusedMagnitude,
        Request::Magnitude if fits && !numpy => Path::Fused,
        Request::Magnitude => Path::PerAxis,
        Request::Components => match limits.axis_kernels {
            _ if fits && !numpy => Path::Fused,
            AxisKernels::Auto | AxisKernels::Fused if fits => Path::Fused,
            AxisKernels::Auto | AxisKernels::Fused | AxisKernels::PerAxis => Path::PerAxis,
        },
    }
}

/// An axis seen through one slab: the (outer, n, inner) view of the loaded
/// planes, the box of it this slab computes, and where local index 0 along
/// the axis lies globally.
pub(super) struct AxisView {
    o_first: usize,
    o_count: usize,
    n: usize,
    inner: usize,
    /// The global index along the axis of local index 0.
    lane_origin: usize,
    /// The global indices along the axis this slab computes.
    computed: std::ops::Range<usize>,
    /// Slab index of the first computed element (the output's index 0).
    out_origin: usize,
}

impl AxisView {
    pub(super) fn new(ax: &AxisPlan, shape: &[usize], slab: &Slab, plane_len: usize) -> AxisView {
        let skipped_planes = slab.compute.start - slab.load.start;
        if ax.axis == 0 {
            AxisView {
                o_first: 0,
                o_count: 1,
                n: slab.load.len(),
                inner: plane_len,
                lane_origin: slab.load.start,
                computed: slab.compute.clone(),
                out_origin: skipped_planes * plane_len,
            }
        } else {
            let lanes_per_plane: usize = shape[1..ax.axis].iter().product();
            let o_first = skipped_planes * lanes_per_plane;
            AxisView {
                o_first,
                o_count: slab.compute.len() * lanes_per_plane,
                n: ax.n,
                inner: ax.inner,
                lane_origin: 0,
                computed: 0..ax.n,
                out_origin: o_first * ax.n * ax.inner,
            }
        }
    }

    fn params(&self, i_first_global: usize, i_count: usize) -> DispatchParams {
        DispatchParams {
            o_first: self.o_first as u32,
            o_count: self.o_count as u32,
            n: self.n as u32,
            inner: self.inner as u32,
            i_first: (i_first_global - self.lane_origin) as u32,
            i_count: i_count as u32,
            out_origin: self.out_origin as u32,
            ..DispatchParams::default()
        }
    }
}

/// The per-axis dispatches that compute axis `ax` on one slab into output
/// `output`.
fn axis_jobs(
    limits: &JobLimits,
    kind: &RunKind,
    ax: &AxisPlan,
    coefs: &AxisCoefs,
    view: &AxisView,
    output: usize,
) -> Result<Vec<Job>> {
    let real_size = kind.stored.real().size();
    let align = coefficient_alignment(&limits.gpu, kind.stored);
    let mut jobs = Vec::new();
    let interior = view.computed.start.max(1)..view.computed.end.min(ax.n - 1);
    if !interior.is_empty() {
        let interior_spec = kind.spec(limits, Kernel::Interior, coefs.non_uniform, 1);
        if coefs.non_uniform {
            // Each dispatch binds a window of [a, b, c] rows that fits one binding.
            let binding = (limits.gpu.max_storage_buffer_binding_size / real_size) as usize;
            let rows_per_window = binding.saturating_sub(align) / 3;
            if rows_per_window == 0 {
                return Err(Error::ExceedsGpuLimits {
                    what: "one row of non-uniform coefficients".into(),
                    needed: (align as u64 + 3) * real_size,
                    limit: binding as u64 * real_size,
                });
            }
            let mut i = interior.start;
            while i < interior.end {
                let count = rows_per_window.min(interior.end - i);
                let start = coefs.interior.start + 3 * (i - 1);
                let window_start = start - start % align;
                let mut params = view.params(i, count);
                params.coef_first = (start - window_start) as u32;
                jobs.push(Job {
                    spec: interior_spec,
                    params: Params::Axis(params),
                    coef_window: (window_start, start - window_start + 3 * count),
                    output,
                });
                i += count;
            }
        } else {
            jobs.push(Job {
                spec: interior_spec,
                params: Params::Axis(view.params(interior.start, interior.len())),
                coef_window: (coefs.interior.start, coefs.interior.len),
                output,
            });
        }
    }
    let ends = [
        (0, ax.stencil.first(), coefs.first),
        (ax.n - 1, ax.stencil.last(), coefs.last),
    ];
    for (i, tap, part) in ends {
        if !view.computed.contains(&i) {
            continue;
        }
        let tap = EndTap::of(tap);
        let mut params = view.params(i, 1);
        params.tap_first = (tap.start - view.lane_origin) as u32;
        params.tap_second = (tap.second() - view.lane_origin) as u32;
        jobs.push(Job {
            spec: kind.spec(limits, Kernel::Boundary, false, tap.order),
            params: Params::Axis(params),
            coef_window: (part.start, part.len),
            output,
        });
    }
    Ok(jobs)
}

/// The dispatches that compute every output of `kind` on one slab.
pub(super) fn slab_jobs(
    limits: &JobLimits,
    kind: &RunKind,
    plan: &Plan,
    coefs: &CoefTable,
    slab: &Slab,
    plane_len: usize,
) -> Result<Vec<Job>> {
    match kind.path {
        Path::PerAxis => {
            if let Some(ax) = plan.axes.iter().find(|ax| !ax.stencil.is_numpy()) {
                let form = ax.stencil.form();
                return Err(Error::GpuUnsupported {
                    what: format!(
                        "accuracy {} with {} ends (axis {}) where the fused kernel cannot run (its coefficient table exceeds one storage binding, or the device has fewer than {} storage bindings per stage)",
                        form.accuracy,
                        form.boundary.name(),
                        ax.axis,
                        2 + FUSED_MAX_OUTPUTS
                    ),
                    instead: "use the CPU backend".into(),
                });
            }
            let mut jobs = Vec::new();
            for (k, (ax, ax_coefs)) in plan.axes.iter().zip(&coefs.axes).enumerate() {
                let view = AxisView::new(ax, &plan.shape, slab, plane_len);
                jobs.extend(axis_jobs(limits, kind, ax, ax_coefs, &view, k)?);
            }
            Ok(jobs)
        }
        Path::Fused | Path::FusedMagnitude => {
            // Components: up to four outputs per dispatch, so five to eight
            // axes take two dispatches. The magnitude: one dispatch.
            let group = match kind.path {
                Path::Fused => FUSED_MAX_OUTPUTS,
                _ => FUSED_MAX_AXES,
            };
            Ok((0..plan.axes.len())
                .step_by(group)
                .map(|start| {
                    let axes = start..(start + group).min(plan.axes.len());
                    fused_job((limits, kind, plan, coefs), slab, plane_len, axes)
                })
                .collect())
        }
    }
}

/// The fused dispatch computing `plan.axes[axes]` on `slab` into outputs
/// `axes.start..` (or their magnitude into output 0).
fn fused_job(
    (limits, kind, plan, coefs): (&JobLimits, &RunKind, &Plan, &CoefTable),
    slab: &Slab,
    plane_len: usize,
    axes: std::ops::Range<usize>,
) -> Job {
    let mut params = FusedParams {
        first: ((slab.compute.start - slab.load.start) * plane_len) as u32,
        count: (slab.compute.len() * plane_len) as u32,
        ..FusedParams::default()
    };
    let real = kind.stored.real();
    let mut non_uniform_axes = 0;
    let mut periodic_axes = 0;
    let mut reads_table = false;
    for (a, (ax, c)) in plan.axes[axes.clone()]
        .iter()
        .zip(&coefs.axes[axes.clone()])
        .enumerate()
    {
        let slot = &mut params.axis[a];
        let (n, inner, lane_origin) = if ax.axis == 0 {
            (slab.load.len(), plane_len, slab.load.start)
        } else {
            (ax.n, ax.inner, 0)
        };
        slot.set_geometry(n as u32, inner as u32);
        slot.lane_origin = lane_origin as u32;
        slot.last = (ax.n - 1) as u32;
        if !ax.stencil.is_numpy() {
            // `wide_derivative`: the rows of a uniform axis in the uniform
            // block, those of an axis with coordinates read from the table.
            if c.non_uniform {
                slot.coef_interior = c.interior.start as u32;
                reads_table = true;
                non_uniform_axes |= 1 << a;
            } else {
                params.set_rows(real, a, coefs.part(c.interior));
            }
            if ax.stencil.is_periodic() {
                debug_assert!(
                    lane_origin == 0 && n == ax.n,
                    "a periodic lane lies in one slab"
                );
                periodic_axes |= 1 << a;
            }
            continue;
        }
        let (first, last) = (
            EndTap::of(ax.stencil.first()),
            EndTap::of(ax.stencil.last()),
        );
        slot.first_tap = first.start as u32;
        slot.last_tap = last.start as u32;
        let two_h = match ax.stencil.interior() {
            Interior::Uniform { two_h } => *two_h,
            Interior::NonUniform { .. } => {
                non_uniform_axes |= 1 << a;
                reads_table = true;
                slot.coef_interior = c.interior.start as u32;
                0.0
            }
            Interior::Central { .. } | Interior::Table { .. } => {
                unreachable!("numpy's stencils are of accuracy 2")
            }
        };
        params.set_constants(real, a, first.constants, two_h, last.constants);
    }
    let mut spec = kind.spec(limits, Kernel::Fused, false, kind.edge_order);
    spec.axes = axes.len() as u32;
    spec.non_uniform_axes = non_uniform_axes;
    spec.accuracy = kind.accuracy;
    spec.periodic_axes = periodic_axes;
    // Only non-uniform axes and the forms beyond numpy's read the table;
    // the others bind one element of it.
    let coef_window = if !reads_table {
        (0, 1)
    } else {
        (0, coefs.len())
    };
    Job {
        spec,
        params: Params::Fused(Box::new(params)),
        coef_window,
        output: axes.start,
    }
}

/// The slab plan of `plan` for `kind`: the largest of the input and output
/// element sizes bounds a slab.
///
/// `margin` bytes of every binding are kept free: a slab of a
/// device-resident array is bound from an offset rounded down to the
/// storage offset alignment, so its window is up to that much longer.
pub(super) fn slab_plan(
    limits: &JobLimits,
    plan: &Plan,
    kind: &RunKind,
    margin: u64,
) -> Result<SlabPlan> {
    let elem = kind.input.size().max(kind.stored.size());
    let planes = plan.shape[0];
    let axis0 = plan.axes.iter().find(|ax| ax.axis == 0);
    // The farthest a point's tap reads along axis 0: the halo of a slab.
    let halo = axis0.map_or(0, |ax| ax.stencil.reach());
    // A packed input slab rounds up to whole words, which stays within the
    // (word-multiple) binding limit since outputs are at least as wide.
    let margin_elements = margin.div_ceil(elem);
    let budget = limits
        .gpu
        .max_slab_elements(elem)
        .saturating_sub(margin_elements)
        .max(1);
    let slabs = SlabPlan::new(planes, plan.len() / planes, halo, budget, elem)?;
    if slabs.slabs.len() > 1 && axis0.is_some_and(|ax| ax.stencil.is_periodic()) {
        // The ends of a periodic axis 0 read planes of the far end, which
        // no slab of consecutive planes holds.
        return Err(Error::GpuUnsupported {
            what: format!(
                "a periodic axis 0 over an array of shape {:?} too large for one storage binding ({} elements of {} bytes at most)",
                plan.shape, budget, elem
            ),
            instead: "use the CPU backend (slabs split axis 0, so only a periodic axis 0 that fits one slab runs on the GPU)".into(),
        });
    }
    Ok(slabs)
}

#[cfg(test)]
mod tests;
