//! Moving data: the reusable buffers of one call, uploads, poisoning, and
//! readback through a MAP_READ staging buffer.

use super::context::GpuContext;
use crate::error::{Error, Result};

/// The bit pattern written over output buffers when
/// [`super::GpuOptions::poison_outputs`] is set: a quiet NaN with a payload no
/// arithmetic produces, so an element no kernel wrote stands out.
pub(crate) const POISON_F32: u32 = 0x7fc0_0bad;
/// The `f64` poison (see [`POISON_F32`]).
pub(crate) const POISON_F64: u64 = 0x7ff8_0000_0000_0bad;

/// The buffers one call works with. Kept by the context between calls and
/// grown on demand, never shrunk.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    /// The slab of input being worked on.
    pub(crate) input: Option<wgpu::Buffer>,
    /// The coefficients of every requested axis.
    pub(crate) coefs: Option<wgpu::Buffer>,
    /// The uniform parameters of the dispatches of one submission.
    pub(crate) params: Option<wgpu::Buffer>,
    /// The output of one axis on one slab.
    pub(crate) output: Option<wgpu::Buffer>,
    /// Where `output` is copied to be read by the host.
    pub(crate) staging: Option<wgpu::Buffer>,
}

/// Returns `slot`'s buffer, replacing it with a larger one if it holds fewer
/// than `size` bytes.
pub(crate) fn ensure<'a>(
    ctx: &GpuContext,
    slot: &'a mut Option<wgpu::Buffer>,
    label: &'static str,
    size: u64,
    usage: wgpu::BufferUsages,
) -> &'a wgpu::Buffer {
    // Sizes are rounded up to whole 4-byte words: copies and writes move words.
    let size = size.max(4).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
    if slot.as_ref().is_some_and(|b| b.size() >= size) {
        return slot.as_ref().expect("checked above");
    }
    slot.insert(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage,
        mapped_at_creation: false,
    }))
}

/// Writes `bytes` at the start of `buffer` (takes effect before the next
/// submission).
pub(crate) fn upload(ctx: &GpuContext, buffer: &wgpu::Buffer, bytes: &[u8]) {
    ctx.queue.write_buffer(buffer, 0, bytes);
}

/// Fills the first `len` elements of `buffer` with the poison of an element
/// of `elem_size` bytes.
pub(crate) fn poison(ctx: &GpuContext, buffer: &wgpu::Buffer, len: usize, elem_size: u64) {
    let bytes: Vec<u8> = if elem_size == 8 {
        bytemuck::cast_slice(&vec![POISON_F64; len]).to_vec()
    } else {
        bytemuck::cast_slice(&vec![POISON_F32; len]).to_vec()
    };
    upload(ctx, buffer, &bytes);
}

/// Maps the first `dst`-sized bytes of `staging` (whose copy has been
/// submitted), copies them into `dst`, and unmaps.
///
/// # Errors
///
/// [`Error::BufferMap`] when mapping fails; the errors of
/// [`GpuContext::wait`].
pub(crate) fn read_back<T: bytemuck::Pod>(
    ctx: &GpuContext,
    staging: &wgpu::Buffer,
    dst: &mut [T],
) -> Result<()> {
    let dst: &mut [u8] = bytemuck::cast_slice_mut(dst);
    let slice = staging.slice(..dst.len() as u64);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        // A send fails only if we already gave up waiting with an error,
        // when the result no longer matters.
        let _ = tx.send(r);
    });
    if let Err(e) = ctx.wait_for(&rx)? {
        return Err(ctx.check_health().err().unwrap_or(Error::BufferMap {
            message: e.to_string(),
        }));
    }
    let copied = match slice.get_mapped_range() {
        Ok(view) => {
            dst.copy_from_slice(&view);
            Ok(())
        }
        Err(e) => Err(Error::BufferMap {
            message: e.to_string(),
        }),
    };
    staging.unmap();
    copied
}
