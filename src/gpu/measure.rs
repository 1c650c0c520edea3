//! Timing the gradient kernels against a plain copy kernel that moves the
//! same bytes on the same adapter (docs/ARCHITECTURE.md, Measuring speed):
//! the yardstick for how close the kernels come to the device's memory
//! bandwidth. The gradient's jobs are recorded by the same core as every
//! other call ([`Recording`]).

use std::time::{Duration, Instant};

use ndarray::{ArrayBase, Data, Dimension};

use super::context::GpuContext;
use super::jobs::{Job, Params, Path};
use super::kernels::{Kernel, Specialization};
use super::params::DispatchParams;
use super::record::{upload_params, Bindings, Recording, Window};
use super::slab::Slab;
use super::source::HostInput;
use super::transfer;
use super::types::{InputKind, Stored};
use super::workspace::{SlabBuffers, Workspace};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::options::GradientOptions;
use crate::plan::{Plan, Request};

/// The clock [`GpuContext::time_kernels`] timed the kernels (or the buffer
/// copies) with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimingClock {
    /// GPU timestamps, resolved on the device and scaled by
    /// `Queue::get_timestamp_period`: the time the GPU spent, without
    /// submission overhead. For the kernels, written at the beginning and
    /// the end of the compute pass that holds every dispatch of a
    /// submission, used when the device has `TIMESTAMP_QUERY`
    /// ([`GpuContext::supports_timestamps`]). For
    /// [`KernelTimings::copy_buffer`], written by
    /// `CommandEncoder::write_timestamp` before and after the copies (no
    /// pass holds them), used when the device also has
    /// `TIMESTAMP_QUERY_INSIDE_ENCODERS`.
    GpuTimestamps,
    /// Host wall time from `Queue::submit` until the device reports the
    /// submission finished: the kernels plus submission and wait overhead,
    /// which dominates for small arrays. The fallback without timestamps.
    /// [`KernelTimings::copy_buffer`] records [`KernelTimings::COPY_BUFFER_ROUNDS`] rounds
    /// of its copies in the one submission and divides the wall time by
    /// that, to spread the overhead.
    WallClock,
}

/// The kernel times of one gradient request beside a copy of the same bytes,
/// and the times of its upload and download, from
/// [`GpuContext::time_kernels`].
///
/// With `E` bytes per element, `N` elements and `A` requested axes: the
/// kernels move [`KernelTimings::bytes`] = `2·A·N·E` bytes, the upload
/// [`KernelTimings::upload_bytes`] = `N·E` and the download
/// [`KernelTimings::download_bytes`] = `A·N·E`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelTimings {
    /// Median time of one submission running the gradient kernels of every
    /// requested axis (one compute pass), with the input already on the
    /// device, measured with [`KernelTimings::clock`].
    pub gradient: Duration,
    /// Median time of one submission running the copy kernel once per
    /// requested axis over the same elements (one compute pass), measured
    /// with [`KernelTimings::clock`].
    pub copy: Duration,
    /// Which clock timed `gradient` and `copy`.
    pub clock: TimingClock,
    /// Median time of the same bytes as `copy` moved by
    /// `CommandEncoder::copy_buffer_to_buffer` instead of a kernel: the input
    /// buffer copied into each requested axis's output buffer, device to
    /// device (`bytes` bytes), measured with
    /// [`KernelTimings::copy_buffer_clock`]. The copy engine's yardstick
    /// beside the copy kernel's.
    pub copy_buffer: Duration,
    /// Which clock timed `copy_buffer`: GPU timestamps written by the
    /// encoder where the device has `TIMESTAMP_QUERY` and
    /// `TIMESTAMP_QUERY_INSIDE_ENCODERS`, otherwise wall time
    /// ([`TimingClock`]). It can differ from `clock`.
    pub copy_buffer_clock: TimingClock,
    /// Whether `gradient` ran the fused kernel (`shaders/fused.wgsl`) rather
    /// than the per-axis kernels ([`super::config::AxisKernels`]).
    pub fused: bool,
    /// Median host wall time of uploading the whole input into the device's
    /// input buffer as [`GpuContext::gradient`] does: `Queue::write_buffer_with`
    /// filled from the host data (copied into C order on the way when the
    /// input is strided), then a submission that flushes it, until the
    /// device reports it done. `upload_bytes` bytes.
    pub upload: Duration,
    /// Median host wall time of reading every requested axis's output back
    /// as [`GpuContext::gradient`] does, one axis after another: a copy of
    /// the device output into the MAP_READ staging buffer, submitted and
    /// waited for, then map, copy into an already allocated host `Vec`, and
    /// unmap. `download_bytes` bytes.
    pub download: Duration,
    /// Bytes each kernel submission moves at the least: per requested axis,
    /// the input read once and one output written (`2·A·N·E`).
    pub bytes: u64,
    /// Bytes of one upload: the input once (`N·E`).
    pub upload_bytes: u64,
    /// Bytes of one download: one output per requested axis (`A·N·E`).
    pub download_bytes: u64,
    /// How many timed runs of each the medians are taken over.
    pub repeats: usize,
}

impl KernelTimings {
    /// How many rounds of copies one wall-clock-timed submission of
    /// [`KernelTimings::copy_buffer`] holds (see [`TimingClock::WallClock`]).
    pub const COPY_BUFFER_ROUNDS: u32 = 8;

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

    /// Bandwidth of `copy_buffer_to_buffer`, in GB/s (10⁹ bytes).
    pub fn copy_buffer_gbps(&self) -> f64 {
        self.bytes as f64 / self.copy_buffer.as_secs_f64() / 1e9
    }

    /// Bandwidth of the upload, in GB/s (10⁹ bytes).
    pub fn upload_gbps(&self) -> f64 {
        self.upload_bytes as f64 / self.upload.as_secs_f64() / 1e9
    }

    /// Bandwidth of the download, in GB/s (10⁹ bytes).
    pub fn download_gbps(&self) -> f64 {
        self.download_bytes as f64 / self.download.as_secs_f64() / 1e9
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

impl GpuContext {
    /// Submits `command` to an idle queue and returns the wall time until it
    /// completes.
    fn submit_timed(&self, command: wgpu::CommandBuffer) -> Result<Duration> {
        self.wait()?;
        let start = Instant::now();
        self.queue.submit([command]);
        self.wait()?;
        Ok(start.elapsed())
    }

    /// Times the gradient kernels of `opts` on `f` against a WGSL copy
    /// kernel (`shaders/copy.wgsl`) and `CommandEncoder::copy_buffer_to_buffer`
    /// moving the same bytes, and times the upload of `f` and the download
    /// of its gradients: after two warm-up runs of each, `repeats` runs of
    /// each, interleaved; the medians are returned.
    ///
    /// The kernels are timed with the input already on the device and
    /// nothing read back, with GPU timestamps around the compute pass where
    /// the device has `TIMESTAMP_QUERY`, otherwise from submit to completion
    /// ([`KernelTimings::clock`] says which). The buffer copies are timed
    /// with timestamps the encoder writes where the device also has
    /// `TIMESTAMP_QUERY_INSIDE_ENCODERS`, otherwise by wall time
    /// ([`KernelTimings::copy_buffer_clock`]). Uploads and downloads are
    /// timed with the host's wall clock. The outputs of both copies are
    /// checked against the input through the timed download path; check the
    /// gradient itself with [`GpuContext::gradient`].
    ///
    /// ```no_run
    /// use ndarray::Array2;
    /// use ndgrad::gpu::GpuContext;
    /// use ndgrad::GradientOptions;
    ///
    /// let ctx = GpuContext::new()?;
    /// let f = Array2::from_shape_fn((512, 512), |(i, j)| ((i * 31 + j) as f32).sin());
    /// let t = ctx.time_kernels(&f, &GradientOptions::new(), 10)?;
    /// println!("{:?}: gradient / copy = {:.2}", t.clock, t.ratio());
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
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
        let stored = Stored::of::<T>();
        if stored == Stored::F64 && !self.supports_f64() {
            return Err(Error::NoF64 {
                adapter: self.adapter_info().name.clone(),
            });
        }
        if stored == Stored::F16 && !self.supports_f16() {
            return Err(Error::Gpu {
                during: "timing the kernels".into(),
                message: "f16 kernels need SHADER_F16, which the device lacks".into(),
            });
        }
        let elem = stored.size();
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
        let data = HostInput::of(f);
        let mut ws = self.take_workspace();
        let timings = self.scoped("timing the kernels", || {
            self.time_resident(&plan, &data, &mut ws, repeats.max(1))
        })?;
        self.return_workspace(ws);
        Ok(timings)
    }

    fn time_resident<T: Element>(
        &self,
        plan: &Plan,
        data: &HostInput<'_, T>,
        ws: &mut Workspace,
        repeats: usize,
    ) -> Result<KernelTimings> {
        let stored = Stored::of::<T>();
        let elem = stored.size();
        let len = plan.len();
        let mut recording = Recording::new(
            self,
            plan,
            InputKind::of::<T>(),
            stored,
            Request::Components,
        );
        let kind = *recording.kind();
        let coefs = recording.coefs();
        let outputs = kind.outputs(plan);
        let coef_buffer = transfer::ensure(
            self,
            &mut ws.coefs,
            "ndgrad coefficients",
            coefs.len() as u64 * stored.real().size(),
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        )
        .clone();
        transfer::upload(self, &coef_buffer, &coefs.bytes(stored));
        let [set, copy_set] = &mut ws.sets;
        let input = transfer::upload_input(self, &mut set.input, data);
        let out_buffers = set.ensure_outputs(self, outputs, len as u64 * elem, stored);

        let whole = Slab {
            load: 0..plan.shape[0],
            compute: 0..plan.shape[0],
        };
        let gradient_jobs = recording.jobs(&whole, len / plan.shape[0])?;
        let copy_jobs: Vec<Job> = (0..outputs)
            .map(|output| Job {
                spec: Specialization {
                    kernel: Kernel::Copy,
                    input: kind.input,
                    stored,
                    workgroup_size: self.limits.workgroup_size,
                    non_uniform: false,
                    edge_order: 1,
                    magnitude: false,
                    axes: 0,
                    non_uniform_axes: 0,
                    accuracy: 2,
                    periodic_axes: 0,
                },
                params: Params::Axis(DispatchParams {
                    o_count: 1,
                    n: len as u32,
                    inner: 1,
                    i_count: len as u32,
                    ..DispatchParams::default()
                }),
                coef_window: (0, 1),
                output,
            })
            .collect();
        let gradient_params = upload_params(self, &mut set.params, &gradient_jobs);
        let copy_params = upload_params(self, &mut copy_set.params, &copy_jobs);
        let bindings = |params| Bindings {
            params,
            input: Window::whole(&input, kind.input.buffer_bytes(len as u64)),
            coefs: &coef_buffer,
            outputs: out_buffers
                .iter()
                .map(|b| Window::whole(b, len as u64 * elem))
                .collect(),
            real_size: stored.real().size(),
        };
        let (gradient_bindings, copy_bindings) =
            (bindings(&gradient_params), bindings(&copy_params));

        let timer = if self.supports_timestamps() {
            Some(PassTimer::new(self))
        } else {
            None
        };
        let mut run = |jobs: &[Job], bindings: &Bindings<'_>| -> Result<Duration> {
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("ndgrad timing"),
                });
            recording.record(
                &mut encoder,
                jobs,
                bindings,
                timer.as_ref().map(PassTimer::writes),
            )?;
            if let Some(timer) = &timer {
                timer.resolve(&mut encoder);
            }
            let wall = self.submit_timed(encoder.finish())?;
            match &timer {
                Some(timer) => timer.read(self),
                None => Ok(wall),
            }
        };

        let out_bytes = len as u64 * elem;
        // Allocated once, outside the timed region, as `gradient` allocates
        // its outputs before reading back.
        let mut downloaded = vec![vec![T::from_f64(f64::NAN); len]; outputs];
        let download = |set: &SlabBuffers, host: &mut [Vec<T>]| -> Result<Duration> {
            self.wait()?;
            let start = Instant::now();
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("ndgrad timing download"),
                });
            set.copy_to_staging(&mut encoder, out_bytes);
            let submission = self.queue.submit([encoder.finish()]);
            let mut dsts: Vec<&mut [T]> = host.iter_mut().map(|v| v.as_mut_slice()).collect();
            transfer::read_back_many(self, &set.staging, &mut dsts, submission)?;
            Ok(start.elapsed())
        };
        let mut upload_slot = Some(input.clone());
        let mut upload = || -> Result<Duration> {
            self.wait()?;
            let start = Instant::now();
            transfer::upload_input(self, &mut upload_slot, data);
            // An empty submission flushes the queued write.
            self.queue.submit(std::iter::empty::<wgpu::CommandBuffer>());
            self.wait()?;
            Ok(start.elapsed())
        };

        // `copy_buffer_to_buffer` of the input into every output, timed by
        // timestamps the encoder writes around the copies where the device
        // allows them outside passes, else by wall time over several rounds.
        let encoder_timer = (self.supports_timestamps()
            && self
                .device
                .features()
                .contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS))
        .then(|| PassTimer::new(self));
        let rounds = if encoder_timer.is_some() {
            1
        } else {
            KernelTimings::COPY_BUFFER_ROUNDS
        };
        let copy_bytes = out_bytes.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        let copy_buffers = || -> Result<Duration> {
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("ndgrad timing copy_buffer_to_buffer"),
                });
            if let Some(timer) = &encoder_timer {
                encoder.write_timestamp(&timer.queries, 0);
            }
            for _ in 0..rounds {
                for out in &out_buffers {
                    encoder.copy_buffer_to_buffer(&input, 0, out, 0, copy_bytes);
                }
            }
            if let Some(timer) = &encoder_timer {
                encoder.write_timestamp(&timer.queries, 1);
                timer.resolve(&mut encoder);
            }
            let wall = self.submit_timed(encoder.finish())?;
            match &encoder_timer {
                Some(timer) => timer.read(self),
                None => Ok(wall / rounds),
            }
        };
        // The copies must really have copied, and every download brought
        // them back.
        let check = |host: &[Vec<T>], what: &str| -> Result<()> {
            for host in host {
                if !data.same_bits(host) {
                    return Err(Error::Gpu {
                        during: "timing the kernels".into(),
                        message: format!("{what}'s output, read back, differs from its input"),
                    });
                }
            }
            Ok(())
        };
        // Once, untimed: the buffer copy over the gradient, read back.
        run(&gradient_jobs, &gradient_bindings)?;
        copy_buffers()?;
        download(set, &mut downloaded)?;
        check(&downloaded, "copy_buffer_to_buffer")?;

        let mut gradient = Vec::with_capacity(repeats);
        let mut copy = Vec::with_capacity(repeats);
        let mut copy_buffer = Vec::with_capacity(repeats);
        let mut uploads = Vec::with_capacity(repeats);
        let mut downloads = Vec::with_capacity(repeats);
        for k in 0..repeats + 2 {
            let times = (
                upload()?,
                copy_buffers()?,
                run(&gradient_jobs, &gradient_bindings)?,
                run(&copy_jobs, &copy_bindings)?,
                // Last, so that it reads what the copy kernel wrote over the
                // gradient.
                download(set, &mut downloaded)?,
            );
            // The first two rounds warm up.
            if k >= 2 {
                uploads.push(times.0);
                copy_buffer.push(times.1);
                gradient.push(times.2);
                copy.push(times.3);
                downloads.push(times.4);
            }
        }
        check(&downloaded, "the copy kernel")?;

        let input_bytes = len as u64 * elem;
        let axes = outputs as u64;
        Ok(KernelTimings {
            gradient: median(gradient),
            copy: median(copy),
            clock: if timer.is_some() {
                TimingClock::GpuTimestamps
            } else {
                TimingClock::WallClock
            },
            copy_buffer: median(copy_buffer),
            copy_buffer_clock: if encoder_timer.is_some() {
                TimingClock::GpuTimestamps
            } else {
                TimingClock::WallClock
            },
            fused: kind.path != Path::PerAxis,
            upload: median(uploads),
            download: median(downloads),
            bytes: 2 * axes * input_bytes,
            upload_bytes: input_bytes,
            download_bytes: axes * input_bytes,
            repeats,
        })
    }
}

/// Two GPU timestamps around one compute pass (or, written by the encoder,
/// around buffer copies), resolved on the device and read back through a
/// staging buffer of their own.
struct PassTimer {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    staging: wgpu::Buffer,
}

impl PassTimer {
    /// Bytes of the two resolved timestamps.
    const BYTES: u64 = 2 * wgpu::QUERY_SIZE as u64;

    fn new(ctx: &GpuContext) -> PassTimer {
        let buffer = |label, usage| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: Self::BYTES,
                usage,
                mapped_at_creation: false,
            })
        };
        PassTimer {
            queries: ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("ndgrad pass timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolved: buffer(
                "ndgrad resolved timestamps",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            staging: buffer(
                "ndgrad timestamp staging",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        }
    }

    /// Timestamp 0 at the pass's beginning, 1 at its end.
    fn writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    /// Records, after the pass, the resolution of both timestamps and their
    /// copy to the staging buffer.
    fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.queries, 0..2, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.staging, 0, Self::BYTES);
    }

    /// The time between the two timestamps of the finished submission.
    fn read(&self, ctx: &GpuContext) -> Result<Duration> {
        let mut ticks = [0u64; 2];
        transfer::read_back(ctx, &self.staging, &mut ticks)?;
        let [begin, end] = ticks;
        if end < begin {
            return Err(Error::Gpu {
                during: "timing the kernels".into(),
                message: format!("the GPU's end timestamp {end} precedes its beginning {begin}"),
            });
        }
        let nanos = (end - begin) as f64 * f64::from(ctx.queue.get_timestamp_period());
        Ok(Duration::from_secs_f64(nanos / 1e9))
    }
}
