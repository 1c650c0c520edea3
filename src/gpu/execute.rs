//! Running a [`Plan`] on a [`GpuContext`]: coefficients uploaded once, the
//! array streamed through in slabs (the upload of slab k+1 and the readback
//! of slab k−1 overlapping the computation of slab k), every requested axis
//! computed from each slab's single upload, by the per-axis kernels or by the
//! fused kernel, results gathered per output.

use std::collections::HashMap;

use super::context::{AxisKernels, GpuContext};
use super::kernels::{
    DispatchParams, FusedParams, Grid, InputKind, Kernel, Specialization, Stored, FUSED_MAX_AXES,
    FUSED_MAX_OUTPUTS,
};
use super::slab::{Slab, SlabPlan};
use super::transfer::{self, SlabBuffers, Workspace};
use crate::dispatch::Request;
use crate::element::{Element, Input};
use crate::error::{Error, Result};
use crate::plan::{AxisPlan, Plan};
use crate::stencil::{Interior, Tap};

/// A run of coefficients in the coefficient buffer, starting at an offset a
/// storage binding may start at.
#[derive(Debug, Clone, Copy)]
pub(super) struct Part {
    start: usize,
    len: usize,
}

/// Where one axis's coefficients lie in the coefficient buffer.
#[derive(Debug, Clone, Copy)]
pub(super) struct AxisCoefs {
    /// `2h` (uniform) or `[a, b, c]` per interior point (non-uniform).
    interior: Part,
    non_uniform: bool,
    first: Part,
    last: Part,
}

/// Every requested axis's coefficients, from [`crate::stencil::Stencil`],
/// laid out for one upload (rounded once to the compute type by
/// [`CoefTable::bytes`]).
pub(super) struct CoefTable {
    values: Vec<f64>,
    pub(super) axes: Vec<AxisCoefs>,
}

/// The real-valued parameters of a boundary tap, in the order
/// `shaders/boundary.wgsl` reads them (the fused kernel takes the same
/// values from its uniform block, [`tap_constants`]).
fn tap_coefficients(tap: Tap) -> Vec<f64> {
    match tap {
        Tap::Difference { denom, .. } => vec![denom],
        Tap::Weighted { w, .. } => w.to_vec(),
    }
}

/// The global index of the first sample of an end's tap; a Difference reads
/// it and the next one.
fn tap_start(tap: Tap) -> usize {
    match tap {
        Tap::Difference { lo, hi, .. } => {
            debug_assert_eq!(hi, lo + 1, "numpy's first-order ends use adjacent samples");
            lo
        }
        Tap::Weighted { first, .. } => first,
    }
}

impl CoefTable {
    /// The table of `plan`, each part starting at a multiple of `align`
    /// elements.
    pub(super) fn new(plan: &Plan, align: usize) -> CoefTable {
        let mut values: Vec<f64> = Vec::new();
        let mut push = |coefs: &mut dyn Iterator<Item = f64>| {
            values.resize(values.len().next_multiple_of(align), 0.0);
            let start = values.len();
            values.extend(coefs);
            Part {
                start,
                len: values.len() - start,
            }
        };
        let axes = plan
            .axes
            .iter()
            .map(|ax| {
                let (interior, non_uniform) = match ax.stencil.interior() {
                    Interior::Uniform { two_h } => (push(&mut std::iter::once(*two_h)), false),
                    Interior::NonUniform { weights } => {
                        (push(&mut weights.iter().flatten().copied()), true)
                    }
                };
                let first = push(&mut tap_coefficients(ax.stencil.first()).into_iter());
                let last = push(&mut tap_coefficients(ax.stencil.last()).into_iter());
                AxisCoefs {
                    interior,
                    non_uniform,
                    first,
                    last,
                }
            })
            .collect();
        CoefTable { values, axes }
    }

    /// The length of `CoefTable::new(plan, 1)`, without computing it.
    pub(super) fn unpadded_len(plan: &Plan) -> usize {
        plan.axes
            .iter()
            .map(|ax| {
                let interior = match ax.stencil.interior() {
                    Interior::Uniform { .. } => 1,
                    Interior::NonUniform { weights } => 3 * weights.len(),
                };
                interior
                    + tap_coefficients(ax.stencil.first()).len()
                    + tap_coefficients(ax.stencil.last()).len()
            })
            .sum()
    }

    /// Number of coefficients (padding included).
    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    /// The coefficients in the compute type of `stored`, rounded once from
    /// f64, as bytes.
    pub(super) fn bytes(&self, stored: Stored) -> Vec<u8> {
        match stored.real() {
            super::kernels::Real::F32 => {
                let v: Vec<f32> = self.values.iter().map(|&c| c as f32).collect();
                bytemuck::cast_slice(&v).to_vec()
            }
            super::kernels::Real::F64 => bytemuck::cast_slice(&self.values).to_vec(),
        }
    }
}

/// The alignment, in elements, of a storage binding's offset.
pub(super) fn coefficient_alignment(ctx: &GpuContext, stored: Stored) -> usize {
    (ctx.limits.storage_offset_alignment as usize / stored.real().size() as usize).max(1)
}

/// The parameters of one dispatch.
#[derive(Debug, Clone)]
pub(super) enum Params {
    /// A per-axis kernel's.
    Axis(DispatchParams),
    /// The fused kernel's (boxed: 928 bytes).
    Fused(Box<FusedParams>),
}

impl Params {
    fn bytes(&self) -> &[u8] {
        match self {
            Params::Axis(p) => bytemuck::bytes_of(p),
            Params::Fused(p) => bytemuck::bytes_of(p.as_ref()),
        }
    }

    fn threads(&self) -> u64 {
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
}

impl RunKind {
    /// The kind of a run of `plan` from `I` input into `stored` results.
    pub(super) fn new(
        ctx: &GpuContext,
        plan: &Plan,
        input: InputKind,
        stored: Stored,
        request: Request,
    ) -> RunKind {
        RunKind {
            input,
            stored,
            path: choose_path(ctx, plan, request, stored),
            edge_order: plan.axes[0].stencil.edge_order().get() as u32,
        }
    }

    /// The coefficient table of `plan` for this run: each part at a storage
    /// offset alignment for the per-axis kernels, which bind parts one at
    /// a time; unpadded for the fused kernel, which binds it whole.
    pub(super) fn coefs(&self, ctx: &GpuContext, plan: &Plan) -> CoefTable {
        match self.path {
            Path::PerAxis => CoefTable::new(plan, coefficient_alignment(ctx, self.stored)),
            Path::Fused | Path::FusedMagnitude => CoefTable::new(plan, 1),
        }
    }

    fn spec(
        &self,
        ctx: &GpuContext,
        kernel: Kernel,
        non_uniform: bool,
        edge_order: u32,
    ) -> Specialization {
        Specialization {
            kernel,
            input: self.input,
            stored: self.stored,
            workgroup_size: ctx.limits.workgroup_size,
            non_uniform,
            edge_order,
            magnitude: self.path == Path::FusedMagnitude,
            axes: 0,
            non_uniform_axes: 0,
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
pub(super) fn choose_path(ctx: &GpuContext, plan: &Plan, request: Request, stored: Stored) -> Path {
    // The fused kernel binds the whole table, unpadded (see `RunKind::coefs`).
    let fused_table = CoefTable::unpadded_len(plan) as u64 * stored.real().size();
    let fits = fused_table <= ctx.limits.max_storage_buffer_binding_size
        && ctx.device.limits().max_storage_buffers_per_shader_stage >= 2 + FUSED_MAX_OUTPUTS as u32;
    match request {
        Request::Magnitude if fits && plan.axes.len() <= FUSED_MAX_AXES => Path::FusedMagnitude,
        Request::Magnitude => Path::PerAxis,
        Request::Components => match ctx.axis_kernels {
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
    ctx: &GpuContext,
    kind: &RunKind,
    ax: &AxisPlan,
    coefs: &AxisCoefs,
    view: &AxisView,
    output: usize,
) -> Result<Vec<Job>> {
    let real_size = kind.stored.real().size();
    let align = coefficient_alignment(ctx, kind.stored);
    let mut jobs = Vec::new();
    let interior = view.computed.start.max(1)..view.computed.end.min(ax.n - 1);
    if !interior.is_empty() {
        let interior_spec = kind.spec(ctx, Kernel::Interior, coefs.non_uniform, 1);
        if coefs.non_uniform {
            // Each dispatch binds a window of [a, b, c] rows that fits one binding.
            let binding = (ctx.limits.max_storage_buffer_binding_size / real_size) as usize;
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
        let (edge_order, tap_first, tap_second) = match tap {
            Tap::Difference { lo, hi, .. } => (1, lo, hi),
            Tap::Weighted { first, .. } => (2, first, first),
        };
        let mut params = view.params(i, 1);
        params.tap_first = (tap_first - view.lane_origin) as u32;
        params.tap_second = (tap_second - view.lane_origin) as u32;
        jobs.push(Job {
            spec: kind.spec(ctx, Kernel::Boundary, false, edge_order),
            params: Params::Axis(params),
            coef_window: (part.start, part.len),
            output,
        });
    }
    Ok(jobs)
}

/// The dispatches that compute every output of `kind` on one slab.
pub(super) fn slab_jobs(
    ctx: &GpuContext,
    kind: &RunKind,
    plan: &Plan,
    coefs: &CoefTable,
    slab: &Slab,
    plane_len: usize,
) -> Result<Vec<Job>> {
    match kind.path {
        Path::PerAxis => {
            let mut jobs = Vec::new();
            for (k, (ax, ax_coefs)) in plan.axes.iter().zip(&coefs.axes).enumerate() {
                let view = AxisView::new(ax, &plan.shape, slab, plane_len);
                jobs.extend(axis_jobs(ctx, kind, ax, ax_coefs, &view, k)?);
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
                    fused_job((ctx, kind, plan, coefs), slab, plane_len, axes)
                })
                .collect())
        }
    }
}

/// The fused dispatch computing `plan.axes[axes]` on `slab` into outputs
/// `axes.start..` (or their magnitude into output 0).
fn fused_job(
    (ctx, kind, plan, coefs): (&GpuContext, &RunKind, &Plan, &CoefTable),
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
        slot.first_tap = tap_start(ax.stencil.first()) as u32;
        slot.last_tap = tap_start(ax.stencil.last()) as u32;
        let two_h = match ax.stencil.interior() {
            Interior::Uniform { two_h } => *two_h,
            Interior::NonUniform { .. } => {
                non_uniform_axes |= 1 << a;
                slot.coef_interior = c.interior.start as u32;
                0.0
            }
        };
        params.set_constants(
            real,
            a,
            tap_constants(ax.stencil.first()),
            two_h,
            tap_constants(ax.stencil.last()),
        );
    }
    let mut spec = kind.spec(ctx, Kernel::Fused, false, kind.edge_order);
    spec.axes = axes.len() as u32;
    spec.non_uniform_axes = non_uniform_axes;
    // Only non-uniform axes read the table; the others bind one element of it.
    let coef_window = if non_uniform_axes == 0 {
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

/// A boundary tap's real parameters as the fused kernel takes them:
/// `[d, 0, 0]` for a difference, the three weights otherwise.
fn tap_constants(tap: Tap) -> [f64; 3] {
    match tap {
        Tap::Difference { denom, .. } => [denom, 0.0, 0.0],
        Tap::Weighted { w, .. } => w,
    }
}

/// Runs `plan` on `data` (C order) on `ctx`, returning one vector per
/// requested axis, or the magnitude alone.
///
/// f16 results on a device without `SHADER_F16` are computed and read back
/// in f32 and rounded on the host; f64 input on a device without
/// `SHADER_F64` (with f32 or f16 results) is rounded to f32 on the host
/// first. Every other combination is converted in the shader.
pub(crate) fn run<O: Element, I: Input>(
    ctx: &GpuContext,
    plan: &Plan,
    data: &[I],
    request: Request,
) -> Result<Vec<Vec<O>>> {
    ctx.check_health()?;
    let stored = Stored::of::<O>();
    if stored == Stored::F16 && !ctx.supports_f16() {
        let wide = run::<f32, I>(ctx, plan, data, request)?;
        return Ok(wide
            .into_iter()
            .map(|v| v.into_iter().map(|x| O::from_f64(f64::from(x))).collect())
            .collect());
    }
    if stored == Stored::F64 && !ctx.supports_f64() {
        return Err(Error::NoF64 {
            adapter: ctx.adapter_info().name.clone(),
        });
    }
    if InputKind::of::<I>() == InputKind::F64 && !ctx.supports_f64() {
        let narrow: Vec<f32> = data.iter().map(|x| x.to_f64() as f32).collect();
        return run::<O, f32>(ctx, plan, &narrow, request);
    }
    if plan.axes.is_empty() {
        return Ok(match request {
            Request::Components => Vec::new(),
            Request::Magnitude => vec![vec![O::from_f64(0.0); plan.len()]],
        });
    }
    if plan.is_empty() {
        return Ok(match request {
            Request::Components => vec![Vec::new(); plan.axes.len()],
            Request::Magnitude => vec![Vec::new()],
        });
    }
    let kind = RunKind::new(ctx, plan, InputKind::of::<I>(), stored, request);
    let coefs = kind.coefs(ctx, plan);
    let components = stream(ctx, plan, data, &coefs, &kind)?;
    Ok(match (request, kind.path) {
        (Request::Magnitude, Path::PerAxis) => vec![magnitude_of(&components, plan.len())],
        _ => components,
    })
}

/// `sqrt(Σ c²)` per element, summed in f64 in the order of the components:
/// the magnitude where the fused kernel does not apply.
fn magnitude_of<O: Element>(components: &[Vec<O>], len: usize) -> Vec<O> {
    (0..len)
        .map(|k| {
            let sum: f64 = components.iter().map(|c| c[k].to_f64().powi(2)).sum();
            O::from_f64(sum.sqrt())
        })
        .collect()
}

/// The slab plan of `plan` for `kind`: the largest of the input and output
/// element sizes bounds a slab.
///
/// `margin` bytes of every binding are kept free: a slab of a
/// device-resident array is bound from an offset rounded down to the
/// storage offset alignment, so its window is up to that much longer.
pub(super) fn slab_plan(
    ctx: &GpuContext,
    plan: &Plan,
    kind: &RunKind,
    margin: u64,
) -> Result<SlabPlan> {
    let elem = kind.input.size().max(kind.stored.size());
    let planes = plan.shape[0];
    let halo = plan
        .axes
        .iter()
        .find(|ax| ax.axis == 0)
        .map_or(0, |ax| ax.stencil.edge_order().get());
    // A packed input slab rounds up to whole words, which stays within the
    // (word-multiple) binding limit since outputs are at least as wide.
    let margin_elements = margin.div_ceil(elem);
    let budget = ctx
        .limits
        .max_slab_elements(elem)
        .saturating_sub(margin_elements)
        .max(1);
    SlabPlan::new(planes, plan.len() / planes, halo, budget, elem)
}

/// Streams `data` through the device slab by slab, two slabs in flight.
fn stream<O: Element, I: Input>(
    ctx: &GpuContext,
    plan: &Plan,
    data: &[I],
    coefs: &CoefTable,
    kind: &RunKind,
) -> Result<Vec<Vec<O>>> {
    let slabs = slab_plan(ctx, plan, kind, 0)?;
    let coef_bytes = coefs.len() as u64 * kind.stored.real().size();
    if coef_bytes > ctx.limits.max_buffer_size {
        return Err(Error::ExceedsGpuLimits {
            what: "the coefficients of the requested axes".into(),
            needed: coef_bytes,
            limit: ctx.limits.max_buffer_size,
        });
    }
    let mut outputs = vec![vec![O::from_f64(f64::NAN); plan.len()]; kind.outputs(plan)];
    let mut ws = ctx.take_workspace();
    ctx.scoped("computing a gradient", || {
        stream_slabs(ctx, plan, data, &slabs, coefs, kind, &mut ws, &mut outputs)
    })?;
    ctx.return_workspace(ws);
    Ok(outputs)
}

/// A slab submitted and not yet read back.
struct InFlight {
    set: usize,
    elements: std::ops::Range<usize>,
    submission: wgpu::SubmissionIndex,
}

#[allow(clippy::too_many_arguments)]
fn stream_slabs<O: Element, I: Input>(
    ctx: &GpuContext,
    plan: &Plan,
    data: &[I],
    slabs: &SlabPlan,
    coefs: &CoefTable,
    kind: &RunKind,
    ws: &mut Workspace,
    outputs: &mut [Vec<O>],
) -> Result<()> {
    use wgpu::BufferUsages as U;
    let plane_len = slabs.plane_len;
    let coef_buffer = transfer::ensure(
        ctx,
        &mut ws.coefs,
        "ndgrad coefficients",
        coef_bytes(coefs, kind),
        U::STORAGE | U::COPY_DST,
    );
    transfer::upload(ctx, coef_buffer, &coefs.bytes(kind.stored));
    let coef_buffer = coef_buffer.clone();
    let mut pipelines = HashMap::new();
    let mut in_flight: Option<InFlight> = None;
    for (k, slab) in slabs.slabs.iter().enumerate() {
        let set_index = k % 2;
        let set = &mut ws.sets[set_index];
        let loaded = &data[slab.load.start * plane_len..slab.load.end * plane_len];
        let input = transfer::upload_input(ctx, &mut set.input, loaded);
        let computed = slab.compute.start * plane_len..slab.compute.end * plane_len;
        let out_bytes = computed.len() as u64 * kind.stored.size();
        let jobs = slab_jobs(ctx, kind, plan, coefs, slab, plane_len)?;
        let out_buffers = set.ensure_outputs(ctx, outputs.len(), out_bytes, kind.stored);
        let params = upload_params(ctx, &mut set.params, &jobs);
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("ndgrad gradient"),
            });
        let bindings = Bindings {
            params: &params,
            input: Window::whole(&input, kind.input.buffer_bytes(loaded.len() as u64)),
            coefs: &coef_buffer,
            outputs: out_buffers
                .iter()
                .map(|b| Window::whole(b, out_bytes))
                .collect(),
            real_size: kind.stored.real().size(),
        };
        encode(ctx, &mut encoder, &jobs, &mut pipelines, &bindings, None)?;
        set.copy_to_staging(&mut encoder, out_bytes);
        let submission = ctx.queue.submit([encoder.finish()]);
        if let Some(done) = in_flight.take() {
            read_slab(ctx, &ws.sets[done.set], done, outputs)?;
        }
        in_flight = Some(InFlight {
            set: set_index,
            elements: computed,
            submission,
        });
    }
    if let Some(done) = in_flight.take() {
        read_slab(ctx, &ws.sets[done.set], done, outputs)?;
    }
    Ok(())
}

fn coef_bytes(coefs: &CoefTable, kind: &RunKind) -> u64 {
    coefs.len() as u64 * kind.stored.real().size()
}

/// Reads the outputs of a finished slab into the host outputs.
fn read_slab<O: Element>(
    ctx: &GpuContext,
    set: &SlabBuffers,
    done: InFlight,
    outputs: &mut [Vec<O>],
) -> Result<()> {
    let mut dsts: Vec<&mut [O]> = outputs
        .iter_mut()
        .map(|o| &mut o[done.elements.clone()])
        .collect();
    transfer::read_back_many(ctx, &set.staging, &mut dsts, done.submission)
}

/// The size of one parameter slot: the largest parameter struct, aligned as
/// a uniform binding offset must be.
fn params_slot(ctx: &GpuContext) -> u64 {
    (std::mem::size_of::<FusedParams>().max(std::mem::size_of::<DispatchParams>()) as u64)
        .next_multiple_of(u64::from(ctx.limits.uniform_offset_alignment))
}

/// The parameters of `jobs`, one aligned slot each.
pub(super) fn params_bytes(ctx: &GpuContext, jobs: &[Job]) -> Vec<u8> {
    let slot = params_slot(ctx) as usize;
    let mut bytes = vec![0u8; slot * jobs.len()];
    for (k, job) in jobs.iter().enumerate() {
        let p = job.params.bytes();
        bytes[k * slot..k * slot + p.len()].copy_from_slice(p);
    }
    bytes
}

/// Writes the parameters of `jobs` into `slot`'s buffer (grown if needed).
pub(super) fn upload_params(
    ctx: &GpuContext,
    slot: &mut Option<wgpu::Buffer>,
    jobs: &[Job],
) -> wgpu::Buffer {
    let bytes = params_bytes(ctx, jobs);
    let buffer = transfer::ensure(
        ctx,
        slot,
        "ndgrad dispatch parameters",
        bytes.len() as u64,
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    );
    transfer::upload(ctx, buffer, &bytes);
    buffer.clone()
}

/// A bound range of a buffer: `size` bytes from `offset` (a multiple of the
/// device's storage offset alignment).
#[derive(Debug, Clone, Copy)]
pub(super) struct Window<'a> {
    pub(super) buffer: &'a wgpu::Buffer,
    pub(super) offset: u64,
    pub(super) size: u64,
}

impl<'a> Window<'a> {
    /// The first `size` bytes of `buffer`.
    pub(super) fn whole(buffer: &'a wgpu::Buffer, size: u64) -> Window<'a> {
        Window {
            buffer,
            offset: 0,
            size,
        }
    }
}

/// The buffers the dispatches of one submission bind.
pub(super) struct Bindings<'a> {
    /// The parameters, one slot per job ([`params_bytes`]).
    pub(super) params: &'a wgpu::Buffer,
    /// The input and its bytes.
    pub(super) input: Window<'a>,
    /// The whole coefficient table.
    pub(super) coefs: &'a wgpu::Buffer,
    /// Each output and its bytes.
    pub(super) outputs: Vec<Window<'a>>,
    /// Bytes per coefficient.
    pub(super) real_size: u64,
}

/// Records `jobs` as one compute pass over `bindings`. `timestamps` are
/// written at the pass's beginning and end (for timing).
pub(super) fn encode(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    jobs: &[Job],
    pipelines: &mut HashMap<Specialization, wgpu::ComputePipeline>,
    bindings: &Bindings<'_>,
    timestamps: Option<wgpu::ComputePassTimestampWrites<'_>>,
) -> Result<()> {
    for job in jobs {
        if let std::collections::hash_map::Entry::Vacant(slot) = pipelines.entry(job.spec) {
            slot.insert(ctx.pipeline(job.spec)?);
        }
    }
    let slot = params_slot(ctx);
    let groups = jobs
        .iter()
        .enumerate()
        .map(|(k, job)| bind_group(ctx, job, k as u64 * slot, bindings))
        .collect::<Vec<_>>();
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some("ndgrad"),
        timestamp_writes: timestamps,
    });
    for (job, group) in jobs.iter().zip(&groups) {
        let grid = grid(ctx, job.params.threads())?;
        pass.set_pipeline(&pipelines[&job.spec]);
        pass.set_bind_group(0, group, &[]);
        pass.dispatch_workgroups(grid.x, grid.y, grid.z);
    }
    Ok(())
}

/// The workgroup grid for `threads` threads under the context's limits.
pub(crate) fn grid(ctx: &GpuContext, threads: u64) -> Result<Grid> {
    let l = ctx.limits;
    Grid::fold(threads, l.workgroup_size, l.max_workgroups_per_dimension).ok_or_else(|| {
        Error::ExceedsGpuLimits {
            what: format!("a dispatch of {threads} threads"),
            needed: threads,
            limit: u64::from(l.max_workgroups_per_dimension).pow(3) * u64::from(l.workgroup_size),
        }
    })
}

/// The bind group of one job, its parameters at `params_offset`.
fn bind_group(
    ctx: &GpuContext,
    job: &Job,
    params_offset: u64,
    b: &Bindings<'_>,
) -> wgpu::BindGroup {
    let binding = |buffer, offset, size: u64| {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset,
            size: wgpu::BufferSize::new(size.next_multiple_of(4)),
        })
    };
    let params_size = job.params.bytes().len() as u64;
    let mut entries = vec![
        wgpu::BindGroupEntry {
            binding: 0,
            resource: binding(b.params, params_offset, params_size),
        },
        wgpu::BindGroupEntry {
            binding: 1,
            resource: binding(b.input.buffer, b.input.offset, b.input.size),
        },
        wgpu::BindGroupEntry {
            binding: 2,
            resource: binding(
                b.coefs,
                job.coef_window.0 as u64 * b.real_size,
                job.coef_window.1.max(1) as u64 * b.real_size,
            ),
        },
    ];
    let layout = job.spec.kernel.layout();
    match layout {
        super::kernels::Layout::PerAxis => {
            let out = b.outputs[job.output];
            entries.push(wgpu::BindGroupEntry {
                binding: 3,
                resource: binding(out.buffer, out.offset, out.size),
            });
        }
        super::kernels::Layout::Fused => {
            for k in 0..FUSED_MAX_OUTPUTS {
                let resource = match b.outputs.get(job.output + k) {
                    Some(out) => binding(out.buffer, out.offset, out.size),
                    None => binding(&ctx.spares[k], 0, ctx.spares[k].size()),
                };
                entries.push(wgpu::BindGroupEntry {
                    binding: 3 + k as u32,
                    resource,
                });
            }
        }
    }
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("ndgrad dispatch"),
        layout: ctx.bind_group_layout(layout),
        entries: &entries,
    })
}

#[cfg(test)]
mod tests {
    use super::CoefTable;
    use crate::options::{AxisSpacing, EdgeOrder, GradientOptions};
    use crate::plan::Plan;

    #[test]
    fn the_unpadded_length_is_the_length_of_the_unpadded_table() {
        let coords =
            |n: usize| AxisSpacing::from((0..n).map(|i| (i * i) as f64).collect::<Vec<_>>());
        for order in [EdgeOrder::First, EdgeOrder::Second] {
            for opts in [
                GradientOptions::new(),
                GradientOptions::new().per_axis_spacing([
                    coords(5),
                    AxisSpacing::Scalar(2.0),
                    coords(7),
                ]),
                GradientOptions::new().per_axis_spacing([
                    coords(5),
                    coords(4),
                    AxisSpacing::Scalar(0.5),
                ]),
            ] {
                let plan = Plan::new(&[5, 4, 7], &opts.edge_order(order)).unwrap();
                assert_eq!(
                    CoefTable::unpadded_len(&plan),
                    CoefTable::new(&plan, 1).len()
                );
                assert!(CoefTable::new(&plan, 16).len() >= CoefTable::new(&plan, 1).len());
            }
        }
    }
}
