//! Never losing the user's data, and one clear line for every failure:
//! outputs that would replace an input, interrupted runs, corrupt and
//! misleading inputs, a missing GPU, byte order, and what `bench` prints as
//! it goes.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ndarray::ArrayD;
use ndarray_npy::write_npy;
use ndgrad::{f16, Complex, GradientOptions};

use crate::common::*;

// ------------------------------------------------------- outputs that are inputs

/// A scratch directory with `f.npy` and `x.npy` (coordinates for axis 1).
fn scratch_with_input_and_coordinates() -> Scratch {
    let scratch = Scratch::new();
    write_npy(
        scratch.input("f.npy"),
        &Rng::new(7).array(&[4, 6], -10.0, 10.0),
    )
    .unwrap();
    let x = ArrayD::from_shape_vec(vec![6], coordinates(&mut Rng::new(8), 6)).unwrap();
    write_npy(scratch.input("x.npy"), &x).unwrap();
    scratch
}

/// Runs `gradient f.npy -o OUTPUT --spacing=1,@x.npy` in `scratch`.
fn gradient_with_coordinates(scratch: &Scratch, output: &Path) -> Output {
    let spacing = format!("--spacing=1,@{}", scratch.input("x.npy").display());
    gradient(&scratch.input("f.npy"), output, &[&spacing])
}

/// The output path is refused, in one line naming `what`, and the inputs
/// are byte-for-byte what they were, with nothing left beside them.
fn assert_refused(
    out: &Output,
    scratch: &Scratch,
    what: &str,
    before: &[(String, Vec<u8>)],
    left: &[&str],
) {
    assert_clean_failure_leaving(out, scratch, 1, &format!("it is the {what} file"), left);
    assert!(
        stderr(out).contains("refusing to write output"),
        "{}",
        stderr(out)
    );
    for (name, bytes) in before {
        assert_eq!(
            &fs::read(scratch.input(name)).unwrap(),
            bytes,
            "{name} changed"
        );
    }
    assert_eq!(
        scratch.inputs(),
        ["f.npy", "out", "x.npy"],
        "files left beside the inputs"
    );
}

#[test]
fn an_output_that_is_the_input_or_a_coordinate_file_is_refused() {
    let scratch = scratch_with_input_and_coordinates();
    let before: Vec<(String, Vec<u8>)> = ["f.npy", "x.npy"]
        .map(|n| (n.to_string(), fs::read(scratch.input(n)).unwrap()))
        .into();
    // The input itself, and another spelling of it.
    let out = gradient_with_coordinates(&scratch, &scratch.input("f.npy"));
    assert_refused(&out, &scratch, "input", &before, &[]);
    let out = gradient_with_coordinates(&scratch, &scratch.output("../f.npy"));
    assert_refused(&out, &scratch, "input", &before, &[]);
    // A coordinate file.
    let out = gradient_with_coordinates(&scratch, &scratch.input("x.npy"));
    assert_refused(&out, &scratch, "spacing coordinates", &before, &[]);
    // Links to either: a symbolic link and a hard link, in out/.
    std::os::unix::fs::symlink(scratch.input("f.npy"), scratch.output("soft.npz")).unwrap();
    let out = gradient_with_coordinates(&scratch, &scratch.output("soft.npz"));
    assert_refused(&out, &scratch, "input", &before, &["soft.npz"]);
    fs::remove_file(scratch.output("soft.npz")).unwrap();
    fs::hard_link(scratch.input("x.npy"), scratch.output("hard.npz")).unwrap();
    let out = gradient_with_coordinates(&scratch, &scratch.output("hard.npz"));
    assert_refused(
        &out,
        &scratch,
        "spacing coordinates",
        &before,
        &["hard.npz"],
    );
    fs::remove_file(scratch.output("hard.npz")).unwrap();
    // A symbolic link to the directory of the input.
    std::os::unix::fs::symlink(scratch.input(""), scratch.output("up")).unwrap();
    let out = gradient_with_coordinates(&scratch, &scratch.output("up/f.npy"));
    assert_refused(&out, &scratch, "input", &before, &["up"]);
    fs::remove_file(scratch.output("up")).unwrap();
    // Any other name works.
    assert_success(&gradient_with_coordinates(
        &scratch,
        &scratch.output("g.npz"),
    ));
}

// ------------------------------------------------------------ interrupted runs

/// A zero-filled float32 `.npy` of `shape` at `path`, made instantly as a
/// sparse file.
fn zeros_npy(path: &Path, shape: &[usize]) {
    let header = raw_npy("<f4", false, shape, &[]);
    let mut file = fs::File::create(path).unwrap();
    file.write_all(&header).unwrap();
    let len = header.len() + 4 * shape.iter().product::<usize>();
    file.set_len(len as u64).unwrap();
}

/// Whether `dir` holds one of the CLI's temporary files.
fn holds_a_temporary(dir: &Path) -> bool {
    names_in(dir).iter().any(|n| n.starts_with(".ndgrad-"))
}

/// Runs `ndgrad gradient` on `input` into `output`, sends `signal` (by
/// name, as `kill` takes it) once its temporary output file exists, and
/// returns what the process did.
fn interrupted(input: &Path, output: &Path, signal: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ndgrad"));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: `signal` is async-signal-safe, and the closure touches
        // nothing else between fork and exec.
        unsafe {
            // A test run under `nohup` starts with SIGHUP ignored, which the
            // CLI rightly keeps ignored (see the test below); the child
            // here must see SIGHUP as a terminal session does.
            command.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_DFL);
                Ok(())
            });
        }
    }
    let child = command
        .args([OsStr::new("gradient"), input.as_os_str(), OsStr::new("-o")])
        .arg(output)
        // Streamed one plane at a time: the temporary file exists from the
        // first plane to the last, seconds rather than the fraction of a
        // second a whole-array write takes, so the signal cannot arrive
        // after the run has finished.
        .args(["--backend", "cpu", "--magnitude", "--slab-planes", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dir = output.parent().unwrap();
    let start = Instant::now();
    while !holds_a_temporary(dir) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let kill = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    child.wait_with_output().unwrap()
}

/// SIGINT, SIGTERM and SIGHUP in the middle of writing the output: the
/// temporary file is removed, one line says so, the exit code is 128 + the
/// signal's number, and an output that existed before is untouched.
#[test]
#[cfg(unix)]
fn a_signal_mid_run_removes_the_temporary_file_and_exits_with_128_plus_its_number() {
    let scratch = Scratch::new();
    // 64 MiB in, 256 MiB of outputs (three axes and the magnitude), streamed
    // a plane at a time (see `interrupted`).
    zeros_npy(&scratch.input("f.npy"), &[64, 512, 512]);
    fs::write(scratch.output("g.npz"), b"the previous output").unwrap();
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let out = interrupted(&scratch.input("f.npy"), &scratch.output("g.npz"), signal);
        assert_clean_failure_leaving(
            &out,
            &scratch,
            code,
            &format!("ndgrad: interrupted by SIG{signal}; removed 1 temporary file"),
            &["g.npz"],
        );
        assert_eq!(
            fs::read(scratch.output("g.npz")).unwrap(),
            b"the previous output"
        );
    }
}

/// Under `nohup` (SIGHUP ignored), SIGHUP does not stop the run: a signal
/// the process was started with ignored stays ignored.
#[test]
#[cfg(target_os = "linux")]
fn an_ignored_sighup_stays_ignored_as_under_nohup() {
    let scratch = Scratch::new();
    zeros_npy(&scratch.input("f.npy"), &[64, 512, 512]);
    let child = Command::new("sh")
        .args([
            "-c",
            "trap '' HUP; exec \"$0\" gradient \"$1\" -o \"$2\" --backend cpu --magnitude",
        ])
        .arg(env!("CARGO_BIN_EXE_ndgrad"))
        .arg(scratch.input("f.npy"))
        .arg(scratch.output("g.npz"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !holds_a_temporary(&scratch.input("out")) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let kill = Command::new("kill")
        .args(["-HUP".to_string(), child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_success(&out);
    assert_eq!(scratch.outputs(), ["g.npz"]);
}

// ------------------------------------------------------------ unclear messages

#[test]
fn an_output_whose_parent_is_a_file_says_so() {
    let scratch = scratch_with_input_and_coordinates();
    let out = gradient(&scratch.input("f.npy"), &scratch.input("f.npy/g.npz"), &[]);
    assert_clean_failure(&out, &scratch, 1, "f.npy\" is not a directory");
    assert!(!stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn a_shape_of_anything_but_non_negative_integers_is_named() {
    let scratch = Scratch::new();
    for (shape, why) in [
        ("(2.5,)", "(2.5 is not an integer)"),
        ("(3, -1)", "(-1 is negative)"),
        ("(3, 'a')", "('a' is not an integer)"),
        ("(100000000000000000000000,)", "is too large)"),
        ("3", "the shape 3 is not a tuple of non-negative integers"),
    ] {
        let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        fs::write(scratch.input("f.npy"), npy_v1(&header, &[0; 64])).unwrap();
        let out = gradient(&scratch.input("f.npy"), &scratch.output("g.npz"), &[]);
        assert_clean_failure(&out, &scratch, 1, why);
        assert!(stderr(&out).contains("is not a tuple of non-negative integers"));
    }
}

/// A version 1.0 `.npy` with this header text (padded as numpy pads it) and data.
fn npy_v1(header: &str, data: &[u8]) -> Vec<u8> {
    let mut text = header.to_string();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A header promising 10¹² elements: in a small file, the length check
/// refuses it before anything is allocated.
#[test]
fn a_header_promising_more_than_the_file_holds_is_refused_up_front() {
    let scratch = Scratch::new();
    fs::write(
        scratch.input("f.npy"),
        raw_npy("<f8", false, &[1_000_000, 1_000_000], &[0; 800]),
    )
    .unwrap();
    let out = gradient(&scratch.input("f.npy"), &scratch.output("g.npz"), &[]);
    assert_clean_failure(
        &out,
        &scratch,
        1,
        "needs 8000000000000 bytes, but only 800 follow the header",
    );
}

/// The same promise through a pipe followed by endless data, under a 1
/// GiB address-space limit: refused with one line, never an abort. Under
/// the default ceiling the job is too large to hold and a pipe cannot be
/// streamed; with a ceiling raised past it, the allocation itself fails
/// and is reported.
#[test]
#[cfg(target_os = "linux")]
fn a_pipe_promising_more_than_memory_holds_fails_without_aborting() {
    for (ceiling, needle) in [
        (None, "cannot be streamed: it is not a regular file"),
        (Some("100T"), "not enough memory: cannot allocate"),
    ] {
        let scratch = Scratch::new();
        let limit = ceiling.map_or(String::new(), |c| format!(" --max-memory {c}"));
        let mut child = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "ulimit -v 1048576 && exec \"$0\" gradient /dev/stdin -o \"$1\" --backend reference{limit}"
                ),
            ])
            .arg(env!("CARGO_BIN_EXE_ndgrad"))
            .arg(scratch.output("g.npz"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let feeder = feed_an_endless_promise(child.stdin.take().unwrap());
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        assert_clean_failure(&out, &scratch, 1, needle);
    }
}

#[test]
fn an_npz_input_is_named_and_the_npy_alternative_given() {
    let scratch = Scratch::new();
    let mut npz = ndarray_npy::NpzWriter::new(fs::File::create(scratch.input("f.npz")).unwrap());
    npz.add_array("f", &Rng::new(3).array(&[4], 0.0, 1.0))
        .unwrap();
    npz.finish().unwrap();
    let out = gradient(&scratch.input("f.npz"), &scratch.output("g.npz"), &[]);
    assert_clean_failure(&out, &scratch, 1, ".npz input is not supported");
    assert!(stderr(&out).contains("np.save('f.npy'"), "{}", stderr(&out));
    // The same file under a .npy name is recognised by its contents.
    fs::rename(scratch.input("f.npz"), scratch.input("f.npy")).unwrap();
    let out = gradient(&scratch.input("f.npy"), &scratch.output("g.npz"), &[]);
    assert_clean_failure(&out, &scratch, 1, ".npz input is not supported");
}

#[test]
fn a_count_of_one_is_singular() {
    let scratch = Scratch::new();
    write_npy(
        scratch.input("f.npy"),
        &Rng::new(5).array(&[1, 4], 0.0, 1.0),
    )
    .unwrap();
    let out = gradient(&scratch.input("f.npy"), &scratch.output("g.npz"), &[]);
    assert_clean_failure(&out, &scratch, 1, "axis 0 has 1 element: ");
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--axis=1", "--spacing=1,2"],
    );
    assert_clean_failure(&out, &scratch, 1, "for 1 requested axis:");
}

/// With no GPU to be found (`WGPU_BACKEND` names a backend this platform
/// lacks), `--backend gpu` says what to do instead, in one line.
#[test]
fn no_gpu_adapter_names_the_cpu_backend_and_a_vulkan_driver() {
    let scratch = Scratch::new();
    write_npy(
        scratch.input("f.npy"),
        &Rng::new(5).array(&[4, 4], 0.0, 1.0),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ndgrad"))
        .args([OsStr::new("gradient"), scratch.input("f.npy").as_os_str()])
        .args([OsStr::new("-o"), scratch.output("g.npz").as_os_str()])
        .args(["--backend", "gpu"])
        .env("WGPU_BACKEND", "dx12")
        .output()
        .unwrap();
    assert_clean_failure(
        &out,
        &scratch,
        1,
        "ndgrad: no GPU adapter found; use --backend cpu, or install a Vulkan driver (e.g. mesa-vulkan-drivers)\n",
    );
}

// ------------------------------------------------------------------ byte order

/// The descriptors of the arrays in an uncompressed `.npz`, in order.
fn descrs(path: &Path) -> Vec<String> {
    let bytes = fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    text.match_indices("'descr': '")
        .map(|(i, m)| text[i + m.len()..].split('\'').next().unwrap().to_string())
        .collect()
}

/// numpy keeps a float or complex input's byte order in its gradient
/// (`np.gradient` of a `'>f4'` array is `'>f4'`), and an integer input's
/// gradient is `float64` in the machine's order; so does ndgrad, the
/// magnitude in the components' order. `--dtype` names a dtype in the
/// machine's order, as numpy's `astype` does.
#[test]
fn outputs_keep_a_big_endian_inputs_byte_order_as_numpy_does() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(21);
    let f = rng.array(&[3, 4], -10.0, 10.0);
    let run = |descr: &str, data: Vec<u8>, extra: &[&str]| {
        fs::write(
            scratch.input("f.npy"),
            raw_npy(descr, false, &[3, 4], &data),
        )
        .unwrap();
        let out = gradient(&scratch.input("f.npy"), &scratch.output("g.npz"), extra);
        assert_success(&out);
        descrs(&scratch.output("g.npz"))
    };
    let names = ["axis0", "axis1"];

    let f32s = f.mapv(|v| v as f32);
    let got = run(
        ">f4",
        f32s.iter().flat_map(|v| v.to_be_bytes()).collect(),
        &["--magnitude"],
    );
    assert_eq!(got, [">f4"; 3]);
    assert_eq!(
        read_npz::<f32>(&scratch.output("g.npz"))[..2],
        expected(&f32s, GradientOptions::new(), &names)
    );

    let got = run(">f8", f.iter().flat_map(|v| v.to_be_bytes()).collect(), &[]);
    assert_eq!(got, [">f8"; 2]);
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(&f, GradientOptions::new(), &names)
    );

    let halves = f.mapv(f16::from_f64);
    let got = run(
        ">f2",
        halves
            .iter()
            .flat_map(|v| v.to_bits().to_be_bytes())
            .collect(),
        &[],
    );
    assert_eq!(got, [">f2"; 2]);

    let complex = f.mapv(|v| Complex::new(v, -v));
    let data: Vec<u8> = complex
        .iter()
        .flat_map(|c| [c.re.to_be_bytes(), c.im.to_be_bytes()].concat())
        .collect();
    let got = run(">c16", data.clone(), &["--magnitude"]);
    assert_eq!(got, [">c16", ">c16", ">f8"]);
    assert_eq!(run(">c16", data, &[]), [">c16"; 2]);
    assert_eq!(
        read_npz::<Complex<f64>>(&scratch.output("g.npz")),
        ndgrad::gradient(
            &complex,
            &GradientOptions::new().backend(ndgrad::Backend::Reference)
        )
        .unwrap()
        .into_iter()
        .zip(names)
        .map(|(a, n)| (n.to_string(), a))
        .collect::<Vec<_>>()
    );

    let ints = f.mapv(|v| (v * 100.0) as i16);
    let got = run(
        ">i2",
        ints.iter().flat_map(|v| v.to_be_bytes()).collect(),
        &[],
    );
    assert_eq!(got, ["<f8"; 2]);
    assert_eq!(
        read_npz::<f64>(&scratch.output("g.npz")),
        expected(&ints.mapv(f64::from), GradientOptions::new(), &names)
    );

    let got = run(
        ">f4",
        f32s.iter().flat_map(|v| v.to_be_bytes()).collect(),
        &["--dtype", "f32"],
    );
    assert_eq!(got, ["<f4"; 2]);
    let got = run("<f8", f.iter().flat_map(|v| v.to_le_bytes()).collect(), &[]);
    assert_eq!(got, ["<f8"; 2]);
}

// ------------------------------------------------------------------------ bench

#[test]
fn bench_names_ndgrad_python_when_numpy_is_skipped_and_documents_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_ndgrad"))
        .args([
            "bench",
            "--shape=16",
            "--dtype=f32",
            "--edge-order=1",
            "--spacing=uniform",
        ])
        .args(["--backends=cpu,numpy", "--repeat=1"])
        .env("NDGRAD_PYTHON", "/nonexistent/python")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    let skipped = report
        .lines()
        .find(|l| l.starts_with("numpy: skipped"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(skipped.contains("/nonexistent/python"), "{skipped}");
    assert!(
        skipped.contains("set NDGRAD_PYTHON to a Python that has numpy"),
        "{skipped}"
    );
    let help = ndgrad(["bench", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("NDGRAD_PYTHON"));
}

/// Piped into a file, the rows of each case come out as that case
/// finishes, not all at the end.
#[test]
fn bench_rows_arrive_as_each_case_finishes_into_a_pipe() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ndgrad"))
        // Eight cases: two dtypes, two edge orders, two spacing forms.
        .args([
            "bench",
            "--shape=64,64,64",
            "--backends=cpu,reference",
            "--repeat=2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first_row = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.starts_with("3d 64x64x64"))
        .expect("no row");
    assert!(first_row.contains("reference"), "{first_row}");
    // The first row arrived while seven more cases were still to run.
    assert!(
        child.try_wait().unwrap().is_none(),
        "the rows arrived only at exit"
    );
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success());
    assert!(
        rest.iter().filter(|l| l.contains(" reference ")).count() >= 7,
        "{rest:?}"
    );
}

// --------------------------------------------------------------------- progress

/// On a terminal (a pseudo-terminal made by `script`), a run that lasts
/// more than a few seconds shows what it is doing; the line is cleared
/// before the summary.
#[test]
#[cfg(target_os = "linux")]
fn a_long_run_on_a_terminal_shows_its_progress() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: no `script` to make a terminal with");
        return;
    }
    let scratch = Scratch::new();
    zeros_npy(&scratch.input("f.npy"), &[64, 512, 512]);
    let command = format!(
        "{} gradient {} -o {} --backend reference --magnitude",
        env!("CARGO_BIN_EXE_ndgrad"),
        scratch.input("f.npy").display(),
        scratch.output("g.npz").display()
    );
    let start = Instant::now();
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("ndgrad: wrote axis0, axis1, axis2, magnitude"),
        "{text}"
    );
    if start.elapsed() > Duration::from_secs(4) {
        assert!(
            text.contains("differentiating a float32 array of shape (64, 512, 512)")
                || text.contains("writing"),
            "{text}"
        );
    }
    // Through a pipe the same run prints its summary alone.
    let out = gradient(
        &scratch.input("f.npy"),
        &scratch.output("g.npz"),
        &["--magnitude"],
    );
    assert_success(&out);
}
