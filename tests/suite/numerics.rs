//! Accuracy orders and periodic boundaries, against their definitions:
//!
//! - a stencil of accuracy p is exact, up to rounding, for every polynomial
//!   of degree ≤ p, at every point, the edges included, on uniform and on
//!   random non-uniform grids;
//! - it converges at order p on smooth functions: halving h divides the
//!   largest error by about 2^p;
//! - a periodic axis with uniform spacing gives numpy.gradient of the array
//!   padded by wrapping (`np.pad(f, p // 2, mode="wrap")`), trimmed back;
//!   that is computed here by padding in Rust and running the one-sided
//!   stencil of the same accuracy (numpy's own for p = 2, which the fixture
//!   tests prove equal to numpy bit for bit);
//! - bad combinations are clear errors, and the GPU computes these forms
//!   too (tests/gpu_numerics.rs checks it as thoroughly as this file checks
//!   the CPU).
//!
//! The reference and CPU backends are checked here, on fresh random
//! inputs, in every memory layout.

use crate::common;

use common::{with_layout, Layout, Polynomial, Rng};
use ndarray::{Array1, ArrayD, Axis, IxDyn};
use ndgrad::{
    gradient, gradient_with_backend, Accuracy, AxisSpacing, Backend, Boundary, EdgeOrder, Error,
    GradientOptions, Spacing,
};

const ORDERS: [Accuracy; 3] = [Accuracy::Second, Accuracy::Fourth, Accuracy::Sixth];
const BACKENDS: [Backend; 2] = [Backend::Reference, Backend::Cpu];

/// Random coordinates from `start`, steps between 0.5·h and 1.5·h.
fn random_grid(rng: &mut Rng, n: usize, start: f64, h: f64) -> Vec<f64> {
    let mut x = vec![start];
    for _ in 1..n {
        let step = h * (0.5 + rng.unit());
        x.push(x.last().unwrap() + step);
    }
    x
}

/// The options of the one-sided stencil of accuracy `p` (edge order 2 for
/// p = 2, numpy's second-order edges).
fn one_sided(p: Accuracy) -> GradientOptions {
    GradientOptions::new()
        .accuracy(p)
        .edge_order(EdgeOrder::Second)
}

#[test]
fn every_order_is_exact_on_polynomials_of_its_degree_at_every_point() {
    let mut rng = Rng::new(41);
    for p in ORDERS {
        for n in [p.get() + 1, p.get() + 2, 2 * p.get() + 1, 23] {
            for uniform in [true, false] {
                let h = 0.1 + rng.unit() * 0.3;
                let x = if uniform {
                    (0..n).map(|k| -0.7 + k as f64 * h).collect()
                } else {
                    random_grid(&mut rng, n, -0.7, h)
                };
                let poly = Polynomial::random(&mut rng, p.get());
                let f = Array1::from_iter(x.iter().map(|&x| poly.value(x)));
                let spacing = if uniform {
                    Spacing::Uniform(h)
                } else {
                    Spacing::PerAxis(vec![AxisSpacing::from(x.clone())])
                };
                for backend in BACKENDS {
                    let opts = one_sided(p).spacing(spacing.clone()).backend(backend);
                    let g = &gradient(&f, &opts).unwrap()[0];
                    for (i, (&g, &x)) in g.iter().zip(&x).enumerate() {
                        let want = poly.derivative(x);
                        assert!(
                            (g - want).abs() <= 1e-9 * (1.0 + want.abs()),
                            "accuracy {p}, n {n}, uniform {uniform}, {backend}: point {i}: {g} vs {want}"
                        );
                    }
                }
            }
        }
    }
}

/// A 3-D volume whose every axis is a polynomial of degree p: each partial
/// derivative is exact, in every layout, on both backends.
#[test]
fn volumes_are_exact_along_every_axis_in_every_layout() {
    let mut rng = Rng::new(7);
    for p in [Accuracy::Fourth, Accuracy::Sixth] {
        let shape = [p.get() + 2, 11, 2 * p.get() + 3];
        let grids: Vec<Vec<f64>> = shape
            .iter()
            .map(|&n| random_grid(&mut rng, n, 0.2, 0.25))
            .collect();
        let polys: Vec<Polynomial> = (0..3)
            .map(|_| Polynomial::random(&mut rng, p.get()))
            .collect();
        // f = P0(x) + P1(y)·(1 + x/4) + P2(z): degree ≤ p along each axis.
        let f = ArrayD::from_shape_fn(IxDyn(&shape), |i| {
            let (x, y, z) = (grids[0][i[0]], grids[1][i[1]], grids[2][i[2]]);
            polys[0].value(x) + polys[1].value(y) * (1.0 + x / 4.0) + polys[2].value(z)
        });
        let spacing =
            Spacing::PerAxis(grids.iter().map(|g| AxisSpacing::from(g.clone())).collect());
        for backend in BACKENDS {
            for layout in Layout::ALL {
                let g = with_layout(&f, layout, |v| {
                    gradient(&v, &one_sided(p).spacing(spacing.clone()).backend(backend)).unwrap()
                });
                for (idx, _) in f.indexed_iter() {
                    let (x, y, z) = (grids[0][idx[0]], grids[1][idx[1]], grids[2][idx[2]]);
                    let want = [
                        polys[0].derivative(x) + polys[1].value(y) / 4.0,
                        polys[1].derivative(y) * (1.0 + x / 4.0),
                        polys[2].derivative(z),
                    ];
                    for a in 0..3 {
                        let got = g[a][&idx];
                        assert!(
                            (got - want[a]).abs() <= 1e-8 * (1.0 + want[a].abs()),
                            "accuracy {p}, {backend}, {layout:?}, axis {a} at {idx:?}: {got} vs {}",
                            want[a]
                        );
                    }
                }
            }
        }
    }
}

/// The largest error of d/dx sin(3x) on `n` points of [0, 1], uniform or
/// smoothly stretched (x = t + 0.05·sin(2πt)), with `boundary`.
fn max_error(p: Accuracy, n: usize, uniform: bool, boundary: Boundary, backend: Backend) -> f64 {
    let periodic = boundary != Boundary::OneSided;
    // A periodic grid covers [0, 1) and a function of period 1.
    let (count, k) = if periodic {
        (n as f64, 2.0 * std::f64::consts::PI)
    } else {
        ((n - 1) as f64, 3.0)
    };
    let t: Vec<f64> = (0..n).map(|i| i as f64 / count).collect();
    let x: Vec<f64> = if uniform {
        t.clone()
    } else {
        t.iter()
            .map(|&t| t + 0.05 * (2.0 * std::f64::consts::PI * t).sin())
            .collect()
    };
    let f = Array1::from_iter(x.iter().map(|&x| (k * x).sin()));
    let spacing = if uniform {
        Spacing::Uniform(1.0 / count)
    } else {
        Spacing::PerAxis(vec![AxisSpacing::from(x.clone())])
    };
    let boundary = match (periodic, uniform) {
        (true, false) => Boundary::periodic(1.0),
        _ => boundary,
    };
    let opts = one_sided(p)
        .spacing(spacing)
        .boundary(boundary)
        .backend(backend);
    let g = &gradient(&f, &opts).unwrap()[0];
    g.iter()
        .zip(&x)
        .map(|(g, &x)| (g - k * (k * x).cos()).abs())
        .fold(0.0, f64::max)
}

#[test]
fn halving_the_step_divides_the_error_by_two_to_the_order() {
    for backend in BACKENDS {
        for boundary in [Boundary::OneSided, Boundary::PERIODIC] {
            for uniform in [true, false] {
                for p in ORDERS {
                    let coarse = max_error(p, 40, uniform, boundary, backend);
                    let fine = max_error(p, 80, uniform, boundary, backend);
                    let ratio = coarse / fine;
                    let expected = (1u32 << p.get()) as f64;
                    assert!(
                        ratio > 0.6 * expected && ratio < 1.6 * expected,
                        "accuracy {p}, {boundary:?}, uniform {uniform}, {backend}: errors {coarse:e} → {fine:e}, ratio {ratio:.2}, expected about {expected}"
                    );
                }
            }
        }
    }
}

/// `f` padded by `pad` samples on each side of `axis`, wrapping around
/// (`np.pad(f, [(0, 0), …, (pad, pad), …], mode="wrap")`).
fn pad_wrap(f: &ArrayD<f64>, axis: usize, pad: usize) -> ArrayD<f64> {
    let n = f.shape()[axis];
    let mut shape = f.shape().to_vec();
    shape[axis] += 2 * pad;
    ArrayD::from_shape_fn(IxDyn(&shape), |mut i| {
        i[axis] = (i[axis] + n - pad % n) % n;
        f[&i]
    })
}

#[test]
fn periodic_axes_equal_the_gradient_of_the_wrapped_array_bit_for_bit() {
    let mut rng = Rng::new(3);
    for p in ORDERS {
        for shape in [
            vec![p.get() + 1],
            vec![17],
            vec![p.get() + 1, 9, p.get() + 3],
        ] {
            let f = ArrayD::from_shape_simple_fn(IxDyn(&shape), || rng.unit() * 20.0 - 10.0);
            let h = rng.pick(&[0.5, -1.25, 0.3]);
            for axis in 0..shape.len() {
                let pad = p.get() / 2;
                let padded = pad_wrap(&f, axis, pad);
                let opts = GradientOptions::new()
                    .spacing(Spacing::Uniform(h))
                    .axis(axis as isize)
                    .accuracy(p);
                let want =
                    &gradient(&padded, &opts.clone().backend(Backend::Reference)).unwrap()[0];
                let n = shape[axis];
                let want = want.slice_axis(Axis(axis), (pad..pad + n).into());
                for backend in BACKENDS {
                    for layout in Layout::ALL {
                        let periodic = opts.clone().boundary(Boundary::PERIODIC).backend(backend);
                        let got = with_layout(&f, layout, |v| gradient(&v, &periodic).unwrap());
                        assert_eq!(
                            got[0], want,
                            "accuracy {p}, shape {shape:?}, axis {axis}, {backend}, {layout:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn periodic_coordinates_wrap_with_the_period() {
    // x = [0, 1, 3], L = 4: the wrap-around step is 0 + 4 − 3 = 1, and
    // point 0 sees neighbours at −1 (sample 2) and 1 (sample 1).
    let x = vec![0.0, 1.0, 3.0];
    let f = ndarray::array![5.0f64, 2.0, -1.0];
    let opts = GradientOptions::new()
        .per_axis_spacing([AxisSpacing::from(x)])
        .boundary(Boundary::periodic(4.0));
    for backend in BACKENDS {
        let g = &gradient(&f, &opts.clone().backend(backend)).unwrap()[0];
        // numpy's interior formula with dx1 = 1, dx2 = 1 at point 0:
        // (f[1] − f[2]) / 2 = 1.5; at point 2 (dx1 = 2, dx2 = 1):
        // −1/(2·3)·f[1] + (1 − 2)/(2·1)·f[2] + 2/(1·3)·f[0].
        let last: f64 = -1.0 / 6.0 * 2.0 + -0.5 * -1.0 + 2.0 / 3.0 * 5.0;
        assert_eq!(g[0], 1.5, "{backend}");
        assert!((g[2] - last).abs() < 1e-15, "{backend}: {} vs {last}", g[2]);
    }
}

#[test]
fn bad_combinations_are_clear_errors() {
    let f = Array1::<f64>::zeros(4);
    let err = |opts: GradientOptions| gradient(&f, &opts).unwrap_err();
    assert!(matches!(
        err(GradientOptions::new().accuracy(Accuracy::Fourth)),
        Error::AxisTooShortForStencil {
            axis: 0,
            len: 4,
            accuracy: 4,
            required: 5,
            ..
        }
    ));
    assert!(matches!(
        err(GradientOptions::new()
            .boundary(Boundary::PERIODIC)
            .accuracy(Accuracy::Sixth)),
        Error::AxisTooShortForStencil {
            boundary: "periodic",
            required: 7,
            ..
        }
    ));
    let short = Array1::<f64>::zeros(2);
    assert!(matches!(
        gradient(&short, &GradientOptions::new().boundary(Boundary::PERIODIC)).unwrap_err(),
        Error::AxisTooShortForStencil { required: 3, .. }
    ));
    let x = AxisSpacing::from(vec![0.0, 1.0, 3.0, 4.5]);
    let coords = GradientOptions::new().per_axis_spacing([x]);
    assert_eq!(
        err(coords.clone().boundary(Boundary::PERIODIC)),
        Error::PeriodMissing { axis: 0 }
    );
    for bad in [4.5, 3.0, f64::NAN, -2.0] {
        let e = err(coords.clone().boundary(Boundary::periodic(bad)));
        assert!(matches!(e, Error::Period { axis: 0, .. }), "{bad}: {e}");
    }
    assert!(matches!(
        err(GradientOptions::new()
            .spacing(Spacing::Uniform(0.5))
            .boundary(Boundary::periodic(3.0))),
        Error::Period { .. }
    ));
    // n·h exactly is the period of uniform spacing.
    gradient(
        &f,
        &GradientOptions::new()
            .spacing(Spacing::Uniform(0.5))
            .boundary(Boundary::periodic(2.0)),
    )
    .unwrap();
    let plane = ArrayD::<f64>::zeros(IxDyn(&[3, 4]));
    assert_eq!(
        gradient(
            &plane,
            &GradientOptions::new().per_axis_boundary([Boundary::PERIODIC; 3])
        )
        .unwrap_err(),
        Error::BoundaryCount { given: 3, axes: 2 }
    );
    let message = err(GradientOptions::new().accuracy(Accuracy::Fourth)).to_string();
    assert!(
        message.contains("accuracy 4") && message.contains("at least 5"),
        "{message}"
    );
}

#[test]
fn the_gpu_computes_these_forms_and_auto_may_pick_it() {
    let f = Array1::from_iter((0..9).map(|k| (k * k) as f64));
    for opts in [
        GradientOptions::new().accuracy(Accuracy::Fourth),
        GradientOptions::new()
            .accuracy(Accuracy::Sixth)
            .boundary(Boundary::PERIODIC),
    ] {
        let want = gradient(&f, &opts.clone().backend(Backend::Reference)).unwrap();
        if ndgrad::resolve_backend(Backend::Gpu).is_ok() {
            let got = gradient(&f.mapv(|v| v as f32), &opts.clone().backend(Backend::Gpu)).unwrap();
            for (g, w) in got[0].iter().zip(want[0].iter()) {
                assert!(
                    (f64::from(*g) - w).abs() <= 1e-4 * (1.0 + w.abs()),
                    "{g} vs {w}"
                );
            }
        }
        // Auto runs them on whichever backend it resolves to, the GPU included.
        let g = gradient_with_backend(&f, &opts.backend(Backend::Auto)).unwrap();
        for (g, w) in g.arrays[0].iter().zip(want[0].iter()) {
            assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }
}
