//! `ndgrad bench`: every backend timed side by side on the same arrays, in one run.
//!
//! Each case (a shape, a dtype, a spacing form, an edge order, an axis list) is
//! computed once by the reference. Every other backend's result is checked
//! against it before that backend is timed: a mismatch is reported loudly, is
//! never timed, and makes the command fail. Times are medians over `--repeat`
//! runs after one warm-up, with the fastest and slowest run beside them;
//! ratios compare rows of the same case, measured in
//! the same process minutes apart, which is what makes them meaningful on a
//! shared, noisy machine.
//!
//! The modules, each depending only on those listed after it:
//! - this one: the entry point, and the rows of one case in order;
//! - `table`: the header and the table printed;
//! - `gpu`, `variants`: the GPU rows, and the magnitude and u16 rows;
//! - `peers`: numpy, cupy and torch through `scripts/peer_bench.py`;
//! - `ratios`: the comparisons between the rows of a case;
//! - `check`: results checked against the reference before timing;
//! - `row`: a row of the table and its JSON record;
//! - `adapter`: the GPU adapter, for the header and the records;
//! - `suite`: the cases, and the arrays of each;
//! - `timing`: warm-up, median and spread, the memcpy yardstick and the
//!   cost of fresh pages;
//! - `args`: the options.

mod adapter;
mod args;
mod check;
mod forms;
mod gpu;
mod peers;
mod ratios;
mod row;
mod suite;
mod table;
mod timing;
mod variants;

use std::cell::RefCell;
use std::time::Duration;

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadableElement, WritableElement};
use ndgrad::{Backend, Element, Plan};

pub use args::BenchArgs;
use args::{BenchBackend, Dtype};
use check::{tolerance, Checker};
use peers::Peer;
use row::{row_of, Row, Timing};
use suite::{inputs, Case};
use timing::{fresh_pages, memcpy_baseline, time_runs, Times};

/// Runs the bench: the suite, the table on stdout, optionally JSON.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let cases = suite::suite(args);
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

    let gpu_ok = table::print_header(&peers, &cpu) && args.backends.contains(&BenchBackend::Gpu);
    let progress = progress_bar(cases.len())?;
    let mut table = table::Table::start(cases.iter().map(Case::label));
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
        // A case's rows are final once its ratios are: print them now.
        progress.suspend(|| table.print_rows(&case_rows));
        rows.extend(case_rows);
        progress.inc(1);
    }
    progress.finish_and_clear();

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

/// A bar counting the cases on stderr, drawn only when stderr is a terminal.
fn progress_bar(cases: usize) -> Result<indicatif::ProgressBar, String> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return Ok(indicatif::ProgressBar::hidden());
    }
    let style =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} cases  {elapsed}  {msg}")
            .map_err(|e| e.to_string())?;
    let bar = indicatif::ProgressBar::new(cases as u64).with_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    Ok(bar)
}

/// The rows of one case: the reference, the CPU (fresh outputs and reused
/// ones), its memcpy yardstick and the cost of its fresh pages,
/// the GPU rows, the variants and the peers, each checked, then compared.
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
    // A backend's result is checked before it is timed; a mismatch is never timed.
    let checker = Checker {
        case,
        want: &reference,
        tol: tolerance(&inputs),
        bytes: ((1 + inputs.naxes) * case.len() * std::mem::size_of::<T>()) as f64,
    };

    let mut rows = Vec::new();
    if args.backends.contains(&BenchBackend::Reference) {
        let opts = inputs.opts.clone().backend(Backend::Reference);
        let time = || {
            time_runs(repeat, || {
                ndgrad::gradient_as::<T, _, _, _>(&inputs.f, &opts)
            })
        };
        rows.push(checker.row("reference", Ok(reference.clone()), &time));
    }
    if args.backends.contains(&BenchBackend::Cpu) {
        if cpu.is_ok() {
            let opts = inputs.opts.clone().backend(Backend::Cpu);
            let result =
                ndgrad::gradient_as::<T, _, _, _>(&inputs.f, &opts).map_err(|e| e.to_string());
            let time = || {
                time_runs(repeat, || {
                    ndgrad::gradient_as::<T, _, _, _>(&inputs.f, &opts)
                })
            };
            rows.push(checker.row("cpu", result, &time));
            rows.push(cpu_into_row(
                "cpu into", case, &inputs.f, &opts, repeat, &checker,
            )?);
        }
        let copy = memcpy_baseline::<T>(case.len() * (1 + inputs.naxes), repeat);
        rows.push(row_of(
            case,
            "cpu memcpy",
            false,
            Some(&Timing {
                times: copy,
                max_error: 0.0,
            }),
            checker.bytes,
            "same bytes, all threads".into(),
        ));
        if cpu.is_ok() {
            let outputs = (case.len() * inputs.naxes * std::mem::size_of::<T>()) as f64;
            rows.push(row_of(
                case,
                "cpu fresh pages",
                false,
                Some(&Timing {
                    times: fresh_pages::<T>(inputs.naxes, case.len(), repeat),
                    max_error: 0.0,
                }),
                outputs,
                "the cpu row's output pages faulted in alone".into(),
            ));
        }
    }
    if args.backends.contains(&BenchBackend::Gpu) && gpu_ok {
        // The kernel-only row runs the same kernels as the end-to-end row,
        // whose result was checked: it carries that row's error.
        let mut gpu_rows = gpu::rows(&inputs.f, &inputs.opts, repeat, &checker);
        let gpu_error = gpu_rows.first().and_then(|r| r.max_error).unwrap_or(0.0);
        for r in gpu_rows.iter_mut().filter(|r| r.backend == "gpu kernel") {
            r.max_error = r.median_s.map(|_| gpu_error);
        }
        rows.extend(gpu_rows);
    }
    rows.extend(forms::form_rows(
        case,
        &inputs,
        args,
        repeat,
        cpu.is_ok(),
        gpu_ok,
    )?);
    rows.extend(variants::variant_rows(
        case,
        &inputs,
        args,
        repeat,
        cpu.is_ok(),
        gpu_ok,
    )?);
    for (peer, found) in peers {
        if let Ok(python) = found {
            let (result, median, device) = match python.run(&inputs, case, repeat) {
                Ok((arrays, times, device)) => (Ok(arrays), times, device),
                Err(e) => (Err(e), Times::median_only(Duration::ZERO), String::new()),
            };
            let mut row = checker.row(peer.module(), result, &|| median);
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
    ratios::ratios(&mut rows);
    Ok(rows)
}

/// The `cpu into` row: `ndgrad::cpu::gradient_into` writing into buffers
/// allocated once and already written by the previous run (the warm-up
/// writes them first), so no page is faulted in while it is timed: the
/// gradient's own cost, beside the `cpu` row's fresh outputs. Its result is
/// checked against the reference like every other row's.
fn cpu_into_row<T: Element>(
    label: &str,
    case: &Case,
    f: &ArrayD<T>,
    opts: &ndgrad::GradientOptions,
    repeat: usize,
    checker: &Checker<'_, T>,
) -> Result<Row, String> {
    let plan = Plan::new(f.shape(), opts).map_err(|e| format!("{}: {e}", case.label()))?;
    let zeros = || -> Vec<Vec<T>> {
        (0..plan.axes.len())
            .map(|_| vec![T::from_f64(0.0); plan.len()])
            .collect()
    };
    let run = |buffers: &mut Vec<Vec<T>>| {
        let mut outputs: Vec<&mut [T]> = buffers.iter_mut().map(Vec::as_mut_slice).collect();
        ndgrad::cpu::gradient_into(&plan, f.view(), &mut outputs);
    };
    let mut checked = zeros();
    run(&mut checked);
    let result = checked
        .into_iter()
        .map(|v| ArrayD::from_shape_vec(IxDyn(f.shape()), v).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>();
    let buffers = RefCell::new(Vec::new());
    let time = || {
        let mut buffers = buffers.borrow_mut();
        *buffers = zeros();
        let times = time_runs(repeat, || run(&mut buffers));
        // Freed before the next row is timed.
        *buffers = Vec::new();
        times
    };
    Ok(checker.row(label, result, &time))
}
