//! Gradient magnitude of an image: PNG in, PNG out.
//!
//! ```sh
//! cargo run --release --example image -- [INPUT.png] [OUTPUT.png]
//! ```
//!
//! Without an input, a synthetic test card (rings and a square) is generated.
//! The magnitude `sqrt(gx² + gy²)` of `numpy.gradient(img)` is scaled to 0..255.

use std::error::Error;
use std::path::PathBuf;

use ndarray::{Array2, Zip};
use ndgrad::{gradient_with_backend, GradientOptions};

fn main() -> Result<(), Box<dyn Error>> {
    // Backend::Auto uses this adapter if it is a hardware GPU, else the CPU.
    let adapter = ndgrad::gpu::default_context().map(|c| c.adapter_info().name.clone());
    println!("GPU adapter: {}", adapter.as_deref().unwrap_or("none"));
    let mut args = std::env::args().skip(1);
    let input = args.next().map(PathBuf::from);
    let output = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("ndgrad-magnitude.png"));

    let img = match &input {
        Some(path) => load_gray(path)?,
        None => test_card(256),
    };
    let (h, w) = img.dim();

    let g = gradient_with_backend(&img, &GradientOptions::new())?;
    let (gy, gx) = (&g.arrays[0], &g.arrays[1]);
    let mut magnitude = Array2::<f32>::zeros((h, w));
    Zip::from(&mut magnitude)
        .and(gy)
        .and(gx)
        .for_each(|m, &y, &x| *m = (x * x + y * y).sqrt());

    let peak = magnitude
        .iter()
        .cloned()
        .fold(0.0f32, f32::max)
        .max(f32::MIN_POSITIVE);
    let pixels: Vec<u8> = magnitude
        .iter()
        .map(|&m| (255.0 * m / peak).round() as u8)
        .collect();
    image::GrayImage::from_raw(w as u32, h as u32, pixels)
        .ok_or("image buffer has the wrong size")?
        .save(&output)?;

    println!(
        "{}: {w}x{h}, backend {}, max |∇f| = {peak:.4} -> {}",
        input
            .as_deref()
            .map_or("test card".into(), |p| p.display().to_string()),
        g.backend,
        output.display()
    );
    Ok(())
}

/// Loads any PNG as grey levels in 0..1.
fn load_gray(path: &std::path::Path) -> Result<Array2<f32>, Box<dyn Error>> {
    let img = image::open(path)?.into_luma8();
    let (w, h) = img.dimensions();
    let data = img
        .into_raw()
        .into_iter()
        .map(|p| f32::from(p) / 255.0)
        .collect();
    Ok(Array2::from_shape_vec((h as usize, w as usize), data)?)
}

/// Concentric rings plus a bright square: edges in every direction.
fn test_card(n: usize) -> Array2<f32> {
    let c = n as f32 / 2.0;
    Array2::from_shape_fn((n, n), |(i, j)| {
        let (y, x) = (i as f32 - c, j as f32 - c);
        let rings = 0.5 + 0.5 * ((x * x + y * y).sqrt() / 6.0).sin();
        let square = if i > n / 8 && i < n / 3 && j > n / 8 && j < n / 3 {
            1.0
        } else {
            0.0
        };
        (rings + square) / 2.0
    })
}
