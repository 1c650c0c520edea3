//! What the CLI's process tests share: a scratch directory, running the
//! binary, and the checks of a clean success or failure.

#![allow(dead_code)] // Each test binary uses its own subset.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Output};
use std::thread::JoinHandle;

use ndarray::ArrayD;
use ndarray_npy::npy::header::{Header, Layout};
use ndarray_npy::{NpzReader, ReadableElement};
use ndgrad::{Backend, Element, GradientOptions};
// The seeded stream every random input here is drawn from.
pub use ndgrad_rng::Rng;

/// Strictly increasing, unevenly spaced coordinates.
pub fn coordinates(rng: &mut Rng, n: usize) -> Vec<f64> {
    let mut x = rng.range(-5.0, 5.0);
    (0..n)
        .map(|_| {
            x += rng.range(0.1, 1.0);
            x
        })
        .collect()
}

/// A scratch directory: inputs are written at its root, outputs go to `out/`,
/// which must hold nothing but the expected output afterwards.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// An empty scratch directory with an empty `out/`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        Scratch { dir }
    }

    /// A path at the root (for inputs).
    pub fn input(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A path in `out/`.
    pub fn output(&self, name: &str) -> PathBuf {
        self.dir.path().join("out").join(name)
    }

    /// The names of the files in `out/`, sorted.
    pub fn outputs(&self) -> Vec<String> {
        names_in(&self.dir.path().join("out"))
    }

    /// The names of the files at the root (`out` among them), sorted.
    pub fn inputs(&self) -> Vec<String> {
        names_in(self.dir.path())
    }
}

/// The names of the entries of `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs the built binary with `args`.
pub fn ndgrad<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_ndgrad"))
        .args(args)
        .output()
        .unwrap()
}

/// `ndgrad gradient INPUT -o OUTPUT --backend reference EXTRA...`.
pub fn gradient(input: &Path, output: &Path, extra: &[&str]) -> Output {
    gradient_on("reference", input, output, extra)
}

/// `ndgrad gradient INPUT -o OUTPUT --backend BACKEND EXTRA...`.
pub fn gradient_on(backend: &str, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = vec![
        "gradient".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        output.as_os_str(),
        "--backend".as_ref(),
        backend.as_ref(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    ndgrad(args)
}

/// The process's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 0, nothing on stdout, one summary line on stderr.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        stderr(out)
    );
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    let err = stderr(out);
    assert!(
        err.starts_with("ndgrad: wrote ") && err.lines().count() == 1,
        "{err:?}"
    );
}

/// The exit code is `code` (never a panic's 101), stderr is exactly one line
/// starting with `ndgrad: ` and containing `needle`, and `out/` holds exactly
/// `left` (no output, no temporary file).
pub fn assert_clean_failure_leaving(
    out: &Output,
    scratch: &Scratch,
    code: i32,
    needle: &str,
    left: &[&str],
) {
    let err = stderr(out);
    assert_ne!(out.status.code(), Some(101), "panicked: {err}");
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert!(err.ends_with('\n'), "{err:?}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    let line = err.trim_end_matches('\n');
    assert!(
        line.starts_with("ndgrad: ") && line.len() > "ndgrad: ".len(),
        "{err:?}"
    );
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert_eq!(scratch.outputs(), left, "files left in out/");
}

/// [`assert_clean_failure_leaving`] with `out/` empty.
pub fn assert_clean_failure(out: &Output, scratch: &Scratch, code: i32, needle: &str) {
    assert_clean_failure_leaving(out, scratch, code, needle, &[]);
}

/// The arrays of an `.npz`, in the archive's order, read as `T` (which fails
/// if the stored dtype is not `T`).
pub fn read_npz<T: ReadableElement>(path: &Path) -> Vec<(String, ArrayD<T>)> {
    let mut npz = NpzReader::new(File::open(path).unwrap()).unwrap();
    let names = npz.names().unwrap();
    names
        .into_iter()
        .map(|name| {
            let array = npz.by_name(&name).unwrap();
            (name, array)
        })
        .collect()
}

/// `ndgrad::gradient` on the reference backend, named as the CLI names them.
pub fn expected<T: Element>(
    f: &ArrayD<T>,
    opts: GradientOptions,
    names: &[&str],
) -> Vec<(String, ArrayD<T>)> {
    let arrays = ndgrad::gradient(f, &opts.backend(Backend::Reference)).unwrap();
    assert_eq!(arrays.len(), names.len());
    names.iter().map(|n| n.to_string()).zip(arrays).collect()
}

/// A `.npy` file for dtypes and byte orders `write_npy` does not produce:
/// ndarray-npy's header for `descr`, then `data` as given.
pub fn raw_npy(descr: &str, fortran_order: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let header = Header {
        type_descriptor: py_literal::Value::String(descr.into()),
        layout: if fortran_order {
            Layout::Fortran
        } else {
            Layout::Standard
        },
        shape: shape.to_vec(),
    };
    [header.to_bytes().unwrap(), data.to_vec()].concat()
}

/// Feeds `stdin` an `.npy` header promising a 10⁶ × 10⁶ `f8` array, then
/// zeros without end, until the reader stops reading. Returns the feeding
/// thread, whose result is the write error that ended it.
pub fn feed_an_endless_promise(mut stdin: ChildStdin) -> JoinHandle<std::io::Error> {
    std::thread::spawn(move || {
        let header = raw_npy("<f8", false, &[1_000_000, 1_000_000], &[]);
        let zeros = vec![0u8; 1 << 20];
        let mut next = stdin.write_all(&header);
        loop {
            if let Err(e) = next {
                return e;
            }
            next = stdin.write_all(&zeros);
        }
    })
}
