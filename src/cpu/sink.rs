//! Where the CPU traversal writes: the caller's output buffers, shared by
//! the parallel tasks that each write their own rows of them.

use crate::element::{same_type, Element};

/// The start of one output buffer, shared by the tasks that write it.
#[derive(Clone, Copy)]
pub(super) struct OutPtr<T>(pub(super) *mut T);

impl<T> OutPtr<T> {
    /// The `len` elements from `start` of the buffer.
    ///
    /// # Safety
    ///
    /// `start..start + len` lies inside the buffer, and no other reference
    /// to those elements exists while the returned one lives.
    #[allow(
        clippy::mut_from_ref,
        reason = "tasks write disjoint parts of a buffer they share"
    )]
    pub(super) unsafe fn row(&self, start: usize, len: usize) -> &mut [T] {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// Where the traversal puts what it computes.
pub(super) enum Sink<O> {
    /// One output per requested axis.
    Components(Vec<OutPtr<O>>),
    /// The magnitude, alone.
    Magnitude(OutPtr<O>),
}

// SAFETY: an `OutPtr` is made from a `&mut [T]` that `gradient_into` or
// `magnitude_into` holds for the whole parallel run, and each task writes only its own rows and
// columns of it (see `Traversal::task`), so sending or sharing the pointer
// between threads creates no data race. `T: Send` lets the values move.
unsafe impl<T: Send> Send for OutPtr<T> {}
// SAFETY: as for `Send`: shared access only ever writes disjoint elements.
unsafe impl<T: Send> Sync for OutPtr<T> {}

/// `row` seen as a row of `C` when `O` is `C`, so it can be computed into
/// directly; `None` when it needs a conversion (`f16` computed in `f32`).
pub(super) fn row_as<C: Element, O: Element>(row: &mut [O]) -> Option<&mut [C]> {
    // Same type, so same size and alignment: the cast cannot fail.
    same_type::<O, C>().then(|| bytemuck::cast_slice_mut(row))
}

/// Copies `src` into `dst` (of the same length) with non-temporal stores
/// where the CPU has them: the lines of `dst` are written to memory without
/// first being read into the cache (a "read for ownership"), which for an
/// output far bigger than the caches saves as many bytes of reads as it
/// writes. Callers call [`stream_fence`] once they are done streaming.
pub(super) fn stream<T: bytemuck::Pod>(dst: &mut [T], src: &[T]) {
    let dst: &mut [u8] = bytemuck::cast_slice_mut(dst);
    let src: &[u8] = bytemuck::cast_slice(src);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
        const V: usize = 16;
        let head = dst.as_ptr().align_offset(V).min(dst.len());
        let body = (dst.len() - head) / V * V;
        let (d_head, rest) = dst.split_at_mut(head);
        let (d_body, d_tail) = rest.split_at_mut(body);
        let (s_head, rest) = src.split_at(head);
        let (s_body, s_tail) = rest.split_at(body);
        d_head.copy_from_slice(s_head);
        for (d, s) in d_body.chunks_exact_mut(V).zip(s_body.chunks_exact(V)) {
            // SAFETY: SSE2 is part of the x86_64 baseline. `s` is 16
            // readable bytes (an unaligned load); `d` is 16 writable bytes
            // at a 16-byte-aligned address (`head` aligned the body), as
            // `_mm_stream_si128` requires.
            unsafe {
                _mm_stream_si128(
                    d.as_mut_ptr().cast::<__m128i>(),
                    _mm_loadu_si128(s.as_ptr().cast()),
                );
            }
        }
        d_tail.copy_from_slice(s_tail);
    }
    #[cfg(not(target_arch = "x86_64"))]
    dst.copy_from_slice(src);
}

/// Orders the non-temporal stores of [`stream`] before any later store, so
/// a thread that sees this task finished also sees its streamed output.
pub(super) fn stream_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SFENCE is part of SSE, in the x86_64 baseline; it only orders
    // stores.
    unsafe {
        std::arch::x86_64::_mm_sfence();
    }
}

#[cfg(test)]
mod tests {
    use super::stream;

    /// Every length and alignment of the head, body and tail of a streamed
    /// copy lands every element where a plain copy would.
    #[test]
    fn stream_copies_at_any_offset_and_length() {
        let src: Vec<f32> = (0..300).map(|i| i as f32 * 0.5 - 7.0).collect();
        for offset in 0..6 {
            for len in [0, 1, 3, 4, 5, 8, 17, 64, 255, 290] {
                let mut dst = vec![f32::NAN; 300];
                stream(&mut dst[offset..offset + len], &src[..len]);
                super::stream_fence();
                assert_eq!(&dst[offset..offset + len], &src[..len]);
                assert!(dst[..offset].iter().all(|v| v.is_nan()));
                assert!(dst[offset + len..].iter().all(|v| v.is_nan()));
            }
        }
        let src: Vec<f64> = (0..99).map(f64::from).collect();
        let mut dst = vec![0.0f64; 100];
        stream(&mut dst[1..], &src);
        assert_eq!(&dst[1..], &src[..]);
    }
}
