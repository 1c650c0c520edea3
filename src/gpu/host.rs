//! The host call: [`GpuContext::gradient`] and its kin take an array in
//! host memory, and [`run`] streams it through the device slab by slab (the
//! upload of slab k+1 and the readback of slab k−1 overlapping the
//! computation of slab k, in two sets of reused buffers), each slab's jobs
//! recorded by the one core, [`Recording`], then reads every output back.
//!
//! The walk from [`crate::gradient`] reads top-down: validate
//! ([`Plan::new`]) → plan → backend ([`GpuContext::run_plan`]) → record
//! ([`Recording::record`]) → read back ([`transfer::read_back_many`]).

use ndarray::{Array, ArrayBase, ArrayViewMut, Data, Dimension};

use super::context::GpuContext;
use super::jobs::Path;
use super::record::{upload_params, Bindings, Recording, Window};
use super::slab::SlabPlan;
use super::source::HostInput;
use super::transfer;
use super::types::{InputKind, Stored};
use super::workspace::{SlabBuffers, Workspace};
use crate::element::{Element, Input};
use crate::error::{Error, Result};
use crate::options::GradientOptions;
use crate::outputs;
use crate::plan::{Plan, Request};

impl GpuContext {
    /// The gradient of `f` on this context's GPU: [`crate::gradient`] with
    /// [`crate::Backend::Gpu`], on this device (`opts.backend` is ignored).
    /// The result type is numpy's ([`Input::NumpyOutput`]).
    ///
    /// The input is uploaded in its own type (8- and 16-bit types packed
    /// into words, so a u16 volume moves half the bytes of f32) and
    /// converted in the shader. f32 results are computed in f32
    /// (coefficients rounded from f64 once), f64 results in f64, f16 results
    /// in f32 and rounded once.
    /// [`GpuOptions::axis_kernels`](super::GpuOptions::axis_kernels)
    /// chooses between one fused kernel that reads each element's
    /// neighbourhood once and writes every derivative (the measured
    /// default) and the per-axis kernels.
    ///
    /// # Errors
    ///
    /// Every option error of [`Plan::new`]; [`Error::NoF64`] for `f64`
    /// results without `SHADER_F64`; [`Error::ExceedsGpuLimits`] when the array
    /// cannot be split to fit the limits; [`Error::Gpu`],
    /// [`Error::DeviceLost`] and [`Error::BufferMap`] when the device fails.
    /// After an error no partial output is returned.
    pub fn gradient<I, S, D>(
        &self,
        f: &ArrayBase<S, D>,
        opts: &GradientOptions,
    ) -> Result<Vec<Array<I::NumpyOutput, D>>>
    where
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        self.gradient_as(f, opts)
    }

    /// [`GpuContext::gradient`] computed in and returned as `O`
    /// ([`crate::gradient_as`] on this device).
    ///
    /// # Errors
    ///
    /// As [`GpuContext::gradient`].
    pub fn gradient_as<O, I, S, D>(
        &self,
        f: &ArrayBase<S, D>,
        opts: &GradientOptions,
    ) -> Result<Vec<Array<O, D>>>
    where
        O: Element,
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        self.compute(f, opts, Request::Components)
    }

    /// The gradient magnitude `sqrt(Σ (∂f/∂xₖ)²)` over the requested axes
    /// ([`crate::gradient_magnitude_as`] on this device), by one fused
    /// kernel that never writes the components (up to eight axes).
    ///
    /// # Errors
    ///
    /// As [`GpuContext::gradient`].
    pub fn gradient_magnitude_as<O, I, S, D>(
        &self,
        f: &ArrayBase<S, D>,
        opts: &GradientOptions,
    ) -> Result<Array<O, D>>
    where
        O: Element,
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        let mut m = self.compute(f, opts, Request::Magnitude)?;
        Ok(m.pop().expect("a magnitude request returns one array"))
    }

    /// [`GpuContext::gradient_as`] into arrays the caller provides, of any
    /// layout ([`crate::gradient_into`] on this device): C-ordered outputs
    /// receive the results straight from the device's staging buffers.
    ///
    /// ```no_run
    /// use ndarray::Array3;
    /// use ndgrad::{gpu::GpuContext, GradientOptions};
    ///
    /// let ctx = GpuContext::new()?;
    /// let f = Array3::<f32>::from_shape_fn((64, 64, 64), |(i, j, k)| (i * j + k) as f32);
    /// // Allocated once, reused for every volume of this shape.
    /// let mut d: Vec<Array3<f32>> = (0..3).map(|_| Array3::zeros((64, 64, 64))).collect();
    /// let mut views: Vec<_> = d.iter_mut().map(|a| a.view_mut()).collect();
    /// ctx.gradient_into(&f, &GradientOptions::new(), &mut views)?;
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`crate::gradient_into`].
    pub fn gradient_into<O, I, S, D>(
        &self,
        f: &ArrayBase<S, D>,
        opts: &GradientOptions,
        out: &mut [ArrayViewMut<'_, O, D>],
    ) -> Result<()>
    where
        O: Element,
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        self.compute_into(f, opts, Request::Components, out)
    }

    /// [`GpuContext::gradient_magnitude_as`] into an array the caller
    /// provides, of any layout ([`crate::gradient_magnitude_into`] on this
    /// device).
    ///
    /// # Errors
    ///
    /// As [`crate::gradient_into`].
    pub fn gradient_magnitude_into<O, I, S, D>(
        &self,
        f: &ArrayBase<S, D>,
        opts: &GradientOptions,
        out: ArrayViewMut<'_, O, D>,
    ) -> Result<()>
    where
        O: Element,
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        self.compute_into(f, opts, Request::Magnitude, &mut [out])
    }

    fn compute_into<O, I, S, D>(
        &self,
        f: &ArrayBase<S, D>,
        opts: &GradientOptions,
        request: Request,
        out: &mut [ArrayViewMut<'_, O, D>],
    ) -> Result<()>
    where
        O: Element,
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        let plan = Plan::new(f.shape(), opts)?;
        outputs::check(&plan, f.shape(), request, out)?;
        self.run_into_views(f, &plan, request, out)
    }

    /// The fresh-array calls: [`GpuContext::compute_into`] into new arrays,
    /// poisoned with NaN until the device's results land in them.
    fn compute<O, I, S, D>(
        &self,
        f: &ArrayBase<S, D>,
        opts: &GradientOptions,
        request: Request,
    ) -> Result<Vec<Array<O, D>>>
    where
        O: Element,
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        let plan = Plan::new(f.shape(), opts)?;
        let mut arrays: Vec<Array<O, D>> = (0..request.count(&plan))
            .map(|_| Array::from_elem(f.raw_dim(), O::from_f64(f64::NAN)))
            .collect();
        let mut views: Vec<_> = arrays.iter_mut().map(|a| a.view_mut()).collect();
        self.run_into_views(f, &plan, request, &mut views)?;
        Ok(arrays)
    }

    /// Runs the validated `plan` on `f` into `out`, checked against it.
    fn run_into_views<O, I, S, D>(
        &self,
        f: &ArrayBase<S, D>,
        plan: &Plan,
        request: Request,
        out: &mut [ArrayViewMut<'_, O, D>],
    ) -> Result<()>
    where
        O: Element,
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        let data = HostInput::of(f);
        outputs::write_through(out, plan.len(), |buffers| {
            run(self, plan, &data, request, buffers)
        })
    }

    /// Computes `request` for `plan` on `data`: the backend entry point
    /// behind [`GpuContext::gradient`] and the library's GPU backend.
    pub(crate) fn run_plan<O: Element, I: Input>(
        &self,
        plan: &Plan,
        data: &HostInput<'_, I>,
        request: Request,
    ) -> Result<Vec<Vec<O>>> {
        let mut outputs = (0..request.count(plan))
            .map(|_| crate::outputs::filled(plan.len(), O::from_f64(f64::NAN), "a GPU result"))
            .collect::<Result<Vec<_>>>()?;
        let mut dsts: Vec<&mut [O]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
        run(self, plan, data, request, &mut dsts)?;
        Ok(outputs)
    }

    /// [`GpuContext::run_plan`] into buffers the caller provides (C order,
    /// one per requested axis, or one for the magnitude): the results are
    /// read back from the device straight into them.
    pub(crate) fn run_plan_into<O: Element, I: Input>(
        &self,
        plan: &Plan,
        data: &HostInput<'_, I>,
        request: Request,
        outputs: &mut [&mut [O]],
    ) -> Result<()> {
        run(self, plan, data, request, outputs)
    }
}

/// Runs `plan` on `data` on `ctx`, writing one C-ordered result per
/// requested axis, or the magnitude alone, into `outputs`.
///
/// f16 results on a device without `SHADER_F16` are computed and read back
/// in f32 and rounded on the host; f64 input on a device without
/// `SHADER_F64` (with f32 or f16 results) is rounded to f32 on the host
/// first. Every other combination is converted in the shader.
fn run<O: Element, I: Input>(
    ctx: &GpuContext,
    plan: &Plan,
    data: &HostInput<'_, I>,
    request: Request,
    outputs: &mut [&mut [O]],
) -> Result<()> {
    ctx.check_health()?;
    let stored = Stored::of::<O>();
    if stored == Stored::F16 && !ctx.supports_f16() {
        let wide = ctx.run_plan::<f32, I>(plan, data, request)?;
        for (out, wide) in outputs.iter_mut().zip(wide) {
            for (o, x) in out.iter_mut().zip(wide) {
                *o = O::from_f64(f64::from(x));
            }
        }
        return Ok(());
    }
    if stored == Stored::F64 && !ctx.supports_f64() {
        return Err(Error::NoF64 {
            adapter: ctx.adapter_info().name.clone(),
        });
    }
    if InputKind::of::<I>() == InputKind::F64 && !ctx.supports_f64() {
        let narrow = data.to_vec(|x| x.to_f64() as f32);
        return run::<O, f32>(ctx, plan, &HostInput::Contiguous(&narrow), request, outputs);
    }
    if plan.axes.is_empty() {
        if request == Request::Magnitude {
            outputs[0].fill(O::from_f64(0.0));
        }
        return Ok(());
    }
    if plan.is_empty() {
        return Ok(());
    }
    let mut recording = Recording::new(ctx, plan, InputKind::of::<I>(), stored, request);
    if request == Request::Magnitude && recording.kind().path != Path::FusedMagnitude {
        let mut components = (0..plan.axes.len())
            .map(|_| crate::outputs::filled(plan.len(), O::from_f64(f64::NAN), "a GPU component"))
            .collect::<Result<Vec<_>>>()?;
        let mut dsts: Vec<&mut [O]> = components.iter_mut().map(Vec::as_mut_slice).collect();
        stream(ctx, data, &mut recording, &mut dsts)?;
        magnitude_of(&components, outputs[0]);
        return Ok(());
    }
    stream(ctx, data, &mut recording, outputs)
}

/// `sqrt(Σ c²)` per element, summed in f64 in the order of the components,
/// into `out`: the magnitude where the fused kernel does not apply.
fn magnitude_of<O: Element>(components: &[Vec<O>], out: &mut [O]) {
    for (k, o) in out.iter_mut().enumerate() {
        let sum: f64 = components.iter().map(|c| c[k].to_f64().powi(2)).sum();
        *o = O::from_f64(sum.sqrt());
    }
}

/// Streams `data` through the device slab by slab, two slabs in flight,
/// reading each slab's results back into `outputs`.
fn stream<O: Element, I: Input>(
    ctx: &GpuContext,
    data: &HostInput<'_, I>,
    recording: &mut Recording<'_>,
    outputs: &mut [&mut [O]],
) -> Result<()> {
    let slabs = recording.slabs(0)?;
    let coef_bytes = recording.coefs().byte_len(recording.kind().stored);
    if coef_bytes > ctx.limits.max_buffer_size {
        return Err(Error::ExceedsGpuLimits {
            what: "the coefficients of the requested axes".into(),
            needed: coef_bytes,
            limit: ctx.limits.max_buffer_size,
        });
    }
    let mut ws = ctx.take_workspace();
    ctx.scoped("computing a gradient", || {
        stream_slabs(ctx, data, &slabs, recording, &mut ws, outputs)
    })?;
    ctx.return_workspace(ws);
    Ok(())
}

/// A slab submitted and not yet read back.
struct InFlight {
    set: usize,
    elements: std::ops::Range<usize>,
    submission: wgpu::SubmissionIndex,
}

/// Uploads the coefficients, then per slab: uploads its input, records its
/// jobs and the copy of its outputs to staging, submits, and reads back the
/// slab before it.
fn stream_slabs<O: Element, I: Input>(
    ctx: &GpuContext,
    data: &HostInput<'_, I>,
    slabs: &SlabPlan,
    recording: &mut Recording<'_>,
    ws: &mut Workspace,
    outputs: &mut [&mut [O]],
) -> Result<()> {
    use wgpu::BufferUsages as U;
    let kind = *recording.kind();
    let plane_len = slabs.plane_len;
    let coefs = recording.coefs();
    let coef_buffer = transfer::ensure(
        ctx,
        &mut ws.coefs,
        "ndgrad coefficients",
        coefs.byte_len(kind.stored),
        U::STORAGE | U::COPY_DST,
    );
    transfer::upload(ctx, coef_buffer, &coefs.bytes(kind.stored));
    let coef_buffer = coef_buffer.clone();
    let mut in_flight: Option<InFlight> = None;
    for (k, slab) in slabs.slabs.iter().enumerate() {
        let set_index = k % 2;
        let set = &mut ws.sets[set_index];
        // A strided input is copied into C order here, one slab at a
        // time, straight into the memory the upload is made from.
        let loaded = data.planes(slab.load.clone(), plane_len);
        let input = transfer::upload_input(ctx, &mut set.input, &loaded);
        let computed = slab.compute.start * plane_len..slab.compute.end * plane_len;
        let out_bytes = computed.len() as u64 * kind.stored.size();
        let jobs = recording.jobs(slab, plane_len)?;
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
        recording.record(&mut encoder, &jobs, &bindings, None)?;
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

/// Reads the outputs of a finished slab into the host outputs.
fn read_slab<O: Element>(
    ctx: &GpuContext,
    set: &SlabBuffers,
    done: InFlight,
    outputs: &mut [&mut [O]],
) -> Result<()> {
    let mut dsts: Vec<&mut [O]> = outputs
        .iter_mut()
        .map(|o| &mut o[done.elements.clone()])
        .collect();
    transfer::read_back_many(ctx, &set.staging, &mut dsts, done.submission)
}
