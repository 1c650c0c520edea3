//! Blocks of a larger array: the building block of chunked and
//! out-of-core engines.
//!
//! An engine that never holds the whole array (the CLI streaming a volume
//! larger than memory, a zarr store processed chunk by chunk, Dask's
//! `map_overlap`) works on one block at a time: the samples of a box of
//! the whole array, with a halo of neighbouring samples around the part it
//! wants the result of. Given the block, where it sits in the whole array
//! ([`Place`]) and the options of the whole call, [`gradient`] returns
//! exactly that part of the whole array's gradient, bit for bit as the
//! same backend computes it for the whole array.
//!
//! The difference from differentiating the block as an array of its own
//! (what `dask.array.gradient` does with `numpy.gradient` on each
//! overlapped block) is at the block's edges. A block edge inside the
//! array is not a domain edge: its points take the interior (central)
//! stencil, which reads the halo. A block edge that is a domain edge takes
//! numpy's one-sided formulas there, as the whole array does. Coordinates
//! are given for the whole axis, as for [`crate::gradient`]; each block
//! uses its own slice of them.
//!
//! How much halo a block needs: [`halo`] gives the depth that serves every
//! block of a regular chunking (one per axis, for `map_overlap`), and
//! [`min_block`] the shortest chunk that depth works with. [`window`] gives
//! the smallest block for one wanted box, domain edges included. Whatever
//! the block, [`gradient`] checks that every wanted point's stencil reads
//! only samples the block holds and returns [`Error::Block`] otherwise: a
//! wrong place or a short halo is an error, never a silently different
//! result.
//!
//! A periodic axis ([`crate::Boundary::Periodic`]) wraps around, so its
//! points read samples from the far end: a block must hold a periodic axis
//! whole (its wanted part may be any slice of it).
//!
//! ```
//! use ndarray::{s, Array1};
//! use ndgrad::{block, Backend, GradientOptions};
//!
//! // The gradient of 1000 samples, computed in blocks of 100.
//! let f = Array1::from_shape_fn(1000, |i| ((i * i) % 97) as f64);
//! let opts = GradientOptions::new().backend(Backend::Cpu);
//! let whole = &ndgrad::gradient(&f, &opts)?[0];
//! for start in (0..1000).step_by(100) {
//!     let w = block::window(&[1000], &[start..start + 100], &opts)?;
//!     let data = f.slice(s![w.read[0].clone()]);
//!     let part = &block::gradient(&data, &w.place, &opts)?.arrays[0];
//!     assert_eq!(part, &whole.slice(s![start..start + 100]));
//! }
//! # Ok::<(), ndgrad::Error>(())
//! ```

use std::ops::Range;

use ndarray::{Array, ArrayBase, ArrayView, Data, Dimension, Slice};

use crate::element::{Element, Input, Scalar};
use crate::error::{Error, Result};
use crate::options::GradientOptions;
use crate::plan::{self, AxisPlan, Plan, Request};
use crate::stencil::{Coordinates, Stencil, Steps, Tap};
use crate::Gradients;

/// Where a block sits in the whole array, and which of its points are
/// wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The shape of the whole array.
    pub shape: Vec<usize>,
    /// The index in the whole array of the block's first element, per axis.
    pub origin: Vec<usize>,
    /// Per axis, the points of the block whose result is wanted, as indices
    /// into the block (the rest is halo).
    pub region: Vec<Range<usize>>,
}

/// A block to read and its [`Place`]: what [`window`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Per axis, the indices of the whole array the block must hold.
    pub read: Vec<Range<usize>>,
    /// The place of the block `read` describes.
    pub place: Place,
}

/// The halo depth a block needs on each side of each axis under a
/// regular chunking (`dask.array.map_overlap`'s `depth`): 1 for numpy's
/// stencils, `p / 2` for accuracy `p` above 2, and 0 for an axis that is
/// not differentiated or that is periodic (held whole).
///
/// With this depth every chunk must be at least [`min_block`] long, so
/// that a chunk at a domain edge holds the samples of its one-sided
/// stencils.
///
/// ```
/// use ndgrad::{block, Accuracy, GradientOptions};
///
/// let opts = GradientOptions::new().axis(1).accuracy(Accuracy::Fourth);
/// assert_eq!(block::halo(&[50, 60], &opts)?, [0, 2]);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`crate::gradient`] for an array of `shape`.
pub fn halo(shape: &[usize], opts: &GradientOptions) -> Result<Vec<usize>> {
    let plan = Plan::new(shape, opts)?;
    let mut depth = vec![0; shape.len()];
    for ax in &plan.axes {
        if !ax.stencil.is_periodic() {
            depth[ax.axis] = half_width(&ax.stencil);
        }
    }
    Ok(depth)
}

/// The shortest chunk, per axis, that a regular chunking with [`halo`]'s
/// depth may have: 1 on an axis that is not differentiated; on a
/// differentiated axis, long enough that a chunk at a domain edge plus its
/// halo holds every sample the edge's one-sided stencils read (2 for
/// `edge_order=2`, `p / 2 + 1` for accuracy `p` above 2); the whole axis
/// for a periodic one. (`dask.array.gradient` needs chunks of at least
/// `edge_order + 1`, dask#7025.)
///
/// ```
/// use ndgrad::{block, EdgeOrder, GradientOptions};
///
/// let opts = GradientOptions::new().edge_order(EdgeOrder::Second);
/// assert_eq!(block::min_block(&[50, 60], &opts)?, [2, 2]);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`crate::gradient`] for an array of `shape`.
pub fn min_block(shape: &[usize], opts: &GradientOptions) -> Result<Vec<usize>> {
    let plan = Plan::new(shape, opts)?;
    let mut min = vec![1; shape.len()];
    for ax in &plan.axes {
        min[ax.axis] = if ax.stencil.is_periodic() {
            ax.n
        } else {
            let edge = ax.stencil.first().span().1.max(ax.stencil.form().min_len());
            edge.saturating_sub(half_width(&ax.stencil)).max(1)
        };
    }
    Ok(min)
}

/// The smallest block whose result covers `wanted` (per axis, a range of
/// indices of the whole array): on each differentiated axis, every sample
/// the wanted points' stencils read; the wanted range itself on the others.
///
/// ```
/// use ndgrad::{block, EdgeOrder, GradientOptions};
///
/// let opts = GradientOptions::new().edge_order(EdgeOrder::Second);
/// // Inside, one sample each side; at the domain edge, the second-order
/// // one-sided stencil of point 0 reads points 0, 1 and 2.
/// let w = block::window(&[100], &[40..60], &opts)?;
/// assert_eq!((w.read[0].clone(), w.place.region[0].clone()), (39..61, 1..21));
/// let w = block::window(&[100], &[0..1], &opts)?;
/// assert_eq!(w.read[0], 0..3);
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`crate::gradient`] for an array of `shape`, and [`Error::Block`] if
/// `wanted` does not lie within `shape`.
pub fn window(shape: &[usize], wanted: &[Range<usize>], opts: &GradientOptions) -> Result<Window> {
    if wanted.len() != shape.len() {
        return Err(block_error(format!(
            "{} wanted ranges for an array of {} dimensions",
            wanted.len(),
            shape.len()
        )));
    }
    for (axis, (w, &n)) in wanted.iter().zip(shape).enumerate() {
        if w.start > w.end || w.end > n {
            return Err(block_error(format!(
                "the wanted range {w:?} of axis {axis} is not within its {n} points"
            )));
        }
    }
    let plan = Plan::new(shape, opts)?;
    let mut read = wanted.to_vec();
    for ax in &plan.axes {
        let w = &wanted[ax.axis];
        if w.is_empty() {
            continue;
        }
        read[ax.axis] = if ax.stencil.is_periodic() {
            0..ax.n
        } else {
            let (lo, hi) = checked_points(&ax.stencil, w.clone())
                .map(|g| ax.stencil.tap(g).span())
                .fold((w.start, w.end), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
            lo..hi
        };
    }
    let place = Place {
        shape: shape.to_vec(),
        origin: read.iter().map(|r| r.start).collect(),
        region: wanted
            .iter()
            .zip(&read)
            .map(|(w, r)| w.start - r.start..w.end - r.start)
            .collect(),
    };
    Ok(Window { read, place })
}

/// The gradient of the wanted part of a block: the `place.region` part of
/// [`crate::gradient_with_backend`] of the whole array, computed from the
/// block alone.
///
/// Returns one array of the region's shape per requested axis, in the
/// order requested, and the backend that ran; each is bit for bit the
/// same part of the whole array's result on that backend. Pass a concrete
/// backend ([`crate::resolve_backend`]) when blocks must agree with each
/// other: [`crate::Backend::Auto`] chooses per block, and the GPU's `f32`
/// arithmetic may differ from the CPU's in the last place.
///
/// Only the block's region is computed along the axes that are not
/// differentiated; along a differentiated axis, its halo points are
/// computed too (one fused pass over the block) and dropped.
///
/// ```
/// use ndarray::{s, Array2};
/// use ndgrad::block::{self, Place};
/// use ndgrad::{Backend, GradientOptions};
///
/// let f = Array2::from_shape_fn((6, 8), |(i, j)| (i * i * j) as f32);
/// let opts = GradientOptions::new().backend(Backend::Cpu);
/// let whole = ndgrad::gradient(&f, &opts)?;
/// // Rows 3..5 of the whole array, from rows 2..6 (one halo row each side).
/// let place = Place { shape: vec![6, 8], origin: vec![2, 0], region: vec![1..3, 0..8] };
/// let part = block::gradient(&f.slice(s![2..6, ..]), &place, &opts)?;
/// assert_eq!(part.arrays[0], whole[0].slice(s![3..5, ..]));
/// assert_eq!(part.arrays[1], whole[1].slice(s![3..5, ..]));
/// # Ok::<(), ndgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`crate::gradient`] for an array of `place.shape`; [`Error::Block`]
/// if the block does not fit the whole array where `place` puts it, if the
/// region is not within the block, or if a wanted point's stencil reads a
/// sample the block does not hold (a halo too short, or a periodic axis
/// not held whole).
pub fn gradient<I, S, D>(
    block: &ArrayBase<S, D>,
    place: &Place,
    opts: &GradientOptions,
) -> Result<Gradients<I::Gradient, D>>
where
    I: Scalar,
    S: Data<Elem = I>,
    D: Dimension,
{
    components(block, place, opts, |view, plan| {
        I::gradients(&view, plan, opts.backend)
    })
}

/// [`gradient`] computed in and returned as `O`, for a real input:
/// [`crate::gradient_as`] of a block.
///
/// # Errors
///
/// As [`gradient`].
pub fn gradient_as<O, I, S, D>(
    block: &ArrayBase<S, D>,
    place: &Place,
    opts: &GradientOptions,
) -> Result<Gradients<O, D>>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    components(block, place, opts, |view, plan| {
        crate::compute_planned(&view, plan, opts.backend, Request::Components)
    })
}

/// The gradient magnitude of the wanted part of a block: the
/// `place.region` part of [`crate::gradient_magnitude`] of the whole
/// array, bit for bit on the same backend.
///
/// # Errors
///
/// As [`gradient`].
pub fn gradient_magnitude<I, S, D>(
    block: &ArrayBase<S, D>,
    place: &Place,
    opts: &GradientOptions,
) -> Result<Array<I::Magnitude, D>>
where
    I: Scalar,
    S: Data<Elem = I>,
    D: Dimension,
{
    magnitude(block, place, opts, |view, plan| {
        I::magnitude(&view, plan, opts.backend)
    })
}

/// [`gradient_magnitude`] computed in and returned as `O`, for a real
/// input.
///
/// # Errors
///
/// As [`gradient`].
pub fn gradient_magnitude_as<O, I, S, D>(
    block: &ArrayBase<S, D>,
    place: &Place,
    opts: &GradientOptions,
) -> Result<Array<O, D>>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    magnitude(block, place, opts, |view, plan| {
        let mut g = crate::compute_planned(&view, plan, opts.backend, Request::Magnitude)?;
        Ok(g.arrays
            .pop()
            .expect("a magnitude request returns one array"))
    })
}

/// Re-plans the block and runs `compute` on its computed part: the
/// requested components, trimmed to the region.
fn components<T, U, S, D>(
    block: &ArrayBase<S, D>,
    place: &Place,
    opts: &GradientOptions,
    compute: impl FnOnce(ArrayView<'_, U, D>, &Plan) -> Result<Gradients<T, D>>,
) -> Result<Gradients<T, D>>
where
    T: bytemuck::Zeroable + Clone,
    S: Data<Elem = U>,
    D: Dimension,
{
    let local = Local::new(block, place, opts, Request::Components)?;
    let Some(plan) = &local.plan else {
        return Ok(Gradients {
            arrays: vec![local.empty(block); local.count],
            backend: opts.backend,
        });
    };
    let g = compute(local.view(block), plan)?;
    Ok(Gradients {
        arrays: g.arrays.into_iter().map(|a| local.trim(a)).collect(),
        backend: g.backend,
    })
}

/// [`components`] for the magnitude.
fn magnitude<T, U, S, D>(
    block: &ArrayBase<S, D>,
    place: &Place,
    opts: &GradientOptions,
    compute: impl FnOnce(ArrayView<'_, U, D>, &Plan) -> Result<Array<T, D>>,
) -> Result<Array<T, D>>
where
    T: bytemuck::Zeroable + Clone,
    S: Data<Elem = U>,
    D: Dimension,
{
    let local = Local::new(block, place, opts, Request::Magnitude)?;
    match &local.plan {
        Some(plan) => Ok(local.trim(compute(local.view(block), plan)?)),
        None => Ok(local.empty(block)),
    }
}

/// A block re-planned as an array of its own whose stencils are the whole
/// array's at every wanted point.
struct Local {
    /// The plan of the computed part of the block (`None` when the region
    /// is empty and nothing is computed).
    plan: Option<Plan>,
    /// Per axis, the part of the block that is computed.
    computed: Vec<Range<usize>>,
    /// Per axis, the region within the computed part.
    trim: Vec<Range<usize>>,
    /// How many arrays the request returns.
    count: usize,
}

impl Local {
    fn new<T, S: Data<Elem = T>, D: Dimension>(
        block: &ArrayBase<S, D>,
        place: &Place,
        opts: &GradientOptions,
        request: Request,
    ) -> Result<Local> {
        check_place(block.shape(), place)?;
        let global = Plan::new(&place.shape, opts)?;
        let steps = plan::requested_steps(&place.shape, opts)?;
        let count = request.count(&global);
        let mut computed = place.region.clone();
        for ax in &global.axes {
            computed[ax.axis] = 0..block.shape()[ax.axis];
        }
        let trim: Vec<Range<usize>> = place
            .region
            .iter()
            .zip(&computed)
            .map(|(r, c)| r.start - c.start..r.end - c.start)
            .collect();
        if place.region.iter().any(|r| r.is_empty()) {
            return Ok(Local {
                plan: None,
                computed,
                trim,
                count,
            });
        }
        let shape: Vec<usize> = computed.iter().map(|c| c.len()).collect();
        let axes = global
            .axes
            .iter()
            .zip(steps)
            .map(|(ax, steps)| local_axis(ax, steps, &shape, place))
            .collect::<Result<Vec<_>>>()?;
        Ok(Local {
            plan: Some(Plan { shape, axes }),
            computed,
            trim,
            count,
        })
    }

    /// The computed part of the block.
    fn view<'a, T, S: Data<Elem = T>, D: Dimension>(
        &self,
        block: &'a ArrayBase<S, D>,
    ) -> ArrayView<'a, T, D> {
        block.slice_each_axis(|ax| Slice::from(self.computed[ax.axis.index()].clone()))
    }

    /// The region of a result over the computed part, in standard layout.
    fn trim<T: Clone, D: Dimension>(&self, a: Array<T, D>) -> Array<T, D> {
        if self.trim.iter().zip(a.shape()).all(|(t, &n)| *t == (0..n)) {
            return a;
        }
        a.slice_each_axis(|ax| Slice::from(self.trim[ax.axis.index()].clone()))
            .to_owned()
    }

    /// The (empty) result of an empty region.
    fn empty<T: bytemuck::Zeroable + Clone, U, S: Data<Elem = U>, D: Dimension>(
        &self,
        block: &ArrayBase<S, D>,
    ) -> Array<T, D> {
        let mut dim = block.raw_dim();
        for (k, r) in self.trim.iter().enumerate() {
            dim[k] = r.len();
        }
        Array::from_elem(dim, T::zeroed())
    }
}

/// Checks that the block fits the whole array where `place` puts it and
/// that the region lies within the block.
fn check_place(block: &[usize], place: &Place) -> Result<()> {
    let ndim = block.len();
    if place.shape.len() != ndim || place.origin.len() != ndim || place.region.len() != ndim {
        return Err(block_error(format!(
            "a block of {ndim} dimensions with a place of {} dimensions, {} origins and {} regions",
            place.shape.len(),
            place.origin.len(),
            place.region.len()
        )));
    }
    for (k, &m) in block.iter().enumerate() {
        let (o, n) = (place.origin[k], place.shape[k]);
        if o.checked_add(m).is_none_or(|end| end > n) {
            return Err(block_error(format!(
                "axis {k}: a block of {m} points at {o} does not fit the whole axis of {n}"
            )));
        }
        let r = &place.region[k];
        if r.start > r.end || r.end > m {
            return Err(block_error(format!(
                "axis {k}: the region {r:?} is not within the block's {m} points"
            )));
        }
    }
    Ok(())
}

/// The plan of a block's axis, with the whole axis's steps sliced to the
/// block, checked to give the whole axis's stencil at every wanted point.
fn local_axis(global: &AxisPlan, steps: Steps, shape: &[usize], place: &Place) -> Result<AxisPlan> {
    let k = global.axis;
    let (o, m, n) = (place.origin[k], shape[k], global.n);
    let form = global.stencil.form();
    if global.stencil.is_periodic() && m != n {
        return Err(block_error(format!(
            "axis {k} is periodic: a block must hold all of its {n} points, not {m} from {o}"
        )));
    }
    if m < form.min_len() {
        return Err(block_error(format!(
            "axis {k}: a block of {m} points at {o}, but its stencil needs at least {}",
            form.min_len()
        )));
    }
    let steps = match steps {
        Steps::NonUniform(x) if m != n => {
            let part = x.as_slice()[o..o + m].to_vec();
            Steps::NonUniform(Coordinates::new(ndarray::Array1::from(part).into_shared()))
        }
        steps => steps,
    };
    let local = plan::axis_plan(shape, k, steps, form)?;
    let region = place.region[k].clone();
    for g in checked_points(&global.stencil, o + region.start..o + region.end) {
        let (want, have) = (global.stencil.tap(g), local.stencil.tap(g - o));
        if !same_tap(&want, &have, o) {
            let (lo, hi) = want.span();
            return Err(block_error(format!(
                "axis {k}: point {g} reads points {lo}..{hi}, but the block holds {o}..{}; \
                 give it a longer halo (block::window says how long)",
                o + m
            )));
        }
    }
    Ok(local)
}

/// The points of `range` whose taps can differ from their neighbours':
/// the first and last few, which include every one-sided point of the
/// axis that lies in the range (the rest are interior taps, alike but for
/// their position).
fn checked_points(stencil: &Stencil, range: Range<usize>) -> impl Iterator<Item = usize> {
    let edge = stencil.ends() + 1;
    let head = range.start..range.end.min(range.start + edge);
    let tail = range.end.saturating_sub(edge).max(head.end)..range.end;
    head.chain(tail)
}

/// Whether the block's tap `have` computes what the whole axis's tap
/// `want` does, from the same samples: the same form, the same
/// coefficients bit for bit, and the same samples in the same order once
/// `origin` is added to the block's indices.
fn same_tap(want: &Tap, have: &Tap, origin: usize) -> bool {
    std::mem::discriminant(want) == std::mem::discriminant(have)
        && want
            .coefficients()
            .iter()
            .map(|c| c.to_bits())
            .eq(have.coefficients().iter().map(|c| c.to_bits()))
        && want.samples().eq(have.samples().map(|s| s + origin))
}

/// How far an interior point's stencil reaches on each side.
fn half_width(stencil: &Stencil) -> usize {
    stencil.form().accuracy.get() / 2
}

fn block_error(reason: String) -> Error {
    Error::Block { reason }
}
