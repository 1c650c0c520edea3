//! numpy's own `TestGradient` (numpy/lib/tests/test_function_base.py, numpy
//! 2.4), ported test by test with numpy's inputs and expected values, and run
//! on every backend in `backends_under_test()`.
//!
//! Left out, because they have no ndarray equivalent:
//! - `test_datetime64` and `test_timedelta64` (datetime / timedelta dtypes);
//! - `test_masked` (numpy masked arrays).
//!
//! How numpy's arguments map:
//! - integer inputs and integer coordinates are converted to f64 first, as
//!   numpy's `gradient` does (`f.astype(np.float64)`, `distances.astype(np.float64)`);
//! - a bare array returned for a single axis is a list of one array here, and
//!   numpy's tuple is a `Vec` with one array per axis (`test_return_type`);
//! - numpy's exceptions are `Err` values: `ValueError` for a bad coordinate
//!   array or a short axis, `TypeError("invalid number of arguments")` is
//!   `Error::SpacingCount`, `AxisError` is `Error::AxisOutOfRange`;
//! - `assert_array_equal` is exact equality, `assert_almost_equal` is numpy's
//!   default `abs(actual - desired) < 1.5e-7`.

use crate::common;

use common::{backends_under_test, compare, Tolerance};
use ndarray::{arr0, array, Array, Array1, Array2, ArrayD, Axis, Dimension};
use ndgrad::{gradient, AxisSpacing, Backend, EdgeOrder, Error, GradientOptions, Spacing};

/// numpy's `assert_array_equal`: every element equal (NaN equal to NaN).
fn assert_array_equal<D: Dimension>(got: &Array<f64, D>, expected: &Array<f64, D>, what: &str) {
    let (got, expected) = (got.clone().into_dyn(), expected.clone().into_dyn());
    if let Err(msg) = compare(&got, &expected, Tolerance::Abs(0.0)) {
        panic!("{what}: {msg}\n got: {got}\n expected: {expected}");
    }
}

/// numpy's `assert_almost_equal` with its default `decimal=7`:
/// `abs(desired - actual) < 1.5 * 10**-7`.
fn assert_almost_equal<D: Dimension>(got: &Array<f64, D>, expected: &Array<f64, D>, what: &str) {
    let (got, expected) = (got.clone().into_dyn(), expected.clone().into_dyn());
    if let Err(msg) = compare(&got, &expected, Tolerance::Abs(1.5e-7)) {
        panic!("{what}: {msg}\n got: {got}\n expected: {expected}");
    }
}

/// numpy's default call on one backend.
fn on(backend: Backend) -> GradientOptions {
    GradientOptions::new().backend(backend)
}

/// numpy's `np.arange(n)` of integers, converted to f64 as `gradient` does.
fn arange(n: usize) -> Array1<f64> {
    Array1::from_iter((0..n).map(|i| i as f64))
}

/// `np.arange(25).reshape(5, 5)`, converted to f64.
fn f_2d() -> Array2<f64> {
    arange(25).into_shape_with_order((5, 5)).unwrap()
}

/// `np.cumsum(np.ones(5))`: [1, 2, 3, 4, 5].
fn cumsum_ones_5() -> Array1<f64> {
    let mut x = Array1::ones(5);
    x.accumulate_axis_inplace(Axis(0), |&prev, cur| *cur += prev);
    x
}

/// The one array of a single-axis call (numpy returns it bare).
fn single<T, D>(mut g: Vec<Array<T, D>>) -> Array<T, D> {
    assert_eq!(g.len(), 1, "one requested axis gives one array");
    g.pop().unwrap()
}

#[test]
fn test_basic() {
    // v = [[1, 1], [3, 4]]; x = np.array(v): integers, converted to f64.
    let v: Vec<Vec<i64>> = vec![vec![1, 1], vec![3, 4]];
    let x: Array2<i64> = array![[1, 1], [3, 4]];
    let x = x.mapv(|v| v as f64);
    let from_list =
        Array2::from_shape_vec((2, 2), v.iter().flatten().map(|&v| v as f64).collect()).unwrap();
    let dx = [array![[2., 3.], [2., 3.]], array![[0., 0.], [1., 1.]]];
    for b in backends_under_test() {
        for (input, what) in [(&x, "gradient(x)"), (&from_list, "gradient(v)")] {
            let g = gradient(input, &on(b)).unwrap();
            assert_eq!(g.len(), 2);
            assert_array_equal(&g[0], &dx[0], &format!("{b}: {what}[0]"));
            assert_array_equal(&g[1], &dx[1], &format!("{b}: {what}[1]"));
        }
    }
}

#[test]
fn test_args() {
    let dx = cumsum_ones_5();
    let dx_uneven = array![1., 2., 5., 9., 11.];
    let f_2d = f_2d();
    for b in backends_under_test() {
        // distances must be scalars or have size equal to gradient[axis]
        let g = gradient(&arange(5), &on(b).spacing(Spacing::Uniform(3.))).unwrap();
        assert_eq!((g.len(), g[0].shape()), (1, &[5][..]));
        let g = gradient(&arange(5), &on(b).per_axis_spacing([dx.clone().into()])).unwrap();
        assert_eq!((g.len(), g[0].shape()), (1, &[5][..]));
        // dy is set equal to dx because scalar
        let g = gradient(&f_2d, &on(b).spacing(Spacing::Uniform(1.5))).unwrap();
        assert_eq!((g.len(), g[1].shape()), (2, &[5, 5][..]));

        let g = gradient(
            &f_2d,
            &on(b).per_axis_spacing([dx_uneven.clone().into(), dx_uneven.clone().into()]),
        )
        .unwrap();
        assert_eq!((g.len(), g[1].shape()), (2, &[5, 5][..]));
        // mix between even and uneven spaces and
        // mix between scalar and vector
        let g = gradient(
            &f_2d,
            &on(b).per_axis_spacing([dx.clone().into(), AxisSpacing::Scalar(2.)]),
        )
        .unwrap();
        assert_eq!((g.len(), g[1].shape()), (2, &[5, 5][..]));

        // 2D but axis specified
        let g = gradient(&f_2d, &on(b).per_axis_spacing([dx.clone().into()]).axis(1)).unwrap();
        assert_eq!((g.len(), g[0].shape()), (1, &[5, 5][..]));

        // 2d coordinate arguments are not yet allowed
        // (numpy: ValueError '.*scalars or 1d')
        let stacked = ndarray::stack(Axis(1), &[dx.view(), dx.view()]).unwrap();
        let err = gradient(
            &f_2d,
            &on(b).per_axis_spacing([AxisSpacing::coordinates(stacked), AxisSpacing::Scalar(1.)]),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::CoordinatesNotOneDimensional { axis: 0, ndim: 2 }
            ),
            "{err:?}"
        );
    }
}

/// The `np.array(3.)` and `np.array(1.5)` calls of numpy's `test_args`: a 0-d
/// array is a scalar spacing to numpy (`np.ndim(varargs[0]) == 0`, and
/// `distances.ndim == 0: continue` in the per-axis loop of
/// numpy/lib/_function_base_impl.py), so they must give what the plain
/// scalars give.
///
/// src/plan.rs (`as_scalars`) implements that rule.
#[test]
fn test_args_zero_dim_array_spacing() {
    for b in backends_under_test() {
        // gradient(np.arange(5), np.array(3.))
        let zero_dim = AxisSpacing::coordinates(arr0(3.));
        let got = gradient(&arange(5), &on(b).per_axis_spacing([zero_dim])).unwrap();
        let want = gradient(&arange(5), &on(b).spacing(Spacing::Uniform(3.))).unwrap();
        assert_array_equal(&got[0], &want[0], &format!("{b}: np.array(3.)"));

        // gradient(f_2d, np.array(1.5))
        let zero_dim = AxisSpacing::coordinates(arr0(1.5));
        let got = gradient(&f_2d(), &on(b).per_axis_spacing([zero_dim])).unwrap();
        let want = gradient(&f_2d(), &on(b).spacing(Spacing::Uniform(1.5))).unwrap();
        assert_eq!(got.len(), 2);
        assert_array_equal(&got[0], &want[0], &format!("{b}: np.array(1.5) axis 0"));
        assert_array_equal(&got[1], &want[1], &format!("{b}: np.array(1.5) axis 1"));

        // Not in numpy's test, the same rule in the per-axis branch:
        // gradient(f_2d, np.array(2.), dx) == gradient(f_2d, 2., dx)
        let dx = AxisSpacing::from(cumsum_ones_5());
        let zero_dim = AxisSpacing::coordinates(arr0(2.));
        let got = gradient(&f_2d(), &on(b).per_axis_spacing([zero_dim, dx.clone()])).unwrap();
        let want = gradient(
            &f_2d(),
            &on(b).per_axis_spacing([AxisSpacing::Scalar(2.), dx]),
        )
        .unwrap();
        assert_array_equal(&got[0], &want[0], &format!("{b}: np.array(2.), dx axis 0"));
        assert_array_equal(&got[1], &want[1], &format!("{b}: np.array(2.), dx axis 1"));
    }
}

#[test]
fn test_badargs() {
    let f_2d = f_2d();
    let x = cumsum_ones_5();
    let ones2 = || AxisSpacing::from(Array1::<f64>::ones(2));
    let xs = || AxisSpacing::from(x.clone());
    for b in backends_under_test() {
        // wrong sizes (numpy: ValueError)
        for (items, axis) in [
            (vec![xs(), ones2()], 1),
            (vec![AxisSpacing::Scalar(1.), ones2()], 1),
            (vec![ones2(), ones2()], 0),
        ] {
            let err = gradient(&f_2d, &on(b).per_axis_spacing(items)).unwrap_err();
            assert_eq!(
                err,
                Error::CoordinatesLength {
                    axis,
                    len: 2,
                    expected: 5
                },
                "{b}"
            );
        }
        // wrong number of arguments (numpy: TypeError)
        let cases: Vec<(GradientOptions, usize, usize)> = vec![
            (on(b).per_axis_spacing([xs()]), 1, 2),
            (on(b).per_axis_spacing([xs()]).axes([0, 1]), 1, 2),
            (on(b).per_axis_spacing([xs(), xs(), xs()]), 3, 2),
            (
                on(b).per_axis_spacing([1., 1., 1.].map(AxisSpacing::Scalar)),
                3,
                2,
            ),
            (on(b).per_axis_spacing([xs(), xs()]).axis(1), 2, 1),
            (
                on(b)
                    .per_axis_spacing([1., 1.].map(AxisSpacing::Scalar))
                    .axis(1),
                2,
                1,
            ),
        ];
        for (opts, given, axes) in cases {
            let err = gradient(&f_2d, &opts).unwrap_err();
            assert_eq!(err, Error::SpacingCount { given, axes }, "{b}: {opts:?}");
        }
    }
}

#[test]
fn test_second_order_accurate() {
    // Testing that the relative numerical error is less that 3% for
    // this example problem. This corresponds to second order
    // accurate finite differences for all interior and boundary
    // points.
    let cubic = |x: &Array1<f64>| x.mapv(|x| 2. * x.powi(3) + 4. * x.powi(2) + 2. * x);
    let analytical = |x: &Array1<f64>| x.mapv(|x| 6. * x.powi(2) + 8. * x + 2.);
    // x = np.linspace(0, 1, 10); dx = x[1] - x[0]
    let x = Array1::linspace(0., 1., 10);
    let dx = x[1] - x[0];
    // x = np.sort(np.random.default_rng(0).random(10)), as numpy 2.4 prints it
    let x_uneven = array![
        0.016527635528529094,
        0.04097352393619469,
        0.2697867137638703,
        0.5436249914654229,
        0.6066357757671799,
        0.6369616873214543,
        0.7294965609839984,
        0.8132702392002724,
        0.9127555772777217,
        0.9350724237877682
    ];
    for b in backends_under_test() {
        let second = on(b).edge_order(EdgeOrder::Second);
        let evenly =
            single(gradient(&cubic(&x), &second.clone().spacing(Spacing::Uniform(dx))).unwrap());
        let unevenly = single(
            gradient(
                &cubic(&x_uneven),
                &second.per_axis_spacing([x_uneven.clone().into()]),
            )
            .unwrap(),
        );
        for (g, x, what) in [(evenly, &x, "evenly"), (unevenly, &x_uneven, "unevenly")] {
            let num_error = (&g / &analytical(x) - 1.).mapv(f64::abs);
            assert!(
                num_error.iter().all(|&e| e < 0.03),
                "{b}, {what} spaced: relative errors {num_error}"
            );
        }
    }
}

#[test]
fn test_spacing() {
    // f = np.array([0, 2., 3., 4., 5., 5.]); f = np.tile(f, (6, 1)) + f.reshape(-1, 1)
    let v = array![0., 2., 3., 4., 5., 5.];
    let f = Array2::from_shape_fn((6, 6), |(i, j)| v[j] + v[i]);
    let x_uneven = array![0., 0.5, 1., 3., 5., 7.];
    let x_even = arange(6);
    let tile = |row: [f64; 6]| Array2::from_shape_fn((6, 6), |(_, j)| row[j]);

    let fdx_even_ord1 = tile([2., 1.5, 1., 1., 0.5, 0.]);
    let fdx_even_ord2 = tile([2.5, 1.5, 1., 1., 0.5, -0.5]);
    let fdx_uneven_ord1 = tile([4., 3., 1.7, 0.5, 0.25, 0.]);
    let fdx_uneven_ord2 = tile([5., 3., 1.7, 0.5, 0.25, -0.25]);

    let coords = |x: &Array1<f64>| AxisSpacing::from(x.clone());
    for b in backends_under_test() {
        let grad = |opts: GradientOptions| gradient(&f, &opts).unwrap();
        // evenly spaced
        for (edge_order, exp_res) in [
            (EdgeOrder::First, &fdx_even_ord1),
            (EdgeOrder::Second, &fdx_even_ord2),
        ] {
            let at = |what: &str| format!("{b}, edge order {edge_order}: {what}");
            let eo = on(b).edge_order(edge_order);
            let res1 = grad(eo.clone().spacing(Spacing::Uniform(1.)).axes([0, 1]));
            let res2 = grad(
                eo.clone()
                    .per_axis_spacing([coords(&x_even), coords(&x_even)])
                    .axes([0, 1]),
            );
            let res3 = grad(
                eo.clone()
                    .per_axis_spacing([coords(&x_even), coords(&x_even)]),
            );
            for k in 0..2 {
                assert_array_equal(&res1[k], &res2[k], &at("res1 == res2"));
                assert_array_equal(&res2[k], &res3[k], &at("res2 == res3"));
            }
            assert_almost_equal(&res1[0], &exp_res.t().to_owned(), &at("res1[0]"));
            assert_almost_equal(&res1[1], exp_res, &at("res1[1]"));

            let res1 = single(grad(eo.clone().spacing(Spacing::Uniform(1.)).axis(0)));
            let res2 = single(grad(eo.clone().per_axis_spacing([coords(&x_even)]).axis(0)));
            assert_eq!(res1.shape(), res2.shape());
            assert_almost_equal(&res2, &exp_res.t().to_owned(), &at("axis 0"));

            let res1 = single(grad(eo.clone().spacing(Spacing::Uniform(1.)).axis(1)));
            let res2 = single(grad(eo.clone().per_axis_spacing([coords(&x_even)]).axis(1)));
            assert_eq!(res1.shape(), res2.shape());
            assert_array_equal(&res2, exp_res, &at("axis 1"));
        }

        // unevenly spaced
        for (edge_order, exp_res) in [
            (EdgeOrder::First, &fdx_uneven_ord1),
            (EdgeOrder::Second, &fdx_uneven_ord2),
        ] {
            let at = |what: &str| format!("{b}, uneven, edge order {edge_order}: {what}");
            let eo = on(b).edge_order(edge_order);
            let res1 = grad(
                eo.clone()
                    .per_axis_spacing([coords(&x_uneven), coords(&x_uneven)])
                    .axes([0, 1]),
            );
            let res2 = grad(
                eo.clone()
                    .per_axis_spacing([coords(&x_uneven), coords(&x_uneven)]),
            );
            for k in 0..2 {
                assert_array_equal(&res1[k], &res2[k], &at("res1 == res2"));
            }
            assert_almost_equal(&res1[0], &exp_res.t().to_owned(), &at("res1[0]"));
            assert_almost_equal(&res1[1], exp_res, &at("res1[1]"));

            let res1 = single(grad(
                eo.clone().per_axis_spacing([coords(&x_uneven)]).axis(0),
            ));
            assert_almost_equal(&res1, &exp_res.t().to_owned(), &at("axis 0"));

            let res1 = single(grad(
                eo.clone().per_axis_spacing([coords(&x_uneven)]).axis(1),
            ));
            assert_almost_equal(&res1, exp_res, &at("axis 1"));
        }

        // mixed
        for (edge_order, even, uneven) in [
            (EdgeOrder::First, &fdx_even_ord1, &fdx_uneven_ord1),
            (EdgeOrder::Second, &fdx_even_ord2, &fdx_uneven_ord2),
        ] {
            let at = |what: &str| format!("{b}, mixed, edge order {edge_order}: {what}");
            let eo = on(b).edge_order(edge_order);
            let res1 = grad(
                eo.clone()
                    .per_axis_spacing([coords(&x_even), coords(&x_uneven)])
                    .axes([0, 1]),
            );
            let res2 = grad(
                eo.clone()
                    .per_axis_spacing([coords(&x_uneven), coords(&x_even)])
                    .axes([1, 0]),
            );
            assert_array_equal(&res1[0], &res2[1], &at("res1[0] == res2[1]"));
            assert_array_equal(&res1[1], &res2[0], &at("res1[1] == res2[0]"));
            assert_almost_equal(&res1[0], &even.t().to_owned(), &at("res1[0]"));
            assert_almost_equal(&res1[1], uneven, &at("res1[1]"));
        }
    }
}

#[test]
fn test_specific_axes() {
    // Testing that gradient can work on a given axis only
    let x: Array2<i64> = array![[1, 1], [3, 4]];
    let x = x.mapv(|v| v as f64);
    let dx = [array![[2., 3.], [2., 3.]], array![[0., 0.], [1., 1.]]];
    for b in backends_under_test() {
        let at = |what: &str| format!("{b}: {what}");
        let g = |opts: GradientOptions| gradient(&x, &opts);
        assert_array_equal(&single(g(on(b).axis(0)).unwrap()), &dx[0], &at("axis=0"));
        assert_array_equal(&single(g(on(b).axis(1)).unwrap()), &dx[1], &at("axis=1"));
        assert_array_equal(&single(g(on(b).axis(-1)).unwrap()), &dx[1], &at("axis=-1"));
        let r = g(on(b).axes([1, 0])).unwrap();
        assert_eq!(r.len(), 2);
        assert_array_equal(&r[0], &dx[1], &at("axis=(1, 0)[0]"));
        assert_array_equal(&r[1], &dx[0], &at("axis=(1, 0)[1]"));

        // test axis=None which means all axes
        let all = g(on(b)).unwrap();
        assert_eq!(all.len(), 2);
        assert_almost_equal(&all[0], &dx[0], &at("axis=None[0]"));
        assert_almost_equal(&all[1], &dx[1], &at("axis=None[1]"));
        // and is the same as no axis keyword given
        let default = g(on(b)).unwrap();
        let explicit_all = g(GradientOptions {
            axes: ndgrad::Axes::All,
            ..on(b)
        })
        .unwrap();
        for k in 0..2 {
            assert_almost_equal(&explicit_all[k], &default[k], &at("None == default"));
        }

        // test vararg order
        let r = g(on(b)
            .per_axis_spacing([2., 3.].map(AxisSpacing::Scalar))
            .axes([1, 0]))
        .unwrap();
        assert_array_equal(&r[0], &(&dx[1] / 2.0), &at("vararg order [0]"));
        assert_array_equal(&r[1], &(&dx[0] / 3.0), &at("vararg order [1]"));
        // test maximal number of varargs (numpy: TypeError)
        let err = g(on(b)
            .per_axis_spacing([1., 2.].map(AxisSpacing::Scalar))
            .axis(1))
        .unwrap_err();
        assert_eq!(err, Error::SpacingCount { given: 2, axes: 1 });

        // numpy: AxisError
        let err = g(on(b).axis(3)).unwrap_err();
        assert_eq!(err, Error::AxisOutOfRange { axis: 3, ndim: 2 });
        let err = g(on(b).axis(-3)).unwrap_err();
        assert_eq!(err, Error::AxisOutOfRange { axis: -3, ndim: 2 });
    }
}

/// dtypes should not be promoted in a different way to what diff does:
/// `gradient(x).dtype == np.diff(x).dtype`, i.e. the input's float type
/// (numpy also tries float16, which ndgrad does not support).
#[test]
fn test_inexact_dtypes() {
    fn check<T: ndgrad::Element>(b: Backend) {
        let x: Array1<T> = [1., 2., 3.].iter().map(|&v| T::from_f64(v)).collect();
        // The annotation is numpy's dtype assertion (checked at compile time:
        // the output element type is the input's, as diff's is); the values
        // make it fail at run time if the result is not [1, 1, 1] in T.
        let g: Vec<Array1<T>> = gradient(&x, &on(b)).unwrap();
        let diff: Array1<T> = x.windows(2).into_iter().map(|w| w[1] - w[0]).collect();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0][1], diff[0], "{b} {}", T::NUMPY_NAME);
        assert_eq!(
            g[0],
            Array1::from_elem(3, T::from_f64(1.0)),
            "{b} {}",
            T::NUMPY_NAME
        );
    }
    for b in backends_under_test() {
        check::<f32>(b);
        check::<f64>(b);
    }
}

#[test]
fn test_values() {
    for b in backends_under_test() {
        // needs at least 2 points for edge_order ==1
        let g = gradient(&arange(2), &on(b).edge_order(EdgeOrder::First)).unwrap();
        assert_array_equal(&g[0], &array![1., 1.], &format!("{b}: arange(2)"));
        // needs at least 3 points for edge_order ==1
        let g = gradient(&arange(3), &on(b).edge_order(EdgeOrder::Second)).unwrap();
        assert_array_equal(&g[0], &array![1., 1., 1.], &format!("{b}: arange(3)"));

        // numpy: ValueError
        for (n, edge_order) in [
            (0, EdgeOrder::First),
            (0, EdgeOrder::Second),
            (1, EdgeOrder::First),
            (1, EdgeOrder::Second),
            (2, EdgeOrder::Second),
        ] {
            let err = gradient(&arange(n), &on(b).edge_order(edge_order)).unwrap_err();
            assert_eq!(
                err,
                Error::AxisTooShort {
                    axis: 0,
                    len: n,
                    edge_order,
                    required: edge_order.get() + 1
                },
                "{b}: arange({n}), edge order {edge_order}"
            );
        }
    }
}

/// Runs `$body` once per integer type, with `$t` bound to the type.
macro_rules! for_each_int {
    ($t:ident in [$($ty:ty),*] $body:block) => {
        $( { type $t = $ty; $body } )*
    };
}

#[test]
fn test_f_decreasing_unsigned_int() {
    for b in backends_under_test() {
        for_each_int!(I in [u8, u16, u32, u64] {
            // f = np.array([5, 4, 3, 2, 1], dtype=f_dtype), in its own type.
            let f: Array1<I> = array![5, 4, 3, 2, 1];
            let g = single(gradient(&f, &on(b)).unwrap());
            let what = format!("{b}, {}", std::any::type_name::<I>());
            assert_array_equal(&g, &Array1::from_elem(5, -1.), &what);
        });
    }
}

#[test]
fn test_f_signed_int_big_jump() {
    for b in backends_under_test() {
        for_each_int!(I in [i8, i16, i32, i64] {
            let maxint = I::MAX;
            let x = array![1_i64, 3].mapv(|v| v as f64);
            let f: Array1<I> = array![-1, maxint];
            let dfdx = single(gradient(&f, &on(b).per_axis_spacing([x.into()])).unwrap());
            // [(maxint + 1) // 2] * 2, compared as float64 by numpy (for
            // int64, maxint becomes 2⁶³ in float64 and 2⁶³ + 1 rounds back
            // to it, so the result is 2⁶² as well).
            let expected = ((i128::from(maxint) + 1) / 2) as f64;
            let what = format!("{b}, {}", std::any::type_name::<I>());
            assert_array_equal(&dfdx, &Array1::from_elem(2, expected), &what);
        });
    }
}

#[test]
fn test_x_decreasing_unsigned() {
    for b in backends_under_test() {
        for_each_int!(I in [u8, u16, u32, u64] {
            let x: Array1<I> = array![3, 2, 1];
            let f = array![0_i64, 2, 4].mapv(|v| v as f64);
            let dfdx = single(
                gradient(&f, &on(b).per_axis_spacing([x.mapv(|v| v as f64).into()])).unwrap(),
            );
            let what = format!("{b}, {}", std::any::type_name::<I>());
            assert_array_equal(&dfdx, &Array1::from_elem(3, -2.), &what);
        });
    }
}

#[test]
fn test_x_signed_int_big_jump() {
    for b in backends_under_test() {
        for_each_int!(I in [i8, i16, i32, i64] {
            let (minint, maxint) = (I::MIN, I::MAX);
            let x: Array1<I> = array![-1, maxint];
            // f = np.array([minint // 2, 0]): Python ints (exact here in
            // i128; minint is even), an int64 array, converted to f64.
            let f = array![(i128::from(minint) / 2) as f64, 0.];
            let dfdx = single(
                gradient(&f, &on(b).per_axis_spacing([x.mapv(|v| v as f64).into()])).unwrap(),
            );
            let what = format!("{b}, {}", std::any::type_name::<I>());
            assert_array_equal(&dfdx, &array![0.5, 0.5], &what);
        });
    }
}

/// numpy: `type(np.gradient(([1, 2], [2, 3]))) is tuple`; here, one array per
/// axis.
#[test]
fn test_return_type() {
    let f: ArrayD<f64> = array![[1_i64, 2], [2, 3]].mapv(|v| v as f64).into_dyn();
    for b in backends_under_test() {
        let res = gradient(&f, &on(b)).unwrap();
        assert_eq!(res.len(), 2, "{b}");
        for g in &res {
            assert_array_equal(g, &ArrayD::from_elem(vec![2, 2], 1.), &b.to_string());
        }
    }
}
