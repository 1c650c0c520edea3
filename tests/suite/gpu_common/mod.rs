//! Helpers for the GPU tests: getting a context (or skipping), random arrays
//! in every memory layout, and comparing with the reference within stated
//! tolerances.
//!
//! Kept apart from `tests/common` so the GPU tests carry their own helpers.

#![allow(dead_code)] // some helpers serve only some modules

use std::sync::OnceLock;

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};
use ndgrad::gpu::{GpuContext, GpuOptions};
use ndgrad::plan::Plan;
use ndgrad::stencil::Tap;
use ndgrad::{Element, GradientOptions};

/// Whether CI demands a GPU (`NDGRAD_REQUIRE_GPU=1`): then a missing adapter
/// fails the test instead of skipping it.
pub fn gpu_required() -> bool {
    std::env::var("NDGRAD_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// `Some(value)`, or `None` after printing why the test is skipped; panics
/// instead when a GPU is required.
pub fn or_skip<T>(result: ndgrad::Result<T>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) if gpu_required() => panic!("NDGRAD_REQUIRE_GPU=1 but no GPU context: {e}"),
        Err(e) => {
            eprintln!("skipping: no GPU context ({e}); set NDGRAD_REQUIRE_GPU=1 to fail instead");
            None
        }
    }
}

/// The context shared by the tests of one binary (lavapipe is slow to start
/// and to compile pipelines, so it is built once), with poisoned outputs.
pub fn context() -> Option<&'static GpuContext> {
    static CTX: OnceLock<ndgrad::Result<GpuContext>> = OnceLock::new();
    let ctx = CTX.get_or_init(|| GpuContext::with_options(GpuOptions::new().poison_outputs(true)));
    or_skip(ctx.as_ref().map_err(Clone::clone))
}

/// A fresh context with `opts` (poisoned outputs added).
pub fn context_with(opts: GpuOptions) -> Option<GpuContext> {
    or_skip(GpuContext::with_options(opts.poison_outputs(true)))
}

/// The seeded stream of every random case (crates/rng), so a failing case
/// can be replayed from its seed.
pub use ndgrad_rng::Rng;

/// How an input array is laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// C order.
    Standard,
    /// Fortran order: the transpose of a C-ordered array.
    Transposed,
    /// Every other element of a larger array along every axis.
    Stepped,
    /// One axis traversed backwards.
    NegativeStride,
}

pub const LAYOUTS: [Layout; 4] = [
    Layout::Standard,
    Layout::Transposed,
    Layout::Stepped,
    Layout::NegativeStride,
];

/// Random values in [−100, 100), with about `non_finite` of them NaN, +inf
/// or −inf.
pub fn values<T: Element>(rng: &mut Rng, len: usize, non_finite: f64) -> Vec<T> {
    (0..len)
        .map(|_| {
            let v = if rng.unit() < non_finite {
                [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][rng.below(3)]
            } else {
                rng.range(-100.0, 100.0)
            };
            T::from_f64(v)
        })
        .collect()
}

/// An owned array, filled with random values, whose [`view`] with the same
/// `layout` has `shape` and that memory layout.
pub fn array_in_layout<T: Element>(
    rng: &mut Rng,
    shape: &[usize],
    layout: Layout,
    non_finite: f64,
) -> ArrayD<T> {
    let len: usize = shape.iter().product();
    match layout {
        Layout::Standard | Layout::NegativeStride => {
            ArrayD::from_shape_vec(IxDyn(shape), values(rng, len, non_finite)).unwrap()
        }
        Layout::Transposed => {
            let rev: Vec<usize> = shape.iter().rev().copied().collect();
            ArrayD::from_shape_vec(IxDyn(&rev), values(rng, len, non_finite)).unwrap()
        }
        Layout::Stepped => {
            let big: Vec<usize> = shape.iter().map(|&s| 2 * s).collect();
            let big_len = big.iter().product();
            ArrayD::from_shape_vec(IxDyn(&big), values(rng, big_len, non_finite)).unwrap()
        }
    }
}

/// The view of `owner` that [`array_in_layout`] describes.
pub fn view<T: Element>(owner: &ArrayD<T>, layout: Layout) -> ArrayViewD<'_, T> {
    let mut v = owner.view();
    match layout {
        Layout::Standard => {}
        Layout::Transposed => v = v.reversed_axes(),
        Layout::Stepped => {
            for k in 0..v.ndim() {
                v.slice_axis_inplace(Axis(k), Slice::new(0, None, 2));
            }
        }
        Layout::NegativeStride => {
            if v.ndim() > 0 {
                let k = v.ndim() / 2;
                v.invert_axis(Axis(k));
            }
        }
    }
    v
}

/// `Σ |w_k · f_k|` of the tap: the scale of the rounding errors a correct
/// evaluation in any precision can make.
fn tap_magnitude(tap: Tap, f: impl Fn(usize) -> f64) -> f64 {
    match tap {
        Tap::Difference { lo, hi, denom } => (f(lo).abs() + f(hi).abs()) / denom.abs(),
        Tap::Weighted { first, w } => (0..3).map(|k| (w[k] * f(first + k)).abs()).sum(),
        Tap::Wide { w, .. } => tap.samples().zip(w).map(|(j, w)| (w * f(j)).abs()).sum(),
    }
}

/// Asserts that `got` equals the reference gradient of `input` (C order)
/// under `opts`, element by element.
///
/// Tolerance: `16 · ε · Σ|w_k f_k|` per element, with ε the machine epsilon
/// of `T`. The reference evaluates each tap in f64 and rounds once; the GPU
/// evaluates it in `T` with coefficients rounded to `T`, and WGSL division is
/// not correctly rounded (2.5 ulp for f32), so a handful of roundings of the
/// size of the terms is expected. f32 adds a few smallest normals of
/// absolute slack, since GPUs may flush subnormals to zero. NaN must be NaN
/// and ±inf must match exactly.
pub fn assert_matches_reference<T: Element>(
    input: &[T],
    shape: &[usize],
    opts: &GradientOptions,
    got: &[Vec<T>],
    context: &str,
) {
    let plan = Plan::new(shape, opts).expect("valid options");
    let expected = ndgrad::reference::gradient::<T, T>(&plan, input);
    assert_eq!(got.len(), expected.len(), "{context}: number of outputs");
    let (eps, floor) = if std::mem::size_of::<T>() == 4 {
        (f64::from(f32::EPSILON), 4.0 * f64::from(f32::MIN_POSITIVE))
    } else {
        (f64::EPSILON, 0.0)
    };
    for (k, ax) in plan.axes.iter().enumerate() {
        assert_eq!(
            got[k].len(),
            expected[k].len(),
            "{context}: axis {}",
            ax.axis
        );
        for o in 0..ax.outer {
            for j in 0..ax.inner {
                let sample = |i: usize| input[ax.index(o, i, j)].to_f64();
                for i in 0..ax.n {
                    let at = ax.index(o, i, j);
                    let (g, e) = (got[k][at].to_f64(), expected[k][at].to_f64());
                    let ok = if e.is_nan() {
                        g.is_nan()
                    } else if e.is_infinite() {
                        g == e
                    } else {
                        let tol = 16.0 * eps * tap_magnitude(ax.stencil.tap(i), sample) + floor;
                        (g - e).abs() <= tol
                    };
                    assert!(
                        ok,
                        "{context}: axis {} (outer {o}, index {i}, inner {j}; flat {at}): GPU {g:e}, reference {e:e} (bits {:#x})",
                        ax.axis,
                        g.to_bits()
                    );
                }
            }
        }
    }
}

/// An input type the tests can fill with random values across its range.
pub trait RandomInput: ndgrad::Input {
    /// A random value; floats in [−100, 100).
    fn random(rng: &mut Rng) -> Self;
}

/// The 8-, 16- and 32-bit integers: any bit pattern of their width.
macro_rules! random_bits {
    ($($t:ty),*) => {$(
        impl RandomInput for $t {
            fn random(rng: &mut Rng) -> Self {
                rng.next_u64() as $t
            }
        }
    )*};
}
random_bits!(i8, u8, i16, u16, i32, u32);

/// Any bit pattern, of a random length (so small values and every rounding
/// case beyond 2²⁴ and 2⁵³ come up).
impl RandomInput for i64 {
    fn random(rng: &mut Rng) -> Self {
        (rng.next_u64() as i64) >> rng.below(64)
    }
}

impl RandomInput for u64 {
    fn random(rng: &mut Rng) -> Self {
        rng.next_u64() >> rng.below(64)
    }
}

impl RandomInput for ndgrad::f16 {
    fn random(rng: &mut Rng) -> Self {
        ndgrad::f16::from_f64(rng.range(-100.0, 100.0))
    }
}

impl RandomInput for f32 {
    fn random(rng: &mut Rng) -> Self {
        rng.range(-100.0, 100.0) as f32
    }
}

impl RandomInput for f64 {
    fn random(rng: &mut Rng) -> Self {
        rng.range(-100.0, 100.0)
    }
}

/// `len` random values of `I`.
pub fn random_values<I: RandomInput>(rng: &mut Rng, len: usize) -> Vec<I> {
    (0..len).map(|_| I::random(rng)).collect()
}

/// The relative precision a GPU result of `O` has: the compute type's
/// epsilon (f16 results are computed in f32) and the rounding to `O`.
fn precision<O: Element>() -> (f64, f64, f64) {
    match std::mem::size_of::<O>() {
        // f32 compute, then one rounding to f16 (2^-11 relative, doubled for
        // the double rounding f64 → f32 → f16 against the reference's one).
        2 => (
            f64::from(f32::EPSILON),
            2.0f64.powi(-10),
            ndgrad::f16::MIN_POSITIVE.to_f64(),
        ),
        4 => (
            f64::from(f32::EPSILON),
            0.0,
            4.0 * f64::from(f32::MIN_POSITIVE),
        ),
        _ => (f64::EPSILON, 0.0, 0.0),
    }
}

/// The tolerance of each element of each requested axis: see
/// [`assert_matches_reference`] for the compute part; f16 results add one
/// f16 rounding of the value.
fn tolerances<I: ndgrad::Input, O: Element>(plan: &Plan, input: &[I]) -> Vec<Vec<f64>> {
    let (eps, _, floor) = precision::<O>();
    plan.axes
        .iter()
        .map(|ax| {
            let mut tol = vec![0.0; input.len()];
            for o in 0..ax.outer {
                for j in 0..ax.inner {
                    let sample = |i: usize| input[ax.index(o, i, j)].to_f64();
                    for i in 0..ax.n {
                        tol[ax.index(o, i, j)] =
                            16.0 * eps * tap_magnitude(ax.stencil.tap(i), sample) + floor;
                    }
                }
            }
            tol
        })
        .collect()
}

/// The largest finite value of `O`.
fn max_finite<O: Element>() -> f64 {
    match std::mem::size_of::<O>() {
        2 => 65504.0,
        4 => f64::from(f32::MAX),
        _ => f64::MAX,
    }
}

/// `g` is the infinity on a side that the truth `e` may reach `overflow`
/// on, within `tol`.
fn may_overflow(g: f64, e: f64, tol: f64, overflow: f64) -> bool {
    (g == f64::INFINITY && e + tol >= overflow) || (g == f64::NEG_INFINITY && e - tol <= -overflow)
}

fn close(g: f64, e: f64, tol: f64) -> bool {
    if e.is_nan() {
        g.is_nan()
    } else if e.is_infinite() {
        g == e
    } else {
        (g - e).abs() <= tol
    }
}

/// Asserts that `got` (results of `O` from input of `I`) equals the
/// reference's f64 gradient within the tolerances of [`tolerances`].
pub fn assert_typed_matches_reference<I: ndgrad::Input, O: Element>(
    input: &[I],
    shape: &[usize],
    opts: &GradientOptions,
    got: &[Vec<O>],
    context: &str,
) {
    let plan = Plan::new(shape, opts).expect("valid options");
    let expected = ndgrad::reference::gradient::<I, f64>(&plan, input);
    let tols = tolerances::<I, O>(&plan, input);
    let (_, rounding, _) = precision::<O>();
    assert_eq!(got.len(), expected.len(), "{context}: number of outputs");
    for (k, ax) in plan.axes.iter().enumerate() {
        assert_eq!(got[k].len(), input.len(), "{context}: axis {}", ax.axis);
        for (at, (&g, &e)) in got[k].iter().zip(&expected[k]).enumerate() {
            let g = g.to_f64();
            // f16 results overflow to ±inf where the value exceeds f16's range
            // (or may, within the tolerance: a 64-bit input's f32 tolerance
            // can be wider than f16's whole range).
            let e_out = O::from_f64(e).to_f64();
            let tol = tols[k][at] + rounding * e.abs();
            let ok = close(g, e_out, tol)
                || (e_out.is_infinite() && g == e_out)
                || may_overflow(g, e, tol, max_finite::<O>());
            assert!(
                ok,
                "{context}: axis {} flat {at}: GPU {g:e}, reference {e:e}",
                ax.axis
            );
        }
    }
}

/// Asserts that `got` equals the square root of the summed squares of the
/// reference components: the tolerance is the sum of the components'
/// tolerances, plus a few roundings of the magnitude itself.
pub fn assert_magnitude_matches_reference<I: ndgrad::Input, O: Element>(
    input: &[I],
    shape: &[usize],
    opts: &GradientOptions,
    got: &[O],
    context: &str,
) {
    let plan = Plan::new(shape, opts).expect("valid options");
    let components = ndgrad::reference::gradient::<I, f64>(&plan, input);
    let tols = tolerances::<I, O>(&plan, input);
    let (eps, rounding, _) = precision::<O>();
    assert_eq!(got.len(), input.len(), "{context}: length");
    for (at, &g) in got.iter().enumerate() {
        let e = components.iter().map(|c| c[at] * c[at]).sum::<f64>().sqrt();
        let tol: f64 = tols.iter().map(|t| t[at]).sum::<f64>() + (4.0 * eps + rounding) * e;
        let g = g.to_f64();
        let e_out = O::from_f64(e).to_f64();
        // f16 and f32 magnitudes sum f32 squares, which overflow beyond
        // √f32::MAX.
        let overflow = max_finite::<O>().min(if std::mem::size_of::<O>() <= 4 {
            f64::from(f32::MAX).sqrt()
        } else {
            f64::MAX
        });
        assert!(
            close(g, e_out, tol)
                || (e_out.is_infinite() && g == e_out)
                || may_overflow(g, e, tol, overflow),
            "{context}: flat {at}: GPU {g:e}, reference {e:e}"
        );
    }
}
