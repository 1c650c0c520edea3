//! What a Fortran-order input costs the host on its way to the device:
//! `GpuContext::upload` of the Fortran-order array itself (copied into C
//! order straight into the buffer's mapped memory, tile by tile) against the
//! whole-array C-ordered copy made first (`as_standard_layout`, what the GPU
//! paths did before) and then uploaded, and against a C-order array of the
//! same values (the floor: one plain copy). Each is followed by
//! `synchronize`; the three alternate, and the median, fastest and slowest
//! of the rounds are printed.
//!
//! ```text
//! cargo run --release --example gpu_strided_upload -- [N] [ROUNDS]
//! ```
//!
//! N (default 256) is the extent of the N×N×N f32 cube; ROUNDS (default 9).

use std::time::{Duration, Instant};

use ndarray::{Array3, ShapeBuilder};
use ndgrad::gpu::GpuContext;

fn main() -> ndgrad::Result<()> {
    let ctx = GpuContext::new()?;
    let arg = |k: usize, default: usize| {
        std::env::args()
            .nth(k)
            .map_or(default, |a| a.parse().expect("a positive integer"))
            .max(1)
    };
    let (n, rounds) = (arg(1, 256), arg(2, 9));
    let mut rng = ndgrad_rng::Rng::new(12);
    let c = Array3::from_shape_simple_fn((n, n, n), || rng.range(-1.0, 1.0) as f32);
    let mut fortran = Array3::zeros((n, n, n).f());
    fortran.assign(&c);
    println!(
        "adapter: {}; {n}³ f32, {rounds} rounds",
        ctx.adapter_info().name
    );

    let time = |upload: &dyn Fn() -> ndgrad::Result<()>| -> ndgrad::Result<Duration> {
        ctx.synchronize()?;
        let start = Instant::now();
        upload()?;
        ctx.synchronize()?;
        Ok(start.elapsed())
    };
    let ways: [(&str, &dyn Fn() -> ndgrad::Result<()>); 3] = [
        ("fortran, copied into the upload", &|| {
            ctx.upload(&fortran).map(drop)
        }),
        ("fortran, whole C copy first", &|| {
            ctx.upload(&fortran.as_standard_layout()).map(drop)
        }),
        ("c order", &|| ctx.upload(&c).map(drop)),
    ];
    // One warm-up round, then the timed ones.
    let mut times = vec![Vec::new(); ways.len()];
    for round in 0..=rounds {
        for (k, (_, upload)) in ways.iter().enumerate() {
            let t = time(*upload)?;
            if round > 0 {
                times[k].push(t);
            }
        }
    }
    for ((name, _), mut t) in ways.iter().zip(times) {
        t.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{name:34} median {:7.2} ms  min {:7.2}  max {:7.2}",
            ms(t[t.len() / 2]),
            ms(t[0]),
            ms(t[t.len() - 1])
        );
    }
    Ok(())
}
