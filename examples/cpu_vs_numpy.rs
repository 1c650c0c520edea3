//! Side-by-side measurements of the CPU backend, in one run: against
//! `numpy.gradient` on the same array, against a plain memory copy of the
//! same number of bytes, 1 thread against all threads, fused against one
//! pass per axis, and strided reads against copying a transposed input.
//!
//! ```text
//! cargo run --release --example cpu_vs_numpy [-- [--reps N] [NAME_FILTER]]
//! ```
//!
//! Each case is verified against the reference formulas (`Tap::apply` in
//! `f64`, as `ndgrad::reference` does) on a random sample of a million
//! points before it is timed. Every timing is the median of `--reps` runs
//! after one warm-up run. numpy is timed by `benches/numpy_time.py` on the
//! array this program saves to a temporary `.npy` file.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use ndgrad::stencil::Tap;
use ndgrad::{cpu, gradient, AxisSpacing, Backend, EdgeOrder, GradientOptions, Plan, Spacing};
use rayon::prelude::*;

struct Options {
    reps: usize,
    filter: Option<String>,
}

fn parse_args() -> Options {
    let mut opts = Options {
        reps: 5,
        filter: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--reps" {
            opts.reps = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--reps takes a number");
        } else {
            opts.filter = Some(arg);
        }
    }
    opts
}

/// Deterministic samples in [0, 1): a xorshift stream.
fn input(shape: &[usize]) -> ArrayD<f32> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    })
}

/// x[i] = i + 0.25·(i mod 3) on every axis (benches/numpy_time.py uses the same).
fn non_uniform(shape: &[usize]) -> Spacing {
    Spacing::PerAxis(
        shape
            .iter()
            .map(|&n| {
                AxisSpacing::from(
                    (0..n)
                        .map(|i| i as f64 + 0.25 * (i % 3) as f64)
                        .collect::<Vec<_>>(),
                )
            })
            .collect(),
    )
}

/// The median wall time of `reps` runs of `run`, after one warm-up run.
/// `run`'s result is dropped outside the timed region.
fn median_s<R>(reps: usize, mut run: impl FnMut() -> R) -> f64 {
    drop(std::hint::black_box(run()));
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            let out = std::hint::black_box(run());
            let t = start.elapsed().as_secs_f64();
            drop(out);
            t
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Checks `got` against the reference formulas at a million random points
/// (all of them for smaller arrays); f32 within 8 ulp of the tap magnitude.
fn verify(f: ArrayViewD<f32>, plan: &Plan, got: &[ArrayD<f32>]) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let max_f = f.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
    let len = plan.len();
    let points = len.min(1 << 20);
    let data = f.as_standard_layout();
    let data = data.as_slice().expect("standard layout");
    for (ax, out) in plan.axes.iter().zip(got) {
        let out = out.as_slice().expect("outputs are C-ordered");
        let magnitude = (0..ax.n)
            .map(|i| match ax.stencil.tap(i) {
                Tap::Difference { denom, .. } => 2.0 / denom.abs(),
                Tap::Weighted { w, .. } => w.iter().map(|w| w.abs()).sum(),
            })
            .fold(0.0, f64::max);
        let tol = 8.0 * f64::from(f32::EPSILON) * max_f * magnitude;
        for p in 0..points {
            let flat = if points == len {
                p
            } else {
                (next() % len as u64) as usize
            };
            let (o, rest) = (flat / (ax.n * ax.inner), flat % (ax.n * ax.inner));
            let (i, j) = (rest / ax.inner, rest % ax.inner);
            let want = ax
                .stencil
                .tap(i)
                .apply(|k| f64::from(data[ax.index(o, k, j)]));
            let got = f64::from(out[flat]);
            assert!(
                (got - want).abs() <= tol,
                "axis {}: element {flat}: cpu {got}, reference {want}",
                ax.axis
            );
        }
    }
}

/// numpy's median time on `f`, measured by benches/numpy_time.py.
fn numpy_s(f: &ArrayD<f32>, edge_order: usize, nonuniform: bool, reps: usize) -> f64 {
    let path = std::env::temp_dir().join(format!("ndgrad-bench-{}.npy", std::process::id()));
    ndarray_npy::write_npy(&path, f).expect("write the array for numpy");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/numpy_time.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(&path)
        .args(["--edge-order", &edge_order.to_string()])
        .args(["--reps", &reps.to_string()]);
    if nonuniform {
        cmd.arg("--nonuniform");
    }
    let output = cmd.output().expect("run python3");
    std::fs::remove_file(&path).ok();
    assert!(
        output.status.success(),
        "numpy_time.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(text.trim()).expect("numpy_time.py JSON");
    json["median_s"].as_f64().expect("median_s")
}

/// Median time of copying `bytes` between two pre-faulted buffers, with
/// `threads` threads (each copies a contiguous part).
fn memcpy_s(bytes: usize, threads: usize, reps: usize) -> f64 {
    let src = vec![1u8; bytes];
    let mut dst = vec![2u8; bytes];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let chunk = bytes.div_ceil(threads * 4);
    pool.install(|| {
        median_s(reps, || {
            dst.par_chunks_mut(chunk)
                .zip(src.par_chunks(chunk))
                .for_each(|(d, s)| d.copy_from_slice(s));
        })
    })
}

fn gib_s(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / seconds / (1u64 << 30) as f64
}

struct Case {
    name: &'static str,
    shape: &'static [usize],
    edge_order: EdgeOrder,
    nonuniform: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "3-D 256^3",
        shape: &[256, 256, 256],
        edge_order: EdgeOrder::First,
        nonuniform: false,
    },
    Case {
        name: "3-D 512^3",
        shape: &[512, 512, 512],
        edge_order: EdgeOrder::First,
        nonuniform: false,
    },
    Case {
        name: "2-D 4096^2",
        shape: &[4096, 4096],
        edge_order: EdgeOrder::First,
        nonuniform: false,
    },
    Case {
        name: "1-D 2^24",
        shape: &[1 << 24],
        edge_order: EdgeOrder::First,
        nonuniform: false,
    },
    Case {
        name: "3-D 256^3 non-uniform",
        shape: &[256, 256, 256],
        edge_order: EdgeOrder::First,
        nonuniform: true,
    },
    Case {
        name: "2-D 4096^2 non-uniform",
        shape: &[4096, 4096],
        edge_order: EdgeOrder::First,
        nonuniform: true,
    },
    Case {
        name: "3-D 256^3 edge order 2",
        shape: &[256, 256, 256],
        edge_order: EdgeOrder::Second,
        nonuniform: false,
    },
    Case {
        name: "2-D 4096^2 edge order 2",
        shape: &[4096, 4096],
        edge_order: EdgeOrder::Second,
        nonuniform: false,
    },
];

fn main() {
    let args = parse_args();
    let reps = args.reps;
    let threads = rayon::current_num_threads();
    println!("ndgrad CPU backend vs numpy {threads} rayon threads, median of {reps} runs");
    println!();
    println!("| case | ndgrad (ms) | numpy (ms) | speed-up | into buffers (ms) | GiB/s | memcpy {threads}t GiB/s | of memcpy |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let selected = |name: &str| args.filter.as_deref().is_none_or(|f| name.contains(f));
    for case in CASES.iter().filter(|c| selected(c.name)) {
        let f = input(case.shape);
        let spacing = if case.nonuniform {
            non_uniform(case.shape)
        } else {
            Spacing::Unit
        };
        let opts = GradientOptions::new()
            .spacing(spacing)
            .edge_order(case.edge_order)
            .backend(Backend::Cpu);
        let plan = Plan::new(case.shape, &opts).unwrap();
        let got = gradient(&f, &opts).unwrap();
        verify(f.view(), &plan, &got);
        drop(got);

        let ours = median_s(reps, || gradient(&f, &opts).unwrap());
        let mut outputs: Vec<Vec<f32>> = plan.axes.iter().map(|_| vec![0.0; f.len()]).collect();
        let into = median_s(reps, || {
            let mut slices: Vec<&mut [f32]> = outputs.iter_mut().map(|o| &mut o[..]).collect();
            cpu::gradient_into(&plan, f.view(), &mut slices);
        });
        drop(outputs);
        let bytes = f.len() * 4 * (1 + plan.axes.len());
        let copy = memcpy_s(bytes / 2, threads, reps);
        let numpy = numpy_s(&f, case.edge_order.get(), case.nonuniform, reps);
        println!(
            "| {} | {:.1} | {:.1} | {:.1}× | {:.1} | {:.1} | {:.1} | {:.2}× |",
            case.name,
            ours * 1e3,
            numpy * 1e3,
            numpy / ours,
            into * 1e3,
            gib_s(bytes, into),
            gib_s(bytes, copy),
            copy / into,
        );
    }

    if selected("scaling") {
        println!();
        let f = input(&[256, 256, 256]);
        let opts = GradientOptions::new().backend(Backend::Cpu);
        let plan = Plan::new(f.shape(), &opts).unwrap();
        let mut outputs: Vec<Vec<f32>> = plan.axes.iter().map(|_| vec![0.0; f.len()]).collect();
        let mut time_with = |n: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            pool.install(|| {
                median_s(reps, || {
                    let mut slices: Vec<&mut [f32]> =
                        outputs.iter_mut().map(|o| &mut o[..]).collect();
                    cpu::gradient_into(&plan, f.view(), &mut slices);
                })
            })
        };
        let one = time_with(1);
        let all = time_with(threads);
        let bytes = f.len() * 4 * 4;
        println!("| 256^3 all axes, into buffers | 1 thread (ms) | {threads} threads (ms) | scaling | memcpy 1t GiB/s | memcpy {threads}t GiB/s |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
        println!(
            "| thread scaling | {:.1} | {:.1} | {:.2}× | {:.1} | {:.1} |",
            one * 1e3,
            all * 1e3,
            one / all,
            gib_s(bytes, memcpy_s(bytes / 2, 1, reps)),
            gib_s(bytes, memcpy_s(bytes / 2, threads, reps)),
        );
    }

    if selected("design") {
        println!();
        println!("| design choice (256^3 and 4096^2 f32, all axes) | chosen (ms) | alternative (ms) | alternative / chosen |");
        println!("| --- | ---: | ---: | ---: |");
        for shape in [&[256usize, 256, 256][..], &[4096, 4096]] {
            let f = input(shape);
            let opts = GradientOptions::new().backend(Backend::Cpu);
            let plan = Plan::new(shape, &opts).unwrap();
            let mut outputs: Vec<Vec<f32>> = plan.axes.iter().map(|_| vec![0.0; f.len()]).collect();
            let fused = median_s(reps, || {
                let mut slices: Vec<&mut [f32]> = outputs.iter_mut().map(|o| &mut o[..]).collect();
                cpu::gradient_into(&plan, f.view(), &mut slices);
            });
            let single: Vec<Plan> = (0..shape.len())
                .map(|k| Plan::new(shape, &opts.clone().axis(k as isize)).unwrap())
                .collect();
            let per_axis = median_s(reps, || {
                for (plan, out) in single.iter().zip(outputs.iter_mut()) {
                    cpu::gradient_into(plan, f.view(), &mut [&mut out[..]]);
                }
            });
            println!(
                "| {shape:?}: fused one pass vs one pass per axis | {:.1} | {:.1} | {:.2}× |",
                fused * 1e3,
                per_axis * 1e3,
                per_axis / fused
            );
            let reversed: Vec<usize> = shape.iter().rev().copied().collect();
            let g = input(&reversed);
            let t = g.t();
            let got = gradient(&t, &opts).unwrap();
            verify(t.view(), &plan, &got);
            drop(got);
            let strided = median_s(reps, || gradient(&t, &opts).unwrap());
            let copied = median_s(reps, || gradient(&t.as_standard_layout(), &opts).unwrap());
            println!(
                "| {shape:?} transposed (Fortran-order) input: strided reads vs copy to C order first | {:.1} | {:.1} | {:.2}× |",
                strided * 1e3,
                copied * 1e3,
                copied / strided
            );
        }
    }
}
