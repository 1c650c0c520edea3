//! The GPU gradient kernels timed against a plain WGSL copy kernel moving
//! the same bytes on the same adapter (docs/ARCHITECTURE.md, Measuring
//! speed), with the upload and download of the same array.
//!
//! ```text
//! cargo run --example gpu_kernel_vs_copy -- [f32|f64] [extent ...]
//! cargo run --example gpu_kernel_vs_copy -- f32 2048 2048
//! ```
//!
//! The adapter comes from the environment (WGPU_BACKEND, WGPU_ADAPTER_NAME,
//! WGPU_POWER_PREF). The gradient is checked against the reference backend
//! before anything is timed.

use ndarray::{ArrayD, IxDyn};
use ndgrad::gpu::{GpuContext, TimingClock};
use ndgrad::{Backend, Element, GradientOptions};

fn run<T: Element>(ctx: &GpuContext, shape: &[usize]) -> ndgrad::Result<()> {
    let len: usize = shape.iter().product();
    // A smooth field with a deterministic ripple; never all zeros.
    let f = ArrayD::from_shape_vec(
        IxDyn(shape),
        (0..len)
            .map(|i| T::from_f64((i as f64 * 1e-3).sin() + ((i * 7919) % 101) as f64 * 1e-2))
            .collect(),
    )
    .expect("shape and length agree");
    let opts = GradientOptions::new();

    let gpu = ctx.gradient(&f, &opts)?;
    let reference = ndgrad::gradient(&f, &opts.clone().backend(Backend::Reference))?;
    let eps = if std::mem::size_of::<T>() == 4 {
        1e-5
    } else {
        1e-12
    };
    let scale = f.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
    for (g, r) in gpu.iter().zip(&reference) {
        for (a, b) in g.iter().zip(r) {
            let err = (a.to_f64() - b.to_f64()).abs();
            assert!(err <= 4.0 * eps * scale, "GPU {a:?} vs reference {b:?}");
        }
    }

    let t = ctx.time_kernels(&f, &opts, 15)?;
    println!(
        "adapter: {} ({:?}, {:?})",
        ctx.adapter_info().name,
        ctx.adapter_info().backend,
        ctx.adapter_info().device_type
    );
    println!(
        "{} {:?}, all {} axes, {} MB moved per run, median of {}, kernels timed by {}",
        T::NUMPY_NAME,
        shape,
        shape.len(),
        t.bytes as f64 / 1e6,
        t.repeats,
        match t.clock {
            TimingClock::GpuTimestamps => "GPU timestamps",
            TimingClock::WallClock => "wall clock (submit to completion)",
        }
    );
    println!(
        "gradient {:>9.3} ms  {:>7.2} GB/s",
        t.gradient.as_secs_f64() * 1e3,
        t.gradient_gbps()
    );
    println!(
        "copy     {:>9.3} ms  {:>7.2} GB/s",
        t.copy.as_secs_f64() * 1e3,
        t.copy_gbps()
    );
    println!("gradient / copy = {:.2}", t.ratio());
    println!(
        "upload   {:>9.3} ms  {:>7.2} GB/s  ({} MB, host wall time)",
        t.upload.as_secs_f64() * 1e3,
        t.upload_gbps(),
        t.upload_bytes as f64 / 1e6
    );
    println!(
        "download {:>9.3} ms  {:>7.2} GB/s  ({} MB, host wall time)",
        t.download.as_secs_f64() * 1e3,
        t.download_gbps(),
        t.download_bytes as f64 / 1e6
    );
    Ok(())
}

fn main() -> ndgrad::Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    let dtype = match args.peek().map(String::as_str) {
        Some("f32") | Some("f64") => args.next().expect("peeked"),
        _ => "f32".to_string(),
    };
    let mut shape: Vec<usize> = args
        .map(|a| a.parse().expect("extents are positive integers"))
        .collect();
    if shape.is_empty() {
        shape = vec![2048, 2048];
    }
    let ctx = GpuContext::new()?;
    if dtype == "f64" {
        run::<f64>(&ctx, &shape)
    } else {
        run::<f32>(&ctx, &shape)
    }
}
