//! Output arrays the caller provides: checked against the plan before
//! anything runs, and handed to a backend as C-ordered buffers; and the
//! fresh result buffers, allocated fallibly.
//!
//! An output in standard (C) layout is handed over as it is, so the backend
//! writes it in place; any other layout gets one C-ordered temporary, which
//! is assigned to it once the backend is done.

use ndarray::{ArrayView, ArrayViewMut, Dimension};

use crate::element::Element;
use crate::error::{Error, Result};
use crate::plan::{Plan, Request};

/// A zero-filled buffer of `len` elements, or [`Error::OutOfMemory`]
/// instead of an abort when it cannot be allocated. Zero pages come from
/// the allocator (`calloc`), untouched until written.
pub(crate) fn zeroed<T: bytemuck::Zeroable>(len: usize, what: &'static str) -> Result<Vec<T>> {
    bytemuck::allocation::try_zeroed_vec(len).map_err(|()| out_of_memory::<T>(len, what))
}

/// A buffer of `len` copies of `value` (a poison value), or
/// [`Error::OutOfMemory`].
pub(crate) fn filled<T: Clone>(len: usize, value: T, what: &'static str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| out_of_memory::<T>(len, what))?;
    v.resize(len, value);
    Ok(v)
}

fn out_of_memory<T>(len: usize, what: &'static str) -> Error {
    Error::OutOfMemory {
        what,
        bytes: len as u128 * std::mem::size_of::<T>() as u128,
    }
}

/// Fails unless `out` holds one array of `shape` per result of `request`.
pub(crate) fn check<O, D: Dimension>(
    plan: &Plan,
    shape: &[usize],
    request: Request,
    out: &[ArrayViewMut<'_, O, D>],
) -> Result<()> {
    let expected = request.count(plan);
    if out.len() != expected {
        return Err(Error::OutputCount {
            expected,
            found: out.len(),
        });
    }
    match out.iter().enumerate().find(|(_, o)| o.shape() != shape) {
        Some((index, o)) => Err(Error::OutputShape {
            index,
            expected: shape.to_vec(),
            found: o.shape().to_vec(),
        }),
        None => Ok(()),
    }
}

/// Runs `compute` on one C-ordered buffer of `len` elements per output
/// (the output itself when it is in standard layout), then copies each
/// temporary into its output.
pub(crate) fn write_through<O: Element, D: Dimension>(
    out: &mut [ArrayViewMut<'_, O, D>],
    len: usize,
    compute: impl FnOnce(&mut [&mut [O]]) -> Result<()>,
) -> Result<()> {
    let mut temporaries: Vec<Option<Vec<O>>> = out
        .iter()
        .map(|o| (!o.is_standard_layout()).then(|| vec![O::from_f64(0.0); len]))
        .collect();
    let mut buffers: Vec<&mut [O]> = out
        .iter_mut()
        .zip(&mut temporaries)
        .map(|(o, temporary)| match temporary {
            Some(temporary) => temporary.as_mut_slice(),
            None => o
                .as_slice_mut()
                .expect("an array in standard layout is contiguous"),
        })
        .collect();
    compute(&mut buffers)?;
    drop(buffers);
    for (o, temporary) in out.iter_mut().zip(temporaries) {
        if let Some(temporary) = temporary {
            let values = ArrayView::from_shape(o.raw_dim(), &temporary)
                .expect("a temporary holds one value per element");
            o.assign(&values);
        }
    }
    Ok(())
}
