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
//!   advised onto huge pages; [`gradient_into`] writes into the caller's
//!   buffers instead, for loops that can reuse them.
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
mod slab;
mod source;

use std::ops::Range;

use ndarray::{ArrayView, ArrayViewD, Axis, Dimension, Slice};
use rayon::prelude::*;

use crate::element::{same_type, Element, Input};
use crate::plan::Plan;
use crate::stencil::Tap;
use kernels::{difference, weighted, AxisStencil, WeightLayout};
use source::{Gathered, InPlace, Lanes, SlabLanes};

/// Fewer elements than this run on the calling thread: handing work to
/// other threads costs more than it saves.
const SERIAL_BELOW: usize = 1 << 15;
/// Tasks per thread: enough for rayon to balance the load when another
/// process takes a core, few enough that re-reading the neighbour rows at
/// each task's edges costs little.
const TASKS_PER_THREAD: usize = 4;
/// The shortest column range a row is split into.
const MIN_TASK_COLS: usize = 1 << 12;
/// With fewer rows than this, innermost-axis weights are rounded to the
/// element type as they are used rather than converted up front: a
/// conversion pass reads and writes more bytes than the rows it serves.
const REUSED_WEIGHTS_ROWS: usize = 4;
/// The size of the C-ordered copy a slab task makes of a strided input:
/// big enough that the halo planes are a small overhead, small enough to
/// stay in the last-level cache while the task computes on it.
const SLAB_BYTES: usize = 8 << 20;

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
/// If `plan` was made for a shape other than `f`'s.
pub fn gradient<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
) -> Vec<Vec<O>> {
    let mut outputs: Vec<Vec<O>> = plan
        .axes
        .iter()
        .map(|_| output_buffer(plan.len()))
        .collect();
    let mut slices: Vec<&mut [O]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
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
pub fn gradient_into<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
    outputs: &mut [&mut [O]],
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
    execute(plan, f.into_dyn(), &sink);
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
/// If `plan` was made for a shape other than `f`'s.
pub fn magnitude<O: Element, I: Input, D: Dimension>(
    plan: &Plan,
    f: ArrayView<'_, I, D>,
) -> Vec<O> {
    let mut out = output_buffer(plan.len());
    magnitude_into(plan, f, &mut out);
    out
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
    );
}

/// Runs the traversal over `f`, reading it the cheapest way its layout and
/// type allow, computing in `O::Compute`.
fn execute<O: Element, I: Input>(plan: &Plan, f: ArrayViewD<'_, I>, sink: &Sink<O>) {
    let traversal = Traversal::<O::Compute>::new(plan);
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

/// `row` seen as a row of `C` when `O` is `C`, so it can be computed into
/// directly; `None` when it needs a conversion (`f16` computed in `f32`).
fn row_as<C: Element, O: Element>(row: &mut [O]) -> Option<&mut [C]> {
    // Same type, so same size and alignment: the cast cannot fail.
    same_type::<O, C>().then(|| bytemuck::cast_slice_mut(row))
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
fn output_buffer<T: Element>(len: usize) -> Vec<T> {
    let buffer = vec![T::from_f64(0.0); len];
    #[cfg(target_os = "linux")]
    advise_huge_pages(&buffer);
    buffer
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

/// The start of one output buffer, shared by the tasks that write it.
#[derive(Clone, Copy)]
struct OutPtr<T>(*mut T);

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
    unsafe fn row(&self, start: usize, len: usize) -> &mut [T] {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// Where the traversal puts what it computes.
enum Sink<O> {
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

/// One requested axis, ready to run.
enum AxisWork<'p, T> {
    /// The innermost axis: differences along each row.
    Innermost(AxisStencil<'p, T>),
    /// An outer axis: differences between rows one step apart along it.
    Outer {
        axis: usize,
        stencil: AxisStencil<'p, T>,
    },
}

/// How the rows of one source of samples are laid out: its strides and the
/// order in which its rows are visited.
struct Walk {
    /// The strides of the source, in elements (any sign).
    in_strides: Vec<isize>,
    /// The outer axes, slowest-varying in memory first: visiting rows in
    /// this order walks the source in (nearly) increasing addresses.
    order: Vec<usize>,
}

impl Walk {
    fn memory_order<T>(f: &ArrayViewD<'_, T>) -> Walk {
        let in_strides = f.strides().to_vec();
        let mut order: Vec<usize> = (0..f.ndim() - 1).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(in_strides[k].unsigned_abs()));
        Walk { in_strides, order }
    }
}

/// What is computed on each row, whatever the source.
struct Traversal<'p, T> {
    shape: Vec<usize>,
    /// The outputs' (C-order) strides, in elements.
    out_strides: Vec<usize>,
    row_len: usize,
    rows: usize,
    axes: Vec<AxisWork<'p, T>>,
    /// How far the taps reach along axis 0 (0 when it is not requested).
    reach_axis0: usize,
    /// Whether the CPU running this has AVX2.
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl<'p, T: Element> Traversal<'p, T> {
    fn new(plan: &'p Plan) -> Self {
        let shape = plan.shape.clone();
        let ndim = shape.len();
        let rows: usize = shape[..ndim - 1].iter().product();
        let mut out_strides = vec![1; ndim];
        for k in (0..ndim.saturating_sub(1)).rev() {
            out_strides[k] = out_strides[k + 1] * shape[k + 1];
        }
        let axes = plan
            .axes
            .iter()
            .map(|ax| {
                let innermost = ax.axis == ndim - 1;
                let layout = if !innermost {
                    WeightLayout::Rows
                } else if rows < REUSED_WEIGHTS_ROWS {
                    WeightLayout::F64
                } else {
                    WeightLayout::Columns
                };
                let stencil = AxisStencil::new(&ax.stencil, layout);
                if innermost {
                    AxisWork::Innermost(stencil)
                } else {
                    AxisWork::Outer {
                        axis: ax.axis,
                        stencil,
                    }
                }
            })
            .collect();
        let reach_axis0 = plan
            .axes
            .iter()
            .find(|ax| ax.axis == 0)
            .map_or(0, |ax| ax.stencil.edge_order().get());
        Traversal {
            row_len: shape[ndim - 1],
            rows,
            shape,
            out_strides,
            axes,
            reach_axis0,
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
        }
    }

    /// How many planes (index ranges along axis 0) each slab task takes, when
    /// the input is better copied into C order slab by slab than gathered
    /// lane by lane: when some outer axis has a smaller stride than the
    /// innermost one (Fortran order, transposes), gathering a lane touches
    /// one cache line per sample, at a large (often power-of-two) stride
    /// that defeats the caches; a tiled copy reads each line once.
    /// `None` when lanes should be gathered instead (the innermost stride
    /// is already the smallest, or a slab would be too big).
    fn slab_planes<I>(&self, f: &ArrayViewD<'_, I>) -> Option<usize> {
        let strides = f.strides();
        let ndim = strides.len();
        let inner = strides[ndim - 1].unsigned_abs();
        if ndim < 2
            || strides[..ndim - 1]
                .iter()
                .all(|s| s.unsigned_abs() >= inner)
        {
            return None;
        }
        let n0 = self.shape[0];
        let plane = self.rows / n0 * self.row_len * std::mem::size_of::<T>();
        // A slab holds its planes plus the halo the axis-0 taps reach.
        if plane * (1 + 2 * self.reach_axis0) > 2 * SLAB_BYTES {
            return None;
        }
        let threads = rayon::current_num_threads();
        if threads == 1 || self.rows * self.row_len < SERIAL_BELOW {
            return Some((SLAB_BYTES / plane).clamp(1, n0));
        }
        // At least TASKS_PER_THREAD tasks per thread, as in `run`.
        let balanced = n0.div_ceil(threads * TASKS_PER_THREAD);
        Some((SLAB_BYTES / plane).clamp(1, balanced))
    }

    /// Runs the tasks of the slab path: each copies the planes it computes
    /// (plus a halo along axis 0) into a C-ordered buffer and runs the rows
    /// of those planes on it, while the copy is still in cache. The copy
    /// converts the input to the compute type on the way.
    fn run_slabs<I: Input, O: Element<Compute = T>>(
        &self,
        f: &ArrayViewD<'_, I>,
        planes: usize,
        sink: &Sink<O>,
    ) {
        let n0 = self.shape[0];
        let rows_per_plane = self.rows / n0;
        let tasks = n0.div_ceil(planes);
        let slab_task = |buffer: &mut Vec<T>, t: usize| {
            let (start, end) = (t * planes, ((t + 1) * planes).min(n0));
            let halo = start.saturating_sub(self.reach_axis0)..(end + self.reach_axis0).min(n0);
            let block = f.slice_axis(Axis(0), Slice::from(halo.clone()));
            // The buffer is reused from task to task; the copy overwrites
            // every element, so growing it is the only fill needed.
            buffer.resize(block.len(), T::from_f64(0.0));
            slab::copy_to_c_order(&block, buffer);
            let buffer = &buffer[..];
            let walk = Walk::memory_order(
                &ArrayViewD::from_shape(block.shape(), buffer)
                    .expect("a C-ordered buffer of the block's size"),
            );
            let plane = (rows_per_plane * self.row_len) as isize;
            let lanes = SlabLanes {
                slab: buffer,
                origin: halo.start as isize * plane,
            };
            self.task(
                &walk,
                &lanes,
                sink,
                start * rows_per_plane..end * rows_per_plane,
                0..self.row_len,
            );
        };
        if tasks == 1 {
            slab_task(&mut Vec::new(), 0);
        } else {
            (0..tasks)
                .into_par_iter()
                .for_each_init(Vec::new, slab_task);
        }
    }

    /// Splits the rows (and, when there are few, the columns) into tasks and
    /// runs them on the current rayon pool.
    fn run<L: Lanes<T>, O: Element<Compute = T>>(&self, walk: &Walk, lanes: &L, sink: &Sink<O>) {
        let threads = rayon::current_num_threads();
        if threads == 1 || self.rows * self.row_len < SERIAL_BELOW {
            self.task(walk, lanes, sink, 0..self.rows, 0..self.row_len);
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
            self.task(walk, lanes, sink, rows, cols);
        });
    }

    /// Runs [`Traversal::task_portable`] compiled for the widest vectors the
    /// CPU has: the row loops are memory-bound for uniform spacing, but the
    /// non-uniform ones do three products per sample and gain from AVX2.
    fn task<L: Lanes<T>, O: Element<Compute = T>>(
        &self,
        walk: &Walk,
        lanes: &L,
        sink: &Sink<O>,
        rows: Range<usize>,
        cols: Range<usize>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is true only when the running CPU supports AVX2
            // (`is_x86_feature_detected!` in `Traversal::new`).
            unsafe { self.task_avx2(walk, lanes, sink, rows, cols) };
            return;
        }
        self.task_portable(walk, lanes, sink, rows, cols);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn task_avx2<L: Lanes<T>, O: Element<Compute = T>>(
        &self,
        walk: &Walk,
        lanes: &L,
        sink: &Sink<O>,
        rows: Range<usize>,
        cols: Range<usize>,
    ) {
        self.task_portable(walk, lanes, sink, rows, cols);
    }

    /// Computes columns `cols` of rows `rows` (counted in visiting order) of
    /// every output. Inlined (with the row loops) into each instruction-set
    /// variant of [`Traversal::task`].
    #[inline(always)]
    fn task_portable<L: Lanes<T>, O: Element<Compute = T>>(
        &self,
        walk: &Walk,
        lanes: &L,
        sink: &Sink<O>,
        rows: Range<usize>,
        cols: Range<usize>,
    ) {
        if rows.is_empty() || cols.is_empty() {
            return;
        }
        let zero = T::from_f64(0.0);
        // A gathered row (innermost axis) spans `cols` plus at most two
        // samples each side; one buffer per row a tap reads at once.
        let width = if L::NEEDS_BUFFER {
            (cols.len() + 4).min(self.row_len)
        } else {
            0
        };
        let mut buffers: [Vec<T>; 3] = std::array::from_fn(|_| vec![zero; width]);
        // One derivative row in the compute type, when it is not written
        // straight into an output: rounded to `O` (`f16`), or squared.
        let magnitude = matches!(sink, Sink::Magnitude(_));
        let scratch_len = if magnitude || !same_type::<O, T>() {
            cols.len()
        } else {
            0
        };
        let mut scratch = vec![zero; scratch_len];
        // The running sum of squares of a magnitude row.
        let mut sum = vec![zero; if magnitude { cols.len() } else { 0 }];
        let mut index = vec![0; self.shape.len()];
        let (mut in_offset, mut out_offset) = self.locate(walk, rows.start, &mut index);
        for _ in rows {
            let at = Row {
                walk,
                index: &index,
                in_offset,
                cols: cols.clone(),
            };
            match sink {
                Sink::Components(outs) => {
                    for (work, out) in self.axes.iter().zip(outs) {
                        // SAFETY: `out.0` points to a live buffer of
                        // `plan.len()` elements (checked in `gradient_into`),
                        // and `out_offset + cols` is this row's `cols` in it.
                        // Rows and column ranges of different tasks are
                        // disjoint (`run` splits them without overlap, and
                        // `locate`/`advance` visit each row once), so no other
                        // reference to these elements exists while this one
                        // lives: it is dropped before the next row.
                        let out = unsafe { out.row(out_offset + cols.start, cols.len()) };
                        match row_as::<T, O>(out) {
                            Some(out) => self.derivative(work, &at, lanes, &mut buffers, out),
                            None => {
                                self.derivative(work, &at, lanes, &mut buffers, &mut scratch);
                                for (o, &d) in out.iter_mut().zip(&scratch) {
                                    *o = O::from_compute(d);
                                }
                            }
                        }
                    }
                }
                Sink::Magnitude(out) => {
                    sum.fill(zero);
                    for work in &self.axes {
                        self.derivative(work, &at, lanes, &mut buffers, &mut scratch);
                        for (s, &d) in sum.iter_mut().zip(&scratch) {
                            *s = *s + d * d;
                        }
                    }
                    // SAFETY: as for the components above (the buffer is
                    // checked in `magnitude_into`).
                    let out = unsafe { out.row(out_offset + cols.start, cols.len()) };
                    for (o, &s) in out.iter_mut().zip(&sum) {
                        *o = O::from_compute(s.sqrt());
                    }
                }
            }
            self.advance(walk, &mut index, &mut in_offset, &mut out_offset);
        }
    }

    /// Writes the derivative along `work`'s axis at columns `at.cols` of one
    /// row into `out` (of that length).
    #[inline(always)]
    fn derivative<L: Lanes<T>>(
        &self,
        work: &AxisWork<'p, T>,
        at: &Row<'_>,
        lanes: &L,
        buffers: &mut [Vec<T>; 3],
        out: &mut [T],
    ) {
        let [b0, b1, b2] = buffers;
        let cols = at.cols.clone();
        match work {
            AxisWork::Innermost(stencil) => {
                let reads = stencil.reads(cols.clone());
                let lane = lanes.read(at.in_offset, reads.clone(), b0);
                stencil.along_lane(out, lane, reads.start, cols);
            }
            AxisWork::Outer { axis, stencil } => {
                let i = at.index[*axis];
                let stride = at.walk.in_strides[*axis];
                // The row `k - i` steps away along the axis: inside the
                // view, since taps only read samples 0..n.
                let row = |k: usize| at.in_offset + (k as isize - i as isize) * stride;
                match stencil.tap(i) {
                    Tap::Difference { lo, hi, denom } => difference(
                        out,
                        lanes.read(row(lo), cols.clone(), b0),
                        lanes.read(row(hi), cols, b1),
                        denom,
                    ),
                    Tap::Weighted { first, w } => weighted(
                        out,
                        [
                            lanes.read(row(first), cols.clone(), b0),
                            lanes.read(row(first + 1), cols.clone(), b1),
                            lanes.read(row(first + 2), cols, b2),
                        ],
                        w,
                    ),
                }
            }
        }
    }

    /// Sets `index` to the multi-index of the `row`-th row in visiting order
    /// and returns that row's input and output offsets.
    fn locate(&self, walk: &Walk, mut row: usize, index: &mut [usize]) -> (isize, usize) {
        for &k in walk.order.iter().rev() {
            index[k] = row % self.shape[k];
            row /= self.shape[k];
        }
        let in_offset = index
            .iter()
            .zip(&walk.in_strides)
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
    fn advance(
        &self,
        walk: &Walk,
        index: &mut [usize],
        in_offset: &mut isize,
        out_offset: &mut usize,
    ) {
        for &k in walk.order.iter().rev() {
            index[k] += 1;
            *in_offset += walk.in_strides[k];
            *out_offset += self.out_strides[k];
            if index[k] < self.shape[k] {
                return;
            }
            index[k] = 0;
            *in_offset -= walk.in_strides[k] * self.shape[k] as isize;
            *out_offset -= self.out_strides[k] * self.shape[k];
        }
    }
}

/// Where one row is: its multi-index, its offset in the source, and the
/// columns a task computes of it.
struct Row<'w> {
    walk: &'w Walk,
    index: &'w [usize],
    in_offset: isize,
    cols: Range<usize>,
}

/// The `k`-th of `parts` near-equal contiguous ranges of `0..len`.
fn part(len: usize, parts: usize, k: usize) -> Range<usize> {
    k * len / parts..(k + 1) * len / parts
}
