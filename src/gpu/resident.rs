//! The resident calls: uploads to a [`GpuArray`], and gradients whose
//! inputs and outputs stay on the device, recorded into the caller's
//! command encoder (or one of their own, then submitted) by the one core,
//! [`Recording`], each slab bound as a window of the resident buffers.

use ndarray::{ArrayBase, Data, Dimension};
use wgpu::util::DeviceExt;

use super::array::GpuArray;
use super::context::GpuContext;
use super::jobs::{Params, Path, RunKind};
use super::record::{params_bytes, Bindings, Recording, Window};
use super::source::HostInput;
use super::transfer::{POISON_F16_PAIR, POISON_F32, POISON_F64};
use super::types::{InputKind, Stored};
use crate::element::{Element, Input};
use crate::error::{Error, Result};
use crate::options::GradientOptions;
use crate::plan::{Plan, Request};

/// A new output buffer of `bytes` bytes, filled with the poison of `stored`
/// when the context asks for it (at creation, so no queue write is ordered
/// against the caller's work).
fn output_buffer(ctx: &GpuContext, bytes: u64, stored: Stored) -> wgpu::Buffer {
    use wgpu::BufferUsages as U;
    let usage = U::STORAGE | U::COPY_SRC | U::COPY_DST;
    let size = bytes.max(8).next_multiple_of(8);
    if !ctx.poison {
        return ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("ndgrad resident output"),
            size,
            usage,
            mapped_at_creation: false,
        });
    }
    let size = size as usize;
    let contents: Vec<u8> = match stored {
        Stored::F64 => bytemuck::cast_slice(&vec![POISON_F64; size / 8]).to_vec(),
        Stored::F32 => bytemuck::cast_slice(&vec![POISON_F32; size / 4]).to_vec(),
        Stored::F16 => bytemuck::cast_slice(&vec![POISON_F16_PAIR; size / 4]).to_vec(),
    };
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("ndgrad resident output"),
            contents: &contents,
            usage,
        })
}

impl GpuContext {
    /// Copies `f` to the device as a [`GpuArray`] in its own type (u8 and
    /// 16-bit types packed, so a u16 volume takes half the bytes of f32).
    /// Arrays in any memory layout are accepted. The device holds them in C
    /// order: the elements are written straight into the new buffer's mapped
    /// memory, a strided array copied into C order on the way, tile by tile,
    /// with no whole-array copy on the host.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndgrad::gpu::GpuContext;
    ///
    /// let Ok(ctx) = GpuContext::new() else { return Ok(()) }; // no GPU here
    /// let f = array![[1.0f64, 2.0], [3.0, 4.0]];
    /// let on_gpu = ctx.upload(&f.t())?; // transposed: stored in C order
    /// assert_eq!(on_gpu.to_host(&ctx)?, f.t().into_dyn());
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ExceedsGpuLimits`] when the array is larger than one buffer;
    /// [`Error::Gpu`] and [`Error::DeviceLost`] when the device fails;
    /// [`Error::BufferMap`] when the new buffer cannot be written.
    pub fn upload<I, S, D>(&self, f: &ArrayBase<S, D>) -> Result<GpuArray<I>>
    where
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        self.check_health()?;
        let data = HostInput::of(f);
        let padded = InputKind::of::<I>().buffer_bytes(data.len() as u64);
        if padded > self.limits.max_buffer_size {
            return Err(Error::ExceedsGpuLimits {
                what: format!("a device-resident array of shape {:?}", f.shape()),
                needed: padded,
                limit: self.limits.max_buffer_size,
            });
        }
        let buffer = self.scoped("uploading an array", || {
            let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("ndgrad resident array"),
                size: padded,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: true,
            });
            let written = buffer.get_mapped_range_mut(..).map(|mut view| {
                data.write_padded(view.slice(..));
            });
            buffer.unmap();
            written.map_err(|e| Error::BufferMap {
                message: e.to_string(),
            })?;
            Ok(buffer)
        })?;
        Ok(GpuArray::new_unchecked(f.shape().to_vec(), buffer))
    }

    /// The gradient of the resident array `f`, kept on the device: one
    /// [`GpuArray`] of `O` per requested axis, like `numpy.gradient` on a
    /// CuPy array. Nothing is read back; call [`GpuArray::to_host`] for the
    /// values. The same kernels as [`GpuContext::gradient_as`], so the
    /// results are bit for bit the same.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndgrad::gpu::GpuContext;
    /// use ndgrad::GradientOptions;
    ///
    /// let Ok(ctx) = GpuContext::new() else { return Ok(()) }; // no GPU here
    /// let f = ctx.upload(&array![[1.0f32, 2.0, 6.0], [3.0, 4.0, 5.0]])?;
    /// let g = ctx.gradient_resident::<f32, f32>(&f, &GradientOptions::new())?;
    /// assert_eq!(
    ///     g[1].to_host(&ctx)?,
    ///     array![[1.0f32, 2.5, 4.0], [1.0, 1.0, 1.0]].into_dyn()
    /// );
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`GpuContext::encode_gradient`]; [`Error::Gpu`] and
    /// [`Error::DeviceLost`] when the submission fails.
    pub fn gradient_resident<O: Element, I: Input>(
        &self,
        f: &GpuArray<I>,
        opts: &GradientOptions,
    ) -> Result<Vec<GpuArray<O>>> {
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("ndgrad resident gradient"),
            });
        let outputs = self.encode_gradient(&mut encoder, f, opts)?;
        self.scoped("submitting a gradient", || {
            self.queue.submit([encoder.finish()]);
            Ok(())
        })?;
        Ok(outputs)
    }

    /// Records the gradient of `f` into the application's `encoder`, so it
    /// runs in the same submission as the application's own work. The
    /// returned arrays hold the gradient once that submission completes.
    /// Parameters and coefficients go into buffers initialised at creation,
    /// so nothing depends on the order of queue writes.
    ///
    /// An array larger than one storage binding is computed in slabs along
    /// its outermost axis, each bound as a window of the resident buffers
    /// (with the halo planes its stencil reads), all recorded into
    /// `encoder`.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndgrad::gpu::{wgpu, GpuContext};
    /// use ndgrad::GradientOptions;
    ///
    /// let Ok(ctx) = GpuContext::new() else { return Ok(()) }; // no GPU here
    /// let f = ctx.upload(&array![1.0f32, 4.0, 9.0, 16.0])?;
    /// let mut encoder = ctx
    ///     .device()
    ///     .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    /// // ... the application's own passes ...
    /// let g = ctx.encode_gradient::<f32, f32>(&mut encoder, &f, &GradientOptions::new())?;
    /// ctx.queue().submit([encoder.finish()]);
    /// assert_eq!(g[0].to_host(&ctx)?, array![3.0f32, 4.0, 6.0, 7.0].into_dyn());
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Every option error of [`Plan::new`]; [`Error::NoF64`] for f64 input
    /// or results without `SHADER_F64`; [`Error::NoF16`] for f16 results
    /// without `SHADER_F16`; [`Error::InvalidGpuArray`] when `f`'s buffer is
    /// too small or not `STORAGE`; [`Error::ExceedsGpuLimits`] when one
    /// plane of the outermost axis with its halo, or the coefficients, do
    /// not fit one binding; [`Error::GpuUnsupported`] when a slab-split
    /// array would need the per-axis kernels ([`super::config::AxisKernels::PerAxis`],
    /// or a coefficient table larger than one binding); [`Error::Gpu`] and
    /// [`Error::DeviceLost`] when the device fails.
    pub fn encode_gradient<O: Element, I: Input>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        f: &GpuArray<I>,
        opts: &GradientOptions,
    ) -> Result<Vec<GpuArray<O>>> {
        self.encode_request(encoder, f, opts, Request::Components)
    }

    /// The gradient magnitude of the resident array `f`,
    /// `sqrt(Σᵢ (∂f/∂xᵢ)²)` over the requested axes, kept on the device:
    /// the device-resident [`crate::gradient_magnitude_as`], computed by the
    /// fused kernel without writing the components.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndgrad::gpu::GpuContext;
    /// use ndgrad::GradientOptions;
    ///
    /// let Ok(ctx) = GpuContext::new() else { return Ok(()) }; // no GPU here
    /// let f = ctx.upload(&array![[0.0f32, 3.0], [4.0, 7.0]])?;
    /// let m = ctx.gradient_magnitude_resident::<f32, f32>(&f, &GradientOptions::new())?;
    /// assert_eq!(m.to_host(&ctx)?, array![[5.0f32, 5.0], [5.0, 5.0]].into_dyn());
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`GpuContext::encode_gradient_magnitude`]; [`Error::Gpu`] and
    /// [`Error::DeviceLost`] when the submission fails.
    pub fn gradient_magnitude_resident<O: Element, I: Input>(
        &self,
        f: &GpuArray<I>,
        opts: &GradientOptions,
    ) -> Result<GpuArray<O>> {
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("ndgrad resident magnitude"),
            });
        let mut outputs = self.encode_request(&mut encoder, f, opts, Request::Magnitude)?;
        self.scoped("submitting a gradient magnitude", || {
            self.queue.submit([encoder.finish()]);
            Ok(())
        })?;
        Ok(outputs
            .pop()
            .expect("a magnitude request returns one array"))
    }

    /// Records the gradient magnitude of `f` into the application's
    /// `encoder`, as [`GpuContext::encode_gradient`] records the components.
    ///
    /// # Errors
    ///
    /// As [`GpuContext::encode_gradient`], and [`Error::GpuUnsupported`] for
    /// more than eight axes (the fused kernel's most; the host entry
    /// [`GpuContext::gradient_magnitude_as`] combines the components then).
    pub fn encode_gradient_magnitude<O: Element, I: Input>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        f: &GpuArray<I>,
        opts: &GradientOptions,
    ) -> Result<GpuArray<O>> {
        let mut outputs = self.encode_request(encoder, f, opts, Request::Magnitude)?;
        Ok(outputs
            .pop()
            .expect("a magnitude request returns one array"))
    }

    /// The resident call: checks `f` and the device, plans, makes the
    /// outputs and records every slab of the gradient into `encoder` with
    /// the one core, [`Recording`].
    fn encode_request<O: Element, I: Input>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        f: &GpuArray<I>,
        opts: &GradientOptions,
        request: Request,
    ) -> Result<Vec<GpuArray<O>>> {
        self.check_health()?;
        let (input, stored) = (InputKind::of::<I>(), Stored::of::<O>());
        self.check_resident_types(input, stored)?;
        // Re-check an array whose fields were built elsewhere in the crate.
        let f = GpuArray::<I>::from_buffer(f.buffer().clone(), f.shape())?;
        let plan = Plan::new(f.shape(), opts)?;
        let len = plan.len();
        let out_bytes = len as u64 * stored.size();
        let count = match request {
            Request::Components => plan.axes.len(),
            Request::Magnitude => 1,
        };
        if plan.axes.is_empty() {
            // The magnitude over no axes is zero everywhere (a fresh buffer
            // is zeroed); there are no components.
            return Ok((0..count)
                .map(|_| {
                    GpuArray::new_unchecked(
                        f.shape().to_vec(),
                        self.device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("ndgrad resident output"),
                            size: out_bytes.max(8).next_multiple_of(8),
                            usage: wgpu::BufferUsages::STORAGE
                                | wgpu::BufferUsages::COPY_SRC
                                | wgpu::BufferUsages::COPY_DST,
                            mapped_at_creation: false,
                        }),
                    )
                })
                .collect());
        }
        let outputs: Vec<GpuArray<O>> = (0..count)
            .map(|_| {
                GpuArray::new_unchecked(f.shape().to_vec(), output_buffer(self, out_bytes, stored))
            })
            .collect();
        if plan.is_empty() {
            return Ok(outputs);
        }
        let mut recording = Recording::new(self, &plan, input, stored, request);
        record_slabs(self, &mut recording, &plan, request, encoder, &f, &outputs)?;
        Ok(outputs)
    }

    /// Refuses element types the device cannot compute resident (there is
    /// no host fallback here, unlike [`GpuContext::gradient_as`]).
    fn check_resident_types(&self, input: InputKind, stored: Stored) -> Result<()> {
        let no_f64 = || Error::NoF64 {
            adapter: self.adapter_info().name.clone(),
        };
        if stored == Stored::F64 && !self.supports_f64() {
            return Err(no_f64());
        }
        if input == InputKind::F64 && !self.supports_f64() {
            return Err(no_f64());
        }
        if stored == Stored::F16 && !self.supports_f16() {
            return Err(Error::NoF16 {
                adapter: self.adapter_info().name.clone(),
            });
        }
        Ok(())
    }
}

/// Records every slab of `recording` (of `plan`) into `encoder`, reading
/// the resident `f` and writing `outputs`: each slab bound as a window of
/// the resident buffers (with the halo planes its stencil reads), its
/// parameters and the coefficients in buffers initialised at creation.
fn record_slabs<I: Input, O: Element>(
    ctx: &GpuContext,
    recording: &mut Recording<'_>,
    plan: &Plan,
    request: Request,
    encoder: &mut wgpu::CommandEncoder,
    f: &GpuArray<I>,
    outputs: &[GpuArray<O>],
) -> Result<()> {
    let RunKind { input, stored, .. } = *recording.kind();
    let path = recording.kind().path;
    if request == Request::Magnitude && path != Path::FusedMagnitude {
        return Err(Error::GpuUnsupported {
            what: format!(
                "a device-resident gradient magnitude over {} axes",
                plan.axes.len()
            ),
            instead: "the fused kernel takes at most 8 axes and a coefficient table that fits one binding; use GpuContext::gradient_magnitude_as, which combines the components on the host".into(),
        });
    }
    let align = u64::from(ctx.limits.storage_offset_alignment);
    let slabs = recording.slabs(align)?;
    if slabs.slabs.len() > 1 && path == Path::PerAxis {
        return Err(Error::GpuUnsupported {
            what: format!(
                "splitting the device-resident array of shape {:?} into slabs with the per-axis kernels",
                f.shape()
            ),
            instead: "use the fused kernels (AxisKernels::Auto) or GpuContext::gradient, which streams from the host".into(),
        });
    }
    let coef_bytes = recording.coefs().bytes(stored);
    if coef_bytes.len() as u64 > ctx.limits.max_buffer_size {
        return Err(Error::ExceedsGpuLimits {
            what: "the coefficients of the requested axes".into(),
            needed: coef_bytes.len() as u64,
            limit: ctx.limits.max_buffer_size,
        });
    }
    let plane_len = slabs.plane_len;
    // Each slab's jobs, their input and output windows set.
    let mut work = Vec::new();
    for slab in &slabs.slabs {
        let mut jobs = recording.jobs(slab, plane_len)?;
        let (input_window, input_shift) = window(
            slab.load.start * plane_len,
            slab.load.len() * plane_len,
            input.size(),
            align,
        );
        let (output_window, output_shift) = window(
            slab.compute.start * plane_len,
            slab.compute.len() * plane_len,
            stored.size(),
            align,
        );
        for job in &mut jobs {
            if let Params::Fused(p) = &mut job.params {
                p.input_offset = input_shift;
                p.output_offset = output_shift;
            } else {
                debug_assert_eq!(slabs.slabs.len(), 1, "per-axis jobs bind whole arrays");
            }
        }
        work.push((jobs, input_window, output_window));
    }
    ctx.scoped("recording a gradient", || {
        let coef_buffer = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("ndgrad resident coefficients"),
                contents: &coef_bytes,
                usage: wgpu::BufferUsages::STORAGE,
            });
        for (jobs, (in_offset, in_size), (out_offset, out_size)) in &work {
            let params = ctx
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("ndgrad resident parameters"),
                    contents: &params_bytes(ctx, jobs),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
            let bindings = Bindings {
                params: &params,
                input: Window {
                    buffer: f.buffer(),
                    offset: *in_offset,
                    size: *in_size,
                },
                coefs: &coef_buffer,
                outputs: outputs
                    .iter()
                    .map(|o| Window {
                        buffer: o.buffer(),
                        offset: *out_offset,
                        size: *out_size,
                    })
                    .collect(),
                real_size: stored.real().size(),
            };
            recording.record(encoder, jobs, &bindings, None)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The window of a resident buffer holding `count` elements of `size`
/// bytes from element `first`: `((offset, bytes), shift)`, the offset
/// rounded down to `align` bytes and the element at `first` lying `shift`
/// elements into the window.
fn window(first: usize, count: usize, size: u64, align: u64) -> ((u64, u64), u32) {
    let start = first as u64 * size;
    let offset = start - start % align;
    let bytes = start + count as u64 * size - offset;
    ((offset, bytes), ((start - offset) / size) as u32)
}
