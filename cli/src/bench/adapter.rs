//! The GPU adapter `ndgrad bench` runs on, described once for the header
//! and once per GPU row for the JSON records.

use ndgrad::gpu;

/// The header line naming the adapter (or why there is none), and whether
/// the GPU rows can run.
pub(super) fn header() -> (String, bool) {
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
pub(super) fn adapter_json() -> Option<serde_json::Value> {
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
