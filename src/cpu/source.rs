//! Reading lanes of the input (runs of samples along the innermost axis)
//! straight from the caller's view, whatever its strides.

use std::ops::Range;

use ndarray::ArrayViewD;

use crate::element::{convert, Element, Input};

/// Where the traversal gets lane `cols` of the row whose first sample sits
/// `offset` elements from the view's first element.
///
/// The caller guarantees that the row's multi-index lies inside the view and
/// that `cols` lies inside `0..row_len`; every implementation relies on it.
pub(super) trait Lanes<T>: Sync {
    /// Whether [`Lanes::read`] writes into its buffer (and so needs one).
    const NEEDS_BUFFER: bool;

    /// The samples `cols` of the row at `offset`: borrowed from the input, or
    /// gathered into `buffer` (at least `cols.len()` long) and borrowed from it.
    fn read<'s>(&'s self, offset: isize, cols: Range<usize>, buffer: &'s mut [T]) -> &'s [T];
}

/// A view whose innermost axis has stride 1 (C order, stepped or reversed
/// outer axes, sub-views): every lane is a slice of the input, read in place.
pub(super) struct InPlace<'a, T> {
    pub(super) view: ArrayViewD<'a, T>,
}

impl<T: Sync> Lanes<T> for InPlace<'_, T> {
    const NEEDS_BUFFER: bool = false;

    #[inline(always)]
    fn read<'s>(&'s self, offset: isize, cols: Range<usize>, _buffer: &'s mut [T]) -> &'s [T] {
        // SAFETY: the row at `offset` is a row of the view and `cols` lies
        // inside it (the trait's contract), and the innermost stride is 1, so
        // the `cols.len()` elements from `offset + cols.start` are consecutive
        // elements of the view. The view borrows them immutably for 'a, which
        // outlives 's, and nobody writes them meanwhile.
        unsafe {
            let first = self.view.as_ptr().offset(offset + cols.start as isize);
            std::slice::from_raw_parts(first, cols.len())
        }
    }
}

/// A view read through a conversion, or with a strided innermost axis
/// (Fortran order, transposes, a stepped or reversed innermost axis): lanes
/// are gathered into a small per-task buffer, one lane at a time, and each
/// sample is converted from the input type `I` to the compute type as it is
/// loaded, so no input-sized copy is made.
pub(super) struct Gathered<'a, I> {
    pub(super) view: ArrayViewD<'a, I>,
    /// The innermost stride, in elements.
    pub(super) stride: isize,
}

impl<I: Input, C: Element> Lanes<C> for Gathered<'_, I> {
    const NEEDS_BUFFER: bool = true;

    #[inline(always)]
    fn read<'s>(&'s self, offset: isize, cols: Range<usize>, buffer: &'s mut [C]) -> &'s [C] {
        let lane = &mut buffer[..cols.len()];
        let base = self.view.as_ptr();
        if self.stride == 1 {
            // SAFETY: as in `InPlace::read`: with stride 1, the `cols.len()`
            // elements from `offset + cols.start` are consecutive elements of
            // the view, borrowed immutably for its lifetime.
            let run = unsafe {
                std::slice::from_raw_parts(base.offset(offset + cols.start as isize), cols.len())
            };
            // A contiguous run converts in a loop the compiler vectorises.
            for (sample, &x) in lane.iter_mut().zip(run) {
                *sample = convert(x);
            }
            return lane;
        }
        for (sample, j) in lane.iter_mut().zip(cols) {
            // SAFETY: sample `j` (inside `0..row_len`) of the row at `offset`
            // (inside the view) is an element of the view, which is valid for
            // reads for the view's lifetime.
            *sample = convert(unsafe { *base.offset(offset + j as isize * self.stride) });
        }
        lane
    }
}

/// A C-ordered copy of some planes of the input (the slab path): lanes are
/// slices of the copy. `origin` is the offset, in the copy's strides, of the
/// copy's first element as seen from the full array's first element, so the
/// traversal can keep using the full array's indices.
pub(super) struct SlabLanes<'a, T> {
    pub(super) slab: &'a [T],
    pub(super) origin: isize,
}

impl<T: Sync> Lanes<T> for SlabLanes<'_, T> {
    const NEEDS_BUFFER: bool = false;

    #[inline(always)]
    fn read<'s>(&'s self, offset: isize, cols: Range<usize>, _buffer: &'s mut [T]) -> &'s [T] {
        let start = (offset - self.origin) as usize + cols.start;
        &self.slab[start..start + cols.len()]
    }
}
