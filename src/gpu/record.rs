//! Recording: the one core of the GPU backend. A [`Recording`] records the
//! jobs of a gradient ([`super::jobs`]), for any plan and either path, into
//! any `wgpu::CommandEncoder`: the caller's (the resident calls in
//! [`super::resident`]) or one per slab (the host call in [`super::host`]).
//! Here too: the uniform slots the jobs' parameters are packed into, the
//! windows of buffers a pass binds, and the bind groups.

use std::collections::HashMap;

use super::coefs::CoefTable;
use super::context::GpuContext;
use super::grid::Grid;
use super::jobs::{self, Job, JobLimits, RunKind};
use super::kernels::{Layout, Specialization};
use super::params::{DispatchParams, FusedParams, FUSED_MAX_OUTPUTS};
use super::slab::{Slab, SlabPlan};
use super::transfer;
use super::types::{InputKind, Stored};
use crate::error::{Error, Result};
use crate::plan::{Plan, Request};

/// The limits [`super::jobs`] plans under on `ctx`.
pub(super) fn job_limits(ctx: &GpuContext) -> JobLimits {
    JobLimits {
        gpu: ctx.limits,
        storage_buffers_per_stage: ctx.device.limits().max_storage_buffers_per_shader_stage,
        axis_kernels: ctx.axis_kernels,
    }
}

/// One gradient being recorded on a context: its plan, the kind of run
/// (element types and path), its coefficient table and the pipelines it
/// has compiled so far. Planned once; recorded slab by slab.
pub(super) struct Recording<'a> {
    ctx: &'a GpuContext,
    plan: &'a Plan,
    limits: JobLimits,
    kind: RunKind,
    coefs: CoefTable,
    pipelines: HashMap<Specialization, wgpu::ComputePipeline>,
}

impl<'a> Recording<'a> {
    /// Plans `request` for `plan` from `input` into `stored` results on
    /// `ctx`: the path and the coefficient table.
    pub(super) fn new(
        ctx: &'a GpuContext,
        plan: &'a Plan,
        input: InputKind,
        stored: Stored,
        request: Request,
    ) -> Recording<'a> {
        let limits = job_limits(ctx);
        let kind = RunKind::new(&limits, plan, input, stored, request);
        let coefs = kind.coefs(&limits, plan);
        Recording {
            ctx,
            plan,
            limits,
            kind,
            coefs,
            pipelines: HashMap::new(),
        }
    }

    /// The element types and path of the run.
    pub(super) fn kind(&self) -> &RunKind {
        &self.kind
    }

    /// The coefficient table, to upload before recording.
    pub(super) fn coefs(&self) -> &CoefTable {
        &self.coefs
    }

    /// The slabs the array is computed in, keeping `margin` bytes of every
    /// binding free ([`jobs::slab_plan`]).
    pub(super) fn slabs(&self, margin: u64) -> Result<SlabPlan> {
        jobs::slab_plan(&self.limits, self.plan, &self.kind, margin)
    }

    /// The jobs computing every output on `slab`.
    pub(super) fn jobs(&self, slab: &Slab, plane_len: usize) -> Result<Vec<Job>> {
        jobs::slab_jobs(
            &self.limits,
            &self.kind,
            self.plan,
            &self.coefs,
            slab,
            plane_len,
        )
    }

    /// Records `jobs` into `encoder` as one compute pass over `bindings`.
    /// `timestamps` are written at the pass's beginning and end (for
    /// timing).
    pub(super) fn record(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        jobs: &[Job],
        bindings: &Bindings<'_>,
        timestamps: Option<wgpu::ComputePassTimestampWrites<'_>>,
    ) -> Result<()> {
        for job in jobs {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.pipelines.entry(job.spec)
            {
                slot.insert(self.ctx.pipeline(job.spec)?);
            }
        }
        let slot = params_slot(self.ctx);
        let groups = jobs
            .iter()
            .enumerate()
            .map(|(k, job)| bind_group(self.ctx, job, k as u64 * slot, bindings))
            .collect::<Vec<_>>();
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("ndgrad"),
            timestamp_writes: timestamps,
        });
        for (job, group) in jobs.iter().zip(&groups) {
            let grid = grid(self.ctx, job.params.threads())?;
            pass.set_pipeline(&self.pipelines[&job.spec]);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(grid.x, grid.y, grid.z);
        }
        Ok(())
    }
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

/// The workgroup grid for `threads` threads under the context's limits.
fn grid(ctx: &GpuContext, threads: u64) -> Result<Grid> {
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
        Layout::PerAxis => {
            let out = b.outputs[job.output];
            entries.push(wgpu::BindGroupEntry {
                binding: 3,
                resource: binding(out.buffer, out.offset, out.size),
            });
        }
        Layout::Fused => {
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
