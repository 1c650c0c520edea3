//! Moving data: growing the reusable buffers of one call
//! ([`super::workspace`]), uploads (packed for compact inputs), poisoning,
//! and readback through MAP_READ staging buffers.

use super::context::GpuContext;
use super::source::HostInput;
use super::types::Stored;
use super::workspace::SlabBuffers;
use crate::element::Input;
use crate::error::{Error, Result};

/// The bit pattern written over f32 output buffers when
/// [`super::config::GpuOptions::poison_outputs`] is set: a quiet NaN with a payload no
/// arithmetic produces, so an element no kernel wrote stands out.
pub(crate) const POISON_F32: u32 = 0x7fc0_0bad;
/// The `f64` poison (see [`POISON_F32`]).
pub(crate) const POISON_F64: u64 = 0x7ff8_0000_0000_0bad;
/// The `f16` poison, two to a word (see [`POISON_F32`]).
pub(crate) const POISON_F16_PAIR: u32 = 0x7dad_7dad;

impl SlabBuffers {
    /// `count` output buffers of at least `bytes` each (poisoned when the
    /// context asks for it) and their staging buffers.
    pub(crate) fn ensure_outputs(
        &mut self,
        ctx: &GpuContext,
        count: usize,
        bytes: u64,
        stored: Stored,
    ) -> Vec<wgpu::Buffer> {
        use wgpu::BufferUsages as U;
        self.outputs.resize(count.max(self.outputs.len()), None);
        self.staging.resize(count.max(self.staging.len()), None);
        self.active = count;
        (0..count)
            .map(|k| {
                ensure(
                    ctx,
                    &mut self.staging[k],
                    "ndgrad staging",
                    bytes,
                    U::MAP_READ | U::COPY_DST,
                );
                let out = ensure(
                    ctx,
                    &mut self.outputs[k],
                    "ndgrad output",
                    bytes,
                    U::STORAGE | U::COPY_SRC | U::COPY_DST,
                );
                if ctx.poison {
                    poison(ctx, out, bytes, stored);
                }
                out.clone()
            })
            .collect()
    }

    /// Records the copy of each active output into its staging buffer.
    pub(crate) fn copy_to_staging(&self, encoder: &mut wgpu::CommandEncoder, bytes: u64) {
        let bytes = bytes.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        for k in 0..self.active {
            let (Some(out), Some(staging)) = (&self.outputs[k], &self.staging[k]) else {
                unreachable!("ensure_outputs created them");
            };
            encoder.copy_buffer_to_buffer(out, 0, staging, 0, bytes);
        }
    }
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
    // Sizes are rounded up to whole 8-byte units: copies and writes move
    // 4-byte words, and f64 poison 8-byte ones.
    let size = size.max(8).next_multiple_of(8);
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

/// Uploads `data` into `slot`'s buffer (grown if needed) in its compact
/// form, in C order, the last word zero-padded: the bytes go straight from
/// `data` into wgpu's staging memory (a strided input copied into C order on
/// the way, [`HostInput::write_padded`]), so a slab starting at any element
/// (an odd one of a u8 array, say) or of any layout lands at the start of the
/// buffer with no host copy of its own. Takes effect before the next
/// submission.
pub(crate) fn upload_input<I: Input>(
    ctx: &GpuContext,
    slot: &mut Option<wgpu::Buffer>,
    data: &HostInput<'_, I>,
) -> wgpu::Buffer {
    let padded = data.byte_len().next_multiple_of(4).max(4);
    let buffer = ensure(
        ctx,
        slot,
        "ndgrad input slab",
        padded,
        // COPY_SRC: `time_kernels` copies it with `copy_buffer_to_buffer`.
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
    );
    let size = wgpu::BufferSize::new(padded).expect("at least one word");
    // `None`: wgpu reported the error to the error scope the caller is in.
    if let Some(mut view) = ctx.queue.write_buffer_with(buffer, 0, size) {
        data.write_padded(view.slice(..));
    }
    buffer.clone()
}

/// Fills the first `bytes` bytes of `buffer` with the poison of `stored`.
pub(crate) fn poison(ctx: &GpuContext, buffer: &wgpu::Buffer, bytes: u64, stored: Stored) {
    let bytes = bytes.next_multiple_of(8) as usize;
    let data: Vec<u8> = match stored {
        Stored::F64 => bytemuck::cast_slice(&vec![POISON_F64; bytes / 8]).to_vec(),
        Stored::F32 => bytemuck::cast_slice(&vec![POISON_F32; bytes / 4]).to_vec(),
        Stored::F16 => bytemuck::cast_slice(&vec![POISON_F16_PAIR; bytes / 4]).to_vec(),
    };
    upload(ctx, buffer, &data);
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
    read_back_many(ctx, &[Some(staging.clone())], &mut [dst], None)
}

/// [`read_back`] of several staging buffers, into one destination each,
/// waiting only for `submission` (all submitted work when `None`), so later
/// submissions keep the device busy meanwhile.
pub(crate) fn read_back_many<T: bytemuck::Pod>(
    ctx: &GpuContext,
    staging: &[Option<wgpu::Buffer>],
    dsts: &mut [&mut [T]],
    submission: impl Into<Option<wgpu::SubmissionIndex>>,
) -> Result<()> {
    let submission = submission.into();
    let mut pending = Vec::with_capacity(dsts.len());
    for (buffer, dst) in staging.iter().zip(dsts.iter()) {
        let buffer = buffer.as_ref().ok_or_else(|| Error::BufferMap {
            message: "a staging buffer was not created".into(),
        })?;
        let bytes = std::mem::size_of_val::<[T]>(*dst) as u64;
        let slice = buffer.slice(..bytes.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT).max(4));
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            // A send fails only if we already gave up waiting with an error,
            // when the result no longer matters.
            let _ = tx.send(r);
        });
        pending.push((buffer, rx));
    }
    let mut result = Ok(());
    for ((buffer, rx), dst) in pending.iter().zip(dsts.iter_mut()) {
        if result.is_ok() {
            result = match ctx.wait_for(rx, submission.clone()) {
                Ok(Ok(())) => {
                    let dst: &mut [u8] = bytemuck::cast_slice_mut(dst);
                    let range = buffer.slice(..(dst.len() as u64).next_multiple_of(4).max(4));
                    match range.get_mapped_range() {
                        Ok(view) => {
                            dst.copy_from_slice(&view[..dst.len()]);
                            Ok(())
                        }
                        Err(e) => Err(Error::BufferMap {
                            message: e.to_string(),
                        }),
                    }
                }
                Ok(Err(e)) => Err(ctx.check_health().err().unwrap_or(Error::BufferMap {
                    message: e.to_string(),
                })),
                Err(e) => Err(e),
            };
        }
    }
    for (buffer, _) in &pending {
        buffer.unmap();
    }
    result
}
