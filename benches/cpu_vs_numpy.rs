//! Side-by-side measurements of the CPU backend, in one run: against
//! `numpy.gradient` on the same array, against a plain memory copy of the
//! same number of bytes, 1 thread against all threads, fused against one
//! pass per axis, and strided reads against copying a transposed input.
//!
//! ```text
//! cargo bench --bench cpu_vs_numpy [-- [--reps N] [NAME_FILTER]]
//! ```
//!
//! Each case is verified against the reference formulas (`Tap::apply` in
//! `f64`, as `ndgrad::reference` does) on a random sample of a million
//! points before it is timed. numpy is timed by `scripts/peer_bench.py` (its
//! `array` mode), kept running beside this program on the array it saves to
//! a temporary `.npy`.
//! The runs of everything compared in one row (ndgrad, numpy, memcpy, ...)
//! are interleaved, one of each per round, after one warm-up each, so a
//! change in the load of the machine hits all of them alike; each figure is
//! the median of `--reps` rounds, with the fastest round in parentheses.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use ndarray::{ArrayD, ArrayViewD};
use ndgrad::{cpu, gradient, Backend, EdgeOrder, GradientOptions, Plan, Spacing};
use ndgrad_rng::Rng;
use rayon::prelude::*;

mod common;
use common::{input, non_uniform};

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
        if arg == "--bench" {
            // cargo bench passes it to every bench target.
            continue;
        }
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

/// The median and the fastest of a set of timings, in seconds.
#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
}

impl Stats {
    fn ms(self) -> String {
        format!("{:.1} ({:.1})", self.median * 1e3, self.min * 1e3)
    }
}

/// Runs each timer once to warm up, then `reps` rounds of one run of each,
/// interleaved; each timer returns the seconds its run took.
fn interleaved(reps: usize, timers: &mut [&mut dyn FnMut() -> f64]) -> Vec<Stats> {
    for timer in timers.iter_mut() {
        timer();
    }
    let mut times = vec![Vec::with_capacity(reps); timers.len()];
    for _ in 0..reps {
        for (timer, times) in timers.iter_mut().zip(&mut times) {
            times.push(timer());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(f64::total_cmp);
            Stats {
                median: t[t.len() / 2],
                min: t[0],
            }
        })
        .collect()
}

/// The seconds one call of `run` takes; its result is dropped untimed.
fn time<R>(run: impl FnOnce() -> R) -> f64 {
    let start = Instant::now();
    let out = std::hint::black_box(run());
    let seconds = start.elapsed().as_secs_f64();
    drop(out);
    seconds
}

/// Checks `got` against the reference formulas at a million random points
/// (all of them for smaller arrays); f32 within 8 ulp of the tap magnitude.
fn verify(f: ArrayViewD<f32>, plan: &Plan, got: &[ArrayD<f32>]) {
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let max_f = f.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
    let len = plan.len();
    let points = len.min(1 << 20);
    let data = f.as_standard_layout();
    let data = data.as_slice().expect("standard layout");
    for (ax, out) in plan.axes.iter().zip(got) {
        let out = out.as_slice().expect("outputs are C-ordered");
        let magnitude = (0..ax.n)
            .map(|i| ax.stencil.tap(i).gain())
            .fold(0.0, f64::max);
        let tol = 8.0 * f64::from(f32::EPSILON) * max_f * magnitude;
        for p in 0..points {
            let flat = if points == len { p } else { rng.below(len) };
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

/// scripts/peer_bench.py serving timings of numpy.gradient on one array.
struct Numpy {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    path: std::path::PathBuf,
}

impl Numpy {
    fn start(f: &ArrayD<f32>, edge_order: usize, nonuniform: bool) -> Numpy {
        let path = std::env::temp_dir().join(format!("ndgrad-bench-{}.npy", std::process::id()));
        ndarray_npy::write_npy(&path, f).expect("write the array for numpy");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peer_bench.py");
        let mut cmd = Command::new("python3");
        cmd.arg(&script)
            .arg("array")
            .arg(&path)
            .args(["--edge-order", &edge_order.to_string(), "--serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if nonuniform {
            cmd.arg("--nonuniform");
        }
        let mut child = cmd.spawn().expect("run python3 scripts/peer_bench.py");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut numpy = Numpy {
            child,
            stdin,
            stdout,
            path,
        };
        assert_eq!(numpy.line(), "ready", "peer_bench.py failed to start");
        numpy
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read peer_bench.py");
        line.trim().to_string()
    }

    /// The seconds one numpy.gradient call takes, as numpy measures it.
    fn run(&mut self) -> f64 {
        writeln!(self.stdin, "run").expect("write to peer_bench.py");
        self.line().parse().expect("peer_bench.py prints seconds")
    }
}

impl Drop for Numpy {
    fn drop(&mut self) {
        writeln!(self.stdin, "stop").ok();
        self.child.wait().ok();
        std::fs::remove_file(&self.path).ok();
    }
}

/// A timer for copying `bytes` between two pre-faulted buffers with
/// `threads` threads (each copies a contiguous part).
fn memcpy(bytes: usize, threads: usize) -> impl FnMut() -> f64 {
    let src = vec![1u8; bytes];
    let mut dst = vec![2u8; bytes];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let chunk = bytes.div_ceil(threads * 4);
    move || {
        pool.install(|| {
            time(|| {
                dst.par_chunks_mut(chunk)
                    .zip(src.par_chunks(chunk))
                    .for_each(|(d, s)| d.copy_from_slice(s))
            })
        })
    }
}

/// A timer for `cpu::gradient_into` on `f` into pre-faulted buffers, on a
/// pool of `threads` threads.
fn into_buffers<'a>(
    f: ArrayViewD<'a, f32>,
    plan: &'a Plan,
    threads: usize,
) -> impl FnMut() -> f64 + 'a {
    let mut outputs: Vec<Vec<f32>> = plan.axes.iter().map(|_| vec![0.0; f.len()]).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    move || {
        let mut slices: Vec<&mut [f32]> = outputs.iter_mut().map(|o| &mut o[..]).collect();
        pool.install(|| time(|| cpu::gradient_into(plan, f.view(), &mut slices)))
    }
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
    println!(
        "ndgrad CPU backend, f32, {threads} rayon threads; median of {reps} interleaved rounds (fastest)"
    );
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

        let bytes = f.len() * 4 * (1 + plan.axes.len());
        let mut numpy = Numpy::start(&f, case.edge_order.get(), case.nonuniform);
        let stats = interleaved(
            reps,
            &mut [
                &mut || time(|| gradient(&f, &opts).unwrap()),
                &mut || numpy.run(),
                &mut into_buffers(f.view(), &plan, threads),
                &mut memcpy(bytes / 2, threads),
            ],
        );
        drop(numpy);
        let [ours, numpy, into, copy] = stats[..] else {
            unreachable!()
        };
        println!(
            "| {} | {} | {} | {:.1}× | {} | {:.1} | {:.1} | {:.2}× |",
            case.name,
            ours.ms(),
            numpy.ms(),
            numpy.median / ours.median,
            into.ms(),
            gib_s(bytes, into.median),
            gib_s(bytes, copy.median),
            copy.median / into.median,
        );
    }

    if selected("scaling") {
        println!();
        let f = input(&[256, 256, 256]);
        let plan = Plan::new(f.shape(), &GradientOptions::new()).unwrap();
        let bytes = f.len() * 4 * 4;
        let stats = interleaved(
            reps,
            &mut [
                &mut into_buffers(f.view(), &plan, 1),
                &mut into_buffers(f.view(), &plan, threads),
                &mut memcpy(bytes / 2, 1),
                &mut memcpy(bytes / 2, threads),
            ],
        );
        let [one, all, copy_one, copy_all] = stats[..] else {
            unreachable!()
        };
        println!("| 256^3 all axes, into buffers | 1 thread (ms) | {threads} threads (ms) | scaling | memcpy 1t → {threads}t scaling |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        println!(
            "| thread scaling | {} | {} | {:.2}× | {:.2}× |",
            one.ms(),
            all.ms(),
            one.median / all.median,
            copy_one.median / copy_all.median,
        );
    }

    if selected("design") {
        println!();
        println!("| design choice (f32, all axes) | chosen (ms) | alternative (ms) | alternative / chosen |");
        println!("| --- | ---: | ---: | ---: |");
        for shape in [&[256usize, 256, 256][..], &[4096, 4096]] {
            let f = input(shape);
            let opts = GradientOptions::new().backend(Backend::Cpu);
            let plan = Plan::new(shape, &opts).unwrap();
            let single: Vec<Plan> = (0..shape.len())
                .map(|k| Plan::new(shape, &opts.clone().axis(k as isize)).unwrap())
                .collect();
            let mut outputs: Vec<Vec<f32>> = plan.axes.iter().map(|_| vec![0.0; f.len()]).collect();
            let mut per_axis = || {
                time(|| {
                    for (plan, out) in single.iter().zip(outputs.iter_mut()) {
                        cpu::gradient_into(plan, f.view(), &mut [&mut out[..]]);
                    }
                })
            };
            let stats = interleaved(
                reps,
                &mut [&mut into_buffers(f.view(), &plan, threads), &mut per_axis],
            );
            println!(
                "| {shape:?}: fused one pass vs one pass per axis (into buffers) | {} | {} | {:.2}× |",
                stats[0].ms(),
                stats[1].ms(),
                stats[1].median / stats[0].median
            );
            let reversed: Vec<usize> = shape.iter().rev().copied().collect();
            let g = input(&reversed);
            let t = g.t();
            let got = gradient(&t, &opts).unwrap();
            verify(t.view(), &plan, &got);
            drop(got);
            let stats = interleaved(
                reps,
                &mut [&mut || time(|| gradient(&t, &opts).unwrap()), &mut || {
                    time(|| gradient(&t.as_standard_layout(), &opts).unwrap())
                }],
            );
            println!(
                "| {shape:?} transposed (Fortran-order) input: slab copies vs whole copy to C order first | {} | {} | {:.2}× |",
                stats[0].ms(),
                stats[1].ms(),
                stats[1].median / stats[0].median
            );
        }
    }
}
