//! The `ndgrad` binary tested as a process: inputs are written as `.npy`
//! files, the CLI is run, and its `.npz` output is compared exactly with
//! `ndgrad::gradient` on the reference backend (the same code path), or its
//! failure is checked: exit code, one line on stderr, no file left behind.

mod common;
mod safety;

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::*;
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::{write_npy, ReadDataError, ReadableElement};
use ndgrad::{f16, AxisSpacing, Backend, EdgeOrder, GradientOptions, Input, Spacing};
// ---------------------------------------------------------------- success

#[test]
fn f64_every_axis_with_default_options_matches_the_reference() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(1);
    for shape in [&[9][..], &[4, 5], &[3, 4, 5], &[2, 3, 3, 4]] {
        let f = rng.array(shape, -10.0, 10.0);
        write_npy(scratch.input("f.npy"), &f).unwrap();
        let out = gradient(&scratch.input("f.npy"), &scratch.output("g.npz"), &[]);
        assert_success(&out);
        let names: Vec<String> = (0..shape.len()).map(|k| format!("axis{k}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            read_npz::<f64>(&scratch.output("g.npz")),
            expected(&f, GradientOptions::new(), &names)
        );
        assert_eq!(scratch.outputs(), ["g.npz"]);
    }
}

#[test]
fn f32_input_gives_f32_output() {
    let scratch = Scratch::new();
    let f = Rng::new(2).array(&[6, 7], -10.0, 10.0).mapv(|v| v as f32);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    assert_success(&gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--spacing=0.5"],
    ));
    let opts = GradientOptions::new().spacing(Spacing::Uniform(0.5));
    assert_eq!(
        read_npz::<f32>(&scratch.output("g.npz")),
        expected(&f, opts, &["axis0", "axis1"])
    );
}

/// Writes random integers of type `$t` and checks the output is the f64
/// gradient of the same values.
macro_rules! check_integer_input {
    ($scratch:expr, $rng:expr, $t:ty) => {{
        let values = $rng.array(&[5, 4], -10.0, 10.0).mapv(|v| (v * 10.0) as i64);
        // [-100, 100) fits every signed type; shifted to [0, 200) for unsigned ones.
        let offset = if <$t>::MIN == 0 { 100 } else { 0 };
        let f = values.mapv(|v| (v + offset) as $t);
        write_npy($scratch.input("f.npy"), &f).unwrap();
        let out = gradient(
            &$scratch.input("f.npy"),
            &$scratch.output("g.npz"),
            &["--edge-order", "2"],
        );
        assert_success(&out);
        let as_f64 = f.mapv(|v| v as f64);
        assert!(as_f64.iter().any(|&v| v != 0.0));
        let opts = GradientOptions::new().edge_order(EdgeOrder::Second);
        assert_eq!(
            read_npz::<f64>(&$scratch.output("g.npz")),
            expected(&as_f64, opts, &["axis0", "axis1"]),
            "{}",
            stringify!($t)
        );
    }};
}

#[test]
fn integer_inputs_are_differentiated_as_f64() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(3);
    check_integer_input!(scratch, rng, i8);
    check_integer_input!(scratch, rng, i16);
    check_integer_input!(scratch, rng, i32);
    check_integer_input!(scratch, rng, i64);
    check_integer_input!(scratch, rng, u8);
    check_integer_input!(scratch, rng, u16);
    check_integer_input!(scratch, rng, u32);
    check_integer_input!(scratch, rng, u64);
}

/// A `float16` read from an `.npz` (ndarray-npy has no float16 of its own).
#[derive(Debug, Clone, Copy, PartialEq)]
struct F16(f16);

impl ReadableElement for F16 {
    fn read_to_end_exact_vec<R: std::io::Read>(
        mut reader: R,
        type_desc: &py_literal::Value,
        len: usize,
    ) -> Result<Vec<Self>, ReadDataError> {
        if *type_desc != py_literal::Value::String("<f2".into()) {
            return Err(ReadDataError::WrongDescriptor(type_desc.clone()));
        }
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        if bytes.len() != 2 * len {
            return Err(ReadDataError::ExtraBytes(
                bytes.len().saturating_sub(2 * len),
            ));
        }
        Ok(bytes
            .chunks_exact(2)
            .map(|b| F16(f16::from_bits(u16::from_le_bytes([b[0], b[1]]))))
            .collect())
    }
}

/// Random samples of an integer type over its whole range, with its minimum
/// and maximum planted at both ends of the first row.
fn integers<T: Input>(
    rng: &mut Rng,
    shape: &[usize],
    lo: f64,
    hi: f64,
    cast: fn(f64) -> T,
) -> ArrayD<T> {
    let mut f =
        ArrayD::from_shape_simple_fn(IxDyn(shape), || cast(rng.range(lo, hi + 1.0).floor()));
    let flat = f.as_slice_mut().unwrap();
    let n = flat.len();
    flat[0] = cast(lo);
    flat[n - 1] = cast(hi);
    flat[1] = cast(hi);
    f
}

/// Every integer type is passed to the library in its own type: the output
/// is what `ndgrad::gradient` (and with --magnitude `gradient_magnitude`)
/// gives for that array on the same backend, bit for bit, in float64
/// (numpy's rule for integers), at the types' extremes.
#[test]
fn compact_integer_inputs_match_the_library_exactly() {
    fn check<T>(scratch: &Scratch, f: &ArrayD<T>)
    where
        T: Input<NumpyOutput = f64> + ndarray_npy::WritableElement,
    {
        write_npy(scratch.input("f.npy"), f).unwrap();
        for backend in ["reference", "cpu"] {
            let spacing = format!("--spacing=0.5,@{}", scratch.input("x.npy").display());
            let out = gradient_on(
                backend,
                &scratch.input("f.npy"),
                &scratch.output("g.npz"),
                &["--edge-order", "2", &spacing, "--magnitude"],
            );
            assert_success(&out);
            let x = ndarray_npy::read_npy::<_, ArrayD<f64>>(scratch.input("x.npy")).unwrap();
            let opts = GradientOptions::new()
                .edge_order(EdgeOrder::Second)
                .per_axis_spacing([AxisSpacing::Scalar(0.5), AxisSpacing::coordinates(x)])
                .backend(backend.parse().unwrap());
            let mut want: Vec<(String, ArrayD<f64>)> = ["axis0", "axis1"]
                .map(String::from)
                .into_iter()
                .zip(ndgrad::gradient(f, &opts).unwrap())
                .collect();
            want.push((
                "magnitude".into(),
                ndgrad::gradient_magnitude(f, &opts).unwrap(),
            ));
            assert_eq!(
                read_npz::<f64>(&scratch.output("g.npz")),
                want,
                "{} on {backend}",
                T::NUMPY_NAME
            );
        }
    }
    let scratch = Scratch::new();
    let mut rng = Rng::new(20);
    let x = ndarray::Array1::from(coordinates(&mut rng, 7));
    write_npy(scratch.input("x.npy"), &x).unwrap();
    let shape = [6, 7];
    check(
        &scratch,
        &integers(&mut rng, &shape, 0.0, 255.0, |v| v as u8),
    );
    check(
        &scratch,
        &integers(&mut rng, &shape, 0.0, 65535.0, |v| v as u16),
    );
    check(
        &scratch,
        &integers(&mut rng, &shape, -32768.0, 32767.0, |v| v as i16),
    );
    check(
        &scratch,
        &integers(
            &mut rng,
            &shape,
            f64::from(i32::MIN),
            f64::from(i32::MAX),
            |v| v as i32,
        ),
    );
    check(
        &scratch,
        &integers(&mut rng, &shape, -128.0, 127.0, |v| v as i8),
    );
    check(
        &scratch,
        &integers(&mut rng, &shape, 0.0, f64::from(u32::MAX), |v| v as u32),
    );
    // The f64 range's casts saturate at the ends: MIN and MAX.
    check(
        &scratch,
        &integers(&mut rng, &shape, i64::MIN as f64, i64::MAX as f64, |v| {
            v as i64
        }),
    );
    check(
        &scratch,
        &integers(&mut rng, &shape, 0.0, u64::MAX as f64, |v| v as u64),
    );
}

/// int64 and uint64 values beyond 2⁵³ give numpy's float64 output: numpy
/// converts the array with astype(float64), rounding each value to nearest,
/// ties to even, and then differentiates. The expected values are worked
/// out from that rule, and differ from the exact derivatives.
#[test]
fn int64_beyond_two_to_the_53_gives_numpys_float64() {
    fn check<T: ndarray_npy::WritableElement + Clone>(
        scratch: &Scratch,
        values: [T; 3],
        want: [f64; 3],
    ) {
        let path = scratch.input("f.npy");
        write_npy(&path, &ndarray::arr1(&values)).unwrap();
        for backend in ["reference", "cpu", "auto"] {
            let out = gradient_on(backend, &path, &scratch.output("g.npz"), &[]);
            assert_success(&out);
            let got = read_npz::<f64>(&scratch.output("g.npz"));
            assert_eq!(got.len(), 1, "{backend}");
            assert_eq!(got[0].1.as_slice().unwrap(), want, "{backend}");
        }
    }
    let scratch = Scratch::new();
    let p53 = 1i64 << 53;
    // 2⁵³, 2⁵³ + 1 → 2⁵³ and 2⁵³ + 3 → 2⁵³ + 4 (exact: [1, 1.5, 2]).
    check(&scratch, [p53, p53 + 1, p53 + 3], [0.0, 2.0, 4.0]);
    // All three round to 2⁶³ (the f64 spacing below it is 1024).
    check(
        &scratch,
        [i64::MAX - 2, i64::MAX - 1, i64::MAX],
        [0.0, 0.0, 0.0],
    );
    // The f64 spacing below 2⁶⁴ is 2048: u64::MAX and u64::MAX − 1000 round
    // to 2⁶⁴, u64::MAX − 4000 to 2⁶⁴ − 4096 (exact: [−1000, −2000, −3000]).
    check(
        &scratch,
        [u64::MAX, u64::MAX - 1000, u64::MAX - 4000],
        [0.0, -2048.0, -4096.0],
    );
}

/// float16 input is accepted and gives float16 output (numpy's rule), the
/// magnitude included, equal to the library's.
#[test]
fn float16_input_gives_float16_output() {
    let scratch = Scratch::new();
    let f = Rng::new(21).array(&[5, 6], -10.0, 10.0).mapv(f16::from_f64);
    let bytes: Vec<u8> = f.iter().flat_map(|v| v.to_bits().to_le_bytes()).collect();
    fs::write(
        scratch.input("f.npy"),
        raw_npy("<f2", false, &[5, 6], &bytes),
    )
    .unwrap();
    for backend in ["reference", "cpu"] {
        let out = gradient_on(
            backend,
            &scratch.input("f.npy"),
            &scratch.output("g.npz"),
            &["--magnitude", "--axis=-1,0"],
        );
        assert_success(&out);
        assert!(stderr(&out).contains("(float16,"), "{}", stderr(&out));
        let opts = GradientOptions::new()
            .axes([-1, 0])
            .backend(backend.parse().unwrap());
        let mut want: Vec<(String, ArrayD<F16>)> = ["axis1", "axis0"]
            .map(String::from)
            .into_iter()
            .zip(
                ndgrad::gradient(&f, &opts)
                    .unwrap()
                    .into_iter()
                    .map(|g| g.mapv(F16)),
            )
            .collect();
        want.push((
            "magnitude".into(),
            ndgrad::gradient_magnitude(&f, &opts).unwrap().mapv(F16),
        ));
        assert_eq!(read_npz::<F16>(&scratch.output("g.npz")), want, "{backend}");
    }
}

/// `--magnitude` adds `magnitude`, in the components' dtype, after them.
#[test]
fn magnitude_is_added_after_the_components_in_their_dtype() {
    let scratch = Scratch::new();
    let f = Rng::new(22)
        .array(&[4, 5, 6], -10.0, 10.0)
        .mapv(|v| v as f32);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--magnitude", "--axis=2,0", "--spacing=0.5"],
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("axis2, axis0, magnitude (float32,"),
        "{}",
        stderr(&out)
    );
    let opts = GradientOptions::new()
        .axes([2, 0])
        .spacing(Spacing::Uniform(0.5))
        .backend(Backend::Reference);
    let mut want = expected(&f, opts.clone(), &["axis2", "axis0"]);
    want.push((
        "magnitude".into(),
        ndgrad::gradient_magnitude(&f, &opts).unwrap(),
    ));
    assert_eq!(read_npz::<f32>(&scratch.output("g.npz")), want);
}

/// `--dtype` overrides numpy's output type, for integer, float16 and float
/// inputs alike; anything but f32 or f64 is a usage error.
#[test]
fn dtype_chooses_the_output_type() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(23);
    let opts = GradientOptions::new().backend(Backend::Reference);
    let names = ["axis0", "axis1"].map(String::from);

    let ct = integers(&mut rng, &[5, 6], 0.0, 65535.0, |v| v as u16);
    write_npy(scratch.input("f.npy"), &ct).unwrap();
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--dtype", "f32", "--magnitude"],
    );
    assert_success(&out);
    let mut want: Vec<(String, ArrayD<f32>)> = names
        .clone()
        .into_iter()
        .zip(ndgrad::gradient_as::<f32, _, _, _>(&ct, &opts).unwrap())
        .collect();
    want.push((
        "magnitude".into(),
        ndgrad::gradient_magnitude_as::<f32, _, _, _>(&ct, &opts).unwrap(),
    ));
    assert_eq!(read_npz::<f32>(&scratch.output("g.npz")), want);

    let f = rng.array(&[5, 6], -10.0, 10.0).mapv(|v| v as f32);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    assert_success(&gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--dtype=f64"],
    ));
    let want: Vec<(String, ArrayD<f64>)> = names
        .clone()
        .into_iter()
        .zip(ndgrad::gradient_as::<f64, _, _, _>(&f, &opts).unwrap())
        .collect();
    assert_eq!(read_npz::<f64>(&scratch.output("g.npz")), want);

    let h = rng.array(&[5, 6], -10.0, 10.0).mapv(f16::from_f64);
    let bytes: Vec<u8> = h.iter().flat_map(|v| v.to_bits().to_le_bytes()).collect();
    fs::write(
        scratch.input("f.npy"),
        raw_npy("<f2", false, &[5, 6], &bytes),
    )
    .unwrap();
    assert_success(&gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--dtype", "f32"],
    ));
    let want: Vec<(String, ArrayD<f32>)> = names
        .into_iter()
        .zip(ndgrad::gradient_as::<f32, _, _, _>(&h, &opts).unwrap())
        .collect();
    assert_eq!(read_npz::<f32>(&scratch.output("g.npz")), want);

    fs::remove_file(scratch.output("g.npz")).unwrap();
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--dtype", "f16"],
    );
    assert_clean_failure(&out, &scratch, 2, "f32 or f64");
}

#[test]
fn big_endian_inputs_are_read() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(4);
    let f = rng.array(&[3, 5], -10.0, 10.0);
    let bytes: Vec<u8> = f.iter().flat_map(|v| v.to_be_bytes()).collect();
    fs::write(
        scratch.input("f.npy"),
        raw_npy(">f8", false, &[3, 5], &bytes),
    )
    .unwrap();
    assert_success(&gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &[],
    ));
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(&f, GradientOptions::new(), &["axis0", "axis1"])
    );

    let ints = rng.array(&[7], -10.0, 10.0).mapv(|v| (v * 1000.0) as i32);
    let bytes: Vec<u8> = ints.iter().flat_map(|v| v.to_be_bytes()).collect();
    fs::write(scratch.input("i.npy"), raw_npy(">i4", false, &[7], &bytes)).unwrap();
    assert_success(&gradient(
        &scratch.input("i.npy"),
        &scratch.output("g.npz"),
        &[],
    ));
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(&ints.mapv(f64::from), GradientOptions::new(), &["axis0"])
    );
}

#[test]
fn fortran_order_input_is_read_in_its_own_order() {
    let scratch = Scratch::new();
    let c_order = Rng::new(5).array(&[3, 4, 5], -10.0, 10.0);
    let mut fortran = ArrayD::zeros(IxDyn(&[3, 4, 5]).f());
    fortran.assign(&c_order);
    write_npy(scratch.input("f.npy"), &fortran).unwrap();
    let bytes = fs::read(scratch.input("f.npy")).unwrap();
    let header = String::from_utf8_lossy(&bytes[..128]);
    assert!(header.contains("'fortran_order': True"), "{header}");
    assert_success(&gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--axis=2,0"],
    ));
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(
            &c_order,
            GradientOptions::new().axes([2, 0]),
            &["axis2", "axis0"]
        )
    );

    let f32_fortran = fortran.mapv(|v| v as f32);
    assert!(f32_fortran.t().is_standard_layout());
    write_npy(scratch.input("f32.npy"), &f32_fortran).unwrap();
    assert_success(&gradient(
        &scratch.input("f32.npy"),
        &scratch.output("g.npz"),
        &[],
    ));
    assert_eq!(
        read_npz::<f32>(&scratch.output("g.npz")),
        expected(
            &c_order.mapv(|v| v as f32),
            GradientOptions::new(),
            &["axis0", "axis1", "axis2"]
        )
    );
}

#[test]
fn negative_scalar_spacing_applies_to_every_axis() {
    let scratch = Scratch::new();
    let f = Rng::new(6).array(&[4, 6], -10.0, 10.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    assert_success(&gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--spacing=-1.5"],
    ));
    let opts = GradientOptions::new().spacing(Spacing::Uniform(-1.5));
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(&f, opts, &["axis0", "axis1"])
    );
}

#[test]
fn per_axis_scalar_spacing_follows_the_axis_order() {
    let scratch = Scratch::new();
    let f = Rng::new(7).array(&[4, 5, 6], -10.0, 10.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--spacing=0.5,-2,3e-1", "--axis=-1,0,1"],
    );
    assert_success(&out);
    let opts = GradientOptions::new().axes([-1, 0, 1]).per_axis_spacing([
        0.5.into(),
        (-2.0).into(),
        0.3.into(),
    ]);
    let got = read_npz::<f64>(&scratch.output("g.npz"));
    assert_eq!(got, expected(&f, opts, &["axis2", "axis0", "axis1"]));
}

#[test]
fn coordinate_files_mixed_with_scalars_and_second_order_edges() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(8);
    let f = rng.array(&[5, 7], -10.0, 10.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    let x = coordinates(&mut rng, 7);
    write_npy(scratch.input("x.npy"), &ndarray::Array1::from(x.clone())).unwrap();
    let x_arg = format!("--spacing=@{},0.25", scratch.input("x.npy").display());
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &[&x_arg, "--axis=-1,0", "--edge-order", "2"],
    );
    assert_success(&out);
    let opts = GradientOptions::new()
        .axes([-1, 0])
        .edge_order(EdgeOrder::Second)
        .per_axis_spacing([AxisSpacing::from(x), AxisSpacing::Scalar(0.25)]);
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(&f, opts, &["axis1", "axis0"])
    );
}

#[test]
fn coordinates_of_any_numeric_dtype_are_converted_to_f64() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(9);
    let f = rng.array(&[6, 4], -10.0, 10.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    // Decreasing f32 coordinates for axis 0, integer coordinates for axis 1.
    let x: Vec<f32> = coordinates(&mut rng, 6)
        .iter()
        .rev()
        .map(|&v| v as f32)
        .collect();
    write_npy(scratch.input("x.npy"), &ndarray::Array1::from(x.clone())).unwrap();
    let y = ndarray::Array1::from(vec![0i16, 3, 4, 9]);
    write_npy(scratch.input("y.npy"), &y).unwrap();
    let spacing = format!(
        "--spacing=@{},@{}",
        scratch.input("x.npy").display(),
        scratch.input("y.npy").display()
    );
    assert_success(&gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &[&spacing],
    ));
    let opts = GradientOptions::new().per_axis_spacing([
        AxisSpacing::from(x.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()),
        AxisSpacing::from(y.mapv(f64::from)),
    ]);
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(&f, opts, &["axis0", "axis1"])
    );
}

#[test]
fn zero_dimensional_input_gives_an_empty_archive() {
    let scratch = Scratch::new();
    fs::write(
        scratch.input("f.npy"),
        raw_npy("<f8", false, &[], &2.5f64.to_le_bytes()),
    )
    .unwrap();
    let out = gradient(&scratch.input("f.npy"), &scratch.output("g.npz"), &[]);
    assert_success(&out);
    assert!(read_npz::<f64>(&scratch.output("g.npz")).is_empty());
}

/// Runs `ndgrad gradient` on f32 input with `--backend NAME` (or the default
/// when `None`) and checks the result against the reference: another backend
/// may round differently, so f32 within 8 ulp of max|f|/h (h = 1).
fn check_backend_against_reference(backend: Option<&str>) -> Result<(), Output> {
    let scratch = Scratch::new();
    let f = Rng::new(10).array(&[16, 9], -10.0, 10.0).mapv(|v| v as f32);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    let (input, output) = (scratch.input("f.npy"), scratch.output("g.npz"));
    let mut args = vec![
        OsStr::new("gradient"),
        input.as_os_str(),
        OsStr::new("-o"),
        output.as_os_str(),
    ];
    if let Some(backend) = backend {
        args.extend([OsStr::new("--backend"), OsStr::new(backend)]);
    }
    let out = ndgrad(args);
    if !out.status.success() {
        assert_clean_failure(&out, &scratch, 1, "available");
        return Err(out);
    }
    assert_success(&out);
    let want = expected(&f, GradientOptions::new(), &["axis0", "axis1"]);
    let got = read_npz::<f32>(&scratch.output("g.npz"));
    let tolerance = 8.0 * f32::EPSILON * f.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for ((got_name, got), (want_name, want)) in got.iter().zip(&want) {
        assert_eq!(got_name, want_name);
        let worst = (got - want).iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            worst <= tolerance,
            "{backend:?} {got_name}: {worst} > {tolerance}"
        );
    }
    assert_eq!(got.len(), want.len());
    Ok(())
}

#[test]
fn the_default_backend_agrees_with_the_reference() {
    check_backend_against_reference(None).expect("the default backend always runs");
}

#[test]
fn the_cpu_and_gpu_backends_agree_with_the_reference() {
    check_backend_against_reference(Some("cpu")).expect("the CPU backend always runs");
    // The GPU backend may be missing (no adapter), but then it fails cleanly,
    // and under NDGRAD_REQUIRE_GPU=1 (as in CI) it must run.
    let gpu = check_backend_against_reference(Some("gpu"));
    if std::env::var_os("NDGRAD_REQUIRE_GPU").is_some_and(|v| v == "1") {
        gpu.map_err(|out| stderr(&out))
            .expect("NDGRAD_REQUIRE_GPU=1 but --backend gpu failed");
    }
}

#[test]
fn quiet_success_prints_nothing_and_replaces_an_existing_output() {
    let scratch = Scratch::new();
    let f = Rng::new(11).array(&[5], -10.0, 10.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    fs::write(scratch.output("g.npz"), b"old contents").unwrap();
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--quiet"],
    );
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(&f, GradientOptions::new(), &["axis0"])
    );
    assert_eq!(scratch.outputs(), ["g.npz"]);
}

#[test]
fn help_prints_everything_and_succeeds() {
    for args in [
        &["--help"][..],
        &["gradient", "--help"],
        &["help", "gradient"],
    ] {
        let out = ndgrad(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("Usage:") && help.lines().count() > 5,
            "{help}"
        );
    }
    let help = String::from_utf8_lossy(&ndgrad(["gradient", "--help"]).stdout).into_owned();
    for option in [
        "--output",
        "--spacing",
        "--axis",
        "--edge-order",
        "--backend",
    ] {
        assert!(help.contains(option), "{option} missing from help");
    }
}

// ---------------------------------------------------------------- failures

/// A scratch directory holding a random f64 array of `shape` as `f.npy`.
fn scratch_with_input(shape: &[usize]) -> Scratch {
    let scratch = Scratch::new();
    write_npy(
        scratch.input("f.npy"),
        &Rng::new(99).array(shape, -10.0, 10.0),
    )
    .unwrap();
    scratch
}

/// Runs `gradient f.npy -o out/g.npz EXTRA` in `scratch`.
fn run_on(scratch: &Scratch, extra: &[&str]) -> Output {
    gradient(&scratch.input("f.npy"), &scratch.output("g.npz"), extra)
}

#[test]
fn missing_input_fails_cleanly() {
    let scratch = Scratch::new();
    let out = gradient(&scratch.input("absent.npy"), &scratch.output("g.npz"), &[]);
    assert_clean_failure(&out, &scratch, 1, "absent.npy");
}

#[test]
fn random_bytes_fail_cleanly() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(12);
    for len in [0, 3, 100, 1000] {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        fs::write(scratch.input("f.npy"), &bytes).unwrap();
        assert_clean_failure(&run_on(&scratch, &[]), &scratch, 1, "not a .npy file");
        // The same garbage behind a valid magic string and version.
        let mut bytes_after_magic = b"\x93NUMPY\x01\x00".to_vec();
        bytes_after_magic.extend_from_slice(&bytes);
        fs::write(scratch.input("f.npy"), &bytes_after_magic).unwrap();
        assert_clean_failure(&run_on(&scratch, &[]), &scratch, 1, "cannot read input");
    }
}

/// `ndgrad gradient /dev/stdin -o OUTPUT` with `bytes` piped in.
#[cfg(unix)]
fn gradient_of_stdin(bytes: &[u8], output: &Path) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ndgrad"))
        .args(["gradient", "/dev/stdin", "--backend", "reference", "-o"])
        .arg(output)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A reader that stops early closes the pipe: a failed write is its answer.
    let _ = child.stdin.take().unwrap().write_all(bytes);
    child.wait_with_output().unwrap()
}

/// A pipe has no length to check the header against: the data is counted as
/// it arrives.
#[test]
#[cfg(unix)]
fn a_piped_input_is_read_and_checked_for_truncation() {
    let scratch = Scratch::new();
    let f = Rng::new(15).array(&[4, 5], -10.0, 10.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    let whole = fs::read(scratch.input("f.npy")).unwrap();
    assert_success(&gradient_of_stdin(&whole, &scratch.output("g.npz")));
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(&f, GradientOptions::new(), &["axis0", "axis1"])
    );
    fs::remove_file(scratch.output("g.npz")).unwrap();
    let out = gradient_of_stdin(&whole[..whole.len() - 8], &scratch.output("g.npz"));
    assert_clean_failure(&out, &scratch, 1, "needs 160 bytes, but only 152 follow");
}

#[test]
fn truncated_files_fail_cleanly() {
    let scratch = Scratch::new();
    write_npy(
        scratch.input("whole.npy"),
        &Rng::new(13).array(&[4, 5], -10.0, 10.0),
    )
    .unwrap();
    let whole = fs::read(scratch.input("whole.npy")).unwrap();
    // Inside the preamble, inside the header, right after it, inside the data, one byte short.
    for cut in [7, 9, 40, 128, 200, whole.len() - 1] {
        fs::write(scratch.input("f.npy"), &whole[..cut]).unwrap();
        let needle = if cut <= 128 {
            "truncated file"
        } else {
            "truncated data"
        };
        let needle = if cut == 128 { "truncated data" } else { needle };
        assert_clean_failure(&run_on(&scratch, &[]), &scratch, 1, needle);
    }
}

#[test]
fn unsupported_dtypes_are_named() {
    let scratch = Scratch::new();
    for (descr, size, name) in [
        ("|b1", 1, "bool"),
        ("<c32", 32, "complex256"),
        ("|O", 8, "object"),
        ("<U3", 12, "str"),
    ] {
        fs::write(
            scratch.input("f.npy"),
            raw_npy(descr, false, &[4], &vec![1u8; 4 * size]),
        )
        .unwrap();
        let out = run_on(&scratch, &[]);
        assert_clean_failure(&out, &scratch, 1, &format!("unsupported dtype {name}"));
        if name == "bool" {
            // numpy.gradient refuses it too, and its reason is given.
            assert!(
                stderr(&out).contains("numpy boolean subtract, the `-` operator, is not supported"),
                "{}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn bad_edge_order_is_a_usage_error() {
    let scratch = scratch_with_input(&[5, 5]);
    for order in ["0", "3", "two", ""] {
        let arg = format!("--edge-order={order}");
        assert_clean_failure(&run_on(&scratch, &[&arg]), &scratch, 2, "edge order");
    }
}

#[test]
fn bad_axes_fail_cleanly() {
    let scratch = scratch_with_input(&[5, 5]);
    assert_clean_failure(
        &run_on(&scratch, &["--axis=2"]),
        &scratch,
        1,
        "axis 2 is out of range",
    );
    assert_clean_failure(
        &run_on(&scratch, &["--axis=-3"]),
        &scratch,
        1,
        "axis -3 is out of range",
    );
    assert_clean_failure(
        &run_on(&scratch, &["--axis=0,-2"]),
        &scratch,
        1,
        "axis 0 is requested more than once",
    );
    assert_clean_failure(&run_on(&scratch, &["--axis=x"]), &scratch, 2, "--axis");
    assert_clean_failure(&run_on(&scratch, &["--axis=0,,1"]), &scratch, 2, "--axis");
}

#[test]
fn wrong_spacing_count_fails_cleanly() {
    let scratch = scratch_with_input(&[5, 5]);
    assert_clean_failure(
        &run_on(&scratch, &["--spacing=1,2,3"]),
        &scratch,
        1,
        "3 spacing items were given for 2 requested axes",
    );
    assert_clean_failure(
        &run_on(&scratch, &["--spacing=1,2", "--axis=1"]),
        &scratch,
        1,
        "2 spacing items were given for 1 requested axis:",
    );
}

#[test]
fn bad_spacing_items_are_usage_errors() {
    let scratch = scratch_with_input(&[5, 5]);
    for spacing in [
        "--spacing=abc",
        "--spacing=1,,2",
        "--spacing=@",
        "--spacing=",
    ] {
        assert_clean_failure(&run_on(&scratch, &[spacing]), &scratch, 2, "--spacing");
    }
}

#[test]
fn bad_coordinate_files_fail_cleanly() {
    let scratch = scratch_with_input(&[5, 6]);
    let mut rng = Rng::new(14);
    let at = |name: &str| format!("--spacing=@{},1", scratch.input(name).display());

    write_npy(
        scratch.input("short.npy"),
        &ndarray::Array1::from(coordinates(&mut rng, 4)),
    )
    .unwrap();
    assert_clean_failure(
        &run_on(&scratch, &[&at("short.npy")]),
        &scratch,
        1,
        "the coordinates for axis 0 have 4 elements, but the axis has 5",
    );

    write_npy(scratch.input("flat.npy"), &rng.array(&[5, 1], -10.0, 10.0)).unwrap();
    assert_clean_failure(
        &run_on(&scratch, &[&at("flat.npy")]),
        &scratch,
        1,
        "coordinates must be 1-D",
    );

    assert_clean_failure(
        &run_on(&scratch, &[&at("absent.npy")]),
        &scratch,
        1,
        "absent.npy",
    );

    fs::write(
        scratch.input("bool.npy"),
        raw_npy("|b1", false, &[5], &[1; 5]),
    )
    .unwrap();
    assert_clean_failure(&run_on(&scratch, &[&at("bool.npy")]), &scratch, 1, "bool");
}

#[test]
fn an_axis_too_short_for_the_edge_order_fails_cleanly() {
    let scratch = scratch_with_input(&[2, 6]);
    let out = run_on(&scratch, &["--edge-order", "2"]);
    assert_clean_failure(
        &out,
        &scratch,
        1,
        "at least edge_order + 1 = 3 elements are required",
    );
    let out = run_on(&scratch, &["--axis=1", "--spacing=0.5"]);
    assert!(
        out.status.success(),
        "the long axis alone is fine: {}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_backend_is_a_usage_error() {
    let scratch = scratch_with_input(&[5, 5]);
    let run = |backend: &str| {
        ndgrad([
            OsStr::new("gradient"),
            scratch.input("f.npy").as_os_str(),
            OsStr::new("-o"),
            scratch.output("g.npz").as_os_str(),
            OsStr::new("--backend"),
            OsStr::new(backend),
        ])
    };
    assert_clean_failure(&run("tpu"), &scratch, 2, "unknown backend 'tpu'");
}

#[test]
fn a_failure_leaves_an_existing_output_untouched() {
    let scratch = scratch_with_input(&[5, 5]);
    fs::write(scratch.output("g.npz"), b"old contents").unwrap();
    let out = run_on(&scratch, &["--axis=7"]);
    assert_clean_failure_leaving(&out, &scratch, 1, "out of range", &["g.npz"]);
    assert_eq!(fs::read(scratch.output("g.npz")).unwrap(), b"old contents");
}

#[test]
fn an_unwritable_destination_fails_cleanly() {
    let scratch = scratch_with_input(&[5]);
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("missing/g.npz"),
        &[],
    );
    assert_clean_failure(&out, &scratch, 1, "its directory does not exist");
    fs::create_dir(scratch.output("dir.npz")).unwrap();
    let out = gradient(&scratch.input("f.npy"), &scratch.output("dir.npz"), &[]);
    assert_clean_failure_leaving(&out, &scratch, 1, "it is a directory", &["dir.npz"]);
}

#[test]
fn argument_errors_are_one_line_with_exit_code_2() {
    let scratch = scratch_with_input(&[5]);
    let input = scratch.input("f.npy");
    let input = input.to_str().unwrap();
    for (args, needle) in [
        (vec![], "a subcommand is required"),
        (vec!["frobnicate"], "unrecognized subcommand"),
        (vec!["gradient", input], "--output"),
        (vec!["gradient", "-o", "x.npz"], "INPUT"),
        (vec!["gradient", input, "-o", "x.npz", "--bogus"], "--bogus"),
    ] {
        assert_clean_failure(&ndgrad(&args), &scratch, 2, needle);
    }
}

/// `ndgrad bench` reports the fused-kernel, per-axis, magnitude, u16-input
/// and into-buffers rows beside the plain ones, each checked against the
/// reference (a measured row has a max error), with the spread of its runs,
/// and writes them as JSON. The GPU rows are
/// required under NDGRAD_REQUIRE_GPU=1 (as in CI).
#[test]
fn bench_reports_the_fused_magnitude_and_compact_input_rows() {
    let scratch = Scratch::new();
    let json = scratch.input("bench.json");
    let out = ndgrad([
        OsStr::new("bench"),
        OsStr::new("--shape=12,10,9"),
        OsStr::new("--dtype=f32"),
        OsStr::new("--edge-order=2"),
        OsStr::new("--spacing=coords"),
        OsStr::new("--backends=gpu,cpu"),
        OsStr::new("--repeat=1"),
        OsStr::new("--json"),
        json.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        stderr(&out)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("gpu u16 end to end") || !table.contains("gpu kernel"),
        "{table}"
    );
    let rows: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    let row = |backend: &str| rows.iter().find(|r| r["backend"] == backend);
    let measured = |backend: &str| {
        let r = row(backend).unwrap_or_else(|| panic!("no {backend} row in {rows:?}"));
        assert!(r["median_s"].as_f64().unwrap() > 0.0, "{r}");
        // Checked against the reference within the bench's tolerance (a
        // mismatch fails the command); u16 rows' values reach 60,000.
        assert!(r["max_error"].as_f64().unwrap() < 0.1, "{r}");
        r.clone()
    };
    for backend in ["cpu", "cpu into", "cpu magnitude", "cpu u16"] {
        // Timed rows report their fastest and slowest run around the median.
        let r = measured(backend);
        let [min, median, max] = ["min_s", "median_s", "max_s"].map(|k| r[k].as_f64().unwrap());
        assert!(min <= median && median <= max, "{r}");
    }
    assert!(
        row("cpu into").unwrap()["note"]
            .as_str()
            .unwrap()
            .ends_with("x memcpy bandwidth"),
        "{rows:?}"
    );
    for backend in ["cpu memcpy", "cpu fresh pages"] {
        let r = row(backend).unwrap_or_else(|| panic!("no {backend} row in {rows:?}"));
        assert!(r["min_s"].as_f64().unwrap() > 0.0, "{r}");
    }
    let gpu_required = std::env::var_os("NDGRAD_REQUIRE_GPU").is_some_and(|v| v == "1");
    if gpu_required || row("gpu end to end").is_some_and(|r| r["median_s"].is_number()) {
        let kernel = measured("gpu kernel");
        assert!(
            kernel["note"].as_str().unwrap().starts_with("fused;"),
            "{kernel}"
        );
        let per_axis = measured("gpu per-axis kernel");
        assert!(
            per_axis["note"].as_str().unwrap().starts_with("per-axis;"),
            "{per_axis}"
        );
        for backend in ["gpu end to end", "gpu magnitude", "gpu u16 end to end"] {
            measured(backend);
        }
        let u16_row = measured("gpu u16 end to end");
        assert!(u16_row["note"]
            .as_str()
            .unwrap()
            .starts_with("speed vs float input: "));
    }
}

/// The cupy and torch rows, through stand-ins for both libraries
/// (`cli/tests/fake_peers`, numpy underneath): the bench finds them, hands
/// them the case (coordinates, second-order edges), checks what they return
/// against the reference and times them device-resident. Needs python3 with
/// numpy; without it the peers are skipped and so is this check.
#[test]
fn bench_runs_cupy_and_torch_rows_through_python() {
    let scratch = Scratch::new();
    let json = scratch.input("bench.json");
    let fakes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_peers");
    let out = Command::new(env!("CARGO_BIN_EXE_ndgrad"))
        .args(["bench", "--shape=9,8,7", "--dtype=f64", "--edge-order=2"])
        .args([
            "--spacing=coords",
            "--backends=cpu,numpy,cupy,torch",
            "--repeat=1",
            "--json",
        ])
        .arg(&json)
        .env("PYTHONPATH", &fakes)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        stderr(&out)
    );
    let rows: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    let row = |backend: &str| rows.iter().find(|r| r["backend"] == backend).cloned();
    if row("numpy").is_none() {
        eprintln!("skipping: python3 with numpy is not available");
        return;
    }
    for backend in ["cupy", "torch"] {
        let r = row(backend).unwrap_or_else(|| panic!("no {backend} row in {rows:?}"));
        assert!(r["median_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["max_error"].as_f64().unwrap() < 1e-9, "{r}");
        assert!(
            r["note"]
                .as_str()
                .unwrap()
                .starts_with("device-resident on "),
            "{r}"
        );
    }
}
