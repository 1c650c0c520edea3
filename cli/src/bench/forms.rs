//! The rows `--accuracy` and `--boundary` add: the case computed with the
//! stencils numpy lacks, beside the default's rows in the same run, so their
//! cost is read as a ratio (`speed vs default`).

use ndgrad::{Accuracy, AxisSpacing, Backend, Boundary, Element, GradientOptions, Spacing};

use super::args::{BenchArgs, BenchBackend, BoundaryForm};
use super::check::{tolerance, Checker};
use super::row::Row;
use super::suite::{Case, Inputs};
use super::timing::time_runs;

/// The case's options with the accuracy and boundary asked for, and a few
/// words naming them; `None` when neither differs from numpy's.
fn form(
    args: &BenchArgs,
    opts: &GradientOptions,
) -> Result<Option<(GradientOptions, String)>, String> {
    let accuracy = match args.accuracy {
        None | Some(2) => Accuracy::Second,
        Some(p) => Accuracy::from_number(p.into())
            .ok_or_else(|| format!("--accuracy must be 2, 4 or 6, not {p}"))?,
    };
    let periodic = args.boundary == Some(BoundaryForm::Periodic);
    if accuracy == Accuracy::Second && !periodic {
        return Ok(None);
    }
    let mut name = Vec::new();
    let mut opts = opts.clone().accuracy(accuracy);
    if accuracy != Accuracy::Second {
        name.push(format!("accuracy {accuracy}"));
    }
    if periodic {
        name.push("periodic".to_string());
        // Coordinates get a period one mean step past their span.
        let boundary = |item: &AxisSpacing| match item {
            AxisSpacing::Coordinates(x) if x.len() > 1 => {
                let span = x[x.len() - 1] - x[0];
                Boundary::periodic(span + span / (x.len() - 1) as f64)
            }
            _ => Boundary::PERIODIC,
        };
        opts = match &opts.spacing {
            Spacing::PerAxis(items) if items.len() > 1 => {
                let modes: Vec<Boundary> = items.iter().map(boundary).collect();
                opts.clone().per_axis_boundary(modes)
            }
            Spacing::PerAxis(items) if items.len() == 1 => {
                let mode = boundary(&items[0]);
                opts.clone().boundary(mode)
            }
            _ => opts.boundary(Boundary::PERIODIC),
        };
    }
    Ok(Some((opts, name.join(" "))))
}

/// `cpu NAME` (fresh outputs), `cpu into NAME` (reused outputs) and
/// `gpu NAME` for the form `--accuracy`/`--boundary` ask for, each checked
/// against the reference of that form; the `speed vs default` note is
/// added by [`super::ratios::ratios`].
pub(super) fn form_rows<T: Element>(
    case: &Case,
    inputs: &Inputs<T>,
    args: &BenchArgs,
    repeat: usize,
    cpu_ok: bool,
    gpu_ok: bool,
) -> Result<Vec<Row>, String> {
    let Some((opts, name)) = form(args, &inputs.opts)? else {
        return Ok(Vec::new());
    };
    let err = |e: ndgrad::Error| format!("{} {name}: {e}", case.label());
    let compute =
        |backend| ndgrad::gradient_as::<T, _, _, _>(&inputs.f, &opts.clone().backend(backend));
    let want = compute(Backend::Reference).map_err(err)?;
    let checker = Checker {
        case,
        want: &want,
        // Wider stencils sum more terms, with larger weights at the edges.
        tol: 16.0 * tolerance(inputs),
        bytes: ((1 + inputs.naxes) * case.len() * std::mem::size_of::<T>()) as f64,
    };
    let mut rows = Vec::new();
    if args.backends.contains(&BenchBackend::Cpu) && cpu_ok {
        let time = || time_runs(repeat, || compute(Backend::Cpu));
        let result = compute(Backend::Cpu).map_err(|e| e.to_string());
        rows.push(checker.row(&format!("cpu {name}"), result, &time));
        rows.push(super::cpu_into_row(
            &format!("cpu into {name}"),
            case,
            &inputs.f,
            &opts,
            repeat,
            &checker,
        )?);
    }
    if args.backends.contains(&BenchBackend::Gpu) && gpu_ok {
        let time = || time_runs(repeat, || compute(Backend::Gpu));
        let result = compute(Backend::Gpu).map_err(|e| e.to_string());
        rows.push(checker.row(&format!("gpu {name}"), result, &time));
    }
    for row in &mut rows {
        row.comparable = false;
    }
    Ok(rows)
}
