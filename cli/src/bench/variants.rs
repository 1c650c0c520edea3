//! The variant rows of `ndgrad bench`: the same case as a gradient
//! magnitude, and with its input quantised to u16.

use ndgrad::{Backend, Element};

use super::args::{BenchArgs, BenchBackend};
use super::check::{tolerance, Checker};
use super::row::Row;
use super::suite::{Case, Inputs};
use super::timing::time_runs;

/// The same case computed two other ways, each checked against the
/// reference of what it computes:
/// - the gradient magnitude (`gpu magnitude`, `cpu magnitude`), against the
///   reference magnitude;
/// - the input quantised to u16 (`gpu u16 end to end`, `cpu u16`), results
///   in the case's type, against the reference on the same u16 array: a
///   16-bit CT volume moves half the bytes of f32 to the GPU.
pub(super) fn variant_rows<T>(
    case: &Case,
    inputs: &Inputs<T>,
    args: &BenchArgs,
    repeat: usize,
    cpu_ok: bool,
    gpu_ok: bool,
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
    let checker = Checker {
        case,
        want: &want,
        tol: tolerance(inputs) * (inputs.naxes as f64).sqrt(),
        bytes: (2 * case.len() * elem) as f64,
    };
    for &(name, backend) in &backends {
        let time = || time_runs(repeat, || magnitude(backend));
        let result = magnitude(backend).map_err(|e| e.to_string());
        let mut row = checker.row(&format!("{name} magnitude"), result, &time);
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
    let checker = Checker {
        case,
        want: &want,
        tol: tolerance(inputs) * 60_000.0,
        bytes: (case.len() * (2 + inputs.naxes * elem)) as f64,
    };
    for &(name, backend) in &backends {
        let label = match name {
            "gpu" => "gpu u16 end to end",
            _ => "cpu u16",
        };
        let time = || time_runs(repeat, || u16_gradient(backend));
        let result = u16_gradient(backend).map_err(|e| e.to_string());
        let mut row = checker.row(label, result, &time);
        row.comparable = false;
        rows.push(row);
    }
    Ok(rows)
}
