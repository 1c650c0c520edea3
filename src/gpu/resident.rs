//! Device-resident arrays: [`GpuArray`], uploads, gradients whose inputs and
//! outputs stay on the device, recording into the caller's command encoder,
//! and readback on demand.

use std::collections::HashMap;
use std::marker::PhantomData;

use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};
use wgpu::util::DeviceExt;

use super::context::GpuContext;
use super::execute::{self, Bindings, Params, Path, RunKind, Window};
use super::kernels::{InputKind, Stored};
use super::transfer::{self, POISON_F16_PAIR, POISON_F32, POISON_F64};
use crate::dispatch::Request;
use crate::element::{Element, Input};
use crate::error::{Error, Result};
use crate::options::GradientOptions;
use crate::plan::Plan;

/// An N-d array on the GPU: a shape and a `wgpu::Buffer` holding the
/// elements in C order, the way the kernels read them (u8, u16, i16 and f16
/// packed two or four to a little-endian 32-bit word, the last word
/// zero-padded; i32, f32 and f64 as they are). Like a CuPy or torch CUDA
/// array that `numpy.gradient`'s GPU counterparts take and return.
///
/// Made by [`GpuContext::upload`], returned by
/// [`GpuContext::gradient_resident`] and [`GpuContext::encode_gradient`], or
/// wrapped around an application's buffer by [`GpuArray::from_buffer`]; read
/// back with [`GpuArray::to_host`]. The buffer belongs to the device it was
/// created on: use it only with a context on that device.
///
/// ```
/// use ndarray::array;
/// use ndgrad::gpu::GpuContext;
///
/// let Ok(ctx) = GpuContext::new() else { return Ok(()) }; // no GPU here
/// let f = ctx.upload(&array![[1u16, 2, 4], [7, 11, 16]])?;
/// assert_eq!(f.shape(), &[2, 3]);
/// assert_eq!(f.len(), 6);
/// assert_eq!(f.to_host(&ctx)?, array![[1u16, 2, 4], [7, 11, 16]].into_dyn());
/// # Ok::<(), ndgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GpuArray<T: Input> {
    shape: Vec<usize>,
    buffer: wgpu::Buffer,
    elements: PhantomData<T>,
}

/// The number of elements of `shape`, or an error when it overflows.
fn element_count(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| Error::InvalidGpuArray {
            reason: format!("the shape {shape:?} has more elements than a usize holds"),
        })
}

impl<T: Input> GpuArray<T> {
    /// Wraps an application's buffer holding an array of `shape` in the
    /// layout [`GpuArray`] describes. The buffer must have `STORAGE` usage
    /// (to be computed on) and hold at least the array's bytes rounded up to
    /// whole 4-byte words; [`GpuArray::to_host`] also needs `COPY_SRC`.
    ///
    /// ```
    /// use ndgrad::gpu::{wgpu, GpuArray, GpuContext};
    ///
    /// let Ok(ctx) = GpuContext::new() else { return Ok(()) }; // no GPU here
    /// let buffer = ctx.device().create_buffer(&wgpu::BufferDescriptor {
    ///     label: Some("my field"),
    ///     size: 3 * 5 * 4,
    ///     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    ///     mapped_at_creation: false,
    /// });
    /// let f = GpuArray::<f32>::from_buffer(buffer.clone(), &[3, 5])?;
    /// assert_eq!(f.len(), 15);
    /// // Too small for the shape:
    /// assert!(GpuArray::<f32>::from_buffer(buffer, &[4, 5]).is_err());
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidGpuArray`] when the buffer lacks `STORAGE` usage, is
    /// smaller than the shape needs, or the shape's element count overflows.
    pub fn from_buffer(buffer: wgpu::Buffer, shape: &[usize]) -> Result<GpuArray<T>> {
        let len = element_count(shape)?;
        if !buffer.usage().contains(wgpu::BufferUsages::STORAGE) {
            return Err(Error::InvalidGpuArray {
                reason: format!(
                    "the buffer's usage {:?} lacks STORAGE, which the kernels bind it as",
                    buffer.usage()
                ),
            });
        }
        let needed = InputKind::of::<T>().buffer_bytes(len as u64);
        if buffer.size() < needed {
            return Err(Error::InvalidGpuArray {
                reason: format!(
                    "a {} array of shape {shape:?} needs {needed} bytes, but the buffer has {}",
                    T::NUMPY_NAME,
                    buffer.size()
                ),
            });
        }
        Ok(GpuArray {
            shape: shape.to_vec(),
            buffer,
            elements: PhantomData,
        })
    }

    /// The extent of each axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer holding the elements, to bind in the application's own
    /// passes.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// The bytes the elements occupy, rounded up to whole words.
    fn bytes(&self) -> u64 {
        InputKind::of::<T>().buffer_bytes(self.len() as u64)
    }

    /// Copies the array to the host through one MAP_READ staging buffer,
    /// waiting for the work submitted before it (including an
    /// [`GpuContext::encode_gradient`] submission that wrote it).
    ///
    /// ```
    /// use ndarray::array;
    /// use ndgrad::gpu::GpuContext;
    ///
    /// let Ok(ctx) = GpuContext::new() else { return Ok(()) }; // no GPU here
    /// let f = ctx.upload(&array![1.5f32, -2.0, 7.25])?;
    /// assert_eq!(f.to_host(&ctx)?, array![1.5f32, -2.0, 7.25].into_dyn());
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidGpuArray`] when the buffer lacks `COPY_SRC` usage;
    /// [`Error::Gpu`], [`Error::DeviceLost`] and [`Error::BufferMap`] when
    /// the device fails.
    pub fn to_host(&self, ctx: &GpuContext) -> Result<ArrayD<T>> {
        if !self.buffer.usage().contains(wgpu::BufferUsages::COPY_SRC) {
            return Err(Error::InvalidGpuArray {
                reason: format!(
                    "the buffer's usage {:?} lacks COPY_SRC, needed to read it back",
                    self.buffer.usage()
                ),
            });
        }
        ctx.check_health()?;
        let mut host = vec![<T as bytemuck::Zeroable>::zeroed(); self.len()];
        let bytes = self.bytes();
        ctx.scoped("reading a GPU array back", || {
            let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("ndgrad staging"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("ndgrad readback"),
                });
            encoder.copy_buffer_to_buffer(&self.buffer, 0, &staging, 0, bytes);
            let submission = ctx.queue.submit([encoder.finish()]);
            transfer::read_back_many(ctx, &[Some(staging)], &mut [&mut host[..]], submission)
        })?;
        Ok(ArrayD::from_shape_vec(IxDyn(&self.shape), host)
            .expect("one element read per element of the shape"))
    }
}

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
    /// Arrays in any memory layout are accepted; others than C order are
    /// made contiguous on the host first.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndgrad::gpu::GpuContext;
    ///
    /// let Ok(ctx) = GpuContext::new() else { return Ok(()) }; // no GPU here
    /// let f = array![[1.0f64, 2.0], [3.0, 4.0]];
    /// let on_gpu = ctx.upload(&f.t())?; // transposed: copied to C order first
    /// assert_eq!(on_gpu.to_host(&ctx)?, f.t().into_dyn());
    /// # Ok::<(), ndgrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ExceedsGpuLimits`] when the array is larger than one buffer;
    /// [`Error::Gpu`] and [`Error::DeviceLost`] when the device fails.
    pub fn upload<I, S, D>(&self, f: &ArrayBase<S, D>) -> Result<GpuArray<I>>
    where
        I: Input,
        S: Data<Elem = I>,
        D: Dimension,
    {
        self.check_health()?;
        let data = f.as_standard_layout();
        let data = data
            .as_slice()
            .expect("an array in standard layout is contiguous");
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let padded = InputKind::of::<I>().buffer_bytes(data.len() as u64);
        if padded > self.limits.max_buffer_size {
            return Err(Error::ExceedsGpuLimits {
                what: format!("a device-resident array of shape {:?}", f.shape()),
                needed: padded,
                limit: self.limits.max_buffer_size,
            });
        }
        let mut contents = bytes.to_vec();
        contents.resize(padded as usize, 0);
        let buffer = self.scoped("uploading an array", || {
            Ok(self
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("ndgrad resident array"),
                    contents: &contents,
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_SRC
                        | wgpu::BufferUsages::COPY_DST,
                }))
        })?;
        Ok(GpuArray {
            shape: f.shape().to_vec(),
            buffer,
            elements: PhantomData,
        })
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
    /// array would need the per-axis kernels ([`super::AxisKernels::PerAxis`],
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

    fn encode_request<O: Element, I: Input>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        f: &GpuArray<I>,
        opts: &GradientOptions,
        request: Request,
    ) -> Result<Vec<GpuArray<O>>> {
        self.check_health()?;
        let stored = Stored::of::<O>();
        let input = InputKind::of::<I>();
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
        // Re-check an array whose fields were built elsewhere in the crate.
        let f = GpuArray::<I>::from_buffer(f.buffer.clone(), &f.shape)?;
        let plan = Plan::new(&f.shape, opts)?;
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
                .map(|_| GpuArray {
                    shape: f.shape.clone(),
                    buffer: self.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("ndgrad resident output"),
                        size: out_bytes.max(8).next_multiple_of(8),
                        usage: wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_SRC
                            | wgpu::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    }),
                    elements: PhantomData,
                })
                .collect());
        }
        let outputs: Vec<GpuArray<O>> = (0..count)
            .map(|_| GpuArray {
                shape: f.shape.clone(),
                buffer: output_buffer(self, out_bytes, stored),
                elements: PhantomData,
            })
            .collect();
        if plan.is_empty() {
            return Ok(outputs);
        }
        let kind = RunKind::new(self, &plan, input, stored, request);
        let coefs = kind.coefs(self, &plan);
        if request == Request::Magnitude && kind.path == Path::PerAxis {
            return Err(Error::GpuUnsupported {
                what: format!(
                    "a device-resident gradient magnitude over {} axes",
                    plan.axes.len()
                ),
                instead: "the fused kernel takes at most 8 axes and a coefficient table that fits one binding; use GpuContext::gradient_magnitude_as, which combines the components on the host".into(),
            });
        }
        let align = u64::from(self.limits.storage_offset_alignment);
        let slabs = execute::slab_plan(self, &plan, &kind, align)?;
        if slabs.slabs.len() > 1 && kind.path == Path::PerAxis {
            return Err(Error::GpuUnsupported {
                what: format!(
                    "splitting the device-resident array of shape {:?} into slabs with the per-axis kernels",
                    f.shape
                ),
                instead: "use the fused kernels (AxisKernels::Auto) or GpuContext::gradient, which streams from the host".into(),
            });
        }
        let coef_bytes = coefs.bytes(stored);
        if coef_bytes.len() as u64 > self.limits.max_buffer_size {
            return Err(Error::ExceedsGpuLimits {
                what: "the coefficients of the requested axes".into(),
                needed: coef_bytes.len() as u64,
                limit: self.limits.max_buffer_size,
            });
        }
        let plane_len = slabs.plane_len;
        // Each slab's jobs, their input and output windows set.
        let mut work = Vec::new();
        for slab in &slabs.slabs {
            let mut jobs = execute::slab_jobs(self, &kind, &plan, &coefs, slab, plane_len)?;
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
        self.scoped("recording a gradient", || {
            let coef_buffer = self
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("ndgrad resident coefficients"),
                    contents: &coef_bytes,
                    usage: wgpu::BufferUsages::STORAGE,
                });
            let mut pipelines = HashMap::new();
            for (jobs, (in_offset, in_size), (out_offset, out_size)) in &work {
                let params = self
                    .device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("ndgrad resident parameters"),
                        contents: &execute::params_bytes(self, jobs),
                        usage: wgpu::BufferUsages::UNIFORM,
                    });
                let bindings = Bindings {
                    params: &params,
                    input: Window {
                        buffer: &f.buffer,
                        offset: *in_offset,
                        size: *in_size,
                    },
                    coefs: &coef_buffer,
                    outputs: outputs
                        .iter()
                        .map(|o| Window {
                            buffer: &o.buffer,
                            offset: *out_offset,
                            size: *out_size,
                        })
                        .collect(),
                    real_size: stored.real().size(),
                };
                execute::encode(self, encoder, jobs, &mut pipelines, &bindings, None)?;
            }
            Ok(())
        })?;
        Ok(outputs)
    }
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
