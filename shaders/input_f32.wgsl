// Input prelude: f32 samples. Every kernel reads its input only through
// `sample(k)`, the k-th element of the slab in `f`, widened to `Real`.
@group(0) @binding(1) var<storage, read> f: array<f32>;

fn sample(k: u32) -> Real {
    return Real(f[k]);
}
