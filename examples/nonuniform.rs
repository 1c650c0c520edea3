//! Differentiating on a non-uniform (log-spaced) grid.
//!
//! ```sh
//! cargo run --release --example nonuniform -- [N]
//! ```
//!
//! `numpy.gradient(f, x)` with x = logspace(-2, 1, N): the coordinates' spacing
//! grows by orders of magnitude, so a uniform stencil would be badly wrong. The
//! non-uniform stencil is exact for quadratics and second-order accurate in
//! general; this prints the error for f = x² (exact up to rounding) and for
//! f = sin(x).

use std::error::Error;

use ndarray::Array1;
use ndgrad::{gradient_with_backend, AxisSpacing, EdgeOrder, GradientOptions};

/// A test function and its exact derivative.
type Case = (&'static str, fn(f64) -> f64, fn(f64) -> f64);

fn main() -> Result<(), Box<dyn Error>> {
    // Backend::Auto uses this adapter if it is a hardware GPU, else the CPU.
    let adapter = ndgrad::gpu::default_context().map(|c| c.adapter_info().name.clone());
    println!("GPU adapter: {}", adapter.as_deref().unwrap_or("none"));
    let n: usize = std::env::args().nth(1).map_or(Ok(200), |s| s.parse())?;
    if n < 3 {
        return Err("N must be at least 3".into());
    }
    let x = Array1::logspace(10.0, -2.0, 1.0, n);
    let cases: [Case; 2] = [
        ("x^2", |x| x * x, |x| 2.0 * x),
        ("sin(x)", f64::sin, f64::cos),
    ];
    for (name, f, df) in cases {
        let values = x.mapv(f);
        for edge_order in [EdgeOrder::First, EdgeOrder::Second] {
            let opts = GradientOptions::new()
                .per_axis_spacing([AxisSpacing::from(x.clone())])
                .edge_order(edge_order);
            let g = gradient_with_backend(&values, &opts)?;
            let d = &g.arrays[0];
            let interior = (1..n - 1)
                .map(|i| (d[i] - df(x[i])).abs())
                .fold(0.0, f64::max);
            let edges = [0, n - 1]
                .iter()
                .map(|&i| (d[i] - df(x[i])).abs())
                .fold(0.0, f64::max);
            println!(
                "f={name:<7} N={n} edge_order={edge_order} backend={}: max|err| interior {interior:.3e}, edges {edges:.3e}",
                g.backend
            );
        }
    }
    Ok(())
}
