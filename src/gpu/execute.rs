//! Running a [`Plan`] on a [`GpuContext`]: coefficients uploaded once, the
//! array streamed through in slabs, every requested axis computed from each
//! slab's single upload, results gathered per axis.

use std::collections::HashMap;

use super::context::GpuContext;
use super::kernels::{DispatchParams, Grid, Kernel, Real, Specialization};
use super::slab::{Slab, SlabPlan};
use super::transfer::{self, Workspace};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::plan::{AxisPlan, Plan};
use crate::stencil::{Interior, Tap};

/// A run of coefficients in the coefficient buffer, starting at an offset a
/// storage binding may start at.
#[derive(Debug, Clone, Copy)]
struct Part {
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
/// rounded once to the compute type, laid out for one upload.
pub(super) struct CoefTable<T> {
    pub(super) values: Vec<T>,
    pub(super) axes: Vec<AxisCoefs>,
}

/// The real-valued parameters of a boundary tap, in the order
/// `shaders/boundary.wgsl` reads them.
fn tap_coefficients(tap: Tap) -> Vec<f64> {
    match tap {
        Tap::Difference { denom, .. } => vec![denom],
        Tap::Weighted { w, .. } => w.to_vec(),
    }
}

impl<T: Element> CoefTable<T> {
    pub(super) fn new(plan: &Plan, align: usize) -> CoefTable<T> {
        let mut values: Vec<T> = Vec::new();
        let mut push = |coefs: &mut dyn Iterator<Item = f64>| {
            values.resize(values.len().next_multiple_of(align), T::from_f64(0.0));
            let start = values.len();
            values.extend(coefs.map(T::from_f64));
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
}

/// The alignment, in elements, of a storage binding's offset.
fn coefficient_alignment(ctx: &GpuContext, real: Real) -> usize {
    (ctx.limits.storage_offset_alignment as usize / real.size() as usize).max(1)
}

/// One dispatch: which pipeline, its parameters, and its window of the
/// coefficient buffer (in elements).
pub(super) struct Job {
    pub(super) spec: Specialization,
    pub(super) params: DispatchParams,
    pub(super) coef_window: (usize, usize),
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

/// The dispatches that compute axis `ax` on one slab.
pub(super) fn jobs<T: Element>(
    ctx: &GpuContext,
    ax: &AxisPlan,
    coefs: &AxisCoefs,
    view: &AxisView,
) -> Result<Vec<Job>> {
    let real = Real::of::<T>();
    let align = coefficient_alignment(ctx, real);
    let spec = |kernel, non_uniform, edge_order| Specialization {
        kernel,
        real,
        workgroup_size: ctx.limits.workgroup_size,
        non_uniform,
        edge_order,
    };
    let mut jobs = Vec::new();
    let interior = view.computed.start.max(1)..view.computed.end.min(ax.n - 1);
    if !interior.is_empty() {
        let interior_spec = spec(Kernel::Interior, coefs.non_uniform, 1);
        if coefs.non_uniform {
            // Each dispatch binds a window of [a, b, c] rows that fits one binding.
            let binding = (ctx.limits.max_storage_buffer_binding_size / real.size()) as usize;
            let rows_per_window = binding.saturating_sub(align) / 3;
            if rows_per_window == 0 {
                return Err(Error::ExceedsGpuLimits {
                    what: "one row of non-uniform coefficients".into(),
                    needed: (align as u64 + 3) * real.size(),
                    limit: binding as u64 * real.size(),
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
                    params,
                    coef_window: (window_start, start - window_start + 3 * count),
                });
                i += count;
            }
        } else {
            jobs.push(Job {
                spec: interior_spec,
                params: view.params(interior.start, interior.len()),
                coef_window: (coefs.interior.start, coefs.interior.len),
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
            spec: spec(Kernel::Boundary, false, edge_order),
            params,
            coef_window: (part.start, part.len),
        });
    }
    Ok(jobs)
}

/// Computes every axis of `plan` on `data` (C order) on `ctx`.
pub(crate) fn gradient<T: Element>(
    ctx: &GpuContext,
    plan: &Plan,
    data: &[T],
) -> Result<Vec<Vec<T>>> {
    if plan.axes.is_empty() {
        return Ok(Vec::new());
    }
    if plan.is_empty() {
        return Ok(vec![Vec::new(); plan.axes.len()]);
    }
    let real = Real::of::<T>();
    let elem = real.size();
    let limits = ctx.limits;
    let planes = plan.shape[0];
    let halo = plan
        .axes
        .iter()
        .find(|ax| ax.axis == 0)
        .map_or(0, |ax| ax.stencil.edge_order().get());
    let slabs = SlabPlan::new(
        planes,
        plan.len() / planes,
        halo,
        limits.max_slab_elements(elem),
        elem,
    )?;
    let coefs = CoefTable::<T>::new(plan, coefficient_alignment(ctx, real));
    let coef_bytes = coefs.values.len() as u64 * elem;
    if coef_bytes > limits.max_buffer_size {
        return Err(Error::ExceedsGpuLimits {
            what: "the coefficients of the requested axes".into(),
            needed: coef_bytes,
            limit: limits.max_buffer_size,
        });
    }

    let mut outputs = vec![vec![T::from_f64(f64::NAN); plan.len()]; plan.axes.len()];
    let mut ws = ctx.take_workspace();
    ctx.scoped("computing a gradient", || {
        run_slabs(ctx, plan, data, &slabs, &coefs, &mut ws, &mut outputs)
    })?;
    ctx.return_workspace(ws);
    Ok(outputs)
}

fn run_slabs<T: Element>(
    ctx: &GpuContext,
    plan: &Plan,
    data: &[T],
    slabs: &SlabPlan,
    coefs: &CoefTable<T>,
    ws: &mut Workspace,
    outputs: &mut [Vec<T>],
) -> Result<()> {
    use wgpu::BufferUsages as U;
    let elem = Real::of::<T>().size();
    let plane_len = slabs.plane_len;
    upload_coefficients(ctx, ws, coefs);
    let mut pipelines = HashMap::new();
    for slab in &slabs.slabs {
        let loaded = &data[slab.load.start * plane_len..slab.load.end * plane_len];
        upload_input(ctx, ws, loaded);
        let computed = slab.compute.start * plane_len..slab.compute.end * plane_len;
        let out_bytes = computed.len() as u64 * elem;
        for ((ax, ax_coefs), output) in plan.axes.iter().zip(&coefs.axes).zip(outputs.iter_mut()) {
            let view = AxisView::new(ax, &plan.shape, slab, plane_len);
            let jobs = jobs::<T>(ctx, ax, ax_coefs, &view)?;
            let out_buffer = transfer::ensure(
                ctx,
                &mut ws.output,
                "ndgrad output",
                out_bytes,
                U::STORAGE | U::COPY_SRC | U::COPY_DST,
            );
            if ctx.poison {
                transfer::poison(ctx, out_buffer, computed.len(), elem);
            }
            transfer::ensure(
                ctx,
                &mut ws.staging,
                "ndgrad staging",
                out_bytes,
                U::MAP_READ | U::COPY_DST,
            );
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("ndgrad gradient"),
                });
            encode(
                ctx,
                &mut encoder,
                ws,
                &jobs,
                &mut pipelines,
                loaded.len(),
                computed.len(),
                elem,
                None,
            )?;
            let (out_buffer, staging) = (ws.output.as_ref(), ws.staging.as_ref());
            let (out_buffer, staging) = (
                out_buffer.expect("created above"),
                staging.expect("created above"),
            );
            encoder.copy_buffer_to_buffer(out_buffer, 0, staging, 0, out_bytes);
            ctx.queue.submit([encoder.finish()]);
            transfer::read_back(ctx, staging, &mut output[computed.clone()])?;
        }
    }
    Ok(())
}

/// Uploads the coefficient table into the workspace.
pub(super) fn upload_coefficients<T: Element>(
    ctx: &GpuContext,
    ws: &mut Workspace,
    coefs: &CoefTable<T>,
) {
    let buffer = transfer::ensure(
        ctx,
        &mut ws.coefs,
        "ndgrad coefficients",
        std::mem::size_of_val(coefs.values.as_slice()) as u64,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    );
    transfer::upload(ctx, buffer, bytemuck::cast_slice(&coefs.values));
}

/// Uploads one slab of input into the workspace.
pub(super) fn upload_input<T: Element>(ctx: &GpuContext, ws: &mut Workspace, loaded: &[T]) {
    let buffer = transfer::ensure(
        ctx,
        &mut ws.input,
        "ndgrad input slab",
        std::mem::size_of_val(loaded) as u64,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    );
    transfer::upload(ctx, buffer, bytemuck::cast_slice(loaded));
}

/// Records `jobs` as one compute pass: their parameters are uploaded into
/// the workspace's parameter buffer (one aligned slot each), the input holds
/// `input_len` elements and the output `output_len`, both already in `ws`.
/// `timestamps` are written at the pass's beginning and end (for timing).
#[allow(clippy::too_many_arguments)]
pub(super) fn encode(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    ws: &mut Workspace,
    jobs: &[Job],
    pipelines: &mut HashMap<Specialization, wgpu::ComputePipeline>,
    input_len: usize,
    output_len: usize,
    elem: u64,
    timestamps: Option<wgpu::ComputePassTimestampWrites<'_>>,
) -> Result<()> {
    for job in jobs {
        if let std::collections::hash_map::Entry::Vacant(slot) = pipelines.entry(job.spec) {
            slot.insert(ctx.pipeline(job.spec)?);
        }
    }
    let slot = (std::mem::size_of::<DispatchParams>() as u64)
        .next_multiple_of(u64::from(ctx.limits.uniform_offset_alignment));
    let mut params_bytes = vec![0u8; (slot * jobs.len() as u64) as usize];
    for (k, job) in jobs.iter().enumerate() {
        let at = k * slot as usize;
        params_bytes[at..at + std::mem::size_of::<DispatchParams>()]
            .copy_from_slice(bytemuck::bytes_of(&job.params));
    }
    let params_buffer = transfer::ensure(
        ctx,
        &mut ws.params,
        "ndgrad dispatch parameters",
        params_bytes.len() as u64,
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    );
    transfer::upload(ctx, params_buffer, &params_bytes);
    let missing = || Error::Gpu {
        during: "recording a dispatch".into(),
        message: "a workspace buffer was not created".into(),
    };
    let input = ws.input.as_ref().ok_or_else(missing)?;
    let coefs = ws.coefs.as_ref().ok_or_else(missing)?;
    let params = ws.params.as_ref().ok_or_else(missing)?;
    let output = ws.output.as_ref().ok_or_else(missing)?;
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some("ndgrad"),
        timestamp_writes: timestamps,
    });
    for (k, job) in jobs.iter().enumerate() {
        let bind_group = bind_group(
            ctx,
            (params, k as u64 * slot),
            (input, input_len as u64 * elem),
            (
                coefs,
                job.coef_window.0 as u64 * elem,
                job.coef_window.1 as u64 * elem,
            ),
            (output, output_len as u64 * elem),
        );
        let grid = grid(ctx, job.params.threads())?;
        pass.set_pipeline(&pipelines[&job.spec]);
        pass.set_bind_group(0, &bind_group, &[]);
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

/// The bind group of one dispatch: (buffer, offset) of its parameters,
/// (buffer, bytes) of the input, (buffer, offset, bytes) of its coefficient
/// window, (buffer, bytes) of the output.
pub(crate) fn bind_group(
    ctx: &GpuContext,
    params: (&wgpu::Buffer, u64),
    input: (&wgpu::Buffer, u64),
    coefs: (&wgpu::Buffer, u64, u64),
    output: (&wgpu::Buffer, u64),
) -> wgpu::BindGroup {
    let binding = |buffer, offset, size: u64| {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset,
            size: wgpu::BufferSize::new(size.next_multiple_of(4)),
        })
    };
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("ndgrad dispatch"),
        layout: &ctx.bind_group_layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: binding(
                    params.0,
                    params.1,
                    std::mem::size_of::<DispatchParams>() as u64,
                ),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: binding(input.0, 0, input.1),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: binding(coefs.0, coefs.1, coefs.2),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: binding(output.0, 0, output.1),
            },
        ],
    })
}
