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

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};
use ndgrad::stencil::Tap;
use ndgrad::{
    cpu, gradient, gradient_with_backend, AxisSpacing, Backend, EdgeOrder, Element,
    GradientOptions, Plan, Spacing,
};
use proptest::prelude::*;

/// SplitMix64: a tiny deterministic generator, so a failing proptest seed
/// reproduces the whole case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// How the input is laid out in memory around its logical shape.
#[derive(Debug, Clone)]
struct Layout {
    /// `perm[i]`: the logical axis stored as the `i`-th storage axis.
    perm: Vec<usize>,
    /// Step of each logical axis's slice (1 = unsliced).
    step: Vec<usize>,
    /// Whether each logical axis is read backwards.
    reversed: Vec<bool>,
}

#[derive(Debug, Clone)]
struct Case {
    shape: Vec<usize>,
    opts: GradientOptions,
    layout: Layout,
    /// Fraction of samples replaced by NaN, +inf or -inf.
    non_finite: f64,
    seed: u64,
}

fn coordinates(rng: &mut Rng, n: usize) -> AxisSpacing {
    let x: Vec<f64> = if rng.chance(0.3) {
        // Exactly equal differences: numpy (and the plan) take the uniform path.
        let h = rng.pick(&[0.25, -0.5, 2.0]);
        (0..n).map(|k| 1.0 + k as f64 * h).collect()
    } else {
        let sign = if rng.chance(0.2) { -1.0 } else { 1.0 };
        let mut x = Vec::with_capacity(n);
        let mut at = rng.unit() * 4.0 - 2.0;
        for _ in 0..n {
            x.push(at);
            at += sign * (0.1 + rng.unit() * 1.9);
        }
        x
    };
    AxisSpacing::from(x)
}

impl Case {
    fn generate(seed: u64) -> Case {
        let mut rng = Rng(seed);
        let ndim = 1 + rng.below(5);
        let edge_order = if rng.chance(0.5) {
            EdgeOrder::First
        } else {
            EdgeOrder::Second
        };
        let eo = edge_order.get();
        // A random subset of the axes in a random order (sometimes all, as `Axes::All`).
        let mut axes: Vec<usize> = (0..ndim).collect();
        for k in (1..ndim).rev() {
            axes.swap(k, rng.below(k + 1));
        }
        let all = rng.chance(0.3);
        if all {
            axes.sort_unstable();
        } else {
            axes.truncate(rng.below(ndim + 1));
        }
        // Small extents (fewer than 3000 elements), often exactly edge_order + 1.
        let budget = [0, 300, 40, 12, 7, 5][ndim];
        let shape: Vec<usize> = (0..ndim)
            .map(|k| {
                if axes.contains(&k) {
                    if rng.chance(0.3) {
                        eo + 1
                    } else {
                        eo + 1 + rng.below(budget - eo)
                    }
                } else if rng.chance(0.05) {
                    0
                } else {
                    1 + rng.below(budget)
                }
            })
            .collect();
        let spacing = match rng.below(4) {
            0 => Spacing::Unit,
            1 => Spacing::Uniform(rng.pick(&[0.5, 2.0, -1.5, 0.1, 3.7])),
            2 => Spacing::PerAxis(vec![AxisSpacing::Scalar(rng.pick(&[0.3, -2.0]))]),
            _ => Spacing::PerAxis(
                axes.iter()
                    .map(|&k| {
                        if rng.chance(0.3) {
                            AxisSpacing::Scalar(rng.pick(&[0.5, 1.25, -0.7]))
                        } else {
                            coordinates(&mut rng, shape[k])
                        }
                    })
                    .collect(),
            ),
        };
        let mut opts = GradientOptions::new()
            .spacing(spacing)
            .edge_order(edge_order);
        if !all {
            // Some axes written negatively, as numpy allows.
            opts = opts.axes(axes.iter().map(|&k| {
                if rng.chance(0.3) {
                    k as isize - ndim as isize
                } else {
                    k as isize
                }
            }));
        }
        let mut perm: Vec<usize> = (0..ndim).collect();
        match rng.below(3) {
            0 => {}
            1 => perm.reverse(), // Fortran order, as `.t()` gives
            _ => {
                for k in (1..ndim).rev() {
                    perm.swap(k, rng.below(k + 1));
                }
            }
        }
        let layout = Layout {
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
        let mut rng = Rng(self.seed ^ 0x5EED);
        let dims: Vec<usize> = self
            .layout
            .perm
            .iter()
            .map(|&k| self.shape[k] * self.layout.step[k])
            .collect();
        ArrayD::from_shape_simple_fn(IxDyn(&dims), || {
            let v = if rng.chance(self.non_finite) {
                rng.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY])
            } else {
                rng.unit() * 200.0 - 100.0
            };
            T::from_f64(v)
        })
    }

    /// The input: a view of `storage` with the case's shape and layout.
    fn view<'a, T>(&self, storage: &'a ArrayD<T>) -> ArrayViewD<'a, T> {
        let mut v = storage.view();
        for (i, &k) in self.layout.perm.iter().enumerate() {
            let step = self.layout.step[k] as isize;
            let step = if self.layout.reversed[k] { -step } else { step };
            v.slice_axis_inplace(Axis(i), Slice::new(0, None, step));
        }
        // Storage axis i holds logical axis perm[i]: logical axis k is storage axis inv[k].
        let mut inv = vec![0; self.shape.len()];
        for (i, &k) in self.layout.perm.iter().enumerate() {
            inv[k] = i;
        }
        let v = v.permuted_axes(inv);
        assert_eq!(v.shape(), &self.shape[..], "layout construction");
        v
    }
}

/// The largest Σ|w| over the taps of each requested axis: the factor from
/// max|f| to the magnitude of a derivative sample.
fn tap_magnitudes(plan: &Plan) -> Vec<f64> {
    plan.axes
        .iter()
        .map(|ax| {
            (0..ax.n)
                .map(|i| match ax.stencil.tap(i) {
                    Tap::Difference { denom, .. } => 2.0 / denom.abs(),
                    Tap::Weighted { w, .. } => w.iter().map(|w| w.abs()).sum(),
                })
                .fold(0.0, f64::max)
        })
        .collect()
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
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for &shape in shapes {
            for layout in 0..3 {
                for edge_order in [EdgeOrder::First, EdgeOrder::Second] {
                    seed += 1;
                    let mut rng = Rng(seed);
                    let ndim = shape.len();
                    let perm: Vec<usize> = match layout {
                        1 => (0..ndim).rev().collect(),
                        _ => (0..ndim).collect(),
                    };
                    let spacing = Spacing::PerAxis(
                        (0..ndim)
                            .map(|k| {
                                if k % 2 == 0 {
                                    coordinates(&mut Rng(seed + k as u64), shape[k])
                                } else {
                                    AxisSpacing::Scalar(0.75)
                                }
                            })
                            .collect(),
                    );
                    let case = Case {
                        shape: shape.to_vec(),
                        opts: GradientOptions::new()
                            .spacing(spacing)
                            .edge_order(edge_order),
                        layout: Layout {
                            perm,
                            step: vec![1 + (layout == 2) as usize; ndim],
                            reversed: (0..ndim).map(|_| rng.chance(0.5)).collect(),
                        },
                        non_finite: 0.0,
                        seed,
                    };
                    pool.install(|| {
                        check_poisoned::<f64>(&case, 0.0);
                        check_poisoned::<f32>(&case, 8.0);
                    });
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

/// Non-uniform axes long enough that their weights are converted by several
/// threads: an outer axis (weights per row) and an innermost axis with
/// enough rows to convert its weights up front (weights per column).
#[test]
fn long_non_uniform_axes() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for (seed, shape) in [(7u64, vec![70_001, 3]), (8, vec![2, 4, 70_001])] {
        let ndim = shape.len();
        let long = shape.iter().position(|&n| n > 1000).unwrap();
        let case = Case {
            opts: GradientOptions::new()
                .axis(long as isize)
                .per_axis_spacing([coordinates(&mut Rng(seed), shape[long])]),
            layout: Layout {
                perm: (0..ndim).collect(),
                step: vec![1; ndim],
                reversed: vec![false; ndim],
            },
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
