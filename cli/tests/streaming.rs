//! Streaming: a `.npy` read in slabs (along axis 0 in C order, along the
//! last axis in Fortran order) gives, bit for bit, what the in-memory path
//! gives, at any slab size, for every spacing form, edge order and accuracy,
//! in the same byte order and memory order; an input many times the memory
//! ceiling streams with its peak RSS under the ceiling; a job that cannot
//! fit fails with one line.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::write_npy;
use ndgrad::Complex;

/// The arrays of two `.npz` files are the same, bit for bit (NaNs included).
fn assert_same_bits(a: &Path, b: &Path, what: &str) {
    let (a, b) = (read_npz::<f64>(a), read_npz::<f64>(b));
    assert_eq!(a.len(), b.len(), "{what}");
    for ((na, xa), (nb, xb)) in a.iter().zip(&b) {
        assert_eq!(na, nb, "{what}");
        assert_eq!(xa.shape(), xb.shape(), "{what}: {na}");
        let same = xa.iter().zip(xb).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{what}: {na} differs");
    }
}

#[test]
fn tiny_slabs_match_the_in_memory_path_for_every_form() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(14);
    let f = rng.array(&[11, 8, 7], -10.0, 10.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    let x0 = ndarray::Array1::from(coordinates(&mut rng, 11));
    let x2 = ndarray::Array1::from(coordinates(&mut rng, 7));
    write_npy(scratch.input("x0.npy"), &x0).unwrap();
    write_npy(scratch.input("x2.npy"), &x2).unwrap();
    let coords = format!(
        "--spacing=@{},0.5,@{}",
        scratch.input("x0.npy").display(),
        scratch.input("x2.npy").display()
    );
    let spacings: Vec<Vec<String>> = vec![
        vec![],
        vec!["--spacing=0.25".into()],
        vec![coords],
        vec![
            "--axis=2,0".into(),
            format!("--spacing=0.5,@{}", scratch.input("x0.npy").display()),
            "--magnitude".into(),
        ],
        vec![
            "--boundary=one-sided,periodic,periodic".into(),
            "--magnitude".into(),
        ],
    ];
    let forms: [&[&str]; 5] = [
        &["--edge-order", "1"],
        &["--edge-order", "2"],
        &["--accuracy", "4"],
        &["--accuracy", "6"],
        &["--accuracy", "4", "--edge-order", "2"],
    ];
    for backend in ["cpu", "reference"] {
        for spacing in &spacings {
            for form in forms {
                let mut args: Vec<&str> = spacing.iter().map(String::as_str).collect();
                args.extend_from_slice(form);
                let whole = scratch.output("whole.npz");
                let out = gradient_on(backend, &scratch.input("f.npy"), &whole, &args);
                assert_success(&out);
                for planes in ["1", "2", "3", "20"] {
                    let streamed = scratch.output("streamed.npz");
                    let mut streaming = args.clone();
                    streaming.extend_from_slice(&["--slab-planes", planes]);
                    let out = gradient_on(backend, &scratch.input("f.npy"), &streamed, &streaming);
                    assert_success(&out);
                    assert_same_bits(&whole, &streamed, &format!("{backend} {args:?} {planes}"));
                }
            }
        }
    }
}

#[test]
fn streaming_keeps_dtypes_and_complex_values() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(15);
    let f = rng.array(&[9, 6], -100.0, 100.0);
    let ints: ArrayD<i16> = f.mapv(|v| v as i16);
    let singles: ArrayD<f32> = f.mapv(|v| v as f32);
    let complex: ArrayD<Complex<f64>> = f.mapv(|v| Complex::new(v, -0.5 * v));
    write_npy(scratch.input("i.npy"), &ints).unwrap();
    write_npy(scratch.input("s.npy"), &singles).unwrap();
    write_npy(scratch.input("c.npy"), &complex).unwrap();
    for (name, extra) in [
        ("i.npy", &[][..]),
        ("i.npy", &["--dtype", "f32"][..]),
        ("s.npy", &["--magnitude"][..]),
        ("c.npy", &["--magnitude"][..]),
    ] {
        let whole = scratch.output("whole.npz");
        let streamed = scratch.output("streamed.npz");
        assert_success(&gradient_on("cpu", &scratch.input(name), &whole, extra));
        let mut args = extra.to_vec();
        args.extend_from_slice(&["--slab-planes", "2"]);
        assert_success(&gradient_on("cpu", &scratch.input(name), &streamed, &args));
        // Same archive entries, same dtypes, same bytes of data.
        assert_eq!(
            npz_entries(&whole),
            npz_entries(&streamed),
            "{name} {extra:?}"
        );
    }
}

/// Each entry of an `.npz` archive: its name and its `.npy` bytes.
fn npz_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            (entry.name().to_string(), bytes)
        })
        .collect()
}

/// Streams `input` with every slab size in `planes` and checks that each
/// archive's entries are byte for byte the in-memory run's (headers
/// included: dtype, byte order, memory order); returns those entries.
fn assert_streams_as_in_memory(
    scratch: &Scratch,
    input: &Path,
    args: &[&str],
    planes: &[&str],
) -> Vec<(String, Vec<u8>)> {
    let whole = scratch.output("whole.npz");
    assert_success(&gradient_on("cpu", input, &whole, args));
    let expected = npz_entries(&whole);
    for planes in planes {
        let streamed = scratch.output("streamed.npz");
        let mut streaming = args.to_vec();
        streaming.extend_from_slice(&["--slab-planes", planes]);
        assert_success(&gradient_on("cpu", input, &streamed, &streaming));
        assert!(
            npz_entries(&streamed) == expected,
            "{input:?} {args:?} with slabs of {planes} planes"
        );
    }
    expected
}

/// The header of a `.npy` entry, as text.
fn header_of(entry: &[u8]) -> String {
    let len = usize::from(u16::from_le_bytes([entry[8], entry[9]]));
    String::from_utf8_lossy(&entry[10..10 + len]).into_owned()
}

#[test]
fn big_endian_inputs_stream_into_big_endian_outputs() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(19);
    let shape = [9, 5, 4];
    let values = rng.vec(9 * 5 * 4, -50.0, 50.0);
    let f4: Vec<u8> = values
        .iter()
        .flat_map(|&v| (v as f32).to_be_bytes())
        .collect();
    let f8: Vec<u8> = values.iter().flat_map(|&v| v.to_be_bytes()).collect();
    let c8: Vec<u8> = values
        .iter()
        .flat_map(|&v| [(v as f32).to_be_bytes(), (-0.5 * v as f32).to_be_bytes()])
        .flatten()
        .collect();
    for (name, descr, data, fortran, magnitude_descr) in [
        ("f4.npy", ">f4", &f4, false, ">f4"),
        ("f8.npy", ">f8", &f8, false, ">f8"),
        ("c8.npy", ">c8", &c8, false, ">f4"),
        ("f4f.npy", ">f4", &f4, true, ">f4"),
    ] {
        let input = scratch.input(name);
        std::fs::write(&input, raw_npy(descr, fortran, &shape, data)).unwrap();
        let entries = assert_streams_as_in_memory(
            &scratch,
            &input,
            &["--magnitude", "--spacing=0.5", "--edge-order", "2"],
            &["1", "2", "4"],
        );
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["axis0.npy", "axis1.npy", "axis2.npy", "magnitude.npy"]
        );
        for (entry, bytes) in &entries {
            let header = header_of(bytes);
            let want = if entry == "magnitude.npy" {
                magnitude_descr
            } else {
                descr
            };
            assert!(
                header.contains(&format!("'descr': '{want}'")),
                "{name} {entry}: {header}"
            );
            let layout = format!(
                "'fortran_order': {}",
                if fortran { "True" } else { "False" }
            );
            assert!(header.contains(&layout), "{name} {entry}: {header}");
        }
    }
    // The values are the little-endian run's, whatever the order.
    let little: Vec<u8> = values.iter().flat_map(|&v| v.to_le_bytes()).collect();
    std::fs::write(
        scratch.input("le.npy"),
        raw_npy("<f8", false, &shape, &little),
    )
    .unwrap();
    let (le, be) = (scratch.output("le.npz"), scratch.output("be.npz"));
    assert_success(&gradient_on("cpu", &scratch.input("le.npy"), &le, &[]));
    let args = ["--slab-planes", "2"];
    assert_success(&gradient_on("cpu", &scratch.input("f8.npy"), &be, &args));
    assert_same_bits(&le, &be, "big-endian streamed vs little-endian");
    // --dtype names a dtype in the machine's order, streamed or not.
    let args = ["--dtype", "f64", "--slab-planes", "3"];
    assert_success(&gradient_on("cpu", &scratch.input("f4.npy"), &be, &args));
    assert!(header_of(&npz_entries(&be)[0].1).contains("'<f8'"));
}

#[test]
fn fortran_order_inputs_stream_along_their_last_axis() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(20);
    for shape in [&[13, 9][..], &[6, 5, 11][..]] {
        let c_order = rng.array(shape, -10.0, 10.0);
        let mut fortran = ArrayD::zeros(IxDyn(shape).f());
        fortran.assign(&c_order);
        let input = scratch.input("f.npy");
        write_npy(&input, &fortran).unwrap();
        let coords: Vec<String> = shape
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                let path = scratch.input(&format!("x{k}.npy"));
                write_npy(&path, &ndarray::Array1::from(coordinates(&mut rng, n))).unwrap();
                format!("@{}", path.display())
            })
            .collect();
        let scalars: Vec<String> = (0..shape.len())
            .map(|k| format!("{}", 0.5 + k as f64))
            .collect();
        let mixed: Vec<String> = coords
            .iter()
            .enumerate()
            .map(|(k, c)| {
                if k == 1 {
                    "0.75".to_string()
                } else {
                    c.clone()
                }
            })
            .collect();
        let spacings = [
            String::new(),
            "--spacing=0.25".to_string(),
            format!("--spacing={}", scalars.join(",")),
            format!("--spacing={}", mixed.join(",")),
        ];
        let forms: [&[&str]; 4] = [
            &["--edge-order", "1"],
            &["--edge-order", "2", "--magnitude"],
            &["--accuracy", "4"],
            &["--edge-order", "2", "--axis=-1,0"],
        ];
        for spacing in &spacings {
            for form in forms {
                let mut args: Vec<&str> = form.to_vec();
                if !spacing.is_empty() {
                    args.push(spacing);
                }
                if form.contains(&"--axis=-1,0") && spacing.contains(',') {
                    continue; // A per-axis spacing names every axis.
                }
                let entries =
                    assert_streams_as_in_memory(&scratch, &input, &args, &["1", "2", "3", "64"]);
                for (name, bytes) in &entries {
                    let header = header_of(bytes);
                    assert!(header.contains("'fortran_order': True"), "{name}: {header}");
                }
            }
        }
        // The values are the C-order input's, as numpy gives them.
        let out = scratch.output("g.npz");
        let args = ["--spacing=0.25", "--slab-planes", "2"];
        assert_success(&gradient_on("cpu", &input, &out, &args));
        let names: Vec<String> = (0..shape.len()).map(|k| format!("axis{k}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let want = expected(
            &c_order,
            ndgrad::GradientOptions::new().spacing(ndgrad::Spacing::Uniform(0.25)),
            &names,
        );
        let got = read_npz::<f64>(&out);
        for ((name, got), (_, want)) in got.iter().zip(&want) {
            let close = got
                .iter()
                .zip(want)
                .all(|(g, w)| (g - w).abs() <= 1e-12 * (1.0 + w.abs()));
            assert!(close, "{shape:?} {name}");
        }
    }
}

#[test]
fn a_periodic_slab_axis_is_refused_when_streaming_is_needed() {
    let scratch = Scratch::new();
    let c_order = Rng::new(21).array(&[6, 7], -1.0, 1.0);
    let mut fortran = ArrayD::zeros(IxDyn(&[6, 7]).f());
    fortran.assign(&c_order);
    write_npy(scratch.input("f.npy"), &fortran).unwrap();
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--boundary=one-sided,periodic", "--slab-planes", "2"],
    );
    assert_clean_failure(
        &out,
        &scratch,
        1,
        "axis 1, whose planes it is read in, is periodic",
    );
    // Periodic along axis 0 only, it streams along axis 1.
    assert_streams_as_in_memory(
        &scratch,
        &scratch.input("f.npy"),
        &["--boundary=periodic,one-sided"],
        &["1", "3"],
    );
}

/// Runs the binary and returns its output and its peak RSS in bytes: the
/// highest `VmHWM` of `/proc/<pid>/status` read while it runs. (`wait4`'s
/// `ru_maxrss` would count this test process's own pages, which the child
/// shares until it executes the binary.)
fn run_measured(args: &[&std::ffi::OsStr]) -> (std::process::Output, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ndgrad"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            if let Some(kib) = hwm {
                peak = peak.max(kib * 1024);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    (child.wait_with_output().unwrap(), peak)
}

#[test]
fn an_input_eight_times_the_ceiling_streams_under_it() {
    let scratch = Scratch::new();
    // 8192 x 8192 float32: 256 MiB, eight times the 32 MiB ceiling.
    let mut rng = Rng::new(16);
    let row = rng.array(&[8192], -1.0, 1.0);
    let f = ArrayD::from_shape_fn(IxDyn(&[8192, 8192]), |i| {
        (row[[i[1]]] * (1.0 + i[0] as f64 * 1e-3)) as f32
    });
    write_npy(scratch.input("f.npy"), &f).unwrap();
    drop(f);
    let input_bytes = std::fs::metadata(scratch.input("f.npy")).unwrap().len();
    let ceiling: u64 = 32 << 20;
    let args = |output: &Path, limit: bool| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "gradient".into(),
            scratch.input("f.npy").into(),
            "-o".into(),
            output.into(),
            "--backend".into(),
            "cpu".into(),
        ];
        if limit {
            args.extend(["--max-memory".into(), ceiling.to_string().into()]);
        }
        args
    };
    let streamed = scratch.output("streamed.npz");
    let a = args(&streamed, true);
    let a: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
    let (out, peak) = run_measured(&a);
    assert_success(&out);
    let whole = scratch.output("whole.npz");
    let (out, whole_peak) = run_measured(
        &args(&whole, false)
            .iter()
            .map(|s| s.as_os_str())
            .collect::<Vec<_>>(),
    );
    assert_success(&out);
    assert!(
        input_bytes >= 8 * ceiling,
        "the input ({input_bytes} bytes) must dwarf the ceiling"
    );
    assert!(
        peak <= ceiling,
        "peak RSS {peak} bytes over the ceiling {ceiling} (in memory: {whole_peak})"
    );
    assert!(whole_peak > 3 * input_bytes, "in memory: {whole_peak}");
    assert_eq!(npz_entries(&whole), npz_entries(&streamed));
}

#[test]
fn a_job_that_cannot_fit_even_streamed_fails_with_the_sizes() {
    let scratch = Scratch::new();
    let f = Rng::new(17).array(&[4, 1000, 1000], -1.0, 1.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--max-memory", "20M"],
    );
    assert_clean_failure(&out, &scratch, 1, "not enough memory");
    let err = stderr(&out);
    assert!(
        err.contains("MiB") && err.contains("ceiling of 20.0 MiB"),
        "{err}"
    );
}

#[test]
fn a_piped_header_promising_too_much_fails_before_allocating() {
    let scratch = Scratch::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ndgrad"))
        .args(["gradient", "/dev/stdin", "-o"])
        .arg(scratch.output("g.npz"))
        .args(["--backend", "cpu"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let writer = feed_an_endless_promise(child.stdin.take().unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_clean_failure(&out, &scratch, 1, "not enough memory");
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sizes_other_than_bytes_are_refused_as_arguments() {
    let scratch = Scratch::new();
    write_npy(
        scratch.input("f.npy"),
        &Rng::new(18).array(&[4, 4], 0.0, 1.0),
    )
    .unwrap();
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--max-memory", "lots"],
    );
    assert_clean_failure(&out, &scratch, 2, "--max-memory");
}
