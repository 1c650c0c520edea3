//! A 16-bit CT-like volume kept on the GPU: uploaded once in its compact
//! form, its gradient magnitude computed there and read back alone, and its
//! gradient recorded into the application's own command encoder after a
//! pass of the application's own (here a buffer clear), all checked
//! against the reference.
//!
//! ```text
//! cargo run --release --example gpu_resident -- [extent]
//! ```
//!
//! `extent` (default 96) is the edge of the cubic volume.

use ndarray::Array3;
use ndgrad::gpu::{wgpu, GpuContext};
use ndgrad::{Backend, GradientOptions, Spacing};

fn main() -> ndgrad::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(96, |a| a.parse().expect("extent is a positive integer"))
        .max(3);
    let ctx = GpuContext::new()?;
    println!("adapter: {}", ctx.adapter_info().name);

    // A ball of dense tissue in a softer body, as 16-bit Hounsfield-like units.
    let c = n as f64 / 2.0;
    let volume = Array3::from_shape_fn((n, n, n), |(i, j, k)| {
        let r = ((i as f64 - c).powi(2) + (j as f64 - c).powi(2) + (k as f64 - c).powi(2)).sqrt();
        let tissue = if r < c / 2.0 { 1800.0 } else { 1000.0 };
        (tissue + 40.0 * (0.3 * i as f64).sin() + (j * 7 + k * 13) as f64 % 17.0) as u16
    });
    // Voxels of 0.8 mm in-plane and 1.5 mm between slices.
    let opts =
        GradientOptions::new().spacing(Spacing::PerAxis(vec![1.5.into(), 0.8.into(), 0.8.into()]));

    // Upload once: two bytes per voxel.
    let on_gpu = ctx.upload(&volume)?;
    println!(
        "uploaded {n}³ u16: {} bytes on the device",
        on_gpu.buffer().size()
    );

    // The edge strength, computed on the device; only it comes back.
    let magnitude = ctx
        .gradient_magnitude_resident::<f32, u16>(&on_gpu, &opts)?
        .to_host(&ctx)?;
    let reference = ndgrad::gradient_magnitude_as::<f64, _, _, _>(
        &volume,
        &opts.clone().backend(Backend::Reference),
    )?;
    let worst = magnitude
        .iter()
        .zip(&reference)
        .map(|(&g, &r)| (f64::from(g) - r).abs() / (1.0 + r.abs()))
        .fold(0.0, f64::max);
    let strongest = magnitude.iter().fold(0.0f32, |m, &v| m.max(v));
    println!("magnitude: strongest edge {strongest:.1} per mm, worst relative error {worst:.1e}");
    assert!(
        worst < 1e-5,
        "magnitude differs from the reference by {worst}"
    );

    // The gradient recorded after the application's own work, in one submission.
    let scratch = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("the application's buffer"),
        size: 1 << 20,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device()
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("the application's frame"),
        });
    encoder.clear_buffer(&scratch, 0, None);
    let components = ctx.encode_gradient::<f32, u16>(&mut encoder, &on_gpu, &opts)?;
    ctx.queue().submit([encoder.finish()]);
    let reference =
        ndgrad::gradient_as::<f64, _, _, _>(&volume, &opts.clone().backend(Backend::Reference))?;
    for (axis, (g, r)) in components.iter().zip(&reference).enumerate() {
        let g = g.to_host(&ctx)?;
        let worst = g
            .iter()
            .zip(r)
            .map(|(&g, &r)| (f64::from(g) - r).abs() / (1.0 + r.abs()))
            .fold(0.0, f64::max);
        println!("axis {axis}: worst relative error {worst:.1e}");
        assert!(
            worst < 1e-5,
            "axis {axis} differs from the reference by {worst}"
        );
    }
    Ok(())
}
