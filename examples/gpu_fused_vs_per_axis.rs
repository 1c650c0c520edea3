//! The fused all-axes kernel against the per-axis kernels, kernel time only
//! (data resident, GPU timestamps where the adapter has them), beside a copy
//! kernel moving the same bytes, for 2-D and 3-D f32, all axes and the last
//! axis alone.
//!
//! ```text
//! cargo run --example gpu_fused_vs_per_axis -- [SCALE]
//! ```
//!
//! SCALE (default 1) divides every extent, for quick smoke runs.
//!
//! The choice of [`ndgrad::gpu::AxisKernels::Auto`] rests on these figures.

use ndarray::{ArrayD, IxDyn};
use ndgrad::gpu::{AxisKernels, GpuContext, GpuOptions};
use ndgrad::{Backend, GradientOptions};

fn main() -> ndgrad::Result<()> {
    let fused = GpuContext::with_options(GpuOptions::new().axis_kernels(AxisKernels::Fused))?;
    let per_axis = GpuContext::with_options(GpuOptions::new().axis_kernels(AxisKernels::PerAxis))?;
    println!("adapter: {}", fused.adapter_info().name);
    let scale: usize = std::env::args()
        .nth(1)
        .map_or(1, |a| a.parse().expect("SCALE is a positive integer"))
        .max(1);
    for shape in [vec![2048 / scale, 2048 / scale], vec![160 / scale; 3]] {
        let len: usize = shape.iter().product();
        let f = ArrayD::from_shape_vec(
            IxDyn(&shape),
            (0..len)
                .map(|i| ((i as f64 * 1e-3).sin() + ((i * 7919) % 101) as f64 * 1e-2) as f32)
                .collect(),
        )
        .expect("shape and length agree");
        for (what, opts) in [
            ("all axes", GradientOptions::new()),
            ("last axis", GradientOptions::new().axes([-1])),
        ] {
            compare(&fused, &per_axis, &f, &shape, what, &opts)?;
        }
    }
    Ok(())
}

fn compare(
    fused: &GpuContext,
    per_axis: &GpuContext,
    f: &ArrayD<f32>,
    shape: &[usize],
    what: &str,
    opts: &GradientOptions,
) -> ndgrad::Result<()> {
    {
        // Both paths are checked against the reference before timing.
        let reference = ndgrad::gradient(f, &opts.clone().backend(Backend::Reference))?;
        for ctx in [fused, per_axis] {
            for (g, r) in ctx.gradient(f, opts)?.iter().zip(&reference) {
                for (a, b) in g.iter().zip(r) {
                    assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
                }
            }
        }
        let tf = fused.time_kernels(f, opts, 9)?;
        let tp = per_axis.time_kernels(f, opts, 9)?;
        println!(
            "f32 {shape:?} {what} ({:?}): fused {:.3} ms, per-axis {:.3} ms, fused/per-axis {:.2}; copy {:.3} ms, fused/copy {:.2} ({:.2} vs {:.2} GB/s)",
            tf.clock,
            tf.gradient.as_secs_f64() * 1e3,
            tp.gradient.as_secs_f64() * 1e3,
            tf.gradient.as_secs_f64() / tp.gradient.as_secs_f64(),
            tf.copy.as_secs_f64() * 1e3,
            tf.ratio(),
            tf.gradient_gbps(),
            tf.copy_gbps(),
        );
    }
    Ok(())
}
