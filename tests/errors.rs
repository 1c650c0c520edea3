//! Every library error, raised through `ndgrad::gradient` on every backend
//! under test: the variant with its fields, and the message naming the axis
//! and the numbers. Then the edge cases that are not errors, as numpy
//! behaves: zero-size arrays, 0-d input, and an input left untouched.

mod common;

use common::{backends_under_test, with_layout, Layout};
use ndarray::{arr0, array, Array, Array1, Array2, ArrayD, IxDyn};
use ndgrad::{gradient, AxisSpacing, Backend, EdgeOrder, Element, Error, GradientOptions, Spacing};

/// A non-constant, never-zero input of `shape` (a smooth, irregular pattern).
fn input(shape: &[usize]) -> ArrayD<f64> {
    let mut i = 0.0_f64;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        i += 1.0;
        (1.37 * i).sin() * 4.0 + (0.21 * i * i).cos() + 0.5
    })
}

/// The error `gradient` returns for `opts` on an array of `shape`, checked to
/// be the same on every backend under test.
fn error_of(shape: &[usize], opts: GradientOptions) -> Error {
    let f = input(shape);
    let mut first: Option<Error> = None;
    for b in backends_under_test() {
        let err = match gradient(&f, &opts.clone().backend(b)) {
            Ok(_) => panic!("{b}: shape {shape:?} with {opts:?} must fail"),
            Err(err) => err,
        };
        match &first {
            None => first = Some(err),
            Some(e) => assert_eq!(&err, e, "{b} must report what the others report"),
        }
    }
    first.expect("the reference backend is always under test")
}

/// Asserts that `message` contains every fragment.
fn assert_says(err: &Error, fragments: &[&str]) {
    let message = err.to_string();
    for fragment in fragments {
        assert!(
            message.contains(fragment),
            "the message {message:?} lacks {fragment:?}"
        );
    }
}

#[test]
fn axis_shorter_than_edge_order_plus_one() {
    let err = error_of(&[1], GradientOptions::new());
    assert!(
        matches!(
            err,
            Error::AxisTooShort {
                axis: 0,
                len: 1,
                edge_order: EdgeOrder::First,
                required: 2
            }
        ),
        "{err:?}"
    );
    assert_says(
        &err,
        &[
            "axis 0 has 1 elements",
            "at least edge_order + 1 = 2 elements are required",
            "edge_order = 1",
        ],
    );

    // The second axis of a (4, 2) array with edge order 2, asked for as -1.
    let err = error_of(
        &[4, 2],
        GradientOptions::new()
            .axis(-1)
            .edge_order(EdgeOrder::Second),
    );
    assert!(
        matches!(
            err,
            Error::AxisTooShort {
                axis: 1,
                len: 2,
                edge_order: EdgeOrder::Second,
                required: 3
            }
        ),
        "{err:?}"
    );
    assert_says(
        &err,
        &[
            "axis 1 has 2 elements",
            "at least edge_order + 1 = 3 elements are required",
            "edge_order = 2",
        ],
    );

    // Every axis is checked: the first two are long enough, the third is not.
    let err = error_of(
        &[3, 4, 2],
        GradientOptions::new().edge_order(EdgeOrder::Second),
    );
    assert!(
        matches!(
            err,
            Error::AxisTooShort {
                axis: 2,
                len: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn zero_length_differentiated_axis() {
    let err = error_of(&[0], GradientOptions::new());
    assert!(
        matches!(
            err,
            Error::AxisTooShort {
                axis: 0,
                len: 0,
                required: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_says(
        &err,
        &[
            "axis 0 has 0 elements",
            "at least edge_order + 1 = 2 elements are required",
        ],
    );

    let err = error_of(&[3, 0], GradientOptions::new());
    assert!(
        matches!(
            err,
            Error::AxisTooShort {
                axis: 1,
                len: 0,
                ..
            }
        ),
        "{err:?}"
    );

    // Axis 2 alone would succeed; the zero-length axis 1 is an error.
    let err = error_of(
        &[3, 0, 4],
        GradientOptions::new()
            .axes([2, 1])
            .edge_order(EdgeOrder::Second),
    );
    assert!(
        matches!(
            err,
            Error::AxisTooShort {
                axis: 1,
                len: 0,
                required: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_says(&err, &["axis 1 has 0 elements", "edge_order + 1 = 3"]);
}

#[test]
fn wrong_number_of_spacing_items() {
    let three = [0.5, 1.0, 2.0].map(AxisSpacing::Scalar);
    let err = error_of(&[4, 5], GradientOptions::new().per_axis_spacing(three));
    assert!(
        matches!(err, Error::SpacingCount { given: 3, axes: 2 }),
        "{err:?}"
    );
    assert_says(&err, &["3 spacing items", "2 requested axes"]);

    // Two scalars for one requested axis.
    let two = [0.5, 1.0].map(AxisSpacing::Scalar);
    let err = error_of(
        &[4, 5],
        GradientOptions::new().per_axis_spacing(two).axis(-1),
    );
    assert!(
        matches!(err, Error::SpacingCount { given: 2, axes: 1 }),
        "{err:?}"
    );
    assert_says(&err, &["2 spacing items", "1 requested axes"]);

    // One coordinate array is not a scalar: it cannot serve two axes.
    let x = AxisSpacing::from(vec![0.0, 1.0, 3.0, 4.0]);
    let err = error_of(&[4, 4], GradientOptions::new().per_axis_spacing([x]));
    assert!(
        matches!(err, Error::SpacingCount { given: 1, axes: 2 }),
        "{err:?}"
    );
    assert_says(&err, &["1 spacing items", "2 requested axes"]);
}

#[test]
fn coordinates_not_one_dimensional() {
    let grid = Array2::from_shape_fn((5, 2), |(i, j)| (i * 2 + j) as f64);
    let err = error_of(
        &[3, 5],
        GradientOptions::new()
            .per_axis_spacing([AxisSpacing::Scalar(1.0), AxisSpacing::coordinates(grid)]),
    );
    assert!(
        matches!(
            err,
            Error::CoordinatesNotOneDimensional { axis: 1, ndim: 2 }
        ),
        "{err:?}"
    );
    assert_says(&err, &["coordinates for axis 1", "2 dimensions", "1-D"]);

    // The axis is named as a non-negative index even when asked for as -3.
    let cube = Array::from_shape_fn((2, 2, 2), |(i, j, k)| (i + 2 * j + 4 * k) as f64);
    let err = error_of(
        &[3, 4, 5],
        GradientOptions::new()
            .per_axis_spacing([AxisSpacing::coordinates(cube)])
            .axis(-3),
    );
    assert!(
        matches!(
            err,
            Error::CoordinatesNotOneDimensional { axis: 0, ndim: 3 }
        ),
        "{err:?}"
    );
    assert_says(&err, &["coordinates for axis 0", "3 dimensions"]);
}

#[test]
fn coordinates_of_the_wrong_length() {
    let x = AxisSpacing::from(vec![0.0, 1.0, 2.5, 4.0]);
    let err = error_of(
        &[3, 5],
        GradientOptions::new()
            .per_axis_spacing([x.clone()])
            .axes([-1]),
    );
    assert!(
        matches!(
            err,
            Error::CoordinatesLength {
                axis: 1,
                len: 4,
                expected: 5
            }
        ),
        "{err:?}"
    );
    assert_says(
        &err,
        &["coordinates for axis 1", "4 elements", "the axis has 5"],
    );

    let err = error_of(
        &[6, 4],
        GradientOptions::new().per_axis_spacing([x, AxisSpacing::Scalar(2.0)]),
    );
    assert!(
        matches!(
            err,
            Error::CoordinatesLength {
                axis: 0,
                len: 4,
                expected: 6
            }
        ),
        "{err:?}"
    );
    assert_says(
        &err,
        &["coordinates for axis 0", "4 elements", "the axis has 6"],
    );
}

#[test]
fn coordinates_shorter_than_two() {
    // numpy fails here with an IndexError from `diffx[0]` on an empty diff.
    let err = error_of(
        &[1, 5],
        GradientOptions::new()
            .per_axis_spacing([AxisSpacing::from(vec![0.5]), AxisSpacing::Scalar(1.0)]),
    );
    assert!(
        matches!(err, Error::CoordinatesTooShort { axis: 0, len: 1 }),
        "{err:?}"
    );
    assert_says(
        &err,
        &["coordinates for axis 0", "1 elements", "at least 2"],
    );

    let err = error_of(
        &[4, 0],
        GradientOptions::new()
            .per_axis_spacing([AxisSpacing::from(Vec::new())])
            .axis(1),
    );
    assert!(
        matches!(err, Error::CoordinatesTooShort { axis: 1, len: 0 }),
        "{err:?}"
    );
    assert_says(
        &err,
        &["coordinates for axis 1", "0 elements", "at least 2"],
    );
}

#[test]
fn axis_out_of_range() {
    let err = error_of(&[3, 4], GradientOptions::new().axis(2));
    assert!(
        matches!(err, Error::AxisOutOfRange { axis: 2, ndim: 2 }),
        "{err:?}"
    );
    assert_says(&err, &["axis 2 is out of range", "2 dimensions"]);

    let err = error_of(&[3, 4], GradientOptions::new().axes([0, -3]));
    assert!(
        matches!(err, Error::AxisOutOfRange { axis: -3, ndim: 2 }),
        "{err:?}"
    );
    assert_says(&err, &["axis -3 is out of range", "2 dimensions"]);

    let err = error_of(&[3, 4, 5], GradientOptions::new().axis(isize::MIN));
    assert!(
        matches!(
            err,
            Error::AxisOutOfRange {
                axis: isize::MIN,
                ndim: 3
            }
        ),
        "{err:?}"
    );

    // A 0-d array has no axis 0 (numpy: AxisError).
    let err = error_of(&[], GradientOptions::new().axis(0));
    assert!(
        matches!(err, Error::AxisOutOfRange { axis: 0, ndim: 0 }),
        "{err:?}"
    );
    assert_says(&err, &["axis 0 is out of range", "0 dimensions"]);
}

#[test]
fn repeated_axis() {
    let err = error_of(&[3, 4], GradientOptions::new().axes([0, 0]));
    assert!(matches!(err, Error::RepeatedAxis { axis: 0 }), "{err:?}");
    assert_says(&err, &["axis 0 is requested more than once"]);

    // -1 and ndim - 1 are the same axis.
    let err = error_of(&[3, 4], GradientOptions::new().axes([-1, 1]));
    assert!(matches!(err, Error::RepeatedAxis { axis: 1 }), "{err:?}");
    assert_says(&err, &["axis 1 is requested more than once"]);

    let err = error_of(&[3, 4, 5], GradientOptions::new().axes([2, 0, -1]));
    assert!(matches!(err, Error::RepeatedAxis { axis: 2 }), "{err:?}");
    assert_says(&err, &["axis 2 is requested more than once"]);
}

/// Reference, CPU and Auto always run. The GPU either runs or, where no
/// adapter can be had, gives `NoAdapter` through `gradient`, the same error
/// as `resolve_backend`, saying what to use instead.
#[test]
fn every_backend_runs_or_says_why_not() {
    let f = input(&[4, 5]);
    for backend in [
        Backend::Reference,
        Backend::Cpu,
        Backend::Gpu,
        Backend::Auto,
    ] {
        let opts = GradientOptions::new().backend(backend);
        match ndgrad::resolve_backend(backend) {
            Ok(_) => {
                let g = gradient(&f, &opts).unwrap_or_else(|e| panic!("{backend}: {e}"));
                assert_eq!(g.len(), 2);
            }
            Err(resolved) => {
                assert_eq!(backend, Backend::Gpu, "only the GPU may be missing");
                let err = gradient(&f, &opts).unwrap_err();
                assert_eq!(err, resolved);
                assert!(matches!(err, Error::NoAdapter { .. }), "{err:?}");
                assert_says(&err, &["no GPU adapter is available", "use the CPU"]);
            }
        }
    }
}

/// numpy raises in a fixed order: axes, then the number of spacing items,
/// then each coordinate array, then each axis's length. ndgrad follows it.
#[test]
fn errors_come_in_numpy_order() {
    // An out-of-range axis wins over a wrong spacing count.
    let three = [1.0, 2.0, 3.0].map(AxisSpacing::Scalar);
    let err = error_of(
        &[3, 4],
        GradientOptions::new().per_axis_spacing(three).axis(5),
    );
    assert!(
        matches!(err, Error::AxisOutOfRange { axis: 5, .. }),
        "{err:?}"
    );

    // A wrong spacing count wins over a too-short axis.
    let three = [1.0, 2.0, 3.0].map(AxisSpacing::Scalar);
    let err = error_of(&[1, 4], GradientOptions::new().per_axis_spacing(three));
    assert!(matches!(err, Error::SpacingCount { .. }), "{err:?}");

    // A bad coordinate array on axis 1 wins over axis 0 being too short.
    let err = error_of(
        &[1, 4],
        GradientOptions::new()
            .per_axis_spacing([AxisSpacing::Scalar(1.0), AxisSpacing::from(vec![0.0, 1.0])]),
    );
    assert!(
        matches!(
            err,
            Error::CoordinatesLength {
                axis: 1,
                len: 2,
                expected: 4
            }
        ),
        "{err:?}"
    );
}

#[test]
fn zero_size_arrays_with_an_undifferentiated_empty_axis_give_empty_results() {
    for b in backends_under_test() {
        let f = Array2::<f64>::zeros((0, 4));
        let g = gradient(&f, &GradientOptions::new().axis(1).backend(b)).unwrap();
        assert_eq!(g.len(), 1, "{b}");
        assert_eq!(g[0].shape(), &[0, 4], "{b}");

        let f = ArrayD::<f32>::zeros(IxDyn(&[3, 0, 5]));
        let x: Array1<f64> = array![0.0, 1.0, 4.0, 9.0, 16.0];
        let opts = GradientOptions::new()
            .per_axis_spacing([AxisSpacing::Scalar(1.0), x.into()])
            .axes([0, 2])
            .edge_order(EdgeOrder::Second)
            .backend(b);
        let g = gradient(&f, &opts).unwrap();
        assert_eq!(g.len(), 2, "{b}");
        for out in &g {
            assert_eq!(out.shape(), &[3, 0, 5], "{b}");
        }
    }
}

#[test]
fn zero_dimensional_input_gives_no_arrays() {
    for b in backends_under_test() {
        // numpy.gradient(np.array(2.5)) and numpy.gradient(np.array(2.5), 2.) are ().
        let g = gradient(&arr0(2.5), &GradientOptions::new().backend(b)).unwrap();
        assert!(g.is_empty(), "{b}");
        let opts = GradientOptions::new()
            .spacing(Spacing::Uniform(2.0))
            .backend(b);
        assert!(gradient(&arr0(2.5_f32), &opts).unwrap().is_empty(), "{b}");
        // One coordinate array for no axes: numpy's TypeError.
        let opts = GradientOptions::new()
            .per_axis_spacing([AxisSpacing::from(vec![1.0, 2.0])])
            .backend(b);
        let err = gradient(&arr0(2.5), &opts).unwrap_err();
        assert!(
            matches!(err, Error::SpacingCount { given: 1, axes: 0 }),
            "{err:?}"
        );
    }
}

fn assert_input_untouched<T: Element>(f: &ArrayD<T>) {
    let x: Vec<f64> = (0..f.shape()[1]).map(|i| (i * i) as f64 * 0.5).collect();
    for b in backends_under_test() {
        for layout in Layout::ALL {
            with_layout(f, layout, |view| {
                let before: Vec<u64> = view.iter().map(|v| v.to_f64().to_bits()).collect();
                let opts = GradientOptions::new()
                    .per_axis_spacing([
                        AxisSpacing::Scalar(0.5),
                        x.clone().into(),
                        AxisSpacing::Scalar(-2.0),
                    ])
                    .edge_order(EdgeOrder::Second)
                    .backend(b);
                let g = gradient(&view, &opts).unwrap();
                assert_eq!(g.len(), 3);
                let after: Vec<u64> = view.iter().map(|v| v.to_f64().to_bits()).collect();
                assert_eq!(before, after, "{b} with {layout:?} input changed the input");
            });
        }
        let copy = f.clone();
        gradient(f, &GradientOptions::new().backend(b)).unwrap();
        assert!(
            f.iter()
                .zip(&copy)
                .all(|(a, c)| a.to_f64().to_bits() == c.to_f64().to_bits()),
            "{b} changed the input"
        );
    }
}

#[test]
fn the_input_is_not_mutated() {
    let f = input(&[5, 6, 7]);
    assert_input_untouched(&f);
    assert_input_untouched(&f.mapv(|v| v as f32));
}

/// An output too large to allocate is `Error::OutOfMemory`, not an abort:
/// a zero-stride view of 2⁶² samples (one sample in memory) would need
/// 2⁶⁵ bytes per `f64` output.
#[test]
fn outputs_too_large_to_allocate_are_an_error_not_an_abort() {
    let one = arr0(1.5_f64);
    let f = one.broadcast(IxDyn(&[1 << 31, 1 << 31])).unwrap();
    for b in [Backend::Cpu, Backend::Auto] {
        let opts = GradientOptions::new().axis(1).backend(b);
        match gradient(&f, &opts) {
            Err(Error::OutOfMemory { bytes, .. }) => assert_eq!(bytes, 1 << 65),
            Err(other) => panic!("{b}: expected OutOfMemory, got {other}"),
            Ok(_) => panic!("{b}: 2^65 bytes were allocated"),
        }
        let m = ndgrad::gradient_magnitude(&f, &opts);
        assert!(matches!(m, Err(Error::OutOfMemory { .. })), "{b}: {m:?}");
    }
    let msg = gradient(&f, &GradientOptions::new().backend(Backend::Cpu))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("not enough memory: 36893488147419103232 bytes"),
        "{msg}"
    );
}
