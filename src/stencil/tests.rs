//! Unit tests of the stencil module.

use super::*;

#[test]
fn equal_differences_reduce_to_uniform_exactly() {
    assert_eq!(
        Steps::from_coordinates(ArcArray1::from(vec![0.0, 2.0, 4.0, 6.0])),
        Steps::Uniform(2.0)
    );
    assert_eq!(
        Steps::from_coordinates(ArcArray1::from(vec![6.0, 4.0, 2.0])),
        Steps::Uniform(-2.0)
    );
    // 0.1 steps are not exactly equal in binary: numpy takes the non-uniform path.
    assert!(matches!(
        Steps::from_coordinates(ArcArray1::from(vec![0.0, 0.1, 0.2, 0.3])),
        Steps::NonUniform(_)
    ));
}

#[test]
fn second_order_edges_are_exact_on_quadratics() {
    let x = [0.0, 0.5, 1.5, 3.0, 3.25];
    let f: Vec<f64> = x.iter().map(|&x| x * x - 3.0 * x).collect();
    let s = Stencil::new(
        5,
        Steps::from_coordinates(ArcArray1::from(x.to_vec())),
        EdgeOrder::Second,
    );
    for (i, &xi) in x.iter().enumerate() {
        let g = s.tap(i).apply(|k| f[k]);
        assert!((g - (2.0 * xi - 3.0)).abs() < 1e-12, "point {i}: {g}");
    }
}

#[test]
fn taps_describe_their_own_samples_and_coefficients() {
    let s = Stencil::new(6, Steps::Uniform(0.5), EdgeOrder::First);
    let (first, last) = (s.first(), s.last());
    assert_eq!(
        (first.start(), first.order(), first.coefficients()),
        (0, 1, &[0.5][..])
    );
    assert_eq!(
        (last.start(), last.order(), last.coefficients()),
        (4, 1, &[0.5][..])
    );
    let s = Stencil::new(6, Steps::Uniform(0.5), EdgeOrder::Second);
    let last = s.last();
    assert_eq!((last.start(), last.order()), (3, 2));
    assert_eq!(last.coefficients(), &[0.5 / 0.5, -2. / 0.5, 1.5 / 0.5]);
    // An end tap reads `order() + 1` samples from `start()`.
    for tap in [s.first(), s.last(), first] {
        assert_eq!(tap.span(), (tap.start(), tap.start() + tap.order() + 1));
    }
}

#[test]
fn long_axes_are_checked_for_uniformity_on_threads_alike() {
    // Above PARALLEL_BELOW points the comparison runs on rayon's pool:
    // one unequal step anywhere, the last included, makes the axis
    // non-uniform, and exactly equal steps keep it uniform.
    let n = 3 * PARALLEL_BELOW + 17;
    let x: Vec<f64> = (0..n).map(|i| i as f64 * 0.25).collect();
    assert_eq!(
        Steps::from_coordinates(ArcArray1::from(x.clone())),
        Steps::Uniform(0.25)
    );
    for k in [1, n / 2, n - 1] {
        let mut bent = x.clone();
        bent[k] += 0.125;
        assert!(matches!(
            Steps::from_coordinates(ArcArray1::from(bent)),
            Steps::NonUniform(_)
        ));
    }
}

#[test]
fn weights_come_from_numpys_differences_of_the_shared_coordinates() {
    let x = ArcArray1::from(vec![0.0, 0.1, 0.3, 0.35, 1.0]);
    let s = Stencil::new(5, Steps::from_coordinates(x.clone()), EdgeOrder::First);
    let dx: Vec<f64> = x.windows(2).into_iter().map(|w| w[1] - w[0]).collect();
    for i in 1..4 {
        let w = interior_weights(dx[i - 1], dx[i]);
        assert_eq!(s.tap(i), Tap::inside(i, w));
    }
    // Contiguous coordinates are shared, not copied.
    match s.interior() {
        Interior::NonUniform { x: shared } => {
            assert_eq!(shared.as_slice().as_ptr(), x.as_ptr())
        }
        other => panic!("uneven steps, accuracy 2: {other:?}"),
    }
    // Strided ones are copied into order.
    let every_other = ArcArray1::from(vec![0.0, 9.0, 1.0, 9.0, 3.0]).slice_move(ndarray::s![..;2]);
    let c = Coordinates::new(every_other);
    assert_eq!(c.as_slice(), &[0.0, 1.0, 3.0]);
}
