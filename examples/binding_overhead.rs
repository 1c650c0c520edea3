//! The Rust side of the Python binding's overhead measurement
//! (`python/bench.py --overhead`): `ndgrad::gradient` of a random `n³` f32
//! array on one backend, timed as the Python side times `ndgrad.gradient`
//! (best and median of `reps`).
//!
//! `cargo run --release --example binding_overhead -- [n] [reps] [backend]`

use std::time::Instant;

use ndarray::Array3;
use ndgrad::{AxisSpacing, Backend, Boundary, GradientOptions, Spacing};
use ndgrad_rng::Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(256), |s| s.parse())?;
    let reps: usize = args.next().map_or(Ok(15), |s| s.parse())?;
    let backend: Backend = args.next().map_or(Ok(Backend::Cpu), |s| s.parse())?;
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let f = Array3::from_shape_simple_fn((n, n, n), || rng.unit_f32());
    // The options exactly as the binding builds them for
    // `ndgrad.gradient(f, backend=...)`: every axis listed, one scalar
    // spacing and one boundary mode per axis.
    let opts = GradientOptions::new()
        .axes([0, 1, 2])
        .spacing(Spacing::PerAxis(vec![AxisSpacing::Scalar(1.0); 3]))
        .per_axis_boundary([Boundary::OneSided; 3])
        .backend(backend);
    let _ = ndgrad::gradient(&f, &opts)?;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        let g = ndgrad::gradient(&f, &opts)?;
        times.push(t.elapsed().as_secs_f64());
        drop(g);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "rust gradient {n}^3 f32 {backend}: best {:.2} ms, median {:.2} ms ({reps} runs)",
        times[0] * 1e3,
        times[reps / 2] * 1e3
    );
    Ok(())
}
