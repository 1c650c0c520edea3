//! The CPU backend against the reference on 1-D, 2-D and 3-D `f32` inputs,
//! all axes, edge order 1, uniform and non-uniform spacing: end to end
//! (`gradient`, which allocates its outputs) and kernel only (into existing
//! buffers).
//!
//! Throughput counts the effective bytes: the input read once plus each
//! output written once. Run with `cargo bench --bench cpu`; the numpy and
//! memcpy comparisons live in `benches/cpu_vs_numpy.rs`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
mod common;
use common::{gradient_bytes, input, label, non_uniform};
use ndgrad::{gradient, Backend, GradientOptions, Spacing};

fn bench_cpu_vs_reference(c: &mut Criterion) {
    let shapes: [&[usize]; 3] = [&[1 << 20], &[1024, 1024], &[128, 128, 128]];
    let mut group = c.benchmark_group("gradient_f32");
    group.sample_size(10);
    for shape in shapes {
        let f = input(shape);
        group.throughput(Throughput::Bytes(gradient_bytes(shape)));
        let label = label(shape);
        for (spacing_name, spacing) in [
            ("uniform", Spacing::Unit),
            ("nonuniform", non_uniform(shape)),
        ] {
            // Kernel only: the CPU backend writing into buffers that already
            // exist (no output allocation, no page faults), the CPU's
            // counterpart of the GPU's data-resident kernel time.
            let opts = GradientOptions::new().spacing(spacing.clone());
            let plan = ndgrad::Plan::new(f.shape(), &opts).expect("valid options");
            let mut outputs = vec![vec![0.0f32; f.len()]; plan.axes.len()];
            group.bench_with_input(
                BenchmarkId::new(format!("cpu_kernel/{spacing_name}"), &label),
                &f,
                |b, f| {
                    b.iter(|| {
                        let mut slices: Vec<&mut [f32]> =
                            outputs.iter_mut().map(Vec::as_mut_slice).collect();
                        ndgrad::cpu::gradient_into(&plan, f.view(), &mut slices);
                    })
                },
            );
            for backend in [Backend::Cpu, Backend::Reference] {
                let opts = GradientOptions::new()
                    .spacing(spacing.clone())
                    .backend(backend);
                group.bench_with_input(
                    BenchmarkId::new(format!("{backend}/{spacing_name}"), &label),
                    &f,
                    |b, f| b.iter(|| gradient(f, &opts).expect("valid options")),
                );
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_cpu_vs_reference);
criterion_main!(benches);
