//! The CPU backend against the reference: random shapes, spacings, axis
//! selections, edge orders, memory layouts and non-finite values, in `f32`
//! and `f64`; plus poisoned output buffers to show every element is written.
//!
//! Tolerances:
//! * `f64`: exact. The CPU backend evaluates numpy's expressions in numpy's
//!   order of operations with the same `f64` coefficients as the reference
//!   (both take them from `ndgrad::stencil`), and IEEE arithmetic is
//!   deterministic, so even the required 1e-14 · max|f|/h would hide bugs.
//! * `f32`: the CPU computes in `f32` with coefficients rounded to `f32`; the
//!   reference computes in `f64` and rounds once. Each of the at most five
//!   roundings (coefficient, products or difference, sums, quotient) is
//!   within half an ulp of the tap's magnitude Σ|w|·max|f|, so 8 ulp of it
//!   is a safe bound that still catches a wrong coefficient or sample.

use crate::common;

use common::{coordinates, random_request_with_forms, sample, tap_magnitudes, Rng, Strided};
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use ndgrad::{
    cpu, gradient, gradient_with_backend, Accuracy, AxisSpacing, Backend, Boundary, EdgeOrder,
    Element, GradientOptions, Plan, Spacing,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    shape: Vec<usize>,
    opts: GradientOptions,
    layout: Strided,
    /// Fraction of samples replaced by NaN, +inf or -inf.
    non_finite: f64,
    seed: u64,
}

impl Case {
    fn generate(seed: u64) -> Case {
        let mut rng = Rng::new(seed);
        // Up to five axes, fewer than 3000 elements.
        let (shape, opts) = random_request_with_forms(&mut rng, &[300, 40, 12, 7, 5], 0.3);
        let ndim = shape.len();
        let mut perm: Vec<usize> = (0..ndim).collect();
        match rng.below(3) {
            0 => {}
            1 => perm.reverse(), // Fortran order, as `.t()` gives
            _ => rng.shuffle(&mut perm),
        }
        let layout = Strided {
            perm,
            step: (0..ndim)
                .map(|_| if rng.chance(0.3) { 2 + rng.below(2) } else { 1 })
                .collect(),
            reversed: (0..ndim).map(|_| rng.chance(0.25)).collect(),
        };
        let non_finite = if rng.chance(0.3) { 0.05 } else { 0.0 };
        Case {
            shape,
            opts,
            layout,
            non_finite,
            seed,
        }
    }

    /// The storage the view is cut from, filled with random samples.
    fn storage<T: Element>(&self) -> ArrayD<T> {
        self.layout.storage(&self.shape, self.seed, |rng| {
            T::from_f64(sample(rng, self.non_finite, |rng| {
                rng.unit() * 200.0 - 100.0
            }))
        })
    }

    /// The input: a view of `storage` with the case's shape and layout.
    fn view<'a, T>(&self, storage: &'a ArrayD<T>) -> ArrayViewD<'a, T> {
        self.layout.view(storage, &self.shape)
    }
}

/// Asserts `got` equals `want` within `ulps` units of `eps` times each axis's
/// derivative magnitude (`ulps = 0`: bit for bit); non-finite values must match.
fn assert_close<T: Element>(
    what: &str,
    input: &ArrayViewD<T>,
    plan: &Plan,
    got: &[ArrayD<T>],
    want: &[ArrayD<T>],
    ulps: f64,
) {
    assert_eq!(got.len(), want.len(), "{what}: number of outputs");
    let max_f = input
        .iter()
        .map(|v| v.to_f64().abs())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let eps = if T::NUMPY_NAME == "float32" {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    };
    for (p, ((g, w), mag)) in got.iter().zip(want).zip(tap_magnitudes(plan)).enumerate() {
        assert_eq!(g.shape(), w.shape(), "{what}: output {p} shape");
        assert!(g.is_standard_layout(), "{what}: output {p} layout");
        let tol = ulps * eps * max_f * mag;
        for ((idx, a), b) in g.indexed_iter().zip(w.iter()) {
            let (a, b) = (a.to_f64(), b.to_f64());
            let ok = if b.is_nan() {
                a.is_nan()
            } else if b.is_infinite() || ulps == 0.0 {
                a == b
            } else {
                (a - b).abs() <= tol
            };
            assert!(
                ok,
                "{what}: output {p} (axis {}) at {idx:?}: cpu {a:e}, reference {b:e}, tol {tol:e}",
                plan.axes[p].axis
            );
        }
    }
}

fn check_case<T: Element>(case: &Case, ulps: f64) {
    let storage = case.storage::<T>();
    let input = case.view(&storage);
    let plan = Plan::new(input.shape(), &case.opts).expect("generated options are valid");
    let cpu = gradient_with_backend(&input, &case.opts.clone().backend(Backend::Cpu))
        .expect("the cpu backend runs");
    assert_eq!(cpu.backend, Backend::Cpu);
    let reference = gradient(&input, &case.opts.clone().backend(Backend::Reference))
        .expect("the reference runs");
    assert_close("cpu", &input, &plan, &cpu.arrays, &reference, ulps);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn cpu_matches_reference_f64_exactly(seed in any::<u64>()) {
        let case = Case::generate(seed);
        check_case::<f64>(&case, 0.0);
    }

    #[test]
    fn cpu_matches_reference_f32_within_8_ulp(seed in any::<u64>()) {
        let case = Case::generate(seed);
        check_case::<f32>(&case, 8.0);
    }
}

/// Runs `gradient_into` on buffers pre-filled with NaN, on a NaN-free input:
/// any NaN left over is an element the backend did not write.
fn check_poisoned<T: Element>(case: &Case, ulps: f64) {
    let storage = case.storage::<T>();
    let input = case.view(&storage);
    let plan = Plan::new(input.shape(), &case.opts).expect("generated options are valid");
    let mut outputs: Vec<Vec<T>> = plan
        .axes
        .iter()
        .map(|_| vec![T::from_f64(f64::NAN); plan.len()])
        .collect();
    let mut slices: Vec<&mut [T]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
    cpu::gradient_into(&plan, input.view(), &mut slices);
    for (p, out) in outputs.iter().enumerate() {
        if let Some(k) = out.iter().position(|v| v.to_f64().is_nan()) {
            panic!("output {p}: element {k} of {} left unwritten", out.len());
        }
    }
    let got: Vec<ArrayD<T>> = outputs
        .into_iter()
        .map(|v| ArrayD::from_shape_vec(IxDyn(&case.shape), v).unwrap())
        .collect();
    let reference = gradient(&input, &case.opts.clone().backend(Backend::Reference)).unwrap();
    assert_close("poisoned", &input, &plan, &got, &reference, ulps);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn every_output_element_is_written(seed in any::<u64>()) {
        let mut case = Case::generate(seed);
        case.non_finite = 0.0;
        check_poisoned::<f64>(&case, 0.0);
        check_poisoned::<f32>(&case, 8.0);
    }
}

/// A case of `shape` in layout family `layout` (0: C order, 1: Fortran
/// order, 2: every other element), some axes read backwards.
fn split_case(
    shape: &[usize],
    opts: GradientOptions,
    layout: usize,
    rng: &mut Rng,
    seed: u64,
) -> Case {
    let ndim = shape.len();
    let perm: Vec<usize> = match layout {
        1 => (0..ndim).rev().collect(),
        _ => (0..ndim).collect(),
    };
    Case {
        shape: shape.to_vec(),
        opts,
        layout: Strided {
            perm,
            step: vec![1 + (layout == 2) as usize; ndim],
            reversed: (0..ndim).map(|_| rng.chance(0.5)).collect(),
        },
        non_finite: 0.0,
        seed,
    }
}

/// A rayon pool of `threads` threads.
fn pool_of(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// [`check_poisoned`] in f64 (exact) and f32 (within `ulps`).
fn check_split(case: &Case, ulps: f64) {
    check_poisoned::<f64>(case, 0.0);
    check_poisoned::<f32>(case, ulps);
}

/// Accuracy 4 and 6 and periodic ends, on inputs big enough to be split
/// across threads, into column chunks and (transposed) into slabs: every
/// element written, and equal to the reference.
#[test]
fn parallel_splits_of_every_form_write_every_element() {
    let shapes: &[&[usize]] = &[&[100_003], &[7, 40_001], &[301, 211], &[37, 29, 41]];
    let forms = [
        (Accuracy::Fourth, false),
        (Accuracy::Sixth, true),
        (Accuracy::Second, true),
    ];
    let mut seed = 500;
    for threads in [1, 3] {
        let pool = pool_of(threads);
        for &shape in shapes {
            for layout in 0..3 {
                for (accuracy, periodic) in forms {
                    seed += 1;
                    let mut rng = Rng::new(seed);
                    let ndim = shape.len();
                    let mut boundaries = Vec::new();
                    let items: Vec<AxisSpacing> = (0..ndim)
                        .map(|k| {
                            let n = shape[k];
                            if k % 2 == 0 {
                                // Uneven steps between 0.5 and 1.5.
                                let x: Vec<f64> = (0..n)
                                    .scan(0.0, |at, _| {
                                        *at += 0.5 + rng.unit();
                                        Some(*at)
                                    })
                                    .collect();
                                boundaries.push(Boundary::periodic(x[n - 1] - x[0] + 1.0));
                                AxisSpacing::from(x)
                            } else {
                                boundaries.push(Boundary::PERIODIC);
                                AxisSpacing::Scalar(0.75)
                            }
                        })
                        .collect();
                    let mut opts = GradientOptions::new()
                        .spacing(Spacing::PerAxis(items))
                        .accuracy(accuracy);
                    if periodic {
                        opts = opts.per_axis_boundary(boundaries);
                    }
                    let case = split_case(shape, opts, layout, &mut rng, seed);
                    pool.install(|| check_split(&case, 16.0));
                }
            }
        }
    }
}

/// Inputs big enough to be split across threads (row ranges, column ranges
/// when there are fewer rows than tasks, slabs of transposed inputs), in
/// pools of several sizes (1: the serial path), poisoned, in every layout
/// family.
#[test]
fn parallel_splits_write_every_element() {
    let shapes: &[&[usize]] = &[
        &[100_003],
        &[3, 40_001],
        &[301, 211],
        &[37, 29, 41],
        &[5, 6, 7, 8, 9],
        // Long rows: few rows per task.
        &[5, 24, 2500],
        &[3, 4, 5, 2100],
    ];
    let mut seed = 1;
    for threads in [1, 2, 3, 8] {
        let pool = pool_of(threads);
        for &shape in shapes {
            for layout in 0..3 {
                for edge_order in [EdgeOrder::First, EdgeOrder::Second] {
                    seed += 1;
                    let mut rng = Rng::new(seed);
                    let ndim = shape.len();
                    let spacing = Spacing::PerAxis(
                        (0..ndim)
                            .map(|k| {
                                if k % 2 == 0 {
                                    coordinates(&mut Rng::new(seed + k as u64), shape[k])
                                } else {
                                    AxisSpacing::Scalar(0.75)
                                }
                            })
                            .collect(),
                    );
                    let case = split_case(
                        shape,
                        GradientOptions::new()
                            .spacing(spacing)
                            .edge_order(edge_order),
                        layout,
                        &mut rng,
                        seed,
                    );
                    pool.install(|| check_split(&case, 8.0));
                }
            }
        }
    }
}

#[test]
fn auto_resolves_to_cpu_without_a_gpu_backend() {
    let f = ndarray::Array2::<f64>::from_shape_fn((4, 5), |(i, j)| (i * 7 + j * j) as f64);
    let g = gradient_with_backend(&f, &GradientOptions::new()).unwrap();
    assert_eq!(g.backend, Backend::Cpu);
    let want = gradient(&f, &GradientOptions::new().backend(Backend::Reference)).unwrap();
    assert_eq!(g.arrays, want);
}

/// Non-uniform axes long enough that their weights are tabled by several
/// threads (an outer axis, weights per row; an innermost axis with enough
/// rows to table its weights up front, weights per column), and long
/// innermost axes with too few rows for a table, whose weights are computed
/// point by point as the rows are split into tasks and column chunks.
#[test]
fn long_non_uniform_axes() {
    let pool = pool_of(2);
    for (seed, shape) in [
        (7u64, vec![70_001, 3]),
        (8, vec![2, 4, 70_001]),
        (11, vec![70_001]),
        (12, vec![3, 70_001]),
    ] {
        let long = shape.iter().position(|&n| n > 1000).unwrap();
        let case = Case {
            opts: GradientOptions::new()
                .axis(long as isize)
                .per_axis_spacing([coordinates(&mut Rng::new(seed), shape[long])]),
            layout: Strided::c_order(shape.len()),
            shape,
            non_finite: 0.0,
            seed,
        };
        let plan = Plan::new(&case.shape, &case.opts).unwrap();
        assert!(matches!(
            plan.axes[0].stencil.interior(),
            ndgrad::stencil::Interior::NonUniform { .. }
        ));
        pool.install(|| {
            check_poisoned::<f64>(&case, 0.0);
            check_poisoned::<f32>(&case, 8.0);
        });
    }
}

/// The uniform interior of accuracy 4 and 6 (the zipped rows of five and
/// seven samples) along outer axes and the innermost one, on rows of every
/// length modulo the vector width (8 `f32`, 4 `f64`): each element written,
/// `f64` equal to the reference bit for bit, also with non-finite samples.
#[test]
fn wide_uniform_rows_of_every_remainder() {
    let mut seed = 900;
    for accuracy in [Accuracy::Fourth, Accuracy::Sixth] {
        for inner in 7..=24 {
            for periodic in [false, true] {
                seed += 1;
                let mut rng = Rng::new(seed);
                let mut opts = GradientOptions::new()
                    .spacing(Spacing::Uniform(0.6))
                    .accuracy(accuracy);
                if periodic {
                    opts = opts.boundary(Boundary::PERIODIC);
                }
                let shape = [9, 8, inner];
                let case = split_case(&shape, opts, 0, &mut rng, seed);
                check_poisoned::<f64>(&case, 0.0);
                check_poisoned::<f32>(&case, 16.0);
                let non_finite = Case {
                    non_finite: 0.05,
                    ..case
                };
                check_case::<f64>(&non_finite, 0.0);
            }
        }
    }
}
