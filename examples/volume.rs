//! A 3-D volume with a known analytic gradient, and the error against it.
//!
//! ```sh
//! cargo run --release --example volume -- [N]
//! ```
//!
//! f(x, y, z) = sin(x)·cos(2y) + z²/2 on an N³ grid over [0, 2]³ with its own
//! spacing per axis (`numpy.gradient(f, hx, hy, hz)`). Central differences are
//! second-order accurate, so halving the spacing should quarter the interior
//! error; with `edge_order=2` the boundaries are second-order too.

use std::error::Error;

use ndarray::{Array3, Zip};
use ndgrad::{gradient_with_backend, EdgeOrder, GradientOptions, Spacing};

/// An exact partial derivative as a function of (x, y, z).
type Partial = fn(f64, f64, f64) -> f64;

fn main() -> Result<(), Box<dyn Error>> {
    // Backend::Auto uses this adapter if it is a hardware GPU, else the CPU.
    let adapter = ndgrad::gpu::default_context().map(|c| c.adapter_info().name.clone());
    println!("GPU adapter: {}", adapter.as_deref().unwrap_or("none"));
    let n: usize = std::env::args().nth(1).map_or(Ok(64), |s| s.parse())?;
    if n < 3 {
        return Err("N must be at least 3".into());
    }
    let h = 2.0 / (n - 1) as f64;
    let coord = |i: usize| i as f64 * h;
    let f = Array3::from_shape_fn((n, n, n), |(i, j, k)| {
        let (x, y, z) = (coord(i), coord(j), coord(k));
        x.sin() * (2.0 * y).cos() + z * z / 2.0
    });
    let exact: [Partial; 3] = [
        |x, y, _| x.cos() * (2.0 * y).cos(),
        |x, y, _| -2.0 * x.sin() * (2.0 * y).sin(),
        |_, _, z| z,
    ];

    for edge_order in [EdgeOrder::First, EdgeOrder::Second] {
        let opts = GradientOptions::new()
            .spacing(Spacing::Uniform(h))
            .edge_order(edge_order);
        let g = gradient_with_backend(&f, &opts)?;
        print!(
            "N={n} h={h:.4} edge_order={edge_order} backend={}:",
            g.backend
        );
        for (axis, (d, exact)) in g.arrays.iter().zip(&exact).enumerate() {
            let mut worst = 0.0f64;
            Zip::indexed(d).for_each(|(i, j, k), &v| {
                let e = exact(coord(i), coord(j), coord(k));
                worst = worst.max((v - e).abs());
            });
            print!("  max|err| axis{axis} = {worst:.3e}");
        }
        println!();
    }
    Ok(())
}
