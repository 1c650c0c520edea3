//! Every entry point (`gradient`, `gradient_as::<f16 | f32 | f64>`,
//! `gradient_with_backend`, `gradient_magnitude`, `gradient_magnitude_as`)
//! for every input type (i8, u8, i16, u16, i32, u32, i64, u64, f16, f32,
//! f64) on every backend that runs here, against the reference: random
//! shapes (1-4 axes), axis subsets, spacing forms, edge orders, memory
//! layouts (C, Fortran, negative strides, steps, mixtures), integer extremes
//! (for i64 and u64 also the values f64 and f32 must round: ±2⁵³ ± 1,
//! midpoints, any bit pattern) and, for float inputs, NaN and ±inf.
//!
//! The truth is the reference's derivatives in `f64` (`reference::gradient`
//! into `f64`, before any rounding to the output type); the magnitude's truth
//! is `sqrt(Σₖ gₖ²)` of those, summed in `f64` in the requested axis order.
//! Tolerances, with `scale` = max finite |f| × the largest Σ|w| of an axis's
//! taps (the largest a derivative of that axis can be; for the magnitude,
//! the root of the sum of the squared scales):
//!
//! * `f64` output on the reference and the CPU: bit for bit. Both convert
//!   each sample to `f64` the same way (exactly, but for 64-bit integers
//!   beyond 2⁵³, rounded once as numpy does) and evaluate numpy's
//!   expressions in numpy's order with the same `f64` coefficients; the CPU
//!   sums the magnitude's squares in `f64` in the same order.
//! * `f64` on the GPU: 1e-12 × scale (tests/fixtures.rs says why).
//! * `f32`: 8 f32 epsilons × scale for components (tests/cpu_properties.rs
//!   says why; the input's own rounding to `f32`, for 32- and 64-bit
//!   integers and f64 inputs, adds at most half an epsilon of it); the
//!   magnitude adds (k + 2)
//!   epsilons for the k squares, their sum and the square root.
//! * `f16`: the `f32` bound plus 2⁻¹⁰ × |value| (the CPU and the GPU compute
//!   `f16` in `f32` and round once: half an `f16` ulp, doubled for slack)
//!   plus 2⁻²⁴ (an `f16` subnormal step). A value beyond `f16`'s range
//!   within that tolerance may come back as the same-signed infinity.
//!
//! Non-finite values must match exactly: NaN for NaN, the same infinity.

use crate::common;

use common::{backends_under_test, random_request, sample, tap_magnitudes, Rng, Strided};
use ndarray::{ArrayD, ArrayViewD};
use ndgrad::{
    f16, gradient, gradient_as, gradient_magnitude, gradient_magnitude_as, gradient_with_backend,
    reference, Backend, Element, GradientOptions, Input, Plan, Scalar as _,
};
use proptest::prelude::*;

/// An input type the tests can draw random samples of.
trait Sample: Input {
    /// Whether the type has NaN and infinities.
    const FLOAT: bool;
    /// Values a sample is often set to: the type's limits (and 0).
    const EXTREMES: &'static [f64];
    /// The range of ordinary samples.
    const RANGE: (f64, f64);
    /// Converts `v` (inside the range, or non-finite for floats).
    fn from_value(v: f64) -> Self;
    /// Sometimes a value the range cannot give (64-bit integers that `f64`
    /// does not hold); `None`, drawing nothing, for the other types.
    fn special(_rng: &mut Rng) -> Option<Self> {
        None
    }
}

macro_rules! integer_sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            const FLOAT: bool = false;
            const EXTREMES: &'static [f64] = &[<$t>::MIN as f64, <$t>::MAX as f64, 0.0];
            const RANGE: (f64, f64) = (<$t>::MIN as f64, <$t>::MAX as f64);
            fn from_value(v: f64) -> Self {
                v.round() as $t
            }
        }
    )*};
}
integer_sample!(i8, u8, u16, i16, i32, u32);

/// 64-bit integers: the range's values are all multiples of large powers of
/// two, so a fifth of the samples are rounding boundaries or arbitrary bit
/// patterns instead.
macro_rules! wide_sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            const FLOAT: bool = false;
            const EXTREMES: &'static [f64] = &[<$t>::MIN as f64, <$t>::MAX as f64, 0.0];
            const RANGE: (f64, f64) = (<$t>::MIN as f64, <$t>::MAX as f64);
            fn from_value(v: f64) -> Self {
                // Saturating: 2⁶³ and 2⁶⁴ become MAX.
                v.round() as $t
            }
            fn special(rng: &mut Rng) -> Option<Self> {
                if !rng.chance(0.2) {
                    return None;
                }
                let p53 = 1i128 << 53;
                let tie = (1i128 << 60) + (1 << 36);
                let boundaries = [
                    p53 - 1, p53 + 1, p53 + 3, -p53 - 1, -p53 - 3,
                    tie, tie + 1, tie - 1, -tie - 1,
                    <$t>::MIN as i128, <$t>::MAX as i128, <$t>::MAX as i128 - 1,
                ];
                Some(if rng.chance(0.5) {
                    rng.next_u64() as $t
                } else {
                    let v = rng.pick(&boundaries);
                    <$t>::try_from(v).unwrap_or(<$t>::MAX)
                })
            }
        }
    )*};
}
wide_sample!(i64, u64);

impl Sample for f16 {
    const FLOAT: bool = true;
    const EXTREMES: &'static [f64] = &[500.0, -500.0, 0.0];
    // Derivatives of f16 samples stay inside f16's range (65504).
    const RANGE: (f64, f64) = (-500.0, 500.0);
    fn from_value(v: f64) -> Self {
        f16::from_f64(v)
    }
}

impl Sample for f32 {
    const FLOAT: bool = true;
    const EXTREMES: &'static [f64] = &[100.0, -100.0, 0.0];
    const RANGE: (f64, f64) = (-100.0, 100.0);
    fn from_value(v: f64) -> Self {
        v as f32
    }
}

impl Sample for f64 {
    const FLOAT: bool = true;
    const EXTREMES: &'static [f64] = &[100.0, -100.0, 0.0];
    const RANGE: (f64, f64) = (-100.0, 100.0);
    fn from_value(v: f64) -> Self {
        v
    }
}

/// One generated request and the layout of its input.
#[derive(Debug, Clone)]
struct Case {
    shape: Vec<usize>,
    opts: GradientOptions,
    layout: Strided,
    /// Fraction of samples that are extremes.
    extremes: f64,
    /// Fraction of samples replaced by NaN, +inf or -inf (float inputs).
    non_finite: f64,
    seed: u64,
}

impl Case {
    fn generate(seed: u64, float: bool) -> Case {
        let mut rng = Rng::new(seed);
        // Up to four axes; sometimes no axis requested: a magnitude of zeros.
        let (shape, opts) = random_request(&mut rng, &[200, 30, 10, 6], 0.4);
        let ndim = shape.len();
        // C, Fortran, all axes reversed, all stepped, or a random mixture.
        let c = Strided::c_order(ndim);
        let layout = match rng.below(5) {
            0 => c,
            1 => Strided {
                perm: (0..ndim).rev().collect(),
                ..c
            },
            2 => Strided {
                reversed: vec![true; ndim],
                ..c
            },
            3 => Strided {
                step: vec![2; ndim],
                ..c
            },
            _ => {
                let mut perm = c.perm;
                rng.shuffle(&mut perm);
                let step = (0..ndim)
                    .map(|_| if rng.chance(0.4) { 2 + rng.below(2) } else { 1 })
                    .collect();
                let reversed = (0..ndim).map(|_| rng.chance(0.4)).collect();
                Strided {
                    perm,
                    step,
                    reversed,
                }
            }
        };
        let extremes = rng.pick(&[0.0, 0.2, 1.0]);
        let non_finite = if float && rng.chance(0.3) { 0.05 } else { 0.0 };
        Case {
            shape,
            opts,
            layout,
            extremes,
            non_finite,
            seed,
        }
    }

    /// The storage the view is cut from, filled with random samples (the
    /// skipped elements too, so reading one gives a wrong result).
    fn storage<I: Sample>(&self) -> ArrayD<I> {
        let (lo, hi) = I::RANGE;
        self.layout.storage(&self.shape, self.seed, |rng| {
            if let Some(v) = I::special(rng) {
                return v;
            }
            I::from_value(sample(rng, self.non_finite, |rng| {
                if rng.chance(self.extremes) {
                    rng.pick(I::EXTREMES)
                } else {
                    lo + rng.unit() * (hi - lo)
                }
            }))
        })
    }

    /// The input: a view of `storage` with the case's shape and layout.
    fn view<'a, I>(&self, storage: &'a ArrayD<I>) -> ArrayViewD<'a, I> {
        self.layout.view(storage, &self.shape)
    }
}

/// How far a result may be from the `f64` truth `e`: `abs + rel·|e|`, or bit
/// for bit when both are zero.
#[derive(Debug, Clone, Copy)]
struct Tol {
    abs: f64,
    rel: f64,
}

/// The tolerance for output type `O` on `backend` (see the file's header);
/// `extra` epsilons are added for a magnitude's squares, sum and root.
fn tolerance<O: Element>(backend: Backend, scale: f64, extra: f64) -> Tol {
    let eps32 = f64::from(f32::EPSILON);
    match O::NUMPY_NAME {
        "float64" if backend == Backend::Gpu => Tol {
            abs: 1e-12 * scale,
            rel: 0.0,
        },
        "float64" => Tol { abs: 0.0, rel: 0.0 },
        "float32" => Tol {
            abs: (8.0 + extra) * eps32 * scale,
            rel: 0.0,
        },
        "float16" => Tol {
            abs: (8.0 + extra) * eps32 * scale + 2f64.powi(-24),
            rel: 2f64.powi(-10),
        },
        other => panic!("no tolerance for {other}"),
    }
}

/// The largest finite value of `O`.
fn max_finite<O: Element>() -> f64 {
    match O::NUMPY_NAME {
        "float16" => 65504.0,
        "float32" => f64::from(f32::MAX),
        _ => f64::MAX,
    }
}

/// The largest magnitude `O` can return: its largest finite value, or, as
/// `f32` squares overflow beyond it, √`f32::MAX` for an `f32` magnitude
/// (`f16` results are computed in `f32`, and overflow `f16` long before).
fn max_magnitude<O: Element>() -> f64 {
    match O::NUMPY_NAME {
        "float32" => f64::from(f32::MAX).sqrt(),
        _ => max_finite::<O>(),
    }
}

/// Compares `got` with the `f64` truth `want` (C order), where a value
/// that may reach `overflow` in magnitude within the tolerance may come back
/// as that side's infinity; the message names the worst element.
fn compare<O: Element>(
    got: &ArrayD<O>,
    shape: &[usize],
    want: &[f64],
    tol: Tol,
    overflow: f64,
) -> Result<(), String> {
    if got.shape() != shape || !got.is_standard_layout() {
        return Err(format!(
            "shape {:?} (standard layout: {}), expected {shape:?}",
            got.shape(),
            got.is_standard_layout()
        ));
    }
    let exact = tol.abs == 0.0 && tol.rel == 0.0;
    let mut failures = 0;
    let mut worst: Option<(f64, usize, f64, f64)> = None;
    for (k, (g, &e)) in got.iter().zip(want).enumerate() {
        let g = g.to_f64();
        let t = tol.abs + tol.rel * e.abs();
        let badness = if e.is_nan() || g.is_nan() {
            if e.is_nan() && g.is_nan() {
                0.0
            } else {
                f64::INFINITY
            }
        } else if e.is_infinite() {
            if g == e {
                0.0
            } else {
                f64::INFINITY
            }
        } else if g.is_infinite() {
            // Overflow of the output (or compute) type, on the side of the
            // truth's tolerance interval that reaches it (a 64-bit input's
            // f32 tolerance can be wider than f16's whole range).
            if (g > 0.0 && e + t >= overflow) || (g < 0.0 && e - t <= -overflow) {
                0.0
            } else {
                f64::INFINITY
            }
        } else if exact {
            if g.to_bits() == e.to_bits() {
                0.0
            } else {
                (g - e).abs().max(f64::MIN_POSITIVE)
            }
        } else if (g - e).abs() <= t {
            0.0
        } else {
            (g - e).abs()
        };
        if badness > 0.0 {
            failures += 1;
            if worst.is_none_or(|w| badness > w.0) {
                worst = Some((badness, k, g, e));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((_, k, g, e)) => Err(format!(
            "{failures} of {} elements differ; worst at flat index {k}: got {g:e}, truth {e:e}, \
             tolerance {tol:?}",
            want.len()
        )),
    }
}

/// The truth of one case, and the scales its tolerances are measured in.
struct Truth {
    shape: Vec<usize>,
    components: Vec<Vec<f64>>,
    magnitude: Vec<f64>,
    scales: Vec<f64>,
    magnitude_scale: f64,
}

impl Truth {
    fn of<I: Input>(input: &ArrayViewD<'_, I>, plan: &Plan) -> Truth {
        let data = input.as_standard_layout();
        let components: Vec<Vec<f64>> =
            reference::gradient(plan, data.as_slice().expect("standard layout"));
        // Summed from +0.0 in requested-axis order, as the backends do.
        let magnitude = (0..plan.len())
            .map(|j| components.iter().fold(0.0, |s, c| s + c[j] * c[j]).sqrt())
            .collect();
        let max_f = input
            .iter()
            .map(|v| v.to_f64().abs())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let scales: Vec<f64> = tap_magnitudes(plan).iter().map(|m| m * max_f).collect();
        let magnitude_scale = scales.iter().fold(0.0, |t, s| t + s * s).sqrt();
        Truth {
            shape: input.shape().to_vec(),
            components,
            magnitude,
            scales,
            magnitude_scale,
        }
    }

    fn check_components<O: Element>(
        &self,
        backend: Backend,
        got: &[ArrayD<O>],
    ) -> Result<(), String> {
        if got.len() != self.components.len() {
            return Err(format!(
                "{} outputs, expected {}",
                got.len(),
                self.components.len()
            ));
        }
        for (k, (g, want)) in got.iter().zip(&self.components).enumerate() {
            compare(
                g,
                &self.shape,
                want,
                tolerance::<O>(backend, self.scales[k], 0.0),
                max_finite::<O>(),
            )
            .map_err(|e| format!("output {k}: {e}"))?;
        }
        Ok(())
    }

    fn check_magnitude<O: Element>(&self, backend: Backend, got: &ArrayD<O>) -> Result<(), String> {
        let extra = self.components.len() as f64 + 2.0;
        let tol = tolerance::<O>(backend, self.magnitude_scale, extra);
        compare(got, &self.shape, &self.magnitude, tol, max_magnitude::<O>())
    }
}

/// Whether `backend` cannot compute in `O` here (a GPU without f64): then
/// the call must fail rather than be checked.
fn unsupported<O: Element>(backend: Backend) -> bool {
    backend == Backend::Gpu
        && O::NUMPY_NAME == "float64"
        && !ndgrad::gpu::default_context().is_ok_and(|ctx| ctx.supports_f64())
}

/// Checks one result: a value within tolerance, or an error where the
/// backend cannot compute `O`.
fn verdict<O: Element, R>(
    backend: Backend,
    result: ndgrad::Result<R>,
    check: impl FnOnce(R) -> Result<(), String>,
) -> Result<(), String> {
    match result {
        Ok(r) if !unsupported::<O>(backend) => check(r),
        Ok(_) => Err("ran in f64 on a GPU without f64".into()),
        Err(_) if unsupported::<O>(backend) => Ok(()),
        Err(e) => Err(format!("returned an error: {e}")),
    }
}

/// Every entry point on every backend for one case with input type `I`.
fn check_case<I: Sample>(seed: u64) {
    let case = Case::generate(seed, I::FLOAT);
    let storage = case.storage::<I>();
    let input = case.view(&storage);
    let plan = Plan::new(input.shape(), &case.opts).expect("generated options are valid");
    let truth = Truth::of(&input, &plan);
    let mut failures = Vec::new();
    for backend in backends_under_test() {
        let opts = case.opts.clone().backend(backend);
        let mut note = |what: &str, r: Result<(), String>| {
            if let Err(e) = r {
                failures.push(format!("{what} on {backend}: {e}"));
            }
        };
        type N<I> = <I as Input>::NumpyOutput;
        note(
            "gradient",
            verdict::<N<I>, _>(backend, gradient(&input, &opts), |g| {
                truth.check_components(backend, &g)
            }),
        );
        note(
            "gradient_with_backend",
            verdict::<N<I>, _>(backend, gradient_with_backend(&input, &opts), |g| {
                if g.backend != backend {
                    return Err(format!("ran on {}", g.backend));
                }
                truth.check_components(backend, &g.arrays)
            }),
        );
        note(
            "gradient_as::<f16>",
            verdict::<f16, _>(backend, gradient_as::<f16, _, _, _>(&input, &opts), |g| {
                truth.check_components(backend, &g)
            }),
        );
        note(
            "gradient_as::<f32>",
            verdict::<f32, _>(backend, gradient_as::<f32, _, _, _>(&input, &opts), |g| {
                truth.check_components(backend, &g)
            }),
        );
        note(
            "gradient_as::<f64>",
            verdict::<f64, _>(backend, gradient_as::<f64, _, _, _>(&input, &opts), |g| {
                truth.check_components(backend, &g)
            }),
        );
        note(
            "gradient_magnitude",
            verdict::<N<I>, _>(backend, gradient_magnitude(&input, &opts), |m| {
                truth.check_magnitude(backend, &m)
            }),
        );
        note(
            "gradient_magnitude_as::<f16>",
            verdict::<f16, _>(
                backend,
                gradient_magnitude_as::<f16, _, _, _>(&input, &opts),
                |m| truth.check_magnitude(backend, &m),
            ),
        );
        note(
            "gradient_magnitude_as::<f32>",
            verdict::<f32, _>(
                backend,
                gradient_magnitude_as::<f32, _, _, _>(&input, &opts),
                |m| truth.check_magnitude(backend, &m),
            ),
        );
        note(
            "gradient_magnitude_as::<f64>",
            verdict::<f64, _>(
                backend,
                gradient_magnitude_as::<f64, _, _, _>(&input, &opts),
                |m| truth.check_magnitude(backend, &m),
            ),
        );
    }
    assert!(
        failures.is_empty(),
        "{} input, {case:?}:\n{}",
        I::NUMPY_NAME,
        failures.join("\n")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn int8_input(seed in any::<u64>()) {
        check_case::<i8>(seed);
    }

    #[test]
    fn uint8_input(seed in any::<u64>()) {
        check_case::<u8>(seed);
    }

    #[test]
    fn uint16_input(seed in any::<u64>()) {
        check_case::<u16>(seed);
    }

    #[test]
    fn int16_input(seed in any::<u64>()) {
        check_case::<i16>(seed);
    }

    #[test]
    fn int32_input(seed in any::<u64>()) {
        check_case::<i32>(seed);
    }

    #[test]
    fn uint32_input(seed in any::<u64>()) {
        check_case::<u32>(seed);
    }

    #[test]
    fn int64_input(seed in any::<u64>()) {
        check_case::<i64>(seed);
    }

    #[test]
    fn uint64_input(seed in any::<u64>()) {
        check_case::<u64>(seed);
    }

    #[test]
    fn float16_input(seed in any::<u64>()) {
        check_case::<f16>(seed);
    }

    #[test]
    fn float32_input(seed in any::<u64>()) {
        check_case::<f32>(seed);
    }

    #[test]
    fn float64_input(seed in any::<u64>()) {
        check_case::<f64>(seed);
    }
}

/// numpy's output types: `f64` for integer input, the input's own type for
/// floats (the annotations are the check; the names make it visible).
#[test]
fn output_types_follow_numpy() {
    let opts = GradientOptions::new().backend(Backend::Reference);
    let g: Vec<ndarray::Array1<f64>> = gradient(&ndarray::array![0u8, 255, 7], &opts).unwrap();
    assert_eq!(g[0].len(), 3);
    let m: ndarray::Array1<f64> = gradient_magnitude(&ndarray::array![0i32, 9, 1], &opts).unwrap();
    assert_eq!(m.len(), 3);
    let h = [1.0, 2.5, 0.5].map(f16::from_f64);
    let g: Vec<ndarray::Array1<f16>> = gradient(&ndarray::arr1(&h), &opts).unwrap();
    assert_eq!(g[0].len(), 3);
    for (input, output) in [
        (i8::NUMPY_NAME, <i8 as Input>::NumpyOutput::NUMPY_NAME),
        (u8::NUMPY_NAME, <u8 as Input>::NumpyOutput::NUMPY_NAME),
        (u32::NUMPY_NAME, <u32 as Input>::NumpyOutput::NUMPY_NAME),
        (i64::NUMPY_NAME, <i64 as Input>::NumpyOutput::NUMPY_NAME),
        (u64::NUMPY_NAME, <u64 as Input>::NumpyOutput::NUMPY_NAME),
        (u16::NUMPY_NAME, <u16 as Input>::NumpyOutput::NUMPY_NAME),
        (i16::NUMPY_NAME, <i16 as Input>::NumpyOutput::NUMPY_NAME),
        (i32::NUMPY_NAME, <i32 as Input>::NumpyOutput::NUMPY_NAME),
        (f16::NUMPY_NAME, <f16 as Input>::NumpyOutput::NUMPY_NAME),
        (f32::NUMPY_NAME, <f32 as Input>::NumpyOutput::NUMPY_NAME),
        (f64::NUMPY_NAME, <f64 as Input>::NumpyOutput::NUMPY_NAME),
    ] {
        let want = if input.starts_with("float") {
            input
        } else {
            "float64"
        };
        assert_eq!(output, want, "numpy.gradient of {input}");
    }
}

/// Arrays made only of each integer type's limits, on every backend and in
/// every output type: the widest differences the type can produce.
#[test]
fn integer_extremes_on_every_backend() {
    for seed in 0..24 {
        let mut case = Case::generate(seed, false);
        case.extremes = 1.0;
        let seed = case.seed;
        check_with::<u8>(&case, seed);
        check_with::<u16>(&case, seed);
        check_with::<i16>(&case, seed);
        check_with::<i32>(&case, seed);
        check_with::<i8>(&case, seed);
        check_with::<u32>(&case, seed);
        check_with::<i64>(&case, seed);
        check_with::<u64>(&case, seed);
    }
}

fn check_with<I: Sample>(case: &Case, seed: u64) {
    let storage = case.storage::<I>();
    let input = case.view(&storage);
    let plan = Plan::new(input.shape(), &case.opts).unwrap();
    let truth = Truth::of(&input, &plan);
    for backend in backends_under_test() {
        let opts = case.opts.clone().backend(backend);
        let g = gradient(&input, &opts).unwrap();
        truth
            .check_components(backend, &g)
            .unwrap_or_else(|e| panic!("{} on {backend}, seed {seed}: {e}", I::NUMPY_NAME));
        let g = gradient_as::<f32, _, _, _>(&input, &opts).unwrap();
        truth
            .check_components(backend, &g)
            .unwrap_or_else(|e| panic!("{} as f32 on {backend}, seed {seed}: {e}", I::NUMPY_NAME));
        let m = gradient_magnitude_as::<f32, _, _, _>(&input, &opts).unwrap();
        truth.check_magnitude(backend, &m).unwrap_or_else(|e| {
            panic!("{} magnitude on {backend}, seed {seed}: {e}", I::NUMPY_NAME)
        });
    }
}
