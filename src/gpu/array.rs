//! [`GpuArray`]: an N-d array held in a device buffer, in the layout the
//! kernels read, wrapped around a buffer of the application's or made by
//! the resident calls, and read back on demand.

use std::marker::PhantomData;

use ndarray::{ArrayD, IxDyn};

use super::context::GpuContext;
use super::transfer;
use super::types::InputKind;
use crate::element::Input;
use crate::error::{Error, Result};

/// An N-d array on the GPU: a shape and a `wgpu::Buffer` holding the
/// elements in C order, the way the kernels read them (i8, u8, u16, i16 and
/// f16 packed four or two to a little-endian 32-bit word, the last word
/// zero-padded; i32, u32, i64, u64, f32 and f64 as they are, 64-bit
/// integers read as two words). Like a CuPy or torch CUDA
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

impl<T: Input> GpuArray<T> {
    /// An array of `shape` in `buffer`, unchecked: for buffers this crate
    /// created for the shape.
    pub(super) fn new_unchecked(shape: Vec<usize>, buffer: wgpu::Buffer) -> GpuArray<T> {
        GpuArray {
            shape,
            buffer,
            elements: PhantomData,
        }
    }
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
