//! The CPU traversal: which rows each task computes, in what order, and
//! the derivative of one row along one axis (docs/ARCHITECTURE.md, Tap
//! geometry, for the samples each tap reads).

use std::ops::Range;

use ndarray::{ArrayViewD, Axis, Slice};
use rayon::prelude::*;

use super::kernels::{difference, weighted, weighted_rows, AxisStencil, WeightLayout};
use super::sink::{self, row_as, Sink};
use super::slab;
use super::source::{Lanes, SlabLanes};
use crate::element::{same_type, Element, Input};
use crate::plan::Plan;
use crate::stencil::{Tap, MAX_TAP};

/// Fewer elements than this run on the calling thread: handing work to
/// other threads costs more than it saves.
const SERIAL_BELOW: usize = 1 << 15;
/// Tasks per thread: enough for rayon to balance the load when another
/// process takes a core, few enough that re-reading the neighbour rows at
/// each task's edges costs little.
const TASKS_PER_THREAD: usize = 4;
/// The shortest column range a row is split into.
const MIN_TASK_COLS: usize = 1 << 12;
/// With fewer rows than this, innermost-axis weights are computed as they
/// are used rather than tabled up front: a table costs more bytes and
/// divisions than the rows it serves.
const REUSED_WEIGHTS_ROWS: usize = 4;
/// The size of the C-ordered copy a slab task makes of a strided input:
/// big enough that the halo planes are a small overhead, small enough to
/// stay in the last-level cache while the task computes on it.
const SLAB_BYTES: usize = 8 << 20;
/// Reused outputs totalling at least this many bytes are written with
/// non-temporal stores ([`sink::stream`]; see [`Traversal::streaming`]):
/// large enough that they do not stay in a (shared) last-level cache from
/// one call to the next (BENCHMARKS.md, "Fresh outputs").
const STREAM_ABOVE: usize = 128 << 20;
/// The longest row part (in bytes) that is computed into a small buffer and
/// then streamed to its output: it stays in the first-level cache between
/// the two.
const STREAM_ROW_BYTES: usize = 32 << 10;
/// Rows longer than this many columns are computed a chunk at a time: a
/// task's gathered, converted and squared rows are this long at most.
const COL_CHUNK: usize = 1 << 14;

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
pub(super) struct Walk {
    /// The strides of the source, in elements (any sign).
    in_strides: Vec<isize>,
    /// The outer axes, slowest-varying in memory first: visiting rows in
    /// this order walks the source in (nearly) increasing addresses.
    order: Vec<usize>,
}

impl Walk {
    pub(super) fn memory_order<T>(f: &ArrayViewD<'_, T>) -> Walk {
        let in_strides = f.strides().to_vec();
        let mut order: Vec<usize> = (0..f.ndim() - 1).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(in_strides[k].unsigned_abs()));
        Walk { in_strides, order }
    }
}

/// What is computed on each row, whatever the source.
pub(super) struct Traversal<'p, T> {
    shape: Vec<usize>,
    /// The outputs' (C-order) strides, in elements.
    out_strides: Vec<usize>,
    row_len: usize,
    rows: usize,
    axes: Vec<AxisWork<'p, T>>,
    /// How far the taps reach along axis 0 (0 when it is not requested).
    reach_axis0: usize,
    /// Whether axis 0 is requested and periodic: its end taps read the
    /// far end of the axis, so it cannot be split into slabs with halos.
    periodic_axis0: bool,
    /// Whether to stream large outputs to memory (see [`STREAM_ABOVE`]).
    stream: bool,
    /// Whether the CPU running this has AVX2.
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl<'p, T: Element> Traversal<'p, T> {
    pub(super) fn new(plan: &'p Plan) -> Self {
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
                    WeightLayout::OnTheFly
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
        let axis0 = plan.axes.iter().find(|ax| ax.axis == 0);
        let reach_axis0 = axis0.map_or(0, |ax| ax.stencil.reach());
        let periodic_axis0 = axis0.is_some_and(|ax| ax.stencil.is_periodic());
        Traversal {
            row_len: shape[ndim - 1],
            rows,
            shape,
            out_strides,
            axes,
            reach_axis0,
            periodic_axis0,
            stream: false,
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
        }
    }

    /// Streams the `outputs` output buffers to memory with non-temporal
    /// stores when they total at least [`STREAM_ABOVE`] bytes and were
    /// `written_before`: buffers a caller reuses are cold, so each line would
    /// otherwise be read from memory before it is overwritten. Fresh outputs
    /// are not streamed: their pages were just zeroed by the kernel on first
    /// touch, so their lines are in cache already and ordinary stores are
    /// cheaper (BENCHMARKS.md, "Fresh outputs").
    pub(super) fn streaming(mut self, outputs: usize, written_before: bool) -> Self {
        let bytes = self.rows * self.row_len * std::mem::size_of::<T>() * outputs;
        self.stream = written_before && bytes >= STREAM_ABOVE;
        self
    }

    /// How many planes (index ranges along axis 0) each slab task takes, when
    /// the input is better copied into C order slab by slab than gathered
    /// lane by lane: when some outer axis has a smaller stride than the
    /// innermost one (Fortran order, transposes), gathering a lane touches
    /// one cache line per sample, at a large (often power-of-two) stride
    /// that defeats the caches; a tiled copy reads each line once.
    /// `None` when lanes should be gathered instead (the innermost stride
    /// is already the smallest, or a slab would be too big).
    pub(super) fn slab_planes<I>(&self, f: &ArrayViewD<'_, I>) -> Option<usize> {
        let strides = f.strides();
        let ndim = strides.len();
        let inner = strides[ndim - 1].unsigned_abs();
        if ndim < 2
            || self.periodic_axis0
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
    pub(super) fn run_slabs<I: Input, O: Element<Compute = T>>(
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
    pub(super) fn run<L: Lanes<T>, O: Element<Compute = T>>(
        &self,
        walk: &Walk,
        lanes: &L,
        sink: &Sink<O>,
    ) {
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
        // Long rows (a 1-D array is one row) are computed a chunk of columns
        // at a time, so the per-task rows below stay small and in cache.
        let chunk = cols.len().min(COL_CHUNK);
        let zero = T::from_f64(0.0);
        // A gathered row (innermost axis) spans a chunk plus what the taps
        // reach on each side (less than MAX_TAP); one buffer per row a tap
        // reads at once.
        let width = if L::NEEDS_BUFFER {
            (chunk + 2 * MAX_TAP).min(self.row_len)
        } else {
            0
        };
        let mut buffers: [Vec<T>; MAX_TAP] = std::array::from_fn(|_| vec![zero; width]);
        // One derivative row in the compute type, when it is not written
        // straight into an output: rounded to `O` (`f16`), or squared.
        let magnitude = matches!(sink, Sink::Magnitude(_));
        // Large reused outputs in the compute type are computed into
        // `scratch` and streamed to memory from there (see `streaming`).
        let stream = self.stream
            && same_type::<O, T>()
            && chunk * std::mem::size_of::<T>() <= STREAM_ROW_BYTES;
        let scratch_len = if magnitude || stream || !same_type::<O, T>() {
            chunk
        } else {
            0
        };
        let mut scratch = vec![zero; scratch_len];
        // The running sum of squares of a magnitude row.
        let mut sum = vec![zero; if magnitude { chunk } else { 0 }];
        let mut index = vec![0; self.shape.len()];
        for first in cols.clone().step_by(chunk) {
            let cols = first..(first + chunk).min(cols.end);
            let scratch = &mut scratch[..scratch_len.min(cols.len())];
            let sum = &mut sum[..if magnitude { cols.len() } else { 0 }];
            let (mut in_offset, mut out_offset) = self.locate(walk, rows.start, &mut index);
            for _ in rows.clone() {
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
                                Some(out) if stream => {
                                    self.derivative(work, &at, lanes, &mut buffers, scratch);
                                    sink::stream(out, scratch);
                                }
                                Some(out) => self.derivative(work, &at, lanes, &mut buffers, out),
                                None => {
                                    self.derivative(work, &at, lanes, &mut buffers, scratch);
                                    for (o, &d) in out.iter_mut().zip(scratch.iter()) {
                                        *o = O::from_compute(d);
                                    }
                                }
                            }
                        }
                    }
                    Sink::Magnitude(out) => {
                        sum.fill(zero);
                        for work in &self.axes {
                            self.derivative(work, &at, lanes, &mut buffers, scratch);
                            for (s, &d) in sum.iter_mut().zip(scratch.iter()) {
                                *s = *s + d * d;
                            }
                        }
                        // SAFETY: as for the components above (the buffer is
                        // checked in `magnitude_into`).
                        let out = unsafe { out.row(out_offset + cols.start, cols.len()) };
                        match row_as::<T, O>(out) {
                            Some(out) if stream => {
                                for (o, &s) in scratch.iter_mut().zip(sum.iter()) {
                                    *o = s.sqrt();
                                }
                                sink::stream(out, scratch);
                            }
                            _ => {
                                for (o, &s) in out.iter_mut().zip(sum.iter()) {
                                    *o = O::from_compute(s.sqrt());
                                }
                            }
                        }
                    }
                }
                self.advance(walk, &mut index, &mut in_offset, &mut out_offset);
            }
        }
        if stream {
            sink::stream_fence();
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
        buffers: &mut [Vec<T>; MAX_TAP],
        out: &mut [T],
    ) {
        let cols = at.cols.clone();
        match work {
            AxisWork::Innermost(stencil) => {
                let reads = stencil.reads(cols.clone());
                let lane = lanes.read(at.in_offset, reads.clone(), &mut buffers[0]);
                stencil.along_lane(out, lane, reads.start, cols.clone());
                // The ends of a periodic axis read the lane's other end:
                // their samples are read one by one.
                for (i, tap) in stencil.wrapping().filter(|(i, _)| cols.contains(i)) {
                    let mut values = [T::from_f64(0.0); MAX_TAP];
                    for (v, j) in values.iter_mut().zip(tap.samples()) {
                        *v = lanes.read(at.in_offset, j..j + 1, &mut buffers[1])[0];
                    }
                    out[i - cols.start] = tap.apply_to(&values);
                }
            }
            AxisWork::Outer { axis, stencil } => {
                let [b0, b1, b2, ..] = buffers;
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
                    tap @ Tap::Wide { len, w, .. } => {
                        let mut rows: [&[T]; MAX_TAP] = [&[]; MAX_TAP];
                        for ((r, buffer), k) in
                            rows.iter_mut().zip(buffers.iter_mut()).zip(tap.samples())
                        {
                            *r = lanes.read(row(k), cols.clone(), buffer);
                        }
                        weighted_rows(out, &rows[..len], &w[..len]);
                    }
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
