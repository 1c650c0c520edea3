//! The GPU rows of `ndgrad bench`: end to end, device-resident, kernel only
//! (fused and per-axis), upload, download, and two copies moving the same
//! bytes on the same adapter: a copy kernel and `copy_buffer_to_buffer`.

use std::sync::OnceLock;
use std::time::Duration;

use ndarray::ArrayD;
use ndgrad::gpu::{self, AxisKernels, GpuContext, GpuOptions, KernelTimings, TimingClock};
use ndgrad::{Backend, Element, GradientOptions};

use super::check::Checker;
use super::row::{row_of, Row, Timing};
use super::suite::Case;
use super::timing::{time_runs, Times};

/// The GPU rows of one case. The end-to-end result is checked against the
/// reference first; on a mismatch no GPU row is timed.
pub(super) fn rows<T: Element>(
    f: &ArrayD<T>,
    opts: &GradientOptions,
    repeat: usize,
    checker: &Checker<'_, T>,
) -> Vec<Row> {
    let gpu_opts = opts.clone().backend(Backend::Gpu);
    let result = ndgrad::gradient(f, &gpu_opts).map_err(|e| e.to_string());
    let time = || time_runs(repeat, || ndgrad::gradient(f, &gpu_opts));
    let mut rows = vec![checker.row("gpu end to end", result, &time)];
    if rows[0].median_s.is_none() {
        // Skipped or a mismatch: nothing else is timed.
        return rows;
    }
    let Ok(ctx) = gpu::default_context() else {
        return rows;
    };
    rows.push(resident_row(ctx, f, opts, repeat, checker));
    let kernels = |t: &gpu::KernelTimings| if t.fused { "fused" } else { "per-axis" };
    match ctx.time_kernels(f, opts, repeat) {
        Ok(t) => {
            let clock = match t.clock {
                TimingClock::GpuTimestamps => "GPU timestamps",
                TimingClock::WallClock => "wall time, data resident",
            };
            rows.push(kernel_row(
                checker,
                "gpu kernel",
                Some(t.gradient),
                kernels(&t).into(),
            ));
            // The per-axis kernels on the same data, beside the default,
            // their result checked too.
            if let Some(per_axis) = per_axis_context() {
                let name = "gpu per-axis kernel";
                match per_axis.time_kernels(f, opts, repeat) {
                    Ok(p) => {
                        let result = per_axis.gradient(f, opts).map_err(|e| e.to_string());
                        let mut row = checker.row(name, result, &|| Times::median_only(p.gradient));
                        if row.median_s.is_some() {
                            row.note = kernels(&p).into();
                        }
                        rows.push(row);
                    }
                    Err(e) => rows.push(kernel_row(checker, name, None, format!("skipped: {e}"))),
                }
            }
            rows.push(baseline_row(
                checker.case,
                "gpu upload",
                t.upload,
                t.upload_bytes,
                "input, host to device".into(),
            ));
            rows.push(baseline_row(
                checker.case,
                "gpu download",
                t.download,
                t.download_bytes,
                "every output, device to host".into(),
            ));
            rows.push(baseline_row(
                checker.case,
                "gpu copy kernel",
                t.copy,
                t.bytes,
                format!("WGSL copy of the same bytes ({clock})"),
            ));
            let copy_buffer_clock = match t.copy_buffer_clock {
                TimingClock::GpuTimestamps => "GPU timestamps from the encoder".to_string(),
                TimingClock::WallClock => format!(
                    "wall time, {} rounds per submission",
                    KernelTimings::COPY_BUFFER_ROUNDS
                ),
            };
            rows.push(baseline_row(
                checker.case,
                "gpu copy_buffer_to_buffer",
                t.copy_buffer,
                t.bytes,
                format!("the same bytes, device to device ({copy_buffer_clock})"),
            ));
        }
        Err(e) => rows.push(kernel_row(
            checker,
            "gpu kernel",
            None,
            format!("skipped: {e}"),
        )),
    }
    rows
}

/// A context on the default adapter that always runs the per-axis kernels,
/// for the `gpu per-axis kernel` row (built once; `None` if it cannot be).
fn per_axis_context() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    CTX.get_or_init(|| {
        GpuContext::with_options(GpuOptions::new().axis_kernels(AxisKernels::PerAxis)).ok()
    })
    .as_ref()
}

/// The `gpu resident` row: the input uploaded once, then each timed call is
/// `gradient_resident` plus `synchronize`, with nothing read back: the
/// counterpart of the device-resident `cupy` and `torch` rows (outputs
/// allocated and kernels launched per call, host wall time).
fn resident_row<T: Element>(
    ctx: &GpuContext,
    f: &ArrayD<T>,
    opts: &GradientOptions,
    repeat: usize,
    checker: &Checker<'_, T>,
) -> Row {
    let name = "gpu resident";
    let on_gpu = match ctx.upload(f) {
        Ok(a) => a,
        Err(e) => {
            return checker.row(name, Err(e.to_string()), &|| {
                Times::median_only(Duration::ZERO)
            })
        }
    };
    let run = || {
        let g = ctx.gradient_resident::<T, T>(&on_gpu, opts)?;
        ctx.synchronize()?;
        Ok::<_, ndgrad::Error>(g)
    };
    let result = run()
        .and_then(|g| {
            g.iter()
                .map(|a| a.to_host(ctx))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| e.to_string());
    let mut row = checker.row(name, result, &|| time_runs(repeat, run));
    if row.median_s.is_some() {
        row.note = "upload once; gradient_resident + synchronize".into();
    }
    row
}

/// The kernel-only row: `median` is `None` when it could not be timed. It
/// computes the gradient, so it gets the ratios (and, from the caller, the
/// end-to-end row's max error).
fn kernel_row<T>(
    checker: &Checker<'_, T>,
    backend: &str,
    median: Option<Duration>,
    note: String,
) -> Row {
    let timing = median.map(|median| Timing {
        times: Times::median_only(median),
        max_error: 0.0,
    });
    row_of(
        checker.case,
        backend,
        true,
        timing.as_ref(),
        checker.bytes,
        note,
    )
}

/// A row that is timed but computes no gradient (a transfer or a baseline);
/// its rates count the `moved` bytes.
fn baseline_row(case: &Case, backend: &str, median: Duration, moved: u64, note: String) -> Row {
    let timing = Timing {
        times: Times::median_only(median),
        max_error: 0.0,
    };
    row_of(case, backend, false, Some(&timing), moved as f64, note)
}
