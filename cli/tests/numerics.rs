//! `--accuracy`, `--boundary` and `--period`: the CLI gives exactly what the
//! library gives for the same options, and refuses bad combinations with
//! one line and no file.

mod common;

use common::*;
use ndarray_npy::write_npy;
use ndgrad::{Accuracy, AxisSpacing, Boundary, GradientOptions, Spacing};

#[test]
fn accuracy_and_boundaries_match_the_library() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(31);
    let f = rng.array(&[7, 9], -10.0, 10.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    let x = coordinates(&mut rng, 9);
    write_npy(scratch.input("x.npy"), &ndarray::Array1::from(x.clone())).unwrap();
    let period = x[8] - x[0] + 0.7;
    let x_arg = format!("--spacing=0.5,@{}", scratch.input("x.npy").display());
    let cases: Vec<(Vec<String>, GradientOptions)> = vec![
        (
            vec!["--accuracy".into(), "4".into()],
            GradientOptions::new().accuracy(Accuracy::Fourth),
        ),
        (
            vec![
                "--boundary".into(),
                "periodic".into(),
                "--spacing=0.25".into(),
            ],
            GradientOptions::new()
                .spacing(Spacing::Uniform(0.25))
                .boundary(Boundary::PERIODIC),
        ),
        (
            vec![
                x_arg.clone(),
                "--boundary=one-sided,periodic".into(),
                format!("--period={period}"),
                "--accuracy=6".into(),
            ],
            GradientOptions::new()
                .per_axis_spacing([AxisSpacing::Scalar(0.5), AxisSpacing::from(x.clone())])
                .per_axis_boundary([Boundary::OneSided, Boundary::periodic(period)])
                .accuracy(Accuracy::Sixth),
        ),
    ];
    for (args, opts) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for backend in ["reference", "cpu"] {
            let out = gradient_on(
                backend,
                &scratch.input("f.npy"),
                &scratch.output("g.npz"),
                &args,
            );
            assert_success(&out);
            assert_eq!(
                read_npz::<f64>(&scratch.output("g.npz")),
                expected(&f, opts.clone(), &["axis0", "axis1"]),
                "{args:?} on {backend}"
            );
        }
    }
}

#[test]
fn bad_numerics_options_fail_cleanly() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(32);
    write_npy(scratch.input("f.npy"), &rng.array(&[4, 6], -1.0, 1.0)).unwrap();
    let x = coordinates(&mut rng, 6);
    write_npy(scratch.input("x.npy"), &ndarray::Array1::from(x)).unwrap();
    let x_arg = format!("--spacing=1,@{}", scratch.input("x.npy").display());
    for (args, code, needle) in [
        (vec!["--accuracy", "3"], 2, "2, 4 or 6"),
        (vec!["--boundary", "reflect"], 2, "one-sided or periodic"),
        (vec!["--accuracy", "6"], 1, "at least 7"),
        (
            vec!["--boundary=periodic,periodic,periodic"],
            1,
            "3 values for 2",
        ),
        (vec!["--boundary", "periodic", &x_arg], 1, "give its period"),
        (vec!["--period", "5"], 1, "only to periodic axes"),
        (
            vec!["--boundary", "periodic", &x_arg, "--period=1,2"],
            1,
            "2 values for 1",
        ),
        (
            vec!["--boundary", "periodic", &x_arg, "--period=-40"],
            1,
            "wrap-around step",
        ),
    ] {
        let out = gradient(&scratch.input("f.npy"), &scratch.output("g.npz"), &args);
        assert_clean_failure(&out, &scratch, code, needle);
    }
}

/// complex64 and complex128 inputs: complex components and a real
/// magnitude, equal to the library's, on every backend the CLI can name
/// here; complex coordinates and `--dtype` are refused in one line.
#[test]
fn complex_inputs_give_complex_components_and_a_real_magnitude() {
    use ndarray::{ArrayD, Zip};
    use ndgrad::Complex;
    let scratch = Scratch::new();
    let mut rng = Rng::new(33);
    let (re, im) = (rng.array(&[5, 6], -3.0, 3.0), rng.array(&[5, 6], -2.0, 4.0));
    let z: ArrayD<Complex<f64>> = Zip::from(&re)
        .and(&im)
        .map_collect(|&a, &b| Complex::new(a, b));
    let z32 = z.mapv(|c| Complex::new(c.re as f32, c.im as f32));
    write_npy(scratch.input("z.npy"), &z).unwrap();
    write_npy(scratch.input("z32.npy"), &z32).unwrap();
    write_npy(
        scratch.input("zx.npy"),
        &z.slice(ndarray::s![0, ..]).to_owned(),
    )
    .unwrap();
    let opts = GradientOptions::new()
        .spacing(Spacing::Uniform(0.5))
        .backend(ndgrad::Backend::Reference);
    for backend in ["reference", "cpu"] {
        let out = gradient_on(
            backend,
            &scratch.input("z.npy"),
            &scratch.output("g.npz"),
            &["--spacing=0.5", "--magnitude"],
        );
        assert_success(&out);
        assert!(stderr(&out).contains("complex128"), "{}", stderr(&out));
        let mut npz =
            ndarray_npy::NpzReader::new(std::fs::File::open(scratch.output("g.npz")).unwrap())
                .unwrap();
        let want = ndgrad::gradient(&z, &opts).unwrap();
        for (k, w) in want.iter().enumerate() {
            let got: ArrayD<Complex<f64>> = npz.by_name(&format!("axis{k}")).unwrap();
            assert_eq!(&got, w, "axis {k} on {backend}");
        }
        let m: ArrayD<f64> = npz.by_name("magnitude").unwrap();
        assert_eq!(
            m,
            ndgrad::gradient_magnitude(&z, &opts).unwrap(),
            "{backend}"
        );

        let out = gradient_on(
            backend,
            &scratch.input("z32.npy"),
            &scratch.output("g.npz"),
            &[],
        );
        assert_success(&out);
        let mut npz =
            ndarray_npy::NpzReader::new(std::fs::File::open(scratch.output("g.npz")).unwrap())
                .unwrap();
        let got: ArrayD<Complex<f32>> = npz.by_name("axis1").unwrap();
        let want = ndgrad::gradient(
            &z32,
            &GradientOptions::new().backend(ndgrad::Backend::Reference),
        )
        .unwrap();
        assert_eq!(got, want[1], "complex64 on {backend}");
    }
    std::fs::remove_file(scratch.output("g.npz")).unwrap();
    let coords = format!("--spacing=1,@{}", scratch.input("zx.npy").display());
    for (args, input, needle) in [
        (vec![coords.as_str()], "z.npy", "a spacing must be real"),
        (vec!["--dtype", "f32"], "z.npy", "imaginary part"),
    ] {
        let out = gradient(&scratch.input(input), &scratch.output("g.npz"), &args);
        assert_clean_failure(&out, &scratch, 1, needle);
    }
}
