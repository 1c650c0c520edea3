//! The CPU backend: fused, cache-aware, multi-threaded.
//!
//! # Design
//!
//! * **Rows.** The input is seen as rows: runs of samples along its innermost
//!   (last) axis, which is also the contiguous axis of every output. Each
//!   output row is a branch-free, vectorised operation on two or three input
//!   rows: along an outer axis `k` they are the rows `±stride_k` away (one
//!   [`Tap`](crate::stencil::Tap) per row, chosen by the row's index along
//!   `k`), along the innermost axis it is the row itself, shifted by one.
//! * **One pass, fused.** For each row, every requested derivative is
//!   computed before moving on, so each input row is loaded from memory once
//!   and its neighbours (the rows a plane away along the outer axes) are
//!   still in cache when they are needed again: the input is read once for
//!   all requested axes, and each output is written once, in order.
//! * **Layouts.** Rows are visited in the input's memory order (outer axes
//!   sorted by stride); outputs are always C-ordered. A view whose innermost
//!   stride is 1 (C order, stepped, reversed or sub-viewed outer axes) is
//!   read in place, row by row. A view with a smaller stride on some outer
//!   axis (Fortran order, transposes) is copied, one bounded slab of planes
//!   at a time (8 MiB, tiled so each cache line is read once), into C order
//!   and computed while the copy is in cache: reading its rows directly
//!   would touch one cache line per sample at power-of-two strides. Any
//!   other view (a stepped or reversed innermost axis, 1-D strided input)
//!   has each row gathered into a small per-task buffer. No input-sized
//!   temporary is ever made.
//! * **Parallel.** The rows are split into a few contiguous ranges per rayon
//!   thread (whole planes for a large 3-D array); when there are fewer rows
//!   than tasks (1-D input, a handful of long rows) each row is also split
//!   into column ranges. Tasks read shared input and write disjoint parts
//!   of the outputs, so they need no synchronisation. Small inputs run on
//!   the calling thread.
//! * **Outputs** are allocated zero-filled (fresh pages from `calloc`) and
//!   advised onto huge pages. Their cost is the kernel zeroing each fresh
//!   page on first touch (done by the worker that writes it, in parallel),
//!   which leaves the page in cache, so they are written with ordinary
//!   stores. [`gradient_into`] writes into the caller's buffers instead, for
//!   loops that can reuse them; those are cold, so large ones are streamed
//!   to memory with non-temporal stores, which skip reading each line
//!   before overwriting it.
//!
//! BENCHMARKS.md has the measurements behind each choice.
//!
//! # Numerics
//!
//! Coefficients come from [`crate::stencil`] and are rounded to the element
//! type once per axis; arithmetic is done in the element type, in numpy's
//! order of operations (a division by `2h` inside a uniform axis, `a·f0 +
//! b·f1 + c·f2` left to right for weighted taps). `f64` results are
//! therefore identical to numpy's (and the reference's); `f32` results
//! differ from the reference, which rounds once from `f64`, by a few ulp of
//! the stencil's magnitude.

mod kernels;
mod sink;
mod slab;
mod source;
mod traversal;

use ndarray::{ArrayView, ArrayViewD, Dimension};

use crate::element::{same_type, Element, Input};
use crate::plan::Plan;
use sink::{OutPtr, Sink};
use source::{Gathered, InPlace};
use traversal::{Traversal, Walk};

/// Computes every requested axis of `plan` on `f` (any layout, any input
/// type), in and as the output type `O`.
///
/// Returns one C-ordered vector per requested axis, in the plan's order: the
/// result of `numpy.gradient(f.astype(O))` with the plan's options,
/// flattened (without the converted copy: samples are converted as they are
/// loaded).
///
/// ```
/// use ndarray::array;
/// use ndgrad::{cpu, GradientOptions, Plan};
///
/// // numpy.gradient(np.array([[1., 2., 6.], [3., 4., 5.]]).T)
/// let f = array![[1.0, 2.0, 6.0], [3.0, 4.0, 5.0]];
/// let plan = Plan::new(&[3, 2], &GradientOptions::new())?;
/// let g: Vec<Vec<f64>> = cpu::gradient(&plan, f.t());
/// assert_eq!(g[0], [1.0, 1.0, 2.5, 1.0, 4.0, 1.0]);
/// assert_eq!(g[1], [2.0, 2.0, 2.0, 2.0, -1.0, -1.0]);
///
/// // A u8 image, differentiated in f32.
/// let image = array![[0u8, 10, 30], [255, 245, 205]];
/// let plan = Plan::new(&[2, 3], &GradientOptions::new())?;
/// let g = cpu::gradient::<f32, _, _>(&plan, image.view());
/// assert_eq!(g[1], [10.0, 15.0, 20.0, -10.0, -25.0, -40.0]);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Panics
///
/// If `plan` was made for a shape other than `f`'s, or if the outputs
/// cannot be allocated ([`crate::gradient`] returns
/// [`crate::Error::OutOfMemory`] instead).
pub fn gradient<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
) -> Vec<Vec<O>> {
    try_gradient(plan, f).unwrap_or_else(|e| panic!("{e}"))
}

/// [`gradient`], with an allocation failure as [`crate::Error::OutOfMemory`].
pub(crate) fn try_gradient<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
) -> crate::Result<Vec<Vec<O>>> {
    let mut outputs: Vec<Vec<O>> = plan
        .axes
        .iter()
        .map(|_| output_buffer(plan.len()))
        .collect::<crate::Result<_>>()?;
    let mut slices: Vec<&mut [O]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
    components(plan, f, &mut slices, Outputs::Fresh);
    Ok(outputs)
}

/// [`gradient`] into buffers the caller provides: `outputs[p]` receives the
/// derivative along the plan's `p`-th axis, in C order. Every element of
/// every output is overwritten.
///
/// ```
/// use ndarray::array;
/// use ndgrad::{cpu, GradientOptions, Plan};
///
/// let f = array![1.0f32, 2.0, 4.0, 7.0];
/// let plan = Plan::new(&[4], &GradientOptions::new())?;
/// let mut g = [f32::NAN; 4];
/// cpu::gradient_into(&plan, f.view(), &mut [&mut g[..]]);
/// assert_eq!(g, [1.0, 1.5, 2.5, 3.0]);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Panics
///
/// If `plan` was made for a shape other than `f`'s, or `outputs` does not
/// hold one buffer of `plan.len()` elements per requested axis.
pub fn gradient_into<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
    outputs: &mut [&mut [O]],
) {
    components(plan, f, outputs, Outputs::Reused);
}

/// Whether the output buffers were just allocated (their pages untouched)
/// or are the caller's, most likely written before.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outputs {
    Fresh,
    Reused,
}

/// [`gradient_into`], told what kind of buffers it writes.
fn components<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
    outputs: &mut [&mut [O]],
    kind: Outputs,
) {
    assert_eq!(plan.shape, f.shape(), "the plan is for another shape");
    assert_eq!(outputs.len(), plan.axes.len(), "one output per axis");
    assert!(
        outputs.iter().all(|o| o.len() == plan.len()),
        "each output holds one element per input element"
    );
    if plan.axes.is_empty() || plan.is_empty() {
        return;
    }
    let sink = Sink::Components(outputs.iter_mut().map(|o| OutPtr(o.as_mut_ptr())).collect());
    execute(plan, f.into_dyn(), &sink, kind);
}

/// The gradient magnitude `sqrt(Σₖ (∂f/∂xₖ)²)` over the plan's axes, in C
/// order, in and as the output type `O`: `np.sqrt(sum(g**2 for g in
/// np.gradient(f.astype(O), ...)))`.
///
/// Computed in the same single pass as [`gradient`], without the
/// components: each row's derivatives are squared and summed (in the order
/// the axes were requested) in a row-sized accumulator, and only the square
/// root is written. The sum is taken in the compute type (`f32` for `f16`
/// and `f32`, `f64` for `f64`); with no axes the magnitude is all zeros.
///
/// ```
/// use ndarray::array;
/// use ndgrad::{cpu, GradientOptions, Plan};
///
/// // f = 3x + 4y has |∇f| = 5 everywhere.
/// let f = array![[0i16, 4, 8], [3, 7, 11]];
/// let plan = Plan::new(&[2, 3], &GradientOptions::new())?;
/// let m: Vec<f64> = cpu::magnitude(&plan, f.view());
/// assert_eq!(m, [5.0; 6]);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Panics
///
/// If `plan` was made for a shape other than `f`'s, or if the output
/// cannot be allocated ([`crate::gradient_magnitude`] returns
/// [`crate::Error::OutOfMemory`] instead).
pub fn magnitude<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
) -> Vec<O> {
    try_magnitude(plan, f).unwrap_or_else(|e| panic!("{e}"))
}

/// [`magnitude`], with an allocation failure as [`crate::Error::OutOfMemory`].
pub(crate) fn try_magnitude<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
) -> crate::Result<Vec<O>> {
    let mut out = output_buffer(plan.len())?;
    magnitude_of(plan, f, &mut out, Outputs::Fresh);
    Ok(out)
}

/// [`magnitude`] into a buffer the caller provides (C order); every element
/// is overwritten.
///
/// # Panics
///
/// If `plan` was made for a shape other than `f`'s, or `out` does not hold
/// `plan.len()` elements.
pub fn magnitude_into<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
    out: &mut [O],
) {
    magnitude_of(plan, f, out, Outputs::Reused);
}

/// [`magnitude_into`], told what kind of buffer it writes.
fn magnitude_of<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
    out: &mut [O],
    kind: Outputs,
) {
    assert_eq!(plan.shape, f.shape(), "the plan is for another shape");
    assert_eq!(
        out.len(),
        plan.len(),
        "one output element per input element"
    );
    if plan.axes.is_empty() {
        // An empty sum: numpy's sqrt(sum(())) is 0 (here for every element).
        out.fill(O::from_f64(0.0));
        return;
    }
    if plan.is_empty() {
        return;
    }
    execute(
        plan,
        f.into_dyn(),
        &Sink::Magnitude(OutPtr(out.as_mut_ptr())),
        kind,
    );
}

/// Runs the traversal over `f`, reading it the cheapest way its layout and
/// type allow, computing in `O::Compute`.
fn execute<O: Element, I: Input>(plan: &Plan, f: ArrayViewD<'_, I>, sink: &Sink<O>, kind: Outputs) {
    let outputs = match sink {
        Sink::Components(outs) => outs.len(),
        Sink::Magnitude(_) => 1,
    };
    let traversal = Traversal::<O::Compute>::new(plan).streaming(outputs, kind == Outputs::Reused);
    let walk = Walk::memory_order(&f);
    let inner_stride = *f.strides().last().expect("a plan with axes has ndim ≥ 1");
    if let (1, Some(view)) = (inner_stride, view_as::<O::Compute, I>(&f)) {
        traversal.run(&walk, &InPlace { view }, sink);
    } else if let Some(planes) = traversal.slab_planes(&f) {
        traversal.run_slabs(&f, planes, sink);
    } else {
        let lanes = Gathered {
            view: f,
            stride: inner_stride,
        };
        traversal.run(&walk, &lanes, sink);
    }
}

/// `view` seen as a view of `C` when `I` is `C` (no copy); `None` otherwise.
fn view_as<'a, C: Element, I: Input>(view: &ArrayViewD<'a, I>) -> Option<ArrayViewD<'a, C>> {
    if !same_type::<I, C>() {
        return None;
    }
    let raw = view.raw_view().cast::<C>();
    // SAFETY: `I` and `C` are the same type (equal `TypeId`s), so the cast
    // view describes exactly the elements, strides and lifetime of `view`,
    // which is a valid shared view for 'a.
    Some(unsafe { raw.deref_into_view() })
}

/// A zero-filled buffer of `len` elements for one output.
///
/// Zero-filled vectors come from `calloc`, which for large sizes maps fresh
/// zero pages instead of writing them: they cost no more than uninitialised
/// memory would, and need no unsafe code. On Linux the buffer is also marked
/// for transparent huge pages, as numpy marks its arrays: the first write
/// then faults memory in 2 MiB at a time instead of 4 KiB, which for a
/// 64 MiB output saves 16 000 page faults, several times the cost of
/// computing the gradient itself.
fn output_buffer<T: Element>(len: usize) -> crate::Result<Vec<T>> {
    let buffer = crate::outputs::zeroed(len, "an output of the CPU backend")?;
    #[cfg(target_os = "linux")]
    advise_huge_pages(&buffer);
    Ok(buffer)
}

#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(buffer: &[T]) {
    const HUGE_PAGE: usize = 2 << 20;
    let bytes = std::mem::size_of_val(buffer);
    if bytes < 2 * HUGE_PAGE {
        return;
    }
    // SAFETY: sysconf only reads a system constant.
    let page = match usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }) {
        Ok(page) if page > 0 => page,
        _ => return,
    };
    let start = (buffer.as_ptr() as usize).next_multiple_of(page);
    let end = (buffer.as_ptr() as usize + bytes) / page * page;
    // SAFETY: [start, end) is the whole pages inside `buffer`'s live
    // allocation, and MADV_HUGEPAGE only changes how the kernel backs them,
    // never their contents. A refusal (THP disabled) is harmless: the advice
    // is an optimisation, so its result is ignored.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array3, Axis};

    use super::*;
    use crate::{EdgeOrder, GradientOptions};

    /// Rows longer than a column chunk (a long 1-D signal, three long rows)
    /// are computed chunk by chunk, read in place or gathered and converted
    /// (u16, f32 into f64), with uniform and coordinate spacing, edge order
    /// 1 and 2, the magnitude too: every element equals the reference's
    /// (`f64` results are bit for bit), whichever chunk it falls in.
    #[test]
    fn long_rows_are_computed_chunk_by_chunk() {
        use crate::{reference, AxisSpacing, Spacing};
        let n = 3 * (1 << 14) + 7;
        let u: Vec<u16> = (0..n)
            .map(|k| ((k * 7919 + k * k) % 65536) as u16)
            .collect();
        let x: Vec<f64> = (0..n).map(|k| k as f64 + 0.25 * (k % 3) as f64).collect();
        for shape in [vec![n], vec![3, n]] {
            let len: usize = shape.iter().product();
            let u: Vec<u16> = u.iter().cycle().take(len).copied().collect();
            let f32s: Vec<f32> = u.iter().map(|&v| f32::from(v) * 0.5 - 3.0).collect();
            let f64s: Vec<f64> = u.iter().map(|&v| f64::from(v).sqrt()).collect();
            for (edge_order, coords) in [
                (EdgeOrder::First, false),
                (EdgeOrder::Second, false),
                (EdgeOrder::Second, true),
            ] {
                let mut opts = GradientOptions::new().edge_order(edge_order);
                if coords {
                    let mut items = vec![AxisSpacing::Scalar(1.0); shape.len() - 1];
                    items.push(AxisSpacing::from(x.clone()));
                    opts = opts.spacing(Spacing::PerAxis(items));
                }
                let plan = Plan::new(&shape, &opts).unwrap();
                let dim = ndarray::IxDyn(&shape);
                let check = |got: Vec<Vec<f64>>, want: Vec<Vec<f64>>, what: &str| {
                    for (g, w) in got.iter().zip(&want) {
                        let bad = g
                            .iter()
                            .zip(w)
                            .position(|(a, b)| a.to_bits() != b.to_bits());
                        assert_eq!(bad, None, "{what} {shape:?} {edge_order:?} coords {coords}");
                    }
                };
                let view = ndarray::ArrayViewD::from_shape(dim.clone(), &u).unwrap();
                check(
                    gradient(&plan, view.view()),
                    reference::gradient(&plan, &u),
                    "u16",
                );
                let mags = vec![magnitude::<f64, _, _>(&plan, view)];
                check(mags, vec![reference::magnitude(&plan, &u)], "u16 magnitude");
                let view = ndarray::ArrayViewD::from_shape(dim.clone(), &f32s).unwrap();
                check(
                    gradient(&plan, view),
                    reference::gradient(&plan, &f32s),
                    "f32",
                );
                let view = ndarray::ArrayViewD::from_shape(dim, &f64s).unwrap();
                check(
                    gradient(&plan, view),
                    reference::gradient(&plan, &f64s),
                    "f64",
                );
            }
        }
    }

    /// `gradient_into` and `magnitude_into` stream outputs this large to
    /// memory (non-temporal stores); `gradient` and `magnitude` write fresh
    /// outputs with ordinary stores. Both give the same bits, whatever the
    /// alignment of the caller's buffers and the length of the rows, for
    /// inputs read in place and through slab copies (a transpose).
    #[test]
    fn streamed_outputs_equal_fresh_ones() {
        // 176 × 255 × 257 f32: three outputs of 44 MiB (streamed), rows of
        // odd length so that row starts take every alignment.
        let f = Array3::from_shape_fn((176, 255, 257), |(i, j, k)| {
            ((i * 31 + j * 17 + k * 7) % 101) as f32 * 0.25 - (k as f32).sqrt()
        });
        let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());
        for edge_order in [EdgeOrder::First, EdgeOrder::Second] {
            let opts = GradientOptions::new().edge_order(edge_order);
            for view in [f.view(), f.t()] {
                let plan = Plan::new(view.shape(), &opts).unwrap();
                let fresh: Vec<Vec<f32>> = gradient(&plan, view);
                // One element in, so no output starts 16-byte aligned.
                let mut buffers: Vec<Vec<f32>> =
                    (0..3).map(|_| vec![f32::NAN; plan.len() + 1]).collect();
                let mut outputs: Vec<&mut [f32]> =
                    buffers.iter_mut().map(|b| &mut b[1..]).collect();
                gradient_into(&plan, view, &mut outputs);
                for (into, fresh) in outputs.iter().zip(&fresh) {
                    assert!(same(into, fresh));
                }
            }
            // Three times the planes, so that the one magnitude output
            // (132 MiB) is streamed too.
            let big = ndarray::concatenate(Axis(0), &[f.view(), f.view(), f.view()]).unwrap();
            let plan = Plan::new(big.shape(), &opts).unwrap();
            let fresh: Vec<f32> = magnitude(&plan, big.view());
            let mut into = vec![f32::NAN; plan.len() + 1];
            magnitude_into(&plan, big.view(), &mut into[1..]);
            assert!(same(&into[1..], &fresh));
        }
    }
}
