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
