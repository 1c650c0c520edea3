//! End-to-end GPU gradient times (upload, kernels, download; host wall
//! clock, median of 7): unchunked against streamed in small slabs, 16-bit
//! input against f32, and against the pure upload plus download of the same
//! bytes.
//!
//! ```text
//! cargo run --example gpu_streaming -- [extent]
//! ```

use std::time::{Duration, Instant};

use ndarray::{Array3, ArrayD};
use ndgrad::gpu::{GpuContext, GpuOptions};
use ndgrad::{GradientOptions, Input};

fn median<T: Input>(ctx: &GpuContext, f: &ArrayD<T>, opts: &GradientOptions) -> Duration {
    let mut times: Vec<Duration> = (0..9)
        .map(|_| {
            let start = Instant::now();
            let g = ctx.gradient_as::<f32, _, _, _>(f, opts).expect("runs");
            std::hint::black_box(g);
            start.elapsed()
        })
        .skip(2)
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() -> ndgrad::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(160, |a| a.parse().expect("an extent"));
    let whole = GpuContext::new()?;
    // 2 MiB bindings: slabs of about 2^19 f32 elements.
    let chunked =
        GpuContext::with_options(GpuOptions::new().max_storage_buffer_binding_size(2 << 20))?;
    let f32s = Array3::from_shape_fn((n, n, n), |(i, j, k)| {
        ((i * 31 + j * 7 + k) % 1000) as f32 + (k as f32 * 0.01).sin()
    })
    .into_dyn();
    let u16s = f32s.mapv(|v| v as u16);
    let opts = GradientOptions::new();
    let unchunked = median(&whole, &f32s, &opts);
    let streamed = median(&chunked, &f32s, &opts);
    let compact = median(&whole, &u16s, &opts);
    let t = whole.time_kernels(&f32s, &opts, 7)?;
    let transfers = t.upload + t.download;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "adapter: {}, f32 {n}³, all axes, f32 results",
        whole.adapter_info().name
    );
    println!("unchunked end to end   {:9.2} ms", ms(unchunked));
    println!(
        "chunked (2 MiB slabs)  {:9.2} ms   throughput chunked/unchunked {:.2}",
        ms(streamed),
        unchunked.as_secs_f64() / streamed.as_secs_f64()
    );
    println!(
        "u16 input end to end   {:9.2} ms   f32/u16 speed-up {:.2}",
        ms(compact),
        unchunked.as_secs_f64() / compact.as_secs_f64()
    );
    println!(
        "upload + download      {:9.2} ms   end to end / transfers {:.2}",
        ms(transfers),
        unchunked.as_secs_f64() / transfers.as_secs_f64()
    );
    Ok(())
}
