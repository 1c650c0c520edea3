//! The GPU rows of `ndgrad bench`: end to end, kernel only, upload, download,
//! and a copy kernel moving the same bytes on the same adapter.

use std::sync::OnceLock;
use std::time::Duration;

use ndarray::ArrayD;
use ndgrad::gpu::{self, AxisKernels, GpuContext, GpuOptions, TimingClock};
use ndgrad::{Backend, Element, GradientOptions};

use crate::bench::Row;

/// Builds a checked row: `(backend, result, time)`; `time` runs only when the
/// result matches the reference.
pub type CheckedRow<'a, T> =
    &'a dyn Fn(&str, Result<Vec<ArrayD<T>>, String>, &dyn Fn() -> Duration) -> Row;

/// Builds a row that is timed but computes no gradient (a transfer or a
/// baseline): `(backend, median, bytes moved, note)`.
pub type BaselineRow<'a> = &'a dyn Fn(&str, Duration, u64, String) -> Row;

/// Builds the kernel-only row: `(backend, median or None when it could not
/// be timed, note)`; it computes the gradient, so it gets the ratios and the
/// end-to-end row's max error.
pub type KernelRow<'a> = &'a dyn Fn(&str, Option<Duration>, String) -> Row;

/// The header line naming the adapter (or why there is none), and whether
/// the GPU rows can run.
pub fn header() -> (String, bool) {
    match gpu::default_context() {
        Ok(ctx) => {
            let info = ctx.adapter_info();
            let software = if ctx.is_hardware() {
                String::new()
            } else {
                " — a SOFTWARE adapter (e.g. lavapipe): its numbers are not GPU numbers".into()
            };
            (
                format!(
                    "GPU: {} ({:?}, {:?}, driver {}){software}",
                    info.name, info.backend, info.device_type, info.driver_info
                ),
                true,
            )
        }
        Err(e) => (format!("GPU: skipped ({e})"), false),
    }
}

/// The adapter, for the JSON records.
pub fn adapter_json() -> Option<serde_json::Value> {
    let ctx = gpu::default_context().ok()?;
    let info = ctx.adapter_info();
    Some(serde_json::json!({
        "name": info.name,
        "backend": format!("{:?}", info.backend),
        "device_type": format!("{:?}", info.device_type),
        "driver": info.driver,
        "driver_info": info.driver_info,
        "software": !ctx.is_hardware(),
    }))
}

/// The GPU rows of one case. The end-to-end result is checked against the
/// reference first; on a mismatch no GPU row is timed.
pub fn rows<T: Element>(
    f: &ArrayD<T>,
    opts: &GradientOptions,
    repeat: usize,
    checked: CheckedRow<'_, T>,
    kernel: KernelRow<'_>,
    baseline: BaselineRow<'_>,
) -> Vec<Row> {
    let gpu_opts = opts.clone().backend(Backend::Gpu);
    let result = ndgrad::gradient(f, &gpu_opts).map_err(|e| e.to_string());
    let time = || super::bench::time_median(repeat, || ndgrad::gradient(f, &gpu_opts));
    let mut rows = vec![checked("gpu end to end", result, &time)];
    if rows[0].median_s.is_none() {
        // Skipped or a mismatch: nothing else is timed.
        return rows;
    }
    let Ok(ctx) = gpu::default_context() else {
        return rows;
    };
    rows.push(resident_row(ctx, f, opts, repeat, checked));
    let kernels = |t: &gpu::KernelTimings| if t.fused { "fused" } else { "per-axis" };
    match ctx.time_kernels(f, opts, repeat) {
        Ok(t) => {
            let clock = match t.clock {
                TimingClock::GpuTimestamps => "GPU timestamps",
                TimingClock::WallClock => "wall time, data resident",
            };
            rows.push(kernel("gpu kernel", Some(t.gradient), kernels(&t).into()));
            // The per-axis kernels on the same data, beside the default,
            // their result checked too.
            if let Some(per_axis) = per_axis_context() {
                let name = "gpu per-axis kernel";
                match per_axis.time_kernels(f, opts, repeat) {
                    Ok(p) => {
                        let result = per_axis.gradient(f, opts).map_err(|e| e.to_string());
                        let mut row = checked(name, result, &|| p.gradient);
                        if row.median_s.is_some() {
                            row.note = kernels(&p).into();
                        }
                        rows.push(row);
                    }
                    Err(e) => rows.push(kernel(name, None, format!("skipped: {e}"))),
                }
            }
            rows.push(baseline(
                "gpu upload",
                t.upload,
                t.upload_bytes,
                "input, host to device".into(),
            ));
            rows.push(baseline(
                "gpu download",
                t.download,
                t.download_bytes,
                "every output, device to host".into(),
            ));
            rows.push(baseline(
                "gpu copy kernel",
                t.copy,
                t.bytes,
                format!("WGSL copy of the same bytes ({clock})"),
            ));
        }
        Err(e) => rows.push(kernel("gpu kernel", None, format!("skipped: {e}"))),
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
    checked: CheckedRow<'_, T>,
) -> Row {
    let name = "gpu resident";
    let on_gpu = match ctx.upload(f) {
        Ok(a) => a,
        Err(e) => return checked(name, Err(e.to_string()), &|| Duration::ZERO),
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
    let mut row = checked(name, result, &|| super::bench::time_median(repeat, run));
    if row.median_s.is_some() {
        row.note = "upload once; gradient_resident + synchronize".into();
    }
    row
}
