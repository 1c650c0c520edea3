//! `ndgrad bench`: every backend timed side by side on the same arrays, in one run.
//!
//! Each case (a shape, a dtype, a spacing form, an edge order, an axis list) is
//! computed once by the reference. Every other backend's result is checked
//! against it before that backend is timed: a mismatch is reported loudly, is
//! never timed, and makes the command fail. Times are medians over `--repeat`
//! runs after one warm-up; ratios compare rows of the same case, measured in
//! the same process minutes apart, which is what makes them meaningful on a
//! shared, noisy machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadableElement, WritableElement};
use ndgrad::{AxisSpacing, Backend, EdgeOrder, Element, GradientOptions, Spacing};
use rayon::prelude::*;
use serde::Serialize;

/// Options of `ndgrad bench`. Any option given narrows the default suite to it.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Array shape, e.g. `512,512,512` (default: a 1-D signal, a 2-D image and a 3-D volume).
    #[arg(long, value_delimiter = ',')]
    pub shape: Option<Vec<usize>>,
    /// Element type (default: both).
    #[arg(long, value_enum)]
    pub dtype: Option<Dtype>,
    /// Edge order, 1 or 2 (default: both).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub edge_order: Option<u8>,
    /// Spacing form (default: both).
    #[arg(long, value_enum)]
    pub spacing: Option<SpacingForm>,
    /// Axes to differentiate, comma-separated, negatives allowed (default: all).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    pub axis: Option<Vec<isize>>,
    /// Backends to time.
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "gpu,cpu,numpy,cupy,torch"
    )]
    pub backends: Vec<BenchBackend>,
    /// Timed runs per measurement (after one warm-up); the median is reported.
    #[arg(long)]
    pub repeat: Option<usize>,
    /// Also write one JSON record per measurement to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// A small, fast suite for CI smoke runs.
    #[arg(long)]
    pub quick: bool,
}

/// Element type of a bench case.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

/// Spacing form of a bench case.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpacingForm {
    /// One scalar for every axis (`numpy.gradient(f, 0.5)`).
    Uniform,
    /// Random non-uniform coordinates on every axis (`numpy.gradient(f, x0, x1, ...)`).
    Coords,
}

/// A backend the bench can time.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchBackend {
    /// ndgrad's GPU backend (end to end, kernel, transfers, copy-kernel baseline).
    Gpu,
    /// ndgrad's CPU backend, and a memcpy of the same bytes.
    Cpu,
    /// ndgrad's reference backend.
    Reference,
    /// `numpy.gradient` through `python3` (skipped with a note when absent).
    Numpy,
    /// `cupy.gradient` through `python3`, device-resident (skipped with a
    /// note when cupy or a CUDA device is absent).
    Cupy,
    /// `torch.gradient` through `python3`, device-resident on CUDA (on the
    /// CPU when torch has no GPU; skipped with a note when torch is absent).
    Torch,
}

impl BenchBackend {
    /// The peers timed through Python, in the order their rows appear.
    const PEERS: [BenchBackend; 3] = [BenchBackend::Numpy, BenchBackend::Cupy, BenchBackend::Torch];

    /// The Python module, which is also the row's name.
    fn module(self) -> &'static str {
        match self {
            BenchBackend::Numpy => "numpy",
            BenchBackend::Cupy => "cupy",
            BenchBackend::Torch => "torch",
            BenchBackend::Gpu | BenchBackend::Cpu | BenchBackend::Reference => "",
        }
    }
}

/// One case of the suite.
#[derive(Debug, Clone, Serialize)]
struct Case {
    shape: Vec<usize>,
    dtype: Dtype,
    spacing: SpacingForm,
    edge_order: u8,
    axes: Option<Vec<isize>>,
}

impl Case {
    fn label(&self) -> String {
        let shape: Vec<String> = self.shape.iter().map(|n| n.to_string()).collect();
        let spacing = match self.spacing {
            SpacingForm::Uniform => "h",
            SpacingForm::Coords => "x",
        };
        let mut label = format!(
            "{}d {} {:?} {} e{}",
            self.shape.len(),
            shape.join("x"),
            self.dtype,
            spacing,
            self.edge_order
        )
        .to_lowercase();
        if let Some(axes) = &self.axes {
            let axes: Vec<String> = axes.iter().map(|a| a.to_string()).collect();
            label.push_str(&format!(" ax{}", axes.join(",")));
        }
        label
    }

    fn len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// One row of the table, and one JSON record.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    case: String,
    #[serde(flatten)]
    params: Case,
    backend: String,
    pub(crate) median_s: Option<f64>,
    melem_per_s: Option<f64>,
    effective_gb_s: Option<f64>,
    vs_cpu: Option<f64>,
    vs_numpy: Option<f64>,
    max_error: Option<f64>,
    /// Whether the row computes the gradient (and so has a max error).
    #[serde(skip)]
    computes: bool,
    /// Whether it computes the case's own request from the case's own
    /// input, and so gets the `vs CPU` / `vs numpy` ratios (the magnitude
    /// and u16-input variants get their own ratios in the notes).
    #[serde(skip)]
    comparable: bool,
    pub(crate) note: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    adapter: Option<serde_json::Value>,
}

/// A row of `case`; its rates count `bytes` moved per run.
fn row_of(
    case: &Case,
    backend: &str,
    computes: bool,
    timing: Option<&Timing>,
    bytes: f64,
    note: String,
) -> Row {
    let elems = case.len() as f64;
    Row {
        case: case.label(),
        params: case.clone(),
        backend: backend.into(),
        median_s: timing.map(|t| t.median.as_secs_f64()),
        melem_per_s: timing.map(|t| elems / t.median.as_secs_f64() / 1e6),
        effective_gb_s: timing.map(|t| bytes / t.median.as_secs_f64() / 1e9),
        vs_cpu: None,
        vs_numpy: None,
        max_error: timing.filter(|_| computes).map(|t| t.max_error),
        computes,
        comparable: computes,
        note,
        adapter: backend
            .starts_with("gpu")
            .then(crate::bench_gpu::adapter_json)
            .flatten(),
    }
}

/// What a timed backend hands back for one case.
struct Timing {
    median: Duration,
    max_error: f64,
}

/// Runs the bench: the suite, the table on stdout, optionally JSON.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let cases = suite(args);
    let repeat = args.repeat.unwrap_or(if args.quick { 3 } else { 5 }).max(1);
    let peers: Vec<(BenchBackend, Result<Peer, String>)> = BenchBackend::PEERS
        .into_iter()
        .filter(|p| args.backends.contains(p))
        .map(|p| (p, Peer::find(p)))
        .collect();
    let cpu = if args.backends.contains(&BenchBackend::Cpu) {
        ndgrad::resolve_backend(Backend::Cpu).map_err(|e| e.to_string())
    } else {
        Err("not requested".into())
    };

    let gpu_ok = print_header(&peers, &cpu) && args.backends.contains(&BenchBackend::Gpu);
    let progress = indicatif::ProgressBar::new(cases.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?,
    );
    let mut rows = Vec::new();
    let mut mismatches = 0;
    for case in &cases {
        progress.set_message(case.label());
        let case_rows = match case.dtype {
            Dtype::F32 => run_case::<f32>(case, args, repeat, &peers, &cpu, gpu_ok)?,
            Dtype::F64 => run_case::<f64>(case, args, repeat, &peers, &cpu, gpu_ok)?,
        };
        mismatches += case_rows
            .iter()
            .filter(|r| r.note.starts_with("MISMATCH"))
            .count();
        rows.extend(case_rows);
        progress.inc(1);
    }
    progress.finish_and_clear();
    print_table(&rows);

    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if mismatches > 0 {
        return Err(format!(
            "{mismatches} result(s) differ from the reference: see MISMATCH rows above"
        ));
    }
    Ok(())
}

/// The default suite, narrowed by whatever options were given.
fn suite(args: &BenchArgs) -> Vec<Case> {
    let shapes = match &args.shape {
        Some(shape) => vec![shape.clone()],
        None if args.quick => vec![vec![1 << 14], vec![128, 128], vec![24, 24, 24]],
        None => vec![vec![1 << 22], vec![2048, 2048], vec![160, 160, 160]],
    };
    let dtypes = args.dtype.map_or(vec![Dtype::F32, Dtype::F64], |d| vec![d]);
    let spacings = args
        .spacing
        .map_or(vec![SpacingForm::Uniform, SpacingForm::Coords], |s| vec![s]);
    let orders = args.edge_order.map_or(vec![1, 2], |e| vec![e]);
    let mut cases = Vec::new();
    for shape in &shapes {
        for &dtype in &dtypes {
            for &spacing in &spacings {
                for &edge_order in &orders {
                    cases.push(Case {
                        shape: shape.clone(),
                        dtype,
                        spacing,
                        edge_order,
                        axes: args.axis.clone(),
                    });
                }
            }
        }
    }
    cases
}

/// A deterministic pseudo-random generator (SplitMix64): the bench needs the
/// same arrays on every run, and no dependency for it.
struct SplitMix(u64);

impl SplitMix {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The input and the options of a case.
struct Inputs<T> {
    f: ArrayD<T>,
    opts: GradientOptions,
    /// The smallest spacing step over the requested axes (for tolerances).
    min_step: f64,
    naxes: usize,
}

fn inputs<T: Element>(case: &Case) -> Result<Inputs<T>, String> {
    let mut rng = SplitMix(0x5EED ^ case.len() as u64);
    let f = ArrayD::from_shape_simple_fn(IxDyn(&case.shape), || {
        T::from_f64(2.0 * rng.next_unit() - 1.0)
    });
    let ndim = case.shape.len() as isize;
    let axes: Vec<usize> = match &case.axes {
        None => (0..case.shape.len()).collect(),
        Some(list) => list
            .iter()
            .map(|&a| {
                if a < 0 {
                    (a + ndim) as usize
                } else {
                    a as usize
                }
            })
            .collect(),
    };
    let mut opts = GradientOptions::new().edge_order(if case.edge_order == 2 {
        EdgeOrder::Second
    } else {
        EdgeOrder::First
    });
    if let Some(list) = &case.axes {
        opts = opts.axes(list.iter().copied());
    }
    let (spacing, min_step) = match case.spacing {
        SpacingForm::Uniform => (Spacing::Uniform(0.5), 0.5),
        SpacingForm::Coords => {
            let mut min_step = f64::INFINITY;
            let items = axes
                .iter()
                .map(|&k| {
                    let n = case.shape.get(k).copied().unwrap_or(0);
                    let mut x = 0.0;
                    let coords: Vec<f64> = (0..n)
                        .map(|_| {
                            let step = 0.5 + rng.next_unit();
                            min_step = min_step.min(step);
                            x += step;
                            x
                        })
                        .collect();
                    AxisSpacing::from(coords)
                })
                .collect();
            (Spacing::PerAxis(items), min_step)
        }
    };
    Ok(Inputs {
        f,
        opts: opts.spacing(spacing),
        min_step,
        naxes: axes.len(),
    })
}

/// Largest |a − b| over all axes; NaN where exactly one side is NaN, and
/// matching NaNs and infinities count as equal.
fn max_error<T: Element>(got: &[ArrayD<T>], want: &[ArrayD<T>]) -> f64 {
    let mut worst = 0.0f64;
    for (g, w) in got.iter().zip(want) {
        for (&g, &w) in g.iter().zip(w.iter()) {
            let (g, w) = (g.to_f64(), w.to_f64());
            let err = if g == w || (g.is_nan() && w.is_nan()) {
                0.0
            } else {
                (g - w).abs()
            };
            if err.is_nan() || err > worst {
                worst = if err.is_nan() { f64::INFINITY } else { err };
            }
        }
    }
    worst
}

/// The error a correct backend may show, relative to max|f| / smallest step:
/// f64 kernels agree to a few ulp; f32 kernels round coefficients and
/// divisions in f32 (WGSL division is not even correctly rounded).
fn tolerance<T: Element>(inputs: &Inputs<T>) -> f64 {
    let peak = inputs.f.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
    let rel = if std::mem::size_of::<T>() == 4 {
        1e-5
    } else {
        1e-12
    };
    rel * peak.max(1.0) / inputs.min_step
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// Times `f` once to warm up, then `repeat` times; returns the median.
pub(crate) fn time_median<R>(repeat: usize, mut f: impl FnMut() -> R) -> Duration {
    drop(f());
    median(
        (0..repeat)
            .map(|_| {
                let t = Instant::now();
                let r = f();
                let elapsed = t.elapsed();
                drop(r);
                elapsed
            })
            .collect(),
    )
}

fn run_case<T>(
    case: &Case,
    args: &BenchArgs,
    repeat: usize,
    peers: &[(BenchBackend, Result<Peer, String>)],
    cpu: &Result<Backend, String>,
    gpu_ok: bool,
) -> Result<Vec<Row>, String>
where
    T: Element + WritableElement + ReadableElement,
{
    let inputs = inputs::<T>(case)?;
    let reference = ndgrad::gradient_as::<T, _, _, _>(
        &inputs.f,
        &inputs.opts.clone().backend(Backend::Reference),
    )
    .map_err(|e| format!("{}: {e}", case.label()))?;
    let tol = tolerance(&inputs);
    let bytes = ((1 + inputs.naxes) * case.len() * std::mem::size_of::<T>()) as f64;
    let row = |backend: &str, computes: bool, timing: Option<&Timing>, note: String| {
        row_of(case, backend, computes, timing, bytes, note)
    };
    // A backend's result is checked before it is timed; a mismatch is never timed.
    let checked_vs = |want: &[ArrayD<T>],
                      tol: f64,
                      bytes: f64,
                      backend: &str,
                      result: Result<Vec<ArrayD<T>>, String>,
                      time: &dyn Fn() -> Duration| {
        let row = |timing: Option<&Timing>, note: String| {
            row_of(case, backend, true, timing, bytes, note)
        };
        match result {
            Err(e) => row(None, format!("skipped: {e}")),
            Ok(got) => {
                let err = max_error(&got, want);
                if err <= tol {
                    let timing = Timing {
                        median: time(),
                        max_error: err,
                    };
                    row(Some(&timing), String::new())
                } else {
                    let note = format!("MISMATCH: max error {err:.3e} > tolerance {tol:.3e}");
                    eprintln!("ndgrad bench: {} {backend}: {note}", case.label());
                    row(None, note)
                }
            }
        }
    };
    let checked =
        |backend: &str, result: Result<Vec<ArrayD<T>>, String>, time: &dyn Fn() -> Duration| {
            checked_vs(&reference, tol, bytes, backend, result, time)
        };

    let mut rows = Vec::new();
    if args.backends.contains(&BenchBackend::Reference) {
        let opts = inputs.opts.clone().backend(Backend::Reference);
        let time = || {
            time_median(repeat, || {
                ndgrad::gradient_as::<T, _, _, _>(&inputs.f, &opts)
            })
        };
        rows.push(checked("reference", Ok(reference.clone()), &time));
    }
    if args.backends.contains(&BenchBackend::Cpu) {
        if cpu.is_ok() {
            let opts = inputs.opts.clone().backend(Backend::Cpu);
            let result =
                ndgrad::gradient_as::<T, _, _, _>(&inputs.f, &opts).map_err(|e| e.to_string());
            let time = || {
                time_median(repeat, || {
                    ndgrad::gradient_as::<T, _, _, _>(&inputs.f, &opts)
                })
            };
            rows.push(checked("cpu", result, &time));
        }
        let copy = memcpy_baseline::<T>(case.len() * (1 + inputs.naxes), repeat);
        rows.push(row(
            "cpu memcpy",
            false,
            Some(&Timing {
                median: copy,
                max_error: 0.0,
            }),
            "same bytes, all threads".into(),
        ));
    }
    if args.backends.contains(&BenchBackend::Gpu) && gpu_ok {
        // The kernel-only row runs the same kernels as the end-to-end row,
        // whose result was checked: it carries that row's error.
        let mut gpu_rows = crate::bench_gpu::rows(
            &inputs.f,
            &inputs.opts,
            repeat,
            &checked,
            &|backend, median, note| {
                let timing = median.map(|median| Timing {
                    median,
                    max_error: 0.0,
                });
                row(backend, true, timing.as_ref(), note)
            },
            &|backend, median, moved, note| {
                let timing = Timing {
                    median,
                    max_error: 0.0,
                };
                row_of(case, backend, false, Some(&timing), moved as f64, note)
            },
        );
        let gpu_error = gpu_rows.first().and_then(|r| r.max_error).unwrap_or(0.0);
        for r in gpu_rows.iter_mut().filter(|r| r.backend == "gpu kernel") {
            r.max_error = r.median_s.map(|_| gpu_error);
        }
        rows.extend(gpu_rows);
    }
    rows.extend(variant_rows(
        case,
        &inputs,
        args,
        repeat,
        cpu.is_ok(),
        gpu_ok,
        &checked_vs,
    )?);
    for (peer, found) in peers {
        if let Ok(python) = found {
            let (result, median, device) = match python.run(&inputs, case, repeat) {
                Ok((arrays, median, device)) => (Ok(arrays), median, device),
                Err(e) => (Err(e), Duration::ZERO, String::new()),
            };
            let mut row = checked(peer.module(), result, &|| median);
            if *peer != BenchBackend::Numpy {
                if row.median_s.is_some() {
                    row.note = format!("device-resident on {device}");
                } else if let Some(detail) = row.note.strip_prefix("MISMATCH: ") {
                    // A peer that computes something else is reported, not
                    // timed, and does not fail the run: only ndgrad's rows
                    // and numpy (the definition) do.
                    row.note = format!("DIFFERS from the reference (not timed): {detail}");
                }
            }
            rows.push(row);
        }
    }
    ratios(&mut rows);
    Ok(rows)
}

/// Fills `vs CPU` and `vs numpy` (how many times faster than that row) for
/// the rows computing the case's own request, and the notes of the rows
/// measured against a baseline or a sibling:
/// - `cpu`: its fraction of the memcpy's bandwidth;
/// - `gpu kernel`, `gpu per-axis kernel`: their fraction of the copy
///   kernel's bandwidth (same bytes counted);
/// - `gpu end to end`: its time over upload plus download alone;
/// - `gpu magnitude`: its speed relative to `cpu magnitude`;
/// - `gpu u16 end to end`, `cpu u16`: their speed relative to the same
///   backend on the case's own (f32 or f64) input.
fn ratios(rows: &mut [Row]) {
    let time_of = |rows: &[Row], backend: &str| {
        rows.iter()
            .find(|r| r.backend == backend)
            .and_then(|r| r.median_s)
    };
    let cpu = time_of(rows, "cpu");
    let numpy = time_of(rows, "numpy");
    let memcpy = time_of(rows, "cpu memcpy");
    let copy_kernel = time_of(rows, "gpu copy kernel");
    let gpu = time_of(rows, "gpu end to end");
    let transfers = time_of(rows, "gpu upload").zip(time_of(rows, "gpu download"));
    let cpu_magnitude = time_of(rows, "cpu magnitude");
    for r in rows.iter_mut().filter(|r| r.computes) {
        let Some(t) = r.median_s else { continue };
        if r.comparable {
            r.vs_cpu = cpu.map(|c| c / t);
            r.vs_numpy = numpy.map(|n| n / t);
        }
        let note = match r.backend.as_str() {
            "cpu" => memcpy.map(|b| format!("{:.2}x memcpy bandwidth", b / t)),
            "gpu kernel" | "gpu per-axis kernel" => copy_kernel.map(|b| {
                let which = r.note.split(';').next().unwrap_or_default().to_string();
                format!("{which}; {:.2}x copy kernel bandwidth", b / t)
            }),
            "gpu end to end" => {
                transfers.map(|(u, d)| format!("time / (upload + download): {:.2}x", t / (u + d)))
            }
            "gpu magnitude" => {
                cpu_magnitude.map(|c| format!("speed vs cpu magnitude: {:.2}x", c / t))
            }
            "gpu u16 end to end" => gpu.map(|g| format!("speed vs float input: {:.2}x", g / t)),
            "cpu u16" => cpu.map(|c| format!("speed vs float input: {:.2}x", c / t)),
            _ => None,
        };
        if let Some(note) = note {
            r.note = note;
        }
    }
}

/// Checks a result against `want` within `tol` and times it:
/// `(want, tol, bytes moved, backend, result, time)`.
type CheckedVs<'a, T> = &'a dyn Fn(
    &[ArrayD<T>],
    f64,
    f64,
    &str,
    Result<Vec<ArrayD<T>>, String>,
    &dyn Fn() -> Duration,
) -> Row;

/// The same case computed two other ways, each checked against the
/// reference of what it computes:
/// - the gradient magnitude (`gpu magnitude`, `cpu magnitude`), against the
///   reference magnitude;
/// - the input quantised to u16 (`gpu u16 end to end`, `cpu u16`), results
///   in the case's type, against the reference on the same u16 array: a
///   16-bit CT volume moves half the bytes of f32 to the GPU.
fn variant_rows<T>(
    case: &Case,
    inputs: &Inputs<T>,
    args: &BenchArgs,
    repeat: usize,
    cpu_ok: bool,
    gpu_ok: bool,
    checked_vs: CheckedVs<'_, T>,
) -> Result<Vec<Row>, String>
where
    T: Element,
{
    let mut backends = Vec::new();
    if args.backends.contains(&BenchBackend::Gpu) && gpu_ok {
        backends.push(("gpu", Backend::Gpu));
    }
    if args.backends.contains(&BenchBackend::Cpu) && cpu_ok {
        backends.push(("cpu", Backend::Cpu));
    }
    if backends.is_empty() {
        return Ok(Vec::new());
    }
    let elem = std::mem::size_of::<T>();
    let err = |e: ndgrad::Error| format!("{}: {e}", case.label());
    let mut rows = Vec::new();

    let magnitude = |backend| {
        ndgrad::gradient_magnitude_as::<T, _, _, _>(
            &inputs.f,
            &inputs.opts.clone().backend(backend),
        )
        .map(|m| vec![m])
    };
    let want = magnitude(Backend::Reference).map_err(err)?;
    let tol = tolerance(inputs) * (inputs.naxes as f64).sqrt();
    let bytes = (2 * case.len() * elem) as f64;
    for &(name, backend) in &backends {
        let time = || time_median(repeat, || magnitude(backend));
        let result = magnitude(backend).map_err(|e| e.to_string());
        let mut row = checked_vs(
            &want,
            tol,
            bytes,
            &format!("{name} magnitude"),
            result,
            &time,
        );
        row.comparable = false;
        rows.push(row);
    }

    let quantised = inputs
        .f
        .mapv(|v| ((v.to_f64() + 1.0) * 30_000.0).round() as u16);
    let u16_gradient = |backend| {
        ndgrad::gradient_as::<T, _, _, _>(&quantised, &inputs.opts.clone().backend(backend))
    };
    let want = u16_gradient(Backend::Reference).map_err(err)?;
    let tol = tolerance(inputs) * 60_000.0;
    let bytes = (case.len() * (2 + inputs.naxes * elem)) as f64;
    for &(name, backend) in &backends {
        let label = match name {
            "gpu" => "gpu u16 end to end",
            _ => "cpu u16",
        };
        let time = || time_median(repeat, || u16_gradient(backend));
        let result = u16_gradient(backend).map_err(|e| e.to_string());
        let mut row = checked_vs(&want, tol, bytes, label, result, &time);
        row.comparable = false;
        rows.push(row);
    }
    Ok(rows)
}

/// A multi-threaded copy moving as many bytes as the gradient does: it reads
/// and writes `total / 2` elements, where `total` counts the input once and
/// each output once.
fn memcpy_baseline<T: Element>(total: usize, repeat: usize) -> Duration {
    let half = (total / 2).max(1);
    let src = vec![T::from_f64(1.5); half];
    let mut dst = vec![T::from_f64(0.0); half];
    // rayon's pool is already running (the CPU backend uses it), so no thread
    // start-up is timed; 64 KiB pieces keep every thread busy.
    let chunk = (1 << 16) / std::mem::size_of::<T>();
    time_median(repeat, || {
        dst.par_chunks_mut(chunk)
            .zip(src.par_chunks(chunk))
            .for_each(|(d, c)| d.copy_from_slice(c));
    })
}

/// A peer library (numpy, cupy or torch) through `python3` (or
/// `$NDGRAD_PYTHON`), run by `scripts/peer_bench.py` in its job mode.
struct Peer {
    library: BenchBackend,
    python: String,
    version: String,
    dir: tempfile::TempDir,
}

impl Peer {
    /// The peer, if its Python module imports (cupy: and sees a device).
    fn find(library: BenchBackend) -> Result<Peer, String> {
        let python = std::env::var("NDGRAD_PYTHON").unwrap_or_else(|_| "python3".into());
        let module = library.module();
        let probe = match library {
            BenchBackend::Cupy => "import cupy; cupy.cuda.Device(0).compute_capability; print(cupy.__version__)",
            BenchBackend::Torch => "import torch; print(torch.__version__, 'cuda' if torch.cuda.is_available() else 'cpu')",
            _ => "import numpy; print(numpy.__version__)",
        };
        let out = Command::new(&python)
            .args(["-c", probe])
            .output()
            .map_err(|e| format!("{python} not found ({e})"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("no message").trim();
            return Err(format!("{python} cannot use {module}: {last}"));
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        Ok(Peer {
            library,
            python,
            version,
            dir,
        })
    }

    /// Saves the case, runs the peer on it, and reads its result, median
    /// time and device back.
    fn run<T>(
        &self,
        inputs: &Inputs<T>,
        case: &Case,
        repeat: usize,
    ) -> Result<(Vec<ArrayD<T>>, Duration, String), String>
    where
        T: Element + WritableElement + ReadableElement,
    {
        let module = self.library.module();
        let dir = self.dir.path();
        let save = |name: &str, write: &dyn Fn(&Path) -> Result<(), ndarray_npy::WriteNpyError>| {
            let path = dir.join(name);
            write(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok::<_, String>(path.display().to_string())
        };
        let f = save("f.npy", &|p| ndarray_npy::write_npy(p, &inputs.f))?;
        let spacing: Vec<serde_json::Value> = match &inputs.opts.spacing {
            Spacing::Unit => vec![],
            Spacing::Uniform(h) => vec![(*h).into()],
            Spacing::PerAxis(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    AxisSpacing::Scalar(h) => Ok((*h).into()),
                    AxisSpacing::Coordinates(x) => {
                        save(&format!("x{i}.npy"), &|p| ndarray_npy::write_npy(p, x))
                            .map(serde_json::Value::from)
                    }
                })
                .collect::<Result<_, String>>()?,
        };
        let out = dir.join("out").display().to_string();
        let job = serde_json::json!({
            "library": module,
            "f": f,
            "spacing": spacing,
            "axes": case.axes,
            "edge_order": case.edge_order,
            "repeat": repeat,
            "out": out,
        });
        let job_path = dir.join("job.json");
        std::fs::write(&job_path, job.to_string()).map_err(|e| e.to_string())?;
        let output = Command::new(&self.python)
            .args(["-c", include_str!("../../scripts/peer_bench.py"), "job"])
            .arg(&job_path)
            .output()
            .map_err(|e| e.to_string())?;
        if !output.status.success() {
            let err = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "{module} failed: {}",
                err.lines().last().unwrap_or("no message")
            ));
        }
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("unreadable {module} report: {e}"))?;
        let median = report["median_s"]
            .as_f64()
            .ok_or(format!("{module} report has no median"))?;
        let device = report["device"].as_str().unwrap_or("?").to_string();
        let arrays = (0..inputs.naxes)
            .map(|i| {
                let path = format!("{out}{i}.npy");
                ndarray_npy::read_npy::<_, ArrayD<T>>(&path)
                    .map_err(|e| format!("cannot read {module}'s result {path}: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok((arrays, Duration::from_secs_f64(median), device))
    }
}

/// Prints what runs and what is skipped (once, not per row); returns whether the GPU rows can run.
fn print_header(
    peers: &[(BenchBackend, Result<Peer, String>)],
    cpu: &Result<Backend, String>,
) -> bool {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("ndgrad bench: CPU: {} ({threads} threads)", cpu_model());
    match cpu {
        Ok(_) => {}
        Err(e) => println!("CPU backend: skipped ({e})"),
    }
    for (peer, found) in peers {
        match found {
            Ok(p) => println!("{}: {} via {}", peer.module(), p.version, p.python),
            Err(e) => println!("{}: skipped ({e})", peer.module()),
        }
    }
    let (gpu_line, gpu_ok) = crate::bench_gpu::header();
    println!("{gpu_line}");
    println!(
        "times are medians after a warm-up; vs CPU / vs numpy = how many times faster than that row; \
         effective GB/s counts the input read once and each output written once"
    );
    println!();
    gpu_ok
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn print_table(rows: &[Row]) {
    let header = [
        "case",
        "backend",
        "median time",
        "Melem/s",
        "eff. GB/s",
        "vs CPU",
        "vs numpy",
        "max error",
        "notes",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            let num =
                |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
            [
                r.case.clone(),
                r.backend.clone(),
                r.median_s.map_or("-".into(), format_time),
                num(r.melem_per_s, 1),
                num(r.effective_gb_s, 2),
                r.vs_cpu.map_or("-".into(), |v| format!("{v:.2}x")),
                r.vs_numpy.map_or("-".into(), |v| format!("{v:.2}x")),
                r.max_error.map_or("-".into(), |v| format!("{v:.1e}")),
                r.note.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if i > 1 && i < 8 {
                s.push_str(&format!("{c:>w$}  "));
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(&header.map(String::from));
    let mut last_case = None;
    for (row, r) in cells.iter().zip(rows) {
        if last_case.is_some() && last_case != Some(&r.case) {
            println!();
        }
        last_case = Some(&r.case);
        line(row);
    }
}

fn format_time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}
