//! The GPU backend on 1-D, 2-D and 3-D `f32` inputs, all axes, edge order 1:
//! end to end (host array in, host arrays out) and kernel only (data already
//! on the device), with `Throughput::Bytes` counting the input read once and
//! each output written once.
//!
//! Run with `cargo bench --bench gpu`. Without an adapter it prints why and
//! measures nothing; on a software adapter (lavapipe) the figures are not GPU
//! figures. The CPU side is in `benches/cpu.rs`; `ndgrad bench` puts both, and
//! numpy, in one table.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
mod common;
use common::{gradient_bytes, input, label};
use ndgrad::{gradient, Backend, GradientOptions};

fn bench_gpu(c: &mut Criterion) {
    let ctx = match ndgrad::gpu::default_context() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("benches/gpu: no GPU to measure: {e}");
            return;
        }
    };
    eprintln!(
        "benches/gpu: adapter {} ({:?}, {:?})",
        ctx.adapter_info().name,
        ctx.adapter_info().backend,
        ctx.adapter_info().device_type
    );
    let shapes: [&[usize]; 3] = [&[1 << 20], &[1024, 1024], &[96, 96, 96]];
    let mut group = c.benchmark_group("gpu_f32");
    group.sample_size(10);
    for shape in shapes {
        let f = input(shape);
        group.throughput(Throughput::Bytes(gradient_bytes(shape)));
        let label = label(shape);
        let opts = GradientOptions::new().backend(Backend::Gpu);
        group.bench_with_input(BenchmarkId::new("end_to_end", &label), &f, |b, f| {
            b.iter(|| gradient(f, &opts).expect("the GPU runs"))
        });
        // Kernel only: `time_kernels` times `iters` submissions with the
        // input resident (GPU timestamps where the adapter has them).
        group.bench_with_input(BenchmarkId::new("kernel", &label), &f, |b, f| {
            b.iter_custom(|iters| {
                let t = ctx
                    .time_kernels(f, &GradientOptions::new(), iters as usize)
                    .expect("the array fits in one slab");
                t.gradient * iters as u32
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = bench_gpu
}
criterion_main!(benches);
