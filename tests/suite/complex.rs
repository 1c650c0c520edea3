//! Complex input (`Complex<f32>`, `Complex<f64>`) on every backend, against
//! numpy (tests/fixtures/complex, written by scripts/gen_complex_fixtures.py)
//! and against the real path applied to each part.
//!
//! The definition is `np.gradient(z.real) + 1j * np.gradient(z.imag)`
//! (src/complex.rs). Against numpy's values of it, each backend meets the
//! tolerance tests/fixtures.rs holds it to on real input (bit for bit for
//! the reference on complex128); against the real path applied to each
//! part, every backend is bit for bit. numpy's own complex arithmetic is
//! within four units in the last place of the parts' result.

use crate::common;

use std::fs::File;

use common::{backends_under_test, compare, fixtures_dir, Rng, Tolerance};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, ShapeBuilder};
use ndarray_npy::NpzReader;
use ndgrad::complex::{self, Part};
use ndgrad::{
    gradient, gradient_magnitude, gradient_with_backend, Accuracy, AxisSpacing, Backend, Boundary,
    Complex, EdgeOrder, Error, GradientOptions, Spacing,
};
use serde_json::Value;

/// One numpy case: the input, the options, numpy's complex result `g`, the
/// parts differentiated alone `p`, and the magnitude `m`.
struct Case<T> {
    name: String,
    f: ArrayD<Complex<T>>,
    opts: GradientOptions,
    g: Vec<ArrayD<Complex<T>>>,
    p: Vec<ArrayD<Complex<T>>>,
    m: ArrayD<T>,
    /// max |f| over the smallest step of each requested axis.
    scale: Vec<f64>,
}

fn cases() -> Vec<Value> {
    let path = fixtures_dir().join("complex/manifest.json");
    let text = std::fs::read_to_string(&path).expect("complex manifest");
    let manifest: Value = serde_json::from_str(&text).expect("JSON");
    manifest["cases"].as_array().expect("cases").clone()
}

fn load<T>(case: &Value) -> Case<T>
where
    T: Part + ndarray_npy::ReadableElement,
    Complex<T>: ndarray_npy::ReadableElement,
{
    let name = case["name"].as_str().expect("name").to_string();
    let path = fixtures_dir().join(format!("complex/{name}.npz"));
    let mut npz = NpzReader::new(File::open(&path).expect("fixture")).expect("npz");
    let f: ArrayD<Complex<T>> = npz.by_name("f").expect("f");
    let mut opts = GradientOptions::new();
    opts = opts.edge_order(match case["edge_order"].as_u64() {
        Some(1) => EdgeOrder::First,
        _ => EdgeOrder::Second,
    });
    let requested: Vec<usize> = match case["axes"].as_array() {
        Some(axes) => {
            let axes: Vec<isize> = axes.iter().map(|a| a.as_i64().unwrap() as isize).collect();
            opts = opts.axes(axes.clone());
            axes.iter()
                .map(|&a| a.rem_euclid(f.ndim() as isize) as usize)
                .collect()
        }
        None => (0..f.ndim()).collect(),
    };
    let max_f = f
        .iter()
        .map(|z| z.re.to_f64().hypot(z.im.to_f64()))
        .fold(0.0, f64::max);
    let mut steps = vec![1.0; requested.len()];
    match &case["spacing"] {
        Value::Null => {}
        Value::Object(s) => {
            let h = s["scalar"].as_f64().unwrap();
            steps.fill(h);
            opts = opts.spacing(Spacing::Uniform(h));
        }
        Value::Array(items) => {
            let mut per_axis = Vec::new();
            for (k, item) in items.iter().enumerate() {
                if let Some(h) = item["scalar"].as_f64() {
                    steps[k] = h;
                    per_axis.push(AxisSpacing::Scalar(h));
                } else {
                    let x: ArrayD<f64> = npz.by_name(item["coords"].as_str().unwrap()).unwrap();
                    let x: Vec<f64> = x.iter().copied().collect();
                    steps[k] = x
                        .windows(2)
                        .map(|w| w[1] - w[0])
                        .fold(f64::INFINITY, f64::min);
                    per_axis.push(AxisSpacing::from(x));
                }
            }
            opts = opts.spacing(Spacing::PerAxis(per_axis));
        }
        other => panic!("{name}: spacing {other}"),
    }
    let count = requested.len();
    let read = |npz: &mut NpzReader<File>, key: &str| -> Vec<ArrayD<Complex<T>>> {
        (0..count)
            .map(|k| npz.by_name(&format!("{key}{k}")).expect("output"))
            .collect()
    };
    let g = read(&mut npz, "g");
    let p = read(&mut npz, "p");
    let m: ArrayD<T> = npz.by_name("m").expect("m");
    Case {
        name,
        f,
        opts,
        g,
        p,
        m,
        scale: steps.iter().map(|h| max_f / h.abs()).collect(),
    }
}

trait Float: Part + ndarray_npy::ReadableElement {
    const EPS: f64;
}
impl Float for f32 {
    const EPS: f64 = f32::EPSILON as f64;
}
impl Float for f64 {
    const EPS: f64 = f64::EPSILON;
}

/// The real and the imaginary parts of `z`, as two real arrays.
fn parts<T: Float>(z: &ArrayD<Complex<T>>) -> (ArrayD<T>, ArrayD<T>) {
    (z.mapv(|c| c.re), z.mapv(|c| c.im))
}

/// Compares complex arrays part by part.
fn compare_complex<T: Float>(
    got: &ArrayD<Complex<T>>,
    expected: &ArrayD<Complex<T>>,
    tolerance: Tolerance,
) -> Result<(), String> {
    let (gr, gi) = parts(got);
    let (er, ei) = parts(expected);
    compare(&gr, &er, tolerance).map_err(|e| format!("real part: {e}"))?;
    compare(&gi, &ei, tolerance).map_err(|e| format!("imaginary part: {e}"))
}

/// The logical array of `a` in another memory layout: C order, Fortran
/// order, every axis reversed (negative strides), or every other element of
/// a larger NaN-filled array.
fn with_layouts<T: Float>(
    a: &ArrayD<Complex<T>>,
    mut run: impl FnMut(&str, ArrayViewD<'_, Complex<T>>),
) {
    run("C", a.view());
    let mut fortran = ArrayD::from_elem(
        a.raw_dim().f(),
        Complex::new(T::from_f64(0.0), T::from_f64(0.0)),
    );
    fortran.assign(a);
    run("Fortran", fortran.view());
    let mut reversed = a.clone();
    for k in 0..a.ndim() {
        reversed.invert_axis(Axis(k));
    }
    let mut reversed = reversed.as_standard_layout().into_owned();
    for k in 0..a.ndim() {
        reversed.invert_axis(Axis(k));
    }
    run("negative strides", reversed.view());
    let nan = Complex::new(T::from_f64(f64::NAN), T::from_f64(f64::NAN));
    let big: Vec<usize> = a.shape().iter().map(|&n| 2 * n).collect();
    let mut stepped = ArrayD::from_elem(IxDyn(&big), nan);
    let mut view = stepped.view_mut();
    for k in 0..a.ndim() {
        view.slice_axis_inplace(Axis(k), ndarray::Slice::new(0, None, 2));
    }
    view.assign(a);
    let mut view = stepped.view();
    for k in 0..a.ndim() {
        view.slice_axis_inplace(Axis(k), ndarray::Slice::new(0, None, 2));
    }
    run("stepped", view);
}

/// What tests/fixtures.rs allows a backend on real input of this part
/// type, for a derivative of size `scale`: bit for bit for the reference in
/// f64, 10⁻¹² of the scale for the other backends in f64, eight `f32`
/// epsilons of it in f32.
fn tolerance<T: Float>(backend: Backend, scale: f64) -> Tolerance {
    match (T::EPS == f64::EPSILON, backend) {
        (true, Backend::Reference) => Tolerance::Exact,
        (true, _) => Tolerance::Abs(1e-12 * scale),
        (false, _) => Tolerance::Abs(8.0 * T::EPS * scale),
    }
}

fn gpu_computes<T: Part>() -> bool {
    std::mem::size_of::<T>() == 4 || ndgrad::gpu::default_context().is_ok_and(|c| c.supports_f64())
}

fn check_fixtures<T: Float>(dtype: &str)
where
    Complex<T>: ndarray_npy::ReadableElement,
    Complex<T>: ndgrad::Scalar<Gradient = Complex<T>, Magnitude = T>,
{
    let mut checked = 0;
    for value in cases().iter().filter(|c| c["dtype"] == dtype) {
        let case = load::<T>(value);
        let name = &case.name;
        // numpy's complex arithmetic is within two units in the last place
        // of the parts differentiated alone.
        for (k, (g, p)) in case.g.iter().zip(&case.p).enumerate() {
            let tol = Tolerance::Abs(4.0 * T::EPS * case.scale[k]);
            compare_complex(g, p, tol)
                .unwrap_or_else(|e| panic!("{name}: numpy g{k} vs p{k}: {e}"));
        }
        for backend in backends_under_test() {
            if backend == Backend::Gpu && !gpu_computes::<T>() {
                continue;
            }
            let opts = case.opts.clone().backend(backend);
            with_layouts(&case.f, |layout, f| {
                let at = format!("{name} on {backend}, {layout}");
                let got = gradient_with_backend(&f, &opts).unwrap_or_else(|e| panic!("{at}: {e}"));
                assert_eq!(got.backend, backend, "{at}");
                assert_eq!(got.arrays.len(), case.p.len(), "{at}");
                for (k, (g, p)) in got.arrays.iter().zip(&case.p).enumerate() {
                    let tol = tolerance::<T>(backend, case.scale[k]);
                    compare_complex(&g.clone().into_dyn(), p, tol)
                        .unwrap_or_else(|e| panic!("{at}: axis {k}: {e}"));
                    compare_complex(
                        &g.clone().into_dyn(),
                        &case.g[k],
                        Tolerance::Abs(16.0 * T::EPS * case.scale[k]),
                    )
                    .unwrap_or_else(|e| panic!("{at}: axis {k} vs numpy: {e}"));
                }
                let m = gradient_magnitude(&f, &opts).unwrap_or_else(|e| panic!("{at}: {e}"));
                let scale = case.scale.iter().copied().fold(0.0, f64::max);
                let tol = tolerance::<T>(backend, scale * case.scale.len() as f64);
                compare(&m.into_dyn(), &case.m, tol)
                    .unwrap_or_else(|e| panic!("{at}: magnitude: {e}"));
            });
            checked += 1;
        }
    }
    assert!(checked >= 18, "only {checked} {dtype} case runs");
}

#[test]
fn complex64_equals_numpy_on_every_backend_and_layout() {
    check_fixtures::<f32>("complex64");
}

#[test]
fn complex128_equals_numpy_on_every_backend_and_layout() {
    check_fixtures::<f64>("complex128");
}

/// A fresh random complex array, never all zeros.
fn random_complex(rng: &mut Rng, shape: &[usize]) -> ArrayD<Complex<f64>> {
    let re = rng.array(shape, -4.0, 4.0);
    let im = rng.array(shape, -3.0, 5.0);
    ndarray::Zip::from(&re)
        .and(&im)
        .map_collect(|&r, &i| Complex::new(r, i))
}

/// Every accuracy order and boundary: the complex gradient is the real
/// gradient of each part, on every backend that computes the form.
#[test]
fn every_form_differentiates_each_part_alone() {
    let mut rng = Rng::new(0xC0_4D1E);
    let z = random_complex(&mut rng, &[9, 8, 7]);
    let (re, im) = (z.mapv(|c| c.re), z.mapv(|c| c.im));
    let x: Vec<f64> = (0..8).map(|k| k as f64 * 0.4 + rng.unit() * 0.2).collect();
    for accuracy in [Accuracy::Second, Accuracy::Fourth, Accuracy::Sixth] {
        for boundary in [Boundary::OneSided, Boundary::periodic(3.5)] {
            let spacing = Spacing::PerAxis(vec![
                AxisSpacing::Scalar(0.3),
                AxisSpacing::from(x.clone()),
                AxisSpacing::Scalar(1.0),
            ]);
            let per_axis = vec![Boundary::PERIODIC, boundary, Boundary::OneSided];
            for backend in backends_under_test() {
                let opts = GradientOptions::new()
                    .accuracy(accuracy)
                    .per_axis_boundary(per_axis.clone())
                    .spacing(spacing.clone())
                    .backend(backend);
                let at = format!("{accuracy:?}, {boundary:?}, {backend}");
                let real = gradient(&re, &opts);
                let got = gradient(&z, &opts);
                match (real, got) {
                    (Ok(r), Ok(g)) => {
                        let i = gradient(&im, &opts).unwrap();
                        for k in 0..3 {
                            let want = ndarray::Zip::from(&r[k])
                                .and(&i[k])
                                .map_collect(|&a, &b| Complex::new(a, b));
                            compare_complex(&g[k], &want, Tolerance::Exact)
                                .unwrap_or_else(|e| panic!("{at}: axis {k}: {e}"));
                        }
                    }
                    // A backend that refuses the form refuses it alike.
                    (Err(r), Err(g)) => assert_eq!(r.to_string(), g.to_string(), "{at}"),
                    (r, g) => panic!("{at}: real {:?}, complex {:?}", r.err(), g.err()),
                }
            }
        }
    }
}

/// The into functions write every element of outputs of any layout (each
/// filled with NaN first) with the values `gradient` returns.
#[test]
fn into_writes_every_element_of_any_layout() {
    let mut rng = Rng::new(77);
    let z = random_complex(&mut rng, &[6, 5, 4]);
    let opts = GradientOptions::new()
        .axes(vec![2, 0])
        .spacing(Spacing::Uniform(0.6));
    for backend in backends_under_test() {
        let opts = opts.clone().backend(backend);
        let want = gradient(&z, &opts).unwrap();
        let nan = Complex::new(f64::NAN, f64::NAN);
        let mut c = ArrayD::from_elem(z.raw_dim(), nan);
        let mut fo = ArrayD::from_elem(z.raw_dim().f(), nan);
        let mut rev = ArrayD::from_elem(z.raw_dim(), nan);
        let mut rev_view = rev.view_mut();
        rev_view.invert_axis(Axis(1));
        let mut outs: Vec<ArrayViewMutD<'_, Complex<f64>>> = vec![c.view_mut(), fo.view_mut()];
        let ran = complex::gradient_into(&z, &opts, &mut outs).unwrap();
        assert_eq!(ran, backend);
        compare_complex(&c, &want[0], Tolerance::Exact).unwrap();
        compare_complex(&fo, &want[1], Tolerance::Exact).unwrap();
        complex::gradient_into(&z, &opts, &mut [fo.view_mut(), rev_view]).unwrap();
        rev.invert_axis(Axis(1)); // the output was written through a reversed view
        compare_complex(&rev, &want[1], Tolerance::Exact).unwrap();

        let m_want = gradient_magnitude(&z, &opts).unwrap();
        let mut m = ArrayD::from_elem(z.raw_dim().f(), f64::NAN);
        complex::gradient_magnitude_into(&z, &opts, m.view_mut()).unwrap();
        compare(&m, &m_want, Tolerance::Exact).unwrap();
    }
}

/// Errors are the real path's, raised before anything runs: a bad axis, a
/// wrong spacing count, the wrong number or shape of outputs. A 0-d input
/// has no axes and an empty gradient, as numpy's empty tuple.
#[test]
fn errors_and_zero_dimensional_input() {
    let z = ArrayD::from_elem(IxDyn(&[4, 3]), Complex::new(1.0f32, 2.0));
    let bad_axis = gradient(&z, &GradientOptions::new().axis(2)).unwrap_err();
    assert!(
        matches!(bad_axis, Error::AxisOutOfRange { .. }),
        "{bad_axis}"
    );
    let spacing = Spacing::PerAxis(vec![AxisSpacing::Scalar(1.0); 3]);
    let count = gradient(&z, &GradientOptions::new().spacing(spacing)).unwrap_err();
    assert!(matches!(count, Error::SpacingCount { .. }), "{count}");
    let mut one = ArrayD::from_elem(IxDyn(&[4, 3]), Complex::new(f32::NAN, 0.0));
    let e = complex::gradient_into(&z, &GradientOptions::new(), &mut [one.view_mut()]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutputCount {
                expected: 2,
                found: 1
            }
        ),
        "{e}"
    );
    assert!(
        one.iter().all(|c| c.re.is_nan()),
        "an error leaves the output untouched"
    );
    let mut wrong = ArrayD::from_elem(IxDyn(&[3, 4]), 0.0f32);
    let e = complex::gradient_magnitude_into(&z, &GradientOptions::new(), wrong.view_mut())
        .unwrap_err();
    assert!(matches!(e, Error::OutputShape { .. }), "{e}");

    let scalar = ndarray::arr0(Complex::new(1.0, -1.0)).into_dyn();
    assert!(gradient(&scalar, &GradientOptions::new())
        .unwrap()
        .is_empty());
    assert_eq!(
        gradient_magnitude(&scalar, &GradientOptions::new()).unwrap()[[]],
        0.0
    );
}
