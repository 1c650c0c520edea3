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
