//! Accuracy orders 4 and 6 and periodic ends on the GPU, against their
//! definitions and against the other backends:
//!
//! - a stencil of accuracy p is exact, up to rounding, for every polynomial
//!   of degree ≤ p at every point, the ends included, on uniform and
//!   non-uniform grids, along every axis of a 3-D array;
//! - periodic axes (uniform, and coordinates with a period) equal the
//!   reference, components and magnitude, 1-D to 3-D, mixed with one-sided
//!   axes, also when the array streams through slabs;
//! - integer and compact inputs (u8, i16, f16, i64) take the same taps,
//!   into f32 and f16 results;
//! - on random requests of every form (`random_request_with_forms`, as the
//!   CPU's property tests draw them), GPU = CPU = reference within the GPU
//!   tests' tolerance, with the default limits and with slabs forced by
//!   small bindings.
//!
//! Inputs are fresh random values; every output is filled with NaN before
//! the call (host outputs through the `_into` calls, device buffers by the
//! context's poisoning), so an element never written fails.

use crate::common;
use crate::gpu_common;

use common::Polynomial;
use gpu_common::{assert_magnitude_matches_reference, assert_matches_reference, context, Rng};
use ndarray::{ArrayD, ArrayViewMutD, IxDyn};
use ndgrad::gpu::{GpuContext, GpuOptions};
use ndgrad::stencil::Tap;
use ndgrad::{
    Accuracy, AxisSpacing, Backend, Boundary, EdgeOrder, Element, Error, GradientOptions, Plan,
    Spacing,
};
use proptest::prelude::*;

const ORDERS: [Accuracy; 3] = [Accuracy::Second, Accuracy::Fourth, Accuracy::Sixth];

/// The components of `f` on the GPU, written into NaN-filled host arrays.
fn components<T: Element>(
    ctx: &GpuContext,
    f: &ArrayD<T>,
    opts: &GradientOptions,
) -> ndgrad::Result<Vec<Vec<T>>> {
    let axes = Plan::new(f.shape(), opts)?.axes.len();
    let mut out: Vec<ArrayD<T>> = (0..axes)
        .map(|_| ArrayD::from_elem(f.raw_dim(), T::from_f64(f64::NAN)))
        .collect();
    let mut views: Vec<ArrayViewMutD<'_, T>> = out.iter_mut().map(|a| a.view_mut()).collect();
    ctx.gradient_into(f, opts, &mut views)?;
    Ok(out
        .into_iter()
        .map(|a| a.iter().copied().collect())
        .collect())
}

/// The magnitude of `f` on the GPU, written into a NaN-filled host array.
fn magnitude<T: Element>(
    ctx: &GpuContext,
    f: &ArrayD<T>,
    opts: &GradientOptions,
) -> ndgrad::Result<Vec<T>> {
    let mut out = ArrayD::from_elem(f.raw_dim(), T::from_f64(f64::NAN));
    ctx.gradient_magnitude_into(f, opts, out.view_mut())?;
    Ok(out.iter().copied().collect())
}

/// Random values in [−100, 100).
fn random_array<T: Element>(rng: &mut Rng, shape: &[usize]) -> ArrayD<T> {
    let len = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), gpu_common::values(rng, len, 0.0)).unwrap()
}

/// Asserts the GPU's components and magnitude of `f` equal the reference's,
/// and the CPU's components too (so GPU = CPU = reference, each within the
/// tolerance of `gpu_common`).
fn check<T: Element>(ctx: &GpuContext, f: &ArrayD<T>, opts: &GradientOptions, context: &str) {
    let input: Vec<T> = f.iter().copied().collect();
    let shape = f.shape();
    let got = components(ctx, f, opts).unwrap_or_else(|e| panic!("{context}: {e}"));
    assert_matches_reference(&input, shape, opts, &got, &format!("GPU {context}"));
    let cpu = ndgrad::gradient(f, &opts.clone().backend(Backend::Cpu)).unwrap();
    let cpu: Vec<Vec<T>> = cpu.iter().map(|a| a.iter().copied().collect()).collect();
    assert_matches_reference(&input, shape, opts, &cpu, &format!("CPU {context}"));
    let m = magnitude(ctx, f, opts).unwrap_or_else(|e| panic!("{context}: {e}"));
    assert_magnitude_matches_reference(&input, shape, opts, &m, &format!("GPU |∇f| {context}"));
}

/// `Σ |w_k f_k|` of a tap: the scale of a correct evaluation's rounding.
fn tap_scale(tap: Tap, f: impl Fn(usize) -> f64) -> f64 {
    match tap {
        Tap::Difference { lo, hi, denom } => (f(lo).abs() + f(hi).abs()) / denom.abs(),
        _ => tap
            .samples()
            .zip(tap.coefficients())
            .map(|(j, w)| (w * f(j)).abs())
            .sum(),
    }
}

/// Exactness in `T`: `f = P₀(x₀) + P₁(x₁) + P₂(x₂)` with `Pₖ` of the degree
/// every point's stencil is exact for, and each component is `Pₖ'(xₖ)` at
/// every point within `64·ε·Σ|w f|` (the input itself is rounded to `T`).
fn polynomial_case<T: Element>(ctx: &GpuContext, rng: &mut Rng, eps: f64) {
    for accuracy in ORDERS {
        let p = accuracy.get();
        for edge_order in [EdgeOrder::First, EdgeOrder::Second] {
            // numpy's first-order ends are exact for degree 1 only.
            let degree = if p == 2 { edge_order.get() } else { p };
            for coordinates in [false, true] {
                let shape = [p + 2, p + 1, 3 * p + 1];
                let grids: Vec<Vec<f64>> = shape
                    .iter()
                    .map(|&n| {
                        let h = rng.pick(&[0.5, -0.25, 0.8]);
                        let mut x = vec![rng.range(-1.0, 1.0)];
                        for _ in 1..n {
                            let step = if coordinates {
                                h * (0.5 + rng.unit())
                            } else {
                                h
                            };
                            x.push(x.last().unwrap() + step);
                        }
                        x
                    })
                    .collect();
                let polys: Vec<Polynomial> =
                    (0..3).map(|_| Polynomial::random(rng, degree)).collect();
                let f = ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
                    let v: f64 = (0..3).map(|k| polys[k].value(grids[k][ix[k]])).sum();
                    T::from_f64(v)
                });
                let spacing = Spacing::PerAxis(
                    grids
                        .iter()
                        .map(|x| {
                            if coordinates {
                                AxisSpacing::from(x.clone())
                            } else {
                                AxisSpacing::Scalar(x[1] - x[0])
                            }
                        })
                        .collect(),
                );
                let opts = GradientOptions::new()
                    .spacing(spacing)
                    .edge_order(edge_order)
                    .accuracy(accuracy);
                let got = components(ctx, &f, &opts).unwrap();
                let plan = Plan::new(&shape, &opts).unwrap();
                for (k, ax) in plan.axes.iter().enumerate() {
                    for o in 0..ax.outer {
                        for j in 0..ax.inner {
                            let sample =
                                |i: usize| f.as_slice().unwrap()[ax.index(o, i, j)].to_f64();
                            for (i, &x) in grids[k].iter().enumerate() {
                                let at = ax.index(o, i, j);
                                let want = polys[k].derivative(x);
                                let g = got[k][at].to_f64();
                                let tol = 64.0 * eps * tap_scale(ax.stencil.tap(i), sample) + 1e-9;
                                assert!(
                                    (g - want).abs() <= tol,
                                    "accuracy {p}, {edge_order:?}, coordinates {coordinates}, axis {k}, point {i} (flat {at}): GPU {g:e}, exact {want:e}, tolerance {tol:e}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn polynomials_of_degree_p_are_exact_at_every_point() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new(0x9a11);
    polynomial_case::<f32>(ctx, &mut rng, f64::from(f32::EPSILON));
    if ctx.supports_f64() {
        polynomial_case::<f64>(ctx, &mut rng, f64::EPSILON);
    }
}

/// Periodic options for `shape`: every axis periodic, or every other one
/// (the rest one-sided); uniform spacing or coordinates with a period.
fn periodic_options(
    rng: &mut Rng,
    shape: &[usize],
    accuracy: Accuracy,
    every_other: bool,
    coordinates: bool,
) -> GradientOptions {
    let mut spacing = Vec::new();
    let mut boundaries = Vec::new();
    for (k, &n) in shape.iter().enumerate() {
        let periodic = !every_other || k % 2 == 0;
        if coordinates {
            let mut x = vec![rng.range(-1.0, 1.0)];
            for _ in 1..n {
                x.push(x.last().unwrap() + 0.2 + rng.unit());
            }
            let period = x[n - 1] - x[0] + 0.2 + rng.unit();
            spacing.push(AxisSpacing::from(x));
            boundaries.push(if periodic {
                Boundary::periodic(period)
            } else {
                Boundary::OneSided
            });
        } else {
            spacing.push(AxisSpacing::Scalar(rng.pick(&[0.5, -1.25, 2.0])));
            boundaries.push(if periodic {
                Boundary::PERIODIC
            } else {
                Boundary::OneSided
            });
        }
    }
    GradientOptions::new()
        .spacing(Spacing::PerAxis(spacing))
        .accuracy(accuracy)
        .edge_order(rng.pick(&[EdgeOrder::First, EdgeOrder::Second]))
        .per_axis_boundary(boundaries)
}

/// Every order, all-periodic and mixed, uniform and coordinates, 1-D to
/// 3-D, in `T`.
fn periodic_cases<T: Element>(ctx: &GpuContext, rng: &mut Rng) {
    for shape in [vec![9usize], vec![8, 11], vec![7, 9, 10]] {
        for accuracy in ORDERS {
            for every_other in [false, true] {
                for coordinates in [false, true] {
                    let opts = periodic_options(rng, &shape, accuracy, every_other, coordinates);
                    let f = random_array::<T>(rng, &shape);
                    check(ctx, &f, &opts, &format!("{shape:?} {opts:?}"));
                }
            }
        }
    }
}

#[test]
fn periodic_axes_equal_the_reference() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new(0x9e51);
    periodic_cases::<f32>(ctx, &mut rng);
    if ctx.supports_f64() {
        periodic_cases::<f64>(ctx, &mut rng);
    }
}

/// Compact and integer inputs, converted in the shader, through the wide
/// taps: results in f32 and f16, components and magnitude.
fn typed_case<I: gpu_common::RandomInput>(ctx: &GpuContext, rng: &mut Rng) {
    let shape = [9usize, 8, 7];
    let data: Vec<I> = gpu_common::random_values(rng, shape.iter().product());
    let f = ArrayD::from_shape_vec(IxDyn(&shape), data.clone()).unwrap();
    for (accuracy, boundaries) in [
        (
            Accuracy::Sixth,
            [Boundary::OneSided, Boundary::PERIODIC, Boundary::OneSided],
        ),
        (
            Accuracy::Fourth,
            [Boundary::PERIODIC, Boundary::OneSided, Boundary::PERIODIC],
        ),
    ] {
        let opts = GradientOptions::new()
            .spacing(Spacing::Uniform(0.5))
            .accuracy(accuracy)
            .per_axis_boundary(boundaries);
        let context = format!("{} {opts:?}", std::any::type_name::<I>());
        let got: Vec<Vec<f32>> = ctx
            .gradient_as::<f32, _, _, _>(&f, &opts)
            .unwrap()
            .iter()
            .map(|a| a.iter().copied().collect())
            .collect();
        gpu_common::assert_typed_matches_reference(&data, &shape, &opts, &got, &context);
        let half: Vec<Vec<ndgrad::f16>> = ctx
            .gradient_as::<ndgrad::f16, _, _, _>(&f, &opts)
            .unwrap()
            .iter()
            .map(|a| a.iter().copied().collect())
            .collect();
        gpu_common::assert_typed_matches_reference(&data, &shape, &opts, &half, &context);
        let m: Vec<f32> = ctx
            .gradient_magnitude_as::<f32, _, _, _>(&f, &opts)
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_magnitude_matches_reference(&data, &shape, &opts, &m, &context);
    }
}

#[test]
fn compact_and_integer_inputs_take_the_wide_taps() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new(0xc0);
    typed_case::<u8>(ctx, &mut rng);
    typed_case::<i16>(ctx, &mut rng);
    typed_case::<ndgrad::f16>(ctx, &mut rng);
    typed_case::<i64>(ctx, &mut rng);
}

/// A context whose bindings hold 1 KiB: 256 f32 or 128 f64 elements per
/// slab (and per coefficient table).
fn slab_context() -> Option<&'static GpuContext> {
    static CTX: std::sync::OnceLock<Option<GpuContext>> = std::sync::OnceLock::new();
    CTX.get_or_init(|| {
        gpu_common::context_with(
            GpuOptions::new()
                .max_storage_buffer_binding_size(1024)
                .max_workgroups_per_dimension(8)
                .workgroup_size(16),
        )
    })
    .as_ref()
}

/// Every order and boundary through slabs: periodic axes off axis 0 (and
/// along axis 0 where the array fits one slab), one-sided axes of every
/// order along axis 0 with their p-plane halos.
#[test]
fn every_form_streams_through_slabs() {
    let Some(ctx) = slab_context() else { return };
    let mut rng = Rng::new(0x51ab);
    for accuracy in ORDERS {
        // Requested axes are at least p + 1 = 7 long; a plane with its
        // halos (13 planes at p = 6) fits the 256 elements of a slab.
        for (shape, axes, boundaries) in [
            (
                vec![61usize, 2, 7],
                [0, 2],
                [Boundary::OneSided, Boundary::PERIODIC],
            ),
            (
                vec![50, 8, 2],
                [1, 0],
                [Boundary::PERIODIC, Boundary::OneSided],
            ),
            (
                vec![7, 5, 7],
                [0, 2],
                [Boundary::PERIODIC, Boundary::PERIODIC],
            ),
        ] {
            let opts = GradientOptions::new()
                .spacing(Spacing::Uniform(0.75))
                .accuracy(accuracy)
                .axes(axes)
                .per_axis_boundary(boundaries);
            let f = random_array::<f32>(&mut rng, &shape);
            check(ctx, &f, &opts, &format!("slabs {shape:?} {opts:?}"));
        }
    }
}

/// A periodic axis 0 that needs several slabs is refused with a clear
/// error, not computed wrongly.
#[test]
fn a_periodic_axis_0_needing_slabs_is_refused() {
    let Some(ctx) = slab_context() else { return };
    let mut rng = Rng::new(3);
    let f = random_array::<f32>(&mut rng, &[40, 9]);
    let opts = GradientOptions::new().boundary(Boundary::PERIODIC);
    let e = components(ctx, &f, &opts).unwrap_err();
    assert!(
        matches!(e, Error::GpuUnsupported { .. }) && e.to_string().contains("periodic axis 0"),
        "{e}"
    );
}

/// The length of the fused kernel's coefficient table for `plan` (the
/// layout documented in src/gpu/wide.rs and src/gpu/coefs.rs), to tell a
/// refusal for a table too large for a binding from a wrong one.
fn table_len(plan: &Plan) -> usize {
    plan.axes
        .iter()
        .map(|ax| {
            let s = &ax.stencil;
            let w = s.form().accuracy.get() + 1;
            let coordinates = !matches!(
                s.interior(),
                ndgrad::stencil::Interior::Uniform { .. }
                    | ndgrad::stencil::Interior::Central { .. }
            );
            if s.is_numpy() {
                let interior = if coordinates { 3 * (ax.n - 2) } else { 1 };
                interior + s.first().coefficients().len() + s.last().coefficients().len()
            } else if coordinates {
                ax.n * w
            } else if s.is_periodic() {
                if w == 3 {
                    1
                } else {
                    w
                }
            } else {
                w * w
            }
        })
        .sum()
}

/// One random request of any form, run on `ctx` in f32 (and f64 where the
/// adapter has it); under small limits, accepts exactly the refusals
/// those limits explain.
fn random_case(ctx: &GpuContext, seed: u64, small: bool) {
    let mut rng = common::Rng::new(seed);
    let (shape, opts) = common::random_request_with_forms(&mut rng, &[200, 24, 9, 5], 0.3);
    let mut values = Rng::new(seed ^ 0x5eed);
    let Ok(plan) = Plan::new(&shape, &opts) else {
        panic!("{shape:?} {opts:?}: random_request_with_forms gives valid requests")
    };
    for size in [4usize, 8] {
        if size == 8 && !ctx.supports_f64() {
            continue;
        }
        let context = format!("seed {seed} {shape:?} {opts:?} f{}", 8 * size);
        let budget = ctx.limits().max_slab_elements(size as u64) as usize;
        let binding = ctx.limits().max_storage_buffer_binding_size as usize;
        let planes = shape.first().copied().unwrap_or(1);
        let plane = plan.len() / planes.max(1);
        let axis0 = plan.axes.iter().find(|ax| ax.axis == 0);
        let halo = axis0.map_or(0, |ax| ax.stencil.reach());
        let slabs = plan.len() > budget;
        let refused = |e: &Error| match e {
            Error::ExceedsGpuLimits { .. } => small && slabs && (1 + 2 * halo) * plane > budget,
            Error::GpuUnsupported { what, .. } if what.contains("periodic axis 0") => {
                small && slabs && axis0.is_some_and(|ax| ax.stencil.is_periodic())
            }
            Error::GpuUnsupported { .. } => small && table_len(&plan) * size > binding,
            _ => false,
        };
        let result = if size == 4 {
            let f = random_array::<f32>(&mut values, &shape);
            components(ctx, &f, &opts).map(|got| {
                let input: Vec<f32> = f.iter().copied().collect();
                assert_matches_reference(&input, &shape, &opts, &got, &context);
                let cpu = ndgrad::gradient(&f, &opts.clone().backend(Backend::Cpu)).unwrap();
                let cpu: Vec<Vec<f32>> = cpu.iter().map(|a| a.iter().copied().collect()).collect();
                assert_matches_reference(&input, &shape, &opts, &cpu, &format!("CPU {context}"));
                if !plan.axes.is_empty() {
                    let m = magnitude(ctx, &f, &opts).unwrap_or_else(|e| panic!("{context}: {e}"));
                    assert_magnitude_matches_reference(&input, &shape, &opts, &m, &context);
                }
            })
        } else {
            let f = random_array::<f64>(&mut values, &shape);
            components(ctx, &f, &opts).map(|got| {
                let input: Vec<f64> = f.iter().copied().collect();
                assert_matches_reference(&input, &shape, &opts, &got, &context);
            })
        };
        if let Err(e) = result {
            assert!(refused(&e), "{context}: {e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn gpu_equals_cpu_equals_reference_on_random_forms(seed in any::<u64>()) {
        let Some(ctx) = context() else { return Ok(()) };
        random_case(ctx, seed, false);
    }

    #[test]
    fn gpu_equals_cpu_equals_reference_on_random_forms_through_slabs(seed in any::<u64>()) {
        let Some(ctx) = slab_context() else { return Ok(()) };
        random_case(ctx, seed, true);
    }
}
