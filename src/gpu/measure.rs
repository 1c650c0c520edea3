//! Timing the gradient kernels against a plain copy kernel that moves the
//! same bytes on the same adapter (DESIGN.md §5): the yardstick for how close
//! the kernels come to the device's memory bandwidth.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ndarray::{ArrayBase, Data, Dimension};

use super::context::GpuContext;
use super::execute::{self, AxisView, CoefTable, Job};
use super::kernels::{DispatchParams, Kernel, Real, Specialization};
use super::slab::Slab;
use super::transfer;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::options::GradientOptions;
use crate::plan::Plan;

/// The kernel times of one gradient request beside a copy of the same bytes,
/// from [`GpuContext::time_kernels`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelTimings {
    /// Median time of one submission running the gradient kernels of every
    /// requested axis, with the input already on the device.
    pub gradient: Duration,
    /// Median time of one submission running the copy kernel once per
    /// requested axis over the same elements.
    pub copy: Duration,
    /// Bytes each submission moves at the least: per requested axis, the
    /// input read once and one output written.
    pub bytes: u64,
    /// How many timed submissions of each the medians are taken over.
    pub repeats: usize,
}

impl KernelTimings {
    /// `gradient / copy`: 1.0 means the gradient runs at the speed of a copy.
    pub fn ratio(&self) -> f64 {
        self.gradient.as_secs_f64() / self.copy.as_secs_f64()
    }

    /// Effective bandwidth of the gradient kernels, in GB/s (10⁹ bytes).
    pub fn gradient_gbps(&self) -> f64 {
        self.bytes as f64 / self.gradient.as_secs_f64() / 1e9
    }

    /// Bandwidth of the copy kernel, in GB/s (10⁹ bytes).
    pub fn copy_gbps(&self) -> f64 {
        self.bytes as f64 / self.copy.as_secs_f64() / 1e9
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

impl GpuContext {
    /// Times the gradient kernels of `opts` on `f` against a WGSL copy
    /// kernel (`shaders/copy.wgsl`) moving the same bytes: after two warm-up
    /// runs of each, `repeats` submissions of each, alternating, timed from
    /// submit to completion; the medians are returned.
    ///
    /// Only the kernels are timed: the input is uploaded once beforehand and
    /// nothing is read back. The copy's output is checked against its input
    /// once; check the gradient itself with [`GpuContext::gradient`].
    ///
    /// # Errors
    ///
    /// The errors of [`GpuContext::gradient`], and
    /// [`Error::ExceedsGpuLimits`] when the array does not fit in one slab
    /// (timing streams of slabs would time the transfers too).
    pub fn time_kernels<T, S, D>(
        &self,
        f: &ArrayBase<S, D>,
        opts: &GradientOptions,
        repeats: usize,
    ) -> Result<KernelTimings>
    where
        T: Element,
        S: Data<Elem = T>,
        D: Dimension,
    {
        let plan = Plan::new(f.shape(), opts)?;
        self.check_health()?;
        let real = Real::of::<T>();
        if real == Real::F64 && !self.supports_f64() {
            return Err(Error::NoF64 {
                adapter: self.adapter_info().name.clone(),
            });
        }
        let elem = real.size();
        let len = plan.len();
        if plan.axes.is_empty() || len == 0 {
            return Err(Error::ExceedsGpuLimits {
                what: "timing an empty request".into(),
                needed: 0,
                limit: 0,
            });
        }
        if len as u64 > self.limits.max_slab_elements(elem) {
            return Err(Error::ExceedsGpuLimits {
                what: "timing the kernels (the array must fit in one slab)".into(),
                needed: len as u64 * elem,
                limit: self.limits.max_slab_elements(elem) * elem,
            });
        }
        let data = f.as_standard_layout();
        let data = data
            .as_slice()
            .expect("an array in standard layout is contiguous");
        let mut ws = self.take_workspace();
        let timings = self.scoped("timing the kernels", || {
            self.time_resident(&plan, data, &mut ws, repeats.max(1))
        })?;
        self.return_workspace(ws);
        Ok(timings)
    }

    fn time_resident<T: Element>(
        &self,
        plan: &Plan,
        data: &[T],
        ws: &mut transfer::Workspace,
        repeats: usize,
    ) -> Result<KernelTimings> {
        let real = Real::of::<T>();
        let elem = real.size();
        let len = plan.len();
        let align = (self.limits.storage_offset_alignment as usize / elem as usize).max(1);
        let coefs = CoefTable::<T>::new(plan, align);
        execute::upload_coefficients(self, ws, &coefs);
        execute::upload_input(self, ws, data);
        transfer::ensure(
            self,
            &mut ws.output,
            "ndgrad output",
            len as u64 * elem,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        );

        let whole = Slab {
            load: 0..plan.shape[0],
            compute: 0..plan.shape[0],
        };
        let plane_len = len / plan.shape[0];
        let mut gradient_jobs = Vec::new();
        for (ax, ax_coefs) in plan.axes.iter().zip(&coefs.axes) {
            let view = AxisView::new(ax, &plan.shape, &whole, plane_len);
            gradient_jobs.extend(execute::jobs::<T>(self, ax, ax_coefs, &view)?);
        }
        let copy_job = || Job {
            spec: Specialization {
                kernel: Kernel::Copy,
                real,
                workgroup_size: self.limits.workgroup_size,
                non_uniform: false,
                edge_order: 1,
            },
            params: DispatchParams {
                o_count: 1,
                n: len as u32,
                inner: 1,
                i_count: len as u32,
                ..DispatchParams::default()
            },
            coef_window: (0, 1),
        };
        let copy_jobs: Vec<Job> = plan.axes.iter().map(|_| copy_job()).collect();

        let mut pipelines = HashMap::new();
        let mut run = |jobs: &[Job]| -> Result<Duration> {
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("ndgrad timing"),
                });
            execute::encode(self, &mut encoder, ws, jobs, &mut pipelines, len, len, elem)?;
            let command = encoder.finish();
            self.wait()?;
            let start = Instant::now();
            self.queue.submit([command]);
            self.wait()?;
            Ok(start.elapsed())
        };
        for _ in 0..2 {
            run(&gradient_jobs)?;
            run(&copy_jobs)?;
        }
        let mut gradient = Vec::with_capacity(repeats);
        let mut copy = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            gradient.push(run(&gradient_jobs)?);
            copy.push(run(&copy_jobs)?);
        }

        // The copy must really have copied: read its output back once.
        let staging = transfer::ensure(
            self,
            &mut ws.staging,
            "ndgrad staging",
            len as u64 * elem,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let output = ws.output.as_ref().expect("created above");
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("ndgrad timing readback"),
            });
        encoder.copy_buffer_to_buffer(output, 0, staging, 0, len as u64 * elem);
        self.queue.submit([encoder.finish()]);
        let mut copied = vec![T::from_f64(0.0); len];
        transfer::read_back(self, staging, &mut copied)?;
        if bytemuck::cast_slice::<T, u8>(&copied) != bytemuck::cast_slice::<T, u8>(data) {
            return Err(Error::Gpu {
                during: "timing the kernels".into(),
                message: "the copy kernel's output differs from its input".into(),
            });
        }

        Ok(KernelTimings {
            gradient: median(gradient),
            copy: median(copy),
            bytes: 2 * plan.axes.len() as u64 * len as u64 * elem,
            repeats,
        })
    }
}
