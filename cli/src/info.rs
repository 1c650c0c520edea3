//! `ndgrad info`: the adapters wgpu finds, the one ndgrad would use, and the
//! limits and features that decide how it runs.

use ndgrad::gpu::{self, AdapterSummary};
use ndgrad::Backend;

use crate::failure::Failure;

/// Options of `ndgrad info` (none yet).
#[derive(clap::Args, Debug, Clone)]
pub struct InfoArgs {}

/// Prints the report on stdout. Having no adapter is not a failure: the
/// report says so and names the fallback.
pub fn run(_args: &InfoArgs) -> Result<(), Failure> {
    let found = gpu::adapters();
    println!("adapters found: {}", found.len());
    for (i, a) in found.iter().enumerate() {
        println!("  [{i}] {}", describe(a));
    }

    match gpu::default_context() {
        Ok(ctx) => {
            let info = ctx.adapter_info();
            let summary = found
                .iter()
                .find(|a| a.info.name == info.name && a.info.backend == info.backend);
            println!();
            println!(
                "chosen (WGPU_BACKEND, WGPU_ADAPTER_NAME, WGPU_POWER_PREF or wgpu's default):"
            );
            println!("  adapter:       {}", info.name);
            println!("  backend:       {:?}", info.backend);
            println!(
                "  device type:   {:?}{}",
                info.device_type,
                software_note(info)
            );
            println!("  driver:        {} {}", info.driver, info.driver_info);
            let limits = ctx.limits();
            println!(
                "  max storage buffer binding: {}",
                bytes(limits.max_storage_buffer_binding_size)
            );
            println!(
                "  max buffer size:            {}",
                bytes(limits.max_buffer_size)
            );
            println!(
                "  max workgroups per dimension: {}",
                limits.max_workgroups_per_dimension
            );
            println!("  f64 kernels:       {}", yes_no(ctx.supports_f64()));
            println!(
                "  f16 shaders:       {}",
                summary.map_or("unknown", |s| yes_no(s.f16))
            );
            println!(
                "  timestamp queries: {}",
                summary.map_or("unknown", |s| yes_no(s.timestamps))
            );
        }
        Err(e) => {
            println!();
            println!("no GPU adapter can be used: {e}");
            println!(
                "ndgrad runs on the CPU backend. On Linux without a GPU, `apt-get install \
                 mesa-vulkan-drivers` gives lavapipe, a software Vulkan device (for correctness, not speed)."
            );
        }
    }
    match ndgrad::resolve_backend(Backend::Auto) {
        Ok(b) => println!("\nBackend::Auto runs on: {b}"),
        Err(e) => println!("\nBackend::Auto cannot run: {e}"),
    }
    Ok(())
}

fn describe(a: &AdapterSummary) -> String {
    format!(
        "{} ({:?}, {:?}{}), f64 {}, f16 {}, timestamps {}",
        a.info.name,
        a.info.backend,
        a.info.device_type,
        if a.is_software() {
            ": software, not a GPU"
        } else {
            ""
        },
        yes_no(a.f64),
        yes_no(a.f16),
        yes_no(a.timestamps)
    )
}

fn software_note(info: &gpu::wgpu::AdapterInfo) -> &'static str {
    if info.device_type == gpu::wgpu::DeviceType::Cpu {
        " (a software adapter: its timings are not GPU timings)"
    } else {
        ""
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn bytes(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.1} GiB ({n} bytes)", n as f64 / (1u64 << 30) as f64)
    } else {
        format!("{} MiB ({n} bytes)", n >> 20)
    }
}
