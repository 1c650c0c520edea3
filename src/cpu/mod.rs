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
//! * **Memory order.** Rows are visited in the input's memory order (outer
//!   axes sorted by stride), so a Fortran-ordered or transposed input is
//!   walked along its contiguous direction; outputs are always C-ordered.
//!   A row whose samples are contiguous (innermost stride 1, whatever the
//!   outer strides) is read in place; otherwise each row is gathered into a
//!   small per-task buffer. No input-sized temporary is ever made.
//! * **Parallel.** The rows are split into a few contiguous ranges per rayon
//!   thread (slabs of whole planes for a large 3-D array); when there are
//!   fewer rows than tasks (1-D input, a handful of long rows) each row is
//!   also split into column ranges. Tasks read shared input and write
//!   disjoint parts of the outputs, so they need no synchronisation.
//!   Small inputs run on the calling thread.
//!
//! # Numerics
//!
//! Coefficients come from [`crate::stencil`] and are rounded to the element
//! type once per axis; arithmetic is done in the element type, in numpy's
//! order of operations. `f64` results are therefore identical to numpy's
//! (and the reference's); `f32` results differ from the reference, which
//! rounds once from `f64`, by a few ulp of the stencil's magnitude.

mod kernels;
mod source;

use std::ops::Range;

use ndarray::{ArrayView, Dimension};
use rayon::prelude::*;

use crate::element::Element;
use crate::plan::Plan;
use kernels::{difference, weighted, AxisStencil, TapT};
use source::{Gathered, InPlace, Lanes};

/// Fewer elements than this run on the calling thread: handing work to
/// other threads costs more than it saves.
const SERIAL_BELOW: usize = 1 << 15;
/// Tasks per thread: enough for rayon to balance the load when another
/// process takes a core, few enough that re-reading the neighbour rows at
/// each task's edges costs little.
const TASKS_PER_THREAD: usize = 4;
/// The shortest column range a row is split into.
const MIN_TASK_COLS: usize = 1 << 12;

/// Computes every requested axis of `plan` on `f` (any layout).
///
/// Returns one C-ordered vector per requested axis, in the plan's order: the
/// result of `numpy.gradient` with the plan's options, flattened.
///
/// ```
/// use ndarray::array;
/// use ndgrad::{cpu, GradientOptions, Plan};
///
/// // numpy.gradient(np.array([[1., 2., 6.], [3., 4., 5.]]).T)
/// let f = array![[1.0, 2.0, 6.0], [3.0, 4.0, 5.0]];
/// let plan = Plan::new(&[3, 2], &GradientOptions::new())?;
/// let g = cpu::gradient(&plan, f.t());
/// assert_eq!(g[0], [1.0, 1.0, 2.5, 1.0, 4.0, 1.0]);
/// assert_eq!(g[1], [2.0, 2.0, 2.0, 2.0, -1.0, -1.0]);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Panics
///
/// If `plan` was made for a shape other than `f`'s.
pub fn gradient<T: Element, D: Dimension>(plan: &Plan, f: ArrayView<'_, T, D>) -> Vec<Vec<T>> {
    // Zero-filled vectors come from `calloc`, which for large sizes maps fresh
    // zero pages instead of writing them: allocating them costs no more than
    // uninitialised memory would, and needs no unsafe code.
    let mut outputs: Vec<Vec<T>> = plan
        .axes
        .iter()
        .map(|_| vec![T::from_f64(0.0); plan.len()])
        .collect();
    let mut slices: Vec<&mut [T]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
    gradient_into(plan, f, &mut slices);
    outputs
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
pub fn gradient_into<T: Element, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, T, D>,
    outputs: &mut [&mut [T]],
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
    let f = f.into_dyn();
    let traversal = Traversal::new(plan, &f);
    let outs: Vec<OutPtr<T>> = outputs.iter_mut().map(|o| OutPtr(o.as_mut_ptr())).collect();
    let inner_stride = *f.strides().last().expect("a plan with axes has ndim ≥ 1");
    if inner_stride == 1 {
        traversal.run(&InPlace { view: f }, &outs);
    } else {
        traversal.run(
            &Gathered {
                view: f,
                stride: inner_stride,
            },
            &outs,
        );
    }
}

/// The start of one output buffer, shared by the tasks that write it.
#[derive(Clone, Copy)]
struct OutPtr<T>(*mut T);

// SAFETY: an `OutPtr` is made from a `&mut [T]` that `gradient_into` holds
// for the whole parallel run, and each task writes only its own rows and
// columns of it (see `Traversal::task`), so sending or sharing the pointer
// between threads creates no data race. `T: Send` lets the values move.
unsafe impl<T: Send> Send for OutPtr<T> {}
// SAFETY: as for `Send`: shared access only ever writes disjoint elements.
unsafe impl<T: Send> Sync for OutPtr<T> {}

/// One requested axis, ready to run.
enum AxisWork<T> {
    /// The innermost axis: differences along each row.
    Innermost(AxisStencil<T>),
    /// An outer axis: differences between rows `stride` elements apart.
    Outer {
        axis: usize,
        stride: isize,
        stencil: AxisStencil<T>,
    },
}

/// The order in which rows are visited, and what is computed on each.
struct Traversal<T> {
    shape: Vec<usize>,
    /// The input's strides, in elements (any sign).
    in_strides: Vec<isize>,
    /// The outputs' (C-order) strides, in elements.
    out_strides: Vec<usize>,
    /// The outer axes, slowest-varying in memory first.
    order: Vec<usize>,
    row_len: usize,
    rows: usize,
    axes: Vec<AxisWork<T>>,
}

impl<T: Element> Traversal<T> {
    fn new(plan: &Plan, f: &ndarray::ArrayViewD<'_, T>) -> Self {
        let shape = plan.shape.clone();
        let ndim = shape.len();
        let in_strides = f.strides().to_vec();
        let mut out_strides = vec![1; ndim];
        for k in (0..ndim.saturating_sub(1)).rev() {
            out_strides[k] = out_strides[k + 1] * shape[k + 1];
        }
        let mut order: Vec<usize> = (0..ndim - 1).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(in_strides[k].unsigned_abs()));
        let axes = plan
            .axes
            .iter()
            .map(|ax| {
                let stencil = AxisStencil::new(&ax.stencil);
                if ax.axis == ndim - 1 {
                    AxisWork::Innermost(stencil)
                } else {
                    AxisWork::Outer {
                        axis: ax.axis,
                        stride: in_strides[ax.axis],
                        stencil,
                    }
                }
            })
            .collect();
        Traversal {
            row_len: shape[ndim - 1],
            rows: shape[..ndim - 1].iter().product(),
            shape,
            in_strides,
            out_strides,
            order,
            axes,
        }
    }

    /// Splits the rows (and, when there are few, the columns) into tasks and
    /// runs them on the current rayon pool.
    fn run<L: Lanes<T>>(&self, lanes: &L, outs: &[OutPtr<T>]) {
        let threads = rayon::current_num_threads();
        if threads == 1 || self.rows * self.row_len < SERIAL_BELOW {
            self.task(lanes, outs, 0..self.rows, 0..self.row_len);
            return;
        }
        let tasks = threads * TASKS_PER_THREAD;
        let (row_parts, col_parts) = if self.rows >= tasks {
            (tasks, 1)
        } else {
            let col_parts = tasks
                .div_ceil(self.rows)
                .min(self.row_len.div_ceil(MIN_TASK_COLS));
            (self.rows, col_parts.max(1))
        };
        (0..row_parts * col_parts).into_par_iter().for_each(|t| {
            let rows = part(self.rows, row_parts, t / col_parts);
            let cols = part(self.row_len, col_parts, t % col_parts);
            self.task(lanes, outs, rows, cols);
        });
    }

    /// Computes columns `cols` of rows `rows` (counted in visiting order) of
    /// every output.
    fn task<L: Lanes<T>>(
        &self,
        lanes: &L,
        outs: &[OutPtr<T>],
        rows: Range<usize>,
        cols: Range<usize>,
    ) {
        if rows.is_empty() || cols.is_empty() {
            return;
        }
        // A gathered row (innermost axis) spans `cols` plus at most two
        // samples each side; one buffer per row a tap reads at once.
        let width = if L::NEEDS_BUFFER {
            (cols.len() + 4).min(self.row_len)
        } else {
            0
        };
        let mut buffers: [Vec<T>; 3] = std::array::from_fn(|_| vec![T::from_f64(0.0); width]);
        let mut index = vec![0; self.shape.len()];
        let (mut in_offset, mut out_offset) = self.locate(rows.start, &mut index);
        for _ in rows {
            for (work, out) in self.axes.iter().zip(outs) {
                // SAFETY: `out.0` points to a live buffer of `plan.len()`
                // elements (checked in `gradient_into`), and
                // `out_offset + cols` is this row's `cols` in it. Rows and
                // column ranges of different tasks are disjoint (`run` splits
                // them without overlap, and `locate`/`advance` visit each row
                // once), so no other reference to these elements exists while
                // this one lives: it is dropped before the next row.
                let out = unsafe {
                    std::slice::from_raw_parts_mut(out.0.add(out_offset + cols.start), cols.len())
                };
                let [b0, b1, b2] = &mut buffers;
                match work {
                    AxisWork::Innermost(stencil) => {
                        let reads = stencil.reads(cols.clone());
                        let lane = lanes.read(in_offset, reads.clone(), b0);
                        stencil.along_lane(out, lane, reads.start, cols.clone());
                    }
                    AxisWork::Outer {
                        axis,
                        stride,
                        stencil,
                    } => {
                        let i = index[*axis];
                        // The row `k - i` steps away along the axis: inside
                        // the view, since taps only read samples 0..n.
                        let row = |k: usize| in_offset + (k as isize - i as isize) * stride;
                        match stencil.tap(i) {
                            TapT::Difference { lo, hi, denom } => difference(
                                out,
                                lanes.read(row(lo), cols.clone(), b0),
                                lanes.read(row(hi), cols.clone(), b1),
                                denom,
                            ),
                            TapT::Weighted { first, w } => weighted(
                                out,
                                [
                                    lanes.read(row(first), cols.clone(), b0),
                                    lanes.read(row(first + 1), cols.clone(), b1),
                                    lanes.read(row(first + 2), cols.clone(), b2),
                                ],
                                w,
                            ),
                        }
                    }
                }
            }
            self.advance(&mut index, &mut in_offset, &mut out_offset);
        }
    }

    /// Sets `index` to the multi-index of the `row`-th row in visiting order
    /// and returns that row's input and output offsets.
    fn locate(&self, mut row: usize, index: &mut [usize]) -> (isize, usize) {
        for &k in self.order.iter().rev() {
            index[k] = row % self.shape[k];
            row /= self.shape[k];
        }
        let in_offset = index
            .iter()
            .zip(&self.in_strides)
            .map(|(&i, &s)| i as isize * s)
            .sum();
        let out_offset = index
            .iter()
            .zip(&self.out_strides)
            .map(|(&i, &s)| i * s)
            .sum();
        (in_offset, out_offset)
    }

    /// Moves `index` and the offsets to the next row in visiting order.
    fn advance(&self, index: &mut [usize], in_offset: &mut isize, out_offset: &mut usize) {
        for &k in self.order.iter().rev() {
            index[k] += 1;
            *in_offset += self.in_strides[k];
            *out_offset += self.out_strides[k];
            if index[k] < self.shape[k] {
                return;
            }
            index[k] = 0;
            *in_offset -= self.in_strides[k] * self.shape[k] as isize;
            *out_offset -= self.out_strides[k] * self.shape[k];
        }
    }
}

/// The `k`-th of `parts` near-equal contiguous ranges of `0..len`.
fn part(len: usize, parts: usize, k: usize) -> Range<usize> {
    k * len / parts..(k + 1) * len / parts
}
